/**
 * DisputeGame actions: bisection disputes of a training claim down to one integer operation
 * re-executed on chain (docs/disputes.md).
 *
 * - **Challengers**: `openDispute` (after approving the bond), then `playDispute` with their own
 *   replay of the run as the {@link StateSource}.
 * - **Defenders** (the trainer of the run): `playDispute` with the run's states; the first move
 *   accepts the claim and posts the bond.
 * - **Anyone**: `getDispute`, `timeoutDispute` once the party to move let its deadline pass.
 *
 * `nextDisputeMove` computes the one move an honest party makes from the game's state, the
 * events it needs (posted roots, revealed children and leaf) and its source; `playDispute` loops
 * over it until the game is resolved. The contract is `deployment.contracts.disputeGame`.
 */
import {
  bytesToHex,
  encodeFunctionData,
  hexToBytes,
  type Address,
  type Hash,
  type Hex,
  zeroHash,
} from "viem";
import { getBlock, getContractEvents, readContract, waitForTransactionReceipt } from "viem/actions";
import { disputeGameAbi } from "../abi/index.js";
import {
  claimData,
  elementOf,
  elementProofs,
  firstDisputedByte,
  firstDisputedSlot,
  foldRanges,
  isFold,
  midOf,
  proofsOf,
  type ClaimData,
  type LeafProof,
  type StateSource,
} from "../compute/state/game.js";
import type { EngineKey } from "../compute/prng.js";
import { requireSigner, senderAddress, type PoAIContext, type WriteOptions } from "../context.js";
import { PoAIInputError } from "../errors.js";
import { sendContractTransaction, withDecodedErrors as read } from "../transaction.js";
import { checkAddress, checkBytes32 } from "../validate.js";
import { modelLayout, type TrainingSpec } from "../compute/spec.js";
import { LEAF_BYTES } from "../compute/state/tree.js";
import { SampledStep, stepOpeningOf, type StepDispute } from "../compute/state/step-game.js";

/** Phases of a game, in `DisputeGame.Phase` order. */
export const DISPUTE_PHASES = [
  "None",
  "Accept",
  "StepMid",
  "StepChoose",
  "StepState",
  "PickSlot",
  "Children",
  "PickChild",
  "Leaf",
  "PickElement",
  "FoldEnds",
  "FoldChoose",
  "FoldMid",
  "FoldPick",
  "FoldProve",
  "Resolved",
] as const;
export type DisputePhase = (typeof DISPUTE_PHASES)[number];

/** What a game claims: `steps` steps of `spec` from parameter root `startRoot` at `firstStep` give `endRoot`. */
export interface DisputeClaim {
  spec: TrainingSpec;
  firstStep: number;
  steps: number;
  startRoot: Hex;
  endRoot: Hex;
  /**
   * The run's key (`deriveKey(spec, seed)`): the game decides the batch's data slots from it (and,
   * for engine version 2, from the spec's dataset).
   */
  key: EngineKey;
}

/** A game's state, decoded. */
export interface DisputeView {
  id: bigint;
  phase: DisputePhase;
  challenger: Address;
  defender: Address;
  /** Who must move (zero address once resolved). */
  mover: Address;
  deadline: bigint;
  winner: Address;
  lo: number;
  hi: number;
  slot: number;
  height: number;
  node: bigint;
  left: Hex;
  right: Hex;
  pending: Hex;
  offset: number;
  claimed: bigint;
  cLo: number;
  cHi: number;
  accLo: bigint;
  accHi: bigint;
  /** The bonds held: the challenger's, and the defender's once it accepted. */
  bond: bigint;
  /** The challenge a bound game disputes (zero for an unbound game). */
  challengeId: Hex;
  /** Where the claim's batches come from (the run's key; version 2: the training examples). */
  data: ClaimData;
}

/** One move: the function and its arguments. */
export interface DisputeMove {
  functionName: string;
  args: readonly unknown[];
}

export function disputeGameAddress(ctx: PoAIContext): Address {
  const address = ctx.deployment.contracts.disputeGame;
  if (!address)
    throw new PoAIInputError("deployment.contracts.disputeGame", address, "the DisputeGame's address");
  return address;
}

