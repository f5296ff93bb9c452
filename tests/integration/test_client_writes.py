"""One convention for integrators (``vscm.client``): every write has a builder form that the pipeline takes, and
every write returns one typed ``WriteResult``.

The batched integration below spells no ABI tuple, selector or token address: each transaction is a facade's
built write (``facade.as_(signer).build.<write>(...)``), submitted to a ``Pipeline`` round by round, and each
outcome is read back as the same typed result a sent write gives.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from financing_support import Fin
from harness import b32

from vscm.chain.pipeline import CallEncoder, Pipeline
from vscm.chain.tx import ContractCall, TxRequest
from vscm.client.facade import Event, Payment, WriteResult
from vscm.client.platform import CashFacade, LoansFacade, OrdersFacade
from vscm.client.records import LoanMode, LoanStatus, OrderStatus, Role, Severity
from vscm.errors import InputError

DAY = 86_400
#: Fixed gas for a write that depends on another write of the same round (it cannot be estimated before).
GAS = 600_000


def submit_round(pipe: Pipeline, writes: list[tuple[Any, TxRequest[Any]]], gas: int | None = None) -> list[Any]:
    """Submit each (signer, built write), wait for the round, and return each write's typed result."""
    sent = [pipe.submit(signer, request, gas=gas) for signer, request in writes]
    outcome = pipe.wait()
    assert [r.status for r in outcome] == ["mined"] * len(outcome), [(r.label, r.error) for r in outcome]
    return [request.result(s) for (_, request), s in zip(writes, sent)]


def test_a_batched_integration_builds_every_write_through_the_facades(fresh):
    w = fresh
    platform, p = w.platform, w.p
    orders, assets, loans = platform.orders, platform.assets, platform.loans
    due = w.now() + 90 * DAY
    seller_before = platform.cash("CNY").balance(p.seller.address)
    with Pipeline(w.chain) as pipe:
        # 1: the core orders from supplier2 (to be financed) and from the seller (to be settled); supplier2 orders
        # from the supplier (the loan's purpose)
        placed = submit_round(pipe, [
            (p.core, orders.as_(p.core).build.place(p.supplier2.address, w.chain_id, "CNY", 180_000_00, due)),
            (p.core, orders.as_(p.core).build.place(p.seller.address, w.chain_id, "CNY", 50_000_00, due)),
            (p.supplier2, orders.as_(p.supplier2).build.place(p.supplier.address, w.chain_id, "CNY", 60_000_00,
                                                              due))])
        financed, settled, purpose = (r.id for r in placed)
        assert all(isinstance(r, WriteResult) and type(r.id) is int for r in placed)
        assert [r.event["amount"] for r in placed] == [180_000_00, 50_000_00, 60_000_00]
        # 2: each seller accepts and ships (one signer: nonce order keeps accept before ship)
        by = {financed: p.supplier2, settled: p.seller}
        submit_round(pipe, [w_ for oid, s in by.items() for w_ in (
            (s, orders.as_(s).build.accept(oid)),
            (s, orders.as_(s).build.ship(oid, p.carrier.address, p.warehouse.address)))], gas=GAS)
        # 3, 4: the warehouse delivers, each seller invoices
        submit_round(pipe, [(p.warehouse, orders.as_(p.warehouse).build.deliver(oid)) for oid in by])
        submit_round(pipe, [(s, orders.as_(s).build.invoice(oid, f"INV-{oid}", b32(f"inv-{oid}")))
                            for oid, s in by.items()])
        # 5: the core settles (built with the approve before it and the approve that puts the allowance back after
        # it, as a prepaid part is not taken); supplier2 registers its receivable
        settle = orders.as_(p.core).build.settle(settled)
        assert [(b.label, b.call.args) for b in (*settle.before, *settle.after)] == [
            ("PlatformCash.approve", (orders.address, 50_000_00)), ("PlatformCash.approve", (orders.address, 0))]
        paid, registered = submit_round(pipe, [(p.core, settle),
                                               (p.supplier2, assets.as_(p.supplier2).build.register_receivable(
                                                   financed))], gas=GAS)
        assert paid.id is None and paid.event is None
        assert [(e.contract, e.name) for e in paid.events] == [("OrderBook", "OrderSettled"),
                                                               ("PlatformCash", "Transfer")]
        assert paid.named("OrderSettled") == [{"orderId": settled, "payer": p.core.address,
                                               "payee": p.seller.address, "amount": 50_000_00}]
        assert [e.address for e in paid.events] == [orders.address, platform.cash("CNY").address]
        asset_id = registered.id
        # 6, 7: the core confirms the receivable; supplier2 applies for a loan on it (the Application tuple is
        # the facade's business)
        submit_round(pipe, [(p.core, assets.as_(p.core).build.confirm_receivable(asset_id))])
        (applied,) = submit_round(pipe, [(p.supplier2, loans.as_(p.supplier2).build.apply(
            LoanMode.RECEIVABLE, asset_id, p.bank.address, 150_000_00, 550, 30 * DAY, purpose))])

    assert orders.order(settled, with_documents=False).status == OrderStatus.SETTLED
    assert platform.cash("CNY").balance(p.seller.address) == seller_before + 50_000_00
    assert platform.cash("CNY").allowance(p.core.address, orders.address) == 0
    loan = loans.loan(applied.id)
    assert (loan.status, loan.asset_id, loan.purpose_order_id, loan.principal, loan.borrower) == (
        LoanStatus.APPLIED, asset_id, purpose, 150_000_00, p.supplier2.address)
    assert applied.event["loanId"] == applied.id and type(applied.id) is int


