"""Load compiled artifacts and tell whether they still match the sources."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from vscm.errors import ArtifactError, CompileError

ARTIFACTS_DIR = Path(__file__).resolve().parents[1] / "artifacts"
#: Where artifacts are looked for, in order: the package's, then any added by ``add_directory`` (the test
#: suite adds ``tests/artifacts``, the contracts that exist only for tests).
_DIRECTORIES: list[Path] = [ARTIFACTS_DIR]


def add_directory(directory: Path) -> None:
    """Also load artifacts from ``directory`` (after the package's own)."""
    if directory not in _DIRECTORIES:
        _DIRECTORIES.append(directory)
        load.cache_clear()
        from vscm.chain import abicache, revert  # the error tables are built over every artifact found

        abicache.clear()

        revert.default_table.cache_clear()
        revert.abi_index.cache_clear()


@dataclass(frozen=True)
class Artifact:
    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str
    source_hash: str

    @property
    def deployed_size(self) -> int:
        return (len(self.deployed_bytecode) - 2) // 2


@cache
def load(name: str) -> Artifact:
    """The artifact of contract ``name`` (for example ``"OrderBook"``)."""
    path = next((d / f"{name}.json" for d in _DIRECTORIES if (d / f"{name}.json").is_file()), None)
    if path is None:
        raise ArtifactError(f"no artifact for contract {name!r} in {ARTIFACTS_DIR}: run `make compile`")
    doc = json.loads(path.read_text())
    return Artifact(
        name=doc["contractName"],
        abi=doc["abi"],
        bytecode=doc["bytecode"],
        deployed_bytecode=doc["deployedBytecode"],
        source_hash=doc["sourceHash"],
    )


def names() -> list[str]:
    return sorted({p.stem for d in _DIRECTORIES for p in d.glob("*.json") if p.name != "build-info.json"})


def build_info() -> dict[str, Any]:
    path = ARTIFACTS_DIR / "build-info.json"
    if not path.is_file():
        raise ArtifactError(f"no build-info.json in {ARTIFACTS_DIR}: run `make compile`")
    result: dict[str, Any] = json.loads(path.read_text())
    return result


def stale_sources(root: Path | None = None) -> list[str]:
    """Source units whose current text differs from what the artifacts were built from.

    Includes contract files added or removed since the last compile. Empty means the artifacts are
    fresh. ``root`` is the repository to check (default: this one).
    """
    from vscm.chain import compile as solc_compile

    base = root or solc_compile.REPO_ROOT
    recorded: dict[str, str] = build_info()["sources"]
    stale = []
    for unit, digest in recorded.items():
        try:
            current = solc_compile.sha256_hex(solc_compile.resolve_source(unit, base).read_bytes())
        except CompileError:  # the file is gone
            stale.append(unit)
            continue
        if current != digest:
            stale.append(unit)
    stale.extend(unit for unit in solc_compile.contract_sources(base) if unit not in recorded)
    return sorted(stale)


def all_abis() -> dict[str, list[dict[str, Any]]]:
    return {name: load(name).abi for name in names()}
