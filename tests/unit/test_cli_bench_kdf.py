"""The CLI bench's scrypt comparison: OpenSSL's scrypt (hashlib) derives from a keystore file the key that
eth-keyfile (pycryptodome's scrypt, what ``vscm`` runs) derives: the same file decrypts to the same key both ways."""

from __future__ import annotations

import os

import pytest
from Crypto.Cipher import AES
from Crypto.Util import Counter
from eth_account import Account
from eth_keyfile import decode_keyfile_json

from vscm.cli.bench import openssl_key
from vscm.errors import InputError

PASSPHRASE = "bench passphrase"


@pytest.fixture(scope="module")
def keyfile_and_key() -> tuple[dict, bytes]:
    key = os.urandom(32)
    return Account.encrypt(key, PASSPHRASE, kdf="scrypt", iterations=2**10), key  # the standard file, a cheap n


def test_openssl_and_eth_keyfile_decrypt_the_same_key_from_the_same_file(keyfile_and_key):
    keyfile, key = keyfile_and_key
    derived = openssl_key(keyfile, PASSPHRASE)
    crypto = keyfile["crypto"]
    assert crypto["kdf"] == "scrypt" and crypto["cipher"] == "aes-128-ctr"
    counter = Counter.new(128, initial_value=int(crypto["cipherparams"]["iv"], 16))
    decrypted = AES.new(derived[:16], AES.MODE_CTR, counter=counter).decrypt(bytes.fromhex(crypto["ciphertext"]))
    assert decrypted == key == bytes(decode_keyfile_json(keyfile, PASSPHRASE))


def test_a_wrong_passphrase_fails_the_files_mac(keyfile_and_key):
    keyfile, _ = keyfile_and_key
    with pytest.raises(InputError, match="does not match the keystore's MAC"):
        openssl_key(keyfile, "not the passphrase")