/** The spec fields the game's layout depends on, as `StepRules.Spec`. */
export function stepRulesSpec(spec: TrainingSpec) {
  modelLayout(spec); // validates
  return { widths: spec.widths, batchSize: spec.batchSize, lrShift: spec.lrShift, version: spec.version };
}

/** Opens a game against `defender`'s claim; the challenger's bond (`bond()`) must be approved. */
export async function openDispute(
  ctx: PoAIContext,
  args: { defender: Address; claim: DisputeClaim } & WriteOptions,
): Promise<Hash> {
  const defender = checkAddress("defender", args.defender);
  const { claim } = args;
  if (!Number.isSafeInteger(claim.steps) || claim.steps < 1)
    throw new PoAIInputError("claim.steps", claim.steps, "a positive number of steps");
  if (!Number.isSafeInteger(claim.firstStep) || claim.firstStep < 0)
    throw new PoAIInputError("claim.firstStep", claim.firstStep, "a step number");
  const to = disputeGameAddress(ctx);
  const data = encodeFunctionData({
    abi: disputeGameAbi,
    functionName: "open",
    args: [
      defender,
      {
        spec: stepRulesSpec(claim.spec),
        firstStep: claim.firstStep,
        steps: claim.steps,
        startRoot: claim.startRoot,
        endRoot: claim.endRoot,
        data: claimData(claim.spec, claim.key),
      },
    ],
  });
  return sendContractTransaction(ctx, { to, data, functionName: "open", account: args.account });
}

/** A leaf of a run's checkpoint tree, as `DisputeGame.openBound` takes it. */
export interface CheckpointLeafProof {
  /** keccak256 of the checkpoint bytes. */
  hash: Hex;
  /** Root of the checkpoint's byte tree. */
  parameterRoot: Hex;
  /**
   * The step-state root of the segment starting at the checkpoint (`RunCommitment.stepRoots`); zero
   * when absent (a run audited by segment replay commits none).
   */
  stepRoot?: Hex;
  /** The leaf's Merkle proof under the run's committed root (`RunCommitment.proof`). */
  proof: readonly Hex[];
}

function checkLeaf(field: string, leaf: CheckpointLeafProof) {
  if (!Array.isArray(leaf?.proof))
    throw new PoAIInputError(`${field}.proof`, leaf?.proof, "the leaf's Merkle proof (bytes32[])");
  return {
    hash: checkBytes32(`${field}.hash`, leaf.hash),
    parameterRoot: checkBytes32(`${field}.parameterRoot`, leaf.parameterRoot),
    stepRoot: leaf.stepRoot === undefined ? zeroHash : checkBytes32(`${field}.stepRoot`, leaf.stepRoot),
    proof: leaf.proof.map((p, i) => checkBytes32(`${field}.proof[${i}]`, p)),
  };
}

/**
 * Opens a game bound to segment `segment` of challenge `challengeId` (which the committee judged
 * Valid), posting the sender's bond: `start` and `end` are the leaves of checkpoints `segment` and
 * `segment + 1` under the run's committed root (the trainer's checkpoint server sends them, or
 * `commit` of the run). The claim (spec, steps, roots) is read from the chain and the trainer
 * defends it without accepting; a game the sender wins slashes the trainer and the committee
 * members whose standing vote was Valid.
 */
export async function openBoundDispute(
  ctx: PoAIContext,
  args: {
    challengeId: Hex;
    segment: number;
    start: CheckpointLeafProof;
    end: CheckpointLeafProof;
  } & WriteOptions,
): Promise<Hash> {
  const challengeId = checkBytes32("challengeId", args.challengeId);
  if (!Number.isSafeInteger(args.segment) || args.segment < 0 || args.segment > 0xffff_ffff)
    throw new PoAIInputError("segment", args.segment, "a segment index (uint32)");
  const data = encodeFunctionData({
    abi: disputeGameAbi,
    functionName: "openBound",
    args: [challengeId, args.segment, checkLeaf("start", args.start), checkLeaf("end", args.end)],
  });
  return sendContractTransaction(ctx, {
    to: disputeGameAddress(ctx),
    data,
    functionName: "openBound",
    account: args.account,
  });
}

