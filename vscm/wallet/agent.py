"""The unlock agent: a wallet's key kept in memory for a limited time, on the member's own machine.

A keystore at the standard work factor costs about 0.8 s of CPU to open (scrypt, n = 2**18), and every ``vscm``
write used to pay it. ``vscm wallet unlock LABEL --for 15m`` pays it once: it decrypts the keystore and hands the
key to a small process of the member's own, as ``ssh-agent`` does for SSH keys and geth's ``clef`` for Ethereum
accounts. Until it is locked the member's ``vscm`` commands ask that process for signatures instead of asking for
the passphrase.

What the agent promises:

* **Only its owner reaches it.** It listens on a Unix socket in a directory of mode 0700 that the user owns
  (``$VSCM_AGENT_DIR``, else ``$XDG_RUNTIME_DIR/vscm-agent``, else ``/tmp/vscm-agent-<uid>``); the socket is
  0600, and every connection's peer is checked by ``SO_PEERCRED`` to run under the agent's own uid. The process
  turns off core dumps and ptrace attachment by other processes of the same user (``PR_SET_DUMPABLE``).
* **It never hands the key out.** It answers four requests (JSON-RPC 2.0, one per connection): its status, sign
  a transaction, sign a message (EIP-191 / EIP-712 as eth-account's ``SignableMessage``), lock. It signs with
  eth-account, exactly as an unlocked keystore would; the signature is the same (RFC 6979).
* **It ends.** It exits, removing its socket, when its time is up (checked before every signature as well), on
  ``vscm wallet lock``, and on SIGTERM, SIGINT or SIGHUP. It is started in a session of its own, so closing the
  terminal that unlocked it does not end it early; ``vscm wallet agents`` lists the running ones.

What it does not do: ask before each signature (any process of the same user may have it sign, as with
ssh-agent; use a short ``--for``), or wipe the key from memory (CPython cannot promise that; the process ends).

Clients find an agent by the keystore file it was unlocked from: the socket's name is the wallet's label and a
digest of that file's path, and the agent must hold the address written in that file, else nothing is signed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import select
import signal
import socket
import stat
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vscm.errors import WalletError

if TYPE_CHECKING:
    from eth_account.datastructures import SignedMessage
    from eth_account.messages import SignableMessage
    from eth_account.signers.local import LocalAccount
    from eth_typing import ChecksumAddress

    from vscm.wallet.keystore import Keystore

__all__ = [
    "AGENT_DIR_ENV",
    "DEFAULT_LIFETIME",
    "MAX_LIFETIME",
    "AgentAccount",
    "AgentStatus",
    "AgentTransaction",
    "agent_dir",
    "find_agent",
    "list_agents",
    "lock",
    "parse_duration",
    "socket_path",
    "start_agent",
]

AGENT_DIR_ENV = "VSCM_AGENT_DIR"
DEFAULT_LIFETIME = 15 * 60  # seconds: a working session, not a day
MAX_LIFETIME = 12 * 3600  # seconds: one working day at most; unlock again after that
READY_TIMEOUT = 60.0  # seconds the unlocking command waits for the agent to listen
REQUEST_TIMEOUT = 30.0  # seconds a client waits for an answer, and the agent for a request
_MAX_REQUEST = 1 << 20  # bytes: a transaction's data is well below this
_SOCKET_PATH_MAX = 107  # sun_path on Linux is 108 bytes with its terminating NUL
_DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_PR_SET_DUMPABLE = 4


# ---- where agents live ------------------------------------------------------------------------------------------


def agent_dir(create: bool = False) -> Path:
    """The directory of the agents' sockets, checked to be the user's own and closed to others.

    ``$VSCM_AGENT_DIR``, else ``$XDG_RUNTIME_DIR/vscm-agent``, else ``/tmp/vscm-agent-<uid>``.

    Raises:
        WalletError: the directory belongs to another user or is open to group or others (a socket in it
            could be somebody else's), or cannot be created.
    """
    directory = _agent_dir_path()
    if create:
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise WalletError(f"cannot create the agent directory {directory}: {exc.strerror or exc}") from None
    try:
        info = directory.lstat()
    except FileNotFoundError:
        return directory
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise WalletError(f"the agent directory {directory} is not a directory of user {os.getuid()}: "
                          f"remove it, or set {AGENT_DIR_ENV} to a directory of your own")
    if info.st_mode & 0o077:
        raise WalletError(f"the agent directory {directory} is open to other users (mode "
                          f"{stat.S_IMODE(info.st_mode):o}): run `chmod 700 {directory}`")
    return directory


def _agent_dir_path() -> Path:
    configured = os.environ.get(AGENT_DIR_ENV)
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if configured:
        return Path(configured).expanduser().absolute()
    if runtime:
        return Path(runtime) / "vscm-agent"
    return Path("/tmp") / f"vscm-agent-{os.getuid()}"


def socket_path(keystore_file: Path, label: str, directory: Path | None = None) -> Path:
    """The socket of the agent of the wallet in ``keystore_file`` (its label, and a digest of the file's path).

    Raises:
        WalletError: the path is too long for a Unix socket (set ``$VSCM_AGENT_DIR`` to a shorter directory).
    """
    digest = hashlib.sha256(str(Path(keystore_file).absolute()).encode()).hexdigest()[:12]
    path = (directory or _agent_dir_path()) / f"{label}.{digest}.sock"
    if len(os.fsencode(path)) > _SOCKET_PATH_MAX:
        raise WalletError(f"the agent socket path {path} is longer than a Unix socket allows ({_SOCKET_PATH_MAX} "
                          f"bytes): set {AGENT_DIR_ENV} to a shorter directory")
    return path


def parse_duration(text: str) -> int:
    """Seconds in ``text``: ``90s``, ``15m``, ``2h``, ``1h30m``, or a bare number of seconds.

    Raises:
        WalletError: another shape, zero, or more than :data:`MAX_LIFETIME`.
    """
    value = text.strip().lower()
    match = _DURATION.fullmatch(value)
    if value.isdigit():
        seconds = int(value)
    elif value and match is not None and any(match.groups()):
        hours, minutes, secs = (int(g or 0) for g in match.groups())
        seconds = hours * 3600 + minutes * 60 + secs
    else:
        raise WalletError(f"bad duration {text!r}: use e.g. 90s, 15m, 2h or 1h30m")
    if not 0 < seconds <= MAX_LIFETIME:
        raise WalletError(f"bad duration {text!r}: an agent holds a key for 1 s to {MAX_LIFETIME // 3600} h")
    return seconds


# ---- the client side ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentStatus:
    """What a running agent says of itself (never its key)."""

    label: str
    address: ChecksumAddress
    keystore: str
    socket: Path
    pid: int
    started_at: float
    expires_at: float
    signatures: int

    def as_dict(self) -> dict[str, Any]:
        from datetime import UTC, datetime

        def iso(t: float) -> str:
            return datetime.fromtimestamp(int(t), UTC).isoformat()  # 2026-12-07T03:08:57+00:00, as every vscm JSON

        return {"label": self.label, "address": self.address, "keystore": self.keystore, "socket": str(self.socket),
                "pid": self.pid, "unlocked_at": iso(self.started_at), "locks_at": iso(self.expires_at),
                "seconds_left": max(0, int(self.expires_at - time.time())), "signatures": self.signatures}


@dataclass(frozen=True)
class AgentTransaction:
    """A transaction the agent signed: what eth-account's ``SignedTransaction`` gives that senders read."""

    raw_transaction: bytes
    hash: bytes


class AgentAccount:
    """Stands in for an unlocked ``LocalAccount`` where vscm signs: ``address``, ``sign_transaction`` and
    ``sign_message``, answered by the agent over its socket. It has no ``key``: asking for it raises WalletError."""

    def __init__(self, status: AgentStatus) -> None:
        self.status = status
        self.address: ChecksumAddress = status.address

    def __repr__(self) -> str:
        return f"AgentAccount({self.status.label!r}, {self.address}, socket={str(self.status.socket)!r})"

    @property
    def key(self) -> bytes:
        raise WalletError(f"wallet '{self.status.label}' is unlocked in an agent, which never hands its key out; "
                          "this use needs the key itself: run `vscm wallet lock "
                          f"{self.status.label}` and give the passphrase")

    def sign_transaction(self, tx: dict[str, Any]) -> AgentTransaction:
        """Sign ``tx`` (the fields eth-account takes: to, data, value, chainId, gas, nonce and the fee fields)."""
        fields = {name: _jsonable(value) for name, value in tx.items()}
        answer = _request(self.status.socket, "agent_signTransaction", {"tx": fields}, self.status.label)
        return AgentTransaction(raw_transaction=bytes.fromhex(answer["raw"][2:]), hash=bytes.fromhex(answer["hash"][2:]))

    def sign_message(self, signable: SignableMessage) -> SignedMessage:
        """Sign an EIP-191 message (``encode_defunct``, ``encode_typed_data``) as ``LocalAccount.sign_message``."""
        from eth_account.datastructures import SignedMessage
        from hexbytes import HexBytes

        params = {part: "0x" + bytes(getattr(signable, part)).hex() for part in ("version", "header", "body")}
        answer = _request(self.status.socket, "agent_signMessage", params, self.status.label)
        return SignedMessage(message_hash=HexBytes(answer["message_hash"]), r=int(answer["r"]), s=int(answer["s"]),
                             v=int(answer["v"]), signature=HexBytes(answer["signature"]))


def find_agent(store: Keystore, label: str) -> AgentAccount | None:
    """The agent holding wallet ``label`` of ``store``, or None when the wallet is locked (no agent, or an agent
    that has ended: its stale socket is removed).

    Raises:
        WalletError: an agent answers at the wallet's socket but holds another address than the keystore file
            (nothing is signed with it), or the agent directory is not safe.
    """
    path = socket_path(store.path_for(label), label)
    if not path.exists():
        return None  # locked: the directory is not even looked at, so a write without agents never depends on it
    agent_dir()  # a socket there is trusted only in a directory of the user's own, closed to others
    status = _status(path, label)
    if status is None:
        return None
    expected = store.address(label)
    if status.address != expected or status.label != label:
        raise WalletError(f"the agent at {path} holds {status.address} (wallet '{status.label}'), not wallet "
                          f"'{label}' ({expected}) of {store.directory}: run `vscm wallet lock --all` and unlock again")
    return AgentAccount(status)


def list_agents() -> list[AgentStatus]:
    """Every running agent of this user (their sockets in :func:`agent_dir`), by label; stale sockets are removed."""
    directory = agent_dir()
    if not directory.is_dir():
        return []
    found = []
    for path in sorted(directory.glob("*.sock")):
        status = _status(path, path.name.split(".", 1)[0])
        if status is not None:
            found.append(status)
    return found


def lock(path: Path, label: str) -> bool:
    """Ask the agent at ``path`` to forget its key and end; True when one was running (it has ended)."""
    try:
        answer = _request(path, "agent_lock", {}, label)
    except _Gone:
        return False
    pid = int(answer["pid"])
    deadline = time.monotonic() + REQUEST_TIMEOUT
    while path.exists() and time.monotonic() < deadline:  # the agent removes its socket as it exits
        time.sleep(0.01)
    if path.exists():
        raise WalletError(f"the agent of wallet '{label}' (pid {pid}) said it locks but has not ended: "
                          f"`kill {pid}` ends it")
    return True


def start_agent(account: LocalAccount, store: Keystore, label: str, lifetime: int) -> AgentStatus:
    """Start an agent holding ``account`` (wallet ``label`` of ``store``, just unlocked) for ``lifetime`` seconds;
    an agent already holding this wallet is locked first.

    The key goes to the new process through a pipe (never its arguments or environment). Returns once the agent
    listens.

    Raises:
        WalletError: the agent directory is unsafe, or the agent did not start (its reason is given).
    """
    if not 0 < lifetime <= MAX_LIFETIME:
        raise WalletError(f"bad lifetime {lifetime} s: an agent holds a key for 1 s to {MAX_LIFETIME // 3600} h")
    directory = agent_dir(create=True)
    keystore_file = store.path_for(label)
    path = socket_path(keystore_file, label, directory)
    if path.exists():
        lock(path, label)
    order = {"key": "0x" + bytes(account.key).hex(), "label": label, "address": account.address,
             "keystore": str(keystore_file), "socket": str(path), "lifetime": lifetime}
    log = path.with_suffix(".log")  # the agent's stderr; it removes the file when it ends with nothing in it
    with open(os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "ab") as err:
        child = subprocess.Popen([sys.executable, "-m", "vscm.wallet.agent"], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=err, start_new_session=True, close_fds=True)
    assert child.stdin is not None and child.stdout is not None
    try:
        child.stdin.write(json.dumps(order).encode() + b"\n")
        child.stdin.close()
    except BrokenPipeError:
        pass  # the agent ended at once: its answer (or its log) says why
    order.clear()
    ready, _, _ = select.select([child.stdout], [], [], READY_TIMEOUT)
    line = child.stdout.readline() if ready else b""
    child.stdout.close()
    try:
        answer = json.loads(line) if line else {}
    except ValueError:
        answer = {}
    if "ready" not in answer:
        with contextlib.suppress(ProcessLookupError):
            child.kill()
        reason = answer.get("error") or _last_line(log) or f"no answer within {READY_TIMEOUT:.0f} s"
        raise WalletError(f"the agent of wallet '{label}' did not start: {reason}")
    status = _status(path, label)
    if status is None:
        raise WalletError(f"the agent of wallet '{label}' started but does not answer at {path} (see {log})")
    return status


class _Gone(Exception):
    """No agent answers at a socket (it has ended)."""


def _status(path: Path, label: str) -> AgentStatus | None:
    try:
        answer = _request(path, "agent_status", {}, label)
    except _Gone:
        with contextlib.suppress(OSError):
            path.unlink()  # an agent killed without its clean-up left it; nobody listens
        return None
    from eth_utils import to_checksum_address

    return AgentStatus(label=str(answer["label"]), address=to_checksum_address(answer["address"]),
                       keystore=str(answer["keystore"]), socket=path, pid=int(answer["pid"]),
                       started_at=float(answer["started_at"]), expires_at=float(answer["expires_at"]),
                       signatures=int(answer["signatures"]))


def _request(path: Path, method: str, params: dict[str, Any], label: str) -> dict[str, Any]:
    """One JSON-RPC 2.0 request to the agent at ``path``; its result.

    Raises:
        _Gone: nobody listens there. WalletError: the agent refused (its reason) or did not answer in time.
    """
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(REQUEST_TIMEOUT)
    try:
        try:
            conn.connect(os.fspath(path))
        except (FileNotFoundError, ConnectionRefusedError):
            raise _Gone(str(path)) from None
        conn.sendall(json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode() + b"\n")
        line = _read_line(conn)
    except TimeoutError:
        raise WalletError(f"the agent of wallet '{label}' at {path} did not answer within {REQUEST_TIMEOUT:.0f} s: "
                          "`vscm wallet lock --all` ends it") from None
    except OSError as exc:
        raise WalletError(f"cannot reach the agent of wallet '{label}' at {path}: {exc.strerror or exc}") from None
    finally:
        conn.close()
    if not line:
        if method == "agent_lock":
            raise _Gone(str(path))
        raise WalletError(f"the agent of wallet '{label}' at {path} closed the connection without an answer "
                          "(its time may have run out): unlock the wallet again")
    answer = json.loads(line)
    if "error" in answer:
        raise WalletError(f"the agent of wallet '{label}' refused: {answer['error']['message']}")
    result: dict[str, Any] = answer["result"]
    return result


def _read_line(conn: socket.socket) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if chunk.endswith(b"\n"):
            return b"".join(chunks)
        if size > _MAX_REQUEST:
            raise WalletError(f"a message to or from the unlock agent is over {_MAX_REQUEST} bytes")


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    return value


def _last_line(path: Path) -> str:
    try:
        lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1] if lines else ""


# ---- the agent ---------------------------------------------------------------------------------------------------


class _Agent:
    """The agent process's state: the account, its socket, its deadline."""

    def __init__(self, order: dict[str, Any]) -> None:
        from eth_account import Account

        self.account: LocalAccount = Account.from_key(order["key"])
        order["key"] = None
        if self.account.address != order["address"]:
            raise WalletError(f"the key handed over is {self.account.address}'s, not {order['address']}'s")
        self.label = str(order["label"])
        self.keystore = str(order["keystore"])
        self.path = Path(order["socket"])
        self.started_at = time.time()
        self.expires_at = self.started_at + int(order["lifetime"])
        self.signatures = 0
        self.server: socket.socket | None = None

    def listen(self) -> None:
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(os.fspath(self.path))
        except (FileNotFoundError, ConnectionRefusedError):
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()  # a stale socket of an agent that was killed
        else:
            raise WalletError(f"another agent already listens at {self.path}")
        finally:
            probe.close()
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            server.bind(os.fspath(self.path))
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)
        server.listen(16)
        self.server = server

    def serve(self) -> None:
        assert self.server is not None
        while True:
            left = self.expires_at - time.time()
            if left <= 0:
                return
            self.server.settimeout(min(left, 60.0))
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            with conn:
                if not self._answer(conn):
                    return

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
        log = self.path.with_suffix(".log")
        with contextlib.suppress(OSError):
            if log.stat().st_size == 0:
                log.unlink()  # nothing went wrong: nothing to keep

    def _answer(self, conn: socket.socket) -> bool:
        """Answer one request; False when the agent is to end (locked, or its time is up)."""
        conn.settimeout(REQUEST_TIMEOUT)
        uid = _peer_uid(conn)
        if uid != os.getuid():
            return True  # not its owner's process: no answer at all
        try:
            request = json.loads(_read_line(conn))
            method, params = request["method"], request.get("params") or {}
        except (ValueError, KeyError, TypeError, OSError, WalletError):
            _reply(conn, error="malformed request")
            return True
        if time.time() >= self.expires_at:
            _reply(conn, error="its time is up: the wallet is locked")
            return False
        try:
            if method == "agent_status":
                _reply(conn, result=self._state())
            elif method == "agent_lock":
                _reply(conn, result={"pid": os.getpid()})
                return False
            elif method == "agent_signTransaction":
                signed = self.account.sign_transaction(params["tx"])
                self.signatures += 1
                _reply(conn, result={"raw": "0x" + bytes(signed.raw_transaction).hex(),
                                     "hash": "0x" + bytes(signed.hash).hex()})
            elif method == "agent_signMessage":
                from eth_account.messages import SignableMessage

                message = SignableMessage(*(bytes.fromhex(params[p][2:]) for p in ("version", "header", "body")))
                sm = self.account.sign_message(message)
                self.signatures += 1
                _reply(conn, result={"message_hash": "0x" + bytes(sm.message_hash).hex(), "r": str(sm.r),
                                     "s": str(sm.s), "v": sm.v, "signature": "0x" + bytes(sm.signature).hex()})
            else:
                _reply(conn, error=f"unknown request {method!r}")
        except Exception as exc:  # noqa: BLE001 - what eth-account refuses goes back as the reason; the agent goes on
            _reply(conn, error=f"{type(exc).__name__}: {exc}")
        return True

    def _state(self) -> dict[str, Any]:
        return {"label": self.label, "address": self.account.address, "keystore": self.keystore, "pid": os.getpid(),
                "started_at": self.started_at, "expires_at": self.expires_at, "signatures": self.signatures}


