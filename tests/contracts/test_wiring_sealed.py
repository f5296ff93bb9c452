"""The wiring between the platform contracts is fixed at deployment (issue 13, "The operator key").

`deploy_platform` grants the internal roles (the LoanBook's, the controller's, the detector's, the
finance contracts', the payment agents, the alert sink) with the deployer's WIRING_ROLE and then
renounces it on every contract. WIRING_ROLE is its own admin, so afterwards nobody, not even the
operator holding DEFAULT_ADMIN_ROLE, can grant or revoke those roles: the operator can no longer make
itself the LoanBook and drain the tracked loan money, lock or seize assets, redirect settlements, recall
loans without an alert, or name a payment agent.
"""

from __future__ import annotations

import pytest
from financing_support import LOANBOOK_ROLE, call_as
from harness import reverts
from support import WIRING_ROLE

from vscm.client.records import ZERO_ADDRESS

#: (facade attribute, role constant) of every internal role, and who holds it after the deployment.
INTERNAL = [
    ("orders", "FINANCE_ROLE", "loans"),
    ("orders", "FINANCE_ROLE", "funds"),
    ("assets", "LOCKER_ROLE", "loans"),
    ("funds", "LOANBOOK_ROLE", "loans"),
    ("funds", "CONTROLLER_ROLE", "risk"),
    ("loans", "CONTROLLER_ROLE", "risk"),
    ("members", "CONTROLLER_ROLE", "risk"),
    ("risk", "DETECTOR_ROLE", "oracle"),
]
IDS = [f"{c}.{r}" for c, r, _ in INTERNAL]


def facade(platform, name):
    return getattr(platform, name)


@pytest.mark.parametrize("contract,role,holder", INTERNAL, ids=IDS)
def test_the_deployment_wires_each_internal_role_to_its_contract(platform, contract, role, holder):
    assert facade(platform, contract).has_role(role, getattr(platform.deployment, holder))


@pytest.mark.parametrize("contract,role,holder", INTERNAL, ids=IDS)
def test_the_operator_cannot_grant_itself_an_internal_role(platform, p, contract, role, holder):
    target = facade(platform, contract)
    with reverts("AccessControlUnauthorizedAccount", account=p.operator.address, neededRole=WIRING_ROLE):
        target.as_(p.operator).grant(target.role(role), p.operator.address)
    assert not target.has_role(role, p.operator.address)


@pytest.mark.parametrize("contract,role,holder", INTERNAL, ids=IDS)
def test_the_operator_cannot_unwire_an_internal_role(platform, p, contract, role, holder):
    target = facade(platform, contract)
    with reverts("AccessControlUnauthorizedAccount", account=p.operator.address, neededRole=WIRING_ROLE):
        target.as_(p.operator).revoke_role(target.role(role), getattr(platform.deployment, holder))


def test_nobody_holds_the_wiring_role_and_nobody_can_grant_it(platform, p):
    for target in platform.wired_contracts():
        assert not target.has_role(WIRING_ROLE, p.operator.address), target.contract_name
        assert target.contract.functions.getRoleAdmin(WIRING_ROLE).call() == WIRING_ROLE
        with reverts("AccessControlUnauthorizedAccount", account=p.operator.address, neededRole=WIRING_ROLE):
            target.as_(p.operator).grant(WIRING_ROLE, p.operator.address)


def test_the_operator_cannot_name_a_payment_agent_or_move_the_alert_sink(platform, p):
    for code in platform.currencies:
        with reverts("AccessControlUnauthorizedAccount", account=p.operator.address, neededRole=WIRING_ROLE):
            platform.cash(code).as_(p.operator).set_agent(p.operator.address, True)
    with reverts("AccessControlUnauthorizedAccount", account=p.operator.address, neededRole=WIRING_ROLE):
        platform.oracle.as_(p.operator).set_alert_sink(ZERO_ADDRESS)
    assert platform.oracle.contract.functions.alertSink().call() == platform.deployment.risk


def test_the_operator_cannot_drain_the_tracked_loan_money(fin):
    # On today's main the operator granted itself LOANBOOK_ROLE and revoked every loan's unspent money.
    deal = fin.pledge()
    funds, op = fin.platform.funds, fin.p.operator
    held = fin.platform.cash("CNY").balance(funds.address)
    assert held >= deal.terms.principal
    with reverts("AccessControlUnauthorizedAccount", account=op.address, neededRole=WIRING_ROLE):
        funds.as_(op).grant(LOANBOOK_ROLE, op.address)
    with reverts("AccessControlUnauthorizedAccount", account=op.address, neededRole=LOANBOOK_ROLE):
        call_as(fin.w, op, funds, "revoke", deal.loan_id, deal.terms.principal)
    assert fin.platform.cash("CNY").balance(funds.address) == held
