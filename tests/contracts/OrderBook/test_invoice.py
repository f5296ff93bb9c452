"""OrderBook.invoice: the seller invoices a delivered order; the invoice document goes on file."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from orderbook_support import (
    ZERO32,
    World,
    b32,
    emitted,
    kept,
    next_id,
    order_at,
    receipt_time,
    reverts,
    status_of,
    the_event,
)

from vscm.client.platform import text32
from vscm.client.records import DocKind, OrderStatus, Status


@pytest.fixture(scope="module")
def delivered(chain: Any, world: World) -> Iterator[int]:
    """A delivered order with the warehouse's delivery receipt on file (document 0)."""
    with kept(chain, world) as w:
        order_id = order_at(w, OrderStatus.DELIVERED)
        w.platform.orders.as_(w.p.warehouse).attach(order_id, DocKind.DELIVERY_RECEIPT, b32("receipt"))
        yield order_id


def test_invoice_records_the_number_attaches_the_invoice_and_emits_both_events(delivered: int, fresh: World) -> None:
    p, orders = fresh.p, fresh.platform.orders
    receipt = orders.as_(p.supplier).invoice(delivered, "INV-2026-0042", b32("invoice"))

    o = orders.order(delivered)
    assert (o.status, o.invoice_number, o.document_count) == (OrderStatus.INVOICED, "INV-2026-0042", 2)
    doc = o.documents[1]
    assert (doc.index, doc.kind, doc.hash, doc.attached_by) == (1, DocKind.INVOICE, b32("invoice"), p.supplier.address)
    assert doc.attached_at == receipt_time(fresh, receipt)
    assert orders.contract.functions.hasDocument(delivered, int(DocKind.INVOICE)).call()
    assert the_event(orders, receipt, "OrderInvoiced") == {
        "orderId": delivered, "invoiceNumber": text32("INV-2026-0042"), "invoiceHash": b32("invoice")}
    assert emitted(orders, receipt, "DocumentAttached") == [{
        "orderId": delivered, "index": 1, "kind": DocKind.INVOICE, "hash": b32("invoice"),
        "attachedBy": p.supplier.address}]


@pytest.mark.parametrize("number, doc_hash", [("", b32("invoice")), ("INV-1", ZERO32)],
                         ids=["no-number", "no-hash"])
def test_invoice_rejects_an_empty_number_or_hash(delivered: int, fresh: World, number: str, doc_hash: bytes) -> None:
    with reverts("OrderZeroHash"):
        fresh.platform.orders.as_(fresh.p.supplier).invoice(delivered, number, doc_hash)
    assert status_of(fresh, delivered) == OrderStatus.DELIVERED


def test_invoice_rejects_a_hash_already_on_file_for_the_order(delivered: int, fresh: World) -> None:
    with reverts("DocumentAlreadyAttached", orderId=delivered, hash=b32("receipt")):
        fresh.platform.orders.as_(fresh.p.supplier).invoice(delivered, "INV-1", b32("receipt"))
    o = fresh.platform.orders.order(delivered)
    assert (o.status, o.invoice_number, o.document_count) == (OrderStatus.DELIVERED, "", 1)


@pytest.mark.parametrize("who", ["core", "warehouse", "outsider"])
def test_invoice_rejects_anyone_but_the_seller(delivered: int, fresh: World, who: str) -> None:
    caller = getattr(fresh.p, who)
    with reverts("OrderNotSeller", orderId=delivered, caller=caller.address):
        fresh.platform.orders.as_(caller).invoice(delivered, "INV-1", b32("invoice"))


def test_invoice_rejects_a_suspended_seller(delivered: int, fresh: World) -> None:
    p = fresh.p
    fresh.platform.members.as_(p.operator).suspend(p.supplier.address, b32("fraud suspicion"))
    with reverts("MemberNotActive", member=p.supplier.address, status=Status.SUSPENDED):
        fresh.platform.orders.as_(p.supplier).invoice(delivered, "INV-1", b32("invoice"))


def test_invoice_rejects_an_unknown_order(delivered: int, fresh: World) -> None:
    for order_id in (0, next_id(fresh)):
        with reverts("OrderNotFound", orderId=order_id):
            fresh.platform.orders.as_(fresh.p.supplier).invoice(order_id, "INV-1", b32("invoice"))
