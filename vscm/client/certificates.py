"""The Certificates facade: a core enterprise's payable split down the tiers, sold part by part, redeemed.

Each write returns one typed result: the receipt and the decoded event of what it did.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vscm.client.facade import Facade as _Facade
from vscm.errors import NotFound

__all__ = ["Certificate", "CertificatesFacade", "Part", "PartOffer", "Written"]


@dataclass(frozen=True)
class Certificate:
    """A certificate: the core's promise to pay ``face`` (minor units of ``currency``) at ``maturity``."""

    certificate_id: int
    core: str
    chain_id: int
    maturity: int
    currency: str
    order_id: int
    face: int
    paid_in: int
    redeemed: int
    root_part: int


@dataclass(frozen=True)
class Part:
    """One part of a certificate. ``value`` is its share of the face value; ``claimed`` what it was paid;
    its payee is its financier when financed, its holder otherwise."""

    part_id: int
    certificate_id: int
    parent: int
    order_id: int
    holder: str
    value: int
    claimed: int
    financier: str
    price: int
    asset_id: int

    @property
    def payee(self) -> str:
        return self.financier if self.asset_id else self.holder

    @property
    def financed(self) -> bool:
        return self.asset_id != 0


@dataclass(frozen=True)
class PartOffer:
    part_id: int
    financier: str
    price: int
    value: int


@dataclass(frozen=True)
class Written:
    """What a write did: its receipt, the decoded event, and the id it made (a certificate, part or
    alert id; 0 when none)."""

    receipt: Any
    event: Any
    id: int = 0


_ZERO = "0x" + "00" * 20


