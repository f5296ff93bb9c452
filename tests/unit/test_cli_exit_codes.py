"""The exit codes of ``vscm``: one mapping (``EXIT_CODES``), the README's table of it, and the real
command line ending with each code (in-process with CliRunner; the script itself for Ctrl-C and for a
node that does not answer). No chain is needed here: refusals on chain (3) and audit differences (4)
are run end to end in tests/integration/test_cli_platform.py and test_cli_audit.py."""

from __future__ import annotations

import importlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import click
import pytest
import requests
from click.testing import CliRunner

from vscm.cli.main import EXIT_CODES, ExitCode, cli, exit_code
from vscm.errors import (
    AuditDifferences,
    ChainError,
    ContractRevert,
    InputError,
    NodeUnreachable,
    NotFound,
    TransactionFailed,
)

ROOT = Path(__file__).resolve().parents[2]
VSCM = Path(sys.executable).parent / "vscm"


def readme_table() -> dict[int, set[str]]:
    """code -> the class names in the README's exit-code table (rows of one code are merged)."""
    text = (ROOT / "README.md").read_text()
    start = text.index("| code | when | raised as |")
    rows: dict[int, set[str]] = {}
    for line in text[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        rows.setdefault(int(cells[0]), set()).update(re.findall(r"`([\w.]+)`", cells[2]))
    return rows


def test_readme_exit_code_table_is_the_mapping() -> None:
    mapped: dict[int, set[str]] = {int(code): set() for code in ExitCode}
    for name, code in EXIT_CODES.items():
        mapped[int(code)].add(name)
    assert readme_table() == mapped


@pytest.mark.parametrize("name", sorted(EXIT_CODES))
def test_every_mapped_name_is_a_class(name: str) -> None:
    module, _, qualname = name.rpartition(".")
    found = getattr(importlib.import_module(module), qualname)
    assert isinstance(found, type) and issubclass(found, BaseException)
    assert f"{found.__module__}.{found.__qualname__}" == name


def test_error_classes_take_their_family_code() -> None:
    refused_on_connection = ChainError("cannot reach")
    refused_on_connection.__cause__ = requests.ConnectionError("refused")
    assert exit_code(ContractRevert("OrderNotBuyer", {"orderId": 1})) == ExitCode.REFUSED
    assert exit_code(TransactionFailed("out of gas")) == ExitCode.REFUSED
    assert exit_code(AuditDifferences("2 differences")) == ExitCode.AUDIT_DIFFERENCES
    assert exit_code(NodeUnreachable("no node")) == ExitCode.NODE_UNREACHABLE
    assert exit_code(requests.ReadTimeout("slow")) == ExitCode.NODE_UNREACHABLE
    assert exit_code(refused_on_connection) == ExitCode.NODE_UNREACHABLE
    assert exit_code(InputError("bad amount")) == exit_code(click.BadParameter("x")) == ExitCode.USAGE
    assert exit_code(NotFound("no order")) == exit_code(ChainError("x")) == exit_code(KeyError("x")) == ExitCode.ERROR
    assert exit_code(KeyboardInterrupt()) == ExitCode.INTERRUPTED


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    """A well-formed manifest of a platform that is nowhere (the node is asked before anything else)."""
    address = "0x" + "11" * 20
    data = {"network": "node", "chain_id": 31337, "block": 1, "operator": address, "registry": address,
            "orders": address, "cash": {"CNY": address}, "assets": address, "funds": address, "loans": address}
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(data))
    return path


