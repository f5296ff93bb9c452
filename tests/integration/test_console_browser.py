"""The console in a real browser (Playwright driving Debian's Chromium, never a downloaded one): a
lender signs in with Sign-In with Ethereum in the page (a test wallet injected as an EIP-1193
provider, its key kept in the test process), sees its two currencies apart, follows a loan to its
money trail with the figures of the client's views; a member cannot open another member's loan.
Screenshots of each page go to build/console-screenshots/."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from console_support import Story, console_story
from eth_account.messages import encode_defunct

from vscm.chain.anvil import free_port
from vscm.devservices import chromium_binary

pytestmark = pytest.mark.anvil
os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
SHOTS = Path(__file__).resolve().parents[2] / "build" / "console-screenshots"

# An EIP-1193 provider for the page: accounts and personal_sign answered by the test process's key.
PROVIDER = """
window.ethereum = {
  request: async ({ method, params }) => {
    if (method === "eth_requestAccounts" || method === "eth_accounts") return [%r];
    if (method === "personal_sign") return await window.vscmTestSign(params[0]);
    if (method === "eth_signTransaction") return await window.vscmTestSignTx(params[0]);
    throw new Error("unsupported method " + method);
  },
};
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Story, str]]:
    import uvicorn

    with console_story(tmp_path_factory, tmp_path_factory.mktemp("console") / "index.sqlite") as story:
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(story.app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            thread.join(0.05)
            assert thread.is_alive(), "the console did not start"
        try:
            yield story, f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            thread.join()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(chromium_binary()), headless=True,
                              args=["--no-sandbox", "--disable-background-networking"])
        try:
            yield b
        finally:
            b.close()


def signed_in_page(browser: Any, base: str, account: Any, next_path: str = "/") -> Any:
    """A page in a new browser context whose injected wallet is ``account``, signed in through /login."""
    context = browser.new_context(base_url=base)

    def sign(hex_message: str) -> str:
        message = bytes.fromhex(hex_message.removeprefix("0x"))
        return "0x" + bytes(account.sign_message(encode_defunct(primitive=message)).signature).hex()

    def sign_tx(tx: dict[str, Any]) -> str:
        fields = {k: (int(v, 16) if isinstance(v, str) and k not in ("to", "data") else v)
                  for k, v in tx.items() if k != "from"}
        return "0x" + bytes(account.sign_transaction(fields).raw_transaction).hex()

    context.expose_function("vscmTestSign", sign)
    context.expose_function("vscmTestSignTx", sign_tx)
    context.add_init_script(PROVIDER % account.address.lower())
    page = context.new_page()
    page.goto(f"/login?next={next_path}")
    page.click("#siwe")
    page.wait_for_url(lambda url: "/login" not in url)  # the page goes on to next_path once signed in
    return page


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_lender_signs_in_sees_two_currencies_and_follows_a_loan(served: tuple[Story, str], browser: Any) -> None:
    story, base = served
    bank = story.cast.bank
    page = signed_in_page(browser, base, bank)
    assert page.url.endswith(f"/lenders/{bank.address}")
    assert "Silk Road Bank" in page.text_content("[data-testid=who]")
    api = page.request.get(f"/api/lenders/{bank.address}/portfolio").json()  # the session's own API answer
    rows = page.locator("#totals tbody tr")
    assert sorted(rows.nth(i).get_attribute("data-currency") for i in range(rows.count())) == ["CNY", "USD"]
    for code in ("CNY", "USD"):
        cell = page.locator(f'#totals tr[data-currency="{code}"] td').nth(1)
        assert cell.text_content().strip() == api["totals"][code]["outstanding_principal"]["text"]
    shot(page, "lender-portfolio")

    page.click(f'#loans tr[data-loan="{story.usd_loan}"] a')
    page.wait_for_url(f"**/loans/{story.usd_loan}")
    loan = story.platform.loans.loan(story.usd_loan)
    assert page.text_content('[data-field="principal"]').strip() == f"{loan.principal / 100:,.2f} USD"
    assert page.text_content('[data-field="principal_repaid"]').strip() == f"{loan.principal_repaid / 100:,.2f} USD"
    assert page.text_content('[data-field="funds-disbursed"]').strip() == f"{loan.principal / 100:,.2f} USD"
    page.wait_for_selector('#sankey[data-rendered="true"] svg')
    assert "FundTracker" in page.text_content("#sankey")
    assert page.locator("#timeline tbody tr").count() >= 3
    page.wait_for_selector('#readings[data-rendered="true"]')
    assert "no device watches" in page.text_content("#readings")  # no oracle on this one
    shot(page, "loan")

    # The watched pledge: its collateral as the oracle read it, drawn from the readings endpoint.
    watched = next(ln.loan_id for ln in story.platform.loans.loans(lender=bank.address)
                   if page.request.get(f"/api/loans/{ln.loan_id}/readings").json()["readings"])
    readings = page.request.get(f"/api/loans/{watched}/readings").json()["readings"]
    page.goto(f"/loans/{watched}")
    page.wait_for_selector('#readings[data-rendered="true"] svg')
    series = page.evaluate("() => echarts.getInstanceByDom(document.getElementById('readings'))"
                           ".getOption().series.map((s) => s.data)")
    assert series[0] == [[r["time"], int(r["collateral_value"]["units"]) / 100] for r in readings]
    assert series[1] == [[r["time"], r["quantity"]] for r in readings]
    shot(page, "loan-oracle-readings")
    page.context.close()


