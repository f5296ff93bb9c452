"""Private PostgreSQL and Mosquitto servers on free loopback ports, for tests and benchmarks.

Nothing here touches a system service: each server runs from Debian's binaries in a temporary
directory of its own, on a port picked free at start (a port taken in between is retried), answers
before it is handed out, and is stopped (and its directory removed) when its context ends. If the
process that started it dies first, the server gets SIGTERM from the kernel (``setpriv
--pdeathsig``), so no server outlives its test run.

    with start_postgres() as pg, start_mosquitto() as broker:
        open_index(pg.url, schema="s1")            # postgresql://postgres@127.0.0.1:<port>/postgres
        MqttSource(f"{broker.url}/vscm")           # mqtt://127.0.0.1:<port>

``python -m vscm.devservices ensure`` (run by ``make install``) checks that the binaries are there
and, as root with ``apt-get``, installs Debian's ``postgresql`` and ``mosquitto`` packages without
starting or enabling their system services, and Debian's ``chromium`` (the browser the console's
Playwright tests drive: Playwright never downloads one) and ``wrk`` (the console bench's load generator); otherwise it names the packages to install
and exits 1.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self, TypeVar

from vscm.chain.anvil import free_port, pid_alive
from vscm.errors import VscmError

__all__ = [
    "CHROMIUM_PACKAGE",
    "HYPERFINE_PACKAGE",
    "MOSQUITTO_PACKAGE",
    "POSTGRES_PACKAGE",
    "Mosquitto",
    "Postgres",
    "ServiceError",
    "chromium_binary",
    "ensure_installed",
    "hyperfine_binary",
    "last_line",
    "log_tail",
    "missing_packages",
    "mosquitto_binary",
    "postgres_bindir",
    "start_mosquitto",
    "start_postgres",
    "wrk_binary",
]

HOST = "127.0.0.1"
MOSQUITTO_PACKAGE = "mosquitto"
POSTGRES_PACKAGE = "postgresql"
CHROMIUM_PACKAGE = "chromium"
#: The HTTP load generator of the console's bench section (``vscm.console.bench``).
WRK_PACKAGE = "wrk"
#: the command-line benchmarking tool `make bench` times the CLI with (vscm/cli/bench.py)
HYPERFINE_PACKAGE = "hyperfine"
# Debian puts daemons in sbin (not on a user's PATH) and PostgreSQL's server in a versioned directory.
SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/sbin")
POSTGRES_GLOB = "/usr/lib/postgresql/*/bin"
ATTEMPTS = 3  # a free port can be taken by someone else before the server binds it


class ServiceError(VscmError):
    """A private test service could not be found, installed or started."""


# -- finding the binaries -----------------------------------------------------------------------

def mosquitto_binary(path: str | None = None) -> Path:
    """The ``mosquitto`` broker binary, on ``path`` (default ``$PATH``) or in the sbin directories.

    Raises:
        ServiceError: it is not installed, with the package that brings it.
    """
    found = shutil.which("mosquitto", path=path)
    if found is None and path is None:
        found = shutil.which("mosquitto", path=os.pathsep.join(SBIN_DIRS))
    if found is None:
        raise ServiceError(f"the mosquitto binary is missing: install Debian's {MOSQUITTO_PACKAGE} package "
                           "(`make install` does it as root)")
    return Path(found)


def postgres_bindir(path: str | None = None) -> Path:
    """The directory holding PostgreSQL's ``initdb`` and ``postgres`` (the newest version if several).

    Raises:
        ServiceError: the server binaries are not installed (a client-only ``psql`` does not count).
    """
    found = shutil.which("initdb", path=path)
    if found is not None and (Path(found).resolve().parent / "postgres").exists():
        return Path(found).resolve().parent
    if path is None:
        versioned = [Path(d) for d in glob.glob(POSTGRES_GLOB) if (Path(d) / "initdb").exists()]
        versioned.sort(key=lambda d: _version_key(d.parent.name))
        if versioned:
            return versioned[-1]
    raise ServiceError("the PostgreSQL server binaries (initdb, postgres) are missing: install Debian's "
                       f"{POSTGRES_PACKAGE} package (`make install` does it as root)")


def debian_binary(command: str, package: str, what: str, path: str | None = None) -> Path:
    """The path of ``command``, which Debian's ``package`` installs (``make install`` does it as root).

    Raises:
        ServiceError: it is not installed, naming ``what`` it is and the package that brings it.
    """
    found = shutil.which(command, path=path)
    if found is None:
        raise ServiceError(f"{what} is missing: install Debian's {package} package (`make install` does it as root)")
    return Path(found)


def chromium_binary(path: str | None = None) -> Path:
    """Debian's ``chromium`` browser (``/usr/bin/chromium``), which the console's browser tests drive."""
    return debian_binary("chromium", CHROMIUM_PACKAGE, "the chromium browser", path)


def wrk_binary(path: str | None = None) -> Path:
    """Debian's ``wrk`` (an HTTP load generator in C), which the console's bench runs in a second process."""
    return debian_binary("wrk", WRK_PACKAGE, "the wrk load generator", path)


def hyperfine_binary(path: str | None = None) -> Path:
    """Debian's ``hyperfine``, which ``make bench`` times the CLI's commands with."""
    return debian_binary("hyperfine", HYPERFINE_PACKAGE, "hyperfine", path)


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def missing_packages(path: str | None = None) -> list[str]:
    """The Debian packages whose binaries are not found, in install order."""
    missing = []
    finders: tuple[tuple[str, Callable[[str | None], Path]], ...] = (
        (POSTGRES_PACKAGE, postgres_bindir), (MOSQUITTO_PACKAGE, mosquitto_binary), (CHROMIUM_PACKAGE, chromium_binary),
        (WRK_PACKAGE, wrk_binary), (HYPERFINE_PACKAGE, hyperfine_binary))
    for package, find in finders:
        try:
            find(path)
        except ServiceError:
            missing.append(package)
    return missing


# -- the running services --------------------------------------------------------------------

@dataclass
class _Server:
    """One server process in a temporary directory; stopping it removes the directory."""

    port: int
    directory: Path
    process: subprocess.Popen[bytes]
    stop_signal: int = signal.SIGTERM
    _stopped: bool = field(default=False, repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def log(self) -> str:
        return log_tail(self.directory / "server.log")

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the server (its own clean shutdown; a kill if it does not end) and remove its files."""
        if self._stopped:
            return
        self._stopped = True
        if self.process.poll() is None:
            self.process.send_signal(self.stop_signal)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()


