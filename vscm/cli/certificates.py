"""``vscm cert``: payable certificates, from the core's issue down the tiers to every holder's claim.

    vscm cert issue 12 --maturity 2027-03-31 --wallet core            # the core's invoiced order 12
    vscm cert pay 1 15 40000 --wallet tier1                           # part 1 pays 40,000.00 of order 15
    vscm cert split 2 5000 --wallet tier2                             # keep 5,000.00 of part 2 aside
    vscm cert finance 3 --financier bank --price 24000 --wallet tier3 # offer part 3 to the bank
    vscm cert finance 3 --accept --wallet bank                        # the bank buys it (approves the price)
    vscm cert redeem 1 --amount 100000 --wallet core                  # the core pays in (approves the amount)
    vscm cert redeem 1 --all --wallet anyone                          # every part's claim to its payee
    vscm cert admit 2 --wallet core                                   # chain 2's members may take its parts
    vscm cert dismiss 2 --wallet core                                 # ... and no longer
    vscm cert show 1 --json
    vscm cert tree 1
"""

from __future__ import annotations

from typing import Any

import click
from eth_account.signers.local import LocalAccount

from vscm.cli.common import platform_command, signed_command, tx_result
from vscm.cli.output import emit, json_option, key_value_table, money
from vscm.cli.params import AMOUNT, DATE
from vscm.cli.session import PARTY
from vscm.client.certificates import Part
from vscm.client.platform import Platform
from vscm.errors import InputError

__all__ = ["cert"]

ID = click.IntRange(min=1)


@click.group("cert")
def cert() -> None:
    """Payable certificates: issue, split, pay, finance, redeem, admit/dismiss chains, show, tree."""


def _code(platform: Platform, certificate_id: int) -> str:
    return platform.currency_code(platform.certificates.certificate(certificate_id).currency)


def _written(result: Any, action: str, as_json: bool, **extra: Any) -> None:
    row = tx_result(result.receipt, action, **extra)
    emit(row, as_json, lambda r: key_value_table(r.items(), title=action))


def _part_row(platform: Platform, part: Part, code: str) -> dict[str, Any]:
    c = platform.certificates
    return {"part": part.part_id, "parent": part.parent, "order": part.order_id, "holder": part.holder,
            "value": money(part.value, code), "claimed": money(part.claimed, code),
            "claimable": money(c.claimable(part.part_id), code), "financed": part.financed,
            "financier": part.financier if part.financed else None,
            "price": money(part.price, code) if part.financed else None,
            "asset": part.asset_id or None, "payee": part.payee}


@cert.command("issue")
@click.argument("order_id", type=ID)
@click.option("--maturity", type=DATE, required=True, help="When the core pays the face value (date, UTC).")
@json_option
@signed_command
def issue_cmd(platform: Platform, signer: LocalAccount, order_id: int, maturity: int, as_json: bool) -> None:
    """Core: issue a certificate for your invoiced order ORDER_ID; its seller gets the root part.

    Example: vscm cert issue 12 --maturity 2027-03-31 --wallet core
    """
    written = platform.certificates.as_(signer).issue(order_id, maturity)
    c = platform.certificates.certificate(written.id)
    code = platform.currency_code(c.currency)
    _written(written, "certificate issued", as_json, certificate=written.id, root_part=c.root_part,
             face=money(c.face, code), maturity=c.maturity)


@cert.command("admit")
@click.argument("chain_id", type=ID)
@json_option
@signed_command
def admit_cmd(platform: Platform, signer: LocalAccount, chain_id: int, as_json: bool) -> None:
    """Core: admit the members of chain CHAIN_ID to all your certificates (they may be paid with parts,
    split, pay and sell them, as the members of your own chain do).

    Example: vscm cert admit 2 --wallet core
             vscm cert admit 2 --wallet core --json
    """
    written = platform.certificates.as_(signer).admit_chain(chain_id)
    _written(written, "chain admitted", as_json, core=signer.address, chain=chain_id,
             admitted=platform.certificates.admitted_chains(signer.address))


@cert.command("dismiss")
@click.argument("chain_id", type=ID)
@json_option
@signed_command
def dismiss_cmd(platform: Platform, signer: LocalAccount, chain_id: int, as_json: bool) -> None:
    """Core: stop admitting chain CHAIN_ID; parts held there keep their claims but no longer move.

    Example: vscm cert dismiss 2 --wallet core
    """
    written = platform.certificates.as_(signer).dismiss_chain(chain_id)
    _written(written, "chain dismissed", as_json, core=signer.address, chain=chain_id,
             admitted=platform.certificates.admitted_chains(signer.address))


