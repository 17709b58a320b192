/**
 * The dashboard in a real browser (headless Chromium from Debian's package, driven by
 * playwright-core) against a devnet: the devnet's own run on the in-process chain (operators,
 * Proof-of-AI rounds with a forger convicted, rewards, the inference marketplace with a dispute),
 * then the dashboard served on that chain. Every figure checked here is read back from the chain
 * independently (raw contract reads and event logs) or taken from the devnet's report.
 *
 * Screenshots of every page go to `test-results/dashboard/` (`POAI_DASHBOARD_SCREENSHOTS=docs/dashboard`
 * refreshes the ones the docs show). Chromium is installed with apt-get when missing; where it
 * cannot be, the suite is skipped with the reason.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { network } from "hardhat";
import type { NetworkConnection } from "hardhat/types/network";
import type { Page } from "playwright-core";
import {
  challengeManagerAbi,
  coordinatorAbi,
  createPoAIClient,
  parseDeployment,
  stakingAbi,
  type PoAIClient,
  type PoAIDeployment,
} from "@poai/sdk";
import { createWalletClient, custom, getAddress, parseEther, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { findChromium, launchChromium, type Browser } from "../../dashboard/server/browser.js";
import { ensureDashboardBuilt } from "../../dashboard/server/build.js";
import { startDashboardServer, type DashboardServer } from "../../dashboard/server/server.js";
import { resolveDevnetOptions } from "../../scripts/lib/devnet/options.js";
import type { DevnetReport } from "../../scripts/lib/devnet/report.js";
import { runDevnet } from "../../scripts/lib/devnet/run.js";
import { createDevnetUi } from "../../scripts/lib/devnet/ui.js";
import { runInferenceScenario } from "../../scripts/lib/inference-scenario.js";
import { PROJECT_ROOT, accountKey } from "../fixtures/hardhat-node.js";
import { multicall3Bytecode } from "../sdk/fixture.js";

type Connection = NetworkConnection<"generic">;

const SHOTS = path.resolve(PROJECT_ROOT, process.env.POAI_DASHBOARD_SCREENSHOTS ?? "test-results/dashboard");
// The devnet's accounts: 0 deployer, 1..3 trainers (C forges), 4..5 validators, 6 Dave, 7 Erin, 8 the dApp.
const TRAINER_B = 2;
const DAVE = 6;
const ERIN = 7;

/** The little of the DOM the tests read inside the page (the Node side has no DOM types). */
interface PageDocument {
  querySelector(selector: string): { getAttribute(name: string): string | null } | null;
}

