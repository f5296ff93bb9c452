"""502 and 503: the risk engine sees certificate flows — a part paid back round to the core that issued it,
and certificates paying orders that were never shipped by an independent carrier."""

from __future__ import annotations

from risk_streams import CARRIER, CHAIN, CORE, DIST, SUP_A, SUP_B, Stream, run

from vscm.risk import Indicator, RiskEngine, Severity


def shipped_order(s: Stream, buyer: str, seller: str, amount: int, carrier: str = CARRIER) -> int:
    oid = s.place(buyer, seller, amount)
    s.accept(oid)
    s.ship(oid, carrier=carrier)
    return oid


def certified(s: Stream) -> None:
    s.setup_chain()
    oid = shipped_order(s, CORE, SUP_A, 100_000)
    s.deliver(oid)
    s.invoice(oid)
    s.issue_certificate(oid, 100_000)


def test_a_part_paid_back_to_the_issuing_core_is_a_round_trip_on_its_chain() -> None:
    s = Stream()
    certified(s)
    back = shipped_order(s, SUP_A, CORE, 30_000)  # the core sells to its tier 1, paid with its own promise
    s.pay_certificate(1, 2, back, 30_000)
    found = run(s.records, tick_every=None)
    assert [(f.indicator, f.subject, f.subject_id, f.severity) for f in found] == [
        (Indicator.CERTIFICATE_ROUND_TRIP, "chain", CHAIN, Severity.HIGH)]
    assert found[0].evidence == {"certificate": 1, "part": 2, "parent": 1, "from": SUP_A, "core": CORE,
                                 "order": back, "amount": 30_000, "tx": s.records[-1].tx}


def test_a_certificate_paying_an_order_never_shipped_is_flagged_once_per_order() -> None:
    s = Stream()
    certified(s)
    oid = s.place(SUP_A, SUP_B, 40_000)
    s.accept(oid)  # accepted, not shipped
    s.pay_certificate(1, 2, oid, 10_000)
    s.pay_certificate(1, 3, oid, 10_000)
    found = run(s.records, tick_every=None)
    assert [(f.indicator, f.evidence["why"], f.evidence["part"]) for f in found] == [
        (Indicator.CERTIFICATE_WITHOUT_SHIPMENT, "never shipped", 2)]


def test_an_order_carried_by_its_own_seller_is_no_shipment_either() -> None:
    s = Stream()
    certified(s)
    oid = shipped_order(s, SUP_A, SUP_B, 40_000, carrier=SUP_B)
    s.pay_certificate(1, 2, oid, 40_000)
    found = run(s.records, tick_every=None)
    assert [(f.indicator, f.evidence["why"]) for f in found] == [
        (Indicator.CERTIFICATE_WITHOUT_SHIPMENT, "carried by its own buyer or seller")]


def test_certificates_down_shipped_tiers_are_silent() -> None:
    s = Stream()
    certified(s)
    b = shipped_order(s, SUP_A, SUP_B, 60_000)
    s.pay_certificate(1, 2, b, 40_000)
    c = shipped_order(s, SUP_B, DIST, 30_000)
    s.pay_certificate(2, 3, c, 25_000)
    s.pay_certificate(3, 4, 0, 5_000)  # a piece kept aside
    assert run(s.records, tick_every=None) == []


def test_an_engine_state_saved_before_certificates_still_loads_and_follows_them() -> None:
    s = Stream()
    certified(s)
    records = s.records
    engine = RiskEngine()
    before = [r for r in records if r.contract != "Certificates"]
    run(before, engine, tick_every=None)
    state = engine.state_dict()
    state.pop("certificates", None)
    resumed = RiskEngine.from_state(state)
    back = shipped_order(s, SUP_A, CORE, 30_000)
    s.pay_certificate(1, 2, back, 30_000)
    # The certificate was issued in history the saved engine never saw: nothing to pin it on, no crash.
    assert run(s.records[len(records):], resumed, tick_every=None) == []
