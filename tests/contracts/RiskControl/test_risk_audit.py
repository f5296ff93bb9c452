"""The auditor's replay rebuilds RiskControl's state: alerts, decisions, a lapse, parameters and a
fraud finding with its sweep and exposures, and every loan's supply chain; zero differences."""

from __future__ import annotations

from financing_support import DAY
from harness import b32
from risk_support import WINDOW, alert, other_chain, spend

from vscm.audit.audit import audit_chain
from vscm.client.records import Decision, LapsePolicy, Severity


def test_replay_of_alerts_decisions_a_lapse_and_a_fraud_sweep_finds_no_difference(fin):
    p, risk = fin.p, fin.platform.risk
    other = other_chain(fin)
    continued = fin.pledge(lender=p.bank)
    spend(fin, continued, 40_000_00)
    alert(fin, continued.loan_id, label="diversion")
    risk.as_(p.bank).decide(continued.loan_id, Decision.CONTINUE)
    recalled = fin.receivable_loan(lender=p.bank2)
    alert(fin, recalled.loan_id, label="shortfall")
    risk.as_(p.bank2).decide(recalled.loan_id, Decision.RECALL)
    lapsed = fin.payable_loan(lender=p.bank)
    alert(fin, lapsed.loan_id, label="late goods")
    alert(fin, lapsed.loan_id, severity=Severity.LOW, label="joins the warning")
    fin.chain.time_travel(WINDOW + 1)
    risk.as_(p.carrier).lapse(lapsed.loan_id)
    risk.as_(p.monitor).raise_chain_alert(other.chain_id, 401, Severity.MEDIUM, b32("odd volumes"))
    risk.as_(p.operator).set_parameters(2 * DAY, LapsePolicy.RECALL, int(Severity.HIGH))
    fin.chain.time_travel(DAY)
    risk.as_(p.operator).propose_fraud(fin.w.chain_id, b32("circular invoices"))
    risk.as_(p.auditor).confirm_fraud(fin.w.chain_id, b32("circular invoices"))

    outcome = audit_chain(fin.chain, fin.platform.deployment)

    assert [str(f) for f in outcome.findings] == []
    state = outcome.result.state
    assert len(state.table("alerts")) == 5
    assert state.get("loan_controls", str(lapsed.loan_id))["frozenForWarning"] is True
    case = state.get("fraud_cases", str(fin.w.chain_id))
    assert case["sweepDone"] and case["lenders"] == [p.bank.address]
    assert state.get("exposures", f"{fin.w.chain_id}:{p.bank.address}")["loans"] == 2


def test_replay_checks_each_lender_notice_against_the_sweep_it_repeats(fin):
    p, risk = fin.p, fin.platform.risk
    fin.pledge(lender=p.bank)
    risk.as_(p.operator).propose_fraud(fin.w.chain_id, b32("fraud"))
    risk.as_(p.auditor).confirm_fraud(fin.w.chain_id, b32("fraud"))
    from vscm.audit.fold import HANDLERS

    honest = HANDLERS["RiskControl"]["ChainSwept"]

    def skewed(s, ev, ctx):  # the fold forgets the first loan: the notice now disagrees with it
        s.update("fraud_cases", str(ev.args["chainId"]), swept=1)
        honest(s, ev, ctx)

    HANDLERS["RiskControl"]["ChainSwept"] = skewed
    try:
        outcome = audit_chain(fin.chain, fin.platform.deployment)
    finally:
        HANDLERS["RiskControl"]["ChainSwept"] = honest
    assert {(f.check, f.entity, f.field) for f in outcome.findings} >= {
        ("event", f"exposure {fin.w.chain_id}:{p.bank.address}", "loans")}
