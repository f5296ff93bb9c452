"""The financing machine with adversaries: every state-changing call, by the wrong people.

`AdversarialMachine` is the machine of test_financing_machine.py with one more rule: an adversary
(adversaries.ADVERSARIES: the operator key alone, an evicted member, an outsider, a colluding
borrower and guarantor) calls any state-changing function of any platform contract, enumerated from
the ABIs, with arguments drawn from what is on the chain. After every step, whoever took it, the
money invariants of adversaries.INVARIANTS are checked on the chain itself (its state and the logs
of the step's transactions), not on the model.

The model keeps pace as long as it can: an adversary's call that changes nothing the model holds
(refused, or only an approval it follows) leaves it in step, and every honest operation is still
predicted and compared. A call the model does not know (a role granted, a cash transfer, a member
suspended) leaves the model behind for the rest of the example: from then on the honest rules still
run, their outcomes unchecked, and only the chain invariants judge.

The operator key's powers are modelled as they are today: it may grant any role to anyone. After a
grant the invariants that such a role can break (everything but cash conservation) are waived for the
example and each breach is counted instead of failing ("waived by ..."); cash conservation must hold
whatever the operator does. test_operator_power_* below show each of those powers breaking its
invariant; they are strict xfails that the council (issue 13) turns into passes.

The world with a council (`CouncilMachine`, at the end): the same stage handed to a council, where the operator
key holds OPERATOR_ROLE only. It tries every call of the ABIs on financed state and each of the council's powers
by name; nothing is waived, and the "governance" invariant judges each of its calls.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any, ClassVar

import pytest
from adversaries import (
    ADVERSARIES,
    INVARIANTS,
    MAX_UINT,
    ROLES,
    Call,
    ChainInvariants,
    Palette,
    arguments,
    decode_logs,
    governance_acts,
    platform_calls,
)
from eth_utils import keccak, to_checksum_address
from financing_model import Members, Model, Refused
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import rule, run_state_machine_as_test
from test_financing_machine import (
    DAY,
    LENDERS,
    PICK,
    SETTINGS,
    FinancingMachine,
    Stage,
    _build_stage,
    _pick,
    _Reader,
)

from vscm.chain.backends import connect
from vscm.chain.deploy import deploy_council, hand_over
from vscm.client.council import CouncilConfig
from vscm.client.records import LoanMode, LoanStatus, OrderStatus, Role, Status, SuspensionAuthority, Tier
from vscm.errors import ChainError, ContractRevert

CALLS = platform_calls()
CALL = st.integers(min_value=0, max_value=len(CALLS) - 1)
#: Traders the operator may evict (each in the core's chain, with orders of the stock behind it).
EVICTABLE = ("supplier2", "seller")
#: The colluding pair: the borrower and the core enterprise that guarantees its loans.
COLLUDERS = {"borrower": "supplier", "guarantor": "core"}
#: Events of a successful call that change nothing the model holds.
NEUTRAL = frozenset({"ApprovalForAll", "DocumentAttached", "MemberApplied", "ChainJoinRequested", "Approval",
                     "ConsentGranted", "ConsentRevoked"})
#: The invariants a granted role can break (the role's holder moves tracked money, locks, loans).
GRANT_WAIVES = tuple(name for name in INVARIANTS if name not in ("cash", "governance"))

ADVERSARY_SETTINGS = settings(SETTINGS, max_examples=20, stateful_step_count=50)


@pytest.fixture(scope="module")
def stage() -> Iterator[Stage]:
    with connect("anvil") as chain:
        staged = _build_stage(chain)
        staged.readers["members"] = _Reader(chain, staged.platform.members.contract)
        staged.snapshot = chain.snapshot()
        yield staged


def _ledger(stage: Stage) -> ChainInvariants:
    d = stage.platform.deployment
    by_name = {"LoanBook": "loans", "FundTracker": "funds", "OrderBook": "orders", "AssetRegistry": "assets",
               "RiskControl": "risk", "MemberRegistry": "members"}

    def read(contract: str, function: str, *args: Any) -> Any:
        return stage.readers[by_name.get(contract, contract)](function, *args)

    contracts = {"LoanBook": d.loans, "FundTracker": d.funds, "OrderBook": d.orders, "AssetRegistry": d.assets,
                 "MemberRegistry": d.registry, "RiskControl": d.risk, "TelemetryOracle": d.oracle}
    minters = {stage.accounts[n].address for n in ("bank", "bank2")}
    return ChainInvariants(read=read, contracts=contracts, cash=tuple(d.cash.values()),
                           holders=set(stage.holders), minters=minters)


class AdversarialMachine(FinancingMachine):
    def __init__(self, stage: Stage) -> None:
        super().__init__(stage)
        self.ledger = _ledger(stage)
        #: whether the model still knows everything the chain did
        self.synced = True
        self.evicted: str | None = None
        #: invariant -> the operator power that waived it for this example
        self.waived: dict[str, str] = {}

    #: over a run: what adversaries tried and how it ended, and the breaches the waivers let through
    adversary_outcomes: ClassVar[Counter[str]] = Counter()

    # ------------------------------------------------------------------ checking on the chain

    def _check_step(self, loans: set[int], assets: set[int], orders: set[int]) -> None:
        if self.synced:
            super()._check_step(loans, assets, orders)
        self._check_chain(loans, assets)

    def _check_chain(self, loans: set[int] | tuple[int, ...] = (), assets: set[int] | tuple[int, ...] = ()) -> None:
        found, touched_loans, touched_assets = self.ledger.check_receipts(self.stage.sender.receipts)
        found.extend(self.ledger.check_entities(set(loans) | touched_loans, set(assets) | touched_assets))
        if touched_loans:
            found.extend(self.ledger.check_tracked())
        self._judge(found)

    def _judge(self, found: list[tuple[str, str]]) -> None:
        broken = []
        for invariant, what in found:
            if invariant in self.waived:
                AdversarialMachine.adversary_outcomes[f"waived by {self.waived[invariant]}: {invariant}"] += 1
            else:
                broken.append(f"{invariant} ({INVARIANTS[invariant]}): {what}")
        assert not broken, "chain invariants broken:\n  " + "\n  ".join(broken)

    def _act(self, label: str, predict: Callable[[Model, int], Any], send: Callable[[], Any], *,
             approval: tuple[str, str, int] | None = None, loans: tuple[int, ...] = (),
             assets: tuple[int, ...] = (), orders: tuple[int, ...] = ()) -> bool:
        if self.synced:
            return super()._act(label, predict, send, approval=approval, loans=loans, assets=assets, orders=orders)
        # The model is behind: the honest party acts on what it last knew, and the chain judges.
        self.operations += 1
        self.stage.sender.receipts.clear()
        try:
            send()
            done = True
        except ChainError:
            done = False
        self.clock = self.stage.chain.timestamp()
        self._check_chain(loans, assets)
        return done

    def _risk_act(self, label: str, predict: Callable[[Model, int], Any], send: Callable[[], Any],
                  loan_id: int = 0) -> bool:
        if self.synced:
            return super()._risk_act(label, predict, send, loan_id)
        return self._act(label, predict, send, loans=(loan_id,) if loan_id else ())

    def _check_control(self, loan_id: int) -> None:
        if self.synced:
            super()._check_control(loan_id)

    def _check_fraud(self, chain_id: int) -> None:
        if self.synced:
            super()._check_fraud(chain_id)

    def _sweep(self) -> None:
        if self.synced:
            super()._sweep()
        self._judge(self.ledger.check_all())

    # ------------------------------------------------------------------ the adversaries

    def _adversary(self, who: str) -> tuple[Any, tuple[str, ...]]:
        """The adversary's key, and the addresses it favours (itself, its accomplice)."""
        if who == "evicted":
            assert self.evicted is not None
            return self.a[self.evicted], (self.a[self.evicted].address,)
        if who in COLLUDERS:
            pair = tuple(self.a[n].address for n in COLLUDERS.values())
            return self.a[COLLUDERS[who]], pair
        return self.a[who], (self.a[who].address,)

    def _palette(self, own: tuple[str, ...]) -> Palette:
        read = self.read
        d = self.d
        contracts = (d.loans, d.funds, d.orders, d.assets, d.registry, d.risk)
        amounts = [1, 100_00, 50_000_00, 10**30]
        for loan_id in range(1, read["loans"]("loanCount") + 1)[-4:]:
            amounts.append(read["loans"]("outstanding", loan_id))
            amounts.append(read["funds"]("unspent", loan_id))
        mine = tuple(ln.loan_id for ln in self.model.loans.values() if ln.borrower in own or ln.guarantor in own)
        return Palette(loans=read["loans"]("loanCount"), assets=read["assets"]("assetCount"),
                       orders=read["orders"]("orderCount"), chains=2, now=self.clock,
                       addresses=tuple(a.address for a in self.a.values()) + contracts,
                       currencies=tuple(d.cash.values()), amounts=tuple(sorted(set(amounts))), own=own,
                       platform=contracts, own_loans=mine)

    def _contract(self, call: Call, data: st.DataObject) -> Any:
        p = self.platform
        if call.contract == "PlatformCash":
            return p.cash(data.draw(st.sampled_from(sorted(self.d.cash)), label="currency")).contract
        if call.contract == "RiskControl":
            return p.risk.contract
        if call.contract == "TelemetryOracle":
            return p.oracle.contract
        if call.contract == "ConsentRegistry":
            return p.consents.contract
        if call.contract == "Certificates":
            return p.certificates.contract
        return {"MemberRegistry": p.members, "OrderBook": p.orders, "AssetRegistry": p.assets,
                "LoanBook": p.loans, "FundTracker": p.funds}[call.contract].contract

    #: the invariants a role granted by an adversary waives for the rest of the example
    grant_waives: ClassVar[tuple[str, ...]] = GRANT_WAIVES

    def _evictor(self) -> Any:
        """Who evicts a trader to make the evicted adversary: the operator key, the admin of this world."""
        return self.a["operator"]

    def operator_evicts(self, who: str) -> None:
        """The admin evicts a trader, whatever it owes or holds: from now on it is the evicted adversary."""
        op, member = self._evictor(), self.a[who].address

        def predict(m: Model, now: int) -> None:
            ms = m.members
            # Nobody is suspended in the model: a trader that is no longer active was evicted already
            # (with its chain, when a fraud finding was confirmed).
            if not ms.active(member):
                raise Refused("MemberAlreadyEvicted")
            m.members = Members(roles={w: r for w, r in ms.roles.items() if w != member},
                                core_tier=ms.core_tier - {member}, chain_of=ms.chain_of, chain_core=ms.chain_core,
                                controllers=ms.controllers)

        if self._act("evict member", predict, lambda: self.platform.members.as_(op).evict(member, keccak(text="x"))):
            self.evicted = who

    # One rule per adversary, each trying a few calls a step, so that the adversaries take a fair share
    # of the steps among the honest rules (and swarm testing switches each on and off by itself).
    @rule(calls=st.lists(CALL, min_size=1, max_size=3), data=st.data())
    def operator_tries(self, calls: list[int], data: st.DataObject) -> None:
        """The operator key alone, with every power it holds today."""
        self._tries("operator", calls, data)

    @rule(calls=st.lists(CALL, min_size=1, max_size=3), data=st.data(), who=st.sampled_from(EVICTABLE))
    def evicted_tries(self, calls: list[int], data: st.DataObject, who: str) -> None:
        """A member the operator evicted, with whatever loans, assets and cash it had."""
        if self.evicted is None:
            if not self.synced:
                return
            self.operator_evicts(who)
            if self.evicted is None:
                return
        self._tries("evicted", calls, data)

    @rule(calls=st.lists(CALL, min_size=1, max_size=3), data=st.data())
    def outsider_tries(self, calls: list[int], data: st.DataObject) -> None:
        """An address that never was a member."""
        self._tries("outsider", calls, data)

    @rule(calls=st.lists(CALL, min_size=1, max_size=3), data=st.data(),
          who=st.sampled_from(tuple(COLLUDERS)))
    def colluders_try(self, calls: list[int], data: st.DataObject, who: str) -> None:
        """The borrower or its guarantor, each favouring the other's loans, cash and assets."""
        self._tries(who, calls, data)

    @rule(index=PICK, play=st.sampled_from(("drop allowance", "empty wallet", "repay for borrower", "pass asset")))
    def colluders_play(self, index: int, play: str) -> None:
        """The colluding pair's known plays on a loan the core guarantees, with real ids and amounts:
        the guarantor withdraws its allowance or empties its wallet into the borrower's before a default
        (F-04: it then owes nothing as the contracts define it today), repays for the borrower, or takes
        one of the borrower's assets."""
        borrower, guarantor = (self.a[n] for n in COLLUDERS.values())
        pool = self._loans(lambda ln: ln.guarantor == guarantor.address) or list(self.model.loans.values())
        if not pool:
            return
        ln = _pick(pool, index)
        currency, g, b = ln.currency, guarantor.address, borrower.address
        cash = self.platform.cash_at(currency)
        if play == "repay for borrower":
            self._repay(ln, guarantor, "all")
        elif play == "drop allowance":
            def drop(m: Model, now: int) -> None:
                m.allowances[(currency, g)] = 0

            self._act("colluders drop allowance", drop, lambda: cash.as_(guarantor).approve(self.d.loans, 0))
        elif play == "empty wallet":
            held = self.read[currency]("balanceOf", g)

            def empty(m: Model, now: int) -> None:
                if not m.members.active(g):
                    raise Refused("CashSenderNotActive")
                if not m.members.active(b):
                    raise Refused("CashRecipientNotActive")
                m._move(currency, g, b, held)

            self._act("colluders empty wallet", empty, lambda: cash.as_(guarantor).transfer(b, held))
        else:
            owned = self._assets(lambda a: a.owner == b) or list(self.model.assets.values())
            aid = _pick(owned, index).asset_id
            self._act("colluders pass asset", lambda m, now: m.transfer_asset(b, aid, g),
                      lambda: self.platform.assets.as_(borrower).transfer(aid, g), assets=(aid,))

    def _tries(self, who: str, calls: list[int], data: st.DataObject) -> None:
        account, own = self._adversary(who)
        for index in calls:
            call = CALLS[index]
            contract = self._contract(call, data)
            args = data.draw(arguments(call, self._palette(own)), label=str(call))
            fn = contract.get_function_by_signature(call.signature)(*args)
            self.operations += 1
            self.stage.sender.receipts.clear()
            try:
                self.stage.sender.transact(account, fn)
                outcome = "ok"
            except ContractRevert as exc:
                outcome = exc.name
            except ChainError:
                outcome = "failed"
            self.clock = self.stage.chain.timestamp()
            AdversarialMachine.adversary_outcomes[f"{who} {call}: {outcome}"] += 1
            if outcome == "ok":
                self._follow(who, call, args)
            self._check_chain()

    def _follow(self, who: str, call: Call, args: tuple[Any, ...]) -> None:
        """After an adversary's call went through: keep the model in step if it can, waive what a grant breaks."""
        if call.name == "grantRole":
            role = next((n for n, v in ROLES.items() if v == args[0]), args[0].hex())
            grantee = next((n for n, a in self.a.items() if a.address == args[1]), args[1])
            for invariant in self.grant_waives:
                self.waived.setdefault(invariant, f"{who}: {call.contract}.grantRole({role}, {grantee})")
        if not self.synced:
            return
        loanbook = self.d.loans
        for receipt in self.stage.sender.receipts:
            for log in decode_logs(receipt, self.ledger.table):
                if log.name not in NEUTRAL:
                    self.synced = False
                elif log.name == "Approval" and log.address in self.d.cash.values() and \
                        log.args.get("spender") == loanbook:
                    self.model.allowances[(log.address, log.args["owner"])] = log.args["value"]
                elif log.name == "Approval" and log.address == self.d.assets:
                    self.model.asset_approvals[int(log.args["tokenId"])] = log.args["approved"]
                elif log.name == "ApprovalForAll" and log.address == self.d.assets:
                    # ERC-721's names (owner, operator); the decoder may use ERC-1155's (account, operator)
                    pair = (log.args.get("owner", log.args.get("account")), log.args["operator"])
                    if log.args["approved"]:
                        self.model.asset_operators.add(pair)
                    else:
                        self.model.asset_operators.discard(pair)
        if not self.synced:
            AdversarialMachine.adversary_outcomes[f"model left behind by {who} {call}"] += 1


