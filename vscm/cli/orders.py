"""``vscm order``: place orders and move them through their life; attach documents; inspect."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click
from rich.console import Group
from rich.table import Table

from vscm.cli.common import (
    emit_tx,
    quick_platform_command,
    quick_signed_command,
    signed_command,
)
from vscm.cli.output import emit, json_option, key_value_table, table_style, wide_option
from vscm.cli.params import AMOUNT, DATE, HASH32
from vscm.cli.session import PARTY
from vscm.cli.views import Parties, order_view, stamp
from vscm.client.records import DocKind

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

    from vscm.client.platform import Platform

__all__ = ["order"]

ORDER_ID = click.argument("order_id", type=click.IntRange(min=1))
KIND_NAMES = [k.name.lower().replace("_", "-") for k in DocKind]


@click.group("order")
def order() -> None:
    """Orders between members of a supply chain, their documents and settlement."""


@order.command("place")
@click.option("--seller", type=PARTY, required=True)
@click.option("--chain", "chain_id", type=click.IntRange(min=1), required=True,
              help="The buyer's supply chain id (the order's). The seller may be in another chain: an order across "
                   "chains, refused while either chain is under a fraud investigation.")
@click.option("--currency", required=True, help="Settlement currency, e.g. CNY.")
@click.option("--amount", type=AMOUNT, required=True)
@click.option("--due", type=DATE, required=True, help="Payment due date (YYYY-MM-DD).")
@click.option("--overseas", is_flag=True, help="An export order: needs --incoterm and --country.")
@click.option("--incoterm", default=None, help="Incoterms 2020 code (FOB, CIF, ...), overseas only.")
@click.option("--country", default=None, help="ISO 3166 alpha-2 destination (KZ, DE, ...), overseas only.")
@json_option
@quick_signed_command
def place_cmd(platform: Platform, signer: LocalAccount, seller: str, chain_id: int, currency: str, amount: int,
              due: int, overseas: bool, incoterm: str | None, country: str | None, as_json: bool) -> None:
    """Buyer: place an order with SELLER."""
    # Trade terms belong to export orders: say so before signing rather than after a revert.
    if overseas and not (incoterm and country):
        raise click.UsageError("an --overseas order needs --incoterm (e.g. FOB) and --country (e.g. DE)")
    if not overseas and (incoterm or country):
        raise click.UsageError("--incoterm and --country apply to overseas orders only: add --overseas")
    order_id = platform.orders.as_(signer).place(seller, chain_id, currency, amount, due, overseas, incoterm, country).id
    emit_tx(platform.last_receipt, "order placed", as_json, order_id=order_id)


def _simple(name: str, done: str, doc: str) -> None:
    @order.command(name, help=doc)
    @ORDER_ID
    @json_option
    @signed_command
    def command(platform: Platform, signer: LocalAccount, order_id: int, as_json: bool) -> None:
        receipt = getattr(platform.orders.as_(signer), name)(order_id)
        emit_tx(receipt, f"order {done}", as_json, order_id=order_id,
                status=platform.orders.order(order_id, with_documents=False).status.name)


_simple("accept", "accepted", "Seller: accept a placed order.")
_simple("deliver", "delivered", "Destination warehouse: confirm the goods arrived.")
_simple("settle", "settled", "Buyer: pay an invoiced order (approves the exact amount, then settles).")
_simple("cancel", "cancelled", "Buyer or seller: cancel an order not yet shipped.")


@order.command("ship")
@ORDER_ID
@click.option("--carrier", type=PARTY, required=True)
@click.option("--warehouse", type=PARTY, required=True, help="Destination warehouse.")
@json_option
@signed_command
def ship_cmd(platform: Platform, signer: LocalAccount, order_id: int, carrier: str, warehouse: str,
             as_json: bool) -> None:
    """Seller: ship an accepted order with a carrier to a warehouse."""
    emit_tx(platform.orders.as_(signer).ship(order_id, carrier, warehouse), "order shipped", as_json,
            order_id=order_id, carrier=carrier, warehouse=warehouse)


@order.command("invoice")
@ORDER_ID
@click.option("--number", required=True, help="Invoice number (at most 32 bytes).")
@click.option("--hash", "doc_hash", type=HASH32, required=True, help="Invoice document hash (0x… or file:PATH).")
@json_option
@signed_command
def invoice_cmd(platform: Platform, signer: LocalAccount, order_id: int, number: str, doc_hash: bytes,
                as_json: bool) -> None:
    """Seller: invoice a delivered order."""
    emit_tx(platform.orders.as_(signer).invoice(order_id, number, doc_hash), "order invoiced", as_json,
            order_id=order_id, invoice_number=number)


@order.command("dispute")
@ORDER_ID
@click.option("--reason", "reason_hash", type=HASH32, required=True, help="Hash of the complaint (0x… or file:PATH).")
@json_option
@signed_command
def dispute_cmd(platform: Platform, signer: LocalAccount, order_id: int, reason_hash: bytes, as_json: bool) -> None:
    """Buyer or seller: dispute a shipped, delivered or invoiced order."""
    emit_tx(platform.orders.as_(signer).dispute(order_id, reason_hash), "order disputed", as_json, order_id=order_id)


@order.command("resolve")
@ORDER_ID
@click.option("--cancel/--restore", "cancel", required=True,
              help="End the order (cancelled), or put it back where it was before the dispute.")
@json_option
@signed_command
def resolve_cmd(platform: Platform, signer: LocalAccount, order_id: int, cancel: bool, as_json: bool) -> None:
    """Operator: resolve a disputed order (cancelling a financed one is the admin's: the council's timelock)."""
    receipt = platform.orders.as_(signer).resolve_dispute(order_id, cancel)
    emit_tx(receipt, "dispute resolved", as_json, order_id=order_id,
            status=platform.orders.order(order_id, with_documents=False).status.name)


@order.command("attach")
@ORDER_ID
@click.option("--kind", type=click.Choice(KIND_NAMES), required=True)
@click.option("--hash", "doc_hash", type=HASH32, required=True, help="Document hash (0x… or file:PATH).")
@json_option
@signed_command
def attach_cmd(platform: Platform, signer: LocalAccount, order_id: int, kind: str, doc_hash: bytes,
               as_json: bool) -> None:
    """A party of the order: attach a document's hash (append-only)."""
    receipt = platform.orders.as_(signer).attach(order_id, DocKind[kind.upper().replace("-", "_")], doc_hash)
    emit_tx(receipt, "document attached", as_json, order_id=order_id, kind=kind, hash="0x" + doc_hash.hex())


