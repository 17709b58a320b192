/**
 * A Proof-of-AI network (staking, challenges) with a ModelRegistry, a coordinator test double and
 * the PoAIVerifier wired as Staking's slasher, plus a small trained model and helpers to deliver
 * through the coordinator and to compute what the model really outputs.
 */
import { encodeAbiParameters, getAddress, keccak256, parseEther, toHex, type Address, type Hex } from "viem";
import type { ContractReturnType } from "@nomicfoundation/hardhat-viem/types";
import {
  REFERENCE_SEED,
  encodeCheckpoint,
  encodeInferenceInput,
  encodeInferenceOutput,
  infer,
  train,
  type TrainingSpec,
  type TrainingRun,
} from "../../../sdk/src/compute/index.js";
import {
  deployModelRegistry,
  deployPoAIVerifier,
  type VerifierParams,
} from "../../../scripts/lib/deploy-verifier.js";
import { deployWorld, E, type Connection, type WorldOptions } from "../../poai/helpers/world.js";

/** The model the verifier tests serve: the poai world's small spec, trained. */
export const MODEL_SPEC: TrainingSpec = {
  version: 1,
  widths: [8, 8, 4],
  batchSize: 4,
  steps: 20,
  checkpointInterval: 10,
  lrShift: 4,
  evalSize: 64,
};
export const CONTAINER = "poai-mlp-8x8x4";
/** A subscription's container id: keccak256(abi.encode(container id string)), as Infernet hashes it. */
export const containerIdOf = (name: string): Hex =>
  keccak256(encodeAbiParameters([{ type: "string" }], [name]));
export const CONTAINER_ID: Hex = containerIdOf(CONTAINER);
export const PAYMENT = parseEther("1");

let trained: TrainingRun | undefined;
/** The trained model (trained once per process). */
export async function trainedModel() {
  trained ??= await train(MODEL_SPEC, REFERENCE_SEED);
  const checkpoint = encodeCheckpoint(MODEL_SPEC, trained.final);
  return {
    run: trained,
    checkpoint: toHex(checkpoint),
    weightsHash: keccak256(checkpoint),
    weights: trained.final.weights,
  };
}

export type VerifierWorldOptions = WorldOptions & { verifier?: Partial<VerifierParams> };

export async function deployVerifierWorld(conn: Connection, options: VerifierWorldOptions = {}) {
  const w = await deployWorld(conn, { trainers: [E(5000), E(5000)], outsiders: 3, ...options });
  const { viem } = conn;
  const models = await deployModelRegistry(viem, w);
  const coordinator = await viem.deployContract("TestCoordinator");
  const [wallet] = w.outsiders;
  const { verifier, params } = await deployPoAIVerifier(viem, {
    manager: w.manager,
    staking: w.staking,
    models,
    coordinator: coordinator.address,
    wallet: wallet.address,
    params: options.verifier,
  });
  const consumer = await viem.deployContract("TestInputConsumer");
  const model = await trainedModel();

  const as = async <N extends "ModelRegistry" | "PoAIVerifier" | "TestCoordinator">(
    name: N,
    address: Address,
    who: { wallet: Awaited<ReturnType<typeof viem.getWalletClients>>[number] },
  ) =>
    viem.getContractAt(name, address, { client: { wallet: who.wallet } }) as Promise<ContractReturnType<N>>;

  const [node, trainer] = w.trainers;
  await (
    await as("ModelRegistry", models.address, trainer)
  ).write.registerModel([CONTAINER, [...MODEL_SPEC.widths], model.weightsHash]);

  /** A subscription of the consumer to the model, with `input` as its container input. */
  const subscribe = async (input: Int8Array, redundancy = 1) => {
    const { result: id } = await coordinator.simulate.createSubscription([
      consumer.address,
      CONTAINER_ID,
      redundancy,
      verifier.address,
      PAYMENT,
    ]);
    await coordinator.write.createSubscription(
      [consumer.address, CONTAINER_ID, redundancy, verifier.address, PAYMENT],
      { value: PAYMENT * BigInt(redundancy) },
    );
    await consumer.write.setInputs([id, encodeInferenceInput(input)]);
    return id;
  };

  /** What the model really outputs for `input`, encoded. */
  const correctOutput = (input: Int8Array): Hex =>
    encodeInferenceOutput(infer(MODEL_SPEC, model.weights, input));
  /** A wrong output: the correct one with the first class's value changed. */
  const wrongOutput = (input: Int8Array): Hex => {
    const r = infer(MODEL_SPEC, model.weights, input);
    const output = Int8Array.from(r.output);
    output[0] = output[0] === 127 ? 126 : output[0] + 1;
    return encodeInferenceOutput({ output, label: r.label });
  };

  /** `who` delivers `output` for `input` through the coordinator (posting the collateral). */
  const deliver = async (who: (typeof w.actors)[number], id: number, input: Hex, output: Hex, interval = 1) =>
    (await as("TestCoordinator", coordinator.address, who)).write.deliver([id, interval, input, output], {
      value: PAYMENT,
    });

  return {
    ...w,
    models,
    coordinator,
    verifier,
    verifierParams: params,
    consumer,
    model,
    node,
    trainer,
    feeWallet: getAddress(wallet.address),
    as,
    subscribe,
    correctOutput,
    wrongOutput,
    deliver,
  };
}

export type VerifierWorld = Awaited<ReturnType<typeof deployVerifierWorld>>;