def invoke(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    env = {"VSCM_HOME": str(tmp_path / "home"), "VSCM_KEYSTORE_DIR": str(tmp_path / "keys"), "VSCM_NETWORK": None,
           "VSCM_DEPLOYMENT": None}
    result = CliRunner().invoke(cli, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def assert_one_line(stderr: str, *fragments: str) -> None:
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert "Traceback" not in stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def test_usage_errors_exit_2(tmp_path: Path, manifest: Path) -> None:
    cases = [
        (("wallet", "frobnicate"), "No such command 'frobnicate'"),
        (("cash", "transfer", "CNY", "0x" + "22" * 20, "-5", "--wallet", "core"), "bad amount '-5'"),
        (("cash", "balance", "core", "--network", "mainnet", "--deployment", str(manifest)),
         "unknown network 'mainnet'"),
    ]
    for args, fragment in cases:
        code, out, err = invoke(tmp_path, *args)
        assert (code, out) == (2, ""), (args, err)
        assert_one_line(err, fragment)
    assert not (tmp_path / "home").exists()


def test_a_bad_manifest_exits_2_and_no_manifest_exits_1(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("[1, 2]")
    code, _, err = invoke(tmp_path, "cash", "balance", "0x" + "22" * 20, "--deployment", str(broken))
    assert code == 2 and "expected a JSON object" in err
    code, _, err = invoke(tmp_path, "cash", "balance", "0x" + "22" * 20)
    assert code == 1
    assert_one_line(err, "no deployment manifest", "vscm deploy")


def test_no_local_node_exits_5_and_says_to_start_one(tmp_path: Path, manifest: Path) -> None:
    code, out, err = invoke(tmp_path, "cash", "balance", "0x" + "22" * 20, "--deployment", str(manifest))
    assert (code, out) == (5, "")
    assert_one_line(err, "no anvil node is running", "vscm node start")


def test_an_unknown_host_exits_5(tmp_path: Path, manifest: Path) -> None:
    code, _, err = invoke(tmp_path, "cash", "balance", "0x" + "22" * 20, "--deployment", str(manifest),
                          "--network", "http://no-such-node.invalid:8545")
    assert code == 5
    assert_one_line(err, "cannot reach a node at http://no-such-node.invalid:8545", "unknown host")


def test_end_of_input_at_a_prompt_is_not_an_interrupt(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["wallet", "new", "bank"], input="",
                                env={"VSCM_KEYSTORE_DIR": str(tmp_path / "keys"), "VSCM_PASSWORD": None})
    assert result.exit_code == 1  # the prompt itself is on stderr too, then the one error line
    assert_one_line(result.stderr.splitlines()[-1], "no answer to a prompt", "--password-file")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def script_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VSCM_")}
    env.update(VSCM_HOME=str(tmp_path / "home"), VSCM_KEYSTORE_DIR=str(tmp_path / "keys"))
    return env


def test_the_script_exits_5_when_the_port_is_closed(tmp_path: Path, manifest: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    result = subprocess.run([str(VSCM), "cash", "balance", "0x" + "22" * 20, "--deployment", str(manifest),
                             "--network", url], env=script_env(tmp_path), capture_output=True, text=True,
                            timeout=120, check=False)
    assert (result.returncode, result.stdout) == (5, ""), result.stderr
    assert_one_line(result.stderr, f"cannot reach a node at {url}", "connection refused")


#: Runs a command with SIGINT as a shell started from a terminal gives it: default and unblocked. A test worker of
#: a whole-suite run may itself have been started with SIGINT ignored, which a child inherits (any program keeps an
#: ignored SIGINT ignored), and Ctrl-C from a terminal is what the test below is about. (An exec wrapper, not
#: preexec_fn, which is unsafe in a process with threads.)
FROM_A_TERMINAL = (sys.executable, "-c", ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                   "signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT}); os.execv(sys.argv[1], sys.argv[1:])"))


def test_the_script_interrupted_while_it_waits_for_a_node_exits_130(tmp_path: Path, manifest: Path) -> None:
    """A node that accepts the connection and never answers: once the command is connected (it waits
    for the answer), SIGINT; one line, no traceback, exit 130."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        url = f"http://127.0.0.1:{server.getsockname()[1]}"
        process = subprocess.Popen([*FROM_A_TERMINAL, str(VSCM), "cash", "balance", "0x" + "22" * 20, "--deployment",
                                    str(manifest), "--network", url], env=script_env(tmp_path),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            connection, _ = server.accept()  # the command is waiting for the node's answer now
            with connection:
                process.send_signal(signal.SIGINT)
                out, err = process.communicate(timeout=120)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert (process.returncode, out) == (130, ""), err
    assert err == "error: interrupted\n"


def test_version_and_help_exit_0(tmp_path: Path) -> None:
    from vscm import __version__

    code, out, err = invoke(tmp_path, "--version")
    assert (code, out, err) == (0, f"vscm, version {__version__}\n", "")
    code, out, _ = invoke(tmp_path, "--help")
    assert code == 0 and "exit with a code that says which kind" in " ".join(out.split())


def test_a_network_none_of_whose_nodes_answers_exits_5(tmp_path: Path, manifest: Path) -> None:
    urls = f"http://127.0.0.1:{closed_port()},http://127.0.0.1:{closed_port()}"
    code, _, err = invoke(tmp_path, "cash", "balance", "0x" + "22" * 20, "--deployment", str(manifest),
                          "--network", urls)
    assert code == 5
    assert_one_line(err, f"cannot reach a node at {urls}: no node of the network answers eth_chainId")
