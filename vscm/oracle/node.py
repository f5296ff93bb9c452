"""Oracle nodes and the aggregator.

Each node has its own key. Given the same readings, every honest node checks them the same way
(device registered and live, signature by the device's key, metric, sequence and hash chain, physical
bounds, not from the future), builds the same batch (accepted readings sorted by device and
sequence, their Merkle tree, device sequence ranges, per-target summaries) and signs the same EIP-712
report. The aggregator collects the nodes' signatures, needs `quorum` of them on one identical
report, and publishes it with the publisher's key.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from vscm.errors import NotFound
from vscm.oracle.merkle import MerkleTree
from vscm.oracle.model import Metric, OracleError, Reading, SignedReading, TargetKind
from vscm.oracle.report import (
    F_DOOR,
    F_LOCATION,
    F_QUANTITY,
    F_TEMPERATURE,
    DeviceSeq,
    Report,
    Summary,
    sign_report,
)

__all__ = ["Aggregator", "Batch", "BlockReads", "OracleNode", "Published", "Rejection", "summarize"]

#: the load-cell readings averaged for a quantity (the last ones of each cell in the batch)
WEIGHT_WINDOW = 5
#: the contract's MAX_SEQ_ADVANCE: a report moves a device's sequence by at most this much
MAX_SEQ_ADVANCE = 2**32
DAY = 86_400


@dataclass(frozen=True)
class Rejection:
    reading: SignedReading
    reason: str


@dataclass
class Batch:
    """What a node makes of a set of readings: the report and everything needed to prove a reading."""

    report: Report
    readings: list[SignedReading]
    tree: MerkleTree
    rejected: list[Rejection] = field(default_factory=list)
    #: (device id, expected seq, got seq) where a device's sequence skipped readings
    gaps: list[tuple[bytes, int, int]] = field(default_factory=list)

    def index_of(self, device: bytes, seq: int) -> int:
        for i, sr in enumerate(self.readings):
            if sr.reading.device_id == device and sr.reading.seq == seq:
                return i
        raise NotFound(f"no reading {seq} of device 0x{device.hex()} in batch {self.report.batch_id}")

    def proof(self, index: int) -> list[bytes]:
        return self.tree.proof(index)

    def to_json(self) -> str:
        """The batch as a file: the readings (signed) and the report, enough to rebuild every proof."""
        r = self.report
        return json.dumps({
            "batch_id": r.batch_id, "signer_set": r.signer_set, "period_start": r.period_start,
            "period_end": r.period_end, "root": "0x" + r.readings_root.hex(), "reading_count": r.reading_count,
            "readings": [json.loads(sr.to_json()) for sr in self.readings],
        }, indent=1) + "\n"

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json())
        return path

    @staticmethod
    def load_readings(path: Path) -> tuple[int, bytes, list[SignedReading]]:
        """(batch id, root, readings in leaf order) of a saved batch."""
        if not path.is_file():
            raise NotFound(f"no batch file at {path}")
        try:
            data = json.loads(path.read_text())
            readings = [SignedReading.from_json(json.dumps(d)) for d in data["readings"]]
            return int(data["batch_id"]), bytes.fromhex(data["root"].removeprefix("0x")), readings
        except (ValueError, KeyError, TypeError) as exc:
            raise OracleError(f"batch file {path} is not valid: {exc}") from None


@dataclass(frozen=True)
class _DeviceView:
    key: str
    metric: Metric
    kind: TargetKind
    target_id: int
    retired: bool
    last_seq: int


def batch_id_of(root: bytes, period_end: int) -> int:
    """A batch id every node derives alike: the first 8 bytes of keccak(root, periodEnd)."""
    return int.from_bytes(keccak(root + period_end.to_bytes(8, "big"))[:8], "big")


def summarize(readings: Sequence[Reading], kind: TargetKind, target_id: int,
              hours: tuple[int, int] = (0, 0)) -> Summary:
    """The summary of one target's readings (sorted by device and sequence).

    Quantity: per load cell the mean of its last WEIGHT_WINDOW readings, summed over cells, in whole
    units (rounded). Temperature: minimum and maximum. Location: the latest fix. Door: openings in the
    period and the first one outside ``hours`` (seconds of the UTC day; (0, 0) means always open).
    """
    fields = 0
    weights: dict[bytes, list[int]] = defaultdict(list)
    temps: list[int] = []
    fix: Reading | None = None
    openings = 0
    out_of_hours = 0
    for r in readings:
        if r.metric == Metric.WEIGHT:
            weights[r.device_id].append(r.value)
        elif r.metric == Metric.TEMPERATURE:
            temps.append(r.value)
        elif r.metric == Metric.LOCATION:
            if fix is None or r.timestamp >= fix.timestamp:
                fix = r
        elif r.metric == Metric.DOOR and r.value == 1:
            openings += 1
            t = r.timestamp % DAY
            inside = hours == (0, 0) or hours[0] <= t < hours[1]
            if not inside and (out_of_hours == 0 or r.timestamp < out_of_hours):
                out_of_hours = r.timestamp
    quantity = 0
    if weights:
        fields |= F_QUANTITY
        total = sum(sum(v[-WEIGHT_WINDOW:]) / len(v[-WEIGHT_WINDOW:]) for v in weights.values())
        quantity = max(0, round(total / 1000))
    if temps:
        fields |= F_TEMPERATURE
    if fix is not None:
        fields |= F_LOCATION
    if any(r.metric == Metric.DOOR for r in readings):
        fields |= F_DOOR
    return Summary(kind, target_id, fields, quantity, min(temps) if temps else 0, max(temps) if temps else 0,
                   fix.value if fix else 0, fix.value2 if fix else 0, openings, out_of_hours)


class BlockReads:
    """What a node read from the oracle's contract, remembered for one block (by hash): the same block
    gives the same answers, so reports prepared at one block read the limits, bounds, watches and
    devices once; a new block (or a reverted one, whose hash differs) starts afresh. Nodes simulated
    in one process (the load generator's) may share one; each still makes every check itself."""

    def __init__(self, oracle: Any) -> None:
        self.oracle = oracle
        self._block: bytes | None = None
        self._memo: dict[tuple[Any, ...], Any] = {}
        self._lock = threading.Lock()

    def at_latest(self) -> None:
        """Read at the chain's latest block from now on (forget what was read at another block)."""
        block = bytes(self.oracle.platform.chain.w3.eth.get_block("latest")["hash"])
        with self._lock:
            if block != self._block:
                self._block, self._memo = block, {}

    def get(self, key: tuple[Any, ...], read: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._memo:
                return self._memo[key]
        value = read()
        with self._lock:
            self._memo[key] = value
        return value


class OracleNode:
    """One oracle node: its own key, its own checks, its own signature.

    Args:
        key: The node's signing key.
        oracle: The oracle's client facade.
        name: How errors name the node.
        reads: Where its chain reads are remembered for a block (its own by default).
    """

    def __init__(self, key: LocalAccount, oracle: Any, name: str = "", reads: BlockReads | None = None) -> None:
        self.key = key
        self.oracle = oracle
        self.name = name or key.address[:10]
        self.reads = reads if reads is not None else BlockReads(oracle)
        #: last accepted hash per device (from batches this node saw accepted), to check the chain
        self._last_hash: dict[bytes, tuple[int, bytes]] = {}

    @property
    def address(self) -> str:
        return str(self.key.address)

    def _device(self, device: bytes, cache: dict[bytes, _DeviceView | None]) -> _DeviceView | None:
        if device not in cache:
            cache[device] = self.reads.get(("device", device), lambda: self._read_device(device))
        return cache[device]

    def _read_device(self, device: bytes) -> _DeviceView | None:
        try:
            d = self.oracle.device(device)
        except NotFound:
            return None
        return _DeviceView(d.key, d.metric, d.kind, d.target_id, d.retired, d.last_seq)

    def prepare(self, readings: Iterable[SignedReading], signer_set: int | None = None,
                now: int | None = None) -> Batch:
        """Check the readings and build the batch and its report.

        Raises:
            OracleError: no reading passed the checks.
        """
        if signer_set is None:
            signer_set = self.oracle.signer_set()[0]
        chain = self.oracle.platform.chain
        now = int(chain.now()) if now is None else now
        reads = self.reads
        reads.at_latest()
        _, max_skew = reads.get(("limits",), self.oracle.limits)
        bounds = {m: reads.get(("bounds", m), partial(self.oracle.bounds, m)) for m in Metric}
        cache: dict[bytes, _DeviceView | None] = {}
        ordered = sorted(set(readings), key=lambda s: (s.reading.device_id, s.reading.seq, s.signature))
        accepted: list[SignedReading] = []
        rejected: list[Rejection] = []
        gaps: list[tuple[bytes, int, int]] = []
        last: dict[bytes, tuple[int, bytes]] = {}
        for sr in ordered:
            r = sr.reading
            dev = self._device(r.device_id, cache)
            reason = self._check(sr, dev, bounds, now + max_skew, last)
            if reason:
                rejected.append(Rejection(sr, reason))
                continue
            assert dev is not None
            prev = last.get(r.device_id) or self._last_hash.get(r.device_id)
            if prev is not None and r.seq != prev[0] + 1:
                gaps.append((r.device_id, prev[0] + 1, r.seq))
            elif prev is None and r.seq != dev.last_seq + 1:
                gaps.append((r.device_id, dev.last_seq + 1, r.seq))
            last[r.device_id] = (r.seq, r.hash)
            accepted.append(sr)
        if not accepted:
            reasons = "; ".join(sorted({rej.reason for rej in rejected})) or "no readings"
            raise OracleError(f"node {self.name}: nothing to report ({reasons})")
        tree = MerkleTree([sr.reading.leaf for sr in accepted])
        devices: dict[bytes, list[int]] = {}
        targets: dict[tuple[TargetKind, int], list[Reading]] = defaultdict(list)
        for sr in accepted:
            r = sr.reading
            seqs = devices.setdefault(r.device_id, [r.seq, r.seq])
            seqs[1] = r.seq
            dev = cache[r.device_id]
            assert dev is not None
            targets[(dev.kind, dev.target_id)].append(r)
        summaries = []
        for (kind, target_id), rs in sorted(targets.items()):
            hours = reads.get(("watch", kind, target_id), partial(self.oracle.watch, kind, target_id))[2:4]
            summaries.append(summarize(rs, kind, target_id, (int(hours[0]), int(hours[1]))))
        start = min(sr.reading.timestamp for sr in accepted)
        end = max(sr.reading.timestamp for sr in accepted)
        report = Report(
            batch_id=batch_id_of(tree.root, end), signer_set=signer_set, period_start=start, period_end=end,
            readings_root=tree.root, reading_count=len(accepted),
            devices=tuple(DeviceSeq(d, s[0], s[1]) for d, s in sorted(devices.items())),
            summaries=tuple(summaries),
        )
        return Batch(report, accepted, tree, rejected, gaps)

    def _check(self, sr: SignedReading, dev: _DeviceView | None, bounds: dict[Metric, tuple[int, int]],
               latest: int, last: dict[bytes, tuple[int, bytes]]) -> str:
        r = sr.reading
        if dev is None:
            return "unknown device"
        if dev.retired:
            return "retired device"
        if sr.signer() != dev.key:
            return "not signed by the device's key"
        if r.metric != dev.metric:
            return f"metric {r.metric.name.lower()} from a {dev.metric.name.lower()} device"
        prev = last.get(r.device_id) or self._last_hash.get(r.device_id)
        floor = max(dev.last_seq, prev[0] if prev else 0)
        if r.seq <= floor:
            return f"sequence {r.seq} not after {floor}"
        if r.seq - dev.last_seq > MAX_SEQ_ADVANCE:
            return f"sequence {r.seq} more than 2^32 past {dev.last_seq}"
        if prev is not None and r.seq == prev[0] + 1 and r.prev_hash != prev[1]:
            return "hash chain broken"
        if r.timestamp > latest:
            return "timestamp in the future"
        low, high = bounds[r.metric]
        values = [r.value] + ([r.value2] if r.metric == Metric.LOCATION else [])
        if any(v < low or v > high for v in values) or (r.metric == Metric.LOCATION and abs(r.value) > 90_000_000):
            return f"{r.metric.name.lower()} value out of physical bounds"
        return ""

    def sign(self, report: Report) -> bytes:
        return sign_report(report, self.key, self.oracle.chain_id, self.oracle.address)

    def commit(self, batch: Batch) -> None:
        """Remember the last hash of each device after its batch was accepted on chain."""
        for sr in batch.readings:
            self._last_hash[sr.reading.device_id] = (sr.reading.seq, sr.reading.hash)


@dataclass(frozen=True)
class Published:
    batch: Batch
    signers: list[str]
    receipt: Any

    @property
    def gas_used(self) -> int:
        return int(self.receipt["gasUsed"])


class Aggregator:
    """Collects the nodes' signatures on one report and publishes it with the publisher's key."""

    def __init__(self, nodes: Sequence[OracleNode], oracle: Any, publisher: LocalAccount) -> None:
        if not nodes:
            raise OracleError("an aggregator needs at least one oracle node")
        self.nodes = list(nodes)
        self.oracle = oracle
        self.publisher = publisher

    def collect(self, readings: Sequence[SignedReading]) -> tuple[Batch, list[tuple[str, bytes]]]:
        """Each node prepares and signs; returns the batch most nodes agree on and their signatures.

        Raises:
            OracleError: fewer than the quorum of nodes agree on one report.
        """
        set_id, quorum, _ = self.oracle.signer_set()
        if set_id == 0:
            raise OracleError("the oracle has no signer set: the operator must run `vscm oracle signers` first")
        now = int(self.oracle.platform.chain.now())
        votes: dict[Report, list[tuple[str, bytes]]] = defaultdict(list)
        batches: dict[Report, Batch] = {}
        errors = []
        for node in self.nodes:
            try:
                batch = node.prepare(readings, set_id, now)
            except OracleError as exc:
                errors.append(str(exc))
                continue
            batches.setdefault(batch.report, batch)
            votes[batch.report].append((node.address, node.sign(batch.report)))
        if not votes:
            raise OracleError("; ".join(errors))
        report = max(votes, key=lambda rep: len(votes[rep]))
        if len(votes[report]) < quorum:
            raise OracleError(f"only {len(votes[report])} of the quorum of {quorum} nodes agree on the batch")
        return batches[report], votes[report][:quorum]

    def publish(self, readings: Sequence[SignedReading]) -> Published:
        batch, sigs = self.collect(readings)
        receipt = self.oracle.as_(self.publisher).submit_report(batch.report, [s for _, s in sigs])
        for node in self.nodes:
            node.commit(batch)
        return Published(batch, [a for a, _ in sigs], receipt)
