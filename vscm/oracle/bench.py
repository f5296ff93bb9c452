"""Gas per reading: Merkle batches of 1, 10, 100 and 1,000 readings against one reading per
transaction, exact on the embedded chain. `python -m vscm.oracle.bench` prints the Markdown table.

The setting is the demo's: a disbursed pledge loan on a warehouse receipt watched by a load cell, a
temperature logger and a door sensor (readings shared out among them), three oracle nodes with a
quorum of 2, so every report carries two signatures, the three devices' sequence ranges, one
summary, and the margin-call check against the LoanBook. Gas is deterministic: keys and noise are
seeded and the embedded clock ticks one second a block.
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
from vscm.client.financing import DAY, Origination, originate
from vscm.client.records import LoanMode, Role
from vscm.client.workflows import certify_core, doc_hash, form_chain, onboard_sme, set_mint_cap
from vscm.oracle.model import TargetKind
from vscm.oracle.node import Aggregator, OracleNode
from vscm.oracle.simulator import Site

__all__ = ["BATCH_SIZES", "GasRow", "main", "measure", "render"]

BATCH_SIZES = (1, 10, 100, 1000)
#: single-reading transactions averaged for the baseline
SINGLES = 10


@dataclass(frozen=True)
class GasRow:
    readings: int
    transactions: int
    gas: int

    @property
    def per_reading(self) -> float:
        return self.gas / self.readings


def _accounts(seed: str) -> dict[str, LocalAccount]:
    names = ("operator", "bank", "auditor", "core", "supplier", "supplier2", "warehouse", "publisher")
    return {n: Account.from_key(keccak(text=f"{seed}:{n}")) for n in names}


def measure(sizes: tuple[int, ...] = BATCH_SIZES, seed: str = "vscm-oracle-bench") -> list[GasRow]:
    """Exact gas of publishing ``sizes`` readings in one batch each, and of ``SINGLES`` readings one per
    transaction (first row). Returns the rows, baseline first."""
    a = _accounts(seed)
    with connect("embedded") as chain:
        for acct in a.values():
            chain.fund(acct.address, 10**21)
        p = deploy_platform(chain, a["operator"], manifest=False, network="bench")
        op = a["operator"]
        for name, role in (("bank", Role.FINANCIER), ("auditor", Role.AUDITOR), ("supplier", Role.SUPPLIER),
                           ("supplier2", Role.SUPPLIER), ("warehouse", Role.WAREHOUSE), ("publisher", Role.ORACLE)):
            onboard_sme(p, op, a[name], [role], name)
        set_mint_cap(p, op, a["bank"].address, 2_000_000_00, ["CNY"])  # reserves + the guarantor's commitment
        certify_core(p, a["core"], [Role.MANUFACTURER], "core", a["bank"], a["auditor"])
        cid = form_chain(p, a["core"], "bench chain", [a["supplier"], a["supplier2"]])
        p.cash("CNY").as_(a["bank"]).mint(a["bank"].address, 1_000_000_00, keccak(text="bench reserves"))
        # The guarantor commits the loan's principal when it signs.
        p.cash("CNY").as_(a["bank"]).mint(a["core"].address, 200_000_00, keccak(text="bench guarantor"))
        receipt = p.assets.as_(a["warehouse"]).register_receipt(a["supplier"].address, "BENCH-1", 500, "t", "CNY",
                                                               400_000_00, doc_hash("bench lot")).id
        purpose = p.orders.as_(a["supplier"]).place(a["supplier2"].address, cid, "CNY", 100_000_00,
                                                    chain.now() + 90 * DAY).id
        p.orders.as_(a["supplier2"]).accept(purpose)
        originate(p, Origination(LoanMode.PLEDGE, receipt, a["supplier"], a["bank"], 200_000_00, 650, 90 * DAY,
                                 6_000, purpose, guarantor=a["core"], supervisor=a["warehouse"].address))
        nodes = [Account.from_key(keccak(text=f"{seed}:node:{i}")) for i in range(3)]
        p.oracle.as_(op).set_signers([n.address for n in nodes], 2)
        site = Site.warehouse(seed, receipt, 500, custodian=a["warehouse"].address)
        for dev in site.devices:
            p.oracle.as_(a["warehouse"]).register_device(dev.serial, dev.key.address, dev.metric,
                                                         TargetKind.ASSET, receipt)
        p.oracle.as_(a["warehouse"]).set_watch(TargetKind.ASSET, receipt, 200, 800, 0, 0)
        agg = Aggregator([OracleNode(n, p.oracle) for n in nodes], p.oracle, a["publisher"])

        def readings(n: int) -> list:
            """``n`` readings, the devices taking turns, the last one stamped just before now."""
            out = []
            now = int(chain.now())
            for i in range(n):
                out.append(site.devices[i % len(site.devices)].sample(now - n + i))
            return out

        agg.publish(readings(3))  # warm up: every device's and the target's slots written once
        rows = [GasRow(SINGLES, SINGLES, sum(agg.publish(readings(1)).gas_used for _ in range(SINGLES)))]
        for n in sizes:
            rows.append(GasRow(n, 1, agg.publish(readings(n)).gas_used))
        return rows


def render(rows: list[GasRow]) -> str:
    """The Markdown table: per batch size, transaction gas and gas per reading against the baseline."""
    base = rows[0].per_reading
    lines = [
        "| readings published | transactions | gas (total) | gas per reading | vs one reading per tx |",
        "|---:|---:|---:|---:|---:|",
        (f"| one per transaction ({rows[0].readings}) | {rows[0].transactions} | {rows[0].gas:,} | "
        f"{rows[0].per_reading:,.0f} | 1.00× |"),
    ]
    for r in rows[1:]:
        lines.append(f"| batch of {r.readings:,} | {r.transactions} | {r.gas:,} | {r.per_reading:,.0f} | "
                     f"{r.per_reading / base:.3f}× |")
    return "\n".join(lines) + "\n"


def section(options: Any) -> Any:
    """The ``vscm.bench`` section (batches of 1 and 10 only with ``--quick``)."""
    from vscm.bench import Section  # vscm.bench imports the sections by name, not this module

    rows = measure((1, 10) if options.quick else BATCH_SIZES)
    text = ("Exact gas on the embedded chain of publishing device readings about a pledged receipt: "
            f"{SINGLES} reports of one reading each (the baseline) against one report of a batch of N readings "
            "under one Merkle root, signed by 2 of 3 oracle nodes (EIP-712), with per-device sequences and "
            "the receipt's summary. `python -m vscm.oracle.bench` prints this table alone.")
    return Section("IoT oracle: gas per reading", text, render(rows))


def main(argv: list[str] | None = None) -> int:
    sys.stdout.write("## IoT oracle: gas per reading (embedded chain, exact)\n\n")
    sys.stdout.write(render(measure()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
