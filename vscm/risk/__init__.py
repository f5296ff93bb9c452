"""Risk indicators of the platform (pure Python, fed from decoded chain events; no chain needed).

``RiskEngine`` reads :class:`ChainEvent` / :class:`FailedCall` records in chain order and returns
:class:`Finding` records for RiskControl; thresholds come from ``thresholds.toml``
(:func:`load_thresholds`).
"""

from vscm.risk.config import Thresholds, load_thresholds
from vscm.risk.events import ChainEvent, FailedCall, Finding, Indicator, Record, Severity
from vscm.risk.indicators import ORACLE_EVENTS, PAYEE_REFUSALS, RiskEngine

__all__ = [
    "ORACLE_EVENTS",
    "PAYEE_REFUSALS",
    "ChainEvent",
    "FailedCall",
    "Finding",
    "Indicator",
    "Record",
    "RiskEngine",
    "Severity",
    "Thresholds",
    "load_thresholds",
]
