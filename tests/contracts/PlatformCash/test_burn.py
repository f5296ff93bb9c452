"""PlatformCash.burn: an active financier destroys its own money when it pays out a withdrawal."""

from __future__ import annotations

import pytest
from harness import reverts
from support import b32, the_event

from vscm.client.records import ZERO_ADDRESS


@pytest.fixture
def cash(platform, p):
    """CNY with 10,000.00 minted by bank to itself (a withdrawal it is about to pay out)."""
    cny = platform.cash("CNY")
    cny.as_(p.bank).mint(p.bank.address, 10_000_00, b32("deposit"))
    return cny


def test_financier_burns_its_own_balance(cash, p):
    supply = cash.total_supply()
    minted, burned = cash.contract.functions.issuance(p.bank.address).call()

    cash.as_(p.bank).burn(4_000_00, b32("withdrawal 1"))

    assert cash.balance(p.bank.address) == 6_000_00
    assert cash.total_supply() == supply - 4_000_00
    assert tuple(cash.contract.functions.issuance(p.bank.address).call()) == (minted, burned + 4_000_00)


def test_burn_emits_withdrawn_and_transfer(cash, p):
    receipt = cash.as_(p.bank).burn(4_000_00, b32("withdrawal 1"))

    assert the_event(cash, receipt, "Withdrawn") == {
        "financier": p.bank.address, "amount": 4_000_00, "withdrawalRef": b32("withdrawal 1")}
    assert the_event(cash, receipt, "Transfer") == {"from": p.bank.address, "to": ZERO_ADDRESS, "value": 4_000_00}


def test_financier_may_burn_money_minted_by_another(cash, p):
    cash.as_(p.bank2).mint(p.bank2.address, 3_00, b32("deposit"))

    cash.as_(p.bank2).burn(3_00, b32("withdrawal"))

    assert tuple(cash.contract.functions.issuance(p.bank2.address).call()) == (3_00, 3_00)


def test_non_financier_cannot_burn(cash, p):
    with reverts("CashNotFinancier", caller=p.core.address):
        cash.as_(p.core).burn(1_00, b32("x"))


def test_suspended_financier_cannot_burn(cash, platform, p):
    platform.members.as_(p.operator).suspend(p.bank.address, b32("review"))

    with reverts("CashNotFinancier", caller=p.bank.address):
        cash.as_(p.bank).burn(1_00, b32("x"))


def test_zero_burn_is_refused(cash, p):
    with reverts("CashZeroAmount"):
        cash.as_(p.bank).burn(0, b32("x"))


def test_burning_more_than_the_balance_is_refused(cash, p):
    with reverts("ERC20InsufficientBalance", sender=p.bank.address, balance=10_000_00, needed=10_000_01):
        cash.as_(p.bank).burn(10_000_01, b32("x"))
