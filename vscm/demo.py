"""The main scenario on the embedded chain: `make demo` / `python -m vscm.demo`.

Onboards an operator, a bank, an auditor, a core manufacturer (certified by bank + auditor), three
SME suppliers/sellers, a warehouse and a carrier; forms a supply chain; runs domestic orders
through the full lifecycle with documents and settlement, and an overseas order in USD; prints
what happened. Every party signs its own transactions with its own key.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from rich.console import Console
from rich.table import Table

from vscm.chain.backends import AnvilChain, Chain, connect
from vscm.chain.deploy import deploy_platform
from vscm.chain.tx import TxRequest
from vscm.client.facade import Payment, WriteResult
from vscm.client.financing import DAY, Origination, loan_account, originate
from vscm.client.platform import Platform
from vscm.client.records import DocKind, LoanMode, Role, Tier
from vscm.client.workflows import OrderPlan, Write, doc_hash, sme_application, together
from vscm.errors import ContractRevert, VscmError
from vscm.oracle.demo import run_watched_pledge

# Wide enough for the tables when the output is not a terminal (make, CI); $COLUMNS wins.
console = Console(highlight=False, width=None if os.environ.get("COLUMNS") else 120)


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


#: Seconds of chain time per day of the story's loans on a network, whose clock cannot be moved (see `run`).
NETWORK_DAY = 1

#: What the council lets the demo's bank have issued and not yet burned, per currency.
DEMO_MINT_CAP = 10_000_000_00

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


#: The next write of a lane, built once the lane's earlier writes are mined (it is given their results).
Step = Callable[[list[WriteResult[Any]]], Write]


def side_by_side(platform: Platform, lanes: Sequence[Sequence[Step]]) -> list[list[WriteResult[Any]]]:
    """Run lanes of writes that depend on each other in order (an order's lifecycle) side by side: on a network
    round k sends the k-th write of every lane ``together``; on a dev chain the lanes run one after another, a
    block a write, as when each was sent by itself. Returns each lane's results."""
    done: list[list[WriteResult[Any]]] = [[] for _ in lanes]
    if platform.chain.is_dev:
        for lane, results in zip(lanes, done):
            for write in lane:
                results += together(platform, [write(results)])
        return done
    for k in range(max((len(lane) for lane in lanes), default=0)):
        active = [i for i, lane in enumerate(lanes) if k < len(lane)]
        for i, result in zip(active, together(platform, [lanes[i][k](done[i]) for i in active])):
            done[i].append(result)
    return done


def ship_and_settle_together(platform: Platform, plans: Sequence[OrderPlan]) -> list[int]:
    """``vscm.client.workflows.ship_and_settle`` for several orders side by side: the same writes by the same
    parties, each order's in the same order (its documents too), the orders' steps sharing rounds. The orders
    are placed first, one buyer's after another's, so their ids follow ``plans``. Returns the order ids."""
    orders, now = platform.orders, platform.chain.now()
    ids = [0] * len(plans)
    for buyer in dict.fromkeys(plan.buyer.address for plan in plans):  # one round per buyer, first come first
        mine = [i for i, plan in enumerate(plans) if plan.buyer.address == buyer]
        for i, placed in zip(mine, together(platform, [(plans[i].buyer, orders.as_(plans[i].buyer).build.place(
                plans[i].seller.address, plans[i].chain_id, plans[i].currency, plans[i].amount, now + plans[i].due_in,
                plans[i].overseas, plans[i].incoterm, plans[i].destination_country)) for i in mine])):
            ids[i] = placed.id

    def lane(plan: OrderPlan, oid: int) -> list[Step]:
        tag, number = f"order-{oid}", plan.invoice_number or f"INV-{oid:06d}"

        def write(who: LocalAccount, build: Callable[[Any], TxRequest[WriteResult[Any]]]) -> Step:
            return lambda done: (who, build(orders.as_(who).build))

        return [write(plan.buyer, lambda b: b.attach(oid, DocKind.CONTRACT, doc_hash(f"{tag}:contract"))),
                write(plan.seller, lambda b: b.accept(oid)),
                *([write(plan.seller, lambda b: b.attach(oid, DocKind.CUSTOMS_DECLARATION, doc_hash(f"{tag}:customs")))]
                  if plan.overseas else []),
                write(plan.seller, lambda b: b.ship(oid, plan.carrier.address, plan.warehouse.address)),
                write(plan.carrier, lambda b: b.attach(oid, DocKind.BILL_OF_LADING, doc_hash(f"{tag}:bill-of-lading"))),
                write(plan.seller, lambda b: b.attach(oid, DocKind.QUALITY_CERTIFICATE, doc_hash(f"{tag}:quality"))),
                write(plan.warehouse, lambda b: b.deliver(oid)),
                write(plan.warehouse, lambda b: b.attach(oid, DocKind.DELIVERY_RECEIPT, doc_hash(f"{tag}:delivery"))),
                write(plan.seller, lambda b: b.invoice(oid, number, doc_hash(f"{tag}:invoice:{number}"))),
                # The whole amount, no allowance before (as the sent settle finds): approve, settle, nothing after.
                write(plan.buyer, lambda b: b.settle(oid, payment=Payment(plan.currency, plan.amount, whole=True)))]

    side_by_side(platform, [lane(plan, oid) for plan, oid in zip(plans, ids)])
    return ids


def run(out: Path | None = None, chain: Chain | None = None, audit: bool = True, day: int = DAY) -> Platform:
    """The whole scenario on ``chain`` (default: a new embedded chain), then (``audit``) the auditor's
    replay of it; returns the platform.

    ``day`` is how many seconds of chain time a day of the story's loans lasts: their terms, the time
    that passes before they are repaid or defaulted, and the platform's grace period after maturity (the
    LoanBook is deployed with ``7 * day``). On a dev chain (the default 86,400) the clock is moved; on a
    network, whose clock is real time, the demo waits for blocks (``Chain.let_time_pass``), so there a
    day of 1 s makes the 68 days of the story pass in about a minute (``NETWORK_DAY``)."""
    cast = Cast.from_seed()
    chain = chain or connect("embedded")
    if isinstance(chain, AnvilChain):
        chain.tick_one_second_per_block()  # the story's figures (interest by the second) as on the embedded chain
    if chain.faucet is not None:  # a free-gas network needs none; elsewhere the parties hold ether already
        for name in cast.__dataclass_fields__:
            chain.fund(getattr(cast, name).address, 10**20)
    where = {"embedded": "embedded chain (eth-tester + py-evm, Cancun)",
             "anvil": "a local anvil node (Cancun)"}.get(chain.kind, chain.name)
    console.rule(f"[bold]VSCM demo — {where}")
    if day != DAY:
        console.print(f"  a day of the story's loans lasts {day} s of chain time (grace period {7 * day} s)")
    platform = deploy_platform(chain, cast.operator, manifest=out or False, network=f"{chain.kind}-demo",
                               grace_period=7 * day)
    d = platform.deployment
    step(f"operator deployed MemberRegistry {d.registry}, OrderBook {d.orders}, "
         f"cash {', '.join(f'{c} {a}' for c, a in d.cash.items())}")

    console.print("\n[bold]1. Membership and certification")
    members = platform.members
    smes = (("supplier_a", [Role.SUPPLIER]), ("supplier_b", [Role.SUPPLIER]), ("seller", [Role.SELLER]),
            ("warehouse", [Role.WAREHOUSE]), ("carrier", [Role.LOGISTICS]))
    joining = (("bank", [Role.FINANCIER]), ("auditor", [Role.AUDITOR]), *smes)
    # Every party applies with its own key, all at once; the operator then admits all but the core at once (a core
    # needs a financier's and an auditor's attestation: below).
    together(platform, [
        *((getattr(cast, who), sme_application(platform, getattr(cast, who), roles, NAMES[who]))
          for who, roles in joining[:2]),
        (cast.core, members.as_(cast.core).build.apply([Role.MANUFACTURER], Tier.CORE,
                                                       keccak(text="licence:xian-motors"), chain.now() + 365 * 86400,
                                                       NAMES["core"])),
        *((getattr(cast, who), sme_application(platform, getattr(cast, who), roles, NAMES[who])) for who, roles in smes)])
    together(platform, [(cast.operator, members.as_(cast.operator).build.approve(getattr(cast, who).address))
                        for who, _ in joining])
    together(platform, [*((cast.operator, platform.cash(code).as_(cast.operator).build.set_mint_cap(
        cast.bank.address, DEMO_MINT_CAP)) for code in platform.currencies),
        (cast.bank, members.as_(cast.bank).build.attest(cast.core.address, Role.FINANCIER))])
    step("Silk Road Bank applied as financier; the operator admitted it")
    step(f"the bank may issue up to {yuan(DEMO_MINT_CAP)} of each currency against its deposits (its mint cap)")
    step("Chang'an Audit applied as auditor; the operator admitted it")
    step(f"Xi'an Motors applied as a core manufacturer; the bank attested → status "
         f"{members.status(cast.core.address).name.lower()} (one attestation is not enough)")
    try:
        members.as_(cast.operator).approve(cast.core.address)
    except ContractRevert as exc:
        step(f"the operator tried to admit it alone → refused: {exc.name}")
    members.as_(cast.auditor).attest(cast.core.address, Role.AUDITOR)
    step(f"the auditor attested too → status {members.status(cast.core.address).name.lower()}")
    for who, roles in smes:
        step(f"{NAMES[who]} joined as an SME {roles[0].label} (one operator approval)")

    console.print("\n[bold]2. The virtual supply chain")
    chain_id = members.as_(cast.core).create_chain("Xi'an Motors chain").id
    joiners = [cast.supplier_a, cast.supplier_b, cast.seller]
    bank_cny, bank_usd = platform.cash("CNY").as_(cast.bank).build, platform.cash("USD").as_(cast.bank).build
    # The joins and the bank's deposits (step 3) do not depend on each other: one round.
    together(platform, [*((m, members.as_(m).build.request_join(chain_id)) for m in joiners),
                        (cast.bank, bank_cny.mint(cast.core.address, 500_000_00, keccak(text="deposit:core:1"))),
                        (cast.bank, bank_cny.mint(cast.seller.address, 400_000_00, keccak(text="deposit:seller:1"))),
                        (cast.bank, bank_usd.mint(cast.seller.address, 60_000_00, keccak(text="deposit:seller:usd:1")))])
    together(platform, [(cast.core, members.as_(cast.core).build.approve_join(chain_id, m.address)) for m in joiners])
    step(f"Xi'an Motors formed supply chain #{chain_id}; two suppliers and a seller asked to join and were approved")

    console.print("\n[bold]3. Deposits: the bank mints settlement cash against fiat deposits")
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
    order_ids = ship_and_settle_together(platform, [plan for _, plan in plans])
    for (text, plan), order_id in zip(plans, order_ids):
        step(f"order #{order_id}: {text} — {yuan(plan.amount, plan.currency)}, settled")
    orders = platform.orders
    [[placed, _]] = side_by_side(platform, [[
        lambda done: (cast.supplier_a, orders.as_(cast.supplier_a).build.place(
            cast.supplier_b.address, chain_id, "CNY", 8_800_00, chain.now() + 86400)),
        lambda done: (cast.supplier_b, orders.as_(cast.supplier_b).build.cancel(done[0].id))]])
    step(f"order #{placed.id}: Baoji ordered from Lanzhou, Lanzhou cancelled it")
    try:
        orders.as_(cast.carrier).settle(1)
    except ContractRevert as exc:
        step(f"the carrier tried to settle order #1 → refused: {exc.name}")

    console.print("\n[bold]5. Financing: the four modes")
    finance(platform, cast, chain_id, day)

    console.print("\n[bold]5b. IoT oracle: pledged goods watched by devices")
    run_watched_pledge(platform, operator=cast.operator, lender=cast.bank, guarantor=cast.core,
                       borrower=cast.supplier_b, seller=cast.supplier_a, warehouse=cast.warehouse,
                       chain_id=chain_id, say=step)

    from vscm.risk.demo import control  # the control mechanism builds on this module's cast

    controlled = control(platform, cast, step, console, yuan)

    from vscm.underwriting.demo import underwrite

    underwrite(platform, cast, controlled, step, console)

    console.print("\n[bold]8c. The core's credit down four tiers: a payable certificate")
    certificate(platform, cast, chain_id, day)

    console.print("\n[bold]8d. The consortium council takes over, and one governed change")
    platform = govern(platform, cast, day)
    if out is not None:
        platform.deployment.save(out)  # the manifest names the council

    console.print("\n[bold]9. The platform now")
    report(platform, cast)
    if audit:
        console.print("\n[bold]10. The auditor replays the history")
        replay_as_auditor(platform)
    return platform


#: The council's timelock delay in the demo: a lender has a day to see a change coming.
COUNCIL_DELAY = DAY
#: The bank's CNY mint cap after the demo's governed change.
RAISED_MINT_CAP = 2 * DEMO_MINT_CAP


def govern(platform: Platform, cast: Cast, day: int = DAY) -> Platform:
    """A council of the operator, the bank and the auditor (2 of 3, a day's delay) takes every admin role; the
    bank proposes raising its own mint cap, the auditor approves, the change waits out the delay on the
    timelock (pending, visible to every lender) and is carried out. Returns the platform naming the council."""
    from datetime import UTC, datetime

    from vscm.chain.deploy import deploy_council, hand_over
    from vscm.client.council import CouncilConfig, CouncilError

    chain = platform.chain
    # A day of the story (on a network whose clock is real time, at least 10 s: the refused early attempt
    # must come before the delay is over).
    delay = max(COUNCIL_DELAY * day // DAY, 10)
    config = CouncilConfig((cast.operator.address, cast.bank.address, cast.auditor.address), 2, delay)
    platform = hand_over(platform, cast.operator, deploy_council(chain, cast.operator, config))
    council = platform.council
    period = f"{delay // 3600} h" if delay >= 3600 else f"{delay} s"
    step(f"a Safe 2 of 3 (operator, bank, auditor) and a timelock ({period} delay) now hold every admin role; "
         "the operator key renounced its own")
    step(f"the council's Safe {council.safe_address}, its timelock {council.timelock_address}")
    cash, bank = platform.cash("CNY"), cast.bank.address
    try:
        cash.as_(cast.operator).set_mint_cap(bank, RAISED_MINT_CAP)
    except ContractRevert as exc:
        step(f"the operator key alone tried to raise the bank's mint cap → refused: {exc.name}")
    proposal = council.propose(cast.bank, cash.contract.functions.setMintCap(bank, RAISED_MINT_CAP))
    step(f"Silk Road Bank proposed on the Safe: CNY setMintCap(bank, {yuan(RAISED_MINT_CAP)}) "
         f"(proposal 0x{proposal.safe_tx_hash.hex()[:12]}…, 1 of 2 approvals)")
    council.approve(cast.auditor, proposal.safe_tx_hash)
    council.execute(cast.auditor, proposal.safe_tx_hash, proposal)
    _, scheduled = council.pending()
    [op] = scheduled
    ready = datetime.fromtimestamp(op.ready_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    step(f"Chang'an Audit approved (2 of 2) and sent it: scheduled on the timelock, pending until {ready} "
         f"(vscm council pending); the cap is still {yuan(cash.mint_cap(bank)[0])}")
    try:
        council.execute_scheduled(cast.bank, op)
    except CouncilError:
        step("carrying it out before the delay → refused (the timelock is not ready)")
    chain.let_time_pass(delay)
    council.execute_scheduled(cast.bank, op)
    step(f"a day later the bank carried it out: its CNY mint cap is now {yuan(cash.mint_cap(bank)[0])}")
    return platform


#: the demo's parties that get a console token: a lender, the auditor, a member
CONSOLE_PARTIES = ("bank", "auditor", "core")
#: the demo's chain state (anvil's state file), started again by `vscm serve --demo`
CHAIN_STATE = "chain-state.json"
#: the passphrase of the bank's keystore kept for the console (a key of the public demo seed: never use it for real)
KEYSTORE_PASSPHRASE = "vscm-demo"
#: scrypt's cost for that keystore: light, so that the page decrypts it in about a second
KEYSTORE_SCRYPT_N = 2**14


def leave_a_warned_loan(platform: Platform, cast: Cast) -> int:
    """The risk monitor raises a high alert on the bank's first running CNY loan: the loan is warned and
    waits for the bank's decision (continue or recall), for the console. Returns its id."""
    from vscm.client.records import LoanStatus, Severity
    from vscm.risk.demo import ControlCast

    loan = next(ln for ln in platform.loans.loans(lender=cast.bank.address)
                if ln.status == LoanStatus.DISBURSED and ln.currency == platform.deployment.cash["CNY"])
    platform.risk.as_(ControlCast.from_seed().monitor).raise_loan_alert(loan.loan_id, 101, Severity.HIGH,
                                                                        keccak(text="console:warning"))
    return loan.loan_id


def keep_for_console(platform: Platform, cast: Cast, directory: Path) -> Path:
    """Keep the demo's data for ``vscm serve --demo``: its manifest, its lenders' index (every event of the
    chain so far), a 30-day console token for each of ``CONSOLE_PARTIES`` and the bank's keystore for signing in
    the page (passphrase ``KEYSTORE_PASSPHRASE``; keys of the public demo seed: never use them for real).
    The chain itself is kept by the caller (anvil's state file ``CHAIN_STATE``). Returns ``directory``."""
    from vscm.audit.source import source_for
    from vscm.console.app import mint
    from vscm.index import open_index

    directory.mkdir(parents=True, exist_ok=True)
    platform.deployment.save(directory / "deployment.json")
    index_file = directory / "index.sqlite"
    index_file.unlink(missing_ok=True)
    with open_index(index_file) as index:
        index.update(source_for(platform.chain), platform.deployment)
    for name in CONSOLE_PARTIES:
        token = directory / f"{name}.token"
        token.write_text(mint(getattr(cast, name), platform.deployment, hours=30 * 24) + "\n")
        token.chmod(0o600)
    keystore = directory / "bank.keystore.json"
    keystore.write_text(json.dumps(Account.encrypt(cast.bank.key, KEYSTORE_PASSPHRASE, kdf="scrypt",
                                                   iterations=KEYSTORE_SCRYPT_N)) + "\n")
    keystore.chmod(0o600)
    return directory


def vscm_command() -> str:
    """How to type the ``vscm`` of this environment: ``vscm`` when it is the one on $PATH, else the
    console script beside this Python (``.venv/bin/vscm`` after ``make demo``), relative when under here."""
    import shutil

    script = Path(sys.executable).parent / "vscm"
    if not script.exists() or shutil.which("vscm") == str(script):
        return "vscm"
    try:
        return str(script.relative_to(Path.cwd()))
    except ValueError:
        return str(script)


def say_console(directory: Path, warned: int | None = None) -> None:
    """How to open the console (the web pages and HTTP API of `vscm serve`) on the demo's data."""
    console.print("\n[bold]The console")
    console.print(f"  The demo's chain and data are kept in {directory}. Open them in the console (it starts the "
                  "demo's chain again on a local anvil node):")
    console.print(f"    {vscm_command()} serve --demo")
    if warned is not None:
        console.print(f"  then open http://127.0.0.1:8080/ and sign in as Silk Road Bank with its keystore "
                      f"{directory / 'bank.keystore.json'} (passphrase {KEYSTORE_PASSPHRASE}): loan #{warned} is "
                      "warned and waits for its decision, signed in the page.")
    console.print("  Open http://127.0.0.1:8080/ , or call the API as Silk Road Bank (tokens for "
                  f"{', '.join(CONSOLE_PARTIES)} are in that directory; OpenAPI at /docs):")
    console.print(f'    curl -H "Authorization: Bearer $(cat {directory / "bank.token"})" '
                  "http://127.0.0.1:8080/api/me")


def replay_as_auditor(platform: Platform) -> None:
    """Chang'an Audit rebuilds the state from the events and compares it with the contracts."""
    from vscm.audit.audit import audit_chain

    outcome = audit_chain(platform.chain, platform.deployment)
    r = outcome.report
    step(f"Chang'an Audit replayed blocks {r['from_block']}–{r['to_block']}: {r['events']} events rebuilt "
         f"{sum(r['entities'].values())} records, compared with the contracts at block {r['to_block']} → "
         f"{r['verdict']}")
    for finding in outcome.findings:
        console.print(f"    [red]{finding}")


def pass_time(chain: Chain, seconds: int, *, until: int) -> None:
    """The story's time passes: a dev chain's clock moves ``seconds`` (the interest the story prints is that of
    exactly this much time); a network, whose clock is real time and a second a day (``NETWORK_DAY``), waits
    only until a block is stamped ``until`` (the loan's maturity the story's next step is set at, a grace period
    the contract checks), not ``seconds`` more after the seconds the writes before it took already."""
    if chain.is_dev:
        chain.let_time_pass(seconds)
    elif until > chain.timestamp():
        chain.let_time_pass(until - chain.timestamp())


def finance(platform: Platform, cast: Cast, chain_id: int, day: int = DAY) -> None:
    """The paper's four financing modes end to end, and a late default covered by the guarantor; the loans'
    terms and the time that passes are counted in ``day`` seconds (see :func:`run`)."""
    chain = platform.chain
    bank, core, wh = cast.bank, cast.core, cast.warehouse
    orders, assets, funds = platform.orders, platform.assets, platform.funds
    now = chain.timestamp()

    def order(buyer: LocalAccount, seller: LocalAccount, amount: int, accept: bool = True) -> int:
        oid = platform.orders.as_(buyer).place(seller.address, chain_id, "CNY", amount, now + 120 * DAY).id
        if accept:
            platform.orders.as_(seller).accept(oid)
        return oid

    def deliver(oid: int, seller: LocalAccount) -> None:
        platform.orders.as_(seller).ship(oid, cast.carrier.address, wh.address)
        platform.orders.as_(wh).deliver(oid)

    def invoice(oid: int, seller: LocalAccount) -> None:
        platform.orders.as_(seller).invoice(oid, f"INV-{oid:06d}", doc_hash(f"invoice-{oid}"))

    # 1. Pledge: Baoji pledges steel coil in the bonded warehouse to buy rubber from Lanzhou. (Writes that do
    # not depend on each other go `together`: on a network they share a block.)
    _, lot_issued, purpose_placed = together(platform, [
        (bank, platform.cash("CNY").as_(bank).build.mint(bank.address, 2_000_000_00, keccak(text="bank:reserves"))),
        (wh, assets.as_(wh).build.register_receipt(cast.supplier_a.address, "XY-2026-0117", 500, "t", "CNY",
                                                   400_000_00, doc_hash("lot: 500 t cold-rolled coil"))),
        (cast.supplier_a, orders.as_(cast.supplier_a).build.place(cast.supplier_b.address, chain_id, "CNY",
                                                                  150_000_00, now + 120 * DAY))])
    lot, purpose1 = lot_issued.id, purpose_placed.id
    orders.as_(cast.supplier_b).accept(purpose1)
    pledge = originate(platform, Origination(
        LoanMode.PLEDGE, lot, cast.supplier_a, bank, 200_000_00, 650, 90 * day, 6_000, purpose1,
        guarantor=core, supervisor=wh.address))
    step(f"pledge loan #{pledge}: the warehouse issued receipt #{lot} (500 t coil, {yuan(400_000_00)}) to Baoji; "
         f"Xi'an Motors guaranteed; the bank lent {yuan(200_000_00)} at 6.50 % within a 60 % LTV")
    together(platform, [
        (cast.supplier_a, funds.as_(cast.supplier_a).build.spend(pledge, cast.supplier_b.address, 150_000_00,
                                                                 "rubber order")),
        (cast.supplier_b, orders.as_(cast.supplier_b).build.ship(purpose1, cast.carrier.address, wh.address))])
    *_, sale_placed = together(platform, [
        (wh, orders.as_(wh).build.deliver(purpose1)),
        (cast.supplier_a, funds.as_(cast.supplier_a).build.spend(pledge, cast.carrier.address, 6_000_00, "freight")),
        # 2. (below) the sale Lanzhou's receivable comes from
        (core, orders.as_(core).build.place(cast.supplier_b.address, chain_id, "CNY", 180_000_00, now + 120 * DAY))])
    step("Baoji paid Lanzhou CNY 150,000.00 and the carrier CNY 6,000.00 from the loan; "
         "a payment to anyone else would be refused")
    try:
        platform.funds.as_(cast.supplier_a).spend(pledge, cast.seller.address, 1_000_00, "elsewhere")
    except ContractRevert as exc:
        step(f"Baoji tried to pay Urumqi Trading from the loan → refused: {exc.name}")

    # 2. Receivable: Lanzhou's invoice on Xi'an Motors, confirmed by the debtor, finances its wire purchase.
    sale = sale_placed.id
    orders.as_(cast.supplier_b).accept(sale)
    deliver(sale, cast.supplier_b)
    invoice(sale, cast.supplier_b)
    receivable = platform.assets.as_(cast.supplier_b).register_receivable(sale).id
    _, purpose_placed = together(platform, [
        (core, assets.as_(core).build.confirm_receivable(receivable)),
        (cast.supplier_b, orders.as_(cast.supplier_b).build.place(cast.supplier_a.address, chain_id, "CNY",
                                                                  60_000_00, now + 120 * DAY))])
    purpose2 = purpose_placed.id
    orders.as_(cast.supplier_a).accept(purpose2)
    recv_loan = originate(platform, Origination(
        LoanMode.RECEIVABLE, receivable, cast.supplier_b, bank, 150_000_00, 550, 30 * day, 9_000, purpose2))
    _, vehicles_placed = together(platform, [
        (cast.supplier_b, funds.as_(cast.supplier_b).build.spend(recv_loan, cast.supplier_a.address, 60_000_00,
                                                                 "steel wire")),
        # 3. (below) the vehicles Urumqi Trading orders
        (cast.seller, orders.as_(cast.seller).build.place(core.address, chain_id, "CNY", 250_000_00,
                                                          now + 120 * DAY))])
    step(f"receivable loan #{recv_loan}: Lanzhou's invoice on Xi'an Motors ({yuan(180_000_00)}), confirmed by "
         f"the debtor, backs {yuan(150_000_00)}; Lanzhou paid Baoji {yuan(60_000_00)} from it")

    # 3. Prepayment: Urumqi Trading pledges its right to vehicles it ordered; the bank pays the maker.
    vehicles = vehicles_placed.id
    orders.as_(core).accept(vehicles)
    right = platform.assets.as_(cast.seller).register_future_goods(vehicles).id
    prepay = originate(platform, Origination(
        LoanMode.PREPAYMENT, right, cast.seller, bank, 200_000_00, 600, 60 * day, 8_000))
    step(f"prepayment loan #{prepay}: Urumqi Trading pledged its right to order #{vehicles}; the bank paid "
         f"Xi'an Motors {yuan(200_000_00)} directly")
    deliver(vehicles, core)
    stock = platform.assets.as_(wh).register_receipt(cast.seller.address, "XY-2026-0342", 50, "vehicles", "CNY",
                                                     250_000_00, doc_hash("50 light trucks"), order_id=vehicles).id
    platform.loans.as_(bank).convert_collateral(prepay, stock)
    invoice(vehicles, core)
    _, parts_placed = together(platform, [
        (cast.seller, orders.as_(cast.seller).build.settle(vehicles)),
        # 4. (below) the parts Xi'an Motors orders from Baoji
        (core, orders.as_(core).build.place(cast.supplier_a.address, chain_id, "CNY", 90_000_00, now + 120 * DAY))])
    step(f"the vehicles arrived: receipt #{stock} (50 vehicles) now secures the loan, held for the bank; "
         f"Urumqi paid the remaining {yuan(50_000_00)} of the order")

    # 4. Payable: Xi'an Motors confirms what it owes Baoji; Baoji finances it.
    parts = parts_placed.id
    orders.as_(cast.supplier_a).accept(parts)
    deliver(parts, cast.supplier_a)
    invoice(parts, cast.supplier_a)
    payable_issued, purpose_placed = together(platform, [
        (core, assets.as_(core).build.register_payable(parts)),
        (cast.supplier_a, orders.as_(cast.supplier_a).build.place(cast.supplier_b.address, chain_id, "CNY",
                                                                  30_000_00, now + 120 * DAY))])
    payable, purpose4 = payable_issued.id, purpose_placed.id
    orders.as_(cast.supplier_b).accept(purpose4)
    pay_loan = originate(platform, Origination(
        LoanMode.PAYABLE, payable, cast.supplier_a, bank, 85_000_00, 500, 30 * day, 9_500, purpose4))
    platform.funds.as_(cast.supplier_a).spend(pay_loan, cast.supplier_b.address, 30_000_00, "seals")
    step(f"payable loan #{pay_loan}: Xi'an Motors confirmed its payable of {yuan(90_000_00)} to Baoji; "
         f"the bank advanced {yuan(85_000_00)}")

    # A loan that goes bad: Lanzhou pledges rubber stock and never repays; the guarantor pays.
    lot2 = platform.assets.as_(wh).register_receipt(cast.supplier_b.address, "XY-2026-0388", 80, "t", "CNY",
                                                    100_000_00, doc_hash("lot: 80 t EPDM")).id
    purpose5 = order(cast.supplier_b, cast.supplier_a, 40_000_00)
    bad = originate(platform, Origination(
        LoanMode.PLEDGE, lot2, cast.supplier_b, bank, 40_000_00, 700, 30 * day, 5_000, purpose5,
        guarantor=core, supervisor=wh.address))
    platform.funds.as_(cast.supplier_b).spend(bad, cast.supplier_a.address, 38_000_00, "raw rubber")

    # Time passes: repayments, settlements, and one default. On a network the story's days are counted from
    # the loans' own clocks (their maturities), not again after the seconds the writes above took.
    loans = platform.loans
    pass_time(chain, 30 * day, until=max(loans.loan(recv_loan).maturity, loans.loan(pay_loan).maturity))
    platform.loans.as_(cast.supplier_a).repay(pledge, 100_000_00)
    step("30 days later Baoji repaid CNY 100,000.00: half the coil is released from the pledge")
    platform.orders.as_(core).settle(sale)
    platform.loans.as_(cast.supplier_b).collect(recv_loan)
    platform.orders.as_(core).settle(parts)
    platform.loans.as_(cast.supplier_a).collect(pay_loan)
    step("Xi'an Motors paid both invoices at maturity: the bank was repaid through the platform, "
         "the surplus went to the suppliers")
    platform.cash("CNY").as_(bank).mint(cast.seller.address, 250_000_00, keccak(text="seller:vehicle-sales"))
    platform.loans.as_(cast.seller).repay(prepay, 120_000_00)
    pass_time(chain, 30 * day, until=loans.loan(prepay).maturity)
    prepay_left = platform.loans.loan(prepay).outstanding_now
    platform.loans.as_(cast.seller).repay(prepay, prepay_left)
    step(f"Urumqi Trading repaid its prepayment loan in two parts as it sold the vehicles "
         f"(last part {yuan(prepay_left)}); the vehicles were released in step")
    pledge_left = platform.loans.loan(pledge).outstanding_now
    platform.loans.as_(cast.supplier_a).repay(pledge, pledge_left)
    step(f"Baoji repaid the rest of its pledge loan ({yuan(pledge_left)} with interest)")
    # The LoanBook lets the lender declare a default once the maturity and the grace period (7 days) are over.
    pass_time(chain, 8 * day, until=loans.loan(bad).maturity + 7 * day + 1)
    platform.loans.as_(bank).mark_default(bad)
    covered = platform.loans.loan(bad)
    step(f"loan #{bad} was late past the grace period: the bank declared it defaulted; the unspent "
         f"{yuan(2_000_00)} came back to the bank first")
    step(f"the guarantor Xi'an Motors was charged {yuan(covered.guarantor_paid)} out of the "
         f"{yuan(covered.principal)} it had committed (the rest came back to it), which closed the loan")
    step("Xi'an Motors took over the bank's claim: the pledged rubber went to it, not back to Lanzhou")

    console.print()
    for loan_id in (pledge, recv_loan, prepay, pay_loan, bad):
        console.print(loan_table(platform, cast, loan_id))


def certificate(platform: Platform, cast: Cast, chain_id: int, day: int = DAY) -> None:
    """Xi'an Motors' payable to Baoji becomes a certificate that pays Lanzhou (tier 2) and Urumqi Trading
    (tier 3); Urumqi sells its part to the bank; at maturity the core pays once and every holder is paid."""
    chain, certs = platform.chain, platform.certificates
    core, tier1, tier2, tier3, bank = cast.core, cast.supplier_a, cast.supplier_b, cast.seller, cast.bank
    orders, wh = platform.orders, cast.warehouse

    def order(buyer: LocalAccount, seller: LocalAccount, amount: int, invoiced: bool) -> int:
        oid = orders.as_(buyer).place(seller.address, chain_id, "CNY", amount, chain.now() + 120 * day).id
        orders.as_(seller).accept(oid)
        orders.as_(seller).ship(oid, cast.carrier.address, wh.address)
        if invoiced:
            invoice(oid, seller)
        return oid

    def invoice(oid: int, seller: LocalAccount) -> None:
        orders.as_(wh).deliver(oid)
        orders.as_(seller).invoice(oid, f"INV-{oid:06d}", doc_hash(f"invoice-{oid}"))

    axles = order(core, tier1, 120_000_00, invoiced=True)
    # 60 days (on a network, 60 s of real time: the splits, payments and sale take about 20 blocks of it; the
    # contract does not tie them to maturity, so a slow machine only makes the story's order approximate)
    term = 60 * day
    maturity = chain.now() + term
    issued = certs.as_(core).issue(axles, maturity)
    cid = issued.id
    root = certs.certificate(cid).root_part
    step(f"certificate #{cid}: Xi'an Motors turned its payable for order #{axles} ({yuan(120_000_00)}) into a "
         f"certificate payable in 60 days; Baoji holds part #{root}")
    rubber = order(tier1, tier2, 50_000_00, invoiced=False)
    part2 = certs.as_(tier1).pay(root, rubber, 50_000_00).id
    step(f"Baoji paid its order #{rubber} from Lanzhou with {yuan(50_000_00)} of it (part #{part2})")
    latex = order(tier2, tier3, 25_000_00, invoiced=False)
    part3 = certs.as_(tier2).pay(part2, latex, 20_000_00).id
    step(f"Lanzhou paid {yuan(20_000_00)} of its order #{latex} from Urumqi Trading ({yuan(25_000_00)}) with "
         f"part #{part3}: the core's credit reached tier 3")
    invoice(rubber, tier2)
    invoice(latex, tier3)
    before = platform.cash("CNY").balance(tier2.address)
    for oid, buyer in ((axles, core), (rubber, tier1), (latex, tier2)):
        orders.as_(buyer).settle(oid)
    step(f"the three orders were settled: the certificate had paid orders #{axles} and #{rubber} in full, "
         f"Lanzhou paid the {yuan(before - platform.cash('CNY').balance(tier2.address))} the certificate did "
         f"not cover of order #{latex}")
    price = 19_600_00
    certs.as_(tier3).offer(part3, bank.address, price)
    platform.cash("CNY").as_(bank).approve(certs.address, price)
    asset = certs.as_(bank).accept_offer(part3).id
    step(f"Urumqi Trading sold part #{part3} to Silk Road Bank for {yuan(price)} (2 % discount on the core's "
         f"credit); the part is asset #{asset}, locked: it can no longer be split or paid on")
    try:
        certs.as_(tier3).split(part3, 1_000_00)
    except ContractRevert as exc:
        step(f"Urumqi tried to split the sold part → refused: {exc.name}")
    # Past maturity: a dev chain's clock moves the whole term; a network waits out only what is left of it.
    chain.let_time_pass(term if chain.is_dev else max(maturity - chain.timestamp(), 1))
    platform.cash("CNY").as_(core).approve(certs.address, 120_000_00)
    certs.as_(core).pay_in(cid, 120_000_00)
    paid = []
    for part_id in (root, part2, part3):
        claimed = certs.as_(core).claim(part_id)
        paid.append(f"{cast.label(claimed.event['payee'])} {yuan(claimed.event['amount'])}")
    step(f"at maturity Xi'an Motors paid {yuan(120_000_00)} once; each part claimed its share: " + ", ".join(paid))
    c = certs.certificate(cid)
    step(f"certificate #{cid}: face {yuan(c.face)}, paid in {yuan(c.paid_in)}, redeemed {yuan(c.redeemed)}; "
         f"the bank's asset #{asset} is {platform.assets.asset(asset).status.name.lower()}")


def loan_table(platform: Platform, cast: Cast, loan_id: int) -> Table:
    acct = loan_account(platform, loan_id)
    ln = acct.loan
    status = ln.status.name.lower().replace("_", " ")
    if ln.defaulted_at:
        status = f"defaulted, then {status}" + (" by the guarantor" if ln.guarantor_paid else "")
    t = Table(title=f"loan #{loan_id} — {ln.mode.name.lower()} — {status}", show_header=False,
              title_justify="left")
    t.add_column("field", style="bold")
    t.add_column("value")
    code = platform.currency_code(ln.currency)
    t.add_row("borrower → lender", f"{cast.label(ln.borrower)} → {cast.label(ln.lender)}"
              + (f" (guarantor {cast.label(ln.guarantor)})" if ln.guarantor else ""))
    term = f"{ln.term_seconds // DAY} days" if ln.term_seconds % DAY == 0 else f"{ln.term_seconds} s"
    t.add_row("principal, rate, term", f"{yuan(ln.principal, code)} at {ln.rate_bps / 100:.2f} %, {term}")
    t.add_row("interest accrued", yuan(ln.interest_accrued, code))
    t.add_row("repaid (principal + interest)", f"{yuan(ln.principal_repaid, code)} + {yuan(ln.interest_paid, code)}"
              + (f" (guarantor paid {yuan(ln.guarantor_paid, code)})" if ln.guarantor_paid else ""))
    t.add_row("outstanding", yuan(ln.outstanding_now, code))
    t.add_row("collateral", f"{acct.collateral}: {acct.pledged}")
    trail = "; ".join(f"hop {h['hop']}: {yuan(int(str(h['amount'])), code)} → {cast.label(str(h['to']))} ({h['purpose']})"
                      for h in acct.trail)
    t.add_row("money trail", trail or "-")
    t.add_row("tracked, unspent", yuan(acct.held_by_borrower, code))
    if acct.released:
        t.add_row("released after repayment", yuan(acct.released, code))
    if acct.returned:
        t.add_row("returned to the lender", yuan(acct.returned, code))
    return t


def report(platform: Platform, cast: Cast) -> None:
    members = Table("member", "address", "roles", "tier", "status", "chain")
    for m in platform.members.members():
        members.add_row(m.name, m.address[:10] + "…", ", ".join(r.label for r in m.roles), m.tier.name,
                        m.status.name.lower(), str(m.chain_id or "-"))
    console.print(members)

    names = {m.address: m.name for m in platform.members.members()}
    orders = Table("order", "buyer", "seller", "amount", "terms", "status", "documents")
    for o in platform.orders.orders():
        full = platform.orders.order(o.order_id)
        kinds = ", ".join(d.kind.name.lower().replace("_", " ") for d in full.documents) or "-"
        terms = f"{o.incoterm} → {o.destination_country}" if o.overseas else "domestic"
        orders.add_row(f"#{o.order_id}", names.get(o.buyer, o.buyer), names.get(o.seller, o.seller),
                       yuan(o.amount, platform.currency_code(o.currency)), terms, o.status.name.lower(), kinds)
    console.print(orders)

    balances = Table("party", *platform.currencies)
    for name in cast.__dataclass_fields__:
        address = getattr(cast, name).address
        balances.add_row(NAMES[name], *(yuan(platform.cash(c).balance(address), c) for c in platform.currencies))
    supply = [yuan(platform.cash(c).total_supply(), c) for c in platform.currencies]
    balances.add_row("[bold]total supply", *supply)
    console.print(balances)


def main(argv: list[str] | None = None) -> int:
    """``python -m vscm.demo`` on a local anvil node kept for the console; ``--network NAME`` on a network of `vscm network up`
    (or comma-separated URLs of one), where the deployment manifest is kept for the CLI's ``--network NAME``."""
    import argparse

    from vscm.cli.session import NetworkChoice, manifest_path, open_chain, vscm_home

    parser = argparse.ArgumentParser(prog="python -m vscm.demo", description="The VSCM demo story.")
    parser.add_argument("--network", default=None, metavar="NAME",
                        help="run the story on a network of `vscm network up` (its name, or comma-separated "
                             f"URLs): a day of the loans lasts {NETWORK_DAY} s of real time there")
    args = parser.parse_args(argv)
    try:
        if args.network is None:
            directory = vscm_home() / "demo"
            state = directory / CHAIN_STATE
            directory.mkdir(parents=True, exist_ok=True)
            state.unlink(missing_ok=True)
            # A local anvil node whose state is written to the demo's directory when it stops, for the console.
            with connect("anvil", state_file=state) as chain:
                platform = run(chain=chain)
                cast = Cast.from_seed()
                warned = leave_a_warned_loan(platform, cast)
                step(f"the risk monitor warned loan #{warned}: it waits for Silk Road Bank's decision, in the "
                     "console")
                kept = keep_for_console(platform, cast, directory)
            say_console(kept, warned)
            return 0
        choice = NetworkChoice(args.network, None, poa=True, gas_price="auto")
        with open_chain(choice) as chain:
            run(out=manifest_path(choice), chain=chain, day=NETWORK_DAY)
        console.print(f"\n  The deployment is kept in {manifest_path(choice)}: every `{vscm_command()} ... "
                      f"--network {args.network}` command reads it.")
    except VscmError as exc:
        console.print(f"[red]demo failed: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
