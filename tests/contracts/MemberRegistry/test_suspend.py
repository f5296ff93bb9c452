"""MemberRegistry.suspend: the operator (or the controller) stops an active member."""

from __future__ import annotations

from harness import reverts
from support import CONTROLLER_ROLE, b32, expire_credential, the_event

from vscm.client.records import Role, Status


def test_operator_suspends_an_active_member_and_announces_it(platform, p):
    receipt = platform.members.as_(p.operator).suspend(p.supplier.address, b32("late documents"))

    assert platform.members.status(p.supplier.address) == Status.SUSPENDED
    assert not platform.members.is_active(p.supplier.address, Role.SUPPLIER)
    assert the_event(platform.members, receipt, "MemberSuspended") == {
        "member": p.supplier.address, "by": p.operator.address, "reason": b32("late documents")}


def test_suspended_member_cannot_place_orders(fresh, platform, p):
    platform.members.as_(p.operator).suspend(p.seller.address, b32("review"))

    with reverts("OrderNotTrader", member=p.seller.address):
        platform.orders.as_(p.seller).place(p.supplier.address, fresh.chain_id, "CNY", 100_00, fresh.now() + 86400)


def test_suspension_keeps_the_member_in_its_chain(fresh, platform, p):
    platform.members.as_(p.operator).suspend(p.supplier.address, b32("review"))

    assert platform.members.member(p.supplier.address).chain_id == fresh.chain_id


def test_member_cannot_be_suspended_by_a_non_operator(platform, p):
    with reverts("AccessControlUnauthorizedAccount", account=p.core.address, neededRole=CONTROLLER_ROLE):
        platform.members.as_(p.core).suspend(p.supplier.address, b32("rival"))


def test_suspending_a_pending_applicant_is_refused(platform, p):
    with reverts("MemberNotActive", member=p.core2.address, status=Status.PENDING):
        platform.members.as_(p.operator).suspend(p.core2.address, b32("x"))


def test_suspending_an_unregistered_account_is_refused(platform, p):
    with reverts("MemberNotActive", member=p.outsider.address, status=Status.NONE):
        platform.members.as_(p.operator).suspend(p.outsider.address, b32("x"))


def test_suspending_a_suspended_member_again_is_refused(platform, p):
    platform.members.as_(p.operator).suspend(p.supplier.address, b32("first"))

    with reverts("MemberNotActive", member=p.supplier.address, status=Status.SUSPENDED):
        platform.members.as_(p.operator).suspend(p.supplier.address, b32("second"))


def test_suspending_an_evicted_member_is_refused(platform, p):
    platform.members.as_(p.operator).evict(p.supplier.address, b32("fraud"))

    with reverts("MemberNotActive", member=p.supplier.address, status=Status.EVICTED):
        platform.members.as_(p.operator).suspend(p.supplier.address, b32("x"))


def test_suspending_a_member_whose_credential_expired_is_refused(fresh, platform, p):
    expire_credential(fresh, p.supplier)

    with reverts("MemberNotActive", member=p.supplier.address, status=Status.SUSPENDED):
        platform.members.as_(p.operator).suspend(p.supplier.address, b32("x"))
