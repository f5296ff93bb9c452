"""LoanBook.reject: the lender turns an application down; the asset stays free."""

from __future__ import annotations

from financing_support import b32, the_event
from harness import reverts

from vscm.client.records import LoanStatus


def test_lender_rejects_an_application_with_a_reason(fin):
    deal = fin.pledge(stage="applied")

    receipt = fin.platform.loans.as_(fin.p.bank).reject(deal.loan_id, b32("thin margins"))

    assert fin.state(deal.loan_id).status == LoanStatus.REJECTED
    assert the_event(fin.platform.loans, receipt, "LoanRejected") == {
        "loanId": deal.loan_id, "reason": b32("thin margins")}


def test_rejected_asset_can_back_another_application(fin):
    deal = fin.pledge(stage="applied")
    fin.platform.loans.as_(fin.p.bank).reject(deal.loan_id, b32("no"))

    other = fin.pledge(stage="approved", asset_id=deal.asset_id, lender=fin.p.bank2)

    assert fin.asset(deal.asset_id).locked_by == other.loan_id


def test_rejection_refuses_anyone_but_the_lender(fin):
    deal = fin.pledge(stage="applied")
    with reverts("LoanNotLender", loanId=deal.loan_id, caller=deal.borrower.address):
        fin.platform.loans.as_(deal.borrower).reject(deal.loan_id, b32("no"))


def test_withdrawing_an_approval_unlocks_the_asset(fin):
    # Bug fixed (found by the financing state machine): an approved loan that could not be disbursed
    # kept its asset locked for good.
    deal = fin.pledge(stage="approved")
    assert fin.platform.assets.asset(deal.asset_id).locked_by == deal.loan_id

    fin.platform.loans.as_(fin.p.bank).reject(deal.loan_id, b32("changed my mind"))

    assert fin.state(deal.loan_id).status == LoanStatus.REJECTED
    assert fin.platform.assets.asset(deal.asset_id).locked_by == 0


def test_rejection_refuses_a_disbursed_loan(fin):
    deal = fin.pledge()
    with reverts("LoanWrongStatus", loanId=deal.loan_id, status=int(LoanStatus.DISBURSED)):
        fin.platform.loans.as_(fin.p.bank).reject(deal.loan_id, b32("too late"))


def test_rejected_loan_cannot_be_approved(fin):
    deal = fin.pledge(stage="applied")
    fin.platform.loans.as_(fin.p.bank).reject(deal.loan_id, b32("no"))
    with reverts("LoanWrongStatus", loanId=deal.loan_id, status=int(LoanStatus.REJECTED)):
        fin.platform.loans.as_(fin.p.bank).approve(deal.loan_id, 6_000, fin.p.warehouse.address)