def check_result(result: WriteResult[Any], contract: str, own: str | None) -> None:
    """A sent write's result agrees with its receipt, and names its own event."""
    receipt = result.receipt
    assert result.tx_hash == "0x" + bytes(receipt["transactionHash"]).hex()
    assert (result.gas_used, result.block) == (receipt["gasUsed"], receipt["blockNumber"])
    assert result["logs"] == receipt["logs"]  # a result reads as its receipt
    assert all(isinstance(e, Event) for e in result.events) and len(result.events) <= len(receipt["logs"])
    if own is None:
        assert result.event is None and result.id is None
    else:
        assert result.event == result.named(own)[0]
        assert any(e.name == own and e.contract == contract for e in result.events)


def test_each_facade_write_returns_one_typed_result(fresh):
    w = fresh
    platform, p = w.platform, w.p
    joining = platform.members.as_(p.warehouse).request_join(w.chain_id)
    check_result(joining, "MemberRegistry", None)
    assert joining.events and {e.contract for e in joining.events} == {"MemberRegistry"}

    minted = platform.cash("CNY").as_(p.bank).mint(p.supplier.address, 1_00, b32("dep"))
    check_result(minted, "PlatformCash", None)
    assert minted.named("Transfer") == [{"from": "0x" + "00" * 20, "to": p.supplier.address, "value": 1_00}]

    placed = platform.orders.as_(p.core).place(p.supplier.address, w.chain_id, "CNY", 90_000_00, w.now() + DAY)
    check_result(placed, "OrderBook", "OrderPlaced")
    assert placed.id == platform.orders.count()
    accepted = platform.orders.as_(p.supplier).accept(placed.id)
    check_result(accepted, "OrderBook", None)
    assert [e.name for e in accepted.events] == ["OrderAccepted"]

    receipt = platform.assets.as_(p.warehouse).register_receipt(p.supplier.address, "LOT-W", 10, "t", "CNY", 5_00)
    check_result(receipt, "AssetRegistry", "AssetRegistered")
    assert receipt.id == platform.assets.count() and {e.name for e in receipt.events} >= {"ReceiptDetails"}

    purpose = platform.orders.as_(p.supplier).place(p.seller.address, w.chain_id, "CNY", 3_00, w.now() + DAY)
    applied = platform.loans.as_(p.supplier).apply(LoanMode.PLEDGE, receipt.id, p.bank.address, 4_00, 500,
                                                   30 * DAY, purpose.id, p.core.address)
    check_result(applied, "LoanBook", "LoanApplied")
    assert applied.id == platform.loans.count()

    alert = platform.risk.as_(p.monitor).raise_chain_alert(w.chain_id, 401, Severity.LOW, b32("typed"))
    check_result(alert, "RiskControl", "AlertRaised")
    assert platform.risk.alert(alert.id).indicator == 401

    consent = platform.consents.as_(p.supplier).grant_consent(p.bank.address, w.now() + DAY)
    check_result(consent, "ConsentRegistry", None)
    assert len(consent.events) == 1 and consent.events[0].contract == "ConsentRegistry"

    signers = platform.oracle.as_(p.operator).set_signers([p.oracle.address], 1)
    check_result(signers, "TelemetryOracle", "SignerSetChanged")
    assert signers.id == platform.oracle.signer_set()[0]

    granted = platform.members.as_(p.bank).attest(p.core2.address, Role.FINANCIER)
    check_result(granted, "MemberRegistry", None)

    deal = Fin(w).receivable_loan()
    spent = platform.funds.as_(deal.borrower).spend(deal.loan_id, p.supplier.address, 1_00, "goods")
    check_result(spent, "FundTracker", None)
    assert {(e.contract, e.name) for e in spent.events} >= {("FundTracker", "FundsMoved"), ("PlatformCash", "Transfer")}
    platform.cash("CNY").as_(p.bank).mint(deal.borrower.address, 1_00, b32("dep-repay"))
    repaid = platform.loans.as_(deal.borrower).repay(deal.loan_id, 1_00)
    check_result(repaid, "LoanBook", None)
    assert repaid.named("LoanRepayment") and repaid.id is None


