"""The consortium council in the replay: its Safe (owners, threshold, approvals, executions) and its
TimelockController (every scheduled call: when it becomes executable, executed or cancelled).

What lenders watch before a governed change takes effect is the timelock's queue; the index keeps it in
the table ``timelock_ops`` (one record per operation id), which ``vscm.console`` shows with the call
decoded (``vscm.client.council.decode_call_data``, the decoder of ``vscm council pending``). The Safe's
``ApproveHash`` events name who proposed and who approved each Safe transaction (``safe_txs``), and the
``ExecutionSuccess`` in the transaction that scheduled an operation links the two.

Checked against the contracts: the Safe's owners and threshold, the timelock's delay, and each
operation's ``getTimestamp`` (its ready time; 1 once executed; 0 once cancelled).
"""

from __future__ import annotations

from typing import Any

from eth_utils import to_checksum_address

from vscm.audit.decode import DecodedEvent
from vscm.audit.fold import ACCESS, FoldContext, register
from vscm.audit.state import Finding, State
from vscm.audit.verify import Views, _diff, register_verifier

__all__ = ["DONE_TIMESTAMP", "SAFE", "TIMELOCK", "operation_state"]

SAFE, TIMELOCK = "Safe", "TimelockController"
#: TimelockController._DONE_TIMESTAMP: getTimestamp of an executed operation.
DONE_TIMESTAMP = 1


def operation_state(op: dict[str, Any], now: int) -> str:
    """``done``, ``cancelled``, ``ready`` (its delay is over at ``now``) or ``waiting``."""
    if op.get("executedAt"):
        return "done"
    if op.get("cancelledAt"):
        return "cancelled"
    return "ready" if op["readyAt"] <= now else "waiting"


# ---------------------------------------------------------------- Safe

