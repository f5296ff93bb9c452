"""One way to reach a chain: ``connect(target)`` -> ``Chain``.

Three backends:

* ``connect("embedded")``: eth-tester on py-evm (Cancun) in this process. No node, instant
  snapshots; the default for tests and the demo.
* ``connect("anvil")``: a local anvil node started for this session and stopped by ``close()``;
  ``connect(AnvilNode.attach(state_dir))`` uses a node kept by ``vscm node start``.
* ``connect("http://host:port", expected_chain_id=..., poa=..., gas_price=...)``: any JSON-RPC
  node (Besu, geth, a remote anvil), its chain id checked. Several comma-separated URLs of one
  network (``vscm network up`` prints them) fail over: a node that does not answer is skipped
  (``vscm.chain.failover``), and a send waiting for its receipt stops with ``ChainStalled`` when no
  block comes for ``stall_timeout`` seconds (a BFT network short of its quorum).

Dev chains (embedded, anvil) have a ``faucet`` account that ``fund`` pays from, and support
``snapshot``/``revert``, ``time_travel`` and ``mine``.
"""

from __future__ import annotations

import time
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from web3 import Web3
from web3.contract import Contract
from web3.middleware import ExtraDataToPOAMiddleware
from web3.types import TxReceipt

from vscm.chain import artifacts as artifact_store
from vscm.chain.anvil import FAUCET_KEY, AnvilNode
from vscm.chain.artifacts import Artifact
from vscm.chain.light import unreachable
from vscm.chain.tx import ChainStalled, FeePolicy, NonceTracker, Sender
from vscm.errors import ChainError, InputError, NodeUnreachable, is_transport_error

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = [
    "EMBEDDED_CHAIN_ID",
    "AnvilChain",
    "Chain",
    "ChainKind",
    "EmbeddedChain",
    "connect",
]

#: eth-tester's fixed chain id.
EMBEDDED_CHAIN_ID = 131277322940537

ChainKind = Literal["embedded", "anvil", "rpc"]


