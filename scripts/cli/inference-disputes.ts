/**
 * `poai dispute inference open | status | play`: bisection disputes of a node's delivered output
 * of a registered model (docs/disputes.md, "Inference games"), by hand. The inference node plays
 * them by itself (`poai inference run`: it defends its deliveries; `--watch-deliveries` disputes
 * other nodes' wrong outputs); these commands are for an operator or a consumer on its own.
 *
 * - `open --delivery <subscription>:<interval>:<node> --checkpoint <file>`: recomputes the
 *   delivery the PoAIVerifier recorded from the model's checkpoint (checked against the registered
 *   weights hash) and, when it is wrong, approves the game's bond and opens a game on it
 *   (`disputeByGame`). A correct output is refused before anything is sent.
 * - `status --id <n>`: the game's phase, whose move, its deadline, the delivery it disputes.
 * - `play --id <n> --checkpoint <file>`: plays the signer's side (challenger or node) to the end
 *   from the engine's inference of the checkpoint on the delivered input.
 */
import { readFile } from "node:fs/promises";
import { Command, InvalidArgumentError } from "commander";
import { formatUnits, getAddress, isAddress, keccak256, type Address } from "viem";
import { readContract, waitForTransactionReceipt } from "viem/actions";
import { InferenceStates } from "@poai/sdk/compute";
import {
  checkOutput,
  getInferenceGame,
  getInferenceGameDelivery,
  getModel,
  getRecordedOutput,
  inferenceDisputeGameAbi,
  inferenceGameAddress,
  inferenceGamesFromLogs,
  openInferenceGame,
  playInferenceGame,
  type PoAIContext,
} from "@poai/sdk";
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
import type { CommonOptions } from "./session.js";

/** The command line's shared pieces, as the training games' commands get them. */
export type InferenceDisputeHelpers = DisputeCommandHelpers;

const fail = (message: string): never => {
  throw new OperatorCommandError(message);
};

const parseId = (v: string) => {
  if (!/^\d+$/.test(v) || v === "0")
    throw new InvalidArgumentError(`--id must be an inference game number, got ${JSON.stringify(v)}`);
  return BigInt(v);
};

interface DeliveryKey {
  subscriptionId: number;
  interval: number;
  node: Address;
}

const parseDelivery = (v: string): DeliveryKey => {
  const [sub, interval, node, ...rest] = v.split(":");
  if (
    rest.length > 0 ||
    !/^\d{1,10}$/.test(sub ?? "") ||
    !/^\d{1,10}$/.test(interval ?? "") ||
    Number(sub) < 1 ||
    Number(interval) < 1 ||
    !isAddress(node ?? "")
  )
    throw new InvalidArgumentError(
      `--delivery must be <subscription>:<interval>:<node address>, got ${JSON.stringify(v)}`,
    );
  return { subscriptionId: Number(sub), interval: Number(interval), node: getAddress(node!) };
};

/** The model's checkpoint file, checked against the weights hash the ModelRegistry holds. */
async function checkpointOf(ctx: PoAIContext, file: string, containerId: `0x${string}`) {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(file));
  } catch (err) {
    return fail(`--checkpoint ${file} cannot be read: ${(err as Error).message}`);
  }
  const model = await getModel(ctx, { containerId });
  if (keccak256(bytes) !== model.weightsHash.toLowerCase())
    fail(
      `--checkpoint ${file} hashes to ${keccak256(bytes)}, not the registered weights hash ${model.weightsHash} of model ${containerId}`,
    );
  return { bytes, widths: model.widths };
}

