"""Underwriting from the platform's own records: a member's credit profile with its evidence, a
scorecard over it, its back-test, and the member's consent to show it to a lender."""

from __future__ import annotations

from vscm.underwriting.consent import Access, Consent, ConsentRequired, access, consents, index_now, require
from vscm.underwriting.history import Event, Evidence, events
from vscm.underwriting.profile import Figure, credit_profile
from vscm.underwriting.scorecard import Scorecard, baseline, load_scorecard, score

__all__ = ["Access", "Consent", "ConsentRequired", "Event", "Evidence", "Figure", "Scorecard", "access", "baseline",
           "consents", "credit_profile", "events", "index_now", "load_scorecard", "require", "score"]
