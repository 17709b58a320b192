/**
 * What a governor does, and what anyone may do to move rewards along, from the command line:
 *
 * - `poai spec register|activate|retire|list`: the training specs challenges run (governance);
 * - `poai rewards fund|emission|close|settle|status`: funding the emission reserve (anyone),
 *   the emission per epoch (governance), closing epochs whose points are final and settling each
 *   operator's share into its pool (anyone);
 * - `poai roles list|grant|revoke|renounce|handover`: who holds which role, and handing roles over.
 *
 * Governance calls go through `governed` (`govern.ts`): sent directly by a key that holds the role
 * (a local chain's development fast path), otherwise scheduled on the `PoAITimelock` and executed
 * by running the same command again after the delay; `--dry-run` prints the calldata of each form
 * for a Safe. Every command works on any network.
 */
import { readFile } from "node:fs/promises";
import {
  challengeManagerAbi,
  poaiAccessManagerAbi,
  poaiTimelockAbi,
  rewardDistributorAbi,
  specId as specIdOf,
  taskRegistryAbi,
  type PoAIClient,
  type SpecParams,
  type TrainingSpec,
} from "@poai/sdk";
import { getAddress, type Abi, type Address, type Hex } from "viem";
import { getContractEvents, readContract } from "viem/actions";
import {
  OperatorCommandError,
  allOperators,
  chainTime,
  fundsFor,
  parseAddress,
  parseAmount,
  parseBytes32,
  type CommandResult,
} from "./commands.js";
import { duration, percent, poai, table, when } from "./format.js";
import { TIMELOCK_ROLES, governed } from "./govern.js";
import { int, type CommandKit, type SendingOptions } from "./kit.js";
import { execute, sender, type PlannedCall, type TxGate } from "./send.js";
import { ROLES, roleHolders, roleNameOf } from "../lib/roles.js";

const fail = (message: string): never => {
  throw new OperatorCommandError(message);
};

// =================================================================================================
// Specs
// =================================================================================================

/**
 * Built-in specs for trying PoAI out. `demo` trains in milliseconds on any CPU and learns well
 * above chance (20 segments of 10 steps; the daemon tests' spec).
 */
export const SPEC_PRESETS: Record<string, TrainingSpec> = {
  demo: {
    version: 1,
    widths: [8, 16, 4],
    batchSize: 8,
    steps: 200,
    checkpointInterval: 10,
    lrShift: 4,
    evalSize: 256,
  },
};

export interface SpecFile {
  spec: TrainingSpec & { dataset?: unknown };
  params: SpecParams;
  /** Dataset source URLs of an engine version 2 spec. */
  sources?: string[];
}

function registryOf(client: PoAIClient): Address {
  return (
    client.deployment.contracts.taskRegistry ??
    fail("the address book names no taskRegistry: this deployment has no Proof-of-AI contracts")
  );
}

/** The epoch length (seconds) of the deployment's challenge rounds. */
async function epochLengthOf(client: PoAIClient): Promise<bigint> {
  const manager =
    client.deployment.contracts.challengeManager ?? fail("the address book names no challengeManager");
  return readContract(client.publicClient, {
    address: manager,
    abi: challengeManagerAbi,
    functionName: "epochLength",
  });
}

/** Reads and checks `--file` (`{ spec, params, sources? }`) or builds `--preset`'s. */
export async function loadSpec(
  client: PoAIClient,
  o: { file?: string; preset?: string; deadline?: number; auditSamples?: number },
): Promise<SpecFile> {
  if ((o.file === undefined) === (o.preset === undefined)) fail("give --file <spec.json> or --preset <name>");
  let file: SpecFile;
  if (o.preset !== undefined) {
    const spec =
      SPEC_PRESETS[o.preset] ??
      fail(
        `--preset must be one of ${Object.keys(SPEC_PRESETS).join(", ")}, got ${JSON.stringify(o.preset)}`,
      );
    // The result is due before the next beacon value's reveals open: at most half an epoch.
    const half = Number((await epochLengthOf(client)) / 2n) - 1;
    file = {
      spec,
      params: {
        responseDeadline: o.deadline ?? half,
        minScoreBps: 0,
        maxScoreBps: 10_000,
        auditSamples: o.auditSamples ?? 4,
      },
    };
  } else {
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(o.file!, "utf8"));
    } catch (err) {
      return fail(`--file ${o.file}: ${(err as Error).message}`);
    }
    if (typeof raw !== "object" || raw === null || !("spec" in raw) || !("params" in raw))
      fail(
        `--file ${o.file} must hold {"spec": {version, widths, batchSize, steps, checkpointInterval, lrShift, evalSize}, "params": {responseDeadline, minScoreBps, maxScoreBps, auditSamples}}`,
      );
    file = raw as SpecFile;
    if (o.deadline !== undefined) file.params = { ...file.params, responseDeadline: o.deadline };
    if (o.auditSamples !== undefined) file.params = { ...file.params, auditSamples: o.auditSamples };
  }
  const { validateSpec, TrainingSpecError } = await import("@poai/sdk/compute");
  try {
    validateSpec(file.spec);
  } catch (err) {
    if (err instanceof TrainingSpecError) fail(`spec.${err.field}: ${err.message}`);
    throw err;
  }
  const p = file.params as Record<string, unknown>;
  const bounded = (field: string, lo: number, hi: number) => {
    const v = p[field];
    if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi)
      fail(`params.${field} must be an integer in ${lo}..${hi}, got ${JSON.stringify(v)}`);
  };
  bounded("responseDeadline", 1, 30 * 86_400);
  bounded("maxScoreBps", 0, 10_000);
  bounded("minScoreBps", 0, p.maxScoreBps as number);
  bounded("auditSamples", 1, 256);
  return file;
}

