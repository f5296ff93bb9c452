// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Membership, certification and supply chains of the VSCM platform
/// @notice Every business contract asks this registry who may act. SMEs enter with one operator
/// approval; a core enterprise becomes active only after a financier AND an auditor (two distinct
/// active members) attest it. A supply chain is led by a core enterprise and is the unit of eviction.
interface IMemberRegistry {
    /// @notice Business roles. A member holds a set of them, stored as a bit mask (bit i = Role(i)).
    enum Role {
        Supplier,
        Manufacturer,
        Seller,
        Logistics,
        Warehouse,
        Financier,
        Auditor,
        Oracle,
        Monitor
    }

    enum Tier {
        SME,
        Core
    }

    /// @dev `None` means never registered. `Evicted` is final.
    enum Status {
        None,
        Pending,
        Active,
        Suspended,
        Evicted
    }

    /// @notice Who imposed a suspension, lowest first: a suspension is lifted only by an equal or higher authority.
    /// Operator: the operator key (OPERATOR_ROLE); Controller: the control mechanism (RiskControl, CONTROLLER_ROLE);
    /// Guardian: the council's Safe (GUARDIAN_ROLE, the emergency suspension); Admin: DEFAULT_ADMIN_ROLE (the
    /// council's timelock; the operator key on a platform without a council). A caller holding several roles acts
    /// with the highest.
    enum Authority {
        None,
        Operator,
        Controller,
        Guardian,
        Admin
    }

    struct Member {
        uint16 roles;
        Tier tier;
        Status status;
        uint64 chainId;
        uint64 credentialExpiry;
        bytes32 credentialHash;
        address financierAttestor;
        address auditorAttestor;
        string name;
    }

    struct SupplyChain {
        address core;
        bool evicted;
        uint32 memberCount;
        bytes32 name;
    }

    event MemberApplied(
        address indexed member, uint16 roles, Tier tier, bytes32 credentialHash, uint64 credentialExpiry, string name
    );
    event MemberApproved(address indexed member, address indexed operator);
    event CoreAttested(address indexed member, address indexed attestor, Role asRole);
    event MemberActivated(address indexed member);
    event CredentialUpdated(address indexed member, bytes32 credentialHash, uint64 credentialExpiry);
    event MemberSuspended(address indexed member, address indexed by, bytes32 reason);
    event MemberReinstated(address indexed member, address indexed by);
    event MemberEvicted(address indexed member, address indexed by, bytes32 reason);
    event ChainCreated(uint64 indexed chainId, address indexed core, bytes32 name);
    event ChainJoinRequested(uint64 indexed chainId, address indexed member);
    event ChainJoinApproved(uint64 indexed chainId, address indexed member);
    event ChainLeft(uint64 indexed chainId, address indexed member);
    event ChainEvicted(uint64 indexed chainId, address indexed by, bytes32 evidence);
    /// @notice The chain is under investigation until `until` (inclusive; 0: no longer).
    event ChainInvestigationSet(uint64 indexed chainId, address indexed by, uint64 until);

    error MemberAlreadyRegistered(address member, Status status);
    error MemberNotRegistered(address member);
    error MemberNotPending(address member, Status status);
    error MemberNotActive(address member, Status status);
    error MemberNotSuspended(address member, Status status);
    error MemberAlreadyEvicted(address member);
    error MemberLacksRole(address member, Role role);
    error NoRoles();
    error UnknownRoles(uint16 roles);
    error CoreTierNotAllowed(uint16 roles);
    error CredentialExpired(uint64 expiresAt, uint64 nowTime);
    /// @notice Only the admin (the council's timelock) shortens a credential: `member`'s runs to `currentExpiry`,
    /// the renewal asked for `newExpiry`.
    error CredentialShortened(address member, uint64 currentExpiry, uint64 newExpiry);
    error EmptyName();
    /// @notice A member's name is at most `max` bytes of UTF-8 (`MemberRegistry.MAX_NAME_BYTES`); it had `length`.
    error NameTooLong(uint256 length, uint256 max);
    error CoreNeedsAttestations(address member);
    error NotCoreApplicant(address member);
    error AttestorRoleInvalid(Role asRole);
    error AlreadyAttested(address member, address attestor, Role asRole);
    error AttestorsMustDiffer(address member, address attestor);
    error NotCoreEnterprise(address member);
    error ChainNotFound(uint64 chainId);
    error ChainIsEvicted(uint64 chainId);
    error AlreadyInChain(address member, uint64 chainId);
    error NotInChain(address member, uint64 chainId);
    error JoinNotRequested(uint64 chainId, address member);
    error NotChainCore(uint64 chainId, address caller);
    error CoreCannotLeave(uint64 chainId);
    /// @notice The member's suspension was imposed by `imposedBy`, an authority higher than the caller's (`caller`):
    /// only an equal or higher authority lifts it (the admin lifts any).
    error SuspensionByHigherAuthority(address member, Authority imposedBy, Authority caller);
    /// @notice A fraud finding on the chain is pending until `until`: its members cannot leave it.
    error ChainUnderInvestigation(uint64 chainId, uint64 until);

