// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IRandomnessBeacon} from "../interfaces/IRandomnessBeacon.sol";
import {IStaking} from "../interfaces/IStaking.sol";
import {Sortition} from "../libraries/Sortition.sol";

/// @title RandomnessBeacon
/// @notice RANDAO-style per-round randomness. The value of round `r` is built during round `r-1`:
///         drawn active validators commit `keccak256(abi.encode(secret, validator, r))` in the
///         first half of the round and reveal `secret` in the second half; every commit and reveal
///         mixes in `block.prevrandao`. From the start of round `r` the value is `keccak256(acc, r)`
///         and nobody can change it. A validator that commits and does not reveal can be reported
///         (`reportMissedReveal`) and its misses are counted for penalties.
///
/// Bounded contributors: the beacon's cost must not grow with the number of validators, so at
/// most `maxContributors` commit to a round. The contributors of round `r` are drawn by stake
/// (`Sortition`, `maxContributors` expected) from the value of round `r - 1`, which is fixed when
/// the commit phase of `r` opens, with stakes at the start of round `r - 2`, fixed before anyone
/// could compute that value; the first `maxContributors` drawn validators to commit are taken.
/// A round whose previous round had no contribution (round 1, or a network that stalled) is open
/// to every active validator, still capped (see `isDrawn`).
///
/// Bias limits (see docs/protocol.md): the last revealer sees the accumulator and may withhold
/// its reveal, choosing between two values at the cost of a recorded miss; a block proposer can
/// drop reveals or pick its own `prevrandao` for the blocks it proposes. Because a challenge's
/// result is due before the reveal phase of the round that fixes its audit seed begins, neither a
/// trainer nor anyone it colludes with can learn its audit committee before committing its result.
/// A round with no contribution at all is sealed by the first caller of `seal` from that block's
/// `prevrandao` (grindable by choosing the block; it only happens when no validator takes part).
contract RandomnessBeacon is IRandomnessBeacon {
    /// Commitment slot value once revealed, and once reported as missed.
    bytes32 private constant REVEALED = bytes32(uint256(1));
    bytes32 private constant MISSED = bytes32(uint256(2));

    struct Round {
        bytes32 acc;
        bytes32 sealedValue;
        uint32 commits;
        uint32 reveals;
        /// The validators' stake at the start of round `round - 2` (the draw's total), read once
        /// per round by the first drawn commitment; 0 until then. Shares the counters' slot.
        uint192 drawStake;
    }

    /// Hard bound of `maxContributors` (a round's cost is linear in it).
    uint256 public constant MAX_CONTRIBUTORS = 256;

    IStaking public immutable staking;
    uint256 public immutable genesis;
    uint256 public immutable epochLength;
    /// At most this many commitments per round; also the expected number of drawn validators.
    uint256 public immutable maxContributors;

    mapping(uint256 round => Round) private _rounds;
    mapping(uint256 round => mapping(address validator => bytes32)) private _commitments;
    mapping(address validator => uint256) public missedReveals;

    event Committed(uint256 indexed round, address indexed validator);
    event Revealed(uint256 indexed round, address indexed validator);
    event Sealed(uint256 indexed round, bytes32 value);
    event MissedReveal(uint256 indexed round, address indexed validator, uint256 misses);

    error NotActiveValidator(address account);
    error NotInCommitPhase(uint256 round, uint256 nowTime, uint256 start, uint256 end);
    error NotInRevealPhase(uint256 round, uint256 nowTime, uint256 start, uint256 end);
    error AlreadyCommitted(uint256 round, address validator);
    error NoCommitment(uint256 round, address validator);
    error RevealMismatch(uint256 round, address validator);
    error BeaconNotReady(uint256 round, uint256 readyAt);
    error RevealNotMissed(uint256 round, address validator);
    error InvalidCommitment(uint256 round, bytes32 commitment);
    error NotDrawn(uint256 round, address validator);
    error BeaconFull(uint256 round, uint256 maxContributors);
    error InvalidMaxContributors(uint256 value, uint256 min, uint256 max);

    constructor(IStaking staking_, uint256 maxContributors_) {
        if (maxContributors_ == 0 || maxContributors_ > MAX_CONTRIBUTORS)
            revert InvalidMaxContributors(maxContributors_, 1, MAX_CONTRIBUTORS);
        maxContributors = maxContributors_;
        staking = staking_;
        genesis = staking_.epochStart(0);
        epochLength = staking_.epochStart(1) - genesis;
    }

    /// @notice Commits to a secret for `round` (during the first half of round `round - 1`; the sender
    ///         is an active validator drawn for `round`, see `isDrawn`, and the round is not full).
    function commit(uint256 round, bytes32 commitment) external {
        if (staking.roleOf(msg.sender) != IStaking.Role.Validator || !staking.isActive(msg.sender)) {
            revert NotActiveValidator(msg.sender);
        }
        (uint256 start, uint256 end) = _commitPhase(round);
        if (block.timestamp < start || block.timestamp >= end)
            revert NotInCommitPhase(round, block.timestamp, start, end);
        if (_commitments[round][msg.sender] != 0) revert AlreadyCommitted(round, msg.sender);
        // 0, REVEALED and MISSED are the slot's markers: such a commitment could be repeated, or
        // never be revealed nor reported.
        if (uint256(commitment) <= uint256(MISSED)) revert InvalidCommitment(round, commitment);
        Round storage r = _rounds[round];
        if (r.commits >= maxContributors) revert BeaconFull(round, maxContributors);
        if (!_drawnToCommit(round, r)) revert NotDrawn(round, msg.sender);
        _commitments[round][msg.sender] = commitment;
        r.acc = keccak256(abi.encode(r.acc, commitment, block.prevrandao));
        ++r.commits;
        emit Committed(round, msg.sender);
    }

    /// @notice Reveals the committed secret (during the second half of round `round - 1`).
    function reveal(uint256 round, bytes32 secret) external {
        (, uint256 start) = _commitPhase(round);
        uint256 end = _roundStart(round);
        if (block.timestamp < start || block.timestamp >= end)
            revert NotInRevealPhase(round, block.timestamp, start, end);
        bytes32 c = _commitments[round][msg.sender];
        if (c == 0 || c == REVEALED) revert NoCommitment(round, msg.sender);
        if (c != commitmentOf(secret, msg.sender, round)) revert RevealMismatch(round, msg.sender);
        _commitments[round][msg.sender] = REVEALED;
        Round storage r = _rounds[round];
        r.acc = keccak256(abi.encode(r.acc, secret, block.prevrandao));
        ++r.reveals;
        emit Revealed(round, msg.sender);
    }

    /// @notice Records that `validator` committed to `round` and never revealed.
    function reportMissedReveal(uint256 round, address validator) external {
        if (block.timestamp < _roundStart(round)) revert BeaconNotReady(round, _roundStart(round));
        bytes32 c = _commitments[round][validator];
        if (c == 0 || c == REVEALED || c == MISSED) revert RevealNotMissed(round, validator);
        _commitments[round][validator] = MISSED;
        uint256 misses = ++missedReveals[validator];
        emit MissedReveal(round, validator, misses);
    }

    /// @notice Whether `validator` is drawn to contribute to `round`: with probability
    ///         `min(1, maxContributors * stake / validatorStake)`, stakes at the start of round
    ///         `round - 2`, from `keccak256(abi.encode(valueOf(round - 1), address(this), round))`.
    ///         True for every validator when round `round - 1` had no contribution (then its value
    ///         is a sealed block's, which the sealer could choose) or no validator had stake at
    ///         `round - 2`. Final from the start of round `round - 1` (the commit phase's opening).
    function isDrawn(uint256 round, address validator) external view returns (bool) {
        if (round < 2) return true;
        return
            _isDrawn(
                round,
                validator,
                staking.stakeAt(validator, round - 2),
                staking.roleStakeAt(IStaking.Role.Validator, round - 2)
            );
    }

    /// @inheritdoc IRandomnessBeacon
    function valueOf(uint256 round) public view returns (bytes32) {
        Round storage r = _rounds[round];
        if (r.sealedValue != 0) return r.sealedValue;
        uint256 readyAt = _roundStart(round);
        if (block.timestamp < readyAt || r.acc == 0) revert BeaconNotReady(round, readyAt);
        return keccak256(abi.encode(r.acc, round));
    }

    /// @inheritdoc IRandomnessBeacon
    function seal(uint256 round) external returns (bytes32 value) {
        Round storage r = _rounds[round];
        if (r.sealedValue != 0) return r.sealedValue;
        uint256 readyAt = _roundStart(round);
        if (block.timestamp < readyAt) revert BeaconNotReady(round, readyAt);
        if (r.acc != 0) return keccak256(abi.encode(r.acc, round));
        value = keccak256(abi.encode(block.prevrandao, blockhash(block.number - 1), round, address(this)));
        r.sealedValue = value;
        emit Sealed(round, value);
    }

    /// @inheritdoc IRandomnessBeacon
    function isReady(uint256 round) external view returns (bool) {
        return block.timestamp >= _roundStart(round);
    }

    /// @inheritdoc IRandomnessBeacon
    function commitDeadline(uint256 round) external view returns (uint256) {
        (, uint256 end) = _commitPhase(round);
        return end;
    }

    /// @notice The commitment a validator submits for `secret`.
    function commitmentOf(bytes32 secret, address validator, uint256 round) public pure returns (bytes32) {
        return keccak256(abi.encode(secret, validator, round));
    }

    /// @notice Commits and reveals so far for `round`.
    function participation(uint256 round) external view returns (uint32 commits, uint32 reveals) {
        Round storage r = _rounds[round];
        return (r.commits, r.reveals);
    }

    /// @notice Whether `validator` committed to `round`, and whether it revealed.
    function contributionOf(
        uint256 round,
        address validator
    ) external view returns (bool committed, bool revealed) {
        bytes32 c = _commitments[round][validator];
        return (c != 0, c == REVEALED);
    }

    /// `isDrawn(round, msg.sender)`, reading the validators' stake once per round (kept in `r`).
    function _drawnToCommit(uint256 round, Round storage r) private returns (bool) {
        if (round < 2 || _rounds[round - 1].acc == 0) return true;
        uint256 total = r.drawStake;
        if (total == 0) {
            total = staking.roleStakeAt(IStaking.Role.Validator, round - 2);
            if (total == 0) return true;
            if (total <= type(uint192).max) r.drawStake = uint192(total);
        }
        return _isDrawn(round, msg.sender, staking.stakeAt(msg.sender, round - 2), total);
    }

    /// The draw of `isDrawn`, with the stakes at the start of round `round - 2` given.
    function _isDrawn(
        uint256 round,
        address validator,
        uint256 stake,
        uint256 total
    ) private view returns (bool) {
        if (round < 2) return true;
        bytes32 prev = _rounds[round - 1].acc;
        if (prev == 0 || total == 0) return true;
        bytes32 seed = keccak256(abi.encode(keccak256(abi.encode(prev, round - 1)), address(this), round));
        return Sortition.isSelected(seed, validator, stake, total, maxContributors);
    }

    function _roundStart(uint256 round) private view returns (uint256) {
        return genesis + round * epochLength;
    }

    /// The commit phase of `round`: the first half of round `round - 1`.
    function _commitPhase(uint256 round) private view returns (uint256 start, uint256 end) {
        if (round == 0) return (0, 0);
        start = _roundStart(round - 1);
        end = start + epochLength / 2;
    }
}
