"""OrderBook.accept: the seller accepts a placed order."""

from __future__ import annotations

import pytest
from orderbook_support import World, b32, order_at, place, reverts, status_of, the_event

from vscm.client.records import OrderStatus, Status


def test_accept_moves_a_placed_order_to_accepted_and_emits_order_accepted(fresh: World) -> None:
    order_id = place(fresh)
    receipt = fresh.platform.orders.as_(fresh.p.supplier).accept(order_id)
    assert status_of(fresh, order_id) == OrderStatus.ACCEPTED
    assert the_event(fresh.platform.orders, receipt, "OrderAccepted") == {"orderId": order_id}


@pytest.mark.parametrize("order_id", [0, 2])
def test_accept_rejects_an_unknown_order(fresh: World, order_id: int) -> None:
    place(fresh)
    with reverts("OrderNotFound", orderId=order_id):
        fresh.platform.orders.as_(fresh.p.supplier).accept(order_id)


@pytest.mark.parametrize("who", ["core", "supplier2", "carrier", "outsider", "operator"])
def test_accept_rejects_anyone_but_the_seller(fresh: World, who: str) -> None:
    order_id = place(fresh)
    caller = getattr(fresh.p, who)
    with reverts("OrderNotSeller", orderId=order_id, caller=caller.address):
        fresh.platform.orders.as_(caller).accept(order_id)
    assert status_of(fresh, order_id) == OrderStatus.PLACED


def test_accept_rejects_a_suspended_seller(fresh: World) -> None:
    p = fresh.p
    order_id = place(fresh)
    fresh.platform.members.as_(p.operator).suspend(p.supplier.address, b32("investigation"))
    with reverts("MemberNotActive", member=p.supplier.address, status=Status.SUSPENDED):
        fresh.platform.orders.as_(p.supplier).accept(order_id)


def test_accept_works_again_once_the_seller_is_reinstated(fresh: World) -> None:
    p = fresh.p
    order_id = place(fresh)
    fresh.platform.members.as_(p.operator).suspend(p.supplier.address, b32("investigation"))
    fresh.platform.members.as_(p.operator).reinstate(p.supplier.address)
    fresh.platform.orders.as_(p.supplier).accept(order_id)
    assert status_of(fresh, order_id) == OrderStatus.ACCEPTED


def test_accept_rejects_an_order_accepted_already(fresh: World) -> None:
    order_id = order_at(fresh, OrderStatus.ACCEPTED)
    with reverts("OrderWrongStatus", orderId=order_id, status=OrderStatus.ACCEPTED):
        fresh.platform.orders.as_(fresh.p.supplier).accept(order_id)
