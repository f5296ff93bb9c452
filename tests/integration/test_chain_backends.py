"""The chain layer on real backends: embedded (eth-tester) and anvil (marked ``anvil``).

ErrorProbe (contracts/test) fails in every way a contract can; each failure must come back as
``ContractRevert`` with the Solidity error's name and values, from a call, a gas estimate or a
mined transaction alike. Fixture names avoid the shared ``chain``/``world`` fixtures of
tests/conftest.py: these tests need a bare chain, not the deployed platform.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3.contract import Contract

from vscm.chain import anvil
from vscm.chain.anvil import FAUCET_KEY, AnvilNode, free_port
from vscm.chain.backends import EMBEDDED_CHAIN_ID, Chain, connect
from vscm.chain.tx import ChainStalled, TransactionRejected
from vscm.errors import ChainError, ContractRevert, InputError, TransactionFailed

ETHER = 10**18
DAY = 86_400
KEY = bytes(range(32))
SENDER = "<sender>"  # stands for the calling account's address in expected values

BACKENDS = ["embedded", pytest.param("anvil", marks=pytest.mark.anvil)]

ERROR_CASES = [
    pytest.param("failNoArgs", (), "ProbeNoArgs", {}, id="no-args"),
    pytest.param("failNotOwner", (), "ProbeNotOwner", {"caller": SENDER}, id="address"),
    pytest.param("failUnknownKey", (KEY,), "ProbeUnknownKey", {"key": KEY}, id="bytes32"),
    pytest.param("failWrongStage", (7,), "ProbeWrongStage", {"id": 7, "stage": 1}, id="uint-and-enum"),
    pytest.param("failBadPoint", (5,), "ProbeBadPoint",
                 {"point": {"x": 5, "owner": SENDER}, "note": "point rejected"}, id="struct-and-string"),
    pytest.param("failRequire", (0,), "Error", {"message": "amount must be positive"}, id="require-string"),
    pytest.param("divide", (1, 0), "Panic", {"code": 0x12}, id="panic-division"),
    pytest.param("failAssert", (), "Panic", {"code": 0x01}, id="panic-assert"),
    pytest.param("failEmpty", (), "UnknownError", {"data": "0x"}, id="bare-revert"),
]


def _expected(values: dict[str, Any], sender: str) -> dict[str, Any]:
    def fill(value: Any) -> Any:
        if value == SENDER:
            return sender
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return value

    return {k: fill(v) for k, v in values.items()}


# -- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=BACKENDS)
def dev_chain(request: pytest.FixtureRequest) -> Iterator[Chain]:
    with connect(request.param) as chain:
        yield chain


@pytest.fixture(scope="module")
def deployer(dev_chain: Chain) -> LocalAccount:
    account: LocalAccount = Account.from_key(b"\x01" * 31 + b"\x11")
    dev_chain.fund(account.address, 100 * ETHER)
    return account


@pytest.fixture(scope="module")
def probe_address(dev_chain: Chain, deployer: LocalAccount) -> str:
    return dev_chain.sender.deploy(deployer, "ErrorProbe")


@pytest.fixture
def chain(dev_chain: Chain, probe_address: str) -> Iterator[Chain]:
    """The dev chain with ErrorProbe deployed, rolled back after the test."""
    snapshot = dev_chain.snapshot()
    try:
        yield dev_chain
    finally:
        dev_chain.revert(snapshot)


@pytest.fixture
def probe(chain: Chain, probe_address: str) -> Contract:
    return chain.contract("ErrorProbe", probe_address)


@pytest.fixture
def supplier(chain: Chain) -> LocalAccount:
    account: LocalAccount = Account.from_key(b"\x02" * 31 + b"\x22")
    chain.fund(account.address, 10 * ETHER)
    return account


@pytest.fixture
def anvil_node() -> Iterator[AnvilNode]:
    node = AnvilNode.start(chain_id=4242)
    try:
        yield node
    finally:
        node.stop()


def port_is_free(port: int) -> bool:
    """Nothing listens on ``port`` (closed connections may linger in TIME_WAIT: that is fine)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


