/**
 * Federated training on the integer engine: a participant trains the current global model on its
 * private shard (`localUpdate`), a validator scores each update on held-out data (`scoreModel`),
 * and anyone recomputes the next global model from the included updates (`fedAvg`): an integer
 * FedAvg weighted by shard size, bit-exact on every platform and independent of the order of the
 * updates. Model hashes are checkpoint hashes (`checkpointHash` at step 0), so the same bytes
 * travel between participants, validators and the chain as any checkpoint.
 *
 * FedAvg rule, per parameter i: `round(sum_p(n_p * w_p[i]) / sum_p(n_p))`, ties rounded up
 * (towards +infinity), computed exactly on integers: `floor((2 * S + N) / (2 * N))`.
 */
import { encodeAbiParameters, keccak256, type Hex } from "viem";
import { PARAMETER_LIMIT } from "./backend.js";
import { checkpointHash, CheckpointError } from "./checkpoint.js";
import type { DatasetData } from "./dataset.js";
import { openRunSession, type EngineOptions, type EvalScore } from "./engine.js";
import { modelLayout, validateSpec, type TrainingSpec } from "./spec.js";

/** Most updates one aggregate takes (the contract's participant bound). */
export const MAX_FED_UPDATES = 16;
/** Largest shard size a weight may carry (uint32, as committed on chain). */
export const MAX_FED_SAMPLES = 2 ** 32 - 1;

/** Thrown for federated inputs that cannot be aggregated or trained; names the field and value. */
export class FederatedError extends Error {
  override readonly name = "FederatedError";
}

/** One participant's update: its local model and the size of the shard it trained on. */
export interface FedUpdate {
  readonly weights: Int16Array;
  readonly samples: number;
}

/**
 * The shard-size-weighted integer average of `updates` (see the module comment). Exact: every
 * intermediate value is an integer below 2^53, so the result is the same bits on every platform
 * and for every order of `updates`.
 */
export function fedAvg(updates: readonly FedUpdate[]): Int16Array {
  if (!Array.isArray(updates) || updates.length === 0 || updates.length > MAX_FED_UPDATES) {
    throw new FederatedError(
      `updates must hold 1..${MAX_FED_UPDATES} updates, got ${Array.isArray(updates) ? updates.length : String(updates)}`,
    );
  }
  const size = updates[0].weights?.length;
  let total = 0;
  for (const [p, u] of updates.entries()) {
    if (!(u.weights instanceof Int16Array) || u.weights.length !== size) {
      throw new FederatedError(
        `updates[${p}].weights must be an Int16Array of ${size} parameters, got ${u.weights instanceof Int16Array ? u.weights.length : String(u.weights)}`,
      );
    }
    if (!Number.isSafeInteger(u.samples) || u.samples < 1 || u.samples > MAX_FED_SAMPLES) {
      throw new FederatedError(
        `updates[${p}].samples must be an integer in 1..${MAX_FED_SAMPLES}, got ${u.samples}`,
      );
    }
    const at = u.weights.indexOf(-PARAMETER_LIMIT - 1);
    if (at >= 0)
      throw new FederatedError(`updates[${p}].weights[${at}] must be in -32767..32767, got -32768`);
    total += u.samples;
  }
  // |sum| <= 16 * (2^32 - 1) * 32767 < 2^51, so 2 * sum + total < 2^53: exact in a double.
  const out = new Int16Array(size);
  const twoN = 2 * total;
  for (let i = 0; i < size; i++) {
    let s = 0;
    for (const u of updates) s += u.samples * u.weights[i];
    const num = 2 * s + total;
    let q = Math.floor(num / twoN);
    // The quotient of two exact integers can round across an integer: correct it exactly.
    if (q * twoN > num) q -= 1;
    else if ((q + 1) * twoN <= num) q += 1;
    out[i] = q;
  }
  return out;
}

/** The hash of a model: the checkpoint hash of `weights` at step 0 under `spec`. */
export function modelHash(spec: TrainingSpec, weights: Int16Array): Hex {
  return checkpointHash(spec, { step: 0, weights });
}

/** The spec a participant trains locally: the job's spec over its own shard. */
export function localSpec(spec: TrainingSpec, shard: DatasetData): TrainingSpec {
  const s = validateSpec(spec);
  if (s.version !== 2)
    throw new FederatedError(`a federated spec must be engine version 2, got ${s.version}`);
  if (s.steps !== s.checkpointInterval) {
    throw new FederatedError(
      `a federated spec trains one segment per round: steps ${s.steps} must equal checkpointInterval ${s.checkpointInterval}`,
    );
  }
  return validateSpec({ ...s, evalSize: Math.min(s.evalSize, shard.ref.evalCount), dataset: shard.ref });
}

