/**
 * `poai dispute score open | play | status` on the in-process chain: an outside party disputes, from
 * the command line, the accuracy a job run reported. The trainer committed three forged predictions
 * (with output scores to match) and reported the accuracy they give; it defends through the SDK at
 * the same time. The command line fetches the final checkpoint from the trainer's checkpoint server
 * (a real HTTP server, the leaf proven under the run's root), evaluates it on a local copy of the
 * dataset, opens the game with the bonds it approves, and plays it to the end: the challenger wins
 * in the inference game. A report the checkpoint bears out is refused before anything is sent.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { network } from "hardhat";
import { keccak256 } from "viem";
import { checkpointRoutes, serve, type RunningServer } from "../../node/src/daemon/index.js";
import { writeDataset } from "../../node/src/data/index.js";
import { playScoreGame } from "../../sdk/src/actions/score-games.js";
import { parseDeployment } from "../../sdk/src/deployment.js";
import { countCorrect } from "../../sdk/src/compute/index.js";
import { contractsOf } from "../../scripts/lib/address-book.js";
import { cliOf, lastJson } from "../fixtures/cli.js";
import { scoreModel, scoreWorld } from "./helpers/score-world.js";

const M = scoreModel({ features: 8, hidden: [8], classes: 4, evalSize: 48, chunkExamples: 16 });

const last = lastJson;

describe("poai dispute score", function () {
  this.timeout(300_000);
  let dir: string;
  let server: RunningServer | undefined;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), "poai-score-cli-"));
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A score world whose trainer serves the final checkpoint of its run, and `poai` as anyone. */
  async function world() {
    const conn = await network.create();
    const w = await scoreWorld(conn, M);
    const book = path.join(dir, `deployment-${Date.now()}.json`);
    const deployment = {
      chainId: await w.publicClient.getChainId(),
      deployBlock: "0",
      contracts: contractsOf({ ...w, scoreGame: w.scoreGame, scoreInference: w.inner }),
    };
    writeFileSync(book, JSON.stringify(deployment));
    const dataDir = path.join(dir, "dataset");
    await writeDataset(dataDir, M.data);
    const poai = cliOf(book, conn);
    /** The trainer submits (reporting `reported`), the run is judged Valid, its server serves the final checkpoint. */
    const submitAndServe = async (reported: number) => {
      const final = await w.submitAndJudge(reported, undefined, M.trace.accuracyBps);
      const info = await w.challenges.read.getChallenge([w.id]);
      await server?.close();
      server = await serve(
        checkpointRoutes({
          run: (id) =>
            id.toLowerCase() === w.id.toLowerCase()
              ? {
                  id,
                  round: w.runRound.toString(),
                  specId: info.specId,
                  root: info.resultRoot,
                  checkpoints: 3,
                }
              : undefined,
          checkpoint: (id, i) =>
            id.toLowerCase() === w.id.toLowerCase() && i === 2
              ? {
                  bytes: M.checkpoint,
                  hash: keccak256(M.checkpoint),
                  parameterRoot: final.parameterRoot,
                  proof: final.proof,
                }
              : undefined,
        }),
        { host: "127.0.0.1", port: 0 },
      );
      await w.trainer.staking.write.updateMetadata([server.url, "cpu"]);
    };
    return { w, poai, dataDir, deployment: parseDeployment(deployment), submitAndServe };
  }

  it("opens a game on a forged report from the trainer's server and a local dataset, plays it to the end and shows the challenger won", async () => {
    const { w, poai, dataDir, deployment, submitAndServe } = await world();
    // The trainer commits three forged predictions and reports the accuracy they give.
    const forger = M.forger(M.forgeable(3));
    await submitAndServe(M.bps(countCorrect(forger.source, 0, M.spec.evalSize)));
    const [, outsider] = w.outsiders;

    // bad input, named
    const bad = await poai(outsider, [
      "dispute",
      "score",
      "open",
      "--challenge",
      "0x12",
      "--dataset",
      dataDir,
    ]);
    expect(bad.code).to.not.equal(0);
    expect(bad.err + bad.out).to.include('--challenge must be a challenge id (32-byte hex), got "0x12"');

    const opened = await poai(outsider, [
      "dispute",
      "score",
      "open",
      "--challenge",
      w.id,
      "--dataset",
      dataDir,
    ]);
    expect(opened.code, opened.err).to.equal(0);
    const id = BigInt(last(opened).id as string);
    expect(last(opened).measuredBps).to.equal(M.trace.accuracyBps);

    // the trainer defends through the SDK while the command line plays the challenger's side
    const ctx = { publicClient: w.publicClient, walletClient: w.trainer.wallet, deployment };
    const defence = playScoreGame(ctx, {
      id,
      source: forger.source,
      inference: (e) => forger.inference(e),
      pollMs: 20,
    }).catch((err: Error) => err);
    const played = await poai(outsider, [
      "dispute",
      "score",
      "play",
      "--id",
      String(id),
      "--dataset",
      dataDir,
      "--poll-ms",
      "20",
    ]);
    expect(played.code, played.err).to.equal(0);
    expect(last(played).winner).to.equal(outsider.address);
    await defence;
    const status = await poai(outsider, ["dispute", "score", "status", "--id", String(id)]);
    expect(status.code, status.err).to.equal(0);
    expect(last(status)).to.deep.include({ phase: "Resolved", winner: outsider.address });
    expect(await w.scoreGame.read.standing([w.id])).to.deep.equal([0, true]);
  });

  it("refuses to open a game on a report the final checkpoint bears out, before anything is sent", async () => {
    const { w, poai, dataDir, submitAndServe } = await world();
    await submitAndServe(M.trace.accuracyBps);
    const [, outsider] = w.outsiders;
    const refused = await poai(outsider, [
      "dispute",
      "score",
      "open",
      "--challenge",
      w.id,
      "--dataset",
      dataDir,
    ]);
    expect(refused.code).to.not.equal(0);
    expect(refused.err + refused.out).to.include("the accuracy its trainer reported: nothing to dispute");
    expect(await w.scoreGame.read.gameCount()).to.equal(0n);
  });
});
