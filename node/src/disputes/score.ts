/**
 * The daemons' score games (docs/disputes.md, "Score games"): a job run's reported held-out
 * accuracy disputed by bisection over the held-out examples (`ScoreGame`), down to one example
 * whose output scores an inference game hosted by the ScoreGame decides (`scoreGame.inference()`).
 *
 * - The **trainer** (`role: "defender"`) finds the `GameOpened` events naming it as trainer (a
 *   block cursor in its database) and defends each game with its evaluation of the run's final
 *   checkpoint (`ScoreEvidence`), and the inner inference game with its forward pass of that
 *   checkpoint on the example (`InferenceStates`).
 * - The **validator** (`role: "challenger"`) opens a game on a run it judged whose reported
 *   accuracy is not the one it measured (`open`), and plays it the same way from its own
 *   evaluation of the final checkpoint.
 *
 * Every move goes through the {@link DisputePlayer}: written to the daemon's SQLite database
 * (`score_*` tables, the inner games' `score_inference_*`) before it is sent, so a restart resumes
 * exactly where it stopped; one `step` sends at most the moves the game asks of this party now
 * (one, in a two-party game) and never blocks on the other party. An opening is written before it
 * is sent too, and after a restart found again from the chain (`GameOpened` of this challenger).
 * The bonds (the game's to the ScoreGame, the inference game's to `inference()`) are approved
 * before the first move that pulls them.
 */
import { encodeFunctionData, parseEventLogs, zeroAddress, type Address, type Hash, type Hex } from "viem";
import {
  getBlock,
  getBlockNumber,
  getContractEvents,
  readContract,
  waitForTransactionReceipt,
} from "viem/actions";
import {
  encodeInferenceGameMove,
  encodeOpenScoreGame,
  encodeScoreGameMove,
  getInferenceGame,
  getScoreGame,
  inferenceDisputeGameAbi,
  jobRegistryAbi,
  nextInferenceGameMove,
  poaiTokenAbi,
  scoreGameAbi,
  sendContractTransaction,
  type FinalLeafProof,
  type InferenceGameState,
  type PoAIClient,
  type ScoreGameState,
} from "@poai/sdk";
import { InferenceStates, scoreMove, type InferenceSource, type ScoreSource } from "@poai/sdk/compute";
import type { Logger } from "../daemon/log.js";
import {
  DisputePlayer,
  inferenceStateKey,
  type GameKind,
  type GameStatus,
  type PlayerHooks,
} from "./player.js";
import type { DisputeRole, DisputeStore, GameRecord } from "./store.js";

/** Blocks per `eth_getLogs` request of the scan. */
const SCAN_RANGE = 5_000n;

/** What a party plays a score game from: its evaluation and the final checkpoint's bytes. */
export interface ScoreEvidenceOf {
  source: ScoreSource;
  /** The final checkpoint (canonical bytes): the inner inference game's model. */
  /** The final checkpoint's bytes (the inner inference game's model); absent for a party that
   *  holds the committed predictions only, which never disputes a prediction. */
  checkpoint?: Uint8Array;
}

/** The game state a score game's move answers. */
export function scoreStateKey(view: ScoreGameState): string {
  return [view.phase, view.deadline, view.lo, view.hi, view.count, view.left].join(":");
}

/** The score game (ScoreGame at `address`), played from a {@link ScoreSource}. */
export function scoreGameKind(address: Address): GameKind<ScoreGameState, ScoreSource> {
  return {
    name: "score game",
    address: () => address,
    read: (ctx, id) => getScoreGame(ctx, { id, address }),
    key: scoreStateKey,
    move: async (_ctx, view, source) => scoreMove(view, source) as never,
    encode: (move) => encodeScoreGameMove(move as Parameters<typeof encodeScoreGameMove>[0]),
    mayPass: true,
  };
}

/** The inference games a ScoreGame hosts (its `inference()` at `address`). */
export function hostedInferenceKind(address: Address): GameKind<InferenceGameState, InferenceSource> {
  return {
    name: "score inference game",
    address: () => address,
    read: (ctx, id) => getInferenceGame(ctx, { id, address }),
    key: inferenceStateKey,
    move: async (_ctx, view, source, me) => {
      try {
        return nextInferenceGameMove(view, source, me);
      } catch {
        // nothing this party disputes (its forward pass agrees): it lets the turn pass
        return null;
      }
    },
    encode: (move) => encodeInferenceGameMove(move as Parameters<typeof encodeInferenceGameMove>[0]),
    mayPass: true,
  };
}

