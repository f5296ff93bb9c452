"""Replay a platform's history: read raw logs in block windows, fold them, check the blocks.

``replay(source, deployment, to_block)`` streams windows of at most ``window`` blocks, sized to hold
about ``TARGET_LOGS`` logs each: headers (the hash
chain must link), logs of the platform's contracts (each must carry its block's hash; with
``receipts=True`` on a node they are taken from the receipts whose root is recomputed, and a stored
history's must equal the receipts'), decoded and folded in (block, log index) order. From a node the
next window is read in a thread while the last is checked and folded. Memory holds the state and two
windows, never the whole history.

Every block of the range is accounted for, not only those with logs: each header's fields must
hash to its hash (a forged timestamp or receipts root is found, offline too), every platform log
must be in its block's logs bloom, and a block whose bloom names a platform contract is read in full
(with ``receipts=True``: all its receipts, so a log missing from the history is found; offline: a
bloom naming a contract and one of its events with no log of that contract is a finding). A bloom
has no false negatives, so a block whose bloom names no platform contract has no platform log.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vscm.audit import fold
from vscm.audit.bloom import Bloom
from vscm.audit.decode import RawLog, decoder_for
from vscm.audit.source import Header, HistoryFile, Source
from vscm.audit.state import Finding, State
from vscm.errors import AuditError

__all__ = ["CONTRACT_FIELDS", "CONTRACT_NOTES", "Cursor", "PeriodStart", "ReplayResult", "contracts_of", "replay",
           "replay_into"]

#: Deployment attribute -> artifact name. A contract added to the deployment adds a line here
#: (e.g. ``"oracle": "TelemetryOracle"``, see ``vscm.audit.oracle``) and handlers in ``vscm.audit.fold``.
CONTRACT_FIELDS: dict[str, str] = {
    "registry": "MemberRegistry",
    "orders": "OrderBook",
    "assets": "AssetRegistry",
    "funds": "FundTracker",
    "loans": "LoanBook",
    "risk": "RiskControl",
    "oracle": "TelemetryOracle",
    "consents": "ConsentRegistry",
    "certificates": "Certificates",
    # The consortium council (vscm.audit.council): its Safe and the TimelockController holding the admin roles.
    "council_safe": "Safe",
    "council_timelock": "TimelockController",
}

#: Artifact name -> what a replay of that contract cannot rebuild or check (state no event carries):
#: added to the notes of every replay whose deployment holds the contract, so a gap is said, not skipped.
CONTRACT_NOTES: dict[str, set[str]] = {}


def contracts_of(deployment: Any) -> dict[str, str]:
    """Address -> artifact name of every platform contract of ``deployment``."""
    out = {}
    for attr, name in CONTRACT_FIELDS.items():
        address = getattr(deployment, attr, None)
        if address:
            out[address] = name
    for address in deployment.cash.values():
        out[address] = "PlatformCash"
    return out


@dataclass
class Cursor:
    """Where a replay stopped: the last folded block and its hash (a reorg shows as a changed hash)."""

    block: int
    hash: str


@dataclass
class PeriodStart:
    """How a period audit (``from_block`` after the deployment) got the state it starts from: the
    history before the period, folded from the deployment's first block (hash chain checked, receipts
    not), its findings set aside — the period's report lists only the period's."""

    #: the first block folded (the deployment's)
    history_from: int
    #: the state's counters at the end of block ``from_block - 1`` (the period's events are the rest)
    counters: dict[str, int]
    #: findings raised while folding the history before the period
    findings: list[Finding]
    #: keys written during the period, per table (what the report's loans and money trails show)
    touched: dict[str, set[str]] = field(default_factory=dict)


@dataclass
class ReplayResult:
    state: State
    from_block: int
    to_block: int
    events: int = 0
    blocks: int = 0
    cursor: Cursor | None = None
    findings: list[Finding] = field(default_factory=list)
    #: blocks whose receipts root was recomputed and compared with the header
    receipt_roots: int = 0
    #: what this replay could not check, said in the report
    notes: set[str] = field(default_factory=set)
    #: set for a period audit: how the state at ``from_block - 1`` was rebuilt
    period: PeriodStart | None = None


Progress = Callable[[int, int], None]

#: What a replay with the bloom-only check says it did not check (in its report's notes).
BLOOM_ONLY_NOTE = ("bloom-only check: each block's logs bloom equals the bloom of all its logs and their "
                   "indexes are 0..n-1; log data (amounts) and a removed log whose address and topics other "
                   "logs of its block also set are not checked (no receipts root recomputed): audit with "
                   "receipts for that")

#: Logs one window aims at (windows shrink or grow towards it), and the first window's size in blocks.
TARGET_LOGS = 5_000
FIRST_WINDOW = 8


def replay(source: Source, deployment: Any, to_block: int | None = None, *, from_block: int | None = None,
           window: int = 2000, receipts: bool = True, blooms: bool = False, save: Path | None = None,
           progress: Progress | None = None) -> ReplayResult:
    """Rebuild the platform state from ``from_block`` (default: the deployment's first block) to
    ``to_block`` (default: the head).

    A ``from_block`` after the deployment's first block is a *period* audit: the state at
    ``from_block - 1`` is rebuilt first by folding the history before the period (its hash chain
    checked, not its receipts; see :class:`PeriodStart`), then the period is replayed with every check.
    The result counts only the period's blocks, events and findings; its state is the whole state, so
    the comparison with the contracts still covers everything. ``save`` keeps the whole history used,
    so ``vscm.audit.audit.audit_stored`` repeats the same period audit.

    ``receipts``: every block whose bloom names a platform contract has its receipts read and their
    root recomputed (the strong check: every log, data included, is the block's). ``blooms`` (with
    ``receipts=False``, on a live source): instead, every log of the range is read and each block's
    logs bloom must be exactly the bloom of its logs, their indexes 0..n-1 — cheaper for the node, and
    blind to log data and to a removed log whose address and topics another log of its block also sets.

    Returns:
        The state, the counts, and the findings of the block, log and event checks (not yet the
        comparison with the contracts: see ``vscm.audit.verify``).

    Raises:
        AuditError: the source cannot be read, or the range is empty or beyond the head.
    """
    start = deployment.block if from_block is None else from_block
    head = source.head()
    stop = head if to_block is None else to_block
    if stop > head:
        raise AuditError(f"block {stop} is beyond the head of {source.name} ({head})")
    if stop < start:
        raise AuditError(f"nothing to replay: block {stop} is before the first block {start}")
    history = HistoryFile(save) if save else None
    if history:
        history.open_for_write({"network": deployment.network, "chain_id": deployment.chain_id,
                                "from_block": min(start, deployment.block), "period_from": start, "to_block": stop,
                                "contracts": contracts_of(deployment)})
    try:
        if start <= deployment.block:
            result = ReplayResult(State(), start, stop)
            return replay_into(result, source, deployment, start, stop, window=window, receipts=receipts,
                               blooms=blooms, history=history, progress=progress)
        return _replay_period(source, deployment, start, stop, window=window, receipts=receipts, blooms=blooms,
                              history=history,
                              progress=progress)
    finally:
        if history:
            history.close()


def _replay_period(source: Source, deployment: Any, start: int, stop: int, *, window: int, receipts: bool,
                   blooms: bool,
                   history: HistoryFile | None, progress: Progress | None) -> ReplayResult:
    """Fold the history before ``start`` into a state, set its counts and findings aside, replay the period."""
    first = deployment.block
    total = stop - first + 1

    def before(done: int, _: int) -> None:
        if progress:
            progress(done, total)

    def during(done: int, _: int) -> None:
        if progress:
            progress(start - first + done, total)

    earlier = replay_into(ReplayResult(State(), first, start - 1), source, deployment, first, start - 1,
                          window=window, receipts=False, history=history, progress=before)
    state = earlier.state
    set_aside = [*earlier.findings, *state.findings]
    state.findings = []
    state.take_dirty()
    result = ReplayResult(state, start, stop, notes=set(earlier.notes))
    result.period = PeriodStart(first, dict(state.counters), set_aside)
    result.notes.add(
        f"period audit: the state at block {start - 1} was rebuilt by folding blocks {first}-{start - 1} "
        f"({earlier.events} events; hash chain checked, receipts not"
        + (f"; {len(set_aside)} finding(s) there, not listed: audit from block {first} to see them)"
           if set_aside else "; no finding there)")
        + f"; the contracts' state at block {stop} is compared in full")
    joined = source.headers(start - 1, start - 1)
    replay_into(result, source, deployment, start, stop, window=window, receipts=receipts, blooms=blooms,
                history=history,
                progress=during, previous=joined[0] if joined else None)
    result.period.touched = state.take_dirty()
    return result


def replay_into(result: ReplayResult, source: Source, deployment: Any, start: int, stop: int, *,
                window: int = 2000, receipts: bool = True, blooms: bool = False, save: Path | None = None,
                history: HistoryFile | None = None, progress: Progress | None = None,
                previous: Header | None = None,
                on_window: Callable[[list[Header], list[RawLog]], None] | None = None) -> ReplayResult:
    """Fold blocks ``start..stop`` into ``result.state`` (the incremental form of :func:`replay`).

    ``previous`` is the header of block ``start - 1`` when known, so the hash chain is checked across
    the join; ``on_window`` sees each window's headers and logs (the index stores them). The headers
    and logs read go to ``history`` (an open :class:`HistoryFile`, left open) or to a new file at ``save``.
    """
    contracts = contracts_of(deployment)
    addresses = sorted(contracts)
    for artifact in set(contracts.values()):
        result.notes.update(CONTRACT_NOTES.get(artifact, ()))
    ctx = fold.FoldContext({}, loans_address=deployment.loans, funds_address=deployment.funds)
    own = HistoryFile(save) if save and history is None else None
    if own:
        own.open_for_write({"network": deployment.network, "chain_id": deployment.chain_id,
                            "from_block": start, "to_block": stop, "contracts": contracts})
        history = own
    state = result.state
    prev = previous
    bloom = Bloom(contracts)
    platform = set(addresses)
    # On a live source that hands out whole blocks' receipts with their roots, the platform's logs are
    # read from the receipts of the blocks whose bloom names a platform contract: the receipts are
    # needed for the roots anyway, and logs checked against a root need no second copy (eth_getLogs).
    whole = receipts and source.live and source.whole_block_receipts
    every = blooms and not receipts
    if every:
        result.notes.add(BLOOM_ONLY_NOTE)

    def fetch(first: int, last: int) -> _Window:
        return _fetch_window(source, bloom, addresses, platform, first, last, receipts=receipts, whole=whole,
                             every=every)

    # From a node, the next window is read (in a thread) while this one is checked and folded here; a
    # stored source (a file, the index's own database connection) is read in this thread.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="vscm-audit-fetch") if source.live \
            else contextlib.nullcontext() as reader:

        def submit(first: int, last: int) -> Callable[[], _Window]:
            """The window ``first..last``, to be taken with a call: being read already, or read then."""
            if reader is not None:
                return reader.submit(fetch, first, last).result
            return functools.partial(fetch, first, last)

        size = min(window, FIRST_WINDOW)
        pending: Callable[[], _Window] | None = submit(start, min(stop, start + size - 1))
        try:
            while pending is not None:
                win = pending()
                first, last, headers, logs = win.first, win.last, win.headers, win.logs
                # Windows follow the density of the history so one window holds about TARGET_LOGS logs:
                # memory stays bounded however many events a block carries (a single block is the floor).
                per_block = len(logs) / (last - first + 1)
                # A window grows at most twofold: a dense stretch after a sparse one costs one window of
                # twice the last size at most, whatever the history's length.
                size = max(1, min(window, size * 2, int(TARGET_LOGS / per_block) if per_block else window))
                pending = submit(last + 1, min(stop, last + size)) if last < stop else None
                prev = _check_headers(result, headers, first, last, prev)
                ctx.timestamps = {h.number: h.timestamp for h in headers}
                hashes = {h.number: h.hash for h in headers}
                _check_logs(result, logs, hashes)
                _check_blooms(result, bloom, headers, logs, offline=not receipts and not every)
                if win.every is not None:
                    _check_whole_blooms(result, bloom, headers, win.every)
                if receipts:
                    _check_roots(result, source, win.roots, {h.number: h for h in headers})
                    if win.receipts is not None:
                        _compare_with_receipts(result, logs, platform, win.receipts)
                for lg in logs:
                    if lg.block_number not in ctx.timestamps:
                        continue  # reported by _check_logs
                    name = contracts.get(lg.address)
                    if name is None:
                        result.findings.append(Finding("log", f"log {lg.tx_hash}#{lg.log_index}", "address",
                                                       "a platform contract", lg.address, lg.block_number))
                        continue
                    event = decoder_for(name).decode(lg)
                    if event is None:
                        state.findings.append(Finding(
                            "unknown-event", f"{name}@{lg.address}", lg.topics[0] if lg.topics else "(no topic)",
                            "an event of the contract's ABI", "undecodable log", lg.block_number,
                            f"tx {lg.tx_hash} log {lg.log_index}"))
                        continue
                    try:
                        fold.fold_event(state, event, ctx)
                    except (KeyError, TypeError, ValueError) as exc:
                        state.findings.append(Finding(
                            "event", f"{name}@{lg.address}", event.name, "an event the history so far allows",
                            f"{type(exc).__name__}: {exc}", lg.block_number, f"tx {lg.tx_hash} log {lg.log_index}"))
                result.events += len(logs)
                result.blocks += len(headers)
                if history:
                    history.add(headers, logs)
                if on_window:
                    on_window(headers, logs)
                if progress:
                    progress(last - start + 1, stop - start + 1)
        finally:
            if own:
                own.close()
    if prev is not None:
        result.cursor = Cursor(prev.number, prev.hash)
    result.to_block = stop
    return result


def _check_headers(result: ReplayResult, headers: list[Header], first: int, last: int,
                   prev: Header | None) -> Header | None:
    numbers = [h.number for h in headers]
    if numbers != list(range(first, last + 1)):
        missing = sorted(set(range(first, last + 1)) - set(numbers))
        result.findings.append(Finding("blocks", f"blocks {first}-{last}", "headers", "every block",
                                       f"missing {missing[:10]}" if missing else f"out of order {numbers[:10]}"))
    for h in headers:
        computed = h.computed_hash()
        if computed is None and h.hash_scheme != "ethereum":
            result.notes.add(f"{h.hash_scheme} block hashes are not Ethereum header hashes: not recomputed (the "
                             "hash chain, every log's block hash and the receipts roots are still checked)")
        elif computed is None:
            result.notes.add("headers without their whole fields (stored by an older vscm): block hashes "
                             "not recomputed, blocks without logs not checked against their logs bloom")
        elif computed != h.hash:
            result.findings.append(Finding("blocks", f"block {h.number}", "hash", h.hash, computed, h.number,
                                           "the header's fields do not hash to its hash: a field was altered"))
        if prev is not None and h.number == prev.number + 1 and h.parent_hash != prev.hash:
            result.findings.append(Finding("blocks", f"block {h.number}", "parentHash", prev.hash, h.parent_hash,
                                           h.number, "the hash chain is broken"))
        prev = h
    return prev


def _check_logs(result: ReplayResult, logs: list[RawLog], hashes: dict[int, str]) -> None:
    for lg in logs:
        expected = hashes.get(lg.block_number)
        if expected != lg.block_hash:
            result.findings.append(Finding("log", f"log {lg.tx_hash}#{lg.log_index}", "blockHash", expected,
                                           lg.block_hash, lg.block_number, "the log is not of this block"))


def _check_blooms(result: ReplayResult, bloom: Bloom, headers: list[Header], logs: list[RawLog],
                  offline: bool) -> set[int]:
    """Every platform log is in its block's logs bloom; returns the blocks whose bloom names a
    platform contract (blocks stored without a bloom count as named: they must be read in full).
    ``offline``: a bloom that names a contract and one of its events where the history holds no log
    of that contract is a finding (a log removed from a stored history)."""
    by_block: dict[int, set[str]] = {}
    for lg in logs:
        by_block.setdefault(lg.block_number, set()).add(lg.address)
    named: set[int] = set()
    for h in headers:
        value = h.logs_bloom
        if value is None:
            named.add(h.number)
            continue
        if not value:
            continue  # no log at all in this block
        present = by_block.get(h.number, set())
        for address in bloom.addresses_in(value):
            named.add(h.number)
            if offline and address not in present and bloom.events_in(value, address):
                result.findings.append(Finding(
                    "log", f"block {h.number}", "logs", f"the logs its logsBloom names ({bloom.names[address]} "
                    f"{address})", "none in the history", h.number, "a log was removed from the history"))
    blooms = {h.number: h.logs_bloom for h in headers}
    for lg in logs:
        value = blooms.get(lg.block_number)
        if value is not None and not bloom.holds(value, lg):
            result.findings.append(Finding("log", f"log {lg.tx_hash}#{lg.log_index}", "logsBloom",
                                           "in the block's logs bloom", "absent", lg.block_number,
                                           "the block never emitted this log"))
    return named


@dataclass
class _Window:
    """One window as read from the source, before any check: its headers, the platform's logs, and
    the receipts read for it (roots per block; ``receipts``: each transaction's receipt logs, to compare
    with logs that came from elsewhere, None when the logs were taken from those receipts)."""

    first: int
    last: int
    headers: list[Header]
    logs: list[RawLog]
    roots: dict[int, str | None] = field(default_factory=dict)
    receipts: dict[str, list[RawLog]] | None = None
    #: every log of the window, of any address (the bloom-only check)
    every: list[RawLog] | None = None


def _named(bloom: Bloom, headers: list[Header]) -> set[int]:
    """Blocks whose logs bloom names a platform contract, or that have no bloom to tell."""
    out = set()
    for h in headers:
        value = h.logs_bloom
        if value is None or (value and bloom.addresses_in(value)):
            out.add(h.number)
    return out


def _fetch_window(source: Source, bloom: Bloom, addresses: list[str], platform: set[str], first: int, last: int,
                  *, receipts: bool, whole: bool, every: bool = False) -> _Window:
    """Everything the checks of blocks ``first..last`` need from ``source`` (run in the reader thread).

    ``whole``: the receipts of every block whose bloom names a platform contract, the platform's logs
    taken from them (a bloom has no false negatives: no other block holds a platform log). Otherwise
    the logs of the platform's addresses, and with ``receipts`` the receipts of the blocks that hold
    one or whose bloom names a platform contract, to compare with them."""
    headers = source.headers(first, last)
    if whole:
        named = _named(bloom, headers)
        roots, by_tx = source.block_receipts({n: [] for n in sorted(named)}) if named else ({}, {})
        logs = sorted((lg for tx_logs in by_tx.values() for lg in tx_logs if lg.address in platform),
                      key=lambda lg: (lg.block_number, lg.log_index))
        return _Window(first, last, headers, logs, roots)
    if every:
        everything = sorted(source.all_logs(first, last), key=lambda lg: (lg.block_number, lg.log_index))
        return _Window(first, last, headers, [lg for lg in everything if lg.address in platform], every=everything)
    logs = sorted(source.logs(first, last, addresses), key=lambda lg: (lg.block_number, lg.log_index))
    if not receipts:
        return _Window(first, last, headers, logs)
    blocks: dict[int, list[str]] = {n: [] for n in sorted(_named(bloom, headers) | {lg.block_number for lg in logs})}
    seen: set[str] = set()
    for lg in logs:
        if lg.tx_hash not in seen:
            seen.add(lg.tx_hash)
            blocks.setdefault(lg.block_number, []).append(lg.tx_hash)
    roots, by_tx = source.block_receipts(blocks) if blocks else ({}, {})
    return _Window(first, last, headers, logs, roots, by_tx)


def _check_whole_blooms(result: ReplayResult, bloom: Bloom, headers: list[Header], logs: list[RawLog]) -> None:
    """The bloom-only check: each block's logs bloom is exactly the bloom of all the logs read for it
    (a bit no log sets: a log is missing; a log's bit the header lacks: the block never emitted it),
    and the block's log indexes are 0..n-1 (a gap: a log is missing)."""
    by_block: dict[int, list[RawLog]] = {}
    for lg in logs:
        by_block.setdefault(lg.block_number, []).append(lg)
    for h in headers:
        value = h.logs_bloom
        if value is None:
            result.notes.add("headers without a logs bloom: their blocks' logs not checked")
            continue
        mine = by_block.get(h.number, [])
        computed = bloom.of(mine)
        if computed != value:
            missing, extra = (value & ~computed).bit_count(), (computed & ~value).bit_count()
            result.findings.append(Finding(
                "log", f"block {h.number}", "logsBloom", "the bloom of the block's logs",
                f"{missing} bit(s) set by no log read, {extra} bit(s) of logs read not in it", h.number,
                "a log is missing or was never emitted by this block" if missing else
                "a log read was never emitted by this block"))
        indexes = [lg.log_index for lg in mine]
        if indexes != list(range(len(mine))):
            result.findings.append(Finding("log", f"block {h.number}", "logIndex", f"0..{len(mine) - 1}",
                                           str(indexes[:10]), h.number, "a log is missing from the block's logs"))


def _check_roots(result: ReplayResult, source: Source, roots: dict[int, str | None],
                 headers: dict[int, Header]) -> None:
    """The receipts of each block read hash to its header's receiptsRoot."""
    for number, root in sorted(roots.items()):
        header = headers.get(number)
        if root is None:
            result.notes.add(f"{source.name}: receipts roots not recomputed; logs compared with the receipts")
        elif header is not None:
            result.receipt_roots += 1
            if root != header.receipts_root:
                result.findings.append(Finding("receipt", f"block {number}", "receiptsRoot", header.receipts_root,
                                               root, number, "the block's receipts do not hash to its header"))


def _compare_with_receipts(result: ReplayResult, logs: list[RawLog], platform: set[str],
                           receipts: dict[str, list[RawLog]]) -> None:
    """Each transaction's platform logs are exactly those of its receipt, including transactions the
    history holds no log of (the receipts of every block with a platform log or whose bloom names a
    platform contract were read)."""
    by_tx: dict[str, list[RawLog]] = {}
    for lg in logs:
        by_tx.setdefault(lg.tx_hash, []).append(lg)
    for tx, chain_logs in receipts.items():
        if tx not in by_tx and any(lg.address in platform for lg in chain_logs):
            by_tx[tx] = []  # the chain's receipt holds platform logs the history does not
    for tx, used in by_tx.items():
        chain_logs = [lg for lg in receipts.get(tx, []) if lg.address in platform]
        theirs = {lg.log_index: lg for lg in chain_logs}
        ours = {lg.log_index: lg for lg in used}
        for index in sorted(set(theirs) | set(ours)):
            a, b = theirs.get(index), ours.get(index)
            if a is None or b is None:
                one = a if a is not None else b
                result.findings.append(Finding("receipt", f"tx {tx}", f"log {index}",
                                               "present" if a else "absent", "present" if b else "absent",
                                               one.block_number if one is not None else None,
                                               "the history and the receipt hold different logs"))
                continue
            for attr in ("block_hash", "address", "topics", "data"):
                if getattr(a, attr) != getattr(b, attr):
                    result.findings.append(Finding("receipt", f"tx {tx} log {index}", attr, getattr(a, attr),
                                                   getattr(b, attr), b.block_number,
                                                   "the log differs from the transaction's receipt"))
