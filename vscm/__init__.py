"""VSCM: a permissioned supply-chain-finance platform on an EVM chain."""

from __future__ import annotations

from vscm.errors import ChainError, ContractRevert, InputError, NotFound, VscmError, WalletError

__all__ = ["ChainError", "ContractRevert", "InputError", "NotFound", "VscmError", "WalletError"]
__version__ = "0.1.0"
