"""MemberRegistry.reinstate: the operator, the controller, the guardian or the admin lifts a suspension, each only
one imposed by an equal or lower authority."""

from __future__ import annotations

from harness import reverts
from support import CONTROLLER_ROLE, OPERATOR_ROLE, b32, expire_credential, the_event

from vscm.client.records import Role, Status, SuspensionAuthority


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


# ---------------------------------------------------------------------- who may lift what (issue 13)
#
# A suspension records the authority that imposed it (operator < controller < guardian < admin); only an equal
# or higher one lifts it. With a council the operator key holds OPERATOR_ROLE alone: `day` below is such a key.


def _day_operator(world) -> object:
    world.platform.members.as_(world.p.operator).grant(OPERATOR_ROLE, world.p.applicant.address)
    return world.p.applicant


def test_the_operator_key_cannot_lift_the_controllers_suspension(wired):
    members, p = wired.platform.members, wired.p
    day = _day_operator(wired)
    members.as_(p.monitor).suspend(p.supplier.address, b32("alert"))   # the monitor is this world's controller
    assert members.suspension_authority(p.supplier.address) == SuspensionAuthority.CONTROLLER

    with reverts("SuspensionByHigherAuthority", member=p.supplier.address,
                 imposedBy=SuspensionAuthority.CONTROLLER, caller=SuspensionAuthority.OPERATOR):
        members.as_(day).reinstate(p.supplier.address)

    assert members.status(p.supplier.address) == Status.SUSPENDED
    members.as_(p.operator).reinstate(p.supplier.address)   # the admin lifts any suspension
    assert members.status(p.supplier.address) == Status.ACTIVE
    assert members.suspension_authority(p.supplier.address) == SuspensionAuthority.NONE


def test_the_controller_lifts_the_operator_keys_suspension(wired):
    members, p = wired.platform.members, wired.p
    day = _day_operator(wired)
    members.as_(day).suspend(p.supplier.address, b32("kyc"))
    assert members.suspension_authority(p.supplier.address) == SuspensionAuthority.OPERATOR

    members.as_(p.monitor).reinstate(p.supplier.address)

    assert members.status(p.supplier.address) == Status.ACTIVE


def test_a_higher_authority_takes_over_a_suspension_the_operator_key_imposed(wired):
    """Else the operator key could pre-empt a higher suspension with its own and lift it later."""
    members, p = wired.platform.members, wired.p
    day = _day_operator(wired)
    members.as_(day).suspend(p.supplier.address, b32("kyc"))

    receipt = members.as_(p.monitor).suspend(p.supplier.address, b32("alert"))

    assert the_event(members, receipt, "MemberSuspended")["by"] == p.monitor.address
    assert members.suspension_authority(p.supplier.address) == SuspensionAuthority.CONTROLLER
    with reverts("SuspensionByHigherAuthority", imposedBy=SuspensionAuthority.CONTROLLER):
        members.as_(day).reinstate(p.supplier.address)
    # An equal or lower authority cannot suspend again what is suspended.
    with reverts("MemberNotActive", member=p.supplier.address, status=Status.SUSPENDED):
        members.as_(p.monitor).suspend(p.supplier.address, b32("again"))
    with reverts("MemberNotActive", member=p.supplier.address, status=Status.SUSPENDED):
        members.as_(day).suspend(p.supplier.address, b32("again"))


def test_the_operator_key_lifts_its_own_suspension(wired):
    members, p = wired.platform.members, wired.p
    day = _day_operator(wired)
    members.as_(day).suspend(p.supplier.address, b32("kyc"))
    members.as_(day).reinstate(p.supplier.address)
    assert members.status(p.supplier.address) == Status.ACTIVE
