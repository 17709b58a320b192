/**
 * A forged run, for tests, benchmarks and the devnet's demonstration of a dispute: the states of
 * an honest run except that one bit of one slot of one step flips (and, when that slot is not
 * Θ_out, one bit of Θ_out too, so that the run's end differs); every later step trains honestly
 * from the forged parameters. Its fold accumulators are the honest ones from chunk `cut` on shifted
 * by `delta` (0: none), so a forger can also lie inside a fold. Browser-safe.
 */
import type { Hex } from "viem";
import type { ElementRef } from "./layout.js";
import { RunStates, type LeafProof, type StateSource } from "./game.js";
import { StateTensors } from "./trace.js";
import { THETA_HEADER } from "./layout.js";

export interface Forgery {
  /** The step whose state is forged. */
  readonly step: number;
  /** The slot, byte and bit that flip. */
  readonly slot: number;
  readonly byte: number;
  readonly bit: number;
  /** The parameter whose low bit flips in Θ_out when `slot` is not Θ_out. */
  readonly parameter?: number;
  /** Fold accumulators from chunk `cut` on are shifted by `delta`. */
  readonly cut?: number;
  readonly delta?: bigint;
}

export class ForgedRun implements StateSource {
  readonly spec;
  readonly key;
  private readonly forged: StateTensors;
  private readonly after: RunStates;

  constructor(
    private readonly honest: RunStates,
    readonly forgery: Forgery,
  ) {
    this.spec = honest.spec;
    this.key = honest.key;
    const base = honest.tensors(forgery.step);
    const enc = base.encodings.map((e) => e.slice());
    const out = enc.length - 1;
    if (forgery.byte >= enc[forgery.slot].length)
      throw new RangeError(`byte must be below ${enc[forgery.slot].length}, got ${forgery.byte}`);
    enc[forgery.slot][forgery.byte] ^= 1 << forgery.bit;
    if (forgery.slot !== out) enc[out][THETA_HEADER + 2 * (forgery.parameter ?? 0)] ^= 1;
    this.forged = new StateTensors(base.slots, enc);
    const theta = new Int16Array((enc[out].length - THETA_HEADER) / 2);
    new Uint8Array(theta.buffer).set(enc[out].subarray(THETA_HEADER));
    this.after = new RunStates(honest.spec, honest.key, theta, forgery.step + 1, honest.data);
  }

  thetaRoot(step: number): Hex {
    if (step <= this.forgery.step) return this.honest.thetaRoot(step);
    // the forged step's Θ_out, as forged: a flipped header byte is in it, though not in the
    // parameters the later steps train from
    if (step === this.forgery.step + 1) return this.forged.roots[this.forged.roots.length - 1]!;
    return this.after.thetaRoot(step);
  }

  tensors(step: number): StateTensors {
    if (step < this.forgery.step) return this.honest.tensors(step);
    return step === this.forgery.step ? this.forged : this.after.tensors(step);
  }

  /** The dataset's examples are not forged: the honest run's proofs. */
  exampleProofs(step: number, row: number, feature?: number): LeafProof[] {
    return this.honest.exampleProofs(step, row, feature);
  }

  foldAccs(step: number, ref: ElementRef): bigint[] {
    if (step < this.forgery.step) return this.honest.foldAccs(step, ref);
    if (step > this.forgery.step) return this.after.foldAccs(step, ref);
    const { cut = 0, delta = 0n } = this.forgery;
    return this.honest.foldAccs(step, ref).map((a, c) => (c >= cut ? a + delta : a));
  }
}
