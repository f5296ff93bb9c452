"""Each indicator on a hand-made stream that fires it, and a near miss that must not."""

from __future__ import annotations

from dataclasses import replace

from risk_streams import (
    BANK,
    CARRIER,
    CHAIN,
    CORE,
    DAY,
    DIST,
    OUTSIDER,
    SUP_A,
    SUP_B,
    WAREHOUSE,
    Stream,
    codes,
    run,
)

from vscm.risk import Finding, Indicator, RiskEngine, Severity, load_thresholds


def only(found: list[Finding], code: int) -> list[Finding]:
    return [f for f in found if f.indicator == code]


def pledge_loan(s: Stream, borrower: str = SUP_A, seller: str = SUP_B, principal: int = 100_000,
                term: int = 30 * DAY) -> tuple[int, int]:
    """A disbursed pledge loan whose purpose order buys from `seller`; returns (loan id, order id)."""
    oid = s.place(borrower, seller, principal)
    s.accept(oid)
    asset = s.warehouse_receipt(borrower, 2 * principal)
    return s.loan(0, borrower, asset, oid, principal, term), oid


# ---------------------------------------------------------------- 101 receipts drop


def weekly_receipts(weeks: int, amount: int = 100_000, last_weeks: int = 0, last_amount: int = 0) -> Stream:
    s = Stream()
    s.setup_chain()
    for _ in range(weeks):
        s.pay(CORE, SUP_A, amount)
        s.wait(7 * DAY)
    for _ in range(last_weeks):
        s.pay(CORE, SUP_A, last_amount)
        s.wait(7 * DAY)
    return s


def test_receipts_drop_fires_on_the_chain_once_per_episode() -> None:
    s = weekly_receipts(10, last_weeks=2, last_amount=10_000)  # 90 % down in the last two weeks
    engine = RiskEngine()
    found = run(s.records, engine, until=s.time)
    drops = only(found, Indicator.RECEIPTS_DROP)
    assert len(drops) == 1
    f = drops[0]
    assert (f.subject, f.subject_id, f.severity) == ("chain", CHAIN, Severity.MEDIUM)
    assert f.evidence["member"] == SUP_A
    assert f.evidence["baseline_per_recent_window"] == 200_000  # 8 x 100,000 over 4 windows
    assert f.evidence["recent"] <= 20_000
    assert codes(found) == [Indicator.RECEIPTS_DROP]
    # Ticking on while the drop lasts does not repeat it.
    assert engine.tick(s.time + DAY, s.block) == []
    # Recovery re-arms it; a new drop is a new finding.
    for _ in range(3):
        s.pay(CORE, SUP_A, 300_000)
        s.wait(7 * DAY)
    later = Stream(time=s.time, block=s.block)
    assert run(s.records[-3:], engine, until=s.time) == []
    later.wait(20 * DAY)
    again = engine.tick(later.time, later.block)
    assert [(f.indicator, f.severity) for f in again] == [(Indicator.RECEIPTS_DROP, Severity.HIGH)]
    assert again[0].key != f.key


def test_receipts_drop_targets_the_members_open_loan() -> None:
    s = Stream()
    s.setup_chain()
    lid, _ = pledge_loan(s, term=200 * DAY)
    for _ in range(10):
        s.pay(CORE, SUP_A, 100_000)
        s.wait(7 * DAY)
    s.wait(14 * DAY)
    found = run(s.records, until=s.time)
    drops = only(found, Indicator.RECEIPTS_DROP)
    assert [(f.subject, f.subject_id, f.severity) for f in drops] == [("loan", lid, Severity.HIGH)]


def test_receipts_near_miss_is_silent() -> None:
    # Down 50 %: within the ordinary swings (threshold 70 %).
    assert run(weekly_receipts(10, last_weeks=3, last_amount=50_000).records) == []
    # Three receipts in the trailing window: too few for a baseline.
    s = weekly_receipts(0)
    s.setup_chain()
    for _ in range(3):
        s.pay(CORE, SUP_A, 1_000_000)
        s.wait(18 * DAY)
    assert run(s.records, until=s.time + 20 * DAY) == []
    # Deposits (mints) are not receipts.
    s = Stream()
    s.setup_chain()
    for _ in range(10):
        s.mint(SUP_A, 100_000)
        s.wait(7 * DAY)
    assert run(s.records, until=s.time + 20 * DAY) == []


