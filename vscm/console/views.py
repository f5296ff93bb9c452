"""What the console shows, read from the lenders' index: every party by registered name with a short
address, every amount with its currency (never added across currencies), every time ISO 8601 UTC.

The functions here return plain JSON-ready dicts; the API returns them as they are and the pages
render them. Who may see what is decided in ``vscm.console.scope``, not here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from enum import IntEnum
from functools import lru_cache
from typing import Any

from vscm.audit.decode import RawLog, decoder_for
from vscm.audit.fold import STATUS_PENDING, STATUS_SUSPENDED, pending_interest
from vscm.audit.replay import contracts_of
from vscm.client.records import AssetKind, DocKind, OrderStatus, Role, mask_to_roles
from vscm.index import Index, exposure, loan_detail, portfolio
from vscm.index.lender import MODES, STATUSES, currency_code

__all__ = ["CASH_DECIMALS", "Directory", "alerts_waiting", "audit_view", "defaults", "exposure_view", "iso",
           "loan_list", "loan_view", "maturity_ladder", "member_view", "money", "portfolio_view"]

#: PlatformCash.decimals() is pure and returns 2 (minor units: fen, cents) for every currency.
CASH_DECIMALS = 2
RUNNING = (4, 5, 6)
WARNED, DEFAULTED = 5, 8
#: Maturity ladder buckets: (label, upper bound in seconds from now; None = no bound).
LADDER = (("overdue", 0), ("within 7 days", 7 * 86400), ("8-30 days", 30 * 86400), ("31-90 days", 90 * 86400),
          ("over 90 days", None))


def _label(enum: type[IntEnum], value: int) -> str:
    """An enum value by its name in words (``bill of lading``), or its number when this client does not know it."""
    try:
        return enum(value).name.lower().replace("_", " ")
    except ValueError:
        return str(value)


@lru_cache(maxsize=1 << 14)
def iso(ts: int) -> str:
    """Unix seconds as ISO 8601 UTC (``2026-12-06T11:02:42Z``); 0 is shown as ``-``."""
    if not ts:
        return "-"
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def money(units: int, code: str) -> dict[str, Any]:
    """An amount with its currency: minor units (as a string: uint256 does not fit a JSON number),
    the currency's code, its decimals and the amount as text (``"1,250.50 CNY"``)."""
    sign = "-" if units < 0 else ""
    whole, fraction = divmod(abs(units), 10**CASH_DECIMALS)
    return {"units": str(units), "currency": code, "decimals": CASH_DECIMALS,
            "text": f"{sign}{whole:,}.{fraction:0{CASH_DECIMALS}d} {code}"}


def short(address: str) -> str:
    return f"{address[:6]}…{address[-4:]}" if address.startswith("0x") and len(address) == 42 else address


@dataclass
class Directory:
    """Names of the parties and contracts an index knows, and the index's clock (its last block)."""

    index: Index
    deployment: Any

    def __post_init__(self) -> None:
        self.members = self.index.records("members")
        self.contracts = {a: n for a, n in contracts_of(self.deployment).items()}
        self.chains = self.index.records("chains")
        cursor = self.index.cursor()
        self.block = cursor.block if cursor else -1
        self.now = self.index.block_timestamp(cursor.block) if cursor else 0
        self._codes: dict[str, str] = {}
        self._parties: dict[str, dict[str, Any]] = {}

    def party(self, address: str) -> dict[str, Any]:
        """``{"address", "name", "short"}`` of ``address`` (a copy: callers may add to it)."""
        known = self._parties.get(address)
        if known is None:
            known = self._parties[address] = self._name(address)
        return dict(known)

    def _name(self, address: str) -> dict[str, Any]:
        member = self.members.get(address)
        if member is not None:
            name = member["name"]
        elif address in self.contracts:
            name = self.contracts[address]
        elif address == "0x" + "00" * 20:
            name = "nobody"
        else:
            name = "unregistered"
        return {"address": address, "name": name, "short": short(address)}

    def code(self, currency: str) -> str:
        if currency not in self._codes:
            self._codes[currency] = currency_code(self.index, currency)
        return self._codes[currency]

    def chain_name(self, chain_id: int) -> str:
        record = self.chains.get(str(chain_id))
        return f"#{chain_id} {record['name']}" if record else ("no supply chain" if not chain_id else f"#{chain_id}")

    def as_of(self) -> dict[str, Any]:
        return {"block": self.block, "time": iso(self.now)}


