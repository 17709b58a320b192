/**
 * `poai dispute score open | status | play`: score games, disputes of the held-out accuracy a job
 * run reported (docs/disputes.md, "Score games"), by hand. The validator daemon opens them on the
 * runs it judged and the trainer daemon defends its runs by itself; these commands are for anyone
 * else (a job owner, an outside party) or an operator on its own.
 *
 * - `open --challenge <id>`: fetches the run's final checkpoint from the trainer's server (proven
 *   under the committed root), evaluates it on the spec's held-out examples (`--dataset <dir>`, or
 *   the dataset's registered sources and the trainer's server), and, when the accuracy it measures
 *   is not the reported one, approves the bonds (the ScoreGame's and its inference game's) and opens
 *   a game. A report the checkpoint bears out is refused before anything is sent.
 * - `status --id <n>`: the game's phase, the disputed range and count, whose move, its deadline.
 * - `play --id <n>`: plays the signer's side (challenger or trainer) to the end from its own
 *   evaluation of the final checkpoint.
 */
import { Command, InvalidArgumentError } from "commander";
import { getAddress, isHex, size, type Hex } from "viem";
import { readContract, waitForTransactionReceipt } from "viem/actions";
import {
  EvalTrace,
  InferenceStates,
  ScoreEvidence,
  deriveKey,
  encodeCheckpoint,
  loadFastKeccak,
  validateSpec,
} from "@poai/sdk/compute";
import {
  getScoreGame,
  inferenceDisputeGameAbi,
  openScoreGame,
  playScoreGame,
  scoreGameAbi,
  scoreGameAddress,
  scoreGamesFromLogs,
  type PoAIContext,
} from "@poai/sdk";
import { fetchCheckpoint } from "@poai/node";
import { heldOutDataset, trainerDatasetUrl } from "@poai/node/disputes";
import { OperatorCommandError } from "./commands.js";
import {
  approveBond,
  commandGroup,
  contextOf,
  onGame,
  playResult,
  subcommands,
  withPollMs,
  type DisputeCommandHelpers,
} from "./dispute-kit.js";
import { specDataset } from "./disputes.js";
import type { CommonOptions, Session } from "./session.js";

const fail = (message: string): never => {
  throw new OperatorCommandError(message);
};

const parseId = (v: string) => {
  if (!/^\d+$/.test(v) || v === "0")
    throw new InvalidArgumentError(`--id must be a score game number, got ${JSON.stringify(v)}`);
  return BigInt(v);
};

const parseChallenge = (v: string): Hex => {
  if (!isHex(v, { strict: true }) || size(v) !== 32)
    throw new InvalidArgumentError(
      `--challenge must be a challenge id (32-byte hex), got ${JSON.stringify(v)}`,
    );
  return v;
};

/**
 * Job run `id`'s final checkpoint (from the trainer's server, proven under the committed root) and
 * the evaluation of it on the spec's held-out examples.
 */
async function evaluationOf(s: Session, id: Hex, dataset: string | undefined) {
  await loadFastKeccak();
  const info = await s.client.challenges.getChallenge({ id });
  const spec = validateSpec(await s.client.registry.getSpec({ specId: info.specId }));
  if (spec.version !== 2 || !spec.dataset)
    fail(
      `${id} is an engine version ${spec.version} run: a score game disputes a job run (engine version 2)`,
    );
  const { endpoint } = await s.client.staking.getOperator({ operator: info.trainer });
  const index = spec.steps / spec.checkpointInterval;
  const [final, data] = await Promise.all([
    fetchCheckpoint({ endpoint, id, index, spec, root: info.resultRoot }).catch((err: Error) =>
      fail(`the final checkpoint ${index} of ${id} from the trainer's server ${endpoint}: ${err.message}`),
    ),
    specDataset(s, spec, dataset, [trainerDatasetUrl(endpoint, spec.dataset!)], (from) =>
      heldOutDataset({ spec, ...from }),
    ),
  ]);
  const trace = new EvalTrace(spec, deriveKey(spec, info.seed), final.checkpoint.weights, data);
  const checkpoint = encodeCheckpoint(spec, final.checkpoint);
  return {
    info,
    spec,
    final,
    evidence: new ScoreEvidence(trace, data.eval),
    trace,
    inference: (_example: number, input: Uint8Array) => new InferenceStates(spec.widths, checkpoint, input),
  };
}

/** Approves the ScoreGame's bond and its inference game's, as a party of a game may need both. */
async function approveBonds(ctx: PoAIContext): Promise<void> {
  const game = await scoreGameAddress(ctx);
  const read = <F extends "bond" | "token" | "inference">(functionName: F) =>
    readContract(ctx.publicClient, { address: game, abi: scoreGameAbi, functionName });
  const [bond, token, inference] = await Promise.all([read("bond"), read("token"), read("inference")]);
  await approveBond(ctx, token, game, bond);
  const inferenceBond = await readContract(ctx.publicClient, {
    address: inference,
    abi: inferenceDisputeGameAbi,
    functionName: "bond",
  });
  await approveBond(ctx, token, inference, inferenceBond);
}

