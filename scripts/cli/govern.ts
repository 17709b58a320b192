/**
 * Governance calls through whatever governs the deployment. A governance command (`poai spec`,
 * `poai rewards emission`, `poai roles grant`…) builds the calls it wants the network to make, and
 * `governed` decides how they get made:
 *
 * 1. the signer may make them itself (the development fast path: the deployer keeps GOVERNOR on
 *    a local chain; `AccessManager.canCall` says so): they are sent directly;
 * 2. otherwise the `PoAITimelock` of the address book may make them: the command schedules them
 *    on the timelock (the signer must be a proposer) with the timelock's delay, and the same
 *    command run again once the delay has passed executes them (anyone may execute, unless the
 *    deployment named executors). Several calls are one batch operation (`scheduleBatch`), so a
 *    spec is registered and activated together or not at all. The operation's id is the hash of
 *    the calls and `--salt` (default zero), so re-running the command finds its operation;
 * 3. `--dry-run` prints all three forms, ready for a Safe's transaction builder: the direct calls,
 *    the timelock's `schedule` and its `execute`.
 */
import { poaiAccessManagerAbi, poaiTimelockAbi, type PoAIClient } from "@poai/sdk";
import { keccak256, toFunctionSelector, toHex, zeroAddress, zeroHash, type Address, type Hex } from "viem";
import { readContract } from "viem/actions";
import { OperatorCommandError, chainTime, type CommandResult } from "./commands.js";
import { duration, iso } from "./format.js";
import { calldata, describeCalls, execute, sender, type PlannedCall, type TxGate } from "./send.js";

const fail = (message: string): never => {
  throw new OperatorCommandError(message);
};

/** The timelock's own roles (OpenZeppelin `TimelockController`). */
export const TIMELOCK_ROLES = {
  PROPOSER: keccak256(toHex("PROPOSER_ROLE")),
  EXECUTOR: keccak256(toHex("EXECUTOR_ROLE")),
  CANCELLER: keccak256(toHex("CANCELLER_ROLE")),
} as const;

/** `getOperationState`: what the timelock knows of an operation. */
const OPERATION_STATE = ["unset", "waiting", "ready", "done"] as const;

export interface GovernOptions {
  /** The operation's salt (bytes32), to schedule the same calls a second time; default zero. */
  salt?: Hex;
}

/** How the calls would be made, and the timelock operation when there is one. */
interface Route {
  kind: "direct" | "timelock";
  timelock?: Address;
  operationId?: Hex;
  delay?: bigint;
  state?: (typeof OPERATION_STATE)[number];
  readyAt?: bigint;
}

/** Whether `caller` may make `call` now, as the AccessManager (or, for the timelock's own roles, the timelock) sees it. */
async function canCall(client: PoAIClient, caller: Address, call: PlannedCall): Promise<boolean> {
  const timelock = client.deployment.contracts.timelock;
  if (timelock && call.to.toLowerCase() === timelock.toLowerCase()) return caller === timelock;
  const [immediate] = await readContract(client.publicClient, {
    address: client.deployment.contracts.accessManager,
    abi: poaiAccessManagerAbi,
    functionName: "canCall",
    args: [caller, call.to, toFunctionSelector(signatureOf(call))],
  });
  return immediate;
}

function signatureOf(call: PlannedCall): string {
  const item = call.abi.find(
    (x) => x.type === "function" && x.name === call.functionName && x.inputs.length === call.args.length,
  );
  if (!item || item.type !== "function") return fail(`${call.contract} has no function ${call.functionName}`);
  const type = (p: { type: string; components?: readonly unknown[] }): string =>
    p.type.startsWith("tuple")
      ? `(${(p.components as { type: string; components?: readonly unknown[] }[]).map(type).join(",")})${p.type.slice(5)}`
      : p.type;
  return `${item.name}(${item.inputs.map(type).join(",")})`;
}

/** The timelock's `schedule` / `scheduleBatch` and `execute` / `executeBatch` of `calls`. */
function timelockCalls(
  timelock: Address,
  calls: readonly PlannedCall[],
  salt: Hex,
  delay: bigint,
  what: string,
): { schedule: PlannedCall; execute: PlannedCall } {
  const base = { contract: "PoAITimelock", to: timelock, abi: poaiTimelockAbi } as const;
  if (calls.length === 1) {
    const c = calls[0]!;
    const op = [c.to, c.value ?? 0n, calldata(c), zeroHash, salt] as const;
    return {
      schedule: {
        ...base,
        functionName: "schedule",
        args: [...op, delay],
        action: "schedule",
        summary: `scheduled on the timelock: ${what}`,
      },
      execute: {
        ...base,
        functionName: "execute",
        args: op,
        action: "execute",
        summary: `executed through the timelock: ${what}`,
      },
    };
  }
  const op = [
    calls.map((c) => c.to),
    calls.map((c) => c.value ?? 0n),
    calls.map((c) => calldata(c)),
    zeroHash,
    salt,
  ] as const;
  return {
    schedule: {
      ...base,
      functionName: "scheduleBatch",
      args: [...op, delay],
      action: "schedule",
      summary: `scheduled on the timelock: ${what}`,
    },
    execute: {
      ...base,
      functionName: "executeBatch",
      args: op,
      action: "execute",
      summary: `executed through the timelock: ${what}`,
    },
  };
}

