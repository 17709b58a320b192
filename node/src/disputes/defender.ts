/**
 * The trainer's side of bound games: it watches the game's `BoundGameOpened` events for games
 * against its own runs (the challenge id is its run's) and defends each with the
 * {@link DisputePlayer}, its own run as the source: the states of the disputed segment recomputed
 * from the checkpoint it stored (`sourceOf`, a trainer hook). Runs with a game in progress, or
 * still inside the dispute window, are kept from pruning (`mayPrune`).
 */
import type { Address, Hex } from "viem";
import { getBlockNumber, getContractEvents, readContract } from "viem/actions";
import {
  challengeManagerAbi,
  challengeManagerAddress,
  disputeGameAbi,
  disputeGameAddress,
  type PoAIClient,
} from "@poai/sdk";
import type { StateSource } from "@poai/sdk/compute";
import type { Logger } from "../daemon/log.js";
import { DisputePlayer, type GameStatus, type PlayerHooks } from "./player.js";
import { ConvictionDefence, type DefensibleRun } from "./defence.js";
import type { DefenceRecord, DefenceStatus, DisputeStore } from "./store.js";

/** Blocks per `eth_getLogs` request of the scan. */
const SCAN_RANGE = 5_000n;

/** Defence states the defence still moves on (`ConvictionDefence.step`). */
const LIVE_DEFENCE: readonly DefenceStatus[] = ["convicted", "persisted", "sent", "open"];

/** `IChallengeManager.Status.Fraud`, as `ChallengeFinalized` carries it. */
const FRAUD = 3;

export interface DefenderOptions {
  client: PoAIClient;
  trainer: Address;
  store: DisputeStore;
  log: Logger;
  /** Whether `challengeId` is one of this trainer's runs (still held). */
  ownsRun(challengeId: Hex): boolean;
  /** The source of the states of segment `segment` of the run of `challengeId`. */
  sourceOf(challengeId: Hex, segment: number, signal?: AbortSignal): Promise<StateSource>;
  /**
   * The root of the run of `challengeId` this trainer stored (null while none was computed), or
   * undefined when it holds no such run. Every run of this trainer that the committee convicted
   * as Fraud (found by its `ChallengeFinalized` event, whatever its age) and whose root it holds is
   * defended (`ConvictionDefence`); none when omitted. `defend: false` (`--no-disputes`) opens no
   * defence; seats already taken are played.
   */
  rootOf?: (challengeId: Hex) => Hex | null | undefined;
  defend?: boolean;
  warnSeconds?: number;
  hooks?: PlayerHooks;
}

export class DefenderDisputes {
  readonly player: DisputePlayer;
  readonly defence: ConvictionDefence;
  private readonly sources = new Map<string, StateSource>();
  private window: bigint | undefined;

  constructor(private readonly o: DefenderOptions) {
    this.player = new DisputePlayer({
      ctx: o.client,
      account: o.trainer,
      store: o.store,
      log: o.log,
      ...(o.warnSeconds !== undefined && { warnSeconds: o.warnSeconds }),
      ...(o.hooks && { hooks: o.hooks }),
    });
    this.defence = new ConvictionDefence({
      client: o.client,
      trainer: o.trainer,
      store: o.store,
      log: o.log,
    });
  }

  get enabled(): boolean {
    return this.o.client.deployment.contracts.disputeGame !== undefined;
  }

  /**
   * Finds new games against this trainer's runs, plays every open one, then opens the defence of
   * a newly convicted run and settles the defences whose seats closed.
   */
  async step(signal?: AbortSignal): Promise<void> {
    if (!this.enabled) return;
    await this.scan();
    await this.playAll(signal);
    const defend = this.o.defend ?? true;
    const runs: DefensibleRun[] = [];
    for (const d of this.o.store.defences()) {
      if (!LIVE_DEFENCE.includes(d.status) || (d.status === "convicted" && !defend)) continue;
      // a conviction is opened only for a run the trainer holds; a defence under way is followed
      // to its end whatever happens to the run
      const root = this.o.rootOf?.(d.challengeId);
      if (root === undefined && d.status === "convicted") continue;
      runs.push({ id: d.challengeId, root: root ?? null });
    }
    await this.defence.step(runs, signal);
  }

