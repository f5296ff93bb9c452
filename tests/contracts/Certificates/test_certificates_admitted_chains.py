"""Certificates.admitChain and dismissChain: a core lets its certificates circulate in other chains.

A part reaches another chain's members by an order across chains (placed in the buyer's chain with a seller
of another live chain, OrderBook.place) or by an order placed while both parties were in the core's chain and
paid after the seller moved; it keeps circulating by that chain's own orders. The casting: core2 (certified
here) leads chain 2; supplier2 moves there from the core's chain.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from cert_support import B_AMOUNT, B_PAID, C_PAID, FACE, approve, issued
from financing_support import DAY, b32, the_event
from harness import reverts
from harness import second_chain as form_second_chain

from vscm.audit.audit import audit_chain
from vscm.audit.source import source_for
from vscm.client.records import OrderStatus
from vscm.console.certificates import certificate_parts, certificate_view
from vscm.console.views import Directory
from vscm.index import open_index

D_AMOUNT = 40_000_00  # supplier2 buys from core2 in chain 2, pays C_PAID of it by certificate


def second_chain(fin) -> int:
    """core2 (a pending core applicant of the world) is attested and forms chain 2; supplier2 moves there."""
    return form_second_chain(fin.w, (fin.p.supplier2,))


def chain2_order(fin, chain2: int) -> int:
    """supplier2 buys from core2 in chain 2 (accepted)."""
    p, orders = fin.p, fin.platform.orders
    oid = int(orders.as_(p.supplier2).place(p.core2.address, chain2, "CNY", D_AMOUNT, fin.now() + 365 * DAY).id)
    orders.as_(p.core2).accept(oid)
    return oid


def test_a_part_pays_a_member_of_a_chain_the_core_admits_and_circulates_there(fin):
    p = fin.p
    t = issued(fin)
    certs = t.certs
    order_b = fin.order(p.supplier, p.supplier2, B_AMOUNT, to=OrderStatus.ACCEPTED)
    chain2 = second_chain(fin)
    # supplier2 is now in chain 2, which the core has not admitted.
    with reverts("CertificateChainNotAdmitted", member=p.supplier2.address, chainId=chain2, core=p.core.address):
        certs.as_(p.supplier).pay(t.root, order_b, B_PAID)

    admitted = certs.as_(p.core).admit_chain(chain2)

    assert the_event(certs, admitted.receipt, "CertificateChainAdmitted") == {"core": p.core.address,
                                                                            "chainId": chain2}
    assert certs.chain_admitted(p.core.address, chain2) is True
    assert certs.admitted_chains(p.core.address) == [chain2]
    part_b = certs.as_(p.supplier).pay(t.root, order_b, B_PAID).id
    assert (certs.part(part_b).holder, certs.part(part_b).value) == (p.supplier2.address, B_PAID)
    assert certs.part(t.root).value == FACE - B_PAID
    assert fin.platform.orders.contract.functions.certificatePaid(order_b).call() == B_PAID
    # In chain 2 the part pays chain 2's own orders: supplier2 pays core2.
    order_d = chain2_order(fin, chain2)
    part_d = certs.as_(p.supplier2).pay(part_b, order_d, C_PAID).id
    assert [certs.balance(h.address, i) for h, i in ((p.supplier, t.root), (p.supplier2, part_b),
                                                      (p.core2, part_d))] == [FACE - B_PAID, B_PAID - C_PAID, C_PAID]
    assert fin.platform.orders.order(order_d, with_documents=False).prepaid == C_PAID


def test_a_dismissed_chain_keeps_its_parts_and_their_claims_but_they_no_longer_move_and_the_audit_agrees(fin):
    p = fin.p
    t = issued(fin)
    certs = t.certs
    order_b = fin.order(p.supplier, p.supplier2, B_AMOUNT, to=OrderStatus.ACCEPTED)
    chain2 = second_chain(fin)
    certs.as_(p.core).admit_chain(chain2)
    part_b = certs.as_(p.supplier).pay(t.root, order_b, B_PAID).id
    order_d = chain2_order(fin, chain2)

    dismissed = certs.as_(p.core).dismiss_chain(chain2)

    assert the_event(certs, dismissed.receipt, "CertificateChainDismissed") == {"core": p.core.address,
                                                                              "chainId": chain2}
    assert certs.chain_admitted(p.core.address, chain2) is False
    assert certs.admitted_chains(p.core.address) == []
    with reverts("CertificateChainNotAdmitted", member=p.supplier2.address, chainId=chain2, core=p.core.address):
        certs.as_(p.supplier2).pay(part_b, order_d, 1)
    with reverts("CertificateChainNotAdmitted", member=p.supplier2.address, chainId=chain2, core=p.core.address):
        certs.as_(p.supplier2).split(part_b, 1)
    # Its claim stands: the core pays in, supplier2 gets exactly its part's value.
    approve(fin, p.core, certs.address, FACE)
    certs.as_(p.core).pay_in(t.certificate_id, FACE)
    before = fin.cash(p.supplier2)
    certs.as_(p.outsider).claim(part_b)
    assert fin.cash(p.supplier2) == before + B_PAID
    # The auditor's replay folds the admission and its dismissal and agrees with `chainAdmitted`.
    outcome = audit_chain(fin.chain, fin.platform.deployment)
    assert [str(f) for f in outcome.findings] == []
    assert outcome.result.state.get("cert_admitted", f"{p.core.address}:{chain2}") == {"admitted": False}


def test_admission_is_the_cores_own_and_refused_outside_its_rules_with_the_values(fin):
    p = fin.p
    certs = fin.platform.certificates
    chain2 = second_chain(fin)
    with reverts("CertificateNotCore", caller=p.supplier.address):
        certs.as_(p.supplier).admit_chain(chain2)
    with reverts("CertificateChainNotLive", chainId=99):
        certs.as_(p.core).admit_chain(99)
    with reverts("CertificateChainNotLive", chainId=0):
        certs.as_(p.core).admit_chain(0)
    with reverts("CertificateAdmissionUnchanged", core=p.core.address, chainId=fin.w.chain_id, admitted=True):
        certs.as_(p.core).admit_chain(fin.w.chain_id)
    with reverts("CertificateAdmissionUnchanged", core=p.core.address, chainId=chain2, admitted=False):
        certs.as_(p.core).dismiss_chain(chain2)
    certs.as_(p.core).admit_chain(chain2)
    with reverts("CertificateAdmissionUnchanged", core=p.core.address, chainId=chain2, admitted=True):
        certs.as_(p.core).admit_chain(chain2)
    # One core's admission is not another's.
    assert certs.chain_admitted(p.core2.address, chain2) is False
    with reverts("CertificateAdmissionUnchanged", core=p.core2.address, chainId=chain2, admitted=False):
        certs.as_(p.core2).dismiss_chain(chain2)
    # An evicted chain cannot be admitted.
    fin.platform.members.as_(p.operator).evict_chain(chain2, b32("fraud"))
    certs.as_(p.core).dismiss_chain(chain2)
    with reverts("CertificateChainNotLive", chainId=chain2):
        certs.as_(p.core).admit_chain(chain2)


# -- orders across chains -------------------------------------------------------------------------------------


def test_a_certificate_pays_down_an_order_across_chains_to_an_admitted_chain_exactly_and_replays_clean(fin):
    """supplier (core's chain) buys from supplier2 (chain 2, admitted) by an order across chains placed after
    the move, pays 40,000.00 of it with its part; supplier2 pays 25,000.00 of that on its own chain 2 order
    from core2; at maturity the core pays in and each holder claims exactly its share."""
    p = fin.p
    t = issued(fin)
    certs, orders = t.certs, fin.platform.orders
    chain2 = second_chain(fin)
    certs.as_(p.core).admit_chain(chain2)
    order_b = fin.order(p.supplier, p.supplier2, B_AMOUNT, to=OrderStatus.DELIVERED)
    assert (orders.order(order_b).chain_id, orders.order(order_b).seller_chain_id) == (fin.w.chain_id, chain2)

    paid = certs.as_(p.supplier).pay(t.root, order_b, B_PAID)

    part_b = paid.id
    assert the_event(certs, paid.receipt, "PartSplit") == {
        "certificateId": t.certificate_id, "parent": t.root, "child": part_b, "from": p.supplier.address,
        "to": p.supplier2.address, "orderId": order_b, "amount": B_PAID}
    assert (certs.part(part_b).holder, certs.part(part_b).value, certs.part(part_b).parent) == (
        p.supplier2.address, B_PAID, t.root)
    assert certs.part(t.root).value == FACE - B_PAID
    o = orders.order(order_b, with_documents=False)
    assert (o.prepaid, orders.contract.functions.certificatePaid(order_b).call()) == (B_PAID, B_PAID)
    # Chain 2's own order: supplier2 pays core2 with part of its part.
    order_d = chain2_order(fin, chain2)
    part_d = certs.as_(p.supplier2).pay(part_b, order_d, C_PAID).id
    assert [certs.balance(h.address, i) for h, i in ((p.supplier, t.root), (p.supplier2, part_b),
                                                      (p.core2, part_d))] == [FACE - B_PAID, B_PAID - C_PAID, C_PAID]
    # Settlement asks only what the certificate did not pay: 20,000.00 of order b.
    orders.as_(p.supplier2).invoice(order_b, "INV-B", b32("inv-b"))
    fin.mint(p.supplier, B_AMOUNT - B_PAID)
    before = (fin.cash(p.supplier), fin.cash(p.supplier2))
    orders.as_(p.supplier).settle(order_b)
    assert (fin.cash(p.supplier), fin.cash(p.supplier2)) == (before[0] - (B_AMOUNT - B_PAID),
                                                             before[1] + (B_AMOUNT - B_PAID))
    # At maturity: the core pays the face value in once, each holder claims exactly its part.
    approve(fin, p.core, certs.address, FACE)
    certs.as_(p.core).pay_in(t.certificate_id, FACE)
    for holder, part, value in ((p.supplier, t.root, FACE - B_PAID), (p.supplier2, part_b, B_PAID - C_PAID),
                                (p.core2, part_d, C_PAID)):
        before_claim = fin.cash(holder)
        certs.as_(p.outsider).claim(part)
        assert fin.cash(holder) == before_claim + value
    assert certs.certificate(t.certificate_id).redeemed == FACE
    # The auditor's replay folds the order across chains and the certificate, and agrees with the chain.
    outcome = audit_chain(fin.chain, fin.platform.deployment)
    assert [str(f) for f in outcome.findings] == []
    assert outcome.result.state.get("orders", str(order_b))["sellerChainId"] == chain2
    # The console's tree (from the lenders' index) says which part crossed into which chain.
    with tempfile.TemporaryDirectory() as tmp, open_index(Path(tmp) / "index.sqlite") as index:
        index.update(source_for(fin.chain), fin.platform.deployment)
        d = Directory(index, fin.platform.deployment)
        view = certificate_view(d, t.certificate_id, index.record("certificates", str(t.certificate_id)),
                                certificate_parts(d, t.certificate_id), None)
    root = view["tree"][0]
    (b,) = [n for n in root["children"] if n["part"] == part_b]
    home, away = d.chain_name(fin.w.chain_id).split(" ", 1)[0], f"#{chain2} "
    assert b["purpose"].startswith(f"paid order #{order_b} across chains ({home} ") and f" → {away}" in b["purpose"]
    assert (b["holder"]["address"], b["received"]["units"], b["claimed"]["units"]) == (
        p.supplier2.address, str(B_PAID), str(B_PAID - C_PAID))
    (d_node,) = b["children"]
    assert d_node["purpose"] == f"paid order #{order_d}"  # chain 2's own order: within one chain


def test_a_payment_on_an_order_across_chains_is_refused_unless_the_core_admits_the_sellers_chain(fin):
    p = fin.p
    t = issued(fin)
    certs = t.certs
    chain2 = second_chain(fin)
    order_b = fin.order(p.supplier, p.supplier2, B_AMOUNT, to=OrderStatus.ACCEPTED)
    # Not admitted: refused, nothing moves.
    with reverts("CertificateChainNotAdmitted", member=p.supplier2.address, chainId=chain2, core=p.core.address):
        certs.as_(p.supplier).pay(t.root, order_b, B_PAID)
    # Admitted, then dismissed: refused again.
    certs.as_(p.core).admit_chain(chain2)
    certs.as_(p.core).dismiss_chain(chain2)
    with reverts("CertificateChainNotAdmitted", member=p.supplier2.address, chainId=chain2, core=p.core.address):
        certs.as_(p.supplier).pay(t.root, order_b, B_PAID)
    # Admitted again, then the chain is evicted (its members with it): refused, the seller no longer active.
    certs.as_(p.core).admit_chain(chain2)
    fin.platform.members.as_(p.operator).evict_chain(chain2, b32("collusion"))
    with reverts("CertificateNotInChain", member=p.supplier2.address, chainId=fin.w.chain_id):
        certs.as_(p.supplier).pay(t.root, order_b, B_PAID)
    assert certs.part(t.root).value == FACE
    assert fin.platform.orders.order(order_b, with_documents=False).prepaid == 0
    assert [str(f) for f in audit_chain(fin.chain, fin.platform.deployment).findings] == []


def test_the_core_issues_for_an_order_across_chains_only_to_a_seller_of_an_admitted_chain(fin):
    p = fin.p
    certs = fin.platform.certificates
    chain2 = second_chain(fin)
    order_a = fin.order(p.core, p.supplier2, FACE, to=OrderStatus.INVOICED)
    maturity = fin.now() + 90 * DAY
    with reverts("CertificateChainNotAdmitted", member=p.supplier2.address, chainId=chain2, core=p.core.address):
        certs.as_(p.core).issue(order_a, maturity)
    certs.as_(p.core).admit_chain(chain2)
    written = certs.as_(p.core).issue(order_a, maturity)
    cert = certs.certificate(written.id)
    assert (cert.chain_id, cert.face, certs.part(cert.root_part).holder) == (fin.w.chain_id, FACE, p.supplier2.address)
