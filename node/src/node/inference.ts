/**
 * The inference node: serves the Coordinator's subscriptions with Infernet containers (over HTTP)
 * and PoAI's built-in integer-model container, and delivers their outputs on chain.
 *
 * Each `tick()`:
 * 1. reads the head and stays `lagBlocks` behind it (reorg safety); reads the `SubscriptionCreated`
 *    events since its cursor and the new subscriptions in Reader batches at that block, and
 *    records each as `tracking` or `ignored` (unknown container, consumer not allowed, payment
 *    token or amount below the container's minimum, no payment wallet of its own to be paid in);
 * 2. re-reads the tracked subscriptions (Reader batches) and drops the cancelled and completed;
 * 3. only while its account is an active trainer: for every tracked subscription in an active
 *    interval it has not worked on, checks the interval is not full and the consumer's wallet can
 *    pay, reads `getContainerInputs`, runs the container, stores the output, simulates the
 *    delivery (`eth_call`; one that would revert is skipped, nothing is sent), records `sending`
 *    with its nonce and sends `deliverCompute`. Failures are retried up to `maxAttempts`.
 *
 * A crash at any point resumes without a second delivery: an output on disk is delivered without
 * running the container again, and a delivery in `sending` is looked up on chain (`nodeResponded`,
 * the account's nonce) before anything is sent again.
 *
 * One HTTP server carries `/healthz`, `/status`, `/metrics` and `/subscriptions`.
 *
 * The protected hooks (`runContainer`, `sendDelivery`, `onOutputPersisted`) hold the honest
 * behaviour; a subclass can change one step (tests build crashing nodes this way).
 */
import { randomBytes } from "node:crypto";
import { bytesToHex, getAddress, keccak256, type Address, type Hash, type Hex } from "viem";
import { getBlock, getBlockNumber, getTransactionCount, getTransactionReceipt } from "viem/actions";
import { Registry } from "prom-client";
import {
  computeCommitment,
  intervalAt,
  subscriptionPhase,
  UINT32_MAX,
  type DeliveryArgs,
  type SubscriptionView,
} from "@poai/sdk";
import { OPERATOR_STATUS } from "@poai/sdk";
import type { PoAIClient } from "@poai/sdk";
import {
  DaemonLoop,
  createLogger,
  httpError,
  json,
  serve,
  standardRoutes,
  withRetry,
  type Logger,
  type RunningServer,
} from "../daemon/index.js";
import { PoAIContractError, PoAIInputError, isPoAIContractError } from "@poai/sdk";
import {
  ContainerError,
  checkDeliverySize,
  runChain,
  serializeContainerOutput,
  type ContainerDelivery,
  type ContainerJob,
} from "./containers/index.js";
import { readContainerInputs, SerialQueue, pool } from "./inference-work.js";
import { InferenceApi } from "./api/server.js";
import { DelegatedStore, JobStore } from "./api/store.js";
import { DelegatedSubscriptions } from "./inference-delegated.js";
import { INFERENCE_NODE_VERSION } from "./api/version.js";
import { inferenceMetrics, type InferenceMetrics } from "./inference-metrics.js";
import {
  resolveInferenceOptions,
  type InferenceNodeOptions,
  type ResolvedPipeline,
  type ResolvedInferenceOptions,
} from "./inference-options.js";
import { InferenceStates, type InferenceSource } from "@poai/sdk/compute";
import { InferenceDisputes, type HeldModel, type RecordedDelivery } from "../disputes/inference.js";
import type { GameStatus } from "../disputes/player.js";
import { PoAIModelContainer } from "./containers/poai-model.js";
import {
  InferenceStore,
  OPEN_DELIVERY_STATES,
  type DeliveryRecord,
  type SubscriptionData,
  type SubscriptionRecord,
} from "./inference-store.js";

const ZERO = "0x0000000000000000000000000000000000000000";

/** What `status()` (and `GET /status`) reports. */
export interface InferenceStatus {
  address: Address;
  serverUrl: string;
  /** Whether the account was an active trainer at the last tick (the node delivers only then). */
  activeTrainer: boolean | null;
  containers: { id: string; containerId: Hex; generatesProof: boolean }[];
  headBlock: bigint | null;
  cursorBlock: bigint | null;
  chainTime: bigint | null;
  subscriptions: Record<string, number>;
  deliveries: Record<string, number>;
  lastError: { at: string; message: string } | null;
  ticks: number;
  stopped: boolean;
  /** Inference games (defences of its deliveries, disputes of others') and watched deliveries by verdict. */
  disputes: {
    games: GameStatus[];
    watched: Record<string, number>;
    /** Per served model (lower-case containerId): its registered parameter root against its checkpoint's. */
    parameterRoots: Record<string, "matches" | "unset" | "differs">;
  } | null;
}

export interface InferenceInit {
  options: ResolvedInferenceOptions;
  store: InferenceStore;
  log: Logger;
}

type Stage = "chain" | "scan" | "refresh" | "disputes" | "serve" | "http";

function toData(s: SubscriptionView): SubscriptionData {
  return {
    owner: getAddress(s.owner),
    activeAt: Number(s.activeAt),
    period: Number(s.period),
    frequency: Number(s.frequency),
    redundancy: Number(s.redundancy),
    containerId: s.containerId.toLowerCase() as Hex,
    lazy: s.lazy,
    verifier: getAddress(s.verifier),
    paymentAmount: BigInt(s.paymentAmount),
    paymentToken: getAddress(s.paymentToken),
    wallet: getAddress(s.wallet),
  };
}