class Chain:
    """A connection to one chain: web3, its id, how it prices gas, and dev helpers.

    Attributes:
        w3: The ``Web3`` instance.
        chain_id: The chain id, read once at connection.
        name: Where it is (``"embedded"``, a URL).
        kind: ``"embedded"``, ``"anvil"`` or ``"rpc"``.
        fee_policy: ``"dev"``, ``"zero"`` or ``"node"`` (see ``vscm.chain.tx.FeePolicy``).
        faucet: A pre-funded account on dev chains, else None.
        nonces: The per-address nonce counter every ``Sender`` of this chain shares.
        sender: A ``Sender`` for this chain.
    """

    kind: ChainKind = "rpc"

    #: Seconds without a new block after which a send waiting for its receipt gives up (None: never).
    stall_timeout: float | None = None

    #: Blocks a send waits for on top of its transaction's block before it returns: 0 (``instant``) on a BFT
    #: network, where a committed block is final; k (``confirmations=k``) on a chain that may reorganise.
    confirmations: int = 0

    def __init__(self, w3: Web3, *, chain_id: int, name: str, fee_policy: FeePolicy,
                 faucet: LocalAccount | None = None) -> None:
        self.w3 = w3
        self.chain_id = chain_id
        self.name = name
        self.fee_policy: FeePolicy = fee_policy
        self.faucet = faucet
        self.nonces = NonceTracker(w3)
        self.sender = Sender(self)
        self.closed = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, chain_id={self.chain_id})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @property
    def is_dev(self) -> bool:
        """Whether this is a throw-away dev chain with a faucet (embedded, anvil)."""
        return self.faucet is not None

    def close(self) -> None:
        """Release the connection (and stop a node started for it). Idempotent."""
        self.closed = True

    def contract(self, artifact: Artifact | str, address: str) -> Contract:
        """A web3 contract bound to ``address`` with the ABI of ``artifact`` (or its name)."""
        art = artifact_store.load(artifact) if isinstance(artifact, str) else artifact
        return self.w3.eth.contract(address=to_checksum_address(address), abi=art.abi)

    def balance(self, address: str) -> int:
        return int(self.w3.eth.get_balance(to_checksum_address(address)))

    def block_number(self) -> int:
        return int(self.w3.eth.block_number)

    def timestamp(self) -> int:
        """Timestamp of the latest block (the chain's "now"), in seconds."""
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def now(self) -> int:
        """The timestamp the next block will carry (near enough on a live node): use it, not the
        wall clock, for deadlines a transaction is checked against."""
        try:
            return max(int(self.w3.eth.get_block("pending")["timestamp"]), self.timestamp() + 1)
        except Exception:  # noqa: BLE001 - a node without a pending block: the latest block and the wall clock
            return max(self.timestamp() + 1, int(time.time()))

    def fund(self, address: str, wei: int) -> TxReceipt:
        """Send ``wei`` from the faucet to ``address`` so a fresh key can pay for gas.

        Raises:
            ChainError: this chain has no faucet (not a dev chain).
        """
        if self.faucet is None:
            raise ChainError(f"{self.name} has no faucet: fund {address} from an account that holds ether")
        return self.sender.send_value(self.faucet, address, wei)

    def snapshot(self) -> Any:
        """Mark the current state; ``revert(mark)`` goes back to it."""
        return self._dev_rpc("evm_snapshot", [])

    def revert(self, snapshot: Any) -> None:
        """Go back to the state of ``snapshot``. On anvil a snapshot can be reverted to once."""
        if self._dev_rpc("evm_revert", [snapshot]) is False:
            raise ChainError(f"{self.name} has no snapshot {snapshot!r}: take a new one")
        self.nonces.forget()

    def time_travel(self, seconds: int) -> int:
        """Move the chain clock ``seconds`` forward and mine a block stamped with it.

        Returns:
            The timestamp of that block (at least the previous one plus ``seconds``).
        """
        _check_seconds(seconds)
        self._dev_rpc("evm_increaseTime", [int(seconds)])
        self._dev_rpc("evm_mine", [])
        return self.timestamp()

    def mine(self, blocks: int = 1) -> None:
        """Mine ``blocks`` empty blocks."""
        for _ in range(blocks):
            self._dev_rpc("evm_mine", [])

    def let_time_pass(self, seconds: int, *, poll: float = 0.25) -> int:
        """Let ``seconds`` of chain time pass after the latest block: on a dev chain (a faucet: embedded,
        anvil) its clock is moved (``time_travel``); on a network, whose clock is real time (a BFT
        network cannot move it), wait until a block stamped at least that late is committed.

        Returns:
            That block's timestamp.

        Raises:
            ChainStalled: no block came for the chain's ``stall_timeout`` while waiting (the network is
                short of its quorum).
        """
        _check_seconds(seconds)
        if self.is_dev:
            return self.time_travel(seconds)
        target = self.timestamp() + int(seconds)
        head, moved = -1, time.monotonic()
        while True:
            block = self.w3.eth.get_block("latest")
            if int(block["timestamp"]) >= target:
                return int(block["timestamp"])
            now = time.monotonic()
            if int(block["number"]) != head:
                head, moved = int(block["number"]), now
            elif self.stall_timeout is not None and now - moved > self.stall_timeout:
                raise ChainStalled(f"{self.name}: no new block for {self.stall_timeout:g} s (head {head}) while "
                                   f"waiting for chain time {target}: a BFT network commits blocks only while 2f+1 "
                                   "of its 3f+1 validators run (`vscm network status`)")
            time.sleep(poll)

    def _dev_rpc(self, method: str, params: list[Any]) -> Any:
        response = self.w3.provider.make_request(method, params)  # type: ignore[arg-type]
        error = response.get("error")
        if error:
            message = error.get("message", error) if isinstance(error, dict) else error
            raise ChainError(f"{method} is not available on {self.name} ({message}): it needs a dev chain")
        return response.get("result")


