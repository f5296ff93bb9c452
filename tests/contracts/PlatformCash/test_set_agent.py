"""PlatformCash.setAgent: the operator names the platform contracts that may move members' money.

An agent (the OrderBook, the LoanBook) moves money whatever the parties' status, so that a
suspended or evicted member still pays what it owes through it. An EOA stands in for one here.
"""

from __future__ import annotations

import pytest
from eth_account import Account
from harness import reverts
from support import OPERATOR_ROLE, b32, the_event

from vscm.client.records import ZERO_ADDRESS


@pytest.fixture
def agent(fresh):
    account = Account.from_key(b32("agent"))
    fresh.chain.fund(account.address, 10**18)
    return account


def is_agent(cash, who: str) -> bool:
    return bool(cash.contract.functions.isAgent(who).call())


def pull(platform, agent, owner, to, amount):
    cash = platform.cash("CNY")
    return platform.chain.sender.transact(agent, cash.contract.functions.transferFrom(owner.address, to, amount))


def test_operator_names_an_agent_and_it_is_announced(platform, p, agent):
    cash = platform.cash("CNY")

    receipt = cash.as_(p.operator).set_agent(agent.address, True)

    assert is_agent(cash, agent.address)
    assert the_event(cash, receipt, "AgentSet") == {"agent": agent.address, "allowed": True}


def test_operator_withdraws_an_agent_and_it_is_announced(platform, p, agent):
    cash = platform.cash("CNY")
    cash.as_(p.operator).set_agent(agent.address, True)

    receipt = cash.as_(p.operator).set_agent(agent.address, False)

    assert not is_agent(cash, agent.address)
    assert the_event(cash, receipt, "AgentSet") == {"agent": agent.address, "allowed": False}


def test_order_book_is_an_agent_of_every_currency(platform):
    assert all(is_agent(platform.cash(code), platform.orders.address) for code in platform.currencies)


def test_agent_moves_money_of_an_evicted_member_that_approved_it(platform, p, agent):
    cash = platform.cash("CNY")
    cash.as_(p.operator).set_agent(agent.address, True)
    cash.as_(p.core).approve(agent.address, 5_00)
    platform.members.as_(p.operator).evict(p.core.address, b32("fraud"))

    pull(platform, agent, p.core, p.supplier.address, 5_00)

    assert cash.balance(p.supplier.address) == 5_00


def test_agent_still_needs_the_owners_allowance(platform, p, agent):
    platform.cash("CNY").as_(p.operator).set_agent(agent.address, True)

    with reverts("ERC20InsufficientAllowance", spender=agent.address, allowance=0, needed=5_00):
        pull(platform, agent, p.core, p.supplier.address, 5_00)


def test_withdrawn_agent_can_no_longer_move_a_suspended_members_money(platform, p, agent):
    cash = platform.cash("CNY")
    cash.as_(p.operator).set_agent(agent.address, True)
    cash.as_(p.core).approve(agent.address, 5_00)
    cash.as_(p.operator).set_agent(agent.address, False)
    platform.members.as_(p.operator).suspend(p.core.address, b32("review"))

    with reverts("CashSenderNotActive", **{"from": p.core.address}):
        pull(platform, agent, p.core, p.supplier.address, 5_00)


def test_only_the_operator_names_agents(platform, p, agent):
    with reverts("AccessControlUnauthorizedAccount", account=p.core.address, neededRole=OPERATOR_ROLE):
        platform.cash("CNY").as_(p.core).set_agent(agent.address, True)


def test_zero_address_cannot_be_an_agent(platform, p):
    with reverts("CashZeroAddress"):
        platform.cash("CNY").as_(p.operator).set_agent(ZERO_ADDRESS, True)
