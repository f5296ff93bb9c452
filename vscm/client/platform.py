"""Facades over the deployed platform: one per contract, each write signed by its party's key.

    platform = Platform(chain, deployment)
    platform.members.member(addr)                 # reads need no key
    platform.members.as_(bank).attest(core, Role.FINANCIER)
    platform.orders.as_(buyer).place(...)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Generic, TypeVar

from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract

from vscm.chain.artifacts import load as load_artifact
from vscm.client.deployment import Deployment
from vscm.client.records import (
    DocKind,
    Document,
    Member,
    Order,
    Role,
    Status,
    SupplyChain,
    Tier,
    roles_to_mask,
)
from vscm.errors import InputError, NotFound

__all__ = ["Platform", "MembersFacade", "CashFacade", "OrdersFacade", "text32", "code3", "code2"]

F = TypeVar("F", bound="_Facade")


def text32(value: str | bytes) -> bytes:
    """A short text as a right-padded bytes32 (names, invoice numbers)."""
    raw = value.encode() if isinstance(value, str) else value
    if len(raw) > 32:
        raise InputError(f"text {value!r} is longer than 32 bytes")
    return raw.ljust(32, b"\x00")


def code3(value: str | None) -> bytes:
    if not value:
        return b"\x00" * 3
    raw = value.upper().encode()
    if len(raw) != 3:
        raise InputError(f"bad incoterm {value!r}: expected a three-letter Incoterms 2020 code such as FOB")
    return raw


def code2(value: str | None) -> bytes:
    if not value:
        return b"\x00" * 2
    raw = value.upper().encode()
    if len(raw) != 2:
        raise InputError(f"bad country {value!r}: expected an ISO 3166 alpha-2 code such as DE")
    return raw


class _Facade:
    """A contract facade; `as_(account)` returns a copy whose writes that account signs."""

    contract_name = ""

    def __init__(self, platform: Platform, contract: Contract, signer: LocalAccount | None = None) -> None:
        self.platform = platform
        self.contract = contract
        self.signer = signer

    def as_(self: F, account: LocalAccount) -> F:
        return type(self)(self.platform, self.contract, account)

    @property
    def address(self) -> str:
        return str(self.contract.address)

    def _send(self, fn: Any) -> Any:
        if self.signer is None:
            raise InputError(f"{self.contract_name}: a write needs a signer: use .as_(account)")
        receipt = self.platform.chain.sender.transact(self.signer, fn)
        self.platform.last_receipt = receipt
        return receipt

    def _event(self, receipt: Any, name: str) -> Any:
        """The first `name` event this contract emitted in `receipt`."""
        event = getattr(self.contract.events, name)()
        topic = bytes(HexBytes(event.topic))
        for log in receipt["logs"]:
            if log["address"] == self.contract.address and bytes(log["topics"][0]) == topic:
                return event.process_log(log)["args"]
        raise NotFound(f"{self.contract_name}: no {name} event in transaction {receipt['transactionHash'].hex()}")


class MembersFacade(_Facade):
    contract_name = "MemberRegistry"

    # ---- writes
    def apply(self, roles: Iterable[Role], tier: Tier, credential_hash: bytes, credential_expiry: int,
              name: str) -> Any:
        return self._send(self.contract.functions.applyForMembership(
            roles_to_mask(roles), int(tier), credential_hash, credential_expiry, name))

    def approve(self, member: str) -> Any:
        return self._send(self.contract.functions.approveMember(member))

    def attest(self, member: str, as_role: Role) -> Any:
        return self._send(self.contract.functions.attest(member, int(as_role)))

    def update_credential(self, member: str, credential_hash: bytes, credential_expiry: int) -> Any:
        return self._send(self.contract.functions.updateCredential(member, credential_hash, credential_expiry))

    def suspend(self, member: str, reason: bytes) -> Any:
        return self._send(self.contract.functions.suspend(member, reason))

    def reinstate(self, member: str) -> Any:
        return self._send(self.contract.functions.reinstate(member))

    def evict(self, member: str, reason: bytes) -> Any:
        return self._send(self.contract.functions.evict(member, reason))

    def create_chain(self, name: str) -> int:
        receipt = self._send(self.contract.functions.createChain(text32(name)))
        return int(self._event(receipt, "ChainCreated")["chainId"])

    def request_join(self, chain_id: int) -> Any:
        return self._send(self.contract.functions.requestJoin(chain_id))

    def approve_join(self, chain_id: int, member: str) -> Any:
        return self._send(self.contract.functions.approveJoin(chain_id, member))

    def leave_chain(self) -> Any:
        return self._send(self.contract.functions.leaveChain())

    def evict_chain(self, chain_id: int, evidence: bytes) -> Any:
        return self._send(self.contract.functions.evictChain(chain_id, evidence))

    def grant_controller(self, controller: str) -> Any:
        role = self.contract.functions.CONTROLLER_ROLE().call()
        return self._send(self.contract.functions.grantRole(role, controller))

    # ---- reads
    def member(self, address: str) -> Member:
        raw = self.contract.functions.getMember(address).call()
        if raw[2] == Status.NONE:
            raise NotFound(f"unknown member {address}: it has not applied on this deployment")
        status = self.contract.functions.statusOf(address).call()
        return Member.from_chain(address, raw, status)

    def status(self, address: str) -> Status:
        return Status(self.contract.functions.statusOf(address).call())

    def is_active(self, address: str, role: Role) -> bool:
        return bool(self.contract.functions.isActive(address, int(role)).call())

    def members(self) -> list[Member]:
        count = self.contract.functions.memberCount().call()
        return [self.member(self.contract.functions.memberAt(i).call()) for i in range(count)]

    def supply_chain(self, chain_id: int) -> SupplyChain:
        raw = self.contract.functions.getChain(chain_id).call()
        if int(raw[0], 16) == 0:
            raise NotFound(f"unknown supply chain {chain_id}")
        return SupplyChain.from_chain(chain_id, raw)

    def supply_chains(self) -> list[SupplyChain]:
        return [self.supply_chain(i) for i in range(1, self.contract.functions.chainCount().call() + 1)]

    def chain_members(self, chain_id: int) -> list[Member]:
        return [m for m in self.members() if m.chain_id == chain_id]


class CashFacade(_Facade):
    contract_name = "PlatformCash"

    @property
    def code(self) -> str:
        return str(self.contract.functions.currencyCode().call())

    def mint(self, to: str, amount: int, deposit_ref: bytes) -> Any:
        return self._send(self.contract.functions.mint(to, amount, deposit_ref))

    def burn(self, amount: int, withdrawal_ref: bytes) -> Any:
        return self._send(self.contract.functions.burn(amount, withdrawal_ref))

    def transfer(self, to: str, amount: int) -> Any:
        return self._send(self.contract.functions.transfer(to, amount))

    def approve(self, spender: str, amount: int) -> Any:
        return self._send(self.contract.functions.approve(spender, amount))

    def set_agent(self, agent: str, allowed: bool = True) -> Any:
        return self._send(self.contract.functions.setAgent(agent, allowed))

    def balance(self, address: str) -> int:
        return int(self.contract.functions.balanceOf(address).call())

    def total_supply(self) -> int:
        return int(self.contract.functions.totalSupply().call())

    def allowance(self, owner: str, spender: str) -> int:
        return int(self.contract.functions.allowance(owner, spender).call())


class OrdersFacade(_Facade):
    contract_name = "OrderBook"

    def add_currency(self, currency: str) -> Any:
        return self._send(self.contract.functions.addCurrency(currency))

    def grant_finance(self, finance_contract: str) -> Any:
        role = self.contract.functions.FINANCE_ROLE().call()
        return self._send(self.contract.functions.grantRole(role, finance_contract))

    def place(self, seller: str, chain_id: int, currency: str, amount: int, due_date: int,
              overseas: bool = False, incoterm: str | None = None, destination_country: str | None = None) -> int:
        receipt = self._send(self.contract.functions.place(
            seller, chain_id, self.platform.currency_address(currency), amount, due_date, overseas,
            code3(incoterm), code2(destination_country)))
        return int(self._event(receipt, "OrderPlaced")["orderId"])

    def accept(self, order_id: int) -> Any:
        return self._send(self.contract.functions.accept(order_id))

    def ship(self, order_id: int, carrier: str, warehouse: str) -> Any:
        return self._send(self.contract.functions.ship(order_id, carrier, warehouse))

    def deliver(self, order_id: int) -> Any:
        return self._send(self.contract.functions.deliver(order_id))

    def invoice(self, order_id: int, invoice_number: str, invoice_hash: bytes) -> Any:
        return self._send(self.contract.functions.invoice(order_id, text32(invoice_number), invoice_hash))

    def settle(self, order_id: int) -> Any:
        """Pay the order: approve exactly its amount to the OrderBook, then settle (two transactions)."""
        if self.signer is None:
            raise InputError("OrderBook: a write needs a signer: use .as_(account)")
        order = self.order(order_id, with_documents=False)
        cash = self.platform.cash_at(order.currency).as_(self.signer)
        if cash.allowance(self.signer.address, self.address) < order.amount:
            cash.approve(self.address, order.amount)
        return self._send(self.contract.functions.settle(order_id))

    def cancel(self, order_id: int) -> Any:
        return self._send(self.contract.functions.cancel(order_id))

    def dispute(self, order_id: int, reason_hash: bytes) -> Any:
        return self._send(self.contract.functions.dispute(order_id, reason_hash))

    def resolve_dispute(self, order_id: int, cancel: bool) -> Any:
        return self._send(self.contract.functions.resolveDispute(order_id, cancel))

    def redirect_settlement(self, order_id: int, payee: str) -> Any:
        """A financing contract (FINANCE_ROLE, see `grant_finance`) sends the settlement to `payee`."""
        return self._send(self.contract.functions.redirectSettlement(order_id, payee))

    def attach(self, order_id: int, kind: DocKind, doc_hash: bytes) -> Any:
        return self._send(self.contract.functions.attach(order_id, int(kind), doc_hash))

    # ---- reads
    def count(self) -> int:
        return int(self.contract.functions.orderCount().call())

    def order(self, order_id: int, with_documents: bool = True) -> Order:
        raw = self.contract.functions.getOrder(order_id).call()
        if raw[6] == 0:
            raise NotFound(f"unknown order {order_id}: this deployment has {self.count()} orders")
        docs: tuple[Document, ...] = ()
        if with_documents:
            docs = tuple(self.documents(order_id, raw[15]))
        return Order.from_chain(order_id, raw, docs)

    def documents(self, order_id: int, count: int | None = None) -> Iterator[Document]:
        if count is None:
            count = self.order(order_id, with_documents=False).document_count
        for i in range(count):
            kind, doc_hash, by, at = self.contract.functions.getDocument(order_id, i).call()
            yield Document(order_id, i, DocKind(kind), bytes(doc_hash), by, at)

    def orders(self) -> list[Order]:
        return [self.order(i, with_documents=False) for i in range(1, self.count() + 1)]


class Platform:
    """A connected deployment: the chain plus the three core contracts."""

    def __init__(self, chain: Any, deployment: Deployment) -> None:
        self.chain = chain
        self.deployment = deployment
        #: receipt of the last transaction any facade of this platform sent (for ids-returning writes)
        self.last_receipt: Any = None
        w3: Web3 = chain.w3
        self.members = MembersFacade(self, w3.eth.contract(address=deployment.registry,
                                                           abi=load_artifact("MemberRegistry").abi))
        self.orders = OrdersFacade(self, w3.eth.contract(address=deployment.orders,
                                                         abi=load_artifact("OrderBook").abi))
        cash_abi = load_artifact("PlatformCash").abi
        self._cash = {code: CashFacade(self, w3.eth.contract(address=addr, abi=cash_abi))
                      for code, addr in deployment.cash.items()}

    def cash(self, code: str) -> CashFacade:
        return self._cash[self.deployment.cash_address(code) and code.upper()]

    def cash_at(self, address: str) -> CashFacade:
        for facade in self._cash.values():
            if facade.address == address:
                return facade
        raise NotFound(f"no PlatformCash at {address} in this deployment")

    def currency_address(self, code_or_address: str) -> str:
        if Web3.is_address(code_or_address):
            return Web3.to_checksum_address(code_or_address)
        return self.deployment.cash_address(code_or_address)

    def currency_code(self, address: str) -> str:
        for code, addr in self.deployment.cash.items():
            if addr == address:
                return code
        return address

    @property
    def currencies(self) -> list[str]:
        return sorted(self._cash)
