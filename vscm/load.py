"""Load generator: a realistic population running the business at volume through the pipeline.

    load = Load.setup(chain, Population(chains=20, smes=500, lenders=10))   # deploy, onboard, fund
    stats = load.run_orders(1_000)                                            # full order lifecycles
    stats = load.run_financing(per_mode=20)                                   # four modes + repayments

The population: an operator, an auditor, ``lenders`` financiers, one certified core enterprise per
supply chain, and ``smes`` SMEs spread over the chains (suppliers and sellers who join their chain,
warehouses and carriers who serve it). Every party has its own key and signs its own transactions.

Every platform transaction is a facade's built write (``platform.orders.as_(buyer).build.place(...)``, a
``vscm.chain.tx.TxRequest``): no ABI tuple, selector or token address is spelled here. A paying write
(``settle``, ``disburse``...) is given what the load knows (``vscm.client.facade.Payment``: the currency, the
amount, no allowance left before), so building it reads nothing from the chain, and its ``approve`` is sent
as a transaction of its own in the same step (nonce order keeps it first).

Work is described as *flows*: one order's lifecycle, one loan's life. A flow is a list of steps;
each step is the transactions one or more parties send once the previous step landed (an order must
exist before its seller accepts it). ``run_flows`` runs step k of every flow in one pipeline round
(``submit`` ... ``wait``), so thousands of orders advance together, one block-filling round per
step. Ids the later steps need (order, asset, loan) come from the events of the earlier ones. A flow
whose transaction fails stops there and the failure is counted, never hidden.

Drivers: the same flows run through a ``Pipeline`` (``PipelineDriver``), through the client's
one-at-a-time ``Sender`` (``SenderDriver``) or through naive web3 ``transact()`` with the node
signing (``NaiveDriver``): the benchmarks compare the three.

Extension point for the oracle (issue 4): ``EXTRA_FLOWS`` maps a phase name to a
``"module:function"`` whose function takes ``(load, count)`` and returns a list of ``Flow``;
``Load.run_extra(count)`` runs each as one more phase of the business load, and the benchmarks
count them as business transactions. The oracle's batched readings plug in with one line there:
``"oracle batches": "vscm.oracle.load:flows"``.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from hexbytes import HexBytes

from vscm.chain.deploy import deploy_platform
from vscm.chain.pipeline import (
    DEFAULT_BATCH_SIZE,
    CallEncoder,
    Pipeline,
    TxResult,
    json_receipt,
    sign_transaction,
)
from vscm.chain.tx import ContractCall, TxRequest, fee_fields
from vscm.client.facade import Builder, Facade, Payment
from vscm.client.platform import Platform
from vscm.client.records import DocKind, LoanMode, Role, Tier
from vscm.client.workflows import doc_hash
from vscm.errors import ChainError, InputError, VscmError

__all__ = [
    "EXTRA_FLOWS",
    "GAS",
    "Call",
    "Calls",
    "Flow",
    "Load",
    "NaiveDriver",
    "PhaseStats",
    "PipelineDriver",
    "Population",
    "SenderDriver",
    "Step",
    "Tx",
    "process_cpu_seconds",
]

DAY = 86_400
YEAR = 365 * DAY
ETHER = 10**18
#: Minor units of CNY every trader starts with.
STARTING_CASH = 10**13
#: Each lender's mint cap (set by the platform's admin): no limit the load could reach.
LENDER_MINT_CAP = 2**128

#: Gas limit per function: about 1.5 x the exact gas `make bench` measures for its first (cold)
#: call. A fixed limit is needed because a round's transactions depend on each other (an accept
#: cannot be estimated before its order is mined); anvil packs blocks by these limits. By function
#: name; ``approveLoan`` is the LoanBook's ``approve`` (``approve`` is the cash's).
GAS: dict[str, int] = {
    "transfer": 21_000,
    "applyForMembership": 220_000,
    "approveMember": 60_000,
    "attest": 100_000,
    "createChain": 150_000,
    "requestJoin": 80_000,
    "approveJoin": 70_000,
    "setMintCap": 80_000,
    "mint": 160_000,
    "approve": 70_000,
    "place": 260_000,
    "attach": 210_000,
    "accept": 60_000,
    "ship": 110_000,
    "deliver": 60_000,
    "invoice": 250_000,
    "settle": 120_000,
    "registerWarehouseReceipt": 500_000,
    "registerReceivable": 450_000,
    "confirmReceivable": 60_000,
    "registerFutureGoods": 450_000,
    "registerPayable": 450_000,
    "applyForLoan": 480_000,
    "signGuarantee": 160_000,
    "approveLoan": 270_000,
    "disburse": 620_000,
    "spend": 370_000,
    "repay": 250_000,
    "collect": 350_000,
    "convertCollateral": 330_000,
    "erc20": 80_000,
    "setSigners": 320_000,
    "registerDevice": 240_000,
    "setWatch": 140_000,
    "submitReport": 480_000,
}


#: More business for the load, by phase name: ``"module:function"`` with the function
#: ``(load: Load, count: int) -> list[Flow]`` (see the module docstring).
EXTRA_FLOWS: dict[str, str] = {"oracle batches": "vscm.oracle.load:flows"}


@dataclass(frozen=True)
class Population:
    """How many of each party; keys are derived from ``seed``."""

    chains: int = 20
    smes: int = 500
    lenders: int = 10
    seed: str = "vscm-load"

    def __post_init__(self) -> None:
        if self.chains < 1 or self.lenders < 1:
            raise InputError(f"a population needs at least one chain and one lender, not {self}")
        if self.smes < 5 * self.chains:
            # a warehouse, a carrier, a seller and two suppliers (who trade with each other) per chain
            raise InputError(f"{self.smes} SMEs cannot staff {self.chains} chains: give at least 5 per chain")


@dataclass(frozen=True)
class SupplyChainCast:
    """One supply chain's parties."""

    index: int
    core: LocalAccount
    suppliers: tuple[LocalAccount, ...]
    sellers: tuple[LocalAccount, ...]
    warehouses: tuple[LocalAccount, ...]
    carriers: tuple[LocalAccount, ...]
    chain_id: int = 0

    @property
    def traders(self) -> tuple[LocalAccount, ...]:
        return self.suppliers + self.sellers


