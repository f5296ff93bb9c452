// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IMemberRegistry} from "./interfaces/IMemberRegistry.sol";
import {IConsentRegistry} from "./interfaces/IConsentRegistry.sol";

/// @title ConsentRegistry
/// @notice Members' consents to lenders reading their credit profile. See {IConsentRegistry}.
/// @dev No admin and no roles: each consent is written only by the member it belongs to.
contract ConsentRegistry is IConsentRegistry {
    /// @notice The longest a consent may run from the moment it is granted (it can be renewed).
    uint64 public constant MAX_DURATION = 730 days;

    IMemberRegistry public immutable registry;

    mapping(address member => mapping(address lender => uint64 expiresAt)) private _expiry;

    constructor(IMemberRegistry registry_) {
        if (address(registry_) == address(0)) revert ConsentZeroAddress();
        registry = registry_;
    }

    /// @inheritdoc IConsentRegistry
    function grantConsent(address lender, uint64 expiresAt) external {
        if (!registry.isActiveMember(msg.sender)) revert ConsentNotMember(msg.sender);
        if (lender == msg.sender || !registry.isActive(lender, IMemberRegistry.Role.Financier)) {
            revert ConsentNotLender(lender);
        }
        uint64 nowTs = uint64(block.timestamp);
        if (expiresAt <= nowTs || expiresAt > nowTs + MAX_DURATION) {
            revert ConsentBadExpiry(expiresAt, nowTs, MAX_DURATION);
        }
        _expiry[msg.sender][lender] = expiresAt;
        emit ConsentGranted(msg.sender, lender, expiresAt);
    }

    /// @inheritdoc IConsentRegistry
    function revokeConsent(address lender) external {
        // Any address may withdraw what it granted, whatever its membership status now.
        if (_expiry[msg.sender][lender] <= block.timestamp) revert ConsentNotGranted(msg.sender, lender);
        delete _expiry[msg.sender][lender];
        emit ConsentRevoked(msg.sender, lender);
    }

    /// @inheritdoc IConsentRegistry
    function consentExpiry(address member, address lender) external view returns (uint64) {
        return _expiry[member][lender];
    }

    /// @inheritdoc IConsentRegistry
    function hasConsent(address member, address lender) external view returns (bool) {
        return _expiry[member][lender] > block.timestamp;
    }
}
