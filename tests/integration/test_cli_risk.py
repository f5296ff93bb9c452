"""``vscm monitor`` and ``vscm risk`` as people run them, against an anvil node: the monitor raises an
alert on a diverted payment, the lender lists and reads it with its evidence and recalls the loan, the
operator and an auditor declare a colluding chain, and mistakes end in one line with exit code 1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from financing_support import Fin
from harness import b32, make_parties, populate

from vscm.chain.anvil import AnvilNode
from vscm.chain.backends import connect
from vscm.cli.schemas import validate
from vscm.client.records import OrderStatus, Role
from vscm.errors import ContractRevert
from vscm.wallet.keystore import Keystore

pytestmark = pytest.mark.anvil

VSCM = Path(sys.executable).parent / "vscm"
SIGNERS = ("operator", "bank", "auditor", "monitor", "supplier", "core", "supplier2", "seller")
PASSPHRASE = "risk desk passphrase"


class Desk:
    def __init__(self, home: Path, url: str, fin: Fin) -> None:
        self.home, self.url, self.fin = home, url, fin
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("VSCM_")}
        self.env.update(VSCM_HOME=str(home), VSCM_KEYSTORE_DIR=str(home / "keys"), COLUMNS="200")
        self.password_file = home / "passphrase"
        self.password_file.write_text(PASSPHRASE + "\n")
        self.deployment = home / "deployment.json"
        self.state = home / "monitor"

    def run(self, *args: str, wallet: str | None = None) -> subprocess.CompletedProcess[str]:
        net = ["--network", self.url, "--deployment", str(self.deployment)]
        signer = ["--wallet", wallet, "--password-file", str(self.password_file)] if wallet else []
        return subprocess.run([str(VSCM), *args, *net, *signer], env=self.env, capture_output=True, text=True,
                              timeout=1800, check=False)

    def json(self, *args: str, wallet: str | None = None) -> Any:
        result = self.run(*args, "--json", wallet=wallet)
        assert result.returncode == 0, f"{args} failed: {result.stderr}"
        return json.loads(result.stdout)


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    home = tmp_path_factory.mktemp("risk-home")
    node = AnvilNode.start()
    try:
        chain = connect(node)
        parties = make_parties("vscm-cli-risk")
        world = populate(chain, parties)
        world.platform.deployment.save(home / "deployment.json")
        os.environ.setdefault("VSCM_KDF_FAST", "1")
        keys = Keystore(home / "keys", iterations=2**10)
        for label in SIGNERS:
            keys.import_key(label, getattr(parties, label).key.hex(), PASSPHRASE)
        yield Desk(home, node.url, Fin(world))
    finally:
        node.stop()


@pytest.fixture(scope="module")
def diverted(desk: Desk) -> dict[str, Any]:
    """A pledge loan whose borrower tried to pay the seller (not a payee of the loan) on chain."""
    fin = desk.fin
    deal = fin.pledge()
    seller = fin.platform.orders.order(deal.purpose_order_id, with_documents=False).seller
    fin.platform.funds.as_(deal.borrower).spend(deal.loan_id, seller, 50_000_00, "goods")
    fn = fin.platform.funds.contract.functions.spend(deal.loan_id, fin.p.seller.address, 9_000_00, b32("x"))
    with pytest.raises(ContractRevert):
        fin.chain.sender.transact(deal.borrower, fn, gas=300_000)
    run = desk.json("monitor", "run", "--once", "--state", str(desk.state), wallet="monitor")
    return {"deal": deal, "run": run}


def test_the_monitor_raises_one_alert_for_the_diversion(diverted: dict[str, Any]) -> None:
    alerts = diverted["run"]["alerts"]
    assert [(a["subject"], a["subject_id"], a["indicator"], a["alert_id"]) for a in alerts] == [
        ("loan", diverted["deal"].loan_id, 103, 1)]


def test_the_lender_lists_and_reads_the_alert_with_its_evidence(desk: Desk, diverted: dict[str, Any]) -> None:
    bank = desk.fin.p.bank.address
    listed = desk.json("risk", "alerts", "--lender", bank)
    assert [(a["alert"], a["what"], a["loan_status"]) for a in listed] == [(1, "payee not allowed", "warned")]
    assert desk.json("risk", "alerts", "--lender", desk.fin.p.bank2.address) == []
    shown = desk.json("risk", "show", "1", "--state", str(desk.state))
    assert shown["evidence_detail"]["evidence"]["payee"] == desk.fin.p.seller.address
    assert shown["decision"] == "none"


def test_the_lender_recalls_and_gets_exactly_the_unspent_money(desk: Desk, diverted: dict[str, Any]) -> None:
    deal = diverted["deal"]
    result = desk.json("risk", "decide", str(deal.loan_id), "recall", wallet="bank")
    code = desk.fin.platform.currency_code(desk.fin.platform.loans.loan(deal.loan_id).currency)
    assert result["intercepted"] == {"amount": "150000.00", "currency": code, "minor": 150000_00} and len(code) == 3
    again = desk.run("risk", "decide", str(deal.loan_id), "continue", wallet="bank")
    assert again.returncode == 3 and again.stdout == ""
    assert again.stderr.count("\n") == 1 and "RiskNotWarned" in again.stderr


def test_only_the_lender_decides_and_unknown_loans_are_named(desk: Desk, diverted: dict[str, Any]) -> None:
    wrong = desk.run("risk", "decide", str(diverted["deal"].loan_id), "recall", wallet="monitor")
    assert wrong.returncode == 3 and "RiskNotLender" in wrong.stderr and "Traceback" not in wrong.stderr
    unknown = desk.run("risk", "decide", "99", "recall", wallet="bank")
    assert unknown.returncode == 3 and "RiskUnknownLoan" in unknown.stderr and "loanId=99" in unknown.stderr
    bad = desk.run("risk", "decide", "1", "maybe", wallet="bank")
    assert bad.returncode == 2 and "maybe" in bad.stderr


def test_a_payment_the_cli_refuses_is_on_chain_and_the_monitor_raises_it(desk: Desk,
                                                                         diverted: dict[str, Any]) -> None:
    fin = desk.fin
    fin.chain.nonces.forget(fin.p.bank.address)  # the bank's CLI decision went out from another process
    deal = fin.pledge()  # the borrower is the desk's "supplier"
    seller = fin.platform.orders.order(deal.purpose_order_id, with_documents=False).seller
    spend = ["loan", "spend", str(deal.loan_id), "--amount", "1000", "--purpose", "cash"]
    paid = desk.json(*spend, "--to", seller, wallet="supplier")  # an allowed payee: paid
    assert fin.platform.funds.whereabouts(deal.loan_id).paid[seller] == 1000_00 and paid["tx"]
    assert paid["amount"] == {"amount": "1000.00", "currency": fin.platform.currency_code(
        fin.platform.loans.loan(deal.loan_id).currency), "minor": 1000_00}

    head = fin.chain.block_number()
    checked = desk.run(*spend, "--to", fin.p.seller.address, "--check-first", wallet="supplier")
    assert checked.returncode == 3 and "FundsPayeeNotAllowed" in checked.stderr
    assert fin.chain.block_number() == head  # --check-first: refused locally, nothing sent

    refused = desk.run(*spend, "--to", fin.p.seller.address, wallet="supplier")
    assert refused.returncode == 3 and refused.stdout == "" and refused.stderr.count("\n") == 1
    assert "FundsPayeeNotAllowed" in refused.stderr and "refused on chain in transaction 0x" in refused.stderr
    tx = refused.stderr.split("in transaction ")[1].split()[0]
    assert fin.chain.w3.eth.get_transaction_receipt(tx)["status"] == 0
    assert fin.chain.block_number() == head + 1

    run = desk.json("monitor", "run", "--once", "--state", str(desk.state), wallet="monitor")
    assert [(a["subject"], a["subject_id"], a["indicator"]) for a in run["alerts"]] == [
        ("loan", deal.loan_id, 103)]


def test_a_certificate_is_paid_down_sold_and_redeemed_through_the_cli(desk: Desk) -> None:
    """``vscm cert`` on the desk's chain (before the fraud finding evicts it): supplier2 pays the seller with
    part of the certificate it was paid with, the seller sells its part to the bank, the core pays in and
    every part's claim is paid; ``show`` and ``tree`` read it back, money as {amount, currency, minor}."""
    fin = desk.fin
    p, certs = fin.p, fin.platform.certificates
    for label in SIGNERS:  # earlier tests sent from these accounts through the CLI
        fin.chain.nonces.forget(getattr(p, label).address)
    order_a = fin.order(p.core, p.supplier, 10_000_00, to=OrderStatus.INVOICED)
    cid = certs.as_(p.core).issue(order_a, fin.now() + 30 * 86400).id
    root = certs.certificate(cid).root_part
    order_b = fin.order(p.supplier, p.supplier2, 6_000_00, to=OrderStatus.SHIPPED)
    part_b = certs.as_(p.supplier).pay(root, order_b, 6_000_00).id
    order_c = fin.order(p.supplier2, p.seller, 5_000_00, to=OrderStatus.SHIPPED)
    fin.mint(p.bank, 3_000_00)
    fin.mint(p.core, 10_000_00)
    for label in ("core", "supplier2", "seller", "bank"):
        fin.chain.nonces.forget(getattr(p, label).address)

    paid = desk.json("cert", "pay", str(part_b), str(order_c), "3000", wallet="supplier2")
    cny = {"currency": "CNY"}
    assert paid["amount"] == {"amount": "3000.00", "minor": 3000_00, **cny} and paid["seller"] == p.seller.address
    part_c = paid["part"]
    desk.json("cert", "finance", str(part_c), "--financier", "bank", "--price", "2900", wallet="seller")
    bought = desk.json("cert", "finance", str(part_c), "--accept", wallet="bank")
    assert bought["price"] == {"amount": "2900.00", "minor": 2900_00, **cny} and bought["asset"] > 0
    redeemed = desk.json("cert", "redeem", str(cid), "--amount", "10000", "--all", wallet="core")
    assert redeemed[0]["action"] == "paid in" and redeemed[0]["amount"]["minor"] == 10_000_00
    assert {(c["part"], c["payee"], c["amount"]["minor"]) for c in redeemed[1:]} == {
        (root, p.supplier.address, 4_000_00), (part_b, p.supplier2.address, 3_000_00),
        (part_c, p.bank.address, 3_000_00)}
    shown = desk.json("cert", "show", str(cid))
    assert (shown["face"]["minor"], shown["paid_in"]["minor"], shown["redeemed"]["minor"]) == (10_000_00,) * 3
    tree = desk.json("cert", "tree", str(cid))
    assert tree["part"] == root and tree["children"][0]["children"][0]["financier"] == p.bank.address
    people = desk.run("cert", "tree", str(cid))
    assert people.returncode == 0 and f"sold to {p.bank.address}" in people.stdout
    frozen = desk.run("cert", "split", str(root), "1", wallet="supplier")
    assert frozen.returncode == 3 and frozen.stderr.count("\n") == 1
    assert f"CertificateInRedemption(certificateId={cid}, paidIn=1000000)" in frozen.stderr
    # The core admits a second chain to its certificates, and dismisses it; a second dismissal is one line.
    fin.platform.members.as_(p.bank).attest(p.core2.address, Role.FINANCIER)
    fin.platform.members.as_(p.auditor).attest(p.core2.address, Role.AUDITOR)
    chain2 = fin.platform.members.as_(p.core2).create_chain("Second chain").id
    fin.chain.nonces.forget(p.core.address)
    admitted = desk.json("cert", "admit", str(chain2), wallet="core")
    assert (admitted["action"], admitted["chain"], admitted["admitted"]) == ("chain admitted", chain2, [chain2])
    assert certs.chain_admitted(p.core.address, chain2)
    assert desk.json("cert", "dismiss", str(chain2), wallet="core")["admitted"] == []
    again = desk.run("cert", "dismiss", str(chain2), wallet="core")
    assert again.returncode == 3 and again.stderr.count("\n") == 1
    assert f"CertificateAdmissionUnchanged(core={p.core.address}, chainId={chain2}, admitted=False)" in again.stderr
    # An order across chains through the CLI: supplier (chain 1) buys, in its own chain, from core2 (a
    # manufacturer, chain 2's core); naming the seller's chain instead is refused with the values.
    terms = ("--currency", "CNY", "--amount", "10", "--due", "2099-01-01")
    placed = desk.json("order", "place", "--seller", p.core2.address, "--chain", str(fin.w.chain_id), *terms,
                       wallet="supplier")
    shown = desk.json("order", "show", str(placed["order_id"]))
    assert (shown["chain_id"], shown["seller_chain_id"], shown["seller"]) == (fin.w.chain_id, chain2, p.core2.address)
    listed = desk.run("order", "list", "--wide")  # the chain column names both chains: buyer's→seller's
    assert listed.returncode == 0, listed.stderr
    (row,) = [line for line in listed.stdout.splitlines() if line.split()[:1] == [str(placed["order_id"])]]
    assert f"{fin.w.chain_id}→{chain2}" in row.split()
    wrong = desk.run("order", "place", "--seller", p.core2.address, "--chain", str(chain2), *terms, wallet="supplier")
    assert wrong.returncode == 3 and wrong.stderr.count("\n") == 1
    assert f"OrderNotInChain(member={p.supplier.address}, chainId={chain2})" in wrong.stderr
    for label in ("core", "supplier2", "seller", "bank", "supplier", "auditor"):
        fin.chain.nonces.forget(getattr(p, label).address)


