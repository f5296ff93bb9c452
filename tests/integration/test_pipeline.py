"""The transaction pipeline: nonces under concurrency, a revert in the middle of a batch, and a node
restart in the middle of a batch.

Every check is on chain: token balances count how many times each transfer executed, and each
signer's on-chain nonce counts how many of its transactions were mined.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from vscm.chain.anvil import AnvilNode
from vscm.chain.backends import connect
from vscm.chain.pipeline import Pipeline, TxResult
from vscm.errors import ContractRevert

TRANSFER_GAS = 80_000
BACKENDS = ["embedded", pytest.param("anvil", marks=pytest.mark.anvil)]


def key(label: str) -> LocalAccount:
    return Account.from_key(keccak(text=f"vscm-pipeline-tests:{label}"))


class Tokens:
    """A reference ERC-20 held by a few signers, on one chain."""

    def __init__(self, chain: Any, signers: int) -> None:
        self.chain = chain
        self.signers = [key(f"signer-{i}") for i in range(signers)]
        for signer in self.signers:
            chain.fund(signer.address, 10**20)
        minter = self.signers[0]
        address = chain.sender.deploy(minter, "ReferenceERC20", minter.address, 10**30)
        self.token = chain.contract("ReferenceERC20", address)
        for signer in self.signers[1:]:
            chain.sender.transact(minter, self.token.functions.transfer(signer.address, 10**27))

    def transfer(self, to: str, amount: int) -> Any:
        return self.token.functions.transfer(to, amount)

    def balance(self, address: str) -> int:
        return int(self.token.functions.balanceOf(address).call())

    def nonce(self, signer: LocalAccount) -> int:
        return int(self.chain.w3.eth.get_transaction_count(signer.address))


def mining(chain: Any) -> str:
    return "manual" if chain.kind == "anvil" else "auto"


@pytest.fixture(params=BACKENDS)
def tokens(request: pytest.FixtureRequest) -> Iterator[Tokens]:
    with connect(request.param) as chain:
        yield Tokens(chain, signers=4)


def test_concurrent_submissions_never_collide_or_skip_nonces(tokens):
    """Eight threads submit at once, two per signer, each also for a signer the others use."""
    chain = tokens.chain
    start = {s.address: tokens.nonce(s) for s in tokens.signers}
    sink = key("sink").address
    results: list[TxResult] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    with Pipeline(chain, mining=mining(chain), batch_size=32) as pipe:
        def worker(thread: int) -> None:
            barrier.wait()
            for i in range(15):
                signer = tokens.signers[(thread + i % 2) % len(tokens.signers)]
                result = pipe.submit(signer, tokens.transfer(sink, thread * 1000 + i + 1), gas=TRANSFER_GAS)
                with lock:
                    results.append(result)

        threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        done = pipe.wait()

    assert len(done) == 120 and all(r.ok for r in done), [r.error for r in done if not r.ok]
    by_signer: dict[str, list[int]] = defaultdict(list)
    for result in results:
        assert result.nonce is not None
        by_signer[result.sender].append(result.nonce)
    for signer in tokens.signers:
        used = sorted(by_signer[signer.address])
        # No collision (each nonce once), no gap (a contiguous run from the node's nonce).
        assert used == list(range(start[signer.address], start[signer.address] + len(used)))
        assert tokens.nonce(signer) == start[signer.address] + len(used)
    assert tokens.balance(sink) == sum(t * 1000 + i + 1 for t in range(8) for i in range(15))


def test_reverted_transaction_mid_batch_is_reported_with_its_reason_and_the_rest_land(tokens):
    chain = tokens.chain
    poor = key("poor")
    chain.fund(poor.address, 10**19)
    payees = [key(f"payee-{i}").address for i in range(9)]
    with Pipeline(chain, mining=mining(chain)) as pipe:
        for i, payee in enumerate(payees):
            # The fifth is paid by an account that holds no tokens: it reverts when mined.
            signer = poor if i == 4 else tokens.signers[i % 2]
            pipe.submit(signer, tokens.transfer(payee, 10 + i), gas=TRANSFER_GAS, label=f"pay {i}")
        done = pipe.wait()

    assert [r.status for r in done] == ["mined"] * 4 + ["reverted"] + ["mined"] * 4
    failed = done[4]
    assert isinstance(failed.error, ContractRevert)
    assert failed.error.name == "ERC20InsufficientBalance"
    assert failed.error.values == {"sender": poor.address, "balance": 0, "needed": 14}
    assert failed.error.contract == "ReferenceERC20" and failed.error.function == "transfer"
    assert failed.label == "pay 4" and failed.receipt is not None and failed.block_number is not None
    assert [tokens.balance(p) for p in payees] == [10 + i if i != 4 else 0 for i in range(9)]
    # The reverted transaction used its nonce, so the poor account's next one is not stalled.
    assert tokens.nonce(poor) == 1


def test_a_revert_at_gas_estimation_spends_no_nonce(tokens):
    chain = tokens.chain
    signer = tokens.signers[1]
    before = tokens.nonce(signer)
    with Pipeline(chain, mining=mining(chain)) as pipe:
        refused = pipe.submit(signer, tokens.transfer(key("x").address, 10**40))
        landed = pipe.submit(signer, tokens.transfer(key("x").address, 7))
        done = pipe.wait()
    assert done == [refused, landed]
    assert refused.status == "reverted" and refused.nonce is None and refused.tx_hash is None
    assert isinstance(refused.error, ContractRevert) and refused.error.name == "ERC20InsufficientBalance"
    assert landed.ok and landed.nonce == before and tokens.nonce(signer) == before + 1


@pytest.mark.anvil
def test_node_restart_mid_batch_loses_nothing_acknowledged_and_resends_nothing_twice(tmp_path):
    state = tmp_path / "state.json"
    node = AnvilNode.start(state_file=state)
    chain = connect(node)
    try:
        tokens = Tokens(chain, signers=3)
        payees = [key(f"restart-payee-{i}").address for i in range(30)]
        start = {s.address: tokens.nonce(s) for s in tokens.signers}
        pipe = Pipeline(chain, mining="manual", batch_size=8)

        def pay(round_: range) -> list[TxResult]:
            return [pipe.submit(tokens.signers[i % 3], tokens.transfer(payees[i], 1000 + i), gas=TRANSFER_GAS)
                    for i in round_]

        collected = pay(range(10))
        assert all(r.ok for r in pipe.wait())
        mined_unseen = pay(range(10, 20))  # acknowledged and mined; receipts not yet collected
        pipe.flush()
        rpc(chain, "evm_mine")
        in_pool = pay(range(20, 30))  # acknowledged, still in the pool when the node stops
        pipe.flush()
        assert all(r.status == "sent" and r.sends == 1 for r in mined_unseen + in_pool)

        node.stop()  # SIGTERM: anvil writes its state (blocks, not its pool)
        restarted = AnvilNode.start(state_file=state, port=node.port)
        try:
            resent = len(pipe.resume())
            done = pipe.wait()
        finally:
            pipe.close()
            restarted.stop()
    finally:
        chain.close()

    # Only what the node lost was resent, once, as the same signed bytes (same hash).
    assert resent == 10 and pipe.resent == [r.tx_hash for r in sorted(in_pool, key=lambda r: (r.sender.lower(), r.nonce))]
    assert [r.sends for r in collected + mined_unseen] == [1] * 20
    assert [r.sends for r in in_pool] == [2] * 10
    assert all(r.ok for r in done) and Counter(r.status for r in done)["mined"] == 20

    # On chain after a second restart: every transfer executed exactly once, nonces contiguous.
    with connect("anvil", state_file=state) as again:
        token = again.contract("ReferenceERC20", tokens.token.address)
        assert [token.functions.balanceOf(p).call() for p in payees] == [1000 + i for i in range(30)]
        for signer in tokens.signers:
            assert again.w3.eth.get_transaction_count(signer.address) == start[signer.address] + 10


def kill_hard(pid: int) -> None:
    """kill -9, as a crash or the OOM killer does: anvil writes nothing, its unsaved blocks are gone."""
    import os
    import signal
    import time

    os.kill(pid, signal.SIGKILL)
    try:
        os.waitpid(pid, 0)  # started from this process: reap it
    except ChildProcessError:
        pass
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.01)


@pytest.mark.anvil
def test_node_killed_mid_batch_gets_every_journaled_transaction_back_once_in_nonce_order(tmp_path):
    from vscm.chain import anvil

    kept, journal = tmp_path / "node", tmp_path / "journal.jsonl"
    AnvilNode.start_detached(kept, state_interval=3600)
    chain = connect(AnvilNode.attach(kept))
    pipe: Pipeline | None = None
    try:
        tokens = Tokens(chain, signers=3)
        start = {s.address: tokens.nonce(s) for s in tokens.signers}
        anvil.stop(kept)  # a clean stop writes the state: the token survives what follows
        node = AnvilNode.start_detached(kept, state_interval=3600)  # nothing written again before the kill
        payees = [key(f"kill-payee-{i}").address for i in range(36)]
        pipe = Pipeline(chain, mining="manual", batch_size=8, journal=journal)

        def pay(round_: range) -> list[TxResult]:
            assert pipe is not None
            return [pipe.submit(tokens.signers[i % 3], tokens.transfer(payees[i], 1000 + i), gas=TRANSFER_GAS)
                    for i in round_]

        confirmed = pay(range(12))
        assert all(r.ok for r in pipe.wait())  # receipts collected: the node confirmed them
        mined_unseen = pay(range(12, 24))
        pipe.flush()
        rpc(chain, "evm_mine")
        in_pool = pay(range(24, 36))
        pipe.flush()
        head = chain.block_number()
        kill_hard(node.pid)

        again = AnvilNode.start_detached(kept, state_interval=3600)
        assert again.recovery is not None and again.recovery.lost and again.recovery.had_block == head
        replayed = pipe.resume()
        done = pipe.wait()
        everything = confirmed + mined_unseen + in_pool

        # every transaction the node lost, confirmed or not, resent once, per signer in nonce order
        assert [r.tx_hash for r in replayed] == [r.tx_hash for r in sorted(
            everything, key=lambda r: (r.sender.lower(), r.nonce))]
        assert pipe.resent == [r.tx_hash for r in replayed] and all(r.ok for r in replayed)
        assert done == mined_unseen + in_pool and all(r.ok for r in done)  # the round's, replayed ones included
        assert all(r.sends == 2 for r in mined_unseen + in_pool)  # the confirmed ones come back from the journal
        assert [token_balance for token_balance in map(tokens.balance, payees)] == [1000 + i for i in range(36)]
        for signer in tokens.signers:
            assert tokens.nonce(signer) == start[signer.address] + 12
        # a new process resuming from the same journal finds nothing missing
        assert Pipeline(chain, journal=journal).resume() == []
    finally:
        if pipe is not None:
            pipe.close()
        anvil.stop(kept)
        chain.close()


def rpc(chain: Any, method: str, params: list[Any] | None = None) -> Any:
    response = chain.w3.provider.make_request(method, params or [])
    assert "error" not in response, response
    return response.get("result")


def test_a_rejected_transaction_is_reported_and_its_signers_later_ones_still_land(tokens):
    chain = tokens.chain
    signer = tokens.signers[2]
    before = tokens.nonce(signer)
    payee = key("after-rejection").address
    too_much_gas = 10**9  # above the block gas limit: the node refuses it outright
    with Pipeline(chain, mining=mining(chain)) as pipe:
        first = pipe.submit(signer, tokens.transfer(payee, 1), gas=TRANSFER_GAS)
        refused = pipe.submit(signer, tokens.transfer(payee, 10), gas=too_much_gas)
        later = [pipe.submit(signer, tokens.transfer(payee, 100 * (i + 1)), gas=TRANSFER_GAS) for i in range(2)]
        done = pipe.wait()

    assert refused.status == "rejected" and refused.receipt is None
    assert str(refused.nonce) in str(refused.error) and signer.address in str(refused.error)
    filler = [r for r in done if r.label == "filler"]
    assert len(filler) == 1 and filler[0].ok and filler[0].nonce == refused.nonce
    assert first.ok and all(r.ok for r in later)
    assert tokens.balance(payee) == 1 + 100 + 200
    assert tokens.nonce(signer) == before + 4


@pytest.mark.anvil
def test_full_batches_reach_the_node_while_the_round_is_still_being_signed():
    """Signing overlaps sending: each full batch goes to the node as soon as it is signed, before ``wait``;
    the partial batch at the end waits for ``wait``, which collects every receipt."""
    import time

    with connect("anvil") as chain:
        tokens = Tokens(chain, signers=2)
        payees = [key(f"overlap-payee-{i}").address for i in range(20)]
        with Pipeline(chain, mining="manual", batch_size=8) as pipe:
            submitted = [pipe.submit(tokens.signers[i % 2], tokens.transfer(payees[i], 1 + i), gas=TRANSFER_GAS)
                         for i in range(20)]
            deadline = time.monotonic() + 60  # the sender thread hands both full batches over meanwhile
            while [r.status for r in submitted].count("sent") < 16 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert int(rpc(chain, "txpool_status")["pending"], 16) == 16
            assert [r.status for r in submitted] == ["sent"] * 16 + ["signed"] * 4
            done = pipe.wait()
        assert done == submitted and all(r.ok and r.sends == 1 for r in done)
        assert [tokens.balance(p) for p in payees] == [1 + i for i in range(20)]


@pytest.mark.anvil
def test_a_transaction_the_node_drops_while_packing_a_block_is_handed_over_again_and_lands():
    """anvil packs a block by gas limit: when a signer's transaction no longer fits what is left of the
    block, it tries the signer's next one (a smaller limit that fits), the EVM refuses that one (nonce
    too high) and anvil drops it from its pool with every later one of that signer, although it had
    acknowledged them. The full bench met this in the orders' settle round (a core's approve, 70,000
    gas, after its settle, 120,000, no longer fitted) and reported them as "not mined within 120 s", and
    every later transaction of that signer after them. Here a block of 100,000 gas holds X (21,000),
    has 79,000 left for A (80,000) and so drops B and C (21,000 each): the pipeline hands B and C over
    again once A is mined."""
    with connect(AnvilNode.start(extra_args=["--gas-limit", "100000"])) as chain:
        other, signer = key("packing-other"), key("packing-signer")
        payee = key("packing-payee").address
        for account in (other, signer):
            chain.fund(account.address, 10**20)
        with Pipeline(chain, mining="manual", receipt_timeout=10) as pipe:
            x = pipe.submit(other, to=payee, value=1, gas=21_000, label="X")
            a = pipe.submit(signer, to=payee, value=10, gas=80_000, label="A")
            b = pipe.submit(signer, to=payee, value=100, gas=21_000, label="B")
            c = pipe.submit(signer, to=payee, value=1_000, gas=21_000, label="C")
            done = pipe.wait()
        assert done == [x, a, b, c] and all(r.ok for r in done), [(r.label, r.status, r.error) for r in done]
        # the node did drop B and C (the condition this test is about), and got them back once each
        assert pipe.dropped == [b.tx_hash, c.tx_hash] and (b.sends, c.sends) == (2, 2) and a.sends == 1
        assert x.block_number < a.block_number <= b.block_number <= c.block_number
        assert chain.w3.eth.get_transaction_count(signer.address) == 3  # A, B and C, each mined once
        assert chain.w3.eth.get_balance(payee) == 1 + 10 + 100 + 1_000
