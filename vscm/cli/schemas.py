"""The JSON that ``vscm ... --json`` prints, as pydantic models: one model per record, one per command.

docs/json.md is generated from these models (``python -m vscm.cli.schemas > docs/json.md``) and a test checks
that it is up to date, and that each command's JSON validates against its model (strictly: no missing, extra
or mistyped key). The commands do not import this module: it costs nothing at run time.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

__all__ = ["COMMANDS", "RECORDS", "markdown", "validate"]

Address = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{40}$", description="a full 0x address (EIP-55)")]
Hex = Annotated[str, Field(pattern=r"^0x[0-9a-f]*$", description="bytes as 0x hex")]
Time = Annotated[str, Field(pattern=r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$",
                            description="ISO 8601, UTC")]
Code = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 currency code")]


#: how docs/json.md names the constrained strings
_NAMED = {r"^0x[0-9a-fA-F]{40}$": "address (`0x…`, 40 hex digits)", r"^0x[0-9a-f]*$": "hex (`0x…`)",
          r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$": "time (ISO 8601, UTC)",
          r"^[A-Z]{3}$": "currency code (ISO 4217)"}


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Money(_Record):
    """An amount with its currency: every amount in every command."""

    amount: Annotated[str, Field(pattern=r"^-?\d+\.\d\d$", description="decimal, 2 places")]
    currency: Code
    minor: int = Field(description="integer minor units (cents), as the contracts hold them")


class Document(_Record):
    """A document's hash attached to an order."""

    index: int
    kind: str
    hash: Hex
    attached_by: Address
    attached_at: Time


class Order(_Record):
    """An order (``vscm order show|list``)."""

    order_id: int
    status: str
    buyer: Address
    seller: Address
    #: the order's chain: the buyer's
    chain_id: int
    #: the seller's chain at placement: ``chain_id`` unless the order was placed across chains
    seller_chain_id: int
    currency: Code
    cash_token: Address
    amount: Money
    prepaid: Money
    due_date: Time
    overseas: bool
    incoterm: str | None
    destination_country: str | None
    carrier: Address | None
    warehouse: Address | None
    invoice_number: str | None
    payee: Address
    status_before_dispute: str
    document_count: int
    documents: list[Document]


class Asset(_Record):
    """A financeable asset (``vscm asset show|list``)."""

    asset_id: int
    kind: Literal["RECEIVABLE", "PAYABLE", "WAREHOUSE_RECEIPT", "FUTURE_GOODS", "CERTIFICATE_PART"]
    status: str
    owner: Address
    issuer: Address
    obligor: Address
    order_id: int | None
    currency: Code
    cash_token: Address
    value: Money
    quantity: int
    pledged_quantity: int
    unit: str | None
    description_hash: Hex
    business_key: Hex
    locked_by_loan: int | None


class Loan(_Record):
    """A loan: the same record from the chain (``vscm loan show|list``) and from the index (``vscm lender loan``)."""

    loan_id: int
    mode: Literal["PLEDGE", "RECEIVABLE", "PREPAYMENT", "PAYABLE"]
    status: str
    borrower: Address
    lender: Address
    guarantor: Address | None
    supervisor: Address | None
    currency: Code
    cash_token: Address
    asset_id: int
    purpose_order_id: int | None
    principal: Money
    rate_bps: int
    ltv_bps: int
    term_days: int
    collateral_quantity: int
    guarantee_signed: bool
    settlement_collected: bool
    approval_expires: Time | None
    disbursed_at: Time | None
    maturity: Time | None
    defaulted_at: Time | None
    warning_deadline: Time | None
    interest_accrued: Money
    principal_repaid: Money
    interest_paid: Money
    accrued_now: Money
    outstanding_now: Money
    guarantee_held: Money
    guarantor_paid: Money
    written_off: Money


class Member(_Record):
    """A member (``vscm member show|list``)."""

    address: Address
    name: str
    roles: list[str]
    tier: str
    status: str
    chain_id: int
    credential_hash: Hex
    credential_expiry: Time | None
    financier_attestor: Address | None
    auditor_attestor: Address | None


class LoanShow(_Record):
    """``vscm loan show ID`` (``applicant``: with ``--applicant-as``)."""

    loan: Loan
    applicant: dict[str, Any] | None = None


class Hop(_Record):
    """One payment of a loan's tracked money, from the chain's FundsMoved events."""

    hop: int
    to: Address
    amount: Money
    purpose: str
    block: int
    tx: Hex


class TrackHop(_Record):
    """A hop as ``vscm loan track`` reads it from the chain."""

    hop: int
    to: Address
    amount: Money
    purpose: str
    block: int
    from_: Address = Field(alias="from")


