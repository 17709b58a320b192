/**
 * Inference marketplace actions on the Coordinator (Ritual Infernet SDK v1.1.0's interface):
 * subscriptions (direct and EIP-712 delegated), their intervals and redundancy, deliveries, the
 * Reader's batch reads, the consumers' `getContainerInputs`, and the Coordinator's events.
 *
 * Writes validate their arguments, simulate the call (a revert is decoded into a
 * `PoAIContractError` before anything is signed), send it and return the transaction hash;
 * `waitForTransaction(ctx, hash)` waits for the receipt and decodes an on-chain revert.
 *
 * A subscription's `containerId` is the keccak256 of the container id string (`"a,b"` for a
 * pipeline of containers `a` then `b`); `createSubscription` takes the string, as Infernet does.
 */
import {
  encodeAbiParameters,
  encodeFunctionData,
  keccak256,
  parseSignature,
  type Address,
  type BlockNumber,
  type BlockTag,
  type ContractEventArgs,
  type ContractEventName,
  type ContractFunctionReturnType,
  type Hash,
  type Hex,
  type Log,
} from "viem";
import { call, getBlock, readContract, signTypedData } from "viem/actions";
import { coordinatorAbi, eip712CoordinatorAbi, readerAbi } from "../abi/index.js";
import { requireSigner, senderAddress, type PoAIContext, type WriteOptions } from "../context.js";
import { PoAIInputError, toPoAIError } from "../errors.js";
import {
  getPastContractEvents,
  parseContractLogs,
  watchContractEvents,
  type WatchOptions,
} from "../events.js";
import { sendContractTransaction, withDecodedErrors as read } from "../transaction.js";
import { checkAddress, checkContainerKey, checkString, checkUint } from "../validate.js";

// --- types ------------------------------------------------------------------------------------------

/** A subscription as the Coordinator stores it. */
export type SubscriptionView = ContractFunctionReturnType<typeof coordinatorAbi, "view", "getSubscription">;

/** The most a uint32 holds: the `activeAt` of a cancelled subscription. */
export const UINT32_MAX = 2 ** 32 - 1;
const ZERO = "0x0000000000000000000000000000000000000000" as Address;

/** Where a subscription stands at chain time `now`. */
export type SubscriptionPhase = "none" | "pending" | "active" | "completed" | "cancelled";

/** PoAI's per-subscription options (`createSubscriptionWithOptions`). */
export interface SubscriptionOptionsView {
  /** Nodes commit (`commitCompute`) before revealing (`revealCompute`); plain delivery is refused. */
  commitReveal: boolean;
}

/** The arguments of `createSubscription` (Infernet v1.1.0's order). */
export interface SubscriptionRequest {
  /** The container id string (hashed on chain), e.g. `"poai-mlp-v1"`. */
  containerId: string;
  /** Intervals to serve: 1 for a one-off request. */
  frequency: number;
  /** Seconds between intervals: 0 for a one-off request (active at once). */
  period: number;
  /** Distinct nodes that may deliver each interval. */
  redundancy: number;
  /** Deliveries go to the Inbox (read later) instead of the consumer's callback. */
  lazy?: boolean;
  /** Payment token per delivery (`address(0)`: ETH); default no payment. */
  paymentToken?: Address;
  /** Payment per delivery, in the token's wei; default 0. */
  paymentAmount?: bigint;
  /** The consumer's Wallet (WalletFactory) the payment comes from; required when paying. */
  wallet?: Address;
  /** A proof verifier (an `IVerifier`, e.g. the PoAIVerifier); default none. */
  verifier?: Address;
  /**
   * Commit-reveal (PoAI's opt-in defence against output copying on redundant subscriptions):
   * created with `createSubscriptionWithOptions`. Default false (Infernet's plain delivery).
   */
  commitReveal?: boolean;
}

/** The `Subscription` struct of the EIP-712 delegated flow, fields checked. */
export interface SubscriptionStruct {
  owner: Address;
  activeAt: number;
  period: number;
  frequency: number;
  redundancy: number;
  containerId: Hex;
  lazy: boolean;
  verifier: Address;
  paymentAmount: bigint;
  paymentToken: Address;
  wallet: Address;
}

// --- plumbing ---------------------------------------------------------------------------------------

/** The Coordinator address of the deployment, or a `PoAIInputError` naming the missing field. */
export function coordinatorAddress(ctx: PoAIContext): Address {
  const address = ctx.deployment.contracts.coordinator;
  if (address === undefined) {
    throw new PoAIInputError(
      "deployment.contracts.coordinator",
      undefined,
      "the Coordinator address (this deployment has no inference contracts)",
    );
  }
  return address;
}

/** The Reader address of the deployment, or a `PoAIInputError` naming the missing field. */
export function readerAddress(ctx: PoAIContext): Address {
  const address = ctx.deployment.contracts.reader;
  if (address === undefined) {
    throw new PoAIInputError(
      "deployment.contracts.reader",
      undefined,
      "the Reader address (inference contracts)",
    );
  }
  return address;
}

function opts(o: WriteOptions): WriteOptions {
  return o.account !== undefined ? { account: o.account } : {};
}

function u32(field: string, value: unknown, min = 0n): number {
  return Number(checkUint(field, value, min, BigInt(UINT32_MAX)));
}

function u16(field: string, value: unknown, min = 0n): number {
  return Number(checkUint(field, value, min, 65_535n));
}

