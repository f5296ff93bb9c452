"""What lenders ask of the index: their portfolio, their exposure, one loan in full.

Money is never added across currencies: every amount sits under its currency's code (the
``PlatformCash`` token's ``currencyCode``, as the OrderBook announced it: ``CNY``, ``USD``), and every
total is a total per currency.
"""

from __future__ import annotations

from typing import Any

from vscm.audit.fold import pending_interest
from vscm.index.store import Index

__all__ = ["MODES", "STATUSES", "currency_code", "exposure", "loan_detail", "pending_interest", "portfolio"]

MODES = ("pledge", "receivable", "prepayment", "payable")
STATUSES = ("none", "applied", "approved", "rejected", "disbursed", "warned", "recalled", "repaid", "defaulted",
            "written_off", "withdrawn")
RUNNING = (4, 5, 6)
CLOSED = (3, 7, 9, 10)  # rejected, repaid, written off, withdrawn
PORTFOLIO_AMOUNTS = ("outstanding_principal", "accrued_interest", "written_off")
EXPOSURE_AMOUNTS = ("outstanding", "unspent")


def _as_of(index: Index) -> tuple[int, int]:
    cursor = index.cursor()
    if cursor is None:
        return -1, 0
    return cursor.block, index.block_timestamp(cursor.block)


def currency_code(index: Index, currency: str) -> str:
    """The code of the currency whose ``PlatformCash`` token is at ``currency`` (its address when the
    OrderBook never announced it, so an unknown token still stands apart from every other)."""
    record = index.record("currencies", currency)
    return str(record["code"]) if record else currency


def portfolio(index: Index, lender: str) -> dict[str, Any]:
    """Per mode: loans, running, collateral locked, and per currency the outstanding principal, accrued
    interest (as of the index's last block) and written off; ``totals`` per currency over all modes.

    Returns:
        ``{"lender", "as_of_block", "modes": {mode: {"loans", "running", "collateral_locked",
        "currencies": {code: {"outstanding_principal", "accrued_interest", "written_off"}}}},
        "totals": {code: {...the same amounts}}}``.
    """
    block, now = _as_of(index)
    modes: dict[str, dict[str, Any]] = {}
    totals: dict[str, dict[str, int]] = {}
    codes: dict[str, str] = {}
    for ln, asset in index.loans_with_assets(lender):
        if ln["currency"] not in codes:
            codes[ln["currency"]] = currency_code(index, ln["currency"])
        code = codes[ln["currency"]]
        r = modes.setdefault(MODES[ln["mode"]], {"loans": 0, "running": 0, "collateral_locked": 0, "currencies": {}})
        amounts = {"outstanding_principal": 0, "accrued_interest": 0, "written_off": 0}
        r["loans"] += 1
        if ln["status"] in CLOSED:
            amounts["written_off"] = ln["writtenOff"]
        else:
            r["running"] += int(ln["status"] in RUNNING or ln["status"] == 8)
            amounts["outstanding_principal"] = ln["principal"] - ln["principalRepaid"] - ln["writtenOff"]
            amounts["accrued_interest"] = ln["interestAccrued"] - ln["interestPaid"] + pending_interest(ln, now)
            if (asset or {}).get("lockedBy") == ln["loanId"]:
                r["collateral_locked"] += 1
        for slot in (r["currencies"].setdefault(code, dict.fromkeys(PORTFOLIO_AMOUNTS, 0)),
                     totals.setdefault(code, dict.fromkeys(PORTFOLIO_AMOUNTS, 0))):
            for name, amount in amounts.items():
                slot[name] += amount
    return {"lender": lender, "as_of_block": block, "modes": modes, "totals": totals}


def exposure(index: Index, lender: str) -> dict[str, Any]:
    """What the lender stands to lose on its open loans: outstanding principal and interest, and loan
    money not yet spent, per currency — by borrower, by supply chain, and in total.

    Returns:
        ``{"lender", "as_of_block", "loans": open loans, "currency": {code: {"loans", "outstanding",
        "unspent"}}, "borrower": {address: {code: {...}}}, "supply_chain": {id: {code: {...}}}}``;
        ``currency`` is the total per currency.
    """
    block, now = _as_of(index)
    by: dict[str, dict[str, dict[str, dict[str, int]]]] = {"borrower": {}, "supply_chain": {}}
    per_currency: dict[str, dict[str, int]] = {}
    codes: dict[str, str] = {}
    count = 0
    for ln in index.loans_of(lender=lender):
        if ln["status"] in CLOSED or ln["status"] < 4:
            continue
        if ln["currency"] not in codes:
            codes[ln["currency"]] = currency_code(index, ln["currency"])
        code = codes[ln["currency"]]
        owed = (ln["principal"] + ln["interestAccrued"] - ln["principalRepaid"] - ln["interestPaid"] - ln["writtenOff"]
                + pending_interest(ln, now))
        funds = index.record("funds", str(ln["loanId"])) or {}
        unspent = (funds.get("disbursed", 0) - funds.get("spent", 0) - funds.get("returned", 0)
                   - funds.get("released", 0))
        # A loan belongs to the chain its borrower was in when it applied (LoanBook.loanChain): that
        # chain's fraud sweep freezes it, whether or not the borrower left the chain since.
        keys = {"borrower": ln["borrower"], "supply_chain": str(ln.get("chain", 0))}
        slots = [by[dimension].setdefault(k, {}).setdefault(code, {"loans": 0, "outstanding": 0, "unspent": 0})
                 for dimension, k in keys.items()]
        slots.append(per_currency.setdefault(code, {"loans": 0, "outstanding": 0, "unspent": 0}))
        for slot in slots:
            slot["loans"] += 1
            slot["outstanding"] += owed
            slot["unspent"] += unspent
        count += 1
    return {"lender": lender, "as_of_block": block, "loans": count, "currency": per_currency, **by}


def loan_detail(index: Index, loan_id: int) -> dict[str, Any] | None:
    """One loan as the index knows it: its record (with its currency's code), tracked money, money trail
    and repayments."""
    loan = index.record("loans", str(loan_id))
    if loan is None:
        return None
    block, now = _as_of(index)
    funds = index.record("funds", str(loan_id))
    repayments = sorted(index.records_of("repayments", str(loan_id)).values(), key=lambda r: r["block"])
    return {"loan": loan_id, "as_of_block": block, "mode": MODES[loan["mode"]], "status": STATUSES[loan["status"]],
            **{k: v for k, v in loan.items() if k not in ("mode", "status")},
            "currencyCode": currency_code(index, loan["currency"]),
            "accrued_now": loan["interestAccrued"] - loan["interestPaid"] + pending_interest(loan, now),
            "funds": funds, "hops": index.hops(loan_id), "repayments": repayments}