function registryCall(
  client: PoAIClient,
  functionName: string,
  args: readonly unknown[],
  summary: string,
): PlannedCall {
  return {
    contract: "TaskRegistry",
    to: registryOf(client),
    abi: taskRegistryAbi as Abi,
    functionName,
    args,
    action: functionName,
    summary,
  };
}

function describeSpec(spec: TrainingSpec): string {
  return `widths [${spec.widths.join(", ")}], ${spec.steps} steps of batch ${spec.batchSize}, checkpoint every ${spec.checkpointInterval}, eval ${spec.evalSize}`;
}

/** Registers a spec (and, with `activate`, adds it to the active set from the next round). */
export async function registerSpec(
  client: PoAIClient,
  file: SpecFile,
  opts: { activate?: boolean; salt?: Hex },
  gate: TxGate = {},
): Promise<CommandResult> {
  const id = specIdOf(file.spec);
  const registered = await readContract(client.publicClient, {
    address: registryOf(client),
    abi: taskRegistryAbi,
    functionName: "isRegistered",
    args: [id],
  });
  const calls: PlannedCall[] = [];
  if (!registered) {
    const { dataset, ...fields } = file.spec;
    if (dataset !== undefined) {
      if (!(taskRegistryAbi as Abi).some((f) => f.type === "function" && f.name === "registerDatasetSpec"))
        fail("this TaskRegistry takes engine version 1 specs only (the spec has a dataset)");
      calls.push(
        registryCall(
          client,
          "registerDatasetSpec",
          [fields, dataset, file.params, file.sources ?? []],
          `registered spec ${id} (${describeSpec(file.spec)})`,
        ),
      );
    } else {
      calls.push(
        registryCall(
          client,
          "registerSpec",
          [file.spec, file.params],
          `registered spec ${id} (${describeSpec(file.spec)})`,
        ),
      );
    }
  } else if (!opts.activate) {
    fail(`spec ${id} is already registered (activate it with poai spec activate --id ${id})`);
  }
  if (opts.activate) {
    const next = (await client.staking.currentEpoch()) + 1n;
    const active = await activeSpecs(client, next);
    if (active.includes(id)) {
      if (calls.length === 0) fail(`spec ${id} is already active from round ${next}`);
    } else calls.push(registryCall(client, "activate", [id], `activated spec ${id} from round ${next}`));
  }
  return governed(
    client,
    gate,
    calls,
    {
      action: "spec register",
      what: calls
        .map((c) => c.summary.replace(/^registered/, "register").replace(/^activated/, "activate"))
        .join(", then "),
      data: { specId: id, spec: file.spec, params: file.params, activate: Boolean(opts.activate) },
    },
    opts.salt ? { salt: opts.salt } : {},
  );
}

/** The active set of `round` (empty before any spec was ever activated). */
async function activeSpecs(client: PoAIClient, round: bigint): Promise<Hex[]> {
  try {
    return [...(await client.registry.getActiveSpecs({ round }))].map((x) => x.toLowerCase() as Hex);
  } catch {
    return [];
  }
}

