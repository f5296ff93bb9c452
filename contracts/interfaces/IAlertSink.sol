// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Where automated detectors (the telemetry oracle) raise alerts on a loan
/// @notice Implemented by RiskControl. A detector contract holds RiskControl's DETECTOR_ROLE and calls
/// `raiseLoanAlert`; RiskControl records the alert, warns the loan and notifies its lender. An alert
/// on a loan that cannot be warned any more (repaid, recalled, already warned) is still recorded and
/// does not revert, so a detector's batch never fails because of the loan's state. The same evidence
/// hash for the same loan and indicator is accepted once (`IRiskControl.RiskAlertRepeated`).
interface IAlertSink {
    /// @notice indicator codes shared by the Python monitor (`vscm.risk`) and on-chain detectors
    /// 301 = collateral below the loan's LTV limit (margin call), 302 = goods missing,
    /// 303 = temperature out of range, 304 = door opened out of hours, 305 = shipment off route
    function raiseLoanAlert(uint256 loanId, uint16 indicator, uint8 severity, bytes32 evidence)
        external
        returns (uint256 alertId);
}
