/**
 * Gas of exact inference verification (PoAIVerifier + IntegerMLP): for a small model ([8, 8, 4])
 * and the reference spec's model ([64, 128, 128, 10]), both trained, the forward pass alone, a
 * delivery through the coordinator test double (verification requested), a dispute of a wrong
 * output (calldata of the whole checkpoint, hash, forward pass, settlement, slash) and a
 * finalization after the window. `runInferenceVerifierGasBench()` returns a flat map
 * "<Contract>.<operation>" -> gas; run alone (`npx hardhat run bench/inference-verifier.ts`) it also
 * writes bench/results/inference-verifier.json and prints a table.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { network } from "hardhat";
import { encodeAbiParameters, hexToBytes, keccak256, maxUint256, parseEther, toHex, type Hash } from "viem";
import {
  REFERENCE_SEED,
  REFERENCE_SPEC,
  encodeCheckpoint,
  encodeInferenceInput,
  encodeInferenceOutput,
  infer,
  train,
  type TrainingSpec,
} from "../sdk/src/compute/index.js";
import { deployPoAI } from "../scripts/lib/deploy.js";
import { deployModelRegistry, deployPoAIVerifier } from "../scripts/lib/deploy-verifier.js";

const SMALL_SPEC: TrainingSpec = {
  version: 1,
  widths: [8, 8, 4],
  batchSize: 4,
  steps: 20,
  checkpointInterval: 10,
  lrShift: 4,
  evalSize: 64,
};

export async function runInferenceVerifierGasBench(): Promise<Record<string, number>> {
  const { viem, networkHelpers } = await network.create();
  const publicClient = await viem.getPublicClient();
  const d = await deployPoAI(viem, { epochLength: 86_400 });
  const [, nodeW, trainerW, disputerW] = await viem.getWalletClients();
  const gas = async (hash: Promise<Hash>) => {
    const r = await publicClient.waitForTransactionReceipt({ hash: await hash });
    if (r.status !== "success") throw new Error(`transaction ${r.transactionHash} reverted`);
    return Number(r.gasUsed);
  };
  for (const w of [nodeW, trainerW]) {
    await d.token.write.transfer([w.account.address, parseEther("10000")]);
    const token = await viem.getContractAt("PoAIToken", d.token.address, { client: { wallet: w } });
    await token.write.approve([d.staking.address, maxUint256]);
    const staking = await viem.getContractAt("Staking", d.staking.address, { client: { wallet: w } });
    await staking.write.register([1, parseEther("5000"), 500, 2000, "", "H100"]);
  }
  const models = await deployModelRegistry(viem, d);
  const coordinator = await viem.deployContract("TestCoordinator");
  const { verifier } = await deployPoAIVerifier(viem, {
    manager: d.manager,
    staking: d.staking,
    models,
    coordinator: coordinator.address,
    wallet: disputerW.account.address,
    params: { slashFraction: parseEther("0.01"), jail: false },
  });
  const consumer = await viem.deployContract("TestInputConsumer");
  const mlp = await viem.deployContract("IntegerMLPHarness");
  const asTrainer = await viem.getContractAt("ModelRegistry", models.address, {
    client: { wallet: trainerW },
  });
  const asNode = await viem.getContractAt("TestCoordinator", coordinator.address, {
    client: { wallet: nodeW },
  });
  const asDisputer = await viem.getContractAt("PoAIVerifier", verifier.address, {
    client: { wallet: disputerW },
  });
  const payment = parseEther("0.001");

  const results: Record<string, number> = {};
  const measure = async (label: string, spec: TrainingSpec, interval: number) => {
    const run = await train(spec, REFERENCE_SEED);
    const checkpoint = toHex(encodeCheckpoint(spec, run.final));
    const container = `poai-mlp-${spec.widths.join("x")}`;
    const containerId = keccak256(encodeAbiParameters([{ type: "string" }], [container]));
    await asTrainer.write.registerModel([container, [...spec.widths], keccak256(checkpoint)]);
    const x = Int8Array.from({ length: spec.widths[0] }, (_, i) => ((i * 37 + 11) % 256) - 128);
    const input = encodeInferenceInput(x);
    const result = infer(spec, run.final.weights, x);
    const right = encodeInferenceOutput(result);
    const output = Int8Array.from(result.output);
    output[0] = output[0] === 127 ? 126 : output[0] + 1;
    const wrong = encodeInferenceOutput({ output, label: result.label });

    const [, , forwardGas] = await mlp.read.forwardGas([[...spec.widths], checkpoint, input]);
    results[`IntegerMLP.forward.${label}`] = Number(forwardGas);

    const subscribe = async () => {
      const { result: id } = await coordinator.simulate.createSubscription([
        consumer.address,
        containerId,
        1,
        verifier.address,
        payment,
      ]);
      await coordinator.write.createSubscription(
        [consumer.address, containerId, 1, verifier.address, payment],
        {
          value: payment,
        },
      );
      await consumer.write.setInputs([id, input]);
      return id;
    };
    // the verifier's part of a delivery, as a transaction from the coordinator
    const fresh = await subscribe();
    results[`PoAIVerifier.requestOutputVerification.${label}`] = Number(
      await publicClient.estimateContractGas({
        address: verifier.address,
        abi: verifier.abi,
        functionName: "requestOutputVerification",
        args: [fresh, interval, nodeW.account.address, containerId, input, wrong, "0x"],
        account: coordinator.address,
      }),
    );
    // a wrong output, disputed
    const bad = await subscribe();
    results[`TestCoordinator.deliver.${label}`] = await gas(
      asNode.write.deliver([bad, interval, input, wrong], { value: payment }),
    );
    const disputeHash = asDisputer.write.dispute([
      bad,
      interval,
      nodeW.account.address,
      containerId,
      input,
      wrong,
      checkpoint,
    ]);
    results[`PoAIVerifier.dispute.${label}`] = await gas(disputeHash);
    // EIP-7623 (Prague): a transaction pays at least 21,000 + 10 per zero byte + 40 per other byte
    // of its data; a dispute of a large model pays this floor, not its execution.
    const tx = await publicClient.getTransaction({ hash: await disputeHash });
    const data = hexToBytes(tx.input);
    const zeros = data.filter((b) => b === 0).length;
    results[`PoAIVerifier.dispute.${label}.calldataFloor`] =
      21_000 + 10 * (zeros + 4 * (data.length - zeros));
    // a correct output, finalized after the window
    const good = await subscribe();
    await asNode.write.deliver([good, interval, input, right], { value: payment });
    const [, deadline] = await verifier.read.verificationOf([good, interval, nodeW.account.address]);
    await networkHelpers.time.increaseTo(deadline);
    results[`PoAIVerifier.finalize.${label}`] = await gas(
      asDisputer.write.finalize([good, interval, nodeW.account.address]),
    );
    results[`PoAIVerifier.dispute.${label}.checkpointBytes`] = (checkpoint.length - 2) / 2;
    // the worst case ModelRegistry charges the model at registration (refused above 16.7M)
    results[`ModelRegistry.disputeGasBound.${label}`] = Number(
      await models.read.disputeGasBound([[...spec.widths]]),
    );
  };
  await measure("small8x8x4", SMALL_SPEC, 1);
  await measure("reference64x128x128x10", REFERENCE_SPEC, 1);
  return results;
}

const isMain = process.argv.some((a) => a.endsWith("inference-verifier.ts"));
if (isMain) {
  const results = await runInferenceVerifierGasBench();
  await mkdir(new URL("./results/", import.meta.url), { recursive: true });
  await writeFile(
    new URL("./results/inference-verifier.json", import.meta.url),
    `${JSON.stringify(results, null, 2)}\n`,
  );
  console.table(Object.entries(results).map(([key, value]) => ({ key, value })));
}