def test_adversaries_keep_the_money_invariants(stage: Stage) -> None:
    AdversarialMachine.adversary_outcomes.clear()
    FinancingMachine.totals.update(examples=0, steps=0, operations=0)
    FinancingMachine.outcomes.clear()
    run_state_machine_as_test(lambda: AdversarialMachine(stage), settings=ADVERSARY_SETTINGS)
    outcomes = AdversarialMachine.adversary_outcomes
    tried = sum(v for k, v in outcomes.items() if ": " in k and not k.startswith("waived"))
    went_through = sorted(k for k in outcomes if k.endswith(": ok"))
    print(f"\nadversaries: {tried} calls in {FinancingMachine.totals['examples']} examples, "
          f"{FinancingMachine.totals['steps']} steps; went through: "
          + ", ".join(went_through))
    for key in sorted(k for k in outcomes if k.startswith("waived")):
        print(f"  {key} x{outcomes[key]}")
    plays = FinancingMachine.outcomes
    print("  colluders' plays: " + ", ".join(f"{k} x{v}" for k, v in sorted(plays.items()) if k.startswith("colluders")))
    # Not vacuous: every adversary was tried, and some of their calls went through.
    for who in ADVERSARIES:
        assert any(k.startswith(f"{who} ") for k in outcomes), f"{who} never tried a call"
    assert went_through, "no adversary call ever went through: the arguments drawn are useless"