function optionalAddress(field: string, value: unknown): Address {
  return value === undefined || (typeof value === "string" && value.toLowerCase() === ZERO)
    ? ZERO
    : checkAddress(field, value);
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

/** A subscription's `containerId`: `keccak256(abi.encode(id))` of the container id string (Infernet's). */
export function containerIdOf(containerId: string): Hex {
  const id = checkString("containerId", containerId);
  if (id === "") throw new PoAIInputError("containerId", containerId, "a non-empty container id");
  return keccak256(encodeAbiParameters([{ type: "string" }], [id]));
}

/** The Coordinator's key of an interval: `keccak256(abi.encode(subscriptionId, interval))` (Infernet's). Pure. */
export function intervalKey(subscriptionId: number, interval: number): Hex {
  return keccak256(encodeAbiParameters([{ type: "uint32" }, { type: "uint32" }], [subscriptionId, interval]));
}

/** The Coordinator's key of a node's delivery: `keccak256(abi.encode(subscriptionId, interval, node))` (Infernet's). Pure. */
export function nodeKey(subscriptionId: number, interval: number, node: Address): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: "uint32" }, { type: "uint32" }, { type: "address" }],
      [subscriptionId, interval, node],
    ),
  );
}

/**
 * The commitment a node sends with `commitCompute` before revealing `output` (commit-reveal subscriptions):
 * `keccak256(abi.encode(subscriptionId, interval, node, keccak256(output), salt))`, as the
 * Coordinator's `computeCommitment`. Pure.
 */
export function computeCommitment(args: {
  subscriptionId: number;
  interval: number;
  node: Address;
  output: Hex;
  salt: Hex;
}): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: "uint32" }, { type: "uint32" }, { type: "address" }, { type: "bytes32" }, { type: "bytes32" }],
      [
        args.subscriptionId,
        args.interval,
        args.node,
        keccak256(checkHex("output", args.output)),
        checkBytes32("salt", args.salt),
      ],
    ),
  );
}

/**
 * The interval a subscription is in at chain time `now` (Infernet's `getSubscriptionInterval`):
 * 0 before `activeAt`, 1 for a one-off subscription (period 0) once active, else
 * `(now - activeAt) / period + 1`. Pure.
 */
export function intervalAt(subscription: Pick<SubscriptionView, "activeAt" | "period">, now: bigint): number {
  const activeAt = BigInt(subscription.activeAt);
  if (now < activeAt) return 0;
  if (subscription.period === 0) return 1;
  const interval = (now - activeAt) / BigInt(subscription.period) + 1n;
  return interval > BigInt(UINT32_MAX) ? UINT32_MAX : Number(interval);
}

/** Where a subscription stands at chain time `now`. Pure. */
export function subscriptionPhase(
  subscription: Pick<SubscriptionView, "owner" | "activeAt" | "period" | "frequency">,
  now: bigint,
): SubscriptionPhase {
  if (subscription.owner.toLowerCase() === ZERO) return "none";
  if (subscription.activeAt === UINT32_MAX) return "cancelled";
  if (now < BigInt(subscription.activeAt)) return "pending";
  return intervalAt(subscription, now) > subscription.frequency ? "completed" : "active";
}

// =================================================================================================
// Writes
// =================================================================================================

/**
 * Creates a subscription owned by the sender (Infernet's `createSubscription`, or
 * `createSubscriptionWithOptions` with `commitReveal`). The owner receives the deliveries (its
 * callback; an account without code is delivered nothing but the event and, when lazy, the Inbox
 * item), so the sender is normally a consumer contract; dApps usually call their consumer's own
 * request function instead. Returns the transaction hash; the new id is in the receipt's
 * `SubscriptionCreated` event (`subscriptionIdFromLogs`).
 */
export async function createSubscription(
  ctx: PoAIContext,
  args: SubscriptionRequest & WriteOptions,
): Promise<Hash> {
  const r = checkSubscriptionRequest(args);
  const fields = [
    r.containerId,
    r.frequency,
    r.period,
    r.redundancy,
    r.lazy,
    r.paymentToken,
    r.paymentAmount,
    r.wallet,
    r.verifier,
  ] as const;
  const data = r.commitReveal
    ? encodeFunctionData({
        abi: coordinatorAbi,
        functionName: "createSubscriptionWithOptions",
        args: [...fields, { commitReveal: true }],
      })
    : encodeFunctionData({ abi: coordinatorAbi, functionName: "createSubscription", args: fields });
  return sendContractTransaction(ctx, {
    to: coordinatorAddress(ctx),
    data,
    functionName: r.commitReveal ? "createSubscriptionWithOptions" : "createSubscription",
    ...opts(args),
  });
}

