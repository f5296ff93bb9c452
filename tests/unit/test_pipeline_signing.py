"""The pipeline's fast paths give exactly the bytes of the slow ones: call data as web3 encodes it,
signed transactions as eth-account signs them."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_utils import keccak
from web3 import Web3

from vscm.chain.artifacts import load
from vscm.chain.pipeline import CallEncoder, sign_transaction
from vscm.errors import InputError

ADDRESS = Web3.to_checksum_address("0x" + "ab" * 20)
OTHER = Web3.to_checksum_address("0x" + "cd" * 20)


def contract(name: str):
    return Web3().eth.contract(address=ADDRESS, abi=load(name).abi)


@pytest.mark.parametrize(("name", "function", "args"), [
    ("OrderBook", "place", (OTHER, 3, OTHER, 10_000_00, 2_000_000_000, True, b"FOB", b"KZ")),
    ("MemberRegistry", "applyForMembership", (0b101, 1, keccak(text="c"), 2_000_000_000, "Xi'an Motors")),
    ("MemberRegistry", "createChain", (b"chain".ljust(32, b"\x00"),)),
    ("LoanBook", "applyForLoan", ((1, 7, 9, OTHER, ADDRESS, 200_000_00, 650, 90 * 86400),)),
    ("FundTracker", "spend", (4, OTHER, 5, b"goods".ljust(32, b"\x00"))),
])
def test_call_data_is_what_web3_encodes(name, function, args):
    c = contract(name)
    expected = bytes.fromhex(c.encode_abi(function, args=list(args))[2:])
    assert CallEncoder().encode(c.abi, ADDRESS, function, args) == expected


def test_call_encoder_names_an_unknown_function_and_a_wrong_argument_count():
    c = contract("OrderBook")
    with pytest.raises(InputError, match="no function 'plaice'"):
        CallEncoder().encode(c.abi, ADDRESS, "plaice", ())
    with pytest.raises(InputError, match="accept takes 1 arguments"):
        CallEncoder().encode(c.abi, ADDRESS, "accept", (1, 2))


@pytest.mark.parametrize("fees", [
    {"maxFeePerGas": 3 * 10**9, "maxPriorityFeePerGas": 10**9},
    {"maxFeePerGas": 0, "maxPriorityFeePerGas": 0},
    {"gasPrice": 0},
    {"gasPrice": 7 * 10**9},
])
@pytest.mark.parametrize("data", [b"", b"\x01", b"\x80", bytes.fromhex("a9059cbb" + "00" * 64), b"\xff" * 2_000],
                         ids=["empty", "one byte", "one byte 0x80", "transfer call", "2,000 bytes"])
def test_signed_bytes_and_hash_are_eth_accounts(fees, data):
    """Every RLP length form: empty, one byte below and above 0x80, short and long strings and lists,
    integers from zero to 2^200, and a chain id whose EIP-155 v takes several bytes."""
    account = Account.from_key(keccak(text="signer"))
    for chain_id, nonce, value, gas in ((31337, 0, 0, 90_000), (31337, 41, 10**18, 21_000), (1, 127, 1, 127),
                                        (2**40, 128, 2**200, 30_000_000), (1001, 2**33, 255, 56)):
        tx = {"to": OTHER, "data": data, "value": value, "gas": gas, "chainId": chain_id, "nonce": nonce} | fees
        signed = account.sign_transaction(tx)
        for _ in range(2):  # the second time from the template cache
            raw, tx_hash = sign_transaction(account, chain_id, nonce, fees, gas, OTHER, value, data)
            assert raw == bytes(signed.raw_transaction)
            assert tx_hash == bytes(signed.hash)
