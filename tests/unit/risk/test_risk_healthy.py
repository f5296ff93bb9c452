"""A normal supply chain must stay silent; the same stream with one fault must not."""

from __future__ import annotations

from risk_streams import BANK, DAY, OUTSIDER, SUP_A, SUP_B, codes, healthy_stream, run

from vscm.risk import Indicator, RiskEngine


def test_healthy_stream_is_silent() -> None:
    s = healthy_stream()
    engine = RiskEngine()
    found = run(s.records, engine, until=s.time + 2 * DAY)
    assert found == []
    # It did see the business: loans closed, orders settled, receipts counted.
    state = engine.state_dict()
    assert state["loans"] == {}
    assert any(k.startswith(SUP_A) for k in state["receipts"])
    assert state["trade"]  # invoiced orders form the trade graph


def test_healthy_stream_is_long_enough_to_judge() -> None:
    """The stream covers the receipts windows, so its silence on 101 means something."""
    s = healthy_stream()
    first, last = s.records[0].time, s.records[-1].time
    t = RiskEngine().t
    assert last - first > t.receipts_recent_seconds + t.receipts_trailing_seconds


def test_same_stream_with_faults_is_not_silent() -> None:
    """Guard against a silent engine: the healthy stream plus a refused payee and a late loan fires."""
    s = healthy_stream()
    oid = s.place(SUP_B, SUP_A, 10_000)
    s.accept(oid)
    asset = s.warehouse_receipt(SUP_B, 50_000)
    lid = s.loan(0, SUP_B, asset, oid, 20_000, 4 * DAY)
    s.refused_spend(lid, OUTSIDER, 5_000)
    found = run(s.records, until=s.time + 6 * DAY)
    assert sorted(set(codes(found))) == [Indicator.REPAYMENT_LATE, Indicator.PAYEE_NOT_ALLOWED]
    assert all(f.subject == "loan" and f.subject_id == lid for f in found)
    assert BANK == found[-1].evidence["lender"]
