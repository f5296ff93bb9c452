"""The interest reference (no chain): `vscm.client.financing.interest_reference` and the schedule
model `InterestModel` the contract tests compare the LoanBook with, both checked against values
worked out by hand."""

from __future__ import annotations

from fractions import Fraction

import pytest
from financing_support import DAY, YEAR, InterestModel

from vscm.client.financing import interest_reference


def exact(principal: int, rate_bps: int, seconds: int) -> Fraction:
    return Fraction(principal * rate_bps * seconds, 10_000 * YEAR)


@pytest.mark.parametrize("principal,rate_bps,seconds,expected", [
    (200_000_00, 650, YEAR, 13_000_00),           # 6.5 % of 200,000.00 for a year
    (200_000_00, 650, 30 * DAY, 106_849),         # 1,068.4931... CNY: 106,849.3 fen, floored
    (1_00, 100, DAY, 0),                          # a fen at 1 % for a day: 0.0027 fen
    (123_456_78, 1_234, 7 * DAY + 17, 29_217),    # 29,217.7... fen, floored
    (10**30, 3_600, YEAR, 36 * 10**28),           # no overflow, exact
    (5_000_00, 0, YEAR, 0),
])
def test_reference_interest_is_simple_interest_floored(principal, rate_bps, seconds, expected):
    assert interest_reference(principal, rate_bps, seconds) == expected
    assert expected == int(exact(principal, rate_bps, seconds))


def test_reference_never_exceeds_the_exact_interest_and_misses_it_by_less_than_a_unit():
    for seconds in (1, 59, 3_601, 86_399, 12_345_678):
        floored = interest_reference(987_654_32, 2_718, seconds)
        assert 0 <= exact(987_654_32, 2_718, seconds) - floored < 1


def test_model_pays_interest_first_then_principal():
    model = InterestModel(200_000_00, 650, start=0)

    assert model.pay(50_000_00, at=30 * DAY) == (106_849, 50_000_00 - 106_849)
    assert model.owed == 200_000_00 - (50_000_00 - 106_849)


def test_model_accrues_on_the_principal_still_outstanding():
    model = InterestModel(200_000_00, 650, start=0)
    model.pay(100_000_00 + 106_849, at=30 * DAY)      # the interest, and half the principal

    assert model.pending(60 * DAY) == 53_424          # half the principal for 30 days: 534.2466 CNY


def test_model_payment_below_the_interest_due_pays_interest_only():
    model = InterestModel(200_000_00, 650, start=0)

    assert model.pay(1_00, at=30 * DAY) == (1_00, 0)
    assert model.interest_accrued - model.interest_paid == 106_849 - 1_00


def test_model_caps_a_payment_at_what_is_owed():
    model = InterestModel(200_000_00, 650, start=0)

    assert model.pay(10**12, at=30 * DAY) == (106_849, 200_000_00)
    assert model.owed == 0 and model.outstanding(60 * DAY) == 0


def test_model_carries_the_remainder_so_two_accruals_book_what_one_does():
    # 0.999 fen a second (see the LoanBook schedule test): 12,332.655 + 54,266.679 floored separately
    # would be 66,598, one fen less than 66,599.334 floored once; the carried remainder keeps it.
    split = InterestModel(1_050_148_80, 3_000, start=0)
    split.accrue(12_345)
    split.accrue(12_345 + 54_321)
    joined = InterestModel(1_050_148_80, 3_000, start=0)
    joined.accrue(12_345 + 54_321)

    assert (split.interest_accrued, joined.interest_accrued) == (66_599, 66_599)


def test_model_books_nothing_for_time_that_does_not_pass():
    model = InterestModel(200_000_00, 650, start=100)

    assert model.accrue(100) == 0 and model.accrue(50) == 0
    assert model.last == 100
