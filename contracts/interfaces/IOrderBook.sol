// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Orders, shipments and trade documents
/// @notice The business flow: orders between active members of one supply chain, append-only
/// document hashes (the documents stay off-chain), a shipment bound to a carrier and a destination
/// warehouse, and settlement in PlatformCash of the order's currency.
interface IOrderBook {
    /// Lifecycle: Placed -> Accepted -> Shipped -> Delivered -> Invoiced -> Settled.
    /// Placed/Accepted -> Cancelled. Shipped/Delivered/Invoiced -> Disputed -> (back | Cancelled).
    enum OrderStatus {
        None,
        Placed,
        Accepted,
        Shipped,
        Delivered,
        Invoiced,
        Settled,
        Cancelled,
        Disputed
    }

    enum DocKind {
        Contract,
        Invoice,
        BillOfLading,
        CustomsDeclaration,
        QualityCertificate,
        DeliveryReceipt
    }

    struct Order {
        address buyer;
        address seller;
        uint64 chainId;
        uint64 dueDate;
        address currency;
        uint256 amount;
        OrderStatus status;
        /// status before a dispute, restored when the dispute is resolved without cancellation
        OrderStatus statusBeforeDispute;
        bool overseas;
        /// Incoterms 2020 code ("FOB", "CIF", ...) and ISO 3166 alpha-2 destination, overseas only
        bytes3 incoterm;
        bytes2 destinationCountry;
        address carrier;
        address warehouse;
        bytes32 invoiceNumber;
        /// who receives the settlement: the seller unless a financing contract redirected it
        address payee;
        uint32 documentCount;
        /// paid to the seller ahead of settlement: loan money (prepayment financing) and certificate parts
        /// (`certificatePaid`, the latter's share)
        uint256 prepaid;
    }

    struct Document {
        DocKind kind;
        bytes32 hash;
        address attachedBy;
        uint64 attachedAt;
    }

    event CurrencyAdded(address indexed currency, string code);
    event OrderPlaced(
        uint256 indexed orderId,
        address indexed buyer,
        address indexed seller,
        uint64 chainId,
        address currency,
        uint256 amount,
        uint64 dueDate,
        bool overseas,
        bytes3 incoterm,
        bytes2 destinationCountry
    );
    /// @notice Emitted after {OrderPlaced} for an order whose seller is in another chain than the buyer's.
    event OrderPlacedAcrossChains(uint256 indexed orderId, uint64 buyerChainId, uint64 sellerChainId);
    event OrderAccepted(uint256 indexed orderId);
    event OrderShipped(uint256 indexed orderId, address indexed carrier, address indexed warehouse);
    event OrderDelivered(uint256 indexed orderId, address indexed by);
    event OrderInvoiced(uint256 indexed orderId, bytes32 invoiceNumber, bytes32 invoiceHash);
    event OrderSettled(uint256 indexed orderId, address indexed payer, address indexed payee, uint256 amount);
    event OrderCancelled(uint256 indexed orderId, address indexed by);
    event OrderDisputed(uint256 indexed orderId, address indexed by, bytes32 reasonHash);
    event DisputeResolved(uint256 indexed orderId, OrderStatus status);
    event OrderPrepaid(uint256 indexed orderId, uint256 amount, uint256 prepaid, address indexed by);
    /// @notice `amount` of the order was paid by a certificate part; `certificatePaid` so paid in all, and
    /// `prepaid` (which includes it) what settlement no longer asks.
    event OrderPaidByCertificate(
        uint256 indexed orderId, uint256 amount, uint256 certificatePaid, uint256 prepaid, address indexed by
    );
    event SettlementRedirected(uint256 indexed orderId, address indexed payee, address indexed by);
    event DocumentAttached(
        uint256 indexed orderId, uint32 index, DocKind kind, bytes32 hash, address indexed attachedBy
    );

    error OrderNotFound(uint256 orderId);
    error OrderWrongStatus(uint256 orderId, OrderStatus status);
    error OrderNotParty(uint256 orderId, address caller);
    error OrderNotBuyer(uint256 orderId, address caller);
    error OrderNotSeller(uint256 orderId, address caller);
    error OrderNotWarehouse(uint256 orderId, address caller);
    error OrderSelfTrade(address member);
    error OrderZeroAmount();
    /// @notice Amounts are stored in 96 bits (7.9e28 minor units): `amount` is above `max`.
    error OrderAmountTooLarge(uint256 amount, uint256 max);
    error OrderDueDateInPast(uint64 dueDate, uint64 nowTime);
    error OrderUnknownCurrency(address currency);
    error OrderNotTrader(address member);
    /// @notice The buyer places an order in its own chain: `member` is not in `chainId`.
    error OrderNotInChain(address member, uint64 chainId);
    /// @notice A seller outside the buyer's chain must belong to a chain of its own.
    error OrderSellerWithoutChain(address seller);
    /// @notice No order across chains while either is under a fraud investigation (until `until`).
    error OrderChainUnderInvestigation(uint64 chainId, uint64 until);
    error OrderBadIncoterm(bytes3 incoterm);
    error OrderBadCountry(bytes2 country);
    error OrderDomesticWithTradeTerms(bytes3 incoterm, bytes2 country);
    error OrderNotCarrier(address carrier);
    error OrderNotWarehouseMember(address warehouse);
    error OrderMissingDocument(uint256 orderId, DocKind kind);
    error OrderZeroHash();
    error DocumentAlreadyAttached(uint256 orderId, bytes32 hash);
    error CurrencyAlreadyAdded(address currency);
    error OrderPayeeNotMember(address payee);
    error OrderPrepaymentTooLarge(uint256 orderId, uint256 amount, uint256 due);
    error OrderHasPrepayment(uint256 orderId, uint256 prepaid);
    /// @notice Only the admin (DEFAULT_ADMIN_ROLE: the council's timelock when the platform has a council) cancels a
    /// financed order: its settlement goes to `payee` (redirected from the seller: a claim locked to a loan, or
    /// collected for its lender) or `prepaid` of it was paid by loan money or by certificate.
    error OrderFinancedCancelNeedsAdmin(uint256 orderId, address payee, uint256 prepaid);

