"""Certificates.offer, acceptOffer, payIn, claim and flagLate: a part sold at a discount is locked in the
AssetRegistry (one part, one pledge); the core pays the face value in once and every part claims its
share, pull-based; a late core is an alert on its chain and leaves every holder a recorded claim."""

from __future__ import annotations

from cert_support import B_PAID, C_PAID, FACE, MATURITY_IN, approve, four_tiers
from financing_support import DAY, the_event
from harness import reverts

from vscm.client.records import AssetKind, AssetStatus

PRICE = 24_000_00  # the bank buys the seller's 25,000.00 part for 24,000.00


def financed(fin):
    p = fin.p
    t = four_tiers(fin)
    t.certs.as_(p.seller).offer(t.part_c, p.bank.address, PRICE)
    fin.mint(p.bank, PRICE)
    approve(fin, p.bank, t.certs.address, PRICE)
    return t, t.certs.as_(p.bank).accept_offer(t.part_c)


def test_a_sold_part_pays_the_holder_the_price_and_is_locked_to_it_in_the_asset_registry(fin):
    p = fin.p
    before = fin.balances(p.seller, p.bank)
    t, written = financed(fin)
    assert fin.balances(p.seller, p.bank) == [before[0] + PRICE, before[1]]  # the bank's deposit was minted
    part = t.certs.part(t.part_c)
    assert (part.financier, part.price, part.asset_id, part.holder) == (p.bank.address, PRICE, written.id,
                                                                        p.seller.address)
    asset = fin.platform.assets.asset(written.id)
    assert asset.kind == AssetKind.CERTIFICATE_PART and asset.status == AssetStatus.CONFIRMED
    assert (asset.locked_by, asset.value, asset.owner, asset.obligor) == (t.part_c, C_PAID, p.bank.address,
                                                                         p.core.address)
    assert the_event(t.certs, written.receipt, "PartFinanced") == {
        "partId": t.part_c, "financier": p.bank.address, "holder": p.seller.address, "price": PRICE,
        "assetId": written.id}


def test_a_financed_part_cannot_be_split_paid_on_or_sold_again(fin):
    p = fin.p
    t, written = financed(fin)
    certs = t.certs.as_(p.seller)
    with reverts("CertificatePartLocked", partId=t.part_c, assetId=written.id):
        certs.split(t.part_c, 1)
    with reverts("CertificatePartLocked", partId=t.part_c, assetId=written.id):
        certs.offer(t.part_c, p.bank2.address, 1)
    with reverts("CertificatePartLocked", partId=t.part_c, assetId=written.id):
        certs.pay(t.part_c, t.order_c, 1)
    # Nor can its asset be moved or retired: it is locked to the part.
    with reverts("AssetIsLocked", assetId=written.id, loanId=t.part_c):
        fin.platform.assets.as_(p.bank).transfer(written.id, p.bank2.address)


def test_an_offer_is_taken_only_by_its_financier_and_only_at_the_value_offered(fin):
    p = fin.p
    t = four_tiers(fin)
    with reverts("CertificateNotFinancier", financier=p.supplier.address):
        t.certs.as_(p.seller).offer(t.part_c, p.supplier.address, 1)
    with reverts("CertificateBadPrice", partId=t.part_c, price=C_PAID + 1, value=C_PAID):
        t.certs.as_(p.seller).offer(t.part_c, p.bank.address, C_PAID + 1)
    t.certs.as_(p.seller).offer(t.part_c, p.bank.address, PRICE)
    with reverts("CertificateNoOffer", partId=t.part_c, caller=p.bank2.address):
        t.certs.as_(p.bank2).accept_offer(t.part_c)
    t.certs.as_(p.seller).split(t.part_c, 1_000_00)
    with reverts("CertificateOfferStale", partId=t.part_c, offered=C_PAID, value=C_PAID - 1_000_00):
        t.certs.as_(p.bank).accept_offer(t.part_c)


