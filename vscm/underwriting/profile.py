"""A member's credit profile from the platform's own records: trade, performance, credit and risk.

Computed from the replayed history in the lenders' index (:func:`vscm.underwriting.history.events`),
as of the index's last block or an earlier time. Every figure is a :class:`Figure`: its value and the
evidence of every event it counted (transaction hash, block), so a lender can verify it on chain.

Rules (each counted by hand in tests/integration/test_underwriting.py):

* Money is never added across currencies: amounts sit under their currency's code, in minor units.
* Orders: those the member placed as buyer or received as seller. Value counts orders placed and not
  cancelled. Counterparties and concentration count orders (not money, which is per currency): the
  concentration is the share of the member's orders placed with its largest counterparty.
* Deliveries (as seller): on time when ``OrderDelivered`` is at or before the order's due date.
* Invoices paid (as buyer) and collected (as seller): an ``OrderSettled`` at or before the due date is on
  time; after it, late by whole days rounded up. An invoiced order still unsettled after its due date
  is *overdue*.
* Loans (as borrower), by mode: repaid on time when ``LoanRepaid`` is at most the risk monitor's
  ``repayment.grace_seconds`` (``vscm/risk/thresholds.toml``, 1 day) after the maturity, the point from
  which the monitor reports a loan late (a recall moves the maturity to the recall); recalled, defaulted
  and written off as their events say.
  Outstanding principal per currency: disbursed principal less principal repaid and written off.
* Risk: alerts on the member's loans and on its supply chain by indicator, the lenders' decisions on
  its loans, the oracle's breaches on goods pledged for its loans, and the status of its chain's core
  enterprise and of the chain (evicted, declared fraudulent, under investigation). A member of an evicted
  chain is evicted, as MemberRegistry reads it.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from vscm.errors import NotFound
from vscm.index.store import Index
from vscm.underwriting.history import Event, Evidence, events

__all__ = ["MODES", "Figure", "credit_profile", "iso"]

DAY = 86_400
MODES = ("pledge", "receivable", "prepayment", "payable")
MEMBER_STATUS = ("none", "pending", "active", "suspended", "evicted")
BREACHES = ("goods_missing", "temperature", "door_out_of_hours", "off_route")
OUTCOMES = ("applied", "rejected", "running", "repaid_on_time", "repaid_late", "recalled", "defaulted",
            "written_off")
SUBJECT_LOAN, SUBJECT_CHAIN = 0, 1
DECISIONS = {1: "continue", 2: "recall"}


def iso(timestamp: int) -> str:
    """A Unix time as ISO 8601 UTC (``2026-12-06T11:02:42+00:00``)."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat()


@dataclass
class Figure:
    """One number of a profile and the events it was computed from."""

    value: Any = 0
    evidence: list[Evidence] = field(default_factory=list)

    def add(self, ev: Event, by: Any = 1) -> None:
        self.value += by
        self.evidence.append(ev.evidence)

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "evidence": [e.to_json() for e in self.evidence]}


@dataclass
class _Order:
    id: int
    buyer: str
    seller: str
    currency: str
    amount: int
    due: int
    placed: Event
    delivered: Event | None = None
    invoiced: Event | None = None
    settled: Event | None = None
    cancelled: Event | None = None
    disputed: list[Event] = field(default_factory=list)
    documents: list[Event] = field(default_factory=list)


@dataclass
class _Loan:
    id: int
    mode: int
    borrower: str
    lender: str
    currency: str
    principal: int
    applied: Event
    maturity: int = 0
    disbursed: Event | None = None
    repaid: Event | None = None
    rejected: Event | None = None
    recalled: Event | None = None
    defaulted: Event | None = None
    written_off: Event | None = None
    written_off_amount: int = 0
    repayments: list[tuple[Event, int]] = field(default_factory=list)


