"""The EIP-712 report the oracle nodes sign: batch, period, Merkle root, device sequences and
per-target summaries. The domain is bound to the chain id and the TelemetryOracle's address, so a
report counts on one chain, for one contract.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount

from vscm.oracle.model import TargetKind

__all__ = [
    "DOMAIN_NAME",
    "DOMAIN_VERSION",
    "F_DOOR",
    "F_LOCATION",
    "F_QUANTITY",
    "F_TEMPERATURE",
    "DeviceSeq",
    "Report",
    "Summary",
    "recover_signer",
    "sign_report",
]

DOMAIN_NAME = "VSCM TelemetryOracle"
DOMAIN_VERSION = "1"
F_QUANTITY, F_TEMPERATURE, F_LOCATION, F_DOOR = 1, 2, 4, 8

TYPES = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    "DeviceSeq": [
        {"name": "deviceId", "type": "bytes32"},
        {"name": "firstSeq", "type": "uint64"},
        {"name": "lastSeq", "type": "uint64"},
    ],
    "Summary": [
        {"name": "kind", "type": "uint8"},
        {"name": "targetId", "type": "uint256"},
        {"name": "fields", "type": "uint16"},
        {"name": "quantity", "type": "uint256"},
        {"name": "minTemp", "type": "int32"},
        {"name": "maxTemp", "type": "int32"},
        {"name": "lat", "type": "int32"},
        {"name": "lon", "type": "int32"},
        {"name": "doorOpenings", "type": "uint16"},
        {"name": "outOfHoursAt", "type": "uint64"},
    ],
    "Report": [
        {"name": "batchId", "type": "uint256"},
        {"name": "signerSet", "type": "uint32"},
        {"name": "periodStart", "type": "uint64"},
        {"name": "periodEnd", "type": "uint64"},
        {"name": "readingsRoot", "type": "bytes32"},
        {"name": "readingCount", "type": "uint32"},
        {"name": "devices", "type": "DeviceSeq[]"},
        {"name": "summaries", "type": "Summary[]"},
    ],
}


@dataclass(frozen=True)
class DeviceSeq:
    device_id: bytes
    first_seq: int
    last_seq: int

    def as_tuple(self) -> tuple[Any, ...]:
        return (self.device_id, self.first_seq, self.last_seq)


@dataclass(frozen=True)
class Summary:
    """What a batch says about one target; ``fields`` says which parts are present."""

    kind: TargetKind
    target_id: int
    fields: int
    quantity: int = 0
    min_temp: int = 0
    max_temp: int = 0
    lat: int = 0
    lon: int = 0
    door_openings: int = 0
    out_of_hours_at: int = 0

    def as_tuple(self) -> tuple[Any, ...]:
        return (int(self.kind), self.target_id, self.fields, self.quantity, self.min_temp, self.max_temp,
                self.lat, self.lon, self.door_openings, self.out_of_hours_at)

    def as_message(self) -> dict[str, Any]:
        keys = ("kind", "targetId", "fields", "quantity", "minTemp", "maxTemp", "lat", "lon", "doorOpenings",
                "outOfHoursAt")
        return dict(zip(keys, self.as_tuple()))


@dataclass(frozen=True)
class Report:
    batch_id: int
    signer_set: int
    period_start: int
    period_end: int
    readings_root: bytes
    reading_count: int
    devices: tuple[DeviceSeq, ...] = ()
    summaries: tuple[Summary, ...] = field(default=())

    def as_tuple(self) -> tuple[Any, ...]:
        """The ``Report`` struct as web3 encodes it."""
        return (self.batch_id, self.signer_set, self.period_start, self.period_end, self.readings_root,
                self.reading_count, [d.as_tuple() for d in self.devices], [s.as_tuple() for s in self.summaries])

    def typed_data(self, chain_id: int, contract: str) -> dict[str, Any]:
        """The full EIP-712 message (domain bound to ``chain_id`` and the oracle contract)."""
        return {
            "types": TYPES,
            "primaryType": "Report",
            "domain": {"name": DOMAIN_NAME, "version": DOMAIN_VERSION, "chainId": chain_id,
                       "verifyingContract": contract},
            "message": {
                "batchId": self.batch_id,
                "signerSet": self.signer_set,
                "periodStart": self.period_start,
                "periodEnd": self.period_end,
                "readingsRoot": self.readings_root,
                "readingCount": self.reading_count,
                "devices": [{"deviceId": d.device_id, "firstSeq": d.first_seq, "lastSeq": d.last_seq}
                            for d in self.devices],
                "summaries": [s.as_message() for s in self.summaries],
            },
        }


def sign_report(report: Report, key: LocalAccount, chain_id: int, contract: str) -> bytes:
    """An oracle node's EIP-712 signature of ``report`` (65 bytes; low s, as eth-account signs)."""
    signed = key.sign_message(encode_typed_data(full_message=report.typed_data(chain_id, contract)))
    return bytes(signed.signature)


def recover_signer(report: Report, signature: bytes, chain_id: int, contract: str) -> str:
    return str(Account.recover_message(encode_typed_data(full_message=report.typed_data(chain_id, contract)),
                                       signature=signature))
