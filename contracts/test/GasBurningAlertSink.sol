// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAlertSink} from "../interfaces/IAlertSink.sol";

/// @notice Test only: a hostile alert sink that burns all the gas it is given, or (`bomb`) reverts with
/// 64 KiB of revert data.
contract GasBurningAlertSink is IAlertSink {
    bool public immutable bomb;
    uint256 public burned;

    constructor(bool bomb_) {
        bomb = bomb_;
    }

    function raiseLoanAlert(uint256, uint16, uint8, bytes32) external returns (uint256) {
        if (bomb) {
            assembly ("memory-safe") {
                revert(0, 65536)
            }
        }
        while (true) {
            burned += 1;
        }
        return 0;
    }
}
