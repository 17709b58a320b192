import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { createPublicClient, createWalletClient, http, parseEther } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import {
  challengeId,
  challengeManagerAbi,
  createPoAIClient,
  rewardDistributorAbi,
  roundWindows,
  specId,
} from "@poai/sdk";
import { readDeploymentFile } from "@poai/node";
import { runCli } from "../../scripts/cli/main.js";
import { chainOf } from "../../scripts/cli/session.js";
import { driveRounds } from "../../scripts/lib/daemon-network.js";
import { advanceChainTo, startDaemonProcesses, type DaemonFleet } from "../../scripts/lib/multiprocess.js";
import { DAEMON_SPEC, DAEMON_SPEC_PARAMS, EPOCH } from "../fixtures/daemons.js";
import { accountAddress, accountKey, startHardhatNode, type HardhatNode } from "../fixtures/hardhat-node.js";

/** `poai …` in this process against the node, signing with account `key`; its exit code and output. */
async function poai(key: number, args: string[]) {
  let out = "";
  let err = "";
  const code = await runCli(args, {
    env: { POAI_PRIVATE_KEY: accountKey(key) },
    stdout: (s) => (out += s),
    stderr: (s) => (err += s),
  });
  return { code, out, err };
}
async function ok(key: number, args: string[]): Promise<string> {
  const r = await poai(key, args);
  if (r.code !== 0) throw new Error(`poai ${args.join(" ")} failed: ${r.err}`);
  return r.out;
}

/**
 * The path a delegator meets on a fresh `poai deploy` chain: the treasury funds the reserve, the
 * operators register and run their daemons, a delegator delegates, and once the epoch its stake
 * worked in has closed `poai status` shows the reward and `poai claim` pays it. Nobody closes an
 * epoch or settles a pool: no script, no keeper.
 */