#: A contract function with its arguments (for contracts without a facade: the reference ERC-20, and
#: the oracle's load in ``vscm.oracle.load``); the platform's writes are the facades' built ones.
Call = ContractCall


class Calls:
    """``Calls(contract).transfer(a, b)`` -> ``ContractCall(contract, "transfer", (a, b))``."""

    def __init__(self, contract: Any) -> None:
        self._contract = contract

    def __getattr__(self, function: str) -> Callable[..., ContractCall]:
        return lambda *args: ContractCall(self._contract, function, args)


@dataclass(frozen=True)
class Tx:
    """One transaction of a step: who signs, the write (a facade's built one, a ``TxRequest`` without
    writes around it, or a ``Call``) or a value transfer, its gas limit, and optionally the name under
    which the id in its first event is kept."""

    account: LocalAccount
    call: TxRequest[Any] | ContractCall | None = None
    gas: int = 0
    capture: tuple[str, str, bytes] | None = None  # (name, emitting address, event topic)
    to: str | None = None
    value: int = 0
    label: str | None = None


@dataclass
class Step:
    """The transactions of one step of a flow, built when the step runs (from ``ctx``)."""

    build: Callable[[dict[str, int]], Sequence[Tx]]
    name: str = ""


@dataclass
class Flow:
    steps: list[Step]
    ctx: dict[str, int] = field(default_factory=dict)
    failed: VscmError | None = None


@dataclass
class PhaseStats:
    """What one phase sent and how long it took.

    ``seconds`` is end to end: building each step's transactions (the oracle's reports with their
    device and node signatures included), signing, sending, mining, collecting the receipts and
    reading the ids the next step needs from their events. ``driver_seconds`` is the part spent in
    the driver (signing, sending, mining, receipts). ``client_cpu`` is this process's CPU time
    (user + system, ``os.times``) over the same span and ``node_cpu`` the node process's
    (``/proc/<pid>/stat``; None when the node is not a local process: the embedded chain runs in
    this one, its work is in ``client_cpu``).
    """

    name: str
    transactions: int = 0
    failed: int = 0
    seconds: float = 0.0
    rounds: int = 0
    gas: dict[str, list[int]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    driver_seconds: float = 0.0
    client_cpu: float = 0.0
    node_cpu: float | None = None

    @property
    def tps(self) -> float:
        return self.transactions / self.seconds if self.seconds else 0.0

    def cpu_us(self, which: str = "client") -> float | None:
        """CPU microseconds per transaction of ``which`` (``"client"`` or ``"node"``)."""
        spent = self.client_cpu if which == "client" else self.node_cpu
        return None if spent is None or not self.transactions else 1e6 * spent / self.transactions

    def mean_gas(self) -> dict[str, float]:
        return {name: sum(values) / len(values) for name, values in self.gas.items()}


class Driver(Protocol):
    def run(self, txs: Sequence[Tx]) -> list[TxResult]: ...


class PipelineDriver:
    """Runs each round through a ``Pipeline``: all submitted, then one ``wait``."""

    def __init__(self, pipe: Pipeline) -> None:
        self.pipe = pipe

    def run(self, txs: Sequence[Tx]) -> list[TxResult]:
        for tx in txs:
            c = tx.call
            if isinstance(c, TxRequest):
                self.pipe.submit(tx.account, c, gas=tx.gas, label=tx.label)
            elif c is not None:
                self.pipe.submit_call(tx.account, c.contract.abi, c.contract.address, c.fn_name, c.args,
                                      gas=tx.gas, label=tx.label)
            else:
                self.pipe.submit(tx.account, to=tx.to, value=tx.value, gas=tx.gas or GAS["transfer"], label=tx.label)
        done = self.pipe.wait()
        return [r for r in done if r.label != "filler"]


class SenderDriver:
    """The client's ordinary path: ``chain.sender.transact``, one transaction at a time, each
    signed locally and waited for (the gas estimated by the node)."""

    def __init__(self, chain: Any) -> None:
        self.chain = chain

    def run(self, txs: Sequence[Tx]) -> list[TxResult]:
        return [self._one(tx) for tx in txs]

    def _one(self, tx: Tx) -> TxResult:
        result = _blank(tx)
        try:
            if tx.call is not None:
                receipt = self.chain.sender.transact(tx.account, tx.call)
            else:
                receipt = self.chain.sender.transact(tx.account, to=tx.to, value=tx.value)
        except VscmError as exc:
            result.status, result.error = "reverted", exc
            return result
        result.receipt, result.status = json_receipt(receipt), "mined"
        return result


class NaiveDriver:
    """Naive web3: ``contract.functions.f(...).transact({"from": party})`` with the node signing (its
    parties unlocked: impersonated on anvil, added to eth-tester's keyring on the embedded chain),
    then ``wait_for_transaction_receipt``; web3 asks the node for nonce, gas, fees and chain id."""

    def __init__(self, chain: Any) -> None:
        self.chain = chain
        self.w3 = chain.w3
        self._unlocked: set[str] = set()

    def run(self, txs: Sequence[Tx]) -> list[TxResult]:
        return [self._one(tx) for tx in txs]

    def _unlock(self, account: LocalAccount) -> None:
        if account.address in self._unlocked:
            return
        if self.chain.kind == "embedded":
            if account.address not in self.chain.tester.get_accounts():
                self.chain.tester.add_account("0x" + bytes(account.key).hex())
        else:
            self.w3.provider.make_request("anvil_impersonateAccount", [account.address])
        self._unlocked.add(account.address)

    def _one(self, tx: Tx) -> TxResult:
        self._unlock(tx.account)
        result = _blank(tx)
        try:
            if tx.call is not None:
                call = tx.call.call if isinstance(tx.call, TxRequest) else tx.call
                tx_hash = call.bound().transact({"from": tx.account.address})
            else:
                tx_hash = self.w3.eth.send_transaction({"from": tx.account.address, "to": tx.to, "value": tx.value})
            receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120, poll_latency=0.01)
        except Exception as exc:  # noqa: BLE001 - the benchmark counts the failure, whatever it is
            result.status, result.error = "reverted", ChainError(f"{result.label}: {exc}")
            return result
        result.receipt = json_receipt(receipt)
        result.status = "mined" if int(receipt["status"]) == 1 else "reverted"
        return result


