"""MemberRegistry.statusOf: the effective status. An expired credential reads as Suspended."""

from __future__ import annotations

from harness import reverts
from support import b32, expire_credential

from vscm.client.records import Role, Status


def test_active_member_whose_credential_expired_reads_suspended(fresh, platform, p):
    expire_credential(fresh, p.supplier)

    assert platform.members.status(p.supplier.address) == Status.SUSPENDED
    assert platform.members.member(p.supplier.address).status == Status.SUSPENDED
    assert not platform.members.is_active(p.supplier.address, Role.SUPPLIER)


def test_credential_expiry_affects_only_that_member(fresh, platform, p):
    expire_credential(fresh, p.supplier)

    assert platform.members.status(p.supplier2.address) == Status.ACTIVE


def test_member_whose_credential_expired_cannot_place_orders(fresh, platform, p):
    expire_credential(fresh, p.supplier)

    with reverts("OrderNotTrader", member=p.supplier.address):
        platform.orders.as_(p.supplier).place(p.seller.address, fresh.chain_id, "CNY", 100_00, fresh.now() + 86400)


def test_member_whose_credential_expired_cannot_move_cash(fresh, platform, p):
    expire_credential(fresh, p.seller)

    with reverts("CashSenderNotActive", sender=p.seller.address):
        platform.cash("CNY").as_(p.seller).transfer(p.supplier.address, 100_00)


def test_suspended_member_reads_suspended(platform, p):
    platform.members.as_(p.operator).suspend(p.supplier.address, b32("review"))

    assert platform.members.status(p.supplier.address) == Status.SUSPENDED


def test_unregistered_account_reads_none(platform, p):
    assert platform.members.status(p.outsider.address) == Status.NONE
