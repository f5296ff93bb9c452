"""The platform on a real 4-validator BFT network: Kaia's kscn (Istanbul BFT) built by `make install`.

One network for the module, tied to this test process (its validators get SIGTERM if the process dies).
The tests run in file order, as one fault drill: the financing story, one validator killed (blocks go
on, the client fails over), two killed (no blocks: the client says so in one line and does not spin),
restarted (the chain resumes, with the waiting transaction in it exactly once).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from eth_utils import keccak

from vscm.chain.backends import Chain, connect
from vscm.chain.deploy import deploy_platform
from vscm.chain.failover import FailoverProvider
from vscm.chain.tx import ChainStalled
from vscm.cli.main import cli
from vscm.client.financing import DAY, Origination, originate
from vscm.client.platform import Platform
from vscm.client.records import LoanMode, LoanStatus, Role, Tier
from vscm.client.workflows import doc_hash, form_chain, onboard_sme
from vscm.demo import Cast
from vscm.network import Network

VALIDATORS = 4


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    directory = tmp_path_factory.mktemp("bft") / "networks" / "net"  # $VSCM_HOME/networks/net, home = bft
    net = Network.up(directory, validators=VALIDATORS, owned=True)
    try:
        yield net
    finally:
        Network.load(directory).down()


@pytest.fixture(scope="module")
def chain(network: Network) -> Iterator[Chain]:
    with connect(",".join(network.urls), gas_price="auto", poa=True) as c:
        assert c.fee_policy == "zero"  # read from the chain: Kaia's service chain answers eth_gasPrice 0
        yield c


@pytest.fixture(scope="module")
def cast() -> Cast:
    return Cast.from_seed("vscm-network-test")


@pytest.fixture(scope="module")
def platform(chain: Chain, cast: Cast) -> Platform:
    return deploy_platform(chain, cast.operator, manifest=False, network="bft-test")


def status(network: Network) -> dict[str, object]:
    result = CliRunner().invoke(cli, ["network", "status", "--dir", str(network.directory), "--json"])
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_four_validators_commit_the_same_blocks(network: Network) -> None:
    height = network.wait_final(above=2)
    hashes = {s.head_hash for s in network.status() if s.head == height}
    shown = status(network)
    assert shown["running"] == VALIDATORS and shown["quorum"] == 3 and shown["can_commit"] is True
    assert all(v["peers"] for v in shown["validators"])  # type: ignore[attr-defined]
    assert all(v["stale"] is None for v in shown["validators"])  # type: ignore[attr-defined]
    assert len(hashes) <= 1


def test_network_name_opens_the_stored_profile(network: Network, monkeypatch: pytest.MonkeyPatch) -> None:
    from vscm.cli.session import NetworkChoice, open_chain

    monkeypatch.setenv("VSCM_HOME", str(network.directory.parent.parent))
    with open_chain(NetworkChoice("net", None, poa=False, gas_price="node")) as chain:
        assert isinstance(chain.w3.provider, FailoverProvider) and chain.w3.provider.urls == network.urls
        assert chain.fee_policy == "zero" and chain.chain_id == network.chain_id
        assert chain.w3.eth.get_block("latest")["number"] >= 0  # PoA extra-data accepted
    with pytest.raises(Exception, match="the name of a network of `vscm network up`"):
        open_chain(NetworkChoice("other", None, poa=False, gas_price="node"))


def test_zero_price_cancun_platform_runs_a_financing_story(chain: Chain, platform: Platform, cast: Cast,
                                                           network: Network) -> None:
    """Cancun bytecode (PUSH0, MCOPY) deploys and runs; every party signs with gasPrice 0 from an empty account."""
    assert chain.balance(cast.bank.address) == 0
    bank, core, a, b, wh = cast.bank, cast.core, cast.supplier_a, cast.supplier_b, cast.warehouse
    onboard_sme(platform, cast.operator, bank, [Role.FINANCIER], "Bank")
    onboard_sme(platform, cast.operator, cast.auditor, [Role.AUDITOR], "Audit")
    platform.members.as_(core).apply([Role.MANUFACTURER], Tier.CORE, keccak(text="licence:core"),
                                     chain.now() + 365 * DAY, "Core")
    platform.members.as_(bank).attest(core.address, Role.FINANCIER)
    platform.members.as_(cast.auditor).attest(core.address, Role.AUDITOR)
    for who, role in ((a, Role.SUPPLIER), (b, Role.SUPPLIER), (wh, Role.WAREHOUSE), (cast.carrier, Role.LOGISTICS)):
        onboard_sme(platform, cast.operator, who, [role], who.address)
    chain_id = form_chain(platform, core, "BFT chain", [a, b])
    platform.cash("CNY").as_(cast.operator).set_mint_cap(bank.address, 2_000_000_00)
    platform.cash("CNY").as_(bank).mint(bank.address, 1_000_000_00, keccak(text="bank:reserves"))
    platform.cash("CNY").as_(bank).mint(core.address, 500_000_00, keccak(text="deposit:core"))
    deadline = chain.timestamp() + 120 * DAY
    # A receivable: b sells to the core, invoices, the core confirms; the loan pays b's own supplier a.
    sale = platform.orders.as_(core).place(b.address, chain_id, "CNY", 180_000_00, deadline)
    platform.orders.as_(b).accept(sale)
    platform.orders.as_(b).ship(sale, cast.carrier.address, wh.address)
    platform.orders.as_(wh).deliver(sale)
    platform.orders.as_(b).invoice(sale, "INV-1", doc_hash("invoice-1"))
    receivable = platform.assets.as_(b).register_receivable(sale)
    platform.assets.as_(core).confirm_receivable(receivable)
    purpose = platform.orders.as_(b).place(a.address, chain_id, "CNY", 60_000_00, deadline)
    platform.orders.as_(a).accept(purpose)
    loan = originate(platform, Origination(LoanMode.RECEIVABLE, receivable, b, bank, 150_000_00, 550, 30 * DAY,
                                           9_000, purpose))
    platform.funds.as_(b).spend(loan, a.address, 60_000_00, "steel wire")
    platform.orders.as_(core).settle(sale)
    platform.loans.as_(b).collect(loan)
    assert platform.loans.loan(loan).status == LoanStatus.REPAID
    assert platform.cash("CNY").balance(a.address) == 60_000_00

    # Every validator holds the same platform state at the same height.
    height = network.wait_final(above=chain.block_number())
    views = set()
    for url in network.urls:
        with connect(url, gas_price="zero", poa=True) as one:
            cash = one.contract("PlatformCash", platform.deployment.cash["CNY"])
            views.add((one.w3.eth.get_block(height)["hash"],
                       tuple(cash.functions.balanceOf(p.address).call(block_identifier=height)
                             for p in (bank, core, a, b))))
    assert len(views) == 1


def test_finality_confirmations_waits_for_blocks_on_top(network: Network) -> None:
    """``confirmations=2``: a send returns only once two blocks follow its own (``instant``: at once)."""
    from eth_account import Account

    fresh = Account.create()  # zero gas price: an empty account sends
    with connect(",".join(network.urls), gas_price="auto", poa=True, finality="confirmations=2") as deep:
        receipt = deep.sender.send_value(fresh, fresh.address, 0)
        assert deep.block_number() >= int(receipt["blockNumber"]) + 2
    with pytest.raises(Exception, match="bad finality 'confirmations=two'"):
        connect(network.urls[0], poa=True, finality="confirmations=two")


def test_audit_replays_from_one_validator_and_verifies_against_another(chain: Chain, platform: Platform,
                                                                      network: Network) -> None:
    from vscm.audit.audit import audit_chain
    from vscm.audit.replay import replay
    from vscm.audit.source import RpcSource
    from vscm.audit.verify import verify

    height = network.wait_final(above=chain.block_number())
    result = replay(RpcSource(network.urls[0]), platform.deployment, height)
    with connect(network.urls[2], gas_price="zero", poa=True) as other:
        findings = verify(result.state, other.w3, platform.deployment, result.to_block)
    assert (result.findings, findings) == ([], [])
    assert result.receipt_roots > 0  # Kaia's receipts hash to the header's receiptsRoot: really checked
    assert audit_chain(chain, platform.deployment).report["verdict"] == "clean"  # through the failover client


def test_one_validator_killed_blocks_continue_and_the_client_fails_over(
        chain: Chain, platform: Platform, cast: Cast, network: Network) -> None:
    provider = chain.w3.provider
    assert isinstance(provider, FailoverProvider)
    dead = network.urls.index(provider.current_url) + 1
    result = CliRunner().invoke(cli, ["network", "kill", str(dead), "--dir", str(network.directory), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["can_commit"] is True
    before = platform.cash("CNY").balance(cast.supplier_b.address)
    nonce = chain.w3.eth.get_transaction_count(cast.bank.address)
    platform.cash("CNY").as_(cast.bank).mint(cast.supplier_b.address, 1_00, keccak(text="after-kill"))
    assert provider.current_url != network.urls[dead - 1]
    assert platform.cash("CNY").balance(cast.supplier_b.address) == before + 1_00
    assert chain.w3.eth.get_transaction_count(cast.bank.address) == nonce + 1
    network.wait_final(above=chain.block_number() + 2)


def test_two_validators_killed_stop_the_chain_and_the_client_says_so(
        chain: Chain, platform: Platform, cast: Cast, network: Network) -> None:
    alive = [s.index for s in network.status() if s.running]
    network.kill(alive[0])
    head = network.wait_stalled(seconds=5)
    chain.stall_timeout = 5
    started = time.monotonic()
    with pytest.raises(ChainStalled) as raised:
        platform.cash("CNY").as_(cast.bank).mint(cast.supplier_b.address, 2_00, keccak(text="while-stalled"))
    assert time.monotonic() - started < 60
    message = str(raised.value)
    assert "\n" not in message and f"head {head}" in message and "2f+1" in message
    shown = status(network)
    assert shown["can_commit"] is False and shown["running"] == 2


def test_restarted_validators_resume_the_chain_with_the_waiting_transaction_once(
        chain: Chain, platform: Platform, cast: Cast, network: Network) -> None:
    before = platform.cash("CNY").balance(cast.supplier_b.address)
    head = chain.block_number()
    for s in network.status():
        if not s.running:
            network.start(s.index)
    network.wait_final(above=head + 2)
    chain.stall_timeout = 30
    # The transaction sent while the chain stood still is mined now, once; the next one follows it.
    platform.cash("CNY").as_(cast.bank).mint(cast.supplier_b.address, 3_00, keccak(text="after-restart"))
    assert platform.cash("CNY").balance(cast.supplier_b.address) == before + 2_00 + 3_00
    assert all(s.running for s in network.status())


def test_network_cli_refuses_an_unknown_validator(network: Network) -> None:
    result = CliRunner().invoke(cli, ["network", "kill", "9", "--dir", str(network.directory)])
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: there is no validator 9: this network has validators 1 to 4"


def test_network_without_engine_binaries_names_make_install(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from vscm import network as network_module

    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv(network_module.ENGINE_BIN_ENV, raising=False)
    monkeypatch.setattr(network_module, "_REPO_ENGINES", tmp_path / "none")
    with pytest.raises(network_module.NetworkError, match="run `make install`"):
        Network.up(tmp_path / "net", owned=True)


def test_status_of_no_network_says_to_run_up(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["network", "status", "--dir", str(tmp_path / "nothing")])
    assert result.exit_code == 1
    assert "run `vscm network up` first" in result.stderr