# -- reverts --------------------------------------------------------------------------------


@pytest.mark.parametrize(("function", "args", "name", "values"), ERROR_CASES)
def test_call_revert_comes_back_decoded(chain: Chain, probe: Contract, deployer: LocalAccount,
                                        function: str, args: tuple[Any, ...], name: str,
                                        values: dict[str, Any]) -> None:
    with pytest.raises(ContractRevert) as caught:
        chain.sender.call(probe.functions[function](*args), sender=deployer.address)
    assert caught.value.name == name
    assert caught.value.values == _expected(values, deployer.address)
    assert (caught.value.contract, caught.value.function) == ("ErrorProbe", function)


@pytest.mark.parametrize(("function", "args", "name", "values"), ERROR_CASES)
def test_transact_revert_comes_back_decoded_and_spends_no_nonce(
        chain: Chain, probe: Contract, deployer: LocalAccount, function: str, args: tuple[Any, ...],
        name: str, values: dict[str, Any]) -> None:
    nonce = chain.w3.eth.get_transaction_count(deployer.address)
    with pytest.raises(ContractRevert) as caught:
        chain.sender.transact(deployer, probe.functions[function](*args))
    assert (caught.value.name, caught.value.values) == (name, _expected(values, deployer.address))
    assert chain.w3.eth.get_transaction_count(deployer.address) == nonce


def test_mined_failure_is_replayed_into_decoded_error(chain: Chain, probe: Contract,
                                                      deployer: LocalAccount) -> None:
    nonce = chain.w3.eth.get_transaction_count(deployer.address)
    with pytest.raises(ContractRevert) as caught:
        # A fixed gas limit skips estimation, so the transaction is mined and fails.
        chain.sender.transact(deployer, probe.functions.setValueBelow(5, 1), gas=100_000)
    assert (caught.value.name, caught.value.values) == ("ProbeAmountTooLarge", {"amount": 5, "limit": 1})
    assert chain.w3.eth.get_transaction_count(deployer.address) == nonce + 1
    chain.sender.transact(deployer, probe.functions.setValueBelow(1, 1))
    assert chain.sender.call(probe.functions.value()) == 1


def test_out_of_gas_is_transaction_failed_not_a_revert(chain: Chain, probe: Contract,
                                                       deployer: LocalAccount) -> None:
    with pytest.raises(TransactionFailed, match="ran out of gas") as caught:
        chain.sender.transact(deployer, probe.functions.setValue(9), gas=22_000)
    assert not isinstance(caught.value, ContractRevert)


def test_constructor_revert_names_the_contract(chain: Chain, deployer: LocalAccount) -> None:
    from vscm.chain.artifacts import Artifact

    # Init code that reverts with ProbeNoArgs(): PUSH4 selector, PUSH1 0xe0, SHL, PUSH1 0,
    # MSTORE, PUSH1 4, PUSH1 0, REVERT.
    init = "0x63400dd93060e01b60005260046000fd"
    broken = Artifact(name="Broken", abi=[], bytecode=init, deployed_bytecode="0x", source_hash="")
    with pytest.raises(ContractRevert) as caught:
        chain.sender.deploy(deployer, broken)
    assert (caught.value.name, caught.value.contract, caught.value.function) == (
        "ProbeNoArgs", "Broken", "constructor")


# -- transactions and nonces ----------------------------------------------------------------


def test_transact_returns_receipt_with_event(chain: Chain, probe: Contract, deployer: LocalAccount) -> None:
    receipt = chain.sender.transact(deployer, probe.functions.setValue(42))
    (event,) = probe.events.ValueSet().process_receipt(receipt)
    assert (event["args"]["by"], event["args"]["value"]) == (deployer.address, 42)


