"""RiskControl alerts: who may raise them, what an alert does to a loan, and the lender's notice."""

from __future__ import annotations

import pytest
from financing_support import CONTROLLER_ROLE, WIRING_ROLE, emitted, the_event
from harness import b32, reverts
from risk_support import DIVERSION, WINDOW, alert, other_chain

from vscm.client.records import AlertSubject, LoanStatus, Role, Severity

DETECTOR_ROLE = b32("DETECTOR_ROLE")


def test_an_alert_warns_a_running_loan_and_notifies_its_lender(fin):
    deal = fin.pledge()
    risk = fin.platform.risk

    receipt = risk.as_(fin.p.monitor).raise_loan_alert(deal.loan_id, DIVERSION, Severity.HIGH, b32("e1")).id

    now = fin.now()
    loan = fin.state(deal.loan_id)
    assert (loan.status, loan.warning_deadline) == (LoanStatus.WARNED, now + WINDOW)
    raised = the_event(risk, fin.platform.last_receipt, "AlertRaised")
    assert raised == {"alertId": receipt, "subject": AlertSubject.LOAN, "subjectId": deal.loan_id,
                      "indicator": DIVERSION, "severity": Severity.HIGH, "raisedBy": fin.p.monitor.address,
                      "evidence": b32("e1"), "deadline": now + WINDOW}
    assert the_event(risk, fin.platform.last_receipt, "LenderNotified") == {
        "loanId": deal.loan_id, "lender": deal.lender.address, "alertId": receipt, "deadline": now + WINDOW}
    stored = risk.alert(receipt)
    assert (stored.subject_id, stored.indicator, stored.raised_by, stored.deadline) == (
        deal.loan_id, DIVERSION, fin.p.monitor.address, now + WINDOW)
    assert risk.control(deal.loan_id).alert_id == receipt


def test_a_second_alert_joins_the_open_warning(fin):
    deal = fin.pledge()
    first = alert(fin, deal.loan_id, label="one")
    deadline = fin.state(deal.loan_id).warning_deadline
    fin.chain.time_travel(3600)

    second = alert(fin, deal.loan_id, label="two")

    assert second == first + 1
    assert fin.state(deal.loan_id).warning_deadline == deadline
    assert the_event(fin.platform.risk, fin.platform.last_receipt, "LenderNotified")["deadline"] == deadline
    assert emitted(fin.platform.loans, fin.platform.last_receipt, "LoanWarned") == []
    assert fin.platform.risk.control(deal.loan_id).alert_id == first


def test_a_low_severity_alert_informs_the_lender_without_a_warning(fin):
    deal = fin.pledge()

    alert(fin, deal.loan_id, severity=Severity.LOW)

    assert fin.state(deal.loan_id).status == LoanStatus.DISBURSED
    assert the_event(fin.platform.risk, fin.platform.last_receipt, "LenderNotified")["deadline"] == 0


@pytest.mark.parametrize("stage", ["applied", "approved"])
def test_an_alert_on_a_loan_not_yet_disbursed_is_recorded_without_a_warning(fin, stage):
    deal = fin.pledge(stage=stage)

    alert_id = alert(fin, deal.loan_id)

    assert fin.state(deal.loan_id).status == (LoanStatus.APPLIED if stage == "applied" else LoanStatus.APPROVED)
    assert fin.platform.risk.alert(alert_id).deadline == 0


def test_the_warn_severity_is_a_parameter(fin):
    fin.platform.risk.as_(fin.p.operator).set_parameters(WINDOW, 0, Severity.CRITICAL)
    deal = fin.pledge()

    alert(fin, deal.loan_id, severity=Severity.HIGH)
    assert fin.state(deal.loan_id).status == LoanStatus.DISBURSED
    alert(fin, deal.loan_id, severity=Severity.CRITICAL, label="worse")
    assert fin.state(deal.loan_id).status == LoanStatus.WARNED


@pytest.mark.parametrize("who", ["outsider", "supplier", "bank", "auditor", "oracle", "operator"])
def test_only_monitors_and_detectors_raise_alerts(fin, who):
    deal = fin.pledge()
    account = getattr(fin.p, who)
    with reverts("RiskNotMonitor", caller=account.address):
        fin.platform.risk.as_(account).raise_loan_alert(deal.loan_id, DIVERSION, 3, b32("e"))
    with reverts("RiskNotMonitor", caller=account.address):
        fin.platform.risk.as_(account).raise_chain_alert(fin.w.chain_id, 401, 3, b32("e"))


def test_a_suspended_monitor_cannot_raise_alerts(fin):
    deal = fin.pledge()
    fin.platform.members.as_(fin.p.operator).suspend(fin.p.monitor.address, b32("leave"))
    with reverts("RiskNotMonitor", caller=fin.p.monitor.address):
        alert(fin, deal.loan_id)


