/**
 * The inference node's part in inference games (docs/disputes.md, "The daemons play"): it defends
 * every game opened on one of its own deliveries, and, as a watcher (`watch`), it recomputes the
 * deliveries other nodes make of the models it serves and disputes the wrong ones.
 *
 * Reads are event-based and batched: one `eth_getLogs` per block range of the PoAIVerifier's
 * events (`OutputVerificationRequested` for the watcher, `OutputGameOpened` for both sides),
 * from a cursor kept in the database, so the work grows with the deliveries recorded, never with
 * polling of each.
 *
 * - **Defence.** A game whose `OutputGameOpened` names this node is recorded (role `defender`) with
 *   the delivery it disputes (the input and output the verifier recorded), and played by the
 *   {@link DisputePlayer} from the model checkpoint the node serves (`defenceSource`, a hook).
 * - **Watch.** A delivery by another node of a model the node holds is recomputed by the engine;
 *   a wrong one is disputed within its dispute window: by the whole-model `dispute` when the
 *   chain estimates it at most `wholeModelMaxGas` (one transaction, no bond, cheaper than the
 *   cheapest game: 1,367,708 gas measured for the 26k-parameter reference shape), else by
 *   `disputeByGame` (the game's bond approved on the way), then played to the end from the
 *   engine's replay.
 * - **Crash safety.** Every move goes through the player (on disk before it is sent, resumed after
 *   a crash by the state it answers). An opening is written to `inference_watch` (`persisted`,
 *   with its calldata) before it is sent and `sent` with its hash right after; after a crash a
 *   `persisted` or unseen opening is looked for on chain (this account's `OutputGameOpened` on the
 *   delivery, or the delivery already settled) before exactly its stored calldata is sent again.
 */
import {
  TransactionNotFoundError,
  TransactionReceiptNotFoundError,
  encodeFunctionData,
  maxUint256,
  parseEventLogs,
  type Address,
  type Hash,
  type Hex,
} from "viem";
import {
  estimateGas,
  getBlock,
  getContractEvents,
  getTransaction,
  getTransactionReceipt,
  readContract,
  waitForTransactionReceipt,
} from "viem/actions";
import {
  checkOutput,
  encodeOpenInferenceGame,
  getOutputVerification,
  getRecordedOutput,
  inferenceDisputeGameAbi,
  inferenceGameAddress,
  inferenceGamesFromLogs,
  isPoAIContractError,
  modelRegistryAbi,
  modelRegistryAddress,
  poaiTokenAbi,
  poaiVerifierAbi,
  poaiVerifierAddress,
  sendContractTransaction,
  type PoAIClient,
  type RecordedOutput,
} from "@poai/sdk";
import { InferenceStates, parameterRoot, type InferenceSource } from "@poai/sdk/compute";
import type { Logger } from "../daemon/log.js";
import type { Database } from "../daemon/sqlite.js";
import { DisputePlayer, INFERENCE_GAME, type GameStatus, type PlayerHooks } from "./player.js";
import { DisputeStore, INFERENCE_DISPUTE_TABLES } from "./store.js";

/** The inference node's dispute tables: one migration of its schema. */
export const INFERENCE_GAME_TABLES = `
  ${INFERENCE_DISPUTE_TABLES}
  CREATE TABLE inference_game_deliveries (
    game_id         TEXT PRIMARY KEY,
    subscription_id INTEGER NOT NULL,
    interval        INTEGER NOT NULL,
    node            TEXT NOT NULL,
    container_id    TEXT NOT NULL,
    input           TEXT NOT NULL,
    output          TEXT NOT NULL
  );
  CREATE TABLE inference_watch (
    subscription_id INTEGER NOT NULL,
    interval        INTEGER NOT NULL,
    node            TEXT NOT NULL,
    container_id    TEXT NOT NULL,
    input           TEXT NOT NULL,
    output          TEXT NOT NULL,
    deadline        INTEGER NOT NULL,
    status          TEXT NOT NULL,
    mode            TEXT,
    calldata        TEXT,
    tx_hash         TEXT,
    game_id         TEXT,
    note            TEXT,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (subscription_id, interval, node)
  );
  CREATE INDEX inference_watch_status ON inference_watch (status);
`;

