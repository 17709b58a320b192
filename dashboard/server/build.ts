/**
 * Builds the dashboard (Vite) when `dist/` is missing or older than its sources: `poai dashboard`,
 * `npm run devnet -- --dashboard`, the browser test and the benchmark call this first, so a fresh
 * clone needs no separate build command. "Older" is decided by a fingerprint of the sources'
 * contents (the dashboard, the SDK it bundles, and the CLI commands it reuses), kept in
 * `dist/.fingerprint`.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";

export const DASHBOARD_DIR = path.resolve(import.meta.dirname, "..");
const ROOT = path.resolve(DASHBOARD_DIR, "..");
const FINGERPRINT = path.join(DASHBOARD_DIR, "dist", ".fingerprint");

/** What the bundle is built from. */
const SOURCES = [
  "dashboard/src",
  "dashboard/index.html",
  "dashboard/vite.config.ts",
  "dashboard/package.json",
  "sdk/src",
  "sdk/package.json",
  "scripts/cli/commands.ts",
];

function files(entry: string): string[] {
  const full = path.join(ROOT, entry);
  if (!existsSync(full)) return [];
  if (statSync(full).isFile()) return [entry];
  return readdirSync(full, { withFileTypes: true })
    .filter((d) => !d.name.startsWith("."))
    .flatMap((d) => (d.isDirectory() ? files(path.join(entry, d.name)) : [path.join(entry, d.name)]))
    .filter((f) => !/\.(wasm|fatbin|ptx|bin)$/.test(f));
}

/** A hash of every source file's path and contents. */
export function sourceFingerprint(): string {
  const hash = createHash("sha256");
  for (const f of SOURCES.flatMap(files).sort()) {
    hash.update(f.split(path.sep).join("/"));
    hash.update("\0");
    hash.update(readFileSync(path.join(ROOT, f)));
    hash.update("\0");
  }
  return hash.digest("hex");
}

export function isDashboardBuilt(): boolean {
  return (
    existsSync(path.join(DASHBOARD_DIR, "dist", "index.html")) &&
    existsSync(FINGERPRINT) &&
    readFileSync(FINGERPRINT, "utf8").trim() === sourceFingerprint()
  );
}

/**
 * Builds `dashboard/dist/` unless it is up to date. `log` hears one line before a build (it takes
 * a few seconds). Returns whether it built.
 */
export async function ensureDashboardBuilt(
  options: { force?: boolean; log?: (line: string) => void } = {},
): Promise<boolean> {
  if (!options.force && isDashboardBuilt()) return false;
  options.log?.("building the dashboard (Vite) into dashboard/dist …");
  const fingerprint = sourceFingerprint();
  const { build } = await import("vite");
  await build({ configFile: path.join(DASHBOARD_DIR, "vite.config.ts"), logLevel: "warn" });
  writeFileSync(FINGERPRINT, `${fingerprint}\n`);
  return true;
}
