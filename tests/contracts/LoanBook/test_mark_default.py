"""LoanBook.markDefault: the lender declares a loan defaulted once it is past maturity plus the grace
period; the loan's unspent tracked money goes back to the lender first (as repayment), then the
guarantor is charged for what is still owed out of the commitment held for the loan (the rest goes
back to it), and takes over the lender's claim for what it paid (the collateral is then its security, never the defaulting borrower's)."""

from __future__ import annotations

from financing_support import DAY, GRACE, InterestModel, Terms, b32, block_time, call_as, emitted, the_event
from harness import reverts

from vscm.client.records import LoanStatus


def test_default_charges_the_guarantor_and_its_payment_closes_the_loan_with_the_collateral_to_it(fin):
    p = fin.p
    deal = fin.pledge(terms=Terms(40_000_00, 700, 30 * DAY, 5_000))
    fin.platform.funds.as_(p.supplier).spend(deal.loan_id, p.supplier2.address, 30_000_00, "rubber")
    model = InterestModel(deal.terms.principal, deal.terms.rate_bps, fin.state(deal.loan_id).disbursed_at)
    fin.to_default(deal)
    before = fin.balances(p.core, p.bank, p.supplier)

    receipt = fin.platform.loans.as_(p.bank).mark_default(deal.loan_id)

    model.pay(10_000_00, block_time(fin.w, receipt))  # the unspent money comes back first
    owed = model.owed
    loan = fin.state(deal.loan_id)
    assert (loan.status, loan.guarantor_paid, loan.principal_repaid) == (LoanStatus.REPAID, owed, 40_000_00)
    assert (loan.defaulted_at, loan.guarantee_held) == (block_time(fin.w, receipt), 0)
    # The guarantor is charged what is owed out of its commitment and gets the rest back.
    assert fin.balances(p.core, p.bank, p.supplier) == [
        before[0] + 40_000_00 - owed, before[1] + 10_000_00 + owed, before[2]]
    assert the_event(fin.platform.loans, receipt, "GuaranteeReleased")["amount"] == 40_000_00 - owed
    assert the_event(fin.platform.loans, receipt, "LoanDefaulted") == {"loanId": deal.loan_id, "outstanding": owed}
    assert the_event(fin.platform.loans, receipt, "GuaranteeCalled") == {
        "loanId": deal.loan_id, "guarantor": p.core.address, "amount": owed}
    asset = fin.asset(deal.asset_id)
    assert (asset.owner, asset.locked_by) == (p.core.address, 0)  # subrogation: the guarantor's security


def test_default_returns_the_unspent_money_to_the_lender_before_charging_the_guarantor(fin):
    # Bug fixed (F-08): the guarantor paid the whole debt first, its payment closed the loan and the
    # unspent loan money was released to the defaulting borrower as free cash, its goods unlocked.
    p = fin.p
    deal = fin.pledge(terms=Terms(200_000_00, 0, 30 * DAY, 6_000))
    fin.platform.funds.as_(p.supplier).spend(deal.loan_id, p.supplier2.address, 50_000_00, "rubber")
    fin.to_default(deal)
    before = fin.balances(p.core, p.bank, p.supplier)

    receipt = fin.platform.loans.as_(p.bank).mark_default(deal.loan_id)

    # Of the 200,000.00 committed, the guarantor pays the 50,000.00 really lost.
    assert fin.balances(p.core, p.bank, p.supplier) == [
        before[0] + 200_000_00 - 50_000_00, before[1] + 200_000_00, before[2]]
    where = fin.platform.funds.whereabouts(deal.loan_id)
    assert (where.held, where.returned, where.released) == (0, 150_000_00, 0)
    assert the_event(fin.platform.funds, receipt, "FundsRevoked")["amount"] == 150_000_00
    assert emitted(fin.platform.funds, receipt, "FundsReleased") == []
    loan = fin.state(deal.loan_id)
    assert (loan.status, loan.guarantor_paid, loan.principal_repaid) == (LoanStatus.REPAID, 50_000_00, 200_000_00)
    asset = fin.asset(deal.asset_id)
    assert (asset.owner, asset.locked_by) == (p.core.address, 0)  # not unlocked to the borrower


def test_defaulted_loan_money_can_no_longer_be_spent(fin):
    p = fin.p
    deal = fin.receivable_loan()  # no guarantor
    fin.platform.funds.as_(p.supplier2).spend(deal.loan_id, p.supplier.address, 50_000_00, "goods")
    fin.to_default(deal)
    fin.platform.loans.as_(p.bank).mark_default(deal.loan_id)
    assert fin.state(deal.loan_id).status == LoanStatus.DEFAULTED

    with reverts("FundsInsufficient", loanId=deal.loan_id, requested=10_000_00, unspent=0):
        fin.platform.funds.as_(p.supplier2).spend(deal.loan_id, p.supplier.address, 10_000_00, "goods")


