// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {PlatformCash} from "../PlatformCash.sol";
import {IMemberRegistry} from "../interfaces/IMemberRegistry.sol";

/// @title Test only: a PlatformCash with a backdoor that writes storage without an event
/// @notice Deployed in place of the real cash by the audit tests: the replay must find the state the
/// history does not explain. Never deploy it anywhere else.
contract BackdooredCash is PlatformCash {
    constructor(IMemberRegistry registry_, string memory currencyCode_, address operator)
        PlatformCash(registry_, currencyCode_, operator)
    {}

    /// @notice Writes `value` at storage `slot`, silently.
    function poke(bytes32 slot, bytes32 value) external {
        assembly {
            sstore(slot, value)
        }
    }
}
