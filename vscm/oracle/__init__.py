"""The IoT oracle: simulated devices, reading sources, oracle nodes, Merkle batches and reports."""

from __future__ import annotations

from vscm.oracle.merkle import MerkleTree
from vscm.oracle.model import Metric, OracleError, Reading, SignedReading, TargetKind, device_id
from vscm.oracle.node import Aggregator, Batch, OracleNode, Published, summarize
from vscm.oracle.report import DeviceSeq, Report, Summary, sign_report

__all__ = [
    "Aggregator",
    "Batch",
    "DeviceSeq",
    "MerkleTree",
    "Metric",
    "OracleError",
    "OracleNode",
    "Published",
    "Reading",
    "Report",
    "SignedReading",
    "Summary",
    "TargetKind",
    "device_id",
    "sign_report",
    "summarize",
]
