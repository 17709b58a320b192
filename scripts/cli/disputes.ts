/**
 * `poai dispute open | status | play`: bisection disputes of a training claim (docs/disputes.md).
 *
 * - `open --challenge <id> --segment <n>`: dispute segment `n` of a challenge the committee judged
 *   Valid (a game bound to it: the claim is the committed run's, the trainer defends it with its
 *   stake). The two checkpoints come from the trainer's server, proven under the committed root,
 *   and the segment is replayed first: a segment that replays is refused before anything is sent.
 * - `open --spec … --defender … --steps … --end-root …`: bond and dispute a trainer's claim that
 *   `--steps` steps of a spec from `--from` give the parameter root `--end-root`; the start root
 *   is computed from the replay.
 * - `status`: a game's phase, whose move it is, its deadline and its disputed range (and, for a
 *   bound game, its challenge and segment).
 * - `play`: play a game to its end for the signer (challenger or trainer), from a replay of the
 *   run: for a bound game, the segment's start checkpoint from the trainer's server; otherwise
 *   the spec, the seed and, unless the range starts at step 0, the checkpoint at `--from`.
 *
 * Engine version 2 runs replay on their dataset: a local directory given by `--dataset` (checked
 * against the spec's roots), or the examples the disputed steps read, fetched from the sources the
 * TaskRegistry lists for the spec and, for a bound game, the trainer's server, each chunk proven
 * against the spec's roots (`disputeDataset`, shared with the daemons).
 */
import { readFile } from "node:fs/promises";
import { Command, InvalidArgumentError } from "commander";
import { formatUnits, getAddress, isAddress, isHex, parseEventLogs, type Address, type Hex } from "viem";
import {
  decodeCheckpoint,
  deriveKey,
  jsBackend,
  loadFastKeccak,
  RunStates,
  specId,
  validateSpec,
  type DatasetData,
  type TrainingSpec,
} from "@poai/sdk/compute";
import {
  boundSegmentOf,
  disputeGameAbi,
  getDispute,
  openBoundDispute,
  openDispute,
  playDispute,
  type DisputeView,
} from "@poai/sdk";
import { fetchCheckpoint, type ProvenCheckpoint } from "@poai/node";
import { disputeDataset, disputeReplay, trainerDatasetUrl } from "@poai/node/disputes";
import { OperatorCommandError, type CommandResult } from "./commands.js";
import {
  commandGroup,
  contextOf,
  onGame,
  playResult,
  subcommands,
  withPollMs,
  type DisputeCommandHelpers,
} from "./dispute-kit.js";
import type { CliConfig } from "./config.js";
import type { CommonOptions, Session } from "./session.js";

export type { DisputeCommandHelpers } from "./dispute-kit.js";

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
  dataset?: string;
}

/**
 * The examples an engine version 2 replay of `steps` steps from `firstStep` reads: the local
 * `--dataset` directory, or fetched from the spec's registered sources (and `extra`, the trainer's
 * server for a bound game).
 */
async function datasetOf(
  s: Session | undefined,
  spec: TrainingSpec,
  seed: Hex,
  firstStep: number,
  steps: number,
  dir: string | undefined,
  extra: readonly string[] = [],
): Promise<DatasetData> {
  return specDataset(s, spec, dir, extra, (from) =>
    disputeDataset({ spec, seed, firstStep, steps, ...from }),
  );
}

/**
 * The spec's dataset as `load` reads it: from the local `--dataset` directory, or from the spec's
 * registered sources (and `extra`); fails naming where it looked.
 */
export async function specDataset(
  s: Session | undefined,
  spec: TrainingSpec,
  dir: string | undefined,
  extra: readonly string[],
  load: (from: { dir: string } | { sources: string[] }) => Promise<DatasetData>,
): Promise<DatasetData> {
  if (dir !== undefined)
    return load({ dir }).catch((err: Error) =>
      fail(`--dataset ${dir} is not the spec's dataset: ${err.message}`),
    );
  const registered =
    s?.deployment.contracts.taskRegistry !== undefined
      ? await s.client.registry.getDatasetSources({ specId: specId(spec) })
      : [];
  const sources = [...registered, ...extra];
  if (sources.length === 0)
    fail(
      "the run is engine version 2 and no source of its dataset is registered for its spec: give a local copy with --dataset <dir>",
    );
  return load({ sources }).catch((err: Error) =>
    fail(
      `the spec's dataset from ${sources.join(", ")}: ${err.message} (or give a local copy with --dataset <dir>)`,
    ),
  );
}