@dataclass
class _World:
    """What the history says, folded once for the questions of a profile."""

    names: dict[str, str] = field(default_factory=dict)
    tiers: dict[str, int] = field(default_factory=dict)
    status: dict[str, tuple[int, Event]] = field(default_factory=dict)
    activated: dict[str, Event] = field(default_factory=dict)
    chain_of: dict[str, tuple[int, Event]] = field(default_factory=dict)
    chains: dict[int, dict[str, Any]] = field(default_factory=dict)
    codes: dict[str, str] = field(default_factory=dict)
    orders: dict[int, _Order] = field(default_factory=dict)
    loans: dict[int, _Loan] = field(default_factory=dict)
    guarantees: list[Event] = field(default_factory=list)
    calls: list[Event] = field(default_factory=list)
    alerts: list[Event] = field(default_factory=list)
    decisions: list[Event] = field(default_factory=list)
    breaches: list[Event] = field(default_factory=list)


def _fold(index: Index, until: int | None) -> _World:
    w = _World()
    for ev in events(index, until):
        a, n = ev.args, ev.name
        if ev.contract == "MemberRegistry":
            if n == "MemberApplied":
                w.names[a["member"]], w.tiers[a["member"]] = a["name"], a["tier"]
                w.status[a["member"]] = (1, ev)
            elif n in ("MemberActivated", "MemberReinstated"):
                w.status[a["member"]] = (2, ev)
                w.activated.setdefault(a["member"], ev)
            elif n == "MemberSuspended":
                w.status[a["member"]] = (3, ev)
            elif n == "MemberEvicted":
                w.status[a["member"]] = (4, ev)
            elif n == "ChainCreated":
                w.chains[a["chainId"]] = {"core": a["core"], "name": a["name"], "evicted": None, "fraud": None,
                                          "investigation": None, "created": ev}
                w.chain_of[a["core"]] = (a["chainId"], ev)
            elif n == "ChainJoinApproved":
                w.chain_of[a["member"]] = (a["chainId"], ev)
            elif n == "ChainLeft":
                w.chain_of.pop(a["member"], None)
            elif n == "ChainEvicted":
                w.chains[a["chainId"]]["evicted"] = ev
            elif n == "ChainInvestigationSet":
                w.chains[a["chainId"]]["investigation"] = ev
        elif ev.contract == "OrderBook":
            if n == "CurrencyAdded":
                w.codes[a["currency"]] = a["code"]
            elif n == "OrderPlaced":
                w.orders[a["orderId"]] = _Order(a["orderId"], a["buyer"], a["seller"], a["currency"], a["amount"],
                                                a["dueDate"], ev)
            elif n in ("OrderDelivered", "OrderInvoiced", "OrderSettled", "OrderCancelled"):
                setattr(w.orders[a["orderId"]], n.removeprefix("Order").lower(), ev)
            elif n == "DisputeResolved" and a["status"] == 7:  # resolved to Cancelled
                w.orders[a["orderId"]].cancelled = ev
            elif n == "OrderDisputed":
                w.orders[a["orderId"]].disputed.append(ev)
            elif n == "DocumentAttached":
                w.orders[a["orderId"]].documents.append(ev)
        elif ev.contract == "LoanBook":
            _fold_loan(w, ev)
        elif ev.contract == "RiskControl":
            if n == "AlertRaised":
                w.alerts.append(ev)
            elif n == "LenderDecided":
                w.decisions.append(ev)
            elif n == "FraudDeclared":
                w.chains[a["chainId"]]["fraud"] = ev
        elif ev.contract == "TelemetryOracle" and n == "BreachDetected":
            w.breaches.append(ev)
    return w


def _fold_loan(w: _World, ev: Event) -> None:
    a, n = ev.args, ev.name
    if n == "LoanApplied":
        w.loans[a["loanId"]] = _Loan(a["loanId"], a["mode"], a["borrower"], a["lender"], a["currency"],
                                     a["principal"], ev)
        return
    if n == "GuaranteeSigned":
        w.guarantees.append(ev)
        return
    if n == "GuaranteeCalled":
        w.calls.append(ev)
        return
    loan = w.loans.get(a.get("loanId", 0))
    if loan is None:
        return
    if n == "LoanDisbursed":
        loan.disbursed, loan.maturity = ev, a["maturity"]
    elif n == "LoanRepayment":
        loan.repayments.append((ev, a["principal"]))
    elif n == "LoanRepaid":
        loan.repaid = ev
    elif n in ("LoanRejected", "LoanWithdrawn"):
        loan.rejected = ev
    elif n == "LoanRecalled":
        loan.recalled, loan.maturity = ev, ev.timestamp
    elif n == "LoanDefaulted":
        loan.defaulted = ev
    elif n == "LoanWrittenOff":
        loan.written_off, loan.written_off_amount = ev, a["amount"]