def roles_of(member: dict[str, Any] | None) -> list[str]:
    return [r.label for r in mask_to_roles(int(member["roles"]))] if member else []


def _amounts(d: Directory, code: str, amounts: dict[str, int]) -> dict[str, Any]:
    return {name: money(value, code) for name, value in amounts.items()}


def portfolio_view(d: Directory, lender: str) -> dict[str, Any]:
    """The lender's portfolio per mode and currency, and its totals per currency (never summed across)."""
    view = portfolio(d.index, lender)
    modes = {mode: {"loans": r["loans"], "running": r["running"], "collateral_locked": r["collateral_locked"],
                    "currencies": {code: _amounts(d, code, a) for code, a in r["currencies"].items()}}
             for mode, r in view["modes"].items()}
    totals = {code: _amounts(d, code, a) for code, a in view["totals"].items()}
    return {"lender": d.party(lender), "as_of": d.as_of(), "modes": modes, "totals": totals}


def exposure_view(d: Directory, lender: str) -> dict[str, Any]:
    """What the lender stands to lose on open loans: per currency, by borrower, by supply chain."""
    view = exposure(d.index, lender)

    def rows(per: dict[str, dict[str, int]]) -> dict[str, Any]:
        return {code: {"loans": r["loans"], "outstanding": money(r["outstanding"], code),
                       "unspent": money(r["unspent"], code)} for code, r in per.items()}

    return {"lender": d.party(lender), "as_of": d.as_of(), "loans": view["loans"], "currency": rows(view["currency"]),
            "borrower": [{"party": d.party(b), "currencies": rows(per)} for b, per in view["borrower"].items()],
            "supply_chain": [{"chain": d.chain_name(int(c)), "currencies": rows(per)}
                             for c, per in view["supply_chain"].items()]}


def outstanding(ln: dict[str, Any], now: int) -> int:
    """What a loan owes at ``now``: principal and interest, with the interest not yet accrued."""
    return (ln["principal"] + ln["interestAccrued"] - ln["principalRepaid"] - ln["interestPaid"] - ln["writtenOff"]
            + pending_interest(ln, now))


def loan_summary(d: Directory, ln: dict[str, Any]) -> dict[str, Any]:
    code = d.code(ln["currency"])
    return {"loan": ln["loanId"], "mode": MODES[ln["mode"]], "status": STATUSES[ln["status"]],
            "lender": d.party(ln["lender"]), "borrower": d.party(ln["borrower"]),
            "principal": money(ln["principal"], code),
            "outstanding": money(outstanding(ln, d.now) if ln["status"] in (*RUNNING, DEFAULTED) else 0, code),
            "maturity": iso(ln["maturity"]), "rate_bps": ln["rateBps"]}


def loan_list(d: Directory, lender: str | None = None, borrower: str | None = None,
              party: str | None = None, limit: int | None = None, offset: int = 0) -> dict[str, Any]:
    """Loans by lender and/or borrower in loan id order, ``limit`` of them from ``offset`` (all by default),
    with their ``total``; with ``party``, the loans it lends, borrows or guarantees."""
    if party is None:  # the page straight from the index
        total = d.index.count_loans(lender=lender, borrower=borrower)
        loans = d.index.loans_of(lender=lender, borrower=borrower, limit=limit, offset=offset)
    else:  # a guarantor is not a column: the party's own loans are filtered here (a member has few)
        loans = [ln for ln in d.index.loans_of(lender=lender, borrower=borrower)
                 if party in (ln["lender"], ln["borrower"], ln.get("guarantor"))]
        total = len(loans)
        loans = loans[offset:] if limit is None else loans[offset:offset + limit]
    return {"as_of": d.as_of(), "total": total, "offset": offset, "limit": limit,
            "loans": [loan_summary(d, ln) for ln in loans]}