/**
 * Opens a game bound to challenge `challengeId` at the step of segment `segment` that a failed
 * operation sample names (`DisputeGame.openBoundAtStep`), posting the sender's bond: `start` and
 * `end` are the segment's checkpoint leaves as for `openBoundDispute` (`start.stepRoot` the
 * committed step-state root), and `dispute` the sample and the trainer's answer
 * (`stepDisputeOf`). The game starts at the step's slots, the trainer's committed roots standing as
 * its posted state; a broken link or a malformed state is decided by the opening itself. Play the
 * challenger's side with `playDispute` and `new SampledStep(spec, dispute)` as the source.
 */
export async function openStepDispute(
  ctx: PoAIContext,
  args: {
    challengeId: Hex;
    segment: number;
    start: CheckpointLeafProof;
    end: CheckpointLeafProof;
    dispute: StepDispute;
  } & WriteOptions,
): Promise<Hash> {
  return sendContractTransaction(ctx, {
    to: disputeGameAddress(ctx),
    data: encodeStepOpening(args),
    functionName: "openBoundAtStep",
    account: args.account,
  });
}

/** The calldata of `openStepDispute` (a daemon stores it before sending). */
export function encodeStepOpening(args: {
  challengeId: Hex;
  segment: number;
  start: CheckpointLeafProof;
  end: CheckpointLeafProof;
  dispute: StepDispute;
}): Hex {
  const challengeId = checkBytes32("challengeId", args.challengeId);
  if (!Number.isSafeInteger(args.segment) || args.segment < 0 || args.segment > 0xffff_ffff)
    throw new PoAIInputError("segment", args.segment, "a segment index (uint32)");
  const { step, state, next } = stepOpeningOf(args.dispute);
  const opening = (field: string, o: { roots: readonly Hex[]; proof: readonly Hex[] }) => ({
    roots: o.roots.map((r, i) => checkBytes32(`${field}.roots[${i}]`, r)),
    proof: o.proof.map((p, i) => checkBytes32(`${field}.proof[${i}]`, p)),
  });
  return encodeFunctionData({
    abi: disputeGameAbi,
    functionName: "openBoundAtStep",
    args: [
      challengeId,
      args.segment,
      checkLeaf("start", args.start),
      checkLeaf("end", args.end),
      step,
      opening("dispute.state", state),
      opening("dispute.next", next),
    ],
  });
}

/**
 * Opens the defence of a run the committee convicted as Fraud (challenge `challengeId`, within the
 * game's `disputeWindow` after its points close), posting the sender's bond: the trainer or anyone
 * on its behalf. For `disputeWindow` seconds every accuser (a member whose standing vote is on the
 * accusation's side) may take a seat with `openBoundDispute` on the segment it names, which the
 * trainer defends; once the seats closed and the trainer won every seated game, `settleDefence`
 * overrules the conviction (the trainer repaid from the accusers' stake and unjailed).
 */
export async function openDefence(
  ctx: PoAIContext,
  args: { challengeId: Hex } & WriteOptions,
): Promise<Hash> {
  const challengeId = checkBytes32("challengeId", args.challengeId);
  return sendContractTransaction(ctx, {
    to: disputeGameAddress(ctx),
    data: encodeFunctionData({ abi: disputeGameAbi, functionName: "openDefence", args: [challengeId] }),
    functionName: "openDefence",
    account: args.account,
  });
}

/** Overrules a defended conviction once its seats closed and every seated game went to the trainer. */
export async function settleDefence(
  ctx: PoAIContext,
  args: { challengeId: Hex } & WriteOptions,
): Promise<Hash> {
  const challengeId = checkBytes32("challengeId", args.challengeId);
  return sendContractTransaction(ctx, {
    to: disputeGameAddress(ctx),
    data: encodeFunctionData({ abi: disputeGameAbi, functionName: "settleDefence", args: [challengeId] }),
    functionName: "settleDefence",
    account: args.account,
  });
}

/** The states of a defence, as `DisputeGame.defences` reports them. */
export const DEFENCE_STATES = ["None", "Open", "Failed", "Overruled"] as const;

