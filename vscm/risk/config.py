"""Thresholds of the risk indicators, read from ``thresholds.toml`` (the documented defaults).

A user file overrides only the keys it gives; unknown keys and wrong types are refused with a
``ValueError`` naming the key (``section.key``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import tomllib

DEFAULTS_PATH = Path(__file__).with_name("thresholds.toml")

FRACTIONS = {"receipts_drop_fraction", "round_trip_share", "circular_tolerance"}
ALLOW_ZERO = {"round_trip_max_intermediaries", "circular_tolerance"}


@dataclass(frozen=True)
class Thresholds:
    """Every threshold; field ``<section>_<key>`` is key ``key`` of section ``[section]``."""

    receipts_recent_seconds: int
    receipts_trailing_seconds: int
    receipts_drop_fraction: float
    receipts_min_trailing_count: int
    repayment_grace_seconds: int
    repayment_critical_seconds: int
    payees_window_seconds: int
    payees_critical_attempts: int
    round_trip_window_seconds: int
    round_trip_share: float
    round_trip_max_intermediaries: int
    invoice_delivery_grace_seconds: int
    circular_window_seconds: int
    circular_tolerance: float
    circular_max_length: int


SECTIONS = ("receipts", "repayment", "payees", "round_trip", "invoice", "circular")


def _split(field_name: str) -> tuple[str, str]:
    for section in SECTIONS:
        if field_name.startswith(section + "_"):
            return section, field_name[len(section) + 1:]
    raise AssertionError(f"threshold field {field_name} has no section")


def _dotted(field_name: str) -> str:
    section, key = _split(field_name)
    return f"{section}.{key}"


_FIELD_TYPES: dict[str, type] = {f.name: (float if f.type in ("float", float) else int) for f in fields(Thresholds)}


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise ValueError(f"thresholds file {path}: cannot read it ({exc.strerror})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"thresholds file {path}: not valid TOML ({exc})") from exc


def _flatten(doc: dict[str, Any], path: Path) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for section, table in doc.items():
        if not isinstance(table, dict):
            raise ValueError(f"thresholds file {path}: unknown key {section!r} (expected a section "  # noqa: TRY004
                             f"[{'], ['.join(SECTIONS)}])")
        if section not in SECTIONS:
            raise ValueError(f"thresholds file {path}: unknown section [{section}]")
        for key, value in table.items():
            name = f"{section}_{key}"
            if name not in _FIELD_TYPES:
                raise ValueError(f"thresholds file {path}: unknown key {section}.{key}")
            flat[name] = value
    return flat


def _check(name: str, value: Any, path: Path) -> int | float:
    want = _FIELD_TYPES[name]
    dotted = _dotted(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"thresholds file {path}: {dotted} must be a number, got {value!r}")  # noqa: TRY004
    if want is int and not isinstance(value, int):
        raise ValueError(f"thresholds file {path}: {dotted} must be a whole number, got {value!r}")
    if name in FRACTIONS and not 0 <= value <= 1:
        raise ValueError(f"thresholds file {path}: {dotted} must be a fraction between 0 and 1, got {value!r}")
    if value < 0 or (value == 0 and name not in ALLOW_ZERO):
        raise ValueError(f"thresholds file {path}: {dotted} must be "
                         f"{'zero or more' if name in ALLOW_ZERO else 'positive'}, got {value!r}")
    return float(value) if want is float else int(value)


def load_thresholds(path: Path | None = None) -> Thresholds:
    """The packaged defaults, overridden by the keys of ``path`` when given."""
    values = _flatten(_read(DEFAULTS_PATH), DEFAULTS_PATH)
    missing = [_dotted(n) for n in _FIELD_TYPES if n not in values]
    if missing:
        raise ValueError(f"thresholds file {DEFAULTS_PATH}: missing key {missing[0]}")
    source = {n: DEFAULTS_PATH for n in values}
    if path is not None:
        user = _flatten(_read(Path(path)), Path(path))
        values.update(user)
        source.update({n: Path(path) for n in user})
    checked = {n: _check(n, values[n], source[n]) for n in _FIELD_TYPES}
    t = Thresholds(**checked)  # type: ignore[arg-type]
    if t.circular_max_length < 2:
        raise ValueError(f"thresholds file {source['circular_max_length']}: circular.max_length must be at "
                         f"least 2, got {t.circular_max_length}")
    return t
