"""Run anvil (from ``node_modules``) as a local dev chain: for one session, or as a kept node.

Two ways to run it:

* ``AnvilNode.start()`` starts a node owned by this process (``connect("anvil")`` does this); it
  is stopped by ``stop()``.
* ``AnvilNode.start_detached(state_dir)`` starts a node that outlives this process, for
  ``vscm node start``. The node is described by ``state_dir/node.json`` (pid, port, chain id) so
  that later processes ``AnvilNode.attach(state_dir)`` to it, and ``stop(state_dir)`` ends it.
  Its chain state lives in ``state_dir/state.json`` (anvil's ``--state``): anvil writes it when
  it stops, and every ``STATE_INTERVAL`` seconds while it runs (``--state-interval``), and loads it
  when it starts, so deployed contracts survive a stop and start, and a crash loses at most the last
  interval. ``node.json`` keeps the pid while the node runs and drops it at a clean stop: a pid of a
  process that is gone means the node was killed, and the next start compares the head anvil logged
  last (``anvil.log``) with the head it loaded, to say what was lost (``AnvilNode.recovery``).
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from vscm.errors import ChainError, NodeUnreachable

__all__ = [
    "DEFAULT_CHAIN_ID",
    "FAUCET_KEY",
    "STATE_INTERVAL",
    "AnvilNode",
    "NodeStatus",
    "Recovery",
    "anvil_binary",
    "free_port",
    "pid_alive",
    "port_free",
    "status",
    "stop",
]

#: anvil's own default chain id.
DEFAULT_CHAIN_ID = 31337
#: Private key of anvil's first dev account (the public "test test ... junk" mnemonic), funded
#: on every node started here: the faucet of dev chains. Never use it elsewhere.
FAUCET_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
HARDFORK = "cancun"
#: Ether held by each dev account of a new node: as much as eth-tester gives its accounts, so a
#: faucet can fund a whole cast of parties on either dev chain.
DEV_BALANCE_ETHER = 1_000_000
HOST = "127.0.0.1"
#: Seconds between two writes of a kept node's state file (anvil's --state-interval): what a crash
#: (kill -9, power loss) can lose at most. See README "Local node: what survives a crash" for the cost.
STATE_INTERVAL = 1

NODE_FILE = "node.json"
STATE_FILE = "state.json"
LOG_FILE = "anvil.log"

_NODE_MODULES = Path(__file__).resolve().parents[2] / "node_modules"
# Detached nodes started by this process: kept so that they are reaped (no zombie) when stopped
# from here, and so that Popen does not warn about a child still running when collected.
_DETACHED: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class NodeStatus:
    """What ``status(state_dir)`` knows about a kept node."""

    running: bool
    state_dir: Path
    state_file: Path
    state_saved: bool
    pid: int | None = None
    port: int | None = None
    chain_id: int | None = None
    url: str | None = None
    block_number: int | None = None
    #: seconds between two writes of the state file while the node runs (None: written at stop only)
    state_interval: int | None = None


@dataclass(frozen=True)
class Recovery:
    """What a start found after a node that was not stopped cleanly (killed, crashed, power loss)."""

    had_block: int | None
    had_hash: str | None
    has_block: int
    lost: bool

    @property
    def message(self) -> str:
        if self.had_block is None:
            return (f"the node was not stopped cleanly; it restarted at block {self.has_block} "
                    "(its log does not say which head it had)")
        if not self.lost:
            return (f"the node was not stopped cleanly, but nothing was lost: it had block {self.had_block} "
                    f"and has it again (head {self.has_block})")
        return (f"the node was not stopped cleanly: it had block {self.had_block}, it restarted at block "
                f"{self.has_block} from its last saved state; the blocks after {self.has_block} and their "
                "transactions are lost: send them again")


class AnvilNode:
    """One anvil process listening on ``127.0.0.1:port``."""

    def __init__(
        self,
        *,
        port: int,
        chain_id: int,
        pid: int,
        state_file: Path | None = None,
        state_dir: Path | None = None,
        log_file: Path | None = None,
        process: subprocess.Popen[bytes] | None = None,
        owned: bool = False,
    ) -> None:
        self.port = port
        self.chain_id = chain_id
        self.pid = pid
        self.state_file = state_file
        self.state_dir = state_dir
        self.log_file = log_file
        self._process = process
        self._temp_log = False
        #: Set by ``start_detached`` when the previous node of its directory was not stopped cleanly.
        self.recovery: Recovery | None = None
        #: True when this process started the node for itself (not a kept node): whoever holds it
        #: stops it when done.
        self.owned = owned

    def __repr__(self) -> str:
        return f"AnvilNode(url={self.url!r}, chain_id={self.chain_id}, pid={self.pid})"

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @classmethod
    def start(
        cls,
        *,
        port: int | None = None,
        chain_id: int | None = None,
        state_file: str | Path | None = None,
        extra_args: Sequence[str] = (),
        timeout: float = 15.0,
    ) -> AnvilNode:
        """Start a node owned by this process and wait until it answers.

        Args:
            port: Port to listen on; a free one when omitted.
            chain_id: Chain id; anvil's 31337 when omitted.
            state_file: Load the chain from this file if it exists, write it back on stop.
            extra_args: More anvil options (``["--base-fee", "0"]`` for a free-gas chain).
            timeout: Seconds to wait for the node to answer.

        Raises:
            ChainError: anvil is missing, the port is taken, or the node did not come up.
        """
        handle, name = tempfile.mkstemp(prefix="vscm-anvil-", suffix=".log")
        os.close(handle)
        log = Path(name)
        try:
            node = cls._launch(
                port=port,
                chain_id=chain_id or DEFAULT_CHAIN_ID,
                state_file=Path(state_file) if state_file is not None else None,
                log_file=log,
                detached=False,
                timeout=timeout,
                extra_args=extra_args,
            )
        except BaseException:
            log.unlink(missing_ok=True)
            raise
        node._temp_log = True
        return node

    @classmethod
    def start_detached(
        cls,
        state_dir: str | Path,
        *,
        port: int | None = None,
        chain_id: int | None = None,
        timeout: float = 15.0,
        state_interval: int = STATE_INTERVAL,
    ) -> AnvilNode:
        """Start a node that outlives this process, kept in ``state_dir``.

        The chain state is loaded from ``state_dir/state.json`` when it exists, and written there
        every ``state_interval`` seconds and at a clean stop. The port and chain id default to those
        of the node last kept in ``state_dir`` (so a restarted node keeps its URL and chain id), else
        a free port and 31337. If the previous node was not stopped cleanly, ``recovery`` of the
        returned node says which head it had and which it has now.

        Raises:
            ChainError: a node is already running for ``state_dir`` (stop it first), or the node
                could not be started.
        """
        directory = Path(state_dir).resolve()
        directory.mkdir(parents=True, exist_ok=True)
        previous = _read_node_file(directory)
        if previous is not None and _is_anvil(previous.get("pid")):
            raise ChainError(
                f"an anvil node is already running for {directory} at http://{HOST}:{previous['port']} "
                f"(pid {previous['pid']}): run `vscm node stop` first"
            )
        if port is None and previous is not None and port_free(int(previous["port"])):
            port = int(previous["port"])
        if chain_id is None:
            chain_id = int(previous["chain_id"]) if previous is not None else DEFAULT_CHAIN_ID
        log_file = directory / LOG_FILE
        # The previous node still has its pid recorded: it never went through a clean stop.
        unclean = previous is not None and previous.get("pid") is not None
        had = None
        if unclean and previous is not None:
            start = previous.get("start_block")
            had = _last_logged_block(log_file, int(previous.get("log_offset") or 0)) or (
                (int(start), previous.get("start_hash")) if start is not None else None)
        log_offset = log_file.stat().st_size if log_file.is_file() else 0
        node = cls._launch(
            port=port,
            chain_id=chain_id,
            state_file=directory / STATE_FILE,
            log_file=log_file,
            detached=True,
            timeout=timeout,
            extra_args=["--state-interval", str(int(state_interval))],
        )
        node.state_dir = directory
        head = _rpc(node.url, "eth_getBlockByNumber", ["latest", False], timeout)
        _write_node_file(directory, node, log_offset=log_offset, state_interval=int(state_interval),
                         start=(int(head["number"], 16), str(head["hash"])))
        if unclean:
            node.recovery = _recovery(node.url, had)
        return node

    @classmethod
    def attach(cls, state_dir: str | Path) -> AnvilNode:
        """The running node kept in ``state_dir``.

        Raises:
            ChainError: no node is running for ``state_dir``.
        """
        directory = Path(state_dir).resolve()
        info = _read_node_file(directory)
        if info is None or not _is_anvil(info.get("pid")):
            raise NodeUnreachable(f"no anvil node is running for {directory}: run `vscm node start`")
        node = cls(
            port=int(info["port"]),
            chain_id=int(info["chain_id"]),
            pid=int(info["pid"]),
            state_file=Path(info["state_file"]),
            state_dir=directory,
            log_file=Path(info["log_file"]),
            process=_DETACHED.get(int(info["pid"])),
        )
        if not _answers(node.url, timeout=2.0):
            raise NodeUnreachable(f"the anvil node for {directory} (pid {node.pid}) does not answer at {node.url}: "
                                  "restart it with `vscm node stop` and `vscm node start`")
        return node

    def is_running(self) -> bool:
        if self._process is not None:
            return self._process.poll() is None
        return _is_anvil(self.pid)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the node (SIGTERM, so anvil writes its state file), wait until it is gone and its
        port is free. Killed if it does not exit within ``timeout`` seconds."""
        clean = _terminate(self.pid, self._process, timeout)
        _DETACHED.pop(self.pid, None)
        _wait_port_free(self.port, timeout=2.0)
        if self.state_dir is not None and clean:  # killed: its pid stays, the next start reports it
            info = _read_node_file(self.state_dir)
            if info is not None and info.get("pid") == self.pid:
                _write_node_file(self.state_dir, self, running=False)
        if self._temp_log and self.log_file is not None:
            self.log_file.unlink(missing_ok=True)

    # -- internals --------------------------------------------------------------------------

    @classmethod
    def _launch(
        cls,
        *,
        port: int | None,
        chain_id: int,
        state_file: Path | None,
        log_file: Path,
        detached: bool,
        timeout: float,
        extra_args: Sequence[str] = (),
    ) -> AnvilNode:
        binary = anvil_binary()
        # A port picked here could be taken by someone else before anvil binds it: try again.
        attempts = 1 if port is not None else 3
        for attempt in range(attempts):
            chosen = port if port is not None else free_port()
            if port is not None and not port_free(port):
                raise ChainError(f"port {port} on {HOST} is already in use: choose another port")
            command = [
                str(binary),
                "--host", HOST,
                "--port", str(chosen),
                "--chain-id", str(chain_id),
                "--hardfork", HARDFORK,
                "--balance", str(DEV_BALANCE_ETHER),
            ]
            if state_file is not None:
                state_file.parent.mkdir(parents=True, exist_ok=True)
                command += ["--state", str(state_file)]
            command += list(extra_args)
            with open(log_file, "ab") as log:
                process = subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=detached,
                )
            node = cls(
                port=chosen,
                chain_id=chain_id,
                pid=process.pid,
                state_file=state_file,
                log_file=log_file,
                process=process,
                owned=not detached,
            )
            if detached:
                _DETACHED[process.pid] = process
            try:
                _wait_ready(node.url, process, timeout)
            except ChainError as exc:
                _terminate(process.pid, process, 2.0)
                _DETACHED.pop(process.pid, None)
                in_use = "address already in use" in _log_tail(log_file).lower()
                if in_use and attempt + 1 < attempts:
                    continue
                raise ChainError(f"{exc}; anvil log: {_log_tail(log_file)}") from None
            if state_file is not None:
                _restore_clock(node.url, timeout)
            return node
        raise ChainError("could not find a free port for anvil")  # pragma: no cover


