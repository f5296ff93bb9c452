"""VSCM: a permissioned supply-chain-finance platform on an EVM chain."""

from __future__ import annotations

import os

# keccak for the libraries that hash through eth-hash (eth-utils, py-trie's HexaryTrie, which the audit
# builds every block's receipts trie with): safe-pysha3's C implementation, a dependency, instead of
# eth-hash's first choice, pycryptodome, whose per-call overhead doubles the trie's time. Same digests;
# an explicit ETH_HASH_BACKEND in the environment wins.
os.environ.setdefault("ETH_HASH_BACKEND", "pysha3")

from vscm.errors import ChainError, ContractRevert, InputError, NotFound, VscmError, WalletError

__all__ = ["ChainError", "ContractRevert", "InputError", "NotFound", "VscmError", "WalletError"]
__version__ = "0.1.0"
