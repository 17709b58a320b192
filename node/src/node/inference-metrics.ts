/** The inference node's Prometheus metrics, on a registry of its own (several daemons may share a process). */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { InferenceStore } from "./inference-store.js";

export type InferenceMetrics = ReturnType<typeof inferenceMetrics>;

export function inferenceMetrics(registry: Registry, store: () => InferenceStore | undefined) {
  const registers = [registry];
  return {
    deliveries: new Counter({
      name: "poai_inference_deliveries_total",
      help: "Deliveries sent to the Coordinator, by outcome (delivered, reverted)",
      labelNames: ["result"] as const,
      registers,
    }),
    skipped: new Counter({
      name: "poai_inference_skipped_total",
      help: "Intervals not delivered, by reason (simulation, full, late, wallet, failed)",
      labelNames: ["reason"] as const,
      registers,
    }),
    containerRuns: new Counter({
      name: "poai_inference_container_runs_total",
      help: "Container runs, by container and outcome (ok, or the failure kind)",
      labelNames: ["container", "result"] as const,
      registers,
    }),
    containerSeconds: new Histogram({
      name: "poai_inference_container_seconds",
      help: "Wall-clock seconds of one container run",
      labelNames: ["container"] as const,
      buckets: [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 180],
      registers,
    }),
    ignored: new Counter({
      name: "poai_inference_ignored_subscriptions_total",
      help: "Subscriptions a filter refused, by filter (container, consumer, payment, wallet)",
      labelNames: ["filter"] as const,
      registers,
    }),
    errors: new Counter({
      name: "poai_inference_errors_total",
      help: "Failed ticks and server errors, by stage",
      labelNames: ["stage"] as const,
      registers,
    }),
    headBlock: new Gauge({ name: "poai_inference_head_block", help: "The chain's latest block", registers }),
    cursorBlock: new Gauge({
      name: "poai_inference_cursor_block",
      help: "The last block whose subscriptions the node has read",
      registers,
    }),
    activeTrainer: new Gauge({
      name: "poai_inference_active_trainer",
      help: "1 while the node's account is an active trainer (it delivers only then)",
      registers,
    }),
    subscriptions: new Gauge({
      name: "poai_inference_subscriptions",
      help: "Subscriptions the node knows, by state",
      labelNames: ["state"] as const,
      registers,
      collect() {
        const s = store();
        if (!s?.db.isOpen) return;
        for (const [state, n] of Object.entries(s.subscriptionCounts())) this.set({ state }, n);
      },
    }),
    intervals: new Gauge({
      name: "poai_inference_intervals",
      help: "(subscription, interval) pairs the node worked on, by delivery state",
      labelNames: ["state"] as const,
      registers,
      collect() {
        const s = store();
        if (!s?.db.isOpen) return;
        for (const [state, n] of Object.entries(s.deliveryCounts())) this.set({ state }, n);
      },
    }),
  };
}
