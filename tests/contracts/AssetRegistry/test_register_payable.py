"""AssetRegistry.registerPayable: a core enterprise confirms its own payable of an invoiced order; the
supplier owns it."""

from __future__ import annotations

from financing_support import b32, emitted
from harness import reverts

from vscm.client.records import AssetKind, AssetStatus, OrderStatus


def test_core_registers_its_payable_owned_by_the_supplier_and_confirmed(fin):
    p, assets = fin.p, fin.platform.assets
    order_id = fin.order(p.core, p.supplier, 90_000_00, OrderStatus.INVOICED)

    asset_id = assets.as_(p.core).register_payable(order_id).id

    a = fin.asset(asset_id)
    assert (a.kind, a.status, a.owner, a.issuer, a.obligor, a.value) == (
        AssetKind.PAYABLE, AssetStatus.CONFIRMED, p.supplier.address, p.core.address, p.core.address, 90_000_00)
    assert emitted(assets, fin.platform.last_receipt, "AssetConfirmed") == [
        {"assetId": asset_id, "by": p.core.address}]


def test_registration_refuses_the_seller(fin):
    order_id = fin.order(fin.p.core, fin.p.supplier, 1_000_00, OrderStatus.INVOICED)
    with reverts("AssetNotBuyerOfOrder", orderId=order_id, caller=fin.p.supplier.address):
        fin.platform.assets.as_(fin.p.supplier).register_payable(order_id)


def test_registration_refuses_an_sme_buyer(fin):
    order_id = fin.order(fin.p.supplier, fin.p.supplier2, 1_000_00, OrderStatus.INVOICED)
    with reverts("AssetNotCoreDebtor", caller=fin.p.supplier.address):
        fin.platform.assets.as_(fin.p.supplier).register_payable(order_id)


def test_registration_refuses_an_order_not_yet_invoiced(fin):
    order_id = fin.order(fin.p.core, fin.p.supplier, 1_000_00, OrderStatus.DELIVERED)
    with reverts("AssetOrderNotInvoiced", orderId=order_id):
        fin.platform.assets.as_(fin.p.core).register_payable(order_id)


def test_registration_refuses_a_suspended_core(fin):
    order_id = fin.order(fin.p.core, fin.p.supplier, 1_000_00, OrderStatus.INVOICED)
    fin.platform.members.as_(fin.p.operator).suspend(fin.p.core.address, b32("review"))
    with reverts("MemberNotActive", member=fin.p.core.address):
        fin.platform.assets.as_(fin.p.core).register_payable(order_id)


def test_registration_refuses_a_payable_to_a_supplier_no_longer_active(fin):
    order_id = fin.order(fin.p.core, fin.p.supplier, 1_000_00, OrderStatus.INVOICED)
    fin.platform.members.as_(fin.p.operator).suspend(fin.p.supplier.address, b32("review"))
    with reverts("AssetOwnerNotActive", owner=fin.p.supplier.address):
        fin.platform.assets.as_(fin.p.core).register_payable(order_id)
