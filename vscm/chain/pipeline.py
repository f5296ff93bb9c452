"""Many transactions from many signers, sent in JSON-RPC batches: ``Pipeline``.

``Sender`` (``vscm.chain.tx``) sends one transaction and waits for its receipt. A ``Pipeline``
instead signs each submitted transaction at once, locally, with the signer's next nonce (from the
chain's shared ``NonceTracker``), sends the signed transactions in JSON-RPC batches (one HTTP POST
of up to ``batch_size`` ``eth_sendRawTransaction`` calls) and collects the receipts at the end,
again in batches. Every transaction gets its own ``TxResult``: mined, reverted (with the decoded
``ContractRevert``), rejected by the node, or failed; one failure never hides another result.

    pipe = Pipeline(chain, mining="manual")          # anvil: automine off, evm_mine per block
    for buyer, seller in pairs:
        pipe.submit(buyer, orders.functions.place(...), gas=300_000, label="place")
    results = pipe.wait()                            # send what is left, mine, collect receipts
    failed = [r for r in results if not r.ok]

A facade's built write (``platform.orders.as_(buyer).build.place(...)``, a ``vscm.chain.tx.TxRequest``) is
submitted the same way, without spelling its ABI: ``request = ...build.place(...)``, ``sent =
pipe.submit(buyer, request)``, and after ``wait`` ``request.result(sent)`` is its typed ``WriteResult``.

Transactions that depend on each other across signers (``accept`` needs the order ``place`` made)
go in successive rounds (``submit`` ... ``wait``); within one signer, nonce order is submission
order, so ``approve`` then ``settle`` from the same account can share a round.

Gas: give ``gas=`` (a fixed limit; a round of dependent transactions cannot be estimated against
the state before the round) or let the pipeline estimate it against the current state (x1.2, as
``Sender`` does); an estimate that reverts is reported as that transaction's result, no nonce
spent.

Three ways the transactions reach the chain:

* an HTTP node (anvil, a URL): batches of raw transactions; ``mining="manual"`` turns anvil's
  automine off and mines with ``evm_mine`` until the pool is empty (for load generation);
  ``mining="auto"`` waits for the node to mine (an ordinary node, anvil with automine);
* the embedded chain (eth-tester): no HTTP, so one transaction at a time in submission order
  (eth-tester mines each in its own block); slower, same results.

Restart safety: every signed transaction keeps its raw bytes and hash. After the node restarted
(its state kept, its pool lost), ``resume()`` asks the node for each transaction not yet known to
be mined, by hash, and resends the SAME raw bytes only for those it no longer knows: the same nonce
means a transaction can never execute twice, and nothing the node acknowledged is lost.

A node that was killed (kill -9, power loss) may also have lost blocks it had mined: transactions
whose receipts were collected are gone too. Give the pipeline a ``journal`` file: every signed
transaction is appended to it (one JSON line, the raw bytes included) and fsync'd before it is
handed to the node, so the journal holds everything the node ever acknowledged. ``resume()`` then
asks the node for EVERY journaled transaction, mined or not, and resends those it no longer has in
nonce order (per signer); it returns exactly those, and their receipts are collected by the next
``wait()``. A new process can resume from the journal of one that crashed.

A transaction the node rejects (balance, fee) would leave a gap in its signer's nonces that
stalls every later transaction of that signer; the pipeline fills the gap with a zero-value
transfer to the signer itself at that nonce (reported as ``filler``), so the others still land.

A node may also drop a transaction it acknowledged. anvil does when it packs a block: a signer's
transaction whose gas limit no longer fits what is left of the block is skipped, the signer's next
one (a smaller limit that fits) is tried, the EVM refuses it (nonce too high) and anvil removes it
from its pool as invalid, with every later transaction of that signer. ``wait`` asks the node, by
hash, for each transaction still without a receipt once nothing minable is left (manual mining; a
node mining by itself is asked every ``DROP_CHECK_SECONDS``) and hands the ones it no longer knows
over again, the same signed bytes per signer in nonce order (``dropped`` lists them, ``sends``
counts them): the same nonce means none can execute twice. A transaction that still has no receipt
at the deadline fails with the reason: queued behind a missing earlier nonce, or dropped.

Revert reasons of mined transactions: anvil's ``debug_traceTransaction`` (``callTracer``) gives the
revert data of the transaction exactly as it ran in its block; on the embedded chain the replay
as ``eth_call`` on the state before its block is exact (one transaction a block); other nodes get
the same replay, which is right unless an earlier transaction of the same block changed the state
it depended on.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import coincurve
import faster_eth_abi
import requests
import rlp
import sha3
from eth_account.signers.local import LocalAccount
from eth_utils import collapse_if_tuple, function_abi_to_4byte_selector, to_checksum_address
from rlp.sedes import Binary, CountableList, List, big_endian_int, binary
from typing_extensions import Self
from web3 import Web3

from vscm.chain.revert import contract_name_for_abi, decode_revert, revert_from_exception
from vscm.chain.tx import GAS_MULTIPLIER, TxRequest, fee_fields
from vscm.errors import ChainError, InputError, TransactionFailed, VscmError
from vscm.wallet.agent import AgentAccount

if TYPE_CHECKING:
    from vscm.chain.backends import Chain

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "CallEncoder",
    "Mining",
    "Pipeline",
    "TxResult",
    "TxStatus",
    "json_receipt",
    "sign_transaction",
]

Mining = Literal["auto", "manual"]
#: ``signed`` (not yet acknowledged by the node), ``sent`` (in the node's pool), ``mined``
#: (status 1), ``reverted`` (status 0 or the gas estimate reverted), ``rejected`` (the node
#: refused it), ``failed`` (never mined: stranded behind a rejected nonce, or timed out).
TxStatus = Literal["signed", "sent", "mined", "reverted", "rejected", "failed"]

DEFAULT_BATCH_SIZE = 200
FILLER_GAS = 21_000
#: How many times ``wait`` hands the same signed transaction to a node that keeps dropping it from
#: its pool (see ``Pipeline._resend_dropped``) before reporting it as failed.
MAX_SENDS = 8
#: Seconds between two checks for dropped transactions while a node that mines by itself
#: (``mining="auto"``) has not mined them yet; in manual mode each check follows the mining.
DROP_CHECK_SECONDS = 1.0


@dataclass
class TxResult:
    """What became of one submitted transaction.

    Attributes:
        index: Submission order in this pipeline (0, 1, ...).
        label: The caller's label, else ``Contract.function``.
        sender: The signer's address.
        nonce: The nonce it was signed with (None if it never got one: its estimate reverted).
        tx_hash: ``0x`` hash of the signed transaction.
        status: See ``TxStatus``.
        receipt: The node's receipt (JSON-RPC form: hex quantities) once mined.
        error: Why it did not succeed: a ``ContractRevert`` with the decoded reason, or a
            ``ChainError`` with the node's words.
        sends: How many times its raw bytes were handed to the node (``resume`` adds one each
            time it resends a transaction the node lost).
    """

    index: int
    label: str
    sender: str
    nonce: int | None
    tx_hash: str | None
    status: TxStatus
    receipt: dict[str, Any] | None = None
    error: VscmError | None = None
    sends: int = 0
    raw: bytes = field(default=b"", repr=False)
    to: str | None = field(default=None, repr=False)
    data: bytes = field(default=b"", repr=False)
    value: int = field(default=0, repr=False)
    gas: int = field(default=0, repr=False)
    contract: str | None = field(default=None, repr=False)
    function: str | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.status == "mined"

    @property
    def gas_used(self) -> int | None:
        return None if self.receipt is None else int(self.receipt["gasUsed"], 16)

    @property
    def block_number(self) -> int | None:
        return None if self.receipt is None else int(self.receipt["blockNumber"], 16)

    def event_id(self, address: str, topic: bytes) -> int:
        """The first indexed argument (an id: ``orderId``, ``assetId``, ``loanId``) of the first
        event with ``topic`` that ``address`` emitted in this transaction.

        Raises:
            ChainError: the transaction was not mined or emitted no such event.
        """
        if self.receipt is None:
            raise ChainError(f"{self.label} (tx {self.tx_hash}) has no receipt: {self.status} ({self.error})")
        wanted = "0x" + topic.hex()
        for log in self.receipt["logs"]:
            if log["address"].lower() == address.lower() and log["topics"] and log["topics"][0] == wanted:
                return int(log["topics"][1], 16)
        raise ChainError(f"{self.label} (tx {self.tx_hash}) emitted no event 0x{topic.hex()[:8]}... from {address}")


class Pipeline:
    """Signs, batches, sends and confirms many transactions from many signers.

    Args:
        chain: The chain (``vscm.chain.backends.connect``); its nonce tracker and fee policy are used.
        batch_size: Transactions per JSON-RPC batch (one HTTP request).
        mining: ``"manual"``: anvil's automine is switched off for the pipeline's life and blocks are
            mined with ``evm_mine`` when receipts are collected; ``"auto"``: the node mines by
            itself. The embedded chain always mines each transaction as it is sent.
        receipt_timeout: Seconds ``wait`` waits for the last receipt before reporting the
            transactions still missing as failed.
        gas_multiplier: Head-room over estimated gas.
        journal: An append-only file of every signed transaction handed to the node (fsync'd
            before sending); ``resume`` resends from it whatever the node lost, mined or not.

    Submitting is thread-safe: any number of threads may ``submit`` for the same or different
    signers; each signer's nonces are taken, and its transactions queued, in one critical section.
    """

    def __init__(self, chain: Chain, *, batch_size: int = DEFAULT_BATCH_SIZE, mining: Mining = "auto",
                 receipt_timeout: float = 120.0, gas_multiplier: float = GAS_MULTIPLIER,
                 journal: str | Path | None = None) -> None:
        if batch_size < 1:
            raise InputError(f"batch_size must be at least 1, not {batch_size}")
        if mining not in ("auto", "manual"):
            raise InputError(f"mining must be 'auto' or 'manual', not {mining!r}")
        self.chain = chain
        self.batch_size = batch_size
        self.mining: Mining = mining
        self.receipt_timeout = receipt_timeout
        self.gas_multiplier = gas_multiplier
        #: Results of the round in progress (``wait`` hands them over and starts a new round).
        self.results: list[TxResult] = []
        #: Hashes of transactions ``resume`` handed to the node again (each at most once a resume).
        self.resent: list[str] = []
        #: Hashes of transactions the node dropped from its pool after acknowledging them, each
        #: appended when ``wait`` handed the same signed bytes over again (see ``_resend_dropped``).
        self.dropped: list[str] = []
        self._lock = threading.RLock()
        self._journal_lock = threading.Lock()
        self._unsent: list[TxResult] = []
        #: Full batches go to one sender thread as soon as they are signed, so the node takes a batch
        #: in while the next is signed; one thread keeps the batches (and each signer's nonces) in order.
        self._sender: ThreadPoolExecutor | None = None
        self._inflight: list[Future[None]] = []
        #: A batch the sender could not hand over (raised by the next ``flush``) and whether the
        #: batches after it are tracked for ``resume`` (a send failure) or dropped (a journal failure).
        self._send_error: tuple[ChainError, bool] | None = None
        self._open: list[TxResult] = []  # handed to the node, receipt not yet collected
        self._fees: dict[str, int] | None = None
        self._names: dict[str, str | None] = {}
        self._encoder = CallEncoder()
        self._ids = itertools.count()
        self._signers: dict[str, LocalAccount] = {}  # to fill a rejected nonce with the same key
        self.journal = Path(journal) if journal is not None else None
        if self.journal is not None:
            self.journal.parent.mkdir(parents=True, exist_ok=True)
        self._url: str | None = None
        if chain.kind != "embedded":
            self._url = str(getattr(chain.w3.provider, "endpoint_uri", "") or "")
            if not self._url.startswith(("http://", "https://")):
                raise InputError(f"the pipeline needs an HTTP node or the embedded chain, not {chain.name}")
            self._http = requests.Session()
            # What the environment says about this node's URL (proxies, CA bundle, .netrc), read once: requests
            # would read it again at every batch (the proxy variables looked up through all of os.environ, about
            # 0.1 ms of CPU a batch, as much as building a transaction).
            settings = self._http.merge_environment_settings(self._url, {}, None, None, None)
            self._http.proxies.update(settings["proxies"])
            self._http.verify = settings["verify"]
            self._http.auth = requests.utils.get_netrc_auth(self._url)
            self._http.trust_env = False
        if mining == "manual":
            if chain.kind == "embedded":
                raise InputError("manual mining is for anvil: the embedded chain mines every transaction")
            self._rpc("evm_setAutomine", [False])

    # -- submitting -------------------------------------------------------------------------

    def submit(
        self,
        account: LocalAccount,
        call: Any = None,
        *,
        to: str | None = None,
        data: bytes | str | None = None,
        value: int = 0,
        gas: int | None = None,
        label: str | None = None,
    ) -> TxResult:
        """Sign a transaction now and queue it for sending.

        Args:
            account: Signs and pays.
            call: A web3 ``ContractFunction`` with its arguments bound, or a facade's built write
                (:class:`vscm.chain.tx.TxRequest`: ``platform.orders.as_(buyer).build.place(...)``; the
                writes it needs around it, an ``approve``, are submitted before and after it, from the
                same signer, so nonce order keeps them in order); or None for raw ``to``/``data``.
            to: Recipient when ``call`` is None.
            data: Call data when ``call`` is None.
            value: Wei sent along.
            gas: Fixed gas limit; estimated against the current state (x ``gas_multiplier``) when
                omitted.
            label: How results name it; ``Contract.function`` by default.

        Returns:
            Its ``TxResult`` (status ``signed``, or ``reverted`` if its gas estimate reverted);
            updated in place as the pipeline sends and confirms it.
        """
        contract = function = None
        if isinstance(call, TxRequest):
            call.check_signer(account.address)
            if call.before and gas is None and call.gas is None:
                raise InputError(f"{call.label} depends on {len(call.before)} write(s) of the same round (an "
                                 "approve), so its gas cannot be estimated before them: give gas=")
            for first in call.before:
                self.submit(account, first, value=0, gas=None)
            main = self.submit(account, call.call, value=value, gas=call.gas if gas is None else gas,
                               label=label or call.label)
            for then in call.after:
                self.submit(account, then, value=0, gas=None)
            return main
        if call is not None:
            if to is not None or data is not None:
                raise InputError("give either a contract call or raw to/data, not both")
            return self.submit_call(account, call.contract_abi, str(call.address), call.fn_name, tuple(call.args),
                                    value=value, gas=gas, label=label)
        return self._submit(account, to, data, value, gas, label, contract, function)

    def submit_call(
        self,
        account: LocalAccount,
        abi: Sequence[dict[str, Any]],
        address: str,
        function: str,
        args: Sequence[Any],
        *,
        value: int = 0,
        gas: int | None = None,
        label: str | None = None,
    ) -> TxResult:
        """``submit`` for ``function(*args)`` of the contract with ``abi`` at ``address``, encoded
        straight from its ABI (no web3 ``ContractFunction`` built): the load generator's fast path."""
        data = self._encoder.encode(abi, address, function, args)
        contract = self._names.get(address)
        if address not in self._names:
            contract = self._names[address] = contract_name_for_abi(abi)
        return self._submit(account, address, data, value, gas, label, contract, function)

    def _submit(self, account: LocalAccount, to: str | None, data: bytes | str | None, value: int,
                gas: int | None, label: str | None, contract: str | None, function: str | None) -> TxResult:
        if to is None:
            raise InputError("a pipeline transaction needs a recipient: contract creation goes through Sender.deploy")
        payload = bytes.fromhex(data[2:]) if isinstance(data, str) else bytes(data or b"")
        result = TxResult(
            index=-1, label=label or (f"{contract}.{function}" if function else "transfer"),
            sender=account.address, nonce=None, tx_hash=None, status="signed",
            to=_checksummed(to), data=payload, value=value, contract=contract, function=function,
        )
        if gas is None:
            estimated = self._estimate(result)
            if estimated is None:  # the estimate reverted: reported, no nonce spent
                with self._lock:
                    result.index = next(self._ids)
                    self.results.append(result)
                return result
            gas = estimated
        result.gas = gas
        with self._lock, self.chain.nonces.lock:
            fees = self._fee_fields()
            result.nonce = self.chain.nonces.take(account.address)
            result.raw, tx_hash = sign_transaction(account, self.chain.chain_id, result.nonce, fees, gas,
                                                   str(result.to), value, payload)
            result.tx_hash = "0x" + tx_hash.hex()
            result.index = next(self._ids)
            self.results.append(result)
            self._unsent.append(result)
            self._signers.setdefault(account.address.lower(), account)
            if self._url is not None and len(self._unsent) >= self.batch_size:
                batch, self._unsent = self._unsent, []
                self._dispatch(batch)
        return result

    # -- sending and confirming -------------------------------------------------------------

    def flush(self) -> None:
        """Hand every signed, unsent transaction to the node (in batches) and wait until the node
        acknowledged every batch handed over so far; collect nothing.

        Raises:
            ChainError: a batch could not be handed over (the node did not answer: ``resume`` after
                the reconnect asks for each transaction by hash), or the journal could not be written
                (nothing of that batch, nor any later one, was sent).
        """
        with self._lock:
            batch, self._unsent = self._unsent, []
            self._fees = None  # the next round signs with the fees of the chain as it is then
            if self._url is not None:
                for start in range(0, len(batch), self.batch_size):
                    self._dispatch(batch[start:start + self.batch_size])
        if self._url is None:
            self._send_embedded(batch)
            return
        self._drain()
        with self._lock:
            failure, self._send_error = self._send_error, None
        if failure is not None:
            raise failure[0]

    def _dispatch(self, batch: list[TxResult]) -> None:
        """Queue ``batch`` for the sender thread (called under ``_lock``: batches leave in signing order)."""
        if self._sender is None:
            self._sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vscm-pipeline-send")
        self._inflight.append(self._sender.submit(self._send, batch))

    def _drain(self) -> None:
        """Wait for every batch handed to the sender thread."""
        with self._lock:
            inflight, self._inflight = self._inflight, []
        for future in inflight:
            future.result()

    def _send(self, chunk: list[TxResult]) -> None:
        """The sender thread: journal ``chunk`` (fsync'd), then send it as one JSON-RPC batch."""
        if self._send_error is not None:  # an earlier batch failed: nothing after it is sent
            if self._send_error[1]:
                with self._lock:
                    self._open.extend(chunk)
            return
        try:
            self._journal(chunk)
        except ChainError as exc:
            self._send_error = (exc, False)
            return
        try:
            answers = self._batch("eth_sendRawTransaction", [["0x" + r.raw.hex()] for r in chunk])
        except ChainError as exc:
            # The node may have taken some before it failed: they stay "signed" and `resume`
            # asks for each by hash after the reconnect.
            with self._lock:
                self._open.extend(chunk)
            self._send_error = (exc, True)
            return
        for result, answer in zip(chunk, answers):
            result.sends += 1
            self._acknowledge(result, answer)
        with self._lock:
            self._open.extend(chunk)

    def wait(self) -> list[TxResult]:
        """Send what is left, mine (manual mode) and collect every receipt.

        Returns:
            The results of every transaction submitted since the previous ``wait``, in submission
            order: each mined, reverted (with its reason), rejected or failed.
        """
        self.flush()
        with self._lock:
            pending = [r for r in self._open if r.status in ("sent", "signed")]
        if pending:
            self._collect(pending)
        with self._lock:
            self._open = [r for r in self._open if r.status in ("sent", "signed")]
            # The pipeline keeps only the round in progress: a long load does not pile up receipts.
            done, self.results = self.results, []
        return done

    def resume(self) -> list[TxResult]:
        """After the node restarted (or a batch failed mid-way): find out, by hash, which
        transactions the node no longer has, and resend their same signed bytes, per signer in
        nonce order. Without a journal the candidates are the transactions not yet known to be
        mined; with one, every journaled transaction (a killed node may have lost mined blocks).
        Manual mining is switched back off if the restart turned it on. The next ``wait`` collects
        the receipts of what was resent.

        Returns:
            The transactions resent, in the order they were resent (``tx_hash``, ``sender``,
            ``nonce``, ``label`` say which; ``sends`` counts this one).
        """
        if self._url is None:
            return []
        self._drain()
        if self.mining == "manual":
            self._rpc("evm_setAutomine", [False])
        with self._lock:
            candidates = [r for r in self._open if r.status in ("sent", "signed")]
        seen = {r.tx_hash for r in candidates}
        for entry in self._journaled():
            if entry.tx_hash not in seen:
                seen.add(entry.tx_hash)
                candidates.append(entry)
        known: list[Any] = []
        for start in range(0, len(candidates), self.batch_size):
            chunk = candidates[start:start + self.batch_size]
            known += self._batch("eth_getTransactionByHash", [[r.tx_hash] for r in chunk])
        lost = [r for r, answer in zip(candidates, known) if answer.get("result") is None]
        for result, answer in zip(candidates, known):
            if answer.get("result") is not None and result.status == "signed":
                result.status = "sent"
        # A signer's transactions execute in nonce order: a gap would strand every later one.
        lost.sort(key=lambda r: (r.sender.lower(), r.nonce or 0))
        with self._lock:
            open_hashes = {r.tx_hash for r in self._open}
            for result in lost:
                result.receipt, result.error = None, None
                if result.tx_hash not in open_hashes:
                    self._open.append(result)  # mined before and forgotten by the node: collect it again
        self._send_again(lost, self.resent)
        return lost

    @contextmanager
    def automining(self) -> Iterator[None]:
        """Manual mode: automine on for the duration (for one-at-a-time ``Sender`` calls such as a
        deployment, which wait for their receipt), off again after. A no-op in auto mode."""
        if self.mining != "manual":
            yield
            return
        self.flush()
        self._rpc("evm_setAutomine", [True])
        try:
            yield
        finally:
            self._rpc("evm_setAutomine", [False])

    def close(self) -> None:
        """Stop the sender thread (after the batches handed to it) and turn anvil's automine back on
        (manual mode)."""
        if self._sender is not None:
            self._sender.shutdown(wait=True)
            self._sender = None
        if self.mining == "manual" and self._url is not None:
            try:
                self._rpc("evm_setAutomine", [True])
            except ChainError:
                pass  # the node is gone: nothing to restore

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals: the journal -------------------------------------------------------------

    def _journal(self, results: Sequence[TxResult]) -> None:
        """Append ``results`` to the journal and fsync it, before they are handed to the node."""
        if self.journal is None or not results:
            return
        lines = "".join(json.dumps({"hash": r.tx_hash, "sender": r.sender, "nonce": r.nonce, "label": r.label,
                                    "raw": "0x" + r.raw.hex()}, separators=(",", ":")) + "\n" for r in results)
        with self._journal_lock:
            try:
                with open(self.journal, "a", encoding="utf-8") as out:
                    out.write(lines)
                    out.flush()
                    os.fsync(out.fileno())
            except OSError as exc:
                raise ChainError(f"cannot write the pipeline journal {self.journal}: {exc.strerror}; "
                                 "nothing of this batch was sent") from exc

    def _journaled(self) -> list[TxResult]:
        """Every transaction in the journal (a last line torn by a crash was never sent: skipped)."""
        if self.journal is None or not self.journal.exists():
            return []
        entries: list[TxResult] = []
        with open(self.journal, encoding="utf-8") as lines:
            for line in lines:
                try:
                    e = json.loads(line)
                    raw = bytes.fromhex(e["raw"][2:])
                except (ValueError, KeyError, TypeError):
                    continue
                entries.append(TxResult(index=-1, label=str(e["label"]), sender=str(e["sender"]),
                                        nonce=int(e["nonce"]), tx_hash=str(e["hash"]), status="sent", raw=raw))
        return entries

    # -- internals: signing -----------------------------------------------------------------

    def _fee_fields(self) -> dict[str, int]:
        if self._fees is None:
            self._fees = fee_fields(self.chain.w3, self.chain.fee_policy, self.chain.w3.eth.get_block("latest"))
        return self._fees

    def _estimate(self, result: TxResult) -> int | None:
        params: dict[str, Any] = {"from": result.sender, "to": result.to, "data": result.data}
        if result.value:
            params["value"] = result.value
        try:
            estimate = self.chain.w3.eth.estimate_gas(params)  # type: ignore[arg-type]
        except Exception as exc:
            revert = revert_from_exception(exc, contract=result.contract, function=result.function)
            if revert is None:
                raise
            result.status, result.error = "reverted", revert
            return None
        return math.ceil(int(estimate) * self.gas_multiplier)

    # -- internals: the embedded chain ------------------------------------------------------

    def _send_embedded(self, batch: Sequence[TxResult]) -> None:
        w3 = self.chain.w3
        for result in batch:
            result.sends += 1
            try:
                w3.eth.send_raw_transaction(result.raw)
            except Exception as exc:  # noqa: BLE001 - each refusal is this transaction's result
                revert = revert_from_exception(exc, contract=result.contract, function=result.function)
                self._reject(result, revert or ChainError(
                    f"the chain refused {result.label} from {result.sender} (nonce {result.nonce}): {exc}"))
                continue
            receipt = w3.eth.get_transaction_receipt(result.tx_hash)  # type: ignore[arg-type]
            result.receipt = json_receipt(receipt)
            result.status = "sent"
            self._settle(result)

    # -- internals: HTTP nodes --------------------------------------------------------------

    def _acknowledge(self, result: TxResult, answer: dict[str, Any]) -> None:
        error = answer.get("error")
        if error is None:
            result.status = "sent"
            return
        message = str(error.get("message", error)) if isinstance(error, dict) else str(error)
        if "already known" in message.lower():  # the node had it already (a resend): acknowledged
            result.status = "sent"
            return
        self._reject(result, ChainError(
            f"the node refused {result.label} from {result.sender} (nonce {result.nonce}): {message}"))

    def _reject(self, result: TxResult, error: VscmError) -> None:
        """``result`` was refused: report it and fill its nonce so the signer's later ones land."""
        result.status, result.error = "rejected", error
        if result.nonce is not None and result.raw:
            self._fill_gap(result)

    def _fill_gap(self, rejected: TxResult) -> None:
        """A zero-value transfer to itself at the rejected nonce, signed by the same key. If the
        node refuses that too, the signer's later transactions stay unmined and ``wait`` reports
        them as failed."""
        account = self._signers.get(rejected.sender.lower())
        if account is None:
            return
        assert rejected.nonce is not None
        raw, tx_hash = sign_transaction(account, self.chain.chain_id, rejected.nonce, self._fee_fields(), FILLER_GAS,
                                        account.address, 0, b"")
        filler = TxResult(index=-1, label="filler", sender=account.address, nonce=rejected.nonce,
                          tx_hash="0x" + tx_hash.hex(), status="signed", raw=raw, to=account.address, gas=FILLER_GAS)
        with self._lock:
            filler.index = next(self._ids)
            self.results.append(filler)
        if self._url is None:
            self._send_embedded([filler])
            return
        self._journal([filler])
        answer = self._batch("eth_sendRawTransaction", [["0x" + filler.raw.hex()]])[0]
        filler.sends = 1
        if answer.get("error") is None:
            filler.status = "sent"
            with self._lock:
                self._open.append(filler)
        else:
            filler.status, filler.error = "rejected", ChainError(f"the node refused the filler: {answer['error']}")

    def _collect(self, pending: list[TxResult]) -> None:
        if self._url is None:
            return
        deadline = time.monotonic() + self.receipt_timeout
        waiting = list(pending)
        checked = time.monotonic()
        while waiting:
            if self.mining == "manual" and not self._mine_until_empty():
                for result in waiting:
                    result.status = "failed"
                    result.error = ChainError(
                        f"{result.label} (tx {result.tx_hash}, nonce {result.nonce}) cannot be mined: blocks stay "
                        "empty while it waits (its fee cap is below the base fee, which rises 12.5 % a full block: "
                        "run load on a node with --base-fee 0 or in smaller rounds), or an earlier nonce is missing")
                return
            found: list[Any] = []
            for start in range(0, len(waiting), self.batch_size):
                chunk = waiting[start:start + self.batch_size]
                found += self._batch("eth_getTransactionReceipt", [[r.tx_hash] for r in chunk])
            still: list[TxResult] = []
            for result, answer in zip(waiting, found):
                receipt = answer.get("result")
                if receipt is None:
                    if result.status != "rejected":  # refused when handed over again: its error says why
                        still.append(result)
                    continue
                result.receipt = receipt
                self._settle(result)
            waiting = still
            if not waiting:
                return
            # In manual mode the pool holds nothing minable now: what is missing is queued behind a
            # missing nonce or was dropped by the node. A node mining by itself is asked now and then.
            if self.mining == "manual" or time.monotonic() - checked >= DROP_CHECK_SECONDS:
                checked = time.monotonic()
                if self._resend_dropped(waiting):
                    continue  # mine (manual) and look again at once
            if time.monotonic() > deadline:
                self._time_out(waiting)
                return
            time.sleep(0.05)

    def _known(self, results: Sequence[TxResult]) -> list[bool]:
        """Whether the node knows each transaction (in its pool or mined), by hash."""
        known: list[bool] = []
        for start in range(0, len(results), self.batch_size):
            chunk = results[start:start + self.batch_size]
            known += [answer.get("result") is not None
                      for answer in self._batch("eth_getTransactionByHash", [[r.tx_hash] for r in chunk])]
        return known

    def _resend_dropped(self, waiting: Sequence[TxResult]) -> int:
        """Hand over again, as the same signed bytes, the waiting transactions the node no longer
        knows although it acknowledged them; per signer in nonce order. Returns how many.

        anvil drops acknowledged transactions when it packs a block: it skips a signer's transaction
        whose gas limit no longer fits the block, then tries that signer's next one (a smaller gas
        limit that fits), which the EVM refuses (nonce too high); anvil removes it from its pool as
        invalid, with every later transaction of that signer. The earlier one is mined in the next
        block, after which the same signed bytes are valid again: the same nonce means none can
        execute twice. A transaction already sent ``MAX_SENDS`` times is left to time out.
        """
        candidates = [r for r in waiting if r.raw and r.sends < MAX_SENDS]
        if not candidates:
            return 0
        lost = [r for r, known in zip(candidates, self._known(candidates)) if not known]
        lost.sort(key=lambda r: (r.sender.lower(), r.nonce or 0))
        self._send_again(lost, self.dropped)
        return len(lost)

    def _send_again(self, results: Sequence[TxResult], record: list[str]) -> None:
        """Hand ``results`` to the node again as the same signed bytes, in batches, in the order given;
        each send is counted and its hash appended to ``record`` (``resent`` or ``dropped``)."""
        for start in range(0, len(results), self.batch_size):
            chunk = results[start:start + self.batch_size]
            answers = self._batch("eth_sendRawTransaction", [["0x" + r.raw.hex()] for r in chunk])
            for result, answer in zip(chunk, answers):
                result.sends += 1
                record.append(str(result.tx_hash))
                self._acknowledge(result, answer)

    def _time_out(self, waiting: Sequence[TxResult]) -> None:
        """Report the transactions still without a receipt at the deadline as failed, saying whether
        the node holds them (queued behind a missing nonce) or dropped them."""
        for result, known in zip(waiting, self._known(waiting)):
            result.status = "failed"
            where = (f"the node holds it, queued behind a missing earlier nonce of {result.sender}" if known else
                     f"the node dropped it from its pool (handed over {result.sends} time(s))")
            result.error = ChainError(
                f"{result.label} (tx {result.tx_hash}, nonce {result.nonce}) was not mined within "
                f"{self.receipt_timeout:g} s: {where}")

    def _mine_until_empty(self) -> bool:
        """``evm_mine`` until anvil's pool holds nothing minable (a block takes what fits its gas
        limit). Returns False if a block took nothing while transactions were pending."""
        pending = int(self._rpc("txpool_status", [])["pending"], 16)
        while pending:
            self._rpc("evm_mine", [])
            left = int(self._rpc("txpool_status", [])["pending"], 16)
            if left == pending:
                return False
            pending = left
        return True

    def _settle(self, result: TxResult) -> None:
        assert result.receipt is not None
        if int(result.receipt["status"], 16) == 1:
            result.status = "mined"
            return
        result.status = "reverted"
        result.error = self._why(result)

    def _why(self, result: TxResult) -> VscmError:
        """The revert of a mined, failed transaction."""
        assert result.receipt is not None
        if self.chain.kind == "anvil":
            traced = self._rpc_answer("debug_traceTransaction", [result.tx_hash, {"tracer": "callTracer"}])
            frame = traced.get("result")
            if isinstance(frame, dict) and "output" in frame:
                return decode_revert(frame["output"] or "0x", contract=result.contract, function=result.function)
        block = max(int(result.receipt["blockNumber"], 16) - 1, 0)
        params: dict[str, Any] = {"from": result.sender, "to": result.to, "data": result.data, "gas": result.gas}
        if result.value:
            params["value"] = result.value
        try:
            self.chain.w3.eth.call(params, block_identifier=block)  # type: ignore[arg-type]
        except Exception as exc:  # noqa: BLE001 - whatever the replay raised is the reason to report
            revert = revert_from_exception(exc, contract=result.contract, function=result.function)
            if revert is not None:
                return revert
            return TransactionFailed(f"{result.label} (tx {result.tx_hash}) failed: {exc}")
        if int(result.receipt["gasUsed"], 16) >= result.gas:
            return TransactionFailed(f"{result.label} (tx {result.tx_hash}) ran out of gas (limit {result.gas})")
        return TransactionFailed(f"{result.label} (tx {result.tx_hash}) failed; its replay did not")

    def _batch(self, method: str, params: Iterable[list[Any]]) -> list[dict[str, Any]]:
        body = [{"jsonrpc": "2.0", "id": i, "method": method, "params": p} for i, p in enumerate(params)]
        if not body:
            return []
        try:
            response = self._http.post(str(self._url), json=body, timeout=max(self.receipt_timeout, 30.0))
            answers = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise ChainError(f"{self.chain.name} did not answer a batch of {len(body)} {method}: {exc}") from exc
        if not isinstance(answers, list):
            raise ChainError(f"{self.chain.name} answered a batch of {method} with {str(answers)[:200]}")
        by_id = {answer.get("id"): answer for answer in answers}
        return [by_id.get(i, {"error": {"message": "no answer in the batch"}}) for i in range(len(body))]

    def _rpc_answer(self, method: str, params: list[Any]) -> dict[str, Any]:
        return self._batch(method, [params])[0]

    def _rpc(self, method: str, params: list[Any]) -> Any:
        answer = self._rpc_answer(method, params)
        if answer.get("error") is not None:
            raise ChainError(f"{method} failed on {self.chain.name}: {answer['error']}")
        return answer.get("result")


