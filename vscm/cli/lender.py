"""``vscm lender``: a lender's portfolio, exposure and loans, read from the lenders' index.

The index (SQLite file by default, a ``postgresql://`` URL with ``--index``) is brought up to date
from the chain before each query (only the blocks after its cursor are read); ``--no-update`` reads
it as it is, without a node.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from rich.console import Group
from rich.table import Table

from vscm.cli.output import emit, json_option, key_value_table, money, table_style, wide_option
from vscm.cli.params import DATE
from vscm.cli.session import PARTY, choice_from, network_options, open_deployment, vscm_home
from vscm.cli.views import Parties, loan_from_record, loan_view
from vscm.cli.wallet import signer_options, unlock_signer
from vscm.errors import NotFound

if TYPE_CHECKING:  # the index and the chain source are imported by the commands that use them
    from vscm.index import Index

__all__ = ["index_command", "lender"]

F = TypeVar("F", bound=Callable[..., Any])


def default_index() -> str:
    return str(vscm_home() / "index.sqlite")


def index_command(fn: F) -> F:
    """Adds --index/--no-update and the network options; ``fn(index, ...)`` gets an up-to-date index."""

    @functools.wraps(fn)
    def wrapper(**kwargs: Any) -> Any:
        from vscm.audit.source import source_for
        from vscm.index import open_index

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


def _index_parties(index: Index, wide: bool) -> Parties:
    """Registered names as the index folded them."""
    return Parties(lambda address: (index.record("members", address) or {}).get("name") or None, wide)


def _as_money(amounts: dict[str, Any], code: str) -> dict[str, Any]:
    """Every amount of ``amounts`` (minor units) as money in ``code``; counts stay numbers."""
    return {k: v if k == "loans" else money(v, code) for k, v in amounts.items()}


@lender.command("portfolio")
@click.argument("who", type=PARTY)
@wide_option
@json_option
@index_command
def portfolio_cmd(index: Index, who: str, wide: bool, as_json: bool) -> None:
    """Outstanding principal, accrued interest and collateral state, per mode and currency, of lender WHO.

    Amounts are never added across currencies: one row per mode and currency, and one total per currency.

    \b
    Examples:
      vscm lender portfolio bank
      vscm lender portfolio bank --json --no-update
    """
    from vscm.index import portfolio

    view = portfolio(index, who)
    data = {"lender": who, "as_of_block": view["as_of_block"],
            "modes": {mode: {**r, "currencies": {code: _as_money(a, code) for code, a in r["currencies"].items()}}
                      for mode, r in view["modes"].items()},
            "totals": {code: _as_money(a, code) for code, a in view["totals"].items()}}

    def table(d: dict[str, Any]) -> Table:
        t = Table("mode", "currency", "loans", "running", "outstanding principal", "accrued interest",
                  "collateral locked", "written off", **table_style(wide),
                  title=f"portfolio of {_index_parties(index, wide)(who)} (block {view['as_of_block']})")
        for mode, r in d["modes"].items():
            for i, (code, a) in enumerate(r["currencies"].items()):
                counts = (str(r["loans"]), str(r["running"])) if i == 0 else ("", "")
                t.add_row(mode if i == 0 else "", code, *counts, str(a["outstanding_principal"]),
                          str(a["accrued_interest"]), str(r["collateral_locked"]) if i == 0 else "",
                          str(a["written_off"]))
        for code, a in d["totals"].items():
            t.add_row("[bold]total", code, "", "", str(a["outstanding_principal"]),
                      str(a["accrued_interest"]), "", str(a["written_off"]))
        return t

    emit(data, as_json, table)


@lender.command("exposure")
@click.argument("who", type=PARTY)
@wide_option
@json_option
@index_command
def exposure_cmd(index: Index, who: str, wide: bool, as_json: bool) -> None:
    """What lender WHO stands to lose on its open loans, per currency: by borrower, by supply chain, in total.

    Amounts are never added across currencies: each row is one currency, shown by its code.

    \b
    Examples:
      vscm lender exposure bank
      vscm lender exposure bank --json --no-update
    """
    from vscm.index import exposure

    raw = exposure(index, who)
    data = {**raw, "currency": {code: _as_money(r, code) for code, r in raw["currency"].items()},
            **{dimension: {k: {code: _as_money(r, code) for code, r in per.items()} for k, per in raw[dimension].items()}
               for dimension in ("borrower", "supply_chain")}}

    def tables(d: dict[str, Any]) -> Group:
        party = _index_parties(index, wide)
        parts = []
        for dimension in ("borrower", "supply_chain"):
            t = Table(dimension.replace("_", " "), "currency", "loans", "outstanding", "unspent loan money",
                      title=f"exposure of {party(who)} by {dimension.replace('_', ' ')} (block {d['as_of_block']})",
                      **table_style(wide))
            for k, per_currency in d[dimension].items():
                for code, r in per_currency.items():
                    t.add_row(party(k) if dimension == "borrower" else k, code, str(r["loans"]),
                              str(r["outstanding"]), str(r["unspent"]))
            parts.append(t)
        t = Table("currency", "loans", "outstanding", "unspent loan money", **table_style(wide),
                  title=f"exposure of {party(who)} by currency: the totals (block {d['as_of_block']})")
        for code, r in d["currency"].items():
            t.add_row(code, str(r["loans"]), str(r["outstanding"]), str(r["unspent"]))
        parts.append(t)
        return Group(*parts)

    emit(data, as_json, tables)


@lender.command("loan")
@click.argument("loan_id", type=click.IntRange(min=1))
@wide_option
@json_option
@index_command
def loan_cmd(index: Index, loan_id: int, wide: bool, as_json: bool) -> None:
    """One loan as the index knows it: the loan (the keys of `vscm loan show --json`), its tracked money,
    money trail and repayments.

    \b
    Examples:
      vscm lender loan 3
      vscm lender loan 3 --json --no-update
    """
    from vscm.cli.finance import loan_rows
    from vscm.index import loan_detail

    data = loan_detail(index, loan_id)
    if data is None:
        cursor = index.cursor()
        raise NotFound(f"loan {loan_id} is not in the index (as of block {cursor.block if cursor else '-'})")
    code = data["currencyCode"]
    pending = data["accrued_now"] - (data["interestAccrued"] - data["interestPaid"])
    folded = index.record("loans", str(loan_id)) or {}  # mode and status as numbers, as the contract has them
    record = loan_view(loan_from_record(loan_id, folded, pending), code)
    funds = data["funds"] or {}
    tracked = {k: money(funds.get(k, 0), code) for k in ("disbursed", "spent", "returned", "released")}
    result = {
        "loan": record, "as_of_block": data["as_of_block"], "tracked": {**tracked, "frozen": bool(funds.get("frozen"))},
        "hops": [{**h, "amount": money(h["amount"], code)} for h in data["hops"]],
        "repayments": [{"payer": r["payer"], "interest": money(r["interest"], code),
                        "principal": money(r["principal"], code), "outstanding": money(r["outstanding"], code),
                        "block": r["block"], "tx": r["tx"]} for r in data["repayments"]],
    }

    def view(d: dict[str, Any]) -> Group:
        party = _index_parties(index, wide)
        trail = Table("hop", "to", "amount", "purpose", "block", title="money trail", **table_style(wide))
        for h in d["hops"]:
            trail.add_row(str(h["hop"]), party(h["to"]), str(h["amount"]), str(h["purpose"]), str(h["block"]))
        paid = Table("payer", "interest", "principal", "outstanding", "block", title="repayments", **table_style(wide))
        for r in d["repayments"]:
            paid.add_row(party(r["payer"]), str(r["interest"]), str(r["principal"]), str(r["outstanding"]),
                         str(r["block"]))
        return Group(key_value_table(loan_rows(d["loan"], party), title=f"loan {loan_id} (block {d['as_of_block']})"),
                     trail, paid)

    emit(result, as_json, view)


def with_currency(profile: dict[str, Any]) -> dict[str, Any]:
    """The profile as the CLI shows it: each amount of money (the trade's value bought and sold, the credit's
    outstanding, per currency) as money in its currency (``{"amount", "currency", "minor"}`` in JSON,
    ``CNY 1250.75`` in tables); counts and ratios stay numbers. The score is computed on the profile before."""
    def priced(figure: dict[str, Any], code: str) -> dict[str, Any]:
        return {**figure, "value": money(figure["value"], code)}

    trade, credit = profile["trade"], profile["credit"]
    return {**profile,
            "trade": {**trade, "value": {code: {side: priced(f, code) for side, f in r.items()}
                                         for code, r in trade["value"].items()}},
            "credit": {**credit, "outstanding": {code: priced(f, code) for code, f in credit["outstanding"].items()}}}


def profile_view(d: dict[str, Any]) -> Group:
    """The profile for a person: one table per part, the scorecard last (every figure's evidence is in --json)."""
    p, s = d["profile"], d["score"]
    head = key_value_table([
        ("member", f"{p['name']} ({p['member']})"), ("tier", p["tier"]), ("status", p["status"]),
        ("as of", f"{p['as_of']} (block {p['as_of_block']})"), ("read by", f"{d['viewer']} — {d['access']}"),
        ("score", f"{s['score']} of {s['base']}"),
    ], title=f"credit profile of {p['name']}")
    t = p["trade"]
    trade = Table("trade", "value", title="trade")
    for month, r in t["orders_by_month"].items():
        trade.add_row(f"orders {month}", f"bought {r['as_buyer']['value']}, sold {r['as_seller']['value']}")
    for code, r in t["value"].items():
        trade.add_row(f"value {code}", f"bought {r['bought']['value']}, sold {r['sold']['value']}")
    trade.add_row("counterparties", ", ".join(f"{k} ({n})" for k, n in t["by_counterparty"].items()) or "-")
    trade.add_row("concentration", f"{t['concentration']['value']:.0%} with {t['concentration']['counterparty'] or '-'}")
    tenure = t["tenure"]
    trade.add_row("on the platform since", f"{tenure['platform_since'] or '-'} ({tenure['platform_days']['value']} days)")
    trade.add_row("in supply chain", f"{tenure['chain'] or '-'} since {tenure['chain_since'] or '-'} "
                                     f"({tenure['chain_days']['value']} days)")
    f = p["performance"]
    perf = Table("performance", "value", title="performance")
    perf.add_row("deliveries on time / late",
                 f"{f['deliveries']['on_time']['value']} / {f['deliveries']['late']['value']}")
    for side in ("invoices_paid", "invoices_collected"):
        r = f[side]
        perf.add_row(side.replace("_", " "), f"on time {r['on_time']['value']}, late {r['late']['value']} "
                     f"(mean {r['mean_days_late']['value']} d, max {r['max_days_late']['value']} d), "
                     f"overdue {r['overdue_unsettled']['value']}")
    perf.add_row("cancelled / disputed", f"{f['cancelled']['value']} / {f['disputed']['value']}")
    perf.add_row("documents per order", str(f["documents_per_order"]["value"]))
    c = p["credit"]
    credit = Table("mode", "applied", "running", "repaid on time", "repaid late", "recalled", "defaulted",
                   "written off", title="credit")
    for mode, r in c["loans"].items():
        credit.add_row(mode, *(str(r[k]["value"]) for k in ("applied", "running", "repaid_on_time", "repaid_late",
                                                            "recalled", "defaulted", "written_off")))
    for code, fig in c["outstanding"].items():
        credit.add_row(f"outstanding {code}", str(fig["value"]))
    g = c["guarantees"]
    credit.add_row("guarantees given / called", f"{g['given']['value']} / {g['called']['value']}")
    r = p["risk"]
    risk = Table("risk", "value", title="risk")
    risk.add_row("alerts on loans / chain", f"{r['alerts']['on_loans']['value']} / {r['alerts']['on_chain']['value']}")
    risk.add_row("by indicator", ", ".join(f"{k} {n}" for k, n in r["alerts"]["by_indicator"].items()) or "-")
    risk.add_row("lenders' decisions", f"continue {r['decisions']['continue']['value']}, "
                                       f"recall {r['decisions']['recall']['value']}")
    risk.add_row("oracle breaches on pledged goods", str(r["oracle_breaches"]["value"]))
    if r["core"]:
        risk.add_row("core enterprise", f"{r['core']['name']}: {r['core']['status']}")
        ch = r["chain"]
        flags = [k.replace("_", " ") for k in ("evicted", "fraud_declared", "under_investigation") if ch[k]]
        risk.add_row("supply chain", f"{ch['name']} (#{ch['id']}): {', '.join(flags) or 'in good standing'}")
    card = Table("feature", "value", "threshold", "fired", "points", "evidence", title="scorecard")
    for row in s["contributions"]:
        sign = "<" if row["below"] else ">="
        card.add_row(row["feature"], str(row["value"]), f"{sign} {row['threshold']:g}", "yes" if row["fired"] else "",
                     str(row["points"]) if row["fired"] else "", f"{len(row['evidence'])} tx")
    return Group(head, trade, perf, credit, risk, card)


@lender.command("profile")
@click.argument("member", type=PARTY)
@click.option("--as-of", "as_of", type=DATE, default=None,
              help="The profile as it stood then (YYYY-MM-DD or ISO datetime, UTC) [default: the last block].")
@click.option("--scorecard", "scorecard_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A TOML file overriding keys of the packaged scorecard (vscm/underwriting/scorecard.toml).")
@json_option
@signer_options
@index_command
def profile_cmd(index: Index, member: str, as_of: int | None, scorecard_file: Path | None, as_json: bool,
                wallet: str, password_file: Path | None) -> None:
    """The credit profile of MEMBER and its score, read by the lender whose wallet signs (--wallet).

    Trade, performance, credit and risk from the platform's records, each figure with the transactions and
    blocks it was computed from (in --json) so it can be checked on chain; the scorecard shows every feature,
    its threshold and the points it took. Readable only with the member's consent (`vscm member consent
    grant`), for the lender of an open loan application of the member, or by an auditor (exit 1 otherwise).

    \b
    Examples:
      vscm lender profile supplier --wallet bank
      vscm lender profile 0xAbC… --wallet bank --json --as-of 2026-12-01
    """
    from vscm.underwriting import credit_profile, index_now, load_scorecard, require, score

    viewer = unlock_signer(wallet, password_file).address
    granted = require(index, member, viewer, index_now(index))
    profile = credit_profile(index, member, as_of)
    data = {"viewer": viewer, "access": f"{granted.basis}: {granted.detail}", "profile": with_currency(profile),
            "score": score(profile, load_scorecard(scorecard_file))}
    emit(data, as_json, profile_view)


@lender.command("backtest")
@click.option("--chains", type=click.IntRange(min=3), default=3, show_default=True,
              help="Supply chains of the generated population (3 hold the bad actors; more add good ones).")
@click.option("--backend", type=click.Choice(["anvil", "embedded"]), default="anvil", show_default=True,
              help="The throw-away chain the population runs on.")
@click.option("--seed", default="vscm-underwriting-backtest", show_default=True, help="Seed of every party's key.")
@json_option
def backtest_cmd(chains: int, backend: str, seed: str, as_json: bool) -> None:
    """Back-test the scorecard on a generated population with injected bad actors.

    A late payer, a colluding chain and a borrower whose loan money came straight back, among members doing
    ordinary business; the risk monitor runs, the index folds the history, every trader is scored. Prints the
    ROC AUC of the scorecard and of the naive baseline (the core enterprise's status only) on the same members.
    Runs on a fresh chain of its own (minutes, not seconds).

    \b
    Examples:
      vscm lender backtest
      vscm lender backtest --chains 5 --json
    """
    from vscm.chain.backends import connect
    from vscm.underwriting.backtest import run_backtest

    with connect(backend) as chain:
        result = run_backtest(chain, chains=chains, seed=seed)

    def view(d: dict[str, Any]) -> Group:
        t = Table("member", "chain", "bad", "score", "baseline", "fired", title="back-test of the scorecard")
        for m in d["members"]:
            t.add_row(m["member"], str(m["chain"]), "yes" if m["bad"] else "", str(m["score"]), str(m["baseline"]),
                      ", ".join(m["fired"]))
        summary = key_value_table([("ROC AUC, scorecard", f"{d['scorecard_auc']:.3f}"),
                                   ("ROC AUC, baseline (core status)", f"{d['baseline_auc']:.3f}"),
                                   ("alerts the monitor raised", d["alerts"])])
        return Group(t, summary)

    emit(result.to_json(), as_json, view)
