/**
 * The PoAIVerifier: optimistic, exact verification of inference outputs of PoAI models. Every
 * delivery of a subscription that names it is recorded (`OutputVerificationRequested`) and opens a
 * dispute window; anyone may `disputeOutput` with the model's checkpoint during the window (the
 * verifier recomputes the output on chain: a wrong one settles the delivery as invalid, refunds the
 * consumer and slashes the node) or `finalizeOutput` after it (the node is paid).
 *
 * `checkOutput` recomputes a delivery off chain, bit-exact with the contract, so a watcher knows
 * whether a dispute would succeed before paying for it.
 */
import {
  bytesToHex,
  encodeFunctionData,
  keccak256,
  type Address,
  type BlockNumber,
  type BlockTag,
  type ContractEventArgs,
  type ContractEventName,
  type Hash,
  type Hex,
  type Log,
} from "viem";
import { readContract } from "viem/actions";
import { poaiVerifierAbi } from "../abi/index.js";
import { decodeInferenceInput, encodeInferenceOutput, infer, inferenceLayout } from "../compute/inference.js";
import type { PoAIContext, WriteOptions } from "../context.js";
import { PoAIInputError } from "../errors.js";
import {
  getPastContractEvents,
  parseContractLogs,
  watchContractEvents,
  type WatchOptions,
} from "../events.js";
import { sendContractTransaction, withDecodedErrors as read } from "../transaction.js";
import { checkAddress, checkUint } from "../validate.js";

/** Where a delivery's verification stands. */
export type OutputVerificationStatus = "none" | "pending" | "valid" | "invalid";
const STATUS: readonly OutputVerificationStatus[] = ["none", "pending", "valid", "invalid"];

/** The verification of one delivery: its status and, while pending, the end of its dispute window. */
export interface OutputVerificationView {
  status: OutputVerificationStatus;
  /** Chain time (seconds) when the dispute window closes; 0 unless pending. */
  deadline: bigint;
}

/** The PoAIVerifier's governance parameters. */
export interface OutputVerifierParams {
  /** Seconds after a delivery during which it can be disputed. */
  disputeWindow: number;
  /** Fraction (1e18 = 100%) of the node's stake slashed for a wrong output (capped by Staking). */
  slashFraction: bigint;
  /** Whether a proven wrong output also jails the node. */
  jail: boolean;
}

/** One delivery as the verifier recorded it (what a dispute must repeat). */
export interface DeliveryKey {
  subscriptionId: number | bigint;
  interval: number | bigint;
  node: Address;
}

/** The PoAIVerifier address of the deployment, or a `PoAIInputError` naming the missing field. */
export function poaiVerifierAddress(ctx: PoAIContext): Address {
  const address = ctx.deployment.contracts.poaiVerifier;
  if (address === undefined) {
    throw new PoAIInputError(
      "deployment.contracts.poaiVerifier",
      undefined,
      "the PoAIVerifier address (inference verification contracts)",
    );
  }
  return address;
}

function opts(o: WriteOptions): WriteOptions {
  return o.account !== undefined ? { account: o.account } : {};
}

function checkKey(args: DeliveryKey): [number, number, Address] {
  return [
    Number(checkUint("subscriptionId", args.subscriptionId, 1n, 2n ** 32n - 1n)),
    Number(checkUint("interval", args.interval, 1n, 2n ** 32n - 1n)),
    checkAddress("node", args.node),
  ];
}

function checkHex(field: string, value: unknown): Hex {
  if (typeof value !== "string" || !/^0x([0-9a-fA-F]{2})*$/.test(value)) {
    throw new PoAIInputError(field, value, "hex bytes (0x followed by an even number of hex digits)");
  }
  return value as Hex;
}

function checkBytes32(field: string, value: unknown): Hex {
  if (typeof value !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(value)) {
    throw new PoAIInputError(field, value, "32 bytes as hex (0x followed by 64 hex digits)");
  }
  return value.toLowerCase() as Hex;
}

function checkpointHex(value: unknown): Hex {
  if (value instanceof Uint8Array) {
    if (value.length === 0) throw new PoAIInputError("checkpoint", "0 bytes", "the model's checkpoint bytes");
    return bytesToHex(value);
  }
  return checkHex("checkpoint", value);
}

/**
 * Recomputes a delivery off chain exactly as a dispute does: the model's output on `input` with
 * the weights of `checkpoint` (its keccak256 must be the model's `weightsHash`, when given).
 * `correct` is whether `output` is that output. Pure.
 * @throws PoAIInputError naming the field when the checkpoint or input does not fit the model.
 */
