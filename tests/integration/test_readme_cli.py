"""Docs as tests: the README's CLI section runs as written, in order, on a fresh HOME against a local anvil node.

The first ``sh`` block of "## The CLI" is run by one bash (so that ``export`` and files carry from line to
line), each command line with its own exit code and stderr: a line whose comment says ``exit N`` must end with
N, every other line with 0 and no ``error:`` on stderr (a loop's failing iteration included). Comment lines are
skipped. The node the block starts is stopped at the end, whatever happened.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from vscm.chain import anvil

pytestmark = pytest.mark.anvil

ROOT = Path(__file__).resolve().parents[2]


def readme_cli_block() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("\n## The CLI\n"):]
    section = section[:section.index("\n## ", 1)]
    block = section[section.index("```sh\n") + 6:]
    block = block[:block.index("```\n")]
    return [line for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def split_comment(line: str) -> tuple[str, str]:
    """The command and its trailing comment (a ``#`` after a space, as the shell reads it)."""
    parts = re.split(r"\s#(?=\s|$)", line, maxsplit=1)
    return parts[0].rstrip(), parts[1] if len(parts) > 1 else ""


def expected_code(line: str) -> int:
    comment = split_comment(line)[1]
    found = re.search(r"\bexit (\d+)\b", comment)
    return int(found.group(1)) if found else 0


def test_the_readme_cli_section_runs_as_written(tmp_path: Path) -> None:
    lines = readme_cli_block()
    assert len(lines) > 30 and lines[0].startswith(". .venv/bin/activate")
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    (work / ".venv").symlink_to(Path(sys.executable).parents[1])
    script = ["cd " + str(work)]
    for i, line in enumerate(lines):
        script.append(f"{{ {split_comment(line)[0]} ; }} 2> err.{i}; echo $? > rc.{i}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VSCM_") and k != "VIRTUAL_ENV"}
    agents = Path(tempfile.mkdtemp(prefix="vag-"))  # the unlock agents' sockets: this run's own, a short path
    env.update(HOME=str(home), VSCM_KDF_FAST="1", COLUMNS="160", VSCM_AGENT_DIR=str(agents),
               PATH=":".join(p for p in env.get("PATH", "").split(":") if ".venv" not in p))
    try:
        subprocess.run(["bash", "-c", "\n".join(script)], env=env, capture_output=True, text=True, timeout=1200,
                       check=False)
    finally:
        subprocess.run(["bash", "-c", f". {work}/.venv/bin/activate && vscm wallet lock --all; vscm node stop"],
                       env=env, capture_output=True, check=False)
        anvil.stop(home / ".vscm" / "node")
    failures = []
    for i, line in enumerate(lines):
        rc_file = work / f"rc.{i}"
        if not rc_file.exists():
            failures.append(f"not run: {line}")
            continue
        code, err = int(rc_file.read_text()), (work / f"err.{i}").read_text()
        want = expected_code(line)
        if code != want or (want == 0 and "error:" in err):
            failures.append(f"exit {code} (want {want}): {line}\n{err.strip()}")
    assert failures == [], "\n".join(failures)
    assert (work / "audit.html").read_text().startswith("<!doctype html>")
    assert list(agents.iterdir()) == []  # `vscm wallet lock bank` ended the one agent the story started
