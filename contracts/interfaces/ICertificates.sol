// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IOrderBook} from "./IOrderBook.sol";

/// @title Splittable payable certificates: the core enterprise's credit down the tiers
/// @notice A core enterprise turns a confirmed payable (an invoiced order of its chain where it is the
/// buyer) into a certificate: a promise to pay the face value at maturity. The certificate starts as one
/// part held by the order's seller. A holder splits its part to pay an order where it is the buyer (the
/// part goes to the order's seller, and the order asks that much less at settlement) or to keep a piece
/// aside; a holder sells a part at a discount to a financier, and the part is then locked in the
/// AssetRegistry (one part, one pledge): it can no longer be split or paid on. The core pays the face
/// value in (once, or in instalments); each part claims `value × paidIn / face` less what it already
/// claimed, at constant cost whatever the number of parts. Parts are ERC-1155 tokens, one id per part,
/// whose balance is the part's value not yet redeemed; they move only by split and payment (no plain
/// transfers), so every move has its business reason on the record.
/// @dev The split tree is kept as parent pointers (`Part.parent`, `Part.orderId`): who split what to whom
/// for which order, readable from any part back to the root, never walked on chain.
interface ICertificates {
    struct Certificate {
        /// the core enterprise that owes the face value
        address core;
        /// the supply chain of the order (payments stay in it and in the chains its core admits)
        uint64 chainId;
        /// when the face value is due, Unix seconds
        uint64 maturity;
        address currency;
        /// the payable it was issued for
        uint256 orderId;
        uint256 face;
        /// what the core paid in so far (never above `face`)
        uint256 paidIn;
        /// what the parts claimed so far (never above `paidIn`)
        uint256 redeemed;
        /// the first part, held by the order's seller
        uint256 rootPart;
    }

    struct Part {
        uint256 certificateId;
        /// the part it was split from (0 for the root)
        uint256 parent;
        /// the order it paid (the root: the certificate's payable; 0 for a split kept by its holder)
        uint256 orderId;
        address holder;
        /// its value when split off, in the certificate's face units (minor units); what it claims
        /// when the face value is paid in full; only splits before redemption reduce it
        uint256 value;
        /// what it claimed so far (its ERC-1155 balance is `value - claimed`)
        uint256 claimed;
        /// the financier that bought it at a discount (0: not financed); it receives the claims
        address financier;
        /// what the financier paid for it
        uint256 price;
        /// its AssetRegistry token, locked to this part while it is financed (0: not financed)
        uint256 assetId;
    }

    struct Offer {
        address financier;
        uint256 price;
        /// the part's value when offered: a split since makes the offer stale
        uint256 value;
    }

    event CertificateIssued(
        uint256 indexed certificateId,
        address indexed core,
        uint256 indexed orderId,
        uint256 rootPart,
        address seller,
        address currency,
        uint256 face,
        uint64 maturity,
        uint64 chainId
    );
    /// @notice `amount` of `parent` became part `child` of `to`: a payment of `orderId` to its seller,
    /// or (orderId 0, to = from) a piece the holder keeps aside.
    event PartSplit(
        uint256 indexed certificateId,
        uint256 indexed parent,
        uint256 indexed child,
        address from,
        address to,
        uint256 orderId,
        uint256 amount
    );
    event PartOffered(uint256 indexed partId, address indexed financier, uint256 price, uint256 value);
    event PartFinanced(
        uint256 indexed partId, address indexed financier, address indexed holder, uint256 price, uint256 assetId
    );
    event CertificatePaidIn(uint256 indexed certificateId, address indexed payer, uint256 amount, uint256 paidIn);
    event PartClaimed(
        uint256 indexed partId, uint256 indexed certificateId, address indexed payee, uint256 amount, uint256 claimed
    );
    /// @notice Core `core` admits the members of chain `chainId` to its certificates: they may hold, split,
    /// receive and pay its parts as the members of the certificate's own chain do.
    event CertificateChainAdmitted(address indexed core, uint64 indexed chainId);
    /// @notice Core `core` no longer admits chain `chainId`: the parts its members hold stay theirs and keep
    /// their claims, but no longer split, pay or sell, and no new part goes to them.
    event CertificateChainDismissed(address indexed core, uint64 indexed chainId);
    /// @notice The face value was not paid in full at maturity: alert `alertId` went to RiskControl on the
    /// core's chain; the lenders of financed parts follow this event for their parts.
    event CertificateLate(
        uint256 indexed certificateId, address indexed core, uint64 maturity, uint256 face, uint256 paidIn, uint256 alertId
    );

