"""Artifacts are reproducible and a stale artifact is detected."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from vscm.chain import artifacts
from vscm.chain import compile as solc_compile

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="compiling needs node")


@pytest.fixture(scope="module")
def built() -> dict[str, bytes]:
    return {name: solc_compile.render(doc) for name, doc in solc_compile.build().items()}


def test_committed_artifacts_match_a_fresh_compile(built: dict[str, bytes]) -> None:
    # The committed artifacts come from an earlier run of `make compile` in another process, so equal bytes
    # here also show that compiling is reproducible (a second compile in this test would add 30 s and no check).
    on_disk = {p.name: p.read_bytes() for directory in (solc_compile.ARTIFACTS_DIR, solc_compile.TEST_ARTIFACTS_DIR)
               for p in directory.glob("*.json")}
    assert set(on_disk) == set(built), "artifact set differs: run `make compile`"
    stale = sorted(name for name in built if on_disk[name] != built[name])
    assert stale == [], f"artifacts differ from a fresh compile: {stale}: run `make compile`"


def test_contracts_that_exist_only_for_tests_are_not_in_the_package() -> None:
    """Issue 15: BackdooredCash, ErrorProbe and the alert sinks of the tests leave the package's artifacts."""
    package = {p.stem for p in solc_compile.ARTIFACTS_DIR.glob("*.json")}
    tests = {p.stem for p in solc_compile.TEST_ARTIFACTS_DIR.glob("*.json")}
    assert {"BackdooredCash", "ErrorProbe", "RecordingAlertSink", "GasBurningAlertSink"} == tests
    assert not package & tests
    assert {"ReferenceERC20", "ReferenceERC721"} <= package  # the bench's reference tokens ship with it


def test_artifacts_record_the_compiler_settings(built: dict[str, bytes]) -> None:
    info = artifacts.build_info()
    settings = info["compiler"]["settings"]
    assert settings["evmVersion"] == "cancun"
    assert settings["optimizer"]["enabled"] is True
    assert settings["metadata"]["bytecodeHash"] == "none"
    assert info["compiler"]["version"].startswith("0.8.30+")


def test_fresh_checkout_has_no_stale_sources() -> None:
    assert artifacts.stale_sources() == []


def copy_repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(solc_compile.REPO_ROOT / "contracts", root / "contracts")
    return root


def test_edited_contract_is_reported_stale(tmp_path: Path) -> None:
    root = copy_repo(tmp_path)
    source = root / "contracts" / "OrderBook.sol"
    source.write_text(source.read_text() + "\n// an edit\n")
    assert artifacts.stale_sources(root) == ["contracts/OrderBook.sol"]


def test_new_contract_is_reported_stale(tmp_path: Path) -> None:
    root = copy_repo(tmp_path)
    (root / "contracts" / "Extra.sol").write_text("// SPDX-License-Identifier: MIT\npragma solidity 0.8.30;\n")
    assert artifacts.stale_sources(root) == ["contracts/Extra.sol"]


def test_removed_contract_is_reported_stale(tmp_path: Path) -> None:
    root = copy_repo(tmp_path)
    (root / "contracts" / "PlatformCash.sol").unlink()
    assert "contracts/PlatformCash.sol" in artifacts.stale_sources(root)
