"""The auditor's replay: after the full demo scenario on anvil it finds zero differences (on the
embedded chain `python -m vscm.demo` replays the same story, checked by test_demo.py); it finds a backdoor that changes state without an event, an altered log in a stored
history, and a broken block-hash link."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from demo_chain import demo_on_anvil
from eth_utils import keccak
from harness import World

from vscm.audit.audit import AuditOutcome, audit_chain, audit_stored
from vscm.audit.decode import RawLog
from vscm.audit.oracle import NO_EVENT
from vscm.audit.replay import BLOOM_ONLY_NOTE, ReplayResult, contracts_of, replay
from vscm.audit.source import RpcSource
from vscm.client.platform import Platform


@pytest.fixture(scope="module")
def demo_embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    # The demo's story on anvil (16 s against 75 s on the embedded chain), run once for the session's files
    # (tests/demo_chain.py); the embedded chain's replay of the same story is checked by
    # tests/integration/test_demo.py, whose `python -m vscm.demo` ends with it.
    with demo_on_anvil(tmp_path_factory) as platform:
        yield platform


@pytest.fixture(scope="module")
def demo_history(demo_embedded: Platform, tmp_path_factory: pytest.TempPathFactory) -> tuple[AuditOutcome, Path]:
    path = tmp_path_factory.mktemp("audit") / "history.jsonl"
    return audit_chain(demo_embedded.chain, demo_embedded.deployment, save=path), path


def stored_logs(path: Path) -> list[dict[str, Any]]:
    return [r["log"] for r in map(json.loads, path.read_text().splitlines()) if "log" in r]


def findings_of(outcome: AuditOutcome) -> list[str]:
    return [str(f) for f in outcome.findings]


def test_replay_of_the_demo_finds_no_difference(
        demo_embedded: Platform, demo_history: tuple[AuditOutcome, Path]) -> None:
    outcome, _ = demo_history
    assert findings_of(outcome) == []
    state = outcome.result.state
    # The demo's whole story is in the rebuilt state: every member and loan (all four modes), the
    # money trail, the alerts, the recall and the evicted chain.
    assert len(state.table("members")) == len(demo_embedded.members.members())
    assert len(state.table("loans")) == demo_embedded.loans.count() >= 5
    assert state.table("alerts") and state.table("fraud_cases") and state.table("evictions")
    assert any(ln["status"] == 6 for ln in state.table("loans").values())  # recalled
    assert {ln["mode"] for ln in state.table("loans").values()} == {0, 1, 2, 3}
    assert outcome.report["verdict"] == "clean"
    # every block with platform logs: its receipts hash to the header's receiptsRoot
    assert outcome.result.receipt_roots == len({lg["block_number"] for lg in stored_logs(demo_history[1])}) > 50
    # The only notes: the oracle's state that no event carries (receipts roots were all recomputed).
    assert outcome.result.notes == set(NO_EVENT)
    # The oracle's batches are folded in, with the margin call its watched pledge raised.
    assert state.table("oracle_batches") and state.table("oracle_margin_calls")
    assert any(ln["hops"] for ln in outcome.report["loans"])
    assert outcome.result.events == sum(v for k, v in state.counters.items() if k.startswith("events."))


def test_a_replay_in_windows_of_50_blocks_finds_no_difference(demo_embedded: Platform) -> None:
    outcome = audit_chain(demo_embedded.chain, demo_embedded.deployment, window=50)
    assert findings_of(outcome) == []
    assert len(outcome.result.state.table("loans")) == demo_embedded.loans.count() >= 5
    assert outcome.result.receipt_roots > 50 and outcome.result.notes == set(NO_EVENT)


def test_a_period_audit_reports_only_the_period_and_finds_no_difference(
        demo_embedded: Platform, demo_history: tuple[AuditOutcome, Path], tmp_path: Path) -> None:
    whole, path = demo_history
    first, head = demo_embedded.deployment.block, demo_embedded.chain.block_number()
    middle = (first + head) // 2
    outcome = audit_chain(demo_embedded.chain, demo_embedded.deployment, from_block=middle,
                          save=tmp_path / "period.jsonl")
    assert findings_of(outcome) == []
    r = outcome.report
    assert (r["from_block"], r["to_block"], r["state_from_block"], r["verdict"]) == (middle, head, first, "clean")
    in_period = [lg for lg in stored_logs(path) if lg["block_number"] >= middle]
    assert 0 < r["events"] == len(in_period) < whole.report["events"]
    assert r["blocks"] == head - middle + 1
    assert sum(r["events_by_kind"].values()) == r["events"]
    # the whole state is rebuilt and compared: the same state as the full replay's
    assert outcome.result.state.fingerprint() == whole.result.state.fingerprint()
    # money trails: only what moved in the period, of the loans the period touched
    hops = [h for ln in r["loans"] for h in ln["hops"]] + [p for ln in r["loans"] for p in ln["repayments"]]
    assert hops and all(h["block"] >= middle for h in hops)
    assert 0 < len(r["loans"]) <= len(whole.report["loans"])
    # the stored history of the period audit repeats it, with the chain and without
    again = audit_stored(tmp_path / "period.jsonl", demo_embedded.deployment, demo_embedded.chain)
    assert findings_of(again) == [] and again.report["from_block"] == middle and again.report["events"] == r["events"]


def test_an_alteration_inside_an_audited_period_is_found(demo_embedded: Platform, tmp_path: Path) -> None:
    first, head = demo_embedded.deployment.block, demo_embedded.chain.block_number()
    middle = (first + head) // 2
    path = tmp_path / "period.jsonl"
    audit_chain(demo_embedded.chain, demo_embedded.deployment, from_block=middle, save=path)
    cash = demo_embedded.deployment.cash["CNY"]
    transfer = "0x" + keccak(text="Transfer(address,address,uint256)").hex()
    altered: dict[str, Any] = {}

    def inflate_a_transfer_in_the_period(record: dict[str, Any]) -> bool:
        log = record.get("log")
        if (not log or log["block_number"] < middle or log["address"] != cash or log["topics"][0] != transfer
                or log["topics"][1] == "0x" + "00" * 32):
            return False
        log["data"] = "0x" + (int(log["data"], 16) + 1).to_bytes(32, "big").hex()
        altered.update(log)
        return True

    outcome = audit_stored(rewrite(path, tmp_path / "tampered.jsonl", inflate_a_transfer_in_the_period),
                           demo_embedded.deployment, demo_embedded.chain)
    assert outcome.report["from_block"] == middle
    assert [(f.check, f.entity, f.field) for f in outcome.findings if f.check == "receipt"] == [
        ("receipt", f"tx {altered['tx_hash']} log {altered['log_index']}", "data")]
    assert any(f.check == "state" and f.field == "balance" for f in outcome.findings)


def test_a_stored_history_replays_clean_without_the_chain(demo_embedded: Platform,
                                                          demo_history: tuple[AuditOutcome, Path]) -> None:
    outcome, path = demo_history
    again = audit_stored(path, demo_embedded.deployment)
    assert findings_of(again) == []
    assert again.result.state.fingerprint() == outcome.result.state.fingerprint()


def rewrite(path: Path, target: Path, change: Any) -> Path:
    """Copy a stored history, letting ``change(record)`` alter the first record it returns True for."""
    done = False
    with path.open() as src, target.open("w") as out:
        for line in src:
            record = json.loads(line)
            if not done and change(record):
                done = True
            out.write(json.dumps(record) + "\n")
    assert done, "nothing to alter"
    return target


def test_an_altered_log_in_a_stored_history_is_found(demo_embedded: Platform,
                                                      demo_history: tuple[AuditOutcome, Path],
                                                      tmp_path: Path) -> None:
    _, path = demo_history
    cash = demo_embedded.deployment.cash["CNY"]
    transfer = "0x" + keccak(text="Transfer(address,address,uint256)").hex()
    altered: dict[str, Any] = {}

    def inflate_a_cash_transfer(record: dict[str, Any]) -> bool:
        log = record.get("log")
        if not log or log["address"] != cash or log["topics"][0] != transfer or log["topics"][1] == "0x" + "00" * 32:
            return False
        log["data"] = "0x" + (int(log["data"], 16) + 1).to_bytes(32, "big").hex()
        altered.update(log)
        return True

    tampered = rewrite(path, tmp_path / "tampered.jsonl", inflate_a_cash_transfer)
    outcome = audit_stored(tampered, demo_embedded.deployment, demo_embedded.chain)
    receipt = [f for f in outcome.findings if f.check == "receipt"]
    assert len(receipt) == 1
    assert receipt[0].entity == f"tx {altered['tx_hash']} log {altered['log_index']}"
    assert receipt[0].field == "data"
    # The state folded from the altered log no longer matches the contracts either.
    assert any(f.check == "state" and f.field == "balance" for f in outcome.findings)


def test_a_broken_block_hash_link_in_a_stored_history_is_found(demo_embedded: Platform,
                                                              demo_history: tuple[AuditOutcome, Path],
                                                              tmp_path: Path) -> None:
    _, path = demo_history
    broken: dict[str, Any] = {}

    def break_link(record: dict[str, Any]) -> bool:
        header = record.get("header")
        if not header or header["number"] < demo_embedded.deployment.block + 5:
            return False
        header["parent_hash"] = "0x" + "ab" * 32
        broken.update(header)
        return True

    tampered = rewrite(path, tmp_path / "broken.jsonl", break_link)
    outcome = audit_stored(tampered, demo_embedded.deployment)
    # the altered field no longer hashes to the block's hash, and the link to the parent is broken
    assert [(f.check, f.entity, f.field) for f in outcome.findings] == [
        ("blocks", f"block {broken['number']}", "hash"), ("blocks", f"block {broken['number']}", "parentHash")]
    assert outcome.findings[1].found == "0x" + "ab" * 32


@pytest.mark.parametrize("field", ["timestamp", "receipts_root"])
def test_a_forged_header_field_in_a_stored_history_is_found_offline(demo_embedded: Platform,
                                                                   demo_history: tuple[AuditOutcome, Path],
                                                                   tmp_path: Path, field: str) -> None:
    """A stored history keeps whole headers: without the chain, each block hash is recomputed."""
    _, path = demo_history
    target = sorted({lg["block_number"] for lg in stored_logs(path)})[3]
    forged: dict[str, Any] = {}

    def forge(record: dict[str, Any]) -> bool:
        header = record.get("header")
        if not header or header["number"] != target:
            return False
        header[field] = header[field] + 1 if field == "timestamp" else "0x" + "42" * 32
        forged.update(header)
        return True

    outcome = audit_stored(rewrite(path, tmp_path / "forged.jsonl", forge), demo_embedded.deployment)
    assert [(f.check, f.entity, f.field, f.expected) for f in outcome.findings] == [
        ("blocks", f"block {target}", "hash", forged["hash"])]


def test_every_log_of_two_blocks_removed_from_a_stored_history_is_found(fresh: World, tmp_path: Path) -> None:
    """A cash round trip nets to zero, so the rebuilt state still matches the contracts: the blocks'
    receipts (with the chain) and their logs blooms (offline) show the logs that are missing."""
    w, p = fresh, fresh.p
    cash = w.platform.cash("CNY")
    there = cash.as_(p.core).transfer(p.seller.address, 123_00)
    back = cash.as_(p.seller).transfer(p.core.address, 123_00)
    gone = {int(there["blockNumber"]), int(back["blockNumber"])}
    path = tmp_path / "history.jsonl"
    assert findings_of(audit_chain(w.chain, w.platform.deployment, save=path)) == []
    lines = [line for line in path.read_text().splitlines()
             if json.loads(line).get("log", {}).get("block_number") not in gone]
    removed = path.read_text().count("\n") - len(lines)
    assert removed >= 2
    pruned = tmp_path / "pruned.jsonl"
    pruned.write_text("\n".join(lines) + "\n")

    online = audit_stored(pruned, w.platform.deployment, w.chain)
    assert {(f.check, f.entity, f.expected, f.found) for f in online.findings if f.check == "receipt"} == {
        ("receipt", f"tx 0x{bytes(r['transactionHash']).hex()}", "present", "absent") for r in (there, back)}
    assert not [f for f in online.findings if f.check == "state"]  # the state alone would not show it

    offline = audit_stored(pruned, w.platform.deployment)
    assert sorted((f.check, f.entity, f.field) for f in offline.findings) == [
        ("log", f"block {n}", "logs") for n in sorted(gone)]


def test_a_backdoor_changing_a_balance_without_an_event_is_found(fresh: World) -> None:
    w, chain, p = fresh, fresh.chain, fresh.p
    registry = w.platform.deployment.registry
    backdoored = chain.sender.deploy(p.operator, "BackdooredCash", registry, "EUR", p.operator.address)
    deployment = replace(w.platform.deployment, cash={**w.platform.deployment.cash, "EUR": backdoored})
    platform = Platform(chain, deployment)
    platform.orders.as_(p.operator).add_currency(backdoored)
    platform.cash("EUR").as_(p.operator).set_mint_cap(p.bank.address, 1_000_00)  # MintCapSet folds honestly
    platform.cash("EUR").as_(p.bank).mint(p.supplier.address, 1_000_00, keccak(text="deposit:eur"))
    assert findings_of(audit_chain(chain, deployment)) == []  # honest so far

    slot = keccak(bytes(12) + bytes.fromhex(p.supplier.address[2:]) + bytes(32))  # ERC20 _balances[supplier]
    assert int.from_bytes(chain.w3.eth.get_storage_at(backdoored, slot), "big") == 1_000_00
    contract = chain.contract("BackdooredCash", backdoored)
    chain.sender.transact(p.outsider, contract.functions.poke(slot, (5_000_00).to_bytes(32, "big")))

    outcome = audit_chain(chain, deployment)
    assert [(f.check, f.entity, f.field, f.expected, f.found) for f in outcome.findings] == [
        ("state", f"cash {backdoored} of {p.supplier.address}", "balance", 1_000_00, 5_000_00)]


def test_a_header_whose_receipts_root_the_receipts_do_not_hash_to_is_found(demo_embedded: Platform,
                                                                           demo_history: tuple[AuditOutcome, Path],
                                                                           tmp_path: Path) -> None:
    _, path = demo_history
    with_logs = sorted({lg["block_number"] for lg in stored_logs(path)})
    target = with_logs[len(with_logs) // 2]

    def forge_root(record: dict[str, Any]) -> bool:
        header = record.get("header")
        if not header or header["number"] != target:
            return False
        header["receipts_root"] = "0x" + "42" * 32
        return True

    outcome = audit_stored(rewrite(path, tmp_path / "root.jsonl", forge_root), demo_embedded.deployment,
                           demo_embedded.chain)
    found = {(f.check, f.entity, f.field, f.found) for f in outcome.findings}
    # expected: the (forged) header's root; found: the root the chain's receipts hash to
    assert any(f.check == "receipt" and f.entity == f"block {target}" and f.field == "receiptsRoot"
               and f.expected == "0x" + "42" * 32 for f in outcome.findings)
    assert ("blocks", f"stored block {target}", "receipts_root", "0x" + "42" * 32) in found


def test_cash_sent_straight_to_the_fund_tracker_is_nobodys_and_breaks_no_audit(fresh: World) -> None:
    # Bug fixed (review, low): anyone could send cash to the FundTracker directly, which broke the
    # audit's `balance == totalUnspent`; only deposited loan money is counted, a stray transfer is not.
    w, chain, p = fresh, fresh.chain, fresh.p
    platform = w.platform
    platform.cash("CNY").as_(p.bank).mint(p.supplier.address, 1_000_00, keccak(text="deposit:stray"))
    platform.cash("CNY").as_(p.supplier).transfer(platform.deployment.funds, 1_00)

    assert platform.funds.total_unspent("CNY") == 0
    assert findings_of(audit_chain(chain, platform.deployment)) == []


def test_every_view_read_by_raw_eth_call_equals_web3s_call(demo_embedded: Platform,
                                                            demo_history: tuple[AuditOutcome, Path],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The verifier reads views by raw ``eth_call`` on an HTTP node: each value, decoded and normalised,
    is the one web3's ``call`` returns (structs, addresses, arrays, bytes), for every view the demo's
    verification reads."""
    import importlib

    verify_module = importlib.import_module("vscm.audit.verify")  # the package exports a function `verify`

    raw = verify_module.Views._raw_call
    seen: list[str] = []

    def both(self: Any, to: str, bound: Any, outputs: list[dict[str, Any]]) -> Any:
        value = raw(self, to, bound, outputs)
        assert value is not verify_module._SLOW, bound.fn_name
        assert value == bound.call(block_identifier=self.block), bound.fn_name
        seen.append(bound.fn_name)
        return value

    monkeypatch.setattr(verify_module.Views, "_raw_call", both)
    outcome, _ = demo_history
    assert verify_module.verify(outcome.result.state, demo_embedded.chain.w3, demo_embedded.deployment,
                                outcome.result.to_block) == []
    assert {"getMember", "getLoan", "hasRole", "balanceOf"} <= set(seen)


