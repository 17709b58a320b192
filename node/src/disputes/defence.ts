/**
 * The trainer's defence of its runs convicted as Fraud (docs/disputes.md, "Defending a convicted
 * run"): when one of its runs ends `Fraud` and the result on chain is the root of the run it
 * stored (it trained it), it opens the defence (`DisputeGame.openDefence`, posting its bond),
 * leaves the seats the accusers take to the {@link DefenderDisputes} (each seat is a bound game
 * against its run), and once the seats closed with none pending it calls `settleDefence`, which
 * overrules the conviction when it won every seat.
 *
 * Crash rules: the defence is written (`persisted`) before `openDefence` is sent and its hash
 * right after (`sent`); after a restart the chain's `defences(challengeId)` decides: a defence on
 * chain (this trainer's, or one opened on its behalf) is never opened again.
 */
import type { Hex } from "viem";
import { getBlock, waitForTransactionReceipt } from "viem/actions";
import { getDefence, isPoAIContractError, openDefence, settleDefence, type PoAIClient } from "@poai/sdk";
import type { Address } from "viem";
import type { Logger } from "../daemon/log.js";
import { ensureBondApproved } from "./open.js";
import type { DefenceRecord, DisputeStore } from "./store.js";

/** A run of this trainer that may be defended: its challenge id and the root it stored. */
export interface DefensibleRun {
  id: Hex;
  /** The result root of the run the trainer holds (null while none was computed). */
  root: Hex | null;
}

export interface DefenceOptions {
  client: PoAIClient;
  trainer: Address;
  store: DisputeStore;
  log: Logger;
}

/** Defence states that still need the chain's attention. */
const LIVE: readonly DefenceRecord["status"][] = ["convicted", "persisted", "sent", "open"];

export class ConvictionDefence {
  /** The defences as last written (served by `status()`, also after the database closed). */
  private readonly records = new Map<string, DefenceRecord>();

  constructor(private readonly o: DefenceOptions) {
    for (const d of o.store.defences()) this.records.set(d.challengeId, d);
  }

  /** Writes the defence of `challengeId` and keeps its record for `status()`. */
  private set(challengeId: Hex, changes: Parameters<DisputeStore["setDefence"]>[1]): void {
    this.o.store.setDefence(challengeId, changes);
    const d = this.o.store.defence(challengeId);
    if (d) this.records.set(d.challengeId, d);
  }

  /** Whether the defence of `challengeId` is under way (the run must be kept). */
  live(challengeId: Hex): boolean {
    const d = this.o.store.defence(challengeId);
    return d !== undefined && LIVE.includes(d.status);
  }

  /** Opens the defence of each newly convicted run of `runs`, and settles the defences whose seats closed. */
  async step(runs: readonly DefensibleRun[], signal?: AbortSignal): Promise<void> {
    for (const run of runs) {
      signal?.throwIfAborted();
      const d = this.o.store.defence(run.id);
      if (d === undefined || d.status === "convicted") await this.open(run, undefined);
      else if (d.status === "persisted" || d.status === "sent") await this.open(run, d);
      if (this.o.store.defence(run.id)?.status === "open") await this.settle(run.id);
    }
  }

  /** Opens the defence of `run` once, when it is convicted as Fraud and its root is the stored run's. */
  private async open(run: DefensibleRun, prior: DefenceRecord | undefined): Promise<void> {
    const { client, log } = this.o;
    if (prior === undefined) {
      const info = await client.challenges.getChallenge({ id: run.id });
      if (info.status !== "Fraud") {
        if (info.final) this.set(run.id, { status: "refused", note: `judged ${info.status}` });
        return;
      }
      if (run.root === null || run.root.toLowerCase() !== info.resultRoot.toLowerCase()) {
        this.set(run.id, {
          status: "refused",
          note: `the committed root ${info.resultRoot} is not the stored run's (${run.root}): not defended`,
        });
        log.error({ id: run.id, committed: info.resultRoot, stored: run.root }, "convicted run not defended");
        return;
      }
    }
    // a defence on chain (sent before a crash, or opened by anyone on the trainer's behalf) is the one
    if ((await getDefence(client, { challengeId: run.id })).state !== "None") {
      this.set(run.id, { status: "open" });
      log.info({ id: run.id }, "defence of the convicted run is open");
      return;
    }
    this.set(run.id, { status: "persisted" });
    try {
      await ensureBondApproved(client, this.o.trainer);
      const hash = await openDefence(client, { challengeId: run.id });
      this.set(run.id, { status: "sent", txHash: hash });
      const receipt = await waitForTransactionReceipt(client.publicClient, { hash });
      if (receipt.status !== "success") {
        this.set(run.id, { status: "refused", note: `openDefence ${hash} reverted` });
        return;
      }
      this.set(run.id, { status: "open" });
      log.warn({ id: run.id }, "the committee convicted this trainer's run as Fraud: defence opened");
    } catch (err) {
      if (!isPoAIContractError(err)) throw err;
      if (err.errorName === "DefenceExists") {
        this.set(run.id, { status: "open" });
        return;
      }
      // the dispute window closed, the conviction was overruled already, …: the chain's word is final
      this.set(run.id, { status: "refused", note: `${err.errorName}: ${err.message}` });
      log.warn({ id: run.id, error: err.errorName }, "defence refused");
    }
  }

  /** Settles an open defence once its seats closed and no seated game is pending. */
  private async settle(challengeId: Hex): Promise<void> {
    const { client, log } = this.o;
    const d = await getDefence(client, { challengeId });
    if (d.state === "Overruled" || d.state === "Failed") {
      this.set(challengeId, { status: d.state === "Overruled" ? "overruled" : "failed" });
      log.info({ id: challengeId, state: d.state }, "defence ended");
      return;
    }
    if (d.state !== "Open" || d.pending > 0) return;
    const now = (await getBlock(client.publicClient, { blockTag: "latest" })).timestamp;
    if (now <= d.seatEnd) return;
    try {
      const hash = await settleDefence(client, { challengeId });
      await waitForTransactionReceipt(client.publicClient, { hash });
    } catch (err) {
      // another party settled it first (NoOpenDefence), or a seat is still pending: read it next tick
      if (!isPoAIContractError(err)) throw err;
      log.info({ id: challengeId, error: err.errorName }, "settleDefence refused; read again next tick");
      return;
    }
    const after = await getDefence(client, { challengeId });
    if (after.state === "Overruled" || after.state === "Failed")
      this.set(challengeId, { status: after.state === "Overruled" ? "overruled" : "failed" });
    log.warn({ id: challengeId, state: after.state }, "defence settled");
  }

  status(): DefenceRecord[] {
    return [...this.records.values()];
  }
}