def test_deploy_returns_address_with_code(chain: Chain, deployer: LocalAccount) -> None:
    address = chain.sender.deploy(deployer, "ErrorProbe")
    assert len(chain.w3.eth.get_code(address)) > 0


def test_two_signers_send_many_sequential_transactions(
        chain: Chain, probe: Contract, deployer: LocalAccount, supplier: LocalAccount) -> None:
    start = {a.address: chain.w3.eth.get_transaction_count(a.address) for a in (deployer, supplier)}
    nonces: dict[str, list[int]] = {deployer.address: [], supplier.address: []}
    for i in range(12):
        for account in (deployer, supplier):
            receipt = chain.sender.transact(account, probe.functions.setValue(i))
            nonces[account.address].append(chain.w3.eth.get_transaction(receipt["transactionHash"])["nonce"])
    for address, used in nonces.items():
        assert used == list(range(start[address], start[address] + 12))
    assert chain.sender.call(probe.functions.value()) == 11


def test_nonce_is_reread_after_another_program_used_the_account(chain: Chain, supplier: LocalAccount,
                                                               deployer: LocalAccount) -> None:
    chain.sender.send_value(supplier, deployer.address, 1)  # the tracker now knows the nonce
    nonce = chain.w3.eth.get_transaction_count(supplier.address)
    fees = {"maxFeePerGas": 10**11, "maxPriorityFeePerGas": 10**9}
    outside = {"to": deployer.address, "value": 1, "gas": 21_000, "nonce": nonce,
               "chainId": chain.chain_id, **fees}
    chain.w3.eth.send_raw_transaction(supplier.sign_transaction(outside).raw_transaction)
    with pytest.raises(TransactionRejected, match="nonce"):
        chain.sender.send_value(supplier, deployer.address, 1)
    receipt = chain.sender.send_value(supplier, deployer.address, 1)
    assert chain.w3.eth.get_transaction(receipt["transactionHash"])["nonce"] == nonce + 1


def test_revert_to_snapshot_forgets_counted_nonces(chain: Chain, probe: Contract,
                                                    deployer: LocalAccount) -> None:
    snapshot = chain.snapshot()
    chain.sender.transact(deployer, probe.functions.setValue(1))
    chain.sender.transact(deployer, probe.functions.setValue(2))
    chain.revert(snapshot)
    chain.sender.transact(deployer, probe.functions.setValue(3))
    assert chain.sender.call(probe.functions.value()) == 3


def test_fund_lets_a_fresh_key_pay_for_gas(chain: Chain, probe: Contract) -> None:
    fresh: LocalAccount = Account.create()
    chain.fund(fresh.address, ETHER)
    assert chain.balance(fresh.address) == ETHER
    chain.sender.transact(fresh, probe.functions.setValue(5))
    assert 0 < chain.balance(fresh.address) < ETHER


def test_unfunded_key_is_rejected_with_a_hint(chain: Chain) -> None:
    broke: LocalAccount = Account.create()
    with pytest.raises(TransactionRejected, match="fund"):
        chain.sender.send_value(broke, chain.faucet.address if chain.faucet else broke.address, 1)


# -- dev helpers ----------------------------------------------------------------------------


def test_chain_reports_kind_id_and_faucet(dev_chain: Chain) -> None:
    expected_id = EMBEDDED_CHAIN_ID if dev_chain.kind == "embedded" else anvil.DEFAULT_CHAIN_ID
    assert dev_chain.chain_id == expected_id == dev_chain.w3.eth.chain_id
    assert dev_chain.is_dev and dev_chain.faucet is not None
    assert dev_chain.fee_policy == "dev"


def test_time_travel_moves_block_time_forward(chain: Chain) -> None:
    before = chain.timestamp()
    after = chain.time_travel(30 * DAY)
    assert after == chain.timestamp()
    assert before + 30 * DAY <= after < before + 30 * DAY + 60


