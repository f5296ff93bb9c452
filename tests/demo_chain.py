"""The demo's story on anvil for the test files that query it (the console, the lenders' index, the audit
CLI, the auditor's replay): the story is run once per test session and each file gets a node of its own.

The first file to ask runs ``demo.run`` on an anvil node whose state file (``--state``: accounts, blocks,
transactions, receipts, logs and the state at every block) is kept in a directory shared by the session's xdist workers; the other
files wait for it under a file lock, then start anvil from a copy of that file. A file's node is its own: its
writes (a USD loan, an alert, a reorganisation) are seen by no other file. Each of those files ran the whole
story itself before (60 to 80 s of CPU each); the story itself is checked line by line by test_demo.py.

Importable as ``demo_chain`` (``tests/`` is on sys.path), like ``support``.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from vscm import demo
from vscm.chain.anvil import AnvilNode
from vscm.chain.backends import AnvilChain, connect
from vscm.client.deployment import Deployment
from vscm.client.platform import Platform

__all__ = ["demo_on_anvil"]


def _shared_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory of this test session that every xdist worker sees: the workers' base temporary
    directories (``popen-gwN``) are in the controller's, which is new for each run."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    shared = root / "demo-on-anvil"
    shared.mkdir(exist_ok=True)
    return shared


def _record(state: Path, manifest: Path) -> None:
    """Run the story on a new anvil node; its state file is written when the node stops."""
    work_state, work_manifest = state.with_suffix(".tmp"), manifest.with_suffix(".tmp")
    work_state.unlink(missing_ok=True)
    # With every block's state (--preserve-historical-states): a copy answers reads at a past height (the
    # auditor's checks, the console's replay of a period) as the node that ran the story does.
    node = AnvilNode.start(state_file=work_state, extra_args=["--preserve-historical-states"])
    with connect(node) as chain:
        with contextlib.redirect_stdout(io.StringIO()):
            platform = demo.run(chain=chain, audit=False)
        platform.deployment.save(work_manifest)
    os.replace(work_state, state)
    os.replace(work_manifest, manifest)  # last: a manifest means the state beside it is complete


@contextlib.contextmanager
def demo_on_anvil(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """The platform after ``demo.run(audit=False)`` on an anvil node of the caller's own, stopped on exit."""
    shared = _shared_directory(tmp_path_factory)
    state, manifest = shared / "state.json", shared / "deployment.json"
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also when the story failed
        if not manifest.is_file():
            _record(state, manifest)
    mine = tmp_path_factory.mktemp("demo-anvil") / "state.json"
    shutil.copyfile(state, mine)
    try:
        with connect("anvil", state_file=mine) as chain:
            assert isinstance(chain, AnvilChain)
            chain.tick_one_second_per_block()  # as demo.run set it: a node setting, not in the state file
            yield Platform(chain, Deployment.load(manifest))
    finally:
        mine.unlink(missing_ok=True)  # ~150 MB, written back by anvil when it stopped: no test reads it
