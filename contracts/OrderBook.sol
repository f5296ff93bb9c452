// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IMemberRegistry} from "./interfaces/IMemberRegistry.sol";
import {IPlatformCash} from "./interfaces/IPlatformCash.sol";
import {IOrderBook} from "./interfaces/IOrderBook.sol";

/// @title OrderBook
/// @notice Orders, shipments, documents and settlement. See {IOrderBook}.
contract OrderBook is IOrderBook, AccessControl {
    using SafeERC20 for IERC20;

    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    /// @notice Wires this contract to the other platform contracts (the roles below that name a contract),
    /// held by the deployer only while it deploys: it is its own admin and the deployer renounces it at
    /// the end of the deployment, so from then on nobody (neither the operator nor the council) can grant
    /// or revoke those roles.
    bytes32 public constant WIRING_ROLE = keccak256("WIRING_ROLE");
    /// @notice Financing contracts (LoanBook) that may redirect a settlement to a lender.
    bytes32 public constant FINANCE_ROLE = keccak256("FINANCE_ROLE");
    /// @notice The Certificates contract: records the part of an order paid by certificate.
    bytes32 public constant CERTIFICATES_ROLE = keccak256("CERTIFICATES_ROLE");

    IMemberRegistry public immutable registry;

    /// An order as stored: the fields of {IOrderBook.Order} packed into five slots (placement writes
    /// the first three), amounts in 96 bits (checked at `place`), and the payee kept only once
    /// redirected (zero means the seller). `getOrder` returns the full struct.
    struct StoredOrder {
        // slot 0
        address buyer;
        uint64 chainId;
        OrderStatus status;
        OrderStatus statusBeforeDispute;
        bytes2 destinationCountry;
        // slot 1
        address seller;
        uint96 amount;
        // slot 2
        address currency;
        uint64 dueDate;
        bytes3 incoterm;
        bool overseas;
        // slot 3
        address carrier;
        // slot 4
        address warehouse;
        uint96 prepaid;
        // slot 5: zero while the settlement goes to the seller
        address payee;
        // slot 6
        bytes32 invoiceNumber;
    }

    mapping(uint256 => StoredOrder) private _orders;
    mapping(uint256 => mapping(uint32 => Document)) private _documents;
    mapping(uint256 => mapping(bytes32 => bool)) private _documentSeen;
    /// An order's documents: how many, and bit i set = a document of DocKind(i) is attached (one slot,
    /// written once per attachment).
    struct DocumentIndex {
        uint32 count;
        uint8 kinds;
    }

    mapping(uint256 => DocumentIndex) private _documentIndex;
    mapping(address => bool) private _currencies;
    uint256 private _orderCount;
    /// the part of each order's `prepaid` paid by certificate (kept beside the Order struct)
    mapping(uint256 => uint256) private _certificatePaid;
    /// the seller's chain at placement, written only for an order across chains (zero: the order's chain)
    mapping(uint256 => uint64) private _sellerChain;

    constructor(IMemberRegistry registry_, address operator) {
        registry = registry_;
        _grantRole(DEFAULT_ADMIN_ROLE, operator);
        _grantRole(OPERATOR_ROLE, operator);
        _grantRole(WIRING_ROLE, operator);
        _setRoleAdmin(WIRING_ROLE, WIRING_ROLE);
        _setRoleAdmin(FINANCE_ROLE, WIRING_ROLE);
        _setRoleAdmin(CERTIFICATES_ROLE, WIRING_ROLE);
    }

    /// @inheritdoc IOrderBook
    function addCurrency(address currency) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (_currencies[currency]) revert CurrencyAlreadyAdded(currency);
        _currencies[currency] = true;
        emit CurrencyAdded(currency, IPlatformCash(currency).currencyCode());
    }

    /// @inheritdoc IOrderBook
    function place(
        address seller,
        uint64 chainId,
        address currency,
        uint256 amount,
        uint64 dueDate,
        bool overseas,
        bytes3 incoterm,
        bytes2 destinationCountry
    ) external returns (uint256 orderId) {
        if (seller == msg.sender) revert OrderSelfTrade(msg.sender);
        _requireTrader(msg.sender);
        // The order belongs to the buyer's chain: the buyer places it in its own chain.
        if (chainId == 0 || registry.chainOf(msg.sender) != chainId) revert OrderNotInChain(msg.sender, chainId);
        _requireTrader(seller);
        uint64 sellerChain = registry.chainOf(seller);
        // An active trader's chain is live (an evicted chain's members are evicted with it).
        if (sellerChain != chainId) _requireCrossChain(seller, chainId, sellerChain);
        if (!_currencies[currency]) revert OrderUnknownCurrency(currency);
        if (amount == 0) revert OrderZeroAmount();
        if (amount > type(uint96).max) revert OrderAmountTooLarge(amount, type(uint96).max);
        if (dueDate <= block.timestamp) revert OrderDueDateInPast(dueDate, uint64(block.timestamp));
        if (overseas) {
            if (!_isIncoterm(incoterm)) revert OrderBadIncoterm(incoterm);
            if (!_isCountryCode(destinationCountry)) revert OrderBadCountry(destinationCountry);
        } else if (incoterm != bytes3(0) || destinationCountry != bytes2(0)) {
            revert OrderDomesticWithTradeTerms(incoterm, destinationCountry);
        }
        orderId = ++_orderCount;
        // Three whole slots, written once each (the payee stays zero: the seller).
        StoredOrder storage o = _orders[orderId];
        (o.buyer, o.chainId, o.status, o.destinationCountry) =
            (msg.sender, chainId, OrderStatus.Placed, destinationCountry);
        // The range check above keeps the amount within 96 bits.
        (o.seller, o.amount) = (seller, uint96(amount));
        (o.currency, o.dueDate, o.incoterm, o.overseas) = (currency, dueDate, incoterm, overseas);
        emit OrderPlaced(
            orderId, msg.sender, seller, chainId, currency, amount, dueDate, overseas, incoterm, destinationCountry
        );
        // Only an order across chains pays for the seller's chain (one slot and one event).
        if (sellerChain != chainId) {
            _sellerChain[orderId] = sellerChain;
            emit OrderPlacedAcrossChains(orderId, chainId, sellerChain);
        }
    }

    /// @inheritdoc IOrderBook
    function accept(uint256 orderId) external {
        StoredOrder storage o = _sellerAction(orderId, OrderStatus.Placed);
        o.status = OrderStatus.Accepted;
        emit OrderAccepted(orderId);
    }

    /// @inheritdoc IOrderBook
    function ship(uint256 orderId, address carrier, address warehouse) external {
        StoredOrder storage o = _sellerAction(orderId, OrderStatus.Accepted);
        if (!registry.isActive(carrier, IMemberRegistry.Role.Logistics)) revert OrderNotCarrier(carrier);
        if (!registry.isActive(warehouse, IMemberRegistry.Role.Warehouse)) revert OrderNotWarehouseMember(warehouse);
        // Goods cross a border only with a customs declaration on file.
        if (o.overseas && !hasDocument(orderId, DocKind.CustomsDeclaration)) {
            revert OrderMissingDocument(orderId, DocKind.CustomsDeclaration);
        }
        o.carrier = carrier;
        o.warehouse = warehouse;
        o.status = OrderStatus.Shipped;
        emit OrderShipped(orderId, carrier, warehouse);
    }

    /// @inheritdoc IOrderBook
    function deliver(uint256 orderId) external {
        StoredOrder storage o = _order(orderId);
        if (o.warehouse != msg.sender) revert OrderNotWarehouse(orderId, msg.sender);
        _requireActive(msg.sender);
        if (o.status != OrderStatus.Shipped) revert OrderWrongStatus(orderId, o.status);
        o.status = OrderStatus.Delivered;
        emit OrderDelivered(orderId, msg.sender);
    }

    /// @inheritdoc IOrderBook
    function invoice(uint256 orderId, bytes32 invoiceNumber, bytes32 invoiceHash) external {
        StoredOrder storage o = _sellerAction(orderId, OrderStatus.Delivered);
        if (invoiceNumber == bytes32(0) || invoiceHash == bytes32(0)) revert OrderZeroHash();
        o.invoiceNumber = invoiceNumber;
        o.status = OrderStatus.Invoiced;
        emit OrderInvoiced(orderId, invoiceNumber, invoiceHash);
        _attach(orderId, DocKind.Invoice, invoiceHash);
    }

    /// @inheritdoc IOrderBook
    function settle(uint256 orderId) external {
        StoredOrder storage o = _order(orderId);
        // The buyer pays what it owes even when suspended or evicted: no activity check here.
        if (o.buyer != msg.sender) revert OrderNotBuyer(orderId, msg.sender);
        if (o.status != OrderStatus.Invoiced) revert OrderWrongStatus(orderId, o.status);
        o.status = OrderStatus.Settled;
        uint256 due = o.amount - o.prepaid;
        address payee = _payee(o);
        emit OrderSettled(orderId, msg.sender, payee, due);
        if (due != 0) IERC20(o.currency).safeTransferFrom(msg.sender, payee, due);
    }

    /// @inheritdoc IOrderBook
    function cancel(uint256 orderId) external {
        StoredOrder storage o = _partyAction(orderId);
        if (o.status != OrderStatus.Placed && o.status != OrderStatus.Accepted) {
            revert OrderWrongStatus(orderId, o.status);
        }
        // Loan money already paid the seller: such an order is unwound through a dispute.
        if (o.prepaid != 0) revert OrderHasPrepayment(orderId, o.prepaid);
        o.status = OrderStatus.Cancelled;
        emit OrderCancelled(orderId, msg.sender);
    }

    /// @inheritdoc IOrderBook
    function dispute(uint256 orderId, bytes32 reasonHash) external {
        StoredOrder storage o = _partyAction(orderId);
        OrderStatus s = o.status;
        if (s != OrderStatus.Shipped && s != OrderStatus.Delivered && s != OrderStatus.Invoiced) {
            revert OrderWrongStatus(orderId, s);
        }
        if (reasonHash == bytes32(0)) revert OrderZeroHash();
        o.statusBeforeDispute = s;
        o.status = OrderStatus.Disputed;
        emit OrderDisputed(orderId, msg.sender, reasonHash);
    }

    /// @inheritdoc IOrderBook
    function resolveDispute(uint256 orderId, bool cancelOrder) external {
        // The operator's day-to-day queue; the admin (the council's timelock) may resolve too.
        if (!hasRole(OPERATOR_ROLE, msg.sender) && !hasRole(DEFAULT_ADMIN_ROLE, msg.sender)) {
            revert AccessControlUnauthorizedAccount(msg.sender, OPERATOR_ROLE);
        }
        StoredOrder storage o = _order(orderId);
        if (o.status != OrderStatus.Disputed) revert OrderWrongStatus(orderId, o.status);
        if (cancelOrder) {
            // A financed order's cancellation voids a lender's collateral or a certificate holder's payment: never
            // on the operator's word alone. Financed: its settlement was redirected (a claim locked to a loan, or
            // collected for its lender) or part of it was prepaid (loan money paid the seller, or a certificate).
            (address payee, uint96 prepaid) = (o.payee, o.prepaid);
            if ((payee != address(0) || prepaid != 0) && !hasRole(DEFAULT_ADMIN_ROLE, msg.sender)) {
                revert OrderFinancedCancelNeedsAdmin(orderId, _payee(o), prepaid);
            }
        }
        o.status = cancelOrder ? OrderStatus.Cancelled : o.statusBeforeDispute;
        o.statusBeforeDispute = OrderStatus.None;
        emit DisputeResolved(orderId, o.status);
    }

    /// @inheritdoc IOrderBook
    function redirectSettlement(uint256 orderId, address payee) external onlyRole(FINANCE_ROLE) {
        StoredOrder storage o = _order(orderId);
        if (o.status == OrderStatus.Settled || o.status == OrderStatus.Cancelled) {
            revert OrderWrongStatus(orderId, o.status);
        }
        // Settlement money moves only to active members (PlatformCash lets this agent pay anyone),
        // to the financing contract itself, which passes it on to the lender, or back to the seller
        // (a withdrawn financing gives the claim back even to a seller evicted since).
        if (payee != msg.sender && payee != o.seller && !registry.isActiveMember(payee)) {
            revert OrderPayeeNotMember(payee);
        }
        // The seller is the payee by default: redirecting back to it clears the slot.
        o.payee = payee == o.seller ? address(0) : payee;
        emit SettlementRedirected(orderId, payee, msg.sender);
    }

    /// @inheritdoc IOrderBook
    function recordPrepayment(uint256 orderId, uint256 amount) external onlyRole(FINANCE_ROLE) {
        StoredOrder storage o = _order(orderId);
        // Loan money pays a seller ahead of the invoice only: an invoiced order is a claim (receivable
        // or payable) whose value must not shrink behind its lender's back.
        if (o.status >= OrderStatus.Invoiced) revert OrderWrongStatus(orderId, o.status);
        uint256 due = o.amount - o.prepaid;
        if (amount == 0 || amount > due) revert OrderPrepaymentTooLarge(orderId, amount, due);
        // At most what is due, which fits 96 bits.
        o.prepaid += uint96(amount);
        emit OrderPrepaid(orderId, amount, o.prepaid, msg.sender);
    }

    /// @inheritdoc IOrderBook
    function recordCertificatePayment(uint256 orderId, uint256 amount) external onlyRole(CERTIFICATES_ROLE) {
        StoredOrder storage o = _order(orderId);
        // Paid by certificate once the seller committed to the order, until it is settled; whether an
        // invoiced order's claim is already financed is the Certificates contract's check.
        if (o.status < OrderStatus.Accepted || o.status > OrderStatus.Invoiced) revert OrderWrongStatus(orderId, o.status);
        uint256 due = o.amount - o.prepaid;
        if (amount == 0 || amount > due) revert OrderPrepaymentTooLarge(orderId, amount, due);
        // Counted in `prepaid` like loan money paid ahead, so settlement, a later receivable or payable and
        // a later prepayment all see only the rest. At most what is due, which fits 96 bits.
        o.prepaid += uint96(amount);
        uint256 paid = _certificatePaid[orderId] + amount;
        _certificatePaid[orderId] = paid;
        emit OrderPaidByCertificate(orderId, amount, paid, o.prepaid, msg.sender);
    }

    /// @inheritdoc IOrderBook
    function attach(uint256 orderId, DocKind kind, bytes32 hash) external {
        StoredOrder storage o = _order(orderId);
        if (msg.sender != o.buyer && msg.sender != o.seller && msg.sender != o.carrier && msg.sender != o.warehouse) {
            revert OrderNotParty(orderId, msg.sender);
        }
        _requireActive(msg.sender);
        if (hash == bytes32(0)) revert OrderZeroHash();
        _attach(orderId, kind, hash);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IOrderBook
    function getOrder(uint256 orderId) external view returns (Order memory order) {
        StoredOrder storage o = _orders[orderId];
        order = Order({
            buyer: o.buyer,
            seller: o.seller,
            chainId: o.chainId,
            dueDate: o.dueDate,
            currency: o.currency,
            amount: o.amount,
            status: o.status,
            statusBeforeDispute: o.statusBeforeDispute,
            overseas: o.overseas,
            incoterm: o.incoterm,
            destinationCountry: o.destinationCountry,
            carrier: o.carrier,
            warehouse: o.warehouse,
            invoiceNumber: o.invoiceNumber,
            payee: o.status == OrderStatus.None ? address(0) : _payee(o),
            documentCount: _documentIndex[orderId].count,
            prepaid: o.prepaid
        });
    }

    /// @inheritdoc IOrderBook
    function orderStatus(uint256 orderId) external view returns (OrderStatus) {
        return _orders[orderId].status;
    }

    /// @inheritdoc IOrderBook
    function orderHead(uint256 orderId)
        external
        view
        returns (address buyer, address seller, OrderStatus status, address currency, uint256 amount)
    {
        StoredOrder storage o = _orders[orderId];
        return (o.buyer, o.seller, o.status, o.currency, o.amount);
    }

    /// @inheritdoc IOrderBook
    function orderClaim(uint256 orderId)
        external
        view
        returns (
            address buyer,
            address seller,
            OrderStatus status,
            address currency,
            uint256 due,
            bytes32 invoiceNumber
        )
    {
        StoredOrder storage o = _orders[orderId];
        return (o.buyer, o.seller, o.status, o.currency, o.amount - o.prepaid, o.invoiceNumber);
    }

    /// @inheritdoc IOrderBook
    function orderParties(uint256 orderId)
        external
        view
        returns (address buyer, address seller, address carrier, address warehouse, uint256 amount)
    {
        StoredOrder storage o = _orders[orderId];
        return (o.buyer, o.seller, o.carrier, o.warehouse, o.amount);
    }

    /// @inheritdoc IOrderBook
    function getDocument(uint256 orderId, uint32 index) external view returns (Document memory) {
        return _documents[orderId][index];
    }

    /// @inheritdoc IOrderBook
    function orderCount() external view returns (uint256) {
        return _orderCount;
    }

    /// @inheritdoc IOrderBook
    function certificatePaid(uint256 orderId) external view returns (uint256) {
        return _certificatePaid[orderId];
    }

    /// @inheritdoc IOrderBook
    function sellerChainOf(uint256 orderId) external view returns (uint64) {
        uint64 sellerChain = _sellerChain[orderId];
        return sellerChain != 0 ? sellerChain : _orders[orderId].chainId;
    }

    /// @inheritdoc IOrderBook
    function isCurrency(address currency) external view returns (bool) {
        return _currencies[currency];
    }

    /// @inheritdoc IOrderBook
    function hasDocument(uint256 orderId, DocKind kind) public view returns (bool) {
        return _documentIndex[orderId].kinds & (uint8(1) << uint8(kind)) != 0;
    }

    // ---------------------------------------------------------------- internal

    /// Who receives the settlement: the seller unless a financing contract redirected it.
    function _payee(StoredOrder storage o) internal view returns (address payee) {
        payee = o.payee;
        if (payee == address(0)) payee = o.seller;
    }

    function _order(uint256 orderId) internal view returns (StoredOrder storage o) {
        o = _orders[orderId];
        if (o.status == OrderStatus.None) revert OrderNotFound(orderId);
    }

    function _sellerAction(uint256 orderId, OrderStatus expected) internal view returns (StoredOrder storage o) {
        o = _order(orderId);
        if (o.seller != msg.sender) revert OrderNotSeller(orderId, msg.sender);
        _requireActive(msg.sender);
        if (o.status != expected) revert OrderWrongStatus(orderId, o.status);
    }

    function _partyAction(uint256 orderId) internal view returns (StoredOrder storage o) {
        o = _order(orderId);
        if (o.buyer != msg.sender && o.seller != msg.sender) revert OrderNotParty(orderId, msg.sender);
        _requireActive(msg.sender);
    }

    function _requireActive(address who) internal view {
        IMemberRegistry.Status s = registry.statusOf(who);
        if (s != IMemberRegistry.Status.Active) revert IMemberRegistry.MemberNotActive(who, s);
    }

    /// A trader is an active supplier, manufacturer or seller.
    function _requireTrader(address who) internal view {
        if (
            !registry.isActive(who, IMemberRegistry.Role.Supplier)
                && !registry.isActive(who, IMemberRegistry.Role.Manufacturer)
                && !registry.isActive(who, IMemberRegistry.Role.Seller)
        ) revert OrderNotTrader(who);
    }

    /// A seller outside the buyer's chain trades with it when it belongs to a chain itself, and neither
    /// chain is under a fraud investigation (no new exposure across chains while one may be evicted).
    function _requireCrossChain(address seller, uint64 chainId, uint64 sellerChain) internal view {
        if (sellerChain == 0) revert OrderSellerWithoutChain(seller);
        uint64 until = registry.investigatedUntil(chainId);
        if (block.timestamp <= until) revert OrderChainUnderInvestigation(chainId, until);
        until = registry.investigatedUntil(sellerChain);
        if (block.timestamp <= until) revert OrderChainUnderInvestigation(sellerChain, until);
    }

    function _attach(uint256 orderId, DocKind kind, bytes32 hash) internal {
        if (_documentSeen[orderId][hash]) revert DocumentAlreadyAttached(orderId, hash);
        _documentSeen[orderId][hash] = true;
        DocumentIndex storage d = _documentIndex[orderId];
        uint32 index = d.count;
        _documents[orderId][index] =
            Document({kind: kind, hash: hash, attachedBy: msg.sender, attachedAt: uint64(block.timestamp)});
        (d.count, d.kinds) = (index + 1, d.kinds | (uint8(1) << uint8(kind)));
        emit DocumentAttached(orderId, index, kind, hash, msg.sender);
    }

    /// The eleven Incoterms 2020 rules.
    function _isIncoterm(bytes3 t) internal pure returns (bool) {
        return t == "EXW" || t == "FCA" || t == "CPT" || t == "CIP" || t == "DAP" || t == "DPU" || t == "DDP"
            || t == "FAS" || t == "FOB" || t == "CFR" || t == "CIF";
    }

    /// Two upper-case ASCII letters (ISO 3166-1 alpha-2 shape).
    function _isCountryCode(bytes2 c) internal pure returns (bool) {
        return c[0] >= "A" && c[0] <= "Z" && c[1] >= "A" && c[1] <= "Z";
    }
}