def test_default_whose_unspent_money_covers_the_debt_repays_the_loan_and_charges_no_one(fin):
    p = fin.p
    deal = fin.pledge(terms=Terms(200_000_00, 0, 30 * DAY, 6_000))
    fin.to_default(deal)
    core_before = fin.cash(p.core)

    receipt = fin.platform.loans.as_(p.bank).mark_default(deal.loan_id)

    loan = fin.state(deal.loan_id)
    assert (loan.status, loan.guarantor_paid, loan.defaulted_at) == (LoanStatus.REPAID, 0, 0)
    assert fin.cash(p.core) == core_before + deal.terms.principal  # its whole commitment back
    assert emitted(fin.platform.loans, receipt, "LoanDefaulted") == []
    assert fin.asset(deal.asset_id).owner == p.supplier.address  # repaid by its own loan money


def test_guarantor_that_revoked_its_allowance_after_disbursement_is_still_charged(fin):
    # Bug fixed (F-04): the guarantor set its allowance to 0 after disbursement and paid nothing.
    p = fin.p
    deal = fin.pledge(terms=Terms(200_000_00, 0, 30 * DAY, 6_000), quantity=500)
    fin.platform.funds.as_(p.supplier).spend(deal.loan_id, p.supplier2.address, 150_000_00, "rubber")
    fin.platform.cash("CNY").as_(p.core).approve(fin.platform.loans.address, 0)
    fin.to_default(deal)

    fin.platform.loans.as_(p.bank).mark_default(deal.loan_id)

    loan = fin.state(deal.loan_id)
    assert (loan.status, loan.guarantor_paid, loan.principal_repaid) == (LoanStatus.REPAID, 150_000_00, 200_000_00)


def test_guarantor_that_emptied_its_account_after_signing_is_still_charged(fin):
    # Bug fixed (F-04): the charge went only as far as the guarantor's balance at the default.
    p = fin.p
    deal = fin.pledge(terms=Terms(200_000_00, 0, 30 * DAY, 6_000))
    fin.platform.funds.as_(p.supplier).spend(deal.loan_id, p.supplier2.address, 150_000_00, "rubber")
    fin.platform.cash("CNY").as_(p.core).transfer(p.seller.address, fin.cash(p.core))
    fin.to_default(deal)

    fin.platform.loans.as_(p.bank).mark_default(deal.loan_id)

    assert fin.state(deal.loan_id).guarantor_paid == 150_000_00
    assert fin.cash(p.core) == 50_000_00  # the rest of its commitment


def test_borrower_repaying_after_the_guarantor_paid_its_commitment_does_not_get_the_collateral_back(fin):
    p = fin.p
    deal = fin.pledge(terms=Terms(40_000_00, 700, 30 * DAY, 5_000))
    fin.platform.funds.as_(p.supplier).spend(deal.loan_id, p.supplier2.address, 40_000_00, "rubber")
    fin.to_default(deal)
    fin.platform.loans.as_(p.bank).mark_default(deal.loan_id)
    assert fin.state(deal.loan_id).status == LoanStatus.DEFAULTED  # the interest is left

    fin.repay(deal, 10**9)

    assert fin.state(deal.loan_id).status == LoanStatus.REPAID
    asset = fin.asset(deal.asset_id)
    assert (asset.owner, asset.locked_by) == (p.core.address, 0)  # the guarantor still has a claim


def test_default_without_a_guarantor_charges_no_one(fin):
    deal = fin.receivable_loan()
    fin.to_default(deal)

    receipt = fin.platform.loans.as_(fin.p.bank).mark_default(deal.loan_id)

    loan = fin.state(deal.loan_id)
    assert (loan.status, loan.guarantor_paid) == (LoanStatus.DEFAULTED, 0)
    assert emitted(fin.platform.loans, receipt, "GuaranteeCalled") == []


def test_defaulted_loan_stops_accruing_interest(fin):
    deal = fin.receivable_loan()
    fin.to_default(deal)
    fin.platform.loans.as_(fin.p.bank).mark_default(deal.loan_id)
    owed = fin.state(deal.loan_id).outstanding_now

    fin.chain.time_travel(30 * DAY)

    assert fin.state(deal.loan_id).outstanding_now == owed


def test_borrower_may_still_repay_a_defaulted_loan(fin):
    deal = fin.receivable_loan()
    fin.to_default(deal)
    fin.platform.loans.as_(fin.p.bank).mark_default(deal.loan_id)

    fin.repay(deal, 10**12)

    assert fin.state(deal.loan_id).status == LoanStatus.REPAID


