"""Keystore: encrypted wallet files, their permissions, labels and passphrase sources (no chain)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from eth_account import Account

from vscm.errors import WalletError
from vscm.wallet import Keystore, WalletInfo, parse_private_key, resolve_keystore_dir, resolve_password
from vscm.wallet import keystore as keystore_module

# The example key from eth-account's documentation and the address it belongs to.
KNOWN_KEY = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
KNOWN_ADDRESS = "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"
CHEAP_N = 2**4  # scrypt work factor for tests: the file format is the same, only weak


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("VSCM_KEYSTORE_DIR", "VSCM_PASSWORD", "VSCM_KDF_FAST"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def store(tmp_path: Path) -> Keystore:
    return Keystore(tmp_path / "keystores", iterations=CHEAP_N)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- round trips -------------------------------------------------------------------------------


def test_new_wallet_lists_and_unlocks_to_the_same_address(store: Keystore) -> None:
    info = store.new("bank", "correct horse")

    assert store.list() == [info]
    assert store.address("bank") == info.address
    assert store.unlock("bank", "correct horse").address == info.address
    assert info.path == store.directory / "bank.json"


def test_import_of_known_key_gives_its_address(store: Keystore) -> None:
    info = store.import_key("supplier", KNOWN_KEY, "pw")

    assert info.address == KNOWN_ADDRESS
    assert store.unlock("supplier", "pw").key.hex().removeprefix("0x") == KNOWN_KEY[2:]


def test_import_accepts_key_without_0x_and_surrounding_whitespace(store: Keystore) -> None:
    assert store.import_key("core", f"  {KNOWN_KEY[2:]}\n", "pw").address == KNOWN_ADDRESS


def test_keystore_file_is_web3_secret_storage_v3(store: Keystore) -> None:
    info = store.import_key("bank", KNOWN_KEY, "pw")

    data = json.loads(info.path.read_text())
    assert data["version"] == 3
    assert data["crypto"]["kdf"] == "scrypt"
    assert Account.decrypt(data, "pw").hex().removeprefix("0x") == KNOWN_KEY[2:]


def test_list_is_sorted_and_empty_for_missing_directory(store: Keystore) -> None:
    assert store.list() == []
    assert not store.directory.exists()  # reading does not create the directory

    store.new("warehouse", "pw")
    store.new("auditor", "pw")

    assert [w.label for w in store.list()] == ["auditor", "warehouse"]


def test_list_reads_addresses_without_decrypting(store: Keystore, monkeypatch: pytest.MonkeyPatch) -> None:
    store.import_key("bank", KNOWN_KEY, "pw")

    def refuse(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("list() must not decrypt")

    monkeypatch.setattr(Account, "decrypt", refuse)
    assert store.list() == [WalletInfo("bank", KNOWN_ADDRESS, store.directory / "bank.json")]  # type: ignore[arg-type]
    assert store.address("bank") == KNOWN_ADDRESS


def test_list_ignores_files_that_are_not_wallets(store: Keystore) -> None:
    store.new("bank", "pw")
    (store.directory / "README.txt").write_text("notes")
    (store.directory / ".bank.json.abc.tmp").write_text("{}")
    (store.directory / "Not A Label.json").write_text("{}")

    assert [w.label for w in store.list()] == ["bank"]


# -- errors ------------------------------------------------------------------------------------


def test_unlock_with_wrong_passphrase_names_the_wallet(store: Keystore) -> None:
    store.new("bank", "right")

    with pytest.raises(WalletError, match=r"^wrong passphrase for wallet 'bank'$"):
        store.unlock("bank", "wrong")


def test_unknown_label_lists_known_wallets(store: Keystore) -> None:
    store.new("bank", "pw")
    store.new("supplier", "pw")

    with pytest.raises(WalletError, match=r"no wallet 'bnk' in .*known wallets: bank, supplier"):
        store.address("bnk")


def test_unknown_label_in_empty_keystore_says_how_to_create_one(store: Keystore) -> None:
    with pytest.raises(WalletError, match=r"vscm wallet new bank"):
        store.unlock("bank", "pw")


def test_new_refuses_existing_label_and_keeps_the_old_file(store: Keystore) -> None:
    first = store.new("bank", "pw")
    before = first.path.read_bytes()

    with pytest.raises(WalletError, match=r"wallet 'bank' already exists"):
        store.new("bank", "pw")
    with pytest.raises(WalletError, match=r"wallet 'bank' already exists"):
        store.import_key("bank", KNOWN_KEY, "pw")

    assert first.path.read_bytes() == before


def test_write_never_replaces_a_file_created_meanwhile(store: Keystore, monkeypatch: pytest.MonkeyPatch) -> None:
    """The existence check passes, then another process creates the file before ours lands."""
    store.new("other", "pw")  # creates the directory
    target = store.directory / "bank.json"
    real_encrypt = Account.encrypt

    def encrypt_then_race(*args: object, **kwargs: object) -> object:
        result = real_encrypt(*args, **kwargs)  # type: ignore[arg-type]
        target.write_text("theirs")
        return result

    monkeypatch.setattr(Account, "encrypt", encrypt_then_race)
    with pytest.raises(WalletError, match=r"wallet 'bank' already exists"):
        store.new("bank", "pw")
    assert target.read_text() == "theirs"
    assert not list(store.directory.glob(".*.tmp"))


@pytest.mark.parametrize(
    "label",
    ["", "Bank", "-bank", "_bank", "bank.json", "../bank", "a/b", "bank\n", "bank ", "b" * 65, "bänk"],
)
def test_bad_labels_are_refused(store: Keystore, label: str) -> None:
    with pytest.raises(WalletError, match=r"bad wallet label"):
        store.new(label, "pw")
    assert not store.directory.exists()


@pytest.mark.parametrize("label", ["a", "0", "bank", "bank_2", "core-ent", "a" * 64])
def test_good_labels_are_accepted(store: Keystore, label: str) -> None:
    assert store.new(label, "pw").path.name == f"{label}.json"


@pytest.mark.parametrize(
    "key",
    [
        "0x1234",
        "zz" * 32,
        KNOWN_KEY + "00",
        "0x" + "00" * 32,  # zero is not a key
        "0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141",  # the curve order
    ],
)
def test_malformed_private_key_is_refused_without_echoing_it(store: Keystore, key: str) -> None:
    with pytest.raises(WalletError, match=r"^malformed private key") as caught:
        store.import_key("bank", key, "pw")
    assert key.removeprefix("0x") not in str(caught.value)
    assert not store.exists("bank")


def test_parse_private_key_returns_32_bytes() -> None:
    assert parse_private_key(KNOWN_KEY) == bytes.fromhex(KNOWN_KEY[2:])


def test_empty_passphrase_is_refused(store: Keystore) -> None:
    with pytest.raises(WalletError, match=r"empty passphrase"):
        store.new("bank", "")


def test_corrupt_json_is_reported_as_corrupt(store: Keystore) -> None:
    info = store.new("bank", "pw")
    info.path.write_text('{"crypto": ')

    with pytest.raises(WalletError, match=r"corrupt keystore file .*bank\.json: not JSON"):
        store.unlock("bank", "pw")
    with pytest.raises(WalletError, match=r"corrupt keystore file"):
        store.list()


def test_keystore_without_address_is_corrupt(store: Keystore) -> None:
    info = store.new("bank", "pw")
    data = json.loads(info.path.read_text())
    del data["address"]
    info.path.write_text(json.dumps(data))

    with pytest.raises(WalletError, match=r"corrupt keystore file .*no 'address' field"):
        store.address("bank")


def test_keystore_whose_key_does_not_match_its_address_is_corrupt(store: Keystore) -> None:
    info = store.new("bank", "pw")
    data = json.loads(info.path.read_text())
    data["address"] = KNOWN_ADDRESS[2:]
    info.path.write_text(json.dumps(data))

    with pytest.raises(WalletError, match=r"corrupt keystore file .*holds the key of"):
        store.unlock("bank", "pw")


def test_keystore_with_mangled_crypto_is_corrupt(store: Keystore) -> None:
    info = store.new("bank", "pw")
    data = json.loads(info.path.read_text())
    del data["crypto"]["kdfparams"]
    info.path.write_text(json.dumps(data))

    with pytest.raises(WalletError, match=r"corrupt keystore file"):
        store.unlock("bank", "pw")


# -- files on disk -----------------------------------------------------------------------------


def test_key_file_is_0600_and_directory_0700(store: Keystore) -> None:
    info = store.new("bank", "pw")

    assert _mode(info.path) == 0o600
    assert _mode(store.directory) == 0o700


def test_existing_loose_directory_is_tightened(tmp_path: Path) -> None:
    directory = tmp_path / "shared"
    directory.mkdir(mode=0o755)
    os.chmod(directory, 0o755)

    Keystore(directory, iterations=CHEAP_N).new("bank", "pw")

    assert _mode(directory) == 0o700


def test_write_leaves_no_temporary_files(store: Keystore) -> None:
    store.new("bank", "pw")
    store.import_key("supplier", KNOWN_KEY, "pw")

    assert sorted(p.name for p in store.directory.iterdir()) == ["bank.json", "supplier.json"]


def test_failed_write_leaves_neither_key_nor_temporary_file(
    store: Keystore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.new("other", "pw")

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(keystore_module.os, "fsync", disk_full)
    with pytest.raises(WalletError, match=r"cannot write keystore file .*No space left on device"):
        store.new("bank", "pw")

    assert sorted(p.name for p in store.directory.iterdir()) == ["other.json"]


def test_write_falls_back_to_replace_without_hard_links(store: Keystore, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_links(src: object, dst: object) -> None:
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr(keystore_module.os, "link", no_links)
    info = store.new("bank", "pw")

    assert store.unlock("bank", "pw").address == info.address
    assert sorted(p.name for p in store.directory.iterdir()) == ["bank.json"]


# -- configuration -----------------------------------------------------------------------------


def test_default_work_factor_is_standard_scrypt(tmp_path: Path) -> None:
    store = Keystore(tmp_path)
    info = store.import_key("bank", KNOWN_KEY, "pw")  # about a second: the real thing

    params = json.loads(info.path.read_text())["crypto"]["kdfparams"]
    assert params["n"] == 2**18
    assert not store.is_weak


def test_fast_kdf_hook_lowers_work_factor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VSCM_KDF_FAST", "1")
    store = Keystore(tmp_path)

    info = store.new("bank", "pw")

    assert json.loads(info.path.read_text())["crypto"]["kdfparams"]["n"] < 2**18
    assert store.is_weak


def test_pbkdf2_can_be_chosen(tmp_path: Path) -> None:
    store = Keystore(tmp_path, kdf="pbkdf2", iterations=10)

    info = store.new("bank", "pw")

    assert json.loads(info.path.read_text())["crypto"]["kdf"] == "pbkdf2"
    assert store.unlock("bank", "pw").address == info.address


def test_keystore_dir_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert resolve_keystore_dir() == tmp_path / "home" / ".vscm" / "keystores"

    monkeypatch.setenv("VSCM_KEYSTORE_DIR", str(tmp_path / "env"))
    assert Keystore().directory == tmp_path / "env"
    assert Keystore(tmp_path / "arg").directory == tmp_path / "arg"


# -- passphrase sources ------------------------------------------------------------------------


def test_password_file_gives_first_line_without_its_newline(tmp_path: Path) -> None:
    path = tmp_path / "pw"
    path.write_text("  two words \r\nsecond line\n")

    assert resolve_password(str(path)) == "  two words "


def test_password_file_wins_over_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VSCM_PASSWORD", "from-env")
    path = tmp_path / "pw"
    path.write_text("from-file")

    assert resolve_password(path) == "from-file"


def test_password_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VSCM_PASSWORD", "from-env")

    assert resolve_password(None) == "from-env"


def test_password_prompt_is_hidden_and_confirmed(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, object] = {}

    def fake_prompt(text: str, **kwargs: object) -> str:
        seen.update(kwargs)
        return "typed"

    monkeypatch.setattr(keystore_module.click, "prompt", fake_prompt)

    assert resolve_password(None, confirm=True) == "typed"
    assert seen["hide_input"] is True
    assert seen["confirmation_prompt"] is True


def test_no_password_source_without_prompt_is_an_error() -> None:
    with pytest.raises(WalletError, match=r"no passphrase given: use --password-file FILE or set VSCM_PASSWORD"):
        resolve_password(None, prompt=False)


def test_empty_or_missing_password_file_is_an_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\nsecond")

    with pytest.raises(WalletError, match=r"password file .* is empty"):
        resolve_password(empty)
    with pytest.raises(WalletError, match=r"cannot read password file .*No such file"):
        resolve_password(tmp_path / "missing")

