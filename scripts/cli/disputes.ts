/**
 * `poai dispute open | status | play`: bisection disputes of a training claim (docs/disputes.md).
 *
 * - `open`: bond and dispute a trainer's claim that `--steps` steps of a spec from `--from` give
 *   the parameter root `--end-root`; the start root is computed from the replay.
 * - `status`: a game's phase, whose move it is, its deadline and its disputed range.
 * - `play`: play a game to its end for the signer (challenger or trainer), from a replay of the
 *   run: the spec, the seed and, unless the range starts at step 0, the checkpoint at `--from`.
 */
import { readFile } from "node:fs/promises";
import { Command, InvalidArgumentError } from "commander";
import { formatUnits, getAddress, isAddress, isHex, type Address, type Hex } from "viem";
import {
  decodeCheckpoint,
  deriveKey,
  jsBackend,
  loadFastKeccak,
  RunStates,
  validateSpec,
  type TrainingSpec,
} from "@poai/sdk/compute";
import { getDispute, openDispute, playDispute, type DisputeView, type PoAIContext } from "@poai/sdk";
import { OperatorCommandError, type CommandResult } from "./commands.js";
import type { CliConfig } from "./config.js";
import type { CommonOptions, Session } from "./session.js";

type Run = (
  json: boolean | undefined,
  work: (config: CliConfig) => Promise<CommandResult>,
  opts: CommonOptions,
) => Promise<void>;

export interface DisputeCommandHelpers {
  common: (c: Command) => Command;
  run: Run;
  session: (o: CommonOptions, config: CliConfig, needsKey?: boolean) => Promise<Session>;
}

const fail = (message: string): never => {
  throw new OperatorCommandError(message);
};

const parseId = (v: string) => {
  if (!/^\d+$/.test(v))
    throw new InvalidArgumentError(`--id must be a game number, got ${JSON.stringify(v)}`);
  return BigInt(v);
};
const parseStep = (name: string) => (v: string) => {
  if (!/^\d+$/.test(v) || Number(v) > 0xffff_ffff)
    throw new InvalidArgumentError(`--${name} must be a step number, got ${JSON.stringify(v)}`);
  return Number(v);
};
const parseBytes32 = (name: string) => (v: string) => {
  if (!isHex(v) || v.length !== 66)
    throw new InvalidArgumentError(`--${name} must be 32 bytes of hex, got ${JSON.stringify(v)}`);
  return v as Hex;
};
const parseAddress = (name: string) => (v: string) => {
  if (!isAddress(v)) throw new InvalidArgumentError(`--${name} must be an address, got ${JSON.stringify(v)}`);
  return getAddress(v);
};

interface ReplayOptions {
  spec: string;
  seed: Hex;
  from: number;
  checkpoint?: string;
}

/** The replay of a run from step `from`: the engine's states from the given (or initial) parameters. */
async function replayOf(o: ReplayOptions): Promise<RunStates> {
  await loadFastKeccak();
  const text = await readFile(o.spec, "utf8").catch(() => fail(`cannot read --spec ${o.spec}`));
  let spec: TrainingSpec;
  try {
    spec = validateSpec(JSON.parse(text) as TrainingSpec);
  } catch (err) {
    return fail(`--spec ${o.spec}: ${(err as Error).message}`);
  }
  if (spec.version !== 1)
    fail(`--spec ${o.spec}: disputes replay engine version 1 specs (got version ${spec.version})`);
  const key = deriveKey(spec, o.seed);
  let start: Int16Array;
  if (o.checkpoint) {
    const bytes = new Uint8Array(
      await readFile(o.checkpoint).catch(() => fail(`cannot read --checkpoint ${o.checkpoint}`)),
    );
    const cp = decodeCheckpoint(spec, bytes);
    if (cp.step !== o.from) fail(`--checkpoint ${o.checkpoint} is at step ${cp.step}, not --from ${o.from}`);
    start = cp.weights;
  } else {
    if (o.from !== 0)
      fail(`--checkpoint is needed to replay from step ${o.from} (only step 0 derives from the seed)`);
    // checkpoint 0: the seed-derived initial parameters
    const session = await jsBackend.open(spec, key);
    start = await session.getWeights();
    session.close();
  }
  return new RunStates(spec, key, start, o.from);
}

function contextOf(s: Session): PoAIContext {
  return { publicClient: s.publicClient, walletClient: s.walletClient, deployment: s.deployment };
}

