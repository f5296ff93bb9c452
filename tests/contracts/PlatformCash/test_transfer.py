"""PlatformCash.transfer: money moves only from an active member to an active member."""

from __future__ import annotations

from harness import reverts
from support import b32, expire_credential, the_event

from vscm.client.records import ZERO_ADDRESS


def test_active_member_pays_an_active_member(platform, p):
    cash = platform.cash("CNY")
    core_before, supply = cash.balance(p.core.address), cash.total_supply()

    receipt = cash.as_(p.core).transfer(p.supplier.address, 2_500_00)

    assert cash.balance(p.core.address) == core_before - 2_500_00
    assert cash.balance(p.supplier.address) == 2_500_00
    assert cash.total_supply() == supply
    assert the_event(cash, receipt, "Transfer") == {"from": p.core.address, "to": p.supplier.address,
                                                    "value": 2_500_00}


def test_suspended_member_cannot_pay(platform, p):
    platform.members.as_(p.operator).suspend(p.core.address, b32("review"))

    with reverts("CashSenderNotActive", sender=p.core.address):
        platform.cash("CNY").as_(p.core).transfer(p.supplier.address, 1_00)


def test_evicted_member_cannot_pay(platform, p):
    platform.members.as_(p.operator).evict(p.core.address, b32("fraud"))

    with reverts("CashSenderNotActive", sender=p.core.address):
        platform.cash("CNY").as_(p.core).transfer(p.supplier.address, 1_00)


def test_member_of_an_evicted_chain_cannot_pay(fresh, platform, p):
    platform.members.as_(p.operator).evict_chain(fresh.chain_id, b32("collusion"))

    with reverts("CashSenderNotActive", sender=p.core.address):
        platform.cash("CNY").as_(p.core).transfer(p.warehouse.address, 1_00)


def test_member_whose_credential_expired_cannot_pay(fresh, platform, p):
    expire_credential(fresh, p.core)

    with reverts("CashSenderNotActive", sender=p.core.address):
        platform.cash("CNY").as_(p.core).transfer(p.supplier.address, 1_00)


def test_payment_to_an_unregistered_account_is_refused(platform, p):
    with reverts("CashRecipientNotActive", recipient=p.outsider.address):
        platform.cash("CNY").as_(p.core).transfer(p.outsider.address, 1_00)


def test_payment_to_a_pending_applicant_is_refused(platform, p):
    with reverts("CashRecipientNotActive", recipient=p.core2.address):
        platform.cash("CNY").as_(p.core).transfer(p.core2.address, 1_00)


def test_payment_to_a_suspended_member_is_refused(platform, p):
    platform.members.as_(p.operator).suspend(p.supplier.address, b32("review"))

    with reverts("CashRecipientNotActive", recipient=p.supplier.address):
        platform.cash("CNY").as_(p.core).transfer(p.supplier.address, 1_00)


def test_payment_to_the_zero_address_is_refused(platform, p):
    with reverts("ERC20InvalidReceiver", receiver=ZERO_ADDRESS):
        platform.cash("CNY").as_(p.core).transfer(ZERO_ADDRESS, 1_00)


def test_paying_more_than_the_balance_is_refused(platform, p):
    cash = platform.cash("CNY")
    balance = cash.balance(p.core.address)

    with reverts("ERC20InsufficientBalance", sender=p.core.address, balance=balance, needed=balance + 1):
        cash.as_(p.core).transfer(p.supplier.address, balance + 1)