def test_default_refuses_a_loan_at_the_end_of_its_grace_period(fin):
    deal = fin.pledge()
    maturity = fin.state(deal.loan_id).maturity
    fin.chain.time_travel(maturity + GRACE - fin.now() - 1)  # the next block is stamped at the boundary
    with reverts("LoanNotMature", loanId=deal.loan_id, defaultableAt=maturity + GRACE, nowTime=maturity + GRACE):
        call_as(fin.w, fin.p.bank, fin.platform.loans, "markDefault", deal.loan_id)


def test_default_refuses_a_loan_just_past_maturity(fin):
    deal = fin.pledge()
    maturity = fin.state(deal.loan_id).maturity
    fin.chain.time_travel(maturity - fin.now() + DAY)
    with reverts("LoanNotMature", loanId=deal.loan_id, defaultableAt=maturity + GRACE):
        fin.platform.loans.as_(fin.p.bank).mark_default(deal.loan_id)


def test_recalled_loan_can_be_defaulted_a_grace_period_after_the_recall(wfin):
    deal = wfin.pledge()
    wfin.platform.funds.as_(deal.borrower).spend(deal.loan_id, wfin.p.supplier2.address, 150_000_00, "rubber")
    wfin.platform.loans.as_(wfin.p.monitor).recall(deal.loan_id)
    wfin.chain.time_travel(GRACE + 1)

    wfin.platform.loans.as_(wfin.p.bank).mark_default(deal.loan_id)

    assert wfin.state(deal.loan_id).defaulted_at > 0


def test_default_refuses_anyone_but_the_lender(fin):
    deal = fin.pledge()
    fin.to_default(deal)
    with reverts("LoanNotLender", loanId=deal.loan_id, caller=fin.p.supplier.address):
        fin.platform.loans.as_(fin.p.supplier).mark_default(deal.loan_id)


def test_default_refuses_a_loan_not_disbursed(fin):
    deal = fin.pledge(stage="approved")
    with reverts("LoanWrongStatus", loanId=deal.loan_id, status=int(LoanStatus.APPROVED)):
        fin.platform.loans.as_(fin.p.bank).mark_default(deal.loan_id)


def test_default_refuses_a_loan_defaulted_already(fin):
    deal = fin.receivable_loan()
    fin.to_default(deal)
    fin.platform.loans.as_(fin.p.bank).mark_default(deal.loan_id)
    with reverts("LoanWrongStatus", loanId=deal.loan_id, status=int(LoanStatus.DEFAULTED)):
        fin.platform.loans.as_(fin.p.bank).mark_default(deal.loan_id)


def test_default_refuses_a_suspended_lender(fin):
    # Bug fixed: markDefault was the one lender action that skipped the activity check.
    deal = fin.receivable_loan()
    fin.to_default(deal)
    fin.platform.members.as_(fin.p.operator).suspend(fin.p.bank.address, b32("review"))
    with reverts("MemberNotActive", member=fin.p.bank.address):
        fin.platform.loans.as_(fin.p.bank).mark_default(deal.loan_id)


def test_guarantee_committing_the_principal_only_leaves_as_much_owed_as_the_interest(fin):
    p = fin.p
    deal = fin.pledge(terms=Terms(40_000_00, 700, 30 * DAY, 5_000))  # 40,000.00 committed
    fin.platform.funds.as_(p.supplier).spend(deal.loan_id, p.supplier2.address, 40_000_00, "rubber")
    fin.to_default(deal)

    fin.platform.loans.as_(p.bank).mark_default(deal.loan_id)

    loan = fin.state(deal.loan_id)
    assert (loan.status, loan.guarantor_paid) == (LoanStatus.DEFAULTED, 40_000_00)
    assert loan.interest_paid == loan.interest_accrued > 0  # the guarantor's money paid interest first
    assert loan.outstanding_now == 40_000_00 - loan.principal_repaid == loan.interest_accrued


def test_claim_kept_for_an_evicted_guarantor_stays_locked_with_its_settlement_payable_here(fin):
    # Bug fixed (found by the financing machine): the claim's settlement was redirected to the evicted
    # guarantor, which the OrderBook refuses (OrderPayeeNotMember): the default could not be declared.
    # The settlement keeps coming here and `collect` passes it to the guarantor.
    p = fin.p
    deal = fin.receivable_loan(guarantor=p.core)
    fin.platform.funds.as_(p.supplier2).spend(deal.loan_id, p.supplier.address, 60_000_00, "goods")
    fin.to_default(deal)
    fin.platform.members.as_(p.operator).evict(p.core.address, b32("fraud"))

    fin.platform.loans.as_(p.bank).mark_default(deal.loan_id)

    loan = fin.state(deal.loan_id)
    assert loan.status == LoanStatus.REPAID and loan.guarantor_paid > 0
    asset = fin.asset(deal.asset_id)
    assert (asset.owner, asset.locked_by) == (p.supplier2.address, deal.loan_id)
    assert fin.platform.orders.order(deal.asset_order_id).payee == fin.platform.loans.address


