/**
 * Adversarial trainers and validators: the real daemons with one behaviour changed through their
 * hooks, so that the devnet and the end-to-end tests can show what the protocol does to each
 * cheat. Every class here is dishonest on purpose; operators run `TrainerDaemon` and
 * `ValidatorDaemon` themselves.
 */
import { randomBytes } from "node:crypto";
import { challengeId, roundAt, type DueChallenge } from "@poai/sdk";
import {
  RunStates,
  decodeCheckpoint,
  deriveKey,
  modelLayout,
  validateSeed,
  type Checkpoint,
  type DatasetData,
  countingOther,
  type StateSource,
  type TrainingSpec,
} from "@poai/sdk/compute";
import { ForgedRun, type Forgery } from "../../sdk/src/compute/state/forged.js";
import {
  fetchCheckpoint,
  endpointUrl,
  runPath,
  TrainerDaemon,
  type ResultToSend,
  type RunInfo,
  type ScoreEvidenceOf,
  type ServedCheckpoint,
} from "@poai/node";
import { ValidatorDaemon, type ChallengeToAudit, type Decision } from "@poai/node/verifier";
import type { RunRecord } from "@poai/node";
import { keccak256, type Address, type Hash, type Hex } from "viem";

/** Trains nothing: every checkpoint after the first holds random parameters. */
export class NoTrainingTrainer extends TrainerDaemon {
  protected override async trainSegment(spec: TrainingSpec, _seed: Hex, index: number): Promise<Checkpoint> {
    const weights = new Int16Array(modelLayout(spec).parameterCount);
    const bytes = randomBytes(weights.length * 2);
    for (let i = 0; i < weights.length; i++) weights[i] = (bytes.readInt16LE(2 * i) % 256) | 0;
    return { step: (index + 1) * spec.checkpointInterval, weights };
  }
}

/**
 * Trains the first `honestSegments` segments, then stops training and forges the rest of the run:
 * every later checkpoint repeats the last trained parameters under its own step number.
 */
export class ForgingTrainer extends TrainerDaemon {
  honestSegments = 2;
  protected override async trainSegment(
    spec: TrainingSpec,
    seed: Hex,
    index: number,
    from: Checkpoint,
    signal: AbortSignal,
    data?: DatasetData,
  ): Promise<Checkpoint> {
    if (index < this.honestSegments) return super.trainSegment(spec, seed, index, from, signal, data);
    return { step: (index + 1) * spec.checkpointInterval, weights: from.weights };
  }
}

/**
 * Forges every segment with one flipped bit, and defends its forgery in dispute games: in each
 * segment, step `offset` (default: the segment's last) is the engine's but for one bit of an
 * activation (`forgery`, and the low bit of a parameter of its Θ_out); the steps before it are
 * trained by the daemon's backend, those after it train on honestly from the forged parameters.
 * Each segment's claim is a consistent lie down to that one operation, so a game bound to it is
 * decided by the chain's re-execution (which overrules a committee that cleared it), not by a
 * timeout.
 */
export class DisputingForger extends TrainerDaemon {
  forgery: Omit<Forgery, "step"> & { offset?: number } = { slot: 4, byte: 5, bit: 2, parameter: 3 };

  private forgedStep(spec: TrainingSpec, index: number): number {
    const last = spec.checkpointInterval - 1;
    return index * spec.checkpointInterval + Math.min(this.forgery.offset ?? last, last);
  }

  private forgedRun(
    spec: TrainingSpec,
    seed: Hex,
    at: number,
    weights: Int16Array,
    first: number,
    data?: DatasetData,
  ) {
    const { offset: _offset, ...flip } = this.forgery;
    const honest = new RunStates(spec, deriveKey(spec, validateSeed(seed)), weights, first, data);
    return new ForgedRun(honest, { ...flip, step: at });
  }

  protected override async trainSegment(
    spec: TrainingSpec,
    seed: Hex,
    index: number,
    from: Checkpoint,
    _signal: AbortSignal,
    data?: DatasetData,
  ): Promise<Checkpoint> {
    const first = index * spec.checkpointInterval;
    const at = this.forgedStep(spec, index);
    let weights = from.weights;
    if (at > first) {
      const session = await this.backend.open(spec, deriveKey(spec, validateSeed(seed)), data);
      try {
        await session.setWeights(from.weights);
        await session.trainSteps(first, at - first);
        weights = await session.getWeights();
      } finally {
        session.close();
      }
    }
    const run = this.forgedRun(spec, seed, at, weights, at, data);
    const last = run.tensors(first + spec.checkpointInterval - 1).encodings;
    return decodeCheckpoint(spec, last[last.length - 1]);
  }

  protected override async disputeSource(run: RunRecord, segment: number): Promise<StateSource> {
    const stored = this.store.checkpoint(run.id, segment)!;
    const data = await this.datasets.forSpec(run.spec, run.specId);
    const from = decodeCheckpoint(run.spec, stored.bytes, stored.hash);
    const first = segment * run.spec.checkpointInterval;
    return this.forgedRun(
      run.spec,
      run.trainingSeed,
      this.forgedStep(run.spec, segment),
      from.weights,
      first,
      data,
    );
  }
}

/** Trains honestly, but on data of another seed (its own seed hashed once more). */
export class WrongSeedTrainer extends TrainerDaemon {
  protected override trainingSeed(due: DueChallenge): Hex {
    return keccak256(due.seed);
  }
}

