/**
 * Deploys the PoAI suite with Hardhat Ignition (`ignition/modules/PoAI.ts`) and turns the result
 * into an address book (`deployments/<network>.json`).
 *
 * A network's parameters live in `ignition/parameters/<network>.json`, in Ignition's own format
 * (one object per module; bigints as numbers or `"123n"` strings), so the same file works with
 * `npx hardhat ignition deploy`. `resolveNetworkParameters` validates it (errors name the field and
 * the value) and fills in every default: the challenge windows from the epoch length (a quarter
 * epoch each) as `scripts/lib/deploy.ts` does, the stake guard from the unbonding period, and, on a
 * local development chain only, the deployer as the timelock's proposer, the treasury and (the
 * development fast path) a governor. `checkRoleHolders` refuses, before anything is sent, a public
 * deployment that would leave an externally owned account with a role, unless the operator says
 * so explicitly (`poai deploy --unsafe-allow-eoa-roles`). Re-running a deployment with the same
 * deployment id is idempotent: Ignition's journal (`ignition/deployments/<id>/`) records what was
 * sent, and only what is missing is sent again.
 */
import { readFile } from "node:fs/promises";
import { isAddress, getAddress, zeroAddress, type Address, type PublicClient } from "viem";
import { z } from "zod";
import type { NetworkConnection } from "hardhat/types/network";
import { isContractCode, parseDeployment, type PoAIDeployment } from "@poai/sdk";
import { DEFAULT_PARAMS, defaultChallengeParams } from "./deploy.js";
import { describeZodError } from "./zod-message.js";
import { DEFAULT_SUPPLY, type TokenSource } from "../../ignition/modules/Token.js";
import { DEFAULT_REWARD_PARAMS } from "../../ignition/modules/Rewards.js";
import { poaiModule } from "../../ignition/modules/PoAI.js";
import { MIN_GOVERNANCE_DELAY, type GovernanceMode } from "../../ignition/modules/Governance.js";
import { isDevChain } from "./roles.js";
import {
  DEFAULT_INFERENCE_PARAMS,
  defaultDisputeWindow,
  defaultGameMoveTimeout,
} from "../../ignition/modules/Inference.js";
import { contractsOf } from "./address-book.js";
import { scoreGameArgsFor } from "./deploy-disputes.js";

export class DeployError extends Error {
  override name = "DeployError";
}

const uint = (max: bigint) =>
  z
    .union([
      z.number().int().nonnegative(),
      z.string().regex(/^\d+n?$/, 'a whole number such as 1000 or "1000n"'),
    ])
    .transform((v) => BigInt(typeof v === "string" ? v.replace(/n$/, "") : v))
    .refine((v) => v <= max, `a whole number at most ${max}`);
const u16 = uint(0xffffn);
const u32 = uint(0xffff_ffffn);
const u40 = uint(0xff_ffff_ffffn);
const u64 = uint(0xffff_ffff_ffff_ffffn);
const u128 = uint(2n ** 128n - 1n);
const u256 = uint(2n ** 256n - 1n);
const address = z
  .string()
  .refine((v) => isAddress(v), "an address (0x followed by 40 hex digits)")
  .transform((v) => getAddress(v));