# ---------------------------------------------------------------------- the operator key's former powers
#
# Each test below gives the operator key alone one of the powers it held before the wiring was fixed at
# deployment (issue 13): grant itself an internal role, then use it. The grant and the use are refused
# (`AccessControlUnauthorizedAccount`: the internal roles' admin is WIRING_ROLE, renounced by deploy_platform),
# and the money invariants hold after the attempt. Before the seal each of these broke an invariant.


def _refused(call: Callable[[], Any]) -> None:
    with pytest.raises(ContractRevert, match="AccessControlUnauthorizedAccount"):
        call()


@pytest.fixture
def staged(stage: Stage) -> Iterator[Stage]:
    """The stage, rolled back after the test."""
    snapshot = stage.chain.snapshot()
    try:
        yield stage
    finally:
        stage.chain.revert(snapshot)


def _running_loans(s: Stage) -> tuple[int, int]:
    """A pledge loan of the supplier (guaranteed by the core) and a receivable loan of the supplier, both
    disbursed by bank with their money unspent; returns their ids."""
    p, platform = s.accounts, s.platform
    loans, assets = platform.loans, platform.assets
    lot = assets.as_(p["warehouse"]).register_receipt(p["supplier"].address, "LOT-OP", 100, "t", "CNY", 1_000_000_00).id
    purpose = platform.orders.as_(p["supplier"]).place(p["supplier2"].address, s.chain_id, "CNY", 100_000_00,
                                                      s.chain.timestamp() + 365 * 86400).id
    pledge = loans.as_(p["supplier"]).apply(LoanMode.PLEDGE, lot, p["bank"].address, 100_000_00, 600, 30 * 86400,
                                            purpose, p["core"].address).id
    loans.as_(p["core"]).sign_guarantee(pledge)
    loans.as_(p["bank"]).approve(pledge, 5000, p["warehouse"].address)
    loans.as_(p["bank"]).disburse(pledge)
    claim = assets.as_(p["supplier"]).register_receivable(1).id  # order 1: the core owes the supplier, invoiced
    assets.as_(p["core"]).confirm_receivable(claim)
    receivable = loans.as_(p["supplier"]).apply(LoanMode.RECEIVABLE, claim, p["bank"].address, 100_000_00, 600,
                                                30 * 86400, purpose).id
    loans.as_(p["bank"]).approve(receivable, 9000)
    loans.as_(p["bank"]).disburse(receivable)
    assert loans.loan(pledge).status == loans.loan(receivable).status == LoanStatus.DISBURSED
    return pledge, receivable


