/**
 * `poai model …`, `poai wallet …`, `poai consumer …`, `poai subscription …`: the inference
 * marketplace from the command line.
 *
 * An operator (a trainer) exports the final checkpoint of a run its daemon trained
 * (`model export`, from the daemon's database) and registers it as a model bound to the challenge
 * the committee judged valid (`model register --challenge`), so its usage pays it royalties; it then
 * serves the model with `poai inference run --model <id>=<checkpoint>`. Governance approves the
 * royalties of a model registered without a challenge (`model approve`).
 *
 * A dApp developer creates and funds a payment wallet (`wallet create`, `wallet fund`), deploys the
 * example classifier consumer (`consumer deploy`), lets it pay from the wallet (`wallet approve`,
 * `consumer pay`), asks it (`consumer classify`: a paid subscription), and reads what the nodes
 * delivered (`subscription deliveries`, `consumer answer`). `subscription create` subscribes the
 * signer itself (deliveries then land in events and, lazy, in the Inbox).
 *
 * Each command checks what a person can get wrong before anything is signed and says it plainly,
 * naming the flag and the value; reverts arrive as the SDK's decoded errors.
 */
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import {
  approveModel,
  classifierConsumerAbi,
  eip712CoordinatorAbi,
  getCoordinatorEvents,
  inboxAbi,
  subscriptionPhase,
  intervalAt,
  type PoAIClient,
  type SubscriptionView,
} from "@poai/sdk";
import { byteTreeRoot, commit, encodeInferenceInput } from "@poai/sdk/compute";
import { TrainerStore } from "@poai/node";
import {
  decodeFunctionData,
  erc20Abi,
  formatUnits,
  getAddress,
  isAddress,
  keccak256,
  parseEventLogs,
  parseUnits,
  type Address,
  type Hash,
  type Hex,
} from "viem";
import {
  deployContract,
  getBlock,
  getTransaction,
  getTransactionReceipt,
  readContract,
  simulateContract,
  writeContract,
} from "viem/actions";
import type { Command } from "commander";
import { OperatorCommandError, parseAddress, signer, type CommandResult } from "./commands.js";
import type { CliConfig } from "./config.js";
import { PROJECT_ROOT, type CommonOptions } from "./session.js";

const ZERO = "0x0000000000000000000000000000000000000000" as Address;

const fail = (message: string): never => {
  throw new OperatorCommandError(message);
};

async function mined(client: PoAIClient, hash: Hash, action: string, txs: unknown[]) {
  const receipt = await client.waitForTransaction(hash);
  txs.push({ action, hash, block: receipt.blockNumber, gasUsed: receipt.gasUsed });
  return receipt;
}

function need(client: PoAIClient, name: string, what: string): Address {
  const address = client.deployment.contracts[name];
  if (!address)
    fail(
      `the address book has no ${name} (${what}): deploy the marketplace with poai deploy, or pass an address book that has it`,
    );
  return address!;
}

// --- tokens and amounts -------------------------------------------------------------------------

/** A payment token: `poai` (the staking token, default), `eth`, or an ERC-20 address. */
export interface TokenChoice {
  address: Address;
  symbol: string;
  decimals: number;
}

export async function parseToken(client: PoAIClient, value: string | undefined): Promise<TokenChoice> {
  const v = (value ?? "poai").trim();
  if (v.toLowerCase() === "poai")
    return { address: client.deployment.contracts.token, symbol: "POAI", decimals: 18 };
  if (v.toLowerCase() === "eth") return { address: ZERO, symbol: "ETH", decimals: 18 };
  if (!isAddress(v))
    return fail(`--token must be poai, eth or an ERC-20 address, got ${JSON.stringify(value)}`);
  const address = getAddress(v);
  if (address === getAddress(client.deployment.contracts.token))
    return { address, symbol: "POAI", decimals: 18 };
  let decimals: number;
  try {
    decimals = await readContract(client.publicClient, { address, abi: erc20Abi, functionName: "decimals" });
  } catch {
    return fail(`--token ${address} is not an ERC-20 on this chain (no decimals())`);
  }
  return { address, symbol: address, decimals };
}

export function parseTokenAmount(field: string, value: string | undefined, token: TokenChoice): bigint {
  const pattern = new RegExp(`^\\d+(\\.\\d{1,${Math.max(token.decimals, 1)}})?$`);
  if (typeof value !== "string" || !pattern.test(value))
    return fail(
      `--${field} must be an amount of ${token.symbol} such as 10 or 2.5 (at most ${token.decimals} decimals), got ${JSON.stringify(value)}`,
    );
  return parseUnits(value, token.decimals);
}

const fmt = (amount: bigint, token: TokenChoice) => `${formatUnits(amount, token.decimals)} ${token.symbol}`;

