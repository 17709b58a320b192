/**
 * Score games between the daemons (docs/daemons.md, "Score games"): a paid job (engine version 2,
 * MNIST digits served by the dataset owner) claimed by two trainer daemons, audited by three
 * validator daemons by segment replay. One trainer over-reports its held-out accuracy and defends
 * the lie (`ScoreForgingTrainer`): a validator daemon that measured otherwise opens a score game by
 * itself and wins it, the trainer is slashed and the job does not complete with that run. The
 * honest trainer's daemon defends its run against an outsider's wrong challenge (opened and played
 * through the SDK) and wins.
 */
import { expect } from "chai";
import path from "node:path";
import { maxUint256, type Address, type Hex } from "viem";
import {
  challengeId,
  createPoAIClient,
  getScoreGame,
  openScoreGame,
  postJob,
  scoreGamesFromLogs,
  sendScoreGameMove,
  type PoAIClient,
  type PoAIDeployment,
} from "../../sdk/src/index.js";
import {
  countingOther,
  scoreMove,
  type DatasetData,
  type ScoreSource,
  type TrainingSpec,
} from "../../sdk/src/compute/index.js";
import { directoryDataset, serveDatasets, type DatasetServer } from "../../node/src/data/index.js";
import { TrainerDaemon, type ScoreEvidenceOf } from "../../node/src/node/index.js";
import type { TrainerStore } from "../../node/src/node/trainer-store.js";
import { ValidatorDaemon } from "../../node/src/verifier/index.js";
import { driveRounds } from "../../scripts/lib/daemon-network.js";
import { datasetSpec, mnistDataset } from "../../scripts/lib/datasets.js";
import { deployJobs } from "../../scripts/lib/deploy-jobs.js";
import { ScoreForgingTrainer } from "../../scripts/lib/adversaries.js";
import { daemonWorld, DAEMON_SPEC_PARAMS, EPOCH, type DaemonWorld } from "../fixtures/daemons.js";

const CLAIM_ROUND = 1n;
const RUN_ROUND = 2n;
const JobState = { Open: 1, Completed: 2, Refunded: 3 } as const;

/** The trainer daemon's store and commitments, which the outsider reads the final leaf from. */
type Inside = {
  store: TrainerStore;
  commitmentOf(id: Hex): {
    proof(i: number): Hex[];
    parameterRoots: readonly Hex[];
    stepRoots: readonly Hex[];
  };
  scoreEvidence(run: ReturnType<TrainerStore["run"]> & object): Promise<ScoreEvidenceOf>;
};

