"""De-duplication, replays, and the engine's state saved and restored between runs."""

from __future__ import annotations

import json

import pytest
from risk_streams import CORE, DAY, DIST, OUTSIDER, SUP_A, SUP_B, Stream, codes, healthy_stream, run

from vscm.risk import Indicator, RiskEngine


def fraud_stream() -> Stream:
    """A chain that goes wrong in many ways at once, spread over three months."""
    s = Stream()
    s.setup_chain()
    for _ in range(10):
        s.pay(CORE, SUP_A, 100_000)
        s.wait(7 * DAY)
    oid = s.place(SUP_A, SUP_B, 100_000)
    s.accept(oid)
    asset = s.warehouse_receipt(SUP_A, 300_000)
    lid = s.loan(0, SUP_A, asset, oid, 100_000, 20 * DAY)
    s.spend(lid, SUP_B, 100_000)
    s.refused_spend(lid, OUTSIDER, 1_000)
    s.wait(DAY)
    s.pay(SUP_B, SUP_A, 70_000)
    s.ship(oid)
    s.dispute(oid, SUP_A)
    spare = s.warehouse_receipt(SUP_A, 50_000)  # goods no loan holds: the engine reports them missing
    s.breach(spare, 0, 0)
    s.trade(SUP_B, SUP_A, 100_000, settle=False)
    s.trade(DIST, SUP_B, 100_000, settle=False)
    s.trade(SUP_A, DIST, 100_000, settle=False)
    fake = s.place(CORE, SUP_B, 80_000)
    s.accept(fake)
    s.attach_invoice_document(fake)
    s.receivable(fake)
    paid = s.place(CORE, SUP_A, 70_000)  # a certificate for an order never shipped, paid back to the core
    s.accept(paid)
    s.issue_certificate(paid, 70_000)
    back = s.place(SUP_A, CORE, 20_000)
    s.accept(back)
    s.pay_certificate(1, 2, back, 20_000)
    across = s.place(SUP_B, OUTSIDER, 60_000, seller_chain=2)  # an order across chains, financed, then chain 2 evicted
    s.accept(across)
    s.loan(0, SUP_B, s.warehouse_receipt(SUP_B, 120_000), across, 60_000, 30 * DAY)
    s.evict_chain(2)
    s.wait(40 * DAY)
    s.pay(CORE, SUP_A, 1)
    return s


def test_fraud_stream_fires_every_indicator() -> None:
    s = fraud_stream()
    found = run(s.records, until=s.time)
    assert sorted(set(codes(found))) == sorted(int(i) for i in Indicator)
    keys = [f.key for f in found]
    assert len(keys) == len(set(keys))  # one finding per situation