function parseUint(
  field: string,
  value: string | undefined,
  min: number,
  max: number,
  fallback?: number,
): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== "string" || !/^\d+$/.test(value) || Number(value) < min || Number(value) > max)
    return fail(`--${field} must be an integer in ${min}..${max}, got ${JSON.stringify(value)}`);
  return Number(value);
}

function parseBytes32(field: string, value: string | undefined): Hex {
  if (typeof value !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(value))
    return fail(`--${field} must be 32 bytes of hex (0x and 64 hex digits), got ${JSON.stringify(value)}`);
  return value.toLowerCase() as Hex;
}

/** `1,-2,3` as an int8 input vector. */
export function parseInputVector(value: string | undefined): Int8Array {
  const parts = typeof value === "string" ? value.split(",").map((x) => x.trim()) : [];
  if (parts.length === 0 || parts.some((x) => !/^-?\d+$/.test(x) || Number(x) < -128 || Number(x) > 127))
    return fail(
      `--input must be comma-separated integers in -128..127 (the model's inputs), got ${JSON.stringify(value)}`,
    );
  return Int8Array.from(parts.map(Number));
}

// =================================================================================================
// Models
// =================================================================================================

/** The final checkpoint of run `challenge` from a trainer daemon's database, and its Merkle proof. */
export async function modelExport(
  client: PoAIClient,
  args: { database: string; challenge: string; out: string; trainer?: Address },
): Promise<CommandResult> {
  const challengeId = parseBytes32("challenge", args.challenge);
  if (!args.database || !existsSync(args.database))
    fail(
      `--database ${JSON.stringify(args.database)} is not a file: give the trainer daemon's SQLite database`,
    );
  if (!args.out) fail("--out must name the file the checkpoint is written to");
  const trainer = args.trainer ?? signer(client);
  const challengeManager = need(client, "challengeManager", "the ChallengeManager");
  let store: TrainerStore;
  try {
    store = new TrainerStore(args.database, {
      trainer,
      chainId: client.deployment.chainId,
      challengeManager,
    });
  } catch (err) {
    return fail(`cannot read ${args.database}: ${(err as Error).message}`);
  }
  try {
    const run = store.run(challengeId);
    if (!run) return fail(`${args.database} has no run of challenge ${challengeId} (is it this trainer's?)`);
    if (run.pruned)
      fail(
        `run ${challengeId} was pruned from ${args.database}: export a run before its round closes (or keep runs longer with --retention)`,
      );
    const hashes = store.checkpointHashes(challengeId);
    if (hashes.length !== run.checkpointCount)
      fail(
        `run ${challengeId} has ${hashes.length} of its ${run.checkpointCount} checkpoints in ${args.database}: it is not complete`,
      );
    const index = run.checkpointCount - 1;
    const final = store.checkpoint(challengeId, index)!;
    const stepRoots = store.stepRoots(challengeId);
    const tree = commit({
      checkpointHashes: hashes,
      parameterRoots: store.parameterRoots(challengeId),
      stepRoots,
    });
    if (run.root !== null && tree.root.toLowerCase() !== run.root.toLowerCase())
      fail(`the checkpoints of run ${challengeId} give root ${tree.root}, not the committed ${run.root}`);
    const proof = tree.proof(index);
    await writeFile(args.out, final.bytes);
    const proofFile = `${args.out}.proof.json`;
    const record = {
      challengeId,
      trainer,
      specId: run.specId,
      widths: [...run.spec.widths],
      index,
      weightsHash: final.hash,
      // the final leaf's step word: the evaluation root of an operation-sampling run, zero otherwise
      evalRoot: stepRoots[index],
      root: tree.root,
      proof,
    };
    await writeFile(proofFile, JSON.stringify(record, null, 2) + "\n");
    return {
      lines: [
        `final checkpoint ${index} of challenge ${challengeId} (widths ${run.spec.widths.join(", ")}) written to ${args.out} (${final.bytes.length} bytes, weights hash ${final.hash})`,
        `its Merkle proof under the committed root: ${proofFile}`,
        `register it: poai model register --container <id> --checkpoint ${args.out} --challenge ${challengeId}`,
      ],
      data: { action: "model-export", file: args.out, proofFile, ...record },
    };
  } finally {
    store.db.close();
  }
}