function checkSubscriptionRequest(args: SubscriptionRequest) {
  const containerId = checkString("containerId", args.containerId);
  if (containerId === "")
    throw new PoAIInputError("containerId", args.containerId, "a non-empty container id");
  const frequency = u32("frequency", args.frequency, 1n);
  const period = u32("period", args.period);
  if (frequency > 1 && period === 0) {
    throw new PoAIInputError(
      "period",
      args.period,
      "a period > 0 for a recurring subscription (frequency > 1)",
    );
  }
  const redundancy = u16("redundancy", args.redundancy, 1n);
  const lazy = args.lazy ?? false;
  if (typeof lazy !== "boolean") throw new PoAIInputError("lazy", args.lazy, "a boolean");
  const paymentAmount = args.paymentAmount ?? 0n;
  if (typeof paymentAmount !== "bigint" || paymentAmount < 0n || paymentAmount >= 2n ** 96n) {
    throw new PoAIInputError(
      "paymentAmount",
      args.paymentAmount,
      "a bigint amount in token wei, 0 to 2^96 - 1",
    );
  }
  const paymentToken = optionalAddress("paymentToken", args.paymentToken);
  const wallet = optionalAddress("wallet", args.wallet);
  if (paymentAmount > 0n && wallet === ZERO) {
    throw new PoAIInputError(
      "wallet",
      args.wallet,
      "the consumer's Wallet (WalletFactory) that pays the deliveries",
    );
  }
  const verifier = optionalAddress("verifier", args.verifier);
  const commitReveal = args.commitReveal ?? false;
  if (typeof commitReveal !== "boolean")
    throw new PoAIInputError("commitReveal", args.commitReveal, "a boolean");
  return {
    containerId,
    frequency,
    period,
    redundancy,
    lazy,
    paymentToken,
    paymentAmount,
    wallet,
    verifier,
    commitReveal,
  };
}

/** Cancels subscription `subscriptionId` (only its owner may); no further interval is served. */
export async function cancelSubscription(
  ctx: PoAIContext,
  args: { subscriptionId: number | bigint } & WriteOptions,
): Promise<Hash> {
  const id = u32("subscriptionId", args.subscriptionId, 1n);
  const data = encodeFunctionData({ abi: coordinatorAbi, functionName: "cancelSubscription", args: [id] });
  return sendContractTransaction(ctx, {
    to: coordinatorAddress(ctx),
    data,
    functionName: "cancelSubscription",
    ...opts(args),
  });
}

/** The arguments of `deliverCompute`. */
export interface DeliveryArgs {
  subscriptionId: number | bigint;
  /** The interval delivered: the subscription's current one. */
  interval: number | bigint;
  input: Hex;
  output: Hex;
  proof?: Hex;
  /** The node's payment Wallet; default `address(0)` (free subscriptions only). */
  nodeWallet?: Address;
}

function deliveryData(args: DeliveryArgs): Hex {
  const id = u32("subscriptionId", args.subscriptionId, 1n);
  const interval = u32("interval", args.interval, 1n);
  const input = checkHex("input", args.input);
  const output = checkHex("output", args.output);
  const proof = checkHex("proof", args.proof ?? "0x");
  const nodeWallet = optionalAddress("nodeWallet", args.nodeWallet);
  return encodeFunctionData({
    abi: coordinatorAbi,
    functionName: "deliverCompute",
    args: [id, interval, input, output, proof, nodeWallet],
  });
}

/** Delivers a container's output for the current interval (the sender is the node). */
export async function deliverCompute(ctx: PoAIContext, args: DeliveryArgs & WriteOptions): Promise<Hash> {
  const data = deliveryData(args);
  return sendContractTransaction(ctx, {
    to: coordinatorAddress(ctx),
    data,
    functionName: "deliverCompute",
    ...opts(args),
  });
}

/**
 * Simulates `deliverCompute` from `node` (eth_call) at the latest block. Resolves when the delivery
 * would land; throws the decoded `PoAIContractError` when it would revert.
 */
export async function simulateDeliverCompute(
  ctx: PoAIContext,
  args: DeliveryArgs & { node: Address; gas?: bigint },
): Promise<void> {
  const data = deliveryData(args);
  const node = checkAddress("node", args.node);
  const to = coordinatorAddress(ctx);
  try {
    await call(ctx.publicClient, {
      account: node,
      to,
      data,
      ...(args.gas !== undefined && { gas: args.gas }),
    });
  } catch (err) {
    throw toPoAIError(err, { contractAddress: to, functionName: "deliverCompute" });
  }
}

// --- EIP-712 delegated subscriptions --------------------------------------------------------------

/** The EIP-712 domain of the EIP712Coordinator (Infernet's: name `InfernetCoordinator`, version `1`). */
export const COORDINATOR_EIP712_NAME = "InfernetCoordinator";
export const COORDINATOR_EIP712_VERSION = "1";

/** The EIP-712 types of a delegated subscription. */
export const DELEGATEE_SUBSCRIPTION_TYPES = {
  DelegateSubscription: [
    { name: "nonce", type: "uint32" },
    { name: "expiry", type: "uint32" },
    { name: "sub", type: "Subscription" },
  ],
  Subscription: [
    { name: "owner", type: "address" },
    { name: "activeAt", type: "uint32" },
    { name: "period", type: "uint32" },
    { name: "frequency", type: "uint32" },
    { name: "redundancy", type: "uint16" },
    { name: "containerId", type: "bytes32" },
    { name: "lazy", type: "bool" },
    { name: "verifier", type: "address" },
    { name: "paymentAmount", type: "uint256" },
    { name: "paymentToken", type: "address" },
    { name: "wallet", type: "address" },
  ],
} as const;

