/**
 * Checks that an address book describes the chain a client talks to, before anything is read from
 * or sent to its contracts: the chain id is the book's, every contract used holds code (not an
 * account, not an EIP-7702 delegation), and, where one cheap read says so, is the contract the
 * book names (Staking's `token()` is the book's token, the ChallengeManager's `staking()` is the
 * book's Staking…).
 *
 * `createPoAIClient` runs the checks by itself, once per client and contract: its public client
 * is wrapped (`guardClient`) so that the first request that reads a contract of the book waits
 * for that contract's check, and `sendContractTransaction` checks the contract it calls (and any
 * contract of the book it approves) before it simulates or signs anything. Arguments are still
 * validated first: a check runs only when an action reaches the chain. `verifyDeployment` runs
 * every check on demand (the `poai` commands check the whole book before they act).
 */
import {
  createClient,
  custom,
  decodeFunctionData,
  getAddress,
  isAddress,
  multicall3Abi,
  publicActions,
  type Abi,
  type Address,
  type Chain,
  type Client,
  type EIP1193RequestFn,
  type Hex,
  type Transport,
} from "viem";
import { getChainId, getCode, readContract } from "viem/actions";
import {
  challengeManagerAbi,
  poaiAccessManagerAbi,
  poaiTimelockAbi,
  poaiTokenAbi,
  randomnessBeaconAbi,
  rewardDistributorAbi,
  stakingAbi,
  stakingLensAbi,
  taskRegistryAbi,
} from "./abi/index.js";
import type { PoAIContext } from "./context.js";
import type { PoAIContracts, PoAIDeployment } from "./deployment.js";
import { PoAIDeploymentError } from "./errors.js";

/** A contract of the book, by its key in `contracts` (`"staking"`, `"challengeManager"`…). */
export type ContractKey = keyof PoAIContracts & string;

/** A cheap read that tells a contract apart: `fn()` returns the address the book has for `key`. */
interface Link {
  abi: Abi;
  fn: string;
  /** The book's key of the address `fn()` must return; undefined: the read must only succeed. */
  key?: ContractKey;
}

const LINKS: Partial<Record<ContractKey, Link[]>> = {
  accessManager: [{ abi: poaiAccessManagerAbi, fn: "minSetback" }],
  token: [{ abi: poaiTokenAbi, fn: "decimals" }],
  staking: [
    { abi: stakingAbi, fn: "token", key: "token" },
    { abi: stakingAbi, fn: "authority", key: "accessManager" },
  ],
  stakingLens: [{ abi: stakingLensAbi, fn: "staking", key: "staking" }],
  challengeManager: [
    { abi: challengeManagerAbi, fn: "staking", key: "staking" },
    { abi: challengeManagerAbi, fn: "registry", key: "taskRegistry" },
    { abi: challengeManagerAbi, fn: "beacon", key: "randomnessBeacon" },
  ],
  taskRegistry: [{ abi: taskRegistryAbi, fn: "staking", key: "staking" }],
  randomnessBeacon: [{ abi: randomnessBeaconAbi, fn: "staking", key: "staking" }],
  rewardDistributor: [
    { abi: rewardDistributorAbi, fn: "staking", key: "staking" },
    { abi: rewardDistributorAbi, fn: "challenges", key: "challengeManager" },
  ],
  timelock: [{ abi: poaiTimelockAbi, fn: "getMinDelay" }],
};

/** What `verifyDeployment` found: the chain id and the contracts checked. */
export interface DeploymentReport {
  chainId: number;
  checked: ContractKey[];
}

/** Whether `code` is a contract's code (not empty, not an EIP-7702 delegation designator). */
export function isContractCode(code: string | undefined): boolean {
  if (code === undefined || code === "0x" || code === "") return false;
  return !/^0xef0100[0-9a-fA-F]{40}$/.test(code);
}

/**
 * The checks of one client against one address book, each run once (a verdict is kept; a check
 * the RPC did not let run is tried again next time). Its requests go to `publicClient` directly.
 */
export class DeploymentChecker {
  private readonly done = new Map<string, Promise<unknown>>();
  private readonly keys = new Map<string, ContractKey>();

  constructor(
    readonly deployment: PoAIDeployment,
    private readonly publicClient: Client<Transport, Chain | undefined>,
    private readonly walletClient?: Client<Transport, Chain | undefined> | undefined,
  ) {
    for (const [key, value] of Object.entries(deployment.contracts)) {
      if (value !== undefined) this.keys.set(getAddress(value), key);
    }
  }

  /** The book's key of `address`, if the book names it. */
  keyOf(address: string): ContractKey | undefined {
    return isAddress(address, { strict: false }) ? this.keys.get(getAddress(address)) : undefined;
  }

  private get book(): string {
    const d = this.deployment;
    return `the address book${d.network ? ` of network "${d.network}"` : ""} (chain ${d.chainId})`;
  }

