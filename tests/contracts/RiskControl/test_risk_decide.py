"""RiskControl.decide and lapse: the lender continues or recalls; a deadline without a decision."""

from __future__ import annotations

import pytest
from financing_support import DAY, Terms, the_event
from harness import reverts
from risk_support import WINDOW, alert, spend

from vscm.client.records import Decision, LapsePolicy, LoanStatus

ZERO_RATE = Terms(200_000_00, 0, 90 * DAY, 6_000)


def books_balance(fin, deal):
    """Disbursed = spent + unspent + returned + released; repaid + outstanding = principal + interest."""
    funds = fin.platform.funds.funds(deal.loan_id)
    where = fin.platform.funds.whereabouts(deal.loan_id)
    assert where.total == funds.disbursed
    assert funds.disbursed == funds.spent + funds.unspent + funds.returned + funds.released
    loan = fin.state(deal.loan_id)
    interest = loan.interest_paid + fin.platform.loans.contract.functions.accruedInterest(deal.loan_id).call()
    assert loan.principal_repaid + loan.interest_paid + loan.outstanding_now == loan.principal + interest


def test_continue_clears_the_warning_and_tracking_goes_on(fin):
    deal = fin.pledge()
    alert(fin, deal.loan_id)

    fin.platform.risk.as_(deal.lender).decide(deal.loan_id, Decision.CONTINUE)

    assert the_event(fin.platform.risk, fin.platform.last_receipt, "LenderDecided") == {
        "loanId": deal.loan_id, "lender": deal.lender.address, "decision": Decision.CONTINUE, "intercepted": 0}
    loan = fin.state(deal.loan_id)
    assert (loan.status, loan.warning_deadline) == (LoanStatus.DISBURSED, 0)
    assert fin.platform.risk.control(deal.loan_id).decision == Decision.CONTINUE
    spend(fin, deal, 50_000_00)
    assert fin.platform.funds.funds(deal.loan_id).spent == 50_000_00


def test_recall_intercepts_exactly_the_unspent_money_and_spent_money_stays_spent(fin):
    p = fin.p
    deal = fin.pledge(terms=ZERO_RATE)
    spend(fin, deal, 70_000_00)
    alert(fin, deal.loan_id)
    seller = fin.platform.orders.order(deal.purpose_order_id, with_documents=False).seller
    bank0, seller0 = fin.cash(deal.lender), fin.cash(seller)

    fin.platform.risk.as_(deal.lender).decide(deal.loan_id, Decision.RECALL)

    assert the_event(fin.platform.risk, fin.platform.last_receipt, "LenderDecided")["intercepted"] == 130_000_00
    assert (fin.cash(deal.lender), fin.cash(seller)) == (bank0 + 130_000_00, seller0)
    where = fin.platform.funds.whereabouts(deal.loan_id)
    assert (where.held, where.returned, where.paid) == (0, 130_000_00, {seller: 70_000_00})
    loan = fin.state(deal.loan_id)
    assert (loan.status, loan.principal_repaid, loan.outstanding_now) == (LoanStatus.RECALLED, 130_000_00, 70_000_00)
    assert loan.maturity == fin.now()
    books_balance(fin, deal)
    # frozen since the warning, and nothing left to spend anyway (held 0)
    with reverts("FundsAreFrozen", loanId=deal.loan_id):
        fin.platform.funds.as_(p.supplier).spend(deal.loan_id, seller, 1, "goods")


def test_recall_with_interest_keeps_the_books_balanced(fin):
    deal = fin.pledge()
    spend(fin, deal, 20_000_00)
    alert(fin, deal.loan_id)
    fin.chain.time_travel(2 * DAY)

    fin.platform.risk.as_(deal.lender).decide(deal.loan_id, Decision.RECALL)

    books_balance(fin, deal)
    assert fin.state(deal.loan_id).interest_paid > 0


@pytest.mark.parametrize("who", ["bank2", "supplier", "operator", "monitor"])
def test_only_the_loans_lender_decides(fin, who):
    deal = fin.pledge()
    alert(fin, deal.loan_id)
    account = getattr(fin.p, who)
    for decision in (Decision.CONTINUE, Decision.RECALL):
        with reverts("RiskNotLender", loanId=deal.loan_id, caller=account.address):
            fin.platform.risk.as_(account).decide(deal.loan_id, decision)


