import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { createPublicClient, createWalletClient, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { challengeId, createPoAIClient, roundWindows, specId } from "@poai/sdk";
import { readDeploymentFile } from "@poai/node";
import { runCli } from "../../scripts/cli/main.js";
import { chainOf } from "../../scripts/cli/session.js";
import { driveRounds } from "../../scripts/lib/daemon-network.js";
import { advanceChainTo, startDaemonProcesses, type DaemonFleet } from "../../scripts/lib/multiprocess.js";
import { DAEMON_SPEC, DAEMON_SPEC_PARAMS, EPOCH } from "../fixtures/daemons.js";
import {
  PROJECT_ROOT,
  accountAddress,
  accountKey,
  startHardhatNode,
  type HardhatNode,
} from "../fixtures/hardhat-node.js";
import { network } from "hardhat";
import { maxUint256, parseEther } from "viem";
import { deployNetwork } from "../../scripts/lib/deploy.js";
import { mnistDataset } from "../../scripts/lib/datasets.js";
import { runDevnetFederated } from "../../scripts/lib/devnet/federated.js";

/** `poai …` in this process against the node, signing with account `key`. */
async function poai(key: number, args: string[]): Promise<string> {
  let out = "";
  let err = "";
  const code = await runCli(args, {
    env: { POAI_PRIVATE_KEY: accountKey(key) },
    stdout: (s) => (out += s),
    stderr: (s) => (err += s),
  });
  if (code !== 0) throw new Error(`poai ${args.join(" ")} failed: ${err}`);
  return out;
}

describe("daemons as separate processes against `hardhat node`", function () {
  this.timeout(300_000);
  let node: HardhatNode | undefined;
  let fleet: DaemonFleet | undefined;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "poai-multiprocess-"));
    node = await startHardhatNode({ lifetimeMs: 6 * 60_000 });
  });
  after(async () => {
    await fleet?.stop();
    await node?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("plays a round through 2 trainer and 3 validator processes: results submitted, verdicts revealed, finalized", async () => {
    const url = node!.url;
    const book = path.join(dir, "localhost.json");
    const params = path.join(dir, "params.json");
    writeFileSync(
      params,
      JSON.stringify({ PoAIStaking: { epochLength: EPOCH }, PoAIChallenges: { committeeSize: 3 } }),
    );
    const rpcArgs = ["--rpc", url, "--deployment", book];
    await poai(0, [
      "deploy",
      ...rpcArgs,
      "--network",
      "localhost",
      "--parameters",
      params,
      "--journal",
      path.join(dir, "ignition"),
    ]);

    const trainers = [1, 2];
    const validators = [3, 4, 5];
    for (const i of [...trainers, ...validators])
      await poai(0, ["transfer", ...rpcArgs, "--to", accountAddress(i), "--amount", "10000"]);
    for (const i of trainers) await poai(i, ["register", ...rpcArgs, "--role", "trainer", "--stake", "5000"]);
    for (const i of validators)
      await poai(i, ["register", ...rpcArgs, "--role", "validator", "--stake", "2000"]);

    const deployment = await readDeploymentFile(book);
    const chain = chainOf(deployment.chainId, url);
    const publicClient = createPublicClient({ chain, transport: http(url), pollingInterval: 200 });
    const admin = createPoAIClient({
      publicClient,
      walletClient: createWalletClient({
        chain,
        transport: http(url),
        account: privateKeyToAccount(accountKey(0)),
      }),
      deployment,
    });
    await admin.waitForTransaction(
      await admin.registry.registerSpec({ spec: DAEMON_SPEC, params: DAEMON_SPEC_PARAMS }),
    );
    const id = specId(DAEMON_SPEC);
    await admin.waitForTransaction(await admin.registry.activateSpec({ specId: id }));

    fleet = await startDaemonProcesses({
      rpc: url,
      deployment: book,
      dataDir: path.join(dir, "daemons"),
      daemons: [
        ...trainers.map((i) => ({ role: "trainer" as const, key: accountKey(i) })),
        ...validators.map((i) => ({ role: "validator" as const, key: accountKey(i) })),
      ],
    });
    expect(new Set(fleet.daemons.map((d) => d.pid)).size).to.equal(5);
    for (const [i, t] of fleet.trainers.entries()) {
      const status = await t.status();
      expect(status.address).to.equal(accountAddress(trainers[i]!));
      // The daemon published its checkpoint server in Staking.
      expect((await admin.staking.getOperator({ operator: accountAddress(trainers[i]!) })).endpoint).to.equal(
        t.url,
      );
    }

    const w0 = await admin.challenges.getRoundWindows({ round: 0n });
    const challengeParams = await admin.challenges.getChallengeParams();
    const windows = (r: bigint) =>
      roundWindows(w0.start, BigInt(EPOCH), r, {
        ...challengeParams,
        responseDeadline: DAEMON_SPEC_PARAMS.responseDeadline,
      });
    const round = (await admin.staking.currentEpoch()) + 1n;
    await driveRounds({
      windows,
      advanceTo: (t) => advanceChainTo(url, t),
      trainers: fleet.trainers,
      validators: fleet.validators,
      from: round,
      to: round,
    });

    for (const i of trainers) {
      const cid = challengeId(accountAddress(i), round);
      const c = await admin.challenges.getChallenge({ id: cid });
      expect(c.status, `trainer ${i}'s challenge`).to.equal("Valid");
      expect(c.reportedScoreBps).to.be.greaterThan(0);
      const members = await admin.challenges.getMembers({ id: cid });
      expect(members.filter((m) => m.revealed && m.verdict === "Valid")).to.have.length(3);
      expect(
        (await admin.challenges.getEpochPoints({ epoch: round, operator: accountAddress(i) })) > 0n,
        `trainer ${i}'s points`,
      ).to.equal(true);
    }
    for (const i of validators)
      expect(
        (await admin.challenges.getEpochPoints({ epoch: round, operator: accountAddress(i) })) > 0n,
        `validator ${i}'s points`,
      ).to.equal(true);
    const submitted = await admin.challenges.getEvents({ eventName: "ResultSubmitted", fromBlock: 0n });
    expect(submitted.filter((e) => e.args.round === round)).to.have.length(2);

    const codes = await fleet.stop();
    fleet = undefined;
    expect(Object.values(codes)).to.deep.equal([0, 0, 0, 0, 0]);
  });

  it("runs the federated MNIST job against the node: updates over HTTP, the poisoned one excluded and slashed", async () => {
    // The chain is the `hardhat node` process (JSON-RPC); participants and validators serve and
    // fetch updates over HTTP. A deployment of its own, from accounts the test above left unused.
    await fleet?.stop();
    fleet = undefined;
    const { viem, networkHelpers } = await network.create({
      network: "localhost",
      override: { url: node!.url },
    });
    const wallets = await viem.getWalletClients();
    const d = await deployNetwork(viem, { epochLength: EPOCH });
    const validators = wallets.slice(13, 16);
    for (const w of validators) {
      await d.token.write.transfer([w.account.address, parseEther("3000")]);
      const token = await viem.getContractAt("PoAIToken", d.token.address, { client: { wallet: w } });
      await token.write.approve([d.staking.address, maxUint256]);
      const staking = await viem.getContractAt("Staking", d.staking.address, { client: { wallet: w } });
      await staking.write.register([2, parseEther("2000"), 500, 2000, "http://127.0.0.1", "CPU"]);
    }
    const data = await mnistDataset(path.join(PROJECT_ROOT, "cache", "datasets", "mnist"));
    const { summary, checks } = await runDevnetFederated({
      viem,
      advanceTo: (t) => networkHelpers.time.increaseTo(t),
      deployed: d,
      spare: wallets.slice(10, 13),
      owner: wallets[16]!,
      validators,
      data,
      backend: "wasm",
    });
    for (const c of checks) expect(c.ok, `${c.name}: ${c.detail}`).to.equal(true);
    expect(summary.rounds.map((r) => r.updates.map((u) => u.included))).to.deep.equal([
      [true, true, false],
      [true, true, false],
      [true, true, false],
    ]);
  });
});
