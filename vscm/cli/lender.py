"""``vscm lender``: a lender's portfolio, exposure and loans, read from the lenders' index.

The index (SQLite file by default, a ``postgresql://`` URL with ``--index``) is brought up to date
from the chain before each query (only the blocks after its cursor are read); ``--no-update`` reads
it as it is, without a node.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click
from rich.console import Group
from rich.table import Table

from vscm.audit.source import source_for
from vscm.cli.output import emit, format_amount, json_option, key_value_table
from vscm.cli.session import PARTY, choice_from, network_options, open_deployment, vscm_home
from vscm.errors import NotFound
from vscm.index import Index, exposure, loan_detail, open_index, portfolio

__all__ = ["lender"]

F = TypeVar("F", bound=Callable[..., Any])


def default_index() -> str:
    return str(vscm_home() / "index.sqlite")


def index_command(fn: F) -> F:
    """Adds --index/--no-update and the network options; ``fn(index, ...)`` gets an up-to-date index."""

    @functools.wraps(fn)
    def wrapper(**kwargs: Any) -> Any:
        target: str = kwargs.pop("index_target") or default_index()
        update: bool = kwargs.pop("update")
        choice = choice_from(kwargs)
        if not update:
            with open_index(target, create=False) as index:
                if index.cursor() is None:
                    raise NotFound(f"the index at {target} is empty: run once without --no-update")
                return fn(index, **kwargs)
        # The chain first: a command that cannot reach the platform leaves no index file behind.
        deployment, chain = open_deployment(choice)
        try:
            with open_index(target) as index:
                index.update(source_for(chain), deployment)
                return fn(index, **kwargs)
        finally:
            chain.close()

    wrapper = click.option("--no-update", "update", is_flag=True, flag_value=False, default=True,
                           help="Read the index as it is, without asking the chain for new blocks.")(wrapper)
    wrapper = click.option("--index", "index_target", envvar="VSCM_INDEX", default=None,
                           help="The index: a SQLite file or a postgresql:// URL [default: $VSCM_HOME/index.sqlite].")(
        wrapper)
    return network_options(wrapper)  # type: ignore[return-value]


@click.group("lender")
def lender() -> None:
    """A lender's view of its loans (from the lenders' index)."""


@lender.command("portfolio")
@click.argument("who", type=PARTY)
@json_option
@index_command
def portfolio_cmd(index: Index, who: str, as_json: bool) -> None:
    """Outstanding principal, accrued interest and collateral state, per mode and currency, of lender WHO.

    Amounts are never added across currencies: one row per mode and currency, and one total per currency.

    \b
    Examples:
      vscm lender portfolio bank
      vscm lender portfolio bank --json --no-update
    """
    view = portfolio(index, who)
    data = {"lender": who, "modes": view["modes"], "totals": view["totals"]}

    def table(d: dict[str, Any]) -> Table:
        t = Table("mode", "currency", "loans", "running", "outstanding principal", "accrued interest",
                  "collateral locked", "written off", title=f"portfolio of {who} (block {view['as_of_block']})")
        for mode, r in d["modes"].items():
            for i, (code, a) in enumerate(r["currencies"].items()):
                counts = (str(r["loans"]), str(r["running"])) if i == 0 else ("", "")
                t.add_row(mode if i == 0 else "", code, *counts, format_amount(a["outstanding_principal"]),
                          format_amount(a["accrued_interest"]), str(r["collateral_locked"]) if i == 0 else "",
                          format_amount(a["written_off"]))
        for code, a in d["totals"].items():
            t.add_row("[bold]total", code, "", "", format_amount(a["outstanding_principal"]),
                      format_amount(a["accrued_interest"]), "", format_amount(a["written_off"]))
        return t

    emit(data, as_json, table)


@lender.command("exposure")
@click.argument("who", type=PARTY)
@json_option
@index_command
def exposure_cmd(index: Index, who: str, as_json: bool) -> None:
    """What lender WHO stands to lose on its open loans, per currency: by borrower, by supply chain, in total.

    Amounts are never added across currencies: each row is one currency, shown by its code.

    \b
    Examples:
      vscm lender exposure bank
      vscm lender exposure bank --json --no-update
    """
    data = exposure(index, who)

    def tables(d: dict[str, Any]) -> Group:
        parts = []
        for dimension in ("borrower", "supply_chain"):
            t = Table(dimension.replace("_", " "), "currency", "loans", "outstanding", "unspent loan money",
                      title=f"exposure of {who} by {dimension.replace('_', ' ')} (block {d['as_of_block']})")
            for k, per_currency in d[dimension].items():
                for code, r in per_currency.items():
                    t.add_row(k, code, str(r["loans"]), format_amount(r["outstanding"]), format_amount(r["unspent"]))
            parts.append(t)
        t = Table("currency", "loans", "outstanding", "unspent loan money",
                  title=f"exposure of {who} by currency: the totals (block {d['as_of_block']})")
        for code, r in d["currency"].items():
            t.add_row(code, str(r["loans"]), format_amount(r["outstanding"]), format_amount(r["unspent"]))
        parts.append(t)
        return Group(*parts)

    emit(data, as_json, tables)


@lender.command("loan")
@click.argument("loan_id", type=click.IntRange(min=1))
@json_option
@index_command
def loan_cmd(index: Index, loan_id: int, as_json: bool) -> None:
    """One loan as the index knows it: numbers, tracked money, money trail, repayments."""
    data = loan_detail(index, loan_id)
    if data is None:
        cursor = index.cursor()
        raise NotFound(f"loan {loan_id} is not in the index (as of block {cursor.block if cursor else '-'})")

    def view(d: dict[str, Any]) -> Group:
        fields = [(k, v) for k, v in d.items() if k not in ("funds", "hops", "repayments")]
        trail = Table("hop", "to", "amount", "block", title="money trail")
        for h in d["hops"]:
            trail.add_row(str(h["hop"]), h["to"], format_amount(h["amount"]), str(h["block"]))
        paid = Table("payer", "interest", "principal", "outstanding", "block", title="repayments")
        for r in d["repayments"]:
            paid.add_row(r["payer"], format_amount(r["interest"]), format_amount(r["principal"]),
                         format_amount(r["outstanding"]), str(r["block"]))
        return Group(key_value_table(fields, title=f"loan #{loan_id}"), trail, paid)

    emit(data, as_json, view)
