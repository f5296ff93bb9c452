"""End to end over a real Mosquitto broker (a private one, `mqtt_broker`): simulated devices publish signed
readings on their own topics, the oracle collects them, three nodes check and sign, the aggregator
publishes the batch, and the chain's collateral state follows the goods."""

from __future__ import annotations

import uuid

import pytest
from harness import the_event
from oracle_support import watch_pledge

from vscm.oracle.model import TargetKind
from vscm.oracle.sources import MqttPublisher, MqttSource

pytestmark = pytest.mark.mqtt


def _round(world, watched, url, samples=4):
    readings = watched.readings(world, samples)
    with MqttSource(url) as source, MqttPublisher(url) as device_side:
        for sr in readings:
            serial = next(d.serial for d in watched.site.devices if d.device_id == sr.reading.device_id)
            device_side.publish(serial, sr)
        received = source.collect(expected=len(readings), timeout=600)
    assert sorted(received, key=lambda s: s.to_json()) == sorted(readings, key=lambda s: s.to_json())
    return watched.aggregator.publish(received)


def test_readings_over_mqtt_reach_the_chain_and_a_removal_raises_a_margin_call(fresh, mqtt_broker):
    url = f"{mqtt_broker.url}/vscm-test-{uuid.uuid4().hex[:12]}"  # a topic prefix of this run only
    watched = watch_pledge(fresh, seed="mqtt")
    oracle = fresh.platform.oracle
    first = _round(fresh, watched, url)
    assert first.batch.report.reading_count == 12 and first.batch.rejected == []
    state = oracle.target_state(TargetKind.ASSET, watched.deal.asset_id)
    assert (state.quantity, state.margin_call, state.batch_id) == (500, False, first.batch.report.batch_id)
    for device in watched.site.devices:
        assert oracle.device(device.device_id).last_seq == 4

    watched.cell.remove(150)
    second = _round(fresh, watched, url)
    call = the_event(oracle, second.receipt, "MarginCall")
    assert (call["loanId"], call["collateralValue"]) == (watched.deal.loan_id, 280_000_00)
    state = oracle.target_state(TargetKind.ASSET, watched.deal.asset_id)
    assert state.quantity == 350 and state.margin_call and state.breach_names == ["goods_missing"]
    proof_index = 5
    reading = second.batch.readings[proof_index].reading
    assert oracle.verify_reading(second.batch.report.batch_id, reading, second.batch.proof(proof_index)) == reading.leaf
