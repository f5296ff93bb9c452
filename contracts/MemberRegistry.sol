// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IMemberRegistry} from "./interfaces/IMemberRegistry.sol";

/// @title MemberRegistry
/// @notice The permissioning layer of VSCM. See {IMemberRegistry}.
/// @dev Eviction of a chain is lazy: `ChainEvicted` marks the chain, and every member whose chain
/// is evicted reads as Evicted. No loop over members, so a chain of any size is evicted in O(1),
/// and the event log still tells exactly who was affected (the chain's membership events).
contract MemberRegistry is IMemberRegistry, AccessControl {
    /// @notice Admits SME traders, renews credentials, suspends, and reinstates what it or a lower authority suspended.
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    /// @notice Wires this contract to the other platform contracts (the roles below that name a contract),
    /// held by the deployer only while it deploys: it is its own admin and the deployer renounces it at
    /// the end of the deployment, so from then on nobody (neither the operator nor the council) can grant
    /// or revoke those roles.
    bytes32 public constant WIRING_ROLE = keccak256("WIRING_ROLE");
    /// @notice The control mechanism (RiskControl): may suspend, reinstate (a suspension of its authority or the
    /// operator's) and evict, and put a chain under investigation.
    bytes32 public constant CONTROLLER_ROLE = keccak256("CONTROLLER_ROLE");
    /// @notice The longest member name stored, in bytes of UTF-8 (85 CJK characters, 256 Latin ones):
    /// an unbounded name would make every read of the member (and the audit's replay) pay for it.
    uint256 public constant MAX_NAME_BYTES = 256;
    /// @notice The council's Safe (k-of-n of the consortium): suspends and reinstates members at once,
    /// without the timelock, as an emergency measure it can lift the same way (and that neither the operator key
    /// nor the controller can lift: see {IMemberRegistry.Authority}). Granted by the council.
    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");

    uint16 internal constant ALL_ROLES = uint16((1 << (uint8(type(Role).max) + 1)) - 1);
    /// Roles an institution holds; a core enterprise is an enterprise, never one of these.
    uint16 internal constant INSTITUTION_ROLES = uint16(
        (1 << uint8(Role.Financier)) | (1 << uint8(Role.Auditor)) | (1 << uint8(Role.Oracle))
            | (1 << uint8(Role.Monitor))
    );

    mapping(address => Member) private _members;
    address[] private _memberList;
    mapping(uint64 => SupplyChain) private _chains;
    mapping(uint64 => mapping(address => bool)) private _pendingJoin;
    uint64 private _chainCount;
    /// until when a chain is under investigation (a pending fraud proposal): nobody leaves it
    mapping(uint64 => uint64) private _investigatedUntil;
    /// who imposed each member's suspension (meaningful while its stored status is Suspended)
    mapping(address => Authority) private _suspendedBy;

    /// Eviction is final: the admin (the council's timelock, after its delay) or the controller (a fraud
    /// finding an auditor confirmed), never the operator key alone, which may only suspend.
    modifier onlyAdminOrController() {
        if (!hasRole(DEFAULT_ADMIN_ROLE, msg.sender) && !hasRole(CONTROLLER_ROLE, msg.sender)) {
            revert AccessControlUnauthorizedAccount(msg.sender, DEFAULT_ADMIN_ROLE);
        }
        _;
    }

    /// The caller's authority over suspensions: the highest of its roles that may suspend.
    function _suspender() internal view returns (Authority) {
        if (hasRole(DEFAULT_ADMIN_ROLE, msg.sender)) return Authority.Admin;
        if (hasRole(GUARDIAN_ROLE, msg.sender)) return Authority.Guardian;
        if (hasRole(CONTROLLER_ROLE, msg.sender)) return Authority.Controller;
        if (hasRole(OPERATOR_ROLE, msg.sender)) return Authority.Operator;
        revert AccessControlUnauthorizedAccount(msg.sender, CONTROLLER_ROLE);
    }

    constructor(address operator) {
        _grantRole(DEFAULT_ADMIN_ROLE, operator);
        _grantRole(OPERATOR_ROLE, operator);
        _grantRole(WIRING_ROLE, operator);
        _setRoleAdmin(WIRING_ROLE, WIRING_ROLE);
        _setRoleAdmin(CONTROLLER_ROLE, WIRING_ROLE);
    }

    // ---------------------------------------------------------------- membership

    /// @inheritdoc IMemberRegistry
    function applyForMembership(
        uint16 roles,
        Tier tier,
        bytes32 credentialHash,
        uint64 credentialExpiry,
        string calldata name
    ) external {
        Member storage m = _members[msg.sender];
        if (m.status != Status.None) revert MemberAlreadyRegistered(msg.sender, m.status);
        if (roles == 0) revert NoRoles();
        if (roles & ~ALL_ROLES != 0) revert UnknownRoles(roles);
        // A core enterprise is a trading enterprise; institutions are admitted by the operator.
        if (tier == Tier.Core && roles & INSTITUTION_ROLES != 0) revert CoreTierNotAllowed(roles);
        if (credentialExpiry <= block.timestamp) revert CredentialExpired(credentialExpiry, uint64(block.timestamp));
        if (bytes(name).length == 0) revert EmptyName();
        if (bytes(name).length > MAX_NAME_BYTES) revert NameTooLong(bytes(name).length, MAX_NAME_BYTES);
        m.roles = roles;
        m.tier = tier;
        m.status = Status.Pending;
        m.credentialHash = credentialHash;
        m.credentialExpiry = credentialExpiry;
        m.name = name;
        _memberList.push(msg.sender);
        emit MemberApplied(msg.sender, roles, tier, credentialHash, credentialExpiry, name);
    }

    /// @inheritdoc IMemberRegistry
    function approveMember(address member) external {
        Member storage m = _members[member];
        // Institutions (they mint, certify cores, confirm fraud, publish telemetry, raise alerts) are
        // admitted by the council alone; SME traders by the operator.
        _checkRole(m.roles & INSTITUTION_ROLES != 0 ? DEFAULT_ADMIN_ROLE : OPERATOR_ROLE);
        if (m.status != Status.Pending) revert MemberNotPending(member, m.status);
        // Core enterprises are certified by a financier and an auditor, never by the operator alone.
        if (m.tier == Tier.Core) revert CoreNeedsAttestations(member);
        _checkCredential(m);
        m.status = Status.Active;
        emit MemberApproved(member, msg.sender);
        emit MemberActivated(member);
    }

    /// @inheritdoc IMemberRegistry
    function attest(address member, Role asRole) external {
        if (asRole != Role.Financier && asRole != Role.Auditor) revert AttestorRoleInvalid(asRole);
        if (!isActive(msg.sender, asRole)) revert MemberLacksRole(msg.sender, asRole);
        Member storage m = _members[member];
        if (m.status != Status.Pending) revert MemberNotPending(member, m.status);
        if (m.tier != Tier.Core) revert NotCoreApplicant(member);
        _checkCredential(m);
        if (asRole == Role.Financier) {
            if (m.financierAttestor != address(0)) revert AlreadyAttested(member, m.financierAttestor, asRole);
            // The same member cannot count as both the financier and the auditor.
            if (m.auditorAttestor == msg.sender) revert AttestorsMustDiffer(member, msg.sender);
            m.financierAttestor = msg.sender;
        } else {
            if (m.auditorAttestor != address(0)) revert AlreadyAttested(member, m.auditorAttestor, asRole);
            if (m.financierAttestor == msg.sender) revert AttestorsMustDiffer(member, msg.sender);
            m.auditorAttestor = msg.sender;
        }
        emit CoreAttested(member, msg.sender, asRole);
        if (m.financierAttestor != address(0) && m.auditorAttestor != address(0)) {
            m.status = Status.Active;
            emit MemberActivated(member);
        }
    }

    /// @inheritdoc IMemberRegistry
    function updateCredential(address member, bytes32 credentialHash, uint64 credentialExpiry) external {
        if (!hasRole(OPERATOR_ROLE, msg.sender) && !hasRole(DEFAULT_ADMIN_ROLE, msg.sender)) {
            revert AccessControlUnauthorizedAccount(msg.sender, OPERATOR_ROLE);
        }
        Member storage m = _members[member];
        if (m.status == Status.None) revert MemberNotRegistered(member);
        if (credentialExpiry <= block.timestamp) revert CredentialExpired(credentialExpiry, uint64(block.timestamp));
        // A renewal never shortens a credential on the operator's word alone: a shortened expiry reads as a
        // suspension that no guardian could lift (only the operator renews), so shortening is the admin's
        // (the council's timelock), like eviction.
        if (credentialExpiry < m.credentialExpiry && !hasRole(DEFAULT_ADMIN_ROLE, msg.sender)) {
            revert CredentialShortened(member, m.credentialExpiry, credentialExpiry);
        }
        m.credentialHash = credentialHash;
        m.credentialExpiry = credentialExpiry;
        emit CredentialUpdated(member, credentialHash, credentialExpiry);
    }

    /// @inheritdoc IMemberRegistry
    function suspend(address member, bytes32 reason) external {
        Authority by = _suspender();
        Member storage m = _members[member];
        Status s = _effectiveStatus(m);
        if (s == Status.Suspended && m.status == Status.Suspended && by > _suspendedBy[member]) {
            // A higher authority takes over a suspension in place: otherwise the operator could pre-empt the
            // guardian's emergency suspension with its own, and lift it later.
            _suspendedBy[member] = by;
            emit MemberSuspended(member, msg.sender, reason);
            return;
        }
        if (s != Status.Active) revert MemberNotActive(member, s);
        m.status = Status.Suspended;
        _suspendedBy[member] = by;
        emit MemberSuspended(member, msg.sender, reason);
    }

    /// @inheritdoc IMemberRegistry
    function reinstate(address member) external {
        Authority by = _suspender();
        Member storage m = _members[member];
        if (m.status != Status.Suspended || _chainEvicted(m)) revert MemberNotSuspended(member, _effectiveStatus(m));
        // Only an equal or higher authority lifts a suspension: the operator key cannot undo the council's
        // emergency suspension nor the control mechanism's.
        Authority imposedBy = _suspendedBy[member];
        if (by < imposedBy) revert SuspensionByHigherAuthority(member, imposedBy, by);
        delete _suspendedBy[member];
        m.status = Status.Active;
        emit MemberReinstated(member, msg.sender);
    }

    /// @inheritdoc IMemberRegistry
    function evict(address member, bytes32 reason) external onlyAdminOrController {
        Member storage m = _members[member];
        if (m.status == Status.None) revert MemberNotRegistered(member);
        if (_effectiveStatus(m) == Status.Evicted) revert MemberAlreadyEvicted(member);
        m.status = Status.Evicted;
        emit MemberEvicted(member, msg.sender, reason);
    }

    // ---------------------------------------------------------------- supply chains

    /// @inheritdoc IMemberRegistry
    function createChain(bytes32 name) external returns (uint64 chainId) {
        Member storage m = _members[msg.sender];
        if (m.tier != Tier.Core || m.status == Status.None) revert NotCoreEnterprise(msg.sender);
        _requireActive(msg.sender, m);
        if (m.chainId != 0) revert AlreadyInChain(msg.sender, m.chainId);
        chainId = ++_chainCount;
        _chains[chainId] = SupplyChain({core: msg.sender, evicted: false, memberCount: 1, name: name});
        m.chainId = chainId;
        emit ChainCreated(chainId, msg.sender, name);
    }

    /// @inheritdoc IMemberRegistry
    function requestJoin(uint64 chainId) external {
        Member storage m = _members[msg.sender];
        _requireActive(msg.sender, m);
        _requireLiveChain(chainId);
        if (m.chainId != 0) revert AlreadyInChain(msg.sender, m.chainId);
        _pendingJoin[chainId][msg.sender] = true;
        emit ChainJoinRequested(chainId, msg.sender);
    }

    /// @inheritdoc IMemberRegistry
    function approveJoin(uint64 chainId, address member) external {
        SupplyChain storage c = _requireLiveChain(chainId);
        if (c.core != msg.sender) revert NotChainCore(chainId, msg.sender);
        _requireActive(msg.sender, _members[msg.sender]);
        if (!_pendingJoin[chainId][member]) revert JoinNotRequested(chainId, member);
        Member storage m = _members[member];
        _requireActive(member, m);
        // A member may have asked several chains; the first core to approve wins.
        if (m.chainId != 0) revert AlreadyInChain(member, m.chainId);
        delete _pendingJoin[chainId][member];
        m.chainId = chainId;
        c.memberCount += 1;
        emit ChainJoinApproved(chainId, member);
    }

    /// @inheritdoc IMemberRegistry
    function leaveChain() external {
        Member storage m = _members[msg.sender];
        uint64 chainId = m.chainId;
        if (chainId == 0) revert NotInChain(msg.sender, 0);
        SupplyChain storage c = _requireLiveChain(chainId);
        if (c.core == msg.sender) revert CoreCannotLeave(chainId);
        // Only an active member leaves: a suspended one would step out of reach of a chain eviction.
        _requireActive(msg.sender, m);
        // Nor does anyone leave a chain under investigation, to dodge the eviction a fraud finding brings.
        uint64 until = _investigatedUntil[chainId];
        if (block.timestamp <= until) revert ChainUnderInvestigation(chainId, until);
        m.chainId = 0;
        c.memberCount -= 1;
        emit ChainLeft(chainId, msg.sender);
    }

    /// @inheritdoc IMemberRegistry
    function evictChain(uint64 chainId, bytes32 evidence) external onlyAdminOrController {
        SupplyChain storage c = _requireLiveChain(chainId);
        c.evicted = true;
        emit ChainEvicted(chainId, msg.sender, evidence);
    }

    /// @inheritdoc IMemberRegistry
    function setInvestigation(uint64 chainId, uint64 until) external onlyRole(CONTROLLER_ROLE) {
        if (_chains[chainId].core == address(0)) revert ChainNotFound(chainId);
        _investigatedUntil[chainId] = until;
        emit ChainInvestigationSet(chainId, msg.sender, until);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IMemberRegistry
    function statusOf(address member) public view returns (Status) {
        return _effectiveStatus(_members[member]);
    }

    /// @inheritdoc IMemberRegistry
    function suspensionAuthority(address member) external view returns (Authority) {
        Member storage m = _members[member];
        if (m.status != Status.Suspended || _chainEvicted(m)) return Authority.None;
        return _suspendedBy[member];
    }

    /// @inheritdoc IMemberRegistry
    function isActive(address member, Role role) public view returns (bool) {
        Member storage m = _members[member];
        return _effectiveStatus(m) == Status.Active && (m.roles & _bit(role)) != 0;
    }

    /// @inheritdoc IMemberRegistry
    function isActiveMember(address member) external view returns (bool) {
        return _effectiveStatus(_members[member]) == Status.Active;
    }

    /// @inheritdoc IMemberRegistry
    function holdsRole(address member, Role role) external view returns (bool) {
        return (_members[member].roles & _bit(role)) != 0;
    }

    /// @inheritdoc IMemberRegistry
    function chainOf(address member) external view returns (uint64) {
        return _members[member].chainId;
    }

    /// @inheritdoc IMemberRegistry
    function getMember(address member) external view returns (Member memory) {
        return _members[member];
    }

    /// @inheritdoc IMemberRegistry
    function getChain(uint64 chainId) external view returns (SupplyChain memory) {
        return _chains[chainId];
    }

    /// @inheritdoc IMemberRegistry
    function investigatedUntil(uint64 chainId) external view returns (uint64) {
        return _investigatedUntil[chainId];
    }

    /// @inheritdoc IMemberRegistry
    function pendingJoin(uint64 chainId, address member) external view returns (bool) {
        return _pendingJoin[chainId][member];
    }

    /// @inheritdoc IMemberRegistry
    function chainCount() external view returns (uint64) {
        return _chainCount;
    }

    /// @inheritdoc IMemberRegistry
    function memberCount() external view returns (uint256) {
        return _memberList.length;
    }

    /// @inheritdoc IMemberRegistry
    function memberAt(uint256 index) external view returns (address) {
        return _memberList[index];
    }

    // ---------------------------------------------------------------- internal

    function _bit(Role role) internal pure returns (uint16) {
        return uint16(1) << uint8(role);
    }

    function _chainEvicted(Member storage m) internal view returns (bool) {
        return m.chainId != 0 && _chains[m.chainId].evicted;
    }

    function _effectiveStatus(Member storage m) internal view returns (Status) {
        if (m.status == Status.Evicted || (m.status != Status.None && _chainEvicted(m))) return Status.Evicted;
        // An expired credential stops an active member until the operator renews it.
        if (m.status == Status.Active && m.credentialExpiry <= block.timestamp) return Status.Suspended;
        return m.status;
    }

    function _requireActive(address who, Member storage m) internal view {
        Status s = _effectiveStatus(m);
        if (s != Status.Active) revert MemberNotActive(who, s);
    }

    function _requireLiveChain(uint64 chainId) internal view returns (SupplyChain storage c) {
        c = _chains[chainId];
        if (c.core == address(0)) revert ChainNotFound(chainId);
        if (c.evicted) revert ChainIsEvicted(chainId);
    }

    function _checkCredential(Member storage m) internal view {
        if (m.credentialExpiry <= block.timestamp) {
            revert CredentialExpired(m.credentialExpiry, uint64(block.timestamp));
        }
    }
}
