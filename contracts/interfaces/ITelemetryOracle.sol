// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Signed IoT telemetry about pledged goods and shipments, brought on chain by k of n oracle nodes
/// @notice Devices (load cells, temperature loggers, GPS trackers, door sensors) are registered by the
/// warehouse or carrier that runs them, each with its own key, and bound to a warehouse receipt or a
/// shipment (an order with a carrier). Oracle nodes check the devices' signed readings off chain,
/// batch them under one Merkle root and sign an EIP-712 report (domain bound to the chain id and this
/// contract) with per-target summaries. A report signed by `quorum` distinct nodes of the current
/// signer set, fresh, never seen before and with every device's sequence moving forward is accepted:
/// the summaries update the collateral state of each target, breaches raise events, and a pledge loan
/// whose collateral no longer covers its debt at the loan's LTV gets a margin call.
/// @dev Margin call rule: for a warehouse receipt locked to a Pledge loan that is Disbursed or Warned,
/// `collateralValue = value * min(measuredQuantity, pledgedQuantity) / quantity` (the receipt's
/// appraised value pro rata, released goods not counted) and `limit = collateralValue * ltvBps / 10000`;
/// the call is raised when `limit < outstanding(loanId)` and cleared when a later report shows
/// `limit >= outstanding`. Breach flags and the margin call raise events (and alerts) only when they
/// change, so a standing breach is not reported again with every batch. They are announced per loan:
/// `TargetState.loanId` is the lock they were announced to; when the first report after a new lock
/// (a new pledge loan on the same receipt) finds it, the margin call is evaluated afresh for the new
/// loan and every standing breach is detected again, with alerts to that loan.
/// Trust: no report is accepted before the operator installs a signer set (`OracleNoSignerSet`), and a
/// signer set always has a quorum of at least one node and a majority (`2 * quorum > n`).
/// Sequence rule: a report moves a device's `lastSeq` forward (`firstSeq > lastSeq`) and by at most
/// `MAX_SEQ_ADVANCE` = 2^32 (`reported lastSeq - lastSeq <= 2^32`, else `OracleSequenceJump`). A device
/// reading once a second needs 136 years to number 2^32 readings, so an honest batch, gaps of lost
/// readings included, is never refused; a signed report that names an absurd sequence can no longer
/// push a device to 2^64 - 1 (after which it could never report again): that takes 2^32 accepted reports.
interface ITelemetryOracle {
    /// What a device measures. Reading values: Weight in thousandths of the receipt's unit, Temperature
    /// in hundredths of a degree Celsius, Location latitude in `value` and longitude in `value2` (both
    /// micro-degrees), Door 1 = opened, 0 = closed.
    enum Metric {
        Weight,
        Temperature,
        Location,
        Door
    }

    /// What a device watches: a warehouse receipt (asset id) or a shipment (order id).
    enum TargetKind {
        Asset,
        Shipment
    }

    /// Breaches, as bits of `TargetState.breaches` (bit i = Breach(i)).
    enum Breach {
        GoodsMissing,
        Temperature,
        DoorOutOfHours,
        OffRoute
    }

    struct Device {
        address key;
        address owner;
        Metric metric;
        TargetKind kind;
        bool retired;
        uint64 lastSeq;
        uint256 targetId;
    }

    /// The custodian's rules for a target: the goods' temperature range (hundredths of a degree C; 0..0
    /// means no range is set) and the door's opening hours (seconds of the UTC day,
    /// `openFrom <= t < openTo`; 0..0 means always open).
    struct Watch {
        int32 minTemp;
        int32 maxTemp;
        uint32 openFrom;
        uint32 openTo;
    }

    /// The highest sequence number of a device in a batch, and its first one.
    struct DeviceSeq {
        bytes32 deviceId;
        uint64 firstSeq;
        uint64 lastSeq;
    }

    /// What a batch says about one target. `fields` bit 0 quantity, 1 temperature, 2 location, 3 door.
    struct Summary {
        TargetKind kind;
        uint256 targetId;
        uint16 fields;
        uint256 quantity;
        int32 minTemp;
        int32 maxTemp;
        int32 lat;
        int32 lon;
        uint16 doorOpenings;
        /// the first door opening out of the watch's hours in the period, 0 when none
        uint64 outOfHoursAt;
    }

    /// The EIP-712 typed data the oracle nodes sign.
    struct Report {
        uint256 batchId;
        uint32 signerSet;
        uint64 periodStart;
        uint64 periodEnd;
        bytes32 readingsRoot;
        uint32 readingCount;
        DeviceSeq[] devices;
        Summary[] summaries;
    }

    /// One device reading, the leaf of a batch: `keccak256(bytes.concat(keccak256(abi.encode(r))))`.
    struct Reading {
        bytes32 deviceId;
        uint64 seq;
        uint64 timestamp;
        Metric metric;
        int64 value;
        int64 value2;
        /// hash of the device's previous reading (zero for its first): a gap breaks the chain
        bytes32 prevHash;
    }