def test_a_member_cannot_open_another_member_s_loan(served: tuple[Story, str], browser: Any) -> None:
    story, base = served
    page = signed_in_page(browser, base, story.cast.supplier_b, f"/members/{story.cast.supplier_b.address}")
    shot(page, "member")
    # Lanzhou holds a part of the demo's certificate (step 8c): it sees the whole split tree.
    tree = page.goto("/certificates/1")
    assert tree is not None and tree.status == 200
    assert page.locator("#cert-tree li[data-part]").count() == 3 and "Urumqi Trading" in page.text_content("#cert-tree")
    shot(page, "certificate-tree")
    answer = page.goto(f"/loans/{story.usd_loan}")
    assert answer is not None and answer.status == 403
    assert "not one that Lanzhou Rubber Co. lends, borrows or guarantees" in page.text_content("[data-testid=error]")
    shot(page, "member-403")
    page.context.close()


def test_an_auditor_runs_a_period_audit_and_downloads_the_csv(served: tuple[Story, str], browser: Any) -> None:
    story, base = served
    page = signed_in_page(browser, base, story.cast.auditor, "/audit")
    assert page.text_content('[data-field="chain_id"]').strip() == str(story.platform.deployment.chain_id)
    assert page.text_content('[data-field="verdict"]').strip().startswith("clean")
    shot(page, "audit")
    usd_applied = page.request.get(f"/api/loans/{story.usd_loan}").json()["timeline"][0]["block"]
    page.fill('input[name="from_block"]', str(usd_applied))
    page.click('#replay button[type="submit"]')
    page.wait_for_url("**/audit/replay?**")
    assert page.text_content('[data-field="verdict"]').strip() == "clean"
    assert page.text_content('[data-field="range"]').startswith(f"{usd_applied} –")
    assert page.locator(f'#period-loans a[href="/loans/{story.usd_loan}"]').count() == 1
    shot(page, "audit-period")
    with page.expect_download() as caught:
        page.click("#download-csv")
    text = Path(caught.value.path()).read_text()
    header, *rows = text.splitlines()
    assert header.startswith("loan,mode,status,lender,lender_address,borrower,borrower_address,currency,")
    assert any(r.startswith(f"{story.usd_loan},pledge,") and ",USD,25000.00," in r for r in rows)
    page.context.close()


