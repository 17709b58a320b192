// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IStaking
/// @notice What the rest of PoAI (challenges, rewards, the inference coordinator) reads from and
///         calls on the staking layer, plus the types, events and errors of the Staking contract.
interface IStaking {
    /// @notice The role an operator registers for.
    enum Role {
        None,
        Trainer,
        Validator
    }

    /// @notice Lifecycle of an operator. A deregistered operator's pool takes no new delegation but
    ///         its delegators keep their positions (still slashable) until they undelegate.
    enum Status {
        None,
        Active,
        Deregistered
    }

    /// @notice Governance parameters; every field has hard bounds in code (see `Staking.setParams`).
    struct Params {
        uint128 minTrainerStake; // minimum self-stake (token wei) of a trainer
        uint128 minValidatorStake; // minimum self-stake (token wei) of a validator
        uint40 unbondingPeriod; // seconds an unbonding entry waits; longer than every slash window
        uint40 jailCooldown; // seconds a jailed operator waits before it can unjail
        uint40 commissionDelay; // seconds before a commission increase takes effect
        uint16 maxCommissionChangeBps; // largest commission change per request, in basis points
        uint16 finderFeeBps; // share of a slash paid to the reporters, in basis points
        uint64 maxSlashFraction; // largest fraction (1e18 = 100%) a single slash may take
    }

    /// @notice An operator as the dashboards and the other contracts see it.
    struct OperatorView {
        address operator;
        uint32 id;
        Role role;
        Status status;
        bool jailed;
        bool active;
        uint40 jailedUntil;
        uint16 commissionBps; // the rate of the current epoch
        uint16 maxCommissionBps;
        uint16 pendingCommissionBps; // a requested rate not in force yet (0: none)
        uint40 commissionEffectiveAt; // start of the epoch from which it applies (0: none)
        uint256 selfStake;
        uint256 totalStake;
        uint256 totalShares;
        string endpoint;
        string gpuClass;
    }

    /// @notice A pool's accounting. `sharePrice` is tokens per share scaled by 1e18.
    struct PoolView {
        uint256 tokens; // active stake
        uint256 shares;
        uint256 unbondingTokens; // stake on its way out, summed over the exit-epoch cohorts
        uint256 rewardPerShare; // cumulative reward per share of the credited epochs (1e36 scale)
        uint256 creditedThrough; // epochs below this one are credited to the pool
        uint256 commission; // the operator's credited commission, not claimed yet
        uint256 sharePrice;
    }

    /// @notice A delegator's (or operator's own) position in one pool.
    struct PositionView {
        uint256 shares;
        uint256 tokens;
        uint256 claimable; // rewards of the epochs credited to the pool (commission included for its operator)
    }

    /// @notice What the challenge manager reads about an operator, in one call. The role's total
    ///         stake is not in it (`roleStakeAt`): the due check of every submission reads this,
    ///         and only a committee draw needs the total.
    struct OperatorState {
        Role role;
        bool active;
        uint32 id;
        uint256 stake; // active stake at the start of the requested epoch
        uint256 minStake; // the role's minimum self-stake now
        uint40 unjailedAt; // when the operator last left jail (0: never jailed)
    }

    /// @notice One unbonding entry of an owner's queue, valued at its cohort's current price.
    struct UnbondingView {
        uint64 index;
        address operator;
        uint40 maturity;
        uint32 exitEpoch;
        uint256 shares;
        uint256 tokens;
    }

    // --- events -----------------------------------------------------------------------------