class EmbeddedChain(Chain):
    """eth-tester + py-evm (Cancun) in this process."""

    kind: ChainKind = "embedded"

    def __init__(self) -> None:
        from eth.vm.forks import CancunVM
        from eth_tester import EthereumTester
        from web3.providers.eth_tester import EthereumTesterProvider

        self.backend = _revert_preserving_backend()(vm_configuration=((0, _ticking(CancunVM)),))
        # On the class too: eth-tester rebuilds the chain object when reverting to genesis.
        evm_chain = self.backend.chain
        type(evm_chain).gas_estimator = staticmethod(one_run_gas_estimate)
        evm_chain.gas_estimator = one_run_gas_estimate
        self.tester = EthereumTester(self.backend)
        w3 = Web3(EthereumTesterProvider(self.tester))
        faucet = Account.from_key(self.backend.account_keys[0].to_bytes())
        # A view called without a sender gets one from web3's eth-tester middleware, which asks the chain for its
        # accounts three times per call (about a third of a view's CPU here): name once the account it would pick
        # (the first, the faucet), so that views and estimates keep that sender without those round trips.
        w3.eth.default_account = faucet.address
        super().__init__(w3, chain_id=int(w3.eth.chain_id), name="embedded", fee_policy="dev", faucet=faucet)

    def now(self) -> int:
        """The next block's timestamp: one second after the latest (see `_tick_one_second_per_block`)."""
        return self.timestamp() + 1

    def snapshot(self) -> int:
        snapshot_id: int = self.tester.take_snapshot()
        return snapshot_id

    def revert(self, snapshot: Any) -> None:
        from eth_tester.exceptions import SnapshotNotFound

        try:
            self.tester.revert_to_snapshot(snapshot)
        except SnapshotNotFound as exc:
            raise ChainError(f"embedded chain has no snapshot {snapshot!r}") from exc
        self.nonces.forget()

    def time_travel(self, seconds: int) -> int:
        _check_seconds(seconds)
        if seconds == 0:
            self.mine()
            return self.timestamp()
        # eth-tester stamps the block it mines one second before the target it is given.
        self.tester.time_travel(self.timestamp() + int(seconds) + 1)
        return self.timestamp()

    def mine(self, blocks: int = 1) -> None:
        self.tester.mine_blocks(blocks)


#: web3 checks every ``eth_call`` and gas estimate against the node's chain id, asking the node each
#: time: three HTTP requests a read instead of one. A node's chain id does not change under it.
CHAIN_ID_CACHED: dict[str, Any] = {"cache_allowed_requests": True, "cacheable_requests": {"eth_chainId"}}


class AnvilChain(Chain):
    """An anvil node over HTTP; stops the node on ``close()`` when it was started for this chain."""

    kind: ChainKind = "anvil"

    def __init__(self, node: AnvilNode, *, owns_node: bool, timeout: float = 30.0) -> None:
        self.node = node
        self.owns_node = owns_node
        self._ticking = False
        w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": timeout}, **CHAIN_ID_CACHED))
        super().__init__(w3, chain_id=node.chain_id, name=f"anvil {node.url}", fee_policy="dev",
                         faucet=Account.from_key(FAUCET_KEY))

    def close(self) -> None:
        if not self.closed and self.owns_node:
            self.node.stop()
        super().close()

    def tick_one_second_per_block(self) -> None:
        """Stamp each new block one second after the last, whatever the wall clock says, as the embedded
        chain does: a scenario's interest and deadlines then do not depend on how fast it runs.
        ``time_travel`` still moves the clock (to exactly the last block's time plus the seconds)."""
        self._dev_rpc("anvil_setBlockTimestampInterval", [1])
        self._ticking = True

    def time_travel(self, seconds: int) -> int:
        if not self._ticking:
            return super().time_travel(seconds)
        _check_seconds(seconds)  # anvil ignores evm_increaseTime while it ticks: name the next block's time
        if seconds == 0:
            self.mine()
            return self.timestamp()
        self._dev_rpc("evm_setNextBlockTimestamp", [self.timestamp() + int(seconds)])
        self._dev_rpc("evm_mine", [])
        return self.timestamp()