/**
 * The replay of a run from step `from`: the engine's states from the given (or initial) parameters;
 * for engine version 2, on the examples steps `from .. from + steps` read.
 */
async function replayOf(o: ReplayOptions, steps: number, s?: Session): Promise<RunStates> {
  await loadFastKeccak();
  const text = await readFile(o.spec, "utf8").catch(() => fail(`cannot read --spec ${o.spec}`));
  let spec: TrainingSpec;
  try {
    spec = validateSpec(JSON.parse(text) as TrainingSpec);
  } catch (err) {
    return fail(`--spec ${o.spec}: ${(err as Error).message}`);
  }
  if (spec.version === 1 && o.dataset !== undefined)
    fail(
      `--dataset is for an engine version 2 spec; ${o.spec} is version 1 (its data derives from the seed)`,
    );
  const key = deriveKey(spec, o.seed);
  const data = spec.version === 2 ? await datasetOf(s, spec, o.seed, o.from, steps, o.dataset) : undefined;
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
    const session = await jsBackend.open(spec, key, data);
    start = await session.getWeights();
    session.close();
  }
  return disputeReplay(spec, o.seed, start, o.from, data);
}

const ZERO_ID = /^0x0+$/;

/**
 * Segment `segment` of challenge `id` as a bound game needs it: the committed leaves of its two
 * checkpoints from the trainer's server and the replay from the first (for engine version 2, on
 * the examples the segment reads: `dataset`, or fetched).
 */
async function boundReplayOf(s: Session, id: Hex, segment: number, opening = true, dataset?: string) {
  await loadFastKeccak();
  const info = await s.client.challenges.getChallenge({ id });
  // A game is opened on a run judged Valid, or as an accuser's seat in the defence of a run
  // convicted as Fraud (the game checks which); once opened it is played whatever the challenge's
  // status became (a won game overrules the verdict).
  if (opening && info.status !== "Valid" && info.status !== "Fraud")
    fail(
      `--challenge ${id} is ${info.status}: only a challenge judged Valid (or Fraud, with its defence open) can be disputed by a game`,
    );
  const spec = validateSpec(await s.client.registry.getSpec({ specId: info.specId }));
  if (spec.version === 1 && dataset !== undefined)
    fail(`--dataset is for an engine version 2 run; ${id} is version 1 (its data derives from the seed)`);
  const segments = spec.steps / spec.checkpointInterval;
  if (segment >= segments) fail(`--segment must be below ${segments} (the run's segments), got ${segment}`);
  const { endpoint } = await s.client.staking.getOperator({ operator: info.trainer });
  const fetchOne = (index: number): Promise<ProvenCheckpoint> =>
    fetchCheckpoint({ endpoint, id, index, spec, root: info.resultRoot }).catch((err: Error) =>
      fail(`checkpoint ${index} of ${id} from the trainer's server ${endpoint}: ${err.message}`),
    );
  const first = segment * spec.checkpointInterval;
  const [start, end, data] = await Promise.all([
    fetchOne(segment),
    fetchOne(segment + 1),
    spec.version === 2
      ? datasetOf(s, spec, info.seed, first, spec.checkpointInterval, dataset, [
          trainerDatasetUrl(endpoint, spec.dataset!),
        ])
      : undefined,
  ]);
  const replay = disputeReplay(spec, info.seed, start.checkpoint.weights, first, data);
  return { info, spec, start, end, replay };
}