/** Registers a model: bound to a valid challenge (royalties) with `challenge`, else with `widths`. */
export async function modelRegister(
  client: PoAIClient,
  args: { container: string; checkpoint: string; challenge?: string; proof?: string; widths?: string },
): Promise<CommandResult> {
  need(client, "modelRegistry", "the ModelRegistry");
  if (!args.container) fail("--container must name the model's container id (the string subscriptions use)");
  if (!args.checkpoint || !existsSync(args.checkpoint))
    fail(`--checkpoint ${JSON.stringify(args.checkpoint)} is not a file`);
  const bytes = new Uint8Array(await readFile(args.checkpoint));
  const weightsHash = keccak256(bytes);
  const txs: unknown[] = [];
  const proofFile = args.proof ?? `${args.checkpoint}.proof.json`;
  if (
    args.challenge !== undefined ||
    args.proof !== undefined ||
    (args.widths === undefined && existsSync(proofFile))
  ) {
    if (!existsSync(proofFile))
      fail(`no proof at ${proofFile}: export the checkpoint with poai model export, or pass --proof <file>`);
    const record = JSON.parse(await readFile(proofFile, "utf8")) as {
      challengeId: Hex;
      weightsHash: Hex;
      evalRoot?: Hex;
      proof: Hex[];
    };
    const challengeId = parseBytes32("challenge", args.challenge ?? record.challengeId);
    if (record.challengeId?.toLowerCase() !== challengeId)
      fail(`${proofFile} is the proof of challenge ${record.challengeId}, not ${challengeId}`);
    if (record.weightsHash?.toLowerCase() !== weightsHash.toLowerCase())
      fail(`${args.checkpoint} hashes to ${weightsHash}, but ${proofFile} proves ${record.weightsHash}`);
    const receipt = await mined(
      client,
      await client.inference.registerTrainedModel({
        containerId: args.container,
        weightsHash,
        parameterRoot: byteTreeRoot(bytes),
        challengeId,
        proof: record.proof,
        ...(record.evalRoot !== undefined && { evalRoot: record.evalRoot }),
      }),
      "registerTrainedModel",
      txs,
    );
    const model = await client.inference.getModel({ containerId: args.container });
    return {
      lines: [
        `registered ${args.container} (${model.containerId}) as the final checkpoint of challenge ${challengeId} (tx ${receipt.transactionHash})`,
        `widths ${model.widths.join(", ")}, weights hash ${weightsHash}; royalties go to ${model.royaltyRecipient}`,
        `serve it: poai inference run --model ${args.container}=${args.checkpoint}`,
      ],
      data: { action: "model-register", model, transactions: txs },
    };
  }
  if (args.widths === undefined)
    fail(
      "--widths (e.g. 8,8,4) is needed to register without --challenge; with --challenge the spec's widths are used",
    );
  const widths = args.widths!.split(",").map((w) => parseUint("widths", w.trim(), 1, 65_536));
  const receipt = await mined(
    client,
    await client.inference.registerModel({ containerId: args.container, widths, weightsHash }),
    "registerModel",
    txs,
  );
  const model = await client.inference.getModel({ containerId: args.container });
  return {
    lines: [
      `registered ${args.container} (${model.containerId}), widths ${widths.join(", ")}, weights hash ${weightsHash} (tx ${receipt.transactionHash})`,
      "it earns no royalties until governance approves it (poai model approve) or it is registered from a valid challenge",
    ],
    data: { action: "model-register", model, transactions: txs },
  };
}

export async function modelShow(client: PoAIClient, args: { container: string }): Promise<CommandResult> {
  need(client, "modelRegistry", "the ModelRegistry");
  const m = await client.inference.getModel({ containerId: args.container });
  if (m.trainer === ZERO)
    fail(`no model is registered under ${JSON.stringify(args.container)} (${m.containerId})`);
  return {
    lines: [
      `model ${args.container} (${m.containerId}), generation ${m.generation}`,
      `trainer ${m.trainer}, ${m.active ? "active" : "inactive"}, widths ${m.widths.join(", ")}, weights hash ${m.weightsHash}`,
      /^0x0{64}$/.test(m.challengeId)
        ? `not bound to a challenge; royalties ${m.approved ? "approved by governance" : "not approved"}`
        : `the final checkpoint of valid challenge ${m.challengeId}`,
      `royalties go to ${m.royaltyRecipient === ZERO ? "the delivering node (none named)" : m.royaltyRecipient}`,
    ],
    data: { action: "model-show", model: m },
  };
}

export async function modelApprove(
  client: PoAIClient,
  args: { container: string; revoke?: boolean },
): Promise<CommandResult> {
  need(client, "modelRegistry", "the ModelRegistry");
  const txs: unknown[] = [];
  const approved = !args.revoke;
  const receipt = await mined(
    client,
    await approveModel(client, { containerId: args.container, approved }),
    "setApproved",
    txs,
  );
  return {
    lines: [
      `${approved ? "approved" : "withdrew approval of"} the royalties of ${args.container} (tx ${receipt.transactionHash})`,
    ],
    data: { action: "model-approve", approved, transactions: txs },
  };
}

// =================================================================================================
// Wallets
// =================================================================================================

export async function walletCreate(client: PoAIClient, args: { owner?: Address }): Promise<CommandResult> {
  need(client, "walletFactory", "the WalletFactory");
  const owner = args.owner ?? signer(client);
  const txs: unknown[] = [];
  const receipt = await mined(client, await client.inference.createWallet({ owner }), "createWallet", txs);
  const wallet = client.inference.walletFromLogs({ logs: receipt.logs });
  return {
    lines: [`created payment wallet ${wallet} owned by ${owner} (tx ${receipt.transactionHash})`],
    data: { action: "wallet-create", wallet, owner, transactions: txs },
  };
}

