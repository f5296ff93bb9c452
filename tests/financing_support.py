"""Helpers shared by the financing tests: a `Fin` builder of assets and loans in every mode, events
of a receipt, and a pure-Python reference of the LoanBook's interest and repayment rules.

Importable as `financing_support` (pytest puts `tests/` on sys.path for tests/conftest.py). Kept out of
conftest.py so that it is imported by name; `reverts` and `World` come from tests/conftest.py loaded by
path, since `from harness import ...` gets whichever conftest module pytest loaded last.

    fin = Fin(fresh)
    deal = fin.pledge()                       # a disbursed pledge loan with the default terms
    deal = fin.receivable(stage="applied")    # or stopped after the application
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from harness import World, b32, emitted, make_parties, populate, reverts, the_event

from vscm.client.records import AssetKind, LoanMode, OrderStatus

__all__ = [
    "BPS", "CONTROLLER_ROLE", "DAY", "DEFAULT_TERMS", "GRACE", "LOANBOOK_ROLE", "LOCKER_ROLE", "YEAR",
    "ZERO_ADDRESS", "Deal", "Fin", "InterestModel", "Terms", "World", "b32", "block_time", "call_as",
    "emitted", "make_parties", "populate", "reverts", "the_event",
]

DAY = 24 * 3600
YEAR = 365 * DAY
BPS = 10_000
GRACE = 7 * DAY
ZERO_ADDRESS = "0x" + "00" * 20

#: AccessControl roles, computed here rather than read from the contracts so that a renamed role fails.
CONTROLLER_ROLE = keccak(text="CONTROLLER_ROLE")
LOCKER_ROLE = keccak(text="LOCKER_ROLE")
LOANBOOK_ROLE = keccak(text="LOANBOOK_ROLE")
WIRING_ROLE = keccak(text="WIRING_ROLE")






def call_as(world: Any, account: LocalAccount, facade: Any, fn: str, *args: Any) -> Any:
    """Send `facade.contract.functions.fn(*args)` signed by `account`, bypassing the facade's helpers
    (no allowance set up, functions the facade does not wrap such as `lock`); like a facade write, it
    becomes the platform's `last_receipt`."""
    receipt = world.chain.sender.transact(account, getattr(facade.contract.functions, fn)(*args))
    world.platform.last_receipt = receipt
    return receipt


# ---------------------------------------------------------------------------------------------- terms


@dataclass(frozen=True)
class Terms:
    """A loan's terms: what the borrower asks and the LTV the lender grants."""

    principal: int
    rate_bps: int
    term: int
    ltv_bps: int


#: The default terms of each mode (the demo's numbers): each fits within its asset's value.
DEFAULT_TERMS = {
    LoanMode.PLEDGE: Terms(200_000_00, 650, 90 * DAY, 6_000),        # receipt worth 400,000.00
    LoanMode.RECEIVABLE: Terms(150_000_00, 550, 30 * DAY, 9_000),    # invoice of 180,000.00
    LoanMode.PREPAYMENT: Terms(200_000_00, 600, 60 * DAY, 8_000),    # order of 250,000.00
    LoanMode.PAYABLE: Terms(85_000_00, 500, 30 * DAY, 9_500),        # invoice of 90,000.00
}


@dataclass
class Deal:
    """One loan and everything around it, by id."""

    mode: LoanMode
    loan_id: int
    asset_id: int
    #: the order behind the asset (the invoiced order, the prepaid order; 0 for a free-standing lot)
    asset_order_id: int
    #: the order the loan money is for (the same order for a prepayment)
    purpose_order_id: int
    borrower: LocalAccount
    lender: LocalAccount
    guarantor: LocalAccount | None
    terms: Terms
    #: for receivable/payable: the debtor who settles; for prepayment: the supplier paid; else None
    counterparty: LocalAccount | None = None
    extra: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------- builder