    event OperatorRegistered(
        address indexed operator,
        Role role,
        uint32 id,
        uint256 selfStake,
        uint16 commissionBps,
        uint16 maxCommissionBps,
        string endpoint,
        string gpuClass
    );
    event MetadataUpdated(address indexed operator, string endpoint, string gpuClass);
    event OperatorDeregistered(address indexed operator);
    event Delegated(address indexed owner, address indexed operator, uint256 amount, uint256 shares);
    event Undelegated(
        address indexed owner,
        address indexed operator,
        uint256 shares,
        uint256 amount,
        uint64 entryIndex,
        uint40 maturity
    );
    event UnbondingCancelled(
        address indexed owner,
        address indexed operator,
        uint64 entryIndex,
        uint256 amount
    );
    event Withdrawn(address indexed owner, uint256 amount, uint256 entries);
    /// @notice `amount` tokens were added to `operator`'s pool for epoch `epoch` (a donation or a usage fee).
    event RewardNotified(address indexed operator, uint256 indexed epoch, uint256 amount);
    /// @notice The distributor funded epoch `epoch`'s role budgets (each shared by its operators' points).
    event EpochFunded(
        uint256 indexed epoch,
        uint256 trainerBudget,
        uint256 validatorBudget,
        uint256 trainerPoints,
        uint256 validatorPoints
    );
    /// @notice `operator`'s pool was credited with what it earned in `epoch`: `amount` in all, of
    ///         which `commission` to the operator and the rest to the shares that existed when the
    ///         epoch began.
    event RewardCredited(address indexed operator, uint256 epoch, uint256 amount, uint256 commission);
    /// @notice Rewards nobody could earn (a pool without shares) went back to the distributor's carry.
    event RewardDustReturned(uint256 amount);
    event RewardClaimed(address indexed owner, address indexed operator, uint256 amount);
    event Compounded(address indexed owner, address indexed operator, uint256 amount, uint256 shares);
    /// @notice `newBps` applies to the rewards of the epochs from the one starting at `effectiveAt`.
    event CommissionChangeRequested(
        address indexed operator,
        uint16 currentBps,
        uint16 newBps,
        uint40 effectiveAt
    );
    event Slashed(
        address indexed operator,
        uint256 offenceEpoch,
        uint256 fraction,
        uint256 activeAmount,
        uint256 unbondingAmount,
        uint256 finderFee,
        uint256 burned
    );
    event Jailed(address indexed operator, uint40 until);
    event Unjailed(address indexed operator);
    /// @notice `amount` of `operator`'s slashed stake was paid to `beneficiary` (into its pool
    ///         when `toPool`), not burned.
    event SlashRepaid(address indexed operator, address indexed beneficiary, uint256 amount, bool toPool);
    /// @notice A slash by `source` (key `key`, a challenge id) took `activeAmount + unbondingAmount`
    ///         of `operator`'s pool and holds it in Staking until `releaseAt`: returned in full to
    ///         the pool if the verdict is overruled before then (`returnHeld`), else released
    ///         (`releaseHeld`: `finderFee` split among `reporters`, the rest burned).
    event SlashHeld(
        address indexed source,
        bytes32 indexed key,
        address indexed operator,
        uint256 offenceEpoch,
        uint256 fraction,
        uint256 activeAmount,
        uint256 unbondingAmount,
        uint256 finderFee,
        uint256 releaseAt,
        address[] reporters
    );
    /// @notice A held slash went back to `operator` (into its pool when `toPool`).
    event HeldReturned(
        address indexed source,
        bytes32 indexed key,
        address indexed operator,
        uint256 amount,
        bool toPool
    );
    /// @notice `locker` locked the slashes `source` holds under `key`: none is released until it
    ///         unlocks them (`HoldsUnlocked`).
    event HoldsLocked(address indexed source, bytes32 indexed key, address indexed locker);
    event HoldsUnlocked(address indexed source, bytes32 indexed key, address indexed locker);
    /// @notice A held slash was released: `finderFee` paid to its reporters, `burned` burned.
    event HeldReleased(
        address indexed source,
        bytes32 indexed key,
        address indexed operator,
        uint256 finderFee,
        uint256 burned
    );
    event ParamsUpdated(Params params);
    event SlashSourceAdded(address indexed source, uint256 slashWindow);
    event SlashSourceRemoved(address indexed source);
    event RewardDistributorSet(address indexed distributor, address indexed points, uint256 firstEpoch);

    // --- errors -----------------------------------------------------------------------------

