"""The four financing modes of the paper end to end, each step signed by its own party, with every
party's balance checked: pledge, receivable, prepayment and payable; a late loan whose guarantor pays;
a write-off that takes back the unspent money and seizes the goods.

Interest is checked to the wei against the reference in tests/financing_support.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from financing_support import DAY, GRACE, Fin, InterestModel, Terms, block_time, reverts

from vscm.client.records import AssetStatus, LoanMode, LoanStatus, OrderStatus


@pytest.fixture
def fin(fresh: Any) -> Fin:
    return Fin(fresh)


class Ledger:
    """Every party's CNY balance (and the platform contracts'), before and after."""

    def __init__(self, fin: Fin) -> None:
        self.fin = fin
        self.names = [name for name, _ in fin.p] + ["funds", "loans", "orders"]
        self.start = self.now()

    def address(self, name: str) -> str:
        if name in ("funds", "loans", "orders"):
            return str(getattr(self.fin.platform, name).address)
        return str(getattr(self.fin.p, name).address)

    def now(self) -> dict[str, int]:
        return {name: self.fin.cash(self.address(name)) for name in self.names}

    def changes(self) -> dict[str, int]:
        """Balance changes since the start, only where there are any."""
        end = self.now()
        return {name: end[name] - self.start[name] for name in self.names if end[name] != self.start[name]}

    def assert_conserved(self) -> None:
        """Every unit of CNY is held by someone we know: the total supply is the sum of the balances."""
        assert sum(self.now().values()) == self.fin.platform.cash("CNY").total_supply()


def test_pledge_loan_from_application_to_the_last_repayment(fin):
    p, loans, funds = fin.p, fin.platform.loans, fin.platform.funds
    fin.mint(p.bank, 200_000_00)
    fin.mint(p.supplier, 250_000_00)  # the supplier's own sales money, to repay with
    ledger = Ledger(fin)

    lot = fin.receipt(p.supplier, quantity=500, value=400_000_00)
    purpose = fin.order(p.supplier, p.supplier2, 150_000_00)
    loan_id = loans.as_(p.supplier).apply(LoanMode.PLEDGE, lot, p.bank.address, 200_000_00, 650, 90 * DAY,
                                          purpose, p.core.address).id
    loans.as_(p.core).sign_guarantee(loan_id)
    loans.as_(p.bank).approve(loan_id, 6_000, p.warehouse.address)
    assert (fin.asset(lot).locked_by, fin.asset(lot).pledged_quantity) == (loan_id, 500)
    loans.as_(p.bank).disburse(loan_id)
    model = InterestModel(200_000_00, 650, fin.state(loan_id).disbursed_at)

    funds.as_(p.supplier).spend(loan_id, p.supplier2.address, 150_000_00, "rubber")
    fin.advance(purpose, OrderStatus.SHIPPED)
    funds.as_(p.supplier).spend(loan_id, p.carrier.address, 6_000_00, "freight")
    fin.advance(purpose, OrderStatus.SETTLED)  # fully prepaid: settlement asks nothing more
    assert fin.platform.orders.order(purpose).due == 0

    fin.chain.time_travel(30 * DAY)
    receipt = loans.as_(p.supplier).repay(loan_id, 100_000_00)
    interest1, principal1 = model.pay(100_000_00, block_time(fin.w, receipt))
    assert fin.asset(lot).pledged_quantity == 500 - 500 * principal1 // 200_000_00
    assert 250 < fin.asset(lot).pledged_quantity < 500

    fin.chain.time_travel(30 * DAY)
    receipt = loans.as_(p.supplier).repay(loan_id, 200_000_00)  # more than is owed: takes only the rest
    interest2, principal2 = model.pay(200_000_00, block_time(fin.w, receipt))
    assert principal1 + principal2 == 200_000_00

    loan = fin.state(loan_id)
    interest = interest1 + interest2
    assert (loan.status, loan.interest_paid, loan.principal_repaid) == (LoanStatus.REPAID, interest, 200_000_00)
    assert (fin.asset(lot).locked_by, fin.asset(lot).pledged_quantity, fin.asset(lot).owner) == (
        0, 0, p.supplier.address)
    where = funds.whereabouts(loan_id)
    assert (where.held, where.released, where.paid) == (
        0, 44_000_00, {p.supplier2.address: 150_000_00, p.carrier.address: 6_000_00})
    assert ledger.changes() == {
        "bank": interest,
        "supplier": -(200_000_00 + interest) + 44_000_00,
        "supplier2": 150_000_00,
        "carrier": 6_000_00,
    }
    ledger.assert_conserved()


def test_receivable_loan_repaid_by_the_debtor_at_maturity(fin):
    p, loans = fin.p, fin.platform.loans
    fin.mint(p.bank, 150_000_00)
    ledger = Ledger(fin)

    sale = fin.order(p.core, p.supplier2, 180_000_00, OrderStatus.INVOICED)
    claim = fin.platform.assets.as_(p.supplier2).register_receivable(sale).id
    fin.platform.assets.as_(p.core).confirm_receivable(claim)
    purpose = fin.order(p.supplier2, p.supplier, 60_000_00)
    loan_id = loans.as_(p.supplier2).apply(LoanMode.RECEIVABLE, claim, p.bank.address, 150_000_00, 550, 30 * DAY,
                                           purpose).id
    loans.as_(p.bank).approve(loan_id, 9_000)
    assert fin.platform.orders.order(sale).payee == loans.address
    loans.as_(p.bank).disburse(loan_id)
    model = InterestModel(150_000_00, 550, fin.state(loan_id).disbursed_at)
    fin.platform.funds.as_(p.supplier2).spend(loan_id, p.supplier.address, 60_000_00, "steel wire")

    fin.chain.time_travel(30 * DAY)
    fin.platform.orders.as_(p.core).settle(sale)
    receipt = loans.as_(p.supplier2).collect(loan_id)

    interest, principal = model.pay(180_000_00, block_time(fin.w, receipt))
    assert principal == 150_000_00
    surplus = 180_000_00 - 150_000_00 - interest
    assert fin.state(loan_id).status == LoanStatus.REPAID
    assert fin.asset(claim).status == AssetStatus.RETIRED
    assert ledger.changes() == {
        "core": -180_000_00,
        "bank": interest,
        "supplier2": surplus + 90_000_00,   # the surplus, and its unspent loan money
        "supplier": 60_000_00,
    }
    ledger.assert_conserved()


def test_prepayment_loan_from_the_right_to_goods_to_the_released_stock(fin):
    p, loans = fin.p, fin.platform.loans
    fin.mint(p.bank, 200_000_00)
    ledger = Ledger(fin)

    vehicles = fin.order(p.seller, p.core, 250_000_00)
    right = fin.platform.assets.as_(p.seller).register_future_goods(vehicles).id
    loan_id = loans.as_(p.seller).apply(LoanMode.PREPAYMENT, right, p.bank.address, 200_000_00, 600, 60 * DAY).id
    loans.as_(p.bank).approve(loan_id, 8_000)
    loans.as_(p.bank).disburse(loan_id)          # paid straight to the maker
    model = InterestModel(200_000_00, 600, fin.state(loan_id).disbursed_at)
    assert fin.platform.orders.order(vehicles).prepaid == 200_000_00

    fin.advance(vehicles, OrderStatus.DELIVERED)
    stock = fin.receipt(p.seller, quantity=50, value=250_000_00, order_id=vehicles)
    loans.as_(p.bank).convert_collateral(loan_id, stock)
    assert fin.asset(right).status == AssetStatus.RETIRED
    assert (fin.asset(stock).locked_by, fin.asset(stock).pledged_quantity) == (loan_id, 50)
    fin.advance(vehicles, OrderStatus.SETTLED)   # the seller pays the remaining 50,000.00

    fin.chain.time_travel(20 * DAY)
    receipt = loans.as_(p.seller).repay(loan_id, 120_000_00)
    interest1, principal1 = model.pay(120_000_00, block_time(fin.w, receipt))
    assert fin.asset(stock).pledged_quantity == 50 - 50 * principal1 // 200_000_00
    fin.chain.time_travel(30 * DAY)
    receipt = loans.as_(p.seller).repay(loan_id, 100_000_00)
    interest2, principal2 = model.pay(100_000_00, block_time(fin.w, receipt))

    assert principal1 + principal2 == 200_000_00
    assert fin.state(loan_id).status == LoanStatus.REPAID
    assert (fin.asset(stock).locked_by, fin.asset(stock).pledged_quantity) == (0, 0)
    interest = interest1 + interest2
    assert ledger.changes() == {
        "core": 250_000_00,
        "seller": -50_000_00 - 200_000_00 - interest,
        "bank": interest,
    }
    ledger.assert_conserved()


def test_payable_loan_repaid_by_the_core_enterprise_at_maturity(fin):
    p, loans = fin.p, fin.platform.loans
    fin.mint(p.bank, 85_000_00)
    ledger = Ledger(fin)

    parts = fin.order(p.core, p.supplier, 90_000_00, OrderStatus.INVOICED)
    payable = fin.platform.assets.as_(p.core).register_payable(parts).id
    assert fin.asset(payable).owner == p.supplier.address
    purpose = fin.order(p.supplier, p.supplier2, 30_000_00)
    loan_id = loans.as_(p.supplier).apply(LoanMode.PAYABLE, payable, p.bank.address, 85_000_00, 500, 30 * DAY,
                                          purpose).id
    loans.as_(p.bank).approve(loan_id, 9_500)
    loans.as_(p.bank).disburse(loan_id)
    model = InterestModel(85_000_00, 500, fin.state(loan_id).disbursed_at)
    fin.platform.funds.as_(p.supplier).spend(loan_id, p.supplier2.address, 30_000_00, "seals")

    fin.chain.time_travel(30 * DAY)
    fin.platform.orders.as_(p.core).settle(parts)
    receipt = loans.as_(p.outsider).collect(loan_id)

    interest, principal = model.pay(90_000_00, block_time(fin.w, receipt))
    assert principal == 85_000_00
    assert fin.asset(payable).status == AssetStatus.RETIRED
    assert ledger.changes() == {
        "core": -90_000_00,
        "bank": interest,
        "supplier": 90_000_00 - 85_000_00 - interest + 55_000_00,
        "supplier2": 30_000_00,
    }
    ledger.assert_conserved()


def test_late_pledge_loan_is_defaulted_and_paid_by_its_guarantor_which_takes_the_goods(fin):
    p, loans = fin.p, fin.platform.loans
    deal = fin.pledge(borrower=p.supplier2, terms=Terms(40_000_00, 700, 30 * DAY, 5_000), quantity=80,
                      value=100_000_00, purpose_order_id=fin.order(p.supplier2, p.supplier, 40_000_00))
    fin.platform.funds.as_(p.supplier2).spend(deal.loan_id, p.supplier.address, 38_000_00, "raw rubber")
    model = InterestModel(40_000_00, 700, fin.state(deal.loan_id).disbursed_at)
    ledger = Ledger(fin)  # the guarantor committed the principal when it signed

    maturity = fin.state(deal.loan_id).maturity
    fin.chain.time_travel(maturity + GRACE - fin.now() - 1)
    with reverts("LoanNotMature", loanId=deal.loan_id, defaultableAt=maturity + GRACE):
        loans.as_(p.bank).mark_default(deal.loan_id)
    fin.chain.time_travel(1)
    receipt = loans.as_(p.bank).mark_default(deal.loan_id)

    model.pay(2_000_00, block_time(fin.w, receipt))  # the unspent money comes back first
    owed = model.owed
    loan = fin.state(deal.loan_id)
    assert (loan.status, loan.guarantor_paid, loan.interest_paid) == (LoanStatus.REPAID, owed, model.interest_accrued)
    assert loan.defaulted_at == block_time(fin.w, receipt)
    # The guarantor stepped into the lender's claim: the goods are its security, not the borrower's.
    assert (fin.asset(deal.asset_id).locked_by, fin.asset(deal.asset_id).owner) == (0, p.core.address)
    # Charged `owed` out of its 40,000.00 commitment, the guarantor got the rest back.
    changes = ledger.changes()
    assert (changes["core"], changes["bank"]) == (40_000_00 - owed, 2_000_00 + owed)


def test_written_off_pledge_loan_takes_the_guarantee_and_hands_the_goods_to_the_lender(fin):
    # The guarantor's commitment (the principal) pays what it can at the default; the interest left is
    # written off and the lender, still unpaid, takes the goods.
    p, loans = fin.p, fin.platform.loans
    deal = fin.pledge(terms=Terms(100_000_00, 650, 90 * DAY, 6_000))
    fin.platform.funds.as_(p.supplier).spend(deal.loan_id, p.supplier2.address, 100_000_00, "rubber")
    model = InterestModel(100_000_00, 650, fin.state(deal.loan_id).disbursed_at)
    ledger = Ledger(fin)

    fin.to_default(deal)
    receipt = loans.as_(p.bank).mark_default(deal.loan_id)
    model.pay(100_000_00, block_time(fin.w, receipt))  # the guarantee pays interest first
    assert fin.state(deal.loan_id).status == LoanStatus.DEFAULTED
    loans.as_(p.bank).write_off(deal.loan_id)

    loan = fin.state(deal.loan_id)
    assert (loan.status, loan.guarantor_paid, loan.guarantee_held) == (LoanStatus.WRITTEN_OFF, 100_000_00, 0)
    assert loan.written_off == model.owed == model.interest_accrued
    asset = fin.asset(deal.asset_id)
    assert (asset.owner, asset.locked_by, asset.status) == (p.bank.address, 0, AssetStatus.CONFIRMED)
    assert ledger.changes()["bank"] == 100_000_00
    ledger.assert_conserved()
