"""RiskControl in the replay: alerts, lender decisions, lapses, fraud declarations and their sweeps.

Plugged in like any contract: a handler table (``register``) and a verifier (``register_verifier``).
A fraud sweep writes exposure without one event per loan (a recalled or defaulted loan counts
silently), so the fold repeats the sweep itself at each ``ChainSwept`` from the loans it knows, and
checks ``LoanFrozenForFraud`` and ``LenderExposed`` against it.
"""

from __future__ import annotations

from typing import Any

from vscm.audit.decode import DecodedEvent
from vscm.audit.fold import (
    HANDLERS,
    L_DEFAULTED,
    L_DISBURSED,
    L_RECALLED,
    L_WARNED,
    FoldContext,
    _check,
    owed,
    pending_interest,
    register,
)
from vscm.audit.state import ZERO, Finding, State
from vscm.audit.verify import Views, _count, _diff, register_verifier

__all__: list[str] = []

FREEZE, RECALL, CONTINUE = 0, 1, 2
DECISION_CONTINUE, DECISION_RECALL = 1, 2


def _params(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    s.put("risk_params", "current", {"decisionWindow": ev.args["decisionWindow"],
                                     "lapsePolicy": ev.args["lapsePolicy"], "warnSeverity": ev.args["warnSeverity"]})


def _alert(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    a = ev.args
    _check(s, ev, f"alert {a['alertId']}", "alertId", s.count("alerts"), a["alertId"])
    s.put("alerts", str(a["alertId"]), {
        "subject": a["subject"], "severity": a["severity"], "indicator": a["indicator"],
        "raisedAt": ctx.ts(ev.log.block_number), "deadline": a["deadline"], "raisedBy": a["raisedBy"],
        "subjectId": a["subjectId"], "evidence": a["evidence"]})
    if a["subject"] != 0:
        return
    loan = s.get("loans", str(a["subjectId"])) or {}
    params = s.get("risk_params", "current") or {"warnSeverity": 2}
    # raiseLoanAlert opens a warning on a disbursed loan when the alert is severe enough.
    if loan.get("status") == L_DISBURSED and a["severity"] >= params["warnSeverity"]:
        # ... and freezes its tracked money, unless already frozen (FundsFrozen follows).
        frozen = (s.get("funds", str(a["subjectId"])) or {}).get("frozen", False)
        s.put("loan_controls", str(a["subjectId"]), {"alertId": a["alertId"], "deadline": a["deadline"],
                                                      "decision": 0, "lapsed": False, "frozenForWarning": not frozen})


def _decided(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    lid = str(ev.args["loanId"])
    control = s.get("loan_controls", lid) or _no_control()
    if ev.args["decision"] == DECISION_RECALL:
        s.put("loan_controls", lid, {**control, "decision": DECISION_RECALL})
        returned = s.get("recall_intercepts", lid)
        _check(s, ev, f"loan {lid}", "intercepted", (returned or {}).get("amount", 0), ev.args["intercepted"])
    else:
        s.put("loan_controls", lid, {**control, "decision": DECISION_CONTINUE, "frozenForWarning": False})
    s.put("decisions", f"{lid}:{s.count(f'decisions.{lid}')}", {
        "loanId": ev.args["loanId"], "lender": ev.args["lender"], "decision": ev.args["decision"],
        "intercepted": ev.args["intercepted"], "block": ev.log.block_number})


def _no_control() -> dict[str, Any]:
    return {"alertId": 0, "deadline": 0, "decision": 0, "lapsed": False, "frozenForWarning": False}


def _lapsed(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    lid = str(ev.args["loanId"])
    control = {**(s.get("loan_controls", lid) or _no_control()), "lapsed": True}
    policy = ev.args["policy"]
    if policy == FREEZE and not (s.get("funds", lid) or {}).get("frozen", False):
        control["frozenForWarning"] = True
    elif policy == CONTINUE:
        control.update(decision=DECISION_CONTINUE, frozenForWarning=False)
    s.put("loan_controls", lid, control)


def _fraud_proposed(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    cid = str(ev.args["chainId"])
    case = s.get("fraud_cases", cid) or {"proposedBy": ZERO, "confirmedBy": ZERO, "evidence": "0x" + "00" * 32,
                                         "declaredAt": 0, "swept": 0, "sweepDone": False, "lenders": []}
    s.put("fraud_cases", cid, {**case, "proposedBy": ev.args["operator"], "evidence": ev.args["evidence"]})


def _fraud_withdrawn(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    """withdrawFraud deletes the pending proposal."""
    s.update("fraud_cases", str(ev.args["chainId"]), proposedBy=ZERO, evidence="0x" + "00" * 32)


def _fraud_declared(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    cid = str(ev.args["chainId"])
    s.update("fraud_cases", cid, confirmedBy=ev.args["auditor"], declaredAt=ctx.ts(ev.log.block_number))


def _frozen_for_fraud(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    s.put("fraud_freezes", f"{ev.args['chainId']}:{ev.args['loanId']}",
          {"lender": ev.args["lender"], "unspent": ev.args["unspent"], "block": ev.log.block_number})


def _chain_swept(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    """RiskControl._sweep over the chain's loans [swept before, swept now), as the contract did it."""
    cid = str(ev.args["chainId"])
    case = s.table("fraud_cases")[cid]
    chain_loans = (s.get("chain_loans", cid) or {"loans": []})["loans"]
    _check(s, ev, f"fraud case {cid}", "total", len(chain_loans), ev.args["total"])
    now = ctx.ts(ev.log.block_number)
    lenders = list(case["lenders"])
    for loan_id in chain_loans[case["swept"]:ev.args["swept"]]:
        loan = s.table("loans")[str(loan_id)]
        running = loan["status"] in (L_DISBURSED, L_WARNED)
        if not running and loan["status"] not in (L_RECALLED, L_DEFAULTED):
            continue
        frozen = 0
        if running:
            f = s.get("funds", str(loan_id)) or {}
            frozen = f.get("disbursed", 0) - f.get("spent", 0) - f.get("returned", 0) - f.get("released", 0)
            said = s.get("fraud_freezes", f"{cid}:{loan_id}")
            _check(s, ev, f"loan {loan_id}", "frozen for fraud", frozen, (said or {}).get("unspent"))
        k = f"{cid}:{loan['lender']}"
        e = s.get("exposures", k) or {"loans": 0, "outstanding": 0, "frozen": 0}
        if e["loans"] == 0:
            lenders.append(loan["lender"])
        s.put("exposures", k, {"loans": e["loans"] + 1,
                               "outstanding": e["outstanding"] + owed(loan) + pending_interest(loan, now),
                               "frozen": e["frozen"] + frozen})
    s.update("fraud_cases", cid, swept=ev.args["swept"], sweepDone=ev.args["done"], lenders=lenders)


def _lender_exposed(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    k = f"{ev.args['chainId']}:{ev.args['lender']}"
    ours = s.get("exposures", k) or {}
    for field in ("loans", "outstanding", "frozen"):
        _check(s, ev, f"exposure {k}", field, ours.get(field), ev.args[field])


register("RiskControl", {
    "RoleGranted": lambda s, ev, ctx: s.put("roles", f"{ev.log.address}:{ev.args['role']}:{ev.args['account']}",
                                            {"granted": True}),
    "RoleRevoked": lambda s, ev, ctx: s.put("roles", f"{ev.log.address}:{ev.args['role']}:{ev.args['account']}",
                                            {"granted": False}),
    "RoleAdminChanged": lambda s, ev, ctx: s.put("role_admins", f"{ev.log.address}:{ev.args['role']}",
                                                 {"admin": ev.args["newAdminRole"]}),
    "ParametersSet": _params,
    "AlertRaised": _alert,
    "LenderNotified": lambda s, ev, ctx: None,  # the AlertRaised just before holds everything it says
    "LenderDecided": _decided,
    "DeadlineLapsed": _lapsed,
    "FraudProposed": _fraud_proposed,
    "FraudWithdrawn": _fraud_withdrawn,
    "FraudDeclared": _fraud_declared,
    "LoanFrozenForFraud": _frozen_for_fraud,
    "ChainSwept": _chain_swept,
    "LenderExposed": _lender_exposed,
})


def _recalled(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    """What a recall intercepted (LoanRecalled), for checking the lender's decision event."""
    s.put("recall_intercepts", str(ev.args["loanId"]), {"amount": ev.args["intercepted"]})


def _applied_chain(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    """LoanBook files each loan under its borrower's supply chain at application (loanChain)."""
    member = s.get("members", ev.args["borrower"]) or {"chainId": 0}
    cid = member["chainId"]
    s.update("loans", str(ev.args["loanId"]), chain=cid)
    loans = (s.get("chain_loans", str(cid)) or {"loans": []})["loans"]
    s.put("chain_loans", str(cid), {"loans": [*loans, ev.args["loanId"]]})


def _chained(first: Any, then: Any) -> Any:
    def handler(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
        first(s, ev, ctx)
        then(s, ev, ctx)
    return handler


# Extends the LoanBook table of vscm.audit.fold with the loan-chain index LoanBook keeps for RiskControl.
register("LoanBook", {
    "LoanApplied": _chained(HANDLERS["LoanBook"]["LoanApplied"], _applied_chain),
    "LoanRecalled": _chained(HANDLERS["LoanBook"]["LoanRecalled"], _recalled),
})


@register_verifier
def _risk(state: State, v: Views, out: list[Finding]) -> None:
    address = getattr(v.deployment, "risk", "")
    if not address:
        return
    params = state.get("risk_params", "current")
    if params is not None:
        theirs = {name: v.call("RiskControl", name) for name in ("decisionWindow", "lapsePolicy", "warnSeverity")}
        _diff(out, "risk parameters", params, theirs, v.block)
    alerts = state.table("alerts")
    _count(out, "alerts", len(alerts), v.call("RiskControl", "alertCount"), v.block)
    for aid, a in alerts.items():
        _diff(out, f"alert {aid}", a, v.call("RiskControl", "getAlert", int(aid)), v.block)
    for lid in state.table("loans"):
        ours = state.get("loan_controls", lid) or _no_control()
        _diff(out, f"loan control {lid}", ours, v.call("RiskControl", "loanControl", int(lid)), v.block)
    for cid, case in state.table("fraud_cases").items():
        _diff(out, f"fraud case {cid}", case, v.call("RiskControl", "fraudCase", int(cid)), v.block)
        found = v.call("RiskControl", "exposedLenders", int(cid))
        if found != case["lenders"]:
            out.append(Finding("state", f"fraud case {cid}", "exposedLenders", case["lenders"], found, v.block))
        for lender in case["lenders"]:
            _diff(out, f"exposure {cid}:{lender}", state.get("exposures", f"{cid}:{lender}") or {},
                  v.call("RiskControl", "exposure", int(cid), lender), v.block)


@register_verifier
def _loan_chains(state: State, v: Views, out: list[Finding]) -> None:
    if not any(i.get("name") == "loanChain" for i in _loanbook_abi()):
        return
    for lid, loan in state.table("loans").items():
        found = v.call("LoanBook", "loanChain", int(lid))
        if found != loan.get("chain"):
            out.append(Finding("state", f"loan {lid}", "loanChain", loan.get("chain"), found, v.block))
    for cid, record in state.table("chain_loans").items():
        count = v.call("LoanBook", "chainLoanCount", int(cid))
        if count != len(record["loans"]):
            out.append(Finding("state", f"loans of chain {cid}", "count", len(record["loans"]), count, v.block))
            continue
        found = [v.call("LoanBook", "chainLoanAt", int(cid), i) for i in range(count)]
        if found != record["loans"]:
            out.append(Finding("state", f"loans of chain {cid}", "order", record["loans"], found, v.block))


def _loanbook_abi() -> list[dict[str, Any]]:
    from vscm.chain import artifacts

    return artifacts.load("LoanBook").abi
