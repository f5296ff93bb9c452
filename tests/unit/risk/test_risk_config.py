"""The thresholds file: documented defaults, partial overrides, clear errors."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest
import tomllib

from vscm.risk import Thresholds, load_thresholds
from vscm.risk.config import DEFAULTS_PATH


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mine.toml"
    path.write_text(text)
    return path


def test_defaults_come_from_the_packaged_file() -> None:
    t = load_thresholds()
    doc = tomllib.loads(DEFAULTS_PATH.read_text())
    flat = {f"{section}_{key}": value for section, table in doc.items() for key, value in table.items()}
    assert set(flat) == {f.name for f in fields(Thresholds)}
    for name, value in flat.items():
        assert getattr(t, name) == value
    assert t.receipts_drop_fraction == 0.7 and t.repayment_critical_seconds == 7 * 86_400


def test_every_default_is_documented() -> None:
    """Each key line is preceded by a comment block that states a unit and a reason."""
    lines = DEFAULTS_PATH.read_text().splitlines()
    keys = [i for i, line in enumerate(lines) if re.match(r"^[a-z_]+ = ", line)]
    assert len(keys) == len(fields(Thresholds))
    for i in keys:
        j = i
        comment: list[str] = []
        while j > 0 and lines[j - 1].startswith("#"):
            j -= 1
            comment.insert(0, lines[j])
        text = " ".join(comment)
        assert comment, f"{lines[i]} has no comment"
        assert "Unit:" in text, f"{lines[i]} does not say its unit"
        assert re.search(r"\d[^.]*:", text.split("Unit:")[1]), f"{lines[i]} does not say why its default"


def test_user_file_overrides_only_its_keys(tmp_path: Path) -> None:
    path = write(tmp_path, "[round_trip]\nshare = 0.3\n\n[circular]\nmax_length = 3\n")
    t = load_thresholds(path)
    d = load_thresholds()
    assert t.round_trip_share == 0.3 and t.circular_max_length == 3
    assert t.round_trip_window_seconds == d.round_trip_window_seconds
    assert t.receipts_recent_seconds == d.receipts_recent_seconds
    assert load_thresholds(write(tmp_path, "")) == d
    # A whole number is fine where a fraction is expected.
    assert load_thresholds(write(tmp_path, "[circular]\ntolerance = 0\n")).circular_tolerance == 0.0


@pytest.mark.parametrize(("text", "message"), [
    ("[round_trip]\nshares = 0.3\n", "unknown key round_trip.shares"),
    ("[roundtrip]\nshare = 0.3\n", r"unknown section \[roundtrip\]"),
    ("share = 0.3\n", "unknown key 'share'"),
    ("[round_trip]\nshare = \"half\"\n", "round_trip.share must be a number"),
    ("[receipts]\nrecent_seconds = 7.5\n", "receipts.recent_seconds must be a whole number"),
    ("[payees]\ncritical_attempts = true\n", "payees.critical_attempts must be a number"),
    ("[receipts]\ndrop_fraction = 1.5\n", "receipts.drop_fraction must be a fraction between 0 and 1"),
    ("[repayment]\ngrace_seconds = -1\n", "repayment.grace_seconds must be positive"),
    ("[invoice]\ndelivery_grace_seconds = 0\n", "invoice.delivery_grace_seconds must be positive"),
    ("[circular]\nmax_length = 1\n", "circular.max_length must be at least 2"),
    ("[circular\n", "not valid TOML"),
])
def test_bad_files_are_refused_naming_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ValueError, match=message) as exc:
        load_thresholds(path)
    assert "\n" not in str(exc.value)
    assert str(path) in str(exc.value)


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot read it"):
        load_thresholds(tmp_path / "nope.toml")


def test_thresholds_are_frozen() -> None:
    t = load_thresholds()
    with pytest.raises(AttributeError):
        t.round_trip_share = 0.1  # type: ignore[misc]
