"""MemberRegistry.attest: a core enterprise is certified by a financier AND an auditor, two distinct members."""

from __future__ import annotations

import pytest
from harness import reverts
from support import apply_as, b32, emitted, expire_credential, the_event

from vscm.client.records import Role, Status, Tier


@pytest.fixture
def dual(fresh, platform, p):
    """An active member holding both certifying roles (financier and auditor)."""
    apply_as(fresh, p.applicant, [Role.FINANCIER, Role.AUDITOR], name="Bank and Audit Ltd")
    platform.members.as_(p.operator).approve(p.applicant.address)
    return p.applicant


def test_one_attestation_leaves_the_core_pending(platform, p):
    receipt = platform.members.as_(p.bank).attest(p.core2.address, Role.FINANCIER)

    member = platform.members.member(p.core2.address)
    assert (member.status, member.financier_attestor, member.auditor_attestor) == (
        Status.PENDING, p.bank.address, None)
    assert the_event(platform.members, receipt, "CoreAttested") == {
        "member": p.core2.address, "attestor": p.bank.address, "asRole": Role.FINANCIER}
    assert emitted(platform.members, receipt, "MemberActivated") == []


def test_financier_and_auditor_attestations_activate_the_core(platform, p):
    platform.members.as_(p.bank).attest(p.core2.address, Role.FINANCIER)
    receipt = platform.members.as_(p.auditor).attest(p.core2.address, Role.AUDITOR)

    member = platform.members.member(p.core2.address)
    assert (member.status, member.financier_attestor, member.auditor_attestor) == (
        Status.ACTIVE, p.bank.address, p.auditor.address)
    assert the_event(platform.members, receipt, "CoreAttested") == {
        "member": p.core2.address, "attestor": p.auditor.address, "asRole": Role.AUDITOR}
    assert the_event(platform.members, receipt, "MemberActivated") == {"member": p.core2.address}


def test_auditor_may_attest_before_the_financier(platform, p):
    platform.members.as_(p.auditor).attest(p.core2.address, Role.AUDITOR)
    platform.members.as_(p.bank).attest(p.core2.address, Role.FINANCIER)

    assert platform.members.status(p.core2.address) == Status.ACTIVE


def test_second_financier_attestation_is_refused(platform, p):
    platform.members.as_(p.bank).attest(p.core2.address, Role.FINANCIER)

    with reverts("AlreadyAttested", member=p.core2.address, attestor=p.bank.address, asRole=Role.FINANCIER):
        platform.members.as_(p.bank2).attest(p.core2.address, Role.FINANCIER)

    assert platform.members.status(p.core2.address) == Status.PENDING


@pytest.mark.parametrize("attestor,as_role", [("bank", Role.FINANCIER), ("auditor", Role.AUDITOR)],
                         ids=["financier", "auditor"])
def test_same_member_attesting_twice_in_one_role_is_refused(platform, p, attestor, as_role):
    who = getattr(p, attestor)
    platform.members.as_(who).attest(p.core2.address, as_role)

    with reverts("AlreadyAttested", member=p.core2.address, attestor=who.address, asRole=as_role):
        platform.members.as_(who).attest(p.core2.address, as_role)

    assert platform.members.status(p.core2.address) == Status.PENDING


@pytest.mark.parametrize("first,second", [(Role.FINANCIER, Role.AUDITOR), (Role.AUDITOR, Role.FINANCIER)],
                         ids=["financier-then-auditor", "auditor-then-financier"])
def test_member_holding_both_roles_cannot_attest_as_both(platform, p, dual, first, second):
    platform.members.as_(dual).attest(p.core2.address, first)

    with reverts("AttestorsMustDiffer", member=p.core2.address, attestor=dual.address):
        platform.members.as_(dual).attest(p.core2.address, second)

    assert platform.members.status(p.core2.address) == Status.PENDING


def test_member_holding_both_roles_counts_once_beside_another_attestor(platform, p, dual):
    platform.members.as_(dual).attest(p.core2.address, Role.FINANCIER)
    platform.members.as_(p.auditor).attest(p.core2.address, Role.AUDITOR)

    assert platform.members.status(p.core2.address) == Status.ACTIVE


@pytest.mark.parametrize("as_role", [r for r in Role if r not in (Role.FINANCIER, Role.AUDITOR)],
                         ids=lambda r: r.label)
def test_attesting_in_a_non_certifying_role_is_refused(platform, p, as_role):
    with reverts("AttestorRoleInvalid", asRole=as_role):
        platform.members.as_(p.bank).attest(p.core2.address, as_role)


@pytest.mark.parametrize("attestor,as_role", [("auditor", Role.FINANCIER), ("bank", Role.AUDITOR),
                                              ("supplier", Role.FINANCIER), ("core", Role.AUDITOR)],
                         ids=["auditor-as-financier", "bank-as-auditor", "supplier-as-financier", "core-as-auditor"])
def test_attesting_in_a_role_the_attestor_does_not_hold_is_refused(platform, p, attestor, as_role):
    who = getattr(p, attestor)
    with reverts("MemberLacksRole", member=who.address, role=as_role):
        platform.members.as_(who).attest(p.core2.address, as_role)


def test_suspended_financier_cannot_attest(platform, p):
    platform.members.as_(p.operator).suspend(p.bank.address, b32("review"))

    with reverts("MemberLacksRole", member=p.bank.address, role=Role.FINANCIER):
        platform.members.as_(p.bank).attest(p.core2.address, Role.FINANCIER)


def test_financier_whose_credential_expired_cannot_attest(fresh, platform, p):
    expire_credential(fresh, p.bank)

    with reverts("MemberLacksRole", member=p.bank.address, role=Role.FINANCIER):
        platform.members.as_(p.bank).attest(p.core2.address, Role.FINANCIER)


def test_attesting_an_active_core_is_refused(platform, p):
    with reverts("MemberNotPending", member=p.core.address, status=Status.ACTIVE):
        platform.members.as_(p.bank2).attest(p.core.address, Role.FINANCIER)


def test_attesting_an_unregistered_account_is_refused(platform, p):
    with reverts("MemberNotPending", member=p.applicant.address, status=Status.NONE):
        platform.members.as_(p.bank).attest(p.applicant.address, Role.FINANCIER)


def test_attesting_an_sme_applicant_is_refused(fresh, platform, p):
    apply_as(fresh, p.applicant, [Role.SUPPLIER], Tier.SME)

    with reverts("NotCoreApplicant", member=p.applicant.address):
        platform.members.as_(p.bank).attest(p.applicant.address, Role.FINANCIER)


def test_attesting_a_core_whose_credential_expired_is_refused(fresh, platform, p):
    expiry = expire_credential(fresh, p.core2)

    with reverts("CredentialExpired", expiresAt=expiry):
        platform.members.as_(p.bank).attest(p.core2.address, Role.FINANCIER)
