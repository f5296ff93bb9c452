"""LoanBook.collect: a receivable or payable loan is repaid from the debtor's settlement, which the
OrderBook paid to the LoanBook; the lender takes what it is owed, the borrower the surplus."""

from __future__ import annotations

import pytest
from financing_support import (
    DAY,
    DEFAULT_TERMS,
    Deal,
    InterestModel,
    Terms,
    b32,
    block_time,
    call_as,
    the_event,
)
from harness import reverts

from vscm.client.records import AssetStatus, LoanMode, LoanStatus, OrderStatus

CLAIMS = [LoanMode.RECEIVABLE, LoanMode.PAYABLE]


@pytest.mark.parametrize("mode", CLAIMS)
def test_collection_pays_the_lender_what_is_owed_and_the_borrower_the_surplus(fin, mode):
    p, loans = fin.p, fin.platform.loans
    deal = fin.loan(mode)
    model = InterestModel(deal.terms.principal, deal.terms.rate_bps, fin.state(deal.loan_id).disbursed_at)
    fin.chain.time_travel(20 * DAY)
    face = fin.platform.orders.order(deal.asset_order_id).amount
    fin.platform.orders.as_(p.core).settle(deal.asset_order_id)
    before = fin.balances(p.bank, deal.borrower, loans.address)
    assert before[2] == face

    receipt = loans.as_(deal.borrower).collect(deal.loan_id)

    interest, principal = model.pay(face, block_time(fin.w, receipt))
    owed = interest + principal
    assert principal == deal.terms.principal
    assert fin.balances(p.bank, deal.borrower, loans.address) == [
        before[0] + owed, before[1] + face - owed + deal.terms.principal, 0]  # + its unspent loan money
    assert fin.state(deal.loan_id).status == LoanStatus.REPAID
    assert the_event(loans, receipt, "SettlementCollected") == {
        "loanId": deal.loan_id, "received": face, "toLender": owed, "surplus": face - owed}


@pytest.mark.parametrize("mode", CLAIMS)
def test_collected_claim_is_consumed(fin, mode):
    # Bug fixed: a claim whose settlement repaid the loan was unlocked but stayed Confirmed.
    deal = fin.loan(mode)
    fin.platform.orders.as_(fin.p.core).settle(deal.asset_order_id)

    fin.platform.loans.as_(deal.borrower).collect(deal.loan_id)

    asset = fin.asset(deal.asset_id)
    assert (asset.status, asset.locked_by) == (AssetStatus.RETIRED, 0)


def test_anyone_may_collect(fin):
    deal = fin.receivable_loan()
    fin.platform.orders.as_(fin.p.core).settle(deal.asset_order_id)

    fin.platform.loans.as_(fin.p.outsider).collect(deal.loan_id)

    assert fin.state(deal.loan_id).settlement_collected


def test_settlement_smaller_than_the_debt_goes_wholly_to_the_lender_and_the_loan_runs_on(fin):
    p = fin.p
    big = fin.receivable_loan(terms=Terms(170_000_00, 3_600, 365 * DAY, 10_000), amount=170_000_00)
    fin.chain.time_travel(100 * DAY)
    fin.platform.orders.as_(p.core).settle(big.asset_order_id)
    bank_before = fin.cash(p.bank)

    receipt = fin.platform.loans.as_(p.outsider).collect(big.loan_id)

    loan = fin.state(big.loan_id)
    assert fin.cash(p.bank) == bank_before + 170_000_00
    assert loan.status == LoanStatus.DISBURSED and loan.outstanding_now > 0
    assert loan.interest_paid + loan.principal_repaid == 170_000_00
    assert the_event(fin.platform.loans, receipt, "SettlementCollected")["surplus"] == 0
    assert fin.asset(big.asset_id).status == AssetStatus.RETIRED


def test_collection_after_an_early_repayment_is_refused_and_takes_no_one_elses_money(fin):
    # Bug fixed: a borrower who repaid before the debtor settled (the settlement then went back to it)
    # could still `collect` and be paid the face value again, out of other loans' settlements.
    p = fin.p
    early = fin.receivable_loan(amount=180_000_00)
    other = fin.payable_loan(amount=200_000_00, terms=Terms(150_000_00, 500, 30 * DAY, 9_500))
    fin.repay(early, 10**12)
    fin.platform.orders.as_(p.core).settle(other.asset_order_id)     # 200,000.00 waits in the LoanBook
    fin.platform.orders.as_(p.core).settle(early.asset_order_id)     # paid to supplier2 directly
    with reverts("LoanWrongStatus", loanId=early.loan_id, status=int(LoanStatus.REPAID)):
        call_as(fin.w, p.supplier2, fin.platform.loans, "collect", early.loan_id)
    assert fin.cash(fin.platform.loans.address) == 200_000_00