describe("dashboard in headless Chromium against a devnet", function () {
  this.timeout(600_000);
  let connection: Connection;
  let report: DevnetReport;
  let deployment: PoAIDeployment;
  let client: PoAIClient;
  let server: DashboardServer;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  const account = (i: number) => privateKeyToAccount(accountKey(i)).address;
  const operator = (name: string) => getAddress(report.operators.find((o) => o.name === name)!.address);

  before(async function () {
    const chromium = findChromium((line) => console.log(`      ${line}`));
    if ("skip" in chromium) {
      console.log(`      skipped: ${chromium.skip}`);
      this.skip();
    }
    await ensureDashboardBuilt({ log: (line) => console.log(`      ${line}`) });
    connection = await network.create();
    // Without the devnet's paid job: these pages are checked against the inference scenario's
    // marketplace alone and a deployment without a job registry (the jobs page with one is below).
    report = await runDevnet(
      // The federated section moves the clock on past the rewards this test claims: left out.
      resolveDevnetOptions({
        epochs: 2,
        trainers: 3,
        cheaters: 1,
        absent: 0,
        validators: 2,
        jobs: false,
        federated: false,
      }),
      { ...connection, mode: "in-process" },
      createDevnetUi({ json: true, quiet: true }),
      { inference: runInferenceScenario },
    );
    expect(report.checks.filter((c) => !c.ok)).to.deep.equal([]);
    deployment = parseDeployment(report.deployment);
    client = createPoAIClient({ publicClient: await connection.viem.getPublicClient(), deployment });
    server = await startDashboardServer({
      deployment,
      chainId: report.chainId,
      chain: { provider: connection.provider },
    });
    browser = await launchChromium(chromium.path);
    page = await browser.context.newPage();
    page.on("pageerror", (err) => pageErrors.push(err.message));
    mkdirSync(SHOTS, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    await connection?.close();
  });

  afterEach(() => {
    expect(pageErrors, "errors thrown in the page").to.deep.equal([]);
  });

  /** Opens `route` and waits until its data is on screen. */
  async function open(route: string, name: string) {
    await page.goto(`${server.url}${route}`);
    await page.waitForSelector(`[data-page="${name}"][data-state="ready"]`, { timeout: 60_000 });
  }
  const value = (selector: string) => page.getAttribute(selector, "data-value");
  const shot = (file: string) => page.screenshot({ path: path.join(SHOTS, file), fullPage: true });

  it("shows the network: the chain's epoch, stake by role, delegated stake and the spec's verification overhead", async () => {
    await open("/", "overview");
    const epoch = await client.staking.currentEpoch();
    expect(await value('[data-field="epoch"]')).to.equal(String(epoch));
    const operators = (await client.staking.getOperators({ limit: 100 })).operators.filter(
      (o) => o.status === 1,
    );
    const stakeOf = (role: number) =>
      operators.filter((o) => o.roleId === role).reduce((s, o) => s + o.totalStake, 0n);
    expect(await value('[data-field="stake-trainer"]')).to.equal(String(stakeOf(1)));
    expect(await value('[data-field="stake-validator"]')).to.equal(String(stakeOf(2)));
    const delegated = operators.reduce((s, o) => s + o.totalStake - o.selfStake, 0n);
    expect(await value('[data-field="delegated"]')).to.equal(String(delegated));
    expect(delegated).to.equal(parseEther("8000")); // Dave's; Erin undelegated from the forger

    const [specId] = await client.registry.getActiveSpecs();
    const spec = await client.registry.getSpec({ specId: specId! });
    const params = await client.registry.getSpecParams({ specId: specId! });
    const { committeeSize, minReveals } = await client.challenges.getChallengeParams();
    const segments = spec.steps / spec.checkpointInterval;
    // Each member replays its own ceil(samples / minReveals) segments (ownSamples), not all of them.
    expect(Number(await value(`[data-spec="${specId}"] [data-field="overhead"]`))).to.equal(
      Math.min(
        1,
        (committeeSize * Math.min(segments, Math.ceil(params.auditSamples / minReveals))) / segments,
      ),
    );
    const valid = report.rounds.filter((r) => r.status === "Valid").length;
    expect(Number(await value('[data-status="Valid"]'))).to.be.at.least(valid);
    expect(await page.textContent('[data-field="stake-trainer"] .stat-value')).to.contain("POAI");
    await shot("network.png");
  });

  it("lists every operator with the stake, commission, verdicts, slashes and rewards the chain holds", async () => {
    await open("/operators", "operators");
    const { operators } = await client.staking.getOperators({ limit: 100 });
    const publicClient = await connection.viem.getPublicClient();
    const staking = { address: deployment.contracts.staking, abi: stakingAbi, fromBlock: 0n } as const;
    // a conviction's slash is held through the dispute window (SlashHeld) and counts as slashed
    // until it is returned (HeldReturned: the conviction overruled), when it no longer does
    const slashes = [
      ...(await publicClient.getContractEvents({ ...staking, eventName: "Slashed" })),
      ...(await publicClient.getContractEvents({ ...staking, eventName: "SlashHeld" })),
    ];
    const returned = await publicClient.getContractEvents({ ...staking, eventName: "HeldReturned" });
    const rewards = await publicClient.getContractEvents({ ...staking, eventName: "RewardCredited" });
    expect(await page.locator("[data-table=operators] tbody tr").count()).to.equal(operators.length);
    for (const op of operators) {
      const row = `[data-operator="${op.operator}"]`;
      expect(await value(`${row} [data-field="totalStake"]`)).to.equal(String(op.totalStake));
      expect(await value(`${row} [data-field="selfStake"]`)).to.equal(String(op.selfStake));
      expect(await value(`${row} [data-field="commission"]`)).to.equal(String(op.commissionBps));
      const slashed = slashes
        .filter((e) => getAddress(e.args.operator!) === op.operator)
        .reduce((s, e) => s + e.args.activeAmount! + e.args.unbondingAmount!, 0n);
      const back = returned
        .filter((e) => getAddress(e.args.operator!) === op.operator)
        .reduce((s, e) => s + e.args.amount!, 0n);
      expect(await value(`${row} [data-field="slashed"]`), `slashed of ${op.operator}`).to.equal(
        String(slashed - back),
      );
      const summary = (await client.staking.getSlashes({ operator: op.operator })).get(op.operator);
      expect(summary?.slashed ?? 0n, `getSlashes of ${op.operator}`).to.equal(slashed - back);
      const paid = rewards
        .filter((e) => getAddress(e.args.operator!) === op.operator)
        .reduce((s, e) => s + e.args.amount!, 0n);
      expect(await value(`${row} [data-field="rewards"]`), `rewards of ${op.operator}`).to.equal(
        String(paid),
      );
    }
    // Each trainer's verdict history is the devnet's judgments of the rounds it played.
    for (const t of report.operators.filter((o) => o.role === "trainer")) {
      const row = `[data-operator="${getAddress(t.address)}"] [data-field="verdicts"]`;
      const outcomes = (await value(row))!.split(",");
      const rounds = (await page.getAttribute(row, "data-rounds"))!.split(",");
      const judged = report.rounds.filter((r) => r.trainer === t.name && !r.status.startsWith("not due"));
      for (const r of judged)
        expect(outcomes[rounds.indexOf(r.round)], `${t.name} round ${r.round}`).to.equal(r.status);
    }
    const forger = operator("trainer C");
    expect(await value(`[data-operator="${forger}"] [data-field="verdicts"]`)).to.contain("Fraud");
    expect(BigInt((await value(`[data-operator="${forger}"] [data-field="slashed"]`))!) > 0n).to.equal(true);
    await shot("operators.png");
  });

  it("shows a trainer's challenges with every committee member's verdict, and its stake per epoch", async () => {
    const forger = operator("trainer C");
    await open(`/operators/${forger}`, "operator");
    const publicClient = await connection.viem.getPublicClient();
    const finalized = await publicClient.getContractEvents({
      address: deployment.contracts.challengeManager!,
      abi: challengeManagerAbi,
      eventName: "ChallengeFinalized",
      args: { trainer: forger },
      fromBlock: 0n,
    });
    expect(finalized.length).to.be.greaterThan(0);
    // the forger's slashes, each with its state (its conviction's held until released or returned)
    const slashes = await client.staking.getSlashSummary({ operator: forger });
    expect(slashes.slashes.length).to.be.greaterThan(0);
    const states = await page
      .locator("[data-table=slashes] tbody tr")
      .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-state")));
    expect(states).to.deep.equal(slashes.slashes.map((x) => x.state));
    expect(await value('[data-field="slash-summary"] [data-field="slashed"]')).to.equal(
      String(slashes.slashed),
    );
    for (const e of finalized) {
      const members = await client.challenges.getMembers({ id: e.args.id! });
      const row = `[data-challenge="${e.args.id}"]`;
      expect(await value(`${row} [data-field="status"]`)).to.equal("Fraud");
      expect(await value(`${row} [data-field="members"]`)).to.equal(
        members
          .filter((m) => m.revealed)
          .map((m) => m.verdict)
          .join(","),
      );
    }
    expect(await page.locator('[data-chart="stake-history"] canvas').count()).to.equal(1);
    expect(await page.locator('[data-chart="challenges"] canvas').count()).to.equal(1);
    expect(await value('[data-field="state"]')).to.equal("jailed");

    const honest = operator("trainer A");
    await open(`/operators/${honest}`, "operator");
    expect(await value('[data-field="totalStake"]')).to.equal(
      String((await client.staking.getOperator({ operator: honest })).totalStake),
    );
    await shot("operator.png");

    const validator = operator("validator 1");
    await open(`/operators/${validator}`, "operator");
    const reveals = report.operators.find((o) => o.name === "validator 1")!.challenges;
    const revealed = Object.values(reveals).reduce((s, n) => s + n, 0);
    expect(await page.locator("[data-table=audits] tbody tr").count()).to.equal(revealed);
    await shot("operator-validator.png");
  });

  it("shows the marketplace: the model, its usage per epoch, the deliveries and the dispute", async () => {
    await open("/marketplace", "marketplace");
    const inference = report.inference!;
    const publicClient = await connection.viem.getPublicClient();
    const fulfilled = await publicClient.getContractEvents({
      address: deployment.contracts.coordinator!,
      abi: coordinatorAbi,
      eventName: "SubscriptionFulfilled",
      fromBlock: 0n,
    });
    expect(await value('[data-field="deliveries"]')).to.equal(String(fulfilled.length));
    expect(fulfilled.length).to.equal(inference.deliveries);
    expect(await value('[data-field="disputes"]')).to.equal(String(inference.disputes.length));
    const used = inference.usage.reduce((s, u) => s + u.deliveries, 0);
    expect(await value('[data-model="poai-devnet-classifier"] [data-field="deliveries"]')).to.equal(
      String(used),
    );
    const fees = inference.usage.reduce((s, u) => s + BigInt(u.fees), 0n);
    expect(await value('[data-model="poai-devnet-classifier"] [data-field="fees"]')).to.equal(String(fees));
    expect(await page.locator('[data-chart="usage"] canvas').count()).to.equal(1);
    expect(await page.locator("[data-table=disputes] tbody tr").count()).to.equal(inference.disputes.length);
    await shot("marketplace.png");
  });

  it("reads through Multicall3 when the deployment names one: the same figures in fewer calls", async () => {
    const publicClient = await connection.viem.getPublicClient();
    const [deployer] = await connection.viem.getWalletClients();
    const hash = await deployer!.deployContract({ abi: [], bytecode: multicall3Bytecode() });
    const { contractAddress } = await publicClient.waitForTransactionReceipt({ hash });
    const batched = await startDashboardServer({
      deployment: { ...deployment, contracts: { ...deployment.contracts, multicall3: contractAddress! } },
      chainId: report.chainId,
      chain: { provider: connection.provider },
    });
    const FIGURES = `JSON.stringify([...document.querySelectorAll("[data-field][data-value]")].map(
      (e) => e.getAttribute("data-field") + "=" + e.getAttribute("data-value")))`;
    const load = async (s: DashboardServer) => {
      const calls = s.stats.rpcCalls;
      await page.goto(`${s.url}/`);
      await page.waitForSelector('[data-page="overview"][data-state="ready"]');
      return {
        figures: JSON.parse((await page.evaluate(FIGURES)) as string) as string[],
        calls: s.stats.rpcCalls - calls,
      };
    };
    try {
      const plain = await load(server);
      const viaMulticall = await load(batched);
      expect(viaMulticall.figures).to.deep.equal(plain.figures);
      expect(plain.figures.length).to.be.greaterThan(5);
      // Without Multicall3 every contract read is its own eth_call (batched in one HTTP request).
      expect(viaMulticall.calls * 2).to.be.lessThan(plain.calls);
    } finally {
      await batched.close();
    }
  });

  async function connectDevAccount(index: number) {
    await open("/delegate", "delegate");
    await page.selectOption('[data-input="dev-account"]', String(index));
    await page.click('[data-action="use-dev-account"]');
    await page.waitForSelector(`[data-signer="${account(index)}"]`);
    await page.waitForSelector('[data-page="delegate"][data-state="ready"] [data-form="delegate"]');
  }

  async function result(): Promise<{ ok: boolean; text: string }> {
    const el = await page.waitForSelector("[data-result]", { timeout: 60_000 });
    return { ok: (await el.getAttribute("data-result")) === "ok", text: (await el.textContent()) ?? "" };
  }

  it("delegates through the form with a dev key, and the chain holds the new position", async () => {
    const erin = account(ERIN);
    const target = operator("trainer A");
    const before = await client.staking.getPosition({ owner: erin, operator: target });
    await connectDevAccount(ERIN);
    await page.selectOption('[data-form="delegate"] select[name="operator"]', target);
    await page.fill('[data-form="delegate"] input[name="amount"]', "250");
    await page.click('[data-form="delegate"] button[type="submit"]');
    const r = await result();
    expect(r, r.text).to.include({ ok: true });
    expect(r.text).to.contain(`delegated 250 POAI to ${target}`);
    const after = await client.staking.getPosition({ owner: erin, operator: target });
    expect(after.tokens - before.tokens).to.equal(parseEther("250"));
    // The page reloads its data after the transaction and shows the position the chain holds.
    const cell = `[data-table="positions"] [data-operator="${target}"] [data-field="tokens"]`;
    // A function predicate, not a string: the page's Content-Security-Policy forbids eval.
    await page.waitForFunction(
      ([selector, value]) => {
        const doc = (globalThis as unknown as { document: PageDocument }).document;
        return doc.querySelector(selector)?.getAttribute("data-value") === value;
      },
      [cell, String(after.tokens)] as const,
    );
    await shot("delegate.png");
  });

  it("refuses a delegation above the balance with the CLI's message, before anything is signed", async () => {
    const erin = account(ERIN);
    const publicClient = await connection.viem.getPublicClient();
    const nonce = await publicClient.getTransactionCount({ address: erin });
    await page.fill('[data-form="delegate"] input[name="amount"]', "999999999");
    await page.click('[data-form="delegate"] button[type="submit"]');
    const r = await result();
    expect(r.ok).to.equal(false);
    expect(r.text).to.match(/^amount 999,999,999 POAI is above your balance [\d.,]+ POAI$/);
    expect(await publicClient.getTransactionCount({ address: erin })).to.equal(nonce);
    await page.fill('[data-form="delegate"] input[name="amount"]', "12.5x");
    await page.click('[data-form="delegate"] button[type="submit"]');
    expect((await result()).text).to.contain(
      'amount must be a positive POAI amount such as 1000 or 12.5, got "12.5x"',
    );
  });

  it("undelegates through the form, and the unbonding entry is on chain", async () => {
    const dave = account(DAVE);
    const from = operator("trainer A");
    await connectDevAccount(DAVE);
    await page.selectOption('[data-form="undelegate"] select[name="operator"]', from);
    await page.fill('[data-form="undelegate"] input[name="amount"]', "100");
    await page.click('[data-form="undelegate"] button[type="submit"]');
    const r = await result();
    expect(r, r.text).to.include({ ok: true });
    const entries = await client.staking.getUnbonding({ owner: dave });
    const entry = entries.find((e) => getAddress(e.operator) === from)!;
    expect(entry.tokens >= parseEther("100")).to.equal(true);
    await page.waitForSelector(`[data-table="unbonding"] [data-entry="${entry.index}"]`);
  });

  it("claims an operator's rewards through a browser wallet (EIP-1193), and the chain pays them", async () => {
    const me = account(TRAINER_B);
    // The devnet's operators claimed all they had at its end. Anyone may add a reward to a pool
    // (here the deployer); it is earned in the current epoch and is claimable once that epoch is
    // final (its challenge windows have closed).
    const token = await connection.viem.getContractAt("PoAIToken", deployment.contracts.token);
    const staking = await connection.viem.getContractAt("Staking", deployment.contracts.staking);
    const challenges = await connection.viem.getContractAt(
      "ChallengeManager",
      deployment.contracts.challengeManager!,
    );
    await token.write.approve([staking.address, parseEther("25")]);
    await staking.write.notifyReward([me, parseEther("25")]);
    const closesAt = await challenges.read.epochClosesAt([await staking.read.currentEpoch()]);
    await connection.provider.request({
      method: "evm_setNextBlockTimestamp",
      params: [Number(closesAt + 1n)],
    });
    await connection.provider.request({ method: "evm_mine", params: [] });
    const before = await client.staking.getPosition({ owner: me, operator: me });
    expect(before.claimable > 0n, "trainer B has rewards to claim").to.equal(true);
    const balance = await client.token.getBalance({ owner: me });
    // A wallet as a browser extension provides it: window.ethereum, signing outside the page.
    const signer = createWalletClient({
      account: privateKeyToAccount(accountKey(TRAINER_B)),
      transport: custom(connection.provider),
    });
    await page.exposeFunction("__poaiWallet", async (method: string, params: string) => {
      const args = params ? (JSON.parse(params) as unknown[]) : [];
      if (method === "eth_requestAccounts" || method === "eth_accounts") return [me];
      if (method === "eth_sendTransaction") {
        const tx = args[0] as { to: Address; data: Hex; gas?: Hex; value?: Hex };
        return signer.sendTransaction({
          to: tx.to,
          data: tx.data,
          ...(tx.value && { value: BigInt(tx.value) }),
          chain: null,
        });
      }
      return connection.provider.request({ method, params: args });
    });
    // A string, not a function: the test runner's transpiler would add helpers the page lacks.
    await page.addInitScript(`
      window.ethereum = {
        request: ({ method, params }) => window.__poaiWallet(method, params === undefined ? "" : JSON.stringify(params)),
        on: () => {},
        removeListener: () => {},
      };
    `);
    await page.goto(`${server.url}/delegate`);
    await page.click('[data-action="connect-wallet"]');
    await page.waitForSelector(`[data-signer="${me}"]`);
    await page.waitForSelector(`[data-page="delegate"][data-state="ready"] [data-field="claimable"]`);
    expect(await value('[data-field="claimable"]')).to.equal(String(before.claimable));
    await page.click('[data-action="claim"]');
    const r = await result();
    expect(r, r.text).to.include({ ok: true });
    expect(r.text).to.match(/^claimed [\d.]+ POAI from 1 pool/);
    const after = await client.staking.getPosition({ owner: me, operator: me });
    expect(after.claimable).to.equal(0n);
    expect((await client.token.getBalance({ owner: me })) - balance).to.equal(before.claimable);
    await page.click('[data-action="claim"]');
    expect((await result()).text).to.equal("nothing to claim: none of your pools has rewards for you");
  });

  it("says when the deployment has no job registry, and lists jobs only behind that check", async () => {
    await open("/jobs", "jobs");
    expect(await page.textContent('[data-page="jobs"]')).to.contain("This deployment has no job registry");
    await shot("jobs.png");
    const withJobs = await startDashboardServer({
      deployment: {
        ...deployment,
        contracts: { ...deployment.contracts, jobRegistry: deployment.contracts.token },
      },
      chainId: report.chainId,
      chain: { provider: connection.provider },
    });
    try {
      await page.goto(`${withJobs.url}/jobs`);
      await page.waitForSelector('[data-page="jobs"][data-state="ready"]');
      expect(await page.textContent('[data-page="jobs"]')).to.contain("has no getJobs read yet");
    } finally {
      await withJobs.close();
    }
  });
});
