"""Oracle nodes and the aggregator: what a node refuses before anything reaches the chain, and how
the aggregator needs a quorum of nodes agreeing on one report."""

from __future__ import annotations

from dataclasses import replace

import pytest
from eth_account import Account
from oracle_support import Watched

from vscm.oracle.model import Metric, OracleError, Reading, SignedReading
from vscm.oracle.node import Aggregator, OracleNode


def _reasons(batch) -> list[str]:
    return [r.reason for r in batch.rejected]


def test_a_node_refuses_readings_it_cannot_trust(fresh, watched: Watched):
    node = watched.nodes[0]
    good = watched.readings(fresh, 2)
    cell = good[0]
    forged = SignedReading(replace(cell.reading, value=cell.reading.value - 50_000), cell.signature)
    stranger = SignedReading.sign(replace(cell.reading, seq=99), Account.create())
    ghost = SignedReading.sign(Reading(b"\x01" * 32, 1, cell.reading.timestamp, Metric.DOOR, 0), Account.create())
    wrong_metric_reading = replace(cell.reading, seq=100, metric=Metric.DOOR)
    wrong_metric = SignedReading.sign(wrong_metric_reading, watched.cell.key)
    batch = node.prepare([*good, forged, stranger, ghost, wrong_metric])
    assert len(batch.readings) == len(good)
    assert sorted(_reasons(batch)) == sorted(["not signed by the device's key", "not signed by the device's key",
                                              "unknown device", "metric door from a weight device"])


def test_a_node_refuses_out_of_bounds_and_future_readings(fresh, watched: Watched):
    node = watched.nodes[0]
    logger, door = watched.site.devices[1], watched.site.devices[2]
    now = int(fresh.chain.now())
    hot = SignedReading.sign(Reading(logger.device_id, 50, now, Metric.TEMPERATURE, 20_000), logger.key)
    future = SignedReading.sign(Reading(door.device_id, 60, now + 3600, Metric.DOOR, 0), door.key)
    with pytest.raises(OracleError, match="nothing to report"):
        node.prepare([hot, future])
    batch = node.prepare([hot, future, *watched.readings(fresh, 1)])
    assert sorted(_reasons(batch)) == ["temperature value out of physical bounds", "timestamp in the future"]
    assert len(batch.readings) == 3


def test_a_node_sees_gaps_and_refuses_a_broken_hash_chain(fresh, watched: Watched):
    node = watched.nodes[0]
    readings = watched.readings(fresh, 4)
    cell_id = watched.cell.device_id
    cell = [r for r in readings if r.reading.device_id == cell_id]
    others = [r for r in readings if r.reading.device_id != cell_id]
    batch = node.prepare([cell[0], cell[2], cell[3], *others])  # reading 2 withheld
    assert (cell_id, 2, 3) in batch.gaps and batch.rejected == []
    broken = SignedReading.sign(replace(cell[1].reading, prev_hash=b"\x07" * 32), watched.cell.key)
    batch = node.prepare([cell[0], broken, *others])
    assert _reasons(batch) == ["hash chain broken"]


def test_a_node_refuses_sequences_already_on_chain(fresh, watched: Watched):
    first = watched.readings(fresh, 2)
    watched.aggregator.publish(first)
    fresh_node = OracleNode(watched.nodes[1].key, fresh.platform.oracle)  # no memory: reads the chain
    batch = fresh_node.prepare(first + watched.readings(fresh, 1))
    assert sorted(_reasons(batch)) == ["sequence 1 not after 2"] * 3 + ["sequence 2 not after 2"] * 3
    assert len(batch.readings) == 3


def test_the_aggregator_needs_a_quorum_of_agreeing_nodes(fresh, watched: Watched):
    oracle = fresh.platform.oracle
    readings = watched.readings(fresh, 2)
    lone = Aggregator(watched.nodes[:1], oracle, fresh.p.oracle)
    with pytest.raises(OracleError, match="only 1 of the quorum of 2 nodes agree"):
        lone.publish(readings)

    class Liar(OracleNode):
        def prepare(self, readings, signer_set=None, now=None):
            batch = super().prepare(readings, signer_set, now)
            summary = replace(batch.report.summaries[0], quantity=batch.report.summaries[0].quantity + 100)
            batch.report = replace(batch.report, summaries=(summary,))
            return batch

    split = Aggregator([watched.nodes[0], Liar(watched.nodes[1].key, oracle)], oracle, fresh.p.oracle)
    with pytest.raises(OracleError, match="only 1 of the quorum of 2 nodes agree"):
        split.publish(readings)
    honest_majority = Aggregator([watched.nodes[0], Liar(watched.nodes[1].key, oracle), watched.nodes[2]], oracle,
                                 fresh.p.oracle)
    published = honest_majority.publish(readings)
    assert published.signers == [watched.nodes[0].address, watched.nodes[2].address]
    assert published.batch.report.summaries[0].quantity == 500