# ---------------------------------------------------------------- 102 repayment late


def test_repayment_late_high_then_critical() -> None:
    s = Stream()
    s.setup_chain()
    lid, _ = pledge_loan(s, term=30 * DAY)
    maturity = s.loans[lid]["maturity"]
    engine = RiskEngine()
    assert run(s.records, engine, tick_every=None) == []
    assert engine.tick(maturity + DAY, s.block) == []  # within the 1-day grace
    late = engine.tick(maturity + DAY + 1, s.block + 5)
    assert [(f.subject, f.subject_id, f.indicator, f.severity) for f in late] == [
        ("loan", lid, Indicator.REPAYMENT_LATE, Severity.HIGH)]
    assert late[0].evidence["late_seconds"] == DAY + 1
    assert late[0].evidence["outstanding"] == 100_000
    assert late[0].block == s.block + 5
    assert engine.tick(maturity + 3 * DAY, s.block) == []
    critical = engine.tick(maturity + 7 * DAY + 1, s.block)
    assert [(f.indicator, f.severity) for f in critical] == [(Indicator.REPAYMENT_LATE, Severity.CRITICAL)]
    assert engine.tick(maturity + 30 * DAY, s.block) == []
    # Seen for the first time when already critically late: one finding, not two.
    fresh = RiskEngine()
    run(s.records, fresh, tick_every=None)
    once = fresh.tick(maturity + 10 * DAY, s.block)
    assert [(f.indicator, f.severity) for f in once] == [(Indicator.REPAYMENT_LATE, Severity.CRITICAL)]
    assert fresh.tick(maturity + 11 * DAY, s.block) == []


def test_repaid_on_time_or_partly_late_but_closed_is_silent() -> None:
    s = Stream()
    s.setup_chain()
    lid, _ = pledge_loan(s, term=30 * DAY)
    s.wait(29 * DAY)
    s.repay(lid, 50_000)
    s.repay(lid, 60_000)
    assert s.loans[lid]["outstanding"] == 0
    assert run(s.records, until=s.time + 60 * DAY) == []


def test_recall_makes_the_loan_due_at_once() -> None:
    s = Stream()
    s.setup_chain()
    lid, _ = pledge_loan(s, term=90 * DAY)
    s.wait(5 * DAY)
    s._begin("recall")
    s.emit("LoanBook", "LoanRecalled", loanId=lid, intercepted=0)
    found = run(s.records, until=s.time + 2 * DAY)
    assert [(f.indicator, f.subject_id) for f in found] == [(Indicator.REPAYMENT_LATE, lid)]


# ---------------------------------------------------------------- 103 payee not allowed


def test_refused_payee_fires_and_escalates() -> None:
    s = Stream()
    s.setup_chain()
    lid, oid = pledge_loan(s)
    s.ship(oid)
    s.refused_spend(lid, OUTSIDER, 5_000)
    first_tx = s.tx
    s.refused_spend(lid, DIST, 6_000)
    s.refused_spend(lid, OUTSIDER, 7_000)
    found = run(s.records)
    assert codes(found) == [Indicator.PAYEE_NOT_ALLOWED] * 3
    assert [f.severity for f in found] == [Severity.HIGH, Severity.HIGH, Severity.CRITICAL]
    f = found[0]
    assert (f.subject, f.subject_id) == ("loan", lid)
    assert f.evidence["payee"] == OUTSIDER and f.evidence["amount"] == 5_000 and f.evidence["tx"] == first_tx
    assert f.evidence["borrower"] == SUP_A
    assert f.evidence["allowed_payees"] == [SUP_B, CARRIER, WAREHOUSE]
    assert len({x.key for x in found}) == 3


