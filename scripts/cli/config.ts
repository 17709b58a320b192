/**
 * The `--config <file>` of every `poai` command: a JSON file of defaults for the options (the
 * command line wins). Validated with zod; an error names the file, the field and the value.
 * Relative paths in it are relative to the file.
 *
 * ```json
 * {
 *   "rpc": "https://rpc.example.org",
 *   "network": "base-sepolia",
 *   "trainer": { "database": "trainer.sqlite", "host": "0.0.0.0", "port": 8600,
 *                "publicEndpoint": "https://trainer.example.org", "backend": "wasm", "pollMs": 5000 },
 *   "validator": { "database": "validator.sqlite", "port": 9102, "pollMs": 5000 },
 *   "inference": { "database": "inference.sqlite", "port": 7301, "paymentWallet": "0x…",
 *                  "containers": [
 *                    { "id": "poai-classifier", "checkpoint": "final.ckpt",
 *                      "acceptedPayments": { "0xTOKEN…": "1000000000000000000" } },
 *                    { "id": "llm-summarizer", "url": "http://127.0.0.1:3000", "bearer": "…",
 *                      "generatesProofs": false, "allowedConsumers": ["0xDAPP…"] } ],
 *                  "api": { "host": "0.0.0.0", "port": 4000,
 *                           "rateLimit": { "requests": 60, "periodSeconds": 60 } },
 *                  "infernetConfig": "infernet/config.json" }
 * }
 * ```
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { describeZodError } from "../lib/zod-message.js";
import { OperatorCommandError } from "./commands.js";

const port = z.number().int().min(0).max(65_535);
const positiveInt = (max: number) => z.number().int().min(1).max(max);
const logLevel = z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);
const backend = z.enum(["js", "wasm", "auto"]);
const networkName = z.string().regex(/^[A-Za-z0-9_-]+$/, "a network name of letters, digits, '-' or '_'");
const url = z
  .string()
  .url("an http(s) URL")
  .refine((v) => /^https?:\/\//.test(v), "an http(s) URL");
const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "an address (0x and 40 hex digits)");
const wei = z.union([
  z.string().regex(/^\d{1,78}$/, "a whole number of wei as a decimal string"),
  z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
]);

/**
 * One container of `inference.containers`: the built-in container of a registered model
 * (`checkpoint`: its checkpoint file) or an Infernet container over HTTP (`url`), with its filters.
 */
const inferenceContainer = z
  .object({
    id: z
      .string()
      .min(1)
      .max(256)
      .refine((v) => !v.includes(","), "a container id without commas"),
    checkpoint: z.string().min(1).optional(),
    url: url.optional(),
    timeoutMs: positiveInt(3_600_000).optional(),
    acceptedPayments: z.record(address, wei).optional(),
    allowedConsumers: z.array(address).optional(),
    allowedDelegateAddresses: z.array(address).optional(),
    allowedIps: z.array(z.string().min(1).max(64)).optional(),
    external: z.boolean().optional(),
    generatesProofs: z.boolean().optional(),
    bearer: z.string().min(1).max(4096).optional(),
    headers: z.record(z.string().min(1).max(256), z.string().max(4096)).optional(),
    description: z.string().max(1024).optional(),
    maxResponseBytes: positiveInt(1 << 30).optional(),
    maxDeliveryBytes: positiveInt(1 << 24).optional(),
    redirects: z.enum(["none", "same-origin", "any"]).optional(),
    failOnErrorStatus: z.boolean().optional(),
  })
  .strict()
  .refine((c) => (c.checkpoint === undefined) !== (c.url === undefined), {
    message:
      "exactly one of checkpoint (a registered model's checkpoint file) or url (an Infernet container)",
  });

