"""The deployment manifest: where the platform lives on one network."""

from __future__ import annotations

import json
import os
import re
from dataclasses import MISSING, asdict, dataclass, field, fields
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
    #: the TelemetryOracle (empty in manifests written before it existed)
    oracle: str = ""
    #: the ConsentRegistry: members' consents to lenders reading their profile (empty before it existed)
    consents: str = ""
    #: Certificates: the core's splittable payable certificates (empty before it existed)
    certificates: str = ""
    #: the council's Safe (k-of-n of the consortium) and TimelockController (admin of every contract);
    #: empty when the deployment has no council
    council_safe: str = ""
    council_timelock: str = ""

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
    def from_dict(cls, data: Any) -> Deployment:
        """A deployment from its JSON object, every field checked for shape.

        Raises:
            InputError: not an object, a field missing, unknown or of the wrong type, or an address
                that is not 0x and 40 hex digits (the message names the field).
        """
        if not isinstance(data, dict):
            raise InputError(f"expected a JSON object with the deployment's fields, not a {type(data).__name__}")
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise InputError(f"unknown field(s) {', '.join(map(repr, unknown))}")
        missing = [name for name, f in known.items() if name not in data
                   and f.default is MISSING and f.default_factory is MISSING]
        if missing:
            raise InputError(f"missing field(s) {', '.join(map(repr, missing))}")
        for name in ("chain_id", "block"):
            if name in data and (not isinstance(data[name], int) or isinstance(data[name], bool) or data[name] < 0):
                raise InputError(f"field {name!r} must be a non-negative integer, not {data[name]!r}")
        if not isinstance(data.get("network"), str):
            raise InputError(f"field 'network' must be a string, not {data.get('network')!r}")
        for name in _ADDRESS_FIELDS:
            if name in data:
                _check_address(name, data[name],
                               optional=name in ("risk", "oracle", "consents", "certificates", "council_safe",
                                                 "council_timelock"))
        for name in ("cash", "artifacts"):
            if name in data and not (isinstance(data[name], dict)
                                     and all(isinstance(k, str) and isinstance(v, str) for k, v in data[name].items())):
                raise InputError(f"field {name!r} must be an object of strings, not {data[name]!r}")
        if not data["cash"]:
            raise InputError("field 'cash' names no currency")
        for code, address in data["cash"].items():
            _check_address(f"cash.{code}", address)
        return cls(**data)

    @classmethod
    def load(cls, path: Path) -> Deployment:
        """Read and check the manifest at ``path``.

        Raises:
            NotFound: there is no file; InputError: it is not JSON or not a deployment (says which field).
        """
        if not path.is_file():
            raise NotFound(f"no deployment manifest at {path}: run `vscm deploy` first")
        try:
            data = json.loads(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise InputError(f"deployment manifest {path} is not valid JSON ({exc}): fix it, or redeploy with "
                             "`vscm deploy --force`") from None
        try:
            return cls.from_dict(data)
        except InputError as exc:
            raise InputError(f"deployment manifest {path} is not valid: {exc}; fix it, or redeploy with "
                             "`vscm deploy --force`") from None


_ADDRESS_FIELDS = ("operator", "registry", "orders", "assets", "funds", "loans", "risk", "oracle", "consents",
                   "certificates", "council_safe", "council_timelock")
_ADDRESS = re.compile(r"0[xX][0-9a-fA-F]{40}")


def _check_address(name: str, value: Any, optional: bool = False) -> None:
    if optional and value == "":
        return
    if not isinstance(value, str) or not _ADDRESS.fullmatch(value):
        raise InputError(f"field {name!r} is not an address (0x and 40 hex digits): {value!r}")