def test_the_deployment_wires_the_oracle_as_the_only_detector(fin):
    risk = fin.platform.risk
    assert risk.role("DETECTOR_ROLE") == DETECTOR_ROLE
    assert risk.has_role(DETECTOR_ROLE, fin.platform.deployment.oracle)
    # Nobody can name another detector (one would raise alerts that warn loans and freeze their money).
    with reverts("AccessControlUnauthorizedAccount", account=fin.p.operator.address, neededRole=WIRING_ROLE):
        risk.as_(fin.p.operator).grant(DETECTOR_ROLE, fin.p.oracle.address)
    assert not risk.has_role(DETECTOR_ROLE, fin.p.oracle.address)


def test_alert_input_is_checked(fin):
    deal = fin.pledge()
    risk = fin.platform.risk.as_(fin.p.monitor)
    with reverts("RiskUnknownLoan", loanId=99):
        risk.raise_loan_alert(99, DIVERSION, 3, b32("e"))
    with reverts("RiskZeroIndicator"):
        risk.raise_loan_alert(deal.loan_id, 0, 3, b32("e"))
    for severity in (0, 5):
        with reverts("RiskBadSeverity", severity=severity):
            risk.raise_loan_alert(deal.loan_id, DIVERSION, severity, b32("e"))
    with reverts("RiskEmptyEvidence"):
        risk.raise_loan_alert(deal.loan_id, DIVERSION, 3, b"\x00" * 32)
    assert fin.platform.risk.count() == 0


def test_a_chain_alert_is_recorded_against_the_chain(fin):
    risk = fin.platform.risk
    alert_id = risk.as_(fin.p.monitor).raise_chain_alert(fin.w.chain_id, 401, Severity.CRITICAL, b32("cycle")).id

    stored = risk.alert(alert_id)
    assert (stored.subject, stored.subject_id, stored.indicator, stored.severity) == (
        AlertSubject.CHAIN, fin.w.chain_id, 401, Severity.CRITICAL)
    assert emitted(risk, fin.platform.last_receipt, "LenderNotified") == []


def test_a_chain_alert_needs_a_live_chain(fin):
    risk = fin.platform.risk.as_(fin.p.monitor)
    with reverts("RiskUnknownChain", chainId=7):
        risk.raise_chain_alert(7, 401, 3, b32("e"))
    other = other_chain(fin)
    fin.platform.members.as_(fin.p.operator).evict_chain(other.chain_id, b32("gone"))
    with reverts("RiskChainEvicted", chainId=other.chain_id):
        risk.raise_chain_alert(other.chain_id, 401, 3, b32("e"))


def test_risk_control_holds_the_controller_roles(fin):
    risk = fin.platform.risk.address
    for facade in (fin.platform.loans, fin.platform.funds, fin.platform.members):
        assert facade.contract.functions.hasRole(CONTROLLER_ROLE, risk).call()
    assert fin.platform.risk.parameters() == (WINDOW, 0, 2)
    assert Role.MONITOR in fin.platform.members.member(fin.p.monitor.address).roles


def test_the_same_evidence_for_the_same_subject_and_indicator_is_refused_with_the_first_alert(fin):
    deal, other = fin.pledge(), fin.payable_loan()
    risk = fin.platform.risk.as_(fin.p.monitor)
    first = risk.raise_loan_alert(deal.loan_id, DIVERSION, Severity.HIGH, b32("e1")).id
    chain_first = risk.raise_chain_alert(fin.w.chain_id, 401, Severity.MEDIUM, b32("e1")).id

    with reverts("RiskAlertRepeated", subject=AlertSubject.LOAN, subjectId=deal.loan_id, indicator=DIVERSION,
                 evidence=b32("e1"), alertId=first):
        risk.raise_loan_alert(deal.loan_id, DIVERSION, Severity.LOW, b32("e1"))
    with reverts("RiskAlertRepeated", subject=AlertSubject.CHAIN, subjectId=fin.w.chain_id, indicator=401,
                 evidence=b32("e1"), alertId=chain_first):
        risk.raise_chain_alert(fin.w.chain_id, 401, Severity.MEDIUM, b32("e1"))
    assert fin.platform.risk.count() == 2

    # other evidence, another loan or another indicator is a new alert
    assert risk.raise_loan_alert(deal.loan_id, DIVERSION, Severity.HIGH, b32("e2")).id == 3
    assert risk.raise_loan_alert(other.loan_id, DIVERSION, Severity.HIGH, b32("e1")).id == 4
    assert risk.raise_loan_alert(deal.loan_id, 301, Severity.HIGH, b32("e1")).id == 5
