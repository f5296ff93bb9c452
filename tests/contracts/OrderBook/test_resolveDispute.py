"""OrderBook.resolveDispute: the operator ends a dispute, back to where it was or cancelled."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from eth_utils import keccak
from orderbook_support import (
    AMOUNT,
    World,
    advance,
    by_name,
    kept,
    next_id,
    order_at,
    reverts,
    status_of,
    the_event,
)

from vscm.client.records import OrderStatus

OPERATOR_ROLE = keccak(text="OPERATOR_ROLE")
BEFORE = (OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.INVOICED)


@pytest.fixture(scope="module")
def disputed(chain: Any, world: World) -> Iterator[dict[OrderStatus, int]]:
    """One disputed order per status the dispute began in."""
    with kept(chain, world) as w:
        yield {status: advance(w, order_at(w, status), OrderStatus.DISPUTED) for status in BEFORE}


@pytest.mark.parametrize("status", BEFORE, ids=by_name)
def test_resolve_without_cancelling_restores_the_status_before_the_dispute(
        disputed: dict[OrderStatus, int], fresh: World, status: OrderStatus) -> None:
    order_id = disputed[status]
    receipt = fresh.platform.orders.as_(fresh.p.operator).resolve_dispute(order_id, False)

    o = fresh.platform.orders.order(order_id)
    assert (o.status, o.status_before_dispute) == (status, OrderStatus.NONE)
    assert the_event(fresh.platform.orders, receipt, "DisputeResolved") == {"orderId": order_id, "status": status}


def test_a_restored_order_goes_on_to_settlement(disputed: dict[OrderStatus, int], fresh: World) -> None:
    p, order_id = fresh.p, disputed[OrderStatus.SHIPPED]
    fresh.platform.orders.as_(p.operator).resolve_dispute(order_id, False)
    before = fresh.platform.cash("CNY").balance(p.supplier.address)
    advance(fresh, order_id, OrderStatus.SETTLED)
    assert fresh.platform.cash("CNY").balance(p.supplier.address) == before + AMOUNT


def test_resolve_by_cancelling_ends_the_order(disputed: dict[OrderStatus, int], fresh: World) -> None:
    p, order_id = fresh.p, disputed[OrderStatus.INVOICED]
    receipt = fresh.platform.orders.as_(p.operator).resolve_dispute(order_id, True)

    o = fresh.platform.orders.order(order_id)
    assert (o.status, o.status_before_dispute) == (OrderStatus.CANCELLED, OrderStatus.NONE)
    assert the_event(fresh.platform.orders, receipt, "DisputeResolved") == {
        "orderId": order_id, "status": OrderStatus.CANCELLED}
    with reverts("OrderWrongStatus", orderId=order_id, status=OrderStatus.CANCELLED):
        fresh.platform.orders.as_(p.core).settle(order_id)


def test_an_order_can_be_disputed_again_after_a_resolution(disputed: dict[OrderStatus, int], fresh: World) -> None:
    order_id = disputed[OrderStatus.DELIVERED]
    fresh.platform.orders.as_(fresh.p.operator).resolve_dispute(order_id, False)
    advance(fresh, order_id, OrderStatus.INVOICED)
    advance(fresh, order_id, OrderStatus.DISPUTED)
    o = fresh.platform.orders.order(order_id)
    assert (o.status, o.status_before_dispute) == (OrderStatus.DISPUTED, OrderStatus.INVOICED)


@pytest.mark.parametrize("who", ["core", "supplier", "bank", "auditor", "outsider"])
def test_resolve_rejects_anyone_but_the_operator(disputed: dict[OrderStatus, int], fresh: World, who: str) -> None:
    order_id = disputed[OrderStatus.SHIPPED]
    caller = getattr(fresh.p, who)
    with reverts("AccessControlUnauthorizedAccount", account=caller.address, neededRole=OPERATOR_ROLE):
        fresh.platform.orders.as_(caller).resolve_dispute(order_id, False)
    assert status_of(fresh, order_id) == OrderStatus.DISPUTED


def test_resolve_rejects_an_unknown_order(disputed: dict[OrderStatus, int], fresh: World) -> None:
    for order_id in (0, next_id(fresh)):
        with reverts("OrderNotFound", orderId=order_id):
            fresh.platform.orders.as_(fresh.p.operator).resolve_dispute(order_id, True)
