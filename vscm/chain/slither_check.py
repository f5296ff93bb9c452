"""Slither over the platform's contracts, offline, against a triaged baseline.

``python -m vscm.chain.slither_check`` (run by ``make lint`` and by a test in ``make test``) runs
Slither on ``contracts/`` in one standard-JSON compilation through the repo's solc shim (solc-js;
nothing is downloaded), keeps the High and Medium results of the platform's own contracts (not the
test mocks, not OpenZeppelin), and compares them with ``slither-triage.json``: every result there was
read by a person and carries the reason it is accepted. A result that is not in the triage fails the
check (exit 1, one line per result); a triage entry that no longer matches anything is reported so
that it can be removed.

A result is identified by its detector and where it is (``reentrancy-no-eth
RiskControl.confirmFraud``), not by line numbers, so that unrelated edits do not churn the triage.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vscm.errors import VscmError

__all__ = ["Finding", "Verdict", "compare", "findings_of", "load_triage", "run_slither"]

ROOT = Path(__file__).resolve().parents[2]
TRIAGE_FILE = ROOT / "slither-triage.json"
GATED_IMPACTS = ("High", "Medium")


class SlitherError(VscmError):
    """Slither could not be run or its output could not be read."""


@dataclass(frozen=True, order=True)
class Finding:
    """One Slither result: ``check`` (detector), ``where`` (Contract.function[.variable]), ``impact``."""

    check: str
    where: str
    impact: str
    description: str = ""

    @property
    def key(self) -> str:
        return f"{self.check} {self.where}"


@dataclass(frozen=True)
class Verdict:
    new: list[Finding]      # found, not triaged: the check fails
    stale: list[str]        # triaged, no longer found: to be removed from the triage

    @property
    def ok(self) -> bool:
        return not self.new


def run_slither(root: Path = ROOT) -> list[Finding]:
    """Run Slither on ``root/contracts`` and return its High and Medium findings.

    Raises:
        SlitherError: slither is not installed, or it failed before giving results.
    """
    from vscm.chain.solc_shim import install

    slither = shutil.which("slither", path=str(Path(sys.executable).parent)) or shutil.which("slither")
    if slither is None:
        raise SlitherError("slither is not installed: run `make install` (slither-analyzer is a dev dependency)")
    with tempfile.TemporaryDirectory(prefix="vscm-slither-") as scratch:
        # A shim of this checkout's own solc-js (the one in ~/.solcx may belong to another checkout).
        shim, _ = install(scratch)
        out = Path(scratch) / "slither.json"
        command = [slither, "contracts/", "--solc-standard-json", "--solc", str(shim),
                   "--solc-remaps", "@openzeppelin/=node_modules/@openzeppelin/",
                   "--filter-paths", "node_modules|contracts/test|contracts/reference",
                   "--exclude-informational", "--exclude-optimization", "--exclude-low",
                   "--json", str(out)]
        done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
        if not out.exists():
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise SlitherError(f"slither failed (exit {done.returncode}): {tail[0]}")
        report = json.loads(out.read_text())
    if not report.get("success"):
        raise SlitherError(f"slither failed: {report.get('error')}")
    return findings_of(report.get("results", {}).get("detectors", []))


def findings_of(detectors: Iterable[dict[str, Any]]) -> list[Finding]:
    """The gated findings of Slither's JSON ``results.detectors``, located by contract and function."""
    found = []
    for result in detectors:
        if result.get("impact") not in GATED_IMPACTS:
            continue
        elements = result.get("elements") or [{}]
        found.append(Finding(check=result["check"], where=_where(elements[0]), impact=result["impact"],
                             description=str(result.get("description", "")).strip().splitlines()[0]
                             if result.get("description") else ""))
    return sorted(found)


def _where(element: dict[str, Any]) -> str:
    """``Contract.function`` for a function, ``Contract.function.variable`` for a local variable."""
    names = [element.get("name", "?")]
    parent = element.get("type_specific_fields", {}).get("parent")
    while parent:
        names.append(parent.get("name", "?"))
        parent = parent.get("type_specific_fields", {}).get("parent")
    return ".".join(reversed(names))


def load_triage(path: Path = TRIAGE_FILE) -> list[dict[str, str]]:
    """The accepted results: ``[{"key": "check Contract.fn", "impact": …, "why": …}, …]``."""
    entries: list[dict[str, str]] = json.loads(path.read_text())["accepted"]
    for entry in entries:
        if not entry.get("why", "").strip():
            raise SlitherError(f"triage entry {entry.get('key')!r} in {path.name} gives no reason")
    return entries


def compare(found: Sequence[Finding], triage: Sequence[dict[str, str]]) -> Verdict:
    """Findings beyond what the triage accepts (counted per key), and triage entries not found."""
    allowed = Counter(entry["key"] for entry in triage)
    seen = Counter(f.key for f in found)
    new, used = [], Counter[str]()
    for f in found:
        used[f.key] += 1
        if used[f.key] > allowed[f.key]:
            new.append(f)
    stale = sorted(key for key, count in allowed.items() if seen[key] < count)
    return Verdict(new=new, stale=stale)


def main(argv: Sequence[str] | None = None) -> int:
    """Exit 0 when every High/Medium result is triaged, 1 otherwise (one line each), 2 when slither fails."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        found = run_slither()
        if args == ["--print"]:  # for triaging: every gated result, as triage entries to fill in
            print(json.dumps([{"key": f.key, "impact": f.impact, "why": ""} for f in found], indent=2))
            return 0
        verdict = compare(found, load_triage())
    except SlitherError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for f in verdict.new:
        print(f"slither: new {f.impact} result, not in {TRIAGE_FILE.name}: {f.key}: {f.description}")
    for key in verdict.stale:
        print(f"slither: {TRIAGE_FILE.name} accepts {key!r}, which is no longer found: remove the entry")
    if verdict.ok:
        print(f"slither: {len(found)} High/Medium results, all triaged in {TRIAGE_FILE.name}")
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