def status(state_dir: str | Path) -> NodeStatus:
    """Whether a kept node runs for ``state_dir``, where, and whether its state was saved."""
    directory = Path(state_dir).resolve()
    state_file = directory / STATE_FILE
    info = _read_node_file(directory)
    running = info is not None and _is_anvil(info.get("pid"))
    if info is None:
        return NodeStatus(False, directory, state_file, state_file.is_file())
    port = int(info["port"])
    url = f"http://{HOST}:{port}"
    block = _block_number(url) if running else None
    return NodeStatus(
        running=running,
        state_dir=directory,
        state_file=state_file,
        state_saved=state_file.is_file(),
        pid=int(info["pid"]) if running else None,
        port=port,
        chain_id=int(info["chain_id"]),
        url=url,
        block_number=block,
        state_interval=info.get("state_interval") if running else None,
    )


def stop(state_dir: str | Path, timeout: float = 10.0) -> bool:
    """Stop the kept node of ``state_dir``; its state is written to ``state_dir/state.json``.

    Returns:
        True if a node was running and is now stopped, False if none was running.
    """
    try:
        node = AnvilNode.attach(state_dir)
    except ChainError:
        info = _read_node_file(Path(state_dir).resolve())
        pid = info.get("pid") if info is not None else None
        if not _is_anvil(pid):
            return False
        # Running but not answering: still ours to stop.
        assert info is not None and pid is not None
        node = AnvilNode(
            port=int(info["port"]), chain_id=int(info["chain_id"]), pid=int(pid),
            state_dir=Path(state_dir).resolve(), process=_DETACHED.get(int(pid)),
        )
    node.stop(timeout)
    return True