def test_a_monitor_raises_an_alert_by_hand_and_others_cannot(desk: Desk, diverted: dict[str, Any]) -> None:
    """Issue 15: raising an alert by hand from the CLI (a monitor's judgement the rules do not cover)."""
    fin = desk.fin
    fin.chain.nonces.forget(fin.p.bank.address)
    fin.chain.nonces.forget(fin.p.supplier.address)
    deal = fin.pledge()
    evidence = "0x" + b32("site visit: warehouse empty").hex()
    raised = desk.json("risk", "raise", "--loan", str(deal.loan_id), "--indicator", "1001", "--severity", "high",
                       "--evidence", evidence, wallet="monitor")
    alert = fin.platform.risk.alert(raised["alert_id"])
    assert (alert.subject_id, alert.indicator, alert.severity, "0x" + bytes(alert.evidence).hex()) == (
        deal.loan_id, 1001, 3, evidence)
    assert raised["next_step"] == f"vscm risk show {raised['alert_id']}"
    assert fin.platform.loans.loan(deal.loan_id).status.name == "WARNED"
    other = "0x" + b32("another finding").hex()
    refused = desk.run("risk", "raise", "--loan", str(deal.loan_id), "--indicator", "1001", "--evidence", other,
                       wallet="supplier")
    assert refused.returncode == 3 and "RiskNotMonitor" in refused.stderr and refused.stderr.count("\n") == 1
    both = desk.run("risk", "raise", "--loan", "1", "--chain", "1", "--indicator", "1", "--evidence", other,
                    wallet="monitor")
    assert both.returncode == 2 and "exactly one of --loan ID and --chain ID" in both.stderr


