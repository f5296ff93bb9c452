"""The audit report as a document an auditor signs: what was audited and by whom, the checks that passed, names and
currencies, notes only where they apply, findings linked to their record and money-trail line, long hex that
wraps, and a signature by the auditor's own wallet key that `vscm audit verify` checks (exit 4 when it fails).

On the embedded chain: one receivable loan, disbursed and partly spent, audited.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from financing_support import Fin

from vscm import __version__
from vscm.audit.audit import audit_chain
from vscm.audit.oracle import NO_EVENT
from vscm.audit.report import build_report, digest_of, render_html, render_markdown
from vscm.audit.state import Finding
from vscm.cli.main import run

PASSWORD = "correct horse battery staple"


@pytest.fixture
def audited(fresh: Any, tmp_path: Path) -> tuple[Any, Any, Path]:
    fin = Fin(fresh)
    deal = fin.receivable_loan()  # CNY 150,000.00 for an order from the supplier
    fresh.platform.funds.as_(deal.borrower).spend(deal.loan_id, fresh.p.supplier.address, 1_000_00, "goods")
    auditor = {"name": None, "address": fresh.p.auditor.address, "wallet": "auditor"}
    outcome = audit_chain(fresh.chain, fresh.platform.deployment, report=tmp_path / "audit.html", auditor=auditor)
    return fresh, outcome, tmp_path


def test_the_report_says_what_was_audited_by_whom_and_which_checks_passed(audited: Any) -> None:
    w, _, home = audited
    r = json.loads((home / "audit.json").read_text())
    d = w.platform.deployment
    assert (r["chain_id"], r["tool"], r["tool_version"], r["verdict"]) == (d.chain_id, "vscm", __version__, "clean")
    contracts = {c["name"]: c["address"] for c in r["contracts"]}
    assert contracts["OrderBook"] == d.orders and contracts["PlatformCash CNY"] == d.cash["CNY"]
    assert contracts["LoanBook"] == d.loans and len(contracts) == len(r["contracts"])
    for end, block in (("from_time", r["from_block"]), ("to_time", r["to_block"])):
        stamp = w.chain.w3.eth.get_block(block)["timestamp"]
        assert r[end] == datetime.fromtimestamp(stamp, timezone.utc).isoformat()
    registered = w.platform.members.member(w.p.auditor.address).name
    assert r["auditor"] == {"name": registered, "address": w.p.auditor.address}
    assert [c["check"] for c in r["checks"]] == ["blocks", "log", "receipt", "unknown-event", "event", "certificate",
                                                 "state", "money"]
    assert all(c["passed"] and c["findings"] == 0 for c in r["checks"])
    assert r["checks_passed"] == [c["check"] for c in r["checks"]]
    assert f"at block {r['to_block']}" in next(c["what"] for c in r["checks"] if c["check"] == "state")
    page = (home / "audit.html").read_text()
    assert f"chain id {d.chain_id}" in page and d.orders in page and f"vscm {__version__}" in page
    assert f"{registered} <code>{w.p.auditor.address}</code>" in page
    assert "<h2>Checks</h2>" in page and page.count(">passed<") == len(r["checks"])


def test_loans_name_their_parties_and_carry_their_currency(audited: Any) -> None:
    w, outcome, home = audited
    r = outcome.report
    (loan,) = r["loans"]
    members = w.platform.members
    assert (loan["borrower_name"], loan["lender_name"], loan["currency_code"]) == (
        members.member(loan["borrower"]).name, members.member(loan["lender"]).name, "CNY")
    assert [h["to_name"] for h in loan["hops"]] == [members.member(w.p.supplier.address).name]
    page = (home / "audit.html").read_text()
    assert "CNY 150,000.00" in page and "CNY 1,000.00" in page
    assert f"{loan['borrower_name']} <code>{loan['borrower']}</code>" in page
    markdown = render_markdown(r)
    assert "principal CNY 150,000.00" in markdown and f"{loan['lender_name']} ({loan['lender']})" in markdown


def test_notes_appear_only_where_they_apply(audited: Any) -> None:
    _, outcome, home = audited
    # the oracle's gaps are noted by the replay, but the oracle emitted nothing here beyond its set-up (roles, its
    # alert sink): the report leaves them out
    assert set(NO_EVENT) <= outcome.result.notes and outcome.report["notes"] == []
    assert outcome.report["receipt_roots_recomputed"] > 0
    page = (home / "audit.html").read_text()
    assert "<h2>Notes</h2>" not in page and "Note:" not in page
    assert "## Notes" not in render_markdown(outcome.report)


def test_a_finding_links_to_its_record_and_money_trail_line(audited: Any) -> None:
    w, outcome, _ = audited
    (loan,) = outcome.report["loans"]
    hop = loan["hops"][0]
    findings = [Finding("money", f"funds of loan {loan['loan']}", "sum of hops", 1, 2, hop["block"]),
                Finding("state", f"order {loan['loan']}", "status", 1, 2, None)]
    r = build_report(outcome.result, findings, source="test", network="test", verified_block=outcome.result.to_block,
                     deployment=w.platform.deployment)
    linked, other = r["findings"]
    trail = f"loan-{loan['loan']}-hop-{hop['hop']}"
    assert (linked["record"], linked["trail"]) == (f"loan-{loan['loan']}", trail)
    assert (other["record"], other["trail"]) == (None, None)
    assert r["verdict"] == "2 finding(s)"
    assert {c["check"]: c["findings"] for c in r["checks"] if not c["passed"]} == {"money": 1, "state": 1}
    assert "money" not in r["checks_passed"] and "blocks" in r["checks_passed"]
    page = render_html(r)
    assert f"<a href='#{trail}'>" in page and f"<tr id='{trail}'>" in page
    assert f"id='loan-{loan['loan']}'" in page and f"<a href='#loan-{loan['loan']}'>" in page
    markdown = render_markdown(r)
    assert f"[{trail}](#{trail})" in markdown and f'<a id="{trail}"></a>' in markdown


def test_long_hex_wraps_and_is_shown_whole(audited: Any) -> None:
    _, outcome, home = audited
    page = (home / "audit.html").read_text()
    assert "overflow-wrap:anywhere" in page and "word-break:break-all" in page
    tx = outcome.report["loans"][0]["hops"][0]["tx"]
    assert len(tx) == 66 and f"<code>{tx}</code>" in page  # the whole hash, in a cell that wraps


@pytest.fixture
def wallets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A fresh keystore (wallets are imported into it by the tests), and a key that is not the auditor's."""
    monkeypatch.setenv("VSCM_KEYSTORE_DIR", str(tmp_path / "keystores"))
    monkeypatch.setenv("VSCM_KDF_FAST", "1")
    monkeypatch.setenv("VSCM_PASSWORD", PASSWORD)
    return {"other": Account.create()}