    /// @notice Ask to join the platform with `roles` (bit mask) and `tier`. Status becomes Pending.
    function applyForMembership(uint16 roles, Tier tier, bytes32 credentialHash, uint64 credentialExpiry, string calldata name)
        external;
    /// @notice Operator (OPERATOR_ROLE) admits a pending SME-tier trader; an applicant for an institution role
    /// (financier, auditor, oracle, monitor) is admitted by the council alone (DEFAULT_ADMIN_ROLE, its timelock).
    function approveMember(address member) external;
    /// @notice An active financier or auditor attests a pending core enterprise, acting as `asRole`.
    function attest(address member, Role asRole) external;
    /// @notice Operator (OPERATOR_ROLE) renews a member's credential, never to an earlier expiry; the admin
    /// (DEFAULT_ADMIN_ROLE, the council's timelock) may also shorten it.
    function updateCredential(address member, bytes32 credentialHash, uint64 credentialExpiry) external;
    /// @notice Operator, controller (RiskControl), guardian (the council's Safe, at once, without the timelock:
    /// the emergency suspension) or admin suspends an active member; the caller's authority is recorded
    /// (`suspensionAuthority`). A higher authority may also take over a suspension already in place (the member
    /// stays suspended, now at its authority), so that a lower one cannot lift it.
    function suspend(address member, bytes32 reason) external;
    /// @notice Lifts a suspension: only an authority equal to or higher than the one that imposed it
    /// (`SuspensionByHigherAuthority` otherwise); the admin lifts any.
    function reinstate(address member) external;
    /// @notice The authority that imposed the member's suspension; `None` when it is not suspended by `suspend`
    /// (active, pending, evicted, or only reading as suspended because its credential expired).
    function suspensionAuthority(address member) external view returns (Authority);
    /// @notice The admin (DEFAULT_ADMIN_ROLE: the council's timelock when the platform has a council) or the
    /// controller (RiskControl) evicts a member, finally; the operator key alone only suspends.
    function evict(address member, bytes32 reason) external;

    function createChain(bytes32 name) external returns (uint64 chainId);
    function requestJoin(uint64 chainId) external;
    function approveJoin(uint64 chainId, address member) external;
    /// @notice Leave one's supply chain (not its core; not while suspended or under investigation).
    function leaveChain() external;
    /// @notice The admin (the council's timelock) or the controller (a confirmed fraud finding) evicts a whole
    /// supply chain: every member of it counts as evicted from now on.
    function evictChain(uint64 chainId, bytes32 evidence) external;
    /// @notice Controller (RiskControl): the chain is under investigation until `until` (a pending
    /// fraud proposal), so no member can leave it; 0 ends the investigation (proposal withdrawn).
    function setInvestigation(uint64 chainId, uint64 until) external;
    /// @notice Until when (inclusive) the chain is under investigation; past means not.
    function investigatedUntil(uint64 chainId) external view returns (uint64);

    /// @notice Effective status: a member of an evicted chain is Evicted; an expired credential is
    /// reported as Suspended.
    function statusOf(address member) external view returns (Status);
    /// @notice True when `member` is active (status, chain and credential) and holds `role`.
    function isActive(address member, Role role) external view returns (bool);
    /// @notice True when `member` is active, whatever its roles.
    function isActiveMember(address member) external view returns (bool);
    function holdsRole(address member, Role role) external view returns (bool);
    function chainOf(address member) external view returns (uint64);
    function getMember(address member) external view returns (Member memory);
    function getChain(uint64 chainId) external view returns (SupplyChain memory);
    function pendingJoin(uint64 chainId, address member) external view returns (bool);
    function chainCount() external view returns (uint64);
    function memberCount() external view returns (uint256);
    function memberAt(uint256 index) external view returns (address);
}
