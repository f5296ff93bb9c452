"""LoanBook.markDefault: the lender declares a loan defaulted once it is past maturity plus the grace
period; the guarantor is charged first, as far as its allowance and balance go."""

from __future__ import annotations

from financing_support import DAY, GRACE, InterestModel, Terms, b32, block_time, call_as, emitted, the_event
from harness import reverts

from vscm.client.records import LoanStatus


def test_default_charges_the_guarantor_first_and_its_payment_closes_the_loan(fin):
    p = fin.p
    deal = fin.pledge(terms=Terms(40_000_00, 700, 30 * DAY, 5_000))
    fin.platform.funds.as_(p.supplier).spend(deal.loan_id, p.supplier2.address, 40_000_00, "rubber")
    fin.platform.cash("CNY").as_(p.core).approve(fin.platform.loans.address, 10**12)
    model = InterestModel(deal.terms.principal, deal.terms.rate_bps, fin.state(deal.loan_id).disbursed_at)
    fin.to_default(deal)
    before = fin.balances(p.core, p.bank, p.supplier)

    receipt = fin.platform.loans.as_(p.bank).mark_default(deal.loan_id)

    model.accrue(block_time(fin.w, receipt))
    owed = model.owed
    loan = fin.state(deal.loan_id)
    assert (loan.status, loan.guarantor_paid, loan.principal_repaid) == (LoanStatus.REPAID, owed, 40_000_00)
    assert loan.defaulted_at == block_time(fin.w, receipt)
    assert fin.balances(p.core, p.bank, p.supplier) == [before[0] - owed, before[1] + owed, before[2]]
    assert the_event(fin.platform.loans, receipt, "LoanDefaulted") == {"loanId": deal.loan_id, "outstanding": owed}
    assert the_event(fin.platform.loans, receipt, "GuaranteeCalled") == {
        "loanId": deal.loan_id, "guarantor": p.core.address, "amount": owed}
    assert fin.asset(deal.asset_id).locked_by == 0


def test_default_charges_the_guarantor_only_as_far_as_its_allowance_goes(fin):
    p = fin.p
    deal = fin.pledge(terms=Terms(200_000_00, 0, 30 * DAY, 6_000), quantity=500)
    fin.platform.cash("CNY").as_(p.core).approve(fin.platform.loans.address, 50_000_00)
    fin.to_default(deal)

    fin.platform.loans.as_(p.bank).mark_default(deal.loan_id)

    loan = fin.state(deal.loan_id)
    assert (loan.status, loan.guarantor_paid, loan.principal_repaid) == (LoanStatus.DEFAULTED, 50_000_00, 50_000_00)
    assert fin.asset(deal.asset_id).pledged_quantity == 375  # a quarter paid: a quarter of the goods released


def test_default_charges_the_guarantor_only_as_far_as_its_balance_goes(fin):
    p = fin.p
    deal = fin.pledge(terms=Terms(200_000_00, 0, 30 * DAY, 6_000))
    fin.platform.cash("CNY").as_(p.core).approve(fin.platform.loans.address, 10**12)
    keep = fin.cash(p.core) - 30_000_00
    fin.platform.cash("CNY").as_(p.core).transfer(p.seller.address, keep)
    fin.to_default(deal)

    fin.platform.loans.as_(p.bank).mark_default(deal.loan_id)

    assert fin.state(deal.loan_id).guarantor_paid == 30_000_00
    assert fin.cash(p.core) == 0


def test_default_without_a_guarantor_charges_no_one(fin):
    deal = fin.receivable_loan()
    fin.to_default(deal)

    receipt = fin.platform.loans.as_(fin.p.bank).mark_default(deal.loan_id)

    loan = fin.state(deal.loan_id)
    assert (loan.status, loan.guarantor_paid) == (LoanStatus.DEFAULTED, 0)
    assert emitted(fin.platform.loans, receipt, "GuaranteeCalled") == []


def test_defaulted_loan_stops_accruing_interest(fin):
    deal = fin.receivable_loan()
    fin.to_default(deal)
    fin.platform.loans.as_(fin.p.bank).mark_default(deal.loan_id)
    owed = fin.state(deal.loan_id).outstanding_now

    fin.chain.time_travel(30 * DAY)

    assert fin.state(deal.loan_id).outstanding_now == owed


