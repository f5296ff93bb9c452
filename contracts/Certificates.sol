// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IMemberRegistry} from "./interfaces/IMemberRegistry.sol";
import {IOrderBook} from "./interfaces/IOrderBook.sol";
import {IAssetRegistry} from "./interfaces/IAssetRegistry.sol";
import {IRiskControl} from "./interfaces/IRiskControl.sol";
import {ICertificates} from "./interfaces/ICertificates.sol";

/// @title Certificates
/// @notice Splittable payable certificates. See {ICertificates}.
/// @dev No admin and nothing to wire: the contracts it calls are fixed at construction. It holds
/// OrderBook's and AssetRegistry's CERTIFICATES_ROLE, RiskControl's DETECTOR_ROLE and is a payment agent
/// of every PlatformCash (it pays claims to any holder, and the core pays in even when restricted).
contract Certificates is ICertificates, ERC1155 {
    using SafeERC20 for IERC20;

    /// @notice RiskControl indicator of a certificate not paid in full at maturity.
    uint16 public constant LATE_INDICATOR = 501;
    /// @notice Severity of that alert (warns nothing by itself: it is a chain alert).
    uint8 public constant LATE_SEVERITY = 3;

    IMemberRegistry public immutable registry;
    IOrderBook public immutable orders;
    IAssetRegistry public immutable assets;
    IRiskControl public immutable risk;

    mapping(uint256 => Certificate) private _certificates;
    mapping(uint256 => Part) private _parts;
    mapping(uint256 => Offer) private _offers;
    mapping(uint256 => uint256) private _byOrder;
    /// core => chain => admitted to its certificates (beside each certificate's own chain)
    mapping(address => mapping(uint64 => bool)) private _admitted;
    uint256 private _certificateCount;
    uint256 private _partCount;

    constructor(IMemberRegistry registry_, IOrderBook orders_, IAssetRegistry assets_, IRiskControl risk_) ERC1155("") {
        registry = registry_;
        orders = orders_;
        assets = assets_;
        risk = risk_;
    }

    // ---------------------------------------------------------------- issue

    /// @inheritdoc ICertificates
    function issue(uint256 orderId, uint64 maturity) external returns (uint256 certificateId, uint256 partId) {
        IOrderBook.Order memory o = orders.getOrder(orderId);
        if (o.buyer != msg.sender) revert CertificateNotBuyer(orderId, msg.sender);
        // A certificate carries the core's credit: only an active core enterprise issues one.
        if (!registry.isActiveMember(msg.sender) || registry.getMember(msg.sender).tier != IMemberRegistry.Tier.Core) {
            revert CertificateNotCore(msg.sender);
        }
        if (o.status != IOrderBook.OrderStatus.Invoiced) revert CertificateOrderWrongStatus(orderId, o.status);
        if (_byOrder[orderId] != 0) revert CertificateAlreadyIssued(orderId, _byOrder[orderId]);
        _requireInvoiceFree(orderId, o);
        if (maturity <= block.timestamp) revert CertificateBadMaturity(maturity, uint64(block.timestamp));
        // The first holder is the order's seller, which may be in another chain (an order across chains): the
        // certificate goes there only if the core admits that chain, as for every later payment.
        uint64 sellerChain = registry.chainOf(o.seller);
        if (sellerChain != o.chainId && !_admitted[msg.sender][sellerChain]) {
            revert CertificateChainNotAdmitted(o.seller, sellerChain, msg.sender);
        }
        uint256 face = o.amount - o.prepaid;
        if (face == 0) revert CertificateNothingDue(orderId);
        certificateId = ++_certificateCount;
        partId = ++_partCount;
        _byOrder[orderId] = certificateId;
        _certificates[certificateId] = Certificate({
            core: msg.sender,
            chainId: o.chainId,
            maturity: maturity,
            currency: o.currency,
            orderId: orderId,
            face: face,
            paidIn: 0,
            redeemed: 0,
            rootPart: partId
        });
        Part storage p = _parts[partId];
        p.certificateId = certificateId;
        p.orderId = orderId;
        p.holder = o.seller;
        p.value = face;
        emit CertificateIssued(certificateId, msg.sender, orderId, partId, o.seller, o.currency, face, maturity, o.chainId);
        _mintPart(o.seller, partId, face);
        // The certificate pays the order: its settlement asks nothing more.
        orders.recordCertificatePayment(orderId, face);
    }

    // ---------------------------------------------------------------- admitted chains

    /// @inheritdoc ICertificates
    function admitChain(uint64 chainId) external {
        if (!registry.isActiveMember(msg.sender) || registry.getMember(msg.sender).tier != IMemberRegistry.Tier.Core) {
            revert CertificateNotCore(msg.sender);
        }
        IMemberRegistry.SupplyChain memory chain = registry.getChain(chainId);
        if (chain.core == address(0) || chain.evicted) revert CertificateChainNotLive(chainId);
        if (_admitted[msg.sender][chainId] || registry.chainOf(msg.sender) == chainId) {
            revert CertificateAdmissionUnchanged(msg.sender, chainId, true);
        }
        _admitted[msg.sender][chainId] = true;
        emit CertificateChainAdmitted(msg.sender, chainId);
    }

    /// @inheritdoc ICertificates
    function dismissChain(uint64 chainId) external {
        // Dismissing only narrows where the caller's certificates go: no status check.
        if (!_admitted[msg.sender][chainId]) revert CertificateAdmissionUnchanged(msg.sender, chainId, false);
        delete _admitted[msg.sender][chainId];
        emit CertificateChainDismissed(msg.sender, chainId);
    }

    // ---------------------------------------------------------------- split and pay

    /// @inheritdoc ICertificates
    function split(uint256 partId, uint256 amount) external returns (uint256 childId) {
        (Part storage p, Certificate storage c) = _movable(partId, amount);
        _requireMemberOf(msg.sender, c);
        childId = _split(p, partId, msg.sender, 0, amount);
    }

    /// @inheritdoc ICertificates
    function pay(uint256 partId, uint256 orderId, uint256 amount) external returns (uint256 childId) {
        (Part storage p, Certificate storage c) = _movable(partId, amount);
        IOrderBook.Order memory o = orders.getOrder(orderId);
        if (o.buyer != msg.sender) revert CertificateNotBuyer(orderId, msg.sender);
        if (o.currency != c.currency) revert CertificateWrongCurrency(orderId, o.currency, c.currency);
        // Certificates circulate among the active members of the core's chain and of the chains it admits.
        _requireMemberOf(msg.sender, c);
        _requireMemberOf(o.seller, c);
        // An order is paid by certificate once its seller committed to it, and before its invoice
        // becomes a financeable claim (whose value must not shrink behind its lender's back).
        if (o.status < IOrderBook.OrderStatus.Accepted || o.status > IOrderBook.OrderStatus.Invoiced) {
            revert CertificateOrderWrongStatus(orderId, o.status);
        }
        if (o.status == IOrderBook.OrderStatus.Invoiced) _requireInvoiceFree(orderId, o);
        childId = _split(p, partId, o.seller, orderId, amount);
        // OrderBook refuses more than the order still asks (`OrderPrepaymentTooLarge`).
        orders.recordCertificatePayment(orderId, amount);
    }

    // ---------------------------------------------------------------- finance

    /// @inheritdoc ICertificates
    function offer(uint256 partId, address financier, uint256 price) external {
        (Part storage p,) = _movable(partId, 0);
        if (!registry.isActive(financier, IMemberRegistry.Role.Financier)) revert CertificateNotFinancier(financier);
        if (price == 0 || price > p.value) revert CertificateBadPrice(partId, price, p.value);
        _offers[partId] = Offer({financier: financier, price: price, value: p.value});
        emit PartOffered(partId, financier, price, p.value);
    }

    /// @inheritdoc ICertificates
    function acceptOffer(uint256 partId) external returns (uint256 assetId) {
        Offer memory f = _offers[partId];
        if (f.financier != msg.sender || f.financier == address(0)) revert CertificateNoOffer(partId, msg.sender);
        Part storage p = _part(partId);
        Certificate storage c = _certificates[p.certificateId];
        if (p.assetId != 0) revert CertificatePartLocked(partId, p.assetId);
        if (c.paidIn != 0) revert CertificateInRedemption(p.certificateId, c.paidIn);
        if (p.value != f.value) revert CertificateOfferStale(partId, f.value, p.value);
        if (!registry.isActive(msg.sender, IMemberRegistry.Role.Financier)) revert CertificateNotFinancier(msg.sender);
        address holder = p.holder;
        _requireMemberOf(holder, c);
        delete _offers[partId];
        p.financier = msg.sender;
        p.price = f.price;
        // One part, one pledge: the part becomes an AssetRegistry asset of the financier, born locked to
        // this part, so it cannot be split, paid on or financed again.
        assetId = assets.registerCertificatePart(partId, msg.sender, c.core, c.orderId, c.currency, p.value);
        p.assetId = assetId;
        emit PartFinanced(partId, msg.sender, holder, f.price, assetId);
        IERC20(c.currency).safeTransferFrom(msg.sender, holder, f.price);
    }

    // ---------------------------------------------------------------- redeem

    /// @inheritdoc ICertificates
    function payIn(uint256 certificateId, uint256 amount) external {
        Certificate storage c = _certificate(certificateId);
        // The core pays what it owes whatever its status: no activity check here.
        if (msg.sender != c.core) revert CertificateNotCore(msg.sender);
        uint256 due = c.face - c.paidIn;
        if (amount == 0 || amount > due) revert CertificateBadPayIn(certificateId, amount, due);
        c.paidIn += amount;
        emit CertificatePaidIn(certificateId, msg.sender, amount, c.paidIn);
        IERC20(c.currency).safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc ICertificates
    function claim(uint256 partId) external returns (uint256 amount) {
        Part storage p = _part(partId);
        Certificate storage c = _certificates[p.certificateId];
        amount = _claimable(p, c);
        if (amount == 0) revert CertificateNothingToClaim(partId);
        p.claimed += amount;
        c.redeemed += amount;
        address payee = p.financier == address(0) ? p.holder : p.financier;
        emit PartClaimed(partId, p.certificateId, payee, amount, p.claimed);
        _burnPart(p.holder, partId, amount);
        // A financed part paid in full has done its work: its asset is unlocked and retired.
        if (p.assetId != 0 && p.claimed == p.value) assets.releaseCertificatePart(p.assetId, partId);
        IERC20(c.currency).safeTransfer(payee, amount);
    }

    /// @inheritdoc ICertificates
    function flagLate(uint256 certificateId) external returns (uint256 alertId) {
        Certificate storage c = _certificate(certificateId);
        if (block.timestamp <= c.maturity || c.paidIn == c.face) {
            revert CertificateNotLate(certificateId, c.maturity, uint64(block.timestamp));
        }
        // One alert per state of payment: flagging again after a further instalment is new evidence.
        bytes32 evidence = keccak256(abi.encode("certificate-late", address(this), certificateId, c.paidIn));
        alertId = risk.raiseChainAlert(c.chainId, LATE_INDICATOR, LATE_SEVERITY, evidence);
        emit CertificateLate(certificateId, c.core, c.maturity, c.face, c.paidIn, alertId);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc ICertificates
    function getCertificate(uint256 certificateId) external view returns (Certificate memory) {
        return _certificates[certificateId];
    }

    /// @inheritdoc ICertificates
    function getPart(uint256 partId) external view returns (Part memory) {
        return _parts[partId];
    }

    /// @inheritdoc ICertificates
    function getOffer(uint256 partId) external view returns (Offer memory) {
        return _offers[partId];
    }

    /// @inheritdoc ICertificates
    function claimable(uint256 partId) external view returns (uint256) {
        Part storage p = _parts[partId];
        return _claimable(p, _certificates[p.certificateId]);
    }

    /// @inheritdoc ICertificates
    function certificateOfOrder(uint256 orderId) external view returns (uint256) {
        return _byOrder[orderId];
    }

    /// @inheritdoc ICertificates
    function chainAdmitted(address core, uint64 chainId) external view returns (bool) {
        return _admitted[core][chainId];
    }

    /// @inheritdoc ICertificates
    function certificateCount() external view returns (uint256) {
        return _certificateCount;
    }

    /// @inheritdoc ICertificates
    function partCount() external view returns (uint256) {
        return _partCount;
    }

    // ---------------------------------------------------------------- internal

    function _certificate(uint256 certificateId) internal view returns (Certificate storage c) {
        c = _certificates[certificateId];
        if (c.core == address(0)) revert CertificateNotFound(certificateId);
    }

    function _part(uint256 partId) internal view returns (Part storage p) {
        p = _parts[partId];
        if (p.certificateId == 0) revert CertificatePartNotFound(partId);
    }

    /// The caller's own part, free and not in redemption, with `amount` of it available (0: any).
    function _movable(uint256 partId, uint256 amount) internal view returns (Part storage p, Certificate storage c) {
        p = _part(partId);
        if (p.holder != msg.sender) revert CertificateNotHolder(partId, msg.sender);
        if (p.assetId != 0) revert CertificatePartLocked(partId, p.assetId);
        c = _certificates[p.certificateId];
        if (c.paidIn != 0) revert CertificateInRedemption(p.certificateId, c.paidIn);
        if (p.value == 0 || amount > p.value) revert CertificateBadAmount(partId, amount, p.value);
    }

    /// `amount` of part `partId` becomes a new part of `to`, for `orderId` (0: kept aside).
    function _split(Part storage p, uint256 partId, address to, uint256 orderId, uint256 amount)
        internal
        returns (uint256 childId)
    {
        if (amount == 0) revert CertificateBadAmount(partId, amount, p.value);
        // Cannot underflow: `_movable` checked amount <= value.
        unchecked {
            p.value -= amount;
        }
        childId = ++_partCount;
        Part storage child = _parts[childId];
        child.certificateId = p.certificateId;
        child.parent = partId;
        child.orderId = orderId;
        child.holder = to;
        child.value = amount;
        // A split makes a pending offer on the parent stale (its value changed); `acceptOffer` checks it.
        emit PartSplit(p.certificateId, partId, childId, msg.sender, to, orderId, amount);
        _burnPart(msg.sender, partId, amount);
        _mintPart(to, childId, amount);
    }

    /// What a part may claim now: its value's share of what was paid in, less what it claimed.
    function _claimable(Part storage p, Certificate storage c) internal view returns (uint256) {
        if (c.face == 0) return 0;
        // Rounded down, so the parts never claim more than was paid in; at full payment each claims its
        // whole value exactly.
        return p.value * c.paidIn / c.face - p.claimed;
    }

    /// The invoice of `orderId` is not an AssetRegistry asset (a receivable or payable, maybe financed).
    function _requireInvoiceFree(uint256 orderId, IOrderBook.Order memory o) internal view {
        uint256 assetId = assets.assetByKey(assets.invoiceKey(o.seller, o.buyer, o.invoiceNumber));
        if (assetId != 0) revert CertificateInvoiceRegistered(orderId, assetId);
    }

    /// `who` is an active member of the certificate's chain or of a chain its core admits (one mapping read).
    function _requireMemberOf(address who, Certificate storage c) internal view {
        if (!registry.isActiveMember(who)) revert CertificateNotInChain(who, c.chainId);
        uint64 chainId = registry.chainOf(who);
        if (chainId != c.chainId && !_admitted[c.core][chainId]) revert CertificateChainNotAdmitted(who, chainId, c.core);
    }

    /// Mints without the ERC-1155 acceptance call: a part is a record of a claim, not something the
    /// recipient's code may refuse or re-enter on.
    function _mintPart(address to, uint256 partId, uint256 amount) internal {
        (uint256[] memory ids, uint256[] memory values) = _single(partId, amount);
        super._update(address(0), to, ids, values);
    }

    function _burnPart(address from, uint256 partId, uint256 amount) internal {
        (uint256[] memory ids, uint256[] memory values) = _single(partId, amount);
        super._update(from, address(0), ids, values);
    }

    function _single(uint256 id, uint256 value) private pure returns (uint256[] memory ids, uint256[] memory values) {
        ids = new uint256[](1);
        values = new uint256[](1);
        ids[0] = id;
        values[0] = value;
    }

    /// Parts move only through `split` and `pay` (which carry their business reason), never by a transfer.
    function _update(address from, address to, uint256[] memory, uint256[] memory) internal pure override {
        from;
        to;
        revert CertificateTransferDisabled();
    }
}
