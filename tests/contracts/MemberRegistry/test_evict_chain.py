"""MemberRegistry.evictChain: the operator (or the controller) evicts a whole supply chain at once."""

from __future__ import annotations

from harness import reverts
from support import DEFAULT_ADMIN_ROLE, b32, certify_core2, invoiced_order, the_event

from vscm.client.records import OrderStatus, Status


def test_every_member_of_an_evicted_chain_reads_evicted_and_it_is_announced(fresh, platform, p):
    receipt = platform.members.as_(p.operator).evict_chain(fresh.chain_id, b32("circular trading"))

    assert platform.members.supply_chain(fresh.chain_id).evicted
    chain_members = platform.members.chain_members(fresh.chain_id)
    assert {m.address for m in chain_members} == {p.core.address, p.supplier.address, p.supplier2.address,
                                                  p.seller.address}
    assert {m.status for m in chain_members} == {Status.EVICTED}
    assert the_event(platform.members, receipt, "ChainEvicted") == {
        "chainId": fresh.chain_id, "by": p.operator.address, "evidence": b32("circular trading")}


def test_chain_eviction_leaves_other_chains_and_unchained_members_untouched(fresh, platform, p):
    certify_core2(platform, p)
    second = platform.members.as_(p.core2).create_chain("Second chain").id
    platform.members.as_(p.warehouse).request_join(second)
    platform.members.as_(p.core2).approve_join(second, p.warehouse.address)

    platform.members.as_(p.operator).evict_chain(fresh.chain_id, b32("circular trading"))

    assert not platform.members.supply_chain(second).evicted
    untouched = (p.core2, p.warehouse, p.carrier, p.bank, p.bank2, p.auditor, p.oracle, p.monitor)
    assert {who.address: platform.members.status(who.address) for who in untouched} == {
        who.address: Status.ACTIVE for who in untouched}


def test_member_of_an_evicted_chain_cannot_place_orders(fresh, platform, p):
    platform.members.as_(p.operator).evict_chain(fresh.chain_id, b32("circular trading"))

    with reverts("OrderNotTrader", member=p.seller.address):
        platform.orders.as_(p.seller).place(p.supplier.address, fresh.chain_id, "CNY", 100_00, fresh.now() + 86400)


def test_member_of_an_evicted_chain_cannot_transfer_cash(fresh, platform, p):
    platform.members.as_(p.operator).evict_chain(fresh.chain_id, b32("circular trading"))

    with reverts("CashSenderNotActive", sender=p.seller.address):
        platform.cash("CNY").as_(p.seller).transfer(p.warehouse.address, 100_00)


def test_member_of_an_evicted_chain_still_settles_an_invoiced_order_it_owes(fresh, platform, p):
    cash = platform.cash("CNY")
    order_id = invoiced_order(platform, buyer=p.seller, seller=p.supplier, carrier=p.carrier,
                              warehouse=p.warehouse, chain_id=fresh.chain_id, amount=12_345_67)
    platform.members.as_(p.operator).evict_chain(fresh.chain_id, b32("circular trading"))
    buyer_before, payee_before = cash.balance(p.seller.address), cash.balance(p.supplier.address)

    platform.orders.as_(p.seller).settle(order_id)

    assert platform.orders.order(order_id).status == OrderStatus.SETTLED
    assert cash.balance(p.seller.address) == buyer_before - 12_345_67
    assert cash.balance(p.supplier.address) == payee_before + 12_345_67
    assert platform.members.status(p.seller.address) == Status.EVICTED


def test_chain_cannot_be_evicted_by_a_non_operator(fresh, platform, p):
    with reverts("AccessControlUnauthorizedAccount", account=p.monitor.address, neededRole=DEFAULT_ADMIN_ROLE):
        platform.members.as_(p.monitor).evict_chain(fresh.chain_id, b32("x"))


def test_evicting_an_unknown_chain_is_refused(platform, p):
    with reverts("ChainNotFound", chainId=99):
        platform.members.as_(p.operator).evict_chain(99, b32("x"))


def test_evicting_an_evicted_chain_again_is_refused(fresh, platform, p):
    platform.members.as_(p.operator).evict_chain(fresh.chain_id, b32("first"))

    with reverts("ChainIsEvicted", chainId=fresh.chain_id):
        platform.members.as_(p.operator).evict_chain(fresh.chain_id, b32("second"))
