"""Simulated IoT devices: load cells, temperature loggers, GPS trackers and door sensors.

Each device has its own key, numbers its readings 1, 2, 3, ... and chains each reading to the hash
of the previous one, so a lost or withheld reading shows as a gap. Streams are realistic enough to
test the oracle: a load cell reads the goods' weight with Gaussian noise and a slow drift, a logger
follows a set point with noise (and excursions when told), a tracker moves along a route of
waypoints, a door opens when told. Everything is seeded, so a simulation is reproducible.
"""

from __future__ import annotations

import json
import math
import random
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from vscm.oracle.model import ZERO32, Metric, OracleError, Reading, SignedReading, TargetKind, device_id

__all__ = [
    "DoorSensor",
    "GpsTracker",
    "LoadCell",
    "SimDevice",
    "Site",
    "TemperatureLogger",
    "device_key",
    "load_fleet",
    "save_fleet",
]


def device_key(seed: str, serial: str) -> LocalAccount:
    """A simulated device's own key, derived from a seed and its serial (reproducible runs)."""
    return Account.from_key(keccak(text=f"{seed}:device:{serial}"))


@dataclass
class SimDevice(ABC):
    """A device: serial, key, what it measures, what it watches (and whose it is: the custodian that
    registers it, whose namespace its id is in), its sequence and hash chain."""

    serial: str
    key: LocalAccount
    metric: Metric
    kind: TargetKind
    target_id: int
    custodian: str
    seq: int = 0
    prev_hash: bytes = ZERO32
    rng: random.Random = field(default_factory=random.Random)

    @property
    def device_id(self) -> bytes:
        return device_id(self.serial, self.custodian)

    def emit(self, timestamp: int, value: int, value2: int = 0) -> SignedReading:
        """The next reading, signed by the device and chained to the previous one."""
        self.seq += 1
        reading = Reading(self.device_id, self.seq, timestamp, self.metric, value, value2, self.prev_hash)
        self.prev_hash = reading.hash
        return SignedReading.sign(reading, self.key)

    @abstractmethod
    def sample(self, timestamp: int) -> SignedReading:
        """The device's next reading at ``timestamp`` (each kind of device measures its own way)."""


@dataclass
class LoadCell(SimDevice):
    """Weight of the goods on a scale, in thousandths of the receipt's unit (kg for tonnes)."""

    quantity: float = 0.0
    noise: float = 0.05          # standard deviation, units
    drift_per_hour: float = 0.01  # units an hour (sensor creep)
    started: int = 0

    def remove(self, units: float) -> None:
        self.quantity = max(0.0, self.quantity - units)

    def sample(self, timestamp: int) -> SignedReading:
        if not self.started:
            self.started = timestamp
        drift = self.drift_per_hour * (timestamp - self.started) / 3600
        value = (self.quantity + drift + self.rng.gauss(0, self.noise)) * 1000
        return self.emit(timestamp, max(0, round(value)))


@dataclass
class TemperatureLogger(SimDevice):
    """Air temperature in hundredths of a degree Celsius around a set point."""

    set_point: float = 4.0
    noise: float = 0.2
    excursion: float = 0.0  # degrees added while a fault lasts

    def sample(self, timestamp: int) -> SignedReading:
        cycle = 0.5 * math.sin(timestamp / 900)  # a compressor's slow cycle
        value = (self.set_point + cycle + self.excursion + self.rng.gauss(0, self.noise)) * 100
        return self.emit(timestamp, round(value))


@dataclass
class GpsTracker(SimDevice):
    """A position along a route of waypoints (micro-degrees), moving at `speed` micro-degrees a second."""

    route: Sequence[tuple[int, int]] = ()
    speed: float = 50.0
    jitter: float = 20.0
    started: int = 0
    detour: tuple[int, int] = (0, 0)  # offset added while the truck leaves the route

    def position(self, timestamp: int) -> tuple[int, int]:
        if not self.route:
            raise OracleError(f"tracker {self.serial} has no route")
        if not self.started:
            self.started = timestamp
        travelled = self.speed * (timestamp - self.started)
        for (a_lat, a_lon), (b_lat, b_lon) in zip(self.route, self.route[1:]):
            leg = math.hypot(b_lat - a_lat, b_lon - a_lon)
            if travelled <= leg:
                f = travelled / leg if leg else 0.0
                return round(a_lat + (b_lat - a_lat) * f), round(a_lon + (b_lon - a_lon) * f)
            travelled -= leg
        return self.route[-1]

    def sample(self, timestamp: int) -> SignedReading:
        lat, lon = self.position(timestamp)
        lat += self.detour[0] + round(self.rng.gauss(0, self.jitter))
        lon += self.detour[1] + round(self.rng.gauss(0, self.jitter))
        return self.emit(timestamp, lat, lon)


@dataclass
class DoorSensor(SimDevice):
    """A door: reads 0 (closed) unless opened; `open_at` schedules openings (timestamps)."""

    open_at: list[int] = field(default_factory=list)
    last_sample: int = 0

    def sample(self, timestamp: int) -> SignedReading:
        opened = any(self.last_sample < t <= timestamp for t in self.open_at)
        self.last_sample = timestamp
        return self.emit(timestamp, 1 if opened else 0)


