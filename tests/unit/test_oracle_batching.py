"""The oracle's pure logic, without a chain: Merkle proofs, reading chains, summaries, sources."""

from __future__ import annotations

import pytest

from vscm.oracle.merkle import MerkleTree, process_proof
from vscm.oracle.model import Metric, OracleError, Reading, SignedReading, TargetKind, device_id
from vscm.oracle.node import summarize
from vscm.oracle.report import F_DOOR, F_LOCATION, F_QUANTITY, F_TEMPERATURE
from vscm.oracle.simulator import Site, device_key
from vscm.oracle.sources import JsonLinesSource, MqttTarget, open_source, write_jsonl

WAREHOUSE = "0x1111111111111111111111111111111111111111"  # the custodian whose namespace the simulated ids are in


@pytest.mark.parametrize("n", [1, 2, 3, 7, 10, 33])
def test_every_leaf_proves_against_the_root(n):
    leaves = [Reading(device_id("d", WAREHOUSE), i + 1, 100 + i, Metric.DOOR, 0).leaf for i in range(n)]
    tree = MerkleTree(leaves)
    assert all(process_proof(leaf, tree.proof(i)) == tree.root for i, leaf in enumerate(leaves))
    if n > 1:
        assert process_proof(leaves[0], tree.proof(1)) != tree.root


def test_a_device_chains_each_reading_to_the_previous_and_signs_it():
    site = Site.warehouse("unit", 7, 500, custodian=WAREHOUSE)
    readings = site.run(1_000, 3, 10)
    cell = [r for r in readings if r.reading.device_id == site.devices[0].device_id]
    assert [r.reading.seq for r in cell] == [1, 2, 3]
    assert cell[1].reading.prev_hash == cell[0].reading.hash and cell[2].reading.prev_hash == cell[1].reading.hash
    assert cell[0].signer() == device_key("unit", site.devices[0].serial).address


def test_a_reading_survives_json_and_a_tampered_one_changes_signer():
    sr = Site.warehouse("unit", 7, 500, custodian=WAREHOUSE).run(1_000, 1, 10)[0]
    assert SignedReading.from_json(sr.to_json()) == sr
    forged = SignedReading(Reading(**{**sr.reading.__dict__, "value": sr.reading.value + 1}), sr.signature)
    assert forged.signer() != sr.signer()
    with pytest.raises(OracleError, match="no signature"):
        SignedReading.from_json('{"seq": 1}')


def test_summary_of_a_watched_bay():
    dev = device_id("x", WAREHOUSE)
    rs = [Reading(dev, 1, 1000, Metric.WEIGHT, 500_040), Reading(dev, 2, 1010, Metric.WEIGHT, 499_980),
          Reading(device_id("t", WAREHOUSE), 1, 1000, Metric.TEMPERATURE, 410), Reading(device_id("t", WAREHOUSE), 2, 1010,
                                                                              Metric.TEMPERATURE, 380),
          Reading(device_id("g", WAREHOUSE), 1, 1000, Metric.LOCATION, 10, 20), Reading(device_id("g", WAREHOUSE), 2, 1010,
                                                                             Metric.LOCATION, 11, 21),
          Reading(device_id("d", WAREHOUSE), 1, 1000, Metric.DOOR, 1), Reading(device_id("d", WAREHOUSE), 2, 1010, Metric.DOOR, 1)]
    s = summarize(rs, TargetKind.ASSET, 3, hours=(0, 1005))
    assert s.fields == F_QUANTITY | F_TEMPERATURE | F_LOCATION | F_DOOR
    assert (s.quantity, s.min_temp, s.max_temp, s.lat, s.lon) == (500, 380, 410, 11, 21)
    assert (s.door_openings, s.out_of_hours_at) == (2, 1010)


def test_sources_are_named_by_url_or_file(tmp_path):
    assert MqttTarget.parse("mqtt://127.0.0.1:2883/vscm/x").topic("LC-1") == "vscm/x/devices/LC-1"
    with pytest.raises(OracleError, match="unknown source"):
        open_source("readings.csv")
    readings = Site.warehouse("unit", 7, 500, custodian=WAREHOUSE).run(1_000, 2, 10)
    path = write_jsonl(tmp_path / "r.jsonl", readings)
    assert JsonLinesSource(path).collect() == readings
    path.write_text(path.read_text() + "not json\n")
    with pytest.raises(OracleError, match=r"r.jsonl:7: a reading is not valid JSON"):
        JsonLinesSource(path).collect()
