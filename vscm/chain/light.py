"""A light connection to one JSON-RPC node for the CLI's quick commands: no web3.

Importing web3 costs about half a second of CPU, more than everything else a ``vscm member show`` does. The
quick commands (``member show``, ``cash balance``, ``order place``; ``vscm.cli.common.quick``) go through this
instead: JSON-RPC over the standard library's ``http.client`` (one kept-alive connection, batches where the
answers do not depend on each other), calls encoded and decoded by eth-abi with the ABIs of
``vscm.chain.abicache``, and transactions signed by the caller's own key with eth-account. It offers the part of
web3's contract interface the platform facades use (``contract.functions.f(args).call()``,
``contract.events.E().process_log(log)``, ``contract.address``), and a ``LightSender`` with ``transact`` for
``Facade._send``. Results have web3's shapes: addresses checksummed, several outputs as a list, structs as
tuples, arrays as lists; receipts are dicts with bytes hashes and int numbers.

A write is three round trips: one batch (nonce, latest block, gas estimate and, by the fee policy, the node's
fees), ``eth_sendRawTransaction``, and the receipt polled every 50 ms. Reverts come out as the same
``ContractRevert`` as on the web3 path (``vscm.chain.revert``), refusals as ``TransactionRejected``.
"""

from __future__ import annotations

import http.client
import itertools
import json
import math
import time
import urllib.parse
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from vscm.chain import abicache
from vscm.errors import ChainError, NodeUnreachable, TransactionFailed

__all__ = ["LightChain", "LightContract", "LightSender", "Rpc", "RpcError", "unreachable"]

GAS_MULTIPLIER = 1.2  # as vscm.chain.tx
PRIORITY_FEE_WEI = 10**9


def unreachable(url: str, exc: BaseException, timeout: float | None = None) -> NodeUnreachable:
    """A one-line :class:`NodeUnreachable` for a request to ``url`` that got no answer (``exc``), saying why
    in a few words (unknown host, connection refused, no answer in time) and what to check."""
    text = str(exc)
    if isinstance(exc, NodeUnreachable):  # the failover provider's: every node named with its failure
        return NodeUnreachable(f"cannot reach a node at {url}: {text}")
    if "NameResolution" in text or "Name or service not known" in text or "nodename nor servname" in text:
        why = "unknown host (check the URL given to --network or $VSCM_NETWORK)"
    elif "timed out" in text.lower() or "Timeout" in type(exc).__name__:
        why = f"no answer within {timeout:g} s" if timeout is not None else "no answer in time"
        why += " (is the node overloaded, or the URL a server that is not a JSON-RPC node?)"
    elif "refused" in text.lower():
        why = "connection refused (is the node running, on that port? check --network)"
    else:
        why = f"{type(exc).__name__} (check --network and that the node runs)"
    return NodeUnreachable(f"cannot reach a node at {url}: {why}")


class RpcError(ChainError):
    """The node answered a request with a JSON-RPC error; ``rpc_response`` holds it (as web3's errors do)."""

    def __init__(self, method: str, error: Any) -> None:
        message = error.get("message", error) if isinstance(error, dict) else error
        super().__init__(f"{method}: {message}")
        self.method = method
        self.message = str(message)
        self.rpc_response = {"error": error}


