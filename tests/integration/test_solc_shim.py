"""The solc shim: py-solc-x and brownie compile offline with the pinned solc-js.

Each test uses a shim installed into a temporary ``SOLCX_BINARY_PATH``, never ``~/.solcx``.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.version import Version

from vscm.chain import solc_shim

solcx = pytest.importorskip("solcx", reason="py-solc-x is a dev dependency: pip install -e '.[dev]'")

REPO_ROOT = Path(__file__).resolve().parents[2]
NODE_BIN = REPO_ROOT / "node_modules" / ".bin"
VERSION = "0.8.30"

TOKEN = """// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

contract Token is ERC20 {
    constructor() ERC20("Token", "TKN") {}
}
"""

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not on PATH: run `make install`")


@pytest.fixture(scope="module")
def shim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("solcx")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOLCX_BINARY_PATH", str(folder))
        path, _ = solc_shim.install()
        yield path


def test_install_names_the_shim_for_py_solc_x(shim: Path) -> None:
    assert shim.name == f"solc-v{VERSION}"
    assert solcx.get_installed_solc_versions() == [Version(VERSION)]


def test_install_again_leaves_the_shim_alone(shim: Path) -> None:
    before = shim.read_bytes()
    path, written = solc_shim.install()
    assert (path, written) == (shim, False)
    assert shim.read_bytes() == before


def test_install_rewrites_a_shim_that_changed(shim: Path) -> None:
    shim.write_text("#!/bin/sh\nexit 1\n")
    path, written = solc_shim.install()
    assert written
    assert subprocess.run([str(path), "--version"], capture_output=True, check=False).returncode == 0


def test_shim_prints_the_solc_js_version(shim: Path) -> None:
    out = subprocess.run([str(shim), "--version"], capture_output=True, text=True, check=True).stdout
    assert f"Version: {VERSION}+commit.73712a01" in out
    assert solcx.wrapper.get_solc_version(shim, with_commit_hash=True) == Version(f"{VERSION}+commit.73712a01")


def test_compile_standard_resolves_openzeppelin_imports(shim: Path) -> None:
    output = solcx.compile_standard(
        {
            "language": "Solidity",
            "sources": {"Token.sol": {"content": TOKEN}},
            "settings": {"evmVersion": "cancun", "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}}},
        },
        allow_paths=str(REPO_ROOT),  # what brownie passes; solc-js ignores it
        solc_version=VERSION,
    )
    token = output["contracts"]["Token.sol"]["Token"]
    assert token["evm"]["bytecode"]["object"]
    assert "transfer" in {item.get("name") for item in token["abi"]}
    assert "@openzeppelin/contracts/token/ERC20/ERC20.sol" in output["sources"]


def test_compile_standard_raises_on_a_compile_error(shim: Path) -> None:
    broken = {"language": "Solidity", "sources": {"X.sol": {"content": "contract X { function }"}}}
    with pytest.raises(solcx.exceptions.SolcError, match="ParserError"):
        solcx.compile_standard(broken, solc_version=VERSION)


def test_compile_source_answers_combined_json(shim: Path) -> None:
    output = solcx.compile_source(TOKEN, output_values=["abi", "bin", "hashes"], optimize=True,
                                  evm_version="cancun", solc_version=VERSION)
    token = output["<stdin>:Token"]
    assert isinstance(token["abi"], list)
    assert token["bin"]
    assert token["hashes"]["transfer(address,uint256)"] == "a9059cbb"


def test_combined_json_refuses_native_only_modes(shim: Path) -> None:
    with pytest.raises(solcx.exceptions.UnknownOption, match="--link"):
        solcx.link_code("00", {"Lib": "0x" + "00" * 20}, solc_version=VERSION)


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("brownie") is None,
                    reason="eth-brownie is not installed: pip install -e '.[dev]'")
def test_brownie_compiles_the_project_offline(shim: Path, tmp_path: Path) -> None:
    # Three of the repository's contracts (with their interfaces and OpenZeppelin imports) and
    # brownie-config.yaml in a scratch project, so that the compile is a real one (not "already compiled")
    # and the repository's build/ is not touched. The other contracts go through the same shim and
    # remapping; leaving them out (the large LoanBook and TelemetryOracle above all) saves most of the time.
    shutil.copytree(REPO_ROOT / "contracts" / "interfaces", tmp_path / "contracts" / "interfaces")
    for name in ("MemberRegistry", "PlatformCash", "OrderBook"):
        shutil.copy(REPO_ROOT / "contracts" / f"{name}.sol", tmp_path / "contracts")
    shutil.copy(REPO_ROOT / "brownie-config.yaml", tmp_path)
    (tmp_path / "node_modules").symlink_to(REPO_ROOT / "node_modules")
    env = dict(os.environ, SOLCX_BINARY_PATH=str(shim.parent),
               PATH=os.pathsep.join([str(NODE_BIN), os.environ.get("PATH", "")]))
    brownie = Path(sys.executable).with_name("brownie")
    proc = subprocess.run([str(brownie), "compile"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=1800, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Solc version: 0.8.30" in proc.stdout
    assert "EVM Version: Cancun" in proc.stdout
    for name in ("MemberRegistry", "PlatformCash", "OrderBook"):
        assert (tmp_path / "build" / "contracts" / f"{name}.json").is_file(), proc.stdout
