import {
  BaseError,
  ContractFunctionRevertedError,
  decodeErrorResult,
  formatUnits,
  isHex,
  type Address,
  type ContractErrorArgs,
  type ContractErrorName,
  type Hash,
  type Hex,
} from "viem";
import { poaiErrorsAbi } from "./abi/index.js";
import { decodeStatus } from "./poai/enums.js";
import { formatBps, formatFraction, formatPoai } from "./units.js";

/** Name of a custom error declared by a PoAI contract (or a library it uses). */
export type PoAIErrorName = ContractErrorName<typeof poaiErrorsAbi>;

/** Decoded arguments of the custom error `N`. */
export type PoAIErrorArgs<N extends PoAIErrorName> = ContractErrorArgs<typeof poaiErrorsAbi, N>;

/**
 * What a revert decodes to: a custom error of a PoAI contract, a `require` message (`"Error"`),
 * a Solidity panic (`"Panic"`), or `"Unknown"` when the revert carries no data this SDK can read.
 */
export type PoAIRevertName = PoAIErrorName | "Error" | "Panic" | "Unknown";

/** The `args` of a revert named `N`. */
export type PoAIRevertArgs<N extends PoAIRevertName> = N extends PoAIErrorName
  ? PoAIErrorArgs<N>
  : N extends "Error"
    ? readonly [reason: string]
    : N extends "Panic"
      ? readonly [code: bigint]
      : readonly [];

/** Where a revert happened, when the SDK knows. */
export interface PoAIErrorContext {
  contractAddress?: Address;
  functionName?: string;
  transactionHash?: Hash;
}

/**
 * A PoAI contract reverted. `errorName` and `args` come from the generated ABIs, `message` is a
 * readable sentence (`"StakeBelowMinimum: stake 10 POAI is below the minimum 1000 POAI"`) and
 * `cause` is the underlying viem error.
 *
 * ```ts
 * if (isPoAIContractError(err, "StakeBelowMinimum")) console.log(err.args[1]); // typed: bigint
 * ```
 */
export class PoAIContractError<N extends PoAIRevertName = PoAIRevertName> extends Error {
  override readonly name = "PoAIContractError";
  readonly errorName: N;
  readonly args: PoAIRevertArgs<N>;
  /** The sentence after `errorName: ` in `message`. */
  readonly reason: string;
  /** Raw revert data, when there was any. */
  readonly data: Hex | undefined;
  readonly contractAddress: Address | undefined;
  readonly functionName: string | undefined;
  readonly transactionHash: Hash | undefined;

  constructor(
    params: {
      errorName: N;
      args: PoAIRevertArgs<N>;
      data?: Hex;
      reason?: string;
      /** The decoded error's input names, which tell apart errors of one name in several contracts. */
      inputNames?: readonly string[];
    } & PoAIErrorContext,
    options?: { cause?: unknown },
  ) {
    const reason = params.reason ?? describeRevert(params.errorName, params.args, params.inputNames);
    super(`${params.errorName}: ${reason}`, options);
    this.errorName = params.errorName;
    this.args = params.args;
    this.reason = reason;
    this.data = params.data;
    this.contractAddress = params.contractAddress;
    this.functionName = params.functionName;
    this.transactionHash = params.transactionHash;
  }
}

/** An argument failed validation before anything was sent; `field` and `value` say which. */
export class PoAIInputError extends Error {
  override readonly name = "PoAIInputError";
  readonly field: string;
  readonly value: unknown;
  readonly expected: string;

  constructor(field: string, value: unknown, expected: string) {
    super(`Invalid ${field}: expected ${expected}, got ${showValue(value)}`);
    this.field = field;
    this.value = value;
    this.expected = expected;
  }
}

/**
 * The address book does not describe the chain the client talks to: another chain id, a contract
 * address without code, or a contract that is not the one the book names. Thrown before anything
 * is read from or sent to it; `field` names the book's field (`chainId`, `contracts.staking`…).
 */
export class PoAIDeploymentError extends Error {
  override readonly name = "PoAIDeploymentError";
  readonly field: string;
  readonly value: unknown;

  constructor(field: string, value: unknown, message: string) {
    super(message);
    this.field = field;
    this.value = value;
  }
}

/**
 * The sending account cannot pay for gas: it holds `balance` wei of the chain's native currency
 * and the transaction needs about `needed` (`gas` at `maxFeePerGas`, plus any `value`). Thrown
 * before the transaction is sent.
 */
