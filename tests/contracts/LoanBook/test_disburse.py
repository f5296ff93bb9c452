"""LoanBook.disburse: the lender pays the principal in; it becomes tracked money of the borrower (a
prepayment goes straight to the supplier)."""

from __future__ import annotations

from financing_support import b32, call_as, emitted, the_event
from harness import reverts

from vscm.client.records import LoanStatus


def test_disbursement_moves_the_principal_from_the_lender_into_tracked_money(fin):
    p, loans, funds = fin.p, fin.platform.loans, fin.platform.funds
    deal = fin.pledge(stage="approved")
    fin.mint(p.bank, deal.terms.principal)
    before = fin.balances(p.bank, p.supplier, funds.address)

    receipt = loans.as_(p.bank).disburse(deal.loan_id)

    assert fin.balances(p.bank, p.supplier, funds.address) == [
        before[0] - deal.terms.principal, before[1], before[2] + deal.terms.principal]
    where = funds.whereabouts(deal.loan_id)
    assert (where.holder, where.held, where.paid) == (p.supplier.address, deal.terms.principal, {})
    assert the_event(funds, receipt, "FundsOpened") == {
        "loanId": deal.loan_id, "borrower": p.supplier.address, "lender": p.bank.address,
        "currency": fin.platform.currency_address("CNY"), "orderId": deal.purpose_order_id,
        "amount": deal.terms.principal}


def test_disbursement_starts_the_clock_and_sets_the_maturity(fin):
    deal = fin.pledge()
    at = fin.now()

    loan = fin.state(deal.loan_id)
    assert (loan.status, loan.disbursed_at, loan.last_accrual, loan.maturity) == (
        LoanStatus.DISBURSED, at, at, at + deal.terms.term)
    assert the_event(fin.platform.loans, fin.platform.last_receipt, "LoanDisbursed") == {
        "loanId": deal.loan_id, "principal": deal.terms.principal, "maturity": at + deal.terms.term}


def test_prepayment_disbursement_pays_the_supplier_directly_towards_its_order(fin):
    p = fin.p
    deal = fin.prepayment_loan(stage="approved")
    fin.mint(p.bank, deal.terms.principal)
    core_before = fin.cash(p.core)

    receipt = fin.platform.loans.as_(p.bank).disburse(deal.loan_id)

    assert fin.cash(p.core) == core_before + deal.terms.principal
    assert fin.platform.orders.order(deal.asset_order_id).prepaid == deal.terms.principal
    where = fin.platform.funds.whereabouts(deal.loan_id)
    assert (where.held, where.paid) == (0, {p.core.address: deal.terms.principal})
    assert the_event(fin.platform.funds, receipt, "FundsMoved") == {
        "loanId": deal.loan_id, "from": p.seller.address, "to": p.core.address, "amount": deal.terms.principal,
        "purpose": b"prepayment".ljust(32, b"\x00"), "hop": 1}
    assert len(emitted(fin.platform.orders, receipt, "OrderPrepaid")) == 1


def test_disbursement_refuses_a_guaranteed_loan_not_yet_signed(fin):
    deal = fin.pledge(stage="approved", sign=False)
    fin.mint(fin.p.bank, deal.terms.principal)
    with reverts("LoanGuaranteeMissing", loanId=deal.loan_id):
        fin.platform.loans.as_(fin.p.bank).disburse(deal.loan_id)


def test_disbursement_refuses_anyone_but_the_lender(fin):
    deal = fin.pledge(stage="approved")
    with reverts("LoanNotLender", loanId=deal.loan_id, caller=fin.p.bank2.address):
        call_as(fin.w, fin.p.bank2, fin.platform.loans, "disburse", deal.loan_id)


def test_disbursement_refuses_a_loan_not_approved(fin):
    deal = fin.pledge(stage="applied")
    with reverts("LoanWrongStatus", loanId=deal.loan_id, status=int(LoanStatus.APPLIED)):
        call_as(fin.w, fin.p.bank, fin.platform.loans, "disburse", deal.loan_id)


def test_disbursement_refuses_a_loan_disbursed_already(fin):
    deal = fin.pledge()
    with reverts("LoanWrongStatus", loanId=deal.loan_id, status=int(LoanStatus.DISBURSED)):
        call_as(fin.w, fin.p.bank, fin.platform.loans, "disburse", deal.loan_id)


def test_disbursement_refuses_a_suspended_lender(fin):
    deal = fin.pledge(stage="approved")
    fin.platform.members.as_(fin.p.operator).suspend(fin.p.bank.address, b32("review"))
    with reverts("MemberNotActive", member=fin.p.bank.address):
        call_as(fin.w, fin.p.bank, fin.platform.loans, "disburse", deal.loan_id)


def test_disbursement_refuses_a_lender_without_the_money(fin):
    deal = fin.pledge(stage="approved")
    fin.platform.cash("CNY").as_(fin.p.bank).approve(fin.platform.loans.address, deal.terms.principal)
    with reverts("ERC20InsufficientBalance", balance=0, needed=deal.terms.principal):
        call_as(fin.w, fin.p.bank, fin.platform.loans, "disburse", deal.loan_id)