def _operator_uses(s: Stage, steps: Callable[[Any], None]) -> list[tuple[str, str]]:
    """Run the operator's `steps` (given its key) and return the invariants they broke."""
    ledger = _ledger(s)
    s.sender.receipts.clear()
    steps(s.accounts["operator"])
    found, loans, assets = ledger.check_receipts(s.sender.receipts)
    found.extend(ledger.check_entities(loans, assets))
    found.extend(ledger.check_tracked())
    return found


def test_invariants_hold_on_honest_loans(staged: Stage) -> None:
    """The checker's baseline: two honest loans, disbursed, break nothing (so the xfails fail for their power)."""
    s = staged
    ledger = _ledger(s)
    s.sender.receipts.clear()
    _running_loans(s)
    found, loans, assets = ledger.check_receipts(s.sender.receipts)
    assert loans and assets
    assert found + ledger.check_all() == []


def test_operator_power_drain_tracked_money(staged: Stage) -> None:
    """LOANBOOK_ROLE on the FundTracker: open tracked funds for a loan that does not exist and release
    every unit of every loan's unspent money to the operator."""
    s = staged
    _running_loans(s)
    funds, cny = s.platform.funds, s.platform.deployment.cash["CNY"]

    def steps(op: Any) -> None:
        _refused(lambda: funds.as_(op).grant(funds.role("LOANBOOK_ROLE"), op.address))
        held = s.readers["funds"]("totalUnspent", cny)
        fake = s.readers["loans"]("loanCount") + 1
        f = funds.contract.functions
        _refused(lambda: s.sender.transact(op, f.open(fake, held)))
        _refused(lambda: s.sender.transact(op, f.release(fake)))

    found = _operator_uses(s, steps)
    assert not found, found


