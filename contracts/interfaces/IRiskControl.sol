// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IAlertSink} from "./IAlertSink.sol";

/// @title The platform's management and control mechanism
/// @notice Monitors (members holding the Monitor role) and detector contracts (the telemetry oracle)
/// raise alerts with an indicator code, a severity and the hash of their evidence. An alert on a
/// running loan warns it with a decision deadline, freezes its tracked money and notifies its lender.
/// The lender decides: continue (the warning is cleared, the money unfrozen, tracking goes on) or recall (the loan falls due now and its
/// unspent tracked money is intercepted and returned to the lender). A deadline that passes without a
/// decision is handled by the lapse policy, anyone may trigger it.
/// A fraud finding needs two signers: the operator proposes it with an evidence hash, an auditor
/// confirms the same hash. The supply chain is then evicted (all its members at once), the tracked
/// money of its loans is frozen and every lender exposed to it gets one notice with its exposure.
interface IRiskControl is IAlertSink {
    enum Subject {
        Loan,
        Chain
    }

    enum Decision {
        None,
        Continue,
        Recall
    }

    /// @notice What happens when a warning's deadline passes without the lender's decision.
    /// Freeze (the default): the loan's tracked money (frozen since the warning) stays frozen and the
    /// loan stays warned until the lender decides. Recall: the loan is recalled. Continue: the warning
    /// is cleared and the money unfrozen.
    enum LapsePolicy {
        Freeze,
        Recall,
        Continue
    }

    struct Alert {
        Subject subject;
        uint8 severity;
        uint16 indicator;
        uint64 raisedAt;
        /// the loan's warning deadline this alert set or joined, 0 when it asks for no decision
        uint64 deadline;
        address raisedBy;
        uint256 subjectId;
        bytes32 evidence;
    }

    struct LoanControl {
        /// the alert that opened the current warning
        uint256 alertId;
        uint64 deadline;
        Decision decision;
        bool lapsed;
        /// the loan money frozen by this contract for the warning (at the warning, or again at a
        /// freezing lapse); a continue unfreezes it
        bool frozenForWarning;
    }

    struct FraudCase {
        address proposedBy;
        address confirmedBy;
        bytes32 evidence;
        uint64 declaredAt;
        /// how many of the chain's loans the sweep has processed, and whether it is done
        uint256 swept;
        bool sweepDone;
    }

    struct Exposure {
        uint256 loans;
        /// what the chain's borrowers owed this lender when the sweep saw each loan
        uint256 outstanding;
        /// the unspent tracked money frozen for this lender's loans
        uint256 frozen;
    }

    event AlertRaised(
        uint256 indexed alertId,
        Subject subject,
        uint256 indexed subjectId,
        uint16 indicator,
        uint8 severity,
        address indexed raisedBy,
        bytes32 evidence,
        uint64 deadline
    );
    event LenderNotified(uint256 indexed loanId, address indexed lender, uint256 indexed alertId, uint64 deadline);
    event LenderDecided(uint256 indexed loanId, address indexed lender, Decision decision, uint256 intercepted);
    event DeadlineLapsed(uint256 indexed loanId, LapsePolicy policy, address indexed by);
    event ParametersSet(uint64 decisionWindow, LapsePolicy lapsePolicy, uint8 warnSeverity);
    event FraudProposed(uint64 indexed chainId, address indexed operator, bytes32 evidence);
    event FraudWithdrawn(uint64 indexed chainId, address indexed operator);
    event FraudDeclared(uint64 indexed chainId, address indexed operator, address indexed auditor, bytes32 evidence);
    event LoanFrozenForFraud(uint64 indexed chainId, uint256 indexed loanId, address indexed lender, uint256 unspent);
    event ChainSwept(uint64 indexed chainId, uint256 swept, uint256 total, bool done);
    event LenderExposed(
        uint64 indexed chainId, address indexed lender, uint256 loans, uint256 outstanding, uint256 frozen
    );

