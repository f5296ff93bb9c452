"""OrderBook.addCurrency: the operator registers a PlatformCash as a settlement currency."""

from __future__ import annotations

import pytest
from eth_utils import keccak
from orderbook_support import AMOUNT, World, advance, place, reverts, the_event

from vscm.client.records import OrderStatus

DEFAULT_ADMIN_ROLE = b"\x00" * 32


def deploy_cash(w: World, code: str) -> str:
    return w.chain.sender.deploy(w.p.operator, "PlatformCash", w.platform.deployment.registry, code,
                                 w.p.operator.address)


def test_add_currency_registers_it_and_emits_currency_added(fresh: World) -> None:
    orders = fresh.platform.orders
    eur = deploy_cash(fresh, "EUR")
    assert not orders.contract.functions.isCurrency(eur).call()

    receipt = orders.as_(fresh.p.operator).add_currency(eur)

    assert orders.contract.functions.isCurrency(eur).call()
    assert the_event(orders, receipt, "CurrencyAdded") == {"currency": eur, "code": "EUR"}


def test_orders_settle_in_an_added_currency(fresh: World) -> None:
    p, w = fresh.p, fresh
    eur = deploy_cash(w, "EUR")
    w.platform.orders.as_(p.operator).add_currency(eur)
    cash = w.chain.contract("PlatformCash", eur)
    w.chain.sender.transact(p.operator, cash.functions.setAgent(w.platform.orders.address, True))
    w.chain.sender.transact(p.operator, cash.functions.setMintCap(p.bank.address, AMOUNT))
    w.chain.sender.transact(p.bank, cash.functions.mint(p.core.address, AMOUNT, keccak(text="eur deposit")))

    order_id = place(w, currency=eur)
    advance(w, order_id, OrderStatus.INVOICED)
    w.chain.sender.transact(p.core, cash.functions.approve(w.platform.orders.address, AMOUNT))
    w.chain.sender.transact(p.core, w.platform.orders.contract.functions.settle(order_id))

    assert cash.functions.balanceOf(p.supplier.address).call() == AMOUNT
    assert w.platform.orders.order(order_id).status == OrderStatus.SETTLED


@pytest.mark.parametrize("code", ["CNY", "USD"])
def test_add_currency_rejects_a_currency_added_already(fresh: World, code: str) -> None:
    address = fresh.platform.currency_address(code)
    with reverts("CurrencyAlreadyAdded", currency=address):
        fresh.platform.orders.as_(fresh.p.operator).add_currency(address)


@pytest.mark.parametrize("who", ["bank", "core", "outsider"])
def test_add_currency_rejects_anyone_but_the_operator(fresh: World, who: str) -> None:
    eur = deploy_cash(fresh, "EUR")
    caller = getattr(fresh.p, who)
    with reverts("AccessControlUnauthorizedAccount", account=caller.address, neededRole=DEFAULT_ADMIN_ROLE):
        fresh.platform.orders.as_(caller).add_currency(eur)
    assert not fresh.platform.orders.contract.functions.isCurrency(eur).call()
