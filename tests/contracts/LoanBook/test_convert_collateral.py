"""LoanBook.convertCollateral: in a prepayment, the lender swaps the future-goods right for the warehouse
receipt of the delivered goods, which the warehouse then holds for it."""

from __future__ import annotations

from financing_support import DAY, Terms, the_event
from harness import reverts

from vscm.client.records import AssetStatus, LoanMode, LoanStatus, OrderStatus

ZERO_RATE = Terms(200_000_00, 0, 60 * DAY, 8_000)


def test_conversion_retires_the_right_and_locks_the_receipt_with_all_its_goods(fin):
    p = fin.p
    deal = fin.prepayment_loan()
    receipt_id = fin.deliver_receipt(deal, quantity=50)

    receipt = fin.platform.loans.as_(p.bank).convert_collateral(deal.loan_id, receipt_id)

    loan, right, goods = fin.state(deal.loan_id), fin.asset(deal.asset_id), fin.asset(receipt_id)
    assert (loan.asset_id, loan.collateral_quantity, loan.supervisor) == (receipt_id, 50, p.warehouse.address)
    assert (right.status, right.locked_by) == (AssetStatus.RETIRED, 0)
    assert (goods.locked_by, goods.pledged_quantity) == (deal.loan_id, 50)
    assert the_event(fin.platform.loans, receipt, "CollateralConverted") == {
        "loanId": deal.loan_id, "fromAssetId": deal.asset_id, "toAssetId": receipt_id, "quantity": 50}


def test_conversion_releases_at_once_the_goods_already_paid_for(fin):
    deal = fin.prepayment_loan(terms=ZERO_RATE)
    fin.repay(deal, 80_000_00)  # 40 % of the principal
    receipt_id = fin.deliver_receipt(deal, quantity=50)

    fin.platform.loans.as_(fin.p.bank).convert_collateral(deal.loan_id, receipt_id)

    assert fin.asset(receipt_id).pledged_quantity == 30


def test_converted_goods_are_released_in_step_with_later_repayments(fin):
    deal = fin.prepayment_loan(terms=ZERO_RATE)
    receipt_id = fin.deliver_receipt(deal, quantity=50)
    fin.platform.loans.as_(fin.p.bank).convert_collateral(deal.loan_id, receipt_id)

    fin.repay(deal, 120_000_00)

    assert fin.asset(receipt_id).pledged_quantity == 20


def test_conversion_refuses_anyone_but_the_lender(fin):
    # Bug fixed: anyone could choose which receipt secures the lender's loan.
    deal = fin.prepayment_loan()
    receipt_id = fin.deliver_receipt(deal)
    with reverts("LoanNotLender", loanId=deal.loan_id, caller=fin.p.seller.address):
        fin.platform.loans.as_(fin.p.seller).convert_collateral(deal.loan_id, receipt_id)


def test_conversion_refuses_a_suspended_lender(fin):
    deal = fin.prepayment_loan()
    receipt_id = fin.deliver_receipt(deal)
    fin.platform.members.as_(fin.p.operator).suspend(fin.p.bank.address, b"\x01" * 32)
    with reverts("MemberNotActive", member=fin.p.bank.address):
        fin.platform.loans.as_(fin.p.bank).convert_collateral(deal.loan_id, receipt_id)


def test_conversion_refuses_a_loan_of_another_mode(fin):
    deal = fin.pledge()
    with reverts("LoanNotSettlementMode", loanId=deal.loan_id, mode=int(LoanMode.PLEDGE)):
        fin.platform.loans.as_(fin.p.bank).convert_collateral(deal.loan_id, deal.asset_id)


def test_conversion_refuses_a_loan_not_yet_disbursed(fin):
    deal = fin.prepayment_loan(stage="approved")
    fin.advance(deal.asset_order_id, OrderStatus.DELIVERED)
    receipt_id = fin.receipt(deal.borrower, order_id=deal.asset_order_id)
    with reverts("LoanWrongStatus", loanId=deal.loan_id, status=int(LoanStatus.APPROVED)):
        fin.platform.loans.as_(fin.p.bank).convert_collateral(deal.loan_id, receipt_id)


def test_conversion_refuses_a_receipt_for_other_goods_than_the_order(fin):
    deal = fin.prepayment_loan()
    fin.advance(deal.asset_order_id, OrderStatus.DELIVERED)
    unrelated = fin.receipt(deal.borrower)  # a lot the warehouse holds for the borrower, of no order
    with reverts("LoanReceiptMismatch", loanId=deal.loan_id, receiptId=unrelated):
        fin.platform.loans.as_(fin.p.bank).convert_collateral(deal.loan_id, unrelated)


def test_conversion_refuses_a_second_conversion(fin):
    deal = fin.prepayment_loan()
    receipt_id = fin.deliver_receipt(deal)
    fin.platform.loans.as_(fin.p.bank).convert_collateral(deal.loan_id, receipt_id)
    second = fin.receipt(deal.borrower, order_id=deal.asset_order_id)
    with reverts("LoanReceiptMismatch", loanId=deal.loan_id, receiptId=second):
        fin.platform.loans.as_(fin.p.bank).convert_collateral(deal.loan_id, second)


def test_conversion_refuses_a_repaid_loan(fin):
    deal = fin.prepayment_loan(terms=ZERO_RATE)
    fin.repay(deal, ZERO_RATE.principal)
    receipt_id = fin.deliver_receipt(deal)
    with reverts("LoanWrongStatus", loanId=deal.loan_id, status=int(LoanStatus.REPAID)):
        fin.platform.loans.as_(fin.p.bank).convert_collateral(deal.loan_id, receipt_id)
