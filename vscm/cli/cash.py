"""``vscm cash``: settlement money — mint against deposits, burn on withdrawal, transfer, balance."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click
from eth_utils import keccak
from rich.table import Table

from vscm.cli.common import emit_tx, quick_platform_command, signed_command
from vscm.cli.output import Money, emit, json_option, money
from vscm.cli.params import AMOUNT
from vscm.cli.session import PARTY

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

    from vscm.client.platform import Platform

__all__ = ["cash"]

CURRENCY = click.argument("currency", metavar="CURRENCY")
#: "-5" as AMOUNT reaches the amount's own check ("must not be negative") instead of being taken for
#: an unknown option ("No such option: -5"); a mistyped option still ends as an unexpected argument.
_NEGATIVE_AMOUNTS = {"ignore_unknown_options": True}


@click.group("cash")
def cash() -> None:
    """Settlement cash (PlatformCash), per currency; amounts like 1250.50."""


@cash.command("mint", context_settings=_NEGATIVE_AMOUNTS)
@CURRENCY
@click.argument("to", type=PARTY)
@click.argument("amount", type=AMOUNT)
@click.option("--ref", required=True, help="Your deposit reference (stored as its hash).")
@json_option
@signed_command
def mint_cmd(platform: Platform, signer: LocalAccount, currency: str, to: str, amount: int, ref: str,
             as_json: bool) -> None:
    """Financier: mint AMOUNT to member TO against a fiat deposit you hold."""
    receipt = platform.cash(currency).as_(signer).mint(to, amount, keccak(text=ref))
    emit_tx(receipt, "minted", as_json, to=to, amount=money(amount, currency))


@cash.command("burn", context_settings=_NEGATIVE_AMOUNTS)
@CURRENCY
@click.argument("amount", type=AMOUNT)
@click.option("--ref", required=True, help="Your withdrawal reference (stored as its hash).")
@json_option
@signed_command
def burn_cmd(platform: Platform, signer: LocalAccount, currency: str, amount: int, ref: str, as_json: bool) -> None:
    """Financier: burn AMOUNT of your own balance when paying out a withdrawal."""
    receipt = platform.cash(currency).as_(signer).burn(amount, keccak(text=ref))
    emit_tx(receipt, "burned", as_json, amount=money(amount, currency))


@cash.command("transfer", context_settings=_NEGATIVE_AMOUNTS)
@CURRENCY
@click.argument("to", type=PARTY)
@click.argument("amount", type=AMOUNT)
@json_option
@signed_command
def transfer_cmd(platform: Platform, signer: LocalAccount, currency: str, to: str, amount: int,
                 as_json: bool) -> None:
    """Pay AMOUNT to member TO."""
    receipt = platform.cash(currency).as_(signer).transfer(to, amount)
    emit_tx(receipt, "transferred", as_json, to=to, amount=money(amount, currency))


@cash.command("balance")
@click.argument("who", type=PARTY)
@click.option("--currency", default=None, help="Only this currency [default: all].")
@json_option
@quick_platform_command
def balance_cmd(platform: Platform, who: str, currency: str | None, as_json: bool) -> None:
    """Balances of WHO (address or wallet label); in --json each is {"amount", "currency", "minor"} by code."""
    codes = [currency.upper()] if currency else platform.currencies
    rows = {code: money(platform.cash(code).balance(who), code) for code in codes}

    def view(r: dict[str, Money]) -> Table:
        table = Table("currency", "balance", title=who)
        for code, value in r.items():
            table.add_row(code, value.amount)
        return table

    emit(rows, as_json, view)


@cash.command("set-cap", context_settings=_NEGATIVE_AMOUNTS)
@CURRENCY
@click.argument("financier", type=PARTY)
@click.argument("amount", type=AMOUNT)
@json_option
@signed_command
def set_cap_cmd(platform: Platform, signer: LocalAccount, currency: str, financier: str, amount: int,
                as_json: bool) -> None:
    """Admin: let FINANCIER have up to AMOUNT of CURRENCY issued and not yet burned (its mint cap).

    \b
    Example:
      vscm cash set-cap CNY bank 5000000.00 --wallet operator
    """
    receipt = platform.cash(currency).as_(signer).set_mint_cap(financier, amount)
    emit_tx(receipt, "mint cap set", as_json, currency=currency.upper(), financier=financier,
            cap=money(amount, currency))


@cash.command("cap")
@CURRENCY
@click.argument("financier", type=PARTY)
@json_option
@quick_platform_command
def cap_cmd(platform: Platform, currency: str, financier: str, as_json: bool) -> None:
    """FINANCIER's mint cap in CURRENCY (set by the council) and its outstanding issuance.

    \b
    Example:
      vscm cash cap CNY bank
    """
    cap, outstanding = platform.cash(currency).mint_cap(financier)
    row = {"currency": currency.upper(), "financier": financier, "cap": money(cap, currency),
           "outstanding": money(outstanding, currency), "headroom": money(max(cap - outstanding, 0), currency)}

    def view(r: dict[str, Any]) -> Table:
        table = Table("currency", "cap", "outstanding", "headroom", title=financier)
        table.add_row(r["currency"], str(r["cap"]), str(r["outstanding"]), str(r["headroom"]))
        return table

    emit(row, as_json, view)