async function specChange(
  client: PoAIClient,
  what: "activate" | "retire",
  id: Hex,
  salt: Hex | undefined,
  gate: TxGate,
): Promise<CommandResult> {
  const registered = await readContract(client.publicClient, {
    address: registryOf(client),
    abi: taskRegistryAbi,
    functionName: "isRegistered",
    args: [id],
  });
  if (!registered) fail(`spec ${id} is not registered (register it first: poai spec register)`);
  const next = (await client.staking.currentEpoch()) + 1n;
  const active = (await activeSpecs(client, next)).includes(id);
  if (what === "activate" && active) fail(`spec ${id} is already active from round ${next}`);
  if (what === "retire" && !active) fail(`spec ${id} is not in the active set of round ${next}`);
  const call = registryCall(
    client,
    what,
    [id],
    `${what === "activate" ? "activated" : "retired"} spec ${id} from round ${next}`,
  );
  return governed(
    client,
    gate,
    [call],
    {
      action: `spec ${what}`,
      what: `${what} spec ${id} from round ${next}`,
      data: { specId: id, fromRound: next },
    },
    salt ? { salt } : {},
  );
}

/** Every registered spec with its parameters, and the active sets of this round and the next. */
export async function listSpecs(client: PoAIClient): Promise<CommandResult> {
  const registry = registryOf(client);
  const events = await getContractEvents(client.publicClient, {
    address: registry,
    abi: taskRegistryAbi,
    eventName: "SpecRegistered",
    fromBlock: client.deployment.deployBlock ?? 0n,
    strict: true,
  });
  const round = await client.staking.currentEpoch();
  const [now, next] = await Promise.all([activeSpecs(client, round), activeSpecs(client, round + 1n)]);
  const specs = events.map((e) => {
    const id = (e.args.specId as Hex).toLowerCase() as Hex;
    const spec = e.args.spec as TrainingSpec;
    const params = e.args.params as SpecParams;
    return { specId: id, spec, params, activeNow: now.includes(id), activeNext: next.includes(id) };
  });
  const lines = specs.length
    ? [
        `round ${round}: ${now.length} active spec${now.length === 1 ? "" : "s"}; round ${round + 1n}: ${next.length}`,
        ...specs.flatMap((s) => [
          `${s.specId} ${s.activeNow ? "active" : s.activeNext ? "active from the next round" : "inactive"}${s.activeNow && !s.activeNext ? " (retired from the next round)" : ""}`,
          `  ${describeSpec(s.spec)}; result due ${s.params.responseDeadline}s into the round, score band ${percent(s.params.minScoreBps)}..${percent(s.params.maxScoreBps)}, ${s.params.auditSamples} audit samples per member`,
        ]),
      ]
    : ["no spec is registered: poai spec register --preset demo --activate"];
  return { lines, data: { round, specs } };
}

// =================================================================================================
// Rewards
// =================================================================================================

function distributorOf(client: PoAIClient): Address {
  return (
    client.deployment.contracts.rewardDistributor ??
    fail("the address book names no rewardDistributor: this deployment has no rewards")
  );
}

function rewardsCall(
  client: PoAIClient,
  functionName: string,
  args: readonly unknown[],
  summary: string,
  action = functionName,
): PlannedCall {
  return {
    contract: "RewardDistributor",
    to: distributorOf(client),
    abi: rewardDistributorAbi as Abi,
    functionName,
    args,
    action,
    summary,
  };
}

async function distributorRead<T>(client: PoAIClient, functionName: string, args: readonly unknown[] = []) {
  return (await readContract(client.publicClient, {
    address: distributorOf(client),
    abi: rewardDistributorAbi as Abi,
    functionName,
    args,
  })) as T;
}

/** Adds `amount` to the emission reserve (anyone may), approving the distributor first if needed. */
export async function fundRewards(
  client: PoAIClient,
  args: { amount: bigint; approve?: boolean },
  gate: TxGate = {},
): Promise<CommandResult> {
  const me = sender(client, gate);
  const distributor = distributorOf(client);
  const calls = await fundsFor(client, me, args.amount, args.approve ?? true, {
    address: distributor,
    name: "the RewardDistributor",
  });
  const emission = await distributorRead<bigint>(client, "emissionPerEpoch");
  calls.push(
    rewardsCall(client, "fund", [args.amount], `funded the emission reserve with ${poai(args.amount)}`),
  );
  return execute(client, gate, calls, {
    action: "rewards fund",
    data: { funder: me, amount: args.amount },
    notes:
      emission > 0n
        ? [`at ${poai(emission)} per epoch that is ${args.amount / emission} epoch(s) of emission`]
        : ["the emission per epoch is 0: set it with poai rewards emission --amount <POAI>"],
  });
}