class CertificatesFacade(_Facade):
    contract_name = "Certificates"

    # ---------------------------------------------------------------- writes

    def issue(self, order_id: int, maturity: int) -> Written:
        """The core (the signer, the order's buyer) issues a certificate for an invoiced order."""
        receipt = self._send(self.contract.functions.issue(order_id, maturity))
        event = self._event(receipt, "CertificateIssued")
        return Written(receipt, event, int(event["certificateId"]))

    def admit_chain(self, chain_id: int) -> Written:
        """The core (the signer) admits the members of chain ``chain_id`` to all its certificates."""
        receipt = self._send(self.contract.functions.admitChain(chain_id))
        return Written(receipt, self._event(receipt, "CertificateChainAdmitted"), chain_id)

    def dismiss_chain(self, chain_id: int) -> Written:
        """The core (the signer) stops admitting chain ``chain_id``; parts held there keep their claims."""
        receipt = self._send(self.contract.functions.dismissChain(chain_id))
        return Written(receipt, self._event(receipt, "CertificateChainDismissed"), chain_id)

    def split(self, part_id: int, amount: int) -> Written:
        """The holder keeps ``amount`` of its part aside as a new part (the id in the result)."""
        receipt = self._send(self.contract.functions.split(part_id, amount))
        event = self._event(receipt, "PartSplit")
        return Written(receipt, event, int(event["child"]))

    def pay(self, part_id: int, order_id: int, amount: int) -> Written:
        """The holder pays ``amount`` of its part to the seller of ``order_id`` (where it is the buyer)."""
        receipt = self._send(self.contract.functions.pay(part_id, order_id, amount))
        event = self._event(receipt, "PartSplit")
        return Written(receipt, event, int(event["child"]))

    def offer(self, part_id: int, financier: str, price: int) -> Written:
        """The holder offers its part to ``financier`` for ``price``."""
        receipt = self._send(self.contract.functions.offer(part_id, financier, price))
        return Written(receipt, self._event(receipt, "PartOffered"), part_id)

    def accept_offer(self, part_id: int) -> Written:
        """The financier buys the part offered to it (its allowance to this contract must cover the price).
        The result's id is the part's AssetRegistry asset."""
        receipt = self._send(self.contract.functions.acceptOffer(part_id))
        event = self._event(receipt, "PartFinanced")
        return Written(receipt, event, int(event["assetId"]))

    def pay_in(self, certificate_id: int, amount: int) -> Written:
        """The core pays ``amount`` of the face value in (its allowance to this contract must cover it)."""
        receipt = self._send(self.contract.functions.payIn(certificate_id, amount))
        return Written(receipt, self._event(receipt, "CertificatePaidIn"), certificate_id)

    def claim(self, part_id: int) -> Written:
        """Pays the part's claim to its payee (anyone may send it)."""
        receipt = self._send(self.contract.functions.claim(part_id))
        return Written(receipt, self._event(receipt, "PartClaimed"), part_id)

    def flag_late(self, certificate_id: int) -> Written:
        """After maturity, while not paid in full: alerts RiskControl (indicator 501)."""
        receipt = self._send(self.contract.functions.flagLate(certificate_id))
        event = self._event(receipt, "CertificateLate")
        return Written(receipt, event, int(event["alertId"]))

    # ---------------------------------------------------------------- reads

    def count(self) -> int:
        return int(self.contract.functions.certificateCount().call())

    def part_count(self) -> int:
        return int(self.contract.functions.partCount().call())

    def certificate(self, certificate_id: int) -> Certificate:
        raw = self.contract.functions.getCertificate(certificate_id).call()
        if int(raw[0], 16) == 0:
            raise NotFound(f"no certificate {certificate_id}")
        return Certificate(certificate_id, *raw)

    def part(self, part_id: int) -> Part:
        raw = self.contract.functions.getPart(part_id).call()
        if raw[0] == 0:
            raise NotFound(f"no certificate part {part_id}")
        return Part(part_id, *raw)

    def offer_of(self, part_id: int) -> PartOffer | None:
        financier, price, value = self.contract.functions.getOffer(part_id).call()
        return None if financier == _ZERO or int(financier, 16) == 0 else PartOffer(part_id, financier, price, value)

    def claimable(self, part_id: int) -> int:
        return int(self.contract.functions.claimable(part_id).call())

    def balance(self, holder: str, part_id: int) -> int:
        """The part's ERC-1155 balance of ``holder``: its value not yet redeemed."""
        return int(self.contract.functions.balanceOf(holder, part_id).call())

    def chain_admitted(self, core: str, chain_id: int) -> bool:
        """Whether ``core`` admits chain ``chain_id`` to its certificates (its own chain: always in, False here)."""
        return bool(self.contract.functions.chainAdmitted(core, chain_id).call())

    def admitted_chains(self, core: str) -> list[int]:
        """The chains ``core`` admits now, from its admission events (an off-chain read), each checked on chain."""
        event = self.contract.events.CertificateChainAdmitted()
        logs = event.get_logs(from_block=self.platform.deployment.block, argument_filters={"core": core})
        seen = sorted({int(e["args"]["chainId"]) for e in logs})
        return [c for c in seen if self.chain_admitted(core, c)]

    def of_order(self, order_id: int) -> int:
        """The certificate issued for ``order_id`` (0: none)."""
        return int(self.contract.functions.certificateOfOrder(order_id).call())

    def parts(self, certificate_id: int) -> list[Part]:
        """Every part of a certificate, root first, from the PartSplit events (an off-chain read)."""
        cert = self.certificate(certificate_id)
        event = self.contract.events.PartSplit()
        logs = event.get_logs(from_block=self.platform.deployment.block,
                              argument_filters={"certificateId": certificate_id})
        ids = [cert.root_part, *(int(e["args"]["child"]) for e in logs)]
        return [self.part(i) for i in ids]

    def tree(self, certificate_id: int) -> dict[str, Any]:
        """The split tree: each part with its children (who split what to whom, for which order)."""
        parts = self.parts(certificate_id)
        children: dict[int, list[Part]] = {}
        for p in parts:
            children.setdefault(p.parent, []).append(p)

        def node(p: Part) -> dict[str, Any]:
            return {"part": p, "children": [node(c) for c in children.get(p.part_id, [])]}

        return node(parts[0])