def _peer_uid(conn: socket.socket) -> int:
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _, uid, _ = struct.unpack("3i", creds)
    return int(uid)


def _reply(conn: socket.socket, *, result: Any = None, error: str | None = None) -> None:
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": 1}
    if error is not None:
        body["error"] = {"code": -32000, "message": error}
    else:
        body["result"] = result
    with contextlib.suppress(OSError):
        conn.sendall(json.dumps(body).encode() + b"\n")


def _not_dumpable() -> None:
    """No core dump of this process, and no ptrace attachment by other processes of the same user."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise WalletError(f"prctl(PR_SET_DUMPABLE, 0) failed: {os.strerror(ctypes.get_errno())}")


def _main() -> int:
    """The agent process: read the order on stdin, listen, say ready on stdout, serve until locked or expired."""
    _not_dumpable()
    out = sys.stdout.buffer
    agent: _Agent | None = None
    try:
        order = json.loads(sys.stdin.buffer.readline())
        agent = _Agent(order)
        agent.listen()
    except Exception as exc:  # noqa: BLE001 - whatever stops the start is told to the unlocking command
        out.write(json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode() + b"\n")
        out.flush()
        if agent is not None:
            agent.close()
        return 1

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(0)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, stop)
    try:
        out.write(json.dumps({"ready": True, "pid": os.getpid()}).encode() + b"\n")
        out.flush()
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(devnull, 1)  # the unlocking command stops reading; nothing more is said here
        os.close(devnull)
        agent.serve()
    finally:
        agent.close()
    return 0


if __name__ == "__main__":
    sys.exit(_main())
