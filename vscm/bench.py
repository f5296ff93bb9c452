"""Benchmarks: `make bench` / `python -m vscm.bench [--quick] [--out BENCHMARKS.md] [--readme README.md]`.

The report is a list of sections (``SECTIONS``), each measured by one function and rendered as a
Markdown table with a short text:

* throughput: business transactions per second end to end (building each step, the oracle's signed
  reports included, to the last receipt) through the pipeline on anvil and on the embedded chain,
  next to OpenZeppelin ERC-20 transfers through the same pipeline in the same run (the ratio), next
  to the client's one-at-a-time ``Sender`` and naive web3 ``transact()``, with the client's and the
  node's CPU time per transaction, and anvil's own ceiling for the same transfers (pre-signed raw
  batches);
* scaling: per-operation gas and throughput of order lifecycles as the order book grows from 1,000
  to 100,000 orders, next to ERC-20 transfers at the same state size (the node's share);
* gas: the exact gas of every state-changing function and financing step (embedded chain, so the
  figures are deterministic), next to OpenZeppelin ERC-20 transfer and ERC-721 mint.

``--quick`` runs every section at small sizes (the CI smoke test): the same code, numbers that mean
little. Speed is measured here and never asserted anywhere.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform as host
import re
import shlex
import sys
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_utils import keccak

from vscm.chain.backends import connect
from vscm.chain.deploy import deploy_platform
from vscm.chain.revert import contract_name_for_abi
from vscm.client.financing import DAY, Origination, originate
from vscm.client.records import DocKind, LoanMode, Role, Tier
from vscm.client.workflows import doc_hash
from vscm.demo import Cast
from vscm.load import Load, NaiveDriver, PhaseStats, Population, SenderDriver
from vscm.oracle.load import ROUNDS, SAMPLES

#: The sections of the report, in order: ``"module:function"``, each function taking ``Options``
#: and returning a ``Section``. Adding a section is one line here.
SECTIONS: list[str] = [
    "vscm.bench:throughput_section",
    "vscm.bench:scaling_section",
    "vscm.bench:gas_section",
    "vscm.oracle.bench:section",
    "vscm.audit.bench:section",
    "vscm.underwriting.backtest:section",
    "vscm.console.bench:section",
    "vscm.cli.bench:section",
    "vscm.network_bench:section",
    "vscm.client.certificates_bench:section",
]

README_START = "<!-- bench:start -->"
README_END = "<!-- bench:end -->"
#: Block gas limit of the chains measured (anvil's and eth-tester's default, and a common Besu
#: setting): what bounds a real network's throughput, whatever the client does.
#: The bench bank's mint cap: above everything the bench mints.
BENCH_MINT_CAP = 100_000_000_00
BLOCK_GAS_LIMIT = 30_000_000
#: Block period assumed for the chain's own ceiling (Besu QBFT's default is 2 s... 5 s; 2 s here).
BLOCK_SECONDS = 2
#: Block gas limit of the scaling run's anvil. anvil's cost per block grows with the state (about a
#: second a block by 50,000 orders on 2 cores, at 30M gas), and its cost per receipt lookup grows
#: with the number of transactions in the block (a 5,000-transaction block made collecting receipts
#: the bottleneck): blocks of 300M gas (about 1,500 placements) keep both small. Gas per operation
#: does not depend on the block size.
SCALING_BLOCK_GAS_LIMIT = 300_000_000


@dataclass(frozen=True)
class Options:
    """How big to run: ``quick`` for CI-sized runs."""

    quick: bool = False


@dataclass(frozen=True)
class Section:
    """One part of the report: a title, what was measured and how, and a Markdown table."""

    title: str
    text: str
    table: str

    def render(self) -> str:
        return f"## {self.title}\n\n{self.text.strip()}\n\n{self.table.strip()}\n"


@dataclass(frozen=True)
class Sizes:
    population: Population
    orders: int  # order lifecycles through the pipeline
    per_mode: int  # loans of each financing mode through the pipeline
    single_orders: int  # the same through Sender and naive transact(), one at a time
    single_per_mode: int
    extra: int = 1  # flows of each vscm.load.EXTRA_FLOWS phase through the pipeline (watched receipts)


def sizes(kind: str, options: Options) -> Sizes:
    if options.quick:
        # the smallest population a load accepts (one chain of 5 SMEs): a smoke test of every path
        return Sizes(Population(chains=1, smes=5, lenders=1), orders=3, per_mode=1, single_orders=1,
                     single_per_mode=0, extra=1)
    if kind == "embedded":
        return Sizes(Population(chains=2, smes=20, lenders=2), orders=20, per_mode=1, single_orders=5,
                     single_per_mode=0, extra=2)
    return Sizes(Population(chains=20, smes=500, lenders=10), orders=1_000, per_mode=20, single_orders=10,
                 single_per_mode=1, extra=20)


def bench_chain(kind: str, block_gas_limit: int = BLOCK_GAS_LIMIT) -> Any:
    """A fresh chain to load. anvil runs with a zero base fee (``--base-fee 0``), as a permissioned
    network with free gas does: under sustained full blocks the EIP-1559 base fee would otherwise
    climb 12.5 % a block and price a long round out; the block gas limit stays 30M. It keeps the
    states of the last 64 blocks only (``--prune-history 64``): by default anvil keeps every block's
    state in memory, several GB by 100,000 orders; the pipeline reads revert reasons right after a
    round, well within those blocks."""
    if kind == "anvil":
        from vscm.chain.anvil import AnvilNode

        return connect(AnvilNode.start(extra_args=["--base-fee", "0", "--prune-history", "64",
                                                   "--gas-limit", str(block_gas_limit)]))
    return connect(kind)


class GasRecorder:
    """Wraps a chain's Sender and records the gas of each transaction under a label."""

    def __init__(self, sender: Any) -> None:
        self._sender = sender
        self.gas: OrderedDict[str, int] = OrderedDict()
        self.label: str | None = None
        #: when set, every transaction is recorded as "<prefix>: Contract.function" (first one counts)
        self.prefix: str | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sender, name)

    def transact(self, account: Any, fn: Any = None, **kwargs: Any) -> Any:
        receipt = self._sender.transact(account, fn, **kwargs)
        if self.label:
            key = self.label
        elif fn is None:
            key = "value transfer"
        else:
            name = f"{contract_name_for_abi(fn.contract_abi)}.{fn.fn_name}"
            key = f"{self.prefix}: {name}" if self.prefix else name
        self.gas.setdefault(key, int(receipt["gasUsed"]))
        self.label = None
        return receipt

    def note(self, label: str) -> GasRecorder:
        self.label = label
        return self


