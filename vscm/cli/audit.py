"""``vscm audit``: replay the platform's history, prove the state, write the report."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import click
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from vscm.audit.audit import AuditOutcome, audit_chain, audit_stored
from vscm.cli.output import emit, json_option
from vscm.cli.session import choice_from, manifest_path, network_options, open_deployment
from vscm.client.deployment import Deployment
from vscm.errors import AuditDifferences

__all__ = ["audit"]


@click.group("audit")
def audit() -> None:
    """The auditor's replay of the chain history."""


@audit.command("replay")
@click.option("--to", "to_block", type=click.IntRange(min=0), default=None,
              help="Last block to replay and verify at [default: the head].")
@click.option("--from", "from_block", type=click.IntRange(min=0), default=None,
              help="First block of the period to audit [default: the deployment's first block]. The history "
                   "before it is folded too, to rebuild the state the period starts from; the report covers "
                   "the period, the comparison with the contracts the whole state.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the report here (.html or .md) and its JSON beside it (.json).")
@click.option("--save", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Keep a copy of the headers and logs used (JSON lines), to re-verify later.")
@click.option("--window", type=click.IntRange(min=1), default=2000, show_default=True,
              help="Blocks per eth_getLogs request.")
@click.option("--check", type=click.Choice(["receipts", "bloom"]), default="receipts", show_default=True,
              help="How each block's logs are proven: receipts (its receipts root recomputed: every log, data "
                   "included) or bloom (its logs bloom equals the bloom of all its logs: faster, blind to log "
                   "data and to a removed log whose bits other logs of its block set).")
@json_option
@network_options
def replay_cmd(to_block: int | None, from_block: int | None, report_path: Path | None, save: Path | None,
               window: int, check: Literal["receipts", "bloom"], as_json: bool, **net: Any) -> None:
    """Rebuild the whole state from events and compare it with the contracts at block --to.

    \b
    Examples:
      vscm audit replay --report audit.html                  # the whole history, up to the head
      vscm audit replay --from 1200 --to 1800 --json         # the period 1200-1800 only
      vscm audit replay --check bloom                        # faster, weaker: logs against blooms only
    """
    deployment, chain = open_deployment(choice_from(net))
    try:
        with Progress(TextColumn("replaying blocks"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                      TimeRemainingColumn(), transient=True, disable=as_json) as bar:
            task = bar.add_task("replay", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            outcome = audit_chain(chain, deployment, to_block, from_block=from_block, window=window, check=check,
                                  save=save, report=report_path, progress=progress)
    finally:
        chain.close()
    _show(outcome, report_path, as_json, check=check)


@audit.command("stored")
@click.argument("history", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--offline", is_flag=True, help="Check without a node: hash chain, events and money only.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the report here (.html or .md) and its JSON beside it (.json).")
@json_option
@network_options
def stored_cmd(history: Path, offline: bool, report_path: Path | None, as_json: bool, **net: Any) -> None:
    """Re-verify a stored history (from `replay --save`): against the chain's receipts, headers and
    contracts, or --offline."""
    choice = choice_from(net)
    deployment = Deployment.load(manifest_path(choice))
    if offline:
        outcome = audit_stored(history, deployment, report=report_path)
    else:
        deployment, chain = open_deployment(choice)
        try:
            outcome = audit_stored(history, deployment, chain, report=report_path)
        finally:
            chain.close()
    _show(outcome, report_path, as_json)


def _show(outcome: AuditOutcome, report_path: Path | None, as_json: bool, check: str | None = None) -> None:
    r = outcome.report
    summary = {k: r[k] for k in ("network", "from_block", "to_block", "blocks", "events", "verdict")}
    if check is not None:
        summary["check"] = check  # how each block's logs were proven (receipts, or the weaker bloom)
    summary["findings"] = r["findings"]
    if report_path:
        summary["report"] = str(report_path)

    def view(d: dict[str, Any]) -> Table:
        t = Table("check", "entity", "field", "expected (history)", "found", "block",
                  title=f"audit of {d['network']}, blocks {d['from_block']}-{d['to_block']}: {d['events']} events, "
                        f"{d['verdict']}" + (" (bloom-only check: log data unchecked)" if d.get("check") == "bloom"
                                             else ""))
        for f in d["findings"]:
            t.add_row(f["check"], f["entity"], f["field"], str(f["expected"]), str(f["found"]), str(f["block"]))
        return t

    emit(summary, as_json, view)
    if outcome.findings:
        raise AuditDifferences(f"the audit found {len(outcome.findings)} difference(s)"
                        + (f": see {report_path}" if report_path else ""))