export interface ScoreDisputesOptions {
  client: PoAIClient;
  /** The account that plays (the trainer's, or the validator's). */
  account: Address;
  role: DisputeRole;
  /** The score games' tables (`new DisputeStore(db, "score")`). */
  store: DisputeStore;
  /** The hosted inference games' tables (`new DisputeStore(db, "score_inference")`). */
  inner: DisputeStore;
  log: Logger;
  /**
   * The evidence the party plays game(s) on job run `challengeId` from; undefined when it holds
   * none (the game is then left to its deadline, and logged).
   */
  evidenceOf(challengeId: Hex, signal?: AbortSignal): Promise<ScoreEvidenceOf | undefined>;
  /** The defender only: whether `challengeId` is one of its runs (still held). */
  ownsRun?(challengeId: Hex): boolean;
  warnSeconds?: number;
  hooks?: PlayerHooks;
}

export class ScoreDisputes {
  private addresses: { game: Address; inference: Address } | null | undefined;
  private player: DisputePlayer<ScoreGameState, ScoreSource> | undefined;
  private innerPlayer: DisputePlayer<InferenceGameState, InferenceSource> | undefined;
  private readonly evidence = new Map<string, Promise<ScoreEvidenceOf | undefined>>();

  constructor(private readonly o: ScoreDisputesOptions) {}

  /** Whether the deployment has a score game (the address book's, else the JobRegistry's). */
  async enabled(): Promise<boolean> {
    return (await this.resolve()) !== null;
  }

  private async resolve(): Promise<{ game: Address; inference: Address } | null> {
    if (this.addresses !== undefined) return this.addresses;
    const { client } = this.o;
    let game = client.deployment.contracts.scoreGame;
    const jobs = client.deployment.contracts.jobRegistry;
    if (!game && jobs) {
      game = await readContract(client.publicClient, {
        address: jobs,
        abi: jobRegistryAbi,
        functionName: "scoreGame",
      });
    }
    if (!game || game === zeroAddress) return (this.addresses = null);
    const inference = await readContract(client.publicClient, {
      address: game,
      abi: scoreGameAbi,
      functionName: "inference",
    });
    this.addresses = { game, inference };
    const common = { ctx: client, account: this.o.account, log: this.o.log } as const;
    const extra = {
      ...(this.o.warnSeconds !== undefined && { warnSeconds: this.o.warnSeconds }),
      ...(this.o.hooks && { hooks: this.o.hooks }),
    };
    this.player = new DisputePlayer({ ...common, ...extra, store: this.o.store, kind: scoreGameKind(game) });
    this.innerPlayer = new DisputePlayer({
      ...common,
      ...extra,
      store: this.o.inner,
      kind: hostedInferenceKind(inference),
    });
    return this.addresses;
  }

  /** The defender: records the games opened against this trainer's runs since the last scan. */
  async scan(): Promise<void> {
    const a = await this.resolve();
    if (!a || this.o.role !== "defender") return;
    const { client, store, log } = this.o;
    const from = BigInt(store.getMeta("scanBlock") ?? String(client.deployment.deployBlock ?? 0n));
    const head = await getBlockNumber(client.publicClient, { cacheTime: 0 });
    for (let lo = from; lo <= head; lo += SCAN_RANGE) {
      const hi = lo + SCAN_RANGE - 1n < head ? lo + SCAN_RANGE - 1n : head;
      const logs = await getContractEvents(client.publicClient, {
        address: a.game,
        abi: scoreGameAbi,
        eventName: "GameOpened",
        fromBlock: lo,
        toBlock: hi,
      });
      for (const l of logs) {
        const { id, challengeId, trainer, challenger, reportedScoreBps } = l.args;
        if (trainer!.toLowerCase() !== this.o.account.toLowerCase()) continue;
        if (this.o.ownsRun && !this.o.ownsRun(challengeId!)) continue;
        if (store.game(id!)) continue;
        store.addGame({ gameId: id!, role: "defender", challengeId: challengeId! });
        log.warn(
          { game: id, challenge: challengeId, challenger, reportedScoreBps },
          "a score game on this trainer's reported accuracy: defending it",
        );
      }
      store.setMeta("scanBlock", (hi + 1n).toString());
    }
  }

