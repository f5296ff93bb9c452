"""The ``vscm`` command end to end, as a user runs it: the installed script against a kept anvil node.

One node for the module, in a temporary VSCM_HOME: wallets, funding, deployment, membership,
a supply chain, cash and one order through its whole life, all through ``vscm ... --json`` in
subprocesses (every JSON output is parsed). Then the node is stopped and started again and the
order is still settled; and mistakes a user makes end in one line on stderr and the exit code of their kind.
The node is stopped when the module ends, whatever happened.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from eth_utils import keccak

from vscm.chain import anvil

pytestmark = pytest.mark.anvil

VSCM = Path(sys.executable).parent / "vscm"
WALLETS = ("operator", "bank", "auditor", "core", "supplier", "warehouse", "carrier")
SMES = {"bank": "financier", "auditor": "auditor", "supplier": "supplier", "warehouse": "warehouse",
        "carrier": "logistics"}
CREDENTIAL = "0x" + "11" * 32


@dataclass
class Home:
    """A VSCM_HOME with a running node, and what the setup printed."""

    path: Path
    env: dict[str, str]
    password_file: Path
    addresses: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)

    def argv(self, *args: str, wallet: str | None = None, password_file: Path | None = None) -> list[str]:
        signer = ["--wallet", wallet, "--password-file", str(password_file or self.password_file)] if wallet else []
        return [str(VSCM), *args, *signer]

    def run(self, *args: str, wallet: str | None = None, password_file: Path | None = None
            ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.argv(*args, wallet=wallet, password_file=password_file), env=self.env,
                              capture_output=True, text=True, timeout=1800, check=False)

    def run_many(self, commands: list[list[str]]) -> list[subprocess.CompletedProcess[str]]:
        """Independent commands (full argv lists), run side by side: each process takes ~0.5 s to start."""
        started = [(argv, subprocess.Popen(argv, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                           text=True)) for argv in commands]
        done = []
        for argv, process in started:
            out, err = process.communicate(timeout=1800)
            done.append(subprocess.CompletedProcess(argv, process.returncode, out, err))
        return done

    def json(self, *args: str, wallet: str | None = None) -> Any:
        """Run a command with --json; it must succeed and print JSON on stdout."""
        return self.parsed(self.run(*args, "--json", wallet=wallet))

    @staticmethod
    def parsed(result: subprocess.CompletedProcess[str]) -> Any:
        assert result.returncode == 0, f"{' '.join(result.args[1:])} failed: {result.stderr}"
        assert "Traceback" not in result.stderr
        return json.loads(result.stdout)


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str, code: int = 1) -> str:
    """Exit ``code`` (README, "Exit codes": 2 usage, 3 refused on chain, 5 no node, 1 otherwise), nothing on
    stdout, one line `error: ...` on stderr containing each fragment."""
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
    return lines[0]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Home]:
    path = tmp_path_factory.mktemp("vscm-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VSCM_")}
    env.update(VSCM_HOME=str(path), VSCM_KEYSTORE_DIR=str(path / "keys"), VSCM_KDF_FAST="1", COLUMNS="200")
    password_file = path / "passphrase"
    password_file.write_text("correct horse battery staple\n")
    h = Home(path, env, password_file)
    created = h.run_many([h.argv("wallet", "new", label, "--password-file", str(password_file), "--json")
                          for label in WALLETS])
    h.addresses = {label: h.parsed(result)["address"] for label, result in zip(WALLETS, created)}
    h.outputs["start"] = h.json("node", "start")
    try:
        yield h
    finally:
        stopped = h.run("node", "stop")
        anvil.stop(path / "node")  # in case the command failed: never leave a node behind
        assert stopped.returncode == 0, stopped.stderr


@pytest.fixture(scope="module")
def platform(home: Home) -> Home:
    """Funded wallets, the platform deployed, members admitted, a supply chain, cash."""
    h = home
    for label in WALLETS:
        h.outputs[f"fund {label}"] = h.json("node", "fund", label)
    h.outputs["deploy"] = h.json("deploy", wallet="operator")
    applications = [h.argv("member", "apply", "--role", role, "--name", f"{label.title()} Ltd",
                           "--credential", CREDENTIAL, "--expires", "2040-01-01", "--json", wallet=label)
                    for label, role in SMES.items()]
    applications.append(h.argv("member", "apply", "--role", "manufacturer", "--tier", "core", "--name", "Core Motors",
                               "--credential", CREDENTIAL, "--expires", "2040-01-01", "--json", wallet="core"))
    for result in h.run_many(applications):  # each applicant signs its own: no shared nonce
        assert h.parsed(result)["action"] == "applied"
    for label in SMES:
        h.json("member", "approve", label, wallet="operator")
    h.outputs["attest financier"] = h.json("member", "attest", "core", "--as", "financier", wallet="bank")
    h.outputs["attest auditor"] = h.json("member", "attest", "core", "--as", "auditor", wallet="auditor")
    h.outputs["chain"] = h.json("chain", "create", "Core Motors chain", wallet="core")
    chain_id = str(h.outputs["chain"]["chain_id"])
    h.json("chain", "join", chain_id, wallet="supplier")
    h.json("chain", "approve", chain_id, "supplier", wallet="core")
    h.outputs["chain show"] = h.json("chain", "show", chain_id)
    h.outputs["set cap"] = h.json("cash", "set-cap", "CNY", "bank", "1000000.00", wallet="operator")
    h.outputs["mint"] = h.json("cash", "mint", "CNY", "core", "50000.00", "--ref", "deposit-1", wallet="bank")
    h.outputs["transfer"] = h.json("cash", "transfer", "CNY", "supplier", "100.50", wallet="core")
    return h


@pytest.fixture(scope="module")
def settled(platform: Home) -> dict[str, Any]:
    """One order placed by core with supplier, through every step to settlement, with documents."""
    h = platform
    chain_id = str(h.outputs["chain"]["chain_id"])
    out: dict[str, Any] = {"before": balances(h)}
    out["place"] = h.json("order", "place", "--seller", "supplier", "--chain", chain_id, "--currency", "CNY",
                          "--amount", "1250.75", "--due", "2031-06-30", wallet="core")
    order_id = str(out["place"]["order_id"])
    out["attach contract"] = h.json("order", "attach", order_id, "--kind", "contract", "--hash", "0x" + "c0" * 32,
                                    wallet="core")
    out["accept"] = h.json("order", "accept", order_id, wallet="supplier")
    out["ship"] = h.json("order", "ship", order_id, "--carrier", "carrier", "--warehouse", "warehouse",
                         wallet="supplier")
    out["attach bill"] = h.json("order", "attach", order_id, "--kind", "bill-of-lading", "--hash", "0x" + "b1" * 32,
                                wallet="carrier")
    out["deliver"] = h.json("order", "deliver", order_id, wallet="warehouse")
    invoice_file = h.path / "invoice.pdf"
    invoice_file.write_bytes(b"%PDF- invoice INV-7 for 1250.75 CNY")
    out["invoice"] = h.json("order", "invoice", order_id, "--number", "INV-7", "--hash", f"file:{invoice_file}",
                            wallet="supplier")
    out["settle"] = h.json("order", "settle", order_id, wallet="core")
    out["show"] = h.json("order", "show", order_id)
    out["list"] = h.json("order", "list")
    out["after"] = balances(h)
    out["order_id"] = int(order_id)
    return out


def balances(h: Home) -> dict[str, Any]:
    parties = ("core", "supplier")
    return dict(zip(parties, map(h.parsed, h.run_many([h.argv("cash", "balance", who, "--json") for who in parties]))))


# -- setup through the CLI ----------------------------------------------------------------------


def test_node_start_reports_a_running_node(home: Home) -> None:
    start = home.outputs["start"]
    assert start["running"] is True and start["chain_id"] == 31337 and start["url"].startswith("http://127.0.0.1:")


def test_funding_and_deployment_write_a_manifest(platform: Home) -> None:
    assert all(platform.outputs[f"fund {label}"]["balance"] >= 10 * 10**18 for label in WALLETS)
    deployed = platform.outputs["deploy"]
    manifest = json.loads(Path(deployed["manifest"]).read_text())
    assert Path(deployed["manifest"]) == platform.path / "deployments" / "node.json"
    assert manifest["operator"] == platform.addresses["operator"]
    assert sorted(manifest["cash"]) == ["CNY", "USD"] and manifest["orders"] == deployed["orders"]


def test_deploying_again_does_not_orphan_the_live_platform(platform: Home) -> None:
    manifest = platform.path / "deployments" / "node.json"
    before = manifest.read_text()
    other = platform.path / "other.json"

    refused = platform.run("deploy", wallet="operator")
    kept_apart = platform.json("deploy", "--deployment", str(other), wallet="operator")
    forced = platform.json("deploy", "--deployment", str(other), "--force", wallet="operator")

    assert_one_line_error(refused, "a platform is already deployed on this chain", "--force", code=2)
    assert manifest.read_text() == before
    assert kept_apart["registry"] != platform.outputs["deploy"]["registry"]
    assert forced["registry"] != kept_apart["registry"]
    assert json.loads(other.read_text())["registry"] == forced["registry"]


def test_core_is_certified_only_after_financier_and_auditor_attest(platform: Home) -> None:
    assert platform.outputs["attest financier"]["status"] == "PENDING"
    assert platform.outputs["attest auditor"]["status"] == "ACTIVE"
    core = platform.json("member", "show", "core")
    assert core["tier"] == "CORE" and core["status"] == "ACTIVE"
    assert (core["financier_attestor"], core["auditor_attestor"]) == (platform.addresses["bank"],
                                                                     platform.addresses["auditor"])


def test_members_and_supply_chain_are_listed(platform: Home) -> None:
    members = {m["address"]: m for m in platform.json("member", "list")}
    assert set(members) == {platform.addresses[label] for label in WALLETS if label != "operator"}
    assert all(m["status"] == "ACTIVE" for m in members.values())
    shown = platform.outputs["chain show"]
    assert shown["chain"]["core"] == platform.addresses["core"] and shown["chain"]["name"] == "Core Motors chain"
    assert {m["address"] for m in shown["members"]} == {platform.addresses["core"], platform.addresses["supplier"]}


def test_cash_mint_transfer_and_balance(platform: Home) -> None:
    assert platform.outputs["mint"]["amount"] == {"amount": "50000.00", "currency": "CNY", "minor": 5000000}
    assert platform.outputs["transfer"]["amount"] == {"amount": "100.50", "currency": "CNY", "minor": 10050}
    zero = {"amount": "0.00", "minor": 0}
    assert platform.json("cash", "balance", "bank") == {"CNY": {**zero, "currency": "CNY"},
                                                        "USD": {**zero, "currency": "USD"}}
    assert platform.json("cash", "balance", platform.addresses["carrier"], "--currency", "usd") == {
        "USD": {**zero, "currency": "USD"}}


def test_cash_set_cap_and_cap_show_the_financiers_headroom(platform: Home) -> None:
    def cny(amount: str) -> dict[str, Any]:
        return {"amount": amount, "currency": "CNY", "minor": int(amount.replace(".", ""))}

    assert platform.outputs["set cap"]["cap"] == cny("1000000.00")
    assert platform.json("cash", "cap", "CNY", "bank") == {
        "currency": "CNY", "financier": platform.addresses["bank"], "cap": cny("1000000.00"),
        "outstanding": cny("50000.00"), "headroom": cny("950000.00")}
    result = platform.run_many([platform.argv("cash", "mint", "CNY", "core", "950000.01", "--ref", "over",
                                              wallet="bank")])[0]
    assert_one_line_error(result, "CashMintCapExceeded", "amount=CNY 950000.01, cap=CNY 1000000.00", code=3)


# -- one order through its life -----------------------------------------------------------------


def test_each_order_step_reports_the_new_status(settled: dict[str, Any]) -> None:
    assert [settled[step]["status"] for step in ("accept", "deliver", "settle")] == [
        "ACCEPTED", "DELIVERED", "SETTLED"]
    assert [settled[step]["action"] for step in ("place", "accept", "ship", "deliver", "invoice", "settle")] == [
        "order placed", "order accepted", "order shipped", "order delivered", "order invoiced", "order settled"]
    assert all(settled[step]["tx"].startswith("0x") for step in ("place", "ship", "invoice", "attach bill"))


def test_order_show_has_the_settled_order_with_its_documents(settled: dict[str, Any], platform: Home) -> None:
    o, a = settled["show"], platform.addresses
    invoice_hash = "0x" + keccak(b"%PDF- invoice INV-7 for 1250.75 CNY").hex()
    assert (o["order_id"], o["status"], o["amount"], o["invoice_number"]) == (
        settled["order_id"], "SETTLED", {"amount": "1250.75", "currency": "CNY", "minor": 125075}, "INV-7")
    assert (o["buyer"], o["seller"], o["payee"], o["carrier"], o["warehouse"]) == (
        a["core"], a["supplier"], a["supplier"], a["carrier"], a["warehouse"])
    assert (o["chain_id"], o["seller_chain_id"]) == (1, 1)  # within one chain: the seller's is the order's
    assert datetime.fromisoformat(o["due_date"]) == datetime(2031, 6, 30, tzinfo=timezone.utc)
    assert all(datetime.fromisoformat(d["attached_at"]).tzinfo == timezone.utc for d in o["documents"])
    assert [(d["kind"], d["hash"], d["attached_by"]) for d in o["documents"]] == [
        ("CONTRACT", "0x" + "c0" * 32, a["core"]),
        ("BILL_OF_LADING", "0x" + "b1" * 32, a["carrier"]),
        ("INVOICE", invoice_hash, a["supplier"]),
    ]


def test_records_and_results_give_the_json_of_docs_json_md(settled: dict[str, Any], platform: Home) -> None:
    from vscm.cli.schemas import validate

    validate("order show", settled["show"])
    validate("order list", settled["list"])
    validate("cash balance", settled["after"]["core"])
    validate("member show", platform.json("member", "show", "core"))
    for step in ("place", "attach contract", "accept", "ship", "deliver", "invoice", "settle"):
        validate("every write (order place, loan repay, ...)", settled[step])
    for step in ("mint", "transfer", "set cap", "chain", "attest financier"):
        validate("every write (order place, loan repay, ...)", platform.outputs[step])


def test_order_list_has_the_order(settled: dict[str, Any]) -> None:
    listed = {o["order_id"]: o for o in settled["list"]}
    assert listed[settled["order_id"]]["status"] == "SETTLED"


def test_settlement_moves_the_amount_from_buyer_to_seller(settled: dict[str, Any]) -> None:
    before, after = settled["before"], settled["after"]
    assert (before["core"]["CNY"]["amount"], before["supplier"]["CNY"]["amount"]) == ("49899.50", "100.50")
    assert (after["core"]["CNY"], after["supplier"]["CNY"]["minor"]) == (
        {"amount": "48648.75", "currency": "CNY", "minor": 4864875}, 135125)


def test_people_get_tables_not_json(settled: dict[str, Any], platform: Home) -> None:
    shown = platform.run("order", "show", str(settled["order_id"]))
    assert shown.returncode == 0, shown.stderr
    assert "settled" in shown.stdout and "CNY 1250.75" in shown.stdout and "2031-06-30" in shown.stdout
    assert not shown.stdout.lstrip().startswith("{")


# -- mistakes: one line on stderr, the exit code of their kind ---------------------------------------------------


def test_unknown_order_is_one_line(settled: dict[str, Any], platform: Home) -> None:
    assert_one_line_error(platform.run("order", "show", "999"), "unknown order 999")
    assert_one_line_error(platform.run("order", "show", "999", "--json"), "unknown order 999")
    assert_one_line_error(platform.run("order", "accept", "999", wallet="supplier"), "OrderNotFound(orderId=999)", code=3)


def test_malformed_address_is_one_line(platform: Home) -> None:
    bad = ["0x123", "0xZZ" + "0" * 38, "supplier-typo", "0x" + "aB" * 20]  # the last: a bad checksum
    results = platform.run_many([platform.argv(
        "order", "place", "--seller", address, "--chain", "1", "--currency", "CNY", "--amount", "1",
        "--due", "2031-01-01", wallet="core") for address in bad])
    for address, result in zip(bad, results):
        assert_one_line_error(result, "--seller", f"bad address '{address}'", code=2)


def test_malformed_amount_is_one_line(platform: Home) -> None:
    bad = {"12.345": "at most 2 decimals", "-5": "must not be negative", "1e3": "expected a number",
           "abc": "expected a number", "": "expected a number"}
    results = platform.run_many([platform.argv(
        "order", "place", "--seller", "supplier", "--chain", "1", "--currency", "CNY", "--amount", amount,
        "--due", "2031-01-01", wallet="core") for amount in bad])
    for (amount, reason), result in zip(bad.items(), results):
        assert_one_line_error(result, "--amount", f"bad amount '{amount}'", reason, code=2)


def manifest_variant(h: Home, name: str, **changes: Any) -> Path:
    """A copy of the deployed manifest with some fields changed (``cash`` merged), written to NAME.json."""
    data = json.loads((h.path / "deployments" / "node.json").read_text())
    if isinstance(changes.get("cash"), dict):
        changes["cash"] = {**data["cash"], **changes["cash"]}
    data.update(changes)
    path = h.path / f"{name}.json"
    path.write_text(json.dumps(data))
    return path


def test_a_platform_the_chain_does_not_hold_is_refused_before_anything_is_sent(platform: Home) -> None:
    """A transfer to a PlatformCash address without code would be mined and move nothing (anvil
    restarted without its state): every command checks the manifest against the chain first."""
    h = platform
    deployed = json.loads((h.path / "deployments" / "node.json").read_text())
    nowhere = "0x" + "5a" * 20
    before = h.json("cash", "balance", "core")
    gone = manifest_variant(h, "gone", cash={"CNY": nowhere})
    wrong = manifest_variant(h, "wrong", registry=deployed["orders"])
    other_chain = manifest_variant(h, "other-chain", chain_id=1)
    results = h.run_many([
        h.argv("cash", "transfer", "CNY", "supplier", "10", "--deployment", str(gone), wallet="core"),
        h.argv("cash", "balance", "core", "--deployment", str(gone)),
        h.argv("member", "show", "core", "--deployment", str(wrong)),
        h.argv("cash", "transfer", "CNY", "supplier", "10", "--deployment", str(other_chain), wallet="core"),
        h.argv("lender", "portfolio", "bank", "--deployment", str(gone), "--index", str(h.path / "gone.sqlite")),
    ])
    assert_one_line_error(results[0], f"no contract at {nowhere}", "PlatformCash (cash.CNY)", "redeploy")
    assert_one_line_error(results[1], f"no contract at {nowhere}")
    assert_one_line_error(results[2], f"the contract at {deployed['orders']}", "is not this vscm's MemberRegistry")
    assert_one_line_error(results[3], "chain id 1", "31337", "--network")
    assert_one_line_error(results[4], f"no contract at {nowhere}")
    assert not (h.path / "gone.sqlite").exists()
    assert h.json("cash", "balance", "core") == before and before["CNY"]["minor"] != 0


def test_a_malformed_manifest_is_one_line_naming_the_field(platform: Home) -> None:
    h = platform
    cases = {
        "bad-address": (manifest_variant(h, "bad-address", loans="0x1234"), "field 'loans' is not an address"),
        "bad-cash": (manifest_variant(h, "bad-cash", cash={"USD": 7}), "field 'cash' must be an object of strings"),
        "null": (manifest_variant(h, "null", registry=None), "field 'registry' is not an address"),
        "unknown": (manifest_variant(h, "unknown", colour="red"), "unknown field(s) 'colour'"),
    }
    shape = h.path / "shape.json"
    shape.write_text("[1, 2, 3]")
    cases["shape"] = (shape, "expected a JSON object")
    broken = h.path / "broken.json"
    broken.write_text("{not json")
    cases["broken"] = (broken, "is not valid JSON")
    results = h.run_many([h.argv("cash", "balance", "core", "--deployment", str(path)) for path, _ in cases.values()])
    for (path, reason), result in zip(cases.values(), results):
        assert_one_line_error(result, f"deployment manifest {path}", reason, code=2)


def test_a_negative_amount_argument_is_refused_as_an_amount(platform: Home) -> None:
    results = platform.run_many([
        platform.argv("cash", "transfer", "CNY", "supplier", "-5", wallet="core"),
        platform.argv("cash", "mint", "CNY", "core", "-0.01", "--ref", "x", wallet="bank"),
        platform.argv("cash", "burn", "CNY", "-7", "--ref", "x", wallet="bank"),
    ])
    for amount, result in zip(("-5", "-0.01", "-7"), results):
        assert_one_line_error(result, f"bad amount '{amount}'", "must not be negative", code=2)


def test_text_that_is_not_utf8_is_one_line_naming_it(platform: Home) -> None:
    argv = platform.argv("member", "apply", "--role", "supplier", "--name", "Caf\udce9 Ltd", "--credential",
                         CREDENTIAL, "--expires", "2040-01-01", wallet="carrier")
    result = subprocess.run([os.fsencode(arg) for arg in argv], env=platform.env, capture_output=True, text=True,
                            timeout=1800, check=False)
    assert_one_line_error(result, "argument 'Caf\\xe9 Ltd' is not valid UTF-8 text", code=2)


def test_a_name_too_long_for_the_chain_is_one_line_and_sends_nothing(platform: Home) -> None:
    result = platform.run("member", "apply", "--role", "supplier", "--name", "Ltd " * 80, "--credential",
                          CREDENTIAL, "--expires", "2040-01-01", wallet="carrier")
    assert_one_line_error(result, "name is 320 bytes of UTF-8, at most 256 are stored on chain", "shorten it",
                          code=2)


def test_lender_commands_without_a_node_write_no_index(home: Home, tmp_path: Path) -> None:
    index = tmp_path / "nowhere" / "index.sqlite"
    env = {**home.env, "VSCM_HOME": str(tmp_path)}  # no node, no manifest here
    runs = [subprocess.run([str(VSCM), "lender", "portfolio", home.addresses["bank"], "--index", str(index), *extra],
                           env=env, capture_output=True, text=True, timeout=1800, check=False)
            for extra in ([], ["--no-update"])]
    assert_one_line_error(runs[0], "no deployment manifest")
    assert_one_line_error(runs[1], f"no index at {index}", "without --no-update")
    assert not index.exists() and not index.parent.exists()


def test_an_unfunded_wallet_is_told_to_run_node_fund(platform: Home) -> None:
    created = platform.json("wallet", "new", "pauper", "--password-file", str(platform.password_file))
    result = platform.run("member", "apply", "--role", "supplier", "--name", "Pauper Ltd", "--credential", CREDENTIAL,
                          "--expires", "2040-01-01", wallet="pauper")
    assert_one_line_error(result, f"wallet 'pauper' ({created['address']}) cannot pay for the gas",
                          "fund it with `vscm node fund pauper`")


def test_wrong_passphrase_is_one_line_and_sends_nothing(settled: dict[str, Any], platform: Home) -> None:
    wrong = platform.path / "wrong-passphrase"
    wrong.write_text("Tr0ub4dor&3\n")
    before = platform.json("cash", "balance", "core")
    result = platform.run("cash", "transfer", "CNY", "supplier", "1", wallet="core", password_file=wrong)
    assert_one_line_error(result, "wrong passphrase for wallet 'core'")
    assert platform.json("cash", "balance", "core") == before


def test_contract_revert_shows_the_error_name_and_values(settled: dict[str, Any], platform: Home) -> None:
    order_id = settled["order_id"]
    assert_one_line_error(platform.run("order", "accept", str(order_id), wallet="supplier"),
                          f"OrderBook.accept reverted: OrderWrongStatus(orderId={order_id}, status=SETTLED)", code=3)
    assert_one_line_error(platform.run("order", "settle", str(order_id), wallet="carrier"),
                          f"OrderNotBuyer(orderId={order_id}, caller={platform.addresses['carrier']})",
                          "the order's buyer must sign this (--wallet)", code=3)
    assert_one_line_error(platform.run("cash", "transfer", "CNY", "supplier", "1000000", wallet="core"),
                          "PlatformCash.transfer reverted: ERC20InsufficientBalance(",
                          f"sender={platform.addresses['core']}", "needed=CNY 1000000.00", code=3)


def test_trade_terms_on_a_domestic_order_are_refused_before_signing(platform: Home) -> None:
    result = platform.run("order", "place", "--seller", "supplier", "--chain", "1", "--currency", "CNY",
                          "--amount", "1", "--due", "2031-01-01", "--incoterm", "FOB", wallet="core")
    assert_one_line_error(result, "--incoterm and --country apply to overseas orders only", code=2)
    result = platform.run("order", "place", "--seller", "supplier", "--chain", "1", "--currency", "CNY",
                          "--amount", "1", "--due", "2031-01-01", "--overseas", "--incoterm", "FOB", wallet="core")
    assert_one_line_error(result, "an --overseas order needs --incoterm", code=2)


def test_a_dispute_is_raised_by_the_buyer_and_resolved_by_the_operator(platform: Home) -> None:
    h = platform
    placed = h.json("order", "place", "--seller", "supplier", "--chain", str(h.outputs["chain"]["chain_id"]),
                    "--currency", "CNY", "--amount", "99", "--due", "2031-01-01", wallet="core")
    order_id = str(placed["order_id"])
    h.json("order", "accept", order_id, wallet="supplier")
    h.json("order", "ship", order_id, "--carrier", "carrier", "--warehouse", "warehouse", wallet="supplier")
    h.json("order", "dispute", order_id, "--reason", "0x" + "d1" * 32, wallet="core")

    refused = h.run("order", "resolve", order_id, "--cancel", wallet="core")
    resolved = h.json("order", "resolve", order_id, "--cancel", wallet="operator")

    assert_one_line_error(refused, "AccessControlUnauthorizedAccount(", f"account={h.addresses['core']}",
                          "only the platform operator holds OPERATOR_ROLE", code=3)
    assert (resolved["action"], resolved["status"]) == ("dispute resolved", "CANCELLED")
    assert h.json("order", "show", order_id)["status"] == "CANCELLED"


# -- the node keeps its state across stop and start (last: it restarts the shared node) ---------


def test_state_survives_node_stop_and_start(settled: dict[str, Any], platform: Home) -> None:
    order_id = str(settled["order_id"])
    assert platform.json("node", "stop")["stopped"] is True
    assert_one_line_error(platform.run("order", "show", order_id), "no anvil node is running", "vscm node start",
                          code=5)

    restarted = platform.json("node", "start")

    assert restarted["running"] is True and restarted["state_saved"] is True
    assert restarted["block_number"] >= settled["settle"]["block"]
    assert platform.json("order", "show", order_id)["status"] == "SETTLED"
    assert platform.json("cash", "balance", "supplier") == settled["after"]["supplier"]
    assert platform.json("member", "show", "core")["status"] == "ACTIVE"


def test_start_after_kill_9_says_the_node_was_not_stopped_cleanly(settled: dict[str, Any], platform: Home) -> None:
    import signal
    import time

    info = json.loads((platform.path / "node" / "node.json").read_text())
    os.kill(info["pid"], signal.SIGKILL)
    while anvil.pid_alive(info["pid"]):
        time.sleep(0.01)

    result = platform.run("node", "start", "--json")

    assert result.returncode == 0, result.stderr
    warning = result.stderr.splitlines()
    assert len(warning) == 1 and warning[0].startswith("warning: the node was not stopped cleanly"), result.stderr
    started = json.loads(result.stdout)
    assert started["unclean_shutdown"]["had_block"] == started["block_number"] >= settled["settle"]["block"]
    assert started["unclean_shutdown"]["lost"] is False and started["state_interval"] == 1
    assert platform.json("order", "show", str(settled["order_id"]))["status"] == "SETTLED"
    again = platform.json("node", "stop"), platform.run("node", "start", "--json")
    assert again[1].returncode == 0 and again[1].stderr == "" and "unclean_shutdown" not in json.loads(again[1].stdout)
