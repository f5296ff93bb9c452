"""The risk monitor: follow the chain, feed the risk engine, raise alerts on chain with evidence.

    monitor = Monitor(platform, monitor_account, state_dir=Path("~/.vscm/monitor/local"))
    raised = monitor.step()          # everything from the saved cursor to the latest block
    monitor.follow(interval=2.0)     # keep going as new blocks arrive

Each step reads the platform contracts' logs in block windows and the transactions to them that
reverted (a refused payment of loan money leaves no log, only a failed transaction), decodes them into
:class:`~vscm.risk.events.ChainEvent` / :class:`~vscm.risk.events.FailedCall`, feeds them in chain
order to the :class:`~vscm.risk.indicators.RiskEngine`, and turns each finding into a RiskControl
alert signed by the monitor's own key. The alert carries the keccak-256 of the finding's canonical
JSON; the JSON itself is kept in ``<state_dir>/evidence/<hash>.json`` for lenders and auditors.
The cursor (block number and hash) and the engine's state are saved after every window, and each
raised alert is saved (written, fsync'd, renamed) before the next one is sent. A monitor killed in
the middle of a window restarts from the window's start: the engine finds the same findings again,
those already saved are skipped, and the one whose transaction went out just before the crash is
refused by RiskControl (``RiskAlertRepeated``, which names the alert that holds it) and recorded as
raised. A cursor block whose hash changed (a reorganisation) is refused with the block named.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from hexbytes import HexBytes
from web3 import Web3

from vscm.chain.revert import revert_from_exception
from vscm.client.platform import Platform
from vscm.errors import ChainError, ContractRevert, InputError
from vscm.risk.config import Thresholds, load_thresholds
from vscm.risk.events import ChainEvent, FailedCall, Finding, Record
from vscm.risk.indicators import RiskEngine

__all__ = ["EventSource", "Monitor", "RaisedAlert", "evidence_hash"]

STATE_FILE = "monitor.json"
EVIDENCE_DIR = "evidence"
STATE_FORMAT = 1


def _plain(value: Any) -> Any:
    """Decoded log/call values as the engine wants them: bytes as 0x-hex, tuples as lists."""
    if isinstance(value, (bytes, bytearray, HexBytes)):
        return "0x" + bytes(value).hex()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _calldata(tx: Any) -> Any:
    """A transaction's call data: "input" on most nodes, "data" on eth-tester."""
    return tx["input"] if "input" in tx else tx["data"]


def canonical(finding: Finding) -> bytes:
    """The finding as canonical JSON (sorted keys, no spaces): what the evidence hash covers."""
    body = {"subject": finding.subject, "subject_id": finding.subject_id, "indicator": int(finding.indicator),
            "severity": int(finding.severity), "key": finding.key, "block": finding.block,
            "evidence": finding.evidence}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()


def evidence_hash(finding: Finding) -> bytes:
    return keccak(canonical(finding))