def _status(w: _World, address: str) -> tuple[int, Event | None]:
    """A member's status and the event that set it; eviction of a chain is lazy (MemberRegistry): every
    member of an evicted chain reads as evicted, by the ``ChainEvicted`` event."""
    chain = w.chain_of.get(address)
    evicted = w.chains[chain[0]]["evicted"] if chain else None
    if evicted is not None:
        return 4, evicted
    return w.status.get(address, (0, None))


def _name(w: _World, address: str) -> str:
    return w.names.get(address, address)


def _month(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m")


def _days_late(done: int, due: int) -> int:
    return math.ceil((done - due) / DAY)


def _trade(w: _World, member: str, mine: list[_Order], now: int) -> dict[str, Any]:
    months: dict[str, dict[str, Figure]] = {}
    value: dict[str, dict[str, Figure]] = {}
    per_party: dict[str, Figure] = {}
    for o in mine:
        side = "as_buyer" if o.buyer == member else "as_seller"
        months.setdefault(_month(o.placed.timestamp), {"as_buyer": Figure(), "as_seller": Figure()})[side].add(o.placed)
        other = o.seller if o.buyer == member else o.buyer
        per_party.setdefault(other, Figure()).add(o.placed)
        if o.cancelled is None:
            code = w.codes.get(o.currency, o.currency)
            slot = value.setdefault(code, {"bought": Figure(), "sold": Figure()})
            slot["bought" if o.buyer == member else "sold"].add(o.placed, o.amount)
    largest = max(per_party.items(), key=lambda kv: (kv[1].value, kv[0]), default=None)
    concentration = Figure(0.0)
    if largest is not None:
        concentration = Figure(round(largest[1].value / len(mine), 4), list(largest[1].evidence))
    since = w.activated.get(member)
    chain = w.chain_of.get(member)
    return {
        "orders_by_month": {m: {k: f.to_json() for k, f in v.items()} for m, v in sorted(months.items())},
        "value": {code: {k: f.to_json() for k, f in v.items()} for code, v in sorted(value.items())},
        "counterparties": Figure(len(per_party), [e for f in per_party.values() for e in f.evidence]).to_json(),
        "by_counterparty": {_name(w, k): f.value for k, f in sorted(per_party.items(), key=lambda kv: -kv[1].value)},
        "concentration": {**concentration.to_json(), "counterparty": _name(w, largest[0]) if largest else None},
        "tenure": {
            "platform_since": iso(since.timestamp) if since else None,
            "platform_days": Figure((now - since.timestamp) // DAY if since else 0,
                                    [since.evidence] if since else []).to_json(),
            "chain": chain[0] if chain else None,
            "chain_since": iso(chain[1].timestamp) if chain else None,
            "chain_days": Figure((now - chain[1].timestamp) // DAY if chain else 0,
                                 [chain[1].evidence] if chain else []).to_json(),
        },
    }


def _payments(orders: list[_Order], now: int) -> dict[str, Any]:
    on_time, late, overdue, days = Figure(), Figure(), Figure(), Figure()
    worst = Figure()
    for o in orders:
        if o.settled is not None:
            if o.settled.timestamp <= o.due:
                on_time.add(o.settled)
            else:
                late.add(o.settled)
                d = _days_late(o.settled.timestamp, o.due)
                days.add(o.settled, d)
                if d > worst.value:
                    worst = Figure(d, [o.settled.evidence])
        elif o.invoiced is not None and o.cancelled is None and now > o.due:
            overdue.add(o.invoiced)
    mean = Figure(round(days.value / late.value, 2) if late.value else 0.0, days.evidence)
    return {"on_time": on_time.to_json(), "late": late.to_json(), "overdue_unsettled": overdue.to_json(),
            "mean_days_late": mean.to_json(), "max_days_late": worst.to_json()}


def _performance(member: str, mine: list[_Order], now: int) -> dict[str, Any]:
    on_time, late, cancelled, disputed, documents = Figure(), Figure(), Figure(), Figure(), Figure()
    for o in mine:
        if o.seller == member and o.delivered is not None:
            (on_time if o.delivered.timestamp <= o.due else late).add(o.delivered)
        if o.cancelled is not None:
            cancelled.add(o.cancelled)
        if o.disputed:
            disputed.add(o.disputed[0])
        for d in o.documents:
            documents.add(d)
    per_order = Figure(round(documents.value / len(mine), 2) if mine else 0.0, documents.evidence)
    return {
        "deliveries": {"on_time": on_time.to_json(), "late": late.to_json()},
        "cancelled": cancelled.to_json(), "disputed": disputed.to_json(),
        "invoices_paid": _payments([o for o in mine if o.buyer == member], now),
        "invoices_collected": _payments([o for o in mine if o.seller == member], now),
        "documents_per_order": per_order.to_json(),
    }


def _credit(w: _World, member: str, loans: list[_Loan], grace: int) -> dict[str, Any]:
    modes: dict[str, dict[str, Figure]] = {}
    outstanding: dict[str, Figure] = {}
    borrowed: dict[str, Figure] = {}
    for ln in loans:
        r = modes.setdefault(MODES[ln.mode], {k: Figure() for k in OUTCOMES})
        r["applied"].add(ln.applied)
        if ln.rejected is not None:
            r["rejected"].add(ln.rejected)
        if ln.recalled is not None:
            r["recalled"].add(ln.recalled)
        if ln.defaulted is not None:
            r["defaulted"].add(ln.defaulted)
        if ln.written_off is not None:
            r["written_off"].add(ln.written_off)
        if ln.repaid is not None:
            r["repaid_on_time" if ln.repaid.timestamp <= ln.maturity + grace else "repaid_late"].add(ln.repaid)
        elif ln.disbursed is not None and ln.written_off is None and ln.defaulted is None:
            r["running"].add(ln.disbursed)
        if ln.disbursed is None:
            continue
        code = w.codes.get(ln.currency, ln.currency)
        borrowed.setdefault(code, Figure()).add(ln.disbursed, ln.principal)
        if ln.repaid is None and ln.written_off is None:
            slot = outstanding.setdefault(code, Figure())
            slot.add(ln.disbursed, ln.principal)
            for ev, principal in ln.repayments:
                slot.add(ev, -principal)
    given, called = Figure(), Figure()
    called_amount: dict[str, Figure] = {}
    for ev in w.guarantees:
        if ev.args["guarantor"] == member:
            given.add(ev)
    for ev in w.calls:
        if ev.args["guarantor"] == member:
            called.add(ev)
            ln = w.loans[ev.args["loanId"]]
            called_amount.setdefault(w.codes.get(ln.currency, ln.currency), Figure()).add(ev, ev.args["amount"])
    return {
        "loans": {mode: {k: f.to_json() for k, f in r.items()} for mode, r in modes.items()},
        "borrowed": {c: f.to_json() for c, f in sorted(borrowed.items())},
        "outstanding": {c: f.to_json() for c, f in sorted(outstanding.items()) if f.value},
        "guarantees": {"given": given.to_json(), "called": called.to_json(),
                       "called_amount": {c: f.to_json() for c, f in sorted(called_amount.items())}},
    }


def _indicator(code: int) -> str:
    from vscm.risk.events import Indicator

    known = {int(i): i.name.lower() for i in Indicator}
    return known.get(code, str(code))


def _risk(w: _World, member: str, loans: list[_Loan], now: int) -> dict[str, Any]:
    ids = {ln.id for ln in loans}
    chain = w.chain_of.get(member)
    chain_id = chain[0] if chain else 0
    on_loans, on_chain, continued, recalled, breaches = Figure(), Figure(), Figure(), Figure(), Figure()
    by_indicator: Counter[str] = Counter()
    for ev in w.alerts:
        a = ev.args
        if a["subject"] == SUBJECT_LOAN and a["subjectId"] in ids:
            on_loans.add(ev)
        elif a["subject"] == SUBJECT_CHAIN and chain_id and a["subjectId"] == chain_id:
            on_chain.add(ev)
        else:
            continue
        by_indicator[_indicator(a["indicator"])] += 1
    for ev in w.decisions:
        if ev.args["loanId"] in ids:
            (recalled if DECISIONS.get(ev.args["decision"]) == "recall" else continued).add(ev)
    by_breach: Counter[str] = Counter()
    for ev in w.breaches:
        if ev.args["loanId"] in ids:
            breaches.add(ev)
            b = ev.args["breach"]
            by_breach[BREACHES[b] if b < len(BREACHES) else str(b)] += 1
    core: dict[str, Any] | None = None
    state: dict[str, Any] | None = None
    if chain_id:
        c = w.chains[chain_id]
        status, since = _status(w, c["core"])
        core = {"address": c["core"], "name": _name(w, c["core"]), "status": MEMBER_STATUS[status],
                "evidence": [since.evidence.to_json()] if since else []}
        inv = c["investigation"]
        under = inv is not None and inv.args["until"] > now
        state = {"id": chain_id, "name": c["name"],
                 "evicted": c["evicted"] is not None, "fraud_declared": c["fraud"] is not None,
                 "under_investigation": under,
                 "evidence": [e.evidence.to_json() for e in (c["evicted"], c["fraud"], inv) if e is not None]}
    return {"alerts": {"on_loans": on_loans.to_json(), "on_chain": on_chain.to_json(),
                       "by_indicator": dict(sorted(by_indicator.items()))},
            "decisions": {"continue": continued.to_json(), "recall": recalled.to_json()},
            "oracle_breaches": {**breaches.to_json(), "by_kind": dict(sorted(by_breach.items()))},
            "core": core, "chain": state}


def credit_profile(index: Index, member: str, as_of: int | None = None, grace_seconds: int | None = None,
                   ) -> dict[str, Any]:
    """The credit profile of ``member`` from the index's history up to Unix time ``as_of`` (default: its
    last block); a loan repaid within ``grace_seconds`` of its maturity (default: the risk thresholds'
    ``repayment.grace_seconds``) counts as repaid on time.

    Returns:
        ``{"member", "name", "tier", "status", "as_of", "as_of_block", "trade", "performance", "credit",
        "risk"}``; every figure is ``{"value", "evidence": [{"tx", "block", "log_index", "contract",
        "event"}]}``, money under its currency's code in minor units, times ISO 8601 UTC.

    Raises:
        NotFound: ``member`` never applied to the platform (as of ``as_of``), or the index is empty.
    """
    cursor = index.cursor()
    if cursor is None:
        raise NotFound(f"the index at {index.target} is empty: update it first")
    w = _fold(index, as_of)
    if member not in w.names:
        raise NotFound(f"{member} is not a member of the platform (as of {iso(as_of) if as_of else 'now'})")
    now = as_of if as_of is not None else index.block_timestamp(cursor.block)
    block = cursor.block
    if as_of is not None:
        rows = index.db.query("SELECT COALESCE(MAX(number), -1) FROM blocks WHERE timestamp <= ?", (as_of,))
        block = int(rows[0][0])
    if grace_seconds is None:
        from vscm.risk.config import load_thresholds

        grace_seconds = load_thresholds().repayment_grace_seconds
    grace = grace_seconds
    mine = sorted((o for o in w.orders.values() if member in (o.buyer, o.seller)), key=lambda o: o.id)
    loans = sorted((ln for ln in w.loans.values() if ln.borrower == member), key=lambda ln: ln.id)
    status = _status(w, member)[0]
    return {
        "member": member, "name": w.names[member], "tier": "core" if w.tiers.get(member) == 1 else "sme",
        "status": MEMBER_STATUS[status], "as_of": iso(now), "as_of_block": block,
        "trade": _trade(w, member, mine, now),
        "performance": _performance(member, mine, now),
        "credit": _credit(w, member, loans, grace),
        "risk": _risk(w, member, loans, now),
    }
