"""What lenders ask of the index: their portfolio, their exposure, one loan in full."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from vscm.audit.fold import pending_interest
from vscm.index.store import Index

__all__ = ["MODES", "STATUSES", "exposure", "loan_detail", "pending_interest", "portfolio"]

MODES = ("pledge", "receivable", "prepayment", "payable")
STATUSES = ("none", "applied", "approved", "rejected", "disbursed", "warned", "recalled", "repaid", "defaulted",
            "written_off")
RUNNING = (4, 5, 6)
CLOSED = (3, 7, 9)  # rejected, repaid, written off


def _as_of(index: Index) -> tuple[int, int]:
    cursor = index.cursor()
    if cursor is None:
        return -1, 0
    return cursor.block, index.block_timestamp(cursor.block)


def portfolio(index: Index, lender: str) -> dict[str, Any]:
    """Per mode: loans, running, outstanding principal, accrued interest (as of the index's last block),
    collateral locked and written off — the shape `vscm lender portfolio` always printed."""
    block, now = _as_of(index)
    rows: dict[str, dict[str, int]] = defaultdict(lambda: {"loans": 0, "running": 0, "outstanding_principal": 0,
                                                           "accrued_interest": 0, "collateral_locked": 0,
                                                           "written_off": 0})
    for ln in index.loans_of(lender=lender):
        r = rows[MODES[ln["mode"]]]
        r["loans"] += 1
        if ln["status"] in CLOSED:
            r["written_off"] += ln["writtenOff"]
            continue
        r["running"] += int(ln["status"] in RUNNING or ln["status"] == 8)
        r["outstanding_principal"] += ln["principal"] - ln["principalRepaid"] - ln["writtenOff"]
        r["accrued_interest"] += ln["interestAccrued"] - ln["interestPaid"] + pending_interest(ln, now)
        asset = index.record("assets", str(ln["assetId"])) or {}
        if asset.get("lockedBy") == ln["loanId"]:
            r["collateral_locked"] += 1
    return {"lender": lender, "as_of_block": block, "modes": dict(rows)}


def exposure(index: Index, lender: str) -> dict[str, Any]:
    """What the lender stands to lose, by borrower, by supply chain and by currency: outstanding
    principal and interest of its open loans, and their loan money not yet spent."""
    block, now = _as_of(index)
    by: dict[str, dict[str, dict[str, int]]] = {"borrower": {}, "supply_chain": {}, "currency": {}}
    total = {"loans": 0, "outstanding": 0, "unspent": 0}
    for ln in index.loans_of(lender=lender):
        if ln["status"] in CLOSED or ln["status"] < 4:
            continue
        owed = (ln["principal"] + ln["interestAccrued"] - ln["principalRepaid"] - ln["interestPaid"] - ln["writtenOff"]
                + pending_interest(ln, now))
        funds = index.record("funds", str(ln["loanId"])) or {}
        unspent = (funds.get("disbursed", 0) - funds.get("spent", 0) - funds.get("returned", 0)
                   - funds.get("released", 0))
        member = index.record("members", ln["borrower"]) or {}
        keys = {"borrower": ln["borrower"], "supply_chain": str(member.get("chainId", 0)), "currency": ln["currency"]}
        for dimension, k in keys.items():
            slot = by[dimension].setdefault(k, {"loans": 0, "outstanding": 0, "unspent": 0})
            slot["loans"] += 1
            slot["outstanding"] += owed
            slot["unspent"] += unspent
        total["loans"] += 1
        total["outstanding"] += owed
        total["unspent"] += unspent
    return {"lender": lender, "as_of_block": block, "total": total, **by}


def loan_detail(index: Index, loan_id: int) -> dict[str, Any] | None:
    """One loan as the index knows it: its record, tracked money, money trail and repayments."""
    loan = index.record("loans", str(loan_id))
    if loan is None:
        return None
    block, now = _as_of(index)
    funds = index.record("funds", str(loan_id))
    repayments = sorted((r for k, r in index.records("repayments").items() if k.split(":")[0] == str(loan_id)),
                        key=lambda r: r["block"])
    return {"loan": loan_id, "as_of_block": block, "mode": MODES[loan["mode"]], "status": STATUSES[loan["status"]],
            **{k: v for k, v in loan.items() if k not in ("mode", "status")},
            "accrued_now": loan["interestAccrued"] - loan["interestPaid"] + pending_interest(loan, now),
            "funds": funds, "hops": index.hops(loan_id), "repayments": repayments}
