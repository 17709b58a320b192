/**
 * Operation-sampling audits over real HTTP: the trainer's routes (`checkpointRoutes` and
 * `sampleRoutes`, answering from the segment's states as the trainer daemon does) and the
 * validator's `auditBySampling`. A tiny spec is forced into sampling mode by a replay budget of 0
 * bytes. The score is checked from the trainer's evaluation trace (`evalSampleRoutes`), never from
 * the final checkpoint. Then the daemons themselves on the in-process chain: a trainer daemon commits its step
 * roots and answers, a validator daemon audits by sampling and judges.
 */
import { expect } from "chai";
import { keccak256, type Hex } from "viem";
import {
  EvalTrace,
  RunStates,
  answerEvalSamples,
  auditModeFor,
  commitCheckpoints,
  deriveKey,
  encodeCheckpoint,
  evalExamples,
  evaluate,
  modelLayout,
  train,
  type Checkpoint,
  type RunCommitment,
  type TrainingSpec,
} from "../../sdk/src/compute/index.js";
import {
  CheckpointFetchError,
  MAX_SAMPLES_PER_REQUEST,
  checkpointRoutes,
  evalSamplesPath,
  evalSampleRoutes,
  fetchCheckpoint,
  fetchCheckpointHash,
  fetchSampleAnswers,
  sampleRoutes,
  samplesPath,
  serve,
  type RunningServer,
} from "../../node/src/daemon/index.js";
import path from "node:path";
import { challengeId } from "../../sdk/src/index.js";
import { TrainerDaemon } from "../../node/src/node/index.js";
import type { RunRecord } from "../../node/src/node/trainer-store.js";
import { answerSamples, segmentStepRoot } from "../../node/src/node/trainer-samples.js";
import { ValidatorDaemon, auditBySampling } from "../../node/src/verifier/index.js";
import { driveRounds } from "../../scripts/lib/daemon-network.js";
import { daemonWorld, type DaemonWorld } from "../fixtures/daemons.js";

const spec: TrainingSpec = {
  version: 1,
  widths: [6, 5, 3],
  batchSize: 4,
  steps: 6,
  checkpointInterval: 2,
  lrShift: 3,
  evalSize: 8,
};
const SEGMENTS = spec.steps / spec.checkpointInterval;
const SEED = keccak256(new TextEncoder().encode("sampling test seed"));
const OTHER_SEED = keccak256(new TextEncoder().encode("another run"));
const AUDIT_SEED = keccak256(new TextEncoder().encode("audit seed, drawn after the commitment"));
const ID = keccak256(new TextEncoder().encode("sampling test challenge"));
const KEY = deriveKey(spec, SEED);

interface Trained {
  checkpoints: Checkpoint[];
  bytes: Uint8Array[];
  /** The states of each segment, as its trainer holds them. */
  sources: RunStates[];
  /** The evaluation trace of its final parameters on the challenge's examples. */
  evaluation: EvalTrace;
}

async function trained(seed: Hex): Promise<Trained> {
  const checkpoints: Checkpoint[] = [];
  await train(spec, seed, { backend: "js", onCheckpoint: (r) => void checkpoints.push(r.checkpoint) });
  const key = deriveKey(spec, seed);
  return {
    checkpoints,
    bytes: checkpoints.map((c) => encodeCheckpoint(spec, c)),
    sources: checkpoints.slice(0, -1).map((c) => new RunStates(spec, key, c.weights, c.step)),
    evaluation: new EvalTrace(spec, KEY, checkpoints[checkpoints.length - 1].weights),
  };
}

/** How a trainer serves: what it committed, what it answers samples from, what step root it sends. */
interface Serving {
  commitment: RunCommitment;
  bytes: Uint8Array[];
  answerFrom: RunStates[];
  servedStepRoot?: (index: number) => Hex;
  /** The evaluation trace it answers evaluation samples from. */
  evaluateFrom: EvalTrace;
  /** Counts GET requests (bodies) of the final checkpoint. */
  onFinalBody?: () => void;
}