export class InferenceNode extends DaemonLoop {
  protected override readonly log: Logger;
  readonly address: Address;
  readonly metrics: Registry;
  protected readonly client: PoAIClient;
  protected readonly store: InferenceStore;
  protected readonly options: ResolvedInferenceOptions;
  private readonly m: InferenceMetrics;
  private server: RunningServer | undefined;
  private api: InferenceApi | undefined;
  /** Off-chain jobs posted to the REST API. */
  readonly jobs: JobStore;
  protected readonly delegatedStore: DelegatedStore;
  private readonly delegated: DelegatedSubscriptions;
  private head: bigint | null = null;
  /** Subscription id => created with commit-reveal (read once from the Coordinator). */
  private readonly commitRevealOf = new Map<number, boolean>();
  private chainNow: bigint | null = null;
  private active: boolean | null = null;
  private lastError: { at: string; message: string } | null = null;
  private ticks = 0;
  private stage: Stage = "chain";
  private closed = false;
  /** Sends one transaction at a time: the nonce recorded before a send is the one it uses. */
  protected readonly sends = new SerialQueue();
  /** Subscriptions whose work failed: failures in a row and the tick before which they rest. */
  private readonly resting = new Map<number, { failures: number; until: number }>();
  /**
   * Its inference games (docs/disputes.md, "The daemons play"): the defence of its deliveries and,
   * with `watchDeliveries`, the disputes of other nodes' wrong outputs. Absent without a PoAIVerifier.
   */
  readonly inferenceDisputes: InferenceDisputes | undefined;

  /** Starts an inference node: validates the options, opens the database and the HTTP server. */
  static async create<D extends InferenceNode>(
    this: new (init: InferenceInit) => D,
    options: InferenceNodeOptions,
  ): Promise<D> {
    const o = resolveInferenceOptions(options);
    const base =
      o.logger ?? createLogger("poai-inference", o.logLevel === undefined ? {} : { level: o.logLevel });
    const log = base.child({ node: o.address });
    const store = new InferenceStore(o.databasePath, {
      node: o.address,
      chainId: o.client.deployment.chainId,
      coordinator: o.coordinator,
    });
    let node: D | undefined;
    try {
      node = new this({ options: o, store, log });
      await node.open();
      return node;
    } catch (err) {
      if (node) await node.release();
      else store.close();
      throw err;
    }
  }

  constructor(init: InferenceInit) {
    super();
    this.options = init.options;
    this.client = init.options.client;
    this.address = init.options.address;
    this.store = init.store;
    this.log = init.log;
    this.metrics = new Registry();
    this.m = inferenceMetrics(this.metrics, () => this.store);
    this.jobs = new JobStore(this.store.db);
    this.delegatedStore = new DelegatedStore(this.store.db);
    this.delegated = new DelegatedSubscriptions({
      client: this.client,
      address: this.address,
      options: this.options,
      store: this.store,
      delegated: this.delegatedStore,
      log: this.log,
      sends: this.sends,
      chainNow: () => this.chainNow,
      rpc: (read) => this.rpc(read),
      refusal: (pipeline, s, delegated) => this.refusal(pipeline, s, delegated),
    });
    if (this.client.deployment.contracts.poaiVerifier !== undefined) {
      const models = new Map<string, HeldModel>();
      for (const c of this.options.containers.values())
        if (c.container instanceof PoAIModelContainer)
          models.set(c.hash.toLowerCase(), {
            containerId: c.hash,
            widths: c.container.widths,
            checkpoint: c.container.checkpoint,
          });
      this.inferenceDisputes = new InferenceDisputes({
        client: this.client,
        account: this.address,
        db: this.store.db,
        log: this.log,
        models,
        watch: this.options.watchDeliveries,
        disputes: this.options.disputes,
        mode: this.options.disputeMode,
        maxBlockRange: this.options.maxBlockRange,
        ...(this.options.fromBlock !== undefined && { fromBlock: this.options.fromBlock }),
        defenceSource: (d, model) => this.defenceSource(d, model),
      });
    }
  }

  /**
   * The inference the node defends a delivery with: the engine's forward pass of the checkpoint it
   * serves on the recorded input. (A hook: tests build lying nodes by overriding it.)
   */
  protected defenceSource(delivery: RecordedDelivery, model: HeldModel): InferenceSource {
    return new InferenceStates(model.widths, model.checkpoint, Buffer.from(delivery.input.slice(2), "hex"));
  }

  /** The REST API's URL (`http://host:port`), when it is served. */
  get apiUrl(): string | undefined {
    return this.api?.url;
  }

  get serverUrl(): string {
    return this.server?.url ?? "";
  }

  private async open(): Promise<void> {
    this.server = await serve(
      [
        ...standardRoutes(() => this.status(), this.metrics, this),
        {
          method: "GET",
          path: "/subscriptions",
          handler: ({ query }) => {
            const state = query.get("state");
            const states = ["tracking", "ignored", "cancelled", "completed"] as const;
            if (state !== null && !(states as readonly string[]).includes(state)) {
              return httpError(400, `state must be one of ${states.join(", ")}, got ${state.slice(0, 40)}`);
            }
            const subs = this.closed
              ? []
              : this.store.subscriptions(
                  state === null ? undefined : [state as (typeof states)[number]],
                  1000,
                );
            return json(200, { subscriptions: subs.map((s) => this.summary(s)) });
          },
        },
        {
          method: "GET",
          path: "/subscriptions/:id",
          handler: ({ params }) => {
            if (!/^\d{1,10}$/.test(params.id))
              return httpError(400, `subscription id must be a number, got ${params.id.slice(0, 40)}`);
            const sub = this.closed ? undefined : this.store.subscription(Number(params.id));
            if (!sub) return httpError(404, `subscription ${params.id} is not known to this node`);
            return json(200, this.summary(sub));
          },
        },
      ],
      {
        host: this.options.host,
        port: this.options.port,
        onError: (err) => {
          this.m.errors.inc({ stage: "http" });
          this.log.error({ err }, "HTTP handler failed");
        },
      },
    );
    if (this.options.api) {
      this.api = await InferenceApi.start(
        {
          containers: new Map([...this.options.containers.values()].map((c) => [c.id, c])),
          jobs: this.jobs,
          log: this.log,
          address: this.address,
          version: INFERENCE_NODE_VERSION,
          pendingOnchain: () =>
            this.closed
              ? 0
              : this.store.deliveries(OPEN_DELIVERY_STATES).length + this.delegatedStore.pending(),
          acceptDelegated: (request, client) => this.delegated.accept(request, client),
        },
        this.options.api,
      );
    }
    this.log.info(
      {
        api: this.api?.url,
        server: this.server.url,
        containers: [...this.options.containers.values()].map((c) => c.id),
        database: this.options.databasePath,
      },
      "inference node started",
    );
  }

