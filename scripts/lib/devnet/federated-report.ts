/** The devnet report's federated section, as text. */
import { formatEther } from "viem";
import type { FederatedSummary } from "./federated.js";

const pct = (bps: number) => `${(bps / 100).toFixed(2)}%`;
const poai = (wei: string) =>
  `${Number(formatEther(BigInt(wei))).toLocaleString("en-US", { maximumFractionDigits: 4 })} POAI`;

export function formatFederated(f: FederatedSummary): string[] {
  const out = [
    `Federated job ${f.jobId} (MNIST over ${f.participants.length} participants, [${f.spec.widths.join(", ")}], ${f.spec.rounds} rounds of ${f.spec.localSteps} local steps)`,
  ];
  for (const p of f.participants)
    out.push(
      `  ${p.name}: ${p.split}, ${p.samples} digits; earned ${poai(p.earned)}, strikes ${p.strikes}${p.slashed ? ", slashed" : ""}`,
    );
  out.push(`  global model held-out accuracy: initial ${pct(f.initialAccuracyBps)}`);
  for (const r of f.rounds)
    out.push(
      `  round ${r.round}: ${pct(r.globalAccuracyBps)}  (${r.updates.map((u) => `${u.participant} ${pct(u.scoreBps)} ${u.included ? "in" : "EXCLUDED"}`).join(", ")})`,
    );
  out.push(
    `  final ${pct(f.finalAccuracyBps)} against ${pct(f.pooledAccuracyBps)} for the same training on the pooled honest shards`,
    `  paid: participants ${poai(f.paidParticipants)}, committee ${poai(f.paidCommittee)}, refunded ${poai(f.refunded)}; ${f.balanced ? "balanced, escrow empty" : "NOT BALANCED"}`,
  );
  return out;
}