export function checkOutput(args: {
  widths: readonly number[];
  checkpoint: Uint8Array;
  input: Hex;
  output: Hex;
  weightsHash?: Hex;
}): { correct: boolean; expected: Hex } {
  const { widths, checkpoint } = args;
  if (!(checkpoint instanceof Uint8Array))
    throw new PoAIInputError("checkpoint", checkpoint, "the model's checkpoint bytes");
  if (args.weightsHash !== undefined && keccak256(checkpoint) !== args.weightsHash.toLowerCase()) {
    throw new PoAIInputError(
      "checkpoint",
      `bytes hashing to ${keccak256(checkpoint)}`,
      `the checkpoint whose keccak256 is the model's weightsHash ${args.weightsHash}`,
    );
  }
  let layout;
  try {
    layout = inferenceLayout(widths);
  } catch (err) {
    throw new PoAIInputError("widths", widths, `the model's layer widths (${(err as Error).message})`);
  }
  const params = layout.parameterCount;
  if (checkpoint.length !== 8 + 2 * params) {
    throw new PoAIInputError(
      "checkpoint",
      `${checkpoint.length} bytes`,
      `a checkpoint of ${8 + 2 * params} bytes for widths [${widths.join(", ")}]`,
    );
  }
  const view = new DataView(checkpoint.buffer, checkpoint.byteOffset, checkpoint.byteLength);
  const weights = new Int16Array(params);
  for (let i = 0; i < params; i++) weights[i] = view.getInt16(8 + 2 * i, true);
  let expected: Hex;
  try {
    expected = encodeInferenceOutput(
      infer(widths, weights, decodeInferenceInput(checkHex("input", args.input), widths[0])),
    );
  } catch (err) {
    if (err instanceof PoAIInputError) throw err;
    throw new PoAIInputError("input", args.input, `an input the model accepts (${(err as Error).message})`);
  }
  return { correct: expected.toLowerCase() === checkHex("output", args.output).toLowerCase(), expected };
}

// =================================================================================================
// Writes
// =================================================================================================

/**
 * Disputes `node`'s delivery for (`subscriptionId`, `interval`): `containerId`, `input` and
 * `output` are what was delivered (`OutputVerificationRequested`), `checkpoint` the model's
 * checkpoint bytes. A wrong output is settled as invalid (the consumer is refunded and paid the
 * node's collateral) and the node slashed; the sender earns the finder's fee. A correct output
 * reverts with `OutputCorrect` (caught by the simulation: nothing is sent).
 */
export async function disputeOutput(
  ctx: PoAIContext,
  args: DeliveryKey & {
    containerId: Hex;
    input: Hex;
    output: Hex;
    checkpoint: Hex | Uint8Array;
  } & WriteOptions,
): Promise<Hash> {
  const [id, interval, node] = checkKey(args);
  const data = encodeFunctionData({
    abi: poaiVerifierAbi,
    functionName: "dispute",
    args: [
      id,
      interval,
      node,
      checkBytes32("containerId", args.containerId),
      checkHex("input", args.input),
      checkHex("output", args.output),
      checkpointHex(args.checkpoint),
    ],
  });
  return sendContractTransaction(ctx, {
    to: poaiVerifierAddress(ctx),
    data,
    functionName: "dispute",
    ...opts(args),
  });
}

/** Settles an undisputed delivery as valid once its dispute window has closed (the node is paid). */
export async function finalizeOutput(ctx: PoAIContext, args: DeliveryKey & WriteOptions): Promise<Hash> {
  const data = encodeFunctionData({ abi: poaiVerifierAbi, functionName: "finalize", args: checkKey(args) });
  return sendContractTransaction(ctx, {
    to: poaiVerifierAddress(ctx),
    data,
    functionName: "finalize",
    ...opts(args),
  });
}

// =================================================================================================
// Reads
// =================================================================================================

/** The verification of `node`'s delivery for (`subscriptionId`, `interval`). */
export async function getOutputVerification(
  ctx: PoAIContext,
  args: DeliveryKey & { blockNumber?: bigint },
): Promise<OutputVerificationView> {
  const key = checkKey(args);
  const address = poaiVerifierAddress(ctx);
  const [status, deadline] = await read(address, "verificationOf", () =>
    readContract(ctx.publicClient, {
      address,
      abi: poaiVerifierAbi,
      functionName: "verificationOf",
      args: key,
      ...(args.blockNumber !== undefined && { blockNumber: args.blockNumber }),
    }),
  );
  return { status: STATUS[Number(status)] ?? "none", deadline };
}

