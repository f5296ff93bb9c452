// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title One loan lifecycle for the four financing modes of the platform
/// @notice Applied -> Approved (or Rejected, or Withdrawn by the borrower) -> Disbursed -> Repaid | Defaulted -> WrittenOff, with
/// Warned and Recalled driven by the control mechanism. Simple interest accrues per second on the
/// outstanding principal at `rateBps` a year (365 days) while the loan runs; each accrual books the
/// whole minor units and carries the remainder (`interestCarry`) to the next, so the interest does not
/// depend on how often the loan is touched; repayments pay interest first, then principal.
interface ILoanBook {
    enum Mode {
        Pledge,
        Receivable,
        Prepayment,
        Payable
    }

    enum LoanStatus {
        None,
        Applied,
        Approved,
        Rejected,
        Disbursed,
        Warned,
        Recalled,
        Repaid,
        Defaulted,
        WrittenOff,
        Withdrawn
    }

    struct Loan {
        Mode mode;
        LoanStatus status;
        bool guaranteeSigned;
        bool settlementCollected;
        uint16 ltvBps;
        uint32 rateBps;
        uint64 termSeconds;
        uint64 disbursedAt;
        uint64 maturity;
        uint64 lastAccrual;
        uint64 defaultedAt;
        uint64 warningDeadline;
        /// interest below one minor unit not yet booked, in 1/(10,000 x 365 days) of a unit: carried
        /// to the next accrual, so that how often interest is accrued does not change how much
        uint64 interestCarry;
        address borrower;
        address lender;
        address guarantor;
        address supervisor;
        address currency;
        uint256 assetId;
        uint256 purposeOrderId;
        uint256 principal;
        /// goods pledged when the collateral was locked (warehouse receipts), released in step
        uint256 collateralQuantity;
        uint256 interestAccrued;
        uint256 principalRepaid;
        uint256 interestPaid;
        uint256 guarantorPaid;
        uint256 writtenOff;
        /// the guarantor's commitment (the principal) held by the LoanBook for this loan from its
        /// signature until the loan is repaid (returned), defaulted (charged for what is lost, the rest
        /// returned) or ends undisbursed (returned)
        uint256 guaranteeHeld;
        /// an approval is good for disbursement until then (approval time + `APPROVAL_VALIDITY`); after
        /// it, or once the lender is no longer an active member, the borrower may withdraw the loan
        uint64 expiresAt;
    }

    struct Application {
        Mode mode;
        uint256 assetId;
        uint256 purposeOrderId;
        address lender;
        address guarantor;
        uint256 principal;
        uint32 rateBps;
        uint64 termSeconds;
    }

    event LoanApplied(
        uint256 indexed loanId,
        Mode mode,
        address indexed borrower,
        address indexed lender,
        address guarantor,
        uint256 assetId,
        uint256 purposeOrderId,
        address currency,
        uint256 principal,
        uint32 rateBps,
        uint64 termSeconds
    );
    event LoanApproved(uint256 indexed loanId, uint16 ltvBps, address supervisor, uint256 collateralQuantity);
    event LoanRejected(uint256 indexed loanId, bytes32 reason);
    /// @notice The borrower (or the guarantor) withdrew the undisbursed loan: the collateral, a claim's
    /// settlement and the guarantor's commitment went back to where they belong.
    event LoanWithdrawn(uint256 indexed loanId, address indexed by);
    /// @notice The guarantor signed and its commitment (`amount`, the principal) is now held for the loan.
    event GuaranteeSigned(uint256 indexed loanId, address indexed guarantor, uint256 amount);
    /// @notice What was held of the guarantor's commitment and not charged went back to it.
    event GuaranteeReleased(uint256 indexed loanId, address indexed guarantor, uint256 amount);
    event LoanDisbursed(uint256 indexed loanId, uint256 principal, uint64 maturity);
    event InterestAccrued(uint256 indexed loanId, uint256 amount, uint256 total, uint64 at);
    event LoanRepayment(
        uint256 indexed loanId, address indexed payer, uint256 interest, uint256 principal, uint256 outstanding
    );
    event LoanRepaid(uint256 indexed loanId);
    event SettlementCollected(uint256 indexed loanId, uint256 received, uint256 toLender, uint256 surplus);
    event LoanDefaulted(uint256 indexed loanId, uint256 outstanding);
    event GuaranteeCalled(uint256 indexed loanId, address indexed guarantor, uint256 amount);
    event LoanWrittenOff(uint256 indexed loanId, uint256 amount);
    event LoanWarned(uint256 indexed loanId, uint64 deadline);
    event WarningCleared(uint256 indexed loanId);
    event LoanRecalled(uint256 indexed loanId, uint256 intercepted);
    event CollateralConverted(uint256 indexed loanId, uint256 fromAssetId, uint256 toAssetId, uint256 quantity);