def maturity_ladder(d: Directory, lender: str) -> dict[str, Any]:
    """The lender's running loans by time to maturity (from the index's last block), per currency."""
    buckets: list[dict[str, Any]] = [{"bucket": label, "loans": 0, "currencies": {}} for label, _ in LADDER]
    for ln in d.index.loans_of(lender=lender):
        if ln["status"] not in RUNNING:
            continue
        left = ln["maturity"] - d.now
        slot = next(b for b, (_, bound) in zip(buckets, LADDER, strict=True) if bound is None or left <= bound)
        code = d.code(ln["currency"])
        slot["loans"] += 1
        slot["currencies"][code] = slot["currencies"].get(code, 0) + outstanding(ln, d.now)
    for b in buckets:
        b["currencies"] = {code: money(units, code) for code, units in b["currencies"].items()}
    return {"lender": d.party(lender), "as_of": d.as_of(), "ladder": buckets}


def alerts_waiting(d: Directory, lender: str) -> dict[str, Any]:
    """Warned loans of the lender waiting for its decision (continue or recall), with the time left."""
    controls = d.index.records("loan_controls")
    alerts = d.index.records("alerts")
    out = []
    for ln in d.index.loans_of(lender=lender):
        control = controls.get(str(ln["loanId"]))
        if ln["status"] != WARNED or control is None or control["decision"] or control["lapsed"]:
            continue
        alert = alerts.get(str(control["alertId"]), {})
        out.append({**loan_summary(d, ln), "alert": control["alertId"], "severity": alert.get("severity"),
                    "raised": iso(alert.get("raisedAt", 0)), "deadline": iso(control["deadline"]),
                    "seconds_left": max(0, control["deadline"] - d.now)})
    return {"lender": d.party(lender), "as_of": d.as_of(), "alerts": out}


def defaults(d: Directory, lender: str) -> dict[str, Any]:
    """The lender's loans in default."""
    return {"lender": d.party(lender), "as_of": d.as_of(),
            "loans": [{**loan_summary(d, ln), "defaulted": iso(ln.get("defaultedAt", 0))}
                      for ln in d.index.loans_of(lender=lender) if ln["status"] == DEFAULTED]}


#: Event arguments that are amounts of the loan's currency, and those that are Unix times.
MONEY_ARGS = frozenset({"principal", "amount", "total", "interest", "outstanding", "received", "toLender", "surplus",
                        "intercepted", "unspent"})
TIME_ARGS = frozenset({"maturity", "at", "deadline"})


def _events_of_loan(d: Directory, loan_id: int, code: str) -> list[dict[str, Any]]:
    """Every platform event about the loan, in chain order, decoded from the index's stored logs; amounts
    with the loan's currency ``code``, times ISO, parties by name, the currency by its code."""
    contracts = contracts_of(d.deployment)
    out = []
    for raw, stamp in d.index.loan_logs(loan_id):
        name = contracts.get(raw.address)
        if name not in ("LoanBook", "FundTracker", "RiskControl"):
            continue
        ev = decoder_for(name).decode(raw)
        if ev is None:
            continue
        about = ev.args.get("loanId")
        if about is None and ev.name == "AlertRaised" and ev.args.get("subject") == 0:
            about = ev.args.get("subjectId")
        if about != loan_id:
            continue
        out.append({"block": raw.block_number, "time": iso(stamp), "tx": raw.tx_hash, "contract": name,
                    "event": ev.name,
                    "args": {k: _shown(d, k, v, code) for k, v in ev.args.items() if k != "loanId"}})
    return out


def _shown(d: Directory, name: str, value: Any, code: str) -> Any:
    if name == "currency" and isinstance(value, str):
        return d.code(value)
    if name == "mode" and isinstance(value, int) and value < len(MODES):
        return MODES[value]
    if name in MONEY_ARGS and isinstance(value, int):
        return money(value, code)
    if name in TIME_ARGS and isinstance(value, int):
        return iso(value)
    if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
        return d.party(value)
    return value


