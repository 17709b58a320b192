/**
 * Opening a game bound to a challenge (`DisputeGame.openBound`), crash-safe: the opening's
 * calldata is written before it is sent, keyed by the challenge; after a restart the opening is
 * settled from its receipt, or from the chain's `BoundGameOpened` events (a game this account
 * opened on the challenge), before anything is sent again.
 */
import {
  encodeFunctionData,
  parseEventLogs,
  TransactionReceiptNotFoundError,
  type Address,
  type Hash,
  type Hex,
  type TransactionReceipt,
  zeroHash,
} from "viem";
import {
  getContractEvents,
  getTransactionReceipt,
  readContract,
  waitForTransactionReceipt,
} from "viem/actions";
import {
  disputeGameAbi,
  disputeGameAddress,
  encodeStepOpening,
  sendContractTransaction,
  poaiTokenAbi,
  type CheckpointLeafProof,
  type PoAIContext,
} from "@poai/sdk";
import type { StepDispute } from "@poai/sdk/compute";
import type { Logger } from "../daemon/log.js";
import type { DisputeStore } from "./store.js";

/** The game id a receipt's `BoundGameOpened` event names. */
function openedGame(receipt: TransactionReceipt, game: Address): bigint | undefined {
  const logs = parseEventLogs({ abi: disputeGameAbi, eventName: "BoundGameOpened", logs: receipt.logs });
  return logs.find((l) => l.address.toLowerCase() === game.toLowerCase())?.args.id;
}

/** A game `me` opened on challenge `challengeId`, from the chain's events. */
async function findOpened(ctx: PoAIContext, challengeId: Hex, me: Address): Promise<bigint | undefined> {
  const address = disputeGameAddress(ctx);
  const logs = await getContractEvents(ctx.publicClient, {
    address,
    abi: disputeGameAbi,
    eventName: "BoundGameOpened",
    args: { challengeId },
    fromBlock: ctx.deployment.deployBlock ?? 0n,
  });
  for (const log of logs) {
    const id = log.args.id!;
    const g = await readContract(ctx.publicClient, {
      address,
      abi: disputeGameAbi,
      functionName: "gameOf",
      args: [id],
    });
    if (g.challenger.toLowerCase() === me.toLowerCase()) return id;
  }
  return undefined;
}

/** Approves the game's bond when the allowance is short of it. */
export async function ensureBondApproved(ctx: PoAIContext, me: Address): Promise<void> {
  const game = disputeGameAddress(ctx);
  const [bond, token] = await Promise.all([
    readContract(ctx.publicClient, { address: game, abi: disputeGameAbi, functionName: "bond" }),
    readContract(ctx.publicClient, { address: game, abi: disputeGameAbi, functionName: "token" }),
  ]);
  const allowance = await readContract(ctx.publicClient, {
    address: token,
    abi: poaiTokenAbi,
    functionName: "allowance",
    args: [me, game],
  });
  if (allowance >= bond) return;
  const hash = await sendContractTransaction(ctx, {
    to: token,
    data: encodeFunctionData({ abi: poaiTokenAbi, functionName: "approve", args: [game, bond] }),
    functionName: "approve",
    authorizes: [game],
  });
  await waitForTransactionReceipt(ctx.publicClient, { hash });
}

/**
 * Opens (or resumes opening) a bound game on segment `segment` of `challengeId` with the leaves
 * `start` and `end`; returns the game id. The opening is on disk before it is sent. With `step`
 * (a failed operation sample the chain can decide) the game opens at that step of the segment
 * (`openBoundAtStep`) instead of bisecting its steps (`openBound`).
 */
export async function openBoundGame(
  ctx: PoAIContext,
  args: {
    store: DisputeStore;
    log: Logger;
    me: Address;
    challengeId: Hex;
    segment: number;
    start: CheckpointLeafProof;
    end: CheckpointLeafProof;
    step?: StepDispute;
    afterPersist?: () => void | Promise<void>;
  },
): Promise<bigint> {
  const { store, log, me, challengeId, segment } = args;
  const game = disputeGameAddress(ctx);
  let rec = store.open(challengeId);
  if (rec?.status === "opened" && rec.gameId !== undefined) return rec.gameId;
  if (rec && rec.status !== "refused") {
    // a crash after writing (and maybe sending) it: its receipt, else the chain's events
    let receipt: TransactionReceipt | undefined;
    if (rec.txHash) {
      try {
        receipt = await getTransactionReceipt(ctx.publicClient, { hash: rec.txHash });
      } catch (err) {
        if (!(err instanceof TransactionReceiptNotFoundError)) throw err;
      }
    }
    const id = receipt ? openedGame(receipt, game) : await findOpened(ctx, challengeId, me);
    if (id !== undefined) return recordOpened(store, log, challengeId, segment, id);
  }
  // A leaf without a step root commits none (zero), as a segment-replay run's leaves do.
  const leaf = (l: CheckpointLeafProof) => ({ ...l, stepRoot: l.stepRoot ?? zeroHash });
  const functionName = args.step ? "openBoundAtStep" : "openBound";
  const calldata = args.step
    ? encodeStepOpening({ challengeId, segment, start: args.start, end: args.end, dispute: args.step })
    : encodeFunctionData({
        abi: disputeGameAbi,
        functionName: "openBound",
        args: [challengeId, segment, leaf(args.start), leaf(args.end)],
      });
  if (!rec || rec.calldata !== calldata || rec.status === "refused")
    store.persistOpen(challengeId, segment, calldata);
  rec = store.open(challengeId)!;
  await args.afterPersist?.();
  await ensureBondApproved(ctx, me);
  const hash: Hash = await sendContractTransaction(ctx, {
    to: game,
    data: rec.calldata,
    functionName,
  });
  store.updateOpen(challengeId, { status: "sent", txHash: hash });
  const receipt = await waitForTransactionReceipt(ctx.publicClient, { hash });
  const id = receipt.status === "success" ? openedGame(receipt, game) : undefined;
  if (id === undefined) {
    store.updateOpen(challengeId, { status: "refused", note: `${functionName} ${hash} reverted` });
    throw new Error(`${functionName} of challenge ${challengeId} reverted (${hash})`);
  }
  return recordOpened(store, log, challengeId, segment, id);
}

function recordOpened(
  store: DisputeStore,
  log: Logger,
  challengeId: Hex,
  segment: number,
  id: bigint,
): bigint {
  store.addGame({ gameId: id, role: "challenger", challengeId, segment });
  store.updateOpen(challengeId, { status: "opened", gameId: id });
  log.info({ game: id, challenge: challengeId, segment }, "bound dispute opened");
  return id;
}