export async function walletFund(
  client: PoAIClient,
  args: { wallet: Address; token?: string; amount: string },
): Promise<CommandResult> {
  if (!(await client.inference.isValidWallet({ wallet: args.wallet })))
    fail(`--wallet ${args.wallet} was not created by the WalletFactory: create one with poai wallet create`);
  const token = await parseToken(client, args.token);
  const amount = parseTokenAmount("amount", args.amount, token);
  const txs: unknown[] = [];
  const hash =
    token.address === ZERO
      ? await client.inference.depositEth({ wallet: args.wallet, amount })
      : await client.inference.depositToken({ wallet: args.wallet, token: token.address, amount });
  const receipt = await mined(client, hash, "fund", txs);
  const balance = await client.inference.getWalletBalance({ wallet: args.wallet, token: token.address });
  return {
    lines: [
      `funded ${args.wallet} with ${fmt(amount, token)}: it holds ${fmt(balance, token)} (tx ${receipt.transactionHash})`,
    ],
    data: {
      action: "wallet-fund",
      wallet: args.wallet,
      token: token.address,
      amount,
      balance,
      transactions: txs,
    },
  };
}

export async function walletApprove(
  client: PoAIClient,
  args: { wallet: Address; spender: Address; token?: string; amount: string },
): Promise<CommandResult> {
  const token = await parseToken(client, args.token);
  const amount = parseTokenAmount("amount", args.amount, token);
  const txs: unknown[] = [];
  const receipt = await mined(
    client,
    await client.inference.approveSpender({
      wallet: args.wallet,
      spender: args.spender,
      token: token.address,
      amount,
    }),
    "approve",
    txs,
  );
  return {
    lines: [
      `${args.spender} may spend ${fmt(amount, token)} from ${args.wallet} (tx ${receipt.transactionHash})`,
    ],
    data: { action: "wallet-approve", ...args, token: token.address, amount, transactions: txs },
  };
}

export async function walletShow(
  client: PoAIClient,
  args: { wallet: Address; token?: string; spender?: Address },
): Promise<CommandResult> {
  const token = await parseToken(client, args.token);
  const balance = await client.inference.getWalletBalance({ wallet: args.wallet, token: token.address });
  const lines = [`wallet ${args.wallet}: ${fmt(balance, token)}`];
  const data: Record<string, unknown> = {
    action: "wallet-show",
    wallet: args.wallet,
    token: token.address,
    balance,
  };
  if (args.spender) {
    const allowance = await client.inference.getWalletAllowance({
      wallet: args.wallet,
      spender: args.spender,
      token: token.address,
    });
    lines.push(`${args.spender} may spend ${fmt(allowance, token)}`);
    data.allowance = allowance;
  }
  return { lines, data };
}

// =================================================================================================
// The example consumer (ClassifierConsumer)
// =================================================================================================

async function classifierArtifact(): Promise<{ abi: typeof classifierConsumerAbi; bytecode: Hex }> {
  const file = path.join(
    PROJECT_ROOT,
    "artifacts/contracts/examples/ClassifierConsumer.sol/ClassifierConsumer.json",
  );
  if (!existsSync(file)) fail(`no compiled ClassifierConsumer at ${file}: run npx hardhat compile`);
  const artifact = JSON.parse(await readFile(file, "utf8")) as { bytecode: Hex };
  return { abi: classifierConsumerAbi, bytecode: artifact.bytecode };
}

export async function consumerDeploy(
  client: PoAIClient,
  args: { model: string; owner?: Address },
): Promise<CommandResult> {
  const registry = need(client, "infernetRegistry", "the marketplace's Registry");
  if (!args.model) fail("--model must name the container id the consumer asks");
  const wallet = client.walletClient;
  if (!wallet?.account) return fail("no signing key to deploy with");
  const owner = args.owner ?? signer(client);
  const { abi, bytecode } = await classifierArtifact();
  const txs: unknown[] = [];
  const hash = await deployContract(wallet, {
    abi,
    bytecode,
    args: [registry, args.model, owner],
    account: wallet.account,
    chain: wallet.chain,
  });
  const receipt = await mined(client, hash, "deploy ClassifierConsumer", txs);
  const consumer = getAddress(receipt.contractAddress!);
  return {
    lines: [
      `deployed ClassifierConsumer ${consumer} for model ${args.model}, owned by ${owner} (tx ${hash})`,
      `let it pay: poai wallet approve --wallet <wallet> --spender ${consumer} --amount <n>, then poai consumer pay --consumer ${consumer} …`,
    ],
    data: { action: "consumer-deploy", consumer, model: args.model, owner, transactions: txs },
  };
}

