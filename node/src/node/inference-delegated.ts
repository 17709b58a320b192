/**
 * Delegated subscriptions posted to the REST API (`POST /api/jobs` with `{subscription,
 * signature, data}`), carried on chain as infernet-node carries them:
 *
 * 1. accepted after the filters (`accept`): the signature has not expired, the subscription's
 *    `containers` hash names a container or chain the node serves, the first is external, the last
 *    makes proofs if a verifier needs them, every container allows the owner
 *    (`allowedDelegateAddresses`), and the payment is one the containers accept;
 * 2. checked (`serve`, each tick): the EIP-712 signature must be from the owner's delegated signer
 *    (`Delegator.getSigner()`; an EOA's signature or an ERC-1271 contract's), else it is `refused`;
 * 3. once active, its containers run on the posted `data` with `source` 1 (off-chain) and
 *    `destination` 0 (on chain), the output stored (`ran`);
 * 4. delivered with `deliverComputeDelegatee` (created and delivered in one transaction), after a
 *    simulation; with redundancy above 1 it is created with `createSubscriptionDelegatee` and its
 *    stored output goes through commit and reveal like any other. Later intervals of a recurring
 *    subscription are served from the chain like any subscription.
 *
 * The nonce of the account is stored before a transaction is sent, so a restart looks on chain
 * (`delegateCreatedIds`, `nodeResponded`) before sending again.
 */
import {
  encodeAbiParameters,
  encodeFunctionData,
  getAddress,
  isAddress,
  keccak256,
  numberToHex,
  serializeSignature,
  zeroAddress,
  type Address,
  type Hash,
  type Hex,
} from "viem";
import { call, getTransactionCount, readContract, verifyTypedData } from "viem/actions";
import { delegatorAbi, eip712CoordinatorAbi } from "@poai/sdk";
import {
  COORDINATOR_EIP712_NAME,
  COORDINATOR_EIP712_VERSION,
  DELEGATEE_SUBSCRIPTION_TYPES,
  intervalAt,
  type SignedSubscription,
  type SubscriptionStruct,
} from "@poai/sdk";
import type { PoAIClient } from "@poai/sdk";
import type { Logger } from "../daemon/index.js";
import { PoAIContractError, toPoAIError } from "@poai/sdk";
import type { DelegatedRequest, GuardianError } from "./api/server.js";
import type { DelegatedRecord, DelegatedStore } from "./api/store.js";
import {
  checkDeliverySize,
  JOB_LOCATION,
  runChain,
  serializeContainerOutput,
  type ContainerDelivery,
} from "./containers/index.js";
import type { ResolvedInferenceOptions, ResolvedPipeline } from "./inference-options.js";
import type { InferenceStore } from "./inference-store.js";
import type { SerialQueue } from "./inference-work.js";

/** What the delegated flow needs from the node. */
export interface DelegatedContext {
  client: PoAIClient;
  address: Address;
  options: ResolvedInferenceOptions;
  store: InferenceStore;
  delegated: DelegatedStore;
  log: Logger;
  sends: SerialQueue;
  chainNow(): bigint | null;
  rpc<T>(read: () => Promise<T>): Promise<T>;
  refusal(
    pipeline: ResolvedPipeline,
    s: Pick<SubscriptionStruct, "owner" | "verifier" | "paymentAmount" | "paymentToken">,
    delegated: boolean,
  ): { filter: string; reason: string } | undefined;
}

const addr = (field: string, v: string): Address => {
  if (!isAddress(v, { strict: false })) throw new Error(`subscription.${field} must be an address, got ${v}`);
  return getAddress(v);
};

export class DelegatedSubscriptions {
  constructor(private readonly c: DelegatedContext) {}

  private get coordinator(): Address {
    return this.c.client.deployment.contracts.eip712Coordinator ?? this.c.options.coordinator;
  }

