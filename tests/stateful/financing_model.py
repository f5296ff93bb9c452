"""A Python model of the financing engine, for the state machine in test_financing_machine.py.

It mirrors the rules of AssetRegistry, LoanBook and FundTracker, and the parts of OrderBook and
PlatformCash they use, as the interfaces in contracts/interfaces/ document them, checking them in
the order the contracts do so that a refusal is predicted with its error's name. Every operation
either applies all its effects or raises `Refused(error_name)`: run it on `Model.copy()` to predict
what the chain will do, keep the copy if the chain did it.

`violations()` states the invariants of DESIGN.md section 4 over the modelled state. The machine
pins the model to the chain after every step (every loan, asset, order and balance a step touched
is read back and compared), so a violation found here is one on chain.

Addresses are checksummed strings; a currency is its PlatformCash address. Nothing here talks to
a chain.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from vscm.client.records import (
    MODE_ASSET,
    TRADER_ROLES,
    AssetKind,
    AssetStatus,
    LoanMode,
    LoanStatus,
    OrderStatus,
    Role,
)

__all__ = [
    "APPROVAL_VALIDITY",
    "BPS",
    "DEBTOR_SETTLED",
    "GRACE",
    "HOLDS_LOCK",
    "MAX_RATE_BPS",
    "RUNNING",
    "YEAR",
    "ZERO",
    "AssetM",
    "FundsM",
    "LoanM",
    "Members",
    "Model",
    "OrderM",
    "Refused",
]

ZERO = "0x" + "00" * 20
BPS = 10_000
YEAR = 365 * 24 * 3600
#: LoanBook.GRACE_PERIOD: a loan can be declared defaulted this long after maturity
GRACE = 7 * 24 * 3600
#: LoanBook.APPROVAL_VALIDITY: an approval can be disbursed this long
APPROVAL_VALIDITY = 30 * 24 * 3600
#: RiskControl.FIRST_SWEEP: loans frozen in the transaction that declares a chain fraudulent
FIRST_SWEEP = 25
#: RiskControl.PROPOSAL_WINDOW: how long a fraud proposal waits for its co-signature
PROPOSAL_WINDOW = 14 * 24 * 3600
#: RiskControl.PROPOSAL_COOLDOWN: a chain whose proposal ended unconfirmed is proposed again this late
PROPOSAL_COOLDOWN = 14 * 24 * 3600
MAX_RATE_BPS = 3_600

RUNNING = frozenset({LoanStatus.DISBURSED, LoanStatus.WARNED, LoanStatus.RECALLED})
#: statuses in which a loan may hold its asset's lock (Approved until Repaid / WrittenOff)
HOLDS_LOCK = RUNNING | {LoanStatus.APPROVED, LoanStatus.DEFAULTED}
#: modes repaid by the debtor settling the financed order to the LoanBook
DEBTOR_SETTLED = frozenset({LoanMode.RECEIVABLE, LoanMode.PAYABLE})


class Refused(Exception):
    """The operation must revert with the custom error `name`."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _require(ok: bool, error: str) -> None:
    if not ok:
        raise Refused(error)


@dataclass(frozen=True)
class Members:
    """Who is an active member with which roles (fixed for a run: nobody is suspended)."""

    roles: dict[str, frozenset[Role]]
    core_tier: frozenset[str]
    chain_of: dict[str, int]
    chain_core: dict[int, str]
    #: holders of CONTROLLER_ROLE on the LoanBook and the FundTracker
    controllers: frozenset[str]

    def active(self, who: str) -> bool:
        return who in self.roles

    def has(self, who: str, role: Role) -> bool:
        return role in self.roles.get(who, frozenset())

    def trader(self, who: str) -> bool:
        return bool(self.roles.get(who, frozenset()) & TRADER_ROLES)

    def core_of_chain(self, who: str, chain_id: int) -> bool:
        return chain_id != 0 and self.chain_core.get(chain_id) == who and self.active(who)


LAPSE_FREEZE, LAPSE_RECALL, LAPSE_CONTINUE = 0, 1, 2
CONTINUE, RECALL = 1, 2


@dataclass
class ControlM:
    """RiskControl.LoanControl of one loan."""

    alert_id: int = 0
    deadline: int = 0
    decision: int = 0
    lapsed: bool = False
    frozen_for_warning: bool = False


@dataclass
class FraudM:
    """RiskControl.FraudCase of one supply chain."""

    proposed_by: str = ZERO
    confirmed_by: str = ZERO
    evidence: bytes = b"\x00" * 32
    declared_at: int = 0
    swept: int = 0
    sweep_done: bool = False


@dataclass
class OrderM:
    order_id: int
    buyer: str
    seller: str
    currency: str
    amount: int
    status: OrderStatus
    payee: str
    prepaid: int = 0
    carrier: str | None = None
    warehouse: str | None = None
    invoice_number: str = ""
    status_before_dispute: OrderStatus = OrderStatus.NONE


NO_ORDER = OrderM(0, ZERO, ZERO, ZERO, 0, OrderStatus.NONE, ZERO)


@dataclass
class AssetM:
    asset_id: int
    kind: AssetKind
    status: AssetStatus
    owner: str
    order_id: int
    obligor: str
    currency: str
    value: int
    key: tuple[object, ...]
    quantity: int = 0
    pledged_quantity: int = 0
    locked_by: int = 0


@dataclass
class FundsM:
    borrower: str
    lender: str
    currency: str
    order_id: int
    disbursed: int
    spent: int = 0
    returned: int = 0
    released: int = 0
    frozen: bool = False
    paid: dict[str, int] = field(default_factory=dict)

    @property
    def unspent(self) -> int:
        return self.disbursed - self.spent - self.returned - self.released


@dataclass
class LoanM:
    """Field names follow vscm.client.records.Loan so the two compare field by field."""

    loan_id: int
    mode: LoanMode
    status: LoanStatus
    borrower: str
    lender: str
    guarantor: str | None
    currency: str
    asset_id: int
    purpose_order_id: int
    principal: int
    rate_bps: int
    term_seconds: int
    guarantee_signed: bool = False
    settlement_collected: bool = False
    ltv_bps: int = 0
    supervisor: str | None = None
    disbursed_at: int = 0
    maturity: int = 0
    last_accrual: int = 0
    defaulted_at: int = 0
    warning_deadline: int = 0
    interest_carry: int = 0
    collateral_quantity: int = 0
    interest_accrued: int = 0
    principal_repaid: int = 0
    interest_paid: int = 0
    guarantor_paid: int = 0
    written_off: int = 0
    #: the guarantor's commitment the LoanBook holds for this loan
    guarantee_held: int = 0
    #: the approval can be disbursed until then (F-07: then the borrower may withdraw)
    expires_at: int = 0
    funds: FundsM | None = None

    def owed(self) -> int:
        """Booked: unpaid principal and accrued unpaid interest, less what was written off."""
        return (self.principal + self.interest_accrued - self.principal_repaid - self.interest_paid
                - self.written_off)

    def interest_scaled(self, now: int) -> int:
        """The carried remainder plus interest since the last accrual, in 1/(BPS x YEAR) of a unit."""
        scaled = self.interest_carry
        if self.status in RUNNING and now > self.last_accrual:
            scaled += (self.principal - self.principal_repaid) * self.rate_bps * (now - self.last_accrual)
        return scaled

    def pending_interest(self, now: int) -> int:
        return self.interest_scaled(now) // (BPS * YEAR)

    def outstanding(self, now: int) -> int:
        return self.owed() + self.pending_interest(now)


