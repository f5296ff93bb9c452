"""Facades over the deployed platform: one per contract, each write signed by its party's key.

    platform = Platform(chain, deployment)
    platform.members.member(addr)                 # reads need no key
    platform.members.as_(bank).attest(core, Role.FINANCIER)
    platform.orders.as_(buyer).place(...)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from eth_utils import is_address, to_checksum_address
from hexbytes import HexBytes

from vscm.client.certificates import CertificatesFacade
from vscm.client.consent import ConsentFacade
from vscm.client.deployment import Deployment
from vscm.client.facade import Builder, Payment, WriteResult
from vscm.client.facade import Facade as _Facade
from vscm.client.records import (
    ZERO_ADDRESS,
    Asset,
    DocKind,
    Document,
    Funds,
    Loan,
    LoanMode,
    Member,
    Order,
    Role,
    Status,
    SupplyChain,
    SuspensionAuthority,
    Tier,
    Whereabouts,
    roles_to_mask,
)
from vscm.client.risk import RiskFacade
from vscm.errors import ContractRevert, InputError, NotFound

if TYPE_CHECKING:
    from web3.contract import Contract

    from vscm.client.oracle import OracleFacade

__all__ = [
    "MAX_NAME_BYTES",
    "AssetsFacade",
    "CashFacade",
    "FundsFacade",
    "LoansFacade",
    "MembersFacade",
    "OrdersFacade",
    "Platform",
    "check_name",
    "code2",
    "code3",
    "text32",
]

F = TypeVar("F", bound="_Facade")

#: Gas limit of a loan payment sent although the FundTracker refuses it (``refusal_on_chain``): a
#: refusal reverts early (~50k); a payment that the state let through by the time it is mined needs
#: at most ~260k (a first payment to a new payee).
REFUSED_SPEND_GAS = 400_000


#: MemberRegistry.MAX_NAME_BYTES: the longest member name stored on chain, in bytes of UTF-8
MAX_NAME_BYTES = 256


def check_name(name: str) -> None:
    """Refuse a member name the chain would refuse as too long.

    Raises:
        InputError: naming the length and the limit.
        UnicodeEncodeError: the name is not UTF-8 text (lone surrogates from undecodable bytes).
    """
    size = len(name.encode("utf-8"))  # UnicodeEncodeError for text that is not UTF-8: the CLI names the argument
    if size > MAX_NAME_BYTES:
        raise InputError(f"name is {size} bytes of UTF-8, at most {MAX_NAME_BYTES} are stored on chain "
                         "(MemberRegistry.MAX_NAME_BYTES): shorten it")


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


class MembersFacade(_Facade):
    contract_name = "MemberRegistry"

    # ---- writes
    def apply(self, roles: Iterable[Role], tier: Tier, credential_hash: bytes, credential_expiry: int,
              name: str) -> WriteResult[None]:
        """Apply for membership. A name longer than ``MAX_NAME_BYTES`` bytes of UTF-8 is refused here,
        before anything is sent, as the contract would (``NameTooLong``)."""
        check_name(name)
        return self._send(self.contract.functions.applyForMembership(
            roles_to_mask(roles), int(tier), credential_hash, credential_expiry, name))

    def approve(self, member: str) -> WriteResult[None]:
        return self._send(self.contract.functions.approveMember(member))

    def attest(self, member: str, as_role: Role) -> WriteResult[None]:
        return self._send(self.contract.functions.attest(member, int(as_role)))

    def update_credential(self, member: str, credential_hash: bytes, credential_expiry: int) -> WriteResult[None]:
        return self._send(self.contract.functions.updateCredential(member, credential_hash, credential_expiry))

    def suspend(self, member: str, reason: bytes) -> WriteResult[None]:
        return self._send(self.contract.functions.suspend(member, reason))

    def reinstate(self, member: str) -> WriteResult[None]:
        return self._send(self.contract.functions.reinstate(member))

    def evict(self, member: str, reason: bytes) -> WriteResult[None]:
        return self._send(self.contract.functions.evict(member, reason))

    def create_chain(self, name: str) -> WriteResult[int]:
        """Create a supply chain; the result's id is the chain's."""
        return self._send_id(self.contract.functions.createChain(text32(name)), "ChainCreated", "chainId")

    def request_join(self, chain_id: int) -> WriteResult[None]:
        return self._send(self.contract.functions.requestJoin(chain_id))

    def approve_join(self, chain_id: int, member: str) -> WriteResult[None]:
        return self._send(self.contract.functions.approveJoin(chain_id, member))

    def leave_chain(self) -> WriteResult[None]:
        return self._send(self.contract.functions.leaveChain())

    def evict_chain(self, chain_id: int, evidence: bytes) -> WriteResult[None]:
        return self._send(self.contract.functions.evictChain(chain_id, evidence))

    def grant_controller(self, controller: str) -> WriteResult[None]:
        return self.grant(self.role("CONTROLLER_ROLE"), controller)

    # ---- reads
    def member(self, address: str) -> Member:
        raw = self.contract.functions.getMember(address).call()
        if raw[2] == Status.NONE:
            raise NotFound(f"unknown member {address}: it has not applied on this deployment")
        status = self.contract.functions.statusOf(address).call()
        return Member.from_chain(address, raw, status)

    def status(self, address: str) -> Status:
        return Status(self.contract.functions.statusOf(address).call())

    def suspension_authority(self, address: str) -> SuspensionAuthority:
        """Who imposed the member's suspension (NONE when it is not suspended by ``suspend``)."""
        return SuspensionAuthority(self.contract.functions.suspensionAuthority(address).call())

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

    def investigated_until(self, chain_id: int) -> int:
        """Until when (Unix seconds, inclusive) a pending fraud proposal keeps the chain's members in it;
        0 or a past time: not under investigation."""
        return int(self.contract.functions.investigatedUntil(chain_id).call())

    def supply_chains(self) -> list[SupplyChain]:
        return [self.supply_chain(i) for i in range(1, self.contract.functions.chainCount().call() + 1)]

    def chain_members(self, chain_id: int) -> list[Member]:
        return [m for m in self.members() if m.chain_id == chain_id]


