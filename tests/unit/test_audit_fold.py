"""The replay's pure parts, without a chain: decoding from the ABIs, folding, and the findings for
logs it cannot fold and for broken block links."""

from __future__ import annotations

from dataclasses import dataclass

from eth_abi import encode
from eth_utils import keccak

from vscm.audit.decode import RawLog, decoder_for
from vscm.audit.fold import FoldContext, fold_event
from vscm.audit.replay import replay
from vscm.audit.source import Header, Source
from vscm.audit.state import State
from vscm.client.deployment import Deployment

REGISTRY = "0x1000000000000000000000000000000000000001"
MEMBER = "0x2000000000000000000000000000000000000002"
DEPLOYMENT = Deployment(network="fake", chain_id=1, block=1, operator=MEMBER, registry=REGISTRY,
                        orders="0x3000000000000000000000000000000000000003", cash={},
                        assets="0x4000000000000000000000000000000000000004",
                        funds="0x5000000000000000000000000000000000000005",
                        loans="0x6000000000000000000000000000000000000006")


def topic(value: bytes) -> str:
    return "0x" + value.rjust(32, b"\0").hex()


def member_applied(block: int, index: int = 0) -> RawLog:
    signature = "MemberApplied(address,uint16,uint8,bytes32,uint64,string)"
    data = encode(["uint16", "uint8", "bytes32", "uint64", "string"], [3, 0, b"\x11" * 32, 10**10, "Baoji"])
    return RawLog(block, f"0x{block:064x}", "0x" + "aa" * 32, 0, index, REGISTRY,
                  ("0x" + keccak(text=signature).hex(), topic(bytes.fromhex(MEMBER[2:]))), "0x" + data.hex())


@dataclass
class FakeSource(Source):
    logs_: list[RawLog]
    broken_at: int | None = None
    name: str = "fake"
    head_block: int = 5

    def head(self) -> int:
        return self.head_block

    def headers(self, start: int, stop: int) -> list[Header]:
        out = []
        for n in range(start, stop + 1):
            parent = "0x" + "ee" * 32 if n == self.broken_at else f"0x{n - 1:064x}"
            out.append(Header(n, f"0x{n:064x}", parent, 1000 + n, "0x" + "00" * 32))
        return out

    def logs(self, start: int, stop: int, addresses: list[str]) -> list[RawLog]:
        return [lg for lg in self.logs_ if start <= lg.block_number <= stop and lg.address in addresses]

    def receipt_logs(self, tx_hashes: list[str]) -> dict[str, list[RawLog]]:
        return {tx: [lg for lg in self.logs_ if lg.tx_hash == tx] for tx in tx_hashes}


def test_a_platform_event_decodes_from_the_abi_and_folds_into_a_member() -> None:
    event = decoder_for("MemberRegistry").decode(member_applied(2))
    assert event is not None
    assert (event.name, event.args["member"], event.args["roles"], event.args["name"]) == (
        "MemberApplied", MEMBER, 3, "Baoji")
    state = State()
    fold_event(state, event, FoldContext({2: 1002}))
    assert state.table("members")[MEMBER]["status"] == 1 and state.findings == []


def test_a_log_of_a_platform_contract_that_no_abi_event_matches_is_a_finding() -> None:
    odd = RawLog(3, f"0x{3:064x}", "0x" + "bb" * 32, 0, 0, REGISTRY, ("0x" + "12" * 32,), "0x")
    result = replay(FakeSource([member_applied(2), odd]), DEPLOYMENT, receipts=True)
    assert [(f.check, f.field, f.block) for f in result.state.findings] == [("unknown-event", "0x" + "12" * 32, 3)]
    assert MEMBER in result.state.table("members")
    # this source cannot give receipts roots: the replay says so instead of claiming the check
    # nor whole headers: their hashes are not recomputed, and the replay says that too
    assert result.receipt_roots == 0 and result.notes == {
        "fake: receipts roots not recomputed; logs compared with the receipts",
        ("headers without their whole fields (stored by an older vscm): block hashes not recomputed, "
         "blocks without logs not checked against their logs bloom")}