class Site:
    """The devices watching one or more targets, sampled together."""

    def __init__(self, devices: Sequence[SimDevice]) -> None:
        self.devices = list(devices)

    def by_metric(self, metric: Metric) -> list[SimDevice]:
        return [d for d in self.devices if d.metric == metric]

    def run(self, start: int, samples: int, interval: int) -> list[SignedReading]:
        """``samples`` readings of every device, ``interval`` seconds apart from ``start``."""
        out: list[SignedReading] = []
        for i in range(samples):
            t = start + i * interval
            out.extend(d.sample(t) for d in self.devices)
        return out

    @classmethod
    def warehouse(cls, seed: str, receipt_id: int, quantity: float, prefix: str = "WH", *,
                  custodian: str) -> Site:
        """A bay of pledged goods run by warehouse ``custodian``: a load cell, a temperature logger and a
        door sensor."""
        rng = random.Random(seed)
        mk = lambda s: device_key(seed, s)
        return cls([
            LoadCell(f"{prefix}-LC-{receipt_id}", mk(f"{prefix}-LC-{receipt_id}"), Metric.WEIGHT, TargetKind.ASSET,
                     receipt_id, custodian, rng=random.Random(rng.random()), quantity=quantity),
            TemperatureLogger(f"{prefix}-TL-{receipt_id}", mk(f"{prefix}-TL-{receipt_id}"), Metric.TEMPERATURE,
                              TargetKind.ASSET, receipt_id, custodian, rng=random.Random(rng.random())),
            DoorSensor(f"{prefix}-DS-{receipt_id}", mk(f"{prefix}-DS-{receipt_id}"), Metric.DOOR, TargetKind.ASSET,
                       receipt_id, custodian, rng=random.Random(rng.random())),
        ])

    @classmethod
    def truck(cls, seed: str, order_id: int, route: Sequence[tuple[int, int]], prefix: str = "TR", *,
              custodian: str) -> Site:
        """A shipment on the road, run by carrier ``custodian``: a GPS tracker and a temperature logger."""
        rng = random.Random(seed)
        return cls([
            GpsTracker(f"{prefix}-GPS-{order_id}", device_key(seed, f"{prefix}-GPS-{order_id}"), Metric.LOCATION,
                       TargetKind.SHIPMENT, order_id, custodian, rng=random.Random(rng.random()), route=list(route)),
            TemperatureLogger(f"{prefix}-TL-{order_id}", device_key(seed, f"{prefix}-TL-{order_id}"),
                              Metric.TEMPERATURE, TargetKind.SHIPMENT, order_id, custodian,
                              rng=random.Random(rng.random())),
        ])


def save_fleet(path: Path, site: Site) -> Path:
    """Write simulated devices with their keys and state (sequence, hash chain, goods) to JSON.

    These are simulated devices kept beside the simulation so that the next run continues their
    sequences; a real device keeps its key in its own secure element.
    """
    data = []
    for d in site.devices:
        entry: dict[str, object] = {
            "serial": d.serial, "metric": d.metric.name.lower(), "kind": d.kind.name.lower(),
            "target_id": d.target_id, "custodian": d.custodian, "address": d.key.address, "key": "0x" + bytes(d.key.key).hex(),
            "seq": d.seq, "prev_hash": "0x" + d.prev_hash.hex(),
        }
        if isinstance(d, LoadCell):
            entry.update(quantity=d.quantity, started=d.started)
        elif isinstance(d, TemperatureLogger):
            entry.update(set_point=d.set_point, excursion=d.excursion)
        elif isinstance(d, GpsTracker):
            entry.update(route=[list(w) for w in d.route], started=d.started, detour=list(d.detour))
        elif isinstance(d, DoorSensor):
            entry.update(open_at=d.open_at, last_sample=d.last_sample)
        data.append(entry)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    tmp.replace(path)
    return path


def load_fleet(path: Path, seed: str = "vscm") -> Site:
    """The simulated devices saved by :func:`save_fleet`, ready to continue."""
    if not path.is_file():
        raise OracleError(f"no device file at {path}: run `vscm oracle simulate --devices {path} --receipt ID "
                          "--custodian WAREHOUSE` first")
    try:
        entries = json.loads(path.read_text())
        devices: list[SimDevice] = []
        for i, e in enumerate(entries):
            metric = Metric.parse(e["metric"])
            common = {"serial": e["serial"], "key": Account.from_key(e["key"]), "metric": metric,
                          "kind": TargetKind.parse(e["kind"]), "target_id": int(e["target_id"]), "custodian": str(e["custodian"]), "seq": int(e["seq"]),
                          "prev_hash": bytes.fromhex(e["prev_hash"].removeprefix("0x")),
                          "rng": random.Random(f"{seed}:{e['serial']}:{e['seq']}:{i}")}
            if metric == Metric.WEIGHT:
                devices.append(LoadCell(**common, quantity=float(e["quantity"]), started=int(e["started"])))
            elif metric == Metric.TEMPERATURE:
                devices.append(TemperatureLogger(**common, set_point=float(e["set_point"]),
                                                 excursion=float(e["excursion"])))
            elif metric == Metric.LOCATION:
                devices.append(GpsTracker(**common, route=[tuple(w) for w in e["route"]], started=int(e["started"]),
                                          detour=tuple(e["detour"])))
            else:
                devices.append(DoorSensor(**common, open_at=list(e["open_at"]), last_sample=int(e["last_sample"])))
    except (ValueError, KeyError, TypeError) as exc:
        raise OracleError(f"device file {path} is not valid: {exc}") from None
    return Site(devices)
