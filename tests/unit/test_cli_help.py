"""Every command's --help shows examples (its own or vscm/cli/examples.py's), each naming that command."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from vscm.cli.examples import EXAMPLES
from vscm.cli.main import COMMANDS, cli


def leaves(command: click.Command, path: str) -> list[tuple[str, click.Command]]:
    if isinstance(command, click.Group):
        return [leaf for name, sub in command.commands.items() for leaf in leaves(sub, f"{path} {name}")]
    return [(path, command)]


def every_command() -> list[tuple[str, click.Command]]:
    ctx = click.Context(cli)
    return [leaf for name in COMMANDS for leaf in leaves(cli.get_command(ctx, name), name)]  # type: ignore[arg-type]


def test_every_command_has_examples_in_its_help() -> None:
    missing = [path for path, command in every_command() if "Example" not in (command.help or "")]
    assert missing == []


def test_each_example_names_its_own_command() -> None:
    known = {path for path, _ in every_command()}
    assert set(EXAMPLES) <= known
    for path, lines in EXAMPLES.items():
        assert all(line.startswith(f"vscm {path} ") or line == f"vscm {path}" for line in lines), path


@pytest.mark.parametrize("path", ["loan repay", "order place", "wallet new"])
def test_help_prints_the_examples(path: str) -> None:
    result = CliRunner().invoke(cli, [*path.split(), "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output and f"vscm {path} " in result.output


def complete(words: str, tmp_path: object) -> list[str]:
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "COMP_WORDS": words, "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1)),
           "_VSCM_COMPLETE": "bash_complete", "VSCM_KEYSTORE_DIR": str(tmp_path)}
    out = subprocess.run([str(Path(sys.executable).parent / "vscm")], env=env, capture_output=True, text=True,
                         check=True).stdout
    return [line.split(",", 1)[1] for line in out.splitlines()]


def test_shell_completion_completes_commands_options_and_wallet_labels(tmp_path: object) -> None:
    from pathlib import Path

    keys = Path(str(tmp_path))
    keys.chmod(0o700)
    for label in ("bank", "bank2", "core"):  # completion reads only the file names, not the keys
        (keys / f"{label}.json").write_text("{}")
    assert complete("vscm loan re", keys) == ["reject", "repay"]
    assert "--wide" in complete("vscm loan list --", keys)
    assert complete("vscm lender portfolio ba", keys) == ["bank", "bank2"]
