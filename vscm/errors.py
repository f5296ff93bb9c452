"""The exception tree of vscm: one root, a family per concern, leaves that say what was wrong."""

from __future__ import annotations

from typing import Any

__all__ = [
    "TRANSPORT_ERRORS",
    "ArtifactError",
    "AuditDifferences",
    "AuditError",
    "ChainError",
    "ChainRefusal",
    "CompileError",
    "ContractRevert",
    "InputError",
    "NodeUnreachable",
    "NotFound",
    "ReportNotVerified",
    "TransactionFailed",
    "VscmError",
    "WalletError",
    "is_transport_error",
]

#: Exceptions of the HTTP stack under web3 (by ``module.QualName``, so that nothing is imported to name
#: them) that mean the request never got an answer from a node: refused, reset, DNS, timed out.
TRANSPORT_ERRORS = frozenset({
    "requests.exceptions.ConnectionError",
    "requests.exceptions.Timeout",
    "builtins.ConnectionError",
    "builtins.TimeoutError",
    "socket.gaierror",
})


class VscmError(Exception):
    """Root of every error vscm raises on purpose."""


class ChainError(VscmError):
    """Talking to the chain failed (connection, chain id, node start)."""


class NodeUnreachable(ChainError):
    """No node answered: the connection was refused or timed out, the host is unknown, or no node runs."""


class ChainRefusal(ChainError):
    """The chain refused the call: a contract reverted (the error decoded by name) or a transaction failed."""


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


class ContractRevert(ChainRefusal):
    """A contract refused the call with a custom error (or a revert string / panic).

    ``name`` is the Solidity error name (``"OrderWrongStatus"``), ``values`` its decoded arguments
    by parameter name, in declaration order (``BaseException.args`` keeps the message).
    """

    def __init__(self, name: str, args: dict[str, Any] | None = None, contract: str | None = None,
                 function: str | None = None, hint: str | None = None) -> None:
        self.name = name
        #: what to do next, appended to the message (``"the order's buyer must sign (--wallet BUYER)"``)
        self.hint = hint
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
        return f"{prefix}{self.name}({values})" + (f": {self.hint}" if self.hint else "")


class TransactionFailed(ChainRefusal):
    """A transaction was mined but failed, and the reason could not be recovered."""


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)


class AuditError(VscmError):
    """A history cannot be read or replayed (node unreachable, stored history unreadable)."""


class AuditDifferences(AuditError):
    """The audit ran and found differences between the history and the contracts' state (the report is written)."""


class ReportNotVerified(AuditError):
    """A signed audit report does not verify: changed after it was written, not signed, or a signature that does
    not recover the address it names (``vscm audit verify``)."""


def is_transport_error(exc: BaseException) -> bool:
    """Whether ``exc`` (or the error it was raised from) means that no node answered (see :data:`TRANSPORT_ERRORS`)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if any(f"{cls.__module__}.{cls.__qualname__}" in TRANSPORT_ERRORS for cls in type(current).__mro__):
            return True
        current = current.__cause__
    return False
