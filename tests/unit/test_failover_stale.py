"""The failover provider skips a node that answers but lags (stale), as it skips a dead one.

The nodes are stand-ins that answer JSON-RPC as a Kaia node does (``{"jsonrpc": "2.0", "id": .., "result":
"0x.."}``); the clock is the test's, so the lag and the idle time are exact and nothing waits.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from vscm.chain.failover import FailoverProvider, HeadSeen, NoNodeAnswers, stale_nodes


class Node:
    """A node that answers ``eth_blockNumber`` with its head and names itself in every other answer."""

    def __init__(self, name: str, head: int) -> None:
        self.name, self.head, self.dead, self.calls = name, head, False, 0

    def make_request(self, method: str, params: Any) -> dict[str, Any]:
        if self.dead:
            raise requests.ConnectionError("connection refused")
        if method == "eth_blockNumber":
            return {"jsonrpc": "2.0", "id": 1, "result": hex(self.head)}
        self.calls += 1
        return {"jsonrpc": "2.0", "id": 1, "result": self.name}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def network(heads: list[int], clock: Clock) -> tuple[FailoverProvider, list[Node]]:
    nodes = [Node(f"node{i}", head) for i, head in enumerate(heads)]
    provider = FailoverProvider([f"http://127.0.0.1:{8551 + i}" for i in range(len(nodes))], max_lag=3,
                                stale_after=10.0, head_check=2.0, clock=clock)
    provider._providers = provider._probes = nodes  # type: ignore[assignment]
    return provider, nodes


def ask(provider: FailoverProvider) -> Any:
    return provider.make_request("eth_chainId", [])["result"]  # type: ignore[arg-type]


def test_a_node_lagging_by_more_than_max_lag_is_skipped_until_it_catches_up() -> None:
    clock = Clock()
    provider, nodes = network([100, 100, 100, 100], clock)
    assert ask(provider) == "node0"
    nodes[0].head = 96  # restarted: it syncs from behind while the others go on
    for node in nodes[1:]:
        node.head = 100
    clock.now += 2
    assert ask(provider) == "node1"
    assert list(provider.stale) == [0] and "lags the best head 100 by 4 blocks" in provider.stale[0]
    nodes[0].head = 99  # within max_lag: fresh again, but requests stay on the node that served them
    clock.now += 2
    assert ask(provider) == "node1" and provider.stale == {}


def test_a_node_whose_head_stands_still_while_others_advance_is_stale() -> None:
    clock = Clock()
    provider, nodes = network([50, 50, 50, 50], clock)
    assert ask(provider) == "node0"
    for _ in range(2):  # node 0 stops importing; the others advance one block every 4 s (lag stays <= 3)
        clock.now += 4
        for node in nodes[1:]:
            node.head += 1
        assert ask(provider) == "node0"  # idle for 4, 8 s: not yet stale
    clock.now += 4  # node 0 idle for 12 s (> 10), the others advanced just now, 3 blocks ahead (not > 3)
    for node in nodes[1:]:
        node.head += 1
    assert ask(provider) == "node1"
    assert list(provider.stale) == [0] and "has not advanced for 12 s" in provider.stale[0]


def test_idle_node_is_not_stale_when_no_node_advances() -> None:
    """Two of four validators down: no node advances, so none is stale (the chain is stalled, not the node)."""
    assert stale_nodes({0: HeadSeen(7, 0.0), 1: HeadSeen(7, 0.0)}, now=100.0, max_lag=3, stale_after=10.0) == {}
    assert list(stale_nodes({0: HeadSeen(7, 0.0), 1: HeadSeen(8, 95.0)}, now=100.0, max_lag=3,
                            stale_after=10.0)) == [0]


def test_a_stale_node_still_serves_when_no_fresh_node_answers() -> None:
    clock = Clock()
    provider, nodes = network([100, 90], clock)
    assert ask(provider) == "node0"  # node 1 lags by 10: stale, tried last
    assert list(provider.stale) == [1]
    nodes[0].dead = True
    assert ask(provider) == "node1"
    nodes[1].dead = True
    with pytest.raises(NoNodeAnswers):
        ask(provider)
