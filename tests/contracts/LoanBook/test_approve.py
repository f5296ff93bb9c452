"""LoanBook.approve: the lender grants an LTV (a pledge names the custodian warehouse) and the asset is
locked to the loan."""

from __future__ import annotations

from financing_support import DEFAULT_TERMS, Terms, b32, emitted, the_event
from harness import reverts

from vscm.client.records import LoanMode, LoanStatus

PLEDGE = DEFAULT_TERMS[LoanMode.PLEDGE]


def test_approval_locks_the_receipt_and_pledges_all_its_goods(fin):
    p, loans = fin.p, fin.platform.loans
    deal = fin.pledge(stage="applied", quantity=500)

    receipt = loans.as_(p.bank).approve(deal.loan_id, 6_000, p.warehouse.address)

    loan, asset = fin.state(deal.loan_id), fin.asset(deal.asset_id)
    assert (loan.status, loan.ltv_bps, loan.supervisor, loan.collateral_quantity) == (
        LoanStatus.APPROVED, 6_000, p.warehouse.address, 500)
    assert (asset.locked_by, asset.pledged_quantity) == (deal.loan_id, 500)
    assert the_event(loans, receipt, "LoanApproved") == {
        "loanId": deal.loan_id, "ltvBps": 6_000, "supervisor": p.warehouse.address, "collateralQuantity": 500}
    assert the_event(fin.platform.assets, receipt, "AssetLocked") == {
        "assetId": deal.asset_id, "loanId": deal.loan_id, "pledgedQuantity": 500}


def test_approval_at_exactly_the_ltv_limit_is_accepted(fin):
    deal = fin.pledge(stage="applied", value=400_000_00, terms=Terms(240_000_00, 650, 86400, 6_000))

    fin.platform.loans.as_(fin.p.bank).approve(deal.loan_id, 6_000, fin.p.warehouse.address)

    assert fin.state(deal.loan_id).status == LoanStatus.APPROVED


def test_approval_of_a_receivable_redirects_its_settlement_to_the_loanbook(fin):
    deal = fin.receivable_loan(stage="applied")

    receipt = fin.platform.loans.as_(fin.p.bank).approve(deal.loan_id, 9_000)

    assert fin.platform.orders.order(deal.asset_order_id).payee == fin.platform.loans.address
    assert emitted(fin.platform.orders, receipt, "SettlementRedirected") == [{
        "orderId": deal.asset_order_id, "payee": fin.platform.loans.address, "by": fin.platform.loans.address}]


def test_approval_of_a_payable_redirects_its_settlement_to_the_loanbook(fin):
    deal = fin.payable_loan(stage="applied")

    fin.platform.loans.as_(fin.p.bank).approve(deal.loan_id, 9_500)

    assert fin.platform.orders.order(deal.asset_order_id).payee == fin.platform.loans.address


def test_approval_of_a_prepayment_leaves_the_order_payee_alone(fin):
    deal = fin.prepayment_loan(stage="applied")

    fin.platform.loans.as_(fin.p.bank).approve(deal.loan_id, 8_000)

    assert fin.platform.orders.order(deal.asset_order_id).payee == fin.p.core.address
    assert fin.asset(deal.asset_id).locked_by == deal.loan_id


def test_approval_ignores_a_supervisor_outside_the_pledge_mode(fin):
    deal = fin.receivable_loan(stage="applied")

    fin.platform.loans.as_(fin.p.bank).approve(deal.loan_id, 9_000, fin.p.carrier.address)

    assert fin.state(deal.loan_id).supervisor is None


def test_approval_refuses_anyone_but_the_named_lender(fin):
    deal = fin.pledge(stage="applied")
    with reverts("LoanNotLender", loanId=deal.loan_id, caller=fin.p.bank2.address):
        fin.platform.loans.as_(fin.p.bank2).approve(deal.loan_id, 6_000, fin.p.warehouse.address)


