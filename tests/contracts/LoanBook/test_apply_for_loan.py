"""LoanBook.applyForLoan: a trader applies, pledging an asset it owns for an order it buys."""

from __future__ import annotations

from financing_support import DAY, DEFAULT_TERMS, Terms, the_event
from harness import reverts

from vscm.client.records import LoanMode, LoanStatus, OrderStatus

PLEDGE = DEFAULT_TERMS[LoanMode.PLEDGE]


def test_pledge_application_records_the_terms_and_announces_them(fin):
    p, loans = fin.p, fin.platform.loans
    lot = fin.receipt(p.supplier)
    purpose = fin.order(p.supplier, p.supplier2, 150_000_00)

    loan_id = fin.apply(LoanMode.PLEDGE, lot, p.supplier, PLEDGE, purpose, p.bank, p.core)

    loan = loans.loan(loan_id)
    assert (loan.status, loan.mode, loan.borrower, loan.lender, loan.guarantor) == (
        LoanStatus.APPLIED, LoanMode.PLEDGE, p.supplier.address, p.bank.address, p.core.address)
    assert (loan.asset_id, loan.purpose_order_id, loan.principal, loan.rate_bps, loan.term_seconds) == (
        lot, purpose, PLEDGE.principal, PLEDGE.rate_bps, PLEDGE.term)
    assert loan.currency == fin.platform.currency_address("CNY")
    assert not loan.guarantee_signed and loan.disbursed_at == 0 and loan.maturity == 0
    assert the_event(loans, fin.platform.last_receipt, "LoanApplied")["principal"] == PLEDGE.principal


def test_application_leaves_the_asset_free_until_approval(fin):
    deal = fin.pledge(stage="applied")

    assert fin.asset(deal.asset_id).locked_by == 0


def test_prepayment_finances_the_order_of_the_pledged_goods_whatever_order_is_named(fin):
    p = fin.p
    right, order_id = fin.future_goods()
    other = fin.order(p.seller, p.core, 10_000_00)

    loan_id = fin.apply(LoanMode.PREPAYMENT, right, p.seller, DEFAULT_TERMS[LoanMode.PREPAYMENT], other)

    assert fin.state(loan_id).purpose_order_id == order_id


def test_rate_at_the_usury_cap_is_accepted(fin):
    p = fin.p
    lot = fin.receipt(p.supplier)
    purpose = fin.order(p.supplier, p.supplier2, 1_000_00)

    loan_id = fin.apply(LoanMode.PLEDGE, lot, p.supplier, Terms(1_000_00, 3_600, DAY, 5_000), purpose, p.bank, p.core)

    assert fin.state(loan_id).rate_bps == 3_600


def test_application_refuses_a_borrower_that_is_not_a_trader(fin):
    p = fin.p
    lot = fin.receipt(p.carrier)
    with reverts("LoanBorrowerNotTrader", borrower=p.carrier.address):
        fin.apply(LoanMode.PLEDGE, lot, p.carrier, PLEDGE, 1, p.bank, p.core)


def test_application_refuses_a_suspended_borrower(fin):
    deal_lot = fin.receipt(fin.p.supplier)
    purpose = fin.order(fin.p.supplier, fin.p.supplier2, 1_000_00)
    fin.platform.members.as_(fin.p.operator).suspend(fin.p.supplier.address, b"\x01" * 32)
    with reverts("LoanBorrowerNotTrader", borrower=fin.p.supplier.address):
        fin.apply(LoanMode.PLEDGE, deal_lot, fin.p.supplier, PLEDGE, purpose, fin.p.bank, fin.p.core)


def test_application_refuses_a_lender_that_is_not_a_financier(fin):
    p = fin.p
    lot = fin.receipt(p.supplier)
    purpose = fin.order(p.supplier, p.supplier2, 1_000_00)
    with reverts("LoanLenderNotFinancier", lender=p.auditor.address):
        fin.apply(LoanMode.PLEDGE, lot, p.supplier, PLEDGE, purpose, p.auditor, p.core)


def test_application_refuses_a_zero_principal(fin):
    p = fin.p
    lot = fin.receipt(p.supplier)
    purpose = fin.order(p.supplier, p.supplier2, 1_000_00)
    with reverts("LoanZeroPrincipal"):
        fin.apply(LoanMode.PLEDGE, lot, p.supplier, Terms(0, 650, DAY, 5_000), purpose, p.bank, p.core)


def test_application_refuses_a_rate_above_the_usury_cap(fin):
    p = fin.p
    lot = fin.receipt(p.supplier)
    purpose = fin.order(p.supplier, p.supplier2, 1_000_00)
    with reverts("LoanRateTooHigh", rateBps=3_601):
        fin.apply(LoanMode.PLEDGE, lot, p.supplier, Terms(1_000_00, 3_601, DAY, 5_000), purpose, p.bank, p.core)


def test_application_refuses_a_zero_term(fin):
    p = fin.p
    lot = fin.receipt(p.supplier)
    purpose = fin.order(p.supplier, p.supplier2, 1_000_00)
    with reverts("LoanZeroTerm"):
        fin.apply(LoanMode.PLEDGE, lot, p.supplier, Terms(1_000_00, 650, 0, 5_000), purpose, p.bank, p.core)