/** Registers `open`, `status` and `play` under `poai dispute score`. */
export function registerScoreDisputeCommands(p: Command, h: DisputeCommandHelpers): void {
  const sub = subcommands(
    commandGroup(
      commandGroup(p, "dispute", "Dispute games"),
      "score",
      "Score games: dispute the held-out accuracy a job run reported (open, status, play)",
    ),
    h,
  );

  onGame(
    sub("status", "Show a score game: phase, the disputed examples, whose move, deadline"),
    h,
    parseId,
    async (o, config) => {
      const ctx = contextOf(await h.session(o, config, false));
      const g = await getScoreGame(ctx, { id: o.id });
      return {
        lines: [
          `score game ${o.id}: ${g.phase}`,
          `  job run ${g.challengeId}: trainer ${g.trainer} reported ${(g.reportedScoreBps / 100).toFixed(2)}% of ${g.evalSize} held-out examples; challenger ${g.challenger}`,
          g.phase === "Resolved"
            ? `  winner ${g.winner}`
            : g.phase === "Inference"
              ? `  the inference game ${g.inferenceId} decides example ${g.lo}'s prediction`
              : `  to move: ${g.mover} before ${new Date(Number(g.deadline) * 1000).toISOString()}`,
          `  examples ${g.lo}..${g.hi - 1}, the trainer's count ${g.count}`,
        ],
        data: { ...g },
      };
    },
  );

  sub(
    "open",
    "Evaluate a job run's final checkpoint and, when its reported accuracy is not what it scores, bond and open a score game",
  )
    .requiredOption("--challenge <id>", "the job run (its challenge id)", parseChallenge)
    .option(
      "--dataset <dir>",
      "a local copy of the spec's dataset (default: its registered sources and the trainer's server)",
    )
    .action(async (o: CommonOptions & { challenge: Hex; dataset?: string }) =>
      h.run(
        o.json,
        async (config) => {
          const s = await h.session(o, config);
          const ctx = contextOf(s);
          const { info, final, trace } = await evaluationOf(s, o.challenge, o.dataset);
          if (trace.accuracyBps === info.reportedScoreBps)
            fail(
              `the final checkpoint of ${o.challenge} scores ${(trace.accuracyBps / 100).toFixed(2)}% (${trace.correct} of ${trace.spec.evalSize}), the accuracy its trainer reported: nothing to dispute`,
            );
          await approveBonds(ctx);
          const hash = await openScoreGame(ctx, {
            challengeId: o.challenge,
            final: {
              weightsHash: final.hash,
              parameterRoot: final.parameterRoot,
              evalRoot: final.stepRoot,
              proof: final.proof,
            },
          });
          const receipt = await waitForTransactionReceipt(ctx.publicClient, { hash });
          if (receipt.status !== "success") fail(`open ${hash} reverted`);
          const [opened] = scoreGamesFromLogs(receipt.logs);
          return {
            lines: [
              `score game ${opened!.gameId} opened on ${o.challenge} (${hash})`,
              `  reported ${(info.reportedScoreBps / 100).toFixed(2)}%, the final checkpoint scores ${(trace.accuracyBps / 100).toFixed(2)}% (${trace.correct} of ${trace.spec.evalSize})`,
              `  play it with: poai dispute score play --id ${opened!.gameId}`,
            ],
            data: {
              hash,
              id: opened!.gameId,
              reportedScoreBps: info.reportedScoreBps,
              measuredBps: trace.accuracyBps,
            },
          };
        },
        o,
      ),
    );

  onGame<{ dataset?: string; pollMs: number }>(
    withPollMs(
      sub(
        "play",
        "Play a score game to its end for the signer (challenger or trainer) from its evaluation of the final checkpoint",
      ).option(
        "--dataset <dir>",
        "a local copy of the spec's dataset (default: its registered sources and the trainer's server)",
      ),
    ),
    h,
    parseId,
    async (o, config) => {
      const s = await h.session(o, config);
      const ctx = contextOf(s);
      const g = await getScoreGame(ctx, { id: o.id });
      const me = getAddress(s.walletClient!.account!.address);
      if (me !== getAddress(g.trainer) && me !== getAddress(g.challenger))
        fail(
          `the signer ${me} is neither the trainer ${g.trainer} nor the challenger ${g.challenger} of score game ${o.id}`,
        );
      const { evidence, inference } = await evaluationOf(s, g.challengeId, o.dataset);
      await approveBonds(ctx);
      const played = await playScoreGame(ctx, { id: o.id, source: evidence, inference, pollMs: o.pollMs });
      return playResult("score game", o.id, played);
    },
  );
}
