"""The back-test on a small generated population (anvil): each injected bad actor is caught by the feature
meant for it, and the scorecard ranks the bad members better than the core-status baseline on this seed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from vscm.chain.backends import connect
from vscm.underwriting.backtest import BacktestResult, run_backtest

pytestmark = pytest.mark.anvil


@pytest.fixture(scope="module")
def result() -> Iterator[BacktestResult]:
    with connect("anvil") as chain:
        yield run_backtest(chain, chains=3)


def test_the_population_holds_both_classes(result: BacktestResult) -> None:
    bad = [m for m in result.members if m["bad"]]
    assert len(result.members) == 12 and 0 < len(bad) < len(result.members)
    assert result.alerts >= 2  # the ring's circular trade, the round trip of the loan money


def test_each_bad_actor_is_caught_by_its_feature(result: BacktestResult) -> None:
    fired = {m["member"]: set(m["fired"]) for m in result.members if m["bad"]}
    assert any("late_payment" in f for f in fired.values())
    assert any("loan_alerts" in f for f in fired.values())
    assert sum("chain_alerts" in f for f in fired.values()) >= 4  # every trader of the colluding chain


def test_the_scorecard_ranks_the_bad_members_better_than_the_baseline(result: BacktestResult) -> None:
    assert result.scorecard_auc > result.baseline_auc
    assert result.baseline_auc == 0.5  # every core is active: the baseline cannot tell anyone apart
