// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title ErrorProbe
/// @notice Test-only contract: every way a call can fail, so the client's revert decoding is
/// exercised against real compiler output on every backend. Never deployed outside tests.
contract ErrorProbe {
    enum Stage {
        Draft,
        Open,
        Closed
    }

    struct Point {
        uint64 x;
        address owner;
    }

    uint256 private _value;
    Stage private _stage;

    event ValueSet(address indexed by, uint256 value);

    error ProbeNoArgs();
    error ProbeAmountTooLarge(uint256 amount, uint256 limit);
    error ProbeNotOwner(address caller);
    error ProbeUnknownKey(bytes32 key);
    error ProbeWrongStage(uint256 id, Stage stage);
    error ProbeBadPoint(Point point, string note);

    /// @notice Store `value` and report it; the one state change tests count nonces with.
    function setValue(uint256 value) external {
        _value = value;
        emit ValueSet(msg.sender, value);
    }

    /// @notice Store `value`, then revert with ProbeAmountTooLarge when it exceeds `limit`,
    /// so a mined transaction can fail after writing state.
    function setValueBelow(uint256 value, uint256 limit) external {
        _value = value;
        if (value > limit) revert ProbeAmountTooLarge(value, limit);
        emit ValueSet(msg.sender, value);
    }

    function value() external view returns (uint256) {
        return _value;
    }

    function failNoArgs() external pure {
        revert ProbeNoArgs();
    }

    function failNotOwner() external view {
        revert ProbeNotOwner(msg.sender);
    }

    function failUnknownKey(bytes32 key) external pure {
        revert ProbeUnknownKey(key);
    }

    function failWrongStage(uint256 id) external view {
        revert ProbeWrongStage(id, _stage == Stage.Draft ? Stage.Open : _stage);
    }

    function failBadPoint(uint64 x) external view {
        revert ProbeBadPoint(Point({x: x, owner: msg.sender}), "point rejected");
    }

    function failRequire(uint256 amount) external pure {
        require(amount > 0, "amount must be positive");
    }

    function failEmpty() external pure {
        // A bare revert carries no data: the client must still report something.
        revert();
    }

    function divide(uint256 a, uint256 b) external pure returns (uint256) {
        return a / b;
    }

    function failAssert() external pure {
        assert(false);
    }
}