/** Schedules a new emission per epoch (governance); it takes effect `noticeEpochs` epochs later. */
export async function setEmission(
  client: PoAIClient,
  args: { amount: bigint; salt?: Hex },
  gate: TxGate = {},
): Promise<CommandResult> {
  const params = await client.rewards.getRewardParams();
  const from = (await client.staking.currentEpoch()) + BigInt(params.noticeEpochs);
  const call = rewardsCall(
    client,
    "setEmission",
    [args.amount],
    `set the emission to ${poai(args.amount)} per epoch from epoch ${from}`,
    "setEmission",
  );
  return governed(
    client,
    gate,
    [call],
    {
      action: "rewards emission",
      what: `set the emission to ${poai(args.amount)} per epoch (from ${params.noticeEpochs} epochs after it runs)`,
      data: { amount: args.amount },
    },
    args.salt ? { salt: args.salt } : {},
  );
}

/** Closes the epochs whose points are final, oldest first (anyone may). */
export async function closeEpochs(
  client: PoAIClient,
  args: { maxEpochs?: number },
  gate: TxGate = {},
): Promise<CommandResult> {
  const next = await distributorRead<bigint>(client, "nextEpochToClose");
  const report = await client.rewards.getEpochReport({ epoch: next });
  const now = await chainTime(client);
  if (!report.final)
    fail(
      `epoch ${next} cannot close yet: its points are final at ${when(report.closesAt, now)} (poai dev advance moves a local chain's clock)`,
    );
  const max = args.maxEpochs ?? 10;
  let last = next;
  for (let e = next + 1n; e < next + BigInt(max); e++) {
    const r = await client.rewards.getEpochReport({ epoch: e });
    if (!r.final) break;
    last = e;
  }
  const range = last === next ? `epoch ${next}` : `epochs ${next}..${last}`;
  return execute(client, gate, [rewardsCall(client, "closeEpochs", [BigInt(max)], `closed ${range}`)], {
    action: "rewards close",
    data: { from: next, to: last },
    notes: [`settle the operators' shares into their pools with poai rewards settle`],
  });
}

/**
 * Settles the operators' shares of closed epochs into their pools (anyone may): by default every
 * operator with something to settle in each closed epoch still open for settlement.
 */
export async function settleRewards(
  client: PoAIClient,
  args: { epochs?: bigint[]; operators?: Address[] },
  gate: TxGate = {},
): Promise<CommandResult> {
  const next = await distributorRead<bigint>(client, "nextEpochToClose");
  const params = await client.rewards.getRewardParams();
  const first = params.firstEpoch;
  if (next <= first)
    fail("no epoch is closed yet: poai rewards close closes the epochs whose points are final");
  const epochs =
    args.epochs ??
    Array.from(
      { length: Number(next - first < 16n ? next - first : 16n) },
      (_, i) => next - 1n - BigInt(i),
    ).reverse();
  const operators = args.operators?.length ? args.operators : await allOperators(client);
  const calls: PlannedCall[] = [];
  const due: { operator: Address; epoch: bigint; amount: bigint }[] = [];
  for (const epoch of epochs) {
    if (epoch >= next) fail(`epoch ${epoch} is not closed (the next epoch to close is ${next})`);
    for (const operator of operators) {
      const amount = await client.rewards.getPendingSettlement({ operator, epoch });
      if (amount === 0n) continue;
      due.push({ operator, epoch, amount });
      calls.push(
        rewardsCall(
          client,
          "settle",
          [operator, epoch],
          `settled ${poai(amount)} of epoch ${epoch} into ${operator}'s pool`,
        ),
      );
    }
  }
  if (calls.length === 0)
    fail(
      `nothing to settle in epoch${epochs.length === 1 ? "" : "s"} ${epochs.join(", ")}: every share is settled, or no operator earned points`,
    );
  return execute(client, gate, calls, {
    action: "rewards settle",
    data: { settlements: due, amount: due.reduce((t, d) => t + d.amount, 0n) },
    notes: ["delegators and operators now claim their part: poai claim"],
  });
}

