/**
 * `npm run devnet`: the PoAI network end to end on an embedded in-process chain.
 *
 * Deploys the suite, registers trainers and validators, lets delegators join, plays one
 * Proof-of-AI round (real training with the integer engine, a beacon, committees, commit-reveal
 * verdicts, the judgment engine: one honest trainer, one that fakes its run, one that never
 * shows up), closes the epoch in the reward distributor, settles every operator's share by points,
 * takes a usage fee, and prints what every party holds and that it adds up to what was funded.
 */
import { network } from "hardhat";
import { REFERENCE_SPEC, specId } from "@poai/sdk/compute";
import { formatEther, maxUint256, parseEther, type Address } from "viem";
import { deployNetwork } from "./lib/deploy.js";
import { playRound, type TrainerActor } from "./lib/scripted-round.js";

const EPOCH = 3600; // seconds per epoch (= challenge round) on the devnet
const fmt = (wei: bigint) =>
  `${Number(formatEther(wei)).toLocaleString("en-US", { maximumFractionDigits: 4 })} POAI`;
const short = (a: Address) => `${a.slice(0, 6)}…${a.slice(-4)}`;
const log = (line: string) => console.log(line);

const { viem, networkHelpers } = await network.create();
const publicClient = await viem.getPublicClient();
const wallets = await viem.getWalletClients();
const [, trainerA, trainerB, trainerC, v1, v2, v3, dave, erin] = wallets;

log(`PoAI devnet — in-process chain ${publicClient.chain.id}, epoch ${EPOCH}s\n`);
const d = await deployNetwork(viem, { epochLength: EPOCH, emission: parseEther("1000") });
log("Deployed");
const deployed = {
  PoAIAccessManager: d.manager,
  PoAIToken: d.token,
  Staking: d.staking,
  StakingLens: d.lens,
  TaskRegistry: d.registry,
  RandomnessBeacon: d.beacon,
  ChallengeManager: d.challenges,
  RewardDistributor: d.distributor,
};
for (const [name, c] of Object.entries(deployed)) log(`  ${name.padEnd(18)} ${c.address}`);

const as = async (w: (typeof wallets)[number]) => ({
  token: await viem.getContractAt("PoAIToken", d.token.address, { client: { wallet: w } }),
  staking: await viem.getContractAt("Staking", d.staking.address, { client: { wallet: w } }),
});
for (const w of [trainerA, trainerB, trainerC, v1, v2, v3, dave, erin]) {
  await d.token.write.transfer([w.account.address, parseEther("100000")]);
  await (await as(w)).token.write.approve([d.staking.address, maxUint256]);
}

log("\nOperators register");
const operators: [typeof trainerA, number, bigint, number, string, string][] = [
  [trainerA, 1, parseEther("5000"), 1000, "http://127.0.0.1:7101", "H100"],
  [trainerB, 1, parseEther("3000"), 500, "http://127.0.0.1:7102", "A100"],
  [trainerC, 1, parseEther("2000"), 500, "http://127.0.0.1:7103", "L40S"],
  [v1, 2, parseEther("2000"), 800, "http://127.0.0.1:7201", "CPU"],
  [v2, 2, parseEther("2000"), 800, "http://127.0.0.1:7202", "CPU"],
  [v3, 2, parseEther("2000"), 800, "http://127.0.0.1:7203", "CPU"],
];
for (const [w, role, stake, commission, endpoint, gpu] of operators) {
  await (await as(w)).staking.write.register([role, stake, commission, 2000, endpoint, gpu]);
  log(
    `  ${short(w.account.address)} ${role === 1 ? "trainer  " : "validator"} self-stake ${fmt(stake)}, commission ${commission / 100}%`,
  );
}

log("\nDelegators join");
const delegations: [typeof dave, typeof trainerA, bigint][] = [
  [dave, trainerA, parseEther("8000")],
  [erin, trainerB, parseEther("6000")],
];
for (const [w, op, amount] of delegations) {
  await (await as(w)).staking.write.delegate([op.account.address, amount]);
  log(`  ${short(w.account.address)} -> ${short(op.account.address)} ${fmt(amount)}`);
}

