"""The platform's history as the lenders' index stored it: decoded events with the evidence behind them.

Every figure of a credit profile is computed from these events, and carries the :class:`Evidence` of
the events it counted (transaction hash, block, contract and event name), so that a lender can fetch
each transaction from the chain and check the figure itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from vscm.audit.decode import DecodedEvent, decoder_for
from vscm.index.store import Index

__all__ = ["Event", "Evidence", "events"]


@dataclass(frozen=True)
class Evidence:
    """Where on chain one event of a figure is: verify it with ``eth_getTransactionReceipt(tx)``."""

    tx: str
    block: int
    log_index: int
    contract: str
    event: str

    def to_json(self) -> dict[str, Any]:
        return {"tx": self.tx, "block": self.block, "log_index": self.log_index, "contract": self.contract,
                "event": self.event}


@dataclass(frozen=True)
class Event:
    """One decoded platform event and the timestamp (Unix seconds, UTC) of its block."""

    contract: str
    name: str
    args: dict[str, Any]
    block: int
    timestamp: int
    evidence: Evidence


def events(index: Index, until: int | None = None) -> Iterator[Event]:
    """The decoded platform events of the index in chain order, up to block timestamp ``until``.

    Raises:
        NotFound: the index does not name its contracts yet (built before they were recorded).
    """
    contracts = index.contracts()
    for log, timestamp in index.raw_history(until):
        name = contracts.get(log.address)
        if name is None:
            continue
        decoded: DecodedEvent | None = decoder_for(name).decode(log)
        if decoded is None:
            continue
        yield Event(name, decoded.name, decoded.args, log.block_number, timestamp,
                    Evidence(log.tx_hash, log.block_number, log.log_index, name, decoded.name))
