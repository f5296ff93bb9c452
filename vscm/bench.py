"""Benchmarks: `make bench` / `python -m vscm.bench [--quick] [--out BENCHMARKS.md]`.

Measures the exact gas of every state-changing function of the platform core on the embedded chain
(gas is deterministic: the same numbers on every run), next to plain OpenZeppelin ERC-20 transfer
and ERC-721 mint measured in the same run, and writes a Markdown table.
"""

from __future__ import annotations

import argparse
import platform as host
import sys
from collections import OrderedDict
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
    cid = m.as_(cast.core).create_chain("Chain")
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
    oid = o.as_(cast.core).place(cast.supplier_a.address, cid, "CNY", 10_000_00, now + 86400 * 30)
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
    oid2 = o.as_(cast.seller).place(cast.core.address, cid, "CNY", 5_000_00, now + 86400 * 30, True, "FOB", "KZ")
    chain.note("OrderBook.cancel")
    o.as_(cast.core).cancel(oid2)
    oid3 = o.as_(cast.core).place(cast.supplier_b.address, cid, "CNY", 1_000_00, now + 86400 * 30)
    o.as_(cast.supplier_b).accept(oid3)
    o.as_(cast.supplier_b).ship(oid3, cast.carrier.address, cast.warehouse.address)
    chain.note("OrderBook.dispute")
    o.as_(cast.core).dispute(oid3, doc_hash("late"))
    chain.note("OrderBook.resolveDispute")
    o.as_(cast.operator).resolve_dispute(oid3, False)
    measure_financing(chain, p, cast, cid)
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
    for who in (sup_a, sup_b, seller):
        p.cash("CNY").as_(bank).mint(who.address, 1_000_000_00, keccak(text=f"bench:{who.address}"))
    due = chain.timestamp() + 365 * 86400

    def order(buyer: Any, seller_: Any, amount: int, stage: str) -> int:
        rec.prefix = None
        oid = p.orders.as_(buyer).place(seller_.address, cid, "CNY", amount, due)
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
    lot = p.assets.as_(wh).register_receipt(sup_a.address, "B-LOT-1", 100, "t", "CNY", 400_000_00)
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
    recv = p.assets.as_(sup_b).register_receivable(sale)
    p.assets.as_(core).confirm_receivable(recv)
    loan = originate(p, Origination(LoanMode.RECEIVABLE, recv, sup_b, bank, 150_000_00, 550, 30 * DAY, 9_000, purpose))
    p.funds.as_(sup_b).spend(loan, sup_a.address, 50_000_00, "goods")
    p.orders.as_(core).settle(sale)
    p.loans.as_(sup_b).collect(loan)
    # 3. prepayment
    goods = order(seller, core, 250_000_00, "accepted")
    rec.prefix = "prepayment"
    right = p.assets.as_(seller).register_future_goods(goods)
    loan = originate(p, Origination(LoanMode.PREPAYMENT, right, seller, bank, 200_000_00, 600, 60 * DAY, 8_000))
    rec.prefix = None
    p.orders.as_(core).ship(goods, cast.carrier.address, wh.address)
    p.orders.as_(wh).deliver(goods)
    rec.prefix = "prepayment"
    stock = p.assets.as_(wh).register_receipt(seller.address, "B-LOT-2", 50, "pcs", "CNY", 250_000_00, order_id=goods)
    p.loans.as_(bank).convert_collateral(loan, stock)
    p.loans.as_(seller).repay(loan, 100_000_00)
    # 4. payable
    parts = order(core, sup_a, 90_000_00, "invoiced")
    purpose = order(sup_a, sup_b, 30_000_00, "accepted")
    rec.prefix = "payable"
    payable = p.assets.as_(core).register_payable(parts)
    loan = originate(p, Origination(LoanMode.PAYABLE, payable, sup_a, bank, 85_000_00, 500, 30 * DAY, 9_500, purpose))
    p.funds.as_(sup_a).spend(loan, sup_b.address, 30_000_00, "goods")
    p.orders.as_(core).settle(parts)
    p.loans.as_(sup_a).collect(loan)
    # default covered by the guarantor
    purpose = order(sup_b, sup_a, 20_000_00, "accepted")
    rec.prefix = "default (second pledge)"
    lot = p.assets.as_(wh).register_receipt(sup_b.address, "B-LOT-3", 10, "t", "CNY", 100_000_00)
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vscm.bench")
    parser.add_argument("--out", type=Path, default=Path("BENCHMARKS.md"))
    args = parser.parse_args(argv)
    gas = measure_core()
    table = render(gas)
    doc = "\n".join([
        "# Benchmarks",
        "",
        "Produced by `make bench` (`python -m vscm.bench`). Gas is exact and deterministic.",
        f"Machine: {host.machine()}, {host.system()} {host.release()}, Python {host.python_version()}.",
        "",
        "## Gas of each state-changing function and each financing step (embedded chain, Cancun)",
        "",
        "Each figure is the first call of its kind in the benchmark scenario (cold storage where a",
        "real first call would be cold). Settlement and repayments include their ERC-20 transfers; a",
        "facade call that first approves cash shows the approval as `PlatformCash.approve`.",
        "",
        table,
        "",
    ])
    args.out.write_text(doc)
    print(table)
    print(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