export class PoAIGasFundsError extends Error {
  override readonly name = "PoAIGasFundsError";
  constructor(
    readonly account: Address,
    readonly balance: bigint,
    readonly needed: bigint,
    readonly gas: bigint,
    readonly maxFeePerGas: bigint,
    readonly functionName: string,
  ) {
    super(
      `${account} needs native currency (ETH) to pay for gas: ${functionName} needs about ` +
        `${formatEth(needed)} ETH (${gas} gas at up to ${formatGwei(maxFeePerGas)} gwei), and it holds ` +
        `${formatEth(balance)} ETH. Send it at least ${formatEth(needed - balance)} ETH; tokens do not pay for gas`,
    );
  }
}

const formatEth = (wei: bigint) => formatUnits(wei, 18);
const formatGwei = (wei: bigint) => formatUnits(wei, 9);

/**
 * The `PoAIDeploymentError` that caused `err` (viem wraps an error its transport throws in its own
 * classes), or undefined.
 */
export function deploymentErrorIn(err: unknown): PoAIDeploymentError | undefined {
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 16; depth++) {
    if (e instanceof PoAIDeploymentError) return e;
    e = typeof e === "object" && "cause" in e ? (e as { cause?: unknown }).cause : undefined;
  }
  return undefined;
}

/** True when `err` is a `PoAIContractError` (named `errorName`, when given). */
export function isPoAIContractError<N extends PoAIRevertName = PoAIRevertName>(
  err: unknown,
  errorName?: N,
): err is PoAIContractError<N> {
  return err instanceof PoAIContractError && (errorName === undefined || err.errorName === errorName);
}

/** A value as it appears in error messages. */
export function showValue(value: unknown): string {
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "string") return JSON.stringify(value);
  if (value === undefined || typeof value === "number" || typeof value === "boolean" || value === null) {
    return String(value);
  }
  try {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v));
  } catch {
    return String(value);
  }
}

// --- readable messages ------------------------------------------------------------------------

const date = (seconds: bigint | number) => {
  const ms = Number(seconds) * 1000;
  return Number.isFinite(ms) && ms <= 8.64e15 ? new Date(ms).toISOString() : `timestamp ${seconds}`;
};

/** `[start, end)` with both ends as dates, and where `now` falls. */
const timeWindow = (now: bigint, start: bigint, end: bigint) => {
  const where =
    now < start
      ? `${start - now} s before it opens`
      : now >= end
        ? `${now - end} s after it closed`
        : "inside it";
  return `the window runs from ${date(start)} to ${date(end)} (end excluded); it is now ${date(now)}, ${where}`;
};

const statusName = (status: number | bigint) => {
  try {
    return decodeStatus(status);
  } catch {
    return `status ${status}`;
  }
};

type Templates = { [N in PoAIErrorName]?: (args: PoAIErrorArgs<N>) => string };

