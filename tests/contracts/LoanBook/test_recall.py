"""LoanBook.recall: the control mechanism makes a loan due now; the loan money not yet spent goes back
to the lender and counts as repayment; money already spent stays spent."""

from __future__ import annotations

import pytest
from financing_support import CONTROLLER_ROLE, DAY, InterestModel, Terms, block_time, call_as, the_event
from harness import reverts

from vscm.client.records import LoanStatus

ZERO_RATE = Terms(200_000_00, 0, 90 * DAY, 6_000)


@pytest.fixture
def controlled(wfin):
    return wfin


def test_recall_returns_exactly_the_unspent_money_to_the_lender(controlled):
    fin, p = controlled, controlled.p
    deal = fin.pledge(terms=ZERO_RATE)
    fin.platform.funds.as_(p.supplier).spend(deal.loan_id, p.supplier2.address, 120_000_00, "rubber")
    before = fin.balances(p.bank, p.supplier, p.supplier2, fin.platform.funds.address)

    receipt = fin.platform.loans.as_(p.monitor).recall(deal.loan_id)

    assert fin.balances(p.bank, p.supplier, p.supplier2, fin.platform.funds.address) == [
        before[0] + 80_000_00, before[1], before[2], before[3] - 80_000_00]
    assert the_event(fin.platform.loans, receipt, "LoanRecalled") == {"loanId": deal.loan_id, "intercepted": 80_000_00}
    where = fin.platform.funds.whereabouts(deal.loan_id)
    assert (where.held, where.returned, where.paid) == (0, 80_000_00, {p.supplier2.address: 120_000_00})


def test_recalled_money_counts_as_principal_repaid(controlled):
    fin, p = controlled, controlled.p
    deal = fin.pledge(terms=ZERO_RATE)
    fin.platform.funds.as_(p.supplier).spend(deal.loan_id, p.supplier2.address, 120_000_00, "rubber")

    fin.platform.loans.as_(p.monitor).recall(deal.loan_id)

    loan = fin.state(deal.loan_id)
    assert (loan.status, loan.principal_repaid, loan.outstanding_now) == (LoanStatus.RECALLED, 80_000_00, 120_000_00)


def test_recalled_money_pays_the_accrued_interest_first(controlled):
    fin, p = controlled, controlled.p
    deal = fin.pledge()
    fin.platform.funds.as_(p.supplier).spend(deal.loan_id, p.supplier2.address, 120_000_00, "rubber")
    model = InterestModel(deal.terms.principal, deal.terms.rate_bps, fin.state(deal.loan_id).disbursed_at)
    fin.chain.time_travel(30 * DAY)

    receipt = fin.platform.loans.as_(p.monitor).recall(deal.loan_id)

    interest, principal = model.pay(80_000_00, block_time(fin.w, receipt))
    loan = fin.state(deal.loan_id)
    assert interest > 0
    assert (loan.interest_paid, loan.principal_repaid) == (interest, principal)


def test_recall_releases_pledged_goods_in_step_with_the_returned_money(controlled):
    fin, p = controlled, controlled.p
    deal = fin.pledge(terms=ZERO_RATE, quantity=500)
    fin.platform.funds.as_(p.supplier).spend(deal.loan_id, p.supplier2.address, 150_000_00, "rubber")

    fin.platform.loans.as_(p.monitor).recall(deal.loan_id)

    assert fin.asset(deal.asset_id).pledged_quantity == 375


def test_recall_makes_the_loan_due_now(controlled):
    fin = controlled
    deal = fin.pledge()
    fin.platform.funds.as_(deal.borrower).spend(deal.loan_id, fin.p.supplier2.address, 150_000_00, "rubber")

    receipt = fin.platform.loans.as_(fin.p.monitor).recall(deal.loan_id)

    assert fin.state(deal.loan_id).maturity == block_time(fin.w, receipt)


def test_recalled_borrower_can_no_longer_spend_the_loan_money(controlled):
    fin = controlled
    deal = fin.pledge()
    fin.platform.loans.as_(fin.p.monitor).recall(deal.loan_id)
    with reverts("FundsInsufficient", loanId=deal.loan_id, requested=1_00, unspent=0):
        fin.platform.funds.as_(deal.borrower).spend(deal.loan_id, fin.p.supplier2.address, 1_00, "rubber")


