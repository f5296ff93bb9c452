"""FundTracker.freeze and unfreeze: the control mechanism stops and restarts a loan's spending."""

from __future__ import annotations

import pytest
from financing_support import CONTROLLER_ROLE, the_event
from harness import reverts


@pytest.fixture
def controlled(wfin):
    return wfin


def test_controller_freezes_a_loans_money(controlled):
    fin = controlled
    deal = fin.pledge()

    receipt = fin.platform.funds.as_(fin.p.monitor).freeze(deal.loan_id)

    assert fin.platform.funds.funds(deal.loan_id).frozen
    assert the_event(fin.platform.funds, receipt, "FundsFrozen") == {"loanId": deal.loan_id, "by": fin.p.monitor.address}


def test_unfrozen_money_can_be_spent_again(controlled):
    fin = controlled
    deal = fin.pledge()
    fin.platform.funds.as_(fin.p.monitor).freeze(deal.loan_id)

    receipt = fin.platform.funds.as_(fin.p.monitor).unfreeze(deal.loan_id)
    fin.platform.funds.as_(deal.borrower).spend(deal.loan_id, fin.p.supplier2.address, 1_00, "rubber")

    assert not fin.platform.funds.funds(deal.loan_id).frozen
    assert the_event(fin.platform.funds, receipt, "FundsUnfrozen") == {
        "loanId": deal.loan_id, "by": fin.p.monitor.address}


def test_frozen_money_is_still_handed_back_when_the_loan_is_repaid(controlled):
    fin = controlled
    deal = fin.pledge()
    fin.platform.funds.as_(fin.p.monitor).freeze(deal.loan_id)

    fin.repay(deal, 10**12)

    assert fin.platform.funds.whereabouts(deal.loan_id).released == deal.terms.principal


def test_freezing_refuses_a_caller_without_the_controller_role(fin):
    deal = fin.pledge()
    with reverts("AccessControlUnauthorizedAccount", account=fin.p.bank.address, neededRole=CONTROLLER_ROLE):
        fin.platform.funds.as_(fin.p.bank).freeze(deal.loan_id)


def test_freezing_refuses_money_frozen_already(controlled):
    fin = controlled
    deal = fin.pledge()
    fin.platform.funds.as_(fin.p.monitor).freeze(deal.loan_id)
    with reverts("FundsAreFrozen", loanId=deal.loan_id):
        fin.platform.funds.as_(fin.p.monitor).freeze(deal.loan_id)


def test_freezing_refuses_a_loan_without_tracked_money(controlled):
    deal = controlled.pledge(stage="approved")
    with reverts("FundsNotFound", loanId=deal.loan_id):
        controlled.platform.funds.as_(controlled.p.monitor).freeze(deal.loan_id)


def test_unfreezing_refuses_a_caller_without_the_controller_role(controlled):
    fin = controlled
    deal = fin.pledge()
    fin.platform.funds.as_(fin.p.monitor).freeze(deal.loan_id)
    with reverts("AccessControlUnauthorizedAccount", account=deal.borrower.address, neededRole=CONTROLLER_ROLE):
        fin.platform.funds.as_(deal.borrower).unfreeze(deal.loan_id)


def test_unfreezing_refuses_money_not_frozen(controlled):
    deal = controlled.pledge()
    with reverts("FundsNotFrozen", loanId=deal.loan_id):
        controlled.platform.funds.as_(controlled.p.monitor).unfreeze(deal.loan_id)


def test_unfreezing_refuses_a_loan_without_tracked_money(controlled):
    with reverts("FundsNotFound", loanId=31):
        controlled.platform.funds.as_(controlled.p.monitor).unfreeze(31)