def anvil_binary() -> Path:
    """The anvil executable: ``$VSCM_ANVIL``, else the one npm put in ``node_modules``."""
    override = os.environ.get("VSCM_ANVIL")
    if override:
        return Path(override)
    system = {"Linux": "linux", "Darwin": "darwin", "Windows": "win32"}.get(platform.system(), "")
    machine = {"x86_64": "amd64", "AMD64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        platform.machine(), ""
    )
    exe = "anvil.exe" if system == "win32" else "anvil"
    candidate = _NODE_MODULES / "@foundry-rs" / f"anvil-{system}-{machine}" / "bin" / exe
    if candidate.is_file():
        return candidate
    found = sorted(_NODE_MODULES.glob(f"@foundry-rs/anvil-*/bin/{exe}"))
    if found:
        return found[0]
    on_path = shutil.which("anvil")
    if on_path:
        return Path(on_path)
    raise ChainError(f"anvil not found under {_NODE_MODULES}: run `make install` (npm ci)")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def port_free(port: int) -> bool:
    """Whether nothing listens on ``port``. Connections a stopped node closed linger in
    TIME_WAIT; they do not stop a new listener (anvil binds with SO_REUSEADDR too)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


def _wait_port_free(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not port_free(port) and time.monotonic() < deadline:
        time.sleep(0.02)


def _rpc(url: str, method: str, params: list[Any], timeout: float) -> Any:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())["result"]


def _restore_clock(url: str, timeout: float) -> None:
    """Keep the chain's clock going forward after its state was loaded.

    anvil's state file holds the blocks but not the clock's offset: a chain whose clock was moved forward
    (``evm_increaseTime``: maturities, deadlines) would stamp its next block with the wall clock, before
    its head. Move the clock to one second after the head when the head is ahead of the wall clock."""
    head = int(_rpc(url, "eth_getBlockByNumber", ["latest", False], timeout)["timestamp"], 16)
    ahead = head - int(time.time())
    if ahead >= 0:
        _rpc(url, "evm_increaseTime", [ahead + 1], timeout)


def _answers(url: str, timeout: float) -> bool:
    try:
        _rpc(url, "eth_chainId", [], timeout)
    except (OSError, urllib.error.URLError, ValueError, KeyError):
        return False
    return True


def _block_number(url: str) -> int | None:
    try:
        return int(_rpc(url, "eth_blockNumber", [], 2.0), 16)
    except (OSError, urllib.error.URLError, ValueError, KeyError):
        return None


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ChainError(f"anvil exited with code {process.returncode} before answering at {url}")
        if _answers(url, timeout=1.0):
            return
        time.sleep(0.01)
    raise ChainError(f"anvil did not answer at {url} within {timeout:g} s")


def _terminate(pid: int, process: subprocess.Popen[bytes] | None, timeout: float) -> bool:
    """SIGTERM, then SIGKILL after ``timeout`` s. Returns False if it had to be killed (state not written)."""
    if process is not None:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                return False
        return True
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    clean = True
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            clean = False
            deadline = time.monotonic() + 2.0
        time.sleep(0.02)
    return clean


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs: a zombie child is reaped and counts as gone; a process of
    another user (EPERM) counts as running."""
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)  # reap it if it is our child and has exited
        if waited == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    if stat.is_file():
        try:
            return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except (OSError, IndexError):
            return True
    return True


