"""Money is conserved (DESIGN §4) under random sequences of mints, burns, transfers and status changes.

A Hypothesis state machine drives a PlatformCash (CNY) on the shared world's registry, deployed by the
operator for the test so that it can name an EOA payment agent (a deployed platform's agents are sealed,
tests/contracts/PlatformCash/test_set_agent.py): financiers mint and
burn, members pay each other, a payment agent pulls money from anyone who approved it, and the
operator suspends, reinstates and evicts. A Python model predicts the outcome of every step (success,
or the exact error) and every balance. After every step:

    totalSupply == sum of the balances of all holders == total minted - total burned (issuance())

and every balance and every financier's issuance equals the model's. Each example runs between a
snapshot and a revert of the chain.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from eth_account import Account
from harness import TEST_MINT_CAP
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from support import b32

from vscm.chain.artifacts import load
from vscm.client.platform import CashFacade
from vscm.client.records import Status
from vscm.errors import ContractRevert

FINANCIERS = ("bank", "bank2")
TRADERS = ("core", "seller", "supplier", "warehouse")
NON_MEMBERS = ("core2", "outsider")  # a pending applicant and an unregistered account
ACTORS = FINANCIERS + TRADERS + NON_MEMBERS
#: Everyone who can ever hold CNY here: the actors and the agent. The world's CNY is all held by
#: core and seller, so the sum over these must equal the total supply.
HOLDERS = ACTORS + ("agent",)

#: The world's CNY (tests/conftest.py): core and seller hold 1,000,000.00 each, minted by bank.
WORLD_BALANCE = 1_000_000_00
#: What each financier mints to itself before the runs, so that burns can succeed from the first step.
FLOAT = 50_000_00

MAX_UINT = 2**256 - 1
MINT_AMOUNTS = st.integers(min_value=0, max_value=5_000_000_00)
#: Half the sender's balance, all of it, one unit more than it, or any number up to twice the world's holdings.
TRANSFER_AMOUNTS = st.one_of(st.sampled_from(["half", "all", "all+1"]),
                             st.integers(min_value=0, max_value=2 * WORLD_BALANCE))

# CI-sized: ~20 runs of up to 15 steps, each step a transaction and a dozen reads (~0.1 s).
# No target phase: with a database, Hypothesis 6.27 would spend it "Pareto-optimising" the runs,
# replaying shortened copies of them and more than doubling the time, for no target we declare.
SETTINGS = settings(
    max_examples=20,
    stateful_step_count=15,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow],
)


class CashConservation(RuleBasedStateMachine):
    """One example: a snapshot, random steps each checked against the model, a revert."""

    def __init__(self, world: Any, agent: Any) -> None:
        super().__init__()
        self.world = world
        self.p = world.p
        self.cash = agent.cash
        self.members = world.platform.members
        self.accounts = {name: getattr(self.p, name) for name in ACTORS} | {"agent": agent.account}
        self.snapshot = world.chain.snapshot()
        self.balance = {name: 0 for name in HOLDERS} | {
            "core": WORLD_BALANCE, "seller": WORLD_BALANCE, "bank": FLOAT, "bank2": FLOAT}
        self.minted = {"bank": 2 * WORLD_BALANCE + FLOAT, "bank2": FLOAT}
        self.burned = {"bank": 0, "bank2": 0}
        self.cap = {"bank": TEST_MINT_CAP, "bank2": TEST_MINT_CAP}
        self.status = {name: Status.ACTIVE for name in FINANCIERS + TRADERS} | {
            "core2": Status.PENDING, "outsider": Status.NONE}

    def teardown(self) -> None:
        self.world.chain.revert(self.snapshot)

    # ---------------------------------------------------------------- model

    def active(self, name: str) -> bool:
        return self.status.get(name) == Status.ACTIVE

    def amount(self, amount: int | str, sender: str) -> int:
        """A drawn amount, resolved against the sender's balance in the model."""
        relative = {"half": self.balance[sender] // 2, "all": self.balance[sender], "all+1": self.balance[sender] + 1}
        return relative[amount] if isinstance(amount, str) else amount

    def credit(self, name: str, amount: int) -> None:
        self.balance[name] += amount

    def move(self, sender: str, recipient: str, amount: int) -> None:
        self.balance[sender] -= amount
        self.credit(recipient, amount)

    def outcome(self, expected: str | None, action: Callable[[], Any]) -> bool:
        """Run `action`; it must succeed when `expected` is None, else fail with that error."""
        try:
            action()
        except ContractRevert as exc:
            assert exc.name == expected, f"expected {expected or 'success'}, got {exc}"
            return False
        assert expected is None, f"expected {expected}, but the call succeeded"
        return True

    def address(self, name: str) -> str:
        return str(self.accounts[name].address)

    # ---------------------------------------------------------------- rules

    @rule(financier=st.sampled_from(FINANCIERS), to=st.sampled_from(ACTORS), amount=MINT_AMOUNTS)
    def mint(self, financier: str, to: str, amount: int) -> None:
        # Money is created only within the financier's cap: its net issuance after the mint is at most the cap.
        outstanding = max(self.minted[financier] - self.burned[financier], 0)
        expected = ("CashNotFinancier" if not self.active(financier) else "CashZeroAmount" if amount == 0
                    else "CashMintCapExceeded" if outstanding + amount > self.cap[financier]
                    else "CashRecipientNotActive" if not self.active(to) else None)
        cash = self.cash.as_(self.accounts[financier])
        if self.outcome(expected, lambda: cash.mint(self.address(to), amount, b32("deposit"))):
            self.credit(to, amount)
            self.minted[financier] += amount

    @rule(financier=st.sampled_from(FINANCIERS), above=st.integers(min_value=-3_000_000_00, max_value=5_000_000_00))
    def set_cap(self, financier: str, above: int) -> None:
        """The admin moves a financier's cap around its outstanding issuance, below it included."""
        cap = max(self.minted[financier] - self.burned[financier] + above, 0)
        self.cash.as_(self.p.operator).set_mint_cap(self.address(financier), cap)
        self.cap[financier] = cap

    @rule(financier=st.sampled_from(FINANCIERS), amount=TRANSFER_AMOUNTS)
    def burn(self, financier: str, amount: int | str) -> None:
        value = self.amount(amount, financier)
        expected = ("CashNotFinancier" if not self.active(financier) else "CashZeroAmount" if value == 0
                    else "ERC20InsufficientBalance" if value > self.balance[financier] else None)
        cash = self.cash.as_(self.accounts[financier])
        if self.outcome(expected, lambda: cash.burn(value, b32("withdrawal"))):
            self.balance[financier] -= value
            self.burned[financier] += value

    @rule(sender=st.sampled_from(ACTORS), to=st.sampled_from(ACTORS), amount=TRANSFER_AMOUNTS)
    def transfer(self, sender: str, to: str, amount: int | str) -> None:
        value = self.amount(amount, sender)
        expected = ("CashSenderNotActive" if not self.active(sender)
                    else "CashRecipientNotActive" if not self.active(to)
                    else "ERC20InsufficientBalance" if value > self.balance[sender] else None)
        cash = self.cash.as_(self.accounts[sender])
        if self.outcome(expected, lambda: cash.transfer(self.address(to), value)):
            self.move(sender, to, value)

    @rule(owner=st.sampled_from(ACTORS), to=st.sampled_from(ACTORS), amount=TRANSFER_AMOUNTS)
    def agent_pulls(self, owner: str, to: str, amount: int | str) -> None:
        """The payment agent moves an owner's money whatever either party's status."""
        value = self.amount(amount, owner)
        expected = "ERC20InsufficientBalance" if value > self.balance[owner] else None
        pull = self.cash.contract.functions.transferFrom(self.address(owner), self.address(to), value)
        if self.outcome(expected, lambda: self.world.chain.sender.transact(self.accounts["agent"], pull)):
            self.move(owner, to, value)

    @rule(who=st.sampled_from(FINANCIERS + TRADERS + NON_MEMBERS))
    def suspend(self, who: str) -> None:
        expected = None if self.active(who) else "MemberNotActive"
        operator = self.members.as_(self.p.operator)
        if self.outcome(expected, lambda: operator.suspend(self.address(who), b32("review"))):
            self.status[who] = Status.SUSPENDED

    @rule(who=st.sampled_from(FINANCIERS + TRADERS + NON_MEMBERS))
    def reinstate(self, who: str) -> None:
        expected = None if self.status[who] == Status.SUSPENDED else "MemberNotSuspended"
        operator = self.members.as_(self.p.operator)
        if self.outcome(expected, lambda: operator.reinstate(self.address(who))):
            self.status[who] = Status.ACTIVE

    # Financiers are left out so that most runs keep someone who can mint.
    @rule(who=st.sampled_from(TRADERS + NON_MEMBERS))
    def evict(self, who: str) -> None:
        expected = ("MemberNotRegistered" if self.status[who] == Status.NONE
                    else "MemberAlreadyEvicted" if self.status[who] == Status.EVICTED else None)
        operator = self.members.as_(self.p.operator)
        if self.outcome(expected, lambda: operator.evict(self.address(who), b32("fraud"))):
            self.status[who] = Status.EVICTED

    # ---------------------------------------------------------------- invariant

    @invariant()
    def money_is_conserved(self) -> None:
        balances = {name: self.cash.balance(self.address(name)) for name in HOLDERS}
        issuance = {name: tuple(self.cash.contract.functions.issuance(self.address(name)).call())
                    for name in FINANCIERS}
        supply = self.cash.total_supply()
        net_issued = sum(minted - burned for minted, burned in issuance.values())

        assert supply == sum(balances.values()) == net_issued, "money is not conserved"
        assert balances == self.balance, "balances differ from the model"
        assert issuance == {name: (self.minted[name], self.burned[name]) for name in FINANCIERS}, (
            "issuance differs from the model")
        caps = {name: self.cash.mint_cap(self.address(name))[0] for name in FINANCIERS}
        assert caps == self.cap, "mint caps differ from the model"


@dataclass(frozen=True)
class Stage:
    """The agent's key and the PlatformCash it is an agent of."""

    account: Any
    cash: Any

    @property
    def address(self) -> str:
        return str(self.account.address)

    @property
    def key(self) -> Any:
        return self.account.key


@pytest.fixture
def agent(fresh: Any) -> Iterator[Stage]:
    """The stage the runs start from: a CNY PlatformCash on the world's registry, deployed (and wired) by
    the operator, where core and seller hold WORLD_BALANCE minted by bank and each financier holds FLOAT;
    a payment agent of it (an EOA standing in for the OrderBook or the LoanBook) that every actor has
    approved without limit."""
    p = fresh.p
    address = fresh.chain.sender.deploy(p.operator, "PlatformCash", fresh.platform.deployment.registry, "CNY",
                                        p.operator.address)
    cash = CashFacade(fresh.platform, fresh.chain.w3.eth.contract(address=address, abi=load("PlatformCash").abi))
    for name in FINANCIERS:
        cash.as_(p.operator).set_mint_cap(getattr(p, name).address, TEST_MINT_CAP)
    for who in ("core", "seller"):
        cash.as_(p.bank).mint(getattr(p, who).address, WORLD_BALANCE, b32(f"world:{who}"))
    for name in FINANCIERS:
        financier = getattr(p, name)
        cash.as_(financier).mint(financier.address, FLOAT, b32("float"))
    account = Account.from_key(b32("stateful:agent"))
    fresh.chain.fund(account.address, 10**18)
    cash.as_(p.operator).set_agent(account.address, True)
    for name in ACTORS:
        cash.as_(getattr(p, name)).approve(account.address, MAX_UINT)
    yield Stage(account, cash)


@pytest.mark.slow
def test_cash_is_conserved_under_random_operations(fresh, agent):
    run_state_machine_as_test(lambda: CashConservation(fresh, agent), settings=SETTINGS)


# The machine has to be able to fail. Two deliberately wrong models show that it does: one is
# driven by hand (a single mint must expose it), the other by Hypothesis (its very first check must).


class ModelThatLosesMoney(CashConservation):
    """Money minted or paid to a holder never reaches it in the model."""

    def credit(self, name: str, amount: int) -> None:
        pass


class ModelWithAWrongStart(CashConservation):
    """The model believes core starts one unit richer than it does."""

    def __init__(self, world: Any, agent: Any) -> None:
        super().__init__(world, agent)
        self.balance["core"] += 1


def test_invariant_catches_a_step_the_model_gets_wrong(fresh, agent):
    machine = ModelThatLosesMoney(fresh, agent)
    try:
        machine.money_is_conserved()
        machine.mint("bank", "core", 1_00)

        with pytest.raises(AssertionError, match="balances differ from the model"):
            machine.money_is_conserved()
    finally:
        machine.teardown()


def test_hypothesis_run_checks_the_invariant(fresh, agent):
    once = settings(SETTINGS, max_examples=1, database=None, phases=[Phase.generate])

    with pytest.raises(AssertionError, match="balances differ from the model"):
        run_state_machine_as_test(lambda: ModelWithAWrongStart(fresh, agent), settings=once)
