"""FundTracker.spend: the borrower pays loan money only to the payees its purpose order allows — the
seller, and once shipped its carrier and warehouse — each payment a recorded hop."""

from __future__ import annotations

from financing_support import b32, call_as, the_event
from harness import reverts

from vscm.client.records import OrderStatus


def test_borrower_pays_the_seller_of_its_order_and_the_hop_is_recorded(fin):
    p, funds = fin.p, fin.platform.funds
    deal = fin.pledge()
    before = fin.balances(p.supplier, p.supplier2, funds.address)

    receipt = funds.as_(p.supplier).spend(deal.loan_id, p.supplier2.address, 150_000_00, "rubber order")

    assert fin.balances(p.supplier, p.supplier2, funds.address) == [
        before[0], before[1] + 150_000_00, before[2] - 150_000_00]
    assert the_event(funds, receipt, "FundsMoved") == {
        "loanId": deal.loan_id, "from": p.supplier.address, "to": p.supplier2.address, "amount": 150_000_00,
        "purpose": b"rubber order".ljust(32, b"\x00"), "hop": 1}
    assert funds.hops(deal.loan_id)[0]["purpose"] == "rubber order"
    f = funds.funds(deal.loan_id)
    assert (f.disbursed, f.spent, f.unspent) == (200_000_00, 150_000_00, 50_000_00)


def test_payment_to_the_seller_counts_towards_the_order(fin):
    p = fin.p
    deal = fin.pledge()

    receipt = fin.platform.funds.as_(p.supplier).spend(deal.loan_id, p.supplier2.address, 100_000_00, "advance")

    assert fin.platform.orders.order(deal.purpose_order_id).prepaid == 100_000_00
    assert the_event(fin.platform.orders, receipt, "OrderPrepaid") == {
        "orderId": deal.purpose_order_id, "amount": 100_000_00, "prepaid": 100_000_00,
        "by": fin.platform.funds.address}


def test_settling_an_order_paid_partly_from_a_loan_asks_only_the_rest(fin):
    p = fin.p
    deal = fin.pledge()
    fin.platform.funds.as_(p.supplier).spend(deal.loan_id, p.supplier2.address, 100_000_00, "advance")
    fin.advance(deal.purpose_order_id, OrderStatus.INVOICED)
    fin.mint(p.supplier, 50_000_00)
    before = fin.balances(p.supplier, p.supplier2)

    fin.platform.orders.as_(p.supplier).settle(deal.purpose_order_id)

    assert fin.balances(p.supplier, p.supplier2) == [before[0] - 50_000_00, before[1] + 50_000_00]


def test_borrower_pays_the_carrier_and_the_warehouse_once_the_order_shipped(fin):
    p, funds = fin.p, fin.platform.funds
    deal = fin.pledge()
    fin.advance(deal.purpose_order_id, OrderStatus.SHIPPED)

    funds.as_(p.supplier).spend(deal.loan_id, p.carrier.address, 6_000_00, "freight")
    funds.as_(p.supplier).spend(deal.loan_id, p.warehouse.address, 1_000_00, "storage")

    where = funds.whereabouts(deal.loan_id)
    assert where.paid == {p.carrier.address: 6_000_00, p.warehouse.address: 1_000_00}
    assert [h["hop"] for h in funds.hops(deal.loan_id)] == [1, 2]
    assert fin.platform.orders.order(deal.purpose_order_id).prepaid == 0


def test_payments_to_one_payee_add_up(fin):
    p, funds = fin.p, fin.platform.funds
    deal = fin.pledge()

    funds.as_(p.supplier).spend(deal.loan_id, p.supplier2.address, 10_000_00, "one")
    funds.as_(p.supplier).spend(deal.loan_id, p.supplier2.address, 5_000_00, "two")

    assert funds.whereabouts(deal.loan_id).paid == {p.supplier2.address: 15_000_00}


def test_spending_refuses_a_payee_outside_the_order(fin):
    deal = fin.pledge()
    with reverts("FundsPayeeNotAllowed", loanId=deal.loan_id, payee=fin.p.seller.address):
        fin.platform.funds.as_(deal.borrower).spend(deal.loan_id, fin.p.seller.address, 1_00, "elsewhere")


def test_spending_refuses_paying_the_borrower_itself(fin):
    deal = fin.pledge()
    with reverts("FundsPayeeNotAllowed", loanId=deal.loan_id, payee=deal.borrower.address):
        fin.platform.funds.as_(deal.borrower).spend(deal.loan_id, deal.borrower.address, 1_00, "cash out")


