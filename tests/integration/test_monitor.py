"""The risk monitor on a real (embedded) chain: it reads the platform's logs and failed transactions,
raises the engine's findings as RiskControl alerts signed by the monitor's key, keeps the evidence,
resumes from its cursor without raising anything twice, and refuses a reorganised cursor."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from eth_utils import keccak
from financing_support import Fin
from harness import b32

from vscm.client.platform import Platform
from vscm.client.records import Decision, LoanMode, LoanStatus, OrderStatus
from vscm.errors import ChainError, ContractRevert, InputError
from vscm.risk.events import Indicator
from vscm.risk.monitor import Monitor


@pytest.fixture
def fin(fresh: Any) -> Fin:
    return Fin(fresh)


def divert(fin: Fin, deal: Any, amount: int = 10_000_00) -> Any:
    """The borrower sends loan money to the seller (not a payee its loan allows) with a fixed gas
    limit, so that the refused transaction is mined (and fails) on chain."""
    fn = fin.platform.funds.contract.functions.spend(deal.loan_id, fin.p.seller.address, amount, b32("cash"))
    with pytest.raises(ContractRevert) as info:
        fin.chain.sender.transact(deal.borrower, fn, gas=300_000)
    assert info.value.name == "FundsPayeeNotAllowed"


def test_a_refused_payment_on_chain_becomes_an_alert_that_warns_the_loan(fin, tmp_path):
    deal = fin.pledge()
    monitor = Monitor(fin.platform, fin.p.monitor, tmp_path)
    assert monitor.step() == []

    divert(fin, deal)
    raised = monitor.step()

    assert len(raised) == 1
    alert = raised[0]
    assert (alert.finding.subject, alert.finding.subject_id, alert.finding.indicator) == (
        "loan", deal.loan_id, Indicator.PAYEE_NOT_ALLOWED)
    assert alert.alert_id == 1 and alert.error is None
    on_chain = fin.platform.risk.alert(1)
    assert (on_chain.subject_id, on_chain.indicator, on_chain.raised_by) == (
        deal.loan_id, 103, fin.p.monitor.address)
    assert "0x" + on_chain.evidence.hex() == alert.evidence
    assert fin.platform.loans.loan(deal.loan_id).status == LoanStatus.WARNED
    evidence = (tmp_path / "evidence" / f"{alert.evidence}.json").read_bytes()
    assert "0x" + keccak(evidence).hex() == alert.evidence
    assert json.loads(evidence)["evidence"]["payee"] == fin.p.seller.address
    assert monitor.step() == []


def test_a_refused_client_payment_is_mined_so_the_monitor_sees_it_unless_checked_first(fin, tmp_path):
    deal = fin.pledge()
    monitor = Monitor(fin.platform, fin.p.monitor, tmp_path)
    assert monitor.step() == []
    funds = fin.platform.funds.as_(deal.borrower)
    head = fin.chain.block_number()
    with pytest.raises(ContractRevert) as checked:
        funds.spend(deal.loan_id, fin.p.seller.address, 5_000_00, "cash")  # estimation refuses: nothing sent
    assert checked.value.name == "FundsPayeeNotAllowed" and checked.value.tx_hash is None
    assert fin.chain.block_number() == head and monitor.step() == []

    with pytest.raises(ContractRevert) as mined:
        funds.spend(deal.loan_id, fin.p.seller.address, 5_000_00, "cash", refusal_on_chain=True)
    assert mined.value.name == "FundsPayeeNotAllowed" and mined.value.tx_hash is not None
    assert fin.chain.w3.eth.get_transaction_receipt(mined.value.tx_hash)["status"] == 0
    raised = monitor.step()
    assert [(r.finding.subject_id, r.finding.indicator) for r in raised] == [
        (deal.loan_id, Indicator.PAYEE_NOT_ALLOWED)]
    assert raised[0].finding.evidence["tx"] == mined.value.tx_hash

    # The alert warned the loan, which froze its money at once; the lender's *continue* frees it, and
    # a payment the purpose allows then goes through the same path.
    seller = fin.platform.orders.order(deal.purpose_order_id, with_documents=False).seller
    with pytest.raises(ContractRevert) as frozen:
        funds.spend(deal.loan_id, seller, 5_000_00, "goods", refusal_on_chain=True)
    assert frozen.value.name == "FundsAreFrozen"
    fin.platform.risk.as_(deal.lender).decide(deal.loan_id, Decision.CONTINUE)
    receipt = funds.spend(deal.loan_id, seller, 5_000_00, "goods", refusal_on_chain=True)  # allowed: paid
    assert receipt["status"] == 1


def test_a_restarted_monitor_resumes_from_its_cursor_and_raises_nothing_twice(fin, tmp_path):
    first, second = fin.pledge(), fin.payable_loan()
    divert(fin, first)
    before = Monitor(fin.platform, fin.p.monitor, tmp_path)
    assert len(before.step()) == 1

    again = Monitor(fin.platform, fin.p.monitor, tmp_path)
    assert again.cursor == before.cursor
    assert again.step() == []
    divert(fin, second)
    raised = again.step()

    assert [r.finding.subject_id for r in raised] == [second.loan_id]
    assert fin.platform.risk.count() == 2


def test_a_dry_run_finds_but_raises_nothing(fin):
    deal = fin.pledge()
    divert(fin, deal)

    raised = Monitor(fin.platform, None, dry_run=True).step()

    assert [(r.finding.indicator, r.alert_id) for r in raised] == [(Indicator.PAYEE_NOT_ALLOWED, None)]
    assert fin.platform.risk.count() == 0
    assert fin.platform.loans.loan(deal.loan_id).status == LoanStatus.DISBURSED


def test_healthy_financing_raises_no_alert(fin):
    p = fin.p
    for mode in LoanMode:
        deal = fin.loan(mode)
        if mode != LoanMode.PREPAYMENT:   # a prepayment's money went to the seller when disbursed
            seller = fin.platform.orders.order(deal.purpose_order_id, with_documents=False).seller
            fin.platform.funds.as_(deal.borrower).spend(deal.loan_id, seller, 10_000_00, "goods")
        fin.repay(deal, fin.platform.loans.loan(deal.loan_id).outstanding_now + 1_000_00)
    fin.order(p.core, p.supplier, 50_000_00, to=OrderStatus.SETTLED)

    assert Monitor(fin.platform, p.monitor).step() == []
    assert fin.platform.risk.count() == 0


def test_a_reorganised_cursor_is_refused(fin, tmp_path):
    snapshot = fin.chain.snapshot()
    fin.mint(fin.p.core, 1_00)
    monitor = Monitor(fin.platform, fin.p.monitor, tmp_path)
    monitor.step()
    fin.chain.revert(snapshot)
    fin.mint(fin.p.seller, 2_00)     # a different block at the same height

    with pytest.raises(ChainError, match="reorganised"):
        Monitor(fin.platform, fin.p.monitor, tmp_path).step()


def test_a_cursor_beyond_a_shorter_reorganised_chain_is_refused_in_one_line(fin, tmp_path):
    snapshot = fin.chain.snapshot()
    fin.mint(fin.p.core, 1_00)
    fin.mint(fin.p.core, 2_00)
    monitor = Monitor(fin.platform, fin.p.monitor, tmp_path)
    monitor.step()
    fin.chain.revert(snapshot)  # the chain is now shorter than the monitor's cursor

    with pytest.raises(ChainError, match=f"block {monitor.cursor} the monitor read is no longer on the chain"):
        Monitor(fin.platform, fin.p.monitor, tmp_path).step()


def test_the_monitor_needs_a_risk_control_and_a_key(fin, tmp_path):
    bare = Platform(fin.chain, replace(fin.platform.deployment, risk=""))
    with pytest.raises(InputError, match="no RiskControl"):
        Monitor(bare, fin.p.monitor)
    with pytest.raises(InputError, match="its own key"):
        Monitor(fin.platform, None)
    Monitor(fin.platform, fin.p.monitor, tmp_path).step()
    other = Platform(fin.chain, replace(fin.platform.deployment, risk=fin.platform.deployment.loans))
    with pytest.raises(InputError, match="belongs to RiskControl"):
        Monitor(other, fin.p.monitor, tmp_path)


def test_an_alert_the_contract_refuses_is_reported_not_lost(fin):
    deal = fin.pledge()
    divert(fin, deal)
    fin.platform.members.as_(fin.p.operator).suspend(fin.p.monitor.address, b32("audit"))

    raised = Monitor(fin.platform, fin.p.monitor).step()

    assert raised[0].alert_id is None and "RiskNotMonitor" in (raised[0].error or "")


# The monitor process of the kill -9 drill: it raises the window's alerts and kills itself (SIGKILL,
# no cleanup, nothing flushed) right after the chain accepted alert number KILL_AFTER, before the
# monitor could save it.
DRILL = """
import json, os, signal, sys
from pathlib import Path
from eth_account import Account
from vscm.chain.backends import connect
from vscm.client.deployment import Deployment
from vscm.client.platform import Platform
from vscm.client.risk import RiskFacade
from vscm.risk.monitor import Monitor

