"""Encrypted wallets on disk: Web3 Secret Storage (keystore v3) files in one private directory.

Each wallet is one file ``<label>.json`` in the keystore directory (``~/.vscm/keystores`` unless
``VSCM_KEYSTORE_DIR`` or the caller says otherwise). The directory is kept at mode 0700 and every
key file at 0600; files are written to a temporary file first and then moved into place, so a
crash never leaves half a key behind, and an existing wallet is never overwritten.
"""

from __future__ import annotations

import builtins
import json
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import click
from eth_typing import ChecksumAddress
from eth_utils import ValidationError, is_hex_address, to_checksum_address

from vscm.env import KEYSTORE_DIR_ENV
from vscm.errors import WalletError

if TYPE_CHECKING:  # eth-account is imported where a key is made or opened: reading an address needs none of it
    from eth_account.signers.local import LocalAccount

__all__ = [
    "DEFAULT_KEYSTORE_DIR",
    "FAST_KDF_ENV",
    "FAST_SCRYPT_N",
    "KEYSTORE_DIR_ENV",
    "LABEL_PATTERN",
    "PASSWORD_ENV",
    "PBKDF2_ITERATIONS",
    "SCRYPT_N",
    "Kdf",
    "Keystore",
    "WalletInfo",
    "parse_private_key",
    "read_secret_file",
    "resolve_keystore_dir",
    "resolve_password",
    "validate_label",
]

Kdf = Literal["scrypt", "pbkdf2"]

PASSWORD_ENV = "VSCM_PASSWORD"
# Test hook: VSCM_KDF_FAST=1 makes new keystores use a cheap scrypt work factor. Files written
# this way are still valid keystores (decrypt reads the work factor from the file), only weak.
FAST_KDF_ENV = "VSCM_KDF_FAST"
DEFAULT_KEYSTORE_DIR = Path("~") / ".vscm" / "keystores"

SCRYPT_N = 2**18  # the standard scrypt work factor of Web3 Secret Storage (geth, eth-account)
PBKDF2_ITERATIONS = 1_000_000  # eth-keyfile's default for pbkdf2
FAST_SCRYPT_N = 2**10  # tests only: about 1 ms instead of about 1 s

LABEL_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")

_DIR_MODE = 0o700
_FILE_MODE = 0o600
_HEX_KEY = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class WalletInfo:
    """What can be known about a wallet without its passphrase."""

    label: str
    address: ChecksumAddress
    path: Path


def validate_label(label: str) -> str:
    """Check that ``label`` can name a wallet file.

    Args:
        label: 1-64 characters from ``a-z 0-9 _ -``, starting with a letter or a digit.

    Returns:
        The label, unchanged.

    Raises:
        WalletError: the label has another shape.
    """
    if not isinstance(label, str) or not LABEL_PATTERN.fullmatch(label):
        raise WalletError(
            f"bad wallet label {_quote(label)}: use 1-64 characters from a-z, 0-9, '_' and '-', "
            "starting with a letter or a digit (e.g. 'bank')"
        )
    return label


def resolve_keystore_dir(directory: str | os.PathLike[str] | None = None) -> Path:
    """The keystore directory: ``directory`` if given, else ``$VSCM_KEYSTORE_DIR``, else ``~/.vscm/keystores``.

    Returns:
        An absolute path with ``~`` expanded; the directory need not exist.
    """
    if directory is None or str(directory) == "":
        directory = os.environ.get(KEYSTORE_DIR_ENV) or DEFAULT_KEYSTORE_DIR
    return Path(directory).expanduser().absolute()