class Rpc:
    """JSON-RPC 2.0 over HTTP(S) to one node, on one kept-alive connection."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.url = url
        self.timeout = timeout
        parts = urllib.parse.urlsplit(url)
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "localhost"
        self._port = parts.port
        self._conn: http.client.HTTPConnection | None = None
        self._ids = itertools.count(1)

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            self._conn = cls(self._host, self._port, timeout=self.timeout)
        return self._conn

    def _post(self, payload: Any) -> Any:
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        for attempt in (1, 2):  # a kept-alive connection the node closed meanwhile: once more on a new one
            conn = self._connection()
            try:
                conn.request("POST", self._path, body, headers)
                response = conn.getresponse()
                raw = response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self.close()
                if attempt == 2:
                    raise unreachable(self.url, exc, self.timeout) from exc
                continue
            except OSError as exc:  # refused, unknown host, timed out
                self.close()
                raise unreachable(self.url, exc, self.timeout) from exc
            if response.status != 200:
                raise ChainError(f"{self.url} answered HTTP {response.status} {response.reason}: is it a JSON-RPC node?")
            try:
                return json.loads(raw)
            except ValueError as exc:
                raise ChainError(f"{self.url} did not answer JSON-RPC ({raw[:80]!r})") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def request(self, method: str, params: Sequence[Any]) -> Any:
        """The result of one call.

        Raises:
            RpcError: the node answered with an error; NodeUnreachable: it did not answer.
        """
        answer = self._post({"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)})
        if not isinstance(answer, dict) or "error" in answer or "result" not in answer:
            raise RpcError(method, answer.get("error") if isinstance(answer, dict) else answer)
        return answer["result"]

    def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """The answers of several calls in one round trip, in order: each a result, or an ``RpcError``."""
        first = next(self._ids)
        payload = [{"jsonrpc": "2.0", "id": first + i, "method": m, "params": list(p)} for i, (m, p) in enumerate(calls)]
        for _ in range(len(calls) - 1):
            next(self._ids)
        answers = self._post(payload)
        if not isinstance(answers, list):
            error = answers.get("error") if isinstance(answers, dict) else answers
            raise ChainError(f"{self.url} did not answer a JSON-RPC batch ({error})")
        by_id = {a.get("id"): a for a in answers if isinstance(a, dict)}
        out: list[Any] = []
        for i, (method, _) in enumerate(calls):
            answer = by_id.get(first + i)
            if answer is None or "error" in answer or "result" not in answer:
                out.append(RpcError(method, answer.get("error") if answer else "no answer in the batch"))
            else:
                out.append(answer["result"])
        return out

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


# -- ABI ------------------------------------------------------------------------------------------------

def _canonical(param: dict[str, Any]) -> str:
    kind = str(param["type"])
    if kind.startswith("tuple"):
        return f"({','.join(_canonical(c) for c in param.get('components', ()))}){kind[len('tuple'):]}"
    return kind


def _keccak(data: bytes) -> bytes:
    from eth_hash.auto import keccak

    return bytes(keccak(data))


def _shape(param: dict[str, Any], value: Any) -> Any:
    """A decoded value as web3 returns it: addresses checksummed, arrays as lists, structs as tuples."""
    kind = str(param["type"])
    if kind.endswith("]"):
        inner = dict(param, type=kind[: kind.rindex("[")])
        return [_shape(inner, v) for v in value]
    if kind == "tuple":
        return tuple(_shape(c, v) for c, v in zip(param.get("components", ()), value))
    if kind == "address":
        from eth_utils import to_checksum_address

        return to_checksum_address(value)
    return value


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def _bytes(text: str | None) -> bytes:
    return bytes.fromhex((text or "0x")[2:])


class LightCall:
    """A contract function with its arguments bound: ``call()`` reads it, ``LightSender.transact`` sends it."""

    def __init__(self, contract: LightContract, entry: dict[str, Any], args: tuple[Any, ...]) -> None:
        from eth_abi import encode

        self.contract = contract
        self.fn_name = str(entry["name"])
        self.abi = entry
        self.args = args
        self.address = contract.address
        self.contract_abi = contract.abi
        types = [_canonical(p) for p in entry.get("inputs", ())]
        selector = _keccak(f"{self.fn_name}({','.join(types)})".encode())[:4]
        self.data = selector + encode(types, list(args))

    def call(self, transaction: dict[str, Any] | None = None, block_identifier: Any = "latest") -> Any:
        """The decoded return value (one output: the value; several: a list), as web3's ``call``.

        Raises:
            ContractRevert: the call reverts; ChainError: the node refused it otherwise.
        """
        params: dict[str, Any] = {"to": self.address, "data": _hex(self.data)}
        if transaction and transaction.get("from"):
            params["from"] = transaction["from"]
        block = hex(block_identifier) if isinstance(block_identifier, int) else block_identifier
        try:
            raw = self.contract.chain.rpc.request("eth_call", [params, block])
        except RpcError as exc:
            raise self.contract.chain.revert(exc, self.contract.name, self.fn_name) from exc
        return self.decode(_bytes(raw))

    def decode(self, raw: bytes) -> Any:
        from eth_abi import decode

        outputs = self.abi.get("outputs", ())
        values = decode([_canonical(p) for p in outputs], raw)
        shaped = [_shape(p, v) for p, v in zip(outputs, values)]
        return shaped[0] if len(shaped) == 1 else shaped


class LightEvent:
    """An event of a contract: its ``topic`` and ``process_log(log)`` (``{"args": {...}, "event": name}``)."""

    def __init__(self, contract: LightContract, entry: dict[str, Any]) -> None:
        self.contract = contract
        self.abi = entry
        self.event_name = str(entry["name"])
        types = ",".join(_canonical(p) for p in entry.get("inputs", ()))
        self.topic = _hex(_keccak(f"{self.event_name}({types})".encode()))

    def process_log(self, log: dict[str, Any]) -> dict[str, Any]:
        from eth_abi import decode

        inputs = self.abi.get("inputs", ())
        indexed = [p for p in inputs if p.get("indexed")]
        plain = [p for p in inputs if not p.get("indexed")]
        topics = [bytes(t) for t in log["topics"][1:]]
        values: dict[str, Any] = {}
        for param, topic in zip(indexed, topics):
            kind = _canonical(param)
            dynamic = kind in ("string", "bytes") or kind.endswith("]") or kind.startswith("(")
            values[param["name"]] = topic if dynamic else _shape(param, decode([kind], topic)[0])
        for param, value in zip(plain, decode([_canonical(p) for p in plain], bytes(log["data"]))):
            values[param["name"]] = _shape(param, value)
        args = {p["name"]: values[p["name"]] for p in inputs}
        return {"args": args, "event": self.event_name, "address": log["address"],
                "blockNumber": log.get("blockNumber"), "transactionHash": log.get("transactionHash"),
                "logIndex": log.get("logIndex")}


class _Namespace:
    def __init__(self, make: Callable[[str], Any], names: set[str]) -> None:
        self._make = make
        self._names = names

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in self._names:
            raise AttributeError(name)
        return self._make(name)

    def __contains__(self, name: str) -> bool:
        return name in self._names


class LightContract:
    """A deployed contract: ``functions.f(*args)`` (a ``LightCall``), ``events.E()`` (a ``LightEvent``)."""

    def __init__(self, chain: LightChain, name: str, address: str) -> None:
        from eth_utils import to_checksum_address

        self.chain = chain
        self.name = name
        self.address = to_checksum_address(address)
        self.abi = abicache.abi(name)
        functions: dict[str, list[dict[str, Any]]] = {}
        events: dict[str, dict[str, Any]] = {}
        for entry in self.abi:
            if entry.get("type") == "function":
                functions.setdefault(str(entry["name"]), []).append(entry)
            elif entry.get("type") == "event":
                events[str(entry["name"])] = entry
        self._functions = functions
        self._events = events
        self.functions = _Namespace(self._function, set(functions))
        self.events = _Namespace(lambda name: lambda: LightEvent(self, events[name]), set(events))

    def _function(self, name: str) -> Callable[..., LightCall]:
        def bind(*args: Any) -> LightCall:
            entries = [e for e in self._functions[name] if len(e.get("inputs", ())) == len(args)]
            if len(entries) != 1:
                raise ChainError(f"{self.name}.{name} takes no {len(args)} arguments" if not entries
                                 else f"{self.name}.{name} is overloaded for {len(args)} arguments")
            return LightCall(self, entries[0], args)

        return bind


class LightChain:
    """One node over JSON-RPC, with the parts of ``vscm.chain.backends.Chain`` the quick commands use."""

    kind = "light"
    confirmations = 0

    def __init__(self, url: str, *, name: str | None = None, fee_policy: str = "node", gas_price: str = "node",
                 timeout: float = 30.0, stall_timeout: float | None = 30.0) -> None:
        self.rpc = Rpc(url, timeout=timeout)
        self.name = name or url
        self.fee_policy = fee_policy
        self.gas_price_mode = gas_price  # "auto": the policy is read with the first batch
        self.stall_timeout = stall_timeout
        self.chain_id: int | None = None
        self.closed = False
        self.sender = LightSender(self)

    def __repr__(self) -> str:
        return f"LightChain(name={self.name!r}, chain_id={self.chain_id})"

    def contract(self, artifact: str, address: str) -> LightContract:
        return LightContract(self, artifact, address)

    def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """As ``Rpc.batch``; a batch that starts with ``eth_chainId`` also sets ``chain_id``."""
        answers = self.rpc.batch(calls)
        if calls and calls[0][0] == "eth_chainId" and not isinstance(answers[0], Exception):
            self.chain_id = int(answers[0], 16)
        return answers

    def revert(self, exc: RpcError, contract: str | None, function: str | None) -> Exception:
        """The ``ContractRevert`` a node's error stands for, or a ``ChainError`` when it is not a revert."""
        from vscm.chain.revert import _hex_in, decode_revert

        error = exc.rpc_response["error"]
        message = str(error.get("message", "")) if isinstance(error, dict) else str(error)
        if "revert" not in message.lower():
            return exc
        data = _hex_in(error.get("data")) if isinstance(error, dict) else None
        if data is None:
            reason = message.partition("execution reverted")[2].lstrip(": ").strip()
            if reason:
                from vscm.errors import ContractRevert

                return ContractRevert("Error", {"message": reason}, contract=contract, function=function)
            data = b""
        return decode_revert(data, contract=contract, function=function)

    def close(self) -> None:
        self.rpc.close()
        self.closed = True


