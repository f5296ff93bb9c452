"""RiskControl fraud findings: operator proposes, an auditor co-signs; the whole chain is evicted, its
loans' tracked money frozen, and every exposed lender notified with its exposure."""

from __future__ import annotations

from financing_support import DAY, DEFAULT_TERMS, call_as, emitted, the_event
from harness import b32, reverts
from risk_support import other_chain, spend

from vscm.client.records import Decision, LoanMode, LoanStatus, Status

EVIDENCE = b32("circular invoices, audit file 2026-11")
OPERATOR_ROLE = b32("OPERATOR_ROLE")


def declare(fin, chain_id=None, evidence=EVIDENCE):
    chain_id = chain_id or fin.w.chain_id
    fin.platform.risk.as_(fin.p.operator).propose_fraud(chain_id, evidence)
    return fin.platform.risk.as_(fin.p.auditor).confirm_fraud(chain_id, evidence)


def other_chain_loan(fin, other):
    """A disbursed pledge loan of supplier3 in the second chain, from the bank, guaranteed by core2."""
    p, platform = fin.p, fin.platform
    order = int(platform.orders.as_(other.supplier).place(other.core.address, other.chain_id, "CNY",
                                                           100_000_00, fin.now() + 365 * DAY).id)
    platform.orders.as_(other.core).accept(order)
    return fin.pledge(borrower=other.supplier, guarantor=other.core, purpose_order_id=order, lender=p.bank)


def test_fraud_needs_the_operator_and_an_auditor(fin):
    risk, p, chain_id = fin.platform.risk, fin.p, fin.w.chain_id
    with reverts("AccessControlUnauthorizedAccount", account=p.auditor.address):
        risk.as_(p.auditor).propose_fraud(chain_id, EVIDENCE)
    with reverts("RiskNoProposal", chainId=chain_id):
        risk.as_(p.auditor).confirm_fraud(chain_id, EVIDENCE)
    with reverts("RiskEmptyEvidence"):
        risk.as_(p.operator).propose_fraud(chain_id, b"\x00" * 32)
    with reverts("RiskUnknownChain", chainId=9):
        risk.as_(p.operator).propose_fraud(9, EVIDENCE)
    risk.as_(p.operator).propose_fraud(chain_id, EVIDENCE)
    assert the_event(risk, fin.platform.last_receipt, "FraudProposed") == {
        "chainId": chain_id, "operator": p.operator.address, "evidence": EVIDENCE}
    for who in (p.bank, p.monitor, p.operator, p.core):
        with reverts("RiskNotAuditor", caller=who.address):
            risk.as_(who).confirm_fraud(chain_id, EVIDENCE)
    with reverts("RiskEvidenceMismatch", chainId=chain_id, proposed=EVIDENCE, given=b32("other")):
        risk.as_(p.auditor).confirm_fraud(chain_id, b32("other"))
    assert fin.platform.members.status(p.supplier.address) == Status.ACTIVE


def test_the_proposer_cannot_cosign_its_own_finding(fin):
    risk, p = fin.platform.risk, fin.p
    risk.as_(p.operator).grant(OPERATOR_ROLE, p.auditor.address)
    risk.as_(p.auditor).propose_fraud(fin.w.chain_id, EVIDENCE)
    with reverts("RiskSameSigner", signer=p.auditor.address):
        risk.as_(p.auditor).confirm_fraud(fin.w.chain_id, EVIDENCE)


def test_a_finding_evicts_every_member_of_the_chain_and_no_one_else(fin):
    p = fin.p
    other = other_chain(fin)

    declare(fin)

    members = fin.platform.members
    for who in (p.core, p.supplier, p.supplier2, p.seller):
        assert members.status(who.address) == Status.EVICTED, who
    for who in (other.core, other.supplier, other.buyer, p.warehouse, p.carrier, p.bank, p.bank2, p.monitor):
        assert members.status(who.address) == Status.ACTIVE, who
    assert members.supply_chain(fin.w.chain_id).evicted
    assert not members.supply_chain(other.chain_id).evicted
    case = fin.platform.risk.fraud_case(fin.w.chain_id)
    assert (case.proposed_by, case.confirmed_by, case.evidence, case.sweep_done) == (
        p.operator.address, p.auditor.address, EVIDENCE, True)
    assert the_event(fin.platform.risk, fin.platform.last_receipt, "FraudDeclared") == {
        "chainId": fin.w.chain_id, "operator": p.operator.address, "auditor": p.auditor.address,
        "evidence": EVIDENCE}
    with reverts("RiskChainFraudulent", chainId=fin.w.chain_id):
        fin.platform.risk.as_(p.operator).propose_fraud(fin.w.chain_id, EVIDENCE)


