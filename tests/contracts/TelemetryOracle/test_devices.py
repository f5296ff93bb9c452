"""Devices, signer sets and watches: who may register, retire, rotate and configure."""

from __future__ import annotations

from financing_support import Fin
from harness import reverts, the_event
from oracle_support import Watched, node_keys

from vscm.client.records import OrderStatus
from vscm.oracle.model import Metric, TargetKind, device_id, serial_hash
from vscm.oracle.simulator import device_key


def test_the_warehouse_registers_a_device_on_its_receipt(fresh):
    receipt = Fin(fresh).receipt()
    key = device_key("t", "LC-9")
    oracle = fresh.platform.oracle
    tx = oracle.as_(fresh.p.warehouse).register_device("LC-9", key.address, Metric.WEIGHT, TargetKind.ASSET, receipt)
    event = the_event(oracle, tx, "DeviceRegistered")
    lc9 = device_id("LC-9", fresh.p.warehouse.address)
    assert (event["owner"], event["deviceId"], event["serial"]) == (fresh.p.warehouse.address, lc9, serial_hash("LC-9"))
    d = oracle.device(lc9)
    assert (d.key, d.metric, d.kind, d.target_id, d.retired, d.last_seq) == (
        key.address, Metric.WEIGHT, TargetKind.ASSET, receipt, False, 0)
    assert [x.device_id for x in oracle.devices(fresh.p.warehouse.address)] == [lc9]


def test_only_the_custodian_registers_a_device(fresh):
    receipt = Fin(fresh).receipt()
    oracle = fresh.platform.oracle
    with reverts("OracleNotCustodian", targetId=receipt, caller=fresh.p.carrier.address):
        oracle.as_(fresh.p.carrier).register_device("X", fresh.p.carrier.address, Metric.DOOR,
                                                    TargetKind.ASSET, receipt)
    with reverts("OracleOwnerNotActive", owner=fresh.p.outsider.address):
        oracle.as_(fresh.p.outsider).register_device("X", fresh.p.outsider.address, Metric.DOOR,
                                                     TargetKind.ASSET, receipt)


def test_a_device_id_is_registered_once(fresh, watched: Watched):
    with reverts("OracleDeviceExists", deviceId=watched.cell.device_id):
        fresh.platform.oracle.as_(fresh.p.warehouse).register_device(
            watched.cell.serial, fresh.p.warehouse.address, Metric.WEIGHT, TargetKind.ASSET, watched.deal.asset_id)


def test_only_the_owner_or_operator_retires_and_a_retired_device_stays_retired(fresh, watched: Watched):
    oracle = fresh.platform.oracle
    cell = watched.cell.device_id
    with reverts("OracleNotDeviceOwner", deviceId=cell, caller=fresh.p.carrier.address):
        oracle.as_(fresh.p.carrier).retire_device(cell)
    oracle.as_(fresh.p.operator).retire_device(cell)
    assert oracle.device(cell).retired
    assert oracle.target_state(TargetKind.ASSET, watched.deal.asset_id).active_devices == 2
    with reverts("OracleDeviceRetired", deviceId=cell):
        oracle.as_(fresh.p.warehouse).retire_device(cell)


def test_a_rotated_key_signs_from_then_on(fresh, watched: Watched):
    oracle = fresh.platform.oracle
    cell = watched.cell
    watched.aggregator.publish(watched.readings(fresh, 2))
    new = device_key("rotated", cell.serial)
    oracle.as_(fresh.p.warehouse).rotate_device_key(cell.device_id, new.address)
    batch = watched.nodes[0].prepare(watched.readings(fresh, 2))
    assert [r.reason for r in batch.rejected] == ["not signed by the device's key"] * 2
    cell.key = new
    batch = watched.nodes[0].prepare(watched.readings(fresh, 2))
    assert batch.rejected == [] and oracle.device(cell.device_id).last_seq == 2


def test_signer_sets_are_a_majority_of_distinct_nodes(fresh):
    oracle = fresh.platform.oracle.as_(fresh.p.operator)
    keys = [k.address for k in node_keys(count=4)]
    with reverts("OracleBadSignerSet", nodes=4, quorum=2):
        oracle.set_signers(keys, 2)
    with reverts("OracleDuplicateNode", node=keys[0]):
        oracle.set_signers([keys[0], keys[1], keys[0]], 2)
    with reverts("AccessControlUnauthorizedAccount"):
        fresh.platform.oracle.as_(fresh.p.oracle).set_signers(keys, 3)
    assert oracle.set_signers(keys, 3).id == 1
    assert oracle.signer_set() == (1, 3, keys)