def _receipt(raw: dict[str, Any]) -> dict[str, Any]:
    """A JSON-RPC receipt in web3's shapes (ints, bytes, checksummed addresses)."""
    from eth_utils import to_checksum_address

    def log(entry: dict[str, Any]) -> dict[str, Any]:
        return {"address": to_checksum_address(entry["address"]), "topics": [_bytes(t) for t in entry["topics"]],
                "data": _bytes(entry["data"]), "blockNumber": int(entry["blockNumber"], 16),
                "transactionHash": _bytes(entry["transactionHash"]), "logIndex": int(entry["logIndex"], 16),
                "blockHash": _bytes(entry.get("blockHash")), "transactionIndex": int(entry["transactionIndex"], 16)}

    return {"transactionHash": _bytes(raw["transactionHash"]), "blockNumber": int(raw["blockNumber"], 16),
            "blockHash": _bytes(raw.get("blockHash")), "gasUsed": int(raw["gasUsed"], 16),
            "status": int(raw.get("status", "0x1"), 16), "from": to_checksum_address(raw["from"]),
            "to": to_checksum_address(raw["to"]) if raw.get("to") else None,
            "contractAddress": to_checksum_address(raw["contractAddress"]) if raw.get("contractAddress") else None,
            "logs": [log(e) for e in raw.get("logs", ())],
            "effectiveGasPrice": int(raw.get("effectiveGasPrice", "0x0"), 16)}