    error ZeroAmount();
    error HoldExists(address source, bytes32 key, address operator);
    error NothingHeld(address source, bytes32 key, address operator);
    error HoldNotDue(address source, bytes32 key, address operator, uint256 releaseAt);
    error ReportersMismatch(address source, bytes32 key, address operator);
    error HoldLocked(address source, bytes32 key, address locker);
    error NotHoldLocker(address source, bytes32 key, address caller, address locker);
    error InvalidRole(uint8 role);
    error AlreadyRegistered(address operator);
    error NotRegistered(address operator);
    error OperatorDeregisteredError(address operator);
    error OperatorIsJailed(address operator, uint40 until);
    error OperatorNotJailed(address operator);
    error JailCooldownActive(address operator, uint40 until, uint256 nowTime);
    error StakeBelowMinimum(uint256 stake, uint256 minimum);
    error CommissionAboveMax(uint256 rate, uint256 maxRate);
    error MaxCommissionTooHigh(uint256 maxRate);
    error CommissionChangeTooLarge(uint256 currentRate, uint256 requestedRate, uint256 maxChange);
    error InsufficientShares(uint256 available, uint256 requested);
    error NothingToWithdraw(address owner);
    error NothingToClaim(address owner, address operator);
    error UnbondingEntryNotFound(address owner, uint64 index);
    error SlashFractionTooHigh(uint256 fraction, uint256 maxFraction);
    error TooManyReporters(uint256 count, uint256 maxCount);
    error InvalidParameter(string name, uint256 value, uint256 minValue, uint256 maxValue);
    error MetadataTooLong(string field, uint256 length, uint256 maxLength);
    error ValueTooLarge(uint256 value);
    /// @notice A slash names an offence epoch that has not begun yet.
    error OffenceInFuture(uint256 offenceEpoch, uint256 currentEpoch);
    /// @notice `unbondingPeriod` must outlast `source`'s slash window.
    error UnbondingTooShort(uint256 unbondingPeriod, address source, uint256 slashWindow);
    error NotASlashWindowSource(address source);
    error SlashSourceKnown(address source);
    error SlashSourceUnknown(address source);
    error TooManySlashSources(uint256 maxCount);
    error NotRewardDistributor(address caller);
    error RewardDistributorAlreadySet(address distributor);
    /// @notice The distributor must start closing epochs at the epoch it is connected in.
    error RewardDistributorEpoch(uint256 firstEpoch, uint256 currentEpoch);
    error EpochNotInOrder(uint256 epoch, uint256 expected);
    /// @notice A position changes its share count in at most three epochs whose rewards are not
    ///         final yet; the next change is possible once epoch `epoch`'s rewards are credited.
    error PositionChangesPending(address owner, address operator, uint256 epoch);

    // --- what other PoAI contracts use -------------------------------------------------------

    /// @notice Slashes `fraction` (1e18 = 100%) of what `operator`'s pool had at stake in epoch
    ///         `offenceEpoch`: its active stake and the unbonding stake that left it from that
    ///         epoch on (stake that left before the offence began is untouched). Pays the capped
    ///         finder's fee to `reporters` and burns the rest; optionally jails. Returns the
    ///         tokens taken (active plus unbonding).
    function slash(
        address operator,
        uint256 fraction,
        address[] calldata reporters,
        bool jail,
        uint256 offenceEpoch
    ) external returns (uint256 taken);

    /// @notice Slashes like `slash` (no finder's fee, no jail) and, instead of burning it, pays
    ///         up to `cap` of what it took to `beneficiary`: into its pool as stake when it is a
    ///         registered operator whose pool has shares (every position in that pool gains its
    ///         part), else to its address; burns the rest. Returns what was paid. The path by which
    ///         an overruled verdict's wrong voters repay the trainer it slashed.
    function slashTo(
        address operator,
        uint256 fraction,
        uint256 offenceEpoch,
        address beneficiary,
        uint256 cap
    ) external returns (uint256 paid);