async function serving(s: Serving): Promise<RunningServer> {
  const run = {
    id: ID,
    round: "1",
    specId: keccak256("0x00"),
    root: s.commitment.root,
    checkpoints: SEGMENTS + 1,
  };
  const lookup = (id: Hex) => (id === ID ? run : undefined);
  const checkpoints = checkpointRoutes({
    run: lookup,
    checkpoint: (_id, index) => ({
      bytes: s.bytes[index],
      hash: keccak256(s.bytes[index]),
      parameterRoot: s.commitment.parameterRoots[index],
      stepRoot: s.servedStepRoot?.(index) ?? s.commitment.stepRoots[index],
      proof: s.commitment.proof(index),
    }),
  }).map((r) => ({
    ...r,
    handler: (ctx: Parameters<typeof r.handler>[0]) => {
      if (ctx.method === "GET" && ctx.params.index === String(SEGMENTS)) s.onFinalBody?.();
      return r.handler(ctx);
    },
  }));
  return serve([
    ...checkpoints,
    ...evalSampleRoutes({
      run: lookup,
      spec: (id) => (id === ID ? spec : undefined),
      answer: async (_id, samples) => answerEvalSamples(s.evaluateFrom, samples),
    }),
    ...sampleRoutes({
      run: lookup,
      spec: (id) => (id === ID ? spec : undefined),
      answer: async (_id, segment, samples) => answerSamples(s.answerFrom[segment], spec, segment, samples),
    }),
  ]);
}

const stepRootsOf = (t: Trained, evaluation = t.evaluation) => [
  ...t.sources.map((source, i) => segmentStepRoot(source, spec, i)),
  evaluation.root,
];

