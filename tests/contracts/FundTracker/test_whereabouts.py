"""FundTracker views: where every unit of a loan's money is, who may be paid, and the totals."""

from __future__ import annotations

from financing_support import DAY, Terms

from vscm.client.records import OrderStatus


def test_whereabouts_account_for_every_unit_disbursed(fin):
    p, funds = fin.p, fin.platform.funds
    deal = fin.pledge(terms=Terms(200_000_00, 0, 90 * DAY, 6_000))
    funds.as_(p.supplier).spend(deal.loan_id, p.supplier2.address, 120_000_00, "rubber")
    fin.advance(deal.purpose_order_id, OrderStatus.SHIPPED)
    funds.as_(p.supplier).spend(deal.loan_id, p.carrier.address, 5_000_00, "freight")

    where = funds.whereabouts(deal.loan_id)

    assert (where.holder, where.held) == (p.supplier.address, 75_000_00)
    assert where.paid == {p.supplier2.address: 120_000_00, p.carrier.address: 5_000_00}
    assert where.total == 200_000_00


def test_total_unspent_equals_the_trackers_cash_over_several_loans(fin):
    p, funds = fin.p, fin.platform.funds
    one = fin.pledge()
    two = fin.payable_loan()
    fin.prepayment_loan()  # spent at once
    funds.as_(p.supplier).spend(one.loan_id, p.supplier2.address, 40_000_00, "rubber")
    fin.repay(two, 10**12)

    assert funds.total_unspent("CNY") == fin.cash(funds.address) == 160_000_00
    assert funds.total_unspent("USD") == 0


def test_allowed_payees_are_the_orders_seller_carrier_and_warehouse(fin):
    p, funds = fin.p, fin.platform.funds
    deal = fin.pledge()
    assert funds.is_allowed_payee(deal.loan_id, p.supplier2.address)
    assert not funds.is_allowed_payee(deal.loan_id, p.carrier.address)

    fin.advance(deal.purpose_order_id, OrderStatus.SHIPPED)

    allowed = {name for name, a in p if funds.is_allowed_payee(deal.loan_id, a.address)}
    assert allowed == {"supplier2", "carrier", "warehouse"}


def test_a_loan_without_tracked_money_allows_no_payee(fin):
    deal = fin.pledge(stage="approved")

    assert not fin.platform.funds.is_allowed_payee(deal.loan_id, fin.p.supplier2.address)
