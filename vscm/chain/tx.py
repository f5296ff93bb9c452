"""Send transactions the fast way: signed locally with explicit nonce, gas and fees.

``contract.functions.f().transact()`` asks the node for the nonce, the gas, the fees and the
chain id, then signs on the node. ``Sender`` instead keeps a nonce counter per address, estimates
the gas once (x1.2), computes the fees from the chain's fee policy, signs with the caller's key,
sends the raw transaction and waits for the receipt. Any revert, before sending (gas estimation)
or after mining (status 0, replayed as ``eth_call`` to recover the reason), comes out as
``ContractRevert(name, args)``.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar

from eth_typing import ChecksumAddress
from eth_utils import to_checksum_address

from vscm.chain import artifacts as artifact_store
from vscm.chain.artifacts import Artifact
from vscm.chain.revert import contract_name_for_abi, revert_from_exception
from vscm.errors import ChainError, InputError, TransactionFailed, is_transport_error

if TYPE_CHECKING:  # web3 is imported where it is used: the CLI's light path imports this module without it
    from eth_account.signers.local import LocalAccount
    from web3 import Web3
    from web3.types import BlockData, TxParams, TxReceipt

__all__ = [
    "GAS_MULTIPLIER",
    "PRIORITY_FEE_WEI",
    "ChainStalled",
    "ContractCall",
    "FeePolicy",
    "NonceTracker",
    "Sender",
    "SendingChain",
    "TransactionRejected",
    "TxRequest",
    "fee_fields",
]

R = TypeVar("R")

#: How each chain prices gas: ``"dev"`` EIP-1559 with maxFee = 2 x base fee + 1 gwei tip
#: (embedded, anvil); ``"zero"`` legacy gasPrice 0 (free-gas permissioned networks such as
#: Besu); ``"node"`` what the node suggests (EIP-1559 when blocks carry a base fee, else legacy).
FeePolicy = Literal["dev", "zero", "node"]

GAS_MULTIPLIER = 1.2
PRIORITY_FEE_WEI = 10**9  # 1 gwei


class SendingChain(Protocol):
    """What a ``Sender`` needs of its chain (``vscm.chain.backends.Chain`` provides it): this module does not
    import the backends, which import it (issue 15's import cycle)."""

    w3: Web3
    chain_id: int
    name: str
    fee_policy: FeePolicy
    nonces: NonceTracker
    confirmations: int
    stall_timeout: float | None


@dataclass(frozen=True)
class ContractCall:
    """A contract function with its arguments, not yet web3's ``ContractFunction``: what a facade's builder puts in
    a :class:`TxRequest`. Making web3's costs 0.1-0.2 ms of CPU a call (it matches the arguments against every
    overload of the ABI), as much as a pipeline spends on the rest of the transaction: the pipeline encodes this
    one straight from the ABI (``vscm.chain.pipeline.CallEncoder``), and :meth:`bound` makes web3's where one is
    needed (``Sender``, a read). Its attributes are the ones the pipeline reads of web3's."""

    contract: Any
    fn_name: str
    args: tuple[Any, ...]

    @property
    def contract_abi(self) -> Any:
        return self.contract.abi

    @property
    def address(self) -> str:
        return str(self.contract.address)

    def bound(self) -> Any:
        """The contract's own bound function (web3's ``ContractFunction``, or the CLI's light one)."""
        return getattr(self.contract.functions, self.fn_name)(*self.args)

    def call(self, *args: Any, **kwargs: Any) -> Any:
        """Read it through ``eth_call`` (as web3's ``ContractFunction.call``)."""
        return self.bound().call(*args, **kwargs)


@dataclass(frozen=True)
class TxRequest(Generic[R]):
    """A write built and not sent: what a facade's builder gives (``platform.orders.as_(buyer).build.place(...)``)
    and what ``Pipeline.submit`` and ``Sender.transact`` take in place of a web3 call, so that a batched
    integration never spells an ABI tuple by hand.

    Attributes:
        call: The function with its arguments (a :class:`ContractCall`, or web3's ``ContractFunction``).
        gas: A fixed gas limit the write needs (a refusal sent on purpose), else None: estimated, or the
            submitter's.
        label: How pipeline results name it (``OrderBook.place``).
        signer: Who must sign it (the facade's ``as_`` account; None: anyone), checked when it is submitted.
        before: Writes the same signer must send first, in the same round (a payment's ``approve``).
        after: Writes the same signer sends after it (the allowance put back to what it was).
        decode: Turns the mined transaction's receipt (web3's form or the JSON-RPC form) into the write's
            typed result (a ``vscm.client.facade.WriteResult``).
    """

    call: Any
    decode: Callable[[Any], R]
    gas: int | None = None
    label: str | None = None
    signer: str | None = None
    before: tuple[TxRequest[Any], ...] = ()
    after: tuple[TxRequest[Any], ...] = ()

    def check_signer(self, address: str) -> None:
        """Refuse to sign this write with ``address`` when it was built for another signer.

        Raises:
            InputError: naming both.
        """
        if self.signer is not None and self.signer.lower() != address.lower():
            raise InputError(f"{self.label or self.call.fn_name} was built for signer {self.signer}, not {address}: "
                             "submit it with the account given to as_()")

    def result(self, sent: Any) -> R:
        """The typed result of this write from what became of it: a pipeline ``TxResult`` (mined: its
        receipt; otherwise its error is raised) or a receipt.

        Raises:
            ContractRevert, ChainError: the pipeline's error of a write that was not mined.
        """
        if hasattr(sent, "ok"):  # a pipeline TxResult
            if not sent.ok:
                raise sent.error or ChainError(f"{sent.label} (tx {sent.tx_hash}) was not mined: {sent.status}")
            return self.decode(sent.receipt)
        return self.decode(sent)


class TransactionRejected(ChainError):
    """The node refused a transaction before mining it (nonce, balance, fee, size).

    ``unfunded`` is true when the sender cannot pay for the gas (or the value): the caller can then say
    how to fund the account (the CLI names `vscm node fund WALLET`).
    """

    def __init__(self, message: str, *, unfunded: bool = False) -> None:
        super().__init__(message)
        self.unfunded = unfunded


class ChainStalled(ChainError):
    """No new block came for the chain's ``stall_timeout`` while a transaction waited to be mined."""


class NonceTracker:
    """Next nonce per address, read from the node once and then counted locally.

    Shared by every ``Sender`` of a chain. ``forget`` drops what is known (after a failed send,
    or after the chain was reverted to a snapshot) so the next use reads the node again.
    """

    def __init__(self, w3: Web3) -> None:
        self._w3 = w3
        self._next: dict[str, int] = {}
        self.lock = threading.RLock()

    def take(self, address: str) -> int:
        """The nonce to use now for ``address``; the next call returns one more."""
        with self.lock:
            key = address.lower()
            if key not in self._next:
                self._next[key] = self._w3.eth.get_transaction_count(to_checksum_address(address), "pending")
            nonce = self._next[key]
            self._next[key] = nonce + 1
            return nonce

    def forget(self, address: str | None = None) -> None:
        with self.lock:
            if address is None:
                self._next.clear()
            else:
                self._next.pop(address.lower(), None)


class Sender:
    """Builds, signs, sends and confirms transactions on one chain.

    Args:
        chain: The chain to send on; its nonce tracker and fee policy are used.
        gas_multiplier: Head-room over the estimated gas.
        receipt_timeout: Seconds to wait for a transaction to be mined.
    """

    def __init__(self, chain: SendingChain, *, gas_multiplier: float = GAS_MULTIPLIER,
                 receipt_timeout: float = 120.0) -> None:
        self.chain = chain
        self.w3 = chain.w3
        self.gas_multiplier = gas_multiplier
        self.receipt_timeout = receipt_timeout
        #: called with each sent transaction's hash; the context it returns is held while the receipt is
        #: awaited (the CLI shows a spinner on a terminal). None: nothing is shown.
        self.on_wait: Callable[[bytes], AbstractContextManager[Any]] | None = None

    def transact(
        self,
        account: LocalAccount,
        call: Any = None,
        *,
        to: str | None = None,
        data: bytes | str | None = None,
        value: int = 0,
        gas: int | None = None,
    ) -> TxReceipt:
        """Send a contract call (``contract.functions.f(args)``) or raw ``to``/``data``/``value``.

        Args:
            account: Signs the transaction and pays for it.
            call: A web3 ``ContractFunction`` with its arguments bound, or a facade's built write
                (:class:`TxRequest`, without writes around it); or None for raw data.
            to: Recipient when ``call`` is None (None with ``data`` deploys).
            data: Call data when ``call`` is None.
            value: Wei sent along.
            gas: Fixed gas limit; estimated (x1.2) when omitted.

        Returns:
            The receipt of the mined, successful transaction.

        Raises:
            ContractRevert: the call reverts (at estimation, or when mined).
            TransactionFailed: mined with status 0 for no recoverable reason (out of gas).
            TransactionRejected: the node refused the transaction (balance, nonce, fees).
        """
        if call is not None and (to is not None or data is not None):
            raise InputError("give either a contract call or raw to/data, not both")
        if isinstance(call, TxRequest):
            if call.before or call.after:
                raise InputError(f"{call.label} needs {len(call.before) + len(call.after)} more write(s) around it "
                                 "(an approve): send it through the facade or a Pipeline")
            call.check_signer(account.address)
            gas = call.gas if gas is None else gas
            call = call.call
        if call is not None:
            to, data = _encode_call(call, account.address, self.chain.chain_id)
            where = (contract_name_for_abi(call.contract_abi), call.fn_name)
        else:
            where = (None, None)
        request: dict[str, Any] = {"from": account.address, "value": value, "data": data or b""}
        if to is not None:
            request["to"] = to_checksum_address(to)
        return self._send(account, request, gas, where)

    def deploy(
        self,
        account: LocalAccount,
        artifact: Artifact | str,
        *ctor_args: Any,
        value: int = 0,
        gas: int | None = None,
    ) -> ChecksumAddress:
        """Deploy a compiled contract and return its address.

        Args:
            account: Deployer; signs and pays.
            artifact: An ``Artifact`` or the contract name (``"OrderBook"``).
            ctor_args: Constructor arguments.
            value: Wei sent to a payable constructor.
            gas: Fixed gas limit; estimated when omitted.

        Raises:
            ContractRevert: the constructor reverts.
        """
        art = artifact_store.load(artifact) if isinstance(artifact, str) else artifact
        factory = self.w3.eth.contract(abi=art.abi, bytecode=art.bytecode)
        offline = _offline_fields(account.address, self.chain.chain_id, value)
        built = factory.constructor(*ctor_args).build_transaction(offline)
        request: dict[str, Any] = {"from": account.address, "value": value, "data": built["data"]}
        receipt = self._send(account, request, gas, (art.name, "constructor"))
        address = receipt["contractAddress"]
        if address is None:  # pragma: no cover - a successful creation always has an address
            raise TransactionFailed(f"deploying {art.name} left no contract address")
        return to_checksum_address(address)

    def call(self, call: Any, *, block: Any = "latest", sender: str | None = None) -> Any:
        """Read through ``eth_call``: the function's decoded return value.

        Raises:
            ContractRevert: the call reverts.
        """
        params: dict[str, Any] = {"from": to_checksum_address(sender)} if sender else {}
        try:
            return call.call(params, block_identifier=block)
        except Exception as exc:
            revert = revert_from_exception(
                exc, contract=contract_name_for_abi(call.contract_abi), function=call.fn_name
            )
            if revert is None:
                raise
            raise revert from exc

    def build(self, call: Any, sender: str) -> dict[str, Any]:
        """The unsigned transaction of a contract call from ``sender``, ready for its own wallet to sign:
        gas estimated (a revert is raised here, by name), fees by the chain's policy, the sender's next
        nonce as the node counts it. The server that builds it never holds the key.

        Raises:
            ContractRevert: the call would revert.
        """
        to, data = _encode_call(call, sender, self.chain.chain_id)
        where = (contract_name_for_abi(call.contract_abi), call.fn_name)
        request = {"from": to_checksum_address(sender), "to": to, "data": data, "value": 0}
        latest = self.w3.eth.get_block("latest")
        gas = self._estimate(request, latest, where)
        nonce = int(self.w3.eth.get_transaction_count(request["from"], "pending"))
        return {**request, "chainId": self.chain.chain_id, "gas": gas, "nonce": nonce,
                **fee_fields(self.w3, self.chain.fee_policy, latest)}

    def send_signed(self, raw: bytes, request: dict[str, Any], where: tuple[str | None, str | None] = (None, None),
                    ) -> TxReceipt:
        """Send a transaction its sender signed elsewhere (``request``: its from/to/data, to explain a
        failure) and wait for its receipt.

        Raises:
            TransactionRejected: the node refused it; ContractRevert or TransactionFailed: mined and failed.
        """
        try:
            tx_hash = self.w3.eth.send_raw_transaction(raw)
        except Exception as exc:
            if is_transport_error(exc):
                raise
            raise TransactionRejected(f"the node refused the transaction from {request.get('from')}: "
                                      f"{_reason(exc)}{_hint(exc)}", unfunded=_unfunded(exc)) from exc
        receipt = self._wait_for_receipt(tx_hash)
        if receipt["status"] != 1:
            raise self._failure(request, int(request.get("gas", 0)), receipt, where)
        return receipt

    def send_value(self, account: LocalAccount, to: str, wei: int) -> TxReceipt:
        """Transfer ``wei`` to ``to``."""
        return self.transact(account, to=to, value=wei)

    # -- internals --------------------------------------------------------------------------

    def _send(self, account: LocalAccount, request: dict[str, Any], gas: int | None,
              where: tuple[str | None, str | None]) -> TxReceipt:
        latest = self.w3.eth.get_block("latest")
        if gas is None:
            gas = self._estimate(request, latest, where)
        tx: dict[str, Any] = {
            key: value for key, value in request.items() if key != "from"
        } | {"chainId": self.chain.chain_id, "gas": gas} | fee_fields(self.w3, self.chain.fee_policy, latest)
        nonces = self.chain.nonces
        with nonces.lock:
            tx["nonce"] = nonces.take(account.address)
            signed = account.sign_transaction(tx)
            try:
                tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
            except Exception as exc:
                nonces.forget(account.address)
                if is_transport_error(exc):
                    raise
                raise TransactionRejected(
                    f"the node refused the transaction from {account.address} (nonce {tx['nonce']}): "
                    f"{_reason(exc)}{_hint(exc)}", unfunded=_unfunded(exc)
                ) from exc
        with self.on_wait(bytes(tx_hash)) if self.on_wait is not None else nullcontext():
            receipt = self._wait_for_receipt(bytes(tx_hash))
        if receipt["status"] != 1:
            raise self._failure(request, gas, receipt, where)
        return receipt

    def _wait_for_receipt(self, tx_hash: bytes) -> TxReceipt:
        """Poll for the receipt, then for the chain's ``confirmations`` blocks on top of it; give up after
        ``receipt_timeout``, or at once when the chain's head has not moved for its ``stall_timeout`` (no
        block can include the transaction then)."""
        deadline = time.monotonic() + self.receipt_timeout
        stall = self.chain.stall_timeout
        head, moved = -1, time.monotonic()
        final_at: int | None = None
        receipt: TxReceipt | None = None
        from web3.exceptions import TransactionNotFound

        while True:
            if receipt is None:
                try:
                    receipt = self.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
                except TransactionNotFound:
                    pass
                else:
                    final_at = int(receipt["blockNumber"]) + self.chain.confirmations
            if receipt is not None and (self.chain.confirmations == 0 or final_at is None
                                        or int(self.w3.eth.block_number) >= final_at):
                return receipt
            now = time.monotonic()
            if now > deadline:
                raise ChainError(f"transaction 0x{tx_hash.hex()} was not "
                                 + ("mined" if receipt is None else f"{self.chain.confirmations} blocks deep")
                                 + f" within {self.receipt_timeout:g} s")
            if stall is not None:
                number = int(self.w3.eth.block_number)
                if number != head:
                    head, moved = number, now
                elif now - moved > stall:
                    raise ChainStalled(
                        f"{self.chain.name}: no new block for {stall:g} s (head {head}), so transaction "
                        f"0x{tx_hash.hex()} waits unmined: a BFT network commits blocks only while 2f+1 of its "
                        "3f+1 validators run (`vscm network status`)")
            time.sleep(0.05)

    def _estimate(self, request: dict[str, Any], latest: BlockData,
                  where: tuple[str | None, str | None]) -> int:
        from eth_utils.exceptions import ValidationError
        from web3.exceptions import Web3RPCError

        try:
            estimate = self.w3.eth.estimate_gas(_call_params(request))
        except Exception as exc:
            revert = revert_from_exception(exc, contract=where[0], function=where[1])
            if revert is not None:
                raise revert from exc
            if isinstance(exc, (Web3RPCError, ValidationError)):
                raise TransactionRejected(
                    f"the node refused to estimate gas for {request['from']}: {_reason(exc)}{_hint(exc)}",
                    unfunded=_unfunded(exc)) from exc
            raise
        return min(math.ceil(estimate * self.gas_multiplier), int(latest["gasLimit"]))

    def _failure(self, request: dict[str, Any], gas: int, receipt: TxReceipt,
                 where: tuple[str | None, str | None]) -> ChainError:
        """Why a mined transaction failed: replayed as ``eth_call`` on the state before its block."""
        tx_hash = "0x" + bytes(receipt["transactionHash"]).hex()
        replay = _call_params(request) | {"gas": gas}
        problem = "its replay did not fail"
        try:
            self.w3.eth.call(replay, block_identifier=max(int(receipt["blockNumber"]) - 1, 0))
        except Exception as exc:  # noqa: BLE001 - whatever the replay raised is the reason to report
            revert = revert_from_exception(exc, contract=where[0], function=where[1])
            if revert is not None:
                revert.tx_hash = tx_hash
                return revert
            problem = _reason(exc)
        if int(receipt["gasUsed"]) >= gas:
            return TransactionFailed(
                f"transaction {tx_hash} ran out of gas (limit {gas}): give a higher gas limit"
            )
        return TransactionFailed(f"transaction {tx_hash} failed: {problem}")


def fee_fields(w3: Web3, policy: FeePolicy, latest: BlockData) -> dict[str, int]:
    """The fee fields of a transaction under ``policy``, given the latest block."""
    if policy == "zero":
        return {"gasPrice": 0}
    base_fee = latest.get("baseFeePerGas")
    if policy == "dev":
        return {
            "maxFeePerGas": 2 * int(base_fee or 0) + PRIORITY_FEE_WEI,
            "maxPriorityFeePerGas": PRIORITY_FEE_WEI,
        }
    if base_fee is None:
        return {"gasPrice": int(w3.eth.gas_price)}
    try:
        tip = int(w3.eth.max_priority_fee)
    except Exception:  # noqa: BLE001 - nodes without eth_maxPriorityFeePerGas answer in many ways
        tip = PRIORITY_FEE_WEI
    return {"maxFeePerGas": 2 * int(base_fee) + tip, "maxPriorityFeePerGas": tip}


def _offline_fields(address: str, chain_id: int, value: int) -> TxParams:
    """Every field web3 would otherwise ask the node for: makes ``build_transaction`` an encoder."""
    from web3.types import Wei

    return {
        "from": to_checksum_address(address),
        "value": Wei(value),
        "gas": 0,
        "gasPrice": Wei(0),
        "chainId": chain_id,
    }


def _encode_call(call: Any, address: str, chain_id: int) -> tuple[str, Any]:
    if isinstance(call, ContractCall):
        call = call.bound()
    built = call.build_transaction(_offline_fields(address, chain_id, 0))
    return built["to"], built["data"]


def _call_params(request: dict[str, Any]) -> TxParams:
    params: TxParams = {"from": request["from"], "data": request["data"]}
    if request.get("to") is not None:
        params["to"] = request["to"]
    if request.get("value"):
        params["value"] = request["value"]
    return params


def _reason(exc: BaseException) -> str:
    """The node's own words: the JSON-RPC error message when there is one."""
    response = getattr(exc, "rpc_response", None)
    error = response.get("error") if isinstance(response, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    message = getattr(exc, "message", None) or (exc.args[0] if exc.args else None) or type(exc).__name__
    return str(message)


def _unfunded(exc: BaseException) -> bool:
    """Whether the node refused because the sender cannot pay (anvil, geth, Besu and Kaia word it so)."""
    text = _reason(exc).lower()
    return "insufficient funds" in text or "afford" in text or "balance" in text


def _hint(exc: BaseException) -> str:
    text = _reason(exc).lower()
    if _unfunded(exc):
        return " (fund the account: dev chains have `chain.fund(address, wei)`)"
    if "nonce" in text:
        return " (another program sent from the same account; retry, the nonce is re-read)"
    return ""
