"""The console's HTTP API on the demo's story: sign-in (EIP-4361 in the page, script tokens), figures
that agree with the client's views, currencies never added together, and a 403 outside each party's
scope for every endpoint (the route table is the list: a new endpoint without a case fails here)."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from console_support import Story, amount_units, console_story
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import keccak
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from vscm.client.records import LoanStatus
from vscm.console import notify
from vscm.console.siwe import SiweMessage, iso, mint_token

pytestmark = pytest.mark.anvil


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Story]:
    with console_story(tmp_path_factory, tmp_path_factory.mktemp("console") / "index.sqlite") as s:
        yield s


@pytest.fixture
def client(story: Story) -> Iterator[TestClient]:
    with TestClient(story.app) as c:
        yield c


# ---------------------------------------------------------------- scope: every endpoint

def _cases(s: Story) -> dict[str, tuple[str, Any]]:
    """Per API route: a request outside the caller's scope, and the caller (a party that is signed in)."""
    c = s.cast
    bank, supplier_b = c.bank.address, c.supplier_b.address
    baoji_loan = next(ln.loan_id for ln in s.platform.loans.loans() if ln.borrower == c.supplier_a.address)
    return {
        "/api/lenders/{address}/portfolio": (f"/api/lenders/{bank}/portfolio", c.supplier_a),
        "/api/lenders/{address}/exposure": (f"/api/lenders/{bank}/exposure", c.core),
        "/api/lenders/{address}/maturities": (f"/api/lenders/{bank}/maturities", c.seller),
        "/api/lenders/{address}/alerts": (f"/api/lenders/{bank}/alerts", c.supplier_b),
        "/api/lenders/{address}/defaults": (f"/api/lenders/{bank}/defaults", c.warehouse),
        "/api/lenders/{address}/exports/{kind}": (f"/api/lenders/{bank}/exports/loans", c.supplier_a),
        "/api/loans": (f"/api/loans?borrower={c.supplier_a.address}", c.supplier_b),
        "/api/loans/{loan_id}": (f"/api/loans/{baoji_loan}", c.carrier),
        "/api/loans/{loan_id}/readings": (f"/api/loans/{baoji_loan}/readings", c.seller),
        "/api/members/{address}": (f"/api/members/{supplier_b}", c.supplier_a),
        # A member that is not a lender reads no one else's profile.
        "/api/members/{address}/profile": (f"/api/members/{c.supplier_a.address}/profile", c.supplier_b),
        "/api/audit": ("/api/audit", c.bank),
        "/api/council": ("/api/council", c.core),
        # The council's scheduled changes: lenders see them too, a member that does not lend does not.
        "/api/council/changes": ("/api/council/changes", c.core),
        "/api/audit/replay": (f"/api/audit/replay?from_block={s.platform.deployment.block + 5}", c.bank),
        "/api/lenders/{address}/webhooks": (f"/api/lenders/{bank}/webhooks", c.supplier_a),
        "/api/lenders/{address}/webhooks/deliveries": (f"/api/lenders/{bank}/webhooks/deliveries", c.core),
        # The carrier holds no part of the demo's certificate and financed none.
        "/api/certificates/{certificate_id}": (f"/api/certificates/{_certificate(s)}", c.carrier),
    }


def _certificate(s: Story) -> int:
    """The demo's certificate (step 8c): the only one."""
    assert s.platform.certificates.count() == 1
    return 1


def _post_cases(s: Story) -> dict[str, tuple[str, dict[str, Any], Any, Any]]:
    """Per POST route: url, body, a caller outside its scope and one inside (None: inside would send)."""
    c = s.cast
    foreign = Account.sign_transaction({"to": s.platform.deployment.risk, "data": "0x", "value": 0, "gas": 50_000,
                                        "gasPrice": 0, "nonce": 0, "chainId": s.platform.deployment.chain_id},
                                       c.bank.key)
    return {
        # Not even an auditor decides for a lender; the lender gets the unsigned transaction.
        "/api/loans/{loan_id}/decision": (f"/api/loans/{s.warned_loan}/decision", {"decision": "recall"},
                                          c.auditor, c.bank),
        # A transaction signed by the bank, sent through the auditor's session.
        "/api/tx": ("/api/tx", {"raw": "0x" + bytes(foreign.raw_transaction).hex()}, c.auditor, None),
        # Not even an auditor subscribes for a lender (the subscription made inside is removed at once).
        "/api/lenders/{address}/webhooks": (f"/api/lenders/{c.bank.address}/webhooks",
                                            {"url": "http://127.0.0.1:9/", "secret": "s" * 16}, c.auditor, c.bank),
    }


#: API routes every signed-in party may call (what they answer depends on who asks).
OPEN_TO_EVERY_SIGNED_IN = {"/api/me"}


def test_every_api_route_has_a_scope_case(story: Story) -> None:
    routes = {r.path for r in story.app.routes if isinstance(r, APIRoute) and r.path.startswith("/api/")}
    assert routes == set(_cases(story)) | set(_post_cases(story)) | OPEN_TO_EVERY_SIGNED_IN


def test_a_profile_is_shown_to_the_lender_the_member_consented_to_on_chain_only(story: Story,
                                                                               client: TestClient) -> None:
    c, consents = story.cast, story.platform.consents
    url = f"/api/members/{c.core.address}/profile"
    # The bank lends to the core's suppliers, not to the core: no application, no consent yet.
    refused = client.get(url, headers=story.auth(c.bank))
    assert refused.status_code == 403 and "no consent on chain" in refused.json()["detail"]
    assert client.get(url, headers=story.auth(c.auditor)).json()["access"] == "auditor"
    consents.as_(c.core).grant_consent(c.bank.address, story.platform.chain.now() + 86_400)
    try:
        story.refresh()
        answer = client.get(url, headers=story.auth(c.bank))
        assert answer.status_code == 200, answer.text
        assert answer.json()["access"] == "consent" and answer.json()["profile"]["member"] == c.core.address
    finally:
        consents.as_(c.core).revoke_consent(c.bank.address)
        story.refresh()
    assert client.get(url, headers=story.auth(c.bank)).status_code == 403
    # The lender of an open application reads its applicant's profile without a consent.
    assert client.get(f"/api/members/{c.supplier_a.address}/profile",
                      headers=story.auth(c.bank)).json()["access"] == "application"


@pytest.mark.parametrize("route", ["/api/loans/{loan_id}/decision", "/api/tx", "/api/lenders/{address}/webhooks"])
def test_a_write_outside_the_party_s_scope_is_403(story: Story, client: TestClient, route: str) -> None:
    url, body, outsider, insider = _post_cases(story)[route]
    answer = client.post(url, json=body, headers=story.auth(outsider))
    assert answer.status_code == 403, answer.text
    assert client.post(url, json=body).status_code == 401
    if insider is not None:
        inside = client.post(url, json=body, headers=story.auth(insider))
        assert inside.status_code == 200
        if route.endswith("/webhooks"):
            with story.app.state.console.open() as index:
                notify.unsubscribe(index, inside.json()["id"])