/** Checks a `Subscription` struct for the delegated flow. */
export function checkSubscriptionStruct(field: string, s: unknown): SubscriptionStruct {
  if (typeof s !== "object" || s === null) throw new PoAIInputError(field, s, "a Subscription struct");
  const v = s as Record<string, unknown>;
  const paymentAmount = v.paymentAmount ?? 0n;
  if (typeof paymentAmount !== "bigint" || paymentAmount < 0n || paymentAmount >= 2n ** 256n) {
    throw new PoAIInputError(`${field}.paymentAmount`, v.paymentAmount, "a bigint amount >= 0");
  }
  const lazy = v.lazy ?? false;
  if (typeof lazy !== "boolean") throw new PoAIInputError(`${field}.lazy`, v.lazy, "a boolean");
  return {
    owner: checkAddress(`${field}.owner`, v.owner),
    activeAt: u32(`${field}.activeAt`, v.activeAt),
    period: u32(`${field}.period`, v.period),
    frequency: u32(`${field}.frequency`, v.frequency, 1n),
    redundancy: u16(`${field}.redundancy`, v.redundancy, 1n),
    containerId: checkBytes32(`${field}.containerId`, v.containerId),
    lazy,
    verifier: optionalAddress(`${field}.verifier`, v.verifier),
    paymentAmount,
    paymentToken: optionalAddress(`${field}.paymentToken`, v.paymentToken),
    wallet: optionalAddress(`${field}.wallet`, v.wallet),
  };
}

/** The typed data a consumer's delegated signer signs (`signTypedData` input). Pure but for the chain id. */
export function delegatedSubscriptionTypedData(
  ctx: PoAIContext,
  args: { nonce: number | bigint; expiry: number | bigint; subscription: SubscriptionStruct },
) {
  return {
    domain: {
      name: COORDINATOR_EIP712_NAME,
      version: COORDINATOR_EIP712_VERSION,
      chainId: ctx.deployment.chainId,
      verifyingContract: coordinatorAddress(ctx),
    },
    types: DELEGATEE_SUBSCRIPTION_TYPES,
    primaryType: "DelegateSubscription" as const,
    message: {
      nonce: u32("nonce", args.nonce),
      expiry: u32("expiry", args.expiry),
      sub: checkSubscriptionStruct("subscription", args.subscription),
    },
  };
}

/** A signed delegated subscription, ready for `createSubscriptionDelegatee` / `deliverComputeDelegatee`. */
export interface SignedSubscription {
  nonce: number;
  expiry: number;
  subscription: SubscriptionStruct;
  signature: Hex;
  v: number;
  r: Hex;
  s: Hex;
}

/**
 * Signs a delegated subscription with the wallet client (the consumer's delegated signer, as its
 * `getSigner()` names it). `expiry` defaults to one hour of chain time.
 */
export async function signSubscription(
  ctx: PoAIContext,
  args: { nonce: number | bigint; expiry?: number | bigint; subscription: SubscriptionStruct } & WriteOptions,
): Promise<SignedSubscription> {
  const { wallet, account } = requireSigner(ctx, "signSubscription", args.account);
  const expiry =
    args.expiry ?? Number((await getBlock(ctx.publicClient, { blockTag: "latest" })).timestamp) + 3600;
  const typed = delegatedSubscriptionTypedData(ctx, {
    nonce: args.nonce,
    expiry,
    subscription: args.subscription,
  });
  const signature = await signTypedData(wallet, { account, ...typed });
  const { r, s, v, yParity } = parseSignature(signature);
  return {
    nonce: typed.message.nonce,
    expiry: typed.message.expiry,
    subscription: typed.message.sub,
    signature,
    v: Number(v ?? BigInt(yParity + 27)),
    r,
    s,
  };
}

function eip712Address(ctx: PoAIContext): Address {
  return ctx.deployment.contracts.eip712Coordinator ?? coordinatorAddress(ctx);
}

/** Creates a delegated subscription on chain from its signature (anyone may send it). */
export async function createSubscriptionDelegatee(
  ctx: PoAIContext,
  args: { signed: SignedSubscription } & WriteOptions,
): Promise<Hash> {
  const sg = args.signed;
  const sub = checkSubscriptionStruct("signed.subscription", sg?.subscription);
  const data = encodeFunctionData({
    abi: eip712CoordinatorAbi,
    functionName: "createSubscriptionDelegatee",
    args: [u32("signed.nonce", sg.nonce), u32("signed.expiry", sg.expiry), sub, sg.v, sg.r, sg.s],
  });
  return sendContractTransaction(ctx, {
    to: eip712Address(ctx),
    data,
    functionName: "createSubscriptionDelegatee",
    ...opts(args),
  });
}

/** Creates (if needed) a delegated subscription and delivers its first output in one transaction (the sender is the node). */
export async function deliverComputeDelegatee(
  ctx: PoAIContext,
  args: { signed: SignedSubscription } & Omit<DeliveryArgs, "subscriptionId"> & WriteOptions,
): Promise<Hash> {
  const sg = args.signed;
  const sub = checkSubscriptionStruct("signed.subscription", sg?.subscription);
  const data = encodeFunctionData({
    abi: eip712CoordinatorAbi,
    functionName: "deliverComputeDelegatee",
    args: [
      u32("signed.nonce", sg.nonce),
      u32("signed.expiry", sg.expiry),
      sub,
      sg.v,
      sg.r,
      sg.s,
      u32("interval", args.interval, 1n),
      checkHex("input", args.input),
      checkHex("output", args.output),
      checkHex("proof", args.proof ?? "0x"),
      optionalAddress("nodeWallet", args.nodeWallet),
    ],
  });
  return sendContractTransaction(ctx, {
    to: eip712Address(ctx),
    data,
    functionName: "deliverComputeDelegatee",
    ...opts(args),
  });
}

// --- commit and reveal (subscriptions created with `commitReveal`) ---------------------------------

