"""The platform on a real 4-validator BFT network: Kaia's kscn (Istanbul BFT) built by `make install`.

One network for the module, tied to this test process (its validators get SIGTERM if the process dies).
The tests run in file order, as one fault drill: the whole demo story (`python -m vscm.demo --network`), one validator killed (blocks go
on, the client fails over), two killed (no blocks: the client says so in one line and does not spin),
restarted (the chain resumes, with the waiting transaction in it exactly once).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from eth_utils import keccak

from vscm.chain.backends import Chain, connect
from vscm.chain.failover import FailoverProvider
from vscm.chain.tx import ChainStalled
from vscm.cli.main import cli
from vscm.client.deployment import Deployment
from vscm.client.platform import Platform
from vscm.demo import NETWORK_DAY, Cast
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
    return Cast.from_seed()  # the demo's parties


@pytest.fixture(scope="module")
def demo(network: Network) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """`python -m vscm.demo --network net` (`make demo NETWORK=net`): the whole story on the 4 validators."""
    home = network.directory.parent.parent
    env = {**os.environ, "COLUMNS": "200", "VSCM_HOME": str(home)}  # wide enough that rich wraps no line
    env.pop("VSCM_DEBUG", None)
    done = subprocess.run([sys.executable, "-m", "vscm.demo", "--network", network.directory.name], env=env,
                          capture_output=True, text=True, timeout=3600, check=False)
    return done, [re.sub(r"\s+", " ", line).strip() for line in done.stdout.splitlines()]


@pytest.fixture(scope="module")
def platform(chain: Chain, network: Network, demo: tuple[subprocess.CompletedProcess[str], list[str]]) -> Platform:
    """The demo's platform, from the manifest it kept in $VSCM_HOME/deployments/net.json."""
    assert demo[0].returncode == 0, demo[0].stdout[-3000:] + demo[0].stderr[-3000:]
    home = network.directory.parent.parent
    return Platform(chain, Deployment.load(home / "deployments" / f"{network.directory.name}.json"))


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


def line_with(lines: list[str], *fragments: str) -> int:
    """Index of the first line holding every fragment (fails when there is none)."""
    for index, line in enumerate(lines):
        if all(f in line for f in fragments):
            return index
    raise AssertionError(f"no line with {fragments} in the demo output:\n" + "\n".join(lines))


def test_the_whole_demo_story_runs_on_the_network_with_free_gas(
        chain: Chain, platform: Platform, cast: Cast, network: Network,
        demo: tuple[subprocess.CompletedProcess[str], list[str]]) -> None:
    """Every step of `make demo` on Cancun bytecode (PUSH0, MCOPY) at gasPrice 0 from empty accounts; the
    story's loans last seconds (a day is 1 s, the deployed grace period 7 s): real time passes, and the
    bank declares the late loan defaulted once its maturity and grace have passed on the chain's clock."""
    _, lines = demo
    assert chain.balance(cast.bank.address) == 0
    assert platform.loans.contract.functions.GRACE_PERIOD().call() == 7 * NETWORK_DAY
    line_with(lines, "VSCM demo", "http://127.0.0.1")
    line_with(lines, "the auditor attested too", "status active")
    line_with(lines, "order #4:", "CIF Almaty (KZ), in USD", "USD 42,500.00, settled")
    line_with(lines, "30 days later Baoji repaid")
    line_with(lines, "Xi'an Motors paid both invoices at maturity")
    line_with(lines, "late past the grace period", "unspent CNY 2,000.00 came back to the bank first")
    line_with(lines, "MARGIN CALL on loan")
    line_with(lines, "the bank recalled loan")
    line_with(lines, "Chang'an Audit co-signed", "3 of 3 members", "evicted")
    line_with(lines, "Yiwu", "the bank refuses it")
    line_with(lines, "Chang'an Audit replayed blocks", "clean")
    bad = max(platform.loans.loans(), key=lambda ln: ln.defaulted_at).loan_id
    late = platform.loans.loan(bad)
    assert late.defaulted_at > late.maturity + 7 * NETWORK_DAY and late.guarantor_paid > 0

    # Every validator holds the same platform state at the same height.
    height = network.wait_final(above=chain.block_number())
    views = set()
    for url in network.urls:
        with connect(url, gas_price="zero", poa=True) as one:
            cash = one.contract("PlatformCash", platform.deployment.cash["CNY"])
            views.add((one.w3.eth.get_block(height)["hash"],
                       tuple(cash.functions.balanceOf(p.address).call(block_identifier=height)
                             for p in (cast.bank, cast.core, cast.supplier_a, cast.supplier_b))))
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
    from vscm.audit.replay import replay
    from vscm.audit.source import RpcSource
    from vscm.audit.verify import verify

    height = network.wait_final(above=chain.block_number())
    result = replay(RpcSource(network.urls[0]), platform.deployment, height)
    with connect(network.urls[2], gas_price="zero", poa=True) as other:
        findings = verify(result.state, other.w3, platform.deployment, result.to_block)
    assert (result.findings, findings) == ([], [])
    assert result.receipt_roots > 0  # Kaia's receipts hash to the header's receiptsRoot: really checked
    # The CLI, through the network's profile and the demo's manifest (`--network net`): the failover client.
    shown = CliRunner().invoke(cli, ["audit", "replay", "--network", network.directory.name, "--json"],
                               env={"VSCM_HOME": str(network.directory.parent.parent)})
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["verdict"] == "clean"


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
    with pytest.raises(ChainStalled, match=f"head {head}\\) while waiting for chain time"):
        chain.let_time_pass(60)  # the demo's real-time wait stops too, in one line
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
