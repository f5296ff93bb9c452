"""`python -m vscm.demo` (what `make demo` runs) succeeds and tells the story it should."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from vscm.chain.anvil import free_port
from vscm.demo import Cast


@pytest.fixture(scope="module")
def vscm_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("vscm-home")


@pytest.fixture(scope="module")
def demo(vscm_home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "VSCM_HOME": str(vscm_home)}  # wide enough that rich wraps no line
    env.pop("VSCM_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "vscm.demo"], env=env, capture_output=True, text=True,
                          timeout=1800, check=False)


@pytest.fixture(scope="module")
def lines(demo: subprocess.CompletedProcess[str]) -> list[str]:
    assert demo.returncode == 0, demo.stderr
    return [re.sub(r"\s+", " ", line).strip() for line in demo.stdout.splitlines()]


def line_with(lines: list[str], *fragments: str) -> int:
    """Index of the first line holding every fragment (fails when there is none)."""
    for index, line in enumerate(lines):
        if all(f in line for f in fragments):
            return index
    raise AssertionError(f"no line with {fragments} in the demo output:\n" + "\n".join(lines))


def test_demo_exits_0_without_errors(demo: subprocess.CompletedProcess[str]) -> None:
    assert demo.returncode == 0, demo.stderr
    assert "Traceback" not in demo.stderr


def test_core_is_certified_only_after_both_attestations(lines: list[str]) -> None:
    one = line_with(lines, "the bank attested", "status pending")
    alone = line_with(lines, "the operator tried to admit it alone", "refused: CoreNeedsAttestations")
    both = line_with(lines, "the auditor attested too", "status active")
    assert one < alone < both


def test_each_sme_joins_with_one_operator_approval(lines: list[str]) -> None:
    for name in ("Baoji Steel Parts", "Lanzhou Rubber Co.", "Urumqi Trading", "Xianyang Bonded WH",
                 "Hexi Corridor Logistics"):
        line_with(lines, name, "joined as an SME", "one operator approval")


def test_four_orders_are_settled_including_an_overseas_usd_order(lines: list[str]) -> None:
    for number in (1, 2, 3):
        line_with(lines, f"order #{number}:", "CNY", "settled")
    line_with(lines, "order #4:", "CIF Almaty (KZ), in USD", "USD 42,500.00, settled")
    line_with(lines, "#4", "USD 42,500.00", "CIF → KZ", "settled", "customs")  # the orders table


def test_a_cancelled_order_and_a_refused_settlement_are_shown(lines: list[str]) -> None:
    line_with(lines, "order #5:", "cancelled it")
    line_with(lines, "#5", "cancelled")
    line_with(lines, "the carrier tried to settle order #1", "refused: OrderNotBuyer")


def test_final_balances_conserve_the_money_minted(lines: list[str]) -> None:
    # Minted: CNY 900,000 to traders + 2,000,000 bank reserves + 250,000 of Urumqi's sales + 500,000
    # reserves of the second lender + 100,000 Hami Energy commits to its guarantee; USD 60,000.
    line_with(lines, "total supply", "CNY 3,750,000.00", "USD 60,000.00")
    # The embedded clock ticks one second a block, so interest (and these balances) are exact. Xi'an
    # Motors' CNY 120,000.00 guarantee of the watched pledge, still running, is held by the LoanBook.
    # Step 8c: Xi'an Motors paid its certificate's CNY 120,000.00 in (its order was settled at nothing more);
    # Urumqi Trading got CNY 19,600.00 for its part and CNY 5,000.00 of settlement the part did not cover.
    line_with(lines, "Xi'an Motors (core)", "CNY 336,477.86", "USD 42,500.00")
    line_with(lines, "Urumqi Trading", "CNY 123,214.30", "USD 17,500.00")  # F-02: the remainder is carried


def test_each_financing_mode_runs_to_repayment(lines: list[str]) -> None:
    for mode in ("pledge", "receivable", "prepayment", "payable"):
        line_with(lines, "loan #", f"— {mode} —", "repaid")
    line_with(lines, "Baoji tried to pay Urumqi Trading from the loan", "refused: FundsPayeeNotAllowed")
    line_with(lines, "money trail", "hop 1: CNY 150,000.00 → Lanzhou Rubber Co.", "hop 2: CNY 6,000.00")


def test_late_default_is_covered_by_the_guarantor(lines: list[str]) -> None:
    line_with(lines, "late past the grace period", "unspent CNY 2,000.00 came back to the bank first")
    line_with(lines, "guarantor", "charged CNY 38,521.64 out of the CNY 40,000.00 it had committed")
    line_with(lines, "took over the bank's claim", "the pledged rubber went to it, not back to Lanzhou")
    line_with(lines, "loan #5", "defaulted, then repaid by the guarantor")


def test_the_monitor_raises_nothing_on_the_healthy_flows(lines: list[str]) -> None:
    start = line_with(lines, "the monitor read the whole history so far", "raised 1 alert(s)")
    # the one alert is the loan that went bad (late, then defaulted): none on the healthy loans
    assert "repayment late (indicator 102" in lines[start + 1] and "on loan #5" in lines[start + 1]
    # alerts #1 and #2 are the oracle's own, on the watched pledge (its margin call and breach)
    assert "monitor:" not in lines[start + 2]


def test_diverted_loan_money_is_alerted_recalled_and_the_unspent_part_returned(lines: list[str]) -> None:
    tried = line_with(lines, "Maiji tried to move CNY 60,000.00", "failed on chain: FundsPayeeNotAllowed")
    alerted = line_with(lines, "monitor: payee not allowed (indicator 103", "on loan #7 → alert #4")
    line_with(lines, "collateral", "receivable #2: value CNY 180,000.00")  # money with its currency, not minor units
    line_with(lines, "collateral", "payable #5: value CNY 90,000.00")
    warned = line_with(lines, "loan #7 is warned", "unspent tracked money: CNY 75,000.00")
    assert re.search(r"must decide by the deadline, \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC in the chain's time",
                     lines[warned]), lines[warned]  # a date, not Unix seconds
    recalled = line_with(lines, "the bank recalled loan #7: CNY 75,000.00 came back", "exactly the unspent part",
                         "CNY 45,000.00 paid to Qinzhou stays paid", "owes CNY 45,000.00")
    assert tried < alerted < warned < recalled


def test_a_colluding_chain_is_detected_evicted_and_its_lenders_notified(lines: list[str]) -> None:
    detected = line_with(lines, "monitor: circular trading (indicator 401", "on supply chain #3")
    proposed = line_with(lines, "the operator proposed a fraud finding on chain #3")
    evicted = line_with(lines, "co-signed: 3 of 3 members of chain #3 evicted", "Maiji Castings: active")
    bank = line_with(lines, "notice to Silk Road Bank: 1 loan(s), CNY 240,000.00 outstanding",
                     "CNY 90,000.00 of loan money frozen")
    bank2 = line_with(lines, "notice to Jade Gate Credit Union: 1 loan(s), CNY 100,000.00 outstanding",
                      "CNY 70,000.00 of loan money frozen")
    assert detected < proposed < evicted < min(bank, bank2)
    for name in ("Hami Energy Equipment (core)", "Barkol Trading", "Yiwu Components"):
        line_with(lines, name, "evicted", "3")


def test_the_oracles_margin_call_reaches_the_control_mechanism(lines: list[str]) -> None:
    breach = line_with(lines, "75 t left the warehouse without a release", "breach goods_missing")
    call = line_with(lines, "MARGIN CALL on loan #6", "< CNY 120,000.00 owed")
    passed = line_with(lines, "the oracle passed the margin call and the breach to the control mechanism")
    assert breach < call < passed
    line_with(lines, "anyone can prove a reading", "is in batch 3")


def test_a_certificate_carries_the_cores_credit_to_tier_3_and_every_holder_is_paid(lines: list[str]) -> None:
    issued = line_with(lines, "certificate #1: Xi'an Motors turned its payable", "CNY 120,000.00", "Baoji holds part")
    tier3 = line_with(lines, "Lanzhou paid CNY 20,000.00 of its order", "the core's credit reached tier 3")
    settled = line_with(lines, "the three orders were settled", "Lanzhou paid the CNY 5,000.00")
    sold = line_with(lines, "Urumqi Trading sold part #3 to Silk Road Bank for CNY 19,600.00", "locked")
    refused = line_with(lines, "Urumqi tried to split the sold part", "refused: CertificatePartLocked")
    paid = line_with(lines, "at maturity Xi'an Motors paid CNY 120,000.00 once", "Baoji Steel Parts CNY 70,000.00",
                     "Lanzhou Rubber Co. CNY 30,000.00", "Silk Road Bank CNY 20,000.00")
    done = line_with(lines, "face CNY 120,000.00, paid in CNY 120,000.00, redeemed CNY 120,000.00", "retired")
    assert issued < tier3 < settled < sold < refused < paid < done < line_with(lines, "replayed blocks", "→ clean")


def test_the_auditor_replays_the_history_without_a_difference(lines: list[str]) -> None:
    line_with(lines, "Chang'an Audit replayed blocks", "events rebuilt", "→ clean")


def test_the_lender_reads_a_profile_before_lending_and_refuses_a_flagged_chain(lines: list[str]) -> None:
    asked = line_with(lines, "Silk Road Bank asked for Baoji Steel Parts' profile", "refused: no consent on chain")
    read = line_with(lines, "Baoji Steel Parts granted Silk Road Bank read access on chain", "(consent)")
    assert asked < read
    good = line_with(lines, "Baoji:", "2 repaid on time")
    refused = line_with(lines, "Yiwu's chain", "fraud declared", "the bank refuses it")
    assert read < good < line_with(lines, "Yiwu Components applied to the bank too", "applied for by the member") < refused
    scores = [int(re.search(r"score (\d+) of 100", lines[i]).group(1))
              for i in (good, line_with(lines, "Yiwu:", "score"))]
    assert scores[0] > scores[1]
    assert "core" in lines[line_with(lines, "Yiwu:", "fired:")]


def test_the_demo_ends_with_a_console_command_that_opens_its_data(lines: list[str], vscm_home: Path) -> None:
    """The command the demo's last lines give serves the demo's loans, names and currencies, and the
    token they point to signs the bank in."""
    start = line_with(lines, "The console")
    command = shlex.split(next(line for line in lines[start:] if " serve --demo" in line))
    curl = shlex.split(next(line for line in lines[start:] if line.startswith("curl ")))
    token_file = Path(re.search(r"\$\(cat (\S+)\)", " ".join(curl)).group(1))
    assert token_file.parent == vscm_home / "demo" and "http://127.0.0.1:8080/" in curl[-1]
    token = token_file.read_text().strip()
    port = free_port()
    # this environment's vscm, as a user in the checkout would type it (.venv/bin/vscm after make demo)
    assert command[0] == "vscm" or Path(command[0]).absolute() == Path(sys.executable).parent / "vscm"
    state = vscm_home / "demo" / "chain-state.json"
    before = int(json.loads(state.read_text())["best_block_number"])
    server = subprocess.Popen([*command, "--port", str(port)],
                              env={**os.environ, "VSCM_HOME": str(vscm_home)}, stderr=subprocess.PIPE, text=True)

    def get(path: str) -> dict:
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}",
                                         headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    def post(path: str, body: dict) -> dict:
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(),
                                         headers={"Authorization": f"Bearer {token}",
                                                  "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.load(response)

    try:
        for _ in range(1200):  # until it listens and has caught up with the chain (or has died)
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            try:
                me = get("/api/me")
                break
            except urllib.error.URLError:
                time.sleep(0.1)
        else:
            raise AssertionError("vscm serve --demo did not answer")
        assert me["name"] == "Silk Road Bank"
        loans = get("/api/loans")["loans"]
        assert len(loans) >= 5 and {loan["principal"]["currency"] for loan in loans} == {"CNY"}
        assert {loan["lender"]["name"] for loan in loans} == {"Silk Road Bank"}
        assert {"Baoji Steel Parts", "Lanzhou Rubber Co."} <= {loan["borrower"]["name"] for loan in loans}
        assert "Silk Road Bank" in json.dumps(get(f"/api/loans/{loans[0]['loan']}"))
        # The demo's chain runs again: the warned loan it left is recalled by a transaction the bank signs
        # itself (here the test process holds the demo key, as the page's wallet would) and the console sends.
        warned = int(re.search(r"loan #(\d+) is warned", " ".join(lines[start:])).group(1))
        tx = post(f"/api/loans/{warned}/decision", {"decision": "recall"})["tx"]
        fields = {k: (int(v, 16) if isinstance(v, str) and k not in ("to", "data") else v)
                  for k, v in tx.items() if k != "from"}
        raw = Cast.from_seed().bank.sign_transaction(fields).raw_transaction
        assert post("/api/tx", {"raw": "0x" + bytes(raw).hex()})["contract"] == "RiskControl"
        assert get(f"/api/loans/{warned}")["status"] == "recalled"
    finally:
        server.terminate()
        server.wait(timeout=30)
    # Stopped by SIGTERM, the console closed the demo's chain: anvil wrote the recall's block to the state.
    assert int(json.loads(state.read_text())["best_block_number"]) > before


def test_one_governed_change_is_proposed_approved_pending_and_carried_out_after_the_delay(lines: list[str]) -> None:
    took_over = line_with(lines, "a Safe 2 of 3", "now hold every admin role", "renounced its own")
    alone = line_with(lines, "the operator key alone tried to raise the bank's mint cap",
                      "refused: AccessControlUnauthorizedAccount")
    proposed = line_with(lines, "Silk Road Bank proposed on the Safe", "setMintCap", "1 of 2 approvals")
    pending = line_with(lines, "Chang'an Audit approved (2 of 2)", "pending until 20", " UTC (vscm council pending)",
                        "the cap is still CNY 10,000,000.00")
    early = line_with(lines, "carrying it out before the delay", "refused")
    done = line_with(lines, "a day later the bank carried it out", "CNY mint cap is now CNY 20,000,000.00")
    assert took_over < alone < proposed < pending < early < done
