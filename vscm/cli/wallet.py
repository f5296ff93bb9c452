"""``vscm wallet``: create, import and inspect encrypted wallets.

Secrets never come from command-line arguments: passphrases come from ``--password-file``,
``$VSCM_PASSWORD`` or a hidden prompt, private keys from ``--key-file`` or a hidden prompt.

Other command groups that sign transactions use :func:`signer_options` and :func:`unlock_signer`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from vscm.cli.context import get_config
from vscm.cli.output import emit, json_option, key_value_table, table_style, wide_option
from vscm.wallet.keystore import (
    FAST_KDF_ENV,
    Keystore,
    WalletInfo,
    parse_private_key,
    read_secret_file,
    resolve_password,
)

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

__all__ = [
    "keystore_dir_option",
    "open_keystore",
    "password_file_option",
    "signer_options",
    "unlock_signer",
    "wallet",
]

F = TypeVar("F", bound=Callable[..., Any])

keystore_dir_option = click.option(
    "--keystore-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory of encrypted wallets (overrides 'vscm --keystore-dir' and $VSCM_KEYSTORE_DIR).",
)

password_file_option = click.option(
    "--password-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Read the passphrase from the first line of this file (else $VSCM_PASSWORD, else a prompt).",
)


def open_keystore(keystore_dir: Path | None = None) -> Keystore:
    """The keystore for this command: ``keystore_dir``, else ``vscm --keystore-dir``, else the default."""
    return Keystore(keystore_dir if keystore_dir is not None else get_config().keystore_dir)


def signer_options(command: F) -> F:
    """Decorator adding ``--wallet LABEL`` and ``--password-file FILE`` to a command that signs.

    The command receives ``wallet`` (str) and ``password_file`` (Path or None); pass both to
    :func:`unlock_signer`.
    """
    command = password_file_option(command)
    return click.option(
        "--wallet", "wallet", required=True, metavar="LABEL",
        help="Label of the wallet that signs (its agent signs, with no passphrase, while `vscm wallet unlock` holds it)."
    )(command)


def unlock_signer(label: str, password_file: Path | None, keystore_dir: Path | None = None) -> LocalAccount:
    """The signer of wallet ``label``: its unlock agent when `vscm wallet unlock` started one (an
    :class:`vscm.wallet.agent.AgentAccount`, which signs as the account would and has no key), else the
    wallet unlocked with a passphrase from the file, ``$VSCM_PASSWORD`` or a prompt.

    Raises:
        WalletError: unknown wallet, wrong passphrase, unreadable password file, corrupt keystore.
    """
    store = open_keystore(keystore_dir)
    store.info(label)  # fail on an unknown wallet before asking for its passphrase
    from vscm.wallet.agent import find_agent

    held = find_agent(store, label)
    if held is not None:  # unlocked by `vscm wallet unlock`: the agent signs, no passphrase is asked
        return cast("LocalAccount", held)
    password = resolve_password(password_file, prompt_text=f"Passphrase for wallet '{label}'")
    return store.unlock(label, password)


@click.group("wallet")
def wallet() -> None:
    """Create, import and inspect encrypted wallets (Web3 Secret Storage files)."""


@wallet.command("new")
@click.argument("label")
@password_file_option
@keystore_dir_option
@json_option
def new_cmd(label: str, password_file: Path | None, keystore_dir: Path | None, as_json: bool) -> None:
    """Create wallet LABEL with a new random key, encrypted with a passphrase."""
    store = open_keystore(keystore_dir)
    store.check_new_label(label)
    password = resolve_password(password_file, confirm=True, prompt_text=f"New passphrase for wallet '{label}'")
    info = store.new(label, password)
    _warn_if_weak(store)
    emit(info, as_json, _created_view)


@wallet.command("import")
@click.argument("label")
@click.option(
    "--key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Read the private key (64 hex digits) from the first line of this file (else a hidden prompt).",
)
@password_file_option
@keystore_dir_option
@json_option
def import_cmd(
    label: str, key_file: Path | None, password_file: Path | None, keystore_dir: Path | None, as_json: bool
) -> None:
    """Store an existing private key as wallet LABEL, encrypted with a passphrase."""
    store = open_keystore(keystore_dir)
    store.check_new_label(label)
    if key_file is not None:
        private_key = read_secret_file(key_file, "key file")
    else:
        private_key = str(click.prompt("Private key (hex)", hide_input=True, type=str, err=True))
    parse_private_key(private_key)  # reject a malformed key before asking for a passphrase
    password = resolve_password(password_file, confirm=True, prompt_text=f"New passphrase for wallet '{label}'")
    info = store.import_key(label, private_key, password)
    _warn_if_weak(store)
    emit(info, as_json, _created_view)


@wallet.command("list")
@keystore_dir_option
@json_option
def list_cmd(keystore_dir: Path | None, as_json: bool) -> None:
    """List wallets: label, address and file (no passphrase needed)."""
    store = open_keystore(keystore_dir)
    wallets = store.list()
    emit(wallets, as_json, lambda data: _wallets_view(data, store.directory))


@wallet.command("address")
@click.argument("label")
@click.option(
    "--verify",
    is_flag=True,
    help="Also unlock the key to prove the passphrase (from --password-file, $VSCM_PASSWORD or a prompt).",
)
@password_file_option
@keystore_dir_option
@json_option
def address_cmd(
    label: str, verify: bool, password_file: Path | None, keystore_dir: Path | None, as_json: bool
) -> None:
    """Print the address of wallet LABEL (no passphrase needed unless --verify)."""
    store = open_keystore(keystore_dir)
    info = store.info(label)
    if verify:
        password = resolve_password(password_file, prompt_text=f"Passphrase for wallet '{label}'")
        store.unlock(label, password)  # raises WalletError on a wrong passphrase or a corrupt file
    result = {"label": info.label, "address": info.address, "verified": verify}
    emit(result, as_json, _address_view)


def _lifetime(ctx: click.Context, param: click.Parameter, value: str) -> int:
    """--for as seconds; a bad duration is a usage error (exit 2)."""
    from vscm.errors import WalletError
    from vscm.wallet.agent import parse_duration

    try:
        return parse_duration(value)
    except WalletError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


@wallet.command("unlock")
@click.argument("label")
@click.option("--for", "duration", default="15m", show_default=True, metavar="DURATION", callback=_lifetime,
              help="How long the agent holds the key: 90s, 15m, 2h, 1h30m (at most 12h).")
@password_file_option
@keystore_dir_option
@json_option
def unlock_cmd(label: str, duration: int, password_file: Path | None, keystore_dir: Path | None,
               as_json: bool) -> None:
    """Unlock wallet LABEL once: an agent of yours keeps its key in memory and signs for your vscm commands
    until it locks, so that they ask for no passphrase (as ssh-agent does for SSH keys).

    The agent listens on a Unix socket only your user can open (directory 0700, socket 0600, the peer's uid
    checked), never hands the key out, and ends when its time is up, on `vscm wallet lock`, or when killed.
    Unlocking a wallet that is already unlocked starts its time again.

    \b
    Examples:
      vscm wallet unlock bank                  # for 15 minutes
      vscm wallet unlock bank --for 2h --password-file bank.pass
      vscm wallet agents
      vscm wallet lock bank
    """
    from vscm.wallet.agent import start_agent

    lifetime = int(duration)
    store = open_keystore(keystore_dir)
    store.info(label)  # an unknown wallet fails before its passphrase is asked
    password = resolve_password(password_file, prompt_text=f"Passphrase for wallet '{label}'")
    status = start_agent(store.unlock(label, password), store, label, lifetime)
    emit(status.as_dict(), as_json, lambda d: key_value_table(
        [("wallet", d["label"]), ("address", d["address"]), ("locks at", d["locks_at"][:19].replace("T", " ") + " UTC"),
         ("agent pid", d["pid"]),
         ("socket", d["socket"])], title=f"Wallet '{label}' unlocked"))


@wallet.command("lock")
@click.argument("label", required=False)
@click.option("--all", "every", is_flag=True, help="Lock every unlocked wallet of your user.")
@keystore_dir_option
@json_option
def lock_cmd(label: str | None, every: bool, keystore_dir: Path | None, as_json: bool) -> None:
    """Lock wallet LABEL (or --all): its agent forgets the key and ends; the next write asks for the passphrase.

    \b
    Examples:
      vscm wallet lock bank
      vscm wallet lock --all
    """
    from vscm.wallet.agent import list_agents, lock, socket_path

    if (label is None) == (not every):
        raise click.UsageError("give a wallet LABEL or --all")
    if every:
        locked = [s.label for s in list_agents() if lock(s.socket, s.label)]
    else:
        assert label is not None
        store = open_keystore(keystore_dir)
        store.info(label)  # an unknown wallet is named as such
        path = socket_path(store.path_for(label), label)
        locked = [label] if path.exists() and lock(path, label) else []
    result = {"locked": locked}
    emit(result, as_json, lambda r: Text(
        "locked: " + ", ".join(r["locked"]) if r["locked"] else "no wallet was unlocked"))


@wallet.command("agents")
@wide_option
@json_option
def agents_cmd(wide: bool, as_json: bool) -> None:
    """List the unlocked wallets of your user: their agents, when each locks, how many signatures each made.

    \b
    Examples:
      vscm wallet agents
      vscm wallet agents --wide               # full addresses and the keystore files, one line each
      vscm wallet agents --json
    """
    from vscm.wallet.agent import agent_dir, list_agents

    rows = [status.as_dict() for status in list_agents()]
    emit(rows, as_json, lambda data: _agents_view(data, agent_dir(), wide))


def _agents_view(rows: list[dict[str, Any]], directory: Path, wide: bool) -> RenderableType:
    from vscm.cli.views import short_address

    if not rows:
        return Text(f"No wallet is unlocked (no agent in {directory}); `vscm wallet unlock LABEL` starts one.")
    table = Table(title=None if wide else f"Unlocked wallets (agents in {directory})", title_justify="left",
                  **table_style(wide))
    names = ("Wallet", "Address", "Locks at (UTC)", "Left", "Signatures", "PID") + (("Keystore",) if wide else ())
    for name in names:
        table.add_column(name, no_wrap=True, justify="right" if name in ("Signatures", "PID") else "left")
    for row in rows:
        left = int(row["seconds_left"])
        cells = [row["label"], row["address"] if wide else short_address(row["address"]),
                 row["locks_at"][:19].replace("T", " "), f"{left // 60}m{left % 60:02d}s",
                 str(row["signatures"]), str(row["pid"])] + ([row["keystore"]] if wide else [])
        table.add_row(*cells)
    return table


def _warn_if_weak(store: Keystore) -> None:
    if store.is_weak:
        click.echo(
            f"warning: wallet encrypted with a weak test work factor ({store.kdf} {store.iterations}, "
            f"e.g. from {FAST_KDF_ENV}=1): do not keep real funds in it",
            err=True,
        )


def _created_view(info: WalletInfo) -> RenderableType:
    table = key_value_table(
        [("label", info.label), ("address", info.address), ("file", info.path)],
        title=f"Wallet '{info.label}' created",
    )
    note = Text("Back up the file and remember the passphrase: without both, the key is lost.", style="dim")
    return Group(table, note)


def _wallets_view(wallets: list[WalletInfo], directory: Path) -> RenderableType:
    if not wallets:
        return Text(f"No wallets in {directory}; create one with 'vscm wallet new LABEL'.")
    table = Table(title=f"Wallets in {directory}", title_justify="left")
    table.add_column("Label", style="bold", no_wrap=True)
    table.add_column("Address", no_wrap=True, min_width=42)
    table.add_column("File", overflow="fold")
    for item in wallets:
        table.add_row(item.label, item.address, str(item.path))
    return table


def _address_view(result: dict[str, Any]) -> RenderableType:
    if result["verified"]:
        return Text(f"{result['address']}\npassphrase verified for wallet '{result['label']}'")
    return Text(str(result["address"]))
