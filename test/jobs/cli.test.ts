/**
 * `poai job …` against an in-process chain with the JobRegistry: an engineer posts jobs from a spec
 * file, lists them, reads their status and cancels one before any claim; a trainer claims the
 * other; once its run is judged Valid, anyone settles it, and the engineer fetches the model from
 * the trainer's checkpoint server (a real HTTP server over the run's checkpoints), proven against the
 * run's root on chain, and registers it as `job/<id>`. A server that serves other bytes is refused.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { network } from "hardhat";
import { keccak256, toHex, type Hex } from "viem";
import { checkpointRoutes, serve, type RunningServer } from "../../node/src/daemon/index.js";
import { commitCheckpoints, encodeCheckpoint, train } from "../../sdk/src/compute/index.js";
import { contractsOf } from "../../scripts/lib/address-book.js";
import { SPEC } from "../poai/helpers/world.js";
import { cliOf, lastJson } from "../fixtures/cli.js";
import { JOB_SOURCES, JOB_SPEC, deployJobsWorld } from "./helpers/jobs-world.js";

const last = lastJson;

describe("poai job", function () {
  this.timeout(300_000);
  let dir: string;
  let server: RunningServer | undefined;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), "poai-cli-jobs-"));
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("posts, lists, shows, cancels, claims, settles and fetches a job's proven model", async () => {
    const conn = await network.create();
    const w = await deployJobsWorld(conn);
    const book = path.join(dir, "jobs.json");
    writeFileSync(
      book,
      JSON.stringify({
        chainId: await w.publicClient.getChainId(),
        deployBlock: "0",
        contracts: contractsOf({ ...w, distributor: w.distributor, models: w.models, jobs: w.jobs }),
      }),
    );
    const poai = cliOf(book, conn);
    const specFile = path.join(dir, "spec.json");
    writeFileSync(specFile, JSON.stringify(JOB_SPEC));
    const post = (extra: string[] = []) =>
      poai(w.owner, [
        "job",
        "post",
        "--spec",
        specFile,
        "--source",
        JOB_SOURCES[0]!,
        "--budget",
        "100",
        "--deadline",
        "10d",
        "--min-accuracy",
        "80",
        "--owner-royalty",
        "30",
        ...extra,
      ]);

    // Bad input is refused before anything is signed, naming the flag and the value.
    const bad = await post(["--trainers", "9"]);
    expect(bad.code).to.not.equal(0);
    expect(bad.err + bad.out).to.include('--trainers must be an integer in 1..8, got "9"');
    const badRoyalty = await poai(w.owner, [
      "job",
      "post",
      "--spec",
      specFile,
      "--source",
      JOB_SOURCES[0]!,
      "--budget",
      "1",
      "--deadline",
      "10d",
      "--owner-royalty",
      "101",
    ]);
    expect(badRoyalty.err + badRoyalty.out).to.include("--owner-royalty must be a percentage from 0 to 100");

    const first = await post();
    expect(first.code, first.err).to.equal(0);
    expect(last(first)).to.deep.include({ action: "job-post", jobId: "1" });
    const second = await post();
    expect(last(second).jobId).to.equal("2");
    expect(await w.jobs.read.escrowed([w.token.address])).to.equal(200n * 10n ** 18n);

    const listed = last(await poai(w.owner, ["job", "list"]));
    expect((listed.jobs as { id: string }[]).map((j) => j.id)).to.deep.equal(["2", "1"]);
    const status = await poai(w.owner, ["job", "status", "--job", "1"]);
    expect((last(status).job as { state: string; ownerRoyaltyBps: number }).state).to.equal("Open");
    expect((last(status).job as { ownerRoyaltyBps: number }).ownerRoyaltyBps).to.equal(3000);

    const cancelled = await poai(w.owner, ["job", "cancel", "--job", "2"]);
    expect(cancelled.code, cancelled.err).to.equal(0);
    expect((last(cancelled).job as { state: string }).state).to.equal("Cancelled");
    const notOwner = await poai(w.bystander, ["job", "cancel", "--job", "1"]);
    expect(notOwner.code).to.not.equal(0);
    expect(notOwner.err + notOwner.out).to.include("NotJobOwner");

    // Job 1: the first trainer claims it in its claim round, trains it, the committee judges it Valid.
    const job = await w.jobs.read.getJob([1n]);
    await w.to(w.start(BigInt(job.claimRound)));
    const T = w.trainers[0]!;
    const claimed = await poai(T, ["job", "claim", "--job", "1"]);
    expect(claimed.code, claimed.err).to.equal(0);
    const runRound = BigInt(job.claimRound) + 1n;
    const id = w.id(T, runRound);
    // The run: the engine's checkpoints of a run of the same widths, encoded for the job's spec.
    const served: { bytes: Uint8Array; hash: Hex }[] = [];
    await train(SPEC, keccak256(toHex("job run")), {
      onCheckpoint: (r) =>
        void served.push({
          bytes: encodeCheckpoint(JOB_SPEC, r.checkpoint),
          hash: keccak256(encodeCheckpoint(JOB_SPEC, r.checkpoint)),
        }),
    });
    const tree = commitCheckpoints(served.map((s) => s.bytes));
    let tamper = false;
    server = await serve(
      checkpointRoutes({
        run: (x) =>
          x === id
            ? {
                id,
                round: runRound.toString(),
                specId: job.specId,
                root: tree.root,
                checkpoints: served.length,
              }
            : undefined,
        checkpoint: (_x, i) => {
          const bytes = tamper ? served[i]!.bytes.map((b, k) => (k === 40 ? b ^ 1 : b)) : served[i]!.bytes;
          return {
            bytes,
            hash: served[i]!.hash,
            parameterRoot: tree.parameterRoots[i],
            proof: tree.proof(i),
          };
        },
      }),
      { host: "127.0.0.1", port: 0 },
    );
    await w.to(w.start(runRound));
    await w.beaconCommit(runRound + 1n, w.validators);
    await T.cm.write.submitResult([runRound, tree.root, 9000]);
    await w.beaconReveal(runRound + 1n, w.validators);
    await w.judge(runRound, [[id, w.valid(9000)]]);
    const settled = await poai(w.bystander, ["job", "settle", "--job", "1"]);
    expect(settled.code, settled.err).to.equal(0);
    expect((last(settled).job as { state: string; winner: string }).state).to.equal("Completed");

    const out = path.join(dir, "model.ckpt");
    tamper = true;
    const refused = await poai(w.owner, [
      "job",
      "fetch",
      "--job",
      "1",
      "--out",
      out,
      "--endpoint",
      server.url,
    ]);
    expect(refused.code).to.not.equal(0);
    expect(refused.err + refused.out).to.include("is not proven under root");
    tamper = false;
    const fetched = await poai(w.owner, [
      "job",
      "fetch",
      "--job",
      "1",
      "--out",
      out,
      "--endpoint",
      server.url,
      "--register",
    ]);
    expect(fetched.code, fetched.err).to.equal(0);
    const final = served.at(-1)!;
    expect(last(fetched)).to.deep.include({ action: "job-fetch", weightsHash: final.hash, challengeId: id });
    expect(keccak256(readFileSync(out))).to.equal(final.hash);
    const after = await w.jobs.read.getJob([1n]);
    expect(after.containerId).to.not.equal(`0x${"0".repeat(64)}`);
    expect((await w.models.read.getModel([after.containerId])).weightsHash).to.equal(final.hash);
  });
});