log("\nThe treasury funds emissions: 1,000 POAI per epoch");
await d.token.write.approve([d.distributor.address, maxUint256]);
await d.distributor.write.fund([parseEther("20000")]);
log(`  reserve ${fmt(await d.distributor.read.reserve())}`);

log("\nGovernance registers the reference training spec");
const spec = REFERENCE_SPEC;
await d.registry.write.registerSpec([
  spec,
  { responseDeadline: 1200, minScoreBps: 8000, maxScoreBps: 10_000, auditSamples: 4 },
]);
const id = specId(spec);
await d.registry.write.activate([id]);
log(
  `  spec ${id.slice(0, 10)}…: MLP [${spec.widths.join(", ")}], ${spec.steps} steps, checkpoint every ${spec.checkpointInterval}, 4 sampled segments per validator`,
);

const round = (await d.staking.read.currentEpoch()) + 1n;
log(`\nRound ${round}: challenges`);
const trainers: TrainerActor[] = [
  { wallet: trainerA, behaviour: "honest" },
  { wallet: trainerB, behaviour: "lazy" },
  { wallet: trainerC, behaviour: "absent" },
];
const reports = await playRound({
  viem,
  networkHelpers,
  d,
  round,
  specs: new Map([[id, spec]]),
  trainers,
  validators: [v1, v2, v3].map((wallet) => ({ wallet })),
  log,
});

log(`\nRound ${round}: judgments`);
log(
  "  trainer         behaviour  status   reported  committee verdicts                      score     points",
);
for (const r of reports) {
  const verdicts =
    r.verdicts
      .map((v) =>
        v.verdict === "Valid"
          ? `Valid ${(v.measuredScoreBps / 100).toFixed(2)}%`
          : v.verdict === "Invalid"
            ? `Invalid@${v.segment}`
            : v.verdict,
      )
      .join(", ") || "-";
  log(
    `  ${short(r.trainer)}   ${r.behaviour.padEnd(9)}  ${r.status.padEnd(7)}  ${r.reportedScoreBps ? `${(r.reportedScoreBps / 100).toFixed(2)}%` : "-".padEnd(6)}    ${verdicts.padEnd(44)}  ${(Number(r.score) / 1e18).toFixed(4)}    ${fmt(r.points)}`,
  );
}
for (const v of [v1, v2, v3]) {
  const pts = await d.challenges.read.epochPoints([round, v.account.address]);
  log(`  validator ${short(v.account.address)} accuracy points ${pts} (of 2^32 per agreeing verdict)`);
}

log("\nRewards: the epoch closes in the reward distributor, then every operator settles its share");
const closesAt = await d.challenges.read.epochClosesAt([round]);
await networkHelpers.time.increaseTo(closesAt + 1n);
const closeHash = await d.distributor.write.closeEpochs([10n]);
const closeReceipt = await publicClient.waitForTransactionReceipt({ hash: closeHash });
for (const ev of await d.distributor.getEvents.EpochClosed({}, { blockHash: closeReceipt.blockHash })) {
  const a = ev.args;
  log(
    `  epoch ${a.epoch}: budget ${fmt(a.budget!)} = protocol ${fmt(a.protocolCut!)} + trainers ${fmt(a.trainerBudget!)} + validators ${fmt(a.validatorBudget!)} + carried ${fmt(a.carried!)}`,
  );
}
for (const op of [trainerA, trainerB, trainerC, v1, v2, v3].map((w) => w.account.address)) {
  const amount = await d.distributor.read.pendingSettlement([op, round]);
  if (amount === 0n) {
    log(`  ${short(op)} has no points in epoch ${round}: nothing to settle`);
    continue;
  }
  await d.distributor.write.settle([op, round]);
  log(`  ${short(op)} settles ${fmt(amount)} into its pool`);
}

log("\nA dApp pays 100 POAI for an inference served by trainer A with its own model");
await d.distributor.write.notifyUsage([
  trainerA.account.address,
  trainerA.account.address,
  parseEther("100"),
]);
const fees = await d.distributor.read.pendingFees([trainerA.account.address]);
await d.distributor.write.settleFees([trainerA.account.address]);
log(`  node fee + royalty ${fmt(fees)} settled into trainer A's pool; the protocol keeps the rest`);

