/** The trainer daemon's Prometheus metrics, on a registry of its own (several daemons may share a process). */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { TrainerStore } from "./trainer-store.js";

export type TrainerMetrics = ReturnType<typeof trainerMetrics>;

export function trainerMetrics(registry: Registry, store: () => TrainerStore | undefined) {
  const registers = [registry];
  return {
    checkpoints: new Counter({
      name: "poai_trainer_checkpoints_total",
      help: "Checkpoints trained and written to disk",
      registers,
    }),
    submissions: new Counter({
      name: "poai_trainer_submissions_total",
      help: "Results sent to the chain, by outcome (submitted, rejected)",
      labelNames: ["result"] as const,
      registers,
    }),
    missed: new Counter({
      name: "poai_trainer_missed_total",
      help: "Runs whose deadline passed without a submission",
      registers,
    }),
    trainingSeconds: new Histogram({
      name: "poai_trainer_training_seconds",
      help: "Wall-clock seconds this process spent training a run (resumed runs: the resumed part)",
      buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 1800, 3600],
      registers,
    }),
    currentRound: new Gauge({
      name: "poai_trainer_current_round",
      help: "The round at the chain's latest block",
      registers,
    }),
    measuredScore: new Gauge({
      name: "poai_trainer_measured_score_bps",
      help: "Evaluation accuracy of the last trained run, in basis points",
      registers,
    }),
    servedCheckpoints: new Counter({
      name: "poai_trainer_served_checkpoints_total",
      help: "Checkpoints served over HTTP",
      registers,
    }),
    servedBytes: new Counter({
      name: "poai_trainer_served_bytes_total",
      help: "Checkpoint bytes served over HTTP",
      registers,
    }),
    pruned: new Counter({
      name: "poai_trainer_pruned_runs_total",
      help: "Runs whose checkpoints were deleted after their round's points became final",
      registers,
    }),
    errors: new Counter({
      name: "poai_trainer_errors_total",
      help: "Failed ticks and server errors, by stage",
      labelNames: ["stage"] as const,
      registers,
    }),
    storedCheckpoints: new Gauge({
      name: "poai_trainer_stored_checkpoints",
      help: "Checkpoints on disk",
      registers,
      collect() {
        const s = store();
        if (s?.db.isOpen) this.set(s.totals().checkpoints);
      },
    }),
    storedBytes: new Gauge({
      name: "poai_trainer_stored_bytes",
      help: "Checkpoint bytes on disk",
      registers,
      collect() {
        const s = store();
        if (s?.db.isOpen) this.set(s.totals().bytes);
      },
    }),
  };
}
