/**
 * The inference marketplace: registered models, their usage per epoch (deliveries and fees the
 * Coordinator recorded for the reward split), recent deliveries, and output disputes.
 */
import { coordinatorAbi, getModelRegistryEvents, getOutputVerifierEvents, type PoAIClient } from "@poai/sdk";
import { getAddress, type Address, type Hex } from "viem";
import { readContract } from "viem/actions";

/** Epochs of usage the marketplace charts. */
export const USAGE_EPOCHS = 12;
/** Deliveries listed, newest first. */
export const RECENT_DELIVERIES = 50;

export interface ModelRow {
  containerId: Hex;
  /** The container id string the model was registered under. */
  name: string;
  trainer: Address;
  widths: number[];
  weightsHash: Hex;
  active: boolean;
  /** The valid challenge the weights are bound to (zero: none). */
  challengeId: Hex;
  deliveries: bigint;
  fees: bigint;
}

export interface DeliveryRow {
  subscriptionId: number;
  node: Address;
  blockNumber: bigint;
  transactionHash: Hex;
}

export interface DisputeRow {
  subscriptionId: number;
  interval: number;
  node: Address;
  disputer: Address;
  containerId: Hex;
  /** Fraction of the node's pool slashed (1e18 = 100%). */
  slashFraction: bigint;
  blockNumber: bigint;
}

export interface Marketplace {
  epoch: bigint;
  models: ModelRow[];
  /** Usage per epoch (oldest first) and model, in the order of `models`. */
  usage: { epochs: bigint[]; deliveries: bigint[][]; fees: bigint[][] };
  subscriptions: number;
  deliveries: { total: number; recent: DeliveryRow[] };
  /** `null`: the deployment has no PoAIVerifier. */
  verification: { requested: number; accepted: number; disputes: DisputeRow[] } | null;
}

