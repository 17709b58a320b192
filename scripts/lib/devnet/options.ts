/**
 * The devnet's options: what `npm run devnet -- --epochs 5 --trainers 4 ...` accepts, validated with
 * messages that name the flag and the value.
 */
import { Command, InvalidArgumentError, Option } from "commander";
import { z } from "zod";

export const BACKENDS = ["auto", "js", "wasm", "cuda"] as const;
export const LOG_LEVELS = ["silent", "error", "warn", "info", "debug"] as const;

/** Accounts the devnet funds from the chain's own: deployer, operators, two delegators, a dApp. */
export const MAX_OPERATORS = 16;

export const devnetOptionsSchema = z
  .object({
    epochs: z.number().int().min(1).max(20),
    trainers: z.number().int().min(1).max(8),
    validators: z.number().int().min(1).max(8),
    cheaters: z.number().int().min(0).max(7),
    absent: z.number().int().min(0).max(7),
    backend: z.enum(BACKENDS),
    rpc: z
      .string()
      .url()
      .refine((u) => /^https?:/.test(u), "an http(s) URL")
      .optional(),
    json: z.boolean(),
    logLevel: z.enum(LOG_LEVELS),
    inference: z.boolean(),
    jobs: z.boolean(),
    federated: z.boolean(),
    disputes: z.boolean(),
    dashboard: z.boolean(),
    dashboardPort: z.number().int().min(0).max(65_535),
    keepAlive: z.boolean(),
  })
  .strict()
  .superRefine((o, ctx) => {
    if (o.cheaters + o.absent >= o.trainers) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ["cheaters"],
        message: `cheaters (${o.cheaters}) + absent (${o.absent}) must leave at least one honest trainer of ${o.trainers}`,
      });
    }
    if (o.trainers + o.validators > MAX_OPERATORS) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ["validators"],
        message: `trainers + validators must be at most ${MAX_OPERATORS}, got ${o.trainers + o.validators}`,
      });
    }
  });

export type DevnetOptions = z.infer<typeof devnetOptionsSchema>;

export const DEFAULT_DEVNET_OPTIONS: DevnetOptions = {
  epochs: 3,
  trainers: 3,
  validators: 3,
  cheaters: 1,
  absent: 1,
  backend: "auto",
  json: false,
  logLevel: "silent",
  inference: true,
  jobs: true,
  federated: true,
  disputes: true,
  dashboard: false,
  dashboardPort: 0,
  keepAlive: false,
};

/** Validates options, naming every offending field and value in one message. */
export function resolveDevnetOptions(input: Partial<DevnetOptions>): DevnetOptions {
  const merged = { ...DEFAULT_DEVNET_OPTIONS, ...input };
  const parsed = devnetOptionsSchema.safeParse(merged);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => {
    const field = issue.path.join(".") || "options";
    const value = (merged as Record<string, unknown>)[String(issue.path[0])];
    return `--${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: ${issue.message} (got ${JSON.stringify(value)})`;
  });
  throw new DevnetOptionsError(`invalid devnet options:\n  ${lines.join("\n  ")}`);
}

export class DevnetOptionsError extends Error {
  override readonly name = "DevnetOptionsError";
}

function integer(flag: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value))
      throw new InvalidArgumentError(`${flag} must be a whole number, got ${JSON.stringify(value)}`);
    return Number(value);
  };
}

/** The command line (`argv` without node and the script); environment variables give defaults. */
export function parseDevnetArgs(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  /** Where help and usage errors go (default: commander's, stdout and stderr). */
  output?: (text: string) => void,
): DevnetOptions {
  const D = DEFAULT_DEVNET_OPTIONS;
  const program = new Command("devnet")
    .description(
      "Runs the PoAI network end to end: deploys the suite, registers operators, runs trainer, validator and inference daemons for a few epochs, settles rewards and prints a report.",
    )
    .exitOverride()
    .configureOutput({
      writeErr: (s) => process.stderr.write(s),
      ...(output && { writeOut: output, writeErr: output }),
    })
    .option(
      "--epochs <n>",
      `epochs (= Proof-of-AI rounds) to play, 1..20 (default: ${D.epochs}, or $POAI_DEVNET_ROUNDS)`,
      integer("--epochs"),
    )
    .option(
      "--trainers <n>",
      `trainers, cheaters and absent ones included, 1..8 (default: ${D.trainers})`,
      integer("--trainers"),
    )
    .option("--validators <n>", `validators, 1..8 (default: ${D.validators})`, integer("--validators"))
    .option(
      "--cheaters <n>",
      `trainers that forge most of their run (default: ${D.cheaters})`,
      integer("--cheaters"),
    )
    .option(
      "--absent <n>",
      `registered trainers that run no daemon (default: ${D.absent})`,
      integer("--absent"),
    )
    .addOption(
      new Option("--backend <kind>", `engine backend of the daemons (default: ${D.backend})`).choices([
        ...BACKENDS,
      ]),
    )
    .option(
      "--rpc <url>",
      "use this JSON-RPC node (e.g. `npx hardhat node`) instead of the in-process chain; daemons run as separate processes (default: the in-process chain)",
    )
    .option(
      "--json",
      "print the report as JSON on stdout, progress on stderr (`npm run devnet -- --json > report.json` gives a file of JSON alone)",
    )
    .addOption(
      new Option(
        "--log-level <level>",
        `the daemons' log level (default: $POAI_LOG_LEVEL or ${D.logLevel})`,
      ).choices([...LOG_LEVELS]),
    )
    .option("--no-inference", "leave out the inference marketplace (default: included)")
    .option("--no-jobs", "leave out the paid MNIST job (default: included when --epochs is 2 or more)")
    .option("--no-federated", "leave out the federated MNIST job (default: included)")
    .option(
      "--no-disputes",
      "leave out the dispute game (a colluding committee clears a forger; the honest validator disputes and wins; default: included in-process)",
    )
    .option("--keep-alive", "keep the chain running after the report, until Ctrl-C")
    .option("--dashboard", "serve the web dashboard on the chain after the report (implies --keep-alive)")
    .option(
      "--dashboard-port <port>",
      "port of the dashboard (default: any free port)",
      integer("--dashboard-port"),
    );
  program.parse([...argv], { from: "user" });
  const o = program.opts<Record<string, unknown>>();
  const fromEnv = (name: string) => (env[name] === undefined ? undefined : Number(env[name]));
  const input: Partial<DevnetOptions> = {};
  const set = <K extends keyof DevnetOptions>(key: K, value: unknown) => {
    if (value !== undefined) input[key] = value as DevnetOptions[K];
  };
  set("epochs", o.epochs ?? fromEnv("POAI_DEVNET_ROUNDS"));
  set("trainers", o.trainers);
  set("validators", o.validators);
  set("cheaters", o.cheaters);
  set("absent", o.absent);
  set("backend", o.backend);
  set("rpc", o.rpc);
  set("json", o.json === true ? true : undefined);
  set("logLevel", o.logLevel ?? env.POAI_LOG_LEVEL);
  set("inference", o.inference === false ? false : undefined);
  set("jobs", o.jobs === false ? false : undefined);
  set("federated", o.federated === false ? false : undefined);
  set("disputes", o.disputes === false ? false : undefined);
  set("dashboard", o.dashboard === true ? true : undefined);
  set("dashboardPort", o.dashboardPort);
  set("keepAlive", o.keepAlive === true || o.dashboard === true ? true : undefined);
  return resolveDevnetOptions(input);
}
