"""Breaches and margin calls: what accepted reports do to the collateral state and the pledge loan."""

from __future__ import annotations

from typing import Any

import pytest
from eth_utils import keccak
from financing_support import Fin
from harness import emitted, reverts, the_event
from oracle_support import Watched

from vscm.client.records import LoanMode, OrderStatus
from vscm.oracle.model import TargetKind
from vscm.oracle.simulator import Site

ROUTE = [(31_230_000, 121_470_000), (31_300_000, 121_600_000), (31_400_000, 121_700_000)]


@pytest.fixture(scope="module")
def world(wired_world: Any) -> Any:
    """This module swaps the oracle's alert sink for test doubles: it runs on the test-wired world, whose
    TelemetryOracle keeps its WIRING_ROLE (a deployed platform's sink is sealed, test_wiring_sealed.py)."""
    return wired_world


def _sink(world, refuse: bool = False):
    address = world.chain.sender.deploy(world.p.operator, "RecordingAlertSink", refuse)
    world.platform.oracle.as_(world.p.operator).set_alert_sink(address)
    from vscm.chain.artifacts import load

    return world.chain.w3.eth.contract(address=address, abi=load("RecordingAlertSink").abi)


def _calls(sink) -> list[tuple]:
    return [tuple(sink.functions.callAt(i).call()) for i in range(sink.functions.callCount().call())]


def test_readings_update_the_collateral_state(fresh, watched: Watched):
    published = watched.aggregator.publish(watched.readings(fresh, 5))
    state = fresh.platform.oracle.target_state(TargetKind.ASSET, watched.deal.asset_id)
    assert (state.quantity, state.breaches, state.margin_call, state.active_devices) == (500, 0, False, 3)
    assert state.collateral_value == 400_000_00
    assert state.batch_id == published.batch.report.batch_id
    assert 200 <= state.min_temp <= state.max_temp <= 800
    assert emitted(fresh.platform.oracle, published.receipt, "MarginCall") == []


def test_goods_removed_raise_a_breach_and_a_margin_call(fresh, watched: Watched):
    oracle, loans = fresh.platform.oracle, fresh.platform.loans
    sink = _sink(fresh)
    watched.aggregator.publish(watched.readings(fresh, 3))
    watched.cell.remove(100)  # 100 t leave the warehouse without a release
    published = watched.aggregator.publish(watched.readings(fresh, 3))
    receipt, loan_id, asset_id = published.receipt, watched.deal.loan_id, watched.deal.asset_id
    breach = the_event(oracle, receipt, "BreachDetected")
    assert (breach["breach"], breach["targetId"], breach["loanId"], breach["observed"]) == (0, asset_id, loan_id, 400)
    call = the_event(oracle, receipt, "MarginCall")
    outstanding = loans.contract.functions.outstanding(loan_id).call(block_identifier=receipt["blockNumber"])
    # 400 of 500 t of a 400,000.00 receipt is 320,000.00; at 60% LTV it carries 192,000.00 < 200,000.00 owed
    assert call == {"loanId": loan_id, "assetId": asset_id, "collateralValue": 320_000_00,
                    "limit": 192_000_00, "outstanding": outstanding}
    assert outstanding >= 200_000_00
    state = oracle.target_state(TargetKind.ASSET, asset_id)
    assert state.margin_call and state.breach_names == ["goods_missing"] and state.quantity == 400
    digest = oracle.batch(published.batch.report.batch_id).digest
    assert _calls(sink) == [(oracle.address, loan_id, 302, 3, digest), (oracle.address, loan_id, 301, 3, digest)]


def test_a_standing_margin_call_is_not_raised_again_and_clears_when_goods_return(fresh, watched: Watched):
    oracle = fresh.platform.oracle
    watched.cell.remove(100)
    watched.aggregator.publish(watched.readings(fresh, 3))
    again = watched.aggregator.publish(watched.readings(fresh, 3)).receipt
    assert emitted(oracle, again, "MarginCall") == [] and emitted(oracle, again, "BreachDetected") == []
    watched.cell.quantity = 500
    back = watched.aggregator.publish(watched.readings(fresh, 3)).receipt
    assert the_event(oracle, back, "MarginCallCleared")["collateralValue"] == 400_000_00
    assert the_event(oracle, back, "BreachCleared")["breach"] == 0
    assert not oracle.target_state(TargetKind.ASSET, watched.deal.asset_id).margin_call


