/**
 * Drives trainer and validator daemons through Proof-of-AI rounds on a chain whose clock the
 * caller controls (the in-process chain): it moves the chain's time to each milestone of the
 * protocol and lets every daemon do what is due there. The daemons decide everything themselves
 * from chain state; the driver only decides when they look. Against a live network the daemons run
 * their own loops (`startLoop`) and no driver is needed.
 *
 * Milestones of round r (start S, epoch E):
 *   S + 1             trainers train and submit round r (also in round to + 1); validators seal/commit beacon r+1 and
 *                     audit round r-1's results (commit window of r-1)
 *   top-up band m start + 1 (m = 1 … TOP_UP_BANDS; with `topUps`)
 *                     validators of top-up band m join the committees of round r-1 that are
 *                     still short of `minReveals` members
 *   reveal start + 1  validators reveal their verdicts on round r-1
 *   max(deadline of r, reveal end of r-1) + 1
 *                     late trainers are rejected; validators reveal beacon r+1, finalize round
 *                     r-1 (or vote in its second phase where a member revealed Invalid) and report
 *                     the trainers that missed round r
 *   replay end of r-1 + 1
 *                     validators finalize what the second phase left open, and extend the
 *                     committees that could not decide
 */
import { TOP_UP_BANDS, bandCommitStart, type RoundWindows } from "@poai/sdk";

export interface Tickable {
  tick(): Promise<void>;
}

export interface DriveOptions {
  /** Boundaries of a round's challenges (`roundWindows`). */
  windows: (round: bigint) => RoundWindows;
  /** Moves the chain's time forward to `t` (never back). */
  advanceTo: (t: bigint) => Promise<void>;
  trainers: readonly Tickable[];
  validators: readonly Tickable[];
  /** First and last round whose challenges are played (the audit of the last one is included). */
  from: bigint;
  to: bigint;
  /** Called at each milestone, before the daemons look. */
  onMilestone?: (
    round: bigint,
    milestone: "start" | "top-up" | "reveal" | "judge" | "replay",
    time: bigint,
  ) => void;
  /**
   * Also let the validators look when each top-up band of a commit window opens, so that a
   * committee whose first draw is short of `minReveals` members is topped up in the same round.
   * Needed where validators are many more than a committee (in a small network every validator is
   * in the first draw); default false.
   */
  topUps?: boolean;
  /** Called when a daemon's tick fails; the others go on. Default: rethrow. */
  onError?: (daemon: Tickable, error: unknown) => void;
}

async function tickAll(daemons: readonly Tickable[], onError: DriveOptions["onError"]): Promise<void> {
  for (const d of daemons) {
    try {
      await d.tick();
    } catch (err) {
      if (!onError) throw err;
      onError(d, err);
    }
  }
}

/** Plays rounds `from..to` and the audit of each, ending just after round `to` is finalized. */
export async function driveRounds(o: DriveOptions): Promise<void> {
  for (let r = o.from; r <= o.to + 1n; r++) {
    const w = o.windows(r);
    const previous = o.windows(r - 1n);
    // Trainers keep working in the round after the last one (the network does not stop), so that
    // nobody is reported for missing it; its audit falls outside the driven rounds.
    const trainers = o.trainers;
    const start = w.start + 1n;
    o.onMilestone?.(r, "start", start);
    await o.advanceTo(start);
    await tickAll(trainers, o.onError);
    await tickAll(o.validators, o.onError);
    if (r > o.from && o.topUps) {
      for (let band = 1; band <= TOP_UP_BANDS; band++) {
        const opens = bandCommitStart(previous, band) + 1n;
        o.onMilestone?.(r, "top-up", opens);
        await o.advanceTo(opens);
        await tickAll(o.validators, o.onError);
      }
    }
    if (r > o.from) {
      const reveal = previous.revealStart + 1n;
      o.onMilestone?.(r, "reveal", reveal);
      await o.advanceTo(reveal);
      await tickAll(o.validators, o.onError);
    }
    const judge = (w.deadline > previous.revealEnd ? w.deadline : previous.revealEnd) + 1n;
    o.onMilestone?.(r, "judge", judge);
    await o.advanceTo(judge);
    await tickAll(trainers, o.onError);
    await tickAll(o.validators, o.onError);
    const replay = (previous.replayEnd > judge ? previous.replayEnd : judge) + 1n;
    o.onMilestone?.(r, "replay", replay);
    await o.advanceTo(replay);
    await tickAll(o.validators, o.onError);
  }
}
