"""PlatformCash.mint: an active financier issues money to an active member against a deposit."""

from __future__ import annotations

from harness import reverts
from support import DEFAULT_ADMIN_ROLE, b32, the_event

from vscm.client.records import ZERO_ADDRESS


def issuance(cash, financier: str) -> tuple[int, int]:
    minted, burned = cash.contract.functions.issuance(financier).call()
    return minted, burned


def test_financier_mints_to_an_active_member(platform, p):
    cash = platform.cash("CNY")
    supply, issued = cash.total_supply(), issuance(cash, p.bank.address)

    cash.as_(p.bank).mint(p.supplier.address, 5_000_00, b32("deposit 1"))

    assert cash.balance(p.supplier.address) == 5_000_00
    assert cash.total_supply() == supply + 5_000_00
    assert issuance(cash, p.bank.address) == (issued[0] + 5_000_00, issued[1])


def test_mint_emits_deposited_and_transfer(platform, p):
    cash = platform.cash("CNY")

    receipt = cash.as_(p.bank).mint(p.supplier.address, 5_000_00, b32("deposit 1"))

    assert the_event(cash, receipt, "Deposited") == {
        "financier": p.bank.address, "to": p.supplier.address, "amount": 5_000_00, "depositRef": b32("deposit 1")}
    assert the_event(cash, receipt, "Transfer") == {"from": ZERO_ADDRESS, "to": p.supplier.address, "value": 5_000_00}


def test_mint_counts_toward_the_minting_financier_only(platform, p):
    cash = platform.cash("CNY")
    bank_issued = issuance(cash, p.bank.address)

    cash.as_(p.bank2).mint(p.supplier.address, 7_00, b32("deposit 2"))

    assert issuance(cash, p.bank2.address) == (7_00, 0)
    assert issuance(cash, p.bank.address) == bank_issued


def test_mint_in_one_currency_leaves_the_other_untouched(platform, p):
    usd_supply = platform.cash("USD").total_supply()

    platform.cash("CNY").as_(p.bank).mint(p.supplier.address, 5_000_00, b32("deposit 1"))

    assert platform.cash("USD").total_supply() == usd_supply
    assert platform.cash("USD").balance(p.supplier.address) == 0


def test_non_financier_member_cannot_mint(platform, p):
    with reverts("CashNotFinancier", caller=p.core.address):
        platform.cash("CNY").as_(p.core).mint(p.core.address, 1_00, b32("self-issued"))


def test_operator_cannot_mint(platform, p):
    with reverts("CashNotFinancier", caller=p.operator.address):
        platform.cash("CNY").as_(p.operator).mint(p.supplier.address, 1_00, b32("x"))


def test_suspended_financier_cannot_mint(platform, p):
    platform.members.as_(p.operator).suspend(p.bank.address, b32("review"))

    with reverts("CashNotFinancier", caller=p.bank.address):
        platform.cash("CNY").as_(p.bank).mint(p.supplier.address, 1_00, b32("x"))


def test_zero_mint_is_refused(platform, p):
    with reverts("CashZeroAmount"):
        platform.cash("CNY").as_(p.bank).mint(p.supplier.address, 0, b32("x"))


def test_mint_to_an_unregistered_account_is_refused(platform, p):
    with reverts("CashRecipientNotActive", recipient=p.outsider.address):
        platform.cash("CNY").as_(p.bank).mint(p.outsider.address, 1_00, b32("x"))


def test_mint_to_a_pending_applicant_is_refused(platform, p):
    with reverts("CashRecipientNotActive", recipient=p.core2.address):
        platform.cash("CNY").as_(p.bank).mint(p.core2.address, 1_00, b32("x"))


def test_mint_to_a_suspended_member_is_refused(platform, p):
    platform.members.as_(p.operator).suspend(p.supplier.address, b32("review"))

    with reverts("CashRecipientNotActive", recipient=p.supplier.address):
        platform.cash("CNY").as_(p.bank).mint(p.supplier.address, 1_00, b32("x"))