def test_a_small_shortfall_is_a_breach_without_a_margin_call(fresh, watched: Watched):
    oracle = fresh.platform.oracle
    watched.cell.remove(10)  # 490 t: 392,000.00 x 60% = 235,200.00 still covers the debt
    receipt = watched.aggregator.publish(watched.readings(fresh, 3)).receipt
    assert the_event(oracle, receipt, "BreachDetected")["observed"] == 490
    assert emitted(oracle, receipt, "MarginCall") == []
    assert oracle.target_state(TargetKind.ASSET, watched.deal.asset_id).collateral_value == 392_000_00


def test_a_failing_alert_sink_is_reported_not_swallowed(fresh, watched: Watched):
    oracle = fresh.platform.oracle
    _sink(fresh, refuse=True)
    watched.cell.remove(100)
    receipt = watched.aggregator.publish(watched.readings(fresh, 3)).receipt
    failures = emitted(oracle, receipt, "AlertSinkFailed")
    assert [(f["loanId"], f["indicator"]) for f in failures] == [(watched.deal.loan_id, 302),
                                                                 (watched.deal.loan_id, 301)]
    selector = keccak(text="SinkRefused(uint256,uint16)")[:4]
    assert all(bytes(f["reason"])[:4] == selector for f in failures)
    assert the_event(oracle, receipt, "MarginCall")["loanId"] == watched.deal.loan_id


def test_temperature_out_of_the_goods_range_is_a_breach(fresh, watched: Watched):
    oracle = fresh.platform.oracle
    sink = _sink(fresh)
    watched.site.devices[1].excursion = 9.0  # the cooler fails: about 13 C against 2..8 C
    receipt = watched.aggregator.publish(watched.readings(fresh, 3)).receipt
    breach = the_event(oracle, receipt, "BreachDetected")
    assert breach["breach"] == 1 and breach["observed"] > 800
    assert [c[2] for c in _calls(sink)] == [303]


def test_door_opened_out_of_hours_is_a_breach(fresh, watched: Watched):
    oracle = fresh.platform.oracle
    readings_start = int(fresh.chain.now()) - 30
    tod = readings_start % 86400
    hours = (50_000, 86_400) if tod < 43_200 else (0, 10_000)  # hours that exclude the time of the readings
    oracle.as_(fresh.p.warehouse).set_watch(TargetKind.ASSET, watched.deal.asset_id, 200, 800, *hours)
    watched.site.devices[2].open_at = [readings_start + 10]
    receipt = watched.aggregator.publish(watched.site.run(readings_start, 3, 10)).receipt
    breach = the_event(oracle, receipt, "BreachDetected")
    assert (breach["breach"], breach["observed"]) == (2, readings_start + 10)
    state = oracle.target_state(TargetKind.ASSET, watched.deal.asset_id)
    assert state.door_openings == 1 and state.breach_names == ["door_out_of_hours"]


def test_shipment_off_route_is_a_breach_of_the_prepayment_loan(fresh, watched: Watched):
    oracle = fresh.platform.oracle
    fin = Fin(fresh)
    deal = fin.prepayment_loan()
    fin.advance(deal.purpose_order_id, OrderStatus.SHIPPED)
    order_id = deal.purpose_order_id
    carrier = oracle.as_(fresh.p.carrier)
    carrier.set_route(order_id, ROUTE, 20_000)
    truck = Site.truck("truck", order_id, ROUTE, custodian=fresh.p.carrier.address)
    for dev in truck.devices:
        carrier.register_device(dev.serial, dev.key.address, dev.metric, TargetKind.SHIPMENT, order_id)
    sink = _sink(fresh)
    on_route = watched.aggregator.publish(truck.run(int(fresh.chain.now()) - 30, 3, 10)).receipt
    assert emitted(oracle, on_route, "BreachDetected") == []
    truck.devices[0].detour = (100_000, -100_000)  # about 14 km off the road
    off = watched.aggregator.publish(truck.run(int(fresh.chain.now()) - 30, 3, 10)).receipt
    breach = the_event(oracle, off, "BreachDetected")
    assert (breach["breach"], breach["targetId"], breach["loanId"]) == (3, order_id, deal.loan_id)
    assert [c[1:3] for c in _calls(sink)] == [(deal.loan_id, 305)]
    assert deal.mode == LoanMode.PREPAYMENT