/** Default of `wholeModelMaxGas`: below the cheapest whole game measured (1,367,708 gas). */
export const WHOLE_MODEL_MAX_GAS = 1_300_000n;

/** A model the node holds: what its outputs are recomputed from. */
export interface HeldModel {
  /** The model's `containerId` (the hash subscriptions name). */
  containerId: Hex;
  widths: readonly number[];
  /** The checkpoint encoding (its keccak256 is the registered `weightsHash`). */
  checkpoint: Uint8Array;
}

/** One delivery, as the PoAIVerifier recorded it (the SDK's `RecordedOutput` without its deadline). */
export type RecordedDelivery = Omit<RecordedOutput, "deadline">;

/**
 * A watched delivery's life: `correct` (recomputed, nothing to do), `wrong` (to dispute),
 * `persisted` (the opening on disk), `sent` (its hash on disk), `opened` (a game is played),
 * `settled` (settled invalid without a game: the whole-model dispute, or a label that is not the
 * scores' first maximum), `refused` (the chain refused the opening; `note` says why), `missed`
 * (its dispute window closed before it could be opened), `off` (wrong, but openings are off).
 */
export type WatchStatus =
  "correct" | "wrong" | "persisted" | "sent" | "opened" | "settled" | "refused" | "missed" | "off";

export interface WatchRecord extends RecordedDelivery {
  deadline: bigint;
  status: WatchStatus;
  mode: "game" | "whole" | undefined;
  calldata: Hex | undefined;
  txHash: Hash | undefined;
  gameId: bigint | undefined;
  note: string | undefined;
}

/** Hooks around each move and opening (a crash can be simulated by throwing from one). */
export interface InferenceDisputeHooks extends PlayerHooks {
  /** After an opening is on disk, before it is sent. */
  afterOpenPersist?(r: WatchRecord): void | Promise<void>;
}

/** How a wrong output is disputed: by the chain's gas estimate (`auto`), or always one way. */
export type DisputeMode = "auto" | "game" | "whole";

export interface InferenceDisputesOptions {
  client: PoAIClient;
  /** The node's account: the defender of its deliveries, the challenger of the ones it disputes. */
  account: Address;
  db: Database;
  log: Logger;
  /** The models the node holds, by lower-case `containerId`. */
  models: ReadonlyMap<string, HeldModel>;
  /** Recompute other nodes' deliveries of the held models and dispute the wrong ones. */
  watch?: boolean;
  /** Open disputes (`--no-disputes`: false): games already opened, and defences, are still played. */
  disputes?: boolean;
  mode?: DisputeMode;
  wholeModelMaxGas?: bigint;
  maxBlockRange?: bigint;
  fromBlock?: bigint;
  warnSeconds?: number;
  hooks?: InferenceDisputeHooks;
  /** The source the node defends a delivery from; default the engine's inference of the checkpoint. */
  defenceSource?: (delivery: RecordedDelivery, model: HeldModel) => InferenceSource;
}

type Row = Record<string, string | number | bigint | null | Uint8Array>;
const str = (v: Row[string] | undefined) => (v === null || v === undefined ? undefined : String(v));
const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

function toWatch(r: Row): WatchRecord {
  return {
    subscriptionId: Number(r.subscription_id),
    interval: Number(r.interval),
    node: String(r.node) as Address,
    containerId: String(r.container_id) as Hex,
    input: String(r.input) as Hex,
    output: String(r.output) as Hex,
    deadline: BigInt(String(r.deadline)),
    status: String(r.status) as WatchStatus,
    mode: str(r.mode) as WatchRecord["mode"],
    calldata: str(r.calldata) as Hex | undefined,
    txHash: str(r.tx_hash) as Hash | undefined,
    gameId: r.game_id === null ? undefined : BigInt(String(r.game_id)),
    note: str(r.note),
  };
}

const hexBytes = (h: Hex) => Uint8Array.from(Buffer.from(h.slice(2), "hex"));