def test_every_exposed_lender_gets_one_notice_with_its_exposure_and_the_money_is_frozen(fin):
    p = fin.p
    other = other_chain(fin)
    pledge = fin.pledge(lender=p.bank)                       # supplier borrows from bank
    spend(fin, pledge, 50_000_00)
    receivable = fin.receivable_loan(lender=p.bank2)         # supplier2 borrows from bank2
    payable = fin.payable_loan(lender=p.bank)                # supplier borrows from bank again
    repaid = fin.prepayment_loan(lender=p.bank2)             # the seller's loan, repaid in full: no exposure
    fin.repay(repaid, fin.platform.loans.loan(repaid.loan_id).outstanding_now + 1_000_00)
    outside = other_chain_loan(fin, other)                   # a loan of the other chain
    fin.chain.time_travel(DAY)

    declare(fin)
    receipt = fin.platform.last_receipt

    risk, loans = fin.platform.risk, fin.platform.loans
    notices = {e["lender"]: e for e in emitted(risk, receipt, "LenderExposed")}
    assert set(notices) == {p.bank.address, p.bank2.address}
    owed = {d.loan_id: loans.loan(d.loan_id).outstanding_now for d in (pledge, receivable, payable)}
    unspent = {d.loan_id: fin.platform.funds.funds(d.loan_id).unspent for d in (pledge, receivable, payable)}
    assert notices[p.bank.address] == {
        "chainId": fin.w.chain_id, "lender": p.bank.address, "loans": 2,
        "outstanding": owed[pledge.loan_id] + owed[payable.loan_id],
        "frozen": unspent[pledge.loan_id] + unspent[payable.loan_id]}
    assert notices[p.bank2.address]["loans"] == 1
    assert notices[p.bank2.address]["frozen"] == unspent[receivable.loan_id] == DEFAULT_TERMS[LoanMode.RECEIVABLE].principal
    assert unspent[pledge.loan_id] == DEFAULT_TERMS[LoanMode.PLEDGE].principal - 50_000_00
    for d in (pledge, receivable, payable):
        assert fin.platform.funds.funds(d.loan_id).frozen
    assert not fin.platform.funds.funds(outside.loan_id).frozen
    assert {e["loanId"] for e in emitted(risk, receipt, "LoanFrozenForFraud")} == set(owed)
    assert risk.exposed_lenders(fin.w.chain_id) == [p.bank.address, p.bank2.address]
    assert risk.exposure(fin.w.chain_id, p.bank2.address).frozen == unspent[receivable.loan_id]
    # the other chain's borrower goes on spending
    spend(fin, outside, 10_000_00)


def test_evicted_members_cannot_trade_or_borrow_but_can_still_repay(fin):
    p = fin.p
    deal = fin.pledge()
    spare = fin.receipt(p.supplier)
    fin.mint(p.supplier, 300_000_00)     # the borrower's own money, earned before the finding
    declare(fin)

    with reverts("OrderNotTrader", member=p.supplier.address):
        fin.platform.orders.as_(p.supplier).place(p.supplier2.address, fin.w.chain_id, "CNY", 1_000_00,
                                                  fin.now() + DAY)
    with reverts("LoanBorrowerNotTrader", borrower=p.supplier.address):
        fin.apply(LoanMode.PLEDGE, spare, p.supplier, DEFAULT_TERMS[LoanMode.PLEDGE],
                  deal.purpose_order_id, guarantor=p.core)
    with reverts("MemberNotActive"):
        spend(fin, deal, 1_000_00)
    with reverts("CashSenderNotActive"):
        fin.platform.cash("CNY").as_(p.core).transfer(p.seller.address, 1)

    owed = fin.platform.loans.loan(deal.loan_id).outstanding_now
    fin.platform.cash("CNY").as_(p.supplier).approve(fin.platform.loans.address, owed + 1_000_00)
    call_as(fin.w, p.supplier, fin.platform.loans, "repay", deal.loan_id, owed + 1_000_00)
    assert fin.state(deal.loan_id).status == LoanStatus.REPAID


