"""PlatformCash.transferFrom: a spender moves an owner's money within the owner's allowance.

The transfer rule follows the owner, not the spender: a spender that is not a payment agent cannot
move money out of a suspended or evicted member (only an agent can, see test_set_agent.py).
"""

from __future__ import annotations

from harness import reverts
from support import b32


def move(platform, spender, owner, to, amount):
    cash = platform.cash("CNY")
    return platform.chain.sender.transact(spender, cash.contract.functions.transferFrom(owner.address, to.address, amount))


def test_spender_moves_an_active_owners_money_within_its_allowance(platform, p):
    cash = platform.cash("CNY")
    cash.as_(p.core).approve(p.warehouse.address, 3_00)

    move(platform, p.warehouse, p.core, p.supplier, 2_00)

    assert cash.balance(p.supplier.address) == 2_00
    assert cash.allowance(p.core.address, p.warehouse.address) == 1_00


def test_spender_cannot_exceed_its_allowance(platform, p):
    platform.cash("CNY").as_(p.core).approve(p.warehouse.address, 3_00)

    with reverts("ERC20InsufficientAllowance", spender=p.warehouse.address, allowance=3_00, needed=3_01):
        move(platform, p.warehouse, p.core, p.supplier, 3_01)


def test_spender_cannot_move_a_suspended_owners_money(platform, p):
    platform.cash("CNY").as_(p.core).approve(p.warehouse.address, 3_00)
    platform.members.as_(p.operator).suspend(p.core.address, b32("review"))

    with reverts("CashSenderNotActive", sender=p.core.address):
        move(platform, p.warehouse, p.core, p.supplier, 1_00)


def test_spender_cannot_send_an_owners_money_to_a_non_member(platform, p):
    platform.cash("CNY").as_(p.core).approve(p.warehouse.address, 3_00)

    with reverts("CashRecipientNotActive", recipient=p.outsider.address):
        move(platform, p.warehouse, p.core, p.outsider, 1_00)