@dataclass
class Mosquitto(_Server):
    """A private Mosquitto broker: anonymous, no persistence, loopback only."""

    @property
    def url(self) -> str:
        """``mqtt://127.0.0.1:<port>``; add ``/<topic prefix>`` for a source or publisher."""
        return f"mqtt://{HOST}:{self.port}"


@dataclass
class Postgres(_Server):
    """A private PostgreSQL cluster: superuser ``postgres``, trust authentication, loopback only,
    durability off (fsync, synchronous commit: a test cluster is thrown away)."""

    stop_signal: int = signal.SIGINT  # PostgreSQL's fast shutdown: roll back sessions, stop at once

    @property
    def url(self) -> str:
        """``postgresql://postgres@127.0.0.1:<port>/postgres``."""
        return f"postgresql://postgres@{HOST}:{self.port}/postgres"


_S = TypeVar("_S", Mosquitto, Postgres)


def start_mosquitto(timeout: float = 30.0) -> Mosquitto:
    """Start a private broker on a free loopback port and wait until it accepts MQTT connections.

    Raises:
        ServiceError: the binary is missing, or the broker did not answer within ``timeout`` seconds.
    """
    binary = mosquitto_binary()
    # As root, mosquitto would switch to its own user itself, and that switch clears the parent-death
    # signal: start it as that user instead.
    user = _unprivileged_user("mosquitto", "nobody") if os.geteuid() == 0 else None
    directory = _workdir("mosquitto")
    try:
        if user is not None:
            os.chown(directory, user.pw_uid, user.pw_gid)
        config = directory / "mosquitto.conf"

        def launch(port: int) -> subprocess.Popen[bytes]:
            config.write_text(f"listener {port} {HOST}\nallow_anonymous true\npersistence false\n"
                              "log_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\n")
            return _spawn([str(binary), "-c", str(config)], directory / "server.log", user=user)

        return _on_a_free_port(Mosquitto, directory, launch, _mqtt_answers, timeout)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise


