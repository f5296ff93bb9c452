"""Helpers shared by the platform command groups: one decorator for the usual options, results."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from vscm.cli.output import emit, key_value_table, money
from vscm.cli.session import choice_from, network_options, open_light_platform, open_platform
from vscm.cli.wallet import signer_options, unlock_signer
from vscm.errors import ContractRevert, VscmError

if TYPE_CHECKING:  # the rest is imported where it is used: a quick command loads neither web3 nor the artifacts
    from eth_account.signers.local import LocalAccount

    from vscm.client.platform import Platform

__all__ = ["MONEY_PARAMS", "currency_finder", "emit_tx", "platform_command", "quick_platform_command",
           "quick_signed_command", "readable_revert", "signed_command", "spinner", "tx_result"]

F = TypeVar("F", bound=Callable[..., Any])



@functools.cache
def _enums() -> dict[str, type[IntEnum]]:
    """Solidity enums (by name, as in an ABI's internalType "enum IOrderBook.OrderStatus") -> Python mirror."""
    from vscm.client.records import (
        AssetKind,
        AssetStatus,
        DocKind,
        LoanMode,
        LoanStatus,
        OrderStatus,
        Role,
        Status,
        Tier,
    )
    from vscm.oracle.model import Metric, TargetKind

    return {"OrderStatus": OrderStatus, "DocKind": DocKind, "Status": Status, "Role": Role, "Tier": Tier,
            "AssetKind": AssetKind, "AssetStatus": AssetStatus, "LoanStatus": LoanStatus, "Mode": LoanMode,
            "Metric": Metric, "TargetKind": TargetKind}

#: Fixed-size codes shown as text: an Incoterm (bytes3) and a country (bytes2).
_TEXT_CODES = ("bytes2", "bytes3")


#: Who must sign, for the errors that refuse the caller (the next step a refused signer needs).
_SIGNER: dict[str, str] = {
    "OrderNotBuyer": "the order's buyer", "OrderNotSeller": "the order's seller",
    "OrderNotParty": "the order's buyer or seller", "OrderNotWarehouse": "the order's warehouse",
    "AssetNotOwner": "the asset's owner", "AssetNotDebtor": "the asset's debtor",
    "AssetNotSellerOfOrder": "the order's seller", "AssetNotBuyerOfOrder": "the order's buyer",
    "AssetNotWarehouse": "a warehouse member", "AssetNotCoreDebtor": "a core enterprise",
    "LoanNotLender": "the loan's lender", "LoanNotGuarantor": "the loan's guarantor",
    "LoanNotAssetOwner": "the asset's owner", "FundsNotHolder": "the loan's borrower (who holds its money)",
    "NotChainCore": "the supply chain's core enterprise", "OracleNotDeviceOwner": "the device's owner",
    "OracleNotCustodian": "the custodian (warehouse or carrier) of the goods", "OracleNotPublisher": "an oracle node",
}
#: AccessControl roles, to say which party holds the role a refused caller lacks (by hash: ``_roles()``).
_ROLE_HOLDERS = (
    ("OPERATOR_ROLE", "the platform operator"), ("FINANCE_ROLE", "a financier (the bank that issues the cash)"),
    ("DETECTOR_ROLE", "the risk monitor"), ("CONTROLLER_ROLE", "the platform's controller"),
    ("WIRING_ROLE", "the deployer, while wiring"), ("LOCKER_ROLE", "a platform contract"),
    ("LOANBOOK_ROLE", "the LoanBook"))


@functools.cache
def _roles() -> dict[str, tuple[str, str]]:
    from eth_utils import keccak

    return {"0x" + keccak(text=name).hex(): (name, holder) for name, holder in _ROLE_HOLDERS}


@contextmanager
def _opened(kwargs: dict[str, Any], signer: tuple[str, str] | None = None, quick: bool = False) -> Iterator[Platform]:
    from vscm.chain.tx import TransactionRejected

    choice = choice_from(kwargs)
    platform = open_light_platform(choice) if quick else open_platform(choice)
    if signer is not None:
        platform.chain.sender.on_wait = spinner(sys.stderr)
    try:
        yield platform
    except ContractRevert as exc:
        raise readable_revert(exc, currency_finder(platform, kwargs.get("currency"))) from exc
    except TransactionRejected as exc:
        if not (exc.unfunded and signer):
            raise
        label, address = signer
        how = (f"fund it with `vscm node fund {label}`" if choice.network == "node" else
               "send it the network's gas currency (a free-gas network needs --gas-price zero)")
        raise TransactionRejected(f"wallet {label!r} ({address}) cannot pay for the gas of this transaction: {how}",
                                  unfunded=True) from exc
    finally:
        platform.chain.close()


#: Parameters of custom errors that are money (uint256 minor units of the call's currency); shown with the
#: currency's code (``cap=CNY 1000000.00``). Quantities of goods (AssetQuantityTooLarge) are not money.
MONEY_PARAMS = frozenset({"amount", "available", "principal", "limit", "allowance", "needed", "due", "outstanding",
                          "cap", "balance"})
_NOT_MONEY = frozenset({"AssetQuantityTooLarge"})


def currency_finder(platform: Platform, given: Any) -> Callable[[Mapping[str, Any]], str | None]:
    """The ISO code of the currency a refused call was in: the command's own ``currency``, else the
    currency of the loan, order or asset the error names (one read, only for an error that has money)."""

    def find(values: Mapping[str, Any]) -> str | None:
        if isinstance(given, str) and given:
            return given.upper()
        try:
            if "loanId" in values:
                return platform.currency_code(platform.loans.loan(int(values["loanId"])).currency)
            if "orderId" in values:
                return platform.currency_code(platform.orders.order(int(values["orderId"]), False).currency)
            if "assetId" in values:
                return platform.currency_code(platform.assets.asset(int(values["assetId"])).currency)
        except VscmError:  # the record is not there: show the number as it is
            return None
        return platform.currencies[0] if len(platform.currencies) == 1 else None

    return find


def spinner(stream: TextIO) -> Callable[[bytes], AbstractContextManager[Any]] | None:
    """What the sender shows while a transaction is awaited: a spinner naming it on a terminal, nothing
    when ``stream`` is not one (a pipe, a file, a test): scripts read only the result."""
    if not stream.isatty():
        return None

    def waiting(tx_hash: bytes) -> AbstractContextManager[Any]:
        from rich.console import Console

        return Console(file=stream).status(f"waiting for transaction 0x{tx_hash.hex()[:12]}… to be mined",
                                           spinner="dots")

    return waiting


def readable_revert(exc: ContractRevert,
                    currency_of: Callable[[Mapping[str, Any]], str | None] | None = None) -> ContractRevert:
    """The same revert with values a person can read: enums by name (``status=SETTLED``, not
    ``status=6``), trade codes as text (``incoterm='FOB'``, not ``0x464f42``), amounts with their
    currency (``cap=CNY 1000000.00``, not ``cap=100000000``, when ``currency_of`` finds it from the
    error's values), and when the caller was the wrong party, who must sign instead."""
    from vscm.chain.revert import default_table

    spec = next((s for s in default_table().by_name(exc.name)
                 if [str(p.get("name")) for p in s.inputs] == list(exc.values)), None)
    values = exc.values if spec is None else {
        str(param.get("name")): _readable(param, exc.values[str(param.get("name"))]) for param in spec.inputs}
    if spec is not None and currency_of is not None and exc.name not in _NOT_MONEY:
        amounts = [str(p.get("name")) for p in spec.inputs
                   if p.get("type") == "uint256" and str(p.get("name")) in MONEY_PARAMS]
        code = currency_of(exc.values) if amounts else None
        if code:
            values = {k: money(v, code) if k in amounts else v for k, v in values.items()}
    hint = exc.hint or _who_signs(exc.name, exc.values)
    if values == exc.values and hint == exc.hint:
        return exc
    readable = ContractRevert(exc.name, values, contract=exc.contract, function=exc.function, hint=hint)
    readable.tx_hash = exc.tx_hash
    return readable


def _who_signs(name: str, values: Mapping[str, Any]) -> str | None:
    if name in _SIGNER:
        return f"{_SIGNER[name]} must sign this (--wallet)"
    if name == "AccessControlUnauthorizedAccount":
        role = values.get("neededRole")
        key = "0x" + bytes(role).hex() if isinstance(role, (bytes, bytearray)) else str(role).lower()
        if key in _roles():
            role_name, holder = _roles()[key]
            return f"only {holder} holds {role_name}: sign with its wallet (--wallet)"
    return None


def _readable(param: Mapping[str, Any], value: Any) -> Any:
    internal = str(param.get("internalType") or "")
    if internal.startswith("enum ") and isinstance(value, int):
        enum = _enums().get(internal.rsplit(".", 1)[-1])
        if enum is not None:
            try:
                return enum(value).name
            except ValueError:  # a value this client does not know: show the number
                return value
    if param.get("type") in _TEXT_CODES and isinstance(value, bytes):
        text = value.rstrip(b"\x00")
        if all(0x20 <= c < 0x7F for c in text):
            return repr(text.decode("ascii"))
    return value


def platform_command(fn: F, *, quick: bool = False) -> F:
    """A read command: adds the network options; `fn(platform, ...)` gets the connected platform.

    ``quick`` (see :func:`quick_platform_command`): the platform is bound to vscm.chain.light's contracts."""

    @functools.wraps(fn)
    def wrapper(**kwargs: Any) -> Any:
        with _opened(kwargs, quick=quick) as platform:
            return fn(platform, **kwargs)

    return network_options(wrapper)  # type: ignore[return-value]


def signed_command(fn: F, *, quick: bool = False) -> F:
    """A write command: network options plus --wallet/--password-file; `fn(platform, signer, ...)`."""

    @functools.wraps(fn)
    def wrapper(**kwargs: Any) -> Any:
        label: str = kwargs.pop("wallet")
        password_file: Path | None = kwargs.pop("password_file")
        signer: LocalAccount = unlock_signer(label, password_file)
        with _opened(kwargs, signer=(label, signer.address), quick=quick) as platform:
            return fn(platform, signer, **kwargs)

    return network_options(signer_options(wrapper))  # type: ignore[return-value]


def quick_platform_command(fn: F) -> F:
    """A read command on the light path (issue 15): JSON-RPC without web3 (vscm.chain.light) when the network is
    one node, the web3 path otherwise. For commands whose facade reads are plain ``functions.f(...).call()``;
    tests/integration/test_cli_quick.py checks that each gives what the web3 path gives."""
    return platform_command(fn, quick=True)


def quick_signed_command(fn: F) -> F:
    """A write command on the light path: the call sent by ``vscm.chain.light.LightSender`` (signed by the
    caller's wallet, nonce, block, gas and fees in one batch, the receipt polled every 50 ms)."""
    return signed_command(fn, quick=True)


def tx_result(receipt: Any, action: str, **extra: Any) -> dict[str, Any]:
    return {
        "action": action,
        "tx": "0x" + bytes(receipt["transactionHash"]).hex(),
        "block": int(receipt["blockNumber"]),
        "gas_used": int(receipt["gasUsed"]),
        **extra,
    }


def emit_tx(receipt: Any, action: str, as_json: bool, **extra: Any) -> None:
    result = tx_result(receipt, action, **extra)
    emit(result, as_json, lambda r: key_value_table(r.items(), title=action))
