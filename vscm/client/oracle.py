"""Facade over the TelemetryOracle: devices, signer sets, watches, reports, collateral state.

    platform.oracle.as_(warehouse).register_device("LC-1", key.address, Metric.WEIGHT, TargetKind.ASSET,
                                                   receipt_id)   # id: device_id("LC-1", warehouse.address)
    platform.oracle.as_(publisher).submit_report(report, signatures)
    platform.oracle.target_state(TargetKind.ASSET, receipt_id).margin_call
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hexbytes import HexBytes

from vscm.client.facade import Facade as _Facade
from vscm.client.facade import WriteResult
from vscm.errors import ContractRevert, NotFound
from vscm.oracle.model import Metric, Reading, TargetKind, serial_hash
from vscm.oracle.report import Report

__all__ = ["BREACHES", "BatchInfo", "DeviceInfo", "OracleFacade", "TargetState"]

#: the contract's Breach enum, bit i of ``TargetState.breaches``
BREACHES = ("goods_missing", "temperature", "door_out_of_hours", "off_route")


@dataclass(frozen=True)
class DeviceInfo:
    device_id: bytes
    key: str
    owner: str
    metric: Metric
    kind: TargetKind
    retired: bool
    last_seq: int
    target_id: int

    def to_dict(self) -> dict[str, Any]:
        return {"device_id": "0x" + self.device_id.hex(), "key": self.key, "owner": self.owner,
                "metric": self.metric.name.lower(), "kind": self.kind.name.lower(), "target_id": self.target_id,
                "retired": self.retired, "last_seq": self.last_seq}


@dataclass(frozen=True)
class BatchInfo:
    batch_id: int
    root: bytes
    digest: bytes
    reading_count: int
    signer_set: int
    period_start: int
    period_end: int
    accepted_at: int


@dataclass(frozen=True)
class TargetState:
    """The collateral state of a receipt or shipment as the last accepted report left it."""

    kind: TargetKind
    target_id: int
    batch_id: int
    updated_at: int
    fields: int
    breaches: int
    margin_call: bool
    active_devices: int
    quantity: int
    min_temp: int
    max_temp: int
    lat: int
    lon: int
    door_openings: int
    out_of_hours_at: int
    collateral_value: int
    #: the loan the breaches and the margin call were announced to (0: none)
    loan_id: int = 0

    @property
    def breach_names(self) -> list[str]:
        return [name for i, name in enumerate(BREACHES) if self.breaches >> i & 1]

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["kind"] = self.kind.name.lower()
        d["breaches"] = self.breach_names
        return d


class OracleFacade(_Facade):
    contract_name = "TelemetryOracle"

    # ---- writes
    def register_device(self, serial: str | bytes, key: str, metric: Metric, kind: TargetKind,
                        target_id: int) -> WriteResult[None]:
        """Custodian: register a device by its serial number (text, or its keccak256 as 32 bytes); its id,
        in the sender's namespace, is ``device_id(serial, sender)`` (the event's ``deviceId``)."""
        hashed = serial if isinstance(serial, bytes) else serial_hash(serial)
        return self._send(self.contract.functions.registerDevice(hashed, key, int(metric), int(kind), target_id))

    def retire_device(self, device: bytes) -> WriteResult[None]:
        return self._send(self.contract.functions.retireDevice(device))

    def rotate_device_key(self, device: bytes, new_key: str) -> WriteResult[None]:
        return self._send(self.contract.functions.rotateDeviceKey(device, new_key))

    def set_signers(self, nodes: Sequence[str], quorum: int) -> WriteResult[int]:
        """Operator: a new signer set, the result's id (the previous set is retired)."""
        return self._send_id(self.contract.functions.setSigners(list(nodes), quorum), "SignerSetChanged", "signerSet")

    def set_watch(self, kind: TargetKind, target_id: int, min_temp: int, max_temp: int, open_from: int = 0,
                  open_to: int = 0) -> WriteResult[None]:
        return self._send(self.contract.functions.setWatch(int(kind), target_id,
                                                           (min_temp, max_temp, open_from, open_to)))

    def set_route(self, order_id: int, waypoints: Sequence[tuple[int, int]], corridor: int) -> WriteResult[None]:
        lats = [int(w[0]) for w in waypoints]
        lons = [int(w[1]) for w in waypoints]
        return self._send(self.contract.functions.setRoute(order_id, lats, lons, corridor))

    def set_limits(self, max_age: int, max_skew: int) -> WriteResult[None]:
        return self._send(self.contract.functions.setLimits(max_age, max_skew))

    def set_bounds(self, metric: Metric, low: int, high: int) -> WriteResult[None]:
        return self._send(self.contract.functions.setBounds(int(metric), low, high))

    def set_alert_sink(self, sink: str) -> WriteResult[None]:
        return self._send(self.contract.functions.setAlertSink(sink))

    def submit_report(self, report: Report, signatures: Sequence[bytes]) -> WriteResult[None]:
        return self._send(self.contract.functions.submitReport(report.as_tuple(), list(signatures)))

    # ---- reads
    def events(self, receipt: Any, name: str) -> list[dict[str, Any]]:
        """Every ``name`` event this contract emitted in ``receipt``, as dicts of arguments."""
        event = getattr(self.contract.events, name)()
        topic = bytes(HexBytes(event.topic))
        return [dict(event.process_log(log)["args"]) for log in receipt["logs"]
                if log["address"] == self.contract.address and bytes(log["topics"][0]) == topic]

    @property
    def chain_id(self) -> int:
        return int(self.platform.chain.chain_id)

    def device(self, device: bytes) -> DeviceInfo:
        try:
            raw = self.platform.chain.sender.call(self.contract.functions.getDevice(device))
        except ContractRevert as exc:
            if exc.name == "OracleUnknownDevice":
                raise NotFound(f"unknown device 0x{device.hex()}: it is not registered on this deployment") from None
            raise
        key, owner, metric, kind, retired, last_seq, target_id = raw
        return DeviceInfo(device, key, owner, Metric(metric), TargetKind(kind), retired, last_seq, target_id)

    def devices(self, owner: str | None = None, serial: str | None = None) -> list[DeviceInfo]:
        """Every registered device (from the DeviceRegistered events), optionally of one owner or with
        one serial number (several custodians may use the same serial, each in its own namespace)."""
        logs = self.contract.events.DeviceRegistered().get_logs(from_block=self.platform.deployment.block)
        wanted = serial_hash(serial) if serial is not None else None
        found = [self.device(bytes(e["args"]["deviceId"])) for e in logs
                 if wanted is None or bytes(e["args"]["serial"]) == wanted]
        return [d for d in found if owner is None or d.owner == owner]

    def batch(self, batch_id: int) -> BatchInfo:
        try:
            raw = self.platform.chain.sender.call(self.contract.functions.getBatch(batch_id))
        except ContractRevert as exc:
            if exc.name == "OracleUnknownBatch":
                raise NotFound(f"unknown batch {batch_id}: no accepted report has it") from None
            raise
        return BatchInfo(batch_id, bytes(raw[0]), bytes(raw[1]), *raw[2:])

    def target_state(self, kind: TargetKind, target_id: int) -> TargetState:
        raw = self.contract.functions.targetState(int(kind), target_id).call()
        return TargetState(TargetKind(kind), target_id, *raw)

    def watch(self, kind: TargetKind, target_id: int) -> tuple[int, int, int, int]:
        return tuple(self.contract.functions.getWatch(int(kind), target_id).call())  # type: ignore[return-value]

    def signer_set(self) -> tuple[int, int, list[str]]:
        set_id, quorum, nodes = self.contract.functions.signerSet().call()
        return int(set_id), int(quorum), list(nodes)

    def bounds(self, metric: Metric) -> tuple[int, int]:
        low, high = self.contract.functions.bounds(int(metric)).call()
        return int(low), int(high)

    def limits(self) -> tuple[int, int]:
        return int(self.contract.functions.maxAge().call()), int(self.contract.functions.maxSkew().call())

    def alert_sink(self) -> str:
        return str(self.contract.functions.alertSink().call())

    def verify_reading(self, batch_id: int, reading: Reading, proof: Sequence[bytes]) -> bytes:
        """The reading's leaf if ``proof`` proves it is in accepted batch ``batch_id``.

        Raises:
            ContractRevert: ``OracleReadingNotInBatch`` or ``OracleUnknownBatch``.
        """
        return bytes(self.platform.chain.sender.call(
            self.contract.functions.verifyReading(batch_id, reading.as_tuple(), list(proof))))

    def is_off_route(self, order_id: int, lat: int, lon: int) -> bool:
        return bool(self.contract.functions.isOffRoute(order_id, lat, lon).call())
