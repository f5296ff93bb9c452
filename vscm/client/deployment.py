"""The deployment manifest: where the platform lives on one network."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vscm.errors import InputError, NotFound

__all__ = ["DEFAULT_DEPLOYMENTS_DIR", "Deployment"]

DEFAULT_DEPLOYMENTS_DIR = Path("deployments")


@dataclass(frozen=True)
class Deployment:
    """Addresses and provenance of one platform deployment (written as JSON, one file per network)."""

    network: str
    chain_id: int
    block: int
    operator: str
    registry: str
    orders: str
    cash: dict[str, str]
    assets: str
    funds: str
    loans: str
    artifacts: dict[str, str] = field(default_factory=dict)
    #: RiskControl (the control mechanism); empty in manifests written before it existed
    risk: str = ""

    def cash_address(self, code: str) -> str:
        try:
            return self.cash[code.upper()]
        except KeyError:
            known = ", ".join(sorted(self.cash)) or "none"
            raise InputError(f"unknown currency {code!r}: this deployment has {known}") from None

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(self.to_json())
        os.replace(tmp, path)
        return path

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Deployment:
        return cls(**data)

    @classmethod
    def load(cls, path: Path) -> Deployment:
        if not path.is_file():
            raise NotFound(f"no deployment manifest at {path}: run `vscm deploy` first")
        try:
            return cls.from_dict(json.loads(path.read_text()))
        except (ValueError, TypeError) as exc:
            raise InputError(f"deployment manifest {path} is not valid: {exc}") from None