def test_spending_refuses_the_carrier_before_the_order_shipped(fin):
    deal = fin.pledge()
    with reverts("FundsPayeeNotAllowed", loanId=deal.loan_id, payee=fin.p.carrier.address):
        fin.platform.funds.as_(deal.borrower).spend(deal.loan_id, fin.p.carrier.address, 1_00, "freight")


def test_spending_refuses_a_payee_no_longer_active(fin):
    deal = fin.pledge()
    fin.platform.members.as_(fin.p.operator).suspend(fin.p.supplier2.address, b32("review"))
    with reverts("FundsPayeeNotActive", payee=fin.p.supplier2.address):
        fin.platform.funds.as_(deal.borrower).spend(deal.loan_id, fin.p.supplier2.address, 1_00, "rubber")


def test_spending_refuses_more_than_is_unspent(fin):
    deal = fin.pledge()
    fin.platform.funds.as_(deal.borrower).spend(deal.loan_id, fin.p.supplier2.address, 150_000_00, "rubber")
    fin.advance(deal.purpose_order_id, OrderStatus.SHIPPED)
    with reverts("FundsInsufficient", loanId=deal.loan_id, requested=50_000_01, unspent=50_000_00):
        fin.platform.funds.as_(deal.borrower).spend(deal.loan_id, fin.p.carrier.address, 50_000_01, "freight")


def test_spending_refuses_a_zero_amount(fin):
    deal = fin.pledge()
    with reverts("FundsZeroAmount"):
        fin.platform.funds.as_(deal.borrower).spend(deal.loan_id, fin.p.supplier2.address, 0, "nothing")


def test_spending_refuses_anyone_but_the_borrower(fin):
    deal = fin.pledge()
    with reverts("FundsNotHolder", loanId=deal.loan_id, caller=fin.p.bank.address):
        fin.platform.funds.as_(fin.p.bank).spend(deal.loan_id, fin.p.supplier2.address, 1_00, "rubber")


def test_spending_refuses_a_suspended_borrower(fin):
    deal = fin.pledge()
    fin.platform.members.as_(fin.p.operator).suspend(deal.borrower.address, b32("review"))
    with reverts("MemberNotActive", member=deal.borrower.address):
        fin.platform.funds.as_(deal.borrower).spend(deal.loan_id, fin.p.supplier2.address, 1_00, "rubber")


def test_spending_refuses_frozen_money(wfin):
    deal = wfin.pledge()
    wfin.platform.funds.as_(wfin.p.monitor).freeze(deal.loan_id)
    with reverts("FundsAreFrozen", loanId=deal.loan_id):
        wfin.platform.funds.as_(deal.borrower).spend(deal.loan_id, wfin.p.supplier2.address, 1_00, "rubber")


def test_spending_refuses_a_loan_not_disbursed(fin):
    deal = fin.pledge(stage="approved")
    with reverts("FundsNotFound", loanId=deal.loan_id):
        fin.platform.funds.as_(deal.borrower).spend(deal.loan_id, fin.p.supplier2.address, 1_00, "rubber")


def test_spending_refuses_more_than_the_order_still_asks_of_the_seller(fin):
    p = fin.p
    deal = fin.pledge(purpose_order_id=fin.order(p.supplier, p.supplier2, 10_000_00))
    with reverts("OrderPrepaymentTooLarge", amount=10_000_01, due=10_000_00):
        call_as(fin.w, p.supplier, fin.platform.funds, "spend", deal.loan_id, p.supplier2.address, 10_000_01,
                b32("too much"))


def test_carrier_and_warehouse_get_at_most_the_purpose_orders_amount(fin):
    # Bug fixed: loan money could leave as unlimited "freight" to the carrier or the warehouse.
    p, funds = fin.p, fin.platform.funds
    deal = fin.pledge()  # 200,000.00 lent for a 150,000.00 purpose order
    fin.advance(deal.purpose_order_id, OrderStatus.SHIPPED)
    funds.as_(p.supplier).spend(deal.loan_id, p.carrier.address, 100_000_00, "freight")

    with reverts("FundsLogisticsCapExceeded", loanId=deal.loan_id, payee=p.warehouse.address, amount=50_000_01,
                 available=50_000_00):
        funds.as_(p.supplier).spend(deal.loan_id, p.warehouse.address, 50_000_01, "storage")
    funds.as_(p.supplier).spend(deal.loan_id, p.warehouse.address, 50_000_00, "storage")
    funds.as_(p.supplier).spend(deal.loan_id, p.supplier2.address, 10_000_00, "rubber")  # the seller is not capped so
