/**
 * `npm run devnet`: the PoAI network end to end on an embedded in-process chain.
 *
 * Deploys the suite, registers trainers and validators, lets delegators join, then runs the real
 * daemons for a few Proof-of-AI rounds (`POAI_DEVNET_ROUNDS`, default 3): trainer daemons train the
 * reference spec with the integer engine, keep their checkpoints in SQLite and serve them over
 * HTTP; validator daemons feed the randomness beacon, audit the sampled segments they fetch from
 * the trainers, commit and reveal verdicts and finalize. One trainer forges most of its run, one
 * never shows up. The reward distributor then closes the epochs and settles every operator's share
 * by points, a usage fee is paid, and the report shows what every party holds and that it adds up
 * to what was funded. `POAI_LOG_LEVEL=info` shows the daemons' structured logs.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { network } from "hardhat";
import { challengeId, createPoAIClient, parseDeployment, roundWindows } from "@poai/sdk";
import { REFERENCE_SPEC, specId } from "@poai/sdk/compute";
import { TrainerDaemon } from "@poai/sdk/node";
import { ValidatorDaemon } from "@poai/sdk/verifier";
import { formatEther, getAddress, maxUint256, parseEther, type Address } from "viem";
import { ForgingTrainer } from "./lib/adversaries.js";
import { driveRounds } from "./lib/daemon-network.js";
import { deployNetwork } from "./lib/deploy.js";

const EPOCH = 3600; // seconds per epoch (= challenge round) on the devnet
const RESPONSE_DEADLINE = 1200; // seconds a trainer has to submit after its round starts
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
  { responseDeadline: RESPONSE_DEADLINE, minScoreBps: 8000, maxScoreBps: 10_000, auditSamples: 4 },
]);
const id = specId(spec);
await d.registry.write.activate([id]);
log(
  `  spec ${id.slice(0, 10)}…: MLP [${spec.widths.join(", ")}], ${spec.steps} steps, checkpoint every ${spec.checkpointInterval}, 4 sampled segments per validator`,
);

const genesis = await d.staking.read.genesis();
const ROUNDS = BigInt(process.env.POAI_DEVNET_ROUNDS ?? "3");
if (ROUNDS < 1n || ROUNDS > 20n) throw new Error(`POAI_DEVNET_ROUNDS must be 1..20, got ${ROUNDS}`);
const first = (await d.staking.read.currentEpoch()) + 1n;
const last = first + ROUNDS - 1n;

log("\nDaemons start (each with its own SQLite database and HTTP server)");
const deployment = parseDeployment({
  chainId: publicClient.chain.id,
  deployBlock: 0n,
  contracts: {
    accessManager: d.manager.address,
    token: d.token.address,
    staking: d.staking.address,
    stakingLens: d.lens.address,
    challengeManager: d.challenges.address,
    taskRegistry: d.registry.address,
    randomnessBeacon: d.beacon.address,
    rewardDistributor: d.distributor.address,
  },
});
const clientOf = (w: (typeof wallets)[number]) =>
  createPoAIClient({ publicClient, walletClient: w, deployment });
const dataDir = mkdtempSync(path.join(tmpdir(), "poai-devnet-"));
const logLevel = (process.env.POAI_LOG_LEVEL as "silent" | undefined) ?? "silent";
const honest = await TrainerDaemon.create({
  client: clientOf(trainerA),
  databasePath: path.join(dataDir, "trainer-a.db"),
  progress: "off",
  logLevel,
});
const cheater = await ForgingTrainer.create({
  client: clientOf(trainerB),
  databasePath: path.join(dataDir, "trainer-b.db"),
  progress: "off",
  logLevel,
});
const validatorDaemons = await Promise.all(
  [v1, v2, v3].map((w, i) =>
    ValidatorDaemon.create({
      client: clientOf(w),
      dbPath: path.join(dataDir, `validator-${i + 1}.db`),
      logLevel,
    }),
  ),
);
log(`  trainer A ${short(trainerA.account.address)}: honest, checkpoints at ${honest.endpoint}`);
log(
  `  trainer B ${short(trainerB.account.address)}: trains ${cheater.honestSegments} segments, forges the rest, checkpoints at ${cheater.endpoint}`,
);
log(`  trainer C ${short(trainerC.account.address)}: registered, runs no daemon`);
for (const [i, v] of validatorDaemons.entries())
  log(`  validator ${i + 1} ${short(v.validator)}: status at ${v.url}`);

const windows = (r: bigint) =>
  roundWindows(genesis, BigInt(EPOCH), r, { ...d.challengeParams, responseDeadline: RESPONSE_DEADLINE });
const failures: string[] = [];
const t0 = performance.now();
await driveRounds({
  windows,
  advanceTo: async (t) => {
    if (BigInt(await networkHelpers.time.latest()) < t) await networkHelpers.time.increaseTo(t);
  },
  trainers: [honest, cheater],
  validators: validatorDaemons,
  from: first,
  to: last,
  onMilestone: (r, milestone) => {
    if (milestone === "start")
      log(`  round ${r}: ${r <= last ? "trainers train and submit; " : ""}validators audit round ${r - 1n}`);
  },
  onError: (daemon, err) => failures.push(`${daemon.constructor.name}: ${(err as Error).message}`),
});
const elapsed = (performance.now() - t0) / 1000;
for (const daemon of [honest, cheater, ...validatorDaemons]) await daemon.stop();
rmSync(dataDir, { recursive: true, force: true });
if (failures.length) throw new Error(`daemon ticks failed:\n  ${failures.join("\n  ")}`);
log(`  ${ROUNDS} rounds played and audited in ${elapsed.toFixed(1)} s of wall time`);

log("\nJudgments");
log(
  "  round  trainer         status    reported  committee verdicts                              score    points",
);
const admin = clientOf(wallets[0]);
const named = new Map<Address, string>([
  [getAddress(trainerA.account.address), "A honest"],
  [getAddress(trainerB.account.address), "B forger"],
  [getAddress(trainerC.account.address), "C absent"],
]);
const roundsPlayed: bigint[] = [];
for (let r = first; r <= last; r++) {
  roundsPlayed.push(r);
  for (const [trainer, name] of named) {
    const id = challengeId(trainer, r);
    const c = await admin.challenges.getChallenge({ id });
    const due = await d.challenges.read.dueChallenge([trainer, r]);
    if (c.status === "None" && !due[0]) {
      log(`  ${String(r).padEnd(5)}  ${name.padEnd(14)}  not due (jailed)`);
      continue;
    }
    const members = c.status === "None" ? [] : await admin.challenges.getMembers({ id });
    const verdicts =
      members
        .filter((m) => m.revealed)
        .map((m) =>
          m.verdict === "Valid"
            ? `Valid ${(m.measuredScoreBps / 100).toFixed(2)}%`
            : m.verdict === "Invalid"
              ? `Invalid@${m.segment}`
              : m.verdict,
        )
        .join(", ") || "-";
    const pts = await admin.challenges.getEpochPoints({ epoch: r, operator: trainer });
    const score =
      c.status === "Valid"
        ? Number((pts * 10n ** 18n) / (await d.staking.read.stakeAt([trainer, r]))) / 1e18
        : 0;
    log(
      `  ${String(r).padEnd(5)}  ${name.padEnd(14)}  ${c.status.padEnd(8)}  ${c.reportedScoreBps ? `${(c.reportedScoreBps / 100).toFixed(2)}%` : "-".padEnd(6)}    ${verdicts.padEnd(46)}  ${score.toFixed(4)}   ${fmt(pts)}`,
    );
  }
}
for (const v of [v1, v2, v3]) {
  const pts = await Promise.all(
    roundsPlayed.map((r) => d.challenges.read.epochPoints([r, v.account.address])),
  );
  log(`  validator ${short(v.account.address)} accuracy points per round: ${pts.join(", ")}`);
}
const forger = await d.lens.read.getOperator([trainerB.account.address]);
if (!forger.jailed) throw new Error("the forging trainer was not jailed");
log("\nRewards: the epoch closes in the reward distributor, then every operator settles its share");
const closesAt = await d.challenges.read.epochClosesAt([last]);
if (BigInt(await networkHelpers.time.latest()) < closesAt + 1n)
  await networkHelpers.time.increaseTo(closesAt + 1n);
const closeHash = await d.distributor.write.closeEpochs([50n]);
const closeReceipt = await publicClient.waitForTransactionReceipt({ hash: closeHash });
for (const ev of await d.distributor.getEvents.EpochClosed({}, { blockHash: closeReceipt.blockHash })) {
  const a = ev.args;
  log(
    `  epoch ${a.epoch}: budget ${fmt(a.budget!)} = protocol ${fmt(a.protocolCut!)} + trainers ${fmt(a.trainerBudget!)} + validators ${fmt(a.validatorBudget!)} + carried ${fmt(a.carried!)}`,
  );
}
for (const r of roundsPlayed) {
  for (const op of [trainerA, trainerB, trainerC, v1, v2, v3].map((w) => w.account.address)) {
    const amount = await d.distributor.read.pendingSettlement([op, r]);
    if (amount === 0n) continue;
    await d.distributor.write.settle([op, r]);
    log(`  epoch ${r}: ${short(op)} settles ${fmt(amount)} into its pool`);
  }
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
let unsettled = 0n;
for (const r of roundsPlayed) {
  const ep = await d.distributor.read.getEpoch([r]);
  unsettled += ep.trainerBudget - ep.trainerSettled + ep.validatorBudget - ep.validatorSettled;
}
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
