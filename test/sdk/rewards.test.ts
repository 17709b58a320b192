/**
 * The SDK's reward actions on the in-process chain: one full epoch through the SDK (fund, a round
 * judged by the ChallengeManager, the pools credited by themselves, claim and compound, report),
 * usage fees, emission changes, decoded errors, input validation, a deployment without a
 * RewardDistributor, and events.
 */
import { expect } from "chai";
import { network } from "hardhat";
import {
  encodeAbiParameters,
  getAddress,
  keccak256,
  parseEther,
  type Address,
  type Hash,
  type Hex,
} from "viem";
import { deployNetwork } from "../../scripts/lib/deploy.js";
import {
  MAX_EMISSION_PER_EPOCH,
  PoAIContractError,
  PoAIInputError,
  challengeId,
  createPoAIClient,
  fundRewards,
  parseDeployment,
  roundStart,
  specId,
  type PoAIClient,
  type PoAIDeployment,
  type RewardEvent,
} from "../../sdk/src/index.js";

const DAY = 24 * 3600;
const SPEC = {
  version: 1,
  widths: [8, 8, 4],
  batchSize: 4,
  steps: 20,
  checkpointInterval: 10,
  lrShift: 4,
  evalSize: 64,
};
const SPEC_PARAMS = { responseDeadline: 6 * 3600, minScoreBps: 5000, maxScoreBps: 10_000, auditSamples: 2 };
const root = (n: number): Hex => keccak256(encodeAbiParameters([{ type: "uint256" }], [BigInt(n)]));

async function rejection(p: Promise<unknown> | (() => unknown)): Promise<Error> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}
async function contractError(p: Promise<unknown>, errorName: string): Promise<PoAIContractError> {
  const err = await rejection(p);
  expect(err, err.message).to.be.instanceOf(PoAIContractError);
  expect((err as PoAIContractError).errorName, err.message).to.equal(errorName);
  return err as PoAIContractError;
}
async function inputError(p: Promise<unknown> | (() => unknown), field: string): Promise<PoAIInputError> {
  const err = await rejection(p);
  expect(err, err.message).to.be.instanceOf(PoAIInputError);
  expect((err as PoAIInputError).field, err.message).to.equal(field);
  return err as PoAIInputError;
}

