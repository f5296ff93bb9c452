"""``vscm wallet``: create, import and inspect encrypted wallets.

Secrets never come from command-line arguments: passphrases come from ``--password-file``,
``$VSCM_PASSWORD`` or a hidden prompt, private keys from ``--key-file`` or a hidden prompt.

Other command groups that sign transactions use :func:`signer_options` and :func:`unlock_signer`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from vscm.cli.context import get_config
from vscm.cli.output import emit, json_option, key_value_table
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
        "--wallet", "wallet", required=True, metavar="LABEL", help="Label of the wallet that signs."
    )(command)


def unlock_signer(label: str, password_file: Path | None, keystore_dir: Path | None = None) -> LocalAccount:
    """Unlock wallet ``label`` with a passphrase from the file, ``$VSCM_PASSWORD`` or a prompt.

    Raises:
        WalletError: unknown wallet, wrong passphrase, unreadable password file, corrupt keystore.
    """
    store = open_keystore(keystore_dir)
    store.info(label)  # fail on an unknown wallet before asking for its passphrase
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
