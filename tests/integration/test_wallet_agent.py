"""The unlock agent (vscm.wallet.agent, ``vscm wallet unlock/lock/agents``): a wallet's key kept by a process of
the member's own for a limited time, signing exactly as the unlocked keystore would, reachable only by its user.

No chain here: a CLI write signed by the agent is in tests/integration/test_cli_quick.py.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from eth_account.messages import encode_defunct, encode_typed_data

from vscm.cli.main import cli
from vscm.cli.schemas import validate
from vscm.cli.wallet import unlock_signer
from vscm.errors import WalletError
from vscm.wallet.agent import AgentAccount, find_agent, list_agents, parse_duration, socket_path
from vscm.wallet.keystore import Keystore

PASSPHRASE = "correct horse battery staple"
KNOWN_KEY = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
KNOWN_ADDRESS = "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"
TX = {"to": "0x5B38Da6a701c568545dCfcB03FcB875f56beddC4", "data": "0xa9059cbb" + "00" * 64, "value": 0,
      "chainId": 31337, "gas": 90_000, "nonce": 7, "maxFeePerGas": 2 * 10**9, "maxPriorityFeePerGas": 10**9}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Path]]:
    """A keystore with wallet 'bank' (the known key, cheap work factor), a passphrase file, and a short private
    agent directory (a Unix socket path has at most 107 bytes); every agent still running is ended afterwards."""
    keys = tmp_path / "keys"
    agents = Path(tempfile.mkdtemp(prefix="vag-"))
    monkeypatch.setenv("VSCM_KEYSTORE_DIR", str(keys))
    monkeypatch.setenv("VSCM_AGENT_DIR", str(agents))
    monkeypatch.delenv("VSCM_PASSWORD", raising=False)
    Keystore(keys, iterations=2**10).import_key("bank", KNOWN_KEY, PASSPHRASE)
    password = tmp_path / "pass"
    password.write_text(PASSPHRASE + "\n")
    yield {"keys": keys, "agents": agents, "password": password}
    for status in list_agents():
        os.kill(status.pid, signal.SIGTERM)
    shutil.rmtree(agents, ignore_errors=True)


def invoke(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input)


def unlock(home: dict[str, Path], *more: str) -> dict[str, object]:
    result = invoke("wallet", "unlock", "bank", "--password-file", str(home["password"]), "--json", *more)
    assert result.exit_code == 0, result.output
    unlocked: dict[str, object] = json.loads(result.stdout)
    validate("wallet unlock", unlocked)  # docs/json.md's schema
    return unlocked


def wait_until_gone(pid: int, path: Path) -> None:
    deadline = time.monotonic() + 60
    while (path.exists() or _alive(pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not path.exists() and not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat_file:  # a zombie (ended, not yet reaped by its parent) has ended
        return stat_file.read().rsplit(")", 1)[1].split()[0] != "Z"


def test_the_agent_signs_what_the_unlocked_keystore_signs_and_never_gives_the_key(home: dict[str, Path]) -> None:
    unlocked = unlock(home)
    store = Keystore()
    agent = find_agent(store, "bank")
    local = store.unlock("bank", PASSPHRASE)

    assert isinstance(agent, AgentAccount)
    assert agent.address == unlocked["address"] == KNOWN_ADDRESS
    signed, expected = agent.sign_transaction(TX), local.sign_transaction(TX)
    assert signed.raw_transaction == bytes(expected.raw_transaction)
    assert signed.hash == bytes(expected.hash)
    text = encode_defunct(text="audit report 0xabc")
    typed = encode_typed_data(full_message={
        "types": {"EIP712Domain": [{"name": "name", "type": "string"}], "Ping": [{"name": "n", "type": "uint256"}]},
        "primaryType": "Ping", "domain": {"name": "vscm"}, "message": {"n": 7}})
    assert agent.sign_message(text) == local.sign_message(text)
    assert agent.sign_message(typed) == local.sign_message(typed)
    with pytest.raises(WalletError, match=r"wallet 'bank' is unlocked in an agent, which never hands its key out"):
        agent.key  # noqa: B018
    assert find_agent(store, "bank").status.signatures == 3  # type: ignore[union-attr]


def test_a_transaction_the_agent_cannot_sign_is_refused_with_its_reason_and_the_agent_goes_on(
        home: dict[str, Path]) -> None:
    unlock(home)
    agent = find_agent(Keystore(), "bank")
    assert agent is not None

    with pytest.raises(WalletError, match=r"^the agent of wallet 'bank' refused: TypeError: .*'nonce'"):
        agent.sign_transaction({k: v for k, v in TX.items() if k != "nonce"})
    assert agent.sign_transaction(TX).hash


def test_commands_sign_through_the_agent_without_a_passphrase(home: dict[str, Path]) -> None:
    unlock(home)
    signer = unlock_signer("bank", None)  # no file, no $VSCM_PASSWORD: a prompt would fail here

    assert isinstance(signer, AgentAccount)
    assert signer.address == KNOWN_ADDRESS


def test_only_its_user_can_open_the_socket_in_a_private_directory(home: dict[str, Path]) -> None:
    unlocked = unlock(home)
    sock = Path(str(unlocked["socket"]))

    assert sock.parent == home["agents"]
    assert stat.S_IMODE(home["agents"].stat().st_mode) == 0o700
    assert stat.S_ISSOCK(sock.stat().st_mode) and stat.S_IMODE(sock.stat().st_mode) == 0o600
    home["agents"].chmod(0o755)
    with pytest.raises(WalletError, match=rf"^the agent directory {home['agents']} is open to other users \(mode 755\)"
                                          rf": run `chmod 700 {home['agents']}`$"):
        find_agent(Keystore(), "bank")
    home["agents"].chmod(0o700)


@pytest.mark.skipif(os.getuid() != 0, reason="connecting as another user needs root to switch users")
def test_a_process_of_another_user_gets_no_answer_even_through_an_open_socket(home: dict[str, Path]) -> None:
    unlocked = unlock(home)
    sock = str(unlocked["socket"])
    os.chmod(home["agents"], 0o711)  # let user 65534 reach the socket, and open the socket itself: only the uid check
    os.chmod(sock, 0o666)            # is left between that user and the key
    probe = ("import socket, sys, time\ns = socket.socket(socket.AF_UNIX)\ns.connect(sys.argv[1])\ntry:\n"
             "    time.sleep(0.5)\n"
             "    s.sendall(b'{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": \"agent_status\"}\\n')\n"
             "    print(repr(s.recv(4096)))\nexcept (BrokenPipeError, ConnectionResetError):\n    print('closed')\n")
    python = shutil.which("python3", path="/usr/bin:/bin")  # the system's: the venv under /root is closed to others
    assert python is not None
    try:
        out = subprocess.run([python, "-c", probe, sock], capture_output=True, text=True, check=False,
                             user=65534, group=65534)
    finally:
        os.chmod(home["agents"], 0o700)

    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() in ("b''", "closed")  # connected, and closed without a word
    assert find_agent(Keystore(), "bank") is not None  # its owner still gets answers


def test_a_wrong_passphrase_starts_no_agent(home: dict[str, Path], tmp_path: Path) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("Tr0ub4dor&3\n")

    result = invoke("wallet", "unlock", "bank", "--password-file", str(wrong))

    assert result.exit_code == 1
    assert result.stderr.strip() == "error: wrong passphrase for wallet 'bank'"
    assert list(home["agents"].iterdir()) == [] and list_agents() == []


def test_bad_durations_are_usage_errors() -> None:
    assert [parse_duration(t) for t in ("90s", "15m", "2h", "1h30m", "600", "12h")] == [90, 900, 7200, 5400, 600,
                                                                                        43200]
    for text, reason in (("30x", "use e.g. 90s, 15m, 2h or 1h30m"), ("", "use e.g. 90s, 15m, 2h or 1h30m"),
                         ("0", "an agent holds a key for 1 s to 12 h"), ("13h", "an agent holds a key for 1 s to 12 h")):
        with pytest.raises(WalletError, match=f"^bad duration '{text}': {reason}$"):
            parse_duration(text)
    result = invoke("wallet", "unlock", "bank", "--for", "1d")
    assert result.exit_code == 2
    assert "Invalid value for '--for': bad duration '1d'" in result.stderr


def test_lock_ends_the_agent_and_the_next_signature_needs_the_passphrase(home: dict[str, Path]) -> None:
    unlocked = unlock(home)
    pid, sock = int(str(unlocked["pid"])), Path(str(unlocked["socket"]))

    result = invoke("wallet", "lock", "bank", "--json")

    assert result.exit_code == 0, result.output
    validate("wallet lock", json.loads(result.stdout))
    assert json.loads(result.stdout) == {"locked": ["bank"]}
    wait_until_gone(pid, sock)
    assert find_agent(Keystore(), "bank") is None
    assert list(home["agents"].iterdir()) == []  # no socket, no log left behind
    signer = unlock_signer("bank", home["password"])
    assert not isinstance(signer, AgentAccount) and bytes(signer.key).hex() == KNOWN_KEY[2:]  # the passphrase's way
    assert json.loads(invoke("wallet", "lock", "bank", "--json").stdout) == {"locked": []}
    assert invoke("wallet", "lock").exit_code == 2


def test_the_agent_ends_when_its_time_is_up(home: dict[str, Path]) -> None:
    unlocked = unlock(home, "--for", "2s")

    wait_until_gone(int(str(unlocked["pid"])), Path(str(unlocked["socket"])))
    assert find_agent(Keystore(), "bank") is None
    assert json.loads(invoke("wallet", "agents", "--json").stdout) == []


def test_unlocking_again_replaces_the_agent_and_starts_its_time_again(home: dict[str, Path]) -> None:
    first = unlock(home, "--for", "5m")
    second = unlock(home, "--for", "2h")

    assert first["pid"] != second["pid"]
    wait_until_gone(int(str(first["pid"])), Path("/nonexistent"))
    listed = json.loads(invoke("wallet", "agents", "--json").stdout)
    validate("wallet agents", listed)
    assert [(a["label"], a["pid"], a["address"]) for a in listed] == [("bank", second["pid"], KNOWN_ADDRESS)]
    assert 7100 < listed[0]["seconds_left"] <= 7200


def test_a_killed_agents_socket_is_found_stale_and_the_wallet_counts_as_locked(home: dict[str, Path]) -> None:
    unlocked = unlock(home)
    sock = Path(str(unlocked["socket"]))
    os.kill(int(str(unlocked["pid"])), signal.SIGKILL)  # no clean-up: the socket stays behind
    deadline = time.monotonic() + 60
    while _alive(int(str(unlocked["pid"]))) and time.monotonic() < deadline:
        time.sleep(0.05)

    assert sock.exists()
    assert find_agent(Keystore(), "bank") is None
    assert not sock.exists()


def test_an_agent_holding_another_key_at_the_wallets_socket_signs_nothing(home: dict[str, Path]) -> None:
    store = Keystore()
    Keystore(home["keys"], iterations=2**10).new("other", PASSPHRASE)
    unlocked = unlock(home)
    os.rename(str(unlocked["socket"]), socket_path(store.path_for("other"), "other"))

    with pytest.raises(WalletError, match=rf"^the agent at .*other\..*\.sock holds {KNOWN_ADDRESS} \(wallet 'bank'\), "
                                          r"not wallet 'other' \(0x[0-9a-fA-F]{40}\)"):
        find_agent(store, "other")


def test_agents_lists_the_unlocked_wallets_readably(home: dict[str, Path]) -> None:
    assert "No wallet is unlocked" in invoke("wallet", "agents").stdout
    unlock(home)
    shown = invoke("wallet", "agents").stdout
    wide = invoke("wallet", "agents", "--wide").stdout

    assert "bank" in shown and "0x2c75…" in shown and KNOWN_ADDRESS not in shown
    row = next(line for line in wide.splitlines() if line.startswith("bank"))
    assert KNOWN_ADDRESS in row and str(home["keys"] / "bank.json") in row


def test_a_socket_path_too_long_for_unix_is_named(home: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VSCM_AGENT_DIR", "/tmp/" + "d" * 90)
    with pytest.raises(WalletError, match=r"is longer than a Unix socket allows \(107 bytes\): set VSCM_AGENT_DIR"):
        socket_path(home["keys"] / "bank.json", "bank")


def test_the_agent_refuses_a_malformed_request_and_goes_on(home: dict[str, Path]) -> None:
    unlocked = unlock(home)
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(str(unlocked["socket"]))
    conn.sendall(b"not json\n")
    answer = json.loads(conn.recv(4096))
    conn.close()

    assert answer["error"]["message"] == "malformed request"
    assert find_agent(Keystore(), "bank") is not None


def test_the_agent_process_is_made_not_dumpable() -> None:
    """What the agent does first (vscm.wallet.agent._main): no core dump, no ptrace by the user's other processes."""
    probe = ("import ctypes\nfrom vscm.wallet.agent import _not_dumpable\nlibc = ctypes.CDLL(None)\n"
             "before = libc.prctl(3, 0, 0, 0, 0)\n_not_dumpable()\nprint(before, libc.prctl(3, 0, 0, 0, 0))\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)

    assert out.stdout.split() == ["1", "0"]  # PR_GET_DUMPABLE: dumpable before, not after


def test_a_wallet_without_an_agent_signs_by_passphrase_whatever_the_agent_directory_is(home: dict[str, Path]) -> None:
    home["agents"].chmod(0o777)  # unsafe, but holds no socket of this wallet: nothing in it is used
    try:
        signer = unlock_signer("bank", home["password"])
    finally:
        home["agents"].chmod(0o700)

    assert not isinstance(signer, AgentAccount) and signer.address == KNOWN_ADDRESS


def test_a_terminated_agent_removes_its_socket(home: dict[str, Path]) -> None:
    unlocked = unlock(home)
    pid, sock = int(str(unlocked["pid"])), Path(str(unlocked["socket"]))

    os.kill(pid, signal.SIGTERM)

    wait_until_gone(pid, sock)
    assert list(home["agents"].iterdir()) == []
