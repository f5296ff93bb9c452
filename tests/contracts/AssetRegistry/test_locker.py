"""AssetRegistry.lock, releasePledge, unlock and seize: only the LoanBook (LOCKER_ROLE) holds assets,
and only for the loan it locked them to."""

from __future__ import annotations

import pytest
from financing_support import LOCKER_ROLE, call_as
from harness import reverts

from vscm.client.records import AssetStatus


@pytest.fixture
def locker(wfin):
    """The test-wired world, where the operator is a locker, to drive the registry's rules directly."""
    return wfin


def lock(fin, asset_id, loan_id, by=None):
    return call_as(fin.w, by or fin.p.operator, fin.platform.assets, "lock", asset_id, loan_id)


@pytest.mark.parametrize("fn,args", [
    ("lock", (1, 1)), ("releasePledge", (1, 1, 1)), ("unlock", (1, 1, False)), ("seize", (1, 1, None)),
])
@pytest.mark.parametrize("who", ["operator", "bank", "supplier"])
def test_locker_functions_refuse_everyone_but_the_loanbook(fin, fn, args, who):
    deal = fin.pledge(stage="approved")
    account = getattr(fin.p, who)
    args = tuple(account.address if a is None else a for a in args)
    args = (deal.asset_id, deal.loan_id) + args[2:]
    with reverts("AccessControlUnauthorizedAccount", account=account.address, neededRole=LOCKER_ROLE):
        call_as(fin.w, account, fin.platform.assets, fn, *args)


def test_lock_pledges_every_good_of_a_receipt(locker):
    lot = locker.receipt(locker.p.supplier, quantity=40)

    lock(locker, lot, 7)

    assert (locker.asset(lot).locked_by, locker.asset(lot).pledged_quantity) == (7, 40)


def test_lock_refuses_an_asset_locked_to_another_loan(locker):
    lot = locker.receipt(locker.p.supplier)
    lock(locker, lot, 7)
    with reverts("AssetIsLocked", assetId=lot, loanId=7):
        lock(locker, lot, 8)


def test_lock_refuses_an_unconfirmed_receivable(locker):
    asset_id, _ = locker.receivable(confirm=False)
    with reverts("AssetWrongStatus", assetId=asset_id, status=int(AssetStatus.REGISTERED)):
        lock(locker, asset_id, 7)


def test_lock_refuses_an_unknown_asset(locker):
    with reverts("AssetNotFound", assetId=99):
        lock(locker, 99, 7)


def test_release_refuses_more_goods_than_are_pledged(locker):
    lot = locker.receipt(locker.p.supplier, quantity=40)
    lock(locker, lot, 7)
    with reverts("AssetQuantityTooLarge", assetId=lot, requested=41, available=40):
        call_as(locker.w, locker.p.operator, locker.platform.assets, "releasePledge", lot, 7, 41)


def test_release_refuses_another_loan_than_the_one_holding_the_asset(locker):
    lot = locker.receipt(locker.p.supplier)
    lock(locker, lot, 7)
    with reverts("AssetNotLockedBy", assetId=lot, loanId=8):
        call_as(locker.w, locker.p.operator, locker.platform.assets, "releasePledge", lot, 8, 1)


def test_unlock_refuses_another_loan_than_the_one_holding_the_asset(locker):
    lot = locker.receipt(locker.p.supplier)
    lock(locker, lot, 7)
    with reverts("AssetNotLockedBy", assetId=lot, loanId=8):
        call_as(locker.w, locker.p.operator, locker.platform.assets, "unlock", lot, 8, False)


def test_unlock_refuses_a_free_asset_even_for_loan_zero(locker):
    lot = locker.receipt(locker.p.supplier)
    with reverts("AssetNotLockedBy", assetId=lot, loanId=0):
        call_as(locker.w, locker.p.operator, locker.platform.assets, "unlock", lot, 0, False)


def test_seize_refuses_another_loan_than_the_one_holding_the_asset(locker):
    lot = locker.receipt(locker.p.supplier)
    lock(locker, lot, 7)
    with reverts("AssetNotLockedBy", assetId=lot, loanId=8):
        call_as(locker.w, locker.p.operator, locker.platform.assets, "seize", lot, 8, locker.p.bank.address)


def test_seize_refuses_a_receiver_that_is_not_an_active_member(locker):
    lot = locker.receipt(locker.p.supplier)
    lock(locker, lot, 7)
    with reverts("AssetOwnerNotActive", owner=locker.p.outsider.address):
        call_as(locker.w, locker.p.operator, locker.platform.assets, "seize", lot, 7, locker.p.outsider.address)