#: A receivable financed end to end (issue 16; Huma Finance v2's comparable receivable factoring path,
#: create -> approve -> drawdown -> payments, costs 1,455,481 gas): the sum of these steps' rows.
RECEIVABLE_STEPS = (
    "AssetRegistry.registerReceivable", "AssetRegistry.confirmReceivable", "LoanBook.applyForLoan",
    "LoanBook.approve", "PlatformCash.approve", "LoanBook.disburse", "OrderBook.settle", "LoanBook.collect",
)
RECEIVABLE_PATH = ("receivable path, end to end (register, confirm, apply, approve, cash approve, disburse, "
                   "settle, collect)")


def measure_core() -> OrderedDict[str, int]:
    cast = Cast.from_seed("vscm-bench")
    base = connect("embedded")
    for name in cast.__dataclass_fields__:
        base.fund(getattr(cast, name).address, 10**20)
    chain = GasRecorder(base.sender)
    base.sender = chain  # type: ignore[assignment]  # a recording proxy of the Sender
    p = deploy_platform(base, cast.operator, manifest=False, network="bench")
    now = base.now()
    year = now + 365 * 86400
    m = p.members
    chain.note("MemberRegistry.applyForMembership (SME)")
    m.as_(cast.bank).apply([Role.FINANCIER], Tier.SME, keccak(text="c"), year, "Bank")
    chain.note("MemberRegistry.approveMember")
    m.as_(cast.operator).approve(cast.bank.address)
    chain.note("PlatformCash.setMintCap")
    p.cash("CNY").as_(cast.operator).set_mint_cap(cast.bank.address, BENCH_MINT_CAP)
    m.as_(cast.auditor).apply([Role.AUDITOR], Tier.SME, keccak(text="c"), year, "Auditor")
    m.as_(cast.operator).approve(cast.auditor.address)
    chain.note("MemberRegistry.applyForMembership (core)")
    m.as_(cast.core).apply([Role.MANUFACTURER], Tier.CORE, keccak(text="c"), year, "Core")
    chain.note("MemberRegistry.attest (first)")
    m.as_(cast.bank).attest(cast.core.address, Role.FINANCIER)
    chain.note("MemberRegistry.attest (second, activates)")
    m.as_(cast.auditor).attest(cast.core.address, Role.AUDITOR)
    for who, role in (("supplier_a", Role.SUPPLIER), ("supplier_b", Role.SUPPLIER), ("seller", Role.SELLER),
                      ("warehouse", Role.WAREHOUSE), ("carrier", Role.LOGISTICS)):
        m.as_(getattr(cast, who)).apply([role], Tier.SME, keccak(text=who), year, who)
        m.as_(cast.operator).approve(getattr(cast, who).address)
    chain.note("MemberRegistry.updateCredential")
    m.as_(cast.operator).update_credential(cast.carrier.address, keccak(text="c2"), year + 1)
    chain.note("MemberRegistry.createChain")
    cid = m.as_(cast.core).create_chain("Chain").id
    chain.note("MemberRegistry.requestJoin")
    m.as_(cast.supplier_a).request_join(cid)
    chain.note("MemberRegistry.approveJoin")
    m.as_(cast.core).approve_join(cid, cast.supplier_a.address)
    for who in ("supplier_b", "seller"):
        m.as_(getattr(cast, who)).request_join(cid)
        m.as_(cast.core).approve_join(cid, getattr(cast, who).address)
    chain.note("PlatformCash.mint")
    p.cash("CNY").as_(cast.bank).mint(cast.core.address, 1_000_000_00, keccak(text="d1"))
    chain.note("PlatformCash.transfer")
    p.cash("CNY").as_(cast.core).transfer(cast.seller.address, 1_000_00)
    chain.note("PlatformCash.approve")
    p.cash("CNY").as_(cast.core).approve(p.orders.address, 10_000_00)
    p.cash("CNY").as_(cast.seller).transfer(cast.bank.address, 500_00)
    chain.note("PlatformCash.burn")
    p.cash("CNY").as_(cast.bank).burn(500_00, keccak(text="w1"))
    o = p.orders
    chain.note("OrderBook.place (domestic)")
    oid = o.as_(cast.core).place(cast.supplier_a.address, cid, "CNY", 10_000_00, now + 86400 * 30).id
    chain.note("OrderBook.attach")
    o.as_(cast.core).attach(oid, DocKind.CONTRACT, doc_hash("contract"))
    chain.note("OrderBook.accept")
    o.as_(cast.supplier_a).accept(oid)
    chain.note("OrderBook.ship")
    o.as_(cast.supplier_a).ship(oid, cast.carrier.address, cast.warehouse.address)
    chain.note("OrderBook.deliver")
    o.as_(cast.warehouse).deliver(oid)
    chain.note("OrderBook.invoice")
    o.as_(cast.supplier_a).invoice(oid, "INV-1", doc_hash("invoice"))
    chain.note("OrderBook.settle")
    o.as_(cast.core).settle(oid)
    chain.note("OrderBook.place (overseas)")
    oid2 = o.as_(cast.seller).place(cast.core.address, cid, "CNY", 5_000_00, now + 86400 * 30, True, "FOB", "KZ").id
    chain.note("OrderBook.cancel")
    o.as_(cast.core).cancel(oid2)
    oid3 = o.as_(cast.core).place(cast.supplier_b.address, cid, "CNY", 1_000_00, now + 86400 * 30).id
    o.as_(cast.supplier_b).accept(oid3)
    o.as_(cast.supplier_b).ship(oid3, cast.carrier.address, cast.warehouse.address)
    chain.note("OrderBook.dispute")
    o.as_(cast.core).dispute(oid3, doc_hash("late"))
    chain.note("OrderBook.resolveDispute")
    o.as_(cast.operator).resolve_dispute(oid3, False)
    measure_financing(chain, p, cast, cid)
    chain.gas[RECEIVABLE_PATH] = sum(chain.gas[f"receivable: {step}"] for step in RECEIVABLE_STEPS)
    chain.note("MemberRegistry.suspend")
    m.as_(cast.operator).suspend(cast.seller.address, keccak(text="r"))
    chain.note("MemberRegistry.reinstate")
    m.as_(cast.operator).reinstate(cast.seller.address)
    chain.note("MemberRegistry.leaveChain")
    m.as_(cast.supplier_b).leave_chain()
    chain.note("MemberRegistry.evict")
    m.as_(cast.operator).evict(cast.supplier_b.address, keccak(text="r"))
    chain.note("MemberRegistry.evictChain")
    m.as_(cast.operator).evict_chain(cid, keccak(text="evidence"))

    # References: plain OpenZeppelin tokens, same chain, same run.
    holder = cast.operator
    erc20 = base.sender.deploy(holder, "ReferenceERC20", holder.address, 10**24)
    erc721 = base.sender.deploy(holder, "ReferenceERC721")
    from vscm.chain.artifacts import load

    t20 = base.w3.eth.contract(address=erc20, abi=load("ReferenceERC20").abi)
    t721 = base.w3.eth.contract(address=erc721, abi=load("ReferenceERC721").abi)
    chain.note("reference: OpenZeppelin ERC-20 transfer (to a fresh account)")
    chain.transact(holder, t20.functions.transfer(Account.from_key(keccak(text="x")).address, 10**18))
    chain.note("reference: OpenZeppelin ERC-721 mint (fresh token)")
    chain.transact(holder, t721.functions.mint(holder.address, 1))
    return chain.gas


