/**
 * Committee selection for a whole round at once: the reads a validator needs to know which of a
 * round's challenges it audits, in a constant number of requests however many trainers submitted.
 *
 * Selection (`Sortition.sol`, `isSelected`) depends on the challenge only through its id: the seed
 * is `auditSeed(beacon(auditRound), id)` (`auditRound = round + 1`, later for a challenge whose
 * committee was extended), and the stakes, the role and the committee size are those of the round. So one read of the round's inputs (the audit round's beacon value, the validator's
 * role, its stake and the validators' total stake at the round, the committee size; all at one
 * block, through Multicall3 when the deployment or the chain names one) decides every challenge of
 * the round off-chain, where `checkCommittee` costs seven requests per challenge. It agrees with
 * `checkCommittee` and `isCommitteeMember` bit for bit.
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
import { auditSeed } from "../poai/hashes.js";
import { isSelected, sortitionBand } from "../poai/sortition.js";
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
  /** The block every input was read at. */
  blockNumber: bigint;
}

/**
 * The committee inputs of `validator` for the challenges of `round` audited in `auditRound` (default
 * `round + 1`), read at one block: two requests through Multicall3, six without. Throws the decoded
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
  const [params, beaconValue, role, stake, totalStake] = results as [
    { committeeSize: number },
    Hex,
    number,
    bigint,
    bigint,
  ];
  return {
    validator,
    round,
    auditRound,
    beaconValue,
    isValidator: Number(role) === ROLE.Validator,
    stake,
    totalStake,
    committeeSize: Number(params.committeeSize),
    blockNumber,
  };
}

/** Whether the validator of `inputs` is in the committee of challenge `id` (of `inputs.round`). */
export function isSelectedIn(inputs: RoundCommitteeInputs, id: Hex): boolean {
  const seed = auditSeed(inputs.beaconValue, checkBytes32("id", id));
  return (
    inputs.isValidator &&
    isSelected(seed, inputs.validator, inputs.stake, inputs.totalStake, inputs.committeeSize)
  );
}

/**
 * The sortition band of the validator of `inputs` for challenge `id` (`sortitionBand`): `0` when it
 * is in the committee's first draw (`isSelectedIn`), `1` to `TOP_UP_BANDS` when it may top up a
 * committee left short of `minReveals` members, larger (or `null`) when it is never a member.
 */
export function committeeBandIn(inputs: RoundCommitteeInputs, id: Hex): bigint | null {
  if (!inputs.isValidator) return null;
  const seed = auditSeed(inputs.beaconValue, checkBytes32("id", id));
  return sortitionBand(seed, inputs.validator, inputs.stake, inputs.totalStake, inputs.committeeSize);
}
