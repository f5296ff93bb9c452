"""Certificates.issue, split and pay: the core's payable becomes a certificate whose parts pay orders
down the tiers; every order records what it was paid by certificate and settlement asks only the rest."""

from __future__ import annotations

from cert_support import B_AMOUNT, B_PAID, C_AMOUNT, C_PAID, FACE, MATURITY_IN, four_tiers, issued
from financing_support import b32, call_as, the_event
from harness import reverts

from vscm.client.records import OrderStatus


def test_issue_gives_the_seller_a_root_part_worth_what_the_order_asks_and_pays_the_order(fin):
    p = fin.p
    order_a = fin.order(p.core, p.supplier, FACE, to=OrderStatus.INVOICED)
    maturity = fin.now() + MATURITY_IN
    certs = fin.platform.certificates

    written = certs.as_(p.core).issue(order_a, maturity)

    cert = certs.certificate(written.id)
    assert (cert.core, cert.order_id, cert.face, cert.maturity, cert.paid_in, cert.redeemed) == (
        p.core.address, order_a, FACE, maturity, 0, 0)
    assert cert.chain_id == fin.w.chain_id
    root = certs.part(cert.root_part)
    assert (root.holder, root.value, root.parent, root.order_id, root.claimed) == (p.supplier.address, FACE, 0,
                                                                                    order_a, 0)
    assert certs.balance(p.supplier.address, cert.root_part) == FACE
    assert certs.of_order(order_a) == written.id
    order = fin.platform.orders.order(order_a, with_documents=False)
    assert order.prepaid == FACE
    assert fin.platform.orders.contract.functions.certificatePaid(order_a).call() == FACE
    assert the_event(fin.platform.orders, written.receipt, "OrderPaidByCertificate") == {
        "orderId": order_a, "amount": FACE, "certificatePaid": FACE, "prepaid": FACE, "by": certs.address}
    # Settlement asks nothing more: the certificate paid the order.
    before = fin.balances(p.core, p.supplier)
    receipt = fin.platform.orders.as_(p.core).settle(order_a)
    assert the_event(fin.platform.orders, receipt, "OrderSettled")["amount"] == 0
    assert fin.balances(p.core, p.supplier) == before


def test_issue_is_refused_to_anyone_but_an_active_core_buyer_of_an_invoiced_free_order(fin):
    p = fin.p
    certs = fin.platform.certificates
    later = fin.now() + MATURITY_IN
    order_a = fin.order(p.core, p.supplier, FACE, to=OrderStatus.INVOICED)
    with reverts("CertificateNotBuyer", orderId=order_a, caller=p.supplier.address):
        certs.as_(p.supplier).issue(order_a, later)
    sme_order = fin.order(p.supplier, p.supplier2, 1_000_00, to=OrderStatus.INVOICED)
    with reverts("CertificateNotCore", caller=p.supplier.address):
        certs.as_(p.supplier).issue(sme_order, later)
    delivered = fin.order(p.core, p.supplier, 1_000_00, to=OrderStatus.DELIVERED)
    with reverts("CertificateOrderWrongStatus", orderId=delivered, status=int(OrderStatus.DELIVERED)):
        certs.as_(p.core).issue(delivered, later)
    with reverts("CertificateBadMaturity"):
        certs.as_(p.core).issue(order_a, fin.now())
    payable = fin.order(p.core, p.supplier, 2_000_00, to=OrderStatus.INVOICED)
    asset_id = fin.platform.assets.as_(p.core).register_payable(payable).id
    with reverts("CertificateInvoiceRegistered", orderId=payable, assetId=asset_id):
        certs.as_(p.core).issue(payable, later)
    first = certs.as_(p.core).issue(order_a, later).id
    with reverts("CertificateAlreadyIssued", orderId=order_a, certificateId=first):
        certs.as_(p.core).issue(order_a, later)


def test_a_payable_cannot_be_registered_for_an_order_a_certificate_paid(fin):
    """One invoice, one financing: after the certificate the order asks nothing, so no payable or
    receivable can be registered on it (nothing left to finance twice)."""
    p = fin.p
    t = issued(fin)
    with reverts("AssetZeroValue"):
        fin.platform.assets.as_(p.core).register_payable(t.order_a)


