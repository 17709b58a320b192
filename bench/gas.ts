/**
 * Gas benchmark: single transactions' gasUsed in a warm state (balances, allowances, positions and
 * pool slots already written) unless the key says "first". Writes bench/results/gas.json (a flat
 * map "<Contract>.<operation>" -> gasUsed) and prints a table beside the anchor figures.
 */
import { writeFile, mkdir } from "node:fs/promises";
import { network } from "hardhat";
import {
  createWalletClient,
  custom,
  encodeFunctionData,
  maxUint256,
  parseEther,
  type Address,
  type Hash,
  type Hex,
} from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { parseDeployment, signPermit } from "@poai/sdk";
import { toAddressBook } from "../scripts/lib/address-book.js";
import { deployStaking } from "../scripts/lib/deploy.js";
import { runPoAIGasBench } from "./poai.js";
import { runRewardsGasBench } from "./rewards.js";
import { INFERNET_MEASURED, runInfernetGasBench } from "./infernet.js";

/** Tally Staker's published gas report (see ANCHORS.md). */
const ANCHORS: Record<string, [string, number]> = {
  "Staking.delegate": ["Tally Staker: stake more", 95_257],
  "Staking.withdraw": ["Tally Staker: withdraw (full)", 99_138],
  "Staking.claim": ["Tally Staker: claim with reward", 159_165],
  "Staking.notifyReward": ["Tally Staker: notify", 45_750],
  "Staking.delegate.first": ["Tally Staker: first stake (surrogate)", 347_794],
  "RewardDistributor.settle": ["goal: settle", 60_000],
  "Staking.claim@1000delegators": ["Tally Staker: claim with reward", 159_165],
  "Staking.claim@1000epochs": ["Tally Staker: claim with reward", 159_165],
  "ChallengeManager.auditedChallenge.committee3.total": [
    "goal: submit + 3 commits + 3 reveals + finalize",
    600_000,
  ],
  "ChallengeManager.auditedChallenge.committee3.batch10.perChallenge.total": [
    "goal (same), verdicts batched by 10",
    600_000,
  ],
  ...INFERNET_MEASURED,
};

