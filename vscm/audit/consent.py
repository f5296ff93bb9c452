"""ConsentRegistry in the replay: each member's consents to lenders, checked against the contract.

The table ``consents`` holds one record per (member, lender) that ever had a consent: its expiry, 0 once
revoked. The lenders' index keeps the same table, which is what `vscm lender profile` and the console
read to decide whether a lender may see a member's profile (``vscm.underwriting.consent``).
"""

from __future__ import annotations

from vscm.audit.decode import DecodedEvent
from vscm.audit.fold import FoldContext, register
from vscm.audit.state import Finding, State, key
from vscm.audit.verify import Views, _diff, register_verifier

__all__: list[str] = []


def _granted(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    a = ev.args
    s.put("consents", key(a["member"], a["lender"]), {"member": a["member"], "lender": a["lender"],
                                                       "expiresAt": a["expiresAt"],
                                                       "grantedAt": ctx.ts(ev.log.block_number)})


def _revoked(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    a = ev.args
    record = dict(s.get("consents", key(a["member"], a["lender"])) or {"member": a["member"], "lender": a["lender"],
                                                                        "grantedAt": 0})
    record.update(expiresAt=0, revokedAt=ctx.ts(ev.log.block_number))
    s.put("consents", key(a["member"], a["lender"]), record)


register("ConsentRegistry", {"ConsentGranted": _granted, "ConsentRevoked": _revoked})


@register_verifier
def _consents(state: State, v: Views, out: list[Finding]) -> None:
    if not getattr(v.deployment, "consents", ""):
        return
    for k, record in state.table("consents").items():
        found = v.call("ConsentRegistry", "consentExpiry", record["member"], record["lender"])
        _diff(out, f"consent {k}", {"expiresAt": record["expiresAt"]}, {"expiresAt": found}, v.block)
