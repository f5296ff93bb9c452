"""No double financing: one asset, one active pledge, across all four modes."""

from __future__ import annotations

from financing_support import DAY, DEFAULT_TERMS, Terms, b32
from harness import reverts

SMALL = Terms(100_000_00, 650, 90 * DAY, 6_000)

from vscm.client.records import LoanMode, LoanStatus, OrderStatus


def test_asset_applied_for_with_two_lenders_is_locked_by_the_first_approval_only(fin):
    p = fin.p
    first = fin.pledge(stage="applied", lender=p.bank)
    second = fin.pledge(stage="applied", lender=p.bank2, asset_id=first.asset_id)
    fin.platform.loans.as_(p.bank).approve(first.loan_id, 6_000, p.warehouse.address)
    with reverts("LoanAssetLocked", assetId=first.asset_id, loanId=first.loan_id):
        fin.platform.loans.as_(p.bank2).approve(second.loan_id, 6_000, p.warehouse.address)
    assert fin.state(second.loan_id).status == LoanStatus.APPLIED


def test_pledged_asset_cannot_back_a_new_application(fin):
    deal = fin.pledge()
    with reverts("LoanAssetLocked", assetId=deal.asset_id, loanId=deal.loan_id):
        fin.pledge(asset_id=deal.asset_id, lender=fin.p.bank2, stage="applied")


def test_asset_is_free_for_a_new_loan_once_the_first_is_repaid(fin):
    deal = fin.pledge()
    fin.repay(deal, 10**12)

    again = fin.pledge(asset_id=deal.asset_id, lender=fin.p.bank2)

    assert fin.asset(deal.asset_id).locked_by == again.loan_id


def test_invoice_registered_as_a_receivable_cannot_be_registered_as_a_payable(fin):
    p = fin.p
    asset_id, order_id = fin.receivable(creditor=p.supplier, debtor=p.core, amount=90_000_00)
    key = fin.asset(asset_id).business_key
    with reverts("AssetAlreadyRegistered", businessKey=key, assetId=asset_id):
        fin.platform.assets.as_(p.core).register_payable(order_id)


def test_invoice_registered_as_a_payable_cannot_be_registered_as_a_receivable(fin):
    p = fin.p
    asset_id, order_id = fin.payable()
    with reverts("AssetAlreadyRegistered", assetId=asset_id):
        fin.platform.assets.as_(p.supplier).register_receivable(order_id)


def test_same_invoice_number_on_another_order_of_the_same_debtor_is_the_same_invoice(fin):
    p, orders = fin.p, fin.platform.orders
    asset_id, order_id = fin.receivable(creditor=p.supplier2, debtor=p.core)
    copy = fin.order(p.core, p.supplier2, 180_000_00, OrderStatus.DELIVERED)
    orders.as_(p.supplier2).invoice(copy, f"INV-{order_id:06d}", b32("a second copy"))
    with reverts("AssetAlreadyRegistered", assetId=asset_id):
        fin.platform.assets.as_(p.supplier2).register_receivable(copy)


def test_another_supplier_cannot_squat_a_victims_invoice_number(fin):
    # Bug fixed: an invoice was keyed by (debtor, number), so another supplier of the same debtor could
    # register the victim's invoice number first and block the victim's receivable.
    p, orders = fin.p, fin.platform.orders
    squat = fin.order(p.core, p.supplier, 1_000_00, OrderStatus.DELIVERED)
    orders.as_(p.supplier).invoice(squat, "INV-2026-0042", b32("squatted"))
    squatted = int(fin.platform.assets.as_(p.supplier).register_receivable(squat).id)
    victim = fin.order(p.core, p.supplier2, 180_000_00, OrderStatus.DELIVERED)
    orders.as_(p.supplier2).invoice(victim, "INV-2026-0042", b32("the real invoice"))

    asset_id = int(fin.platform.assets.as_(p.supplier2).register_receivable(victim).id)

    assert asset_id != squatted
    assert fin.asset(asset_id).owner == p.supplier2.address


def test_invoice_financed_as_a_receivable_cannot_be_financed_again_as_a_payable(fin):
    p = fin.p
    deal = fin.receivable_loan()
    with reverts("AssetAlreadyRegistered", assetId=deal.asset_id):
        fin.platform.assets.as_(p.core).register_payable(deal.asset_order_id)


def test_receipt_of_prepaid_goods_cannot_be_pledged_to_another_lender(fin):
    # Bug fixed: while a prepayment loan held the future-goods right, the warehouse receipt of the same
    # goods could be pledged to a second lender; the first could then never take the goods. The receipt
    # is now born locked to the prepayment loan (F-05).
    p = fin.p
    prepay = fin.prepayment_loan()
    receipt_id = fin.deliver_receipt(prepay)
    with reverts("LoanAssetLocked", assetId=receipt_id, loanId=prepay.loan_id):
        fin.pledge(borrower=p.seller, asset_id=receipt_id, lender=p.bank2, stage="approved", terms=SMALL,
                   purpose_order_id=fin.order(p.seller, p.core, 1_000_00))


def test_right_to_goods_already_shipped_cannot_be_pledged(fin):
    # Bug fixed: a future-goods right could be financed after the goods had shipped, when their
    # warehouse receipt may already back another loan.
    p = fin.p
    right, order_id = fin.future_goods()
    fin.advance(order_id, OrderStatus.DELIVERED)
    receipt_id = fin.receipt(p.seller, order_id=order_id, quantity=50, value=250_000_00)
    fin.pledge(borrower=p.seller, asset_id=receipt_id, purpose_order_id=fin.order(p.seller, p.core, 1_000_00),
               terms=SMALL)
    loan_id = fin.apply(LoanMode.PREPAYMENT, right, p.seller, DEFAULT_TERMS[LoanMode.PREPAYMENT], 0, p.bank2)
    with reverts("AssetOrderNotAccepted", orderId=order_id):
        fin.platform.loans.as_(p.bank2).approve(loan_id, 8_000)