class CallEncoder:
    """Call data straight from an ABI: the 4-byte selector and the arguments encoded by
    faster-eth-abi (eth-abi's compiled fork, the same bytes about three times faster), with the
    selector and types cached per contract and function; the same bytes web3 builds.
    Overloaded functions are left to web3."""

    def __init__(self) -> None:
        self._functions: dict[tuple[str, str], tuple[bytes, list[str]] | None] = {}

    def encode(self, abi: Sequence[dict[str, Any]], address: str, function: str, args: Sequence[Any]) -> bytes:
        key = (address, function)
        if key not in self._functions:
            found = [e for e in abi if e.get("type") == "function" and e.get("name") == function]
            if not found:
                raise InputError(f"the contract at {address} has no function {function!r}")
            function_abi: Any = found[0]
            self._functions[key] = None if len(found) > 1 else (
                function_abi_to_4byte_selector(function_abi), [collapse_if_tuple(i) for i in function_abi["inputs"]])
        spec = self._functions[key]
        if spec is None:  # overloaded: web3 picks the overload from the arguments
            contract = Web3().eth.contract(abi=abi)
            return bytes.fromhex(contract.encode_abi(function, args=list(args))[2:])
        selector, types = spec
        if len(args) != len(types):
            raise InputError(f"{function} takes {len(types)} arguments ({', '.join(types)}), got {len(args)}")
        return selector + faster_eth_abi.encode(types, list(args))


