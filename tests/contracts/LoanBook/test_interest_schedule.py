"""Interest, to the wei: the LoanBook against the pure-Python reference (`InterestModel`) over whole
repayment schedules — partial repayments at uneven times, interest first, accrual on the principal
still outstanding, whole units booked at each accrual and the remainder carried to the next."""

from __future__ import annotations

import pytest
from financing_support import DAY, InterestModel, Terms, block_time, the_event

from vscm.client.records import LoanStatus

#: (terms, [(seconds to wait, amount repaid)...]); the loan is then repaid in full.
SCHEDULES = {
    "monthly instalments": (Terms(200_000_00, 650, 90 * DAY, 6_000),
                            [(30 * DAY, 70_000_00), (30 * DAY, 70_000_00)]),
    "odd seconds and odd amounts": (Terms(123_456_78, 1_234, 45 * DAY, 6_000),
                                    [(1, 1), (3_601, 9_999_99), (7 * DAY + 17, 33_333_33), (86_399, 1_00)]),
    "usury cap, interest-only payments": (Terms(200_000_00, 3_600, 365 * DAY, 6_000),
                                          [(10 * DAY, 50_00), (10 * DAY, 50_00), (100 * DAY, 150_000_00)]),
    "tiny principal, interest floors to zero": (Terms(1_00, 100, 30 * DAY, 6_000),
                                                [(3_600, 10), (12 * 3_600, 10)]),
    "paid late, past maturity": (Terms(200_000_00, 900, 30 * DAY, 6_000),
                                 [(45 * DAY, 100_000_00), (20 * DAY, 1)]),
}


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_repayment_schedule_matches_the_reference_to_the_wei(fin, name):
    terms, schedule = SCHEDULES[name]
    deal = fin.pledge(terms=terms)
    model = InterestModel(terms.principal, terms.rate_bps, fin.state(deal.loan_id).disbursed_at)
    total_paid = 0

    for wait, amount in schedule:
        fin.chain.time_travel(wait)
        at = fin.now()
        assert fin.state(deal.loan_id).outstanding_now == model.outstanding(at)
        receipt = fin.repay(deal, amount)
        interest, principal = model.pay(amount, block_time(fin.w, receipt))
        total_paid += interest + principal
        event = the_event(fin.platform.loans, receipt, "LoanRepayment")
        assert (event["interest"], event["principal"], event["outstanding"]) == (interest, principal, model.owed)
        loan = fin.state(deal.loan_id)
        assert (loan.interest_accrued, loan.interest_paid, loan.principal_repaid) == (
            model.interest_accrued, model.interest_paid, model.principal_repaid)

    fin.chain.time_travel(DAY)
    receipt = fin.repay(deal, 10**12)
    interest, principal = model.pay(10**12, block_time(fin.w, receipt))
    total_paid += interest + principal
    loan = fin.state(deal.loan_id)
    assert loan.status == LoanStatus.REPAID
    assert (loan.interest_accrued, loan.interest_paid, loan.principal_repaid) == (
        model.interest_accrued, model.interest_paid, terms.principal)
    assert loan.interest_paid + loan.principal_repaid == total_paid


def test_views_of_accrued_interest_and_outstanding_match_the_reference_between_payments(fin):
    terms = Terms(150_000_00, 725, 60 * DAY, 6_000)
    deal = fin.pledge(terms=terms)
    model = InterestModel(terms.principal, terms.rate_bps, fin.state(deal.loan_id).disbursed_at)
    receipt = None
    for wait in (17 * DAY + 5, 3 * DAY + 7_777):
        fin.chain.time_travel(wait)
        at = fin.now()
        loan = fin.state(deal.loan_id)
        assert loan.accrued_now == model.interest_accrued - model.interest_paid + model.pending(at)
        assert loan.outstanding_now == model.outstanding(at)
        receipt = fin.repay(deal, 20_000_00)
        model.pay(20_000_00, block_time(fin.w, receipt))
    assert fin.state(deal.loan_id).interest_accrued == model.interest_accrued


def test_a_warning_in_between_books_no_less_interest_than_a_single_accrual(wfin):
    # Two accruals of the same span used to floor twice (F-02): 1,050,148.80 at 30 % accrues 0.999 fen
    # a second: over ~12,345 s and ~54,321 s the two floors dropped 0.655 + 0.679 of a fen, one fen
    # less than a single accrual over the whole span. The remainder is now carried.
    terms = Terms(1_050_148_80, 3_000, 30 * DAY, 6_000)
    deal = wfin.pledge(terms=terms, value=2_000_000_00)
    model = InterestModel(terms.principal, terms.rate_bps, wfin.state(deal.loan_id).disbursed_at)
    wfin.chain.time_travel(12_345)
    warned = wfin.platform.loans.as_(wfin.p.monitor).warn(deal.loan_id, wfin.now() + DAY)
    model.accrue(block_time(wfin.w, warned))
    wfin.chain.time_travel(54_321)

    receipt = wfin.repay(deal, 10)

    model.pay(10, block_time(wfin.w, receipt))
    assert wfin.state(deal.loan_id).interest_accrued == model.interest_accrued
    joined = InterestModel(terms.principal, terms.rate_bps, wfin.state(deal.loan_id).disbursed_at)
    joined.accrue(block_time(wfin.w, receipt))
    assert joined.interest_accrued == model.interest_accrued  # the remainder was carried, not lost


def test_dust_repayments_accrue_the_same_interest_as_one_repayment_at_the_end(fin):
    # Bug fixed (F-02): each accrual floored the interest and restarted the clock, so anyone repaying
    # 0.01 every few seconds erased the interest (842 s of 200,000.00 at 6.5 %: 34 units, or 0).
    terms = Terms(200_000_00, 650, 90 * DAY, 6_000)
    deal = fin.pledge(terms=terms)
    start = fin.state(deal.loan_id).disbursed_at

    for _ in range(40):
        fin.chain.time_travel(20)
        receipt = fin.repay(deal, 1, payer=fin.p.seller)

    loan = fin.state(deal.loan_id)
    seconds = block_time(fin.w, receipt) - start
    once = terms.principal * terms.rate_bps * seconds // (10_000 * 365 * DAY)
    assert seconds >= 800 and once >= 32
    assert abs(loan.interest_accrued - once) <= 1


def test_interest_does_not_depend_on_how_often_the_loan_is_touched(wfin):
    terms = Terms(123_456_78, 1_234, 45 * DAY, 6_000)
    often, once = wfin.pledge(terms=terms), wfin.pledge(terms=terms)
    for _ in range(5):
        wfin.chain.time_travel(7 * 3_600 + 13)
        wfin.platform.loans.as_(wfin.p.monitor).warn(often.loan_id, wfin.now() + DAY)   # accrues
        wfin.platform.loans.as_(wfin.p.monitor).clear_warning(often.loan_id)
    wfin.chain.time_travel(DAY)

    a, b = wfin.state(often.loan_id), wfin.state(once.loan_id)
    assert abs(a.accrued_now - b.accrued_now
               - (terms.principal * terms.rate_bps * (b.disbursed_at - a.disbursed_at)) // (10_000 * 365 * DAY)) <= 1