@cert.command("split")
@click.argument("part_id", type=ID)
@click.argument("amount", type=AMOUNT)
@json_option
@signed_command
def split_cmd(platform: Platform, signer: LocalAccount, part_id: int, amount: int, as_json: bool) -> None:
    """Holder: keep AMOUNT of your part aside as a new part (to sell only a piece).

    Example: vscm cert split 2 5000 --wallet tier2
    """
    code = _code(platform, platform.certificates.part(part_id).certificate_id)
    written = platform.certificates.as_(signer).split(part_id, amount)
    _written(written, "part split", as_json, parent=part_id, part=written.id, amount=money(amount, code))


@cert.command("pay")
@click.argument("part_id", type=ID)
@click.argument("order_id", type=ID)
@click.argument("amount", type=AMOUNT)
@json_option
@signed_command
def pay_cmd(platform: Platform, signer: LocalAccount, part_id: int, order_id: int, amount: int,
            as_json: bool) -> None:
    """Holder: pay AMOUNT of your part to the seller of ORDER_ID (you are its buyer); settlement then asks
    only the rest.

    Example: vscm cert pay 1 15 40000 --wallet tier1
    """
    code = _code(platform, platform.certificates.part(part_id).certificate_id)
    written = platform.certificates.as_(signer).pay(part_id, order_id, amount)
    _written(written, "order paid by certificate", as_json, parent=part_id, part=written.id, order=order_id,
             seller=written.event["to"], amount=money(amount, code))


@cert.command("finance")
@click.argument("part_id", type=ID)
@click.option("--financier", type=PARTY, default=None, help="Holder: the financier to offer the part to.")
@click.option("--price", type=AMOUNT, default=None, help="Holder: what the financier pays for it.")
@click.option("--accept", is_flag=True, help="Financier: buy the part offered to you (approves the price first).")
@json_option
@signed_command
def finance_cmd(platform: Platform, signer: LocalAccount, part_id: int, financier: str | None, price: int | None,
                accept: bool, as_json: bool) -> None:
    """Sell a part at a discount: the holder offers it (--financier, --price), the financier buys it
    (--accept, two transactions: approve the price, buy). The part is then locked in the asset registry.

    Example: vscm cert finance 3 --financier bank --price 24000 --wallet tier3
             vscm cert finance 3 --accept --wallet bank
    """
    certs = platform.certificates
    code = _code(platform, certs.part(part_id).certificate_id)
    if accept:
        if financier is not None or price is not None:
            raise InputError("--accept takes no --financier or --price: the offer names them")
        offer = certs.offer_of(part_id)
        if offer is None:
            raise InputError(f"part {part_id} has no offer: the holder offers it first (--financier, --price)")
        platform.cash(code).as_(signer).approve(certs.address, offer.price)
        written = certs.as_(signer).accept_offer(part_id)
        _written(written, "part financed", as_json, part=part_id, asset=written.id, price=money(offer.price, code))
        return
    if financier is None or price is None:
        raise InputError("offer with --financier and --price, or buy an offered part with --accept")
    written = certs.as_(signer).offer(part_id, financier, price)
    _written(written, "part offered", as_json, part=part_id, financier=financier, price=money(price, code))


@cert.command("redeem")
@click.argument("certificate_id", type=ID)
@click.option("--amount", type=AMOUNT, default=None,
              help="Core: pay this much of the face value in (approves it first).")
