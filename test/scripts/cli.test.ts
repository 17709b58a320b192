import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { network } from "hardhat";
import { createPublicClient, createWalletClient, http, maxUint256, parseEther, type Address } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { challengeManagerAbi, createPoAIClient, parseDeployment, stakingAbi, poaiTokenAbi } from "@poai/sdk";
import { runCli } from "../../scripts/cli/main.js";
import { chainOf } from "../../scripts/cli/session.js";
import {
  PROJECT_ROOT,
  accountAddress,
  accountKey,
  childEnv,
  rpc,
  startHardhatNode,
  type HardhatNode,
} from "../fixtures/hardhat-node.js";

const HOUR = 3600;
const PARAMS = {
  PoAIStaking: { epochLength: HOUR, unbondingPeriod: 6 * HOUR, jailCooldown: HOUR, commissionDelay: HOUR },
};

type Connection = Awaited<ReturnType<typeof network.create>>;

interface Ran {
  code: number;
  out: string;
  err: string;
  /** The last line of stdout as JSON (`--json`). */
  json: () => Record<string, unknown>;
}

const lastJson = (out: string) => JSON.parse(out.trim().split("\n").at(-1)!) as Record<string, unknown>;

/** `poai …` in this process, on `connection`'s chain, signing with account `key` (or none). */
async function poaiIn(
  connection: Connection | undefined,
  key: number | undefined,
  args: string[],
): Promise<Ran> {
  let out = "";
  let err = "";
  const env: NodeJS.ProcessEnv = key === undefined ? {} : { POAI_PRIVATE_KEY: accountKey(key) };
  const code = await runCli(args, {
    env,
    stdout: (s) => (out += s),
    stderr: (s) => (err += s),
    ...(connection && { connection }),
  });
  return { code, out, err, json: () => lastJson(out) };
}

/** `npx poai …` as its own process. */
function poaiProcess(args: string[], env: Record<string, string> = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn("npx", ["--no-install", "poai", ...args], {
      cwd: PROJECT_ROOT,
      env: childEnv(env),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (b: Buffer) => (out += b.toString()));
    child.stderr.on("data", (b: Buffer) => (err += b.toString()));
    child.once("error", reject);
    child.once("exit", (code) => resolve({ code: code ?? -1, out, err, json: () => lastJson(out) }));
  });
}

function expectOk(r: Ran, what: string) {
  expect(r.code, `${what} failed:\n${r.err}\n${r.out}`).to.equal(0);
}

function expectError(r: Ran, message: string) {
  expect(r.code, `expected a failure, got:\n${r.out}`).to.equal(1);
  expect(r.err).to.contain(message);
}