def test_mint_to_an_evicted_member_is_refused(platform, p):
    platform.members.as_(p.operator).evict(p.supplier.address, b32("fraud"))

    with reverts("CashRecipientNotActive", recipient=p.supplier.address):
        platform.cash("CNY").as_(p.bank).mint(p.supplier.address, 1_00, b32("x"))


def test_mint_to_the_zero_address_is_refused(platform, p):
    with reverts("ERC20InvalidReceiver", receiver=ZERO_ADDRESS):
        platform.cash("CNY").as_(p.bank).mint(ZERO_ADDRESS, 1_00, b32("x"))


# ---- the mint cap the council sets per financier (issue 13)

def headroom(cash, financier: str) -> int:
    cap, outstanding = cash.mint_cap(financier)
    return cap - outstanding


def test_a_financier_without_a_cap_mints_nothing(fresh, p):
    cash = fresh.platform.cash("CNY")
    cash.as_(p.operator).set_mint_cap(p.bank2.address, 0)
    with reverts("CashMintCapExceeded", financier=p.bank2.address, outstanding=0, amount=1, cap=0):
        cash.as_(p.bank2).mint(p.supplier.address, 1, b32("deposit"))


def test_a_financier_mints_up_to_its_cap_and_not_one_unit_more(fresh, p):
    cash = fresh.platform.cash("CNY")
    cash.as_(p.operator).set_mint_cap(p.bank2.address, 1_000_00)
    cash.as_(p.bank2).mint(p.supplier.address, 600_00, b32("deposit 1"))
    cash.as_(p.bank2).mint(p.supplier.address, 400_00, b32("deposit 2"))

    with reverts("CashMintCapExceeded", financier=p.bank2.address, outstanding=1_000_00, amount=1, cap=1_000_00):
        cash.as_(p.bank2).mint(p.supplier.address, 1, b32("deposit 3"))
    assert cash.mint_cap(p.bank2.address) == (1_000_00, 1_000_00)


def test_burning_frees_room_under_the_cap(fresh, p):
    cash = fresh.platform.cash("CNY")
    cash.as_(p.operator).set_mint_cap(p.bank2.address, 1_000_00)
    cash.as_(p.bank2).mint(p.bank2.address, 1_000_00, b32("deposit 1"))
    cash.as_(p.bank2).burn(300_00, b32("withdrawal 1"))

    assert headroom(cash, p.bank2.address) == 300_00
    cash.as_(p.bank2).mint(p.supplier.address, 300_00, b32("deposit 2"))
    assert cash.mint_cap(p.bank2.address) == (1_000_00, 1_000_00)


def test_a_lowered_cap_stops_new_mints_and_burns_nothing(fresh, p):
    cash = fresh.platform.cash("CNY")
    cash.as_(p.operator).set_mint_cap(p.bank2.address, 1_000_00)
    cash.as_(p.bank2).mint(p.supplier.address, 800_00, b32("deposit 1"))
    cash.as_(p.operator).set_mint_cap(p.bank2.address, 500_00)

    with reverts("CashMintCapExceeded", financier=p.bank2.address, outstanding=800_00, amount=1_00, cap=500_00):
        cash.as_(p.bank2).mint(p.supplier.address, 1_00, b32("deposit 2"))
    assert cash.balance(p.supplier.address) == 800_00


def test_setting_a_cap_is_announced(fresh, p):
    cash = fresh.platform.cash("CNY")
    receipt = cash.as_(p.operator).set_mint_cap(p.bank2.address, 123_00)
    assert the_event(cash, receipt, "MintCapSet") == {"financier": p.bank2.address, "cap": 123_00}


def test_only_the_admin_sets_a_cap(fresh, p):
    cash = fresh.platform.cash("CNY")
    with reverts("AccessControlUnauthorizedAccount", account=p.bank2.address, neededRole=DEFAULT_ADMIN_ROLE):
        cash.as_(p.bank2).set_mint_cap(p.bank2.address, 10**12)


def test_a_mint_must_carry_its_deposit_reference(fresh, p):
    with reverts("CashNoDepositRef"):
        fresh.platform.cash("CNY").as_(p.bank).mint(p.supplier.address, 1_00, b"\x00" * 32)