    /// @notice Slashes like `slash`, but holds what it took in Staking instead of paying the
    ///         finder's fee and burning the rest, under the caller (the slash source), `key` and
    ///         `operator` (one hold each), until `unbondingPeriod` from now: the dispute window of
    ///         a verdict that an overrule may reverse. Returns the tokens taken.
    function slashHeld(
        address operator,
        uint256 fraction,
        address[] calldata reporters,
        bool jail,
        uint256 offenceEpoch,
        bytes32 key
    ) external returns (uint256 taken);

    /// @notice Returns the slash `source` holds under `key` for `operator` in full: into its pool
    ///         when it is registered and its pool has shares (every position gains its part),
    ///         else to its address. Returns what was returned (0 when nothing is held: a hold is
    ///         returned or released once).
    function returnHeld(address source, bytes32 key, address operator) external returns (uint256 amount);

    /// @notice Releases a held slash once its `releaseAt` passed (anyone): pays its finder's fee
    ///         to `reporters` (the list given at the slash, checked by its hash) and burns the rest.
    ///         Refused while the holds of `source` under `key` are locked (`lockHolds`: a defence
    ///         that may still return them is open).
    function releaseHeld(
        address source,
        bytes32 key,
        address operator,
        address[] calldata reporters
    ) external;

    /// @notice Locks every slash `source` holds under `key` (a challenge whose conviction a defence
    ///         disputes): none is released until the caller, the locker, unlocks them. Returns are
    ///         not affected. Restricted (the dispute game); one lock per source and key.
    function lockHolds(address source, bytes32 key) external;

    /// @notice Lifts the lock on the holds of `source` under `key`; only its locker (the defence
    ///         ended: failed, or settled with the holds returned).
    function unlockHolds(address source, bytes32 key) external;

    /// @notice Who locked the holds of `source` under `key` (address(0): unlocked).
    function holdLock(address source, bytes32 key) external view returns (address);

    /// @notice The slash `source` holds under `key` for `operator`: tokens, finder's fee, when it
    ///         may be released (all 0: none held).
    function heldSlash(
        address source,
        bytes32 key,
        address operator
    ) external view returns (uint256 tokens, uint256 fee, uint256 releaseAt);

    /// @notice The sum of every held slash's tokens (part of Staking's balance, owed to nobody yet).
    function heldTokens() external view returns (uint256);

    /// @notice Lifts `operator`'s jail at once (no cool-down): the verdict that jailed it was
    ///         overruled. Its stake counts for its role again when its self-stake meets the minimum.
    function pardon(address operator) external;

    /// @notice `slash` for an offence committed in the current epoch.
    function slash(address operator, uint256 fraction, address[] calldata reporters, bool jail) external;

    /// @notice Adds `amount` reward tokens (pulled from the caller) to `operator`'s pool for the
    ///         current epoch: shared, at that epoch's commission, by the shares that existed when
    ///         it began. Anyone may add rewards.
    function notifyReward(address operator, uint256 amount) external;

    /// @notice True when `operator` is registered, not deregistered, not jailed and its self-stake
    ///         is at least its role's minimum.
    function isActive(address operator) external view returns (bool);

    /// @notice The operator's role (None when unregistered).
    function roleOf(address operator) external view returns (Role);

    /// @notice Active (non-unbonding) stake of `operator`'s pool at the start of `epoch`.
    function stakeAt(address operator, uint256 epoch) external view returns (uint256);

    /// @notice Total active stake of the counted operators of `role` (registered, unjailed, with
    ///         at least the minimum self-stake) at the start of `epoch`.
    function roleStakeAt(Role role, uint256 epoch) external view returns (uint256);

    /// @notice The epoch the chain is in now.
    function currentEpoch() external view returns (uint256);

    /// @notice Start timestamp of `epoch`.
    function epochStart(uint256 epoch) external view returns (uint256);

    /// @notice The epoch `timestamp` falls in (at or after genesis).
    function epochAt(uint256 timestamp) external view returns (uint256);

    /// @notice The staking and reward token.
    function token() external view returns (address);

    /// @notice The current governance parameters.
    function params() external view returns (Params memory);

    /// @notice Role, activity, id and stake at the start of `epoch` of `operator`, in one call.
    function operatorState(address operator, uint256 epoch) external view returns (OperatorState memory);
}
