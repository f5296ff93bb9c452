"""Exports a bank's reporting team imports: loans, repayments, money trails and alerts of one lender,
as CSV or XLSX, each row with its currency and the amounts as plain decimals of that currency (never
added across currencies), times ISO 8601 UTC, parties by name and address; optionally within a
date range (inclusive, UTC days)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from vscm.console.views import CASH_DECIMALS, DEFAULTED, RUNNING, Directory, iso, outstanding
from vscm.index.lender import MODES, STATUSES

__all__ = ["KINDS", "rows", "to_csv", "to_xlsx"]

Rows = tuple[list[str], list[list[Any]]]


def _decimal(units: int) -> Decimal:
    return Decimal(units).scaleb(-CASH_DECIMALS)


def _window(start: date | None, end: date | None) -> Callable[[int], bool]:
    low = int(datetime.combine(start, time.min, UTC).timestamp()) if start else None
    high = int(datetime.combine(end, time.max, UTC).timestamp()) if end else None

    def inside(ts: int) -> bool:
        if low is None and high is None:
            return True
        return bool(ts) and (low is None or ts >= low) and (high is None or ts <= high)

    return inside


def _loans(d: Directory, lender: str, inside: Callable[[int], bool]) -> Rows:
    header = ["loan", "mode", "status", "borrower", "borrower_address", "currency", "principal", "principal_repaid",
              "interest_paid", "written_off", "outstanding", "rate_bps", "disbursed", "maturity"]
    out = []
    for ln in d.index.loans_of(lender=lender):
        if not inside(ln["disbursedAt"]):
            continue
        owed = outstanding(ln, d.now) if ln["status"] in (*RUNNING, DEFAULTED) else 0
        out.append([ln["loanId"], MODES[ln["mode"]], STATUSES[ln["status"]], d.party(ln["borrower"])["name"],
                    ln["borrower"], d.code(ln["currency"]), *(_decimal(ln[k]) for k in (
                        "principal", "principalRepaid", "interestPaid", "writtenOff")), _decimal(owed), ln["rateBps"],
                    iso(ln["disbursedAt"]), iso(ln["maturity"])])
    return header, out


def _stamps(d: Directory) -> dict[int, int]:
    return {int(n): int(t) for n, t in d.index.db.query("SELECT number, timestamp FROM blocks")}


def _repayments(d: Directory, lender: str, inside: Callable[[int], bool]) -> Rows:
    header = ["loan", "time", "block", "tx", "payer", "payer_address", "currency", "interest", "principal",
              "outstanding_after"]
    mine = {str(ln["loanId"]): d.code(ln["currency"]) for ln in d.index.loans_of(lender=lender)}
    stamps = _stamps(d)
    out = []
    for k, r in sorted(d.index.records("repayments").items(), key=lambda kv: kv[1]["block"]):
        code = mine.get(k.split(":")[0])
        ts = stamps.get(r["block"], 0)
        if code is None or not inside(ts):
            continue
        out.append([r["loanId"], iso(ts), r["block"], r["tx"], d.party(r["payer"])["name"], r["payer"], code,
                    _decimal(r["interest"]), _decimal(r["principal"]), _decimal(r["outstanding"])])
    return header, out


def _trails(d: Directory, lender: str, inside: Callable[[int], bool]) -> Rows:
    header = ["loan", "hop", "time", "block", "tx", "paid_to", "paid_to_address", "currency", "amount", "purpose"]
    stamps = _stamps(d)
    out = []
    for ln in d.index.loans_of(lender=lender):
        code = d.code(ln["currency"])
        for h in d.index.hops(ln["loanId"]):
            ts = stamps.get(h["block"], 0)
            if inside(ts):
                out.append([ln["loanId"], h["hop"], iso(ts), h["block"], h["tx"], d.party(h["to"])["name"], h["to"],
                            code, _decimal(h["amount"]), h["purpose"]])
    return header, out


def _alerts(d: Directory, lender: str, inside: Callable[[int], bool]) -> Rows:
    header = ["alert", "loan", "raised", "deadline", "severity", "indicator", "decision", "currency", "outstanding"]
    loans = {ln["loanId"]: ln for ln in d.index.loans_of(lender=lender)}
    controls = d.index.records("loan_controls")
    out = []
    for k, a in sorted(d.index.records("alerts").items(), key=lambda kv: int(kv[0])):
        ln = loans.get(a["subjectId"]) if a["subject"] == 0 else None
        if ln is None or not inside(a["raisedAt"]):
            continue
        control = controls.get(str(ln["loanId"]), {})
        decision = ("none", "continue", "recall")[control.get("decision", 0)] if control.get("alertId") == int(k) \
            else "-"
        owed = outstanding(ln, d.now) if ln["status"] in (*RUNNING, DEFAULTED) else 0
        out.append([int(k), ln["loanId"], iso(a["raisedAt"]), iso(a["deadline"]), a["severity"], a["indicator"],
                    decision, d.code(ln["currency"]), _decimal(owed)])
    return header, out


KINDS: dict[str, Callable[[Directory, str, Callable[[int], bool]], Rows]] = {
    "loans": _loans, "repayments": _repayments, "trails": _trails, "alerts": _alerts}


def rows(d: Directory, lender: str, kind: str, start: date | None = None, end: date | None = None) -> Rows:
    """The header and rows of export ``kind`` (one of ``KINDS``) for ``lender``."""
    return KINDS[kind](d, lender, _window(start, end))


def to_csv(table: Rows) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(table[0])
    writer.writerows([[f"{v:.{CASH_DECIMALS}f}" if isinstance(v, Decimal) else v for v in row] for row in table[1]])
    return buffer.getvalue()


def to_xlsx(table: Rows, title: str) -> bytes:
    """One worksheet; amounts as numbers with two decimals (the currency is the row's ``currency`` cell)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31]
    sheet.append(table[0])
    for row in table[1]:
        sheet.append(row)
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, Decimal):
                cell.number_format = "#,##0.00"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()



def audit_rows(report: dict[str, Any], table: str) -> Rows:
    """A period audit's loans (with the money of the period, per currency) or its findings, as rows."""
    if table == "findings":
        header = ["check", "entity", "field", "expected", "found", "block", "note"]
        return header, [[f[k] for k in header] for f in report["findings"]]
    header = ["loan", "mode", "status", "lender", "lender_address", "borrower", "borrower_address", "currency",
              "principal", "principal_repaid", "interest_paid", "written_off", "disbursed", "paid_out_in_period",
              "repaid_in_period"]
    out = []
    for ln in report["loans"]:
        paid = sum(int(h["amount"]["units"]) for h in ln["hops"])
        repaid = sum(int(r["interest"]["units"]) + int(r["principal"]["units"]) for r in ln["repayments"])
        out.append([ln["loan"], ln["mode"], ln["status"], ln["lender"]["name"], ln["lender"]["address"],
                    ln["borrower"]["name"], ln["borrower"]["address"], ln["currency"],
                    *(_decimal(int(ln[k]["units"])) for k in ("principal", "principal_repaid", "interest_paid",
                                                               "written_off", "disbursed")),
                    _decimal(paid), _decimal(repaid)])
    return header, out