@click.option("--part", "parts", type=ID, multiple=True, help="Pay this part's claim to its payee (repeatable).")
@click.option("--all", "claim_all", is_flag=True, help="Pay the claim of every part that has one.")
@json_option
@signed_command
def redeem_cmd(platform: Platform, signer: LocalAccount, certificate_id: int, amount: int | None,
               parts: tuple[int, ...], claim_all: bool, as_json: bool) -> None:
    """Redeem: the core pays in (--amount), and anyone pays parts' claims to their payees (--part, --all):
    each part gets value × paid in / face less what it claimed, its financier when sold.

    Example: vscm cert redeem 1 --amount 100000 --wallet core
             vscm cert redeem 1 --all --wallet core
    """
    certs = platform.certificates
    if amount is None and not parts and not claim_all:
        raise InputError("nothing to do: give --amount (core), --part PART or --all")
    code = _code(platform, certificate_id)
    rows: list[dict[str, Any]] = []
    if amount is not None:
        platform.cash(code).as_(signer).approve(certs.address, amount)
        written = certs.as_(signer).pay_in(certificate_id, amount)
        rows.append(tx_result(written.receipt, "paid in", amount=money(amount, code)))
    wanted = [p.part_id for p in certs.parts(certificate_id) if certs.claimable(p.part_id)] if claim_all else []
    for part_id in [*parts, *(w for w in wanted if w not in parts)]:
        if certs.part(part_id).certificate_id != certificate_id:
            raise InputError(f"part {part_id} is not a part of certificate {certificate_id}")
        written = certs.as_(signer).claim(part_id)
        rows.append(tx_result(written.receipt, "claimed", part=part_id, payee=written.event["payee"],
                              amount=money(written.event["amount"], code)))
    emit(rows, as_json, lambda rs: key_value_table(
        [(r["action"] + (f" part {r['part']}" if "part" in r else ""), r["amount"]) for r in rs], title="redeemed"))


@cert.command("late")
@click.argument("certificate_id", type=ID)
@json_option
@signed_command
def late_cmd(platform: Platform, signer: LocalAccount, certificate_id: int, as_json: bool) -> None:
    """Anyone, after maturity while not paid in full: alert RiskControl on the core's chain (501).

    Example: vscm cert late 1 --wallet watch
    """
    written = platform.certificates.as_(signer).flag_late(certificate_id)
    _written(written, "certificate late", as_json, certificate=certificate_id, alert=written.id)


def _show(platform: Platform, certificate_id: int) -> dict[str, Any]:
    certs = platform.certificates
    c = certs.certificate(certificate_id)
    code = platform.currency_code(c.currency)
    parts = certs.parts(certificate_id)
    return {"certificate": c.certificate_id, "core": c.core, "chain": c.chain_id,
            "admitted_chains": certs.admitted_chains(c.core), "order": c.order_id,
            "currency": code, "face": money(c.face, code), "maturity": c.maturity,
            "paid_in": money(c.paid_in, code), "redeemed": money(c.redeemed, code), "root_part": c.root_part,
            "parts": [_part_row(platform, p, code) for p in parts]}


@cert.command("show")
@click.argument("certificate_id", type=ID)
@json_option
@platform_command
def show_cmd(platform: Platform, certificate_id: int, as_json: bool) -> None:
    """A certificate with all its parts: value, claims, financier, payee.

    Example: vscm cert show 1 --json
    """
    data = _show(platform, certificate_id)

    def render(d: dict[str, Any]) -> Any:
        from rich.console import Group
        from rich.table import Table

        table = Table(title=f"parts of certificate {d['certificate']}")
        for col in ("part", "parent", "order", "holder", "value", "claimed", "payee"):
            table.add_column(col)
        for r in d["parts"]:
            table.add_row(str(r["part"]), str(r["parent"] or "-"), str(r["order"] or "-"), r["holder"],
                          str(r["value"]), str(r["claimed"]), r["payee"] + (" (financier)" if r["financed"] else ""))
        head = {k: v for k, v in d.items() if k != "parts"}
        return Group(key_value_table(head.items(), title=f"certificate {d['certificate']}"), table)

    emit(data, as_json, render)


@cert.command("tree")
@click.argument("certificate_id", type=ID)
@json_option
@platform_command
def tree_cmd(platform: Platform, certificate_id: int, as_json: bool) -> None:
    """The split tree: who split what to whom, for which order (from the parent pointers).

    Example: vscm cert tree 1
    """
    certs = platform.certificates
    code = _code(platform, certificate_id)

    def node(n: dict[str, Any]) -> dict[str, Any]:
        return {**_part_row(platform, n["part"], code), "children": [node(c) for c in n["children"]]}

    data = node(certs.tree(certificate_id))

    def render(d: dict[str, Any]) -> Any:
        from rich.tree import Tree

        def label(r: dict[str, Any]) -> str:
            order = f" for order {r['order']}" if r["order"] else " (kept aside)" if r["parent"] else ""
            sold = f", sold to {r['financier']} for {r['price']}" if r["financed"] else ""
            return f"part {r['part']}: {r['value']} to {r['holder']}{order}{sold}"

        def grow(t: Any, r: dict[str, Any]) -> None:
            for child in r["children"]:
                grow(t.add(label(child)), child)

        root = Tree(label(d))
        grow(root, d)
        return root

    emit(data, as_json, render)
