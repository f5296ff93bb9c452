"""AccessControl.grantRole on MemberRegistry: the controller (RiskControl) is wired at deployment and
nobody can name or remove one afterwards.

The controller may suspend, reinstate and evict members and chains; nothing else of the operator's.
The monitor stands in for the RiskControl contract on the test-wired world (harness.deploy_test_wired).
"""

from __future__ import annotations

import pytest
from harness import reverts
from support import CONTROLLER_ROLE, ONE_YEAR, OPERATOR_ROLE, WIRING_ROLE, b32, the_event

from vscm.client.records import Status


@pytest.fixture
def controller(wired):
    return wired.p.monitor


def has_role(platform, role: bytes, account: str) -> bool:
    return bool(platform.members.contract.functions.hasRole(role, account).call())


def test_the_deployment_names_risk_control_the_controller(platform, p):
    assert has_role(platform, CONTROLLER_ROLE, platform.deployment.risk)
    assert not has_role(platform, CONTROLLER_ROLE, p.operator.address)


@pytest.mark.parametrize("who", ["operator", "monitor"])
def test_nobody_can_grant_the_controller_role_after_deployment(platform, p, who):
    caller = getattr(p, who)
    with reverts("AccessControlUnauthorizedAccount", account=caller.address, neededRole=WIRING_ROLE):
        platform.members.as_(caller).grant_controller(caller.address)

    assert not has_role(platform, CONTROLLER_ROLE, caller.address)


def test_the_operator_cannot_remove_the_controller(platform, p):
    with reverts("AccessControlUnauthorizedAccount", account=p.operator.address, neededRole=WIRING_ROLE):
        platform.members.as_(p.operator).revoke_role(CONTROLLER_ROLE, platform.deployment.risk)


def test_controller_suspends_a_member(wired, controller):
    platform, p = wired.platform, wired.p
    receipt = platform.members.as_(controller).suspend(p.supplier.address, b32("alert 7"))

    assert platform.members.status(p.supplier.address) == Status.SUSPENDED
    assert the_event(platform.members, receipt, "MemberSuspended")["by"] == controller.address


def test_controller_reinstates_a_member(wired, controller):
    platform, p = wired.platform, wired.p
    platform.members.as_(controller).suspend(p.supplier.address, b32("alert 7"))

    receipt = platform.members.as_(controller).reinstate(p.supplier.address)

    assert platform.members.status(p.supplier.address) == Status.ACTIVE
    assert the_event(platform.members, receipt, "MemberReinstated")["by"] == controller.address


def test_controller_evicts_a_member(wired, controller):
    platform, p = wired.platform, wired.p
    receipt = platform.members.as_(controller).evict(p.supplier.address, b32("fraud finding"))

    assert platform.members.status(p.supplier.address) == Status.EVICTED
    assert the_event(platform.members, receipt, "MemberEvicted")["by"] == controller.address


def test_controller_evicts_a_chain(wired, controller):
    platform, p = wired.platform, wired.p
    receipt = platform.members.as_(controller).evict_chain(wired.chain_id, b32("fraud finding"))

    assert platform.members.status(p.seller.address) == Status.EVICTED
    assert the_event(platform.members, receipt, "ChainEvicted")["by"] == controller.address


def test_controller_cannot_approve_members(wired, controller):
    platform, p = wired.platform, wired.p
    with reverts("AccessControlUnauthorizedAccount", account=controller.address, neededRole=OPERATOR_ROLE):
        platform.members.as_(controller).approve(p.core2.address)


def test_controller_cannot_renew_credentials(wired, controller):
    platform, p = wired.platform, wired.p
    with reverts("AccessControlUnauthorizedAccount", account=controller.address, neededRole=OPERATOR_ROLE):
        platform.members.as_(controller).update_credential(p.supplier.address, b32("x"), wired.now() + ONE_YEAR)


def test_controller_cannot_grant_roles(wired, controller):
    platform, p = wired.platform, wired.p
    with reverts("AccessControlUnauthorizedAccount", account=controller.address, neededRole=WIRING_ROLE):
        platform.members.as_(controller).grant_controller(p.monitor.address)
