"""LoanBook.signGuarantee: the core enterprise of the borrower's chain signs and commits the principal,
which the LoanBook takes and holds for that loan alone."""

from __future__ import annotations

from financing_support import DAY, Terms, b32, call_as, the_event
from harness import reverts

from vscm.client.records import LoanStatus


def test_guarantor_signs_and_its_commitment_is_held_for_the_loan(fin):
    # Bug fixed (F-04): a guarantee was only a live allowance, which the guarantor could revoke.
    deal = fin.pledge(stage="applied", sign=False)
    before = fin.balances(fin.p.core, fin.platform.loans.address)

    receipt = fin.platform.loans.as_(fin.p.core).sign_guarantee(deal.loan_id)

    loan = fin.state(deal.loan_id)
    assert (loan.guarantee_signed, loan.guarantee_held) == (True, deal.terms.principal)
    assert fin.balances(fin.p.core, fin.platform.loans.address) == [
        before[0] - deal.terms.principal, before[1] + deal.terms.principal]
    assert the_event(fin.platform.loans, receipt, "GuaranteeSigned") == {
        "loanId": deal.loan_id, "guarantor": fin.p.core.address, "amount": deal.terms.principal}


def test_guarantor_signing_two_loans_commits_for_each(fin):
    # Bug fixed (F-04): one allowance was counted for every loan the guarantor signed.
    p = fin.p
    terms = Terms(100_000_00, 500, 30 * DAY, 6_000)
    first = fin.pledge(stage="applied", terms=terms, sign=False)
    second = fin.pledge(stage="applied", terms=terms, sign=False)
    fin.platform.cash("CNY").as_(p.core).transfer(p.seller.address, fin.cash(p.core) - 150_000_00)
    fin.platform.cash("CNY").as_(p.core).approve(fin.platform.loans.address, 10**12)
    call_as(fin.w, p.core, fin.platform.loans, "signGuarantee", first.loan_id)

    with reverts("LoanGuaranteeNotFunded", loanId=second.loan_id, allowance=50_000_00, needed=100_000_00):
        call_as(fin.w, p.core, fin.platform.loans, "signGuarantee", second.loan_id)


def test_rejection_gives_the_commitment_back(fin):
    deal = fin.pledge(stage="approved")
    before = fin.cash(fin.p.core)

    receipt = fin.platform.loans.as_(fin.p.bank).reject(deal.loan_id, b32("no"))

    assert fin.cash(fin.p.core) == before + deal.terms.principal
    assert fin.state(deal.loan_id).guarantee_held == 0
    assert the_event(fin.platform.loans, receipt, "GuaranteeReleased") == {
        "loanId": deal.loan_id, "guarantor": fin.p.core.address, "amount": deal.terms.principal}


def test_repayment_gives_the_commitment_back(fin):
    deal = fin.pledge()
    before = fin.cash(fin.p.core)

    fin.repay(deal, 10**12)

    assert fin.cash(fin.p.core) == before + deal.terms.principal
    assert fin.state(deal.loan_id).guarantee_held == 0


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