def test_other_refusals_are_not_payee_attempts() -> None:
    s = Stream()
    s.setup_chain()
    lid, _ = pledge_loan(s)
    s.refused_spend(lid, SUP_B, 10**9, error="FundsInsufficient")
    s.refused_spend(lid, SUP_B, 1, error="FundsAreFrozen")
    assert run(s.records) == []


# ---------------------------------------------------------------- 104 round trip


def test_round_trip_direct_from_the_payee() -> None:
    s = Stream()
    s.setup_chain()
    lid, _ = pledge_loan(s)
    s.spend(lid, SUP_B, 100_000)
    paid_tx = s.tx
    s.wait(3 * DAY)
    s.pay(SUP_B, SUP_A, 30_000)
    s.pay(SUP_B, SUP_A, 30_000)  # 60 % back, in two parts
    found = run(s.records)
    assert codes(found) == [Indicator.ROUND_TRIP]
    f = found[0]
    assert (f.subject, f.subject_id, f.severity) == ("loan", lid, Severity.CRITICAL)
    assert f.evidence["paid_tx"] == paid_tx
    assert f.evidence["returned"] == 60_000 and f.evidence["share"] == 0.6
    assert [r["amount"] for r in f.evidence["returns"]] == [30_000, 30_000]
    assert f.evidence["via"] == []


def test_round_trip_through_a_member_the_payee_paid() -> None:
    s = Stream()
    s.setup_chain()
    lid, _ = pledge_loan(s)
    s.spend(lid, SUP_B, 100_000)
    s.pay(SUP_B, DIST, 90_000)
    s.wait(10 * DAY)
    s.pay(DIST, SUP_A, 80_000)
    found = run(s.records)
    assert [(f.indicator, f.subject_id, f.severity) for f in found] == [(Indicator.ROUND_TRIP, lid, Severity.HIGH)]
    assert found[0].evidence["via"] == [DIST]


def test_round_trip_near_misses() -> None:
    def base() -> tuple[Stream, int]:
        s = Stream()
        s.setup_chain()
        lid, _ = pledge_loan(s)
        s.spend(lid, SUP_B, 100_000)
        return s, lid

    s, _ = base()
    s.pay(SUP_B, SUP_A, 40_000)  # 40 %: below the 50 % share
    assert run(s.records) == []
    s, _ = base()
    s.wait(31 * DAY)
    s.pay(SUP_B, SUP_A, 100_000)  # after the 30-day window
    assert run(s.records) == []
    s, _ = base()
    s.pay(SUP_B, DIST, 20_000)  # the intermediary got only 20 %
    s.pay(DIST, SUP_A, 90_000)
    assert run(s.records) == []
    s, _ = base()
    s.trade(SUP_B, SUP_A, 90_000)  # B pays A for goods shipped and delivered by others: trade
    assert run(s.records) == []
    # A lower share threshold makes the first near miss fire: the threshold is what decides.
    s, lid = base()
    s.pay(SUP_B, SUP_A, 40_000)
    engine = RiskEngine(replace(load_thresholds(), round_trip_share=0.3))
    assert [(f.indicator, f.subject_id) for f in run(s.records, engine)] == [(Indicator.ROUND_TRIP, lid)]


def round_trip_base() -> tuple[Stream, int]:
    """A pledge loan of 100,000 to SUP_A whose money went to its seller SUP_B."""
    s = Stream()
    s.setup_chain()
    lid, _ = pledge_loan(s)
    s.spend(lid, SUP_B, 100_000)
    return s, lid