def test_after_a_finding_the_lender_can_recall_but_not_continue(fin):
    deal = fin.pledge()
    spend(fin, deal, 30_000_00)
    declare(fin)
    risk = fin.platform.risk.as_(deal.lender)

    risk.decide(deal.loan_id, Decision.RECALL)

    assert the_event(fin.platform.risk, fin.platform.last_receipt, "LenderDecided")["intercepted"] == 170_000_00
    assert fin.state(deal.loan_id).status == LoanStatus.RECALLED


def test_a_warned_loan_of_a_fraudulent_chain_cannot_be_continued(fin):
    deal = fin.pledge()
    fin.platform.risk.as_(fin.p.monitor).raise_loan_alert(deal.loan_id, 103, 3, b32("e"))
    declare(fin)
    with reverts("RiskChainFraudulent", chainId=fin.w.chain_id):
        fin.platform.risk.as_(deal.lender).decide(deal.loan_id, Decision.CONTINUE)


def test_a_large_chain_is_swept_in_pages(fin):
    p = fin.p
    order = fin.order(p.supplier, p.supplier2, 10_000_00)
    terms = DEFAULT_TERMS[LoanMode.PLEDGE]
    for _ in range(26):   # applied loans: walked by the sweep, no exposure
        fin.apply(LoanMode.PLEDGE, fin.receipt(p.supplier), p.supplier, terms, order, guarantor=p.core)
    last = fin.pledge(purpose_order_id=order)     # loan 27, disbursed
    risk = fin.platform.risk

    declare(fin)

    assert the_event(risk, fin.platform.last_receipt, "ChainSwept") == {
        "chainId": fin.w.chain_id, "swept": 25, "total": 27, "done": False}
    assert emitted(risk, fin.platform.last_receipt, "LenderExposed") == []
    assert not fin.platform.funds.funds(last.loan_id).frozen
    with reverts("RiskZeroBatch"):
        risk.as_(p.outsider).sweep_chain(fin.w.chain_id, 0)

    risk.as_(p.outsider).sweep_chain(fin.w.chain_id, 10)

    assert the_event(risk, fin.platform.last_receipt, "ChainSwept") == {
        "chainId": fin.w.chain_id, "swept": 27, "total": 27, "done": True}
    assert the_event(risk, fin.platform.last_receipt, "LenderExposed")["loans"] == 1
    assert fin.platform.funds.funds(last.loan_id).frozen
    with reverts("RiskSweepDone", chainId=fin.w.chain_id):
        risk.as_(p.outsider).sweep_chain(fin.w.chain_id, 10)
    with reverts("RiskNotDeclared", chainId=5):
        risk.as_(p.outsider).sweep_chain(5, 10)


def test_after_a_finding_a_lender_can_still_withdraw_an_approval(fin):
    """A receivable loan approved but not disbursed: the claim goes back to its (now evicted) creditor."""
    deal = fin.receivable_loan(stage="approved")
    declare(fin)

    fin.platform.loans.as_(deal.lender).reject(deal.loan_id, b32("borrower evicted"))

    assert fin.state(deal.loan_id).status == LoanStatus.REJECTED
    assert fin.asset(deal.asset_id).locked_by == 0
    assert fin.platform.orders.order(deal.asset_order_id, with_documents=False).payee == deal.borrower.address


# ---- F-03: a chain with a pending fraud proposal is frozen for leaving

PROPOSAL_WINDOW = 14 * DAY


