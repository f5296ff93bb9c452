"""``vscm asset``, ``vscm loan`` and ``vscm lender``: the four financing modes from the command line."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, cast

import click
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from rich.console import Group
from rich.table import Table

from vscm.cli.common import currency_finder, emit_tx, platform_command, readable_revert, signed_command
from vscm.cli.output import Money, emit, json_option, key_value_table, money, table_style, wide_option
from vscm.cli.params import AMOUNT, HASH32
from vscm.cli.session import PARTY
from vscm.cli.views import Parties, asset_view, loan_view, stamp
from vscm.cli.wallet import password_file_option
from vscm.client.financing import DAY, loan_account
from vscm.client.platform import Platform
from vscm.client.records import LoanMode
from vscm.errors import ChainRefusal, ContractRevert

__all__ = ["asset", "loan"]

ID = click.IntRange(min=1)
MODES = [m.name.lower() for m in LoanMode]


def _money(platform: Platform, currency: str, units: int) -> Money:
    """``units`` of the cash token ``currency`` as money in its ISO code."""
    return money(units, platform.currency_code(currency))


# ------------------------------------------------------------------ assets

@click.group("asset")
def asset() -> None:
    """Financeable assets: receivables, payables, warehouse receipts, future-goods rights."""


@asset.group("register")
def register() -> None:
    """Register an asset (its business identity can be registered only once)."""


def _registered(platform: Platform, asset_id: int, as_json: bool) -> None:
    a = platform.assets.asset(asset_id)
    emit_tx(platform.last_receipt, f"{a.kind.name.lower().replace('_', ' ')} registered", as_json,
            asset_id=asset_id, status=a.status.name, owner=a.owner, value=_money(platform, a.currency, a.value))


@register.command("receivable")
@click.option("--order", "order_id", type=ID, required=True, help="The invoiced order you sold.")
@json_option
@signed_command
def register_receivable(platform: Platform, signer: LocalAccount, order_id: int, as_json: bool) -> None:
    """Seller: register the receivable of an invoiced order (the debtor must then confirm it)."""
    _registered(platform, platform.assets.as_(signer).register_receivable(order_id).id, as_json)


@register.command("payable")
@click.option("--order", "order_id", type=ID, required=True, help="The invoiced order you bought.")
@json_option
@signed_command
def register_payable(platform: Platform, signer: LocalAccount, order_id: int, as_json: bool) -> None:
    """Core enterprise: confirm your payable of an invoiced order; the supplier owns it."""
    _registered(platform, platform.assets.as_(signer).register_payable(order_id).id, as_json)


@register.command("receipt")
@click.option("--owner", type=PARTY, required=True, help="Whose goods they are.")
@click.option("--lot", required=True, help="Your lot number (unique per warehouse).")
@click.option("--quantity", type=click.IntRange(min=1), required=True)
@click.option("--unit", required=True, help="Unit of the quantity, e.g. t, pcs, vehicles.")
@click.option("--currency", required=True)
@click.option("--value", type=AMOUNT, required=True, help="Appraised value of the lot.")
@click.option("--description", type=HASH32, default="0x" + "00" * 32, help="Hash of the goods description.")
@click.option("--order", "order_id", type=click.IntRange(min=0), default=0, help="The order that brought the goods.")
@json_option
@signed_command
def register_receipt(platform: Platform, signer: LocalAccount, owner: str, lot: str, quantity: int, unit: str,
                     currency: str, value: int, description: bytes, order_id: int, as_json: bool) -> None:
    """Warehouse: issue a receipt for a lot of goods you hold."""
    asset_id = platform.assets.as_(signer).register_receipt(owner, lot, quantity, unit, currency, value,
                                                           description, order_id).id
    _registered(platform, asset_id, as_json)


@register.command("future-goods")
@click.option("--order", "order_id", type=ID, required=True, help="The accepted order you bought.")
@json_option
@signed_command
def register_future_goods(platform: Platform, signer: LocalAccount, order_id: int, as_json: bool) -> None:
    """Buyer: register your right to the goods of an accepted order (for prepayment financing)."""
    _registered(platform, platform.assets.as_(signer).register_future_goods(order_id).id, as_json)


@asset.command("confirm")
@click.argument("asset_id", type=ID)
@json_option
@signed_command
def confirm_cmd(platform: Platform, signer: LocalAccount, asset_id: int, as_json: bool) -> None:
    """Debtor: confirm a receivable on you, making it financeable."""
    emit_tx(platform.assets.as_(signer).confirm_receivable(asset_id), "receivable confirmed", as_json,
            asset_id=asset_id)


def _asset_rows(a: dict[str, Any], party: Parties) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = [
        ("asset", a["asset_id"]), ("kind", a["kind"].lower()), ("status", a["status"].lower()),
        ("owner", party(a["owner"])), ("issuer", party(a["issuer"])), ("obligor", party(a["obligor"])),
        ("order", a["order_id"] or "-"), ("value", a["value"]), ("locked by loan", a["locked_by_loan"] or "-"),
    ]
    if a["kind"] == "WAREHOUSE_RECEIPT":
        rows += [("quantity", f"{a['quantity']} {a['unit']}"), ("pledged", f"{a['pledged_quantity']} {a['unit']}")]
    return rows


@asset.command("show")
@click.argument("asset_id", type=ID)
@wide_option
@json_option
@platform_command
def show_asset(platform: Platform, asset_id: int, wide: bool, as_json: bool) -> None:
    """One asset.

    \b
    Examples:
      vscm asset show 2
      vscm asset show 2 --json
    """
    a = platform.assets.asset(asset_id)
    emit(asset_view(a, platform.currency_code(a.currency)), as_json,
         lambda x: key_value_table(_asset_rows(x, Parties.of_platform(platform, wide)), title=f"asset {asset_id}"))


@asset.command("list")
@click.option("--owner", type=PARTY, default=None)
@wide_option
@json_option
@platform_command
def list_assets(platform: Platform, owner: str | None, wide: bool, as_json: bool) -> None:
    """Every asset (or one owner's).

    \b
    Examples:
      vscm asset list
      vscm asset list --owner supplier --wide
    """
    found = [asset_view(a, platform.currency_code(a.currency)) for a in platform.assets.assets()
             if owner is None or a.owner == owner]

    def view(rows: list[dict[str, Any]]) -> Table:
        party = Parties.of_platform(platform, wide)
        t = Table("asset", "kind", "status", "owner", "value", "locked by", **table_style(wide))
        for a in rows:
            t.add_row(str(a["asset_id"]), a["kind"].lower(), a["status"].lower(), party(a["owner"]), str(a["value"]),
                      str(a["locked_by_loan"] or "-"))
        return t

    emit(found, as_json, view)


# ------------------------------------------------------------------ loans

@click.group("loan")
def loan() -> None:
    """Loans in the four financing modes: apply, approve, disburse, repay, track the money."""


@loan.command("apply")
@click.option("--mode", type=click.Choice(MODES), required=True)
@click.option("--asset", "asset_id", type=ID, required=True, help="The asset you pledge.")
@click.option("--lender", type=PARTY, required=True)
@click.option("--principal", type=AMOUNT, required=True)
@click.option("--rate-bps", type=click.IntRange(min=0), required=True, help="Annual rate in basis points (650 = 6.5 %).")
@click.option("--term-days", type=click.IntRange(min=1), required=True)
@click.option("--order", "order_id", type=click.IntRange(min=0), default=0,
              help="The order the money is for (you are its buyer); prepayment uses the pledged order.")
@click.option("--guarantor", type=PARTY, default=None, help="Your chain's core enterprise (required for a pledge).")
@json_option
@signed_command
def apply_cmd(platform: Platform, signer: LocalAccount, mode: str, asset_id: int, lender: str, principal: int,
              rate_bps: int, term_days: int, order_id: int, guarantor: str | None, as_json: bool) -> None:
    """Borrower: apply for a loan."""
    loan_id = platform.loans.as_(signer).apply(LoanMode[mode.upper()], asset_id, lender, principal, rate_bps,
                                              term_days * DAY, order_id, guarantor).id
    emit_tx(platform.last_receipt, "loan applied", as_json, loan_id=loan_id)


@loan.command("approve")
@click.argument("loan_id", type=ID)
@click.option("--ltv-bps", type=click.IntRange(min=1, max=10_000), required=True,
              help="Loan-to-value limit in basis points (7000 = 70 %).")
@click.option("--supervisor", type=PARTY, default=None, help="Pledge: the warehouse holding the goods.")
@json_option
@signed_command
def approve_cmd(platform: Platform, signer: LocalAccount, loan_id: int, ltv_bps: int, supervisor: str | None,
                as_json: bool) -> None:
    """Lender: approve; the asset is locked to the loan."""
    emit_tx(platform.loans.as_(signer).approve(loan_id, ltv_bps, supervisor), "loan approved", as_json, loan_id=loan_id)


@loan.command("reject")
@click.argument("loan_id", type=ID)
@click.option("--reason", required=True)
@json_option
@signed_command
def reject_cmd(platform: Platform, signer: LocalAccount, loan_id: int, reason: str, as_json: bool) -> None:
    """Lender: reject an application."""
    emit_tx(platform.loans.as_(signer).reject(loan_id, keccak(text=reason)), "loan rejected", as_json, loan_id=loan_id)


@loan.command("withdraw")
@click.argument("loan_id", type=ID)
@json_option
@signed_command
def withdraw_cmd(platform: Platform, signer: LocalAccount, loan_id: int, as_json: bool) -> None:
    """Borrower or guarantor: withdraw a loan not disbursed; collateral, settlement, guarantee come back.

    An application can be withdrawn at any time; an approval once it expired (30 days after approval,
    see `vscm loan show`) or at any time when the lender is no longer an active member.

    Example: vscm loan withdraw 7 --wallet supplier
    """
    emit_tx(platform.loans.as_(signer).withdraw(loan_id), "loan withdrawn", as_json, loan_id=loan_id)


@loan.command("guarantee")
@click.argument("loan_id", type=ID)
@json_option
@signed_command
def guarantee_cmd(platform: Platform, signer: LocalAccount, loan_id: int, as_json: bool) -> None:
    """Guarantor: sign the guarantee, committing the principal.

    The LoanBook takes the principal from you and holds it for this loan alone: you cannot take it back
    while the loan runs. It comes back when the loan is repaid or ends undisbursed; at a default you are
    charged from it for what the lender really lost, and get the rest back.

    Example: vscm loan guarantee 7 --wallet core
    """
    receipt = platform.loans.as_(signer).sign_guarantee(loan_id)
    ln = platform.loans.loan(loan_id)
    emit_tx(receipt, "guarantee signed", as_json, loan_id=loan_id,
            committed=_money(platform, ln.currency, ln.guarantee_held))


@loan.command("disburse")
@click.argument("loan_id", type=ID)
@json_option
@signed_command
def disburse_cmd(platform: Platform, signer: LocalAccount, loan_id: int, as_json: bool) -> None:
    """Lender: pay the principal in; it becomes tracked money of the loan."""
    emit_tx(platform.loans.as_(signer).disburse(loan_id), "loan disbursed", as_json, loan_id=loan_id)


@loan.command("spend")
@click.argument("loan_id", type=ID)
@click.option("--to", "to", type=PARTY, required=True, help="A payee the loan's order allows.")
@click.option("--amount", type=AMOUNT, required=True)
@click.option("--purpose", required=True, help="What it pays for (at most 32 bytes).")
@click.option("--check-first", is_flag=True,
              help="Send nothing when the FundTracker would refuse (a local dry run). Without it a refused "
                   "payment is sent all the same, so the refusal is on the chain for the risk monitor.")
@json_option
@signed_command
def spend_cmd(platform: Platform, signer: LocalAccount, loan_id: int, to: str, amount: int, purpose: str,
              check_first: bool, as_json: bool) -> None:
    """Borrower: pay an allowed payee from the loan's tracked money.

    Every payment is sent to the chain: one the FundTracker refuses (a payee the loan's purpose does
    not allow, frozen money, ...) is mined and fails there, so the attempt is on the record and the
    risk monitor raises it (indicator 103, payment outside the allowed payees); the command then exits
    with code 3 naming the error and the transaction. --check-first refuses locally instead and sends
    nothing (no gas spent, and nothing on the record).

    \b
    Examples:
      vscm loan spend 3 --to supplier_b --amount 150000 --purpose "rubber order" --wallet supplier_a
      vscm loan spend 3 --to carrier --amount 6000 --purpose freight --check-first --wallet supplier_a
    """
    try:
        receipt = platform.funds.as_(signer).spend(loan_id, to, amount, purpose, refusal_on_chain=not check_first)
    except ContractRevert as exc:
        if exc.tx_hash is None:
            raise
        shown = readable_revert(exc, currency_finder(platform, None))
        raise ChainRefusal(f"{shown}: refused on chain in transaction {exc.tx_hash} (the risk monitor sees the "
                         "attempt; --check-first refuses without sending)") from exc
    code = platform.currency_code(platform.loans.loan(loan_id).currency)
    emit_tx(receipt, "loan money spent", as_json, loan_id=loan_id, to=to, amount=money(amount, code))


@loan.command("repay")
@click.argument("loan_id", type=ID)
@click.option("--amount", type=AMOUNT, required=True, help="Up to this much (interest first, then principal).")
@json_option
@signed_command
def repay_cmd(platform: Platform, signer: LocalAccount, loan_id: int, amount: int, as_json: bool) -> None:
    """Anyone (the borrower, even suspended): repay."""
    receipt = platform.loans.as_(signer).repay(loan_id, amount)
    ln = platform.loans.loan(loan_id)
    emit_tx(receipt, "loan repayment", as_json, loan_id=loan_id, status=ln.status.name,
            outstanding=_money(platform, ln.currency, ln.outstanding_now))


@loan.command("collect")
@click.argument("loan_id", type=ID)
@json_option
@signed_command
def collect_cmd(platform: Platform, signer: LocalAccount, loan_id: int, as_json: bool) -> None:
    """Receivable/payable: pass the debtor's settlement to the lender (surplus to the borrower)."""
    emit_tx(platform.loans.as_(signer).collect(loan_id), "settlement collected", as_json, loan_id=loan_id,
            status=platform.loans.loan(loan_id).status.name)


@loan.command("convert")
@click.argument("loan_id", type=ID)
@click.option("--receipt", "receipt_id", type=ID, required=True)
@json_option
@signed_command
def convert_cmd(platform: Platform, signer: LocalAccount, loan_id: int, receipt_id: int, as_json: bool) -> None:
    """Prepayment: the delivered goods' warehouse receipt replaces the future-goods right."""
    emit_tx(platform.loans.as_(signer).convert_collateral(loan_id, receipt_id), "collateral converted", as_json,
            loan_id=loan_id, receipt_id=receipt_id)


@loan.command("default")
@click.argument("loan_id", type=ID)
@json_option
@signed_command
def default_cmd(platform: Platform, signer: LocalAccount, loan_id: int, as_json: bool) -> None:
    """Lender: declare a late loan defaulted.

    The loan's unspent tracked money comes back to you first (as repayment); then the guarantor is
    charged for the rest and takes over your claim for what it paid (the collateral goes to it).

    Example: vscm loan default 5 --wallet bank
    """
    receipt = platform.loans.as_(signer).mark_default(loan_id)
    ln = platform.loans.loan(loan_id)
    emit_tx(receipt, "loan defaulted", as_json, loan_id=loan_id,
            guarantor_paid=_money(platform, ln.currency, ln.guarantor_paid), status=ln.status.name)


@loan.command("write-off")
@click.argument("loan_id", type=ID)
@json_option
@signed_command
def write_off_cmd(platform: Platform, signer: LocalAccount, loan_id: int, as_json: bool) -> None:
    """Lender: write off a defaulted loan; you take the collateral."""
    receipt = platform.loans.as_(signer).write_off(loan_id)
    ln = platform.loans.loan(loan_id)
    emit_tx(receipt, "loan written off", as_json, loan_id=loan_id,
            written_off=_money(platform, ln.currency, ln.written_off))


def loan_rows(d: dict[str, Any], party: Parties) -> list[tuple[str, Any]]:
    """A loan view (:func:`vscm.cli.views.loan_view`) as the rows of a table."""
    return [
        ("loan", d["loan_id"]), ("mode", d["mode"].lower()), ("status", d["status"].lower()),
        ("borrower", party(d["borrower"])), ("lender", party(d["lender"])), ("guarantor", party(d["guarantor"])),
        ("principal", d["principal"]), ("rate", f"{d['rate_bps'] / 100:.2f} %"),
        ("term", f"{d['term_days']} days"), ("maturity", stamp(d["maturity"])),
        ("approval expires", stamp(d["approval_expires"])),
        ("asset", d["asset_id"]), ("purpose order", d["purpose_order_id"] or "-"),
        ("repaid", f"{d['principal_repaid']} principal + {d['interest_paid']} interest"),
        ("accrued interest (unpaid)", d["accrued_now"]), ("outstanding now", d["outstanding_now"]),
        ("guarantee held", d["guarantee_held"]), ("guarantor paid", d["guarantor_paid"]),
        ("written off", d["written_off"]),
    ]


def applicant_summary(platform: Platform, borrower: str, wallet: str, password_file: Path | None,
                      index_target: str | None) -> dict[str, Any]:
    """The borrower's credit profile in short, read from the lenders' index (brought up to date first) by
    the lender whose wallet is ``wallet``, under the consent rules of ``vscm lender profile``."""
    from vscm.audit.source import source_for
    from vscm.cli.lender import default_index
    from vscm.cli.wallet import unlock_signer
    from vscm.index import open_index
    from vscm.underwriting import credit_profile, index_now, require, score

    viewer = unlock_signer(wallet, password_file).address
    with open_index(index_target or default_index()) as index:
        index.update(source_for(platform.chain), platform.deployment)
        granted = require(index, borrower, viewer, index_now(index))
        profile = credit_profile(index, borrower)
        result = score(profile)
    paid = profile["performance"]["invoices_paid"]
    return {"member": borrower, "name": profile["name"], "access": granted.basis, "score": result["score"],
            "fired": [c["feature"] for c in result["contributions"] if c["fired"]],
            "orders": sum(profile["trade"]["by_counterparty"].values()),
            "invoices_paid_late": paid["late"]["value"], "invoices_overdue": paid["overdue_unsettled"]["value"],
            "loans": {mode: {k: f["value"] for k, f in r.items() if f["value"]}
                      for mode, r in profile["credit"]["loans"].items()},
            "chain": profile["risk"]["chain"] and {k: v for k, v in profile["risk"]["chain"].items()
                                                   if k != "evidence"}}


@loan.command("show")
@click.argument("loan_id", type=ID)
@click.option("--applicant-as", "applicant_as", metavar="LABEL", default=None,
              help="Add the applicant's credit profile in short, read as the lender whose wallet this is "
                   "(`vscm lender profile` for all of it).")
@password_file_option
@click.option("--index", "index_target", envvar="VSCM_INDEX", default=None,
              help="The lenders' index for --applicant-as [default: $VSCM_HOME/index.sqlite].")
@wide_option
@json_option
@platform_command
def show_loan(platform: Platform, loan_id: int, applicant_as: str | None, password_file: Path | None,
              index_target: str | None, wide: bool, as_json: bool) -> None:
    """One loan; with --applicant-as LENDER, the applicant's profile summary too.

    \b
    Examples:
      vscm loan show 3
      vscm loan show 3 --applicant-as bank --json
    """
    ln = platform.loans.loan(loan_id)
    record = loan_view(ln, platform.currency_code(ln.currency))
    party = Parties.of_platform(platform, wide)
    if applicant_as is None:
        emit({"loan": record}, as_json, lambda x: key_value_table(loan_rows(x["loan"], party), title=f"loan {loan_id}"))
        return
    summary = applicant_summary(platform, ln.borrower, applicant_as, password_file, index_target)

    def view(d: dict[str, Any]) -> Group:
        a = d["applicant"]
        rows = [("applicant", f"{a['name']} ({a['member']})"), ("read as", a["access"]),
                ("score", f"{a['score']} of 100 (fired: {', '.join(a['fired']) or 'none'})"),
                ("orders", a["orders"]), ("invoices paid late / overdue",
                                          f"{a['invoices_paid_late']} / {a['invoices_overdue']}"),
                ("loans", "; ".join(f"{m}: {', '.join(f'{k} {v}' for k, v in r.items())}"
                                    for m, r in a["loans"].items()) or "-")]
        return Group(key_value_table(loan_rows(record, party), title=f"loan {loan_id}"),
                     key_value_table(rows, title="applicant's profile (vscm lender profile for all of it)"))

    emit({"loan": record, "applicant": summary}, as_json, view)


@loan.command("list")
@click.option("--lender", type=PARTY, default=None)
@click.option("--borrower", type=PARTY, default=None)
@wide_option
@json_option
@platform_command
def list_loans(platform: Platform, lender: str | None, borrower: str | None, wide: bool, as_json: bool) -> None:
    """Loans, optionally one lender's or one borrower's.

    \b
    Examples:
      vscm loan list --lender bank
      vscm loan list --borrower supplier --json
    """
    found = [loan_view(ln, platform.currency_code(ln.currency))
             for ln in platform.loans.loans(lender=lender, borrower=borrower)]

    def view(rows: list[dict[str, Any]]) -> Table:
        party = Parties.of_platform(platform, wide)
        t = Table("loan", "mode", "status", "borrower", "lender", "principal", "outstanding", **table_style(wide))
        for d in rows:
            t.add_row(str(d["loan_id"]), d["mode"].lower(), d["status"].lower(), party(d["borrower"]),
                      party(d["lender"]), str(d["principal"]), str(d["outstanding_now"]))
        return t

    emit(found, as_json, view)


@loan.command("track")
@click.argument("loan_id", type=ID)
@wide_option
@json_option
@platform_command
def track_cmd(platform: Platform, loan_id: int, wide: bool, as_json: bool) -> None:
    """Where the loan's money is now, and every hop it took.

    \b
    Examples:
      vscm loan track 3
      vscm loan track 3 --json
    """
    acct = loan_account(platform, loan_id)
    m = functools.partial(money, currency=platform.currency_code(acct.loan.currency))
    data = {"loan_id": loan_id, "status": acct.loan.status.name, "currency": m(0).currency,
            "disbursed": m(acct.loan.principal if acct.loan.disbursed_at else 0),
            "held_by_borrower": m(acct.held_by_borrower), "paid": {payee: m(v) for payee, v in acct.paid.items()},
            "returned_to_lender": m(acct.returned), "released_after_repayment": m(acct.released),
            "hops": [{**h, "amount": m(cast(int, h["amount"]))} for h in acct.trail]}

    def view(d: dict[str, Any]) -> Group:
        party = Parties.of_platform(platform, wide)
        where = key_value_table([("disbursed", d["disbursed"]), ("unspent (borrower)", d["held_by_borrower"]),
                                 *((f"paid to {party(payee)}", v) for payee, v in d["paid"].items()),
                                 ("returned to lender", d["returned_to_lender"]),
                                 ("released after repayment", d["released_after_repayment"])],
                                title=f"loan {loan_id}: where the money is")
        hops = Table("hop", "from", "to", "amount", "purpose", "block", title="hops", **table_style(wide))
        for h in d["hops"]:
            hops.add_row(str(h["hop"]), party(h["from"]), party(h["to"]), str(h["amount"]), str(h["purpose"]),
                         str(h["block"]))
        return Group(where, hops)

    emit(data, as_json, view)
