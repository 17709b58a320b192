import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseDeployment, type PoAIDeployment } from "@poai/sdk";
import type { StakingDeployment } from "./deploy.js";

/** `deployments/<network>.json`, relative to the project root. */
export function addressBookPath(
  network: string,
  dir = path.resolve(import.meta.dirname, "../../deployments"),
): string {
  if (!/^[A-Za-z0-9_-]+$/.test(network))
    throw new Error(`network name must be letters, digits, '-' or '_', got ${JSON.stringify(network)}`);
  return path.join(dir, `${network}.json`);
}

/** The address book of a deployment made by `deployStaking`. */
export function toAddressBook(
  network: string,
  chainId: number,
  deployBlock: bigint,
  d: Pick<StakingDeployment, "manager" | "token" | "staking" | "lens" | "params" | "epochLength">,
) {
  return {
    chainId,
    network,
    deployBlock: deployBlock.toString(),
    contracts: {
      accessManager: d.manager.address,
      token: d.token.address,
      staking: d.staking.address,
      stakingLens: d.lens.address,
    },
    parameters: {
      epochLength: d.epochLength.toString(),
      ...Object.fromEntries(Object.entries(d.params).map(([k, v]) => [k, String(v)])),
    },
  };
}

export async function writeAddressBook(file: string, book: ReturnType<typeof toAddressBook>): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(book, null, 2) + "\n");
}

/** Reads and validates an address book; the error names the file and the bad field. */
export async function readAddressBook(file: string): Promise<PoAIDeployment> {
  let raw: string;
  try {
    raw = await readFile(file, "utf8");
  } catch (cause) {
    throw new Error(
      `no deployment at ${file}: deploy first (npx hardhat poai deploy --network <name>) or pass --deployment <file>`,
      {
        cause,
      },
    );
  }
  try {
    return parseDeployment(JSON.parse(raw));
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`, { cause: err });
  }
}