def test_round_trip_split_over_two_members_counts_every_path() -> None:
    s, lid = round_trip_base()
    s.pay(SUP_B, DIST, 48_000)  # 48 % each: neither member alone holds half of it
    s.pay(SUP_B, OUTSIDER, 48_000)
    s.wait(5 * DAY)
    s.pay(DIST, SUP_A, 48_000)
    s.pay(OUTSIDER, SUP_A, 48_000)  # 96 % came back
    found = run(s.records)
    assert [(f.indicator, f.subject_id, f.severity) for f in found] == [(Indicator.ROUND_TRIP, lid, Severity.HIGH)]
    f = found[0]
    assert (f.evidence["returned"], f.evidence["share"]) == (96_000, 0.96)
    assert f.evidence["via"] == sorted([DIST, OUTSIDER])
    assert [(r["from"], r["amount"]) for r in f.evidence["returns"]] == [(DIST, 48_000), (OUTSIDER, 48_000)]


def test_round_trip_adds_the_payee_and_its_intermediaries() -> None:
    s, lid = round_trip_base()
    s.pay(SUP_B, DIST, 30_000)
    s.pay(SUP_B, SUP_A, 25_000)  # 25 % straight back
    s.pay(DIST, SUP_A, 30_000)   # and 30 % round through DIST: 55 %
    found = run(s.records)
    assert [(f.indicator, f.subject_id, f.severity) for f in found] == [(Indicator.ROUND_TRIP, lid, Severity.HIGH)]
    assert found[0].evidence["returned"] == 55_000


def test_round_trip_counts_only_the_payout_money_each_path_carries() -> None:
    # Split paths that bring back 40 % in all stay below the 50 % share.
    s, _ = round_trip_base()
    for middle in (DIST, OUTSIDER):
        s.pay(SUP_B, middle, 20_000)
        s.pay(middle, SUP_A, 20_000)
    assert run(s.records) == []
    # An intermediary's own money is not the payout's: DIST got 20 % and pays back 90,000 of its own.
    s, _ = round_trip_base()
    s.pay(SUP_B, DIST, 20_000)
    s.pay(OUTSIDER, DIST, 200_000)
    s.pay(DIST, SUP_A, 90_000)
    s.pay(DIST, SUP_A, 90_000)
    assert run(s.records) == []
    # The payee's money spent elsewhere first is gone: 60 % sent to a member who keeps it, then the
    # payee pays the borrower 45,000 of which only 40 % can be the payout's.
    s, _ = round_trip_base()
    s.pay(SUP_B, CORE, 60_000)
    s.pay(SUP_B, SUP_A, 45_000)
    assert run(s.records) == []


def test_round_trip_follows_no_deeper_than_max_intermediaries() -> None:
    s, lid = round_trip_base()
    s.pay(SUP_B, DIST, 90_000)
    s.pay(DIST, OUTSIDER, 90_000)  # a second member between the payee and the borrower
    s.pay(OUTSIDER, SUP_A, 90_000)
    assert run(s.records) == []
    engine = RiskEngine(replace(load_thresholds(), round_trip_max_intermediaries=2))
    assert [(f.indicator, f.subject_id) for f in run(s.records, engine)] == [(Indicator.ROUND_TRIP, lid)]


def test_round_trip_healthy_spending_of_a_loan_is_silent() -> None:
    # SUP_B is paid for its goods and pays its own suppliers; they sell to the borrower with goods an
    # independent carrier and warehouse handled (trade), and one small payment comes back.
    s, _ = round_trip_base()
    s.pay(SUP_B, DIST, 40_000)
    s.pay(SUP_B, OUTSIDER, 40_000)
    s.wait(2 * DAY)
    s.trade(SUP_A, DIST, 35_000)         # the borrower buys from DIST: it pays, DIST returns nothing
    s.trade(DIST, SUP_A, 40_000)         # DIST buys from the borrower, delivered by others: trade
    s.pay(OUTSIDER, SUP_A, 10_000)       # 10 %: a refund-sized payment
    s.wait(40 * DAY)
    s.pay(SUP_B, SUP_A, 20_000)          # after the window
    assert only(run(s.records), Indicator.ROUND_TRIP) == []


