// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Settlement money of one currency
/// @notice An ERC-20 minted by financiers against fiat deposits and burned on withdrawal. It moves
/// only between active members, with one exception: a registered payment agent (a platform contract
/// such as the OrderBook or the LoanBook) may move money from a suspended or evicted member, so that
/// such a member can still settle what it owes and repay its loans, through the agent, and nothing else.
interface IPlatformCash {
    event Deposited(address indexed financier, address indexed to, uint256 amount, bytes32 depositRef);
    event Withdrawn(address indexed financier, uint256 amount, bytes32 withdrawalRef);
    event AgentSet(address indexed agent, bool allowed);
    /// @notice The council set how much `financier` may have issued and not yet burned (0: nothing).
    event MintCapSet(address indexed financier, uint256 cap);

    error CashSenderNotActive(address sender);
    error CashRecipientNotActive(address recipient);
    error CashNotFinancier(address caller);
    error CashZeroAmount();
    error CashZeroAddress();
    /// @notice A mint would take the financier's net issuance (minted - burned, `outstanding` before this
    /// mint) above the cap the council set for it.
    error CashMintCapExceeded(address financier, uint256 outstanding, uint256 amount, uint256 cap);
    /// @notice A mint carries the reference of the deposit it stands for; zero is no reference.
    error CashNoDepositRef();

    /// @notice ISO 4217 code of the currency, e.g. "CNY".
    function currencyCode() external view returns (string memory);
    /// @notice A financier mints `amount` to member `to` against a deposit it holds off-chain, named by
    /// `depositRef` (non-zero, in the `Deposited` event), within its mint cap: its net issuance (minted -
    /// burned) after the mint is at most `mintCap(financier)`.
    function mint(address to, uint256 amount, bytes32 depositRef) external;
    /// @notice A financier burns `amount` of its own balance when it pays out a withdrawal.
    function burn(uint256 amount, bytes32 withdrawalRef) external;
    /// @notice The deployer names the platform contracts that may move money on members' behalf (WIRING_ROLE,
    /// renounced at the end of the deployment: the agents are fixed from then on).
    function setAgent(address agent, bool allowed) external;
    function isAgent(address account) external view returns (bool);
    /// @notice Council (DEFAULT_ADMIN_ROLE, the council's timelock): the most `financier` may have issued
    /// and not yet burned. Lowering it below the outstanding issuance stops new mints, never burns.
    function setMintCap(address financier, uint256 cap) external;
    /// @notice The mint cap of `financier` and its outstanding issuance (minted - burned, 0 when it burned
    /// more than it minted).
    function mintCap(address financier) external view returns (uint256 cap, uint256 outstanding);
    /// @notice Total minted and burned by `financier` over all time.
    function issuance(address financier) external view returns (uint256 minted, uint256 burned);
}
