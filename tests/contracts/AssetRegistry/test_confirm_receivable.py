"""AssetRegistry.confirmReceivable: the debtor confirms a receivable on itself."""

from __future__ import annotations

from financing_support import the_event
from harness import reverts

from vscm.client.records import AssetStatus


def test_debtor_confirms_the_receivable(fin):
    asset_id, _ = fin.receivable(confirm=False)

    receipt = fin.platform.assets.as_(fin.p.core).confirm_receivable(asset_id)

    assert fin.asset(asset_id).status == AssetStatus.CONFIRMED
    assert the_event(fin.platform.assets, receipt, "AssetConfirmed") == {"assetId": asset_id, "by": fin.p.core.address}


def test_confirmation_refuses_the_creditor(fin):
    asset_id, _ = fin.receivable(confirm=False)
    with reverts("AssetNotDebtor", assetId=asset_id, caller=fin.p.supplier2.address):
        fin.platform.assets.as_(fin.p.supplier2).confirm_receivable(asset_id)


def test_confirmation_refuses_an_asset_that_is_not_a_receivable(fin):
    asset_id, _ = fin.payable()
    with reverts("AssetNotDebtor", assetId=asset_id, caller=fin.p.core.address):
        fin.platform.assets.as_(fin.p.core).confirm_receivable(asset_id)


def test_confirmation_refuses_a_receivable_confirmed_already(fin):
    asset_id, _ = fin.receivable()
    with reverts("AssetWrongStatus", assetId=asset_id, status=int(AssetStatus.CONFIRMED)):
        fin.platform.assets.as_(fin.p.core).confirm_receivable(asset_id)


def test_confirmation_refuses_an_unknown_asset(fin):
    with reverts("AssetNotFound", assetId=77):
        fin.platform.assets.as_(fin.p.core).confirm_receivable(77)


def test_confirmation_refuses_a_suspended_debtor(fin):
    # Bug fixed: a suspended debtor could still confirm claims on itself (a state change).
    asset_id, _ = fin.receivable(confirm=False)
    fin.platform.members.as_(fin.p.operator).suspend(fin.p.core.address, b"\x01" * 32)
    with reverts("MemberNotActive", member=fin.p.core.address):
        fin.platform.assets.as_(fin.p.core).confirm_receivable(asset_id)