describe("@poai/sdk reward actions", function () {
  this.timeout(120_000);
  let connection: Awaited<ReturnType<typeof network.create>>;
  before(async () => {
    connection = await network.create();
  });

  /**
   * The whole network with one-day epochs; every validator sits on every committee. Wallet 0 is
   * the governor and coordinator; 1 a trainer (5,000); 2 and 3 validators (2,000 each); 4 a
   * delegator of the trainer (3,000, in epoch 0); 19 the treasury. The small spec is active from
   * round 1; the clock stands in epoch 0.
   */
  async function fixture() {
    const { viem } = connection;
    const wallets = await viem.getWalletClients();
    const treasury = getAddress(wallets[19]!.account.address);
    const d = await deployNetwork(viem, {
      epochLength: DAY,
      challenge: { committeeSize: 16, minReveals: 1 },
      rewards: { treasury },
    });
    const publicClient = await viem.getPublicClient();
    const contracts = {
      accessManager: d.manager.address,
      token: d.token.address,
      staking: d.staking.address,
      stakingLens: d.lens.address,
      challengeManager: d.challenges.address,
      taskRegistry: d.registry.address,
      randomnessBeacon: d.beacon.address,
    };
    const deployment: PoAIDeployment = parseDeployment({
      chainId: await publicClient.getChainId(),
      deployBlock: 0n,
      contracts: { ...contracts, rewardDistributor: d.distributor.address },
    });
    const client = (i: number): PoAIClient =>
      createPoAIClient({ publicClient, walletClient: wallets[i]!, deployment });
    const address = (i: number): Address => getAddress(wallets[i]!.account.address);
    for (const i of [1, 2, 3, 4]) await d.token.write.transfer([address(i), parseEther("100000")]);
    const mined = (c: PoAIClient, send: Promise<Hash>) => send.then((h) => c.waitForTransaction(h));
    for (const [i, role, stake] of [
      [1, "trainer", "5000"],
      [2, "validator", "2000"],
      [3, "validator", "2000"],
    ] as const) {
      const c = client(i);
      await mined(c, c.token.approve({ amount: parseEther(stake) }));
      await mined(
        c,
        c.staking.register({
          role,
          stake: parseEther(stake),
          commissionBps: 1000,
          maxCommissionBps: 2000,
          endpoint: `https://node${i}.example`,
          gpuClass: "CPU",
        }),
      );
    }
    const D = client(4);
    await mined(D, D.token.approve({ amount: parseEther("3000") }));
    await mined(D, D.staking.delegate({ operator: address(1), amount: parseEther("3000") }));
    const gov = client(0);
    await mined(gov, gov.registry.registerSpec({ spec: SPEC, params: SPEC_PARAMS }));
    await mined(gov, gov.registry.activateSpec({ specId: specId(SPEC) }));
    const genesis = await d.staking.read.genesis();
    return { d, publicClient, wallets, deployment, contracts, client, address, mined, treasury, genesis };
  }
  const load = () => connection.networkHelpers.loadFixture(fixture);
  type F = Awaited<ReturnType<typeof fixture>>;
  const to = (t: bigint) => connection.networkHelpers.time.increaseTo(t);

  /** Round 1 through the SDK: the trainer's result, both validators' verdicts, the judgment. */
  async function playRoundOne(f: F) {
    const r = 1n;
    const t = f.client(1);
    const windows = await t.challenges.getRoundWindows({ round: r, specId: specId(SPEC) });
    await to(roundStart(f.genesis, DAY, r) + 600n);
    const seal = await t.challenges.ensureBeacon({ round: r });
    if (seal) await t.waitForTransaction(seal);
    await f.mined(t, t.challenges.submitResult({ round: r, resultRoot: root(1), reportedScoreBps: 8000 }));
    const id = challengeId(f.address(1), r);
    await to(windows.commitStart + 1n);
    const seal2 = await t.challenges.ensureBeacon({ round: r + 1n });
    if (seal2) await t.waitForTransaction(seal2);
    const prepared = [];
    for (const i of [2, 3]) {
      const v = f.client(i);
      expect((await v.challenges.checkCommittee({ id, validator: f.address(i) })).selected).to.equal(true);
      const p = v.challenges.prepareVerdict({ id, verdict: "Valid", measuredScoreBps: 8000 });
      await f.mined(
        v,
        v.challenges.commitVerdict(p).then((x) => x.hash),
      );
      prepared.push([v, p] as const);
    }
    await to(windows.revealStart + 1n);
    for (const [v, p] of prepared) await f.mined(v, v.challenges.revealVerdict(p));
    await to(windows.revealEnd + 1n);
    // the last reveal judges the challenge; finalize is for a committee with a silent member
    if (!(await t.challenges.getChallenge({ id })).final) await f.mined(t, t.challenges.finalize({ id }));
    return { r, windows };
  }

  it("plays one epoch through the SDK: fund, a round, the pools credited by themselves, claim and compound, report", async () => {
    const f = await load();
    const gov = f.client(0);
    const distributor = f.deployment.contracts.rewardDistributor!;

    // The treasury funds 20,000: approve the distributor, then fund.
    await f.mined(gov, gov.token.approve({ amount: parseEther("20000"), spender: distributor }));
    const funded = await f.mined(gov, gov.rewards.fundRewards({ amount: parseEther("20000") }));
    expect(gov.rewards.parseEvents({ logs: funded.logs, eventName: "Funded" })[0]!.args).to.deep.equal({
      from: f.address(0),
      amount: parseEther("20000"),
    });
    let totals = await gov.rewards.getRewardTotals();
    expect(totals).to.deep.include({
      reserve: parseEther("20000"),
      balance: parseEther("20000"),
      balanced: true,
    });

    const { r, windows } = await playRoundOne(f);
    const t = f.client(1);
    const points = await t.challenges.getEpochTotals({ epoch: r });
    expect(points.trainer > 0n && points.validator > 0n).to.equal(true);

    // Epoch 1 is final after its close time.
    let report = await t.rewards.getEpochReport({ epoch: r });
    expect(report).to.deep.include({ closed: false, final: false, closesAt: windows.closesAt });
    await to(windows.closesAt + 1n);

    // Nobody closes or settles anything: the delegator sees its reward already (an eth_call that
    // closes and credits in simulation), and claims it; its claim closes the epochs and credits the pool.
    const D = f.client(4);
    const dPosition = await D.staking.getPosition({ owner: f.address(4), operator: f.address(1) });
    expect(dPosition.claimable > 0n).to.equal(true);
    expect((await t.rewards.getEpochReport({ epoch: r })).closed, "reading sent nothing").to.equal(false);
    const before = await D.token.getBalance({ owner: f.address(4) });
    const claimed = await f.mined(D, D.staking.claim({ operator: f.address(1) }));
    expect(await D.token.getBalance({ owner: f.address(4) })).to.equal(before + dPosition.claimable);
    const closed = t.rewards.parseEvents({ logs: claimed.logs, eventName: "EpochClosed" });
    expect(closed.map((e) => e.args.epoch)).to.deep.equal([0n, 1n]);
    const e1 = closed[1]!.args;
    const [credit] = t.staking.parseEvents({ logs: claimed.logs, eventName: "RewardCredited" });
    expect(credit!.args).to.deep.include({ operator: f.address(1), epoch: r, amount: e1.trainerBudget });
    // 90% of the trainer's share is split 3,000 : 5,000 between the delegator and the trainer's stake
    const share = e1.trainerBudget!;
    const toShare = share - (share * 1000n) / 10_000n;
    expect((toShare * 3n) / 8n - dPosition.claimable <= 1n).to.equal(true);

    report = await t.rewards.getEpochReport({ epoch: r });
    expect(report).to.deep.include({
      epoch: r,
      closed: true,
      final: true,
      emission: parseEther("1000"),
      trainerBudget: e1.trainerBudget,
      validatorBudget: e1.validatorBudget,
      unsettled: e1.validatorBudget, // the validators' pools were not touched yet
      trainerStake: parseEther("8000"),
      validatorStake: parseEther("4000"),
      trainerPoints: points.trainer,
      validatorPoints: points.validator,
      closedIn: 2n,
    });

    // A validator sees its pool's share of the closed epoch waiting for its pool's next touch.
    const v = f.client(2);
    const pendingV = await v.rewards.getPendingSettlement({ operator: f.address(2), epoch: r });
    expect(pendingV > 0n).to.equal(true);
    const mine = await v.rewards.getPendingRewards({ owner: f.address(2), operators: [f.address(2)] });
    expect(mine.settlements).to.deep.equal([{ operator: f.address(2), epoch: r, amount: pendingV }]);
    expect(mine.unsettled).to.equal(pendingV);
    expect(mine.claimable, "its claimable counts the epoch already").to.equal(pendingV);
    // Anyone may credit pools on purpose; pools already credited that far are skipped.
    const hashes = await D.rewards.settleMany({
      operators: [f.address(1), f.address(2), f.address(3)],
      epoch: r,
    });
    expect(hashes).to.have.length(2);
    expect((await t.rewards.getEpochReport({ epoch: r })).unsettled).to.equal(0n);
    expect(await D.rewards.settleMany({ operators: [f.address(1), f.address(2)], epoch: r })).to.deep.equal(
      [],
    );

    // The trainer compounds its commission and its own stake's part.
    const own = await t.rewards.getPendingRewards({ owner: f.address(1), operators: [f.address(1)] });
    expect(own.settlements).to.deep.equal([]);
    expect(own.claimable > (share * 1000n) / 10_000n).to.equal(true);
    const compounded = await f.mined(t, t.staking.compound({ operator: f.address(1) }));
    expect(
      t.staking.parseEvents({ logs: compounded.logs, eventName: "Compounded" })[0]!.args.amount,
    ).to.equal(own.claimable);

    // The totals: everything funded is accounted for.
    totals = await t.rewards.getRewardTotals();
    expect(totals.balanced).to.equal(true);
    expect(totals.totalForwarded).to.equal(e1.trainerBudget! + e1.validatorBudget!);
    expect(totals.totalToProtocol).to.equal(closed.reduce((s, e) => s + e.args.protocolCut!, 0n));
    expect(totals.nextEpochToClose).to.equal(2n);
  });

  it("puts usage fees into the pools for the current epoch and shows them as pending to the operator", async () => {
    const f = await load();
    await f.d.token.write.approve([f.d.distributor.address, parseEther("100")]);
    await f.d.distributor.write.notifyUsage([f.address(2), f.address(1), parseEther("100")]); // the coordinator
    const v = f.client(2);
    const pending = await v.rewards.getPendingRewards({ owner: f.address(2), operators: [f.address(2)] });
    expect(pending.pendingFees).to.equal(parseEther("70"));
    const [ev] = await v.rewards.getEvents({ eventName: "UsageFee" });
    expect(ev!.args).to.deep.include({
      node: f.address(2),
      amount: parseEther("100"),
      nodeFee: parseEther("70"),
    });
  });

  it("schedules an emission change with notice and reports the schedule", async () => {
    const f = await load();
    const gov = f.client(0);
    const hash = await gov.rewards.setEmission({ amount: parseEther("1500") });
    const [ev] = gov.rewards.parseEvents({
      logs: (await gov.waitForTransaction(hash)).logs,
      eventName: "EmissionChangeScheduled",
    });
    expect(ev!.args).to.deep.equal({ amount: parseEther("1500"), fromEpoch: 2n });
    const p = await gov.rewards.getRewardParams();
    expect(p).to.deep.include({
      emissionPerEpoch: parseEther("1000"),
      firstEpoch: 0n,
      gammaBps: 1000,
      protocolCutBps: 500,
      nodeFeeBps: 7000,
      royaltyBps: 2000,
      noticeEpochs: 2,
      treasury: f.treasury,
    });
    expect(p.pendingEmission).to.deep.equal({ amount: parseEther("1500"), fromEpoch: 2n });
    expect((await gov.rewards.getEpochReport({ epoch: 2n })).emission).to.equal(parseEther("1500"));
  });

  it("decodes the distributor's errors into sentences", async () => {
    const f = await load();
    const gov = f.client(0);
    const X = f.client(4);

    let err = await contractError(X.rewards.closeEpochs(), "EpochNotFinal");
    const closesAt = (await X.challenges.getEpochTotals({ epoch: 0n })).closesAt;
    expect(err.message).to.contain(
      `epoch 0 cannot be closed yet: its points are final after ${new Date(Number(closesAt) * 1000).toISOString()}`,
    );
    err = await contractError(X.rewards.settle({ operator: f.address(4), epoch: 0 }), "NotRegistered");
    expect(err.message).to.contain(f.address(4));
    err = await contractError(X.rewards.setEmission({ amount: 1n }), "AccessManagedUnauthorized");
    expect(err.message).to.contain(f.address(4));
    err = await contractError(
      X.rewards.fundRewards({ amount: parseEther("1") }),
      "ERC20InsufficientAllowance",
    );
    expect(err.message).to.contain("approve first");

    await to(roundStart(f.genesis, DAY, 2n));
    await f.mined(X, X.rewards.closeEpochs({ maxEpochs: 1 })); // epoch 0, closed in epoch 2
    await f.mined(gov, gov.rewards.setEmission({ amount: parseEther("5") })); // in force from epoch 4
    await to(roundStart(f.genesis, DAY, 4n) + 60n);
    err = await contractError(gov.rewards.setEmission({ amount: parseEther("6") }), "EmissionChangeInForce");
    expect(err.message).to.contain("in force from epoch 4");
    expect(err.message).to.contain("the next epoch to close is 1");
  });

  it("refuses bad arguments before sending, naming the field", async () => {
    const f = await load();
    const c = f.client(0);
    await inputError(c.rewards.fundRewards({ amount: 0n }), "amount");
    await inputError(c.rewards.setEmission({ amount: -1n }), "amount");
    await inputError(c.rewards.setEmission({ amount: MAX_EMISSION_PER_EPOCH + 1n }), "amount");
    await inputError(c.rewards.setEmission({ amount: 5 as unknown as bigint }), "amount");
    await inputError(c.rewards.closeEpochs({ maxEpochs: 0 }), "maxEpochs");
    await inputError(c.rewards.settle({ operator: "0x1234" as Address, epoch: 1 }), "operator");
    await inputError(c.rewards.settle({ operator: f.address(1), epoch: -1 }), "epoch");
    await inputError(c.rewards.settleMany({ operators: [], epoch: 1 }), "operators");
    await inputError(
      c.rewards.settleMany({ operators: [f.address(1), f.address(1)], epoch: 1 }),
      "operators[1]",
    );
    await inputError(c.rewards.getPendingSettlement({ operator: f.address(1), epoch: 1.5 }), "epoch");
    await inputError(
      c.rewards.getPendingRewards({ owner: f.address(1), operators: [f.address(1)], epochs: [-1] }),
      "epochs[0]",
    );
    await inputError(c.rewards.getEpochReport({ epoch: 2n ** 32n }), "epoch");
    const reader = createPoAIClient({ publicClient: f.publicClient, deployment: f.deployment });
    await inputError(reader.rewards.settleMany({ operators: [f.address(1)], epoch: 1 }), "walletClient");
    await inputError(reader.rewards.closeEpochs(), "walletClient");
  });

  it("names the missing RewardDistributor address of a deployment without one", async () => {
    const f = await load();
    const deployment = parseDeployment({ chainId: f.deployment.chainId, contracts: f.contracts });
    const c = createPoAIClient({ publicClient: f.publicClient, walletClient: f.wallets[0]!, deployment });
    const field = "deployment.contracts.rewardDistributor";
    const err = await inputError(c.rewards.getRewardTotals(), field);
    expect(err.message).to.contain("RewardDistributor");
    await inputError(c.rewards.fundRewards({ amount: 1n }), field);
    await inputError(c.rewards.settle({ operator: f.address(1), epoch: 1 }), field);
    await inputError(c.rewards.settleMany({ operators: [f.address(1)], epoch: 1 }), field);
    await inputError(c.rewards.getEpochReport({ epoch: 1 }), field);
    await inputError(c.rewards.getPendingRewards({ owner: f.address(1), operators: [f.address(1)] }), field);
    await inputError(c.rewards.getRewardParams(), field);
    await inputError(() => c.rewards.watchEvents({ onEvents: () => {} }), field);
    // the plain function works on a bare context too
    await inputError(fundRewards({ publicClient: f.publicClient, deployment }, { amount: 1n }), field);
  });

  it("watches reward events as they happen and replays past ones from a block", async () => {
    const f = await load();
    const gov = f.client(0);
    await f.mined(
      gov,
      gov.token.approve({ amount: parseEther("30"), spender: f.deployment.contracts.rewardDistributor! }),
    );
    await f.mined(gov, gov.rewards.fundRewards({ amount: parseEther("10") }));
    const live: RewardEvent<"Funded">[] = [];
    const all: RewardEvent[] = [];
    const errors: Error[] = [];
    const stopLive = gov.rewards.watchEvents({
      eventName: "Funded",
      pollingInterval: 20,
      onEvents: (events) => live.push(...events),
      onError: (e) => errors.push(e),
    });
    const stopAll = gov.rewards.watchEvents({
      fromBlock: 0n,
      pollingInterval: 20,
      onEvents: (events) => all.push(...events),
    });
    try {
      await new Promise((r) => setTimeout(r, 100));
      await f.mined(gov, gov.rewards.fundRewards({ amount: parseEther("20") }));
      const funded = () => all.filter((e) => e.eventName === "Funded").length;
      for (let i = 0; i < 250 && (live.length < 1 || funded() < 2); i++)
        await new Promise((r) => setTimeout(r, 20));
    } finally {
      stopLive();
      stopAll();
    }
    expect(errors).to.deep.equal([]);
    expect(live.map((e) => e.args.amount)).to.deep.equal([parseEther("20")]);
    expect(all.filter((e) => e.eventName === "Funded").map((e) => e.args.amount)).to.deep.equal([
      parseEther("10"),
      parseEther("20"),
    ]);
    expect(all.some((e) => e.eventName === "ParamsUpdated")).to.equal(true);
    const past = await gov.rewards.getEvents({ eventName: "Funded", args: { from: f.address(0) } });
    expect(past.map((e) => e.args.amount)).to.deep.equal([parseEther("10"), parseEther("20")]);
  });
});
