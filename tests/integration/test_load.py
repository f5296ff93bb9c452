"""The load generator does the business it claims: every order it runs is settled on chain, every
loan exists in its mode with its money moved, and extra flows plug in through ``EXTRA_FLOWS``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from vscm import load as load_module
from vscm.chain.backends import connect
from vscm.chain.tx import TxRequest
from vscm.client.records import DocKind, LoanMode, LoanStatus, OrderStatus, Role
from vscm.errors import InputError
from vscm.load import Calls, Flow, Load, Population, Step, Tx
from vscm.oracle import load as oracle_load
from vscm.oracle.model import TargetKind


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


def test_every_platform_transaction_is_a_facades_built_write(load):
    """No ABI tuple spelled by hand: each transaction of an order's steps and of a loan's of every mode is a write a
    facade built (the approves a paying write needs come as writes of their own), for the party that signs it."""
    ctx = dict.fromkeys(("order", "purpose", "sale", "goods", "asset", "loan", "receipt"), 1)
    flows = [load.order_flow(0)] + [load._loan_flow(mode, 0) for mode in LoanMode]
    txs = [tx for steps in flows for step in steps for tx in step.build(ctx)]
    assert txs and all(isinstance(tx.call, TxRequest) and not tx.call.before and not tx.call.after for tx in txs)
    assert all(tx.call.signer == tx.account.address for tx in txs)
    assert {"OrderBook.place", "OrderBook.settle", "AssetRegistry.registerWarehouseReceipt", "LoanBook.applyForLoan",
            "LoanBook.approve", "LoanBook.disburse", "FundTracker.spend", "PlatformCash.approve"} <= {
        tx.call.label for tx in txs}


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
    # this phase alone (the oracle's batches, registered there too, have their own test)
    monkeypatch.setattr(load_module, "EXTRA_FLOWS", {"extra under test": f"{__name__}:extra_flows"})
    fresh = Load(load.chain, load.platform, load.population, load.operator, load.auditor, load.lenders,
                 load.chains, load.driver)
    b = load.chains[0].suppliers[1].address
    before = load.platform.cash("CNY").balance(b)
    (stats,) = fresh.run_extra(4)
    assert stats.name == "extra under test" and stats.transactions == 4 and stats.failed == 0
    assert load.platform.cash("CNY").balance(b) == before + 4 * 1_00


def test_oracle_batches_are_accepted_on_chain(load):
    """Two watched receipts, ``ROUNDS`` reports each, published through the load's pipeline."""
    assert load_module.EXTRA_FLOWS["oracle batches"] == "vscm.oracle.load:flows"
    oracle, assets = load.platform.oracle, load.platform.assets
    start = load.chain.w3.eth.block_number + 1
    (stats,) = load.run_extra(2)
    assert stats.name == "oracle batches" and stats.failed == 0, stats.errors
    rounds = oracle_load.ROUNDS
    # receipt, 3 devices and the watch, then one report a round
    assert stats.transactions == 2 * (1 + 4 + rounds)
    assert len(stats.gas["TelemetryOracle.submitReport"]) == 2 * rounds

    set_id, quorum, nodes = oracle.signer_set()
    assert quorum == 2 and len(set(nodes)) == 3
    accepted = [e["args"] for e in oracle.contract.events.ReportAccepted().get_logs(from_block=start)]
    assert len(accepted) == 2 * rounds and len({a["batchId"] for a in accepted}) == 2 * rounds
    publishers = {a["publisher"] for a in accepted}
    assert len(publishers) == 1 and load.platform.members.is_active(publishers.pop(), Role.ORACLE)
    for a in accepted:
        batch = oracle.batch(a["batchId"])
        assert batch.signer_set == set_id and 21 <= batch.reading_count <= 48 and batch.root == a["root"]

    receipts = sorted({e["args"]["targetId"] for e in oracle.contract.events.TargetUpdated().get_logs(from_block=start)})
    assert len(receipts) == 2
    readings, registered = 0, oracle.devices()
    for receipt in receipts:
        state = oracle.target_state(TargetKind.ASSET, receipt)
        lot = assets.asset(receipt)
        assert state.active_devices == 3 and state.batch_id in {a["batchId"] for a in accepted}
        # the load cells weigh what the receipt says; the cold chain stays within 2-8 degrees
        assert state.quantity == lot.quantity and state.breaches == 0
        assert 200 <= state.min_temp <= state.max_temp <= 800
        devices = [d for d in registered if d.target_id == receipt]
        assert len(devices) == 3 and len({d.last_seq for d in devices}) == 1
        readings += sum(d.last_seq for d in devices)
    assert readings == sum(a["readingCount"] for a in accepted)

    # the set-up was done once: more batches, from this load or another one on the same platform,
    # send no set-up transaction, keep the signer set and register new lots
    set_up = next(p for p in load.phases if p.name == "oracle set-up").transactions
    assert set_up == 4  # fund, apply and approve the publisher; the signer set
    fresh = Load(load.chain, load.platform, load.population, load.operator, load.auditor, load.lenders,
                 load.chains, load.driver)
    for again in (load.run_flows("oracle again", oracle_load.flows(load, 1, rounds=1)),
                  fresh.run_flows("oracle again", oracle_load.flows(fresh, 1, rounds=1))):
        assert again.failed == 0 and again.transactions == 1 + 4 + 1, again.errors
    assert next(p for p in load.phases if p.name == "oracle set-up").transactions == set_up
    assert not any(p.name == "oracle set-up" for p in fresh.phases)
    assert oracle.signer_set()[0] == set_id


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


