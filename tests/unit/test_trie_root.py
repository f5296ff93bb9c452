"""The one-pass receipts trie root equals py-trie's, for receipt-index keys and for arbitrary keys
(one key a prefix of another, shared prefixes, embedded nodes under 32 bytes)."""

from __future__ import annotations

import rlp
from hypothesis import given, settings
from hypothesis import strategies as st
from trie import HexaryTrie

from vscm.audit.source import trie_root


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