def loan_view(d: Directory, loan_id: int) -> dict[str, Any] | None:
    """One loan: its figures, guarantor, collateral, documents, money trail (with Sankey links) and
    repayments, and the timeline of its events."""
    detail = loan_detail(d.index, loan_id)
    if detail is None:
        return None
    code = detail["currencyCode"]
    funds = detail["funds"] or {}
    hops = [{"hop": h["hop"], "to": d.party(h["to"]), "amount": money(h["amount"], code), "block": h["block"],
             "tx": h["tx"]} for h in detail["hops"]]
    lender, tracker = d.party(detail["lender"]), d.party(d.deployment.funds)
    links: list[dict[str, Any]] = []
    if funds:
        links.append({"source": lender["name"], "target": tracker["name"], "units": funds["disbursed"]})
        for payee, paid in zip(funds["payees"], funds["paid"], strict=True):
            links.append({"source": tracker["name"], "target": d.party(payee)["name"], "units": paid})
        for label, units in (("returned to the lender", funds["returned"]),
                             ("released to the borrower", funds["released"])):
            if units:
                links.append({"source": tracker["name"], "target": label, "units": units})
        unspent = funds["disbursed"] - funds["spent"] - funds["returned"] - funds["released"]
        if unspent:
            links.append({"source": tracker["name"], "target": "unspent (held)", "units": unspent})
    asset = d.index.record("assets", str(detail["assetId"])) or {}
    order_id = detail["purposeOrderId"] or asset.get("orderId", 0)
    documents = [{"kind": _label(DocKind, r["kind"]), "hash": r["hash"],
                  "by": d.party(r["attachedBy"]), "at": iso(r["attachedAt"])}
                 for k, r in sorted(d.index.records_of("documents", str(order_id)).items())]
    return {
        "loan": loan_id, "as_of": d.as_of(), "mode": detail["mode"], "status": detail["status"],
        "lender": lender, "borrower": d.party(detail["borrower"]), "guarantor": d.party(detail["guarantor"]),
        "currency": code, "principal": money(detail["principal"], code),
        "principal_repaid": money(detail["principalRepaid"], code),
        "interest_paid": money(detail["interestPaid"], code), "interest_due": money(detail["accrued_now"], code),
        "written_off": money(detail["writtenOff"], code), "rate_bps": detail["rateBps"],
        "disbursed": iso(detail["disbursedAt"]), "maturity": iso(detail["maturity"]),
        "collateral": {"asset": detail["assetId"], "kind": _label(AssetKind, asset["kind"]) if asset else "-",
                       "value": money(asset.get("value", 0), d.code(asset.get("currency", detail["currency"]))),
                       "quantity": asset.get("quantity", 0), "owner": d.party(asset.get("owner", "0x" + "00" * 20))},
        "order": order_id, "documents": documents,
        "funds": {name: money(funds.get(name, 0), code) for name in ("disbursed", "spent", "returned", "released")}
        | {"frozen": bool(funds.get("frozen", False))},
        "trail": hops, "sankey": [{**link, "amount": money(link["units"], code)} for link in links],
        "repayments": [{"payer": d.party(r["payer"]), "interest": money(r["interest"], code),
                        "principal": money(r["principal"], code), "outstanding": money(r["outstanding"], code),
                        "block": r["block"], "tx": r["tx"]} for r in detail["repayments"]],
        "timeline": _events_of_loan(d, loan_id, code),
        "control": _control(d, loan_id),
    }


def _control(d: Directory, loan_id: int) -> dict[str, Any] | None:
    """The loan's warning, if RiskControl ever warned it: alert, deadline, decision."""
    control = d.index.record("loan_controls", str(loan_id))
    if control is None:
        return None
    return {"alert": control["alertId"], "deadline": iso(control["deadline"]),
            "decision": ("none", "continue", "recall")[control["decision"]], "lapsed": control["lapsed"]}