/** `null` when the deployment has no marketplace (no Coordinator). */
export async function loadMarketplace(client: PoAIClient): Promise<Marketplace | null> {
  const c = client.deployment.contracts;
  if (!c.coordinator) return null;
  const [epoch, registered, fulfilled, verified, flushed, subscriptions, requested, accepted, disputed] =
    await Promise.all([
      client.inference.getUsageEpoch(),
      c.modelRegistry ? getModelRegistryEvents(client, { eventName: "ModelRegistered" }) : [],
      client.inference.getEvents({ eventName: "SubscriptionFulfilled" }),
      client.inference.getEvents({ eventName: "ProofVerified" }),
      client.inference.getEvents({ eventName: "UsageFeesFlushed" }),
      client.inference.getSubscriptionCount(),
      c.poaiVerifier ? getOutputVerifierEvents(client, { eventName: "OutputVerificationRequested" }) : [],
      c.poaiVerifier ? getOutputVerifierEvents(client, { eventName: "OutputAccepted" }) : [],
      c.poaiVerifier ? getOutputVerifierEvents(client, { eventName: "OutputDisputed" }) : [],
    ]);
  const first = epoch >= BigInt(USAGE_EPOCHS - 1) ? epoch - BigInt(USAGE_EPOCHS - 1) : 0n;
  const epochs: bigint[] = [];
  for (let e = first; e <= epoch; e++) epochs.push(e);
  const names = new Map<Hex, string>();
  for (const e of registered) names.set(e.args.containerId, e.args.containerIdString);
  const ids = [...names.keys()];
  // The Coordinator keeps one usage record per (node, model): the latest epoch's accepted
  // deliveries and the fees not flushed yet. Each epoch's count is the record as it stood at the
  // last delivery or verification of that epoch (read at that block); fees are those flushed to the
  // RewardDistributor plus those still pending.
  const models = await Promise.all(ids.map((containerId) => client.inference.getModel({ containerId })));
  const modelOf = new Map<number, Hex>();
  const touches = new Map<string, { node: Address; subscriptionId: number; blockNumber: bigint }>();
  for (const e of [...fulfilled, ...verified]) {
    const node = getAddress(e.args.node!);
    const subscriptionId = Number(e.args.id);
    touches.set(`${node}:${subscriptionId}:${e.blockNumber}`, {
      node,
      subscriptionId,
      blockNumber: e.blockNumber,
    });
  }
  await Promise.all(
    [...new Set([...touches.values()].map((t) => t.subscriptionId))].map(async (subscriptionId) => {
      const sub = await client.inference.getSubscription({ subscriptionId });
      modelOf.set(subscriptionId, sub.containerId);
    }),
  );
  const counted = new Map<string, bigint>(); // `${model}:${node}:${epoch}` -> deliveries
  const nodesOf = new Map<Hex, Set<Address>>();
  await Promise.all(
    [...touches.values()].map(async (t) => {
      const containerId = modelOf.get(t.subscriptionId)!;
      if (!names.has(containerId)) return;
      nodesOf.set(containerId, (nodesOf.get(containerId) ?? new Set()).add(t.node));
      const u = await client.inference.getUsage({ node: t.node, containerId, blockNumber: t.blockNumber });
      const key = `${containerId}:${t.node}:${u.epoch}`;
      if (u.deliveries > (counted.get(key) ?? 0n)) counted.set(key, u.deliveries);
    }),
  );
  const deliveries = ids.map((id) =>
    epochs.map((e) =>
      [...(nodesOf.get(id) ?? [])].reduce((s, node) => s + (counted.get(`${id}:${node}:${e}`) ?? 0n), 0n),
    ),
  );
  const pending = await Promise.all(
    ids.map(async (containerId) => {
      const nodes = [...(nodesOf.get(containerId) ?? [])];
      const left = await Promise.all(
        nodes.map((node) => client.inference.getPendingUsageFees({ node, containerId })),
      );
      return left.reduce((s, x) => s + x, 0n);
    }),
  );
  const epochAt = (blockNumber: bigint) =>
    readContract(client.publicClient, {
      address: c.coordinator!,
      abi: coordinatorAbi,
      functionName: "currentEpoch",
      blockNumber,
    });
  const flushedOf = new Map<Hex, bigint>();
  const flushedPerEpoch = new Map<string, bigint>();
  for (const e of flushed) {
    const containerId = e.args.containerId!;
    flushedOf.set(containerId, (flushedOf.get(containerId) ?? 0n) + e.args.amount!);
    const epochOfFlush = await epochAt(e.blockNumber);
    const key = `${containerId}:${epochOfFlush}`;
    flushedPerEpoch.set(key, (flushedPerEpoch.get(key) ?? 0n) + e.args.amount!);
  }
  const totalFees = ids.map((id, i) => (flushedOf.get(id) ?? 0n) + pending[i]!);
  const fees = ids.map((id) => epochs.map((e) => flushedPerEpoch.get(`${id}:${e}`) ?? 0n));
  return {
    epoch,
    models: models.map((m, i) => ({
      containerId: m.containerId,
      name: names.get(ids[i]!)!,
      trainer: m.trainer,
      widths: m.widths,
      weightsHash: m.weightsHash,
      active: m.active,
      challengeId: m.challengeId,
      deliveries: [...counted].filter(([k]) => k.startsWith(`${ids[i]}:`)).reduce((s, [, x]) => s + x, 0n),
      fees: totalFees[i]!,
    })),
    usage: { epochs, deliveries, fees },
    subscriptions: Number(subscriptions),
    deliveries: {
      total: fulfilled.length,
      recent: fulfilled
        .slice(-RECENT_DELIVERIES)
        .reverse()
        .map((e) => ({
          subscriptionId: Number(e.args.id),
          node: getAddress(e.args.node),
          blockNumber: e.blockNumber,
          transactionHash: e.transactionHash,
        })),
    },
    verification: c.poaiVerifier
      ? {
          requested: requested.length,
          accepted: accepted.length,
          disputes: disputed.map((e) => ({
            subscriptionId: Number(e.args.subscriptionId),
            interval: Number(e.args.interval),
            node: getAddress(e.args.node),
            disputer: getAddress(e.args.disputer),
            containerId: e.args.containerId,
            slashFraction: e.args.slashFraction,
            blockNumber: e.blockNumber,
          })),
        }
      : null,
  };
}
