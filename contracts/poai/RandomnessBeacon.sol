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
///
/// Storage (what a contribution writes): a round's mix and its counters share one slot, and each
/// validator's latest commitment is one slot that its next commitment reuses (a fresh slot only
/// for a validator's first commitment). A commitment that a later one replaces without having
/// been revealed is kept apart (`_withheld`), so a withheld reveal stays on record for its report
/// and its slash.
contract RandomnessBeacon is IRandomnessBeacon {
    /// Reserved commitment values (refused by `commit`; they were the markers of an earlier layout,
    /// and keeping them out keeps every commitment distinguishable from an empty slot).
    uint256 private constant MAX_RESERVED_COMMITMENT = 2;

    /// States of a validator's latest commitment (bits 216..223 of `_latest`).
    uint256 private constant COMMITTED = 1;
    uint256 private constant REVEALED = 2;
    uint256 private constant MISSED = 3;
    uint256 private constant STATE_SHIFT = 216;
    uint256 private constant ROUND_SHIFT = 224;
    /// The part of a commitment a slot keeps (its low 216 bits: finding two secrets whose
    /// commitments agree there takes ~2^108 hashes).
    uint256 private constant KEY_MASK = (1 << STATE_SHIFT) - 1;

    /// `_withheld` values: committed, never revealed, not reported yet / reported.
    uint256 private constant WITHHELD = 1;
    uint256 private constant WITHHELD_REPORTED = 2;

    struct Round {
        /// The RANDAO mix of the round's commitments and reveals (the low 224 bits of each mix;
        /// 0 while nobody contributed).
        uint224 acc;
        uint16 commits;
        uint16 reveals;
    }

    /// Hard bound of `maxContributors` (a round's cost is linear in it).
    uint256 public constant MAX_CONTRIBUTORS = 256;

    IStaking public immutable staking;
    uint256 public immutable genesis;
    uint256 public immutable epochLength;
    /// At most this many commitments per round; also the expected number of drawn validators.
    uint256 public immutable maxContributors;

    mapping(uint256 round => Round) private _rounds;
    /// The value of a round nobody contributed to, fixed by `seal`.
    mapping(uint256 round => bytes32) private _sealed;
    /// The validators' stake at the start of round `round - 2` (the draw's total), read once per
    /// round by the first drawn commitment; 0 until then.
    mapping(uint256 round => uint256) private _drawStake;
    /// A validator's latest commitment: `round << 224 | state << 216 | (commitment & KEY_MASK)`.
    mapping(address validator => uint256) private _latest;
    /// Commitments replaced by a later one without having been revealed (see `WITHHELD`).
    mapping(address validator => mapping(uint256 round => uint256)) private _withheld;
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
        uint256 latest = _latest[msg.sender];
        if (latest != 0 && latest >> ROUND_SHIFT == round) revert AlreadyCommitted(round, msg.sender);
        if (uint256(commitment) <= MAX_RESERVED_COMMITMENT) revert InvalidCommitment(round, commitment);
        Round storage r = _rounds[round];
        if (r.commits >= maxContributors) revert BeaconFull(round, maxContributors);
        if (!_drawnToCommit(round)) revert NotDrawn(round, msg.sender);
        // The commitment this one replaces is of an earlier round, whose reveals are over: kept
        // apart when it was never revealed (reported as missed or not), so the withholding stays
        // on record for its slash.
        uint256 state = (latest >> STATE_SHIFT) & 0xff;
        if (state == COMMITTED || state == MISSED)
            _withheld[msg.sender][latest >> ROUND_SHIFT] = state == COMMITTED ? WITHHELD : WITHHELD_REPORTED;
        _latest[msg.sender] =
            (round << ROUND_SHIFT) |
            (COMMITTED << STATE_SHIFT) |
            (uint256(commitment) & KEY_MASK);
        _mix(r, commitment, true);
        emit Committed(round, msg.sender);
    }

    /// @notice Reveals the committed secret (during the second half of round `round - 1`).
    function reveal(uint256 round, bytes32 secret) external {
        (, uint256 start) = _commitPhase(round);
        uint256 end = _roundStart(round);
        if (block.timestamp < start || block.timestamp >= end)
            revert NotInRevealPhase(round, block.timestamp, start, end);
        uint256 latest = _latest[msg.sender];
        if (latest >> ROUND_SHIFT != round || (latest >> STATE_SHIFT) & 0xff != COMMITTED)
            revert NoCommitment(round, msg.sender);
        if (uint256(commitmentOf(secret, msg.sender, round)) & KEY_MASK != latest & KEY_MASK)
            revert RevealMismatch(round, msg.sender);
        _latest[msg.sender] = _withState(latest, REVEALED);
        _mix(_rounds[round], secret, false);
        emit Revealed(round, msg.sender);
    }

    /// @notice Records that `validator` committed to `round` and never revealed.
    function reportMissedReveal(uint256 round, address validator) external {
        if (block.timestamp < _roundStart(round)) revert BeaconNotReady(round, _roundStart(round));
        uint256 latest = _latest[validator];
        if (latest >> ROUND_SHIFT == round && (latest >> STATE_SHIFT) & 0xff == COMMITTED) {
            _latest[validator] = _withState(latest, MISSED);
        } else if (_withheld[validator][round] == WITHHELD) {
            _withheld[validator][round] = WITHHELD_REPORTED;
        } else {
            revert RevealNotMissed(round, validator);
        }
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
        uint256 acc = _rounds[round].acc;
        // a round with a contribution is never sealed: its mix is read first (one slot, not two)
        uint256 readyAt = _roundStart(round);
        if (acc != 0 && block.timestamp >= readyAt) return keccak256(abi.encode(acc, round));
        bytes32 sealedValue = _sealed[round];
        if (sealedValue != 0) return sealedValue;
        revert BeaconNotReady(round, readyAt);
    }

    /// @inheritdoc IRandomnessBeacon
    function seal(uint256 round) external returns (bytes32 value) {
        uint256 readyAt = _roundStart(round);
        if (block.timestamp < readyAt) revert BeaconNotReady(round, readyAt);
        uint256 acc = _rounds[round].acc;
        if (acc != 0) return keccak256(abi.encode(acc, round));
        value = _sealed[round];
        if (value != 0) return value;
        value = keccak256(abi.encode(block.prevrandao, blockhash(block.number - 1), round, address(this)));
        _sealed[round] = value;
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

    /// @notice Whether `validator` committed to `round`, and whether it revealed. A validator's
    ///         record is its latest commitment and the commitments it withheld: a revealed
    ///         contribution older than its latest commitment answers `(false, false)` (its
    ///         `Committed` and `Revealed` events are its record); a withheld one answers
    ///         `(true, false)` for good.
    function contributionOf(
        uint256 round,
        address validator
    ) external view returns (bool committed, bool revealed) {
        uint256 latest = _latest[validator];
        if (latest != 0 && latest >> ROUND_SHIFT == round) {
            return (true, (latest >> STATE_SHIFT) & 0xff == REVEALED);
        }
        return (_withheld[validator][round] != 0, false);
    }

    /// `isDrawn(round, msg.sender)`, reading the validators' stake once per round (kept in `r`).
    function _drawnToCommit(uint256 round) private returns (bool) {
        if (round < 2 || _rounds[round - 1].acc == 0) return true;
        uint256 total = _drawStake[round];
        if (total == 0) {
            total = staking.roleStakeAt(IStaking.Role.Validator, round - 2);
            if (total == 0) return true;
            _drawStake[round] = total;
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
        uint256 prev = _rounds[round - 1].acc;
        if (prev == 0 || total == 0) return true;
        bytes32 seed = keccak256(abi.encode(keccak256(abi.encode(prev, round - 1)), address(this), round));
        return Sortition.isSelected(seed, validator, stake, total, maxContributors);
    }

    /// Mixes `word` and the block's `prevrandao` into round `r` and counts the contribution.
    function _mix(Round storage r, bytes32 word, bool isCommit) private {
        Round memory m = r;
        m.acc = uint224(uint256(keccak256(abi.encode(m.acc, word, block.prevrandao))));
        if (isCommit) ++m.commits;
        else ++m.reveals;
        r.acc = m.acc;
        r.commits = m.commits;
        r.reveals = m.reveals;
    }

    /// `latest` with its state replaced by `state`.
    function _withState(uint256 latest, uint256 state) private pure returns (uint256) {
        return (latest & ~(uint256(0xff) << STATE_SHIFT)) | (state << STATE_SHIFT);
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