def test_redemption_pays_every_holder_and_the_lender_exactly_their_share(fin):
    p = fin.p
    t, written = financed(fin)
    certs = t.certs
    shares = {t.root: (p.supplier, FACE - B_PAID), t.part_b: (p.supplier2, B_PAID - C_PAID),
              t.part_c: (p.bank, C_PAID)}
    fin.chain.time_travel(MATURITY_IN)
    approve(fin, p.core, certs.address, FACE)
    core_before = fin.cash(p.core)
    # Half now: each part claims half its value, and the tree is frozen from the first pay-in on.
    certs.as_(p.core).pay_in(t.certificate_id, FACE // 2)
    with reverts("CertificateInRedemption", certificateId=t.certificate_id, paidIn=FACE // 2):
        certs.as_(p.supplier).split(t.root, 1)
    for part_id, (payee, value) in shares.items():
        before = fin.cash(payee)
        claimed = certs.as_(p.outsider).claim(part_id)  # anyone may send it: the money goes to the payee
        assert fin.cash(payee) == before + value // 2
        assert the_event(certs, claimed.receipt, "PartClaimed")["payee"] == payee.address
    with reverts("CertificateNothingToClaim", partId=t.root):
        certs.as_(p.supplier).claim(t.root)
    assert fin.platform.assets.asset(written.id).locked_by == t.part_c  # not paid in full yet
    # The rest: each part claims the other half; the financed part's asset is unlocked and retired.
    certs.as_(p.core).pay_in(t.certificate_id, FACE - FACE // 2)
    with reverts("CertificateBadPayIn", certificateId=t.certificate_id, amount=1, due=0):
        certs.as_(p.core).pay_in(t.certificate_id, 1)
    for part_id, (payee, value) in shares.items():
        before = fin.cash(payee)
        certs.as_(p.supplier).claim(part_id)
        assert fin.cash(payee) == before + value - value // 2
        assert certs.part(part_id).claimed == value
        assert certs.balance(certs.part(part_id).holder, part_id) == 0
    assert fin.cash(p.core) == core_before - FACE
    cert = certs.certificate(t.certificate_id)
    assert (cert.paid_in, cert.redeemed) == (FACE, FACE)
    assert fin.platform.cash("CNY").balance(certs.address) == 0
    asset = fin.platform.assets.asset(written.id)
    assert (asset.locked_by, asset.status) == (0, AssetStatus.RETIRED)


def test_partial_pay_in_rounds_each_claim_down_and_never_pays_out_more_than_was_paid_in(fin):
    p = fin.p
    t = four_tiers(fin)
    certs = t.certs
    approve(fin, p.core, certs.address, FACE)
    certs.as_(p.core).pay_in(t.certificate_id, 7)  # 7 minor units of 100,000.00
    expected = {t.root: (FACE - B_PAID) * 7 // FACE, t.part_b: (B_PAID - C_PAID) * 7 // FACE,
                t.part_c: C_PAID * 7 // FACE}
    assert {i: certs.claimable(i) for i in expected} == expected
    assert sum(expected.values()) <= 7


def test_only_the_core_pays_in(fin):
    p = fin.p
    t = four_tiers(fin)
    with reverts("CertificateNotCore", caller=p.supplier.address):
        t.certs.as_(p.supplier).pay_in(t.certificate_id, 1)


def test_a_late_core_raises_a_chain_alert_once_per_amount_paid_in_and_holders_keep_their_claims(fin):
    p = fin.p
    t = four_tiers(fin)
    certs = t.certs
    cert = certs.certificate(t.certificate_id)
    with reverts("CertificateNotLate", certificateId=t.certificate_id, maturity=cert.maturity):
        certs.as_(p.outsider).flag_late(t.certificate_id)
    fin.chain.time_travel(MATURITY_IN + DAY)

    written = certs.as_(p.outsider).flag_late(t.certificate_id)

    alert = fin.platform.risk.alert(written.id)
    assert (alert.indicator, alert.severity, alert.subject_id) == (501, 3, fin.w.chain_id)
    assert alert.raised_by == certs.address
    assert the_event(certs, written.receipt, "CertificateLate") == {
        "certificateId": t.certificate_id, "core": p.core.address, "maturity": cert.maturity, "face": FACE,
        "paidIn": 0, "alertId": written.id}
    with reverts("RiskAlertRepeated"):
        certs.as_(p.outsider).flag_late(t.certificate_id)
    # A further instalment is new evidence; every part still holds its whole claim in face units.
    approve(fin, p.core, certs.address, 1_000_00)
    certs.as_(p.core).pay_in(t.certificate_id, 1_000_00)
    assert certs.as_(p.outsider).flag_late(t.certificate_id).id == written.id + 1
    assert [certs.balance(certs.part(i).holder, i) for i in (t.root, t.part_b, t.part_c)] == [
        FACE - B_PAID, B_PAID - C_PAID, C_PAID]