  /** infernet-node's guardian for a delegated subscription; records it when it passes. */
  accept(request: DelegatedRequest, client: string): GuardianError | undefined {
    const { subscription: s, signature } = request;
    const now = this.c.chainNow() ?? BigInt(Math.floor(Date.now() / 1000));
    if (BigInt(signature.expiry) < now) {
      return { error: "Signature expired", params: { expiry: signature.expiry } };
    }
    let containerId: Hex;
    let sub: SubscriptionStruct;
    try {
      const hash = s.containers.startsWith("0x") ? s.containers : `0x${s.containers}`;
      if (!/^0x[0-9a-fA-F]{64}$/.test(hash))
        throw new Error(`subscription.containers must be a 32-byte hash, got ${s.containers}`);
      containerId = hash.toLowerCase() as Hex;
      sub = {
        owner: addr("owner", s.owner),
        activeAt: s.activeAt,
        period: s.period,
        frequency: s.frequency,
        redundancy: s.redundancy,
        containerId,
        lazy: s.lazy,
        verifier: addr("verifier", s.verifier),
        paymentAmount: s.paymentAmount,
        paymentToken: addr("payment_token", s.paymentToken),
        wallet: addr("wallet", s.wallet),
      };
    } catch (err) {
      return { error: "Invalid subscription", params: { reason: (err as Error).message } };
    }
    if (sub.frequency < 1 || sub.redundancy < 1) {
      return {
        error: "Invalid subscription",
        params: { reason: "frequency and redundancy must be at least 1" },
      };
    }
    const pipeline = this.c.options.pipelines.get(containerId);
    if (!pipeline) return { error: "Container not supported", params: { containers: containerId } };
    for (const rc of pipeline.containers) {
      if (typeof rc.container.call !== "function") {
        return { error: "Container does not answer off-chain jobs", params: { container: rc.id } };
      }
    }
    const refused = this.c.refusal(pipeline, sub, true);
    if (refused) {
      const messages: Record<string, string> = {
        external: "First container must be external",
        consumer: "Container not allowed for address",
        proof: "Container does not generate proof",
        payment: "Invalid payment",
      };
      return {
        error: messages[refused.filter] ?? refused.reason,
        params: { reason: refused.reason, address: sub.owner },
      };
    }
    const r = numberToHex(signature.r, { size: 32 });
    const sHex = numberToHex(signature.s, { size: 32 });
    this.c.delegated.put(
      {
        owner: sub.owner,
        nonce: signature.nonce,
        expiry: signature.expiry,
        subscription: sub,
        v: signature.v,
        r,
        s: sHex,
        data: request.data,
        client,
      },
      "tracking",
      null,
    );
    this.c.log.info(
      { owner: sub.owner, nonce: signature.nonce, containers: pipeline.name },
      "delegated subscription received",
    );
    return undefined;
  }

  private signed(d: DelegatedRecord): SignedSubscription {
    return {
      nonce: d.nonce,
      expiry: d.expiry,
      subscription: d.subscription,
      v: d.v,
      r: d.r,
      s: d.s,
      signature: serializeSignature({ r: d.r, s: d.s, v: BigInt(d.v) }),
    };
  }

  /** The id the signature created on chain, or 0. */
  private async createdId(d: DelegatedRecord): Promise<number> {
    const key = keccak256(encodeAbiParameters([{ type: "address" }, { type: "uint32" }], [d.owner, d.nonce]));
    return Number(
      await this.c.rpc(() =>
        readContract(this.c.client.publicClient, {
          address: this.coordinator,
          abi: eip712CoordinatorAbi,
          functionName: "delegateCreatedIds",
          args: [key],
        }),
      ),
    );
  }

  /** Whether the owner's delegated signer signed `d`. */
  private async signatureValid(d: DelegatedRecord): Promise<string | undefined> {
    let signer: Address = zeroAddress;
    try {
      signer = await readContract(this.c.client.publicClient, {
        address: d.owner,
        abi: delegatorAbi,
        functionName: "getSigner",
      });
    } catch {
      // infernet-node: no signer is the zero address, which signs nothing.
    }
    if (signer === zeroAddress) return `${d.owner} names no delegated signer (Delegator.getSigner)`;
    const ok = await this.c.rpc(() =>
      verifyTypedData(this.c.client.publicClient, {
        address: signer,
        domain: {
          name: COORDINATOR_EIP712_NAME,
          version: COORDINATOR_EIP712_VERSION,
          chainId: this.c.client.deployment.chainId,
          verifyingContract: this.coordinator,
        },
        types: DELEGATEE_SUBSCRIPTION_TYPES,
        primaryType: "DelegateSubscription",
        message: { nonce: d.nonce, expiry: d.expiry, sub: d.subscription },
        signature: this.signed(d).signature,
      }),
    );
    return ok ? undefined : `the signature is not from ${d.owner}'s delegated signer ${signer}`;
  }