def measure_financing(rec: GasRecorder, p: Any, cast: Cast, cid: int) -> None:
    """Each step of each financing mode, labelled by mode (the first call of each kind is recorded)."""
    chain = p.chain
    bank, core, wh, sup_a, sup_b, seller = cast.bank, cast.core, cast.warehouse, cast.supplier_a, cast.supplier_b, \
        cast.seller
    p.cash("CNY").as_(bank).mint(bank.address, 10_000_000_00, keccak(text="bench:reserves"))
    for who in (sup_a, sup_b, seller, core):  # the core guarantees: it commits each loan's principal
        p.cash("CNY").as_(bank).mint(who.address, 1_000_000_00, keccak(text=f"bench:{who.address}"))
    due = chain.timestamp() + 365 * 86400

    def order(buyer: Any, seller_: Any, amount: int, stage: str) -> int:
        rec.prefix = None
        oid = p.orders.as_(buyer).place(seller_.address, cid, "CNY", amount, due).id
        p.orders.as_(seller_).accept(oid)
        if stage in ("delivered", "invoiced"):
            p.orders.as_(seller_).ship(oid, cast.carrier.address, wh.address)
            p.orders.as_(wh).deliver(oid)
        if stage == "invoiced":
            p.orders.as_(seller_).invoice(oid, f"B-{oid}", doc_hash(f"bench-inv-{oid}"))
        return oid

    # 1. pledge
    purpose = order(sup_a, sup_b, 100_000_00, "accepted")
    rec.prefix = "pledge"
    lot = p.assets.as_(wh).register_receipt(sup_a.address, "B-LOT-1", 100, "t", "CNY", 400_000_00).id
    loan = originate(p, Origination(LoanMode.PLEDGE, lot, sup_a, bank, 200_000_00, 650, 90 * DAY, 6_000, purpose,
                                    guarantor=core, supervisor=wh.address))
    p.funds.as_(sup_a).spend(loan, sup_b.address, 100_000_00, "goods")
    p.loans.as_(sup_a).repay(loan, 50_000_00)
    rec.prefix = "pledge (final repayment)"
    p.loans.as_(sup_a).repay(loan, p.loans.loan(loan).outstanding_now + 1_00)
    # 2. receivable
    sale = order(core, sup_b, 180_000_00, "invoiced")
    purpose = order(sup_b, sup_a, 50_000_00, "accepted")
    rec.prefix = "receivable"
    recv = p.assets.as_(sup_b).register_receivable(sale).id
    p.assets.as_(core).confirm_receivable(recv)
    loan = originate(p, Origination(LoanMode.RECEIVABLE, recv, sup_b, bank, 150_000_00, 550, 30 * DAY, 9_000, purpose))
    p.funds.as_(sup_b).spend(loan, sup_a.address, 50_000_00, "goods")
    p.orders.as_(core).settle(sale)
    p.loans.as_(sup_b).collect(loan)
    # 3. prepayment
    goods = order(seller, core, 250_000_00, "accepted")
    rec.prefix = "prepayment"
    right = p.assets.as_(seller).register_future_goods(goods).id
    loan = originate(p, Origination(LoanMode.PREPAYMENT, right, seller, bank, 200_000_00, 600, 60 * DAY, 8_000))
    rec.prefix = None
    p.orders.as_(core).ship(goods, cast.carrier.address, wh.address)
    p.orders.as_(wh).deliver(goods)
    rec.prefix = "prepayment"
    stock = p.assets.as_(wh).register_receipt(seller.address, "B-LOT-2", 50, "pcs", "CNY", 250_000_00, order_id=goods).id
    p.loans.as_(bank).convert_collateral(loan, stock)
    p.loans.as_(seller).repay(loan, 100_000_00)
    # 4. payable
    parts = order(core, sup_a, 90_000_00, "invoiced")
    purpose = order(sup_a, sup_b, 30_000_00, "accepted")
    rec.prefix = "payable"
    payable = p.assets.as_(core).register_payable(parts).id
    loan = originate(p, Origination(LoanMode.PAYABLE, payable, sup_a, bank, 85_000_00, 500, 30 * DAY, 9_500, purpose))
    p.funds.as_(sup_a).spend(loan, sup_b.address, 30_000_00, "goods")
    p.orders.as_(core).settle(parts)
    p.loans.as_(sup_a).collect(loan)
    # default covered by the guarantor
    purpose = order(sup_b, sup_a, 20_000_00, "accepted")
    rec.prefix = "default (second pledge)"
    lot = p.assets.as_(wh).register_receipt(sup_b.address, "B-LOT-3", 10, "t", "CNY", 100_000_00).id
    loan = originate(p, Origination(LoanMode.PLEDGE, lot, sup_b, bank, 20_000_00, 700, 30 * DAY, 5_000, purpose,
                                    guarantor=core, supervisor=wh.address))
    chain.time_travel(40 * DAY)
    rec.prefix = "default"
    p.loans.as_(bank).mark_default(loan)
    rec.prefix = None