export async function runGasBench(
  options: { delegatorCounts?: number[] } = {},
): Promise<Record<string, number>> {
  const counts = options.delegatorCounts ?? [1, 100, 1000];
  const { viem, networkHelpers } = await network.create();
  const publicClient = await viem.getPublicClient();
  const DAY = 24 * 3600;
  const d = await deployStaking(viem, { epochLength: DAY });
  const [admin, opA, opB, alice, bob] = await viem.getWalletClients();
  const results: Record<string, number> = {};

  const gasOf = async (hash: Promise<Hash>) => {
    const receipt = await publicClient.waitForTransactionReceipt({ hash: await hash });
    if (receipt.status !== "success") throw new Error(`transaction ${receipt.transactionHash} reverted`);
    return Number(receipt.gasUsed);
  };
  const as = (w: typeof admin) => ({
    token: viem.getContractAt("PoAIToken", d.token.address, { client: { wallet: w } }),
    staking: viem.getContractAt("Staking", d.staking.address, { client: { wallet: w } }),
  });

  for (const w of [opA, opB, alice, bob]) {
    await d.token.write.transfer([w.account.address, parseEther("1000000")]);
    await (await as(w).token).write.approve([d.staking.address, maxUint256]);
  }
  await d.token.write.approve([d.staking.address, maxUint256]);

  // Register: one-time by nature (new operator, pool and position).
  results["Staking.register"] = await gasOf(
    (await as(opA).staking).write.register([
      1,
      parseEther("5000"),
      500,
      2000,
      "https://node-a.example",
      "H100",
    ]),
  );
  await (
    await as(opB).staking
  ).write.register([2, parseEther("5000"), 500, 2000, "https://node-b.example", "H100"]);

  const A = opA.account.address;
  const aliceStk = await as(alice).staking;
  const bobStk = await as(bob).staking;
  results["Staking.delegate.first"] = await gasOf(aliceStk.write.delegate([A, parseEther("1000")]));
  results["Staking.delegate"] = await gasOf(aliceStk.write.delegate([A, parseEther("1000")]));

  // Permit path: a fresh signature for an existing position.
  {
    await bobStk.write.delegate([A, parseEther("10")]);
    const book = toAddressBook("bench", await publicClient.getChainId(), 0n, d);
    const { deadline, v, r, s } = await signPermit(
      { publicClient, walletClient: bob, deployment: parseDeployment(book) },
      { value: parseEther("10") },
    );
    results["Staking.delegateWithPermit"] = await gasOf(
      bobStk.write.delegateWithPermit([A, parseEther("10"), deadline, v, r, s]),
    );
    await (await as(bob).token).write.approve([d.staking.address, maxUint256]); // the permit replaced it
  }

  // Rewards: a reward added to a pool in epoch e is credited once e has ended, by the first action
  // on the pool (here `settle`, measured in bench/rewards.ts). The first reward of an epoch opens
  // the pool's slot for it; later ones in the same epoch add to it.
  const credit = () => d.staking.write.settle([A, maxUint256 - 1n]);
  await networkHelpers.time.increase(DAY);
  results["Staking.notifyReward.firstInEpoch"] = await gasOf(
    d.staking.write.notifyReward([A, parseEther("100")]),
  );
  results["Staking.notifyReward"] = await gasOf(d.staking.write.notifyReward([A, parseEther("100")]));
  // The token pull inside notifyReward, as its own transaction: a spender with an unlimited
  // allowance moves 100 POAI from the admin to Staking (both balances nonzero, as in notifyReward).
  await d.token.write.approve([bob.account.address, maxUint256]);
  results["PoAIToken.transferFrom"] = await gasOf(
    (await as(bob).token).write.transferFrom([admin.account.address, d.staking.address, parseEther("100")]),
  );
  await networkHelpers.time.increase(DAY);
  await credit();
  results["Staking.claim.first"] = await gasOf(aliceStk.write.claim([A]));
  await d.staking.write.notifyReward([A, parseEther("100")]);
  await networkHelpers.time.increase(DAY);
  await credit();
  results["Staking.claim"] = await gasOf(aliceStk.write.claim([A]));
  await d.staking.write.notifyReward([A, parseEther("100")]);
  await bobStk.write.delegate([A, parseEther("1")]); // the epoch's stake checkpoints are written
  await networkHelpers.time.increase(DAY);
  // Crediting an epoch in which the pool's shares changed also resolves that epoch's record.
  results["Staking.settle.withShareChange"] = await gasOf(credit());
  await d.staking.write.notifyReward([A, parseEther("100")]);
  await networkHelpers.time.increase(DAY);
  await credit();
  results["Staking.compound"] = await gasOf(aliceStk.write.compound([A]));

  // Undelegate: the first one writes the caller's queue; the steady state opens a new entry in a
  // later epoch; a second undelegation from the same pool in the same epoch merges into that entry.
  // The first touch of a pool in an epoch also writes the epoch's stake checkpoints (operator and
  // role) and makes the previous epoch's delegations eligible: that is "firstInEpoch".
  await aliceStk.write.undelegate([A, parseEther("100")]);
  await networkHelpers.time.increase(DAY);
  results["Staking.undelegate.firstInEpoch"] = await gasOf(aliceStk.write.undelegate([A, parseEther("1")]));
  await networkHelpers.time.increase(DAY);
  await bobStk.write.delegate([A, parseEther("1")]);
  results["Staking.undelegate"] = await gasOf(aliceStk.write.undelegate([A, parseEther("100")]));
  results["Staking.undelegate.merge"] = await gasOf(aliceStk.write.undelegate([A, parseEther("100")]));
  await networkHelpers.time.increase(DAY);
  await aliceStk.write.undelegate([A, parseEther("100")]);
  results["Staking.cancelUnbonding"] = await gasOf(aliceStk.write.cancelUnbonding([3n]));
  await networkHelpers.time.increase(9 * DAY);
  results["Staking.withdraw"] = await gasOf(aliceStk.write.withdraw([1n]));
  results["Staking.withdraw.3entries"] = await gasOf(aliceStk.write.withdraw([10n]));

  await (await as(opA).staking).write.setCommission([600]);
  results["Staking.setCommission"] = await gasOf((await as(opA).staking).write.setCommission([700]));

  results["Staking.slash.firstInEpoch"] = await gasOf(
    d.staking.write.slash([opB.account.address, parseEther("0.01"), [admin.account.address], false]),
  );
  results["Staking.slash"] = await gasOf(
    d.staking.write.slash([opB.account.address, parseEther("0.01"), [admin.account.address], false]),
  );
  results["Staking.slash.jail"] = await gasOf(
    d.staking.write.slash([opB.account.address, parseEther("0.01"), [admin.account.address], true]),
  );
  // An offence two epochs back: the cohorts of stake that left in each of the three epochs since.
  const now = await d.staking.read.currentEpoch();
  results["Staking.slash.offence2EpochsBack"] = await gasOf(
    d.staking.write.slash([
      opB.account.address,
      parseEther("0.01"),
      [admin.account.address],
      false,
      now - 2n,
    ]),
  );
  await networkHelpers.time.increase(DAY + 1);
  results["Staking.unjail"] = await gasOf((await as(opB).staking).write.unjail());

  // Claim gas does not depend on the number of delegators nor on elapsed reward periods.
  // Fresh local accounts sign their own transactions against the in-process chain.
  const sendAs = (account: ReturnType<typeof privateKeyToAccount>, to: Address, data: Hex) =>
    createWalletClient({
      account,
      chain: publicClient.chain,
      transport: custom(publicClient),
    }).sendTransaction({ to, data });
  for (const n of counts) {
    const op = privateKeyToAccount(generatePrivateKey());
    await networkHelpers.setBalance(op.address, parseEther("10"));
    await d.token.write.transfer([op.address, parseEther("5000")]);
    await gasOf(
      sendAs(
        op,
        d.token.address,
        encodeFunctionData({
          abi: d.token.abi,
          functionName: "approve",
          args: [d.staking.address, maxUint256],
        }),
      ),
    );
    await gasOf(
      sendAs(
        op,
        d.staking.address,
        encodeFunctionData({
          abi: d.staking.abi,
          functionName: "register",
          args: [1, parseEther("5000"), 500, 2000, "", ""],
        }),
      ),
    );
    let first: ReturnType<typeof privateKeyToAccount> | undefined;
    for (let i = 0; i < n; i++) {
      const del = privateKeyToAccount(generatePrivateKey());
      first ??= del;
      await networkHelpers.setBalance(del.address, parseEther("1"));
      await d.token.write.transfer([del.address, parseEther("10")]);
      await sendAs(
        del,
        d.token.address,
        encodeFunctionData({
          abi: d.token.abi,
          functionName: "approve",
          args: [d.staking.address, maxUint256],
        }),
      );
      await sendAs(
        del,
        d.staking.address,
        encodeFunctionData({
          abi: d.staking.abi,
          functionName: "delegate",
          args: [op.address, parseEther("10")],
        }),
      );
    }
    await networkHelpers.time.increase(DAY); // the delegations count from here
    await d.staking.write.notifyReward([op.address, parseEther("10")]);
    await networkHelpers.time.increase(DAY);
    await d.staking.write.settle([op.address, maxUint256 - 1n]); // the pool is credited (any action does it)
    results[`Staking.claim.delegators${n}`] = await gasOf(
      sendAs(
        first!,
        d.staking.address,
        encodeFunctionData({ abi: d.staking.abi, functionName: "claim", args: [op.address] }),
      ),
    );
    if (n === counts[0]) {
      for (let p = 0; p < 50; p++) {
        await networkHelpers.time.increase(DAY);
        await d.staking.write.notifyReward([op.address, parseEther("1")]);
        await d.staking.write.settle([op.address, maxUint256 - 1n]);
      }
      await networkHelpers.time.increase(DAY);
      await d.staking.write.settle([op.address, maxUint256 - 1n]);
      results["Staking.claim.after50periods"] = await gasOf(
        sendAs(
          first!,
          d.staking.address,
          encodeFunctionData({ abi: d.staking.abi, functionName: "claim", args: [op.address] }),
        ),
      );
    }
  }

  Object.assign(results, await runPoAIGasBench());
  Object.assign(results, await runRewardsGasBench());
  Object.assign(results, await runInfernetGasBench());
  for (const n of counts) results[`Staking.claim@${n}delegators`] = results[`Staking.claim.delegators${n}`];

  await mkdir(new URL("./results/", import.meta.url), { recursive: true });
  await writeFile(new URL("./results/gas.json", import.meta.url), JSON.stringify(results, null, 2) + "\n");
  printTable(results);
  return results;
}

function printTable(results: Record<string, number>) {
  const rows = Object.entries(results).map(([key, gas]) => {
    const anchor = ANCHORS[key];
    const vs = anchor ? `${anchor[0]} ${anchor[1].toLocaleString("en-US")}` : "";
    const ratio = anchor ? `${((gas / anchor[1]) * 100).toFixed(0)}%` : "";
    return [key, gas.toLocaleString("en-US"), vs, ratio];
  });
  const header = ["operation", "gasUsed", "anchor", "PoAI/anchor"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 1 || i === 3 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ");
  console.log("\nGas (single transactions, warm state unless marked first) -> bench/results/gas.json");
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of rows) console.log(line(r));
}