def test_a_lender_recalls_a_warned_loan_signed_in_the_page(served: tuple[Story, str], browser: Any) -> None:
    from vscm.client.records import Decision, LoanStatus

    story, base = served
    loan_id = story.warned_loan
    page = signed_in_page(browser, base, story.cast.bank)
    row = page.locator("#alerts tbody tr", has=page.locator(f'a[href="/loans/{loan_id}"]'))
    assert int(row.locator("td.timeleft").get_attribute("data-seconds")) > 0
    row.locator(f'a[href="/loans/{loan_id}"]').click()
    page.wait_for_url(f"**/loans/{loan_id}")
    shot(page, "loan-warned")
    page.click('button.decision[data-decision="recall"]')
    page.wait_for_selector('[data-testid=decision-status][data-done="true"]')
    assert story.platform.loans.loan(loan_id).status == LoanStatus.RECALLED
    assert story.platform.risk.control(loan_id).decision == Decision.RECALL
    page.reload()
    assert "recalled" in page.text_content("h1")
    assert "RiskControl.LenderDecided" in page.text_content("#timeline")
    shot(page, "loan-recalled")
    page.context.close()


def test_a_lender_without_a_browser_wallet_signs_in_and_decides_with_its_keystore_in_the_page(
        served: tuple[Story, str], browser: Any, tmp_path: Path) -> None:
    """No EIP-1193 wallet in this browser: the bank's Web3 Secret Storage keystore is decrypted in the page by
    ethers for the sign-in and again for the decision; the console sees neither the key nor the passphrase."""
    import json

    from console_support import warn_a_loan
    from eth_account import Account

    from vscm.client.records import Decision

    story, base = served
    bank = story.cast.bank
    loan_id = warn_a_loan(story.platform, "USD")  # the other warned loan is CNY
    story.refresh()
    keystore = tmp_path / "bank.keystore.json"
    keystore.write_text(json.dumps(Account.encrypt(bank.key, "correct horse", kdf="scrypt", iterations=2**14)))
    context = browser.new_context(base_url=base)
    page = context.new_page()
    page.goto("/login")
    page.set_input_files("#keystore-file", str(keystore))
    page.fill("#keystore-pass", "correct horse")
    page.click("#keystore-signin")
    page.wait_for_url(f"**/lenders/{bank.address}")
    assert "Silk Road Bank" in page.text_content("[data-testid=who]")
    shot(page, "login-keystore")
    page.goto(f"/loans/{loan_id}")
    assert page.is_visible("#decision-keystore")
    page.fill("#decision-pass", "correct horse")
    page.click('button.decision[data-decision="continue"]')
    page.wait_for_selector('[data-testid=decision-status][data-done="true"]')
    assert story.platform.risk.control(loan_id).decision == Decision.CONTINUE
    shot(page, "loan-continued-keystore")
    context.close()


def test_the_council_page_shows_the_demo_s_governed_change_done_with_its_history(served: tuple[Story, str],
                                                                                 browser: Any) -> None:
    """Step 8d of the demo: the bank's raised CNY mint cap, proposed, approved, scheduled on the timelock and
    carried out a day later, on the council page of the auditor, and on the bank's (the changes only)."""
    story, base = served
    [op] = story.platform.council.scheduled_calls()
    page = signed_in_page(browser, base, story.cast.auditor, "/audit")
    answer = page.goto("/council")
    assert answer is not None and answer.status == 200, page.content()[:3000]
    row = page.locator(f'#changes tr[data-operation="0x{op.operation.hex()}"]')
    assert row.get_attribute("data-state") == "done"
    text = row.text_content()
    assert "PlatformCash CNY.setMintCap(" in " ".join(text.split()) and "Silk Road Bank" in text
    assert [li.strip().split(" ")[0] for li in row.locator("ul.history li").all_text_contents()] == [
        "proposed", "scheduled", "executed"]
    assert page.locator("#queue").count() == 1
    shot(page, "council")
    page.context.close()
    lender = signed_in_page(browser, base, story.cast.bank)
    lender.click('nav a[href="/council"]')
    lender.wait_for_url("**/council")
    assert lender.locator(f'#changes tr[data-operation="0x{op.operation.hex()}"]').count() == 1
    assert lender.locator("#queue").count() == 0  # the membership queue stays the council's and auditors'
    shot(lender, "council-lender")
    lender.context.close()