/**
 * Makes `calls` (governance calls: parameter setters, spec registration, role changes) the way
 * the deployment allows, see the module comment. `what` says in words what they do.
 */
export async function governed(
  client: PoAIClient,
  gate: TxGate,
  calls: readonly PlannedCall[],
  result: { action: string; what: string; data?: Record<string, unknown> },
  options: GovernOptions = {},
): Promise<CommandResult> {
  const me = sender(client, gate);
  const timelock = client.deployment.contracts.timelock;
  const salt = options.salt ?? zeroHash;
  const direct = (await Promise.all(calls.map((c) => canCall(client, me, c)))).every(Boolean);
  const route: Route = { kind: direct ? "direct" : "timelock" };
  let tl: { schedule: PlannedCall; execute: PlannedCall } | undefined;
  if (timelock) {
    const delay = await readContract(client.publicClient, {
      address: timelock,
      abi: poaiTimelockAbi,
      functionName: "getMinDelay",
    });
    tl = timelockCalls(timelock, calls, salt, delay, result.what);
    const id =
      calls.length === 1
        ? await readContract(client.publicClient, {
            address: timelock,
            abi: poaiTimelockAbi,
            functionName: "hashOperation",
            args: tl.execute.args as readonly [Address, bigint, Hex, Hex, Hex],
          })
        : await readContract(client.publicClient, {
            address: timelock,
            abi: poaiTimelockAbi,
            functionName: "hashOperationBatch",
            args: tl.execute.args as readonly [Address[], bigint[], Hex[], Hex, Hex],
          });
    const [state, readyAt] = await Promise.all([
      readContract(client.publicClient, {
        address: timelock,
        abi: poaiTimelockAbi,
        functionName: "getOperationState",
        args: [id],
      }),
      readContract(client.publicClient, {
        address: timelock,
        abi: poaiTimelockAbi,
        functionName: "getTimestamp",
        args: [id],
      }),
    ]);
    Object.assign(route, {
      timelock,
      operationId: id,
      delay,
      state: OPERATION_STATE[state] ?? "unset",
      readyAt,
    });
  }
  const data = { ...result.data, route: route.kind, ...(route.operationId && { timelock: route }) };

  if (gate.dryRun) {
    const lines = [
      `dry run: nothing was sent. ${result.what}, on chain ${client.deployment.chainId}:`,
      `as direct call${calls.length === 1 ? "" : "s"} (by a holder of the role${direct ? `, as ${me} is` : ""}):`,
      ...describeCalls(calls).lines,
    ];
    const out: Record<string, unknown> = { direct: describeCalls(calls).data };
    if (tl && route.operationId) {
      lines.push(
        `through the timelock ${timelock} (operation ${route.operationId}, salt ${salt}, delay ${duration(route.delay!)}; now ${route.state}):`,
        "schedule (by a proposer):",
        ...describeCalls([tl.schedule]).lines,
        `execute (by an executor, once ${duration(route.delay!)} have passed):`,
        ...describeCalls([tl.execute]).lines,
      );
      out.schedule = describeCalls([tl.schedule]).data[0];
      out.execute = describeCalls([tl.execute]).data[0];
    }
    return { lines, data: { action: result.action, ...data, dryRun: true, from: me, calls: out } };
  }

  if (direct) {
    return execute(client, gate, calls, {
      action: result.action,
      data,
      notes: [`sent directly: ${me} holds the role (the development fast path)`],
    });
  }
  if (!tl || !timelock)
    return fail(
      `${me} may not make these calls (${calls.map((c) => `${c.contract}.${c.functionName}`).join(", ")}) and the address book names no timelock: send them from an account that holds the role, or --dry-run to print them`,
    );
  const now = await chainTime(client);
  const hasRole = (role: Hex, who: Address) =>
    readContract(client.publicClient, {
      address: timelock,
      abi: poaiTimelockAbi,
      functionName: "hasRole",
      args: [role, who],
    });
  switch (route.state) {
    case "unset": {
      if (!(await hasRole(TIMELOCK_ROLES.PROPOSER, me)))
        fail(
          `${me} is not a proposer of the timelock ${timelock}: have a proposer (your multisig) schedule it; --dry-run prints the calldata`,
        );
      return execute(client, gate, [tl.schedule], {
        action: result.action,
        data: { ...data, readyAt: now + route.delay! + 1n },
        notes: [
          `operation ${route.operationId}: executable from ${iso(now + route.delay! + 1n)} (in ${duration(route.delay!)}); run the same command again then to execute it`,
        ],
      });
    }
    case "waiting":
      return fail(
        `operation ${route.operationId} is scheduled and executable from ${iso(route.readyAt!)} (in ${duration(route.readyAt! - now)}): run the same command again then`,
      );
    case "ready": {
      const open = await hasRole(TIMELOCK_ROLES.EXECUTOR, zeroAddress);
      if (!open && !(await hasRole(TIMELOCK_ROLES.EXECUTOR, me)))
        fail(`${me} is not an executor of the timelock ${timelock}: have an executor run it`);
      return execute(client, gate, [tl.execute], { action: result.action, data });
    }
    default:
      return fail(
        `operation ${route.operationId} was already executed: to make the same calls again, pass another --salt (32 bytes as hex)`,
      );
  }
}