  private once(id: string, check: () => Promise<unknown>): Promise<unknown> {
    let p = this.done.get(id);
    if (!p) {
      p = check();
      this.done.set(id, p);
      p.catch((err: unknown) => {
        if (!(err instanceof PoAIDeploymentError)) this.done.delete(id);
      });
    }
    return p;
  }

  /** The chain is the book's (and the wallet signs for it). */
  chain(): Promise<unknown> {
    return this.once("chain", async () => {
      const expected = this.deployment.chainId;
      const chainId = await getChainId(this.publicClient);
      if (chainId !== expected) {
        throw new PoAIDeploymentError(
          "chainId",
          expected,
          `${this.book} is for chain ${expected}, but the RPC answers chain ${chainId}: use the address ` +
            `book of chain ${chainId}, or the RPC of chain ${expected}. Nothing was sent`,
        );
      }
      const wallet = this.walletClient;
      if (wallet && wallet !== this.publicClient) {
        const walletChain = wallet.chain?.id ?? (await getChainId(wallet).catch(() => undefined));
        if (walletChain !== undefined && walletChain !== chainId) {
          throw new PoAIDeploymentError(
            "walletClient",
            walletChain,
            `the wallet signs for chain ${walletChain}, but ${this.book} and the RPC are chain ${chainId}`,
          );
        }
      }
      return chainId;
    });
  }

  /** `contracts[key]` holds code and answers its cheap reads as the book says. */
  contract(key: ContractKey): Promise<unknown> {
    return this.once(`contract:${key}`, async () => {
      const contracts = this.deployment.contracts;
      const address = contracts[key];
      if (address === undefined) return;
      const code = await getCode(this.publicClient, { address });
      if (!isContractCode(code)) {
        throw new PoAIDeploymentError(
          `contracts.${key}`,
          address,
          `${this.book} names ${address} as its ${key}, but that address holds no contract code on ` +
            `chain ${this.deployment.chainId}: the book is for another chain or an older deployment. ` +
            "Nothing was sent; deploy (poai deploy) or use this chain's address book",
        );
      }
      for (const link of LINKS[key] ?? []) {
        const expected = link.key === undefined ? undefined : contracts[link.key];
        if (link.key !== undefined && expected === undefined) continue;
        let value: unknown;
        try {
          value = await readContract(this.publicClient, { address, abi: link.abi, functionName: link.fn });
        } catch (err) {
          const why = (err as { shortMessage?: string }).shortMessage ?? (err as Error).message;
          throw new PoAIDeploymentError(
            `contracts.${key}`,
            address,
            `${this.book} names ${address} as its ${key}, but it does not answer ${link.fn}() as one ` +
              `(${why.split("\n")[0]}): it is another contract. Nothing was sent`,
          );
        }
        if (
          expected !== undefined &&
          (typeof value !== "string" || getAddress(value) !== getAddress(expected))
        ) {
          throw new PoAIDeploymentError(
            `contracts.${key}`,
            address,
            `${this.book} names ${address} as its ${key}, whose ${link.fn}() is ${String(value)}, not ` +
              `the book's ${link.key} ${expected}: the book mixes deployments. Nothing was sent`,
          );
        }
      }
    });
  }

  /** `address` (not in the book) holds code: what a call with data needs. */
  code(address: Address): Promise<unknown> {
    return this.once(`code:${getAddress(address)}`, async () => {
      const code = await getCode(this.publicClient, { address });
      if (code === undefined || code === "0x")
        throw new PoAIDeploymentError(
          "to",
          address,
          `${address} holds no contract code on chain ${this.deployment.chainId}: nothing was sent to it`,
        );
    });
  }

  /** The chain, then `keys`: throws only a `PoAIDeploymentError` (see `verdictOnly`). */
  async ensure(keys: readonly ContractKey[]): Promise<void> {
    await verdictOnly(this.chain());
    await verdictOnly(inOrder(keys.map((k) => this.contract(k))));
  }

  /**
   * What a write touches: `to` (a contract of the book: the full check; any other address must
   * hold code) and `authorizes` (checked when they are contracts of the book).
   */
  async ensureTargets(to: Address, authorizes: readonly Address[] = []): Promise<void> {
    await verdictOnly(this.chain());
    const checks: Promise<unknown>[] = [];
    const key = this.keyOf(to);
    checks.push(key !== undefined ? this.contract(key) : this.code(to));
    for (const a of authorizes) {
      const k = this.keyOf(a);
      if (k !== undefined) checks.push(this.contract(k));
    }
    await verdictOnly(inOrder(checks));
  }

  /** Every check of `keys`, strictly: an RPC failure is thrown too. */
  async verify(keys: readonly ContractKey[]): Promise<DeploymentReport> {
    await this.chain();
    await inOrder(keys.map((k) => this.contract(k)));
    return { chainId: this.deployment.chainId, checked: [...keys] };
  }
}

/** Waits for every check (they run in parallel) and throws the first failure in list order. */
async function inOrder(checks: readonly Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(checks);
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
}