/** A defence of a convicted run. */
export interface DefenceView {
  state: (typeof DEFENCE_STATES)[number];
  opener: Address;
  /** Unix time after which no accuser may take a seat. */
  seatEnd: bigint;
  /** Seated games not resolved yet. */
  pending: number;
  /** Bit i set: committee member i took a seat. */
  seated: number;
}

/** The defence of challenge `challengeId` (`state` "None" when none was opened). */
export async function getDefence(ctx: PoAIContext, args: { challengeId: Hex }): Promise<DefenceView> {
  const challengeId = checkBytes32("challengeId", args.challengeId);
  const address = disputeGameAddress(ctx);
  const [opener, seatEnd, state, pending, seated] = await read(address, "defences", () =>
    readContract(ctx.publicClient, {
      address,
      abi: disputeGameAbi,
      functionName: "defences",
      args: [challengeId],
    }),
  );
  return { state: DEFENCE_STATES[state] ?? "None", opener, seatEnd: BigInt(seatEnd), pending, seated };
}

/** A game's state. */
export async function getDispute(ctx: PoAIContext, args: { id: bigint }): Promise<DisputeView> {
  const address = disputeGameAddress(ctx);
  const [g, mover] = await read(address, "gameOf", () =>
    Promise.all([
      readContract(ctx.publicClient, {
        address,
        abi: disputeGameAbi,
        functionName: "gameOf",
        args: [args.id],
      }),
      readContract(ctx.publicClient, {
        address,
        abi: disputeGameAbi,
        functionName: "moverOf",
        args: [args.id],
      }),
    ]),
  );
  if (g.phase === 0) throw new PoAIInputError("id", args.id, "the id of an opened dispute");
  return {
    id: args.id,
    phase: DISPUTE_PHASES[g.phase],
    challenger: g.challenger,
    defender: g.defender,
    mover,
    deadline: g.deadline,
    winner: g.winner,
    lo: g.lo,
    hi: g.hi,
    slot: g.slot,
    height: g.height,
    node: g.node,
    left: g.left,
    right: g.right,
    pending: g.pending,
    offset: Number(g.offset),
    claimed: g.claimed,
    cLo: g.cLo,
    cHi: g.cHi,
    accLo: g.accLo,
    accHi: g.accHi,
    bond: g.bond,
    challengeId: g.challengeId,
    data: { key: g.data.key, count: g.data.count, root: g.data.root },
  };
}

/** The segment a bound game disputes (its `BoundGameOpened` event), or undefined for an unbound game. */
export async function boundSegmentOf(ctx: PoAIContext, args: { id: bigint }): Promise<number | undefined> {
  const logs = await getContractEvents(ctx.publicClient, {
    address: disputeGameAddress(ctx),
    abi: disputeGameAbi,
    eventName: "BoundGameOpened",
    args: { id: args.id },
    fromBlock: ctx.deployment.deployBlock ?? 0n,
  });
  const segment = logs[0]?.args.segment;
  return segment === undefined ? undefined : Number(segment);
}

/** The slot roots the defender posted for the disputed step. */
async function postedRoots(ctx: PoAIContext, id: bigint): Promise<readonly Hex[]> {
  const logs = await getContractEvents(ctx.publicClient, {
    address: disputeGameAddress(ctx),
    abi: disputeGameAbi,
    eventName: "StepStatePosted",
    args: { id },
    fromBlock: ctx.deployment.deployBlock ?? 0n,
  });
  const roots = logs.at(-1)?.args.roots;
  if (!roots) throw new Error(`dispute ${id}: no StepStatePosted event found`);
  return roots;
}

/** The leaf the defender revealed. */
async function revealedLeaf(ctx: PoAIContext, id: bigint): Promise<Hex> {
  const logs = await getContractEvents(ctx.publicClient, {
    address: disputeGameAddress(ctx),
    abi: disputeGameAbi,
    eventName: "LeafRevealed",
    args: { id },
    fromBlock: ctx.deployment.deployBlock ?? 0n,
  });
  const leaf = logs.at(-1)?.args.leaf;
  if (!leaf) throw new Error(`dispute ${id}: no LeafRevealed event found`);
  return leaf;
}

