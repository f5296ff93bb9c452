"""Lenders' webhooks: alerts, margin calls, decision deadlines and fraud exposure of a lender's own loans,
sent as HMAC-SHA256-signed JSON, retried with exponential backoff, every attempt in a delivery log.

Subscriptions and the log live in the lenders' index (tables ``webhooks`` and ``webhook_deliveries``,
kept across rebuilds: they are not chain state). A delivery is a ``POST`` of a JSON body with:

* ``X-VSCM-Timestamp``: Unix seconds when it was signed;
* ``X-VSCM-Signature``: ``sha256=`` + hex HMAC-SHA256, keyed with the subscription's secret, of
  ``timestamp + "." + body`` (a receiver recomputes it, compares in constant time and refuses old
  timestamps, so that a captured delivery cannot be replayed later);
* ``X-VSCM-Event``: the event's key, the same for every attempt (a receiver drops duplicates by it).

An event delivered once (a 2xx answer) is not sent again; one that failed every attempt is tried again
at the next round (``dispatch``), which the console's background updater runs after each update.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from vscm.errors import InputError, NotFound
from vscm.index import Index

__all__ = ["KINDS", "Webhook", "deliver", "deliveries", "dispatch", "events_for", "sign", "subscribe", "unsubscribe", "webhook_of",
           "webhooks"]

#: What a lender can subscribe to.
KINDS = ("alert", "margin_call", "decision_deadline", "fraud_exposure")
#: Attempts per event and round, and the first wait between two (doubled after each failure).
ATTEMPTS = 4
BACKOFF = 1.0
TIMEOUT = 10.0

Webhook = dict[str, Any]


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-VSCM-Signature`` value of ``body`` signed at ``timestamp``."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def subscribe(index: Index, lender: str, url: str, secret: str, kinds: Iterable[str] = KINDS) -> Webhook:
    """Add a subscription of ``lender`` to its own loans' events of ``kinds``; returns it (without the secret).

    Raises:
        InputError: the URL is not http(s), the secret is shorter than 16 characters, or a kind is unknown.
    """
    chosen = sorted(set(kinds))
    if not url.startswith(("http://", "https://")):
        raise InputError(f"webhook URL {url!r} is not http:// or https://")
    if len(secret) < 16:
        raise InputError("a webhook secret has at least 16 characters")
    unknown = [k for k in chosen if k not in KINDS]
    if unknown or not chosen:
        raise InputError(f"unknown event kind(s) {', '.join(unknown) or '(none)'}: use {', '.join(KINDS)}")
    hook_id = "wh_" + secrets.token_hex(8)
    with index.db.locked():
        index.db.execute("INSERT INTO webhooks (id, lender, url, secret, kinds, created) VALUES (?, ?, ?, ?, ?, ?)",
                         (hook_id, lender, url, secret, ",".join(chosen), _now_iso()))
    return {"id": hook_id, "lender": lender, "url": url, "kinds": chosen, "created": _now_iso()}


def unsubscribe(index: Index, hook_id: str) -> None:
    """Remove subscription ``hook_id`` (its delivery log stays).

    Raises:
        NotFound: there is no such subscription.
    """
    webhook_of(index, hook_id)
    with index.db.locked():
        index.db.execute("DELETE FROM webhooks WHERE id = ?", (hook_id,))


def webhooks(index: Index, lender: str | None = None, *, with_secret: bool = False) -> list[Webhook]:
    """The subscriptions (of ``lender``), oldest first; the secret only when ``with_secret``."""
    sql = "SELECT id, lender, url, secret, kinds, created FROM webhooks"
    rows = index.db.query(sql + (" WHERE lender = ?" if lender else "") + " ORDER BY created, id",
                          (lender,) if lender else ())
    return [{"id": i, "lender": ln, "url": u, "kinds": k.split(","), "created": c, **({"secret": s} if with_secret
                                                                                      else {})}
            for i, ln, u, s, k, c in rows]


def deliveries(index: Index, lender: str | None = None, hook_id: str | None = None) -> list[dict[str, Any]]:
    """The delivery log (of ``lender``'s subscriptions, or of one), every attempt, in order; kept when a
    subscription is removed."""
    sql = "SELECT id, webhook, event, kind, attempt, at, status, ok, error FROM webhook_deliveries"
    where, params = [], []
    if lender:
        where.append("lender = ?")
        params.append(lender)
    if hook_id:
        where.append("webhook = ?")
        params.append(hook_id)
    rows = index.db.query(sql + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY at, attempt",
                          params)
    return [{"id": i, "webhook": w, "event": e, "kind": k, "attempt": a, "at": at, "status": st, "ok": bool(ok),
             "error": err} for i, w, e, k, a, at, st, ok, err in rows]


def events_for(index: Index, deployment: Any, lender: str) -> list[dict[str, Any]]:
    """The events a subscription of ``lender`` is sent: only about the loans it lends, each with a stable key."""
    from vscm.console import views

    d = views.Directory(index, deployment)
    loans = {str(ln["loanId"]): ln for ln in index.loans_of(lender=lender)}
    out: list[dict[str, Any]] = []
    for aid, alert in sorted(index.records("alerts").items(), key=lambda kv: int(kv[0])):
        if alert["subject"] == 0 and str(alert["subjectId"]) in loans:
            out.append({"key": f"alert:{aid}", "kind": "alert", "loan": alert["subjectId"], "alert": int(aid),
                        "severity": alert["severity"], "indicator": alert["indicator"],
                        "raised": views.iso(alert["raisedAt"])})
    for lid, call in sorted(index.records("oracle_margin_calls").items(), key=lambda kv: int(kv[0])):
        if lid in loans and call["active"]:
            code = d.code(loans[lid]["currency"])
            out.append({"key": f"margin_call:{lid}:{call['block']}", "kind": "margin_call", "loan": int(lid),
                        "asset": call["assetId"], "collateral_value": views.money(call["collateralValue"], code),
                        "limit": views.money(call["limit"], code), "outstanding": views.money(call["outstanding"], code)})
    for waiting in views.alerts_waiting(d, lender)["alerts"]:
        out.append({"key": f"decision_deadline:{waiting['loan']}:{waiting['alert']}", "kind": "decision_deadline",
                    "loan": waiting["loan"], "alert": waiting["alert"], "deadline": waiting["deadline"],
                    "seconds_left": waiting["seconds_left"], "outstanding": waiting["outstanding"]})
    for key, exposure in sorted(index.records("exposures").items()):
        chain_id, who = key.split(":", 1)
        if who == lender:
            out.append({"key": f"fraud_exposure:{chain_id}", "kind": "fraud_exposure", "chain": int(chain_id),
                        "loans": exposure["loans"],
                        "outstanding_units": str(exposure["outstanding"]), "frozen_units": str(exposure["frozen"])})
    return out


def _log(index: Index, hook: Webhook, event: dict[str, Any], attempt: int, status: int | None, ok: bool,
         error: str) -> None:
    with index.db.locked():
        index.db.execute("INSERT INTO webhook_deliveries (id, webhook, lender, event, kind, attempt, at, status, ok,"
                         " error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         (f"{hook['id']}:{event['key']}:{attempt}", hook["id"], hook["lender"], event["key"],
                          event["kind"], attempt, _now_iso(), status, 1 if ok else 0, error))


def deliver(index: Index, hook: Webhook, event: dict[str, Any], *, attempts: int = ATTEMPTS,
            backoff: float = BACKOFF, sleep: Callable[[float], None] = time.sleep) -> bool:
    """POST ``event`` to ``hook`` (its secret included), up to ``attempts`` times, waiting ``backoff``,
    then twice as long after each failure; logs every attempt. Returns whether a 2xx answer came."""
    done = index.db.query("SELECT MAX(attempt) FROM webhook_deliveries WHERE webhook = ? AND event = ?",
                          (hook["id"], event["key"]))[0][0] or 0
    body = json.dumps({"event": event["key"], "kind": event["kind"], "lender": hook["lender"], "data": event},
                      sort_keys=True, separators=(",", ":")).encode()
    for n in range(1, attempts + 1):
        attempt = done + n
        stamp = int(time.time())
        request = urllib.request.Request(hook["url"], data=body, method="POST", headers={
            "Content-Type": "application/json", "User-Agent": "vscm-console",
            "X-VSCM-Timestamp": str(stamp), "X-VSCM-Signature": sign(hook["secret"], stamp, body),
            "X-VSCM-Event": event["key"]})
        status: int | None = None
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
                status = answer.status
            _log(index, hook, event, attempt, status, True, "")
            return True
        except urllib.error.HTTPError as exc:
            status, error = exc.code, f"HTTP {exc.code}"
        except (OSError, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        _log(index, hook, event, attempt, status, False, error)
        if n < attempts:
            sleep(backoff * 2 ** (n - 1))
    return False


def dispatch(index: Index, deployment: Any, *, attempts: int = ATTEMPTS, backoff: float = BACKOFF,
             sleep: Callable[[float], None] = time.sleep) -> dict[str, int]:
    """Send every subscription the events of its kinds it has not had yet, in order; after an event that
    failed every attempt, that subscription's other events wait for the next round (so a receiver that is
    down costs one backoff per round). Returns counts sent and failed."""
    sent = failed = 0
    for hook in webhooks(index, with_secret=True):
        delivered = {e for (e,) in index.db.query(
            "SELECT event FROM webhook_deliveries WHERE webhook = ? AND ok = 1", (hook["id"],))}
        for event in events_for(index, deployment, hook["lender"]):
            if event["kind"] not in hook["kinds"] or event["key"] in delivered:
                continue
            if deliver(index, hook, event, attempts=attempts, backoff=backoff, sleep=sleep):
                sent += 1
            else:  # the receiver is down: its other events wait for the next round (one backoff per round)
                failed += 1
                break
    return {"sent": sent, "failed": failed}


def webhook_of(index: Index, hook_id: str) -> Webhook:
    found = [h for h in webhooks(index) if h["id"] == hook_id]
    if not found:
        raise NotFound(f"no webhook {hook_id}")
    return found[0]
