/**
 * The validator's side of bound games: when its own replay found a segment `Invalid` and the
 * challenge nevertheless ended `Valid` (a colluding or mistaken majority cleared it), it opens a
 * game bound to that segment (`DisputeGame.openBound`, posting its bond) within the dispute window
 * and plays it to the end with the {@link DisputePlayer}, its replay of the segment as the source.
 *
 * Before opening it checks the evidence again on what the chain will hold: it fetches checkpoints
 * `segment` and `segment + 1` from the trainer's server, each proven under the committed root (the
 * leaves the game needs), replays the segment from the first, and opens only when the replay's
 * parameter root differs from the committed end's. A segment that replays (a verdict that was
 * wrong, or evidence the game cannot judge: checkpoint 0, a malformed checkpoint) opens nothing.
 *
 * The same opening is its seat in the defence of a conviction it voted for (the challenge ended
 * `Fraud` and the trainer opened a defence, `defended`): its segment, its bond, its replay.
 *
 * A spec audited by operation sampling is not replayed: the audit keeps the failed sample's answer
 * (`keepEvidence`), and the game opens at that step (`openBoundAtStep`) once the answer is checked
 * again against the segment's leaves (fetched without their bytes), and is played from the kept
 * answer (`SampledStep`), after a restart too (docs/disputes.md, "A game at a sampled step"). A
 * `data` game (the step's committed X, TS or LBL is not its data) is played from the step's data
 * the audit kept with the answer.
 */
import { hexToBytes, type Address, type Hex } from "viem";
import { getBlock } from "viem/actions";
import { getDefence, isPoAIContractError, type PoAIClient } from "@poai/sdk";
import {
  RunStates,
  SampledStep,
  deriveKey,
  stepDataBytes,
  stepDisputeOf,
  type EngineData,
  type StepDispute,
  type TrainingSpec,
} from "@poai/sdk/compute";
import {
  CheckpointFetchError,
  fetchCheckpoint,
  fetchCheckpointHash,
  type ProvenCheckpoint,
  type ProvenHash,
} from "../daemon/protocol.js";
import { decodeStepEvidence, encodeStepEvidence, evidenceKey } from "./evidence.js";
import type { Logger } from "../daemon/log.js";
import { disputeReplay } from "./data.js";
import { openBoundGame } from "./open.js";
import { DisputePlayer, type GameStatus, type PlayerHooks, type TrainingSource } from "./player.js";
import type { DisputeStore } from "./store.js";

/** A challenge the validator may dispute: what its audit knows of it. */
export interface DisputeCandidate {
  id: Hex;
  trainer: Address;
  spec: TrainingSpec;
  seed: Hex;
  /** The committed result root. */
  root: Hex;
  /** The trainer's checkpoint server. */
  endpoint: string;
  /** The segment the validator's own replay found `Invalid`. */
  segment: number;
  /** Engine version 2: the examples the segment reads. */
  data?: EngineData;
  /**
   * The spec is audited by operation sampling: the game opens at the step of the wrong operation
   * the audit kept ({@link ChallengerDisputes.keepEvidence}), without a replay.
   */
  sampled?: boolean;
}

export interface ChallengerOptions {
  client: PoAIClient;
  validator: Address;
  store: DisputeStore;
  log: Logger;
  /** Open games at all (`--no-disputes` turns it off); default true. */
  enabled?: boolean;
  fetchTimeoutMs?: number;
  warnSeconds?: number;
  hooks?: PlayerHooks;
}

/** The validator's dispute games: opening and playing them. */
export class ChallengerDisputes {
  readonly player: DisputePlayer;
  private readonly sources = new Map<string, TrainingSource>();

  constructor(private readonly o: ChallengerOptions) {
    this.player = new DisputePlayer({
      ctx: o.client,
      account: o.validator,
      store: o.store,
      log: o.log,
      ...(o.warnSeconds !== undefined && { warnSeconds: o.warnSeconds }),
      ...(o.hooks && { hooks: o.hooks }),
    });
  }

  get enabled(): boolean {
    return (this.o.enabled ?? true) && this.o.client.deployment.contracts.disputeGame !== undefined;
  }

  /** Whether a challenge still needs an opening (none was opened nor refused for it). */
  pending(id: Hex): boolean {
    const open = this.o.store.open(id);
    return open === undefined || open.status === "persisted" || open.status === "sent";
  }

