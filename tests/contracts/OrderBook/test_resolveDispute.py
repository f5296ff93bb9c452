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

from vscm.client.records import LoanMode, OrderStatus

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


# ---------------------------------------------------------------------- financed orders (issue 13)
#
# With a council the operator key holds OPERATOR_ROLE and no DEFAULT_ADMIN_ROLE: `day_operator` is such a key
# (granted OPERATOR_ROLE by the admin). It resolves disputes, but cancelling a financed order would void a lender's
# collateral or a certificate holder's payment on its word alone: only the admin (the council's timelock) does that.

FINANCED = ("receivable", "payable", "prepayment", "certificate")


def _day_operator(fin: Any) -> Any:
    p = fin.p
    fin.platform.orders.as_(p.operator).grant(OPERATOR_ROLE, p.applicant.address)
    return p.applicant


def _financed_dispute(fin: Any, how: str) -> int:
    """A disputed order that a lender or a certificate holder has a claim on."""
    p = fin.p
    if how == "certificate":
        oid = fin.order(p.core, p.supplier, 100_000_00, to=OrderStatus.INVOICED)
        fin.platform.certificates.as_(p.core).issue(oid, fin.now() + 90 * 86_400)
        buyer = p.core
    else:
        mode = {"receivable": LoanMode.RECEIVABLE, "payable": LoanMode.PAYABLE, "prepayment": LoanMode.PREPAYMENT}[how]
        deal = fin.loan(mode)
        oid, buyer = deal.asset_order_id, deal.counterparty if mode != LoanMode.PREPAYMENT else deal.borrower
        if mode == LoanMode.PREPAYMENT:
            fin.advance(oid, OrderStatus.SHIPPED)   # loan money already paid the seller
    fin.platform.orders.as_(buyer).dispute(oid, keccak(text="goods not as ordered"))
    return oid


@pytest.mark.parametrize("how", FINANCED)
def test_the_operator_key_alone_cannot_cancel_a_financed_order(fin: Any, how: str) -> None:
    oid = _financed_dispute(fin, how)
    orders, op = fin.platform.orders, _day_operator(fin)
    before = orders.order(oid, with_documents=False)
    assert before.prepaid or before.payee != before.seller

    with reverts("OrderFinancedCancelNeedsAdmin", orderId=oid, payee=before.payee, prepaid=before.prepaid):
        orders.as_(op).resolve_dispute(oid, True)

    assert status_of(fin.w, oid) == OrderStatus.DISPUTED
    # Restoring the order is still the operator's: the claim behind it stays whole.
    orders.as_(op).resolve_dispute(oid, False)
    assert status_of(fin.w, oid) == before.status_before_dispute


@pytest.mark.parametrize("how", ("receivable", "certificate"))
def test_the_admin_cancels_a_financed_order(fin: Any, how: str) -> None:
    """DEFAULT_ADMIN_ROLE (the council's timelock; here the world's operator key, which still holds it) may."""
    oid = _financed_dispute(fin, how)
    receipt = fin.platform.orders.as_(fin.p.operator).resolve_dispute(oid, True)
    assert the_event(fin.platform.orders, receipt, "DisputeResolved") == {"orderId": oid,
                                                                           "status": OrderStatus.CANCELLED}


def test_the_operator_key_alone_still_cancels_an_order_nobody_financed(fin: Any) -> None:
    p = fin.p
    oid = fin.order(p.core, p.supplier, 50_000_00, to=OrderStatus.INVOICED)
    fin.platform.orders.as_(p.core).dispute(oid, keccak(text="late"))
    fin.platform.orders.as_(_day_operator(fin)).resolve_dispute(oid, True)
    assert status_of(fin.w, oid) == OrderStatus.CANCELLED