    /// @notice Council (DEFAULT_ADMIN_ROLE, its timelock): admits a PlatformCash as an order and asset currency.
    function addCurrency(address currency) external;
    /// @notice The buyer (an active trader) places an order with `seller` (an active trader) in its own chain
    /// `chainId`. The seller may belong to another chain (an order across chains): both chains are live (an
    /// active trader's chain is never evicted) and neither is under a fraud investigation. The seller's chain
    /// is recorded ({sellerChainOf}, {OrderPlacedAcrossChains}); the order stays the buyer chain's.
    function place(
        address seller,
        uint64 chainId,
        address currency,
        uint256 amount,
        uint64 dueDate,
        bool overseas,
        bytes3 incoterm,
        bytes2 destinationCountry
    ) external returns (uint256 orderId);
    function accept(uint256 orderId) external;
    /// @notice The seller ships: the carrier and the destination warehouse are bound to the order.
    function ship(uint256 orderId, address carrier, address warehouse) external;
    /// @notice The destination warehouse confirms the goods arrived.
    function deliver(uint256 orderId) external;
    /// @notice The seller invoices the delivered order; the invoice document is attached with it.
    function invoice(uint256 orderId, bytes32 invoiceNumber, bytes32 invoiceHash) external;
    /// @notice The buyer pays the order amount, less what was prepaid, to the payee (the seller
    /// unless redirected).
    function settle(uint256 orderId) external;
    function cancel(uint256 orderId) external;
    function dispute(uint256 orderId, bytes32 reasonHash) external;
    /// @notice The operator (OPERATOR_ROLE) or the admin (DEFAULT_ADMIN_ROLE) ends a dispute: back to the status
    /// before it, or cancelled. Cancelling a financed order (settlement redirected, or anything prepaid by loan money
    /// or certificate) is the admin's alone (`OrderFinancedCancelNeedsAdmin`): with a council, a timelocked call.
    function resolveDispute(uint256 orderId, bool cancelOrder) external;
    /// @notice A financing contract redirects the settlement to a lender (receivable financing).
    /// @dev The payee must be an active member, or the calling financing contract itself (the
    /// LoanBook collects a financed invoice's settlement and passes it on): PlatformCash lets this
    /// contract, a payment agent, pay anyone, so the membership rule is enforced here.
    function redirectSettlement(uint256 orderId, address payee) external;
    /// @notice A financing contract records `amount` of loan money paid to the seller towards the
    /// order, before it is invoiced; settlement then pays only the rest.
    function recordPrepayment(uint256 orderId, uint256 amount) external;
    /// @notice A party of the order (buyer, seller, carrier, warehouse) attaches a document hash.
    /// @notice Certificates: `amount` of an accepted, shipped, delivered or invoiced order was paid by a
    /// certificate part; it counts in `prepaid` (at most what is still due).
    function recordCertificatePayment(uint256 orderId, uint256 amount) external;
    function attach(uint256 orderId, DocKind kind, bytes32 hash) external;

    function getOrder(uint256 orderId) external view returns (Order memory);
    function getDocument(uint256 orderId, uint32 index) external view returns (Document memory);
    /// @notice The status of an order (None when it does not exist): one storage read for the
    /// platform's contracts.
    function orderStatus(uint256 orderId) external view returns (OrderStatus);
    /// @notice The parties, status, currency and amount of an order, without the rest of it.
    function orderHead(uint256 orderId)
        external
        view
        returns (address buyer, address seller, OrderStatus status, address currency, uint256 amount);
    /// @notice What a claim on an order needs: its parties, status, currency, the amount still due at
    /// settlement (amount less prepayments) and the invoice number.
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
        );
    /// @notice Everyone an order names (carrier and destination warehouse once shipped) and its amount.
    function orderParties(uint256 orderId)
        external
        view
        returns (address buyer, address seller, address carrier, address warehouse, uint256 amount);
    function orderCount() external view returns (uint256);
    function isCurrency(address currency) external view returns (bool);
    /// @notice What of the order was paid by certificate parts (included in `prepaid`).
    function certificatePaid(uint256 orderId) external view returns (uint256);
    /// @notice The seller's chain when the order was placed: the order's `chainId` unless it was placed across
    /// chains (0 for an unknown order).
    function sellerChainOf(uint256 orderId) external view returns (uint64);
    function hasDocument(uint256 orderId, DocKind kind) external view returns (bool);
}
