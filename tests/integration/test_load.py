"""The load generator does the business it claims: every order it runs is settled on chain, every
loan exists in its mode with its money moved, and extra flows plug in through ``EXTRA_FLOWS``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from vscm import load as load_module
from vscm.chain.backends import connect
from vscm.client.records import DocKind, LoanMode, LoanStatus, OrderStatus
from vscm.errors import InputError
from vscm.load import Calls, Flow, Load, Population, Step, Tx


@pytest.fixture(scope="module")
def load() -> Iterator[Load]:
    with connect("embedded") as chain:
        yield Load.setup(chain, Population(chains=1, smes=6, lenders=1, seed="vscm-load-tests"))


def test_population_is_onboarded_each_party_signing_for_itself(load):
    members = load.platform.members
    everyone = load.everyone()
    assert len(everyone) == 1 + 1 + 1 + 6  # auditor, lender, core, SMEs
    assert all(members.status(a.address).name == "ACTIVE" for a in everyone)
    cast = load.chains[0]
    assert cast.chain_id >= 1 and len(cast.suppliers) >= 2
    assert {m.address for m in members.chain_members(cast.chain_id)} >= {t.address for t in cast.traders}
    onboarding = load.phases[0]
    assert onboarding.name == "onboarding" and onboarding.failed == 0


def test_orders_run_their_whole_lifecycle(load):
    orders = load.platform.orders
    before = orders.count()
    stats = load.run_orders(3, phase="orders under test")
    assert stats.failed == 0 and stats.transactions == 3 * 9  # place, 2 attach, accept, ship, deliver,
    # invoice, approve, settle
    placed = [orders.order(i) for i in range(before + 1, orders.count() + 1)]
    assert len(placed) == 3 and all(o.status == OrderStatus.SETTLED for o in placed)
    for order in placed:
        assert [d.kind for d in order.documents] == [DocKind.CONTRACT, DocKind.BILL_OF_LADING, DocKind.INVOICE]


def test_financing_runs_each_mode_to_repayment_or_collection(load):
    loans = load.platform.loans
    before = loans.count()
    stats = load.run_financing(1, phase="financing under test")
    assert stats.failed == 0, stats.errors
    made = [loans.loan(i) for i in range(before + 1, loans.count() + 1)]
    assert sorted(ln.mode for ln in made) == sorted(LoanMode)
    by_mode = {ln.mode: ln for ln in made}
    for mode in (LoanMode.RECEIVABLE, LoanMode.PAYABLE):
        assert by_mode[mode].settlement_collected and by_mode[mode].repaid > 0
    for mode, repayment in ((LoanMode.PLEDGE, 30_000_00), (LoanMode.PREPAYMENT, 60_000_00)):
        assert by_mode[mode].status == LoanStatus.DISBURSED and by_mode[mode].repaid == repayment
    assert by_mode[LoanMode.PLEDGE].guarantee_signed


def extra_flows(load: Load, count: int) -> list[Flow]:
    """Stands in for the oracle's batches: ``count`` cash transfers between two suppliers."""
    cash = Calls(load.platform.cash("CNY").contract)
    a, b = load.chains[0].suppliers[:2]
    return [Flow([Step(lambda ctx: [Tx(a, cash.transfer(b.address, 1_00), 80_000)], "extra")]) for _ in range(count)]


def test_extra_flows_plug_in_by_name(load, monkeypatch):
    monkeypatch.setitem(load_module.EXTRA_FLOWS, "extra under test", f"{__name__}:extra_flows")
    fresh = Load(load.chain, load.platform, load.population, load.operator, load.auditor, load.lenders,
                 load.chains, load.driver)
    b = load.chains[0].suppliers[1].address
    before = load.platform.cash("CNY").balance(b)
    (stats,) = fresh.run_extra(4)
    assert stats.name == "extra under test" and stats.transactions == 4 and stats.failed == 0
    assert load.platform.cash("CNY").balance(b) == before + 4 * 1_00


def test_a_failing_flow_stops_alone_and_is_counted(load: Any):
    orders = Calls(load.platform.orders.contract)
    cast = load.chains[0]
    good = Flow(load.order_flow(0, "accepted"))
    # Accepting an order that does not exist: the flow stops at its first step, the other goes on.
    bad = Flow([Step(lambda ctx: [Tx(cast.suppliers[0], orders.accept(10**9), 80_000)], "accept"),
                Step(lambda ctx: [Tx(cast.suppliers[0], orders.accept(10**9), 80_000)], "again")])
    stats = load.run_flows("failing flow", [good, bad])
    assert stats.failed == 1 and stats.transactions == 1 + 2 + 1
    assert bad.failed is not None and bad.failed.name == "OrderNotFound"
    assert good.failed is None and load.platform.orders.order(good.ctx["order"]).status == OrderStatus.ACCEPTED


def test_population_must_staff_every_chain():
    with pytest.raises(InputError, match="at least 5 per chain"):
        Population(chains=4, smes=12)
