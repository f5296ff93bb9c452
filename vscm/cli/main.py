"""The ``vscm`` command: the root click group, and the one place where errors become messages.

Every error a user can cause ends as one line ``error: <message>`` on stderr and exit code 1 -
vscm's own errors, bad parameters, unknown commands, an argument that is not UTF-8, Ctrl-C. Anything else is a bug: it is reported
as ``error: internal: <type>: <message>`` (exit 1), or re-raised with its traceback when
``VSCM_DEBUG=1``.

A new command group is added by importing it below and calling ``cli.add_command(group)``.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import click

from vscm import __version__
from vscm.cli.audit import audit
from vscm.cli.cash import cash
from vscm.cli.context import CliConfig
from vscm.cli.finance import asset, loan
from vscm.cli.lender import lender
from vscm.cli.members import member, supply_chain
from vscm.cli.network import network
from vscm.cli.node import deploy, node
from vscm.cli.oracle import device, oracle
from vscm.cli.orders import order
from vscm.cli.risk import monitor, risk
from vscm.cli.serve import serve
from vscm.cli.wallet import wallet
from vscm.errors import VscmError
from vscm.wallet.keystore import KEYSTORE_DIR_ENV

__all__ = ["DEBUG_ENV", "VscmGroup", "cli", "main", "run", "run_guarded"]

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


class VscmGroup(click.Group):
    """A click group whose standalone ``main`` reports errors the vscm way (see :func:`run_guarded`).

    Overriding ``main`` rather than only wrapping it in :func:`main` gives ``CliRunner.invoke(cli)``
    in tests the same exit codes and messages as the installed ``vscm`` script.
    """

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


cli.add_command(wallet)
cli.add_command(node)
cli.add_command(network)
cli.add_command(deploy)
cli.add_command(member)
cli.add_command(supply_chain)
cli.add_command(cash)
cli.add_command(order)
cli.add_command(asset)
cli.add_command(loan)
cli.add_command(lender)
cli.add_command(audit)
cli.add_command(monitor)
cli.add_command(risk)
cli.add_command(oracle)
cli.add_command(device)
cli.add_command(serve)


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
