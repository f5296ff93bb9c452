"""OrderBook.attach: a party of the order (buyer, seller, carrier, warehouse) files a document hash."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from orderbook_support import ZERO32, World, b32, kept, next_id, order_at, receipt_time, reverts, the_event

from vscm.client.records import DocKind, OrderStatus, Status


@pytest.fixture(scope="module")
def orders(chain: Any, world: World) -> Iterator[dict[OrderStatus, int]]:
    with kept(chain, world) as w:
        yield {s: order_at(w, s) for s in (OrderStatus.PLACED, OrderStatus.ACCEPTED, OrderStatus.SHIPPED)}


def test_attach_files_the_document_and_emits_document_attached(orders: dict[OrderStatus, int], fresh: World) -> None:
    p, book = fresh.p, fresh.platform.orders
    order_id = orders[OrderStatus.PLACED]
    receipt = book.as_(p.core).attach(order_id, DocKind.CONTRACT, b32("contract"))

    o = book.order(order_id)
    assert o.document_count == 1
    doc = o.documents[0]
    assert (doc.order_id, doc.index, doc.kind, doc.hash, doc.attached_by) == (
        order_id, 0, DocKind.CONTRACT, b32("contract"), p.core.address)
    assert doc.attached_at == receipt_time(fresh, receipt)
    assert book.contract.functions.hasDocument(order_id, int(DocKind.CONTRACT)).call()
    assert not book.contract.functions.hasDocument(order_id, int(DocKind.INVOICE)).call()
    assert the_event(book, receipt, "DocumentAttached") == {
        "orderId": order_id, "index": 0, "kind": DocKind.CONTRACT, "hash": b32("contract"),
        "attachedBy": p.core.address}


def test_every_party_attaches_once_shipped_in_append_order(orders: dict[OrderStatus, int], fresh: World) -> None:
    p, book = fresh.p, fresh.platform.orders
    order_id = orders[OrderStatus.SHIPPED]
    filed = [(p.core, DocKind.CONTRACT), (p.supplier, DocKind.QUALITY_CERTIFICATE),
             (p.carrier, DocKind.BILL_OF_LADING), (p.warehouse, DocKind.DELIVERY_RECEIPT)]
    for who, kind in filed:
        book.as_(who).attach(order_id, kind, b32(kind.name))

    docs = book.order(order_id).documents
    assert [(d.index, d.kind, d.attached_by, d.hash) for d in docs] == [
        (i, kind, who.address, b32(kind.name)) for i, (who, kind) in enumerate(filed)]


def test_attach_keeps_documents_of_the_same_kind_side_by_side(orders: dict[OrderStatus, int], fresh: World) -> None:
    order_id = orders[OrderStatus.PLACED]
    core = fresh.platform.orders.as_(fresh.p.core)
    core.attach(order_id, DocKind.CONTRACT, b32("contract v1"))
    core.attach(order_id, DocKind.CONTRACT, b32("contract v2"))
    assert [d.hash for d in fresh.platform.orders.order(order_id).documents] == [b32("contract v1"), b32("contract v2")]


@pytest.mark.parametrize("who", ["carrier", "warehouse"])
def test_attach_rejects_carrier_and_warehouse_before_they_are_bound(orders: dict[OrderStatus, int], fresh: World, who: str) -> None:
    order_id = orders[OrderStatus.ACCEPTED]
    caller = getattr(fresh.p, who)
    with reverts("OrderNotParty", orderId=order_id, caller=caller.address):
        fresh.platform.orders.as_(caller).attach(order_id, DocKind.BILL_OF_LADING, b32("bol"))


@pytest.mark.parametrize("who", ["supplier2", "bank", "operator", "outsider"])
def test_attach_rejects_anyone_outside_the_order(orders: dict[OrderStatus, int], fresh: World, who: str) -> None:
    order_id = orders[OrderStatus.SHIPPED]
    caller = getattr(fresh.p, who)
    with reverts("OrderNotParty", orderId=order_id, caller=caller.address):
        fresh.platform.orders.as_(caller).attach(order_id, DocKind.QUALITY_CERTIFICATE, b32("forged"))
    assert fresh.platform.orders.order(order_id).document_count == 0


def test_attach_rejects_an_empty_hash(orders: dict[OrderStatus, int], fresh: World) -> None:
    order_id = orders[OrderStatus.PLACED]
    with reverts("OrderZeroHash"):
        fresh.platform.orders.as_(fresh.p.core).attach(order_id, DocKind.CONTRACT, ZERO32)


def test_attach_rejects_the_same_hash_twice_on_one_order_whatever_the_kind(orders: dict[OrderStatus, int], fresh: World) -> None:
    p = fresh.p
    order_id = orders[OrderStatus.SHIPPED]
    fresh.platform.orders.as_(p.core).attach(order_id, DocKind.CONTRACT, b32("file"))
    for who, kind in ((p.core, DocKind.CONTRACT), (p.carrier, DocKind.BILL_OF_LADING)):
        with reverts("DocumentAlreadyAttached", orderId=order_id, hash=b32("file")):
            fresh.platform.orders.as_(who).attach(order_id, kind, b32("file"))
    assert fresh.platform.orders.order(order_id).document_count == 1


def test_attach_accepts_the_same_hash_on_another_order(orders: dict[OrderStatus, int], fresh: World) -> None:
    first, second = orders[OrderStatus.PLACED], orders[OrderStatus.ACCEPTED]
    for order_id in (first, second):
        fresh.platform.orders.as_(fresh.p.core).attach(order_id, DocKind.CONTRACT, b32("framework contract"))
    assert fresh.platform.orders.order(second).documents[0].hash == b32("framework contract")


def test_attach_rejects_a_suspended_party(orders: dict[OrderStatus, int], fresh: World) -> None:
    p = fresh.p
    order_id = orders[OrderStatus.SHIPPED]
    fresh.platform.members.as_(p.operator).suspend(p.carrier.address, b32("review"))
    with reverts("MemberNotActive", member=p.carrier.address, status=Status.SUSPENDED):
        fresh.platform.orders.as_(p.carrier).attach(order_id, DocKind.BILL_OF_LADING, b32("bol"))


def test_attach_rejects_an_unknown_order(orders: dict[OrderStatus, int], fresh: World) -> None:
    for order_id in (0, next_id(fresh)):
        with reverts("OrderNotFound", orderId=order_id):
            fresh.platform.orders.as_(fresh.p.core).attach(order_id, DocKind.CONTRACT, b32("contract"))
