"""``vscm monitor`` and ``vscm risk``: the control mechanism from the command line.

    vscm monitor run --wallet watch --state ~/.vscm/monitor            # follow and raise alerts
    vscm risk alerts --lender bank                                    # alerts on a lender's loans
    vscm risk show 3                                                  # one alert with its evidence
    vscm risk decide 6 recall --wallet bank                           # the lender's decision
    vscm risk raise --loan 6 --indicator 105 --evidence 0x… --wallet monitor   # an alert raised by hand
    vscm risk declare-fraud 3 --evidence 0x… --wallet operator        # operator proposes,
    vscm risk declare-fraud 3 --evidence 0x… --wallet auditor         # an auditor co-signs
    vscm risk withdraw-fraud 3 --wallet operator                      # or the operator withdraws it
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from rich.table import Table

from vscm.cli.common import emit_tx, platform_command, signed_command
from vscm.cli.output import console, emit, json_option, key_value_table, money
from vscm.cli.params import HASH32
from vscm.cli.session import PARTY, vscm_home
from vscm.cli.views import stamp, utc
from vscm.client.platform import Platform
from vscm.client.records import Alert, AlertSubject, Decision, LapsePolicy, Severity
from vscm.errors import InputError, NotFound
from vscm.risk.config import load_thresholds
from vscm.risk.events import indicator_name
from vscm.risk.monitor import EVIDENCE_DIR, Monitor, RaisedAlert

__all__ = ["monitor", "risk"]

ID = click.IntRange(min=1)


def _default_state(platform: Platform) -> Path:
    return vscm_home() / "monitor" / platform.deployment.network


def _indicator(code: int) -> str:
    return indicator_name(code)


# ---------------------------------------------------------------------------------------------- monitor


@click.group("monitor")
def monitor() -> None:
    """The risk monitor: follows the chain and raises alerts."""


@monitor.command("run")
@click.option("--state", "state_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Cursor, engine state and evidence files (default: $VSCM_HOME/monitor/<network>).")
@click.option("--config", "config", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="A thresholds file overriding vscm/risk/thresholds.toml.")
@click.option("--follow/--once", default=False, help="Keep following new blocks (Ctrl-C stops) or stop at the head.")
@click.option("--interval", type=click.FloatRange(min=0.1), default=2.0, show_default=True,
              help="Seconds between polls with --follow.")
@click.option("--to-block", type=click.IntRange(min=0), default=None, help="Stop at this block (--once).")
@click.option("--dry-run", is_flag=True, help="Find and record, raise nothing on chain.")
@json_option
@signed_command
def run_cmd(platform: Platform, signer: LocalAccount, state_dir: Path | None, config: Path | None, follow: bool,
            interval: float, to_block: int | None, dry_run: bool, as_json: bool) -> None:
    """Read new blocks from the saved cursor, update the indicators, raise alerts with evidence."""
    mon = Monitor(platform, signer, state_dir or _default_state(platform), thresholds=load_thresholds(config),
                  dry_run=dry_run)
    out = console()
    rows: list[dict[str, Any]] = []

    def report(a: RaisedAlert) -> None:
        row = _raised_row(a)
        rows.append(row)
        if not as_json:
            target = f"loan #{row['subject_id']}" if row["subject"] == "loan" else f"chain #{row['subject_id']}"
            done = f"alert #{row['alert_id']}" if row["alert_id"] else (row["error"] or "not raised (dry run)")
            out.print(f"{_indicator(row['indicator'])} (severity {row['severity']}) on {target} → {done}")

    if follow:
        try:
            mon.follow(interval=interval, on_alert=report)
        except KeyboardInterrupt:
            pass
    else:
        mon.step(to_block=to_block, on_alert=report)
    emit({"cursor": mon.cursor, "alerts": rows}, as_json,
         lambda d: key_value_table({"read up to block": d["cursor"], "findings": len(d["alerts"])}, title="monitor"))


def _raised_row(a: RaisedAlert) -> dict[str, Any]:
    f = a.finding
    return {"subject": f.subject, "subject_id": f.subject_id, "indicator": int(f.indicator),
            "severity": int(f.severity), "key": f.key, "evidence": a.evidence, "alert_id": a.alert_id,
            "error": a.error}


# ---------------------------------------------------------------------------------------------- risk


@click.group("risk")
def risk() -> None:
    """Alerts, lender decisions and fraud findings (RiskControl)."""


def _alert_row(platform: Platform, a: Alert) -> dict[str, Any]:
    row: dict[str, Any] = {
        "alert": a.alert_id, "subject": a.subject.name.lower(), "subject_id": a.subject_id,
        "indicator": a.indicator, "what": _indicator(a.indicator), "severity": a.severity.name.lower(),
        "raised_at": utc(a.raised_at), "deadline": utc(a.deadline), "raised_by": a.raised_by,
        "evidence": "0x" + a.evidence.hex(),
    }
    if a.subject == AlertSubject.LOAN:
        ln = platform.loans.loan(a.subject_id)
        row.update(lender=ln.lender, borrower=ln.borrower, loan_status=ln.status.name.lower())
    return row


@risk.command("alerts")
@click.option("--lender", type=PARTY, default=None, help="Only alerts on this lender's loans.")
@click.option("--loan", "loan_id", type=ID, default=None, help="Only alerts on this loan.")
@click.option("--chain", "chain_id", type=ID, default=None, help="Only alerts on this supply chain.")
@json_option
@platform_command
def alerts_cmd(platform: Platform, lender: str | None, loan_id: int | None, chain_id: int | None,
               as_json: bool) -> None:
    """Every alert raised, newest last."""
    rows = [_alert_row(platform, a) for a in platform.risk.alerts()]
    if lender:
        rows = [r for r in rows if r.get("lender") == lender]
    if loan_id:
        rows = [r for r in rows if r["subject"] == "loan" and r["subject_id"] == loan_id]
    if chain_id:
        rows = [r for r in rows if r["subject"] == "chain" and r["subject_id"] == chain_id]

    def view(items: list[dict[str, Any]]) -> Table:
        t = Table("alert", "on", "indicator", "severity", "deadline", "loan status", title="alerts")
        for r in items:
            t.add_row(f"#{r['alert']}", f"{r['subject']} #{r['subject_id']}", r["what"], r["severity"],
                      stamp(r["deadline"]), r.get("loan_status", "-"))
        return t

    emit(rows, as_json, view)


@risk.command("show")
@click.argument("alert_id", type=ID)
@click.option("--state", "state_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The monitor's state directory holding the evidence files.")
@json_option
@platform_command
def show_cmd(platform: Platform, alert_id: int, state_dir: Path | None, as_json: bool) -> None:
    """One alert, with the monitor's evidence when its file is at hand (checked against the hash)."""
    row = _alert_row(platform, platform.risk.alert(alert_id))
    if row["subject"] == "loan":
        control = platform.risk.control(row["subject_id"])
        row.update(decision=control.decision.name.lower(), lapsed=control.lapsed)
    folder = (state_dir or _default_state(platform)) / EVIDENCE_DIR
    path = folder / f"{row['evidence']}.json"
    if path.is_file():
        body = path.read_bytes()
        if "0x" + keccak(body).hex() != row["evidence"]:
            raise InputError(f"evidence file {path} does not match the alert's hash {row['evidence']}")
        row["evidence_detail"] = json.loads(body)
    emit(row, as_json, lambda r: key_value_table(r.items(), title=f"alert #{alert_id}"))


