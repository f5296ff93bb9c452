"""Slither's High and Medium results on the platform's contracts are all triaged (slither-triage.json,
each with its reason); a new one fails the suite, so it fails CI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vscm.chain.slither_check import Finding, SlitherError, compare, findings_of, load_triage, run_slither


def test_every_high_and_medium_result_is_triaged() -> None:
    found = run_slither()
    verdict = compare(found, load_triage())
    assert verdict.new == [], "untriaged Slither results:\n" + "\n".join(f"{f.key}: {f.description}"
                                                                     for f in verdict.new)
    assert verdict.stale == [], f"triage entries no longer found (remove them): {verdict.stale}"


def test_a_result_beyond_the_triage_fails_and_a_vanished_one_is_stale() -> None:
    found = [Finding("reentrancy-no-eth", "LoanBook.repay", "Medium"),
             Finding("reentrancy-no-eth", "LoanBook.repay", "Medium")]
    triage = [{"key": "reentrancy-no-eth LoanBook.repay", "impact": "Medium", "why": "checked"},
              {"key": "unused-return LoanBook.collect", "impact": "Medium", "why": "checked"}]
    verdict = compare(found, triage)
    assert verdict.new == [found[1]] and not verdict.ok  # one accepted, the second is new
    assert verdict.stale == ["unused-return LoanBook.collect"]


def test_results_are_located_by_contract_function_and_variable_not_line() -> None:
    contract = {"name": "RiskControl", "type": "contract"}
    function = {"name": "_sweepLoan", "type": "function", "type_specific_fields": {"parent": contract}}
    variable = {"name": "frozen", "type": "variable", "type_specific_fields": {"parent": function}}
    detectors = [{"check": "uninitialized-local", "impact": "Medium", "description": "x is never initialized\n",
                  "elements": [variable]},
                 {"check": "naming-convention", "impact": "Informational", "elements": [function]}]
    assert findings_of(detectors) == [Finding("uninitialized-local", "RiskControl._sweepLoan.frozen", "Medium",
                                              "x is never initialized")]


def test_a_triage_entry_without_a_reason_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "triage.json"
    path.write_text(json.dumps({"accepted": [{"key": "unused-return LoanBook.collect", "impact": "Medium",
                                              "why": " "}]}))
    with pytest.raises(SlitherError, match="gives no reason"):
        load_triage(path)
