// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IMemberRegistry} from "./interfaces/IMemberRegistry.sol";
import {IOrderBook} from "./interfaces/IOrderBook.sol";
import {IAssetRegistry} from "./interfaces/IAssetRegistry.sol";

/// @title AssetRegistry
/// @notice Financeable assets as ERC-721 tokens, keyed by business identity and locked while
/// pledged. See {IAssetRegistry}.
/// @dev Business keys: an invoice is keyed by (creditor, debtor, invoice number) whether it is
/// registered as a receivable by the creditor or as a payable by the debtor, so one invoice is one
/// asset across the receivable and payable products, and one supplier's invoice numbers cannot be
/// taken by another supplier of the same debtor. A lot is keyed by (warehouse, lot number), a future-goods
/// right by its order. A receipt for the goods of an order whose future-goods right backs a loan is
/// born locked to that loan, and follows the right when the loan lets it go or seizes it.
contract AssetRegistry is IAssetRegistry, ERC721, AccessControl {
    /// @notice Wires this contract to the other platform contracts (the roles below that name a contract),
    /// held by the deployer only while it deploys: it is its own admin and the deployer renounces it at
    /// the end of the deployment, so from then on nobody (neither the operator nor the council) can grant
    /// or revoke those roles.
    bytes32 public constant WIRING_ROLE = keccak256("WIRING_ROLE");
    /// @notice The LoanBook: locks, releases, unlocks and seizes assets.
    bytes32 public constant LOCKER_ROLE = keccak256("LOCKER_ROLE");
    /// @notice The Certificates contract: registers a financed certificate part born locked, releases it.
    bytes32 public constant CERTIFICATES_ROLE = keccak256("CERTIFICATES_ROLE");

    IMemberRegistry public immutable registry;
    IOrderBook public immutable orders;

    /// An asset as stored: the fields of {IAssetRegistry.Asset} packed into three slots written at
    /// registration (ids in 64 bits, values in 96, quantities in 128, checked at the boundary), the
    /// goods of a receipt in a fourth and its details after. The business key is kept once, in
    /// `_byKey`; `getAsset` derives it again from the order (invoices, future goods) or reads the
    /// lot's key, kept for receipts only (a lot number is nowhere else).
    struct StoredAsset {
        // slot 0
        AssetKind kind;
        AssetStatus status;
        uint64 orderId;
        address issuer;
        // slot 1
        address obligor;
        uint96 value;
        // slot 2
        address currency;
        uint64 lockedBy;
        // slot 3 (receipts)
        uint128 quantity;
        uint128 pledgedQuantity;
        // receipts only
        bytes32 unit;
        bytes32 descriptionHash;
        bytes32 lotKey;
    }

    mapping(uint256 => StoredAsset) private _assets;
    mapping(bytes32 => uint256) private _byKey;
    uint256 private _assetCount;
    /// the receipt born locked to the loan holding an order's future-goods right (a receipt needs the
    /// order shipped, a right locks only before: no receipt exists for a right when it is locked)
    mapping(uint256 => uint256) private _goodsReceipt;

    constructor(IMemberRegistry registry_, IOrderBook orders_, address operator) ERC721("VSCM Asset", "VASSET") {
        registry = registry_;
        orders = orders_;
        _grantRole(DEFAULT_ADMIN_ROLE, operator);
        _grantRole(WIRING_ROLE, operator);
        _setRoleAdmin(WIRING_ROLE, WIRING_ROLE);
        _setRoleAdmin(LOCKER_ROLE, WIRING_ROLE);
        _setRoleAdmin(CERTIFICATES_ROLE, WIRING_ROLE);
    }

    // ---------------------------------------------------------------- registration

    /// @inheritdoc IAssetRegistry
    function registerReceivable(uint256 orderId) external returns (uint256 assetId) {
        (address buyer, address seller, IOrderBook.OrderStatus status, address currency, uint256 due, bytes32 number) =
            orders.orderClaim(orderId);
        if (seller != msg.sender) revert AssetNotSellerOfOrder(orderId, msg.sender);
        _requireActive(msg.sender);
        if (status != IOrderBook.OrderStatus.Invoiced) revert AssetOrderNotInvoiced(orderId);
        assetId = _register(
            AssetKind.Receivable, AssetStatus.Registered, invoiceKey(msg.sender, buyer, number), msg.sender, buyer,
            orderId, currency, due
        );
    }

    /// @inheritdoc IAssetRegistry
    function confirmReceivable(uint256 assetId) external {
        StoredAsset storage a = _asset(assetId);
        if (a.kind != AssetKind.Receivable || a.obligor != msg.sender) revert AssetNotDebtor(assetId, msg.sender);
        _requireActive(msg.sender);
        if (a.status != AssetStatus.Registered) revert AssetWrongStatus(assetId, a.status);
        a.status = AssetStatus.Confirmed;
        emit AssetConfirmed(assetId, msg.sender);
    }

    /// @inheritdoc IAssetRegistry
    function registerPayable(uint256 orderId) external returns (uint256 assetId) {
        (address buyer, address seller, IOrderBook.OrderStatus status, address currency, uint256 due, bytes32 number) =
            orders.orderClaim(orderId);
        if (buyer != msg.sender) revert AssetNotBuyerOfOrder(orderId, msg.sender);
        _requireActive(msg.sender);
        // A payable is the core enterprise's own word: only a core debtor can confirm one.
        if (registry.getMember(msg.sender).tier != IMemberRegistry.Tier.Core) revert AssetNotCoreDebtor(msg.sender);
        if (status != IOrderBook.OrderStatus.Invoiced) revert AssetOrderNotInvoiced(orderId);
        assetId = _register(
            AssetKind.Payable, AssetStatus.Confirmed, invoiceKey(seller, buyer, number), seller, buyer, orderId, currency,
            due
        );
        emit AssetConfirmed(assetId, msg.sender);
    }

    /// @inheritdoc IAssetRegistry
    function registerWarehouseReceipt(
        address owner,
        bytes32 lotNumber,
        uint256 orderId,
        bytes32 descriptionHash,
        uint256 quantity,
        bytes32 unit,
        address currency,
        uint256 value
    ) external returns (uint256 assetId) {
        if (!registry.isActive(msg.sender, IMemberRegistry.Role.Warehouse)) revert AssetNotWarehouse(msg.sender);
        if (lotNumber == bytes32(0)) revert AssetEmptyKey();
        if (quantity == 0) revert AssetZeroQuantity();
        if (quantity > type(uint128).max) revert AssetOutOfRange(quantity, type(uint128).max);
        if (value == 0) revert AssetZeroValue();
        if (!orders.isCurrency(currency)) revert AssetUnknownCurrency(currency);
        uint256 rightLoan;
        if (orderId != 0) {
            // Goods of an order are received by the order's destination warehouse for its buyer.
            (address buyer,,, address warehouse,) = orders.orderParties(orderId);
            if (warehouse != msg.sender) revert AssetNotWarehouse(msg.sender);
            if (buyer != owner) revert AssetNotBuyerOfOrder(orderId, owner);
            rightLoan = _assets[_byKey[futureGoodsKey(orderId)]].lockedBy;
            // The goods of a financed order come under one receipt, which its loan holds.
            uint256 prior = _goodsReceipt[orderId];
            if (rightLoan != 0 && prior != 0) revert AssetGoodsAlreadyReceipted(orderId, prior);
        }
        bytes32 key = lotKey(msg.sender, lotNumber);
        assetId = _register(AssetKind.WarehouseReceipt, AssetStatus.Confirmed, key, owner, msg.sender, orderId, currency, value);
        StoredAsset storage a = _assets[assetId];
        // The range check above keeps the quantity within 128 bits.
        a.quantity = uint128(quantity);
        a.unit = unit;
        a.descriptionHash = descriptionHash;
        a.lotKey = key;
        emit ReceiptDetails(assetId, quantity, unit, descriptionHash);
        emit AssetConfirmed(assetId, msg.sender);
        if (rightLoan != 0) {
            _goodsReceipt[orderId] = assetId;
            // Goods whose right backs a loan are born locked to that loan (after the mint, which a lock
            // would refuse): they cannot be moved, retired, released or pledged again while it runs.
            // A loan id that locked the right fits 64 bits (checked by `lock`).
            a.lockedBy = uint64(rightLoan);
            a.pledgedQuantity = uint128(quantity);
            emit AssetLocked(assetId, rightLoan, quantity);
        }
    }

    /// @inheritdoc IAssetRegistry
    function registerFutureGoods(uint256 orderId) external returns (uint256 assetId) {
        (address buyer, address seller, IOrderBook.OrderStatus status, address currency, uint256 amount) =
            orders.orderHead(orderId);
        if (buyer != msg.sender) revert AssetNotBuyerOfOrder(orderId, msg.sender);
        _requireActive(msg.sender);
        // The seller's acceptance of the order is its commitment to deliver.
        if (status != IOrderBook.OrderStatus.Accepted) revert AssetOrderNotAccepted(orderId);
        assetId = _register(
            AssetKind.FutureGoods, AssetStatus.Confirmed, futureGoodsKey(orderId), msg.sender, seller, orderId, currency,
            amount
        );
        emit AssetConfirmed(assetId, msg.sender);
    }

    /// @inheritdoc IAssetRegistry
    function withdrawGoods(uint256 assetId, uint256 quantity) external {
        StoredAsset storage a = _asset(assetId);
        if (a.kind != AssetKind.WarehouseReceipt || a.obligor != msg.sender) revert AssetNotWarehouse(msg.sender);
        _requireActive(msg.sender);
        if (a.status != AssetStatus.Confirmed) revert AssetWrongStatus(assetId, a.status);
        if (quantity == 0) revert AssetZeroQuantity();
        // Pledged goods stay in the store until the loan releases them.
        uint256 free = a.quantity - a.pledgedQuantity;
        if (quantity > free) revert AssetQuantityTooLarge(assetId, quantity, free);
        uint256 remaining = a.quantity - quantity;
        // The goods that leave take their share of the appraised value with them (rounded against the
        // receipt), so the receipt never backs more than the goods still in store. Both shrink: they
        // stay within their 96 and 128 bits.
        a.value = uint96(uint256(a.value) * remaining / a.quantity);
        a.quantity = uint128(remaining);
        emit GoodsWithdrawn(assetId, quantity, remaining, a.value);
    }

    /// @inheritdoc IAssetRegistry
    function retire(uint256 assetId) external {
        StoredAsset storage a = _asset(assetId);
        if (ownerOf(assetId) != msg.sender) revert AssetNotOwner(assetId, msg.sender);
        _requireActive(msg.sender);
        if (a.lockedBy != 0) revert AssetIsLocked(assetId, a.lockedBy);
        if (a.status == AssetStatus.Retired) revert AssetWrongStatus(assetId, a.status);
        a.status = AssetStatus.Retired;
        emit AssetRetired(assetId, msg.sender);
    }

    /// @inheritdoc IAssetRegistry
    function registerCertificatePart(
        uint256 partId,
        address financier,
        address core,
        uint256 orderId,
        address currency,
        uint256 value
    ) external onlyRole(CERTIFICATES_ROLE) returns (uint256 assetId) {
        if (partId > type(uint64).max) revert AssetOutOfRange(partId, type(uint64).max);
        bytes32 key = certificatePartKey(msg.sender, partId);
        assetId = _register(AssetKind.CertificatePart, AssetStatus.Confirmed, key, financier, core, orderId, currency, value);
        // Kept as is, like a lot's: the part id it comes from is not on the asset once it is released.
        _assets[assetId].lotKey = key;
        emit AssetConfirmed(assetId, msg.sender);
        // Born locked to its part (after the mint, which a lock would refuse): one part, one pledge.
        _assets[assetId].lockedBy = uint64(partId);
        emit AssetLocked(assetId, partId, 0);
    }

    /// @inheritdoc IAssetRegistry
    function releaseCertificatePart(uint256 assetId, uint256 partId) external onlyRole(CERTIFICATES_ROLE) {
        StoredAsset storage a = _lockedTo(assetId, partId);
        if (a.kind != AssetKind.CertificatePart || a.issuer != msg.sender) revert AssetNotLockedBy(assetId, partId);
        _free(assetId, a, partId);
        a.status = AssetStatus.Retired;
        emit AssetRetired(assetId, msg.sender);
    }

    // ---------------------------------------------------------------- locks (LoanBook)

    /// @inheritdoc IAssetRegistry
    function lock(uint256 assetId, uint256 loanId) external onlyRole(LOCKER_ROLE) {
        if (loanId > type(uint64).max) revert AssetOutOfRange(loanId, type(uint64).max);
        StoredAsset storage a = _asset(assetId);
        // One asset, one active pledge.
        if (a.lockedBy != 0) revert AssetIsLocked(assetId, a.lockedBy);
        if (a.status != AssetStatus.Confirmed) revert AssetWrongStatus(assetId, a.status);
        if (a.kind == AssetKind.FutureGoods) {
            // A right to goods is financeable only until they ship: from then on they become a receipt.
            if (orders.orderStatus(a.orderId) != IOrderBook.OrderStatus.Accepted) {
                revert AssetOrderNotAccepted(a.orderId);
            }
        } else if (a.kind == AssetKind.WarehouseReceipt && a.orderId != 0) {
            // The goods of an order whose right backs a loan are that loan's: only it takes the receipt.
            uint256 rightId = _byKey[futureGoodsKey(a.orderId)];
            uint256 rightLoan = _assets[rightId].lockedBy;
            if (rightLoan != 0 && rightLoan != loanId) revert AssetIsLocked(rightId, rightLoan);
        }
        // The range check above keeps the loan id within 64 bits.
        a.lockedBy = uint64(loanId);
        // A free asset has nothing pledged; a claim has no goods (no write).
        if (a.quantity != 0) a.pledgedQuantity = a.quantity;
        emit AssetLocked(assetId, loanId, a.quantity);
    }

    /// @inheritdoc IAssetRegistry
    function releasePledge(uint256 assetId, uint256 loanId, uint256 quantity) external onlyRole(LOCKER_ROLE) {
        StoredAsset storage a = _lockedTo(assetId, loanId);
        if (quantity > a.pledgedQuantity) revert AssetQuantityTooLarge(assetId, quantity, a.pledgedQuantity);
        // At most the pledged quantity, which fits 128 bits.
        a.pledgedQuantity -= uint128(quantity);
        emit PledgeReleased(assetId, loanId, quantity, a.pledgedQuantity);
    }

    /// @inheritdoc IAssetRegistry
    function unlock(uint256 assetId, uint256 loanId, bool retireIt) external onlyRole(LOCKER_ROLE) {
        StoredAsset storage a = _lockedTo(assetId, loanId);
        _free(assetId, a, loanId);
        if (retireIt) {
            a.status = AssetStatus.Retired;
            emit AssetRetired(assetId, msg.sender);
        }
        // The receipt born locked to the loan through this right is let go with it (a conversion locks
        // it again at once).
        _freeBornLocked(a, loanId, address(0));
    }

    /// @inheritdoc IAssetRegistry
    function seize(uint256 assetId, uint256 loanId, address to) external onlyRole(LOCKER_ROLE) {
        StoredAsset storage a = _lockedTo(assetId, loanId);
        _free(assetId, a, loanId);
        _seize(assetId, loanId, to);
        // A written-off right hands over the goods already received for it too.
        _freeBornLocked(a, loanId, to);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IAssetRegistry
    function getAsset(uint256 assetId) external view returns (Asset memory asset) {
        StoredAsset storage a = _assets[assetId];
        asset = Asset({
            kind: a.kind,
            status: a.status,
            orderId: a.orderId,
            issuer: a.issuer,
            obligor: a.obligor,
            currency: a.currency,
            value: a.value,
            quantity: a.quantity,
            pledgedQuantity: a.pledgedQuantity,
            unit: a.unit,
            descriptionHash: a.descriptionHash,
            businessKey: _businessKey(a),
            lockedBy: a.lockedBy
        });
    }

    /// @inheritdoc IAssetRegistry
    function assetHead(uint256 assetId) external view returns (AssetHead memory) {
        StoredAsset storage a = _assets[assetId];
        return AssetHead({
            owner: _ownerOf(assetId),
            kind: a.kind,
            status: a.status,
            orderId: a.orderId,
            obligor: a.obligor,
            currency: a.currency,
            value: a.value,
            quantity: a.quantity,
            pledgedQuantity: a.pledgedQuantity,
            lockedBy: a.lockedBy
        });
    }

    /// @inheritdoc IAssetRegistry
    function assetByKey(bytes32 businessKey) external view returns (uint256) {
        return _byKey[businessKey];
    }

    /// @inheritdoc IAssetRegistry
    function assetCount() external view returns (uint256) {
        return _assetCount;
    }

    /// @inheritdoc IAssetRegistry
    function invoiceKey(address creditor, address debtor, bytes32 invoiceNumber) public pure returns (bytes32) {
        return keccak256(abi.encode("invoice", creditor, debtor, invoiceNumber));
    }

    /// @inheritdoc IAssetRegistry
    function lotKey(address warehouse, bytes32 lotNumber) public pure returns (bytes32) {
        return keccak256(abi.encode("lot", warehouse, lotNumber));
    }

    /// @inheritdoc IAssetRegistry
    function futureGoodsKey(uint256 orderId) public pure returns (bytes32) {
        return keccak256(abi.encode("future-goods", orderId));
    }

    /// @inheritdoc IAssetRegistry
    function certificatePartKey(address certificates, uint256 partId) public pure returns (bytes32) {
        return keccak256(abi.encode("certificate-part", certificates, partId));
    }

    function supportsInterface(bytes4 interfaceId) public view override(ERC721, AccessControl) returns (bool) {
        return super.supportsInterface(interfaceId);
    }

    // ---------------------------------------------------------------- internal

    /// The business key an asset was registered under: an invoice's from its order (whose number
    /// never changes once invoiced), a future-goods right's from its order id, a lot's and a certificate
    /// part's as kept.
    function _businessKey(StoredAsset storage a) internal view returns (bytes32) {
        if (a.status == AssetStatus.None) return bytes32(0);
        if (a.kind == AssetKind.WarehouseReceipt || a.kind == AssetKind.CertificatePart) return a.lotKey;
        if (a.kind == AssetKind.FutureGoods) return futureGoodsKey(a.orderId);
        (address buyer, address seller,,,, bytes32 number) = orders.orderClaim(a.orderId);
        return invoiceKey(seller, buyer, number);
    }

    function _register(
        AssetKind kind,
        AssetStatus status,
        bytes32 key,
        address owner,
        address obligor,
        uint256 orderId,
        address currency,
        uint256 value
    ) internal returns (uint256 assetId) {
        // The same real asset cannot be registered twice, under any kind, by anyone.
        if (_byKey[key] != 0) revert AssetAlreadyRegistered(key, _byKey[key]);
        if (value == 0) revert AssetZeroValue();
        if (value > type(uint96).max) revert AssetOutOfRange(value, type(uint96).max);
        // Order ids come from the OrderBook's counter (the order was read above): they fit 64 bits.
        if (orderId > type(uint64).max) revert AssetOutOfRange(orderId, type(uint64).max);
        // Every register function checked the caller is active: an owner that is the caller is.
        if (owner != msg.sender && !registry.isActiveMember(owner)) revert AssetOwnerNotActive(owner);
        assetId = ++_assetCount;
        _byKey[key] = assetId;
        // Three whole slots, each written once; the range checks above keep the narrow fields exact.
        StoredAsset storage a = _assets[assetId];
        (a.kind, a.status, a.orderId, a.issuer) = (kind, status, uint64(orderId), msg.sender);
        (a.obligor, a.value) = (obligor, uint96(value));
        a.currency = currency;
        emit AssetRegistered(assetId, kind, key, owner, msg.sender, obligor, orderId, currency, value);
        _mint(owner, assetId);
    }

    function _asset(uint256 assetId) internal view returns (StoredAsset storage a) {
        a = _assets[assetId];
        if (a.status == AssetStatus.None) revert AssetNotFound(assetId);
    }

    function _lockedTo(uint256 assetId, uint256 loanId) internal view returns (StoredAsset storage a) {
        a = _asset(assetId);
        if (a.lockedBy != loanId || loanId == 0) revert AssetNotLockedBy(assetId, loanId);
    }

    /// Lets go of an asset's lock (and of the goods still pledged under it).
    function _free(uint256 assetId, StoredAsset storage a, uint256 loanId) internal {
        a.lockedBy = 0;
        if (a.pledgedQuantity != 0) a.pledgedQuantity = 0;
        emit AssetUnlocked(assetId, loanId);
    }

    /// An unlocked asset goes to `to` (the LoanBook's seizure: it moves even from a restricted owner).
    function _seize(uint256 assetId, uint256 loanId, address to) internal {
        _transfer(ownerOf(assetId), to, assetId);
        emit AssetSeized(assetId, loanId, to);
    }

    /// The receipt born locked to a right's loan is let go with the right (and seized with it to `to`,
    /// unless `to` is zero).
    function _freeBornLocked(StoredAsset storage right, uint256 loanId, address to) internal {
        uint256 receiptId = _bornLocked(right, loanId);
        if (receiptId == 0) return;
        _free(receiptId, _assets[receiptId], loanId);
        if (to != address(0)) _seize(receiptId, loanId, to);
    }

    /// The receipt for the goods of a future-goods right, while it is locked to the right's loan.
    function _bornLocked(StoredAsset storage right, uint256 loanId) internal view returns (uint256 receiptId) {
        if (right.kind != AssetKind.FutureGoods) return 0;
        receiptId = _goodsReceipt[right.orderId];
        if (receiptId != 0 && _assets[receiptId].lockedBy != loanId) receiptId = 0;
    }

    function _requireActive(address who) internal view {
        IMemberRegistry.Status s = registry.statusOf(who);
        if (s != IMemberRegistry.Status.Active) revert IMemberRegistry.MemberNotActive(who, s);
    }

    /// A locked asset does not move, except when the LoanBook seizes it (unlocked first). Assets move
    /// only to active members, and only from active members unless seized (`auth` is zero then).
    function _update(address to, uint256 tokenId, address auth) internal override returns (address) {
        StoredAsset storage a = _assets[tokenId];
        if (a.lockedBy != 0) revert AssetIsLocked(tokenId, a.lockedBy);
        address from = _ownerOf(tokenId);
        if (from != address(0)) {
            if (!registry.isActiveMember(to)) revert AssetOwnerNotActive(to);
            if (auth != address(0) && !registry.isActiveMember(from)) revert AssetOwnerNotActive(from);
        }
        return super._update(to, tokenId, auth);
    }
}