const templates: Templates = {
  // Staking
  ZeroAmount: () => "the amount is zero (or too small to buy a single share)",
  InvalidRole: ([role]) => `role ${role} is neither Trainer (1) nor Validator (2)`,
  AlreadyRegistered: ([operator]) => `${operator} is already registered as an operator`,
  NotRegistered: ([operator]) => `${operator} is not a registered operator`,
  OperatorDeregisteredError: ([operator]) => `operator ${operator} has deregistered and takes no new stake`,
  OperatorIsJailed: ([operator, until]) => `operator ${operator} is jailed until ${date(until)}`,
  OperatorNotJailed: ([operator]) => `operator ${operator} is not jailed`,
  JailCooldownActive: ([operator, until, now]) =>
    `operator ${operator} can unjail at ${date(until)}, ${BigInt(until) - now} s from now`,
  StakeBelowMinimum: ([stake, minimum]) =>
    `stake ${formatPoai(stake)} is below the minimum ${formatPoai(minimum)}`,
  CommissionAboveMax: ([rate, maxRate]) =>
    `commission ${formatBps(rate)} is above the maximum ${formatBps(maxRate)}`,
  MaxCommissionTooHigh: ([maxRate]) => `maximum commission ${formatBps(maxRate)} is above the protocol cap`,
  CommissionChangeTooLarge: ([current, requested, maxChange]) =>
    `changing the commission from ${formatBps(current)} to ${formatBps(requested)} is more than the largest ` +
    `change allowed per request, ${formatBps(maxChange)}`,
  InsufficientShares: ([available, requested]) =>
    `the position holds ${available} shares but ${requested} were requested`,
  NothingToWithdraw: ([owner]) => `${owner} has no matured unbonding entry to withdraw`,
  NothingToClaim: ([owner, operator]) =>
    BigInt(operator) === 0n
      ? `${owner} has no rewards to claim in these pools`
      : `${owner} has no rewards to claim in the pool of ${operator}`,
  UnbondingEntryNotFound: ([owner, index]) =>
    `${owner} has no live unbonding entry ${index} (withdrawn, cancelled or never created)`,
  SlashFractionTooHigh: ([fraction, maxFraction]) =>
    `a slash of ${formatFraction(fraction)} is above the maximum ${formatFraction(maxFraction)}`,
  TooManyReporters: ([count, maxCount]) => `${count} reporters is more than the maximum ${maxCount}`,
  InvalidParameter: ([name, value, minValue, maxValue]) =>
    `parameter ${name} = ${value} is outside its bounds [${minValue}, ${maxValue}]`,
  MetadataTooLong: ([field, length, maxLength]) =>
    `${field} is ${length} bytes long; the maximum is ${maxLength}`,
  ValueTooLarge: ([value]) => `${value} is too large`,
  // Challenges
  NotDue: ([trainer, round]) =>
    `${trainer} is not due a challenge in round ${round} (not an active trainer, below the minimum stake at the round's start, or in jail at the round's deadline)`,
  WrongRound: ([round, currentRound]) =>
    `results are only accepted for the current round ${currentRound}, not round ${round}`,
  DeadlinePassed: ([deadline, now]) =>
    `the result was due by ${date(deadline)}; it is now ${date(now)}, ${now - deadline} s late`,
  DeadlineNotPassed: ([deadline, now]) =>
    `${date(deadline)} has not passed yet; it is now ${date(now)}, ${deadline - now} s too early`,
  AlreadySubmitted: ([id]) => `challenge ${id} already has a result (or was reported missed)`,
  ScoreOutOfRange: ([scoreBps]) => `score ${formatBps(scoreBps)} is above 100% (${scoreBps} bps > 10000)`,
  ChallengeNotOpen: ([id, status]) =>
    BigInt(status) === 0n
      ? `challenge ${id} has no submitted result`
      : `challenge ${id} is already ${statusName(status)}: it no longer takes verdicts or a judgment`,
  OutsideWindow: ([id, now, start, end]) =>
    `challenge ${id} is outside its window: ${timeWindow(now, start, end)}`,
  NotActiveValidator: ([account]) => `${account} is not an active validator`,
  NotInCommittee: ([id, validator]) =>
    `${validator} is not in the committee of challenge ${id} (its sortition draw is above its stake's threshold)`,
  AlreadyCommitted: ([key, validator]) =>
    typeof key === "bigint"
      ? `${validator} has already committed to the beacon of round ${key}`
      : `${validator} has already committed a verdict on challenge ${key}`,
  CommitteeFull: ([id, maxMembers]) =>
    `the committee of challenge ${id} already has the maximum ${maxMembers} members`,
  AlreadyRevealed: ([id, validator]) => `${validator} has already revealed its verdict on challenge ${id}`,
  CommitmentMismatch: ([id, validator]) =>
    `no commitment of ${validator} on challenge ${id} matches the revealed verdict, segment, score and salt ` +
    "(a field or the salt differs, or it never committed)",
  LengthMismatch: ([expected, actual]) => `the argument lists differ in length: ${expected} and ${actual}`,
  InvalidVerdict: ([verdict]) => `verdict ${verdict} is not Valid (1), Invalid (2) or Unavailable (3)`,
  ReportTooLate: ([closesAt, now]) =>
    `the round's epoch closed at ${date(closesAt)}; it is now ${date(now)}, ${now - closesAt} s too late`,
  NotRevealed: ([id, validator]) =>
    `${validator} did not reveal a verdict on challenge ${id}: only members that revealed vote in the second phase`,
  NoAccusation: ([id]) => `nobody revealed Invalid on challenge ${id}: there is no second phase to vote in`,
  AlreadyVoted: ([id, validator]) => `${validator} has already voted in the second phase of challenge ${id}`,
  RevealNotWithheld: ([round, validator]) =>
    `${validator} did not withhold a reveal to the beacon of round ${round} (it never committed, or it revealed)`,
  WithholdingAlreadySlashed: ([round, validator]) =>
    `${validator} was already slashed for withholding its reveal to the beacon of round ${round}`,
  SlashWindowTooLong: ([window, unbondingPeriod]) =>
    `these parameters let a slash come ${window} s after its round's start, but unbonding stake leaves after ` +
    `${unbondingPeriod} s: shorten the windows or the extensions, or lengthen Staking's unbonding period first`,
  // Randomness beacon
  NotInCommitPhase: ([round, now, start, end]) =>
    `commits to the beacon of round ${round} are not open now: ${timeWindow(now, start, end)}`,
  NotInRevealPhase: ([round, now, start, end]) =>
    `reveals to the beacon of round ${round} are not open now: ${timeWindow(now, start, end)}`,
  InvalidCommitment: ([round, commitment]) =>
    `commitment ${commitment} to the beacon of round ${round} is a reserved value (0, 1 and 2 mark empty, ` +
    "revealed and reported slots); commit keccak256(abi.encode(secret, validator, round))",
  NoCommitment: ([round, validator]) =>
    `${validator} has no unrevealed commitment to the beacon of round ${round}`,
  RevealMismatch: ([round, validator]) =>
    `the secret revealed by ${validator} does not match its commitment to the beacon of round ${round}`,
  BeaconNotReady: ([round, readyAt]) =>
    `the beacon value of round ${round} is not fixed yet: it cannot be before ${date(readyAt)}, ` +
    "and after that a round nobody contributed to must be sealed first",
  RevealNotMissed: ([round, validator]) =>
    `${validator} has no unrevealed commitment to the beacon of round ${round} to report`,
  // Training specs
  SpecAlreadyRegistered: ([specId]) => `spec ${specId} is already registered`,
  UnknownSpec: ([specId]) => `spec ${specId} is not registered`,
  InvalidSpec: ([field, value]) => `the spec's ${field} = ${value} is not allowed`,
  InvalidSpecParams: ([field, value, minValue, maxValue]) =>
    `spec parameter ${field} = ${value} is outside its bounds [${minValue}, ${maxValue}]`,
  SpecAlreadyActive: ([specId]) => `spec ${specId} is already in the next round's active set`,
  SpecNotActive: ([specId]) => `spec ${specId} is not in the next round's active set`,
  TooManyActiveSpecs: ([maxActive]) => `the active set already holds the maximum ${maxActive} specs`,
  NoActiveSpec: ([round]) => `no training spec is active in round ${round}`,
  // Rewards
  EpochNotFinal: ([epoch, closesAt]) =>
    `epoch ${epoch} cannot be closed yet: its points are final after ${date(closesAt)} ` +
    "(epochs close in order, so the oldest open epoch decides)",
  EmissionChangeInForce: ([fromEpoch, nextEpochToClose]) =>
    `the scheduled emission change is in force from epoch ${fromEpoch} and is applied when that epoch is ` +
    `closed (the next epoch to close is ${nextEpochToClose}); schedule a new change after that`,
  // Staking: rewards and slashing in time
  PositionChangesPending: ([owner, operator, epoch]) =>
    `the position of ${owner} in ${operator}'s pool already changed in three epochs whose rewards are not ` +
    `credited yet; it can change again once epoch ${epoch} is final and credited`,
  OffenceInFuture: ([offenceEpoch, currentEpoch]) =>
    `offence epoch ${offenceEpoch} has not begun (the current epoch is ${currentEpoch})`,
  UnbondingTooShort: ([unbondingPeriod, source, slashWindow]) =>
    `an unbonding period of ${unbondingPeriod} s does not outlast the slash window of ${source} ` +
    `(${slashWindow} s): stake could leave before a slash reaches it`,
  NotASlashWindowSource: ([source]) => `${source} does not implement slashWindow()`,
  SlashSourceKnown: ([source]) => `${source} is already a slash-window source`,
  SlashSourceUnknown: ([source]) => `${source} is not a slash-window source`,
  TooManySlashSources: ([maxCount]) => `Staking already has the maximum ${maxCount} slash-window sources`,
  NotRewardDistributor: ([caller]) => `${caller} is not the reward distributor connected to Staking`,
  RewardDistributorAlreadySet: ([distributor]) => `Staking is already connected to ${distributor}`,
  RewardDistributorEpoch: ([firstEpoch, currentEpoch]) =>
    `the distributor starts closing at epoch ${firstEpoch} but Staking is in epoch ${currentEpoch}: ` +
    "connect it in the epoch it is deployed in",
  EpochNotInOrder: ([epoch, expected]) => `epoch ${epoch} is funded out of order: ${expected} comes first`,
  // Token
  ERC20InsufficientAllowance: ([spender, allowance, needed]) =>
    `the allowance of ${spender} is ${formatPoai(allowance)} but ${formatPoai(needed)} is needed ` +
    "(approve first, or delegate with a permit)",
  ERC20InsufficientBalance: ([sender, balance, needed]) =>
    `${sender} holds ${formatPoai(balance)} but ${formatPoai(needed)} is needed`,
  ERC20InvalidReceiver: ([receiver]) => `cannot transfer to ${receiver}`,
  ERC20InvalidSpender: ([spender]) => `cannot approve ${spender}`,
  ERC2612ExpiredSignature: ([deadline]) => `the permit expired at ${date(deadline)}`,
  ERC2612InvalidSigner: ([signer, owner]) => `the permit is signed by ${signer}, not by the owner ${owner}`,
  InvalidAccountNonce: ([account, currentNonce]) =>
    `wrong nonce for ${account}; the current nonce is ${currentNonce}`,
  // Access control, governance and libraries
  AccessManagedUnauthorized: ([caller]) => `${caller} does not hold the role this function requires`,
  DelayTooShort: ([delay, minDelay]) =>
    `a governance delay of ${delay} s is below the timelock's minimum of ${minDelay} s`,
  DelayTooLong: ([delay, maxDelay]) => `a delay of ${delay} s is above the maximum of ${maxDelay} s`,
  ReentrancyGuardReentrantCall: () => "reentrant call",
  SafeERC20FailedOperation: ([token]) => `a transfer of token ${token} failed`,
  SafeCastOverflowedUintDowncast: ([bits, value]) => `${value} does not fit in uint${bits}`,
};

