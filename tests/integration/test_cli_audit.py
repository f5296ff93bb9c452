"""`vscm audit replay` and `vscm lender portfolio|exposure|loan` against the demo on anvil."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from demo_chain import demo_on_anvil
from support import usd_pledge_loan

from vscm import demo
from vscm.audit.replay import contracts_of
from vscm.cli.main import run
from vscm.client.platform import Platform


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Platform, list[str], Path]]:
    home = tmp_path_factory.mktemp("cli-audit")
    with demo_on_anvil(tmp_path_factory) as platform:
        chain = platform.chain
        manifest = platform.deployment.save(home / "deployment.json")
        yield platform, ["--network", chain.node.url, "--deployment", str(manifest)], home


def vscm(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_audit_replay_writes_a_clean_report(setup: Any, capsys: pytest.CaptureFixture[str]) -> None:
    platform, net, home = setup
    head = platform.chain.block_number()
    code, out, err = vscm(capsys, "audit", "replay", "--to", str(head), "--report", str(home / "audit.html"),
                          "--json", *net)
    assert code == 0, err
    summary = json.loads(out)
    assert (summary["to_block"], summary["verdict"], summary["findings"]) == (head, "clean", [])
    page = (home / "audit.html").read_text()
    assert page.startswith("<!doctype html>") and "Verdict: clean" in page
    assert all(f"Loan #{n}" in page for n in range(1, platform.loans.count() + 1))
    report = json.loads((home / "audit.json").read_text())
    assert len(report["loans"]) == platform.loans.count() and report["events"] == summary["events"] > 200


def test_audit_replay_from_a_block_in_the_middle_audits_the_period(setup: Any,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    platform, net, home = setup
    head = platform.chain.block_number()
    middle = (platform.deployment.block + head) // 2
    code, out, err = vscm(capsys, "audit", "replay", "--from", str(middle), "--to", str(head),
                          "--report", str(home / "period.md"), "--json", *net)
    assert code == 0, err
    summary = json.loads(out)
    assert (summary["from_block"], summary["to_block"], summary["verdict"], summary["findings"]) == (
        middle, head, "clean", [])
    assert summary["blocks"] == head - middle + 1
    logs = platform.chain.w3.eth.get_logs({"fromBlock": middle, "toBlock": head,
                                            "address": sorted(contracts_of(platform.deployment))})
    assert summary["events"] == len(logs) > 0
    assert "Verdict: clean" in (home / "period.md").read_text()


def test_audit_replay_with_the_bloom_only_check_says_so_in_its_summary_and_report(
        setup: Any, capsys: pytest.CaptureFixture[str]) -> None:
    platform, net, home = setup
    head = platform.chain.block_number()
    middle = (platform.deployment.block + head) // 2
    code, out, err = vscm(capsys, "audit", "replay", "--from", str(middle), "--to", str(head), "--check", "bloom",
                          "--report", str(home / "bloom.md"), "--json", *net)
    assert code == 0, err
    summary = json.loads(out)
    assert (summary["check"], summary["verdict"], summary["findings"]) == ("bloom", "clean", [])
    report = json.loads((home / "bloom.json").read_text())
    assert report["receipt_roots_recomputed"] == 0
    assert any(n.startswith("bloom-only check") for n in report["notes"])
    assert "Note: bloom-only check" in (home / "bloom.md").read_text()


def test_audit_replay_beyond_the_head_is_a_one_line_error(setup: Any, capsys: pytest.CaptureFixture[str]) -> None:
    _, net, _ = setup
    code, _out, err = vscm(capsys, "audit", "replay", "--to", "999999", *net)
    assert code == 1
    assert err.startswith("error: block 999999 is beyond the head") and err.count("\n") == 1


def test_lender_commands_read_the_index(setup: Any, capsys: pytest.CaptureFixture[str]) -> None:
    platform, net, home = setup
    bank = demo.Cast.from_seed().bank.address
    index = ["--index", str(home / "index.sqlite")]
    code, out, err = vscm(capsys, "lender", "portfolio", bank, "--json", *index, *net)
    assert code == 0, err
    data = json.loads(out)
    assert set(data) == {"lender", "as_of_block", "modes", "totals"}
    assert sum(r["loans"] for r in data["modes"].values()) == len(platform.loans.loans(lender=bank))
    code, out, err = vscm(capsys, "lender", "loan", "1", "--json", "--no-update", *index)
    assert code == 0, err
    detail = json.loads(out)
    assert detail["loan"]["principal"]["minor"] == platform.loans.loan(1).principal
    assert [h["amount"]["minor"] for h in detail["hops"]] == [h["amount"] for h in platform.funds.hops(1)]
    code, out, err = vscm(capsys, "lender", "exposure", bank, "--json", "--no-update", *index)
    assert code == 0, err
    assert json.loads(out)["loans"] == sum(1 for ln in platform.loans.loans(lender=bank) if ln.status.running)
    code, out, err = vscm(capsys, "lender", "loan", "99", "--no-update", *index)
    assert code == 1 and err.startswith("error: loan 99 is not in the index")


def test_lender_commands_show_each_currency_by_code_and_never_add_them(
        setup: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    platform, net, _ = setup
    monkeypatch.setenv("COLUMNS", "200")  # wide enough that rich wraps no cell
    bank = demo.Cast.from_seed().bank.address
    index = ["--index", str(tmp_path / "index.sqlite")]
    mark = platform.chain.snapshot()
    try:
        usd_pledge_loan(platform, 25_000_00)
        code, out, err = vscm(capsys, "lender", "portfolio", bank, "--json", *index, *net)
        assert code == 0, err
        totals = json.loads(out)["totals"]
        assert set(totals) == {"CNY", "USD"} and totals["USD"]["outstanding_principal"] == {
            "amount": "25000.00", "currency": "USD", "minor": 25_000_00}
        cny = totals["CNY"]["outstanding_principal"]["minor"]
        code, out, err = vscm(capsys, "lender", "portfolio", bank, "--no-update", *index)
        assert code == 0, err
        rows = [line for line in out.splitlines() if "total" in line]
        assert any("USD 25000.00" in r for r in rows) and any("CNY " in r for r in rows)
        assert f"{(cny + 25_000_00) // 100}." not in out  # no sum across currencies anywhere
        assert platform.deployment.cash["USD"] not in out and platform.deployment.cash["CNY"] not in out

        code, out, err = vscm(capsys, "lender", "exposure", bank, "--json", "--no-update", *index)
        assert code == 0, err
        data = json.loads(out)
        assert set(data["currency"]) == {"CNY", "USD"} and data["currency"]["USD"]["outstanding"]["minor"] == 25_000_00
        code, out, err = vscm(capsys, "lender", "exposure", bank, "--no-update", *index)
        assert code == 0, err
        by_code = [line for line in out.splitlines() if "USD" in line]
        assert len(by_code) == 3  # the borrower, its supply chain and the total: each in USD alone
        assert platform.deployment.cash["USD"] not in out and platform.deployment.cash["CNY"] not in out
    finally:
        platform.chain.revert(mark)


def test_a_saved_history_is_re_verified_and_a_forged_header_is_found(setup: Any,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    platform, net, home = setup
    saved = home / "history.jsonl"
    code, _, err = vscm(capsys, "audit", "replay", "--save", str(saved), "--json", *net)
    assert code == 0, err
    code, out, err = vscm(capsys, "audit", "stored", str(saved), "--json", *net)
    assert code == 0, err
    assert json.loads(out)["verdict"] == "clean"

    lines = saved.read_text().splitlines()
    forged_at = next(i for i, line in enumerate(lines) if '"header"' in line and
                     json.loads(line)["header"]["number"] == platform.deployment.block + 10)
    record = json.loads(lines[forged_at])
    record["header"]["timestamp"] += 3600  # the hash links still hold: the chain's own header tells
    lines[forged_at] = json.dumps(record)
    forged = home / "forged.jsonl"
    forged.write_text("\n".join(lines) + "\n")
    code, out, err = vscm(capsys, "audit", "stored", str(forged), "--json", *net)
    assert code == 4 and err.startswith("error: the audit found")
    found = [(f["check"], f["entity"], f["field"]) for f in json.loads(out)["findings"]]
    assert ("blocks", f"stored block {record['header']['number']}", "timestamp") in found


MONEY_KEYS = {"amount", "currency", "minor"}


def money_fields(record: dict[str, Any]) -> set[str]:
    return {k for k, v in record.items() if isinstance(v, dict) and set(v) == MONEY_KEYS}


def test_loan_show_and_lender_loan_give_one_loan_record(setup: Any, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    platform, net, _ = setup
    index = ["--index", str(tmp_path / "index.sqlite")]
    code, out, err = vscm(capsys, "lender", "loan", "1", "--json", *index, *net)
    assert code == 0, err
    from_index = json.loads(out)
    code, out, err = vscm(capsys, "loan", "show", "1", "--json", *net)
    assert code == 0, err
    from_chain = json.loads(out)["loan"]
    assert from_index["loan"].keys() == from_chain.keys()
    # the same values, but for interest accrued since: the index counts to its last block, the chain to now
    moving = {"accrued_now", "outstanding_now"}
    assert {k: v for k, v in from_index["loan"].items() if k not in moving} == {
        k: v for k, v in from_chain.items() if k not in moving}
    assert money_fields(from_chain) == {
        "principal", "interest_accrued", "principal_repaid", "interest_paid", "accrued_now", "outstanding_now",
        "guarantee_held", "guarantor_paid", "written_off"}
    assert {from_chain[k]["currency"] for k in money_fields(from_chain)} == {from_chain["currency"]} == {"CNY"}
    assert from_chain["cash_token"] == platform.deployment.cash["CNY"]
    assert from_chain["maturity"] == datetime.fromtimestamp(platform.loans.loan(1).maturity, timezone.utc).isoformat()
    assert all(set(r) >= {"interest", "principal", "outstanding"} and money_fields(r) == {
        "interest", "principal", "outstanding"} for r in from_index["repayments"])
    assert all(money_fields(h) == {"amount"} for h in from_index["hops"])


def test_asset_and_track_carry_the_currency(setup: Any, capsys: pytest.CaptureFixture[str]) -> None:
    platform, net, _ = setup
    ln = platform.loans.loan(1)
    code, out, err = vscm(capsys, "asset", "show", str(ln.asset_id), "--json", *net)
    assert code == 0, err
    shown = json.loads(out)
    assert shown["value"]["currency"] == shown["currency"] == "CNY"
    assert shown["value"]["minor"] == platform.assets.asset(ln.asset_id).value
    code, out, err = vscm(capsys, "loan", "track", "1", "--json", *net)
    assert code == 0, err
    track = json.loads(out)
    assert track["disbursed"] == {"amount": f"{ln.principal / 100:.2f}", "currency": "CNY", "minor": ln.principal}
    assert all(h["amount"]["currency"] == "CNY" for h in track["hops"]) and track["hops"]
    code, out, err = vscm(capsys, "loan", "list", "--json", *net)
    assert code == 0, err
    assert {(r["loan_id"], r["principal"]["currency"]) for r in json.loads(out)} == {
        (x.loan_id, platform.currency_code(x.currency)) for x in platform.loans.loans()}


def test_tables_name_the_parties_and_show_money_and_dates(setup: Any, capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    platform, net, _ = setup
    monkeypatch.setenv("COLUMNS", "200")
    ln = platform.loans.loan(1)
    code, out, err = vscm(capsys, "loan", "show", "1", *net)
    assert code == 0, err
    lender = platform.members.member(ln.lender)
    assert f"{lender.name} {ln.lender[:6]}…" in out and ln.lender not in out
    assert f"CNY {ln.principal // 100}.{ln.principal % 100:02d}" in out
    assert datetime.fromtimestamp(ln.maturity, timezone.utc).strftime("%Y-%m-%d") in out
    code, out, err = vscm(capsys, "loan", "list", "--wide", *net)
    assert code == 0, err
    rows = [line for line in out.splitlines() if line.split() and line.split()[0] == "1"]
    assert len(rows) == 1 and ln.lender in rows[0] and ln.borrower in rows[0]  # one line per row, whole addresses


def test_each_read_command_gives_the_json_of_docs_json_md(setup: Any, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    from vscm.cli.schemas import validate

    platform, net, _ = setup
    bank = demo.Cast.from_seed().bank.address
    ln = platform.loans.loan(1)
    index = ["--index", str(tmp_path / "index.sqlite")]
    runs = {
        "order show": ["order", "show", str(ln.purpose_order_id or 1)], "order list": ["order", "list"],
        "asset show": ["asset", "show", str(ln.asset_id)], "asset list": ["asset", "list"],
        "loan show": ["loan", "show", "1"], "loan list": ["loan", "list"], "loan track": ["loan", "track", "1"],
        "member show": ["member", "show", bank], "member list": ["member", "list"],
        "cash balance": ["cash", "balance", bank],
        "lender portfolio": ["lender", "portfolio", bank, *index],
        "lender exposure": ["lender", "exposure", bank, *index, "--no-update"],
        "lender loan": ["lender", "loan", "1", *index, "--no-update"],
    }
    for command, argv in runs.items():
        no_update = "--no-update" in argv
        code, out, err = vscm(capsys, *argv, "--json", *([] if no_update else net))
        assert code == 0, (command, err)
        validate(command, json.loads(out))
