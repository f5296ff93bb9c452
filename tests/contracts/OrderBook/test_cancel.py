"""OrderBook.cancel: the buyer or the seller cancels an order that has not shipped."""

from __future__ import annotations

import pytest
from orderbook_support import World, b32, order_at, place, reverts, status_of, the_event

from vscm.client.records import OrderStatus, Status


@pytest.mark.parametrize("status, who", [
    (OrderStatus.PLACED, "core"), (OrderStatus.PLACED, "supplier"),
    (OrderStatus.ACCEPTED, "core"), (OrderStatus.ACCEPTED, "supplier"),
], ids=["placed-by-buyer", "placed-by-seller", "accepted-by-buyer", "accepted-by-seller"])
def test_cancel_by_either_party_before_shipping_emits_order_cancelled(fresh: World, status, who: str) -> None:
    order_id = order_at(fresh, status)
    caller = getattr(fresh.p, who)
    receipt = fresh.platform.orders.as_(caller).cancel(order_id)
    assert status_of(fresh, order_id) == OrderStatus.CANCELLED
    assert the_event(fresh.platform.orders, receipt, "OrderCancelled") == {"orderId": order_id, "by": caller.address}


def test_cancel_moves_no_money(fresh: World) -> None:
    p = fresh.p
    order_id = place(fresh)
    before = [fresh.platform.cash("CNY").balance(a.address) for a in (p.core, p.supplier)]
    fresh.platform.orders.as_(p.core).cancel(order_id)
    assert [fresh.platform.cash("CNY").balance(a.address) for a in (p.core, p.supplier)] == before


@pytest.mark.parametrize("who", ["supplier2", "carrier", "warehouse", "operator", "outsider"])
def test_cancel_rejects_anyone_but_buyer_and_seller(fresh: World, who: str) -> None:
    order_id = place(fresh)
    caller = getattr(fresh.p, who)
    with reverts("OrderNotParty", orderId=order_id, caller=caller.address):
        fresh.platform.orders.as_(caller).cancel(order_id)
    assert status_of(fresh, order_id) == OrderStatus.PLACED


def test_cancel_rejects_a_suspended_buyer(fresh: World) -> None:
    p = fresh.p
    order_id = place(fresh)
    fresh.platform.members.as_(p.operator).suspend(p.core.address, b32("review"))
    with reverts("MemberNotActive", member=p.core.address, status=Status.SUSPENDED):
        fresh.platform.orders.as_(p.core).cancel(order_id)


def test_cancel_rejects_an_evicted_seller(fresh: World) -> None:
    p = fresh.p
    order_id = place(fresh)
    fresh.platform.members.as_(p.operator).evict(p.supplier.address, b32("fraud"))
    with reverts("MemberNotActive", member=p.supplier.address, status=Status.EVICTED):
        fresh.platform.orders.as_(p.supplier).cancel(order_id)


@pytest.mark.parametrize("order_id", [0, 2])
def test_cancel_rejects_an_unknown_order(fresh: World, order_id: int) -> None:
    place(fresh)
    with reverts("OrderNotFound", orderId=order_id):
        fresh.platform.orders.as_(fresh.p.core).cancel(order_id)