/** The seed of participant `participant`'s local training in round `round` of job `jobId`. */
export function localSeed(jobId: bigint, round: number, participant: Hex): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: "string" }, { type: "uint256" }, { type: "uint256" }, { type: "address" }],
      ["poai.federated.local", jobId, BigInt(round), participant],
    ),
  );
}

/**
 * One round of local training: `spec.steps` SGD steps of the job's spec from the global model
 * `weights`, on the participant's `shard` (its private data), with `seed` (`localSeed`).
 * Returns the local model (the update the participant commits).
 */
export async function localUpdate(
  spec: TrainingSpec,
  shard: DatasetData,
  weights: Int16Array,
  seed: Hex,
  options: Pick<EngineOptions, "backend"> = {},
): Promise<Int16Array> {
  const s = localSpec(spec, shard);
  checkWeights(s, weights, "weights");
  const session = await openRunSession(s, seed, { ...options, data: shard });
  try {
    return (await session.replaySegment(0, weights)).weights;
  } finally {
    session.close();
  }
}

/** The initial global model of a federated job: the seed-derived parameters of its spec. */
export async function initialModel(
  spec: TrainingSpec,
  shard: DatasetData,
  seed: Hex,
  options: Pick<EngineOptions, "backend"> = {},
): Promise<Int16Array> {
  const session = await openRunSession(localSpec(spec, shard), seed, { ...options, data: shard });
  try {
    return session.initial.weights;
  } finally {
    session.close();
  }
}

/**
 * Accuracy of `weights` on the held-out part of `heldOut` (all of it): what a validator reveals as
 * an update's score.
 */
export async function scoreModel(
  spec: TrainingSpec,
  heldOut: DatasetData,
  weights: Int16Array,
  options: Pick<EngineOptions, "backend"> = {},
): Promise<EvalScore> {
  const s = validateSpec({ ...validateSpec(spec), evalSize: heldOut.ref.evalCount, dataset: heldOut.ref });
  checkWeights(s, weights, "weights");
  const session = await openRunSession(s, `0x${"00".repeat(31)}01`, { ...options, data: heldOut });
  try {
    return await session.evaluate(weights);
  } finally {
    session.close();
  }
}

function checkWeights(spec: TrainingSpec, weights: Int16Array, field: string): void {
  const n = modelLayout(spec).parameterCount;
  if (!(weights instanceof Int16Array) || weights.length !== n) {
    throw new CheckpointError(
      `${field} must be an Int16Array of ${n} parameters, got ${weights instanceof Int16Array ? weights.length : String(weights)}`,
    );
  }
}

/** `keccak256(abi.encode(jobId, round, participant, updateHash, salt))`, as the contract checks it. */
export function updateCommitment(
  jobId: bigint,
  round: bigint,
  participant: Hex,
  updateHash: Hex,
  salt: Hex,
): Hex {
  return keccak256(
    encodeAbiParameters(
      [
        { type: "uint256" },
        { type: "uint256" },
        { type: "address" },
        { type: "bytes32" },
        { type: "bytes32" },
      ],
      [jobId, round, participant, updateHash, salt],
    ),
  );
}

/** `keccak256(abi.encode(jobId, round, validator, baseModel, baseScoreBps, scoresBps, salt))`. */
export function scoreCommitment(
  jobId: bigint,
  round: bigint,
  validator: Hex,
  baseModel: Hex,
  baseScoreBps: number,
  scoresBps: readonly number[],
  salt: Hex,
): Hex {
  return keccak256(
    encodeAbiParameters(
      [
        { type: "uint256" },
        { type: "uint256" },
        { type: "address" },
        { type: "bytes32" },
        { type: "uint16" },
        { type: "uint16[]" },
        { type: "bytes32" },
      ],
      [jobId, round, validator, baseModel, baseScoreBps, [...scoresBps], salt],
    ),
  );
}

/**
 * The lower stake-weighted median, as the contract computes it (entries of weight 0 ignored; 0
 * when nothing weighs): the least value whose cumulative weight reaches half the total.
 */
export function weightedMedian(values: readonly number[], weights: readonly bigint[]): number {
  const order = values.map((v, i) => i).filter((i) => weights[i] > 0n);
  order.sort((a, b) => values[a] - values[b] || a - b);
  const total = order.reduce((s, i) => s + weights[i], 0n);
  if (total === 0n) return 0;
  let acc = 0n;
  for (const i of order) {
    acc += weights[i];
    if (2n * acc >= total) return values[i];
  }
  return values[order[order.length - 1]];
}