/** The verifier's dispute window, slash fraction and jail flag. */
export async function getOutputVerifierParams(ctx: PoAIContext): Promise<OutputVerifierParams> {
  const address = poaiVerifierAddress(ctx);
  const p = await read(address, "params", () =>
    readContract(ctx.publicClient, { address, abi: poaiVerifierAbi, functionName: "params" }),
  );
  return { disputeWindow: Number(p.disputeWindow), slashFraction: p.slashFraction, jail: p.jail };
}

/** The verifier's fee in `token` (`address(0)`: ETH) and whether it accepts that token. */
export async function getOutputVerifierFee(
  ctx: PoAIContext,
  args: { token: Address },
): Promise<{ fee: bigint; supported: boolean }> {
  const token = checkAddress("token", args.token);
  const address = poaiVerifierAddress(ctx);
  const [fee, supported] = await Promise.all([
    read(address, "fee", () =>
      readContract(ctx.publicClient, { address, abi: poaiVerifierAbi, functionName: "fee", args: [token] }),
    ),
    read(address, "isSupportedToken", () =>
      readContract(ctx.publicClient, {
        address,
        abi: poaiVerifierAbi,
        functionName: "isSupportedToken",
        args: [token],
      }),
    ),
  ]);
  return { fee, supported };
}

// =================================================================================================
// Events
// =================================================================================================

/** Name of a PoAIVerifier event. */
export type OutputVerifierEventName = ContractEventName<typeof poaiVerifierAbi>;

/** A decoded PoAIVerifier event log; `eventName` discriminates `args`. */
export type OutputVerifierEvent<N extends OutputVerifierEventName = OutputVerifierEventName> = {
  [K in N]: Log<bigint, number, false, undefined, true, typeof poaiVerifierAbi, K>;
}[N];

/** Decodes the PoAIVerifier events among `logs`, optionally only `eventName`. */
export function parseOutputVerifierEvents<N extends OutputVerifierEventName = OutputVerifierEventName>(
  ctx: PoAIContext,
  args: { logs: readonly Log[]; eventName?: N | readonly N[] },
): OutputVerifierEvent<N>[] {
  return parseContractLogs({
    address: poaiVerifierAddress(ctx),
    abi: poaiVerifierAbi,
    logs: args.logs,
    eventName: args.eventName,
  }) as unknown as OutputVerifierEvent<N>[];
}

/** Past PoAIVerifier events (`fromBlock` defaults to the deployment block). */
export async function getOutputVerifierEvents<N extends OutputVerifierEventName>(
  ctx: PoAIContext,
  args: {
    eventName: N;
    args?: ContractEventArgs<typeof poaiVerifierAbi, N>;
    fromBlock?: BlockNumber | BlockTag;
    toBlock?: BlockNumber | BlockTag;
  },
): Promise<OutputVerifierEvent<N>[]> {
  const logs = await getPastContractEvents(ctx, {
    address: poaiVerifierAddress(ctx),
    abi: poaiVerifierAbi,
    eventName: args.eventName,
    args: args.args as Record<string, unknown> | undefined,
    fromBlock: args.fromBlock,
    toBlock: args.toBlock,
  });
  return logs as unknown as OutputVerifierEvent<N>[];
}

/** Calls `onEvents` with new PoAIVerifier events. Returns a function that stops watching. */
export function watchOutputVerifierEvents<N extends OutputVerifierEventName = OutputVerifierEventName>(
  ctx: PoAIContext,
  args: {
    eventName?: N;
    args?: ContractEventArgs<typeof poaiVerifierAbi, N>;
    onEvents: (events: OutputVerifierEvent<N>[]) => void;
  } & WatchOptions,
): () => void {
  return watchContractEvents(ctx, {
    address: poaiVerifierAddress(ctx),
    abi: poaiVerifierAbi,
    eventName: args.eventName,
    args: args.args as Record<string, unknown> | undefined,
    onEvents: (logs) => args.onEvents(logs as unknown as OutputVerifierEvent<N>[]),
    ...(args.onError !== undefined && { onError: args.onError }),
    ...(args.pollingInterval !== undefined && { pollingInterval: args.pollingInterval }),
    ...(args.fromBlock !== undefined && { fromBlock: args.fromBlock }),
  });
}
