"""TelemetryOracle in the replay: devices, signer sets, watches, routes, limits, bounds, the alert sink,
accepted batches, device sequences, target states with their breaches, and margin calls.

Plugged in like RiskControl: a handler table (``register``) and a verifier (``register_verifier``).
Each handler checks what its event says against the folded history (a device rotates from the key
the history gave it, a sequence only moves forward, a breach flips a bit its ``TargetUpdated`` flipped,
a margin call's figures follow from the folded receipt and loan). Batches are published with
signatures; a report's breach bits and margin flips must be announced exactly as the contract changed
them, so each ``TargetUpdated`` leaves the changed bits pending until their ``BreachDetected`` /
``BreachCleared`` arrive.

Some of the contract's state has no event to rebuild it from (see :data:`NO_EVENT`): the replay says
so in its notes, checks what it can of it (a batch period within the freshness limits), and leaves
the rest out of the comparison instead of reporting differences nobody could avoid.
"""

from __future__ import annotations

from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address

from vscm.audit.decode import DecodedEvent
from vscm.audit.fold import (
    ACCESS,
    L_DISBURSED,
    L_WARNED,
    FoldContext,
    _check,
    owed,
    pending_interest,
    register,
)
from vscm.audit.replay import CONTRACT_NOTES, SETUP_EVENTS
from vscm.audit.state import ZERO, Finding, State, key
from vscm.audit.verify import Views, _diff, register_verifier

__all__ = ["DEFAULT_BOUNDS", "DEFAULT_LIMITS", "NO_EVENT", "is_off_route"]

CONTRACT = "TelemetryOracle"
ASSET, SHIPMENT = 0, 1
GOODS_MISSING, TEMPERATURE, DOOR_OUT_OF_HOURS, OFF_ROUTE = range(4)
MODE_PLEDGE = 0
BPS = 10_000
#: TelemetryOracle.MAX_SEQ_ADVANCE: how far one report may move a device's sequence
MAX_SEQ_ADVANCE = 2**32

#: The constructor's bounds per metric (Weight, Temperature, Location, Door) and limits: set without an event.
DEFAULT_BOUNDS = {0: (0, 10**15), 1: (-8000, 15000), 2: (-180_000_000, 180_000_000), 3: (0, 1)}
DEFAULT_LIMITS = (3600, 300)

#: Contract state that no event carries, so the history cannot rebuild it (the design says every state
#: change emits an event: each line is a gap of TelemetryOracle, reported in every replay's notes).
NO_EVENT = (
    ("TelemetryOracle: constructor bounds and limits (maxAge 1 h, maxSkew 5 min) are set without BoundsSet/LimitsSet; "
    "the replay assumes the source's defaults until an event sets them"),
    ("TelemetryOracle: a batch's periodStart/periodEnd are not in ReportAccepted; only checked against the "
    "freshness limits at acceptance"),
    ("TelemetryOracle: a target's fields, minTemp, maxTemp, lat, lon, doorOpenings and outOfHoursAt are not in "
    "TargetUpdated (BreachDetected shows one of them when a breach starts); not compared"),
    ("TelemetryOracle: a target's collateralValue is rewritten by every quantity summary of a pledged receipt but "
    "emitted only with MarginCall/MarginCallCleared; not compared"),
    ("TelemetryOracle: no count or enumeration of devices, batches or targets; a record the history never "
    "announced shows only as a known target's activeDevices"),
)
CONTRACT_NOTES[CONTRACT] = set(NO_EVENT)
SETUP_EVENTS[CONTRACT] = {"AlertSinkSet", "SignerSetChanged"}  # wiring: no device, watch, batch or target yet

#: TargetState fields the history rebuilds (the others are in NO_EVENT).
TARGET_FIELDS = ("batchId", "updatedAt", "breaches", "marginCall", "activeDevices", "quantity", "loanId")


def _target_key(kind: int, target_id: int) -> str:
    return key(kind, target_id)


def _target(s: State, kind: int, target_id: int) -> dict[str, Any]:
    return s.get("oracle_targets", _target_key(kind, target_id)) or {
        "kind": kind, "targetId": target_id, "batchId": 0, "updatedAt": 0, "breaches": 0, "marginCall": False,
        "activeDevices": 0, "quantity": 0, "collateralValue": 0, "maxTemp": 0, "loanId": 0}


