"""`make bench` section: gas of a certificate split, payment and claim as the certificate grows to 10,000 parts.

The rules never walk the split tree (parent pointers only) and a claim reads only its part and its
certificate, so the gas must be flat whatever the number of parts. Measured on the embedded chain (exact
gas): the tier-1 supplier splits one unit off its part again and again; at each size the next split, a
payment of an order (already paid once by certificate: its first such payment writes the order's
``certificatePaid`` from zero) and, in a snapshot with the face value paid in, the claim of the newest part and of
the root. ``python -m vscm.client.certificates_bench`` prints the table alone.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from vscm.chain.backends import connect
from vscm.chain.deploy import deploy_platform
from vscm.client.financing import DAY
from vscm.client.records import Role
from vscm.client.workflows import certify_core, doc_hash, form_chain, onboard_sme, set_mint_cap

__all__ = ["PART_COUNTS", "GasRow", "measure", "render", "section"]

PART_COUNTS = (10, 100, 1_000, 10_000)
FACE = 10_000_000_00


@dataclass(frozen=True)
class GasRow:
    parts: int
    split: int
    pay: int
    claim_newest: int
    claim_root: int


def _accounts(seed: str) -> dict[str, LocalAccount]:
    names = ("operator", "bank", "auditor", "core", "supplier", "supplier2", "carrier", "warehouse")
    return {n: Account.from_key(keccak(text=f"{seed}:{n}")) for n in names}


def measure(counts: tuple[int, ...] = PART_COUNTS, seed: str = "vscm-certificates-bench") -> list[GasRow]:
    """Exact gas of split, pay and claim when the certificate has ``counts`` parts."""
    a = _accounts(seed)
    with connect("embedded") as chain:
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
            oid = int(orders.as_(buyer).place(seller.address, cid, "CNY", amount, chain.now() + 900 * DAY).id)
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
        parts, rows = 2, []
        for count in sorted(counts):
            while parts < count - 2:  # the measured split and payment make the last two parts
                holder.split(root, 1)
                parts += 1
            split = int(holder.split(root, 1).receipt["gasUsed"])
            written = holder.pay(root, supplies, 1)
            parts += 2
            snapshot = chain.snapshot()
            certs.as_(core).pay_in(certificate, FACE)
            newest = int(certs.as_(tier2).claim(written.id).receipt["gasUsed"])
            first = int(certs.as_(tier2).claim(root).receipt["gasUsed"])
            chain.revert(snapshot)
            rows.append(GasRow(parts, split, int(written.receipt["gasUsed"]), newest, first))
        return rows


def render(rows: list[GasRow]) -> str:
    lines = ["| parts | split (gas) | pay an order (gas) | claim, newest part (gas) | claim, root part (gas) |",
             "|---:|---:|---:|---:|---:|"]
    lines += [f"| {r.parts:,} | {r.split:,} | {r.pay:,} | {r.claim_newest:,} | {r.claim_root:,} |" for r in rows]
    return "\n".join(lines) + "\n"


def section(options: Any) -> Any:
    """The ``vscm.bench`` section (6 and 12 parts only with ``--quick``)."""
    from vscm.bench import Section  # vscm.bench imports the sections by name, not this module

    rows = measure((6, 12) if options.quick else PART_COUNTS)
    text = ("Exact gas on the embedded chain of one payable certificate as it grows: a split (the holder keeps "
            "a piece aside), a payment of an order with a part (which also records it on the order), and a "
            "claim after the face value is paid in (the newest part and the root). The split tree is parent "
            "pointers and a claim reads only its part and its certificate, so every figure is flat in the "
            "number of parts. `python -m vscm.client.certificates_bench` prints this table alone.")
    return Section("Payable certificates: gas per split and per claim", text, render(rows))


def main(argv: list[str] | None = None) -> int:
    counts = tuple(int(c) for c in (argv if argv is not None else sys.argv[1:])) or PART_COUNTS
    sys.stdout.write("## Payable certificates: gas per split and per claim (embedded chain, exact)\n\n")
    sys.stdout.write(render(measure(counts)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