def _returned(platform: Platform, loan_id: int) -> int:
    """Loan money returned to the lender so far (0 for a loan never disbursed)."""
    try:
        return platform.funds.funds(loan_id).returned
    except NotFound:
        return 0


@risk.command("decide")
@click.argument("loan_id", type=ID)
@click.argument("decision", type=click.Choice(["continue", "recall"]))
@json_option
@signed_command
def decide_cmd(platform: Platform, signer: LocalAccount, loan_id: int, decision: str, as_json: bool) -> None:
    """The lender's decision on a warned loan: continue (tracking goes on) or recall (money intercepted)."""
    before = _returned(platform, loan_id)
    receipt = platform.risk.as_(signer).decide(loan_id, Decision[decision.upper()])
    intercepted = _returned(platform, loan_id) - before
    code = platform.currency_code(platform.loans.loan(loan_id).currency)
    emit_tx(receipt, f"loan #{loan_id}: {decision}", as_json, intercepted=money(intercepted, code))


@risk.command("raise")
@click.option("--loan", "loan_id", type=ID, help="The loan the alert is on (or --chain).")
@click.option("--chain", "chain_id", type=ID, help="The supply chain the alert is on (or --loan).")
@click.option("--indicator", type=click.IntRange(min=1, max=2**16 - 1), required=True,
              help="The indicator's code (101... as `vscm risk alerts` names them; your own above 1000).")
@click.option("--severity", type=click.Choice([s.name.lower() for s in Severity]), default="high",
              show_default=True, help="Medium and above warn a running loan (the decision window starts).")
