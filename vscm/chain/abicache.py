"""The contracts' ABIs and runtime-code fingerprints in one small file, built once from the artifacts.

A CLI command needs a few functions of a few contracts and, to check a deployment, whether the code at each
address is the expected contract; parsing the sixteen artifacts (a megabyte of JSON with the bytecode) for that
cost a fifth of a command's start-up. This module keeps, per artifact, its ABI (functions, events and errors
without ``internalType``... except for errors, which the revert messages need) and the fingerprint of its
runtime code (length, the offsets of its immutables, the SHA-256 of the code with them zeroed), in
``$VSCM_HOME/cache/abi-<key>.json``. The key is made of the name, size and modification time of every artifact
file, so a recompile (``make compile``) or another artifact directory makes a new file; a cache that cannot be
written (a read-only home) is rebuilt in memory at each run, with the same content.

    abi("OrderBook")                     # list of ABI entries
    same_runtime(code, "OrderBook")      # is this deployed code the OrderBook of these artifacts?
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

from vscm.chain import artifacts as artifact_store

__all__ = ["abi", "cache_file", "index", "same_runtime"]

_PUSH32_ZERO = re.compile(rb"\x7f\x00{32}", re.DOTALL)
_FORMAT = 1


def cache_dir() -> Path:
    return Path(os.environ.get("VSCM_HOME", "~/.vscm")).expanduser() / "cache"


def _sources() -> list[Path]:
    return sorted((p for d in artifact_store._DIRECTORIES for p in d.glob("*.json") if p.name != "build-info.json"),
                  key=lambda p: (p.name, str(p)))


def _key(paths: list[Path]) -> str:
    h = hashlib.sha256(str(_FORMAT).encode())
    for p in paths:
        st = p.stat()
        h.update(f"{p}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:24]


def cache_file() -> Path:
    """Where the cache of the current artifacts is (or would be) kept."""
    return cache_dir() / f"abi-{_key(_sources())}.json"


def _slim(entry: dict[str, Any]) -> dict[str, Any]:
    """An ABI entry without what encoding and decoding do not use (internalType, except in errors)."""
    if entry.get("type") == "error":
        return entry

    def param(p: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in p.items() if k != "internalType"}
        if "components" in p:
            out["components"] = [param(c) for c in p["components"]]
        return out

    out = {k: v for k, v in entry.items() if k not in ("inputs", "outputs")}
    for part in ("inputs", "outputs"):
        if part in entry:
            out[part] = [param(p) for p in entry[part]]
    return out


def _runtime(deployed_bytecode: str) -> dict[str, Any]:
    """The runtime code's fingerprint: solc leaves each immutable as the zero operand of a PUSH32 that the
    constructor fills in; found by a byte search rather than by walking the opcodes (a PUSH32 of zero that the
    code pushes as a constant is masked too, which only loosens the check by those 32 bytes)."""
    code = bytes.fromhex(deployed_bytecode.removeprefix("0x"))
    holes = [m.start() + 1 for m in _PUSH32_ZERO.finditer(code)]
    return {"length": len(code), "holes": holes, "sha256": hashlib.sha256(code).hexdigest()}


def _build(paths: list[Path]) -> dict[str, Any]:
    contracts: dict[str, Any] = {}
    for name in sorted({p.stem for p in paths}):
        art = artifact_store.load(name)
        contracts[name] = {"abi": [_slim(e) for e in art.abi if e.get("type") in ("function", "event", "error")],
                           "runtime": _runtime(art.deployed_bytecode)}
    return {"format": _FORMAT, "contracts": contracts}


@cache
def index() -> dict[str, Any]:
    """``{name: {"abi": [...], "runtime": {...}}}`` for every artifact, from the cache file (built when missing)."""
    paths = _sources()
    path = cache_dir() / f"abi-{_key(paths)}.json"
    try:
        data = json.loads(path.read_bytes())
        if data.get("format") == _FORMAT:
            return dict(data["contracts"])
    except (OSError, ValueError, KeyError, AttributeError):
        pass  # not built yet (or cut short): build it
    data = _build(paths)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, separators=(",", ":")))
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only home: the same content, rebuilt at each run
    return dict(data["contracts"])


def clear() -> None:
    """Forget what this process read (after ``artifacts.add_directory`` or a recompile)."""
    index.cache_clear()


def abi(name: str) -> list[dict[str, Any]]:
    """The ABI (functions, events, errors) of artifact ``name``.

    Raises:
        ArtifactError: there is no such artifact.
    """
    found = index().get(name)
    if found is None:
        artifact_store.load(name)  # raises ArtifactError naming the directory
        clear()  # an artifact added since this process read the cache
        found = index()[name]
    return list(found["abi"])


def same_runtime(code: bytes, name: str) -> bool:
    """Whether ``code`` (deployed runtime code) is artifact ``name``'s, its immutables left out."""
    entry = index().get(name)
    if entry is None:
        return False
    runtime = entry["runtime"]
    if len(code) != runtime["length"]:
        return False
    masked = bytearray(code)
    for start in runtime["holes"]:
        masked[start:start + 32] = bytes(32)
    return hashlib.sha256(bytes(masked)).hexdigest() == runtime["sha256"]