  protected override async release(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.api?.close();
    await this.server?.close();
    this.store.close();
    this.log.info("inference node stopped");
  }

  // --- the work ------------------------------------------------------------------------------------

  protected override async work(signal: AbortSignal): Promise<void> {
    if (this.closed) throw new Error("the inference node is stopped");
    this.ticks++;
    try {
      await this.pass(signal);
    } catch (err) {
      if (!signal.aborted) {
        this.m.errors.inc({ stage: this.stage });
        this.lastError = { at: new Date().toISOString(), message: (err as Error)?.message ?? String(err) };
      }
      throw err;
    }
  }

  private async pass(signal: AbortSignal): Promise<void> {
    this.stage = "chain";
    const head = await this.rpc(() => getBlockNumber(this.client.publicClient, { cacheTime: 0 }));
    const latest = await this.rpc(() => getBlock(this.client.publicClient, { blockTag: "latest" }));
    this.head = head;
    this.chainNow = latest.timestamp;
    this.m.headBlock.set(Number(head));
    const safe = head > this.options.lagBlocks ? head - this.options.lagBlocks : 0n;
    this.stage = "scan";
    await this.scan(safe, signal);
    this.stage = "refresh";
    await this.refresh(safe);
    if (this.inferenceDisputes) {
      // games are played whether or not the account may deliver now (a jailed node still defends)
      this.stage = "disputes";
      this.progress("inference games");
      try {
        await this.inferenceDisputes.tick(safe, signal);
      } catch (err) {
        if (signal.aborted) throw err;
        this.m.errors.inc({ stage: "disputes" });
        this.log.error({ err }, "inference games failed; retried next tick");
      }
    }
    this.active = await this.isActiveTrainer();
    this.m.activeTrainer.set(this.active ? 1 : 0);
    if (!this.active) {
      this.log.debug("not an active trainer: nothing is delivered");
      return;
    }
    this.stage = "serve";
    await this.delegated.serve(signal);
    await this.serveAll(signal);
  }

  /**
   * Works on every subscription with an open delivery or a current interval, `concurrency` at a
   * time. A failure belongs to its subscription: it is logged and counted, the subscription rests
   * for a number of ticks that doubles with each failure in a row (at most 32), and the tick goes
   * on; it never fails the tick, so one consumer cannot slow the node's loop for the others.
   */
  private async serveAll(signal: AbortSignal): Promise<void> {
    const open = new Map<number, DeliveryRecord[]>();
    for (const d of this.store.deliveries(OPEN_DELIVERY_STATES)) {
      open.set(d.subscriptionId, [...(open.get(d.subscriptionId) ?? []), d]);
    }
    const ids = [
      ...new Set([...open.keys(), ...this.store.subscriptions(["tracking"]).map((s) => s.id)]),
    ].sort((a, b) => a - b);
    await pool(ids, this.options.concurrency, async (id) => {
      signal.throwIfAborted();
      const rest = this.resting.get(id);
      if (rest && this.ticks < rest.until) return;
      this.progress(`subscription ${id}`);
      try {
        for (const d of open.get(id) ?? []) {
          await this.advance(this.store.subscription(id)!, d, signal);
        }
        const sub = this.store.subscription(id)!;
        if (sub.state === "tracking") await this.serveInterval(sub, signal);
        this.resting.delete(id);
      } catch (err) {
        if (signal.aborted) throw err;
        const failures = (rest?.failures ?? 0) + 1;
        const ticks = Math.min(32, 2 ** (failures - 1));
        this.resting.set(id, { failures, until: this.ticks + ticks });
        this.m.errors.inc({ stage: "subscription" });
        const message = (err as Error)?.message ?? String(err);
        this.store.setSubscriptionState(id, this.store.subscription(id)!.state, `failed: ${message}`);
        this.log.error({ err, subscription: id, failures, restTicks: ticks }, "subscription failed; resting");
      }
    });
  }

  /** Reads the subscriptions created up to block `safe` and records them, filtered. */
  private async scan(safe: bigint, signal: AbortSignal): Promise<void> {
    const cursor = this.store.cursor();
    let from =
      cursor !== undefined
        ? cursor + 1n
        : (this.options.fromBlock ?? this.client.deployment.deployBlock ?? 0n);
    while (from <= safe) {
      signal.throwIfAborted();
      const to =
        from + this.options.maxBlockRange - 1n < safe ? from + this.options.maxBlockRange - 1n : safe;
      const events = await this.rpc(() =>
        this.client.inference.getEvents({ eventName: "SubscriptionCreated", fromBlock: from, toBlock: to }),
      );
      const ids = [...new Set(events.map((e) => Number((e.args as { id: number | bigint }).id)))].filter(
        (id) => this.store.subscription(id) === undefined,
      );
      for (const batch of this.batches(ids)) {
        const subs = await this.rpc(() =>
          this.client.inference.readSubscriptions({
            startId: batch[0]!,
            endId: batch[batch.length - 1]! + 1,
            blockNumber: to,
          }),
        );
        for (const s of subs) if (ids.includes(s.id)) this.track(s.id, s);
      }
      this.store.setCursor(to);
      this.m.cursorBlock.set(Number(to));
      from = to + 1n;
    }
  }

