"""The audit report: JSON for machines, a self-contained Markdown or HTML page for people, a document to sign.

The report names what was audited and by whom (chain id, contracts, block range with dates, the tool's version,
the auditor), the checks made and which passed, the loans with their money trails (parties by name, amounts
with their currency), notes only where they apply, and each finding with the record and the money-trail line it
concerns. Its JSON carries the digest of its canonical form, which the auditor signs (``vscm.audit.signature``).
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from eth_utils import keccak

from vscm import __version__
from vscm.audit.replay import (
    BLOOM_ONLY_NOTE,
    CONTRACT_NOTES,
    ROLE_EVENTS,
    SETUP_EVENTS,
    ReplayResult,
    contracts_of,
)
from vscm.audit.state import Finding, _jsonable

__all__ = ["CHECKS", "build_report", "canonical_json", "digest_of", "render_html", "render_markdown", "render_page",
           "report_json_path", "write_report"]

MODES = ("pledge", "receivable", "prepayment", "payable")
LOAN_STATUS = ("none", "applied", "approved", "rejected", "disbursed", "warned", "recalled", "repaid", "defaulted",
               "written off")


#: Every check an audit makes, in the order the report lists them: (name as in ``Finding.check``, what it proves).
CHECKS: tuple[tuple[str, str], ...] = (
    ("blocks", ("every block of the range is there; each header's fields hash to its block hash and its parent "
                "hash is the previous block's")),
    ("log", "every platform log carries its block's hash and sets its bits in the block's logs bloom"),
    ("receipt", ("the receipts of each block with platform logs hash to the header's receiptsRoot, and every log "
                 "folded is its receipt's log, data included")),
    ("unknown-event", "every event of a platform contract is folded; none is skipped"),
    ("event", "each event's own figures agree with the state it folds into"),
    ("certificate", "certificate parts are split and paid within their values"),
    ("state", "every record and field rebuilt from the history equals what the contracts report"),
    ("money", ("money is conserved: balances sum to the supply, minted - burned = supply, tracked money = the "
               "FundTracker's balance, hops and repayments add up")),
)


def _iso(timestamp: int | None) -> str | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, timezone.utc).isoformat()


def _applicable_notes(result: ReplayResult) -> list[str]:
    """The replay's notes, less those of a contract the history never used: it emitted no event but its set-up
    (role grants, wiring), so what its events cannot carry cannot matter."""
    active = set()
    for counter, count in result.state.counters.items():
        if counter.startswith("events.") and count:
            contract, event = counter.split(".")[1:3]
            if event not in ROLE_EVENTS and event not in SETUP_EVENTS.get(contract, ()):
                active.add(contract)
    idle = set().union(*(notes for contract, notes in CONTRACT_NOTES.items() if contract not in active))
    return sorted(n for n in result.notes if n not in idle)


_LOAN = re.compile(r"\bloan (\d+)\b")


def _links(finding: dict[str, Any], loans: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """Where a finding points in the report: the record it concerns (``loan-N``, when the report shows that
    loan) and the line of its money trail (``loan-N-hop-H``: the hop of that loan in the finding's block)."""
    found = _LOAN.search(str(finding["entity"]))
    if found is None or int(found.group(1)) not in loans:
        return {"record": None, "trail": None}
    loan = loans[int(found.group(1))]
    hop = next((h for h in loan["hops"] if finding["block"] is not None and h["block"] == finding["block"]), None)
    return {"record": f"loan-{loan['loan']}", "trail": f"loan-{loan['loan']}-hop-{hop['hop']}" if hop else None}


def build_report(result: ReplayResult, findings: list[Finding], *, source: str, network: str,
                 verified_block: int | None, deployment: Any = None, block_times: tuple[int, int] | None = None,
                 auditor: dict[str, Any] | None = None, receipts_checked: bool = True) -> dict[str, Any]:
    """Everything the report says, as plain data.

    Args:
        deployment: Gives the chain id, the contracts' addresses and the currencies' codes.
        block_times: Timestamps of the first and last block of the range (their dates are in the report).
        auditor: Who ran the audit: ``{"name": ..., "address": ... or None}`` (``vscm audit replay --auditor``).
        receipts_checked: Whether the receipts check ran (not for a bloom-only check or an offline history).
    """
    state = result.state
    period = result.period
    before = period.counters if period else {}
    events = {k.removeprefix("events."): v - before.get(k, 0) for k, v in sorted(state.counters.items())
              if k.startswith("events.") and v > before.get(k, 0)}
    currencies = {a: c for c, a in (deployment.cash.items() if deployment is not None else ())}
    members = state.table("members")

    def name(address: str) -> str | None:
        return (members.get(address) or {}).get("name")

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
            "borrower": loan["borrower"], "borrower_name": name(loan["borrower"]), "lender": loan["lender"],
            "lender_name": name(loan["lender"]), "currency": loan["currency"],
            "currency_code": currencies.get(loan["currency"], loan["currency"]),
            "principal": loan["principal"], "principal_repaid": loan["principalRepaid"],
            "interest_paid": loan["interestPaid"], "written_off": loan["writtenOff"],
            "disbursed": funds.get("disbursed", 0), "returned_to_lender": funds.get("returned", 0),
            "released_to_borrower": funds.get("released", 0),
            "hops": [{"hop": h["hop"], "to": h["to"], "to_name": name(h["to"]), "amount": h["amount"],
                      "block": h["block"], "tx": h["tx"]} for h in hops],
            "repayments": [{"payer": r["payer"], "payer_name": name(r["payer"]), "interest": r["interest"],
                            "principal": r["principal"], "block": r["block"]} for r in repayments],
        })
    by_id = {ln["loan"]: ln for ln in loans}
    listed = [{**f.to_json()} for f in findings]
    for f in listed:
        f.update(_links(f, by_id))
    bloom_only = BLOOM_ONLY_NOTE in result.notes
    checks = []
    for check, what in CHECKS:
        if check == "receipt" and (bloom_only or not receipts_checked):
            continue
        if check == "certificate" and not getattr(deployment, "certificates", ""):
            continue
        if check == "state" and verified_block is None:
            continue
        if check == "log" and bloom_only:
            what = ("each block's logs bloom is exactly the bloom of all its logs, their indexes 0..n-1 (log data "
                    "unchecked: see the notes)")
        if check == "state":
            what += f" at block {verified_block}"
        count = sum(1 for f in findings if f.check == check)
        checks.append({"check": check, "what": what, "passed": count == 0, "findings": count})
    contracts = [] if deployment is None else [
        {"name": n + (f" {currencies[a]}" if a in currencies else ""), "address": a}
        for a, n in sorted(contracts_of(deployment).items(), key=lambda x: (x[1], currencies.get(x[0], "")))]
    return _jsonable({
        "title": f"Audit of {network}", "tool": "vscm", "tool_version": __version__,
        "network": network, "chain_id": deployment.chain_id if deployment is not None else None,
        "contracts": contracts, "source": source, "from_block": result.from_block, "to_block": result.to_block,
        "from_time": _iso(block_times[0]) if block_times else None,
        "to_time": _iso(block_times[1]) if block_times else None,
        "state_from_block": period.history_from if period else result.from_block,
        "verified_at_block": verified_block, "blocks": result.blocks, "events": result.events,
        "receipt_roots_recomputed": result.receipt_roots, "auditor": auditor, "checks": checks,
        "checks_passed": [c["check"] for c in checks if c["passed"]], "notes": _applicable_notes(result),
        "entities": {name: len(rows) for name, rows in sorted(state.tables.items())},
        "events_by_kind": events, "loans": loans, "findings": listed,
        "verdict": "clean" if not findings else f"{len(findings)} finding(s)",
    })


