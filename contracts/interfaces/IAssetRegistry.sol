// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title One registry of everything that can be financed
/// @notice Receivables, payables, warehouse receipts and future-goods rights, each an ERC-721 token
/// keyed by its business identity so the same real asset cannot be registered twice, whoever tries.
/// While an asset backs a loan it is locked: it cannot be transferred, pledged again, retired or
/// have its pledged goods released except by the loan. This is the single anti-double-financing
/// mechanism of all four financing modes.
interface IAssetRegistry {
    enum AssetKind {
        Receivable,
        Payable,
        WarehouseReceipt,
        FutureGoods,
        /// a part of a payable certificate sold to a financier (Certificates), locked to the part
        CertificatePart
    }

    /// Registered: exists but not yet financeable (a receivable before the debtor confirms it).
    /// Confirmed: financeable. Retired: consumed or withdrawn; its business key stays used.
    enum AssetStatus {
        None,
        Registered,
        Confirmed,
        Retired
    }

    struct Asset {
        AssetKind kind;
        AssetStatus status;
        /// the order behind it (receivable, payable, future goods; optional for a receipt)
        uint256 orderId;
        /// who registered it: the creditor, the core debtor, the warehouse, the buyer
        address issuer;
        /// who owes or holds it: the debtor, the core debtor, the warehouse, the order's seller
        address obligor;
        address currency;
        /// face value (receivable, payable, future goods) or appraised value (receipt), minor units
        uint256 value;
        /// goods in store (receipts), and the part of them pledged to a loan
        uint256 quantity;
        uint256 pledgedQuantity;
        bytes32 unit;
        bytes32 descriptionHash;
        bytes32 businessKey;
        /// the loan it backs, 0 when free (a certificate part: the part's id in Certificates)
        uint256 lockedBy;
    }

    /// The fields of an asset the platform's contracts need, without its issuer, receipt details or
    /// business key (see `assetHead`).
    struct AssetHead {
        /// the token's owner (zero when the asset does not exist)
        address owner;
        AssetKind kind;
        AssetStatus status;
        uint256 orderId;
        address obligor;
        address currency;
        uint256 value;
        uint256 quantity;
        uint256 pledgedQuantity;
        uint256 lockedBy;
    }

    event AssetRegistered(
        uint256 indexed assetId,
        AssetKind kind,
        bytes32 indexed businessKey,
        address indexed owner,
        address issuer,
        address obligor,
        uint256 orderId,
        address currency,
        uint256 value
    );
    event ReceiptDetails(uint256 indexed assetId, uint256 quantity, bytes32 unit, bytes32 descriptionHash);
    event AssetConfirmed(uint256 indexed assetId, address indexed by);
    event AssetLocked(uint256 indexed assetId, uint256 indexed loanId, uint256 pledgedQuantity);
    event AssetUnlocked(uint256 indexed assetId, uint256 indexed loanId);
    event PledgeReleased(uint256 indexed assetId, uint256 indexed loanId, uint256 quantity, uint256 pledgedQuantity);
    /// `value` is the receipt's appraised value after the withdrawal: it shrinks with the goods.
    event GoodsWithdrawn(uint256 indexed assetId, uint256 quantity, uint256 remaining, uint256 value);
    event AssetSeized(uint256 indexed assetId, uint256 indexed loanId, address indexed to);
    event AssetRetired(uint256 indexed assetId, address indexed by);

    error AssetNotFound(uint256 assetId);
    error AssetAlreadyRegistered(bytes32 businessKey, uint256 assetId);
    error AssetWrongStatus(uint256 assetId, AssetStatus status);
    error AssetIsLocked(uint256 assetId, uint256 loanId);
    error AssetNotLockedBy(uint256 assetId, uint256 loanId);
    error AssetNotDebtor(uint256 assetId, address caller);
    error AssetNotSellerOfOrder(uint256 orderId, address caller);
    error AssetNotBuyerOfOrder(uint256 orderId, address caller);
    error AssetOrderNotInvoiced(uint256 orderId);
    error AssetOrderNotAccepted(uint256 orderId);
    error AssetNotCoreDebtor(address caller);
    error AssetNotWarehouse(address caller);
    error AssetOwnerNotActive(address owner);
    error AssetZeroValue();
    error AssetZeroQuantity();
    error AssetEmptyKey();
    error AssetQuantityTooLarge(uint256 assetId, uint256 requested, uint256 available);
    error AssetNotOwner(uint256 assetId, address caller);
    error AssetUnknownCurrency(address currency);
    /// @notice Values are stored in 96 bits, quantities in 128 and order and loan ids in 64: `value`
    /// is above `max`.
    error AssetOutOfRange(uint256 value, uint256 max);
    /// @notice The goods of `orderId` are already under receipt `receiptId`: while the order's
    /// future-goods right backs a loan they come under one receipt, the one the loan holds.
    error AssetGoodsAlreadyReceipted(uint256 orderId, uint256 receiptId);

