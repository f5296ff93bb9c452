"""The CLI's light path (issue 15, vscm.chain.light) gives what the web3 path gives, on one anvil.

The quick commands (``member show``, ``cash balance``, ``order place``) run the same platform facades on
contracts of vscm.chain.light (JSON-RPC over the standard library, eth-abi, eth-account) instead of web3's: the
records, the receipts and events, the reverts and the deployment check must be the same, and a quick command
must not import web3.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from vscm import demo
from vscm.chain import abicache
from vscm.chain.backends import connect
from vscm.chain.light import LightChain
from vscm.cli.bench import PASSPHRASE, _platform
from vscm.cli.common import tx_result
from vscm.client.check import check_deployment
from vscm.client.platform import Platform
from vscm.errors import ChainError, ContractRevert, NodeUnreachable, NotFound
from vscm.wallet.keystore import Keystore


@pytest.fixture(scope="module")
def world() -> Iterator[dict[str, Any]]:
    with connect("anvil", timeout=120) as chain:
        cast = demo.Cast.from_seed("vscm-cli-quick")
        platform, chain_id = _platform(chain, cast)
        url = chain.w3.provider.endpoint_uri  # type: ignore[attr-defined]
        light = LightChain(url)
        check_deployment(light, platform.deployment)  # sets its chain id, as the CLI's open_light_platform
        yield {"chain": chain, "cast": cast, "web3": platform, "light": Platform(light, platform.deployment),
               "chain_id": chain_id, "url": url}
        light.close()


def test_reads_give_the_same_records(world: dict[str, Any]) -> None:
    web3, light, cast = world["web3"], world["light"], world["cast"]
    for who in ("core", "supplier_a", "bank"):
        address = getattr(cast, who).address
        assert light.members.member(address) == web3.members.member(address)
    assert light.members.supply_chain(world["chain_id"]) == web3.members.supply_chain(world["chain_id"])
    for code in web3.currencies:
        assert light.cash(code).balance(cast.core.address) == web3.cash(code).balance(cast.core.address)
        assert light.cash(code).mint_cap(cast.bank.address) == web3.cash(code).mint_cap(cast.bank.address)
    assert light.funds.whereabouts(1) == web3.funds.whereabouts(1)  # arrays as lists, several outputs
    with pytest.raises(NotFound) as got:
        light.members.member(cast.carrier.address)
    with pytest.raises(NotFound) as expected:
        web3.members.member(cast.carrier.address)
    assert str(got.value) == str(expected.value)


def test_a_write_gives_the_receipt_and_event_web3_reads(world: dict[str, Any]) -> None:
    light, web3, cast = world["light"], world["web3"], world["cast"]
    due = world["chain"].now() + 30 * 86400
    order_id = light.orders.as_(cast.supplier_a).place(cast.supplier_b.address, world["chain_id"], "CNY", 12_345, due).id
    receipt = light.last_receipt
    seen = world["chain"].w3.eth.get_transaction_receipt(receipt["transactionHash"])
    assert tx_result(receipt, "order placed") == tx_result(seen, "order placed")
    assert web3.orders._event(seen, "OrderPlaced") == dict(light.orders._event(receipt, "OrderPlaced"))
    assert order_id == web3.orders.count()
    assert light.orders.order(order_id) == web3.orders.order(order_id)
    assert web3.orders.order(order_id).amount == 12_345


def test_a_refused_write_is_the_same_revert_and_sends_nothing(world: dict[str, Any]) -> None:
    light, web3, cast = world["light"], world["web3"], world["cast"]
    due = world["chain"].now() + 30 * 86400
    nonce = world["chain"].w3.eth.get_transaction_count(cast.carrier.address)
    errors = []
    for platform in (light, web3):  # the carrier is no member: refused at gas estimation
        with pytest.raises(ContractRevert) as caught:
            platform.orders.as_(cast.carrier).place(cast.supplier_b.address, world["chain_id"], "CNY", 1, due)
        errors.append((caught.value.name, caught.value.values, caught.value.contract, caught.value.function))
    assert errors[0] == errors[1]
    assert errors[0][2:] == ("OrderBook", "place")
    assert world["chain"].w3.eth.get_transaction_count(cast.carrier.address) == nonce


def test_the_deployment_check_refuses_as_on_the_web3_path(world: dict[str, Any]) -> None:
    deployment = world["web3"].deployment
    wrong = [replace(deployment, chain_id=deployment.chain_id + 1),
             replace(deployment, orders=world["cast"].carrier.address),  # no code there
             replace(deployment, orders=deployment.assets)]  # another contract's code
    for bad in wrong:
        messages = []
        for chain in (LightChain(world["url"]), world["chain"]):
            with pytest.raises(ChainError) as caught:
                check_deployment(chain, bad, manifest="m.json")
            messages.append(str(caught.value).replace(world["chain"].name, "NODE").replace(world["url"], "NODE"))
        assert messages[0] == messages[1]


def test_a_node_that_does_not_answer_is_node_unreachable(world: dict[str, Any]) -> None:
    from vscm.chain.anvil import free_port

    with pytest.raises(NodeUnreachable, match="connection refused"):
        check_deployment(LightChain(f"http://127.0.0.1:{free_port()}"), world["web3"].deployment)


def test_the_abi_cache_is_one_file_made_once_and_remade_for_other_artifacts(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VSCM_HOME", str(tmp_path))
    abicache.clear()
    try:
        abi = abicache.abi("OrderBook")
        made = list((tmp_path / "cache").glob("abi-*.json"))
        assert len(made) == 1 and made[0] == abicache.cache_file()
        assert {e["name"] for e in abi if e["type"] == "function"} >= {"place", "getOrder", "orderCount"}
        assert all("internalType" not in p for e in abi if e["type"] == "function" for p in e["inputs"])
        from vscm.chain import artifacts

        code = bytes.fromhex(artifacts.load("OrderBook").deployed_bytecode[2:])
        assert abicache.same_runtime(code, "OrderBook") and not abicache.same_runtime(code, "AssetRegistry")
        assert not abicache.same_runtime(code[:-1] + bytes([code[-1] ^ 1]), "OrderBook")
        made[0].write_text(json.dumps({"format": 1, "contracts": {}}))  # what the file says is what is used
        abicache.clear()
        assert abicache.index() == {}
        monkeypatch.setattr(artifacts, "_DIRECTORIES", [*artifacts._DIRECTORIES, tmp_path / "more"])
        (tmp_path / "more").mkdir()
        (tmp_path / "more" / "Extra.json").write_text(Path(artifacts.ARTIFACTS_DIR / "OrderBook.json").read_text()
                                                     .replace('"contractName": "OrderBook"', '"contractName": "Extra"'))
        abicache.clear()
        artifacts.load.cache_clear()
        assert abicache.cache_file() != made[0] and "Extra" in abicache.index()
    finally:
        abicache.clear()
        artifacts.load.cache_clear()


def test_quick_commands_import_neither_web3_nor_the_oracle(world: dict[str, Any], tmp_path: Path) -> None:
    manifest = world["web3"].deployment.save(tmp_path / "deployment.json")
    keys = tmp_path / "keys"
    Keystore(keys, iterations=2**10).import_key("buyer", world["cast"].supplier_a.key.hex(), PASSPHRASE)
    (tmp_path / "pw").write_text(PASSPHRASE + "\n")
    net = ["--network", world["url"], "--deployment", str(manifest)]
    seller = world["cast"].supplier_b.address
    probe = ("import sys\nfrom vscm.cli.main import run\ncode = run(sys.argv[1:])\n"
             "print('WEB3', 'web3' in sys.modules, 'ORACLE', 'vscm.oracle' in sys.modules, 'CODE', code)\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VSCM_")} | {
        "VSCM_HOME": str(tmp_path), "VSCM_KEYSTORE_DIR": str(keys)}
    for args in (["member", "show", seller, "--json"], ["cash", "balance", seller, "--json"],
                 ["order", "place", "--seller", seller, "--chain", str(world["chain_id"]), "--currency", "CNY",
                  "--amount", "2", "--due", "2031-01-01", "--wallet", "buyer", "--password-file", str(tmp_path / "pw"),
                  "--json"]):
        out = subprocess.run([sys.executable, "-c", probe, *args, *net], capture_output=True, text=True, env=env,
                             check=False)
        assert out.returncode == 0, out.stderr
        assert "WEB3 False ORACLE False CODE 0" in out.stdout, (args, out.stdout, out.stderr)
    placed = json.loads(out.stdout.split("WEB3")[0])
    assert world["web3"].orders.order(placed["order_id"]).amount == 200


def test_a_write_signed_by_the_unlock_agent_asks_no_passphrase_and_lands(world: dict[str, Any], tmp_path: Path) -> None:
    """The standard keystore's scrypt is paid once, by `vscm wallet unlock`; the write after it is signed by the
    agent (vscm.wallet.agent) with no passphrase anywhere, and imports no eth-account (the agent signs)."""
    import tempfile

    manifest = world["web3"].deployment.save(tmp_path / "deployment.json")
    keys, agents = tmp_path / "keys", Path(tempfile.mkdtemp(prefix="vag-"))
    Keystore(keys, iterations=2**10).import_key("buyer", world["cast"].supplier_a.key.hex(), PASSPHRASE)
    (tmp_path / "pw").write_text(PASSPHRASE + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VSCM_")} | {
        "VSCM_HOME": str(tmp_path), "VSCM_KEYSTORE_DIR": str(keys), "VSCM_AGENT_DIR": str(agents)}
    vscm = [sys.executable, "-m", "vscm.cli.main"]
    unlocked = subprocess.run([*vscm, "wallet", "unlock", "buyer", "--password-file", str(tmp_path / "pw"), "--json"],
                              capture_output=True, text=True, env=env, check=False)
    assert unlocked.returncode == 0, unlocked.stderr
    try:
        probe = ("import sys\nfrom vscm.cli.main import run\ncode = run(sys.argv[1:])\n"
                 "print('ETH_ACCOUNT', 'eth_account' in sys.modules, 'CODE', code)\n")
        out = subprocess.run([sys.executable, "-c", probe, "order", "place", "--seller", world["cast"].supplier_b.address,
                              "--chain", str(world["chain_id"]), "--currency", "CNY", "--amount", "3", "--due",
                              "2031-01-01", "--wallet", "buyer", "--json", "--network", world["url"], "--deployment",
                              str(manifest)], capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL,
                             check=False)
        assert out.returncode == 0, out.stderr
        assert "ETH_ACCOUNT False CODE 0" in out.stdout, out.stdout
        placed = json.loads(out.stdout.split("ETH_ACCOUNT")[0])
        order = world["web3"].orders.order(placed["order_id"])
        assert (order.buyer, order.amount) == (world["cast"].supplier_a.address, 300)
        listed = json.loads(subprocess.run([*vscm, "wallet", "agents", "--json"], capture_output=True, text=True,
                                           env=env, check=True).stdout)
        assert [(a["label"], a["signatures"]) for a in listed] == [("buyer", 1)]
    finally:
        subprocess.run([*vscm, "wallet", "lock", "--all"], env=env, check=True, capture_output=True)


def test_a_pipeline_round_signed_by_the_unlock_agent_lands(world: dict[str, Any], tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """`together` on a network (and `vscm deploy` there) sends through a Pipeline, which signs with the key itself;
    a wallet unlocked in the agent has no key to give, so the agent signs the same fields."""
    import tempfile

    from vscm.chain.pipeline import Pipeline
    from vscm.wallet.agent import AgentAccount, find_agent, start_agent

    monkeypatch.setenv("VSCM_AGENT_DIR", tempfile.mkdtemp(prefix="vag-"))
    store = Keystore(tmp_path / "keys", iterations=2**10)
    store.import_key("buyer", world["cast"].supplier_a.key.hex(), PASSPHRASE)
    status = start_agent(store.unlock("buyer", PASSPHRASE), store, "buyer", 600)
    try:
        agent = find_agent(store, "buyer")
        assert isinstance(agent, AgentAccount)
        web3, due = world["web3"], world["chain"].now() + 30 * 86400
        requests = [web3.orders.as_(agent).build.place(world["cast"].supplier_b.address, world["chain_id"], "CNY",
                                                       amount, due) for amount in (401, 402)]
        world["chain"].nonces.forget(agent.address)  # the CLI processes of the tests above sent from this account too
        with Pipeline(world["chain"]) as pipe:
            sent = [pipe.submit(agent, request) for request in requests]
            pipe.wait()
        placed = [request.result(tx).id for request, tx in zip(requests, sent, strict=True)]
        assert [(web3.orders.order(i).buyer, web3.orders.order(i).amount) for i in placed] == [
            (world["cast"].supplier_a.address, 401), (world["cast"].supplier_a.address, 402)]
        assert find_agent(store, "buyer").status.signatures == 2  # type: ignore[union-attr]
    finally:
        os.kill(status.pid, 15)