class Fin:
    """Builds financing situations on a `fresh` world, each step signed by its own party.

    Default casting (see tests/conftest.py for who is who):

    - pledge: the warehouse holds 500 t of coil worth 400,000.00 for the supplier, who borrows
      200,000.00 from the bank to buy 150,000.00 of rubber from supplier2; core guarantees;
    - receivable: supplier2's invoice of 180,000.00 on core backs 150,000.00 for a 60,000.00 order of
      supplier2 from supplier;
    - prepayment: the seller's right to 250,000.00 of vehicles ordered from core backs 200,000.00,
      paid to core;
    - payable: core's confirmed payable of 90,000.00 to the supplier backs 85,000.00 for a 30,000.00
      order of the supplier from supplier2.
    """

    def __init__(self, world: Any) -> None:
        self.w = world
        self.chain = world.chain
        self.platform = world.platform
        self.p = world.p
        self._lots = 0
        self._deposits = 0

    # ---- small things

    def now(self) -> int:
        return int(self.w.now())

    def mint(self, who: LocalAccount | str, amount: int, code: str = "CNY") -> None:
        """The bank mints `amount` to `who` (a deposit)."""
        self._deposits += 1
        address = who if isinstance(who, str) else who.address
        self.platform.cash(code).as_(self.p.bank).mint(address, amount, b32(f"fin-deposit-{self._deposits}"))

    def cash(self, who: LocalAccount | str, code: str = "CNY") -> int:
        return self.platform.cash(code).balance(who if isinstance(who, str) else who.address)

    def balances(self, *who: LocalAccount | str, code: str = "CNY") -> list[int]:
        return [self.cash(a, code) for a in who]

    # ---- orders

    def order(self, buyer: LocalAccount, seller: LocalAccount, amount: int,
              to: OrderStatus = OrderStatus.ACCEPTED, currency: str = "CNY", due_in: int = 365 * DAY,
              chain_id: int | None = None) -> int:
        """A new order driven along the happy path up to `to` (carrier and warehouse of the world), placed in
        the buyer's chain `chain_id` (the world's chain unless given)."""
        orders = self.platform.orders
        chain = self.w.chain_id if chain_id is None else chain_id
        oid = int(orders.as_(buyer).place(seller.address, chain, currency, amount, self.now() + due_in).id)
        steps = (
            (OrderStatus.ACCEPTED, lambda: orders.as_(seller).accept(oid)),
            (OrderStatus.SHIPPED, lambda: orders.as_(seller).ship(oid, self.p.carrier.address,
                                                                   self.p.warehouse.address)),
            (OrderStatus.DELIVERED, lambda: orders.as_(self.p.warehouse).deliver(oid)),
            (OrderStatus.INVOICED, lambda: orders.as_(seller).invoice(oid, f"INV-{oid:06d}", b32(f"inv-{oid}"))),
            (OrderStatus.SETTLED, lambda: orders.as_(buyer).settle(oid)),
        )
        for status, step in steps:
            if status > to:
                break
            step()
        return oid

    def advance(self, order_id: int, to: OrderStatus) -> None:
        """Move an existing order along the happy path up to `to`."""
        orders, p = self.platform.orders, self.p
        o = orders.order(order_id, with_documents=False)
        by = {a.address: a for _, a in p}
        buyer, seller = by[o.buyer], by[o.seller]
        steps = (
            (OrderStatus.ACCEPTED, lambda: orders.as_(seller).accept(order_id)),
            (OrderStatus.SHIPPED, lambda: orders.as_(seller).ship(order_id, p.carrier.address, p.warehouse.address)),
            (OrderStatus.DELIVERED, lambda: orders.as_(p.warehouse).deliver(order_id)),
            (OrderStatus.INVOICED, lambda: orders.as_(seller).invoice(order_id, f"INV-{order_id:06d}",
                                                                       b32(f"inv-{order_id}"))),
            (OrderStatus.SETTLED, lambda: orders.as_(buyer).settle(order_id)),
        )
        for status, step in steps:
            if o.status < status <= to:
                step()

    # ---- assets

    def receipt(self, owner: LocalAccount | None = None, quantity: int = 500, value: int = 400_000_00,
                order_id: int = 0, lot: str | None = None, currency: str = "CNY",
                warehouse: LocalAccount | None = None) -> int:
        """The warehouse issues a receipt for a lot it holds for `owner` (default: the supplier)."""
        self._lots += 1
        return int(self.platform.assets.as_(warehouse or self.p.warehouse).register_receipt(
            (owner or self.p.supplier).address, lot or f"LOT-{self._lots:04d}", quantity, "t", currency, value,
            b32(f"lot-{self._lots}"), order_id=order_id).id)

    def receivable(self, creditor: LocalAccount | None = None, debtor: LocalAccount | None = None,
                   amount: int = 180_000_00, confirm: bool = True) -> tuple[int, int]:
        """An invoiced order of `debtor` (core) from `creditor` (supplier2), registered as a receivable
        (and confirmed by the debtor); returns (asset id, order id)."""
        creditor, debtor = creditor or self.p.supplier2, debtor or self.p.core
        oid = self.order(debtor, creditor, amount, OrderStatus.INVOICED)
        asset = int(self.platform.assets.as_(creditor).register_receivable(oid).id)
        if confirm:
            self.platform.assets.as_(debtor).confirm_receivable(asset)
        return asset, oid

    def payable(self, supplier: LocalAccount | None = None, core: LocalAccount | None = None,
                amount: int = 90_000_00) -> tuple[int, int]:
        """An invoiced order of `core` from `supplier` (supplier), registered by core as its payable;
        returns (asset id, order id)."""
        supplier, core = supplier or self.p.supplier, core or self.p.core
        oid = self.order(core, supplier, amount, OrderStatus.INVOICED)
        return int(self.platform.assets.as_(core).register_payable(oid).id), oid

    def future_goods(self, buyer: LocalAccount | None = None, seller: LocalAccount | None = None,
                     amount: int = 250_000_00) -> tuple[int, int]:
        """An accepted order of `buyer` (seller) from `seller` (core), its right to the goods
        registered by the buyer; returns (asset id, order id)."""
        buyer, seller = buyer or self.p.seller, seller or self.p.core
        oid = self.order(buyer, seller, amount, OrderStatus.ACCEPTED)
        return int(self.platform.assets.as_(buyer).register_future_goods(oid).id), oid

    # ---- loans

    def apply(self, mode: LoanMode, asset_id: int, borrower: LocalAccount, terms: Terms,
              purpose_order_id: int = 0, lender: LocalAccount | None = None,
              guarantor: LocalAccount | None = None) -> int:
        return int(self.platform.loans.as_(borrower).apply(
            mode, asset_id, (lender or self.p.bank).address, terms.principal, terms.rate_bps, terms.term,
            purpose_order_id, guarantor.address if guarantor else None).id)

    def disburse(self, deal: Deal) -> Any:
        """The lender gets the principal minted (it holds no cash otherwise), allows the LoanBook to take
        it and disburses (what `LoansFacade.disburse` does, without its reads)."""
        self.mint(deal.lender, deal.terms.principal)
        self.platform.cash("CNY").as_(deal.lender).approve(self.platform.loans.address, deal.terms.principal)
        return call_as(self.w, deal.lender, self.platform.loans, "disburse", deal.loan_id)

    def sign(self, deal: Deal) -> Any:
        """The guarantor allows the LoanBook the principal and signs (`LoansFacade.sign_guarantee`): the
        LoanBook takes the principal as its commitment (a guarantor short of it gets the rest minted)."""
        assert deal.guarantor is not None
        short = deal.terms.principal - self.cash(deal.guarantor)
        if short > 0:
            self.mint(deal.guarantor, short)
        cash = self.platform.cash("CNY").as_(deal.guarantor)
        if cash.allowance(deal.guarantor.address, self.platform.loans.address) < deal.terms.principal:
            cash.approve(self.platform.loans.address, deal.terms.principal)
        return call_as(self.w, deal.guarantor, self.platform.loans, "signGuarantee", deal.loan_id)

    def _finish(self, deal: Deal, stage: str, sign: bool, supervisor: str | None) -> Deal:
        assert stage in ("applied", "approved", "disbursed"), stage
        if sign and deal.guarantor is not None:
            self.sign(deal)
        if stage == "applied":
            return deal
        call_as(self.w, deal.lender, self.platform.loans, "approve", deal.loan_id, deal.terms.ltv_bps,
                supervisor or ZERO_ADDRESS)
        if stage == "disbursed":
            self.disburse(deal)
        return deal

    def pledge(self, stage: str = "disbursed", terms: Terms | None = None, borrower: LocalAccount | None = None,
               lender: LocalAccount | None = None, guarantor: LocalAccount | None = None, sign: bool = True,
               asset_id: int | None = None, purpose_order_id: int | None = None, quantity: int = 500,
               value: int = 400_000_00) -> Deal:
        p = self.p
        terms = terms or DEFAULT_TERMS[LoanMode.PLEDGE]
        borrower, lender, guarantor = borrower or p.supplier, lender or p.bank, guarantor or p.core
        if asset_id is None:
            asset_id = self.receipt(borrower, quantity=quantity, value=value)
        if purpose_order_id is None:
            seller = p.supplier2 if borrower.address != p.supplier2.address else p.supplier
            purpose_order_id = self.order(borrower, seller, 150_000_00)
        loan_id = self.apply(LoanMode.PLEDGE, asset_id, borrower, terms, purpose_order_id, lender, guarantor)
        deal = Deal(LoanMode.PLEDGE, loan_id, asset_id, 0, purpose_order_id, borrower, lender, guarantor, terms)
        return self._finish(deal, stage, sign, p.warehouse.address)

    def receivable_loan(self, stage: str = "disbursed", terms: Terms | None = None,
                        lender: LocalAccount | None = None, guarantor: LocalAccount | None = None,
                        sign: bool = True, amount: int = 180_000_00) -> Deal:
        p = self.p
        terms = terms or DEFAULT_TERMS[LoanMode.RECEIVABLE]
        asset_id, oid = self.receivable(amount=amount)
        purpose = self.order(p.supplier2, p.supplier, 60_000_00)
        loan_id = self.apply(LoanMode.RECEIVABLE, asset_id, p.supplier2, terms, purpose, lender, guarantor)
        deal = Deal(LoanMode.RECEIVABLE, loan_id, asset_id, oid, purpose, p.supplier2, lender or p.bank, guarantor,
                    terms, counterparty=p.core)
        return self._finish(deal, stage, sign, None)

    def prepayment_loan(self, stage: str = "disbursed", terms: Terms | None = None,
                        lender: LocalAccount | None = None, guarantor: LocalAccount | None = None,
                        sign: bool = True, amount: int = 250_000_00) -> Deal:
        p = self.p
        terms = terms or DEFAULT_TERMS[LoanMode.PREPAYMENT]
        asset_id, oid = self.future_goods(amount=amount)
        loan_id = self.apply(LoanMode.PREPAYMENT, asset_id, p.seller, terms, 0, lender, guarantor)
        deal = Deal(LoanMode.PREPAYMENT, loan_id, asset_id, oid, oid, p.seller, lender or p.bank, guarantor, terms,
                    counterparty=p.core)
        return self._finish(deal, stage, sign, None)

    def payable_loan(self, stage: str = "disbursed", terms: Terms | None = None,
                     lender: LocalAccount | None = None, guarantor: LocalAccount | None = None,
                     sign: bool = True, amount: int = 90_000_00) -> Deal:
        p = self.p
        terms = terms or DEFAULT_TERMS[LoanMode.PAYABLE]
        asset_id, oid = self.payable(amount=amount)
        purpose = self.order(p.supplier, p.supplier2, 30_000_00)
        loan_id = self.apply(LoanMode.PAYABLE, asset_id, p.supplier, terms, purpose, lender, guarantor)
        deal = Deal(LoanMode.PAYABLE, loan_id, asset_id, oid, purpose, p.supplier, lender or p.bank, guarantor,
                    terms, counterparty=p.core)
        return self._finish(deal, stage, sign, None)

    def loan(self, mode: LoanMode, stage: str = "disbursed", **kwargs: Any) -> Deal:
        """A loan of any mode with its default casting."""
        return {
            LoanMode.PLEDGE: self.pledge,
            LoanMode.RECEIVABLE: self.receivable_loan,
            LoanMode.PREPAYMENT: self.prepayment_loan,
            LoanMode.PAYABLE: self.payable_loan,
        }[mode](stage=stage, **kwargs)

    def deliver_receipt(self, deal: Deal, quantity: int = 50, value: int = 250_000_00) -> int:
        """Prepayment: the supplier ships the prepaid order to the warehouse, which receives it and
        issues the buyer a receipt for the goods (of that order); returns the receipt id."""
        self.advance(deal.asset_order_id, OrderStatus.DELIVERED)
        return self.receipt(deal.borrower, quantity=quantity, value=value, order_id=deal.asset_order_id)

    def repay(self, deal: Deal, amount: int, payer: LocalAccount | None = None) -> Any:
        """`payer` (the borrower) gets `amount` minted and repays up to it."""
        payer = payer or deal.borrower
        self.mint(payer, amount)
        self.platform.cash("CNY").as_(payer).approve(self.platform.loans.address, amount)
        return call_as(self.w, payer, self.platform.loans, "repay", deal.loan_id, amount)

    def to_default(self, deal: Deal) -> int:
        """Travel past maturity + grace period; returns the new time."""
        loan = self.platform.loans.loan(deal.loan_id)
        return int(self.chain.time_travel(loan.maturity + GRACE - self.now() + 1))

    def asset(self, asset_id: int) -> Any:
        return self.platform.assets.asset(asset_id)

    def state(self, loan_id: int) -> Any:
        return self.platform.loans.loan(loan_id)

    def kind(self, asset_id: int) -> AssetKind:
        return self.asset(asset_id).kind