/** The reserve, the emission, the next epoch to close and when, and what waits to be settled. */
export async function rewardsStatus(client: PoAIClient): Promise<CommandResult> {
  const [params, reserve, carry, next, epoch, now] = await Promise.all([
    client.rewards.getRewardParams(),
    distributorRead<bigint>(client, "reserve"),
    distributorRead<bigint>(client, "carry"),
    distributorRead<bigint>(client, "nextEpochToClose"),
    client.staking.currentEpoch(),
    chainTime(client),
  ]);
  const report = await client.rewards.getEpochReport({ epoch: next });
  const lines = [
    `epoch ${epoch}; emission ${poai(params.emissionPerEpoch)} per epoch${params.pendingEmission ? `, ${poai(params.pendingEmission.amount)} from epoch ${params.pendingEmission.fromEpoch}` : ""}`,
    `reserve ${poai(reserve)}${params.emissionPerEpoch > 0n ? ` (${reserve / params.emissionPerEpoch} epochs)` : ""}, carried ${poai(carry)}`,
    `next epoch to close: ${next}, ${report.final ? "its points are final: poai rewards close" : `its points are final at ${when(report.closesAt, now)}`}`,
    `split: protocol ${percent(params.protocolCutBps)}, gamma ${percent(params.gammaBps)}; usage fees: node ${percent(params.nodeFeeBps)}, royalty ${percent(params.royaltyBps)}`,
  ];
  if (reserve === 0n && params.emissionPerEpoch > 0n)
    lines.push(
      "the reserve is empty: epochs close with no emission until someone funds it (poai rewards fund)",
    );
  return {
    lines,
    data: {
      epoch,
      params,
      reserve,
      carry,
      nextEpochToClose: next,
      nextCloses: report.closesAt,
      final: report.final,
    },
  };
}

// =================================================================================================
// Roles
// =================================================================================================

const TIMELOCK_ROLE_NAMES = Object.keys(TIMELOCK_ROLES) as (keyof typeof TIMELOCK_ROLES)[];
const ALL_ROLE_NAMES = [...Object.keys(ROLES), ...TIMELOCK_ROLE_NAMES];

function parseRole(value: string): { kind: "manager"; id: bigint } | { kind: "timelock"; id: Hex } {
  const name = value.toUpperCase();
  if (name in ROLES) return { kind: "manager", id: ROLES[name as keyof typeof ROLES] };
  if (name in TIMELOCK_ROLES)
    return { kind: "timelock", id: TIMELOCK_ROLES[name as keyof typeof TIMELOCK_ROLES] };
  return fail(`--role must be one of ${ALL_ROLE_NAMES.join(", ")}, got ${JSON.stringify(value)}`);
}

function timelockOf(client: PoAIClient): Address {
  return client.deployment.contracts.timelock ?? fail("the address book names no timelock");
}

function managerCall(
  client: PoAIClient,
  functionName: string,
  args: readonly unknown[],
  summary: string,
): PlannedCall {
  return {
    contract: "PoAIAccessManager",
    to: client.deployment.contracts.accessManager,
    abi: poaiAccessManagerAbi as Abi,
    functionName,
    args,
    action: functionName,
    summary,
  };
}

function timelockCall(
  client: PoAIClient,
  functionName: string,
  args: readonly unknown[],
  summary: string,
): PlannedCall {
  return {
    contract: "PoAITimelock",
    to: timelockOf(client),
    abi: poaiTimelockAbi as Abi,
    functionName,
    args,
    action: functionName,
    summary,
  };
}

async function hasManagerRole(client: PoAIClient, role: bigint, account: Address): Promise<boolean> {
  const [member] = await readContract(client.publicClient, {
    address: client.deployment.contracts.accessManager,
    abi: poaiAccessManagerAbi,
    functionName: "hasRole",
    args: [role, account],
  });
  return member;
}

async function hasTimelockRole(client: PoAIClient, role: Hex, account: Address): Promise<boolean> {
  return readContract(client.publicClient, {
    address: timelockOf(client),
    abi: poaiTimelockAbi,
    functionName: "hasRole",
    args: [role, account],
  });
}

