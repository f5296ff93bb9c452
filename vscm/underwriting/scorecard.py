"""The underwriting scorecard: documented features of a credit profile, thresholds in ``scorecard.toml``.

A member starts at ``[score] base``; every feature that reaches its threshold (or falls under it, with
``below = true``) takes its ``points`` off. :func:`score` returns each feature's value, threshold,
whether it fired, the points it took and the evidence of its value: no weight is hidden.

``load_scorecard(path)`` reads the packaged defaults and overrides the keys a user file gives; unknown
sections or keys and wrong types are refused with a ``ValueError`` naming the key (``section.key``), as
the risk indicators' thresholds are (:mod:`vscm.risk.config`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomllib

__all__ = ["DEFAULTS_PATH", "FEATURES", "Feature", "Scorecard", "baseline", "load_scorecard", "score"]

DEFAULTS_PATH = Path(__file__).with_name("scorecard.toml")

#: Features whose threshold is a fraction between 0 and 1.
FRACTIONS = {"late_payment", "concentration", "unwound"}
#: Extra keys a feature section may hold besides threshold, points and below.
EXTRA_KEYS = {"concentration": {"min_orders"}}


@dataclass(frozen=True)
class Feature:
    """One feature: fires at ``value >= threshold`` (``value < threshold`` when ``below``)."""

    name: str
    threshold: float
    points: int
    below: bool = False
    min_orders: int = 0

    def fires(self, value: float) -> bool:
        return value < self.threshold if self.below else value >= self.threshold


@dataclass(frozen=True)
class Scorecard:
    base: int
    features: tuple[Feature, ...]


def _figures(*figures: dict[str, Any]) -> tuple[float, list[dict[str, Any]]]:
    return sum(f["value"] for f in figures), [e for f in figures for e in f["evidence"]]


def _late_payment(p: dict[str, Any], f: Feature) -> tuple[float, list[dict[str, Any]]]:
    paid = p["performance"]["invoices_paid"]
    bad, evidence = _figures(paid["late"], paid["overdue_unsettled"])
    total = bad + paid["on_time"]["value"]
    return (round(bad / total, 4) if total else 0.0), evidence


def _loan_trouble(p: dict[str, Any], f: Feature) -> tuple[float, list[dict[str, Any]]]:
    figures = [r[k] for r in p["credit"]["loans"].values()
               for k in ("repaid_late", "recalled", "defaulted", "written_off")]
    return _figures(*figures) if figures else (0, [])


def _concentration(p: dict[str, Any], f: Feature) -> tuple[float, list[dict[str, Any]]]:
    orders = sum(p["trade"]["by_counterparty"].values())
    if orders < f.min_orders:
        return 0.0, []
    return p["trade"]["concentration"]["value"], p["trade"]["concentration"]["evidence"]


def _unwound(p: dict[str, Any], f: Feature) -> tuple[float, list[dict[str, Any]]]:
    orders = sum(p["trade"]["by_counterparty"].values())
    count, evidence = _figures(p["performance"]["cancelled"], p["performance"]["disputed"])
    return (round(count / orders, 4) if orders else 0.0), evidence


def _documents(p: dict[str, Any], f: Feature) -> tuple[float, list[dict[str, Any]]]:
    if not p["trade"]["by_counterparty"]:
        return f.threshold, []  # no order, nothing undocumented
    figure = p["performance"]["documents_per_order"]
    return figure["value"], figure["evidence"]


def core_trouble(p: dict[str, Any]) -> tuple[int, list[dict[str, Any]]]:
    """1 when the member's chain's core enterprise is not active or the chain was evicted or declared
    fraudulent (also the naive baseline's only input), else 0."""
    core, chain = p["risk"]["core"], p["risk"]["chain"]
    if core is None or chain is None:
        return 0, []
    bad = core["status"] != "active" or chain["evicted"] or chain["fraud_declared"]
    return int(bad), [*core["evidence"], *chain["evidence"]]


#: Feature name (its section in scorecard.toml) -> its value and evidence in a profile.
FEATURES: dict[str, Callable[[dict[str, Any], Feature], tuple[float, list[dict[str, Any]]]]] = {
    "late_payment": _late_payment,
    "days_late": lambda p, f: _figures(p["performance"]["invoices_paid"]["max_days_late"]),
    "loan_trouble": _loan_trouble,
    "loan_alerts": lambda p, f: _figures(p["risk"]["alerts"]["on_loans"]),
    "chain_alerts": lambda p, f: _figures(p["risk"]["alerts"]["on_chain"]),
    "recalls": lambda p, f: _figures(p["risk"]["decisions"]["recall"]),
    "oracle_breaches": lambda p, f: _figures(p["risk"]["oracle_breaches"]),
    "concentration": _concentration,
    "unwound": _unwound,
    "documents": _documents,
    "core": lambda p, f: core_trouble(p),
}


def score(profile: dict[str, Any], card: Scorecard | None = None) -> dict[str, Any]:
    """The member's score on ``card`` (default: the packaged scorecard), with every contribution.

    Returns:
        ``{"member", "score", "base", "contributions": [{"feature", "value", "threshold", "below",
        "fired", "points", "evidence"}]}``; ``points`` is what the feature took off (0 when it did not fire).
    """
    card = card or load_scorecard()
    rows = []
    total = card.base
    for f in card.features:
        value, evidence = FEATURES[f.name](profile, f)
        fired = f.fires(value)
        taken = f.points if fired else 0
        total -= taken
        rows.append({"feature": f.name, "value": value, "threshold": f.threshold, "below": f.below, "fired": fired,
                     "points": -taken, "evidence": evidence})
    return {"member": profile["member"], "score": total, "base": card.base, "contributions": rows}


def baseline(profile: dict[str, Any]) -> int:
    """The naive underwriting the scorecard is measured against: 1 when the member's core enterprise
    and chain are in good standing, else 0 (nothing about the member itself)."""
    return 1 - core_trouble(profile)[0]


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise ValueError(f"scorecard file {path}: cannot read it ({exc.strerror})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"scorecard file {path}: not valid TOML ({exc})") from exc


def _check(section: str, key: str, value: Any, path: Path) -> Any:
    where = f"scorecard file {path}: {section}.{key}"
    if key == "below":
        if not isinstance(value, bool):
            raise ValueError(f"{where} must be true or false, got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{where} must be a number, got {value!r}")  # noqa: TRY004
    if key in ("points", "base", "min_orders") and not isinstance(value, int):
        raise ValueError(f"{where} must be a whole number, got {value!r}")
    if value < 0:
        raise ValueError(f"{where} must be zero or more, got {value!r}")
    if key == "threshold" and section in FRACTIONS and value > 1:
        raise ValueError(f"{where} must be a fraction between 0 and 1, got {value!r}")
    return value


def _merge(into: dict[str, dict[str, Any]], doc: dict[str, Any], path: Path) -> None:
    for section, table in doc.items():
        if not isinstance(table, dict):
            raise ValueError(f"scorecard file {path}: unknown key {section!r} (expected a section)")  # noqa: TRY004
        if section != "score" and section not in FEATURES:
            raise ValueError(f"scorecard file {path}: unknown section [{section}]")
        allowed = {"base"} if section == "score" else {"threshold", "points", "below",
                                                         *EXTRA_KEYS.get(section, set())}
        for key, value in table.items():
            if key not in allowed:
                raise ValueError(f"scorecard file {path}: unknown key {section}.{key}")
            into.setdefault(section, {})[key] = _check(section, key, value, path)


def load_scorecard(path: Path | None = None) -> Scorecard:
    """The packaged scorecard, overridden by the keys of ``path`` when given.

    Raises:
        ValueError: an unreadable file, an unknown section or key, a wrong type; the message names it.
    """
    values: dict[str, dict[str, Any]] = {}
    _merge(values, _read(DEFAULTS_PATH), DEFAULTS_PATH)
    if path is not None:
        _merge(values, _read(Path(path)), Path(path))
    for name in ("score", *FEATURES):
        for key in ("base",) if name == "score" else ("threshold", "points", *EXTRA_KEYS.get(name, set())):
            if key not in values.get(name, {}):
                raise ValueError(f"scorecard file {DEFAULTS_PATH}: missing key {name}.{key}")
    features = tuple(Feature(name, float(v["threshold"]), int(v["points"]), bool(v.get("below", False)),
                             int(v.get("min_orders", 0)))
                     for name, v in ((n, values[n]) for n in FEATURES))
    return Scorecard(int(values["score"]["base"]), features)