class CashFacade(_Facade):
    contract_name = "PlatformCash"

    @property
    def code(self) -> str:
        return str(self.contract.functions.currencyCode().call())

    def mint(self, to: str, amount: int, deposit_ref: bytes) -> WriteResult[None]:
        return self._send(self.contract.functions.mint(to, amount, deposit_ref))

    def burn(self, amount: int, withdrawal_ref: bytes) -> WriteResult[None]:
        return self._send(self.contract.functions.burn(amount, withdrawal_ref))

    def transfer(self, to: str, amount: int) -> WriteResult[None]:
        return self._send(self.contract.functions.transfer(to, amount))

    def approve(self, spender: str, amount: int) -> WriteResult[None]:
        return self._send(self.contract.functions.approve(spender, amount))

    def transfer_from(self, owner: str, to: str, amount: int) -> WriteResult[None]:
        """The signer moves ``amount`` of ``owner``'s cash to ``to`` within the allowance ``owner`` gave it."""
        return self._send(self.contract.functions.transferFrom(owner, to, amount))

    def set_agent(self, agent: str, allowed: bool = True) -> WriteResult[None]:
        return self._send(self.contract.functions.setAgent(agent, allowed))

    def set_mint_cap(self, financier: str, cap: int) -> WriteResult[None]:
        """Council: the most `financier` may have issued and not yet burned, in minor units."""
        return self._send(self.contract.functions.setMintCap(financier, cap))

    def mint_cap(self, financier: str) -> tuple[int, int]:
        """(cap, outstanding issuance) of `financier`, in minor units."""
        cap, outstanding = self.contract.functions.mintCap(financier).call()
        return int(cap), int(outstanding)

    def balance(self, address: str) -> int:
        return int(self.contract.functions.balanceOf(address).call())

    def total_supply(self) -> int:
        return int(self.contract.functions.totalSupply().call())

    def allowance(self, owner: str, spender: str) -> int:
        return int(self.contract.functions.allowance(owner, spender).call())


