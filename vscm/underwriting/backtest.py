"""Back-test of the scorecard: does it rank the bad members of a generated population above the good ones?

The population is the load generator's (:mod:`vscm.load`): ``chains`` supply chains, each with its core,
warehouse, carrier, sellers and suppliers, doing ordinary business (orders from the cores, orders between
suppliers paid on time, loans of the four modes). Into it the back-test injects bad actors, each labelled:

* a **late payer** (a supplier of chain 0): it buys from another supplier on short terms and settles
  every invoice days after its due date;
* a **colluding chain** (chain 1, every trader of it labelled): two of its suppliers sell each other the
  same amount, round and round (circular trading);
* **diverted loan money** (a supplier of chain 2): it borrows on a pledge, pays the loan money to the
  allowed payee, and the payee sends it straight back (a round trip).

Then the platform's own risk monitor (:class:`vscm.risk.monitor.Monitor`, with its own key) follows the
chain and raises what its rules find, the lenders' index folds the history, and every trader is profiled
and scored. The result: the ROC AUC of the scorecard and of the naive baseline (the core enterprise's
status only) over the same members. AUC is the Mann-Whitney U statistic divided by ``n_bad * n_good``:
the probability that a bad member, drawn at random, is ranked riskier than a good one, ties counting
one half (:func:`roc_auc`). 1.0 ranks every bad member first; 0.5 is a coin.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import keccak

__all__ = ["BacktestResult", "roc_auc", "run_backtest"]

DAY = 86_400


def roc_auc(risk: Sequence[float], bad: Sequence[bool]) -> float:
    """ROC AUC of ``risk`` (higher = riskier) against labels ``bad``, by the Mann-Whitney U statistic:
    over every (bad, good) pair, 1 when the bad one is riskier, 1/2 on a tie, 0 otherwise; the mean.

    Raises:
        ValueError: the lengths differ, or one class is empty (the AUC is undefined).
    """
    if len(risk) != len(bad):
        raise ValueError(f"{len(risk)} risks for {len(bad)} labels")
    bads = [r for r, b in zip(risk, bad, strict=True) if b]
    goods = [r for r, b in zip(risk, bad, strict=True) if not b]
    if not bads or not goods:
        raise ValueError("the AUC needs at least one bad and one good member")
    wins = sum(1.0 if x > y else 0.5 if x == y else 0.0 for x in bads for y in goods)
    return wins / (len(bads) * len(goods))


@dataclass(frozen=True)
class BacktestResult:
    """Per member: its label and its scores; the AUC of the scorecard and of the baseline."""

    members: list[dict[str, Any]]
    scorecard_auc: float
    baseline_auc: float
    alerts: int

    def to_json(self) -> dict[str, Any]:
        return {"members": self.members, "scorecard_auc": self.scorecard_auc, "baseline_auc": self.baseline_auc,
                "alerts": self.alerts}


def _order(load: Any, buyer: LocalAccount, seller: LocalAccount, cast: Any, amount: int, due_in: int) -> int:
    """One order bought by ``buyer`` from ``seller`` and invoiced, one signer per step (the cast's carrier
    and warehouse); returns its id."""
    from vscm.client.records import DocKind

    p = load.platform
    orders = p.orders
    oid = int(orders.as_(buyer).place(seller.address, cast.chain_id, "CNY", amount, load.chain.now() + due_in).id)
    orders.as_(buyer).attach(oid, DocKind.CONTRACT, keccak(text=f"backtest:{oid}:contract"))
    orders.as_(seller).accept(oid)
    orders.as_(seller).ship(oid, cast.carriers[0].address, cast.warehouses[0].address)
    orders.as_(cast.warehouses[0]).deliver(oid)
    orders.as_(seller).invoice(oid, f"BT-{oid:06d}", keccak(text=f"backtest:{oid}:invoice"))
    return oid


def _settle(load: Any, buyer: LocalAccount, oid: int, amount: int) -> None:
    p = load.platform
    p.cash("CNY").as_(buyer).approve(p.orders.address, amount)
    p.orders.as_(buyer).settle(oid)


def _monitor_account(load: Any) -> LocalAccount:
    """A risk monitor member with its own key, onboarded by the operator."""
    from eth_account import Account

    from vscm.client.records import Role, Tier

    monitor = Account.from_key(keccak(text=f"{load.population.seed}:monitor"))
    load.chain.fund(monitor.address, 10**19)
    members = load.platform.members
    members.as_(monitor).apply([Role.MONITOR], Tier.SME, keccak(text="monitor"), load.chain.now() + 2 * 365 * DAY,
                               "risk monitor")
    members.as_(load.operator).approve(monitor.address)
    return monitor


def run_backtest(chain: Any, *, chains: int = 3, seed: str = "vscm-underwriting-backtest",
                 index_path: Path | None = None) -> BacktestResult:
    """Generate the population on ``chain`` (a dev chain with a faucet), inject the bad actors, run the
    risk monitor, index the history, score every trader; returns both AUCs.

    Args:
        chains: supply chains (at least 3: one per kind of bad actor; more add good chains).
        index_path: where to keep the lenders' index (default: a temporary file, removed after).
    """
    from vscm.audit.source import source_for
    from vscm.client.records import LoanMode
    from vscm.index import open_index
    from vscm.load import Flow, Load, Population
    from vscm.risk.monitor import Monitor
    from vscm.underwriting.profile import credit_profile
    from vscm.underwriting.scorecard import baseline, load_scorecard, score

    if chains < 3:
        raise ValueError(f"the back-test needs at least 3 chains, not {chains}")
    load = Load.setup(chain, Population(chains=chains, smes=6 * chains, lenders=1, seed=seed))
    casts = load.chains
    # Ordinary business: orders from the cores, one loan of each mode.
    load.run_orders(2 * chains, phase="backtest orders")
    load.run_financing(1, phase="backtest financing")
    bad: set[str] = set()
    with load.sequential():
        # Good trade between suppliers, paid on time, in every chain but the colluding one: each buys from
        # the next along a line (not round a cycle of equal amounts, which is the colluders' pattern).
        for cast in casts:
            if cast.index == 1:
                continue
            for a, b in zip(cast.suppliers, cast.suppliers[1:], strict=False):
                if cast.index == 0 and a == cast.suppliers[0]:
                    continue  # the late payer buys below
                _settle(load, a, _order(load, a, b, cast, 5_000_00, 30 * DAY), 5_000_00)
        # The late payer: three invoices on 1-day terms, each settled 3 days later.
        late, seller = casts[0].suppliers[0], casts[0].suppliers[1]
        bad.add(late.address)
        for _ in range(3):
            oid = _order(load, late, seller, casts[0], 4_000_00, DAY)
            chain.time_travel(3 * DAY)
            _settle(load, late, oid, 4_000_00)
        # The colluding chain: two suppliers sell each other the same amount, three times round.
        ring = casts[1]
        bad.update(t.address for t in ring.traders)
        x, y = ring.suppliers[0], ring.suppliers[1]
        for _ in range(3):
            for buyer, sell in ((x, y), (y, x)):
                _settle(load, buyer, _order(load, buyer, sell, ring, 20_000_00, 30 * DAY), 20_000_00)
    # Diverted loan money: a pledge in chain 2 whose payee sends the money straight back. The load's
    # own pledge flow (loan index 2 falls in chain 2: borrower supplier 0, payee supplier 1).
    load.run_flows("backtest diverted loan", [Flow(load._loan_flow(LoanMode.PLEDGE, 2))])
    diverter, payee = casts[2].suppliers[0], casts[2].suppliers[1]
    bad.add(diverter.address)
    with load.sequential():
        load.platform.cash("CNY").as_(payee).transfer(diverter.address, 50_000_00)
        chain.time_travel(DAY)
        monitor = Monitor(load.platform, _monitor_account(load))
        raised = monitor.step()
    with tempfile.TemporaryDirectory() as tmp:
        target = index_path or Path(tmp) / "index.sqlite"
        with open_index(target) as index:
            index.update(source_for(chain), load.platform.deployment)
            card = load_scorecard()
            rows = []
            for cast in casts:
                for trader in cast.traders:
                    profile = credit_profile(index, trader.address)
                    result = score(profile, card)
                    rows.append({"member": trader.address, "chain": cast.chain_id, "bad": trader.address in bad,
                                 "score": result["score"], "baseline": baseline(profile),
                                 "fired": [c["feature"] for c in result["contributions"] if c["fired"]]})
    labels = [r["bad"] for r in rows]
    return BacktestResult(
        members=rows,
        scorecard_auc=roc_auc([-r["score"] for r in rows], labels),
        baseline_auc=roc_auc([-r["baseline"] for r in rows], labels),
        alerts=len(raised),
    )


def section(options: Any) -> Any:
    """The back-test as a section of ``make bench`` (``vscm.bench``): both AUCs on one population."""
    from vscm.bench import Section
    from vscm.chain.backends import connect

    chains = 3 if options.quick else 6
    with connect("anvil") as chain:
        result = run_backtest(chain, chains=chains)
    bad = sum(1 for m in result.members if m["bad"])
    table = "\n".join([
        "| ranking | members | bad | ROC AUC |",
        "|---|--:|--:|--:|",
        f"| scorecard (vscm/underwriting/scorecard.toml) | {len(result.members)} | {bad} | {result.scorecard_auc:.3f} |",
        f"| baseline: core enterprise status only | {len(result.members)} | {bad} | {result.baseline_auc:.3f} |",
    ])
    text = (f"`vscm lender backtest --chains {chains}`: a generated population of {chains} supply chains (the load "
            "generator's), with a late payer, a colluding chain and a borrower whose loan money came straight back "
            f"injected among members doing ordinary business; the risk monitor raised {result.alerts} alerts, the "
            "lenders' index folded the history and every trader was profiled and scored. ROC AUC: the chance that a "
            "bad member drawn at random is ranked riskier than a good one (ties count one half).")
    return Section("Underwriting back-test: scorecard against the naive baseline", text, table)
