"""Wallets: encrypted keystore files (Web3 Secret Storage) and where their passphrases come from."""

from __future__ import annotations

from vscm.wallet.keystore import (
    DEFAULT_KEYSTORE_DIR,
    FAST_KDF_ENV,
    KEYSTORE_DIR_ENV,
    PASSWORD_ENV,
    Keystore,
    WalletInfo,
    parse_private_key,
    read_secret_file,
    resolve_keystore_dir,
    resolve_password,
    validate_label,
)

__all__ = [
    "DEFAULT_KEYSTORE_DIR",
    "FAST_KDF_ENV",
    "KEYSTORE_DIR_ENV",
    "PASSWORD_ENV",
    "Keystore",
    "WalletInfo",
    "parse_private_key",
    "read_secret_file",
    "resolve_keystore_dir",
    "resolve_password",
    "validate_label",
]