  /**
   * Whether the conviction `id` is defended now (`DisputeGame.defences`: `Open`), so that an
   * accuser may take its seat. A defence that ended (or a seat window that closed) settles the
   * challenge's opening as refused: nothing is asked again.
   */
  async defended(id: Hex): Promise<boolean> {
    const d = await getDefence(this.o.client, { challengeId: id });
    if (d.state === "None") return false;
    // a seat written (maybe sent) before a restart is resumed: found on chain, or refused there
    if (this.o.store.open(id) !== undefined) return true;
    const now = (await getBlock(this.o.client.publicClient, { blockTag: "latest" })).timestamp;
    if (d.state === "Open" && now <= d.seatEnd) return true;
    this.o.store.persistOpen(id, 0, "0x");
    this.o.store.updateOpen(id, { status: "refused", note: `defence ${d.state}: no seat to take` });
    return false;
  }

  /**
   * Keeps the evidence of a wrong operation an operation-sampling audit found in segment `segment`
   * of challenge `id` (the first one kept stands): the game at its step is opened from it if the
   * challenge ends Valid anyway, and played from it.
   */
  keepEvidence(id: Hex, segment: number, dispute: StepDispute): void {
    const key = evidenceKey(id, segment);
    if (this.o.store.getMeta(key) === undefined) this.o.store.setMeta(key, encodeStepEvidence(dispute));
  }

  /** The evidence kept for segment `segment` of challenge `id`. */
  evidence(id: Hex, segment: number): StepDispute | undefined {
    const json = this.o.store.getMeta(evidenceKey(id, segment));
    return json === undefined ? undefined : decodeStepEvidence(json);
  }

  private refuse(c: DisputeCandidate, note: string): undefined {
    this.o.store.persistOpen(c.id, c.segment, this.o.store.open(c.id)?.calldata ?? "0x");
    this.o.store.updateOpen(c.id, { status: "refused", note: note.slice(0, 500) });
    this.o.log.info({ id: c.id, segment: c.segment, note }, "no dispute opened");
    return undefined;
  }

  /**
   * Opens a game on `c` (once), unless its segment replays to the committed end. Returns the game
   * id, or undefined when nothing was opened (the reason is stored as the opening's note).
   */
  async open(c: DisputeCandidate, signal?: AbortSignal): Promise<bigint | undefined> {
    const { store, log } = this.o;
    const prior = store.open(c.id);
    if (prior?.status === "opened") return prior.gameId;
    if (prior?.status === "refused") return undefined;
    if (c.sampled) return this.openAtStep(c, signal);
    const fetch = (index: number) =>
      fetchCheckpoint({
        endpoint: c.endpoint,
        id: c.id,
        index,
        spec: c.spec,
        root: c.root,
        timeoutMs: this.o.fetchTimeoutMs ?? 10_000,
        ...(signal && { signal }),
      });
    const [start, end] = await Promise.all([fetch(c.segment), fetch(c.segment + 1)]);
    const source = this.replay(c, start);
    const replayed = source.thetaRoot((c.segment + 1) * c.spec.checkpointInterval);
    if (replayed.toLowerCase() === end.parameterRoot.toLowerCase()) {
      store.persistOpen(c.id, c.segment, "0x");
      store.updateOpen(c.id, {
        status: "refused",
        note: `segment ${c.segment} replays to the committed parameter root: nothing to dispute`,
      });
      log.info({ id: c.id, segment: c.segment }, "segment replays: no dispute opened");
      return undefined;
    }
    return this.openBound(c, start, end, source);
  }

  /**
   * Opens the bound game on `c`'s segment between the proven leaves `start` and `end` (at the kept
   * step when `step` is given) and plays it from `source`; a refusal by the chain (the window
   * closed, the challenge overruled already, …) is final and stored as the opening's note.
   */
  private async openBound(
    c: DisputeCandidate,
    start: ProvenHash,
    end: ProvenHash,
    source: TrainingSource,
    step?: StepDispute,
  ): Promise<bigint | undefined> {
    const leaf = (p: ProvenHash) => ({
      hash: p.hash,
      parameterRoot: p.parameterRoot,
      stepRoot: p.stepRoot,
      proof: p.proof,
    });
    try {
      const gameId = await openBoundGame(this.o.client, {
        store: this.o.store,
        log: this.o.log,
        me: this.o.validator,
        challengeId: c.id,
        segment: c.segment,
        start: leaf(start),
        end: leaf(end),
        ...(step && { step }),
      });
      this.sources.set(gameId.toString(), source);
      return gameId;
    } catch (err) {
      if (!isPoAIContractError(err)) throw err;
      this.o.log.warn({ id: c.id, segment: c.segment, error: err.errorName }, "bound dispute refused");
      return this.refuse(c, `${err.errorName}: ${err.message}`);
    }
  }