/**
 * The move an honest party with `source` makes now in game `view` (null when it is not its turn
 * or the game is resolved). Events the move depends on are read from the chain.
 */
export async function nextDisputeMove(
  ctx: PoAIContext,
  view: DisputeView,
  source: StateSource | SampledStep,
  me: Address,
): Promise<DisputeMove | null> {
  if (view.phase === "Resolved" || view.mover.toLowerCase() !== me.toLowerCase()) return null;
  const { id } = view;
  if (source instanceof SampledStep) {
    // a game at a sampled step, played from the sample's answer alone
    const posted = await postedRoots(ctx, id);
    const leaf = view.phase === "PickElement" ? await revealedLeaf(ctx, id) : undefined;
    return source.move(view, posted, leaf);
  }
  const spec = source.spec;
  const step = view.lo;
  const roots = () => postedRoots(ctx, id);
  switch (view.phase) {
    case "Accept": {
      // accepting agrees to the claim's data: the game decides the batch's slots from it
      const data = source.key && claimData(spec, source.key);
      if (data && (data.key !== view.data.key || data.root.toLowerCase() !== view.data.root.toLowerCase()))
        throw new Error(
          `dispute ${id}: the claim's data (key ${view.data.key}) is not this run's (key ${data.key})`,
        );
      return { functionName: "accept", args: [id] };
    }
    case "StepMid":
      return { functionName: "postStepRoot", args: [id, source.thetaRoot(midOf(view.lo, view.hi))] };
    case "StepChoose":
      return {
        functionName: "chooseStep",
        args: [id, view.pending.toLowerCase() === source.thetaRoot(midOf(view.lo, view.hi)).toLowerCase()],
      };
    case "StepState":
      return { functionName: "postStepState", args: [id, source.tensors(step).roots] };
    case "PickSlot": {
      const posted = await roots();
      const slot = firstDisputedSlot(posted, source.tensors(step).roots);
      if (slot < 0) throw new Error(`dispute ${id}: every slot root of step ${step} agrees with this replay`);
      return { functionName: "pickSlot", args: [id, posted, slot] };
    }
    case "Children": {
      const [left, right] = source.tensors(step).tree(view.slot).children(view.height, Number(view.node));
      return { functionName: "revealChildren", args: [id, left, right] };
    }
    case "PickChild": {
      const [left] = source.tensors(step).tree(view.slot).children(view.height, Number(view.node));
      return { functionName: "pickChild", args: [id, view.left.toLowerCase() === left.toLowerCase()] };
    }
    case "Leaf": {
      const leaf = source.tensors(step).tree(view.slot).leaf(Number(view.node));
      return { functionName: "revealLeaf", args: [id, bytesToHex(leaf)] };
    }
    case "PickElement": {
      const posted = await roots();
      const leaf = await revealedLeaf(ctx, id);
      const tensors = source.tensors(step);
      const own = tensors.tree(view.slot).leaf(Number(view.node));
      const b = firstDisputedByte(hexToBytes(leaf), own);
      if (b < 0) throw new Error(`dispute ${id}: the revealed leaf agrees with this replay`);
      const ref = elementOf(spec, tensors, view.slot, Number(view.node) * LEAF_BYTES + b);
      const proofs: LeafProof[] = isFold(ref) ? [] : elementProofs(source, step, ref);
      return { functionName: "pickElement", args: [id, posted, leaf, BigInt(b), proofs] };
    }
    case "FoldEnds": {
      const accs = foldAccsOf(source, view);
      return { functionName: "postFoldEnds", args: [id, accs[0], accs[accs.length - 1]] };
    }
    case "FoldChoose": {
      const accs = foldAccsOf(source, view);
      const posted = await roots();
      const tensors = source.tensors(step);
      const ref = elementOf(spec, tensors, view.slot, view.offset);
      if (view.accLo !== accs[0])
        return foldProof(id, 0, posted, proofsOf(tensors, foldRanges(spec, ref, 0)));
      if (view.accHi === accs[accs.length - 1])
        return foldProof(id, 2, posted, proofsOf(tensors, foldRanges(spec, ref, 2)));
      return foldProof(id, 1, posted, []);
    }
    case "FoldMid":
      return {
        functionName: "postFoldAccumulator",
        args: [id, foldAccsOf(source, view)[midOf(view.cLo, view.cHi)]],
      };
    case "FoldPick":
      return {
        functionName: "chooseFold",
        args: [
          id,
          BigInt.asIntN(256, BigInt(view.pending)) === foldAccsOf(source, view)[midOf(view.cLo, view.cHi)],
        ],
      };
    case "FoldProve": {
      const posted = await roots();
      const tensors = source.tensors(step);
      const ref = elementOf(spec, tensors, view.slot, view.offset);
      return {
        functionName: "proveChunk",
        args: [id, posted, proofsOf(tensors, foldRanges(spec, ref, 1, view.cLo))],
      };
    }
    default:
      return null;
  }
}