async function write(
  client: PoAIClient,
  consumer: Address,
  functionName: "setPayment" | "setRequester" | "classify",
  args: readonly unknown[],
  txs: unknown[],
) {
  const wallet = client.walletClient!;
  const { request } = await simulateContract(client.publicClient, {
    address: consumer,
    abi: classifierConsumerAbi,
    functionName,
    args: args as never,
    account: wallet.account!,
  });
  return mined(client, await writeContract(wallet, request as never), functionName, txs);
}

export async function consumerPay(
  client: PoAIClient,
  args: { consumer: Address; wallet: Address; token?: string; amount: string; verifier?: string },
): Promise<CommandResult> {
  const token = await parseToken(client, args.token);
  const amount = args.amount === "0" ? 0n : parseTokenAmount("amount", args.amount, token);
  const v = (args.verifier ?? "none").toLowerCase();
  const verifier =
    v === "none"
      ? ZERO
      : v === "poai"
        ? need(client, "poaiVerifier", "the PoAIVerifier")
        : parseAddress("verifier", args.verifier!);
  const txs: unknown[] = [];
  const receipt = await write(
    client,
    args.consumer,
    "setPayment",
    [token.address, amount, args.wallet, verifier],
    txs,
  );
  return {
    lines: [
      `${args.consumer} pays ${fmt(amount, token)} per request from ${args.wallet}${verifier === ZERO ? "" : `, verified by ${verifier}`} (tx ${receipt.transactionHash})`,
    ],
    data: { action: "consumer-pay", ...args, token: token.address, amount, verifier, transactions: txs },
  };
}

export async function consumerAllow(
  client: PoAIClient,
  args: { consumer: Address; requester: Address; revoke?: boolean },
): Promise<CommandResult> {
  const txs: unknown[] = [];
  const receipt = await write(client, args.consumer, "setRequester", [args.requester, !args.revoke], txs);
  return {
    lines: [
      `${args.requester} ${args.revoke ? "may no longer" : "may"} request from ${args.consumer} (tx ${receipt.transactionHash})`,
    ],
    data: { action: "consumer-allow", ...args, transactions: txs },
  };
}

export async function consumerClassify(
  client: PoAIClient,
  args: { consumer: Address; input: string },
): Promise<CommandResult> {
  const input = encodeInferenceInput(parseInputVector(args.input));
  const txs: unknown[] = [];
  const receipt = await write(client, args.consumer, "classify", [input], txs);
  const id = client.inference.subscriptionIdFromLogs({ logs: receipt.logs });
  const escrow = await client.inference.getEscrow({ subscriptionId: id });
  return {
    lines: [
      `requested subscription ${id} from ${args.consumer} (input ${input}; ${escrow} held in escrow; tx ${receipt.transactionHash})`,
      `follow it: poai subscription deliveries --id ${id}, poai consumer answer --consumer ${args.consumer} --id ${id}`,
    ],
    data: { action: "consumer-classify", subscriptionId: id, input, escrow, transactions: txs },
  };
}

export async function consumerAnswer(
  client: PoAIClient,
  args: { consumer: Address; id: string },
): Promise<CommandResult> {
  const id = parseUint("id", args.id, 1, 2 ** 32 - 1);
  const [answered, label, node] = await readContract(client.publicClient, {
    address: args.consumer,
    abi: classifierConsumerAbi,
    functionName: "answers",
    args: [id],
  });
  return {
    lines: [
      answered
        ? `subscription ${id}: label ${label}, delivered by ${node}`
        : `subscription ${id}: no answer yet`,
    ],
    data: { action: "consumer-answer", subscriptionId: id, answered, label, node },
  };
}

// =================================================================================================
// Subscriptions
// =================================================================================================

export async function subscriptionCreate(
  client: PoAIClient,
  args: {
    container: string;
    frequency?: string;
    period?: string;
    redundancy?: string;
    lazy?: boolean;
    token?: string;
    amount?: string;
    wallet?: Address;
    verifier?: string;
    commitReveal?: boolean;
  },
): Promise<CommandResult> {
  need(client, "coordinator", "the Coordinator");
  const token = await parseToken(client, args.token);
  const paymentAmount = args.amount === undefined ? 0n : parseTokenAmount("amount", args.amount, token);
  if (paymentAmount > 0n && !args.wallet)
    fail("--wallet must name the payment wallet of a paid subscription");
  const v = (args.verifier ?? "none").toLowerCase();
  const verifier =
    v === "none"
      ? ZERO
      : v === "poai"
        ? need(client, "poaiVerifier", "the PoAIVerifier")
        : parseAddress("verifier", args.verifier!);
  const txs: unknown[] = [];
  const receipt = await mined(
    client,
    await client.inference.createSubscription({
      containerId: args.container,
      frequency: parseUint("frequency", args.frequency, 1, 2 ** 32 - 1, 1),
      period: parseUint("period", args.period, 0, 2 ** 32 - 1, 0),
      redundancy: parseUint("redundancy", args.redundancy, 1, 65_535, 1),
      lazy: args.lazy ?? false,
      ...(paymentAmount > 0n && { paymentToken: token.address, paymentAmount, wallet: args.wallet! }),
      verifier,
      commitReveal: args.commitReveal ?? false,
    }),
    "createSubscription",
    txs,
  );
  const id = client.inference.subscriptionIdFromLogs({ logs: receipt.logs });
  return {
    lines: [
      `created subscription ${id} to ${args.container} owned by ${signer(client)} (tx ${receipt.transactionHash})`,
      "an account without code is called back with nothing: read its deliveries with poai subscription deliveries",
    ],
    data: { action: "subscription-create", subscriptionId: id, transactions: txs },
  };
}