def test_members_cannot_leave_a_chain_while_a_fraud_proposal_is_pending(fin):
    # Bug fixed (F-03): between the public proposal and the auditor's co-signature a member could
    # leave the chain and was never evicted.
    p, chain_id = fin.p, fin.w.chain_id
    fin.platform.risk.as_(p.operator).propose_fraud(chain_id, EVIDENCE)
    until = fin.platform.members.investigated_until(chain_id)
    assert until == fin.now() + PROPOSAL_WINDOW
    assert the_event(fin.platform.members, fin.platform.last_receipt, "ChainInvestigationSet") == {
        "chainId": chain_id, "by": fin.platform.risk.address, "until": until}

    with reverts("ChainUnderInvestigation", chainId=chain_id, until=until):
        fin.platform.members.as_(p.supplier).leave_chain()

    fin.platform.risk.as_(p.auditor).confirm_fraud(chain_id, EVIDENCE)
    assert fin.platform.members.status(p.supplier.address) == Status.EVICTED


def test_a_withdrawn_proposal_lets_members_leave_again(fin):
    p, chain_id, risk = fin.p, fin.w.chain_id, fin.platform.risk
    risk.as_(p.operator).propose_fraud(chain_id, EVIDENCE)

    risk.as_(p.operator).withdraw_fraud(chain_id)

    assert the_event(risk, fin.platform.last_receipt, "FraudWithdrawn") == {
        "chainId": chain_id, "operator": p.operator.address}
    assert fin.platform.members.investigated_until(chain_id) == 0
    assert risk.fraud_case(chain_id).proposed_by == "0x" + "00" * 20
    with reverts("RiskNoProposal", chainId=chain_id):
        risk.as_(p.auditor).confirm_fraud(chain_id, EVIDENCE)
    fin.platform.members.as_(p.supplier).leave_chain()
    assert fin.platform.members.member(p.supplier.address).chain_id == 0


def test_only_the_operator_withdraws_a_pending_proposal(fin):
    p, chain_id, risk = fin.p, fin.w.chain_id, fin.platform.risk
    with reverts("RiskNoProposal", chainId=chain_id):
        risk.as_(p.operator).withdraw_fraud(chain_id)
    risk.as_(p.operator).propose_fraud(chain_id, EVIDENCE)
    with reverts("AccessControlUnauthorizedAccount", account=p.auditor.address):
        risk.as_(p.auditor).withdraw_fraud(chain_id)
    risk.as_(p.auditor).confirm_fraud(chain_id, EVIDENCE)
    with reverts("RiskNoProposal", chainId=chain_id):
        risk.as_(p.operator).withdraw_fraud(chain_id)


def test_an_expired_proposal_frees_the_chain_and_cannot_be_confirmed(fin):
    p, chain_id, risk = fin.p, fin.w.chain_id, fin.platform.risk
    risk.as_(p.operator).propose_fraud(chain_id, EVIDENCE)
    until = fin.platform.members.investigated_until(chain_id)
    fin.chain.time_travel(PROPOSAL_WINDOW + 1)

    with reverts("RiskProposalExpired", chainId=chain_id, expiredAt=until):
        risk.as_(p.auditor).confirm_fraud(chain_id, EVIDENCE)
    fin.platform.members.as_(p.supplier).leave_chain()
    assert fin.platform.members.member(p.supplier.address).chain_id == 0


def test_only_the_control_mechanism_puts_a_chain_under_investigation(fin):
    p, members = fin.p, fin.platform.members
    role = members.role("CONTROLLER_ROLE")
    with reverts("AccessControlUnauthorizedAccount", account=p.operator.address, neededRole=role):
        call_as(fin.w, p.operator, members, "setInvestigation", fin.w.chain_id, fin.now() + DAY)


# ---- a chain the operator evicted on its own can still be found fraudulent


