/**
 * RandomnessBeacon actions. The value of round `r` is built during round `r - 1`: active validators
 * commit `keccak256(abi.encode(secret, validator, r))` in its first half and reveal `secret` in
 * its second half; from the start of round `r` the value is fixed. A round nobody contributed to
 * is sealed by the first caller of `seal` (`ensureBeacon` does it only when needed).
 *
 * A validator that commits and does not reveal could choose between two values; it is slashed
 * `beaconSlash` of its stake when anyone reports it to the challenge manager
 * (`reportBeaconWithholding` in the challenge actions). `reportMissedReveal` only counts the miss.
 *
 * A validator daemon contributes with:
 *
 * ```ts
 * const prepared = prepareBeaconCommit(ctx, { round }); // { round, validator, secret, commitment }
 * await store.save(prepared);                          // persist the secret BEFORE committing
 * await waitForTransaction(ctx, await commitBeacon(ctx, prepared));
 * // … in the second half of the round:
 * await waitForTransaction(ctx, await revealBeacon(ctx, prepared));
 * ```
 */
import { encodeFunctionData, getAddress, type Address, type BlockNumber, type Hash, type Hex } from "viem";
import { getBlock, readContract } from "viem/actions";
import { randomnessBeaconAbi } from "../abi/index.js";
import { requireSigner, senderAddress, type PoAIContext, type WriteOptions } from "../context.js";
import { PoAIInputError, isPoAIContractError } from "../errors.js";
import { getPastContractEvents } from "../events.js";
import { beaconCommitment, newSalt } from "../poai/hashes.js";
import { beaconPhaseAt, beaconWindows, type BeaconPhaseName, type BeaconWindows } from "../poai/timing.js";
import { checkBytes32, checkRound } from "../poai/validate.js";
import { sendContractTransaction, withDecodedErrors as read } from "../transaction.js";
import { checkAddress } from "../validate.js";
import { currentEpoch } from "./staking.js";

/** The RandomnessBeacon address of the deployment, or a `PoAIInputError` naming the missing field. */
export function randomnessBeaconAddress(ctx: PoAIContext): Address {
  const address = ctx.deployment.contracts.randomnessBeacon;
  if (address === undefined) {
    throw new PoAIInputError(
      "deployment.contracts.randomnessBeacon",
      undefined,
      "the RandomnessBeacon address (this deployment has no Proof-of-AI contracts)",
    );
  }
  return address;
}

function sendBeacon(ctx: PoAIContext, functionName: string, data: Hex, options: WriteOptions): Promise<Hash> {
  return sendContractTransaction(ctx, {
    to: randomnessBeaconAddress(ctx),
    data,
    functionName,
    account: options.account,
  });
}

// =================================================================================================
// Contributions
// =================================================================================================

/** A beacon contribution ready to commit: keep `secret` until it is revealed. JSON-serialisable. */
export interface PreparedBeaconCommit {
  round: number;
  validator: Address;
  secret: Hex;
  commitment: Hex;
}

/**
 * Builds a contribution to the beacon of `round` for the sender (or `validator`): a fresh random
 * `secret` (or the one given) and its commitment. Nothing is sent. Persist the result, then pass
 * it to `commitBeacon` and later to `revealBeacon`.
 */
export function prepareBeaconCommit(
  ctx: PoAIContext,
  args: { round: bigint | number; secret?: Hex; validator?: Address } & WriteOptions,
): PreparedBeaconCommit {
  const round = checkRound("round", args.round);
  const secret = args.secret === undefined ? newSalt() : checkBytes32("secret", args.secret);
  const validator =
    args.validator !== undefined
      ? checkAddress("validator", args.validator)
      : senderAddress(requireSigner(ctx, "a beacon commitment", args.account).account);
  return { round: Number(round), validator, secret, commitment: beaconCommitment(secret, validator, round) };
}

/**
 * Commits to the beacon of `round` (during the first half of round `round - 1`; the sender is an
 * active validator). Takes a `PreparedBeaconCommit`, or a bare `{ round, commitment }`.
 */
