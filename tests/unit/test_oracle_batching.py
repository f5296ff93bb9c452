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


def eth_accounts_signer(reading: Reading, signature: bytes):
    """What ``SignedReading.signer`` gave before its fast path: eth-account's recovery, its value errors
    as ``OracleError``; the result, or the type of what it raised."""
    from eth_account import Account
    from eth_account.messages import encode_defunct
    from eth_utils import ValidationError

    try:
        return Account.recover_message(encode_defunct(primitive=reading.hash), signature=signature)
    except (ValueError, TypeError, ValidationError):
        return OracleError
    except Exception as exc:  # noqa: BLE001 - the kind of failure is what is compared
        return type(exc)


def fast_signer(reading: Reading, signature: bytes):
    try:
        return SignedReading(reading, signature).signer()
    except Exception as exc:  # noqa: BLE001 - the kind of failure is what is compared
        return type(exc)


def test_device_signatures_and_their_recovery_are_eth_accounts():
    """The fast path (coincurve directly) gives eth-account's bytes and signers; a signature it does
    not take (bad v, r or s out of range, high s, wrong length) fails exactly as it did through eth-account."""
    from eth_account import Account
    from eth_account.messages import encode_defunct
    from eth_utils import keccak

    from vscm.oracle.model import SECP256K1_N

    for k in range(4):
        key = Account.from_key(keccak(text=f"device-{k}"))
        for seq in range(1, 6):
            reading = Reading(device_id(f"d{k}", WAREHOUSE), seq, 1_000 + seq, Metric.TEMPERATURE, 400 + seq * k)
            signed = SignedReading.sign(reading, key)
            good = signed.signature
            assert good == bytes(key.sign_message(encode_defunct(primitive=reading.hash)).signature)
            assert signed.signer() == key.address == eth_accounts_signer(reading, good)
            high_s = good[:32] + (SECP256K1_N - int.from_bytes(good[32:64], "big")).to_bytes(32, "big") + bytes(
                (55 - good[64],))  # the same signature with s and v flipped
            n = SECP256K1_N.to_bytes(32, "big")
            for bad in (high_s, good[:64], good[:64] + b"\x1d", good[:64] + b"\x01", bytes(32) + good[32:],
                        good[:32] + n + good[64:], n + good[32:], good + b"\x00"):
                assert fast_signer(reading, bad) == eth_accounts_signer(reading, bad), bad.hex()


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
