/**
 * `npm run devnet`: the PoAI network end to end on an embedded in-process chain.
 *
 * Deploys the suite, registers trainers and a validator, lets delegators join, runs an epoch,
 * pays a reward, slashes a misbehaving trainer, and prints what every party holds.
 */
import { network } from "hardhat";
import { formatEther, maxUint256, parseEther, type Address } from "viem";
import { deployStaking } from "./lib/deploy.js";

const EPOCH = 3600; // seconds per epoch on the devnet
const fmt = (wei: bigint) => `${Number(formatEther(wei)).toLocaleString("en-US", { maximumFractionDigits: 4 })} POAI`;
const short = (a: Address) => `${a.slice(0, 6)}…${a.slice(-4)}`;

const { viem, networkHelpers } = await network.create();
const publicClient = await viem.getPublicClient();
const wallets = await viem.getWalletClients();
const [, trainerA, trainerB, validator, dave, erin] = wallets;
const log = (line: string) => console.log(line);

log(`PoAI devnet — in-process chain ${publicClient.chain.id}, epoch ${EPOCH}s\n`);
const d = await deployStaking(viem, { epochLength: EPOCH });
log("Deployed");
for (const [name, c] of Object.entries({ PoAIAccessManager: d.manager, PoAIToken: d.token, Staking: d.staking, StakingLens: d.lens })) {
  log(`  ${name.padEnd(18)} ${c.address}`);
}

const as = async (w: (typeof wallets)[number]) => ({
  token: await viem.getContractAt("PoAIToken", d.token.address, { client: { wallet: w } }),
  staking: await viem.getContractAt("Staking", d.staking.address, { client: { wallet: w } }),
});
for (const w of [trainerA, trainerB, validator, dave, erin]) {
  await d.token.write.transfer([w.account.address, parseEther("100000")]);
  await (await as(w)).token.write.approve([d.staking.address, maxUint256]);
}

log("\nOperators register");
const operators: [typeof trainerA, number, bigint, number, string, string][] = [
  [trainerA, 1, parseEther("5000"), 1000, "http://127.0.0.1:7101", "H100"],
  [trainerB, 1, parseEther("3000"), 500, "http://127.0.0.1:7102", "A100"],
  [validator, 2, parseEther("2000"), 800, "http://127.0.0.1:7201", "CPU"],
];
for (const [w, role, stake, commission, endpoint, gpu] of operators) {
  await (await as(w)).staking.write.register([role, stake, commission, 2000, endpoint, gpu]);
  log(`  ${short(w.account.address)} ${role === 1 ? "trainer  " : "validator"} self-stake ${fmt(stake)}, commission ${commission / 100}%`);
}

log("\nDelegators join");
const delegations: [typeof dave, typeof trainerA, bigint][] = [
  [dave, trainerA, parseEther("8000")],
  [erin, trainerB, parseEther("6000")],
  [erin, validator, parseEther("1000")],
];
for (const [w, op, amount] of delegations) {
  await (await as(w)).staking.write.delegate([op.account.address, amount]);
  log(`  ${short(w.account.address)} -> ${short(op.account.address)} ${fmt(amount)}`);
}

await networkHelpers.time.increase(EPOCH);
const epoch = await d.staking.read.currentEpoch();
log(`\nEpoch ${epoch}: last epoch's delegations now earn`);

log("\nRewards for the epoch");
await d.token.write.approve([d.staking.address, maxUint256]);
for (const [op, amount] of [[trainerA, parseEther("300")], [trainerB, parseEther("200")], [validator, parseEther("100")]] as const) {
  await d.staking.write.notifyReward([op.account.address, amount]);
  log(`  ${short(op.account.address)} pool receives ${fmt(amount)}`);
}

log("\nTrainer B is caught committing a fraudulent result: slashed 20% and jailed");
const reporter = validator.account.address;
await d.staking.write.slash([trainerB.account.address, parseEther("0.2"), [reporter], true]);

log("\nDave claims, Erin undelegates half of her position with trainer B");
await (await as(dave)).staking.write.claim([trainerA.account.address]);
const erinPos = await d.staking.read.getPosition([erin.account.address, trainerB.account.address]);
await (await as(erin)).staking.write.undelegate([trainerB.account.address, erinPos.shares / 2n]);

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
  [trainerA, trainerA], [trainerB, trainerB], [validator, validator], [dave, trainerA], [erin, trainerB], [erin, validator],
];
for (const [owner, op] of positions) {
  const p = await d.staking.read.getPosition([owner.account.address, op.account.address]);
  log(`  ${short(owner.account.address)}   ${short(op.account.address)}   ${fmt(p.tokens).padEnd(15)}  ${fmt(p.claimable)}`);
}
const unbonding = await d.lens.read.getUnbonding([erin.account.address, 10n]);
for (const u of unbonding) {
  log(`  ${short(erin.account.address)} unbonding ${fmt(u.tokens)} from ${short(u.operator)}, withdrawable at ${new Date(u.maturity * 1000).toISOString()}`);
}

const burned = await d.token.read.balanceOf(["0x000000000000000000000000000000000000dEaD"]);
const held = await d.token.read.balanceOf([d.staking.address]);
log("\nTotals");
log(`  trainer stake ${fmt(await d.staking.read.roleStake([1]))}, validator stake ${fmt(await d.staking.read.roleStake([2]))} (jailed operators excluded)`);
log(`  staking contract holds ${fmt(held)}; burned by the slash ${fmt(burned)}`);
log("\nDevnet scenario complete.");