function describeSubscription(id: number, s: SubscriptionView, now: bigint): string[] {
  return [
    `subscription ${id}: owner ${s.owner}, container ${s.containerId}, ${subscriptionPhase(s, now)} (interval ${intervalAt(s, now)} of ${s.frequency}, every ${s.period} s, redundancy ${s.redundancy}${s.lazy ? ", lazy" : ""})`,
    `payment ${s.paymentAmount} of ${s.paymentToken === ZERO ? "ETH" : s.paymentToken} per delivery${s.wallet === ZERO ? "" : ` from ${s.wallet}`}${s.verifier === ZERO ? "" : `, verifier ${s.verifier}`}`,
  ];
}

export async function subscriptionShow(client: PoAIClient, args: { id: string }): Promise<CommandResult> {
  const id = parseUint("id", args.id, 1, 2 ** 32 - 1);
  const s = await client.inference.getSubscription({ subscriptionId: id });
  if (s.owner === ZERO) fail(`there is no subscription ${id}`);
  const now = (await getBlock(client.publicClient)).timestamp;
  const escrow = await client.inference.getEscrow({ subscriptionId: id });
  const options = await client.inference.getSubscriptionOptions({ subscriptionId: id });
  return {
    lines: [
      ...describeSubscription(id, s, now),
      `escrow ${escrow}${options.commitReveal ? "; nodes commit, then reveal" : ""}`,
    ],
    data: { action: "subscription-show", subscriptionId: id, subscription: s, escrow, options },
  };
}

export async function subscriptionCancel(client: PoAIClient, args: { id: string }): Promise<CommandResult> {
  const id = parseUint("id", args.id, 1, 2 ** 32 - 1);
  const txs: unknown[] = [];
  const receipt = await mined(
    client,
    await client.inference.cancelSubscription({ subscriptionId: id }),
    "cancel",
    txs,
  );
  return {
    lines: [`cancelled subscription ${id}; its escrow is back in its wallet (tx ${receipt.transactionHash})`],
    data: { action: "subscription-cancel", subscriptionId: id, transactions: txs },
  };
}

/** What the nodes delivered for subscription `id`: each delivery's node, interval and output. */
export async function subscriptionDeliveries(
  client: PoAIClient,
  args: { id: string },
): Promise<CommandResult> {
  const id = parseUint("id", args.id, 1, 2 ** 32 - 1);
  const s = await client.inference.getSubscription({ subscriptionId: id });
  if (s.owner === ZERO) fail(`there is no subscription ${id}`);
  const events = await getCoordinatorEvents(client, { eventName: "SubscriptionFulfilled", args: { id } });
  const deliveries: Record<string, unknown>[] = [];
  const lines = [`subscription ${id}: ${events.length} ${events.length === 1 ? "delivery" : "deliveries"}`];
  for (const e of events) {
    const tx = await getTransaction(client.publicClient, { hash: e.transactionHash! });
    const call = decodeFunctionData({ abi: eip712CoordinatorAbi, data: tx.input });
    const a = call.args as readonly unknown[];
    // deliverCompute / revealCompute: (id, interval, input, output, proof, ...); delegated: at 6..10
    const at = call.functionName === "deliverComputeDelegatee" ? 6 : 1;
    const d = {
      node: getAddress((e.args as { node: Address }).node),
      interval: Number(a[at]),
      input: a[at + 1] as Hex,
      output: a[at + 2] as Hex,
      proof: a[at + 3] as Hex,
      block: e.blockNumber,
      tx: e.transactionHash,
    };
    if (s.lazy) {
      const receipt = await getTransactionReceipt(client.publicClient, { hash: e.transactionHash! });
      const [item] = parseEventLogs({ abi: inboxAbi, logs: receipt.logs, eventName: "NewInboxItem" });
      if (item) (d as Record<string, unknown>).inboxIndex = item.args.index;
    }
    deliveries.push(d);
    lines.push(
      `interval ${d.interval} by ${d.node} in block ${d.block}: output ${d.output.length > 66 ? `${d.output.slice(0, 66)}…` : d.output}`,
    );
  }
  return { lines, data: { action: "subscription-deliveries", subscriptionId: id, deliveries } };
}