def member_view(d: Directory, address: str) -> dict[str, Any] | None:
    """A member: its registration, the orders it buys or sells (with documents), its assets, its loans."""
    member = d.members.get(address)
    if member is None:
        return None
    documents: dict[str, int] = {}
    for k in d.index.records("documents"):
        documents[k.split(":")[0]] = documents.get(k.split(":")[0], 0) + 1
    orders = [{"order": int(k), "buyer": d.party(o["buyer"]), "seller": d.party(o["seller"]),
               # the order's (buyer's) chain, and the seller's when the order was placed across chains
               "chains": d.chain_name(int(o["chainId"])) if o["sellerChainId"] == o["chainId"]
               else f"{d.chain_name(int(o['chainId']))} → {d.chain_name(int(o['sellerChainId']))}",
               "amount": money(o["amount"], d.code(o["currency"])),
               "status": _label(OrderStatus, o["status"]),
               "due": iso(o["dueDate"]), "documents": documents.get(k, 0)}
              for k, o in sorted(d.index.records("orders").items(), key=lambda kv: int(kv[0]))
              if address in (o["buyer"], o["seller"])]
    assets = [{"asset": int(k), "kind": _label(AssetKind, a["kind"]),
               "value": money(a["value"], d.code(a["currency"])), "order": a["orderId"], "locked_by": a["lockedBy"]}
              for k, a in sorted(d.index.records("assets").items(), key=lambda kv: int(kv[0]))
              if a["owner"] == address]
    return {"member": d.party(address), "as_of": d.as_of(), "roles": roles_of(member), "status": member["status"],
            "supply_chain": d.chain_name(int(member.get("chainId", 0))), "orders": orders, "assets": assets,
            "loans": loan_list(d, party=address)["loans"]}


def audit_view(d: Directory, verdict: dict[str, Any] | None) -> dict[str, Any]:
    """The platform as the auditor sees it: chain id, contract addresses, the index's range, and the
    verdict of the replay (the fold's own findings, and the last check against the contracts)."""
    contracts = [{"name": n, "address": a} for a, n in sorted(contracts_of(d.deployment).items(), key=lambda x: x[1])]
    findings = d.index.findings()
    return {"chain_id": d.deployment.chain_id, "network": d.deployment.network, "as_of": d.as_of(),
            "from_block": d.deployment.block, "contracts": contracts,
            "currencies": [{"code": c, "address": a} for c, a in d.deployment.cash.items()],
            "fold_findings": findings, "verified": verdict,
            "verdict": "clean" if not findings and verdict is not None and not verdict["findings"]
            else ("not verified yet" if verdict is None and not findings else "findings")}


def role_names() -> list[str]:
    return [r.label for r in Role]


def period_blocks(d: Directory, start: date | None, end: date | None) -> tuple[int | None, int | None]:
    """The first block on or after ``start`` and the last on or before ``end`` (UTC days), from the
    index's block times; None where no date is given."""
    first = last = None
    if start is not None:
        low = int(datetime.combine(start, time.min, UTC).timestamp())
        rows = d.index.db.query("SELECT MIN(number) FROM blocks WHERE timestamp >= ?", (low,))
        first = int(rows[0][0]) if rows and rows[0][0] is not None else d.block + 1
    if end is not None:
        high = int(datetime.combine(end, time.max, UTC).timestamp())
        rows = d.index.db.query("SELECT MAX(number) FROM blocks WHERE timestamp <= ?", (high,))
        last = int(rows[0][0]) if rows and rows[0][0] is not None else d.deployment.block
    return first, last


def audit_report_view(d: Directory, report: dict[str, Any]) -> dict[str, Any]:
    """The replay's report with names and currencies: parties by name and address, amounts with codes."""
    loans = []
    for ln in report["loans"]:
        code = d.code(ln["currency"])
        loans.append({**ln, "lender": d.party(ln["lender"]), "borrower": d.party(ln["borrower"]), "currency": code,
                      **{k: money(ln[k], code) for k in ("principal", "principal_repaid", "interest_paid",
                                                         "written_off", "disbursed", "returned_to_lender",
                                                         "released_to_borrower")},
                      "hops": [{**h, "to": d.party(h["to"]), "amount": money(h["amount"], code)} for h in ln["hops"]],
                      "repayments": [{**r, "payer": d.party(r["payer"]), "interest": money(r["interest"], code),
                                      "principal": money(r["principal"], code)} for r in ln["repayments"]]})
    return {**report, "loans": loans, "chain_id": d.deployment.chain_id,
            "contracts": [{"name": n, "address": a} for a, n in sorted(contracts_of(d.deployment).items(),
                                                                        key=lambda x: x[1])]}