/** zod schema of `ignition/parameters/<network>.json`. */
export const networkParametersSchema = z
  .object({
    PoAIToken: z.object({ supply: u256.optional(), holder: address.optional() }).strict().optional(),
    ExternalToken: z.object({ address }).strict().optional(),
    PoAIStaking: z
      .object({
        epochLength: uint(0xffff_ffffn)
          .refine((v) => v > 0n, "an epoch length > 0 seconds")
          .optional(),
        minTrainerStake: u128.optional(),
        minValidatorStake: u128.optional(),
        unbondingPeriod: u40.optional(),
        jailCooldown: u40.optional(),
        commissionDelay: u40.optional(),
        maxCommissionChangeBps: u16.optional(),
        finderFeeBps: u16.optional(),
        maxSlashFraction: u64.optional(),
      })
      .strict()
      .optional(),
    PoAIChallenges: z
      .object({
        commitWindow: u32.optional(),
        revealWindow: u32.optional(),
        finalizeGrace: u32.optional(),
        replayWindow: u32.optional(),
        committeeSize: u16.optional(),
        quorumBps: u16.optional(),
        minReveals: u16.optional(),
        maxDeviationBps: u16.optional(),
        scoreToleranceBps: u16.optional(),
        maxMisses: u16.optional(),
        maxExtensions: u16.optional(),
        fraudSlash: u64.optional(),
        withholdSlash: u64.optional(),
        missSlash: u64.optional(),
        verdictSlash: u64.optional(),
        beaconSlash: u64.optional(),
        poolSeats: u16.optional(),
      })
      .strict()
      .optional(),
    PoAIRewards: z
      .object({
        emission: u256.optional(),
        gammaBps: u16.optional(),
        protocolCutBps: u16.optional(),
        nodeFeeBps: u16.optional(),
        royaltyBps: u16.optional(),
        noticeEpochs: u16.optional(),
        treasury: address.optional(),
      })
      .strict()
      .optional(),
    PoAIGovernance: z
      .object({
        minDelay: u32
          .refine((v) => v >= MIN_GOVERNANCE_DELAY, `at least ${MIN_GOVERNANCE_DELAY} seconds (2 days)`)
          .optional(),
        proposers: z.array(address).min(1, "at least one proposer").optional(),
        executors: z.array(address).min(1, "at least one executor (0x0…0: anyone)").optional(),
        stakeGuardDelay: u32.optional(),
        devGovernor: z.boolean().optional(),
      })
      .strict()
      .optional(),
    PoAIInference: z
      .object({
        protocolFeeBps: u16.optional(),
        feeRecipient: address.optional(),
        commitRevealWindow: u32.optional(),
        disputeWindow: u32.optional(),
        disputeSlashFraction: u64.optional(),
        disputeJail: z.boolean().optional(),
        verifierWallet: address.optional(),
        verifierFee: u256.optional(),
        gameMoveTimeout: u32
          .refine((v) => v >= 60n && v <= 86_400n, "seconds per move, 60 .. 86400 (one day)")
          .optional(),
        gameBond: u256.optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((p) => !(p.PoAIToken && p.ExternalToken), {
    message: "either PoAIToken (a fresh token) or ExternalToken (an existing one), not both",
    path: ["ExternalToken"],
  });

export type NetworkParametersInput = z.input<typeof networkParametersSchema>;

/** Everything Ignition is given, every default filled in. */
export interface ResolvedNetworkParameters {
  token: TokenSource;
  /** The timelock takes over ("timelock"), or the development fast path also keeps the deployer GOVERNOR. */
  mode: GovernanceMode;
  /** Ignition's deployment parameters, one object per module. */
  ignition: Record<string, Record<string, bigint | string | string[]>>;
  /** The same values flattened as decimal strings, for the address book. */
  flat: Record<string, string>;
  /** Who is given what: checked by `checkRoleHolders` before anything is sent. */
  holders: { field: string; account: Address; what: string }[];
}

export interface ResolveOptions {
  /** The chain deployed to: local development chains (31337, 1337) get the fast-path defaults. */
  chainId: number;
  /** Names the parameters' source in errors (default "parameters"). */
  label?: string;
  /** The operator allowed accounts in roles (`--unsafe-allow-eoa-roles`): the local defaults apply too. */
  allowEoaRoles?: boolean;
}

/** Validates parameters (a parsed JSON object) and fills in the defaults. */
export function resolveNetworkParameters(
  input: unknown,
  deployer: Address,
  options: ResolveOptions,
): ResolvedNetworkParameters {
  const label = options.label ?? "parameters";
  const parsed = networkParametersSchema.safeParse(input ?? {});
  if (!parsed.success) throw new DeployError(`${label}: ${describeZodError(input, parsed.error)}`);
  const p = parsed.data;
  const local = isDevChain(options.chainId);
  const lenient = local || options.allowEoaRoles === true;
  const epochLength = p.PoAIStaking?.epochLength ?? 86_400n;
  const big = (o: Record<string, number | bigint | string>) =>
    Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === "number" ? BigInt(v) : v]));
  const staking = { ...big(DEFAULT_PARAMS), ...p.PoAIStaking, epochLength };
  const challenges = { ...big(defaultChallengeParams(Number(epochLength))), ...p.PoAIChallenges };
  const required = (field: string, what: string): never => {
    throw new DeployError(
      `${label}: ${field} is required on chain ${options.chainId} (not a local development chain): ${what}`,
    );
  };
  const treasury =
    p.PoAIRewards?.treasury ??
    (lenient
      ? deployer
      : required("PoAIRewards.treasury", "the address the protocol cut is paid to (a multisig)"));
  const rewards = { ...big(DEFAULT_REWARD_PARAMS), ...p.PoAIRewards, treasury };
  const g = p.PoAIGovernance ?? {};
  const proposers =
    g.proposers ??
    (lenient
      ? [deployer]
      : required(
          "PoAIGovernance.proposers",
          "the multisig or governor contract that schedules governance operations on the timelock",
        ));
  const executors = g.executors ?? [zeroAddress];
  const unbonding = BigInt(staking.unbondingPeriod as bigint);
  const stakeGuardDelay = g.stakeGuardDelay ?? unbonding + epochLength;
  if (stakeGuardDelay < unbonding)
    throw new DeployError(
      `${label}: PoAIGovernance.stakeGuardDelay must be at least PoAIStaking.unbondingPeriod (${unbonding} s), ` +
        `got ${stakeGuardDelay}: a delegator must be able to leave before a new slasher takes effect`,
    );
  if (stakeGuardDelay > 0xffff_ffffn)
    throw new DeployError(
      `${label}: PoAIGovernance.stakeGuardDelay must fit in 32 bits, got ${stakeGuardDelay}`,
    );
  const mode: GovernanceMode = (g.devGovernor ?? local) ? "devGovernor" : "timelock";
  const governance = {
    minDelay: g.minDelay ?? MIN_GOVERNANCE_DELAY,
    proposers: proposers.map((a) => getAddress(a)),
    executors: executors.map((a) => getAddress(a)),
    stakeGuardDelay,
  };
  const disputeWindow =
    p.PoAIInference?.disputeWindow ??
    defaultDisputeWindow(epochLength, BigInt(staking.unbondingPeriod as bigint));
  const inference = {
    ...big(DEFAULT_INFERENCE_PARAMS as unknown as Record<string, number | bigint | string>),
    feeRecipient: deployer,
    verifierWallet: deployer,
    disputeWindow,
    gameMoveTimeout: defaultGameMoveTimeout(epochLength, unbonding, BigInt(disputeWindow)),
    ...p.PoAIInference,
  };
  // the score game's settings that fit the unbonding period after the ChallengeManager's window
  const c = challenges as unknown as Record<string, bigint>;
  const challengeSlashWindow =
    (1n + BigInt(c.maxExtensions)) * epochLength +
    BigInt(c.commitWindow) +
    BigInt(c.revealWindow) +
    BigInt(c.finalizeGrace);
  const score = scoreGameArgsFor(epochLength, unbonding, challengeSlashWindow);
  const jobs = {
    scoreMoveTimeout: score.moveTimeout,
    scoreOpenWindow: score.openWindow,
    scoreSlashFraction: score.slashFraction,
  };
  const token: TokenSource = p.ExternalToken ? "existing" : "fresh";
  const tokenParams = p.ExternalToken
    ? { ExternalToken: { address: p.ExternalToken.address } }
    : { PoAIToken: { supply: DEFAULT_SUPPLY, holder: deployer, ...p.PoAIToken } };
  const ignition = {
    ...tokenParams,
    PoAIStaking: staking,
    PoAIChallenges: challenges,
    PoAIRewards: rewards,
    PoAIInference: inference,
    PoAIJobs: jobs,
    PoAIGovernance: governance,
  } as unknown as Record<string, Record<string, bigint | string | string[]>>;
  const flat: Record<string, string> = {};
  for (const values of [staking, challenges, rewards, inference, jobs, governance]) {
    for (const [k, v] of Object.entries(values)) flat[k] = Array.isArray(v) ? v.join(",") : String(v);
  }
  flat.governance = mode;
  if (p.ExternalToken) flat.token = p.ExternalToken.address;
  else flat.tokenSupply = String(tokenParams.PoAIToken!.supply);
  const holders = [
    ...governance.proposers.map((account, i) => ({
      field: `PoAIGovernance.proposers[${i}]`,
      account,
      what: "a proposer of the timelock (schedules and cancels every governance operation)",
    })),
    ...governance.executors
      .filter((a) => a !== zeroAddress)
      .map((account, i) => ({
        field: `PoAIGovernance.executors[${i}]`,
        account,
        what: "an executor of the timelock",
      })),
    ...(mode === "devGovernor"
      ? [
          {
            field: "PoAIGovernance.devGovernor",
            account: deployer,
            what: "GOVERNOR without delay (the development fast path: the deployer keeps the role)",
          },
        ]
      : []),
  ];
  return { token, mode, ignition, flat, holders };
}

/**
 * Refuses, before anything is sent, a deployment to a chain that is not a local development chain
 * that would leave an externally owned account (no contract code) with a role: a timelock
 * proposer or executor, or the development governor. `allowEoaRoles` (`--unsafe-allow-eoa-roles`)
 * lets it through. Returns the accounts that hold a role without being contracts (for the report).
 */
export async function checkRoleHolders(
  client: PublicClient,
  parameters: ResolvedNetworkParameters,
  options: { chainId: number; allowEoaRoles?: boolean },
): Promise<{ field: string; account: Address; what: string }[]> {
  const accounts: { field: string; account: Address; what: string }[] = [];
  for (const h of parameters.holders) {
    if (!isContractCode(await client.getCode({ address: h.account }))) accounts.push(h);
  }
  if (accounts.length > 0 && !isDevChain(options.chainId) && !options.allowEoaRoles) {
    throw new DeployError(
      `refusing to deploy to chain ${options.chainId}: it would leave an externally owned account (no contract code) ` +
        `with a role: ${accounts.map((a) => `${a.field} ${a.account} (${a.what})`).join("; ")}. One key would ` +
        "govern the network. Name a multisig or governor contract instead, or pass --unsafe-allow-eoa-roles " +
        "to deploy anyway",
    );
  }
  return accounts;
}

/** Reads `file` (JSON) and resolves it; a missing file is an empty one (every default). */
export async function readNetworkParameters(
  file: string,
  deployer: Address,
  options: { mustExist?: boolean; chainId: number; allowEoaRoles?: boolean },
): Promise<ResolvedNetworkParameters> {
  let raw: string | undefined;
  try {
    raw = await readFile(file, "utf8");
  } catch (err) {
    if (options.mustExist) throw new DeployError(`no parameters file at ${file}`, { cause: err });
  }
  let json: unknown = {};
  if (raw !== undefined) {
    try {
      json = JSON.parse(raw);
    } catch (err) {
      throw new DeployError(`${file} is not JSON: ${(err as Error).message}`, { cause: err });
    }
  }
  return resolveNetworkParameters(json, deployer, {
    chainId: options.chainId,
    label: file,
    ...(options.allowEoaRoles !== undefined && { allowEoaRoles: options.allowEoaRoles }),
  });
}

/** First block to scan for `address`'s events: the block its code appeared in (binary search). */
async function creationBlock(client: PublicClient, address: Address, latest: bigint): Promise<bigint> {
  let lo = 0n;
  let hi = latest;
  while (lo < hi) {
    const mid = (lo + hi) / 2n;
    const code = await client.getCode({ address, blockNumber: mid }).catch(() => undefined);
    if (code && code !== "0x") hi = mid;
    else lo = mid + 1n;
  }
  return lo;
}

export interface IgnitionDeployOptions {
  parameters: ResolvedNetworkParameters;
  /** Label written into the address book (`network`). */
  network: string;
  /** Ignition's deployment id (its journal's folder); default `poai-<network>`. */
  deploymentId?: string;
  /** Show Ignition's progress display. */
  displayUi?: boolean;
  /** An existing address book of this deployment: its `deployBlock` is kept when the addresses match. */
  previous?: PoAIDeployment;
}

/**
 * Deploys (or completes, or confirms) the suite on `connection` and returns its address book.
 * Idempotent: a second run with the same deployment id sends nothing and returns the same book.
 */
export async function deployWithIgnition(
  connection: NetworkConnection<string>,
  options: IgnitionDeployOptions,
): Promise<PoAIDeployment> {
  const publicClient = (await connection.viem.getPublicClient()) as unknown as PublicClient;
  const chainId = await publicClient.getChainId();
  const before = await publicClient.getBlockNumber();
  const result = await connection.ignition.deploy(
    poaiModule(options.parameters.token, options.parameters.mode),
    {
      parameters: options.parameters.ignition,
      deploymentId: options.deploymentId ?? `poai-${options.network}`,
      displayUi: options.displayUi ?? false,
    },
  );
  const contracts = contractsOf(result);
  let deployBlock: bigint;
  const previous = options.previous;
  if (
    previous?.deployBlock !== undefined &&
    previous.chainId === chainId &&
    getAddress(previous.contracts.accessManager) === getAddress(contracts.accessManager)
  ) {
    deployBlock = previous.deployBlock;
  } else {
    const code = await publicClient.getCode({ address: contracts.accessManager, blockNumber: before });
    deployBlock =
      code && code !== "0x"
        ? await creationBlock(publicClient, contracts.accessManager, before)
        : before + 1n;
  }
  return parseDeployment({
    chainId,
    network: options.network,
    deployBlock: deployBlock.toString(),
    contracts,
    parameters: options.parameters.flat,
  });
}

/** The address book as JSON text (bigints as decimal strings), as `deployments/<network>.json` holds it. */
export function addressBookJson(deployment: PoAIDeployment): string {
  return (
    JSON.stringify(
      { ...deployment, deployBlock: deployment.deployBlock?.toString() },
      (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v),
      2,
    ) + "\n"
  );
}