function describe(view: DisputeView): string[] {
  return [
    `dispute ${view.id}: ${view.phase}`,
    `  challenger ${view.challenger}, defender ${view.defender}`,
    view.phase === "Resolved"
      ? `  winner ${view.winner}`
      : `  to move: ${view.mover} before ${new Date(Number(view.deadline) * 1000).toISOString()}`,
    `  steps ${view.lo}..${view.hi}${view.slot ? `, slot ${view.slot}, tree height ${view.height}, node ${view.node}` : ""}`,
    `  bonds held ${formatUnits(view.bond, 18)} POAI${/^0x0+$/.test(view.challengeId) ? "" : `, bound to challenge ${view.challengeId}`}`,
  ];
}

export function registerDisputeCommands(p: Command, h: DisputeCommandHelpers): void {
  const group = p
    .command("dispute")
    .description("Bisection disputes of training claims: open, status, play")
    .exitOverride();
  const sub = (name: string, description: string) =>
    h.common(group.command(name).description(description).exitOverride());
  const replayOptions = (c: Command) =>
    c
      .requiredOption("--spec <file>", "the training spec as JSON (engine version 1)")
      .requiredOption("--seed <hex>", "the run's seed", parseBytes32("seed"))
      .option("--from <step>", "first step of the disputed range", parseStep("from"), 0)
      .option("--checkpoint <file>", "the run's checkpoint at --from (not needed from step 0)");

  sub("status", "Show a dispute game: phase, whose move, deadline, disputed range")
    .requiredOption("--id <n>", "the game", parseId)
    .action(async (o: CommonOptions & { id: bigint }) =>
      h.run(
        o.json,
        async (config) => {
          const view = await getDispute(contextOf(await h.session(o, config, false)), { id: o.id });
          return { lines: describe(view), data: { ...view } };
        },
        o,
      ),
    );

  replayOptions(sub("open", "Bond and dispute a trainer's claim (approve the bond to the DisputeGame first)"))
    .requiredOption("--defender <address>", "the trainer whose claim is disputed", parseAddress("defender"))
    .requiredOption("--steps <n>", "steps of the claim", parseStep("steps"))
    .requiredOption(
      "--end-root <hex>",
      "the parameter root the trainer claims after the steps",
      parseBytes32("end-root"),
    )
    .action(async (o: CommonOptions & ReplayOptions & { defender: Address; steps: number; endRoot: Hex }) =>
      h.run(
        o.json,
        async (config) => {
          const replay = await replayOf(o);
          const own = replay.thetaRoot(o.from + o.steps);
          if (own.toLowerCase() === o.endRoot.toLowerCase())
            fail(`the replay gives the claimed root ${o.endRoot} after ${o.steps} steps: nothing to dispute`);
          const s = await h.session(o, config);
          const ctx = contextOf(s);
          const claim = {
            spec: replay.spec,
            firstStep: o.from,
            steps: o.steps,
            startRoot: replay.thetaRoot(o.from),
            endRoot: o.endRoot,
            key: replay.key,
          };
          const hash = await openDispute(ctx, { defender: o.defender, claim });
          await s.publicClient.waitForTransactionReceipt({ hash });
          const id = await s.publicClient.readContract({
            address: ctx.deployment.contracts.disputeGame!,
            abi: [
              {
                type: "function",
                name: "gameCount",
                inputs: [],
                outputs: [{ type: "uint256" }],
                stateMutability: "view",
              },
            ],
            functionName: "gameCount",
          });
          return {
            lines: [
              `dispute ${id} opened against ${o.defender} (${hash})`,
              `  the replay's root after step ${o.from + o.steps}: ${own}`,
            ],
            data: { id, hash, claim: { ...claim, spec: undefined }, replayRoot: own },
          };
        },
        o,
      ),
    );

  replayOptions(sub("play", "Play a dispute game to its end for the signer, from a replay of the run"))
    .requiredOption("--id <n>", "the game", parseId)
    .option(
      "--poll-ms <ms>",
      "how often to read the game while the other party moves",
      parseStep("poll-ms"),
      1000,
    )
    .action(async (o: CommonOptions & ReplayOptions & { id: bigint; pollMs: number }) =>
      h.run(
        o.json,
        async (config) => {
          const replay = await replayOf(o);
          const ctx = contextOf(await h.session(o, config));
          const { winner, moves } = await playDispute(ctx, { id: o.id, source: replay, pollMs: o.pollMs });
          const gas = moves.reduce((sum, m) => sum + m.gasUsed, 0n);
          return {
            lines: [`dispute ${o.id} resolved: winner ${winner}`, `  ${moves.length} moves sent, ${gas} gas`],
            data: { id: o.id, winner, moves },
          };
        },
        o,
      ),
    );
}
