/**
 * The Grafana dashboard and the Prometheus alert rules of `ops/` name only metrics the daemons
 * really serve: a trainer, a validator and an inference node are started (in-process, on the
 * in-process chain, with their HTTP servers), their `/metrics` are read, and every metric the
 * dashboard's queries and the rules' expressions name must be among them, queried only by labels
 * it has. Catches a dashboard or a rule left behind by a renamed metric or label, which would
 * show an empty panel or never fire.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { load } from "js-yaml";
import type { Registry } from "prom-client";
import { InferenceNode, PoAIModelContainer, TrainerDaemon } from "../../sdk/src/node/index.js";
import { ValidatorDaemon } from "../../sdk/src/verifier/index.js";
import { daemonWorld } from "../fixtures/daemons.js";
import { PROJECT_ROOT } from "../fixtures/hardhat-node.js";
import { MODEL, MODEL_SPEC, connectInference } from "../sdk/inference-fixture.js";

const OPS = path.join(PROJECT_ROOT, "ops");
/** Labels Prometheus adds to every series it scrapes, and the histogram bucket label. */
const SCRAPE_LABELS = new Set(["instance", "job", "le"]);

interface Served {
  /** Metric family → type, from the `# TYPE` lines of `/metrics`. */
  types: Map<string, string>;
  /** Metric family → its label names (from the daemon's registry). */
  labels: Map<string, string[]>;
}

async function served(url: string, registry: Registry, into: Served): Promise<void> {
  const text = await (await fetch(`${url}/metrics`)).text();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) into.types.set(m[1]!, m[2]!);
  for (const name of into.types.keys()) {
    const metric = registry.getSingleMetric(name) as unknown as { labelNames?: string[] } | undefined;
    if (metric) into.labels.set(name, [...(metric.labelNames ?? [])]);
  }
}

/** The metric family a series name belongs to (`x_bucket` of histogram `x` is `x`). */
function family(name: string, s: Served): string | undefined {
  if (s.types.has(name)) return name;
  const base = name.replace(/_(bucket|sum|count)$/, "");
  return s.types.get(base) === "histogram" ? base : undefined;
}

/** Checks one PromQL expression; returns the problems found. */
function check(where: string, expr: string, s: Served): string[] {
  const problems: string[] = [];
  const names = [...expr.matchAll(/\b(poai_[a-z0-9_]+)\b/g)].map((m) => m[1]!);
  if (names.length === 0 && !/\bup\{/.test(expr)) problems.push(`${where}: names no PoAI metric: ${expr}`);
  const allowed = new Set(SCRAPE_LABELS);
  for (const name of names) {
    const f = family(name, s);
    if (!f) problems.push(`${where}: ${name} is not a metric the daemons serve`);
    else for (const l of s.labels.get(f) ?? []) allowed.add(l);
  }
  // Label matchers of each selector, and the labels of `by (...)` / `without (...)`.
  for (const m of expr.matchAll(/\b(poai_[a-z0-9_]+)\{([^}]*)\}/g)) {
    const f = family(m[1]!, s);
    const own = new Set([...SCRAPE_LABELS, ...(f ? (s.labels.get(f) ?? []) : [])]);
    for (const matcher of m[2]!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)/g))
      if (!own.has(matcher[1]!)) problems.push(`${where}: ${m[1]} has no label ${matcher[1]}`);
  }
  for (const m of expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g))
    for (const label of m[1]!
      .split(",")
      .map((x) => x.trim())
      .filter(Boolean))
      if (!allowed.has(label)) problems.push(`${where}: groups by ${label}, which none of its metrics has`);
  return problems;
}