def _is_anvil(pid: Any) -> bool:
    """Whether ``pid`` is a live anvil process (not a recycled pid of something else)."""
    if not isinstance(pid, int) or pid <= 0 or not pid_alive(pid):
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.is_file():
        try:
            return b"anvil" in cmdline.read_bytes()
        except OSError:
            return False
    return True


def _read_node_file(directory: Path) -> dict[str, Any] | None:
    path = directory / NODE_FILE
    if not path.is_file():
        return None
    try:
        info: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return info if {"port", "chain_id"} <= info.keys() else None


def _write_node_file(directory: Path, node: AnvilNode, running: bool = True, *, log_offset: int = 0,
                     state_interval: int | None = None, start: tuple[int, str] | None = None) -> None:
    info: dict[str, Any] = {
        "pid": node.pid if running else None,
        "host": HOST,
        "port": node.port,
        "chain_id": node.chain_id,
        "url": node.url,
        "state_file": str(directory / STATE_FILE),
        "log_file": str(directory / LOG_FILE),
        "started_at": int(time.time()) if running else None,
        # where this node's lines start in the log (its last "Block Number" tells the head after a crash)
        "log_offset": log_offset if running else None,
        "state_interval": state_interval if running else None,
        # the head it loaded: what it had after a crash if it mined nothing since
        "start_block": start[0] if running and start else None,
        "start_hash": start[1] if running and start else None,
    }
    path = directory / NODE_FILE
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(info, indent=1, sort_keys=True) + "\n")
    temporary.replace(path)