# ---------------------------------------------------------------------------------------------- reference


class InterestModel:
    """A pure-Python reference of one loan's interest and repayments, independent of the contract code.

    The rule (ILoanBook): simple interest accrues on the principal still outstanding at `rate_bps` a
    year of 365 days; it is booked (floor division by 10,000 x 365 days) whenever the loan is touched
    (a repayment, a warning, a recall, a default, a collection); a payment goes to booked interest
    first, then principal; it is capped at what is owed. The part below one unit is carried to the
    next booking, so booking often books as much as booking once.
    """

    def __init__(self, principal: int, rate_bps: int, start: int) -> None:
        self.principal = principal
        self.rate_bps = rate_bps
        self.last = start
        self.interest_accrued = 0
        self.interest_paid = 0
        self.principal_repaid = 0
        self.carry = 0  # interest below one unit not yet booked, in 1/(BPS x YEAR) of a unit

    @property
    def principal_left(self) -> int:
        return self.principal - self.principal_repaid

    @property
    def owed(self) -> int:
        """Owed as booked (without interest since the last accrual)."""
        return self.principal_left + self.interest_accrued - self.interest_paid

    def _scaled(self, at: int) -> int:
        seconds = max(at - self.last, 0)
        return self.carry + self.principal_left * self.rate_bps * seconds

    def pending(self, at: int) -> int:
        return self._scaled(at) // (BPS * YEAR)

    def accrue(self, at: int) -> int:
        amount, self.carry = divmod(self._scaled(at), BPS * YEAR)
        self.interest_accrued += amount
        self.last = max(self.last, at)
        return amount

    def outstanding(self, at: int) -> int:
        return self.owed + self.pending(at)

    def pay(self, amount: int, at: int) -> tuple[int, int]:
        """Accrue to `at`, then pay up to `amount`: returns (to interest, to principal)."""
        self.accrue(at)
        pay = min(amount, self.owed)
        due = self.interest_accrued - self.interest_paid
        to_interest = min(pay, due)
        to_principal = pay - to_interest
        self.interest_paid += to_interest
        self.principal_repaid += to_principal
        return to_interest, to_principal


def block_time(world: Any, receipt: Any) -> int:
    """The timestamp of the block that mined `receipt`."""
    return int(world.chain.w3.eth.get_block(receipt["blockNumber"])["timestamp"])
