"""Prepayment: the warehouse receipt for the goods of an order whose future-goods right backs a loan is
born locked to that loan, follows the right when the loan ends or is written off, and is the only
receipt those goods get while the loan runs (F-05)."""

from __future__ import annotations

from financing_support import DAY, Terms, the_event
from harness import reverts

from vscm.client.records import LoanStatus, OrderStatus

ZERO_RATE = Terms(200_000_00, 0, 30 * DAY, 8_000)
SMALL = Terms(10_000_00, 500, 30 * DAY, 5_000)


def test_receipt_for_financed_goods_is_born_locked_to_the_loan_with_all_its_goods(fin):
    deal = fin.prepayment_loan()

    receipt_id = fin.deliver_receipt(deal, quantity=50)

    goods = fin.asset(receipt_id)
    assert (goods.owner, goods.locked_by, goods.pledged_quantity) == (deal.borrower.address, deal.loan_id, 50)
    assert the_event(fin.platform.assets, fin.platform.last_receipt, "AssetLocked") == {
        "assetId": receipt_id, "loanId": deal.loan_id, "pledgedQuantity": 50}


def test_borrower_cannot_transfer_the_receipt_of_financed_goods(fin):
    # Bug fixed (F-05): the receipt was the borrower's, unlocked, until the lender converted.
    deal = fin.prepayment_loan()
    receipt_id = fin.deliver_receipt(deal)
    with reverts("AssetIsLocked", assetId=receipt_id, loanId=deal.loan_id):
        fin.platform.assets.as_(deal.borrower).transfer(receipt_id, fin.p.supplier.address)


def test_borrower_cannot_retire_the_receipt_of_financed_goods(fin):
    deal = fin.prepayment_loan()
    receipt_id = fin.deliver_receipt(deal)
    with reverts("AssetIsLocked", assetId=receipt_id, loanId=deal.loan_id):
        fin.platform.assets.as_(deal.borrower).retire(receipt_id)


def test_warehouse_cannot_release_financed_goods_before_conversion(fin):
    deal = fin.prepayment_loan()
    receipt_id = fin.deliver_receipt(deal, quantity=50)
    with reverts("AssetQuantityTooLarge", assetId=receipt_id, requested=1, available=0):
        fin.platform.assets.as_(fin.p.warehouse).withdraw_goods(receipt_id, 1)


def test_receipt_of_financed_goods_cannot_be_pledged_to_a_second_lender(fin):
    p = fin.p
    deal = fin.prepayment_loan()
    receipt_id = fin.deliver_receipt(deal)
    with reverts("LoanAssetLocked", assetId=receipt_id, loanId=deal.loan_id):
        fin.pledge(borrower=p.seller, asset_id=receipt_id, lender=p.bank2, stage="applied", terms=SMALL,
                   purpose_order_id=fin.order(p.seller, p.core, 1_000_00))


def test_financed_goods_get_only_one_receipt_while_the_loan_runs(fin):
    deal = fin.prepayment_loan()
    first = fin.deliver_receipt(deal)
    with reverts("AssetGoodsAlreadyReceipted", orderId=deal.asset_order_id, receiptId=first):
        fin.receipt(deal.borrower, order_id=deal.asset_order_id)


def test_conversion_moves_the_collateral_to_the_born_locked_receipt(fin):
    deal = fin.prepayment_loan()
    receipt_id = fin.deliver_receipt(deal, quantity=50)

    fin.platform.loans.as_(fin.p.bank).convert_collateral(deal.loan_id, receipt_id)

    goods = fin.asset(receipt_id)
    assert (fin.state(deal.loan_id).asset_id, goods.locked_by, goods.pledged_quantity) == (
        receipt_id, deal.loan_id, 50)


def test_receipt_is_freed_with_the_right_when_the_loan_is_repaid_before_conversion(fin):
    deal = fin.prepayment_loan(terms=ZERO_RATE)
    receipt_id = fin.deliver_receipt(deal)

    fin.repay(deal, ZERO_RATE.principal)

    goods = fin.asset(receipt_id)
    assert fin.state(deal.loan_id).status == LoanStatus.REPAID
    assert (goods.locked_by, goods.pledged_quantity, goods.owner) == (0, 0, deal.borrower.address)


def test_write_off_before_conversion_hands_the_receipt_to_the_lender(fin):
    # Bug fixed (F-05): the lender got only the right to goods already received under a free receipt.
    p = fin.p
    deal = fin.prepayment_loan(terms=ZERO_RATE)
    receipt_id = fin.deliver_receipt(deal)
    fin.to_default(deal)
    fin.platform.cash("CNY").as_(p.core).approve(fin.platform.loans.address, 0)
    fin.platform.loans.as_(p.bank).mark_default(deal.loan_id)

    fin.platform.loans.as_(p.bank).write_off(deal.loan_id)

    goods, right = fin.asset(receipt_id), fin.asset(deal.asset_id)
    assert fin.state(deal.loan_id).status == LoanStatus.WRITTEN_OFF
    assert (right.owner, goods.owner, goods.locked_by) == (p.bank.address, p.bank.address, 0)


def test_a_receipt_after_the_loan_ended_is_issued_free(fin):
    deal = fin.prepayment_loan(terms=ZERO_RATE)
    fin.repay(deal, ZERO_RATE.principal)
    fin.advance(deal.asset_order_id, OrderStatus.DELIVERED)

    receipt_id = fin.receipt(deal.borrower, order_id=deal.asset_order_id)

    assert fin.asset(receipt_id).locked_by == 0
