"""The one-pass receipts trie root equals py-trie's, for receipt-index keys and for arbitrary keys
(one key a prefix of another, shared prefixes, embedded nodes under 32 bytes)."""

from __future__ import annotations

from typing import Any

import rlp
from hypothesis import given, settings
from hypothesis import strategies as st
from trie import HexaryTrie

from vscm.audit.source import receipts_root, trie_root


def hexary_root(items: dict[bytes, bytes]) -> bytes:
    trie = HexaryTrie({})
    for key, value in items.items():
        trie[key] = value
    return bytes(trie.root_hash)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=120), max_size=300))
def test_receipt_index_keys_give_the_root_py_trie_gives(values: list[bytes]) -> None:
    items = {rlp.encode(i): value for i, value in enumerate(values)}
    assert trie_root(list(items.items())) == hexary_root(items)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.binary(min_size=1, max_size=4), st.binary(min_size=1, max_size=40), max_size=40))
def test_arbitrary_keys_give_the_root_py_trie_gives(items: dict[bytes, bytes]) -> None:
    assert trie_root(list(items.items())) == hexary_root(items)


_receipt = st.fixed_dictionaries({
    "status": st.sampled_from(["0x0", "0x1"]),
    "cumulativeGasUsed": st.integers(0, 2**40).map(hex),
    "logsBloom": st.binary(min_size=256, max_size=256).map(lambda b: "0x" + b.hex()),
    "type": st.sampled_from(["0x0", "0x1", "0x2", "0x3"]),
    "logs": st.lists(st.fixed_dictionaries({
        "address": st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex()),
        "topics": st.lists(st.binary(min_size=32, max_size=32).map(lambda b: "0x" + b.hex()), max_size=4),
        "data": st.binary(max_size=300).map(lambda b: "0x" + b.hex()),
    }), max_size=3),
})


@settings(max_examples=60, deadline=None)
@given(st.lists(_receipt, max_size=40))
def test_receipts_root_encodes_receipts_as_rlp_encode_does(receipts: list[dict[str, Any]]) -> None:
    """The raw encoder on pre-serialised values gives the bytes ``rlp.encode`` gives with inferred sedes."""
    items = {}
    for index, r in enumerate(receipts):
        logs = [[bytes.fromhex(lg["address"][2:]), [bytes.fromhex(t[2:]) for t in lg["topics"]],
                 bytes.fromhex(lg["data"][2:])] for lg in r["logs"]]
        body = rlp.encode([int(r["status"], 16), int(r["cumulativeGasUsed"], 16), bytes.fromhex(r["logsBloom"][2:]),
                           logs])
        kind = int(r["type"], 16)
        items[rlp.encode(index)] = body if kind == 0 else bytes([kind]) + body
    assert receipts_root(receipts) == "0x" + hexary_root(items).hex()