def connect(
    target: str | AnvilNode = "embedded",
    *,
    expected_chain_id: int | None = None,
    poa: bool = False,
    gas_price: Literal["zero", "node", "auto"] = "node",
    state_file: str | Path | None = None,
    port: int | None = None,
    chain_id: int | None = None,
    timeout: float = 30.0,
    stall_timeout: float = 30.0,
    finality: str = "instant",
) -> Chain:
    """Connect to a chain.

    Args:
        target: ``"embedded"``; ``"anvil"`` (a node started now, stopped by ``close()``); an
            ``AnvilNode`` (for example ``AnvilNode.attach(state_dir)``); an ``http(s)://`` URL, or
            several comma-separated URLs of one network's nodes (failover).
        expected_chain_id: Refuse a node whose chain id differs (URL and AnvilNode targets).
        poa: Accept proof-of-authority blocks (long extra-data: Besu QBFT/IBFT, Clique).
        gas_price: URL targets: ``"zero"`` for free-gas networks (legacy gasPrice 0), ``"node"``
            for the fees the node suggests, ``"auto"`` to read the mode from the chain (``"zero"`` when the
            node's ``eth_gasPrice`` is 0, as on a Kaia service chain or Besu with ``--min-gas-price=0``,
            else ``"node"``: EIP-1559 fees when blocks carry a base fee, a legacy price otherwise).
        state_file: ``"anvil"``: load the chain from this file and write it back on close.
        port: ``"anvil"``: port to listen on (a free one by default).
        chain_id: ``"anvil"``: chain id of the new node (31337 by default).
        timeout: Seconds to wait for a node to start or answer a request.
        stall_timeout: URL targets: seconds without a new block after which a send stops waiting
            for its receipt (``ChainStalled``) instead of waiting out its receipt timeout.
        finality: ``"instant"`` (a mined transaction is final: BFT networks, dev chains) or
            ``"confirmations=k"`` (a send returns once k blocks follow its transaction's block).

    Returns:
        The connected ``Chain``; use it as a context manager or call ``close()``.

    Raises:
        ChainError: the node cannot be started or reached, or its chain id is not the expected one.
        InputError: the target is unknown or an option does not apply to it.
    """
    if isinstance(target, AnvilNode):
        _only(target="an AnvilNode", state_file=state_file, port=port, chain_id=chain_id)
        chain: Chain = AnvilChain(target, owns_node=target.owned, timeout=timeout)
    elif target == "embedded":
        _only(target="embedded", state_file=state_file, port=port, chain_id=chain_id)
        chain = EmbeddedChain()
    elif target == "anvil":
        node = AnvilNode.start(port=port, chain_id=chain_id, state_file=state_file, timeout=timeout)
        chain = AnvilChain(node, owns_node=True, timeout=timeout)
    elif target.startswith(("http://", "https://")):
        _only(target="a URL", state_file=state_file, port=port, chain_id=chain_id)
        chain = _connect_rpc(target, poa=poa, gas_price=gas_price, timeout=timeout)
        chain.stall_timeout = stall_timeout
    else:
        raise InputError(f"unknown chain {target!r}: use 'embedded', 'anvil' or an http(s):// URL")
    try:
        chain.confirmations = parse_finality(finality)
    except InputError:
        chain.close()
        raise
    if expected_chain_id is not None and chain.chain_id != expected_chain_id:
        chain.close()
        raise ChainError(
            f"{chain.name} has chain id {chain.chain_id}, expected {expected_chain_id}: "
            "check the URL or the configured chain id"
        )
    return chain


def parse_finality(finality: str) -> int:
    """The blocks a send waits for after its own: ``"instant"`` is 0, ``"confirmations=k"`` is k."""
    if finality == "instant":
        return 0
    name, _, count = finality.partition("=")
    if name == "confirmations" and count.isdigit():
        return int(count)
    raise InputError(f"bad finality {finality!r}: use 'instant' or 'confirmations=K' (K a whole number)")


def _connect_rpc(url: str, *, poa: bool, gas_price: Literal["zero", "node", "auto"], timeout: float) -> Chain:
    if gas_price not in ("zero", "node", "auto"):
        raise InputError(f"gas_price must be 'zero', 'node' or 'auto', not {gas_price!r}")
    urls = [part.strip() for part in url.split(",") if part.strip()]
    bad = [part for part in urls if not part.startswith(("http://", "https://"))]
    if bad:
        raise InputError(f"bad RPC URL {bad[0]!r} in {url!r}: every one must be http(s)://")
    if len(urls) > 1:
        from vscm.chain.failover import FailoverProvider

        w3 = Web3(FailoverProvider(urls, timeout=timeout))
    else:
        w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": timeout}, **CHAIN_ID_CACHED))
    if poa:
        w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    try:
        found = int(w3.eth.chain_id)
    except Exception as exc:
        if isinstance(exc, NodeUnreachable) or is_transport_error(exc):
            raise unreachable(url, exc, timeout) from exc
        raise ChainError(f"{url} did not answer eth_chainId as a JSON-RPC node: {exc}") from exc
    policy: FeePolicy = ("zero" if int(w3.eth.gas_price) == 0 else "node") if gas_price == "auto" else gas_price
    return Chain(w3, chain_id=found, name=url, fee_policy=policy)