/**
 * Commits to an output of (`subscriptionId`, `interval`) of a commit-reveal subscription
 * (`commitment` from `computeCommitment`; never 0, 1 or 2). Keep the salt: without it the output
 * cannot be revealed.
 */
export async function commitCompute(
  ctx: PoAIContext,
  args: { subscriptionId: number | bigint; interval: number | bigint; commitment: Hex } & WriteOptions,
): Promise<Hash> {
  const data = encodeFunctionData({
    abi: coordinatorAbi,
    functionName: "commitCompute",
    args: [
      u32("subscriptionId", args.subscriptionId, 1n),
      u32("interval", args.interval, 1n),
      checkBytes32("commitment", args.commitment),
    ],
  });
  return sendContractTransaction(ctx, {
    to: coordinatorAddress(ctx),
    data,
    functionName: "commitCompute",
    ...opts(args),
  });
}

function revealData(args: DeliveryArgs & { salt: Hex }): Hex {
  return encodeFunctionData({
    abi: coordinatorAbi,
    functionName: "revealCompute",
    args: [
      u32("subscriptionId", args.subscriptionId, 1n),
      u32("interval", args.interval, 1n),
      checkHex("input", args.input),
      checkHex("output", args.output),
      checkHex("proof", args.proof ?? "0x"),
      optionalAddress("nodeWallet", args.nodeWallet),
      checkBytes32("salt", args.salt),
    ],
  });
}

/** Reveals and delivers a committed output once the interval's reveals are open. */
export async function revealCompute(
  ctx: PoAIContext,
  args: DeliveryArgs & { salt: Hex } & WriteOptions,
): Promise<Hash> {
  return sendContractTransaction(ctx, {
    to: coordinatorAddress(ctx),
    data: revealData(args),
    functionName: "revealCompute",
    ...opts(args),
  });
}

/** Simulates `revealCompute` (or, without `salt`, `commitCompute` of `commitment`) from `node`; throws the decoded revert. */
export async function simulateCommitOrReveal(
  ctx: PoAIContext,
  args:
    | (DeliveryArgs & { salt: Hex; node: Address })
    | { subscriptionId: number | bigint; interval: number | bigint; commitment: Hex; node: Address },
): Promise<void> {
  const node = checkAddress("node", args.node);
  const to = coordinatorAddress(ctx);
  const data =
    "salt" in args
      ? revealData(args)
      : encodeFunctionData({
          abi: coordinatorAbi,
          functionName: "commitCompute",
          args: [
            u32("subscriptionId", args.subscriptionId, 1n),
            u32("interval", args.interval, 1n),
            checkBytes32("commitment", args.commitment),
          ],
        });
  try {
    await call(ctx.publicClient, { account: node, to, data });
  } catch (err) {
    throw toPoAIError(err, {
      contractAddress: to,
      functionName: "salt" in args ? "revealCompute" : "commitCompute",
    });
  }
}

/** The commit-reveal state of (`subscriptionId`, `interval`): deliveries, commitments, when reveals open. */
export async function getIntervalState(
  ctx: PoAIContext,
  args: { subscriptionId: number | bigint; interval: number | bigint },
): Promise<ContractFunctionReturnType<typeof coordinatorAbi, "view", "intervalState">> {
  const id = u32("subscriptionId", args.subscriptionId, 1n);
  const interval = u32("interval", args.interval, 1n);
  const address = coordinatorAddress(ctx);
  return read(address, "intervalState", () =>
    readContract(ctx.publicClient, {
      address,
      abi: coordinatorAbi,
      functionName: "intervalState",
      args: [id, interval],
    }),
  );
}

/**
 * What `node` holds for (`subscriptionId`, `interval`): 0 (nothing), its commitment (committed, not
 * revealed) or `keccak256(output)` of the output it delivered.
 */
export async function getCommitment(
  ctx: PoAIContext,
  args: { subscriptionId: number | bigint; interval: number | bigint; node: Address },
): Promise<Hex> {
  const id = u32("subscriptionId", args.subscriptionId, 1n);
  const interval = u32("interval", args.interval, 1n);
  const node = checkAddress("node", args.node);
  const address = coordinatorAddress(ctx);
  return read(address, "markOf", () =>
    readContract(ctx.publicClient, {
      address,
      abi: coordinatorAbi,
      functionName: "markOf",
      args: [id, interval, node],
    }),
  );
}

/** The PoAI options subscription `subscriptionId` was created with (commit-reveal or not). */
export async function getSubscriptionOptions(
  ctx: PoAIContext,
  args: { subscriptionId: number | bigint },
): Promise<SubscriptionOptionsView> {
  const id = u32("subscriptionId", args.subscriptionId, 1n);
  const address = coordinatorAddress(ctx);
  return read(address, "getSubscriptionOptions", () =>
    readContract(ctx.publicClient, {
      address,
      abi: coordinatorAbi,
      functionName: "getSubscriptionOptions",
      args: [id],
    }),
  );
}

// --- escrow and usage fees --------------------------------------------------------------------------

/** The payment the Coordinator holds for subscription `subscriptionId` (up to one interval's payments). */
export async function getEscrow(
  ctx: PoAIContext,
  args: { subscriptionId: number | bigint },
): Promise<bigint> {
  const id = u32("subscriptionId", args.subscriptionId, 1n);
  const address = coordinatorAddress(ctx);
  return read(address, "escrowOf", () =>
    readContract(ctx.publicClient, { address, abi: coordinatorAbi, functionName: "escrowOf", args: [id] }),
  );
}

