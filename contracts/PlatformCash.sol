// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IMemberRegistry} from "./interfaces/IMemberRegistry.sol";
import {IPlatformCash} from "./interfaces/IPlatformCash.sol";

/// @title PlatformCash
/// @notice Settlement money of one currency (one deployment per currency). See {IPlatformCash}.
/// @dev Transfer rule, checked in `_update` for every movement:
///  - mint: the recipient is an active member, the minter an active financier;
///  - burn: the burner is an active financier burning its own balance;
///  - transfer initiated by a payment agent (msg.sender is an agent): allowed between any parties,
///    because the agent enforces its own rules (a repayment, an order settlement);
///  - any other transfer: the sender is an active member or an agent, the recipient is an active
///    member or an agent.
/// So a suspended or evicted member keeps its balance and can pay what it owes only through an
/// agent (approve the agent, call its repay/settle function); it can no longer trade freely.
contract PlatformCash is IPlatformCash, ERC20, AccessControl {
    /// @notice Names the payment agents (`setAgent`), held by the deployer only while it deploys: it is
    /// its own admin and the deployer renounces it at the end of the deployment, so from then on nobody
    /// (neither the operator nor the council) can name or remove an agent.
    bytes32 public constant WIRING_ROLE = keccak256("WIRING_ROLE");

    IMemberRegistry public immutable registry;
    string private _currencyCode;
    mapping(address => bool) private _agents;
    mapping(address => uint256) private _minted;
    mapping(address => uint256) private _burned;
    mapping(address => uint256) private _mintCap;

    constructor(IMemberRegistry registry_, string memory currencyCode_, address operator)
        ERC20(string.concat("VSCM ", currencyCode_), string.concat("v", currencyCode_))
    {
        registry = registry_;
        _currencyCode = currencyCode_;
        _grantRole(DEFAULT_ADMIN_ROLE, operator);
        _grantRole(WIRING_ROLE, operator);
        _setRoleAdmin(WIRING_ROLE, WIRING_ROLE);
    }

    /// @notice Amounts are in minor units (fen, cents): two decimals.
    function decimals() public pure override returns (uint8) {
        return 2;
    }

    /// @inheritdoc IPlatformCash
    function currencyCode() external view returns (string memory) {
        return _currencyCode;
    }

    /// @inheritdoc IPlatformCash
    function mint(address to, uint256 amount, bytes32 depositRef) external {
        if (!registry.isActive(msg.sender, IMemberRegistry.Role.Financier)) revert CashNotFinancier(msg.sender);
        if (amount == 0) revert CashZeroAmount();
        if (depositRef == bytes32(0)) revert CashNoDepositRef();
        // A financier's net issuance stays within the cap the council set for it.
        uint256 outstanding = _outstanding(msg.sender);
        uint256 cap = _mintCap[msg.sender];
        if (amount > cap || outstanding > cap - amount) {
            revert CashMintCapExceeded(msg.sender, outstanding, amount, cap);
        }
        _mint(to, amount);
        _minted[msg.sender] += amount;
        emit Deposited(msg.sender, to, amount, depositRef);
    }

    /// @inheritdoc IPlatformCash
    function burn(uint256 amount, bytes32 withdrawalRef) external {
        if (!registry.isActive(msg.sender, IMemberRegistry.Role.Financier)) revert CashNotFinancier(msg.sender);
        if (amount == 0) revert CashZeroAmount();
        _burn(msg.sender, amount);
        _burned[msg.sender] += amount;
        emit Withdrawn(msg.sender, amount, withdrawalRef);
    }

    /// @inheritdoc IPlatformCash
    function setAgent(address agent, bool allowed) external onlyRole(WIRING_ROLE) {
        if (agent == address(0)) revert CashZeroAddress();
        _agents[agent] = allowed;
        emit AgentSet(agent, allowed);
    }

    /// @inheritdoc IPlatformCash
    function setMintCap(address financier, uint256 cap) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (financier == address(0)) revert CashZeroAddress();
        _mintCap[financier] = cap;
        emit MintCapSet(financier, cap);
    }

    /// @inheritdoc IPlatformCash
    function mintCap(address financier) external view returns (uint256 cap, uint256 outstanding) {
        return (_mintCap[financier], _outstanding(financier));
    }

    /// @inheritdoc IPlatformCash
    function isAgent(address account) external view returns (bool) {
        return _agents[account];
    }

    /// @inheritdoc IPlatformCash
    function issuance(address financier) external view returns (uint256 minted, uint256 burned) {
        return (_minted[financier], _burned[financier]);
    }

    function _outstanding(address financier) internal view returns (uint256) {
        uint256 minted = _minted[financier];
        uint256 burned = _burned[financier];
        // A financier may burn money another minted (a withdrawal it pays out): then it has none outstanding.
        return minted > burned ? minted - burned : 0;
    }

    function _update(address from, address to, uint256 value) internal override {
        // Mint and burn are gated in mint()/burn(); a mint still goes only to an active member.
        if (from == address(0)) {
            if (!registry.isActiveMember(to)) revert CashRecipientNotActive(to);
        } else if (to != address(0) && !_agents[msg.sender]) {
            if (!_agents[from] && !registry.isActiveMember(from)) revert CashSenderNotActive(from);
            if (!_agents[to] && !registry.isActiveMember(to)) revert CashRecipientNotActive(to);
        }
        super._update(from, to, value);
    }
}
