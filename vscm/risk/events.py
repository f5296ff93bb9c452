"""The records the risk engine reads (decoded chain logs, reverted calls) and the findings it writes.

The monitor (``vscm.risk.monitor``) decodes the platform contracts' logs into :class:`ChainEvent`
and mined-but-reverted transactions into :class:`FailedCall`, feeds them in chain order to
:class:`vscm.risk.indicators.RiskEngine`, and turns each :class:`Finding` into a RiskControl alert.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Literal, Self

from vscm.client.records import Severity  # noqa: F401 - re-exported: the severities of RiskControl alerts


@dataclass(frozen=True)
class ChainEvent:
    """One decoded log of a platform contract."""

    block: int
    time: int
    """block timestamp, seconds"""
    contract: str
    """"MemberRegistry" | "PlatformCash" | "OrderBook" | "AssetRegistry" | "LoanBook" | "FundTracker" |
    "TelemetryOracle" | "RiskControl\""""
    name: str
    """the Solidity event name, e.g. "OrderPlaced\""""
    args: Mapping[str, Any]
    """Solidity parameter names; addresses checksummed str, bytes32 as 0x-hex str, ints and enums as int"""
    tx: str = ""
    log_index: int = 0
    address: str = ""
    """emitting contract address (for PlatformCash it tells the currency)"""


@dataclass(frozen=True)
class FailedCall:
    """A mined transaction that reverted, e.g. loan money sent to a payee the loan does not allow."""

    block: int
    time: int
    contract: str
    function: str
    args: Mapping[str, Any]
    """the function's parameter names"""
    sender: str
    error: str
    """decoded custom error name, e.g. "FundsPayeeNotAllowed\""""
    tx: str = ""


Record = ChainEvent | FailedCall


class Indicator(IntEnum):
    """Risk indicator codes (uint16 on chain), shared with RiskControl and the on-chain detectors.

    1xx cash flow, 2xx transactions, 3xx raised by the telemetry oracle itself, 4xx collusion, 5xx payable
    certificates (501, a certificate late at maturity, is raised by the Certificates contract itself).
    """

    def __new__(cls, value: int, doc: str) -> Self:
        obj = int.__new__(cls, value)
        obj._value_ = value
        obj.__doc__ = doc
        return obj

    RECEIPTS_DROP = (
        101,
        "A member's cash receipts in the recent window fell far below its trailing-window rate.",
    )
    REPAYMENT_LATE = (
        102,
        "A disbursed loan is past its maturity plus the grace threshold and not fully repaid.",
    )
    PAYEE_NOT_ALLOWED = (
        103,
        ("The borrower tried to pay loan money to someone the loan's purpose order does not allow "
        "(a FundTracker.spend reverted with FundsPayeeNotAllowed)."),
    )
    ROUND_TRIP = (
        104,
        ("Loan money paid to a payee came back to the borrower (directly or through members the payee "
        "paid) within the window, for a large share of the payment."),
    )
    ORDER_UNWOUND_AFTER_FINANCING = (
        201,
        ("An order financed by a disbursed loan (its purpose order or the order behind its collateral) "
        "was cancelled or disputed."),
    )
    INVOICE_WITHOUT_DELIVERY = (
        202,
        ("An order was invoiced and, after the grace threshold, still has no delivery confirmed by a "
        "warehouse independent of its buyer and seller."),
    )
    GOODS_MISSING = (
        203,
        "The telemetry oracle reports the goods behind a loan missing (or a margin call on it).",
    )
    COUNTERPARTY_CHAIN_EVICTED = (
        204,
        ("A chain was evicted (fraud) while an open loan of another chain's borrower finances an order across "
        "chains whose other party is in it: RiskControl's sweep walks only the evicted chain's own loans."),
    )
    CIRCULAR_TRADING = (
        401,
        ("A cycle in a supply chain's trade graph (invoiced orders, seller to buyer, within the window) "
        "whose amounts are nearly equal all round, so that the money nets to nearly zero."),
    )
    RECEIVABLE_WITHOUT_SHIPMENT = (
        402,
        ("A receivable or payable registered between members on an order that was never shipped by an "
        "independent carrier."),
    )
    CERTIFICATE_ROUND_TRIP = (
        502,
        ("A part of a payable certificate was paid back round to the core enterprise that issued it: the "
         "core's promise paying the core."),
    )
    CERTIFICATE_WITHOUT_SHIPMENT = (
        503,
        ("A payable certificate was issued for, or a part of one paid, an order that was not shipped by an "
         "independent carrier."),
    )


def indicator_name(code: int) -> str:
    """An indicator code as words ("circular trading"), or "indicator <code>" for one this client does not know."""
    member = Indicator._value2member_map_.get(int(code))
    return member.name.lower().replace("_", " ") if member is not None else f"indicator {code}"


@dataclass(frozen=True)
class Finding:
    """One detected risk situation, targeted at a loan or a supply chain."""

    subject: Literal["loan", "chain"]
    subject_id: int
    """loan id or supply-chain id"""
    indicator: int
    """uint16 code, see :class:`Indicator`"""
    severity: int
    """1 low, 2 medium, 3 high, 4 critical"""
    key: str
    """stable de-duplication key: the same situation never yields two findings"""
    evidence: dict[str, Any]
    """JSON-serialisable facts (tx hashes, amounts, members, window figures)"""
    block: int
    """block at which it was detected"""