def _ticking(vm_class: Any) -> Any:
    """``vm_class`` with a deterministic clock: each new block (and the pending block that gas
    estimates and calls run in) is stamped one second after its parent, not with the wall clock;
    ``time_travel`` still moves it on. The same scenario then gives the same timestamps, and so the
    same interest to the unit, however fast the machine runs it."""
    stock = vm_class.create_header_from_parent

    def create_header_from_parent(parent_header: Any, **header_params: Any) -> Any:
        if parent_header is not None:
            header_params.setdefault("timestamp", parent_header.timestamp + 1)
        return stock(parent_header, **header_params)

    return type(f"Ticking{vm_class.__name__}", (vm_class,),
                {"create_header_from_parent": staticmethod(create_header_from_parent)})


def one_run_gas_estimate(state: Any, transaction: Any) -> int:
    """py-evm gas estimation by one run instead of its binary search (about 15 runs).

    The transaction runs once with the block's gas limit: a failure raises the VM's own error, as the
    stock estimator does (so a revert is still reported before sending); a success returns the gas
    it used before refunds plus a quarter and 20,000 (head-room for the 63/64 rule of nested calls
    and for refunds), and the Sender adds its own 20 %. The limit only caps a transaction: it pays
    for what it uses, so the figures `make bench` reports are unaffected. An underestimate would
    surface as a loud ``TransactionFailed("ran out of gas")``, never silently.
    """
    from eth.vm.spoof import SpoofTransaction

    spoof = SpoofTransaction(transaction, gas=state.gas_limit, gas_price=0)
    snapshot = state.snapshot()
    try:
        computation = state.apply_transaction(spoof)
        if computation.is_error:
            raise computation.error
        used = computation.get_gas_used() + transaction.intrinsic_gas
    finally:
        state.revert(snapshot)
    return int(min(state.gas_limit, used * 5 // 4 + 20_000))


def _revert_preserving_backend() -> Any:
    """eth-tester's py-evm backend, except that a failed ``eth_call`` raises with the VM's own
    exception (``Revert(raw bytes)``, ``OutOfGas``...) instead of a string.

    Stock eth-tester decodes ``Error(string)`` and turns every other failure into ``str(error)``,
    so an out-of-gas message could not be told from a revert message. Its gas estimation already
    keeps the VM exception. This repeats the stock ``call`` (eth-tester 0.13, pinned) with that
    one change; the string parsing in ``vscm.chain.revert`` stays as the fallback.
    """
    from eth_tester import PyEVMBackend
    from eth_tester.backends.pyevm import main as pyevm_main
    from eth_tester.exceptions import TransactionFailed

    class RevertPreservingBackend(PyEVMBackend):  # type: ignore[misc]
        def call(self, transaction: dict[str, Any], block_number: Any = "latest") -> Any:
            defaulted = dict(transaction)
            if "gas" not in defaulted:
                defaulted["gas"] = self._max_available_gas()
            unsigned = self._get_normalized_and_unsigned_evm_transaction(defaulted, block_number)
            spoofed = pyevm_main.EVMSpoofTransaction(unsigned, from_=transaction["from"])
            computation = pyevm_main._execute_and_revert_transaction(self.chain, spoofed, block_number)
            if computation.is_error:
                raise TransactionFailed(computation.error)
            return computation.output

    needed = ("_max_available_gas", "_get_normalized_and_unsigned_evm_transaction")
    if all(hasattr(PyEVMBackend, name) for name in needed) and hasattr(
        pyevm_main, "_execute_and_revert_transaction"
    ):
        return RevertPreservingBackend
    return PyEVMBackend  # another eth-tester: fall back to parsing its messages


def _only(*, target: str, **options: Any) -> None:
    given = [name for name, value in options.items() if value is not None]
    if given:
        raise InputError(f"{', '.join(given)} only apply to connect('anvil'), not to {target}")


def _check_seconds(seconds: int) -> None:
    if seconds < 0:
        raise InputError(f"cannot travel back in time ({seconds} s)")
