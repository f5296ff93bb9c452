"""Who may read a member's credit profile: the member's own signed consent, its loan applications, the auditor.

The platform's data is not public to every lender. A lender may read member M's profile when:

* M granted it read access, by a consent M signed with its own key (EIP-191 ``personal_sign`` of the
  text :func:`consent_text` builds), not revoked by a later consent M signed, and not expired; or
* M applied to it for a loan that is still open (applied, approved, disbursed, warned, recalled or
  defaulted: not rejected, repaid or written off): the application, signed on chain by M, grants the
  lender access for that application; or
* it is M itself, or an active auditor of the platform (the auditor sees all).

Consents are kept in the lenders' index (table ``consents``), not on chain: every read re-checks the
signature against the member's address, so a row written by anyone but the member, or altered, grants
nothing. The message names the deployment, so a consent for one platform is void on another.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address

from vscm.errors import InputError, VscmError
from vscm.index.store import Index

__all__ = ["Access", "Consent", "ConsentRequired", "access", "consent_text", "consents", "record", "require",
           "sign_consent"]

ACTIONS = ("grant", "revoke")
AUDITOR_ROLE = 6
ACTIVE = 2
OPEN_LOAN = (1, 2, 4, 5, 6, 8)  # applied, approved, disbursed, warned, recalled, defaulted
HEADER = "VSCM consent to read a credit profile"
#: Oldest first; of two signed in the same second, the revocation counts last (refusal wins a tie).
ORDER = " ORDER BY signed_at, CASE WHEN action = 'revoke' THEN 1 ELSE 0 END"


class ConsentRequired(VscmError):
    """The viewer has no right to read the member's profile."""


@dataclass(frozen=True)
class Consent:
    """One signed consent: the member grants (or revokes) the lender read access until ``expires``."""

    action: str
    member: str
    lender: str
    expires: int
    signed_at: int
    deployment: str
    signature: str

    @property
    def message(self) -> str:
        return consent_text(self.action, self.member, self.lender, self.expires, self.signed_at, self.deployment)

    @property
    def id(self) -> str:
        return "0x" + keccak(text=self.message).hex()

    def signer(self) -> str:
        """The address whose key signed the message."""
        return str(Account.recover_message(encode_defunct(text=self.message), signature=self.signature))

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "action": self.action, "member": self.member, "lender": self.lender,
                "expires": _iso(self.expires), "signed_at": _iso(self.signed_at), "deployment": self.deployment,
                "signature": self.signature}


@dataclass(frozen=True)
class Access:
    """Why a viewer may read a profile (``basis``: member, auditor, consent, application)."""

    basis: str
    detail: str


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def consent_text(action: str, member: str, lender: str, expires: int, signed_at: int, deployment: str) -> str:
    """The exact text a member signs (readable in a wallet's signing prompt)."""
    if action not in ACTIONS:
        raise InputError(f"consent action must be one of {', '.join(ACTIONS)}, not {action!r}")
    return (f"{HEADER}\naction: {action}\nmember: {to_checksum_address(member)}\n"
            f"lender: {to_checksum_address(lender)}\nexpires: {_iso(expires)}\nsigned: {_iso(signed_at)}\n"
            f"deployment: {deployment}")


def _deployment(index: Index) -> str:
    ident = index.meta().get("deployment")
    if ident is None:
        raise InputError(f"the index at {index.target} is not bound to a deployment yet: update it once")
    return ident


def sign_consent(index: Index, member: LocalAccount, lender: str, action: str, expires: int,
                 signed_at: int) -> Consent:
    """A consent of ``member`` (signed with its key) for ``lender``, for the index's deployment."""
    text = consent_text(action, member.address, lender, expires, signed_at, _deployment(index))
    signature = member.sign_message(encode_defunct(text=text)).signature.hex()
    return Consent(action, member.address, to_checksum_address(lender), expires, signed_at, _deployment(index),
                   signature if signature.startswith("0x") else "0x" + signature)


def record(index: Index, consent: Consent) -> Consent:
    """Store a signed consent in the index, after checking the member signed it for this deployment.

    Raises:
        InputError: the signature is not the member's, or the consent is for another deployment.
    """
    if consent.deployment != _deployment(index):
        raise InputError(f"consent {consent.id} is for deployment {consent.deployment}, not {_deployment(index)}")
    if consent.signer() != consent.member:
        raise InputError(f"consent {consent.id} is not signed by the member {consent.member}")
    with index.db.locked():
        index.db.execute("INSERT INTO consents (id, member, lender, action, expires, signed_at, message, signature)"
                         " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                         (consent.id, consent.member, consent.lender, consent.action, consent.expires,
                          consent.signed_at, consent.message, consent.signature))
    return consent


def consents(index: Index, member: str | None = None) -> list[Consent]:
    """The stored consents (of ``member``) whose signature is the member's, oldest first; others are dropped."""
    sql = "SELECT action, member, lender, expires, signed_at, message, signature FROM consents"
    params: tuple[Any, ...] = ()
    if member is not None:
        sql, params = sql + " WHERE member = ?", (member,)
    out = []
    for action, m, lender, expires, signed_at, message, signature in index.db.query(sql + ORDER,
                                                                                    params):
        deployment = str(message).rpartition("\ndeployment: ")[2]
        c = Consent(action, m, lender, int(expires), int(signed_at), deployment, signature)
        try:
            if c.message == message and c.signer() == c.member:
                out.append(c)
        except Exception:  # noqa: BLE001, S112 - a malformed signature grants nothing
            continue
    return out


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
    deployment = _deployment(index)
    latest = None
    for c in consents(index, member):
        if c.lender == viewer and c.deployment == deployment:
            latest = c
    if latest is not None and latest.action == "grant" and latest.expires > now:
        return Access("consent", f"consent {latest.id} until {_iso(latest.expires)}")
    return None


def require(index: Index, member: str, viewer: str, now: int) -> Access:
    """:func:`access`, or raise.

    Raises:
        ConsentRequired: no consent, revoked, expired, no open application, not the auditor.
    """
    granted = access(index, member, viewer, now)
    if granted is None:
        raise ConsentRequired(f"{viewer} may not read the profile of {member}: ask the member for consent "
                              f"(`vscm member consent grant {viewer} --until DATE --wallet MEMBER`)")
    return granted
