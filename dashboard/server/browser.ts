/**
 * Headless Chromium for the dashboard's browser test and benchmark: Debian's `chromium` package
 * driven by `playwright-core` (no browser download). `findChromium` installs the package with
 * apt-get when it is missing and this process may (root, or password-less sudo); otherwise it says
 * why, and the caller skips.
 *
 * The flags keep Chromium off the network (no background, component, sync or QUIC connections: CI
 * machines have no internet) and every launch gets a fresh profile directory.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { BrowserContext } from "playwright-core";

export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
] as const;

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/snap/bin/chromium"];

function found(): string | undefined {
  const env = process.env.POAI_CHROMIUM;
  if (env && existsSync(env)) return env;
  return CANDIDATES.find((p) => existsSync(p));
}

function canRun(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: "ignore", timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * The path of a Chromium executable, installing Debian's `chromium` package if needed; or the
 * reason there is none (`{ skip }`).
 */
export function findChromium(log: (line: string) => void = () => {}): { path: string } | { skip: string } {
  const have = found();
  if (have) return { path: have };
  if (!existsSync("/usr/bin/apt-get"))
    return {
      skip: "no Chromium at /usr/bin/chromium and no apt-get to install it (set POAI_CHROMIUM to a Chromium binary)",
    };
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  const sudo = !root && canRun("sudo", ["-n", "true"]);
  if (!root && !sudo)
    return {
      skip: "Chromium is not installed and installing it needs root: run `apt-get install -y chromium` as root",
    };
  const apt = (args: string[]) =>
    root
      ? execFileSync("apt-get", args, {
          stdio: "ignore",
          timeout: 600_000,
          env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
        })
      : execFileSync("sudo", ["-n", "apt-get", ...args], { stdio: "ignore", timeout: 600_000 });
  log("installing Chromium (apt-get install -y chromium) …");
  try {
    apt(["update", "-qq"]);
    apt(["install", "-y", "-qq", "chromium"]);
  } catch (err) {
    return { skip: `apt-get could not install chromium: ${(err as Error).message.split("\n")[0]}` };
  }
  const now = found();
  return now ? { path: now } : { skip: "apt-get installed chromium but no executable was found" };
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Starts Chromium with a fresh profile. */
export async function launchChromium(
  executablePath: string,
  viewport = { width: 1440, height: 900 },
): Promise<Browser> {
  const { chromium } = await import("playwright-core");
  const profile = mkdtempSync(path.join(tmpdir(), "poai-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: [...CHROMIUM_FLAGS],
    viewport,
    timeout: 120_000,
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