  /** Runs of ids, each spanning at most `batchSize` ids, for Reader batch reads. */
  private batches(ids: number[]): number[][] {
    const sorted = [...ids].sort((a, b) => a - b);
    const out: number[][] = [];
    for (const id of sorted) {
      const last = out[out.length - 1];
      if (last && id - last[0]! < this.options.batchSize) last.push(id);
      else out.push([id]);
    }
    return out;
  }

  /** Records a new subscription: `tracking` when every filter passes, `ignored` (with the reason) otherwise. */
  private track(id: number, view: SubscriptionView): void {
    const data = toData(view);
    const pipeline = this.options.pipelines.get(data.containerId);
    const refuse = (filter: string, reason: string) => {
      this.m.ignored.inc({ filter });
      this.store.addSubscription(id, data, "ignored", pipeline?.name ?? null, reason);
      this.log.info({ subscription: id, filter, reason }, "subscription ignored");
    };
    if (data.owner === ZERO) return; // not created at this block (a reorg): read again later
    if (!pipeline) return refuse("container", `container ${data.containerId} is not served by this node`);
    const reason = this.refusal(pipeline, data);
    if (reason) return refuse(reason.filter, reason.reason);
    this.store.addSubscription(id, data, "tracking", pipeline.name, null);
    this.log.info(
      {
        subscription: id,
        container: pipeline.name,
        owner: data.owner,
        frequency: data.frequency,
        period: data.period,
        redundancy: data.redundancy,
      },
      "subscription tracked",
    );
  }

  /** The PoAIVerifier checks outputs themselves (deterministic models): it needs no container proof. */
  private verifierNeedsNoProof(verifier: Address): boolean {
    const poai = this.client.deployment.contracts.poaiVerifier;
    return poai !== undefined && poai.toLowerCase() === verifier.toLowerCase();
  }

  /**
   * Why the node does not serve `s` with `pipeline` (infernet-node's checks, in its order), or
   * undefined: the first container must be external; every container must allow the owner; the
   * last must make proofs when the subscription names a verifier that needs them; a paying
   * subscription needs the node's payment wallet, a token every container with accepted payments
   * lists, and at least the sum of their minimums.
   */
  protected refusal(
    pipeline: ResolvedPipeline,
    s: Pick<SubscriptionData, "owner" | "verifier" | "paymentAmount" | "paymentToken">,
    delegated = false,
  ): { filter: string; reason: string } | undefined {
    const first = pipeline.containers[0]!;
    if (!first.external) {
      return { filter: "external", reason: `container ${first.id} is internal: it cannot come first` };
    }
    for (const c of pipeline.containers) {
      const allowed = delegated ? c.allowedDelegates : c.allowedConsumers;
      if (allowed.size > 0 && !allowed.has(s.owner.toLowerCase())) {
        return { filter: "consumer", reason: `consumer ${s.owner} is not allowed on container ${c.id}` };
      }
    }
    const last = pipeline.containers[pipeline.containers.length - 1]!;
    if (s.verifier !== ZERO && !last.container.generatesProof && !this.verifierNeedsNoProof(s.verifier)) {
      return {
        filter: "proof",
        reason: `the subscription names verifier ${s.verifier} and container ${last.id} makes no proofs`,
      };
    }
    if (s.paymentAmount > 0n && this.options.paymentWallet === undefined) {
      return {
        filter: "payment",
        reason: "the subscription pays, and the node has no payment wallet to be paid in",
      };
    }
    let least = 0n;
    for (const c of pipeline.containers) {
      if (c.acceptedPayments.size === 0) continue;
      const min = c.acceptedPayments.get(s.paymentToken.toLowerCase());
      if (min === undefined) {
        return { filter: "payment", reason: `token ${s.paymentToken} is not accepted on container ${c.id}` };
      }
      least += min;
    }
    if (s.paymentAmount < least) {
      return {
        filter: "payment",
        reason: `payment ${s.paymentAmount} is below the containers' minimum ${least} of ${s.paymentToken}`,
      };
    }
    return undefined;
  }

  /** Re-reads the tracked subscriptions: drops the cancelled ones. */
  private async refresh(safe: bigint): Promise<void> {
    const tracked = this.store.subscriptions(["tracking"]).map((s) => s.id);
    for (const batch of this.batches(tracked)) {
      const subs = await this.rpc(() =>
        this.client.inference.readSubscriptions({
          startId: batch[0]!,
          endId: batch[batch.length - 1]! + 1,
          blockNumber: safe,
        }),
      );
      for (const s of subs) {
        if (!batch.includes(s.id)) continue;
        if (Number(s.activeAt) === UINT32_MAX) {
          this.store.setSubscriptionState(s.id, "cancelled", "cancelled on chain");
          this.log.info({ subscription: s.id }, "subscription cancelled");
        }
      }
    }
  }

  private async isActiveTrainer(): Promise<boolean> {
    const op = await this.rpc(() => this.client.staking.getOperator({ operator: this.address }));
    if (op.status !== OPERATOR_STATUS.Active || op.role !== "trainer") return false;
    return this.rpc(() => this.client.staking.isActive({ operator: this.address }));
  }