def test_a_finding_on_a_chain_the_operator_evicted_freezes_the_money_and_notifies_the_lenders(fin):
    # Bug fixed: after the operator's own evictChain (a court order) RiskControl refused any finding,
    # so the chain's loan money stayed unfrozen and its lenders were never notified.
    p, chain_id = fin.p, fin.w.chain_id
    pledge = fin.pledge(lender=p.bank)
    fin.platform.members.as_(p.operator).evict_chain(chain_id, b32("court order 2026-12"))

    declare(fin)
    receipt = fin.platform.last_receipt

    risk = fin.platform.risk
    assert risk.fraud_case(chain_id).sweep_done
    assert fin.platform.funds.funds(pledge.loan_id).frozen
    assert [e["lender"] for e in emitted(risk, receipt, "LenderExposed")] == [p.bank.address]
    assert emitted(fin.platform.members, receipt, "ChainEvicted") == []  # evicted once, by the operator
    with reverts("RiskChainFraudulent", chainId=chain_id):
        risk.as_(p.operator).propose_fraud(chain_id, EVIDENCE)


# ---- repeated proposals cannot keep a chain's members in for good

PROPOSAL_COOLDOWN = 14 * DAY


def test_a_pending_proposal_cannot_be_renewed_to_extend_the_freeze(fin):
    # Bug fixed: proposing again reset the investigation window, so the operator could keep every member
    # of a chain from leaving for good.
    p, chain_id, risk = fin.p, fin.w.chain_id, fin.platform.risk
    risk.as_(p.operator).propose_fraud(chain_id, EVIDENCE)
    until = fin.platform.members.investigated_until(chain_id)
    fin.chain.time_travel(PROPOSAL_WINDOW - DAY)

    with reverts("RiskProposalPending", chainId=chain_id, until=until):
        risk.as_(p.operator).propose_fraud(chain_id, b32("more evidence"))


def test_a_chain_whose_proposal_ended_cannot_be_proposed_again_during_the_cooldown(fin):
    # Bug fixed: a proposal withdrawn (or expired) could be made again at once, freezing leaving again.
    p, chain_id, risk = fin.p, fin.w.chain_id, fin.platform.risk
    risk.as_(p.operator).propose_fraud(chain_id, EVIDENCE)
    risk.as_(p.operator).withdraw_fraud(chain_id)
    next_at = risk.next_proposal_at(chain_id)
    assert next_at == fin.now() + PROPOSAL_COOLDOWN

    with reverts("RiskProposalCoolingDown", chainId=chain_id, nextAt=next_at):
        risk.as_(p.operator).propose_fraud(chain_id, EVIDENCE)
    fin.platform.members.as_(p.supplier).leave_chain()  # the gap lets members leave


def test_an_expired_proposal_leaves_a_cooldown_then_the_chain_can_be_proposed_again(fin):
    p, chain_id, risk = fin.p, fin.w.chain_id, fin.platform.risk
    risk.as_(p.operator).propose_fraud(chain_id, EVIDENCE)
    next_at = risk.next_proposal_at(chain_id)
    fin.chain.time_travel(PROPOSAL_WINDOW + 1)
    with reverts("RiskProposalCoolingDown", chainId=chain_id, nextAt=next_at):
        risk.as_(p.operator).propose_fraud(chain_id, EVIDENCE)

    fin.chain.time_travel(PROPOSAL_COOLDOWN)
    risk.as_(p.operator).propose_fraud(chain_id, EVIDENCE)
    risk.as_(p.auditor).confirm_fraud(chain_id, EVIDENCE)
    assert risk.fraud_case(chain_id).declared_at != 0


# ---- a loan belongs to the chain its borrower applied from


def test_a_borrower_that_left_the_chain_does_not_take_its_loan_out_of_the_fraud_sweep(fin):
    # The rule (Low of issue 13): LoanBook files a loan under its borrower's chain at application, so a
    # colluding chain cannot shed its loans by having the borrowers leave before the finding.
    p, chain_id = fin.p, fin.w.chain_id
    pledge = fin.pledge(lender=p.bank)
    fin.platform.members.as_(p.supplier).leave_chain()
    assert fin.platform.loans.contract.functions.loanChain(pledge.loan_id).call() == chain_id

    declare(fin)

    assert fin.platform.funds.funds(pledge.loan_id).frozen
    notices = emitted(fin.platform.risk, fin.platform.last_receipt, "LenderExposed")
    assert [(e["lender"], e["loans"]) for e in notices] == [(p.bank.address, 1)]