    error LoanNotFound(uint256 loanId);
    error LoanWrongStatus(uint256 loanId, LoanStatus status);
    error LoanNotLender(uint256 loanId, address caller);
    error LoanNotGuarantor(uint256 loanId, address caller);
    error LoanBorrowerNotTrader(address borrower);
    error LoanWrongAssetKind(uint256 assetId, uint8 kind, Mode mode);
    error LoanAssetNotConfirmed(uint256 assetId, uint8 status);
    error LoanAssetLocked(uint256 assetId, uint256 loanId);
    error LoanNotAssetOwner(uint256 assetId, address caller);
    error LoanLenderNotFinancier(address lender);
    error LoanGuarantorNotCore(address guarantor);
    error LoanGuarantorRequired();
    error LoanBadPurposeOrder(uint256 orderId);
    error LoanCurrencyMismatch(address expected, address found);
    error LoanZeroPrincipal();
    error LoanRateTooHigh(uint32 rateBps);
    error LoanZeroTerm();
    error LoanBadLtv(uint16 ltvBps);
    error LoanLtvExceeded(uint256 principal, uint256 limit);
    error LoanSupervisorNotCustodian(address supervisor, address custodian);
    error LoanGuaranteeMissing(uint256 loanId);
    /// @notice The guarantor has not allowed the LoanBook (or does not hold) the principal it commits.
    error LoanGuaranteeNotFunded(uint256 loanId, uint256 allowance, uint256 needed);
    error LoanNotMature(uint256 loanId, uint64 defaultableAt, uint64 nowTime);
    error LoanZeroAmount();
    error LoanNothingOwed(uint256 loanId);
    error LoanOrderNotSettled(uint256 orderId);
    error LoanNotSettlementMode(uint256 loanId, Mode mode);
    error LoanReceiptMismatch(uint256 loanId, uint256 receiptId);
    error LoanLenderCannotRepay(uint256 loanId);
    error LoanSettlementToCollect(uint256 loanId);
    /// @notice A suspended or evicted member (`status`, IMemberRegistry.Status) tried to repay a loan
    /// it is neither the borrower nor the guarantor of.
    error LoanPayerRestricted(uint256 loanId, address payer, uint8 status);
    /// @notice Only the loan's borrower or its guarantor may withdraw it.
    error LoanNotBorrower(uint256 loanId, address caller);
    /// @notice The approval lapsed at `expiresAt`: the lender can no longer disburse (the borrower may
    /// withdraw, or the lender reject).
    error LoanApprovalExpired(uint256 loanId, uint64 expiresAt, uint64 nowTime);
    /// @notice An approved loan whose lender is still an active member can be withdrawn by the borrower
    /// only after its approval expired at `expiresAt`.
    error LoanApprovalNotExpired(uint256 loanId, uint64 expiresAt, uint64 nowTime);
    /// @notice The guarantor may declare the default only once the lender is no longer an active member
    /// (an active lender decides itself).
    error LoanLenderStillActive(uint256 loanId, address lender);
    /// @notice No collateral is kept for the guarantor: it has not paid for the borrower, the loan is not
    /// closed, or the collateral left the loan (`lockedBy`: the loan now locking the asset, 0 if free).
    error LoanNoCollateralKept(uint256 loanId, uint256 guarantorPaid, uint256 lockedBy);

