"""One call for an auditor: replay, verify at the target block, build the report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from vscm.audit.replay import Progress, ReplayResult, replay
from vscm.audit.report import build_report, write_report
from vscm.audit.source import Source, StoredSource, source_for
from vscm.audit.state import Finding
from vscm.audit.verify import check_money, verify
from vscm.errors import InputError

__all__ = ["AuditOutcome", "audit_chain", "audit_stored", "compare_headers"]


@dataclass
class AuditOutcome:
    result: ReplayResult
    findings: list[Finding]
    report: dict[str, Any]


def _block_times(source: Source, result: ReplayResult) -> tuple[int, int] | None:
    """Timestamps of the range's first and last block (None when the source has neither header)."""
    first = source.headers(result.from_block, result.from_block)
    last = source.headers(result.to_block, result.to_block)
    return (first[0].timestamp, last[0].timestamp) if first and last else None


def _finish(result: ReplayResult, extra: list[Finding], source: Source, deployment: Any, block: int | None,
            report_path: Path | None, auditor: dict[str, Any] | None, receipts_checked: bool) -> AuditOutcome:
    findings = result.findings + result.state.findings + extra
    if auditor is not None:  # {"name", "address"}: a member's address takes its registered name, else the wallet's
        member = result.state.get("members", auditor["address"]) or {} if auditor.get("address") else {}
        auditor = {"name": auditor.get("name") or member.get("name") or auditor.get("wallet") or auditor["address"],
                   "address": auditor.get("address")}
    report = build_report(result, findings, source=source.name, network=deployment.network, verified_block=block,
                          deployment=deployment, block_times=_block_times(source, result), auditor=auditor,
                          receipts_checked=receipts_checked)
    if report_path is not None:
        write_report(report, report_path)
    return AuditOutcome(result, findings, report)


def audit_chain(chain: Any, deployment: Any, to_block: int | None = None, *, from_block: int | None = None,
                window: int = 2000, receipts: bool = True, check: Literal["receipts", "bloom"] = "receipts",
                save: Path | None = None, report: Path | None = None,
                progress: Progress | None = None, auditor: dict[str, Any] | None = None) -> AuditOutcome:
    """Replay ``deployment`` on a connected chain up to ``to_block`` (default: the head) and verify the
    rebuilt state against the contracts at that block.

    A ``from_block`` after the deployment's first block audits the period ``from_block..to_block``: the
    history before it is folded to rebuild the starting state, and the report covers the period's
    events, findings and money trails (see :func:`vscm.audit.replay.replay`).

    ``check``: ``"receipts"`` (the default) recomputes the receipts root of every block whose logs bloom
    names a platform contract and folds the logs of those receipts: every log, data included, is the
    block's. ``"bloom"`` reads every log of the range instead and requires each block's logs bloom to be
    exactly theirs: less work for the node, but log data (amounts) and a removed log whose address and
    topics another log of its block also sets go unchecked (the report's notes say so).

    ``auditor``: who runs the audit, ``{"name": ..., "address": ...}`` (either may be None; a member's address
    without a name takes its registered name), written in the report."""
    if check not in ("receipts", "bloom"):
        raise InputError(f"check must be 'receipts' or 'bloom', not {check!r}")
    source = source_for(chain)
    bloom_only = check == "bloom"
    result = replay(source, deployment, to_block, from_block=from_block, window=window,
                    receipts=receipts and not bloom_only, blooms=bloom_only, save=save, progress=progress)
    extra = verify(result.state, chain.w3, deployment, result.to_block)
    return _finish(result, extra, source, deployment, result.to_block, report, auditor,
                   receipts and not bloom_only)


def compare_headers(stored: Source, live: Source, start: int, stop: int, window: int = 500) -> list[Finding]:
    """Each stored header against the chain's header of the same number (hash, parent, timestamp)."""
    out: list[Finding] = []
    ours = {h.number: h for h in stored.headers(start, stop)}
    for first in range(start, stop + 1, window):
        for theirs in live.headers(first, min(stop, first + window - 1)):
            mine = ours.get(theirs.number)
            if mine is None:
                continue  # a missing header is already a finding of the replay
            for field in ("hash", "parent_hash", "timestamp", "receipts_root"):
                if getattr(mine, field) != getattr(theirs, field):
                    out.append(Finding("blocks", f"stored block {theirs.number}", field, getattr(theirs, field),
                                       getattr(mine, field), theirs.number, "the stored header is not the chain's"))
    return out


def audit_stored(path: Path, deployment: Any, chain: Any | None = None, *, report: Path | None = None,
                 auditor: dict[str, Any] | None = None) -> AuditOutcome:
    """Replay a stored history (a period audit's history repeats the same period audit). With ``chain``, its logs are checked against the receipts and the
    rebuilt state against the contracts at the history's last block, and its headers against the
    chain's; without, only the hash chain,
    the events' own figures and money conservation are checked."""
    live = source_for(chain) if chain is not None else None
    source = StoredSource(path, live)
    start = source.meta.get("period_from", source.meta.get("from_block", deployment.block))
    result = replay(source, deployment, source.head(), from_block=int(start), window=10**12, receipts=live is not None)
    if chain is not None and live is not None:
        extra = compare_headers(source, live, result.from_block, result.to_block)
        extra += verify(result.state, chain.w3, deployment, result.to_block)
        block: int | None = result.to_block
    else:
        extra, block = check_money(result.state, deployment), None
    return _finish(result, extra, source, deployment, block, report, auditor, live is not None)