    /// @notice The creditor (seller) of an invoiced order registers its receivable on the buyer.
    function registerReceivable(uint256 orderId) external returns (uint256 assetId);
    /// @notice The debtor (active) confirms the receivable on chain: only then is it financeable.
    function confirmReceivable(uint256 assetId) external;
    /// @notice A core enterprise registers its own confirmed payable of an invoiced order; the
    /// supplier owns it.
    function registerPayable(uint256 orderId) external returns (uint256 assetId);
    /// @notice A warehouse issues a receipt for a lot of goods it holds for `owner`.
    /// @dev A receipt for the goods of an order whose future-goods right is locked to a loan is born
    /// locked to that loan (`AssetLocked`, all its goods pledged): it cannot be transferred, retired,
    /// withdrawn or pledged again until the loan converts to it, ends (unlocked with the right) or is
    /// written off (seized with the right).
    function registerWarehouseReceipt(
        address owner,
        bytes32 lotNumber,
        uint256 orderId,
        bytes32 descriptionHash,
        uint256 quantity,
        bytes32 unit,
        address currency,
        uint256 value
    ) external returns (uint256 assetId);
    /// @notice The buyer of an accepted order registers its right to the goods.
    function registerFutureGoods(uint256 orderId) external returns (uint256 assetId);
    /// @notice The warehouse records goods leaving the store (only goods not pledged); the receipt's
    /// value shrinks in proportion (rounded down).
    function withdrawGoods(uint256 assetId, uint256 quantity) external;
    /// @notice The owner withdraws a free asset from financing for good.
    function retire(uint256 assetId) external;

    /// @notice Certificates: a part sold to `financier` becomes an asset it owns (obligor: the core),
    /// keyed by (Certificates, part) and born locked to the part (`lockedBy` = `partId`).
    function registerCertificatePart(
        uint256 partId,
        address financier,
        address core,
        uint256 orderId,
        address currency,
        uint256 value
    ) external returns (uint256 assetId);
    /// @notice Certificates: a financed part fully redeemed is unlocked and retired.
    function releaseCertificatePart(uint256 assetId, uint256 partId) external;

    /// @notice LoanBook: lock an asset to a loan, pledging all its goods (receipts).
    /// @dev A future-goods right locks only while its order is accepted and not yet shipped; a receipt
    /// for an order's goods locks only to the loan holding that order's future-goods right, if any.
    function lock(uint256 assetId, uint256 loanId) external;
    /// @notice LoanBook: release part of the pledged goods as a loan is repaid.
    function releasePledge(uint256 assetId, uint256 loanId, uint256 quantity) external;
    /// @notice LoanBook: unlock at the end of a loan; `retireIt` consumes the asset (paid claims).
    /// @dev Unlocking a future-goods right also unlocks the receipt born locked to the same loan.
    function unlock(uint256 assetId, uint256 loanId, bool retireIt) external;
    /// @notice LoanBook: hand the asset to the lender on write-off, unlocked.
    /// @dev Seizing a future-goods right also seizes the receipt born locked to the same loan.
    function seize(uint256 assetId, uint256 loanId, address to) external;

    function getAsset(uint256 assetId) external view returns (Asset memory);
    /// @notice An asset's owner, kind, status, order, obligor, currency, value, goods and lock, without
    /// its issuer, receipt details and business key: five storage reads for the platform's contracts.
    function assetHead(uint256 assetId) external view returns (AssetHead memory);
    function assetByKey(bytes32 businessKey) external view returns (uint256);
    function assetCount() external view returns (uint256);
    /// @notice The business key of an invoice: the creditor (the order's seller) issues its own
    /// numbers, so the key is (creditor, debtor, number).
    function invoiceKey(address creditor, address debtor, bytes32 invoiceNumber) external pure returns (bytes32);
    function lotKey(address warehouse, bytes32 lotNumber) external pure returns (bytes32);
    function futureGoodsKey(uint256 orderId) external pure returns (bytes32);
    function certificatePartKey(address certificates, uint256 partId) external pure returns (bytes32);
}