  /**
   * Opens the game at the step of the wrong operation kept for `c`'s segment: the kept answer is
   * checked again against the leaves the chain holds (fetched without their bytes, proven under
   * the committed root) before the opening is stored and sent.
   */
  private async openAtStep(c: DisputeCandidate, signal?: AbortSignal): Promise<bigint | undefined> {
    const { store } = this.o;
    const kept = this.evidence(c.id, c.segment);
    if (!kept) return this.refuse(c, `no wrong operation of segment ${c.segment} was kept by the audit`);
    const head = (index: number) =>
      fetchCheckpointHash({
        endpoint: c.endpoint,
        id: c.id,
        index,
        spec: c.spec,
        root: c.root,
        timeoutMs: this.o.fetchTimeoutMs ?? 10_000,
        ...(signal && { signal }),
      });
    let start: ProvenHash;
    let end: ProvenHash;
    try {
      [start, end] = await Promise.all([head(c.segment), head(c.segment + 1)]);
    } catch (err) {
      if (err instanceof CheckpointFetchError && err.kind !== "malformed" && err.kind !== "unproven")
        throw err;
      return this.refuse(
        c,
        `the leaves of segment ${c.segment} could not be proven: ${(err as Error).message}`,
      );
    }
    const commitment = {
      firstStep: c.segment * c.spec.checkpointInterval,
      steps: c.spec.checkpointInterval,
      startRoot: start.parameterRoot,
      endRoot: end.parameterRoot,
      stepStatesRoot: start.stepRoot,
    };
    // the step's data, which a data dispute is checked against: engine version 1 derives it from
    // the run's key; version 2's is the one the audit computed from the examples it proved (kept)
    const key = deriveKey(c.spec, c.seed);
    const kd = kept.data;
    const dataOf =
      c.spec.version === 1
        ? (step: number) => stepDataBytes(c.spec, key, step)
        : kd
          ? () => new Map(kd.bytes.map((b, i) => [i + 1, hexToBytes(b)] as const))
          : undefined;
    const context = {
      key,
      ...(kd?.examples && { exampleProof: (_step: number, row: number) => kd.examples![row] }),
    };
    const dispute = stepDisputeOf(c.spec, commitment, kept.sample, kept.answer, dataOf, context);
    if (!dispute)
      return this.refuse(
        c,
        `the kept answer of segment ${c.segment} proves nothing against the committed leaves`,
      );
    // the game is played from what it was opened on (after a restart too)
    store.setMeta(evidenceKey(c.id, c.segment), encodeStepEvidence(dispute));
    return this.openBound(c, start, end, new SampledStep(c.spec, dispute), dispute);
  }

  /** Plays every open game of this validator; `candidate(id)` rebuilds a lost replay after a restart. */
  async play(
    candidate: (challengeId: Hex) => Promise<DisputeCandidate>,
    signal?: AbortSignal,
  ): Promise<void> {
    for (const g of this.o.store.games(["playing"])) {
      signal?.throwIfAborted();
      await this.player.play(
        g.gameId,
        async () => {
          const cached = this.sources.get(g.gameId.toString());
          if (cached) return cached;
          const c = await candidate(g.challengeId!);
          if (c.sampled) {
            // a game at a sampled step is played from the answer kept on disk
            const kept = this.evidence(c.id, c.segment);
            if (!kept) throw new Error(`dispute ${g.gameId}: no kept evidence for segment ${c.segment}`);
            const sampled = new SampledStep(c.spec, kept);
            this.sources.set(g.gameId.toString(), sampled);
            return sampled;
          }
          const start = await fetchCheckpoint({
            endpoint: c.endpoint,
            id: c.id,
            index: c.segment,
            spec: c.spec,
            root: c.root,
            timeoutMs: this.o.fetchTimeoutMs ?? 10_000,
            ...(signal && { signal }),
          });
          const source = this.replay(c, start);
          this.sources.set(g.gameId.toString(), source);
          return source;
        },
        signal,
      );
    }
  }

  /** The replay of `c`'s segment from its proven start checkpoint. */
  private replay(c: DisputeCandidate, start: ProvenCheckpoint): RunStates {
    return disputeReplay(
      c.spec,
      c.seed,
      start.checkpoint.weights,
      c.segment * c.spec.checkpointInterval,
      c.data,
    );
  }

  status(): {
    enabled: boolean;
    games: GameStatus[];
    opens: { challengeId: string; status: string; note?: string }[];
  } {
    return {
      enabled: this.enabled,
      games: this.player.status(),
      opens: this.o.store.opens().map((o) => ({
        challengeId: o.challengeId,
        status: o.status,
        ...(o.gameId !== undefined && { gameId: o.gameId.toString() }),
        ...(o.note !== undefined && { note: o.note }),
      })),
    };
  }
}
