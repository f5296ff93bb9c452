"""OrderBook.place: a trader orders, in its own supply chain, from a trader of that chain or of another live one."""

from __future__ import annotations

import pytest
from harness import emitted, second_chain
from orderbook_support import AMOUNT, DAY, World, b32, place, reverts, the_event

from vscm.client.records import OrderStatus, Status

ZERO = "0x" + "00" * 20
INCOTERMS = ("EXW", "FCA", "CPT", "CIP", "DAP", "DPU", "DDP", "FAS", "FOB", "CFR", "CIF")


def test_place_records_a_domestic_order_and_emits_order_placed(fresh: World) -> None:
    w, p = fresh, fresh.p
    due = w.now() + 30 * DAY
    order_id = w.platform.orders.as_(p.core).place(p.supplier.address, w.chain_id, "CNY", AMOUNT, due).id

    o = w.platform.orders.order(order_id)
    cny = w.platform.currency_address("CNY")
    assert order_id == 1 and w.platform.orders.count() == 1
    assert (o.buyer, o.seller, o.payee) == (p.core.address, p.supplier.address, p.supplier.address)
    assert (o.chain_id, o.currency, o.amount, o.due_date) == (w.chain_id, cny, AMOUNT, due)
    assert o.status == OrderStatus.PLACED and o.status_before_dispute == OrderStatus.NONE
    assert (o.overseas, o.incoterm, o.destination_country) == (False, "", "")
    assert (o.carrier, o.warehouse, o.invoice_number, o.document_count, o.documents) == (None, None, "", 0, ())
    assert the_event(w.platform.orders, w.platform.last_receipt, "OrderPlaced") == {
        "orderId": 1, "buyer": p.core.address, "seller": p.supplier.address, "chainId": w.chain_id,
        "currency": cny, "amount": AMOUNT, "dueDate": due, "overseas": False,
        "incoterm": b"\x00" * 3, "destinationCountry": b"\x00" * 2,
    }


def test_place_records_an_overseas_usd_order_with_its_trade_terms(fresh: World) -> None:
    w, p = fresh, fresh.p
    order_id = place(w, p.seller, p.core, currency="USD", amount=42_500_00, overseas=True, incoterm="CIF",
                     country="KZ")

    o = w.platform.orders.order(order_id)
    assert o.currency == w.platform.currency_address("USD") and o.amount == 42_500_00
    assert (o.overseas, o.incoterm, o.destination_country) == (True, "CIF", "KZ")
    event = the_event(w.platform.orders, w.platform.last_receipt, "OrderPlaced")
    assert (event["overseas"], event["incoterm"], event["destinationCountry"]) == (True, b"CIF", b"KZ")


def test_place_numbers_orders_one_after_another(fresh: World) -> None:
    ids = [place(fresh), place(fresh, fresh.p.seller, fresh.p.supplier2), place(fresh)]
    assert ids == [1, 2, 3] and fresh.platform.orders.count() == 3
    assert fresh.platform.orders.order(2).buyer == fresh.p.seller.address


@pytest.mark.parametrize("incoterm", INCOTERMS)
def test_place_accepts_each_incoterms_2020_rule(fresh: World, incoterm: str) -> None:
    order_id = place(fresh, overseas=True, incoterm=incoterm, country="DE")
    assert fresh.platform.orders.order(order_id).incoterm == incoterm


# -- refusals -----------------------------------------------------------------------------------


def test_place_rejects_ordering_from_oneself(fresh: World) -> None:
    with reverts("OrderSelfTrade", member=fresh.p.core.address):
        place(fresh, fresh.p.core, fresh.p.core)


def test_place_rejects_a_zero_amount(fresh: World) -> None:
    with reverts("OrderZeroAmount"):
        place(fresh, amount=0)


def test_place_rejects_an_amount_beyond_the_96_bits_it_is_stored_in(fresh: World) -> None:
    with reverts("OrderAmountTooLarge", amount=2**96, max=2**96 - 1):
        place(fresh, amount=2**96)