/** Moves a paid subscription's escrow back up to one interval's payments from its wallet, out of its owner's allowance. */
export async function fundEscrow(
  ctx: PoAIContext,
  args: { subscriptionId: number | bigint } & WriteOptions,
): Promise<Hash> {
  const data = encodeFunctionData({
    abi: coordinatorAbi,
    functionName: "fundEscrow",
    args: [u32("subscriptionId", args.subscriptionId, 1n)],
  });
  return sendContractTransaction(ctx, {
    to: coordinatorAddress(ctx),
    data,
    functionName: "fundEscrow",
    ...opts(args),
  });
}

/** A container id string or its bytes32 hash (a truncated hash is refused), as the hash. */
function checkContainerId(field: string, value: unknown): Hex {
  return checkContainerKey(field, value) ?? containerIdOf(checkString(field, value));
}

/**
 * Forwards the staking-token usage fees `node` accrued serving `containerId` (the id string or its
 * bytes32 hash) to the RewardDistributor, with the royalty recipient the ModelRegistry names now.
 */
export async function flushUsageFees(
  ctx: PoAIContext,
  args: { node: Address; containerId: string | Hex } & WriteOptions,
): Promise<Hash> {
  const data = encodeFunctionData({
    abi: coordinatorAbi,
    functionName: "flushUsageFees",
    args: [checkAddress("node", args.node), checkContainerId("containerId", args.containerId)],
  });
  return sendContractTransaction(ctx, {
    to: coordinatorAddress(ctx),
    data,
    functionName: "flushUsageFees",
    ...opts(args),
  });
}

/** A node's use of one model: its latest epoch of accepted deliveries, their count, unflushed fees. */
export interface UsageView {
  /** The epoch of the node's latest accepted delivery of the model. */
  epoch: bigint;
  /** Accepted deliveries (no verifier, or verified valid) in `epoch`. */
  deliveries: bigint;
  /** Staking-token usage fees (after the protocol fee) waiting for `flushUsageFees`, in wei. */
  pendingFees: bigint;
}

/** The staking epoch at the latest block, as the Coordinator counts usage (`currentEpoch`). */
export async function getUsageEpoch(ctx: PoAIContext): Promise<bigint> {
  const address = coordinatorAddress(ctx);
  return read(address, "currentEpoch", () =>
    readContract(ctx.publicClient, { address, abi: coordinatorAbi, functionName: "currentEpoch" }),
  );
}

/**
 * `node`'s use of model `containerId` (the id string or its bytes32 hash): the Coordinator keeps one
 * record per (node, model) with the latest epoch's deliveries and the unflushed fees. Earlier
 * epochs: count `SubscriptionFulfilled` / `ProofVerified` events.
 */
export async function getUsage(
  ctx: PoAIContext,
  args: { node: Address; containerId: string | Hex; blockNumber?: bigint },
): Promise<UsageView> {
  const node = checkAddress("node", args.node);
  const containerId = checkContainerId("containerId", args.containerId);
  const address = coordinatorAddress(ctx);
  const u = await read(address, "usageOf", () =>
    readContract(ctx.publicClient, {
      address,
      abi: coordinatorAbi,
      functionName: "usageOf",
      args: [node, containerId],
      ...(args.blockNumber !== undefined && { blockNumber: args.blockNumber }),
    }),
  );
  return { epoch: BigInt(u.epoch), deliveries: BigInt(u.deliveries), pendingFees: u.pendingFees };
}

/** Staking-token usage fees `node` accrued serving `containerId`, waiting for `flushUsageFees`. */
export async function getPendingUsageFees(
  ctx: PoAIContext,
  args: { node: Address; containerId: string | Hex },
): Promise<bigint> {
  return (await getUsage(ctx, args)).pendingFees;
}

/** A delivery waiting for its verifier: expiry, the node's collateral wallet, the held payment. */
export interface ProofRequestView {
  expiry: number;
  nodeWallet: Address;
  consumerEscrowed: bigint;
}

/** The pending verification of `node`'s delivery (Infernet's `proofRequests`; zeros if none). */
export async function getProofRequest(
  ctx: PoAIContext,
  args: { subscriptionId: number | bigint; interval: number | bigint; node: Address },
): Promise<ProofRequestView> {
  const id = u32("subscriptionId", args.subscriptionId, 1n);
  const interval = u32("interval", args.interval, 1n);
  const node = checkAddress("node", args.node);
  const address = coordinatorAddress(ctx);
  const [expiry, nodeWallet, consumerEscrowed] = await read(address, "proofRequests", () =>
    readContract(ctx.publicClient, {
      address,
      abi: coordinatorAbi,
      functionName: "proofRequests",
      args: [nodeKey(id, interval, node)],
    }),
  );
  return { expiry, nodeWallet, consumerEscrowed };
}

// =================================================================================================
// Reads
// =================================================================================================

/** Subscription `subscriptionId` (an unknown id reads as the zero struct: `owner == address(0)`). */
export async function getSubscription(
  ctx: PoAIContext,
  args: { subscriptionId: number | bigint; blockNumber?: bigint },
): Promise<SubscriptionView> {
  const id = u32("subscriptionId", args.subscriptionId);
  const address = coordinatorAddress(ctx);
  return read(address, "getSubscription", () =>
    readContract(ctx.publicClient, {
      address,
      abi: coordinatorAbi,
      functionName: "getSubscription",
      args: [id],
      ...(args.blockNumber !== undefined && { blockNumber: args.blockNumber }),
    }),
  );
}

