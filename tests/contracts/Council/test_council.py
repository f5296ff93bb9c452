"""The consortium council (issue 13): a Safe 2-of-3 of named members in front of a TimelockController
that holds DEFAULT_ADMIN_ROLE on every platform contract, the deployer's admin roles renounced.

The council world is a platform of its own on the session chain, deployed with
``deploy_platform(..., council=CouncilConfig((bank, bank2, auditor), 2, DAY))``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from eth_utils import keccak
from harness import TEST_MINT_CAP, reverts, the_event

from vscm.chain.deploy import deploy_platform
from vscm.client.council import CouncilConfig, CouncilError
from vscm.client.records import Role, Status, SuspensionAuthority, Tier
from vscm.client.workflows import ONE_YEAR, onboard_sme
from vscm.errors import ContractRevert

DAY = 86_400
DEFAULT_ADMIN_ROLE = b"\x00" * 32
GUARDIAN_ROLE = keccak(text="GUARDIAN_ROLE")


class Governed:
    def __init__(self, chain: Any, platform: Any, p: Any) -> None:
        self.chain, self.platform, self.p = chain, platform, p
        self.council = platform.council
        self.by = self.council.by(p.bank, p.bank2)


@pytest.fixture(scope="session")
def governed_world(chain: Any, world: Any) -> Governed:
    p = world.p
    config = CouncilConfig((p.bank.address, p.bank2.address, p.auditor.address), 2, DAY)
    platform = deploy_platform(chain, p.operator, manifest=False, network="council", council=config)
    g = Governed(chain, platform, p)
    # The operator admits an SME; the council admits a financier and sets its mint cap.
    onboard_sme(platform, p.operator, p.supplier, [Role.SUPPLIER], "Supplier")
    platform.members.as_(p.bank).apply([Role.FINANCIER], Tier.SME, keccak(text="bank"), chain.now() + ONE_YEAR,
                                       "Bank")
    platform.members.as_(g.by).approve(p.bank.address)
    platform.cash("CNY").as_(g.by).set_mint_cap(p.bank.address, TEST_MINT_CAP)
    return g


@pytest.fixture
def g(chain: Any, governed_world: Governed) -> Iterator[Governed]:
    snapshot = chain.snapshot()
    try:
        yield governed_world
    finally:
        chain.revert(snapshot)


def test_the_timelock_administers_every_contract_and_the_deployer_nothing(g):
    timelock, safe = g.council.timelock_address, g.council.safe_address
    for facade in g.platform.wired_contracts():
        assert facade.has_role(DEFAULT_ADMIN_ROLE, timelock), facade.contract_name
        assert not facade.has_role(DEFAULT_ADMIN_ROLE, g.p.operator.address), facade.contract_name
        assert not facade.has_role(DEFAULT_ADMIN_ROLE, safe), facade.contract_name
    assert g.platform.members.has_role(GUARDIAN_ROLE, safe)
    assert g.council.owners() == [g.p.bank.address, g.p.bank2.address, g.p.auditor.address]
    assert (g.council.threshold(), g.council.delay()) == (2, DAY)


@pytest.mark.parametrize("action", ["setParameters", "setSigners", "setMintCap", "approveInstitution",
                                    "addCurrency", "grantRole", "evict", "evictChain"])
def test_the_operator_alone_can_no_longer_govern(g, action):
    p, platform, op = g.p, g.platform, g.p.operator
    if action == "approveInstitution":
        platform.members.as_(p.auditor).apply([Role.AUDITOR], Tier.SME, keccak(text="aud"), g.chain.now() + ONE_YEAR,
                                              "Auditor")
    calls = {
        "setParameters": lambda: platform.risk.as_(op).set_parameters(2 * DAY, 1, 2),
        "setSigners": lambda: platform.oracle.as_(op).set_signers([op.address], 1).id,
        "setMintCap": lambda: platform.cash("CNY").as_(op).set_mint_cap(op.address, 10**12),
        "approveInstitution": lambda: platform.members.as_(op).approve(p.auditor.address),
        "addCurrency": lambda: platform.orders.as_(op).add_currency(platform.deployment.cash["USD"]),
        "grantRole": lambda: platform.members.as_(op).grant(DEFAULT_ADMIN_ROLE, op.address),
        # Eviction is final: the operator key only suspends (reversible); the council evicts.
        "evict": lambda: platform.members.as_(op).evict(p.supplier.address, keccak(text="x")),
        "evictChain": lambda: platform.members.as_(op).evict_chain(1, keccak(text="x")),
    }
    with reverts("AccessControlUnauthorizedAccount", account=op.address, neededRole=DEFAULT_ADMIN_ROLE):
        calls[action]()


def test_a_governed_change_is_scheduled_visibly_and_takes_effect_only_after_the_delay(g):
    p, risk = g.p, g.platform.risk
    call = risk.contract.functions.setParameters(2 * DAY, 1, 3)
    proposal = g.council.propose(p.bank, call)
    assert proposal.approvals == (p.bank.address,) and not proposal.executed

    g.council.approve(p.bank2, proposal.safe_tx_hash)
    g.council.execute(p.auditor, proposal.safe_tx_hash, proposal)

    proposals, scheduled = g.council.pending()
    assert proposals == []
    [op] = scheduled
    assert (op.target, op.data) == (risk.address, bytes.fromhex(call._encode_transaction_data()[2:]))
    assert op.ready_at >= g.chain.timestamp() + DAY - 5
    with pytest.raises(CouncilError, match="ready at"):
        g.council.execute_scheduled(p.supplier, op)
    with reverts("TimelockUnexpectedOperationState"):
        g.chain.sender.transact(p.supplier, g.council.timelock.functions.execute(
            op.target, 0, op.data, op.predecessor, op.salt))
    assert risk.contract.functions.warnSeverity().call() != 3

    g.chain.time_travel(DAY)
    receipt = g.council.execute_scheduled(p.supplier, op)   # anyone carries it out

    assert risk.contract.functions.warnSeverity().call() == 3
    assert the_event(risk, receipt, "ParametersSet")["warnSeverity"] == 3
    assert g.council.timelock.functions.isOperationDone(op.operation).call()


def test_one_approval_of_two_is_not_enough(g):
    p = g.p
    proposal = g.council.propose(p.bank, g.platform.risk.contract.functions.setParameters(2 * DAY, 1, 3))
    with pytest.raises(CouncilError, match="1 of 2 approvals"):
        g.council.execute(p.supplier, proposal.safe_tx_hash, proposal)
    # The Safe itself refuses the transaction with the proposer's signature alone.
    signature = bytes(12) + bytes.fromhex(p.bank.address[2:]) + b"\x00" * 32 + b"\x01"
    with pytest.raises(ContractRevert, match="GS020"):
        g.chain.sender.transact(p.supplier, g.council.safe.functions.execTransaction(
            proposal.to, 0, proposal.data, 0, 0, 0, 0, proposal.to[:2] + "00" * 20, "0x" + "00" * 20, signature))


def test_a_non_member_cannot_propose_or_approve(g):
    p = g.p
    with pytest.raises(CouncilError, match="not a council member"):
        g.council.propose(p.operator, g.platform.risk.contract.functions.setParameters(2 * DAY, 1, 3))
    with pytest.raises(ContractRevert, match="GS030"):
        g.chain.sender.transact(p.operator, g.council.safe.functions.approveHash(b"\x01" * 32))


def test_the_safe_itself_cannot_bypass_the_timelock(g):
    with reverts("AccessControlUnauthorizedAccount", account=g.council.safe_address, neededRole=DEFAULT_ADMIN_ROLE):
        g.platform.risk.as_(g.council.at_once(g.p.bank, g.p.bank2)).set_parameters(2 * DAY, 1, 3)


def test_the_council_suspends_a_member_at_once_and_lifts_it(g):
    p, members = g.p, g.platform.members
    emergency = g.council.at_once(p.bank2, p.auditor)
    before = g.chain.timestamp()

    receipt = members.as_(emergency).suspend(p.supplier.address, keccak(text="emergency"))

    assert members.status(p.supplier.address) == Status.SUSPENDED
    assert the_event(members, receipt, "MemberSuspended")["by"] == g.council.safe_address
    assert g.chain.timestamp() - before < DAY   # no delay
    members.as_(emergency).reinstate(p.supplier.address)
    assert members.status(p.supplier.address) == Status.ACTIVE


def test_the_operator_key_cannot_lift_the_councils_emergency_suspension(g):
    """Issue 13: the guardian's suspension is the council's; the operator key (OPERATOR_ROLE) cannot undo it.
    The guardian itself or the timelock (DEFAULT_ADMIN_ROLE, after the delay) lifts it."""
    p, members = g.p, g.platform.members
    members.as_(g.council.at_once(p.bank2, p.auditor)).suspend(p.supplier.address, keccak(text="court order"))
    assert members.suspension_authority(p.supplier.address) == SuspensionAuthority.GUARDIAN

    with reverts("SuspensionByHigherAuthority", member=p.supplier.address,
                 imposedBy=SuspensionAuthority.GUARDIAN, caller=SuspensionAuthority.OPERATOR):
        members.as_(p.operator).reinstate(p.supplier.address)
    assert members.status(p.supplier.address) == Status.SUSPENDED

    receipt = members.as_(g.by).reinstate(p.supplier.address)
    assert the_event(members, receipt, "MemberReinstated")["by"] == g.council.timelock_address
    assert members.status(p.supplier.address) == Status.ACTIVE


def test_the_operator_key_cannot_pre_empt_the_councils_suspension_with_its_own(g):
    """The operator suspends first (its own, liftable suspension); the guardian's suspension takes it over."""
    p, members = g.p, g.platform.members
    members.as_(p.operator).suspend(p.supplier.address, keccak(text="kyc"))
    emergency = g.council.at_once(p.bank, p.bank2)
    members.as_(emergency).suspend(p.supplier.address, keccak(text="court order"))

    with reverts("SuspensionByHigherAuthority", imposedBy=SuspensionAuthority.GUARDIAN):
        members.as_(p.operator).reinstate(p.supplier.address)
    members.as_(emergency).reinstate(p.supplier.address)
    assert members.status(p.supplier.address) == Status.ACTIVE


