"""Where a replay reads history from: a live chain (raw JSON-RPC or the embedded chain) or a stored file.

Chain I/O stays behind this boundary so the fold and the checks run the same on a node and on a
stored copy. Every source answers: the head block, block headers of a range, the logs of some
addresses in a range (raw ``eth_getLogs``), and the logs of one transaction's receipt.
"""

from __future__ import annotations

import itertools
import json
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import rlp
from eth_utils import to_checksum_address
from rlp.sedes import big_endian_int
from trie import HexaryTrie

from vscm.audit.decode import RawLog, normalise_log
from vscm.errors import AuditError, NodeUnreachable, is_transport_error

__all__ = ["EmbeddedSource", "Header", "HistoryFile", "RpcSource", "Source", "StoredSource", "receipts_root",
           "source_for"]


#: The header fields in the order the block hash covers them (keccak of their RLP list), with the
#: name eth-tester uses: the London fields, then each fork's additions (Shanghai, Cancun, Prague).
HEADER_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("parentHash", "parent_hash", "bytes"), ("sha3Uncles", "sha3_uncles", "bytes"), ("miner", "coinbase", "bytes"),
    ("stateRoot", "state_root", "bytes"), ("transactionsRoot", "transactions_root", "bytes"),
    ("receiptsRoot", "receipts_root", "bytes"), ("logsBloom", "logs_bloom", "bloom"),
    ("difficulty", "difficulty", "int"), ("number", "number", "int"), ("gasLimit", "gas_limit", "int"),
    ("gasUsed", "gas_used", "int"), ("timestamp", "timestamp", "int"), ("extraData", "extra_data", "bytes"),
    ("mixHash", "mix_hash", "bytes"), ("nonce", "nonce", "bytes"),
)
#: Fields a later fork appended; a header has a prefix of them (none before London).
HEADER_FORK_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("baseFeePerGas", "base_fee_per_gas", "int"), ("withdrawalsRoot", "withdrawals_root", "bytes"),
    ("blobGasUsed", "blob_gas_used", "int"), ("excessBlobGas", "excess_blob_gas", "int"),
    ("parentBeaconBlockRoot", "parent_beacon_block_root", "bytes"), ("requestsHash", "requests_hash", "bytes"),
)
#: kept in ``Header``'s own attributes, not in ``fields``
_OWN = {"parentHash", "receiptsRoot", "number", "timestamp"}


@dataclass(frozen=True)
class Header:
    """A block header: the fields the replay uses, and (``fields``) every other field the block hash
    covers, so that a stored copy can recompute the hash offline. Headers stored before whole
    headers were kept have no ``fields``."""

    number: int
    hash: str
    parent_hash: str
    timestamp: int
    receipts_root: str
    fields: dict[str, str] | None = field(default=None, compare=False)
    #: how the engine hashes its headers: ``ethereum`` (keccak of the header's RLP: anvil, py-evm, geth,
    #: Besu) or the engine's name where its block hash is not that (``kaia``: Istanbul BFT headers)
    hash_scheme: str = field(default="ethereum", compare=False)

    @property
    def logs_bloom(self) -> int | None:
        """The block's logs bloom (2048 bits), None when the header was stored without it."""
        raw = (self.fields or {}).get("logsBloom")
        return int(raw, 16) if raw else None

    def computed_hash(self) -> str | None:
        """keccak256 of the header's RLP, recomputed from its fields (None without whole fields, or on an
        engine whose block hash is not an Ethereum header hash)."""
        if not self.fields or self.hash_scheme != "ethereum":
            return None
        from eth_utils import keccak

        own = {"parentHash": self.parent_hash, "receiptsRoot": self.receipts_root, "number": hex(self.number),
               "timestamp": hex(self.timestamp)}
        items: list[Any] = []
        for name, _, kind in HEADER_FIELDS + HEADER_FORK_FIELDS:
            value = own.get(name, self.fields.get(name))
            if value is None:
                if (name, kind) in {(n, k) for n, _, k in HEADER_FIELDS}:
                    return None  # a field every header has is missing: nothing to recompute
                break
            items.append(int(value, 16) if kind == "int" else bytes.fromhex(value[2:]))
        return "0x" + keccak(rlp.encode(items)).hex()

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"number": self.number, "hash": self.hash, "parent_hash": self.parent_hash,
                                "timestamp": self.timestamp, "receipts_root": self.receipts_root}
        if self.fields:
            body["fields"] = self.fields
        if self.hash_scheme != "ethereum":
            body["hash_scheme"] = self.hash_scheme
        return body

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Header:
        return cls(int(d["number"]), d["hash"], d["parent_hash"], int(d["timestamp"]), d["receipts_root"],
                   d.get("fields"), d.get("hash_scheme", "ethereum"))


