"""The RiskControl facade: alerts, lender decisions, deadlines and fraud findings."""

from __future__ import annotations

from vscm.client.facade import Facade as _Facade
from vscm.client.facade import WriteResult
from vscm.client.records import (
    Alert,
    Decision,
    Exposure,
    FraudCase,
    LapsePolicy,
    LoanControl,
    Severity,
)
from vscm.errors import NotFound

__all__ = ["RiskFacade"]


class RiskFacade(_Facade):
    contract_name = "RiskControl"

    # ---- writes
    def raise_loan_alert(self, loan_id: int, indicator: int, severity: Severity | int, evidence: bytes) -> WriteResult[int]:
        """Monitor or detector: an alert on a loan; a running loan is warned. The result's id is the alert's."""
        return self._send_id(self.contract.functions.raiseLoanAlert(loan_id, indicator, int(severity), evidence),
                             "AlertRaised", "alertId")

    def raise_chain_alert(self, chain_id: int, indicator: int, severity: Severity | int, evidence: bytes) -> WriteResult[int]:
        return self._send_id(self.contract.functions.raiseChainAlert(chain_id, indicator, int(severity), evidence),
                             "AlertRaised", "alertId")

    def decide(self, loan_id: int, decision: Decision) -> WriteResult[None]:
        """The loan's lender: continue or recall a warned loan."""
        return self._send(self.contract.functions.decide(loan_id, int(decision)))

    def lapse(self, loan_id: int) -> WriteResult[None]:
        """Anyone, after the deadline: apply the lapse policy."""
        return self._send(self.contract.functions.lapse(loan_id))

    def propose_fraud(self, chain_id: int, evidence: bytes) -> WriteResult[None]:
        return self._send(self.contract.functions.proposeFraud(chain_id, evidence))

    def withdraw_fraud(self, chain_id: int) -> WriteResult[None]:
        """Operator: withdraw a pending fraud proposal (the chain is no longer under investigation)."""
        return self._send(self.contract.functions.withdrawFraud(chain_id))

    def confirm_fraud(self, chain_id: int, evidence: bytes) -> WriteResult[None]:
        return self._send(self.contract.functions.confirmFraud(chain_id, evidence))

    def sweep_chain(self, chain_id: int, max_loans: int) -> WriteResult[None]:
        return self._send(self.contract.functions.sweepChain(chain_id, max_loans))

    def set_parameters(self, decision_window: int, lapse_policy: LapsePolicy, warn_severity: int) -> WriteResult[None]:
        return self._send(self.contract.functions.setParameters(decision_window, int(lapse_policy), warn_severity))

    def grant_detector(self, detector: str) -> WriteResult[None]:
        return self.grant(self.role("DETECTOR_ROLE"), detector)

    # ---- reads
    def alert(self, alert_id: int) -> Alert:
        raw = self.contract.functions.getAlert(alert_id).call()
        if int(raw[3]) == 0:
            raise NotFound(f"unknown alert {alert_id}")
        return Alert.from_chain(alert_id, raw)

    def count(self) -> int:
        return int(self.contract.functions.alertCount().call())

    def alerts(self) -> list[Alert]:
        return [self.alert(i) for i in range(1, self.count() + 1)]

    def control(self, loan_id: int) -> LoanControl:
        alert_id, deadline, decision, lapsed, frozen = self.contract.functions.loanControl(loan_id).call()
        return LoanControl(loan_id, int(alert_id), int(deadline), Decision(decision), bool(lapsed), bool(frozen))

    def fraud_case(self, chain_id: int) -> FraudCase:
        proposed, confirmed, evidence, declared_at, swept, done = self.contract.functions.fraudCase(chain_id).call()
        return FraudCase(chain_id, proposed, confirmed, bytes(evidence), int(declared_at), int(swept), bool(done))

    def next_proposal_at(self, chain_id: int) -> int:
        """When ``chain_id`` may next be proposed for a fraud finding (Unix seconds; 0: at any time): a
        proposal pending, or one ended unconfirmed less than ``PROPOSAL_COOLDOWN`` ago, refuses another."""
        return int(self.contract.functions.nextProposalAt(chain_id).call())

    def exposure(self, chain_id: int, lender: str) -> Exposure:
        loans, outstanding, frozen = self.contract.functions.exposure(chain_id, lender).call()
        return Exposure(chain_id, lender, int(loans), int(outstanding), int(frozen))

    def exposed_lenders(self, chain_id: int) -> list[str]:
        return list(self.contract.functions.exposedLenders(chain_id).call())

    def parameters(self) -> tuple[int, LapsePolicy, int]:
        f = self.contract.functions
        return int(f.decisionWindow().call()), LapsePolicy(f.lapsePolicy().call()), int(f.warnSeverity().call())
