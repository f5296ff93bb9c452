"""The auditor's replay: rebuild the platform state from its event history and prove it.

* ``vscm.audit.source`` — where history comes from (raw JSON-RPC, the embedded chain, a stored file);
* ``vscm.audit.decode`` — fast decoding from the ABIs (topic0 -> decoder, ``eth_abi.decode``);
* ``vscm.audit.fold`` — one handler table per contract folding events into the state;
* ``vscm.audit.replay`` — block windows, hash chain, log/receipt checks;
* ``vscm.audit.verify`` — the rebuilt state against the contracts' views, money conservation;
* ``vscm.audit.report`` — JSON and a Markdown/HTML page;
* ``vscm.audit.index`` — the replayed state in SQL for lenders, updated incrementally.
"""

from __future__ import annotations

from vscm.audit import certificates as _certificates  # noqa: F401  (registers Certificates' handlers and verifier)
from vscm.audit import consent as _consent  # noqa: F401  (registers ConsentRegistry's handlers and verifier)
from vscm.audit import council as _council  # noqa: F401  (registers the council's Safe and timelock handlers and verifier)
from vscm.audit import oracle as _oracle  # noqa: F401  (registers TelemetryOracle's handlers and verifier)
from vscm.audit import risk as _risk  # noqa: F401  (registers RiskControl's handlers and verifier)
from vscm.audit.replay import ReplayResult, replay
from vscm.audit.source import RpcSource, StoredSource, source_for
from vscm.audit.state import Finding, State
from vscm.audit.verify import verify

__all__ = ["Finding", "ReplayResult", "RpcSource", "State", "StoredSource", "replay", "source_for", "verify"]