def render(gas: OrderedDict[str, int]) -> str:
    lines = [
        "| step | gas |",
        "|---|---:|",
        *(f"| {name} | {value:,} |" for name, value in gas.items()),
    ]
    return "\n".join(lines)


# -- sections ---------------------------------------------------------------------------------


def gas_section(options: Options) -> Section:
    """Exact gas of every state-changing function and financing step (the same in quick mode)."""
    return Section(
        "Gas of each state-changing function and each financing step (embedded chain, Cancun)",
        "Each figure is the first call of its kind in the benchmark scenario (cold storage where a\n"
        "real first call would be cold). Settlement and repayments include their ERC-20 transfers; a\n"
        "facade call that first approves cash shows the approval as `PlatformCash.approve`. Gas is\n"
        "exact and deterministic; plain OpenZeppelin ERC-20 transfer and ERC-721 mint, measured in the\n"
        "same run, are the references. The receivable path row is the sum of its steps' rows (Huma\n"
        "Finance v2's comparable receivable factoring path costs 1,455,481 gas).",
        render(measure_core()),
    )


@dataclass
class Throughput:
    chain: str
    path: str
    business: list[PhaseStats]
    erc20: PhaseStats
    #: anvil's own ceiling for the same ERC-20 transfers (pre-signed raw batches): send + mine, and
    #: with every receipt read back (pipeline rows on anvil only)
    ceiling: tuple[PhaseStats, PhaseStats] | None = None

    @property
    def business_tps(self) -> float:
        """End to end: building the steps (the oracle's signed reports too) to the last receipt."""
        seconds = sum(p.seconds for p in self.business)
        return self.business_transactions / seconds if seconds else 0.0

    @property
    def business_driver_tps(self) -> float:
        """Only the time inside the driver (sign, send, mine, receipts): what earlier READMEs quoted."""
        seconds = sum(p.driver_seconds for p in self.business)
        return self.business_transactions / seconds if seconds else 0.0

    @property
    def business_transactions(self) -> int:
        return sum(p.transactions for p in self.business)

    def business_cpu_us(self, which: str) -> float | None:
        spent = [p.client_cpu if which == "client" else p.node_cpu for p in self.business]
        if any(s is None for s in spent) or not self.business_transactions:
            return None
        return 1e6 * sum(s or 0.0 for s in spent) / self.business_transactions

    @property
    def failed(self) -> int:
        return sum(p.failed for p in self.business) + self.erc20.failed + (self.ceiling[1].failed if self.ceiling else 0)


