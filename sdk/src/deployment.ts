import { getAddress, isAddress, type Address } from "viem";
import { z } from "zod";
import { PoAIInputError, showValue } from "./errors.js";

/**
 * Addresses of the PoAI contracts on one chain. The staking layer is always there; the other
 * contracts join as they are deployed, and any further `name: address` pair is kept (and checked).
 */
export interface PoAIContracts {
  accessManager: Address;
  token: Address;
  staking: Address;
  stakingLens: Address;
  challengeManager?: Address;
  taskRegistry?: Address;
  randomnessBeacon?: Address;
  rewardDistributor?: Address;
  /** The governance `PoAITimelock`: ADMIN and GOVERNOR of the AccessManager (a deployment by `poai deploy`). */
  timelock?: Address;
  coordinator?: Address;
  /** The EIP712Coordinator, when it is not the `coordinator` itself. */
  eip712Coordinator?: Address;
  /** The Infernet Reader (batch reads of subscriptions and redundancy counts). */
  reader?: Address;
  /** The Inbox of lazy subscriptions. */
  inbox?: Address;
  /** The WalletFactory of payment wallets. */
  walletFactory?: Address;
  /** The registry of PoAI-trained models served for inference. */
  modelRegistry?: Address;
  /** The PoAIVerifier: exact output checks and disputes of inference deliveries. */
  poaiVerifier?: Address;
  /** The InferenceDisputeGame: bisection disputes of the PoAIVerifier's deliveries, any model size. */
  inferenceDisputeGame?: Address;
  /** The ScoreGame: disputes of a job run's reported held-out accuracy. */
  scoreGame?: Address;
  /** The InferenceDisputeGame the ScoreGame hosts (a disputed prediction). */
  scoreInferenceGame?: Address;
  /** A Multicall3 deployment, for chains whose viem `chain` object does not name one. */
  multicall3?: Address;
  readonly [name: string]: Address | undefined;
}

/** Where PoAI lives on one chain: the shape of `deployments/<network>.json`. */
export interface PoAIDeployment {
  chainId: number;
  /** A label such as `"base-sepolia"`. */
  network?: string;
  /** Block of the first PoAI deployment: where event queries start. */
  deployBlock?: bigint;
  contracts: PoAIContracts;
  /** The parameters the contracts were deployed with, as decimal strings. */
  parameters?: Record<string, string>;
}

const address = z
  .string({ invalid_type_error: "an address (0x followed by 40 hex digits)" })
  .refine((v) => isAddress(v), "an address (0x followed by 40 hex digits, valid checksum if mixed-case)")
  .transform((v) => getAddress(v));

const blockNumber = z
  .union([
    z.bigint().nonnegative(),
    z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    z.string().regex(/^\d+$/),
  ])
  .transform((v) => BigInt(v));

const contractsSchema = z
  .object({
    accessManager: address,
    token: address,
    staking: address,
    stakingLens: address,
    challengeManager: address.optional(),
    taskRegistry: address.optional(),
    randomnessBeacon: address.optional(),
    rewardDistributor: address.optional(),
    timelock: address.optional(),
    coordinator: address.optional(),
    eip712Coordinator: address.optional(),
    reader: address.optional(),
    inbox: address.optional(),
    walletFactory: address.optional(),
    modelRegistry: address.optional(),
    poaiVerifier: address.optional(),
    inferenceDisputeGame: address.optional(),
    scoreGame: address.optional(),
    scoreInferenceGame: address.optional(),
    multicall3: address.optional(),
  })
  .catchall(address);

/** zod schema of a deployment file; it checksums every address and turns `deployBlock` into a bigint. */
export const poaiDeploymentSchema: z.ZodType<PoAIDeployment, z.ZodTypeDef, unknown> = z
  .object({
    chainId: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
    network: z.string().min(1).optional(),
    deployBlock: blockNumber.optional(),
    contracts: contractsSchema,
    /** The deployment's parameters as decimal strings (epoch length, minimums, windows, fees…). */
    parameters: z.record(z.string(), z.string()).optional(),
  })
  .strict();

/** What zod's issue says a field should be, in words. */
function expectation(issue: z.ZodIssue): string {
  switch (issue.code) {
    case "invalid_type":
      if (issue.received === "undefined")
        return `a value (the field is required; ${describeType(issue.expected)})`;
      return issue.message.startsWith("an ") ? issue.message : describeType(issue.expected);
    case "too_small":
      return issue.type === "number" || issue.type === "bigint"
        ? `a number ${issue.inclusive ? ">=" : ">"} ${String(issue.minimum)}`
        : issue.message;
    case "too_big":
      return `a number ${issue.inclusive ? "<=" : "<"} ${String(issue.maximum)}`;
    case "unrecognized_keys":
      return `no other keys (unknown: ${issue.keys.join(", ")})`;
    case "invalid_union":
      return "a block number (a non-negative integer, or a decimal string)";
    default:
      return issue.message;
  }
}

function describeType(t: string): string {
  if (t === "integer") return "an integer";
  return /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`;
}

function valueAt(input: unknown, path: readonly (string | number)[]): unknown {
  let v: unknown = input;
  for (const key of path) {
    if (typeof v !== "object" || v === null) return undefined;
    v = (v as Record<string | number, unknown>)[key];
  }
  return v;
}

/**
 * Validates a deployment (a parsed JSON object, or the JSON text itself) and returns it with
 * checksummed addresses. Throws a `PoAIInputError` naming the first bad field and its value;
 * the message lists every problem.
 */
export function parseDeployment(json: unknown): PoAIDeployment {
  let input = json;
  if (typeof json === "string") {
    try {
      input = JSON.parse(json);
    } catch (err) {
      throw new PoAIInputError("deployment", json.slice(0, 80), `JSON text (${(err as Error).message})`);
    }
  }
  const result = poaiDeploymentSchema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues;
  const first = issues[0]!;
  const field = first.path.length ? first.path.join(".") : "deployment";
  const error = new PoAIInputError(field, valueAt(input, first.path), expectation(first));
  if (issues.length > 1) {
    const rest = issues
      .slice(1)
      .map(
        (i) =>
          `${i.path.join(".") || "deployment"}: expected ${expectation(i)}, got ${showValue(valueAt(input, i.path))}`,
      );
    error.message += `; also ${rest.join("; ")}`;
  }
  throw error;
}
