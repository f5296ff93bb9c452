"""OrderBook.dispute: the buyer or the seller disputes a shipped, delivered or invoiced order."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from orderbook_support import (
    ZERO32,
    World,
    b32,
    by_name,
    kept,
    next_id,
    order_at,
    reverts,
    status_of,
    the_event,
)

from vscm.client.records import OrderStatus, Status

DISPUTABLE = (OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.INVOICED)


@pytest.fixture(scope="module")
def orders(chain: Any, world: World) -> Iterator[dict[OrderStatus, int]]:
    with kept(chain, world) as w:
        yield {status: order_at(w, status) for status in DISPUTABLE}


@pytest.mark.parametrize("status", DISPUTABLE, ids=by_name)
@pytest.mark.parametrize("who", ["core", "supplier"])
def test_dispute_records_the_status_before_and_emits_order_disputed(
        orders: dict[OrderStatus, int], fresh: World, status: OrderStatus, who: str) -> None:
    order_id, caller = orders[status], getattr(fresh.p, who)
    receipt = fresh.platform.orders.as_(caller).dispute(order_id, b32("goods damaged"))

    o = fresh.platform.orders.order(order_id)
    assert (o.status, o.status_before_dispute) == (OrderStatus.DISPUTED, status)
    assert the_event(fresh.platform.orders, receipt, "OrderDisputed") == {
        "orderId": order_id, "by": caller.address, "reasonHash": b32("goods damaged")}


def test_a_disputed_order_cannot_be_settled(orders: dict[OrderStatus, int], fresh: World) -> None:
    p, order_id = fresh.p, orders[OrderStatus.INVOICED]
    fresh.platform.orders.as_(p.core).dispute(order_id, b32("short delivery"))
    with reverts("OrderWrongStatus", orderId=order_id, status=OrderStatus.DISPUTED):
        fresh.platform.orders.as_(p.core).settle(order_id)


def test_dispute_rejects_an_empty_reason(orders: dict[OrderStatus, int], fresh: World) -> None:
    order_id = orders[OrderStatus.SHIPPED]
    with reverts("OrderZeroHash"):
        fresh.platform.orders.as_(fresh.p.core).dispute(order_id, ZERO32)
    assert status_of(fresh, order_id) == OrderStatus.SHIPPED


@pytest.mark.parametrize("who", ["carrier", "warehouse", "supplier2", "outsider"])
def test_dispute_rejects_anyone_but_buyer_and_seller(orders: dict[OrderStatus, int], fresh: World, who: str) -> None:
    order_id = orders[OrderStatus.SHIPPED]  # carrier and warehouse are bound to it, still not parties
    caller = getattr(fresh.p, who)
    with reverts("OrderNotParty", orderId=order_id, caller=caller.address):
        fresh.platform.orders.as_(caller).dispute(order_id, b32("reason"))


def test_dispute_rejects_a_suspended_party(orders: dict[OrderStatus, int], fresh: World) -> None:
    p = fresh.p
    fresh.platform.members.as_(p.operator).suspend(p.supplier.address, b32("review"))
    with reverts("MemberNotActive", member=p.supplier.address, status=Status.SUSPENDED):
        fresh.platform.orders.as_(p.supplier).dispute(orders[OrderStatus.DELIVERED], b32("reason"))


def test_dispute_rejects_an_unknown_order(orders: dict[OrderStatus, int], fresh: World) -> None:
    for order_id in (0, next_id(fresh)):
        with reverts("OrderNotFound", orderId=order_id):
            fresh.platform.orders.as_(fresh.p.core).dispute(order_id, b32("reason"))
