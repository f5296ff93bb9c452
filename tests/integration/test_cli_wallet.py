"""``vscm wallet ...`` end to end, and how the ``vscm`` command reports errors (no chain)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from vscm.cli.main import VscmGroup, cli, run
from vscm.cli.params import ADDRESS, AMOUNT

KNOWN_KEY = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
KNOWN_ADDRESS = "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"
VSCM_SCRIPT = Path(sys.executable).parent / "vscm"


@pytest.fixture
def keystore_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh keystore directory, cheap key derivation, no passphrase in the environment."""
    directory = tmp_path / "keystores"
    monkeypatch.setenv("VSCM_KEYSTORE_DIR", str(directory))
    monkeypatch.setenv("VSCM_KDF_FAST", "1")
    monkeypatch.delenv("VSCM_PASSWORD", raising=False)
    monkeypatch.delenv("VSCM_DEBUG", raising=False)
    return directory


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "bank.pass"
    path.write_text("correct horse battery staple\n")
    return path


@pytest.fixture
def wrong_password_file(tmp_path: Path) -> Path:
    path = tmp_path / "wrong.pass"
    path.write_text("Tr0ub4dor&3\n")
    return path


def invoke(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input)


def assert_one_line_error(result: Result, message: str, code: int = 1) -> None:
    assert result.exit_code == code, result.output
    assert result.stderr.strip() == f"error: {message}"
    assert "Traceback" not in result.output


def new_wallet(label: str, password_file: Path) -> dict[str, str]:
    result = invoke("wallet", "new", label, "--password-file", str(password_file), "--json")
    assert result.exit_code == 0, result.output
    created: dict[str, str] = json.loads(result.stdout)
    return created


# -- wallet commands ---------------------------------------------------------------------------


def test_wallet_round_trip_new_list_address_verify(keystore_dir: Path, password_file: Path) -> None:
    created = new_wallet("bank", password_file)

    listed = json.loads(invoke("wallet", "list", "--json").stdout)
    shown = json.loads(invoke("wallet", "address", "bank", "--json").stdout)
    verified = invoke("wallet", "address", "bank", "--verify", "--password-file", str(password_file), "--json")

    assert created["label"] == "bank"
    assert created["path"] == str(keystore_dir / "bank.json")
    assert listed == [created]
    assert shown == {"label": "bank", "address": created["address"], "verified": False}
    assert verified.exit_code == 0, verified.output
    assert json.loads(verified.stdout) == {"label": "bank", "address": created["address"], "verified": True}


