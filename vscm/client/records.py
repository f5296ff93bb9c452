"""Typed records of the platform's state, read from the contracts.

The enums mirror the Solidity enums value for value; the dataclasses are frozen value objects.
Amounts are integers in minor units (fen, cents: PlatformCash has two decimals).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

__all__ = [
    "MODE_ASSET",
    "TRADER_ROLES",
    "ZERO_ADDRESS",
    "Asset",
    "AssetKind",
    "AssetStatus",
    "DocKind",
    "Document",
    "Funds",
    "Loan",
    "LoanMode",
    "LoanStatus",
    "Member",
    "Order",
    "OrderStatus",
    "Role",
    "Status",
    "SupplyChain",
    "SuspensionAuthority",
    "Tier",
    "Whereabouts",
    "mask_to_roles",
    "roles_to_mask",
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


class SuspensionAuthority(IntEnum):
    """Who imposed a member's suspension (IMemberRegistry.Authority), lowest first: only an equal or higher
    authority lifts it."""

    NONE = 0
    OPERATOR = 1
    CONTROLLER = 2
    GUARDIAN = 3
    ADMIN = 4


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
    prepaid: int = 0
    documents: tuple[Document, ...] = ()
    #: the seller's chain at placement: ``chain_id`` (the buyer's) unless the order was placed across chains
    seller_chain_id: int = 0

    @property
    def across_chains(self) -> bool:
        """The seller was in another chain than the buyer's when the order was placed."""
        return self.seller_chain_id != self.chain_id

    @property
    def due(self) -> int:
        """What settlement still asks of the buyer (the amount less loan money already paid)."""
        return self.amount - self.prepaid

    @classmethod
    def from_chain(cls, order_id: int, raw: Any, documents: tuple[Document, ...] = (), *,
                   seller_chain_id: int) -> Order:
        (buyer, seller, chain_id, due, currency, amount, status, before, overseas, incoterm, country,
         carrier, warehouse, invoice_number, payee, doc_count, prepaid) = raw
        return cls(
            order_id=order_id, buyer=buyer, seller=seller, chain_id=chain_id, due_date=due,
            currency=currency, amount=amount, status=OrderStatus(status), overseas=overseas,
            incoterm=_text(bytes(incoterm)), destination_country=_text(bytes(country)),
            carrier=None if carrier == ZERO_ADDRESS else carrier,
            warehouse=None if warehouse == ZERO_ADDRESS else warehouse,
            invoice_number=_text(bytes(invoice_number)), payee=payee, document_count=doc_count,
            status_before_dispute=OrderStatus(before), prepaid=prepaid, documents=documents,
            seller_chain_id=seller_chain_id,
        )


class AssetKind(IntEnum):
    RECEIVABLE = 0
    PAYABLE = 1
    WAREHOUSE_RECEIPT = 2
    FUTURE_GOODS = 3
    CERTIFICATE_PART = 4


class AssetStatus(IntEnum):
    NONE = 0
    REGISTERED = 1
    CONFIRMED = 2
    RETIRED = 3


@dataclass(frozen=True)
class Asset:
    asset_id: int
    kind: AssetKind
    status: AssetStatus
    owner: str
    order_id: int
    issuer: str
    obligor: str
    currency: str
    value: int
    quantity: int
    pledged_quantity: int
    unit: str
    description_hash: bytes
    business_key: bytes
    locked_by: int

    @classmethod
    def from_chain(cls, asset_id: int, owner: str, raw: Any) -> Asset:
        (kind, status, order_id, issuer, obligor, currency, value, quantity, pledged, unit, desc, key,
         locked_by) = raw
        return cls(asset_id=asset_id, kind=AssetKind(kind), status=AssetStatus(status), owner=owner,
                   order_id=order_id, issuer=issuer, obligor=obligor, currency=currency, value=value,
                   quantity=quantity, pledged_quantity=pledged, unit=_text(bytes(unit)),
                   description_hash=bytes(desc), business_key=bytes(key), locked_by=locked_by)


class LoanMode(IntEnum):
    PLEDGE = 0
    RECEIVABLE = 1
    PREPAYMENT = 2
    PAYABLE = 3


class LoanStatus(IntEnum):
    NONE = 0
    APPLIED = 1
    APPROVED = 2
    REJECTED = 3
    DISBURSED = 4
    WARNED = 5
    RECALLED = 6
    REPAID = 7
    DEFAULTED = 8
    WRITTEN_OFF = 9
    WITHDRAWN = 10

    @property
    def running(self) -> bool:
        return self in (LoanStatus.DISBURSED, LoanStatus.WARNED, LoanStatus.RECALLED)


#: the asset kind each financing mode pledges
MODE_ASSET = {
    LoanMode.PLEDGE: AssetKind.WAREHOUSE_RECEIPT,
    LoanMode.RECEIVABLE: AssetKind.RECEIVABLE,
    LoanMode.PREPAYMENT: AssetKind.FUTURE_GOODS,
    LoanMode.PAYABLE: AssetKind.PAYABLE,
}