def test_loan_money_cannot_pay_down_a_claim_pledged_to_another_lender(fin):
    # Bug fixed (found by the financing state machine): the debtor could pay the creditor of a pledged
    # claim out of its own loan money, so the creditor was paid twice and the claim's lender collected
    # less. Loan money now pays a seller only before the invoice, and the lender collects the whole claim.
    p = fin.p
    claim = fin.receivable_loan(amount=180_000_00)
    core_loan = fin.pledge(borrower=p.core, guarantor=p.core, purpose_order_id=claim.asset_order_id,
                           asset_id=fin.receipt(p.core))
    with reverts("OrderWrongStatus", orderId=claim.asset_order_id, status=int(OrderStatus.INVOICED)):
        call_as(fin.w, p.core, fin.platform.funds, "spend", core_loan.loan_id, p.supplier2.address, 100_000_00,
                b32("invoice"))
    fin.platform.orders.as_(p.core).settle(claim.asset_order_id)

    receipt = fin.platform.loans.as_(p.supplier2).collect(claim.loan_id)

    assert the_event(fin.platform.loans, receipt, "SettlementCollected")["received"] == 180_000_00


def test_repaying_in_full_after_the_debtor_settled_leaves_the_settlement_to_the_borrower(fin):
    # Bug fixed: closing the loan tried to redirect an already settled order back and reverted.
    p = fin.p
    deal = fin.receivable_loan(amount=180_000_00)
    fin.platform.orders.as_(p.core).settle(deal.asset_order_id)
    fin.repay(deal, 10**12)
    assert fin.state(deal.loan_id).status == LoanStatus.REPAID
    before = fin.cash(p.supplier2)

    receipt = fin.platform.loans.as_(p.supplier2).collect(deal.loan_id)

    assert fin.cash(p.supplier2) == before + 180_000_00
    assert the_event(fin.platform.loans, receipt, "SettlementCollected") == {
        "loanId": deal.loan_id, "received": 180_000_00, "toLender": 0, "surplus": 180_000_00}
    assert fin.asset(deal.asset_id).status == AssetStatus.RETIRED


def test_repaying_in_full_before_the_debtor_settles_gives_the_settlement_back_to_the_creditor(fin):
    p = fin.p
    deal = fin.receivable_loan(amount=180_000_00)
    fin.repay(deal, 10**12)
    before = fin.cash(p.supplier2)

    fin.platform.orders.as_(p.core).settle(deal.asset_order_id)

    assert fin.platform.orders.order(deal.asset_order_id).payee == p.supplier2.address
    assert fin.cash(p.supplier2) == before + 180_000_00
    assert fin.asset(deal.asset_id).locked_by == 0


def test_collection_refuses_a_pledge_loan(fin):
    deal = fin.pledge()
    with reverts("LoanNotSettlementMode", loanId=deal.loan_id, mode=int(LoanMode.PLEDGE)):
        fin.platform.loans.as_(deal.borrower).collect(deal.loan_id)


def test_collection_refuses_an_order_not_yet_settled(fin):
    deal = fin.receivable_loan()
    with reverts("LoanOrderNotSettled", orderId=deal.asset_order_id):
        fin.platform.loans.as_(deal.borrower).collect(deal.loan_id)


def test_collection_refuses_a_second_collection(fin):
    deal = fin.receivable_loan()
    fin.platform.orders.as_(fin.p.core).settle(deal.asset_order_id)
    fin.platform.loans.as_(deal.borrower).collect(deal.loan_id)
    with reverts("LoanWrongStatus", loanId=deal.loan_id, status=int(LoanStatus.REPAID)):
        fin.platform.loans.as_(deal.borrower).collect(deal.loan_id)


def test_collection_refuses_a_loan_not_yet_disbursed(fin):
    deal = fin.receivable_loan(stage="approved")
    fin.platform.orders.as_(fin.p.core).settle(deal.asset_order_id)
    with reverts("LoanWrongStatus", loanId=deal.loan_id, status=int(LoanStatus.APPROVED)):
        fin.platform.loans.as_(deal.borrower).collect(deal.loan_id)