def test_operator_power_free_running_collateral(staged: Stage) -> None:
    """LOCKER_ROLE on the AssetRegistry: unlock a running pledge loan's goods."""
    s = staged
    pledge, _ = _running_loans(s)
    assets = s.platform.assets
    lot = s.platform.loans.loan(pledge).asset_id

    def steps(op: Any) -> None:
        _refused(lambda: assets.as_(op).grant(assets.role("LOCKER_ROLE"), op.address))
        _refused(lambda: s.sender.transact(op, assets.contract.functions.unlock(lot, pledge, False)))

    found = _operator_uses(s, steps)
    assert not found, found


def test_operator_power_redirect_pledged_settlement(staged: Stage) -> None:
    """FINANCE_ROLE on the OrderBook: redirect a pledged receivable's settlement to the operator itself."""
    s = staged
    _running_loans(s)  # loan 2 holds the receivable on order 1
    orders = s.platform.orders

    def steps(op: Any) -> None:
        _refused(lambda: orders.as_(op).grant(orders.role("FINANCE_ROLE"), op.address))
        _refused(lambda: s.sender.transact(op, orders.contract.functions.redirectSettlement(1, op.address)))

    found = _operator_uses(s, steps)
    assert not found, found


def test_adversarial_machine_fails_when_the_chain_breaks_an_invariant(stage: Stage) -> None:
    """The chain checks are not vacuous: a ledger that forgets one minter sees money created from nothing."""
    class ForgetfulLedger(AdversarialMachine):
        def __init__(self, stage: Stage) -> None:
            super().__init__(stage)
            self.ledger.minters.discard(stage.accounts["bank"].address)

    once = settings(ADVERSARY_SETTINGS, max_examples=1, database=None, phases=[Phase.generate])
    with pytest.raises(AssertionError, match=r"chain invariants broken:\s+cash"):
        run_state_machine_as_test(lambda: ForgetfulLedger(stage), settings=once)


def test_colluding_guarantor_pays_at_default_what_it_committed(staged: Stage) -> None:
    """Found by the colluding pair (F-04): the core signs the supplier's guarantee, withdraws its allowance once
    the money is out, and paid nothing at default while a guarantee was a live allowance; with the principal
    committed per loan it pays what it owes."""
    s, p = staged, staged.accounts
    pledge, _ = _running_loans(s)
    loans = s.platform.loans
    s.platform.cash("CNY").as_(p["core"]).approve(s.platform.deployment.loans, 0)
    s.platform.funds.as_(p["supplier"]).spend(pledge, p["supplier2"].address, 100_000_00, "goods")
    s.chain.time_travel(38 * 86400)
    loans.as_(p["bank"]).mark_default(pledge)
    loan = loans.loan(pledge)
    committed = loan.principal  # what signGuarantee checked the guarantor's allowance against
    owed = loan.principal + loan.interest_accrued - loan.interest_paid
    assert loan.guarantor_paid >= min(owed, committed), (
        f"the guarantor paid {loan.guarantor_paid} of a loan it guaranteed for {committed}, {owed} owed")


# ---------------------------------------------------------------------- the world with a council
#
# The stage handed to a consortium council as `deploy_platform(..., council=...)` hands a platform over
# (vscm.chain.deploy.deploy_council and hand_over: a Safe 2 of 3 of bank, bank2 and the auditor in front of a
# TimelockController that becomes DEFAULT_ADMIN_ROLE everywhere, the Safe the MemberRegistry's GUARDIAN_ROLE, the
# deployer's admin roles renounced), after the operator key, then still the admin, populated it (institutions,
# mint caps, the stock of orders). deploy_platform itself cannot build this stage: the financing machine's monitor
# must be wired in as a controller before the wiring is sealed (tests/harness.py, deploy_with_monitor_controller).
# The operator key keeps OPERATOR_ROLE. Here it tries every call alone, governance included, and every call it
# makes is judged by the money invariants and by "governance" (adversaries.INVARIANTS): nothing it does alone may
# be the council's.

