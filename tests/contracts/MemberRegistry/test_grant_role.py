"""AccessControl.grantRole on MemberRegistry: the operator (admin) names the controller (RiskControl).

The controller may suspend, reinstate and evict members and chains; nothing else of the operator's.
Here an externally owned account stands in for the RiskControl contract.
"""

from __future__ import annotations

import pytest
from eth_account import Account
from harness import reverts
from support import CONTROLLER_ROLE, DEFAULT_ADMIN_ROLE, ONE_YEAR, OPERATOR_ROLE, b32, the_event

from vscm.client.records import Status


@pytest.fixture
def controller(fresh):
    account = Account.from_key(b32("controller"))
    fresh.chain.fund(account.address, 10**18)
    fresh.platform.members.as_(fresh.p.operator).grant_controller(account.address)
    return account


def has_role(platform, role: bytes, account: str) -> bool:
    return bool(platform.members.contract.functions.hasRole(role, account).call())


def test_operator_grants_the_controller_role_and_it_is_announced(fresh, platform, p):
    controller = Account.from_key(b32("controller"))

    receipt = platform.members.as_(p.operator).grant_controller(controller.address)

    assert has_role(platform, CONTROLLER_ROLE, controller.address)
    assert not has_role(platform, OPERATOR_ROLE, controller.address)
    assert the_event(platform.members, receipt, "RoleGranted") == {
        "role": CONTROLLER_ROLE, "account": controller.address, "sender": p.operator.address}


def test_controller_suspends_a_member(platform, p, controller):
    receipt = platform.members.as_(controller).suspend(p.supplier.address, b32("alert 7"))

    assert platform.members.status(p.supplier.address) == Status.SUSPENDED
    assert the_event(platform.members, receipt, "MemberSuspended")["by"] == controller.address


def test_controller_reinstates_a_member(platform, p, controller):
    platform.members.as_(controller).suspend(p.supplier.address, b32("alert 7"))

    receipt = platform.members.as_(controller).reinstate(p.supplier.address)

    assert platform.members.status(p.supplier.address) == Status.ACTIVE
    assert the_event(platform.members, receipt, "MemberReinstated")["by"] == controller.address


def test_controller_evicts_a_member(platform, p, controller):
    receipt = platform.members.as_(controller).evict(p.supplier.address, b32("fraud finding"))

    assert platform.members.status(p.supplier.address) == Status.EVICTED
    assert the_event(platform.members, receipt, "MemberEvicted")["by"] == controller.address


def test_controller_evicts_a_chain(fresh, platform, p, controller):
    receipt = platform.members.as_(controller).evict_chain(fresh.chain_id, b32("fraud finding"))

    assert platform.members.status(p.seller.address) == Status.EVICTED
    assert the_event(platform.members, receipt, "ChainEvicted")["by"] == controller.address


def test_controller_cannot_approve_members(fresh, platform, p, controller):
    with reverts("AccessControlUnauthorizedAccount", account=controller.address, neededRole=OPERATOR_ROLE):
        platform.members.as_(controller).approve(p.core2.address)


def test_controller_cannot_renew_credentials(fresh, platform, p, controller):
    with reverts("AccessControlUnauthorizedAccount", account=controller.address, neededRole=OPERATOR_ROLE):
        platform.members.as_(controller).update_credential(p.supplier.address, b32("x"), fresh.now() + ONE_YEAR)


def test_controller_cannot_grant_roles(platform, p, controller):
    with reverts("AccessControlUnauthorizedAccount", account=controller.address, neededRole=DEFAULT_ADMIN_ROLE):
        platform.members.as_(controller).grant_controller(p.monitor.address)


def test_only_the_admin_can_grant_the_controller_role(platform, p):
    with reverts("AccessControlUnauthorizedAccount", account=p.monitor.address, neededRole=DEFAULT_ADMIN_ROLE):
        platform.members.as_(p.monitor).grant_controller(p.monitor.address)

    assert not has_role(platform, CONTROLLER_ROLE, p.monitor.address)


def test_revoked_controller_can_no_longer_suspend(fresh, platform, p, controller):
    fresh.chain.sender.transact(p.operator, platform.members.contract.functions.revokeRole(
        CONTROLLER_ROLE, controller.address))

    with reverts("AccessControlUnauthorizedAccount", account=controller.address, neededRole=CONTROLLER_ROLE):
        platform.members.as_(controller).suspend(p.supplier.address, b32("alert"))
