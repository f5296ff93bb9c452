"""The control mechanism in the demo: a borrower who diverts loan money, and a colluding chain.

Called by :mod:`vscm.demo` after the healthy financing flows. Two more supply chains join the
platform; the risk monitor (an independent member with its own key) follows the whole history:

- Tianshui chain: Maiji Castings borrows against its receivable and tries to pay its own holding
  company from the loan. The refused payment is on chain; the monitor raises an alert, the loan is
  warned, the bank recalls it, and exactly the unspent loan money comes back to the bank.
- Hami chain: three members invoice each other round a circle for nearly equal amounts and finance
  the invoices with two lenders. The monitor raises a circular-trading alert on the chain; the
  operator proposes a fraud finding with the alert's evidence, the auditor co-signs, the whole chain
  is evicted, its loans' money frozen, and each exposed lender gets its notice.

The healthy chain of the demo raises no alert.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3.logs import DISCARD

from vscm.client.financing import Origination, originate
from vscm.client.platform import Platform
from vscm.client.records import Decision, LoanMode, Role, Status, Tier
from vscm.client.workflows import Write, doc_hash, sme_application, together
from vscm.errors import ContractRevert
from vscm.risk.events import indicator_name
from vscm.risk.monitor import Monitor, RaisedAlert

__all__ = ["ControlCast", "control"]

DAY = 24 * 3600


@dataclass(frozen=True)
class ControlCast:
    monitor: LocalAccount
    bank2: LocalAccount
    tianshui: LocalAccount
    maiji: LocalAccount
    qinzhou: LocalAccount
    maiji_holdings: LocalAccount
    hami: LocalAccount
    barkol: LocalAccount
    yiwu: LocalAccount

    @classmethod
    def from_seed(cls, seed: str = "vscm-demo") -> ControlCast:
        return cls(**{name: Account.from_key(keccak(text=f"{seed}:{name}")) for name in cls.__dataclass_fields__})


NAMES = {
    "monitor": "Dunhuang Risk Watch",
    "bank2": "Jade Gate Credit Union",
    "tianshui": "Tianshui Machinery (core)",
    "maiji": "Maiji Castings",
    "qinzhou": "Qinzhou Pig Iron",
    "maiji_holdings": "Maiji Holdings",
    "hami": "Hami Energy Equipment (core)",
    "barkol": "Barkol Trading",
    "yiwu": "Yiwu Components",
}


def control(platform: Platform, cast: Any, step: Any, console: Any, yuan: Any) -> dict[str, Any]:
    """Run both scenes; ``cast`` is the main demo's cast (bank, auditor, operator, carrier, warehouse).

    Returns what happened, for the demo's tests and report."""
    chain = platform.chain
    cc = ControlCast.from_seed()
    if chain.faucet is not None:  # a free-gas network needs none
        for name in cc.__dataclass_fields__:
            chain.fund(getattr(cc, name).address, 10**20)
    op, bank, auditor, wh, carrier = cast.operator, cast.bank, cast.auditor, cast.warehouse, cast.carrier
    console.print("\n[bold]6. Control: the risk monitor reads the platform's history")
    registry = platform.members

    def applies(who: str, roles: list[Role]) -> Write:
        return getattr(cc, who), sme_application(platform, getattr(cc, who), roles, NAMES[who])

    def admitted(who: str) -> Write:
        return op, registry.as_(op).build.approve(getattr(cc, who).address)

    # Writes that do not depend on each other go `together` (on a network they share a block).
    together(platform, [applies("monitor", [Role.MONITOR]), applies("bank2", [Role.FINANCIER])])
    together(platform, [admitted("monitor"), admitted("bank2")])
    together(platform, [(op, platform.cash(code).as_(op).build.set_mint_cap(cc.bank2.address, 10_000_000_00))
                        for code in platform.currencies])
    step(f"{NAMES['monitor']} joined as the platform's risk monitor, {NAMES['bank2']} as a second lender")

    def join(core: str, smes: tuple[tuple[str, Role], ...], chain_name: str, *deposits: Write) -> int:
        """The core applies and is attested by the bank and the auditor, the SMEs apply and are admitted (as
        `certify_core` and `onboard_sme` do, side by side); the core forms its chain, the SMEs join it (as
        `form_chain` does), ``deposits`` are minted meanwhile. Returns the chain's id."""
        account = getattr(cc, core)
        together(platform, [(account, registry.as_(account).build.apply(
            [Role.MANUFACTURER], Tier.CORE, keccak(text=f"licence:{core}"), chain.now() + 365 * DAY, NAMES[core])),
            *(applies(who, [role]) for who, role in smes)])
        together(platform, [(bank, registry.as_(bank).build.attest(account.address, Role.FINANCIER)),
                            (auditor, registry.as_(auditor).build.attest(account.address, Role.AUDITOR)),
                            *(admitted(who) for who, _ in smes)])
        chain_id = registry.as_(account).create_chain(chain_name).id
        together(platform, [*((getattr(cc, who), registry.as_(getattr(cc, who)).build.request_join(chain_id))
                              for who, _ in smes), *deposits])
        together(platform, [(account, registry.as_(account).build.approve_join(chain_id, getattr(cc, who).address))
                            for who, _ in smes])
        return chain_id

    def trade(buyer: LocalAccount, seller: LocalAccount, chain_id: int, amount: int, to: str = "invoiced") -> int:
        orders = platform.orders
        oid = int(orders.as_(buyer).place(seller.address, chain_id, "CNY", amount, chain.now() + 90 * DAY).id)
        orders.as_(seller).accept(oid)
        if to == "accepted":
            return oid
        orders.as_(seller).ship(oid, carrier.address, wh.address)
        orders.as_(wh).deliver(oid)
        orders.as_(seller).invoice(oid, f"INV-{oid:06d}", doc_hash(f"invoice-{oid}"))
        return oid

    def show(alerts: list[RaisedAlert]) -> None:
        for a in alerts:
            f = a.finding
            what = indicator_name(f.indicator)
            target = f"loan #{f.subject_id}" if f.subject == "loan" else f"supply chain #{f.subject_id}"
            result = f"alert #{a.alert_id}" if a.alert_id else f"not raised ({a.error})"
            step(f"monitor: {what} (indicator {f.indicator}, severity {f.severity}) on {target} → {result}, "
                 f"evidence {a.evidence[:12]}…")

    monitor = Monitor(platform, cc.monitor)
    raised = monitor.step()
    step(f"the monitor read the whole history so far (blocks {platform.deployment.block}–{monitor.cursor}) "
         f"and raised {len(raised)} alert(s):")
    show(raised)
    out: dict[str, Any] = {"history_alerts": raised}

    # ------------------------------------------------------------ scene A: diverted loan money
    console.print("\n[bold]7. Control: a borrower diverts loan money")
    tianshui = join("tianshui", (("maiji", Role.SUPPLIER), ("qinzhou", Role.SUPPLIER), ("maiji_holdings", Role.SELLER)),
                    "Tianshui chain")
    sale = trade(cc.tianshui, cc.maiji, tianshui, 150_000_00)
    receivable = platform.assets.as_(cc.maiji).register_receivable(sale).id
    platform.assets.as_(cc.tianshui).confirm_receivable(receivable)
    iron = trade(cc.maiji, cc.qinzhou, tianshui, 100_000_00, to="accepted")
    loan = originate(platform, Origination(LoanMode.RECEIVABLE, receivable, cc.maiji, bank, 120_000_00, 600,
                                           60 * DAY, 8_000, iron))
    platform.funds.as_(cc.maiji).spend(loan, cc.qinzhou.address, 45_000_00, "pig iron")
    step(f"supply chain #{tianshui} (Tianshui): Maiji Castings borrowed {yuan(120_000_00)} (loan #{loan}) against "
         f"its invoice on Tianshui Machinery, to buy pig iron; it paid Qinzhou {yuan(45_000_00)}")
    try:  # as `vscm loan spend` does: a refused payment is sent all the same, it lands and fails
        platform.funds.as_(cc.maiji).spend(loan, cc.maiji_holdings.address, 60_000_00, "cash advance",
                                           refusal_on_chain=True)
    except ContractRevert as exc:
        step(f"Maiji tried to move {yuan(60_000_00)} of it to Maiji Holdings → the transaction failed on chain: "
             f"{exc.name}")
    alerts = monitor.step()
    show(alerts)
    held = platform.funds.funds(loan).unspent
    status = platform.loans.loan(loan)
    frozen = " (frozen by the warning)" if platform.funds.funds(loan).frozen else ""
    deadline = datetime.fromtimestamp(status.warning_deadline, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    step(f"loan #{loan} is {status.status.name.lower()}; the bank must decide by the deadline, {deadline} in "
         f"the chain's time; unspent tracked money: {yuan(held)}{frozen}")
    before = platform.cash("CNY").balance(bank.address)
    platform.risk.as_(bank).decide(loan, Decision.RECALL)
    back = platform.cash("CNY").balance(bank.address) - before
    after = platform.loans.loan(loan)
    where = platform.funds.whereabouts(loan)
    step(f"the bank recalled loan #{loan}: {yuan(back)} came back to it — exactly the unspent part; the "
         f"{yuan(where.paid.get(cc.qinzhou.address, 0))} paid to Qinzhou stays paid; "
         f"Maiji still owes {yuan(after.outstanding_now)}, due now")
    out.update(diversion_loan=loan, diversion_alerts=alerts, unspent=held, intercepted=back)

    # ------------------------------------------------------------ scene B: a colluding chain
    console.print("\n[bold]8. Control: a colluding supply chain")
    # Hami Energy guarantees Barkol's pledge below: a guarantee is money committed, so it holds some.
    lending = platform.cash("CNY").as_(cc.bank2).build
    hami = join("hami", (("barkol", Role.SELLER), ("yiwu", Role.SUPPLIER)), "Hami chain",
                (cc.bank2, lending.mint(cc.bank2.address, 500_000_00, keccak(text="bank2:reserves"))),
                (cc.bank2, lending.mint(cc.hami.address, 100_000_00, keccak(text="hami:deposit"))))
    circle = [trade(cc.yiwu, cc.barkol, hami, 300_000_00), trade(cc.hami, cc.yiwu, hami, 300_000_00)]
    step(f"supply chain #{hami} (Hami): Barkol invoiced Yiwu {yuan(300_000_00)}, Yiwu invoiced Hami Energy "
         f"{yuan(300_000_00)}")
    receivable2 = platform.assets.as_(cc.yiwu).register_receivable(circle[1]).id
    platform.assets.as_(cc.hami).confirm_receivable(receivable2)
    parts = trade(cc.yiwu, cc.barkol, hami, 200_000_00, to="accepted")
    loan1 = originate(platform, Origination(LoanMode.RECEIVABLE, receivable2, cc.yiwu, bank, 240_000_00, 600,
                                            60 * DAY, 8_000, parts))
    platform.funds.as_(cc.yiwu).spend(loan1, cc.barkol.address, 150_000_00, "parts")
    lot = platform.assets.as_(wh).register_receipt(cc.barkol.address, "XY-2026-0911", 200, "t", "CNY", 250_000_00,
                                                   doc_hash("lot: 200 t copper cable")).id
    cable = trade(cc.barkol, cc.hami, hami, 90_000_00, to="accepted")
    loan2 = originate(platform, Origination(LoanMode.PLEDGE, lot, cc.barkol, cc.bank2, 100_000_00, 650, 60 * DAY,
                                            5_000, cable, guarantor=cc.hami, supervisor=wh.address))
    platform.funds.as_(cc.barkol).spend(loan2, cc.hami.address, 30_000_00, "cable")
    step(f"Yiwu financed its invoice on Hami with the bank (loan #{loan1}, {yuan(240_000_00)}); Barkol pledged "
         f"copper cable with {NAMES['bank2']} (loan #{loan2}, {yuan(100_000_00)})")
    circle.append(trade(cc.barkol, cc.hami, hami, 298_000_00))
    step(f"Hami Energy invoiced Barkol {yuan(298_000_00)}: the money would go round the circle and net to "
         f"{yuan(2_000_00)}")
    alerts = monitor.step()
    show(alerts)
    chain_alert = next((a for a in alerts if a.finding.subject == "chain" and a.alert_id), None)
    out.update(collusion_alerts=alerts, colluding_chain=hami, collusion_loans=(loan1, loan2))
    if chain_alert is None:
        step("the monitor raised no chain alert: no fraud finding")
        return out
    evidence = bytes.fromhex(chain_alert.evidence[2:])
    platform.risk.as_(op).propose_fraud(hami, evidence)
    step(f"the operator proposed a fraud finding on chain #{hami} with the alert's evidence")
    platform.risk.as_(auditor).confirm_fraud(hami, evidence)
    receipt = platform.last_receipt
    members = [cc.hami, cc.barkol, cc.yiwu]
    evicted = [m for m in members if platform.members.status(m.address) == Status.EVICTED]
    step(f"Chang'an Audit co-signed: {len(evicted)} of {len(members)} members of chain #{hami} evicted; members "
         f"of other chains untouched (Maiji Castings: {platform.members.status(cc.maiji.address).name.lower()})")
    notices = [dict(e) for e in platform.risk.contract.events.LenderExposed().process_receipt(receipt, errors=DISCARD)]
    names = {bank.address: "Silk Road Bank", cc.bank2.address: NAMES["bank2"]}
    for n in notices:
        args = n["args"]
        step(f"notice to {names.get(args['lender'], args['lender'])}: {args['loans']} loan(s), "
             f"{yuan(args['outstanding'])} outstanding, {yuan(args['frozen'])} of loan money frozen")
    out.update(evicted=len(evicted), notices=[n["args"] for n in notices])
    return out