@click.option("--evidence", type=HASH32, required=True, help="The evidence's hash (keep the evidence itself).")
@json_option
@signed_command
def raise_cmd(platform: Platform, signer: LocalAccount, loan_id: int | None, chain_id: int | None, indicator: int,
              severity: str, evidence: bytes, as_json: bool) -> None:
    """A monitor (or a detector) raises an alert by hand, on a loan or on a supply chain.

    \b
    vscm risk raise --loan 6 --indicator 1001 --severity high --evidence 0x… --wallet monitor
    vscm risk raise --chain 3 --indicator 1002 --evidence 0x… --wallet monitor
    """
    if (loan_id is None) == (chain_id is None):
        raise InputError("risk raise: give exactly one of --loan ID and --chain ID")
    level = Severity[severity.upper()]
    risk_ = platform.risk.as_(signer)
    if loan_id is not None:
        alert_id = risk_.raise_loan_alert(loan_id, indicator, level, evidence)
        subject = f"loan #{loan_id}"
    else:
        assert chain_id is not None
        alert_id = risk_.raise_chain_alert(chain_id, indicator, level, evidence)
        subject = f"chain #{chain_id}"
    emit_tx(platform.last_receipt, f"alert #{alert_id} raised on {subject}", as_json, alert_id=alert_id,
            indicator=indicator, what=_indicator(indicator), severity=severity,
            next_step=f"vscm risk show {alert_id}")


@risk.command("lapse")
@click.argument("loan_id", type=ID)
@json_option
@signed_command
def lapse_cmd(platform: Platform, signer: LocalAccount, loan_id: int, as_json: bool) -> None:
    """After the decision deadline: apply the lapse policy (freeze by default)."""
    _, policy, _ = platform.risk.parameters()
    receipt = platform.risk.as_(signer).lapse(loan_id)
    emit_tx(receipt, f"loan #{loan_id}: deadline lapsed", as_json, policy=policy.name.lower())


@risk.command("declare-fraud")
@click.argument("chain_id", type=ID)
@click.option("--evidence", type=HASH32, required=True, help="The evidence hash (e.g. a chain alert's).")
@json_option
@signed_command
def declare_fraud_cmd(platform: Platform, signer: LocalAccount, chain_id: int, evidence: bytes,
                      as_json: bool) -> None:
    """The operator proposes a fraud finding; an auditor co-signs the same evidence (the chain is evicted)."""
    r = platform.risk
    case = r.fraud_case(chain_id)
    if r.contract.functions.hasRole(r.role("OPERATOR_ROLE"), signer.address).call() and \
            case.proposed_by != signer.address:
        receipt = r.as_(signer).propose_fraud(chain_id, evidence)
        from datetime import datetime, timezone

        until = platform.members.investigated_until(chain_id)
        emit_tx(receipt, f"fraud finding on chain #{chain_id} proposed", as_json,
                under_investigation_until=datetime.fromtimestamp(until, tz=timezone.utc),
                next_step="an auditor runs the same command with the same --evidence before then")
        return
    receipt = r.as_(signer).confirm_fraud(chain_id, evidence)
    case = r.fraud_case(chain_id)
    notices = [{"lender": ln, **{k: v for k, v in r.exposure(chain_id, ln).__dict__.items()
                                  if k in ("loans", "outstanding", "frozen")}}
               for ln in r.exposed_lenders(chain_id)] if case.sweep_done else []
    emit_tx(receipt, f"chain #{chain_id} declared fraudulent and evicted", as_json, swept=case.swept,
            sweep_done=case.sweep_done, lenders_notified=len(notices))


@risk.command("withdraw-fraud")
@click.argument("chain_id", type=ID)
@json_option
@signed_command
def withdraw_fraud_cmd(platform: Platform, signer: LocalAccount, chain_id: int, as_json: bool) -> None:
    """The operator withdraws its pending fraud proposal: the chain's members may leave it again.

    \b
    vscm risk withdraw-fraud 3 --wallet operator
    """
    receipt = platform.risk.as_(signer).withdraw_fraud(chain_id)
    emit_tx(receipt, f"fraud proposal on chain #{chain_id} withdrawn", as_json)


@risk.command("sweep")
@click.argument("chain_id", type=ID)
@click.option("--max-loans", type=ID, default=50, show_default=True)
@json_option
@signed_command
def sweep_cmd(platform: Platform, signer: LocalAccount, chain_id: int, max_loans: int, as_json: bool) -> None:
    """Continue freezing a declared chain's loans (large chains take several transactions)."""
    receipt = platform.risk.as_(signer).sweep_chain(chain_id, max_loans)
    case = platform.risk.fraud_case(chain_id)
    emit_tx(receipt, f"chain #{chain_id} swept", as_json, swept=case.swept, sweep_done=case.sweep_done)


