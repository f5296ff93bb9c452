"""Underwriting from the platform's own records: a member's credit profile with its evidence, a
scorecard over it, its back-test, and the member's consent to show it to a lender."""

from __future__ import annotations

from vscm.underwriting.history import Event, Evidence, events
from vscm.underwriting.profile import Figure, credit_profile

__all__ = ["Event", "Evidence", "Figure", "credit_profile", "events"]