def _hex(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    return str(value).lower()


def _int(value: Any) -> int:
    return value if isinstance(value, int) else int(str(value), 16)


def hash_scheme(client_version: str) -> str:
    """The header hashing of the engine that answers ``web3_clientVersion`` with ``client_version``."""
    name = client_version.split("/", 1)[0].strip().lower()
    return "kaia" if name in ("kaia", "klaytn") else "ethereum"


def _header(raw: Any, scheme: str = "ethereum") -> Header:
    def pick(*names: str) -> Any:
        for n in names:
            if n in raw:
                return raw[n]
        raise AuditError(f"block header without {names[0]}: {dict(raw)!r:.200}")

    fields: dict[str, str] = {}
    for name, alias, kind in HEADER_FIELDS + HEADER_FORK_FIELDS:
        if name in _OWN:
            continue
        value = raw[name] if name in raw else raw.get(alias)
        if value is None:
            continue
        if kind == "int":
            fields[name] = hex(_int(value))
        elif kind == "bloom" and isinstance(value, int):
            fields[name] = "0x" + value.to_bytes(256, "big").hex()
        else:
            fields[name] = _hex(value)
    return Header(_int(pick("number")), _hex(pick("hash")), _hex(pick("parentHash", "parent_hash")),
                  _int(pick("timestamp")), _hex(pick("receiptsRoot", "receipts_root")), fields or None, scheme)


class Source(ABC):
    """Where a replay reads the history from: an RPC node, the embedded chain, or a stored file."""

    name = "source"
    #: ``block_receipts`` reads every receipt of each block asked for, whatever transactions are named,
    #: and recomputes its receipts root: a replay then takes the platform's logs from those receipts
    whole_block_receipts = False

    @abstractmethod
    def head(self) -> int:
        """The newest block number the source holds."""

    @abstractmethod
    def headers(self, start: int, stop: int) -> list[Header]:
        """Headers of blocks ``start..stop`` inclusive, in order."""

    @abstractmethod
    def logs(self, start: int, stop: int, addresses: list[str]) -> list[RawLog]:
        """The logs of ``addresses`` in blocks ``start..stop`` inclusive, in chain order."""

    @abstractmethod
    def receipt_logs(self, tx_hashes: list[str]) -> dict[str, list[RawLog]]:
        """The logs of each transaction's receipt, as the chain reports them."""

    def all_logs(self, start: int, stop: int) -> list[RawLog]:
        """Every log of blocks ``start..stop``, of any address (the bloom-only check)."""
        raise AuditError(f"{self.name} cannot read every log of a block: the bloom-only check needs a node")

    def block_receipts(self, blocks: dict[int, list[str]]) -> tuple[dict[int, str | None], dict[str, list[RawLog]]]:
        """For each block (number -> the transactions of interest): the receipts root recomputed from
        all the block's receipts (None when this source cannot), and each transaction's receipt logs."""
        return {n: None for n in blocks}, self.receipt_logs([tx for txs in blocks.values() for tx in txs])

    @property
    def live(self) -> bool:
        return True


class RpcSource(Source):
    """Any JSON-RPC node (anvil, Besu, geth) over HTTP, with batched requests.

    ``connections``: blocks' receipts are read over this many connections at once, one block per
    request, so that the node works on the next block while this process hashes the last one, and a
    node that serves requests on several threads (anvil, geth) uses them."""

    whole_block_receipts = True

    def __init__(self, url: str, timeout: float = 60.0, connections: int = 2) -> None:
        import requests

        self.url = url
        self.name = url
        self.timeout = timeout
        self.connections = max(1, connections)
        self.session = requests.Session()
        self._local = threading.local()
        self._ids = itertools.count(1)
        self._scheme: str | None = None
        self._per_tx_receipts = False

    def _session(self) -> Any:
        """This thread's HTTP session (a ``requests.Session`` is not shared between threads)."""
        if threading.current_thread() is threading.main_thread():
            return self.session
        session = getattr(self._local, "session", None)
        if session is None:
            import requests

            session = self._local.session = requests.Session()
        return session

    def _batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        if not calls:
            return []
        payload = []
        for method, params in calls:
            payload.append({"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params})
        try:
            response = self._session().post(self.url, json=payload, timeout=self.timeout)
            response.raise_for_status()
            answers = response.json()
        except Exception as exc:
            if is_transport_error(exc):
                raise NodeUnreachable(f"cannot read history from {self.url}: no node answered "
                                      f"({type(exc).__name__}); check --network and that the node runs") from exc
            raise AuditError(f"cannot read history from {self.url}: {exc}") from exc
        if isinstance(answers, dict):
            raise AuditError(f"{self.url} refused a batch request: {answers.get('error')}")
        by_id = {a["id"]: a for a in answers}
        results = []
        for call, request in zip(calls, payload, strict=True):
            answer = by_id.get(request["id"], {})
            if "error" in answer or "result" not in answer:
                raise AuditError(f"{call[0]} failed on {self.url}: {answer.get('error', 'no answer')}")
            results.append(answer["result"])
        return results

    def head(self) -> int:
        return _int(self._batch([("eth_blockNumber", [])])[0])

    def _hash_scheme(self) -> str:
        """How the node's chain hashes its headers and receipts (``hash_scheme``), asked once."""
        if self._scheme is None:
            self._scheme = hash_scheme(str(self._batch([("web3_clientVersion", [])])[0]))
        return self._scheme

    def headers(self, start: int, stop: int) -> list[Header]:
        scheme = self._hash_scheme()
        out: list[Header] = []
        for first in range(start, stop + 1, 200):
            calls = [("eth_getBlockByNumber", [hex(n), False]) for n in range(first, min(stop, first + 199) + 1)]
            for n, raw in zip(range(first, stop + 1), self._batch(calls), strict=False):
                if raw is None:
                    raise AuditError(f"{self.url} has no block {n}")
                out.append(_header(raw, scheme))
        return out

    def logs(self, start: int, stop: int, addresses: list[str]) -> list[RawLog]:
        raw = self._batch([("eth_getLogs", [{"fromBlock": hex(start), "toBlock": hex(stop),
                                             "address": addresses}])])[0]
        return [normalise_log(r) for r in raw]

    def all_logs(self, start: int, stop: int) -> list[RawLog]:
        raw = self._batch([("eth_getLogs", [{"fromBlock": hex(start), "toBlock": hex(stop)}])])[0]
        return [normalise_log(r) for r in raw]

    def block_receipts(self, blocks: dict[int, list[str]]) -> tuple[dict[int, str | None], dict[str, list[RawLog]]]:
        """``eth_getBlockReceipts`` (anvil, geth, Besu 24+, Kaia), batched; the root recomputed from them.
        A node without it gets the same receipts one transaction at a time (``_receipts_of_blocks``)."""
        numbers = sorted(blocks)
        roots: dict[int, str | None] = {}
        logs: dict[str, list[RawLog]] = {}
        scheme = self._hash_scheme()

        def read(chunk: list[int]) -> list[tuple[int, str, dict[str, list[RawLog]]]]:
            return [(number, receipts_root(receipts, scheme), {
                _hex(r["transactionHash"]): [normalise_log(lg) for lg in r["logs"]] for r in receipts})
                for number, receipts in zip(chunk, self._receipts_of_blocks(chunk), strict=True)]

        # Several requests in flight (each block's receipts hashed while the node reads the next), at
        # most 100 blocks per request.
        size = min(100, max(1, -(-len(numbers) // (2 * self.connections)))) if self.connections > 1 else 100
        chunks = [numbers[i:i + size] for i in range(0, len(numbers), size)]
        if len(chunks) > 1:
            with ThreadPoolExecutor(self.connections, thread_name_prefix="vscm-receipts") as pool:
                answers = [a for part in pool.map(read, chunks) for a in part]
        else:
            answers = [a for chunk in chunks for a in read(chunk)]
        for number, root, by_tx in answers:
            roots[number] = root
            logs.update(by_tx)
        return roots, logs

    def _receipts_of_blocks(self, numbers: list[int]) -> list[list[dict[str, Any]]]:
        """Every receipt of each block: ``eth_getBlockReceipts``, or, on a node that refuses it, the block's
        transaction hashes and ``eth_getTransactionReceipt`` of each (the same receipts, in block order)."""
        if not self._per_tx_receipts:
            try:
                return [list(r or []) for r in self._batch([("eth_getBlockReceipts", [hex(n)]) for n in numbers])]
            except AuditError as exc:
                if "eth_getBlockReceipts failed" not in str(exc):
                    raise
                self._per_tx_receipts = True  # this node has no eth_getBlockReceipts: ask per transaction
        blocks = self._batch([("eth_getBlockByNumber", [hex(n), False]) for n in numbers])
        out = []
        for number, block in zip(numbers, blocks, strict=True):
            if block is None:
                raise AuditError(f"{self.url} has no block {number}")
            hashes = [_hex(t) for t in block["transactions"]]
            out.append(list(self._batch([("eth_getTransactionReceipt", [t]) for t in hashes])))
        return out

    def receipt_logs(self, tx_hashes: list[str]) -> dict[str, list[RawLog]]:
        out: dict[str, list[RawLog]] = {}
        for first in range(0, len(tx_hashes), 200):
            chunk = tx_hashes[first:first + 200]
            for tx, receipt in zip(chunk, self._batch([("eth_getTransactionReceipt", [t]) for t in chunk]),
                                   strict=True):
                out[tx] = [normalise_log(r) for r in (receipt or {}).get("logs", [])]
        return out


class EmbeddedSource(Source):
    """The in-process eth-tester chain: raw requests through its provider (no web3 formatting)."""

    whole_block_receipts = True

    def __init__(self, chain: Any) -> None:
        self.chain = chain
        self.name = "embedded"

    def head(self) -> int:
        return int(self.chain.w3.eth.block_number)

    def headers(self, start: int, stop: int) -> list[Header]:
        """Straight from py-evm's headers: eth-tester's block JSON pads ``extraData``, which would
        break the recomputed hash."""
        evm = self.chain.backend.chain
        names = {"uncles_hash": "sha3Uncles", "coinbase": "miner", "transaction_root": "transactionsRoot",
                 "receipt_root": "receiptsRoot", "bloom": "logsBloom", "block_number": "number"}
        out = []
        for n in range(start, stop + 1):
            header = evm.get_canonical_block_by_number(n).header
            raw: dict[str, Any] = {"hash": header.hash}
            for name, _ in header._meta.fields:
                raw[names.get(name, name)] = getattr(header, name)
            out.append(_header(raw))
        return out

    def logs(self, start: int, stop: int, addresses: list[str]) -> list[RawLog]:
        response = self.chain.w3.provider.make_request(
            "eth_getLogs", [{"from_block": start, "to_block": stop, "address": addresses}])
        if "error" in response:
            raise AuditError(f"eth_getLogs failed on the embedded chain: {response['error']}")
        return [normalise_log(r) for r in response["result"]]

    def all_logs(self, start: int, stop: int) -> list[RawLog]:
        response = self.chain.w3.provider.make_request("eth_getLogs", [{"from_block": start, "to_block": stop}])
        if "error" in response:
            raise AuditError(f"eth_getLogs failed on the embedded chain: {response['error']}")
        return [normalise_log(r) for r in response["result"]]

    def block_receipts(self, blocks: dict[int, list[str]]) -> tuple[dict[int, str | None], dict[str, list[RawLog]]]:
        """The receipts py-evm stored for each block, their trie root recomputed (``make_trie_root_and_nodes``)."""
        from eth.db.trie import make_trie_root_and_nodes

        evm = self.chain.backend.chain
        roots: dict[int, str | None] = {}
        logs: dict[str, list[RawLog]] = {}
        for number in sorted(blocks):
            block = evm.get_canonical_block_by_number(number)
            receipts = block.get_receipts(evm.chaindb)
            roots[number] = "0x" + make_trie_root_and_nodes(receipts)[0].hex()
            index = 0
            for tx_index, (tx, receipt) in enumerate(zip(block.transactions, receipts, strict=True)):
                tx_hash = "0x" + tx.hash.hex()
                logs[tx_hash] = []
                for lg in receipt.logs:
                    logs[tx_hash].append(RawLog(number, "0x" + block.header.hash.hex(), tx_hash, tx_index, index,
                                                to_checksum_address(lg.address),
                                                tuple("0x" + t.to_bytes(32, "big").hex() for t in lg.topics),
                                                "0x" + bytes(lg.data).hex()))
                    index += 1
        return roots, logs

    def receipt_logs(self, tx_hashes: list[str]) -> dict[str, list[RawLog]]:
        tester = self.chain.tester
        out = {}
        for tx in tx_hashes:
            receipt = tester.get_transaction_receipt(tx)
            out[tx] = [normalise_log({**r, "block_hash": receipt["block_hash"],
                                      "block_number": receipt["block_number"]}) for r in receipt["logs"]]
        return out


class HistoryFile:
    """A stored copy of a replay's history: JSON lines of ``meta``, ``header`` and ``log`` records.

    Written while the replay streams its windows, so memory stays bounded."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: Any = None

    def open_for_write(self, meta: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = self.path.open("w")
        self._write({"meta": meta})

    def _write(self, record: dict[str, Any]) -> None:
        self._fh.write(json.dumps(record, sort_keys=True) + "\n")

    def add(self, headers: list[Header], logs: list[RawLog]) -> None:
        for h in headers:
            self._write({"header": h.to_json()})
        for lg in logs:
            self._write({"log": lg.to_json()})

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


class StoredSource(Source):
    """Replays a :class:`HistoryFile`; ``receipt_logs`` asks ``chain`` (a live source) when given, so
    a stored copy is checked against the chain it claims to come from."""

    def __init__(self, path: Path, chain: Source | None = None) -> None:
        if not path.is_file():
            raise AuditError(f"no stored history at {path}: write one with `vscm audit replay --save FILE`")
        self.path = path
        self.name = f"stored {path}"
        self.chain = chain
        self.meta: dict[str, Any] = {}
        for record in self._records():
            if "meta" in record:
                self.meta = record["meta"]
            break
        self._headers: dict[int, Header] | None = None

    def _records(self) -> Iterator[dict[str, Any]]:
        with self.path.open() as fh:
            for number, line in enumerate(fh, 1):
                try:
                    yield json.loads(line)
                except ValueError as exc:
                    raise AuditError(f"{self.path} line {number} is not JSON: {exc}") from None

    @property
    def live(self) -> bool:
        return False

    def head(self) -> int:
        return int(self.meta.get("to_block", 0))

    def headers(self, start: int, stop: int) -> list[Header]:
        out = []
        for record in self._records():
            if "header" in record and start <= int(record["header"]["number"]) <= stop:
                out.append(Header.from_json(record["header"]))
        return out

    def logs(self, start: int, stop: int, addresses: list[str]) -> list[RawLog]:
        wanted = set(addresses)
        out = []
        for record in self._records():
            if "log" in record and start <= int(record["log"]["block_number"]) <= stop:
                lg = RawLog.from_json(record["log"])
                if lg.address in wanted:
                    out.append(lg)
        return out

    def _live(self) -> Source:
        if self.chain is None:
            raise AuditError("a stored history is checked against receipts only with a chain to ask")
        return self.chain

    def receipt_logs(self, tx_hashes: list[str]) -> dict[str, list[RawLog]]:
        return self._live().receipt_logs(tx_hashes)

    def block_receipts(self, blocks: dict[int, list[str]]) -> tuple[dict[int, str | None], dict[str, list[RawLog]]]:
        return self._live().block_receipts(blocks)


def receipts_root(receipts: list[dict[str, Any]], scheme: str = "ethereum") -> str:
    """The receipts trie root of a block from its JSON-RPC receipts (EIP-2718 typed receipts:
    ``type || rlp([status, cumulativeGasUsed, logsBloom, logs])``, legacy ones without the type).

    ``scheme`` ``"kaia"`` (``hash_scheme``: a Kaia/Klaytn node): Kaia's receipt puts the transaction's own
    ``gasUsed`` where Ethereum's has the block's cumulative gas (``rlp([status, gasUsed, logsBloom, logs])``);
    the two agree only in a block of one transaction.

    Each receipt is encoded by pyrlp and the trie is py-trie's ``HexaryTrie`` in memory, keyed by
    ``rlp(index)``, as py-evm builds it. The fields are turned into pyrlp's serial form here (the numbers by
    pyrlp's ``big_endian_int``, the fixed-length fields checked against their length) and encoded with
    ``rlp.encode(..., infer_serializer=False)``: the same bytes as the receipt's sedes, without walking the
    sedes for each of the block's logs. The receipts go into the trie in descending key order: the root does
    not depend on the order (a Merkle Patricia trie is a function of its keys and values), and py-trie
    rewrites fewer nodes that way than in index order (a fifth less of its CPU on the audit bench's
    blocks of about 335 receipts)."""
    if scheme not in ("ethereum", "kaia"):
        raise AuditError(f"no receipts root for the hash scheme {scheme!r}: 'ethereum' or 'kaia'")
    gas = "gasUsed" if scheme == "kaia" else "cumulativeGasUsed"
    trie = HexaryTrie({})
    entries = []
    for index, r in enumerate(receipts):
        bloom = bytes.fromhex(r["logsBloom"][2:])
        if len(bloom) != 256:
            raise AuditError(f"receipt {index} has a logs bloom of {len(bloom)} bytes, not 256")
        logs = []
        for lg in r["logs"]:
            address, topics = bytes.fromhex(lg["address"][2:]), [bytes.fromhex(t[2:]) for t in lg["topics"]]
            if len(address) != 20 or any(len(t) != 32 for t in topics):
                raise AuditError(f"receipt {index} has a log whose address or topics are not 20 and 32 bytes")
            logs.append([address, topics, bytes.fromhex(lg["data"][2:])])
        body = rlp.encode([_uint(_int(r["status"])), _uint(_int(r[gas])), bloom, logs], infer_serializer=False)
        kind = _int(r.get("type", "0x0"))
        entries.append((_uint(index, key=True), body if kind == 0 else bytes([kind]) + body))
    entries.sort(reverse=True)
    for key, value in entries:
        trie[key] = value
    return "0x" + bytes(trie.root_hash).hex()


def _uint(value: int, *, key: bool = False) -> bytes:
    """pyrlp's serial form of an unsigned integer (``big_endian_int``: minimal big-endian bytes, zero
    as empty); ``key``: RLP-encoded, as the receipts trie's keys are."""
    serial = big_endian_int.serialize(value)
    return rlp.encode(serial, infer_serializer=False) if key else serial


def source_for(chain: Any) -> Source:
    """The fast source for a connected ``vscm.chain.backends.Chain``."""
    if getattr(chain, "kind", None) == "embedded":
        return EmbeddedSource(chain)
    provider = chain.w3.provider
    url = getattr(provider, "endpoint_uri", None)
    if not url:
        raise AuditError(f"cannot replay {chain.name}: only HTTP nodes and the embedded chain are supported")
    return RpcSource(str(url))