@dataclass(frozen=True)
class Loan:
    loan_id: int
    mode: LoanMode
    status: LoanStatus
    guarantee_signed: bool
    settlement_collected: bool
    ltv_bps: int
    rate_bps: int
    term_seconds: int
    disbursed_at: int
    maturity: int
    last_accrual: int
    defaulted_at: int
    warning_deadline: int
    #: interest below one minor unit carried to the next accrual, in 1/(10,000 x 365 days) of a unit
    interest_carry: int
    borrower: str
    lender: str
    guarantor: str | None
    supervisor: str | None
    currency: str
    asset_id: int
    purpose_order_id: int
    principal: int
    collateral_quantity: int
    interest_accrued: int
    principal_repaid: int
    interest_paid: int
    guarantor_paid: int
    written_off: int
    #: the guarantor's commitment held by the LoanBook for this loan (returned at repayment)
    guarantee_held: int = 0
    #: an approval can be disbursed until then (Unix seconds; 0 before approval); after it, or once the
    #: lender is no longer active, the borrower may withdraw the loan
    expires_at: int = 0
    accrued_now: int = 0
    outstanding_now: int = 0

    @property
    def repaid(self) -> int:
        return self.principal_repaid + self.interest_paid

    @classmethod
    def from_chain(cls, loan_id: int, raw: Any, accrued_now: int = 0, outstanding_now: int = 0) -> Loan:
        (mode, status, signed, collected, ltv, rate, term, disbursed_at, maturity, last_accrual, defaulted_at,
         deadline, carry, borrower, lender, guarantor, supervisor, currency, asset_id, order_id, principal,
         quantity, accrued, principal_repaid, interest_paid, guarantor_paid, written_off, guarantee_held, expires_at) = raw
        return cls(loan_id=loan_id, mode=LoanMode(mode), status=LoanStatus(status), guarantee_signed=signed,
                   settlement_collected=collected, ltv_bps=ltv, rate_bps=rate, term_seconds=term,
                   disbursed_at=disbursed_at, maturity=maturity, last_accrual=last_accrual,
                   defaulted_at=defaulted_at, warning_deadline=deadline, interest_carry=carry, borrower=borrower, lender=lender,
                   guarantor=None if guarantor == ZERO_ADDRESS else guarantor,
                   supervisor=None if supervisor == ZERO_ADDRESS else supervisor, currency=currency,
                   asset_id=asset_id, purpose_order_id=order_id, principal=principal,
                   collateral_quantity=quantity, interest_accrued=accrued, principal_repaid=principal_repaid,
                   interest_paid=interest_paid, guarantor_paid=guarantor_paid, written_off=written_off,
                   guarantee_held=guarantee_held, expires_at=expires_at,
                   accrued_now=accrued_now, outstanding_now=outstanding_now)


@dataclass(frozen=True)
class Funds:
    loan_id: int
    borrower: str
    lender: str
    currency: str
    order_id: int
    disbursed: int
    spent: int
    returned: int
    released: int
    frozen: bool

    @property
    def unspent(self) -> int:
        return self.disbursed - self.spent - self.returned - self.released


@dataclass(frozen=True)
class Whereabouts:
    """Where every unit of a loan's money is now."""

    loan_id: int
    holder: str
    held: int
    paid: dict[str, int]
    returned: int
    released: int

    @property
    def total(self) -> int:
        return self.held + sum(self.paid.values()) + self.returned + self.released


class AlertSubject(IntEnum):
    LOAN = 0
    CHAIN = 1


class Decision(IntEnum):
    NONE = 0
    CONTINUE = 1
    RECALL = 2


class LapsePolicy(IntEnum):
    """What happens when a warning's deadline passes without the lender's decision."""

    FREEZE = 0
    RECALL = 1
    CONTINUE = 2


class Severity(IntEnum):
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4


@dataclass(frozen=True)
class Alert:
    alert_id: int
    subject: AlertSubject
    subject_id: int
    indicator: int
    severity: Severity
    raised_at: int
    deadline: int
    raised_by: str
    evidence: bytes

    @classmethod
    def from_chain(cls, alert_id: int, raw: Any) -> Alert:
        subject, severity, indicator, raised_at, deadline, raised_by, subject_id, evidence = raw
        return cls(alert_id, AlertSubject(subject), int(subject_id), int(indicator), Severity(severity),
                   int(raised_at), int(deadline), raised_by, bytes(evidence))


@dataclass(frozen=True)
class LoanControl:
    loan_id: int
    alert_id: int
    deadline: int
    decision: Decision
    lapsed: bool
    #: the loan money frozen by RiskControl for the warning (a continue unfreezes it)
    frozen_for_warning: bool


@dataclass(frozen=True)
class FraudCase:
    chain_id: int
    proposed_by: str
    confirmed_by: str
    evidence: bytes
    declared_at: int
    swept: int
    sweep_done: bool


@dataclass(frozen=True)
class Exposure:
    chain_id: int
    lender: str
    loans: int
    outstanding: int
    frozen: int
