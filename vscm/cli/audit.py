"""``vscm audit``: replay the platform's history, prove the state, write the report."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar

import click
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from vscm.audit.audit import AuditOutcome, audit_chain, audit_stored
from vscm.audit.report import report_json_path
from vscm.cli.output import emit, json_option, key_value_table
from vscm.cli.session import choice_from, manifest_path, network_options, open_deployment, resolve_party
from vscm.cli.wallet import signer_options, unlock_signer
from vscm.client.deployment import Deployment
from vscm.errors import AuditDifferences, InputError

__all__ = ["audit"]

F = TypeVar("F", bound=Callable[..., Any])


@click.group("audit")
def audit() -> None:
    """The auditor's replay of the chain history."""


def auditor_option(command: F) -> F:
    """``--auditor NAME|WALLET|ADDRESS``: who runs the audit, written in the report."""
    return click.option(
        "--auditor", default=None, metavar="NAME|WALLET|ADDRESS",
        help="Who runs the audit, named in the report: a wallet label or an address (its registered member "
             "name, else the label, goes with it), or any other text as the name alone.")(command)


def auditor_of(value: str | None) -> dict[str, Any] | None:
    """The report's auditor from ``--auditor``: a wallet label or 0x address gives the address (the name is then
    its registered member name, else the wallet's label); any other text is the name, without an address."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        raise InputError("--auditor is empty: give a name, a wallet label or an address")
    is_address = text.lower().startswith("0x")
    try:
        address = resolve_party(text)
    except InputError:
        if is_address:
            raise
        return {"name": text, "address": None}
    return {"name": None, "address": address, "wallet": None if is_address else text}


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
@auditor_option
@json_option
@network_options
def replay_cmd(to_block: int | None, from_block: int | None, report_path: Path | None, save: Path | None,
               window: int, check: Literal["receipts", "bloom"], auditor: str | None, as_json: bool,
               **net: Any) -> None:
    """Rebuild the whole state from events and compare it with the contracts at block --to.

    \b
    Examples:
      vscm audit replay --report audit.html                  # the whole history, up to the head
      vscm audit replay --from 1200 --to 1800 --json         # the period 1200-1800 only
      vscm audit replay --check bloom                        # faster, weaker: logs against blooms only
      vscm audit replay --report audit.html --auditor auditor  # named in the report, then `vscm audit sign`
    """
    deployment, chain = open_deployment(choice_from(net))
    try:
        with Progress(TextColumn("replaying blocks"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                      TimeRemainingColumn(), transient=True, disable=as_json) as bar:
            task = bar.add_task("replay", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            outcome = audit_chain(chain, deployment, to_block, from_block=from_block, window=window, check=check,
                                  save=save, report=report_path, progress=progress, auditor=auditor_of(auditor))
    finally:
        chain.close()
    _show(outcome, report_path, as_json, check=check)


@audit.command("stored")
@click.argument("history", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--offline", is_flag=True, help="Check without a node: hash chain, events and money only.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the report here (.html or .md) and its JSON beside it (.json).")
@auditor_option
@json_option
@network_options
def stored_cmd(history: Path, offline: bool, report_path: Path | None, auditor: str | None, as_json: bool,
               **net: Any) -> None:
    """Re-verify a stored history (from `replay --save`): against the chain's receipts, headers and
    contracts, or --offline."""
    choice = choice_from(net)
    deployment = Deployment.load(manifest_path(choice))
    if offline:
        outcome = audit_stored(history, deployment, report=report_path, auditor=auditor_of(auditor))
    else:
        deployment, chain = open_deployment(choice)
        try:
            outcome = audit_stored(history, deployment, chain, report=report_path, auditor=auditor_of(auditor))
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
        summary["report_json"] = str(report_json_path(report_path))

    def view(d: dict[str, Any]) -> Table:
        t = Table("check", "entity", "field", "expected (history)", "found", "block",
                  title=f"audit of {d['network']}, blocks {d['from_block']}-{d['to_block']}: {d['events']} events, "
                        f"{d['verdict']}" + (" (bloom-only check: log data unchecked)" if d.get("check") == "bloom"
                                             else ""))
        for f in d["findings"]:
            t.add_row(f["check"], f["entity"], f["field"], str(f["expected"]), str(f["found"]), str(f["block"]))
        return t

    emit(summary, as_json, view)
    if not as_json:
        click.echo(f"report written to {report_path} and {report_json_path(report_path)}" if report_path else
                   "no report written: add --report FILE.html (or .md) for the document to sign")
    if outcome.findings:
        raise AuditDifferences(f"the audit found {len(outcome.findings)} difference(s)"
                        + (f": see {report_path}" if report_path else ""))


@audit.command("sign")
@click.argument("report", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--name", default=None, help="The name the signature goes with [default: the auditor the report "
                                           "names, when the wallet is its address; else the wallet's label].")
@json_option
@signer_options
def sign_cmd(report: Path, name: str | None, as_json: bool, wallet: str, password_file: Path | None) -> None:
    """Sign an audit report with the auditor's own wallet key (EIP-191 personal_sign of the keccak-256 of its
    canonical JSON); the signature goes into the report's JSON and its page is written again.

    \b
    Examples:
      vscm audit sign audit.html --wallet auditor        # or audit.json
    """
    from vscm.audit.signature import load_report, sign_report

    _, content = load_report(report)  # a bad path or file fails before the passphrase is asked
    account = unlock_signer(wallet, password_file)
    named = content.get("auditor") or {}
    who = name or (named.get("name") if named.get("address") == account.address else None) or wallet
    signed = sign_report(report, account, who)
    emit(signed, as_json, lambda d: key_value_table(d.items(), title=f"signed {report}"))


@audit.command("verify")
@click.argument("report", type=click.Path(dir_okay=False, path_type=Path))
@json_option
def verify_cmd(report: Path, as_json: bool) -> None:
    """Verify a signed audit report: its digest is its content's and each signature recovers its signer (exit
    4 otherwise: changed after it was written, not signed, or signed by another key). No node is needed.

    \b
    Examples:
      vscm audit verify audit.html --json
    """
    from vscm.audit.signature import verify_report

    checked = verify_report(report)

    def view(d: dict[str, Any]) -> Table:
        t = Table("signer", "name", "the report's auditor",
                  title=f"{d['report']}: verified ({d['verdict']}), keccak-256 {d['keccak256']}")
        for s in d["signers"]:
            t.add_row(s["address"], str(s["name"]), "yes" if s["auditor"] else "no")
        return t

    emit(checked, as_json, view)
