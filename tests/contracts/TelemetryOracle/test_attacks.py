"""The attack suite: every forged, replayed or malformed report is refused with a named error."""

from __future__ import annotations

from dataclasses import replace

from eth_keys.constants import SECPK1_N
from financing_support import Fin
from harness import reverts
from oracle_support import Watched, node_keys, signed

from vscm.oracle.model import TargetKind, device_id
from vscm.oracle.node import OracleNode
from vscm.oracle.report import DeviceSeq
from vscm.oracle.simulator import Site


def _publish(world, watched: Watched, report, sigs):
    return world.platform.oracle.as_(world.p.oracle).submit_report(report, sigs)


def _batch(world, watched: Watched, samples: int = 3):
    return watched.nodes[0].prepare(watched.readings(world, samples))


def test_a_report_signed_by_a_quorum_is_accepted(fresh, watched):
    batch = _batch(fresh, watched)
    _publish(fresh, watched, batch.report, signed(fresh, batch.report, node_keys()[:2]))
    assert fresh.platform.oracle.batch(batch.report.batch_id).root == batch.report.readings_root


def test_replayed_report_is_refused(fresh, watched):
    batch = _batch(fresh, watched)
    sigs = signed(fresh, batch.report, node_keys()[:2])
    _publish(fresh, watched, batch.report, sigs)
    digest = fresh.platform.oracle.batch(batch.report.batch_id).digest
    with reverts("OracleReportReplayed", digest=digest):
        _publish(fresh, watched, batch.report, sigs)


def test_report_signed_for_another_chain_id_is_refused(fresh, watched):
    batch = _batch(fresh, watched)
    sigs = signed(fresh, batch.report, node_keys()[:2], chain_id=fresh.platform.oracle.chain_id + 1)
    with reverts("OracleSignerNotInSet", signerSet=1):
        _publish(fresh, watched, batch.report, sigs)


def test_report_signed_for_another_contract_is_refused(fresh, watched):
    batch = _batch(fresh, watched)
    sigs = signed(fresh, batch.report, node_keys()[:2], contract=fresh.platform.loans.address)
    with reverts("OracleSignerNotInSet", signerSet=1):
        _publish(fresh, watched, batch.report, sigs)


def test_stale_report_is_refused(fresh, watched):
    batch = _batch(fresh, watched)
    sigs = signed(fresh, batch.report, node_keys()[:2])
    max_age, _ = fresh.platform.oracle.limits()
    fresh.chain.time_travel(max_age + 60)
    with reverts("OracleReportStale", periodEnd=batch.report.period_end, maxAge=max_age):
        _publish(fresh, watched, batch.report, sigs)


def test_report_from_the_future_is_refused(fresh, watched):
    batch = _batch(fresh, watched)
    _, max_skew = fresh.platform.oracle.limits()
    report = replace(batch.report, period_end=fresh.chain.now() + max_skew + 120)
    with reverts("OracleReportFromFuture", periodEnd=report.period_end, maxSkew=max_skew):
        _publish(fresh, watched, report, signed(fresh, report, node_keys()[:2]))


def test_high_s_signature_is_refused(fresh, watched):
    batch = _batch(fresh, watched)
    good = signed(fresh, batch.report, node_keys()[:2])
    r, s, v = good[0][:32], int.from_bytes(good[0][32:64], "big"), good[0][64]
    high = r + (SECPK1_N - s).to_bytes(32, "big") + bytes([55 - v])  # the same signature, malleated
    with reverts("ECDSAInvalidSignatureS", s=(SECPK1_N - s).to_bytes(32, "big")):
        _publish(fresh, watched, batch.report, [high, good[1]])


def test_the_same_signer_twice_is_refused(fresh, watched):
    batch = _batch(fresh, watched)
    one = signed(fresh, batch.report, node_keys()[:1])[0]
    with reverts("OracleDuplicateSigner", signer=node_keys()[0].address):
        _publish(fresh, watched, batch.report, [one, one])


def test_quorum_minus_one_is_refused(fresh, watched):
    batch = _batch(fresh, watched)
    with reverts("OracleQuorumNotMet", signatures=1, quorum=2):
        _publish(fresh, watched, batch.report, signed(fresh, batch.report, node_keys()[:1]))