log(
  "\nDave claims his share of trainer A's rewards; Erin undelegates what is left of her stake with the cheating trainer",
);
const davePending = (await d.staking.read.getPosition([dave.account.address, trainerA.account.address]))
  .claimable;
await (await as(dave)).staking.write.claim([trainerA.account.address]);
log(`  Dave (8,000 of trainer A's 13,000) received ${fmt(davePending)} after trainer A's 10% commission`);
const erinPos = await d.staking.read.getPosition([erin.account.address, trainerB.account.address]);
await (await as(erin)).staking.write.undelegate([trainerB.account.address, erinPos.shares]);

log("\nOperators");
const ops = await d.lens.read.getOperators([0n, 10n]);
log("  operator        role       status     stake            self-stake       commission");
for (const o of ops) {
  const status = o.jailed ? "jailed" : o.active ? "active" : "inactive";
  log(
    `  ${short(o.operator)}   ${(o.role === 1 ? "trainer" : "validator").padEnd(9)}  ${status.padEnd(9)}  ${fmt(o.totalStake).padEnd(15)}  ${fmt(o.selfStake).padEnd(15)}  ${o.commissionBps / 100}%`,
  );
}

log("\nPositions");
log("  owner           pool            stake            claimable");
const positions: [typeof dave, typeof trainerA][] = [
  [trainerA, trainerA],
  [trainerB, trainerB],
  [trainerC, trainerC],
  [v1, v1],
  [dave, trainerA],
  [erin, trainerB],
];
for (const [owner, op] of positions) {
  const p = await d.staking.read.getPosition([owner.account.address, op.account.address]);
  log(
    `  ${short(owner.account.address)}   ${short(op.account.address)}   ${fmt(p.tokens).padEnd(15)}  ${fmt(p.claimable)}`,
  );
}
for (const u of await d.lens.read.getUnbonding([erin.account.address, 10n])) {
  log(
    `  ${short(erin.account.address)} unbonding ${fmt(u.tokens)} from ${short(u.operator)}, withdrawable at ${new Date(u.maturity * 1000).toISOString()}`,
  );
}

const burned = await d.token.read.balanceOf(["0x000000000000000000000000000000000000dEaD"]);
log("\nTotals");
log(
  `  trainer stake ${fmt(await d.staking.read.roleStake([1]))}, validator stake ${fmt(await d.staking.read.roleStake([2]))} (jailed operators excluded)`,
);
log(
  `  staking contract holds ${fmt(await d.token.read.balanceOf([d.staking.address]))}; burned by slashes ${fmt(burned)}`,
);

log("\nReward accounting (RewardDistributor)");
const funded = await d.distributor.read.totalFunded();
const feesIn = await d.distributor.read.totalFees();
const forwarded = await d.distributor.read.totalForwarded();
const protocol = await d.distributor.read.totalToProtocol();
const reserve = await d.distributor.read.reserve();
const carried = await d.distributor.read.carry();
const ep = await d.distributor.read.getEpoch([round]);
const unsettled = ep.trainerBudget - ep.trainerSettled + ep.validatorBudget - ep.validatorSettled;
const held = await d.token.read.balanceOf([d.distributor.address]);
log(`  funded ${fmt(funded)} + usage fees ${fmt(feesIn)}`);
log(
  `  = paid into pools ${fmt(forwarded)} + protocol ${fmt(protocol)} + reserve ${fmt(reserve)} + carried ${fmt(carried)} + unsettled ${fmt(unsettled)}`,
);
const balanced = funded + feesIn === forwarded + protocol + reserve + carried + unsettled;
log(
  `  ${balanced ? "balanced" : "NOT BALANCED"}; the distributor holds ${fmt(held)} (reserve + carried + unsettled)`,
);
if (!balanced || held !== reserve + carried + unsettled) throw new Error("reward accounting does not add up");
log("\nDevnet scenario complete.");