def test_time_travel_is_seen_by_the_next_transaction(chain: Chain, probe: Contract,
                                                     deployer: LocalAccount) -> None:
    target = chain.time_travel(90 * DAY)
    receipt = chain.sender.transact(deployer, probe.functions.setValue(1))
    assert chain.w3.eth.get_block(receipt["blockNumber"])["timestamp"] >= target


def test_time_travel_backwards_is_refused(chain: Chain) -> None:
    with pytest.raises(InputError):
        chain.time_travel(-1)


def test_mine_adds_blocks(chain: Chain) -> None:
    before = chain.block_number()
    chain.mine(3)
    assert chain.block_number() == before + 3


def test_revert_to_unknown_snapshot_is_chain_error(chain: Chain) -> None:
    with pytest.raises(ChainError):
        chain.revert(10**6)


# -- connecting -----------------------------------------------------------------------------


def test_unknown_target_is_input_error() -> None:
    with pytest.raises(InputError, match="unknown chain"):
        connect("mainnet-please")


def test_anvil_option_on_embedded_is_input_error() -> None:
    with pytest.raises(InputError, match="port"):
        connect("embedded", port=8545)


def test_unreachable_url_is_chain_error() -> None:
    with pytest.raises(ChainError, match="cannot reach"):
        connect(f"http://127.0.0.1:{free_port()}", timeout=2)


@pytest.mark.anvil
def test_rpc_url_with_other_chain_id_is_refused(anvil_node: AnvilNode) -> None:
    with pytest.raises(ChainError) as caught:
        connect(anvil_node.url, expected_chain_id=1)
    assert "4242" in str(caught.value) and "expected 1" in str(caught.value)


@pytest.mark.anvil
def test_rpc_url_with_node_fees_sends_transactions(anvil_node: AnvilNode) -> None:
    with connect(anvil_node.url, expected_chain_id=4242) as chain:
        assert (chain.kind, chain.fee_policy, chain.faucet) == ("rpc", "node", None)
        funded: LocalAccount = Account.from_key(FAUCET_KEY)
        address = chain.sender.deploy(funded, "ErrorProbe")
        receipt = chain.sender.transact(funded, chain.contract("ErrorProbe", address).functions.setValue(3))
        assert receipt["status"] == 1


@pytest.mark.anvil
def test_rpc_chain_has_no_faucet(anvil_node: AnvilNode) -> None:
    with connect(anvil_node.url) as chain, pytest.raises(ChainError, match="no faucet"):
        chain.fund(Account.create().address, 1)


@pytest.mark.anvil
def test_zero_gas_price_lets_an_empty_account_transact() -> None:
    node = AnvilNode.start(extra_args=["--base-fee", "0", "--gas-price", "0"])
    try:
        with connect(node.url, gas_price="zero", poa=True) as chain:
            member: LocalAccount = Account.create()
            address = chain.sender.deploy(member, "ErrorProbe")
            chain.sender.transact(member, chain.contract("ErrorProbe", address).functions.setValue(8))
            assert chain.balance(member.address) == 0
    finally:
        node.stop()


@pytest.mark.anvil
def test_several_urls_skip_a_node_that_does_not_answer(anvil_node: AnvilNode) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    with connect(f"{dead},{anvil_node.url}", expected_chain_id=4242) as chain:
        funded: LocalAccount = Account.from_key(FAUCET_KEY)
        nonce = chain.w3.eth.get_transaction_count(funded.address)
        address = chain.sender.deploy(funded, "ErrorProbe")
        chain.sender.transact(funded, chain.contract("ErrorProbe", address).functions.setValue(5))
        assert chain.w3.provider.current_url == anvil_node.url  # type: ignore[attr-defined]
        assert chain.w3.eth.get_transaction_count(funded.address) == nonce + 2


def test_several_urls_none_answering_is_chain_error() -> None:
    urls = ",".join(f"http://127.0.0.1:{free_port()}" for _ in range(2))
    with pytest.raises(ChainError, match="cannot reach"):
        connect(urls, timeout=2)