// =================================================================================================
// The commands
// =================================================================================================

/** What `main.ts` lends the marketplace commands. */
export interface MarketCommandHelpers {
  /** Adds the common options (`--rpc`, `--network`, `--deployment`, `--config`, `--json`). */
  common: (c: Command) => Command;
  /** Runs a command's work and prints its result. */
  run: (
    json: boolean | undefined,
    work: (config: CliConfig) => Promise<CommandResult>,
    opts: CommonOptions,
  ) => Promise<void>;
  /** Opens the session (client, deployment) a command works in. */
  session: (o: CommonOptions, config: CliConfig, needsKey?: boolean) => Promise<{ client: PoAIClient }>;
}

/** Registers `poai model`, `poai wallet`, `poai consumer` and `poai subscription`. */
export function registerMarketCommands(p: Command, h: MarketCommandHelpers): void {
  const group = (name: string, description: string) =>
    p.command(name).description(description).exitOverride();
  const sub = (g: Command, name: string, description: string) =>
    h.common(g.command(name).description(description).exitOverride());
  const act =
    <O extends CommonOptions>(work: (client: PoAIClient, o: O) => Promise<CommandResult>, needsKey = true) =>
    async (o: O) =>
      h.run(o.json, async (config) => work((await h.session(o, config, needsKey)).client, o), o);
  const address = (field: string) => (v: string) => parseAddress(field, v);

  const model = group("model", "Models of the inference marketplace: export, register, show, approve");
  sub(
    model,
    "export",
    "Write the final checkpoint of a run from the trainer daemon's database, with its Merkle proof",
  )
    .requiredOption("--database <file>", "the trainer daemon's SQLite database")
    .requiredOption("--challenge <id>", "the challenge (run) whose final checkpoint to export")
    .requiredOption("--out <file>", "where the checkpoint goes (its proof goes to <file>.proof.json)")
    .option(
      "--trainer <address>",
      "the trainer the database belongs to (default: the signer)",
      address("trainer"),
    )
    .action(
      act(
        (c, o: CommonOptions & { database: string; challenge: string; out: string; trainer?: Address }) =>
          modelExport(c, o),
        false,
      ),
    );
  sub(
    model,
    "register",
    "Register a model: a valid challenge's final checkpoint (royalties), or by its widths",
  )
    .requiredOption("--container <id>", "the container id subscriptions name")
    .requiredOption("--checkpoint <file>", "the model's checkpoint (from poai model export)")
    .option(
      "--challenge <id>",
      "the valid challenge whose final checkpoint it is (default: from the proof file)",
    )
    .option("--proof <file>", "the proof file (default: <checkpoint>.proof.json)")
    .option("--widths <list>", "layer widths, e.g. 8,8,4 (without a challenge; no royalties until approved)")
    .action(
      act(
        (
          c,
          o: CommonOptions & {
            container: string;
            checkpoint: string;
            challenge?: string;
            proof?: string;
            widths?: string;
          },
        ) => modelRegister(c, o),
      ),
    );
  sub(model, "show", "Show a registered model and who earns its royalties")
    .requiredOption("--container <id>", "the container id")
    .action(act((c, o: CommonOptions & { container: string }) => modelShow(c, o), false));
  sub(model, "approve", "Governance: approve (or --revoke) the royalties of a model not bound to a challenge")
    .requiredOption("--container <id>", "the container id")
    .option("--revoke", "withdraw the approval")
    .action(act((c, o: CommonOptions & { container: string; revoke?: boolean }) => modelApprove(c, o)));

  const wallet = group("wallet", "Payment wallets: create, fund, approve spenders, show");
  sub(wallet, "create", "Create a payment wallet (WalletFactory)")
    .option("--owner <address>", "its owner (default: the signer)", address("owner"))
    .action(act((c, o: CommonOptions & { owner?: Address }) => walletCreate(c, o)));
  sub(wallet, "fund", "Send ETH or tokens into a payment wallet")
    .requiredOption("--wallet <address>", "the wallet", address("wallet"))
    .requiredOption("--amount <n>", "how much, in the token's units")
    .option("--token <token>", "poai (default), eth, or an ERC-20 address")
    .action(
      act((c, o: CommonOptions & { wallet: Address; amount: string; token?: string }) => walletFund(c, o)),
    );
  sub(wallet, "approve", "Let a spender (a consumer contract) pay from the wallet")
    .requiredOption("--wallet <address>", "the wallet", address("wallet"))
    .requiredOption("--spender <address>", "the consumer contract", address("spender"))
    .requiredOption("--amount <n>", "how much it may spend, in the token's units")
    .option("--token <token>", "poai (default), eth, or an ERC-20 address")
    .action(
      act((c, o: CommonOptions & { wallet: Address; spender: Address; amount: string; token?: string }) =>
        walletApprove(c, o),
      ),
    );
  sub(wallet, "show", "Show a wallet's balance (and a spender's allowance)")
    .requiredOption("--wallet <address>", "the wallet", address("wallet"))
    .option("--spender <address>", "a spender", address("spender"))
    .option("--token <token>", "poai (default), eth, or an ERC-20 address")
    .action(
      act(
        (c, o: CommonOptions & { wallet: Address; spender?: Address; token?: string }) => walletShow(c, o),
        false,
      ),
    );

  const consumer = group("consumer", "The example classifier consumer: deploy, pay, allow, classify, answer");
  sub(consumer, "deploy", "Deploy a ClassifierConsumer for a model, owned by the signer")
    .requiredOption("--model <id>", "the container id it asks")
    .option("--owner <address>", "its owner (default: the signer)", address("owner"))
    .action(act((c, o: CommonOptions & { model: string; owner?: Address }) => consumerDeploy(c, o)));
  sub(consumer, "pay", "Set what each request pays, from which wallet, verified by whom")
    .requiredOption("--consumer <address>", "the consumer", address("consumer"))
    .requiredOption("--wallet <address>", "the payment wallet", address("wallet"))
    .requiredOption("--amount <n>", "payment per request, in the token's units (0: free)")
    .option("--token <token>", "poai (default), eth, or an ERC-20 address")
    .option("--verifier <verifier>", "none (default), poai (the PoAIVerifier) or an address")
    .action(
      act(
        (
          c,
          o: CommonOptions & {
            consumer: Address;
            wallet: Address;
            amount: string;
            token?: string;
            verifier?: string;
          },
        ) => consumerPay(c, o),
      ),
    );
  sub(consumer, "allow", "Let an account request (or --revoke)")
    .requiredOption("--consumer <address>", "the consumer", address("consumer"))
    .requiredOption("--requester <address>", "the account", address("requester"))
    .option("--revoke", "stop it requesting")
    .action(
      act((c, o: CommonOptions & { consumer: Address; requester: Address; revoke?: boolean }) =>
        consumerAllow(c, o),
      ),
    );
  sub(consumer, "classify", "Ask the consumer to classify an input: a paid one-time subscription")
    .requiredOption("--consumer <address>", "the consumer", address("consumer"))
    .requiredOption("--input <list>", "the model's int8 inputs, comma-separated")
    .action(act((c, o: CommonOptions & { consumer: Address; input: string }) => consumerClassify(c, o)));
  sub(consumer, "answer", "Show the answer the consumer stored for a request")
    .requiredOption("--consumer <address>", "the consumer", address("consumer"))
    .requiredOption("--id <n>", "the subscription id")
    .action(act((c, o: CommonOptions & { consumer: Address; id: string }) => consumerAnswer(c, o), false));

  const subscription = group(
    "subscription",
    "Subscriptions: create (owned by the signer), show, cancel, deliveries",
  );
  sub(subscription, "create", "Create a subscription owned by the signer")
    .requiredOption("--container <id>", "the container id")
    .option("--frequency <n>", "intervals (default 1)")
    .option("--period <seconds>", "seconds between intervals (default 0)")
    .option("--redundancy <n>", "nodes per interval (default 1)")
    .option("--lazy", "deliver into the Inbox")
    .option("--amount <n>", "payment per delivery, in the token's units (default free)")
    .option("--token <token>", "poai (default), eth, or an ERC-20 address")
    .option(
      "--wallet <address>",
      "the payment wallet (the signer must be an approved spender)",
      address("wallet"),
    )
    .option("--verifier <verifier>", "none (default), poai or an address")
    .option("--commit-reveal", "nodes commit before they reveal (redundant subscriptions)")
    .action(
      act(
        (
          c,
          o: CommonOptions & {
            container: string;
            frequency?: string;
            period?: string;
            redundancy?: string;
            lazy?: boolean;
            amount?: string;
            token?: string;
            wallet?: Address;
            verifier?: string;
            commitReveal?: boolean;
          },
        ) => subscriptionCreate(c, o),
      ),
    );
  sub(subscription, "show", "Show a subscription, its phase and its escrow")
    .requiredOption("--id <n>", "the subscription id")
    .action(act((c, o: CommonOptions & { id: string }) => subscriptionShow(c, o), false));
  sub(subscription, "cancel", "Cancel a subscription the signer owns")
    .requiredOption("--id <n>", "the subscription id")
    .action(act((c, o: CommonOptions & { id: string }) => subscriptionCancel(c, o)));
  sub(subscription, "deliveries", "Show what the nodes delivered for a subscription")
    .requiredOption("--id <n>", "the subscription id")
    .action(act((c, o: CommonOptions & { id: string }) => subscriptionDeliveries(c, o), false));
}