def parse_private_key(text: str) -> bytes:
    """Read a secp256k1 private key written as 64 hex digits, with or without ``0x``.

    The key never appears in an error message.

    Returns:
        The 32 key bytes.

    Raises:
        WalletError: not 64 hex digits, or not a valid key (zero or not below the curve order).
    """
    digits = text.strip() if isinstance(text, str) else ""
    if digits[:2] in ("0x", "0X"):
        digits = digits[2:]
    if not _HEX_KEY.fullmatch(digits):
        raise WalletError("malformed private key: expected 64 hex digits, optionally prefixed with 0x")
    key = bytes.fromhex(digits)
    try:
        from eth_keys import keys

        keys.PrivateKey(key)
    except (ValueError, ValidationError):  # which one depends on eth-keys' backend (coincurve or native)
        raise WalletError(
            "malformed private key: not a valid secp256k1 key (must be above 0 and below the curve order)"
        ) from None
    return key


def read_secret_file(path: str | os.PathLike[str], what: str = "password file") -> str:
    """The first line of a file, without its line ending (other whitespace is kept).

    Raises:
        WalletError: the file cannot be read, is not UTF-8, or its first line is empty.
    """
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise WalletError(f"cannot read {what} '{path}': {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise WalletError(f"cannot read {what} '{path}': not UTF-8 text") from None
    first = text.split("\n", 1)[0].removesuffix("\r")
    if not first:
        raise WalletError(f"{what} '{path}' is empty: put the secret on its first line")
    return first


def resolve_password(
    password_file: str | os.PathLike[str] | None,
    env_var: str | None = PASSWORD_ENV,
    prompt: bool = True,
    confirm: bool = False,
    prompt_text: str = "Passphrase",
) -> str:
    """Find a passphrase: the first line of ``password_file``, else ``$env_var``, else a hidden prompt.

    A passphrase is never taken from a command-line argument, where other users could read it.

    Args:
        password_file: file whose first line is the passphrase, or ``None``.
        env_var: environment variable to read when there is no file (empty counts as unset);
            ``None`` to skip the environment.
        prompt: ask on the terminal when there is neither file nor variable.
        confirm: ask twice (use when creating a wallet).
        prompt_text: the question to show.

    Returns:
        The passphrase.

    Raises:
        WalletError: the file is unreadable or empty, or no source is available and ``prompt`` is off.
        click.Abort: the prompt was interrupted (Ctrl-C, end of input).
    """
    if password_file is not None:
        return read_secret_file(password_file, "password file")
    if env_var:
        value = os.environ.get(env_var)
        if value:
            return value
    if not prompt:
        where = f" or set {env_var}" if env_var else ""
        raise WalletError(f"no passphrase given: use --password-file FILE{where}")
    value = click.prompt(prompt_text, hide_input=True, confirmation_prompt=confirm, type=str, err=True)
    return str(value)


class Keystore:
    """A directory of encrypted wallets, one Web3 Secret Storage file per label.

    Args:
        directory: where the files live; default ``$VSCM_KEYSTORE_DIR`` or ``~/.vscm/keystores``.
        kdf: key derivation for new files, ``"scrypt"`` (standard) or ``"pbkdf2"``.
        iterations: work factor for new files (scrypt ``n`` or pbkdf2 rounds). Default: the
            standard strength, or the cheap test setting when ``VSCM_KDF_FAST=1``. Lower it only
            in tests.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str] | None = None,
        *,
        kdf: Kdf = "scrypt",
        iterations: int | None = None,
    ) -> None:
        if kdf not in ("scrypt", "pbkdf2"):
            raise WalletError(f"unknown key derivation function {kdf!r}: use 'scrypt' or 'pbkdf2'")
        if iterations is None:
            if kdf == "scrypt":
                iterations = FAST_SCRYPT_N if os.environ.get(FAST_KDF_ENV) == "1" else SCRYPT_N
            else:
                iterations = PBKDF2_ITERATIONS
        self.directory: Path = resolve_keystore_dir(directory)
        self.kdf: Kdf = kdf
        self.iterations: int = iterations

    def __repr__(self) -> str:
        return f"Keystore({str(self.directory)!r}, kdf={self.kdf!r}, iterations={self.iterations})"

    @property
    def is_weak(self) -> bool:
        """True when new files get less than the standard work factor (test settings)."""
        standard = SCRYPT_N if self.kdf == "scrypt" else PBKDF2_ITERATIONS
        return self.iterations < standard

    def path_for(self, label: str) -> Path:
        """The file that holds (or would hold) wallet ``label``; raises WalletError on a bad label."""
        return self.directory / f"{validate_label(label)}.json"

    def exists(self, label: str) -> bool:
        """Whether wallet ``label`` exists; raises WalletError on a bad label."""
        return self.path_for(label).exists()

    def check_new_label(self, label: str) -> Path:
        """Check that ``label`` is valid and free, before asking the user for secrets.

        Returns:
            The path the new wallet will get.

        Raises:
            WalletError: bad label, or a wallet with this label exists.
        """
        path = self.path_for(label)
        if path.exists():
            raise _exists_error(label, path)
        return path

    def new(self, label: str, password: str) -> WalletInfo:
        """Create a wallet with a fresh random key.

        Raises:
            WalletError: bad or taken label, empty passphrase, or the file cannot be written.
        """
        self.check_new_label(label)
        from eth_account import Account

        account = Account.create()
        return self._store(label, bytes(account.key), password)

    def import_key(self, label: str, private_key_hex: str, password: str) -> WalletInfo:
        """Store an existing private key (64 hex digits, optional ``0x``) under ``label``.

        Raises:
            WalletError: malformed key, bad or taken label, empty passphrase, or a write failure.
        """
        self.check_new_label(label)
        return self._store(label, parse_private_key(private_key_hex), password)

    def list(self) -> builtins.list[WalletInfo]:
        """All wallets, sorted by label, read without decrypting anything.

        Files whose names are not wallet labels (``README``, temporary files) are ignored.

        Raises:
            WalletError: a wallet file is unreadable or corrupt.
        """
        if not self.directory.is_dir():
            return []
        self._secure_directory(create=False)
        found = []
        for path in sorted(self.directory.glob("*.json")):
            if LABEL_PATTERN.fullmatch(path.stem) and path.is_file():
                found.append(self._info(path.stem, self._read(path.stem)))
        return found

    def labels(self) -> builtins.list[str]:
        """The labels of all wallets, sorted (without reading the files)."""
        if not self.directory.is_dir():
            return []
        return sorted(
            p.stem for p in self.directory.glob("*.json") if LABEL_PATTERN.fullmatch(p.stem) and p.is_file()
        )

    def info(self, label: str) -> WalletInfo:
        """Label, address and path of one wallet, without decrypting it.

        Raises:
            WalletError: unknown label, or the file is unreadable or corrupt.
        """
        return self._info(label, self._read(label))

    def address(self, label: str) -> ChecksumAddress:
        """The checksummed address of wallet ``label``, without decrypting it.

        Raises:
            WalletError: unknown label, or the file is unreadable or corrupt.
        """
        return self.info(label).address

    def unlock(self, label: str, password: str) -> LocalAccount:
        """Decrypt wallet ``label`` into an account that can sign.

        Raises:
            WalletError: unknown label, wrong passphrase, or a corrupt file (including one whose key
                does not match its recorded address).
        """
        data = self._read(label)
        info = self._info(label, data)
        try:
            from eth_account import Account

            key = Account.decrypt(data, password)
        except ValueError as exc:
            if "MAC mismatch" in str(exc):
                raise WalletError(f"wrong passphrase for wallet '{label}'") from None
            raise _corrupt_error(info.path, str(exc)) from exc
        except (KeyError, TypeError, NotImplementedError) as exc:
            raise _corrupt_error(info.path, f"{type(exc).__name__}: {exc}") from exc
        account: LocalAccount = Account.from_key(key)
        if account.address != info.address:
            raise _corrupt_error(info.path, f"it holds the key of {account.address}, not {info.address}")
        return account

    # -- private ---------------------------------------------------------------------------------

    def _read(self, label: str) -> dict[str, Any]:
        path = self.path_for(label)
        if not path.is_file():
            raise self._unknown_error(label)
        self._secure_directory(create=False)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise WalletError(f"cannot read keystore file {path}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise _corrupt_error(path, "not UTF-8 text") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _corrupt_error(path, f"not JSON ({exc.msg} at line {exc.lineno})") from None
        if not isinstance(data, dict) or not isinstance(data.get("crypto"), dict):
            raise _corrupt_error(path, "not a Web3 Secret Storage file (no 'crypto' section)")
        return data

    def _info(self, label: str, data: dict[str, Any]) -> WalletInfo:
        path = self.path_for(label)
        raw = data.get("address")
        if not isinstance(raw, str):
            raise _corrupt_error(path, "no 'address' field")
        address = raw if raw[:2] in ("0x", "0X") else "0x" + raw
        if not is_hex_address(address):
            raise _corrupt_error(path, f"bad 'address' field {_quote(raw)}")
        return WalletInfo(label=label, address=to_checksum_address(address), path=path)

    def _store(self, label: str, key: bytes, password: str) -> WalletInfo:
        path = self.path_for(label)
        if not password:
            raise WalletError(f"empty passphrase for wallet '{label}': choose a non-empty one")
        from eth_account import Account

        keyfile = Account.encrypt(key, password, kdf=self.kdf, iterations=self.iterations)
        self._secure_directory(create=True)
        _write_new_file(path, label, (json.dumps(keyfile, indent=2) + "\n").encode("utf-8"))
        return self._info(label, keyfile)

    def _secure_directory(self, create: bool) -> None:
        """Create the directory at 0700 (if asked) and take group/other permissions off it."""
        directory = self.directory
        if create:
            try:
                directory.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
            except OSError as exc:
                raise WalletError(f"cannot create keystore directory {directory}: {exc.strerror or exc}") from None
        try:
            mode = stat.S_IMODE(directory.stat().st_mode)
        except FileNotFoundError:
            return
        if mode != _DIR_MODE:
            try:
                os.chmod(directory, _DIR_MODE)
            except OSError as exc:
                raise WalletError(
                    f"keystore directory {directory} has mode {mode:o} and cannot be set to 700: "
                    f"{exc.strerror or exc}"
                ) from None

    def _unknown_error(self, label: str) -> WalletError:
        known = self.labels()
        if known:
            hint = "known wallets: " + ", ".join(known)
        else:
            hint = f"no wallets there yet; create one with 'vscm wallet new {label}'"
        return WalletError(f"no wallet '{label}' in {self.directory} ({hint})")


def _write_new_file(path: Path, label: str, data: bytes) -> None:
    """Write ``data`` to a new file ``path`` (mode 0600) atomically, never replacing an existing file.

    The bytes go to a temporary file in the same directory, are flushed to disk, and the file is then
    hard-linked to its final name: ``os.link`` fails if the name exists, so unlike ``os.replace`` it
    cannot overwrite a wallet created in the meantime. Where the filesystem has no hard links we fall
    back to check-then-``os.replace``. The temporary file is removed in every case.
    """
    directory = path.parent
    try:
        fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise WalletError(f"cannot write keystore file {path}: {exc.strerror or exc}") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.chmod(tmp, _FILE_MODE)  # mkstemp already uses 0600; say it rather than rely on it
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise _exists_error(label, path) from None
        except OSError:
            if path.exists():
                raise _exists_error(label, path) from None
            os.replace(tmp, path)
        _fsync_directory(directory)
    except OSError as exc:
        raise WalletError(f"cannot write keystore file {path}: {exc.strerror or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)


def _fsync_directory(directory: Path) -> None:
    """Make the new directory entry durable (best effort: not every platform can open a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _exists_error(label: str, path: Path) -> WalletError:
    return WalletError(f"wallet '{label}' already exists ({path}); choose another label")


def _corrupt_error(path: Path, detail: str) -> WalletError:
    return WalletError(f"corrupt keystore file {path}: {detail}; restore it from your backup")


def _quote(value: object, limit: int = 70) -> str:
    """``repr`` of a user value, cut short, so that an error stays on one readable line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"
