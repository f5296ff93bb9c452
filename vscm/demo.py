"""The main scenario on the embedded chain: `make demo` / `python -m vscm.demo`.

Onboards an operator, a bank, an auditor, a core manufacturer (certified by bank + auditor), three
SME suppliers/sellers, a warehouse and a carrier; forms a supply chain; runs domestic orders
through the full lifecycle with documents and settlement, and an overseas order in USD; prints
what happened. Every party signs its own transactions with its own key.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from rich.console import Console
from rich.table import Table

from vscm.chain.backends import connect
from vscm.chain.deploy import deploy_platform
from vscm.client.platform import Platform
from vscm.client.records import Role
from vscm.client.workflows import OrderPlan, certify_core, form_chain, onboard_sme, ship_and_settle
from vscm.errors import ContractRevert

console = Console(highlight=False)


@dataclass(frozen=True)
class Cast:
    """The demo's parties; each has its own key (derived from a public demo seed: never use for real)."""

    operator: LocalAccount
    bank: LocalAccount
    auditor: LocalAccount
    core: LocalAccount
    supplier_a: LocalAccount
    supplier_b: LocalAccount
    seller: LocalAccount
    warehouse: LocalAccount
    carrier: LocalAccount

    @classmethod
    def from_seed(cls, seed: str = "vscm-demo") -> Cast:
        return cls(**{name: Account.from_key(keccak(text=f"{seed}:{name}")) for name in cls.__dataclass_fields__})

    def label(self, address: str) -> str:
        for name in self.__dataclass_fields__:
            if getattr(self, name).address == address:
                return NAMES[name]
        return address


NAMES = {
    "operator": "Platform operator",
    "bank": "Silk Road Bank",
    "auditor": "Chang'an Audit",
    "core": "Xi'an Motors (core)",
    "supplier_a": "Baoji Steel Parts",
    "supplier_b": "Lanzhou Rubber Co.",
    "seller": "Urumqi Trading",
    "warehouse": "Xianyang Bonded WH",
    "carrier": "Hexi Corridor Logistics",
}


def yuan(amount: int, code: str = "CNY") -> str:
    return f"{code} {amount // 100:,}.{amount % 100:02d}"


def step(text: str) -> None:
    console.print(f"  [green]✓[/green] {text}")