def test_route_check_follows_the_legs(fresh, watched: Watched):
    fin = Fin(fresh)
    order_id = fin.order(fresh.p.seller, fresh.p.core, 10_000_00, OrderStatus.SHIPPED)
    oracle = fresh.platform.oracle
    oracle.as_(fresh.p.carrier).set_route(order_id, ROUTE, 10_000)
    assert not oracle.is_off_route(order_id, 31_265_000, 121_535_000)  # midway along the first leg
    assert oracle.is_off_route(order_id, 31_265_000, 121_600_000)      # 50 km east of it
    with reverts("OracleNotCustodian", targetId=order_id, caller=fresh.p.warehouse.address):
        oracle.as_(fresh.p.warehouse).set_route(order_id, ROUTE, 10_000)


def test_a_new_loan_on_goods_known_short_gets_its_margin_call_and_alerts(fresh, watched: Watched):
    # F-09: the flags belonged to the receipt, so a new pledge of goods already short heard nothing.
    oracle, loans, fin = fresh.platform.oracle, fresh.platform.loans, Fin(fresh)
    sink = _sink(fresh)
    first = watched.deal
    watched.cell.remove(100)
    watched.aggregator.publish(watched.readings(fresh, 3))  # the first loan's breach and margin call
    fin.repay(first, loans.contract.functions.outstanding(first.loan_id).call() + 1_000_00)
    assert fin.asset(first.asset_id).locked_by == 0
    second = fin.pledge(asset_id=first.asset_id, lender=fresh.p.bank2)
    receipt = watched.aggregator.publish(watched.readings(fresh, 3)).receipt
    breach = the_event(oracle, receipt, "BreachDetected")
    assert (breach["breach"], breach["loanId"], breach["observed"]) == (0, second.loan_id, 400)
    assert the_event(oracle, receipt, "MarginCall")["loanId"] == second.loan_id
    calls = _calls(sink)
    assert [c[1:3] for c in calls[-2:]] == [(second.loan_id, 302), (second.loan_id, 301)]
    state = oracle.target_state(TargetKind.ASSET, first.asset_id)
    assert (state.loan_id, state.margin_call, state.breach_names) == (second.loan_id, True, ["goods_missing"])
    again = watched.aggregator.publish(watched.readings(fresh, 3)).receipt  # standing: not raised again
    assert emitted(oracle, again, "MarginCall") == [] and emitted(oracle, again, "BreachDetected") == []
    assert len(_calls(sink)) == len(calls)


def _hostile_sink(world, bomb: bool) -> str:
    address = world.chain.sender.deploy(world.p.operator, "GasBurningAlertSink", bomb)
    world.platform.oracle.as_(world.p.operator).set_alert_sink(address)
    return str(address)


def _three_alerts(world, watched: Watched):
    watched.cell.remove(100)                   # goods missing (302) and a margin call (301)
    watched.site.devices[1].excursion = 9.0    # temperature (303)
    return watched.aggregator.publish(watched.readings(world, 3))


def test_a_gas_burning_alert_sink_costs_a_report_at_most_its_stipend_per_alert(fresh, watched: Watched):
    oracle = fresh.platform.oracle
    _hostile_sink(fresh, bomb=False)
    published = _three_alerts(fresh, watched)
    failures = emitted(oracle, published.receipt, "AlertSinkFailed")
    assert [(f["indicator"], bytes(f["reason"])) for f in failures] == [(302, b""), (303, b""), (301, b"")]
    assert the_event(oracle, published.receipt, "MarginCall")["loanId"] == watched.deal.loan_id
    alert_gas = oracle.contract.functions.ALERT_GAS().call()
    assert alert_gas == 500_000
    assert 3 * alert_gas < published.gas_used < 3 * alert_gas + 1_000_000


def test_a_sink_reverting_with_a_huge_reason_is_reported_with_its_first_bytes(fresh, watched: Watched):
    oracle = fresh.platform.oracle
    _hostile_sink(fresh, bomb=True)
    published = _three_alerts(fresh, watched)
    failures = emitted(oracle, published.receipt, "AlertSinkFailed")
    assert [(f["indicator"], len(f["reason"])) for f in failures] == [(302, 132), (303, 132), (301, 132)]
    assert published.gas_used < 1_500_000


def test_a_sink_without_code_is_reported_and_the_report_accepted(fresh, watched: Watched):
    oracle = fresh.platform.oracle
    oracle.as_(fresh.p.operator).set_alert_sink(fresh.p.outsider.address)
    published = _three_alerts(fresh, watched)
    failures = emitted(oracle, published.receipt, "AlertSinkFailed")
    assert [(f["indicator"], bytes(f["reason"])) for f in failures] == [(302, b""), (303, b""), (301, b"")]