/**
 * What the automatic checks let through: only a verdict (`PoAIDeploymentError`) stops the action;
 * a check that could not run (the RPC failed) lets the action go on, to fail with its own error,
 * and is tried again at the next action.
 */
async function verdictOnly(check: Promise<unknown>): Promise<void> {
  try {
    await check;
  } catch (err) {
    if (err instanceof PoAIDeploymentError) throw err;
  }
}

/** Every context's checker (created on first use for contexts built without `createPoAIClient`). */
const checkers = new WeakMap<object, DeploymentChecker>();

/** The checker of `ctx`. */
export function checkerOf(ctx: PoAIContext): DeploymentChecker {
  let checker = checkers.get(ctx);
  if (!checker) {
    checker = new DeploymentChecker(ctx.deployment, ctx.publicClient, ctx.walletClient);
    checkers.set(ctx, checker);
  }
  return checker;
}

/** Binds `checker` to `ctx` (what `createPoAIClient` does with the checker of its guarded client). */
export function attachChecker(ctx: PoAIContext, checker: DeploymentChecker): void {
  checkers.set(ctx, checker);
}

type RpcCall = { method: string; params?: unknown };

/** Addresses a JSON-RPC request reads or calls (inside a Multicall3 `aggregate3` too). */
function targetsOf(request: RpcCall, multicall: string | undefined): string[] {
  const first = Array.isArray(request.params) ? (request.params[0] as Record<string, unknown>) : undefined;
  if (!first || typeof first !== "object") return [];
  switch (request.method) {
    case "eth_call":
    case "eth_estimateGas":
    case "eth_createAccessList": {
      const to = first.to;
      if (typeof to !== "string") return [];
      const data = (first.data ?? first.input) as Hex | undefined;
      if (multicall !== undefined && typeof data === "string" && to.toLowerCase() === multicall) {
        try {
          const decoded = decodeFunctionData({ abi: multicall3Abi, data });
          if (decoded.functionName === "aggregate3")
            return [to, ...(decoded.args[0] as readonly { target: string }[]).map((c) => c.target)];
        } catch {
          // not a Multicall3 call this guard reads: the target alone
        }
      }
      return [to];
    }
    case "eth_getLogs":
    case "eth_newFilter": {
      const address = first.address;
      if (typeof address === "string") return [address];
      if (Array.isArray(address)) return address.filter((a): a is string => typeof a === "string");
      return [];
    }
    default:
      return [];
  }
}

/**
 * A client over `client`'s transport whose requests that read a contract of the book wait for
 * that contract's check first (and the chain's, once). Everything else passes straight through.
 */
export function guardClient(
  client: Client<Transport, Chain | undefined>,
  checker: DeploymentChecker,
): Client<Transport, Chain | undefined> {
  const multicall = checker.deployment.contracts.multicall3?.toLowerCase() ?? chainMulticall(client);
  const request = (async (args: RpcCall, options?: unknown) => {
    const keys = [
      ...new Set(
        targetsOf(args, multicall)
          .map((a) => checker.keyOf(a))
          .filter((k): k is ContractKey => k !== undefined),
      ),
    ];
    if (keys.length > 0) await checker.ensure(keys);
    return (client.request as (a: unknown, o?: unknown) => Promise<unknown>)(args, options);
  }) as unknown as EIP1193RequestFn;
  return createClient({
    chain: client.chain,
    transport: custom({ request }, { retryCount: 0, key: client.transport.key, name: client.transport.name }),
    ...(client.batch !== undefined && { batch: client.batch }),
    cacheTime: client.cacheTime,
    pollingInterval: client.pollingInterval,
    ...(client.ccipRead !== undefined && { ccipRead: client.ccipRead }),
    key: client.key,
    name: client.name,
    type: client.type,
  }).extend(publicActions) as unknown as Client<Transport, Chain | undefined>;
}

function chainMulticall(client: Client<Transport, Chain | undefined>): string | undefined {
  const contracts = client.chain?.contracts as { multicall3?: { address?: string } } | undefined;
  return contracts?.multicall3?.address?.toLowerCase();
}

/**
 * Checks the whole address book (or `contracts` of it) against the client's chain: chain id, code,
 * and the cheap interface reads. Resolves with what was checked; throws a `PoAIDeploymentError`
 * naming the first field that does not match, and an RPC error as it is.
 */
export async function verifyDeployment(
  ctx: PoAIContext,
  options: { contracts?: readonly ContractKey[] } = {},
): Promise<DeploymentReport> {
  const keys = (options.contracts ?? (Object.keys(ctx.deployment.contracts) as ContractKey[])).filter(
    (k) => ctx.deployment.contracts[k] !== undefined,
  );
  return checkerOf(ctx).verify(keys);
}

/** Checks `to` and `authorizes` before a write (see `DeploymentChecker.ensureTargets`). */
export function ensureTargets(ctx: PoAIContext, to: Address, authorizes?: readonly Address[]): Promise<void> {
  return checkerOf(ctx).ensureTargets(to, authorizes);
}
