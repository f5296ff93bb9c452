// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Members' consents to lenders reading their credit profile
/// @notice The platform's data is not public to every lender: a member grants a named lender read access
/// to its credit profile until a time it chooses, and may revoke it at any time. Only the member writes
/// its own consents; the contract has no admin, so neither the operator nor the council can grant,
/// extend or revoke one. (A loan application to a lender also lets that lender read the applicant's
/// profile while the application is open: that follows from the LoanBook's own records.)
interface IConsentRegistry {
    /// @notice `member` let `lender` read its credit profile until `expiresAt` (Unix seconds).
    event ConsentGranted(address indexed member, address indexed lender, uint64 expiresAt);
    /// @notice `member` withdrew `lender`'s read access before it expired.
    event ConsentRevoked(address indexed member, address indexed lender);

    /// @notice The caller is not an active member of the platform, so it has no profile to share.
    error ConsentNotMember(address caller);
    /// @notice Consent goes to an active financier other than the member itself.
    error ConsentNotLender(address lender);
    /// @notice The expiry must be after now and at most MAX_DURATION ahead of it.
    error ConsentBadExpiry(uint64 expiresAt, uint64 nowTime, uint64 maxDuration);
    /// @notice There is no unexpired consent of `member` to `lender` to revoke.
    error ConsentNotGranted(address member, address lender);
    /// @notice The registry's address must be set.
    error ConsentZeroAddress();

    /// @notice Grant (or renew, or shorten) `lender`'s read access to the caller's profile until `expiresAt`.
    function grantConsent(address lender, uint64 expiresAt) external;

    /// @notice Withdraw `lender`'s read access now.
    function revokeConsent(address lender) external;

    /// @notice When `member`'s consent to `lender` expires (0: never granted, or revoked).
    function consentExpiry(address member, address lender) external view returns (uint64);

    /// @notice Whether `lender` may read `member`'s profile by consent now (an open application is
    /// checked from the LoanBook's records).
    function hasConsent(address member, address lender) external view returns (bool);
}