def test_an_event_without_a_handler_is_a_finding_not_skipped() -> None:
    event = decoder_for("MemberRegistry").decode(member_applied(2))
    assert event is not None
    unhandled = type(event)("MemberRegistry", "SomethingNew", event.args, event.log)
    state = State()
    fold_event(state, unhandled, FoldContext({2: 1002}))
    assert [(f.check, f.field) for f in state.findings] == [("unknown-event", "SomethingNew")]


def test_a_broken_parent_hash_and_a_log_of_another_block_are_findings() -> None:
    stray = member_applied(4)
    stray = RawLog(4, "0x" + "cd" * 32, stray.tx_hash, 0, 0, stray.address, stray.topics, stray.data)
    result = replay(FakeSource([stray], broken_at=3), DEPLOYMENT, receipts=False, window=2)
    assert [(f.check, f.entity, f.field) for f in result.findings] == [
        ("blocks", "block 3", "parentHash"), ("log", f"log {stray.tx_hash}#0", "blockHash")]


def test_the_word_slicing_fast_path_decodes_every_platform_event_as_eth_abi_does() -> None:
    from eth_abi import decode as abi_decode
    from eth_utils import to_checksum_address

    def sample(kind: str, i: int) -> object:
        if kind == "address":
            return to_checksum_address(keccak(text=f"a{i}")[:20])
        if kind == "bool":
            return i % 2 == 0
        if kind == "string":
            return f"name {i}"
        if kind.startswith("uint"):
            return (2 ** int(kind[4:]) - 1) // (i + 2)
        if kind.startswith("int"):
            return -(2 ** (int(kind[3:]) - 2)) // (i + 2)
        return keccak(text=f"b{i}")[: int(kind[5:])]

    checked = 0
    for contract in ("MemberRegistry", "PlatformCash", "OrderBook", "AssetRegistry", "FundTracker", "LoanBook"):
        decoder = decoder_for(contract)
        for topic0, spec in decoder.specs.items():
            values = {name: sample(kind, i) for i, (name, kind) in enumerate(spec.indexed + spec.data)}
            topics = tuple([topic0] + ["0x" + encode([k], [values[n]]).hex() for n, k in spec.indexed])
            data = "0x" + encode([k for _, k in spec.data], [values[n] for n, _ in spec.data]).hex()
            event = decoder.decode(RawLog(1, "0x" + "00" * 32, "0x" + "00" * 32, 0, 0, REGISTRY, topics, data))
            assert event is not None, spec.signature
            for name, kind in spec.indexed + spec.data:
                expected = abi_decode([kind], encode([kind], [values[name]]))[0]
                if isinstance(expected, bytes):
                    expected = "0x" + expected.hex()
                elif kind == "address":
                    expected = to_checksum_address(expected)
                assert event.args[name] == expected, (spec.signature, name)
            checked += 1
    assert checked > 60


def test_windows_shrink_on_a_dense_history_so_each_holds_about_the_target(monkeypatch) -> None:
    import sys

    replay_module = sys.modules["vscm.audit.replay"]
    monkeypatch.setattr(replay_module, "TARGET_LOGS", 4)
    monkeypatch.setattr(replay_module, "FIRST_WINDOW", 8)
    dense = [RawLog(b, f"0x{b:064x}", f"0x{b:04x}{i:060x}", 0, i, REGISTRY, member_applied(b).topics,
                    member_applied(b).data) for b in range(2, 41) for i in range(3)]  # 3 logs a block
    progress: list[int] = []
    result = replay(FakeSource(dense, head_block=40), DEPLOYMENT, receipts=False, window=64,
                    progress=lambda done, total: progress.append(done))
    # blocks 1-8 hold 21 logs, 2.6 a block: the next windows are sized to the target, 1 block (3 logs) each
    assert progress[:6] == [8, 9, 10, 11, 12, 13]
    assert progress[-1] == 40 and result.blocks == 40 and result.events == 117
