// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IMemberRegistry} from "./interfaces/IMemberRegistry.sol";
import {IOrderBook} from "./interfaces/IOrderBook.sol";
import {IFundTracker} from "./interfaces/IFundTracker.sol";

/// @title FundTracker
/// @notice Purpose-bound loan money. See {IFundTracker}.
/// @dev The money itself sits in this contract as PlatformCash; `_funds[loanId]` says whose it is.
/// Payees are at most three per loan (seller, carrier, warehouse of the purpose order), so the
/// per-loan payee list is bounded.
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

    IMemberRegistry public immutable registry;
    IOrderBook public immutable orders;

    mapping(uint256 => Funds) private _funds;
    mapping(uint256 => mapping(address => uint256)) private _paidTo;
    mapping(uint256 => address[]) private _payees;
    mapping(uint256 => uint256) private _hops;
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
    function open(uint256 loanId, address borrower, address lender, address currency, uint256 orderId, uint256 amount)
        external
        onlyRole(LOANBOOK_ROLE)
    {
        if (_funds[loanId].borrower != address(0)) revert FundsAlreadyOpen(loanId);
        if (amount == 0) revert FundsZeroAmount();
        _funds[loanId] = Funds({
            borrower: borrower,
            lender: lender,
            currency: currency,
            orderId: orderId,
            disbursed: amount,
            spent: 0,
            returned: 0,
            released: 0,
            frozen: false
        });
        _totalUnspent[currency] += amount;
        emit FundsOpened(loanId, borrower, lender, currency, orderId, amount);
    }

    /// @inheritdoc IFundTracker
    function spend(uint256 loanId, address to, uint256 amount, bytes32 purpose) external {
        Funds storage f = _open(loanId);
        // The borrower spends its loan money; the LoanBook pays a prepayment on its behalf.
        if (msg.sender != f.borrower && !hasRole(LOANBOOK_ROLE, msg.sender)) revert FundsNotHolder(loanId, msg.sender);
        if (msg.sender == f.borrower) {
            IMemberRegistry.Status s = registry.statusOf(msg.sender);
            if (s != IMemberRegistry.Status.Active) revert IMemberRegistry.MemberNotActive(msg.sender, s);
        }
        if (f.frozen) revert FundsAreFrozen(loanId);
        if (amount == 0) revert FundsZeroAmount();
        IOrderBook.Order memory o = orders.getOrder(f.orderId);
        if (!_allowed(o, to)) revert FundsPayeeNotAllowed(loanId, to);
        if (!registry.isActiveMember(to)) revert FundsPayeeNotActive(to);
        uint256 left = _unspent(f);
        if (amount > left) revert FundsInsufficient(loanId, amount, left);
        if (to != o.seller) {
            // Freight and storage are paid out of loan money only up to the purpose order's amount
            // (the order declares no fees): loan money cannot leave as unlimited "freight".
            uint256 logistics = _logisticsPaid[f.orderId];
            if (logistics + amount > o.amount) revert FundsLogisticsCapExceeded(loanId, to, amount, o.amount - logistics);
            _logisticsPaid[f.orderId] = logistics + amount;
        }
        f.spent += amount;
        _totalUnspent[f.currency] -= amount;
        if (_paidTo[loanId][to] == 0) _payees[loanId].push(to);
        _paidTo[loanId][to] += amount;
        uint256 hop = ++_hops[loanId];
        emit FundsMoved(loanId, f.borrower, to, amount, purpose, hop);
        // Paying the seller is paying for the order (before its invoice): it lowers what settlement
        // will ask.
        if (to == o.seller) orders.recordPrepayment(f.orderId, amount);
        IERC20(f.currency).safeTransfer(to, amount);
    }

    /// @inheritdoc IFundTracker
    function revoke(uint256 loanId, uint256 maxAmount) external onlyRole(LOANBOOK_ROLE) returns (uint256 amount) {
        Funds storage f = _open(loanId);
        amount = _unspent(f);
        if (amount > maxAmount) amount = maxAmount;
        if (amount == 0) return 0;
        f.returned += amount;
        _totalUnspent[f.currency] -= amount;
        emit FundsRevoked(loanId, f.lender, amount, msg.sender);
        IERC20(f.currency).safeTransfer(f.lender, amount);
    }

    /// @inheritdoc IFundTracker
    function release(uint256 loanId) external onlyRole(LOANBOOK_ROLE) returns (uint256 amount) {
        Funds storage f = _funds[loanId];
        if (f.borrower == address(0)) return 0; // never disbursed
        amount = _unspent(f);
        if (amount == 0) return 0;
        f.released += amount;
        _totalUnspent[f.currency] -= amount;
        emit FundsReleased(loanId, f.borrower, amount);
        IERC20(f.currency).safeTransfer(f.borrower, amount);
    }

    /// @inheritdoc IFundTracker
    function freeze(uint256 loanId) external onlyRole(CONTROLLER_ROLE) {
        Funds storage f = _open(loanId);
        if (f.frozen) revert FundsAreFrozen(loanId);
        f.frozen = true;
        emit FundsFrozen(loanId, msg.sender);
    }

    /// @inheritdoc IFundTracker
    function unfreeze(uint256 loanId) external onlyRole(CONTROLLER_ROLE) {
        Funds storage f = _open(loanId);
        if (!f.frozen) revert FundsNotFrozen(loanId);
        f.frozen = false;
        emit FundsUnfrozen(loanId, msg.sender);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IFundTracker
    function getFunds(uint256 loanId) external view returns (Funds memory) {
        return _funds[loanId];
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
        Funds storage f = _funds[loanId];
        holder = f.borrower;
        held = unspent(loanId);
        payees = _payees[loanId];
        paid = new uint256[](payees.length);
        for (uint256 i = 0; i < payees.length; ++i) {
            paid[i] = _paidTo[loanId][payees[i]];
        }
        returned = f.returned;
        released = f.released;
    }

    /// @inheritdoc IFundTracker
    function isAllowedPayee(uint256 loanId, address payee) external view returns (bool) {
        Funds storage f = _funds[loanId];
        if (f.borrower == address(0)) return false;
        return _allowed(orders.getOrder(f.orderId), payee);
    }

    /// @inheritdoc IFundTracker
    function totalUnspent(address currency) external view returns (uint256) {
        return _totalUnspent[currency];
    }

    // ---------------------------------------------------------------- internal

    function _unspent(Funds storage f) internal view returns (uint256) {
        return f.disbursed - f.spent - f.returned - f.released;
    }

    function _open(uint256 loanId) internal view returns (Funds storage f) {
        f = _funds[loanId];
        if (f.borrower == address(0)) revert FundsNotFound(loanId);
    }

    /// Allowed payees come from the purpose order: its seller, and once shipped its carrier and
    /// destination warehouse. Never the borrower itself.
    function _allowed(IOrderBook.Order memory o, address payee) internal pure returns (bool) {
        if (payee == address(0) || payee == o.buyer) return false;
        return payee == o.seller || payee == o.carrier || payee == o.warehouse;
    }
}