class EventSource:
    """Reads one deployment's logs and failed transactions as risk-engine records."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.w3: Web3 = platform.chain.w3
        contracts: list[tuple[str, Any]] = [
            ("MemberRegistry", platform.members.contract), ("OrderBook", platform.orders.contract),
            ("AssetRegistry", platform.assets.contract), ("LoanBook", platform.loans.contract),
            ("FundTracker", platform.funds.contract),
        ]
        contracts += [("PlatformCash", platform.cash(code).contract) for code in platform.currencies]
        if platform.deployment.risk:
            contracts.append(("RiskControl", platform.risk.contract))
        if platform.deployment.certificates:
            contracts.append(("Certificates", platform.certificates.contract))
        self.contracts = {str(c.address): (name, c) for name, c in contracts}
        self._events: dict[tuple[str, bytes], tuple[str, Any]] = {}
        for address, (name, contract) in self.contracts.items():
            for entry in contract.abi:
                if entry.get("type") == "event":
                    event = getattr(contract.events, entry["name"])()
                    self._events[(address, bytes(HexBytes(event.topic)))] = (name, event)
        self._times: dict[int, int] = {}

    def block_time(self, number: int) -> int:
        if number not in self._times:
            self._times[number] = int(self.w3.eth.get_block(number)["timestamp"])
        return self._times[number]

    def records(self, first: int, last: int) -> list[Record]:
        """Every record of blocks ``first..last`` in chain order (block, transaction, log)."""
        keyed: list[tuple[tuple[int, int, int], Record]] = []
        logs = self.w3.eth.get_logs({"fromBlock": first, "toBlock": last, "address": [Web3.to_checksum_address(a) for a in self.contracts]})
        for log in logs:
            found = self._events.get((str(log["address"]), bytes(log["topics"][0])))
            if found is None:
                continue
            name, event = found
            args = event.process_log(log)["args"]
            block = int(log["blockNumber"])
            keyed.append(((block, int(log["transactionIndex"]), int(log["logIndex"])), ChainEvent(
                block=block, time=self.block_time(block), contract=name, name=event.event_name,
                args={k: _plain(v) for k, v in args.items()}, tx="0x" + bytes(log["transactionHash"]).hex(),
                log_index=int(log["logIndex"]), address=str(log["address"]))))
        logged = {bytes(log["transactionHash"]) for log in logs}
        for number in range(first, last + 1):
            for index, call in self._failed_calls(number, logged):
                keyed.append(((number, index, -1), call))
        keyed.sort(key=lambda pair: pair[0])
        return [record for _, record in keyed]

    def _failed_calls(self, number: int, logged: set[bytes]) -> Iterator[tuple[int, FailedCall]]:
        """Transactions to a platform contract mined in block ``number`` that reverted. A reverted
        transaction leaves no log, so only those without a log in ``logged`` are looked at."""
        block = self.w3.eth.get_block(number, full_transactions=True)
        self._times[number] = int(block["timestamp"])
        txs: list[Any] = list(block["transactions"])
        for tx in txs:
            to = tx.get("to")
            if to is None or str(to) not in self.contracts or bytes(tx["hash"]) in logged:
                continue
            receipt = self.w3.eth.get_transaction_receipt(tx["hash"])
            if int(receipt["status"]) == 1:
                continue
            name, contract = self.contracts[str(to)]
            try:
                fn, params = contract.decode_function_input(_calldata(tx))
            except ValueError:
                continue  # not a call of this contract's ABI: nothing the engine could read
            yield int(receipt["transactionIndex"]), FailedCall(
                block=number, time=int(block["timestamp"]), contract=name, function=fn.fn_name,
                args={k: _plain(v) for k, v in params.items()}, sender=str(tx["from"]),
                error=self._why(tx, number, name, fn.fn_name), tx="0x" + bytes(tx["hash"]).hex())

    def _why(self, tx: Any, number: int, contract: str, function: str) -> str:
        """The custom error of a failed transaction, from its replay on the state before its block."""
        call = {"from": tx["from"], "to": tx["to"], "data": _calldata(tx), "value": tx.get("value", 0),
                "gas": tx["gas"]}
        try:
            self.w3.eth.call(call, block_identifier=max(number - 1, 0))  # type: ignore[arg-type]
        except Exception as exc:  # noqa: BLE001 - the replay's failure is the answer
            revert = revert_from_exception(exc, contract=contract, function=function)
            return revert.name if revert is not None else "unknown"
        return "unknown"


@dataclass(frozen=True)
class RaisedAlert:
    """What the monitor did with one finding: the alert id on chain, or why there is none."""

    finding: Finding
    evidence: str
    alert_id: int | None = None
    error: str | None = None


@dataclass
class _State:
    network: str
    risk: str
    cursor: int
    cursor_hash: str
    engine: dict[str, Any]
    raised: list[dict[str, Any]] = field(default_factory=list)
    #: chain time of the last time-based tick, saved with the cursor so that a restarted monitor
    #: ticks where the first run did (and finds the same findings with the same evidence)
    last_tick: int = 0


class Monitor:
    """Follows one deployment and raises the risk engine's findings as RiskControl alerts.

    Args:
        platform: the connected deployment (it must have a RiskControl).
        signer: the monitor's own account (an active member with the Monitor role).
        state_dir: where the cursor, the engine state and the evidence files live; ``None`` keeps
            everything in memory (tests, the demo).
        thresholds: the indicator thresholds (default: ``vscm/risk/thresholds.toml``).
        window: blocks read per step of the cursor.
        tick_seconds: the time-based indicators (late repayments, undelivered invoices, receipt
            drops) run at the end of every window and whenever chain time moved this much.
        dry_run: find and record, but raise nothing on chain.
    """

    def __init__(self, platform: Platform, signer: LocalAccount | None, state_dir: Path | None = None,
                 thresholds: Thresholds | None = None, window: int = 500, dry_run: bool = False,
                 tick_seconds: int = 3600) -> None:
        if not platform.deployment.risk:
            raise InputError(f"deployment {platform.deployment.network} has no RiskControl to raise alerts in")
        if signer is None and not dry_run:
            raise InputError("the monitor needs its own key to raise alerts (or a dry run)")
        if window < 1:
            raise InputError(f"window must be at least 1 block, got {window}")
        self.platform = platform
        self.signer = signer
        self.state_dir = state_dir
        self.window = window
        self.dry_run = dry_run
        self.tick_seconds = tick_seconds
        self.source = EventSource(platform)
        self.thresholds = thresholds or load_thresholds()
        self.state = self._load()
        self._last_tick = self.state.last_tick
        self._done = {r["key"] for r in self.state.raised if r.get("alert_id") is not None or r.get("error")}
        self.engine = RiskEngine.from_state(self.state.engine, self.thresholds) if self.state.engine \
            else RiskEngine(self.thresholds)

    # ---------------------------------------------------------------- persistence

    def _state_path(self) -> Path | None:
        return self.state_dir / STATE_FILE if self.state_dir else None

    def _load(self) -> _State:
        d = self.platform.deployment
        fresh = _State(network=d.network, risk=d.risk, cursor=d.block - 1, cursor_hash="", engine={})
        path = self._state_path()
        if path is None or not path.is_file():
            return fresh
        try:
            data = json.loads(path.read_text())
            if data.get("format") != STATE_FORMAT:
                raise ValueError(f"format {data.get('format')!r}, expected {STATE_FORMAT}")
            state = _State(**{k: v for k, v in data.items() if k != "format"})
        except (ValueError, TypeError) as exc:
            raise InputError(f"monitor state {path} is not valid: {exc}") from None
        if state.risk != d.risk:
            raise InputError(f"monitor state {path} belongs to RiskControl {state.risk}, not {d.risk}: "
                             "use another --state directory")
        return state

    def _save(self) -> None:
        path = self._state_path()
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        body = {"format": STATE_FORMAT, **self.state.__dict__}
        with open(tmp, "w") as out:
            out.write(json.dumps(body, sort_keys=True))
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)

    def _keep_evidence(self, finding: Finding, digest: str) -> None:
        if self.state_dir is None:
            return
        folder = self.state_dir / EVIDENCE_DIR
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{digest}.json").write_bytes(canonical(finding))

    # ---------------------------------------------------------------- following

    @property
    def cursor(self) -> int:
        return self.state.cursor

    def _check_cursor(self) -> None:
        if not self.state.cursor_hash:
            return
        from web3.exceptions import BlockNotFound

        try:
            now = "0x" + bytes(self.source.w3.eth.get_block(self.state.cursor)["hash"]).hex()
        except BlockNotFound:
            head = int(self.source.w3.eth.block_number)
            raise ChainError(f"block {self.state.cursor} the monitor read is no longer on the chain (its head is "
                             f"block {head}): the chain was reorganised to a shorter one; start over with a new "
                             "--state directory") from None
        if now != self.state.cursor_hash:
            raise ChainError(f"block {self.state.cursor} changed since the monitor read it "
                             f"({self.state.cursor_hash} -> {now}): the chain was reorganised; "
                             "start over with a new --state directory")

    def step(self, to_block: int | None = None,
             on_alert: Callable[[RaisedAlert], None] | None = None) -> list[RaisedAlert]:
        """Read from the cursor to ``to_block`` (default: the latest block) and act on the findings."""
        self._check_cursor()
        latest = int(self.source.w3.eth.block_number)
        last = latest if to_block is None else min(to_block, latest)
        raised: list[RaisedAlert] = []
        while self.state.cursor < last:
            first = self.state.cursor + 1
            end = min(first + self.window - 1, last)
            findings: list[Finding] = []
            for record in self.source.records(first, end):
                if record.time >= self._last_tick + self.tick_seconds:
                    findings += self._tick(record.time, record.block)
                findings += self.engine.feed(record)
            findings += self._tick(self.source.block_time(end), end)
            for finding in findings:
                if finding.key in self._done:
                    continue  # raised (and saved) before a crash in this window
                result = self._act(finding)
                raised.append(result)
                if on_alert is not None:
                    on_alert(result)
            block = self.source.w3.eth.get_block(end)
            self.state.cursor = end
            self.state.cursor_hash = "0x" + bytes(block["hash"]).hex()
            self.state.engine = self.engine.state_dict()
            self.state.last_tick = self._last_tick
            self._save()
        return raised

    def _tick(self, when: int, block: int) -> list[Finding]:
        self._last_tick = when
        return self.engine.tick(when, block)

    def follow(self, interval: float = 2.0, until: Callable[[], bool] | None = None,
               on_alert: Callable[[RaisedAlert], None] | None = None) -> None:
        """Step, then wait ``interval`` seconds, until ``until()`` says stop (or Ctrl-C)."""
        while until is None or not until():
            self.step(on_alert=on_alert)
            time.sleep(interval)

    def _act(self, finding: Finding) -> RaisedAlert:
        digest = evidence_hash(finding)
        hex_digest = "0x" + digest.hex()
        self._keep_evidence(finding, hex_digest)
        result = RaisedAlert(finding, hex_digest)
        if not self.dry_run:
            assert self.signer is not None
            risk = self.platform.risk.as_(self.signer)
            try:
                if finding.subject == "loan":
                    alert_id = risk.raise_loan_alert(finding.subject_id, int(finding.indicator),
                                                     int(finding.severity), digest).id
                else:
                    alert_id = risk.raise_chain_alert(finding.subject_id, int(finding.indicator),
                                                      int(finding.severity), digest).id
                result = RaisedAlert(finding, hex_digest, alert_id=alert_id)
            except ContractRevert as exc:
                if exc.name == "RiskAlertRepeated":
                    # sent before a crash, not saved: the chain holds it, so it is raised
                    result = RaisedAlert(finding, hex_digest, alert_id=int(exc.values["alertId"]))
                else:
                    result = RaisedAlert(finding, hex_digest, error=str(exc))
        self.state.raised.append({"key": finding.key, "subject": finding.subject, "subject_id": finding.subject_id,
                                  "indicator": int(finding.indicator), "severity": int(finding.severity),
                                  "block": finding.block, "evidence": hex_digest, "alert_id": result.alert_id,
                                  "error": result.error})
        if not self.dry_run:
            # saved before the next alert is sent: a crash loses at most the one in flight, which the
            # chain then refuses as a repeat
            self._done.add(finding.key)
            self._save()
        return result


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX: the directory entry is data of the directory)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot fsync a directory; the rename itself is atomic
    finally:
        os.close(fd)