  /** Works on `sub`'s current interval unless it is done, full or not due. */
  private async serveInterval(sub: SubscriptionRecord, signal: AbortSignal): Promise<void> {
    const now = this.chainNow!;
    const phase = subscriptionPhase(sub, now);
    if (phase === "pending") return;
    if (phase === "completed") {
      this.store.setSubscriptionState(sub.id, "completed", null);
      this.log.info({ subscription: sub.id, frequency: sub.frequency }, "subscription completed");
      return;
    }
    if (phase === "cancelled") return;
    const interval = intervalAt(sub, now);
    if (this.store.delivery(sub.id, interval) !== undefined) return;
    const fields = { subscription: sub.id, interval };
    if (
      await this.rpc(() =>
        this.client.inference.hasNodeResponded({ subscriptionId: sub.id, interval, node: this.address }),
      )
    ) {
      this.store.startDelivery(sub.id, interval);
      this.store.updateDelivery(sub.id, interval, { state: "delivered", error: "found on chain" });
      return;
    }
    const count = await this.rpc(() =>
      this.client.inference.getRedundancyCount({ subscriptionId: sub.id, interval }),
    );
    if (count >= sub.redundancy) {
      this.store.startDelivery(sub.id, interval);
      this.store.updateDelivery(sub.id, interval, {
        state: "skipped",
        error: `interval full: ${count} of ${sub.redundancy} deliveries`,
      });
      this.m.skipped.inc({ reason: "full" });
      this.log.info({ ...fields, count, redundancy: sub.redundancy }, "interval already full: skipped");
      return;
    }
    const unpaid = await this.walletRefusal(sub);
    if (unpaid) {
      // Not recorded as worked on: the consumer may still fund its wallet within the interval.
      this.log.info({ ...fields, reason: unpaid }, "the consumer's wallet cannot pay: waiting");
      this.store.setSubscriptionState(sub.id, "tracking", unpaid);
      this.m.skipped.inc({ reason: "wallet" });
      return;
    }
    const record = this.store.startDelivery(sub.id, interval);
    await this.advance(sub, record, signal);
  }

  /** Why the consumer's wallet cannot pay one delivery now, or undefined. */
  private async walletRefusal(sub: SubscriptionRecord): Promise<string | undefined> {
    if (sub.paymentAmount === 0n || !this.options.checkConsumerWallet) return undefined;
    const valid = await this.rpc(() => this.client.inference.isValidWallet({ wallet: sub.wallet }));
    if (!valid) return `wallet ${sub.wallet} was not created by the WalletFactory`;
    // The escrow locked for the subscription pays the delivery whatever the consumer does meanwhile.
    const escrow = await this.rpc(() => this.client.inference.getEscrow({ subscriptionId: sub.id }));
    if (escrow >= sub.paymentAmount) return undefined;
    const token = sub.paymentToken;
    const [balance, allowance] = await Promise.all([
      this.rpc(() => this.client.inference.getWalletBalance({ wallet: sub.wallet, token })),
      this.rpc(() =>
        this.client.inference.getWalletAllowance({ wallet: sub.wallet, spender: sub.owner, token }),
      ),
    ]);
    if (balance < sub.paymentAmount)
      return `wallet ${sub.wallet} holds ${balance}, less than the payment ${sub.paymentAmount}`;
    if (allowance < sub.paymentAmount) {
      return `consumer ${sub.owner} may spend ${allowance} from wallet ${sub.wallet}, less than the payment ${sub.paymentAmount}`;
    }
    return undefined;
  }

  /** Moves one (subscription, interval) on from its stored state. */
  private async advance(sub: SubscriptionRecord, record: DeliveryRecord, signal: AbortSignal): Promise<void> {
    let d = record;
    if (d.state === "sending") {
      d = await this.reconcile(sub, d);
      if (d.state !== "ran" && d.state !== "committed") return;
    }
    if (d.state === "running") {
      d = await this.compute(sub, d, signal);
      if (d.state !== "ran") return;
    }
    if (d.state === "committing") {
      d = await this.reconcileCommit(sub, d);
      if (d.state !== "committed" && d.state !== "ran") return;
    }
    if (d.state === "ran" && (await this.usesCommitReveal(sub))) {
      const ran = d;
      d = await this.sends.run(() => this.commit(sub, ran));
    }
    if (d.state === "committed") {
      if (!(await this.revealOpen(sub, d))) return;
      const committed = d;
      await this.sends.run(() => this.deliver(sub, committed));
      return;
    }
    if (d.state === "ran") {
      const ran = d;
      await this.sends.run(() => this.deliver(sub, ran));
    }
  }

  // --- commit and reveal (subscriptions created with commit-reveal) ---------------------------------

  /** Whether `sub` was created with commit-reveal (else every redundancy delivers with `deliverCompute`). */
  private async usesCommitReveal(sub: SubscriptionRecord): Promise<boolean> {
    let known = this.commitRevealOf.get(sub.id);
    if (known === undefined) {
      const options = await this.rpc(() =>
        this.client.inference.getSubscriptionOptions({ subscriptionId: sub.id }),
      );
      known = options.commitReveal;
      this.commitRevealOf.set(sub.id, known);
    }
    return known;
  }