// Both audit modes: a segment-replay validator plays from the final checkpoint it evaluated, an
// operation-sampling one (every daemon's replay budget below the checkpoint) from the trainer's
// committed predictions, which it proved and counted.
for (const mode of [
  { name: "segment replay", replayBudgetBytes: undefined },
  { name: "operation sampling", replayBudgetBytes: 1 },
] as const)
  describe(`daemons: score games on a job run's reported accuracy (${mode.name})`, function () {
    this.timeout(900_000);
    let w: DaemonWorld;
    let server: DatasetServer;
    let data: DatasetData;
    let jobSpec: TrainingSpec;
    let deployment: PoAIDeployment;
    let jobs: Awaited<ReturnType<typeof deployJobs>>;
    let jobId: bigint;
    let forger: ScoreForgingTrainer;
    let forgerOptions: Parameters<typeof ScoreForgingTrainer.create>[0];
    const validatorOptions: Parameters<typeof ValidatorDaemon.create>[0][] = [];
    let honest: TrainerDaemon;
    const addr: Record<"forger" | "honest", Address> = { forger: "0x", honest: "0x" };
    const validators: ValidatorDaemon[] = [];
    let outsider: PoAIClient;
    const errors: string[] = [];

    before(async () => {
      const dir = path.join(process.cwd(), "cache", "datasets", "mnist-200");
      data = await mnistDataset(dir, 20);
      server = await serveDatasets([await directoryDataset(dir)]);
      const shape = { hidden: [16], batchSize: 8, steps: 40, checkpointInterval: 20, lrShift: 3 };
      const spec = datasetSpec(data, shape);
      jobSpec = datasetSpec(data, { ...shape, steps: 60 });
      const sources = [...server.sources.values()];
      w = await daemonWorld({
        trainers: 2,
        validators: 3,
        spec,
        specParams: { ...DAEMON_SPEC_PARAMS, auditSamples: 2 },
        datasetSources: sources,
      });
      jobs = await deployJobs(w.viem, { ...w.d, epochLength: BigInt(EPOCH) } as never);
      deployment = {
        ...w.deployment,
        contracts: {
          ...w.deployment.contracts,
          jobRegistry: jobs.jobs.address,
          scoreGame: jobs.scoreGame!.address,
        },
      };
      const clientOf = (op: { wallet: DaemonWorld["admin"]["wallet"] }) =>
        createPoAIClient({ publicClient: w.publicClient, walletClient: op.wallet, deployment });
      outsider = clientOf(w.admin);
      // the job: posted in round 0, claimed in round 1 by both trainers, run in round 2
      await w.d.token.write.approve([jobs.jobs.address, maxUint256]);
      const deadline = (await jobs.jobs.read.judgedBy([CLAIM_ROUND])) + 3n * BigInt(EPOCH);
      const receipt = await outsider.waitForTransaction(
        await postJob(outsider, {
          spec: jobSpec,
          sources,
          terms: { trainers: 2, budget: 10n ** 20n, deadline, minAccuracyBps: 0, ownerRoyaltyBps: 0 },
        }),
      );
      jobId = (await jobs.jobs.read.jobCount()) - (receipt.status === "success" ? 0n : 1n);
      const common = (label: string) => ({
        databasePath: path.join(w.tempDir(label), "trainer.db"),
        backend: "wasm" as const,
        progress: "off" as const,
        logLevel: "silent" as const,
        ...(mode.replayBudgetBytes !== undefined && { replayBudgetBytes: mode.replayBudgetBytes }),
      });
      forgerOptions = { client: clientOf(w.trainers[0]), ...common("forger") };
      forger = await ScoreForgingTrainer.create(forgerOptions);
      forger.evalSize = jobSpec.evalSize;
      honest = await TrainerDaemon.create({ client: clientOf(w.trainers[1]), ...common("honest") });
      addr.forger = w.trainers[0].address;
      addr.honest = w.trainers[1].address;
      for (const [i, op] of w.validators.entries()) {
        validatorOptions.push({
          client: clientOf(op),
          dbPath: path.join(w.tempDir(`validator-${i}`), "validator.db"),
          backend: "wasm",
          fetchTimeoutMs: 2_000,
          fetchAttempts: 2,
          logLevel: "silent",
          ...(mode.replayBudgetBytes !== undefined && { replayBudgetBytes: mode.replayBudgetBytes }),
        });
        validators.push(await ValidatorDaemon.create(validatorOptions[i]));
      }
      await driveRounds({
        windows: w.windows,
        advanceTo: w.advanceTo,
        trainers: [forger, honest],
        validators,
        from: CLAIM_ROUND,
        to: RUN_ROUND,
        onError: (d, err) => errors.push(`${d.constructor.name}: ${(err as Error).message}`),
      });
    });

    after(async () => {
      for (const t of [forger, honest]) await t?.stop();
      for (const v of validators) await v.stop();
      await server?.close();
      w?.cleanup();
    });

    const tickAll = async () => {
      for (const d of [forger, honest, ...validators])
        await d.tick().catch((err: Error) => errors.push(`${d.constructor.name}: ${err.message}`));
    };
    const gamesOn = async (id: Hex) =>
      (await jobs.scoreGame!.getEvents.GameOpened({ challengeId: id }, { fromBlock: 0n })).map(
        (l) => l.args.id!,
      );

    /** Ticks every daemon (and `extra`) until `done`; when nothing moved, the deadline passes. */
    async function playUntil(done: () => Promise<boolean>, extra?: () => Promise<void>) {
      let last = "";
      for (let i = 0; i < 120 && !(await done()); i++) {
        await tickAll();
        await extra?.();
        const ids = [
          ...(await gamesOn(challengeId(addr.forger, RUN_ROUND))),
          ...(await gamesOn(challengeId(addr.honest, RUN_ROUND))),
        ];
        const now = JSON.stringify(
          await Promise.all(
            ids.map(
              async (g) =>
                (await jobs.scoreGame!.read.gameOf([g])).phase +
                ":" +
                (await jobs.scoreGame!.read.gameOf([g])).lo +
                ":" +
                (await jobs.scoreGame!.read.gameOf([g])).hi,
            ),
          ),
          (_, v) => (typeof v === "bigint" ? v.toString() : v),
        );
        if (now === last) await w.networkHelpers.time.increase(Number(jobs.scoreArgs!.moveTimeout) + 1);
        last = now;
      }
      expect(await done()).to.equal(true);
    }

    it("judges both job runs Valid; the forger reported more than the committee measured", async () => {
      await openOutsiderGame();
      const forged = await outsider.challenges.getChallenge({ id: challengeId(addr.forger, RUN_ROUND) });
      const fair = await outsider.challenges.getChallenge({ id: challengeId(addr.honest, RUN_ROUND) });
      expect([forged.status, fair.status]).to.deep.equal(["Valid", "Valid"]);
      const members = await outsider.challenges.getMembers({ id: challengeId(addr.forger, RUN_ROUND) });
      expect(forged.reportedScoreBps).to.be.greaterThan(members[0].measuredScoreBps);
      expect(
        (await outsider.challenges.getMembers({ id: challengeId(addr.honest, RUN_ROUND) }))[0]
          .measuredScoreBps,
      ).to.equal(fair.reportedScoreBps);
    });

    it("a validator daemon opens a score game on the over-reported run by itself and wins it, both daemons restarted mid-game: the trainer is slashed", async () => {
      const id = challengeId(addr.forger, RUN_ROUND);
      const stake = (await w.d.staking.read.getPool([addr.forger])).tokens;
      let restarted = false;
      await playUntil(
        async () => {
          const games = await gamesOn(id);
          if (games.length === 0) return false;
          return (await jobs.scoreGame!.read.gameOf([games[0]])).phase === 7;
        },
        async () => {
          await outsiderMoves();
          const [game] = await gamesOn(id);
          if (restarted || game === undefined) return;
          const g = await jobs.scoreGame!.read.gameOf([game]);
          // once both have moved (the count, a split and a pick), both daemons stop and start again
          // from their databases: the game goes on from the chain and what they stored
          if (g.phase !== 2 || g.hi - g.lo === g.evalSize) return;
          const i = w.validators.findIndex((v) => v.address === g.challenger);
          await validators[i].stop();
          validators[i] = await ValidatorDaemon.create(validatorOptions[i]);
          await forger.stop();
          forger = await ScoreForgingTrainer.create(forgerOptions);
          forger.evalSize = jobSpec.evalSize;
          restarted = true;
        },
      );
      expect(restarted).to.equal(true);
      const [game] = await gamesOn(id);
      const g = await jobs.scoreGame!.read.gameOf([game]);
      expect(w.validators.map((v) => v.address)).to.include(g.challenger);
      // what the challenger played from: the final checkpoint its replay evaluated, or (sampling) the
      // trainer's committed predictions it proved, never fetching the checkpoint
      const challenger = validators[w.validators.findIndex((v) => v.address === g.challenger)];
      type Kept = { checkpoint: Uint8Array; committed?: { predictions: Uint8Array } };
      const [kept] = (
        challenger as unknown as { store: { scoreEvidence(id: Hex): Kept[] } }
      ).store.scoreEvidence(id);
      // and its status shows the game it played
      expect(challenger.status().scoreGames!.games.map((x) => x.gameId)).to.include(String(game));
      if (mode.replayBudgetBytes === undefined) expect(kept.checkpoint.length).to.be.greaterThan(0);
      else {
        expect(kept.checkpoint.length).to.equal(0);
        expect(kept.committed!.predictions.length).to.equal(4 * jobSpec.evalSize);
      }
      expect(g.winner).to.equal(g.challenger);
      expect((await jobs.scoreGame!.read.standing([id]))[1]).to.equal(true);
      expect((await w.d.staking.read.getPool([addr.forger])).tokens < stake).to.equal(true);
      // the trainer's daemon defended it (posted its count and bisected) before it could not prove
      expect(g.hi - g.lo).to.equal(1);
    });

    /** The outsider's game on the honest run (opened right after the judgment) and its wrong belief. */
    let outsiderGame: { gameId: bigint; wrong: ScoreSource } | undefined;
    async function openOutsiderGame() {
      const id = challengeId(addr.honest, RUN_ROUND);
      const inside = honest as unknown as Inside;
      const run = inside.store.run(id)!;
      const last = run.checkpointCount - 1;
      const commitment = inside.commitmentOf(id);
      const final = {
        weightsHash: inside.store.checkpointHash(id, last)!,
        parameterRoot: commitment.parameterRoots[last],
        evalRoot: commitment.stepRoots[last],
        proof: commitment.proof(last),
      };
      // the outsider believes two of the model's right predictions wrong
      const truth = (await inside.scoreEvidence(run)).source;
      const belief = Int32Array.from(truth.predictions);
      let flips = 2;
      for (let e = 0; e < belief.length && flips > 0; e++)
        if (belief[e] === truth.labels[e]) {
          belief[e] = (truth.labels[e] + 1) % 10;
          flips--;
        }
      const wrong = countingOther(truth, belief);
      await w.d.token.write.approve([jobs.scoreGame!.address, maxUint256]);
      await w.d.token.write.approve([jobs.scoreInference!.address, maxUint256]);
      const receipt = await outsider.waitForTransaction(
        await openScoreGame(outsider, { challengeId: id, final }),
      );
      const [opened] = scoreGamesFromLogs(receipt.logs);
      outsiderGame = { gameId: opened.gameId, wrong };
    }
    /** The outsider's move, when it is its turn: from its wrong belief (the SDK's `scoreMove`). */
    const outsiderMoves = async () => {
      if (!outsiderGame) return;
      const s = await getScoreGame(outsider, { id: outsiderGame.gameId });
      if (s.phase === "Resolved" || s.mover.toLowerCase() !== w.admin.address.toLowerCase()) return;
      const move = scoreMove(s, outsiderGame.wrong);
      if (move)
        await outsider.waitForTransaction(await sendScoreGameMove(outsider, move)).catch(() => undefined);
    };

    it("the honest trainer's daemon defends its run against an outsider's wrong challenge and wins it", async () => {
      const id = challengeId(addr.honest, RUN_ROUND);
      const { gameId } = outsiderGame!;
      await playUntil(async () => (await jobs.scoreGame!.read.gameOf([gameId])).phase === 7, outsiderMoves);
      const g = await jobs.scoreGame!.read.gameOf([gameId]);
      expect(g.winner).to.equal(addr.honest);
      // the trainer's daemon posted its count and bisected down to one example
      expect(g.hi - g.lo).to.equal(1);
      expect((await jobs.scoreGame!.read.standing([id]))[1]).to.equal(false);
    });

    it("the job completes with the honest run, not the disproven one", async () => {
      const until = await jobs.scoreGame!.read.openUntil([challengeId(addr.honest, RUN_ROUND)]);
      await w.advanceTo(until + 1n);
      await jobs.jobs.write.settle([jobId]);
      const job = await jobs.jobs.read.getJob([jobId]);
      expect(job.state).to.equal(JobState.Completed);
      expect(job.winner).to.equal(addr.honest);
    });
  });
