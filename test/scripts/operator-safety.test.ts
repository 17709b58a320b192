/**
 * The `poai` commands keep an operator from their own mistakes before anything is signed: an
 * address book whose contracts are not on this chain, or not the ones it names, fails every
 * command; a key with tokens but no ETH is told that it needs ETH for gas, and how much.
 * In-process, on the in-process chain, through `runCli` as a person runs it.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { network } from "hardhat";
import { getAddress, parseEther, type Address } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { getTransactionCount } from "viem/actions";
import { runCli } from "../../scripts/cli/main.js";
import { deployNetwork } from "../../scripts/lib/deploy.js";
import { contractsOf } from "../../scripts/lib/address-book.js";
import { accountAddress, accountKey } from "../fixtures/hardhat-node.js";

type Connection = Awaited<ReturnType<typeof network.create>>;

describe("poai commands refuse what would be sent in vain", function () {
  this.timeout(120_000);
  let connection: Connection;
  let dir: string;
  let book: string;
  let contracts: Record<string, Address>;
  let chainId: number;

  const poai = async (key: `0x${string}` | undefined, args: string[]) => {
    let out = "";
    let err = "";
    const code = await runCli(args, {
      env: key === undefined ? {} : { POAI_PRIVATE_KEY: key },
      stdout: (s) => (out += s),
      stderr: (s) => (err += s),
      connection,
    });
    return { code, out, err };
  };
  const writeBook = (name: string, patch: Record<string, Address> = {}) => {
    const file = path.join(dir, name);
    writeFileSync(
      file,
      JSON.stringify({ chainId, network: "test", deployBlock: "0", contracts: { ...contracts, ...patch } }),
    );
    return file;
  };
  const nonce = async (address: Address) =>
    getTransactionCount(await connection.viem.getPublicClient(), { address });

  before(async () => {
    connection = await network.create();
    dir = mkdtempSync(path.join(tmpdir(), "poai-safety-"));
    const d = await deployNetwork(connection.viem, { epochLength: 3600 });
    contracts = contractsOf(d) as unknown as Record<string, Address>;
    chainId = await (await connection.viem.getPublicClient()).getChainId();
    book = writeBook("book.json");
    await d.token.write.transfer([accountAddress(1), parseEther("10000")]);
    await d.token.write.transfer([accountAddress(2), parseEther("10000")]);
    const r = await poai(accountKey(1), [
      "register",
      "--deployment",
      book,
      "--role",
      "trainer",
      "--stake",
      "2000",
    ]);
    expect(r.code, r.err).to.equal(0);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("fails delegate, and every other command, before anything is sent when the book's Staking holds no code", async () => {
    // Catches the naive command: delegate approved tokens to the book's address and "delegated"
    // to an address without code, printing success.
    const nowhere = getAddress("0x000000000000000000000000000000000000dead");
    const bad = writeBook("nowhere.json", { staking: nowhere });
    const before = await nonce(accountAddress(2));
    const delegated = await poai(accountKey(2), [
      "delegate",
      "--deployment",
      bad,
      "--operator",
      accountAddress(1),
      "--amount",
      "10",
    ]);
    expect(delegated.code).to.equal(1);
    expect(delegated.out).to.equal("");
    expect(delegated.err).to.contain(
      `${bad}: the address book of network "test" (chain ${chainId}) names ${nowhere} as its staking, but that address holds no contract code`,
    );
    for (const args of [
      ["status"],
      ["claim"],
      ["stake", "--amount", "1"],
      ["transfer", "--to", accountAddress(3), "--amount", "1"],
    ]) {
      const r = await poai(accountKey(2), [...args, "--deployment", bad]);
      expect(r.code, args.join(" ")).to.equal(1);
      expect(r.err, args.join(" ")).to.contain("holds no contract code");
    }
    expect(await nonce(accountAddress(2)), "nothing was sent").to.equal(before);
  });

  it("fails when the book names another contract in a contract's place", async () => {
    // Catches a check for code alone: the token's address in the ChallengeManager's place holds code.
    const bad = writeBook("swapped.json", { challengeManager: contracts.token! });
    const r = await poai(accountKey(2), ["status", "--deployment", bad, "--address", accountAddress(1)]);
    expect(r.code).to.equal(1);
    expect(r.err).to.match(/as its challengeManager, but it does not answer staking\(\) as one/);
  });

  it("tells a key with tokens but no ETH that it needs ETH for gas, and how much", async () => {
    // Catches the bare RPC error a key without ETH used to get ("Missing or invalid parameters").
    const key = generatePrivateKey();
    const holder = privateKeyToAccount(key).address;
    const sent = await poai(accountKey(1), [
      "transfer",
      "--deployment",
      book,
      "--to",
      holder,
      "--amount",
      "100",
    ]);
    expect(sent.code, sent.err).to.equal(0);
    const r = await poai(key, [
      "delegate",
      "--deployment",
      book,
      "--operator",
      accountAddress(1),
      "--amount",
      "10",
    ]);
    expect(r.code).to.equal(1);
    expect(r.err).to.match(
      new RegExp(
        `${holder} needs native currency \\(ETH\\) to pay for gas: approve needs about [0-9.]+ ETH \\(\\d+ gas at up to [0-9.]+ gwei\\), and it holds 0 ETH\\. Send it at least [0-9.]+ ETH`,
      ),
    );
    expect(r.err).to.not.match(/Missing or invalid parameters/);
    expect(await nonce(holder)).to.equal(0);
  });
});