  /** Stores a salt and the commitment, then sends `commitCompute` (state `committed` once mined). */
  private async commit(sub: SubscriptionRecord, record: DeliveryRecord): Promise<DeliveryRecord> {
    let d = record;
    const late = this.lateness(sub, d);
    if (late) return this.skip(d, "late", late);
    const salt = d.salt ?? bytesToHex(randomBytes(32));
    const commitment = computeCommitment({
      subscriptionId: sub.id,
      interval: d.interval,
      node: this.address,
      output: d.output!,
      salt,
    });
    try {
      await this.client.inference.simulateCommitOrReveal({
        subscriptionId: sub.id,
        interval: d.interval,
        commitment,
        node: this.address,
      });
    } catch (err) {
      if (err instanceof PoAIContractError)
        return this.skip(d, "simulation", `the commitment would revert: ${err.message}`);
      throw err;
    }
    const nonce = await this.rpc(() =>
      getTransactionCount(this.client.publicClient, { address: this.address, blockTag: "pending" }),
    );
    // The salt is on disk before the commitment is sent: a restart can always reveal.
    d = this.store.updateDelivery(sub.id, d.interval, {
      state: "committing",
      salt,
      commitment,
      nonce,
      txHash: null,
    });
    let hash: Hash;
    try {
      hash = await this.client.inference.commitCompute({
        subscriptionId: sub.id,
        interval: d.interval,
        commitment,
      });
    } catch (err) {
      if (err instanceof PoAIContractError || err instanceof PoAIInputError) {
        return this.skip(d, "simulation", `the commitment was refused: ${err.message}`);
      }
      throw err;
    }
    this.store.updateDelivery(sub.id, d.interval, { txHash: hash });
    try {
      await this.client.waitForTransaction(hash, { confirmations: this.options.confirmations });
    } catch (err) {
      if (!(err instanceof PoAIContractError)) throw err;
      return this.retryOrGiveUp(d, `the commitment reverted on chain: ${err.message}`);
    }
    this.log.info({ subscription: sub.id, interval: d.interval, commitment, tx: hash }, "output committed");
    return this.store.updateDelivery(sub.id, d.interval, { state: "committed", txHash: null, nonce: null });
  }

  /** After a restart in `committing`: the chain says whether the commitment landed. */
  private async reconcileCommit(sub: SubscriptionRecord, d: DeliveryRecord): Promise<DeliveryRecord> {
    const onChain = await this.rpc(() =>
      this.client.inference.getCommitment({
        subscriptionId: sub.id,
        interval: d.interval,
        node: this.address,
      }),
    );
    if (onChain.toLowerCase() === d.commitment?.toLowerCase()) {
      return this.store.updateDelivery(sub.id, d.interval, { state: "committed", txHash: null, nonce: null });
    }
    if (d.output && onChain.toLowerCase() === keccak256(d.output).toLowerCase()) {
      return this.store.updateDelivery(sub.id, d.interval, { state: "delivered", error: "found on chain" });
    }
    if (await this.stillPending(d)) return d;
    return this.store.updateDelivery(sub.id, d.interval, { state: "ran", txHash: null, nonce: null });
  }

  /** Whether the interval's reveals are open at the chain's time. */
  private async revealOpen(sub: SubscriptionRecord, d: DeliveryRecord): Promise<boolean> {
    const late = this.lateness(sub, d);
    if (late) {
      this.skip(d, "late", late);
      return false;
    }
    const st = await this.rpc(() =>
      this.client.inference.getIntervalState({ subscriptionId: sub.id, interval: d.interval }),
    );
    const open = st.revealAt !== 0 && this.chainNow! >= BigInt(st.revealAt);
    if (!open)
      this.log.debug(
        { subscription: sub.id, interval: d.interval, revealAt: st.revealAt },
        "reveals not open yet",
      );
    return open;
  }

  /** Whether the transaction recorded with `d.nonce` may still be mined. */
  private async stillPending(d: DeliveryRecord): Promise<boolean> {
    const [mined, pending] = await this.rpc(() =>
      Promise.all([
        getTransactionCount(this.client.publicClient, { address: this.address, blockTag: "latest" }),
        getTransactionCount(this.client.publicClient, { address: this.address, blockTag: "pending" }),
      ]),
    );
    return d.nonce !== null && mined <= d.nonce && pending > d.nonce;
  }

  /** Reads the inputs, runs the container and stores its output (state `ran`). */
  private async compute(
    sub: SubscriptionRecord,
    d: DeliveryRecord,
    signal: AbortSignal,
  ): Promise<DeliveryRecord> {
    const fields = { subscription: sub.id, interval: d.interval };
    const container = this.options.pipelines.get(sub.containerId);
    if (!container)
      return this.skip(d, "failed", `container ${sub.containerId} is no longer served by this node`);
    const late = this.lateness(sub, d);
    if (late) return this.skip(d, "late", late);
    if (d.attempts >= this.options.maxAttempts) {
      return this.skip(d, "failed", d.error ?? `${d.attempts} attempts failed`, "failed");
    }
    const attempts = d.attempts + 1;
    d = this.store.updateDelivery(sub.id, d.interval, { attempts });
    // A consumer whose getContainerInputs reverts gets its container run on empty input, as
    // infernet-node does; only a failing RPC is an error (retried, then counted on this subscription).
    const input = await this.rpc(() =>
      readContainerInputs(this.client, {
        consumer: sub.owner,
        subscriptionId: sub.id,
        interval: d.interval,
        timestamp: this.chainNow!,
        caller: this.address,
      }),
    );
    if (input.reverted) {
      this.log.info(
        { ...fields, reason: input.reverted },
        "getContainerInputs failed: running on empty input",
      );
    }
    const job: ContainerJob = {
      containerId: container.name,
      subscriptionId: sub.id,
      interval: d.interval,
      input: input.data,
      requiresProof: sub.verifier !== ZERO,
      signal,
    };
    const started = performance.now();
    let delivery: ContainerDelivery;
    try {
      delivery = await this.runContainer(container, job);
    } catch (err) {
      if (signal.aborted) throw err;
      const kind = err instanceof ContainerError ? err.kind : "failed";
      this.m.containerRuns.inc({ container: container.name, result: kind });
      const message = (err as Error)?.message ?? String(err);
      if (attempts >= this.options.maxAttempts) {
        this.log.error({ ...fields, attempts, error: message }, "container failed: interval given up");
        return this.skip(d, "failed", message, "failed");
      }
      this.log.warn({ ...fields, attempts, error: message }, "container failed: retrying next tick");
      return this.store.updateDelivery(sub.id, d.interval, { error: message });
    }
    this.m.containerRuns.inc({ container: container.name, result: "ok" });
    this.m.containerSeconds.observe({ container: container.name }, (performance.now() - started) / 1000);
    d = this.store.updateDelivery(sub.id, d.interval, {
      state: "ran",
      input: delivery.input,
      output: delivery.output,
      proof: delivery.proof,
      error: null,
    });
    this.log.info(
      { ...fields, container: container.name, outputBytes: (delivery.output.length - 2) / 2 },
      "container ran; output stored",
    );
    await this.onOutputPersisted(d);
    return d;
  }