/** Every role of the AccessManager and of the timelock with its holders, named where the book names them. */
export async function listRoles(client: PoAIClient): Promise<CommandResult> {
  const c = client.deployment.contracts;
  const names = new Map(Object.entries(c).map(([name, address]) => [getAddress(address as Address), name]));
  const label = (a: Address) =>
    names.has(getAddress(a)) ? `${names.get(getAddress(a))} (${getAddress(a)})` : getAddress(a);
  const holders = await roleHolders(
    client.publicClient as never,
    c.accessManager,
    client.deployment.deployBlock ?? 0n,
  );
  const roles: Record<string, string[]> = {};
  for (const [role, members] of holders) roles[roleNameOf(role)] = members.map((m) => getAddress(m));
  const lines = [
    "AccessManager roles:",
    ...table(
      Object.entries(roles).map(([r, m]) => [
        `  ${r}`,
        m.length ? m.map((x) => label(x as Address)).join(", ") : "-",
      ]),
    ),
  ];
  const data: Record<string, unknown> = { roles };
  if (c.timelock) {
    const events = await getContractEvents(client.publicClient, {
      address: c.timelock,
      abi: poaiTimelockAbi,
      fromBlock: client.deployment.deployBlock ?? 0n,
      strict: true,
    });
    const members = new Map<string, Set<Address>>();
    for (const e of events as unknown as { eventName: string; args: { role?: Hex; account?: Address } }[]) {
      if (e.eventName !== "RoleGranted" && e.eventName !== "RoleRevoked") continue;
      const name = TIMELOCK_ROLE_NAMES.find((n) => TIMELOCK_ROLES[n] === e.args.role);
      if (!name) continue;
      const set = members.get(name) ?? new Set<Address>();
      if (e.eventName === "RoleGranted") set.add(getAddress(e.args.account!));
      else set.delete(getAddress(e.args.account!));
      members.set(name, set);
    }
    const delay = await readContract(client.publicClient, {
      address: c.timelock,
      abi: poaiTimelockAbi,
      functionName: "getMinDelay",
    });
    const timelockRoles = Object.fromEntries(
      TIMELOCK_ROLE_NAMES.map((n) => [
        n,
        [...(members.get(n) ?? [])].map((a) =>
          a === "0x0000000000000000000000000000000000000000" ? "anyone" : a,
        ),
      ]),
    );
    lines.push(
      `timelock ${c.timelock} (delay ${duration(delay)}):`,
      ...table(
        TIMELOCK_ROLE_NAMES.map((n) => [
          `  ${n}`,
          timelockRoles[n]!.length
            ? timelockRoles[n]!.map((a) => (a === "anyone" ? a : label(a as Address))).join(", ")
            : "-",
        ]),
      ),
    );
    data.timelock = { address: c.timelock, minDelay: delay, roles: timelockRoles };
  }
  return { lines, data };
}

/** Grants or revokes a role: the AccessManager's (through its ADMIN, the timelock) or the timelock's own. */
export async function changeRole(
  client: PoAIClient,
  args: { grant: boolean; role: string; account: Address; executionDelay?: number; salt?: Hex },
  gate: TxGate = {},
): Promise<CommandResult> {
  const role = parseRole(args.role);
  const name = args.role.toUpperCase();
  const verb = args.grant ? "grant" : "revoke";
  const holds =
    role.kind === "manager"
      ? await hasManagerRole(client, role.id, args.account)
      : await hasTimelockRole(client, role.id, args.account);
  if (args.grant && holds) fail(`${args.account} already holds ${name}`);
  if (!args.grant && !holds) fail(`${args.account} does not hold ${name}`);
  const what = `${verb} ${name} ${args.grant ? "to" : "from"} ${args.account}`;
  const call =
    role.kind === "manager"
      ? managerCall(
          client,
          args.grant ? "grantRole" : "revokeRole",
          args.grant ? [role.id, args.account, args.executionDelay ?? 0] : [role.id, args.account],
          `${args.grant ? "granted" : "revoked"} ${name} ${args.grant ? "to" : "from"} ${args.account}`,
        )
      : timelockCall(
          client,
          args.grant ? "grantRole" : "revokeRole",
          [role.id, args.account],
          `${args.grant ? "granted" : "revoked"} the timelock's ${name} ${args.grant ? "to" : "from"} ${args.account}`,
        );
  return governed(
    client,
    gate,
    [call],
    { action: `roles ${verb}`, what, data: { role: name, account: args.account } },
    args.salt ? { salt: args.salt } : {},
  );
}

/**
 * Gives up one of the signer's own roles. Renouncing GOVERNOR or ADMIN (or the timelock's
 * PROPOSER) is refused while nobody else holds it, so that governance is never left without a holder.
 */
export async function renounceRole(
  client: PoAIClient,
  args: { role: string },
  gate: TxGate = {},
): Promise<CommandResult> {
  const me = sender(client, gate);
  const role = parseRole(args.role);
  const name = args.role.toUpperCase();
  if (role.kind === "manager") {
    if (!(await hasManagerRole(client, role.id, me))) fail(`${me} does not hold ${name}`);
    if (role.id === ROLES.GOVERNOR || role.id === ROLES.ADMIN) {
      const timelock = client.deployment.contracts.timelock;
      if (!timelock || !(await hasManagerRole(client, role.id, timelock)))
        fail(`the timelock does not hold ${name}: renouncing it would leave the network without ${name}`);
    }
    return execute(
      client,
      gate,
      [managerCall(client, "renounceRole", [role.id, me], `renounced ${name} (${me})`)],
      { action: "roles renounce", data: { role: name, account: me } },
    );
  }
  if (!(await hasTimelockRole(client, role.id, me))) fail(`${me} does not hold the timelock's ${name}`);
  return execute(
    client,
    gate,
    [timelockCall(client, "renounceRole", [role.id, me], `renounced the timelock's ${name} (${me})`)],
    { action: "roles renounce", data: { role: name, account: me } },
  );
}

