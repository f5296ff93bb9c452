"""MemberRegistry.createChain: an active core enterprise founds a supply chain and leads it."""

from __future__ import annotations

from harness import reverts
from support import b32, certify_core2, the_event

from vscm.client.platform import text32
from vscm.client.records import Status


def test_certified_core_creates_a_chain_it_leads_and_announces_it(platform, p):
    certify_core2(platform, p)

    chain_id = platform.members.as_(p.core2).create_chain("Second chain").id

    assert chain_id == 2
    assert platform.members.contract.functions.chainCount().call() == 2
    chain = platform.members.supply_chain(chain_id)
    assert (chain.core, chain.name, chain.member_count, chain.evicted) == (p.core2.address, "Second chain", 1, False)
    assert platform.members.member(p.core2.address).chain_id == chain_id
    assert the_event(platform.members, platform.last_receipt, "ChainCreated") == {
        "chainId": chain_id, "core": p.core2.address, "name": text32("Second chain")}


def test_sme_cannot_create_a_chain(platform, p):
    with reverts("NotCoreEnterprise", member=p.supplier.address):
        platform.members.as_(p.supplier).create_chain("Mine")


def test_unregistered_account_cannot_create_a_chain(platform, p):
    with reverts("NotCoreEnterprise", member=p.outsider.address):
        platform.members.as_(p.outsider).create_chain("Mine")


def test_pending_core_cannot_create_a_chain(platform, p):
    with reverts("MemberNotActive", member=p.core2.address, status=Status.PENDING):
        platform.members.as_(p.core2).create_chain("Too early")


def test_suspended_core_cannot_create_a_chain(platform, p):
    certify_core2(platform, p)
    platform.members.as_(p.operator).suspend(p.core2.address, b32("review"))

    with reverts("MemberNotActive", member=p.core2.address, status=Status.SUSPENDED):
        platform.members.as_(p.core2).create_chain("Second chain")


def test_core_already_leading_a_chain_cannot_create_another(fresh, platform, p):
    with reverts("AlreadyInChain", member=p.core.address, chainId=fresh.chain_id):
        platform.members.as_(p.core).create_chain("Another")
