"""MemberRegistry.reinstate: the operator (or the controller) lifts a suspension."""

from __future__ import annotations

from harness import reverts
from support import CONTROLLER_ROLE, b32, expire_credential, the_event

from vscm.client.records import Role, Status


def test_operator_reinstates_a_suspended_member_and_announces_it(platform, p):
    platform.members.as_(p.operator).suspend(p.supplier.address, b32("review"))

    receipt = platform.members.as_(p.operator).reinstate(p.supplier.address)

    assert platform.members.status(p.supplier.address) == Status.ACTIVE
    assert platform.members.is_active(p.supplier.address, Role.SUPPLIER)
    assert the_event(platform.members, receipt, "MemberReinstated") == {
        "member": p.supplier.address, "by": p.operator.address}


def test_reinstated_member_can_move_cash_again(platform, p):
    platform.members.as_(p.operator).suspend(p.seller.address, b32("review"))
    platform.members.as_(p.operator).reinstate(p.seller.address)

    platform.cash("CNY").as_(p.seller).transfer(p.supplier.address, 100_00)

    assert platform.cash("CNY").balance(p.supplier.address) == 100_00


def test_member_cannot_be_reinstated_by_a_non_operator(platform, p):
    platform.members.as_(p.operator).suspend(p.supplier.address, b32("review"))

    with reverts("AccessControlUnauthorizedAccount", account=p.supplier.address, neededRole=CONTROLLER_ROLE):
        platform.members.as_(p.supplier).reinstate(p.supplier.address)


def test_reinstating_an_active_member_is_refused(platform, p):
    with reverts("MemberNotSuspended", member=p.supplier.address, status=Status.ACTIVE):
        platform.members.as_(p.operator).reinstate(p.supplier.address)


def test_reinstating_an_unregistered_account_is_refused(platform, p):
    with reverts("MemberNotSuspended", member=p.outsider.address, status=Status.NONE):
        platform.members.as_(p.operator).reinstate(p.outsider.address)


def test_reinstating_an_evicted_member_is_refused(platform, p):
    platform.members.as_(p.operator).evict(p.supplier.address, b32("fraud"))

    with reverts("MemberNotSuspended", member=p.supplier.address, status=Status.EVICTED):
        platform.members.as_(p.operator).reinstate(p.supplier.address)


def test_reinstating_a_suspended_member_of_an_evicted_chain_is_refused(fresh, platform, p):
    platform.members.as_(p.operator).suspend(p.supplier.address, b32("review"))
    platform.members.as_(p.operator).evict_chain(fresh.chain_id, b32("collusion"))

    with reverts("MemberNotSuspended", member=p.supplier.address, status=Status.EVICTED):
        platform.members.as_(p.operator).reinstate(p.supplier.address)

    assert platform.members.status(p.supplier.address) == Status.EVICTED


def test_reinstate_does_not_revive_an_expired_credential(fresh, platform, p):
    # Renewal is updateCredential's job. The refusal reports the effective status, which reads
    # Suspended for an expired credential: "not suspended (status Suspended)" is what the contract says.
    expire_credential(fresh, p.supplier)

    with reverts("MemberNotSuspended", member=p.supplier.address, status=Status.SUSPENDED):
        platform.members.as_(p.operator).reinstate(p.supplier.address)
