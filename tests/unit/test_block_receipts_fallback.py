"""The auditor's RPC source reads a block's receipts with eth_getBlockReceipts, or per transaction on a node
without it: the same receipts root and logs either way."""

from __future__ import annotations

from typing import Any

from vscm.audit.source import RpcSource, receipts_root

ADDRESS = "0x" + "11" * 20
TOPIC = "0x" + "22" * 32


def receipt(tx: int, gas: int, kind: str) -> dict[str, Any]:
    return {"transactionHash": "0x" + f"{tx:064x}", "status": "0x1", "cumulativeGasUsed": hex(gas), "type": kind,
            "logsBloom": "0x" + "00" * 256, "logs": [{"address": ADDRESS, "topics": [TOPIC], "data": "0x" + f"{tx:064x}",
                                                      "transactionHash": "0x" + f"{tx:064x}", "logIndex": "0x0", "transactionIndex": "0x0",
                                                      "blockNumber": "0x5", "blockHash": "0x" + "33" * 32}]}


BLOCKS = {5: [receipt(1, 21_000, "0x2"), receipt(2, 60_000, "0x0")], 6: [receipt(3, 40_000, "0x2")]}


class Node:
    """Answers JSON-RPC batches from BLOCKS; ``block_receipts`` False answers as a node without the method."""

    def __init__(self, block_receipts: bool) -> None:
        self.block_receipts = block_receipts
        self.methods: list[str] = []

    def post(self, url: str, json: list[dict[str, Any]], timeout: float) -> Any:
        by_hash = {r["transactionHash"]: r for rs in BLOCKS.values() for r in rs}
        answers = []
        for call in json:
            method, params = call["method"], call["params"]
            self.methods.append(method)
            answer: dict[str, Any] = {"jsonrpc": "2.0", "id": call["id"]}
            if method == "eth_getBlockReceipts" and not self.block_receipts:
                answer["error"] = {"code": -32601, "message": f"the method {method} does not exist/is not available"}
            elif method == "eth_getBlockReceipts":
                answer["result"] = BLOCKS[int(params[0], 16)]
            elif method == "web3_clientVersion":  # an Ethereum node: the receipts' root as Ethereum hashes it
                answer["result"] = "anvil/v1.3.5"
            elif method == "eth_getBlockByNumber":
                answer["result"] = {"transactions": [r["transactionHash"] for r in BLOCKS[int(params[0], 16)]]}
            else:
                answer["result"] = by_hash[params[0]]
            answers.append(answer)
        return Answer(answers)


class Answer:
    def __init__(self, body: Any) -> None:
        self.body = body

    def raise_for_status(self) -> None:
        pass

    def json(self) -> Any:
        return self.body


def read(block_receipts: bool) -> tuple[Any, list[str]]:
    source = RpcSource("http://127.0.0.1:1", connections=1)  # one session: the fake node
    node = Node(block_receipts)
    source.session = node  # type: ignore[assignment]
    first = source.block_receipts({5: ["0x" + f"{1:064x}"], 6: ["0x" + f"{3:064x}"]})
    second = source.block_receipts({6: []})
    return (first, second), node.methods


def test_a_node_without_eth_get_block_receipts_gives_the_same_roots_and_logs_per_transaction() -> None:
    direct, asked = read(block_receipts=True)
    fallback, asked_fallback = read(block_receipts=False)
    assert direct == fallback
    assert direct[0][0] == {5: receipts_root(BLOCKS[5]), 6: receipts_root(BLOCKS[6])}
    assert len(direct[0][1]) == 3 and "eth_getTransactionReceipt" not in asked
    # the node's refusal is learned once: the second read goes per transaction at once
    assert asked_fallback.count("eth_getBlockReceipts") == 2 and asked_fallback.count("eth_getTransactionReceipt") == 4