def test_a_built_write_is_checked_before_it_is_sent(fresh):
    w = fresh
    platform, p = w.platform, w.p
    built = platform.orders.as_(p.core).build.place(p.supplier.address, w.chain_id, "CNY", 1_00, w.now() + DAY)
    assert (built.label, built.signer) == ("OrderBook.place", p.core.address)
    with Pipeline(w.chain) as pipe, pytest.raises(InputError, match="was built for signer"):
        pipe.submit(p.supplier, built)
    with pytest.raises(InputError, match="is not a write"):
        platform.orders.build.count()
    with pytest.raises(AttributeError):
        platform.orders.build.no_such_write  # noqa: B018
    placed = platform.orders.as_(p.core).place(p.supplier.address, w.chain_id, "CNY", 1_00, w.now() + DAY)
    settle = platform.orders.as_(p.core).build.settle(placed.id)
    with Pipeline(w.chain) as pipe, pytest.raises(InputError, match="give gas="):
        pipe.submit(p.core, settle)
    with pytest.raises(InputError, match="more write"):
        w.chain.sender.transact(p.core, settle)
    # a built write without writes around it is sent by the Sender too, and reads back the same way
    sent = w.chain.sender.transact(p.core, built)
    assert built.result(sent).id == placed.id + 1 == platform.orders.count()


def test_a_built_write_holds_its_call_unbound_and_is_sent_as_web3_would_encode_it(fresh):
    """Building makes no web3 ContractFunction (0.1-0.2 ms each): the call is a ContractCall the pipeline encodes
    from the ABI, bound to web3's only where one is needed; the same call data either way."""
    w = fresh
    platform, p = w.platform, w.p
    built = platform.orders.as_(p.core).build.accept(7)
    call = built.call
    assert isinstance(call, ContractCall) and (call.fn_name, call.args, call.address) == ("accept", (7,),
                                                                                          platform.orders.address)
    bound = call.bound()  # web3's, for the Sender
    assert (type(bound).__module__.split(".")[0], bound.fn_name, tuple(bound.args)) == ("web3", "accept", (7,))
    expected = platform.orders.contract.encode_abi("accept", args=[7])
    assert "0x" + CallEncoder().encode(call.contract_abi, call.address, call.fn_name, call.args).hex() == expected


def test_a_paying_write_given_its_payment_reads_nothing_before_it_is_built(fresh, monkeypatch):
    w = fresh
    platform, p = w.platform, w.p
    placed = platform.orders.as_(p.core).place(p.supplier.address, w.chain_id, "CNY", 7_00, w.now() + DAY)

    def no_read(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a read before building a paid write")

    for cls, name in ((OrdersFacade, "order"), (LoansFacade, "loan"), (CashFacade, "allowance")):
        monkeypatch.setattr(cls, name, no_read)
    orders, loans = platform.orders.as_(p.core).build, platform.loans.as_(p.core).build
    settle = orders.settle(placed.id, payment=Payment("CNY", 7_00, whole=True))
    orders_address = platform.orders.address
    assert [(b.label, b.call.args) for b in settle.before] == [("PlatformCash.approve", (orders_address, 7_00))]
    assert settle.after == ()  # the whole amount is taken: no allowance is left to put back
    # not taken whole (a prepaid part): the allowance the signer had is put back after it
    partial = orders.settle(placed.id, payment=Payment("CNY", 7_00, allowance=3_00))
    assert [b.call.args for b in (*partial.before, *partial.after)] == [(orders_address, 7_00), (orders_address, 3_00)]
    for write in (loans.disburse(1, payment=Payment("CNY", 9_00)),
                  loans.sign_guarantee(1, payment=Payment("CNY", 9_00))):
        assert [b.call.args for b in write.before] == [(platform.loans.address, 9_00)] and write.after == ()
    repay = loans.repay(1, 4_00, payment=Payment("CNY", 4_00, whole=True))
    assert [b.call.args for b in repay.before] == [(platform.loans.address, 4_00)] and repay.after == ()
    with pytest.raises(InputError, match="given a payment of 5"):
        loans.repay(1, 4_00, payment=Payment("CNY", 5))


def test_a_paid_settlement_built_and_sent_through_the_pipeline_settles_the_order(fresh):
    w = fresh
    platform, p = w.platform, w.p
    placed = platform.orders.as_(p.core).place(p.seller.address, w.chain_id, "CNY", 6_00, w.now() + DAY)
    platform.orders.as_(p.seller).accept(placed.id)
    platform.orders.as_(p.seller).ship(placed.id, p.carrier.address, p.warehouse.address)
    platform.orders.as_(p.warehouse).deliver(placed.id)
    platform.orders.as_(p.seller).invoice(placed.id, "INV-PAID", b32("inv-paid"))
    seller_before = platform.cash("CNY").balance(p.seller.address)
    with Pipeline(w.chain) as pipe:
        (paid,) = submit_round(pipe, [(p.core, platform.orders.as_(p.core).build.settle(
            placed.id, payment=Payment("CNY", 6_00, whole=True)))], gas=GAS)
    assert paid.named("OrderSettled")[0]["amount"] == 6_00
    assert platform.cash("CNY").balance(p.seller.address) == seller_before + 6_00
    assert platform.cash("CNY").allowance(p.core.address, platform.orders.address) == 0


def test_the_readme_client_snippet_runs_as_written():
    """Docs as tests: the ``python`` block of the README's client section, executed as it stands."""
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = text[text.index("\n## The client library"):]
    section = section[:section.index("\n## ", 1)]
    block = section[section.index("```python\n") + 10:]
    exec(compile(block[:block.index("```\n")], "README.md#client", "exec"), {})  # noqa: S102