describe("poai command line", () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const dir = mkdtempSync(path.join(tmpdir(), "poai-cli-"));
    dirs.push(dir);
    return dir;
  };
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  describe("in-process, on the in-process chain", () => {
    let connection: Connection;
    let dir: string;
    let book: string;
    let common: string[];
    const A = accountAddress(1);

    before(async () => {
      connection = await network.create();
      dir = tempDir();
      book = path.join(dir, "book.json");
      writeFileSync(path.join(dir, "params.json"), JSON.stringify(PARAMS));
      common = ["--deployment", book];
    });

    it("deploys with Ignition, then registers, delegates, claims, compounds and reports status", async () => {
      const deployed = await poaiIn(connection, 0, [
        "deploy",
        "--network",
        "devnet",
        "--deployment",
        book,
        "--parameters",
        path.join(dir, "params.json"),
        "--json",
      ]);
      expectOk(deployed, "deploy");
      const d = parseDeployment(JSON.parse(readFileSync(book, "utf8")));
      expect(d.network).to.equal("devnet");
      expect(d.parameters!.epochLength).to.equal(String(HOUR));
      expect(d.contracts.rewardDistributor).to.be.a("string");
      expect((deployed.json().deployment as { contracts: { staking: string } }).contracts.staking).to.equal(
        d.contracts.staking,
      );

      for (const to of [1, 2])
        expectOk(
          await poaiIn(connection, 0, [
            "transfer",
            ...common,
            "--to",
            accountAddress(to),
            "--amount",
            "10000",
          ]),
          "transfer",
        );
      const registered = await poaiIn(connection, 1, [
        "register",
        ...common,
        "--role",
        "trainer",
        "--stake",
        "2000",
        "--commission",
        "5",
        "--json",
      ]);
      expectOk(registered, "register");
      expect(registered.json()).to.include({ ok: true, action: "register", role: "trainer", operator: A });
      expect(registered.json().stake).to.equal(parseEther("2000").toString());

      const delegated = await poaiIn(connection, 2, [
        "delegate",
        ...common,
        "--operator",
        A,
        "--amount",
        "500",
      ]);
      expectOk(delegated, "delegate");
      expect(delegated.out).to.match(/approved 500 POAI for staking/);
      expect(delegated.out).to.match(/delegated 500 POAI to 0x70997970C51812dc3A010C7d01b50e0d17dc79C8/);
      expectError(await poaiIn(connection, 2, ["claim", ...common]), "nothing to claim");

      // A reward for the pool, one epoch later: 95 POAI after the 5% commission, 500/2500 of it to the
      // delegator, claimable once the epoch that earned it has closed (nobody settles anything).
      const { viem, networkHelpers } = connection;
      const token = await viem.getContractAt("PoAIToken", d.contracts.token);
      const staking = await viem.getContractAt("Staking", d.contracts.staking);
      const challenges = await viem.getContractAt("ChallengeManager", d.contracts.challengeManager!);
      await token.write.approve([d.contracts.staking, maxUint256]);
      await networkHelpers.time.increase(HOUR);
      await staking.write.notifyReward([A, parseEther("100")]);
      const earned = await staking.read.currentEpoch();
      await networkHelpers.time.increaseTo((await challenges.read.epochClosesAt([earned])) + 1n);

      const status = await poaiIn(connection, undefined, ["status", ...common, "--address", A, "--json"]);
      expectOk(status, "status");
      const s = status.json();
      expect((s.operator as { state: string }).state).to.equal("active");
      expect((s.pool as { tokens: string }).tokens).to.equal(parseEther("2500").toString());
      expect((s.rewards as { claimable: string }).claimable).to.equal(parseEther("81").toString()); // 76 + 5
      const human = await poaiIn(connection, undefined, ["status", ...common, "--address", A]);
      expect(human.out).to.contain("trainer, active");
      expect(human.out).to.contain("pool stake 2,500 POAI, self-stake 2,000 POAI, commission 5% (max 20%)");

      const claimed = await poaiIn(connection, 2, ["claim", ...common, "--json"]);
      expectOk(claimed, "claim");
      expect(claimed.json().amount).to.equal(parseEther("19").toString());
      const compounded = await poaiIn(connection, 1, ["compound", ...common, "--operator", A]);
      expectOk(compounded, "compound");
      expect(compounded.out).to.match(
        /^compounded 81 POAI into 0x70997970C51812dc3A010C7d01b50e0d17dc79C8's pool/,
      );

      const lowered = await poaiIn(connection, 1, ["commission", ...common, "--rate", "3"]);
      expectOk(lowered, "commission");
      expect(lowered.out).to.contain("commission 5% -> 3%, effective from the next epoch");
      const out = await poaiIn(connection, 2, ["undelegate", ...common, "--operator", A, "--all"]);
      expectOk(out, "undelegate");
      expectError(await poaiIn(connection, 2, ["withdraw", ...common]), "nothing has matured yet");
    });

    it("explains each mistake: config, chain, deployment, key, amount, balance, allowance, registration, jail", async () => {
      const cfg = (name: string, body: unknown) => {
        const file = path.join(dir, name);
        writeFileSync(file, typeof body === "string" ? body : JSON.stringify(body));
        return file;
      };
      expectError(
        await poaiIn(connection, 1, [
          "status",
          ...common,
          "--config",
          cfg("c1.json", { trainer: { port: "abc" } }),
        ]),
        'trainer.port: expected a number, got "abc"',
      );
      expectError(
        await poaiIn(connection, 1, [
          "status",
          ...common,
          "--config",
          cfg("c2.json", { rpcUrl: "http://x" }),
        ]),
        'expected no other keys (unknown: rpcUrl), got rpcUrl: "http://x"',
      );
      expectError(
        await poaiIn(connection, 1, [
          "status",
          ...common,
          "--config",
          cfg("c3.json", { validator: { pollMs: 0 } }),
        ]),
        "validator.pollMs: expected a number >= 1, got 0",
      );
      expectError(
        await poaiIn(connection, 1, ["status", ...common, "--config", cfg("c4.json", "{ not json")]),
        "is not JSON",
      );
      expectError(
        await poaiIn(connection, 1, ["status", ...common, "--config", path.join(dir, "absent.json")]),
        "no such file",
      );

      const d = JSON.parse(readFileSync(book, "utf8")) as Record<string, unknown>;
      const otherChain = cfg("chain1.json", { ...d, chainId: 1 });
      expectError(
        await poaiIn(connection, 1, ["status", "--deployment", otherChain]),
        "is for chain 1, but the RPC at in-process is chain 31337",
      );
      expectError(
        await poaiIn(connection, 1, ["status", "--deployment", path.join(dir, "none.json")]),
        "no deployment at",
      );
      expectError(
        await poaiIn(connection, 1, [
          "status",
          "--deployment",
          cfg("bad-book.json", { ...d, contracts: { staking: "0x1" } }),
        ]),
        "contracts.accessManager",
      );
      expectError(
        await poaiIn(connection, 1, [
          "delegate",
          ...common,
          "--operator",
          accountAddress(1),
          "--amount",
          "1.2.3",
        ]),
        '--amount must be a positive POAI amount such as 1000 or 12.5, got "1.2.3"',
      );
      expectError(
        await poaiIn(connection, 3, [
          "delegate",
          ...common,
          "--operator",
          accountAddress(1),
          "--amount",
          "10",
        ]),
        "amount 10 POAI is above your balance 0 POAI",
      );
      expectError(
        await poaiIn(connection, 2, [
          "delegate",
          ...common,
          "--operator",
          accountAddress(1),
          "--amount",
          "10",
          "--no-approve",
        ]),
        "your allowance for Staking is 0 POAI, below the amount 10 POAI",
      );
      expectError(
        await poaiIn(connection, 2, ["stake", ...common, "--amount", "10"]),
        `${accountAddress(2)} is not a registered operator`,
      );
      expectError(
        await poaiIn(connection, 2, [
          "register",
          ...common,
          "--role",
          "validator",
          "--stake",
          "600",
          "--max-commission",
          "60",
          "--commission",
          "5",
        ]),
        "MaxCommissionTooHigh",
      );
      expectError(await poaiIn(connection, 1, ["unjail", ...common]), "is not jailed");

      const staking = await connection.viem.getContractAt(
        "Staking",
        d.contracts ? (d.contracts as { staking: Address }).staking : "0x",
      );
      // Only the ChallengeManager slashes: the test slashes (and jails) as a fraud verdict would.
      const slasher = d.contracts ? (d.contracts as { challengeManager: Address }).challengeManager : "0x";
      await connection.networkHelpers.impersonateAccount(slasher);
      await connection.networkHelpers.setBalance(slasher, parseEther("1"));
      await staking.write.slash([accountAddress(1), parseEther("0.1"), [], true], { account: slasher });
      expectError(
        await poaiIn(connection, 2, [
          "delegate",
          ...common,
          "--operator",
          accountAddress(1),
          "--amount",
          "10",
        ]),
        `${accountAddress(1)} is jailed (until`,
      );
      expectError(await poaiIn(connection, 1, ["unjail", ...common]), "the cool-down ends in");
      const noKey = await poaiIn(connection, undefined, ["claim", ...common]);
      expectError(noKey, "no signing key: set POAI_PRIVATE_KEY");
      const json = await poaiIn(connection, undefined, ["claim", ...common, "--json"]);
      expect(json.json()).to.include({ ok: false });
      expect(json.json().error).to.contain("no signing key");
      expectError(
        await poaiIn(connection, 1, ["trainer", "run", ...common]),
        "--database <file> is required",
      );
      expectError(
        await poaiIn(connection, 2, ["validator", "run", ...common, "--database", path.join(dir, "v.db")]),
        "is not a registered operator",
      );
      expectError(
        await poaiIn(connection, 1, ["validator", "run", ...common, "--database", path.join(dir, "v.db")]),
        "is registered as a trainer, not a validator",
      );
    });
  });

  describe("as a process, against `hardhat node`", function () {
    this.timeout(240_000);
    let node: HardhatNode;
    let dir: string;

    before(async () => {
      node = await startHardhatNode({ lifetimeMs: 5 * 60_000 });
      dir = tempDir();
    });
    after(async () => {
      await node?.stop();
    });

    it("poai --help lists every command", async () => {
      const help = await poaiProcess(["--help"]);
      expectOk(help, "--help");
      for (const c of [
        "deploy",
        "register",
        "stake",
        "delegate",
        "undelegate",
        "withdraw",
        "claim",
        "compound",
        "commission",
        "unjail",
        "fund",
        "status",
        "operators",
        "portfolio",
        "spec",
        "rewards",
        "roles",
        "dev",
        "doctor",
        "trainer",
        "validator",
        "inference",
      ])
        expect(help.out).to.match(new RegExp(`^  ${c} `, "m"));
      // Defaults are shown, and sending commands take --yes and --dry-run.
      const register = await poaiProcess(["register", "--help"]);
      expect(register.out).to.contain("--commission <percent>");
      expect(register.out).to.contain('(default: "5")');
      expect(register.out).to.contain("--dry-run");
      expect(register.out).to.contain("-y, --yes");
      const trainer = await poaiProcess(["trainer", "run", "--help"]);
      expect(trainer.out).to.contain("--public-endpoint <url>");
      const inference = await poaiProcess(["inference", "run", "--help"]);
      expect(inference.out).to.contain("--model <containerId=file>");
      expect(inference.out).to.contain("--container <containerId=url>");
    });

    it("deploys idempotently with Ignition, registers, delegates, shows status and claims", async () => {
      const book = path.join(dir, "localhost.json");
      const journal = path.join(dir, "ignition");
      const rpcArgs = ["--rpc", node.url, "--deployment", book];
      const deployArgs = ["deploy", "--network", "localhost", ...rpcArgs, "--journal", journal, "--json"];
      const first = await poaiProcess(deployArgs, { POAI_PRIVATE_KEY: accountKey(0) });
      expectOk(first, "deploy");
      const blockAfterFirst = BigInt(await rpc<string>(node.url, "eth_blockNumber"));
      const again = await poaiProcess(deployArgs, { POAI_PRIVATE_KEY: accountKey(0) });
      expectOk(again, "second deploy");
      expect(again.json().deployment).to.deep.equal(first.json().deployment);
      expect(BigInt(await rpc<string>(node.url, "eth_blockNumber"))).to.equal(blockAfterFirst); // nothing sent
      const d = parseDeployment(JSON.parse(readFileSync(book, "utf8")));
      expect(d.network).to.equal("localhost");
      expect(d.parameters!.epochLength).to.equal(String(HOUR)); // ignition/parameters/localhost.json

      // Fund the operator and the delegator through the SDK (any client works on the same book).
      const chain = chainOf(31337, node.url);
      const admin = createWalletClient({
        chain,
        transport: http(node.url),
        account: privateKeyToAccount(accountKey(0)),
      });
      const publicClient = createPublicClient({ chain, transport: http(node.url) });
      for (const to of [1, 2]) {
        const hash = await admin.writeContract({
          address: d.contracts.token,
          abi: poaiTokenAbi,
          functionName: "transfer",
          args: [accountAddress(to), parseEther("10000")],
        });
        await publicClient.waitForTransactionReceipt({ hash });
      }
      const A = accountAddress(1);
      const registered = await poaiProcess(
        ["register", ...rpcArgs, "--role", "trainer", "--stake", "2000", "--gpu", "H100", "--json"],
        { POAI_PRIVATE_KEY: accountKey(1) },
      );
      expectOk(registered, "register");
      expect(registered.json()).to.include({ ok: true, operator: A });
      const delegated = await poaiProcess(["delegate", ...rpcArgs, "--operator", A, "--amount", "500"], {
        POAI_PRIVATE_KEY: accountKey(2),
      });
      expectOk(delegated, "delegate");
      expect(delegated.out).to.contain("delegated 500 POAI");

      await rpc(node.url, "evm_increaseTime", [HOUR]);
      await rpc(node.url, "evm_mine");
      // The RewardDistributor is Staking's only rewarder: the test pays a reward as it would.
      const rewarder = d.contracts.rewardDistributor!;
      await rpc(node.url, "hardhat_impersonateAccount", [rewarder]);
      await rpc(node.url, "hardhat_setBalance", [rewarder, "0xde0b6b3a7640000"]);
      const asRewarder = createWalletClient({ chain, transport: http(node.url), account: rewarder });
      const funded = await admin.writeContract({
        abi: poaiTokenAbi,
        address: d.contracts.token,
        functionName: "transfer",
        args: [rewarder, parseEther("100")],
      });
      await publicClient.waitForTransactionReceipt({ hash: funded });
      for (const [abi, address, functionName, args] of [
        [poaiTokenAbi, d.contracts.token, "approve", [d.contracts.staking, maxUint256]],
        [stakingAbi, d.contracts.staking, "notifyReward", [A, parseEther("100")]],
      ] as const) {
        const hash = await asRewarder.writeContract({ abi, address, functionName, args } as never);
        await publicClient.waitForTransactionReceipt({ hash });
      }
      // The reward is the pool's once the epoch that earned it has closed: nobody settles anything.
      const earned = await publicClient.readContract({
        address: d.contracts.staking,
        abi: stakingAbi,
        functionName: "currentEpoch",
      });
      const closesAt = await publicClient.readContract({
        address: d.contracts.challengeManager!,
        abi: challengeManagerAbi,
        functionName: "epochClosesAt",
        args: [earned],
      });
      const now = (await publicClient.getBlock()).timestamp;
      await rpc(node.url, "evm_increaseTime", [Number(closesAt - now) + 1]);
      await rpc(node.url, "evm_mine");
      const status = await poaiProcess(["status", ...rpcArgs, "--address", A]);
      expectOk(status, "status");
      expect(status.out).to.contain(`operator ${A}: trainer, active`);
      expect(status.out).to.contain("endpoint -, GPU H100");
      expect(status.out).to.contain("rewards: 81 POAI claimable");
      const claimed = await poaiProcess(["claim", ...rpcArgs], { POAI_PRIVATE_KEY: accountKey(2) });
      expectOk(claimed, "claim");
      expect(claimed.out).to.match(/^claimed 19 POAI from 1 pool/);
      const poai = createPoAIClient({ publicClient, deployment: d });
      expect((await poai.staking.getPosition({ owner: accountAddress(2), operator: A })).claimable).to.equal(
        0n,
      );

      const wrongChain = path.join(dir, "other.json");
      writeFileSync(wrongChain, JSON.stringify({ ...JSON.parse(readFileSync(book, "utf8")), chainId: 5 }));
      expectError(
        await poaiProcess(["status", "--rpc", node.url, "--deployment", wrongChain, "--address", A]),
        `is for chain 5, but the RPC at ${node.url} is chain 31337`,
      );
      expectError(
        await poaiProcess(["status", "--rpc", "http://127.0.0.1:1", "--deployment", book]),
        "cannot reach the RPC",
      );
    });

    it("asks before sending in a terminal: 'n' sends nothing, 'y' sends; a script is not asked", async function () {
      // A real terminal: util-linux `script` gives the command a pseudo-terminal on stdin.
      if (spawnSync("script", ["--version"]).error) this.skip();
      const book = path.join(dir, "localhost.json");
      const to = accountAddress(9);
      const command = `node scripts/cli/poai.js transfer --rpc ${node.url} --deployment ${book} --to ${to} --amount 7`;
      const inTerminal = (answer: string) =>
        new Promise<string>((resolve, reject) => {
          const child = spawn("script", ["-qec", command, "/dev/null"], {
            cwd: PROJECT_ROOT,
            env: childEnv({ POAI_PRIVATE_KEY: accountKey(0) }),
            stdio: ["pipe", "pipe", "pipe"],
          });
          let out = "";
          child.stdout.on("data", (b: Buffer) => {
            out += b.toString();
            if (out.includes("Send? [y/N]") && !child.stdin.writableEnded) child.stdin.end(`${answer}\n`);
          });
          child.once("error", reject);
          child.once("exit", () => resolve(out));
        });
      const chain = chainOf(31337, node.url);
      const publicClient = createPublicClient({ chain, transport: http(node.url) });
      const d = parseDeployment(JSON.parse(readFileSync(book, "utf8")));
      const poai = createPoAIClient({ publicClient, deployment: d });
      const balance = () => poai.token.getBalance({ owner: to });

      const declined = await inTerminal("n");
      expect(declined).to.contain(`About to send 1 transaction from ${accountAddress(0)} on chain 31337`);
      expect(declined).to.contain(`sent 7 POAI to ${to}`);
      expect(declined).to.contain("not confirmed: nothing was sent");
      expect(await balance()).to.equal(0n);
      const accepted = await inTerminal("y");
      expect(accepted).to.match(/sent 7 POAI to 0x[0-9a-fA-F]{40} \(tx 0x/);
      expect(await balance()).to.equal(parseEther("7"));
      // Without a terminal (a script, a pipe), running the command is the consent.
      const scripted = await poaiProcess(
        ["transfer", "--rpc", node.url, "--deployment", book, "--to", to, "--amount", "7"],
        { POAI_PRIVATE_KEY: accountKey(0) },
      );
      expectOk(scripted, "transfer from a script");
      expect(scripted.err).to.not.contain("Send?");
      expect(await balance()).to.equal(parseEther("14"));
    });
  });
});