COUNCIL_DELAY = DAY
#: Small: the world's honest rules are those of the financing machine; the point is the operator's calls.
COUNCIL_SETTINGS = settings(ADVERSARY_SETTINGS, max_examples=3, stateful_step_count=20)
#: The council's powers the operator key tries by name, with real ids, in every example it can; each must be
#: refused with the named error.
GOVERNANCE_TRIES = ("grantRole", "revokeRole", "setMintCap", "addCurrency", "evict", "evictChain", "setParameters",
                    "setSigners", "setLimits", "setBounds", "approveMember (institution)",
                    "reinstate (guardian's suspension)", "resolveDispute (financed order, cancel)")


@pytest.fixture(scope="module")
def council_stage(stage: Stage) -> Iterator[Stage]:
    """The module's stage handed to a council on the same chain; the chain goes back to the stage afterwards."""
    chain, a = stage.chain, stage.accounts
    before = chain.snapshot()
    try:
        config = CouncilConfig((a["bank"].address, a["bank2"].address, a["auditor"].address), 2, COUNCIL_DELAY)
        platform = hand_over(stage.platform, a["operator"], deploy_council(chain, a["operator"], config))
        model = stage.model.copy()
        model.admin = platform.deployment.council_timelock
        readers = dict(stage.readers, members=_Reader(chain, platform.members.contract))
        yield replace(stage, platform=platform, model=model, readers=readers, snapshot=chain.snapshot())
    finally:
        chain.revert(before)
        stage.snapshot = chain.snapshot()   # on anvil a snapshot is used up by its revert


