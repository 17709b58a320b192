import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { PoAIInputError } from "../../sdk/src/index.js";
import { loadDeployment } from "../../node/src/node/index.js";

const contracts = {
  accessManager: "0x5fbdb2315678afecb367f032d93f642f64180aa3",
  token: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
  staking: "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0",
  stakingLens: "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9",
};

async function rejection(p: Promise<unknown>): Promise<PoAIInputError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).to.be.instanceOf(PoAIInputError);
  return err as PoAIInputError;
}

describe("@poai/node loadDeployment", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), "poai-books-"));
    writeFileSync(
      path.join(dir, "devnet.json"),
      JSON.stringify({ chainId: 31337, network: "devnet", contracts }),
    );
    writeFileSync(path.join(dir, "base.json"), JSON.stringify({ chainId: 8453, network: "base", contracts }));
    writeFileSync(path.join(dir, "base-copy.json"), JSON.stringify({ chainId: 8453, contracts }));
    writeFileSync(
      path.join(dir, "broken.json"),
      JSON.stringify({ chainId: 1, contracts: { ...contracts, token: "0x1" } }),
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("loads a network's address book by name, with checksummed addresses", async () => {
    const d = await loadDeployment("devnet", { dir });
    expect(d.chainId).to.equal(31337);
    expect(d.contracts.accessManager).to.equal("0x5FbDB2315678afecb367f032d93F642f64180aa3");
  });

  it("finds the one address book of a chain id, and refuses an ambiguous or unknown one", async () => {
    expect((await loadDeployment(31337, { dir })).network).to.equal("devnet");
    const ambiguous = await rejection(loadDeployment(8453, { dir }));
    expect(ambiguous.message).to.contain("found 2: base-copy.json, base.json");
    const unknown = await rejection(loadDeployment(10, { dir }));
    expect(unknown.field).to.equal("chainId");
    expect(unknown.message).to.contain("broken.json: contracts.token"); // the unreadable book is named
  });

  it("names the file and the field of a broken address book, and a missing one", async () => {
    const broken = await rejection(loadDeployment("broken", { dir }));
    expect(broken.message).to.contain(`${path.join(dir, "broken.json")}: contracts.token`);
    expect(broken.message).to.contain('"0x1"');
    const missing = await rejection(loadDeployment("mainnet", { dir }));
    expect(missing.message).to.contain("mainnet.json");
    const bad = await rejection(loadDeployment("../etc/passwd", { dir }));
    expect(bad.field).to.equal("network");
  });
});
