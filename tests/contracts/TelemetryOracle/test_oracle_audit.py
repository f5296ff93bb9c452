"""The auditor's replay rebuilds TelemetryOracle's state: devices registered, rotated and retired, two
signer sets, watches, a route, limits, bounds, the alert sink, accepted batches with breaches, a
margin call and its clearing; zero differences. An altered oracle log in a stored history is found."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_utils import keccak
from financing_support import Fin
from oracle_support import Watched, node_keys, setup_oracle, watch_pledge

from vscm.audit.audit import AuditOutcome, audit_chain, audit_stored
from vscm.audit.oracle import NO_EVENT
from vscm.client.records import OrderStatus
from vscm.oracle.model import Metric, TargetKind, device_id
from vscm.oracle.node import Aggregator

ROUTE = [(31_230_000, 121_470_000), (31_300_000, 121_600_000), (31_400_000, 121_700_000)]


@pytest.fixture(scope="module")
def world(wired_world: Any) -> Any:
    """This module swaps the oracle's alert sink for test doubles: it runs on the test-wired world, whose
    TelemetryOracle keeps its WIRING_ROLE (a deployed platform's sink is sealed, test_wiring_sealed.py)."""
    return wired_world


def _oracle_events() -> set[str]:
    from vscm.chain.artifacts import load

    return {i["name"] for i in load("TelemetryOracle").abi if i.get("type") == "event"}


def _story(fresh: Any) -> tuple[Watched, dict[str, Any]]:
    """Every kind of oracle event, in the order a platform would see them."""
    w = watch_pledge(fresh)
    oracle, p = fresh.platform.oracle, fresh.p
    ops = oracle.as_(p.operator)
    w.aggregator.publish(w.readings(fresh, 3))                       # a clean batch
    spare = device_id("WH-SPARE-1", p.warehouse.address)
    oracle.as_(p.warehouse).register_device("WH-SPARE-1", Account.from_key(keccak(text="spare")).address, Metric.WEIGHT,
                                            TargetKind.ASSET, w.deal.asset_id)
    oracle.as_(p.warehouse).retire_device(spare)
    door = w.site.devices[2]
    new_key = Account.from_key(keccak(text="door-sensor-new-key"))
    oracle.as_(p.warehouse).rotate_device_key(door.device_id, new_key.address)
    door.key = new_key                                               # the sensor signs with its new key
    nodes = setup_oracle(fresh, node_keys(seed="second-set"))        # signer set 2
    w.aggregator = Aggregator(nodes, oracle, p.oracle)
    ops.set_limits(2 * 3600, 600)
    ops.set_bounds(Metric.TEMPERATURE, -5000, 12000)
    order_id = Fin(fresh).order(p.seller, p.core, 10_000_00, OrderStatus.SHIPPED)
    oracle.as_(p.carrier).set_route(order_id, ROUTE, 10_000)
    oracle.as_(p.warehouse).set_watch(TargetKind.ASSET, w.deal.asset_id, 100, 900)
    refusing = fresh.chain.sender.deploy(p.operator, "RecordingAlertSink", True)
    ops.set_alert_sink(refusing)
    w.cell.remove(100)                                               # goods leave without a release
    w.site.devices[1].excursion = 9.0                                # and the cooler fails
    w.aggregator.publish(w.readings(fresh, 3))                       # breaches, a margin call, sink failures
    ops.set_alert_sink(fresh.platform.deployment.risk)
    w.cell.quantity = 500
    w.site.devices[1].excursion = 0.0
    w.aggregator.publish(w.readings(fresh, 3))                       # all cleared
    return w, {"spare": spare, "door": door.device_id, "new_key": new_key.address, "order": order_id}


def test_replay_of_devices_signers_batches_breaches_and_a_margin_call_finds_no_difference(fresh):
    w, said = _story(fresh)
    outcome = audit_chain(fresh.chain, fresh.platform.deployment)

    assert [str(f) for f in outcome.findings] == []
    state = outcome.result.state
    seen = {k.rsplit(".", 1)[1] for k in state.counters if k.startswith("events.TelemetryOracle.")}
    # Not emitted here: role revocations, and IERC5267's EIP712DomainChanged, which OpenZeppelin's EIP712
    # never emits (its domain is immutable; the fold would report it as unknown). RoleAdminChanged is: the
    # constructor makes WIRING_ROLE the admin of the internal roles.
    assert seen == _oracle_events() - {"RoleRevoked", "EIP712DomainChanged"}
    devices = state.table("oracle_devices")
    assert len(devices) == 4 and devices["0x" + said["spare"].hex()]["retired"] is True
    assert devices["0x" + said["door"].hex()]["key"] == said["new_key"]
    assert state.get("oracle_signers", "current")["id"] == 2 and len(state.table("oracle_batches")) == 3
    target = state.get("oracle_targets", f"0:{w.deal.asset_id}")
    assert (target["activeDevices"], target["breaches"], target["marginCall"], target["quantity"]) == (3, 0, False,
                                                                                                    500)
    assert sorted((r["detected"], k.rsplit(":", 1)[1]) for k, r in state.table("oracle_breaches").items()) == [
        (False, "0"), (False, "1"), (True, "0"), (True, "1")]
    call = state.get("oracle_margin_calls", str(w.deal.loan_id))
    assert call["active"] is False and call["collateralValue"] == 400_000_00
    assert len(state.table("oracle_alert_failures")) == 3  # goods missing, temperature, margin call
    assert set(NO_EVENT) <= outcome.result.notes


def _save(fresh: Any, tmp_path: Path) -> Path:
    path = tmp_path / "history.jsonl"
    audit_chain(fresh.chain, fresh.platform.deployment, save=path)
    return path


def _alter(path: Path, target: Path, event: str, change: Any) -> dict[str, Any]:
    """Copy the stored history with the first oracle log of ``event`` changed by ``change(words)``."""
    topic = "0x" + keccak(text=event).hex()
    altered: dict[str, Any] = {}
    with path.open() as src, target.open("w") as out:
        for line in src:
            record = json.loads(line)
            log = record.get("log")
            if not altered and log and log["topics"][0] == topic:
                data = log["data"][2:]
                words = [int(data[i:i + 64], 16) for i in range(0, len(data), 64)]
                if change(words):
                    log["data"] = "0x" + "".join(x.to_bytes(32, "big").hex() for x in words)
                    altered.update(log)
            out.write(json.dumps(record) + "\n")
    assert altered, f"no {event} to alter"
    return altered


def test_an_altered_key_rotation_in_a_stored_history_is_found(fresh, tmp_path: Path):
    _, said = _story(fresh)
    path = _save(fresh, tmp_path)
    forged = Account.from_key(keccak(text="forged")).address

    def forge_new_key(words: list[int]) -> bool:
        words[1] = int(forged, 16)
        return True

    altered = _alter(path, tmp_path / "tampered.jsonl", "DeviceRotated(bytes32,address,address)", forge_new_key)
    outcome: AuditOutcome = audit_stored(tmp_path / "tampered.jsonl", fresh.platform.deployment, fresh.chain)
    found = {(f.check, f.entity, f.field) for f in outcome.findings}
    assert ("receipt", f"tx {altered['tx_hash']} log {altered['log_index']}", "data") in found
    state = [f for f in outcome.findings if f.check == "state"]
    assert [(f.entity, f.field, f.expected, f.found) for f in state] == [
        (f"device 0x{said['door'].hex()}", "key", forged, said["new_key"])]


def test_an_altered_goods_count_is_found_by_the_event_checks_without_the_chain(fresh, tmp_path: Path):
    w, _ = _story(fresh)
    path = _save(fresh, tmp_path)

    def hide_the_shortfall(words: list[int]) -> bool:  # TargetUpdated(kind, quantity, breaches) of the breach
        if words[2] == 0:
            return False
        words[1] = 450
        return True

    _alter(path, tmp_path / "tampered.jsonl", "TargetUpdated(uint8,uint256,uint256,uint256,uint8)",
           hide_the_shortfall)
    outcome = audit_stored(tmp_path / "tampered.jsonl", fresh.platform.deployment)
    found = {(f.check, f.entity, f.field, f.expected, f.found) for f in outcome.findings}
    asset = w.deal.asset_id
    assert ("event", f"target 0:{asset}", "observed quantity", 450, 400) in found
    assert ("event", f"margin call of loan {w.deal.loan_id}", "collateralValue", 360_000_00, 320_000_00) in found


def test_replay_follows_breaches_and_a_margin_call_announced_again_to_a_new_loan(fresh):
    w = watch_pledge(fresh)
    fin = Fin(fresh)
    w.cell.remove(100)
    w.aggregator.publish(w.readings(fresh, 3))                       # the first loan's margin call
    fin.repay(w.deal, fresh.platform.loans.contract.functions.outstanding(w.deal.loan_id).call() + 1_000_00)
    second = fin.pledge(asset_id=w.deal.asset_id, lender=fresh.p.bank2)
    w.aggregator.publish(w.readings(fresh, 3))                       # the second loan's, on the same receipt
    outcome = audit_chain(fresh.chain, fresh.platform.deployment)

    assert [str(f) for f in outcome.findings] == []
    state = outcome.result.state
    assert state.get("oracle_margin_calls", str(second.loan_id))["active"] is True
    assert state.get("oracle_margin_calls", str(w.deal.loan_id))["active"] is False
    assert state.get("oracle_targets", f"0:{w.deal.asset_id}")["loanId"] == second.loan_id
