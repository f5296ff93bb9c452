"""The audit's receipts root (``vscm.audit.source.receipts_root``): pyrlp's serial form encoded without the
receipt's sedes and inserted in descending key order gives the root of the sedes-encoded receipts inserted
in index order (the form py-evm builds), for empty, small and branching blocks of both receipt types; a
receipt whose fixed-length fields have the wrong length is refused with a named error."""

from __future__ import annotations

from typing import Any

import pytest
import rlp
from rlp.sedes import Binary, CountableList, List, big_endian_int, binary
from trie import HexaryTrie

from vscm.audit.source import receipts_root
from vscm.errors import AuditError

#: A receipt's RLP schema: [status, cumulativeGasUsed, logsBloom, [[address, [topic, ...], data], ...]].
SEDES = List([big_endian_int, big_endian_int, Binary.fixed_length(256), CountableList(
    List([Binary.fixed_length(20), CountableList(Binary.fixed_length(32)), binary]))])


def reference_root(receipts: list[dict[str, Any]]) -> str:
    """The receipts encoded through the sedes, in index order."""
    trie = HexaryTrie({})
    for index, r in enumerate(receipts):
        body = rlp.encode([int(r["status"], 16), int(r["cumulativeGasUsed"], 16), bytes.fromhex(r["logsBloom"][2:]),
                           [[bytes.fromhex(lg["address"][2:]), [bytes.fromhex(t[2:]) for t in lg["topics"]],
                             bytes.fromhex(lg["data"][2:])] for lg in r["logs"]]], sedes=SEDES)
        kind = int(r["type"], 16)
        trie[rlp.encode(index, sedes=big_endian_int)] = body if kind == 0 else bytes([kind]) + body
    return "0x" + bytes(trie.root_hash).hex()


def receipt(i: int) -> dict[str, Any]:
    logs = [{"address": "0x" + f"{i + k:040x}", "topics": ["0x" + f"{i * 7 + t:064x}" for t in range(k % 4)],
             "data": "0x" + "ab" * (i % 70 + k)} for k in range(i % 3)]
    return {"status": "0x0" if i % 5 == 4 else "0x1", "cumulativeGasUsed": hex(21_000 * (i + 1)),
            "logsBloom": "0x" + f"{i % 256:02x}" * 256, "type": hex(i % 3), "logs": logs}


@pytest.mark.parametrize("count", [0, 1, 2, 17, 130, 300])
def test_the_root_is_the_sedes_encoded_index_ordered_tries(count: int) -> None:
    receipts = [receipt(i) for i in range(count)]
    assert receipts_root(receipts) == reference_root(receipts)
    if count:
        changed = [dict(r) for r in receipts]
        changed[-1]["cumulativeGasUsed"] = hex(int(changed[-1]["cumulativeGasUsed"], 16) + 1)
        assert receipts_root(changed) != receipts_root(receipts)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("logsBloom", "0x" + "00" * 255, "receipt 1 has a logs bloom of 255 bytes, not 256"),
    ("address", "0x" + "11" * 19, "receipt 1 has a log whose address or topics are not 20 and 32 bytes"),
    ("topics", ["0x" + "22" * 31], "receipt 1 has a log whose address or topics are not 20 and 32 bytes"),
])
def test_a_receipt_with_a_field_of_the_wrong_length_is_refused(field: str, value: Any, message: str) -> None:
    receipts = [receipt(0), receipt(1)]
    if field == "logsBloom":
        receipts[1][field] = value
    else:
        receipts[1]["logs"][0][field] = value
    with pytest.raises(AuditError) as raised:
        receipts_root(receipts)
    assert str(raised.value) == message


def test_kaia_receipts_hash_each_transactions_own_gas() -> None:
    """A block of two transactions from a Kaia v1.0.3 network: its header's receiptsRoot is the root of the
    receipts with each one's own gasUsed (Kaia's receipt), not Ethereum's cumulative gas."""
    import json
    from pathlib import Path

    block = json.loads((Path(__file__).parent / "data" / "kaia_block_receipts.json").read_text())
    receipts = block["receipts"]
    assert len(receipts) >= 2 and receipts[1]["gasUsed"] != receipts[1]["cumulativeGasUsed"]
    assert receipts_root(receipts, "kaia") == block["receiptsRoot"]
    assert receipts_root(receipts) != block["receiptsRoot"]


def test_receipts_root_refuses_an_unknown_hash_scheme() -> None:
    with pytest.raises(AuditError, match="no receipts root for the hash scheme 'besu'"):
        receipts_root([receipt(0)], "besu")