def test_a_signer_outside_the_set_is_refused(fresh, watched):
    batch = _batch(fresh, watched)
    outsider = node_keys(seed="not-a-node", count=1)
    sigs = signed(fresh, batch.report, node_keys()[:1] + outsider)
    with reverts("OracleSignerNotInSet", signer=outsider[0].address):
        _publish(fresh, watched, batch.report, sigs)


def test_unregistered_device_is_refused(fresh, watched):
    batch = _batch(fresh, watched)
    ghost = device_id("GHOST-1", fresh.p.warehouse.address)
    report = replace(batch.report, devices=batch.report.devices + (DeviceSeq(ghost, 1, 3),))
    with reverts("OracleUnknownDevice", deviceId=ghost):
        _publish(fresh, watched, report, signed(fresh, report, node_keys()[:2]))


def test_retired_device_is_refused(fresh, watched):
    batch = _batch(fresh, watched)
    cell = watched.cell.device_id
    fresh.platform.oracle.as_(fresh.p.warehouse).retire_device(cell)
    with reverts("OracleDeviceRetired", deviceId=cell):
        _publish(fresh, watched, batch.report, signed(fresh, batch.report, node_keys()[:2]))


def test_report_signed_by_a_retired_signer_set_is_refused(fresh, watched):
    batch = _batch(fresh, watched)
    sigs = signed(fresh, batch.report, node_keys()[:2])
    new = node_keys(seed="second-set")
    fresh.platform.oracle.as_(fresh.p.operator).set_signers([k.address for k in new], 2)
    with reverts("OracleSignerSetRetired", signerSet=1, current=2):
        _publish(fresh, watched, batch.report, sigs)


def test_old_signers_cannot_sign_for_the_new_set(fresh, watched):
    batch = _batch(fresh, watched)
    new = node_keys(seed="second-set")
    fresh.platform.oracle.as_(fresh.p.operator).set_signers([k.address for k in new], 2)
    report = replace(batch.report, signer_set=2)
    with reverts("OracleSignerNotInSet", signer=node_keys()[0].address, signerSet=2):
        _publish(fresh, watched, report, signed(fresh, report, node_keys()[:2]))


def test_wrong_merkle_proof_is_refused(fresh, watched):
    batch = _batch(fresh, watched)
    _publish(fresh, watched, batch.report, signed(fresh, batch.report, node_keys()[:2]))
    oracle = fresh.platform.oracle
    bid = batch.report.batch_id
    reading = batch.readings[2].reading
    assert oracle.verify_reading(bid, reading, batch.proof(2)) == reading.leaf
    forged = replace(reading, value=reading.value + 1)
    with reverts("OracleReadingNotInBatch", batchId=bid, leaf=forged.leaf):
        oracle.verify_reading(bid, forged, batch.proof(2))
    with reverts("OracleReadingNotInBatch", batchId=bid, leaf=reading.leaf):
        oracle.verify_reading(bid, reading, batch.proof(1))
    with reverts("OracleUnknownBatch", batchId=bid + 1):
        oracle.verify_reading(bid + 1, reading, batch.proof(2))


def test_out_of_bounds_temperature_is_refused(fresh, watched):
    batch = _batch(fresh, watched)
    summary = replace(batch.report.summaries[0], max_temp=15_001)
    report = replace(batch.report, summaries=(summary,))
    with reverts("OracleValueOutOfBounds", metric=1, value=15_001, min=-8000, max=15000):
        _publish(fresh, watched, report, signed(fresh, report, node_keys()[:2]))


def test_out_of_bounds_latitude_is_refused(fresh, watched):
    batch = _batch(fresh, watched)
    summary = replace(batch.report.summaries[0], fields=batch.report.summaries[0].fields | 4, lat=91_000_000)
    report = replace(batch.report, summaries=(summary,))
    with reverts("OracleValueOutOfBounds", metric=2, value=91_000_000):
        _publish(fresh, watched, report, signed(fresh, report, node_keys()[:2]))


def test_sequence_going_backwards_is_refused(fresh, watched):
    first = _batch(fresh, watched, samples=3)
    _publish(fresh, watched, first.report, signed(fresh, first.report, node_keys()[:2]))
    cell = watched.cell.device_id
    report = replace(first.report, batch_id=first.report.batch_id + 1, devices=(DeviceSeq(cell, 2, 4),))
    with reverts("OracleSequenceNotIncreasing", deviceId=cell, lastSeq=3, firstSeq=2):
        _publish(fresh, watched, report, signed(fresh, report, node_keys()[:2]))