  private async playAll(signal?: AbortSignal): Promise<void> {
    for (const g of this.o.store.games(["playing"])) {
      signal?.throwIfAborted();
      await this.player.play(
        g.gameId,
        async () => {
          let source = this.sources.get(g.gameId.toString());
          if (!source) {
            source = await this.o.sourceOf(g.challengeId!, g.segment!, signal);
            this.sources.set(g.gameId.toString(), source);
          }
          return source;
        },
        signal,
      );
    }
  }

  /**
   * Records the bound games opened against this trainer's runs since the last scan, and the
   * convictions of its runs (`ChallengeFinalized` of this trainer with status Fraud, a run it
   * holds): each is written as a defence to consider (`convicted`) in the same step as the
   * scan's cursor, so a restart never skips one.
   */
  private async scan(): Promise<void> {
    const { client, store, log } = this.o;
    const address = disputeGameAddress(client);
    const from = BigInt(store.getMeta("scanBlock") ?? String(client.deployment.deployBlock ?? 0n));
    const head = await getBlockNumber(client.publicClient, { cacheTime: 0 });
    for (let lo = from; lo <= head; lo += SCAN_RANGE) {
      const hi = lo + SCAN_RANGE - 1n < head ? lo + SCAN_RANGE - 1n : head;
      if (this.o.rootOf) {
        const convictions = await getContractEvents(client.publicClient, {
          address: challengeManagerAddress(client),
          abi: challengeManagerAbi,
          eventName: "ChallengeFinalized",
          args: { trainer: this.o.trainer },
          fromBlock: lo,
          toBlock: hi,
        });
        for (const l of convictions) {
          const challengeId = l.args.id!;
          if (l.args.status !== FRAUD || store.defence(challengeId) !== undefined) continue;
          if (this.o.rootOf(challengeId) === undefined) continue;
          store.setDefence(challengeId, { status: "convicted" });
          log.warn(
            { challenge: challengeId, round: l.args.round },
            "a run of this trainer was convicted as Fraud",
          );
        }
      }
      const logs = await getContractEvents(client.publicClient, {
        address,
        abi: disputeGameAbi,
        eventName: "BoundGameOpened",
        fromBlock: lo,
        toBlock: hi,
      });
      for (const l of logs) {
        const challengeId = l.args.challengeId!;
        if (!this.o.ownsRun(challengeId)) continue;
        const id = l.args.id!;
        const g = await readContract(client.publicClient, {
          address,
          abi: disputeGameAbi,
          functionName: "gameOf",
          args: [id],
        });
        if (g.defender.toLowerCase() !== this.o.trainer.toLowerCase()) continue;
        if (store.game(id)) continue;
        store.addGame({ gameId: id, role: "defender", challengeId, segment: Number(l.args.segment) });
        log.warn(
          { game: id, challenge: challengeId, segment: l.args.segment },
          "a dispute against this trainer's run: defending it",
        );
      }
      store.setMeta("scanBlock", (hi + 1n).toString());
    }
  }

  /**
   * Whether a run may be pruned at chain time `now`: not while a game on it is played, nor before
   * its dispute window closed (`closesAt + disputeWindow`), when a game may still be opened on it.
   */
  async mayPrune(challengeId: Hex, closesAt: bigint, now: bigint): Promise<boolean> {
    if (!this.enabled) return true;
    const id = challengeId.toLowerCase();
    if (this.o.store.games(["playing"]).some((g) => g.challengeId?.toLowerCase() === id)) return false;
    if (this.defence.live(challengeId)) return false;
    this.window ??= await readContract(this.o.client.publicClient, {
      address: disputeGameAddress(this.o.client),
      abi: disputeGameAbi,
      functionName: "disputeWindow",
    });
    return now > closesAt + this.window;
  }

  status(): { enabled: boolean; games: GameStatus[]; defences: DefenceRecord[] } {
    return { enabled: this.enabled, games: this.player.status(), defences: this.defence.status() };
  }
}
