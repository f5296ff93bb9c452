"""MemberRegistry.approveJoin: the chain's core admits a member that asked to join."""

from __future__ import annotations

from harness import reverts
from support import b32, certify_core2, the_event

from vscm.client.records import Status


def test_core_admits_a_requesting_member_and_it_is_announced(fresh, platform, p):
    platform.members.as_(p.warehouse).request_join(fresh.chain_id)
    before = platform.members.supply_chain(fresh.chain_id).member_count

    receipt = platform.members.as_(p.core).approve_join(fresh.chain_id, p.warehouse.address)

    assert platform.members.member(p.warehouse.address).chain_id == fresh.chain_id
    assert platform.members.supply_chain(fresh.chain_id).member_count == before + 1
    assert not platform.members.contract.functions.pendingJoin(fresh.chain_id, p.warehouse.address).call()
    assert the_event(platform.members, receipt, "ChainJoinApproved") == {
        "chainId": fresh.chain_id, "member": p.warehouse.address}


def test_approving_for_an_unknown_chain_is_refused(platform, p):
    with reverts("ChainNotFound", chainId=99):
        platform.members.as_(p.core).approve_join(99, p.warehouse.address)


def test_approving_for_an_evicted_chain_is_refused(fresh, platform, p):
    platform.members.as_(p.warehouse).request_join(fresh.chain_id)
    platform.members.as_(p.operator).evict_chain(fresh.chain_id, b32("collusion"))

    with reverts("ChainIsEvicted", chainId=fresh.chain_id):
        platform.members.as_(p.core).approve_join(fresh.chain_id, p.warehouse.address)


def test_chain_member_other_than_the_core_cannot_approve(fresh, platform, p):
    platform.members.as_(p.warehouse).request_join(fresh.chain_id)

    with reverts("NotChainCore", chainId=fresh.chain_id, caller=p.supplier.address):
        platform.members.as_(p.supplier).approve_join(fresh.chain_id, p.warehouse.address)


def test_core_of_another_chain_cannot_approve(fresh, platform, p):
    certify_core2(platform, p)
    platform.members.as_(p.core2).create_chain("Second chain")
    platform.members.as_(p.warehouse).request_join(fresh.chain_id)

    with reverts("NotChainCore", chainId=fresh.chain_id, caller=p.core2.address):
        platform.members.as_(p.core2).approve_join(fresh.chain_id, p.warehouse.address)


def test_suspended_core_cannot_approve(fresh, platform, p):
    platform.members.as_(p.warehouse).request_join(fresh.chain_id)
    platform.members.as_(p.operator).suspend(p.core.address, b32("review"))

    with reverts("MemberNotActive", member=p.core.address, status=Status.SUSPENDED):
        platform.members.as_(p.core).approve_join(fresh.chain_id, p.warehouse.address)


def test_approving_a_member_that_did_not_ask_is_refused(fresh, platform, p):
    with reverts("JoinNotRequested", chainId=fresh.chain_id, member=p.warehouse.address):
        platform.members.as_(p.core).approve_join(fresh.chain_id, p.warehouse.address)


def test_approving_a_member_suspended_since_it_asked_is_refused(fresh, platform, p):
    platform.members.as_(p.warehouse).request_join(fresh.chain_id)
    platform.members.as_(p.operator).suspend(p.warehouse.address, b32("review"))

    with reverts("MemberNotActive", member=p.warehouse.address, status=Status.SUSPENDED):
        platform.members.as_(p.core).approve_join(fresh.chain_id, p.warehouse.address)


def test_first_core_to_approve_wins_and_the_second_is_refused(fresh, platform, p):
    certify_core2(platform, p)
    second = platform.members.as_(p.core2).create_chain("Second chain").id
    platform.members.as_(p.warehouse).request_join(fresh.chain_id)
    platform.members.as_(p.warehouse).request_join(second)
    platform.members.as_(p.core2).approve_join(second, p.warehouse.address)

    with reverts("AlreadyInChain", member=p.warehouse.address, chainId=second):
        platform.members.as_(p.core).approve_join(fresh.chain_id, p.warehouse.address)
