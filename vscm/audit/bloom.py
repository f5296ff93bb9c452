"""Logs blooms (the 2048-bit filter in every block header): which platform contracts a block may
have logs of, and whether a log is in its block's bloom.

A bloom has no false negatives: a contract or topic whose three bits are not all set has no log in
the block. It may have false positives, so a bloom that names a contract is a reason to read the
block's receipts, and (offline) a finding only when it names the contract and one of its events.
"""

from __future__ import annotations

from eth_utils import keccak

from vscm.audit.decode import RawLog, decoder_for

__all__ = ["Bloom", "bloom_mask"]


def bloom_mask(item: bytes) -> int:
    """The three bits ``item`` (an address or a topic) sets, as an int over the big-endian bloom."""
    digest = keccak(item)
    mask = 0
    for i in (0, 2, 4):
        mask |= 1 << (((digest[i] << 8) | digest[i + 1]) & 2047)
    return mask


class Bloom:
    """The bloom masks of a deployment's contracts and of their events' topic0s."""

    def __init__(self, contracts: dict[str, str]) -> None:
        #: address -> artifact name
        self.names = dict(contracts)
        self._address = {a: bloom_mask(bytes.fromhex(a[2:])) for a in contracts}
        self._events = {a: [bloom_mask(bytes.fromhex(t[2:])) for t in decoder_for(name).specs]
                        for a, name in contracts.items()}
        self._topics: dict[str, int] = {}
        #: masks of addresses that are not the platform's (the bloom-only check reads every log)
        self._others: dict[str, int] = {}

    def addresses_in(self, bloom: int) -> list[str]:
        """The platform contracts whose address bits are all set in ``bloom``."""
        return [a for a, m in self._address.items() if bloom & m == m]

    def events_in(self, bloom: int, address: str) -> bool:
        """Whether ``bloom`` holds the bits of one of the events of the contract at ``address``."""
        return any(bloom & m == m for m in self._events.get(address, ()))

    def of(self, logs: list[RawLog]) -> int:
        """The logs bloom of ``logs`` (any addresses): the OR of each one's address and topics bits."""
        value = 0
        for lg in logs:
            value |= self._mask(lg)
        return value

    def _mask(self, log: RawLog) -> int:
        """The bits ``log`` sets (its address and topics; masks cached: a history repeats them)."""
        mask = self._address.get(log.address) or self._others.get(log.address)
        if mask is None:
            mask = self._others[log.address] = bloom_mask(bytes.fromhex(log.address[2:]))
        for topic in log.topics:
            m = self._topics.get(topic)
            if m is None:
                m = self._topics[topic] = bloom_mask(bytes.fromhex(topic[2:]))
            mask |= m
        return mask

    def holds(self, bloom: int, log: RawLog) -> bool:
        """Whether ``bloom`` holds the log's address and every topic of it."""
        mask = self._mask(log)
        return bloom & mask == mask
