/**
 * The inference marketplace on the in-process chain for the SDK and daemon tests: the whole PoAI
 * network (staking, challenges, RewardDistributor) with `deployInference` on top (ModelRegistry,
 * Coordinator, Inbox, WalletFactory, Reader, PoAIVerifier), three staked trainers with payment
 * wallets, a small trained model registered by trainer 1, the example consumers
 * (ClassifierConsumer, RecurringPredictor) owned by the dApp, the dApp's funded Wallet, and a PoAI
 * client per account whose deployment names every contract.
 *
 * Accounts: 0 deployer (governor), 1..3 trainers, 4 the dApp, 5 an outsider, 6 a delegated signer.
 */
import { network } from "hardhat";
import { getAddress, keccak256, maxUint256, parseEther, type Address, type Hash, type Hex } from "viem";
import { deployNetwork } from "../../scripts/lib/deploy.js";
import { deployInference } from "../../scripts/lib/deploy-inference.js";
import {
  REFERENCE_SEED,
  encodeCheckpoint,
  encodeInferenceOutput,
  infer,
  train,
  type TrainingRun,
  type TrainingSpec,
} from "../../sdk/src/compute/index.js";
import {
  containerIdOf,
  createPoAIClient,
  parseDeployment,
  type PoAIClient,
  type PoAIDeployment,
} from "../../sdk/src/index.js";
import { contractsOf } from "../../scripts/lib/address-book.js";

export const DAY = 24 * 3600;
export const ETH = "0x0000000000000000000000000000000000000000" as Address;
/** The model the tests serve. */
export const MODEL = "poai-classifier-8x8x4";
export const MODEL_ID: Hex = containerIdOf(MODEL);
export const MODEL_SPEC: TrainingSpec = {
  version: 1,
  widths: [8, 8, 4],
  batchSize: 4,
  steps: 20,
  checkpointInterval: 10,
  lrShift: 4,
  evalSize: 64,
};
/** Payment per classification, in the staking token. */
export const PRICE = parseEther("2");
export const DISPUTE_WINDOW = 600;

let trained: TrainingRun | undefined;
/** The trained model (trained once per process): its checkpoint bytes, hash and weights. */
export async function trainedModel() {
  trained ??= await train(MODEL_SPEC, REFERENCE_SEED);
  const checkpoint = encodeCheckpoint(MODEL_SPEC, trained.final);
  return { checkpoint, weightsHash: keccak256(checkpoint), weights: trained.final.weights };
}

/** The model's correct output for `input`, encoded as the verifier and the consumer read it. */
export function modelOutput(weights: Int16Array, input: Int8Array): Hex {
  return encodeInferenceOutput(infer(MODEL_SPEC, weights, input));
}

/** A wrong output for `input`: the correct one with the first score moved by one. */
export function wrongOutput(weights: Int16Array, input: Int8Array): Hex {
  const r = infer(MODEL_SPEC, weights, input);
  const output = Int8Array.from(r.output);
  output[0] = output[0] === 127 ? 126 : output[0]! + 1;
  return encodeInferenceOutput({ output, label: r.label });
}

/** One connection to the in-process chain for a whole test file; `load` restores a snapshot. */
export async function connectInference() {
  const connection = await network.create();
  const { viem, networkHelpers } = connection;

  async function deployFixture() {
    const publicClient = await viem.getPublicClient();
    const wallets = await viem.getWalletClients();
    const [admin] = wallets;
    const treasury = getAddress(wallets[19]!.account.address);
    const d = await deployNetwork(viem, { epochLength: DAY, rewards: { treasury } });
    const inf = await deployInference(viem, d, { verifier: { disputeWindow: DISPUTE_WINDOW } });
    const deployment: PoAIDeployment = parseDeployment({
      chainId: await publicClient.getChainId(),
      deployBlock: 0n,
      contracts: { ...contractsOf(d), ...inf.contracts },
    });
    const client = (i: number): PoAIClient =>
      createPoAIClient({ publicClient, walletClient: wallets[i]!, deployment });
    const address = (i: number): Address => getAddress(wallets[i]!.account.address);
    const mined = async (c: PoAIClient, send: Promise<Hash>) => c.waitForTransaction(await send);

    for (const i of [1, 2, 3, 4, 5]) await d.token.write.transfer([address(i), parseEther("100000")]);

    // Trainers: staked, each with a payment wallet holding collateral it may spend.
    const nodeWallets: Address[] = [];
    for (const i of [1, 2, 3]) {
      const c = client(i);
      await mined(c, c.token.approve({ amount: parseEther("5000") }));
      await mined(
        c,
        c.staking.register({
          role: "trainer",
          stake: parseEther("5000"),
          commissionBps: 1000,
          maxCommissionBps: 2000,
          endpoint: `https://trainer${i}.example`,
          gpuClass: "H100",
        }),
      );
      const receipt = await mined(c, c.inference.createWallet({ owner: address(i) }));
      const nodeWallet = c.inference.walletFromLogs({ logs: receipt.logs });
      await mined(
        c,
        c.inference.depositToken({ wallet: nodeWallet, token: d.token.address, amount: parseEther("1000") }),
      );
      await mined(
        c,
        c.inference.approveSpender({
          wallet: nodeWallet,
          spender: address(i),
          token: d.token.address,
          amount: maxUint256,
        }),
      );
      nodeWallets.push(nodeWallet);
    }

    // The model, registered by trainer 1; governance (the deployer) approves its royalties.
    const model = await trainedModel();
    await mined(
      client(1),
      client(1).inference.registerModel({
        containerId: MODEL,
        widths: MODEL_SPEC.widths,
        weightsHash: model.weightsHash,
      }),
    );
    await inf.models.write.setApproved([MODEL_ID, true]);

    // The dApp: the example consumers and a funded Wallet they may spend from.
    const dapp = client(4);
    const classifier = await viem.deployContract(
      "ClassifierConsumer",
      [inf.registry.address, MODEL, address(4)],
      { client: { wallet: wallets[4]! } },
    );
    const predictor = await viem.deployContract(
      "RecurringPredictor",
      [inf.registry.address, MODEL, address(4)],
      { client: { wallet: wallets[4]! } },
    );
    const walletReceipt = await mined(dapp, dapp.inference.createWallet({ owner: address(4) }));
    const dappWallet = dapp.inference.walletFromLogs({ logs: walletReceipt.logs });
    await mined(
      dapp,
      dapp.inference.depositToken({ wallet: dappWallet, token: d.token.address, amount: parseEther("1000") }),
    );
    for (const spender of [classifier.address, predictor.address]) {
      await mined(
        dapp,
        dapp.inference.approveSpender({
          wallet: dappWallet,
          spender,
          token: d.token.address,
          amount: maxUint256,
        }),
      );
    }

    return {
      d,
      inf,
      publicClient,
      wallets,
      admin: admin!,
      deployment,
      client,
      address,
      mined,
      nodeWallets,
      model,
      classifier,
      predictor,
      dappWallet,
    };
  }

  return { connection, viem, networkHelpers, load: () => networkHelpers.loadFixture(deployFixture) };
}

export type InferenceFixture = Awaited<ReturnType<Awaited<ReturnType<typeof connectInference>>["load"]>>;

/** An int8 input vector of the model from small integers. */
export const vector = (...values: number[]): Int8Array => Int8Array.from(values);
