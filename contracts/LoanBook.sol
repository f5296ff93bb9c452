// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IMemberRegistry} from "./interfaces/IMemberRegistry.sol";
import {IOrderBook} from "./interfaces/IOrderBook.sol";
import {IAssetRegistry} from "./interfaces/IAssetRegistry.sol";
import {IFundTracker} from "./interfaces/IFundTracker.sol";
import {ILoanBook} from "./interfaces/ILoanBook.sol";

/// @title LoanBook
/// @notice The four financing modes on one lifecycle. See {ILoanBook}.
/// @dev Money paths: the lender's principal goes to the FundTracker (tracked, purpose-bound);
/// repayments go from the payer straight to the lender; a receivable or payable is settled by the
/// debtor to this contract (the OrderBook redirects the order's payee here) and `collect` passes it
/// on. This contract is a PlatformCash payment agent so that suspended or evicted borrowers can
/// still repay.
contract LoanBook is ILoanBook, AccessControl {
    using SafeERC20 for IERC20;

    /// @notice Wires this contract to the other platform contracts (the roles below that name a contract),
    /// held by the deployer only while it deploys: it is its own admin and the deployer renounces it at
    /// the end of the deployment, so from then on nobody (neither the operator nor the council) can grant
    /// or revoke those roles.
    bytes32 public constant WIRING_ROLE = keccak256("WIRING_ROLE");
    /// @notice The control mechanism (RiskControl): warns, clears warnings, recalls.
    bytes32 public constant CONTROLLER_ROLE = keccak256("CONTROLLER_ROLE");

    uint256 public constant BPS = 10_000;
    uint256 public constant YEAR = 365 days;
    /// @notice A loan can be declared defaulted this long after its maturity.
    uint64 public constant GRACE_PERIOD = 7 days;
    /// @notice An approval can be disbursed this long; then the borrower may withdraw the loan.
    uint64 public constant APPROVAL_VALIDITY = 30 days;
    /// @notice Highest annual rate accepted (36 %), a usury guard.
    uint32 public constant MAX_RATE_BPS = 3_600;

    IMemberRegistry public immutable registry;
    IOrderBook public immutable orders;
    IAssetRegistry public immutable assets;
    IFundTracker public immutable funds;

    mapping(uint256 => Loan) private _loans;
    uint256 private _loanCount;
    /// the borrower's supply chain when it applied, and each chain's loans (for a fraud sweep)
    mapping(uint256 => uint64) private _loanChain;
    mapping(uint64 => uint256[]) private _chainLoans;

    constructor(IMemberRegistry registry_, IOrderBook orders_, IAssetRegistry assets_, IFundTracker funds_, address operator) {
        registry = registry_;
        orders = orders_;
        assets = assets_;
        funds = funds_;
        _grantRole(DEFAULT_ADMIN_ROLE, operator);
        _grantRole(WIRING_ROLE, operator);
        _setRoleAdmin(WIRING_ROLE, WIRING_ROLE);
        _setRoleAdmin(CONTROLLER_ROLE, WIRING_ROLE);
    }

    // ---------------------------------------------------------------- origination

    /// @inheritdoc ILoanBook
    function applyForLoan(Application calldata a) external returns (uint256 loanId) {
        if (!_isTrader(msg.sender)) revert LoanBorrowerNotTrader(msg.sender);
        if (!registry.isActive(a.lender, IMemberRegistry.Role.Financier)) revert LoanLenderNotFinancier(a.lender);
        if (a.principal == 0) revert LoanZeroPrincipal();
        if (a.rateBps > MAX_RATE_BPS) revert LoanRateTooHigh(a.rateBps);
        if (a.termSeconds == 0) revert LoanZeroTerm();
        IAssetRegistry.Asset memory asset = _financeable(a.assetId, a.mode);
        if (IERC721Owner(address(assets)).ownerOf(a.assetId) != msg.sender) {
            revert LoanNotAssetOwner(a.assetId, msg.sender);
        }
        // Prepayment finances exactly the order whose goods are pledged.
        uint256 orderId = a.mode == Mode.Prepayment ? asset.orderId : a.purposeOrderId;
        IOrderBook.Order memory o = orders.getOrder(orderId);
        if (o.buyer != msg.sender || o.status == IOrderBook.OrderStatus.None || o.status >= IOrderBook.OrderStatus.Settled) {
            revert LoanBadPurposeOrder(orderId);
        }
        if (o.currency != asset.currency) revert LoanCurrencyMismatch(asset.currency, o.currency);
        uint64 chainId = registry.chainOf(msg.sender);
        if (a.guarantor != address(0)) {
            if (!_isCoreOfChain(a.guarantor, chainId)) revert LoanGuarantorNotCore(a.guarantor);
        } else if (a.mode == Mode.Pledge) {
            // The paper's pledge: the core enterprise guarantees the credit-granted supplier.
            revert LoanGuarantorRequired();
        }
        loanId = ++_loanCount;
        Loan storage l = _loans[loanId];
        l.mode = a.mode;
        l.status = LoanStatus.Applied;
        l.borrower = msg.sender;
        l.lender = a.lender;
        l.guarantor = a.guarantor;
        l.currency = asset.currency;
        l.assetId = a.assetId;
        l.purposeOrderId = orderId;
        l.principal = a.principal;
        l.rateBps = a.rateBps;
        l.termSeconds = a.termSeconds;
        _loanChain[loanId] = chainId;
        _chainLoans[chainId].push(loanId);
        _emitApplied(loanId, l);
    }

    /// @inheritdoc ILoanBook
    function approve(uint256 loanId, uint16 ltvBps, address supervisor) external {
        Loan storage l = _lenderAction(loanId, LoanStatus.Applied);
        if (ltvBps == 0 || ltvBps > BPS) revert LoanBadLtv(ltvBps);
        IAssetRegistry.Asset memory asset = _financeable(l.assetId, l.mode);
        // The collateral must still be the borrower's: it may have been transferred since the application.
        if (IERC721Owner(address(assets)).ownerOf(l.assetId) != l.borrower) {
            revert LoanNotAssetOwner(l.assetId, l.borrower);
        }
        uint256 limit = asset.value * ltvBps / BPS;
        if (l.principal > limit) revert LoanLtvExceeded(l.principal, limit);
        if (l.mode == Mode.Pledge) {
            // The supervisor is the warehouse that holds the pledged goods.
            if (supervisor != asset.obligor || !registry.isActive(supervisor, IMemberRegistry.Role.Warehouse)) {
                revert LoanSupervisorNotCustodian(supervisor, asset.obligor);
            }
            l.supervisor = supervisor;
        }
        l.ltvBps = ltvBps;
        l.status = LoanStatus.Approved;
        l.collateralQuantity = asset.quantity;
        l.expiresAt = uint64(block.timestamp) + APPROVAL_VALIDITY;
        emit LoanApproved(loanId, ltvBps, l.supervisor, asset.quantity);
        assets.lock(l.assetId, loanId);
        // The debtor's payment of a financed invoice comes here, for the lender.
        if (l.mode == Mode.Receivable || l.mode == Mode.Payable) {
            orders.redirectSettlement(asset.orderId, address(this));
        }
    }

    /// @inheritdoc ILoanBook
    function reject(uint256 loanId, bytes32 reason) external {
        Loan storage l = _loan(loanId);
        if (l.lender != msg.sender) revert LoanNotLender(loanId, msg.sender);
        bool approved = _endUndisbursed(loanId, l, LoanStatus.Rejected);
        _requireActive(msg.sender);
        emit LoanRejected(loanId, reason);
        _releaseUndisbursed(loanId, l, approved);
    }

    /// @inheritdoc ILoanBook
    function withdraw(uint256 loanId) external {
        Loan storage l = _loan(loanId);
        // The guarantor too: its commitment must not stay held by a loan its borrower leaves idle.
        if (l.borrower != msg.sender && l.guarantor != msg.sender) revert LoanNotBorrower(loanId, msg.sender);
        // An approval binds the borrower until it expires, unless its lender can no longer act on it.
        if (
            l.status == LoanStatus.Approved && block.timestamp <= l.expiresAt
                && registry.statusOf(l.lender) == IMemberRegistry.Status.Active
        ) revert LoanApprovalNotExpired(loanId, l.expiresAt, uint64(block.timestamp));
        bool approved = _endUndisbursed(loanId, l, LoanStatus.Withdrawn);
        emit LoanWithdrawn(loanId, msg.sender);
        _releaseUndisbursed(loanId, l, approved);
    }

    /// @inheritdoc ILoanBook
    function signGuarantee(uint256 loanId) external {
        Loan storage l = _loan(loanId);
        if (l.guarantor != msg.sender || l.guaranteeSigned) revert LoanNotGuarantor(loanId, msg.sender);
        if (l.status != LoanStatus.Applied && l.status != LoanStatus.Approved) revert LoanWrongStatus(loanId, l.status);
        _requireActive(msg.sender);
        // The commitment is taken now and held for this loan alone: it cannot be withdrawn, and a second
        // loan needs a second commitment.
        IERC20 cash = IERC20(l.currency);
        uint256 available = _min(cash.allowance(msg.sender, address(this)), cash.balanceOf(msg.sender));
        if (available < l.principal) revert LoanGuaranteeNotFunded(loanId, available, l.principal);
        l.guaranteeSigned = true;
        l.guaranteeHeld = l.principal;
        emit GuaranteeSigned(loanId, msg.sender, l.principal);
        cash.safeTransferFrom(msg.sender, address(this), l.principal);
    }

    /// @inheritdoc ILoanBook
    function disburse(uint256 loanId) external {
        Loan storage l = _lenderAction(loanId, LoanStatus.Approved);
        if (l.guarantor != address(0) && !l.guaranteeSigned) revert LoanGuaranteeMissing(loanId);
        if (block.timestamp > l.expiresAt) revert LoanApprovalExpired(loanId, l.expiresAt, uint64(block.timestamp));
        l.status = LoanStatus.Disbursed;
        l.disbursedAt = uint64(block.timestamp);
        l.lastAccrual = uint64(block.timestamp);
        l.maturity = uint64(block.timestamp) + l.termSeconds;
        emit LoanDisbursed(loanId, l.principal, l.maturity);
        IERC20(l.currency).safeTransferFrom(msg.sender, address(funds), l.principal);
        funds.open(loanId, l.borrower, l.lender, l.currency, l.purposeOrderId, l.principal);
        if (l.mode == Mode.Prepayment) {
            // The lender pays the supplier directly (the order's seller), for the borrower.
            funds.spend(loanId, orders.getOrder(l.purposeOrderId).seller, l.principal, "prepayment");
        }
    }

    // ---------------------------------------------------------------- servicing

    /// @inheritdoc ILoanBook
    function repay(uint256 loanId, uint256 amount) external {
        Loan storage l = _loan(loanId);
        if (!_running(l.status) && l.status != LoanStatus.Defaulted) revert LoanWrongStatus(loanId, l.status);
        if (amount == 0) revert LoanZeroAmount();
        // A lender paying itself moves no money: forgiving a debt is a write-off, not a repayment.
        if (msg.sender == l.lender) revert LoanLenderCannotRepay(loanId);
        // A restricted member pays only what it owes itself (as borrower or guarantor): the payment-agent
        // rule must not let it move money into anyone else's loan.
        if (msg.sender != l.borrower && msg.sender != l.guarantor) {
            IMemberRegistry.Status s = registry.statusOf(msg.sender);
            if (s != IMemberRegistry.Status.Active) revert LoanPayerRestricted(loanId, msg.sender, uint8(s));
        }
        _accrue(loanId, l);
        uint256 owed = _owed(l);
        if (owed == 0) revert LoanNothingOwed(loanId);
        uint256 pay = amount < owed ? amount : owed;
        IERC20(l.currency).safeTransferFrom(msg.sender, l.lender, pay);
        _applyPayment(loanId, l, msg.sender, pay);
    }

    /// @inheritdoc ILoanBook
    function collect(uint256 loanId) external {
        Loan storage l = _loan(loanId);
        if (l.mode != Mode.Receivable && l.mode != Mode.Payable) revert LoanNotSettlementMode(loanId, l.mode);
        IAssetRegistry.Asset memory asset = assets.getAsset(l.assetId);
        // The settlement comes here only while the claim is locked to the loan: once the loan closed
        // before settlement (or was written off) it went to the creditor (or the lender) directly.
        if (l.settlementCollected || l.status == LoanStatus.Approved || asset.lockedBy != loanId) {
            revert LoanWrongStatus(loanId, l.status);
        }
        IOrderBook.Order memory o = orders.getOrder(asset.orderId);
        if (o.status != IOrderBook.OrderStatus.Settled) revert LoanOrderNotSettled(asset.orderId);
        l.settlementCollected = true;
        // What the debtor paid: the order less any loan money paid to the seller ahead of settlement
        // (which may have grown since the claim was registered).
        uint256 received = o.amount - o.prepaid;
        uint256 toLender;
        // Only a loan still owing takes from the settlement (not a repaid or rejected one).
        if (_running(l.status) || l.status == LoanStatus.Defaulted) {
            _accrue(loanId, l);
            uint256 owed = _owed(l);
            toLender = received < owed ? received : owed;
        }
        uint256 surplus = received - toLender;
        emit SettlementCollected(loanId, received, toLender, surplus);
        if (toLender != 0) {
            IERC20(l.currency).safeTransfer(l.lender, toLender);
            _applyPayment(loanId, l, asset.obligor, toLender);
        }
        // After a guarantor paid for the borrower, the claim's surplus is its security, not the borrower's.
        if (surplus != 0) IERC20(l.currency).safeTransfer(l.guarantorPaid != 0 ? l.guarantor : l.borrower, surplus);
        // The paid claim is consumed.
        if (assets.getAsset(l.assetId).lockedBy == loanId) assets.unlock(l.assetId, loanId, true);
    }

    /// @inheritdoc ILoanBook
    function convertCollateral(uint256 loanId, uint256 receiptId) external {
        Loan storage l = _loan(loanId);
        if (l.mode != Mode.Prepayment) revert LoanNotSettlementMode(loanId, l.mode);
        // The lender chooses the goods that secure its loan.
        if (l.lender != msg.sender) revert LoanNotLender(loanId, msg.sender);
        _requireActive(msg.sender);
        if (!_running(l.status)) revert LoanWrongStatus(loanId, l.status);
        IAssetRegistry.Asset memory right = assets.getAsset(l.assetId);
        IAssetRegistry.Asset memory receipt = assets.getAsset(receiptId);
        // The receipt must be for the financed order's goods, issued by its warehouse, for the borrower.
        if (
            right.kind != IAssetRegistry.AssetKind.FutureGoods || receipt.kind != IAssetRegistry.AssetKind.WarehouseReceipt
                || receipt.orderId != l.purposeOrderId || IERC721Owner(address(assets)).ownerOf(receiptId) != l.borrower
        ) revert LoanReceiptMismatch(loanId, receiptId);
        uint256 fromAsset = l.assetId;
        assets.unlock(fromAsset, loanId, true);
        assets.lock(receiptId, loanId);
        l.assetId = receiptId;
        l.supervisor = receipt.obligor;
        // Goods already paid for by repayments so far are released at once.
        l.collateralQuantity = receipt.quantity;
        emit CollateralConverted(loanId, fromAsset, receiptId, receipt.quantity);
        _releaseInStep(loanId, l);
    }

    /// @inheritdoc ILoanBook
    function markDefault(uint256 loanId) external {
        Loan storage l = _loan(loanId);
        if (l.lender == msg.sender) {
            // A suspended lender waits for its review; an evicted one still winds its claims down.
            IMemberRegistry.Status s = registry.statusOf(msg.sender);
            if (s == IMemberRegistry.Status.Suspended) revert IMemberRegistry.MemberNotActive(msg.sender, s);
        } else {
            // Once the lender is no longer active the guarantor may declare it too, or the loan would never
            // end and the guarantor's commitment stay held for good.
            if (l.guarantor != msg.sender) revert LoanNotLender(loanId, msg.sender);
            if (registry.isActiveMember(l.lender)) revert LoanLenderStillActive(loanId, l.lender);
        }
        if (!_running(l.status)) revert LoanWrongStatus(loanId, l.status);
        uint64 defaultableAt = l.maturity + GRACE_PERIOD;
        if (block.timestamp <= defaultableAt) revert LoanNotMature(loanId, defaultableAt, uint64(block.timestamp));
        _requireNothingToCollect(loanId, l);
        _accrue(loanId, l);
        // Loan money not yet spent goes back to the lender first, as on a recall, booked as repayment
        // (any more than the debt is the borrower's own, released when the returned money closes the
        // loan). Nothing stays tracked: a defaulted loan's money cannot be spent any more.
        uint256 back = funds.revoke(loanId, _owed(l));
        if (back != 0) _applyPayment(loanId, l, address(funds), back);
        if (l.status == LoanStatus.Repaid) return; // the returned money covered it all
        l.status = LoanStatus.Defaulted;
        l.defaultedAt = uint64(block.timestamp);
        emit LoanDefaulted(loanId, _owed(l));
        // The guarantor is charged, out of the commitment held for this loan, only for what is really
        // lost; the rest goes back to it. What it pays, it takes over of the lender's claim
        // (`guarantorPaid`, subrogation).
        uint256 take = _min(_owed(l), l.guaranteeHeld);
        if (take != 0) {
            l.guaranteeHeld -= take;
            l.guarantorPaid += take;
            emit GuaranteeCalled(loanId, l.guarantor, take);
            IERC20(l.currency).safeTransfer(l.lender, take);
            _applyPayment(loanId, l, l.guarantor, take);
        }
        _releaseGuarantee(loanId, l);
    }

    /// @inheritdoc ILoanBook
    function writeOff(uint256 loanId) external {
        Loan storage l = _lenderAction(loanId, LoanStatus.Defaulted);
        // The loan's unspent money came back to the lender when it was declared defaulted.
        uint256 loss = _owed(l);
        l.writtenOff = loss;
        l.status = LoanStatus.WrittenOff;
        emit LoanWrittenOff(loanId, loss);
        _handOver(loanId, l, l.lender);
    }

    /// @inheritdoc ILoanBook
    function assignCollateral(uint256 loanId, address to) external {
        Loan storage l = _loan(loanId);
        if (l.guarantor != msg.sender) revert LoanNotGuarantor(loanId, msg.sender);
        // Only the collateral kept for a guarantor that paid and closed the loan is the guarantor's.
        uint256 lockedBy = assets.getAsset(l.assetId).lockedBy;
        if (l.guarantorPaid == 0 || l.status != LoanStatus.Repaid || lockedBy != loanId) {
            revert LoanNoCollateralKept(loanId, l.guarantorPaid, lockedBy);
        }
        _requireActive(to);
        _handOver(loanId, l, to);
    }

    // ---------------------------------------------------------------- control mechanism

    /// @inheritdoc ILoanBook
    function warn(uint256 loanId, uint64 deadline) external onlyRole(CONTROLLER_ROLE) {
        Loan storage l = _loan(loanId);
        if (l.status != LoanStatus.Disbursed) revert LoanWrongStatus(loanId, l.status);
        _accrue(loanId, l);
        l.status = LoanStatus.Warned;
        l.warningDeadline = deadline;
        emit LoanWarned(loanId, deadline);
    }

    /// @inheritdoc ILoanBook
    function clearWarning(uint256 loanId) external onlyRole(CONTROLLER_ROLE) {
        Loan storage l = _loan(loanId);
        if (l.status != LoanStatus.Warned) revert LoanWrongStatus(loanId, l.status);
        l.status = LoanStatus.Disbursed;
        l.warningDeadline = 0;
        emit WarningCleared(loanId);
    }

    /// @inheritdoc ILoanBook
    function recall(uint256 loanId) external onlyRole(CONTROLLER_ROLE) {
        Loan storage l = _loan(loanId);
        if (l.status != LoanStatus.Disbursed && l.status != LoanStatus.Warned) revert LoanWrongStatus(loanId, l.status);
        _accrue(loanId, l);
        l.status = LoanStatus.Recalled;
        l.maturity = uint64(block.timestamp);
        l.warningDeadline = 0;
        // Unspent loan money goes back to the lender, up to the debt (any more is released to the
        // borrower when the returned money closes the loan).
        uint256 back = funds.revoke(loanId, _owed(l));
        emit LoanRecalled(loanId, back);
        if (back != 0) _applyPayment(loanId, l, address(funds), back);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc ILoanBook
    function getLoan(uint256 loanId) external view returns (Loan memory) {
        return _loans[loanId];
    }

    /// @inheritdoc ILoanBook
    function loanCount() external view returns (uint256) {
        return _loanCount;
    }

    /// @inheritdoc ILoanBook
    function loanChain(uint256 loanId) external view returns (uint64) {
        return _loanChain[loanId];
    }

    /// @inheritdoc ILoanBook
    function chainLoanCount(uint64 chainId) external view returns (uint256) {
        return _chainLoans[chainId].length;
    }

    /// @inheritdoc ILoanBook
    function chainLoanAt(uint64 chainId, uint256 index) external view returns (uint256) {
        return _chainLoans[chainId][index];
    }

    /// @inheritdoc ILoanBook
    function accruedInterest(uint256 loanId) public view returns (uint256) {
        Loan storage l = _loans[loanId];
        return l.interestAccrued - l.interestPaid + _pendingInterest(l);
    }

    /// @inheritdoc ILoanBook
    function outstanding(uint256 loanId) external view returns (uint256) {
        Loan storage l = _loans[loanId];
        return _owed(l) + _pendingInterest(l);
    }

    // ---------------------------------------------------------------- internal

    /// Split out of applyForLoan to keep its stack shallow.
    function _emitApplied(uint256 loanId, Loan storage l) internal {
        emit LoanApplied(
            loanId, l.mode, l.borrower, l.lender, l.guarantor, l.assetId, l.purposeOrderId, l.currency, l.principal,
            l.rateBps, l.termSeconds
        );
    }

    function _loan(uint256 loanId) internal view returns (Loan storage l) {
        l = _loans[loanId];
        if (l.status == LoanStatus.None) revert LoanNotFound(loanId);
    }

    function _lenderAction(uint256 loanId, LoanStatus expected) internal view returns (Loan storage l) {
        l = _loan(loanId);
        if (l.lender != msg.sender) revert LoanNotLender(loanId, msg.sender);
        if (l.status != expected) revert LoanWrongStatus(loanId, l.status);
        _requireActive(msg.sender);
    }

    function _running(LoanStatus s) internal pure returns (bool) {
        return s == LoanStatus.Disbursed || s == LoanStatus.Warned || s == LoanStatus.Recalled;
    }

    /// Unpaid principal plus accrued unpaid interest, as booked (without interest since the last accrual).
    function _owed(Loan storage l) internal view returns (uint256) {
        return l.principal + l.interestAccrued - l.principalRepaid - l.interestPaid - l.writtenOff;
    }

    function _pendingInterest(Loan storage l) internal view returns (uint256) {
        return _interestScaled(l) / (BPS * YEAR);
    }

    /// Interest since the last accrual plus the carried remainder, in 1/(BPS x YEAR) of a minor unit.
    function _interestScaled(Loan storage l) internal view returns (uint256 scaled) {
        scaled = l.interestCarry;
        if (_running(l.status) && block.timestamp > l.lastAccrual) {
            scaled += (l.principal - l.principalRepaid) * l.rateBps * (block.timestamp - l.lastAccrual);
        }
    }

    /// Books the whole units of interest due and carries the remainder: accruing often (say, at every
    /// dust repayment) books the same interest as accruing once.
    function _accrue(uint256 loanId, Loan storage l) internal {
        if (!_running(l.status)) return;
        uint256 scaled = _interestScaled(l);
        uint256 amount = scaled / (BPS * YEAR);
        // The remainder is below BPS x YEAR (3.2e11), which fits 64 bits.
        l.interestCarry = uint64(scaled % (BPS * YEAR));
        l.lastAccrual = uint64(block.timestamp);
        if (amount == 0) return;
        l.interestAccrued += amount;
        emit InterestAccrued(loanId, amount, l.interestAccrued, uint64(block.timestamp));
    }

    /// Interest first, then principal; releases pledged goods in step; closes the loan when paid.
    function _applyPayment(uint256 loanId, Loan storage l, address payer, uint256 pay) internal {
        uint256 interestDue = l.interestAccrued - l.interestPaid;
        uint256 toInterest = pay < interestDue ? pay : interestDue;
        uint256 toPrincipal = pay - toInterest;
        l.interestPaid += toInterest;
        l.principalRepaid += toPrincipal;
        uint256 left = _owed(l);
        emit LoanRepayment(loanId, payer, toInterest, toPrincipal, left);
        if (left == 0) {
            l.status = LoanStatus.Repaid;
            emit LoanRepaid(loanId);
            // Purpose binding ends with the debt: unspent loan money is the borrower's own again, and
            // the guarantor's commitment is its own again.
            funds.release(loanId);
            _releaseGuarantee(loanId, l);
            IAssetRegistry.Asset memory asset = assets.getAsset(l.assetId);
            if (l.guarantorPaid != 0) {
                // Subrogation: the guarantor that paid for the defaulted borrower holds the lender's
                // claim; the collateral is its security, never freed to the borrower.
                _handOver(loanId, l, l.guarantor);
            } else if (asset.lockedBy == loanId) {
                bool claim = l.mode == Mode.Receivable || l.mode == Mode.Payable;
                if (!claim || l.settlementCollected) {
                    // Goods go back free; a claim whose settlement was collected is consumed.
                    assets.unlock(l.assetId, loanId, claim);
                } else if (orders.getOrder(asset.orderId).status != IOrderBook.OrderStatus.Settled) {
                    _releaseClaimOrGoods(loanId, l);
                }
                // Otherwise the debtor has paid here already: the claim stays with the loan until
                // `collect` passes the whole settlement on to the borrower.
            }
        } else if (l.status != LoanStatus.Defaulted) {
            // After a default the goods secure what is still owed (to the lender and the guarantor).
            _releaseInStep(loanId, l);
        }
    }

    /// A loan not disbursed ends (`to`: Rejected or Withdrawn); returns whether it was approved.
    function _endUndisbursed(uint256 loanId, Loan storage l, LoanStatus to) internal returns (bool approved) {
        LoanStatus was = l.status;
        if (was != LoanStatus.Applied && was != LoanStatus.Approved) revert LoanWrongStatus(loanId, was);
        l.status = to;
        return was == LoanStatus.Approved;
    }

    /// The guarantor's commitment goes back to it, and an approved loan frees its asset (and a financed
    /// invoice's settlement) again.
    function _releaseUndisbursed(uint256 loanId, Loan storage l, bool approved) internal {
        _releaseGuarantee(loanId, l);
        if (approved) _releaseClaimOrGoods(loanId, l);
    }

    /// What is held of the guarantor's commitment goes back to it (the LoanBook pays even a restricted
    /// member as a payment agent).
    function _releaseGuarantee(uint256 loanId, Loan storage l) internal {
        uint256 held = l.guaranteeHeld;
        if (held == 0) return;
        l.guaranteeHeld = 0;
        emit GuaranteeReleased(loanId, l.guarantor, held);
        IERC20(l.currency).safeTransfer(l.guarantor, held);
    }

    /// The collateral of a loan that ends unpaid goes to whoever holds the claim on the borrower: the
    /// lender at write-off, the guarantor that paid for the borrower (a claim's settlement follows it;
    /// a claim whose settlement was collected is consumed). A guarantor that is no longer an active
    /// member cannot hold assets: the collateral then stays locked to the loan, for it (a claim's
    /// settlement still comes here, and `collect` passes it to the guarantor), until it names an active
    /// member to take it (`assignCollateral`).
    function _handOver(uint256 loanId, Loan storage l, address to) internal {
        IAssetRegistry.Asset memory asset = assets.getAsset(l.assetId);
        if (asset.lockedBy != loanId) return;
        bool claim = l.mode == Mode.Receivable || l.mode == Mode.Payable;
        if (claim && l.settlementCollected) return assets.unlock(l.assetId, loanId, true);
        _requireNothingToCollect(loanId, l);
        if (!registry.isActiveMember(to)) return;
        if (claim) _redirectIfOpen(asset.orderId, to);
        assets.seize(l.assetId, loanId, to);
    }

    /// A settlement already paid here for the loan's claim is passed on by `collect` first.
    function _requireNothingToCollect(uint256 loanId, Loan storage l) internal view {
        if (l.mode != Mode.Receivable && l.mode != Mode.Payable) return;
        IAssetRegistry.Asset memory asset = assets.getAsset(l.assetId);
        if (
            !l.settlementCollected && asset.lockedBy == loanId
                && orders.getOrder(asset.orderId).status == IOrderBook.OrderStatus.Settled
        ) {
            revert LoanSettlementToCollect(loanId);
        }
    }

    /// An unfinished loan lets go of its collateral: goods and rights are unlocked; a claim goes back
    /// to its creditor with its settlement (or is retired when its order was cancelled).
    function _releaseClaimOrGoods(uint256 loanId, Loan storage l) internal {
        IAssetRegistry.Asset memory asset = assets.getAsset(l.assetId);
        if (asset.lockedBy != loanId) return;
        bool claim = l.mode == Mode.Receivable || l.mode == Mode.Payable;
        if (!claim) {
            assets.unlock(l.assetId, loanId, false);
            return;
        }
        IOrderBook.Order memory o = orders.getOrder(asset.orderId);
        address creditor = IERC721Owner(address(assets)).ownerOf(l.assetId);
        if (o.status == IOrderBook.OrderStatus.Settled && !l.settlementCollected) {
            // The debtor paid here while the loan held the claim: the creditor gets it all.
            l.settlementCollected = true;
            uint256 received = o.amount - o.prepaid;
            emit SettlementCollected(loanId, received, 0, received);
            if (received != 0) IERC20(l.currency).safeTransfer(creditor, received);
            assets.unlock(l.assetId, loanId, true);
            return;
        }
        // A creditor that cannot be paid (it bought the claim and is no longer an active member) leaves
        // the settlement coming here and the claim locked: `collect` passes the settlement on to it.
        if (creditor != o.seller && !registry.isActiveMember(creditor) && o.status != IOrderBook.OrderStatus.Cancelled) {
            return;
        }
        _redirectIfOpen(asset.orderId, creditor);
        // A claim on a cancelled order is void.
        assets.unlock(l.assetId, loanId, o.status == IOrderBook.OrderStatus.Cancelled);
    }

    /// Redirect an order's settlement unless the order is over (settled or cancelled).
    function _redirectIfOpen(uint256 orderId, address payee) internal {
        IOrderBook.OrderStatus s = orders.getOrder(orderId).status;
        if (s != IOrderBook.OrderStatus.Settled && s != IOrderBook.OrderStatus.Cancelled) {
            orders.redirectSettlement(orderId, payee);
        }
    }

    /// Pledged goods are released in proportion to the principal repaid.
    function _releaseInStep(uint256 loanId, Loan storage l) internal {
        IAssetRegistry.Asset memory asset = assets.getAsset(l.assetId);
        if (asset.kind != IAssetRegistry.AssetKind.WarehouseReceipt || asset.lockedBy != loanId) return;
        uint256 keep = l.collateralQuantity - l.collateralQuantity * l.principalRepaid / l.principal;
        if (asset.pledgedQuantity > keep) assets.releasePledge(l.assetId, loanId, asset.pledgedQuantity - keep);
    }

    function _financeable(uint256 assetId, Mode mode) internal view returns (IAssetRegistry.Asset memory asset) {
        asset = assets.getAsset(assetId);
        if (asset.status != IAssetRegistry.AssetStatus.Confirmed) revert LoanAssetNotConfirmed(assetId, uint8(asset.status));
        if (uint8(asset.kind) != _kindFor(mode)) revert LoanWrongAssetKind(assetId, uint8(asset.kind), mode);
        if (asset.lockedBy != 0) revert LoanAssetLocked(assetId, asset.lockedBy);
    }

    function _kindFor(Mode mode) internal pure returns (uint8) {
        if (mode == Mode.Pledge) return uint8(IAssetRegistry.AssetKind.WarehouseReceipt);
        if (mode == Mode.Receivable) return uint8(IAssetRegistry.AssetKind.Receivable);
        if (mode == Mode.Prepayment) return uint8(IAssetRegistry.AssetKind.FutureGoods);
        return uint8(IAssetRegistry.AssetKind.Payable);
    }

    function _isTrader(address who) internal view returns (bool) {
        return registry.isActive(who, IMemberRegistry.Role.Supplier)
            || registry.isActive(who, IMemberRegistry.Role.Manufacturer) || registry.isActive(who, IMemberRegistry.Role.Seller);
    }

    function _isCoreOfChain(address who, uint64 chainId) internal view returns (bool) {
        return chainId != 0 && registry.getChain(chainId).core == who && registry.isActiveMember(who);
    }

    function _requireActive(address who) internal view {
        IMemberRegistry.Status s = registry.statusOf(who);
        if (s != IMemberRegistry.Status.Active) revert IMemberRegistry.MemberNotActive(who, s);
    }

    function _min(uint256 a, uint256 b) internal pure returns (uint256) {
        return a < b ? a : b;
    }
}

/// The one ERC-721 function the LoanBook needs from the AssetRegistry.
interface IERC721Owner {
    function ownerOf(uint256 tokenId) external view returns (address);
}
