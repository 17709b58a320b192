/**
 * Reading address books from disk (Node only): `deployments/<network>.json`, as `poai deploy`
 * writes them. The browser-safe `parseDeployment` in the SDK root validates what is read.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { parseDeployment, type PoAIDeployment } from "@poai/sdk";
import { PoAIInputError } from "@poai/sdk";

export interface LoadDeploymentOptions {
  /** Folder of the address books; default `deployments/` under the current directory. */
  dir?: string;
}

/** Reads and validates one address book file; errors name the file (and the bad field). */
export async function readDeploymentFile(file: string): Promise<PoAIDeployment> {
  let raw: string;
  try {
    raw = await readFile(file, "utf8");
  } catch {
    throw new PoAIInputError(
      "deployment",
      file,
      "an address book file that exists (deploy first: npx poai deploy)",
    );
  }
  try {
    return parseDeployment(raw);
  } catch (err) {
    if (err instanceof PoAIInputError) {
      throw new PoAIInputError(`${file}: ${err.field}`, err.value, err.expected);
    }
    throw err;
  }
}

/**
 * The deployment of a network by name (`dir/<network>.json`) or by chain id (the one address
 * book in `dir` for that chain; files that are no address book are passed over, and named in the
 * error when no book matches).
 *
 * ```ts
 * import { loadDeployment } from "@poai/node";
 * const deployment = await loadDeployment("base-sepolia");
 * const same = await loadDeployment(84532, { dir: "./deployments" });
 * ```
 */
export async function loadDeployment(
  network: string | number,
  options: LoadDeploymentOptions = {},
): Promise<PoAIDeployment> {
  const dir = path.resolve(options.dir ?? "deployments");
  if (typeof network === "string") {
    if (!/^[A-Za-z0-9_.-]+$/.test(network) || network.startsWith(".")) {
      throw new PoAIInputError("network", network, "a network name of letters, digits, '.', '-' or '_'");
    }
    return readDeploymentFile(path.join(dir, `${network}.json`));
  }
  if (!Number.isSafeInteger(network) || network <= 0) {
    throw new PoAIInputError("chainId", network, "a positive integer chain id");
  }
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith(".json")).sort();
  } catch {
    throw new PoAIInputError("dir", dir, "a folder of address books that exists");
  }
  const matches: { file: string; deployment: PoAIDeployment }[] = [];
  const unreadable: string[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    try {
      const deployment = await readDeploymentFile(file);
      if (deployment.chainId === network) matches.push({ file, deployment });
    } catch (err) {
      unreadable.push((err as Error).message);
    }
  }
  if (matches.length === 0) {
    const broken = unreadable.length ? `; unreadable: ${unreadable.join("; ")}` : "";
    throw new PoAIInputError(
      "chainId",
      network,
      `the chain id of an address book in ${dir} (found ${names.length - unreadable.length} for other chains${broken})`,
    );
  }
  if (matches.length > 1) {
    throw new PoAIInputError(
      "chainId",
      network,
      `one address book in ${dir} for that chain, found ${matches.length}: ${matches.map((m) => path.basename(m.file)).join(", ")}; load it by network name`,
    );
  }
  return matches[0]!.deployment;
}
