"""One JSON-RPC provider over several nodes of one network: a node that does not answer is skipped.

A consortium network has one RPC URL per member's node. ``FailoverProvider`` sends each request to the
node that answered last; when that node refuses the connection or times out, the same request goes to
the next node, and that node is used from then on. Only transport failures move on: a JSON-RPC error
(a revert, a nonce refused) is the network's answer and is returned as it is, so a signed transaction is
never sent twice because of an error the chain gave. A refused connection means the request never
reached that node; after a timeout it may have (a transaction sent again then has the same hash, and the
node that has it refuses it as already known).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import requests
from web3 import HTTPProvider
from web3.providers.base import JSONBaseProvider
from web3.types import RPCEndpoint, RPCResponse

from vscm.errors import NodeUnreachable

__all__ = ["FailoverProvider", "NoNodeAnswers"]


class NoNodeAnswers(NodeUnreachable):
    """None of the network's nodes answered the request."""


class FailoverProvider(JSONBaseProvider):
    """Several ``HTTPProvider``s; each request goes to the current node, or the next that answers.

    Args:
        urls: The nodes' JSON-RPC URLs, in the order they are tried.
        timeout: Seconds to wait for one node's answer.
    """

    def __init__(self, urls: Sequence[str], timeout: float = 30.0) -> None:
        if not urls:
            raise ValueError("FailoverProvider needs at least one URL")
        super().__init__()
        self.urls = list(urls)
        self._providers = [HTTPProvider(url, request_kwargs={"timeout": timeout}) for url in self.urls]
        self._current = 0
        self._lock = threading.Lock()

    @property
    def current_url(self) -> str:
        """The URL of the node requests go to now."""
        return self.urls[self._current]

    @property
    def endpoint_uri(self) -> str:
        """The current node's URL, as ``HTTPProvider`` names it (the auditor's replay reads from it)."""
        return self.current_url

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        start = self._current
        failures = []
        for step in range(len(self._providers)):
            index = (start + step) % len(self._providers)
            try:
                response = self._providers[index].make_request(method, params)
            except (requests.ConnectionError, requests.Timeout) as exc:
                failures.append(f"{self.urls[index]} ({type(exc).__name__})")
                continue
            if index != start:
                with self._lock:
                    self._current = index
            return response
        raise NoNodeAnswers(f"no node of the network answers {method}: " + ", ".join(failures))

    def is_connected(self, show_traceback: bool = False) -> bool:
        return any(provider.is_connected() for provider in self._providers)