  /** Moves every open delegated subscription on; a failure stays with its subscription. */
  async serve(signal: AbortSignal): Promise<void> {
    for (const d of this.c.delegated.open()) {
      signal.throwIfAborted();
      try {
        await this.advance(d, signal);
      } catch (err) {
        if (signal.aborted) throw err;
        this.fail(d, (err as Error)?.message ?? String(err));
      }
    }
  }

  private fail(d: DelegatedRecord, error: string): void {
    const attempts = d.attempts + 1;
    const state = attempts >= this.c.options.maxAttempts ? "failed" : d.state === "sending" ? "ran" : d.state;
    this.c.delegated.update(d.owner, d.nonce, { attempts, error, state });
    this.c.log.warn({ owner: d.owner, nonce: d.nonce, attempts, error }, "delegated subscription failed");
  }

  private async advance(record: DelegatedRecord, signal: AbortSignal): Promise<void> {
    let d = record;
    const now = this.c.chainNow()!;
    const sub = d.subscription;
    if (d.state === "sending") {
      d = await this.reconcile(d);
      if (d.state !== "ran") return;
    }
    if (d.interval === null) {
      const invalid = await this.signatureValid(d);
      if (invalid) {
        this.c.delegated.update(d.owner, d.nonce, { state: "refused", error: invalid });
        this.c.log.warn(
          { owner: d.owner, nonce: d.nonce, reason: invalid },
          "delegated subscription refused",
        );
        return;
      }
    }
    if (now < BigInt(sub.activeAt)) return;
    const interval = intervalAt(sub, now);
    if (interval > sub.frequency) {
      this.c.delegated.update(d.owner, d.nonce, { state: "expired", error: "past its last interval" });
      return;
    }
    if (d.state === "ran" && d.interval !== interval)
      d = this.c.delegated.update(d.owner, d.nonce, { state: "tracking" });
    if (d.state === "tracking") {
      const delivery = await this.compute(d, signal);
      d = this.c.delegated.update(d.owner, d.nonce, {
        state: "ran",
        interval,
        input: delivery.input,
        output: delivery.output,
        proof: delivery.proof,
        error: null,
      });
    }
    const ran = d;
    await this.c.sends.run(() => this.deliver(ran));
  }

  /** Runs the containers on the posted data: source off-chain, destination on chain. */
  private async compute(d: DelegatedRecord, signal: AbortSignal): Promise<ContainerDelivery> {
    const pipeline = this.c.options.pipelines.get(d.subscription.containerId.toLowerCase() as Hex);
    if (!pipeline) throw new Error(`container ${d.subscription.containerId} is no longer served`);
    const chain = await runChain(
      pipeline.containers.map((c) => c.container),
      {
        source: JOB_LOCATION.offchain,
        destination: JOB_LOCATION.onchain,
        data: d.data,
        requiresProof: d.subscription.verifier !== zeroAddress,
        signal,
      },
    );
    const last = chain.results[chain.results.length - 1]!;
    if (!("output" in last)) throw new Error(`container ${last.container}: ${last.error}`);
    const max = (
      pipeline.containers[pipeline.containers.length - 1]!.container as { maxDeliveryBytes?: number }
    ).maxDeliveryBytes;
    return checkDeliverySize(
      pipeline.name,
      serializeContainerOutput(last.container, last.output),
      max ?? 32 * 1024,
    );
  }

  private deliveryData(d: DelegatedRecord): Hex {
    const sg = this.signed(d);
    return encodeFunctionData({
      abi: eip712CoordinatorAbi,
      functionName: "deliverComputeDelegatee",
      args: [
        sg.nonce,
        sg.expiry,
        sg.subscription,
        sg.v,
        sg.r,
        sg.s,
        d.interval!,
        d.input!,
        d.output!,
        d.proof ?? "0x",
        this.c.options.paymentWallet ?? zeroAddress,
      ],
    });
  }

