"""Value objects of the oracle: metrics, readings (the Merkle leaves), device signatures.

A reading is what one device measured at one moment. Its hash is ``keccak256(abi.encode(reading))``
(the same encoding as the contract's ``Reading`` struct); the device signs that hash (EIP-191
personal message) with its own key, and the next reading carries it as ``prev_hash``, so a missing
reading breaks the chain. The Merkle leaf is the hash hashed again (OpenZeppelin's leaf rule).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from enum import IntEnum
from functools import lru_cache
from typing import Any

import coincurve
from eth_abi import encode
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from eth_utils import ValidationError, keccak, to_checksum_address

from vscm.errors import VscmError

#: EIP-191's prefix of a signed 32-byte message (eth-account's ``encode_defunct(primitive=...)``)
EIP191_32 = b"\x19Ethereum Signed Message:\n32"
#: order of secp256k1's group: r and s of a signature lie in [1, N)
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_KEYS: dict[bytes, coincurve.PrivateKey] = {}

__all__ = [
    "ZERO32",
    "Metric",
    "OracleError",
    "Reading",
    "SignedReading",
    "TargetKind",
    "device_id",
    "serial_hash",
]

ZERO32 = b"\x00" * 32
READING_ABI = "(bytes32,uint64,uint64,uint8,int64,int64,bytes32)"


class OracleError(VscmError):
    """The oracle refused something: a bad reading, a batch nobody can sign, a source that failed."""


class Metric(IntEnum):
    """What a device measures (the contract's ``Metric``).

    Values: WEIGHT in thousandths of the receipt's unit; TEMPERATURE in hundredths of a degree
    Celsius; LOCATION latitude (value) and longitude (value2) in micro-degrees; DOOR 1 open, 0 closed.
    """

    WEIGHT = 0
    TEMPERATURE = 1
    LOCATION = 2
    DOOR = 3

    @classmethod
    def parse(cls, text: str) -> Metric:
        try:
            return cls[text.upper()]
        except KeyError:
            names = ", ".join(m.name.lower() for m in cls)
            raise OracleError(f"unknown metric {text!r}: expected one of {names}") from None


class TargetKind(IntEnum):
    """What a device watches: a warehouse receipt (asset id) or a shipment (order id)."""

    ASSET = 0
    SHIPMENT = 1

    @classmethod
    def parse(cls, text: str) -> TargetKind:
        try:
            return cls[text.upper()]
        except KeyError:
            raise OracleError(f"unknown target kind {text!r}: expected asset or shipment") from None


def serial_hash(serial: str) -> bytes:
    """What a custodian registers a device under: keccak256 of its serial number."""
    return keccak(text=serial)


def device_id(serial: str | bytes, custodian: str) -> bytes:
    """The on-chain id of a device, namespaced by the custodian that registers it:
    ``keccak256(abi.encode(custodian, keccak256(serial)))`` (``serial`` text, or its 32-byte hash)."""
    hashed = serial if isinstance(serial, bytes) else serial_hash(serial)
    return keccak(encode(["address", "bytes32"], [custodian, hashed]))


@dataclass(frozen=True)
class Reading:
    """One measurement of one device (the contract's ``Reading``)."""

    device_id: bytes
    seq: int
    timestamp: int
    metric: Metric
    value: int
    value2: int = 0
    prev_hash: bytes = ZERO32

    def as_tuple(self) -> tuple[Any, ...]:
        return (self.device_id, self.seq, self.timestamp, int(self.metric), self.value, self.value2, self.prev_hash)

    @property
    def hash(self) -> bytes:
        """keccak256(abi.encode(reading)): what the device signs and the next reading chains to
        (remembered per reading: every node's checks read it several times)."""
        return _reading_hash(self.as_tuple())

    @property
    def leaf(self) -> bytes:
        """The Merkle leaf (OpenZeppelin's double hash, so a leaf is never a 64-byte inner node)."""
        return keccak(self.hash)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["device_id"] = "0x" + self.device_id.hex()
        d["prev_hash"] = "0x" + self.prev_hash.hex()
        d["metric"] = self.metric.name.lower()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Reading:
        try:
            return cls(
                device_id=bytes.fromhex(str(d["device_id"]).removeprefix("0x")),
                seq=int(d["seq"]),
                timestamp=int(d["timestamp"]),
                metric=Metric.parse(str(d["metric"])),
                value=int(d["value"]),
                value2=int(d.get("value2", 0)),
                prev_hash=bytes.fromhex(str(d.get("prev_hash", "0x" + "00" * 32)).removeprefix("0x")),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise OracleError(f"malformed reading {d!r}: {exc}") from None


@dataclass(frozen=True)
class SignedReading:
    """A reading and its device's signature (65 bytes r, s, v over the reading's hash)."""

    reading: Reading
    signature: bytes

    @classmethod
    def sign(cls, reading: Reading, key: LocalAccount) -> SignedReading:
        """The device's EIP-191 signature of the reading's hash: the bytes eth-account's
        ``sign_message`` gives (RFC 6979, low s, v 27/28), made by coincurve (libsecp256k1) directly."""
        private = _KEYS.get(bytes(key.key))
        if private is None:
            private = _KEYS[bytes(key.key)] = coincurve.PrivateKey(bytes(key.key))
        signature = private.sign_recoverable(keccak(EIP191_32 + reading.hash), hasher=None)
        return cls(reading, signature[:64] + bytes((signature[64] + 27,)))

    def signer(self) -> str:
        """The address whose key made the signature (remembered per reading and signature: every
        node checks it).

        Raises:
            OracleError: the signature bytes are malformed.
        """
        return _recover(self.reading.hash, self.signature)

    def to_json(self) -> str:
        d = self.reading.to_dict()
        d["signature"] = "0x" + self.signature.hex()
        return json.dumps(d, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> SignedReading:
        try:
            d = json.loads(text)
        except ValueError as exc:
            raise OracleError(f"a reading is not valid JSON: {exc}") from None
        if not isinstance(d, dict) or "signature" not in d:
            raise OracleError(f"a reading has no signature: {str(text)[:80]}")
        sig = bytes.fromhex(str(d.pop("signature")).removeprefix("0x"))
        return cls(Reading.from_dict(d), sig)


@lru_cache(maxsize=65_536)
def _reading_hash(fields: tuple[Any, ...]) -> bytes:
    return keccak(encode([READING_ABI], [fields]))


@lru_cache(maxsize=65_536)
def _recover(message_hash: bytes, signature: bytes) -> str:
    """The signer of an EIP-191 signature of ``message_hash``. A well-formed signature (65 bytes, v 27
    or 28, r and s in [1, N)) is recovered by coincurve directly, as eth-keys does with the same
    library underneath; anything else goes through eth-account, which says what is wrong with it."""
    if len(signature) == 65 and signature[64] in (27, 28) and \
            0 < int.from_bytes(signature[:32], "big") < SECP256K1_N and \
            0 < int.from_bytes(signature[32:64], "big") < SECP256K1_N:
        try:
            public = coincurve.PublicKey.from_signature_and_message(
                signature[:64] + bytes((signature[64] - 27,)), keccak(EIP191_32 + message_hash), hasher=None)
        except ValueError:
            pass  # no key recovers from it: eth-account below says so in its words
        else:
            return str(to_checksum_address(keccak(public.format(compressed=False)[1:])[-20:]))
    try:
        return str(Account.recover_message(encode_defunct(primitive=message_hash), signature=signature))
    except (ValueError, TypeError, ValidationError) as exc:  # malformed signature bytes
        raise OracleError(f"unreadable device signature: {exc}") from None
