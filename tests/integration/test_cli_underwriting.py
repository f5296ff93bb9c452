"""`vscm lender profile` and `vscm member consent grant|revoke|list` on anvil: the profile is refused
without consent, shown with it (text and JSON), refused again after revocation; an auditor reads it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from financing_support import Fin
from harness import make_parties, populate

from vscm.chain.anvil import AnvilNode
from vscm.chain.backends import connect
from vscm.cli.main import run
from vscm.cli.schemas import validate
from vscm.wallet.keystore import Keystore

PASSPHRASE = "correct horse battery staple"
SIGNERS = ("bank", "bank2", "supplier", "auditor")


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    home = tmp_path_factory.mktemp("underwriting-home")
    node = AnvilNode.start()
    try:
        parties = make_parties("vscm-cli-underwriting")
        world = populate(connect(node), parties)
        deal = Fin(world).pledge()  # the supplier borrows from bank (not bank2)
        Fin(world).repay(deal, 50_000_00)
        world.platform.deployment.save(home / "deployment.json")
        keys = Keystore(home / "keys", iterations=2**10)
        for label in SIGNERS:
            keys.import_key(label, getattr(parties, label).key.hex(), PASSPHRASE)
        (home / "pass").write_text(PASSPHRASE + "\n")
        yield {"home": home, "url": node.url, "p": parties, "world": world}
    finally:
        node.stop()


@pytest.fixture
def vscm(desk: dict[str, Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    home: Path = desk["home"]
    monkeypatch.setenv("VSCM_KEYSTORE_DIR", str(home / "keys"))
    monkeypatch.setenv("VSCM_KDF_FAST", "1")
    monkeypatch.setenv("VSCM_HOME", str(home))

    def call(*args: str, wallet: str | None = None) -> tuple[int, str, str]:
        net = ["--network", desk["url"], "--deployment", str(home / "deployment.json")]
        if args[:3] not in (("member", "consent", "grant"), ("member", "consent", "revoke")):  # transactions
            net += ["--index", str(home / "index.sqlite")]
        signer = ["--wallet", wallet, "--password-file", str(home / "pass")] if wallet else []
        code = run([*args, *net, *signer])
        out, err = capsys.readouterr()
        return code, out, err

    return call


def test_consent_gates_the_profile(vscm: Any, desk: dict[str, Any]) -> None:
    supplier, bank2 = desk["p"].supplier.address, desk["p"].bank2.address
    code, _, err = vscm("lender", "profile", supplier, "--json", wallet="bank2")
    assert code == 1 and "may not read the profile" in err and err.count("\n") == 1
    until = (datetime.now(UTC) + timedelta(days=200)).date().isoformat()  # at most 730 days ahead of the chain
    code, out, err = vscm("member", "consent", "grant", bank2, "--until", until, "--json", wallet="supplier")
    assert code == 0, err
    assert json.loads(out)["action"] == "consent granted" and json.loads(out)["expires"].startswith(until)
    code, out, err = vscm("lender", "profile", supplier, "--json", wallet="bank2")
    assert code == 0, err
    data = json.loads(out)
    assert data["access"].startswith("consent:") and data["profile"]["member"] == supplier
    assert data["profile"]["credit"]["loans"]["pledge"]["running"]["value"] == 1
    assert data["score"]["score"] == 100 + sum(c["points"] for c in data["score"]["contributions"])
    validate("lender profile", data)  # every amount of money is Money: {amount, currency, minor}
    outstanding = data["profile"]["credit"]["outstanding"]
    assert outstanding and all(f["value"]["currency"] == code for code, f in outstanding.items())
    traded = [(code, r[side]["value"]) for code, r in data["profile"]["trade"]["value"].items()
              for side in ("bought", "sold")]
    assert traded and all(v["currency"] == code for code, v in traded) and any(v["minor"] > 0 for _, v in traded)
    code, out, err = vscm("lender", "profile", supplier, "--no-update", wallet="bank2")
    assert code == 0, err
    assert "credit profile of" in out and "scorecard" in out and "pledge" in out
    assert all(f"bought {c} " in out for c, _ in traded)  # tables: each amount after its currency's code
    code, _, err = vscm("member", "consent", "revoke", bank2, wallet="supplier")
    assert code == 0, err
    code, out, _ = vscm("member", "consent", "list", supplier, "--json")
    [listed] = json.loads(out)
    assert listed["lender"] == bank2 and listed["active"] is False and listed["expires"] is None
    assert listed["granted"] is not None and listed["revoked"] is not None
    code, _, err = vscm("lender", "profile", supplier, "--json", "--no-update", wallet="bank2")
    assert code == 1 and "may not read the profile" in err


def test_a_consent_the_chain_refuses_is_one_line_naming_the_error(vscm: Any, desk: dict[str, Any]) -> None:
    until = (datetime.now(UTC) + timedelta(days=200)).date().isoformat()
    code, _, err = vscm("member", "consent", "grant", desk["p"].supplier2.address, "--until", until,
                        wallet="supplier")
    assert code == 3 and "ConsentNotLender" in err and err.count("\n") == 1
    code, _, err = vscm("member", "consent", "revoke", desk["p"].bank.address, wallet="supplier")
    assert code == 3 and "ConsentNotGranted" in err


def test_the_auditor_reads_any_profile(vscm: Any, desk: dict[str, Any]) -> None:
    code, out, err = vscm("lender", "profile", desk["p"].core.address, "--json", wallet="auditor")
    assert code == 0, err
    data = json.loads(out)
    assert data["access"].startswith("auditor") and data["profile"]["tier"] == "core"
    assert data["profile"]["credit"]["guarantees"]["given"]["value"] == 1


def test_loan_show_gives_the_lender_its_applicants_profile_summary(vscm: Any, desk: dict[str, Any]) -> None:
    pass_file = str(desk["home"] / "pass")
    code, out, err = vscm("loan", "show", "1", "--applicant-as", "bank", "--password-file", pass_file, "--json")
    assert code == 0, err
    data = json.loads(out)
    applicant = data["applicant"]
    assert applicant["member"] == desk["p"].supplier.address and applicant["access"] == "application"
    assert applicant["loans"] == {"pledge": {"applied": 1, "running": 1}}
    code, _, err = vscm("loan", "show", "1", "--applicant-as", "bank2", "--password-file", pass_file)
    assert code == 1 and "may not read the profile" in err
