"""One JSON-RPC provider over several nodes of one network: a node that does not answer is skipped.

A consortium network has one RPC URL per member's node. ``FailoverProvider`` sends each request to the
node that answered last; when that node refuses the connection or times out, the same request goes to
the next node, and that node is used from then on. Only transport failures move on: a JSON-RPC error
(a revert, a nonce refused) is the network's answer and is returned as it is, so a signed transaction is
never sent twice because of an error the chain gave. A refused connection means the request never
reached that node; after a timeout it may have (a transaction sent again then has the same hash, and the
node that has it refuses it as already known).

A node that answers but has fallen behind is as useless as a dead one: its reads are old and a client
waiting on it for a receipt waits for nothing. Every ``head_check`` seconds the provider asks each node
for its head (``eth_blockNumber``); a node is *stale* when its head lags the best head by more than
``max_lag`` blocks, or has not advanced for ``stale_after`` seconds while another node's has
(``stale_nodes``). Stale nodes are tried only after every fresh one, and a request leaves a stale current
node for the first fresh one; a stale node that catches up is fresh again at the next check.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests
from web3 import HTTPProvider
from web3.providers.base import JSONBaseProvider
from web3.types import RPCEndpoint, RPCResponse

from vscm.errors import NodeUnreachable

__all__ = ["DEFAULT_MAX_LAG", "DEFAULT_STALE_AFTER", "FailoverProvider", "HeadSeen", "NoNodeAnswers",
           "stale_nodes"]

DEFAULT_MAX_LAG = 3
"""Blocks a node's head may lag the best head before the node is stale."""

DEFAULT_STALE_AFTER = 15.0
"""Seconds a node's head may stand still while another node's advances before the node is stale."""


class NoNodeAnswers(NodeUnreachable):
    """None of the network's nodes answered the request."""


@dataclass(frozen=True)
class HeadSeen:
    """A node's head as last seen: its number and when (clock seconds) the number last went up."""

    head: int
    advanced_at: float


def stale_nodes(heads: Mapping[int, HeadSeen], *, now: float, max_lag: int = DEFAULT_MAX_LAG,
                stale_after: float = DEFAULT_STALE_AFTER) -> dict[int, str]:
    """Which nodes are stale, and why, from the heads of the nodes that answer.

    Args:
        heads: Each answering node's last head, by node index (a dead node is not in it).
        now: The clock's time, as in ``HeadSeen.advanced_at``.
        max_lag: Blocks a head may lag the best head.
        stale_after: Seconds a head may stand still while another node's head advanced in that time.

    Returns:
        The stale nodes' indices, each with a one-line reason.
    """
    if not heads:
        return {}
    best = max(seen.head for seen in heads.values())
    out = {}
    for index, seen in heads.items():
        if best - seen.head > max_lag:
            out[index] = f"head {seen.head} lags the best head {best} by {best - seen.head} blocks (> {max_lag})"
            continue
        idle = now - seen.advanced_at
        others_moved = any(now - other.advanced_at <= stale_after
                           for other_index, other in heads.items() if other_index != index)
        if idle > stale_after and others_moved:
            out[index] = f"head {seen.head} has not advanced for {idle:.0f} s while other nodes' heads have"
    return out


class FailoverProvider(JSONBaseProvider):
    """Several ``HTTPProvider``s; each request goes to the current node, or the next that answers.

    Args:
        urls: The nodes' JSON-RPC URLs, in the order they are tried.
        timeout: Seconds to wait for one node's answer.
        max_lag: Blocks a node's head may lag the best head before the node is stale.
        stale_after: Seconds a head may stand still while another's advances before the node is stale.
        head_check: Seconds between two rounds of head checks (0: no checks, dead nodes only).
        clock: The clock (seconds), ``time.monotonic`` unless a test gives its own.
    """

    def __init__(self, urls: Sequence[str], timeout: float = 30.0, *, max_lag: int = DEFAULT_MAX_LAG,
                 stale_after: float = DEFAULT_STALE_AFTER, head_check: float = 2.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not urls:
            raise ValueError("FailoverProvider needs at least one URL")
        super().__init__()
        self.urls = list(urls)
        self._providers = [HTTPProvider(url, request_kwargs={"timeout": timeout}) for url in self.urls]
        # Head checks wait at most 2 s for a node: a hung node must not hold every request up for ``timeout``.
        self._probes = [HTTPProvider(url, request_kwargs={"timeout": min(timeout, 2.0)}) for url in self.urls]
        self._current = 0
        self._lock = threading.Lock()
        self.max_lag = max_lag
        self.stale_after = stale_after
        self.head_check = head_check
        self._clock = clock
        self._heads: dict[int, HeadSeen] = {}
        self._checked_at: float | None = None
        self.stale: dict[int, str] = {}
        """The nodes found stale at the last head check, with the reason (by index into ``urls``)."""

    @property
    def current_url(self) -> str:
        """The URL of the node requests go to now."""
        return self.urls[self._current]

    @property
    def endpoint_uri(self) -> str:
        """The current node's URL, as ``HTTPProvider`` names it (the auditor's replay reads from it)."""
        return self.current_url

    def check_heads(self) -> dict[int, str]:
        """Ask every node for its head now and recompute which are stale (also done every ``head_check`` s)."""
        now = self._clock()
        heads: dict[int, HeadSeen] = {}
        for index, probe in enumerate(self._probes):
            try:
                answer = probe.make_request(RPCEndpoint("eth_blockNumber"), [])
            except (requests.ConnectionError, requests.Timeout):
                continue
            result = answer.get("result")
            if not isinstance(result, str):
                continue
            head = int(result, 16)
            before = self._heads.get(index)
            advanced_at = before.advanced_at if before is not None and head <= before.head else now
            heads[index] = HeadSeen(head, advanced_at)
        with self._lock:
            self._heads = heads
            self._checked_at = now
            self.stale = stale_nodes(heads, now=now, max_lag=self.max_lag, stale_after=self.stale_after)
        return self.stale

    def _order(self) -> list[int]:
        if self.head_check > 0 and len(self._providers) > 1 and (
                self._checked_at is None or self._clock() - self._checked_at >= self.head_check):
            self.check_heads()
        rotation = [(self._current + step) % len(self._providers) for step in range(len(self._providers))]
        return ([i for i in rotation if i not in self.stale] + [i for i in rotation if i in self.stale])

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        start = self._current
        failures = []
        for index in self._order():
            try:
                response = self._providers[index].make_request(method, params)
            except (requests.ConnectionError, requests.Timeout) as exc:
                failures.append(f"{self.urls[index]} ({type(exc).__name__})")
                continue
            if index != start:
                with self._lock:  # the next requests go to this node
                    self._current = index
            return response
        raise NoNodeAnswers(f"no node of the network answers {method}: " + ", ".join(failures))

    def is_connected(self, show_traceback: bool = False) -> bool:
        return any(provider.is_connected() for provider in self._providers)