class LightSender:
    """Sends a ``LightCall`` signed by the caller's key: ``transact(account, call)`` -> receipt."""

    def __init__(self, chain: LightChain, *, receipt_timeout: float = 120.0, poll: float = 0.05) -> None:
        self.chain = chain
        self.receipt_timeout = receipt_timeout
        self.poll = poll
        #: as ``Sender.on_wait``: a context held while the receipt is awaited (the CLI's spinner), or None
        self.on_wait: Callable[[bytes], AbstractContextManager[Any]] | None = None

    def transact(self, account: Any, call: LightCall, *, gas: int | None = None) -> dict[str, Any]:
        """Sign and send ``call`` from ``account``; wait for its receipt.

        Raises:
            ContractRevert: the call reverts (at estimation, or when mined); TransactionFailed: mined with status
                0 for no recoverable reason; TransactionRejected: the node refused the transaction.
        """
        from vscm.chain.tx import TransactionRejected, _hint, _reason, _unfunded

        chain = self.chain
        request = {"from": account.address, "to": call.address, "data": _hex(call.data)}
        calls: list[tuple[str, list[Any]]] = [("eth_getTransactionCount", [account.address, "pending"]),
                                              ("eth_getBlockByNumber", ["latest", False])]
        if gas is None:
            calls.append(("eth_estimateGas", [request]))
        policy = chain.fee_policy
        if policy == "node" or chain.gas_price_mode == "auto":
            calls += [("eth_gasPrice", []), ("eth_maxPriorityFeePerGas", [])]
        answers = chain.batch(calls)
        nonce, latest = answers[0], answers[1]
        for answer in (nonce, latest):
            if isinstance(answer, Exception):
                raise answer
        if gas is None:
            estimate = answers[2]
            if isinstance(estimate, RpcError):
                revert = chain.revert(estimate, call.contract.name, call.fn_name)
                if revert is not estimate:
                    raise revert from estimate
                raise TransactionRejected(
                    f"the node refused to estimate gas for {account.address}: {_reason(estimate)}{_hint(estimate)}",
                    unfunded=_unfunded(estimate)) from estimate
            gas = min(math.ceil(int(estimate, 16) * GAS_MULTIPLIER), int(latest["gasLimit"], 16))
        if chain.gas_price_mode == "auto":
            price = answers[-2]
            policy = "zero" if not isinstance(price, Exception) and int(price, 16) == 0 else "node"
        tx: dict[str, Any] = {"to": call.address, "data": request["data"], "value": 0, "chainId": chain.chain_id,
                              "gas": gas, "nonce": int(nonce, 16), **self._fees(policy, latest, answers)}
        signed = account.sign_transaction(tx)
        try:
            tx_hash = _bytes(chain.rpc.request("eth_sendRawTransaction", [_hex(bytes(signed.raw_transaction))]))
        except RpcError as exc:
            raise TransactionRejected(
                f"the node refused the transaction from {account.address} (nonce {tx['nonce']}): "
                f"{_reason(exc)}{_hint(exc)}", unfunded=_unfunded(exc)) from exc
        with self.on_wait(tx_hash) if self.on_wait is not None else nullcontext():
            receipt = self._wait(tx_hash)
        if receipt["status"] != 1:
            raise self._failure(request, gas, receipt, call)
        return receipt

    @staticmethod
    def _fees(policy: str, latest: dict[str, Any], answers: list[Any]) -> dict[str, int]:
        """As ``vscm.chain.tx.fee_fields``, from the batch's answers."""
        if policy == "zero":
            return {"gasPrice": 0}
        base_fee = int(latest["baseFeePerGas"], 16) if latest.get("baseFeePerGas") else None
        if policy == "dev":
            return {"maxFeePerGas": 2 * int(base_fee or 0) + PRIORITY_FEE_WEI, "maxPriorityFeePerGas": PRIORITY_FEE_WEI}
        price, tip = answers[-2], answers[-1]
        if base_fee is None:
            if isinstance(price, Exception):
                raise price
            return {"gasPrice": int(price, 16)}
        tip_wei = PRIORITY_FEE_WEI if isinstance(tip, Exception) else int(tip, 16)
        return {"maxFeePerGas": 2 * base_fee + tip_wei, "maxPriorityFeePerGas": tip_wei}

    def _wait(self, tx_hash: bytes) -> dict[str, Any]:
        """Poll for the receipt (with the head, to stop when no block comes for the chain's ``stall_timeout``)."""
        from vscm.chain.tx import ChainStalled

        chain = self.chain
        deadline = time.monotonic() + self.receipt_timeout
        head, moved = -1, time.monotonic()
        while True:
            raw, number = chain.batch([("eth_getTransactionReceipt", [_hex(tx_hash)]), ("eth_blockNumber", [])])
            if isinstance(raw, Exception):
                raise raw
            if raw is not None:
                return _receipt(raw)
            now = time.monotonic()
            if now > deadline:
                raise ChainError(f"transaction 0x{tx_hash.hex()} was not mined within {self.receipt_timeout:g} s")
            if chain.stall_timeout is not None and not isinstance(number, Exception):
                if int(number, 16) != head:
                    head, moved = int(number, 16), now
                elif now - moved > chain.stall_timeout:
                    raise ChainStalled(
                        f"{chain.name}: no new block for {chain.stall_timeout:g} s (head {head}), so transaction "
                        f"0x{tx_hash.hex()} waits unmined: a BFT network commits blocks only while 2f+1 of its "
                        "3f+1 validators run (`vscm network status`)")
            time.sleep(self.poll)

    def _failure(self, request: dict[str, Any], gas: int, receipt: dict[str, Any], call: LightCall) -> Exception:
        """Why a mined transaction failed: replayed as ``eth_call`` on the state before its block (as ``Sender``)."""
        tx_hash = _hex(receipt["transactionHash"])
        problem = "its replay did not fail"
        try:
            self.chain.rpc.request("eth_call", [{**request, "gas": hex(gas)}, hex(max(receipt["blockNumber"] - 1, 0))])
        except RpcError as exc:
            revert = self.chain.revert(exc, call.contract.name, call.fn_name)
            if revert is not exc:
                revert.tx_hash = tx_hash  # type: ignore[attr-defined]
                return revert
            problem = exc.message
        if receipt["gasUsed"] >= gas:
            return TransactionFailed(f"transaction {tx_hash} ran out of gas (limit {gas}): give a higher gas limit")
        return TransactionFailed(f"transaction {tx_hash} failed: {problem}")
