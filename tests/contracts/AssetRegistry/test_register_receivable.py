"""AssetRegistry.registerReceivable: the seller of an invoiced order registers its claim on the buyer;
the claim is financeable only once the debtor confirms it."""

from __future__ import annotations

from financing_support import b32, the_event
from harness import reverts

from vscm.client.records import AssetKind, AssetStatus, OrderStatus


def test_seller_registers_the_receivable_of_an_invoiced_order(fin):
    p, assets = fin.p, fin.platform.assets
    order_id = fin.order(p.core, p.supplier2, 180_000_00, OrderStatus.INVOICED)

    asset_id = assets.as_(p.supplier2).register_receivable(order_id).id

    a = fin.asset(asset_id)
    assert (a.kind, a.status, a.owner, a.issuer, a.obligor) == (
        AssetKind.RECEIVABLE, AssetStatus.REGISTERED, p.supplier2.address, p.supplier2.address, p.core.address)
    assert (a.order_id, a.value, a.currency, a.locked_by) == (
        order_id, 180_000_00, fin.platform.currency_address("CNY"), 0)
    key = assets.contract.functions.invoiceKey(p.supplier2.address, p.core.address, f"INV-{order_id:06d}".encode().ljust(32, b"\0")).call()
    assert a.business_key == key
    assert assets.contract.functions.assetByKey(key).call() == asset_id
    event = the_event(assets, fin.platform.last_receipt, "AssetRegistered")
    assert (event["assetId"], event["kind"], event["owner"], event["value"]) == (
        asset_id, int(AssetKind.RECEIVABLE), p.supplier2.address, 180_000_00)


def test_receivable_is_worth_what_settlement_will_still_ask(fin):
    p = fin.p
    deal = fin.pledge()  # supplier buys 150,000.00 from supplier2 with loan money
    fin.platform.funds.as_(p.supplier).spend(deal.loan_id, p.supplier2.address, 100_000_00, "advance")
    fin.advance(deal.purpose_order_id, OrderStatus.INVOICED)

    asset_id = fin.platform.assets.as_(p.supplier2).register_receivable(deal.purpose_order_id).id

    assert fin.asset(asset_id).value == 50_000_00


def test_registration_refuses_a_fully_prepaid_order(fin):
    p = fin.p
    deal = fin.pledge()
    fin.platform.funds.as_(p.supplier).spend(deal.loan_id, p.supplier2.address, 150_000_00, "all of it")
    fin.advance(deal.purpose_order_id, OrderStatus.INVOICED)
    with reverts("AssetZeroValue"):
        fin.platform.assets.as_(p.supplier2).register_receivable(deal.purpose_order_id)


def test_registration_refuses_the_buyer(fin):
    order_id = fin.order(fin.p.core, fin.p.supplier2, 1_000_00, OrderStatus.INVOICED)
    with reverts("AssetNotSellerOfOrder", orderId=order_id, caller=fin.p.core.address):
        fin.platform.assets.as_(fin.p.core).register_receivable(order_id)


def test_registration_refuses_an_order_not_yet_invoiced(fin):
    order_id = fin.order(fin.p.core, fin.p.supplier2, 1_000_00, OrderStatus.DELIVERED)
    with reverts("AssetOrderNotInvoiced", orderId=order_id):
        fin.platform.assets.as_(fin.p.supplier2).register_receivable(order_id)


def test_registration_refuses_a_settled_order(fin):
    order_id = fin.order(fin.p.core, fin.p.supplier2, 1_000_00, OrderStatus.SETTLED)
    with reverts("AssetOrderNotInvoiced", orderId=order_id):
        fin.platform.assets.as_(fin.p.supplier2).register_receivable(order_id)


def test_registration_refuses_a_suspended_seller(fin):
    order_id = fin.order(fin.p.core, fin.p.supplier2, 1_000_00, OrderStatus.INVOICED)
    fin.platform.members.as_(fin.p.operator).suspend(fin.p.supplier2.address, b32("review"))
    with reverts("MemberNotActive", member=fin.p.supplier2.address):
        fin.platform.assets.as_(fin.p.supplier2).register_receivable(order_id)


def test_registration_refuses_the_same_invoice_twice(fin):
    asset_id, order_id = fin.receivable(confirm=False)
    key = fin.asset(asset_id).business_key
    with reverts("AssetAlreadyRegistered", businessKey=key, assetId=asset_id):
        fin.platform.assets.as_(fin.p.supplier2).register_receivable(order_id)
