"""A member's credit profile from the lenders' index: every figure checked against a count done by hand
on a history built here, each with the transactions it was computed from."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from financing_support import DAY, Fin, b32

from vscm.audit.audit import audit_chain
from vscm.audit.source import source_for
from vscm.client.records import DocKind, OrderStatus
from vscm.errors import ContractRevert, NotFound
from vscm.index import Index, open_index
from vscm.underwriting import credit_profile
from vscm.underwriting.consent import ConsentRequired, access, consents, index_now, require
from vscm.underwriting.scorecard import score

NOW = 1_900_000_000  # consents are judged at a time the test gives


def tx_of(receipt: Any) -> str:
    return "0x" + bytes(receipt["transactionHash"]).hex()


@pytest.fixture
def story(fresh: Any, tmp_path: Path) -> dict[str, Any]:
    """The seller's history, counted by hand:

    o1 CNY 100.00 from core, settled on time, one contract attached; o2 USD 40.00 from supplier due in a
    day, settled a day and an hour after that (late by whole days, rounded up); o3 CNY 10.00 from core, cancelled; o4
    CNY 5.00 from core, delivered and disputed; then a prepayment loan of 200,000.00 on o5 (250,000.00 from core),
    repaid in full before maturity.
    """
    fin, p, platform, chain = Fin(fresh), fresh.p, fresh.platform, fresh.chain
    orders = platform.orders
    platform.cash("CNY").as_(p.seller).approve(orders.address, 100_00)
    o1 = fin.order(p.seller, p.core, 100_00, OrderStatus.SETTLED)
    contract = orders.as_(p.seller).attach(o1, DocKind.CONTRACT, b32("o1 contract"))
    o2 = fin.order(p.seller, p.supplier, 40_00, OrderStatus.INVOICED, currency="USD", due_in=DAY)
    chain.time_travel(DAY + 3600)
    platform.cash("USD").as_(p.seller).approve(orders.address, 40_00)
    late = orders.as_(p.seller).settle(o2)
    o3 = fin.order(p.seller, p.core, 10_00, OrderStatus.PLACED)
    cancelled = orders.as_(p.seller).cancel(o3)
    o4 = fin.order(p.seller, p.core, 5_00, OrderStatus.DELIVERED)
    disputed = orders.as_(p.seller).dispute(o4, b32("o4 short"))
    deal = fin.prepayment_loan()
    repaid = fin.repay(deal, 201_000_00)
    index = open_index(tmp_path / "index.sqlite")
    index.update(source_for(chain), platform.deployment)
    return {"index": index, "fin": fin, "deal": deal, "orders": (o1, o2, o3, o4, deal.asset_order_id),
            "tx": {"contract": tx_of(contract), "late": tx_of(late), "cancelled": tx_of(cancelled),
                   "disputed": tx_of(disputed), "repaid": tx_of(repaid)}}


def value(figure: dict[str, Any]) -> Any:
    return figure["value"]


def txs(figure: dict[str, Any]) -> list[str]:
    return [e["tx"] for e in figure["evidence"]]


def test_trade_counts_orders_value_per_currency_and_concentration(story: dict[str, Any], p: Any) -> None:
    profile = credit_profile(story["index"], p.seller.address)
    trade = profile["trade"]
    months = trade["orders_by_month"]
    assert sum(value(m["as_buyer"]) for m in months.values()) == 5
    assert sum(value(m["as_seller"]) for m in months.values()) == 0
    # o3 was cancelled: not in the value; CNY and USD never added together
    assert value(trade["value"]["CNY"]["bought"]) == 100_00 + 5_00 + 250_000_00
    assert value(trade["value"]["USD"]["bought"]) == 40_00
    assert value(trade["counterparties"]) == 2
    assert trade["concentration"]["value"] == 0.8 and trade["concentration"]["counterparty"] == "Core Manufacturing"
    assert len(trade["concentration"]["evidence"]) == 4
    assert trade["tenure"]["chain"] == 1 and trade["tenure"]["platform_since"].endswith("+00:00")
    assert value(trade["tenure"]["platform_days"]) >= 1


def test_performance_counts_late_payments_cancellations_disputes_and_documents(story: dict[str, Any],
                                                                               p: Any) -> None:
    perf = credit_profile(story["index"], p.seller.address)["performance"]
    paid = perf["invoices_paid"]
    assert value(paid["on_time"]) == 1 and value(paid["late"]) == 1
    assert txs(paid["late"]) == [story["tx"]["late"]]
    due = story["fin"].platform.orders.order(story["orders"][1], with_documents=False).due_date
    settled = story["index"].block_timestamp(paid["late"]["evidence"][0]["block"])
    days = -(-(settled - due) // DAY)  # whole days late, rounded up
    assert days >= 1
    assert value(paid["max_days_late"]) == days and value(paid["mean_days_late"]) == float(days)
    assert value(paid["overdue_unsettled"]) == 0
    assert value(perf["cancelled"]) == 1 and txs(perf["cancelled"]) == [story["tx"]["cancelled"]]
    assert value(perf["disputed"]) == 1 and txs(perf["disputed"]) == [story["tx"]["disputed"]]
    # invoicing attaches the invoice: o1's and o2's, and o1's contract, over five orders
    assert value(perf["documents_per_order"]) == 0.6 and len(txs(perf["documents_per_order"])) == 3
    assert story["tx"]["contract"] in txs(perf["documents_per_order"])
    assert value(perf["deliveries"]["on_time"]) == 0  # the seller delivered nothing: it only bought


def test_credit_counts_loans_by_mode_and_outcome(story: dict[str, Any], p: Any) -> None:
    credit = credit_profile(story["index"], p.seller.address)["credit"]
    prepayment = credit["loans"]["prepayment"]
    assert value(prepayment["applied"]) == 1 and value(prepayment["repaid_on_time"]) == 1
    assert txs(prepayment["repaid_on_time"]) == [story["tx"]["repaid"]]
    assert all(value(prepayment[k]) == 0 for k in ("repaid_late", "recalled", "defaulted", "written_off", "running"))
    assert list(credit["loans"]) == ["prepayment"]
    assert value(credit["borrowed"]["CNY"]) == 200_000_00
    assert credit["outstanding"] == {}


def test_a_running_loan_is_outstanding_and_a_guarantee_is_given(fresh: Any, tmp_path: Path) -> None:
    fin, p = Fin(fresh), fresh.p
    deal = fin.pledge()  # supplier borrows 200,000.00, core guarantees
    fin.repay(deal, 50_000_00)
    with open_index(tmp_path / "ix.sqlite") as index:
        index.update(source_for(fresh.chain), fresh.platform.deployment)
        credit = credit_profile(index, p.supplier.address)["credit"]
        core = credit_profile(index, p.core.address)["credit"]
    assert value(credit["loans"]["pledge"]["running"]) == 1
    paid_principal = fresh.platform.loans.loan(deal.loan_id).principal_repaid
    assert value(credit["outstanding"]["CNY"]) == 200_000_00 - paid_principal
    assert len(credit["outstanding"]["CNY"]["evidence"]) == 2  # the disbursement and the repayment
    assert value(core["guarantees"]["given"]) == 1 and value(core["guarantees"]["called"]) == 0


def test_risk_shows_the_core_and_chain_status(story: dict[str, Any], p: Any) -> None:
    risk = credit_profile(story["index"], p.seller.address)["risk"]
    assert risk["core"]["name"] == "Core Manufacturing" and risk["core"]["status"] == "active"
    assert risk["chain"]["evicted"] is False and risk["chain"]["fraud_declared"] is False
    assert value(risk["alerts"]["on_loans"]) == 0 and value(risk["oracle_breaches"]) == 0


def test_as_of_a_past_time_leaves_out_what_came_after(story: dict[str, Any], p: Any) -> None:
    index: Index = story["index"]
    first = credit_profile(index, p.seller.address)
    placed_o4 = [e for m in first["trade"]["orders_by_month"].values() for e in m["as_buyer"]["evidence"]][3]
    at = index.block_timestamp(placed_o4["block"])
    earlier = credit_profile(index, p.seller.address, as_of=at)
    assert sum(value(m["as_buyer"]) for m in earlier["trade"]["orders_by_month"].values()) == 4
    assert earlier["credit"]["loans"] == {} and earlier["as_of_block"] == placed_o4["block"]


def test_a_stranger_has_no_profile(story: dict[str, Any], p: Any) -> None:
    with pytest.raises(NotFound, match="not a member"):
        credit_profile(story["index"], p.outsider.address)


def test_the_scorecard_on_the_story_shows_what_fired(story: dict[str, Any], p: Any) -> None:
    result = score(credit_profile(story["index"], p.seller.address))
    fired = {c["feature"]: c["points"] for c in result["contributions"] if c["fired"]}
    # 1 of 2 invoices late (0.5 >= 0.25), 2 of 5 orders unwound (0.4 >= 0.2), 0.6 documents per order (< 1)
    assert fired == {"late_payment": -30, "unwound": -10, "documents": -5}
    assert result["score"] == 55


# ---------------------------------------------------------------- consent (on chain, ConsentRegistry)


def _indexed(world: Any, index: Index) -> int:
    """Bring ``index`` up to the chain's head; the time consents are judged at (its last block's)."""
    index.update(source_for(world.chain), world.platform.deployment)
    return index_now(index)


@pytest.fixture
def ix(fresh: Any, tmp_path: Path) -> Iterator[Index]:
    with open_index(tmp_path / "consent.sqlite") as index:
        _indexed(fresh, index)
        yield index


def test_a_lender_without_consent_is_refused(fresh: Any, ix: Index, p: Any) -> None:
    with pytest.raises(ConsentRequired, match="no consent on chain"):
        require(ix, p.supplier.address, p.bank2.address, index_now(ix))
    assert fresh.platform.consents.has(p.supplier.address, p.bank2.address) is False


def test_a_grant_on_chain_gives_access_until_revoked(fresh: Any, ix: Index, p: Any) -> None:
    consents_ = fresh.platform.consents
    consents_.as_(p.supplier).grant_consent(p.bank2.address, fresh.chain.now() + 30 * DAY)
    now = _indexed(fresh, ix)
    assert require(ix, p.supplier.address, p.bank2.address, now).basis == "consent"
    assert access(ix, p.supplier.address, p.bank.address, now) is None  # granted to bank2 only
    assert consents_.has(p.supplier.address, p.bank2.address) is True
    consents_.as_(p.supplier).revoke_consent(p.bank2.address)
    now = _indexed(fresh, ix)
    assert access(ix, p.supplier.address, p.bank2.address, now) is None
    [revoked] = consents(ix, p.supplier.address)
    assert revoked.expires_at == 0 and revoked.revoked_at is not None
    assert consents_.expiry(p.supplier.address, p.bank2.address) == 0


def test_a_grant_expires_by_the_chains_clock(fresh: Any, ix: Index, p: Any) -> None:
    until = fresh.chain.now() + DAY
    fresh.platform.consents.as_(p.supplier).grant_consent(p.bank2.address, until)
    assert require(ix, p.supplier.address, p.bank2.address, _indexed(fresh, ix)).basis == "consent"
    fresh.chain.time_travel(DAY)
    now = _indexed(fresh, ix)
    assert now >= until and access(ix, p.supplier.address, p.bank2.address, now) is None
    assert fresh.platform.consents.has(p.supplier.address, p.bank2.address) is False
    with pytest.raises(ContractRevert, match="ConsentNotGranted"):  # nothing left to revoke
        fresh.platform.consents.as_(p.supplier).revoke_consent(p.bank2.address)


def test_the_chain_refuses_a_consent_nobody_may_give(fresh: Any, p: Any) -> None:
    c, now = fresh.platform.consents, fresh.chain.now()
    with pytest.raises(ContractRevert, match="ConsentBadExpiry"):
        c.as_(p.supplier).grant_consent(p.bank2.address, now)
    with pytest.raises(ContractRevert, match="ConsentBadExpiry"):
        c.as_(p.supplier).grant_consent(p.bank2.address, now + 731 * DAY)
    with pytest.raises(ContractRevert, match="ConsentNotLender"):
        c.as_(p.supplier).grant_consent(p.supplier2.address, now + DAY)  # not a financier
    with pytest.raises(ContractRevert, match="ConsentNotLender"):
        c.as_(p.bank).grant_consent(p.bank.address, now + DAY)  # itself
    with pytest.raises(ContractRevert, match="ConsentNotMember"):
        c.as_(p.outsider).grant_consent(p.bank2.address, now + DAY)
    with pytest.raises(ContractRevert, match="ConsentNotMember"):
        c.as_(p.operator).grant_consent(p.bank2.address, now + DAY)  # the operator key is no member


def test_the_audit_replays_consents_and_checks_them_against_the_contract(fresh: Any, p: Any) -> None:
    c = fresh.platform.consents
    c.as_(p.supplier).grant_consent(p.bank2.address, fresh.chain.now() + 9 * DAY)
    c.as_(p.core).grant_consent(p.bank.address, fresh.chain.now() + 3 * DAY)
    c.as_(p.supplier).revoke_consent(p.bank2.address)
    outcome = audit_chain(fresh.chain, fresh.platform.deployment)
    assert [str(f) for f in outcome.findings] == []
    table = outcome.result.state.table("consents")
    assert {(r["member"], r["lender"], r["expiresAt"] > 0) for r in table.values()} == {
        (p.supplier.address, p.bank2.address, False), (p.core.address, p.bank.address, True)}


def test_an_open_application_grants_its_lender_until_it_closes_and_the_auditor_sees_all(
        fresh: Any, tmp_path: Path, p: Any) -> None:
    deal = Fin(fresh).pledge(stage="applied", lender=p.bank2)
    with open_index(tmp_path / "ix.sqlite") as index:
        now = _indexed(fresh, index)
        assert require(index, p.supplier.address, p.bank2.address, now).basis == "application"
        assert require(index, p.supplier.address, p.auditor.address, now).basis == "auditor"
        assert access(index, p.supplier.address, p.bank.address, now) is None
        fresh.platform.loans.as_(p.bank2).reject(deal.loan_id, b32("no"))
        now = _indexed(fresh, index)
        assert access(index, p.supplier.address, p.bank2.address, now) is None


def test_profile_and_consent_work_on_postgresql(fresh: Any, request: pytest.FixtureRequest, p: Any) -> None:
    Fin(fresh).pledge()
    fresh.platform.consents.as_(p.supplier).grant_consent(p.bank2.address, fresh.chain.now() + DAY)
    schema = f"vscm_uw_{uuid.uuid4().hex[:10]}"
    index = open_index(request.getfixturevalue("postgres").url, schema=schema)
    try:
        now = _indexed(fresh, index)
        credit = credit_profile(index, p.supplier.address)["credit"]
        assert credit["loans"]["pledge"]["running"]["value"] == 1
        assert require(index, p.supplier.address, p.bank2.address, now).basis == "consent"
        assert access(index, p.supplier.address, p.bank2.address, now + DAY) is None
    finally:
        index.db.rollback()
        index.db.execute(f'DROP SCHEMA "{schema}" CASCADE')
        index.db.commit()
        index.close()


def test_a_loan_repaid_past_the_grace_after_maturity_is_late(fresh: Any, tmp_path: Path, p: Any) -> None:
    fin = Fin(fresh)
    deal = fin.prepayment_loan()
    maturity = fresh.platform.loans.loan(deal.loan_id).maturity
    fresh.chain.time_travel(maturity - fin.now() + 2 * DAY)  # past the 1-day grace of repayment.grace_seconds
    late = fin.repay(deal, 210_000_00)
    with open_index(tmp_path / "ix.sqlite") as index:
        index.update(source_for(fresh.chain), fresh.platform.deployment)
        loans = credit_profile(index, p.seller.address)["credit"]["loans"]["prepayment"]
        lenient = credit_profile(index, p.seller.address, grace_seconds=3 * DAY)["credit"]["loans"]["prepayment"]
    assert value(loans["repaid_late"]) == 1 and txs(loans["repaid_late"]) == [tx_of(late)]
    assert value(loans["repaid_on_time"]) == 0
    assert value(lenient["repaid_on_time"]) == 1
