"""Typed records of the platform's state, read from the contracts.

The enums mirror the Solidity enums value for value; the dataclasses are frozen value objects.
Amounts are integers in minor units (fen, cents: PlatformCash has two decimals).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

__all__ = [
    "Role", "Tier", "Status", "OrderStatus", "DocKind",
    "Member", "SupplyChain", "Order", "Document",
    "roles_to_mask", "mask_to_roles", "TRADER_ROLES", "ZERO_ADDRESS",
]

ZERO_ADDRESS = "0x" + "00" * 20


class Role(IntEnum):
    SUPPLIER = 0
    MANUFACTURER = 1
    SELLER = 2
    LOGISTICS = 3
    WAREHOUSE = 4
    FINANCIER = 5
    AUDITOR = 6
    ORACLE = 7
    MONITOR = 8

    @property
    def label(self) -> str:
        return self.name.lower()


TRADER_ROLES = frozenset({Role.SUPPLIER, Role.MANUFACTURER, Role.SELLER})


class Tier(IntEnum):
    SME = 0
    CORE = 1


class Status(IntEnum):
    NONE = 0
    PENDING = 1
    ACTIVE = 2
    SUSPENDED = 3
    EVICTED = 4


class OrderStatus(IntEnum):
    NONE = 0
    PLACED = 1
    ACCEPTED = 2
    SHIPPED = 3
    DELIVERED = 4
    INVOICED = 5
    SETTLED = 6
    CANCELLED = 7
    DISPUTED = 8


class DocKind(IntEnum):
    CONTRACT = 0
    INVOICE = 1
    BILL_OF_LADING = 2
    CUSTOMS_DECLARATION = 3
    QUALITY_CERTIFICATE = 4
    DELIVERY_RECEIPT = 5


def roles_to_mask(roles: Any) -> int:
    mask = 0
    for role in roles:
        mask |= 1 << int(role)
    return mask


def mask_to_roles(mask: int) -> tuple[Role, ...]:
    return tuple(role for role in Role if mask & (1 << int(role)))


def _text(value: bytes, size: int | None = None) -> str:
    """A fixed-size bytes field (bytes32 name, bytes3 incoterm) as text, NULs stripped."""
    return value.rstrip(b"\x00").decode("utf-8", errors="replace")


@dataclass(frozen=True)
class Member:
    address: str
    name: str
    roles: tuple[Role, ...]
    tier: Tier
    status: Status
    chain_id: int
    credential_hash: bytes
    credential_expiry: int
    financier_attestor: str | None
    auditor_attestor: str | None

    @classmethod
    def from_chain(cls, address: str, raw: Any, effective_status: int) -> Member:
        roles, tier, _stored, chain_id, expiry, cred, fin, aud, name = raw
        return cls(
            address=address,
            name=name,
            roles=mask_to_roles(roles),
            tier=Tier(tier),
            status=Status(effective_status),
            chain_id=chain_id,
            credential_hash=bytes(cred),
            credential_expiry=expiry,
            financier_attestor=None if fin == ZERO_ADDRESS else fin,
            auditor_attestor=None if aud == ZERO_ADDRESS else aud,
        )


@dataclass(frozen=True)
class SupplyChain:
    chain_id: int
    core: str
    name: str
    member_count: int
    evicted: bool

    @classmethod
    def from_chain(cls, chain_id: int, raw: Any) -> SupplyChain:
        core, evicted, member_count, name = raw
        return cls(chain_id=chain_id, core=core, name=_text(bytes(name)), member_count=member_count,
                   evicted=evicted)


@dataclass(frozen=True)
class Document:
    order_id: int
    index: int
    kind: DocKind
    hash: bytes
    attached_by: str
    attached_at: int


@dataclass(frozen=True)
class Order:
    order_id: int
    buyer: str
    seller: str
    chain_id: int
    due_date: int
    currency: str
    amount: int
    status: OrderStatus
    overseas: bool
    incoterm: str
    destination_country: str
    carrier: str | None
    warehouse: str | None
    invoice_number: str
    payee: str
    document_count: int
    status_before_dispute: OrderStatus = OrderStatus.NONE
    documents: tuple[Document, ...] = ()

    @classmethod
    def from_chain(cls, order_id: int, raw: Any, documents: tuple[Document, ...] = ()) -> Order:
        (buyer, seller, chain_id, due, currency, amount, status, before, overseas, incoterm, country,
         carrier, warehouse, invoice_number, payee, doc_count) = raw
        return cls(
            order_id=order_id, buyer=buyer, seller=seller, chain_id=chain_id, due_date=due,
            currency=currency, amount=amount, status=OrderStatus(status), overseas=overseas,
            incoterm=_text(bytes(incoterm)), destination_country=_text(bytes(country)),
            carrier=None if carrier == ZERO_ADDRESS else carrier,
            warehouse=None if warehouse == ZERO_ADDRESS else warehouse,
            invoice_number=_text(bytes(invoice_number)), payee=payee, document_count=doc_count,
            status_before_dispute=OrderStatus(before), documents=documents,
        )