describe("observability: the dashboard and the alert rules name only what the daemons serve", function () {
  this.timeout(180_000);
  const dirs: string[] = [];
  const stops: (() => Promise<void>)[] = [];
  after(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it("finds every metric and label of ops/grafana and ops/prometheus at the daemons' /metrics", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "poai-observability-"));
    dirs.push(dir);
    const s: Served = { types: new Map(), labels: new Map() };

    const w = await daemonWorld({ trainers: 1, validators: 1 });
    const trainer = await TrainerDaemon.create({
      client: w.trainers[0]!.client,
      databasePath: path.join(dir, "trainer.sqlite"),
      backend: "js",
      logLevel: "silent",
      progress: "off",
    });
    stops.push(() => trainer.stop());
    const validator = await ValidatorDaemon.create({
      client: w.validators[0]!.client,
      dbPath: path.join(dir, "validator.db"),
      backend: "js",
      logLevel: "silent",
    });
    stops.push(() => validator.stop());
    const net = await connectInference();
    const f = await net.load();
    const node = await InferenceNode.create({
      client: f.client(2),
      databasePath: path.join(dir, "inference.sqlite"),
      containers: [
        {
          container: await PoAIModelContainer.load({
            id: MODEL,
            widths: MODEL_SPEC.widths,
            checkpoint: f.model.checkpoint,
            weightsHash: f.model.weightsHash,
          }),
        },
      ],
      paymentWallet: f.nodeWallets[1]!,
      logLevel: "silent",
    });
    stops.push(() => node.stop());
    await served(trainer.serverUrl, trainer.metrics, s);
    await served(validator.url!, validator.registry, s);
    await served(node.serverUrl, node.metrics, s);
    for (const prefix of ["poai_trainer_", "poai_validator_", "poai_inference_"])
      expect(
        [...s.types.keys()].some((n) => n.startsWith(prefix)),
        `${prefix} metrics served`,
      ).to.equal(true);

    const problems: string[] = [];
    // The dashboard: every target of every panel.
    const dashboard = JSON.parse(readFileSync(path.join(OPS, "grafana", "poai-daemons.json"), "utf8")) as {
      uid: string;
      panels: { title: string; type: string; targets?: { expr: string }[] }[];
    };
    expect(dashboard.uid).to.equal("poai-daemons");
    const targets = dashboard.panels.flatMap((p) =>
      (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })),
    );
    expect(targets.length).to.be.greaterThan(20);
    for (const t of targets) problems.push(...check(`dashboard panel "${t.panel}"`, t.expr, s));
    const shown = new Set(
      targets.flatMap((t) => [...t.expr.matchAll(/\b(poai_[a-z0-9_]+)\b/g)].map((m) => family(m[1]!, s))),
    );

    // The alert rules: well formed, and every expression checked.
    const rules = load(readFileSync(path.join(OPS, "prometheus", "alerts.yml"), "utf8")) as {
      groups: {
        name: string;
        rules: {
          alert: string;
          expr: string;
          labels: { severity: string };
          annotations: { summary: string };
        }[];
      }[];
    };
    const alerts = rules.groups.flatMap((g) => g.rules);
    expect(alerts.length).to.be.greaterThan(10);
    expect(new Set(alerts.map((a) => a.alert)).size, "alert names are unique").to.equal(alerts.length);
    for (const a of alerts) {
      expect(a.labels.severity, a.alert).to.be.oneOf(["critical", "warning", "info"]);
      expect(a.annotations.summary, a.alert).to.be.a("string");
      problems.push(...check(`alert ${a.alert}`, a.expr, s));
    }
    const config = load(readFileSync(path.join(OPS, "prometheus", "prometheus.yml"), "utf8")) as {
      rule_files: string[];
      scrape_configs: { job_name: string }[];
    };
    expect(config.rule_files).to.include("alerts.yml");
    for (const job of config.scrape_configs) expect(job.job_name).to.match(/^poai-/);

    expect(problems, problems.join("\n")).to.deep.equal([]);
    // The dashboard shows every metric the daemons serve today.
    expect([...s.types.keys()].filter((n) => n.startsWith("poai_") && !shown.has(n))).to.deep.equal([]);
  });
});
