/**
 * The evidence of a game at a sampled step, as a validator keeps it on disk: the failed sample and
 * the trainer's answer to it (`StepDispute`), written by the sampling audit when it finds a wrong
 * operation, so that the game can be opened and played later from exactly what the trainer
 * answered, even if the trainer stops answering once it was cleared. A `data` game keeps the
 * step's data as the validator computed it too (`StepDataEvidence`: the data slots' bytes, the
 * run's key, engine version 2's example proofs), so it is played after a restart without fetching
 * the dataset again.
 */
import { isHex, type Hex } from "viem";
import type { StepDataEvidence, StepDispute } from "@poai/sdk/compute";
import { parseLeafProof, parseSampleAnswer } from "../daemon/samples.js";

/** JSON of a {@link StepDispute} (its leaf indices as decimal strings). */
export function encodeStepEvidence(d: StepDispute): string {
  return JSON.stringify(d, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}

/** A {@link StepDispute} from {@link encodeStepEvidence}'s JSON; throws naming a malformed field. */
export function decodeStepEvidence(json: string): StepDispute {
  const v = JSON.parse(json) as Record<string, unknown>;
  const fraud = v.fraud;
  if (fraud !== "value" && fraud !== "link" && fraud !== "state" && fraud !== "data")
    throw new Error(`evidence.fraud must be value, link, state or data, got ${JSON.stringify(fraud)}`);
  const s = (v.sample ?? {}) as Record<string, unknown>;
  for (const k of ["step", "slot", "byte"])
    if (!Number.isSafeInteger(s[k]) || (s[k] as number) < 0)
      throw new Error(`evidence.sample.${k} must be a whole number, got ${JSON.stringify(s[k])}`);
  const answer = parseSampleAnswer(v.answer, "evidence.answer");
  const data = fraud === "data" ? parseDataEvidence(v.data) : undefined;
  return {
    fraud,
    sample: { step: s.step as number, slot: s.slot as number, byte: s.byte as number },
    answer,
    state: answer.state,
    ...(v.next !== undefined && answer.next && { next: answer.next }),
    ...(data && { data }),
  };
}

/** Bytes of an example's leaf in the game: its label (uint16 LE), then its features root. */
const EXAMPLE_BYTES = 34;

function parseDataEvidence(v: unknown): StepDataEvidence {
  const d = (typeof v === "object" && v !== null ? v : {}) as Record<string, unknown>;
  if (d.slot !== 1 && d.slot !== 2 && d.slot !== 3)
    throw new Error(`evidence.data.slot must be 1, 2 or 3, got ${JSON.stringify(d.slot)}`);
  const key = (d.key ?? {}) as Record<string, unknown>;
  for (const k of ["k0", "k1"])
    if (!Number.isSafeInteger(key[k]) || (key[k] as number) < 0 || (key[k] as number) >= 2 ** 32)
      throw new Error(`evidence.data.key.${k} must be a 32-bit word, got ${JSON.stringify(key[k])}`);
  if (!Array.isArray(d.bytes) || d.bytes.length !== 3 || !d.bytes.every((b) => isHex(b)))
    throw new Error("evidence.data.bytes must be the three data slots' bytes (hex)");
  if (d.examples !== undefined && !Array.isArray(d.examples))
    throw new Error("evidence.data.examples must be an array of leaf proofs");
  return {
    slot: d.slot,
    key: { k0: key.k0 as number, k1: key.k1 as number },
    bytes: d.bytes as Hex[],
    ...(d.examples !== undefined && {
      examples: (d.examples as unknown[]).map((p, i) =>
        parseLeafProof(p, `evidence.data.examples[${i}]`, EXAMPLE_BYTES),
      ),
    }),
  };
}

/** The dispute store's key of the evidence kept for segment `segment` of challenge `id`. */
export const evidenceKey = (id: Hex, segment: number) => `step-evidence:${id.toLowerCase()}:${segment}`;
