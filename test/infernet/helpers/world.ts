/**
 * The inference marketplace on the in-process chain: the whole PoAI network (staking, challenges,
 * RewardDistributor) with `deployInfernet` on top, four registered trainers with node wallets, a
 * validator, a funded consumer wallet approved for the test consumers, a plain ERC-20, test
 * verifiers and a test model registry.
 */
import type { ContractReturnType } from "@nomicfoundation/hardhat-viem/types";
import {
  encodeAbiParameters,
  getAddress,
  keccak256,
  maxUint256,
  parseEventLogs,
  toHex,
  zeroAddress,
  type Address,
  type Hex,
} from "viem";
import { deployNetwork } from "../../../scripts/lib/deploy.js";
import { deployInfernet, type InfernetDeployOptions } from "../../../scripts/lib/deploy-infernet.js";
import { DAY, E, TRAINER, VALIDATOR, type Connection, type Wallet } from "../../poai/helpers/world.js";

export { DAY, E, TRAINER, VALIDATOR, type Connection, type Wallet };

export const ETH = zeroAddress;
/** The container id as Infernet hashes it: keccak256(abi.encode(string)). */
export const containerHash = (id: string): Hex => keccak256(encodeAbiParameters([{ type: "string" }], [id]));
export const word = (n: bigint | number): Hex => toHex(BigInt(n), { size: 32 });
export const MODEL = "poai-mlp-8-8-4";
export const UINT32_MAX = 2 ** 32 - 1;
/** Infernet's interval key: keccak256(abi.encode(subscriptionId, interval)). */
export const intervalKey = (id: number, interval: number): Hex =>
  keccak256(encodeAbiParameters([{ type: "uint32" }, { type: "uint32" }], [id, interval]));
/** Infernet's node key: keccak256(abi.encode(subscriptionId, interval, node)). */
export const nodeKey = (id: number, interval: number, node: Address): Hex =>
  keccak256(
    encodeAbiParameters([{ type: "uint32" }, { type: "uint32" }, { type: "address" }], [id, interval, node]),
  );

/**
 * Asserts that `p` reverts with `contract`'s custom error `name`, with `args` when given (Infernet's
 * errors carry none).
 */
export function revertsWith(conn: Connection) {
  return (p: Promise<unknown>, contract: { abi: readonly unknown[] }, name: string, args?: unknown[]) =>
    args === undefined || args.length === 0
      ? conn.viem.assertions.revertWithCustomError(p as never, contract as never, name as never)
      : conn.viem.assertions.revertWithCustomErrorWithArgs(
          p as never,
          contract as never,
          name as never,
          args,
        );
}

export type InfernetWorldOptions = Partial<Pick<InfernetDeployOptions, "feeBps" | "commitWindow">> & {
  /** Deploy without a reward distributor (staking-token payments then go to node wallets). */
  noDistributor?: boolean;
};

