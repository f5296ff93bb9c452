"""MemberRegistry.leaveChain: an active member other than the core leaves its chain."""

from __future__ import annotations

from harness import reverts
from support import b32, the_event

from vscm.client.records import Status


def test_member_leaves_its_chain_and_it_is_announced(fresh, platform, p):
    before = platform.members.supply_chain(fresh.chain_id).member_count

    receipt = platform.members.as_(p.supplier).leave_chain()

    assert platform.members.member(p.supplier.address).chain_id == 0
    assert platform.members.supply_chain(fresh.chain_id).member_count == before - 1
    assert platform.members.status(p.supplier.address) == Status.ACTIVE
    assert the_event(platform.members, receipt, "ChainLeft") == {
        "chainId": fresh.chain_id, "member": p.supplier.address}


def test_member_outside_any_chain_cannot_leave(platform, p):
    with reverts("NotInChain", member=p.warehouse.address, chainId=0):
        platform.members.as_(p.warehouse).leave_chain()


def test_core_cannot_leave_the_chain_it_leads(fresh, platform, p):
    with reverts("CoreCannotLeave", chainId=fresh.chain_id):
        platform.members.as_(p.core).leave_chain()


def test_member_of_an_evicted_chain_cannot_leave_to_escape_eviction(fresh, platform, p):
    platform.members.as_(p.operator).evict_chain(fresh.chain_id, b32("collusion"))

    with reverts("ChainIsEvicted", chainId=fresh.chain_id):
        platform.members.as_(p.supplier).leave_chain()

    assert platform.members.status(p.supplier.address) == Status.EVICTED


def test_suspended_member_cannot_leave_its_chain(fresh, platform, p):
    # Leaving is a state change: only active members make those (DESIGN §4). A suspended member
    # that could leave would also step out of the reach of a coming chain eviction.
    platform.members.as_(p.operator).suspend(p.supplier.address, b32("alert"))

    with reverts("MemberNotActive", member=p.supplier.address, status=Status.SUSPENDED):
        platform.members.as_(p.supplier).leave_chain()

    assert platform.members.member(p.supplier.address).chain_id == fresh.chain_id


def test_evicted_member_cannot_leave_its_chain(fresh, platform, p):
    platform.members.as_(p.operator).evict(p.supplier.address, b32("fraud"))

    with reverts("MemberNotActive", member=p.supplier.address, status=Status.EVICTED):
        platform.members.as_(p.supplier).leave_chain()
