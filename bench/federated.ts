/**
 * Federated jobs benchmark: the devnet's federated MNIST job (three participants, one non-IID,
 * one poisoning and excluded; three validators scoring; `scripts/lib/devnet/federated.ts`) on the
 * in-process chain. Reports the gas of each step and per round per participant, the global
 * model's held-out accuracy per round, and the same training on the pooled honest shards.
 *
 * Writes the `federated` key of bench/results/jobs.json (other keys are kept).
 *   BENCH=federated npm run bench
 */
import { existsSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { network } from "hardhat";
import { maxUint256, parseEther } from "viem";
import { deployNetwork } from "../scripts/lib/deploy.js";
import { deployFederated } from "../scripts/lib/deploy-federated.js";
import { mnistDataset } from "../scripts/lib/datasets.js";
import { runFederatedJob, DEVNET_FEDERATED } from "../scripts/lib/devnet/federated.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const EPOCH = 3600;

export async function runFederatedBench() {
  const { viem, networkHelpers } = await network.create();
  const wallets = await viem.getWalletClients();
  const d = await deployNetwork(viem, { epochLength: EPOCH, emission: parseEther("1000") });
  const [admin] = wallets;
  const trainers = wallets.slice(1, 4);
  const validators = wallets.slice(4, 7);
  const owner = wallets[7];
  for (const [i, w] of [...trainers, ...validators].entries()) {
    await d.token.write.transfer([w.account.address, parseEther("10000")]);
    const token = await viem.getContractAt("PoAIToken", d.token.address, { client: { wallet: w } });
    await token.write.approve([d.staking.address, maxUint256]);
    const staking = await viem.getContractAt("Staking", d.staking.address, { client: { wallet: w } });
    const role = i < 3 ? 1 : 2;
    await staking.write.register([
      role,
      parseEther(String(5000 - i * 500)),
      500,
      2000,
      "http://127.0.0.1",
      "CPU",
    ]);
  }
  await d.token.write.transfer([owner.account.address, parseEther("10000")]);
  const { federated } = await deployFederated(viem, d);
  // Stake counts from the epoch after registration.
  await networkHelpers.time.increaseTo((await d.staking.read.epochStart([1n])) + 10n);
  const data = await mnistDataset(path.join(ROOT, "cache", "datasets", "mnist"));
  const summary = await runFederatedJob({
    publicClient: await viem.getPublicClient(),
    advanceTo: (t) => networkHelpers.time.increaseTo(t),
    contract: federated.address,
    token: d.token.address,
    owner,
    participants: trainers,
    validators,
    data,
    log: (line) => console.log(`  ${line}`),
  });
  void admin;
  const F = DEVNET_FEDERATED;
  const steps = F.rounds * 3;
  const result = {
    setup: `MNIST 8,000 train digits split over 3 participants (IID third; non-IID 90% digits 0-4; the rest with flipped labels, excluded), [784, 32, 10], ${F.rounds} rounds of ${F.localSteps} local steps (batch ${F.batchSize}), 3 validators scoring on the 2,000 held-out digits; in-process Hardhat chain`,
    gasPerStep: summary.gas,
    gasPerParticipantPerRound: {
      commitUpdate: Math.round((summary.gas.commitUpdate ?? 0) / steps),
      revealUpdate: Math.round((summary.gas.revealUpdate ?? 0) / steps),
      participantTotal: Math.round(
        ((summary.gas.commitUpdate ?? 0) + (summary.gas.revealUpdate ?? 0)) / steps,
      ),
      allStepsShared: Math.round(
        ((summary.gas.commitUpdate ?? 0) +
          (summary.gas.revealUpdate ?? 0) +
          (summary.gas.commitScores ?? 0) +
          (summary.gas.revealScores ?? 0) +
          (summary.gas.finalizeRound ?? 0)) /
          steps,
      ),
    },
    accuracyBps: {
      initial: summary.initialAccuracyBps,
      perRound: summary.rounds.map((r) => r.globalAccuracyBps),
      federated: summary.finalAccuracyBps,
      pooled: summary.pooledAccuracyBps,
      ratio: Number((summary.finalAccuracyBps / summary.pooledAccuracyBps).toFixed(3)),
    },
    excluded: summary.rounds.map((r) => r.updates.filter((u) => !u.included).map((u) => u.participant)),
    participants: summary.participants,
    paid: {
      participants: summary.paidParticipants,
      committee: summary.paidCommittee,
      refunded: summary.refunded,
    },
    balanced: summary.balanced,
    trainingSeconds: Number(summary.trainingSeconds.toFixed(2)),
    wallSeconds: Number(summary.wallSeconds.toFixed(2)),
  };
  const file = path.join(ROOT, "bench", "results", "jobs.json");
  const all = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>) : {};
  all.federated = result;
  await writeFile(file, `${JSON.stringify(all, null, 2)}\n`);
  console.log("\nFederated job (in-process chain)");
  console.table(Object.entries(result.gasPerParticipantPerRound).map(([step, gas]) => ({ step, gas })));
  console.table(
    summary.rounds.map((r) => ({
      round: r.round,
      globalAccuracy: `${(r.globalAccuracyBps / 100).toFixed(2)}%`,
      excluded: r.updates
        .filter((u) => !u.included)
        .map((u) => u.participant)
        .join(", "),
    })),
  );
  console.log(
    `federated ${(summary.finalAccuracyBps / 100).toFixed(2)}% vs pooled ${(summary.pooledAccuracyBps / 100).toFixed(2)}%`,
  );
  return result;
}