def test_a_watch_is_set_by_the_custodian_with_a_sane_range(fresh, watched: Watched):
    oracle = fresh.platform.oracle
    with reverts("OracleBadWatch", minTemp=900, maxTemp=800):
        oracle.as_(fresh.p.warehouse).set_watch(TargetKind.ASSET, watched.deal.asset_id, 900, 800)
    with reverts("OracleNotCustodian"):
        oracle.as_(fresh.p.supplier).set_watch(TargetKind.ASSET, watched.deal.asset_id, 0, 800)
    assert oracle.watch(TargetKind.ASSET, watched.deal.asset_id) == (200, 800, 8 * 3600, 18 * 3600)


def test_deploy_platform_installs_no_signer_set_unless_given_one(fresh):
    from vscm.chain.deploy import deploy_platform

    assert fresh.platform.oracle.signer_set() == (0, 0, [])  # the test world: closed until set_signers
    keys = [k.address for k in node_keys()]
    platform = deploy_platform(fresh.chain, fresh.p.operator, manifest=False, network="signed", oracle_signers=keys)
    assert platform.oracle.signer_set() == (1, 2, keys)


def test_a_suspended_or_evicted_custodian_neither_retires_nor_rekeys_its_devices(fresh, watched: Watched):
    oracle, members = fresh.platform.oracle, fresh.platform.members.as_(fresh.p.operator)
    cell, door = watched.cell.device_id, watched.site.devices[2].device_id
    warehouse = fresh.p.warehouse
    new = device_key("rekeyed", "LC").address
    members.suspend(warehouse.address, b"\x01" * 32)
    with reverts("OracleCustodianNotActive", deviceId=cell, owner=warehouse.address):
        oracle.as_(warehouse).retire_device(cell)
    with reverts("OracleCustodianNotActive", deviceId=cell, owner=warehouse.address):
        oracle.as_(warehouse).rotate_device_key(cell, new)
    members.evict(warehouse.address, b"\x02" * 32)
    with reverts("OracleCustodianNotActive", deviceId=door, owner=warehouse.address):
        oracle.as_(warehouse).retire_device(door)
    with reverts("OracleCustodianNotActive", deviceId=door, owner=warehouse.address):
        oracle.as_(warehouse).rotate_device_key(door, new)
    assert not oracle.device(cell).retired and oracle.device(cell).key == watched.cell.key.address
    oracle.as_(fresh.p.operator).retire_device(cell)  # the operator still can
    assert oracle.device(cell).retired


def test_device_ids_are_namespaced_so_no_custodian_squats_another_s(fresh, watched: Watched):
    # The carrier registers the warehouse's serial on a shipment it carries: its own id, not the warehouse's.
    fin = Fin(fresh)
    order_id = fin.order(fresh.p.seller, fresh.p.core, 10_000_00, OrderStatus.SHIPPED)
    oracle = fresh.platform.oracle
    serial = watched.cell.serial
    tx = oracle.as_(fresh.p.carrier).register_device(serial, fresh.p.carrier.address, Metric.WEIGHT,
                                                     TargetKind.SHIPMENT, order_id)
    theirs = the_event(oracle, tx, "DeviceRegistered")["deviceId"]
    assert theirs == device_id(serial, fresh.p.carrier.address) != watched.cell.device_id
    mine = oracle.device(watched.cell.device_id)
    assert (mine.owner, mine.kind, mine.target_id) == (fresh.p.warehouse.address, TargetKind.ASSET,
                                                       watched.deal.asset_id)
    assert {d.owner for d in oracle.devices(serial=serial)} == {fresh.p.warehouse.address, fresh.p.carrier.address}
    # ... and a serial the carrier registers first is still free for the warehouse.
    oracle.as_(fresh.p.carrier).register_device("SHARED-7", fresh.p.carrier.address, Metric.DOOR,
                                                TargetKind.SHIPMENT, order_id)
    oracle.as_(fresh.p.warehouse).register_device("SHARED-7", fresh.p.warehouse.address, Metric.DOOR,
                                                  TargetKind.ASSET, watched.deal.asset_id)
    assert oracle.device(device_id("SHARED-7", fresh.p.warehouse.address)).owner == fresh.p.warehouse.address