export const cliConfigSchema = z
  .object({
    rpc: url.optional(),
    network: networkName.optional(),
    deployment: z.string().min(1).optional(),
    deploymentsDir: z.string().min(1).optional(),
    deploy: z
      .object({
        parameters: z.string().min(1).optional(),
        deploymentId: z
          .string()
          .regex(/^[A-Za-z0-9_-]+$/, "letters, digits, '-' or '_'")
          .optional(),
        journal: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
    trainer: z
      .object({
        database: z.string().min(1).optional(),
        host: z.string().min(1).optional(),
        port: port.optional(),
        publicEndpoint: url.optional(),
        registerEndpoint: z.boolean().optional(),
        claimJobs: z.boolean().optional(),
        gpuClass: z.string().max(64).optional(),
        backend: backend.optional(),
        retentionSeconds: z.number().int().min(0).optional(),
        progress: z.enum(["auto", "bar", "log", "off"]).optional(),
        confirmations: positiveInt(64).optional(),
        rpcAttempts: positiveInt(100).optional(),
        pollMs: positiveInt(3_600_000).optional(),
        stuckAfterMs: positiveInt(86_400_000).optional(),
        logLevel: logLevel.optional(),
        replayBudgetBytes: z.number().int().min(0).optional(),
      })
      .strict()
      .optional(),
    validator: z
      .object({
        database: z.string().min(1).optional(),
        host: z.string().min(1).optional(),
        port: port.optional(),
        backend: backend.optional(),
        fetchTimeoutMs: positiveInt(3_600_000).optional(),
        fetchAttempts: positiveInt(100).optional(),
        auditBudgetMs: positiveInt(86_400_000).optional(),
        replayBudgetBytes: z.number().int().min(0).optional(),
        operationSamples: positiveInt(1024).optional(),
        rpcAttempts: positiveInt(100).optional(),
        scanBlockRange: positiveInt(1_000_000).optional(),
        fromBlock: z.number().int().min(0).optional(),
        beacon: z.boolean().optional(),
        finalize: z.boolean().optional(),
        reportMissed: z.boolean().optional(),
        pollMs: positiveInt(3_600_000).optional(),
        stuckAfterMs: positiveInt(86_400_000).optional(),
        logLevel: logLevel.optional(),
      })
      .strict()
      .optional(),
    inference: z
      .object({
        database: z.string().min(1).optional(),
        host: z.string().min(1).optional(),
        port: port.optional(),
        paymentWallet: address.optional(),
        lagBlocks: z.number().int().min(0).max(10_000).optional(),
        fromBlock: z.number().int().min(0).optional(),
        maxAttempts: positiveInt(100).optional(),
        confirmations: positiveInt(64).optional(),
        rpcAttempts: positiveInt(100).optional(),
        pollMs: positiveInt(3_600_000).optional(),
        logLevel: logLevel.optional(),
        concurrency: positiveInt(256).optional(),
        containers: z.array(inferenceContainer).optional(),
        /** An infernet-node config.json to take containers, the REST API and chain settings from. */
        infernetConfig: z.string().min(1).optional(),
        api: z
          .object({
            host: z.string().min(1).optional(),
            port: port.optional(),
            rateLimit: z
              .object({ requests: positiveInt(1_000_000), periodSeconds: positiveInt(86_400) })
              .strict()
              .optional(),
            maxBodyBytes: positiveInt(1 << 30).optional(),
            maxRunningJobs: positiveInt(1_000_000).optional(),
          })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type CliConfig = z.infer<typeof cliConfigSchema>;

/** Validates a parsed config object; `label` names it in errors. Paths become absolute (relative to `baseDir`). */
export function parseCliConfig(input: unknown, label: string, baseDir: string): CliConfig {
  const parsed = cliConfigSchema.safeParse(input);
  if (!parsed.success)
    throw new OperatorCommandError(`config ${label}: ${describeZodError(input, parsed.error)}`);
  const c = parsed.data;
  const abs = (p: string | undefined) => (p === undefined || p === ":memory:" ? p : path.resolve(baseDir, p));
  return {
    ...c,
    ...(c.deployment !== undefined && { deployment: abs(c.deployment) }),
    ...(c.deploymentsDir !== undefined && { deploymentsDir: abs(c.deploymentsDir) }),
    ...(c.deploy && {
      deploy: { ...c.deploy, parameters: abs(c.deploy.parameters), journal: abs(c.deploy.journal) },
    }),
    ...(c.trainer && { trainer: { ...c.trainer, database: abs(c.trainer.database) } }),
    ...(c.validator && { validator: { ...c.validator, database: abs(c.validator.database) } }),
    ...(c.inference && {
      inference: {
        ...c.inference,
        database: abs(c.inference.database),
        ...(c.inference.infernetConfig !== undefined && { infernetConfig: abs(c.inference.infernetConfig) }),
        ...(c.inference.containers && {
          containers: c.inference.containers.map((k) => ({
            ...k,
            ...(k.checkpoint !== undefined && { checkpoint: abs(k.checkpoint) }),
          })),
        }),
      },
    }),
  };
}

/** Reads `--config <file>`. */
export async function readCliConfig(file: string): Promise<CliConfig> {
  let raw: string;
  try {
    raw = await readFile(file, "utf8");
  } catch {
    throw new OperatorCommandError(`--config ${file}: no such file`);
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    throw new OperatorCommandError(`config ${file} is not JSON: ${(err as Error).message}`);
  }
  return parseCliConfig(json, file, path.dirname(path.resolve(file)));
}