def test_parts_pay_orders_down_three_tiers_and_settlement_asks_only_the_rest(fin):
    p = fin.p
    t = four_tiers(fin)
    certs, orders = t.certs, fin.platform.orders

    root, part_b, part_c = certs.part(t.root), certs.part(t.part_b), certs.part(t.part_c)
    assert (root.holder, root.value) == (p.supplier.address, FACE - B_PAID)
    assert (part_b.holder, part_b.value, part_b.parent, part_b.order_id) == (
        p.supplier2.address, B_PAID - C_PAID, t.root, t.order_b)
    assert (part_c.holder, part_c.value, part_c.parent, part_c.order_id) == (
        p.seller.address, C_PAID, t.part_b, t.order_c)
    assert [certs.balance(h.address, i) for h, i in ((p.supplier, t.root), (p.supplier2, t.part_b),
                                                      (p.seller, t.part_c))] == [FACE - B_PAID, B_PAID - C_PAID,
                                                                                 C_PAID]
    assert orders.contract.functions.certificatePaid(t.order_b).call() == B_PAID
    assert orders.contract.functions.certificatePaid(t.order_c).call() == C_PAID
    # The tree, read off chain from the parent pointers.
    tree = certs.tree(t.certificate_id)
    assert tree["part"].part_id == t.root
    assert [c["part"].part_id for c in tree["children"]] == [t.part_b]
    assert [c["part"].part_id for c in tree["children"][0]["children"]] == [t.part_c]
    # Settlement of order b asks the 20,000.00 that the certificate did not pay.
    fin.advance(t.order_b, OrderStatus.INVOICED)
    fin.mint(p.supplier, B_AMOUNT)
    before = fin.balances(p.supplier, p.supplier2)
    orders.as_(p.supplier).settle(t.order_b)
    assert fin.balances(p.supplier, p.supplier2) == [before[0] - (B_AMOUNT - B_PAID), before[1] + B_AMOUNT - B_PAID]
    assert orders.order(t.order_c, with_documents=False).prepaid == C_PAID
    assert C_AMOUNT > C_PAID


def test_split_keeps_a_piece_aside_for_the_holder_with_a_parent_pointer(fin):
    p = fin.p
    t = issued(fin)
    written = t.certs.as_(p.supplier).split(t.root, 30_000_00)
    child = t.certs.part(written.id)
    assert (child.holder, child.value, child.parent, child.order_id) == (p.supplier.address, 30_000_00, t.root, 0)
    assert t.certs.part(t.root).value == FACE - 30_000_00
    assert the_event(t.certs, written.receipt, "PartSplit") == {
        "certificateId": t.certificate_id, "parent": t.root, "child": written.id, "from": p.supplier.address,
        "to": p.supplier.address, "orderId": 0, "amount": 30_000_00}


def test_pay_is_refused_outside_its_rules_with_the_values(fin):
    p = fin.p
    t = issued(fin)
    certs = t.certs.as_(p.supplier)
    order_b = fin.order(p.supplier, p.supplier2, B_AMOUNT, to=OrderStatus.DELIVERED)
    with reverts("CertificateNotHolder", partId=t.root, caller=p.supplier2.address):
        t.certs.as_(p.supplier2).pay(t.root, order_b, 1)
    with reverts("CertificateBadAmount", partId=t.root, amount=0, available=FACE):
        certs.pay(t.root, order_b, 0)
    with reverts("CertificateBadAmount", partId=t.root, amount=FACE + 1, available=FACE):
        certs.pay(t.root, order_b, FACE + 1)
    # More than the order still asks: the OrderBook refuses it.
    with reverts("OrderPrepaymentTooLarge", orderId=order_b, amount=B_AMOUNT + 1, due=B_AMOUNT):
        certs.pay(t.root, order_b, B_AMOUNT + 1)
    not_buyer = fin.order(p.supplier2, p.seller, 1_000_00, to=OrderStatus.ACCEPTED)
    with reverts("CertificateNotBuyer", orderId=not_buyer, caller=p.supplier.address):
        certs.pay(t.root, not_buyer, 1)
    usd = fin.order(p.supplier, p.supplier2, 1_000_00, to=OrderStatus.ACCEPTED, currency="USD")
    with reverts("CertificateWrongCurrency", orderId=usd):
        certs.pay(t.root, usd, 1)
    placed = fin.order(p.supplier, p.supplier2, 1_000_00, to=OrderStatus.PLACED)
    with reverts("CertificateOrderWrongStatus", orderId=placed, status=int(OrderStatus.PLACED)):
        certs.pay(t.root, placed, 1)
    invoiced = fin.order(p.supplier, p.supplier2, 1_000_00, to=OrderStatus.INVOICED)
    asset_id = fin.platform.assets.as_(p.supplier2).register_receivable(invoiced).id
    with reverts("CertificateInvoiceRegistered", orderId=invoiced, assetId=asset_id):
        certs.pay(t.root, invoiced, 1)
    # An evicted member is no longer in the chain: its parts stay where they are.
    fin.platform.members.as_(p.operator).suspend(p.supplier.address, b32("hold"))
    with reverts("CertificateNotInChain", member=p.supplier.address, chainId=fin.w.chain_id):
        certs.pay(t.root, order_b, 1)


def test_parts_move_only_by_split_and_pay_never_by_erc1155_transfer(fin):
    p = fin.p
    t = issued(fin)
    with reverts("CertificateTransferDisabled"):
        call_as(fin.w, p.supplier, t.certs, "safeTransferFrom", p.supplier.address, p.supplier2.address, t.root, 1,
                b"")


def test_only_the_certificates_contract_records_certificate_payments(fin):
    p = fin.p
    order = fin.order(p.supplier, p.supplier2, 1_000_00)
    with reverts("AccessControlUnauthorizedAccount", account=p.operator.address):
        call_as(fin.w, p.operator, fin.platform.orders, "recordCertificatePayment", order, 1)
