"""The base of every contract facade: ``as_(account)`` for a signer, one convention for writes, AccessControl.

Every write of every facade follows one convention:

* sent: ``platform.orders.as_(buyer).place(...)`` signs, sends, waits and returns a :class:`WriteResult`: the
  receipt, its hash, gas and block, every event the platform's contracts emitted in it (decoded), and the
  write's own event and id, typed (``WriteResult[int]`` for a write that makes something: an order, an asset,
  a loan, an alert; ``WriteResult[None]`` otherwise);
* built: ``platform.orders.as_(buyer).build.place(...)`` takes the same arguments and returns a
  :class:`vscm.chain.tx.TxRequest` instead, sent by nobody yet: ``Pipeline.submit`` (batches) and
  ``Sender.transact`` take it, and ``request.result(tx_result)`` turns what became of it into the same
  ``WriteResult``. No integration spells an ABI tuple or a currency's token address by hand.

It lives apart from ``vscm.client.platform`` so that the facades defined elsewhere (oracle, risk, consent)
build on it without importing the platform module that imports them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from eth_utils import to_checksum_address
from hexbytes import HexBytes

from vscm.errors import InputError, NotFound

if TYPE_CHECKING:  # only types: the CLI's light path (vscm.chain.light) runs the facades without web3
    from eth_account.signers.local import LocalAccount
    from typing_extensions import Self
    from web3.contract import Contract

    from vscm.chain.tx import TxRequest
    from vscm.client.platform import Platform

__all__ = ["Builder", "Event", "Facade", "Payment", "WriteResult", "decode_events", "write_result"]

T = TypeVar("T")


@dataclass(frozen=True)
class Event:
    """One log of a write, decoded: the contract that emitted it (its name and address), the event's name, its
    arguments by name, and its index in the transaction's logs."""

    contract: str
    name: str
    args: dict[str, Any]
    address: str
    log_index: int


@dataclass(frozen=True)
class WriteResult(Generic[T]):
    """What one write did.

    Attributes:
        receipt: The node's receipt as it came (web3's from a facade; the JSON-RPC form from a pipeline).
        tx_hash: ``0x`` hash of the transaction.
        gas_used: Gas the transaction used.
        block: The block it was mined in.
        events: Every log of the platform's contracts in it, decoded, in log order (a settlement: the
            ``Transfer`` of the cash and the ``OrderSettled`` of the OrderBook).
        event: The arguments of the write's own event (the one its id is read from), None when it has none.
        id: The id the write made or acted on (``orderId`` of ``place``, ``assetId`` of ``register_*``,
            ``loanId`` of ``LoansFacade.apply``, ``alertId``...), typed: None for a write without one.

    ``result["logs"]`` reads the receipt's fields, as code written against receipts does.
    """

    receipt: Any
    tx_hash: str
    gas_used: int
    block: int
    events: tuple[Event, ...]
    event: Any  # dict[str, Any] | None: Any, so that a write known to have one reads it without a check
    id: T

    def __getitem__(self, key: str) -> Any:
        return self.receipt[key]

    def named(self, name: str) -> list[dict[str, Any]]:
        """The arguments of every ``name`` event of the write, in log order."""
        return [e.args for e in self.events if e.name == name]


@dataclass(frozen=True)
class Payment:
    """What a paying write (``orders.settle``, ``loans.sign_guarantee``, ``loans.disburse``, ``loans.repay``) takes
    from its signer, given by a caller that knows it already (a batch that placed the order or made the loan):
    the write then reads nothing from the chain before it is built or sent (without it, the order or loan and
    the signer's allowance are read).

    Attributes:
        currency: The cash's ISO code (``"CNY"``) or token address.
        amount: Minor units the contract may take: the order's amount, the loan's principal, the repayment.
        allowance: What the signer had allowed the contract before the write, put back after it.
        whole: The contract takes all of ``amount`` (an order without a prepaid part; a repayment no larger than
            what is owed): with ``allowance`` 0 nothing is left, so no ``approve`` follows the write. A wrong
            ``True`` leaves an allowance behind.
    """

    currency: str
    amount: int
    allowance: int = 0
    whole: bool = False


class _Unbound:
    """A contract whose ``functions.f(*args)`` is a :class:`vscm.chain.tx.ContractCall` (not web3's
    ``ContractFunction``, 0.1-0.2 ms to make): the contract a building facade holds. The rest is the contract's."""

    def __init__(self, contract: Any) -> None:
        self._contract = contract
        self.functions = _UnboundFunctions(contract)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._contract, name)


class _UnboundFunctions:
    def __init__(self, contract: Any) -> None:
        self._contract = contract

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):  # copy, pickle and the like probe for dunders: no contract function is one
            raise AttributeError(name)
        from vscm.chain.tx import ContractCall  # web3's module: not on the CLI's light path

        contract = self._contract

        def bind(*args: Any) -> ContractCall:
            return ContractCall(contract, name, args)

        setattr(self, name, bind)  # made once per function name
        return bind


