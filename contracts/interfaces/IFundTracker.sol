// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Purpose-bound loan money (in the spirit of ERC-7291)
/// @notice A disbursement becomes tracked money of its loan, held here for the borrower. It can
/// only be paid to the payees the loan's purpose order allows — the order's seller, carrier and
/// destination warehouse, read from the OrderBook, never typed in — and each payment is a recorded
/// hop. Paid out, it is ordinary PlatformCash of the payee; a payment to the seller counts towards
/// the order. The control mechanism can freeze a loan's money; a recall or write-off in the
/// LoanBook revokes what is unspent back to the lender, as repayment of the loan.
interface IFundTracker {
    struct Funds {
        address borrower;
        address lender;
        address currency;
        uint256 orderId;
        uint256 disbursed;
        uint256 spent;
        uint256 returned;
        /// unspent money handed to the borrower once the loan was repaid (no longer purpose-bound)
        uint256 released;
        bool frozen;
    }

    event FundsOpened(
        uint256 indexed loanId, address indexed borrower, address indexed lender, address currency, uint256 orderId,
        uint256 amount
    );
    event FundsMoved(
        uint256 indexed loanId, address indexed from, address indexed to, uint256 amount, bytes32 purpose, uint256 hop
    );
    event FundsReleased(uint256 indexed loanId, address indexed borrower, uint256 amount);
    event FundsRevoked(uint256 indexed loanId, address indexed lender, uint256 amount, address indexed by);
    event FundsFrozen(uint256 indexed loanId, address indexed by);
    event FundsUnfrozen(uint256 indexed loanId, address indexed by);

    error FundsNotFound(uint256 loanId);
    error FundsAlreadyOpen(uint256 loanId);
    error FundsNotHolder(uint256 loanId, address caller);
    error FundsPayeeNotAllowed(uint256 loanId, address payee);
    error FundsPayeeNotActive(address payee);
    error FundsInsufficient(uint256 loanId, uint256 requested, uint256 unspent);
    error FundsAreFrozen(uint256 loanId);
    error FundsNotFrozen(uint256 loanId);
    error FundsZeroAmount();
    /// @notice Amounts are stored in 96 bits: `amount` is above `max`.
    error FundsOutOfRange(uint256 amount, uint256 max);
    /// @notice Paying `amount` to the carrier or warehouse `payee` would take what the purpose order's
    /// carrier and warehouse got from loan money beyond the order's amount; `available` is what is left.
    error FundsLogisticsCapExceeded(uint256 loanId, address payee, uint256 amount, uint256 available);

    /// @notice LoanBook: the loan's principal (`amount`) has been paid in; it is now tracked money of
    /// the loan's borrower.
    /// @dev The calling LoanBook keeps the loan's borrower, lender, currency and purpose order: this
    /// contract reads them back (`ILoanBook.fundingParties`) rather than storing them again.
    function open(uint256 loanId, uint256 amount) external;
    /// @notice The borrower pays an allowed payee of its loan (the LoanBook may pay for it).
    /// @dev What the purpose order's carrier and warehouse get from loan money, over all the loans of
    /// that order, is capped at the order's amount.
    function spend(uint256 loanId, address to, uint256 amount, bytes32 purpose) external;
    /// @notice LoanBook (recall, write-off): return unspent money to the lender, at most `maxAmount`
    /// (what the loan still owes; the rest stays tracked until the loan closes and releases it).
    function revoke(uint256 loanId, uint256 maxAmount) external returns (uint256 amount);
    /// @notice LoanBook: the loan is repaid; what is unspent becomes the borrower's own money.
    function release(uint256 loanId) external returns (uint256 amount);
    function freeze(uint256 loanId) external;
    function unfreeze(uint256 loanId) external;

    function getFunds(uint256 loanId) external view returns (Funds memory);
    function unspent(uint256 loanId) external view returns (uint256);
    /// @notice Where every unit of the loan's money is: unspent with the borrower, paid to each
    /// payee, returned to the lender, released to the borrower after repayment.
    function whereabouts(uint256 loanId)
        external
        view
        returns (
            address holder,
            uint256 held,
            address[] memory payees,
            uint256[] memory paid,
            uint256 returned,
            uint256 released
        );
    function isAllowedPayee(uint256 loanId, address payee) external view returns (bool);
    /// @notice Total tracked money held over all loans: what loans deposited and have not spent, returned
    /// or released. This contract's cash balance is at least this; cash anyone sends here directly is
    /// nobody's loan money and is not counted.
    function totalUnspent(address currency) external view returns (uint256);
}
