"""FundTracker.open, revoke and release belong to the LoanBook: nobody else opens, returns or hands
out tracked money, not even the control mechanism (it recalls through the LoanBook)."""

from __future__ import annotations

import pytest
from financing_support import LOANBOOK_ROLE, call_as
from harness import reverts


# On the test-wired world, where the monitor is a controller (the operator holds LOANBOOK_ROLE there).
@pytest.mark.parametrize("who", ["bank", "supplier", "monitor"])
def test_opening_tracked_money_is_the_loanbooks_alone(wfin, who):
    account = getattr(wfin.p, who)
    with reverts("AccessControlUnauthorizedAccount", account=account.address, neededRole=LOANBOOK_ROLE):
        call_as(wfin.w, account, wfin.platform.funds, "open", 99, 1_00)


@pytest.mark.parametrize("who", ["bank", "supplier", "monitor"])
def test_releasing_tracked_money_is_the_loanbooks_alone(wfin, who):
    deal = wfin.pledge()
    account = getattr(wfin.p, who)
    with reverts("AccessControlUnauthorizedAccount", account=account.address, neededRole=LOANBOOK_ROLE):
        call_as(wfin.w, account, wfin.platform.funds, "release", deal.loan_id)


@pytest.mark.parametrize("who", ["operator", "bank", "supplier"])
def test_revoking_tracked_money_is_the_loanbooks_alone(fin, who):
    deal = fin.pledge()
    account = getattr(fin.p, who)
    with reverts("AccessControlUnauthorizedAccount", account=account.address, neededRole=LOANBOOK_ROLE):
        call_as(fin.w, account, fin.platform.funds, "revoke", deal.loan_id, 1_00)


def test_controller_cannot_revoke_money_behind_the_loanbooks_back(wfin):
    # Bug fixed: a controller revoking directly sent the unspent money to the lender without the loan
    # counting it, so the borrower still owed it all and the lender was paid twice.
    deal = wfin.pledge()
    with reverts("AccessControlUnauthorizedAccount", account=wfin.p.monitor.address, neededRole=LOANBOOK_ROLE):
        call_as(wfin.w, wfin.p.monitor, wfin.platform.funds, "revoke", deal.loan_id, deal.terms.principal)


@pytest.fixture
def loanbook_role(wfin):
    """The test-wired world, where the operator holds the LoanBook's role, to drive `open` directly."""
    return wfin


def open_funds(fin, loan_id, amount):
    return call_as(fin.w, fin.p.operator, fin.platform.funds, "open", loan_id, amount)


def test_funds_of_a_loan_are_opened_once(loanbook_role):
    deal = loanbook_role.pledge()  # disbursed: the LoanBook opened its money
    with reverts("FundsAlreadyOpen", loanId=deal.loan_id):
        open_funds(loanbook_role, deal.loan_id, 1_00)


def test_funds_are_not_opened_for_nothing(loanbook_role):
    with reverts("FundsZeroAmount"):
        open_funds(loanbook_role, 99, 0)


def test_funds_beyond_the_96_bits_they_are_stored_in_are_refused(loanbook_role):
    with reverts("FundsOutOfRange", amount=2**96, max=2**96 - 1):
        open_funds(loanbook_role, 99, 2**96)


def test_release_of_a_loan_never_disbursed_hands_out_nothing(loanbook_role):
    receipt = call_as(loanbook_role.w, loanbook_role.p.operator, loanbook_role.platform.funds, "release", 5)

    assert receipt["logs"] == []
