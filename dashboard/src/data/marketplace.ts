/**
 * The inference marketplace: registered models, their usage per epoch (deliveries and fees the
 * Coordinator recorded for the reward split), recent deliveries, and output disputes.
 */
import { getModelRegistryEvents, getOutputVerifierEvents, type PoAIClient } from "@poai/sdk";
import { getAddress, type Address, type Hex } from "viem";

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
  const [epoch, registered, fulfilled, subscriptions, requested, accepted, disputed] = await Promise.all([
    client.inference.getUsageEpoch(),
    c.modelRegistry ? getModelRegistryEvents(client, { eventName: "ModelRegistered" }) : [],
    client.inference.getEvents({ eventName: "SubscriptionFulfilled" }),
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
  const [models, usage] = await Promise.all([
    Promise.all(ids.map((containerId) => client.inference.getModel({ containerId }))),
    Promise.all(
      ids.map((containerId) =>
        Promise.all(epochs.map((e) => client.inference.getModelUsage({ containerId, epoch: e }))),
      ),
    ),
  ]);
  const deliveries = usage.map((perEpoch) => perEpoch.map((u) => u.deliveries));
  const fees = usage.map((perEpoch) => perEpoch.map((u) => u.fees));
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
      deliveries: deliveries[i]!.reduce((s, x) => s + x, 0n),
      fees: fees[i]!.reduce((s, x) => s + x, 0n),
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
