// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {IAlertSink} from "./interfaces/IAlertSink.sol";
import {IAssetRegistry} from "./interfaces/IAssetRegistry.sol";
import {ILoanBook} from "./interfaces/ILoanBook.sol";
import {IMemberRegistry} from "./interfaces/IMemberRegistry.sol";
import {IOrderBook} from "./interfaces/IOrderBook.sol";
import {ITelemetryOracle} from "./interfaces/ITelemetryOracle.sol";

/// @title TelemetryOracle
/// @notice Devices, oracle nodes, k-of-n signed telemetry reports and the collateral state they
/// feed. See {ITelemetryOracle}.
/// @dev Bounded loops only: nodes per set (<= MAX_NODES), devices and summaries per report (chosen by
/// the publisher, paid by it), waypoints per route (<= MAX_WAYPOINTS).
contract TelemetryOracle is ITelemetryOracle, AccessControl, EIP712 {
    uint256 public constant MAX_NODES = 32;
    uint256 public constant MAX_WAYPOINTS = 32;
    uint16 public constant BPS = 10_000;
    /// @notice the most a device's sequence may move forward in one report (see {ITelemetryOracle})
    uint64 public constant MAX_SEQ_ADVANCE = 2 ** 32;
    /// @notice gas the alert sink gets per alert (see {ITelemetryOracle}); RiskControl needs about 305,000
    uint256 public constant ALERT_GAS = 500_000;
    /// the most of a failing sink's answer an AlertSinkFailed carries: a selector and four words
    uint256 internal constant MAX_REASON = 132;
    uint16 internal constant F_QUANTITY = 1;
    uint16 internal constant F_TEMPERATURE = 2;
    uint16 internal constant F_LOCATION = 4;
    uint16 internal constant F_DOOR = 8;
    /// alert indicator codes of {IAlertSink}
    uint16 internal constant IND_MARGIN_CALL = 301;
    uint16 internal constant IND_BREACH_BASE = 302;

    bytes32 internal constant DEVICE_SEQ_TYPEHASH =
        keccak256("DeviceSeq(bytes32 deviceId,uint64 firstSeq,uint64 lastSeq)");
    bytes32 internal constant SUMMARY_TYPEHASH = keccak256(
        "Summary(uint8 kind,uint256 targetId,uint16 fields,uint256 quantity,int32 minTemp,int32 maxTemp,int32 lat,int32 lon,uint16 doorOpenings,uint64 outOfHoursAt)"
    );
    bytes32 internal constant REPORT_TYPEHASH = keccak256(
        "Report(uint256 batchId,uint32 signerSet,uint64 periodStart,uint64 periodEnd,bytes32 readingsRoot,uint32 readingCount,DeviceSeq[] devices,Summary[] summaries)DeviceSeq(bytes32 deviceId,uint64 firstSeq,uint64 lastSeq)Summary(uint8 kind,uint256 targetId,uint16 fields,uint256 quantity,int32 minTemp,int32 maxTemp,int32 lat,int32 lon,uint16 doorOpenings,uint64 outOfHoursAt)"
    );

    struct Bounds {
        int64 min;
        int64 max;
    }

    struct Route {
        uint32 corridor;
        int32[] lats;
        int32[] lons;
    }

    IMemberRegistry public immutable registry;
    IOrderBook public immutable orders;
    IAssetRegistry public immutable assets;
    ILoanBook public immutable loans;

    /// @notice Sets the alert sink (`setAlertSink`), held by the deployer only while it deploys: it is its
    /// own admin and the deployer renounces it at the end of the deployment, so the sink is fixed from then on.
    bytes32 public constant WIRING_ROLE = keccak256("WIRING_ROLE");

    /// @notice where alerts go (RiskControl); zero for nowhere
    address public alertSink;
    /// @notice a report's newest reading may be at most `maxAge` seconds old and `maxSkew` seconds ahead
    uint64 public maxAge = 1 hours;
    uint64 public maxSkew = 5 minutes;

    mapping(bytes32 => Device) private _devices;
    mapping(Metric => Bounds) private _bounds;
    uint32 private _signerSet;
    uint8 private _quorum;
    address[] private _nodes;
    /// signer set => node => its position + 1 (0: not in the set)
    mapping(uint32 => mapping(address => uint256)) private _nodeIndex;
    mapping(bytes32 => bool) private _accepted;
    mapping(uint256 => Batch) private _batches;
    mapping(TargetKind => mapping(uint256 => TargetState)) private _state;
    mapping(TargetKind => mapping(uint256 => Watch)) private _watch;
    mapping(uint256 => Route) private _routes;

    constructor(
        IMemberRegistry registry_,
        IOrderBook orders_,
        IAssetRegistry assets_,
        ILoanBook loans_,
        address operator
    ) EIP712("VSCM TelemetryOracle", "1") {
        registry = registry_;
        orders = orders_;
        assets = assets_;
        loans = loans_;
        _grantRole(DEFAULT_ADMIN_ROLE, operator);
        _grantRole(WIRING_ROLE, operator);
        _setRoleAdmin(WIRING_ROLE, WIRING_ROLE);
        // Physical bounds: a load cell reads 0..10^15 thousandths of a unit; -80 to +150 degrees C;
        // latitude and longitude in micro-degrees; a door is open (1) or closed (0).
        _bounds[Metric.Weight] = Bounds(0, 1e15);
        _bounds[Metric.Temperature] = Bounds(-8000, 15000);
        _bounds[Metric.Location] = Bounds(-180e6, 180e6);
        _bounds[Metric.Door] = Bounds(0, 1);
    }

    // ------------------------------------------------------------------------------------ devices

    /// @inheritdoc ITelemetryOracle
    function registerDevice(bytes32 serial, address key, Metric metric, TargetKind kind, uint256 targetId)
        external
        returns (bytes32 deviceId)
    {
        // Ids are namespaced by custodian: nobody can take an id in another custodian's namespace.
        deviceId = keccak256(abi.encode(msg.sender, serial));
        if (_devices[deviceId].key != address(0)) revert OracleDeviceExists(deviceId);
        if (key == address(0)) revert OracleZeroKey();
        _requireCustodian(kind, targetId, msg.sender);
        _devices[deviceId] = Device({
            key: key,
            owner: msg.sender,
            metric: metric,
            kind: kind,
            retired: false,
            lastSeq: 0,
            targetId: targetId
        });
        _state[kind][targetId].activeDevices += 1;
        emit DeviceRegistered(deviceId, msg.sender, key, metric, kind, targetId, serial);
    }

    /// @inheritdoc ITelemetryOracle
    function retireDevice(bytes32 deviceId) external {
        Device storage d = _liveDevice(deviceId);
        if (!hasRole(DEFAULT_ADMIN_ROLE, msg.sender)) _requireActiveOwner(d, deviceId);
        d.retired = true;
        _state[d.kind][d.targetId].activeDevices -= 1;
        emit DeviceRetired(deviceId, msg.sender);
    }

    /// @inheritdoc ITelemetryOracle
    function rotateDeviceKey(bytes32 deviceId, address newKey) external {
        Device storage d = _liveDevice(deviceId);
        _requireActiveOwner(d, deviceId);
        if (newKey == address(0)) revert OracleZeroKey();
        address old = d.key;
        d.key = newKey;
        emit DeviceRotated(deviceId, old, newKey);
    }

    // ------------------------------------------------------------------------------------ configuration

    /// @inheritdoc ITelemetryOracle
    function setSigners(address[] calldata nodes, uint8 quorum)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
        returns (uint32 id)
    {
        // k of n with a majority: two disjoint quorums cannot both exist.
        if (nodes.length == 0 || nodes.length > MAX_NODES || quorum == 0 || quorum > nodes.length
                || 2 * uint256(quorum) <= nodes.length) {
            revert OracleBadSignerSet(nodes.length, quorum);
        }
        id = ++_signerSet;
        for (uint256 i = 0; i < nodes.length; i++) {
            if (nodes[i] == address(0) || _nodeIndex[id][nodes[i]] != 0) revert OracleDuplicateNode(nodes[i]);
            _nodeIndex[id][nodes[i]] = i + 1;
        }
        _nodes = nodes;
        _quorum = quorum;
        emit SignerSetChanged(id, nodes, quorum);
    }

    /// @inheritdoc ITelemetryOracle
    function setWatch(TargetKind kind, uint256 targetId, Watch calldata w) external {
        _requireCustodian(kind, targetId, msg.sender);
        if (w.minTemp > w.maxTemp || w.openFrom > w.openTo || w.openTo > 1 days) {
            revert OracleBadWatch(w.minTemp, w.maxTemp, w.openFrom, w.openTo);
        }
        _watch[kind][targetId] = w;
        emit WatchSet(kind, targetId, w.minTemp, w.maxTemp, w.openFrom, w.openTo);
    }

    /// @inheritdoc ITelemetryOracle
    function setRoute(uint256 orderId, int32[] calldata lats, int32[] calldata lons, uint32 corridor) external {
        _requireCustodian(TargetKind.Shipment, orderId, msg.sender);
        if (lats.length == 0 || lats.length != lons.length || lats.length > MAX_WAYPOINTS || corridor == 0) {
            revert OracleBadRoute(lats.length, corridor);
        }
        _routes[orderId] = Route(corridor, lats, lons);
        emit RouteSet(orderId, lats, lons, corridor);
    }

    /// @inheritdoc ITelemetryOracle
    function setLimits(uint64 maxAge_, uint64 maxSkew_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (maxAge_ == 0 || maxAge_ > 30 days || maxSkew_ > 1 days) revert OracleBadLimits(maxAge_, maxSkew_);
        maxAge = maxAge_;
        maxSkew = maxSkew_;
        emit LimitsSet(maxAge_, maxSkew_);
    }

    /// @inheritdoc ITelemetryOracle
    function setBounds(Metric metric, int64 min, int64 max) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (min > max) revert OracleBadBounds(metric, min, max);
        _bounds[metric] = Bounds(min, max);
        emit BoundsSet(metric, min, max);
    }

    /// @inheritdoc ITelemetryOracle
    function setAlertSink(address sink) external onlyRole(WIRING_ROLE) {
        alertSink = sink;
        emit AlertSinkSet(sink);
    }

    // ------------------------------------------------------------------------------------ reports

    /// @inheritdoc ITelemetryOracle
    function submitReport(Report calldata report, bytes[] calldata signatures) external {
        if (!registry.isActive(msg.sender, IMemberRegistry.Role.Oracle)) revert OracleNotPublisher(msg.sender);
        bytes32 digest = _hashTypedDataV4(_hashReport(report));
        // Accepted once: the same signed report (on this chain, for this contract) never counts twice.
        if (_accepted[digest]) revert OracleReportReplayed(digest);
        if (_batches[report.batchId].root != bytes32(0)) revert OracleBatchExists(report.batchId);
        // Until the operator installs a signer set there is no node and no quorum: nothing counts.
        if (_signerSet == 0) revert OracleNoSignerSet();
        if (report.signerSet != _signerSet) {
            if (report.signerSet < _signerSet && report.signerSet != 0) {
                revert OracleSignerSetRetired(report.signerSet, _signerSet);
            }
            revert OracleUnknownSignerSet(report.signerSet);
        }
        if (report.readingCount == 0 || report.readingsRoot == bytes32(0)) revert OracleEmptyBatch();
        _checkFresh(report.periodStart, report.periodEnd);
        _checkSignatures(digest, report.signerSet, signatures);

        _accepted[digest] = true;
        _batches[report.batchId] = Batch({
            root: report.readingsRoot,
            digest: digest,
            readingCount: report.readingCount,
            signerSet: report.signerSet,
            periodStart: report.periodStart,
            periodEnd: report.periodEnd,
            acceptedAt: uint64(block.timestamp)
        });
        emit ReportAccepted(
            report.batchId, digest, report.readingsRoot, report.readingCount, report.signerSet, msg.sender
        );
        for (uint256 i = 0; i < report.devices.length; i++) {
            _advance(report.devices[i], report.batchId);
        }
        for (uint256 i = 0; i < report.summaries.length; i++) {
            _apply(report.summaries[i], report.batchId, report.periodStart, report.periodEnd, digest);
        }
    }

    /// @inheritdoc ITelemetryOracle
    function verifyReading(uint256 batchId, Reading calldata reading, bytes32[] calldata proof)
        external
        view
        returns (bytes32 leaf)
    {
        bytes32 root = _batches[batchId].root;
        if (root == bytes32(0)) revert OracleUnknownBatch(batchId);
        leaf = _readingLeaf(reading);
        if (!MerkleProof.verifyCalldata(proof, root, leaf)) revert OracleReadingNotInBatch(batchId, leaf);
    }

    // ------------------------------------------------------------------------------------ views

    /// The Merkle leaf of a reading: OpenZeppelin's double hash of its ABI encoding.
    function _readingLeaf(Reading calldata r) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(r))));
    }

    /// @inheritdoc ITelemetryOracle
    function getDevice(bytes32 deviceId) external view returns (Device memory) {
        if (_devices[deviceId].key == address(0)) revert OracleUnknownDevice(deviceId);
        return _devices[deviceId];
    }

    /// @inheritdoc ITelemetryOracle
    function getBatch(uint256 batchId) external view returns (Batch memory) {
        if (_batches[batchId].root == bytes32(0)) revert OracleUnknownBatch(batchId);
        return _batches[batchId];
    }

    /// @inheritdoc ITelemetryOracle
    function targetState(TargetKind kind, uint256 targetId) external view returns (TargetState memory) {
        return _state[kind][targetId];
    }

    /// @inheritdoc ITelemetryOracle
    function getWatch(TargetKind kind, uint256 targetId) external view returns (Watch memory) {
        return _watch[kind][targetId];
    }

    /// @inheritdoc ITelemetryOracle
    function signerSet() external view returns (uint32 id, uint8 quorum, address[] memory nodes) {
        return (_signerSet, _quorum, _nodes);
    }

    /// @notice The physical bounds of a metric.
    function bounds(Metric metric) external view returns (int64 min, int64 max) {
        Bounds memory b = _bounds[metric];
        return (b.min, b.max);
    }

    /// @inheritdoc ITelemetryOracle
    /// @dev Planar approximation (fine for a corridor of a few kilometres): the point is on route when
    /// it lies within `corridor` micro-degrees of some leg of the route (or of its only waypoint).
    function isOffRoute(uint256 orderId, int32 lat, int32 lon) public view returns (bool) {
        Route storage r = _routes[orderId];
        uint256 n = r.lats.length;
        if (n == 0) return false; // no route, nothing to be off
        int256 c = int256(uint256(r.corridor));
        int256 limit = c * c;
        if (n == 1) return _dist2(lat, lon, r.lats[0], r.lons[0]) > limit;
        for (uint256 i = 0; i + 1 < n; i++) {
            if (_segDist2(lat, lon, r.lats[i], r.lons[i], r.lats[i + 1], r.lons[i + 1]) <= limit) return false;
        }
        return true;
    }

    // ------------------------------------------------------------------------------------ internal

    function _liveDevice(bytes32 deviceId) internal view returns (Device storage d) {
        d = _devices[deviceId];
        if (d.key == address(0)) revert OracleUnknownDevice(deviceId);
        if (d.retired) revert OracleDeviceRetired(deviceId);
    }

    /// The caller owns the device and is still an active custodian: an evicted or suspended warehouse
    /// (carrier) no longer retires or re-keys the devices watching the goods (the operator still may retire).
    function _requireActiveOwner(Device storage d, bytes32 deviceId) internal view {
        if (msg.sender != d.owner) revert OracleNotDeviceOwner(deviceId, msg.sender);
        IMemberRegistry.Role role =
            d.kind == TargetKind.Asset ? IMemberRegistry.Role.Warehouse : IMemberRegistry.Role.Logistics;
        if (!registry.isActive(msg.sender, role)) revert OracleCustodianNotActive(deviceId, msg.sender);
    }

    /// The custodian of a receipt is the warehouse that issued it; of a shipment, its carrier. Either
    /// must be an active member.
    function _requireCustodian(TargetKind kind, uint256 targetId, address who) internal view {
        if (!registry.isActiveMember(who)) revert OracleOwnerNotActive(who);
        if (kind == TargetKind.Asset) {
            IAssetRegistry.Asset memory a = assets.getAsset(targetId);
            if (a.kind != IAssetRegistry.AssetKind.WarehouseReceipt || a.issuer != who
                    || !registry.isActive(who, IMemberRegistry.Role.Warehouse)) {
                revert OracleNotCustodian(kind, targetId, who);
            }
        } else {
            if (targetId == 0 || targetId > orders.orderCount()) revert OracleNotCustodian(kind, targetId, who);
            IOrderBook.Order memory o = orders.getOrder(targetId);
            if (o.carrier != who || !registry.isActive(who, IMemberRegistry.Role.Logistics)) {
                revert OracleNotCustodian(kind, targetId, who);
            }
        }
    }

    function _checkFresh(uint64 periodStart, uint64 periodEnd) internal view {
        if (periodStart > periodEnd) revert OracleBadPeriod(periodStart, periodEnd);
        uint64 nowTime = uint64(block.timestamp);
        if (periodEnd > nowTime + maxSkew) revert OracleReportFromFuture(periodEnd, nowTime, maxSkew);
        if (periodEnd + maxAge < nowTime) revert OracleReportStale(periodEnd, nowTime, maxAge);
    }

    /// k distinct nodes of the signer set. ECDSA.recover refuses malleable (high-s) signatures.
    function _checkSignatures(bytes32 digest, uint32 setId, bytes[] calldata signatures) internal view {
        uint256 seen;
        for (uint256 i = 0; i < signatures.length; i++) {
            address signer = ECDSA.recover(digest, signatures[i]);
            uint256 index = _nodeIndex[setId][signer];
            if (index == 0) revert OracleSignerNotInSet(signer, setId);
            uint256 bit = 1 << (index - 1);
            if (seen & bit != 0) revert OracleDuplicateSigner(signer);
            seen |= bit;
        }
        if (signatures.length < _quorum) revert OracleQuorumNotMet(signatures.length, _quorum);
    }

    function _advance(DeviceSeq calldata s, uint256 batchId) internal {
        Device storage d = _liveDevice(s.deviceId);
        if (s.firstSeq > s.lastSeq) revert OracleBadSequenceRange(s.deviceId, s.firstSeq, s.lastSeq);
        // Sequence numbers only increase: a batch starts after the last one accepted for the device.
        if (s.firstSeq <= d.lastSeq) revert OracleSequenceNotIncreasing(s.deviceId, d.lastSeq, s.firstSeq);
        // ... and by at most MAX_SEQ_ADVANCE a report, so no report can exhaust the device's sequence.
        if (s.lastSeq - d.lastSeq > MAX_SEQ_ADVANCE) {
            revert OracleSequenceJump(s.deviceId, d.lastSeq, s.lastSeq, MAX_SEQ_ADVANCE);
        }
        d.lastSeq = s.lastSeq;
        emit DeviceSeqAdvanced(s.deviceId, batchId, s.lastSeq);
    }

    function _bound(Metric metric, int256 value) internal view {
        Bounds memory b = _bounds[metric];
        if (value < b.min || value > b.max) revert OracleValueOutOfBounds(metric, value, b.min, b.max);
    }

    function _checkSummary(Summary calldata s, uint64 periodStart, uint64 periodEnd) internal view {
        if (s.fields == 0 || s.fields > 15) revert OracleBadSummary(s.kind, s.targetId, s.fields);
        if (s.fields & F_QUANTITY != 0) {
            // quantity in receipt units, bounded like the load cell's thousandths
            _bound(Metric.Weight, int256(s.quantity) * 1000);
        }
        if (s.fields & F_TEMPERATURE != 0) {
            _bound(Metric.Temperature, s.minTemp);
            _bound(Metric.Temperature, s.maxTemp);
            if (s.minTemp > s.maxTemp) revert OracleBadSummary(s.kind, s.targetId, s.fields);
        }
        if (s.fields & F_LOCATION != 0) {
            _bound(Metric.Location, s.lat);
            _bound(Metric.Location, s.lon);
            if (s.lat > 90e6 || s.lat < -90e6) revert OracleValueOutOfBounds(Metric.Location, s.lat, -90e6, 90e6);
        }
        if (s.fields & F_DOOR != 0 && s.outOfHoursAt != 0) {
            // The opening it reports must be in the period and out of the custodian's hours.
            Watch memory w = _watch[s.kind][s.targetId];
            uint256 t = s.outOfHoursAt % 1 days;
            bool inHours = (w.openFrom == 0 && w.openTo == 0) || (t >= w.openFrom && t < w.openTo);
            if (s.outOfHoursAt < periodStart || s.outOfHoursAt > periodEnd || inHours || s.doorOpenings == 0) {
                revert OracleBadSummary(s.kind, s.targetId, s.fields);
            }
        }
    }

    function _apply(Summary calldata s, uint256 batchId, uint64 periodStart, uint64 periodEnd, bytes32 digest)
        internal
    {
        TargetState storage st = _state[s.kind][s.targetId];
        if (st.activeDevices == 0) revert OracleTargetNotWatched(s.kind, s.targetId);
        _checkSummary(s, periodStart, periodEnd);
        st.batchId = batchId;
        st.updatedAt = uint64(block.timestamp);
        st.fields |= s.fields;
        // The receipt behind an asset target, or the future-goods right of a shipment's order.
        IAssetRegistry.Asset memory a;
        if (s.kind == TargetKind.Asset) {
            a = assets.getAsset(s.targetId);
        } else {
            uint256 rightId = assets.assetByKey(assets.futureGoodsKey(s.targetId));
            if (rightId != 0) a = assets.getAsset(rightId);
        }
        uint8 before = st.breaches;
        uint8 flags = before;
        // Flags are announced to a loan: a new lock (goods known short, pledged again) hears the
        // standing breaches afresh and gets its own margin call; a released receipt hears nothing.
        uint8 announced = before;
        if (a.lockedBy != st.loanId) {
            st.loanId = a.lockedBy;
            st.marginCall = false;
            if (a.lockedBy != 0) announced = 0;
        }
        if (s.fields & F_QUANTITY != 0) {
            st.quantity = s.quantity;
            // Pledged goods must be in store; free goods may come and go (withdrawGoods records them).
            uint256 expected = a.lockedBy != 0 ? a.pledgedQuantity : a.quantity;
            flags = _flag(flags, Breach.GoodsMissing, s.kind == TargetKind.Asset && s.quantity < expected);
        }
        if (s.fields & F_TEMPERATURE != 0) {
            st.minTemp = s.minTemp;
            st.maxTemp = s.maxTemp;
            Watch memory w = _watch[s.kind][s.targetId];
            bool set = w.minTemp != 0 || w.maxTemp != 0;
            flags = _flag(flags, Breach.Temperature, set && (s.minTemp < w.minTemp || s.maxTemp > w.maxTemp));
        }
        if (s.fields & F_LOCATION != 0) {
            st.lat = s.lat;
            st.lon = s.lon;
            bool off = s.kind == TargetKind.Shipment && isOffRoute(s.targetId, s.lat, s.lon);
            flags = _flag(flags, Breach.OffRoute, off);
        }
        if (s.fields & F_DOOR != 0) {
            st.doorOpenings = s.doorOpenings;
            st.outOfHoursAt = s.outOfHoursAt;
            flags = _flag(flags, Breach.DoorOutOfHours, s.outOfHoursAt != 0);
        }
        st.breaches = flags;
        emit TargetUpdated(s.kind, s.targetId, batchId, st.quantity, flags);
        _announce(s, before, announced, flags, batchId, a.lockedBy, digest);
        if (s.kind == TargetKind.Asset && s.fields & F_QUANTITY != 0 && a.lockedBy != 0) {
            _checkMargin(st, s.targetId, a, digest);
        }
    }

    function _flag(uint8 flags, Breach b, bool on) internal pure returns (uint8) {
        uint8 bit = uint8(1) << uint8(b);
        return on ? flags | bit : flags & ~bit;
    }

    /// Events (and alerts to the sink) for the breaches that changed with this summary: detected when
    /// set and not yet announced to the loan (`announced`), cleared when set before and no longer.
    function _announce(
        Summary calldata s,
        uint8 before,
        uint8 announced,
        uint8 flags,
        uint256 batchId,
        uint256 loanId,
        bytes32 digest
    ) internal {
        for (uint8 b = 0; b < 4; b++) {
            uint8 bit = uint8(1) << b;
            if (flags & bit != 0) {
                if (announced & bit != 0) continue;
                emit BreachDetected(s.kind, s.targetId, Breach(b), batchId, loanId, _observed(s, Breach(b)));
                if (loanId != 0) _alert(loanId, IND_BREACH_BASE + b, b == 0 ? 3 : 2, digest);
            } else if (before & bit != 0) {
                emit BreachCleared(s.kind, s.targetId, Breach(b), batchId);
            }
        }
    }

    function _observed(Summary calldata s, Breach b) internal pure returns (int256) {
        if (b == Breach.GoodsMissing) return int256(s.quantity);
        if (b == Breach.Temperature) return s.maxTemp;
        if (b == Breach.DoorOutOfHours) return int256(uint256(s.outOfHoursAt));
        return s.lat;
    }

    function _checkMargin(TargetState storage st, uint256 assetId, IAssetRegistry.Asset memory a, bytes32 digest)
        internal
    {
        uint256 loanId = a.lockedBy;
        ILoanBook.Loan memory loan = loans.getLoan(loanId);
        if (loan.mode != ILoanBook.Mode.Pledge) return;
        if (loan.status != ILoanBook.LoanStatus.Disbursed && loan.status != ILoanBook.LoanStatus.Warned) return;
        uint256 counted = st.quantity < a.pledgedQuantity ? st.quantity : a.pledgedQuantity;
        uint256 collateralValue = a.quantity == 0 ? 0 : a.value * counted / a.quantity;
        uint256 limit = collateralValue * loan.ltvBps / BPS;
        uint256 owed = loans.outstanding(loanId);
        st.collateralValue = collateralValue;
        bool call = limit < owed;
        if (call == st.marginCall) return;
        st.marginCall = call;
        if (call) {
            emit MarginCall(loanId, assetId, collateralValue, limit, owed);
            _alert(loanId, IND_MARGIN_CALL, 3, digest);
        } else {
            emit MarginCallCleared(loanId, assetId, collateralValue, limit);
        }
    }

    /// Tell the alert sink; a failing sink never fails the batch but is reported, never swallowed.
    /// Bounded both ways: the sink gets ALERT_GAS and at most MAX_REASON bytes of its answer are copied,
    /// so a hostile or broken sink costs a report at most about ALERT_GAS and a short event per alert.
    function _alert(uint256 loanId, uint16 indicator, uint8 severity, bytes32 evidence) internal {
        address sink = alertSink;
        if (sink == address(0)) return;
        bytes memory data = abi.encodeCall(IAlertSink.raiseLoanAlert, (loanId, indicator, severity, evidence));
        bool ok;
        bytes memory reason;
        assembly ("memory-safe") {
            ok := call(ALERT_GAS, sink, 0, add(data, 32), mload(data), 0, 0)
            let size := returndatasize()
            if gt(size, MAX_REASON) { size := MAX_REASON }
            reason := mload(0x40)
            mstore(reason, size)
            returndatacopy(add(reason, 32), 0, size)
            mstore(0x40, add(add(reason, 32), and(add(size, 31), not(31))))
        }
        // Done is a call that answered an alert id; a revert, running out of gas or no code at all failed.
        if (!ok || reason.length < 32) emit AlertSinkFailed(loanId, indicator, reason);
    }

    function _hashReport(Report calldata r) internal pure returns (bytes32) {
        bytes32[] memory devs = new bytes32[](r.devices.length);
        for (uint256 i = 0; i < devs.length; i++) {
            DeviceSeq calldata d = r.devices[i];
            devs[i] = keccak256(abi.encode(DEVICE_SEQ_TYPEHASH, d.deviceId, d.firstSeq, d.lastSeq));
        }
        bytes32[] memory sums = new bytes32[](r.summaries.length);
        for (uint256 i = 0; i < sums.length; i++) {
            sums[i] = _hashSummary(r.summaries[i]);
        }
        return keccak256(
            abi.encode(
                REPORT_TYPEHASH,
                r.batchId,
                r.signerSet,
                r.periodStart,
                r.periodEnd,
                r.readingsRoot,
                r.readingCount,
                keccak256(abi.encodePacked(devs)),
                keccak256(abi.encodePacked(sums))
            )
        );
    }

    function _hashSummary(Summary calldata s) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                SUMMARY_TYPEHASH,
                s.kind,
                s.targetId,
                s.fields,
                s.quantity,
                s.minTemp,
                s.maxTemp,
                s.lat,
                s.lon,
                s.doorOpenings,
                s.outOfHoursAt
            )
        );
    }

    function _dist2(int256 lat, int256 lon, int256 lat0, int256 lon0) internal pure returns (int256) {
        return (lat - lat0) * (lat - lat0) + (lon - lon0) * (lon - lon0);
    }

    /// Squared distance from P to the segment AB (planar, micro-degrees).
    function _segDist2(int256 py, int256 px, int256 ay, int256 ax, int256 by, int256 bx)
        internal
        pure
        returns (int256)
    {
        int256 dy = by - ay;
        int256 dx = bx - ax;
        int256 len2 = dy * dy + dx * dx;
        if (len2 == 0) return _dist2(py, px, ay, ax);
        int256 dot = (py - ay) * dy + (px - ax) * dx;
        if (dot <= 0) return _dist2(py, px, ay, ax);
        if (dot >= len2) return _dist2(py, px, by, bx);
        return _dist2(py, px, ay + dy * dot / len2, ax + dx * dot / len2);
    }
}