export class InferenceDisputes {
  readonly store: DisputeStore;
  readonly player: DisputePlayer<Parameters<typeof INFERENCE_GAME.key>[0], InferenceSource>;
  private readonly sources = new Map<string, InferenceSource>();
  private readonly approved = new Set<bigint>();
  /** Per held model: whether the registered parameter root is its checkpoint's. */
  private roots: Record<string, "matches" | "unset" | "differs"> | undefined;
  private readonly ownRoots = new Map<string, Hex>();
  private readonly db: Database;

  constructor(private readonly o: InferenceDisputesOptions) {
    this.db = o.db;
    this.store = new DisputeStore(o.db, "inference");
    this.player = new DisputePlayer({
      kind: INFERENCE_GAME,
      ctx: o.client,
      account: o.account,
      store: this.store,
      log: o.log,
      ...(o.warnSeconds !== undefined && { warnSeconds: o.warnSeconds }),
      ...(o.hooks && { hooks: o.hooks }),
    });
  }

  /** Hooks around each move and opening (tests simulate a kill by throwing from one). */
  get hooks(): InferenceDisputeHooks {
    return this.player.hooks;
  }
  set hooks(h: InferenceDisputeHooks) {
    this.player.hooks = h;
  }

  /** Where the node's inference games stand (`/status`). */
  status(): {
    games: GameStatus[];
    watched: Record<string, number>;
    parameterRoots: Record<string, "matches" | "unset" | "differs">;
  } {
    const watched: Record<string, number> = {};
    for (const r of this.db
      .prepare("SELECT status, COUNT(*) AS n FROM inference_watch GROUP BY status")
      .all() as Row[])
      watched[String(r.status)] = Number(r.n);
    return { games: this.player.status(), watched, parameterRoots: this.roots ?? {} };
  }

  /** One watched delivery's record. */
  watched(subscriptionId: number, interval: number, node: Address): WatchRecord | undefined {
    const r = this.db
      .prepare("SELECT * FROM inference_watch WHERE subscription_id = ? AND interval = ? AND node = ?")
      .get(subscriptionId, interval, node.toLowerCase()) as Row | undefined;
    return r ? toWatch(r) : undefined;
  }

  /** The delivery game `gameId` disputes, as recorded when it was found. */
  deliveryOf(gameId: bigint): RecordedDelivery | undefined {
    const r = this.db
      .prepare("SELECT * FROM inference_game_deliveries WHERE game_id = ?")
      .get(gameId.toString()) as Row | undefined;
    if (!r) return undefined;
    return {
      subscriptionId: Number(r.subscription_id),
      interval: Number(r.interval),
      node: String(r.node) as Address,
      containerId: String(r.container_id) as Hex,
      input: String(r.input) as Hex,
      output: String(r.output) as Hex,
    };
  }

  /** One pass: scan the verifier's events up to `safe`, open what is due, play every open game. */
  async tick(safe: bigint, signal?: AbortSignal): Promise<void> {
    await this.checkRoots();
    await this.scan(safe, signal);
    if (this.o.watch) await this.openDue(signal);
    for (const g of this.store.games(["playing"])) {
      signal?.throwIfAborted();
      try {
        // the defender's bond is pulled with its state: approved before its first move
        if (g.role === "defender" && !this.approved.has(g.gameId)) {
          await this.ensureBondApproved();
          this.approved.add(g.gameId);
        }
        await this.player.play(g.gameId, () => this.sourceOf(g.gameId, g.role), signal);
      } catch (err) {
        if (signal?.aborted) throw err;
        const message = (err as Error)?.message ?? String(err);
        this.store.noteGame(g.gameId, message);
        this.o.log.error({ err, game: g.gameId }, "inference game move failed; retried next tick");
      }
    }
  }

