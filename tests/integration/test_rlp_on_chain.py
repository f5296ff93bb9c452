"""The library-encoded bytes against real chains: transactions signed by the pipeline's
``sign_transaction`` (pyrlp) are accepted by anvil and by py-evm under the hash we computed, and the
receipts root the audit computes (pyrlp + py-trie's ``HexaryTrie``) is the one in each block's header,
for blocks of many receipts of both types, with and without logs, succeeded and reverted."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_bloom import BloomFilter
from eth_utils import keccak

from vscm.audit.source import receipts_root
from vscm.chain.backends import connect
from vscm.chain.pipeline import sign_transaction

GAS = 90_000


def key(label: str) -> LocalAccount:
    return Account.from_key(keccak(text=f"vscm-rlp-tests:{label}"))


def hexed(value: Any) -> str:
    return value if isinstance(value, str) else "0x" + bytes(value).hex()


def as_json(receipt: Any) -> dict[str, Any]:
    """A web3 receipt (the embedded chain's, which has no logs bloom: eth-bloom's from its logs) in the
    JSON-RPC form ``receipts_root`` reads."""
    logs = [{"address": hexed(bytes.fromhex(lg["address"][2:])), "data": hexed(lg["data"]),
             "topics": [hexed(t) for t in lg["topics"]]} for lg in receipt["logs"]]
    bloom = BloomFilter()
    for lg in logs:
        for item in (lg["address"], *lg["topics"]):
            bloom.add(bytes.fromhex(item[2:]))
    return {"status": hex(int(receipt["status"])), "cumulativeGasUsed": hex(int(receipt["cumulativeGasUsed"])),
            "logsBloom": "0x" + int(bloom).to_bytes(256, "big").hex(), "type": hex(int(receipt.get("type", 0))),
            "logs": logs}


@pytest.fixture(params=["embedded", pytest.param("anvil", marks=pytest.mark.anvil)])
def chain(request: pytest.FixtureRequest) -> Iterator[Any]:
    with connect(request.param) as chain:
        yield chain


def test_signed_transactions_and_receipts_roots_match_the_chain(chain):
    signers = [key(f"signer-{i}") for i in range(3)]
    for signer in signers:
        chain.fund(signer.address, 10**20)
    token_address = chain.sender.deploy(signers[0], "ReferenceERC20", signers[0].address, 10**30)
    token = chain.contract("ReferenceERC20", token_address)
    w3 = chain.w3
    nonces = {s.address: int(w3.eth.get_transaction_count(s.address)) for s in signers}
    base = int(w3.eth.get_block("latest").get("baseFeePerGas") or 0)
    dynamic = {"maxFeePerGas": 2 * base + 10**9, "maxPriorityFeePerGas": 10**9}
    legacy = {"gasPrice": 2 * base + 10**9}
    sink = key("sink").address

    def transfer(to: str, amount: int) -> bytes:
        return bytes.fromhex(token.encode_abi("transfer", args=[to, amount])[2:])

    # Token transfers (a log each) of both types, plain ether transfers (no log, empty data) and transfers
    # that revert (signers 1 and 2 hold no tokens: status 0, no log); 33 in all, enough for branch nodes.
    sent: list[tuple[bytes, bytes]] = []
    if chain.kind == "anvil":
        w3.provider.make_request("evm_setAutomine", [False])
    for i in range(33):
        signer = signers[0] if i % 3 != 2 else signers[1 + i % 2]
        fees = legacy if i % 2 else dynamic
        to, value, data = (sink, 10**15 + i, b"") if i % 5 == 4 else (token_address, 0, transfer(sink, 1 + i))
        raw, tx_hash = sign_transaction(signer, chain.chain_id, nonces[signer.address], fees, GAS, to, value, data)
        nonces[signer.address] += 1
        assert bytes(w3.eth.send_raw_transaction(raw)) == tx_hash
        sent.append((raw, tx_hash))
    if chain.kind == "anvil":
        w3.provider.make_request("evm_mine", [])
        w3.provider.make_request("evm_setAutomine", [True])

    blocks: set[int] = set()
    statuses = set()
    for raw, tx_hash in sent:
        tx = w3.eth.get_transaction(tx_hash)
        assert bytes(tx["hash"]) == tx_hash
        receipt = w3.eth.get_transaction_receipt(tx_hash)
        statuses.add((int(receipt["status"]), int(receipt.get("type", 0)), len(receipt["logs"])))
        blocks.add(int(receipt["blockNumber"]))
    # every kind of receipt is there: typed and legacy, with a log, without, reverted
    assert {(1, 2, 1), (1, 0, 1), (0, 2, 0), (0, 0, 0)} <= statuses and {s[2] for s in statuses if s[0]} == {0, 1}
    if chain.kind == "anvil":
        assert len(blocks) == 1  # all in one block: a trie of 33 receipts

    for number in [0, *sorted(blocks)]:  # the genesis block has no receipt: the empty trie's root
        block = w3.eth.get_block(number)
        if chain.kind == "anvil":
            receipts = w3.provider.make_request("eth_getBlockReceipts", [hex(number)])["result"]
        else:
            receipts = [as_json(w3.eth.get_transaction_receipt(t)) for t in block["transactions"]]
        assert receipts_root(receipts) == hexed(block["receiptsRoot"]), number
