"""MemberRegistry.updateCredential: the operator renews a member's credential (hash and expiry)."""

from __future__ import annotations

from harness import reverts
from support import ONE_YEAR, OPERATOR_ROLE, b32, expire_credential, the_event

from vscm.client.records import Role, Status


def test_operator_renews_a_credential_and_announces_it(fresh, platform, p):
    expiry = fresh.now() + 2 * ONE_YEAR

    receipt = platform.members.as_(p.operator).update_credential(p.supplier.address, b32("licence-2"), expiry)

    member = platform.members.member(p.supplier.address)
    assert (member.credential_hash, member.credential_expiry, member.status) == (
        b32("licence-2"), expiry, Status.ACTIVE)
    assert the_event(platform.members, receipt, "CredentialUpdated") == {
        "member": p.supplier.address, "credentialHash": b32("licence-2"), "credentialExpiry": expiry}


def test_renewal_restores_a_member_whose_credential_expired(fresh, platform, p):
    expire_credential(fresh, p.supplier)
    assert platform.members.status(p.supplier.address) == Status.SUSPENDED

    platform.members.as_(p.operator).update_credential(p.supplier.address, b32("licence-2"), fresh.now() + ONE_YEAR)

    assert platform.members.status(p.supplier.address) == Status.ACTIVE
    assert platform.members.is_active(p.supplier.address, Role.SUPPLIER)


def test_renewal_does_not_lift_a_suspension(fresh, platform, p):
    platform.members.as_(p.operator).suspend(p.supplier.address, b32("review"))

    platform.members.as_(p.operator).update_credential(p.supplier.address, b32("licence-2"), fresh.now() + ONE_YEAR)

    assert platform.members.status(p.supplier.address) == Status.SUSPENDED


def test_renewal_does_not_lift_an_eviction(fresh, platform, p):
    platform.members.as_(p.operator).evict(p.supplier.address, b32("fraud"))

    platform.members.as_(p.operator).update_credential(p.supplier.address, b32("licence-2"), fresh.now() + ONE_YEAR)

    assert platform.members.status(p.supplier.address) == Status.EVICTED


def test_member_cannot_renew_its_own_credential(fresh, platform, p):
    with reverts("AccessControlUnauthorizedAccount", account=p.supplier.address, neededRole=OPERATOR_ROLE):
        platform.members.as_(p.supplier).update_credential(p.supplier.address, b32("forged"), fresh.now() + ONE_YEAR)


def test_renewing_an_unregistered_account_is_refused(fresh, platform, p):
    with reverts("MemberNotRegistered", member=p.outsider.address):
        platform.members.as_(p.operator).update_credential(p.outsider.address, b32("x"), fresh.now() + ONE_YEAR)


def test_renewal_with_an_expiry_in_the_past_is_refused(fresh, platform, p):
    expiry = fresh.now()
    with reverts("CredentialExpired", expiresAt=expiry):
        platform.members.as_(p.operator).update_credential(p.supplier.address, b32("x"), expiry)

    assert platform.members.member(p.supplier.address).credential_expiry > expiry