@pytest.mark.parametrize("route", ["/api/lenders/{address}/portfolio", "/api/lenders/{address}/exposure",
                                   "/api/lenders/{address}/maturities", "/api/lenders/{address}/alerts",
                                   "/api/lenders/{address}/defaults", "/api/lenders/{address}/exports/{kind}",
                                   "/api/loans", "/api/loans/{loan_id}", "/api/loans/{loan_id}/readings",
                                   "/api/members/{address}", "/api/members/{address}/profile", "/api/audit", "/api/audit/replay", "/api/council",
                                   "/api/council/changes", "/api/lenders/{address}/webhooks",
                                   "/api/lenders/{address}/webhooks/deliveries", "/api/certificates/{certificate_id}"])
def test_a_request_outside_the_party_s_scope_is_403(story: Story, client: TestClient, route: str) -> None:
    url, caller = _cases(story)[route]
    answer = client.get(url, headers=story.auth(caller))
    assert answer.status_code == 403, answer.text
    assert "detail" in answer.json()
    # ... and the same request by a party whose scope it is (the auditor sees everything) answers.
    assert client.get(url, headers=story.auth(story.cast.auditor)).status_code == 200


@pytest.mark.parametrize("route", sorted(["/api/me", "/api/lenders/{address}/portfolio", "/api/loans",
                                          "/api/loans/{loan_id}", "/api/members/{address}", "/api/audit",
                                          "/api/council", "/api/council/changes"]))
def test_an_unsigned_request_is_401(story: Story, client: TestClient, route: str) -> None:
    url = _cases(story)[route][0] if route in _cases(story) else route
    answer = client.get(url)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"


def test_an_outsider_sees_who_it_is_and_nothing_else(story: Story, client: TestClient) -> None:
    headers = story.auth(story.outsider)
    me = client.get("/api/me", headers=headers).json()
    assert (me["address"], me["kind"], me["sees_all"]) == (story.outsider.address, "visitor", False)
    assert client.get("/api/loans", headers=headers).status_code == 403
    assert client.get(f"/api/members/{story.outsider.address}", headers=headers).status_code == 403


def test_a_member_lists_only_its_own_loans(story: Story, client: TestClient) -> None:
    baoji = story.cast.supplier_a.address
    seen = client.get("/api/loans", headers=story.auth(story.cast.supplier_a)).json()["loans"]
    theirs = [ln for ln in story.platform.loans.loans() if baoji in (ln.borrower, ln.lender, ln.guarantor)]
    assert sorted(ln["loan"] for ln in seen) == sorted(ln.loan_id for ln in theirs) and seen
    assert client.get(f"/api/loans?borrower={baoji}", headers=story.auth(story.cast.supplier_a)).status_code == 200


def test_after_the_council_took_over_the_operator_key_sees_nothing_and_the_auditor_everything(
        story: Story, client: TestClient) -> None:
    """The demo's step 8d hands every admin role to the council's timelock: the operator key alone is no longer
    the council (a visitor, with no member record), and the auditor sees everything."""
    me = client.get("/api/me", headers=story.auth(story.cast.operator)).json()
    assert not me["council"] and me["kind"] == "visitor"
    everything = client.get("/api/loans", headers=story.auth(story.cast.auditor)).json()["loans"]
    assert len(everything) == story.platform.loans.count()


# ---------------------------------------------------------------- figures against the client's views

def test_the_portfolio_keeps_currencies_apart_and_agrees_with_the_chain(story: Story, client: TestClient) -> None:
    bank = story.cast.bank.address
    view = client.get(f"/api/lenders/{bank}/portfolio", headers=story.auth(story.cast.bank)).json()
    assert set(view["totals"]) == {"CNY", "USD"}
    d = story.platform.deployment
    for code in ("CNY", "USD"):
        open_loans = [ln for ln in story.platform.loans.loans(lender=bank)
                      if ln.currency == d.cash[code] and ln.status not in (LoanStatus.REJECTED, LoanStatus.REPAID,
                                                                           LoanStatus.WRITTEN_OFF)]
        total = view["totals"][code]["outstanding_principal"]
        assert total["currency"] == code and total["decimals"] == 2
        assert amount_units(total) == sum(ln.principal - ln.principal_repaid - ln.written_off for ln in open_loans)
        assert total["text"].endswith(f" {code}")
    assert view["lender"]["name"] == "Silk Road Bank" and view["lender"]["short"].startswith(bank[:6])


def test_a_loan_shows_its_figures_trail_and_timeline_as_the_chain_has_them(story: Story, client: TestClient) -> None:
    for ln in story.platform.loans.loans(lender=story.cast.bank.address):
        view = client.get(f"/api/loans/{ln.loan_id}", headers=story.auth(story.cast.bank)).json()
        assert amount_units(view["principal"]) == ln.principal
        assert amount_units(view["principal_repaid"]) == ln.principal_repaid
        assert amount_units(view["interest_paid"]) == ln.interest_paid
        assert [(h["to"]["address"], amount_units(h["amount"])) for h in view["trail"]] == [
            (h["to"], h["amount"]) for h in story.platform.funds.hops(ln.loan_id)]
        assert view["status"] == ln.status.name.lower()
        applied = view["timeline"][0]
        assert applied["event"] == "LoanApplied"
        assert applied["args"]["principal"] == view["principal"] and applied["args"]["currency"] == view["currency"]
        assert applied["args"]["lender"]["name"] == "Silk Road Bank"
        assert all(e["time"].endswith("Z") for e in view["timeline"])
    usd = client.get(f"/api/loans/{story.usd_loan}", headers=story.auth(story.cast.bank)).json()
    assert usd["currency"] == "USD" and usd["principal"]["text"] == "25,000.00 USD"
    assert usd["sankey"][0] == {"source": "Silk Road Bank", "target": "FundTracker", "units": 25_000_00,
                                "amount": {"units": "2500000", "currency": "USD", "decimals": 2,
                                           "text": "25,000.00 USD"}}


