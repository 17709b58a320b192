/**
 * InferenceDisputeGame actions: a node's delivered output of a registered model disputed by
 * bisection over its forward pass, down to one chunk of one dot product re-executed on chain
 * (docs/disputes.md, "Inference games"), for a model of any size.
 *
 * - **Challengers**: `openInferenceGame` (the PoAIVerifier's `disputeByGame`, after approving the
 *   game's `bond` to the game), then `playInferenceGame` with their own replay
 *   (`new InferenceStates(widths, checkpoint, input)`) as the source.
 * - **Nodes** (the defender): `playInferenceGame` with the inference they computed; the first
 *   move posts the state and the node's bond.
 * - **Anyone**: `getInferenceGame`, `timeoutInferenceGame` once the party to move let its deadline
 *   pass.
 *
 * `nextInferenceGameMove` computes the one move the game asks of an account from its source
 * (`inferenceMove`, with the events it needs read from the chain). The game's address is
 * `deployment.contracts.inferenceDisputeGame`, else the PoAIVerifier's `game()`.
 */
import { encodeFunctionData, parseEventLogs, type Address, type Hash, type Hex, type Log } from "viem";
import { getBlock, getContractEvents, readContract, waitForTransactionReceipt } from "viem/actions";
import { inferenceDisputeGameAbi, poaiVerifierAbi } from "../abi/index.js";
import {
  INFERENCE_PHASES,
  inferenceGameView,
  inferenceMove,
  type InferenceGameView,
  type InferenceMove,
  type InferencePhase,
  type InferenceSource,
} from "../compute/state/inference-game.js";
import { requireSigner, senderAddress, type PoAIContext, type WriteOptions } from "../context.js";
import { PoAIInputError } from "../errors.js";
import { sendContractTransaction, withDecodedErrors as read } from "../transaction.js";
import { checkAddress, checkUint } from "../validate.js";
import { poaiVerifierAddress } from "./output-verifier.js";

const ZERO: Address = "0x0000000000000000000000000000000000000000";

/** An inference game's state, decoded, with the events its next move depends on. */
export interface InferenceGameState extends InferenceGameView {
  challenger: Address;
  /** The node whose delivery is disputed. */
  defender: Address;
  /** Who must move (zero address once resolved). */
  mover: Address;
  deadline: bigint;
  winner: Address;
  /** The PoAIVerifier's key of the disputed delivery. */
  delivery: Hex;
  widths: readonly number[];
  /** The bond each party posts. */
  bond: bigint;
}

/** The delivery a game disputes, from the PoAIVerifier's `OutputGameOpened` event. */
export interface InferenceGameDelivery {
  gameId: bigint;
  subscriptionId: number;
  interval: number;
  node: Address;
  challenger: Address;
  blockNumber: bigint;
}

/** The InferenceDisputeGame's address: the deployment's, else the PoAIVerifier's `game()`. */
export async function inferenceGameAddress(ctx: PoAIContext): Promise<Address> {
  const known = ctx.deployment.contracts.inferenceDisputeGame;
  if (known) return known;
  const verifier = poaiVerifierAddress(ctx);
  const game = await readContract(ctx.publicClient, {
    address: verifier,
    abi: poaiVerifierAbi,
    functionName: "game",
  });
  if (game === ZERO)
    throw new PoAIInputError(
      "deployment.contracts.inferenceDisputeGame",
      undefined,
      `the InferenceDisputeGame's address (the PoAIVerifier ${verifier} has no game set)`,
    );
  return game;
}

const needsRoots: readonly InferencePhase[] = ["PickSlot", "FoldChoose", "FoldProve"];

/**
 * Game `id`'s state. The defender's posted roots (its `StatePosted` event) are read in the phases
 * whose move sends them back, the revealed leaf (`LeafRevealed`) in `PickElement`.
 */
export async function getInferenceGame(
  ctx: PoAIContext,
  args: { id: bigint | number; address?: Address },
): Promise<InferenceGameState> {
  const id = checkUint("id", args.id, 1n, 2n ** 64n);
  const address = args.address ?? (await inferenceGameAddress(ctx));
  const [g, mover] = await read(address, "gameOf", () =>
    Promise.all([
      readContract(ctx.publicClient, {
        address,
        abi: inferenceDisputeGameAbi,
        functionName: "gameOf",
        args: [id],
      }),
      readContract(ctx.publicClient, {
        address,
        abi: inferenceDisputeGameAbi,
        functionName: "moverOf",
        args: [id],
      }),
    ]),
  );
  if (g.phase === 0) throw new PoAIInputError("id", id, "the id of an opened inference game");
  const phase = INFERENCE_PHASES[g.phase];
  const event = async (eventName: "StatePosted" | "LeafRevealed") =>
    (
      await getContractEvents(ctx.publicClient, {
        address,
        abi: inferenceDisputeGameAbi,
        eventName,
        args: { id },
        fromBlock: ctx.deployment.deployBlock ?? 0n,
      })
    ).at(-1)?.args;
  const roots = needsRoots.includes(phase)
    ? ((await event("StatePosted")) as { roots?: readonly Hex[] } | undefined)?.roots
    : undefined;
  const leaf =
    phase === "PickElement" ? ((await event("LeafRevealed")) as { leaf?: Hex } | undefined)?.leaf : undefined;
  return {
    ...inferenceGameView(id, g, { roots, leaf }),
    challenger: g.challenger,
    defender: g.defender,
    mover,
    deadline: g.deadline,
    winner: g.winner,
    delivery: g.delivery,
    widths: g.widths.map(Number),
    bond: g.bond,
  };
}