def _setup(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    s.put("council", "safe", {"address": ev.log.address, "owners": [to_checksum_address(o) for o in ev.args["owners"]],
                              "threshold": ev.args["threshold"], "modules": [], "guard": "", "fallbackHandler":
                              to_checksum_address(ev.args["fallbackHandler"])})


def _safe(s: State, ev: DecodedEvent) -> dict[str, Any]:
    return dict(s.get("council", "safe") or {"address": ev.log.address, "owners": [], "threshold": 0, "modules": [],
                                              "guard": "", "fallbackHandler": ""})


def _owner(added: bool) -> Any:
    def handler(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
        safe, owner = _safe(s, ev), to_checksum_address(ev.args["owner"])
        # Safe.addOwnerWithThreshold puts the new owner first; removeOwner takes it out of the list.
        safe["owners"] = [owner, *safe["owners"]] if added else [o for o in safe["owners"] if o != owner]
        s.put("council", "safe", safe)
    return handler


def _safe_field(field: str, arg: str, is_list: bool = False, remove: bool = False) -> Any:
    def handler(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
        safe, value = _safe(s, ev), ev.args[arg]
        if is_list:
            value = to_checksum_address(value)
            safe[field] = [m for m in safe[field] if m != value] + ([] if remove else [value])
        else:
            safe[field] = value
        s.put("council", "safe", safe)
    return handler


def _approve_hash(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    h, owner = ev.args["approvedHash"], to_checksum_address(ev.args["owner"])
    record = dict(s.get("safe_txs", h) or {"hash": h, "proposer": owner, "proposedAt": ctx.ts(ev.log.block_number),
                                           "approvals": [], "executedAt": 0, "executedTx": "", "failed": False})
    if owner not in record["approvals"]:
        record["approvals"] = [*record["approvals"], owner]
    s.put("safe_txs", h, record)


def _execution(failed: bool) -> Any:
    def handler(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
        h = ev.args["txHash"]
        record = dict(s.get("safe_txs", h) or {"hash": h, "proposer": "", "proposedAt": 0, "approvals": []})
        record.update(executedAt=ctx.ts(ev.log.block_number), executedTx=ev.log.tx_hash, failed=failed)
        s.put("safe_txs", h, record)
        # The operations the same transaction scheduled on the timelock are this Safe transaction's.
        for op_id in (s.get("council_txs", ev.log.tx_hash) or {}).get("scheduled", []):
            op = s.get("timelock_ops", op_id)
            if op is not None and not failed:
                s.put("timelock_ops", op_id, {**op, "safeTx": h, "proposer": record["proposer"],
                                              "approvals": record["approvals"]})
    return handler


def _counted(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    """Ether received, a message signed, a module's call: nothing the council's queue shows (counted)."""


register(SAFE, {
    "SafeSetup": _setup, "AddedOwner": _owner(True), "RemovedOwner": _owner(False),
    "ChangedThreshold": _safe_field("threshold", "threshold"),
    "EnabledModule": _safe_field("modules", "module", is_list=True),
    "DisabledModule": _safe_field("modules", "module", is_list=True, remove=True),
    "ChangedGuard": _safe_field("guard", "guard"), "ChangedModuleGuard": _safe_field("moduleGuard", "moduleGuard"),
    "ChangedFallbackHandler": _safe_field("fallbackHandler", "handler"),
    "ApproveHash": _approve_hash, "ExecutionSuccess": _execution(False), "ExecutionFailure": _execution(True),
    "SafeReceived": _counted, "SignMsg": _counted, "ExecutionFromModuleSuccess": _counted,
    "ExecutionFromModuleFailure": _counted,
})


# ---------------------------------------------------------------- TimelockController

def _scheduled(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    a, ts = ev.args, ctx.ts(ev.log.block_number)
    op = dict(s.get("timelock_ops", a["id"]) or {
        "id": a["id"], "timelock": ev.log.address, "calls": [], "predecessor": a["predecessor"], "delay": a["delay"],
        "salt": "0x" + "00" * 32, "scheduledAt": ts, "readyAt": ts + a["delay"], "block": ev.log.block_number,
        "tx": ev.log.tx_hash, "executedAt": 0, "executedTx": "", "cancelledAt": 0, "cancelledTx": "",
        "proposer": "", "approvals": [], "safeTx": ""})
    op["calls"] = [*op["calls"], {"index": a["index"], "target": a["target"], "value": a["value"], "data": a["data"]}]
    s.put("timelock_ops", a["id"], op)
    tx = dict(s.get("council_txs", ev.log.tx_hash) or {"scheduled": []})
    if a["id"] not in tx["scheduled"]:
        tx["scheduled"] = [*tx["scheduled"], a["id"]]
    s.put("council_txs", ev.log.tx_hash, tx)


def _op(s: State, ev: DecodedEvent) -> dict[str, Any] | None:
    op = s.get("timelock_ops", ev.args["id"])
    if op is None:
        s.findings.append(Finding("event", f"timelock operation {ev.args['id']}", ev.name, "a scheduled operation",
                                  "never scheduled", ev.log.block_number, f"tx {ev.log.tx_hash}"))
    return op


def _salt(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    op = _op(s, ev)
    if op is not None:
        s.put("timelock_ops", ev.args["id"], {**op, "salt": ev.args["salt"]})


def _executed(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    op = _op(s, ev)
    if op is not None:
        s.put("timelock_ops", ev.args["id"], {**op, "executedAt": ctx.ts(ev.log.block_number),
                                              "executedTx": ev.log.tx_hash})


def _cancelled(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    op = _op(s, ev)
    if op is not None:
        s.put("timelock_ops", ev.args["id"], {**op, "cancelledAt": ctx.ts(ev.log.block_number),
                                              "cancelledTx": ev.log.tx_hash})


def _min_delay(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    s.put("council", "timelock", {"address": ev.log.address, "delay": ev.args["newDuration"]})


register(TIMELOCK, {**ACCESS, "CallScheduled": _scheduled, "CallSalt": _salt, "CallExecuted": _executed,
                    "Cancelled": _cancelled, "MinDelayChange": _min_delay})


@register_verifier
def _council(state: State, v: Views, out: list[Finding]) -> None:
    safe, timelock = state.get("council", "safe"), state.get("council", "timelock")
    if safe is not None:
        # Owners as a set: swapOwner keeps the old owner's place, which its two events do not say.
        theirs = {"owners": sorted(to_checksum_address(o) for o in v.call(SAFE, "getOwners", address=safe["address"])),
                  "threshold": v.call(SAFE, "getThreshold", address=safe["address"])}
        _diff(out, f"council Safe {safe['address']}", {**safe, "owners": sorted(safe["owners"])}, theirs, v.block)
    if timelock is not None:
        _diff(out, f"council timelock {timelock['address']}", timelock,
              {"delay": v.call(TIMELOCK, "getMinDelay", address=timelock["address"])}, v.block)
    for op_id, op in state.table("timelock_ops").items():
        expected = DONE_TIMESTAMP if op["executedAt"] else 0 if op["cancelledAt"] else op["readyAt"]
        found = v.call(TIMELOCK, "getTimestamp", bytes.fromhex(op_id[2:]), address=op["timelock"])
        if found != expected:
            out.append(Finding("state", f"timelock operation {op_id}", "getTimestamp", expected, found, v.block))
