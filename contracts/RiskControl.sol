// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IMemberRegistry} from "./interfaces/IMemberRegistry.sol";
import {ILoanBook} from "./interfaces/ILoanBook.sol";
import {IFundTracker} from "./interfaces/IFundTracker.sol";
import {IAlertSink} from "./interfaces/IAlertSink.sol";
import {IRiskControl} from "./interfaces/IRiskControl.sol";

/// @title RiskControl
/// @notice Alerts, lender decisions, deadlines and fraud findings. See {IRiskControl}.
/// @dev Holds CONTROLLER_ROLE on the LoanBook (warn, clear, recall), the FundTracker (freeze,
/// unfreeze) and the MemberRegistry (evict a chain). Loops are bounded: a fraud sweep walks the
/// chain's loans in pages, and the final notice loops over the chain's distinct lenders.
contract RiskControl is IRiskControl, AccessControl {
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    /// @notice Wires this contract to the other platform contracts (the roles below that name a contract),
    /// held by the deployer only while it deploys: it is its own admin and the deployer renounces it at
    /// the end of the deployment, so from then on nobody (neither the operator nor the council) can grant
    /// or revoke those roles.
    bytes32 public constant WIRING_ROLE = keccak256("WIRING_ROLE");
    /// @notice Detector contracts (the telemetry oracle) that raise loan alerts.
    bytes32 public constant DETECTOR_ROLE = keccak256("DETECTOR_ROLE");

    uint64 public constant MIN_WINDOW = 1 hours;
    uint64 public constant MAX_WINDOW = 30 days;
    /// @notice Loans frozen in the confirming transaction; the rest through `sweepChain`.
    uint256 public constant FIRST_SWEEP = 25;
    uint8 public constant MAX_SEVERITY = 4;
    /// @notice How long a fraud proposal waits for an auditor's co-signature; meanwhile nobody leaves
    /// the chain.
    uint64 public constant PROPOSAL_WINDOW = 14 days;
    /// @notice After a proposal on a chain ends unconfirmed (withdrawn or expired), the chain cannot be
    /// proposed again for this long: its members may leave in between (proposals cannot chain up).
    uint64 public constant PROPOSAL_COOLDOWN = 14 days;

    IMemberRegistry public immutable registry;
    ILoanBook public immutable loans;
    IFundTracker public immutable funds;

    uint64 public decisionWindow = 3 days;
    LapsePolicy public lapsePolicy = LapsePolicy.Freeze;
    uint8 public warnSeverity = 2;

    mapping(uint256 => Alert) private _alerts;
    uint256 private _alertCount;
    mapping(uint256 => LoanControl) private _control;
    mapping(uint64 => FraudCase) private _fraud;
    mapping(uint64 => address[]) private _lenders;
    mapping(uint64 => mapping(address => Exposure)) private _exposure;
    /// the alert that first carried an evidence hash, by keccak256(subject, subjectId, indicator, evidence)
    mapping(bytes32 => uint256) private _alertByEvidence;
    /// when a chain may next be proposed (the end of the last proposal's window, or its withdrawal,
    /// plus the cool-down)
    mapping(uint64 => uint64) private _nextProposalAt;

    constructor(IMemberRegistry registry_, ILoanBook loans_, IFundTracker funds_, address operator) {
        registry = registry_;
        loans = loans_;
        funds = funds_;
        _grantRole(DEFAULT_ADMIN_ROLE, operator);
        _grantRole(OPERATOR_ROLE, operator);
        _grantRole(WIRING_ROLE, operator);
        _setRoleAdmin(WIRING_ROLE, WIRING_ROLE);
        _setRoleAdmin(DETECTOR_ROLE, WIRING_ROLE);
        emit ParametersSet(decisionWindow, lapsePolicy, warnSeverity);
    }

    // ---------------------------------------------------------------- alerts

    /// @inheritdoc IAlertSink
    function raiseLoanAlert(uint256 loanId, uint16 indicator, uint8 severity, bytes32 evidence)
        external
        returns (uint256 alertId)
    {
        _checkAlert(indicator, severity, evidence);
        ILoanBook.Loan memory l = loans.getLoan(loanId);
        if (l.status == ILoanBook.LoanStatus.None) revert RiskUnknownLoan(loanId);
        _requireNewEvidence(Subject.Loan, loanId, indicator, evidence);
        LoanControl storage c = _control[loanId];
        uint64 deadline;
        if (l.status == ILoanBook.LoanStatus.Disbursed && severity >= warnSeverity) {
            deadline = uint64(block.timestamp) + decisionWindow;
            alertId = _record(Subject.Loan, loanId, indicator, severity, evidence, deadline);
            // A warned borrower must not empty the loan money before the lender decides: it is frozen
            // now (by this contract unless already frozen), and only a continue unfreezes it.
            bool freeze = !funds.getFunds(loanId).frozen;
            _control[loanId] = LoanControl({
                alertId: alertId, deadline: deadline, decision: Decision.None, lapsed: false, frozenForWarning: freeze
            });
            loans.warn(loanId, deadline);
            if (freeze) funds.freeze(loanId);
        } else {
            // Already warned: the alert joins the open warning. Otherwise it only informs the lender.
            if (l.status == ILoanBook.LoanStatus.Warned) deadline = c.deadline;
            alertId = _record(Subject.Loan, loanId, indicator, severity, evidence, deadline);
        }
        emit LenderNotified(loanId, l.lender, alertId, deadline);
    }

    /// @inheritdoc IRiskControl
    function raiseChainAlert(uint64 chainId, uint16 indicator, uint8 severity, bytes32 evidence)
        external
        returns (uint256 alertId)
    {
        _checkAlert(indicator, severity, evidence);
        _requireLiveChain(chainId);
        _requireNewEvidence(Subject.Chain, chainId, indicator, evidence);
        alertId = _record(Subject.Chain, chainId, indicator, severity, evidence, 0);
    }

    // ---------------------------------------------------------------- decisions

    /// @inheritdoc IRiskControl
    function decide(uint256 loanId, Decision decision) external {
        ILoanBook.Loan memory l = loans.getLoan(loanId);
        if (l.status == ILoanBook.LoanStatus.None) revert RiskUnknownLoan(loanId);
        if (msg.sender != l.lender) revert RiskNotLender(loanId, msg.sender);
        // A suspended or evicted lender no longer acts on the platform, here as in the LoanBook.
        IMemberRegistry.Status status = registry.statusOf(msg.sender);
        if (status != IMemberRegistry.Status.Active) revert IMemberRegistry.MemberNotActive(msg.sender, status);
        uint64 chainId = loans.loanChain(loanId);
        bool fraud = _fraud[chainId].declaredAt != 0;
        if (decision == Decision.Recall) {
            bool running = l.status == ILoanBook.LoanStatus.Warned
                || (fraud && l.status == ILoanBook.LoanStatus.Disbursed);
            if (!running) revert RiskNotWarned(loanId, uint8(l.status));
            _control[loanId].decision = Decision.Recall;
            uint256 intercepted = _recall(loanId);
            emit LenderDecided(loanId, msg.sender, Decision.Recall, intercepted);
        } else if (decision == Decision.Continue) {
            if (l.status != ILoanBook.LoanStatus.Warned) revert RiskNotWarned(loanId, uint8(l.status));
            if (fraud) revert RiskChainFraudulent(chainId);
            _continue(loanId);
            emit LenderDecided(loanId, msg.sender, Decision.Continue, 0);
        } else {
            revert RiskBadDecision(decision);
        }
    }

    /// @inheritdoc IRiskControl
    function lapse(uint256 loanId) external {
        ILoanBook.Loan memory l = loans.getLoan(loanId);
        if (l.status == ILoanBook.LoanStatus.None) revert RiskUnknownLoan(loanId);
        if (l.status != ILoanBook.LoanStatus.Warned) revert RiskNotWarned(loanId, uint8(l.status));
        LoanControl storage c = _control[loanId];
        if (c.lapsed) revert RiskAlreadyLapsed(loanId);
        if (block.timestamp <= l.warningDeadline) {
            revert RiskDeadlineNotPassed(loanId, l.warningDeadline, uint64(block.timestamp));
        }
        c.lapsed = true;
        LapsePolicy policy = lapsePolicy;
        emit DeadlineLapsed(loanId, policy, msg.sender);
        if (policy == LapsePolicy.Freeze) {
            // Frozen since the warning; frozen again if another controller unfroze it meanwhile.
            if (!funds.getFunds(loanId).frozen) {
                c.frozenForWarning = true;
                funds.freeze(loanId);
            }
        } else if (policy == LapsePolicy.Recall) {
            _recall(loanId);
        } else {
            _continue(loanId);
        }
    }

    // ---------------------------------------------------------------- fraud

    /// @inheritdoc IRiskControl
    function proposeFraud(uint64 chainId, bytes32 evidence) external onlyRole(OPERATOR_ROLE) {
        if (evidence == bytes32(0)) revert RiskEmptyEvidence();
        // A chain the operator evicted on its own (a court order) may still be found fraudulent, so
        // that its money is frozen and its lenders notified; a finding is made once.
        _requireChain(chainId);
        FraudCase storage f = _fraud[chainId];
        if (f.declaredAt != 0) revert RiskChainFraudulent(chainId);
        // One proposal at a time, then a cool-down: repeated proposals cannot keep members from leaving.
        uint64 next = _nextProposalAt[chainId];
        if (block.timestamp < next) {
            uint64 until = registry.investigatedUntil(chainId);
            if (block.timestamp <= until) revert RiskProposalPending(chainId, until);
            revert RiskProposalCoolingDown(chainId, next);
        }
        _nextProposalAt[chainId] = uint64(block.timestamp) + PROPOSAL_WINDOW + PROPOSAL_COOLDOWN;
        f.proposedBy = msg.sender;
        f.evidence = evidence;
        emit FraudProposed(chainId, msg.sender, evidence);
        // The proposal is public: the chain is frozen for leaving until it is confirmed, withdrawn or
        // expires, so no member slips out before the eviction.
        registry.setInvestigation(chainId, uint64(block.timestamp) + PROPOSAL_WINDOW);
    }

    /// @inheritdoc IRiskControl
    function withdrawFraud(uint64 chainId) external onlyRole(OPERATOR_ROLE) {
        FraudCase storage f = _fraud[chainId];
        if (f.proposedBy == address(0) || f.declaredAt != 0) revert RiskNoProposal(chainId);
        delete _fraud[chainId];
        _nextProposalAt[chainId] = uint64(block.timestamp) + PROPOSAL_COOLDOWN;
        emit FraudWithdrawn(chainId, msg.sender);
        registry.setInvestigation(chainId, 0);
    }

    /// @inheritdoc IRiskControl
    function confirmFraud(uint64 chainId, bytes32 evidence) external {
        if (!registry.isActive(msg.sender, IMemberRegistry.Role.Auditor)) revert RiskNotAuditor(msg.sender);
        FraudCase storage f = _fraud[chainId];
        if (f.proposedBy == address(0) || f.declaredAt != 0) revert RiskNoProposal(chainId);
        if (f.evidence != evidence) revert RiskEvidenceMismatch(chainId, f.evidence, evidence);
        if (msg.sender == f.proposedBy) revert RiskSameSigner(msg.sender);
        // A proposal left unconfirmed past its window has lapsed (the chain was free to leave again).
        uint64 until = registry.investigatedUntil(chainId);
        if (block.timestamp > until) revert RiskProposalExpired(chainId, until);
        f.confirmedBy = msg.sender;
        f.declaredAt = uint64(block.timestamp);
        emit FraudDeclared(chainId, f.proposedBy, msg.sender, evidence);
        if (!registry.getChain(chainId).evicted) registry.evictChain(chainId, evidence);
        _sweep(chainId, f, FIRST_SWEEP);
    }

    /// @inheritdoc IRiskControl
    function sweepChain(uint64 chainId, uint256 maxLoans) external {
        if (maxLoans == 0) revert RiskZeroBatch();
        FraudCase storage f = _fraud[chainId];
        if (f.declaredAt == 0) revert RiskNotDeclared(chainId);
        if (f.sweepDone) revert RiskSweepDone(chainId);
        _sweep(chainId, f, maxLoans);
    }

    // ---------------------------------------------------------------- parameters

    /// @inheritdoc IRiskControl
    function setParameters(uint64 window, LapsePolicy policy, uint8 severity)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        if (window < MIN_WINDOW || window > MAX_WINDOW) revert RiskBadWindow(window);
        if (severity == 0 || severity > MAX_SEVERITY) revert RiskBadSeverity(severity);
        decisionWindow = window;
        lapsePolicy = policy;
        warnSeverity = severity;
        emit ParametersSet(window, policy, severity);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IRiskControl
    function getAlert(uint256 alertId) external view returns (Alert memory) {
        return _alerts[alertId];
    }

    /// @inheritdoc IRiskControl
    function alertCount() external view returns (uint256) {
        return _alertCount;
    }

    /// @inheritdoc IRiskControl
    function loanControl(uint256 loanId) external view returns (LoanControl memory) {
        return _control[loanId];
    }

    /// @inheritdoc IRiskControl
    function fraudCase(uint64 chainId) external view returns (FraudCase memory) {
        return _fraud[chainId];
    }

    /// @inheritdoc IRiskControl
    function exposure(uint64 chainId, address lender) external view returns (Exposure memory) {
        return _exposure[chainId][lender];
    }

    /// @inheritdoc IRiskControl
    function nextProposalAt(uint64 chainId) external view returns (uint64) {
        return _nextProposalAt[chainId];
    }

    /// @inheritdoc IRiskControl
    function exposedLenders(uint64 chainId) external view returns (address[] memory) {
        return _lenders[chainId];
    }

    // ---------------------------------------------------------------- internal

    function _checkAlert(uint16 indicator, uint8 severity, bytes32 evidence) internal view {
        if (!hasRole(DETECTOR_ROLE, msg.sender) && !registry.isActive(msg.sender, IMemberRegistry.Role.Monitor)) {
            revert RiskNotMonitor(msg.sender);
        }
        if (indicator == 0) revert RiskZeroIndicator();
        if (severity == 0 || severity > MAX_SEVERITY) revert RiskBadSeverity(severity);
        if (evidence == bytes32(0)) revert RiskEmptyEvidence();
    }

    function _record(Subject subject, uint256 subjectId, uint16 indicator, uint8 severity, bytes32 evidence, uint64 deadline)
        internal
        returns (uint256 alertId)
    {
        alertId = ++_alertCount;
        _alertByEvidence[_evidenceKey(subject, subjectId, indicator, evidence)] = alertId;
        _alerts[alertId] = Alert({
            subject: subject,
            severity: severity,
            indicator: indicator,
            raisedAt: uint64(block.timestamp),
            deadline: deadline,
            raisedBy: msg.sender,
            subjectId: subjectId,
            evidence: evidence
        });
        emit AlertRaised(alertId, subject, subjectId, indicator, severity, msg.sender, evidence, deadline);
    }

    /// A finding is raised once: the same evidence for the same subject and indicator is a repeat (a
    /// monitor restarted after a crash, a resent transaction), not a new alert.
    function _requireNewEvidence(Subject subject, uint256 subjectId, uint16 indicator, bytes32 evidence)
        internal
        view
    {
        uint256 earlier = _alertByEvidence[_evidenceKey(subject, subjectId, indicator, evidence)];
        if (earlier != 0) revert RiskAlertRepeated(subject, subjectId, indicator, evidence, earlier);
    }

    function _evidenceKey(Subject subject, uint256 subjectId, uint16 indicator, bytes32 evidence)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(subject, subjectId, indicator, evidence));
    }

    /// The LoanBook accelerates the loan and pulls back the unspent tracked money (up to the debt).
    function _recall(uint256 loanId) internal returns (uint256 intercepted) {
        uint256 before = funds.getFunds(loanId).returned;
        loans.recall(loanId);
        intercepted = funds.getFunds(loanId).returned - before;
    }

    function _continue(uint256 loanId) internal {
        LoanControl storage c = _control[loanId];
        c.decision = Decision.Continue;
        loans.clearWarning(loanId);
        if (c.frozenForWarning) {
            c.frozenForWarning = false;
            // another controller may have unfrozen it meanwhile: a continue must not fail on that
            if (funds.getFunds(loanId).frozen) funds.unfreeze(loanId);
        }
    }

    function _sweep(uint64 chainId, FraudCase storage f, uint256 maxLoans) internal {
        uint256 total = loans.chainLoanCount(chainId);
        uint256 end = f.swept + maxLoans;
        if (end > total) end = total;
        for (uint256 i = f.swept; i < end; ++i) {
            _sweepLoan(chainId, loans.chainLoanAt(chainId, i));
        }
        f.swept = end;
        bool done = end == total;
        emit ChainSwept(chainId, end, total, done);
        if (!done) return;
        f.sweepDone = true;
        address[] storage lenders = _lenders[chainId];
        for (uint256 i = 0; i < lenders.length; ++i) {
            Exposure storage e = _exposure[chainId][lenders[i]];
            emit LenderExposed(chainId, lenders[i], e.loans, e.outstanding, e.frozen);
        }
    }

    /// A loan that still owes money counts toward its lender's exposure; a running one is frozen.
    function _sweepLoan(uint64 chainId, uint256 loanId) internal {
        ILoanBook.Loan memory l = loans.getLoan(loanId);
        ILoanBook.LoanStatus s = l.status;
        bool running = s == ILoanBook.LoanStatus.Disbursed || s == ILoanBook.LoanStatus.Warned;
        if (!running && s != ILoanBook.LoanStatus.Recalled && s != ILoanBook.LoanStatus.Defaulted) return;
        uint256 frozen;
        if (running) {
            frozen = funds.unspent(loanId);
            if (!funds.getFunds(loanId).frozen) funds.freeze(loanId);
            emit LoanFrozenForFraud(chainId, loanId, l.lender, frozen);
        }
        Exposure storage e = _exposure[chainId][l.lender];
        if (e.loans == 0) _lenders[chainId].push(l.lender);
        e.loans += 1;
        e.outstanding += loans.outstanding(loanId);
        e.frozen += frozen;
    }

    function _requireLiveChain(uint64 chainId) internal view {
        _requireChain(chainId);
        if (registry.getChain(chainId).evicted) revert RiskChainEvicted(chainId);
    }

    function _requireChain(uint64 chainId) internal view {
        if (chainId == 0 || chainId > registry.chainCount()) revert RiskUnknownChain(chainId);
    }
}