def _current_batch(s: State) -> int:
    return (s.get("oracle_cursor", "batch") or {"batchId": 0})["batchId"]


def _limits(s: State) -> tuple[int, int]:
    limits = s.get("oracle_limits", "current")
    return (limits["maxAge"], limits["maxSkew"]) if limits else DEFAULT_LIMITS


# ---------------------------------------------------------------- devices

def _device_registered(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    a = ev.args
    did = a["deviceId"]
    _check(s, ev, f"device {did}", "registered before", None, s.get("oracle_devices", did) and "registered")
    namespaced = "0x" + keccak(abi_encode(["address", "bytes32"], [a["owner"], _bytes32(a["serial"])])).hex()
    _check(s, ev, f"device {did}", "id in its owner's namespace", namespaced, did)
    s.put("oracle_devices", did, {"key": a["key"], "owner": a["owner"], "metric": a["metric"], "kind": a["kind"],
                                  "retired": False, "lastSeq": 0, "targetId": a["targetId"]})
    t = _target(s, a["kind"], a["targetId"])
    s.put("oracle_targets", _target_key(a["kind"], a["targetId"]), {**t, "activeDevices": t["activeDevices"] + 1})


def _bytes32(value: Any) -> bytes:
    return bytes.fromhex(value[2:]) if isinstance(value, str) else bytes(value)


def _live_device(s: State, ev: DecodedEvent) -> dict[str, Any]:
    did = ev.args["deviceId"]
    device = s.get("oracle_devices", did)
    if device is None:
        raise KeyError(f"device {did} was never registered")
    _check(s, ev, f"device {did}", "retired", False, device["retired"])
    return device


def _device_retired(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    device = _live_device(s, ev)
    s.update("oracle_devices", ev.args["deviceId"], retired=True)
    t = _target(s, device["kind"], device["targetId"])
    s.put("oracle_targets", _target_key(device["kind"], device["targetId"]),
          {**t, "activeDevices": t["activeDevices"] - 1})


def _device_rotated(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    device = _live_device(s, ev)
    _check(s, ev, f"device {ev.args['deviceId']}", "oldKey", device["key"], ev.args["oldKey"])
    s.update("oracle_devices", ev.args["deviceId"], key=ev.args["newKey"])


# ---------------------------------------------------------------- configuration

def _signer_set(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    current = s.get("oracle_signers", "current") or {"id": 0}
    sid = ev.args["signerSet"]
    _check(s, ev, "signer set", "signerSet", current["id"] + 1, sid)
    record = {"id": sid, "quorum": ev.args["quorum"], "nodes": [to_checksum_address(n) for n in ev.args["nodes"]]}
    s.put("oracle_signers", "current", record)
    s.put("oracle_signer_sets", str(sid), {**record, "block": ev.log.block_number})


def _watch_set(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    a = ev.args
    s.put("oracle_watches", _target_key(a["kind"], a["targetId"]),
          {"minTemp": a["minTemp"], "maxTemp": a["maxTemp"], "openFrom": a["openFrom"], "openTo": a["openTo"]})


def _route_set(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    a = ev.args
    s.put("oracle_routes", str(a["orderId"]), {"lats": list(a["lats"]), "lons": list(a["lons"]),
                                               "corridor": a["corridor"]})


def _bounds_set(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    s.put("oracle_bounds", str(ev.args["metric"]), {"min": ev.args["min"], "max": ev.args["max"]})


# ---------------------------------------------------------------- reports

def _unannounced(s: State, block: int | None) -> list[Finding]:
    """Breach bits the last TargetUpdated changed but no BreachDetected/BreachCleared announced."""
    pending = s.get("oracle_cursor", "pending")
    if not pending:
        return []
    return [Finding("event", f"target {pending['target']}", f"breach {b}", "BreachDetected/BreachCleared",
                    "no event", block if block is not None else pending["block"],
                    f"TargetUpdated of batch {pending['batchId']} changed the flag silently")
            for b in range(8) if pending["changed"] >> b & 1]


def _flush_pending(s: State, ev: DecodedEvent) -> None:
    s.findings.extend(_unannounced(s, ev.log.block_number))
    pending = s.get("oracle_cursor", "pending")
    if pending and pending["changed"]:
        s.put("oracle_cursor", "pending", {**pending, "changed": 0})


def _report_accepted(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    a = ev.args
    _flush_pending(s, ev)
    bid = a["batchId"]
    _check(s, ev, f"batch {bid}", "accepted before", None, s.get("oracle_batches", str(bid)) and "accepted")
    _check(s, ev, f"batch {bid}", "digest seen before", None, s.get("oracle_digests", a["digest"]) and "seen")
    current = s.get("oracle_signers", "current") or {"id": 0}
    _check(s, ev, f"batch {bid}", "signer set installed", True, current["id"] != 0)
    _check(s, ev, f"batch {bid}", "signerSet", current["id"], a["signerSet"])
    max_age, max_skew = _limits(s)
    s.put("oracle_batches", str(bid), {
        "root": a["root"], "digest": a["digest"], "readingCount": a["readingCount"], "signerSet": a["signerSet"],
        "acceptedAt": ctx.ts(ev.log.block_number), "publisher": a["publisher"], "maxAge": max_age,
        "maxSkew": max_skew})
    s.put("oracle_digests", a["digest"], {"batchId": bid})
    s.put("oracle_cursor", "batch", {"batchId": bid})


def _seq_advanced(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    device = _live_device(s, ev)
    did = ev.args["deviceId"]
    _check(s, ev, f"device {did}", "batchId", _current_batch(s), ev.args["batchId"])
    if not 0 < ev.args["lastSeq"] - device["lastSeq"] <= MAX_SEQ_ADVANCE:
        _check(s, ev, f"device {did}", "lastSeq", f"> {device['lastSeq']}, <= {device['lastSeq']} + 2^32",
               ev.args["lastSeq"])
    s.update("oracle_devices", did, lastSeq=ev.args["lastSeq"])
    s.put("oracle_device_seqs", key(did, ev.args["batchId"]), {"lastSeq": ev.args["lastSeq"]})


def _target_updated(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    a = ev.args
    _flush_pending(s, ev)
    tk = _target_key(a["kind"], a["targetId"])
    t = _target(s, a["kind"], a["targetId"])
    _check(s, ev, f"target {tk}", "batchId", _current_batch(s), a["batchId"])
    if t["activeDevices"] == 0:
        _check(s, ev, f"target {tk}", "activeDevices", "> 0", 0)
    # Flags are announced per loan: a new lock resets the margin call and re-announces standing breaches.
    before = announced = t["breaches"]
    lock = _asset_of(s, a["kind"], a["targetId"]).get("lockedBy", 0)
    if lock != t.get("loanId", 0):
        old = s.get("oracle_margin_calls", str(t.get("loanId", 0)))
        if old and old["active"] and old["assetId"] == a["targetId"] and a["kind"] == ASSET:
            s.put("oracle_margin_calls", str(t["loanId"]), {**old, "active": False, "endedBy": "lock changed"})
        t = {**t, "loanId": lock, "marginCall": False}
        if lock:
            announced = 0
    s.put("oracle_targets", tk, {**t, "batchId": a["batchId"], "updatedAt": ctx.ts(ev.log.block_number),
                                 "quantity": a["quantity"], "breaches": a["breaches"]})
    changed = (a["breaches"] & ~announced) | (before & ~a["breaches"])
    s.put("oracle_cursor", "pending", {"target": tk, "batchId": a["batchId"], "changed": changed,
                                       "block": ev.log.block_number})


def _future_goods_key(order_id: int) -> str:
    return "0x" + keccak(abi_encode(["string", "uint256"], ["future-goods", order_id])).hex()


def _asset_of(s: State, kind: int, target_id: int) -> dict[str, Any]:
    """The receipt behind an asset target, or the future-goods right of a shipment's order (empty if none)."""
    if kind == ASSET:
        return s.get("assets", str(target_id)) or {}
    wanted = _future_goods_key(target_id)
    return next((a for a in s.table("assets").values() if a.get("businessKey") == wanted), {})


def _breach(detected: bool) -> Any:
    def handler(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
        a = ev.args
        tk = _target_key(a["kind"], a["targetId"])
        entity = f"target {tk}"
        bit = 1 << a["breach"]
        pending = s.get("oracle_cursor", "pending") or {"target": "", "changed": 0}
        _check(s, ev, entity, f"breach {a['breach']} changed by TargetUpdated", True,
               pending["target"] == tk and bool(pending["changed"] & bit))
        t = _target(s, a["kind"], a["targetId"])
        _check(s, ev, entity, f"breach {a['breach']} flag", detected, bool(t["breaches"] & bit))
        _check(s, ev, entity, "batchId", t["batchId"], a["batchId"])
        if pending["target"] == tk:
            s.put("oracle_cursor", "pending", {**pending, "changed": pending["changed"] & ~bit})
        asset = _asset_of(s, a["kind"], a["targetId"])
        if a["breach"] == GOODS_MISSING and a["kind"] == ASSET:
            expected = asset.get("pledgedQuantity", 0) if asset.get("lockedBy", 0) else asset.get("quantity", 0)
            _check(s, ev, entity, "quantity below the goods in store", detected, t["quantity"] < expected)
        record: dict[str, Any] = {"detected": detected, "block": ev.log.block_number}
        if detected:
            _check(s, ev, entity, "loanId", asset.get("lockedBy", 0), a["loanId"])
            record.update(loanId=a["loanId"], observed=a["observed"])
            if a["breach"] == GOODS_MISSING:
                _check(s, ev, entity, "observed quantity", t["quantity"], a["observed"])
            elif a["breach"] == TEMPERATURE:
                s.put("oracle_targets", tk, {**t, "maxTemp": a["observed"]})
            elif a["breach"] == DOOR_OUT_OF_HOURS:
                w = s.get("oracle_watches", tk) or {"openFrom": 0, "openTo": 0}
                tod = a["observed"] % 86400
                always = w["openFrom"] == 0 and w["openTo"] == 0
                _check(s, ev, entity, "door opening out of hours", True,
                       a["observed"] != 0 and not always and not (w["openFrom"] <= tod < w["openTo"]))
        s.put("oracle_breaches", key(tk, a["batchId"], a["breach"]), record)
    return handler


def _margin_figures(s: State, ev: DecodedEvent, ctx: FoldContext) -> tuple[str, int]:
    """MarginCall/MarginCallCleared against the folded receipt and loan; returns (entity, what is owed)."""
    a = ev.args
    lid, aid = str(a["loanId"]), a["assetId"]
    entity = f"margin call of loan {lid}"
    asset = s.get("assets", str(aid)) or {}
    loan = s.get("loans", lid)
    if loan is None:
        raise KeyError(f"loan {lid} was never applied for")
    _check(s, ev, entity, "receipt lockedBy", a["loanId"], asset.get("lockedBy"))
    _check(s, ev, entity, "pledge loan running", True,
           loan["mode"] == MODE_PLEDGE and loan["status"] in (L_DISBURSED, L_WARNED))
    t = _target(s, ASSET, aid)
    counted = min(t["quantity"], asset.get("pledgedQuantity", 0))
    value = asset["value"] * counted // asset["quantity"] if asset.get("quantity") else 0
    _check(s, ev, entity, "collateralValue", value, a["collateralValue"])
    _check(s, ev, entity, "limit", a["collateralValue"] * loan["ltvBps"] // BPS, a["limit"])
    return entity, owed(loan) + pending_interest(loan, ctx.ts(ev.log.block_number))


def _margin_call(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    a = ev.args
    entity, outstanding = _margin_figures(s, ev, ctx)
    _check(s, ev, entity, "outstanding", outstanding, a["outstanding"])
    _check(s, ev, entity, "limit below outstanding", True, a["limit"] < a["outstanding"])
    t = _target(s, ASSET, a["assetId"])
    _check(s, ev, entity, "already called", False, t["marginCall"])
    s.put("oracle_targets", _target_key(ASSET, a["assetId"]),
          {**t, "marginCall": True, "collateralValue": a["collateralValue"]})
    s.put("oracle_margin_calls", str(a["loanId"]), {
        "assetId": a["assetId"], "active": True, "collateralValue": a["collateralValue"], "limit": a["limit"],
        "outstanding": a["outstanding"], "batchId": _current_batch(s), "block": ev.log.block_number})


def _margin_cleared(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    a = ev.args
    entity, outstanding = _margin_figures(s, ev, ctx)
    _check(s, ev, entity, "limit covers outstanding", True, a["limit"] >= outstanding)
    t = _target(s, ASSET, a["assetId"])
    _check(s, ev, entity, "called before", True, t["marginCall"])
    s.put("oracle_targets", _target_key(ASSET, a["assetId"]),
          {**t, "marginCall": False, "collateralValue": a["collateralValue"]})
    s.put("oracle_margin_calls", str(a["loanId"]), {
        "assetId": a["assetId"], "active": False, "collateralValue": a["collateralValue"], "limit": a["limit"],
        "outstanding": outstanding, "batchId": _current_batch(s), "block": ev.log.block_number})


def _sink_failed(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    sink = (s.get("oracle_config", "alertSink") or {"alertSink": ZERO})["alertSink"]
    _check(s, ev, "alert sink", "set when it failed", True, sink != ZERO)
    n = s.count("oracle_alert_failures")
    s.put("oracle_alert_failures", str(n), {"loanId": ev.args["loanId"], "indicator": ev.args["indicator"],
                                            "reason": ev.args["reason"], "sink": sink, "block": ev.log.block_number})


register(CONTRACT, {
    **ACCESS,
    "DeviceRegistered": _device_registered,
    "DeviceRetired": _device_retired,
    "DeviceRotated": _device_rotated,
    "SignerSetChanged": _signer_set,
    "WatchSet": _watch_set,
    "RouteSet": _route_set,
    "LimitsSet": lambda s, ev, ctx: s.put("oracle_limits", "current",
                                          {"maxAge": ev.args["maxAge"], "maxSkew": ev.args["maxSkew"]}),
    "BoundsSet": _bounds_set,
    "AlertSinkSet": lambda s, ev, ctx: s.put("oracle_config", "alertSink", {"alertSink": ev.args["sink"]}),
    "ReportAccepted": _report_accepted,
    "DeviceSeqAdvanced": _seq_advanced,
    "TargetUpdated": _target_updated,
    "BreachDetected": _breach(True),
    "BreachCleared": _breach(False),
    "MarginCall": _margin_call,
    "MarginCallCleared": _margin_cleared,
    "AlertSinkFailed": _sink_failed,
})


# ---------------------------------------------------------------- routes (TelemetryOracle.isOffRoute)

def _tdiv(a: int, b: int) -> int:
    """Solidity's signed division (truncates towards zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def _dist2(lat: int, lon: int, lat0: int, lon0: int) -> int:
    return (lat - lat0) ** 2 + (lon - lon0) ** 2


def _seg_dist2(py: int, px: int, ay: int, ax: int, by: int, bx: int) -> int:
    dy, dx = by - ay, bx - ax
    len2 = dy * dy + dx * dx
    if len2 == 0:
        return _dist2(py, px, ay, ax)
    dot = (py - ay) * dy + (px - ax) * dx
    if dot <= 0:
        return _dist2(py, px, ay, ax)
    if dot >= len2:
        return _dist2(py, px, by, bx)
    return _dist2(py, px, ay + _tdiv(dy * dot, len2), ax + _tdiv(dx * dot, len2))


def is_off_route(route: dict[str, Any] | None, lat: int, lon: int) -> bool:
    """TelemetryOracle.isOffRoute on a folded route."""
    if not route or not route["lats"]:
        return False
    lats, lons, limit = route["lats"], route["lons"], route["corridor"] ** 2
    if len(lats) == 1:
        return _dist2(lat, lon, lats[0], lons[0]) > limit
    return all(_seg_dist2(lat, lon, lats[i], lons[i], lats[i + 1], lons[i + 1]) > limit
               for i in range(len(lats) - 1))


def _route_probes(route: dict[str, Any]) -> list[tuple[int, int]]:
    """Each waypoint and the points one corridor (plus one) away from it on each axis."""
    c = route["corridor"] + 1
    out = []
    for lat, lon in zip(route["lats"], route["lons"], strict=True):
        out += [(lat, lon), (lat + c, lon), (lat - c, lon), (lat, lon + c), (lat, lon - c)]
    return [(la, lo) for la, lo in out if -2**31 <= la < 2**31 and -2**31 <= lo < 2**31]


# ---------------------------------------------------------------- verifier

def _state(out: list[Finding], entity: str, field: str, expected: Any, found: Any, block: int, note: str = "") -> None:
    if expected != found:
        out.append(Finding("state", entity, field, expected, found, block, note))


@register_verifier
def _oracle(state: State, v: Views, out: list[Finding]) -> None:
    if not getattr(v.deployment, "oracle", ""):
        return
    out.extend(_unannounced(state, None))

    signers = state.get("oracle_signers", "current") or {"id": 0, "quorum": 0, "nodes": []}
    theirs = v.call(CONTRACT, "signerSet")
    theirs["nodes"] = [to_checksum_address(n) for n in theirs["nodes"]]
    _diff(out, "oracle signer set", signers, theirs, v.block)

    limits = _limits(state)
    _state(out, "oracle limits", "maxAge", limits[0], v.call(CONTRACT, "maxAge"), v.block)
    _state(out, "oracle limits", "maxSkew", limits[1], v.call(CONTRACT, "maxSkew"), v.block)
    for metric, (low, high) in DEFAULT_BOUNDS.items():
        ours = state.get("oracle_bounds", str(metric)) or {"min": low, "max": high}
        _diff(out, f"oracle bounds of metric {metric}", ours, v.call(CONTRACT, "bounds", metric), v.block)
    sink = (state.get("oracle_config", "alertSink") or {"alertSink": ZERO})["alertSink"]
    _state(out, "oracle", "alertSink", sink, v.call(CONTRACT, "alertSink"), v.block)

    for did, device in state.table("oracle_devices").items():
        _diff(out, f"device {did}", device, v.call(CONTRACT, "getDevice", bytes.fromhex(did[2:])), v.block)

    for bid, batch in state.table("oracle_batches").items():
        theirs = v.call(CONTRACT, "getBatch", int(bid))
        entity = f"batch {bid}"
        _diff(out, entity, batch, {k: theirs[k] for k in ("root", "digest", "readingCount", "signerSet",
                                                          "acceptedAt")}, v.block)
        start, end, at = theirs["periodStart"], theirs["periodEnd"], batch["acceptedAt"]
        if not (start <= end and at - batch["maxAge"] <= end <= at + batch["maxSkew"]):
            out.append(Finding("state", entity, "period", f"within maxAge {batch['maxAge']} / maxSkew "
                               f"{batch['maxSkew']} of acceptedAt {at}", (start, end), v.block,
                               "the period the contract holds breaks the limits in force at acceptance"))

    targets = set(state.table("oracle_targets")) | set(state.table("oracle_watches"))
    for tk in sorted(targets):
        kind, target_id = (int(p) for p in tk.split(":"))
        ours = state.get("oracle_targets", tk) or _target(state, kind, target_id)
        theirs = v.call(CONTRACT, "targetState", kind, target_id)
        _diff(out, f"target {tk}", ours, {k: theirs[k] for k in TARGET_FIELDS}, v.block)
        watch = state.get("oracle_watches", tk) or {"minTemp": 0, "maxTemp": 0, "openFrom": 0, "openTo": 0}
        _diff(out, f"watch of target {tk}", watch, v.call(CONTRACT, "getWatch", kind, target_id), v.block)

    for lid, call in state.table("oracle_margin_calls").items():
        theirs = v.call(CONTRACT, "targetState", ASSET, call["assetId"])
        found = theirs["marginCall"] and theirs["loanId"] == int(lid)  # a call belongs to one loan
        _state(out, f"margin call of loan {lid}", "active", call["active"], found, v.block)

    for oid, route in state.table("oracle_routes").items():
        for lat, lon in _route_probes(route):
            found = v.call(CONTRACT, "isOffRoute", int(oid), lat, lon)
            _state(out, f"route of order {oid}", f"isOffRoute({lat}, {lon})", is_off_route(route, lat, lon), found,
                   v.block)
