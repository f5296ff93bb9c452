"""The auditor's replay folds certificates: issue, payments down the tiers, a sale, a late flag, pay-ins
and every claim, with zero differences; and it catches a history where the parts no longer add up."""

from __future__ import annotations

from cert_support import FACE, MATURITY_IN, approve, four_tiers
from financing_support import DAY

from vscm.audit.audit import audit_chain


def redeemed_history(fin):
    p = fin.p
    t = four_tiers(fin)
    t.certs.as_(p.seller).offer(t.part_c, p.bank.address, 24_000_00)
    fin.mint(p.bank, 24_000_00)
    approve(fin, p.bank, t.certs.address, 24_000_00)
    t.certs.as_(p.bank).accept_offer(t.part_c)
    fin.chain.time_travel(MATURITY_IN + DAY)
    t.certs.as_(p.outsider).flag_late(t.certificate_id)
    approve(fin, p.core, t.certs.address, FACE)
    t.certs.as_(p.core).pay_in(t.certificate_id, FACE // 3)
    t.certs.as_(p.supplier).claim(t.root)
    t.certs.as_(p.core).pay_in(t.certificate_id, FACE - FACE // 3)
    for part_id in (t.root, t.part_b, t.part_c):
        t.certs.as_(p.supplier).claim(part_id)
    return t


def test_replay_of_a_certificate_down_four_tiers_to_its_redemption_finds_no_difference(fin):
    t = redeemed_history(fin)

    outcome = audit_chain(fin.chain, fin.platform.deployment)

    assert [str(f) for f in outcome.findings] == []
    state = outcome.result.state
    cert = state.get("certificates", str(t.certificate_id))
    assert (cert["paidIn"], cert["redeemed"], cert["_tokens"]) == (FACE, FACE, 0)
    assert len(state.table("cert_parts")) == 3
    assert state.get("cert_paid_orders", str(t.order_c))["amount"] == 25_000_00
    assert len(state.table("cert_late")) == 1


def test_replay_finds_parts_that_no_longer_add_up_to_the_face_value(fin):
    four_tiers(fin)
    from vscm.audit.fold import HANDLERS

    honest = HANDLERS["Certificates"]["TransferSingle"]

    def inflated(s, ev, ctx):  # the fold sees one unit more minted for every part
        ev.args["value"] += 1 if ev.args["from"] == "0x" + "00" * 20 else 0
        honest(s, ev, ctx)

    HANDLERS["Certificates"]["TransferSingle"] = inflated
    try:
        outcome = audit_chain(fin.chain, fin.platform.deployment)
    finally:
        HANDLERS["Certificates"]["TransferSingle"] = honest
    assert ("certificate", "sum of parts + redeemed") in {(f.check, f.field) for f in outcome.findings}
