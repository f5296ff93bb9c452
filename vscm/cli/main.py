"""The ``vscm`` command: the root click group, and the one place where errors become messages.

Every error a user can cause ends as one line ``error: <message>`` on stderr and exit code 1 -
vscm's own errors, bad parameters, unknown commands, an argument that is not UTF-8, Ctrl-C. Anything else is a bug: it is reported
as ``error: internal: <type>: <message>`` (exit 1), or re-raised with its traceback when
``VSCM_DEBUG=1``.

A new command group is added to ``COMMANDS`` below: its module is imported only when the command runs
(``vscm --help`` and every other command do not pay for it), its one-line help is listed there.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import click

from vscm import __version__
from vscm.cli.context import CliConfig
from vscm.env import KEYSTORE_DIR_ENV
from vscm.errors import VscmError

__all__ = ["COMMANDS", "DEBUG_ENV", "VscmGroup", "cli", "main", "run", "run_guarded"]

DEBUG_ENV = "VSCM_DEBUG"
EXIT_ERROR = 1

# click >= 8.2 raises this for a group called without a subcommand; older versions print help.
_NoArgsIsHelpError: Any = getattr(click.exceptions, "NoArgsIsHelpError", ())


def run_guarded(invoke: Callable[[], Any], args: Sequence[str] | None = None) -> int:
    """Call ``invoke`` (a click ``main(..., standalone_mode=False)``) and turn errors into one line.

    Args:
        invoke: runs the command.
        args: its command-line arguments (default ``sys.argv[1:]``), to name one that is not UTF-8.

    Returns:
        The exit code: 0, an explicit ``ctx.exit(code)``, or 1 after printing ``error: ...``.
    """
    try:
        result = invoke()
    except _NoArgsIsHelpError as exc:  # "vscm" or "vscm wallet" alone: show the help, succeed
        click.echo(exc.ctx.get_help() if exc.ctx is not None else exc.format_message())
        return 0
    except click.UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        return _fail(exc.format_message() + hint)
    except click.ClickException as exc:
        return _fail(exc.format_message())
    except VscmError as exc:
        return _fail(str(exc) or type(exc).__name__)
    except (click.Abort, KeyboardInterrupt, EOFError):
        return _fail("aborted")
    except UnicodeEncodeError as exc:  # text from argv with bytes that are not UTF-8 (kept as surrogates)
        bad = _not_utf8(sys.argv[1:] if args is None else args)
        if bad is None:
            if os.environ.get(DEBUG_ENV) == "1":
                raise
            return _fail(f"internal: {type(exc).__name__}: {exc} (set {DEBUG_ENV}=1 for the traceback)")
        return _fail(f"argument {bad} is not valid UTF-8 text: pass it in UTF-8 (check the terminal's or the "
                     "script's encoding)")
    except Exception as exc:
        if os.environ.get(DEBUG_ENV) == "1":
            raise
        return _fail(f"internal: {type(exc).__name__}: {exc} (set {DEBUG_ENV}=1 for the traceback)")
    # In non-standalone mode click returns the command's return value, or the code of ctx.exit().
    # Commands return None, so an int here is an exit code.
    if isinstance(result, int) and not isinstance(result, bool):
        return result
    return 0


#: command name -> (module, attribute, one-line help shown by ``vscm --help``; a test checks it is the
#: command's own). Each module is imported on first use, so a command loads only what it needs.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "wallet": ("vscm.cli.wallet", "wallet",
               "Create, import and inspect encrypted wallets (Web3 Secret Storage files)."),
    "node": ("vscm.cli.node", "node", "A local anvil node whose chain survives stop and start ($VSCM_HOME/node)."),
    "network": ("vscm.cli.network", "network",
                "A local network of Kaia validators (Istanbul BFT, zero gas price, every fork from block 0)."),
    "deploy": ("vscm.cli.node", "deploy",
               "Deploy and wire the platform, signed by the operator's wallet; writes the manifest."),
    "member": ("vscm.cli.members", "member", "Apply, admit, certify, suspend and inspect members."),
    "chain": ("vscm.cli.members", "supply_chain", "Virtual supply chains: create, join, approve, leave, show."),
    "cash": ("vscm.cli.cash", "cash", "Settlement cash (PlatformCash), per currency; amounts like 1250.50."),
    "order": ("vscm.cli.orders", "order",
              "Orders between members of a supply chain, their documents and settlement."),
    "asset": ("vscm.cli.finance", "asset",
              "Financeable assets: receivables, payables, warehouse receipts, future-goods rights."),
    "loan": ("vscm.cli.finance", "loan",
             "Loans in the four financing modes: apply, approve, disburse, repay, track the money."),
    "lender": ("vscm.cli.lender", "lender", "A lender's view of its loans (from the lenders' index)."),
    "audit": ("vscm.cli.audit", "audit", "The auditor's replay of the chain history."),
    "monitor": ("vscm.cli.risk", "monitor", "The risk monitor: follows the chain and raises alerts."),
    "risk": ("vscm.cli.risk", "risk", "Alerts, lender decisions and fraud findings (RiskControl)."),
    "oracle": ("vscm.cli.oracle", "oracle",
               "The IoT oracle: simulate devices, run the oracle nodes, verify a reading."),
    "device": ("vscm.cli.oracle", "device",
               "IoT devices: registered by the warehouse or carrier that runs them, each with its own key."),
    "serve": ("vscm.cli.serve", "serve",
              ("Serve the console: pages and JSON API (OpenAPI at /openapi.json, docs at /docs) on the index, "
               "which a background thread keeps up to date from the chain.")),
}


class VscmGroup(click.Group):
    """A click group whose standalone ``main`` reports errors the vscm way (see :func:`run_guarded`),
    and whose subcommands (``COMMANDS``) are imported only when one of them runs.

    Overriding ``main`` rather than only wrapping it in :func:`main` gives ``CliRunner.invoke(cli)``
    in tests the same exit codes and messages as the installed ``vscm`` script.
    """

    def __init__(self, *args: Any, lazy: dict[str, tuple[str, str, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in self.lazy:
            module, attribute, _ = self.lazy[cmd_name]
            command = getattr(importlib.import_module(module), attribute)
            self.add_command(command, cmd_name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The commands with their one-line help, without importing the lazy ones."""
        rows = []
        limit = formatter.width - 6 - max((len(name) for name in self.list_commands(ctx)), default=0)
        for name in self.list_commands(ctx):
            if name in self.commands or name not in self.lazy:
                command = self.get_command(ctx, name)
                if command is None or command.hidden:
                    continue
                rows.append((name, command.get_short_help_str(limit)))
            else:
                rows.append((name, click.Command(name, help=self.lazy[name][2]).get_short_help_str(limit)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        def invoke() -> Any:
            return super(VscmGroup, self).main(args, prog_name, complete_var, standalone_mode=False, **extra)

        if not standalone_mode:
            return invoke()
        sys.exit(run_guarded(invoke, args))


@click.group(
    name="vscm",
    cls=VscmGroup,
    lazy=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "--version", prog_name="vscm")
@click.option(
    "--keystore-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar=KEYSTORE_DIR_ENV,
    show_envvar=True,
    default=None,
    help="Directory of encrypted wallets [default: ~/.vscm/keystores].",
)
@click.pass_context
def cli(ctx: click.Context, keystore_dir: Path | None) -> None:
    """VSCM: supply-chain finance on an EVM chain.

    Errors are printed as one line and exit with code 1; add --json to a command for machine output.
    """
    ctx.obj = CliConfig(keystore_dir=keystore_dir)





def run(argv: Sequence[str] | None = None) -> int:
    """Run the ``vscm`` command line on ``argv`` (default ``sys.argv[1:]``) and return the exit code."""
    return run_guarded(lambda: cli.main(args=argv, prog_name="vscm", standalone_mode=False), argv)


def main() -> NoReturn:
    """Entry point of the ``vscm`` script."""
    sys.exit(run())


def _fail(message: str) -> int:
    click.echo(f"error: {_one_line(message)}", err=True)
    return EXIT_ERROR


def _not_utf8(args: Sequence[str]) -> str | None:
    """The first argument that held bytes other than UTF-8 (Python keeps them as lone surrogates),
    shown with those bytes escaped (``'Caf\\xe9 Ltd'``)."""
    for arg in args:
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            return "'" + arg.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace") + "'"
    return None


def _one_line(message: str) -> str:
    return re.sub(r"\s*\n\s*", " ", message).strip()


if __name__ == "__main__":
    main()