def _blank(tx: Tx) -> TxResult:
    if tx.label or tx.call is None:
        label = tx.label or "transfer"
    else:
        label = tx.call.label if isinstance(tx.call, TxRequest) and tx.call.label else _fn_name(tx.call)
    return TxResult(index=-1, label=label, sender=tx.account.address, nonce=None, tx_hash=None, status="signed")


class Load:
    """A deployed platform with its population, and the flows that load it."""

    def __init__(self, chain: Any, platform: Platform, population: Population, operator: LocalAccount,
                 auditor: LocalAccount, lenders: Sequence[LocalAccount], chains: Sequence[SupplyChainCast],
                 driver: Driver) -> None:
        self.chain = chain
        self.platform = platform
        self.population = population
        self.operator = operator
        self.auditor = auditor
        self.lenders = tuple(lenders)
        self.chains = list(chains)
        self.driver = driver
        self.phases: list[PhaseStats] = []
        self.extra_flows: dict[str, Callable[[Load, int], list[Flow]]] = {
            name: _resolve(path) for name, path in EXTRA_FLOWS.items()}
        self._serial = 0
        self._builders: dict[tuple[int, str], Builder] = {}
        self._encoder = CallEncoder()
        #: Due date of every generated order: far enough for any run.
        self.due = chain.now() + 2 * YEAR
        c = platform
        self.cny = c.currency_address("CNY")
        self.topics = {
            "order": (c.orders.address, _topic(c.orders.contract, "OrderPlaced")),
            "asset": (c.assets.address, _topic(c.assets.contract, "AssetRegistered")),
            "loan": (c.loans.address, _topic(c.loans.contract, "LoanApplied")),
            "chain": (c.members.address, _topic(c.members.contract, "ChainCreated")),
        }

    # -- setting up -------------------------------------------------------------------------

    @classmethod
    def setup(cls, chain: Any, population: Population = Population(), driver: Driver | None = None) -> Load:
        """Deploy the platform, fund every party with ether, onboard everyone, form the chains and
        mint each trader its starting cash: all through ``driver`` (a pipeline by default)."""
        seed = population.seed

        def account(label: str) -> LocalAccount:
            return Account.from_key(keccak(text=f"{seed}:{label}"))

        operator, auditor = account("operator"), account("auditor")
        lenders = [account(f"lender-{i}") for i in range(population.lenders)]
        casts: list[SupplyChainCast] = []
        per_chain = population.smes // population.chains
        for c in range(population.chains):
            smes = [account(f"chain-{c}-sme-{i}") for i in range(per_chain + (c < population.smes % population.chains))]
            warehouses, carriers = max(1, len(smes) // 8), max(1, len(smes) // 8)
            sellers = max(1, len(smes) // 5)
            casts.append(SupplyChainCast(
                index=c, core=account(f"chain-{c}-core"),
                warehouses=tuple(smes[:warehouses]), carriers=tuple(smes[warehouses:warehouses + carriers]),
                sellers=tuple(smes[warehouses + carriers:warehouses + carriers + sellers]),
                suppliers=tuple(smes[warehouses + carriers + sellers:])))
        if chain.faucet is not None:  # a free-gas network (no faucet) needs no ether
            chain.fund(operator.address, 10 * ETHER)
        platform = deploy_platform(chain, operator, manifest=False, network="load")
        if driver is None:
            driver = PipelineDriver(Pipeline(chain, mining="manual" if chain.kind == "anvil" else "auto"))
        load = cls(chain, platform, population, operator, auditor, lenders, casts, driver)
        load._onboard()
        return load

    def everyone(self) -> list[LocalAccount]:
        parties = [self.auditor, *self.lenders]
        for cast in self.chains:
            parties += [cast.core, *cast.warehouses, *cast.carriers, *cast.sellers, *cast.suppliers]
        return parties

    def _onboard(self) -> None:
        p = self.platform
        faucet = self.chain.faucet
        if faucet is None and self.chain.fee_policy != "zero":
            raise ChainError(f"{self.chain.name} has no faucet: the load generator needs a dev chain or a "
                             "free-gas network (gas price zero)")
        expiry = self.chain.now() + 2 * YEAR
        everyone = self.everyone()
        smes = [(a, [Role.AUDITOR]) for a in [self.auditor]] + [(a, [Role.FINANCIER]) for a in self.lenders]
        for cast in self.chains:
            smes += [(a, [Role.WAREHOUSE]) for a in cast.warehouses] + [(a, [Role.LOGISTICS]) for a in cast.carriers]
            smes += [(a, [Role.SELLER]) for a in cast.sellers] + [(a, [Role.SUPPLIER]) for a in cast.suppliers]
        cores = [cast.core for cast in self.chains]
        members, cash, operator = p.members, p.cash("CNY"), self.operator

        def apply(account: LocalAccount, roles: list[Role], tier: Tier) -> list[Tx]:
            return self.tx(account, self.build(members, account).apply(roles, tier, keccak(text=account.address),
                                                                       expiry, account.address[:10]))

        def lender(i: int) -> LocalAccount:
            return self.lenders[i % len(self.lenders)]

        funding = [] if faucet is None else [
            [Tx(faucet, to=a.address, value=10 * ETHER, gas=GAS["transfer"]) for a in everyone]]
        self.run_rounds("onboarding", [
            *funding,
            [tx for a, roles in smes for tx in apply(a, roles, Tier.SME)]
            + [tx for c in cores for tx in apply(c, [Role.MANUFACTURER], Tier.CORE)],
            [tx for a, _ in smes for tx in self.tx(operator, self.build(members, operator).approve(a.address))]
            + [tx for a in self.lenders
               for tx in self.tx(operator, self.build(cash, operator).set_mint_cap(a.address, LENDER_MINT_CAP))],
            [tx for i, c in enumerate(cores)
             for tx in self.tx(lender(i), self.build(members, lender(i)).attest(c.address, Role.FINANCIER))]
            + [tx for c in cores for tx in self.tx(self.auditor, self.build(members, self.auditor).attest(
                c.address, Role.AUDITOR))],
        ])
        created = self.run_rounds("onboarding", [[
            tx for cast in self.chains for tx in self.tx(cast.core, self.build(members, cast.core).create_chain(
                f"chain {cast.index}"), capture=("chain", *self.topics["chain"]))]])[0]
        self.chains = [SupplyChainCast(**{**cast.__dict__, "chain_id": r.event_id(*self.topics["chain"])})
                       for cast, r in zip(self.chains, created)]
        traders = [(cast, t) for cast in self.chains for t in cast.traders]
        holders = [*cores, *(t for _, t in traders), *self.lenders]
        self.run_rounds("onboarding", [
            [tx for cast, t in traders for tx in self.tx(t, self.build(members, t).request_join(cast.chain_id))],
            [tx for cast, t in traders
             for tx in self.tx(cast.core, self.build(members, cast.core).approve_join(cast.chain_id, t.address))]
            + [tx for i, a in enumerate(holders)
               for tx in self.tx(lender(i), self.build(cash, lender(i)).mint(a.address, STARTING_CASH,
                                                                                keccak(text=f"dep:{i}")))],
        ])

    def build(self, facade: Facade, account: LocalAccount) -> Builder:
        """``facade.as_(account).build``, made once per facade and signer."""
        key = (id(facade), account.address)
        builder = self._builders.get(key)
        if builder is None:
            builder = self._builders[key] = facade.as_(account).build
        return builder

    def tx(self, account: LocalAccount, request: TxRequest[Any], gas: int | None = None,
           capture: tuple[str, str, bytes] | None = None) -> list[Tx]:
        """A built write as the load sends it: the ``approve`` it needs before it (and the one after it, if any)
        as transactions of their own in the same step, nonce order keeping them in place; each with the load's
        fixed gas (``gas`` or ``GAS`` by function name). ``capture`` keeps the id its first event carries."""
        main = replace(request, before=(), after=()) if request.before or request.after else request
        return [*(Tx(account, r, GAS["approve"]) for r in request.before),
                Tx(account, main, gas or GAS[_fn_name(main.call)], capture=capture),
                *(Tx(account, r, GAS["approve"]) for r in request.after)]

    @staticmethod
    def paid(amount: int) -> Payment:
        """A CNY payment the contract takes whole, no allowance before it (the load leaves none behind)."""
        return Payment("CNY", amount, allowance=0, whole=True)

    # -- running ----------------------------------------------------------------------------

    def sequential(self) -> Any:
        """A context in which one-at-a-time ``chain.sender`` calls work (automine back on while in it)."""
        pipe = getattr(self.driver, "pipe", None)
        return pipe.automining() if pipe is not None else contextlib.nullcontext()

    def run_rounds(self, phase: str, rounds: Sequence[Sequence[Tx]]) -> list[list[TxResult]]:
        """Run fixed rounds (no flow state); a failure in them is an error: setup must succeed."""
        stats = self._phase(phase)
        out = []
        for txs in rounds:
            with self.measured(stats):
                started = time.perf_counter()
                results = self.driver.run(txs)
                stats.driver_seconds += time.perf_counter() - started
            self._count(stats, results)
            bad = [r for r in results if not r.ok]
            if bad:
                raise ChainError(f"{phase}: {len(bad)} of {len(results)} transactions failed, first: "
                                 f"{bad[0].label}: {bad[0].error}")
            out.append(results)
        return out

    def run_flows(self, phase: str, flows: list[Flow]) -> PhaseStats:
        """Advance every flow one step per round until all are done or stopped by a failure."""
        stats = self._phase(phase)
        step = 0
        with self.measured(stats):
            while True:
                live = [f for f in flows if f.failed is None and step < len(f.steps)]
                if not live:
                    break
                self._step(stats, live, step)
                step += 1
        return stats

    def _step(self, stats: PhaseStats, live: list[Flow], step: int) -> None:
        """Step ``step`` of every live flow as one round: build, run, keep the ids its events carry."""
        batch: list[tuple[Flow, Tx]] = [(f, tx) for f in live for tx in f.steps[step].build(f.ctx)]
        started = time.perf_counter()
        results = self.driver.run([tx for _, tx in batch])
        stats.driver_seconds += time.perf_counter() - started
        self._count(stats, results)
        for (flow, tx), result in zip(batch, results):
            if not result.ok:
                flow.failed = result.error or ChainError(f"{result.label}: {result.status}")
                continue
            if tx.capture is not None:
                name, address, topic = tx.capture
                flow.ctx[name] = result.event_id(address, topic)

    @contextlib.contextmanager
    def measured(self, stats: PhaseStats) -> Iterator[None]:
        """Add the wall time, this process's CPU time and the node's (a local anvil) spent inside to ``stats``."""
        pid = getattr(getattr(self.chain, "node", None), "pid", None)
        node = process_cpu_seconds(pid) if pid is not None else None
        client, started = process_cpu_seconds(), time.perf_counter()
        try:
            yield
        finally:
            stats.seconds += time.perf_counter() - started
            stats.client_cpu += process_cpu_seconds() - client
            if node is not None:
                stats.node_cpu = (stats.node_cpu or 0.0) + process_cpu_seconds(pid) - node

    def _phase(self, name: str) -> PhaseStats:
        for stats in self.phases:
            if stats.name == name:
                return stats
        stats = PhaseStats(name)
        self.phases.append(stats)
        return stats

    def _count(self, stats: PhaseStats, results: list[TxResult]) -> None:
        stats.rounds += 1
        stats.transactions += len(results)
        for result in results:
            if result.ok:
                stats.gas.setdefault(result.label, []).append(int(result.gas_used or 0))
            else:
                stats.failed += 1
                if len(stats.errors) < 5:
                    stats.errors.append(f"{result.label}: {result.error}")

    # -- the business -----------------------------------------------------------------------

    def next_serial(self) -> int:
        self._serial += 1
        return self._serial

    def order_flow(self, i: int, stage: str = "settled", buyer: LocalAccount | None = None,
                   seller: LocalAccount | None = None, cast: SupplyChainCast | None = None,
                   amount: int = 10_000_00, key: str = "order") -> list[Step]:
        """The steps of one order up to ``stage`` (``placed``, ``accepted``, ``delivered``,
        ``invoiced``, ``settled``): contract document, acceptance, shipment with its bill of lading,
        delivery, invoice, settlement. The order id is kept under ``key``."""
        cast = cast or self.chains[i % len(self.chains)]
        buyer = buyer or cast.core
        seller = seller or cast.suppliers[(i // len(self.chains)) % len(cast.suppliers)]
        carrier, warehouse = cast.carriers[i % len(cast.carriers)], cast.warehouses[i % len(cast.warehouses)]
        orders = self.platform.orders
        by_buyer, by_seller = self.build(orders, buyer), self.build(orders, seller)
        serial = self.next_serial()
        due = self.due
        steps = [Step(lambda ctx: self.tx(buyer, by_buyer.place(seller.address, cast.chain_id, "CNY", amount, due),
                                          capture=(key, *self.topics["order"])), "place")]
        if stage == "placed":
            return steps
        steps.append(Step(lambda ctx: [
            *self.tx(buyer, by_buyer.attach(ctx[key], DocKind.CONTRACT, doc_hash(f"load:{serial}:contract"))),
            *self.tx(seller, by_seller.accept(ctx[key]))], "accept"))
        if stage == "accepted":
            return steps
        steps += [
            Step(lambda ctx: self.tx(seller, by_seller.ship(ctx[key], carrier.address, warehouse.address)), "ship"),
            Step(lambda ctx: [
                *self.tx(carrier, self.build(orders, carrier).attach(ctx[key], DocKind.BILL_OF_LADING,
                                                                     doc_hash(f"load:{serial}:bol"))),
                *self.tx(warehouse, self.build(orders, warehouse).deliver(ctx[key]))], "deliver"),
        ]
        if stage == "delivered":
            return steps
        steps.append(Step(lambda ctx: self.tx(seller, by_seller.invoice(ctx[key], f"L-{serial}",
                                                                        doc_hash(f"load:{serial}:invoice"))),
                          "invoice"))
        if stage == "invoiced":
            return steps
        # approve + settle: the order has no prepaid part, the OrderBook takes the whole amount
        steps.append(Step(lambda ctx: self.tx(buyer, by_buyer.settle(ctx[key], payment=self.paid(amount))),
                          "settle"))
        return steps

    def run_orders(self, count: int, phase: str = "orders", stage: str = "settled") -> PhaseStats:
        """``count`` orders through their lifecycle (9 transactions each when settled)."""
        return self.run_flows(phase, [Flow(self.order_flow(i, stage)) for i in range(count)])

    def fill_orders(self, count: int, phase: str = "fill (placements)") -> PhaseStats:
        """``count`` placed orders, one transaction each: grows the order book cheaply."""
        return self.run_orders(count, phase=phase, stage="placed")

    def run_financing(self, per_mode: int, phase: str = "financing") -> PhaseStats:
        """``per_mode`` loans of each of the four modes, from application to a repayment (pledge,
        prepayment) or to collection after the buyer paid (receivable, payable)."""
        flows: list[Flow] = []
        for i in range(per_mode):
            for mode in (LoanMode.PLEDGE, LoanMode.RECEIVABLE, LoanMode.PREPAYMENT, LoanMode.PAYABLE):
                flows.append(Flow(self._loan_flow(mode, len(flows))))
        return self.run_flows(phase, flows)

    def run_extra(self, count: int) -> list[PhaseStats]:
        """Run the flows the ``extra_flows`` extension point holds (the oracle's batches)."""
        return [self.run_flows(name, make(self, count)) for name, make in self.extra_flows.items()]

    def _loan_flow(self, mode: LoanMode, i: int) -> list[Step]:
        cast = self.chains[i % len(self.chains)]
        lender = self.lenders[i % len(self.lenders)]
        k = i // len(self.chains)
        borrower = cast.suppliers[k % len(cast.suppliers)]
        other = cast.suppliers[(k + 1) % len(cast.suppliers)]
        warehouse, carrier = cast.warehouses[i % len(cast.warehouses)], cast.carriers[i % len(cast.carriers)]
        p = self.platform
        serial = self.next_serial()
        principal = 100_000_00

        def assets(who: LocalAccount) -> Builder:
            return self.build(p.assets, who)

        def loans(who: LocalAccount) -> Builder:
            return self.build(p.loans, who)

        def apply(ctx: dict[str, int], guarantor: LocalAccount | None, purpose: str | None, who: LocalAccount,
                  rate: int, term: int) -> list[Tx]:
            return self.tx(who, loans(who).apply(mode, ctx["asset"], lender.address, principal, rate, term,
                                                 ctx[purpose] if purpose else 0,
                                                 guarantor.address if guarantor else None),
                           capture=("loan", *self.topics["loan"]))

        def lend(ltv: int, supervisor: str | None = None) -> Step:
            return Step(lambda ctx: [*self.tx(lender, loans(lender).approve(ctx["loan"], ltv, supervisor),
                                              GAS["approveLoan"]),
                                     *self.tx(lender, loans(lender).disburse(ctx["loan"],
                                                                             payment=self.paid(principal)))],
                        "disburse")

        def spend(who: LocalAccount, to: LocalAccount, amount: int) -> Step:
            return Step(lambda ctx: self.tx(who, self.build(p.funds, who).spend(ctx["loan"], to.address, amount,
                                                                                "goods")), "spend")

        def repay(who: LocalAccount, amount: int) -> Step:
            # less than the loan owes: the LoanBook takes the whole amount
            return Step(lambda ctx: self.tx(who, loans(who).repay(ctx["loan"], amount, payment=self.paid(amount))),
                        "repay")

        asset = ("asset", *self.topics["asset"])
        if mode == LoanMode.PLEDGE:
            purpose = self.order_flow(i, "accepted", buyer=borrower, seller=other, cast=cast, amount=50_000_00,
                                      key="purpose")
            return purpose + [
                Step(lambda ctx: self.tx(warehouse, assets(warehouse).register_receipt(
                    borrower.address, f"LOT-{serial}", 100, "t", "CNY", 400_000_00), capture=asset), "register"),
                Step(lambda ctx: apply(ctx, cast.core, "purpose", borrower, 650, 90 * DAY), "apply"),
                Step(lambda ctx: self.tx(cast.core, loans(cast.core).sign_guarantee(
                    ctx["loan"], payment=self.paid(principal))), "guarantee"),
                lend(6_000, warehouse.address),
                spend(borrower, other, 50_000_00),
                repay(borrower, 30_000_00),
            ]
        if mode in (LoanMode.RECEIVABLE, LoanMode.PAYABLE):
            sale = self.order_flow(i, "invoiced", buyer=cast.core, seller=borrower, cast=cast, amount=150_000_00,
                                   key="sale")
            purpose = self.order_flow(i, "accepted", buyer=borrower, seller=other, cast=cast, amount=50_000_00,
                                      key="purpose")
            if mode == LoanMode.RECEIVABLE:
                register = [Step(lambda ctx: self.tx(borrower, assets(borrower).register_receivable(ctx["sale"]),
                                                     capture=asset), "register"),
                            Step(lambda ctx: self.tx(cast.core, assets(cast.core).confirm_receivable(ctx["asset"])),
                                 "confirm")]
                ltv = 9_000
            else:
                register = [Step(lambda ctx: self.tx(cast.core, assets(cast.core).register_payable(ctx["sale"]),
                                                     capture=asset), "register")]
                ltv = 9_500
            settle = Step(lambda ctx: self.tx(cast.core, self.build(p.orders, cast.core).settle(
                ctx["sale"], payment=self.paid(150_000_00))), "settle")
            collect = Step(lambda ctx: self.tx(borrower, loans(borrower).collect(ctx["loan"])), "collect")
            return (_merge(sale, purpose) + register
                    + [Step(lambda ctx: apply(ctx, None, "purpose", borrower, 550, 30 * DAY), "apply"),
                       lend(ltv), spend(borrower, other, 50_000_00), settle, collect])
        # prepayment: the seller borrows against goods it bought and has not received yet
        seller = cast.sellers[k % len(cast.sellers)]
        goods = self.order_flow(i, "accepted", buyer=seller, seller=cast.core, cast=cast, amount=250_000_00,
                                key="goods")
        return goods + [
            Step(lambda ctx: self.tx(seller, assets(seller).register_future_goods(ctx["goods"]), capture=asset),
                 "register"),
            Step(lambda ctx: apply(ctx, None, None, seller, 600, 60 * DAY), "apply"),
            lend(8_000),
            Step(lambda ctx: self.tx(cast.core, self.build(p.orders, cast.core).ship(ctx["goods"], carrier.address,
                                                                                     warehouse.address)), "ship"),
            Step(lambda ctx: self.tx(warehouse, self.build(p.orders, warehouse).deliver(ctx["goods"])), "deliver"),
            Step(lambda ctx: self.tx(warehouse, assets(warehouse).register_receipt(
                seller.address, f"PRE-{serial}", 50, "pcs", "CNY", 250_000_00, order_id=ctx["goods"]),
                capture=("receipt", *self.topics["asset"])), "receipt"),
            Step(lambda ctx: self.tx(lender, loans(lender).convert_collateral(ctx["loan"], ctx["receipt"])),
                 "convert"),
            repay(seller, 60_000_00),
        ]

    # -- reference workload -----------------------------------------------------------------

    def deploy_reference_token(self) -> Any:
        """A plain OpenZeppelin ERC-20 held by every trader (minted to the operator, sent out through
        the driver): the reference workload runs on it."""
        holder = self.operator
        with self.sequential():
            address = self.chain.sender.deploy(holder, "ReferenceERC20", holder.address, 10**30)
        token = self.chain.contract("ReferenceERC20", address)
        traders = self._traders()
        self.run_rounds("reference setup", [[Tx(holder, Calls(token).transfer(t.address, 10**24), GAS["erc20"])
                                             for t in traders]])
        return token

    def erc20_transfers(self, token: Any, count: int, phase: str = "ERC-20 transfers",
                        rounds: int = 1) -> PhaseStats:
        """``count`` OpenZeppelin ERC-20 transfers between traders, in ``rounds`` rounds of equal size
        (the benchmarks shape them like the business load they are compared with). Each transfer is
        built inside its round, as a business step is."""
        traders = self._traders()
        transfer = Calls(token).transfer

        def build(i: int) -> Callable[[dict[str, int]], list[Tx]]:
            return lambda ctx: [Tx(traders[i % len(traders)], transfer(traders[(i * 7 + 1) % len(traders)].address,
                                                                       1 + i % 1000), GAS["erc20"],
                                   label="ERC20.transfer")]

        size = max(1, -(-count // max(1, rounds)))
        stats = self._phase(phase)
        for start in range(0, count, size):
            stats = self.run_flows(phase, [Flow([Step(build(i), "transfer")])
                                           for i in range(start, min(count, start + size))])
        return stats

    def erc20_ceiling(self, token: Any, count: int, rounds: int = 1,
                      batch_size: int = DEFAULT_BATCH_SIZE) -> tuple[PhaseStats, PhaseStats]:
        """The node's own ceiling for the transfers ``erc20_transfers`` sends: the same ``count``
        transfers between the same traders in ``rounds`` rounds, each round signed before its clock
        starts, then sent in raw ``eth_sendRawTransaction`` batches of ``batch_size`` and mined with
        ``evm_mine`` until the pool is empty; then every receipt read back in batches of
        ``eth_getTransactionReceipt``. Needs anvil with automine off (a pipeline in manual mode).

        Returns:
            Two phases: send + mine, and send + mine + receipts (the same rounds, so the second
            includes the first); a transfer whose receipt has status 0 counts as failed.
        """
        url = str(getattr(self.chain.w3.provider, "endpoint_uri", "") or "")
        if self.chain.kind != "anvil" or not url:
            raise InputError(f"the raw ERC-20 ceiling is measured on anvil, not {self.chain.name}")
        traders = self._traders()
        session = requests.Session()
        fees = fee_fields(self.chain.w3, self.chain.fee_policy, self.chain.w3.eth.get_block("latest"))
        sent, received = PhaseStats("ERC-20 ceiling: send + mine"), PhaseStats("ERC-20 ceiling: + receipts")

        def post(body: list[dict[str, Any]]) -> list[dict[str, Any]]:
            answers: list[dict[str, Any]] = session.post(url, json=body, timeout=300).json()
            return sorted(answers, key=lambda a: int(a["id"]))

        def call(method: str, params: list[Any]) -> Any:
            return post([{"jsonrpc": "2.0", "id": 0, "method": method, "params": params}])[0]["result"]

        size = max(1, -(-count // max(1, rounds)))
        try:
            for start in range(0, count, size):
                signed: list[tuple[str, str]] = []
                who: list[tuple[str, int]] = []  # (sender, nonce) of each, to name a failure
                with self.chain.nonces.lock:
                    for i in range(start, min(count, start + size)):
                        sender, to = traders[i % len(traders)], traders[(i * 7 + 1) % len(traders)]
                        call_data = self._encoder.encode(token.abi, token.address, "transfer", (to.address, 1 + i % 1000))
                        nonce = self.chain.nonces.take(sender.address)
                        raw, tx_hash = sign_transaction(sender, self.chain.chain_id, nonce,
                                                        fees, GAS["erc20"], token.address, 0, call_data)
                        signed.append(("0x" + raw.hex(), "0x" + tx_hash.hex()))
                        who.append((sender.address, nonce))
                with self.measured(received):
                    with self.measured(sent):
                        for k in range(0, len(signed), batch_size):
                            answers = post([{"jsonrpc": "2.0", "id": j, "method": "eth_sendRawTransaction",
                                             "params": [raw]} for j, (raw, _) in enumerate(signed[k:k + batch_size])])
                            refused = [a["error"] for a in answers if "error" in a]
                            if refused:
                                raise ChainError(f"the node refused a pre-signed ERC-20 transfer: {refused[0]}")
                        pending = int(call("txpool_status", [])["pending"], 16)
                        while pending:
                            call("evm_mine", [])
                            left = int(call("txpool_status", [])["pending"], 16)
                            if left == pending:
                                raise ChainError(f"{left} pre-signed ERC-20 transfers stay unmined")
                            pending = left
                    for k in range(0, len(signed), batch_size):
                        receipts = post([{"jsonrpc": "2.0", "id": j, "method": "eth_getTransactionReceipt",
                                          "params": [h]} for j, (_, h) in enumerate(signed[k:k + batch_size])])
                        for (_, h), (signer, nonce), answer in zip(signed[k:k + batch_size], who[k:k + batch_size],
                                                                   receipts):
                            receipt = answer.get("result")
                            if receipt is not None and int(receipt["status"], 16) == 1:
                                continue
                            received.failed += 1
                            if len(received.errors) < 5:
                                why = ("reverted (status 0)" if receipt is not None else
                                       "no receipt once the pool had nothing minable left: "
                                       + ("the node holds it, queued behind a missing earlier nonce"
                                          if call("eth_getTransactionByHash", [h]) is not None
                                          else "the node dropped it"))
                                received.errors.append(f"ERC20.transfer (raw, tx {h}, {signer} nonce {nonce}): {why}")
                for stats in (sent, received):
                    stats.transactions += len(signed)
                    stats.rounds += 1
        finally:
            session.close()
        return sent, received

    def _traders(self) -> list[LocalAccount]:
        return [t for cast in self.chains for t in (cast.core, *cast.traders)]


def process_cpu_seconds(pid: int | None = None) -> float:
    """CPU time (user + system) of this process, or of process ``pid`` (from ``/proc/<pid>/stat``;
    0 where there is no such file: not Linux, or the process is gone)."""
    if pid is None:
        times = os.times()
        return times.user + times.system
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime in clock ticks


def _merge(first: list[Step], second: list[Step]) -> list[Step]:
    """Two independent step lists run side by side (step k of both in round k)."""
    merged = []
    for k in range(max(len(first), len(second))):
        parts = [s for s in (first[k] if k < len(first) else None, second[k] if k < len(second) else None) if s]
        merged.append(Step(_both(parts), "+".join(s.name for s in parts)))
    return merged


def _both(parts: list[Step]) -> Callable[[dict[str, int]], list[Tx]]:
    return lambda ctx: [tx for s in parts for tx in s.build(ctx)]


def _constant(txs: list[Tx]) -> Callable[[dict[str, int]], list[Tx]]:
    return lambda ctx: txs


def _fn_name(call: Any) -> str:
    """The function name of a built write's call (a ``ContractCall``, or web3's ``ContractFunction``)."""
    return str(call.fn_name)


def _resolve(path: str) -> Callable[[Load, int], list[Flow]]:
    module, _, name = path.partition(":")
    function: Callable[[Load, int], list[Flow]] = getattr(importlib.import_module(module), name)
    return function


def _topic(contract: Any, event: str) -> bytes:
    return bytes(HexBytes(getattr(contract.events, event)().topic))