/** Subscriptions created so far (ids run from 1 to this count). */
export async function getSubscriptionCount(
  ctx: PoAIContext,
  args: { blockNumber?: bigint } = {},
): Promise<number> {
  const address = coordinatorAddress(ctx);
  const next = await read(address, "id", () =>
    readContract(ctx.publicClient, {
      address,
      abi: coordinatorAbi,
      functionName: "id",
      ...(args.blockNumber !== undefined && { blockNumber: args.blockNumber }),
    }),
  );
  return Number(next) - 1;
}

/** The interval subscription `subscriptionId` is in now (0 before it is active), and its phase. */
export async function getCurrentInterval(
  ctx: PoAIContext,
  args: { subscriptionId: number | bigint },
): Promise<{ interval: number; phase: SubscriptionPhase; now: bigint }> {
  const [subscription, block] = await Promise.all([
    getSubscription(ctx, args),
    getBlock(ctx.publicClient, { blockTag: "latest" }),
  ]);
  return {
    interval: intervalAt(subscription, block.timestamp),
    phase: subscriptionPhase(subscription, block.timestamp),
    now: block.timestamp,
  };
}

/** Deliveries counted so far for (`subscriptionId`, `interval`). */
export async function getRedundancyCount(
  ctx: PoAIContext,
  args: { subscriptionId: number | bigint; interval: number | bigint },
): Promise<number> {
  const id = u32("subscriptionId", args.subscriptionId, 1n);
  const interval = u32("interval", args.interval, 1n);
  const address = coordinatorAddress(ctx);
  const count = await read(address, "redundancyCount", () =>
    readContract(ctx.publicClient, {
      address,
      abi: coordinatorAbi,
      functionName: "redundancyCount",
      args: [intervalKey(id, interval)],
    }),
  );
  return Number(count);
}

/** Whether `node` delivered (or, commit-reveal, committed) for (`subscriptionId`, `interval`). */
export async function hasNodeResponded(
  ctx: PoAIContext,
  args: { subscriptionId: number | bigint; interval: number | bigint; node: Address },
): Promise<boolean> {
  const id = u32("subscriptionId", args.subscriptionId, 1n);
  const interval = u32("interval", args.interval, 1n);
  const node = checkAddress("node", args.node);
  const address = coordinatorAddress(ctx);
  return read(address, "nodeResponded", () =>
    readContract(ctx.publicClient, {
      address,
      abi: coordinatorAbi,
      functionName: "nodeResponded",
      args: [nodeKey(id, interval, node)],
    }),
  );
}

/** Subscriptions `startId` (inclusive) to `endId` (exclusive) in one call, through the Reader. */
export async function readSubscriptions(
  ctx: PoAIContext,
  args: { startId: number | bigint; endId: number | bigint; blockNumber?: bigint },
): Promise<(SubscriptionView & { id: number })[]> {
  const startId = u32("startId", args.startId, 1n);
  const endId = u32("endId", args.endId, BigInt(startId));
  const address = readerAddress(ctx);
  const subs = await read(address, "readSubscriptionBatch", () =>
    readContract(ctx.publicClient, {
      address,
      abi: readerAbi,
      functionName: "readSubscriptionBatch",
      args: [startId, endId],
      ...(args.blockNumber !== undefined && { blockNumber: args.blockNumber }),
    }),
  );
  return subs.map((s, i) => ({ ...(s as SubscriptionView), id: startId + i }));
}

/** Redundancy counts of (`ids[i]`, `intervals[i]`) in one call, through the Reader. */
export async function readRedundancyCounts(
  ctx: PoAIContext,
  args: { ids: readonly (number | bigint)[]; intervals: readonly (number | bigint)[]; blockNumber?: bigint },
): Promise<number[]> {
  if (!Array.isArray(args.ids)) throw new PoAIInputError("ids", args.ids, "an array of subscription ids");
  if (!Array.isArray(args.intervals) || args.intervals.length !== args.ids.length) {
    throw new PoAIInputError(
      "intervals",
      args.intervals,
      `an array of ${args.ids.length} intervals (one per id)`,
    );
  }
  const ids = args.ids.map((v, i) => u32(`ids[${i}]`, v, 1n));
  const intervals = args.intervals.map((v, i) => u32(`intervals[${i}]`, v, 1n));
  const address = readerAddress(ctx);
  const counts = await read(address, "readRedundancyCountBatch", () =>
    readContract(ctx.publicClient, {
      address,
      abi: readerAbi,
      functionName: "readRedundancyCountBatch",
      args: [ids, intervals],
      ...(args.blockNumber !== undefined && { blockNumber: args.blockNumber }),
    }),
  );
  return counts.map(Number);
}

const getContainerInputsAbi = [
  {
    type: "function",
    name: "getContainerInputs",
    stateMutability: "view",
    inputs: [
      { name: "subscriptionId", type: "uint32" },
      { name: "interval", type: "uint32" },
      { name: "timestamp", type: "uint32" },
      { name: "caller", type: "address" },
    ],
    outputs: [{ name: "", type: "bytes" }],
  },
] as const;

/**
 * The inputs a consumer contract gives its subscription's container for one interval (Infernet's
 * `SubscriptionConsumer.getContainerInputs`). `timestamp` defaults to the latest block's.
 */
