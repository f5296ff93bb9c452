"""Certificates.admitChain and dismissChain: a core lets its certificates circulate in other chains.

Orders are placed inside one chain (OrderBook), so a part reaches another chain's members through an
order placed while both parties were in the core's chain and paid after the seller moved, then keeps
circulating by that chain's own orders. The casting: core2 (certified here) leads chain 2; supplier2
moves there from the core's chain after supplier ordered from it.
"""

from __future__ import annotations

from cert_support import B_AMOUNT, B_PAID, C_PAID, FACE, approve, issued
from financing_support import DAY, b32, the_event
from harness import reverts

from vscm.audit.audit import audit_chain
from vscm.client.records import OrderStatus, Role

D_AMOUNT = 40_000_00  # supplier2 buys from core2 in chain 2, pays C_PAID of it by certificate


def second_chain(fin) -> int:
    """core2 (a pending core applicant of the world) is attested and forms chain 2; supplier2 moves there."""
    p, members = fin.p, fin.platform.members
    members.as_(p.bank).attest(p.core2.address, Role.FINANCIER)
    members.as_(p.auditor).attest(p.core2.address, Role.AUDITOR)
    chain2 = members.as_(p.core2).create_chain("Second chain")
    members.as_(p.supplier2).leave_chain()
    members.as_(p.supplier2).request_join(chain2)
    members.as_(p.core2).approve_join(chain2, p.supplier2.address)
    return chain2


def chain2_order(fin, chain2: int) -> int:
    """supplier2 buys from core2 in chain 2 (accepted)."""
    p, orders = fin.p, fin.platform.orders
    oid = int(orders.as_(p.supplier2).place(p.core2.address, chain2, "CNY", D_AMOUNT, fin.now() + 365 * DAY))
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