def test_guarantor_declares_the_default_of_a_loan_whose_lender_was_evicted(fin):
    # Hole fixed (issue 13): only an active lender could declare the default, so once the lender was
    # evicted a running loan never ended: the guarantor's commitment stayed held and the goods locked.
    p = fin.p
    deal = fin.pledge(terms=Terms(40_000_00, 0, 30 * DAY, 5_000))
    fin.platform.funds.as_(p.supplier).spend(deal.loan_id, p.supplier2.address, 30_000_00, "rubber")
    fin.to_default(deal)
    fin.platform.members.as_(p.operator).evict(p.bank.address, b32("gone"))
    before = fin.balances(p.core, p.bank)

    fin.platform.loans.as_(p.core).mark_default(deal.loan_id)

    loan = fin.state(deal.loan_id)
    assert (loan.status, loan.guarantor_paid, loan.guarantee_held) == (LoanStatus.REPAID, 30_000_00, 0)
    # The evicted lender's claim is still its own: the unspent money and the guarantor's payment reach it.
    assert fin.balances(p.core, p.bank) == [before[0] + 40_000_00 - 30_000_00, before[1] + 40_000_00]
    asset = fin.asset(deal.asset_id)
    assert (asset.owner, asset.locked_by) == (p.core.address, 0)


def test_evicted_lender_can_still_declare_its_loan_defaulted(fin):
    p = fin.p
    deal = fin.receivable_loan()  # no guarantor
    fin.platform.funds.as_(p.supplier2).spend(deal.loan_id, p.supplier.address, 50_000_00, "goods")
    fin.to_default(deal)
    fin.platform.members.as_(p.operator).evict(p.bank.address, b32("gone"))

    fin.platform.loans.as_(p.bank).mark_default(deal.loan_id)

    assert fin.state(deal.loan_id).status == LoanStatus.DEFAULTED


def test_guarantor_cannot_declare_the_default_while_the_lender_is_active(fin):
    p = fin.p
    deal = fin.pledge()
    fin.to_default(deal)
    with reverts("LoanLenderStillActive", loanId=deal.loan_id, lender=p.bank.address):
        fin.platform.loans.as_(p.core).mark_default(deal.loan_id)


def _collateral_kept_for_evicted_guarantor(fin):
    p = fin.p
    deal = fin.pledge(terms=Terms(40_000_00, 0, 30 * DAY, 5_000))
    fin.platform.funds.as_(p.supplier).spend(deal.loan_id, p.supplier2.address, 30_000_00, "rubber")
    fin.to_default(deal)
    fin.platform.members.as_(p.operator).evict(p.core.address, b32("fraud"))
    fin.platform.loans.as_(p.bank).mark_default(deal.loan_id)
    loan, asset = fin.state(deal.loan_id), fin.asset(deal.asset_id)
    assert (loan.status, loan.guarantor_paid) == (LoanStatus.REPAID, 30_000_00)
    assert (asset.owner, asset.locked_by) == (p.supplier.address, deal.loan_id)  # kept for the guarantor
    return deal


def test_evicted_guarantor_names_an_active_member_to_take_the_goods_kept_for_it(fin):
    # Hole fixed (issue 13): the collateral kept for a subrogated guarantor that was evicted stayed
    # locked to the closed loan for good (an evicted member can hold no asset).
    p = fin.p
    deal = _collateral_kept_for_evicted_guarantor(fin)

    receipt = fin.platform.loans.as_(p.core).assign_collateral(deal.loan_id, p.supplier2.address)

    asset = fin.asset(deal.asset_id)
    assert (asset.owner, asset.locked_by, asset.pledged_quantity) == (p.supplier2.address, 0, 0)
    assert emitted(fin.platform.assets, receipt, "AssetSeized")


def test_assign_collateral_refuses_anyone_but_the_guarantor_and_a_restricted_nominee(fin):
    p = fin.p
    deal = _collateral_kept_for_evicted_guarantor(fin)
    with reverts("LoanNotGuarantor", loanId=deal.loan_id, caller=p.supplier.address):
        fin.platform.loans.as_(p.supplier).assign_collateral(deal.loan_id, p.supplier.address)
    with reverts("MemberNotActive", member=p.core.address):
        fin.platform.loans.as_(p.core).assign_collateral(deal.loan_id, p.core.address)


def test_assign_collateral_refuses_a_loan_whose_guarantor_paid_nothing(fin):
    p = fin.p
    deal = fin.pledge()  # running: the guarantor has paid nothing, the goods secure the lender
    with reverts("LoanNoCollateralKept", loanId=deal.loan_id, guarantorPaid=0, lockedBy=deal.loan_id):
        fin.platform.loans.as_(p.core).assign_collateral(deal.loan_id, p.core.address)