@order.command("show")
@ORDER_ID
@wide_option
@json_option
@quick_platform_command
def show_cmd(platform: Platform, order_id: int, wide: bool, as_json: bool) -> None:
    """One order with its documents.

    \b
    Examples:
      vscm order show 1
      vscm order show 1 --json
    """
    o = platform.orders.order(order_id)
    emit(order_view(o, platform.currency_code(o.currency)), as_json,
         lambda x: _order_table(x, Parties.of_platform(platform, wide)))


@order.command("list")
@wide_option
@json_option
@quick_platform_command
def list_cmd(platform: Platform, wide: bool, as_json: bool) -> None:
    """Every order.

    \b
    Examples:
      vscm order list
      vscm order list --wide | sort -k6
      vscm order list --json
    """
    orders = [order_view(o, platform.currency_code(o.currency)) for o in platform.orders.orders()]

    def view(rows: list[dict[str, Any]]) -> Table:
        party = Parties.of_platform(platform, wide)
        table = Table("order", "buyer", "seller", "chain", "amount", "status", "due", **table_style(wide))
        for o in rows:
            chain = str(o["chain_id"]) if o["seller_chain_id"] == o["chain_id"] else \
                f"{o['chain_id']}→{o['seller_chain_id']}"
            table.add_row(str(o["order_id"]), party(o["buyer"]), party(o["seller"]), chain,
                          str(o["amount"]), o["status"].lower(), stamp(o["due_date"]))
        return table

    emit(orders, as_json, view)


def _order_table(o: dict[str, Any], party: Parties) -> Any:
    terms = f"overseas {o['incoterm']} → {o['destination_country']}" if o["overseas"] else "domestic"
    head = key_value_table([
        ("order", o["order_id"]), ("status", o["status"].lower()), ("buyer", party(o["buyer"])),
        ("seller", party(o["seller"])), ("supply chain", o["chain_id"]),
        ("seller's chain", o["seller_chain_id"]), ("amount", o["amount"]),
        ("due", stamp(o["due_date"])), ("terms", terms), ("carrier", party(o["carrier"])),
        ("warehouse", party(o["warehouse"])), ("invoice", o["invoice_number"] or "-"), ("payee", party(o["payee"])),
    ], title=f"order {o['order_id']}")
    docs = Table("#", "kind", "hash", "by", "at", title="documents", **table_style(party.wide))
    for d in o["documents"]:
        docs.add_row(str(d["index"]), d["kind"].lower(), d["hash"], party(d["attached_by"]), stamp(d["attached_at"]))
    return Group(head, docs)
