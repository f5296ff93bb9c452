"""A certificate down the world's chain: core → supplier (tier 1) → supplier2 (tier 2) → seller (tier 3).

    certificate of CNY 100,000.00 for core's invoiced order from supplier (order `a`), root part to supplier;
    supplier pays 40,000.00 of it on its 60,000.00 order from supplier2 (`b`, delivered);
    supplier2 pays 25,000.00 of its part on its 30,000.00 order from seller (`c`, shipped).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from financing_support import DAY, Fin

from vscm.client.records import OrderStatus

FACE = 100_000_00
B_AMOUNT, B_PAID = 60_000_00, 40_000_00
C_AMOUNT, C_PAID = 30_000_00, 25_000_00
MATURITY_IN = 90 * DAY


@dataclass
class Tiers:
    fin: Fin
    certs: Any
    order_a: int
    certificate_id: int
    root: int
    order_b: int = 0
    order_c: int = 0
    part_b: int = 0
    part_c: int = 0


def issued(fin: Fin) -> Tiers:
    """The certificate issued for order `a`, nothing split yet."""
    p = fin.p
    certs = fin.platform.certificates
    order_a = fin.order(p.core, p.supplier, FACE, to=OrderStatus.INVOICED)
    written = certs.as_(p.core).issue(order_a, fin.now() + MATURITY_IN)
    cert = certs.certificate(written.id)
    return Tiers(fin, certs, order_a, written.id, cert.root_part)


def four_tiers(fin: Fin) -> Tiers:
    """The certificate paid down to tier 3 (see the module docstring)."""
    p = fin.p
    t = issued(fin)
    t.order_b = fin.order(p.supplier, p.supplier2, B_AMOUNT, to=OrderStatus.DELIVERED)
    t.part_b = t.certs.as_(p.supplier).pay(t.root, t.order_b, B_PAID).id
    t.order_c = fin.order(p.supplier2, p.seller, C_AMOUNT, to=OrderStatus.SHIPPED)
    t.part_c = t.certs.as_(p.supplier2).pay(t.part_b, t.order_c, C_PAID).id
    return t


def approve(fin: Fin, who: Any, spender: str, amount: int, code: str = "CNY") -> None:
    fin.platform.cash(code).as_(who).approve(spender, amount)