class OrdersFacade(_Facade):
    contract_name = "OrderBook"

    def add_currency(self, currency: str) -> WriteResult[None]:
        return self._send(self.contract.functions.addCurrency(currency))

    def grant_finance(self, finance_contract: str) -> WriteResult[None]:
        return self.grant(self.role("FINANCE_ROLE"), finance_contract)

    def place(self, seller: str, chain_id: int, currency: str, amount: int, due_date: int,
              overseas: bool = False, incoterm: str | None = None,
              destination_country: str | None = None) -> WriteResult[int]:
        """The buyer places an order in its own chain ``chain_id``; the result's id is the order's.

        The seller may be in another live chain (an order across chains, see ``IOrderBook.place``).
        """
        return self._send_id(self.contract.functions.place(
            seller, chain_id, self.platform.currency_address(currency), amount, due_date, overseas,
            code3(incoterm), code2(destination_country)), "OrderPlaced", "orderId")

    def accept(self, order_id: int) -> WriteResult[None]:
        return self._send(self.contract.functions.accept(order_id))

    def ship(self, order_id: int, carrier: str, warehouse: str) -> WriteResult[None]:
        return self._send(self.contract.functions.ship(order_id, carrier, warehouse))

    def deliver(self, order_id: int) -> WriteResult[None]:
        return self._send(self.contract.functions.deliver(order_id))

    def invoice(self, order_id: int, invoice_number: str, invoice_hash: bytes) -> WriteResult[None]:
        return self._send(self.contract.functions.invoice(order_id, text32(invoice_number), invoice_hash))

    def settle(self, order_id: int, *, payment: Payment | None = None) -> WriteResult[None]:
        """Pay the order: allow the OrderBook exactly its amount for this call, then settle (see ``_send_paying``;
        ``payment``: the order's currency and amount as the caller knows them, nothing read)."""
        fn = self.contract.functions.settle(order_id)
        if payment is not None:
            return self._send_paid(payment, fn, exact=False)
        order = self.order(order_id, with_documents=False)
        return self._send_paying(order.currency, order.amount, fn, exact=False)  # a prepaid part is not taken again

    def cancel(self, order_id: int) -> WriteResult[None]:
        return self._send(self.contract.functions.cancel(order_id))

    def dispute(self, order_id: int, reason_hash: bytes) -> WriteResult[None]:
        return self._send(self.contract.functions.dispute(order_id, reason_hash))

    def resolve_dispute(self, order_id: int, cancel: bool) -> WriteResult[None]:
        return self._send(self.contract.functions.resolveDispute(order_id, cancel))

    def redirect_settlement(self, order_id: int, payee: str) -> WriteResult[None]:
        """A financing contract (FINANCE_ROLE, see `grant_finance`) sends the settlement to `payee`."""
        return self._send(self.contract.functions.redirectSettlement(order_id, payee))

    def attach(self, order_id: int, kind: DocKind, doc_hash: bytes) -> WriteResult[None]:
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
        return Order.from_chain(order_id, raw, docs, seller_chain_id=self.seller_chain(order_id))

    def seller_chain(self, order_id: int) -> int:
        """The seller's chain when the order was placed (the order's own chain unless placed across chains)."""
        return int(self.contract.functions.sellerChainOf(order_id).call())

    def documents(self, order_id: int, count: int | None = None) -> Iterator[Document]:
        if count is None:
            count = self.order(order_id, with_documents=False).document_count
        for i in range(count):
            kind, doc_hash, by, at = self.contract.functions.getDocument(order_id, i).call()
            yield Document(order_id, i, DocKind(kind), bytes(doc_hash), by, at)

    def orders(self) -> list[Order]:
        return [self.order(i, with_documents=False) for i in range(1, self.count() + 1)]


