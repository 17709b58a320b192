/**
 * Gas of the reward layer: funding, closing epochs, crediting an operator's pool with an epoch
 * (`RewardDistributor.settle`, which nobody has to call: the first action on the pool does the
 * same), usage fees, and a delegator's claim after 1, 100 and 1,000 reward epochs (constant: O(1)),
 * plus what the first touch of a pool nobody credited for N epochs costs (linear, at most
 * MAX_CREDIT_EPOCHS per transaction).
 */
import { network } from "hardhat";
import { maxUint256, parseEther, type Hash } from "viem";
import { deployStaking, type NetworkDeployment } from "../scripts/lib/deploy.js";
import { auditedRound } from "./poai.js";

const DAY = 86_400;

export async function runRewardsGasBench(
  options: { epochs?: number[]; uncredited?: number[] } = {},
): Promise<Record<string, number>> {
  const results: Record<string, number> = {};

  // A real round judged by the challenge manager (2 trainers, a committee of 3), then the distributor.
  const round = await auditedRound(3, 2, false, true);
  const d = round.d as NetworkDeployment;
  await d.token.write.approve([d.distributor.address, maxUint256]);
  await d.distributor.write.fund([parseEther("1000")]);
  results["RewardDistributor.fund"] = await round.gas(d.distributor.write.fund([parseEther("1000")]));
  const closesAt = await d.challenges.read.epochClosesAt([round.r]);
  await round.networkHelpers.time.increaseTo(closesAt + 1n);
  const first = await d.distributor.read.nextEpochToClose();
  results[`RewardDistributor.closeEpochs.${Number(round.r - first) + 1}epochs`] = await round.gas(
    d.distributor.write.closeEpochs([10n]),
  );
  const [t0, t1] = round.ts.map((w) => w.account.address);
  const [v0] = round.vs.map((w) => w.account.address);
  // Every pool is credited up to the epoch before the round, so each measured call credits one
  // epoch: the pools' first reward ever (their accumulator goes from zero to a value).
  for (const op of [t0!, t1!, v0!]) await d.distributor.write.settle([op, round.r - 1n]);
  results["RewardDistributor.settle.firstReward"] = await round.gas(
    d.distributor.write.settle([t0!, round.r]),
  );
  results["RewardDistributor.settle.validator.firstReward"] = await round.gas(
    d.distributor.write.settle([v0!, round.r]),
  );
  await d.distributor.write.notifyUsage([t0!, t1!, parseEther("10")]);
  results["RewardDistributor.notifyUsage"] = await round.gas(
    d.distributor.write.notifyUsage([t0!, t1!, parseEther("10")]),
  );

  // Steady state: one operator's share of one more epoch into its pool (its role's budget by
  // points, its commission, the accumulator), the pools credited before; points from a points
  // source with the ChallengeManager's `epochPoints` storage shape (one mapping read).
  Object.assign(results, await steadySettle());

  // A delegator's claim after 1, 100 and 1,000 epochs of rewards, its pool credited every epoch (by
  // any action on it; here `settle`): the claim itself is the same O(1) work.
  for (const n of options.epochs ?? [1, 100, 1000]) {
    const w = await stakingWorld();
    for (let e = 0; e < n; e++) {
      await w.networkHelpers.time.increase(DAY);
      await w.s.staking.write.notifyReward([w.op, parseEther("1")]);
      await w.s.staking.write.settle([w.op, maxUint256 - 1n]);
    }
    await w.networkHelpers.time.increase(DAY);
    await w.s.staking.write.settle([w.op, maxUint256 - 1n]);
    results[`Staking.claim@${n}epochs`] = await w.gas(w.del.staking.write.claim([w.op]));
  }

  // The first touch of a pool nobody credited for N epochs (each with a reward): N epochs of work.
  for (const n of options.uncredited ?? [1, 10, 64]) {
    const w = await stakingWorld();
    for (let e = 0; e < n; e++) {
      await w.networkHelpers.time.increase(DAY);
      await w.s.staking.write.notifyReward([w.op, parseEther("1")]);
    }
    await w.networkHelpers.time.increase(DAY);
    await w.s.staking.write.settle([w.op, 0n]); // epoch 0 (the registration) out of the way
    results[`Staking.claim.uncredited@${n}epochs`] = await w.gas(w.del.staking.write.claim([w.op]));
  }
  return results;
}

