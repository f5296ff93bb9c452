// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IMemberRegistry} from "./interfaces/IMemberRegistry.sol";
import {IOrderBook} from "./interfaces/IOrderBook.sol";
import {IFundTracker} from "./interfaces/IFundTracker.sol";
import {ILoanBook} from "./interfaces/ILoanBook.sol";

/// @title FundTracker
/// @notice Purpose-bound loan money. See {IFundTracker}.
/// @dev The money itself sits in this contract as PlatformCash; `_funds[loanId]` counts it, and the
/// LoanBook that opened it says whose it is (borrower, lender, currency, purpose order: kept there
/// once, read back here). Payees are at most three per loan (seller, carrier, warehouse of the purpose
/// order), kept as their roles in the order of first payment.
contract FundTracker is IFundTracker, AccessControl {
    using SafeERC20 for IERC20;

    /// @notice Wires this contract to the other platform contracts (the roles below that name a contract),
    /// held by the deployer only while it deploys: it is its own admin and the deployer renounces it at
    /// the end of the deployment, so from then on nobody (neither the operator nor the council) can grant
    /// or revoke those roles.
    bytes32 public constant WIRING_ROLE = keccak256("WIRING_ROLE");
    /// @notice The LoanBook: opens funds, pays prepayments for borrowers, revokes on recall and
    /// write-off (only the LoanBook, so that every revoked unit is counted as repayment of its loan).
    bytes32 public constant LOANBOOK_ROLE = keccak256("LOANBOOK_ROLE");
    /// @notice The control mechanism (RiskControl): freezes and unfreezes; it recalls through the LoanBook.
    bytes32 public constant CONTROLLER_ROLE = keccak256("CONTROLLER_ROLE");

    /// Payee roles (2 bits each in `payeeRoles`).
    uint8 private constant SELLER = 1;
    uint8 private constant CARRIER = 2;
    uint8 private constant WAREHOUSE = 3;

    IMemberRegistry public immutable registry;
    IOrderBook public immutable orders;

    /// A loan's money as stored: amounts in 96 bits (the LoanBook's), the LoanBook that opened it
    /// (which holds the loan's parties) in the slot written by `open`. What was paid to each of the (at
    /// most three) payees is kept by role (spent is their sum): the seller's beside the hop count, the
    /// payees' order and what was released to the borrower (a prepayment and the release at repayment
    /// update one slot), the carrier's and warehouse's in a third; what went back to the lender in a
    /// fourth.
    struct StoredFunds {
        // slot 0
        ILoanBook loanBook;
        uint96 disbursed;
        // slot 1
        uint96 paidSeller;
        uint96 released;
        uint32 hops;
        /// 2 bits per payee in the order of their first payment: 1 seller, 2 carrier, 3 warehouse
        uint8 payeeRoles;
        bool frozen;
        // slot 2
        uint96 paidCarrier;
        uint96 paidWarehouse;
        // slot 3
        uint96 returned;
    }

    /// The parties of a loan's money, read from its LoanBook.
    struct Parties {
        address borrower;
        address lender;
        address currency;
        uint256 orderId;
    }

    /// The purpose order's parties and amount.
    struct Payees {
        address buyer;
        address seller;
        address carrier;
        address warehouse;
        uint256 amount;
    }

    mapping(uint256 => StoredFunds) private _funds;
    mapping(address => uint256) private _totalUnspent;
    /// loan money paid to an order's carrier and warehouse (freight, storage), over all its loans
    mapping(uint256 => uint256) private _logisticsPaid;

    constructor(IMemberRegistry registry_, IOrderBook orders_, address operator) {
        registry = registry_;
        orders = orders_;
        _grantRole(DEFAULT_ADMIN_ROLE, operator);
        _grantRole(WIRING_ROLE, operator);
        _setRoleAdmin(WIRING_ROLE, WIRING_ROLE);
        _setRoleAdmin(LOANBOOK_ROLE, WIRING_ROLE);
        _setRoleAdmin(CONTROLLER_ROLE, WIRING_ROLE);
    }

    /// @inheritdoc IFundTracker
    function open(uint256 loanId, uint256 amount) external onlyRole(LOANBOOK_ROLE) {
        StoredFunds storage f = _funds[loanId];
        if (f.disbursed != 0) revert FundsAlreadyOpen(loanId);
        if (amount == 0) revert FundsZeroAmount();
        if (amount > type(uint96).max) revert FundsOutOfRange(amount, type(uint96).max);
        // One slot: the opening LoanBook keeps the loan's parties; the range check above keeps the amount.
        (f.loanBook, f.disbursed) = (ILoanBook(msg.sender), uint96(amount));
        Parties memory p = _parties(loanId, f);
        _totalUnspent[p.currency] += amount;
        emit FundsOpened(loanId, p.borrower, p.lender, p.currency, p.orderId, amount);
    }

    /// @inheritdoc IFundTracker
    function spend(uint256 loanId, address to, uint256 amount, bytes32 purpose) external {
        StoredFunds storage f = _open(loanId);
        Parties memory p = _parties(loanId, f);
        // The borrower spends its loan money; the LoanBook pays a prepayment on its behalf.
        if (msg.sender != p.borrower && !hasRole(LOANBOOK_ROLE, msg.sender)) revert FundsNotHolder(loanId, msg.sender);
        if (msg.sender == p.borrower) {
            IMemberRegistry.Status s = registry.statusOf(msg.sender);
            if (s != IMemberRegistry.Status.Active) revert IMemberRegistry.MemberNotActive(msg.sender, s);
        }
        if (f.frozen) revert FundsAreFrozen(loanId);
        if (amount == 0) revert FundsZeroAmount();
        Payees memory o = _payeesOf(p.orderId);
        uint8 role = _role(o, to);
        if (role == 0) revert FundsPayeeNotAllowed(loanId, to);
        if (!registry.isActiveMember(to)) revert FundsPayeeNotActive(to);
        uint256 left = _unspent(f);
        if (amount > left) revert FundsInsufficient(loanId, amount, left);
        if (role != SELLER) {
            // Freight and storage are paid out of loan money only up to the purpose order's amount
            // (the order declares no fees): loan money cannot leave as unlimited "freight".
            uint256 logistics = _logisticsPaid[p.orderId];
            if (logistics + amount > o.amount) revert FundsLogisticsCapExceeded(loanId, to, amount, o.amount - logistics);
            _logisticsPaid[p.orderId] = logistics + amount;
        }
        // At most what is unspent (a 96-bit amount) is paid. A loan has at most three payees (2 bits
        // each, in the order of their first payment).
        uint96 paid = _paid(f, role);
        (uint8 roles, uint32 hop) = (f.payeeRoles, f.hops + 1);
        if (paid == 0) roles |= role << (2 * _count(roles));
        (f.hops, f.payeeRoles) = (hop, roles);
        paid += uint96(amount);
        if (role == SELLER) f.paidSeller = paid;
        else if (role == CARRIER) f.paidCarrier = paid;
        else f.paidWarehouse = paid;
        _totalUnspent[p.currency] -= amount;
        emit FundsMoved(loanId, p.borrower, to, amount, purpose, hop);
        // Paying the seller is paying for the order (before its invoice): it lowers what settlement
        // will ask.
        if (role == SELLER) orders.recordPrepayment(p.orderId, amount);
        IERC20(p.currency).safeTransfer(to, amount);
    }

    /// @inheritdoc IFundTracker
    function revoke(uint256 loanId, uint256 maxAmount) external onlyRole(LOANBOOK_ROLE) returns (uint256 amount) {
        StoredFunds storage f = _open(loanId);
        amount = _unspent(f);
        if (amount > maxAmount) amount = maxAmount;
        if (amount == 0) return 0;
        Parties memory p = _parties(loanId, f);
        // At most what is unspent, a 96-bit amount.
        f.returned += uint96(amount);
        _totalUnspent[p.currency] -= amount;
        emit FundsRevoked(loanId, p.lender, amount, msg.sender);
        IERC20(p.currency).safeTransfer(p.lender, amount);
    }

    /// @inheritdoc IFundTracker
    function release(uint256 loanId) external onlyRole(LOANBOOK_ROLE) returns (uint256 amount) {
        StoredFunds storage f = _funds[loanId];
        if (f.disbursed == 0) return 0; // never disbursed
        amount = _unspent(f);
        if (amount == 0) return 0;
        Parties memory p = _parties(loanId, f);
        // At most what is unspent, a 96-bit amount.
        f.released += uint96(amount);
        _totalUnspent[p.currency] -= amount;
        emit FundsReleased(loanId, p.borrower, amount);
        IERC20(p.currency).safeTransfer(p.borrower, amount);
    }

    /// @inheritdoc IFundTracker
    function freeze(uint256 loanId) external onlyRole(CONTROLLER_ROLE) {
        StoredFunds storage f = _open(loanId);
        if (f.frozen) revert FundsAreFrozen(loanId);
        f.frozen = true;
        emit FundsFrozen(loanId, msg.sender);
    }

    /// @inheritdoc IFundTracker
    function unfreeze(uint256 loanId) external onlyRole(CONTROLLER_ROLE) {
        StoredFunds storage f = _open(loanId);
        if (!f.frozen) revert FundsNotFrozen(loanId);
        f.frozen = false;
        emit FundsUnfrozen(loanId, msg.sender);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IFundTracker
    function getFunds(uint256 loanId) external view returns (Funds memory funds) {
        StoredFunds storage f = _funds[loanId];
        if (f.disbursed == 0) return funds;
        Parties memory p = _parties(loanId, f);
        (funds.borrower, funds.lender, funds.currency, funds.orderId) = (p.borrower, p.lender, p.currency, p.orderId);
        (funds.disbursed, funds.spent, funds.returned, funds.released, funds.frozen) =
            (f.disbursed, _spent(f), f.returned, f.released, f.frozen);
    }

    /// @inheritdoc IFundTracker
    function unspent(uint256 loanId) public view returns (uint256) {
        return _unspent(_funds[loanId]);
    }

    /// @inheritdoc IFundTracker
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
        )
    {
        StoredFunds storage f = _funds[loanId];
        if (f.disbursed == 0) return (holder, held, payees, paid, returned, released);
        Parties memory p = _parties(loanId, f);
        holder = p.borrower;
        held = unspent(loanId);
        Payees memory o = _payeesOf(p.orderId);
        uint8 roles = f.payeeRoles;
        payees = new address[](_count(roles));
        paid = new uint256[](payees.length);
        for (uint256 i = 0; i < payees.length; ++i) {
            uint8 role = (roles >> (2 * i)) & 3;
            payees[i] = role == SELLER ? o.seller : role == CARRIER ? o.carrier : o.warehouse;
            paid[i] = _paid(f, role);
        }
        returned = f.returned;
        released = f.released;
    }

    /// @inheritdoc IFundTracker
    function isAllowedPayee(uint256 loanId, address payee) external view returns (bool) {
        StoredFunds storage f = _funds[loanId];
        if (f.disbursed == 0) return false;
        return _role(_payeesOf(_parties(loanId, f).orderId), payee) != 0;
    }

    /// @inheritdoc IFundTracker
    function totalUnspent(address currency) external view returns (uint256) {
        return _totalUnspent[currency];
    }

    // ---------------------------------------------------------------- internal

    function _unspent(StoredFunds storage f) internal view returns (uint256) {
        return uint256(f.disbursed) - _spent(f) - f.returned - f.released;
    }

    /// Everything paid out to payees.
    function _spent(StoredFunds storage f) internal view returns (uint256) {
        return uint256(f.paidSeller) + f.paidCarrier + f.paidWarehouse;
    }

    /// What was paid to the payee of `role`.
    function _paid(StoredFunds storage f, uint8 role) internal view returns (uint96) {
        if (role == SELLER) return f.paidSeller;
        return role == CARRIER ? f.paidCarrier : f.paidWarehouse;
    }

    function _open(uint256 loanId) internal view returns (StoredFunds storage f) {
        f = _funds[loanId];
        if (f.disbursed == 0) revert FundsNotFound(loanId);
    }

    /// The loan's parties, kept by the LoanBook that opened its money.
    function _parties(uint256 loanId, StoredFunds storage f) internal view returns (Parties memory p) {
        (p.borrower, p.lender, p.currency, p.orderId) = f.loanBook.fundingParties(loanId);
    }

    /// The purpose order's parties and amount (who may be paid, and the logistics cap).
    function _payeesOf(uint256 orderId) internal view returns (Payees memory o) {
        (o.buyer, o.seller, o.carrier, o.warehouse, o.amount) = orders.orderParties(orderId);
    }

    /// Allowed payees come from the purpose order: its seller, and once shipped its carrier and
    /// destination warehouse. Never the borrower itself. Returns the payee's role (0: not allowed).
    function _role(Payees memory o, address payee) internal pure returns (uint8) {
        if (payee == address(0) || payee == o.buyer) return 0;
        if (payee == o.seller) return SELLER;
        if (payee == o.carrier) return CARRIER;
        return payee == o.warehouse ? WAREHOUSE : 0;
    }

    /// How many payees a roles byte lists.
    function _count(uint8 roles) internal pure returns (uint256 n) {
        while (roles >> (2 * n) != 0) ++n;
    }
}