class AssetsFacade(_Facade):
    contract_name = "AssetRegistry"

    def _registered(self, fn: Any) -> WriteResult[int]:
        return self._send_id(fn, "AssetRegistered", "assetId")

    def register_receivable(self, order_id: int) -> WriteResult[int]:
        return self._registered(self.contract.functions.registerReceivable(order_id))

    def confirm_receivable(self, asset_id: int) -> WriteResult[None]:
        return self._send(self.contract.functions.confirmReceivable(asset_id))

    def register_payable(self, order_id: int) -> WriteResult[int]:
        return self._registered(self.contract.functions.registerPayable(order_id))

    def register_receipt(self, owner: str, lot_number: str, quantity: int, unit: str, currency: str, value: int,
                         description_hash: bytes = b"\x00" * 32, order_id: int = 0) -> WriteResult[int]:
        return self._registered(self.contract.functions.registerWarehouseReceipt(
            owner, text32(lot_number), order_id, description_hash, quantity, text32(unit),
            self.platform.currency_address(currency), value))

    def register_future_goods(self, order_id: int) -> WriteResult[int]:
        return self._registered(self.contract.functions.registerFutureGoods(order_id))

    def withdraw_goods(self, asset_id: int, quantity: int) -> WriteResult[None]:
        return self._send(self.contract.functions.withdrawGoods(asset_id, quantity))

    def retire(self, asset_id: int) -> WriteResult[None]:
        return self._send(self.contract.functions.retire(asset_id))

    def transfer(self, asset_id: int, to: str) -> WriteResult[None]:
        return self._send(self.contract.functions.transferFrom(self._signer_address(), to, asset_id))

    # ---- reads
    def count(self) -> int:
        return int(self.contract.functions.assetCount().call())

    def asset(self, asset_id: int) -> Asset:
        raw = self.contract.functions.getAsset(asset_id).call()
        if raw[1] == 0:
            raise NotFound(f"unknown asset {asset_id}: this deployment has {self.count()} assets")
        return Asset.from_chain(asset_id, self.contract.functions.ownerOf(asset_id).call(), raw)

    def assets(self) -> list[Asset]:
        return [self.asset(i) for i in range(1, self.count() + 1)]


class LoansFacade(_Facade):
    contract_name = "LoanBook"

    def apply(self, mode: LoanMode, asset_id: int, lender: str, principal: int, rate_bps: int, term_seconds: int,
              purpose_order_id: int = 0, guarantor: str | None = None) -> WriteResult[int]:
        """The borrower applies; the result's id is the loan's."""
        application = (int(mode), asset_id, purpose_order_id, lender, guarantor or ZERO_ADDRESS, principal,
                       rate_bps, term_seconds)
        return self._send_id(self.contract.functions.applyForLoan(application), "LoanApplied", "loanId")

    def approve(self, loan_id: int, ltv_bps: int, supervisor: str | None = None) -> WriteResult[None]:
        return self._send(self.contract.functions.approve(loan_id, ltv_bps, supervisor or ZERO_ADDRESS))

    def reject(self, loan_id: int, reason: bytes) -> WriteResult[None]:
        return self._send(self.contract.functions.reject(loan_id, reason))

    def withdraw(self, loan_id: int) -> WriteResult[None]:
        """The borrower (or the guarantor) withdraws a loan not disbursed: an application at any time, an approval once it
        expired or its lender is no longer active (LoanApprovalNotExpired otherwise). The collateral, a
        claim's settlement and the guarantor's commitment go back where they belong."""
        return self._send(self.contract.functions.withdraw(loan_id))

    def sign_guarantee(self, loan_id: int, *, payment: Payment | None = None) -> WriteResult[None]:
        """The guarantor allows the LoanBook the principal for this call and signs: the LoanBook takes the
        principal and holds it for this loan until it is repaid, defaulted or ends undisbursed. An allowance
        the guarantor gave the LoanBook before is neither used nor lost (see ``_send_paying``; ``payment``: the
        loan's currency and principal as the caller knows them, nothing read)."""
        fn = self.contract.functions.signGuarantee(loan_id)
        if payment is not None:
            return self._send_paid(payment, fn, exact=True)
        loan = self.loan(loan_id)
        return self._send_paying(loan.currency, loan.principal, fn)

    def disburse(self, loan_id: int, *, payment: Payment | None = None) -> WriteResult[None]:
        """The lender allows the LoanBook the principal for this call and disburses (see ``_send_paying``;
        ``payment``: the loan's currency and principal as the caller knows them, nothing read)."""
        fn = self.contract.functions.disburse(loan_id)
        if payment is not None:
            return self._send_paid(payment, fn, exact=True)
        loan = self.loan(loan_id)
        return self._send_paying(loan.currency, loan.principal, fn)

    def repay(self, loan_id: int, amount: int, *, payment: Payment | None = None) -> WriteResult[None]:
        """Repay up to ``amount``: the LoanBook takes what is owed, at most ``amount`` (see ``_send_paying``;
        ``payment``: the loan's currency as the caller knows it, nothing read).

        Raises:
            InputError: ``payment`` is for another amount.
        """
        fn = self.contract.functions.repay(loan_id, amount)
        if payment is not None:
            if payment.amount != amount:
                raise InputError(f"LoanBook.repay of {amount} minor units given a payment of {payment.amount}")
            return self._send_paid(payment, fn, exact=False)
        loan = self.loan(loan_id)
        return self._send_paying(loan.currency, amount, fn, exact=False)

    def collect(self, loan_id: int) -> WriteResult[None]:
        return self._send(self.contract.functions.collect(loan_id))

    def convert_collateral(self, loan_id: int, receipt_id: int) -> WriteResult[None]:
        return self._send(self.contract.functions.convertCollateral(loan_id, receipt_id))

    def mark_default(self, loan_id: int) -> WriteResult[None]:
        return self._send(self.contract.functions.markDefault(loan_id))

    def write_off(self, loan_id: int) -> WriteResult[None]:
        return self._send(self.contract.functions.writeOff(loan_id))

    def assign_collateral(self, loan_id: int, to: str) -> WriteResult[None]:
        """The guarantor that paid and could hold no asset names the active member taking the collateral."""
        return self._send(self.contract.functions.assignCollateral(loan_id, to))

    def warn(self, loan_id: int, deadline: int) -> WriteResult[None]:
        return self._send(self.contract.functions.warn(loan_id, deadline))

    def clear_warning(self, loan_id: int) -> WriteResult[None]:
        return self._send(self.contract.functions.clearWarning(loan_id))

    def recall(self, loan_id: int) -> WriteResult[None]:
        return self._send(self.contract.functions.recall(loan_id))

    # ---- reads
    def count(self) -> int:
        return int(self.contract.functions.loanCount().call())

    def loan(self, loan_id: int) -> Loan:
        raw = self.contract.functions.getLoan(loan_id).call()
        if raw[1] == 0:
            raise NotFound(f"unknown loan {loan_id}: this deployment has {self.count()} loans")
        return Loan.from_chain(loan_id, raw, self.contract.functions.accruedInterest(loan_id).call(),
                               self.contract.functions.outstanding(loan_id).call())

    def loans(self, lender: str | None = None, borrower: str | None = None) -> list[Loan]:
        found = [self.loan(i) for i in range(1, self.count() + 1)]
        return [ln for ln in found if (lender is None or ln.lender == lender)
                and (borrower is None or ln.borrower == borrower)]


