"""LoanBook.repay: anyone pays up to `amount` of a running or defaulted loan, interest first, then
principal; pledged goods are released in step; the last payment closes the loan."""

from __future__ import annotations

from financing_support import DAY, InterestModel, Terms, b32, block_time, call_as, emitted, the_event
from harness import reverts

from vscm.client.records import LoanStatus

ZERO_RATE = Terms(200_000_00, 0, 90 * DAY, 6_000)


def test_partial_repayment_pays_the_accrued_interest_first_then_principal(fin):
    p = fin.p
    deal = fin.pledge()
    model = InterestModel(deal.terms.principal, deal.terms.rate_bps, fin.state(deal.loan_id).disbursed_at)
    fin.chain.time_travel(30 * DAY)
    fin.mint(p.supplier, 50_000_00)
    before = fin.balances(p.supplier, p.bank)

    receipt = fin.platform.loans.as_(p.supplier).repay(deal.loan_id, 50_000_00)

    interest, principal = model.pay(50_000_00, block_time(fin.w, receipt))
    assert interest > 0 and interest + principal == 50_000_00
    loan = fin.state(deal.loan_id)
    assert (loan.interest_accrued, loan.interest_paid, loan.principal_repaid) == (interest, interest, principal)
    assert fin.balances(p.supplier, p.bank) == [before[0] - 50_000_00, before[1] + 50_000_00]
    assert the_event(fin.platform.loans, receipt, "LoanRepayment") == {
        "loanId": deal.loan_id, "payer": p.supplier.address, "interest": interest, "principal": principal,
        "outstanding": model.owed}
    assert the_event(fin.platform.loans, receipt, "InterestAccrued")["amount"] == interest


def test_repayment_smaller_than_the_interest_due_pays_only_interest(fin):
    deal = fin.pledge()
    fin.chain.time_travel(60 * DAY)

    fin.repay(deal, 1_00)

    loan = fin.state(deal.loan_id)
    assert (loan.interest_paid, loan.principal_repaid) == (1_00, 0)
    assert loan.interest_accrued > 1_00


def test_repayment_above_what_is_owed_takes_only_what_is_owed_and_closes_the_loan(fin):
    p = fin.p
    deal = fin.pledge()
    fin.chain.time_travel(10 * DAY)
    fin.mint(p.supplier, 300_000_00)
    before = fin.cash(p.supplier)

    receipt = fin.platform.loans.as_(p.supplier).repay(deal.loan_id, 300_000_00)

    loan = fin.state(deal.loan_id)
    paid = loan.principal_repaid + loan.interest_paid
    assert loan.status == LoanStatus.REPAID and loan.principal_repaid == deal.terms.principal
    assert fin.cash(p.supplier) == before - paid + deal.terms.principal  # its unspent loan money came back
    assert (loan.outstanding_now, loan.accrued_now) == (0, 0)
    assert len(emitted(fin.platform.loans, receipt, "LoanRepaid")) == 1


def test_full_repayment_unlocks_the_collateral_for_the_borrower(fin):
    deal = fin.pledge(terms=ZERO_RATE)

    receipt = fin.repay(deal, ZERO_RATE.principal)

    asset = fin.asset(deal.asset_id)
    assert (asset.locked_by, asset.pledged_quantity, asset.owner) == (0, 0, deal.borrower.address)
    assert the_event(fin.platform.assets, receipt, "AssetUnlocked") == {
        "assetId": deal.asset_id, "loanId": deal.loan_id}


def test_full_repayment_hands_unspent_loan_money_to_the_borrower(fin):
    p = fin.p
    deal = fin.pledge(terms=ZERO_RATE)
    fin.platform.funds.as_(p.supplier).spend(deal.loan_id, p.supplier2.address, 150_000_00, "rubber")
    fin.mint(p.supplier, ZERO_RATE.principal)
    before = fin.cash(p.supplier)

    receipt = fin.platform.loans.as_(p.supplier).repay(deal.loan_id, ZERO_RATE.principal)

    assert fin.cash(p.supplier) == before - ZERO_RATE.principal + 50_000_00
    where = fin.platform.funds.whereabouts(deal.loan_id)
    assert (where.held, where.released, where.returned) == (0, 50_000_00, 0)
    assert the_event(fin.platform.funds, receipt, "FundsReleased") == {
        "loanId": deal.loan_id, "borrower": p.supplier.address, "amount": 50_000_00}


