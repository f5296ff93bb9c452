"""The order lifecycle as a table: every (status, action) pair is either a transition or refused.

    Placed -> Accepted -> Shipped -> Delivered -> Invoiced -> Settled
    Placed/Accepted -> Cancelled;  Shipped/Delivered/Invoiced -> Disputed -> (back | Cancelled)

Each action is taken by the party entitled to it (the seller accepts, the warehouse delivers, the
operator resolves ...), so a refusal is about the status alone: OrderWrongStatus(orderId, status).
One exception, by design: before shipping no warehouse is bound to the order, so nobody is
its warehouse and `deliver` is refused with OrderNotWarehouse.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from orderbook_support import World, advance, b32, order_at, reverts, status_of

from vscm.client.records import OrderStatus as S

#: Orders the table acts on, by scenario: the status each is in and how it got there.
SCENARIOS: dict[str, tuple[S, Callable[[World], int]]] = {
    "placed": (S.PLACED, lambda w: order_at(w, S.PLACED)),
    "accepted": (S.ACCEPTED, lambda w: order_at(w, S.ACCEPTED)),
    "shipped": (S.SHIPPED, lambda w: order_at(w, S.SHIPPED)),
    "delivered": (S.DELIVERED, lambda w: order_at(w, S.DELIVERED)),
    "invoiced": (S.INVOICED, lambda w: order_at(w, S.INVOICED)),
    "settled": (S.SETTLED, lambda w: order_at(w, S.SETTLED)),
    "cancelled": (S.CANCELLED, lambda w: order_at(w, S.CANCELLED)),
    "cancelled-in-dispute": (S.CANCELLED, lambda w: _cancelled_in_dispute(w)),
    "disputed": (S.DISPUTED, lambda w: advance(w, order_at(w, S.DELIVERED), S.DISPUTED)),
}


def _cancelled_in_dispute(w: World) -> int:
    order_id = advance(w, order_at(w, S.SHIPPED), S.DISPUTED)
    w.platform.orders.as_(w.p.operator).resolve_dispute(order_id, True)
    return order_id


def _act(action: str, w: World, order_id: int) -> Any:
    orders, p = w.platform.orders, w.p
    if action == "accept":
        return orders.as_(p.supplier).accept(order_id)
    if action == "ship":
        return orders.as_(p.supplier).ship(order_id, p.carrier.address, p.warehouse.address)
    if action == "deliver":
        return orders.as_(p.warehouse).deliver(order_id)
    if action == "invoice":
        return orders.as_(p.supplier).invoice(order_id, "INV-TABLE", b32(f"{order_id}:table invoice"))
    if action == "settle":
        return orders.as_(p.core).settle(order_id)
    if action == "cancel":
        return orders.as_(p.core).cancel(order_id)
    if action == "dispute":
        return orders.as_(p.core).dispute(order_id, b32("table complaint"))
    if action == "resolve":
        return orders.as_(p.operator).resolve_dispute(order_id, False)
    if action == "redirect":
        return orders.as_(p.bank2).redirect_settlement(order_id, p.bank.address)
    if action == "attach":
        return orders.as_(p.core).attach(order_id, 0, b32(f"{order_id}:table contract"))
    raise AssertionError(action)


ACTIONS = ("accept", "ship", "deliver", "invoice", "settle", "cancel", "dispute", "resolve", "redirect", "attach")
UNFINISHED = ("placed", "accepted", "shipped", "delivered", "invoiced", "disputed")

#: (action, scenario) -> status after the action; every pair not listed must be refused.
LEGAL: dict[tuple[str, str], S] = {
    ("accept", "placed"): S.ACCEPTED,
    ("ship", "accepted"): S.SHIPPED,
    ("deliver", "shipped"): S.DELIVERED,
    ("invoice", "delivered"): S.INVOICED,
    ("settle", "invoiced"): S.SETTLED,
    ("cancel", "placed"): S.CANCELLED,
    ("cancel", "accepted"): S.CANCELLED,
    ("dispute", "shipped"): S.DISPUTED,
    ("dispute", "delivered"): S.DISPUTED,
    ("dispute", "invoiced"): S.DISPUTED,
    ("resolve", "disputed"): S.DELIVERED,  # back to where the dispute began
    # A lender may take over the payment until the order is settled or cancelled.
    **{("redirect", s): SCENARIOS[s][0] for s in UNFINISHED},
    # Documents are append-only at every stage, even after the end (a late quality certificate).
    **{("attach", s): SCENARIOS[s][0] for s in SCENARIOS},
}
#: Refused for another reason than the status (see the module docstring).
NO_WAREHOUSE_YET = {("deliver", "placed"), ("deliver", "accepted"), ("deliver", "cancelled")}

PAIRS = [(a, s) for a in ACTIONS for s in SCENARIOS]
ILLEGAL = [pair for pair in PAIRS if pair not in LEGAL]


@pytest.fixture(scope="module")
def world(wired_world: World) -> World:
    """This module runs on the test-wired world, where bank2 holds the OrderBook's FINANCE_ROLE."""
    return wired_world


@pytest.fixture(scope="module")
def table_orders(chain: Any, world: World) -> Iterator[dict[str, int]]:
    """One order per scenario (built once for this module), and FINANCE_ROLE for bank2."""
    snapshot = chain.snapshot()
    try:
        yield {name: build(world) for name, (_, build) in SCENARIOS.items()}
    finally:
        chain.revert(snapshot)


def test_the_table_covers_every_pair() -> None:
    assert len(PAIRS) == len(ACTIONS) * len(SCENARIOS) == len(LEGAL) + len(ILLEGAL)
    assert all(pair in PAIRS for pair in LEGAL)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_each_scenario_order_is_in_its_status(table_orders: dict[str, int], fresh: World, name: str) -> None:
    assert status_of(fresh, table_orders[name]) == SCENARIOS[name][0]


@pytest.mark.parametrize("action, scenario", list(LEGAL), ids=[f"{a}-{s}" for a, s in LEGAL])
def test_legal_action_moves_the_order(table_orders: dict[str, int], fresh: World, action: str,
                                      scenario: str) -> None:
    order_id = table_orders[scenario]
    _act(action, fresh, order_id)
    assert status_of(fresh, order_id) == LEGAL[(action, scenario)]


@pytest.mark.parametrize("action, scenario", ILLEGAL, ids=[f"{a}-{s}" for a, s in ILLEGAL])
def test_illegal_action_is_refused_and_changes_nothing(table_orders: dict[str, int], fresh: World, action: str,
                                                       scenario: str) -> None:
    order_id = table_orders[scenario]
    before = fresh.platform.orders.order(order_id)
    status = SCENARIOS[scenario][0]
    if (action, scenario) in NO_WAREHOUSE_YET:
        expected = reverts("OrderNotWarehouse", orderId=order_id, caller=fresh.p.warehouse.address)
    else:
        expected = reverts("OrderWrongStatus", orderId=order_id, status=status)
    with expected:
        _act(action, fresh, order_id)
    assert fresh.platform.orders.order(order_id) == before
