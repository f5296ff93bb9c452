"""The scorecard's config: packaged defaults, a user file overriding only its keys, bad files refused
with the key named; and its arithmetic on a profile: each contribution shown, the score their sum."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from vscm.underwriting.backtest import roc_auc
from vscm.underwriting.scorecard import FEATURES, baseline, load_scorecard, score


def fig(value: Any, *txs: str) -> dict[str, Any]:
    return {"value": value, "evidence": [{"tx": t, "block": 1, "log_index": 0, "contract": "OrderBook",
                                          "event": "E"} for t in txs]}


def profile(*, late: int = 0, on_time: int = 4, overdue: int = 0, days: int = 0, orders: int = 4, share: float = 0.5,
            documents: float = 2.0, defaulted: int = 0, loan_alerts: int = 0, chain_alerts: int = 0,
            core: str = "active", fraud: bool = False) -> dict[str, Any]:
    outcome = {k: fig(0) for k in ("applied", "rejected", "running", "repaid_on_time", "repaid_late", "recalled",
                                   "defaulted", "written_off")}
    outcome["defaulted"] = fig(defaulted, *["0xd"] * defaulted)
    return {
        "member": "0xM",
        "trade": {"by_counterparty": {"A": orders - orders // 2, "B": orders // 2} if orders else {},
                  "concentration": fig(share, "0xc")},
        "performance": {"invoices_paid": {"on_time": fig(on_time), "late": fig(late, *["0xl"] * late),
                                          "overdue_unsettled": fig(overdue, *["0xo"] * overdue),
                                          "max_days_late": fig(days, "0xl") if days else fig(0)},
                        "cancelled": fig(0), "disputed": fig(0), "documents_per_order": fig(documents)},
        "credit": {"loans": {"pledge": outcome}},
        "risk": {"alerts": {"on_loans": fig(loan_alerts), "on_chain": fig(chain_alerts)},
                 "decisions": {"recall": fig(0), "continue": fig(0)}, "oracle_breaches": fig(0),
                 "core": {"status": core, "evidence": []},
                 "chain": {"evicted": False, "fraud_declared": fraud, "evidence": []}},
    }


def test_defaults_name_every_feature() -> None:
    card = load_scorecard()
    assert [f.name for f in card.features] == list(FEATURES)
    assert card.base == 100 and all(f.points > 0 for f in card.features)


def test_a_clean_member_keeps_the_base_score() -> None:
    result = score(profile())
    assert result["score"] == 100 and not any(c["fired"] for c in result["contributions"])


def test_each_fired_feature_takes_its_points_with_its_evidence() -> None:
    result = score(profile(late=1, on_time=1, overdue=1, days=9, defaulted=1))
    rows = {c["feature"]: c for c in result["contributions"]}
    assert rows["late_payment"]["value"] == pytest.approx(2 / 3, abs=1e-4) and rows["late_payment"]["points"] == -30
    assert [e["tx"] for e in rows["late_payment"]["evidence"]] == ["0xl", "0xo"]
    assert rows["days_late"]["fired"] and rows["days_late"]["points"] == -10
    assert rows["loan_trouble"]["value"] == 1 and rows["loan_trouble"]["points"] == -30
    assert result["score"] == 100 - 30 - 10 - 30 == 100 + sum(c["points"] for c in result["contributions"])


def test_documents_fire_below_their_threshold_and_concentration_needs_enough_orders() -> None:
    rows = {c["feature"]: c for c in score(profile(documents=0.5, share=1.0, orders=3))["contributions"]}
    assert rows["documents"]["fired"] and rows["documents"]["points"] == -5
    assert not rows["concentration"]["fired"]  # 3 orders < min_orders
    rows = {c["feature"]: c for c in score(profile(share=1.0, orders=4))["contributions"]}
    assert rows["concentration"]["fired"]


def test_the_baseline_sees_only_the_core_and_chain() -> None:
    assert baseline(profile(late=4, on_time=0, defaulted=2)) == 1
    assert baseline(profile(core="suspended")) == 0 and baseline(profile(fraud=True)) == 0


def test_a_user_file_overrides_only_its_keys(tmp_path: Path) -> None:
    path = tmp_path / "card.toml"
    path.write_text("[late_payment]\npoints = 50\n[score]\nbase = 1000\n")
    card = load_scorecard(path)
    late = next(f for f in card.features if f.name == "late_payment")
    assert card.base == 1000 and late.points == 50 and late.threshold == 0.25


@pytest.mark.parametrize(("text", "message"), [
    ("[late_payment]\nweight = 3\n", "unknown key late_payment.weight"),
    ("[colour]\nthreshold = 1\n", r"unknown section \[colour\]"),
    ("[late_payment]\nthreshold = 2\n", "late_payment.threshold must be a fraction"),
    ("[core]\npoints = 2.5\n", "core.points must be a whole number"),
    ("[documents]\nbelow = 1\n", "documents.below must be true or false"),
    ("[days_late]\nthreshold = -1\n", "days_late.threshold must be zero or more"),
])
def test_a_bad_file_is_refused_with_the_key_named(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "card.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        load_scorecard(path)


def test_roc_auc_matches_the_known_value_of_scikit_learns_example() -> None:
    # sklearn.metrics.roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
    assert roc_auc([0.1, 0.4, 0.35, 0.8], [False, False, True, True]) == 0.75


def test_roc_auc_counts_ties_as_one_half_and_needs_both_classes() -> None:
    assert roc_auc([1, 1, 0], [True, False, False]) == 0.75
    assert roc_auc([5, 5], [True, False]) == 0.5
    with pytest.raises(ValueError, match="at least one bad and one good"):
        roc_auc([1, 2], [True, True])
