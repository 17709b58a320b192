import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { network } from "hardhat";
import { getAddress, maxUint256, parseEther, type Hex } from "viem";
import { playDispute } from "../../sdk/src/actions/disputes.js";
import type { PoAIContext } from "../../sdk/src/context.js";
import { deriveKey, modelLayout, type TrainingSpec } from "../../sdk/src/compute/index.js";
import { initialWeights } from "../../sdk/src/compute/reference.js";
import { RunStates } from "../../sdk/src/compute/state/game.js";
import { ForgedRun } from "../../sdk/src/compute/state/forged.js";
import { actSlot } from "../../sdk/src/compute/state/layout.js";
import { runCli } from "../../scripts/cli/main.js";
import { deployStaking } from "../../scripts/lib/deploy.js";
import { deployDisputeGame } from "../../scripts/lib/deploy-disputes.js";
import { writeDataset } from "../../node/src/data/index.js";
import { accountKey } from "../fixtures/hardhat-node.js";
import { syntheticDataset, v2Spec } from "../engine/datasets.js";

/**
 * `poai dispute open | play | status` on the in-process chain: the challenger's side from the
 * command line, against a forging trainer played by the SDK at the same time, for an engine
 * version 1 claim and a version 2 claim replayed on a local copy of its dataset.
 */
const spec: TrainingSpec = {
  version: 1,
  widths: [12, 70, 4],
  batchSize: 4,
  steps: 8,
  checkpointInterval: 4,
  lrShift: 3,
  evalSize: 8,
};
const seed: Hex = `0x${"c11d".repeat(16)}`;

