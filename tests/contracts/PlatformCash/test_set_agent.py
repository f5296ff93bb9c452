"""PlatformCash.setAgent: the deployer names the platform contracts that may move members' money, and
nobody can name or withdraw one once the deployment has sealed the wiring.

An agent (the OrderBook, the LoanBook) moves money whatever the parties' status, so that a
suspended or evicted member still pays what it owes through it. An EOA stands in for one here, on a
PlatformCash of the platform's registry that the operator deploys in the test and still wires.
"""

from __future__ import annotations

import pytest
from eth_account import Account
from harness import reverts
from support import WIRING_ROLE, b32, the_event

from vscm.client.platform import CashFacade
from vscm.client.records import ZERO_ADDRESS


@pytest.fixture
def agent(fresh):
    account = Account.from_key(b32("agent"))
    fresh.chain.fund(account.address, 10**18)
    return account


@pytest.fixture
def cash(fresh):
    """A EUR PlatformCash on the platform's registry, deployed (and so wired) by the operator; the core
    holds 100.00 of it."""
    p = fresh.p
    address = fresh.chain.sender.deploy(p.operator, "PlatformCash", fresh.platform.deployment.registry, "EUR",
                                        p.operator.address)
    facade = CashFacade(fresh.platform, fresh.chain.w3.eth.contract(address=address, abi=fresh.platform.cash(
        "CNY").contract.abi))
    facade.as_(p.operator).set_mint_cap(p.bank.address, 100_00)
    facade.as_(p.bank).mint(p.core.address, 100_00, b32("eur deposit"))
    return facade


def is_agent(cash, who: str) -> bool:
    return bool(cash.contract.functions.isAgent(who).call())


def pull(platform, cash, agent, owner, to, amount):
    return platform.chain.sender.transact(agent, cash.contract.functions.transferFrom(owner.address, to, amount))


def test_the_deployer_names_an_agent_and_it_is_announced(platform, cash, p, agent):

    receipt = cash.as_(p.operator).set_agent(agent.address, True)

    assert is_agent(cash, agent.address)
    assert the_event(cash, receipt, "AgentSet") == {"agent": agent.address, "allowed": True}


def test_the_deployer_withdraws_an_agent_and_it_is_announced(platform, cash, p, agent):
    cash.as_(p.operator).set_agent(agent.address, True)

    receipt = cash.as_(p.operator).set_agent(agent.address, False)

    assert not is_agent(cash, agent.address)
    assert the_event(cash, receipt, "AgentSet") == {"agent": agent.address, "allowed": False}


def test_order_book_is_an_agent_of_every_currency(platform):
    assert all(is_agent(platform.cash(code), platform.orders.address) for code in platform.currencies)


def test_agent_moves_money_of_an_evicted_member_that_approved_it(platform, cash, p, agent):
    cash.as_(p.operator).set_agent(agent.address, True)
    cash.as_(p.core).approve(agent.address, 5_00)
    platform.members.as_(p.operator).evict(p.core.address, b32("fraud"))

    pull(platform, cash, agent, p.core, p.supplier.address, 5_00)

    assert cash.balance(p.supplier.address) == 5_00


def test_agent_still_needs_the_owners_allowance(platform, cash, p, agent):
    cash.as_(p.operator).set_agent(agent.address, True)

    with reverts("ERC20InsufficientAllowance", spender=agent.address, allowance=0, needed=5_00):
        pull(platform, cash, agent, p.core, p.supplier.address, 5_00)


def test_withdrawn_agent_can_no_longer_move_a_suspended_members_money(platform, cash, p, agent):
    cash.as_(p.operator).set_agent(agent.address, True)
    cash.as_(p.core).approve(agent.address, 5_00)
    cash.as_(p.operator).set_agent(agent.address, False)
    platform.members.as_(p.operator).suspend(p.core.address, b32("review"))

    with reverts("CashSenderNotActive", sender=p.core.address):
        pull(platform, cash, agent, p.core, p.supplier.address, 5_00)


def test_only_the_deployer_names_agents(cash, p, agent):
    with reverts("AccessControlUnauthorizedAccount", account=p.core.address, neededRole=WIRING_ROLE):
        cash.as_(p.core).set_agent(agent.address, True)


@pytest.mark.parametrize("allowed", [True, False])
def test_nobody_names_or_withdraws_an_agent_of_a_deployed_platform(platform, p, agent, allowed):
    # The deployer renounced WIRING_ROLE: not even the operator changes the agents (it could otherwise
    # name itself and move any suspended member's approved money, or withdraw the LoanBook).
    who = agent.address if allowed else platform.deployment.loans
    with reverts("AccessControlUnauthorizedAccount", account=p.operator.address, neededRole=WIRING_ROLE):
        platform.cash("CNY").as_(p.operator).set_agent(who, allowed)


def test_zero_address_cannot_be_an_agent(cash, p):
    with reverts("CashZeroAddress"):
        cash.as_(p.operator).set_agent(ZERO_ADDRESS, True)