def import_wallet(tmp_path: Path, label: str, key: bytes) -> None:
    key_file = tmp_path / f"{label}.key"
    key_file.write_text(key.hex() + "\n")
    assert run(["wallet", "import", label, "--key-file", str(key_file)]) == 0


def vscm(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_auditor_signs_the_report_and_anyone_verifies_it(audited: Any, wallets: Any,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    w, outcome, home = audited
    import_wallet(home, "auditor", bytes(w.p.auditor.key))
    capsys.readouterr()
    page, report = home / "audit.html", home / "audit.json"
    written = json.loads(report.read_text())
    assert written["digest"] == digest_of(written)  # the digest is of the canonical JSON, as written
    assert "Not signed yet" in page.read_text()

    code, out, err = vscm(capsys, "audit", "sign", str(page), "--wallet", "auditor", "--json")
    assert code == 0, err
    signed = json.loads(out)
    name = outcome.report["auditor"]["name"]
    assert (signed["signer"], signed["name"], signed["keccak256"]) == (
        w.p.auditor.address, name, written["digest"]["keccak256"])
    assert f"Signed by {name} <code>{w.p.auditor.address}</code>" in page.read_text()

    code, out, err = vscm(capsys, "audit", "verify", str(report), "--json")
    assert code == 0, err
    checked = json.loads(out)
    assert checked["signers"] == [{"address": w.p.auditor.address, "name": name, "auditor": True}]
    assert (checked["keccak256"], checked["verdict"]) == (written["digest"]["keccak256"], "clean")
    code, out, err = vscm(capsys, "audit", "verify", str(page))
    assert code == 0 and w.p.auditor.address[:8] in out and "verified (clean)" in out


def test_verification_fails_with_exit_4_and_one_line(audited: Any, wallets: Any,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    w, _, home = audited
    report = home / "audit.json"
    code, _, err = vscm(capsys, "audit", "verify", str(report))
    assert code == 4 and err.startswith("error: ") and "is not signed" in err and err.count("\n") == 1

    import_wallet(home, "auditor", bytes(w.p.auditor.key))
    import_wallet(home, "other", bytes(wallets["other"].key))
    capsys.readouterr()
    assert vscm(capsys, "audit", "sign", str(report), "--wallet", "auditor")[0] == 0
    signed = report.read_text()

    # a figure changed after signing: the digest no longer matches (and signing it again is refused)
    changed = json.loads(signed)
    changed["loans"][0]["principal"] += 1
    report.write_text(json.dumps(changed, indent=2))
    code, _, err = vscm(capsys, "audit", "verify", str(report))
    assert code == 4 and "was changed after it was written" in err and err.count("\n") == 1
    code, _, err = vscm(capsys, "audit", "sign", str(report), "--wallet", "other")
    assert code == 4 and "was changed after it was written" in err

    # a signature that claims another signer
    forged = json.loads(signed)
    forged["signatures"][0]["signer"] = wallets["other"].address
    report.write_text(json.dumps(forged, indent=2))
    code, _, err = vscm(capsys, "audit", "verify", str(report))
    assert code == 4 and f"was made by {w.p.auditor.address}" in err

    # the whole report re-digested after a change: the digest matches, the auditor's signature does not
    redone = json.loads(signed)
    redone["verdict"] = "1 finding(s)"
    redone["digest"] = digest_of(redone)
    report.write_text(json.dumps(redone, indent=2))
    code, _, err = vscm(capsys, "audit", "verify", str(report))
    assert code == 4 and re.search(r"was made by 0x[0-9a-fA-F]{40}, over another report", err)

    # not a report at all, or no file: usage (2)
    (home / "junk.json").write_text("[1, 2]")
    assert vscm(capsys, "audit", "verify", str(home / "junk.json"))[0] == 2
    assert vscm(capsys, "audit", "verify", str(home / "missing.json"))[0] == 2


def test_auditor_option_takes_a_name_a_wallet_or_an_address(audited: Any, wallets: Any) -> None:
    from vscm.cli.audit import auditor_of
    from vscm.errors import InputError

    w, _, home = audited
    assert auditor_of("Chang'an Audit LLP") == {"name": "Chang'an Audit LLP", "address": None}
    import_wallet(home, "auditor", bytes(w.p.auditor.key))
    assert auditor_of("auditor") == {"name": None, "address": w.p.auditor.address, "wallet": "auditor"}
    assert auditor_of(w.p.auditor.address.lower())["address"] == w.p.auditor.address
    with pytest.raises(InputError):
        auditor_of("0x1234")
    with pytest.raises(InputError):
        auditor_of("  ")