def test_operator_proposes_and_auditor_declares_fraud(desk: Desk, diverted: dict[str, Any]) -> None:
    chain_id = str(desk.fin.w.chain_id)
    evidence = "0x" + b32("circular invoices").hex()
    proposed = desk.json("risk", "declare-fraud", chain_id, "--evidence", evidence, wallet="operator")
    assert "proposed" in proposed["action"]
    mismatch = desk.run("risk", "declare-fraud", chain_id, "--evidence", "0x" + "ab" * 32, wallet="auditor")
    assert mismatch.returncode == 3 and "RiskEvidenceMismatch" in mismatch.stderr
    declared = desk.json("risk", "declare-fraud", chain_id, "--evidence", evidence, wallet="auditor")
    assert declared["sweep_done"] is True
    exposure = desk.json("risk", "exposure", chain_id)
    assert [e["lender"] for e in exposure] == [desk.fin.p.bank.address]
    validate("risk exposure", exposure)  # one row per lender and currency, amounts as Money
    total = desk.fin.platform.risk.exposure(desk.fin.w.chain_id, desk.fin.p.bank.address)
    assert [(e["currency"], e["loans"], e["outstanding"]["minor"], e["frozen"]["minor"]) for e in exposure] == [
        (e["outstanding"]["currency"], total.loans, total.outstanding, total.frozen) for e in exposure]
    assert exposure[0]["currency"] == desk.fin.platform.currency_code(desk.fin.platform.loans.loan(1).currency)
    table = desk.run("risk", "exposure", chain_id)
    assert table.returncode == 0 and f"{exposure[0]['currency']} {exposure[0]['outstanding']['amount']}" in table.stdout
    assert desk.fin.platform.members.supply_chain(desk.fin.w.chain_id).evicted


def test_parameters_are_shown(desk: Desk) -> None:
    assert desk.json("risk", "parameters") == {"decision_window_seconds": 259200, "lapse_policy": "freeze",
                                               "warn_severity": 2}