class FundsFacade(_Facade):
    contract_name = "FundTracker"

    def spend(self, loan_id: int, to: str, amount: int, purpose: str | bytes, *, refusal_on_chain: bool = False) -> WriteResult[None]:
        """Borrower: pay ``to`` from the loan's tracked money.

        Args:
            refusal_on_chain: when the FundTracker would refuse the payment, send it all the same (with
                a fixed gas limit, as estimation fails) so that the refusal is mined: a payment outside
                the allowed payees is then on the record and the risk monitor sees it (indicator 103).
                Without it, a refusal found at gas estimation sends nothing.

        Raises:
            ContractRevert: the FundTracker refused; ``tx_hash`` names the mined transaction when
                ``refusal_on_chain`` sent it.
        """
        tag = text32(purpose) if isinstance(purpose, str) else purpose
        fn = self.contract.functions.spend(loan_id, to, amount, tag)
        if not refusal_on_chain:
            return self._send(fn)
        try:
            self.platform.chain.sender.call(fn, sender=self._signer_address())
        except ContractRevert:
            # Refused: mine it all the same (gas estimation would fail), so the refusal is on the chain.
            return self._send(fn, gas=REFUSED_SPEND_GAS)
        return self._send(fn)

    def revoke(self, loan_id: int, max_amount: int = 2**256 - 1) -> WriteResult[None]:
        """LoanBook only (recall, write-off): return up to ``max_amount`` of unspent money to the lender."""
        return self._send(self.contract.functions.revoke(loan_id, max_amount))

    def freeze(self, loan_id: int) -> WriteResult[None]:
        return self._send(self.contract.functions.freeze(loan_id))

    def unfreeze(self, loan_id: int) -> WriteResult[None]:
        return self._send(self.contract.functions.unfreeze(loan_id))

    def funds(self, loan_id: int) -> Funds:
        raw = self.contract.functions.getFunds(loan_id).call()
        if int(raw[0], 16) == 0:
            raise NotFound(f"loan {loan_id} has no tracked money (not disbursed)")
        return Funds(loan_id, *raw)

    def whereabouts(self, loan_id: int) -> Whereabouts:
        holder, held, payees, paid, returned, released = self.contract.functions.whereabouts(loan_id).call()
        return Whereabouts(loan_id, holder, held, dict(zip(payees, paid)), returned, released)

    def is_allowed_payee(self, loan_id: int, payee: str) -> bool:
        return bool(self.contract.functions.isAllowedPayee(loan_id, payee).call())

    def total_unspent(self, currency: str) -> int:
        return int(self.contract.functions.totalUnspent(self.platform.currency_address(currency)).call())

    def hops(self, loan_id: int) -> list[dict[str, Any]]:
        """Every recorded hop of the loan's money, from the FundsMoved events."""
        event = self.contract.events.FundsMoved()
        logs = event.get_logs(from_block=self.platform.deployment.block, argument_filters={"loanId": loan_id})
        return [{"hop": e["args"]["hop"], "from": e["args"]["from"], "to": e["args"]["to"],
                 "amount": e["args"]["amount"], "purpose": bytes(e["args"]["purpose"]).rstrip(b"\x00").decode(),
                 "block": e["blockNumber"]} for e in logs]