  /** Whether a game on `challengeId` was opened (or is being opened) by this daemon. */
  opened(challengeId: Hex): boolean {
    const r = this.o.store.open(challengeId);
    return r !== undefined && r.status !== "refused";
  }

  /**
   * The challenger: opens a game on job run `challengeId` with its final leaf, unless this daemon
   * opened one already. Written before it is sent; after a restart a sent opening is found again
   * from the chain (this challenger's `GameOpened` on the run) instead of being sent twice.
   */
  async open(challengeId: Hex, final: FinalLeafProof): Promise<bigint | undefined> {
    const a = await this.resolve();
    if (!a) return undefined;
    const { client, store, log } = this.o;
    const known = store.open(challengeId);
    if (known?.status === "opened" || known?.status === "refused") return known.gameId;
    if (known) {
      const found = await this.openedOnChain(challengeId);
      if (found !== undefined) {
        this.adopt(challengeId, found);
        return found;
      }
      if (known.status === "sent" && known.txHash) {
        const receipt = await waitForTransactionReceipt(client.publicClient, {
          hash: known.txHash,
          timeout: 120_000,
        }).catch(() => undefined);
        if (receipt?.status === "success") {
          const id = this.gameIdIn(receipt.logs);
          if (id !== undefined) {
            this.adopt(challengeId, id);
            return id;
          }
        }
      }
    }
    await this.approve(a.game, "bond", a.game);
    await this.approve(a.inference, "bond", a.inference);
    const calldata = encodeOpenScoreGame(challengeId, final);
    store.persistOpen(challengeId, 0, calldata);
    let hash: Hash;
    try {
      hash = await sendContractTransaction(client, { to: a.game, data: calldata, functionName: "open" });
    } catch (err) {
      const note = (err as Error)?.message ?? String(err);
      store.updateOpen(challengeId, { status: "refused", note });
      log.warn({ challenge: challengeId, err: note }, "the score game could not be opened");
      return undefined;
    }
    store.updateOpen(challengeId, { status: "sent", txHash: hash });
    const receipt = await waitForTransactionReceipt(client.publicClient, { hash, timeout: 120_000 });
    const id = receipt.status === "success" ? this.gameIdIn(receipt.logs) : undefined;
    if (id === undefined) {
      store.updateOpen(challengeId, { status: "refused", note: "the opening reverted" });
      return undefined;
    }
    this.adopt(challengeId, id);
    log.warn(
      { game: id, challenge: challengeId, tx: hash },
      "opened a score game on a false reported accuracy",
    );
    return id;
  }

  private gameIdIn(logs: Parameters<typeof parseEventLogs>[0]["logs"]): bigint | undefined {
    return parseEventLogs({ abi: scoreGameAbi, eventName: "GameOpened", logs }).find(
      (l) => l.args.challenger.toLowerCase() === this.o.account.toLowerCase(),
    )?.args.id;
  }

  private adopt(challengeId: Hex, gameId: bigint): void {
    this.o.store.updateOpen(challengeId, { status: "opened", gameId });
    this.o.store.addGame({ gameId, role: "challenger", challengeId });
  }

  private async openedOnChain(challengeId: Hex): Promise<bigint | undefined> {
    const a = (await this.resolve())!;
    const logs = await getContractEvents(this.o.client.publicClient, {
      address: a.game,
      abi: scoreGameAbi,
      eventName: "GameOpened",
      args: { challengeId, challenger: this.o.account },
      fromBlock: this.o.client.deployment.deployBlock ?? 0n,
    });
    return logs.at(-1)?.args.id;
  }

  /** Approves `spender` for the bond of `game` (its `bond()`) when the allowance is short. */
  private async approve(game: Address, _fn: "bond", spender: Address): Promise<void> {
    const { client } = this.o;
    const pc = client.publicClient;
    const a = (await this.resolve())!;
    const [token, bond] = await Promise.all([
      readContract(pc, { address: a.game, abi: scoreGameAbi, functionName: "token" }),
      readContract(pc, {
        address: game,
        abi: game === a.game ? scoreGameAbi : inferenceDisputeGameAbi,
        functionName: "bond",
      }) as Promise<bigint>,
    ]);
    const allowance = await readContract(pc, {
      address: token,
      abi: poaiTokenAbi,
      functionName: "allowance",
      args: [this.o.account, spender],
    });
    if (allowance >= bond) return;
    const hash = await sendContractTransaction(client, {
      to: token,
      data: encodeFunctionData({ abi: poaiTokenAbi, functionName: "approve", args: [spender, bond] }),
      functionName: "approve",
    });
    await waitForTransactionReceipt(pc, { hash });
  }