/**
 * Ends the development fast path: the signer gives up GOVERNOR, which the timelock already holds,
 * so that from then on every governance call waits for the timelock's delay.
 */
export async function handover(client: PoAIClient, gate: TxGate = {}): Promise<CommandResult> {
  const me = sender(client, gate);
  if (!(await hasManagerRole(client, ROLES.GOVERNOR, me)))
    fail(`${me} does not hold GOVERNOR: governance is already with the timelock`);
  const result = await renounceRole(client, { role: "GOVERNOR" }, gate);
  return {
    lines: [
      ...result.lines,
      ...(gate.dryRun
        ? []
        : [
            `governance is now the timelock's alone: governance commands schedule their calls on ${timelockOf(client)}`,
          ]),
    ],
    data: { ...result.data, action: "roles handover" },
  };
}

// =================================================================================================
// Registration
// =================================================================================================

const saltOption = "--salt <bytes32>";
const saltHelp = "timelock operation salt, to schedule the same calls again (default 0x00…00)";

/**
 * `poai rewards fund` and its shortcut `poai fund`: add POAI to the emission reserve (anyone may;
 * the treasury in practice). One command, registered under both names.
 */
export function registerFundCommand(kit: CommandKit, parent?: Parameters<CommandKit["sub"]>[2]): void {
  const sendClient = async (o: SendingOptions, config: Parameters<CommandKit["session"]>[1]) =>
    (await kit.session(o, config, !o.dryRun)).client;
  kit
    .sending(
      kit.sub(
        "fund",
        "Add POAI to the reward distributor's emission reserve (anyone may; each closed epoch takes its emission from it)",
        parent,
      ),
    )
    .requiredOption("--amount <POAI>", "POAI to add to the reserve")
    .option("--no-approve", "fail instead of approving the RewardDistributor when the allowance is short")
    .action(async (o) =>
      kit.run(o, async (config) =>
        fundRewards(
          await sendClient(o, config),
          { amount: parseAmount("amount", o.amount), approve: o.approve },
          kit.gate(o),
        ),
      ),
    );
}

