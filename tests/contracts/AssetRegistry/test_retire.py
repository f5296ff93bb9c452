"""AssetRegistry.retire: the owner withdraws a free asset from financing for good; its key stays used."""

from __future__ import annotations

from financing_support import the_event
from harness import reverts

from vscm.client.records import AssetStatus, LoanMode


def test_owner_retires_a_free_asset(fin):
    lot = fin.receipt(fin.p.supplier)

    receipt = fin.platform.assets.as_(fin.p.supplier).retire(lot)

    assert fin.asset(lot).status == AssetStatus.RETIRED
    assert the_event(fin.platform.assets, receipt, "AssetRetired") == {"assetId": lot, "by": fin.p.supplier.address}


def test_retired_asset_cannot_be_financed(fin):
    lot = fin.receipt(fin.p.supplier)
    fin.platform.assets.as_(fin.p.supplier).retire(lot)
    with reverts("LoanAssetNotConfirmed", assetId=lot, status=int(AssetStatus.RETIRED)):
        fin.pledge(asset_id=lot, stage="applied")


def test_retired_invoice_cannot_be_registered_again(fin):
    asset_id, order_id = fin.receivable(confirm=False)
    fin.platform.assets.as_(fin.p.supplier2).retire(asset_id)
    with reverts("AssetAlreadyRegistered", assetId=asset_id):
        fin.platform.assets.as_(fin.p.supplier2).register_receivable(order_id)


def test_retirement_refuses_anyone_but_the_owner(fin):
    lot = fin.receipt(fin.p.supplier)
    with reverts("AssetNotOwner", assetId=lot, caller=fin.p.warehouse.address):
        fin.platform.assets.as_(fin.p.warehouse).retire(lot)


def test_retirement_refuses_a_pledged_asset(fin):
    deal = fin.pledge(stage="approved")
    with reverts("AssetIsLocked", assetId=deal.asset_id, loanId=deal.loan_id):
        fin.platform.assets.as_(deal.borrower).retire(deal.asset_id)


def test_retirement_refuses_an_asset_retired_already(fin):
    lot = fin.receipt(fin.p.supplier)
    fin.platform.assets.as_(fin.p.supplier).retire(lot)
    with reverts("AssetWrongStatus", assetId=lot, status=int(AssetStatus.RETIRED)):
        fin.platform.assets.as_(fin.p.supplier).retire(lot)


def test_retirement_refuses_an_unknown_asset(fin):
    with reverts("AssetNotFound", assetId=12):
        fin.platform.assets.as_(fin.p.supplier).retire(12)


def test_rejected_application_leaves_the_asset_retirable(fin):
    deal = fin.loan(LoanMode.PLEDGE, stage="applied")
    fin.platform.loans.as_(fin.p.bank).reject(deal.loan_id, b"\x00" * 32)

    fin.platform.assets.as_(deal.borrower).retire(deal.asset_id)

    assert fin.asset(deal.asset_id).status == AssetStatus.RETIRED


def test_retirement_refuses_a_suspended_owner(fin):
    lot = fin.receipt(fin.p.supplier)
    fin.platform.members.as_(fin.p.operator).suspend(fin.p.supplier.address, b"\x01" * 32)
    with reverts("MemberNotActive", member=fin.p.supplier.address):
        fin.platform.assets.as_(fin.p.supplier).retire(lot)
