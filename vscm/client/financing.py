"""Financing workflows: originate a loan in any of the four modes, each step signed by its party.

    loan_id = originate(platform, Origination(mode=LoanMode.PLEDGE, asset_id=..., borrower=supplier,
                        lender=bank, principal=..., rate_bps=650, term_seconds=90 * DAY, ltv_bps=7000,
                        purpose_order_id=..., guarantor=core, supervisor=warehouse.address))
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_account.signers.local import LocalAccount

from vscm.client.platform import Platform
from vscm.client.records import Loan, LoanMode, LoanStatus

__all__ = ["DAY", "LoanAccount", "Origination", "interest_reference", "loan_account", "originate"]

DAY = 24 * 3600
YEAR = 365 * DAY
BPS = 10_000


@dataclass(frozen=True)
class Origination:
    mode: LoanMode
    asset_id: int
    borrower: LocalAccount
    lender: LocalAccount
    principal: int
    rate_bps: int
    term_seconds: int
    ltv_bps: int
    purpose_order_id: int = 0
    guarantor: LocalAccount | None = None
    supervisor: str | None = None


def originate(platform: Platform, o: Origination, disburse: bool = True) -> int:
    """Apply (borrower), sign the guarantee (guarantor), approve and disburse (lender)."""
    loans = platform.loans
    loan_id = loans.as_(o.borrower).apply(o.mode, o.asset_id, o.lender.address, o.principal, o.rate_bps,
                                          o.term_seconds, o.purpose_order_id,
                                          o.guarantor.address if o.guarantor else None).id
    if o.guarantor is not None:
        loans.as_(o.guarantor).sign_guarantee(loan_id)
    loans.as_(o.lender).approve(loan_id, o.ltv_bps, o.supervisor)
    if disburse:
        loans.as_(o.lender).disburse(loan_id)
    return loan_id


@dataclass(frozen=True)
class LoanAccount:
    """A lender's account of one loan: its numbers, collateral and where the money went."""

    loan: Loan
    collateral: str
    pledged: str
    trail: list[dict[str, object]]
    held_by_borrower: int
    paid: dict[str, int]
    returned: int
    released: int


def loan_account(platform: Platform, loan_id: int) -> LoanAccount:
    loan = platform.loans.loan(loan_id)
    asset = platform.assets.asset(loan.asset_id)
    whole, cents = divmod(asset.value, 100)  # the platform's currencies have 2 decimals
    pledged = (f"{asset.pledged_quantity}/{asset.quantity} {asset.unit} pledged"
               if asset.kind.name == "WAREHOUSE_RECEIPT"
               else f"value {platform.currency_code(asset.currency)} {whole:,}.{cents:02d}")
    if loan.status in (LoanStatus.APPLIED, LoanStatus.APPROVED, LoanStatus.REJECTED, LoanStatus.WITHDRAWN):
        return LoanAccount(loan, f"{asset.kind.name.lower()} #{asset.asset_id}", pledged, [], 0, {}, 0, 0)
    where = platform.funds.whereabouts(loan_id)
    return LoanAccount(loan, f"{asset.kind.name.lower()} #{asset.asset_id}", pledged,
                       platform.funds.hops(loan_id), where.held, where.paid, where.returned, where.released)


def interest_reference(principal_left: int, rate_bps: int, seconds: int) -> int:
    """Simple interest for ``seconds`` on ``principal_left`` (the contract's formula, floor division)."""
    return principal_left * rate_bps * seconds // (BPS * YEAR)