def test_wallet_new_asks_twice_for_a_hidden_passphrase(keystore_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = invoke("wallet", "new", "bank", "--json", input="s3cret\ns3cret\n")

    assert result.exit_code == 0, result.output
    assert "s3cret" not in result.output  # hidden input is not echoed
    monkeypatch.setenv("VSCM_PASSWORD", "s3cret")
    assert invoke("wallet", "address", "bank", "--verify").exit_code == 0


def test_wallet_new_warns_about_the_test_work_factor(keystore_dir: Path, password_file: Path) -> None:
    result = invoke("wallet", "new", "bank", "--password-file", str(password_file))

    assert result.exit_code == 0
    assert "warning: wallet encrypted with a weak test work factor" in result.stderr


def test_wallet_import_from_key_file_gives_known_address(
    keystore_dir: Path, password_file: Path, tmp_path: Path
) -> None:
    key_file = tmp_path / "key.hex"
    key_file.write_text(KNOWN_KEY + "\n")

    result = invoke(
        "wallet", "import", "supplier", "--key-file", str(key_file), "--password-file", str(password_file), "--json"
    )

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["address"] == KNOWN_ADDRESS


def test_wallet_import_reads_the_key_from_a_hidden_prompt(keystore_dir: Path, password_file: Path) -> None:
    result = invoke("wallet", "import", "supplier", "--password-file", str(password_file), "--json", input=KNOWN_KEY + "\n")

    assert result.exit_code == 0, result.output
    assert KNOWN_KEY[2:] not in result.output
    assert json.loads(result.stdout)["address"] == KNOWN_ADDRESS


def test_wallet_import_refuses_malformed_key(keystore_dir: Path, password_file: Path, tmp_path: Path) -> None:
    key_file = tmp_path / "key.hex"
    key_file.write_text("0x1234\n")

    result = invoke("wallet", "import", "supplier", "--key-file", str(key_file), "--password-file", str(password_file))

    assert_one_line_error(result, "malformed private key: expected 64 hex digits, optionally prefixed with 0x")


def test_wallet_list_prints_a_table_for_people(keystore_dir: Path, password_file: Path) -> None:
    created = new_wallet("bank", password_file)

    result = invoke("wallet", "list")

    assert result.exit_code == 0
    assert "bank" in result.stdout
    assert created["address"] in result.stdout


def test_wallet_list_of_empty_keystore(keystore_dir: Path) -> None:
    assert json.loads(invoke("wallet", "list", "--json").stdout) == []
    assert "No wallets in" in invoke("wallet", "list").stdout


def test_keystore_dir_option_on_root_and_subcommand(tmp_path: Path, keystore_dir: Path, password_file: Path) -> None:
    root_dir, sub_dir = tmp_path / "root", tmp_path / "sub"

    invoke("--keystore-dir", str(root_dir), "wallet", "new", "bank", "--password-file", str(password_file))
    invoke("wallet", "new", "core", "--keystore-dir", str(sub_dir), "--password-file", str(password_file))

    assert [p.name for p in root_dir.iterdir()] == ["bank.json"]
    assert [p.name for p in sub_dir.iterdir()] == ["core.json"]
    assert not keystore_dir.exists()


# -- errors: one line, exit code 1 --------------------------------------------------------------


def test_wrong_passphrase_is_one_line_and_exit_1(
    keystore_dir: Path, password_file: Path, wrong_password_file: Path
) -> None:
    new_wallet("bank", password_file)

    result = invoke("wallet", "address", "bank", "--verify", "--password-file", str(wrong_password_file))

    assert_one_line_error(result, "wrong passphrase for wallet 'bank'")
    assert result.stdout == ""


def test_existing_label_is_refused(keystore_dir: Path, password_file: Path) -> None:
    new_wallet("bank", password_file)

    result = invoke("wallet", "new", "bank", "--password-file", str(password_file))

    assert_one_line_error(
        result, f"wallet 'bank' already exists ({keystore_dir / 'bank.json'}); choose another label"
    )


def test_existing_label_is_refused_before_asking_for_a_passphrase(keystore_dir: Path, password_file: Path) -> None:
    new_wallet("bank", password_file)

    result = invoke("wallet", "new", "bank", input="")  # a prompt would read EOF and abort instead

    assert result.exit_code == 1
    assert "already exists" in result.stderr


def test_unknown_wallet_names_the_known_ones(keystore_dir: Path, password_file: Path) -> None:
    new_wallet("bank", password_file)

    assert_one_line_error(
        invoke("wallet", "address", "bnk"), f"no wallet 'bnk' in {keystore_dir} (known wallets: bank)"
    )


def test_bad_label_is_refused(keystore_dir: Path, password_file: Path) -> None:
    result = invoke("wallet", "new", "Bank!", "--password-file", str(password_file))

    assert result.exit_code == 1
    assert result.stderr.startswith("error: bad wallet label 'Bank!'")


def test_usage_errors_exit_2_with_one_line(keystore_dir: Path) -> None:
    assert_one_line_error(invoke("wallet", "new"), "Missing argument 'LABEL'. (see 'vscm wallet new --help')", 2)
    assert_one_line_error(invoke("wallet", "frobnicate"), "No such command 'frobnicate'. (see 'vscm wallet --help')",
                          2)


def test_end_of_input_at_the_prompt_is_one_line(keystore_dir: Path) -> None:
    result = invoke("wallet", "new", "bank", input="")  # end of input at the passphrase prompt

    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1].startswith("error: no answer to a prompt (the input ended)")
    assert not keystore_dir.joinpath("bank.json").exists()


def test_help_without_subcommand_exits_0(keystore_dir: Path) -> None:
    result = invoke()

    assert result.exit_code == 0
    assert "wallet" in result.stdout


