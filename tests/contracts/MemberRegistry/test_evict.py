"""MemberRegistry.evict: the operator (or the controller) removes a member for good."""

from __future__ import annotations

from harness import reverts
from support import DEFAULT_ADMIN_ROLE, b32, the_event

from vscm.client.records import Role, Status


def test_operator_evicts_a_member_and_announces_it(platform, p):
    receipt = platform.members.as_(p.operator).evict(p.supplier.address, b32("fraud"))

    assert platform.members.status(p.supplier.address) == Status.EVICTED
    assert not platform.members.is_active(p.supplier.address, Role.SUPPLIER)
    assert the_event(platform.members, receipt, "MemberEvicted") == {
        "member": p.supplier.address, "by": p.operator.address, "reason": b32("fraud")}


def test_evicting_a_pending_applicant_ends_its_application(platform, p):
    platform.members.as_(p.operator).evict(p.core2.address, b32("forged licence"))

    with reverts("MemberNotPending", member=p.core2.address, status=Status.EVICTED):
        platform.members.as_(p.bank).attest(p.core2.address, Role.FINANCIER)


def test_evicting_a_suspended_member_is_allowed(platform, p):
    platform.members.as_(p.operator).suspend(p.supplier.address, b32("review"))

    platform.members.as_(p.operator).evict(p.supplier.address, b32("fraud"))

    assert platform.members.status(p.supplier.address) == Status.EVICTED


def test_evicted_member_cannot_place_orders(fresh, platform, p):
    platform.members.as_(p.operator).evict(p.seller.address, b32("fraud"))

    with reverts("OrderNotTrader", member=p.seller.address):
        platform.orders.as_(p.seller).place(p.supplier.address, fresh.chain_id, "CNY", 100_00, fresh.now() + 86400)


def test_evicted_member_cannot_transfer_cash(platform, p):
    platform.members.as_(p.operator).evict(p.seller.address, b32("fraud"))

    with reverts("CashSenderNotActive", sender=p.seller.address):
        platform.cash("CNY").as_(p.seller).transfer(p.supplier.address, 100_00)


def test_evicting_one_member_leaves_the_rest_of_its_chain_active(fresh, platform, p):
    platform.members.as_(p.operator).evict(p.supplier.address, b32("fraud"))

    assert [platform.members.status(who.address) for who in (p.core, p.supplier2, p.seller)] == [Status.ACTIVE] * 3
    assert not platform.members.supply_chain(fresh.chain_id).evicted


def test_member_cannot_be_evicted_by_a_non_operator(platform, p):
    with reverts("AccessControlUnauthorizedAccount", account=p.auditor.address, neededRole=DEFAULT_ADMIN_ROLE):
        platform.members.as_(p.auditor).evict(p.supplier.address, b32("x"))


def test_evicting_an_unregistered_account_is_refused(platform, p):
    with reverts("MemberNotRegistered", member=p.outsider.address):
        platform.members.as_(p.operator).evict(p.outsider.address, b32("x"))


def test_evicting_an_evicted_member_again_is_refused(platform, p):
    platform.members.as_(p.operator).evict(p.supplier.address, b32("fraud"))

    with reverts("MemberAlreadyEvicted", member=p.supplier.address):
        platform.members.as_(p.operator).evict(p.supplier.address, b32("again"))


def test_evicting_a_member_of_an_evicted_chain_is_refused(fresh, platform, p):
    platform.members.as_(p.operator).evict_chain(fresh.chain_id, b32("collusion"))

    with reverts("MemberAlreadyEvicted", member=p.supplier.address):
        platform.members.as_(p.operator).evict(p.supplier.address, b32("again"))
