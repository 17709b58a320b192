/**
 * What a party of a score dispute knows and how it moves (docs/disputes.md, "Score games"): a
 * {@link ScoreSource} holds one party's evaluation of a run's final model over the held-out examples
 * (the trainer's committed predictions, or the challenger's own evaluation of the final checkpoint),
 * with the dataset's held-out part for the example proofs, and {@link scoreMove} computes the move of
 * `contracts/disputes/ScoreGame.sol` the game asks of a party from its source. The same function
 * plays the trainer (defender) and the challenger:
 *
 * - the trainer answers every question from its predictions: its count of correct predictions (the
 *   accuracy it reported), the count of a range's left half, the proof of one example (prediction,
 *   label, output scores);
 * - the challenger disputes the half whose count differs from its own, and, at the one example, the
 *   trainer's output scores when the proven prediction is not its own (an inference game decides).
 *
 * An honest party's source is {@link ScoreEvidence} over the run's final weights: the trainer's
 * `EvalTrace` (what it committed), or the challenger's own of the same checkpoint. Browser-safe.
 */
import { bytesToHex, concat, type Hex } from "viem";
import { featuresRoot as featuresRootOf, type DatasetPartData } from "../dataset.js";
import { EvalTrace, predictionBytes } from "./evaluation.js";
import { ByteTree, LEAF_BYTES } from "./tree.js";

/** `ScoreGame.Phase`, by index. */
export const SCORE_PHASES = [
  "None",
  "Count",
  "Split",
  "Pick",
  "Example",
  "Dispute",
  "Inference",
  "Resolved",
] as const;
export type ScorePhase = (typeof SCORE_PHASES)[number];

/** The game's state as `ScoreGame.gameOf` returns it (the fields a move needs). */
export interface ScoreGameView {
  readonly id: bigint;
  readonly phase: ScorePhase;
  readonly lo: number;
  readonly hi: number;
  readonly count: number;
  readonly left: number;
  readonly evalSize: number;
  readonly prediction: number;
  /** The output scores the trainer posted for the disputed example (its `ExampleProven` event). */
  readonly output?: Hex;
}

/** The moves, as `ScoreGame` function calls. */
export type ScoreMove =
  | { functionName: "postCount"; args: [bigint, number, Hex, Hex] }
  | { functionName: "split"; args: [bigint, number] }
  | { functionName: "pick"; args: [bigint, boolean] }
  | {
      functionName: "proveExample";
      args: [bigint, { predictions: Hex; siblings: Hex[]; example: Hex; exampleProof: Hex[]; output: Hex }];
    }
  | { functionName: "disputePrediction"; args: [bigint, Hex, Hex] };

/** One party's evaluation of a run's final model over the held-out examples. */
export interface ScoreSource {
  /** The predicted class of every held-out example (int32). */
  readonly predictions: Int32Array;
  /** The held-out labels. */
  readonly labels: Int32Array;
  readonly predictionsRoot: Hex;
  /** The examples root beside the predictions root (what an operation-sampling run committed). */
  readonly examplesRoot: Hex;
  /** The leaf of the predictions' byte tree that holds example `e`'s prediction, and its siblings. */
  predictionProof(e: number): { leaf: Hex; siblings: Hex[] };
  /** Example `e`'s leaf (label as uint16 LE ‖ features root) and its proof under the held-out root. */
  exampleProof(e: number): { example: Hex; proof: Hex[] };
  /** Example `e`'s features (the inference's input X) and the model's output scores (A_L), int8 bytes. */
  inference(e: number): { input: Uint8Array; output: Uint8Array };
}

/**
 * Committed predictions as a {@link ScoreSource}: the predicted class of each held-out example as a
 * run committed them (an operation-sampling run's evaluation root binds them), with the dataset's
 * held-out part (its examples `0 … n − 1` loaded) for the labels and the example proofs. A party
 * that holds only these (a validator that audited by sampling, never fetching the final checkpoint)
 * disputes a count that is not theirs; it has no forward pass, so it disputes no prediction.
 */
export class CommittedPredictions implements ScoreSource {
  readonly labels: Int32Array;
  readonly predictionsRoot: Hex;
  private readonly tree: ByteTree;

  constructor(
    readonly predictions: Int32Array,
    readonly examplesRoot: Hex,
    private readonly heldOut: DatasetPartData,
  ) {
    if (predictions.length > heldOut.count)
      throw new RangeError(`${predictions.length} predictions for ${heldOut.count} held-out examples`);
    this.labels = Int32Array.from({ length: predictions.length }, (_, e) => heldOut.labels[e]);
    this.tree = new ByteTree(predictionBytes(predictions));
    this.predictionsRoot = this.tree.root;
  }