def _last_logged_block(log_file: Path, offset: int) -> tuple[int, str | None] | None:
    """The last block anvil logged ("Block Number: N" / "Block Hash: 0x…") after ``offset``, if any."""
    try:
        with open(log_file, "rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(offset, size - 256 * 1024))  # the last block is near the end
            text = handle.read().decode(errors="replace")
    except OSError:
        return None
    found = None
    for match in re.finditer(r"Block Number: (\d+)\s*\n\s*Block Hash: (0x[0-9a-fA-F]{64})?", text):
        found = (int(match.group(1)), match.group(2))
    return found


def _recovery(url: str, had: tuple[int, str | None] | None) -> Recovery:
    has = _block_number(url)
    if has is None:
        raise ChainError(f"the restarted node at {url} does not answer eth_blockNumber")
    if had is None:
        return Recovery(None, None, has, lost=False)
    number, digest = had
    lost = has < number
    if not lost and digest is not None:
        try:
            block = _rpc(url, "eth_getBlockByNumber", [hex(number), False], 2.0)
        except (OSError, urllib.error.URLError, ValueError, KeyError):
            block = None
        lost = block is None or str(block.get("hash", "")).lower() != digest.lower()
    return Recovery(number, digest, has, lost)


def _log_tail(path: Path, lines: int = 5) -> str:
    try:
        with open(path, "rb") as handle:
            text = _tail(handle, lines)
    except OSError:
        return "(no log)"
    return text.strip() or "(empty log)"


def _tail(handle: IO[bytes], lines: int) -> str:
    data = handle.read()[-4000:]
    return " | ".join(data.decode(errors="replace").splitlines()[-lines:])
