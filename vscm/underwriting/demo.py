"""The demo's underwriting step: a lender reads an SME's profile before lending, and refuses an applicant
whose supply chain was flagged (``vscm.demo`` calls :func:`underwrite` after the control mechanism)."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["underwrite"]

DAY = 86_400


def _summary(profile: dict[str, Any], result: dict[str, Any]) -> str:
    trade, perf, credit = profile["trade"], profile["performance"], profile["credit"]
    orders = sum(trade["by_counterparty"].values())
    paid = perf["invoices_paid"]
    outcomes: dict[str, int] = {}
    for r in credit["loans"].values():
        for k in ("repaid_on_time", "repaid_late", "running", "recalled", "defaulted", "written_off"):
            outcomes[k] = outcomes.get(k, 0) + r[k]["value"]
    loans = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in outcomes.items() if v) or "none"
    fired = [c["feature"] for c in result["contributions"] if c["fired"]]
    return (f"{orders} orders with {trade['counterparties']['value']} counterparties, invoices paid on time "
            f"{paid['on_time']['value']} / late {paid['late']['value']}; loans: {loans}; "
            f"score {result['score']} of {result['base']} (fired: {', '.join(fired) or 'none'})")


def underwrite(platform: Any, cast: Any, control: dict[str, Any], step: Any, console: Any) -> dict[str, Any]:
    """Index the history; Baoji consents and the bank reads its profile; Yiwu's (its loan application with
    the bank lets the bank read it) shows a chain declared fraudulent, and the bank refuses it."""
    from vscm.audit.source import source_for
    from vscm.index import open_index
    from vscm.risk.demo import ControlCast
    from vscm.underwriting.consent import ConsentRequired, index_now, require
    from vscm.underwriting.profile import credit_profile
    from vscm.underwriting.scorecard import score

    console.print("\n[bold]8b. Underwriting: the lender reads the applicant's record on the platform")
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp, open_index(Path(tmp) / "index.sqlite") as index:
        bank, baoji = cast.bank, cast.supplier_a
        index.update(source_for(platform.chain), platform.deployment)
        try:
            require(index, baoji.address, bank.address, index_now(index))
        except ConsentRequired:
            step("Silk Road Bank asked for Baoji Steel Parts' profile → refused: no consent on chain yet")
        until = platform.chain.now() + 30 * DAY
        platform.consents.as_(baoji).grant_consent(bank.address, until)
        index.update(source_for(platform.chain), platform.deployment)
        now = index_now(index)
        access = require(index, baoji.address, bank.address, now)
        profile = credit_profile(index, baoji.address)
        good = score(profile)
        step(f"Baoji Steel Parts granted Silk Road Bank read access on chain (ConsentRegistry, signed with its "
             f"own key) until {datetime.fromtimestamp(until, UTC).date().isoformat()}; the bank read its profile "
             f"({access.basis})")
        step(f"Baoji: {_summary(profile, good)}")
        step("every figure names the transactions it was counted from; the bank lends on this record")
        yiwu = ControlCast.from_seed().yiwu
        access = require(index, yiwu.address, bank.address, now)
        profile = credit_profile(index, yiwu.address)
        bad = score(profile)
        chain = profile["risk"]["chain"]
        flags = [k.replace("_", " ") for k in ("evicted", "fraud_declared", "under_investigation") if chain[k]]
        step(f"Yiwu Components applied to the bank too ({access.detail}); the bank read its profile")
        step(f"Yiwu: {_summary(profile, bad)}")
        step(f"Yiwu's chain #{chain['id']}: {', '.join(flags) or 'in good standing'} → the bank refuses it")
        out.update(good=good["score"], bad=bad["score"])
    return out