class LyingNode(RpcSource):
    """Answers as the node does, except for one log (``target``: transaction hash and log index), which
    ``change`` returns altered or drops (None), in the answers of ``methods`` (a consistent liar by default:
    its logs and its receipts agree)."""

    def __init__(self, url: str, target: tuple[str, int], change: Callable[[dict[str, Any]], dict[str, Any] | None],
                 methods: tuple[str, ...] = ("eth_getLogs", "eth_getBlockReceipts")) -> None:
        super().__init__(url)
        self.target, self.change, self.methods = target, change, methods

    def _batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        answers = super()._batch(calls)
        for (method, _), answer in zip(calls, answers, strict=True):
            if method == "eth_getLogs" and method in self.methods:
                answer[:] = self._edit(answer)
            elif method == "eth_getBlockReceipts" and method in self.methods:
                for receipt in answer or []:
                    receipt["logs"] = self._edit(receipt["logs"])
        return answers

    def _edit(self, logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for lg in logs:
            if (lg["transactionHash"].lower(), int(lg["logIndex"], 16)) == self.target:
                changed = self.change(dict(lg))
                if changed is None:
                    continue
                lg = changed
            out.append(lg)
        return out


def every_log(platform: Platform) -> list[RawLog]:
    return RpcSource(platform.chain.node.url).all_logs(platform.deployment.block, platform.chain.block_number())


def check_findings(result: ReplayResult) -> set[tuple[str, str, str]]:
    return {(f.check, f.entity, f.field) for f in result.findings if f.check in ("log", "receipt")}


def test_the_bloom_only_check_of_an_honest_node_finds_no_difference_and_says_what_it_skips(
        demo_embedded: Platform, demo_history: tuple[AuditOutcome, Path]) -> None:
    whole = demo_history[0]
    outcome = audit_chain(demo_embedded.chain, demo_embedded.deployment, whole.result.to_block, check="bloom")
    assert findings_of(outcome) == [] and outcome.report["verdict"] == "clean"
    assert outcome.result.events == whole.result.events
    assert outcome.result.state.fingerprint() == demo_history[0].result.state.fingerprint()
    assert outcome.result.receipt_roots == 0 and outcome.result.notes == {*NO_EVENT, BLOOM_ONLY_NOTE}


def test_a_log_a_node_hides_alone_in_its_block_is_found_by_either_check(demo_embedded: Platform) -> None:
    """The node drops the only log of a block from its logs and its receipts: the receipts no longer hash
    to the header's root (receipts check), and the header's bloom has bits no log sets (bloom check)."""
    logs = every_log(demo_embedded)
    per_block = Counter(lg.block_number for lg in logs)
    alone = next(lg for lg in logs if per_block[lg.block_number] == 1
                 and lg.address in contracts_of(demo_embedded.deployment))
    node = LyingNode(demo_embedded.chain.node.url, (alone.tx_hash, alone.log_index), lambda lg: None)
    n = alone.block_number
    strong = replay(node, demo_embedded.deployment, receipts=True)
    assert ("receipt", f"block {n}", "receiptsRoot") in check_findings(strong)
    weak = replay(node, demo_embedded.deployment, receipts=False, blooms=True)
    assert ("log", f"block {n}", "logsBloom") in check_findings(weak)


def test_altered_log_data_is_found_by_the_receipts_check_and_not_by_the_bloom_check(demo_embedded: Platform) -> None:
    """A bloom holds addresses and topics, never data: an amount a node changes consistently in its logs
    and receipts shows only in the receipts root (the state comparison may show it later, or not)."""
    cash = demo_embedded.deployment.cash["CNY"]
    transfer = "0x" + keccak(text="Transfer(address,address,uint256)").hex()
    target = next(lg for lg in every_log(demo_embedded) if lg.address == cash and lg.topics[0] == transfer)

    def inflate(lg: dict[str, Any]) -> dict[str, Any]:
        return {**lg, "data": "0x" + (int(lg["data"], 16) + 1).to_bytes(32, "big").hex()}

    node = LyingNode(demo_embedded.chain.node.url, (target.tx_hash, target.log_index), inflate)
    strong = replay(node, demo_embedded.deployment, receipts=True)
    assert check_findings(strong) == {("receipt", f"block {target.block_number}", "receiptsRoot")}
    weak = replay(node, demo_embedded.deployment, receipts=False, blooms=True)
    assert check_findings(weak) == set() and BLOOM_ONLY_NOTE in weak.notes


def test_the_receipts_check_folds_the_logs_of_the_receipts_not_those_of_eth_get_logs(
        demo_embedded: Platform, demo_history: tuple[AuditOutcome, Path]) -> None:
    """A node whose eth_getLogs drops a log cannot hide it from the receipts check: the logs folded are
    those of the receipts whose root was recomputed."""
    target = next(lg for lg in every_log(demo_embedded) if lg.address in contracts_of(demo_embedded.deployment))
    node = LyingNode(demo_embedded.chain.node.url, (target.tx_hash, target.log_index), lambda lg: None,
                     methods=("eth_getLogs",))
    result = replay(node, demo_embedded.deployment, demo_history[0].result.to_block, receipts=True)
    assert result.findings == [] and result.state.findings == []
    assert result.state.fingerprint() == demo_history[0].result.state.fingerprint()