def test_the_narrow_views_agree_with_get_order(fresh: World) -> None:
    # Issue 16: the platform's contracts read these (a slot or three) instead of the whole order.
    w, p = fresh, fresh.p
    order_id = place(w, amount=2**96 - 1)
    views = w.platform.orders.contract.functions
    o = views.getOrder(order_id).call()
    buyer, seller, status, currency, amount, payee = o[0], o[1], o[6], o[4], o[5], o[14]

    assert (buyer, seller, payee, amount) == (p.core.address, p.supplier.address, p.supplier.address, 2**96 - 1)
    assert views.orderStatus(order_id).call() == status == OrderStatus.PLACED
    assert views.orderHead(order_id).call() == [buyer, seller, status, currency, amount]
    assert views.orderClaim(order_id).call() == [buyer, seller, status, currency, amount, b"\x00" * 32]
    assert views.orderParties(order_id).call() == [buyer, seller, ZERO, ZERO, amount]
    assert views.getOrder(999).call()[14] == ZERO  # no order, no payee


@pytest.mark.parametrize("due_in", [-DAY, 0], ids=["yesterday", "now"])
def test_place_rejects_a_due_date_not_in_the_future(fresh: World, due_in: int) -> None:
    now = fresh.now()
    with reverts("OrderDueDateInPast", dueDate=now + due_in) as refused:
        place(fresh, due_in=due_in)
    assert refused.error is not None and refused.error.values["nowTime"] >= now


def test_place_rejects_a_currency_the_order_book_does_not_know(fresh: World) -> None:
    stranger = fresh.platform.deployment.registry  # a contract, but no PlatformCash of this OrderBook
    with reverts("OrderUnknownCurrency", currency=stranger):
        place(fresh, currency=stranger)


@pytest.mark.parametrize("buyer, seller, who", [
    ("warehouse", "supplier", "warehouse"),   # buyer holds no trading role
    ("core", "carrier", "carrier"),           # seller holds no trading role
    ("core", "core2", "core2"),               # a pending core applicant
    ("core", "outsider", "outsider"),         # never registered
    ("bank", "supplier", "bank"),             # a financier does not trade
])
def test_place_rejects_a_party_that_is_not_an_active_trader(fresh: World, buyer: str, seller: str, who: str) -> None:
    p = fresh.p
    with reverts("OrderNotTrader", member=getattr(p, who).address):
        place(fresh, getattr(p, buyer), getattr(p, seller))


def test_place_rejects_a_suspended_seller_as_not_an_active_trader(fresh: World) -> None:
    p = fresh.p
    fresh.platform.members.as_(p.operator).suspend(p.supplier.address, b32("late deliveries"))
    assert fresh.platform.members.status(p.supplier.address) == Status.SUSPENDED
    with reverts("OrderNotTrader", member=p.supplier.address):
        place(fresh)


@pytest.mark.parametrize("chain_id", [0, 2, 2**64 - 1])
def test_place_rejects_a_chain_the_buyer_is_not_in(fresh: World, chain_id: int) -> None:
    w, p = fresh, fresh.p
    with reverts("OrderNotInChain", member=p.core.address, chainId=chain_id):
        w.platform.orders.as_(p.core).place(p.supplier.address, chain_id, "CNY", AMOUNT, w.now() + DAY)


def test_place_rejects_a_seller_in_no_chain(fresh: World) -> None:
    w, p = fresh, fresh.p
    w.platform.members.as_(p.supplier2).leave_chain()
    with reverts("OrderSellerWithoutChain", seller=p.supplier2.address):
        place(w, p.core, p.supplier2)


# -- orders across chains -------------------------------------------------------------------------


def test_place_records_an_order_across_chains_in_the_buyers_chain_with_the_sellers(fresh: World) -> None:
    w, p = fresh, fresh.p
    chain2 = second_chain(w, (p.supplier2,))
    due = w.now() + 30 * DAY
    order_id = w.platform.orders.as_(p.core).place(p.supplier2.address, w.chain_id, "CNY", AMOUNT, due).id
    receipt = w.platform.last_receipt

    o = w.platform.orders.order(order_id)
    assert (o.buyer, o.seller, o.chain_id, o.seller_chain_id, o.across_chains) == (
        p.core.address, p.supplier2.address, w.chain_id, chain2, True)
    assert the_event(w.platform.orders, receipt, "OrderPlaced")["chainId"] == w.chain_id
    assert the_event(w.platform.orders, receipt, "OrderPlacedAcrossChains") == {
        "orderId": order_id, "buyerChainId": w.chain_id, "sellerChainId": chain2}
    # The other way round: supplier2 buys in its own chain 2 from the core's seller.
    back = w.platform.orders.as_(p.supplier2).place(p.seller.address, chain2, "CNY", AMOUNT, due).id
    o = w.platform.orders.order(back)
    assert (o.chain_id, o.seller_chain_id) == (chain2, w.chain_id)
    # The seller's chain is the one at placement: supplier2 leaving chain 2 since does not rewrite it.
    w.platform.members.as_(p.supplier2).leave_chain()
    assert w.platform.orders.order(order_id).seller_chain_id == chain2