  /** Why the interval can no longer be delivered (it passed), or undefined. */
  private lateness(sub: SubscriptionRecord, d: DeliveryRecord): string | undefined {
    const current = intervalAt(sub, this.chainNow!);
    return current !== d.interval
      ? `interval ${d.interval} passed (the subscription is in interval ${current})`
      : undefined;
  }

  /** Simulates, records `sending`, sends and confirms a stored output. */
  private async deliver(sub: SubscriptionRecord, record: DeliveryRecord): Promise<void> {
    let d = record;
    const fields = { subscription: sub.id, interval: d.interval };
    const reveal = await this.usesCommitReveal(sub);
    const key = { subscriptionId: sub.id, interval: d.interval, node: this.address };
    // A commit-reveal node has "responded" once it committed: it delivered once its record holds its output's hash.
    const responded = reveal
      ? (await this.rpc(() => this.client.inference.getCommitment(key))).toLowerCase() ===
        keccak256(d.output!).toLowerCase()
      : await this.rpc(() => this.client.inference.hasNodeResponded(key));
    if (responded) {
      this.store.updateDelivery(sub.id, d.interval, { state: "delivered", error: "found on chain" });
      return;
    }
    const late = this.lateness(sub, d);
    if (late) {
      this.skip(d, "late", late);
      return;
    }
    const args: DeliveryArgs = {
      subscriptionId: sub.id,
      interval: d.interval,
      input: d.input!,
      output: d.output!,
      proof: d.proof ?? "0x",
      ...(this.options.paymentWallet !== undefined && { nodeWallet: this.options.paymentWallet }),
    };
    try {
      if (reveal)
        await this.client.inference.simulateCommitOrReveal({ ...args, salt: d.salt!, node: this.address });
      else await this.client.inference.simulateDeliverCompute({ ...args, node: this.address });
    } catch (err) {
      if (err instanceof PoAIContractError) {
        this.skip(d, "simulation", `the delivery would revert: ${err.message}`);
        return;
      }
      throw err;
    }
    const nonce = await this.rpc(() =>
      getTransactionCount(this.client.publicClient, { address: this.address, blockTag: "pending" }),
    );
    // Recorded before sending: after a crash, the next tick asks the chain instead of sending again.
    d = this.store.updateDelivery(sub.id, d.interval, { state: "sending", nonce, txHash: null });
    let hash: Hash;
    try {
      hash = reveal
        ? await this.client.inference.revealCompute({ ...args, salt: d.salt! })
        : await this.sendDelivery(args);
    } catch (err) {
      if (err instanceof PoAIContractError || err instanceof PoAIInputError) {
        this.skip(d, "simulation", `the delivery was refused: ${err.message}`);
        return;
      }
      throw err;
    }
    this.store.updateDelivery(sub.id, d.interval, { txHash: hash });
    this.log.info({ ...fields, tx: hash, nonce }, "delivery sent");
    await this.confirm(sub, d, hash);
  }

  private async confirm(sub: SubscriptionRecord, d: DeliveryRecord, hash: Hash): Promise<void> {
    try {
      const receipt = await this.client.waitForTransaction(hash, {
        confirmations: this.options.confirmations,
      });
      this.store.updateDelivery(sub.id, d.interval, {
        state: "delivered",
        block: receipt.blockNumber,
        error: null,
      });
      this.m.deliveries.inc({ result: "delivered" });
      this.log.info(
        { subscription: sub.id, interval: d.interval, tx: hash, block: receipt.blockNumber },
        "delivered",
      );
    } catch (err) {
      if (!(err instanceof PoAIContractError)) throw err;
      this.m.deliveries.inc({ result: "reverted" });
      this.retryOrGiveUp(d, `the delivery reverted on chain: ${err.message}`);
    }
  }

