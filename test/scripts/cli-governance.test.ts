/**
 * The governance and local-chain commands of `poai`, in-process on the in-process chain, through
 * `runCli` as a person runs them: specs registered and activated, the emission reserve funded,
 * roles handed over through the timelock (scheduled, refused before the delay, executed after
 * it), dry runs that print calldata and send nothing, the confirmation a terminal is asked for,
 * and the `poai dev` helpers (refused on any chain but a local one).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { network } from "hardhat";
import { getAddress, keccak256, parseEther, toHex, type Address } from "viem";
import { getBalance, getTransactionCount, readContract } from "viem/actions";
import {
  createPoAIClient,
  parseDeployment,
  poaiTimelockAbi,
  rewardDistributorAbi,
  specId,
  type PoAIDeployment,
} from "@poai/sdk";
import { runCli } from "../../scripts/cli/main.js";
import { SPEC_PRESETS } from "../../scripts/cli/admin.js";
import { retireStaleJournal } from "../../scripts/cli/deploy.js";
import { ROLES } from "../../scripts/lib/roles.js";
import { accountAddress, accountKey } from "../fixtures/hardhat-node.js";

type Connection = Awaited<ReturnType<typeof network.create>>;

describe("poai governance and dev commands", function () {
  this.timeout(240_000);
  let connection: Connection;
  let dir: string;
  let book: string;
  let d: PoAIDeployment;

  const poai = async (key: number | undefined, args: string[], confirm?: (q: string) => Promise<boolean>) => {
    let out = "";
    let err = "";
    const code = await runCli([...args, "--deployment", book], {
      env: key === undefined ? {} : { POAI_PRIVATE_KEY: accountKey(key) },
      stdout: (s) => (out += s),
      stderr: (s) => (err += s),
      connection,
      ...(confirm && { confirm }),
    });
    return { code, out, err };
  };
  const ok = (r: { code: number; out: string; err: string }, what: string) => {
    expect(r.code, `${what} failed:\n${r.err}\n${r.out}`).to.equal(0);
    return r.out;
  };
  const refused = (r: { code: number; out: string; err: string }, message: string) => {
    expect(r.code, `expected a refusal, got:\n${r.out}`).to.equal(1);
    expect(r.err).to.contain(message);
  };
  const publicClient = () => connection.viem.getPublicClient();
  const nonce = async (i: number) =>
    getTransactionCount(await publicClient(), { address: accountAddress(i) });

  before(async () => {
    connection = await network.create();
    dir = mkdtempSync(path.join(tmpdir(), "poai-governance-cli-"));
    book = path.join(dir, "book.json");
    const params = path.join(dir, "params.json");
    writeFileSync(params, JSON.stringify({ PoAIStaking: { epochLength: 3600 } }));
    let out = "";
    let err = "";
    const code = await runCli(
      ["deploy", "--network", "devnet", "--parameters", params, "--deployment", book],
      {
        env: { POAI_PRIVATE_KEY: accountKey(0) },
        stdout: (s) => (out += s),
        stderr: (s) => (err += s),
        connection,
      },
    );
    expect(code, err).to.equal(0);
    expect(out).to.contain("DEVELOPMENT FAST PATH");
    d = parseDeployment(JSON.parse(readFileSync(book, "utf8")));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("registers and activates a spec in one go on the development fast path, after a dry run and a declined confirmation sent nothing", async () => {
    const id = specId(SPEC_PRESETS.demo!);
    const before = await nonce(0);
    const dry = ok(
      await poai(0, ["spec", "register", "--preset", "demo", "--activate", "--dry-run"]),
      "dry run",
    );
    expect(dry).to.contain("dry run: nothing was sent");
    expect(dry).to.contain("TaskRegistry.registerSpec(");
    expect(dry).to.contain(`TaskRegistry.activate(${id})`);
    expect(dry).to.contain("PoAITimelock.scheduleBatch(");
    expect(dry).to.contain("PoAITimelock.executeBatch(");
    expect(dry).to.match(/data: {2}0x[0-9a-f]{200,}/);
    const json = JSON.parse(
      (await poai(0, ["spec", "register", "--preset", "demo", "--dry-run", "--json"])).out,
    );
    expect(json.calls.direct[0].functionName).to.equal("registerSpec");
    expect(json.calls.schedule.functionName).to.equal("schedule");
    expect(json.timelock.operationId).to.match(/^0x[0-9a-f]{64}$/);

    let asked = "";
    const declined = await poai(0, ["spec", "register", "--preset", "demo", "--activate"], async (q) => {
      asked = q;
      return false;
    });
    refused(declined, "not confirmed: nothing was sent");
    expect(asked).to.contain("registered spec");
    expect(asked).to.contain("Send? [y/N]");
    expect(await nonce(0), "nothing was sent").to.equal(before);

    const done = ok(
      await poai(0, ["spec", "register", "--preset", "demo", "--activate"], async () => true),
      "spec register",
    );
    expect(done).to.contain("sent directly");
    expect(done).to.contain(`registered spec ${id}`);
    const client = createPoAIClient({ publicClient: await publicClient(), deployment: d });
    const next = (await client.staking.currentEpoch()) + 1n;
    expect((await client.registry.getActiveSpecs({ round: next })).map((x) => x.toLowerCase())).to.include(
      id,
    );

    refused(await poai(0, ["spec", "register", "--preset", "demo", "--activate"]), "is already active");
    refused(await poai(0, ["spec", "register", "--preset", "demo"]), "is already registered");
    refused(
      await poai(0, ["spec", "activate", "--id", "0x12"]),
      '--id must be 32 bytes as hex (0x and 64 hex digits), got "0x12"',
    );
    expect(ok(await poai(undefined, ["spec", "list"]), "spec list")).to.contain(
      `${id} active from the next round`,
    );
  });

  it("funds the emission reserve, approving the distributor first, and shows the reserve", async () => {
    const reserve = () =>
      publicClient().then((c) =>
        readContract(c, {
          address: d.contracts.rewardDistributor!,
          abi: rewardDistributorAbi,
          functionName: "reserve",
        }),
      );
    const before = await reserve();
    const out = ok(await poai(0, ["rewards", "fund", "--amount", "5000"]), "rewards fund");
    expect(out).to.contain("approved 5,000 POAI for the RewardDistributor");
    expect(out).to.contain("funded the emission reserve with 5,000 POAI");
    expect((await reserve()) - before).to.equal(parseEther("5000"));
    expect(ok(await poai(undefined, ["rewards", "status"]), "rewards status")).to.match(
      /reserve 5,000 POAI \(5 epochs\)/,
    );
    refused(await poai(0, ["rewards", "close"]), "cannot close yet: its points are final at");
  });

  it("funds accounts and moves the clock milestone by milestone, on a local chain only", async () => {
    const fresh = accountAddress(12);
    const out = ok(await poai(0, ["dev", "fund", "--to", fresh, "--poai", "100", "--eth", "3"]), "dev fund");
    expect(out).to.contain(`set ${fresh}'s balance to 3 ETH`);
    expect(out).to.contain(`sent 100 POAI to ${fresh}`);
    expect(await getBalance(await publicClient(), { address: fresh })).to.equal(parseEther("3"));
    const accounts = ok(await poai(undefined, ["dev", "accounts", "--count", "2"]), "dev accounts");
    expect(accounts).to.contain(`#1 ${accountAddress(1)} ${accountKey(1)}`);

    const client = createPoAIClient({ publicClient: await publicClient(), deployment: d });
    const round = await client.staking.currentEpoch();
    const clock = ok(await poai(undefined, ["dev", "clock"]), "dev clock");
    expect(clock).to.contain(`round ${round}`);
    const moved = ok(await poai(undefined, ["dev", "advance", "--to", "round"]), "dev advance");
    expect(moved).to.contain(`round of round ${round + 1n}`);
    expect(await client.staking.currentEpoch()).to.equal(round + 1n);
    const next = ok(await poai(undefined, ["dev", "advance"]), "dev advance to the next milestone");
    expect(next).to.match(/: (reveal|judge) of round/);

    const other = await network.create({ override: { chainId: 8453 } });
    let err = "";
    const code = await runCli(["dev", "accounts"], {
      env: {},
      stdout: () => {},
      stderr: (s) => (err += s),
      connection: other,
    });
    expect(code).to.equal(1);
    expect(err).to.contain("poai dev works on a local development chain only (chain id 31337 or 1337)");
    await other.close();
  });

  it("moves aside the Ignition journal of a local chain that was restarted, and keeps a current one", async () => {
    const journal = path.join(dir, "journal", "poai-localhost");
    const write = (address: string) => {
      mkdirSync(journal, { recursive: true });
      writeFileSync(
        path.join(journal, "deployed_addresses.json"),
        JSON.stringify({ "PoAIStaking#Staking": address }),
      );
    };
    write(d.contracts.staking);
    expect(await retireStaleJournal(journal, (await publicClient()) as never)).to.equal(undefined);
    write(accountAddress(19)); // an address without code: the chain the journal describes is gone
    const moved = await retireStaleJournal(journal, (await publicClient()) as never);
    expect(moved).to.match(/poai-localhost\.stale-\d+$/);
    expect(existsSync(journal)).to.equal(false);
    expect(existsSync(path.join(moved!, "deployed_addresses.json"))).to.equal(true);
  });

  it("hands roles over through the timelock: scheduled, refused before the delay, executed after it, never twice", async () => {
    const proposer = keccak256(toHex("PROPOSER_ROLE"));
    const newcomer = accountAddress(5);
    const timelock = d.contracts.timelock!;
    const hasRole = async (who: Address) =>
      readContract(await publicClient(), {
        address: timelock,
        abi: poaiTimelockAbi,
        functionName: "hasRole",
        args: [proposer, who],
      });

    const scheduled = ok(
      await poai(0, ["roles", "grant", "--role", "PROPOSER", "--account", newcomer]),
      "schedule",
    );
    expect(scheduled).to.contain("scheduled on the timelock: grant PROPOSER to");
    expect(scheduled).to.match(/executable from .* \(in 2d\)/);
    refused(
      await poai(0, ["roles", "grant", "--role", "PROPOSER", "--account", newcomer]),
      "is scheduled and executable from",
    );
    refused(
      await poai(6, ["roles", "grant", "--role", "PROPOSER", "--account", accountAddress(7)]),
      `${accountAddress(6)} is not a proposer of the timelock`,
    );
    ok(await poai(undefined, ["dev", "advance", "--seconds", String(2 * 86_400 + 1)]), "dev advance");
    const executed = ok(
      await poai(6, ["roles", "grant", "--role", "PROPOSER", "--account", newcomer]),
      "execute",
    );
    expect(executed).to.contain("executed through the timelock: grant PROPOSER");
    expect(await hasRole(newcomer)).to.equal(true);
    refused(
      await poai(0, ["roles", "grant", "--role", "PROPOSER", "--account", newcomer]),
      "already holds PROPOSER",
    );

    // The development fast path ends: the deployer gives GOVERNOR up; governance calls then wait for the timelock.
    const handed = ok(await poai(0, ["roles", "handover"]), "handover");
    expect(handed).to.contain("renounced GOVERNOR");
    const [governs] = await readContract(await publicClient(), {
      address: d.contracts.accessManager,
      abi: (await import("@poai/sdk")).poaiAccessManagerAbi,
      functionName: "hasRole",
      args: [ROLES.GOVERNOR, accountAddress(0)],
    });
    expect(governs).to.equal(false);
    const emission = ok(
      await poai(5, ["rewards", "emission", "--amount", "2000"]),
      "emission through the timelock",
    );
    expect(emission).to.contain("scheduled on the timelock: set the emission to 2,000 POAI per epoch");
    const roles = ok(await poai(undefined, ["roles", "list"]), "roles list");
    expect(roles).to.match(/GOVERNOR\s+timelock \(0x/);
    expect(roles).to.contain(getAddress(newcomer));
    refused(await poai(0, ["roles", "renounce", "--role", "GOVERNOR"]), "does not hold GOVERNOR");
  });

  it("shows operators with their slashes and state, a delegator's portfolio with unbonding dates, and what doctor finds wrong", async () => {
    for (const i of [8, 9])
      ok(await poai(0, ["transfer", "--to", accountAddress(i), "--amount", "5000"]), "transfer");
    const A = accountAddress(8);
    ok(await poai(8, ["register", "--role", "trainer", "--stake", "2000", "--commission", "7"]), "register");
    ok(await poai(9, ["delegate", "--operator", A, "--amount", "800"]), "delegate");
    ok(await poai(9, ["undelegate", "--operator", A, "--amount", "300"]), "undelegate");
    // Only the ChallengeManager slashes: the test slashes (and jails) as a fraud verdict would.
    const slasher = d.contracts.challengeManager!;
    await connection.networkHelpers.impersonateAccount(slasher);
    await connection.networkHelpers.setBalance(slasher, parseEther("1"));
    const staking = await connection.viem.getContractAt("Staking", d.contracts.staking);
    await staking.write.slash([A, parseEther("0.1"), [], true], { account: slasher });

    const operators = ok(await poai(undefined, ["operators"]), "operators");
    expect(operators).to.match(
      new RegExp(
        `${A}\\s+trainer\\s+jailed\\s+[\\d,.]+ POAI\\s+[\\d,.]+ POAI\\s+7%\\s+-\\s+1x [\\d,.]+ POAI`,
      ),
    );
    const json = JSON.parse((await poai(undefined, ["operators", "--role", "trainer", "--json"])).out);
    const row = json.operators.find((o: { operator: string }) => o.operator === A);
    expect(row).to.include({ role: "trainer", state: "jailed", slashes: 1 });
    expect(BigInt(row.slashed) > 0n).to.equal(true);
    refused(
      await poai(undefined, ["operators", "--role", "miner"]),
      '--role must be trainer or validator, got "miner"',
    );

    const portfolio = ok(await poai(9, ["portfolio"]), "portfolio");
    expect(portfolio).to.match(new RegExp(`${A}\\s+trainer\\s+jailed\\s+7%\\s+450 POAI`)); // 500 less the 10% slash
    expect(portfolio).to.match(/unbonding #0: 270 POAI from 0x[0-9a-fA-F]{40}, withdrawable .* \(in /);
    expect(portfolio).to.contain(`note: ${A} is jailed`);

    const doctor = await poai(9, ["doctor", "--endpoint", "http://127.0.0.1:1", "--no-gpu"]);
    expect(doctor.code).to.equal(1);
    expect(doctor.out).to.match(/^ok {3}rpc +in-process: chain 31337/m);
    expect(doctor.out).to.match(/^WARN registration .* is not a registered operator/m);
    expect(doctor.out).to.match(/^FAIL endpoint +http:\/\/127\.0\.0\.1:1 does not answer/m);
    expect(doctor.out).to.match(/^skip gpu/m);
    expect(doctor.err).to.contain("1 check(s) failed: endpoint");
    const jailed = await poai(8, ["doctor", "--no-gpu"]);
    expect(jailed.out).to.match(/^FAIL registration trainer, jailed until/m);
    expect(jailed.out).to.match(/^FAIL endpoint +no endpoint published/m);
    const keyless = await poai(undefined, ["doctor", "--no-gpu"]);
    expect(keyless.out).to.match(/^FAIL key +no signing key/m);

    // a conviction's slash is held; one overruled (returned whole) is no slash, one still held is
    const epoch = await staking.read.currentEpoch();
    const [overruled, pending] = [keccak256(toHex("overruled")), keccak256(toHex("pending"))];
    await staking.write.slashHeld([A, parseEther("0.1"), [], false, epoch, overruled], { account: slasher });
    const [returned] = await staking.read.heldSlash([slasher, overruled, A]);
    await staking.write.returnHeld([slasher, overruled, A], { account: slasher });
    await staking.write.slashHeld([A, parseEther("0.1"), [], false, epoch, pending], { account: slasher });
    const [held] = await staking.read.heldSlash([slasher, pending, A]);
    const after = JSON.parse((await poai(undefined, ["operators", "--role", "trainer", "--json"])).out);
    const now = after.operators.find((o: { operator: string }) => o.operator === A);
    // a reader that counted every SlashHeld showed three slashes, the returned one among them
    expect(now).to.include({ slashes: 2, slashed: String(BigInt(row.slashed) + held) });
    expect([now.held, now.returned]).to.deep.equal([String(held), String(returned)]);
    expect(ok(await poai(undefined, ["operators"]), "operators")).to.match(
      new RegExp(`${A}.*2x [\\d,.]+ POAI \\([\\d,.]+ POAI held, [\\d,.]+ POAI returned\\)`),
    );
  });
});
