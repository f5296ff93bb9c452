"""Turn revert data into ``ContractRevert(name, args)``.

Every custom error declared in any compiled contract goes into one selector table
(``keccak(signature)[:4]`` -> name and parameters), together with Solidity's two built-in errors,
``Error(string)`` (``require`` with a message) and ``Panic(uint256)`` (``assert``, division by zero,
overflow). Decoding needs no chain: the functions here take bytes, or the exception web3 raised.

How web3 7 reports a revert differs by backend, and ``revert_from_exception`` reads each:

* JSON-RPC nodes (anvil, geth, Besu): ``ContractLogicError`` or its subclasses
  ``ContractCustomError`` / ``ContractPanicError``, with the raw revert data as a hex string in
  ``.data`` (``"0x"`` for a bare ``revert()``), from ``eth_call`` and ``eth_estimateGas`` alike.
  A node that answers in another shape ends up in ``Web3RPCError``, whose
  ``rpc_response["error"]["data"]`` carries the data.
* eth-tester: not a web3 exception at all but ``eth_tester.exceptions.TransactionFailed(
  "execution reverted: <reason>")``, where ``<reason>`` is the Python repr of the revert bytes
  (``b'@\\r\\xd90'``) or, for ``Error(string)``, the already decoded message; web3 turns only
  ``eth_call`` panics into ``ContractPanicError``. The exception web3 re-raised from keeps
  eth-tester's own in its ``__context__``, and for gas estimation that one wraps py-evm's
  ``Revert(raw bytes)``. The embedded chain (``vscm.chain.backends``) makes ``eth_call`` keep it
  too, so the raw bytes are always found there; other VM failures (``OutOfGas``) are not reverts.
  The string forms are parsed only as a fallback.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_utils import keccak, to_checksum_address

from vscm.errors import ContractRevert

__all__ = [
    "PANIC_REASONS",
    "UNKNOWN_ERROR",
    "ErrorSpec",
    "ErrorTable",
    "contract_name_for_abi",
    "decode_revert",
    "default_table",
    "error_signature",
    "revert_data_from_exception",
    "revert_from_exception",
]

UNKNOWN_ERROR = "UnknownError"

#: What each Solidity panic code means (``Panic(uint256)``), for messages.
PANIC_REASONS: dict[int, str] = {
    0x00: "generic compiler panic",
    0x01: "assert failed",
    0x11: "arithmetic overflow or underflow",
    0x12: "division or modulo by zero",
    0x21: "conversion to an invalid enum value",
    0x22: "incorrectly encoded storage byte array",
    0x31: "pop on an empty array",
    0x32: "array index out of bounds",
    0x41: "too much memory allocated",
    0x51: "call to a zero-initialised function variable",
}

_BUILTIN_ERRORS: list[dict[str, Any]] = [
    {"type": "error", "name": "Error", "inputs": [{"name": "message", "type": "string"}]},
    {"type": "error", "name": "Panic", "inputs": [{"name": "code", "type": "uint256"}]},
]


@dataclass(frozen=True)
class ErrorSpec:
    """One error an ABI declares: its name, canonical signature and parameters."""

    name: str
    signature: str
    inputs: tuple[Mapping[str, Any], ...]

    @property
    def selector(self) -> bytes:
        return keccak(text=self.signature)[:4]

    def decode(self, payload: bytes) -> dict[str, Any]:
        """The arguments of this error encoded in ``payload`` (the revert data after the selector)."""
        types = [_canonical_type(param) for param in self.inputs]
        values = abi_decode(types, payload)
        return {
            _param_name(param, index): _shape(param, value)
            for index, (param, value) in enumerate(zip(self.inputs, values))
        }


class ErrorTable:
    """Error selector -> ``ErrorSpec`` over a set of ABIs, always including Error and Panic."""

    def __init__(self, abis: Iterable[Sequence[Mapping[str, Any]]] = ()) -> None:
        self._specs: dict[bytes, ErrorSpec] = {}
        for abi in [_BUILTIN_ERRORS, *abis]:
            for entry in abi:
                if entry.get("type") != "error":
                    continue
                spec = ErrorSpec(
                    name=entry["name"],
                    signature=error_signature(entry),
                    inputs=tuple(entry.get("inputs", ())),
                )
                # The same error is declared in every contract that inherits or imports it; the
                # first declaration wins (same signature, so the same types).
                self._specs.setdefault(spec.selector, spec)

    def __len__(self) -> int:
        return len(self._specs)

    def __contains__(self, selector: object) -> bool:
        return selector in self._specs

    def get(self, selector: bytes) -> ErrorSpec | None:
        return self._specs.get(selector)

    def by_name(self, name: str) -> list[ErrorSpec]:
        return [spec for spec in self._specs.values() if spec.name == name]


@lru_cache(maxsize=1)
def default_table() -> ErrorTable:
    """The table over every compiled artifact; built once (``default_table.cache_clear()`` after
    recompiling in the same process)."""
    from vscm.chain import artifacts

    return ErrorTable(artifacts.all_abis().values())


def error_signature(entry: Mapping[str, Any]) -> str:
    """``Name(type1,type2)`` with tuples spelled out, as hashed for the selector."""
    return f"{entry['name']}({','.join(_canonical_type(p) for p in entry.get('inputs', ()))})"


def decode_revert(
    data: bytes | str,
    *,
    table: ErrorTable | None = None,
    contract: str | None = None,
    function: str | None = None,
) -> ContractRevert:
    """The ``ContractRevert`` that revert ``data`` (bytes or ``0x`` hex) stands for.

    Args:
        data: The revert data: a 4-byte selector and the ABI-encoded arguments.
        table: Where to look the selector up; every compiled artifact by default.
        contract: Contract name to put in the error, when known.
        function: Function name to put in the error, when known.

    Returns:
        ``ContractRevert(name, args)`` with the args decoded by parameter name, or
        ``ContractRevert("UnknownError", {"data": "0x..."})`` when the selector is unknown, the
        data is empty (a bare ``revert()``) or does not decode.
    """
    raw = _to_bytes(data)
    spec = (table or default_table()).get(raw[:4]) if len(raw) >= 4 else None
    if spec is None:
        return _unknown(raw, contract, function)
    try:
        args = spec.decode(raw[4:])
    except (DecodingError, ValueError, OverflowError):
        return _unknown(raw, contract, function)
    return ContractRevert(spec.name, args, contract=contract, function=function)


def revert_data_from_exception(exc: BaseException) -> bytes | str | None:
    """The revert carried by an exception web3 (or eth-tester) raised.

    Returns:
        The raw revert bytes; or a ``str`` when only the decoded ``Error(string)`` message is
        available (stock eth-tester decodes it itself); or ``None`` when ``exc`` is not a revert
        (out of gas, a connection error, ...).
    """
    from web3.exceptions import ContractLogicError, Web3RPCError

    # eth-tester: the VM's own exception, when it is somewhere in the chain, is the whole truth.
    vm_error = _vm_error_in(exc)
    if vm_error is not None:
        return _vm_revert_bytes(vm_error)
    if isinstance(exc, ContractLogicError):
        found = _hex_in(exc.data)
        if found is not None:
            return found
        message = str(getattr(exc, "message", None) or exc)
        reason = message.partition("execution reverted")[2].lstrip(": ").strip()
        return reason if reason else b""
    if isinstance(exc, Web3RPCError):
        response = exc.rpc_response or {}
        error = response.get("error") if isinstance(response, Mapping) else None
        if not isinstance(error, Mapping) or "revert" not in str(error.get("message", "")).lower():
            return None
        found = _hex_in(error.get("data"))
        return found if found is not None else b""
    if _is_eth_tester_failure(exc):
        return _eth_tester_revert(exc)
    return None


def revert_from_exception(
    exc: BaseException,
    *,
    table: ErrorTable | None = None,
    contract: str | None = None,
    function: str | None = None,
) -> ContractRevert | None:
    """``ContractRevert`` for ``exc`` if it reports a revert, else ``None``."""
    found = revert_data_from_exception(exc)
    if found is None:
        return None
    if isinstance(found, str):
        return ContractRevert("Error", {"message": found}, contract=contract, function=function)
    return decode_revert(found, table=table, contract=contract, function=function)


def contract_name_for_abi(abi: Sequence[Mapping[str, Any]] | None) -> str | None:
    """The artifact whose ABI is exactly ``abi``: names the contract in revert messages."""
    if not abi:
        return None
    return abi_index().get(_abi_key(abi))


@lru_cache(maxsize=1)
def abi_index() -> dict[str, str]:
    from vscm.chain import artifacts

    return {_abi_key(abi): name for name, abi in artifacts.all_abis().items()}


def _abi_key(abi: Sequence[Mapping[str, Any]]) -> str:
    return json.dumps(abi, sort_keys=True, default=str)


def _unknown(raw: bytes, contract: str | None, function: str | None) -> ContractRevert:
    return ContractRevert(UNKNOWN_ERROR, {"data": "0x" + raw.hex()}, contract=contract, function=function)


def _canonical_type(param: Mapping[str, Any]) -> str:
    kind = str(param["type"])
    if kind.startswith("tuple"):
        inner = ",".join(_canonical_type(c) for c in param.get("components", ()))
        return f"({inner}){kind[len('tuple'):]}"
    return kind


def _param_name(param: Mapping[str, Any], index: int) -> str:
    return str(param.get("name") or f"arg{index}")


def _shape(param: Mapping[str, Any], value: Any) -> Any:
    """A decoded value in the form callers want: structs as dicts, addresses checksummed."""
    kind = str(param["type"])
    if kind.endswith("]"):
        element = dict(param, type=kind[: kind.rindex("[")])
        return [_shape(element, item) for item in value]
    if kind == "tuple":
        components = param.get("components", ())
        return {
            _param_name(component, index): _shape(component, item)
            for index, (component, item) in enumerate(zip(components, value))
        }
    if kind == "address":
        return to_checksum_address(value)
    return value


def _to_bytes(data: bytes | str) -> bytes:
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    text = data[2:] if data[:2] in ("0x", "0X") else data
    return bytes.fromhex(text)


def _hex_in(data: Any) -> bytes | None:
    """Revert bytes from a JSON-RPC ``error.data`` field: a hex string or a dict holding one."""
    if isinstance(data, str):
        try:
            return _to_bytes(data) if data.startswith("0x") else None
        except ValueError:
            return None
    if isinstance(data, Mapping):
        for key in ("data", "result", "output"):
            found = _hex_in(data.get(key))
            if found is not None:
                return found
    return None


def _is_eth_tester_failure(exc: BaseException) -> bool:
    try:
        from eth_tester.exceptions import TransactionFailed as EthTesterFailure
    except ImportError:  # eth-tester is only needed for the embedded chain
        return False
    return isinstance(exc, EthTesterFailure)


def _vm_error_in(exc: BaseException) -> BaseException | None:
    """A py-evm ``VMError`` raised under ``exc`` (its context chain, or wrapped in its args)."""
    try:
        from eth.exceptions import VMError
    except ImportError:  # py-evm is only needed for the embedded chain
        return None
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, VMError):
            return current
        wrapped = current.args[0] if current.args else None
        if isinstance(wrapped, VMError):
            return wrapped
        current = current.__cause__ or current.__context__
    return None


def _vm_revert_bytes(error: BaseException) -> bytes | None:
    from eth.exceptions import Revert

    if not isinstance(error, Revert):
        return None  # out of gas, invalid opcode...: the call failed without reverting
    data = error.args[0] if error.args else b""
    return bytes(data) if isinstance(data, (bytes, bytearray)) else b""


def _eth_tester_revert(exc: BaseException) -> bytes | str:
    """Stock eth-tester's message: ``execution reverted: b'<repr of the bytes>'`` or the
    already decoded ``Error(string)`` message."""
    first = exc.args[0] if exc.args else ""
    reason = str(first).removeprefix("execution reverted").lstrip(": ")
    if reason[:2] in ("b'", 'b"') and reason[-1:] in ("'", '"'):
        try:
            value = ast.literal_eval(reason)
        except (ValueError, SyntaxError):
            return reason
        if isinstance(value, bytes):
            return value
    # eth-tester decoded Error(string) itself and handed over only the message.
    return reason