_KEYS: dict[bytes, coincurve.PrivateKey] = {}
_ADDRESSES: dict[str, bytes] = {}
_ADDRESSES_MAX = 4096

#: The RLP schemas of the two transaction kinds the pipeline signs, for pyrlp (``rlp.encode`` with
#: these sedes: each field checked and serialised by the library, encoded by its backend).
_ADDRESS = Binary.fixed_length(20)
_ACCESS_LIST = CountableList(List([_ADDRESS, CountableList(Binary.fixed_length(32))]))
#: EIP-1559: [chainId, nonce, maxPriorityFeePerGas, maxFeePerGas, gas, to, value, data, accessList]
_DYNAMIC_FEE_FIELDS = [big_endian_int] * 5 + [_ADDRESS, big_endian_int, binary, _ACCESS_LIST]
_DYNAMIC_FEE_UNSIGNED = List(_DYNAMIC_FEE_FIELDS)
_DYNAMIC_FEE_SIGNED = List(_DYNAMIC_FEE_FIELDS + [big_endian_int] * 3)  # ... yParity, r, s
#: EIP-155: [nonce, gasPrice, gas, to, value, data, v, r, s]; the signing payload has chainId, 0, 0 there.
_LEGACY = List([big_endian_int] * 3 + [_ADDRESS, big_endian_int, binary] + [big_endian_int] * 3)