def test_repayment_releases_pledged_goods_in_proportion_to_principal_repaid(fin):
    deal = fin.pledge(terms=ZERO_RATE, quantity=500)

    receipt = fin.repay(deal, 50_000_00)

    assert fin.asset(deal.asset_id).pledged_quantity == 375
    assert the_event(fin.platform.assets, receipt, "PledgeReleased") == {
        "assetId": deal.asset_id, "loanId": deal.loan_id, "quantity": 125, "pledgedQuantity": 375}


def test_goods_released_in_step_are_rounded_in_favour_of_the_lender(fin):
    deal = fin.pledge(terms=ZERO_RATE, quantity=3)

    fin.repay(deal, 99_999_99)  # just under half: 1.49999 units paid for, one released
    assert fin.asset(deal.asset_id).pledged_quantity == 2
    fin.repay(deal, 66_666_67)  # 166,666.66 of 200,000.00 repaid: 2.4999 units paid for
    assert fin.asset(deal.asset_id).pledged_quantity == 1


def test_interest_only_repayment_releases_no_goods(fin):
    deal = fin.pledge()
    fin.chain.time_travel(60 * DAY)

    fin.repay(deal, 1_00)

    assert fin.asset(deal.asset_id).pledged_quantity == 500


def test_released_goods_can_leave_the_warehouse(fin):
    deal = fin.pledge(terms=ZERO_RATE, quantity=500)
    fin.repay(deal, 100_000_00)

    fin.platform.assets.as_(fin.p.warehouse).withdraw_goods(deal.asset_id, 250)

    assert (fin.asset(deal.asset_id).quantity, fin.asset(deal.asset_id).pledged_quantity) == (250, 250)


def test_anyone_may_repay_for_the_borrower(fin):
    p = fin.p
    deal = fin.pledge(terms=ZERO_RATE)
    before = fin.cash(p.core)

    receipt = fin.platform.loans.as_(p.core).repay(deal.loan_id, 10_000_00)

    assert fin.cash(p.core) == before - 10_000_00
    assert the_event(fin.platform.loans, receipt, "LoanRepayment")["payer"] == p.core.address


def test_suspended_borrower_can_still_repay(fin):
    deal = fin.pledge(terms=ZERO_RATE)
    fin.mint(deal.borrower, 10_000_00)
    fin.platform.members.as_(fin.p.operator).suspend(deal.borrower.address, b32("late"))

    fin.platform.loans.as_(deal.borrower).repay(deal.loan_id, 10_000_00)

    assert fin.state(deal.loan_id).principal_repaid == 10_000_00


def test_evicted_borrower_can_still_repay(fin):
    deal = fin.pledge(terms=ZERO_RATE)
    fin.mint(deal.borrower, 10_000_00)
    fin.platform.members.as_(fin.p.operator).evict(deal.borrower.address, b32("fraud"))

    fin.platform.loans.as_(deal.borrower).repay(deal.loan_id, 10_000_00)

    assert fin.state(deal.loan_id).principal_repaid == 10_000_00


def test_repayment_refuses_a_zero_amount(fin):
    deal = fin.pledge()
    with reverts("LoanZeroAmount"):
        call_as(fin.w, deal.borrower, fin.platform.loans, "repay", deal.loan_id, 0)


def test_lender_cannot_repay_its_own_loan(fin):
    # Paying itself would move no money yet book a repayment: forgiving is a write-off.
    deal = fin.pledge()
    fin.mint(fin.p.bank, 10_000_00)
    with reverts("LoanLenderCannotRepay", loanId=deal.loan_id):
        call_as(fin.w, fin.p.bank, fin.platform.loans, "repay", deal.loan_id, 10_000_00)
    assert fin.state(deal.loan_id).principal_repaid == 0


