"""OrderBook.redirectSettlement: a financing contract (FINANCE_ROLE) sends the settlement to a lender.

No LoanBook exists yet: bank2's account stands in for it, granted FINANCE_ROLE by the operator.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from eth_utils import keccak
from orderbook_support import (
    ZERO_ADDRESS,
    World,
    advance,
    b32,
    by_name,
    kept,
    next_id,
    order_at,
    reverts,
    status_of,
    the_event,
)

from vscm.client.records import OrderStatus

FINANCE_ROLE = keccak(text="FINANCE_ROLE")
WIRING_ROLE = keccak(text="WIRING_ROLE")
OPEN = (OrderStatus.PLACED, OrderStatus.ACCEPTED, OrderStatus.SHIPPED, OrderStatus.DELIVERED,
        OrderStatus.INVOICED)


@pytest.fixture(scope="module")
def world(wired_world: World) -> World:
    """This module runs on the test-wired world, where bank2 holds the OrderBook's FINANCE_ROLE."""
    return wired_world


@pytest.fixture(scope="module")
def orders(chain: Any, world: World) -> Iterator[dict[OrderStatus, int]]:
    """An order in every status, and bank2 holding FINANCE_ROLE."""
    with kept(chain, world) as w:
        built = {status: order_at(w, status) for status in (*OPEN, OrderStatus.SETTLED, OrderStatus.CANCELLED)}
        built[OrderStatus.DISPUTED] = advance(w, order_at(w, OrderStatus.SHIPPED), OrderStatus.DISPUTED)
        yield built


@pytest.mark.parametrize("status", [*OPEN, OrderStatus.DISPUTED], ids=by_name)
def test_redirect_sets_the_payee_and_emits_settlement_redirected(
        orders: dict[OrderStatus, int], fresh: World, status: OrderStatus) -> None:
    p, order_id = fresh.p, orders[status]
    receipt = fresh.platform.orders.as_(p.bank2).redirect_settlement(order_id, p.bank.address)

    o = fresh.platform.orders.order(order_id)
    assert (o.payee, o.seller, o.status) == (p.bank.address, p.supplier.address, status)
    assert the_event(fresh.platform.orders, receipt, "SettlementRedirected") == {
        "orderId": order_id, "payee": p.bank.address, "by": p.bank2.address}


def test_redirect_can_be_changed_again_before_settlement(orders: dict[OrderStatus, int], fresh: World) -> None:
    p, order_id = fresh.p, orders[OrderStatus.INVOICED]
    fresh.platform.orders.as_(p.bank2).redirect_settlement(order_id, p.bank.address)
    fresh.platform.orders.as_(p.bank2).redirect_settlement(order_id, p.supplier.address)
    assert fresh.platform.orders.order(order_id).payee == p.supplier.address


@pytest.mark.parametrize("who", ["bank", "operator", "supplier"])
def test_redirect_rejects_an_account_without_finance_role(orders: dict[OrderStatus, int], fresh: World,
                                                          who: str) -> None:
    p, order_id = fresh.p, orders[OrderStatus.INVOICED]
    caller = getattr(p, who)
    with reverts("AccessControlUnauthorizedAccount", account=caller.address, neededRole=FINANCE_ROLE):
        fresh.platform.orders.as_(caller).redirect_settlement(order_id, p.bank.address)
    assert fresh.platform.orders.order(order_id).payee == p.supplier.address


@pytest.mark.parametrize("who", ["bank", "operator"])
def test_nobody_can_grant_finance_role_after_deployment(orders: dict[OrderStatus, int], fresh: World,
                                                        who: str) -> None:
    caller = getattr(fresh.p, who)
    with reverts("AccessControlUnauthorizedAccount", account=caller.address, neededRole=WIRING_ROLE):
        fresh.platform.orders.as_(caller).grant_finance(caller.address)


@pytest.mark.parametrize("who", ["zero", "outsider", "core2", "suspended bank", "evicted bank"])
def test_redirect_rejects_a_payee_that_is_not_an_active_member(orders: dict[OrderStatus, int], fresh: World,
                                                               who: str) -> None:
    p, order_id = fresh.p, orders[OrderStatus.INVOICED]
    if who == "zero":
        payee = ZERO_ADDRESS
    elif who == "suspended bank":
        fresh.platform.members.as_(p.operator).suspend(p.bank.address, b32("licence revoked"))
        payee = p.bank.address
    elif who == "evicted bank":
        fresh.platform.members.as_(p.operator).evict(p.bank.address, b32("fraud"))
        payee = p.bank.address
    else:
        payee = getattr(p, who).address  # never registered / a pending core applicant
    with reverts("OrderPayeeNotMember", payee=payee):
        fresh.platform.orders.as_(p.bank2).redirect_settlement(order_id, payee)
    assert fresh.platform.orders.order(order_id).payee == p.supplier.address


@pytest.mark.parametrize("status", [OrderStatus.SETTLED, OrderStatus.CANCELLED], ids=by_name)
def test_redirect_rejects_a_finished_order(orders: dict[OrderStatus, int], fresh: World, status: OrderStatus) -> None:
    order_id = orders[status]
    with reverts("OrderWrongStatus", orderId=order_id, status=status):
        fresh.platform.orders.as_(fresh.p.bank2).redirect_settlement(order_id, fresh.p.bank.address)
    assert status_of(fresh, order_id) == status


def test_redirect_rejects_an_unknown_order(orders: dict[OrderStatus, int], fresh: World) -> None:
    for order_id in (0, next_id(fresh)):
        with reverts("OrderNotFound", orderId=order_id):
            fresh.platform.orders.as_(fresh.p.bank2).redirect_settlement(order_id, fresh.p.bank.address)