def test_the_lender_s_ladder_alerts_and_defaults_agree_with_the_chain(story: Story, client: TestClient) -> None:
    bank = story.cast.bank.address
    headers = story.auth(story.cast.bank)
    mine = story.platform.loans.loans(lender=bank)
    ladder = client.get(f"/api/lenders/{bank}/maturities", headers=headers).json()["ladder"]
    assert sum(b["loans"] for b in ladder) == sum(1 for ln in mine if ln.status.running)
    defaults = client.get(f"/api/lenders/{bank}/defaults", headers=headers).json()["loans"]
    assert [x["loan"] for x in defaults] == [ln.loan_id for ln in mine if ln.status == LoanStatus.DEFAULTED]
    alerts = client.get(f"/api/lenders/{bank}/alerts", headers=headers).json()["alerts"]
    assert {a["loan"] for a in alerts} == {ln.loan_id for ln in mine if ln.status == LoanStatus.WARNED}
    waiting = next(a for a in alerts if a["loan"] == story.warned_loan)
    control = story.platform.risk.control(story.warned_loan)
    assert waiting["deadline"] == datetime.fromtimestamp(control.deadline, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert 0 < waiting["seconds_left"] <= control.deadline - story.platform.chain.now() + 60


def test_the_audit_view_names_the_chain_and_contracts_and_the_verdict(story: Story, client: TestClient) -> None:
    view = client.get("/api/audit", headers=story.auth(story.cast.auditor)).json()
    d = story.platform.deployment
    assert view["chain_id"] == d.chain_id
    assert {c["address"] for c in view["contracts"]} >= {d.registry, d.loans, d.funds, d.orders}
    assert view["verdict"] == "clean" and view["verified"]["block"] == view["as_of"]["block"]


def test_the_index_follows_the_chain_on_refresh(story: Story, client: TestClient) -> None:
    chain = story.platform.chain
    mark = chain.snapshot()
    try:
        before = client.get("/api/audit", headers=story.auth(story.cast.auditor)).json()["as_of"]["block"]
        chain.mine(2)
        story.refresh()
        after = client.get("/api/audit", headers=story.auth(story.cast.auditor)).json()["as_of"]["block"]
        assert after == before + 2
    finally:
        chain.revert(mark)
        story.refresh()  # the two blocks are gone: the index rolls back to the chain's head


# ---------------------------------------------------------------- sign-in

def _sign_in(client: TestClient, account: Any, story: Story, **override: Any) -> Any:
    fields = client.get("/auth/nonce").json()
    message = SiweMessage(domain=override.get("domain", fields["domain"]), address=account.address,
                          statement=fields["statement"], uri=fields["uri"],
                          chain_id=override.get("chain_id", fields["chain_id"]),
                          nonce=override.get("nonce", fields["nonce"]), issued_at=fields["issued_at"]).text()
    signature = "0x" + bytes(account.sign_message(encode_defunct(text=message)).signature).hex()
    return client.post("/auth/siwe", json={"message": message, "signature": signature})


def test_sign_in_with_ethereum_opens_a_session(story: Story, client: TestClient) -> None:
    answer = _sign_in(client, story.cast.bank, story)
    assert answer.status_code == 200 and answer.json()["kind"] == "lender"
    assert client.get("/api/me").json()["address"] == story.cast.bank.address
    client.post("/auth/logout")
    assert client.get("/api/me").status_code == 401


@pytest.mark.parametrize(("override", "reason"), [
    ({"domain": "evil.example"}, "is for 'evil.example'"),
    ({"chain_id": 1}, "for chain 1"),
    ({"nonce": "aaaaaaaaaaaa"}, "nonce is not the one"),
])
def test_a_sign_in_for_another_site_chain_or_nonce_is_refused(story: Story, client: TestClient,
                                                              override: dict[str, Any], reason: str) -> None:
    answer = _sign_in(client, story.cast.bank, story, **override)
    assert answer.status_code == 401 and reason in answer.json()["detail"]
    assert client.get("/api/me").status_code == 401


def test_a_nonce_is_used_once(story: Story, client: TestClient) -> None:
    fields = client.get("/auth/nonce").json()
    text = SiweMessage(domain=fields["domain"], address=story.cast.bank.address, uri=fields["uri"],
                       chain_id=fields["chain_id"], nonce=fields["nonce"], issued_at=fields["issued_at"]).text()
    signature = "0x" + bytes(story.cast.bank.sign_message(encode_defunct(text=text)).signature).hex()
    assert client.post("/auth/siwe", json={"message": text, "signature": signature}).status_code == 200
    again = client.post("/auth/siwe", json={"message": text, "signature": signature})
    assert again.status_code == 401 and "GET /auth/nonce first" in again.json()["detail"]


def test_a_signature_by_another_key_is_refused(story: Story, client: TestClient) -> None:
    fields = client.get("/auth/nonce").json()
    text = SiweMessage(domain=fields["domain"], address=story.cast.bank.address, uri=fields["uri"],
                       chain_id=fields["chain_id"], nonce=fields["nonce"], issued_at=fields["issued_at"]).text()
    forged = "0x" + bytes(story.outsider.sign_message(encode_defunct(text=text)).signature).hex()
    answer = client.post("/auth/siwe", json={"message": text, "signature": forged})
    assert answer.status_code == 401 and f"by {story.outsider.address}, not by {story.cast.bank.address}" in \
        answer.json()["detail"]


def test_an_expired_or_foreign_token_is_refused(story: Story, client: TestClient) -> None:
    d = story.platform.deployment
    past = mint_token(story.cast.bank, chain_id=d.chain_id, registry=d.registry,
                      now=datetime.now(UTC) - timedelta(hours=2), lifetime=timedelta(hours=1))
    answer = client.get("/api/me", headers={"Authorization": f"Bearer {past}"})
    assert answer.status_code == 401 and "expired" in answer.json()["detail"]
    other = mint_token(story.cast.bank, chain_id=d.chain_id, registry="0x" + "77" * 20, now=datetime.now(UTC),
                       lifetime=timedelta(hours=1))
    answer = client.get("/api/me", headers={"Authorization": f"Bearer {other}"})
    assert answer.status_code == 401 and "registry" in answer.json()["detail"]
    answer = client.get("/api/me", headers={"Authorization": "Bearer nonsense"})
    assert answer.status_code == 401 and "vscm serve token" in answer.json()["detail"]


def test_the_message_text_round_trips_through_the_parser() -> None:
    account = Account.from_key(b"\x01" * 32)
    message = SiweMessage(domain="127.0.0.1:8080", address=account.address, statement="Sign in.",
                          uri="http://127.0.0.1:8080", chain_id=31337, nonce="abcdef012345",
                          issued_at=iso(datetime(2026, 12, 6, tzinfo=UTC)), expiration_time="2026-12-07T00:00:00Z",
                          resources=("vscm:registry:0x1",))
    assert SiweMessage.parse(message.text()) == message


# ---------------------------------------------------------------- the OpenAPI document

def test_the_openapi_document_lists_every_api_route(story: Story, client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert set(document["paths"]) >= set(_cases(story)) | OPEN_TO_EVERY_SIGNED_IN | {"/auth/nonce", "/auth/siwe"}


def test_the_console_serves_a_postgresql_index(story: Story, postgres: Any) -> None:
    import uuid

    from vscm.audit.source import source_for
    from vscm.console import ConsoleConfig, create_app
    from vscm.index import open_index

    schema = f"vscm_console_{uuid.uuid4().hex[:10]}"
    chain = story.platform.chain
    config = ConsoleConfig(index=postgres.url, schema=schema, deployment=story.platform.deployment,
                           chain=lambda: chain)
    with open_index(postgres.url, schema=schema) as ix:
        ix.update(source_for(chain), story.platform.deployment)
    story.refresh()
    try:
        bank = story.cast.bank.address
        pg_app = create_app(config, background=False)
        pg_app.state.console.refresh()
        with TestClient(pg_app) as pg, TestClient(story.app) as lite:
            url = f"/api/lenders/{bank}/portfolio"
            assert pg.get(url, headers=story.auth(story.cast.bank)).json() == \
                lite.get(url, headers=story.auth(story.cast.bank)).json()
    finally:
        with open_index(postgres.url, schema=schema) as ix:
            ix.db.rollback()
            ix.db.execute(f'DROP SCHEMA "{schema}" CASCADE')
            ix.db.commit()


def test_a_path_that_is_not_an_address_is_422(story: Story, client: TestClient) -> None:
    answer = client.get("/api/members/nobody", headers=story.auth(story.cast.auditor))
    assert answer.status_code == 422 and answer.json()["detail"][0]["loc"] == ["path", "address"]




# ---------------------------------------------------------------- pages (server-rendered)

def test_the_lender_page_shows_each_currency_apart_with_names(story: Story, client: TestClient) -> None:
    bank = story.cast.bank.address
    html = client.get(f"/lenders/{bank}", headers={**story.auth(story.cast.bank), "accept": "text/html"}).text
    assert 'data-currency="CNY"' in html and 'data-currency="USD"' in html
    assert "Silk Road Bank" in html and "Baoji Steel Parts" in html and "25,000.00 USD" in html
    for section in ("totals", "modes", "alerts", "ladder", "exposure-borrower", "exposure-chain", "defaults"):
        assert f'id="{section}"' in html


@pytest.mark.parametrize("page", ["lender", "loan", "member", "audit", "council", "certificate"])
def test_a_page_outside_the_party_s_scope_is_a_403_page(story: Story, client: TestClient, page: str) -> None:
    c = story.cast
    url, caller = {"lender": (f"/lenders/{c.bank.address}", c.supplier_a),
                   "loan": (f"/loans/{story.usd_loan}", c.supplier_b),
                   "member": (f"/members/{c.supplier_b.address}", c.supplier_a),
                   "audit": ("/audit", c.bank), "council": ("/council", c.supplier_b),
                   "certificate": (f"/certificates/{_certificate(story)}", c.warehouse)}[page]
    answer = client.get(url, headers={**story.auth(caller), "accept": "text/html"})
    assert answer.status_code == 403 and 'data-testid="error"' in answer.text
    assert client.get(url, headers={**story.auth(c.auditor), "accept": "text/html"}).status_code == 200


def _flatten(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [node, *(n for c in node["children"] for n in _flatten(c))]


def test_the_certificate_tree_shows_who_split_what_to_whom_and_each_party_its_scope(story: Story,
                                                                                 client: TestClient) -> None:
    """The demo's certificate (step 8c): Xi'an Motors' 120,000.00 payable to Baoji, of which Baoji paid
    50,000.00 to Lanzhou, who paid 20,000.00 to Urumqi, who sold that part to the bank for 19,600.00; all
    paid in and claimed. A holder sees the whole tree, the bank only the part it bought, others nothing."""
    c, cid = story.cast, _certificate(story)
    url = f"/api/certificates/{cid}"
    view = client.get(url, headers=story.auth(c.supplier_b)).json()
    assert (view["status"], view["parts"], view["scope"], view["currency"]) == ("redeemed", 3, "all parts", "CNY")
    assert view["core"]["address"] == c.core.address and view["core"]["short"] == f"{c.core.address[:6]}…{c.core.address[-4:]}"
    assert [amount_units(view[k]) for k in ("face", "paid_in", "redeemed")] == [120_000_00] * 3
    assert view["face"]["text"] == "120,000.00 CNY" and view["supply_chain"].startswith("#1 ")
    assert "0x" not in view["supply_chain"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", view["maturity"]) and view["issued"] < view["maturity"]
    (root,) = view["tree"]
    rows = [(n["from"]["name"], n["holder"]["name"], n["purpose"].split(" #")[0], amount_units(n["received"]),
             amount_units(n["value"]), amount_units(n["claimed"]), n["financed"], n["locked"], n["redeemed"],
             n["payee"]["name"]) for n in _flatten(root)]
    assert rows == [
        ("Xi'an Motors (core)", "Baoji Steel Parts", "issued for order", 120_000_00, 70_000_00, 70_000_00, False, False,
         True, "Baoji Steel Parts"),
        ("Baoji Steel Parts", "Lanzhou Rubber Co.", "paid order", 50_000_00, 30_000_00, 30_000_00, False, False, True,
         "Lanzhou Rubber Co."),
        ("Lanzhou Rubber Co.", "Urumqi Trading", "paid order", 20_000_00, 20_000_00, 20_000_00, True, False, True,
         "Silk Road Bank")]
    sold = _flatten(root)[2]
    assert amount_units(sold["price"]) == 19_600_00 and sold["financier"]["address"] == c.bank.address
    assert all(n["at"].endswith("Z") and view["issued"] <= n["at"] for n in _flatten(root))
    # The core sees it all; the bank only the part it bought, without its relatives.
    assert client.get(url, headers=story.auth(c.core)).json()["tree"] == view["tree"]
    bank = client.get(url, headers=story.auth(c.bank)).json()
    assert bank["scope"] == "the parts it financed"
    assert [(n["part"], n["children"], amount_units(n["value"])) for n in bank["tree"]] == [(sold["part"], [], 20_000_00)]
    # Whether a certificate exists is for auditors and the council.
    assert client.get("/api/certificates/99", headers=story.auth(c.auditor)).status_code == 404
    assert client.get("/api/certificates/99", headers=story.auth(c.supplier_b)).status_code == 403
    html = client.get(f"/certificates/{cid}", headers={**story.auth(c.seller), "accept": "text/html"}).text
    assert 'id="cert-tree"' in html and html.count("<li data-part=") == 3
    assert "Urumqi Trading" in html and "19,600.00 CNY" in html and f"{c.bank.address[:6]}…" in html


def test_a_page_without_a_session_sends_to_the_sign_in(story: Story, client: TestClient) -> None:
    answer = client.get(f"/loans/{story.usd_loan}", headers={"accept": "text/html"}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == f"/login?next=/loans/{story.usd_loan}"


def test_the_audit_page_names_the_chain_contracts_and_verdict(story: Story, client: TestClient) -> None:
    html = client.get("/audit", headers={**story.auth(story.cast.auditor), "accept": "text/html"}).text
    d = story.platform.deployment
    assert f'data-field="chain_id">{d.chain_id}<' in html and d.loans in html and d.registry in html
    assert 'class="verdict-clean">clean' in html


# ---------------------------------------------------------------- the CLI

def test_vscm_serve_token_mints_a_token_the_console_accepts(story: Story, client: TestClient, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from vscm.cli.main import cli

    monkeypatch.setenv("VSCM_KEYSTORE_DIR", str(tmp_path / "keys"))
    (tmp_path / "pw").write_text("correct horse battery staple\n")
    (tmp_path / "key").write_text("0x" + bytes(story.cast.bank.key).hex() + "\n")
    manifest = story.platform.deployment.save(tmp_path / "deployment.json")
    runner = CliRunner()
    imported = runner.invoke(cli, ["wallet", "import", "bank", "--key-file", str(tmp_path / "key"),
                                   "--password-file", str(tmp_path / "pw")])
    assert imported.exit_code == 0, imported.output
    minted = runner.invoke(cli, ["serve", "token", "--wallet", "bank", "--password-file", str(tmp_path / "pw"),
                                 "--deployment", str(manifest), "--hours", "1", "--json"])
    assert minted.exit_code == 0, minted.output
    token = json.loads(minted.stdout)["token"]
    me = client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert (me["address"], me["name"], me["kind"]) == (story.cast.bank.address, "Silk Road Bank", "lender")



# ---------------------------------------------------------------- exports

def test_the_loans_export_has_a_currency_column_and_the_chain_s_figures(story: Story, client: TestClient) -> None:
    import csv

    bank = story.cast.bank.address
    answer = client.get(f"/api/lenders/{bank}/exports/loans", headers=story.auth(story.cast.bank))
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(answer.text.splitlines()))
    d = story.platform.deployment
    codes = {a: c for c, a in d.cash.items()}
    disbursed = [ln for ln in story.platform.loans.loans(lender=bank) if ln.disbursed_at]
    assert [int(r["loan"]) for r in rows] == [ln.loan_id for ln in disbursed]
    for r, ln in zip(rows, disbursed, strict=True):
        assert r["currency"] == codes[ln.currency]
        assert r["principal"] == f"{ln.principal // 100}.{ln.principal % 100:02d}"
        assert r["borrower_address"] == ln.borrower and r["borrower"] != "unregistered"
    assert {r["currency"] for r in rows} == {"CNY", "USD"}


def test_an_export_keeps_to_its_date_range(story: Story, client: TestClient) -> None:
    bank = story.cast.bank.address
    headers = story.auth(story.cast.bank)
    first = min(ln.disbursed_at for ln in story.platform.loans.loans(lender=bank) if ln.disbursed_at)
    day = datetime.fromtimestamp(first, UTC).date()
    before = client.get(f"/api/lenders/{bank}/exports/loans?end={day - timedelta(days=1)}", headers=headers)
    assert before.status_code == 200 and before.text.strip().count("\n") == 0  # the header alone
    since = client.get(f"/api/lenders/{bank}/exports/loans?start={day}", headers=headers).text
    assert since == client.get(f"/api/lenders/{bank}/exports/loans", headers=headers).text


def test_the_trails_export_lists_every_hop_and_the_xlsx_holds_the_same_rows(story: Story, client: TestClient) -> None:
    import csv
    import io

    from openpyxl import load_workbook

    bank = story.cast.bank.address
    headers = story.auth(story.cast.bank)
    rows = list(csv.DictReader(client.get(f"/api/lenders/{bank}/exports/trails", headers=headers).text.splitlines()))
    hops = [(ln.loan_id, h["to"], h["amount"]) for ln in story.platform.loans.loans(lender=bank)
            for h in story.platform.funds.hops(ln.loan_id)]
    assert [(int(r["loan"]), r["paid_to_address"], round(float(r["amount"]) * 100)) for r in rows] == hops and hops
    book = load_workbook(io.BytesIO(client.get(f"/api/lenders/{bank}/exports/trails?format=xlsx",
                                               headers=headers).content))
    sheet = book["trails"]
    cells = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    assert [(row[0], row[6], round(float(row[8]) * 100)) for row in cells] == hops



# ---------------------------------------------------------------- decisions signed by the lender's wallet

def test_the_lender_s_decision_is_built_unsigned_and_refused_on_a_loan_not_warned(story: Story,
                                                                                 client: TestClient) -> None:
    headers = story.auth(story.cast.bank)
    built = client.post(f"/api/loans/{story.warned_loan}/decision", json={"decision": "recall"},
                        headers=headers).json()
    d = story.platform.deployment
    assert built["tx"]["to"] == d.risk and built["tx"]["from"] == story.cast.bank.address
    assert int(built["tx"]["chainId"], 16) == d.chain_id and int(built["tx"]["gas"], 16) > 21_000
    refused = client.post(f"/api/loans/{story.usd_loan}/decision", json={"decision": "recall"}, headers=headers)
    assert refused.status_code == 409 and "the chain refuses" in refused.json()["detail"]


def test_a_transaction_to_another_address_is_not_relayed(story: Story, client: TestClient) -> None:
    bank = story.cast.bank
    tx = Account.sign_transaction({"to": story.outsider.address, "data": "0x", "value": 1, "gas": 21_000,
                                   "gasPrice": 0, "nonce": 0, "chainId": story.platform.deployment.chain_id}, bank.key)
    answer = client.post("/api/tx", json={"raw": "0x" + bytes(tx.raw_transaction).hex()}, headers=story.auth(bank))
    assert answer.status_code == 403 and "only to the platform's contracts" in answer.json()["detail"]
    garbage = client.post("/api/tx", json={"raw": "0x1234"}, headers=story.auth(bank))
    assert garbage.status_code == 422 and "not a signed transaction" in garbage.json()["detail"]


def test_vscm_serve_builds_the_index_in_the_background_and_answers(story: Story, tmp_path: Path) -> None:
    """The real command: Uvicorn on a free port, the updater thread folding the chain into a new index."""
    import os
    import subprocess
    import sys

    import httpx

    from vscm.chain.anvil import free_port

    manifest = story.platform.deployment.save(tmp_path / "deployment.json")
    port = free_port()
    url = story.platform.chain.node.url  # type: ignore[attr-defined]
    server = subprocess.Popen([sys.executable, "-m", "vscm.cli.main", "serve", "--network", url, "--deployment",
                               str(manifest), "--index", str(tmp_path / "index.sqlite"), "--port", str(port),
                               "--interval", "0.5"], env={**os.environ, "VSCM_HOME": str(tmp_path / "home")},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        headers = story.auth(story.cast.auditor)
        audit: dict[str, Any] = {}
        while audit.get("as_of", {}).get("block") != story.platform.chain.block_number():
            assert server.poll() is None, server.communicate()[1]
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/api/audit", headers=headers, timeout=30)
            except httpx.TransportError:
                continue  # not listening yet
            if answer.status_code == 503:  # listening, the index not built yet: it says so
                assert "still being built" in answer.json()["detail"]
                assert "the last update failed" not in answer.json()["detail"]
                continue
            assert answer.status_code == 200, answer.text
            audit = answer.json()
            assert audit["update_error"] is None  # an updater that fails says so: the test stops here
        assert audit["chain_id"] == story.platform.deployment.chain_id and audit["update_error"] is None
        assert httpx.get(f"http://127.0.0.1:{port}/openapi.json").json()["info"]["title"] == "VSCM console"
    finally:
        server.terminate()
        server.communicate(timeout=60)


def test_a_console_on_an_index_not_yet_built_says_so(story: Story, tmp_path: Path) -> None:
    from vscm.console import ConsoleConfig, create_app
    from vscm.index import open_index

    open_index(tmp_path / "empty.sqlite").close()
    app = create_app(ConsoleConfig(index=str(tmp_path / "empty.sqlite"), deployment=story.platform.deployment),
                     background=False)
    with TestClient(app) as empty:
        answer = empty.get("/api/me", headers=story.auth(story.cast.auditor))
    assert answer.status_code == 503 and answer.headers["retry-after"] == "5"
    assert answer.json()["detail"] == "the index is still being built from the chain: try again in a moment"
    app.state.console.last_error = "ChainError: node down"  # what the updater thread records when it fails
    with TestClient(app) as empty:
        answer = empty.get("/api/me", headers=story.auth(story.cast.auditor))
    assert answer.json()["detail"].endswith("(the last update failed: ChainError: node down)")



# ---------------------------------------------------------------- the auditor's period replay

def test_a_period_replay_reports_the_period_with_names_and_verifies_it(story: Story, client: TestClient) -> None:
    import csv

    headers = story.auth(story.cast.auditor)
    d = story.platform.deployment
    usd = story.platform.loans.loan(story.usd_loan)
    usd_view = client.get(f"/api/loans/{story.usd_loan}", headers=headers).json()
    first = usd_view["timeline"][0]["block"]  # the period starts with the USD loan's application
    report = client.get(f"/api/audit/replay?from_block={first}", headers=headers).json()
    assert (report["chain_id"], report["from_block"], report["verdict"]) == (d.chain_id, first, "clean")
    assert report["to_block"] == report["verified_at_block"] and report["tool_version"]
    touched = {ln["loan"]: ln for ln in report["loans"]}
    assert story.usd_loan in touched and touched[story.usd_loan]["currency"] == "USD"
    assert touched[story.usd_loan]["principal"]["text"] == f"{usd.principal / 100:,.2f} USD"
    assert touched[story.usd_loan]["lender"]["name"] == "Silk Road Bank"
    rows = list(csv.DictReader(client.get(f"/api/audit/replay?from_block={first}&format=csv",
                                          headers=headers).text.splitlines()))
    assert [int(r["loan"]) for r in rows] == [ln["loan"] for ln in report["loans"]]
    assert {r["currency"] for r in rows} <= {"CNY", "USD"}
    findings = client.get(f"/api/audit/replay?from_block={first}&format=csv&table=findings", headers=headers).text
    assert findings.splitlines() == ["check,entity,field,expected,found,block,note"]


def test_a_period_by_days_is_turned_into_its_blocks(story: Story, client: TestClient) -> None:
    headers = story.auth(story.cast.auditor)
    today = datetime.fromtimestamp(story.platform.chain.now(), UTC).date()
    report = client.get(f"/api/audit/replay?start={today}&end={today}", headers=headers).json()
    assert report["to_block"] <= story.platform.chain.block_number()
    assert report["from_block"] >= story.platform.deployment.block
    empty = client.get("/api/audit/replay?from_block=9&to_block=3", headers=headers)
    assert empty.status_code == 422 and "the period is empty" in empty.json()["detail"]



def test_the_council_sees_an_applicant_waiting_with_its_attestations(story: Story, client: TestClient) -> None:
    from vscm.client.records import Role, Tier

    chain = story.platform.chain
    applicant = Account.from_key(keccak(text="console:applicant"))
    mark = chain.snapshot()
    try:
        chain.fund(applicant.address, 10**18)
        story.platform.members.as_(applicant).apply([Role.SUPPLIER], Tier.CORE, keccak(text="licence:applicant"),
                                                    chain.now() + 86400 * 365, "Dunhuang Fasteners")
        story.platform.members.as_(story.cast.bank).attest(applicant.address, Role.FINANCIER)
        story.refresh()
        view = client.get("/api/council", headers=story.auth(story.cast.auditor)).json()  # the council holds no member key
        waiting = [m for m in view["membership_queue"] if m["member"]["address"] == applicant.address]
        assert len(waiting) == 1 and waiting[0]["member"]["name"] == "Dunhuang Fasteners"
        assert waiting[0]["roles"] == ["supplier"]
        assert [a["name"] for a in waiting[0]["attested_by"]] == ["Silk Road Bank"]
    finally:
        chain.revert(mark)
        story.refresh()


def test_the_demo_s_governed_change_is_shown_done_with_its_decoded_call_and_history(story: Story,
                                                                                   client: TestClient) -> None:
    """Step 8d of the demo: the bank proposed raising its own CNY mint cap, the auditor approved and sent it,
    it waited out the delay on the timelock and was carried out; the index has it as the chain does."""
    from vscm.demo import RAISED_MINT_CAP

    c, council = story.cast, story.platform.council
    [op] = council.scheduled_calls()
    view = client.get("/api/council", headers=story.auth(c.auditor)).json()["governed_changes"]
    assert view["timelock"]["address"] == council.timelock_address and view["waiting"] == 0
    [change] = view["changes"]
    assert change["operation"] == "0x" + op.operation.hex() and op.done and change["state"] == "done"
    [call] = change["calls"]
    assert call["target"]["name"] == "PlatformCash CNY" and call["function"] == "setMintCap"
    args = {a["name"]: a["value"] for a in call["args"]}
    assert args["financier"]["name"] == "Silk Road Bank"
    assert args["cap"]["currency"] == "CNY" and amount_units(args["cap"]) == RAISED_MINT_CAP
    assert change["proposer"]["name"] == "Silk Road Bank"
    assert [a["name"] for a in change["approvals"]] == ["Silk Road Bank", "Chang'an Audit"]
    assert council.timelock.functions.getTimestamp(op.operation).call() == 1  # the timelock's mark of done
    [log] = council.timelock.events.CallScheduled().get_logs(from_block=story.platform.deployment.block)
    scheduled_at = story.platform.chain.w3.eth.get_block(log["blockNumber"])["timestamp"]
    assert change["ready_at"] == datetime.fromtimestamp(scheduled_at + council.delay(), UTC).isoformat().replace(
        "+00:00", "Z")
    assert [h["event"] for h in change["history"]] == ["proposed on the Safe", "scheduled", "executed"]
    assert change["history"][0]["by"]["name"] == "Silk Road Bank"
    # The same list for a lender, on its own endpoint; the membership queue stays the council's.
    assert client.get("/api/council/changes", headers=story.auth(c.bank)).json()["changes"] == view["changes"]
    assert client.get("/api/council", headers=story.auth(c.bank)).status_code == 403
    page = client.get("/council", headers={**story.auth(c.bank), "accept": "text/html"})
    assert page.status_code == 200 and "setMintCap" in page.text and "Membership queue" not in page.text


def test_a_lender_sees_a_scheduled_change_wait_then_become_ready(story: Story, client: TestClient) -> None:
    """A change scheduled on the timelock is in the lender's view before it takes effect: waiting with the
    time left, then ready once the delay is over; the timelock's own ready time is the one shown."""
    c, chain = story.cast, story.platform.chain
    council = story.platform.council
    mark = chain.snapshot()
    try:
        proposal = council.propose(c.bank, story.platform.members.contract.functions.suspend(
            c.supplier_b.address, keccak(text="console:governed")))
        council.approve(c.auditor, proposal.safe_tx_hash)
        council.execute(c.auditor, proposal.safe_tx_hash, proposal)
        assert proposal.scheduled is not None
        operation = "0x" + proposal.scheduled.operation.hex()
        ready = council.timelock.functions.getTimestamp(proposal.scheduled.operation).call()
        story.refresh()
        view = client.get("/api/council/changes", headers=story.auth(c.bank)).json()
        change = next(x for x in view["changes"] if x["operation"] == operation)
        assert change["state"] == "waiting" and view["waiting"] == 1
        assert change["ready_at"] == datetime.fromtimestamp(ready, UTC).isoformat().replace("+00:00", "Z")
        # The time left at the index's last block (the chain's head after the refresh).
        assert change["seconds_left"] == ready - chain.w3.eth.get_block("latest")["timestamp"] > 0
        [call] = change["calls"]
        assert call["text"].startswith("MemberRegistry.suspend(member=Lanzhou Rubber Co.")
        assert client.get("/api/council/changes", headers=story.auth(c.supplier_b)).status_code == 403
        chain.time_travel(ready - chain.now())
        chain.mine()  # a block at that time: the index's clock is its last block's
        story.refresh()
        view = client.get("/api/council/changes", headers=story.auth(c.bank)).json()
        assert next(x for x in view["changes"] if x["operation"] == operation)["state"] == "ready"
    finally:
        chain.revert(mark)
        story.refresh()


def test_a_console_behind_a_proxy_checks_its_configured_domain(story: Story, tmp_path: Path) -> None:
    from dataclasses import replace

    from vscm.console import create_app

    config = replace(story.app.state.console.config, domain="console.bank.example")
    with TestClient(create_app(config, background=False)) as proxied:
        assert proxied.get("/auth/nonce").json()["domain"] == "console.bank.example"
        assert _sign_in(proxied, story.cast.bank, story).status_code == 200
        refused = _sign_in(proxied, story.cast.bank, story, domain="testserver")
        assert refused.status_code == 401 and "not 'console.bank.example'" in refused.json()["detail"]


def test_the_updater_records_a_failure_and_goes_on_serving(story: Story, tmp_path: Path) -> None:
    from vscm.console import Console, ConsoleConfig
    from vscm.errors import ChainError

    def unreachable() -> Any:
        console._stop.set()  # one round of the loop: it ends after recording this failure
        raise ChainError("cannot reach http://127.0.0.1:1")

    console = Console(ConsoleConfig(index=str(tmp_path / "i.sqlite"), deployment=story.platform.deployment,
                                    chain=unreachable))
    console._loop()
    assert console.last_error == "ChainError: cannot reach http://127.0.0.1:1"



def test_a_console_answers_for_parties_only_once_its_index_caught_up_with_the_chain(story: Story) -> None:
    """An index folded part of the way (a cursor, but not yet the registry's admissions) would answer a
    member with a 403 as if it were nobody: until the first update reaches the head, it is a 503."""
    from dataclasses import replace

    from vscm.console import create_app

    app = create_app(replace(story.app.state.console.config), background=False)
    with TestClient(app) as fresh:
        answer = fresh.get("/api/me", headers=story.auth(story.cast.auditor))
        assert answer.status_code == 503 and "still being built" in answer.json()["detail"]
        app.state.console.refresh()
        assert fresh.get("/api/me", headers=story.auth(story.cast.auditor)).json()["kind"] == "auditor"


# ---------------------------------------------------------------- webhooks

class Receiver:
    """A real HTTP receiver on a thread: records each POST (headers in lower case, body) and answers
    ``codes`` in turn (then 200)."""

    def __init__(self, codes: list[int] | None = None) -> None:
        self.codes = list(codes or [])
        self.got: list[tuple[dict[str, str], bytes, int]] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                code = receiver.codes.pop(0) if receiver.codes else 200
                receiver.got.append(({k.lower(): v for k, v in self.headers.items()}, body, code))
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _signature_ok(secret: str, headers: dict[str, str], body: bytes) -> bool:
    expected = hmac.new(secret.encode(), headers["x-vscm-timestamp"].encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest(headers["x-vscm-signature"], "sha256=" + expected.hexdigest())


def test_a_lender_s_webhook_gets_signed_events_of_its_own_loans_only(story: Story, client: TestClient) -> None:
    bank = story.cast.bank.address
    secret = "bank-webhook-secret-0001"
    receiver = Receiver()
    hook = client.post(f"/api/lenders/{bank}/webhooks", json={"url": receiver.url, "secret": secret},
                       headers=story.auth(story.cast.bank)).json()
    try:
        with story.app.state.console.open() as index:
            counts = notify.dispatch(index, story.platform.deployment, sleep=lambda s: None)
            others = [e for ln in {ln.lender for ln in story.platform.loans.loans()} - {bank}
                      for e in notify.events_for(index, story.platform.deployment, ln)]
            notify.unsubscribe(index, hook["id"])
    finally:
        receiver.close()
    assert counts["failed"] == 0 and counts["sent"] == len(receiver.got) > 0
    bodies = [json.loads(body) for _, body, _ in receiver.got]
    assert all(_signature_ok(secret, headers, body) for headers, body, _ in receiver.got)
    assert not _signature_ok("another-secret-000000", *receiver.got[0][:2])
    kinds = {b["kind"] for b in bodies}
    assert {"alert", "decision_deadline", "fraud_exposure"} <= kinds, kinds
    bank_loans = {ln.loan_id for ln in story.platform.loans.loans() if ln.lender == bank}
    assert {b["data"]["loan"] for b in bodies if "loan" in b["data"]} <= bank_loans
    assert {b["lender"] for b in bodies} == {bank}
    # the other lender's events exist, and none of them reached the bank's hook
    assert others and not {e["key"] for e in others if "loan" in e} & {b["event"] for b in bodies}
    log = client.get(f"/api/lenders/{bank}/webhooks/deliveries", headers=story.auth(story.cast.bank)).json()
    ours = [d for d in log["deliveries"] if d["webhook"] == hook["id"]]
    assert len(ours) == len(bodies) and all(d["ok"] and d["status"] == 200 for d in ours)


def test_a_failing_receiver_is_retried_with_backoff_and_every_attempt_logged(story: Story) -> None:
    secret = "bank-webhook-secret-0002"
    receiver = Receiver([500, 503])
    waits: list[float] = []
    with story.app.state.console.open() as index:
        hook = notify.subscribe(index, story.cast.bank.address, receiver.url, secret, ["alert"])
        try:
            event = notify.events_for(index, story.platform.deployment, story.cast.bank.address)[0]
            ok = notify.deliver(index, {**hook, "secret": secret}, event, backoff=0.25, sleep=waits.append)
            log = notify.deliveries(index, hook_id=hook["id"])
        finally:
            notify.unsubscribe(index, hook["id"])
            receiver.close()
    assert ok and [code for _, _, code in receiver.got] == [500, 503, 200]
    assert waits == [0.25, 0.5]  # exponential backoff
    assert [(d["attempt"], d["status"], d["ok"]) for d in log] == [(1, 500, False), (2, 503, False), (3, 200, True)]
    assert len({headers["x-vscm-event"] for headers, _, _ in receiver.got}) == 1
    assert all(_signature_ok(secret, headers, body) for headers, body, _ in receiver.got)


def test_the_watched_pledge_s_readings_follow_the_oracle(story: Story, client: TestClient) -> None:
    """The demo's watched pledge: the oracle's batches on its collateral, values in the asset's currency,
    down to the shortfall that raised the margin call."""
    headers = story.auth(story.cast.bank)
    found = {ln.loan_id: client.get(f"/api/loans/{ln.loan_id}/readings", headers=headers).json()
             for ln in story.platform.loans.loans(lender=story.cast.bank.address)}
    watched = {k: v for k, v in found.items() if v["readings"]}
    assert len(watched) == 1, sorted(watched)
    (view,) = watched.values()
    points = view["readings"]
    assert view["currency"] == "CNY" and {p["collateral_value"]["currency"] for p in points} == {"CNY"}
    assert [p["block"] for p in points] == sorted(p["block"] for p in points) and len(points) >= 2
    assert points[-1]["quantity"] < points[0]["quantity"]  # goods left the warehouse
    assert int(points[-1]["collateral_value"]["units"]) < int(points[0]["collateral_value"]["units"])
    assert points[-1]["breaches"] != 0  # goods missing


# ---------------------------------------------------------------- the API against its own OpenAPI document

SCHEMATHESIS = Path(__file__).resolve().parents[2] / ".venv-schemathesis" / "bin" / "schemathesis"


def test_the_api_keeps_to_its_openapi_document(story: Story, tmp_path: Path) -> None:
    """Schemathesis (from its own venv, made by `make install`) against the real `vscm serve` on a copy of the
    story's index and its chain: every operation with the auditor's token, checked for server errors,
    undocumented status codes, headers and bodies against their schemas, schema-valid requests accepted and
    schema-violating ones refused, and (``ignored_auth``) a 401 without the token. A fixed seed and a few
    examples per operation keep it repeatable and short (~40 s)."""
    import os
    import sqlite3
    import subprocess
    import sys

    import httpx

    from vscm.chain.anvil import free_port

    assert SCHEMATHESIS.exists(), f"{SCHEMATHESIS} is missing: run `make install`"
    source = sqlite3.connect(story.app.state.console.config.index)
    copy = sqlite3.connect(tmp_path / "index.sqlite")  # webhooks the run subscribes stay in the copy
    source.backup(copy)
    copy.close()
    source.close()
    manifest = story.platform.deployment.save(tmp_path / "deployment.json")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # An hour between updates: the first one catches up at start, no webhook of the run is ever sent.
    server = subprocess.Popen([sys.executable, "-m", "vscm.cli.main", "serve", "--network",
                               story.platform.chain.node.url,  # type: ignore[attr-defined]
                               "--deployment", str(manifest), "--index", str(tmp_path / "index.sqlite"),
                               "--port", str(port), "--interval", "3600"],
                              env={**os.environ, "VSCM_HOME": str(tmp_path / "home")},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    headers = story.auth(story.cast.auditor)
    try:
        while True:
            assert server.poll() is None, server.communicate()[1]
            try:
                if httpx.get(f"{base}/api/me", headers=headers, timeout=30).status_code == 200:
                    break
            except httpx.TransportError:
                pass  # not listening yet
        run = subprocess.run([str(SCHEMATHESIS), "--config-file", str(Path(__file__).with_name("schemathesis.toml")),
                              "run", f"{base}/openapi.json", "--max-examples", "5",
                              "--seed", "20261206", "--workers", "2", "--no-color",
                              "-H", f"Authorization: {headers['Authorization']}"],
                             check=False, capture_output=True, text=True, cwd=tmp_path)
    finally:
        server.terminate()
        logged = server.communicate(timeout=60)[1]
    assert run.returncode == 0, run.stdout[-20_000:] + run.stderr[-5_000:] + "\nthe server's log:\n" + logged[-20_000:]


def test_a_replay_that_ends_before_the_deployment_was_finished_is_422(story: Story, client: TestClient) -> None:
    """Found by Schemathesis: the contracts' views at a block before they had code were a 500."""
    answer = client.get(f"/api/audit/replay?to_block={story.platform.deployment.block}",
                        headers=story.auth(story.cast.auditor))
    assert answer.status_code == 422 and "has no code at block" in answer.json()["detail"]


def test_the_profile_of_an_address_that_never_applied_is_404(story: Story, client: TestClient) -> None:
    """Found by Schemathesis: the council's view of a profile of no member was a 500."""
    answer = client.get(f"/api/members/{story.outsider.address}/profile", headers=story.auth(story.cast.auditor))
    assert answer.status_code == 404 and "is not a member of the platform" in answer.json()["detail"]


def test_an_address_in_any_case_is_read_and_a_malformed_one_is_422(story: Story, client: TestClient) -> None:
    """Found by Schemathesis: the paths' addresses now have a pattern in the OpenAPI document (0x and 40 hex
    digits, any case), and the 422 has FastAPI's validation shape that the document declares."""
    bank = story.cast.bank.address
    lower = client.get(f"/api/lenders/{bank.lower()}/portfolio", headers=story.auth(story.cast.bank))
    assert lower.status_code == 200 and lower.json()["lender"]["address"] == bank
    bad = client.get("/api/lenders/0x12/portfolio", headers=story.auth(story.cast.bank))
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["path", "address"]


def test_the_loan_list_is_paged_in_loan_id_order_with_its_total(story: Story, client: TestClient) -> None:
    bank = story.cast.bank.address
    everything = client.get(f"/api/loans?lender={bank}&limit=500", headers=story.auth(story.cast.bank)).json()
    ids = [ln["loan"] for ln in everything["loans"]]
    assert ids == sorted(ids) and everything["total"] == len(ids) >= 4
    page = client.get(f"/api/loans?lender={bank}&limit=2&offset=1", headers=story.auth(story.cast.bank)).json()
    assert [ln["loan"] for ln in page["loans"]] == ids[1:3]
    assert (page["total"], page["limit"], page["offset"]) == (len(ids), 2, 1)
    assert client.get(f"/api/loans?lender={bank}&limit=501", headers=story.auth(story.cast.bank)).status_code == 422


def test_a_loan_s_timeline_is_the_same_from_an_index_written_before_loan_logs(story: Story, tmp_path: Path) -> None:
    """The timeline reads the index's loan_logs; an index written before they existed answers the same (every
    log decoded), and its next update fills them in."""
    import sqlite3

    from vscm.audit.source import source_for
    from vscm.console import ConsoleConfig, create_app
    from vscm.index import open_index

    source = sqlite3.connect(story.app.state.console.config.index)
    old = sqlite3.connect(tmp_path / "old.sqlite")
    source.backup(old)
    source.close()
    old.execute("DELETE FROM loan_logs")
    old.execute("DELETE FROM meta WHERE name = 'loan_logs'")
    old.commit()
    old.close()
    app = create_app(ConsoleConfig(index=str(tmp_path / "old.sqlite"), deployment=story.platform.deployment),
                     background=False)
    url, headers = f"/api/loans/{story.usd_loan}", story.auth(story.cast.bank)
    with TestClient(story.app) as new_client, TestClient(app) as old_client:
        expected = new_client.get(url, headers=headers).json()["timeline"]
        assert len(expected) >= 3 and old_client.get(url, headers=headers).json()["timeline"] == expected
        with open_index(tmp_path / "old.sqlite") as index:
            index.update(source_for(story.platform.chain), story.platform.deployment)
            assert index.meta()["loan_logs"] == "1"
            assert index.db.query("SELECT COUNT(*) FROM loan_logs WHERE loan_id = ?", (story.usd_loan,))[0][0] == len(expected)
        assert old_client.get(url, headers=headers).json()["timeline"] == expected


def test_a_token_the_console_has_already_checked_is_refused_once_it_expires(story: Story, client: TestClient) -> None:
    """The console keeps the tokens whose signature it checked, and still refuses them after their expiry."""
    import time

    d, minted = story.platform.deployment, datetime.now(UTC)
    token = mint_token(story.cast.bank, chain_id=d.chain_id, registry=d.registry, now=minted,
                       lifetime=timedelta(seconds=2))
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/me", headers=headers).status_code == 200
    assert token in story.app.state.console.tokens
    while datetime.now(UTC) <= minted + timedelta(seconds=3):  # until its expiry has passed
        time.sleep(0.2)
    refused = client.get("/api/me", headers=headers)
    assert refused.status_code == 401 and "expired" in refused.json()["detail"]
