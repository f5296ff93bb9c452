"""Certificates in the replay: certificates, their parts and offers, folded from the events and checked.

Tables: ``certificates`` (one record per certificate, as ``getCertificate``), ``cert_parts`` (as
``getPart``), ``cert_offers`` (as ``getOffer``), ``cert_tokens`` (the parts' ERC-1155 balances, folded from
``TransferSingle`` alone), ``cert_paid_orders`` (what certificates paid of each order, as
``OrderBook.certificatePaid``), ``cert_late`` (the late flags) and ``cert_admitted`` (the chains each core
admits to its certificates, as ``chainAdmitted``).

Besides rebuilding the state, the fold checks after every transaction's certificate events that

* the parts' ERC-1155 balances (from the token events, independent of the certificate events) plus what was
  redeemed equal the face value, and
* redeemed ≤ paid in ≤ face, with each claim exactly ``value × paidIn / face − claimed``;

a difference is a finding at the block it happened.
"""

from __future__ import annotations

from typing import Any

from vscm.audit.decode import DecodedEvent
from vscm.audit.fold import FoldContext, _check, register
from vscm.audit.state import ZERO, Finding, State, key
from vscm.audit.verify import Views, _count, _diff, register_verifier

__all__: list[str] = []


def _cert_of(s: State, part_id: int) -> dict[str, Any]:
    return s.table("certificates")[str(s.table("cert_parts")[str(part_id)]["certificateId"])]


def _conserved(s: State, ev: DecodedEvent, cid: str) -> None:
    """Sum of the parts' token balances + redeemed = face; redeemed ≤ paid in ≤ face."""
    c = s.table("certificates")[cid]
    if c["_tokens"] + c["redeemed"] != c["face"]:
        s.findings.append(Finding("certificate", f"certificate {cid}", "sum of parts + redeemed", c["face"],
                                  c["_tokens"] + c["redeemed"], ev.log.block_number, f"{ev.name} in tx {ev.log.tx_hash}"))
    if not c["redeemed"] <= c["paidIn"] <= c["face"]:
        s.findings.append(Finding("certificate", f"certificate {cid}", "redeemed <= paidIn <= face",
                                  (c["redeemed"], c["paidIn"], c["face"]), "violated", ev.log.block_number,
                                  f"{ev.name} in tx {ev.log.tx_hash}"))


def _part(certificate_id: int, parent: int, order_id: int, holder: str, value: int, block: int) -> dict[str, Any]:
    # ``_block``: the block it was split off in (the console dates the tree's edges by it)
    return {"certificateId": certificate_id, "parent": parent, "orderId": order_id, "holder": holder, "value": value,
            "claimed": 0, "financier": ZERO, "price": 0, "assetId": 0, "_block": block}


