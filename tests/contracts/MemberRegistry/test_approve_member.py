"""MemberRegistry.approveMember: the operator admits a pending SME or institution (never a core)."""

from __future__ import annotations

from harness import reverts
from support import OPERATOR_ROLE, apply_as, the_event

from vscm.client.records import Role, Status


def test_operator_approval_activates_a_pending_sme_and_is_announced(fresh, platform, p):
    apply_as(fresh, p.applicant, [Role.SUPPLIER])

    receipt = platform.members.as_(p.operator).approve(p.applicant.address)

    assert platform.members.status(p.applicant.address) == Status.ACTIVE
    assert platform.members.is_active(p.applicant.address, Role.SUPPLIER)
    assert the_event(platform.members, receipt, "MemberApproved") == {
        "member": p.applicant.address, "operator": p.operator.address}
    assert the_event(platform.members, receipt, "MemberActivated") == {"member": p.applicant.address}


def test_operator_approval_activates_an_institution(fresh, platform, p):
    apply_as(fresh, p.applicant, [Role.FINANCIER])

    platform.members.as_(p.operator).approve(p.applicant.address)

    assert platform.members.is_active(p.applicant.address, Role.FINANCIER)


def test_only_the_operator_can_approve(fresh, platform, p):
    apply_as(fresh, p.applicant)

    with reverts("AccessControlUnauthorizedAccount", account=p.bank.address, neededRole=OPERATOR_ROLE):
        platform.members.as_(p.bank).approve(p.applicant.address)


def test_operator_cannot_approve_a_core_enterprise(platform, p):
    with reverts("CoreNeedsAttestations", member=p.core2.address):
        platform.members.as_(p.operator).approve(p.core2.address)

    assert platform.members.status(p.core2.address) == Status.PENDING


def test_approving_an_unregistered_account_is_refused(platform, p):
    with reverts("MemberNotPending", member=p.applicant.address, status=Status.NONE):
        platform.members.as_(p.operator).approve(p.applicant.address)


def test_approving_an_active_member_again_is_refused(platform, p):
    with reverts("MemberNotPending", member=p.supplier.address, status=Status.ACTIVE):
        platform.members.as_(p.operator).approve(p.supplier.address)


def test_approving_an_applicant_whose_credential_expired_meanwhile_is_refused(fresh, platform, p):
    expiry = fresh.now() + 60
    apply_as(fresh, p.applicant, expiry=expiry)
    fresh.chain.time_travel(120)

    with reverts("CredentialExpired", expiresAt=expiry):
        platform.members.as_(p.operator).approve(p.applicant.address)
