"""A local permissioned BFT network: N Kaia validators (Istanbul BFT) on loopback ports.

``vscm network up`` runs real engine processes, not a simulation: Kaia's ``kscn`` (a service-chain
consensus node) built by ``make install`` from the pinned versions in ``engines/kaia/go.mod``, with a
genesis, validator keys and static peers made by Kaia's ``homi``. Every fork is active from block 0
(Istanbul … Cancun and Kaia: PUSH0, MCOPY, TLOAD/TSTORE), the unit price and the base fee bounds are
zero (free gas: connect with ``gas_price="zero"``), and blocks are final when committed (BFT: a block
needs 2f + 1 of 3f + 1 validators, so 4 validators go on with 3 and stop with 2).

    net = Network.up(home / "networks" / "local", validators=4)   # waits until blocks are final
    net.urls                                                      # one RPC URL per validator
    net.kill(2); net.start(2); net.down()

State lives in the network's directory (``$VSCM_HOME/networks/<name>/`` for the CLI): ``network.json``
(chain id, ports, pids), ``homi/`` (genesis and keys) and one ``nodeN/`` data directory and log per
validator. A network started by ``owned=True`` (the tests) is tied to this process: its nodes get
SIGTERM from the kernel when it dies (``setpriv --pdeathsig``); the CLI's networks are detached and
outlive the command, like ``vscm node``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from vscm.chain.anvil import free_port, port_free
from vscm.devservices import last_line, log_tail
from vscm.errors import ChainError

__all__ = [
    "DEFAULT_CHAIN_ID",
    "ENGINE_BIN_ENV",
    "Network",
    "NetworkError",
    "NodeStatus",
    "engine_binary",
]

HOST = "127.0.0.1"
ENGINE_BIN_ENV = "VSCM_ENGINE_BIN"
DEFAULT_CHAIN_ID = 2026
STATE_FILE = "network.json"
RPC_APIS = "klay,eth,net,web3,istanbul,governance,txpool,kaia"
_REPO_ENGINES = Path(__file__).resolve().parent.parent / ".engines" / "bin"


class NetworkError(ChainError):
    """The local BFT network could not be created, started, reached or changed."""


def engine_binary(name: str) -> Path:
    """The Kaia binary ``name`` (``kscn``, ``homi``): in ``$VSCM_ENGINE_BIN``, the repository's
    ``.engines/bin`` (``make install``), or on ``$PATH``.

    Raises:
        NetworkError: it is not built, with the command that builds it.
    """
    places = [Path(os.environ[ENGINE_BIN_ENV])] if os.environ.get(ENGINE_BIN_ENV) else []
    places.append(_REPO_ENGINES)
    for place in places:
        if (place / name).is_file() and os.access(place / name, os.X_OK):
            return place / name
    found = shutil.which(name)
    if found is not None:
        return Path(found)
    raise NetworkError(f"the engine binary {name} is not built: run `make install` (it builds Kaia's kscn and "
                       f"homi into {_REPO_ENGINES}), or set {ENGINE_BIN_ENV} to the directory holding them")


@dataclass
class _Node:
    index: int
    address: str
    nodekey: str
    p2p_port: int
    rpc_port: int
    pid: int | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.rpc_port}"


@dataclass(frozen=True)
class NodeStatus:
    """What one validator says now: running or not, and its head as it sees it."""

    index: int
    address: str
    url: str
    pid: int | None
    running: bool
    peers: int | None
    head: int | None
    head_hash: str | None
    stale: str | None = None
    """Why the node is stale (its head lags the best head by more than ``DEFAULT_MAX_LAG`` blocks), or None."""


class Network:
    """A local network of Kaia validators kept in ``directory`` (see the module docstring)."""

    def __init__(self, directory: Path, chain_id: int, nodes: list[_Node], owned: bool) -> None:
        self.directory = directory
        self.chain_id = chain_id
        self.nodes = nodes
        self.owned = owned
        self._processes: dict[int, subprocess.Popen[bytes]] = {}

    # -- lifecycle --------------------------------------------------------------------------------

    @classmethod
    def up(cls, directory: str | Path, *, validators: int = 4, chain_id: int = DEFAULT_CHAIN_ID,
           owned: bool = False, timeout: float = 180.0) -> Network:
        """Create the network in ``directory`` (or reuse the one there), start every validator that is
        not running and wait until each has a committed block agreed by all.

        Raises:
            NetworkError: the binaries are missing, a port is taken, or blocks are not final in time.
        """
        directory = Path(directory).resolve()
        if (directory / STATE_FILE).is_file():
            net = cls.load(directory)
            net.owned = owned
        else:
            if validators < 1:
                raise NetworkError(f"a network needs at least one validator, not {validators}")
            net = cls._create(directory, validators, chain_id, owned)
        try:
            for node in net.nodes:
                if not net._running(node):
                    net._launch(node)
            net._save()
            net.wait_final(timeout=timeout)
        except BaseException:
            if owned:
                net.down()
            raise
        return net

    @classmethod
    def load(cls, directory: str | Path) -> Network:
        """The network kept in ``directory`` (running or not).

        Raises:
            NetworkError: there is none.
        """
        directory = Path(directory).resolve()
        try:
            state = json.loads((directory / STATE_FILE).read_text())
        except (OSError, ValueError) as exc:
            raise NetworkError(f"no network in {directory}: run `vscm network up` first") from exc
        nodes = [_Node(**node) for node in state["nodes"]]
        return cls(directory, int(state["chain_id"]), nodes, owned=False)

    @property
    def urls(self) -> list[str]:
        """One JSON-RPC URL per validator, in validator order."""
        return [node.url for node in self.nodes]

    def node(self, index: int) -> _Node:
        """Validator ``index`` (1-based, as in ``vscm network kill N``)."""
        if not 1 <= index <= len(self.nodes):
            raise NetworkError(f"there is no validator {index}: this network has validators 1 to {len(self.nodes)}")
        return self.nodes[index - 1]

    def kill(self, index: int) -> None:
        """Kill validator ``index`` at once (SIGKILL: a crash, for fault drills); its data stays."""
        node = self.node(index)
        if node.pid is not None and self._running(node):
            os.kill(node.pid, signal.SIGKILL)
            self._reap(node, 10.0)
        node.pid = None
        self._save()

    def start(self, index: int, timeout: float = 60.0) -> None:
        """Start validator ``index`` again on its ports, with its data; returns once its RPC answers."""
        node = self.node(index)
        if not self._running(node):
            self._launch(node, timeout=timeout)
            self._save()

    def down(self, timeout: float = 30.0) -> None:
        """Stop every validator (SIGTERM, then SIGKILL after ``timeout``); the data stays for the next ``up``."""
        for node in self.nodes:
            if node.pid is not None and self._running(node):
                os.kill(node.pid, signal.SIGTERM)
        for node in self.nodes:
            if node.pid is not None:
                if not self._reap(node, timeout):
                    os.kill(node.pid, signal.SIGKILL)
                    self._reap(node, 5.0)
                node.pid = None
        self._save()

    # -- what the nodes say -----------------------------------------------------------------------

    def status(self) -> list[NodeStatus]:
        """Every validator's state: running, peers, head number and hash."""
        out = []
        for node in self.nodes:
            running = self._running(node)
            peers = head = None
            head_hash = None
            if running:
                try:
                    peers = int(_rpc(node.url, "net_peerCount", []), 16)
                    block = _rpc(node.url, "eth_getBlockByNumber", ["latest", False])
                    head, head_hash = int(block["number"], 16), str(block["hash"])
                except NetworkError:
                    pass
            out.append(NodeStatus(node.index, node.address, node.url, node.pid if running else None, running,
                                  peers, head, head_hash))
        from vscm.chain.failover import HeadSeen, stale_nodes  # web3 loads only when a command needs it

        # One snapshot shows lag only (an idle head needs two looks in time: the client's FailoverProvider).
        stale = stale_nodes({s.index: HeadSeen(s.head, 0.0) for s in out if s.head is not None}, now=0.0)
        return [replace(s, stale=stale.get(s.index)) for s in out]

    def heads(self) -> dict[int, int]:
        """The head number of every validator that answers, by index."""
        return {s.index: s.head for s in self.status() if s.head is not None}

    def wait_final(self, *, above: int = 0, timeout: float = 180.0) -> int:
        """Wait until every running validator has committed the same block at a height above ``above``.

        Returns:
            That height.

        Raises:
            NetworkError: it did not happen within ``timeout`` seconds (the message names each node's head).
        """
        deadline = time.monotonic() + timeout
        while True:
            running = [node for node in self.nodes if self._running(node)]
            try:
                heads = [int(_rpc(node.url, "eth_blockNumber", []), 16) for node in running]
                if running and min(heads) > above:
                    height = min(heads)
                    hashes = {_rpc(node.url, "eth_getBlockByNumber", [hex(height), False])["hash"] for node in running}
                    if len(hashes) == 1:
                        return height
            except NetworkError:
                pass
            if time.monotonic() > deadline:
                raise NetworkError(f"blocks are not final on every running validator after {timeout:.0f} s: "
                                   + self._describe())
            time.sleep(0.25)

    def wait_stalled(self, *, seconds: float, timeout: float = 120.0) -> int:
        """Wait until no running validator's head moves for ``seconds`` and return that head.

        Raises:
            NetworkError: heads kept moving for ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        last: dict[int, int] = {}
        since = time.monotonic()
        while time.monotonic() < deadline:
            heads = self.heads()
            if heads != last:
                last, since = heads, time.monotonic()
            elif heads and time.monotonic() - since >= seconds:
                return max(heads.values())
            time.sleep(0.25)
        raise NetworkError(f"blocks kept coming for {timeout:.0f} s: " + self._describe())

    def quorum(self) -> int:
        """Validators that must run for blocks to be committed: 2f + 1 of n = 3f + 1 (Istanbul BFT)."""
        n = len(self.nodes)
        return n - (n - 1) // 3

    def log(self, index: int) -> str:
        """The last lines of validator ``index``'s log."""
        return log_tail(self.directory / f"node{index}" / "node.log")

    # -- internals --------------------------------------------------------------------------------

    @classmethod
    def _create(cls, directory: Path, validators: int, chain_id: int, owned: bool) -> Network:
        kscn, homi = engine_binary("kscn"), engine_binary("homi")
        directory.mkdir(parents=True, exist_ok=True)
        out = directory / "homi"
        shutil.rmtree(out, ignore_errors=True)
        # Every hard fork at block 0 (homi's defaults), no unit price, zero KIP-71 base fee bounds.
        made = subprocess.run(
            [str(homi), "setup", "--cn-num", str(validators), "--chainID", str(chain_id), "--unitPrice", "0",
             "--governance", "--output", str(out), "local"],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
        genesis = out / "scripts" / "genesis.json"
        if made.returncode != 0 or not genesis.is_file():
            raise NetworkError(f"homi could not make the genesis (exit {made.returncode}): "
                               f"{last_line(made.stderr or made.stdout)}")
        nodes = []
        for index in range(1, validators + 1):
            info = json.loads((out / "keys" / f"validator{index}").read_text())
            nodes.append(_Node(index=index, address=str(info["Address"]), nodekey=str(info["Nodekey"]),
                               p2p_port=0, rpc_port=0))
        _pick_ports(nodes)
        ids = [line.split("@", 1)[0] for line in json.loads((out / "scripts" / "static-nodes.json").read_text())]
        peers = [f"{kni}@{HOST}:{node.p2p_port}?discport=0&ntype=cn" for kni, node in zip(ids, nodes, strict=True)]
        for node in nodes:
            data = directory / f"node{node.index}"
            shutil.rmtree(data, ignore_errors=True)
            init = subprocess.run([str(kscn), "--datadir", str(data), "init", str(genesis)],
                                  stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
            if init.returncode != 0:
                raise NetworkError(f"kscn init of validator {node.index} failed (exit {init.returncode}): "
                                   f"{last_line(init.stderr or init.stdout)}")
            (data / "klay" / "static-nodes.json").write_text(json.dumps(peers, indent=1))
        net = cls(directory, chain_id, nodes, owned)
        net._save()
        return net

    def _launch(self, node: _Node, timeout: float = 60.0) -> None:
        kscn = engine_binary("kscn")
        data = self.directory / f"node{node.index}"
        if not port_free(node.rpc_port) or not port_free(node.p2p_port):
            raise NetworkError(f"validator {node.index}'s port {node.rpc_port} or {node.p2p_port} on {HOST} is "
                               "taken by another program: stop it, or remove the network and run `vscm network up` "
                               "again")
        command = [
            str(kscn), "--datadir", str(data), "--networkid", str(self.chain_id),
            "--port", str(node.p2p_port), "--nodiscover", "--nat", "none", "--netrestrict", "127.0.0.0/8",
            "--nodekeyhex", node.nodekey, "--rewardbase", node.address,
            "--rpc", "--rpcaddr", HOST, "--rpcport", str(node.rpc_port), "--rpcapi", RPC_APIS,
            "--rpcvhosts", "*", "--srvtype", "http", "--verbosity", "3", "--ntp.disable",
            # Every block's state on disk at once (archive): a validator killed with SIGKILL restarts
            # from its last block, and any past height can be read (the audit's views at a height).
            "--gcmode", "archive", "--state.block-interval", "1",
            # Small caches: four validators share one machine (the default trie cache scales with memory).
            "--state.trie-cache-limit", "64", "--db.leveldb.cache-size", "32",
        ]
        prefix: list[str] = []
        setpriv = shutil.which("setpriv")
        if self.owned and setpriv is not None:  # SIGTERM when the owning thread dies
            prefix = [setpriv, "--pdeathsig", "TERM", "--"]
        with open(data / "node.log", "ab") as log:
            process = subprocess.Popen(prefix + command, stdin=subprocess.DEVNULL, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=not self.owned)
        self._processes[node.index] = process
        node.pid = process.pid
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                node.pid = None
                raise NetworkError(f"validator {node.index} exited at start (code {process.returncode}): "
                                   f"{last_line(self.log(node.index))}")
            try:
                _rpc(node.url, "eth_chainId", [], timeout=1.0)
                return
            except NetworkError:
                if time.monotonic() > deadline:
                    raise NetworkError(f"validator {node.index} did not answer at {node.url} within {timeout:.0f} s: "
                                       f"{last_line(self.log(node.index))}") from None
                time.sleep(0.2)

    def _running(self, node: _Node) -> bool:
        if node.pid is None:
            return False
        process = self._processes.get(node.index)
        if process is not None and process.pid == node.pid:
            return process.poll() is None
        return _is_kscn(node.pid)

    def _reap(self, node: _Node, timeout: float) -> bool:
        """Wait until validator ``node``'s process is gone; whether it went within ``timeout``."""
        process = self._processes.get(node.index)
        if process is not None and process.pid == node.pid:
            try:
                process.wait(timeout)
                return True
            except subprocess.TimeoutExpired:
                return False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._running(node):
                return True
            time.sleep(0.1)
        return False

    def profile(self) -> dict[str, Any]:
        """How a client connects to this network (what ``--network NAME`` uses): URLs, blocks, fees, finality."""
        return {"urls": self.urls, "chain_id": self.chain_id, "poa": True, "gas_price": "auto",
                "finality": "instant"}

    def _save(self) -> None:
        state = {"chain_id": self.chain_id, "nodes": [asdict(node) for node in self.nodes],
                 "profile": self.profile()}
        tmp = self.directory / (STATE_FILE + ".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(self.directory / STATE_FILE)

    def _describe(self) -> str:
        return "; ".join(f"validator {s.index} " + (f"at block {s.head}, {s.peers} peers" if s.running and s.head
                                                      is not None else "running, no answer" if s.running else "down")
                         for s in self.status())


def _pick_ports(nodes: Sequence[_Node]) -> None:
    """Two distinct free loopback ports per validator (P2P, RPC)."""
    taken: set[int] = set()
    for node in nodes:
        for field in ("p2p_port", "rpc_port"):
            port = free_port()
            while port in taken:
                port = free_port()
            taken.add(port)
            setattr(node, field, port)


def _is_kscn(pid: int) -> bool:
    """Whether ``pid`` is a live kscn process (a recorded pid may have been reused)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    if stat.rsplit(")", 1)[-1].split()[0] == "Z":
        return False
    return any(Path(part.decode(errors="replace")).name == "kscn" for part in cmdline[:4])


def _rpc(url: str, method: str, params: list[Any], timeout: float = 5.0) -> Any:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer = json.loads(response.read())
    except (OSError, ValueError) as exc:
        raise NetworkError(f"{url} did not answer {method}: {exc}") from exc
    if answer.get("error"):
        raise NetworkError(f"{url} refused {method}: {answer['error']}")
    return answer.get("result")