def test_a_decision_needs_a_warned_loan(fin):
    deal = fin.pledge()
    spend(fin, deal, 1_000_00)   # so that the recall leaves a debt (the loan is recalled, not repaid)
    risk = fin.platform.risk.as_(deal.lender)
    for decision in (Decision.CONTINUE, Decision.RECALL):
        with reverts("RiskNotWarned", loanId=deal.loan_id, status=LoanStatus.DISBURSED):
            risk.decide(deal.loan_id, decision)
    alert(fin, deal.loan_id)
    with reverts("RiskBadDecision", decision=0):
        risk.decide(deal.loan_id, Decision.NONE)
    risk.decide(deal.loan_id, Decision.RECALL)
    with reverts("RiskNotWarned", loanId=deal.loan_id, status=LoanStatus.RECALLED):
        risk.decide(deal.loan_id, Decision.CONTINUE)
    with reverts("RiskUnknownLoan", loanId=42):
        risk.decide(42, Decision.RECALL)


# ------------------------------------------------------------------------------------------ deadline


def test_no_lapse_before_the_deadline(fin):
    deal = fin.pledge()
    alert(fin, deal.loan_id)
    deadline = fin.state(deal.loan_id).warning_deadline
    fin.chain.time_travel(deadline - fin.now() - 1)   # the lapse is mined at the deadline itself
    with reverts("RiskDeadlineNotPassed", loanId=deal.loan_id, deadline=deadline):
        fin.platform.risk.as_(fin.p.outsider).lapse(deal.loan_id)


def test_the_lender_decides_before_the_deadline_and_nothing_lapses(fin):
    deal = fin.pledge()
    alert(fin, deal.loan_id)
    fin.platform.risk.as_(deal.lender).decide(deal.loan_id, Decision.CONTINUE)
    fin.chain.time_travel(WINDOW + 1)
    with reverts("RiskNotWarned", loanId=deal.loan_id, status=LoanStatus.DISBURSED):
        fin.platform.risk.as_(fin.p.outsider).lapse(deal.loan_id)


def test_by_default_a_lapsed_deadline_freezes_the_money_until_the_lender_decides(fin):
    deal = fin.pledge()
    alert(fin, deal.loan_id)
    fin.chain.time_travel(WINDOW + 1)

    fin.platform.risk.as_(fin.p.outsider).lapse(deal.loan_id)

    assert the_event(fin.platform.risk, fin.platform.last_receipt, "DeadlineLapsed") == {
        "loanId": deal.loan_id, "policy": LapsePolicy.FREEZE, "by": fin.p.outsider.address}
    assert fin.platform.funds.funds(deal.loan_id).frozen
    assert fin.state(deal.loan_id).status == LoanStatus.WARNED
    with reverts("FundsAreFrozen", loanId=deal.loan_id):
        spend(fin, deal, 1)
    with reverts("RiskAlreadyLapsed", loanId=deal.loan_id):
        fin.platform.risk.as_(fin.p.outsider).lapse(deal.loan_id)
    # The lender's late decision still counts: continue unfreezes.
    fin.platform.risk.as_(deal.lender).decide(deal.loan_id, Decision.CONTINUE)
    assert not fin.platform.funds.funds(deal.loan_id).frozen
    spend(fin, deal, 1)


def test_a_late_recall_after_a_freeze_intercepts_the_frozen_money(fin):
    deal = fin.pledge(terms=ZERO_RATE)
    spend(fin, deal, 10_000_00)
    alert(fin, deal.loan_id)
    fin.chain.time_travel(WINDOW + 1)
    fin.platform.risk.as_(fin.p.outsider).lapse(deal.loan_id)

    fin.platform.risk.as_(deal.lender).decide(deal.loan_id, Decision.RECALL)

    assert the_event(fin.platform.risk, fin.platform.last_receipt, "LenderDecided")["intercepted"] == 190_000_00
    books_balance(fin, deal)


def test_the_lapse_policy_can_recall(fin):
    fin.platform.risk.as_(fin.p.operator).set_parameters(WINDOW, LapsePolicy.RECALL, 2)
    deal = fin.pledge(terms=ZERO_RATE)
    spend(fin, deal, 60_000_00)
    alert(fin, deal.loan_id)
    fin.chain.time_travel(WINDOW + 1)
    bank0 = fin.cash(deal.lender)

    fin.platform.risk.as_(fin.p.outsider).lapse(deal.loan_id)

    assert fin.state(deal.loan_id).status == LoanStatus.RECALLED
    assert fin.cash(deal.lender) == bank0 + 140_000_00