/**
 * The move `me` makes now in game `state` from `source` (null when it is not `me`'s turn or the
 * game is resolved): the node answers from its inference, the challenger disputes the first value
 * that differs from its replay.
 */
export function nextInferenceGameMove(
  state: InferenceGameState,
  source: InferenceSource,
  me: Address,
): InferenceMove | null {
  if (state.phase === "Resolved" || state.mover.toLowerCase() !== me.toLowerCase()) return null;
  return inferenceMove(state, source);
}

/** The calldata of a move (or of `timeout`) to the InferenceDisputeGame. */
export function encodeInferenceGameMove(
  move: InferenceMove | { functionName: "timeout"; args: [bigint] },
): Hex {
  return encodeFunctionData({
    abi: inferenceDisputeGameAbi,
    functionName: move.functionName,
    args: move.args,
  } as Parameters<typeof encodeFunctionData>[0]);
}

/** Sends one move of an inference game. */
export async function sendInferenceGameMove(
  ctx: PoAIContext,
  move: InferenceMove | { functionName: "timeout"; args: [bigint] },
  options: WriteOptions & { address?: Address } = {},
): Promise<Hash> {
  return sendContractTransaction(ctx, {
    to: options.address ?? (await inferenceGameAddress(ctx)),
    data: encodeInferenceGameMove(move),
    functionName: move.functionName,
    ...(options.account !== undefined && { account: options.account }),
  });
}

/** Resolves an inference game whose party to move let its deadline pass. */
export async function timeoutInferenceGame(
  ctx: PoAIContext,
  args: { id: bigint } & WriteOptions,
): Promise<Hash> {
  return sendInferenceGameMove(ctx, { functionName: "timeout", args: [args.id] }, args);
}

/** The delivery key and what was delivered, as `disputeByGame` repeats it. */
export interface DisputedDelivery {
  subscriptionId: number | bigint;
  interval: number | bigint;
  node: Address;
  containerId: Hex;
  input: Hex;
  output: Hex;
}

/** The calldata of `PoAIVerifier.disputeByGame` for a delivery. */
export function encodeOpenInferenceGame(d: DisputedDelivery): Hex {
  return encodeFunctionData({
    abi: poaiVerifierAbi,
    functionName: "disputeByGame",
    args: [
      Number(checkUint("subscriptionId", d.subscriptionId, 1n, 2n ** 32n - 1n)),
      Number(checkUint("interval", d.interval, 1n, 2n ** 32n - 1n)),
      checkAddress("node", d.node),
      d.containerId,
      d.input,
      d.output,
    ],
  });
}

/**
 * Disputes a delivery by a game (`PoAIVerifier.disputeByGame`): the sender is the challenger and
 * must have approved the game's `bond` to the game. An output whose label is not the first maximum
 * of its scores is settled invalid at once (no game; `inferenceGameFromLogs` finds none).
 */
export async function openInferenceGame(
  ctx: PoAIContext,
  args: DisputedDelivery & WriteOptions,
): Promise<Hash> {
  return sendContractTransaction(ctx, {
    to: poaiVerifierAddress(ctx),
    data: encodeOpenInferenceGame(args),
    functionName: "disputeByGame",
    ...(args.account !== undefined && { account: args.account }),
  });
}

/** The games opened in `logs` (a receipt's, or any), from the PoAIVerifier's `OutputGameOpened`. */
export function inferenceGamesFromLogs(logs: readonly Log[]): InferenceGameDelivery[] {
  return parseEventLogs({ abi: poaiVerifierAbi, eventName: "OutputGameOpened", logs: [...logs] }).map(
    (l) => ({
      gameId: l.args.gameId,
      subscriptionId: Number(l.args.subscriptionId),
      interval: Number(l.args.interval),
      node: l.args.node,
      challenger: l.args.disputer,
      blockNumber: l.blockNumber ?? 0n,
    }),
  );
}