class LoanTrack(_Record):
    """``vscm loan track ID``: where the loan's money is, and its hops."""

    loan_id: int
    status: str
    currency: Code
    disbursed: Money
    held_by_borrower: Money
    paid: dict[str, Money] = Field(description="by payee address")
    returned_to_lender: Money
    released_after_repayment: Money
    hops: list[TrackHop]


class Tracked(_Record):
    """A loan's tracked money as the index folded it."""

    disbursed: Money
    spent: Money
    returned: Money
    released: Money
    frozen: bool


class Repayment(_Record):
    """One repayment of a loan."""

    payer: Address
    interest: Money
    principal: Money
    outstanding: Money
    block: int
    tx: Hex


class LenderLoan(_Record):
    """``vscm lender loan ID``: the loan record of ``vscm loan show`` plus what the index adds."""

    loan: Loan
    as_of_block: int
    tracked: Tracked
    hops: list[Hop]
    repayments: list[Repayment]


class PortfolioAmounts(_Record):
    """One currency's amounts in a portfolio."""

    outstanding_principal: Money
    accrued_interest: Money
    written_off: Money


class PortfolioMode(_Record):
    """A financing mode in a portfolio: counts, and amounts per currency."""

    loans: int
    running: int
    collateral_locked: int
    currencies: dict[str, PortfolioAmounts]


class Portfolio(_Record):
    """``vscm lender portfolio WHO``: per mode and currency, totals per currency (never across currencies)."""

    lender: Address
    as_of_block: int
    modes: dict[str, PortfolioMode]
    totals: dict[str, PortfolioAmounts]


class ExposureAmounts(_Record):
    """Open loans and what is at stake, in one currency."""

    loans: int
    outstanding: Money
    unspent: Money


class Exposure(_Record):
    """``vscm lender exposure WHO``: by borrower, by supply chain and in total, each per currency."""

    lender: Address
    as_of_block: int
    loans: int
    currency: dict[str, ExposureAmounts]
    borrower: dict[str, dict[str, ExposureAmounts]]
    supply_chain: dict[str, dict[str, ExposureAmounts]]


class RiskExposure(_Record):
    """``vscm risk exposure CHAIN``: one row per lender and currency (RiskControl's figures, split by currency)."""

    lender: Address
    currency: Code
    loans: int
    outstanding: Money = Field(description="what the chain's borrowers owed the lender when the sweep saw each loan")
    frozen: Money = Field(description="the unspent loan money frozen for the lender's loans")


class MoneyFigure(BaseModel):
    """A profile's amount of money: its value as money, with the events it was computed from."""

    model_config = ConfigDict(extra="forbid", strict=True)

    value: Money
    evidence: list[dict[str, Any]] = Field(description="tx, block, log_index, contract, event of each event counted")


class ProfileTrade(BaseModel):
    """The trade part of a credit profile (more keys: counts and ratios, each ``{"value", "evidence"}``)."""

    model_config = ConfigDict(extra="allow", strict=True)

    value: dict[str, dict[Literal["bought", "sold"], MoneyFigure]] = Field(description="by currency code")


class ProfileCredit(BaseModel):
    """The credit part of a credit profile (more keys: loans by mode, guarantees)."""

    model_config = ConfigDict(extra="allow", strict=True)

    outstanding: dict[str, MoneyFigure] = Field(description="by currency code")


class CreditProfile(BaseModel):
    """A member's credit profile (more keys: member, name, tier, status, as_of, performance, risk)."""

    model_config = ConfigDict(extra="allow", strict=True)

    trade: ProfileTrade
    credit: ProfileCredit


class LenderProfile(_Record):
    """``vscm lender profile MEMBER``: who read it and why, the profile (money as ``Money``) and its score."""

    viewer: Address
    access: str
    profile: CreditProfile
    score: dict[str, Any] = Field(description="score, base and the scorecard's contributions")


class TxResult(BaseModel):
    """Every write: the transaction, and what it did (more keys per command: ids, new status, money)."""

    model_config = ConfigDict(extra="allow", strict=True)

    action: str
    tx: Hex
    block: int
    gas_used: int


class Agent(_Record):
    """An unlocked wallet: the unlock agent that holds its key (`vscm wallet unlock`, `vscm wallet agents`)."""

    label: str = Field(description="the wallet's label")
    address: Address
    keystore: str = Field(description="the keystore file it was unlocked from")
    socket: str = Field(description="the agent's Unix socket (mode 0600, in a 0700 directory)")
    pid: int = Field(description="the agent's process id")
    unlocked_at: Time
    locks_at: Time
    seconds_left: int = Field(description="seconds until it locks")
    signatures: int = Field(description="signatures made so far")


class Locked(_Record):
    """The wallets whose agents `vscm wallet lock` ended (empty when none was unlocked)."""

    locked: list[str]


#: Named records, in the order docs/json.md lists them.
RECORDS: tuple[type[BaseModel], ...] = (Money, Order, Document, Asset, Loan, Member, Hop, Repayment, Tracked,
                                         CreditProfile, ProfileTrade, ProfileCredit, MoneyFigure)