    struct Batch {
        bytes32 root;
        bytes32 digest;
        uint32 readingCount;
        uint32 signerSet;
        uint64 periodStart;
        uint64 periodEnd;
        uint64 acceptedAt;
    }

    /// The collateral state of a target as the last accepted report left it.
    struct TargetState {
        uint256 batchId;
        uint64 updatedAt;
        uint16 fields;
        uint8 breaches;
        bool marginCall;
        uint32 activeDevices;
        uint256 quantity;
        int32 minTemp;
        int32 maxTemp;
        int32 lat;
        int32 lon;
        uint16 doorOpenings;
        uint64 outOfHoursAt;
        uint256 collateralValue;
        /// the loan the breaches and `marginCall` were announced to (the target's lock at the last
        /// report; 0 when none)
        uint256 loanId;
    }

    /// @notice `deviceId = keccak256(abi.encode(owner, serial))`; `serial` is keccak256 of the serial number.
    event DeviceRegistered(
        bytes32 indexed deviceId,
        address indexed owner,
        address key,
        Metric metric,
        TargetKind kind,
        uint256 targetId,
        bytes32 serial
    );
    event DeviceRetired(bytes32 indexed deviceId, address indexed by);
    event DeviceRotated(bytes32 indexed deviceId, address oldKey, address newKey);
    event SignerSetChanged(uint32 indexed signerSet, address[] nodes, uint8 quorum);
    event WatchSet(TargetKind kind, uint256 indexed targetId, int32 minTemp, int32 maxTemp, uint32 openFrom, uint32 openTo);
    event RouteSet(uint256 indexed orderId, int32[] lats, int32[] lons, uint32 corridor);
    event LimitsSet(uint64 maxAge, uint64 maxSkew);
    event BoundsSet(Metric metric, int64 min, int64 max);
    event AlertSinkSet(address sink);
    event ReportAccepted(
        uint256 indexed batchId, bytes32 digest, bytes32 root, uint32 readingCount, uint32 signerSet, address publisher
    );
    event DeviceSeqAdvanced(bytes32 indexed deviceId, uint256 indexed batchId, uint64 lastSeq);
    event TargetUpdated(TargetKind kind, uint256 indexed targetId, uint256 indexed batchId, uint256 quantity, uint8 breaches);
    event BreachDetected(
        TargetKind kind, uint256 indexed targetId, Breach breach, uint256 indexed batchId, uint256 loanId, int256 observed
    );
    event BreachCleared(TargetKind kind, uint256 indexed targetId, Breach breach, uint256 indexed batchId);
    event MarginCall(
        uint256 indexed loanId, uint256 indexed assetId, uint256 collateralValue, uint256 limit, uint256 outstanding
    );
    event MarginCallCleared(uint256 indexed loanId, uint256 indexed assetId, uint256 collateralValue, uint256 limit);
    /// @notice The alert sink did not take an alert: it reverted (`reason`: the first 132 bytes of its
    /// revert data), ran out of its `ALERT_GAS` (500,000 gas per alert; `reason` empty) or has no code.
    /// The report is accepted all the same; a hostile sink costs it at most ALERT_GAS per alert.
    event AlertSinkFailed(uint256 indexed loanId, uint16 indicator, bytes reason);

    error OracleDeviceExists(bytes32 deviceId);
    error OracleUnknownDevice(bytes32 deviceId);
    error OracleDeviceRetired(bytes32 deviceId);
    error OracleNotDeviceOwner(bytes32 deviceId, address caller);
    error OracleZeroKey();
    /// @notice The device's owner is no longer an active warehouse (carrier): suspended or evicted, it
    /// may not retire or re-key the device (the operator may still retire it).
    error OracleCustodianNotActive(bytes32 deviceId, address owner);
    error OracleOwnerNotActive(address owner);
    error OracleNotCustodian(TargetKind kind, uint256 targetId, address caller);
    error OracleBadSignerSet(uint256 nodes, uint8 quorum);
    error OracleDuplicateNode(address node);
    error OracleNotPublisher(address caller);
    error OracleSignerSetRetired(uint32 signerSet, uint32 current);
    error OracleUnknownSignerSet(uint32 signerSet);
    error OracleReportReplayed(bytes32 digest);
    error OracleBatchExists(uint256 batchId);
    error OracleReportStale(uint64 periodEnd, uint64 nowTime, uint64 maxAge);
    error OracleReportFromFuture(uint64 periodEnd, uint64 nowTime, uint64 maxSkew);
    error OracleBadPeriod(uint64 periodStart, uint64 periodEnd);
    error OracleSignerNotInSet(address signer, uint32 signerSet);
    error OracleDuplicateSigner(address signer);
    error OracleQuorumNotMet(uint256 signatures, uint8 quorum);
    error OracleSequenceNotIncreasing(bytes32 deviceId, uint64 lastSeq, uint64 firstSeq);
    /// @notice A report moves a device's sequence from `lastSeq` to `reportedLastSeq`, more than
    /// `maxAdvance` (MAX_SEQ_ADVANCE, 2^32) at once.
    error OracleSequenceJump(bytes32 deviceId, uint64 lastSeq, uint64 reportedLastSeq, uint64 maxAdvance);
    /// @notice No signer set is installed yet (the operator's `setSigners`): no report is accepted.
    error OracleNoSignerSet();
    error OracleBadSequenceRange(bytes32 deviceId, uint64 firstSeq, uint64 lastSeq);
    error OracleValueOutOfBounds(Metric metric, int256 value, int64 min, int64 max);
    error OracleTargetNotWatched(TargetKind kind, uint256 targetId);
    error OracleBadSummary(TargetKind kind, uint256 targetId, uint16 fields);
    error OracleEmptyBatch();
    error OracleUnknownBatch(uint256 batchId);
    error OracleReadingNotInBatch(uint256 batchId, bytes32 leaf);
    error OracleBadLimits(uint64 maxAge, uint64 maxSkew);
    error OracleBadBounds(Metric metric, int64 min, int64 max);
    error OracleBadWatch(int32 minTemp, int32 maxTemp, uint32 openFrom, uint32 openTo);
    error OracleBadRoute(uint256 waypoints, uint32 corridor);

