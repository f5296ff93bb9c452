"""MemberRegistry.requestJoin: an active member outside any chain asks to join one."""

from __future__ import annotations

from harness import reverts
from support import b32, the_event

from vscm.client.records import Status


def pending_join(platform, chain_id: int, member: str) -> bool:
    return bool(platform.members.contract.functions.pendingJoin(chain_id, member).call())


def test_active_member_requests_to_join_and_it_is_announced(fresh, platform, p):
    receipt = platform.members.as_(p.warehouse).request_join(fresh.chain_id)

    assert pending_join(platform, fresh.chain_id, p.warehouse.address)
    assert platform.members.member(p.warehouse.address).chain_id == 0
    assert the_event(platform.members, receipt, "ChainJoinRequested") == {
        "chainId": fresh.chain_id, "member": p.warehouse.address}


def test_unregistered_account_cannot_request_to_join(fresh, platform, p):
    with reverts("MemberNotActive", member=p.outsider.address, status=Status.NONE):
        platform.members.as_(p.outsider).request_join(fresh.chain_id)


def test_pending_member_cannot_request_to_join(fresh, platform, p):
    with reverts("MemberNotActive", member=p.core2.address, status=Status.PENDING):
        platform.members.as_(p.core2).request_join(fresh.chain_id)


def test_suspended_member_cannot_request_to_join(fresh, platform, p):
    platform.members.as_(p.operator).suspend(p.warehouse.address, b32("review"))

    with reverts("MemberNotActive", member=p.warehouse.address, status=Status.SUSPENDED):
        platform.members.as_(p.warehouse).request_join(fresh.chain_id)


def test_request_to_join_an_unknown_chain_is_refused(platform, p):
    with reverts("ChainNotFound", chainId=99):
        platform.members.as_(p.warehouse).request_join(99)


def test_request_to_join_an_evicted_chain_is_refused(fresh, platform, p):
    platform.members.as_(p.operator).evict_chain(fresh.chain_id, b32("collusion"))

    with reverts("ChainIsEvicted", chainId=fresh.chain_id):
        platform.members.as_(p.warehouse).request_join(fresh.chain_id)


def test_member_already_in_a_chain_cannot_request_another(fresh, platform, p):
    with reverts("AlreadyInChain", member=p.supplier.address, chainId=fresh.chain_id):
        platform.members.as_(p.supplier).request_join(fresh.chain_id)