/** Games opened on deliveries (of `node`, when given) in a block range, from `OutputGameOpened`. */
export async function getInferenceGamesOpened(
  ctx: PoAIContext,
  args: { node?: Address; fromBlock?: bigint; toBlock?: bigint },
): Promise<InferenceGameDelivery[]> {
  const logs = await getContractEvents(ctx.publicClient, {
    address: poaiVerifierAddress(ctx),
    abi: poaiVerifierAbi,
    eventName: "OutputGameOpened",
    ...(args.node !== undefined && { args: { node: args.node } }),
    fromBlock: args.fromBlock ?? ctx.deployment.deployBlock ?? 0n,
    ...(args.toBlock !== undefined && { toBlock: args.toBlock }),
  });
  return inferenceGamesFromLogs(logs);
}

/** What `playInferenceGame` reports after each of its moves. */
export interface InferenceMoveRecord {
  phase: InferencePhase;
  functionName: string;
  hash: Hash;
  gasUsed: bigint;
}

/**
 * Plays inference game `id` for the sender until it is resolved: every move the game asks of it,
 * computed from `source`; the other party's silence past its deadline is claimed with `timeout`.
 * `beforeSend` runs before each move is sent (persist it there).
 */
export async function playInferenceGame(
  ctx: PoAIContext,
  args: {
    id: bigint;
    source: InferenceSource;
    /** The game's address (default: the deployment's, else the PoAIVerifier's; a score game's is its `inference()`). */
    address?: Address;
    pollMs?: number;
    beforeSend?: (move: InferenceMove | { functionName: "timeout"; args: [bigint] }) => Promise<void> | void;
  } & WriteOptions,
): Promise<{ winner: Address; moves: InferenceMoveRecord[] }> {
  const { account } = requireSigner(ctx, "playInferenceGame", args.account);
  const me = senderAddress(account);
  const address = args.address ?? (await inferenceGameAddress(ctx));
  const moves: InferenceMoveRecord[] = [];
  for (;;) {
    const state = await getInferenceGame(ctx, { id: args.id, address });
    if (state.phase === "Resolved") return { winner: state.winner, moves };
    let move: InferenceMove | { functionName: "timeout"; args: [bigint] } | null = nextInferenceGameMove(
      state,
      args.source,
      me,
    );
    if (!move && (await getBlock(ctx.publicClient)).timestamp > state.deadline)
      move = { functionName: "timeout", args: [args.id] };
    if (!move) {
      await new Promise((resolve) => setTimeout(resolve, args.pollMs ?? 1000));
      continue;
    }
    await args.beforeSend?.(move);
    const hash = await sendInferenceGameMove(ctx, move, { account, address });
    const receipt = await waitForTransactionReceipt(ctx.publicClient, { hash });
    if (receipt.status !== "success")
      throw new Error(`inference game ${args.id}: ${move.functionName} reverted`);
    moves.push({ phase: state.phase, functionName: move.functionName, hash, gasUsed: receipt.gasUsed });
  }
}

/** What the PoAIVerifier recorded of one delivery (its `OutputVerificationRequested` event). */
export interface RecordedOutput {
  subscriptionId: number;
  interval: number;
  node: Address;
  containerId: Hex;
  input: Hex;
  output: Hex;
  /** End of the delivery's dispute window (chain time, seconds). */
  deadline: bigint;
}

/** The delivery of (`subscriptionId`, `interval`) by `node` as the PoAIVerifier recorded it. */
export async function getRecordedOutput(
  ctx: PoAIContext,
  args: { subscriptionId: number | bigint; interval: number | bigint; node: Address },
): Promise<RecordedOutput> {
  const subscriptionId = Number(checkUint("subscriptionId", args.subscriptionId, 1n, 2n ** 32n - 1n));
  const interval = Number(checkUint("interval", args.interval, 1n, 2n ** 32n - 1n));
  const node = checkAddress("node", args.node);
  const logs = await getContractEvents(ctx.publicClient, {
    address: poaiVerifierAddress(ctx),
    abi: poaiVerifierAbi,
    eventName: "OutputVerificationRequested",
    args: { subscriptionId, interval, node },
    fromBlock: ctx.deployment.deployBlock ?? 0n,
  });
  const a = logs.at(-1)?.args;
  if (!a?.containerId || a.input === undefined || a.output === undefined || a.deadline === undefined)
    throw new PoAIInputError(
      "delivery",
      `${subscriptionId}:${interval}:${node}`,
      "a delivery the PoAIVerifier recorded (no OutputVerificationRequested event names it)",
    );
  return {
    subscriptionId,
    interval,
    node,
    containerId: a.containerId,
    input: a.input,
    output: a.output,
    deadline: a.deadline,
  };
}

/** The delivery inference game `id` disputes (the PoAIVerifier's `OutputGameOpened` naming it). */
export async function getInferenceGameDelivery(
  ctx: PoAIContext,
  args: { id: bigint | number },
): Promise<InferenceGameDelivery> {
  const id = checkUint("id", args.id, 1n, 2n ** 64n);
  const found = (await getInferenceGamesOpened(ctx, {})).find((g) => g.gameId === id);
  if (!found) throw new PoAIInputError("id", id, "the id of an inference game the PoAIVerifier opened");
  return found;
}