    /// @notice A warehouse or carrier (active member) registers a device it runs, with the device's own
    /// key, bound to a warehouse receipt it issued or a shipment it carries. Device ids are namespaced by
    /// custodian: the id is `keccak256(abi.encode(msg.sender, serial))` (`serial`: keccak256 of the
    /// device's serial number), so no custodian can register, and squat, an id of another's.
    /// @return deviceId the id readings and reports name the device by
    function registerDevice(bytes32 serial, address key, Metric metric, TargetKind kind, uint256 targetId)
        external
        returns (bytes32 deviceId);
    /// @notice The device's owner (or the operator) retires it for good; its readings are refused from then.
    /// The owner must still be an active warehouse (carrier) (`OracleCustodianNotActive`).
    function retireDevice(bytes32 deviceId) external;
    /// @notice The device's owner, while an active warehouse (carrier), gives it a new key; its sequence
    /// numbers carry on.
    function rotateDeviceKey(bytes32 deviceId, address newKey) external;
    /// @notice Council (DEFAULT_ADMIN_ROLE, its timelock): a new signer set (the oracle nodes' keys and the quorum k of n); the previous
    /// set is retired and reports it signed are refused. `2 * quorum > n` (a majority).
    function setSigners(address[] calldata nodes, uint8 quorum) external returns (uint32 signerSet);
    /// @notice The target's custodian (receipt issuer, shipment carrier) sets its temperature range and hours.
    function setWatch(TargetKind kind, uint256 targetId, Watch calldata w) external;
    /// @notice The carrier of a shipment sets its route: waypoints and the corridor (micro-degrees) around it.
    function setRoute(uint256 orderId, int32[] calldata lats, int32[] calldata lons, uint32 corridor) external;
    /// @notice Council (DEFAULT_ADMIN_ROLE): freshness limits (seconds) of a report's `periodEnd`.
    function setLimits(uint64 maxAge, uint64 maxSkew) external;
    /// @notice Council (DEFAULT_ADMIN_ROLE): the physical bounds of a metric (summaries outside them are refused).
    function setBounds(Metric metric, int64 min, int64 max) external;
    /// @notice Deployer (WIRING_ROLE, renounced at the end of the deployment): where alerts go (RiskControl);
    /// zero for nowhere.
    function setAlertSink(address sink) external;

    /// @notice An oracle publisher (active member with the Oracle role) submits a report signed by
    /// `quorum` distinct nodes of the current signer set; refused (`OracleNoSignerSet`) while no set is
    /// installed, and when a device's sequence would move by more than `MAX_SEQ_ADVANCE` (2^32).
    function submitReport(Report calldata report, bytes[] calldata signatures) external;

    /// @notice Anyone: the leaf of `reading` if `proof` proves it is in accepted batch `batchId`;
    /// reverts `OracleReadingNotInBatch` otherwise.
    function verifyReading(uint256 batchId, Reading calldata reading, bytes32[] calldata proof)
        external
        view
        returns (bytes32 leaf);

    function getDevice(bytes32 deviceId) external view returns (Device memory);
    function getBatch(uint256 batchId) external view returns (Batch memory);
    function targetState(TargetKind kind, uint256 targetId) external view returns (TargetState memory);
    function getWatch(TargetKind kind, uint256 targetId) external view returns (Watch memory);
    function signerSet() external view returns (uint32 id, uint8 quorum, address[] memory nodes);
    function isOffRoute(uint256 orderId, int32 lat, int32 lon) external view returns (bool);
}
