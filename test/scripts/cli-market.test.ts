/**
 * The inference marketplace from the command line: `poai model export` / `model register` turn a
 * valid challenge's run into a model bound to it (in-process chain), and `poai deploy` plus the
 * CLI serve a paid request end to end on `npx hardhat node`, with the inference node as its own
 * process: wallet created and funded, the example consumer deployed and allowed to pay, the request
 * made, the node's delivery read back, the consumer's answer the model's, the node's usage fee
 * accrued.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { network } from "hardhat";
import {
  createPublicClient,
  getAddress,
  http,
  keccak256,
  toHex,
  zeroHash,
  type Address,
  type Hex,
} from "viem";
import { createPoAIClient } from "@poai/sdk";
import { TrainerStore, readDeploymentFile } from "@poai/sdk/node";
import { commit, encodeCheckpoint, encodeInferenceInput, infer, train } from "../../sdk/src/compute/index.js";
import { runCli } from "../../scripts/cli/main.js";
import { chainOf } from "../../scripts/cli/session.js";
import { contractsOf } from "../../scripts/lib/address-book.js";
import { startDaemonProcesses, type DaemonFleet } from "../../scripts/lib/multiprocess.js";
import { Status, Verdict, type Vote } from "../poai/helpers/world.js";
import { MODEL_SPEC, deployVerifierWorld } from "../infernet/helpers/verifier-world.js";
import { accountAddress, accountKey, startHardhatNode, type HardhatNode } from "../fixtures/hardhat-node.js";

interface Ran {
  code: number;
  out: string;
  err: string;
}

const json = (r: Ran) => JSON.parse(r.out.trim().split("\n").at(-1)!) as Record<string, unknown>;

describe("poai model, wallet, consumer and subscription", function () {
  this.timeout(300_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), "poai-cli-market-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("exports a valid challenge's final checkpoint from the trainer's database and registers it bound to the challenge, royalties to the trainer", async () => {
    const conn = await network.create();
    const w = await deployVerifierWorld(conn, { validators: [10n ** 21n, 10n ** 21n, 10n ** 21n] });
    const key = Array.from({ length: 20 }, (_, i) => i).find((i) => accountAddress(i) === w.node.address)!;
    const book = path.join(dir, "world.json");
    writeFileSync(
      book,
      JSON.stringify({
        chainId: await w.publicClient.getChainId(),
        deployBlock: "0",
        contracts: contractsOf({ ...w, models: w.models }),
      }),
    );
    const poai = async (args: string[]): Promise<Ran> => {
      const ran = { code: -1, out: "", err: "" };
      ran.code = await runCli([...args, "--deployment", book, "--json"], {
        env: { POAI_PRIVATE_KEY: accountKey(key) },
        stdout: (s) => (ran.out += s),
        stderr: (s) => (ran.err += s),
        connection: conn,
      });
      return ran;
    };

    // The node trains round 1's challenge, keeping every checkpoint in its database, and the
    // committee judges it valid.
    const database = path.join(dir, "trainer.db");
    const store = new TrainerStore(database, {
      trainer: w.node.address,
      chainId: await w.publicClient.getChainId(),
      challengeManager: w.challenges.address,
    });
    const id = w.id(w.node, 1n);
    const checkpoints: { index: number; hash: Hex; bytes: Uint8Array }[] = [];
    const run = await train(MODEL_SPEC, keccak256(toHex("a run")), {
      onCheckpoint: (r) =>
        void checkpoints.push({
          index: r.index,
          hash: r.hash,
          bytes: encodeCheckpoint(MODEL_SPEC, r.checkpoint),
        }),
    });
    const tree = commit(run);
    store.insertRun({
      id,
      round: 1n,
      specId: run.specId,
      spec: MODEL_SPEC,
      seed: run.seed,
      trainingSeed: run.seed,
      deadline: 0n,
      closesAt: 0n,
      checkpointCount: run.checkpointHashes.length,
    });
    for (const c of checkpoints) store.putCheckpoint(id, c);
    store.updateRun(id, { state: "submitted", root: tree.root });
    store.db.close();
    await w.to(w.start(1n));
    await w.beaconCommit(2n, w.validators);
    await w.node.cm.write.submitResult([1n, tree.root, 5000]);
    await w.beaconReveal(2n, w.validators);
    await w.audit(
      id,
      1n,
      w.validators.map((v): Vote => ({ v, verdict: Verdict.Valid, score: 5000 })),
    );
    // every member revealed, so the last reveal judged the challenge (no finalize needed)
    expect((await w.challenges.read.getChallenge([id])).status).to.equal(Status.Valid);

    const out = path.join(dir, "final.ckpt");
    const exported = await poai(["model", "export", "--database", database, "--challenge", id, "--out", out]);
    expect(exported.code, exported.err).to.equal(0);
    const finalHash = run.checkpointHashes.at(-1)!;
    expect(json(exported).weightsHash).to.equal(finalHash);
    expect(keccak256(readFileSync(out))).to.equal(finalHash);

    // a checkpoint that is not the proven one is refused before anything is sent
    writeFileSync(path.join(dir, "other.ckpt"), Buffer.from(readFileSync(out)).fill(1, 8, 9));
    const wrong = await poai([
      "model",
      "register",
      "--container",
      "trained",
      "--checkpoint",
      path.join(dir, "other.ckpt"),
      "--proof",
      `${out}.proof.json`,
    ]);
    expect(wrong.code).to.equal(1);
    expect(wrong.err).to.contain("but");

    const registered = await poai(["model", "register", "--container", "trained", "--checkpoint", out]);
    expect(registered.code, registered.err).to.equal(0);
    const model = json(registered).model as { challengeId: Hex; royaltyRecipient: Address; widths: number[] };
    expect([model.challengeId, model.royaltyRecipient, model.widths]).to.deep.equal([
      id,
      w.node.address,
      [8, 8, 4],
    ]);
    const shown = await poai(["model", "show", "--container", "trained"]);
    expect((json(shown).model as { challengeId: Hex }).challengeId).to.equal(id);
    // a model registered by widths alone names no royalty recipient until governance approves it
    const plain = await poai([
      "model",
      "register",
      "--container",
      "plain",
      "--checkpoint",
      out,
      "--widths",
      "8,8,4",
    ]);
    expect(plain.code, plain.err).to.equal(0);
    expect((json(plain).model as { challengeId: Hex; royaltyRecipient: Address }).royaltyRecipient).to.equal(
      "0x0000000000000000000000000000000000000000",
    );
    expect(zeroHash).to.equal((json(plain).model as { challengeId: Hex }).challengeId);
    const flags = await poai([
      "model",
      "export",
      "--database",
      database,
      "--challenge",
      "0x12",
      "--out",
      out,
    ]);
    expect(flags.err).to.contain("--challenge must be 32 bytes");
  });

  describe("on `hardhat node`, the inference node as its own process", () => {
    let node: HardhatNode | undefined;
    let fleet: DaemonFleet | undefined;
    before(async () => {
      node = await startHardhatNode({ lifetimeMs: 6 * 60_000 });
    });
    after(async () => {
      await fleet?.stop();
      await node?.stop();
    });

    it("`poai deploy` and the CLI serve a paid request end to end", async () => {
      const url = node!.url;
      const book = path.join(dir, "localhost.json");
      const rpc = ["--rpc", url, "--deployment", book];
      const poai = async (key: number, args: string[]): Promise<Record<string, unknown>> => {
        const ran = { code: -1, out: "", err: "" };
        ran.code = await runCli([...args, ...rpc, "--json"], {
          env: { POAI_PRIVATE_KEY: accountKey(key) },
          stdout: (s) => (ran.out += s),
          stderr: (s) => (ran.err += s),
        });
        if (ran.code !== 0) throw new Error(`poai ${args.join(" ")} failed: ${ran.err}`);
        return json(ran);
      };
      const params = path.join(dir, "params.json");
      writeFileSync(params, JSON.stringify({ PoAIStaking: { epochLength: 3600 } }));
      await poai(0, [
        "deploy",
        "--network",
        "localhost",
        "--parameters",
        params,
        "--journal",
        path.join(dir, "ignition"),
      ]);
      const deployment = await readDeploymentFile(book);
      for (const name of [
        "coordinator",
        "infernetRegistry",
        "fee",
        "inbox",
        "reader",
        "walletFactory",
        "modelRegistry",
        "poaiVerifier",
      ])
        expect(deployment.contracts[name], name).to.match(/^0x[0-9a-fA-F]{40}$/);

      // The operator: a registered trainer with a model and a payment wallet.
      const [trainer, dapp] = [1, 4];
      for (const i of [trainer, dapp])
        await poai(0, ["transfer", "--to", accountAddress(i), "--amount", "10000"]);
      await poai(trainer, ["register", "--role", "trainer", "--stake", "5000"]);
      const run = await train(MODEL_SPEC, keccak256(toHex("the dApp's model")));
      const checkpoint = path.join(dir, "model.ckpt");
      writeFileSync(checkpoint, encodeCheckpoint(MODEL_SPEC, run.final));
      await poai(trainer, [
        "model",
        "register",
        "--container",
        "classifier",
        "--checkpoint",
        checkpoint,
        "--widths",
        "8,8,4",
      ]);
      await poai(0, ["model", "approve", "--container", "classifier"]);
      const nodeWallet = (await poai(trainer, ["wallet", "create"])).wallet as Address;
      fleet = await startDaemonProcesses({
        rpc: url,
        deployment: book,
        dataDir: path.join(dir, "daemons"),
        daemons: [
          {
            role: "inference",
            key: accountKey(trainer),
            args: ["--model", `classifier=${checkpoint}`, "--payment-wallet", nodeWallet],
          },
        ],
      });

      // The dApp developer: a funded wallet, the example consumer allowed to pay from it, a request.
      const wallet = (await poai(dapp, ["wallet", "create"])).wallet as Address;
      await poai(dapp, ["wallet", "fund", "--wallet", wallet, "--amount", "100"]);
      const consumer = (await poai(dapp, ["consumer", "deploy", "--model", "classifier"]))
        .consumer as Address;
      await poai(dapp, ["wallet", "approve", "--wallet", wallet, "--spender", consumer, "--amount", "100"]);
      await poai(dapp, ["consumer", "pay", "--consumer", consumer, "--wallet", wallet, "--amount", "5"]);
      const input = Int8Array.from([12, -7, 33, 0, 5, -64, 90, 1]);
      const asked = await poai(dapp, [
        "consumer",
        "classify",
        "--consumer",
        consumer,
        "--input",
        [...input].join(","),
      ]);
      const id = Number(asked.subscriptionId);
      expect(BigInt(asked.escrow as string)).to.equal(5n * 10n ** 18n);

      // The node serves it; the dApp reads the delivery and the consumer's answer.
      let deliveries: { node: Address; output: Hex }[] = [];
      for (let i = 0; i < 240 && deliveries.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 250));
        deliveries = (await poai(dapp, ["subscription", "deliveries", "--id", String(id)]))
          .deliveries as typeof deliveries;
      }
      expect(deliveries.length).to.equal(1);
      expect(getAddress(deliveries[0]!.node)).to.equal(accountAddress(trainer));
      const expected = infer(MODEL_SPEC, run.final.weights, input);
      const answer = await poai(dapp, ["consumer", "answer", "--consumer", consumer, "--id", String(id)]);
      expect([answer.answered, answer.label]).to.deep.equal([true, expected.label]);
      const shown = await poai(dapp, ["subscription", "show", "--id", String(id)]);
      expect(shown.escrow).to.equal("0");
      expect(encodeInferenceInput(input)).to.equal(asked.input);

      // Paid in the staking token: the node's usage fee waits for the RewardDistributor.
      const publicClient = createPublicClient({
        chain: chainOf(deployment.chainId, url),
        transport: http(url),
      });
      const client = createPoAIClient({ publicClient, deployment });
      const usage = await client.inference.getUsage({
        node: accountAddress(trainer),
        containerId: "classifier",
      });
      expect([usage.deliveries, usage.pendingFees]).to.deep.equal([1n, 5n * 10n ** 18n]);
    });
  });
});
