"""The ``vscm`` command: the root click group, and the one place where errors become messages.

Every error a user can cause ends as one line ``error: <message>`` on stderr, with the exit code
:data:`EXIT_CODES` gives its class (the README's table of exit codes is checked against it): 2 usage
(bad option values, unknown commands, an argument that is not UTF-8), 3 refused on chain, 4 the audit
found differences, 5 no node answered, 130 interrupted, 1 anything else. Anything vscm did not raise on
purpose is a bug: it is reported as ``error: internal: <type>: <message>`` (exit 1), or re-raised with its
traceback when ``VSCM_DEBUG=1``. Commands raise; none of them picks an exit code.

A new command group is added to ``COMMANDS`` below: its module is imported only when the command runs
(``vscm --help`` and every other command do not pay for it), its one-line help is listed there.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from enum import IntEnum
from pathlib import Path
from typing import Any, NoReturn

import click

from vscm import __version__
from vscm.cli.context import CliConfig
from vscm.env import KEYSTORE_DIR_ENV
from vscm.errors import (
    TRANSPORT_ERRORS,
    AuditDifferences,
    ChainRefusal,
    InputError,
    VscmError,
    is_transport_error,
)

__all__ = ["COMMANDS", "DEBUG_ENV", "EXIT_CODES", "ExitCode", "VscmGroup", "cli", "exit_code", "main", "run",
           "run_guarded"]

DEBUG_ENV = "VSCM_DEBUG"


class ExitCode(IntEnum):
    """The exit codes of ``vscm`` (README, "Exit codes")."""

    OK = 0
    ERROR = 1
    USAGE = 2
    REFUSED = 3
    AUDIT_DIFFERENCES = 4
    NODE_UNREACHABLE = 5
    INTERRUPTED = 130


#: The one mapping from an error's class to the exit code (the first class of the error's MRO found here
#: wins; a transport error of the HTTP stack, or one raised from it, is NODE_UNREACHABLE). Names, not
#: classes, so that nothing is imported for it; a test checks that each names a class, and the README table.
EXIT_CODES: Mapping[str, ExitCode] = {
    "click.exceptions.UsageError": ExitCode.USAGE,  # and BadParameter, NoSuchOption, MissingParameter ...
    "vscm.errors.InputError": ExitCode.USAGE,
    "builtins.UnicodeEncodeError": ExitCode.USAGE,  # an argument that is not UTF-8 (see _not_utf8)
    "vscm.errors.ChainRefusal": ExitCode.REFUSED,  # ContractRevert, TransactionFailed
    "vscm.errors.AuditDifferences": ExitCode.AUDIT_DIFFERENCES,
    "vscm.errors.ReportNotVerified": ExitCode.AUDIT_DIFFERENCES,  # vscm audit verify
    "vscm.errors.NodeUnreachable": ExitCode.NODE_UNREACHABLE,
    **{name: ExitCode.NODE_UNREACHABLE for name in sorted(TRANSPORT_ERRORS)},
    "builtins.KeyboardInterrupt": ExitCode.INTERRUPTED,
    "vscm.errors.VscmError": ExitCode.ERROR,
    "click.exceptions.ClickException": ExitCode.ERROR,
    "builtins.Exception": ExitCode.ERROR,  # a bug: "internal: ..."
}


def exit_code(exc: BaseException) -> ExitCode:
    """The exit code for ``exc`` by :data:`EXIT_CODES` (ERROR for anything it does not name)."""
    if is_transport_error(exc) and not isinstance(exc, (InputError, ChainRefusal, AuditDifferences)):
        return ExitCode.NODE_UNREACHABLE
    for cls in type(exc).__mro__:
        code = EXIT_CODES.get(f"{cls.__module__}.{cls.__qualname__}")
        if code is not None:
            return code
    return ExitCode.ERROR

# click >= 8.2 raises this for a group called without a subcommand; older versions print help.
_NoArgsIsHelpError: Any = getattr(click.exceptions, "NoArgsIsHelpError", ())


def run_guarded(invoke: Callable[[], Any], args: Sequence[str] | None = None) -> int:
    """Call ``invoke`` (a click ``main(..., standalone_mode=False)``) and turn errors into one line.

    Args:
        invoke: runs the command.
        args: its command-line arguments (default ``sys.argv[1:]``), to name one that is not UTF-8.

    Returns:
        The exit code: 0, an explicit ``ctx.exit(code)``, or the :func:`exit_code` of the error after
        printing ``error: ...``.
    """
    try:
        result = invoke()
    except _NoArgsIsHelpError as exc:  # "vscm" or "vscm wallet" alone: show the help, succeed
        click.echo(exc.ctx.get_help() if exc.ctx is not None else exc.format_message())
        return 0
    except click.UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        return _fail(exc, exc.format_message() + hint)
    except click.ClickException as exc:
        return _fail(exc, exc.format_message())
    except VscmError as exc:
        return _fail(exc, str(exc) or type(exc).__name__)
    except click.Abort as exc:  # click turns Ctrl-C and end of input at a prompt into Abort
        if isinstance(exc.__context__, EOFError):
            return _fail(exc, "no answer to a prompt (the input ended): give the value as an option "
                              "(a passphrase: --password-file or $VSCM_PASSWORD)")
        return _fail(KeyboardInterrupt(), "interrupted")
    except (KeyboardInterrupt, _Interrupted):
        return _fail(KeyboardInterrupt(), "interrupted")
    except EOFError as exc:
        return _fail(exc, "the input ended before the command had what it needs")
    except UnicodeEncodeError as exc:  # text from argv with bytes that are not UTF-8 (kept as surrogates)
        bad = _not_utf8(sys.argv[1:] if args is None else args)
        if bad is None:
            if os.environ.get(DEBUG_ENV) == "1":
                raise
            return _fail(Exception(), f"internal: {type(exc).__name__}: {exc} (set {DEBUG_ENV}=1 for the traceback)")
        return _fail(exc, f"argument {bad} is not valid UTF-8 text: pass it in UTF-8 (check the terminal's or the "
                          "script's encoding)")
    except Exception as exc:
        if is_transport_error(exc):  # the node went away in the middle of a command
            return _fail(exc, f"no node answered ({_short(exc)}): check --network and that the node runs "
                              "(`vscm node start` for the local one)")
        if os.environ.get(DEBUG_ENV) == "1":
            raise
        return _fail(exc, f"internal: {type(exc).__name__}: {exc} (set {DEBUG_ENV}=1 for the traceback)")
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
    "cert": ("vscm.cli.certificates", "cert", "Payable certificates: issue, split, pay, finance, redeem, admit/dismiss chains, show, tree."),
    "lender": ("vscm.cli.lender", "lender", "A lender's view of its loans (from the lenders' index)."),
    "audit": ("vscm.cli.audit", "audit", "The auditor's replay of the chain history."),
    "monitor": ("vscm.cli.risk", "monitor", "The risk monitor: follows the chain and raises alerts."),
    "risk": ("vscm.cli.risk", "risk", "Alerts, lender decisions and fraud findings (RiskControl)."),
    "council": ("vscm.cli.council", "council", "The consortium council: propose, approve, execute and list governed changes."),
    "oracle": ("vscm.cli.oracle", "oracle",
               "The IoT oracle: simulate devices, run the oracle nodes, verify a reading."),
    "device": ("vscm.cli.oracle", "device",
               "IoT devices: registered by the warehouse or carrier that runs them, each with its own key."),
    "serve": ("vscm.cli.serve", "serve",
              ("Serve the console: pages and JSON API (OpenAPI at /openapi.json, docs at /docs) on the index, "
               "which a background thread keeps up to date from the chain.")),
}


class _Interrupted(BaseException):
    """Ctrl-C inside a command, carried past click (which would print an empty line and raise Abort)."""


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
            from vscm.cli.examples import add_examples

            add_examples(command, cmd_name)
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

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            raise _Interrupted() from None

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

    Errors are printed as one line and exit with a code that says which kind (2 usage, 3 refused on
    chain, 4 the audit found differences, 5 no node answered, 130 interrupted, 1 anything else);
    add --json to a command for machine output.
    """
    ctx.obj = CliConfig(keystore_dir=keystore_dir)





def run(argv: Sequence[str] | None = None) -> int:
    """Run the ``vscm`` command line on ``argv`` (default ``sys.argv[1:]``) and return the exit code."""
    return run_guarded(lambda: cli.main(args=argv, prog_name="vscm", standalone_mode=False), argv)


def main() -> NoReturn:
    """Entry point of the ``vscm`` script."""
    sys.exit(run())


def _fail(exc: BaseException, message: str) -> int:
    """Print ``message`` as the one line of the error and return the exit code of ``exc``."""
    try:
        click.echo(f"error: {_one_line(message)}", err=True)
    except KeyboardInterrupt:  # a second Ctrl-C while the first is reported
        return ExitCode.INTERRUPTED
    return int(exit_code(exc))


def _short(exc: BaseException) -> str:
    """The innermost reason of a transport error, short (``NewConnectionError ... Connection refused``)."""
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "timed out", "Connection reset"):
        if marker in text:
            return f"{type(exc).__name__}: {marker.lower()}"
    return type(exc).__name__


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