def test_place_within_one_chain_records_that_chain_as_the_sellers_and_emits_nothing_more(fresh: World) -> None:
    w = fresh
    order_id = place(w)
    o = w.platform.orders.order(order_id)
    assert (o.seller_chain_id, o.across_chains) == (w.chain_id, False)
    assert emitted(w.platform.orders, w.platform.last_receipt, "OrderPlacedAcrossChains") == []
    assert w.platform.orders.seller_chain(999) == 0


def test_place_across_chains_rejects_a_buyer_naming_the_sellers_chain(fresh: World) -> None:
    w, p = fresh, fresh.p
    chain2 = second_chain(w, (p.supplier2,))
    with reverts("OrderNotInChain", member=p.core.address, chainId=chain2):
        w.platform.orders.as_(p.core).place(p.supplier2.address, chain2, "CNY", AMOUNT, w.now() + DAY)


def test_place_across_chains_rejects_a_seller_of_an_evicted_chain(fresh: World) -> None:
    w, p = fresh, fresh.p
    chain2 = second_chain(w, (p.supplier2,))
    w.platform.members.as_(p.operator).evict_chain(chain2, b32("collusion"))
    with reverts("OrderNotTrader", member=p.supplier2.address):
        place(w, p.core, p.supplier2)


@pytest.mark.parametrize("investigated", ["buyer's", "seller's"])
def test_place_across_chains_rejects_either_chain_under_investigation(fresh: World, investigated: str) -> None:
    w, p = fresh, fresh.p
    chain2 = second_chain(w, (p.supplier2,))
    target = w.chain_id if investigated == "buyer's" else chain2
    w.platform.risk.as_(p.operator).propose_fraud(target, b32("suspect invoices"))
    until = w.platform.members.investigated_until(target)
    assert until > w.now()
    with reverts("OrderChainUnderInvestigation", chainId=target, until=until):
        place(w, p.core, p.supplier2)
    # Trade inside the buyer's chain goes on (an investigation stops only new exposure across chains).
    assert place(w, p.core, p.supplier) > 0
    # Once the proposal is withdrawn the order across chains is placed.
    w.platform.risk.as_(p.operator).withdraw_fraud(target)
    assert w.platform.orders.order(place(w, p.core, p.supplier2)).seller_chain_id == chain2


@pytest.mark.parametrize("incoterm, raw", [("ABC", b"ABC"), ("FOX", b"FOX"), (None, b"\x00" * 3)])
def test_place_rejects_an_overseas_order_without_a_valid_incoterm(fresh: World, incoterm, raw: bytes) -> None:
    with reverts("OrderBadIncoterm", incoterm=raw):
        place(fresh, overseas=True, incoterm=incoterm, country="DE")


@pytest.mark.parametrize("country, raw", [("D1", b"D1"), ("1D", b"1D"), ("@Z", b"@Z"), (None, b"\x00\x00")])
def test_place_rejects_an_overseas_order_without_a_valid_country(fresh: World, country, raw: bytes) -> None:
    with reverts("OrderBadCountry", country=raw):
        place(fresh, overseas=True, incoterm="FOB", country=country)


@pytest.mark.parametrize("incoterm, country", [("FOB", None), (None, "DE"), ("CIF", "KZ")])
def test_place_rejects_a_domestic_order_with_trade_terms(fresh: World, incoterm, country) -> None:
    with reverts("OrderDomesticWithTradeTerms"):
        place(fresh, overseas=False, incoterm=incoterm, country=country)


def test_a_refused_place_leaves_no_order(fresh: World) -> None:
    with reverts("OrderZeroAmount"):
        place(fresh, amount=0)
    assert fresh.platform.orders.count() == 0

