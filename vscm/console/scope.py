"""Who sees what, from the on-chain member registry as the index folded it.

- the **council** (holders of the MemberRegistry's ``DEFAULT_ADMIN_ROLE``: the operator who deployed
  it, and whoever it granted the role to) and an active **auditor** member see everything;
- a **lender** (an active financier member) sees the loans it lends, its exposures and alerts;
- a **member** sees its own orders, assets and the loans it borrows or guarantees;
- anyone else, signed in or not, sees nothing but who they are.

Every check raises ``OutOfScope`` (HTTP 403) with a sentence saying what the party may see instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vscm.audit.fold import STATUS_ACTIVE
from vscm.audit.state import key
from vscm.client.records import Role
from vscm.console.views import roles_of, short
from vscm.errors import VscmError
from vscm.index import Index

__all__ = ["OutOfScope", "Party", "whois"]

DEFAULT_ADMIN_ROLE = "0x" + "00" * 32


class OutOfScope(VscmError):
    """A signed-in party asked for something its role does not let it see (HTTP 403)."""


@dataclass(frozen=True)
class Party:
    """A signed-in address and what the registry says it is."""

    address: str
    name: str
    roles: tuple[str, ...]
    active: bool
    council: bool

    @property
    def auditor(self) -> bool:
        return self.active and Role.AUDITOR.label in self.roles

    @property
    def lender(self) -> bool:
        return self.active and Role.FINANCIER.label in self.roles

    @property
    def sees_all(self) -> bool:
        return self.council or self.auditor

    @property
    def kind(self) -> str:
        """The party's widest view: council, auditor, lender, member or visitor."""
        if self.council:
            return "council"
        if self.auditor:
            return "auditor"
        if self.lender:
            return "lender"
        return "member" if self.active else "visitor"

    def to_json(self) -> dict[str, Any]:
        return {"address": self.address, "short": short(self.address), "name": self.name, "roles": list(self.roles),
                "active": self.active, "council": self.council, "kind": self.kind, "sees_all": self.sees_all}

    # ------------------------------------------------------------------ the checks

    def _member(self) -> None:
        if not (self.active or self.council):
            raise OutOfScope(f"{self.address} is not an active member of this platform: it sees nothing here")

    def see_everything(self, what: str) -> None:
        """Only the council and auditors see ``what``."""
        if not self.sees_all:
            raise OutOfScope(f"{what} is for auditors and the council; {self.name} is a {self.kind}")

    def see_lender(self, lender: str) -> None:
        """A lender's own books (or everyone's, for the council and auditors)."""
        self._member()
        if not (self.sees_all or (self.lender and lender == self.address)):
            raise OutOfScope(f"the books of lender {lender} are not {self.name}'s: open /lenders/{self.address}")

    def act_for_lender(self, lender: str) -> None:
        """Only the lender itself acts for it (subscribes its webhooks, decides): not even an auditor."""
        self._member()
        if not (self.lender and lender == self.address):
            raise OutOfScope(f"only lender {lender} acts for itself; {self.name} is a {self.kind}")

    def see_member(self, member: str) -> None:
        self._member()
        if not (self.sees_all or member == self.address):
            raise OutOfScope(f"member {member} is not {self.name}: open /members/{self.address}")

    def see_loan(self, loan: dict[str, Any]) -> None:
        """A loan is seen by its lender, its borrower and its guarantor."""
        self._member()
        if not (self.sees_all or self.address in (loan["lender"], loan["borrower"], loan.get("guarantor"))):
            raise OutOfScope(f"loan {loan.get('loanId', '')} is not one that {self.name} lends, borrows or guarantees")

    def see_certificate(self, certificate_id: int, core: str, parts: dict[int, dict[str, Any]]) -> set[int] | None:
        """A certificate: the council, auditors, its core and every holder (past or present) of one of its parts
        see all its parts (None); the financier of a sold part sees the parts it bought (their ids)."""
        self._member()
        if self.sees_all or self.address == core or any(p["holder"] == self.address for p in parts.values()):
            return None
        bought = {pid for pid, p in parts.items() if p["assetId"] and p["financier"] == self.address}
        if bought:
            return bought
        raise OutOfScope(f"certificate {certificate_id} is not one that {self.name} issued, holds or held a part "
                         "of, or financed")

    def see_loans(self, lender: str | None, borrower: str | None) -> None:
        """A list of loans filtered by lender/borrower: the party must be one of the filters."""
        self._member()
        if self.sees_all:
            return
        if lender is None and borrower is None:
            return  # the party's own loans (the caller filters them)
        if self.address not in (lender, borrower):  # its own lending or borrowing, narrowed by the other
            raise OutOfScope(f"{self.name} may list only its own loans: use lender={self.address} "
                             f"or borrower={self.address}")


def whois(index: Index, deployment: Any, address: str) -> Party:
    """What the index's copy of the registry says about ``address``."""
    member = index.record("members", address)
    admin = index.record("roles", key(deployment.registry, DEFAULT_ADMIN_ROLE, address)) or {}
    council = bool(admin.get("granted"))
    name = member["name"] if member else ("platform council" if council else "unregistered")
    active = bool(member) and member["status"] == STATUS_ACTIVE  # type: ignore[index]
    return Party(address, name, tuple(roles_of(member)), active, council)
