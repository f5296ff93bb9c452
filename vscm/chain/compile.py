"""Compile the contracts with the pinned solc-js and write reproducible artifacts.

Run ``python -m vscm.chain.compile`` (``make compile``) after changing a contract. The artifacts in
``vscm/artifacts/`` are committed: the client needs no Node once they exist, and
``tests/unit/test_artifacts.py`` fails when they no longer match the sources. Contracts that exist only for
tests (``contracts/test/``) are compiled in the same run but written to ``tests/artifacts/``, outside the package.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from vscm.errors import CompileError

REPO_ROOT = Path(__file__).resolve().parents[2]
CONTRACTS_DIR = REPO_ROOT / "contracts"
NODE_MODULES = REPO_ROOT / "node_modules"
SOLC_JS = Path(__file__).resolve().parent / "solc.js"
ARTIFACTS_DIR = Path(__file__).resolve().parents[1] / "artifacts"
#: Where the artifacts of the contracts under ``contracts/test/`` go: the tests', not the package's.
TEST_ARTIFACTS_DIR = REPO_ROOT / "tests" / "artifacts"
TEST_UNITS = "contracts/test/"

EVM_VERSION = "cancun"
OPTIMIZER_RUNS = 200

SETTINGS: dict[str, Any] = {
    "evmVersion": EVM_VERSION,
    "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
    "viaIR": False,
    "metadata": {"bytecodeHash": "none"},
    "outputSelection": {
        "*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "evm.methodIdentifiers"]}
    },
}

#: Source units compiled with settings of their own (merged over SETTINGS), each in a run of its own.
#: TelemetryOracle goes through the IR pipeline: its legacy-pipeline code is within 250 bytes of the
#: EIP-170 limit, the IR pipeline's about 2.8 kB smaller, with the same behaviour (its tests, the
#: replay's and the size test run on this build). Its artifact records the settings it was built with.
#: LoanBook too: its loans packed into ten slots (issue 16's gas diet) need conversion code for the
#: full `getLoan` view that takes the legacy build past the limit.
OVERRIDES: dict[str, dict[str, Any]] = {
    "contracts/TelemetryOracle.sol": {"viaIR": True},
    "contracts/LoanBook.sol": {"viaIR": True},
}


#: Maintained contracts deployed as they are, for the consortium council (vscm/chain/council.py): the
#: Safe k-of-n multisig (singleton and proxy factory, @safe-global/safe-smart-account 1.5.0) and
#: OpenZeppelin's TimelockController. Source unit -> the contracts of it that get an artifact.
EXTERNAL_CONTRACTS: dict[str, tuple[str, ...]] = {
    "@safe-global/safe-smart-account/contracts/Safe.sol": ("Safe",),
    "@safe-global/safe-smart-account/contracts/proxies/SafeProxyFactory.sol": ("SafeProxyFactory",),
    "@openzeppelin/contracts/governance/TimelockController.sol": ("TimelockController",),
}


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def contract_sources(root: Path = REPO_ROOT) -> dict[str, str]:
    """Source unit name (path relative to the repo root) -> text, for every contract file."""
    return {
        path.relative_to(root).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted((root / "contracts").rglob("*.sol"))
    }


def resolve_source(unit: str, root: Path = REPO_ROOT) -> Path:
    """Where a source unit lives: the repository or node_modules (the same order solc.js uses)."""
    for base in (root, NODE_MODULES):
        candidate = base / unit
        if candidate.is_file():
            return candidate
    raise CompileError(f"source unit {unit!r} not found under the repository or node_modules")


def run_solc(standard_input: dict[str, Any]) -> dict[str, Any]:
    """Run solc-js on a standard-JSON input and return its parsed output."""
    node = shutil.which("node")
    if node is None:
        raise CompileError("node is not on PATH: compiling needs Node.js (running the client does not)")
    proc = subprocess.run(
        [node, str(SOLC_JS), "--standard-json"],
        input=json.dumps(standard_input).encode(),
        capture_output=True,
        cwd=REPO_ROOT,
        check=False,
    )
    if proc.returncode != 0:
        raise CompileError(f"solc-js failed (exit {proc.returncode}): {proc.stderr.decode().strip()}")
    output: dict[str, Any] = json.loads(proc.stdout)
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise CompileError("; ".join(e.get("formattedMessage", e.get("message", "?")).strip() for e in errors))
    return output


def solc_version() -> str:
    node = shutil.which("node")
    if node is None:
        raise CompileError("node is not on PATH")
    out = subprocess.run([node, str(SOLC_JS), "--version"], capture_output=True, check=True, cwd=REPO_ROOT)
    return out.stdout.decode().strip().splitlines()[-1].removeprefix("Version: ").strip()


def unit_settings(unit: str) -> dict[str, Any]:
    """The settings a source unit is compiled with: SETTINGS, with its OVERRIDES merged over them."""
    return {**SETTINGS, **OVERRIDES.get(unit, {})}


def build() -> dict[str, dict[str, Any]]:
    """Compile everything in ``contracts/`` and return artifact documents by file name."""
    sources = contract_sources()
    sources.update({unit: resolve_source(unit).read_text(encoding="utf-8") for unit in EXTERNAL_CONTRACTS})
    standard_input = {
        "language": "Solidity",
        "sources": {unit: {"content": text} for unit, text in sources.items()},
        "settings": SETTINGS,
    }
    # The shared run makes code for every unit but those with settings of their own: each of them has a run of its
    # own below, and its legacy-pipeline code here would be thrown away (about 4 s of solc-js CPU of 54).
    selection = SETTINGS["outputSelection"]["*"]
    output = run_solc({**standard_input, "settings": {**SETTINGS, "outputSelection": {
        unit: selection for unit in sources if unit not in OVERRIDES}}})
    contracts_by_unit = dict(output.get("contracts", {}))
    for unit in sorted(OVERRIDES):
        settings = unit_settings(unit)
        own = run_solc({**standard_input, "settings": {**settings, "outputSelection": {unit: selection}}})
        contracts_by_unit[unit] = own["contracts"][unit]
    version = solc_version()
    source_hashes = {
        unit: sha256_hex(resolve_source(unit).read_bytes()) for unit in sorted(output.get("sources", {}))
    }
    compiler = {"name": "solc-js", "version": version, "settings": SETTINGS}
    documents: dict[str, dict[str, Any]] = {}
    for unit, contracts in sorted(contracts_by_unit.items()):
        external = EXTERNAL_CONTRACTS.get(unit, ())
        if not unit.startswith("contracts/") and not external:
            continue  # libraries' other contracts are not deployed on their own
        for name, data in sorted(contracts.items()):
            if external and name not in external:
                continue
            bytecode = data["evm"]["bytecode"]["object"]
            if not bytecode:
                continue  # interfaces and abstract contracts: their ABIs live in the deployable ones
            documents[f"{name}.json"] = {
                "contractName": name,
                "sourceName": unit,
                "abi": data["abi"],
                "bytecode": "0x" + bytecode,
                "deployedBytecode": "0x" + data["evm"]["deployedBytecode"]["object"],
                "methodIdentifiers": data["evm"]["methodIdentifiers"],
                "sourceHash": source_hashes[unit],
                "compiler": {**compiler, "settings": unit_settings(unit)},
            }
    documents["build-info.json"] = {"compiler": compiler, "overrides": OVERRIDES, "sources": source_hashes}
    return documents


def render(document: dict[str, Any]) -> bytes:
    """The one byte form of an artifact: sorted keys, fixed indentation, trailing newline."""
    return (json.dumps(document, indent=1, sort_keys=True) + "\n").encode()


def directory_for(document: dict[str, Any], package: Path = ARTIFACTS_DIR,
                  tests: Path = TEST_ARTIFACTS_DIR) -> Path:
    """Where an artifact document belongs: the tests' directory for a contract under ``contracts/test/``."""
    return tests if str(document.get("sourceName", "")).startswith(TEST_UNITS) else package


def write_artifacts(documents: dict[str, dict[str, Any]], directory: Path = ARTIFACTS_DIR,
                    test_directory: Path = TEST_ARTIFACTS_DIR) -> list[Path]:
    """Write each document where it belongs (see ``directory_for``) and remove the stale ones of both."""
    placed = {name: directory_for(doc, directory, test_directory) for name, doc in documents.items()}
    for target in (directory, test_directory):
        target.mkdir(parents=True, exist_ok=True)
        for stale in target.glob("*.json"):
            if placed.get(stale.name) != target:
                stale.unlink()
    written = []
    for name, document in documents.items():
        path = placed[name] / name
        path.write_bytes(render(document))
        written.append(path)
    return written


def main() -> int:
    try:
        documents = build()
    except CompileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    paths = write_artifacts(documents)
    tests = sum(1 for path in paths if path.parent == TEST_ARTIFACTS_DIR)
    print(f"compiled {len(paths) - 1 - tests} contracts into {ARTIFACTS_DIR.relative_to(REPO_ROOT)}/ and "
          f"{tests} test-only ones into {TEST_ARTIFACTS_DIR.relative_to(REPO_ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
