"""The CLI's root loads a command's module only when that command runs: `vscm --help` lists every
command from ``COMMANDS`` without importing web3, and each listed line is the command's own help."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest

from vscm.cli.main import COMMANDS, cli


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_listed_command_is_the_one_its_module_defines(name: str) -> None:
    module, _, short = COMMANDS[name]
    command = cli.get_command(click.Context(cli), name)
    assert command is not None and command.name == name
    assert command.callback is not None and command.callback.__module__ == module
    assert command.get_short_help_str(limit=1000) == short, f"update COMMANDS[{name!r}] in vscm/cli/main.py"


def test_help_lists_every_command_without_importing_web3_or_a_command_module() -> None:
    probe = ("import sys\n"
             "from vscm.cli.main import cli\n"
             "try:\n    cli.main(['--help'], prog_name='vscm')\nexcept SystemExit:\n    pass\n"
             "loaded = sorted(m for m in sys.modules if m == 'web3' or m.startswith('vscm.cli.') "
             "and m not in ('vscm.cli.main', 'vscm.cli.context'))\n"
             "print('LOADED', loaded)\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert "LOADED []" in out
    for name in COMMANDS:
        assert f"\n  {name} " in out