def test_a_url_list_with_a_non_http_entry_is_input_error() -> None:
    with pytest.raises(InputError, match="every one must be http"):
        connect("http://127.0.0.1:1,ws://127.0.0.1:2")


@pytest.mark.anvil
def test_send_on_a_chain_that_makes_no_blocks_stops_with_one_line() -> None:
    node = AnvilNode.start(extra_args=["--no-mining"])
    try:
        with connect(node.url, stall_timeout=2) as chain:
            funded: LocalAccount = Account.from_key(FAUCET_KEY)
            chain.sender.receipt_timeout = 60
            started = time.monotonic()
            with pytest.raises(ChainStalled) as caught:
                chain.sender.send_value(funded, Account.create().address, 1)
            assert time.monotonic() - started < 30
            assert "no new block for 2 s (head 0)" in str(caught.value) and "\n" not in str(caught.value)
    finally:
        node.stop()


# -- anvil node lifecycle -------------------------------------------------------------------


@pytest.mark.anvil
def test_node_stops_cleanly() -> None:
    node = AnvilNode.start()
    assert node.is_running()
    node.stop()
    assert not node.is_running()
    assert not process_exists(node.pid)
    assert port_is_free(node.port)


@pytest.mark.anvil
def test_closing_an_anvil_chain_stops_its_node() -> None:
    chain = connect("anvil")
    assert isinstance(chain, Chain) and chain.kind == "anvil"
    node = chain.node  # type: ignore[attr-defined]
    chain.close()
    assert not process_exists(node.pid)
    assert port_is_free(node.port)


