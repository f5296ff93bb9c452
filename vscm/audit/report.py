"""The audit report: JSON for machines, a self-contained Markdown or HTML page for people."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from vscm.audit.replay import ReplayResult
from vscm.audit.state import Finding, _jsonable

__all__ = ["build_report", "render_html", "render_markdown", "report_json_path", "write_report"]

MODES = ("pledge", "receivable", "prepayment", "payable")
LOAN_STATUS = ("none", "applied", "approved", "rejected", "disbursed", "warned", "recalled", "repaid", "defaulted",
               "written off")


def build_report(result: ReplayResult, findings: list[Finding], *, source: str, network: str,
                 verified_block: int | None) -> dict[str, Any]:
    """Everything the report says, as plain data."""
    state = result.state
    period = result.period
    before = period.counters if period else {}
    events = {k.removeprefix("events."): v - before.get(k, 0) for k, v in sorted(state.counters.items())
              if k.startswith("events.") and v > before.get(k, 0)}
    if period is None:
        shown = set(state.table("loans"))
    else:  # a period audit: the loans the period wrote to, with the money moved in the period
        touched = period.touched
        shown = {*touched.get("loans", ()), *touched.get("funds", ()),
                 *(k.split(":")[0] for k in (*touched.get("hops", ()), *touched.get("repayments", ())))}
        shown &= set(state.table("loans"))
    loans = []
    for lid, loan in sorted(state.table("loans").items(), key=lambda kv: int(kv[0])):
        if lid not in shown:
            continue
        funds = state.get("funds", lid) or {}
        hops = sorted((h for k, h in state.table("hops").items() if k.split(":")[0] == lid
                       and h["block"] >= result.from_block), key=lambda h: h["hop"])
        repayments = [r for k, r in sorted(state.table("repayments").items()) if k.split(":")[0] == lid
                      and r["block"] >= result.from_block]
        loans.append({
            "loan": int(lid), "mode": MODES[loan["mode"]], "status": LOAN_STATUS[loan["status"]],
            "borrower": loan["borrower"], "lender": loan["lender"], "currency": loan["currency"],
            "principal": loan["principal"], "principal_repaid": loan["principalRepaid"],
            "interest_paid": loan["interestPaid"], "written_off": loan["writtenOff"],
            "disbursed": funds.get("disbursed", 0), "returned_to_lender": funds.get("returned", 0),
            "released_to_borrower": funds.get("released", 0),
            "hops": [{"hop": h["hop"], "to": h["to"], "amount": h["amount"], "block": h["block"], "tx": h["tx"]}
                     for h in hops],
            "repayments": [{"payer": r["payer"], "interest": r["interest"], "principal": r["principal"],
                            "block": r["block"]} for r in repayments],
        })
    return _jsonable({
        "network": network, "source": source, "from_block": result.from_block, "to_block": result.to_block,
        "state_from_block": period.history_from if period else result.from_block,
        "verified_at_block": verified_block, "blocks": result.blocks, "events": result.events,
        "receipt_roots_recomputed": result.receipt_roots, "notes": sorted(result.notes),
        "entities": {name: len(rows) for name, rows in sorted(state.tables.items())},
        "events_by_kind": events, "loans": loans, "findings": [f.to_json() for f in findings],
        "verdict": "clean" if not findings else f"{len(findings)} finding(s)",
    })


def _money(v: int) -> str:
    return f"{v // 100:,}.{v % 100:02d}"


def render_markdown(r: dict[str, Any]) -> str:
    lines = [f"# Audit of {r['network']}", "",
             (f"Blocks {r['from_block']}–{r['to_block']} ({r['blocks']} blocks, {r['events']} events) read from "
             f"{r['source']}; state compared with the contracts at block {r['verified_at_block']}."), "",
             f"**Verdict: {r['verdict']}**", "",
             f"Receipts roots recomputed and matched to their headers: {r['receipt_roots_recomputed']} blocks.",
             *[f"Note: {n}" for n in r["notes"]], "", "## Summary", "", "| entity | records |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in r["entities"].items()]
    lines += ["", "## Loans and their money trails", ""]
    for ln in r["loans"]:
        lines += [f"### Loan #{ln['loan']} — {ln['mode']} — {ln['status']}", "",
                  (f"Borrower {ln['borrower']}, lender {ln['lender']}; principal {_money(ln['principal'])}, "
                  f"repaid {_money(ln['principal_repaid'])} + interest {_money(ln['interest_paid'])}, "
                  f"written off {_money(ln['written_off'])}."), "",
                  (f"Disbursed {_money(ln['disbursed'])}; returned to the lender {_money(ln['returned_to_lender'])}; "
                  f"released to the borrower {_money(ln['released_to_borrower'])}."), ""]
        if ln["hops"]:
            lines += ["| hop | to | amount | block | tx |", "|---|---|---|---|---|"]
            lines += [f"| {h['hop']} | {h['to']} | {_money(h['amount'])} | {h['block']} | {h['tx'][:12]}… |"
                      for h in ln["hops"]]
            lines.append("")
    lines += ["## Findings", ""]
    if not r["findings"]:
        lines.append("None: the history rebuilds exactly the state the contracts report.")
    else:
        lines += ["| check | entity | field | expected (history) | found | block | note |", "|---|---|---|---|---|---|---|"]
        lines += [f"| {f['check']} | {f['entity']} | {f['field']} | {f['expected']} | {f['found']} | {f['block']} | "
                  f"{f['note']} |" for f in r["findings"]]
    return "\n".join(lines) + "\n"


def render_html(r: dict[str, Any]) -> str:
    def table(head: list[str], rows: list[list[Any]]) -> str:
        h = "".join(f"<th>{html.escape(str(c))}</th>" for c in head)
        b = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
        return f"<table><tr>{h}</tr>{b}</table>"

    parts = [f"<h1>Audit of {html.escape(r['network'])}</h1>",
             (f"<p>Blocks {r['from_block']}–{r['to_block']} ({r['blocks']} blocks, {r['events']} events) read from "
             f"{html.escape(r['source'])}; compared with the contracts at block {r['verified_at_block']}.</p>"),
             f"<p><b>Verdict: {html.escape(r['verdict'])}</b></p>",
             f"<p>Receipts roots recomputed and matched to their headers: {r['receipt_roots_recomputed']} blocks."
             + "".join(f"<br>Note: {html.escape(n)}" for n in r["notes"]) + "</p>", "<h2>Summary</h2>",
             table(["entity", "records"], [[k, v] for k, v in r["entities"].items()]),
             "<h2>Loans and their money trails</h2>"]
    for ln in r["loans"]:
        parts.append(f"<h3>Loan #{ln['loan']} — {ln['mode']} — {ln['status']}</h3>")
        parts.append(f"<p>principal {_money(ln['principal'])}, repaid {_money(ln['principal_repaid'])} + interest "
                     f"{_money(ln['interest_paid'])}, written off {_money(ln['written_off'])}</p>")
        parts.append(table(["hop", "to", "amount", "block"],
                           [[h["hop"], h["to"], _money(h["amount"]), h["block"]] for h in ln["hops"]]))
    parts.append("<h2>Findings</h2>")
    parts.append(table(["check", "entity", "field", "expected (history)", "found", "block", "note"],
                       [[f["check"], f["entity"], f["field"], f["expected"], f["found"], f["block"], f["note"]]
                        for f in r["findings"]]) if r["findings"] else "<p>None.</p>")
    style = "body{font-family:sans-serif;max-width:70em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}"
    return f"<!doctype html><html><head><meta charset='utf-8'><title>VSCM audit</title><style>{style}</style></head>" \
           f"<body>{''.join(parts)}</body></html>\n"


def report_json_path(path: Path) -> Path:
    """Where :func:`write_report` writes the report's JSON beside the page ``path``."""
    return path.with_suffix(".json") if path.suffix.lower() != ".json" else path.with_suffix(".report.json")


def write_report(report: dict[str, Any], path: Path) -> tuple[Path, Path]:
    """Write the page (HTML for ``.html``/``.htm``, else Markdown) and the JSON beside it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    page = render_html(report) if path.suffix.lower() in (".html", ".htm") else render_markdown(report)
    json_path = report_json_path(path)
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    path.write_text(page)
    return path, json_path