def test_round_trip_by_a_self_delivered_order_still_counts() -> None:
    s = Stream()
    s.setup_chain()
    lid, _ = pledge_loan(s)
    s.spend(lid, SUP_B, 100_000)
    oid = s.place(SUP_B, SUP_A, 90_000)
    s.accept(oid)
    s.ship(oid, carrier=SUP_A, warehouse=SUP_B)
    s.deliver(oid, by=SUP_B)
    s.invoice(oid)
    s.settle(oid)
    assert Indicator.ROUND_TRIP in codes(run(s.records, tick_every=None))


# ---------------------------------------------------------------- 201 unwound after financing


def test_financed_order_disputed_then_cancelled() -> None:
    s = Stream()
    s.setup_chain()
    lid, oid = pledge_loan(s)
    s.ship(oid)
    s.dispute(oid, SUP_A)
    dispute_tx = s.tx
    s.resolve(oid, 7)  # cancelled
    found = run(s.records)
    assert [(f.subject, f.subject_id, f.indicator, f.severity) for f in found] == [
        ("loan", lid, Indicator.ORDER_UNWOUND_AFTER_FINANCING, Severity.MEDIUM),
        ("loan", lid, Indicator.ORDER_UNWOUND_AFTER_FINANCING, Severity.HIGH),
    ]
    assert found[0].evidence["tx"] == dispute_tx and found[0].evidence["how"] == "disputed"
    assert found[0].evidence["as"] == "purpose order" and found[0].evidence["seller"] == SUP_B
    assert found[1].evidence["how"] == "cancelled"


def test_collateral_order_cancelled_reaches_its_loan() -> None:
    s = Stream()
    s.setup_chain()
    sale = s.place(CORE, SUP_B, 200_000)
    s.accept(sale)
    right = s.register_asset(3, sale, CORE, SUP_B, 200_000)  # future goods of the core's purchase
    lid = s.loan(2, CORE, right, sale, 150_000, 30 * DAY)
    s.cancel(sale, CORE)
    found = run(s.records)
    assert [(f.subject_id, f.indicator, f.severity) for f in found] == [
        (lid, Indicator.ORDER_UNWOUND_AFTER_FINANCING, Severity.HIGH)]


def test_unfinanced_or_undisbursed_orders_may_be_cancelled() -> None:
    s = Stream()
    s.setup_chain()
    oid = s.place(SUP_A, SUP_B, 10_000)
    s.cancel(oid, SUP_B)
    other = s.place(SUP_A, SUP_B, 10_000)
    s.accept(other)
    asset = s.warehouse_receipt(SUP_A, 50_000)
    s._begin("apply")
    s.emit("LoanBook", "LoanApplied", loanId=9, mode=0, borrower=SUP_A, lender=BANK, guarantor=CORE,
           assetId=asset, purposeOrderId=other, currency=s.orders[other]["currency"], principal=5_000,
           rateBps=500, termSeconds=DAY)
    s.cancel(other, SUP_A)  # applied, never disbursed: nothing was financed
    repaid_lid, repaid_order = pledge_loan(s, term=10 * DAY)
    s.repay(repaid_lid, 200_000)
    s.ship(repaid_order)
    s.dispute(repaid_order, SUP_A)  # the loan is closed
    assert run(s.records, tick_every=None) == []


# ---------------------------------------------------------------- 202 invoice without delivery


def test_invoice_document_without_delivery() -> None:
    s = Stream()
    s.setup_chain()
    oid = s.place(CORE, SUP_A, 80_000)
    s.accept(oid)
    s.attach_invoice_document(oid)
    invoiced_at = s.time
    engine = RiskEngine()
    assert run(s.records, engine, tick_every=None) == []
    assert engine.tick(invoiced_at + 3 * DAY - 1, s.block) == []
    found = engine.tick(invoiced_at + 3 * DAY, s.block)
    assert [(f.subject, f.subject_id, f.indicator, f.severity) for f in found] == [
        ("chain", CHAIN, Indicator.INVOICE_WITHOUT_DELIVERY, Severity.MEDIUM)]
    assert found[0].evidence["order"] == oid and found[0].evidence["why"] == "never delivered"
    assert engine.tick(invoiced_at + 9 * DAY, s.block) == []