@risk.command("exposure")
@click.argument("chain_id", type=ID)
@json_option
@platform_command
def exposure_cmd(platform: Platform, chain_id: int, as_json: bool) -> None:
    """Each lender's exposure to a chain declared fraudulent, as notified: one row per lender and currency."""
    rows = [{"lender": lender, "currency": code, "loans": part["loans"],
             "outstanding": money(part["outstanding"], code), "frozen": money(part["frozen"], code)}
            for lender in platform.risk.exposed_lenders(chain_id)
            for code, part in exposure_by_currency(platform, chain_id, lender).items()]

    def view(items: list[dict[str, Any]]) -> Table:
        t = Table("lender", "currency", "loans", "outstanding", "frozen loan money",
                  title=f"exposure to chain #{chain_id}")
        for r in items:
            t.add_row(r["lender"], r["currency"], str(r["loans"]), str(r["outstanding"]), str(r["frozen"]))
        return t

    emit(rows, as_json, view)


def exposure_by_currency(platform: Platform, chain_id: int, lender: str) -> dict[str, dict[str, int]]:
    """RiskControl's exposure of ``lender`` to ``chain_id`` split by currency: the contract adds up the loans the
    sweep counted whatever their currency, so each is read again as the sweep saw it (the loans of the chain in
    sweep order, each at the block of the ``ChainSwept`` that took it, whose time the interest owed depends on; the
    sweep changes no loan: counted when running, recalled or defaulted; what it owed then; the unspent money its
    ``LoanFrozenForFraud`` froze).

    Raises:
        ChainError: the split does not add up to the contract's figures (the message gives both).
    """
    from vscm.errors import ChainError

    risk, book = platform.risk.contract, platform.loans.contract
    start = platform.deployment.block
    batches = sorted((int(log["blockNumber"]), int(log["args"]["swept"])) for log in
                     risk.events.ChainSwept().get_logs(from_block=start, argument_filters={"chainId": chain_id}))
    frozen = {int(log["args"]["loanId"]): int(log["args"]["unspent"]) for log in
              risk.events.LoanFrozenForFraud().get_logs(from_block=start, argument_filters={"chainId": chain_id})}
    from vscm.client.records import LoanStatus

    counted = {LoanStatus.DISBURSED, LoanStatus.WARNED, LoanStatus.RECALLED, LoanStatus.DEFAULTED}  # _sweepLoan
    split: dict[str, dict[str, int]] = {}
    done = 0
    for block, end in batches:
        for index in range(done, end):
            loan_id = int(book.functions.chainLoanAt(chain_id, index).call(block_identifier=block))
            raw = book.functions.getLoan(loan_id).call(block_identifier=block)
            status, loan_lender, currency = LoanStatus(raw[1]), raw[14], raw[17]  # as Loan.from_chain
            if loan_lender != lender or status not in counted:
                continue
            code = platform.currency_code(currency)
            part = split.setdefault(code, {"loans": 0, "outstanding": 0, "frozen": 0})
            part["loans"] += 1
            part["outstanding"] += int(book.functions.outstanding(loan_id).call(block_identifier=block))
            part["frozen"] += frozen.get(loan_id, 0)
        done = max(done, end)
    total = platform.risk.exposure(chain_id, lender)
    sums = {k: sum(p[k] for p in split.values()) for k in ("loans", "outstanding", "frozen")}
    if sums != {"loans": total.loans, "outstanding": total.outstanding, "frozen": total.frozen}:
        raise ChainError(f"the exposure of {lender} to chain #{chain_id} read loan by loan ({sums}) does not add up to "
                         f"RiskControl's ({total.loans} loans, outstanding {total.outstanding}, frozen {total.frozen}): "
                         "another transaction of the block that swept a loan changed it; the contract's figures mix currencies")
    return split


@risk.command("parameters")
@json_option
@platform_command
def parameters_cmd(platform: Platform, as_json: bool) -> None:
    """The control parameters: decision window, lapse policy, lowest severity that warns a loan."""
    window, policy, severity = platform.risk.parameters()
    emit({"decision_window_seconds": window, "lapse_policy": policy.name.lower(), "warn_severity": severity},
         as_json, lambda d: key_value_table(d.items(), title="control parameters"))


@risk.command("set-parameters")
@click.option("--window-hours", type=click.IntRange(min=1, max=720), required=True, help="Decision window.")
@click.option("--lapse", "lapse_policy", type=click.Choice([p.name.lower() for p in LapsePolicy]), required=True)
@click.option("--warn-severity", type=click.IntRange(min=1, max=4), required=True)
@json_option
@signed_command
def set_parameters_cmd(platform: Platform, signer: LocalAccount, window_hours: int, lapse_policy: str,
                       warn_severity: int, as_json: bool) -> None:
    """Operator: the decision window, the lapse policy and the lowest severity that warns a loan."""
    receipt = platform.risk.as_(signer).set_parameters(window_hours * 3600, LapsePolicy[lapse_policy.upper()],
                                                      warn_severity)
    emit_tx(receipt, "control parameters set", as_json, window_hours=window_hours, lapse=lapse_policy,
            warn_severity=warn_severity)