@dataclass
class Model:
    members: Members
    loanbook: str
    fundtracker: str
    currencies: frozenset[str]
    balances: dict[tuple[str, str], int]
    supply: dict[str, int]
    orders: dict[int, OrderM]
    #: (currency, owner) -> allowance to the LoanBook
    allowances: dict[tuple[str, str], int] = field(default_factory=dict)
    assets: dict[int, AssetM] = field(default_factory=dict)
    #: ERC-721 approvals of the AssetRegistry: asset id -> approved address (cleared when the asset moves), and
    #: (owner, operator) pairs approved for all of an owner's assets (set by adversaries' calls, followed from events)
    asset_approvals: dict[int, str] = field(default_factory=dict)
    asset_operators: set[tuple[str, str]] = field(default_factory=set)
    keys: dict[tuple[object, ...], int] = field(default_factory=dict)
    #: order id -> the receipt born locked to the loan holding its future-goods right (AssetRegistry)
    goods_receipt: dict[int, int] = field(default_factory=dict)
    #: order id -> loan money its carrier and warehouse got (FundTracker)
    logistics_paid: dict[int, int] = field(default_factory=dict)
    #: chain id -> until when a pending fraud proposal keeps its members in it (MemberRegistry)
    investigated_until: dict[int, int] = field(default_factory=dict)
    #: RiskControl.nextProposalAt: when a chain may be proposed again
    next_proposal_at: dict[int, int] = field(default_factory=dict)
    loans: dict[int, LoanM] = field(default_factory=dict)
    #: order -> settlement money the LoanBook received for it and has not passed on
    custody: dict[int, int] = field(default_factory=dict)
    #: (currency, lender) -> settlements paid straight to a lender (a claim it seized on write-off)
    recovered: dict[tuple[str, str], int] = field(default_factory=dict)
    #: (currency, lender) -> the lender's balance when the run started
    lender_base: dict[tuple[str, str], int] = field(default_factory=dict)
    #: (currency, lender) -> what a lender paid towards loans itself (`repay` is open to anyone)
    lender_repaid: dict[tuple[str, str], int] = field(default_factory=dict)
    #: RiskControl: the operator, alerts raised, per-loan control, parameters, fraud cases, exposures
    operator: str = ""
    #: who holds DEFAULT_ADMIN_ROLE: the operator key ("", the default), or a council's timelock
    admin: str = ""
    alert_count: int = 0
    #: (loan, evidence) of every indicator-103 alert raised: the same evidence again is a repeat
    alerted: set[tuple[int, bytes]] = field(default_factory=set)
    control: dict[int, ControlM] = field(default_factory=dict)
    decision_window: int = 3 * 24 * 3600
    lapse_policy: int = LAPSE_FREEZE
    warn_severity: int = 2
    #: loan -> the borrower's supply chain when it applied (LoanBook.loanChain)
    loan_chain: dict[int, int] = field(default_factory=dict)
    fraud: dict[int, FraudM] = field(default_factory=dict)
    #: (chain, lender) -> [loans, outstanding, frozen], in the order lenders were first seen
    exposure: dict[tuple[int, str], list[int]] = field(default_factory=dict)

    def copy(self) -> Model:
        return copy.deepcopy(self, {id(self.members): self.members})

    # ------------------------------------------------------------------ cash

    def balance(self, currency: str, who: str) -> int:
        return self.balances.get((currency, who), 0)

    def allowance(self, currency: str, owner: str) -> int:
        return self.allowances.get((currency, owner), 0)

    def facade_allowance(self, currency: str, owner: str, amount: int) -> bool:
        """What Facade._send_paying does before a call: set the allowance to exactly `amount` unless it is.

        Returns whether it sent an approval (a transaction of its own, mined before the call). After the
        call, whatever its outcome, the facade puts the allowance back (``restore_allowance``).
        """
        if self.allowance(currency, owner) == amount:
            return False
        self.allowances[(currency, owner)] = amount
        return True

    def restore_allowance(self, currency: str, owner: str, before: int) -> None:
        """What Facade._send_paying does after a call: the allowance is what it was before it."""
        self.allowances[(currency, owner)] = before

    def _move(self, currency: str, frm: str, to: str, amount: int) -> None:
        have = self.balance(currency, frm)
        _require(have >= amount, "ERC20InsufficientBalance")
        self.balances[(currency, frm)] = have - amount
        self.balances[(currency, to)] = self.balance(currency, to) + amount

    def _pull(self, currency: str, owner: str, to: str, amount: int) -> None:
        """The LoanBook's transferFrom: allowance first, then balance (OpenZeppelin ERC20)."""
        allowed = self.allowance(currency, owner)
        _require(allowed >= amount, "ERC20InsufficientAllowance")
        self.allowances[(currency, owner)] = allowed - amount
        self._move(currency, owner, to, amount)

    def tracked(self, currency: str) -> int:
        return sum(ln.funds.unspent for ln in self.loans.values() if ln.funds and ln.currency == currency)

    # ------------------------------------------------------------------ orders

    def order(self, order_id: int) -> OrderM:
        """An order as OrderBook.getOrder returns it: zeros when it does not exist."""
        return self.orders.get(order_id, NO_ORDER)

    def _order(self, order_id: int) -> OrderM:
        found = self.orders.get(order_id)
        _require(found is not None, "OrderNotFound")
        assert found is not None
        return found

    def _require_active(self, who: str) -> None:
        _require(self.members.active(who), "MemberNotActive")

    def place(self, buyer: str, seller: str, chain_id: int, currency: str, amount: int, now: int = 0) -> int:
        _require(seller != buyer, "OrderSelfTrade")
        _require(self.members.trader(buyer), "OrderNotTrader")
        _require(self.members.chain_of.get(buyer) == chain_id != 0, "OrderNotInChain")
        _require(self.members.trader(seller), "OrderNotTrader")
        seller_chain = self.members.chain_of.get(seller, 0)
        if seller_chain != chain_id:
            # An order across chains: the seller is in a chain, and neither chain is under investigation.
            _require(seller_chain != 0, "OrderSellerWithoutChain")
            for c in (chain_id, seller_chain):
                _require(now > self.investigated_until.get(c, 0), "OrderChainUnderInvestigation")
        _require(currency in self.currencies, "OrderUnknownCurrency")
        _require(amount != 0, "OrderZeroAmount")
        order_id = len(self.orders) + 1
        self.orders[order_id] = OrderM(order_id, buyer, seller, currency, amount, OrderStatus.PLACED, seller)
        return order_id

    def _seller_action(self, order_id: int, by: str, expected: OrderStatus) -> OrderM:
        o = self._order(order_id)
        _require(o.seller == by, "OrderNotSeller")
        self._require_active(by)
        _require(o.status == expected, "OrderWrongStatus")
        return o

    def accept(self, order_id: int, by: str) -> None:
        self._seller_action(order_id, by, OrderStatus.PLACED).status = OrderStatus.ACCEPTED

    def ship(self, order_id: int, by: str, carrier: str, warehouse: str) -> None:
        o = self._seller_action(order_id, by, OrderStatus.ACCEPTED)
        _require(self.members.has(carrier, Role.LOGISTICS), "OrderNotCarrier")
        _require(self.members.has(warehouse, Role.WAREHOUSE), "OrderNotWarehouseMember")
        o.carrier, o.warehouse, o.status = carrier, warehouse, OrderStatus.SHIPPED

    def deliver(self, order_id: int, by: str) -> None:
        o = self._order(order_id)
        _require(o.warehouse == by, "OrderNotWarehouse")
        self._require_active(by)
        _require(o.status == OrderStatus.SHIPPED, "OrderWrongStatus")
        o.status = OrderStatus.DELIVERED

    def invoice(self, order_id: int, by: str, number: str) -> None:
        o = self._seller_action(order_id, by, OrderStatus.DELIVERED)
        o.invoice_number, o.status = number, OrderStatus.INVOICED

    def settle(self, order_id: int, by: str) -> None:
        o = self._order(order_id)
        _require(o.buyer == by, "OrderNotBuyer")
        _require(o.status == OrderStatus.INVOICED, "OrderWrongStatus")
        o.status = OrderStatus.SETTLED
        due = o.amount - o.prepaid
        if due:
            self._move(o.currency, by, o.payee, due)
            if o.payee == self.loanbook:
                self.custody[order_id] = self.custody.get(order_id, 0) + due
            elif self.members.has(o.payee, Role.FINANCIER):
                key = (o.currency, o.payee)
                self.recovered[key] = self.recovered.get(key, 0) + due

    def cancel(self, order_id: int, by: str) -> None:
        o = self._order(order_id)
        _require(by in (o.buyer, o.seller), "OrderNotParty")
        self._require_active(by)
        _require(o.status in (OrderStatus.PLACED, OrderStatus.ACCEPTED), "OrderWrongStatus")
        _require(o.prepaid == 0, "OrderHasPrepayment")
        o.status = OrderStatus.CANCELLED

    def dispute(self, order_id: int, by: str) -> None:
        o = self._order(order_id)
        _require(by in (o.buyer, o.seller), "OrderNotParty")
        self._require_active(by)
        _require(o.status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.INVOICED), "OrderWrongStatus")
        o.status_before_dispute, o.status = o.status, OrderStatus.DISPUTED

    def is_admin(self, who: str) -> bool:
        """Whether `who` holds DEFAULT_ADMIN_ROLE (the operator key unless a council took it)."""
        return who == (self.admin or self.operator)

    def resolve_dispute(self, order_id: int, cancel: bool, by: str = "") -> None:
        """The operator (`by`, default the operator key) ends a dispute: back to where it was, or cancelled; a
        financed order (its settlement redirected, or anything prepaid) is cancelled by the admin alone."""
        o = self._order(order_id)
        _require(o.status == OrderStatus.DISPUTED, "OrderWrongStatus")
        financed = o.payee != o.seller or o.prepaid != 0
        _require(not (cancel and financed) or self.is_admin(by or self.operator), "OrderFinancedCancelNeedsAdmin")
        o.status = OrderStatus.CANCELLED if cancel else o.status_before_dispute
        o.status_before_dispute = OrderStatus.NONE

    def _redirect(self, order_id: int, payee: str) -> None:
        o = self._order(order_id)
        _require(o.status not in (OrderStatus.SETTLED, OrderStatus.CANCELLED), "OrderWrongStatus")
        _require(payee in (self.loanbook, o.seller) or self.members.active(payee), "OrderPayeeNotMember")
        o.payee = payee

    def _record_prepayment(self, order_id: int, amount: int) -> None:
        o = self._order(order_id)
        _require(o.status < OrderStatus.INVOICED, "OrderWrongStatus")
        _require(0 < amount <= o.amount - o.prepaid, "OrderPrepaymentTooLarge")
        o.prepaid += amount

    # ------------------------------------------------------------------ assets

    def _asset(self, asset_id: int) -> AssetM:
        found = self.assets.get(asset_id)
        _require(found is not None, "AssetNotFound")
        assert found is not None
        return found

    def _register(self, kind: AssetKind, status: AssetStatus, key: tuple[object, ...], owner: str, obligor: str,
                  order_id: int, currency: str, value: int) -> AssetM:
        _require(key not in self.keys, "AssetAlreadyRegistered")
        _require(value != 0, "AssetZeroValue")
        _require(self.members.active(owner), "AssetOwnerNotActive")
        asset_id = len(self.assets) + 1
        self.keys[key] = asset_id
        asset = AssetM(asset_id, kind, status, owner, order_id, obligor, currency, value, key)
        self.assets[asset_id] = asset
        return asset

    def register_receipt(self, by: str, owner: str, lot: str, order_id: int, quantity: int, currency: str,
                         value: int) -> int:
        _require(self.members.has(by, Role.WAREHOUSE), "AssetNotWarehouse")
        _require(lot != "", "AssetEmptyKey")
        _require(quantity != 0, "AssetZeroQuantity")
        _require(value != 0, "AssetZeroValue")
        _require(currency in self.currencies, "AssetUnknownCurrency")
        right_loan = 0
        if order_id:
            o = self.order(order_id)
            _require(o.warehouse == by, "AssetNotWarehouse")
            _require(o.buyer == owner, "AssetNotBuyerOfOrder")
            right = self.keys.get(("future-goods", order_id))
            right_loan = self.assets[right].locked_by if right else 0
            # The goods of a financed order come under one receipt, which its loan holds.
            _require(not (right_loan and order_id in self.goods_receipt), "AssetGoodsAlreadyReceipted")
        asset = self._register(AssetKind.WAREHOUSE_RECEIPT, AssetStatus.CONFIRMED, ("lot", by, lot), owner, by,
                               order_id, currency, value)
        asset.quantity = quantity
        if right_loan:
            # Born locked to the loan holding the order's future-goods right (F-05).
            self.goods_receipt[order_id] = asset.asset_id
            asset.locked_by, asset.pledged_quantity = right_loan, quantity
        return asset.asset_id

    def _born_locked(self, right: AssetM, loan_id: int) -> AssetM | None:
        """The receipt born locked to `loan_id` through the future-goods right `right`, if any."""
        if right.kind != AssetKind.FUTURE_GOODS or right.order_id not in self.goods_receipt:
            return None
        receipt = self.assets[self.goods_receipt[right.order_id]]
        return receipt if receipt.locked_by == loan_id else None

    def register_receivable(self, by: str, order_id: int) -> int:
        o = self.order(order_id)
        _require(o.seller == by, "AssetNotSellerOfOrder")
        self._require_active(by)
        _require(o.status == OrderStatus.INVOICED, "AssetOrderNotInvoiced")
        # An invoice is keyed by its creditor, debtor and number.
        key = ("invoice", o.seller, o.buyer, o.invoice_number)
        return self._register(AssetKind.RECEIVABLE, AssetStatus.REGISTERED, key,
                              by, o.buyer, order_id, o.currency, o.amount - o.prepaid).asset_id

    def confirm_receivable(self, by: str, asset_id: int) -> None:
        a = self._asset(asset_id)
        _require(a.kind == AssetKind.RECEIVABLE and a.obligor == by, "AssetNotDebtor")
        self._require_active(by)
        _require(a.status == AssetStatus.REGISTERED, "AssetWrongStatus")
        a.status = AssetStatus.CONFIRMED

    def register_payable(self, by: str, order_id: int) -> int:
        o = self.order(order_id)
        _require(o.buyer == by, "AssetNotBuyerOfOrder")
        self._require_active(by)
        _require(by in self.members.core_tier, "AssetNotCoreDebtor")
        _require(o.status == OrderStatus.INVOICED, "AssetOrderNotInvoiced")
        key = ("invoice", o.seller, o.buyer, o.invoice_number)
        return self._register(AssetKind.PAYABLE, AssetStatus.CONFIRMED, key,
                              o.seller, o.buyer, order_id, o.currency, o.amount - o.prepaid).asset_id

    def register_future_goods(self, by: str, order_id: int) -> int:
        o = self.order(order_id)
        _require(o.buyer == by, "AssetNotBuyerOfOrder")
        self._require_active(by)
        _require(o.status == OrderStatus.ACCEPTED, "AssetOrderNotAccepted")
        return self._register(AssetKind.FUTURE_GOODS, AssetStatus.CONFIRMED, ("future-goods", order_id), by,
                              o.seller, order_id, o.currency, o.amount).asset_id

    def withdraw_goods(self, by: str, asset_id: int, quantity: int) -> None:
        a = self._asset(asset_id)
        _require(a.kind == AssetKind.WAREHOUSE_RECEIPT and a.obligor == by, "AssetNotWarehouse")
        self._require_active(by)
        _require(a.status == AssetStatus.CONFIRMED, "AssetWrongStatus")
        _require(quantity != 0, "AssetZeroQuantity")
        _require(quantity <= a.quantity - a.pledged_quantity, "AssetQuantityTooLarge")
        # The goods that leave take their share of the appraised value with them (rounded down).
        remaining = a.quantity - quantity
        a.value = a.value * remaining // a.quantity
        a.quantity = remaining

    def retire(self, by: str, asset_id: int) -> None:
        a = self._asset(asset_id)
        _require(a.owner == by, "AssetNotOwner")
        self._require_active(by)
        _require(a.locked_by == 0, "AssetIsLocked")
        _require(a.status != AssetStatus.RETIRED, "AssetWrongStatus")
        a.status = AssetStatus.RETIRED

    def transfer_asset(self, by: str, asset_id: int, to: str) -> None:
        """ERC-721 transferFrom(by, to, id) through AssetRegistry._update."""
        a = self.assets.get(asset_id)
        _require(a is None or a.locked_by == 0, "AssetIsLocked")
        _require(a is None or self.members.active(to), "AssetOwnerNotActive")
        _require(a is None or self.members.active(a.owner), "AssetOwnerNotActive")
        _require(a is not None, "ERC721NonexistentToken")
        assert a is not None
        # OpenZeppelin's transferFrom(by, to, id): the caller must be the owner or approved for the asset, and
        # then `by` must be its owner.
        authorized = a.owner == by or (a.owner, by) in self.asset_operators or self.asset_approvals.get(asset_id) == by
        _require(authorized, "ERC721InsufficientApproval")
        _require(a.owner == by, "ERC721IncorrectOwner")
        self._move_asset(a, to)

    def _move_asset(self, a: AssetM, to: str) -> None:
        """A change of owner: OpenZeppelin's ERC-721 clears the asset's approval."""
        a.owner = to
        self.asset_approvals.pop(a.asset_id, None)

    def _lock(self, a: AssetM, loan_id: int) -> None:
        _require(a.locked_by == 0, "AssetIsLocked")
        _require(a.status == AssetStatus.CONFIRMED, "AssetWrongStatus")
        if a.kind == AssetKind.FUTURE_GOODS:
            # A right to goods is financeable only until they ship.
            _require(self.order(a.order_id).status == OrderStatus.ACCEPTED, "AssetOrderNotAccepted")
        elif a.kind == AssetKind.WAREHOUSE_RECEIPT and a.order_id:
            # The goods of an order whose right backs a loan are that loan's.
            right = self.keys.get(("future-goods", a.order_id))
            right_loan = self.assets[right].locked_by if right else 0
            _require(right_loan in (0, loan_id), "AssetIsLocked")
        a.locked_by, a.pledged_quantity = loan_id, a.quantity

    def _unlock(self, a: AssetM, loan_id: int, retire: bool) -> None:
        _require(a.locked_by == loan_id != 0, "AssetNotLockedBy")
        a.locked_by, a.pledged_quantity = 0, 0
        if retire:
            a.status = AssetStatus.RETIRED
        receipt = self._born_locked(a, loan_id)
        if receipt is not None:
            receipt.locked_by, receipt.pledged_quantity = 0, 0

    def _seize(self, a: AssetM, loan_id: int, to: str) -> None:
        _require(a.locked_by == loan_id != 0, "AssetNotLockedBy")
        a.locked_by, a.pledged_quantity = 0, 0
        _require(self.members.active(to), "AssetOwnerNotActive")
        self._move_asset(a, to)
        receipt = self._born_locked(a, loan_id)
        if receipt is not None:
            receipt.locked_by, receipt.pledged_quantity = 0, 0
            self._move_asset(receipt, to)

    # ------------------------------------------------------------------ loans

    def _loan(self, loan_id: int) -> LoanM:
        found = self.loans.get(loan_id)
        _require(found is not None, "LoanNotFound")
        assert found is not None
        return found

    def _financeable(self, asset_id: int, mode: LoanMode) -> AssetM:
        a = self.assets.get(asset_id)
        _require(a is not None and a.status == AssetStatus.CONFIRMED, "LoanAssetNotConfirmed")
        assert a is not None
        _require(a.kind == MODE_ASSET[mode], "LoanWrongAssetKind")
        _require(a.locked_by == 0, "LoanAssetLocked")
        return a

    def apply(self, borrower: str, mode: LoanMode, asset_id: int, purpose_order_id: int, lender: str,
              guarantor: str | None, principal: int, rate_bps: int, term_seconds: int) -> int:
        _require(self.members.trader(borrower), "LoanBorrowerNotTrader")
        _require(self.members.has(lender, Role.FINANCIER), "LoanLenderNotFinancier")
        _require(principal != 0, "LoanZeroPrincipal")
        _require(rate_bps <= MAX_RATE_BPS, "LoanRateTooHigh")
        _require(term_seconds != 0, "LoanZeroTerm")
        a = self._financeable(asset_id, mode)
        _require(a.owner == borrower, "LoanNotAssetOwner")
        order_id = a.order_id if mode == LoanMode.PREPAYMENT else purpose_order_id
        o = self.order(order_id)
        _require(o.buyer == borrower and OrderStatus.NONE < o.status < OrderStatus.SETTLED, "LoanBadPurposeOrder")
        _require(o.currency == a.currency, "LoanCurrencyMismatch")
        if guarantor is not None:
            _require(self.members.core_of_chain(guarantor, self.members.chain_of.get(borrower, 0)),
                     "LoanGuarantorNotCore")
        else:
            _require(mode != LoanMode.PLEDGE, "LoanGuarantorRequired")
        loan_id = len(self.loans) + 1
        self.loan_chain[loan_id] = self.members.chain_of.get(borrower, 0)
        self.loans[loan_id] = LoanM(loan_id, mode, LoanStatus.APPLIED, borrower, lender, guarantor, a.currency,
                                    asset_id, order_id, principal, rate_bps, term_seconds)
        return loan_id

    def _lender_action(self, loan_id: int, by: str, expected: LoanStatus) -> LoanM:
        ln = self._loan(loan_id)
        _require(ln.lender == by, "LoanNotLender")
        _require(ln.status == expected, "LoanWrongStatus")
        self._require_active(by)
        return ln

    def approve(self, loan_id: int, by: str, ltv_bps: int, supervisor: str | None, now: int) -> None:
        ln = self._lender_action(loan_id, by, LoanStatus.APPLIED)
        _require(0 < ltv_bps <= BPS, "LoanBadLtv")
        a = self._financeable(ln.asset_id, ln.mode)
        _require(a.owner == ln.borrower, "LoanNotAssetOwner")
        _require(ln.principal <= a.value * ltv_bps // BPS, "LoanLtvExceeded")
        if ln.mode == LoanMode.PLEDGE:
            _require(supervisor == a.obligor and self.members.has(a.obligor, Role.WAREHOUSE),
                     "LoanSupervisorNotCustodian")
            ln.supervisor = supervisor
        ln.ltv_bps, ln.status, ln.collateral_quantity = ltv_bps, LoanStatus.APPROVED, a.quantity
        ln.expires_at = now + APPROVAL_VALIDITY
        self._lock(a, loan_id)
        if ln.mode in DEBTOR_SETTLED:
            self._redirect(a.order_id, self.loanbook)

    def reject(self, loan_id: int, by: str) -> None:
        ln = self._loan(loan_id)
        _require(ln.lender == by, "LoanNotLender")
        _require(ln.status in (LoanStatus.APPLIED, LoanStatus.APPROVED), "LoanWrongStatus")
        self._require_active(by)
        self._end_undisbursed(ln, LoanStatus.REJECTED)

    def withdraw(self, loan_id: int, by: str, now: int) -> None:
        """The borrower's exit (F-07): an application at any time, an approval once expired or when its
        lender is no longer active."""
        ln = self._loan(loan_id)
        _require(by in (ln.borrower, ln.guarantor), "LoanNotBorrower")
        _require(not (ln.status == LoanStatus.APPROVED and now <= ln.expires_at
                      and self.members.active(ln.lender)), "LoanApprovalNotExpired")
        _require(ln.status in (LoanStatus.APPLIED, LoanStatus.APPROVED), "LoanWrongStatus")
        self._end_undisbursed(ln, LoanStatus.WITHDRAWN)

    def _end_undisbursed(self, ln: LoanM, to: LoanStatus) -> None:
        approved = ln.status == LoanStatus.APPROVED
        ln.status = to
        self._release_guarantee(ln)
        if approved:  # ending an approval frees the collateral
            self._release_claim_or_goods(ln)

    def _release_claim_or_goods(self, ln: LoanM) -> None:
        """An unfinished loan lets go of its collateral (the contract's `_releaseClaimOrGoods`)."""
        a = self.assets[ln.asset_id]
        if a.locked_by != ln.loan_id:
            return
        if ln.mode not in DEBTOR_SETTLED:
            self._unlock(a, ln.loan_id, retire=False)
            return
        o = self.order(a.order_id)
        if o.status == OrderStatus.SETTLED and not ln.settlement_collected:
            ln.settlement_collected = True
            received = o.amount - o.prepaid
            if received:
                self._move(ln.currency, self.loanbook, a.owner, received)
            self.custody[a.order_id] = self.custody.get(a.order_id, 0) - received
            self._unlock(a, ln.loan_id, retire=True)
            return
        if a.owner != o.seller and not self.members.active(a.owner) and o.status != OrderStatus.CANCELLED:
            # A creditor that cannot be paid: the settlement keeps coming here and `collect` passes it on.
            return
        if o.status not in (OrderStatus.SETTLED, OrderStatus.CANCELLED):
            self._redirect(a.order_id, a.owner)
        self._unlock(a, ln.loan_id, retire=o.status == OrderStatus.CANCELLED)

    def sign_guarantee(self, loan_id: int, by: str) -> None:
        ln = self._loan(loan_id)
        _require(ln.guarantor == by and not ln.guarantee_signed, "LoanNotGuarantor")
        _require(ln.status in (LoanStatus.APPLIED, LoanStatus.APPROVED), "LoanWrongStatus")
        self._require_active(by)
        available = min(self.allowance(ln.currency, by), self.balance(ln.currency, by))
        _require(available >= ln.principal, "LoanGuaranteeNotFunded")
        # The commitment is taken and held for this loan alone.
        ln.guarantee_signed, ln.guarantee_held = True, ln.principal
        self._pull(ln.currency, by, self.loanbook, ln.principal)

    def _release_guarantee(self, ln: LoanM) -> None:
        """What is held of the guarantor's commitment goes back to it."""
        if ln.guarantee_held:
            assert ln.guarantor is not None
            self._move(ln.currency, self.loanbook, ln.guarantor, ln.guarantee_held)
            ln.guarantee_held = 0

    def disburse(self, loan_id: int, by: str, now: int) -> None:
        ln = self._lender_action(loan_id, by, LoanStatus.APPROVED)
        _require(ln.guarantor is None or ln.guarantee_signed, "LoanGuaranteeMissing")
        _require(now <= ln.expires_at, "LoanApprovalExpired")
        ln.status = LoanStatus.DISBURSED
        ln.disbursed_at = ln.last_accrual = now
        ln.maturity = now + ln.term_seconds
        self._pull(ln.currency, by, self.fundtracker, ln.principal)
        ln.funds = FundsM(ln.borrower, ln.lender, ln.currency, ln.purpose_order_id, ln.principal)
        if ln.mode == LoanMode.PREPAYMENT:
            # The lender pays the supplier directly, for the borrower.
            self._spend(ln, self.order(ln.purpose_order_id).seller, ln.principal)

    def spend(self, loan_id: int, by: str, to: str, amount: int) -> None:
        ln = self.loans.get(loan_id)
        _require(ln is not None and ln.funds is not None, "FundsNotFound")
        assert ln is not None and ln.funds is not None
        _require(by == ln.funds.borrower, "FundsNotHolder")
        self._require_active(by)
        self._spend(ln, to, amount)

    def _spend(self, ln: LoanM, to: str, amount: int) -> None:
        f = ln.funds
        assert f is not None
        _require(not f.frozen, "FundsAreFrozen")
        _require(amount != 0, "FundsZeroAmount")
        o = self.order(f.order_id)
        _require(to not in (ZERO, o.buyer) and to in (o.seller, o.carrier, o.warehouse), "FundsPayeeNotAllowed")
        _require(self.members.active(to), "FundsPayeeNotActive")
        _require(amount <= f.unspent, "FundsInsufficient")
        if to != o.seller:
            # Carrier and warehouse get at most the purpose order's amount, over all its loans.
            _require(self.logistics_paid.get(f.order_id, 0) + amount <= o.amount, "FundsLogisticsCapExceeded")
            self.logistics_paid[f.order_id] = self.logistics_paid.get(f.order_id, 0) + amount
        f.spent += amount
        f.paid[to] = f.paid.get(to, 0) + amount
        if to == o.seller:
            self._record_prepayment(f.order_id, amount)
        self._move(f.currency, self.fundtracker, to, amount)

    def _revoke(self, ln: LoanM, max_amount: int) -> int:
        f = ln.funds
        _require(f is not None, "FundsNotFound")
        assert f is not None
        amount = min(f.unspent, max_amount)
        if amount:
            f.returned += amount
            self._move(f.currency, self.fundtracker, f.lender, amount)
        return amount

    def _release_funds(self, ln: LoanM) -> None:
        f = ln.funds
        if f is None or f.unspent == 0:
            return
        amount = f.unspent
        f.released += amount
        self._move(f.currency, self.fundtracker, f.borrower, amount)

    def _accrue(self, ln: LoanM, now: int) -> None:
        if ln.status not in RUNNING:
            return
        amount, ln.interest_carry = divmod(ln.interest_scaled(now), BPS * YEAR)
        ln.last_accrual = now
        ln.interest_accrued += amount

    def _apply_payment(self, ln: LoanM, pay: int) -> None:
        """Interest first, then principal; pledged goods released in step (not after a default);
        closed when paid."""
        to_interest = min(pay, ln.interest_accrued - ln.interest_paid)
        ln.interest_paid += to_interest
        ln.principal_repaid += pay - to_interest
        if ln.owed() != 0:
            if ln.status != LoanStatus.DEFAULTED:
                self._release_in_step(ln)
            return
        ln.status = LoanStatus.REPAID
        self._release_funds(ln)
        self._release_guarantee(ln)
        a = self.assets[ln.asset_id]
        if ln.guarantor_paid:
            # Subrogation: the guarantor that paid for the borrower holds the claim; the collateral is its.
            assert ln.guarantor is not None
            self._hand_over(ln, ln.guarantor)
        elif a.locked_by == ln.loan_id:
            claim = ln.mode in DEBTOR_SETTLED
            if not claim or ln.settlement_collected:
                # Goods go back free; a claim whose settlement was collected is consumed.
                self._unlock(a, ln.loan_id, retire=claim)
            elif self.order(a.order_id).status != OrderStatus.SETTLED:
                # A repaid claim not yet settled goes back to its creditor (void if cancelled).
                self._release_claim_or_goods(ln)
            # Otherwise the debtor paid the LoanBook already: the claim stays locked until `collect`.

    def _hand_over(self, ln: LoanM, to: str) -> None:
        """The collateral of a loan ending unpaid goes to the claim's holder (the contract's `_handOver`);
        it stays locked for a guarantor that is no longer an active member."""
        a = self.assets[ln.asset_id]
        if a.locked_by != ln.loan_id:
            return
        claim = ln.mode in DEBTOR_SETTLED
        if claim and ln.settlement_collected:
            self._unlock(a, ln.loan_id, retire=True)
            return
        self._require_nothing_to_collect(ln)
        if not self.members.active(to):
            return  # kept locked for the guarantor; a claim's settlement still comes to the LoanBook
        if claim and self.order(a.order_id).status not in (OrderStatus.SETTLED, OrderStatus.CANCELLED):
            self._redirect(a.order_id, to)
        self._seize(a, ln.loan_id, to)

    def _require_nothing_to_collect(self, ln: LoanM) -> None:
        if ln.mode not in DEBTOR_SETTLED:
            return
        a = self.assets[ln.asset_id]
        _require(ln.settlement_collected or a.locked_by != ln.loan_id
                 or self.order(a.order_id).status != OrderStatus.SETTLED, "LoanSettlementToCollect")

    def _release_in_step(self, ln: LoanM) -> None:
        a = self.assets[ln.asset_id]
        if a.kind != AssetKind.WAREHOUSE_RECEIPT or a.locked_by != ln.loan_id:
            return
        cq = ln.collateral_quantity
        keep = cq - cq * ln.principal_repaid // ln.principal
        a.pledged_quantity = min(a.pledged_quantity, keep)

    def repay(self, loan_id: int, by: str, amount: int, now: int) -> None:
        ln = self._loan(loan_id)
        _require(ln.status in RUNNING or ln.status == LoanStatus.DEFAULTED, "LoanWrongStatus")
        _require(amount != 0, "LoanZeroAmount")
        _require(by != ln.lender, "LoanLenderCannotRepay")
        _require(by in (ln.borrower, ln.guarantor) or self.members.active(by), "LoanPayerRestricted")
        self._accrue(ln, now)
        owed = ln.owed()
        _require(owed != 0, "LoanNothingOwed")
        pay = min(amount, owed)
        self._pull(ln.currency, by, ln.lender, pay)
        if self.members.has(by, Role.FINANCIER):
            self.lender_repaid[(ln.currency, by)] = self.lender_repaid.get((ln.currency, by), 0) + pay
        self._apply_payment(ln, pay)

    def collect(self, loan_id: int, now: int) -> None:
        ln = self._loan(loan_id)
        _require(ln.mode in DEBTOR_SETTLED, "LoanNotSettlementMode")
        a = self.assets[ln.asset_id]
        # The settlement comes to the LoanBook only while the claim is locked to the loan.
        _require(not ln.settlement_collected and ln.status != LoanStatus.APPROVED and a.locked_by == loan_id,
                 "LoanWrongStatus")
        o = self.order(a.order_id)
        _require(o.status == OrderStatus.SETTLED, "LoanOrderNotSettled")
        ln.settlement_collected = True
        received = o.amount - o.prepaid
        to_lender = 0
        if ln.status in RUNNING or ln.status == LoanStatus.DEFAULTED:
            self._accrue(ln, now)
            to_lender = min(received, ln.owed())
        surplus = received - to_lender
        if to_lender:
            self._move(ln.currency, self.loanbook, ln.lender, to_lender)
            self._apply_payment(ln, to_lender)
        if surplus:
            self._move(ln.currency, self.loanbook, ln.guarantor if ln.guarantor_paid and ln.guarantor else ln.borrower,
                       surplus)
        self.custody[a.order_id] = self.custody.get(a.order_id, 0) - received
        if a.locked_by == loan_id:
            # The paid claim is consumed.
            self._unlock(a, loan_id, retire=True)

    def convert_collateral(self, loan_id: int, by: str, receipt_id: int) -> None:
        ln = self._loan(loan_id)
        _require(ln.mode == LoanMode.PREPAYMENT, "LoanNotSettlementMode")
        _require(ln.lender == by, "LoanNotLender")
        self._require_active(by)
        _require(ln.status in RUNNING, "LoanWrongStatus")
        right = self.assets[ln.asset_id]
        receipt = self.assets.get(receipt_id)
        _require(right.kind == AssetKind.FUTURE_GOODS and receipt is not None
                 and receipt.kind == AssetKind.WAREHOUSE_RECEIPT and receipt.order_id == ln.purpose_order_id
                 and receipt.owner == ln.borrower, "LoanReceiptMismatch")
        assert receipt is not None
        self._unlock(right, loan_id, retire=True)
        self._lock(receipt, loan_id)
        ln.asset_id, ln.supervisor, ln.collateral_quantity = receipt_id, receipt.obligor, receipt.quantity
        self._release_in_step(ln)

    def mark_default(self, loan_id: int, by: str, now: int) -> None:
        ln = self._loan(loan_id)
        if ln.lender != by:
            # Once the lender is no longer active, the guarantor may declare the default too. (An evicted
            # lender still may: nobody is suspended in the model.)
            _require(ln.guarantor == by, "LoanNotLender")
            _require(not self.members.active(ln.lender), "LoanLenderStillActive")
        _require(ln.status in RUNNING, "LoanWrongStatus")
        _require(now > ln.maturity + GRACE, "LoanNotMature")
        self._require_nothing_to_collect(ln)
        self._accrue(ln, now)
        # Unspent loan money goes back to the lender first, up to the debt, as a repayment.
        back = self._revoke(ln, ln.owed())
        if back:
            self._apply_payment(ln, back)
        if ln.status == LoanStatus.REPAID:
            return
        ln.status, ln.defaulted_at = LoanStatus.DEFAULTED, now
        # The guarantor pays what is really lost out of the commitment held for the loan; the rest goes
        # back to it.
        take = min(ln.owed(), ln.guarantee_held)
        if take:
            ln.guarantee_held -= take
            ln.guarantor_paid += take
            self._move(ln.currency, self.loanbook, ln.lender, take)
            self._apply_payment(ln, take)
        self._release_guarantee(ln)

    def assign_collateral(self, loan_id: int, by: str, to: str) -> None:
        """The guarantor that paid and closed the loan names an active member to take the collateral kept
        for it (LoanBook.assignCollateral)."""
        ln = self._loan(loan_id)
        _require(ln.guarantor == by, "LoanNotGuarantor")
        _require(bool(ln.guarantor_paid) and ln.status == LoanStatus.REPAID
                 and self.assets[ln.asset_id].locked_by == loan_id, "LoanNoCollateralKept")
        self._require_active(to)
        self._hand_over(ln, to)

    def write_off(self, loan_id: int, by: str) -> None:
        ln = self._lender_action(loan_id, by, LoanStatus.DEFAULTED)
        ln.written_off = ln.owed()
        ln.status = LoanStatus.WRITTEN_OFF
        self._hand_over(ln, ln.lender)

    # ------------------------------------------------------------------ control mechanism

    def _controller(self, by: str) -> None:
        _require(by in self.members.controllers, "AccessControlUnauthorizedAccount")

    def warn(self, loan_id: int, by: str, deadline: int, now: int) -> None:
        self._controller(by)
        ln = self._loan(loan_id)
        _require(ln.status == LoanStatus.DISBURSED, "LoanWrongStatus")
        self._accrue(ln, now)
        ln.status, ln.warning_deadline = LoanStatus.WARNED, deadline

    def clear_warning(self, loan_id: int, by: str) -> None:
        self._controller(by)
        ln = self._loan(loan_id)
        _require(ln.status == LoanStatus.WARNED, "LoanWrongStatus")
        ln.status, ln.warning_deadline = LoanStatus.DISBURSED, 0

    def recall(self, loan_id: int, by: str, now: int) -> None:
        self._controller(by)
        self._recall(self._loan(loan_id), now)

    def _recall(self, ln: LoanM, now: int) -> None:
        _require(ln.status in (LoanStatus.DISBURSED, LoanStatus.WARNED), "LoanWrongStatus")
        self._accrue(ln, now)
        ln.status, ln.maturity, ln.warning_deadline = LoanStatus.RECALLED, now, 0
        back = self._revoke(ln, ln.owed())
        if back:
            self._apply_payment(ln, back)

    def freeze(self, loan_id: int, by: str, frozen: bool) -> None:
        self._controller(by)
        ln = self.loans.get(loan_id)
        _require(ln is not None and ln.funds is not None, "FundsNotFound")
        assert ln is not None and ln.funds is not None
        _require(ln.funds.frozen != frozen, "FundsAreFrozen" if frozen else "FundsNotFrozen")
        ln.funds.frozen = frozen

    # ------------------------------------------------------------------ RiskControl

    def _risk_loan(self, loan_id: int) -> LoanM:
        ln = self.loans.get(loan_id)
        _require(ln is not None, "RiskUnknownLoan")
        assert ln is not None
        return ln

    def raise_alert(self, loan_id: int, by: str, severity: int, now: int, evidence: bytes) -> int:
        """RiskControl.raiseLoanAlert by a monitor (indicator 103, a non-zero evidence hash)."""
        _require(self.members.has(by, Role.MONITOR), "RiskNotMonitor")
        _require(1 <= severity <= 4, "RiskBadSeverity")
        ln = self._risk_loan(loan_id)
        _require((loan_id, evidence) not in self.alerted, "RiskAlertRepeated")
        self.alert_count += 1
        self.alerted.add((loan_id, evidence))
        if ln.status == LoanStatus.DISBURSED and severity >= self.warn_severity:
            deadline = now + self.decision_window
            assert ln.funds is not None
            # The warning freezes the tracked money at once, unless already frozen.
            freeze = not ln.funds.frozen
            self.control[loan_id] = ControlM(alert_id=self.alert_count, deadline=deadline, frozen_for_warning=freeze)
            self._accrue(ln, now)
            ln.status, ln.warning_deadline = LoanStatus.WARNED, deadline
            ln.funds.frozen = True
        return self.alert_count

    def _fraudulent(self, loan_id: int) -> bool:
        return self.fraud.get(self.loan_chain.get(loan_id, 0), FraudM()).declared_at != 0

    def decide(self, loan_id: int, by: str, decision: int, now: int) -> int:
        """RiskControl.decide; returns the money intercepted."""
        ln = self._risk_loan(loan_id)
        _require(by == ln.lender, "RiskNotLender")
        self._require_active(by)
        fraud = self._fraudulent(loan_id)
        c = self.control.setdefault(loan_id, ControlM())
        if decision == RECALL:
            _require(ln.status == LoanStatus.WARNED or (fraud and ln.status == LoanStatus.DISBURSED),
                     "RiskNotWarned")
            c.decision = RECALL
            assert ln.funds is not None
            before = ln.funds.returned
            self._recall(ln, now)
            return ln.funds.returned - before
        _require(decision == CONTINUE, "RiskBadDecision")
        _require(ln.status == LoanStatus.WARNED, "RiskNotWarned")
        _require(not fraud, "RiskChainFraudulent")
        self._continue(ln, c)
        return 0

    def _continue(self, ln: LoanM, c: ControlM) -> None:
        c.decision = CONTINUE
        ln.status, ln.warning_deadline = LoanStatus.DISBURSED, 0
        if c.frozen_for_warning:
            c.frozen_for_warning = False
            assert ln.funds is not None
            ln.funds.frozen = False

    def lapse(self, loan_id: int, now: int) -> None:
        """RiskControl.lapse (anyone) under the current lapse policy."""
        ln = self._risk_loan(loan_id)
        _require(ln.status == LoanStatus.WARNED, "RiskNotWarned")
        c = self.control.setdefault(loan_id, ControlM())
        _require(not c.lapsed, "RiskAlreadyLapsed")
        _require(now > ln.warning_deadline, "RiskDeadlineNotPassed")
        c.lapsed = True
        if self.lapse_policy == LAPSE_FREEZE:
            assert ln.funds is not None
            if not ln.funds.frozen:
                c.frozen_for_warning = True
                ln.funds.frozen = True
        elif self.lapse_policy == LAPSE_RECALL:
            self._recall(ln, now)
        else:
            self._continue(ln, c)

    def propose_fraud(self, chain_id: int, by: str, evidence: bytes, now: int) -> None:
        _require(by == self.operator, "AccessControlUnauthorizedAccount")
        _require(evidence != b"\x00" * 32, "RiskEmptyEvidence")
        # A chain evicted by the operator alone may still be found fraudulent, once.
        _require(chain_id in self.members.chain_core or chain_id in self.fraud, "RiskUnknownChain")
        _require(self.fraud.get(chain_id, FraudM()).declared_at == 0, "RiskChainFraudulent")
        # One proposal at a time, then a cool-down (RiskControl.PROPOSAL_COOLDOWN).
        if now < self.next_proposal_at.get(chain_id, 0):
            _require(now > self.investigated_until.get(chain_id, 0), "RiskProposalPending")
            _require(False, "RiskProposalCoolingDown")
        self.next_proposal_at[chain_id] = now + PROPOSAL_WINDOW + PROPOSAL_COOLDOWN
        f = self.fraud.setdefault(chain_id, FraudM())
        f.proposed_by, f.evidence = by, evidence
        # The chain is under investigation (nobody leaves it) until confirmed, withdrawn or expired.
        self.investigated_until[chain_id] = now + PROPOSAL_WINDOW

    def _live_chain(self, chain_id: int) -> None:
        _require(chain_id in self.members.chain_core or chain_id in self.fraud, "RiskUnknownChain")
        _require(self.fraud.get(chain_id, FraudM()).declared_at == 0, "RiskChainEvicted")

    def confirm_fraud(self, chain_id: int, by: str, evidence: bytes, now: int) -> None:
        _require(self.members.has(by, Role.AUDITOR), "RiskNotAuditor")
        f = self.fraud.get(chain_id)
        _require(f is not None and f.proposed_by != ZERO and f.declared_at == 0, "RiskNoProposal")
        assert f is not None
        _require(f.evidence == evidence, "RiskEvidenceMismatch")
        _require(by != f.proposed_by, "RiskSameSigner")
        _require(now <= self.investigated_until.get(chain_id, 0), "RiskProposalExpired")
        f.confirmed_by, f.declared_at = by, now
        # MemberRegistry.evictChain: every member of the chain reads as evicted
        gone = {who for who, c in self.members.chain_of.items() if c == chain_id}
        self.members = Members(
            roles={who: r for who, r in self.members.roles.items() if who not in gone},
            core_tier=self.members.core_tier - gone,
            chain_of=self.members.chain_of,
            chain_core={c: core for c, core in self.members.chain_core.items() if c != chain_id},
            controllers=self.members.controllers,
        )
        self._sweep_chain(chain_id, f, FIRST_SWEEP, now)

    def sweep_chain(self, chain_id: int, max_loans: int, now: int) -> None:
        _require(max_loans != 0, "RiskZeroBatch")
        f = self.fraud.get(chain_id)
        _require(f is not None and f.declared_at != 0, "RiskNotDeclared")
        assert f is not None
        _require(not f.sweep_done, "RiskSweepDone")
        self._sweep_chain(chain_id, f, max_loans, now)

    def chain_loans(self, chain_id: int) -> list[int]:
        return [lid for lid, c in self.loan_chain.items() if c == chain_id]

    def _sweep_chain(self, chain_id: int, f: FraudM, max_loans: int, now: int) -> None:
        loans = self.chain_loans(chain_id)
        end = min(f.swept + max_loans, len(loans))
        for loan_id in loans[f.swept:end]:
            ln = self.loans[loan_id]
            running = ln.status in (LoanStatus.DISBURSED, LoanStatus.WARNED)
            if not running and ln.status not in (LoanStatus.RECALLED, LoanStatus.DEFAULTED):
                continue
            frozen = 0
            if running:
                assert ln.funds is not None
                frozen = ln.funds.unspent
                ln.funds.frozen = True
            e = self.exposure.setdefault((chain_id, ln.lender), [0, 0, 0])
            e[0] += 1
            e[1] += ln.outstanding(now)
            e[2] += frozen
        f.swept = end
        f.sweep_done = end == len(loans)

    def exposed_lenders(self, chain_id: int) -> list[str]:
        return [lender for (c, lender) in self.exposure if c == chain_id]

    # ------------------------------------------------------------------ invariants

    def violations(self) -> list[str]:
        """Every invariant of DESIGN.md section 4 that the modelled state breaks, in words."""
        found: list[str] = []
        for currency in self.currencies:
            held = sum(v for (c, _), v in self.balances.items() if c == currency)
            if held != self.supply[currency]:
                found.append(f"cash {currency}: balances sum to {held}, supply is {self.supply[currency]}")
            ft = self.balance(currency, self.fundtracker)
            if ft < self.tracked(currency):  # stray cash sent to the FundTracker is nobody's
                found.append(f"tracked {currency}: loans hold {self.tracked(currency)} unspent, the FundTracker {ft}")
            custody = sum(v for o, v in self.custody.items() if self.orders[o].currency == currency)
            committed = sum(ln.guarantee_held for ln in self.loans.values() if ln.currency == currency)
            lb = self.balance(currency, self.loanbook)
            if custody + committed != lb:
                found.append(f"LoanBook {currency}: holds {lb}, but settlements received and not passed on are "
                             f"{custody} and guarantees held {committed}")
        for ln in self.loans.values():
            # A guarantor never pays more than it committed, nor stays committed once the loan is over.
            if ln.guarantor_paid + ln.guarantee_held > (ln.principal if ln.guarantee_signed else 0):
                found.append(f"loan {ln.loan_id}: the guarantor paid {ln.guarantor_paid} and has "
                             f"{ln.guarantee_held} held, more than it committed")
            if ln.guarantee_held and ln.status not in (LoanStatus.APPLIED, LoanStatus.APPROVED, *RUNNING):
                found.append(f"loan {ln.loan_id}: {ln.guarantee_held} of its guarantee still held after it ended")
        for order_id, held in self.custody.items():
            if held < 0:
                found.append(f"order {order_id}: the LoanBook paid out {-held} more for it than its settlement "
                             f"brought in (money of other loans)")
        for (currency, lender), base in self.lender_base.items():
            lent = sum(ln.principal for ln in self.loans.values()
                       if ln.lender == lender and ln.currency == currency and ln.funds is not None)
            repaid = sum(ln.principal_repaid + ln.interest_paid for ln in self.loans.values()
                         if ln.lender == lender and ln.currency == currency)
            recovered = self.recovered.get((currency, lender), 0)
            paid_in = self.lender_repaid.get((currency, lender), 0)
            expected = base - lent + repaid + recovered - paid_in
            actual = self.balance(currency, lender)
            if actual != expected:
                found.append(f"lender {lender} {currency}: holds {actual}, but start {base} - lent {lent} + repaid "
                             f"{repaid} (principal + interest) + recovered settlements {recovered} - repayments it "
                             f"made itself {paid_in} = {expected}")
        for ln in self.loans.values():
            found.extend(self._loan_violations(ln))
        for a in self.assets.values():
            o = self.order(a.order_id)
            if (a.kind in (AssetKind.RECEIVABLE, AssetKind.PAYABLE) and a.locked_by
                    and o.status not in (OrderStatus.SETTLED, OrderStatus.CANCELLED) and o.amount - o.prepaid < a.value):
                found.append(f"pledged claim {a.asset_id}: locked to loan {a.locked_by} for {a.value}, but its debtor "
                             f"now owes only {o.amount - o.prepaid}: {o.prepaid} of order {o.order_id} was paid to "
                             f"the creditor directly, from loan money (FundTracker.spend -> recordPrepayment)")
            if a.locked_by == 0:
                if a.pledged_quantity:
                    found.append(f"asset {a.asset_id}: unlocked with {a.pledged_quantity} still pledged")
                continue
            ln = self.loans.get(a.locked_by)
            # A receipt born locked to a prepayment loan still holding the order's right (F-05).
            born = (ln is not None and a.kind == AssetKind.WAREHOUSE_RECEIPT
                    and self.goods_receipt.get(a.order_id) == a.asset_id
                    and self.assets[ln.asset_id].kind == AssetKind.FUTURE_GOODS
                    and self.assets[ln.asset_id].order_id == a.order_id)
            if ln is None or not self._may_hold_lock(ln) or (ln.asset_id != a.asset_id and not born):
                found.append(f"asset {a.asset_id}: locked by loan {a.locked_by}, which is "
                             f"{ln.status.name if ln else 'missing'} on asset {ln.asset_id if ln else '-'}")
            elif a.owner != ln.borrower:
                found.append(f"asset {a.asset_id}: pledged to loan {ln.loan_id} of {ln.borrower}, but owned by "
                             f"{a.owner}")
        holding: dict[int, int] = {}
        for ln in self.loans.values():
            a = self.assets[ln.asset_id]
            if ln.status in HOLDS_LOCK and a.status != AssetStatus.RETIRED:
                if ln.asset_id in holding:
                    found.append(f"asset {ln.asset_id}: backs loans {holding[ln.asset_id]} and {ln.loan_id} at once")
                holding[ln.asset_id] = ln.loan_id
                if a.locked_by != ln.loan_id:
                    found.append(f"loan {ln.loan_id} ({ln.status.name}): its asset {a.asset_id} is not locked to it "
                                 f"(locked by {a.locked_by})")
        return found

    def stuck(self, now: int) -> list[str]:
        """Open loans that can no longer be closed, whatever their parties do.

        Each is tried on a copy with money and allowances to spare: an approved loan is signed and
        disbursed, a running or defaulted one repaid in full, a defaulted one written off, a repaid
        claim awaiting its settlement collected.
        """
        found: list[str] = []
        plenty = 10**30
        for ln in self.loans.values():
            trials: list[tuple[str, object]] = []
            if ln.status == LoanStatus.APPROVED:
                # Disbursed, or else withdrawn by its lender (a borrower evicted since the approval
                # cannot receive loan money; the approval then only has to be undone).
                trials.append(("disbursed or withdrawn", lambda m, ln=ln: self._disburse_or_withdraw(m, ln, now)))
            if ln.status in RUNNING or ln.status == LoanStatus.DEFAULTED:
                trials.append(("repaid in full", lambda m, ln=ln: m.repay(ln.loan_id, ln.borrower, plenty, now)))
            if ln.status == LoanStatus.DEFAULTED:
                trials.append(("written off", lambda m, ln=ln: m.write_off(ln.loan_id, ln.lender)))
            kept = ln.guarantor_paid and ln.guarantor and not self.members.active(ln.guarantor)
            if (ln.status == LoanStatus.REPAID and self.assets[ln.asset_id].locked_by == ln.loan_id
                    and not (kept and self.order(self.assets[ln.asset_id].order_id).status != OrderStatus.SETTLED)):
                # (A claim's settlement, once paid here, is collected for the guarantor.)
                trials.append(("collected", lambda m, ln=ln: m.collect(ln.loan_id, now)))
            elif ln.status == LoanStatus.REPAID and kept and self.assets[ln.asset_id].locked_by == ln.loan_id:
                # Collateral kept for a subrogated guarantor that can hold no asset goes to a member it names.
                trials.append(("assigned", lambda m, ln=ln: m.assign_collateral(
                    ln.loan_id, ln.guarantor, next(iter(m.members.roles)))))
            for what, attempt in trials:
                trial = self.copy()
                for who in (ln.borrower, ln.lender, ln.guarantor or ln.borrower):
                    trial.balances[(ln.currency, who)] = plenty
                    trial.supply[ln.currency] += plenty
                    trial.allowances[(ln.currency, who)] = plenty
                try:
                    attempt(trial)  # type: ignore[operator]
                except Refused as refused:
                    order = self.order(self.assets[ln.asset_id].order_id if ln.mode in DEBTOR_SETTLED
                                       else ln.purpose_order_id)
                    found.append(f"stuck loan {ln.loan_id} ({ln.mode.name}, {ln.status.name}, order "
                                 f"{order.status.name}): it cannot be {what}: {refused.name}")
        return found

    @staticmethod
    def _disburse_or_withdraw(m: Model, ln: LoanM, now: int) -> None:
        trial = m.copy()
        try:
            if ln.guarantor and not ln.guarantee_signed:
                trial.sign_guarantee(ln.loan_id, ln.guarantor)
            trial.disburse(ln.loan_id, ln.lender, now)
        except Refused:
            try:
                m.reject(ln.loan_id, ln.lender)
            except Refused:  # an evicted lender: the borrower's exit (F-07)
                m.withdraw(ln.loan_id, ln.borrower, max(now, ln.expires_at + 1))

    def _may_hold_lock(self, ln: LoanM) -> bool:
        """Approved to Defaulted; or repaid while the debtor's payment of its claim awaits `collect`."""
        if ln.status in HOLDS_LOCK:
            return True
        if ln.status == LoanStatus.REPAID and ln.guarantor_paid and ln.guarantor and not self.members.active(ln.guarantor):
            return True  # kept locked for a subrogated guarantor that cannot hold assets
        if ln.mode not in DEBTOR_SETTLED or ln.settlement_collected:
            return False
        a = self.assets[ln.asset_id]
        o = self.order(a.order_id)
        if ln.status in (LoanStatus.REPAID, LoanStatus.REJECTED, LoanStatus.WITHDRAWN) and a.owner != o.seller \
                and not self.members.active(a.owner) and o.status != OrderStatus.CANCELLED:
            return True  # a creditor that cannot be paid: the settlement comes here and `collect` passes it on
        return ln.status == LoanStatus.REPAID and o.status == OrderStatus.SETTLED

    def _loan_violations(self, ln: LoanM) -> list[str]:
        found: list[str] = []
        owed = ln.owed()
        paid = ln.principal_repaid + ln.interest_paid
        if paid + owed + ln.written_off != ln.principal + ln.interest_accrued or owed < 0:
            found.append(f"loan {ln.loan_id}: repaid {paid} + outstanding {owed} + written off {ln.written_off} "
                         f"!= principal {ln.principal} + interest {ln.interest_accrued}")
        if ln.principal_repaid > ln.principal or ln.interest_paid > ln.interest_accrued:
            found.append(f"loan {ln.loan_id}: paid more than principal or interest")
        if ln.status in (LoanStatus.REPAID, LoanStatus.WRITTEN_OFF) and owed != 0:
            found.append(f"loan {ln.loan_id}: {ln.status.name} with {owed} still owed")
        if ln.status in RUNNING | {LoanStatus.DEFAULTED} and owed == 0:
            found.append(f"loan {ln.loan_id}: {ln.status.name} with nothing owed")
        f = ln.funds
        if f is not None:
            if f.unspent < 0 or f.spent != sum(f.paid.values()):
                found.append(f"loan {ln.loan_id}: money disbursed {f.disbursed} != spent {f.spent} + returned "
                             f"{f.returned} + released {f.released} + unspent {f.unspent}")
            if ln.status in (LoanStatus.REPAID, LoanStatus.WRITTEN_OFF) and f.unspent:
                found.append(f"loan {ln.loan_id}: {ln.status.name} with {f.unspent} still tracked")
        return found