def test_invoice_delivered_by_a_party_of_the_order_on_a_financed_order() -> None:
    s = Stream()
    s.setup_chain()
    lid, oid = pledge_loan(s, borrower=CORE, seller=SUP_A, term=200 * DAY)
    s.ship(oid, warehouse=CORE)
    s.deliver(oid, by=CORE)
    s.invoice(oid)
    found = run(s.records, until=s.time + 4 * DAY)
    assert [(f.subject, f.subject_id, f.indicator, f.severity) for f in found] == [
        ("loan", lid, Indicator.INVOICE_WITHOUT_DELIVERY, Severity.HIGH)]
    assert found[0].evidence["delivered_by"] == CORE


def test_invoice_near_misses() -> None:
    s = Stream()
    s.setup_chain()
    oid = s.place(CORE, SUP_A, 80_000)
    s.accept(oid)
    s.attach_invoice_document(oid)
    s.wait(2 * DAY)
    s.ship(oid)
    s.deliver(oid)  # the warehouse confirms within the grace
    s.invoice(oid)
    s.trade(DIST, CORE, 10_000, settle=False)  # invoiced, delivered, not yet paid
    assert run(s.records, until=s.time + 30 * DAY) == []


# ---------------------------------------------------------------- 203 goods missing


def test_oracle_breaches_on_a_loan_are_left_to_the_oracle_itself() -> None:
    """The oracle raises goods missing and margin calls on a loan through IAlertSink: no second alert."""
    s = Stream()
    s.setup_chain()
    lid, _ = pledge_loan(s)
    asset = s.next_asset - 1
    s.breach(asset, lid, 0)
    s.margin_call(lid, asset)
    assert run(s.records) == []


def test_oracle_without_loan_targets_the_owner() -> None:
    s = Stream()
    s.setup_chain()
    asset = s.warehouse_receipt(SUP_B, 10_000)
    s.breach(asset, 0, 1)  # temperature: not goods missing
    s.breach(asset, 0, 0)
    s.breach(asset, 0, 0)  # the same breach read again
    s.breach(99, 0, 0)  # unknown asset, no loan: nobody to target
    found = run(s.records)
    assert [(f.subject, f.subject_id, f.indicator) for f in found] == [("chain", CHAIN, Indicator.GOODS_MISSING)]


# ---------------------------------------------------------------- 401 circular trading


def circle(amounts: tuple[int, int, int]) -> Stream:
    s = Stream()
    s.setup_chain()
    s.trade(SUP_B, SUP_A, amounts[0], settle=False)  # A -> B
    s.wait(5 * DAY)
    s.trade(DIST, SUP_B, amounts[1], settle=False)  # B -> D
    s.wait(5 * DAY)
    s.trade(SUP_A, DIST, amounts[2], settle=False)  # D -> A
    return s


def test_circular_trading_fires_once_per_cycle() -> None:
    s = circle((100_000, 97_000, 103_000))
    closing_tx = s.tx
    engine = RiskEngine()
    found = run(s.records, engine, tick_every=None)
    assert codes(found) == [Indicator.CIRCULAR_TRADING]
    f = found[0]
    assert (f.subject, f.subject_id, f.severity) == ("chain", CHAIN, Severity.HIGH)
    assert sorted(f.evidence["members"]) == sorted([SUP_A, SUP_B, DIST])
    assert sorted(e["amount"] for e in f.evidence["edges"]) == [97_000, 100_000, 103_000]
    assert sorted(o for e in f.evidence["edges"] for o in e["orders"]) == [1, 2, 3]
    assert f.evidence["tx"] == closing_tx and not f.evidence["financed"]
    # Another lap of the same circle inside the window is the same situation.
    more = Stream(time=s.time, block=s.block)
    more.next_order = s.next_order
    more.trade(SUP_B, SUP_A, 100_000, settle=False)
    more.trade(DIST, SUP_B, 100_000, settle=False)
    more.trade(SUP_A, DIST, 100_000, settle=False)
    assert run(more.records, engine, tick_every=None) == []
    # Months later the old orders have left the window: a new lap is a new finding.
    later = Stream(time=s.time + 120 * DAY, block=s.block + 10**6)
    later.next_order = more.next_order
    later.trade(SUP_B, SUP_A, 50_000, settle=False)
    later.trade(DIST, SUP_B, 50_000, settle=False)
    later.trade(SUP_A, DIST, 50_000, settle=False)
    again = run(later.records, engine, tick_every=None)
    assert codes(again) == [Indicator.CIRCULAR_TRADING] and again[0].key != f.key