url, manifest, key, state, kill_after = sys.argv[1:]
platform = Platform(connect(url), Deployment.from_dict(json.loads(manifest)))
real, sent = RiskFacade.raise_loan_alert, []

def raise_then_crash(self, *args):
    alert_id = real(self, *args)
    sent.append(alert_id)
    if len(sent) == int(kill_after):
        os.kill(os.getpid(), signal.SIGKILL)
    return alert_id

RiskFacade.raise_loan_alert = raise_then_crash
Monitor(platform, Account.from_key(key), Path(state)).step()
"""


@pytest.mark.anvil
def test_a_monitor_killed_between_alerts_raises_nothing_twice_after_restart(tmp_path):
    import os
    import signal
    import subprocess
    import sys

    from harness import make_parties, populate

    from vscm.chain.backends import connect

    with connect("anvil") as chain:
        fin = Fin(populate(chain, make_parties("vscm-monitor-drill")))
        deals = [fin.pledge(), fin.payable_loan(), fin.pledge()]
        for deal in deals:
            divert(fin, deal)
        run = [sys.executable, "-c", DRILL, chain.node.url, fin.platform.deployment.to_json(),
               "0x" + bytes(fin.p.monitor.key).hex(), str(tmp_path), "2"]

        crashed = subprocess.run(run, capture_output=True, text=True, timeout=600, check=False)

        assert crashed.returncode == -signal.SIGKILL, crashed.stderr
        assert fin.platform.risk.count() == 2  # alerts 1 and 2 went out; only 1 was saved
        saved = json.loads((tmp_path / "monitor.json").read_text())
        assert [r["alert_id"] for r in saved["raised"]] == [1]

        with connect(chain.node.url) as again:  # a new process would start with no nonce cache either
            raised = Monitor(Platform(again, fin.platform.deployment), fin.p.monitor, tmp_path).step()

        assert [(r.alert_id, r.error) for r in raised] == [(2, None), (3, None)]  # 2 found on chain, 3 new
        alerts = fin.platform.risk.alerts()
        assert sorted(a.subject_id for a in alerts) == sorted(d.loan_id for d in deals)
        assert len({a.evidence for a in alerts}) == 3
        assert [r["alert_id"] for r in json.loads((tmp_path / "monitor.json").read_text())["raised"]] == [1, 2, 3]
        assert Monitor(fin.platform, fin.p.monitor, tmp_path).step() == [] and fin.platform.risk.count() == 3
        assert os.listdir(tmp_path / "evidence") and len(os.listdir(tmp_path / "evidence")) == 3