def _issued(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    a = ev.args
    cid = a["certificateId"]
    _check(s, ev, f"certificate {cid}", "certificateId", len(s.table("certificates")) + 1, cid)
    s.put("certificates", str(cid), {
        "core": a["core"], "chainId": a["chainId"], "maturity": a["maturity"], "currency": a["currency"],
        "orderId": a["orderId"], "face": a["face"], "paidIn": 0, "redeemed": 0, "rootPart": a["rootPart"],
        # the parts' ERC-1155 balances (TransferSingle), and a split's value between its burn and its mint
        "_tokens": 0, "_moving": 0, "_block": ev.log.block_number})
    s.put("cert_parts", str(a["rootPart"]), _part(cid, 0, a["orderId"], a["seller"], a["face"], ev.log.block_number))


def _split(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    a = ev.args
    parent = s.table("cert_parts")[str(a["parent"])]
    free = parent["value"] - parent["claimed"]
    if a["amount"] > free or parent["holder"] != a["from"] or parent["assetId"] != 0:
        s.findings.append(Finding("event", f"certificate part {a['parent']}", "split",
                                  f"at most {free} by its holder, unlocked", (a["from"], a["amount"]),
                                  ev.log.block_number, f"PartSplit in tx {ev.log.tx_hash}"))
    s.update("cert_parts", str(a["parent"]), value=parent["value"] - a["amount"])
    s.put("cert_parts", str(a["child"]), _part(a["certificateId"], a["parent"], a["orderId"], a["to"], a["amount"],
                                               ev.log.block_number))
    s.update("certificates", str(a["certificateId"]), _moving=a["amount"])


def _offered(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    a = ev.args
    s.put("cert_offers", str(a["partId"]), {"financier": a["financier"], "price": a["price"], "value": a["value"]})


def _financed(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    a = ev.args
    s.put("cert_offers", str(a["partId"]), {"financier": ZERO, "price": 0, "value": 0})
    s.update("cert_parts", str(a["partId"]), financier=a["financier"], price=a["price"], assetId=a["assetId"])


def _paid_in(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    a = ev.args
    cid = str(a["certificateId"])
    paid = s.table("certificates")[cid]["paidIn"] + a["amount"]
    _check(s, ev, f"certificate {cid}", "paidIn", paid, a["paidIn"])
    s.update("certificates", cid, paidIn=paid)
    _conserved(s, ev, cid)


def _claimed(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    a = ev.args
    pid, cid = str(a["partId"]), str(a["certificateId"])
    part, cert = s.table("cert_parts")[pid], s.table("certificates")[cid]
    _check(s, ev, f"certificate part {pid}", "claim", part["value"] * cert["paidIn"] // cert["face"] - part["claimed"],
           a["amount"])
    payee = part["financier"] if part["assetId"] else part["holder"]
    _check(s, ev, f"certificate part {pid}", "payee", payee, a["payee"])
    claimed = part["claimed"] + a["amount"]
    _check(s, ev, f"certificate part {pid}", "claimed", claimed, a["claimed"])
    s.update("cert_parts", pid, claimed=claimed)
    s.update("certificates", cid, redeemed=cert["redeemed"] + a["amount"])


def _late(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    a = ev.args
    s.put("cert_late", key(a["certificateId"], a["alertId"]), {"certificateId": a["certificateId"],
                                                               "paidIn": a["paidIn"], "alertId": a["alertId"]})


def _admission(admitted: bool) -> Any:
    def handler(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
        a = ev.args
        k = key(a["core"], a["chainId"])
        # The contract refuses an admission that changes nothing: the event always flips the state.
        _check(s, ev, f"admission of chain {a['chainId']} by {a['core']}", "admitted before",
               not admitted, (s.get("cert_admitted", k) or {"admitted": False})["admitted"])
        s.put("cert_admitted", k, {"admitted": admitted})

    return handler


def _token_moved(s: State, ev: DecodedEvent, part_id: int, sender: str, to: str, value: int) -> None:
    cid = str(s.table("cert_parts")[str(part_id)]["certificateId"])
    cert = s.table("certificates")[cid]
    for holder, delta in ((sender, -value), (to, value)):
        if holder == ZERO:
            continue
        k = key(part_id, holder)
        s.put("cert_tokens", k, {"amount": (s.get("cert_tokens", k) or {"amount": 0})["amount"] + delta})
    tokens = cert["_tokens"] + (value if sender == ZERO else 0) - (value if to == ZERO else 0)
    s.update("certificates", cid, _tokens=tokens)
    if to == ZERO and cert["_moving"]:
        return  # a split's burn: its mint follows in the same transaction
    s.update("certificates", cid, _moving=0)
    _conserved(s, ev, cid)


def _transfer_single(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    a = ev.args
    _token_moved(s, ev, a["id"], a["from"], a["to"], a["value"])


def _transfer_batch(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    a = ev.args
    for part_id, value in zip(a["ids"], a["values"], strict=True):
        _token_moved(s, ev, part_id, a["from"], a["to"], value)


def _approval_for_all(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    a = ev.args
    s.put("cert_operators", key(a["account"], a["operator"]), {"approved": a["approved"]})


def _paid_by_certificate(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    a = ev.args
    oid = str(a["orderId"])
    prepaid = s.table("orders")[oid]["prepaid"] + a["amount"]
    _check(s, ev, f"order {oid}", "prepaid", prepaid, a["prepaid"])
    paid = (s.get("cert_paid_orders", oid) or {"amount": 0})["amount"] + a["amount"]
    _check(s, ev, f"order {oid}", "certificatePaid", paid, a["certificatePaid"])
    s.update("orders", oid, prepaid=prepaid)
    s.put("cert_paid_orders", oid, {"amount": paid})


register("Certificates", {
    "CertificateIssued": _issued,
    "PartSplit": _split,
    "PartOffered": _offered,
    "PartFinanced": _financed,
    "CertificatePaidIn": _paid_in,
    "PartClaimed": _claimed,
    "CertificateLate": _late,
    "CertificateChainAdmitted": _admission(True),
    "CertificateChainDismissed": _admission(False),
    "TransferSingle": _transfer_single,
    "TransferBatch": _transfer_batch,
    "ApprovalForAll": _approval_for_all,
    "URI": lambda s, ev, ctx: None,  # never emitted: parts have no per-id URI
})
register("OrderBook", {"OrderPaidByCertificate": _paid_by_certificate})


@register_verifier
def _certificates(state: State, v: Views, out: list[Finding]) -> None:
    if not getattr(v.deployment, "certificates", ""):
        return
    certificates, parts = state.table("certificates"), state.table("cert_parts")
    _count(out, "certificates", len(certificates), v.call("Certificates", "certificateCount"), v.block)
    _count(out, "certificate parts", len(parts), v.call("Certificates", "partCount"), v.block)
    for cid, c in certificates.items():
        _diff(out, f"certificate {cid}", c, v.call("Certificates", "getCertificate", int(cid)), v.block)
    for pid, p in parts.items():
        _diff(out, f"certificate part {pid}", p, v.call("Certificates", "getPart", int(pid)), v.block)
        found = v.call("Certificates", "balanceOf", p["holder"], int(pid))
        if found != p["value"] - p["claimed"]:
            out.append(Finding("state", f"certificate part {pid}", "balanceOf(holder)", p["value"] - p["claimed"],
                               found, v.block))
    for k, t in state.table("cert_tokens").items():
        pid, holder = k.split(":")
        found = v.call("Certificates", "balanceOf", holder, int(pid))
        if found != t["amount"]:
            out.append(Finding("state", f"certificate part {pid} of {holder}", "balanceOf", t["amount"], found,
                               v.block))
    for pid, offer in state.table("cert_offers").items():
        _diff(out, f"offer on certificate part {pid}", offer, v.call("Certificates", "getOffer", int(pid)), v.block)
    for k, r in state.table("cert_admitted").items():
        core, chain_id = k.split(":")
        found = v.call("Certificates", "chainAdmitted", core, int(chain_id))
        if found != r["admitted"]:
            out.append(Finding("state", f"admission of chain {chain_id} by {core}", "chainAdmitted", r["admitted"],
                               found, v.block))
    for oid, r in state.table("cert_paid_orders").items():
        found = v.call("OrderBook", "certificatePaid", int(oid))
        if found != r["amount"]:
            out.append(Finding("state", f"order {oid}", "certificatePaid", r["amount"], found, v.block))