def test_collection_refuses_a_written_off_loan(fin):
    deal = fin.receivable_loan()
    fin.platform.funds.as_(deal.borrower).spend(deal.loan_id, fin.p.supplier.address, 60_000_00, "goods")
    fin.to_default(deal)
    fin.platform.loans.as_(fin.p.bank).mark_default(deal.loan_id)
    fin.platform.loans.as_(fin.p.bank).write_off(deal.loan_id)
    fin.platform.orders.as_(fin.p.core).settle(deal.asset_order_id)     # now paid to the lender directly
    with reverts("LoanWrongStatus", loanId=deal.loan_id, status=int(LoanStatus.WRITTEN_OFF)):
        fin.platform.loans.as_(deal.borrower).collect(deal.loan_id)


def test_collection_refuses_an_unknown_loan(fin):
    with reverts("LoanNotFound", loanId=5):
        fin.platform.loans.as_(fin.p.core).collect(5)


def test_settlement_of_a_financed_invoice_reaches_the_loanbook_not_the_creditor(fin):
    deal = fin.payable_loan()
    supplier_before = fin.cash(fin.p.supplier)

    fin.platform.orders.as_(fin.p.core).settle(deal.asset_order_id)

    assert fin.cash(fin.p.supplier) == supplier_before
    assert fin.cash(fin.platform.loans.address) == fin.platform.orders.order(deal.asset_order_id).amount
    assert fin.platform.orders.order(deal.asset_order_id).status == OrderStatus.SETTLED


def test_claim_bought_by_a_borrower_since_suspended_can_still_be_repaid_and_collected(fin):
    # Bug fixed (Low): full repayment redirected the settlement back to the claim's owner, which the
    # OrderBook refuses for a suspended member that is not the order's seller (OrderPayeeNotMember).
    p = fin.p
    asset_id, oid = fin.receivable()
    fin.platform.assets.as_(p.supplier2).transfer(asset_id, p.supplier.address)
    terms = DEFAULT_TERMS[LoanMode.RECEIVABLE]
    purpose = fin.order(p.supplier, p.supplier2, 60_000_00)
    loan_id = fin.apply(LoanMode.RECEIVABLE, asset_id, p.supplier, terms, purpose)
    deal = Deal(LoanMode.RECEIVABLE, loan_id, asset_id, oid, purpose, p.supplier, p.bank, None, terms)
    fin._finish(deal, "disbursed", False, None)
    fin.mint(p.supplier, 200_000_00)
    fin.platform.cash("CNY").as_(p.supplier).approve(fin.platform.loans.address, 200_000_00)
    fin.platform.members.as_(p.operator).suspend(p.supplier.address, b32("review"))

    call_as(fin.w, p.supplier, fin.platform.loans, "repay", loan_id, 200_000_00)

    assert fin.state(loan_id).status == LoanStatus.REPAID
    assert fin.platform.orders.order(oid).payee == fin.platform.loans.address  # still comes here
    fin.platform.orders.as_(p.core).settle(oid)
    before = fin.cash(p.supplier)
    fin.platform.loans.as_(p.bank).collect(loan_id)
    assert fin.cash(p.supplier) == before + 180_000_00
    assert fin.asset(asset_id).locked_by == 0


def test_claim_of_a_rejected_loan_whose_owner_was_suspended_is_collected_for_it(fin):
    p = fin.p
    asset_id, oid = fin.receivable()
    fin.platform.assets.as_(p.supplier2).transfer(asset_id, p.supplier.address)
    terms = DEFAULT_TERMS[LoanMode.RECEIVABLE]
    purpose = fin.order(p.supplier, p.supplier2, 60_000_00)
    loan_id = fin.apply(LoanMode.RECEIVABLE, asset_id, p.supplier, terms, purpose)
    fin._finish(Deal(LoanMode.RECEIVABLE, loan_id, asset_id, oid, purpose, p.supplier, p.bank, None, terms),
                "approved", False, None)
    fin.platform.members.as_(p.operator).suspend(p.supplier.address, b32("review"))

    fin.platform.loans.as_(p.bank).reject(loan_id, b32("no"))
    fin.platform.orders.as_(p.core).settle(oid)
    before, bank_before = fin.cash(p.supplier), fin.cash(p.bank)
    fin.platform.loans.as_(p.bank).collect(loan_id)

    assert (fin.cash(p.supplier), fin.cash(p.bank)) == (before + 180_000_00, bank_before)
    assert fin.asset(asset_id).locked_by == 0