export function registerGovernanceCommands(kit: CommandKit): void {
  const salt = (o: { salt?: string }) => (o.salt === undefined ? undefined : parseBytes32("salt", o.salt));
  const sendClient = async (o: SendingOptions, config: Parameters<CommandKit["session"]>[1]) =>
    (await kit.session(o, config, !o.dryRun)).client;

  const spec = kit.group(
    "spec",
    "Training specs the challenges run: register, activate, retire (governance), list",
  );
  kit
    .sending(kit.sub("register", "Register a training spec (and --activate it from the next round)", spec))
    .option("--file <spec.json>", 'a spec file: {"spec": {...}, "params": {...}}')
    .option(
      "--preset <name>",
      `a built-in spec: ${Object.keys(SPEC_PRESETS).join(", ")} (trains in milliseconds)`,
    )
    .option(
      "--deadline <seconds>",
      "response deadline (default for --preset: half an epoch less a second)",
      int("deadline", 1, 30 * 86_400),
    )
    .option(
      "--audit-samples <n>",
      "segments each committee member re-executes (default for --preset: 4)",
      int("audit-samples", 1, 256),
    )
    .option("--activate", "also activate it from the next round")
    .option(saltOption, saltHelp)
    .action(async (o) =>
      kit.run(o, async (config) => {
        const client = await sendClient(o, config);
        const file = await loadSpec(client, o);
        return registerSpec(
          client,
          file,
          { activate: Boolean(o.activate), ...(o.salt && { salt: salt(o)! }) },
          kit.gate(o),
        );
      }),
    );
  for (const what of ["activate", "retire"] as const)
    kit
      .sending(
        kit.sub(
          what,
          `${what === "activate" ? "Add a registered spec to" : "Remove a spec from"} the active set from the next round`,
          spec,
        ),
      )
      .requiredOption("--id <specId>", "the spec's id (poai spec list)")
      .option(saltOption, saltHelp)
      .action(async (o) =>
        kit.run(o, async (config) =>
          specChange(await sendClient(o, config), what, parseBytes32("id", o.id), salt(o), kit.gate(o)),
        ),
      );
  kit
    .sub("list", "Every registered spec, its parameters, and whether it is active", spec)
    .action(async (o) =>
      kit.run(o, async (config) => listSpecs((await kit.session(o, config, false)).client)),
    );

  const rewards = kit.group(
    "rewards",
    "Emission reserve, emission rate, closing epochs and settling rewards into pools",
  );
  registerFundCommand(kit, rewards);
  kit
    .sending(
      kit.sub(
        "emission",
        "Set the emission per epoch (governance; takes effect after the notice epochs)",
        rewards,
      ),
    )
    .requiredOption("--amount <POAI>", "POAI per epoch (0 stops emissions)")
    .option(saltOption, saltHelp)
    .action(async (o) =>
      kit.run(o, async (config) => {
        const amount = o.amount === "0" ? 0n : parseAmount("amount", o.amount);
        return setEmission(
          await sendClient(o, config),
          { amount, ...(o.salt && { salt: salt(o)! }) },
          kit.gate(o),
        );
      }),
    );
  kit
    .sending(kit.sub("close", "Close the epochs whose points are final (anyone may)", rewards))
    .option("--max-epochs <n>", "close at most this many", int("max-epochs", 1, 256), 10)
    .action(async (o) =>
      kit.run(o, async (config) =>
        closeEpochs(await sendClient(o, config), { maxEpochs: o.maxEpochs }, kit.gate(o)),
      ),
    );
  kit
    .sending(
      kit.sub("settle", "Settle operators' shares of closed epochs into their pools (anyone may)", rewards),
    )
    .option(
      "--epoch <n>",
      "only this epoch (default: every recently closed one)",
      int("epoch", 0, 2 ** 32 - 1),
    )
    .option("--operators <addresses>", "comma-separated operators (default: all)")
    .action(async (o) =>
      kit.run(o, async (config) =>
        settleRewards(
          await sendClient(o, config),
          {
            ...(o.epoch !== undefined && { epochs: [BigInt(o.epoch)] }),
            ...(o.operators && {
              operators: String(o.operators)
                .split(",")
                .map((a) => parseAddress("operators", a.trim())),
            }),
          },
          kit.gate(o),
        ),
      ),
    );
  kit
    .sub("status", "The reserve, the emission, the next epoch to close and when", rewards)
    .action(async (o) =>
      kit.run(o, async (config) => rewardsStatus((await kit.session(o, config, false)).client)),
    );

  const roles = kit.group(
    "roles",
    `Who holds which role, and handing roles over (${ALL_ROLE_NAMES.join(", ")})`,
  );
  kit
    .sub("list", "Every role's holders (AccessManager and timelock)", roles)
    .action(async (o) =>
      kit.run(o, async (config) => listRoles((await kit.session(o, config, false)).client)),
    );
  for (const grant of [true, false]) {
    const c = kit
      .sending(
        kit.sub(
          grant ? "grant" : "revoke",
          `${grant ? "Grant" : "Revoke"} a role (through the timelock, which administers roles)`,
          roles,
        ),
      )
      .requiredOption("--role <name>", ALL_ROLE_NAMES.join(", "))
      .requiredOption("--account <address>", "the account or contract")
      .option(saltOption, saltHelp);
    if (grant)
      c.option(
        "--execution-delay <seconds>",
        "AccessManager roles: the holder's calls wait this long",
        int("execution-delay", 0, 2 ** 32 - 1),
        0,
      );
    c.action(async (o) =>
      kit.run(o, async (config) =>
        changeRole(
          await sendClient(o, config),
          {
            grant,
            role: o.role,
            account: parseAddress("account", o.account),
            ...(o.executionDelay !== undefined && { executionDelay: o.executionDelay }),
            ...(o.salt && { salt: salt(o)! }),
          },
          kit.gate(o),
        ),
      ),
    );
  }
  kit
    .sending(
      kit.sub(
        "renounce",
        "Give up one of your own roles (refused if it would leave GOVERNOR or ADMIN without a holder)",
        roles,
      ),
    )
    .requiredOption("--role <name>", ALL_ROLE_NAMES.join(", "))
    .action(async (o) =>
      kit.run(o, async (config) => renounceRole(await sendClient(o, config), { role: o.role }, kit.gate(o))),
    );
  kit
    .sending(
      kit.sub(
        "handover",
        "End the development fast path: give up your GOVERNOR so that only the timelock governs",
        roles,
      ),
    )
    .action(async (o) => kit.run(o, async (config) => handover(await sendClient(o, config), kit.gate(o))));
}
