// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAlertSink} from "../interfaces/IAlertSink.sol";

/// @notice Test only: an alert sink that records every alert, or reverts when told to.
contract RecordingAlertSink is IAlertSink {
    struct Call {
        address from;
        uint256 loanId;
        uint16 indicator;
        uint8 severity;
        bytes32 evidence;
    }

    error SinkRefused(uint256 loanId, uint16 indicator);

    Call[] private _calls;
    bool public refuse;

    constructor(bool refuse_) {
        refuse = refuse_;
    }

    function raiseLoanAlert(uint256 loanId, uint16 indicator, uint8 severity, bytes32 evidence)
        external
        returns (uint256 alertId)
    {
        if (refuse) revert SinkRefused(loanId, indicator);
        _calls.push(Call(msg.sender, loanId, indicator, severity, evidence));
        return _calls.length;
    }

    function callCount() external view returns (uint256) {
        return _calls.length;
    }

    function callAt(uint256 index) external view returns (Call memory) {
        return _calls[index];
    }
}