def test_two_way_wash_trade_and_financed_cycle() -> None:
    s = Stream()
    s.setup_chain()
    _lid, oid = pledge_loan(s, borrower=SUP_B, seller=SUP_A, principal=100_000, term=200 * DAY)
    s.ship(oid)
    s.deliver(oid)
    s.invoice(oid)  # A -> B, financed
    s.trade(SUP_A, SUP_B, 99_000, settle=False)  # B -> A
    found = run(s.records, tick_every=None)
    assert [(f.indicator, f.severity) for f in found] == [(Indicator.CIRCULAR_TRADING, Severity.CRITICAL)]
    assert found[0].evidence["financed"] is True


def test_circular_trading_across_chains_fires_on_both_chains() -> None:
    """SUP_A (chain 1) and OUTSIDER (chain 2) invoice each other nearly the same amounts by orders across
    chains: one graph per currency sees the cycle, and each chain's lenders are told."""
    s = Stream()
    s.setup_chain()
    s.trade(SUP_A, OUTSIDER, 100_000, settle=False, chain=CHAIN, seller_chain=2)
    s.trade(OUTSIDER, SUP_A, 98_000, settle=False, chain=2, seller_chain=CHAIN)
    found = run(s.records, tick_every=None)
    assert [(f.indicator, f.subject, f.subject_id) for f in found] == [
        (Indicator.CIRCULAR_TRADING, "chain", CHAIN), (Indicator.CIRCULAR_TRADING, "chain", 2)]
    assert sorted(found[0].evidence["members"]) == sorted([SUP_A, OUTSIDER])
    assert found[0].evidence == found[1].evidence


def test_receivable_without_shipment_across_chains_fires_on_both_chains() -> None:
    s = Stream()
    s.setup_chain()
    oid = s.place(SUP_A, OUTSIDER, 150_000, seller_chain=2)
    s.accept(oid)
    s.attach_invoice_document(oid)
    s.receivable(oid)  # never shipped
    found = only(run(s.records, tick_every=None), Indicator.RECEIVABLE_WITHOUT_SHIPMENT)
    assert [(f.subject, f.subject_id) for f in found] == [("chain", CHAIN), ("chain", 2)]
    assert found[0].evidence["creditor"] == OUTSIDER and found[0].evidence["debtor"] == SUP_A


def test_counterparty_chain_evicted_targets_loans_financing_orders_across_chains_into_it() -> None:
    s = Stream()
    s.setup_chain()
    across = s.place(SUP_A, OUTSIDER, 60_000, seller_chain=2)  # SUP_A (chain 1) buys from OUTSIDER (chain 2)
    s.accept(across)
    exposed = s.loan(0, SUP_A, s.warehouse_receipt(SUP_A, 120_000), across, 60_000, 30 * DAY)
    within = s.place(SUP_B, DIST, 50_000)  # a loan on an order inside chain 1: not exposed
    s.accept(within)
    s.loan(0, SUP_B, s.warehouse_receipt(SUP_B, 100_000), within, 50_000, 30 * DAY)
    s.evict_chain(3)  # another chain: nothing of chain 1 touches it
    s.evict_chain(2)
    found = only(run(s.records, tick_every=None), Indicator.COUNTERPARTY_CHAIN_EVICTED)
    assert [(f.subject, f.subject_id, f.severity) for f in found] == [("loan", exposed, Severity.HIGH)]
    assert found[0].evidence == {"evicted_chain": 2, "borrower": SUP_A, "orders": [across], "tx": s.tx}