function describe(view: DisputeView): string[] {
  return [
    `dispute ${view.id}: ${view.phase}`,
    `  challenger ${view.challenger}, defender ${view.defender}`,
    view.phase === "Resolved"
      ? `  winner ${view.winner}`
      : `  to move: ${view.mover} before ${new Date(Number(view.deadline) * 1000).toISOString()}`,
    `  steps ${view.lo}..${view.hi}${view.slot ? `, slot ${view.slot}, tree height ${view.height}, node ${view.node}` : ""}`,
    `  bonds held ${formatUnits(view.bond, 18)} POAI${ZERO_ID.test(view.challengeId) ? "" : `, bound to challenge ${view.challengeId}`}`,
  ];
}

const parseSegment = (v: string) => {
  if (!/^\d{1,10}$/.test(v) || Number(v) > 0xffff_ffff)
    throw new InvalidArgumentError(`--segment must be a segment index, got ${JSON.stringify(v)}`);
  return Number(v);
};

export function registerDisputeCommands(p: Command, h: DisputeCommandHelpers): void {
  const sub = subcommands(
    commandGroup(p, "dispute", "Bisection disputes of training claims: open, status, play"),
    h,
  );
  onGame(
    sub("status", "Show a dispute game: phase, whose move, deadline, disputed range"),
    h,
    parseId,
    async (o, config) => {
      const ctx = contextOf(await h.session(o, config, false));
      const view = await getDispute(ctx, { id: o.id });
      const segment = ZERO_ID.test(view.challengeId) ? undefined : await boundSegmentOf(ctx, { id: o.id });
      const lines = describe(view);
      if (segment !== undefined) lines.push(`  segment ${segment} of challenge ${view.challengeId}`);
      return { lines, data: { ...view, ...(segment !== undefined && { segment }) } };
    },
  );

  const optionalReplay = (c: Command) =>
    c
      .option("--spec <file>", "the training spec as JSON (not for a bound game)")
      .option("--seed <hex>", "the run's seed (not for a bound game)", parseBytes32("seed"))
      .option("--from <step>", "first step of the disputed range", parseStep("from"), 0)
      .option("--checkpoint <file>", "the run's checkpoint at --from (not needed from step 0)")
      .option(
        "--dataset <dir>",
        "engine version 2: a local copy of the spec's dataset (manifest.json and chunks/), checked against its roots; default: fetched from the sources registered for the spec (and the trainer's server for a bound game)",
      );

  optionalReplay(
    sub(
      "open",
      "Bond and dispute a segment of a challenge judged Valid (--challenge, --segment), or a trainer's claim (approve the bond to the DisputeGame first)",
    ),
  )
    .option(
      "--challenge <id>",
      "a challenge the committee judged Valid: dispute one of its segments (a game bound to it)",
      parseBytes32("challenge"),
    )
    .option("--segment <n>", "the segment of --challenge whose replay disagrees", parseSegment)
    .option("--defender <address>", "the trainer whose claim is disputed", parseAddress("defender"))
    .option("--steps <n>", "steps of the claim", parseStep("steps"))
    .option(
      "--end-root <hex>",
      "the parameter root the trainer claims after the steps",
      parseBytes32("end-root"),
    )
    .action(
      async (
        o: CommonOptions &
          Partial<ReplayOptions> & {
            challenge?: Hex;
            segment?: number;
            defender?: Address;
            steps?: number;
            endRoot?: Hex;
          },
      ) =>
        h.run(
          o.json,
          async (config) => {
            if (o.challenge !== undefined) return openBound(o.challenge, o, config);
            if (o.segment !== undefined)
              fail("--segment needs --challenge: the challenge whose segment is disputed");
            for (const [flag, value] of [
              ["--spec", o.spec],
              ["--seed", o.seed],
              ["--defender", o.defender],
              ["--steps", o.steps],
              ["--end-root", o.endRoot],
            ] as const)
              if (value === undefined)
                fail(
                  `${flag} is needed to dispute a claim (or give --challenge and --segment to dispute a challenge's segment)`,
                );
            return openClaim(
              o as CommonOptions & ReplayOptions & { defender: Address; steps: number; endRoot: Hex },
              config,
            );
          },
          o,
        ),
    );

  async function openBound(
    challenge: Hex,
    o: CommonOptions & {
      segment?: number;
      dataset?: string;
      spec?: string;
      seed?: Hex;
      defender?: Address;
      steps?: number;
      endRoot?: Hex;
    },
    config: CliConfig,
  ): Promise<CommandResult> {
    if (o.segment === undefined)
      fail("--segment is needed with --challenge: the segment whose replay disagrees");
    for (const [flag, value] of [
      ["--spec", o.spec],
      ["--seed", o.seed],
      ["--defender", o.defender],
      ["--steps", o.steps],
      ["--end-root", o.endRoot],
    ] as const)
      if (value !== undefined)
        fail(`${flag} is for a claim; a game bound to --challenge reads its claim from the chain`);
    const segment = o.segment!;
    const s = await h.session(o, config);
    const b = await boundReplayOf(s, challenge, segment, true, o.dataset);
    const own = b.replay.thetaRoot((segment + 1) * b.spec.checkpointInterval);
    if (own.toLowerCase() === b.end.parameterRoot.toLowerCase())
      fail(
        `segment ${segment} of ${challenge} replays to the committed parameter root ${own}: nothing to dispute`,
      );
    const leaf = (p: ProvenCheckpoint) => ({
      hash: p.hash,
      parameterRoot: p.parameterRoot,
      stepRoot: p.stepRoot,
      proof: p.proof,
    });
    const ctx = contextOf(s);
    const hash = await openBoundDispute(ctx, {
      challengeId: challenge,
      segment,
      start: leaf(b.start),
      end: leaf(b.end),
    });
    const receipt = await s.publicClient.waitForTransactionReceipt({ hash });
    const opened = parseEventLogs({
      abi: disputeGameAbi,
      eventName: "BoundGameOpened",
      logs: receipt.logs,
    })[0];
    if (!opened) fail(`openBound ${hash} opened no game`);
    const id = opened.args.id;
    return {
      lines: [
        `dispute ${id} opened on segment ${segment} of challenge ${challenge} against ${b.info.trainer} (${hash})`,
        `  the replay's parameter root after step ${(segment + 1) * b.spec.checkpointInterval}: ${own}`,
        `  the committed one: ${b.end.parameterRoot}`,
        `  play it with: poai dispute play --id ${id}`,
      ],
      data: {
        id,
        hash,
        challengeId: challenge,
        segment,
        trainer: b.info.trainer,
        replayRoot: own,
        committedRoot: b.end.parameterRoot,
      },
    };
  }

  async function openClaim(
    o: CommonOptions & ReplayOptions & { defender: Address; steps: number; endRoot: Hex },
    config: CliConfig,
  ): Promise<CommandResult> {
    const s = await h.session(o, config);
    const replay = await replayOf(o, o.steps, s);
    const own = replay.thetaRoot(o.from + o.steps);
    if (own.toLowerCase() === o.endRoot.toLowerCase())
      fail(`the replay gives the claimed root ${o.endRoot} after ${o.steps} steps: nothing to dispute`);
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
  }

  onGame<Partial<ReplayOptions> & { pollMs: number }>(
    withPollMs(
      optionalReplay(sub("play", "Play a dispute game to its end for the signer, from a replay of the run")),
    ),
    h,
    parseId,
    async (o, config) => {
      const s = await h.session(o, config);
      const ctx = contextOf(s);
      let replay: RunStates;
      const view = await getDispute(ctx, { id: o.id });
      if (o.spec === undefined && o.seed === undefined) {
        const segment = ZERO_ID.test(view.challengeId) ? undefined : await boundSegmentOf(ctx, { id: o.id });
        if (segment === undefined)
          fail(`--spec and --seed are needed to play game ${o.id}: it is not bound to a challenge`);
        replay = (await boundReplayOf(s, view.challengeId, segment!, false, o.dataset)).replay;
      } else {
        if (o.spec === undefined || o.seed === undefined)
          fail("--spec and --seed go together (or give neither to play a bound game)");
        // the steps still disputed: the range only narrows as the game goes on
        replay = await replayOf(o as ReplayOptions, view.hi - o.from!, s);
      }
      return playResult(
        "dispute",
        o.id,
        await playDispute(ctx, { id: o.id, source: replay, pollMs: o.pollMs }),
      );
    },
  );
}
