"""Helpers of the RiskControl tests: a second supply chain, and alerts raised by the monitor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from harness import b32

from vscm.client.records import Role, Severity
from vscm.client.workflows import form_chain, onboard_sme

DAY = 24 * 3600
WINDOW = 3 * DAY
DIVERSION = 103


@dataclass
class OtherChain:
    """A second, independent supply chain: core2 leads supplier3 and buyer3."""

    chain_id: int
    core: LocalAccount
    supplier: LocalAccount
    buyer: LocalAccount


def other_chain(fin: Any) -> OtherChain:
    """core2 (pending in the world) is certified and forms a chain with two new SMEs."""
    p, platform, chain = fin.p, fin.platform, fin.chain
    supplier = Account.from_key(b32("risk-supplier3"))
    buyer = Account.from_key(b32("risk-buyer3"))
    for account in (supplier, buyer):
        chain.fund(account.address, 10**21)
    onboard_sme(platform, p.operator, supplier, [Role.SUPPLIER], "Supplier Three")
    onboard_sme(platform, p.operator, buyer, [Role.SELLER], "Buyer Three")
    platform.members.as_(p.bank).attest(p.core2.address, Role.FINANCIER)
    platform.members.as_(p.auditor).attest(p.core2.address, Role.AUDITOR)
    chain_id = form_chain(platform, p.core2, "Second chain", [supplier, buyer])
    return OtherChain(chain_id, p.core2, supplier, buyer)


def alert(fin: Any, loan_id: int, severity: int = Severity.HIGH, indicator: int = DIVERSION,
          label: str = "evidence") -> int:
    """The monitor raises an alert on a loan; returns its id."""
    return fin.platform.risk.as_(fin.p.monitor).raise_loan_alert(loan_id, indicator, severity, b32(label)).id


def spend(fin: Any, deal: Any, amount: int, to: LocalAccount | None = None) -> Any:
    """The borrower pays `amount` of its loan money to the purpose order's seller (or `to`)."""
    seller = to or fin.platform.orders.order(deal.purpose_order_id, with_documents=False).seller
    address = seller if isinstance(seller, str) else seller.address
    return fin.platform.funds.as_(deal.borrower).spend(deal.loan_id, address, amount, "goods")