def test_counterparty_chain_evicted_leaves_the_evicted_chains_own_loans_to_the_sweep() -> None:
    s = Stream()
    s.setup_chain()
    across = s.place(SUP_A, OUTSIDER, 60_000, seller_chain=2)
    s.accept(across)
    s.loan(0, SUP_A, s.warehouse_receipt(SUP_A, 120_000), across, 60_000, 30 * DAY)
    s.evict_chain(CHAIN)  # the borrower's own chain: RiskControl sweeps it on chain
    assert only(run(s.records, tick_every=None), Indicator.COUNTERPARTY_CHAIN_EVICTED) == []


def test_circular_near_misses() -> None:
    # The circle's amounts differ by far more than 10 %.
    assert run(circle((100_000, 60_000, 100_000)).records) == []
    # A normal pair trading both ways occasionally, very different amounts.
    s = Stream()
    s.setup_chain()
    s.trade(SUP_B, SUP_A, 100_000)
    s.trade(SUP_A, SUP_B, 30_000)
    s.trade(SUP_B, SUP_A, 80_000)
    # One direction: supplier -> manufacturer -> distributor, week after week.
    for _ in range(6):
        s.trade(CORE, SUP_A, 100_000)
        s.trade(DIST, CORE, 100_000)
        s.wait(7 * DAY)
    assert run(s.records) == []
    # The same circle with its orders further apart than the 90-day window.
    s = Stream()
    s.setup_chain()
    s.trade(SUP_B, SUP_A, 100_000, settle=False)
    s.wait(50 * DAY)
    s.trade(DIST, SUP_B, 100_000, settle=False)
    s.wait(50 * DAY)
    s.trade(SUP_A, DIST, 100_000, settle=False)
    assert run(s.records) == []


# ---------------------------------------------------------------- 402 receivable without shipment


def test_receivable_without_shipment_then_financed() -> None:
    s = Stream()
    s.setup_chain()
    oid = s.place(CORE, SUP_A, 150_000)
    s.accept(oid)
    s.attach_invoice_document(oid)
    aid = s.receivable(oid)  # never shipped
    reg_tx = s.records[-2].tx
    purpose = s.place(SUP_A, SUP_B, 50_000)
    s.accept(purpose)
    lid = s.loan(1, SUP_A, aid, purpose, 100_000, 30 * DAY, collateral_order=oid)
    found = only(run(s.records, tick_every=None), Indicator.RECEIVABLE_WITHOUT_SHIPMENT)
    assert [(f.subject, f.subject_id, f.severity) for f in found] == [
        ("chain", CHAIN, Severity.HIGH), ("loan", lid, Severity.CRITICAL)]
    assert found[0].evidence["asset"] == aid and found[0].evidence["why"] == "never shipped"
    assert found[0].evidence["creditor"] == SUP_A and found[0].evidence["debtor"] == CORE
    assert found[0].evidence["tx"] == reg_tx


def test_receivable_carried_by_its_own_seller() -> None:
    s = Stream()
    s.setup_chain()
    oid = s.place(CORE, SUP_A, 150_000)
    s.accept(oid)
    s.ship(oid, carrier=SUP_A)
    s.deliver(oid)
    s.invoice(oid)
    s.register_asset(1, oid, SUP_A, CORE, 150_000)  # a payable
    found = run(s.records, tick_every=None)
    assert [(f.indicator, f.evidence["kind"], f.evidence["why"]) for f in found] == [
        (Indicator.RECEIVABLE_WITHOUT_SHIPMENT, "payable", "carried by its own buyer or seller")]


def test_shipped_receivable_is_silent() -> None:
    s = Stream()
    s.setup_chain()
    oid = s.trade(CORE, SUP_A, 150_000, settle=False)
    s.receivable(oid)
    s.warehouse_receipt(SUP_A, 10_000)  # receipts are not claims
    assert run(s.records) == []