  /**
   * Compares each held model's registered parameter root (ModelRegistry) with its checkpoint's: a
   * game is opened against the registered root, so under a root that is not the checkpoint's an
   * honest node could not defend its outputs (the trainer's lie), and a root not yet set opens no
   * game at all (`ParameterRootUnset`). A model whose root matches is not read again; the others
   * are re-read each tick (a root is set once). Logged when it changes; shown in `/status`.
   */
  private async checkRoots(): Promise<void> {
    if (this.o.client.deployment.contracts.modelRegistry === undefined) return;
    const registry = modelRegistryAddress(this.o.client);
    const roots = (this.roots ??= {});
    for (const [id, m] of this.o.models) {
      if (roots[id] === "matches") continue;
      const registered = await readContract(this.o.client.publicClient, {
        address: registry,
        abi: modelRegistryAbi,
        functionName: "parameterRootOf",
        args: [m.containerId],
      });
      let own = this.ownRoots.get(id);
      if (own === undefined) this.ownRoots.set(id, (own = parameterRoot(m.widths, m.checkpoint)));
      const found = /^0x0+$/.test(registered) ? "unset" : same(registered, own) ? "matches" : "differs";
      if (found === roots[id]) continue;
      roots[id] = found;
      if (found === "differs")
        this.o.log.error(
          { containerId: m.containerId, registered, checkpoint: own },
          "the model's registered parameter root is not its checkpoint's: games on its outputs cannot be won",
        );
      else if (found === "unset")
        this.o.log.warn(
          { containerId: m.containerId },
          "the model has no parameter root: no inference game on it can be opened",
        );
    }
  }

  // --- scan ---------------------------------------------------------------------------------------

  private async scan(safe: bigint, signal?: AbortSignal): Promise<void> {
    const { client, account } = this.o;
    const verifier = poaiVerifierAddress(client);
    const cursor = this.store.getMeta("cursor");
    let from =
      cursor !== undefined ? BigInt(cursor) + 1n : (this.o.fromBlock ?? client.deployment.deployBlock ?? 0n);
    const range = this.o.maxBlockRange ?? 2_000n;
    while (from <= safe) {
      signal?.throwIfAborted();
      const to = from + range - 1n < safe ? from + range - 1n : safe;
      // one request for both events of the range
      const logs = await getContractEvents(client.publicClient, {
        address: verifier,
        abi: poaiVerifierAbi,
        fromBlock: from,
        toBlock: to,
      });
      const recorded = new Map<string, RecordedDelivery>();
      for (const l of parseEventLogs({
        abi: poaiVerifierAbi,
        logs,
        eventName: "OutputVerificationRequested",
      })) {
        const d: RecordedDelivery = {
          subscriptionId: Number(l.args.subscriptionId),
          interval: Number(l.args.interval),
          node: l.args.node,
          containerId: l.args.containerId,
          input: l.args.input,
          output: l.args.output,
        };
        recorded.set(`${d.subscriptionId}:${d.interval}:${d.node.toLowerCase()}`, d);
        if (this.o.watch && !same(d.node, account) && this.o.models.has(d.containerId.toLowerCase()))
          this.check(d, l.args.deadline);
      }
      for (const g of inferenceGamesFromLogs(logs)) {
        const mine = same(g.node, account);
        if (!mine && !same(g.challenger, account)) continue;
        if (this.store.game(g.gameId)) continue;
        const d =
          recorded.get(`${g.subscriptionId}:${g.interval}:${g.node.toLowerCase()}`) ??
          (await this.recordedDelivery(g.subscriptionId, g.interval, g.node));
        this.addGame(g.gameId, mine ? "defender" : "challenger", d);
        this.o.log.warn(
          { game: g.gameId, subscription: g.subscriptionId, interval: g.interval, challenger: g.challenger },
          mine
            ? "an inference game was opened on a delivery of this node: defending it"
            : "inference game found",
        );
      }
      this.store.setMeta("cursor", to.toString());
      from = to + 1n;
    }
  }

  /** The verifier's record of one delivery (its `OutputVerificationRequested` event). */
  private async recordedDelivery(
    subscriptionId: number,
    interval: number,
    node: Address,
  ): Promise<RecordedDelivery> {
    const { deadline: _deadline, ...d } = await getRecordedOutput(this.o.client, {
      subscriptionId,
      interval,
      node,
    });
    return d;
  }