def test_a_phase_is_timed_end_to_end_building_its_steps_included(load: Any, monkeypatch):
    """The oracle's reports are signed while their step is built: the phase's clock must run then too."""
    clock = [1_000.0]
    monkeypatch.setattr(load_module.time, "perf_counter", lambda: clock[0])
    cast = load.chains[0]
    cash = Calls(load.platform.cash("CNY").contract)

    def build(ctx: dict[str, int]) -> list[Tx]:
        clock[0] += 5.0  # building this step takes 5 s (a report with its signatures)
        return [Tx(cast.suppliers[0], cash.transfer(cast.suppliers[1].address, 1), 80_000)]

    stats = load.run_flows("timed end to end", [Flow([Step(build, "transfer")])])
    assert stats.transactions == 1 and stats.failed == 0
    assert stats.seconds == 5.0 and stats.driver_seconds == 0.0  # the driver took no time on this clock
    assert stats.client_cpu >= 0.0 and stats.node_cpu is None  # embedded: the node's work is this process's


def test_population_must_staff_every_chain():
    with pytest.raises(InputError, match="at least 5 per chain"):
        Population(chains=4, smes=12)


@pytest.mark.anvil
def test_the_raw_ceiling_names_each_transfer_it_counts_as_failed():
    """The ceiling's failures count in the bench's *failed* column, so each is named: which transfer,
    whose nonce, and why it has no receipt. A nonce taken and never sent leaves a gap for one trader."""
    from vscm import bench

    with bench.bench_chain("anvil") as chain:
        load = Load.setup(chain, Population(chains=1, smes=5, lenders=1, seed="vscm-load-ceiling"))
        token = load.deploy_reference_token()
        traders = load._traders()
        gapped = traders[1]
        skipped = chain.nonces.take(gapped.address)  # signed by nobody: the trader's next nonce is missing
        sent, received = load.erc20_ceiling(token, len(traders))
    assert sent.transactions == received.transactions == len(traders)
    assert received.failed == 1 and len(received.errors) == 1
    error = received.errors[0]
    assert f"{gapped.address} nonce {skipped + 1}" in error
    assert "the node holds it, queued behind a missing earlier nonce" in error