export async function commitBeacon(
  ctx: PoAIContext,
  args: { round: bigint | number; commitment: Hex; validator?: Address } & WriteOptions,
): Promise<Hash> {
  const round = checkRound("round", args.round);
  const commitment = checkBytes32("commitment", args.commitment);
  if (BigInt(commitment) <= 2n) {
    throw new PoAIInputError(
      "commitment",
      args.commitment,
      "a commitment other than 0, 1 or 2 (reserved slot markers): use prepareBeaconCommit",
    );
  }
  checkSender(ctx, "commitBeacon", args);
  const data = encodeFunctionData({
    abi: randomnessBeaconAbi,
    functionName: "commit",
    args: [round, commitment],
  });
  return sendBeacon(ctx, "commit", data, args);
}

/** Reveals the secret committed to the beacon of `round` (during the second half of round `round - 1`). */
export async function revealBeacon(
  ctx: PoAIContext,
  args: { round: bigint | number; secret: Hex; validator?: Address } & WriteOptions,
): Promise<Hash> {
  const round = checkRound("round", args.round);
  const secret = checkBytes32("secret", args.secret);
  checkSender(ctx, "revealBeacon", args);
  const data = encodeFunctionData({
    abi: randomnessBeaconAbi,
    functionName: "reveal",
    args: [round, secret],
  });
  return sendBeacon(ctx, "reveal", data, args);
}

/**
 * Records that `validator` committed to the beacon of `round` and never revealed (from the start of
 * `round`): the beacon counts the miss (`missedReveals`). The slash for it is
 * `reportBeaconWithholding` (the challenge manager's).
 */
export async function reportMissedReveal(
  ctx: PoAIContext,
  args: { round: bigint | number; validator: Address } & WriteOptions,
): Promise<Hash> {
  const round = checkRound("round", args.round);
  const validator = checkAddress("validator", args.validator);
  const data = encodeFunctionData({
    abi: randomnessBeaconAbi,
    functionName: "reportMissedReveal",
    args: [round, validator],
  });
  return sendBeacon(ctx, "reportMissedReveal", data, args);
}

/** A prepared contribution names its validator: it must be the sender, or the reveal would never match. */
function checkSender(ctx: PoAIContext, action: string, args: { validator?: Address } & WriteOptions): void {
  if (args.validator === undefined) return;
  const validator = checkAddress("validator", args.validator);
  const sender = senderAddress(requireSigner(ctx, action, args.account).account);
  if (validator !== sender) {
    throw new PoAIInputError(
      "validator",
      args.validator,
      `the sending account ${sender} (it was prepared for another one)`,
    );
  }
}

// =================================================================================================
// The value
// =================================================================================================

/**
 * Fixes the value of a round nobody contributed to (the first caller seals it from the block's
 * randomness); for any other round it changes nothing. Reverts `BeaconNotReady` before the round starts.
 */
export async function sealBeacon(
  ctx: PoAIContext,
  args: { round: bigint | number } & WriteOptions,
): Promise<Hash> {
  const round = checkRound("round", args.round);
  const data = encodeFunctionData({ abi: randomnessBeaconAbi, functionName: "seal", args: [round] });
  return sendBeacon(ctx, "seal", data, args);
}

/**
 * Makes sure the value of `round` can be read: when `valueOf(round)` reverts `BeaconNotReady` after
 * the round has started (nobody contributed), sends `seal` and returns its transaction hash;
 * returns `undefined` when the value is already there. Before the round starts it throws the
 * decoded `BeaconNotReady` error, which names the time the value will be ready.
 */
export async function ensureBeacon(
  ctx: PoAIContext,
  args: { round: bigint | number } & WriteOptions,
): Promise<Hash | undefined> {
  const round = checkRound("round", args.round);
  if ((await getBeaconValue(ctx, { round })) !== null) return undefined;
  return sealBeacon(ctx, { round, ...(args.account !== undefined && { account: args.account }) });
}

/** The value of `round`, or `null` while it is not determined (`BeaconNotReady`). */
export async function getBeaconValue(
  ctx: PoAIContext,
  args: { round: bigint | number },
): Promise<Hex | null> {
  const round = checkRound("round", args.round);
  const address = randomnessBeaconAddress(ctx);
  try {
    return await read(address, "valueOf", () =>
      readContract(ctx.publicClient, {
        address,
        abi: randomnessBeaconAbi,
        functionName: "valueOf",
        args: [round],
      }),
    );
  } catch (err) {
    if (isPoAIContractError(err, "BeaconNotReady")) return null;
    throw err;
  }
}

