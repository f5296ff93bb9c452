"""AssetRegistry.registerFutureGoods: the buyer of an accepted order registers its right to the goods."""

from __future__ import annotations

from financing_support import b32
from harness import reverts

from vscm.client.records import AssetKind, AssetStatus, OrderStatus


def test_buyer_registers_its_right_to_the_goods_of_an_accepted_order(fin):
    p, assets = fin.p, fin.platform.assets
    order_id = fin.order(p.seller, p.core, 250_000_00, OrderStatus.ACCEPTED)

    asset_id = assets.as_(p.seller).register_future_goods(order_id).id

    a = fin.asset(asset_id)
    assert (a.kind, a.status, a.owner, a.issuer, a.obligor, a.value, a.order_id) == (
        AssetKind.FUTURE_GOODS, AssetStatus.CONFIRMED, p.seller.address, p.seller.address, p.core.address,
        250_000_00, order_id)
    assert a.business_key == assets.contract.functions.futureGoodsKey(order_id).call()


def test_registration_refuses_the_seller(fin):
    order_id = fin.order(fin.p.seller, fin.p.core, 1_000_00, OrderStatus.ACCEPTED)
    with reverts("AssetNotBuyerOfOrder", orderId=order_id, caller=fin.p.core.address):
        fin.platform.assets.as_(fin.p.core).register_future_goods(order_id)


def test_registration_refuses_an_order_the_seller_has_not_accepted(fin):
    order_id = fin.order(fin.p.seller, fin.p.core, 1_000_00, OrderStatus.PLACED)
    with reverts("AssetOrderNotAccepted", orderId=order_id):
        fin.platform.assets.as_(fin.p.seller).register_future_goods(order_id)


def test_registration_refuses_an_order_already_shipped(fin):
    order_id = fin.order(fin.p.seller, fin.p.core, 1_000_00, OrderStatus.SHIPPED)
    with reverts("AssetOrderNotAccepted", orderId=order_id):
        fin.platform.assets.as_(fin.p.seller).register_future_goods(order_id)


def test_registration_refuses_a_suspended_buyer(fin):
    order_id = fin.order(fin.p.seller, fin.p.core, 1_000_00, OrderStatus.ACCEPTED)
    fin.platform.members.as_(fin.p.operator).suspend(fin.p.seller.address, b32("review"))
    with reverts("MemberNotActive", member=fin.p.seller.address):
        fin.platform.assets.as_(fin.p.seller).register_future_goods(order_id)


def test_registration_refuses_the_same_order_twice(fin):
    asset_id, order_id = fin.future_goods()
    with reverts("AssetAlreadyRegistered", assetId=asset_id):
        fin.platform.assets.as_(fin.p.seller).register_future_goods(order_id)