def test_state_round_trip_gives_the_same_findings() -> None:
    s = fraud_stream()
    whole = run(s.records, until=s.time)
    for cut in (len(s.records) // 3, len(s.records) // 2, len(s.records) - 3):
        first = RiskEngine()
        found = run(s.records[:cut], first, tick_every=None)
        saved = json.dumps(first.state_dict())  # JSON, no pickle
        second = RiskEngine.from_state(json.loads(saved))
        assert second.state_dict() == json.loads(saved)
        found += run(s.records[cut:], second, tick_every=None, until=s.time)
        assert sorted(f.key for f in found) == sorted(f.key for f in run(s.records, tick_every=None, until=s.time))
    assert whole


def test_restored_engine_does_not_repeat_findings_or_recount_replayed_records() -> None:
    s = fraud_stream()
    engine = RiskEngine()
    found = run(s.records, engine, until=s.time)
    restored = RiskEngine.from_state(json.loads(json.dumps(engine.state_dict())))
    # The monitor may re-read the last block after a restart: nothing new comes of it.
    last_block = [r for r in s.records if r.block == s.records[-1].block]
    assert run(last_block, restored, tick_every=None, until=s.time) == []
    assert restored.state_dict() == engine.state_dict()
    # Older blocks are ignored outright.
    assert run(s.records[:50], restored, tick_every=None) == []
    assert found


def test_same_record_twice_in_a_block_counts_once() -> None:
    s = Stream()
    s.setup_chain()
    s.trade(SUP_B, SUP_A, 100_000, settle=False)
    s.trade(DIST, SUP_B, 100_000, settle=False)
    s.trade(SUP_A, DIST, 60_000, settle=False)  # 40 % short: no cycle
    engine = RiskEngine()
    assert run(s.records, engine, tick_every=None) == []
    invoiced = [r for r in s.records if getattr(r, "name", "") == "OrderInvoiced"][-1]
    assert engine.feed(invoiced) == []  # counted twice it would make D -> A 120,000 and close the cycle
    assert len(engine.state_dict()["trade"][s.orders[1]["currency"]]["edges"]) == 3


def test_bad_state_is_refused_with_one_line() -> None:
    with pytest.raises(ValueError, match="version 7 is not 2"):
        RiskEngine.from_state({"version": 7})
    state = RiskEngine().state_dict()
    del state["loans"]
    with pytest.raises(ValueError, match="missing key 'loans'"):
        RiskEngine.from_state(state)


def test_state_is_bounded_by_the_windows() -> None:
    """After a long quiet spell the rolling state is empty again; only open business remains."""
    s = healthy_stream()
    engine = RiskEngine()
    run(s.records, engine)
    engine.tick(s.time + 200 * DAY, s.block)
    state = engine.state_dict()
    assert state["receipts"] == {} and state["payouts"] == [] and state["loans"] == {}
    assert all(g["edges"] == [] and g["fired"] == {} for g in state["trade"].values())
    assert len(state["orders"]) == 0


def test_malformed_record_is_refused_with_one_line() -> None:
    from vscm.risk import ChainEvent, FailedCall

    engine = RiskEngine()
    with pytest.raises(ValueError, match=r"OrderBook.OrderPlaced at block 5 \(tx 0xab\): .*'buyer'") as exc:
        engine.feed(ChainEvent(5, 100, "OrderBook", "OrderPlaced", {"orderId": 1}, "0xab"))
    assert "\n" not in str(exc.value)
    with pytest.raises(ValueError, match="failed call FundTracker.spend at block 6.*'loanId'"):
        engine.feed(FailedCall(6, 112, "FundTracker", "spend", {}, SUP_A, "FundsPayeeNotAllowed", "0xcd"))
    # Events the engine does not read are ignored, whatever their arguments.
    assert engine.feed(ChainEvent(7, 124, "RiskControl", "AlertRaised", {})) == []


def test_findings_are_json_and_name_their_subject() -> None:
    s = fraud_stream()
    for f in run(s.records, until=s.time):
        assert json.loads(json.dumps(f.evidence, sort_keys=True)) == f.evidence
        assert f.subject in ("loan", "chain") and f.subject_id > 0
        assert 1 <= f.severity <= 4 and f.key.startswith(f"{f.indicator}:")
        assert f.key.endswith(f"@{f.subject}:{f.subject_id}")
        assert 0 < f.block <= s.block


def test_a_version_1_state_is_upgraded_and_goes_on_following_its_payouts() -> None:
    s = Stream()
    s.setup_chain()
    oid = s.place(SUP_A, SUP_B, 100_000)
    s.accept(oid)
    lid = s.loan(0, SUP_A, s.warehouse_receipt(SUP_A, 200_000), oid, 100_000, 30 * DAY)
    s.spend(lid, SUP_B, 100_000)
    s.pay(SUP_B, DIST, 90_000)
    cut = len(s.records)
    s.pay(DIST, SUP_A, 80_000)
    engine = RiskEngine()
    assert run(s.records[:cut], engine, tick_every=None) == []
    state = json.loads(json.dumps(engine.state_dict()))
    state["version"] = 1  # what a monitor saved before the all-paths measure: depths and amounts received
    for p in state["payouts"]:
        p["holders"] = {SUP_B: 0, DIST: 1}
        p["received"] = {DIST: 90_000}
    restored = RiskEngine.from_state(state)
    assert restored.state_dict()["version"] == 2
    found = run(s.records[cut:], restored, tick_every=None)
    assert [(f.indicator, f.evidence["returned"]) for f in found] == [(Indicator.ROUND_TRIP, 80_000)]


def test_a_receipt_born_locked_to_a_prepayment_loan_is_not_its_collateral_until_converted():
    """AssetRegistry locks the receipt of a financed order's goods to the loan holding the order's
    future-goods right when it is issued; the loan's collateral is still the right (LoanBook)."""
    s = Stream()
    s.setup_chain()
    oid = s.place(DIST, SUP_A, 100_000)
    s.accept(oid)
    right = s.register_asset(3, oid, DIST, SUP_A, 100_000)
    lid = s.loan(2, DIST, right, oid, 80_000, 60 * DAY)
    s.ship(oid)
    s.deliver(oid)
    receipt = s.register_asset(2, oid, DIST, SUP_A, 100_000)
    s.emit("AssetRegistry", "AssetLocked", assetId=receipt, loanId=lid, pledgedQuantity=0)
    engine = RiskEngine()

    run(s.records, engine)

    assert engine.s["loans"][str(lid)]["asset"] == str(right)