def measure_throughput(kind: str, options: Options) -> tuple[list[Throughput], dict[str, float]]:
    """Business load and ERC-20 transfers on one chain, through the pipeline, ``Sender`` and naive
    ``transact()``. Returns the rows and the mean gas per business and per ERC-20 transaction."""
    size = sizes(kind, options)
    rows: list[Throughput] = []
    with bench_chain(kind) as chain:
        load = Load.setup(chain, size.population)
        token = load.deploy_reference_token()
        business = [load.run_orders(size.orders, phase="orders"),
                    load.run_financing(size.per_mode, phase="financing"),
                    *load.run_extra(size.extra)]  # vscm.load.EXTRA_FLOWS: the oracle's batches
        # As many transfers as the business load sent, in as many rounds: the same shape of work.
        count, rounds = sum(p.transactions for p in business), sum(p.rounds for p in business)
        erc20 = load.erc20_transfers(token, count, phase="ERC-20", rounds=rounds)
        # The node's own ceiling for the same transfers, right after: pre-signed, raw batches.
        ceiling = load.erc20_ceiling(token, count, rounds=rounds) if kind == "anvil" else None
        rows.append(Throughput(kind, "pipeline (batched, local signing)", business, erc20, ceiling))
        progress(f"{kind} pipeline", rows[-1])
        pipe = getattr(load.driver, "pipe", None)
        if pipe is not None:
            pipe.close()  # automine back on: the one-at-a-time paths wait for each receipt
        for name, driver in (("Sender (one at a time, local signing)", SenderDriver(chain)),
                             ("naive web3 transact() (node signs)", NaiveDriver(chain))):
            load.driver = driver
            business = [load.run_orders(size.single_orders, phase=f"orders / {name}"),
                        load.run_financing(size.single_per_mode, phase=f"financing / {name}")]
            erc20 = load.erc20_transfers(token, sum(p.transactions for p in business), phase=f"ERC-20 / {name}")
            rows.append(Throughput(kind, name, business, erc20))
            progress(f"{kind} {name}", rows[-1])
    pipeline = rows[0]
    gas_business = [g for p in pipeline.business for values in p.gas.values() for g in values]
    gas_erc20 = [g for values in pipeline.erc20.gas.values() for g in values]
    means = {"business": sum(gas_business) / len(gas_business), "erc20": sum(gas_erc20) / len(gas_erc20)}
    return rows, means


