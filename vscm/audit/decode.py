"""Fast event decoding straight from the ABIs: topic0 -> decoder, ``eth_abi.decode`` on the data.

web3's ``get_logs`` + ``process_log`` builds AttributeDicts and re-validates every field; an auditor
replaying a whole history wants the raw log decoded once. A :class:`Decoder` is built per contract
name from its artifact and caches, per topic0, the event name, which inputs are indexed and their ABI
types. Logs are kept as :class:`RawLog` (what the node returned, normalised), so a stored history
can be re-decoded and re-verified without the chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import keccak, to_checksum_address

from vscm.chain import artifacts as artifact_store

__all__ = ["DecodedEvent", "Decoder", "EventSpec", "RawLog", "decoder_for", "normalise_log"]


@dataclass(frozen=True)
class RawLog:
    """One log as the node returned it (hex strings normalised to lower case, numbers to int)."""

    block_number: int
    block_hash: str
    tx_hash: str
    tx_index: int
    log_index: int
    address: str
    topics: tuple[str, ...]
    data: str

    def to_json(self) -> dict[str, Any]:
        return {"block_number": self.block_number, "block_hash": self.block_hash, "tx_hash": self.tx_hash,
                "tx_index": self.tx_index, "log_index": self.log_index, "address": self.address,
                "topics": list(self.topics), "data": self.data}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> RawLog:
        return cls(int(d["block_number"]), d["block_hash"], d["tx_hash"], int(d["tx_index"]), int(d["log_index"]),
                   d["address"], tuple(d["topics"]), d["data"])


@dataclass(frozen=True)
class DecodedEvent:
    """A decoded platform event: which contract (by name), which event, its arguments, and the log."""

    contract: str
    name: str
    args: dict[str, Any]
    log: RawLog


@dataclass(frozen=True)
class EventSpec:
    name: str
    signature: str
    indexed: tuple[tuple[str, str], ...]
    data: tuple[tuple[str, str], ...]
    order: tuple[str, ...]
    #: every data value is one 32-byte word (no string, bytes, array, tuple): sliced, not eth_abi-decoded
    static_data: bool


def _is_word(kind: str) -> bool:
    return kind in ("address", "bool") or (kind.startswith(("uint", "int", "bytes")) and kind not in ("bytes",)
                                           and "[" not in kind)


@lru_cache(maxsize=1 << 16)
def _checksum(address: str) -> str:
    # A history names few distinct addresses many times: checksum each once.
    return to_checksum_address(address)


def _word(kind: str, word: str) -> Any:
    """One 32-byte ABI word (64 hex digits) of a static type, as eth_abi would decode it."""
    if kind == "address":
        return _checksum("0x" + word[24:])
    if kind == "bool":
        return int(word, 16) != 0
    if kind.startswith("uint"):
        return int(word, 16)
    if kind.startswith("int"):
        value = int(word, 16)
        return value - (1 << 256) if value >> 255 else value
    size = int(kind[5:])  # bytesN: left-aligned
    return "0x" + word[: 2 * size]


def _hex(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    text = str(value)
    return text.lower() if text.startswith("0x") else "0x" + text.lower()


def _int(value: Any) -> int:
    if isinstance(value, int):
        return value
    return int(str(value), 16) if str(value).startswith("0x") else int(value)


def normalise_log(raw: dict[str, Any]) -> RawLog:
    """A log from ``eth_getLogs`` of a JSON-RPC node (camelCase, hex) or of eth-tester (snake_case)."""
    if "blockNumber" in raw and isinstance(raw["data"], str):
        # A JSON-RPC node's log, hex strings throughout: the common case, read without the
        # per-field type dispatch below (the audit normalises every log twice: history and receipts).
        return RawLog(
            block_number=int(raw["blockNumber"], 16),
            block_hash=raw["blockHash"].lower(),
            tx_hash=raw["transactionHash"].lower(),
            tx_index=int(raw["transactionIndex"], 16),
            log_index=int(raw["logIndex"], 16),
            address=_checksum(raw["address"].lower()),
            topics=tuple(t.lower() for t in raw["topics"]),
            data=raw["data"].lower(),
        )

    def pick(camel: str, snake: str) -> Any:
        return raw[camel] if camel in raw else raw[snake]

    return RawLog(
        block_number=_int(pick("blockNumber", "block_number")),
        block_hash=_hex(pick("blockHash", "block_hash")),
        tx_hash=_hex(pick("transactionHash", "transaction_hash")),
        tx_index=_int(pick("transactionIndex", "transaction_index")),
        log_index=_int(pick("logIndex", "log_index")),
        address=_checksum(str(raw["address"]).lower()),
        topics=tuple(_hex(t) for t in raw["topics"]),
        data=_hex(raw["data"]),
    )


def _abi_type(param: dict[str, Any]) -> str:
    kind: str = param["type"]
    if kind.startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in param["components"])
        return f"({inner}){kind[5:]}"
    return kind


class Decoder:
    """Decodes the events of one contract (by artifact name)."""

    def __init__(self, contract: str) -> None:
        self.contract = contract
        self.specs: dict[str, EventSpec] = {}
        for item in artifact_store.load(contract).abi:
            if item.get("type") != "event" or item.get("anonymous"):
                continue
            types = [_abi_type(p) for p in item["inputs"]]
            signature = f"{item['name']}({','.join(types)})"
            topic0 = "0x" + keccak(text=signature).hex()
            indexed = tuple((p["name"], t) for p, t in zip(item["inputs"], types, strict=True) if p["indexed"])
            data = tuple((p["name"], t) for p, t in zip(item["inputs"], types, strict=True) if not p["indexed"])
            self.specs[topic0] = EventSpec(item["name"], signature, indexed, data,
                                           tuple(p["name"] for p in item["inputs"]),
                                           all(_is_word(k) for _, k in data))

    def decode(self, log: RawLog) -> DecodedEvent | None:
        """The decoded event, or None when this contract's ABI has no event with that topic0 and shape."""
        if not log.topics:
            return None
        spec = self.specs.get(log.topics[0])
        if spec is None or len(log.topics) != 1 + len(spec.indexed):
            return None
        args: dict[str, Any] = {}
        for (name, kind), topic in zip(spec.indexed, log.topics[1:], strict=True):
            # Dynamic indexed values are stored as their hash: keep the hash.
            if kind in ("string", "bytes") or kind.endswith("]") or kind.startswith("("):
                args[name] = topic
            else:
                args[name] = _word(kind, topic[2:])
        if spec.data and spec.static_data:
            data = log.data[2:]
            if len(data) != 64 * len(spec.data):
                return None
            for i, (name, kind) in enumerate(spec.data):
                args[name] = _word(kind, data[64 * i: 64 * i + 64])
        elif spec.data:
            values = abi_decode([k for _, k in spec.data], bytes.fromhex(log.data[2:]))
            for (name, kind), value in zip(spec.data, values, strict=True):
                args[name] = _clean(kind, value)
        return DecodedEvent(self.contract, spec.name, args, log)


def _clean(kind: str, value: Any) -> Any:
    if kind == "address":
        return _checksum(value)
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return value


@cache
def decoder_for(contract: str) -> Decoder:
    return Decoder(contract)