def test_repayment_refuses_a_loan_not_yet_disbursed(fin):
    deal = fin.pledge(stage="approved")
    with reverts("LoanWrongStatus", loanId=deal.loan_id, status=int(LoanStatus.APPROVED)):
        call_as(fin.w, deal.borrower, fin.platform.loans, "repay", deal.loan_id, 1_00)


def test_repayment_refuses_a_loan_repaid_already(fin):
    deal = fin.pledge(terms=ZERO_RATE)
    fin.repay(deal, ZERO_RATE.principal)
    with reverts("LoanWrongStatus", loanId=deal.loan_id, status=int(LoanStatus.REPAID)):
        call_as(fin.w, deal.borrower, fin.platform.loans, "repay", deal.loan_id, 1_00)


def test_repayment_refuses_an_unknown_loan(fin):
    with reverts("LoanNotFound", loanId=9):
        call_as(fin.w, fin.p.core, fin.platform.loans, "repay", 9, 1_00)


def test_repayment_refuses_a_payer_that_has_not_allowed_the_amount(fin):
    deal = fin.pledge()
    with reverts("ERC20InsufficientAllowance", spender=fin.platform.loans.address, allowance=0, needed=1_00):
        call_as(fin.w, fin.p.seller, fin.platform.loans, "repay", deal.loan_id, 1_00)


def test_suspended_member_cannot_repay_someone_elses_loan(fin):
    # Bug fixed (F-06): through the LoanBook (a payment agent) a restricted member could pay any loan,
    # closing an accomplice's loan and releasing its unspent loan money to it as free cash.
    p = fin.p
    deal = fin.pledge()
    fin.mint(p.seller, 300_000_00)
    fin.platform.cash("CNY").as_(p.seller).approve(fin.platform.loans.address, 10**12)
    fin.platform.members.as_(p.operator).suspend(p.seller.address, b32("review"))

    with reverts("LoanPayerRestricted", loanId=deal.loan_id, payer=p.seller.address, status=3):
        call_as(fin.w, p.seller, fin.platform.loans, "repay", deal.loan_id, 10**12)


def test_evicted_guarantor_can_still_repay_the_loan_it_guarantees(fin):
    p = fin.p
    deal = fin.pledge()
    fin.mint(p.core, 10_000_00)
    fin.platform.cash("CNY").as_(p.core).approve(fin.platform.loans.address, 10**12)
    fin.platform.members.as_(p.operator).evict(p.core.address, b32("fraud"))

    call_as(fin.w, p.core, fin.platform.loans, "repay", deal.loan_id, 10_000_00)

    assert fin.state(deal.loan_id).principal_repaid + fin.state(deal.loan_id).interest_paid == 10_000_00


# ---- the client's allowance for a repayment (issue 15: no hidden side effects)

def _allowance(fin, owner) -> int:
    return fin.platform.cash_at(fin.platform.deployment.cash["CNY"]).allowance(owner.address, fin.platform.loans.address)


def test_a_refused_repayment_leaves_no_approval_behind(fin):
    """`repay` approves the LoanBook for the call only: when the call is refused, the allowance is put back."""
    p = fin.p
    deal = fin.pledge(stage="approved")  # not disbursed: LoanBook refuses a repayment
    fin.mint(p.supplier, 10_000_00)
    with reverts("LoanWrongStatus"):
        fin.platform.loans.as_(p.supplier).repay(deal.loan_id, 10_000_00)
    assert _allowance(fin, p.supplier) == 0


def test_an_overpayment_leaves_no_allowance_and_a_deliberate_one_is_kept(fin):
    """Repaying more than is owed takes only what is owed; what the call did not use is not left allowed, and an
    allowance the payer gave the LoanBook for another purpose is neither used nor lost."""
    p = fin.p
    deal = fin.pledge()
    fin.mint(p.supplier, 300_000_00)
    fin.platform.cash_at(fin.platform.deployment.cash["CNY"]).as_(p.supplier).approve(fin.platform.loans.address, 7_00)

    fin.platform.loans.as_(p.supplier).repay(deal.loan_id, 300_000_00)

    assert fin.state(deal.loan_id).status == LoanStatus.REPAID
    assert _allowance(fin, p.supplier) == 7_00