    /// @notice `caller` is not an active core enterprise.
    error CertificateNotCore(address caller);
    /// @notice `caller` is not the buyer of order `orderId`.
    error CertificateNotBuyer(uint256 orderId, address caller);
    /// @notice Order `orderId` is `status`: a certificate is issued for an invoiced order, and a part pays
    /// an order accepted, shipped, delivered or invoiced.
    error CertificateOrderWrongStatus(uint256 orderId, IOrderBook.OrderStatus status);
    /// @notice Order `orderId` already has certificate `certificateId`.
    error CertificateAlreadyIssued(uint256 orderId, uint256 certificateId);
    /// @notice The invoice of order `orderId` is already asset `assetId` of the AssetRegistry (a receivable
    /// or payable, maybe financed): its value must not change behind its lender's back.
    error CertificateInvoiceRegistered(uint256 orderId, uint256 assetId);
    /// @notice Maturity `maturity` is not in the future (`nowTime`).
    error CertificateBadMaturity(uint64 maturity, uint64 nowTime);
    /// @notice Order `orderId` has nothing left to pay.
    error CertificateNothingDue(uint256 orderId);
    error CertificateNotFound(uint256 certificateId);
    error CertificatePartNotFound(uint256 partId);
    /// @notice `caller` does not hold part `partId`.
    error CertificateNotHolder(uint256 partId, address caller);
    /// @notice Part `partId` is financed (locked as asset `assetId`): it cannot be split, paid on or offered.
    error CertificatePartLocked(uint256 partId, uint256 assetId);
    /// @notice `amount` is zero or more than the `available` value of part `partId`.
    error CertificateBadAmount(uint256 partId, uint256 amount, uint256 available);
    /// @notice Certificate `certificateId` is being redeemed (`paidIn` paid in): its parts no longer split,
    /// pay or sell, so that each part's claim stays fixed.
    error CertificateInRedemption(uint256 certificateId, uint256 paidIn);
    /// @notice Order `orderId` is in `orderCurrency`, the certificate in `currency`.
    error CertificateWrongCurrency(uint256 orderId, address orderCurrency, address currency);
    /// @notice `member` is not an active member (of supply chain `chainId`, the certificate's).
    error CertificateNotInChain(address member, uint64 chainId);
    /// @notice `member` is in chain `chainId` (0: none), which is neither the certificate's chain nor a chain
    /// its core `core` admits.
    error CertificateChainNotAdmitted(address member, uint64 chainId, address core);
    /// @notice Chain `chainId` does not exist or was evicted: it cannot be admitted.
    error CertificateChainNotLive(uint64 chainId);
    /// @notice Core `core` already has chain `chainId` in the state asked (`admitted`; its own chain is always
    /// admitted, and cannot be dismissed).
    error CertificateAdmissionUnchanged(address core, uint64 chainId, bool admitted);
    /// @notice `financier` is not an active financier.
    error CertificateNotFinancier(address financier);
    /// @notice Part `partId` has no offer to `caller`.
    error CertificateNoOffer(uint256 partId, address caller);
    /// @notice Part `partId` was offered at value `offered` and is worth `value` now.
    error CertificateOfferStale(uint256 partId, uint256 offered, uint256 value);
    /// @notice `price` is zero or more than part `partId`'s `value`.
    error CertificateBadPrice(uint256 partId, uint256 price, uint256 value);
    /// @notice `amount` is zero or more than the `due` rest of certificate `certificateId`'s face value.
    error CertificateBadPayIn(uint256 certificateId, uint256 amount, uint256 due);
    /// @notice Part `partId` has nothing to claim now.
    error CertificateNothingToClaim(uint256 partId);
    /// @notice Certificate `certificateId` is not late: it matures at `maturity` (now `nowTime`), or is paid.
    error CertificateNotLate(uint256 certificateId, uint64 maturity, uint64 nowTime);
    /// @notice Parts move only by `split` and `pay`, never by an ERC-1155 transfer.
    error CertificateTransferDisabled();

