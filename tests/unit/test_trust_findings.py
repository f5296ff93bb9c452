"""docs/trust-findings.md cannot rot: every test it names exists (a module-level test function of that
file), and every named error in its table is an error of a platform contract's ABI."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from vscm.chain import artifacts

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "trust-findings.md"
NODE_ID = re.compile(r"(tests/[\w/]+\.py)::(test_\w+)")


def _table_rows() -> list[list[str]]:
    rows = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("| ") and not line.startswith("| Finding") and not line.startswith("|---"):
            rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
    return rows


def _tests_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}


def test_every_test_the_findings_table_names_exists():
    named = NODE_ID.findall(DOC.read_text(encoding="utf-8"))
    assert len(named) >= 30
    missing = [f"{file}::{name}" for file, name in named
               if not (ROOT / file).is_file() or name not in _tests_in(ROOT / file)]
    assert missing == []


def test_every_finding_row_names_a_mechanism_and_at_least_one_test():
    rows = _table_rows()
    findings = [row[0] for row in rows]
    for needed in ("F-01", "F-02", "F-03", "F-04", "F-05", "F-06", "F-07", "F-08", "F-09"):
        assert any(f.startswith(needed) for f in findings), needed
    assert sum(f.startswith("Low:") for f in findings) == 12  # the twelve Low items of issue 13
    for row in rows:
        assert len(row) == 4 and row[1] and NODE_ID.search(row[3]), row[0]


def test_every_named_error_in_the_table_is_a_contract_error():
    errors = {item["name"] for abi in artifacts.all_abis().values() for item in abi if item["type"] == "error"}
    named = {name for row in _table_rows() for name in re.findall(r"`(\w+)`", row[2])}
    assert named and named - errors == set()