def start_postgres(timeout: float = 60.0) -> Postgres:
    """Create a private cluster (``initdb``) in a temporary directory, start it on a free loopback
    port and wait until it accepts a connection. As root, the server runs as the ``postgres``
    system user (PostgreSQL refuses to run as root), or ``nobody`` where there is none.

    Raises:
        ServiceError: the binaries are missing, ``initdb`` failed, or the server did not answer in time.
    """
    bindir = postgres_bindir()
    user = _unprivileged_user("postgres", "nobody") if os.geteuid() == 0 else None
    directory = _workdir("postgres")
    try:
        data, sockets = directory / "data", directory / "run"
        sockets.mkdir()
        if user is not None:
            for owned in (directory, sockets):
                os.chown(owned, user.pw_uid, user.pw_gid)
        init = subprocess.run(
            _as(user) + [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                         "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
        if init.returncode != 0:
            raise ServiceError(f"initdb failed (exit {init.returncode}): {last_line(init.stderr or init.stdout)}")

        def launch(port: int) -> subprocess.Popen[bytes]:
            return _spawn([str(bindir / "postgres"), "-D", str(data), "-p", str(port), "-h", HOST, "-k", str(sockets),
                           "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
                          directory / "server.log", user=user)

        return _on_a_free_port(Postgres, directory, launch, _postgres_answers, timeout)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise


def _on_a_free_port(kind: type[_S], directory: Path, launch: Callable[[int], subprocess.Popen[bytes]],
                    answers: Callable[[_S], bool], timeout: float) -> _S:
    """Launch the server on a free port until it answers; a port taken in between is tried anew."""
    for attempt in range(ATTEMPTS):
        port = free_port()
        server = kind(port=port, directory=directory, process=launch(port))
        if _wait(server, timeout, answers):
            return server
        if not _port_was_taken(server.log) or attempt + 1 == ATTEMPTS:
            name = kind.__name__.lower()
            raise ServiceError(f"{name} did not start on {HOST}:{port}: {last_line(server.log) or 'no output'}")
    raise AssertionError("unreachable")


def _workdir(kind: str) -> Path:
    """A new temporary directory for one server, marked with the pid of the process that owns it.
    Directories left by owners that died without stopping their server (kill -9) are removed."""
    temp = Path(tempfile.gettempdir())
    for stale in [*temp.glob("vscm-postgres-*"), *temp.glob("vscm-mosquitto-*")]:
        try:
            owner = int((stale / "owner.pid").read_text())
        except (OSError, ValueError):
            continue
        if not pid_alive(owner):
            shutil.rmtree(stale, ignore_errors=True)
    directory = Path(tempfile.mkdtemp(prefix=f"vscm-{kind}-"))
    (directory / "owner.pid").write_text(str(os.getpid()))
    return directory


def _unprivileged_user(*names: str) -> pwd.struct_passwd:
    """The first of ``names`` that exists: a server started by root runs as that user."""
    for name in names:
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise ServiceError(f"no {' or '.join(names)} user to run the server as (it must not run as root)")


def _as(user: pwd.struct_passwd | None) -> list[str]:
    """The ``setpriv`` prefix: another user's identity (as root) and SIGTERM when our thread dies."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        if user is not None:
            raise ServiceError("setpriv (util-linux) is missing: it is needed to start a server as root")
        return []
    prefix = [setpriv, "--pdeathsig", "TERM"]
    if user is not None:
        prefix += [f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups"]
    return prefix + ["--"]


def _spawn(command: Sequence[str], log_file: Path, user: pwd.struct_passwd | None) -> subprocess.Popen[bytes]:
    with open(log_file, "ab") as log:  # the server writes to the inherited descriptor, whatever its user
        return subprocess.Popen(_as(user) + list(command), stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT)


def _wait(server: _S, timeout: float, answers: Callable[[_S], bool]) -> bool:
    """Poll until the server answers (True), or it exits or the time is up (False, and it is stopped)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            server.process.wait()
            return False
        if answers(server):
            return True
        time.sleep(0.05)
    server.process.kill()
    server.process.wait()
    raise ServiceError(f"{type(server).__name__.lower()} did not answer on {HOST}:{server.port} within "
                       f"{timeout:.0f} s: {last_line(server.log) or 'no output'}")


def _mqtt_answers(broker: Mosquitto) -> bool:
    """A full MQTT CONNECT/CONNACK round trip (an open port alone is not a broker that answers)."""
    connect = bytes([0x10, 12, 0, 4]) + b"MQTT" + bytes([4, 2, 0, 10, 0, 0])  # v3.1.1, clean, empty id
    try:
        with socket.create_connection((HOST, broker.port), timeout=1.0) as sock:
            sock.sendall(connect)
            return sock.recv(4)[:1] == b"\x20"  # CONNACK
    except OSError:
        return False


def _postgres_answers(server: Postgres) -> bool:
    import psycopg  # lazily: only a caller that starts PostgreSQL pays for it

    try:
        with psycopg.connect(server.url, connect_timeout=2) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.OperationalError:
        return False


def _port_was_taken(log: str) -> bool:
    return "address already in use" in log.lower()


def log_tail(path: Path, limit: int = 4000) -> str:
    """The last ``limit`` characters of a server's log file ("" when it cannot be read)."""
    try:
        return path.read_text(errors="replace")[-limit:].strip()
    except OSError:
        return ""


def last_line(text: str) -> str:
    """The last non-blank line of ``text``."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


# -- installing the binaries -----------------------------------------------------------------

def ensure_installed(install: bool = True) -> list[str]:
    """Make sure the server binaries are there; as root with ``apt-get`` (and ``install``), install
    Debian's packages for what is missing, with every service start refused (``policy-rc.d``).

    Returns:
        the packages that were installed (empty when nothing was missing).

    Raises:
        ServiceError: something is missing and cannot be installed here, naming the packages.
    """
    missing = missing_packages()
    if not missing:
        return []
    apt = shutil.which("apt-get")
    if not install or os.geteuid() != 0 or apt is None:
        raise ServiceError(f"the test services need Debian's {' and '.join(missing)} packages: "
                           f"run `sudo apt-get install {' '.join(missing)}`, then `make install` again")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    policy = Path("/usr/sbin/policy-rc.d")
    ours = not policy.exists()
    if ours:  # Debian's documented switch: invoke-rc.d starts no service while this exits 101
        policy.write_text("#!/bin/sh\n# written by vscm's make install while it installs packages\nexit 101\n")
        policy.chmod(0o755)
    try:
        for command in ([apt, "update", "-qq"],
                        [apt, "install", "-y", "-qq", "--no-install-recommends", *missing]):
            done = subprocess.run(command, env=env, stdin=subprocess.DEVNULL, check=False)
            if done.returncode != 0:
                raise ServiceError(f"`{' '.join(command)}` failed (exit {done.returncode})")
        _disable_system_services(missing, env)
    finally:
        if ours:
            policy.unlink(missing_ok=True)
    still = missing_packages()
    if still:
        raise ServiceError(f"installed {' '.join(missing)} but the binaries of {' and '.join(still)} are still "
                           "not found")
    return missing


def _disable_system_services(packages: Sequence[str], env: dict[str, str]) -> None:
    """Undo what the packages' scripts enabled (init.d links and systemd units; ``update-rc.d``
    handles both): the servers run only as private instances. A step that fails is reported."""
    for name in packages:
        if shutil.which("update-rc.d") is None or not Path(f"/etc/init.d/{name}").exists():
            continue
        command = ["update-rc.d", name, "disable"]
        done = subprocess.run(command, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              check=False)
        if done.returncode != 0:
            print(f"warning: `{' '.join(command)}` failed: {last_line(done.stderr)}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m vscm.devservices ensure``: exit 0 when the binaries are there (installing them if
    it can), 1 with one line naming what to install otherwise."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args != ["ensure"]:
        print("usage: python -m vscm.devservices ensure", file=sys.stderr)
        return 2
    try:
        installed = ensure_installed()
    except ServiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if installed:
        print(f"installed Debian's {' and '.join(installed)} (no system service started)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