export async function deployInfernetWorld(conn: Connection, options: InfernetWorldOptions = {}) {
  const { viem } = conn;
  const publicClient = await viem.getPublicClient();
  const wallets = await viem.getWalletClients();
  const [admin] = wallets;
  const trainerWallets = wallets.slice(1, 5);
  const validatorWallet = wallets[5]!;
  const outsider = wallets[6]!;
  const delegatee = wallets[7]!;
  const user = wallets[8]!;
  const feeRecipient = getAddress(wallets[18]!.account.address);
  const treasury = getAddress(wallets[19]!.account.address);

  const d = await deployNetwork(viem, { epochLength: DAY, rewards: { treasury } });
  const models = await viem.deployContract("TestModelRegistry");
  const inf = await deployInfernet(viem, {
    staking: d.staking.address,
    accessManager: d.manager.address,
    ...(options.noDistributor ? {} : { rewardDistributor: d.distributor.address }),
    modelRegistry: models.address,
    feeBps: options.feeBps ?? 0,
    feeRecipient,
    ...(options.commitWindow !== undefined && { commitWindow: options.commitWindow }),
  });
  const erc20 = await viem.deployContract("PlainERC20", [admin!.account.address, E(1_000_000_000)]);

  const bind = async (w: Wallet) => ({
    wallet: w,
    address: getAddress(w.account.address),
    coordinator: await viem.getContractAt("EIP712Coordinator", inf.coordinator.address, {
      client: { wallet: w },
    }),
    staking: await viem.getContractAt("Staking", d.staking.address, { client: { wallet: w } }),
    token: await viem.getContractAt("PoAIToken", d.token.address, { client: { wallet: w } }),
    erc20: await viem.getContractAt("PlainERC20", erc20.address, { client: { wallet: w } }),
    factory: await viem.getContractAt("WalletFactory", inf.walletFactory.address, { client: { wallet: w } }),
    inbox: await viem.getContractAt("Inbox", inf.inbox.address, { client: { wallet: w } }),
  });
  type Bound = Awaited<ReturnType<typeof bind>>;

  const createWallet = async (owner: Bound) => {
    const hash = await owner.factory.write.createWallet([owner.address]);
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    const [ev] = parseEventLogs({
      abi: inf.walletFactory.abi,
      logs: receipt.logs,
      eventName: "WalletCreated",
    });
    const address = getAddress(ev!.args.wallet);
    return {
      address,
      as: (w: Wallet) => viem.getContractAt("Wallet", address, { client: { wallet: w } }),
      read: (await viem.getContractAt("Wallet", address)).read,
    };
  };
  type NodeWallet = Awaited<ReturnType<typeof createWallet>>;

  const trainers: (Bound & { nodeWallet: NodeWallet })[] = [];
  for (const w of trainerWallets) {
    const b = await bind(w);
    await d.token.write.transfer([b.address, E(100_000)]);
    await b.token.write.approve([d.staking.address, maxUint256]);
    await b.staking.write.register([TRAINER, E(5000), 1000, 2000, "https://trainer.example", "H100"]);
    const nodeWallet = await createWallet(b);
    trainers.push({ ...b, nodeWallet });
  }
  const validator = await bind(validatorWallet);
  await d.token.write.transfer([validator.address, E(10_000)]);
  await validator.token.write.approve([d.staking.address, maxUint256]);
  await validator.staking.write.register([
    VALIDATOR,
    E(2000),
    1000,
    2000,
    "https://validator.example",
    "CPU",
  ]);

  const u = await bind(user);
  const consumer = await viem.deployContract("TestCallbackConsumer", [
    inf.registry.address,
    delegatee.account.address,
  ]);
  const subConsumer = await viem.deployContract("TestSubscriptionConsumer", [
    inf.registry.address,
    delegatee.account.address,
  ]);
  const consumerWallet = await createWallet(u);
  const fund = async (token: Address, amount: bigint) => {
    if (token === ETH) await u.wallet.sendTransaction({ to: consumerWallet.address, value: amount });
    else if (getAddress(token) === getAddress(d.token.address))
      await d.token.write.transfer([consumerWallet.address, amount]);
    else await erc20.write.transfer([consumerWallet.address, amount]);
  };
  const userWallet = await consumerWallet.as(user);
  const approve = async (spender: Address, token: Address, amount: bigint) =>
    userWallet.write.approve([spender, token, amount]);
  for (const token of [ETH, d.token.address, erc20.address]) {
    await fund(token, token === ETH ? E(100) : E(100_000));
    for (const c of [consumer.address, subConsumer.address]) await approve(c, token, maxUint256);
  }
  // Node wallets approve their node for collateral and hold some of every token.
  for (const t of trainers) {
    const nw = await t.nodeWallet.as(t.wallet);
    await t.wallet.sendTransaction({ to: t.nodeWallet.address, value: E(10) });
    await d.token.write.transfer([t.nodeWallet.address, E(10_000)]);
    await erc20.write.transfer([t.nodeWallet.address, E(10_000)]);
    for (const token of [ETH, d.token.address, erc20.address])
      await nw.write.approve([t.address, token, maxUint256]);
  }

  const verifierWallet = getAddress(wallets[17]!.account.address);
  const optimistic = await viem.deployContract("TestVerifier", [true, verifierWallet]);
  const proofVerifier = await viem.deployContract("TestVerifier", [false, verifierWallet]);
  for (const v of [optimistic, proofVerifier]) {
    await v.write.setCoordinator([inf.coordinator.address]);
    for (const token of [ETH, d.token.address, erc20.address]) await v.write.setFee([token, true, 0n]);
  }

  const latest = async () => (await publicClient.getBlock()).timestamp;
  const gasOf = async (hash: Hex) => (await publicClient.waitForTransactionReceipt({ hash })).gasUsed;
  const receipt = (hash: Hex) => publicClient.waitForTransactionReceipt({ hash });
  /** The subscription id a transaction created (from SubscriptionCreated). */
  const createdId = async (hash: Hex) => {
    const r = await publicClient.waitForTransactionReceipt({ hash });
    const logs = parseEventLogs({ abi: inf.coordinator.abi, logs: r.logs, eventName: "SubscriptionCreated" });
    return logs[0]!.args.id;
  };

  return {
    conn,
    viem,
    publicClient,
    ...d,
    ...inf,
    models,
    erc20,
    admin: await bind(admin!),
    trainers,
    validator,
    outsider: await bind(outsider),
    delegatee,
    user: u,
    consumer,
    subConsumer,
    consumerWallet,
    userWallet,
    fund,
    approve,
    optimistic,
    proofVerifier,
    verifierWallet,
    feeRecipient,
    treasury,
    bind,
    createWallet,
    latest,
    gasOf,
    receipt,
    createdId,
  };
}

