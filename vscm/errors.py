"""The exception tree of vscm: one root, a family per concern, leaves that say what was wrong."""

from __future__ import annotations

from typing import Any

__all__ = [
    "ArtifactError",
    "AuditError",
    "ChainError",
    "CompileError",
    "ContractRevert",
    "InputError",
    "NotFound",
    "TransactionFailed",
    "VscmError",
    "WalletError",
]


class VscmError(Exception):
    """Root of every error vscm raises on purpose."""


class ChainError(VscmError):
    """Talking to the chain failed (connection, chain id, node start)."""


class CompileError(VscmError):
    """The Solidity compiler could not build the contracts."""


class ArtifactError(VscmError):
    """Compiled artifacts are missing or stale."""


class WalletError(VscmError):
    """A keystore could not be created, found or unlocked."""


class InputError(VscmError):
    """A value given by the user is malformed (address, amount, date, code)."""


class NotFound(VscmError):
    """A named thing (member, order, supply chain) does not exist."""


class ContractRevert(ChainError):
    """A contract refused the call with a custom error (or a revert string / panic).

    ``name`` is the Solidity error name (``"OrderWrongStatus"``), ``values`` its decoded arguments
    by parameter name, in declaration order (``BaseException.args`` keeps the message).
    """

    def __init__(self, name: str, args: dict[str, Any] | None = None, contract: str | None = None,
                 function: str | None = None) -> None:
        self.name = name
        self.values = dict(args or {})
        self.contract = contract
        self.function = function
        #: the mined transaction that failed, when the refusal is on the chain (None: refused at estimation)
        self.tx_hash: str | None = None
        super().__init__(self._message())

    def _message(self) -> str:
        values = ", ".join(f"{k}={_show(v)}" for k, v in self.values.items())
        where = f"{self.contract}.{self.function}" if self.contract and self.function else (self.contract or "")
        prefix = f"{where} reverted: " if where else "reverted: "
        return f"{prefix}{self.name}({values})"


class TransactionFailed(ChainError):
    """A transaction was mined but failed, and the reason could not be recovered."""


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)


class AuditError(VscmError):
    """A history cannot be read or replayed (node unreachable, stored history unreadable)."""