const PANICS: Record<number, string> = {
  0x01: "assertion failed",
  0x11: "arithmetic overflow or underflow",
  0x12: "division by zero",
  0x21: "invalid enum value",
  0x22: "invalid storage byte array",
  0x31: "pop on an empty array",
  0x32: "array index out of bounds",
  0x41: "out of memory",
  0x51: "call to an uninitialised function",
};

function formatArg(v: unknown): string {
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "string") return /^0x[0-9a-fA-F]*$/.test(v) ? v : JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(formatArg).join(", ")}]`;
  return showValue(v);
}

/**
 * Sentences of the forms of an error name that the name's own sentence does not describe, keyed
 * by `Name(input,…)` (an error of the same name declared with other inputs by another contract).
 */
const formTemplates: Record<string, ((a: readonly unknown[]) => string) | undefined> = {
  "DeadlinePassed(id,deadline)": ([id, deadline]) =>
    `game ${String(id)}: the move was due by ${date(deadline as bigint)}; the other party may claim the timeout`,
  "DeadlineNotPassed(id,deadline)": ([id, deadline]) =>
    `game ${String(id)}: the party to move has until ${date(deadline as bigint)}; no timeout before then`,
};

/**
 * The input names each overloaded error's sentence (in `templates`) was written for; a decoded
 * error of that name with other inputs gets the generic form with its inputs named.
 */
const TEMPLATE_FORMS: Record<string, readonly string[] | undefined> = {
  AlreadyCommitted: ["id,validator", "round,validator"],
  AlreadyRevealed: ["id,validator"],
  CommitmentMismatch: ["id,validator"],
  CommitteeFull: ["id,maxMembers"],
  DeadlineNotPassed: ["deadline,nowTime"],
  DeadlinePassed: ["deadline,nowTime"],
  NoCommitment: ["round,validator"],
  ScoreOutOfRange: ["scoreBps"],
};

/** The readable sentence for a revert (without the `errorName: ` prefix). */
export function describeRevert<N extends PoAIRevertName>(
  errorName: N,
  args: PoAIRevertArgs<N>,
  inputNames?: readonly string[],
): string {
  const list: readonly unknown[] = args;
  if (inputNames !== undefined) {
    // An error name declared with other inputs in several contracts: the sentence of that form, or
    // the generic form with the inputs named (never another contract's sentence).
    const form = `${errorName}(${inputNames.join(",")})`;
    const own = formTemplates[form];
    if (own) return own(list);
    const forms = TEMPLATE_FORMS[errorName];
    if (forms && !forms.includes(inputNames.join(","))) {
      return `${errorName}(${list.map((v, i) => `${inputNames[i] || `#${i}`} ${formatArg(v)}`).join(", ")})`;
    }
  }
  if (errorName === "Error") return String(list[0] ?? "reverted");
  if (errorName === "Panic") {
    const code = Number(list[0] ?? 0);
    return `panic 0x${code.toString(16)} (${PANICS[code] ?? "unknown panic code"})`;
  }
  if (errorName === "Unknown") return "the transaction reverted without a reason this SDK can decode";
  const template = (templates as Record<string, ((a: readonly unknown[]) => string) | undefined>)[errorName];
  if (template) {
    try {
      return template(list);
    } catch {
      // Arguments that do not match the template (an error redeclared elsewhere): generic form.
    }
  }
  return `${errorName}(${list.map(formatArg).join(", ")})`;
}

