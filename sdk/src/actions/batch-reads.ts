/**
 * Reads of many challenges, beacon contributions or stakes in one request: through Multicall3 when
 * the deployment or the chain names one (one `eth_call` per `chunk` items), in parallel otherwise.
 * A daemon that must look at every challenge of a round (to finalize it, or to notice that its
 * committee was extended) or at every validator's beacon contribution keeps its request count per
 * round flat in the number of operators this way; the bytes an `eth_call` returns still grow with
 * them (see `docs/scale.md`).
 *
 * ```ts
 * const infos = await getChallengesBatch(client, { ids }); // Map id -> ChallengeInfo
 * ```
 */
import type { Address, Hex } from "viem";
import { multicall, readContract } from "viem/actions";
import { challengeManagerAbi, randomnessBeaconAbi, stakingAbi } from "../abi/index.js";
import type { PoAIContext } from "../context.js";
import { decodeStatus, isFinalStatus } from "../poai/enums.js";
import { checkBytes32, checkRound } from "../poai/validate.js";
import { withDecodedErrors as read } from "../transaction.js";
import { checkAddress, checkUint } from "../validate.js";
import { randomnessBeaconAddress } from "./beacon.js";
import { challengeManagerAddress, type ChallengeInfo } from "./challenges.js";
import { multicallAddressOf } from "./staking.js";

/** Items per Multicall3 `eth_call` (keeps one call well under a node's gas cap for `eth_call`). */
export const BATCH_CHUNK = 250;

type Call = { address: Address; abi: readonly unknown[]; functionName: string; args: readonly unknown[] };

async function readMany<T>(ctx: PoAIContext, calls: readonly Call[], label: string): Promise<T[]> {
  if (calls.length === 0) return [];
  const multicallAddress = multicallAddressOf(ctx);
  if (!multicallAddress) {
    return Promise.all(
      calls.map((c) =>
        read(c.address, label, () =>
          readContract(ctx.publicClient, c as unknown as Parameters<typeof readContract>[1]),
        ),
      ),
    ) as Promise<T[]>;
  }
  const out: T[] = [];
  for (let i = 0; i < calls.length; i += BATCH_CHUNK) {
    const chunk = calls.slice(i, i + BATCH_CHUNK);
    const results = (await read(chunk[0].address, label, () =>
      multicall(ctx.publicClient, {
        multicallAddress,
        allowFailure: false,
        contracts: chunk,
      } as unknown as Parameters<typeof multicall>[1]),
    )) as T[];
    out.push(...results);
  }
  return out;
}

/** `getChallenge` of every id, read in batches: a map from the (lower-case) id to its info. */
export async function getChallengesBatch(
  ctx: PoAIContext,
  args: { ids: readonly Hex[] },
): Promise<Map<Hex, ChallengeInfo>> {
  const ids = args.ids.map((id, i) => checkBytes32(`ids[${i}]`, id).toLowerCase() as Hex);
  const address = challengeManagerAddress(ctx);
  const raw = await readMany<Omit<ChallengeInfo, "status" | "final"> & { status: number }>(
    ctx,
    ids.map((id) => ({ address, abi: challengeManagerAbi, functionName: "getChallenge", args: [id] })),
    "getChallenge",
  );
  const out = new Map<Hex, ChallengeInfo>();
  raw.forEach((c, i) => {
    const status = decodeStatus(c.status);
    out.set(ids[i], { ...c, status, final: isFinalStatus(status) } as ChallengeInfo);
  });
  return out;
}

/** `getBeaconContribution` of every validator for `round`, read in batches (keyed as given). */
export async function getBeaconContributionsBatch(
  ctx: PoAIContext,
  args: { round: bigint | number; validators: readonly Address[] },
): Promise<Map<Address, { committed: boolean; revealed: boolean }>> {
  const round = checkRound("round", args.round);
  const validators = args.validators.map((v, i) => checkAddress(`validators[${i}]`, v));
  const address = randomnessBeaconAddress(ctx);
  const raw = await readMany<readonly [boolean, boolean]>(
    ctx,
    validators.map((v) => ({
      address,
      abi: randomnessBeaconAbi,
      functionName: "contributionOf",
      args: [round, v],
    })),
    "contributionOf",
  );
  const out = new Map<Address, { committed: boolean; revealed: boolean }>();
  raw.forEach(([committed, revealed], i) => out.set(args.validators[i], { committed, revealed }));
  return out;
}

/** `stakeAt(operator, epoch)` of every operator, read in batches, in the order given. */
export async function getStakesAtBatch(
  ctx: PoAIContext,
  args: { operators: readonly Address[]; epoch: bigint | number },
): Promise<bigint[]> {
  const operators = args.operators.map((v, i) => checkAddress(`operators[${i}]`, v));
  const epoch = checkUint("epoch", args.epoch);
  const address = ctx.deployment.contracts.staking;
  return readMany<bigint>(
    ctx,
    operators.map((v) => ({ address, abi: stakingAbi, functionName: "stakeAt", args: [v, epoch] })),
    "stakeAt",
  );
}
