"""OrderBook.ship: the seller ships an accepted order with a carrier to a warehouse."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from orderbook_support import World, b32, kept, next_id, order_at, reverts, status_of, the_event

from vscm.client.records import DocKind, OrderStatus, Status


@pytest.fixture(scope="module")
def orders(chain: Any, world: World) -> Iterator[dict[str, int]]:
    """An accepted domestic order (supplier sells) and an accepted overseas USD order (core sells)."""
    p = world.p
    with kept(chain, world) as w:
        yield {
            "domestic": order_at(w, OrderStatus.ACCEPTED),
            "overseas": order_at(w, OrderStatus.ACCEPTED, buyer=p.seller, seller=p.core, currency="USD",
                                 overseas=True, incoterm="FOB", country="DE"),
        }


def ship(w: World, order_id: int, carrier: str | None = None, warehouse: str | None = None,
         seller: Any = None) -> Any:
    return w.platform.orders.as_(seller or w.p.supplier).ship(
        order_id, carrier or w.p.carrier.address, warehouse or w.p.warehouse.address)


def test_ship_binds_carrier_and_warehouse_and_emits_order_shipped(orders: dict[str, int], fresh: World) -> None:
    p, order_id = fresh.p, orders["domestic"]
    receipt = ship(fresh, order_id)

    o = fresh.platform.orders.order(order_id)
    assert (o.status, o.carrier, o.warehouse) == (OrderStatus.SHIPPED, p.carrier.address, p.warehouse.address)
    assert the_event(fresh.platform.orders, receipt, "OrderShipped") == {
        "orderId": order_id, "carrier": p.carrier.address, "warehouse": p.warehouse.address}


def test_ship_sends_an_overseas_order_once_its_customs_declaration_is_on_file(orders: dict[str, int],
                                                                               fresh: World) -> None:
    p, order_id = fresh.p, orders["overseas"]
    fresh.platform.orders.as_(p.core).attach(order_id, DocKind.CUSTOMS_DECLARATION, b32("customs"))
    ship(fresh, order_id, seller=p.core)
    assert status_of(fresh, order_id) == OrderStatus.SHIPPED


def test_ship_rejects_an_overseas_order_without_a_customs_declaration(orders: dict[str, int], fresh: World) -> None:
    p, order_id = fresh.p, orders["overseas"]
    # Other documents do not stand in for the customs declaration.
    fresh.platform.orders.as_(p.seller).attach(order_id, DocKind.CONTRACT, b32("contract"))
    fresh.platform.orders.as_(p.core).attach(order_id, DocKind.QUALITY_CERTIFICATE, b32("quality"))
    with reverts("OrderMissingDocument", orderId=order_id, kind=DocKind.CUSTOMS_DECLARATION):
        ship(fresh, order_id, seller=p.core)
    assert status_of(fresh, order_id) == OrderStatus.ACCEPTED


@pytest.mark.parametrize("who", ["warehouse", "supplier2", "outsider", "applicant"])
def test_ship_rejects_a_carrier_that_is_not_an_active_logistics_member(orders: dict[str, int], fresh: World,
                                                                       who: str) -> None:
    address = getattr(fresh.p, who).address
    with reverts("OrderNotCarrier", carrier=address):
        ship(fresh, orders["domestic"], carrier=address)


def test_ship_rejects_a_suspended_carrier(orders: dict[str, int], fresh: World) -> None:
    p = fresh.p
    fresh.platform.members.as_(p.operator).suspend(p.carrier.address, b32("lost cargo"))
    with reverts("OrderNotCarrier", carrier=p.carrier.address):
        ship(fresh, orders["domestic"])


@pytest.mark.parametrize("who", ["carrier", "supplier2", "outsider"])
def test_ship_rejects_a_warehouse_that_is_not_an_active_warehouse_member(orders: dict[str, int], fresh: World,
                                                                         who: str) -> None:
    address = getattr(fresh.p, who).address
    with reverts("OrderNotWarehouseMember", warehouse=address):
        ship(fresh, orders["domestic"], warehouse=address)


@pytest.mark.parametrize("who", ["core", "carrier", "outsider"])
def test_ship_rejects_anyone_but_the_seller(orders: dict[str, int], fresh: World, who: str) -> None:
    order_id, caller = orders["domestic"], getattr(fresh.p, who)
    with reverts("OrderNotSeller", orderId=order_id, caller=caller.address):
        ship(fresh, order_id, seller=caller)


def test_ship_rejects_a_suspended_seller(orders: dict[str, int], fresh: World) -> None:
    p = fresh.p
    fresh.platform.members.as_(p.operator).suspend(p.supplier.address, b32("investigation"))
    with reverts("MemberNotActive", member=p.supplier.address, status=Status.SUSPENDED):
        ship(fresh, orders["domestic"])


def test_ship_rejects_an_unknown_order(orders: dict[str, int], fresh: World) -> None:
    for order_id in (0, next_id(fresh)):
        with reverts("OrderNotFound", orderId=order_id):
            ship(fresh, order_id)