def council_view(d: Directory) -> dict[str, Any]:
    """What waits for the operator and the council: members applied and not yet admitted (with the
    attestations they have), requests to join a supply chain, suspended members."""
    zero = "0x" + "00" * 20
    queue = [{"member": d.party(a), "roles": roles_of(m), "tier": m["tier"], "applied_index": m["index"],
              "credential_expiry": iso(m["credentialExpiry"]),
              "attested_by": [d.party(x) for x in (m["financierAttestor"], m["auditorAttestor"]) if x != zero]}
             for a, m in sorted(d.members.items(), key=lambda kv: kv[1]["index"]) if m["status"] == STATUS_PENDING]
    joins = [{"chain": d.chain_name(int(k.split(":")[0])), "member": d.party(k.split(":")[1])}
             for k, r in sorted(d.index.records("pending_joins").items()) if r["pending"]]
    suspended = [d.party(a) for a, m in d.members.items() if m["status"] == STATUS_SUSPENDED]
    return {"as_of": d.as_of(), "membership_queue": queue, "join_requests": joins, "suspended": suspended}


def oracle_readings(d: Directory, loan_id: int) -> dict[str, Any] | None:
    """The loan's collateral as the IoT oracle read it over time: one point per accepted batch that
    updated the asset (``TelemetryOracle.TargetUpdated``), with the quantity counted, the collateral value
    it gives (``value × min(quantity, pledged) / registered quantity``, as the contract computes it) and
    the breaches flagged; empty when no device watches the asset."""
    import json

    detail = loan_detail(d.index, loan_id)
    if detail is None:
        return None
    asset_id = int(detail["assetId"])
    asset = d.index.record("assets", str(asset_id)) or {}
    code = d.code(asset.get("currency", detail["currency"]))
    oracle = getattr(d.deployment, "oracle", "")
    points: list[dict[str, Any]] = []
    if oracle and asset:
        rows = d.index.db.query("SELECT block_number, block_hash, tx_hash, tx_index, log_index, address, topics, data"
                                " FROM logs WHERE address = ? ORDER BY block_number, log_index", (oracle,))
        stamps = dict(d.index.db.query("SELECT number, timestamp FROM blocks"))
        registered = asset.get("quantity", 0)
        pledged = asset.get("pledgedQuantity", 0) or registered
        decoder = decoder_for("TelemetryOracle")
        for b, bh, tx, ti, li, a, t, data in rows:
            ev = decoder.decode(RawLog(int(b), bh, tx, int(ti), int(li), a, tuple(json.loads(t)), data))
            if ev is None or ev.name != "TargetUpdated" or ev.args["kind"] != 0 or ev.args["targetId"] != asset_id:
                continue
            counted = min(ev.args["quantity"], pledged)
            value = asset["value"] * counted // registered if registered else 0
            points.append({"block": int(b), "time": iso(int(stamps.get(int(b), 0))), "batch": ev.args["batchId"],
                           "quantity": ev.args["quantity"], "collateral_value": money(value, code),
                           "breaches": ev.args["breaches"]})
    return {"loan": loan_id, "asset": asset_id, "currency": code, "registered_quantity": asset.get("quantity", 0),
            "principal": money(int(detail["principal"]), d.code(detail["currency"])), "readings": points}


#: Arguments of a PlatformCash call that are amounts of that currency (mint caps, amounts).
CASH_AMOUNT_ARGS = frozenset({"cap", "amount", "value", "limit", "max", "minted"})


