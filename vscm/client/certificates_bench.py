"""`make bench` section: gas of a certificate split, payment and claim as the certificate grows to 10,000 parts.

The rules never walk the split tree (parent pointers only) and a claim reads only its part and its
certificate, so the gas must be flat whatever the number of parts. The full run is on anvil: the tier-1
supplier's splits that grow the certificate to 10, 1,000 and 10,000 parts go through the batched pipeline
(``vscm.chain.pipeline``, manual mining, rounds of ``ROUND``; every one must land), with the wall time and the
CPU time this process and the node spent per split. At each size, exact gas of the next split, a payment of an
order (already paid once by certificate: its first such payment writes the order's ``certificatePaid`` from
zero) and, in a snapshot with the face value paid in, the claim of the newest part and of the root.
``--quick`` runs the same code on the embedded chain at 6 and 12 parts. ``python -m
vscm.client.certificates_bench [--embedded] [COUNTS...]`` prints the table alone.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from vscm.audit.bench import _cpu_seconds, _since
from vscm.chain.backends import connect
from vscm.chain.deploy import deploy_platform
from vscm.chain.pipeline import Pipeline
from vscm.client.financing import DAY
from vscm.client.records import Role
from vscm.client.workflows import certify_core, doc_hash, form_chain, onboard_sme, set_mint_cap
from vscm.errors import ChainError

__all__ = ["PART_COUNTS", "QUICK_COUNTS", "GasRow", "measure", "render", "section"]

PART_COUNTS = (10, 1_000, 10_000)
QUICK_COUNTS = (6, 12)
FACE = 10_000_000_00
#: Splits sent and confirmed per pipeline round.
ROUND = 2_000
#: Gas limit of a pipelined split (it uses about half; a fixed limit, since a round cannot be estimated).
SPLIT_GAS = 250_000


@dataclass(frozen=True)
class GasRow:
    parts: int
    split: int
    pay: int
    claim_newest: int
    claim_root: int
    #: splits sent through the pipeline to grow the certificate to this size from the previous one
    built: int = 0
    build_seconds: float = 0.0
    #: CPU seconds of this process and of the node (None: not a separate process) while building
    cpu_here: float = 0.0
    cpu_node: float | None = None


def _accounts(seed: str) -> dict[str, LocalAccount]:
    names = ("operator", "bank", "auditor", "core", "supplier", "supplier2", "carrier", "warehouse")
    return {n: Account.from_key(keccak(text=f"{seed}:{n}")) for n in names}


def _grow(chain: Any, signer: LocalAccount, certs: Any, root: int, splits: int) -> None:
    """``splits`` splits of one unit off ``root`` by its holder, through the pipeline; every one must land."""
    pipe = Pipeline(chain, mining="manual" if chain.kind == "anvil" else "auto")
    abi = [dict(entry) for entry in certs.contract.abi]
    try:
        for first in range(0, splits, ROUND):
            for _ in range(first, min(splits, first + ROUND)):
                pipe.submit_call(signer, abi, certs.address, "split", (root, 1), gas=SPLIT_GAS)
            failed = [r for r in pipe.wait() if not r.ok]
            if failed:
                raise ChainError(f"growing the certificate: {len(failed)} splits failed, first: {failed[0]}")
    finally:
        pipe.close()


def measure(counts: tuple[int, ...] = PART_COUNTS, seed: str = "vscm-certificates-bench",
            target: str = "anvil") -> list[GasRow]:
    """Exact gas of split, pay and claim when the certificate has ``counts`` parts, on ``target``
    (``"anvil"`` or ``"embedded"``), with the cost of growing it there through the pipeline."""
    a = _accounts(seed)
    with connect(target, timeout=120) as chain:
        for acct in a.values():
            chain.fund(acct.address, 10**22)
        p = deploy_platform(chain, a["operator"], manifest=False, network="bench")
        op = a["operator"]
        for name, role in (("bank", Role.FINANCIER), ("auditor", Role.AUDITOR), ("supplier", Role.SUPPLIER),
                           ("supplier2", Role.SUPPLIER), ("carrier", Role.LOGISTICS), ("warehouse", Role.WAREHOUSE)):
            onboard_sme(p, op, a[name], [role], name)
        set_mint_cap(p, op, a["bank"].address, FACE, ["CNY"])
        certify_core(p, a["core"], [Role.MANUFACTURER], "core", a["bank"], a["auditor"])
        cid = form_chain(p, a["core"], "bench chain", [a["supplier"], a["supplier2"]])
        p.cash("CNY").as_(a["bank"]).mint(a["core"].address, FACE, keccak(text="bench core"))
        orders, core, tier1, tier2 = p.orders, a["core"], a["supplier"], a["supplier2"]

        def order(buyer: LocalAccount, seller: LocalAccount, amount: int, invoiced: bool) -> int:
            oid = int(orders.as_(buyer).place(seller.address, cid, "CNY", amount, chain.now() + 900 * DAY))
            orders.as_(seller).accept(oid)
            orders.as_(seller).ship(oid, a["carrier"].address, a["warehouse"].address)
            if invoiced:
                orders.as_(a["warehouse"]).deliver(oid)
                orders.as_(seller).invoice(oid, f"B-{oid}", doc_hash(f"bench invoice {oid}"))
            return oid

        certs = p.certificates
        certificate = certs.as_(core).issue(order(core, tier1, FACE, invoiced=True), chain.now() + 365 * DAY).id
        root = certs.certificate(certificate).root_part
        supplies = order(tier1, tier2, FACE, invoiced=False)
        p.cash("CNY").as_(core).approve(certs.address, FACE)
        holder = certs.as_(tier1)
        # The order's first certificate payment writes its certificatePaid from zero (a one-off of the
        # order, not of the certificate's size): made here, so every measured payment is a later one.
        holder.pay(root, supplies, 1)
        node_pid = getattr(getattr(chain, "node", None), "pid", None)
        parts, rows = 2, []
        for count in sorted(counts):
            built = max(0, count - 2 - parts)  # the measured split and payment make the last two parts
            wall, cpu, node = time.perf_counter(), time.process_time(), _cpu_seconds(node_pid)
            _grow(chain, tier1, certs, root, built)
            wall, cpu, node_s = time.perf_counter() - wall, time.process_time() - cpu, _since(node_pid, node)
            parts += built
            if certs.part_count() != parts:
                raise ChainError(f"the certificate has {certs.part_count()} parts, {parts} expected")
            split = int(holder.split(root, 1).receipt["gasUsed"])
            written = holder.pay(root, supplies, 1)
            parts += 2
            snapshot = chain.snapshot()
            certs.as_(core).pay_in(certificate, FACE)
            newest = int(certs.as_(tier2).claim(written.id).receipt["gasUsed"])
            first = int(certs.as_(tier2).claim(root).receipt["gasUsed"])
            chain.revert(snapshot)
            rows.append(GasRow(parts, split, int(written.receipt["gasUsed"]), newest, first, built, wall, cpu, node_s))
        return rows


def render(rows: list[GasRow]) -> str:
    header = ("| parts | split (gas) | pay an order (gas) | claim, newest part (gas) | claim, root part (gas) "
              "| splits sent to grow it | wall (s) | splits/s | CPU per split, this process (µs) "
              "| CPU per split, node (µs) |")
    lines = [header,
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        per = max(1, r.built)
        node = "in process" if r.cpu_node is None else f"{r.cpu_node / per * 1e6:,.0f}"
        rate = r.built / r.build_seconds if r.build_seconds > 0 else 0.0
        lines.append(f"| {r.parts:,} | {r.split:,} | {r.pay:,} | {r.claim_newest:,} | {r.claim_root:,} | {r.built:,} "
                     f"| {r.build_seconds:.2f} | {rate:,.0f} | {r.cpu_here / per * 1e6:,.0f} | {node} |")
    return "\n".join(lines) + "\n"


def _load() -> str:
    try:
        return f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    except OSError:
        return f"{os.cpu_count()} cores"


def section(options: Any) -> Any:
    """The ``vscm.bench`` section: 10, 1,000 and 10,000 parts on anvil (6 and 12 on the embedded chain
    with ``--quick``)."""
    from vscm.bench import Section  # vscm.bench imports the sections by name, not this module

    quick = bool(options.quick)
    rows = measure(QUICK_COUNTS, target="embedded") if quick else measure(PART_COUNTS, target="anvil")
    where = "the embedded chain" if quick else "anvil"
    text = (f"Exact gas on {where} of one payable certificate as it grows: a split (the holder keeps a piece "
            "aside), a payment of an order with a part (which also records it on the order), and a claim after "
            "the face value is paid in (the newest part and the root). The split tree is parent pointers and a "
            "claim reads only its part and its certificate, so every gas figure is flat in the number of parts (a "
            "longer part id costs a few gas more calldata). "
            "The parts are grown by the holder's splits sent through the batched pipeline (manual mining on "
            f"anvil, rounds of {ROUND:,}), with their wall time and the CPU time per split of this process "
            f"(signing, encoding, receipts) and of the node ({_load()} at the end of the run). "
            "`python -m vscm.client.certificates_bench` prints this table alone.")
    return Section("Payable certificates: gas per split and per claim", text, render(rows))


def main(argv: list[str] | None = None) -> int:
    args = list(argv if argv is not None else sys.argv[1:])
    target = "embedded" if "--embedded" in args else "anvil"
    counts = tuple(int(c) for c in args if c != "--embedded") or PART_COUNTS
    sys.stdout.write(f"## Payable certificates: gas per split and per claim ({target}, exact; {_load()})\n\n")
    sys.stdout.write(render(measure(counts, target=target)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