    error RiskNotMonitor(address caller);
    error RiskNotLender(uint256 loanId, address caller);
    error RiskNotAuditor(address caller);
    error RiskUnknownLoan(uint256 loanId);
    error RiskUnknownChain(uint64 chainId);
    error RiskChainEvicted(uint64 chainId);
    error RiskZeroIndicator();
    error RiskBadSeverity(uint8 severity);
    error RiskEmptyEvidence();
    error RiskNotWarned(uint256 loanId, uint8 status);
    error RiskBadDecision(Decision decision);
    error RiskDeadlineNotPassed(uint256 loanId, uint64 deadline, uint64 nowTime);
    error RiskAlreadyLapsed(uint256 loanId);
    error RiskChainFraudulent(uint64 chainId);
    error RiskNoProposal(uint64 chainId);
    error RiskEvidenceMismatch(uint64 chainId, bytes32 proposed, bytes32 given);
    error RiskSameSigner(address signer);
    error RiskNotDeclared(uint64 chainId);
    error RiskSweepDone(uint64 chainId);
    error RiskBadWindow(uint64 window);
    error RiskZeroBatch();
    /// @notice The fraud proposal on `chainId` waited past `expiredAt` for its co-signature.
    error RiskProposalExpired(uint64 chainId, uint64 expiredAt);
    /// @notice A fraud proposal on `chainId` is pending until `until`: confirm or withdraw it first.
    error RiskProposalPending(uint64 chainId, uint64 until);
    /// @notice The last proposal on `chainId` ended unconfirmed; the chain can be proposed again at `nextAt`.
    error RiskProposalCoolingDown(uint64 chainId, uint64 nextAt);
    /// @notice Alert `alertId` already holds this evidence hash for the same subject and indicator: a
    /// monitor that restarted after a crash, or a resent transaction, raises nothing twice.
    error RiskAlertRepeated(Subject subject, uint256 subjectId, uint16 indicator, bytes32 evidence, uint256 alertId);

    /// @notice A monitor's or detector's alert on a supply chain (evidence for a fraud finding). The same
    /// evidence hash for the same chain and indicator is accepted once (`RiskAlertRepeated`).
    function raiseChainAlert(uint64 chainId, uint16 indicator, uint8 severity, bytes32 evidence)
        external
        returns (uint256 alertId);

    /// @notice The loan's lender, while an active member, decides on a warned loan (or on any running
    /// loan of a chain declared fraudulent, where only Recall is accepted). A suspended or evicted
    /// lender is refused with `IMemberRegistry.MemberNotActive`.
    function decide(uint256 loanId, Decision decision) external;

    /// @notice After a warning's deadline, anyone applies the lapse policy.
    function lapse(uint256 loanId) external;

    /// @notice Operator: propose a fraud finding on a supply chain, live or already evicted by the
    /// operator (`MemberRegistry.evictChain`, e.g. on a court order), once per chain. The chain is under investigation
    /// (its members cannot leave it) until the finding is confirmed or withdrawn, or `PROPOSAL_WINDOW`
    /// passes without a co-signature (the proposal then expires). One proposal at a time
    /// (`RiskProposalPending`); after one ends unconfirmed, the chain can be proposed again only
    /// `PROPOSAL_COOLDOWN` later (`RiskProposalCoolingDown`), so proposals cannot keep members in for good.
    function proposeFraud(uint64 chainId, bytes32 evidence) external;

    /// @notice Operator: withdraw a pending fraud proposal; the chain is no longer under investigation.
    function withdrawFraud(uint64 chainId) external;

    /// @notice An auditor (not the proposer) co-signs the same unexpired evidence: the chain is evicted
    /// (unless it already was), the
    /// first page of its loans is frozen and, when the sweep is done, every exposed lender notified.
    function confirmFraud(uint64 chainId, bytes32 evidence) external;

    /// @notice Continue the sweep of a declared chain's loans (anyone; `maxLoans` per transaction).
    function sweepChain(uint64 chainId, uint256 maxLoans) external;

    /// @notice Council (DEFAULT_ADMIN_ROLE, its timelock): the decision window, the lapse policy, and the lowest severity that warns.
    function setParameters(uint64 decisionWindow, LapsePolicy lapsePolicy, uint8 warnSeverity) external;

    function getAlert(uint256 alertId) external view returns (Alert memory);
    function alertCount() external view returns (uint256);
    function loanControl(uint256 loanId) external view returns (LoanControl memory);
    function fraudCase(uint64 chainId) external view returns (FraudCase memory);
    /// @notice When `chainId` may next be proposed for a fraud finding (0: at any time).
    function nextProposalAt(uint64 chainId) external view returns (uint64);
    function exposure(uint64 chainId, address lender) external view returns (Exposure memory);
    function exposedLenders(uint64 chainId) external view returns (address[] memory);
    function decisionWindow() external view returns (uint64);
    function lapsePolicy() external view returns (LapsePolicy);
    function warnSeverity() external view returns (uint8);
}