// --- decoding ---------------------------------------------------------------------------------

function causeOf(err: unknown): unknown {
  return typeof err === "object" && err !== null && "cause" in err ? err.cause : undefined;
}

/** Revert data found anywhere in an error's cause chain (viem errors, EIP-1193 errors, nested `data`). */
function findRevertData(err: unknown): Hex | undefined {
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 16; e = causeOf(e), depth++) {
    if (typeof e !== "object") break;
    const data: unknown = "data" in e ? e.data : undefined;
    if (typeof data === "string" && isHex(data) && data.length >= 10) return data;
    if (typeof data === "object" && data !== null && "data" in data) {
      const inner: unknown = data.data;
      if (typeof inner === "string" && isHex(inner) && inner.length >= 10) return inner;
    }
    if (e instanceof ContractFunctionRevertedError && e.raw && e.raw.length >= 10) return e.raw;
  }
  return undefined;
}

function isRevert(err: unknown): boolean {
  if (err instanceof BaseError) {
    if (err.walk((e) => e instanceof ContractFunctionRevertedError)) return true;
    if (err.walk((e) => e instanceof BaseError && e.name === "ExecutionRevertedError")) return true;
  }
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 16; e = causeOf(e), depth++) {
    const message = e instanceof Error ? e.message : "";
    if (/execution reverted|reverted with|transaction reverted/i.test(message)) return true;
  }
  return false;
}