def test_approval_refuses_an_unknown_loan(fin):
    with reverts("LoanNotFound", loanId=42):
        fin.platform.loans.as_(fin.p.bank).approve(42, 6_000, fin.p.warehouse.address)


def test_approval_refuses_a_loan_already_approved(fin):
    deal = fin.pledge(stage="approved")
    with reverts("LoanWrongStatus", loanId=deal.loan_id, status=int(LoanStatus.APPROVED)):
        fin.platform.loans.as_(fin.p.bank).approve(deal.loan_id, 6_000, fin.p.warehouse.address)


def test_approval_refuses_a_suspended_lender(fin):
    deal = fin.pledge(stage="applied")
    fin.platform.members.as_(fin.p.operator).suspend(fin.p.bank.address, b32("review"))
    with reverts("MemberNotActive", member=fin.p.bank.address):
        fin.platform.loans.as_(fin.p.bank).approve(deal.loan_id, 6_000, fin.p.warehouse.address)


def test_approval_refuses_a_zero_ltv(fin):
    deal = fin.pledge(stage="applied")
    with reverts("LoanBadLtv", ltvBps=0):
        fin.platform.loans.as_(fin.p.bank).approve(deal.loan_id, 0, fin.p.warehouse.address)


def test_approval_refuses_an_ltv_above_one_hundred_percent(fin):
    deal = fin.pledge(stage="applied")
    with reverts("LoanBadLtv", ltvBps=10_001):
        fin.platform.loans.as_(fin.p.bank).approve(deal.loan_id, 10_001, fin.p.warehouse.address)


def test_approval_refuses_a_principal_above_the_ltv_limit(fin):
    deal = fin.pledge(stage="applied", value=400_000_00, terms=Terms(240_000_01, 650, 86400, 6_000))
    with reverts("LoanLtvExceeded", principal=240_000_01, limit=240_000_00):
        fin.platform.loans.as_(fin.p.bank).approve(deal.loan_id, 6_000, fin.p.warehouse.address)


def test_approval_of_a_pledge_refuses_a_supervisor_that_does_not_hold_the_goods(fin):
    deal = fin.pledge(stage="applied")
    with reverts("LoanSupervisorNotCustodian", supervisor=fin.p.carrier.address, custodian=fin.p.warehouse.address):
        fin.platform.loans.as_(fin.p.bank).approve(deal.loan_id, 6_000, fin.p.carrier.address)


def test_approval_of_a_pledge_refuses_a_suspended_custodian(fin):
    deal = fin.pledge(stage="applied")
    fin.platform.members.as_(fin.p.operator).suspend(fin.p.warehouse.address, b32("review"))
    with reverts("LoanSupervisorNotCustodian", supervisor=fin.p.warehouse.address):
        fin.platform.loans.as_(fin.p.bank).approve(deal.loan_id, 6_000, fin.p.warehouse.address)


def test_approval_refuses_an_asset_retired_since_the_application(fin):
    deal = fin.pledge(stage="applied")
    fin.platform.assets.as_(deal.borrower).retire(deal.asset_id)
    with reverts("LoanAssetNotConfirmed", assetId=deal.asset_id, status=3):
        fin.platform.loans.as_(fin.p.bank).approve(deal.loan_id, 6_000, fin.p.warehouse.address)


def test_approval_refuses_an_asset_the_borrower_gave_away_since_the_application(fin):
    # Bug fixed: approve did not check ownership again, so the lender was secured by a third party's asset.
    deal = fin.pledge(stage="applied")
    fin.platform.assets.as_(deal.borrower).transfer(deal.asset_id, fin.p.supplier2.address)
    with reverts("LoanNotAssetOwner", assetId=deal.asset_id, caller=deal.borrower.address):
        fin.platform.loans.as_(fin.p.bank).approve(deal.loan_id, 6_000, fin.p.warehouse.address)