  private addGame(gameId: bigint, role: "defender" | "challenger", d: RecordedDelivery): void {
    this.db
      .prepare(
        `INSERT INTO inference_game_deliveries (game_id, subscription_id, interval, node, container_id, input, output)
         VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (game_id) DO NOTHING`,
      )
      .run(
        gameId.toString(),
        d.subscriptionId,
        d.interval,
        d.node.toLowerCase(),
        d.containerId,
        d.input,
        d.output,
      );
    this.store.addGame({ gameId, role });
  }

  /** Recomputes a delivery of a held model and records the verdict. */
  private check(d: RecordedDelivery, deadline: bigint): void {
    if (this.watched(d.subscriptionId, d.interval, d.node)) return;
    const model = this.o.models.get(d.containerId.toLowerCase())!;
    let status: WatchStatus;
    let note: string | null = null;
    try {
      const { correct } = checkOutput({
        widths: model.widths,
        checkpoint: model.checkpoint,
        input: d.input,
        output: d.output,
      });
      status = correct ? "correct" : this.o.disputes === false ? "off" : "wrong";
    } catch (err) {
      status = "refused";
      note = `not recomputable: ${(err as Error).message}`;
    }
    this.db
      .prepare(
        `INSERT INTO inference_watch (subscription_id, interval, node, container_id, input, output, deadline, status, note, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        d.subscriptionId,
        d.interval,
        d.node.toLowerCase(),
        d.containerId.toLowerCase(),
        d.input,
        d.output,
        deadline.toString(),
        status,
        note,
        Date.now(),
      );
    if (status !== "correct")
      this.o.log.warn(
        { subscription: d.subscriptionId, interval: d.interval, node: d.node, status },
        "wrong output found",
      );
  }

  private setWatch(
    r: Pick<WatchRecord, "subscriptionId" | "interval" | "node">,
    changes: {
      status: WatchStatus;
      mode?: "game" | "whole";
      calldata?: Hex;
      txHash?: Hash;
      gameId?: bigint;
      note?: string;
    },
  ): void {
    this.db
      .prepare(
        `UPDATE inference_watch SET status = ?, mode = COALESCE(?, mode), calldata = COALESCE(?, calldata),
         tx_hash = COALESCE(?, tx_hash), game_id = COALESCE(?, game_id), note = COALESCE(?, note), updated_at = ?
         WHERE subscription_id = ? AND interval = ? AND node = ?`,
      )
      .run(
        changes.status,
        changes.mode ?? null,
        changes.calldata ?? null,
        changes.txHash ?? null,
        changes.gameId?.toString() ?? null,
        changes.note?.slice(0, 500) ?? null,
        Date.now(),
        r.subscriptionId,
        r.interval,
        r.node.toLowerCase(),
      );
  }

  // --- openings -----------------------------------------------------------------------------------

  private async openDue(signal?: AbortSignal): Promise<void> {
    const rows = (
      this.db
        .prepare(
          "SELECT * FROM inference_watch WHERE status IN ('wrong', 'persisted', 'sent') ORDER BY deadline",
        )
        .all() as Row[]
    ).map(toWatch);
    if (rows.length === 0) return;
    const now = (await getBlock(this.o.client.publicClient, { blockTag: "latest" })).timestamp;
    for (const r of rows) {
      signal?.throwIfAborted();
      try {
        await this.open(r, now);
      } catch (err) {
        if (signal?.aborted) throw err;
        this.o.log.error(
          { err, subscription: r.subscriptionId, interval: r.interval, node: r.node },
          "opening failed; retried next tick",
        );
      }
    }
  }

  /** Opens (or resumes opening) the dispute of a wrong delivery. */
  private async open(r: WatchRecord, now: bigint): Promise<void> {
    const { client, log } = this.o;
    if (r.status === "sent" && r.txHash) {
      const receipt = await this.receiptOf(r.txHash);
      if (receipt) return this.opened(r, receipt);
      r = { ...r, status: "persisted" }; // dropped: looked for on chain below, then sent again
    }
    if (r.status === "persisted") {
      if (await this.adopt(r)) return;
    } else {
      if (this.o.disputes === false) return this.setWatch(r, { status: "off" });
      if (now >= r.deadline) {
        log.error(
          { subscription: r.subscriptionId, interval: r.interval, node: r.node },
          "dispute window closed before the opening",
        );
        return this.setWatch(r, { status: "missed" });
      }
      const { mode } = await this.choosePath(r);
      const calldata = mode === "whole" ? this.wholeCalldata(r) : encodeOpenInferenceGame(r);
      this.setWatch(r, { status: "persisted", mode, calldata });
      r = { ...r, status: "persisted", mode, calldata };
      await this.hooks.afterOpenPersist?.(r);
    }
    if (r.mode === "game") await this.ensureBondApproved();
    let hash: Hash;
    try {
      hash = await sendContractTransaction(client, {
        to: poaiVerifierAddress(client),
        data: r.calldata!,
        functionName: r.mode === "whole" ? "dispute" : "disputeByGame",
      });
    } catch (err) {
      const message = (err as Error)?.message ?? String(err);
      if (isPoAIContractError(err)) {
        log.error(
          { subscription: r.subscriptionId, interval: r.interval, node: r.node, err },
          "the chain refused the opening",
        );
        return this.setWatch(r, { status: "refused", note: message });
      }
      throw err;
    }
    this.setWatch(r, { status: "sent", txHash: hash });
    const receipt = await waitForTransactionReceipt(client.publicClient, { hash, timeout: 120_000 });
    await this.opened(r, receipt);
  }

  /** Records what a mined opening did: a game to play, or the delivery settled at once. */
  private async opened(
    r: WatchRecord,
    receipt: Awaited<ReturnType<typeof getTransactionReceipt>>,
  ): Promise<void> {
    if (receipt.status !== "success")
      return this.setWatch(r, { status: "refused", note: `opening ${receipt.transactionHash} reverted` });
    const game = inferenceGamesFromLogs(receipt.logs)[0];
    if (game) {
      this.addGame(game.gameId, "challenger", r);
      this.setWatch(r, { status: "opened", gameId: game.gameId });
      this.o.log.info(
        {
          game: game.gameId,
          subscription: r.subscriptionId,
          interval: r.interval,
          node: r.node,
          gasUsed: receipt.gasUsed,
        },
        "inference game opened",
      );
    } else {
      this.setWatch(r, { status: "settled" });
      this.o.log.info(
        {
          subscription: r.subscriptionId,
          interval: r.interval,
          node: r.node,
          mode: r.mode,
          gasUsed: receipt.gasUsed,
        },
        "wrong output settled invalid",
      );
    }
  }

  /** After a crash: a game this account opened on the delivery, or the delivery already settled. */
  private async adopt(r: WatchRecord): Promise<boolean> {
    const { client, account } = this.o;
    const logs = await getContractEvents(client.publicClient, {
      address: poaiVerifierAddress(client),
      abi: poaiVerifierAbi,
      eventName: "OutputGameOpened",
      args: { subscriptionId: r.subscriptionId, interval: r.interval, node: r.node },
      fromBlock: client.deployment.deployBlock ?? 0n,
    });
    const game = inferenceGamesFromLogs(logs).find((g) => same(g.challenger, account));
    if (game) {
      this.addGame(game.gameId, "challenger", r);
      this.setWatch(r, { status: "opened", gameId: game.gameId });
      return true;
    }
    const v = await getOutputVerification(client, {
      subscriptionId: r.subscriptionId,
      interval: r.interval,
      node: r.node,
    });
    if (v.status === "invalid") {
      this.setWatch(r, { status: "settled", note: "found settled invalid" });
      return true;
    }
    return false;
  }

  private async receiptOf(hash: Hash) {
    const pc = this.o.client.publicClient;
    try {
      return await getTransactionReceipt(pc, { hash });
    } catch (err) {
      if (!(err instanceof TransactionReceiptNotFoundError)) throw err;
    }
    try {
      await getTransaction(pc, { hash });
    } catch (err) {
      if (err instanceof TransactionNotFoundError) return undefined;
      throw err;
    }
    return waitForTransactionReceipt(pc, { hash, timeout: 120_000 });
  }

  private wholeCalldata(r: WatchRecord): Hex {
    const model = this.o.models.get(r.containerId.toLowerCase())!;
    return encodeFunctionData({
      abi: poaiVerifierAbi,
      functionName: "dispute",
      args: [
        r.subscriptionId,
        r.interval,
        r.node,
        r.containerId,
        r.input,
        r.output,
        `0x${Buffer.from(model.checkpoint).toString("hex")}`,
      ],
    });
  }

  /**
   * How a wrong delivery is disputed under `mode` (default the node's): `whole` when the chain
   * estimates the whole-model dispute at most `wholeModelMaxGas` (below the cheapest game: one
   * transaction, no bond, no moves), else `game` (a model too large to recompute in one
   * transaction estimates nothing: the estimate fails). Returns the estimate when there is one.
   */
  async choosePath(
    r: WatchRecord,
    mode: DisputeMode = this.o.mode ?? "auto",
  ): Promise<{ mode: "game" | "whole"; wholeModelGas: bigint | undefined }> {
    if (mode !== "auto") return { mode, wholeModelGas: undefined };
    try {
      const gas = await estimateGas(this.o.client.publicClient, {
        account: this.o.account,
        to: poaiVerifierAddress(this.o.client),
        data: this.wholeCalldata(r),
      });
      const whole = gas <= (this.o.wholeModelMaxGas ?? WHOLE_MODEL_MAX_GAS);
      this.o.log.info(
        { subscription: r.subscriptionId, wholeModelGas: gas, mode: whole ? "whole" : "game" },
        "dispute path chosen by gas",
      );
      return { mode: whole ? "whole" : "game", wholeModelGas: gas };
    } catch (err) {
      this.o.log.info(
        { subscription: r.subscriptionId, reason: (err as Error).message.split("\n")[0] },
        "the whole-model dispute does not fit: disputing by game",
      );
      return { mode: "game", wholeModelGas: undefined };
    }
  }

  /** Approves the game's bond to the game when the allowance is short of it. */
  private async ensureBondApproved(): Promise<void> {
    const { client, account } = this.o;
    const game = await inferenceGameAddress(client);
    const [bond, token] = await Promise.all([
      readContract(client.publicClient, {
        address: game,
        abi: inferenceDisputeGameAbi,
        functionName: "bond",
      }),
      readContract(client.publicClient, {
        address: game,
        abi: inferenceDisputeGameAbi,
        functionName: "token",
      }),
    ]);
    const allowance = await readContract(client.publicClient, {
      address: token,
      abi: poaiTokenAbi,
      functionName: "allowance",
      args: [account, game],
    });
    if (allowance >= bond) return;
    const hash = await sendContractTransaction(client, {
      to: token,
      data: encodeFunctionData({ abi: poaiTokenAbi, functionName: "approve", args: [game, maxUint256] }),
      functionName: "approve",
      authorizes: [game],
    });
    await waitForTransactionReceipt(client.publicClient, { hash });
  }

  // --- sources ------------------------------------------------------------------------------------

  /** The source a game is played from: the node's own inference, or the watcher's replay. */
  private sourceOf(gameId: bigint, role: "defender" | "challenger"): InferenceSource {
    const key = gameId.toString();
    const known = this.sources.get(key);
    if (known) return known;
    const d = this.deliveryOf(gameId);
    if (!d) throw new Error(`inference game ${gameId}: its delivery is not recorded`);
    const model = this.o.models.get(d.containerId.toLowerCase());
    if (!model)
      throw new Error(
        `inference game ${gameId}: model ${d.containerId} is not held by this node (no checkpoint to play from)`,
      );
    const source =
      role === "defender" && this.o.defenceSource
        ? this.o.defenceSource(d, model)
        : new InferenceStates(model.widths, model.checkpoint, hexBytes(d.input));
    this.sources.set(key, source);
    return source;
  }
}