/** `settle` of one epoch once the pools have been credited before (two trainers sharing a budget). */
async function steadySettle(): Promise<Record<string, number>> {
  const { viem, networkHelpers } = await network.create();
  const publicClient = await viem.getPublicClient();
  const s = await deployStaking(viem, { epochLength: DAY });
  const oracle = await viem.deployContract("PointsOracle");
  const [admin, a, b] = await viem.getWalletClients();
  const d = await viem.deployContract("RewardDistributor", [
    s.staking.address,
    oracle.address,
    s.manager.address,
    parseEther("1000"),
    {
      gammaBps: 1000,
      protocolCutBps: 500,
      nodeFeeBps: 7000,
      royaltyBps: 2000,
      noticeEpochs: 2,
      treasury: admin!.account.address,
    },
  ]);
  await s.staking.write.setRewardDistributor([d.address]);
  await s.token.write.approve([d.address, maxUint256]);
  await d.write.fund([parseEther("100000")]);
  for (const w of [a!, b!]) {
    await s.token.write.transfer([w.account.address, parseEther("10000")]);
    const token = await viem.getContractAt("PoAIToken", s.token.address, { client: { wallet: w } });
    await token.write.approve([s.staking.address, maxUint256]);
    const staking = await viem.getContractAt("Staking", s.staking.address, { client: { wallet: w } });
    await staking.write.register([1, parseEther("5000"), 500, 2000, "", ""]);
  }
  const [A, B] = [a!.account.address, b!.account.address];
  for (let e = 1n; e <= 3n; e++) {
    await networkHelpers.time.increase(DAY);
    await oracle.write.setPoints([e, A, 60n]);
    await oracle.write.setPoints([e, B, 40n]);
    await oracle.write.setTotal([e, 1, 100n]);
  }
  await networkHelpers.time.increase(DAY);
  for (let e = 0n; e <= 3n; e++) await oracle.write.setFinal([e, true]);
  await d.write.closeEpochs([10n]);
  await d.write.settle([A, 1n]);
  await d.write.settle([B, 1n]);
  const gas = async (hash: Promise<Hash>) =>
    Number((await publicClient.waitForTransactionReceipt({ hash: await hash })).gasUsed);
  return {
    "RewardDistributor.settle": await gas(d.write.settle([A, 2n])),
    "RewardDistributor.settle.lastOfRole": await gas(d.write.settle([B, 2n])),
    "Staking.settle": await gas(s.staking.write.settle([A, 3n])),
  };
}

/** Staking alone (no distributor): an operator with a delegator whose shares count from epoch 1. */
async function stakingWorld() {
  const { viem, networkHelpers } = await network.create();
  const publicClient = await viem.getPublicClient();
  const s = await deployStaking(viem, { epochLength: DAY });
  const [, opW, delW] = await viem.getWalletClients();
  const as = async (w: typeof opW) => ({
    token: await viem.getContractAt("PoAIToken", s.token.address, { client: { wallet: w } }),
    staking: await viem.getContractAt("Staking", s.staking.address, { client: { wallet: w } }),
  });
  for (const w of [opW!, delW!]) {
    await s.token.write.transfer([w.account.address, parseEther("10000")]);
    await (await as(w)).token.write.approve([s.staking.address, maxUint256]);
  }
  await s.token.write.approve([s.staking.address, maxUint256]);
  await (await as(opW!)).staking.write.register([1, parseEther("5000"), 500, 2000, "", ""]);
  const del = await as(delW!);
  await del.staking.write.delegate([opW!.account.address, parseEther("1000")]);
  const gas = async (hash: Promise<Hash>) => {
    const receipt = await publicClient.waitForTransactionReceipt({ hash: await hash });
    if (receipt.status !== "success") throw new Error(`transaction ${receipt.transactionHash} reverted`);
    return Number(receipt.gasUsed);
  };
  return { s, networkHelpers, del, op: opW!.account.address, gas };
}
