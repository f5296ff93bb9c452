"""LoanBook.writeOff: after a default (which already took back the loan money not yet spent, counted
as repayment), the lender writes off the rest of the debt and takes the collateral."""

from __future__ import annotations

from financing_support import DAY, Terms, b32, the_event
from harness import reverts

from vscm.client.records import LoanStatus

ZERO_RATE = Terms(200_000_00, 0, 30 * DAY, 6_000)
#: a receivable loan at no interest, without a guarantor
UNGUARANTEED = Terms(150_000_00, 0, 30 * DAY, 9_000)
#: a pledge of 100,000.00 at 7 %: once the principal is spent, the guarantor's commitment (the principal)
#: leaves the interest unpaid and the loan defaulted
INTEREST_LEFT = Terms(100_000_00, 700, 30 * DAY, 6_000)


def defaulted(fin, deal):
    fin.to_default(deal)
    fin.platform.loans.as_(deal.lender).mark_default(deal.loan_id)
    assert fin.state(deal.loan_id).status == LoanStatus.DEFAULTED
    return deal


def test_default_of_a_loan_whose_money_was_never_spent_just_takes_it_back(fin):
    p = fin.p
    deal = fin.pledge(terms=ZERO_RATE)
    fin.to_default(deal)
    bank_before = fin.cash(p.bank)

    fin.platform.loans.as_(p.bank).mark_default(deal.loan_id)

    loan = fin.state(deal.loan_id)
    assert fin.cash(p.bank) == bank_before + 200_000_00
    assert (loan.status, loan.written_off) == (LoanStatus.REPAID, 0)   # the returned money covered it all
    assert fin.asset(deal.asset_id).owner == p.supplier.address       # and the goods stay the borrower's


def test_write_off_writes_off_only_what_the_returned_money_left(fin):
    p = fin.p
    deal = fin.receivable_loan(terms=UNGUARANTEED)
    fin.platform.funds.as_(p.supplier2).spend(deal.loan_id, p.supplier.address, 60_000_00, "goods")
    fin.to_default(deal)
    bank_before, supplier_before = fin.cash(p.bank), fin.cash(p.supplier)
    default = fin.platform.loans.as_(p.bank).mark_default(deal.loan_id)

    receipt = fin.platform.loans.as_(p.bank).write_off(deal.loan_id)

    loan = fin.state(deal.loan_id)
    assert (loan.status, loan.principal_repaid, loan.written_off) == (LoanStatus.WRITTEN_OFF, 90_000_00, 60_000_00)
    assert fin.cash(p.bank) == bank_before + 90_000_00
    assert fin.cash(p.supplier) == supplier_before  # money spent stays spent
    assert the_event(fin.platform.loans, receipt, "LoanWrittenOff") == {"loanId": deal.loan_id, "amount": 60_000_00}
    assert the_event(fin.platform.funds, default, "FundsRevoked")["amount"] == 90_000_00
    assert loan.outstanding_now == 0


def test_write_off_hands_the_pledged_goods_to_the_lender_unlocked(fin):
    # The lender's unpaid remainder ranks ahead of the guarantor that paid its commitment (a guarantor
    # steps into the claim only once the lender is paid in full).
    p = fin.p
    deal = fin.pledge(terms=INTEREST_LEFT)
    fin.platform.funds.as_(p.supplier).spend(deal.loan_id, p.supplier2.address, 100_000_00, "rubber")
    defaulted(fin, deal)
    assert fin.state(deal.loan_id).guarantor_paid == 100_000_00

    receipt = fin.platform.loans.as_(p.bank).write_off(deal.loan_id)

    asset = fin.asset(deal.asset_id)
    assert (asset.owner, asset.locked_by, asset.pledged_quantity) == (p.bank.address, 0, 0)
    assert the_event(fin.platform.assets, receipt, "AssetSeized") == {
        "assetId": deal.asset_id, "loanId": deal.loan_id, "to": p.bank.address}


def test_write_off_of_a_receivable_hands_the_claim_and_its_settlement_to_the_lender(fin):
    p = fin.p
    deal = fin.receivable_loan()
    fin.platform.funds.as_(p.supplier2).spend(deal.loan_id, p.supplier.address, 60_000_00, "goods")
    defaulted(fin, deal)
    fin.platform.loans.as_(p.bank).write_off(deal.loan_id)
    bank_before = fin.cash(p.bank)

    fin.platform.orders.as_(p.core).settle(deal.asset_order_id)

    assert fin.asset(deal.asset_id).owner == p.bank.address
    assert fin.platform.orders.order(deal.asset_order_id).payee == p.bank.address
    assert fin.cash(p.bank) == bank_before + 180_000_00


def test_default_when_the_unspent_money_exceeds_the_debt_returns_only_the_debt(fin):
    # Bug fixed: all the unspent money went to the lender although only part of it was owed.
    p = fin.p
    deal = fin.pledge(terms=ZERO_RATE)
    fin.repay(deal, 150_000_00)
    fin.to_default(deal)
    bank_before, supplier_before = fin.cash(p.bank), fin.cash(p.supplier)

    fin.platform.loans.as_(p.bank).mark_default(deal.loan_id)

    assert fin.cash(p.bank) == bank_before + 50_000_00
    assert fin.cash(p.supplier) == supplier_before + 150_000_00  # its own repayment, back
    where = fin.platform.funds.whereabouts(deal.loan_id)
    assert (where.returned, where.released, where.held) == (50_000_00, 150_000_00, 0)
    assert fin.state(deal.loan_id).status == LoanStatus.REPAID


def test_write_off_refuses_a_loan_not_defaulted(fin):
    deal = fin.pledge()
    fin.to_default(deal)
    with reverts("LoanWrongStatus", loanId=deal.loan_id, status=int(LoanStatus.DISBURSED)):
        fin.platform.loans.as_(fin.p.bank).write_off(deal.loan_id)


def test_write_off_refuses_anyone_but_the_lender(fin):
    deal = defaulted(fin, fin.receivable_loan())
    with reverts("LoanNotLender", loanId=deal.loan_id, caller=fin.p.core.address):
        fin.platform.loans.as_(fin.p.core).write_off(deal.loan_id)


def test_write_off_refuses_a_suspended_lender(fin):
    deal = defaulted(fin, fin.receivable_loan())
    fin.platform.members.as_(fin.p.operator).suspend(fin.p.bank.address, b32("review"))
    with reverts("MemberNotActive", member=fin.p.bank.address):
        fin.platform.loans.as_(fin.p.bank).write_off(deal.loan_id)


def test_written_off_loan_cannot_be_written_off_again(fin):
    deal = fin.receivable_loan(terms=UNGUARANTEED)
    fin.platform.funds.as_(deal.borrower).spend(deal.loan_id, fin.p.supplier.address, 60_000_00, "goods")
    defaulted(fin, deal)
    fin.platform.loans.as_(fin.p.bank).write_off(deal.loan_id)
    with reverts("LoanWrongStatus", loanId=deal.loan_id, status=int(LoanStatus.WRITTEN_OFF)):
        fin.platform.loans.as_(fin.p.bank).write_off(deal.loan_id)
