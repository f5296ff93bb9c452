"""Where readings come from: an MQTT broker (one topic per device), a JSON-lines file, or memory.

    source = open_source("mqtt://127.0.0.1:1883/vscm")   # topics vscm/devices/<serial>
    source = open_source("readings.jsonl")
    readings = source.collect(expected=100, timeout=10)
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from typing_extensions import Self

from vscm.oracle.model import OracleError, SignedReading

__all__ = [
    "DEFAULT_BROKER",
    "JsonLinesSource",
    "MemorySource",
    "MqttPublisher",
    "MqttSource",
    "MqttTarget",
    "open_source",
    "write_jsonl",
]

DEFAULT_BROKER = "mqtt://127.0.0.1:1883/vscm"


@dataclass(frozen=True)
class MqttTarget:
    host: str
    port: int
    prefix: str

    @classmethod
    def parse(cls, url: str) -> MqttTarget:
        u = urlparse(url)
        if u.scheme != "mqtt" or not u.hostname:
            raise OracleError(f"bad MQTT URL {url!r}: expected mqtt://host:port/prefix")
        return cls(u.hostname, u.port or 1883, u.path.strip("/") or "vscm")

    def topic(self, serial: str) -> str:
        """One topic per device."""
        return f"{self.prefix}/devices/{serial}"


def _client(target: MqttTarget, name: str) -> Any:
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"vscm-{name}-{uuid.uuid4().hex[:8]}")
    try:
        client.connect(target.host, target.port, keepalive=30)
    except OSError as exc:
        raise OracleError(f"cannot reach the MQTT broker at {target.host}:{target.port}: {exc}") from None
    return client


class MemorySource:
    """Readings already in memory (the embedded default: no broker, no file)."""

    def __init__(self, readings: Iterable[SignedReading] = ()) -> None:
        self.readings = list(readings)

    def collect(self, expected: int | None = None, timeout: float = 0) -> list[SignedReading]:
        return list(self.readings)


class JsonLinesSource:
    """One signed reading per line (``SignedReading.to_json``)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def collect(self, expected: int | None = None, timeout: float = 0) -> list[SignedReading]:
        if not self.path.is_file():
            raise OracleError(f"no readings file at {self.path}")
        out = []
        for n, line in enumerate(self.path.read_text().splitlines(), 1):
            if line.strip():
                try:
                    out.append(SignedReading.from_json(line))
                except OracleError as exc:
                    raise OracleError(f"{self.path}:{n}: {exc}") from None
        return out


def write_jsonl(path: Path, readings: Sequence[SignedReading]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(r.to_json() + "\n" for r in readings))
    return path


class MqttSource:
    """Subscribes to every device topic under a prefix (``<prefix>/devices/+``) and collects readings.

    Start it (``start()``) before the devices publish; ``collect`` returns when ``expected`` readings
    arrived, or when none arrived for ``idle`` seconds after the first, or at ``timeout``.
    """

    def __init__(self, url: str = DEFAULT_BROKER, idle: float = 1.0) -> None:
        self.target = MqttTarget.parse(url)
        self.idle = idle
        self._readings: list[SignedReading] = []
        self._errors: list[str] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self._client: Any = None

    def start(self) -> Self:
        if self._client is not None:
            return self
        client = _client(self.target, "oracle")
        client.on_message = self._on_message
        client.on_subscribe = lambda *a: self._subscribed.set()
        client.subscribe(f"{self.target.prefix}/devices/+", qos=1)
        client.loop_start()
        self._client = client
        if not self._subscribed.wait(5):
            self.stop()
            raise OracleError(f"the MQTT broker at {self.target.host}:{self.target.port} did not confirm "
                              "the subscription")
        return self

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        try:
            reading = SignedReading.from_json(msg.payload)
        except OracleError as exc:
            with self._lock:
                self._errors.append(f"{msg.topic}: {exc}")
            return
        with self._lock:
            self._readings.append(reading)

    @property
    def errors(self) -> list[str]:
        with self._lock:
            return list(self._errors)

    def collect(self, expected: int | None = None, timeout: float = 10.0) -> list[SignedReading]:
        self.start()
        deadline = time.monotonic() + timeout
        last_count, last_change = -1, time.monotonic()
        while time.monotonic() < deadline:
            with self._lock:
                count = len(self._readings)
            if expected is not None and count >= expected:
                break
            if count != last_count:
                last_count, last_change = count, time.monotonic()
            elif count and expected is None and time.monotonic() - last_change > self.idle:
                break
            time.sleep(0.02)
        with self._lock:
            out, self._readings = self._readings, []
        return out

    def stop(self) -> None:
        if self._client is not None:
            self._client.loop_stop()
            self._client.disconnect()
            self._client = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class MqttPublisher:
    """What a device's firmware does: publish its signed readings on its own topic (QoS 1)."""

    def __init__(self, url: str = DEFAULT_BROKER) -> None:
        self.target = MqttTarget.parse(url)
        self._client = _client(self.target, "device")
        self._client.loop_start()

    def publish(self, serial: str, reading: SignedReading) -> None:
        info = self._client.publish(self.target.topic(serial), reading.to_json(), qos=1)
        info.wait_for_publish(5)
        if not info.is_published():
            raise OracleError(f"the broker did not take reading {reading.reading.seq} of {serial}")

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_source(spec: str) -> MqttSource | JsonLinesSource:
    """``mqtt://host:port/prefix`` or a path to a ``.jsonl`` file."""
    if spec.startswith("mqtt://"):
        return MqttSource(spec)
    path = Path(spec)
    if path.suffix not in (".jsonl", ".ndjson"):
        raise OracleError(f"unknown source {spec!r}: expected mqtt://host:port/prefix or a .jsonl file")
    return JsonLinesSource(path)
