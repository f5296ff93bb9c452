"""The ConsentRegistry facade: a member lets a named lender read its credit profile, until a date."""

from __future__ import annotations

from vscm.client.facade import Facade as _Facade
from vscm.client.facade import WriteResult

__all__ = ["ConsentFacade"]


class ConsentFacade(_Facade):
    contract_name = "ConsentRegistry"

    def grant_consent(self, lender: str, expires_at: int) -> WriteResult[None]:
        """The member (the signer) lets ``lender`` read its profile until ``expires_at`` (Unix seconds)."""
        return self._send(self.contract.functions.grantConsent(lender, expires_at))

    def revoke_consent(self, lender: str) -> WriteResult[None]:
        """The member (the signer) withdraws ``lender``'s read access now."""
        return self._send(self.contract.functions.revokeConsent(lender))

    def expiry(self, member: str, lender: str) -> int:
        """When ``member``'s consent to ``lender`` expires (0: none, or revoked)."""
        return int(self.contract.functions.consentExpiry(member, lender).call())

    def has(self, member: str, lender: str) -> bool:
        """Whether ``lender`` may read ``member``'s profile by consent now."""
        return bool(self.contract.functions.hasConsent(member, lender).call())
