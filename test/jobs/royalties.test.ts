/**
 * A job model's royalties through the marketplace itself: a paid request for `job/<id>` is
 * delivered through the Coordinator, its usage fee flushed to the RewardDistributor, and the
 * royalty part is split exactly as the owner chose at posting (the owner at once, the winning
 * trainer's pool the rest). Adversarial: the owner's share at its bound (and one past it), and
 * models not bound to a completed job (a plain model pays its trainer the whole royalty and no job
 * owner anything; `job/<id>` of a job not completed cannot be registered by anybody).
 */
import { expect } from "chai";
import { network } from "hardhat";
import {
  encodeAbiParameters,
  keccak256,
  maxUint256,
  parseEventLogs,
  toHex,
  zeroAddress,
  type Address,
  type Hex,
} from "viem";
import { deployInfernet } from "../../scripts/lib/deploy-infernet.js";
import { attempt } from "../staking/helpers/revert.js";
import type { Connection, Actor } from "../poai/helpers/world.js";
import { BPS } from "../poai/helpers/world.js";
import { E, deployJobsWorld, runOf, type JobsWorld } from "./helpers/jobs-world.js";

const PRICE = E(10);
const input = toHex(7n, { size: 32 });
const output = toHex(3n, { size: 32 });

describe("job model royalties through the Coordinator", function () {
  this.timeout(300_000);
  let conn: Connection;
  before(async () => {
    conn = await network.create();
  });

  async function fixture() {
    const w = await deployJobsWorld(conn);
    const { viem } = w;
    const inf = await deployInfernet(viem, {
      staking: w.staking.address,
      accessManager: w.manager.address,
      rewardDistributor: w.distributor.address,
      modelRegistry: w.models.address,
    });
    // A job at the owner's royalty bound, completed by one trainer's Valid run, its model registered.
    const bound = w.jobParams.maxOwnerRoyaltyBps;
    const { jobId, claimRound } = await w.post({ trainers: 1, ownerRoyaltyBps: bound });
    await w.to(w.start(claimRound));
    await w.claimAll(jobId, w.trainers);
    const [holder] = (await w.jobs.read.getJob([jobId])).assigned;
    const winner = w.trainers.find((t) => t.address === holder)!;
    const runRound = claimRound + 1n;
    await w.to(w.start(runRound));
    await w.beaconCommit(runRound + 1n, w.validators);
    const run = runOf("job royalties");
    await winner.cm.write.submitResult([runRound, run.tree.root, 9000]);
    await w.beaconReveal(runRound + 1n, w.validators);
    await w.judge(runRound, [[w.id(winner, runRound), w.valid(9000)]]);
    const reg = await w.jobsOf(w.bystander);
    await reg.write.settle([jobId]);
    await reg.write.registerModel([jobId, run.finalHash, run.finalRoot, run.finalProof]);

    // A dApp's payment wallet (funded in the staking token) and a test consumer allowed to spend it.
    const user = w.outsiders[1];
    const factory = await viem.getContractAt("WalletFactory", inf.walletFactory.address, {
      client: { wallet: user.wallet },
    });
    const walletOf = async (who: Actor) => {
      const f = await viem.getContractAt("WalletFactory", inf.walletFactory.address, {
        client: { wallet: who.wallet },
      });
      const r = await w.publicClient.waitForTransactionReceipt({
        hash: await f.write.createWallet([who.address]),
      });
      return parseEventLogs({ abi: factory.abi, logs: r.logs, eventName: "WalletCreated" })[0]!.args.wallet;
    };
    const consumer = await viem.deployContract("TestCallbackConsumer", [inf.registry.address, user.address]);
    const payFrom = await walletOf(user);
    await w.token.write.transfer([payFrom, E(1000)]);
    const userWallet = await viem.getContractAt("Wallet", payFrom, { client: { wallet: user.wallet } });
    await userWallet.write.approve([consumer.address, w.token.address, maxUint256]);
    const nodeWallet = await walletOf(winner);
    const coordinatorAs = (who: Actor) =>
      viem.getContractAt("EIP712Coordinator", inf.coordinator.address, { client: { wallet: who.wallet } });

    /** A paid request for `model`, delivered by `node`; then its usage fees are flushed. */
    const useModel = async (model: string, node: Actor) => {
      const hash = await consumer.write.requestCompute([
        model,
        input,
        1,
        w.token.address,
        PRICE,
        payFrom,
        zeroAddress,
      ]);
      const r = await w.publicClient.waitForTransactionReceipt({ hash });
      const [created] = parseEventLogs({
        abi: inf.coordinator.abi,
        logs: r.logs,
        eventName: "SubscriptionCreated",
      });
      const nodeWalletOf = node === winner ? nodeWallet : await walletOf(node);
      await (
        await coordinatorAs(node)
      ).write.deliverCompute([created!.args.id, 1, "0x", output, "0x", nodeWalletOf]);
      const flushed = await (
        await coordinatorAs(w.bystander)
      ).write.flushUsageFees([node.address, keccak256(encodeAbiParameters([{ type: "string" }], [model]))]);
      return w.publicClient.waitForTransactionReceipt({ hash: flushed });
    };
    return { ...w, inf, jobId, winner, bound, useModel, run, runRound };
  }
  const load = () => conn.networkHelpers.loadFixture(fixture);

  /** Staking's `RewardNotified` credits in a receipt, by operator. */
  const credits = (w: JobsWorld, logs: { topics: Hex[]; data: Hex; address: Address }[]) => {
    const out = new Map<string, bigint>();
    for (const e of parseEventLogs({
      abi: w.staking.abi,
      logs: logs as never,
      eventName: "RewardNotified",
    })) {
      const k = e.args.operator.toLowerCase();
      out.set(k, (out.get(k) ?? 0n) + e.args.amount);
    }
    return out;
  };

  it("pays the owner and the trainer exactly by the split chosen at posting, the owner's share at its bound", async () => {
    const w = await load();
    expect(w.bound).to.equal(8000);
    const before = await w.token.read.balanceOf([w.owner.address]);
    const receipt = await w.useModel(`job/${w.jobId}`, w.winner);
    const [fee] = parseEventLogs({ abi: w.distributor.abi, logs: receipt.logs, eventName: "UsageFee" });
    const [split] = parseEventLogs({
      abi: w.distributor.abi,
      logs: receipt.logs,
      eventName: "RoyaltySplitPaid",
    });
    // The whole payment reached the distributor as the model's usage (the Coordinator's fee is 0).
    expect(fee!.args.amount).to.equal(PRICE);
    const royalty = (PRICE * 2000n) / BPS;
    const nodeFee = (PRICE * 7000n) / BPS;
    const toOwner = (royalty * 8000n) / BPS;
    expect(fee!.args.royalty).to.equal(royalty);
    expect(fee!.args.modelTrainer).to.equal(await w.jobs.read.royaltyAccount([w.jobId]));
    expect([split!.args.toOwner, split!.args.toTrainer]).to.deep.equal([toOwner, royalty - toOwner]);
    expect((await w.token.read.balanceOf([w.owner.address])) - before).to.equal(toOwner);
    // The winner is the node here too: its pool takes the node's fee and the trainers' part.
    expect(credits(w, receipt.logs).get(w.winner.address.toLowerCase())).to.equal(
      nodeFee + royalty - toOwner,
    );
    // One past the bound is refused at posting, before any escrow.
    const refused = await attempt(w.post({ ownerRoyaltyBps: w.bound + 1 }), w.jobs.abi);
    expect(refused.ok ? "ok" : [refused.error, refused.args]).to.deep.equal([
      "InvalidTerms",
      ["ownerRoyaltyBps", BigInt(w.bound + 1)],
    ]);
  });

  it("pays no job owner for a model not bound to a completed job, and nobody registers a job's name before it completes", async () => {
    const w = await load();
    // A plain model of another trainer: its royalty goes whole to that trainer's pool.
    const other = w.trainers.find((t) => t !== w.winner)!;
    const models = await w.as("ModelRegistry", w.models.address, other);
    await models.write.registerModel(["plain-model", [8, 8, 4], keccak256(toHex("plain weights"))]);
    const before = await w.token.read.balanceOf([w.owner.address]);
    const receipt = await w.useModel("plain-model", other);
    expect(
      parseEventLogs({ abi: w.distributor.abi, logs: receipt.logs, eventName: "RoyaltySplitPaid" }),
    ).to.deep.equal([]);
    expect(await w.token.read.balanceOf([w.owner.address])).to.equal(before);
    expect(credits(w, receipt.logs).get(other.address.toLowerCase())).to.equal((PRICE * 9000n) / BPS);
    // A second job, open: its name is reserved, and its registry refuses to register it yet.
    const { jobId } = await w.post({ trainers: 1 });
    const squat = await attempt(
      models.write.registerModel([`job/${jobId}`, [8, 8, 4], keccak256(toHex("x"))]),
      models.abi,
    );
    expect(squat.ok ? "ok" : [squat.error, squat.args]).to.deep.equal([
      "ReservedContainerId",
      [`job/${jobId}`],
    ]);
    const early = await attempt(
      (await w.jobsOf(w.bystander)).write.registerModel([
        jobId,
        keccak256(toHex("x")),
        keccak256(toHex("x root")),
        [],
      ]),
      w.jobs.abi,
    );
    expect(early.ok ? "ok" : early.error).to.equal("JobNotCompleted");
  });

  // Catches a ModelRegistry that lets any Valid challenge back a model: the winner of a job would
  // register its job run under a name of its own and keep the royalties whole, bypassing the split.
  it("refuses the winner's own registration of its job run under another name (JobRunModel)", async () => {
    const w = await load();
    const models = await w.as("ModelRegistry", w.models.address, w.winner);
    const challengeId = w.id(w.winner, w.runRound);
    const copy = await attempt(
      models.write.registerTrainedModel([
        "my-copy",
        w.run.finalHash,
        w.run.finalRoot,
        challengeId,
        w.run.finalProof,
      ]),
      models.abi,
    );
    expect(copy.ok ? "ok" : [copy.error, copy.args]).to.deep.equal([
      "JobRunModel",
      [challengeId, w.runRound],
    ]);
  });
});
