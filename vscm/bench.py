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
from vscm.client.records import DocKind, Role
from vscm.client.workflows import doc_hash
from vscm.demo import Cast


class GasRecorder:
    """Wraps a chain's Sender and records the gas of each transaction under a label."""

    def __init__(self, sender: Any) -> None:
        self._sender = sender
        self.gas: OrderedDict[str, int] = OrderedDict()
        self.label: str | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sender, name)

    def transact(self, account: Any, fn: Any = None, **kwargs: Any) -> Any:
        receipt = self._sender.transact(account, fn, **kwargs)
        key = self.label or (str(fn.fn_name) if fn is not None else "value transfer")
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
    base.sender = chain
    p = deploy_platform(base, cast.operator, manifest=False, network="bench")
    now = int(base.w3.eth.get_block("latest")["timestamp"])
    year = now + 365 * 86400
    m = p.members
    chain.note("MemberRegistry.applyForMembership (SME)")
    m.as_(cast.bank).apply([Role.FINANCIER], 0, keccak(text="c"), year, "Bank")
    chain.note("MemberRegistry.approveMember")
    m.as_(cast.operator).approve(cast.bank.address)
    m.as_(cast.auditor).apply([Role.AUDITOR], 0, keccak(text="c"), year, "Auditor")
    m.as_(cast.operator).approve(cast.auditor.address)
    chain.note("MemberRegistry.applyForMembership (core)")
    m.as_(cast.core).apply([Role.MANUFACTURER], 1, keccak(text="c"), year, "Core")
    chain.note("MemberRegistry.attest (first)")
    m.as_(cast.bank).attest(cast.core.address, Role.FINANCIER)
    chain.note("MemberRegistry.attest (second, activates)")
    m.as_(cast.auditor).attest(cast.core.address, Role.AUDITOR)
    for who, role in (("supplier_a", Role.SUPPLIER), ("supplier_b", Role.SUPPLIER), ("seller", Role.SELLER),
                      ("warehouse", Role.WAREHOUSE), ("carrier", Role.LOGISTICS)):
        m.as_(getattr(cast, who)).apply([role], 0, keccak(text=who), year, who)
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


def render(gas: OrderedDict[str, int]) -> str:
    lines = [
        "| step | gas |",
        "|---|---:|",
        *(f"| {name} | {value:,} |" for name, value in gas.items()),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vscm.bench")
    parser.add_argument("--quick", action="store_true", help="CI-sized run (gas figures are the same)")
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
        "## Gas of each state-changing function (embedded chain, Cancun)",
        "",
        "Each figure is the first call of its kind in the benchmark scenario (cold storage where a",
        "real first call would be cold). Amounts in minor units; settlement includes the ERC-20 transfer.",
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
