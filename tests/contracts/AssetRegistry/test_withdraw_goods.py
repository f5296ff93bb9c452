"""AssetRegistry.withdrawGoods: the warehouse records goods leaving the store; pledged goods stay."""

from __future__ import annotations

from financing_support import DAY, Terms, b32, the_event
from harness import reverts

from vscm.client.records import AssetStatus


def test_warehouse_records_free_goods_leaving_and_the_receipt_shrinks(fin):
    lot = fin.receipt(fin.p.supplier, quantity=500, value=400_000_00)

    receipt = fin.platform.assets.as_(fin.p.warehouse).withdraw_goods(lot, 200)

    a = fin.asset(lot)
    assert a.quantity == 300
    assert the_event(fin.platform.assets, receipt, "GoodsWithdrawn") == {
        "assetId": lot, "quantity": 200, "remaining": 300, "value": 240_000_00}


def test_withdrawn_goods_take_their_share_of_the_appraised_value_with_them(fin):
    # Bug fixed: the receipt kept its full value after its goods left, so 1 t could back a loan sized for 500 t.
    lot = fin.receipt(fin.p.supplier, quantity=500, value=400_000_00)

    fin.platform.assets.as_(fin.p.warehouse).withdraw_goods(lot, 499)

    assert fin.asset(lot).value == 800_00
    with reverts("LoanLtvExceeded", principal=200_000_00, limit=480_00):
        fin.pledge(asset_id=lot, stage="approved")


def test_withdrawing_every_good_leaves_a_receipt_worth_nothing(fin):
    lot = fin.receipt(fin.p.supplier, quantity=3, value=100_00)

    fin.platform.assets.as_(fin.p.warehouse).withdraw_goods(lot, 3)

    assert (fin.asset(lot).quantity, fin.asset(lot).value) == (0, 0)


def test_withdrawal_refuses_pledged_goods(fin):
    deal = fin.pledge(quantity=500)
    with reverts("AssetQuantityTooLarge", assetId=deal.asset_id, requested=1, available=0):
        fin.platform.assets.as_(fin.p.warehouse).withdraw_goods(deal.asset_id, 1)


def test_withdrawal_refuses_more_than_the_goods_released_from_a_pledge(fin):
    deal = fin.pledge(terms=Terms(200_000_00, 0, 90 * DAY, 6_000), quantity=500)
    fin.repay(deal, 100_000_00)
    with reverts("AssetQuantityTooLarge", assetId=deal.asset_id, requested=251, available=250):
        fin.platform.assets.as_(fin.p.warehouse).withdraw_goods(deal.asset_id, 251)


def test_withdrawal_refuses_anyone_but_the_warehouse_holding_the_goods(fin):
    lot = fin.receipt(fin.p.supplier)
    with reverts("AssetNotWarehouse", caller=fin.p.supplier.address):
        fin.platform.assets.as_(fin.p.supplier).withdraw_goods(lot, 1)


def test_withdrawal_refuses_an_asset_that_is_not_a_receipt(fin):
    asset_id, _ = fin.future_goods()
    with reverts("AssetNotWarehouse", caller=fin.p.warehouse.address):
        fin.platform.assets.as_(fin.p.warehouse).withdraw_goods(asset_id, 1)


def test_withdrawal_refuses_zero_goods(fin):
    lot = fin.receipt(fin.p.supplier)
    with reverts("AssetZeroQuantity"):
        fin.platform.assets.as_(fin.p.warehouse).withdraw_goods(lot, 0)


def test_withdrawal_refuses_a_retired_receipt(fin):
    lot = fin.receipt(fin.p.supplier)
    fin.platform.assets.as_(fin.p.supplier).retire(lot)
    with reverts("AssetWrongStatus", assetId=lot, status=int(AssetStatus.RETIRED)):
        fin.platform.assets.as_(fin.p.warehouse).withdraw_goods(lot, 1)


def test_withdrawal_refuses_an_unknown_asset(fin):
    with reverts("AssetNotFound", assetId=404):
        fin.platform.assets.as_(fin.p.warehouse).withdraw_goods(404, 1)


def test_suspended_warehouse_cannot_release_goods(fin):
    lot = fin.receipt(fin.p.supplier)
    fin.platform.members.as_(fin.p.operator).suspend(fin.p.warehouse.address, b32("review"))
    with reverts("MemberNotActive", member=fin.p.warehouse.address):
        fin.platform.assets.as_(fin.p.warehouse).withdraw_goods(lot, 1)