def test_the_operator_key_lifts_its_own_suspension_under_a_council(g):
    p, members = g.p, g.platform.members
    members.as_(p.operator).suspend(p.supplier.address, keccak(text="kyc"))
    assert members.suspension_authority(p.supplier.address) == SuspensionAuthority.OPERATOR
    members.as_(p.operator).reinstate(p.supplier.address)
    assert members.status(p.supplier.address) == Status.ACTIVE


def test_the_council_raises_a_financiers_mint_cap(g):
    p, cash = g.p, g.platform.cash("CNY")
    cash.as_(g.by).set_mint_cap(p.bank.address, 1_000_00)
    cash.as_(p.bank).mint(p.supplier.address, 1_000_00, keccak(text="deposit 1"))
    with reverts("CashMintCapExceeded", financier=p.bank.address, outstanding=1_000_00, amount=1_00, cap=1_000_00):
        cash.as_(p.bank).mint(p.supplier.address, 1_00, keccak(text="deposit 2"))

    cash.as_(g.by).set_mint_cap(p.bank.address, 2_000_00)

    cash.as_(p.bank).mint(p.supplier.address, 1_00, keccak(text="deposit 2"))
    assert cash.mint_cap(p.bank.address) == (2_000_00, 1_001_00)


def test_the_operator_still_admits_sme_traders_but_not_institutions(g):
    p, members = g.p, g.platform.members
    assert members.status(p.supplier.address) == Status.ACTIVE   # admitted by the operator
    assert members.status(p.bank.address) == Status.ACTIVE       # admitted by the council


