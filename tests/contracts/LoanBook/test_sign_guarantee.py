"""LoanBook.signGuarantee: the core enterprise of the borrower's chain signs, having allowed the
LoanBook to charge it the principal."""

from __future__ import annotations

from financing_support import b32, call_as, the_event
from harness import reverts

from vscm.client.records import LoanStatus


def test_guarantor_signs_after_allowing_the_principal(fin):
    deal = fin.pledge(stage="applied", sign=False)

    receipt = fin.platform.loans.as_(fin.p.core).sign_guarantee(deal.loan_id)

    assert fin.state(deal.loan_id).guarantee_signed
    assert fin.platform.cash("CNY").allowance(fin.p.core.address, fin.platform.loans.address) == deal.terms.principal
    assert the_event(fin.platform.loans, receipt, "GuaranteeSigned") == {
        "loanId": deal.loan_id, "guarantor": fin.p.core.address}


def test_guarantor_may_sign_after_the_approval(fin):
    deal = fin.pledge(stage="approved", sign=False)

    fin.platform.loans.as_(fin.p.core).sign_guarantee(deal.loan_id)

    assert fin.state(deal.loan_id).guarantee_signed


def test_signature_refuses_anyone_but_the_named_guarantor(fin):
    deal = fin.pledge(stage="applied", sign=False)
    with reverts("LoanNotGuarantor", loanId=deal.loan_id, caller=fin.p.seller.address):
        fin.platform.loans.as_(fin.p.seller).sign_guarantee(deal.loan_id)


def test_signature_refuses_a_second_signature(fin):
    deal = fin.pledge(stage="applied")
    with reverts("LoanNotGuarantor", loanId=deal.loan_id, caller=fin.p.core.address):
        fin.platform.loans.as_(fin.p.core).sign_guarantee(deal.loan_id)


def test_signature_refuses_a_rejected_loan(fin):
    deal = fin.pledge(stage="applied", sign=False)
    fin.platform.loans.as_(fin.p.bank).reject(deal.loan_id, b32("no"))
    with reverts("LoanWrongStatus", loanId=deal.loan_id, status=int(LoanStatus.REJECTED)):
        fin.platform.loans.as_(fin.p.core).sign_guarantee(deal.loan_id)


def test_signature_refuses_a_suspended_guarantor(fin):
    deal = fin.pledge(stage="applied", sign=False)
    fin.platform.members.as_(fin.p.operator).suspend(fin.p.core.address, b32("review"))
    with reverts("MemberNotActive", member=fin.p.core.address):
        fin.platform.loans.as_(fin.p.core).sign_guarantee(deal.loan_id)


def test_signature_refuses_a_guarantor_that_has_not_allowed_the_principal(fin):
    deal = fin.pledge(stage="applied", sign=False)
    fin.platform.cash("CNY").as_(fin.p.core).approve(fin.platform.loans.address, deal.terms.principal - 1)
    with reverts("LoanGuaranteeNotFunded", loanId=deal.loan_id, allowance=deal.terms.principal - 1,
                 needed=deal.terms.principal):
        call_as(fin.w, fin.p.core, fin.platform.loans, "signGuarantee", deal.loan_id)


def test_signature_refuses_an_unknown_loan(fin):
    with reverts("LoanNotFound", loanId=7):
        call_as(fin.w, fin.p.core, fin.platform.loans, "signGuarantee", 7)
