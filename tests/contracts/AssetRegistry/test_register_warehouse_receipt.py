"""AssetRegistry.registerWarehouseReceipt: a warehouse issues a receipt for a lot it holds for an owner."""

from __future__ import annotations

from financing_support import b32, the_event
from harness import reverts

from vscm.client.platform import text32
from vscm.client.records import AssetKind, AssetStatus, OrderStatus, Role
from vscm.client.workflows import onboard_sme

ZERO = "0x" + "00" * 20


def register(fin, by=None, owner=None, lot="LOT-A", order_id=0, quantity=500, currency=None, value=400_000_00):
    p = fin.p
    currency = currency or fin.platform.currency_address("CNY")
    return fin.platform.assets.as_(by or p.warehouse).register_receipt(
        (owner or p.supplier).address, lot, quantity, "t", currency, value, b32("coil"), order_id=order_id).id


def test_warehouse_issues_a_confirmed_receipt_with_the_goods_details(fin):
    p, assets = fin.p, fin.platform.assets

    asset_id = register(fin)

    a = fin.asset(asset_id)
    assert (a.kind, a.status, a.owner, a.issuer, a.obligor) == (
        AssetKind.WAREHOUSE_RECEIPT, AssetStatus.CONFIRMED, p.supplier.address, p.warehouse.address,
        p.warehouse.address)
    assert (a.quantity, a.pledged_quantity, a.unit, a.value, a.description_hash, a.order_id) == (
        500, 0, "t", 400_000_00, b32("coil"), 0)
    assert a.business_key == assets.contract.functions.lotKey(p.warehouse.address, text32("LOT-A")).call()
    assert the_event(assets, fin.platform.last_receipt, "ReceiptDetails") == {
        "assetId": asset_id, "quantity": 500, "unit": text32("t"), "descriptionHash": b32("coil")}


def test_warehouse_issues_a_receipt_for_the_delivered_goods_of_an_order_to_its_buyer(fin):
    p = fin.p
    order_id = fin.order(p.seller, p.core, 1_000_00, OrderStatus.DELIVERED)

    asset_id = register(fin, owner=p.seller, order_id=order_id)

    assert fin.asset(asset_id).order_id == order_id


def test_two_warehouses_may_use_the_same_lot_number(fin):
    p = fin.p
    onboard_sme(fin.platform, p.operator, p.applicant, [Role.WAREHOUSE], "Second Warehouse")
    first = register(fin)

    second = register(fin, by=p.applicant)

    assert second == first + 1


def test_registration_refuses_a_member_that_is_not_a_warehouse(fin):
    with reverts("AssetNotWarehouse", caller=fin.p.carrier.address):
        register(fin, by=fin.p.carrier)


def test_registration_refuses_an_empty_lot_number(fin):
    with reverts("AssetEmptyKey"):
        register(fin, lot="")


def test_registration_refuses_zero_goods(fin):
    with reverts("AssetZeroQuantity"):
        register(fin, quantity=0)


def test_registration_refuses_a_zero_value(fin):
    with reverts("AssetZeroValue"):
        register(fin, value=0)


def test_registration_refuses_a_value_beyond_the_96_bits_it_is_stored_in(fin):
    with reverts("AssetOutOfRange", value=2**96, max=2**96 - 1):
        register(fin, value=2**96)


def test_registration_refuses_goods_beyond_the_128_bits_they_are_stored_in(fin):
    with reverts("AssetOutOfRange", value=2**128, max=2**128 - 1):
        register(fin, quantity=2**128)


def test_the_largest_stored_value_and_quantity_are_kept_exactly(fin):
    asset_id = register(fin, quantity=2**128 - 1, value=2**96 - 1)

    a = fin.asset(asset_id)
    assert (a.quantity, a.value) == (2**128 - 1, 2**96 - 1)


def test_registration_refuses_a_currency_the_platform_does_not_settle_in(fin):
    with reverts("AssetUnknownCurrency", currency=fin.platform.orders.address):
        register(fin, currency=fin.platform.orders.address)


def test_registration_refuses_an_order_not_bound_for_this_warehouse(fin):
    order_id = fin.order(fin.p.seller, fin.p.core, 1_000_00, OrderStatus.ACCEPTED)  # not shipped: no warehouse
    with reverts("AssetNotWarehouse", caller=fin.p.warehouse.address):
        register(fin, owner=fin.p.seller, order_id=order_id)


def test_registration_refuses_goods_of_an_order_for_someone_else_than_its_buyer(fin):
    order_id = fin.order(fin.p.seller, fin.p.core, 1_000_00, OrderStatus.DELIVERED)
    with reverts("AssetNotBuyerOfOrder", orderId=order_id, caller=fin.p.supplier.address):
        register(fin, owner=fin.p.supplier, order_id=order_id)


def test_registration_refuses_an_owner_that_is_not_an_active_member(fin):
    with reverts("AssetOwnerNotActive", owner=fin.p.outsider.address):
        register(fin, owner=fin.p.outsider)


def test_registration_refuses_a_lot_registered_already(fin):
    first = register(fin)
    with reverts("AssetAlreadyRegistered", assetId=first):
        register(fin, owner=fin.p.supplier2)