  /** Plays every open game (and the inference game it hosts) as far as this party can now. */
  async play(signal?: AbortSignal): Promise<void> {
    const a = await this.resolve();
    if (!a) return;
    for (const g of this.o.store.games(["playing"])) {
      signal?.throwIfAborted();
      try {
        await this.playOne(a, g, signal);
      } catch (err) {
        if (signal?.aborted) throw err;
        this.o.store.noteGame(g.gameId, (err as Error)?.message ?? String(err));
        this.o.log.error(
          { err, game: g.gameId, challenge: g.challengeId },
          "score game move failed; retried next tick",
        );
      }
    }
  }

  private async playOne(
    a: { game: Address; inference: Address },
    g: GameRecord,
    signal?: AbortSignal,
  ): Promise<void> {
    const { client } = this.o;
    const evidence = () => {
      const key = g.challengeId!.toLowerCase();
      let e = this.evidence.get(key);
      if (!e) {
        e = this.o.evidenceOf(g.challengeId!, signal);
        e.catch(() => this.evidence.delete(key));
        this.evidence.set(key, e);
      }
      return e;
    };
    const need = async () => {
      const e = await evidence();
      if (!e) throw new Error(`no evidence held for the score game on ${g.challengeId}`);
      return e;
    };
    let state = await getScoreGame(client, { id: g.gameId, address: a.game });
    // the defender's first move posts its bond
    if (this.o.role === "defender" && state.phase === "Count") await this.approve(a.game, "bond", a.game);
    // the example's scores disputed: each party's bond to the inference game it may pull
    if (state.phase === "Dispute" || state.phase === "Example")
      await this.approve(a.inference, "bond", a.inference);
    const out = await this.player!.play(g.gameId, async () => (await need()).source, signal);
    if (out.state === "resolved") {
      this.evidence.delete(g.challengeId!.toLowerCase());
      return;
    }
    state = await getScoreGame(client, { id: g.gameId, address: a.game });
    if (state.phase !== "Inference") return;
    const id = state.inferenceId;
    if (!this.o.inner.game(id))
      this.o.inner.addGame({ gameId: id, role: this.o.role, challengeId: g.challengeId!, segment: state.lo });
    const inner = await this.innerPlayer!.play(
      id,
      async () => {
        const e = await need();
        if (!e.checkpoint)
          throw new Error(
            `score game ${g.gameId}: its inference game needs the final checkpoint, which is not held`,
          );
        return new InferenceStates(state.widths, e.checkpoint, e.source.inference(state.lo).input);
      },
      signal,
    );
    if (inner.state !== "resolved") return;
    // the inference game called back; if it could not, anyone resolves the score game from it
    const after = await getScoreGame(client, { id: g.gameId, address: a.game });
    if (after.phase === "Inference") {
      const hash = await sendContractTransaction(client, {
        to: a.game,
        data: encodeScoreGameMove({ functionName: "syncInference", args: [g.gameId] }),
        functionName: "syncInference",
      });
      await waitForTransactionReceipt(client.publicClient, { hash });
    }
    await this.player!.play(g.gameId, async () => (await need()).source, signal);
  }

  /** Whether a game on `challengeId` is still being played. */
  live(challengeId: Hex): boolean {
    const id = challengeId.toLowerCase();
    return this.o.store.games(["playing"]).some((g) => g.challengeId?.toLowerCase() === id);
  }

  /** Until when a game may be opened on `challengeId` (0: not a judged job run), with the chain's time. */
  async window(challengeId: Hex): Promise<{ openUntil: bigint; now: bigint } | undefined> {
    const a = await this.resolve();
    if (!a) return undefined;
    const [openUntil, block] = await Promise.all([
      readContract(this.o.client.publicClient, {
        address: a.game,
        abi: scoreGameAbi,
        functionName: "openUntil",
        args: [challengeId],
      }),
      getBlock(this.o.client.publicClient, { blockTag: "latest" }),
    ]);
    return { openUntil, now: block.timestamp };
  }

  status(): { games: GameStatus[]; inference: GameStatus[] } {
    return { games: this.player?.status() ?? [], inference: this.innerPlayer?.status() ?? [] };
  }
}
