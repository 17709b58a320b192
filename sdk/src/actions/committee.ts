/**
 * Committee selection for a whole round at once: the reads a validator needs to know which of a
 * round's challenges it audits, in a constant number of requests however many trainers submitted.
 *
 * Selection (`Sortition.sol`, `committeeBand`) depends on the challenge only through its id: the
 * seed is `auditSeed(beacon(auditRound), id)` (`auditRound = round + 1`, later for a challenge
 * whose committee was extended), and the stakes, the role, the committee size and the audit round's
 * committee pool are those of the round. So one read of the round's inputs (the audit round's
 * beacon value, the validator's role, its stake and the validators' total stake at the round, the
 * parameters, the results submitted before the audit round; all at one block, through Multicall3
 * when the deployment or the chain names one) decides every challenge of the round off-chain, where
 * `checkCommittee` costs eight requests per challenge; and a validator outside the round's pool
 * (`inPool` false) knows at once that it holds no seat in it. It agrees with `checkCommittee` and
 * `isCommitteeMember` bit for bit.
 *
 * ```ts
 * const inputs = await getRoundCommitteeInputs(client, { validator, round });
 * const mine = ids.filter((id) => isSelectedIn(inputs, id));
 * ```
 */
import type { Address, Hex } from "viem";
import { getBlockNumber, multicall, readContract } from "viem/actions";
import { challengeManagerAbi, randomnessBeaconAbi, stakingAbi } from "../abi/index.js";
import type { PoAIContext } from "../context.js";
import { committeeBand, isInPool, poolSize } from "../poai/sortition.js";
import { checkBytes32, checkRound } from "../poai/validate.js";
import { PoAIInputError } from "../errors.js";
import { withDecodedErrors as read } from "../transaction.js";
import { checkAddress } from "../validate.js";
import { randomnessBeaconAddress } from "./beacon.js";
import { challengeManagerAddress } from "./challenges.js";
import { ROLE, multicallAddressOf } from "./staking.js";

/** What decides `validator`'s selection for every challenge of `round`. */
export interface RoundCommitteeInputs {
  validator: Address;
  round: bigint;
  /** Whose beacon value seeds the audits: `round + 1`, or later for an extended committee. */
  auditRound: bigint;
  beaconValue: Hex;
  /** Whether the account is registered as a validator (only validators are ever selected). */
  isValidator: boolean;
  /** `stakeAt(validator, round)` and `roleStakeAt(Validator, round)`. */
  stake: bigint;
  totalStake: bigint;
  committeeSize: number;
  /**
   * The audit round's committee pool: its size (`poolSize`: from `poolSeats` and the results
   * submitted in the round before the audit round; 0 when there is no pool) and whether the
   * validator is in it (`isInPool`). A validator outside the pool holds no seat in the round.
   */
  poolSize: bigint;
  inPool: boolean;
  /** The block every input was read at. */
  blockNumber: bigint;
}

/**
 * The committee inputs of `validator` for the challenges of `round` audited in `auditRound` (default
 * `round + 1`), read at one block: two requests through Multicall3, seven without. Throws the decoded
 * `BeaconNotReady` before the audit round's beacon value is fixed.
 */
export async function getRoundCommitteeInputs(
  ctx: PoAIContext,
  args: { validator: Address; round: bigint | number; auditRound?: bigint | number },
): Promise<RoundCommitteeInputs> {
  const validator = checkAddress("validator", args.validator);
  const round = checkRound("round", args.round);
  const auditRound = args.auditRound === undefined ? round + 1n : checkRound("auditRound", args.auditRound);
  if (auditRound <= round)
    throw new PoAIInputError("auditRound", auditRound, `a round after the challenges' round ${round}`);
  const manager = challengeManagerAddress(ctx);
  const beacon = randomnessBeaconAddress(ctx);
  const staking = ctx.deployment.contracts.staking;
  const blockNumber = await read(manager, "params", () => getBlockNumber(ctx.publicClient, { cacheTime: 0 }));
  const calls = [
    { address: manager, abi: challengeManagerAbi, functionName: "params" },
    { address: beacon, abi: randomnessBeaconAbi, functionName: "valueOf", args: [auditRound] },
    { address: staking, abi: stakingAbi, functionName: "roleOf", args: [validator] },
    { address: staking, abi: stakingAbi, functionName: "stakeAt", args: [validator, round] },
    { address: staking, abi: stakingAbi, functionName: "roleStakeAt", args: [ROLE.Validator, round] },
    { address: manager, abi: challengeManagerAbi, functionName: "submissions", args: [auditRound - 1n] },
  ] as const;
  const multicallAddress = multicallAddressOf(ctx);
  let results: readonly unknown[];
  if (multicallAddress) {
    // allowFailure: false rethrows the first revert (BeaconNotReady) with its data, decoded by `read`
    results = (await read(beacon, "valueOf", () =>
      multicall(ctx.publicClient, {
        multicallAddress,
        allowFailure: false,
        blockNumber,
        contracts: calls,
      } as unknown as Parameters<typeof multicall>[1]),
    )) as readonly unknown[];
  } else {
    results = await Promise.all(
      calls.map((c) =>
        read(c.address, c.functionName, () =>
          readContract(ctx.publicClient, { ...c, blockNumber } as unknown as Parameters<
            typeof readContract
          >[1]),
        ),
      ),
    );
  }
  const [params, beaconValue, role, stake, totalStake, submissions] = results as [
    { committeeSize: number; minReveals: number; poolSeats: number },
    Hex,
    number,
    bigint,
    bigint,
    bigint,
  ];
  const isValidator = Number(role) === ROLE.Validator;
  const size = poolSize(params.committeeSize, params.minReveals, params.poolSeats, submissions);
  return {
    validator,
    round,
    auditRound,
    beaconValue,
    isValidator,
    stake,
    totalStake,
    committeeSize: Number(params.committeeSize),
    poolSize: size,
    inPool: isValidator && isInPool(beaconValue, validator, stake, totalStake, size),
    blockNumber,
  };
}

/** Whether the validator of `inputs` is in the committee of challenge `id` (of `inputs.round`). */
export function isSelectedIn(inputs: RoundCommitteeInputs, id: Hex): boolean {
  return committeeBandIn(inputs, id) === 0n;
}

/**
 * The sortition band of the validator of `inputs` for challenge `id` (`sortitionBand`): `0` when it
 * is in the committee's first draw (`isSelectedIn`), `1` to `TOP_UP_BANDS` when it may top up a
 * committee left short of `minReveals` members, larger (or `null`) when it is never a member.
 */
export function committeeBandIn(inputs: RoundCommitteeInputs, id: Hex): bigint | null {
  // outside the round's pool: no seat in any of its committees, and no draw to compute
  if (!inputs.inPool) return null;
  return committeeBand(
    inputs.beaconValue,
    checkBytes32("id", id),
    inputs.validator,
    inputs.stake,
    inputs.totalStake,
    inputs.committeeSize,
    inputs.poolSize,
  );
}
