"""LoanBook.warn and clearWarning: the control mechanism puts a running loan under a warning with a
decision deadline; the lender may let it run on."""

from __future__ import annotations

import pytest
from financing_support import CONTROLLER_ROLE, DAY, InterestModel, block_time, the_event
from harness import reverts

from vscm.client.records import LoanStatus


@pytest.fixture
def controlled(wfin):
    return wfin


def test_controller_warns_a_running_loan_with_a_deadline(controlled):
    fin = controlled
    deal = fin.pledge()
    deadline = fin.now() + 3 * DAY

    receipt = fin.platform.loans.as_(fin.p.monitor).warn(deal.loan_id, deadline)

    loan = fin.state(deal.loan_id)
    assert (loan.status, loan.warning_deadline) == (LoanStatus.WARNED, deadline)
    assert the_event(fin.platform.loans, receipt, "LoanWarned") == {"loanId": deal.loan_id, "deadline": deadline}


def test_warning_books_the_interest_accrued_so_far(controlled):
    fin = controlled
    deal = fin.pledge()
    model = InterestModel(deal.terms.principal, deal.terms.rate_bps, fin.state(deal.loan_id).disbursed_at)
    fin.chain.time_travel(20 * DAY)

    receipt = fin.platform.loans.as_(fin.p.monitor).warn(deal.loan_id, fin.now() + DAY)

    model.accrue(block_time(fin.w, receipt))
    assert fin.state(deal.loan_id).interest_accrued == model.interest_accrued > 0


def test_warned_loan_keeps_running_and_can_be_repaid(controlled):
    fin = controlled
    deal = fin.pledge()
    fin.platform.loans.as_(fin.p.monitor).warn(deal.loan_id, fin.now() + DAY)

    fin.repay(deal, 10**12)

    assert fin.state(deal.loan_id).status == LoanStatus.REPAID


def test_warning_refuses_a_caller_without_the_controller_role(fin):
    deal = fin.pledge()
    with reverts("AccessControlUnauthorizedAccount", account=fin.p.bank.address, neededRole=CONTROLLER_ROLE):
        fin.platform.loans.as_(fin.p.bank).warn(deal.loan_id, fin.now() + DAY)


def test_warning_refuses_a_loan_not_disbursed(controlled):
    deal = controlled.pledge(stage="approved")
    with reverts("LoanWrongStatus", loanId=deal.loan_id, status=int(LoanStatus.APPROVED)):
        controlled.platform.loans.as_(controlled.p.monitor).warn(deal.loan_id, controlled.now() + DAY)


def test_warning_refuses_a_loan_warned_already(controlled):
    fin = controlled
    deal = fin.pledge()
    fin.platform.loans.as_(fin.p.monitor).warn(deal.loan_id, fin.now() + DAY)
    with reverts("LoanWrongStatus", loanId=deal.loan_id, status=int(LoanStatus.WARNED)):
        fin.platform.loans.as_(fin.p.monitor).warn(deal.loan_id, fin.now() + DAY)


def test_warning_refuses_an_unknown_loan(controlled):
    with reverts("LoanNotFound", loanId=3):
        controlled.platform.loans.as_(controlled.p.monitor).warn(3, controlled.now() + DAY)


def test_clearing_a_warning_lets_the_loan_run_on(controlled):
    fin = controlled
    deal = fin.pledge()
    fin.platform.loans.as_(fin.p.monitor).warn(deal.loan_id, fin.now() + DAY)

    receipt = fin.platform.loans.as_(fin.p.monitor).clear_warning(deal.loan_id)

    loan = fin.state(deal.loan_id)
    assert (loan.status, loan.warning_deadline) == (LoanStatus.DISBURSED, 0)
    assert the_event(fin.platform.loans, receipt, "WarningCleared") == {"loanId": deal.loan_id}


def test_clearing_refuses_a_caller_without_the_controller_role(controlled):
    fin = controlled
    deal = fin.pledge()
    fin.platform.loans.as_(fin.p.monitor).warn(deal.loan_id, fin.now() + DAY)
    with reverts("AccessControlUnauthorizedAccount", account=fin.p.bank.address, neededRole=CONTROLLER_ROLE):
        fin.platform.loans.as_(fin.p.bank).clear_warning(deal.loan_id)


def test_clearing_refuses_a_loan_not_warned(controlled):
    deal = controlled.pledge()
    with reverts("LoanWrongStatus", loanId=deal.loan_id, status=int(LoanStatus.DISBURSED)):
        controlled.platform.loans.as_(controlled.p.monitor).clear_warning(deal.loan_id)