#: command -> the model of its ``--json`` output (``list[...]`` for lists).
COMMANDS: dict[str, Any] = {
    "order show": Order, "order list": list[Order],
    "asset show": Asset, "asset list": list[Asset],
    "loan show": LoanShow, "loan list": list[Loan], "loan track": LoanTrack,
    "lender loan": LenderLoan, "lender portfolio": Portfolio, "lender exposure": Exposure,
    "lender profile": LenderProfile, "risk exposure": list[RiskExposure],
    "member show": Member, "member list": list[Member],
    "cash balance": dict[str, Money],
    "wallet unlock": Agent, "wallet agents": list[Agent], "wallet lock": Locked,
    "every write (order place, loan repay, ...)": TxResult,
}


def validate(command: str, data: Any) -> Any:
    """Check ``data`` (parsed JSON) against the model of ``command``; returns the validated value.

    Raises:
        pydantic.ValidationError: a key missing, extra or of the wrong type.
    """
    # JSON has no tuples or enums: validate the parsed data in JSON mode (strict, but str stays str).
    return TypeAdapter(COMMANDS[command]).validate_json(json.dumps(data))


def markdown() -> str:
    """docs/json.md: the conventions, then each command's schema and each record's (JSON Schema)."""
    parts = [
        "# The JSON of `vscm ... --json`",
        "",
        ("Generated from `vscm/cli/schemas.py` (`python -m vscm.cli.schemas > docs/json.md`); "
        "`tests/integration/test_cli_audit.py` and `tests/integration/test_cli_platform.py` validate each "
        "command's output against these models (pydantic, strict), and `tests/unit/test_cli_schemas.py` checks that "
        "this file is up to date."),
        "",
        ("Conventions: money is always `Money` (`{\"amount\": \"120000.00\", \"currency\": \"CNY\", \"minor\": "
        "12000000}`); a time is ISO 8601 in UTC (`2031-06-30T00:00:00+00:00`), `null` where the contract holds 0 "
        "(not yet); a party is its full EIP-55 address; a record's `currency` is the ISO code and `cash_token` the "
        "token's address; enums are their names (`SETTLED`)."),
        "",
        "## Commands",
        "",
        "| command | JSON |",
        "|---|---|",
    ]
    for command, model in COMMANDS.items():
        parts.append(f"| `vscm {command} --json` | {_type_name(model)} |")
    parts += ["", "## Records", ""]
    models: list[type[BaseModel]] = list(RECORDS)
    for model in COMMANDS.values():
        inner = getattr(model, "__args__", (model,))[-1]
        if isinstance(inner, type) and issubclass(inner, BaseModel) and inner not in models:
            models.append(inner)
    for model in models:
        schema = model.model_json_schema(by_alias=True, ref_template="{model}")
        required = set(schema.get("required", ()))
        extra = "more keys allowed" if schema.get("additionalProperties", True) else "no other key"
        summary = (model.__doc__ or "").strip().replace("``", "`")
        parts += [f"### {model.__name__}", "", f"{summary} ({extra})", "",
                  "| key | type | |", "|---|---|---|"]
        for key, prop in schema["properties"].items():
            note = prop.get("description", "")
            parts.append(f"| `{key}` | {_json_type(prop)} | {'' if key in required else 'optional. '}{note} |")
        parts.append("")
    return "\n".join(parts)


def _json_type(prop: dict[str, Any]) -> str:
    """A JSON Schema property in words: ``Money``, ``string (ISO 8601, UTC) or null``, ``list of Hop``."""
    if "$ref" in prop:
        return f"[{prop['$ref']}](#{prop['$ref'].lower()})"
    if "anyOf" in prop:
        return " or ".join(_json_type(p) for p in prop["anyOf"])
    kind = prop.get("type", "any")
    if kind == "array":
        return f"list of {_json_type(prop.get('items', {}))}"
    if kind == "object" and isinstance(prop.get("additionalProperties"), dict):
        return f"object of {_json_type(prop['additionalProperties'])}"
    if "enum" in prop:
        return " \\| ".join(f"`{v}`" for v in prop["enum"])
    if prop.get("pattern") in _NAMED:
        return _NAMED[prop["pattern"]]
    if "pattern" in prop:
        return f"{kind} `{prop['pattern']}`".replace("|", "\\|")
    return "null" if kind == "null" else kind


def _type_name(model: Any) -> str:
    args = getattr(model, "__args__", None)
    if args is None:
        return f"[{model.__name__}](#{model.__name__.lower()})"
    origin = getattr(model, "__origin__", None)
    if origin is list:
        return f"list of {_type_name(args[0])}"
    return f"object: currency code → {_type_name(args[-1])}"


if __name__ == "__main__":
    print(markdown(), end="")
