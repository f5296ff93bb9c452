"""MemberRegistry.applyForMembership: anyone not yet registered asks to join; status becomes Pending."""

from __future__ import annotations

import pytest
from harness import reverts
from support import ONE_YEAR, apply_as, b32, the_event

from vscm.client.platform import MAX_NAME_BYTES
from vscm.client.records import Role, Status, Tier, roles_to_mask
from vscm.errors import InputError


def test_applicant_is_recorded_as_pending_and_announced(fresh, platform, p):
    expiry = fresh.now() + ONE_YEAR
    receipt = platform.members.as_(p.applicant).apply(
        [Role.SUPPLIER, Role.SELLER], Tier.SME, b32("credential:applicant"), expiry, "Applicant Ltd")

    member = platform.members.member(p.applicant.address)
    assert (member.roles, member.tier, member.status, member.chain_id) == (
        (Role.SUPPLIER, Role.SELLER), Tier.SME, Status.PENDING, 0)
    assert (member.credential_hash, member.credential_expiry, member.name) == (
        b32("credential:applicant"), expiry, "Applicant Ltd")
    assert the_event(platform.members, receipt, "MemberApplied") == {
        "member": p.applicant.address, "roles": roles_to_mask([Role.SUPPLIER, Role.SELLER]),
        "tier": Tier.SME, "credentialHash": b32("credential:applicant"), "credentialExpiry": expiry,
        "name": "Applicant Ltd",
    }


def test_applicant_is_appended_to_the_member_list(fresh, platform, p):
    before = platform.members.contract.functions.memberCount().call()

    apply_as(fresh, p.applicant)

    assert platform.members.contract.functions.memberCount().call() == before + 1
    assert platform.members.contract.functions.memberAt(before).call() == p.applicant.address


def test_core_applicant_is_pending_core_tier(fresh, platform, p):
    apply_as(fresh, p.applicant, [Role.MANUFACTURER], Tier.CORE, name="Big Maker")

    member = platform.members.member(p.applicant.address)
    assert (member.tier, member.status) == (Tier.CORE, Status.PENDING)


def test_active_member_cannot_apply_again(fresh, p):
    with reverts("MemberAlreadyRegistered", member=p.supplier.address, status=Status.ACTIVE):
        apply_as(fresh, p.supplier)


def test_pending_applicant_cannot_apply_twice(fresh, p):
    with reverts("MemberAlreadyRegistered", member=p.core2.address, status=Status.PENDING):
        apply_as(fresh, p.core2, [Role.MANUFACTURER], Tier.CORE)


def test_evicted_member_cannot_apply_again(fresh, platform, p):
    platform.members.as_(p.operator).evict(p.supplier.address, b32("fraud"))

    with reverts("MemberAlreadyRegistered", member=p.supplier.address, status=Status.EVICTED):
        apply_as(fresh, p.supplier)


def test_application_without_roles_is_refused(fresh, p):
    with reverts("NoRoles"):
        apply_as(fresh, p.applicant, roles=[])


def test_application_with_undefined_role_bits_is_refused(fresh, p):
    undefined = len(Role)  # the first bit past the last Role
    with reverts("UnknownRoles", roles=1 << undefined | 1):
        apply_as(fresh, p.applicant, roles=[Role.SUPPLIER, undefined])


@pytest.mark.parametrize("institution_role", [Role.FINANCIER, Role.AUDITOR, Role.ORACLE, Role.MONITOR],
                         ids=lambda r: r.label)
def test_core_tier_with_an_institution_role_is_refused(fresh, p, institution_role):
    roles = [Role.MANUFACTURER, institution_role]
    with reverts("CoreTierNotAllowed", roles=roles_to_mask(roles)):
        apply_as(fresh, p.applicant, roles, Tier.CORE)


@pytest.mark.parametrize("age", [0, 1, ONE_YEAR], ids=["expiring-now", "one-second-ago", "a-year-ago"])
def test_application_with_an_expired_credential_is_refused(fresh, p, age):
    expiry = fresh.now() - age
    with reverts("CredentialExpired", expiresAt=expiry) as refused:
        apply_as(fresh, p.applicant, expiry=expiry)
    assert refused.error.values["nowTime"] >= expiry


def test_application_without_a_name_is_refused(fresh, p):
    with reverts("EmptyName"):
        apply_as(fresh, p.applicant, name="")


def test_a_name_longer_than_the_bound_is_refused_on_chain_with_its_length(fresh, platform, p):
    contract = platform.members.contract
    assert contract.functions.MAX_NAME_BYTES().call() == MAX_NAME_BYTES == 256
    expiry = fresh.now() + ONE_YEAR
    name = "货" * 86  # 258 bytes of UTF-8
    call = contract.functions.applyForMembership(roles_to_mask([Role.SUPPLIER]), int(Tier.SME), b32("c"), expiry, name)
    with reverts("NameTooLong", length=258, max=256):
        fresh.chain.sender.transact(p.applicant, call)
    with pytest.raises(InputError, match="name is 258 bytes of UTF-8, at most 256"):
        platform.members.as_(p.applicant).apply([Role.SUPPLIER], Tier.SME, b32("c"), expiry, name)

    apply_as(fresh, p.applicant, name="x" * 256)  # the bound itself is stored
    assert platform.members.member(p.applicant.address).name == "x" * 256