def _int(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


def _web3_log(log: Any, index: int) -> dict[str, Any]:
    """A log in the form web3's ``process_log`` reads, from either receipt form."""
    return {"address": log["address"], "topics": [HexBytes(t) for t in log["topics"]],
            "data": HexBytes(log["data"]), "logIndex": _int(log.get("logIndex", index)),
            "transactionIndex": _int(log.get("transactionIndex", 0)),
            "transactionHash": HexBytes(log.get("transactionHash", b"")),
            "blockHash": HexBytes(log.get("blockHash", b"")), "blockNumber": _int(log.get("blockNumber", 0))}


def decode_events(platform: Platform, receipt: Any) -> tuple[Event, ...]:
    """Every log of ``receipt`` that a contract of ``platform`` emitted, decoded by its ABI (logs of other
    contracts, a council's Safe or Timelock, are left out)."""
    table = platform.event_table()
    out: list[Event] = []
    for index, log in enumerate(receipt["logs"]):
        if not log["topics"]:
            continue
        found = table.get((str(log["address"]).lower(), bytes(HexBytes(log["topics"][0]))))
        if found is None:
            continue
        contract, event = found
        entry = _web3_log(log, index)
        out.append(Event(contract, event.event_name, dict(event.process_log(entry)["args"]),
                         to_checksum_address(log["address"]), entry["logIndex"]))
    return tuple(out)


def write_result(platform: Platform, receipt: Any, address: str, contract: str, event: str | None = None,
                 field: str | None = None, known: int | None = None) -> WriteResult[Any]:
    """The :class:`WriteResult` of a mined write to the contract at ``address``: its own ``event`` (the first
    that contract emitted) and its id, the event's ``field`` or ``known``.

    Raises:
        NotFound: the contract emitted no ``event`` in the transaction.
    """
    events = decode_events(platform, receipt)
    tx_hash = "0x" + bytes(HexBytes(receipt["transactionHash"])).hex()
    own = None
    if event is not None:
        own = next((e.args for e in events if e.name == event and e.address.lower() == address.lower()), None)
        if own is None:
            raise NotFound(f"{contract}: no {event} event in transaction {tx_hash}")
    value = known if known is not None else (int(own[field]) if own is not None and field else None)
    return WriteResult(receipt, tx_hash, _int(receipt["gasUsed"]), _int(receipt["blockNumber"]), events, own, value)


class Builder:
    """``facade.build``: the facade's writes with the same arguments, each built and not sent (a
    :class:`vscm.chain.tx.TxRequest`)."""

    def __init__(self, facade: Facade) -> None:
        self._facade = facade

    def __getattr__(self, name: str) -> Callable[..., TxRequest[WriteResult[Any]]]:
        method = getattr(self._facade, name)
        if name.startswith("_") or not callable(method):
            raise AttributeError(f"{self._facade.contract_name} has no write {name!r} to build")

        def build(*args: Any, **kwargs: Any) -> TxRequest[WriteResult[Any]]:
            from vscm.chain.tx import TxRequest  # web3's module: not on the CLI's light path

            built = method(*args, **kwargs)
            if not isinstance(built, TxRequest):
                raise InputError(f"{self._facade.contract_name}.{name} is not a write: there is nothing to build")
            return built

        setattr(self, name, build)  # made once per write of this builder
        return build


class Facade:
    """A contract facade; `as_(account)` returns a copy whose writes that account signs, `build` a view of its
    writes that builds them instead of sending them."""

    contract_name = ""

    def __init__(self, platform: Platform, contract: Contract, signer: LocalAccount | None = None) -> None:
        self.platform = platform
        self.contract = contract
        self.signer = signer
        self._building = False

    def as_(self, account: LocalAccount) -> Self:
        return type(self)(self.platform, self.contract, account)

    @property
    def build(self) -> Builder:
        """This facade's writes, built and not sent: ``platform.orders.as_(buyer).build.place(...)`` returns
        the :class:`vscm.chain.tx.TxRequest` that ``Pipeline.submit`` takes."""
        if getattr(self.signer, "enact", None) is not None:
            raise InputError(f"{self.contract_name}: a council decision is proposed and executed by the council "
                             "(vscm.client.council), not built for a pipeline")
        contract = self.contract if isinstance(self.contract, _Unbound) else _Unbound(self.contract)
        building = type(self)(self.platform, contract, self.signer)  # type: ignore[arg-type]
        building._building = True
        return Builder(building)

    @property
    def address(self) -> str:
        return str(self.contract.address)

    def _signer_address(self) -> str:
        if self.signer is None:
            raise InputError(f"{self.contract_name}: a write needs a signer: use .as_(account)")
        return str(self.signer.address)

    def _write(self, fn: Any, gas: int | None = None, *, event: str | None = None, field: str | None = None,
               known: int | None = None, around: tuple[tuple[Any, ...], tuple[Any, ...]] = ((), ())) -> Any:
        """Send ``fn`` (or, building, return it as a ``TxRequest``, with the built writes ``around`` it: before,
        after) and return its :class:`WriteResult`: its own ``event`` and its id, that event's ``field`` or
        ``known``."""
        def decode(receipt: Any) -> WriteResult[Any]:
            return write_result(self.platform, receipt, self.address, self.contract_name, event, field, known)

        if self._building:
            from vscm.chain.tx import TxRequest  # web3's module: not on the CLI's light path

            return TxRequest(fn, decode, gas=gas, label=f"{self.contract_name}.{fn.fn_name}",
                             signer=None if self.signer is None else str(self.signer.address),
                             before=around[0], after=around[1])
        self._signer_address()
        assert self.signer is not None
        enact = getattr(self.signer, "enact", None)  # a council decision (vscm.client.council.CouncilSigner)
        receipt = enact(fn) if enact is not None else self.platform.chain.sender.transact(self.signer, fn, gas=gas)
        self.platform.last_receipt = receipt
        return decode(receipt)

    def _send(self, fn: Any, gas: int | None = None) -> WriteResult[None]:
        """A write without an id of its own (see ``_write``)."""
        return self._write(fn, gas)  # type: ignore[no-any-return]

    def _send_id(self, fn: Any, event: str, field: str | None = None, known: int | None = None) -> WriteResult[int]:
        """A write whose id is its ``event``'s ``field`` (or ``known``: the id it acted on)."""
        return self._write(fn, event=event, field=field, known=known)  # type: ignore[no-any-return]

    def _send_paid(self, payment: Payment, fn: Any, *, exact: bool) -> WriteResult[None]:
        """``_send_paying`` with what the caller knows (:class:`Payment`): nothing is read before the write."""
        return self._send_paying(self.platform.currency_address(payment.currency), payment.amount, fn,
                                 exact=exact or payment.whole, before=payment.allowance)

    def _send_paying(self, currency: str, amount: int, fn: Any, *, exact: bool = True,
                     before: int | None = None) -> WriteResult[None]:
        """Send ``fn``, a call through which this contract takes up to ``amount`` of the signer's ``currency``
        cash (``transferFrom``; ``exact``: all of it). The signer's allowance to this contract is set to
        ``amount`` for the call and put back to what it was afterwards, whether the call went through or was
        refused: no approval stays behind a refused or partly used call, and an allowance the signer gave for
        another purpose is neither used nor lost. That is one ``approve`` before the call and, only when
        something is left, one after. ``before``: the allowance, when the caller knows it (not read then).

        Built, it is the call with the ``approve`` before it and, unless the call uses the whole allowance
        and none was there before, the ``approve`` that puts the allowance back after it."""
        owner = self._signer_address()
        cash = self.platform.cash_at(currency).as_(self.signer)  # type: ignore[arg-type]
        if before is None:
            before = cash.allowance(owner, self.address)
        if self._building:
            approve = self.platform.builder(cash, owner).approve
            first = (approve(self.address, amount),) if before != amount else ()
            then = () if exact and before == 0 else (approve(self.address, before),)
            return self._write(fn, around=(first, then))  # type: ignore[no-any-return]
        if before != amount:
            cash.approve(self.address, amount)
        try:
            result = self._send(fn)
        finally:
            if cash.allowance(owner, self.address) != before:
                cash.approve(self.address, before)
        self.platform.last_receipt = result.receipt
        return result

    def role(self, name: str) -> bytes:
        """The bytes32 id of an AccessControl role constant of this contract (``"FINANCE_ROLE"``)."""
        return bytes(getattr(self.contract.functions, name)().call())

    def grant(self, role: bytes, account: str) -> WriteResult[None]:
        """The role's admin grants an AccessControl role."""
        return self._send(self.contract.functions.grantRole(role, account))

    def revoke_role(self, role: bytes, account: str) -> WriteResult[None]:
        """The role's admin revokes an AccessControl role."""
        return self._send(self.contract.functions.revokeRole(role, account))

    def renounce(self, role: bytes) -> WriteResult[None]:
        """The signer gives up a role it holds."""
        return self._send(self.contract.functions.renounceRole(role, self._signer_address()))

    def has_role(self, role: bytes | str, account: str) -> bool:
        """Whether `account` holds `role` (a bytes32 id or the name of the role's constant)."""
        role_id = self.role(role) if isinstance(role, str) else role
        return bool(self.contract.functions.hasRole(role_id, account).call())

    def _event(self, receipt: Any, name: str) -> Any:
        """The first `name` event this contract emitted in `receipt` (a receipt, or a :class:`WriteResult`)."""
        event = getattr(self.contract.events, name)()
        topic = bytes(HexBytes(event.topic))
        for index, log in enumerate(receipt["logs"]):
            if str(log["address"]).lower() == self.contract.address.lower() and bytes(HexBytes(log["topics"][0])) == topic:
                return event.process_log(_web3_log(log, index))["args"]
        raise NotFound(f"{self.contract_name}: no {name} event in transaction "
                       f"0x{bytes(HexBytes(receipt['transactionHash'])).hex()}")
