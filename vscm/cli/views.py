"""Records as users meet them: one view per record (order, asset, loan ...) shared by every command.

The client's records hold what the contracts hold: minor units, Unix seconds, cash-token addresses. A
command shows them through the views here, so that the same record has the same keys and the same
conventions wherever it appears (README, "Conventions of the CLI"; the JSON schemas in docs/json.md):

* money is a :class:`~vscm.cli.output.Money` (``{"amount", "currency", "minor"}`` in JSON, ``CNY 120000.00``
  in tables), never bare minor units;
* a time is an aware UTC :class:`~datetime.datetime` (ISO 8601 in JSON, ``2031-06-30`` or
  ``2031-06-30 14:05:09 UTC`` in tables), ``None`` where the contract holds 0 (not yet);
* a party is its full address in JSON and, in tables, its registered name or wallet label with a short
  address (``Silk Road Bank 0xeAEE…``, see :class:`Parties`);
* the currency is its ISO code (``currency``), the cash token's address is ``cash_token``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

from vscm.cli.output import Money, money
from vscm.client.records import Asset, Document, Loan, Order

__all__ = [
    "LOAN_FIELDS",
    "Parties",
    "asset_view",
    "loan_from_record",
    "loan_view",
    "order_view",
    "short_address",
    "stamp",
    "utc",
]

#: getLoan's tuple in order, as the contract's struct names it (the index folds the same fields).
LOAN_FIELDS = ("mode", "status", "guaranteeSigned", "settlementCollected", "ltvBps", "rateBps", "termSeconds",
               "disbursedAt", "maturity", "lastAccrual", "defaultedAt", "warningDeadline", "interestCarry",
               "borrower", "lender", "guarantor", "supervisor", "currency", "assetId", "purposeOrderId",
               "principal", "collateralQuantity", "interestAccrued", "principalRepaid", "interestPaid",
               "guarantorPaid", "writtenOff", "guaranteeHeld", "expiresAt")


def utc(seconds: int) -> datetime | None:
    """Unix seconds as an aware UTC datetime; ``None`` for 0 (the contracts' "not yet")."""
    return datetime.fromtimestamp(int(seconds), tz=timezone.utc) if seconds else None


def stamp(moment: datetime | None) -> str:
    """A time for people: ``2031-06-30`` at midnight, else ``2031-06-30 14:05:09 UTC``; ``-`` for none."""
    if moment is None:
        return "-"
    return moment.strftime("%Y-%m-%d" if moment.time() == datetime.min.time() else "%Y-%m-%d %H:%M:%S UTC")


def short_address(address: str) -> str:
    """``0xeAEE…`` (the first four hex digits: enough to tell the parties of one platform apart)."""
    return address[:6] + "…" if len(address) > 10 else address


class Parties:
    """Addresses as people read them: ``Silk Road Bank 0xeAEE…`` (registered name), ``bank 0xeAEE…`` (a
    wallet label, for a party that is not a member) or the address alone.

    Names are read once per address and command (one ``getMember`` call); wallet labels are read from the
    keystore without decrypting anything. ``wide=True`` shows full addresses (``--wide``).

    Args:
        lookup: address -> registered name or ``None`` (the members facade, or the index).
        wide: keep the address whole.
    """

    def __init__(self, lookup: Callable[[str], str | None] | None = None, wide: bool = False) -> None:
        self._lookup = lookup
        self._wide = wide
        self._names: dict[str, str | None] = {}
        self._labels: dict[str, str] | None = None

    @classmethod
    def of_platform(cls, platform: Any, wide: bool = False) -> Parties:
        """Registered names read from the platform's MemberRegistry."""
        from vscm.errors import NotFound

        def lookup(address: str) -> str | None:
            try:
                return str(platform.members.member(address).name) or None
            except NotFound:
                return None

        return cls(lookup, wide)

    @property
    def wide(self) -> bool:
        """Full addresses (``--wide``)."""
        return self._wide

    def name(self, address: str) -> str | None:
        """The registered name of ``address``, else its wallet label, else ``None``."""
        if address not in self._names:
            found = self._lookup(address) if self._lookup is not None else None
            self._names[address] = found or self._label(address)
        return self._names[address]

    def __call__(self, address: str | None) -> str:
        """``address`` for a table cell (``-`` for none)."""
        if not address:
            return "-"
        shown = address if self._wide else short_address(address)
        name = self.name(address)
        return f"{name} {shown}" if name else shown

    def _label(self, address: str) -> str | None:
        if self._labels is None:
            from vscm.cli.wallet import open_keystore
            from vscm.errors import WalletError

            try:
                self._labels = {info.address: info.label for info in open_keystore().list()}
            except (WalletError, OSError):  # an unreadable keystore: tables fall back to addresses
                self._labels = {}
        return self._labels.get(address)


def _document(d: Document) -> dict[str, Any]:
    return {"index": d.index, "kind": d.kind.name, "hash": "0x" + d.hash.hex(), "attached_by": d.attached_by,
            "attached_at": utc(d.attached_at)}


def order_view(o: Order, code: str) -> dict[str, Any]:
    """An order: amounts in ``code`` (the ISO code of its cash token), times in UTC (schema ``Order``)."""
    return {
        "order_id": o.order_id, "status": o.status.name, "buyer": o.buyer, "seller": o.seller,
        "chain_id": o.chain_id, "seller_chain_id": o.seller_chain_id, "currency": code, "cash_token": o.currency, "amount": money(o.amount, code),
        "prepaid": money(o.prepaid, code), "due_date": utc(o.due_date), "overseas": o.overseas,
        "incoterm": o.incoterm or None, "destination_country": o.destination_country or None,
        "carrier": o.carrier, "warehouse": o.warehouse, "invoice_number": o.invoice_number or None,
        "payee": o.payee, "status_before_dispute": o.status_before_dispute.name,
        "document_count": o.document_count, "documents": [_document(d) for d in o.documents],
    }


def asset_view(a: Asset, code: str) -> dict[str, Any]:
    """An asset: its value in ``code``, a pledgeable quantity with its unit (schema ``Asset``)."""
    return {
        "asset_id": a.asset_id, "kind": a.kind.name, "status": a.status.name, "owner": a.owner,
        "issuer": a.issuer, "obligor": a.obligor, "order_id": a.order_id or None, "currency": code,
        "cash_token": a.currency, "value": money(a.value, code), "quantity": a.quantity,
        "pledged_quantity": a.pledged_quantity, "unit": a.unit or None, "description_hash": a.description_hash,
        "business_key": a.business_key, "locked_by_loan": a.locked_by or None,
    }


def loan_view(ln: Loan, code: str) -> dict[str, Any]:
    """A loan, the same keys whether read from the chain (``vscm loan show``) or from the lenders' index
    (``vscm lender loan``): schema ``Loan`` of docs/json.md."""
    m: Callable[[int], Money] = lambda minor: money(minor, code)
    return {
        "loan_id": ln.loan_id, "mode": ln.mode.name, "status": ln.status.name, "borrower": ln.borrower,
        "lender": ln.lender, "guarantor": ln.guarantor, "supervisor": ln.supervisor, "currency": code,
        "cash_token": ln.currency, "asset_id": ln.asset_id, "purpose_order_id": ln.purpose_order_id or None,
        "principal": m(ln.principal), "rate_bps": ln.rate_bps, "ltv_bps": ln.ltv_bps,
        "term_days": ln.term_seconds // 86_400, "collateral_quantity": ln.collateral_quantity,
        "guarantee_signed": ln.guarantee_signed, "settlement_collected": ln.settlement_collected,
        "approval_expires": utc(ln.expires_at), "disbursed_at": utc(ln.disbursed_at), "maturity": utc(ln.maturity),
        "defaulted_at": utc(ln.defaulted_at), "warning_deadline": utc(ln.warning_deadline),
        "interest_accrued": m(ln.interest_accrued), "principal_repaid": m(ln.principal_repaid),
        "interest_paid": m(ln.interest_paid), "accrued_now": m(ln.accrued_now),
        "outstanding_now": m(ln.outstanding_now), "guarantee_held": m(ln.guarantee_held),
        "guarantor_paid": m(ln.guarantor_paid), "written_off": m(ln.written_off),
    }


def loan_from_record(loan_id: int, record: Mapping[str, Any], pending_interest: int) -> Loan:
    """A loan folded by the lenders' index (getLoan's fields by name) as the client's :class:`Loan`, with
    ``pending_interest`` (interest since the last accrual at the index's time) as the contract's
    ``accruedInterest``/``outstanding`` views count it."""
    raw = tuple(record[name] for name in LOAN_FIELDS)
    accrued = record["interestAccrued"] - record["interestPaid"] + pending_interest
    owed = (record["principal"] + record["interestAccrued"] - record["principalRepaid"] - record["interestPaid"]
            - record["writtenOff"])
    return Loan.from_chain(loan_id, raw, accrued, owed + pending_interest)