    /// @notice A borrower applies, naming the asset it pledges and the order the money is for.
    function applyForLoan(Application calldata a) external returns (uint256 loanId);
    /// @notice The lender approves with a loan-to-value limit (and, for a pledge, the supervising
    /// warehouse); the asset, still the borrower's, is locked to the loan.
    function approve(uint256 loanId, uint16 ltvBps, address supervisor) external;
    /// @notice The lender rejects an application, or withdraws an approval it has not disbursed
    /// (the asset is unlocked; a financed invoice's settlement goes back to its creditor).
    function reject(uint256 loanId, bytes32 reason) external;
    /// @notice The borrower's (or the guarantor's) exit from a loan not disbursed: an application at any
    /// time; an approval once it expired (`expiresAt`) or at any time when the lender is no longer an
    /// active member. The
    /// asset is unlocked (a financed invoice's settlement, redirected or already paid here, goes back to
    /// its creditor) and a signed guarantee's commitment goes back to the guarantor.
    function withdraw(uint256 loanId) external;
    /// @notice The guarantor (a core enterprise) signs and commits the principal: the LoanBook takes it
    /// (the guarantor allows it first) and holds it for this loan only; the commitment cannot be taken
    /// back while the loan runs. It returns to the guarantor when the loan is repaid or ends undisbursed;
    /// at a default the guarantor is charged from it for what is really lost and gets the rest back.
    function signGuarantee(uint256 loanId) external;
    /// @notice The lender pays the principal in, before the approval expires; it becomes tracked money
    /// (prepayment: paid straight to the supplier).
    function disburse(uint256 loanId) external;
    /// @notice Anyone active repays up to `amount`; a suspended or evicted member only a loan it owes
    /// (as its borrower or guarantor).
    function repay(uint256 loanId, uint256 amount) external;
    /// @notice Receivable and payable loans: after the debtor settled the order to the LoanBook, pass
    /// what it paid to the lender, up to what is owed (surplus to the borrower, or to the guarantor once
    /// it paid for the borrower); the claim is consumed.
    /// Anyone may call it.
    function collect(uint256 loanId) external;
    /// @notice Prepayment: the lender replaces the future-goods right with the warehouse receipt of
    /// the delivered goods (of the financed order, owned by the borrower).
    function convertCollateral(uint256 loanId, uint256 receiptId) external;
    /// @notice The lender declares a late loan defaulted: an active lender, or an evicted one (its claims
    /// are still its own and are wound down), not a suspended one (it waits for its review); once the
    /// lender is no longer an active member the guarantor may declare it too, so that a loan whose
    /// lender is gone still ends. The loan's unspent tracked money first goes
    /// back to the lender, up to the debt, booked as repayment (as on a recall; if it covers the debt
    /// the loan is repaid, not defaulted); then the guarantor is charged for what is still owed out of the
    /// commitment held for this loan (the rest of it goes back to the guarantor). A guarantor that pays takes over the lender's claim for what it paid
    /// (`guarantorPaid`): when its payment (or any later one) closes the loan, the collateral goes to
    /// it (stays locked for it while it is not an active member), never back to the borrower; after
    /// a default no goods are released in step. Refused while a claim's settlement waits for `collect`.
    function markDefault(uint256 loanId) external;
    /// @notice The lender writes off what is still owed after default; it takes the collateral.
    function writeOff(uint256 loanId) external;
    /// @notice The guarantor that paid for the borrower and closed the loan, while it could hold no asset
    /// (suspended or evicted), names an active member `to` that takes the collateral kept locked for it
    /// (itself, once active again): the goods do not stay locked for good. A claim's settlement waiting
    /// here is passed on by `collect` first.
    function assignCollateral(uint256 loanId, address to) external;
    /// @notice Control mechanism: a warning with a decision deadline.
    function warn(uint256 loanId, uint64 deadline) external;
    /// @notice Control mechanism: the lender continues; the loan runs on.
    function clearWarning(uint256 loanId) external;
    /// @notice Control mechanism: the loan is due now and its unspent money goes back to the lender,
    /// up to the debt, as a repayment (interest first).
    function recall(uint256 loanId) external;

    function getLoan(uint256 loanId) external view returns (Loan memory);
    function loanCount() external view returns (uint256);
    /// @notice The supply chain the borrower belonged to when it applied (set with `LoanApplied`).
    function loanChain(uint256 loanId) external view returns (uint64);
    /// @notice How many loans were applied for by members of `chainId`; with `chainLoanAt`, the
    /// index a fraud sweep walks in pages.
    function chainLoanCount(uint64 chainId) external view returns (uint256);
    function chainLoanAt(uint64 chainId, uint256 index) external view returns (uint256);
    /// @notice Interest accrued up to now (not yet paid), and everything owed now.
    function accruedInterest(uint256 loanId) external view returns (uint256);
    function outstanding(uint256 loanId) external view returns (uint256);
}