def _money(v: int) -> str:
    return f"{v // 100:,}.{v % 100:02d}"


def _amount(v: int, code: str) -> str:
    return f"{code} {_money(v)}"


def _party(address: str, name: str | None) -> str:
    return f"{name} ({address})" if name else address


def _range(r: dict[str, Any]) -> str:
    dates = (f" ({r['from_time']} to {r['to_time']})" if r.get("from_time") and r.get("to_time") else "")
    return f"blocks {r['from_block']}–{r['to_block']}{dates}"


def _auditor(r: dict[str, Any]) -> str:
    a = r.get("auditor")
    if not a:
        return "not named (vscm audit replay --auditor NAME|WALLET)"
    return _party(a["address"], a["name"]) if a.get("address") else str(a["name"])


def _digest_line(r: dict[str, Any]) -> str:
    d = r.get("digest")
    if not d:
        return ""
    return (f"Digest of this report's canonical JSON ({d['canonical']}): keccak-256 {d['keccak256']}, "
            f"SHA-256 {d['sha256']}.")


def render_markdown(r: dict[str, Any]) -> str:
    compared = f"block {r['verified_at_block']}" if r["verified_at_block"] is not None else "not compared (offline)"
    lines = [f"# {r.get('title', 'Audit of ' + r['network'])}", "",
             "| | |", "|---|---|",
             f"| network | {r['network']} (chain id {r.get('chain_id')}) |",
             f"| range | {_range(r)}, {r['blocks']} blocks, {r['events']} events |",
             f"| read from | {r['source']} |",
             f"| state compared with the contracts at | {compared} |",
             f"| tool | {r.get('tool', 'vscm')} {r.get('tool_version', '')} |",
             f"| audited by | {_auditor(r)} |", "",
             f"**Verdict: {r['verdict']}**", ""]
    if r.get("contracts"):
        lines += ["## Contracts", "", "| contract | address |", "|---|---|"]
        lines += [f"| {c['name']} | `{c['address']}` |" for c in r["contracts"]]
        lines.append("")
    if r.get("checks"):
        lines += ["## Checks", "", "| check | what it proves | result |", "|---|---|---|"]
        lines += [f"| {c['check']} | {c['what']} | {'passed' if c['passed'] else str(c['findings']) + ' finding(s)'} |"
                  for c in r["checks"]]
        lines.append("")
    if r["receipt_roots_recomputed"]:
        lines += [f"Receipts roots recomputed and matched to their headers: {r['receipt_roots_recomputed']} blocks.", ""]
    if r["notes"]:
        lines += ["## Notes", "", *[f"Note: {n}" for n in r["notes"]], ""]
    lines += ["## Summary", "", "| entity | records |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in r["entities"].items()]
    lines += ["", "## Loans and their money trails", ""]
    for ln in r["loans"]:
        code = ln.get("currency_code", "")
        lines += [f'<a id="loan-{ln["loan"]}"></a>', "",
                  f"### Loan #{ln['loan']} — {ln['mode']} — {ln['status']}", "",
                  (f"Borrower {_party(ln['borrower'], ln.get('borrower_name'))}, lender "
                   f"{_party(ln['lender'], ln.get('lender_name'))}; principal {_amount(ln['principal'], code)}, "
                   f"repaid {_amount(ln['principal_repaid'], code)} + interest {_amount(ln['interest_paid'], code)}, "
                   f"written off {_amount(ln['written_off'], code)}."), "",
                  (f"Disbursed {_amount(ln['disbursed'], code)}; returned to the lender "
                   f"{_amount(ln['returned_to_lender'], code)}; released to the borrower "
                   f"{_amount(ln['released_to_borrower'], code)}."), ""]
        if ln["hops"]:
            lines += ["| hop | to | amount | block | tx |", "|---|---|---|---|---|"]
            lines += [f'| <a id="loan-{ln["loan"]}-hop-{h["hop"]}"></a>{h["hop"]} | {_party(h["to"], h.get("to_name"))} '
                      f"| {_amount(h['amount'], code)} | {h['block']} | `{h['tx']}` |" for h in ln["hops"]]
            lines.append("")
    lines += ["## Findings", ""]
    if not r["findings"]:
        lines.append("None: the history rebuilds exactly the state the contracts report.")
    else:
        lines += ["| check | entity | field | expected (history) | found | block | note | concerns |",
                  "|---|---|---|---|---|---|---|---|"]
        for f in r["findings"]:
            where = " ".join(f"[{a}](#{a})" for a in (f.get("record"), f.get("trail")) if a)
            lines.append(f"| {f['check']} | {f['entity']} | {f['field']} | {f['expected']} | {f['found']} | "
                         f"{f['block']} | {f['note']} | {where} |")
    lines += ["", *_signature_lines(r)]
    return "\n".join(lines).rstrip("\n") + "\n"


def _signature_lines(r: dict[str, Any]) -> list[str]:
    lines = ["## Signatures", ""]
    if r.get("digest"):
        lines += [_digest_line(r), ""]
    if not r.get("signatures"):
        lines.append("Not signed yet: `vscm audit sign REPORT --wallet AUDITOR`, then `vscm audit verify REPORT`.")
    for s in r.get("signatures", []):
        lines.append(f"Signed by {_party(s['signer'], s.get('name'))} (EIP-191 personal_sign): `{s['signature']}`")
        lines.append("")
    return lines


def render_html(r: dict[str, Any]) -> str:
    def esc(value: Any) -> str:
        return html.escape(str(value))

    def table(head: list[str], rows: list[list[Any]], ids: list[str | None] | None = None) -> str:
        h = "".join(f"<th>{esc(c)}</th>" for c in head)
        b = "".join((f"<tr id='{i}'>" if i else "<tr>") + "".join(f"<td>{c}</td>" for c in row) + "</tr>"
                    for row, i in zip(rows, ids or [None] * len(rows)))
        return f"<table><tr>{h}</tr>{b}</table>"

    def party(address: str, name: str | None) -> str:
        return f"{esc(name)} <code>{esc(address)}</code>" if name else f"<code>{esc(address)}</code>"

    compared = (f"block {r['verified_at_block']}" if r["verified_at_block"] is not None else "not compared (offline)")
    a = r.get("auditor")
    by = (party(a["address"], a["name"]) if a and a.get("address") else esc(a["name"]) if a else esc(_auditor(r)))
    parts = [f"<h1>{esc(r.get('title', 'Audit of ' + r['network']))}</h1>",
             table(["", ""], [["network", f"{esc(r['network'])} (chain id {esc(r.get('chain_id'))})"],
                              ["range", f"{esc(_range(r))}, {r['blocks']} blocks, {r['events']} events"],
                              ["read from", esc(r["source"])], ["state compared with the contracts at", compared],
                              ["tool", esc(f"{r.get('tool', 'vscm')} {r.get('tool_version', '')}")],
                              ["audited by", by]]),
             f"<p><b>Verdict: {esc(r['verdict'])}</b></p>"]
    if r.get("contracts"):
        parts += ["<h2>Contracts</h2>",
                  table(["contract", "address"], [[esc(c["name"]), f"<code>{esc(c['address'])}</code>"]
                                                  for c in r["contracts"]])]
    if r.get("checks"):
        parts += ["<h2>Checks</h2>",
                  table(["check", "what it proves", "result"],
                        [[esc(c["check"]), esc(c["what"]), "passed" if c["passed"] else f"{c['findings']} finding(s)"]
                         for c in r["checks"]])]
    if r["receipt_roots_recomputed"]:
        parts.append(f"<p>Receipts roots recomputed and matched to their headers: {r['receipt_roots_recomputed']} "
                     "blocks.</p>")
    if r["notes"]:
        parts += ["<h2>Notes</h2>", "<p>" + "<br>".join(f"Note: {esc(n)}" for n in r["notes"]) + "</p>"]
    parts += ["<h2>Summary</h2>", table(["entity", "records"], [[esc(k), esc(v)] for k, v in r["entities"].items()]),
              "<h2>Loans and their money trails</h2>"]
    for ln in r["loans"]:
        code = ln.get("currency_code", "")
        parts.append(f"<h3 id='loan-{ln['loan']}'>Loan #{ln['loan']} — {esc(ln['mode'])} — {esc(ln['status'])}</h3>")
        parts.append(f"<p>Borrower {party(ln['borrower'], ln.get('borrower_name'))}, lender "
                     f"{party(ln['lender'], ln.get('lender_name'))}; principal {esc(_amount(ln['principal'], code))}, "
                     f"repaid {esc(_amount(ln['principal_repaid'], code))} + interest "
                     f"{esc(_amount(ln['interest_paid'], code))}, written off {esc(_amount(ln['written_off'], code))}"
                     f"; disbursed {esc(_amount(ln['disbursed'], code))}, returned to the lender "
                     f"{esc(_amount(ln['returned_to_lender'], code))}, released to the borrower "
                     f"{esc(_amount(ln['released_to_borrower'], code))}.</p>")
        if ln["hops"]:
            parts.append(table(["hop", "to", "amount", "block", "tx"],
                               [[h["hop"], party(h["to"], h.get("to_name")), esc(_amount(h["amount"], code)),
                                 h["block"], f"<code>{esc(h['tx'])}</code>"] for h in ln["hops"]],
                               [f"loan-{ln['loan']}-hop-{h['hop']}" for h in ln["hops"]]))
    parts.append("<h2>Findings</h2>")
    parts.append(table(["check", "entity", "field", "expected (history)", "found", "block", "note", "concerns"],
                       [[esc(f["check"]), esc(f["entity"]), esc(f["field"]), esc(f["expected"]), esc(f["found"]),
                         esc(f["block"]), esc(f["note"]),
                         " ".join(f"<a href='#{x}'>{esc(x)}</a>" for x in (f.get("record"), f.get("trail")) if x)]
                        for f in r["findings"]]) if r["findings"] else "<p>None.</p>")
    parts.append("<h2>Signatures</h2>")
    if r.get("digest"):
        parts.append(f"<p>{esc(_digest_line(r))}</p>")
    if not r.get("signatures"):
        parts.append("<p>Not signed yet: <code>vscm audit sign REPORT --wallet AUDITOR</code>, then "
                     "<code>vscm audit verify REPORT</code>.</p>")
    for s in r.get("signatures", []):
        parts.append(f"<p>Signed by {party(s['signer'], s.get('name'))} (EIP-191 personal_sign): "
                     f"<code>{esc(s['signature'])}</code></p>")
    style = ("body{font-family:sans-serif;max-width:70em}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:2px 6px;vertical-align:top}"
             "td,p,code{overflow-wrap:anywhere;word-break:break-all}")  # long hex wraps, in cells and text
    return f"<!doctype html><html><head><meta charset='utf-8'><title>VSCM audit</title><style>{style}</style></head>" \
           f"<body>{''.join(parts)}</body></html>\n"


def report_json_path(path: Path) -> Path:
    """Where :func:`write_report` writes the report's JSON beside the page ``path``."""
    return path.with_suffix(".json") if path.suffix.lower() != ".json" else path.with_suffix(".report.json")


#: The fields of a report's JSON that are not part of what is signed: the digest itself and the signatures.
UNSIGNED_FIELDS = ("digest", "signatures")
CANONICAL = "UTF-8 JSON, keys sorted, no whitespace, without the digest and signatures fields"


def canonical_json(report: dict[str, Any]) -> bytes:
    """The bytes a report's digest is taken of (:data:`CANONICAL`): the same for the report as built and as
    read back from its JSON file."""
    body = {k: v for k, v in report.items() if k not in UNSIGNED_FIELDS}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def digest_of(report: dict[str, Any]) -> dict[str, str]:
    """The report's digest: keccak-256 (what the auditor signs) and SHA-256 of :func:`canonical_json`."""
    data = canonical_json(report)
    return {"canonical": CANONICAL, "keccak256": "0x" + keccak(data).hex(), "sha256": hashlib.sha256(data).hexdigest()}


def render_page(report: dict[str, Any], path: Path) -> str:
    """The page for ``path``: HTML for ``.html``/``.htm``, else Markdown."""
    return render_html(report) if path.suffix.lower() in (".html", ".htm") else render_markdown(report)


def write_report(report: dict[str, Any], path: Path) -> tuple[Path, Path]:
    """Write the page (HTML for ``.html``/``.htm``, else Markdown) and the JSON beside it, with the digest of the
    report's canonical JSON in both (``report["digest"]``: what ``vscm audit sign`` signs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    report["digest"] = digest_of(json.loads(json.dumps(report)))  # as it reads back from the file
    json_path = report_json_path(path)
    json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    path.write_text(render_page(report, path))
    return path, json_path