    /// @notice The core enterprise (active, core tier, the buyer) issues a certificate for an invoiced,
    /// unsettled order of its chain, for what the order still asks (`amount - prepaid`), payable at
    /// `maturity`. The root part goes to the order's seller and pays the order: settlement then asks nothing.
    function issue(uint256 orderId, uint64 maturity) external returns (uint256 certificateId, uint256 partId);
    /// @notice The caller (an active core enterprise) admits the members of live chain `chainId` to all its
    /// certificates, beside the certificate's own chain: they may be paid with its parts and pay with them.
    function admitChain(uint64 chainId) external;
    /// @notice The caller (any core, whatever its status) stops admitting chain `chainId`. Parts held in it
    /// keep their claims but no longer split, pay or sell until it is admitted again.
    function dismissChain(uint64 chainId) external;
    /// @notice The holder (active) keeps `amount` of its part aside as a new part it holds.
    function split(uint256 partId, uint256 amount) external returns (uint256 childId);
    /// @notice The holder pays `amount` of its part to the seller of `orderId`, where it is the buyer (same
    /// currency, both active members of the certificate's chain or of a chain its core admits): a new part for the seller, and the order records it
    /// as paid by certificate (`IOrderBook.certificatePaid`), so settlement asks only the rest.
    function pay(uint256 partId, uint256 orderId, uint256 amount) external returns (uint256 childId);
    /// @notice The holder offers its (unlocked) part to `financier` for `price` (at most its value).
    function offer(uint256 partId, address financier, uint256 price) external;
    /// @notice The financier named by the offer buys the part: it pays the price to the holder (approve
    /// this contract on the currency first), the part is locked in the AssetRegistry and its claims go to
    /// the financier.
    function acceptOffer(uint256 partId) external returns (uint256 assetId);
    /// @notice The core pays `amount` of the face value in (even when suspended or evicted: it pays what
    /// it owes). From the first payment on, the certificate's parts no longer split, pay or sell.
    function payIn(uint256 certificateId, uint256 amount) external;
    /// @notice Anyone pays a part's claim (`value × paidIn / face - claimed`) to its payee: its financier,
    /// or its holder. A financed part fully claimed releases its AssetRegistry lock (retired).
    function claim(uint256 partId) external returns (uint256 amount);
    /// @notice Anyone, after maturity, while the face value is not paid in full: alerts RiskControl on the
    /// core's chain (indicator 501). Once per amount paid in (`IRiskControl.RiskAlertRepeated`).
    function flagLate(uint256 certificateId) external returns (uint256 alertId);

    function getCertificate(uint256 certificateId) external view returns (Certificate memory);
    function getPart(uint256 partId) external view returns (Part memory);
    function getOffer(uint256 partId) external view returns (Offer memory);
    /// @notice What `claim(partId)` would pay now.
    function claimable(uint256 partId) external view returns (uint256);
    /// @notice The certificate issued for `orderId` (0: none).
    function certificateOfOrder(uint256 orderId) external view returns (uint256);
    function certificateCount() external view returns (uint256);
    /// @notice Whether core `core` admits chain `chainId` to its certificates (its own chain: false, being
    /// always in).
    function chainAdmitted(address core, uint64 chainId) external view returns (bool);
    function partCount() external view returns (uint256);
}