def test_the_council_evicts_a_member_after_the_delay(g):
    p, members = g.p, g.platform.members
    receipt = members.as_(g.by).evict(p.supplier.address, keccak(text="fraud"))
    assert members.status(p.supplier.address) == Status.EVICTED
    assert the_event(members, receipt, "MemberEvicted")["by"] == g.council.timelock_address


def test_the_operator_key_cannot_shorten_a_credential_under_a_council(g):
    # A shortened credential reads as a suspension that no guardian could lift (only the operator renews):
    # under a council the operator key may renew but never shorten.
    p, members = g.p, g.platform.members
    current = members.member(p.supplier.address).credential_expiry
    short = g.chain.now() + 60
    with reverts("CredentialShortened", member=p.supplier.address, currentExpiry=current, newExpiry=short):
        members.as_(p.operator).update_credential(p.supplier.address, keccak(text="short"), short)

    assert members.member(p.supplier.address).credential_expiry == current
    assert members.status(p.supplier.address) == Status.ACTIVE


def test_the_operator_key_renews_a_credential_and_the_council_shortens_one(g):
    p, members = g.p, g.platform.members
    later = members.member(p.supplier.address).credential_expiry + ONE_YEAR
    members.as_(p.operator).update_credential(p.supplier.address, keccak(text="renewed"), later)
    assert members.member(p.supplier.address).credential_expiry == later

    shorter = g.chain.now() + 30 * DAY
    receipt = members.as_(g.by).update_credential(p.supplier.address, keccak(text="revoked licence"), shorter)

    assert members.member(p.supplier.address).credential_expiry == shorter
    assert the_event(members, receipt, "CredentialUpdated")["credentialExpiry"] == shorter