class Platform:
    """A connected deployment: the chain plus the platform contracts."""

    def __init__(self, chain: Any, deployment: Deployment) -> None:
        self.chain = chain
        self.deployment = deployment
        #: receipt of the last transaction any facade of this platform sent (for ids-returning writes)
        self.last_receipt: Any = None

        def bind(address: str, name: str) -> Contract:
            # the chain's own contract objects: web3's (vscm.chain.backends) or the CLI's light ones (vscm.chain.light)
            return chain.contract(name, address)  # type: ignore[no-any-return]

        self.members = MembersFacade(self, bind(deployment.registry, "MemberRegistry"))
        self.orders = OrdersFacade(self, bind(deployment.orders, "OrderBook"))
        self.assets = AssetsFacade(self, bind(deployment.assets, "AssetRegistry"))
        self.loans = LoansFacade(self, bind(deployment.loans, "LoanBook"))
        self.funds = FundsFacade(self, bind(deployment.funds, "FundTracker"))
        self._cash = {code: CashFacade(self, bind(addr, "PlatformCash")) for code, addr in deployment.cash.items()}
        # the oracle's facade (and vscm.oracle, with its signing code) is made on first use: most commands need neither
        self._oracle_contract = bind(deployment.oracle, "TelemetryOracle") if deployment.oracle else None
        self._oracle_facade: OracleFacade | None = None
        self._risk = bind(deployment.risk, "RiskControl") if deployment.risk else None
        self._consents = bind(deployment.consents, "ConsentRegistry") if deployment.consents else None
        self._certificates = bind(deployment.certificates, "Certificates") if deployment.certificates else None
        self._event_table: dict[tuple[str, bytes], tuple[str, Any]] | None = None
        self._builders: dict[tuple[str, str], Builder] = {}

    @property
    def _oracle(self) -> OracleFacade | None:
        if self._oracle_facade is None and self._oracle_contract is not None:
            from vscm.client.oracle import OracleFacade

            self._oracle_facade = OracleFacade(self, self._oracle_contract)
        return self._oracle_facade

    @property
    def oracle(self) -> OracleFacade:
        """The TelemetryOracle facade (``NotFound`` on a deployment made before the oracle existed)."""
        if self._oracle is None:
            raise NotFound("this deployment has no TelemetryOracle: deploy the platform again")
        return self._oracle

    @property
    def risk(self) -> RiskFacade:
        """The RiskControl facade (:class:`vscm.client.risk.RiskFacade`)."""
        if self._risk is None:
            raise NotFound(f"deployment {self.deployment.network} has no RiskControl: redeploy with `vscm deploy`")
        return RiskFacade(self, self._risk)

    @property
    def consents(self) -> ConsentFacade:
        """The ConsentRegistry facade (:class:`vscm.client.consent.ConsentFacade`)."""
        if self._consents is None:
            raise NotFound(f"deployment {self.deployment.network} has no ConsentRegistry: redeploy with "
                           "`vscm deploy`")
        return ConsentFacade(self, self._consents)

    @property
    def certificates(self) -> CertificatesFacade:
        """The Certificates facade (:class:`vscm.client.certificates.CertificatesFacade`)."""
        if self._certificates is None:
            raise NotFound(f"deployment {self.deployment.network} has no Certificates: redeploy with `vscm deploy`")
        return CertificatesFacade(self, self._certificates)

    @property
    def council(self) -> Any:
        """The consortium council (:class:`vscm.client.council.Council`) that administers every contract."""
        from vscm.client.council import Council  # council.py needs only the chain

        d = self.deployment
        if not d.council_safe or not d.council_timelock:
            raise NotFound(f"deployment {d.network} has no council: its admin is the operator key "
                           "(deploy with `vscm deploy --council ...`)")
        return Council(self.chain, d.council_safe, d.council_timelock, from_block=d.block)

    def wired_contracts(self) -> list[_Facade]:
        """Every contract with a ``WIRING_ROLE`` (all of them), as facades."""
        wired: list[_Facade] = [self.members, *self._cash.values(), self.orders, self.assets, self.funds, self.loans]
        if self._risk is not None:
            wired.append(self.risk)
        if self._oracle is not None:
            wired.append(self._oracle)
        return wired

    def event_table(self) -> dict[tuple[str, bytes], tuple[str, Any]]:
        """Every event of the platform's contracts by (lower-case address, topic 0): the contract's name and
        the web3 event that decodes it (for :func:`vscm.client.facade.decode_events`)."""
        if self._event_table is None:
            named: list[tuple[str, Any]] = [
                ("MemberRegistry", self.members.contract), ("OrderBook", self.orders.contract),
                ("AssetRegistry", self.assets.contract), ("LoanBook", self.loans.contract),
                ("FundTracker", self.funds.contract), ("RiskControl", self._risk),
                ("ConsentRegistry", self._consents), ("Certificates", self._certificates),
                ("TelemetryOracle", self._oracle_contract),  # the contract alone: no vscm.oracle import
                *(("PlatformCash", cash.contract) for cash in self._cash.values())]
            table: dict[tuple[str, bytes], tuple[str, Any]] = {}
            for name, contract in named:
                if contract is None:
                    continue
                for entry in map(dict, contract.abi):
                    if entry.get("type") == "event" and not entry.get("anonymous"):
                        event = getattr(contract.events, str(entry["name"]))()
                        table[(str(contract.address).lower(), bytes(HexBytes(event.topic)))] = (name, event)
            self._event_table = table
        return self._event_table

    def builder(self, facade: _Facade, signer: str) -> Builder:
        """``facade.as_(account).build`` for the account at ``signer`` that ``facade`` has, made once per contract and
        signer (the cash's ``approve`` around every paying write built)."""
        key = (facade.address, signer)
        found = self._builders.get(key)
        if found is None:
            if facade.signer is None or str(facade.signer.address) != signer:
                raise InputError(f"{facade.contract_name}: a builder for {signer} needs a facade with that signer")
            found = self._builders[key] = facade.build
        return found

    def cash(self, code: str) -> CashFacade:
        self.deployment.cash_address(code)  # an unknown currency is an InputError naming the known ones
        return self._cash[code.upper()]

    def cash_at(self, address: str) -> CashFacade:
        for facade in self._cash.values():
            if facade.address == address:
                return facade
        raise NotFound(f"no PlatformCash at {address} in this deployment")

    def currency_address(self, code_or_address: str) -> str:
        known = self.deployment.cash.get(code_or_address.upper())
        if known is not None:  # an ISO code of this deployment (the common case, without eth-utils' checks)
            return known
        if is_address(code_or_address):
            return to_checksum_address(code_or_address)
        return self.deployment.cash_address(code_or_address)

    def currency_code(self, address: str) -> str:
        for code, addr in self.deployment.cash.items():
            if addr == address:
                return code
        return address

    @property
    def currencies(self) -> list[str]:
        return sorted(self._cash)