def _call_arg(d: Directory, name: str, kind: str, value: Any, code: str | None) -> Any:
    """One argument of a council call as the page shows it: parties by name, amounts of a currency's
    contract with that currency, times ISO, currency tokens by their code."""
    if kind == "address" and isinstance(value, str):
        if value in d.deployment.cash.values():
            return {**d.party(value), "currency": d.code(value)}
        return d.party(value)
    if kind == "address[]" and isinstance(value, list):
        return [d.party(v) for v in value]
    if kind.startswith("uint") and isinstance(value, int):
        if code is not None and (name in CASH_AMOUNT_ARGS or name in MONEY_ARGS):
            return money(value, code)
        if name in TIME_ARGS:
            return iso(value)
    return value


def _arg_text(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("currency") or value.get("text") or value.get("name") or value)
    if isinstance(value, list):
        return "[" + ", ".join(_arg_text(v) for v in value) + "]"
    return str(value)


def council_changes(d: Directory) -> dict[str, Any]:
    """The council's governed changes: every call scheduled on its timelock, newest first, with the target
    contract by name, the call decoded (the decoder of ``vscm council pending``), who proposed and approved
    it on the Safe, when it becomes executable (and the time left, at the index's last block), its state
    (waiting, ready, done, cancelled) and its history."""
    from vscm.audit.council import operation_state
    from vscm.chain.artifacts import load as load_artifact
    from vscm.client.council import decode_call_data

    timelock = getattr(d.deployment, "council_timelock", "")
    safe = getattr(d.deployment, "council_safe", "")
    ops = sorted(d.index.records("timelock_ops").values(), key=lambda o: (o["block"], o["id"]), reverse=True)
    changes = []
    for op in ops:
        state = operation_state(op, d.now)
        calls = []
        for call in sorted(op["calls"], key=lambda c: c["index"]):
            target = call["target"]
            name = d.contracts.get(target)
            code = d.code(target) if name == "PlatformCash" else None
            decoded = decode_call_data(load_artifact(name).abi, bytes.fromhex(call["data"][2:])) if name else None
            contract = f"{name} {code}" if code else (name or d.party(target)["name"])
            if decoded is None:
                calls.append({"target": {**d.party(target), "name": contract}, "function": None,
                              "selector": call["data"][:10], "args": [], "text": f"{contract}: {call['data'][:10]}"})
                continue
            args = [{"name": n, "type": k, "value": _call_arg(d, n, k, v, code)} for n, k, v in decoded.args]
            calls.append({"target": {**d.party(target), "name": contract}, "function": decoded.function, "args": args,
                          "text": f"{contract}.{decoded.function}("
                                  + ", ".join(f"{a['name']}={_arg_text(a['value'])}" for a in args) + ")"})
        history = [{"event": "scheduled", "time": iso(op["scheduledAt"]), "block": op["block"], "tx": op["tx"]}]
        if op["executedAt"]:
            history.append({"event": "executed", "time": iso(op["executedAt"]), "tx": op["executedTx"]})
        if op["cancelledAt"]:
            history.append({"event": "cancelled", "time": iso(op["cancelledAt"]), "tx": op["cancelledTx"]})
        proposal = d.index.record("safe_txs", op["safeTx"]) if op.get("safeTx") else None
        if proposal is not None and proposal.get("proposedAt"):
            history.insert(0, {"event": "proposed on the Safe", "time": iso(proposal["proposedAt"]),
                               "by": d.party(proposal["proposer"])})
        changes.append({"operation": op["id"], "state": state, "calls": calls,
                        "proposer": d.party(op["proposer"]) if op.get("proposer") else None,
                        "approvals": [d.party(a) for a in op.get("approvals", [])],
                        "scheduled": iso(op["scheduledAt"]), "ready_at": iso(op["readyAt"]),
                        "seconds_left": max(0, op["readyAt"] - d.now) if state == "waiting" else 0,
                        "delay_seconds": op["delay"], "history": history})
    return {"as_of": d.as_of(), "safe": d.party(safe) if safe else None,
            "timelock": d.party(timelock) if timelock else None,
            "waiting": sum(1 for c in changes if c["state"] in ("waiting", "ready")), "changes": changes}