function foldProof(id: bigint, part: number, roots: readonly Hex[], proofs: LeafProof[]): DisputeMove {
  return { functionName: "challengeFold", args: [id, part, roots, proofs] };
}

function foldAccsOf(source: StateSource, view: DisputeView): bigint[] {
  const tensors = source.tensors(view.lo);
  return source.foldAccs(view.lo, elementOf(source.spec, tensors, view.slot, view.offset));
}

/** Sends one move. */
export async function sendDisputeMove(
  ctx: PoAIContext,
  move: DisputeMove,
  options: WriteOptions = {},
): Promise<Hash> {
  const to = disputeGameAddress(ctx);
  const data = encodeFunctionData({
    abi: disputeGameAbi,
    functionName: move.functionName,
    args: move.args,
  } as Parameters<typeof encodeFunctionData>[0]);
  return sendContractTransaction(ctx, {
    to,
    data,
    functionName: move.functionName,
    account: options.account,
  });
}

/** Resolves a game whose party to move let its deadline pass. */
export async function timeoutDispute(ctx: PoAIContext, args: { id: bigint } & WriteOptions): Promise<Hash> {
  return sendDisputeMove(ctx, { functionName: "timeout", args: [args.id] }, args);
}

/** What `playDispute` reports after each of its moves. */
export interface DisputeMoveRecord {
  phase: DisputePhase;
  functionName: string;
  hash: Hash;
  gasUsed: bigint;
}

/**
 * Plays game `id` for the sender until it is resolved: every move the game asks of it, computed
 * from `source`; the other party's silence past its deadline is claimed with `timeout`. Returns
 * the winner and the moves sent. `beforeSend` runs before each move is sent (persist it there).
 */
export async function playDispute(
  ctx: PoAIContext,
  args: {
    id: bigint;
    /** The party's states; a challenger of a game at a sampled step: `new SampledStep(spec, dispute)`. */
    source: StateSource | SampledStep;
    pollMs?: number;
    beforeSend?: (move: DisputeMove) => Promise<void> | void;
  } & WriteOptions,
): Promise<{ winner: Address; moves: DisputeMoveRecord[] }> {
  const { account } = requireSigner(ctx, "playDispute", args.account);
  const me = senderAddress(account);
  const moves: DisputeMoveRecord[] = [];
  for (;;) {
    const view = await getDispute(ctx, { id: args.id });
    if (view.phase === "Resolved") return { winner: view.winner, moves };
    const move = await nextDisputeMove(ctx, view, args.source, me);
    if (move) {
      await args.beforeSend?.(move);
      const hash = await sendDisputeMove(ctx, move, { account });
      const receipt = await waitForTransactionReceipt(ctx.publicClient, { hash });
      if (receipt.status !== "success") throw new Error(`dispute ${args.id}: ${move.functionName} reverted`);
      moves.push({ phase: view.phase, functionName: move.functionName, hash, gasUsed: receipt.gasUsed });
      continue;
    }
    const block = await getBlock(ctx.publicClient);
    if (block.timestamp > view.deadline) {
      const hash = await timeoutDispute(ctx, { id: args.id, account });
      const receipt = await waitForTransactionReceipt(ctx.publicClient, { hash });
      moves.push({ phase: view.phase, functionName: "timeout", hash, gasUsed: receipt.gasUsed });
      continue;
    }
    await new Promise((resolve) => setTimeout(resolve, args.pollMs ?? 1000));
  }
}