# -- the framework: parameter types and unexpected errors --------------------------------------


def _probe_cli() -> click.Group:
    """A root group like ``vscm``'s with commands that exercise the error paths."""

    @click.group(cls=VscmGroup, name="vscm")
    def probe() -> None:
        pass

    @probe.command()
    @click.argument("to", type=ADDRESS)
    @click.argument("amount", type=AMOUNT)
    def pay(to: str, amount: int) -> None:
        click.echo(json.dumps({"to": to, "amount": amount}))

    @probe.command()
    def crash() -> None:
        raise RuntimeError("boom")

    @probe.command()
    def interrupt() -> None:
        raise KeyboardInterrupt

    return probe


def test_param_types_convert_through_the_cli() -> None:
    result = CliRunner().invoke(_probe_cli(), ["pay", KNOWN_ADDRESS.lower(), "1250.50"])

    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"to": KNOWN_ADDRESS, "amount": 125050}


def test_malformed_address_is_one_line_exit_2() -> None:
    result = CliRunner().invoke(_probe_cli(), ["pay", "0x12", "1"])

    assert_one_line_error(
        result,
        "Invalid value for 'TO': bad address '0x12': expected 0x followed by 40 hex digits (see 'vscm pay --help')",
        2,
    )


def test_malformed_amount_is_one_line_exit_2() -> None:
    result = CliRunner().invoke(_probe_cli(), ["pay", KNOWN_ADDRESS, "abc"])

    assert_one_line_error(
        result, "Invalid value for 'AMOUNT': bad amount 'abc': expected a number like 1250.50 (see 'vscm pay --help')",
        2,
    )


def test_unexpected_exception_is_one_line_internal_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VSCM_DEBUG", raising=False)

    result = CliRunner().invoke(_probe_cli(), ["crash"])

    assert_one_line_error(result, "internal: RuntimeError: boom (set VSCM_DEBUG=1 for the traceback)")


def test_unexpected_exception_is_raised_with_vscm_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VSCM_DEBUG", "1")

    result = CliRunner().invoke(_probe_cli(), ["crash"])

    assert isinstance(result.exception, RuntimeError)


def test_keyboard_interrupt_is_one_line_exit_130() -> None:
    result = CliRunner().invoke(_probe_cli(), ["interrupt"])

    assert result.exit_code == 130
    assert result.stderr == "error: interrupted\n"


def test_run_returns_the_exit_code(keystore_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["wallet", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []

    assert run(["wallet", "address", "nobody"]) == 1
    assert capsys.readouterr().err.startswith("error: no wallet 'nobody'")


# -- the installed script, in a real process ---------------------------------------------------


def _script(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    if not VSCM_SCRIPT.exists():
        pytest.skip(f"{VSCM_SCRIPT} is not installed (run 'make install')")
    return subprocess.run(
        [str(VSCM_SCRIPT), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def test_installed_script_round_trip_and_one_line_errors(
    keystore_dir: Path, password_file: Path, wrong_password_file: Path
) -> None:
    env = {**os.environ, "VSCM_KEYSTORE_DIR": str(keystore_dir), "VSCM_KDF_FAST": "1"}
    env.pop("VSCM_PASSWORD", None)
    env.pop("VSCM_DEBUG", None)

    created = _script("wallet", "new", "bank", "--password-file", str(password_file), "--json", env=env)
    verified = _script("wallet", "address", "bank", "--verify", "--password-file", str(password_file), env=env)
    wrong = _script("wallet", "address", "bank", "--verify", "--password-file", str(wrong_password_file), env=env)
    usage = _script("wallet", "new", "--no-such-option", env=env)

    assert created.returncode == 0, created.stderr
    address = json.loads(created.stdout)["address"]
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.splitlines()[0] == address
    for failed, message, code in [
        (wrong, "error: wrong passphrase for wallet 'bank'", 1),
        (usage, "error: No such option '--no-such-option'.", 2),
    ]:
        assert failed.returncode == code
        assert len(failed.stderr.splitlines()) == 1, failed.stderr
        assert failed.stderr.startswith(message)
        assert "Traceback" not in failed.stderr + failed.stdout