/** Registers `open`, `status` and `play` under `poai dispute inference`. */
export function registerInferenceDisputeCommands(p: Command, h: InferenceDisputeHelpers): void {
  const sub = subcommands(
    commandGroup(
      commandGroup(p, "dispute", "Dispute games"),
      "inference",
      "Inference games: dispute a node's delivered output by bisection (open, status, play)",
    ),
    h,
  );

  onGame(
    sub("status", "Show an inference game: phase, whose move, deadline, the delivery it disputes"),
    h,
    parseId,
    async (o, config) => {
      const ctx = contextOf(await h.session(o, config, false));
      const g = await getInferenceGame(ctx, { id: o.id });
      const d = await getInferenceGameDelivery(ctx, { id: o.id });
      return {
        lines: [
          `inference game ${o.id}: ${g.phase}`,
          `  delivery ${d.subscriptionId}:${d.interval}:${d.node}, challenger ${g.challenger}`,
          g.phase === "Resolved"
            ? `  winner ${g.winner}`
            : `  to move: ${g.mover} before ${new Date(Number(g.deadline) * 1000).toISOString()}`,
          `  slot ${g.slot}, tree height ${g.height}, node ${g.node}, chunks ${g.cLo}..${g.cHi}`,
          `  bond ${formatUnits(g.bond, 18)} POAI each`,
        ],
        data: { ...g, roots: undefined, leaf: undefined, delivery: d },
      };
    },
  );

  sub("open", "Recompute a delivery from the model's checkpoint and, when wrong, bond and open a game on it")
    .requiredOption("--delivery <sub:interval:node>", "the delivery the PoAIVerifier recorded", parseDelivery)
    .requiredOption(
      "--checkpoint <file>",
      "the model's checkpoint (its keccak256 is the registered weights hash)",
    )
    .action(async (o: CommonOptions & { delivery: DeliveryKey; checkpoint: string }) =>
      h.run(
        o.json,
        async (config) => {
          const s = await h.session(o, config);
          const ctx = contextOf(s);
          const d = await getRecordedOutput(ctx, o.delivery);
          const { bytes, widths } = await checkpointOf(ctx, o.checkpoint, d.containerId);
          const { correct, expected } = checkOutput({
            widths,
            checkpoint: bytes,
            input: d.input,
            output: d.output,
          });
          if (correct)
            fail(
              `delivery ${o.delivery.subscriptionId}:${o.delivery.interval}:${o.delivery.node} is the model's output: nothing to dispute`,
            );
          const game = await inferenceGameAddress(ctx);
          const [bond, token] = await Promise.all([
            readContract(ctx.publicClient, {
              address: game,
              abi: inferenceDisputeGameAbi,
              functionName: "bond",
            }),
            readContract(ctx.publicClient, {
              address: game,
              abi: inferenceDisputeGameAbi,
              functionName: "token",
            }),
          ]);
          await approveBond(ctx, token, game, bond);
          const hash = await openInferenceGame(ctx, d);
          const receipt = await waitForTransactionReceipt(ctx.publicClient, { hash });
          if (receipt.status !== "success") fail(`disputeByGame ${hash} reverted`);
          const opened = inferenceGamesFromLogs(receipt.logs)[0];
          return {
            lines: opened
              ? [`inference game ${opened.gameId} opened (${hash})`, `  the model's output: ${expected}`]
              : [`delivery settled invalid at once: its label is not its scores' first maximum (${hash})`],
            data: { hash, id: opened?.gameId ?? null, expected },
          };
        },
        o,
      ),
    );

  onGame<{ checkpoint: string; pollMs: number }>(
    withPollMs(
      sub(
        "play",
        "Play an inference game to its end for the signer (challenger or node) from the model's checkpoint",
      ).requiredOption(
        "--checkpoint <file>",
        "the model's checkpoint (its keccak256 is the registered weights hash)",
      ),
    ),
    h,
    parseId,
    async (o, config) => {
      const ctx = contextOf(await h.session(o, config));
      const opened = await getInferenceGameDelivery(ctx, { id: o.id });
      const d = await getRecordedOutput(ctx, opened);
      const { bytes, widths } = await checkpointOf(ctx, o.checkpoint, d.containerId);
      const source = new InferenceStates(
        widths,
        bytes,
        Uint8Array.from(Buffer.from(d.input.slice(2), "hex")),
      );
      return playResult(
        "inference game",
        o.id,
        await playInferenceGame(ctx, { id: o.id, source, pollMs: o.pollMs }),
      );
    },
  );
}