def test_application_refuses_a_receivable_the_debtor_has_not_confirmed(fin):
    p = fin.p
    asset, _ = fin.receivable(confirm=False)
    purpose = fin.order(p.supplier2, p.supplier, 1_000_00)
    with reverts("LoanAssetNotConfirmed", assetId=asset, status=1):
        fin.apply(LoanMode.RECEIVABLE, asset, p.supplier2, DEFAULT_TERMS[LoanMode.RECEIVABLE], purpose)


def test_application_refuses_an_unknown_asset(fin):
    p = fin.p
    purpose = fin.order(p.supplier, p.supplier2, 1_000_00)
    with reverts("LoanAssetNotConfirmed", assetId=99, status=0):
        fin.apply(LoanMode.PLEDGE, 99, p.supplier, PLEDGE, purpose, p.bank, p.core)


def test_application_refuses_an_asset_of_another_kind_than_the_mode_pledges(fin):
    p = fin.p
    lot = fin.receipt(p.supplier)
    purpose = fin.order(p.supplier, p.supplier2, 1_000_00)
    with reverts("LoanWrongAssetKind", assetId=lot, kind=2, mode=int(LoanMode.RECEIVABLE)):
        fin.apply(LoanMode.RECEIVABLE, lot, p.supplier, PLEDGE, purpose)


def test_application_refuses_an_asset_already_pledged(fin):
    deal = fin.pledge(stage="approved")
    with reverts("LoanAssetLocked", assetId=deal.asset_id, loanId=deal.loan_id):
        fin.apply(LoanMode.PLEDGE, deal.asset_id, deal.borrower, PLEDGE, deal.purpose_order_id, fin.p.bank2,
                  fin.p.core)


def test_application_refuses_an_asset_the_borrower_does_not_own(fin):
    p = fin.p
    lot = fin.receipt(p.supplier)
    purpose = fin.order(p.supplier2, p.supplier, 1_000_00)
    with reverts("LoanNotAssetOwner", assetId=lot, caller=p.supplier2.address):
        fin.apply(LoanMode.PLEDGE, lot, p.supplier2, PLEDGE, purpose, p.bank, p.core)


def test_application_refuses_an_order_the_borrower_does_not_buy(fin):
    p = fin.p
    lot = fin.receipt(p.supplier)
    sale = fin.order(p.supplier2, p.supplier, 1_000_00)  # the borrower sells, not buys
    with reverts("LoanBadPurposeOrder", orderId=sale):
        fin.apply(LoanMode.PLEDGE, lot, p.supplier, PLEDGE, sale, p.bank, p.core)


def test_application_refuses_an_unknown_order(fin):
    lot = fin.receipt(fin.p.supplier)
    with reverts("LoanBadPurposeOrder", orderId=0):
        fin.apply(LoanMode.PLEDGE, lot, fin.p.supplier, PLEDGE, 0, fin.p.bank, fin.p.core)


def test_application_refuses_a_settled_order(fin):
    p = fin.p
    lot = fin.receipt(p.core)
    settled = fin.order(p.core, p.supplier, 1_000_00, OrderStatus.SETTLED)
    with reverts("LoanBadPurposeOrder", orderId=settled):
        fin.apply(LoanMode.PLEDGE, lot, p.core, PLEDGE, settled, p.bank, p.core)


def test_application_refuses_a_cancelled_order(fin):
    p = fin.p
    lot = fin.receipt(p.supplier)
    purpose = fin.order(p.supplier, p.supplier2, 1_000_00)
    fin.platform.orders.as_(p.supplier).cancel(purpose)
    with reverts("LoanBadPurposeOrder", orderId=purpose):
        fin.apply(LoanMode.PLEDGE, lot, p.supplier, PLEDGE, purpose, p.bank, p.core)


def test_application_refuses_an_order_in_another_currency_than_the_asset(fin):
    p = fin.p
    lot = fin.receipt(p.supplier)
    usd_order = fin.order(p.supplier, p.supplier2, 1_000_00, currency="USD")
    with reverts("LoanCurrencyMismatch", expected=fin.platform.currency_address("CNY"),
                 found=fin.platform.currency_address("USD")):
        fin.apply(LoanMode.PLEDGE, lot, p.supplier, PLEDGE, usd_order, p.bank, p.core)


def test_application_refuses_a_guarantor_that_is_not_the_core_of_the_borrowers_chain(fin):
    p = fin.p
    lot = fin.receipt(p.supplier)
    purpose = fin.order(p.supplier, p.supplier2, 1_000_00)
    with reverts("LoanGuarantorNotCore", guarantor=p.supplier2.address):
        fin.apply(LoanMode.PLEDGE, lot, p.supplier, PLEDGE, purpose, p.bank, p.supplier2)


def test_application_refuses_a_pending_core_as_guarantor(fin):
    p = fin.p
    lot = fin.receipt(p.supplier)
    purpose = fin.order(p.supplier, p.supplier2, 1_000_00)
    with reverts("LoanGuarantorNotCore", guarantor=p.core2.address):
        fin.apply(LoanMode.PLEDGE, lot, p.supplier, PLEDGE, purpose, p.bank, p.core2)


def test_pledge_application_refuses_to_go_without_a_guarantor(fin):
    p = fin.p
    lot = fin.receipt(p.supplier)
    purpose = fin.order(p.supplier, p.supplier2, 1_000_00)
    with reverts("LoanGuarantorRequired"):
        fin.apply(LoanMode.PLEDGE, lot, p.supplier, PLEDGE, purpose, p.bank, None)


def test_receivable_application_may_go_without_a_guarantor(fin):
    deal = fin.receivable_loan(stage="applied")

    assert fin.state(deal.loan_id).guarantor is None
