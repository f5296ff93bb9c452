"""Replay speed on a long history: `python -m vscm.audit.bench [--events N] [--out FILE]`.

On an anvil node, a platform history of at least ``N`` events is generated (``generate_history``),
then, in the same run, measured: the raw ``eth_getLogs`` fetch rate over the same block windows the
replay uses, the replay rate (fetch + decode + fold + block hash chain), the end-to-end audit rate
(replay + receipts roots + every record compared with the contracts + money, with its CPU time and the node's; then
with the bloom-only check), and the peak Python memory
of the replay (tracemalloc) over the first quarter and over the whole history — equal peaks show
that memory stays bounded (windows are streamed; only the state is kept).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from eth_account import Account
from eth_utils import keccak

from vscm.audit.audit import audit_chain
from vscm.audit.replay import TARGET_LOGS, contracts_of, replay
from vscm.audit.source import RpcSource
from vscm.chain.backends import connect
from vscm.chain.deploy import deploy_platform
from vscm.chain.pipeline import Pipeline
from vscm.client.platform import Platform
from vscm.client.records import Role
from vscm.client.workflows import onboard_sme
from vscm.errors import ChainError

__all__ = ["BenchRow", "generate_history", "measure_replay", "render_markdown", "run", "section"]

#: Events each generated transaction emits (PlatformCash.mint: Transfer + Deposited).
EVENTS_PER_MINT = 2
#: Deposits sent and confirmed per pipeline round.
ROUND = 2_000


@dataclass(frozen=True)
class BenchRow:
    what: str
    events: int
    seconds: float
    events_per_second: float
    note: str = ""


def generate_history(chain: Any, events: int, *, seed: str = "vscm-audit-bench") -> Platform:
    """Deploy the platform on ``chain`` (anvil) and give it a history of at least ``events`` events.

    The bulk is cash deposits (each a PlatformCash.mint signed by the bank: Transfer + Deposited),
    sent through the batched pipeline (``vscm.chain.pipeline``) with manual mining, in rounds of
    ``ROUND`` transactions; every one must land.
    """
    keys = {name: Account.from_key(keccak(text=f"{seed}:{name}")) for name in ("operator", "bank", "a", "b", "c")}
    for account in keys.values():
        chain.fund(account.address, 10**21)
    platform = deploy_platform(chain, keys["operator"], manifest=False, network="audit-bench")
    onboard_sme(platform, keys["operator"], keys["bank"], [Role.FINANCIER], "Bench Bank")
    for name in ("a", "b", "c"):
        onboard_sme(platform, keys["operator"], keys[name], [Role.SUPPLIER], f"Bench SME {name}")
    bank, cash = keys["bank"], platform.cash("CNY").contract
    platform.cash("CNY").as_(keys["operator"]).set_mint_cap(bank.address, 2**128)  # the bench mints freely
    abi: list[dict[str, Any]] = [dict(entry) for entry in cash.abi]
    targets = [keys[n].address for n in ("a", "b", "c")]
    txs = -(-events // EVENTS_PER_MINT)
    pipe = Pipeline(chain, mining="manual")
    try:
        for first in range(0, txs, ROUND):
            for i in range(first, min(txs, first + ROUND)):
                pipe.submit_call(bank, abi, cash.address, "mint", (targets[i % 3], 100 + i, (i + 1).to_bytes(32, "big")),
                                 gas=200_000)
            failed = [r for r in pipe.wait() if not r.ok]
            if failed:
                raise ChainError(f"generating the history: {len(failed)} deposits failed, first: {failed[0]}")
    finally:
        pipe.close()
    return platform


def measure_replay(url: str, platform: Platform, *, window: int = 2000) -> tuple[list[BenchRow], dict[str, Any]]:
    """Fetch rate, replay rate and peak memory of a replay of ``platform``'s whole history at ``url``."""
    deployment = platform.deployment
    source = RpcSource(url)
    head = source.head()
    addresses = sorted(contracts_of(deployment))
    # A first replay learns the windows the replay sizes for itself (and warms the node's caches), so
    # the raw fetch below reads exactly the same windows.
    ends: list[int] = []
    replay(source, deployment, head, window=window, receipts=False,
           progress=lambda done, total: ends.append(deployment.block + done - 1))
    start = time.perf_counter()
    fetched = 0
    per_window: list[tuple[int, int]] = []  # (last block, events so far)
    first = deployment.block
    for last in ends:
        fetched += len(source.logs(first, last, addresses))
        per_window.append((last, fetched))
        first = last + 1
    fetch_s = time.perf_counter() - start

    start = time.perf_counter()
    result = replay(source, deployment, head, window=window, receipts=False)
    replay_s = time.perf_counter() - start
    findings = len(result.findings) + len(result.state.findings)

    start = time.perf_counter()
    checked = replay(source, deployment, head, window=window, receipts=True)
    checked_s = time.perf_counter() - start

    # What `vscm audit replay` does end to end: the replay with its block check (receipts roots by
    # default, or the bloom-only check), then every record compared with the contracts' views at the
    # head and money conservation (`audit_chain`), with the CPU this process and the node spent on it.
    node_pid = getattr(getattr(platform.chain, "node", None), "pid", None)
    audits: dict[str, tuple[Any, float, float, float | None]] = {}
    checks: tuple[Literal["receipts", "bloom"], ...] = ("receipts", "bloom")
    for check in checks:
        start, cpu, node = time.perf_counter(), time.process_time(), _cpu_seconds(node_pid)
        outcome = audit_chain(platform.chain, deployment, head, window=window, check=check)
        audits[check] = (outcome, time.perf_counter() - start, time.process_time() - cpu,
                         _since(node_pid, node))

    # The node's own share: every block's receipts fetched raw, as the receipts check reads them
    # (the end-to-end rate cannot beat the node's eth_getBlockReceipts rate).
    start, node = time.perf_counter(), _cpu_seconds(node_pid)
    blocks = list(range(deployment.block, head + 1))
    for first in range(0, len(blocks), 20):
        source._batch([("eth_getBlockReceipts", [hex(n)]) for n in blocks[first:first + 20]])
    receipts_s = time.perf_counter() - start
    receipts_node = _since(node_pid, node)
    load = _load_average()

    peaks = {}
    quarter = next(last for last, seen in per_window if seen >= fetched // 4)
    for label, stop in (("quarter", quarter), ("full", head)):
        tracemalloc.start()
        part = replay(RpcSource(url), deployment, stop, window=window, receipts=False)
        peaks[label] = (part.events, tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    rows = [
        BenchRow("raw eth_getLogs fetch (same windows)", fetched, fetch_s, fetched / fetch_s),
        BenchRow("replay: fetch + decode + fold + hash chain", result.events, replay_s, result.events / replay_s,
                 f"{result.blocks} blocks, {findings} findings"),
        BenchRow("replay + receipts roots recomputed (eth_getBlockReceipts)", checked.events, checked_s,
                 checked.events / checked_s,
                 f"{checked.receipt_roots} roots, {len(checked.findings) + len(checked.state.findings)} findings"),
    ]
    for check, what in (("receipts", "audit end to end: replay + receipts roots + every check (views, money)"),
                        ("bloom", "audit end to end, bloom-only check (`--check bloom`: log data unchecked)")):
        outcome, wall, cpu_s, node_s = audits[check]
        events = outcome.result.events
        note = f"{cpu_s:.2f} s CPU in this process ({cpu_s / max(1, events) * 1e6:.0f} µs/event)"
        if node_s is not None:
            note += f", {node_s:.2f} s in the node ({node_s / max(1, events) * 1e6:.0f} µs/event)"
        if check == "receipts":
            note += (f"; the node's raw eth_getBlockReceipts alone takes {receipts_s:.2f} s"
                     + (f" ({receipts_node:.2f} s of its CPU)" if receipts_node is not None else ""))
        note += f"; {outcome.result.receipt_roots} roots, {len(outcome.findings)} findings"
        if load:
            note += f"; load average {load}"
        rows.append(BenchRow(what, events, wall, events / wall, note))
    memory = {"blocks": result.blocks, "window": window, "windows": len(ends),
              "peak_quarter": peaks["quarter"], "peak_full": peaks["full"]}
    return rows, memory


def _cpu_seconds(pid: int | None) -> float | None:
    """CPU time (user + system) of process ``pid`` so far, from /proc (None where there is none)."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _since(pid: int | None, before: float | None) -> float | None:
    now = _cpu_seconds(pid)
    return now - before if now is not None and before is not None else None


def _load_average() -> str:
    """The 1-minute load average and the CPU count (the rates depend on what else the machine runs)."""
    try:
        return f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    except OSError:
        return ""


def render_table(rows: list[BenchRow]) -> str:
    lines = ["| measure | events | seconds | events/s | note |", "|---|---|---|---|---|"]
    lines += [f"| {r.what} | {r.events:,} | {r.seconds:.2f} | {r.events_per_second:,.0f} | {r.note} |" for r in rows]
    return "\n".join(lines) + "\n"


def memory_note(memory: dict[str, Any]) -> str:
    q_events, q_peak = memory["peak_quarter"]
    f_events, f_peak = memory["peak_full"]
    return (f"Peak Python memory of the replay (tracemalloc; {memory['windows']} windows of at most "
            f"{memory['window']} blocks, sized to about {TARGET_LOGS:,} logs): {q_peak / 2**20:.1f} MiB for the "
            f"first {q_events:,} events, {f_peak / 2**20:.1f} MiB for all {f_events:,} (the logs are streamed "
            "window by window and only the folded state is kept, so the peak follows the largest window).")


def render_markdown(rows: list[BenchRow], memory: dict[str, Any]) -> str:
    return "\n".join(["## Audit replay on anvil", "", render_table(rows), memory_note(memory), ""])


def section(options: Any) -> Any:
    """The ``vscm.bench`` section: the replay of a history of 100,000 events (1,000 with ``--quick``)."""
    from vscm.bench import Section  # vscm.bench imports the sections by name, not this module

    events = 1_000 if options.quick else 100_000
    with connect("anvil", timeout=120) as chain:
        platform = generate_history(chain, events)
        rows, memory = measure_replay(chain.w3.provider.endpoint_uri, platform)  # type: ignore[attr-defined]
    text = (f"An anvil history of {events:,}+ events (bank deposits sent through the pipeline), replayed by "
            "`vscm.audit` from its deployment block: the raw `eth_getLogs` fetch rate over the same windows, "
            "measured in the same run, next to the replay rate (fetch, decode, fold into the platform state, "
            "block hash chain), with the receipts roots recomputed, and the audit end to end (every check, its CPU "
            "per event in this process and in the node, and beside it the node's own time to answer "
            "`eth_getBlockReceipts` for every block, which bounds the end-to-end rate), then the same audit with "
            "the bloom-only check (`--check bloom`: no receipts; blind to log data, see the README). The rates "
            "depend on the machine's load, given in the notes. " + memory_note(memory))
    return Section("Audit replay rate (anvil)", text, render_table(rows))


def run(events: int = 100_000, window: int = 2000,
        generator: Callable[[Any, int], Platform] = generate_history) -> str:
    with connect("anvil", timeout=120) as chain:
        platform = generator(chain, events)
        rows, memory = measure_replay(chain.w3.provider.endpoint_uri, platform, window=window)  # type: ignore[attr-defined]
    return render_markdown(rows, memory)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--window", type=int, default=2000,
                        help="most blocks per eth_getLogs (the replay sizes its windows to about 5,000 logs)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    text = run(args.events, args.window)
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