/** Decodes raw revert data with every PoAI error (plus `Error(string)` and `Panic(uint256)`). */
export function decodeRevertData(
  data: Hex,
  context: PoAIErrorContext = {},
  cause?: unknown,
): PoAIContractError {
  try {
    const decoded = decodeErrorResult({ abi: poaiErrorsAbi, data });
    return new PoAIContractError(
      {
        errorName: decoded.errorName,
        args: (decoded.args ?? []) as PoAIRevertArgs<PoAIRevertName>,
        inputNames: decoded.abiItem.inputs.map((i) => i.name ?? ""),
        data,
        ...context,
      },
      { cause },
    );
  } catch {
    return new PoAIContractError(
      {
        errorName: "Unknown",
        args: [],
        data,
        reason: `reverted with data this SDK cannot decode: ${data}`,
        ...context,
      },
      { cause },
    );
  }
}

/**
 * Turns a contract revert (from any viem action, any transport) into a `PoAIContractError`; any
 * other error (network, rejected signature, a `PoAIInputError`) is returned unchanged.
 */
export function toPoAIError(err: unknown, context: PoAIErrorContext = {}): unknown {
  const deployment = deploymentErrorIn(err);
  if (deployment) return deployment;
  if (
    err instanceof PoAIContractError ||
    err instanceof PoAIInputError ||
    err instanceof PoAIDeploymentError ||
    err instanceof PoAIGasFundsError
  )
    return err;
  const data = findRevertData(err);
  if (data) return decodeRevertData(data, context, err);
  if (err instanceof BaseError) {
    const reverted = err.walk((e) => e instanceof ContractFunctionRevertedError);
    if (reverted instanceof ContractFunctionRevertedError && reverted.data?.errorName) {
      const { errorName, args } = reverted.data;
      if (errorName === "Error" || errorName === "Panic") {
        return new PoAIContractError(
          { errorName, args: (args ?? []) as PoAIRevertArgs<typeof errorName>, ...context },
          { cause: err },
        );
      }
    }
    if (reverted instanceof ContractFunctionRevertedError && reverted.reason) {
      return new PoAIContractError(
        { errorName: "Error", args: [reverted.reason], ...context },
        { cause: err },
      );
    }
  }
  if (isRevert(err))
    return new PoAIContractError({ errorName: "Unknown", args: [], ...context }, { cause: err });
  return err;
}