/** Where the beacon of one round stands. */
export interface BeaconPhase extends BeaconWindows {
  /** At the latest block: `pending` (before commits open), `commit`, `reveal` or `ready`. */
  phase: BeaconPhaseName;
  /** The latest block's timestamp, the time the phase is judged at. */
  now: bigint;
  commits: number;
  reveals: number;
}

/**
 * The phase of the beacon of `round` (default: the next round, whose value is being built now),
 * its windows, and its participation so far.
 */
export async function getBeaconPhase(
  ctx: PoAIContext,
  args: { round?: bigint | number } = {},
): Promise<BeaconPhase> {
  const round = args.round === undefined ? (await currentEpoch(ctx)) + 1n : checkRound("round", args.round);
  const address = randomnessBeaconAddress(ctx);
  const block = await read(address, "getBlock", () => getBlock(ctx.publicClient, { blockTag: "latest" }));
  const at = { address, abi: randomnessBeaconAbi, blockNumber: block.number } as const;
  const [genesis, epochLength, [commits, reveals]] = await read(address, "participation", () =>
    Promise.all([
      readContract(ctx.publicClient, { ...at, functionName: "genesis" }),
      readContract(ctx.publicClient, { ...at, functionName: "epochLength" }),
      readContract(ctx.publicClient, { ...at, functionName: "participation", args: [round] }),
    ]),
  );
  const windows = beaconWindows(genesis, epochLength, round);
  return {
    ...windows,
    phase: beaconPhaseAt(windows, block.timestamp),
    now: block.timestamp,
    commits,
    reveals,
  };
}

/**
 * Whether `validator` committed to the beacon of `round`, and whether it revealed. The beacon keeps
 * a validator's latest commitment and the ones it withheld: a revealed contribution older than the
 * validator's latest commitment reads `{ committed: false, revealed: false }` (its `Committed` and
 * `Revealed` events are its record, `getBeaconCommitters`); a withheld one reads
 * `{ committed: true, revealed: false }` for good.
 */
export async function getBeaconContribution(
  ctx: PoAIContext,
  args: { round: bigint | number; validator: Address },
): Promise<{ committed: boolean; revealed: boolean }> {
  const round = checkRound("round", args.round);
  const validator = checkAddress("validator", args.validator);
  const address = randomnessBeaconAddress(ctx);
  const [committed, revealed] = await read(address, "contributionOf", () =>
    readContract(ctx.publicClient, {
      address,
      abi: randomnessBeaconAbi,
      functionName: "contributionOf",
      args: [round, validator],
    }),
  );
  return { committed, revealed };
}

/**
 * The validators that committed to the beacon of `round` (its `Committed` events, filtered by the
 * indexed round: one `eth_getLogs`), in commit order: at most `maxContributors` (32 by default),
 * however many validators there are. `fromBlock` bounds the scan (default: the deployment's block).
 */
export async function getBeaconCommitters(
  ctx: PoAIContext,
  args: { round: bigint | number; fromBlock?: BlockNumber },
): Promise<Address[]> {
  const round = checkRound("round", args.round);
  const logs = await getPastContractEvents(ctx, {
    address: randomnessBeaconAddress(ctx),
    abi: randomnessBeaconAbi,
    eventName: "Committed",
    args: { round },
    fromBlock: args.fromBlock,
  });
  const out: Address[] = [];
  for (const log of logs as unknown as { args: { validator: Address } }[]) {
    const v = getAddress(log.args.validator);
    if (!out.includes(v)) out.push(v);
  }
  return out;
}

/**
 * Whether `validator` is drawn to contribute to the beacon of `round` (`isDrawn`): at most
 * `maxContributors` (32 by default) validators commit to a round, drawn by stake from the value
 * of round `round - 1` with stakes at the start of round `round - 2`; every active validator is
 * drawn when round `round - 1` had no contribution. The answer is final from the start of round
 * `round - 1`, when the commit phase opens; a drawn validator must still be active, and commit
 * before the round is full (`BeaconFull`).
 */
export async function isBeaconContributor(
  ctx: PoAIContext,
  args: { round: bigint | number; validator: Address },
): Promise<boolean> {
  const round = checkRound("round", args.round);
  const validator = checkAddress("validator", args.validator);
  const address = randomnessBeaconAddress(ctx);
  return read(address, "isDrawn", () =>
    readContract(ctx.publicClient, {
      address,
      abi: randomnessBeaconAbi,
      functionName: "isDrawn",
      args: [round, validator],
    }),
  );
}
