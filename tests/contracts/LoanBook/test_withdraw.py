"""LoanBook.withdraw: the borrower's exit from a loan not disbursed (F-07). An approval expires
`APPROVAL_VALIDITY` after it was given; then, or at once when the lender is no longer an active member,
the borrower takes its collateral, a claim's settlement and the guarantor's commitment back out."""

from __future__ import annotations

from financing_support import DAY, b32, block_time, the_event
from harness import reverts

from vscm.client.records import LoanStatus

VALIDITY = 30 * DAY


def test_evicted_lender_no_longer_strands_the_collateral_and_settlement(fin):
    # Bug fixed (F-07): only an active lender could unwind an approval. Once it was evicted, the claim
    # stayed locked, the debtor's settlement paid into the LoanBook stayed there and so did the
    # guarantor's commitment.
    p, loans = fin.p, fin.platform.loans
    deal = fin.receivable_loan(stage="approved", guarantor=p.core)
    face = fin.platform.orders.order(deal.asset_order_id).amount
    fin.platform.orders.as_(p.core).settle(deal.asset_order_id)
    fin.platform.members.as_(p.operator).evict(p.bank.address, b32("fraud"))
    before = fin.balances(deal.borrower, p.core, loans.address)

    receipt = loans.as_(deal.borrower).withdraw(deal.loan_id)

    assert fin.state(deal.loan_id).status == LoanStatus.WITHDRAWN
    assert fin.balances(deal.borrower, p.core, loans.address) == [
        before[0] + face, before[1] + deal.terms.principal, before[2] - face - deal.terms.principal]
    assert fin.asset(deal.asset_id).locked_by == 0
    assert the_event(loans, receipt, "LoanWithdrawn") == {"loanId": deal.loan_id, "by": deal.borrower.address}
    assert the_event(loans, receipt, "GuaranteeReleased") == {
        "loanId": deal.loan_id, "guarantor": p.core.address, "amount": deal.terms.principal}


def test_borrower_withdraws_once_the_approval_expired(fin):
    deal = fin.pledge(stage="approved")
    fin.chain.time_travel(VALIDITY + 1)

    fin.platform.loans.as_(deal.borrower).withdraw(deal.loan_id)

    assert fin.state(deal.loan_id).status == LoanStatus.WITHDRAWN
    assert fin.asset(deal.asset_id).locked_by == 0
    assert fin.state(deal.loan_id).guarantee_held == 0


def test_withdrawal_refuses_an_approval_still_valid_of_an_active_lender(fin):
    deal = fin.pledge(stage="approved")
    expires = fin.state(deal.loan_id).expires_at
    with reverts("LoanApprovalNotExpired", loanId=deal.loan_id, expiresAt=expires):
        fin.platform.loans.as_(deal.borrower).withdraw(deal.loan_id)


def test_borrower_withdraws_an_application_at_any_time(fin):
    deal = fin.pledge(stage="applied")

    fin.platform.loans.as_(deal.borrower).withdraw(deal.loan_id)

    assert fin.state(deal.loan_id).status == LoanStatus.WITHDRAWN
    assert fin.cash(fin.p.core) >= deal.terms.principal  # the signed commitment came back


def test_guarantor_takes_its_commitment_back_from_an_expired_approval_the_borrower_left_idle(fin):
    # Bug fixed: the guarantor's commitment stayed held by an approved loan nobody disbursed, for as
    # long as the borrower did nothing (an evicted guarantor included).
    p = fin.p
    deal = fin.pledge(stage="approved")
    fin.platform.members.as_(p.operator).suspend(p.core.address, b32("review"))
    before = fin.cash(p.core)
    with reverts("LoanApprovalNotExpired", loanId=deal.loan_id):
        fin.platform.loans.as_(p.core).withdraw(deal.loan_id)
    fin.chain.time_travel(VALIDITY + 1)

    fin.platform.loans.as_(p.core).withdraw(deal.loan_id)

    assert fin.cash(p.core) == before + deal.terms.principal
    assert fin.asset(deal.asset_id).locked_by == 0
    assert fin.state(deal.loan_id).status == LoanStatus.WITHDRAWN


def test_withdrawal_refuses_anyone_but_the_borrower_and_the_guarantor(fin):
    deal = fin.pledge(stage="applied")
    with reverts("LoanNotBorrower", loanId=deal.loan_id, caller=fin.p.bank.address):
        fin.platform.loans.as_(fin.p.bank).withdraw(deal.loan_id)


def test_withdrawal_refuses_a_disbursed_loan(fin):
    deal = fin.pledge()
    with reverts("LoanWrongStatus", loanId=deal.loan_id, status=int(LoanStatus.DISBURSED)):
        fin.platform.loans.as_(deal.borrower).withdraw(deal.loan_id)


def test_disbursement_refuses_an_expired_approval(fin):
    deal = fin.pledge(stage="approved")
    expires = fin.state(deal.loan_id).expires_at
    fin.chain.time_travel(VALIDITY + 1)
    with reverts("LoanApprovalExpired", loanId=deal.loan_id, expiresAt=expires):
        fin.disburse(deal)


def test_approval_expires_validity_after_the_approval_block(fin):
    deal = fin.pledge(stage="applied")
    receipt = fin.platform.loans.as_(fin.p.bank).approve(deal.loan_id, deal.terms.ltv_bps, fin.p.warehouse.address)
    assert fin.state(deal.loan_id).expires_at == block_time(fin.w, receipt) + VALIDITY
