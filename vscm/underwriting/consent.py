"""Who may read a member's credit profile: the member's consent on chain, its loan applications, the auditor.

The platform's data is not public to every lender. A lender may read member M's profile when:

* M granted it read access on chain (``ConsentRegistry.grantConsent``, a transaction M signs with its own
  key), until an expiry M chose, and did not revoke it (``revokeConsent``); or
* M applied to it for a loan that is still open (applied, approved, disbursed, warned, recalled or
  defaulted: not rejected, repaid or written off): the application, signed on chain by M, grants the
  lender access for that application; or
* it is M itself, or an active auditor of the platform (the auditor sees all).

Every rule is read from the lenders' index, which folds the chain's events (``vscm.audit.consent`` for the
consents) and is checked against the contracts' views by the audit; "now" is the time of the last block the
index holds, the clock the contract judges expiry by.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from vscm.audit.state import key
from vscm.errors import InputError, VscmError
from vscm.index.store import Index

__all__ = ["Access", "Consent", "ConsentRequired", "access", "consents", "index_now", "require"]

AUDITOR_ROLE = 6
ACTIVE = 2
OPEN_LOAN = (1, 2, 4, 5, 6, 8)  # applied, approved, disbursed, warned, recalled, defaulted


class ConsentRequired(VscmError):
    """The viewer has no right to read the member's profile."""


@dataclass(frozen=True)
class Consent:
    """A member's consent to a lender, as the chain holds it (``expires_at`` 0 once revoked)."""

    member: str
    lender: str
    expires_at: int
    granted_at: int
    revoked_at: int | None = None

    def active(self, now: int) -> bool:
        return self.expires_at > now

    def to_json(self, now: int | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"member": self.member, "lender": self.lender,
                               "expires": _iso(self.expires_at) if self.expires_at else None,
                               "granted": _iso(self.granted_at) if self.granted_at else None,
                               "revoked": _iso(self.revoked_at) if self.revoked_at else None}
        if now is not None:
            out["active"] = self.active(now)
        return out


@dataclass(frozen=True)
class Access:
    """Why a viewer may read a profile (``basis``: member, auditor, consent, application)."""

    basis: str
    detail: str


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def _consent(record: dict[str, Any]) -> Consent:
    return Consent(record["member"], record["lender"], int(record["expiresAt"]), int(record.get("grantedAt", 0)),
                   record.get("revokedAt"))


def consents(index: Index, member: str | None = None) -> list[Consent]:
    """The consents (of ``member``) the index folded from the chain, by member and lender."""
    out = [_consent(r) for _, r in sorted(index.records("consents").items())]
    return [c for c in out if member is None or c.member == member]


def index_now(index: Index) -> int:
    """The time of the last block the index holds: the clock consents expire by.

    Raises:
        InputError: the index holds no block yet.
    """
    cursor = index.cursor()
    if cursor is None:
        raise InputError(f"the index at {index.target} holds no block yet: update it from the chain first")
    return index.block_timestamp(cursor.block)


def access(index: Index, member: str, viewer: str, now: int) -> Access | None:
    """Why ``viewer`` may read ``member``'s profile at Unix time ``now``, or None."""
    if viewer == member:
        return Access("member", "its own profile")
    seen = index.record("members", viewer) or {}
    if seen.get("status") == ACTIVE and seen.get("roles", 0) >> AUDITOR_ROLE & 1:
        return Access("auditor", "the auditor sees all")
    for loan in index.loans_of(lender=viewer, borrower=member):
        if loan.get("status") in OPEN_LOAN:
            return Access("application", f"loan #{loan['loanId']} applied for by the member")
    record = index.record("consents", key(member, viewer))
    if record is not None and _consent(record).active(now):
        return Access("consent", f"consent on chain until {_iso(int(record['expiresAt']))}")
    return None


def require(index: Index, member: str, viewer: str, now: int) -> Access:
    """:func:`access`, or raise.

    Raises:
        ConsentRequired: no consent, revoked, expired, no open application, not the auditor.
    """
    granted = access(index, member, viewer, now)
    if granted is None:
        raise ConsentRequired(f"{viewer} may not read the profile of {member}: no consent on chain, no open loan "
                              f"application to it, not an auditor; the member grants it with `vscm member consent "
                              f"grant {viewer} --until DATE --wallet MEMBER`")
    return granted
