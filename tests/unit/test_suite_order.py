"""The scheduling hint of tests/conftest.py names files that exist (a renamed file would silently lose its place)."""

from __future__ import annotations

from pathlib import Path

from suite_order import LONGEST_FIRST

REPO = Path(__file__).resolve().parents[2]


def test_every_longest_first_file_exists_once() -> None:
    assert [p for p in LONGEST_FIRST if not (REPO / p).is_file()] == []
    assert len(set(LONGEST_FIRST)) == len(LONGEST_FIRST)


def test_longest_files_are_collected_first(request) -> None:  # type: ignore[no-untyped-def]
    files = list(dict.fromkeys(item.nodeid.partition("::")[0] for item in request.session.items))
    listed = [f for f in files if f in LONGEST_FIRST]
    assert files[:len(listed)] == listed == [p for p in LONGEST_FIRST if p in files]