describe("rewards on a `poai deploy` chain with the daemons running", function () {
  this.timeout(300_000);
  let node: HardhatNode | undefined;
  let fleet: DaemonFleet | undefined;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "poai-rewards-"));
    node = await startHardhatNode({ lifetimeMs: 6 * 60_000 });
  });
  after(async () => {
    await fleet?.stop();
    await node?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("pays a delegator its part of the epoch its stake worked in, with nobody settling", async () => {
    const url = node!.url;
    const book = path.join(dir, "localhost.json");
    const params = path.join(dir, "params.json");
    writeFileSync(
      params,
      JSON.stringify({ PoAIStaking: { epochLength: EPOCH }, PoAIChallenges: { committeeSize: 3 } }),
    );
    const rpcArgs = ["--rpc", url, "--deployment", book];
    const deployArgs = ["--network", "localhost", "--parameters", params, "--journal"];
    await ok(0, ["deploy", ...rpcArgs, ...deployArgs, path.join(dir, "ignition")]);

    // 1. The treasury funds the emission reserve.
    expect((await poai(0, ["fund", ...rpcArgs, "--amount", "0"])).err).to.contain(
      "--amount must be greater than zero",
    );
    expect((await poai(7, ["fund", ...rpcArgs, "--amount", "1"])).err).to.contain(
      "amount 1 POAI is above your balance 0 POAI",
    );
    // `poai fund` is `poai rewards fund`: one command under two names.
    const funded = await ok(0, ["fund", ...rpcArgs, "--amount", "20000"]);
    expect(funded).to.contain("funded the emission reserve with 20,000 POAI");
    expect(funded).to.contain("at 1,000 POAI per epoch that is 20 epoch(s) of emission");

    // 2. The operators register; a delegator delegates to the trainer.
    const trainer = 1;
    const validators = [3, 4, 5];
    const delegator = 6;
    const T = accountAddress(trainer);
    const D = accountAddress(delegator);
    for (const i of [trainer, ...validators, delegator])
      await ok(0, ["transfer", ...rpcArgs, "--to", accountAddress(i), "--amount", "10000"]);
    await ok(trainer, ["register", ...rpcArgs, "--role", "trainer", "--stake", "5000", "--commission", "10"]);
    for (const i of validators)
      await ok(i, ["register", ...rpcArgs, "--role", "validator", "--stake", "2000"]);
    await ok(delegator, ["delegate", ...rpcArgs, "--operator", T, "--amount", "1000"]);

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
    await admin.waitForTransaction(await admin.registry.activateSpec({ specId: specId(DAEMON_SPEC) }));

    // 3. The daemons run: a round is trained, audited and finalized.
    fleet = await startDaemonProcesses({
      rpc: url,
      deployment: book,
      dataDir: path.join(dir, "daemons"),
      daemons: [
        { role: "trainer" as const, key: accountKey(trainer) },
        ...validators.map((i) => ({ role: "validator" as const, key: accountKey(i) })),
      ],
    });
    const w0 = await admin.challenges.getRoundWindows({ round: 0n });
    const challengeParams = await admin.challenges.getChallengeParams();
    const windows = (r: bigint) =>
      roundWindows(w0.start, BigInt(EPOCH), r, {
        ...challengeParams,
        responseDeadline: DAEMON_SPEC_PARAMS.responseDeadline,
      });
    const round = (await admin.staking.currentEpoch()) + 1n; // the delegation counts from here
    await driveRounds({
      windows,
      advanceTo: (t) => advanceChainTo(url, t),
      trainers: fleet.trainers,
      validators: fleet.validators,
      from: round,
      to: round,
    });
    expect((await admin.challenges.getChallenge({ id: challengeId(T, round) })).status).to.equal("Valid");
    const points = await admin.challenges.getEpochPoints({ epoch: round, operator: T });
    expect(points > 0n).to.equal(true);

    // 4. The round's points become final; the daemons keep running.
    const closesAt = await publicClient.readContract({
      address: deployment.contracts.challengeManager!,
      abi: challengeManagerAbi,
      functionName: "epochClosesAt",
      args: [round],
    });
    await advanceChainTo(url, closesAt + 1n);
    await Promise.all(fleet.daemons.map((d) => d.tick()));
    const distributor = deployment.contracts.rewardDistributor!;
    const rd = { address: distributor, abi: rewardDistributorAbi } as const;
    // Nobody closed the epoch or credited the pool: no keeper, no script.
    expect((await publicClient.readContract({ ...rd, functionName: "nextEpochToClose" })) <= round).to.equal(
      true,
    );
    expect((await admin.staking.getPool({ operator: T })).creditedThrough <= round).to.equal(true);

    // 5. The delegator sees its reward and claims it.
    const status = JSON.parse(await ok(delegator, ["status", ...rpcArgs, "--json"])) as {
      rewards: { claimable: string };
    };
    const shown = BigInt(status.rewards.claimable);
    const before = await admin.token.getBalance({ owner: D });
    expect(await ok(delegator, ["claim", ...rpcArgs])).to.match(/^claimed \d+(\.\d+)? POAI from 1 pool/);
    const paid = (await admin.token.getBalance({ owner: D })) - before;
    expect(paid).to.equal(shown);

    // Exactly its part: the trainer's pool is the only trainer pool with points, so it takes the
    // role's whole budget of the round; 10% commission, then 1,000 of the pool's 6,000 shares.
    const epoch = await publicClient.readContract({ ...rd, functionName: "getEpoch", args: [round] });
    expect(epoch.closed).to.equal(true);
    expect(epoch.trainerPoints).to.equal(points);
    const budget = epoch.trainerBudget;
    expect(budget > parseEther("100")).to.equal(true);
    const rest = budget - (budget * 1000n) / 10_000n;
    const SCALE = 10n ** 36n;
    const inc = (rest * SCALE) / parseEther("6000");
    expect(paid).to.equal((parseEther("1000") * inc) / SCALE);
    const after = JSON.parse(await ok(delegator, ["status", ...rpcArgs, "--json"])) as {
      rewards: { claimable: string };
    };
    expect(after.rewards.claimable).to.equal("0");

    const codes = await fleet.stop();
    fleet = undefined;
    expect(Object.values(codes)).to.deep.equal([0, 0, 0, 0]);
  });
});
