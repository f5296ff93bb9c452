"""OrderBook.deliver: the destination warehouse bound at shipping confirms the goods arrived."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from orderbook_support import World, b32, by_name, kept, next_id, order_at, reverts, status_of, the_event

from vscm.client.records import OrderStatus, Status


@pytest.fixture(scope="module")
def orders(chain: Any, world: World) -> Iterator[dict[OrderStatus, int]]:
    with kept(chain, world) as w:
        yield {s: order_at(w, s) for s in (OrderStatus.PLACED, OrderStatus.ACCEPTED, OrderStatus.SHIPPED)}


def test_deliver_moves_a_shipped_order_to_delivered_and_emits_order_delivered(orders, fresh: World) -> None:
    p, order_id = fresh.p, orders[OrderStatus.SHIPPED]
    receipt = fresh.platform.orders.as_(p.warehouse).deliver(order_id)
    assert status_of(fresh, order_id) == OrderStatus.DELIVERED
    assert the_event(fresh.platform.orders, receipt, "OrderDelivered") == {"orderId": order_id, "by": p.warehouse.address}


@pytest.mark.parametrize("who", ["supplier", "core", "carrier", "outsider"])
def test_deliver_rejects_anyone_but_the_orders_warehouse(orders, fresh: World, who: str) -> None:
    order_id, caller = orders[OrderStatus.SHIPPED], getattr(fresh.p, who)
    with reverts("OrderNotWarehouse", orderId=order_id, caller=caller.address):
        fresh.platform.orders.as_(caller).deliver(order_id)
    assert status_of(fresh, order_id) == OrderStatus.SHIPPED


@pytest.mark.parametrize("status", [OrderStatus.PLACED, OrderStatus.ACCEPTED], ids=by_name)
def test_deliver_before_shipping_is_refused_because_no_warehouse_is_bound_yet(orders, fresh: World,
                                                                             status: OrderStatus) -> None:
    p, order_id = fresh.p, orders[status]
    with reverts("OrderNotWarehouse", orderId=order_id, caller=p.warehouse.address):
        fresh.platform.orders.as_(p.warehouse).deliver(order_id)


def test_deliver_rejects_a_suspended_warehouse(orders, fresh: World) -> None:
    p = fresh.p
    fresh.platform.members.as_(p.operator).suspend(p.warehouse.address, b32("audit"))
    with reverts("MemberNotActive", member=p.warehouse.address, status=Status.SUSPENDED):
        fresh.platform.orders.as_(p.warehouse).deliver(orders[OrderStatus.SHIPPED])


def test_deliver_rejects_an_unknown_order(orders, fresh: World) -> None:
    for order_id in (0, next_id(fresh)):
        with reverts("OrderNotFound", orderId=order_id):
            fresh.platform.orders.as_(fresh.p.warehouse).deliver(order_id)