def sign_transaction(account: LocalAccount, chain_id: int, nonce: int, fees: dict[str, int], gas: int, to: str,
                     value: int, data: bytes) -> tuple[bytes, bytes]:
    """Sign with coincurve (libsecp256k1) directly: an EIP-1559 transaction when ``fees`` has
    ``maxFeePerGas``, else a legacy EIP-155 one with ``gasPrice``. The same bytes eth-account's
    ``sign_transaction`` gives (deterministic RFC 6979 signatures), without its validation layers.

    The RLP is pyrlp's (``rlp.encode`` with the transaction's sedes; its compiled rusty-rlp backend
    where installed) and keccak is safe-pysha3's C implementation.

    A wallet unlocked in the member's agent (:class:`vscm.wallet.agent.AgentAccount`, which never hands its key
    out) has the agent sign the same fields instead.

    Returns:
        The raw signed transaction and its hash.
    """
    if isinstance(account, AgentAccount):
        signed = account.sign_transaction({"chainId": chain_id, "nonce": nonce, "gas": gas, "to": to, "value": value,
                                           "data": data, **fees})
        return signed.raw_transaction, signed.hash
    key = _KEYS.get(bytes(account.key))
    if key is None:
        key = _KEYS[bytes(account.key)] = coincurve.PrivateKey(bytes(account.key))
    recipient = _ADDRESSES.get(to)
    if recipient is None:
        if len(_ADDRESSES) >= _ADDRESSES_MAX:
            _ADDRESSES.clear()
        recipient = _ADDRESSES[to] = bytes.fromhex(to[2:])
    if "maxFeePerGas" in fees:
        # 0x02 || rlp([chainId, nonce, maxPriorityFeePerGas, maxFeePerGas, gas, to, value, data, accessList])
        fields: list[Any] = [chain_id, nonce, fees["maxPriorityFeePerGas"], fees["maxFeePerGas"], gas, recipient,
                             value, data, []]
        signature = key.sign_recoverable(_keccak(b"\x02" + rlp.encode(fields, sedes=_DYNAMIC_FEE_UNSIGNED)),
                                         hasher=None)
        raw = b"\x02" + rlp.encode(fields + [signature[64], int.from_bytes(signature[:32], "big"),
                                             int.from_bytes(signature[32:64], "big")], sedes=_DYNAMIC_FEE_SIGNED)
    else:
        # EIP-155: the signing hash covers rlp([nonce, gasPrice, gas, to, value, data, chainId, 0, 0])
        fields = [nonce, fees["gasPrice"], gas, recipient, value, data]
        signature = key.sign_recoverable(_keccak(rlp.encode(fields + [chain_id, 0, 0], sedes=_LEGACY)), hasher=None)
        raw = rlp.encode(fields + [signature[64] + 35 + 2 * chain_id, int.from_bytes(signature[:32], "big"),
                                   int.from_bytes(signature[32:64], "big")], sedes=_LEGACY)
    return raw, _keccak(raw)


_CHECKSUMMED: dict[str, str] = {}


def _checksummed(address: str) -> str:
    """``to_checksum_address``, remembered: a load sends to a few contracts thousands of times."""
    found = _CHECKSUMMED.get(address)
    if found is None:
        if len(_CHECKSUMMED) >= _ADDRESSES_MAX:
            _CHECKSUMMED.clear()
        found = _CHECKSUMMED[address] = to_checksum_address(address)
    return found


def _keccak(data: bytes) -> bytes:
    return bytes(sha3.keccak_256(data).digest())


def json_receipt(receipt: Any) -> dict[str, Any]:
    """A web3 receipt in the JSON-RPC form the HTTP path returns (hex quantities, hex strings)."""
    def hexed(value: Any) -> str:
        return "0x" + bytes(value).hex()

    return {
        "transactionHash": hexed(receipt["transactionHash"]),
        "status": hex(int(receipt["status"])),
        "gasUsed": hex(int(receipt["gasUsed"])),
        "blockNumber": hex(int(receipt["blockNumber"])),
        "logs": [{"address": str(log["address"]), "topics": [hexed(t) for t in log["topics"]],
                  "data": hexed(log["data"])} for log in receipt["logs"]],
    }