def test_a_batch_id_is_used_once(fresh, watched):
    first = _batch(fresh, watched, samples=2)
    _publish(fresh, watched, first.report, signed(fresh, first.report, node_keys()[:2]))
    second = watched.nodes[0].prepare(watched.readings(fresh, 2))
    report = replace(second.report, batch_id=first.report.batch_id)
    with reverts("OracleBatchExists", batchId=first.report.batch_id):
        _publish(fresh, watched, report, signed(fresh, report, node_keys()[:2]))


def test_only_an_oracle_member_publishes(fresh, watched):
    batch = _batch(fresh, watched)
    with reverts("OracleNotPublisher", caller=fresh.p.outsider.address):
        fresh.platform.oracle.as_(fresh.p.outsider).submit_report(batch.report,
                                                                 signed(fresh, batch.report, node_keys()[:2]))


def test_no_report_is_accepted_before_a_signer_set_is_installed(fresh):
    # F-01: with no set installed, set 0 had no nodes and a quorum of 0, so zero signatures passed.
    deal = Fin(fresh).pledge()
    oracle = fresh.platform.oracle
    site = Site.warehouse("unsigned", deal.asset_id, 500, custodian=fresh.p.warehouse.address)
    for dev in site.devices:
        oracle.as_(fresh.p.warehouse).register_device(dev.serial, dev.key.address, dev.metric, TargetKind.ASSET,
                                                      deal.asset_id)
    site.devices[0].remove(500)  # a forged empty warehouse
    report = OracleNode(node_keys()[0], oracle).prepare(site.run(int(fresh.chain.now()) - 30, 3, 10)).report
    cell = site.devices[0].device_id
    forged = replace(report, devices=tuple(DeviceSeq(d.device_id, 1, 2**64 - 1) if d.device_id == cell else d
                                           for d in report.devices))
    assert oracle.signer_set() == (0, 0, [])
    for r in (report, forged):
        with reverts("OracleNoSignerSet"):
            oracle.as_(fresh.p.oracle).submit_report(r, [])
    state = oracle.target_state(TargetKind.ASSET, deal.asset_id)
    assert (state.batch_id, state.breaches, state.margin_call) == (0, 0, False)
    assert oracle.device(cell).last_seq == 0


def test_a_signer_set_never_has_a_quorum_of_zero(fresh):
    keys = [k.address for k in node_keys()]
    with reverts("OracleBadSignerSet", nodes=3, quorum=0):
        fresh.platform.oracle.as_(fresh.p.operator).set_signers(keys, 0)


def test_a_report_cannot_push_a_sequence_to_the_end_of_its_range(fresh, watched):
    # F-01: a signed report naming lastSeq 2^64-1 would silence the device for good.
    batch = _batch(fresh, watched)
    cell = watched.cell.device_id

    def with_cell(report, first, last, batch_id):
        devices = tuple(DeviceSeq(cell, first, last) if d.device_id == cell else d for d in report.devices)
        return replace(report, devices=devices, batch_id=batch_id)

    report = with_cell(batch.report, 1, 2**64 - 1, batch.report.batch_id)
    with reverts("OracleSequenceJump", deviceId=cell, lastSeq=0, reportedLastSeq=2**64 - 1, maxAdvance=2**32):
        _publish(fresh, watched, report, signed(fresh, report, node_keys()[:2]))
    # An advance of exactly MAX_SEQ_ADVANCE is a long gap of lost readings, not an attack.
    report = with_cell(batch.report, 1, 2**32, batch.report.batch_id)
    _publish(fresh, watched, report, signed(fresh, report, node_keys()[:2]))
    assert fresh.platform.oracle.device(cell).last_seq == 2**32
    report = replace(batch.report, devices=(DeviceSeq(cell, 2**32 + 1, 2**33 + 1),),
                     batch_id=batch.report.batch_id + 1)
    with reverts("OracleSequenceJump", deviceId=cell, lastSeq=2**32, reportedLastSeq=2**33 + 1):
        _publish(fresh, watched, report, signed(fresh, report, node_keys()[:2]))
