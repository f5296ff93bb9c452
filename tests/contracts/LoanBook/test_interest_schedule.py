"""Interest, to the wei: the LoanBook against the pure-Python reference (`InterestModel`) over whole
repayment schedules — partial repayments at uneven times, interest first, accrual on the principal
still outstanding, floor division by 10,000 x 365 days at each accrual."""

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


def test_each_accrual_floors_separately_so_a_warning_in_between_is_booked_like_a_repayment(fin):
    # Two accruals of the same span floor twice: the reference must book the warning's accrual too.
    # 1,050,148.80 at 30 % accrues 0.999 fen a second: over ~12,345 s and ~54,321 s the two floors
    # drop 0.655 + 0.679 of a fen, one fen more than a single accrual over the whole span.
    terms = Terms(1_050_148_80, 3_000, 30 * DAY, 6_000)
    deal = fin.pledge(terms=terms, value=2_000_000_00)
    fin.grant_controller(fin.p.monitor)
    model = InterestModel(terms.principal, terms.rate_bps, fin.state(deal.loan_id).disbursed_at)
    fin.chain.time_travel(12_345)
    warned = fin.platform.loans.as_(fin.p.monitor).warn(deal.loan_id, fin.now() + DAY)
    model.accrue(block_time(fin.w, warned))
    fin.chain.time_travel(54_321)

    receipt = fin.repay(deal, 10)

    model.pay(10, block_time(fin.w, receipt))
    assert fin.state(deal.loan_id).interest_accrued == model.interest_accrued
    joined = InterestModel(terms.principal, terms.rate_bps, fin.state(deal.loan_id).disbursed_at)
    joined.accrue(block_time(fin.w, receipt))
    assert joined.interest_accrued == model.interest_accrued + 1  # the split floors lost one unit
