"""A payable certificate's split tree, as the console shows it, from the index's fold of the certificates
(``vscm.audit.certificates``: tables ``certificates`` and ``cert_parts``).

Each node is a part: who split it off to whom (the parent part's holder to its holder), for which order (or
kept aside), what it received, what it still holds after its own splits, whether it was sold to a financier
(locked in the AssetRegistry until it claimed its whole value), and what it claimed at redemption. Parties by
name with a short address, amounts with the certificate's currency, times ISO 8601 UTC.

Who sees which certificate is ``vscm.console.scope.Party.see_certificate``: the council and auditors every
certificate, its core and every party that holds or held one of its parts the whole tree, the financier of a
sold part only the parts it bought.
"""

from __future__ import annotations

from typing import Any

from vscm.console.views import Directory, iso, money

__all__ = ["certificate_parts", "certificate_view"]


def certificate_parts(d: Directory, certificate_id: int) -> dict[int, dict[str, Any]]:
    """The certificate's parts from the index, by id."""
    return {int(k): p for k, p in d.index.records("cert_parts").items() if p["certificateId"] == certificate_id}


def _chain(d: Directory, chain_id: int) -> str:
    """``#1 Xi'an Motors chain``: the index keeps a chain's name as its bytes32 (hex), shown here as text."""
    record = d.chains.get(str(chain_id))
    if record is None or not str(record["name"]).startswith("0x"):
        return d.chain_name(chain_id)
    name = bytes.fromhex(str(record["name"])[2:]).rstrip(b"\x00").decode("utf-8", errors="replace")
    return f"#{chain_id} {name}"


def _time(d: Directory, block: int | None) -> str:
    """When a block of the index was mined ("-" for a record folded before the fold kept its block)."""
    return iso(d.index.block_timestamp(block)) if block is not None else "-"


def certificate_view(d: Directory, certificate_id: int, cert: dict[str, Any], parts: dict[int, dict[str, Any]],
                     shown: set[int] | None) -> dict[str, Any]:
    """The certificate and its tree. ``shown``: the parts the viewer may see (None: all, as one tree from the
    root; otherwise each shown part alone, without its relatives)."""
    code = d.code(cert["currency"])
    children: dict[int, list[int]] = {}
    for pid in sorted(parts):
        children.setdefault(parts[pid]["parent"], []).append(pid)
    received: dict[int, int] = {}

    def total(pid: int) -> int:  # what was split off to it: what it kept plus what it split on
        if pid not in received:
            received[pid] = parts[pid]["value"] + sum(total(c) for c in children.get(pid, []))
        return received[pid]

    def node(pid: int, grow: bool) -> dict[str, Any]:
        p = parts[pid]
        parent = parts.get(p["parent"])
        financed = p["assetId"] != 0
        if p["parent"] == 0:
            purpose = f"issued for order #{p['orderId']}"
        elif p["orderId"]:
            purpose = f"paid order #{p['orderId']}"
            o = d.index.record("orders", str(p["orderId"]))
            if o is not None and o["sellerChainId"] != o["chainId"]:
                # an order across chains: the part went to a member of another (admitted) chain
                purpose += f" across chains ({_chain(d, int(o['chainId']))} → {_chain(d, int(o['sellerChainId']))})"
        else:
            purpose = "kept aside"
        redeemed = p["value"] > 0 and p["claimed"] == p["value"]
        return {
            "part": pid, "parent": p["parent"] or None,
            "from": d.party(parent["holder"] if parent else cert["core"]), "holder": d.party(p["holder"]),
            "order": p["orderId"] or None, "purpose": purpose, "at": _time(d, p.get("_block")),
            "received": money(total(pid), code), "value": money(p["value"], code),
            "claimed": money(p["claimed"], code), "balance": money(p["value"] - p["claimed"], code),
            "financed": financed, "financier": d.party(p["financier"]) if financed else None,
            "price": money(p["price"], code) if financed else None, "asset": p["assetId"] or None,
            "locked": financed and not redeemed, "redeemed": redeemed,
            "payee": d.party(p["financier"] if financed else p["holder"]),
            "children": [node(c, grow) for c in children.get(pid, [])] if grow else [],
        }

    if shown is None:
        roots = [node(cert["rootPart"], True)]
    else:
        roots = [node(pid, False) for pid in sorted(shown)]
    if cert["redeemed"] == cert["face"]:
        status = "redeemed"
    elif cert["paidIn"]:
        status = "in redemption"
    elif cert["maturity"] < d.now:
        status = "late"
    else:
        status = "open"
    return {
        "certificate": certificate_id, "as_of": d.as_of(), "core": d.party(cert["core"]),
        "supply_chain": _chain(d, int(cert["chainId"])), "order": cert["orderId"], "currency": code,
        "face": money(cert["face"], code), "paid_in": money(cert["paidIn"], code),
        "redeemed": money(cert["redeemed"], code), "issued": _time(d, cert.get("_block")),
        "maturity": iso(cert["maturity"]), "status": status, "parts": len(parts),
        "scope": "all parts" if shown is None else "the parts it financed", "tree": roots,
    }
