/**
 * The evidence of a game at a sampled step, as a validator keeps it on disk: the failed sample and
 * the trainer's answer to it (`StepDispute`), written by the sampling audit when it finds a wrong
 * operation, so that the game can be opened and played later from exactly what the trainer
 * answered, even if the trainer stops answering once it was cleared.
 */
import type { Hex } from "viem";
import type { StepDispute } from "@poai/sdk/compute";
import { parseSampleAnswer } from "../daemon/samples.js";

/** JSON of a {@link StepDispute} (its leaf indices as decimal strings). */
export function encodeStepEvidence(d: StepDispute): string {
  return JSON.stringify(d, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}

/** A {@link StepDispute} from {@link encodeStepEvidence}'s JSON; throws naming a malformed field. */
export function decodeStepEvidence(json: string): StepDispute {
  const v = JSON.parse(json) as Record<string, unknown>;
  const fraud = v.fraud;
  if (fraud !== "value" && fraud !== "link" && fraud !== "state")
    throw new Error(`evidence.fraud must be value, link or state, got ${JSON.stringify(fraud)}`);
  const s = (v.sample ?? {}) as Record<string, unknown>;
  for (const k of ["step", "slot", "byte"])
    if (!Number.isSafeInteger(s[k]) || (s[k] as number) < 0)
      throw new Error(`evidence.sample.${k} must be a whole number, got ${JSON.stringify(s[k])}`);
  const answer = parseSampleAnswer(v.answer, "evidence.answer");
  return {
    fraud,
    sample: { step: s.step as number, slot: s.slot as number, byte: s.byte as number },
    answer,
    state: answer.state,
    ...(v.next !== undefined && answer.next && { next: answer.next }),
  };
}

/** The dispute store's key of the evidence kept for segment `segment` of challenge `id`. */
export const evidenceKey = (id: Hex, segment: number) => `step-evidence:${id.toLowerCase()}:${segment}`;