class CouncilMachine(AdversarialMachine):
    """The adversarial machine on the council's platform: the operator key alone is no admin any more."""

    #: a role granted would itself be a governance breach: nothing is waived here
    grant_waives: ClassVar[tuple[str, ...]] = ()
    #: over a run: the council's powers the operator key tried by name, and how each ended
    governance_outcomes: ClassVar[Counter[str]] = Counter()

    def __init__(self, stage: Stage) -> None:
        super().__init__(stage)
        self.council = stage.platform.council
        self.caps = {(c, self.a[n].address): self.read[c]("mintCap", self.a[n].address)[0]
                     for c in self.d.cash.values() for n in LENDERS}
        self.applied = False

    def _evictor(self) -> Any:
        # Eviction is the council's: a timelocked decision of two of its members.
        return self.council.by(self.a["bank"], self.a["bank2"])

    def _guardian(self) -> Any:
        return self.council.at_once(self.a["bank"], self.a["auditor"])

    # ------------------------------------------------------------------ judging the operator key's calls

    def _institution(self, member: str) -> bool:
        roles = self.platform.members.contract.functions.getMember(member).call()[0]
        return bool(roles & sum(1 << int(r) for r in (Role.FINANCIER, Role.AUDITOR, Role.ORACLE, Role.MONITOR)))

    def _before(self, call: Call, args: tuple[Any, ...]) -> str | None:
        """What the operator's call would do that is the council's alone, read before it is sent."""
        if call.name == "reinstate":
            imposed = self.platform.members.suspension_authority(args[0])
            if imposed > SuspensionAuthority.OPERATOR:
                return f"lifted a suspension the {imposed.name.lower()} imposed on {args[0]}"
        if call.name == "resolveDispute" and args[1] and 0 < args[0] <= self.read["orders"]("orderCount"):
            o = self.platform.orders.order(args[0], with_documents=False)
            if o.status == OrderStatus.DISPUTED and (o.payee != o.seller or o.prepaid):
                return f"cancelled order {args[0]}, financed (payee {o.payee}, prepaid {o.prepaid})"
        return None

    def _judge_operator(self, before: str | None, outcome: str) -> None:
        found = []
        if outcome == "ok" and before:
            found.append(("governance", before))
        for receipt in self.stage.sender.receipts:
            sender = to_checksum_address(receipt["from"])
            acts = governance_acts(sender, decode_logs(receipt, self.ledger.table), self._institution)
            found.extend(("governance", f"the operator key alone: {act}") for act in acts)
        self._judge(found)

    def _check_chain(self, loans: set[int] | tuple[int, ...] = (), assets: set[int] | tuple[int, ...] = ()) -> None:
        super()._check_chain(loans, assets)
        found = []
        for (currency, financier), cap in self.caps.items():
            now_cap, outstanding = self.read[currency]("mintCap", financier)
            if now_cap != cap or outstanding > cap:
                found.append(("governance", (f"{currency}: {financier} may issue {now_cap} (the council set "
                                             f"{cap}), has {outstanding} outstanding")))
        self._judge(found)

    def _tries(self, who: str, calls: list[int], data: st.DataObject) -> None:
        if who != "operator":
            super()._tries(who, calls, data)
            return
        account, own = self._adversary(who)
        for index in calls:
            call = CALLS[index]
            contract = self._contract(call, data)
            args = data.draw(arguments(call, self._palette(own)), label=str(call))
            before = self._before(call, args)
            outcome = self._send(account, contract.get_function_by_signature(call.signature)(*args))
            AdversarialMachine.adversary_outcomes[f"{who} {call}: {outcome}"] += 1
            if outcome == "ok":
                self._follow(who, call, args)
            self._judge_operator(before, outcome)
            self._check_chain()

    def _send(self, account: Any, fn: Any) -> str:
        """Send `fn` as `account`: simulated first (`eth_call`), mined only when the simulation goes through (a
        refused call changes nothing, mined or not; this halves the cost of the many refusals)."""
        self.operations += 1
        self.stage.sender.receipts.clear()
        try:
            self.stage.sender.call(fn, sender=account.address)
            self.stage.sender.transact(account, fn)
            outcome = "ok"
        except ContractRevert as exc:
            outcome = exc.name
        except ChainError:
            outcome = "failed"
        self.clock = self.stage.chain.timestamp()
        return outcome

    # ------------------------------------------------------------------ the council's powers, by name

    @rule(which=st.sampled_from(GOVERNANCE_TRIES), index=PICK)
    def operator_tries_governance(self, which: str, index: int) -> None:
        """The operator key alone tries one of the council's powers with real ids: each is refused by name."""
        self._try_governance(which, index)

    def teardown(self) -> None:
        try:
            if sys.exc_info()[0] is None:
                # Every example ends with the operator trying each power on the state it reached (loans,
                # disputes, suspensions), a financed order made if the example made none.
                for which in GOVERNANCE_TRIES:
                    self._try_governance(which, self.operations, make=True)
        finally:
            super().teardown()

    def _try_governance(self, which: str, index: int, make: bool = False) -> None:
        op, p, a = self.a["operator"], self.platform, self.a
        f = {name: getattr(p, attr).contract.functions for name, attr in
             (("members", "members"), ("orders", "orders"), ("risk", "risk"), ("oracle", "oracle"))}
        cny = p.cash("CNY").contract.functions
        trader = a[_pick(list(EVICTABLE), index)].address
        expected = "AccessControlUnauthorizedAccount"
        before: str | None = None
        if which == "grantRole":
            facade = _pick(p.wired_contracts(), index)
            role = _pick(["DEFAULT_ADMIN_ROLE", "OPERATOR_ROLE", "GUARDIAN_ROLE"], index // 7)
            fn = facade.contract.functions.grantRole(ROLES[role], op.address)
        elif which == "revokeRole":
            fn = f["members"].revokeRole(ROLES["GUARDIAN_ROLE"], self.council.safe_address)
        elif which == "setMintCap":
            fn = cny.setMintCap(a["bank"].address, MAX_UINT)
        elif which == "addCurrency":
            fn = f["orders"].addCurrency(a["outsider"].address)
        elif which == "evict":
            fn = f["members"].evict(trader, keccak(text="operator alone"))
        elif which == "evictChain":
            fn = f["members"].evictChain(self.stage.chain_id, keccak(text="operator alone"))
        elif which == "setParameters":
            fn = f["risk"].setParameters(3600, 2, 1)
        elif which == "setSigners":
            fn = f["oracle"].setSigners([op.address], 1)
        elif which == "setLimits":
            fn = f["oracle"].setLimits(30 * DAY, 30 * DAY)
        elif which == "setBounds":
            fn = f["oracle"].setBounds(0, 0, 0)
        elif which == "approveMember (institution)":
            applicant = a["applicant"]
            if not self.applied:
                # An applicant for a financier's role: MemberApplied changes nothing the model holds.
                p.members.as_(applicant).apply([Role.FINANCIER], Tier.SME, keccak(text="stand-in bank"),
                                               self.clock + 400 * DAY, "Stand-in Bank")
                self.applied = True
            fn = f["members"].approveMember(applicant.address)
        elif which == "reinstate (guardian's suspension)":
            suspended = [who for who in EVICTABLE + ("supplier", "core")
                         if p.members.suspension_authority(a[who].address) == SuspensionAuthority.GUARDIAN]
            if not suspended:
                # The council's emergency suspension (its Safe, at once): the model does not follow suspensions.
                self.stage.sender.receipts.clear()
                try:
                    p.members.as_(self._guardian()).suspend(trader, keccak(text="court order"))
                except ContractRevert:
                    return  # the trader is no longer active (evicted): nothing for the guardian to suspend
                self.synced = False
                AdversarialMachine.adversary_outcomes["model left behind by the guardian's suspension"] += 1
                self._check_chain()
                suspended = [next(w for w in EVICTABLE if a[w].address == trader)]
            who = a[_pick(suspended, index)].address
            before = f"lifted the guardian's suspension of {who}"
            fn = f["members"].reinstate(who)
            expected = self._as_operator(p.members, "SuspensionByHigherAuthority")
        else:
            oid = self._financed_dispute(index)
            if oid is None and make:
                oid = self._certificate_order()
            if oid is None:
                return
            before = f"cancelled financed order {oid}"
            fn = f["orders"].resolveDispute(oid, True)
            expected = self._as_operator(p.orders, "OrderFinancedCancelNeedsAdmin")
        outcome = self._send(op, fn)
        CouncilMachine.governance_outcomes[f"{which}: {outcome}"] += 1
        self._judge_operator(before, outcome)
        self._check_chain()
        assert outcome == expected, f"the operator key alone tried {which}: expected {expected}, got {outcome}"

    def _as_operator(self, facade: Any, error: str) -> str:
        """The error a call of the operator key's OPERATOR_ROLE gets: `error`, or, once the key renounced its role
        (the operator may drop its own powers: `renounceRole` is among the calls it tries), the access error."""
        holds = facade.has_role(ROLES["OPERATOR_ROLE"], self.a["operator"].address)
        return error if holds else "AccessControlUnauthorizedAccount"

    def _certificate_order(self) -> int | None:
        """The core issues a certificate on an invoiced order it buys (the model does not follow certificates)
        and disputes it: a disputed order a certificate holder has a claim on."""
        core, orders = self.a["core"], self.platform.orders
        for oid in range(1, self.read["orders"]("orderCount") + 1):
            o = orders.order(oid, with_documents=False)
            if o.buyer != core.address or o.status != OrderStatus.INVOICED:
                continue
            self.synced = False
            try:
                self.platform.certificates.as_(core).issue(oid, self.clock + 90 * DAY)
                orders.as_(core).dispute(oid, keccak(text=f"dispute:{oid}"))
            except ContractRevert:
                continue   # its invoice is financed as an asset, or the core is no longer active
            self._check_chain()
            return oid
        return None

    def _financed_dispute(self, index: int) -> int | None:
        """A disputed order a lender or certificate holder has a claim on; its buyer disputes one if none is."""
        orders = self.platform.orders
        found = []
        for oid in range(1, self.read["orders"]("orderCount") + 1):
            o = orders.order(oid, with_documents=False)
            if (o.payee != o.seller or o.prepaid) and OrderStatus.SHIPPED <= o.status <= OrderStatus.INVOICED \
                    or o.status == OrderStatus.DISPUTED and (o.payee != o.seller or o.prepaid):
                found.append((oid, o))
        if not found:
            return None
        oid, o = _pick(found, index)
        if o.status != OrderStatus.DISPUTED:
            buyer = self._account(o.buyer)
            if not self._act("dispute order", lambda m, now: m.dispute(oid, buyer.address),
                             lambda: orders.as_(buyer).dispute(oid, keccak(text=f"dispute:{oid}")), orders=(oid,)):
                return None
        return oid


def test_with_a_council_the_operator_key_alone_keeps_the_invariants(council_stage: Stage) -> None:
    """The council's world: the operator key alone tries every call (the ABIs' enumeration, and each of the
    council's powers by name with real ids); the money invariants and the council's powers hold."""
    s = council_stage
    timelock = s.platform.deployment.council_timelock
    for facade in s.platform.wired_contracts():   # the hand-over as deploy_platform(..., council=...) does it
        assert facade.has_role(ROLES["DEFAULT_ADMIN_ROLE"], timelock), facade.contract_name
        assert not facade.has_role(ROLES["DEFAULT_ADMIN_ROLE"], s.accounts["operator"].address), facade.contract_name
    AdversarialMachine.adversary_outcomes.clear()
    CouncilMachine.governance_outcomes.clear()
    run_state_machine_as_test(lambda: CouncilMachine(s), settings=COUNCIL_SETTINGS)
    tried = CouncilMachine.governance_outcomes
    print("\nthe operator key alone, under a council: " + ", ".join(f"{k} x{v}" for k, v in sorted(tried.items())))
    went_through = sorted(k for k in AdversarialMachine.adversary_outcomes if k.startswith("operator ")
                          and k.endswith(": ok"))
    print("  its calls that went through: " + ", ".join(went_through))
    assert {k.split(": ")[0] for k in tried} == set(GOVERNANCE_TRIES), f"not every power was tried: {tried}"
    assert all(not k.endswith(": ok") for k in tried)
    # The operator key, holding its OPERATOR_ROLE, met the two new refusals by name.
    assert tried["reinstate (guardian's suspension): SuspensionByHigherAuthority"], tried
    assert tried["resolveDispute (financed order, cancel): OrderFinancedCancelNeedsAdmin"], tried


@settings(max_examples=1, deadline=None, database=None, phases=[Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_with_a_council_the_operator_key_alone_tries_every_call_on_financed_state(council_stage: Stage,
                                                                                 data: st.DataObject) -> None:
    """The council's world with two running loans (a guaranteed pledge, a receivable whose order is disputed) and
    a member under the guardian's emergency suspension: the operator key alone tries every state-changing
    function of every platform contract (the ABIs' enumeration, its own renouncements last), arguments drawn
    from the chain; each call is judged by the money invariants and by "governance"."""
    s = council_stage
    snapshot = s.chain.snapshot()
    try:
        _running_loans(s)   # loan 2 holds the receivable on order 1: its settlement goes to the LoanBook
        p = s.accounts
        s.platform.orders.as_(p["core"]).dispute(1, keccak(text="short delivery"))
        council = s.platform.council
        s.platform.members.as_(council.at_once(p["bank"], p["auditor"])).suspend(p["seller"].address,
                                                                                 keccak(text="court order"))
        machine = CouncilMachine(s)
        machine.synced = False   # the model was not told of the loans: only the chain judges
        AdversarialMachine.adversary_outcomes.clear()
        order = sorted(range(len(CALLS)), key=lambda i: CALLS[i].name == "renounceRole")
        machine._tries("operator", order, data)
        outcomes = AdversarialMachine.adversary_outcomes
        tried = {k.split(": ")[0].removeprefix("operator ") for k in outcomes if k.startswith("operator ")}
        assert tried >= {str(call) for call in CALLS}, "the operator key did not try every call"
        print("\nthe operator key alone on financed state, went through: "
              + ", ".join(sorted(k for k in outcomes if k.endswith(": ok"))))
        machine._judge(machine.ledger.check_all())
        assert s.platform.members.status(p["seller"].address) == Status.SUSPENDED
        assert s.platform.orders.order(1, with_documents=False).status != OrderStatus.CANCELLED   # restoring: its own
    finally:
        s.chain.revert(snapshot)