  /** Simulates, records `sending` with the nonce, sends and confirms. */
  private async deliver(d: DelegatedRecord): Promise<void> {
    const existing = await this.createdId(d);
    if (existing !== 0) {
      const responded = await this.c.rpc(() =>
        this.c.client.inference.hasNodeResponded({
          subscriptionId: existing,
          interval: d.interval!,
          node: this.c.address,
        }),
      );
      if (responded) {
        this.adopt(d, existing, "delivered");
        return;
      }
    }
    const redundant = d.subscription.redundancy > 1;
    const data = redundant
      ? encodeFunctionData({
          abi: eip712CoordinatorAbi,
          functionName: "createSubscriptionDelegatee",
          args: [d.nonce, d.expiry, d.subscription, d.v, d.r, d.s],
        })
      : this.deliveryData(d);
    if (!(redundant && existing !== 0)) {
      try {
        await call(this.c.client.publicClient, { account: this.c.address, to: this.coordinator, data });
      } catch (err) {
        const decoded = toPoAIError(err, {
          contractAddress: this.coordinator,
          functionName: "deliverComputeDelegatee",
        });
        if (decoded instanceof PoAIContractError)
          throw new Error(`the delivery would revert: ${decoded.message}`, { cause: err });
        throw err;
      }
    }
    let id = existing;
    if (!(redundant && existing !== 0)) {
      const nonce = await this.c.rpc(() =>
        getTransactionCount(this.c.client.publicClient, { address: this.c.address, blockTag: "pending" }),
      );
      this.c.delegated.update(d.owner, d.nonce, { state: "sending", txNonce: nonce, txHash: null });
      const hash: Hash = redundant
        ? await this.c.client.inference.createSubscriptionDelegatee({ signed: this.signed(d) })
        : await this.c.client.inference.deliverComputeDelegatee({
            signed: this.signed(d),
            interval: d.interval!,
            input: d.input!,
            output: d.output!,
            proof: d.proof ?? "0x",
            ...(this.c.options.paymentWallet !== undefined && { nodeWallet: this.c.options.paymentWallet }),
          });
      this.c.delegated.update(d.owner, d.nonce, { txHash: hash });
      await this.c.client.waitForTransaction(hash, { confirmations: this.c.options.confirmations });
      id = await this.createdId(d);
    }
    this.adopt(this.c.delegated.get(d.owner, d.nonce)!, id, redundant ? "ran" : "delivered");
  }

  /**
   * Records the subscription the signature created as one the node tracks, with this interval's
   * delivery: delivered, or (redundancy > 1) its stored output, to be committed and revealed.
   */
  private adopt(d: DelegatedRecord, id: number, state: "delivered" | "ran"): void {
    const pipeline = this.c.options.pipelines.get(d.subscription.containerId.toLowerCase() as Hex);
    this.c.store.addSubscription(id, d.subscription, "tracking", pipeline?.name ?? null, null);
    const existing = this.c.store.delivery(id, d.interval!);
    if (existing === undefined) {
      this.c.store.startDelivery(id, d.interval!);
      this.c.store.updateDelivery(id, d.interval!, {
        state,
        input: d.input,
        output: d.output,
        proof: d.proof,
        txHash: state === "delivered" ? d.txHash : null,
        error: null,
      });
    }
    this.c.delegated.update(d.owner, d.nonce, {
      state: state === "delivered" ? "delivered" : "created",
      subscriptionId: id,
      error: null,
    });
    this.c.log.info(
      { owner: d.owner, nonce: d.nonce, subscription: id, interval: d.interval },
      "delegated subscription carried on chain",
    );
  }

  /** After a restart in `sending`: the chain says whether the transaction landed. */
  private async reconcile(d: DelegatedRecord): Promise<DelegatedRecord> {
    const id = await this.createdId(d);
    if (id !== 0) {
      if (d.subscription.redundancy > 1) {
        this.adopt(d, id, "ran");
        return this.c.delegated.get(d.owner, d.nonce)!;
      }
      const responded = await this.c.rpc(() =>
        this.c.client.inference.hasNodeResponded({
          subscriptionId: id,
          interval: d.interval!,
          node: this.c.address,
        }),
      );
      if (responded) {
        this.adopt(d, id, "delivered");
        return this.c.delegated.get(d.owner, d.nonce)!;
      }
    }
    const [mined, pending] = await this.c.rpc(() =>
      Promise.all([
        getTransactionCount(this.c.client.publicClient, { address: this.c.address, blockTag: "latest" }),
        getTransactionCount(this.c.client.publicClient, { address: this.c.address, blockTag: "pending" }),
      ]),
    );
    if (d.txNonce !== null && mined <= d.txNonce && pending > d.txNonce) return d;
    return this.c.delegated.update(d.owner, d.nonce, { state: "ran", txNonce: null, txHash: null });
  }
}