export async function getContainerInputs(
  ctx: PoAIContext,
  args: {
    consumer: Address;
    subscriptionId: number | bigint;
    interval: number | bigint;
    timestamp?: number | bigint;
    caller: Address;
  },
): Promise<Hex> {
  const consumer = checkAddress("consumer", args.consumer);
  const id = u32("subscriptionId", args.subscriptionId, 1n);
  const interval = u32("interval", args.interval, 1n);
  const caller = checkAddress("caller", args.caller);
  const timestamp =
    args.timestamp === undefined
      ? Number((await getBlock(ctx.publicClient, { blockTag: "latest" })).timestamp)
      : u32("timestamp", args.timestamp);
  return read(consumer, "getContainerInputs", () =>
    readContract(ctx.publicClient, {
      address: consumer,
      abi: getContainerInputsAbi,
      functionName: "getContainerInputs",
      args: [id, interval, timestamp, caller],
    }),
  );
}

// =================================================================================================
// Events
// =================================================================================================

/** Name of a Coordinator event. */
export type CoordinatorEventName = ContractEventName<typeof coordinatorAbi>;

/** A decoded Coordinator event log; `eventName` discriminates `args`. */
export type CoordinatorEvent<N extends CoordinatorEventName = CoordinatorEventName> = {
  [K in N]: Log<bigint, number, false, undefined, true, typeof coordinatorAbi, K>;
}[N];

export type CoordinatorEventFilter<N extends CoordinatorEventName> = ContractEventArgs<
  typeof coordinatorAbi,
  N
>;

/** Decodes the Coordinator events among `logs`, optionally only `eventName`. */
export function parseCoordinatorEvents<N extends CoordinatorEventName = CoordinatorEventName>(
  ctx: PoAIContext,
  args: { logs: readonly Log[]; eventName?: N | readonly N[] },
): CoordinatorEvent<N>[] {
  return parseContractLogs({
    address: coordinatorAddress(ctx),
    abi: coordinatorAbi,
    logs: args.logs,
    eventName: args.eventName,
  }) as unknown as CoordinatorEvent<N>[];
}

/** The id of the subscription a receipt created (its `SubscriptionCreated` event). */
export function subscriptionIdFromLogs(ctx: PoAIContext, args: { logs: readonly Log[] }): number {
  const created = parseCoordinatorEvents(ctx, { logs: args.logs, eventName: "SubscriptionCreated" });
  if (created.length === 0)
    throw new PoAIInputError("logs", `${args.logs.length} logs`, "a SubscriptionCreated event");
  return Number((created[0]!.args as { id: number | bigint }).id);
}

/** Past Coordinator events (`fromBlock` defaults to the deployment block). */
export async function getCoordinatorEvents<N extends CoordinatorEventName>(
  ctx: PoAIContext,
  args: {
    eventName: N;
    args?: CoordinatorEventFilter<N>;
    fromBlock?: BlockNumber | BlockTag;
    toBlock?: BlockNumber | BlockTag;
  },
): Promise<CoordinatorEvent<N>[]> {
  const logs = await getPastContractEvents(ctx, {
    address: coordinatorAddress(ctx),
    abi: coordinatorAbi,
    eventName: args.eventName,
    args: args.args as Record<string, unknown> | undefined,
    fromBlock: args.fromBlock,
    toBlock: args.toBlock,
  });
  return logs as unknown as CoordinatorEvent<N>[];
}

/** Calls `onEvents` with new Coordinator events. Returns a function that stops watching. */
export function watchCoordinatorEvents<N extends CoordinatorEventName = CoordinatorEventName>(
  ctx: PoAIContext,
  args: {
    eventName?: N;
    args?: CoordinatorEventFilter<N>;
    onEvents: (events: CoordinatorEvent<N>[]) => void;
  } & WatchOptions,
): () => void {
  return watchContractEvents(ctx, {
    address: coordinatorAddress(ctx),
    abi: coordinatorAbi,
    eventName: args.eventName,
    args: args.args as Record<string, unknown> | undefined,
    onEvents: (logs) => args.onEvents(logs as unknown as CoordinatorEvent<N>[]),
    ...watchOptions(args),
  });
}

/** Watches deliveries (`SubscriptionFulfilled`), optionally of one subscription and/or one node. */
export function watchDeliveries(
  ctx: PoAIContext,
  args: {
    subscriptionId?: number | bigint;
    node?: Address;
    onDelivery: (event: CoordinatorEvent<"SubscriptionFulfilled">) => void;
  } & WatchOptions,
): () => void {
  const filter = {
    ...(args.subscriptionId !== undefined && { id: u32("subscriptionId", args.subscriptionId, 1n) }),
    ...(args.node !== undefined && { node: checkAddress("node", args.node) }),
  };
  return watchCoordinatorEvents(ctx, {
    eventName: "SubscriptionFulfilled",
    args: filter as CoordinatorEventFilter<"SubscriptionFulfilled">,
    onEvents: (events) => events.forEach((e) => args.onDelivery(e)),
    ...watchOptions(args),
  });
}

function watchOptions(o: WatchOptions): WatchOptions {
  return {
    ...(o.onError !== undefined && { onError: o.onError }),
    ...(o.pollingInterval !== undefined && { pollingInterval: o.pollingInterval }),
    ...(o.fromBlock !== undefined && { fromBlock: o.fromBlock }),
  };
}

/** The sender of a write (for helpers that need it). */
export function senderOf(ctx: PoAIContext, action: string, options: WriteOptions = {}): Address {
  return senderAddress(requireSigner(ctx, action, options.account).account);
}