export type InfernetWorld = Awaited<ReturnType<typeof deployInfernetWorld>>;
export type Trainer = InfernetWorld["trainers"][number];
export type ContractOf<N extends string> = ContractReturnType<N>;

/** A subscription as `createSubscriptionDelegatee` takes it. */
export type SubscriptionArg = {
  owner: Address;
  activeAt: number;
  period: number;
  frequency: number;
  redundancy: number;
  containerId: Hex;
  lazy: boolean;
  verifier: Address;
  paymentAmount: bigint;
  paymentToken: Address;
  wallet: Address;
};

export const SUBSCRIPTION_TYPES = {
  DelegateSubscription: [
    { name: "nonce", type: "uint32" },
    { name: "expiry", type: "uint32" },
    { name: "sub", type: "Subscription" },
  ],
  Subscription: [
    { name: "owner", type: "address" },
    { name: "activeAt", type: "uint32" },
    { name: "period", type: "uint32" },
    { name: "frequency", type: "uint32" },
    { name: "redundancy", type: "uint16" },
    { name: "containerId", type: "bytes32" },
    { name: "lazy", type: "bool" },
    { name: "verifier", type: "address" },
    { name: "paymentAmount", type: "uint256" },
    { name: "paymentToken", type: "address" },
    { name: "wallet", type: "address" },
  ],
} as const;

/** Signs DelegateSubscription(nonce, expiry, sub) for `coordinator` with `signer`'s key. */
export async function signDelegateSubscription(
  w: InfernetWorld,
  signer: Wallet,
  nonce: number,
  expiry: number,
  sub: SubscriptionArg,
): Promise<{ v: number; r: Hex; s: Hex; signature: Hex }> {
  const signature = await signer.signTypedData({
    account: signer.account,
    domain: {
      name: "InfernetCoordinator",
      version: "1",
      chainId: await w.publicClient.getChainId(),
      verifyingContract: w.coordinator.address,
    },
    types: SUBSCRIPTION_TYPES,
    primaryType: "DelegateSubscription",
    message: { nonce, expiry, sub },
  });
  const r = `0x${signature.slice(2, 66)}` as Hex;
  const s = `0x${signature.slice(66, 130)}` as Hex;
  const v = parseInt(signature.slice(130, 132), 16);
  return { v, r, s, signature };
}
