"""docs/trust-model.md has exactly one row for every state-changing function of every platform contract,
and none for a function that no longer exists.

A row of the document's tables starts with ``| `Contract.name(type,...)` |``: the signature built from
the ABI (struct inputs written ``tuple``), followed by three non-empty cells (who may call, member
status, what it moves or changes)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

from vscm.chain import artifacts
from vscm.chain.deploy import PLATFORM_CONTRACTS

DOC = Path(__file__).resolve().parents[2] / "docs" / "trust-model.md"
ROW = re.compile(r"^\| `(?P<key>[A-Za-z0-9_]+\.[A-Za-z0-9_]+\([^`]*\))` \|(?P<rest>.*)$")


def _type(param: dict[str, Any]) -> str:
    # The ABI writes a struct as `tuple` (`tuple[]` for an array of them), its fields in `components`.
    return str(param["type"])


def state_changing(name: str) -> list[str]:
    """`Contract.name(types)` of every function of `name`'s ABI that is neither view nor pure."""
    return [
        f"{name}.{entry['name']}({','.join(_type(p) for p in entry['inputs'])})"
        for entry in artifacts.load(name).abi
        if entry["type"] == "function" and entry.get("stateMutability") not in ("view", "pure")
    ]


def documented_rows(text: str) -> list[tuple[str, list[str]]]:
    """(signature, other cells) of every function row of the document."""
    rows = []
    for line in text.splitlines():
        match = ROW.match(line.strip())
        if match:
            cells = [cell.strip() for cell in match["rest"].strip().removesuffix("|").split("|")]
            rows.append((match["key"], cells))
    return rows


def test_signatures_are_built_from_the_abi_with_structs_as_tuple():
    assert "LoanBook.applyForLoan(tuple)" in state_changing("LoanBook")
    assert "TelemetryOracle.submitReport(tuple,bytes[])" in state_changing("TelemetryOracle")
    assert not any(sig.startswith("LoanBook.getLoan(") for sig in state_changing("LoanBook"))


def test_row_parser_reads_signature_and_cells():
    text = "| Function | Who |\n|---|---|\n| `A.f(uint256,tuple)` | anyone | any | nothing |\n"
    assert documented_rows(text) == [("A.f(uint256,tuple)", ["anyone", "any", "nothing"])]


def test_every_state_changing_function_has_exactly_one_row_and_no_row_is_stale():
    expected = Counter(sig for name in PLATFORM_CONTRACTS for sig in state_changing(name))
    found = Counter(sig for sig, _ in documented_rows(DOC.read_text()))
    missing = sorted(sig for sig in expected if sig not in found)
    extra = sorted(sig for sig in found if sig not in expected)
    repeated = sorted(sig for sig, count in found.items() if count > 1 and sig in expected)
    problems = []
    if missing:
        problems.append("no row in docs/trust-model.md for:\n  " + "\n  ".join(missing))
    if extra:
        problems.append("rows for functions that do not exist (any more):\n  " + "\n  ".join(extra))
    if repeated:
        problems.append("more than one row for:\n  " + "\n  ".join(repeated))
    assert not problems, "\n".join(problems)


def test_every_row_says_who_in_which_status_and_what_it_changes():
    incomplete = [sig for sig, cells in documented_rows(DOC.read_text()) if len(cells) != 3 or not all(cells)]
    assert not incomplete, "rows without exactly three filled cells after the signature:\n  " + "\n  ".join(
        incomplete
    )