  /** After a restart in `sending`: the chain says whether the delivery landed. */
  private async reconcile(sub: SubscriptionRecord, d: DeliveryRecord): Promise<DeliveryRecord> {
    const fields = { subscription: sub.id, interval: d.interval, tx: d.txHash, nonce: d.nonce };
    const responded = await this.rpc(() =>
      this.client.inference.hasNodeResponded({
        subscriptionId: sub.id,
        interval: d.interval,
        node: this.address,
      }),
    );
    if (responded) {
      this.m.deliveries.inc({ result: "delivered" });
      this.log.info(fields, "delivery found on chain");
      return this.store.updateDelivery(sub.id, d.interval, { state: "delivered", error: null });
    }
    if (d.txHash !== null) {
      const receipt = await getTransactionReceipt(this.client.publicClient, { hash: d.txHash }).catch(
        () => undefined,
      );
      if (receipt?.status === "reverted") {
        this.m.deliveries.inc({ result: "reverted" });
        return this.retryOrGiveUp(d, `delivery ${d.txHash} reverted on chain`);
      }
    }
    const [mined, pending] = await this.rpc(() =>
      Promise.all([
        getTransactionCount(this.client.publicClient, { address: this.address, blockTag: "latest" }),
        getTransactionCount(this.client.publicClient, { address: this.address, blockTag: "pending" }),
      ]),
    );
    if (d.nonce !== null && mined <= d.nonce && pending > d.nonce) {
      this.log.info(fields, "delivery pending; waiting for it");
      return d;
    }
    this.log.warn(
      fields,
      "the delivery is not on chain and nothing is pending: it was never sent, or was dropped",
    );
    return this.store.updateDelivery(sub.id, d.interval, { state: "ran", txHash: null, nonce: null });
  }

  private retryOrGiveUp(d: DeliveryRecord, reason: string): DeliveryRecord {
    const attempts = d.attempts + 1;
    if (attempts > this.options.maxAttempts) return this.skip(d, "failed", reason, "failed");
    this.log.warn(
      { subscription: d.subscriptionId, interval: d.interval, attempts, reason },
      "delivery will be retried",
    );
    return this.store.updateDelivery(d.subscriptionId, d.interval, {
      state: "ran",
      attempts,
      txHash: null,
      nonce: null,
      error: reason,
    });
  }

  private skip(
    d: DeliveryRecord,
    reason: string,
    message: string,
    state: "skipped" | "failed" = "skipped",
  ): DeliveryRecord {
    this.m.skipped.inc({ reason });
    this.log.warn(
      { subscription: d.subscriptionId, interval: d.interval, reason, error: message },
      "interval not delivered",
    );
    return this.store.updateDelivery(d.subscriptionId, d.interval, { state, error: message });
  }

  // --- hooks (the honest node) ---------------------------------------------------------------------

  /**
   * Hook: runs the subscription's container, or its chain of containers, on one job. Honest: one
   * container runs `run(job)`; a chain runs each container on the previous answer and delivers
   * the last one's (`runChain`).
   */
  protected async runContainer(pipeline: ResolvedPipeline, job: ContainerJob): Promise<ContainerDelivery> {
    if (pipeline.containers.length === 1) return pipeline.containers[0]!.container.run(job);
    const chain = await runChain(
      pipeline.containers.map((c) => c.container),
      {
        source: 0,
        destination: 0,
        data: job.input.slice(2).toLowerCase(),
        requiresProof: job.requiresProof,
        ...(job.signal && { signal: job.signal }),
      },
    );
    const last = chain.results[chain.results.length - 1]!;
    if (!("output" in last)) throw new ContainerError("failed", last.container, last.error);
    const c = pipeline.containers[pipeline.containers.length - 1]!.container as { maxDeliveryBytes?: number };
    return checkDeliverySize(
      pipeline.name,
      serializeContainerOutput(last.container, last.output),
      c.maxDeliveryBytes ?? 32 * 1024,
    );
  }

  /** Hook: sends `deliverCompute` and returns the transaction hash. */
  protected sendDelivery(args: DeliveryArgs): Promise<Hash> {
    return this.client.inference.deliverCompute(args);
  }

  /** Hook: called once a container's output is on disk, before it is delivered. Honest: nothing. */
  protected onOutputPersisted(_delivery: DeliveryRecord): void | Promise<void> {}

  /** An RPC read with bounded retries (contract reverts and input errors are not retried). */
  protected rpc<T>(read: () => Promise<T>): Promise<T> {
    return withRetry(read, {
      attempts: this.options.rpcAttempts,
      retryable: (err) => !isPoAIContractError(err) && !(err instanceof PoAIInputError),
      onRetry: (err, attempt, delayMs) =>
        this.log.warn(
          { err: (err as Error)?.message ?? String(err), attempt, delayMs },
          "RPC read failed; retrying",
        ),
    });
  }

  // --- status --------------------------------------------------------------------------------------

  private summary(s: SubscriptionRecord) {
    return {
      ...s,
      deliveries: this.store.deliveriesOf(s.id).map((d) => ({
        interval: d.interval,
        state: d.state,
        attempts: d.attempts,
        txHash: d.txHash,
        block: d.block,
        output: d.output,
        error: d.error,
      })),
    };
  }

  /** The stored state of one (subscription, interval), for callers and tests. */
  delivery(subscriptionId: number, interval: number): DeliveryRecord | undefined {
    return this.closed ? undefined : this.store.delivery(subscriptionId, interval);
  }

  /** The stored record of one subscription. */
  subscription(id: number): SubscriptionRecord | undefined {
    return this.closed ? undefined : this.store.subscription(id);
  }

  status(): InferenceStatus {
    const open = !this.closed && this.store.db.isOpen;
    return {
      address: this.address,
      serverUrl: this.serverUrl,
      activeTrainer: this.active,
      containers: [...this.options.containers.values()].map((c) => ({
        id: c.id,
        containerId: c.hash,
        generatesProof: c.container.generatesProof,
      })),
      headBlock: this.head,
      cursorBlock: open ? (this.store.cursor() ?? null) : null,
      chainTime: this.chainNow,
      subscriptions: open ? this.store.subscriptionCounts() : {},
      deliveries: open ? this.store.deliveryCounts() : {},
      lastError: this.lastError,
      ticks: this.ticks,
      stopped: this.closed,
      disputes: open && this.inferenceDisputes ? this.inferenceDisputes.status() : null,
    };
  }
}