  /** Correct predictions in examples [lo, hi). */
  countIn(lo: number, hi: number): number {
    return countCorrect(this, lo, hi);
  }

  predictionProof(e: number): { leaf: Hex; siblings: Hex[] } {
    const j = Math.floor((4 * e) / LEAF_BYTES);
    return { leaf: bytesToHex(this.tree.leaf(j)), siblings: this.tree.proof(j) };
  }

  exampleProof(e: number): { example: Hex; proof: Hex[] } {
    const { features, label } = this.heldOut.example(e);
    const labelBytes = new Uint8Array([label & 0xff, (label >> 8) & 0xff]);
    return {
      example: concat([bytesToHex(labelBytes), featuresRootOf(features)]),
      proof: this.heldOut.proof(e),
    };
  }

  inference(e: number): { input: Uint8Array; output: Uint8Array } {
    throw new Error(
      `example ${e}: no forward pass (committed predictions only, the final checkpoint is not held)`,
    );
  }
}

/**
 * An evaluation as a {@link ScoreSource}: an {@link EvalTrace} of the final weights (version 2, its
 * dataset rows) and the dataset's held-out part (its chunks loaded, for the example proofs).
 */
export class ScoreEvidence extends CommittedPredictions {
  constructor(
    readonly trace: EvalTrace,
    heldOut: DatasetPartData,
  ) {
    if (trace.spec.version !== 2) throw new RangeError("a score game needs an engine version 2 run");
    super(trace.predictions, trace.examplesRoot, heldOut);
  }

  override inference(e: number): { input: Uint8Array; output: Uint8Array } {
    const state = this.trace.example(e);
    return { input: state.bytes[1], output: state.bytes[state.bytes.length - 1] };
  }
}

/**
 * `source` counting `predictions` instead of its own, its proofs and commitments unchanged: a party
 * whose counts are not what it proves (a trainer inflating its count, a challenger with a wrong
 * belief). For tests and adversarial daemons.
 */
export function countingOther(source: ScoreSource, predictions: Int32Array): ScoreSource {
  return {
    predictions,
    labels: source.labels,
    predictionsRoot: source.predictionsRoot,
    examplesRoot: source.examplesRoot,
    predictionProof: (e) => source.predictionProof(e),
    exampleProof: (e) => source.exampleProof(e),
    inference: (e) => source.inference(e),
  };
}

/** Correct predictions of `source` in examples [lo, hi). */
export function countCorrect(
  source: Pick<ScoreSource, "predictions" | "labels">,
  lo: number,
  hi: number,
): number {
  let n = 0;
  for (let e = lo; e < hi; e++) if (source.predictions[e] === source.labels[e]) n++;
  return n;
}

const mid = (lo: number, hi: number) => lo + Math.floor((hi - lo) / 2);

/**
 * The move `source`'s party makes in the game's current phase (null: the challenger lets the
 * trainer's example stand, its prediction being the challenger's own).
 */
export function scoreMove(view: ScoreGameView, source: ScoreSource): ScoreMove | null {
  const id = view.id;
  switch (view.phase) {
    case "Count":
      return {
        functionName: "postCount",
        args: [id, countCorrect(source, 0, view.evalSize), source.predictionsRoot, source.examplesRoot],
      };
    case "Split":
      return { functionName: "split", args: [id, countCorrect(source, view.lo, mid(view.lo, view.hi))] };
    case "Pick":
      // the left half's count is the trainer's claim; the right half's follows from the range's
      return {
        functionName: "pick",
        args: [id, countCorrect(source, view.lo, mid(view.lo, view.hi)) === view.left],
      };
    case "Example": {
      const e = view.lo;
      const p = source.predictionProof(e);
      const ex = source.exampleProof(e);
      return {
        functionName: "proveExample",
        args: [
          id,
          {
            predictions: p.leaf,
            siblings: p.siblings,
            example: ex.example,
            exampleProof: ex.proof,
            output: bytesToHex(source.inference(e).output),
          },
        ],
      };
    }
    case "Dispute": {
      const e = view.lo;
      if (source.predictions[e] === view.prediction) return null;
      if (!view.output) throw new Error("the trainer's output scores are needed to dispute its prediction");
      return {
        functionName: "disputePrediction",
        args: [id, bytesToHex(source.inference(e).input), view.output],
      };
    }
    default:
      throw new Error(`no move in phase ${view.phase}`);
  }
}