def run(out: Path | None = None) -> Platform:
    cast = Cast.from_seed()
    chain = connect("embedded")
    for name in cast.__dataclass_fields__:
        chain.fund(getattr(cast, name).address, 10**20)
    console.rule("[bold]VSCM demo — embedded chain (eth-tester + py-evm, Cancun)")
    platform = deploy_platform(chain, cast.operator, manifest=out or False, network="embedded-demo")
    d = platform.deployment
    step(f"operator deployed MemberRegistry {d.registry}, OrderBook {d.orders}, "
         f"cash {', '.join(f'{c} {a}' for c, a in d.cash.items())}")

    console.print("\n[bold]1. Membership and certification")
    onboard_sme(platform, cast.operator, cast.bank, [Role.FINANCIER], NAMES["bank"])
    step("Silk Road Bank applied as financier; the operator admitted it")
    onboard_sme(platform, cast.operator, cast.auditor, [Role.AUDITOR], NAMES["auditor"])
    step("Chang'an Audit applied as auditor; the operator admitted it")
    platform.members.as_(cast.core).apply([Role.MANUFACTURER], 1, keccak(text="licence:xian-motors"),
                                          int(chain.w3.eth.get_block("latest")["timestamp"]) + 365 * 86400,
                                          NAMES["core"])
    platform.members.as_(cast.bank).attest(cast.core.address, Role.FINANCIER)
    step(f"Xi'an Motors applied as a core manufacturer; the bank attested → status "
         f"{platform.members.status(cast.core.address).name.lower()} (one attestation is not enough)")
    try:
        platform.members.as_(cast.operator).approve(cast.core.address)
    except ContractRevert as exc:
        step(f"the operator tried to admit it alone → refused: {exc.name}")
    platform.members.as_(cast.auditor).attest(cast.core.address, Role.AUDITOR)
    step(f"the auditor attested too → status {platform.members.status(cast.core.address).name.lower()}")
    for who, roles in (("supplier_a", [Role.SUPPLIER]), ("supplier_b", [Role.SUPPLIER]),
                       ("seller", [Role.SELLER]), ("warehouse", [Role.WAREHOUSE]),
                       ("carrier", [Role.LOGISTICS])):
        onboard_sme(platform, cast.operator, getattr(cast, who), roles, NAMES[who])
        step(f"{NAMES[who]} joined as an SME {roles[0].label} (one operator approval)")

    console.print("\n[bold]2. The virtual supply chain")
    chain_id = form_chain(platform, cast.core, "Xi'an Motors chain",
                          [cast.supplier_a, cast.supplier_b, cast.seller])
    step(f"Xi'an Motors formed supply chain #{chain_id}; two suppliers and a seller asked to join and were approved")

    console.print("\n[bold]3. Deposits: the bank mints settlement cash against fiat deposits")
    bank_cny, bank_usd = platform.cash("CNY").as_(cast.bank), platform.cash("USD").as_(cast.bank)
    bank_cny.mint(cast.core.address, 500_000_00, keccak(text="deposit:core:1"))
    bank_cny.mint(cast.seller.address, 400_000_00, keccak(text="deposit:seller:1"))
    bank_usd.mint(cast.seller.address, 60_000_00, keccak(text="deposit:seller:usd:1"))
    step(f"{yuan(500_000_00)} to Xi'an Motors, {yuan(400_000_00)} and {yuan(60_000_00, 'USD')} to Urumqi Trading")

    console.print("\n[bold]4. Orders through their whole life (placed → accepted → shipped → delivered → invoiced → settled)")
    plans = [
        ("Xi'an Motors buys steel parts from Baoji", OrderPlan(
            cast.core, cast.supplier_a, cast.carrier, cast.warehouse, chain_id, "CNY", 120_000_00)),
        ("Xi'an Motors buys rubber seals from Lanzhou", OrderPlan(
            cast.core, cast.supplier_b, cast.carrier, cast.warehouse, chain_id, "CNY", 45_000_50)),
        ("Urumqi Trading buys finished vehicles from Xi'an Motors", OrderPlan(
            cast.seller, cast.core, cast.carrier, cast.warehouse, chain_id, "CNY", 300_000_00)),
        ("Urumqi Trading buys export vehicles, CIF Almaty (KZ), in USD", OrderPlan(
            cast.seller, cast.core, cast.carrier, cast.warehouse, chain_id, "USD", 42_500_00,
            overseas=True, incoterm="CIF", destination_country="KZ")),
    ]
    for text, plan in plans:
        order_id = ship_and_settle(platform, plan)
        step(f"order #{order_id}: {text} — {yuan(plan.amount, plan.currency)}, settled")

    placed = platform.orders.as_(cast.supplier_a).place(cast.supplier_b.address, chain_id, "CNY", 8_800_00,
                                                          int(chain.w3.eth.get_block("latest")["timestamp"]) + 86400)
    platform.orders.as_(cast.supplier_b).cancel(placed)
    step(f"order #{placed}: Baoji ordered from Lanzhou, Lanzhou cancelled it")
    try:
        platform.orders.as_(cast.carrier).settle(1)
    except ContractRevert as exc:
        step(f"the carrier tried to settle order #1 → refused: {exc.name}")

    console.print("\n[bold]5. The platform now")
    report(platform, cast)
    return platform


def report(platform: Platform, cast: Cast) -> None:
    members = Table("member", "address", "roles", "tier", "status", "chain")
    for m in platform.members.members():
        members.add_row(m.name, m.address[:10] + "…", ", ".join(r.label for r in m.roles), m.tier.name,
                        m.status.name.lower(), str(m.chain_id or "-"))
    console.print(members)

    orders = Table("order", "buyer", "seller", "amount", "terms", "status", "documents")
    for o in platform.orders.orders():
        full = platform.orders.order(o.order_id)
        kinds = ", ".join(d.kind.name.lower().replace("_", " ") for d in full.documents) or "-"
        terms = f"{o.incoterm} → {o.destination_country}" if o.overseas else "domestic"
        orders.add_row(f"#{o.order_id}", cast.label(o.buyer), cast.label(o.seller),
                       yuan(o.amount, platform.currency_code(o.currency)), terms, o.status.name.lower(), kinds)
    console.print(orders)

    balances = Table("party", *platform.currencies)
    for name in cast.__dataclass_fields__:
        address = getattr(cast, name).address
        balances.add_row(NAMES[name], *(yuan(platform.cash(c).balance(address), c) for c in platform.currencies))
    supply = [yuan(platform.cash(c).total_supply(), c) for c in platform.currencies]
    balances.add_row("[bold]total supply", *supply)
    console.print(balances)


def main() -> int:
    run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
