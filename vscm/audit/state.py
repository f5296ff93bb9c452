"""The platform state an auditor rebuilds from events, and the findings of an audit.

The state is a set of named tables, each a mapping from a string key to a record (a dict of field
name -> value). Field names are those of the contracts' structs (``principalRepaid``), values are
plain Python (int, bool, checksummed address, ``0x`` hex for fixed bytes), so a record compares
field by field with what a contract view returns, and every table persists the same way in SQL.
A contract added to the platform adds its own tables (see ``vscm.audit.fold.register``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ZERO", "Finding", "State", "key"]

ZERO = "0x0000000000000000000000000000000000000000"


def key(*parts: Any) -> str:
    """A table key from its parts: ``key(cash, account)`` -> ``"0xCash:0xAccount"``."""
    return ":".join(str(p) for p in parts)


@dataclass(frozen=True)
class Finding:
    """One difference or broken rule: which check, which entity and field, expected and found."""

    check: str
    entity: str
    field: str
    expected: Any
    found: Any
    block: int | None = None
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"check": self.check, "entity": self.entity, "field": self.field,
                "expected": _jsonable(self.expected), "found": _jsonable(self.found), "block": self.block,
                "note": self.note}

    def __str__(self) -> str:
        where = f" (block {self.block})" if self.block is not None else ""
        note = f" — {self.note}" if self.note else ""
        return f"[{self.check}] {self.entity}.{self.field}: expected {self.expected!r}, found {self.found!r}{where}{note}"


def _jsonable(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**53:
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


@dataclass
class State:
    """Everything folded so far: tables of records, counters, and findings raised while folding."""

    tables: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    #: keys written since the last ``take_dirty()``, per table (the index writes only those)
    dirty: dict[str, set[str]] = field(default_factory=dict)

    def table(self, name: str) -> dict[str, dict[str, Any]]:
        """The records of table ``name`` (read them; write through ``put``/``update``)."""
        return self.tables.get(name, {})

    def get(self, table: str, k: str) -> dict[str, Any] | None:
        return self.tables.get(table, {}).get(k)

    def put(self, table: str, k: str, record: dict[str, Any]) -> dict[str, Any]:
        self.tables.setdefault(table, {})[k] = record
        self.dirty.setdefault(table, set()).add(k)
        return record

    def update(self, table: str, k: str, **fields: Any) -> dict[str, Any]:
        record = self.tables.setdefault(table, {}).setdefault(k, {})
        record.update(fields)
        self.dirty.setdefault(table, set()).add(k)
        return record

    def count(self, name: str, by: int = 1) -> int:
        self.counters[name] = self.counters.get(name, 0) + by
        return self.counters[name]

    def take_dirty(self) -> dict[str, set[str]]:
        dirty, self.dirty = self.dirty, {}
        return dirty

    def to_json(self) -> str:
        return json.dumps({"tables": self.tables, "counters": self.counters}, sort_keys=True)

    def fingerprint(self) -> str:
        """A digest of the tables and counters: equal states, equal fingerprints."""
        from hashlib import sha256

        return sha256(self.to_json().encode()).hexdigest()