/**
 * Copies another trainer's work: after its own checkpoint 0, every checkpoint is the victim's,
 * fetched from the victim's checkpoint server (the victim must have trained the same spec first).
 */
export class CopyingTrainer extends TrainerDaemon {
  victim: { address: Address; endpoint: string } | undefined;
  private round = 0n;

  protected override trainingSeed(due: DueChallenge): Hex {
    this.round = due.round;
    return due.seed;
  }

  protected override async trainSegment(spec: TrainingSpec, _seed: Hex, index: number): Promise<Checkpoint> {
    if (!this.victim) throw new Error("CopyingTrainer needs a victim");
    const id = challengeId(this.victim.address, this.round);
    const response = await fetch(endpointUrl(this.victim.endpoint, runPath(id)));
    if (!response.ok) throw new Error(`the victim has no run to copy yet (HTTP ${response.status})`);
    const run = (await response.json()) as RunInfo;
    const copied = await fetchCheckpoint({
      endpoint: this.victim.endpoint,
      id,
      index: index + 1,
      spec,
      root: run.root,
    });
    return copied.checkpoint;
  }
}

/** Trains and commits honestly, then serves none of its checkpoints. */
export class WithholdingTrainer extends TrainerDaemon {
  protected override serveCheckpoint(): ServedCheckpoint | undefined {
    return undefined;
  }
}

/** Waits until the submission deadline has passed, then trains and sends its result anyway. */
export class LateTrainer extends TrainerDaemon {
  /** Rounds it sent a (late) result for. */
  readonly sentRounds: bigint[] = [];

  protected override sendResult(result: ResultToSend): Promise<Hash> {
    this.sentRounds.push(result.round);
    return super.sendResult(result);
  }

  protected override mayStillSubmit(): boolean {
    return true;
  }

  protected override async work(signal: AbortSignal): Promise<void> {
    const now = await this.chainTime();
    const round = roundAt(this.genesis, this.epochLength, now);
    const windows = await this.client.challenges.getRoundWindows({ round });
    if (now <= windows.deadline) return;
    return super.work(signal);
  }
}

/** Trains honestly and reports a better accuracy than it measured (by `inflationBps`). */
export class InflatingTrainer extends TrainerDaemon {
  inflationBps = 300;
  protected override reportScore(measuredBps: number): number {
    return Math.min(10_000, measuredBps + this.inflationBps);
  }
}

/** Commits `Valid` with the trainer's own reported score, without fetching or replaying anything. */
export class LazyValidator extends ValidatorDaemon {
  protected override async decide(challenge: ChallengeToAudit): Promise<Decision> {
    return { verdict: "Valid", segment: 0, measuredScoreBps: challenge.reportedScoreBps };
  }
}

/**
 * Colludes with `friends`: votes `Valid` on their runs (in both phases, with the score they
 * reported) without auditing them, and audits everyone else honestly.
 */
export class ColludingValidator extends ValidatorDaemon {
  friends = new Set<string>();
  protected override async decide(
    challenge: ChallengeToAudit,
    samples: number[],
    signal: AbortSignal,
  ): Promise<Decision> {
    if (this.friends.has(challenge.trainer.toLowerCase()))
      return { verdict: "Valid", segment: 0, measuredScoreBps: challenge.reportedScoreBps };
    return super.decide(challenge, samples, signal);
  }
}

/**
 * Frames `targets`: votes `Invalid` on their runs (in both phases), naming segment `segment`,
 * without auditing them; audits everyone else honestly. A majority of framers convicts an honest
 * trainer, whose defence overrules them (docs/disputes.md, "Defending a convicted run").
 */
export class FramingValidator extends ValidatorDaemon {
  targets = new Set<string>();
  segment = 1;
  protected override async decide(
    challenge: ChallengeToAudit,
    samples: number[],
    signal: AbortSignal,
  ): Promise<Decision> {
    if (this.targets.has(challenge.trainer.toLowerCase()))
      return { verdict: "Invalid", segment: this.segment, measuredScoreBps: 0 };
    return super.decide(challenge, samples, signal);
  }
}

/** Audits and commits honestly, then never reveals. */
export class SilentValidator extends ValidatorDaemon {
  protected override shouldReveal(): boolean {
    return false;
  }
}

/**
 * Over-reports its held-out accuracy by `extra` examples and defends the lie in score games: its
 * committed predictions are the model's, but it counts `extra` of its wrong ones as right, so its
 * count matches the accuracy it reported; a score game's bisection reaches one of those examples,
 * whose proven prediction is not its label (engine version 2 job runs).
 */
export class ScoreForgingTrainer extends TrainerDaemon {
  extra = 2;
  protected override reportScore(measuredBps: number): number {
    const size = this.evalSize ?? 10_000;
    const correct = Math.round((measuredBps * size) / 10_000);
    return Math.floor(((correct + this.extra) * 10_000) / size);
  }
  /** The spec's evaluation set size (set by the caller: `reportScore` sees only the measured bps). */
  evalSize: number | undefined;
  protected override async scoreEvidence(run: RunRecord, signal?: AbortSignal): Promise<ScoreEvidenceOf> {
    const honest = await super.scoreEvidence(run, signal);
    const s = honest.source;
    const predictions = Int32Array.from(s.predictions);
    let left = this.extra;
    for (let e = 0; e < predictions.length && left > 0; e++)
      if (predictions[e] !== s.labels[e]) {
        predictions[e] = s.labels[e];
        left--;
      }
    return { source: countingOther(s, predictions), checkpoint: honest.checkpoint };
  }
}
