"""OrderBook.settle: the buyer pays an invoiced order to its payee, in the order's currency."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from orderbook_support import AMOUNT, World, b32, kept, next_id, order_at, reverts, status_of, the_event

from vscm.client.records import OrderStatus, Status

USD_AMOUNT = 42_500_00


@pytest.fixture(scope="module")
def world(wired_world: World) -> World:
    """This module runs on the test-wired world, where bank2 holds the OrderBook's FINANCE_ROLE."""
    return wired_world


@pytest.fixture(scope="module")
def orders(chain: Any, world: World) -> Iterator[dict[str, int]]:
    p = world.p
    with kept(chain, world) as w:
        yield {
            "cny": order_at(w, OrderStatus.INVOICED),  # core buys from supplier
            "usd": order_at(w, OrderStatus.INVOICED, buyer=p.seller, seller=p.core, currency="USD",
                            amount=USD_AMOUNT, overseas=True, incoterm="CIF", country="KZ"),
            "penniless": order_at(w, OrderStatus.INVOICED, buyer=p.supplier2, seller=p.supplier),
            "settled": order_at(w, OrderStatus.SETTLED),
        }


def balances(w: World, code: str, *who: Any) -> list[int]:
    return [w.platform.cash(code).balance(a.address) for a in who]


def settle_without_approval(w: World, buyer: Any, order_id: int) -> Any:
    """settle() alone, without the facade's approve step."""
    return w.chain.sender.transact(buyer, w.platform.orders.contract.functions.settle(order_id))


def test_settle_pays_the_seller_in_cny_and_emits_order_settled(orders: dict[str, int], fresh: World) -> None:
    p, book = fresh.p, fresh.platform.orders
    before = balances(fresh, "CNY", p.core, p.supplier)
    supply = fresh.platform.cash("CNY").total_supply()

    receipt = book.as_(p.core).settle(orders["cny"])

    assert balances(fresh, "CNY", p.core, p.supplier) == [before[0] - AMOUNT, before[1] + AMOUNT]
    assert fresh.platform.cash("CNY").total_supply() == supply
    assert fresh.platform.cash("CNY").allowance(p.core.address, book.address) == 0
    assert status_of(fresh, orders["cny"]) == OrderStatus.SETTLED
    assert the_event(book, receipt, "OrderSettled") == {
        "orderId": orders["cny"], "payer": p.core.address, "payee": p.supplier.address, "amount": AMOUNT}


def test_settle_an_overseas_usd_order_moves_usd_and_leaves_cny_alone(orders: dict[str, int], fresh: World) -> None:
    p = fresh.p
    usd_before = balances(fresh, "USD", p.seller, p.core)
    cny_before = balances(fresh, "CNY", p.seller, p.core)

    fresh.platform.orders.as_(p.seller).settle(orders["usd"])

    assert balances(fresh, "USD", p.seller, p.core) == [usd_before[0] - USD_AMOUNT, usd_before[1] + USD_AMOUNT]
    assert balances(fresh, "CNY", p.seller, p.core) == cny_before
    assert status_of(fresh, orders["usd"]) == OrderStatus.SETTLED


def test_settle_pays_the_redirected_payee_not_the_seller(orders: dict[str, int], fresh: World) -> None:
    p, book = fresh.p, fresh.platform.orders
    book.as_(p.bank2).redirect_settlement(orders["cny"], p.bank.address)
    before = balances(fresh, "CNY", p.core, p.supplier, p.bank)

    receipt = book.as_(p.core).settle(orders["cny"])

    assert balances(fresh, "CNY", p.core, p.supplier, p.bank) == [before[0] - AMOUNT, before[1], before[2] + AMOUNT]
    assert the_event(book, receipt, "OrderSettled")["payee"] == p.bank.address


def test_a_suspended_buyer_can_still_settle_what_it_owes(orders: dict[str, int], fresh: World) -> None:
    p = fresh.p
    fresh.platform.members.as_(p.operator).suspend(p.core.address, b32("late payments"))
    assert fresh.platform.members.status(p.core.address) == Status.SUSPENDED
    before = balances(fresh, "CNY", p.supplier)[0]

    fresh.platform.orders.as_(p.core).settle(orders["cny"])

    assert balances(fresh, "CNY", p.supplier)[0] == before + AMOUNT
    assert status_of(fresh, orders["cny"]) == OrderStatus.SETTLED


def test_settle_without_an_allowance_is_refused_by_the_cash_contract(orders: dict[str, int], fresh: World) -> None:
    with reverts("ERC20InsufficientAllowance", spender=fresh.platform.orders.address, allowance=0, needed=AMOUNT):
        settle_without_approval(fresh, fresh.p.core, orders["cny"])
    assert status_of(fresh, orders["cny"]) == OrderStatus.INVOICED


def test_settle_with_too_small_an_allowance_is_refused(orders: dict[str, int], fresh: World) -> None:
    p, book = fresh.p, fresh.platform.orders
    fresh.platform.cash("CNY").as_(p.core).approve(book.address, AMOUNT - 1)
    with reverts("ERC20InsufficientAllowance", spender=book.address, allowance=AMOUNT - 1, needed=AMOUNT):
        settle_without_approval(fresh, p.core, orders["cny"])


def test_settle_by_a_buyer_without_the_money_is_refused(orders: dict[str, int], fresh: World) -> None:
    p = fresh.p
    assert balances(fresh, "CNY", p.supplier2) == [0]
    with reverts("ERC20InsufficientBalance", sender=p.supplier2.address, balance=0, needed=AMOUNT):
        fresh.platform.orders.as_(p.supplier2).settle(orders["penniless"])
    assert status_of(fresh, orders["penniless"]) == OrderStatus.INVOICED


@pytest.mark.parametrize("who", ["supplier", "seller", "bank", "outsider"])
def test_settle_rejects_anyone_but_the_buyer(orders: dict[str, int], fresh: World, who: str) -> None:
    caller = getattr(fresh.p, who)
    with reverts("OrderNotBuyer", orderId=orders["cny"], caller=caller.address):
        settle_without_approval(fresh, caller, orders["cny"])


def test_settle_twice_is_refused_and_pays_once(orders: dict[str, int], fresh: World) -> None:
    p = fresh.p
    before = balances(fresh, "CNY", p.core, p.supplier)
    with reverts("OrderWrongStatus", orderId=orders["settled"], status=OrderStatus.SETTLED):
        fresh.platform.orders.as_(p.core).settle(orders["settled"])
    assert balances(fresh, "CNY", p.core, p.supplier) == before


def test_settle_rejects_an_unknown_order(orders: dict[str, int], fresh: World) -> None:
    for order_id in (0, next_id(fresh)):
        with reverts("OrderNotFound", orderId=order_id):
            settle_without_approval(fresh, fresh.p.core, order_id)