describe("daemons: operation-sampling audits", function () {
  this.timeout(120_000);
  let honest: Trained;
  let other: Trained;
  let commitment: RunCommitment;
  let scoreBps: number;
  const servers: RunningServer[] = [];
  const server = async (s: Omit<Serving, "evaluateFrom"> & { evaluateFrom?: EvalTrace }) => {
    const running = await serving({ evaluateFrom: honest.evaluation, ...s });
    servers.push(running);
    return running.url;
  };
  const audit = (endpoint: string, root: Hex, evalExamplesChecked = 4) =>
    auditBySampling({
      spec,
      seed: SEED,
      id: ID,
      root,
      endpoint,
      samples: [0, 2],
      auditSeed: AUDIT_SEED,
      operationSamples: 12,
      evalExamples: evalExamplesChecked,
      evalHiddenOps: 2,
      backend: "js",
      attempts: 1,
      timeoutMs: 5_000,
    });

  before(async () => {
    honest = await trained(SEED);
    other = await trained(OTHER_SEED);
    commitment = commitCheckpoints(honest.bytes, stepRootsOf(honest));
    scoreBps = (await evaluate(spec, SEED, honest.checkpoints[SEGMENTS], { backend: "js" })).accuracyBps;
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  it("puts a spec in sampling mode only past the replay budget", () => {
    expect(auditModeFor(spec).mode).to.equal("segment-replay");
    expect(auditModeFor(spec, 0).mode).to.equal("operation-sampling");
  });

  it("passes an honest trainer and measures its score without fetching the final checkpoint", async () => {
    let finalBodies = 0;
    const endpoint = await server({
      commitment,
      bytes: honest.bytes,
      answerFrom: honest.sources,
      onFinalBody: () => finalBodies++,
    });
    const result = await audit(endpoint, commitment.root);
    expect(result.verdict, result.reason).to.equal("Valid");
    expect(result.measuredScoreBps).to.equal(scoreBps);
    // 12 operations in each of 2 segments, and 4 evaluation examples
    expect(result.samplesChecked).to.equal(28);
    expect(result.answerBytes).to.be.greaterThan(0);
    // no checkpoint is fetched whole: the score comes from the evaluation samples
    expect(finalBodies).to.equal(0);
    expect(result.checkpointsFetched).to.equal(0);
    expect(result.bytesFetched).to.equal(0);
    expect(result.reason).to.match(/4 sampled evaluation example\(s\) hold/);
  });

  // Catches a validator that scores the committed predictions without checking that they are the
  // argmax of outputs computed from the final parameters: this trainer commits (in its evaluation
  // root, before the audit seed) the label of every example as its prediction, a score of 100%.
  it("judges Invalid a trainer that claims a higher score with predictions it did not compute", async () => {
    class Claimed extends EvalTrace {
      protected override predict(e: number): number {
        return evalExamples(spec, KEY, e, 1).labels[0];
      }
    }
    const claimed = new Claimed(spec, KEY, honest.checkpoints[SEGMENTS].weights);
    expect(claimed.accuracyBps).to.be.greaterThan(scoreBps);
    const c = commitCheckpoints(honest.bytes, stepRootsOf(honest, claimed));
    const endpoint = await server({
      commitment: c,
      bytes: honest.bytes,
      answerFrom: honest.sources,
      evaluateFrom: claimed,
    });
    const result = await audit(endpoint, c.root, 8);
    expect(result.verdict, result.reason).to.equal("Invalid");
    expect(result.segment).to.equal(SEGMENTS - 1);
    expect(result.reason).to.match(
      /example \d+: the committed prediction is class \d, the argmax of its outputs is \d/,
    );
  });

  // Catches a validator that takes an example's activations as given: the outputs are raised to the
  // label (every prediction right), or traced from other parameters than the final checkpoint's.
  it("judges Invalid an evaluation trace that does not follow from the final parameters", async () => {
    class Raised extends EvalTrace {
      protected override activations(first: number, x: Int32Array, rows: number): Int32Array[] {
        const acts = super.activations(first, x, rows);
        const { labels } = evalExamples(spec, KEY, first, rows);
        for (let r = 0; r < rows; r++)
          for (let c = 0; c < 3; c++) acts[2][r * 3 + c] = c === labels[r] ? 127 : -127;
        return acts;
      }
    }
    const raised = new Raised(spec, KEY, honest.checkpoints[SEGMENTS].weights);
    const better = new EvalTrace(spec, KEY, other.checkpoints[SEGMENTS].weights);
    for (const [trace, reason] of [
      [raised, /A_2\[\d\] holds -?\d+, its fold gives/],
      [better, /Θ is not the final checkpoint's parameter root/],
    ] as const) {
      const c = commitCheckpoints(honest.bytes, stepRootsOf(honest, trace));
      const endpoint = await server({
        commitment: c,
        bytes: honest.bytes,
        answerFrom: honest.sources,
        evaluateFrom: trace,
      });
      const result = await audit(endpoint, c.root);
      expect(result.verdict, result.reason).to.equal("Invalid");
      expect(result.segment).to.equal(SEGMENTS - 1);
      expect(result.reason).to.match(reason);
    }
    // and a final leaf that commits no evaluation root
    const bare = commitCheckpoints(honest.bytes, [
      ...stepRootsOf(honest).slice(0, -1),
      `0x${"00".repeat(32)}`,
    ]);
    const endpoint = await server({ commitment: bare, bytes: honest.bytes, answerFrom: honest.sources });
    const result = await audit(endpoint, bare.root);
    expect(result.verdict).to.equal("Invalid");
    expect(result.reason).to.match(/commits no evaluation root/);
  });

  // Catches a validator that trusts the values of an answer: the trainer committed its run's step
  // states and answers from another run's (every operation of which is right in itself).
  it("judges Invalid a trainer whose answers are not the states it committed", async () => {
    const endpoint = await server({ commitment, bytes: honest.bytes, answerFrom: other.sources });
    const result = await audit(endpoint, commitment.root);
    expect(result.verdict).to.equal("Invalid");
    expect(result.segment).to.equal(0);
    expect(result.reason).to.match(
      /sample 0 of segment 0 .* does not hold: state: step \d is not in the committed/,
    );
  });

  // Catches a validator that reads the step root from anywhere but the proven leaf: the trainer
  // committed step roots of another run's states and answers with its own.
  it("judges Invalid a trainer whose committed step root is not its segment's states", async () => {
    const forged = commitCheckpoints(honest.bytes, stepRootsOf(other));
    const endpoint = await server({ commitment: forged, bytes: honest.bytes, answerFrom: honest.sources });
    const result = await audit(endpoint, forged.root);
    expect(result.verdict).to.equal("Invalid");
    expect(result.reason).to.match(/not in the committed step-state root/);
  });

  // Catches a validator that takes the data slots (X, TS, LBL) as proven: this trainer starts from
  // the seed's initial parameters and trains, every operation right, on another seed's data.
  it("judges Invalid a trainer that trains on other data, every operation of its states right", async () => {
    const otherKey = deriveKey(spec, OTHER_SEED);
    const checkpoints: Checkpoint[] = [honest.checkpoints[0]];
    const sources: RunStates[] = [];
    for (let i = 0; i < SEGMENTS; i++) {
      const from = checkpoints[i];
      const source = new RunStates(spec, otherKey, from.weights, from.step);
      sources.push(source);
      const last = source.trace(from.step + spec.checkpointInterval - 1);
      checkpoints.push({ step: from.step + spec.checkpointInterval, weights: last.thetaOut });
    }
    const t: Trained = {
      checkpoints,
      bytes: checkpoints.map((c) => encodeCheckpoint(spec, c)),
      sources,
      evaluation: new EvalTrace(spec, KEY, checkpoints[SEGMENTS].weights),
    };
    const c = commitCheckpoints(t.bytes, stepRootsOf(t));
    const endpoint = await server({ commitment: c, bytes: t.bytes, answerFrom: sources });
    const result = await audit(endpoint, c.root);
    expect(result.verdict, result.reason).to.equal("Invalid");
    // an operand of the data slots, or the step's committed data roots, not the step's data
    expect(result.reason).to.match(
      /does not hold: data: ((X|TS|LBL) byte \d+|the committed (X|TS|LBL) root) of step \d+ is/,
    );
  });

  it("judges Invalid a run of a sampling-mode spec that commits no step roots", async () => {
    const bare = commitCheckpoints(honest.bytes);
    const endpoint = await server({ commitment: bare, bytes: honest.bytes, answerFrom: honest.sources });
    const result = await audit(endpoint, bare.root);
    expect(result.verdict).to.equal("Invalid");
    expect(result.segment).to.equal(0);
    expect(result.reason).to.match(/commits no step-state root/);
  });

  // Catches a client that takes the served step root without proving it in the leaf.
  it("refuses a checkpoint served with a step root other than the committed one, like a wrong hash", async () => {
    const forgedRoot = stepRootsOf(other)[0];
    const endpoint = await server({
      commitment,
      bytes: honest.bytes,
      answerFrom: honest.sources,
      servedStepRoot: (i) => (i === 0 ? forgedRoot : commitment.stepRoots[i]),
    });
    const err = await fetchCheckpointHash({ endpoint, id: ID, index: 0, spec, root: commitment.root }).catch(
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(CheckpointFetchError);
    expect((err as CheckpointFetchError).kind).to.equal("unproven");
    expect((err as Error).message).to.contain(`step root ${forgedRoot}`);
    const result = await audit(endpoint, commitment.root);
    expect(result.verdict).to.equal("Unavailable");
  });

  it("answers only well-formed sample requests, naming the field and the value", async () => {
    const endpoint = await server({ commitment, bytes: honest.bytes, answerFrom: honest.sources });
    const post = (body: unknown) =>
      fetch(`${endpoint}${samplesPath(ID)}`, { method: "POST", body: JSON.stringify(body) });
    const cases: [unknown, RegExp][] = [
      [
        { segment: SEGMENTS, samples: [{ step: 0, slot: 4, byte: 0 }] },
        /segment must be an integer in 0\.\.2, got 3/,
      ],
      [{ segment: 0, samples: [] }, /samples must be an array of 1\.\.64 samples, got 0 samples/],
      [
        { segment: 0, samples: [{ step: 2, slot: 4, byte: 0 }] },
        /samples\[0\]\.step must be an integer in 0\.\.1, got 2/,
      ],
      [
        { segment: 0, samples: [{ step: 0, slot: 1, byte: 0 }] },
        /samples\[0\]\.slot must be a slot with a rule/,
      ],
      [
        { segment: 0, samples: [{ step: 0, slot: 4, byte: 1e6 }] },
        /samples\[0\]\.byte must be an integer in 0\.\.\d+, got 1000000/,
      ],
    ];
    for (const [body, message] of cases) {
      const res = await post(body);
      expect(res.status).to.equal(400);
      expect(((await res.json()) as { error: string }).error).to.match(message);
    }
    const big = await fetch(`${endpoint}${samplesPath(ID)}`, { method: "POST", body: "x".repeat(20_000) });
    expect(big.status).to.equal(413);

    const postEval = (body: unknown) =>
      fetch(`${endpoint}${evalSamplesPath(ID)}`, { method: "POST", body: JSON.stringify(body) });
    const evalCases: [unknown, RegExp][] = [
      [[1, 2], /the body must be a JSON object \{ samples \}, got \[1,2\]/],
      [{ samples: [] }, /samples must be an array of 1\.\.64 examples, got 0 examples/],
      [{ samples: [{ example: 8, ops: [] }] }, /samples\[0\]\.example must be an integer in 0\.\.7, got 8/],
      [
        { samples: [{ example: 0 }] },
        /samples\[0\]\.ops must be an array of at most 16 elements, got undefined/,
      ],
      [
        { samples: [{ example: 0, ops: [{ slot: 3, byte: 0 }] }] },
        /samples\[0\]\.ops\[0\]\.slot must be an integer in 2\.\.2, got 3/,
      ],
      [
        { samples: [{ example: 1, ops: [{ slot: 2, byte: 5 }] }] },
        /samples\[0\]\.ops\[0\]\.byte must be an integer in 0\.\.4, got 5/,
      ],
    ];
    for (const [body, message] of evalCases) {
      const res = await postEval(body);
      expect(res.status).to.equal(400);
      expect(((await res.json()) as { error: string }).error).to.match(message);
    }
    const bigEval = await fetch(`${endpoint}${evalSamplesPath(ID)}`, {
      method: "POST",
      body: "x".repeat(20_000),
    });
    expect(bigEval.status).to.equal(413);
    const okEval = await postEval({ samples: [{ example: 7, ops: [{ slot: 2, byte: 4 }] }] });
    expect(okEval.status).to.equal(200);
    const many = Array.from({ length: MAX_SAMPLES_PER_REQUEST + 1 }, () => ({ step: 0, slot: 4, byte: 0 }));
    expect((await post({ segment: 0, samples: many })).status).to.equal(400);
    const ok = await fetchSampleAnswers({
      endpoint,
      id: ID,
      segment: 1,
      samples: [{ step: 1, slot: 4, byte: 3 }],
    });
    expect(ok.answers).to.have.length(1);
    expect(ok.answers[0]).to.not.be.instanceOf(Error);
  });
});

/**
 * A trainer daemon that commits its run's step states honestly, then answers samples from another
 * run's states once its result is sent (it learned the samples and tries other values).
 */
class SwitchingTrainer extends TrainerDaemon {
  sent = false;
  protected override async disputeSource(run: RunRecord, segment: number, signal?: AbortSignal) {
    if (!this.sent) return super.disputeSource(run, segment, signal);
    const other = keccak256(new TextEncoder().encode("not the run's seed"));
    return super.disputeSource({ ...run, trainingSeed: other }, segment, signal);
  }
  protected override async sendResult(result: Parameters<TrainerDaemon["sendResult"]>[0]) {
    const hash = await super.sendResult(result);
    this.sent = true;
    return hash;
  }
}

describe("daemons: validator daemons audit an operation-sampling spec", function () {
  this.timeout(300_000);
  let w: DaemonWorld;
  const trainers: TrainerDaemon[] = [];
  const validators: ValidatorDaemon[] = [];
  const errors: string[] = [];

  before(async () => {
    w = await daemonWorld({ trainers: 2, validators: 3 });
    for (const [i, Class] of [TrainerDaemon, SwitchingTrainer].entries())
      trainers.push(
        await Class.create({
          client: w.trainers[i].client,
          databasePath: path.join(w.tempDir(`trainer-${i}`), "trainer.db"),
          backend: "wasm",
          progress: "off",
          logLevel: "silent",
          replayBudgetBytes: 0,
        }),
      );
    for (const [i, op] of w.validators.entries())
      validators.push(
        await ValidatorDaemon.create({
          client: op.client,
          dbPath: path.join(w.tempDir(`validator-${i}`), "validator.db"),
          backend: "wasm",
          fetchTimeoutMs: 2_000,
          fetchAttempts: 2,
          logLevel: "silent",
          replayBudgetBytes: 0,
          operationSamples: 16,
        }),
      );
    await driveRounds({
      windows: w.windows,
      advanceTo: w.advanceTo,
      trainers,
      validators,
      from: 1n,
      to: 1n,
      onError: (d, err) => errors.push(`${d.constructor.name}: ${(err as Error).message}`),
    });
  });
  after(async () => {
    for (const d of [...trainers, ...validators]) await d.stop();
    w?.cleanup();
  });

  it("judges the honest trainer Valid and the one whose answers are not its committed states Fraud", async () => {
    expect(errors).to.deep.equal([]);
    const status = async (i: number) =>
      (await w.admin.client.challenges.getChallenge({ id: challengeId(w.trainers[i].address, 1n) })).status;
    expect(await status(0)).to.equal("Valid");
    expect(await status(1)).to.equal("Fraud");
    const [member] = await w.admin.client.challenges.getMembers({
      id: challengeId(w.trainers[1].address, 1n),
    });
    expect(member.verdict).to.equal("Invalid");
  });

  it("commits nonzero step roots in the trainer's checkpoint leaves, proven under the submitted root", async () => {
    const id = challengeId(w.trainers[0].address, 1n);
    const { resultRoot } = await w.admin.client.challenges.getChallenge({ id });
    const leaf = await fetchCheckpointHash({
      endpoint: trainers[0].endpoint,
      id,
      index: 0,
      spec: w.spec,
      root: resultRoot,
    });
    expect(leaf.stepRoot).to.not.equal(`0x${"00".repeat(32)}`);
    // the final leaf commits the evaluation root of the final parameters
    const final = await fetchCheckpoint({
      endpoint: trainers[0].endpoint,
      id,
      index: modelLayout(w.spec).checkpointCount - 1,
      spec: w.spec,
      root: resultRoot,
    });
    const { seed } = await w.admin.client.challenges.getChallenge({ id });
    const key = deriveKey(w.spec, seed);
    expect(final.stepRoot).to.equal(new EvalTrace(w.spec, key, final.checkpoint.weights).root);
  });
});
