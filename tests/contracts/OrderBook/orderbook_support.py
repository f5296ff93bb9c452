"""Helpers for the OrderBook tests: events of a receipt, and orders driven to any status.

Imported by name (pytest puts this directory on sys.path). `reverts` comes from tests/conftest.py,
loaded by path: `from harness import ...` would get whichever conftest module pytest loaded last.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from harness import World, b32, emitted, reverts, the_event

from vscm.client.records import DocKind, OrderStatus

__all__ = [
    "AMOUNT",
    "DAY",
    "ZERO32",
    "ZERO_ADDRESS",
    "World",
    "advance",
    "b32",
    "by_name",
    "emitted",
    "kept",
    "next_id",
    "order_at",
    "place",
    "receipt_time",
    "reverts",
    "status_of",
    "the_event",
]

DAY = 86400
AMOUNT = 12_345_67  # CNY 12,345.67 in fen
ZERO32 = b"\x00" * 32
ZERO_ADDRESS = "0x" + "00" * 20




def by_name(value: Any) -> str:
    """Test id of an enum parameter: `shipped` rather than `3`."""
    return str(value.name.lower())




def receipt_time(world: Any, receipt: Any) -> int:
    return int(world.chain.w3.eth.get_block(receipt["blockNumber"])["timestamp"])


def status_of(world: Any, order_id: int) -> OrderStatus:
    return world.platform.orders.order(order_id, with_documents=False).status


def place(world: Any, buyer: Any = None, seller: Any = None, *, currency: str = "CNY", amount: int = AMOUNT,
          due_in: int = 30 * DAY, overseas: bool = False, incoterm: str | None = None,
          country: str | None = None) -> int:
    """A new order, by default core buys from supplier in CNY, due in 30 days."""
    p = world.p
    buyer, seller = buyer or p.core, seller or p.supplier
    return int(world.platform.orders.as_(buyer).place(
        seller.address, world.chain_id, currency, amount, world.now() + due_in, overseas, incoterm, country).id)


#: The happy path after placing, in order (how each step is taken: see `advance`).
_PATH = (OrderStatus.ACCEPTED, OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.INVOICED,
         OrderStatus.SETTLED)


def advance(world: Any, order_id: int, to: OrderStatus) -> int:
    """Move a placed (or later) order along the happy path up to `to`, each step by its own party.

    `CANCELLED` is reached by the buyer cancelling a placed or accepted order, `DISPUTED` by the
    buyer disputing a shipped, delivered or invoiced one (in both cases from where it is now).
    """
    orders, p = world.platform.orders, world.p
    o = orders.order(order_id, with_documents=False)
    buyer = next(a for _, a in p if a.address == o.buyer)
    seller = next(a for _, a in p if a.address == o.seller)
    if to == OrderStatus.CANCELLED:
        orders.as_(buyer).cancel(order_id)
        return order_id
    if to == OrderStatus.DISPUTED:
        if o.status < OrderStatus.SHIPPED:
            advance(world, order_id, OrderStatus.SHIPPED)
        orders.as_(buyer).dispute(order_id, b32(f"order-{order_id}:complaint"))
        return order_id
    status = o.status
    for step in _PATH:
        if status >= to:
            break
        if step <= status:
            continue
        if step == OrderStatus.ACCEPTED:
            orders.as_(seller).accept(order_id)
        elif step == OrderStatus.SHIPPED:
            if o.overseas:
                orders.as_(seller).attach(order_id, DocKind.CUSTOMS_DECLARATION, b32(f"order-{order_id}:customs"))
            orders.as_(seller).ship(order_id, p.carrier.address, p.warehouse.address)
        elif step == OrderStatus.DELIVERED:
            orders.as_(p.warehouse).deliver(order_id)
        elif step == OrderStatus.INVOICED:
            orders.as_(seller).invoice(order_id, f"INV-{order_id:06d}", b32(f"order-{order_id}:invoice"))
        elif step == OrderStatus.SETTLED:
            orders.as_(buyer).settle(order_id)
        status = step
    return order_id


def order_at(world: Any, to: OrderStatus, **place_args: Any) -> int:
    """A new order (see `place`) driven to status `to` (see `advance`)."""
    order_id = place(world, **place_args)
    if to != OrderStatus.PLACED:
        advance(world, order_id, to)
    assert status_of(world, order_id) == to
    return order_id


@contextmanager
def kept(chain: Any, world: Any) -> Iterator[Any]:
    """State a test module builds once on top of the world (orders that many of its tests act on),
    rolled back when the module is done. Each test still runs in its own `fresh` snapshot.

    Building an invoiced order takes six transactions; building it once per module instead of
    once per test keeps the suite fast.
    """
    snapshot = chain.snapshot()
    try:
        yield world
    finally:
        chain.revert(snapshot)


def next_id(world: Any) -> int:
    """The id the next order will get: unknown until then."""
    return int(world.platform.orders.count()) + 1