def test_borrower_may_still_repay_a_defaulted_loan(fin):
    deal = fin.receivable_loan()
    fin.to_default(deal)
    fin.platform.loans.as_(fin.p.bank).mark_default(deal.loan_id)

    fin.repay(deal, 10**12)

    assert fin.state(deal.loan_id).status == LoanStatus.REPAID


def test_default_refuses_a_loan_at_the_end_of_its_grace_period(fin):
    deal = fin.pledge()
    maturity = fin.state(deal.loan_id).maturity
    fin.chain.time_travel(maturity + GRACE - fin.now() - 1)  # the next block is stamped at the boundary
    with reverts("LoanNotMature", loanId=deal.loan_id, defaultableAt=maturity + GRACE, nowTime=maturity + GRACE):
        call_as(fin.w, fin.p.bank, fin.platform.loans, "markDefault", deal.loan_id)


def test_default_refuses_a_loan_just_past_maturity(fin):
    deal = fin.pledge()
    maturity = fin.state(deal.loan_id).maturity
    fin.chain.time_travel(maturity - fin.now() + DAY)
    with reverts("LoanNotMature", loanId=deal.loan_id, defaultableAt=maturity + GRACE):
        fin.platform.loans.as_(fin.p.bank).mark_default(deal.loan_id)


def test_recalled_loan_can_be_defaulted_a_grace_period_after_the_recall(fin):
    deal = fin.pledge()
    fin.platform.funds.as_(deal.borrower).spend(deal.loan_id, fin.p.supplier2.address, 150_000_00, "rubber")
    fin.grant_controller(fin.p.monitor)
    fin.platform.loans.as_(fin.p.monitor).recall(deal.loan_id)
    fin.chain.time_travel(GRACE + 1)

    fin.platform.loans.as_(fin.p.bank).mark_default(deal.loan_id)

    assert fin.state(deal.loan_id).defaulted_at > 0


def test_default_refuses_anyone_but_the_lender(fin):
    deal = fin.pledge()
    fin.to_default(deal)
    with reverts("LoanNotLender", loanId=deal.loan_id, caller=fin.p.core.address):
        fin.platform.loans.as_(fin.p.core).mark_default(deal.loan_id)


def test_default_refuses_a_loan_not_disbursed(fin):
    deal = fin.pledge(stage="approved")
    with reverts("LoanWrongStatus", loanId=deal.loan_id, status=int(LoanStatus.APPROVED)):
        fin.platform.loans.as_(fin.p.bank).mark_default(deal.loan_id)


def test_default_refuses_a_loan_defaulted_already(fin):
    deal = fin.receivable_loan()
    fin.to_default(deal)
    fin.platform.loans.as_(fin.p.bank).mark_default(deal.loan_id)
    with reverts("LoanWrongStatus", loanId=deal.loan_id, status=int(LoanStatus.DEFAULTED)):
        fin.platform.loans.as_(fin.p.bank).mark_default(deal.loan_id)


def test_default_refuses_a_suspended_lender(fin):
    # Bug fixed: markDefault was the one lender action that skipped the activity check.
    deal = fin.receivable_loan()
    fin.to_default(deal)
    fin.platform.members.as_(fin.p.operator).suspend(fin.p.bank.address, b32("review"))
    with reverts("MemberNotActive", member=fin.p.bank.address):
        fin.platform.loans.as_(fin.p.bank).mark_default(deal.loan_id)


def test_guarantee_allowed_for_the_principal_only_leaves_as_much_owed_as_the_interest(fin):
    p = fin.p
    deal = fin.pledge(terms=Terms(40_000_00, 700, 30 * DAY, 5_000))  # signed with an allowance of 40,000.00
    fin.to_default(deal)

    fin.platform.loans.as_(p.bank).mark_default(deal.loan_id)

    loan = fin.state(deal.loan_id)
    assert (loan.status, loan.guarantor_paid) == (LoanStatus.DEFAULTED, 40_000_00)
    assert loan.interest_paid == loan.interest_accrued > 0  # the guarantor's money paid interest first
    assert loan.outstanding_now == 40_000_00 - loan.principal_repaid == loan.interest_accrued
