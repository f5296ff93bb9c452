"""ERC-721 transfers of assets: a free asset moves between active members; a pledged one does not move."""

from __future__ import annotations

from financing_support import DAY, Terms
from harness import reverts


def test_free_asset_moves_to_another_active_member(fin):
    lot = fin.receipt(fin.p.supplier)

    fin.platform.assets.as_(fin.p.supplier).transfer(lot, fin.p.supplier2.address)

    assert fin.asset(lot).owner == fin.p.supplier2.address


def test_pledged_asset_cannot_be_transferred(fin):
    deal = fin.pledge(stage="approved")
    with reverts("AssetIsLocked", assetId=deal.asset_id, loanId=deal.loan_id):
        fin.platform.assets.as_(deal.borrower).transfer(deal.asset_id, fin.p.supplier2.address)


def test_asset_cannot_be_transferred_to_an_outsider(fin):
    lot = fin.receipt(fin.p.supplier)
    with reverts("AssetOwnerNotActive", owner=fin.p.outsider.address):
        fin.platform.assets.as_(fin.p.supplier).transfer(lot, fin.p.outsider.address)


def test_suspended_owner_cannot_transfer_its_assets(fin):
    # Bug fixed: transfers checked only the receiver, so a suspended or evicted member could move its
    # receipts and claims to an accomplice.
    lot = fin.receipt(fin.p.supplier)
    fin.platform.members.as_(fin.p.operator).suspend(fin.p.supplier.address, b"\x01" * 32)
    with reverts("AssetOwnerNotActive", owner=fin.p.supplier.address):
        fin.platform.assets.as_(fin.p.supplier).transfer(lot, fin.p.supplier2.address)


def test_collateral_of_an_evicted_borrower_is_still_seized_on_write_off(fin):
    p = fin.p
    # All the principal spent: the guarantee (the principal, committed) pays it, the interest stays owed.
    deal = fin.pledge(terms=Terms(150_000_00, 650, 90 * DAY, 6_000))
    fin.platform.funds.as_(p.supplier).spend(deal.loan_id, p.supplier2.address, 150_000_00, "rubber")
    fin.to_default(deal)
    fin.platform.loans.as_(p.bank).mark_default(deal.loan_id)
    fin.platform.members.as_(p.operator).evict(p.supplier.address, b"\x02" * 32)

    fin.platform.loans.as_(p.bank).write_off(deal.loan_id)

    assert fin.asset(deal.asset_id).owner == p.bank.address