def progress(what: str, row: Throughput) -> None:
    ceiling = f", raw ceiling {row.ceiling[1].tps:,.0f}/s with receipts" if row.ceiling else ""
    print(f"  {what}: {row.business_transactions} business tx at {row.business_tps:,.0f}/s end to end, "
          f"{row.erc20.transactions} ERC-20 at {row.erc20.tps:,.0f}/s{ceiling}", file=sys.stderr, flush=True)


def us(value: float | None) -> str:
    """CPU microseconds per transaction for a table cell ("in process" when the node is this process)."""
    return "in process" if value is None else f"{value:,.0f}"


def throughput_section(options: Options) -> Section:
    results: list[Throughput] = []
    gas: dict[str, float] = {}
    for kind in ("anvil", "embedded"):
        rows, means = measure_throughput(kind, options)
        results += rows
        gas = gas or means
    lines = [
        ("| chain | path | business tx | business tx/s end to end | (in the driver) | ERC-20 tx/s end to end | "
        "business / ERC-20 | client CPU µs per business tx | per ERC-20 tx | node CPU µs per business tx | "
        "per ERC-20 tx | failed |"),
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in results:
        ratio = row.business_tps / row.erc20.tps if row.erc20.tps else 0.0
        lines.append(f"| {row.chain} | {row.path} | {row.business_transactions:,} | {row.business_tps:,.0f} | "
                     f"{row.business_driver_tps:,.0f} | {row.erc20.tps:,.0f} | {ratio:.2f} | "
                     f"{us(row.business_cpu_us('client'))} | {us(row.erc20.cpu_us('client'))} | "
                     f"{us(row.business_cpu_us('node'))} | {us(row.erc20.cpu_us('node'))} | {row.failed} |")
    lines += ["", ("| anvil's ERC-20 ceiling (the same transfers, pre-signed, raw batches) | tx/s | "
              "node CPU µs per tx | the pipeline's ERC-20 tx/s / this |"), "|---|---:|---:|---:|"]
    for row in results:
        if row.ceiling is None:
            continue
        for what, stats in zip(("send + mine", "send + mine + every receipt read back"), row.ceiling):
            share = row.erc20.tps / stats.tps if stats.tps else 0.0
            lines.append(f"| {what} | {stats.tps:,.0f} | {us(stats.cpu_us('node'))} | {share:.2f} |")
    per_block_business = BLOCK_GAS_LIMIT / gas["business"]
    per_block_erc20 = BLOCK_GAS_LIMIT / gas["erc20"]
    lines += [
        "",
        "| the chain's own limit | business | ERC-20 transfer |",
        "|---|---:|---:|",
        f"| mean gas per transaction (anvil, pipeline run) | {gas['business']:,.0f} | {gas['erc20']:,.0f} |",
        (f"| transactions per {BLOCK_GAS_LIMIT / 1e6:.0f}M-gas block | {per_block_business:,.0f} | "
        f"{per_block_erc20:,.0f} |"),
        (f"| tx/s at one block every {BLOCK_SECONDS} s | {per_block_business / BLOCK_SECONDS:,.0f} | "
        f"{per_block_erc20 / BLOCK_SECONDS:,.0f} |"),
    ]
    errors = [f"{row.chain} / {row.path}: {e}" for row in results
              for p in (*row.business, row.erc20, *(row.ceiling[1:] if row.ceiling else ()))
              for e in p.errors]
    if errors:
        lines += ["", "Failures (first of each phase):", "", *(f"- {e}" for e in errors)]
    anvil = sizes("anvil", options)
    embedded = sizes("embedded", options)
    text = f"""
Business transactions are the platform's own work, generated by `vscm.load`: order lifecycles
(place, contract document, accept, ship, bill of lading, deliver, invoice, approve + settle: 9
transactions an order) and loans of the four financing modes from application to repayment or
collection (with their orders, asset registration, guarantee, disbursement and spending of the loan
money), and the IoT oracle's batches (`vscm.oracle.load`: a warehouse's receipt for an SME's lot, its
load cell, temperature logger and door sensor registered and watched, then {ROUNDS} reports of
{3 * SAMPLES[0]} to {3 * SAMPLES[1]} device-signed readings each, signed by 2 of 3 oracle nodes and published by the oracle
member). The reference is OpenZeppelin ERC-20 `transfer` between the same parties, sent through the
same path on the same chain in the same run, as many transactions as the business load had and in
as many rounds (a round is one `submit` ... `wait`: its transactions are signed, sent in batches,
mined and their receipts collected): the ratio is the figure that matters. The rates are end to end:
the clock runs from building each step's transactions (for the oracle: the devices' signed readings,
each node's checks and EIP-712 signature) through signing, sending, mining and every receipt to
reading the ids the next step needs from their events; *(in the driver)* leaves the building out, as
earlier versions of this table did. The pipeline hands each batch of 200 signed transactions to the
node while it signs the next. `Sender` and naive `transact()` send one transaction, wait for its
receipt (anvil automines one block per transaction) and only then send the next.

Wall rates vary 2.5x between runs on a shared 2-core machine; CPU time per transaction varies far
less: the client's is this process's (`os.times()`, user + system), the node's is anvil's
(`/proc/<pid>/stat`); the embedded chain runs in this process, its work is in the client's figure.
The ceiling table is anvil's own limit for the pipeline's ERC-20 transfers, measured right after
them on the same chain: the same transfers in the same rounds, each round signed before its clock
starts, sent in raw `eth_sendRawTransaction` batches of 200 and mined with `evm_mine` until the pool
is empty, then every receipt read back in batches; the last column is the pipeline's ERC-20 rate
over it.

- anvil: population of {anvil.population.chains} supply chains, {anvil.population.smes} SMEs and
  {anvil.population.lenders} lenders (onboarded through the pipeline); pipeline: {anvil.orders:,} orders,
  {anvil.per_mode} loans per mode and {anvil.extra} watched receipts, JSON-RPC batches, automine off and
  `evm_mine` per block; `Sender` and naive `transact()`: {anvil.single_orders} orders and
  {anvil.single_per_mode} loan(s) per mode, automine on.
- embedded (eth-tester/py-evm, in process, one transaction a block): {embedded.population.chains} chains,
  {embedded.population.smes} SMEs, {embedded.population.lenders} lenders; pipeline: {embedded.orders} orders,
  {embedded.per_mode} loans per mode and {embedded.extra} watched receipts; the others: {embedded.single_orders}
  orders, {embedded.single_per_mode} loan(s) per mode.
- The second table is the chain's ceiling whatever the client does: how many of each fit in a block of
  {BLOCK_GAS_LIMIT:,} gas, and what that allows at one block every {BLOCK_SECONDS} s (a QBFT network).
"""
    return Section("Throughput: business transactions per second", text, "\n".join(lines))


#: Order-book sizes of the scaling section (full run).
SCALING_LEVELS = (1_000, 10_000, 100_000)
SCALING_STEPS = ("OrderBook.place", "OrderBook.attach", "OrderBook.accept", "OrderBook.ship",
                 "OrderBook.deliver", "OrderBook.invoice", "PlatformCash.approve", "OrderBook.settle")


def scaling_section(options: Options) -> Section:
    levels = [100, 300] if options.quick else list(SCALING_LEVELS)
    sample = 10 if options.quick else 200
    fill_round = 2_000
    rows: list[str] = []
    curves: list[str] = []
    with bench_chain("anvil", SCALING_BLOCK_GAS_LIMIT) as chain:
        load = Load.setup(chain, Population(chains=1, smes=5, lenders=1) if options.quick else Population())
        token = load.deploy_reference_token()
        orders = load.platform.orders
        for level in levels:
            fill = PhaseStats(f"fill to {level}")
            while orders.count() + sample < level:
                step = load.fill_orders(min(fill_round, level - sample - orders.count()), phase=fill.name)
                fill = step
            lifecycle = load.run_orders(sample, phase=f"lifecycles at {level}")
            # The reference at the same state size: as many ERC-20 transfers in as many rounds.
            erc20 = load.erc20_transfers(token, lifecycle.transactions, phase=f"ERC-20 at {level}",
                                         rounds=lifecycle.rounds)
            print(f"  {orders.count():,} orders: lifecycles {lifecycle.tps:,.0f} tx/s, ERC-20 {erc20.tps:,.0f} tx/s, "
                  f"placements {fill.tps:,.0f} tx/s", file=sys.stderr, flush=True)
            gas = lifecycle.mean_gas()
            per_order = sum(gas[name] * (2 if name == "OrderBook.attach" else 1) for name in SCALING_STEPS)
            cells = " | ".join(f"{gas.get(name, 0):,.0f}" for name in SCALING_STEPS)
            ratio = lifecycle.tps / erc20.tps if erc20.tps else 0.0
            curves.append(f"| {orders.count():,} | {lifecycle.tps:,.0f} | {erc20.tps:,.0f} | {ratio:.2f} | "
                          f"{us(lifecycle.cpu_us('node'))} | {us(erc20.cpu_us('node'))} | "
                          f"{us(lifecycle.cpu_us('client'))} | {us(erc20.cpu_us('client'))} | {fill.tps:,.0f} | "
                          f"{lifecycle.failed + erc20.failed + fill.failed} |")
            rows.append(f"| {orders.count():,} | {cells} | {per_order:,.0f} |")
    header = " | ".join(name.split(".")[1] for name in SCALING_STEPS)
    table = "\n".join([
        ("| orders on chain | lifecycle tx/s | ERC-20 tx/s (same chain, same state) | lifecycle / ERC-20 | "
        "node CPU µs per lifecycle tx | per ERC-20 tx | client CPU µs per lifecycle tx | per ERC-20 tx | "
        "placement tx/s | failed |"),
        "|" + "---:|" * 10,
        *curves,
        "",
        f"| orders on chain | {header} | gas per order |",
        "|" + "---:|" * (len(SCALING_STEPS) + 2),
        *rows,
    ])
    text = f"""
The order book is grown with placements (one transaction each, through the pipeline in rounds of
{fill_round:,}) to each size, then {sample} orders run their whole lifecycle (9 transactions each) at that
size; gas is the mean over those {sample} (`attach` is sent twice an order, counted twice in *gas per
order*). Storage is keyed by id, so gas and throughput should stay flat as the book grows. anvil,
automine off, base fee 0, the last 64 block states kept, the same population as the throughput
section, and blocks of {SCALING_BLOCK_GAS_LIMIT:,} gas: anvil's cost per block grows with its state
(about a second a block by 50,000 orders here, in 30M-gas blocks), which would measure anvil rather
than the platform; much larger blocks make its receipt lookups slow instead. Gas per operation does
not depend on the block size.

To separate the node's cost from the platform's, each size also runs the reference: as many
OpenZeppelin ERC-20 transfers as the lifecycles sent, in as many rounds, on the same chain right
after them, so at the same state size. Whatever slows both curves alike is the node's per-block cost
of a larger state; *lifecycle / ERC-20* is what the platform's own contracts cost beyond it. CPU
time per transaction (this process from `os.times()`, anvil's from `/proc/<pid>/stat`) varies far
less between runs on a shared machine than the wall rates.
"""
    return Section("Scaling: per-operation gas and throughput from 1,000 to 100,000 orders", text, table)


# -- the report -------------------------------------------------------------------------------


def machine() -> str:
    cpu = host.processor() or host.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(next(x for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal"))
                  .split()[1])
        memory = f", {kib / 1024 / 1024:.1f} GiB RAM"
    except (OSError, StopIteration, ValueError):
        pass
    return (f"{cpu}, {os.cpu_count()} cores{memory}; {host.system()} {host.release()}; "
            f"Python {host.python_version()}; anvil {anvil_version()}; RLP: {rlp_backend()}")


def rlp_backend() -> str:
    """Which encoder pyrlp runs (the pipeline's transactions and the audit's receipts are pyrlp's)."""
    import rlp.codec

    return "pyrlp with its rusty-rlp backend" if hasattr(rlp.codec, "rusty_rlp") else "pyrlp (pure Python)"


def anvil_version() -> str:
    import subprocess

    from vscm.chain.anvil import anvil_binary

    try:
        out = subprocess.run([str(anvil_binary()), "--version"], check=False, capture_output=True, text=True, timeout=10).stdout
    except Exception:  # noqa: BLE001 - the version is informative only
        return "unknown"
    return out.splitlines()[0].removeprefix("anvil Version: ").strip() if out else "unknown"


def section_function(path: str) -> Callable[[Options], Section]:
    module, _, name = path.partition(":")
    function: Callable[[Options], Section] = getattr(importlib.import_module(module), name)
    return function


def report(options: Options, command: str) -> tuple[str, list[Section]]:
    sections = []
    started = time.perf_counter()
    for path in SECTIONS:
        begun = time.perf_counter()
        sections.append(section_function(path)(options))
        print(f"{path}: {time.perf_counter() - begun:.1f} s", file=sys.stderr)
    elapsed = time.perf_counter() - started
    mode = "quick (CI smoke test: small sizes, numbers not meaningful)" if options.quick else "full"
    doc = "\n".join([
        "# Benchmarks",
        "",
        f"Command: `{command}` ({mode}); the run took {elapsed / 60:.1f} min.",
        f"Machine: {machine()}.",
        "Gas is exact and deterministic; speed is measured here and never asserted in tests.",
        "",
        *(section.render() for section in sections),
    ])
    return doc, sections


def update_readme(path: Path, sections: list[Section]) -> None:
    """Replace what lies between the bench markers in ``path`` with the sections' tables."""
    text = path.read_text()
    if README_START not in text or README_END not in text:
        raise SystemExit(f"{path} has no {README_START} ... {README_END} markers to write the tables between")
    body = "\n".join(f"### {s.title}\n\n{s.table.strip()}\n" for s in sections)
    pattern = re.compile(re.escape(README_START) + ".*?" + re.escape(README_END), re.DOTALL)
    path.write_text(pattern.sub(lambda _: f"{README_START}\n{body}\n{README_END}", text))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vscm.bench")
    parser.add_argument("--out", type=Path, default=Path("BENCHMARKS.md"))
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test, not a measurement")
    parser.add_argument("--readme", type=Path, help="also write the tables between the bench markers of this file")
    args = parser.parse_args(argv)
    command = "python -m vscm.bench " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    doc, sections = report(Options(quick=args.quick), command.strip())
    args.out.write_text(doc)
    if args.readme is not None:
        update_readme(args.readme, sections)
    print(doc)
    print(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