describe("poai dispute", function () {
  this.timeout(300_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), "poai-dispute-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A game and two funded players on a fresh chain, and `poai` as the challenger. */
  async function world() {
    const connection = await network.create();
    const { viem } = connection;
    const [, challenger, defender] = await viem.getWalletClients();
    const publicClient = await viem.getPublicClient();
    const s = await deployStaking(viem);
    const game = await deployDisputeGame(viem, {
      token: s.token.address,
      moveTimeout: 600n,
      bond: parseEther("10"),
      staking: s.staking.address,
    });
    const contracts = {
      accessManager: s.manager.address,
      token: s.token.address,
      staking: s.staking.address,
      stakingLens: s.lens.address,
      disputeGame: game.address,
    };
    const chainId = await publicClient.getChainId();
    for (const w of [challenger, defender]) {
      await s.token.write.transfer([w.account.address, parseEther("100")]);
      const token = await viem.getContractAt("PoAIToken", s.token.address, { client: { wallet: w } });
      await token.write.approve([game.address, maxUint256]);
    }
    const book = path.join(dir, `book-${chainId}-${game.address}.json`);
    writeFileSync(book, JSON.stringify({ chainId, deployBlock: "0", contracts }));
    const run = async (args: string[]) => {
      let out = "";
      let err = "";
      const code = await runCli([...args, "--deployment", book, "--json"], {
        env: { POAI_PRIVATE_KEY: accountKey(1) },
        stdout: (t) => (out += t),
        stderr: (t) => (err += t),
        connection,
      });
      return { code, out, err };
    };
    const cli = async (args: string[]) => {
      const { code, out, err } = await run(args);
      expect(code, `poai ${args.join(" ")}:\n${err}\n${out}`).to.equal(0);
      return JSON.parse(out.trim().split("\n").at(-1)!) as Record<string, unknown>;
    };
    const defenderCtx: PoAIContext = {
      publicClient,
      walletClient: defender,
      deployment: { chainId, deployBlock: 0n, contracts },
    };
    return { challenger, defender, defenderCtx, cli, run };
  }

  it("opens a dispute against a forged claim, plays it to the end and shows the challenger won", async () => {
    const { challenger, defender, defenderCtx, cli } = await world();
    const specFile = path.join(dir, "spec.json");
    writeFileSync(specFile, JSON.stringify(spec));

    const key = deriveKey(spec, seed);
    const honest = new RunStates(spec, key, initialWeights(modelLayout(spec), key), 0);
    const forged = new ForgedRun(honest, { step: 2, slot: actSlot(1), byte: 5, bit: 2, parameter: 9 });
    const replay = ["--spec", specFile, "--seed", seed];
    const opened = await cli([
      "dispute",
      "open",
      ...replay,
      "--steps",
      "4",
      "--defender",
      defender.account.address,
      "--end-root",
      forged.thetaRoot(4),
    ]);
    const id = String(opened.id);
    const [played, trainer] = await Promise.all([
      cli(["dispute", "play", "--id", id, ...replay, "--poll-ms", "20"]),
      playDispute(defenderCtx, { id: BigInt(id), source: forged, pollMs: 20 }),
    ]);
    expect(played.winner).to.equal(getAddress(challenger.account.address));
    expect(trainer.winner).to.equal(getAddress(challenger.account.address));
    const status = await cli(["dispute", "status", "--id", id]);
    expect(status.phase).to.equal("Resolved");
  });

  it("plays an engine version 2 claim on a local copy of its dataset, to a feature proven on chain", async () => {
    const { challenger, defender, defenderCtx, cli, run } = await world();
    // 300 features an example: the disputed feature is read from a leaf of its features tree
    const data = syntheticDataset(40, 8, 300, 3, 7, 8);
    const v2 = v2Spec(data, {
      hidden: [6],
      batchSize: 4,
      steps: 8,
      checkpointInterval: 4,
      lrShift: 3,
      evalSize: 8,
    });
    const specFile = path.join(dir, "spec-v2.json");
    writeFileSync(specFile, JSON.stringify(v2));
    const datasetDir = path.join(dir, "dataset");
    await writeDataset(datasetDir, data);

    const key = deriveKey(v2, seed);
    const honest = new RunStates(v2, key, initialWeights(modelLayout(v2), key), 0, data);
    // the trainer swapped one feature of row 1 in step 2 (a substituted example)
    const forged = new ForgedRun(honest, {
      step: 2,
      slot: 1,
      byte: 300 + 250,
      bit: 6,
      parameter: 9,
      cut: 0,
      delta: 0n,
    });
    const replay = ["--spec", specFile, "--seed", seed];
    const claim = ["--steps", "4", "--defender", defender.account.address, "--end-root", forged.thetaRoot(4)];
    // without the dataset there is nothing to replay on: the error says how to give it
    const bare = await run(["dispute", "open", ...replay, ...claim]);
    expect(bare.code).to.not.equal(0);
    expect(bare.err).to.match(
      /no source of its dataset is registered for its spec: give a local copy with --dataset <dir>/,
    );
    // another dataset than the spec's is refused, naming the directory
    const otherDir = path.join(dir, "other-dataset");
    await writeDataset(otherDir, syntheticDataset(40, 8, 300, 3, 8, 8));
    const other = await run(["dispute", "open", ...replay, ...claim, "--dataset", otherDir]);
    expect(other.code).to.not.equal(0);
    expect(other.err).to.match(/--dataset .*other-dataset is not the spec's dataset/);

    const opened = await cli(["dispute", "open", ...replay, ...claim, "--dataset", datasetDir]);
    const id = String(opened.id);
    const [played] = await Promise.all([
      cli(["dispute", "play", "--id", id, ...replay, "--dataset", datasetDir, "--poll-ms", "20"]),
      playDispute(defenderCtx, { id: BigInt(id), source: forged, pollMs: 20 }),
    ]);
    expect(played.winner).to.equal(getAddress(challenger.account.address));
    const moves = played.moves as { functionName: string }[];
    expect(moves.at(-1)!.functionName).to.equal("pickElement");
  });

  it("names the option and the value it refuses", async () => {
    let err = "";
    const code = await runCli(["dispute", "status", "--id", "first"], {
      stderr: (t) => (err += t),
      stdout: () => {},
    });
    expect(code).to.not.equal(0);
    expect(err).to.match(/--id must be a game number, got "first"/);
  });
});