@pytest.mark.anvil
def test_state_file_keeps_contracts_across_sessions(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    with connect("anvil", state_file=state) as chain:
        address = chain.sender.deploy(chain.faucet, "ErrorProbe")  # type: ignore[arg-type]
    assert state.is_file()
    with connect("anvil", state_file=state) as chain:
        assert len(chain.w3.eth.get_code(address)) > 0


@pytest.mark.anvil
def test_a_chain_whose_clock_was_moved_forward_keeps_going_forward_after_a_restart(tmp_path: Path) -> None:
    """anvil's state file keeps the blocks but not the clock's offset: the node is started with its clock
    after the loaded head (else its next block would be stamped with the wall clock, before the head)."""
    state = tmp_path / "state.json"
    with connect("anvil", state_file=state) as chain:
        head = chain.time_travel(400 * 86400)
    with connect("anvil", state_file=state) as chain:
        assert chain.timestamp() == head
        chain.mine()
        assert chain.timestamp() > head


@pytest.mark.anvil
def test_kept_node_survives_stop_and_start_with_its_state(tmp_path: Path) -> None:
    node = AnvilNode.start_detached(tmp_path, chain_id=777)
    try:
        with connect(AnvilNode.attach(tmp_path)) as chain:
            faucet = chain.faucet
            assert faucet is not None
            address = chain.sender.deploy(faucet, "ErrorProbe")
            chain.sender.transact(faucet, chain.contract("ErrorProbe", address).functions.setValue(42))
        assert anvil.status(tmp_path).running, "closing an attached chain must not stop the kept node"

        assert anvil.stop(tmp_path) is True
        stopped = anvil.status(tmp_path)
        assert (stopped.running, stopped.state_saved) == (False, True)
        assert not process_exists(node.pid)
        assert port_is_free(node.port)

        again = AnvilNode.start_detached(tmp_path)
        assert (again.port, again.chain_id) == (node.port, 777)
        with connect(AnvilNode.attach(tmp_path), expected_chain_id=777) as chain:
            assert len(chain.w3.eth.get_code(address)) > 0
            assert chain.sender.call(chain.contract("ErrorProbe", address).functions.value()) == 42
    finally:
        anvil.stop(tmp_path)
    assert not anvil.status(tmp_path).running


def kill_hard(pid: int) -> None:
    """kill -9, as a crash or the OOM killer does: anvil gets no chance to write its state."""
    import signal

    os.kill(pid, signal.SIGKILL)
    try:
        os.waitpid(pid, 0)  # started from this process: reap it, or it lingers as a zombie
    except ChildProcessError:
        pass
    while process_exists(pid):
        time.sleep(0.01)


def saved_head(state_dir: Path) -> int:
    """The head block of the kept node's last written state file (-1 when none is readable yet)."""
    import json

    try:
        return int(json.loads((state_dir / anvil.STATE_FILE).read_text())["best_block_number"])
    except (OSError, ValueError, KeyError, TypeError):
        return -1


@pytest.mark.anvil
def test_kept_node_writes_its_state_while_running_and_survives_kill_9(tmp_path: Path) -> None:
    node = AnvilNode.start_detached(tmp_path)
    try:
        assert anvil.status(tmp_path).state_interval == anvil.STATE_INTERVAL == 1
        with connect(AnvilNode.attach(tmp_path)) as chain:
            receipts = [chain.fund("0x" + f"{i:02x}" * 20, 1) for i in range(1, 6)]
        last = int(receipts[-1]["blockNumber"])
        while saved_head(tmp_path) < last:  # written while running, no stop needed
            time.sleep(0.05)
        kill_hard(node.pid)

        again = AnvilNode.start_detached(tmp_path)
        assert again.recovery is not None and not again.recovery.lost
        assert (again.recovery.had_block, again.recovery.has_block) == (last, last)
        with connect(AnvilNode.attach(tmp_path)) as chain:
            for receipt in receipts:
                assert chain.w3.eth.get_transaction_receipt(receipt["transactionHash"])["status"] == 1
    finally:
        anvil.stop(tmp_path)


@pytest.mark.anvil
def test_start_after_kill_9_names_the_blocks_that_were_lost(tmp_path: Path) -> None:
    node = AnvilNode.start_detached(tmp_path, state_interval=3600)  # nothing written before the kill
    try:
        with connect(AnvilNode.attach(tmp_path)) as chain:
            lost_block = int(chain.fund("0x" + "ab" * 20, 1)["blockNumber"])
        kill_hard(node.pid)

        again = AnvilNode.start_detached(tmp_path)
        assert again.recovery is not None and again.recovery.lost
        assert (again.recovery.had_block, again.recovery.has_block) == (lost_block, 0)
        assert f"it had block {lost_block}, it restarted at block 0" in again.recovery.message
        anvil.stop(tmp_path)
        clean = AnvilNode.start_detached(tmp_path)  # after a clean stop: nothing to report
        assert clean.recovery is None
    finally:
        anvil.stop(tmp_path)


@pytest.mark.anvil
def test_second_start_of_a_kept_node_is_refused(tmp_path: Path) -> None:
    AnvilNode.start_detached(tmp_path)
    try:
        with pytest.raises(ChainError, match="already running"):
            AnvilNode.start_detached(tmp_path)
    finally:
        anvil.stop(tmp_path)


def test_attach_without_a_kept_node_is_chain_error(tmp_path: Path) -> None:
    with pytest.raises(ChainError, match="vscm node start"):
        AnvilNode.attach(tmp_path)
    assert anvil.stop(tmp_path) is False
    assert not anvil.status(tmp_path).running


@pytest.mark.anvil
def test_taken_port_is_chain_error(anvil_node: AnvilNode) -> None:
    with pytest.raises(ChainError, match="in use"):
        AnvilNode.start(port=anvil_node.port)


def test_the_embedded_chains_views_have_the_sender_web3_would_pick() -> None:
    """EmbeddedChain names web3's default account once (the faucet, eth_accounts[0]): the sender eth-tester's
    middleware would otherwise look up on every view, three account queries a call."""
    with connect("embedded") as embedded:
        assert embedded.faucet is not None
        assert embedded.w3.eth.default_account == embedded.w3.eth.accounts[0] == embedded.faucet.address