def test_the_lapse_policy_can_continue(fin):
    fin.platform.risk.as_(fin.p.operator).set_parameters(WINDOW, LapsePolicy.CONTINUE, 2)
    deal = fin.pledge()
    alert(fin, deal.loan_id)
    fin.chain.time_travel(WINDOW + 1)

    fin.platform.risk.as_(fin.p.outsider).lapse(deal.loan_id)

    assert fin.state(deal.loan_id).status == LoanStatus.DISBURSED
    assert not fin.platform.funds.funds(deal.loan_id).frozen


def test_the_decision_window_is_a_parameter(fin):
    fin.platform.risk.as_(fin.p.operator).set_parameters(DAY, LapsePolicy.FREEZE, 2)
    deal = fin.pledge()
    alert(fin, deal.loan_id)
    assert fin.state(deal.loan_id).warning_deadline == fin.now() + DAY


def test_parameters_are_the_operators_and_bounded(fin):
    risk = fin.platform.risk
    with reverts("AccessControlUnauthorizedAccount", account=fin.p.bank.address):
        risk.as_(fin.p.bank).set_parameters(DAY, LapsePolicy.FREEZE, 2)
    for window in (3599, 30 * DAY + 1):
        with reverts("RiskBadWindow", window=window):
            risk.as_(fin.p.operator).set_parameters(window, LapsePolicy.FREEZE, 2)
    for severity in (0, 5):
        with reverts("RiskBadSeverity", severity=severity):
            risk.as_(fin.p.operator).set_parameters(DAY, LapsePolicy.FREEZE, severity)
    risk.as_(fin.p.operator).set_parameters(DAY, LapsePolicy.RECALL, 3)
    assert the_event(risk, fin.platform.last_receipt, "ParametersSet") == {
        "decisionWindow": DAY, "lapsePolicy": LapsePolicy.RECALL, "warnSeverity": 3}
    assert risk.parameters() == (DAY, LapsePolicy.RECALL, 3)


def test_a_warning_freezes_the_loan_money_at_once(fin):
    # Bug fixed: a warning froze nothing until its deadline lapsed, so a warned borrower could empty
    # the loan money before the lender's recall.
    deal = fin.pledge(terms=ZERO_RATE)

    alert(fin, deal.loan_id)

    assert fin.platform.funds.funds(deal.loan_id).frozen
    assert fin.platform.risk.control(deal.loan_id).frozen_for_warning
    with reverts("FundsAreFrozen", loanId=deal.loan_id):
        spend(fin, deal, 1)
    fin.platform.risk.as_(deal.lender).decide(deal.loan_id, Decision.RECALL)
    assert the_event(fin.platform.risk, fin.platform.last_receipt, "LenderDecided")["intercepted"] == 200_000_00


def test_continue_unfreezes_the_money_the_warning_froze(fin):
    deal = fin.pledge()
    alert(fin, deal.loan_id)

    fin.platform.risk.as_(deal.lender).decide(deal.loan_id, Decision.CONTINUE)

    assert not fin.platform.funds.funds(deal.loan_id).frozen
    assert not fin.platform.risk.control(deal.loan_id).frozen_for_warning


def test_a_warning_leaves_money_frozen_by_another_controller_to_it(wfin):
    deal = wfin.pledge()
    wfin.platform.funds.as_(wfin.p.monitor).freeze(deal.loan_id)
    alert(wfin, deal.loan_id)

    wfin.platform.risk.as_(deal.lender).decide(deal.loan_id, Decision.CONTINUE)

    assert wfin.platform.funds.funds(deal.loan_id).frozen  # not this contract's freeze to lift


@pytest.mark.parametrize("decision", [Decision.CONTINUE, Decision.RECALL])
def test_a_suspended_lender_cannot_decide(fin, decision):
    # Bug fixed: a suspended or evicted lender could still continue or recall.
    deal = fin.pledge()
    alert(fin, deal.loan_id)
    fin.platform.members.as_(fin.p.operator).suspend(deal.lender.address, b"\x01" * 32)
    with reverts("MemberNotActive", member=deal.lender.address, status=3):
        fin.platform.risk.as_(deal.lender).decide(deal.loan_id, decision)


def test_an_evicted_lender_cannot_decide(fin):
    deal = fin.pledge()
    alert(fin, deal.loan_id)
    fin.platform.members.as_(fin.p.operator).evict(deal.lender.address, b"\x02" * 32)
    with reverts("MemberNotActive", member=deal.lender.address, status=4):
        fin.platform.risk.as_(deal.lender).decide(deal.loan_id, Decision.RECALL)