def test_recalled_loan_is_repaid_by_the_borrower(controlled):
    fin = controlled
    deal = fin.pledge(terms=ZERO_RATE)
    fin.platform.funds.as_(deal.borrower).spend(deal.loan_id, fin.p.supplier2.address, 150_000_00, "rubber")
    fin.platform.loans.as_(fin.p.monitor).recall(deal.loan_id)

    fin.repay(deal, 150_000_00)

    assert fin.state(deal.loan_id).status == LoanStatus.REPAID
    assert fin.asset(deal.asset_id).locked_by == 0


def test_recall_of_a_loan_whose_money_was_never_spent_closes_it(controlled):
    fin = controlled
    deal = fin.pledge(terms=ZERO_RATE)

    fin.platform.loans.as_(fin.p.monitor).recall(deal.loan_id)

    assert fin.state(deal.loan_id).status == LoanStatus.REPAID
    assert fin.asset(deal.asset_id).locked_by == 0


def test_recall_when_the_unspent_money_exceeds_the_debt_returns_only_the_debt(controlled):
    # Bug fixed: the lender received every unspent unit although the borrower had repaid most of the
    # loan already, and the loan counted only what was still owed.
    fin, p = controlled, controlled.p
    deal = fin.pledge(terms=ZERO_RATE)
    fin.repay(deal, 150_000_00)
    before = fin.balances(p.bank, p.supplier)

    fin.platform.loans.as_(p.monitor).recall(deal.loan_id)

    assert fin.balances(p.bank, p.supplier) == [before[0] + 50_000_00, before[1] + 150_000_00]
    where = fin.platform.funds.whereabouts(deal.loan_id)
    assert (where.returned, where.released) == (50_000_00, 150_000_00)
    assert fin.state(deal.loan_id).status == LoanStatus.REPAID


def test_recall_of_a_warned_loan(controlled):
    fin = controlled
    deal = fin.pledge()
    fin.platform.funds.as_(deal.borrower).spend(deal.loan_id, fin.p.supplier2.address, 150_000_00, "rubber")
    fin.platform.loans.as_(fin.p.monitor).warn(deal.loan_id, fin.now() + DAY)

    fin.platform.loans.as_(fin.p.monitor).recall(deal.loan_id)

    loan = fin.state(deal.loan_id)
    assert (loan.status, loan.warning_deadline) == (LoanStatus.RECALLED, 0)


def test_recall_of_frozen_money_still_returns_it(controlled):
    fin = controlled
    deal = fin.pledge(terms=ZERO_RATE)
    fin.platform.funds.as_(deal.borrower).spend(deal.loan_id, fin.p.supplier2.address, 150_000_00, "rubber")
    fin.platform.funds.as_(fin.p.monitor).freeze(deal.loan_id)

    fin.platform.loans.as_(fin.p.monitor).recall(deal.loan_id)

    assert fin.platform.funds.whereabouts(deal.loan_id).returned == 50_000_00


def test_recall_refuses_a_caller_without_the_controller_role(fin):
    deal = fin.pledge()
    with reverts("AccessControlUnauthorizedAccount", account=fin.p.bank.address, neededRole=CONTROLLER_ROLE):
        call_as(fin.w, fin.p.bank, fin.platform.loans, "recall", deal.loan_id)


def test_recall_refuses_a_loan_not_disbursed(controlled):
    deal = controlled.pledge(stage="approved")
    with reverts("LoanWrongStatus", loanId=deal.loan_id, status=int(LoanStatus.APPROVED)):
        controlled.platform.loans.as_(controlled.p.monitor).recall(deal.loan_id)


def test_recall_refuses_a_loan_recalled_already(controlled):
    fin = controlled
    deal = fin.pledge()
    fin.platform.funds.as_(deal.borrower).spend(deal.loan_id, fin.p.supplier2.address, 150_000_00, "rubber")
    fin.platform.loans.as_(fin.p.monitor).recall(deal.loan_id)
    with reverts("LoanWrongStatus", loanId=deal.loan_id, status=int(LoanStatus.RECALLED)):
        fin.platform.loans.as_(fin.p.monitor).recall(deal.loan_id)


def test_recall_refuses_a_defaulted_loan(controlled):
    fin = controlled
    deal = fin.receivable_loan()
    fin.to_default(deal)
    fin.platform.loans.as_(fin.p.bank).mark_default(deal.loan_id)
    with reverts("LoanWrongStatus", loanId=deal.loan_id, status=int(LoanStatus.DEFAULTED)):
        fin.platform.loans.as_(fin.p.monitor).recall(deal.loan_id)
