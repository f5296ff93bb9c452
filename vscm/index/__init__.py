"""The lenders' index: the replayed state in SQL, updated incrementally, read by `vscm lender`."""

from __future__ import annotations

from vscm.index.lender import exposure, loan_detail, portfolio
from vscm.index.store import Index, UpdateReport, open_index

__all__ = ["Index", "UpdateReport", "exposure", "loan_detail", "open_index", "portfolio"]
