import { expect } from "chai";
import { PoAIInputError, parseDeployment } from "../../sdk/src/index.js";

const valid = {
  chainId: 31337,
  network: "devnet",
  deployBlock: "12",
  contracts: {
    accessManager: "0x5fbdb2315678afecb367f032d93f642f64180aa3",
    token: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
    staking: "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0",
    stakingLens: "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9",
    challengeManager: "0xdc64a140aa3e981100a9beca4e685f962f0cf6c9",
    futureContract: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707",
  },
};

function parseError(input: unknown): PoAIInputError {
  try {
    parseDeployment(input);
  } catch (err) {
    expect(err).to.be.instanceOf(PoAIInputError);
    return err as PoAIInputError;
  }
  throw new Error("expected parseDeployment to throw");
}

describe("@poai/sdk deployment", () => {
  it("parses a deployment, checksums its addresses and keeps contracts it does not know yet", () => {
    const d = parseDeployment(valid);
    expect(d.chainId).to.equal(31337);
    expect(d.deployBlock).to.equal(12n);
    expect(d.contracts.accessManager).to.equal("0x5FbDB2315678afecb367f032d93F642f64180aa3");
    expect(d.contracts.challengeManager).to.equal("0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9");
    expect(d.contracts.futureContract).to.equal("0x5FC8d32690cc91D4c39d9d3abcBD16989F875707");
    expect(d.contracts.coordinator).to.equal(undefined);
  });

  it("parses JSON text and numeric block numbers", () => {
    const d = parseDeployment(JSON.stringify({ ...valid, deployBlock: 7 }));
    expect(d.deployBlock).to.equal(7n);
    expect(d.network).to.equal("devnet");
  });

  it("names a missing contract", () => {
    const { staking: _staking, ...contracts } = valid.contracts;
    const err = parseError({ ...valid, contracts });
    expect(err.field).to.equal("contracts.staking");
    expect(err.value).to.equal(undefined);
    expect(err.message).to.contain("contracts.staking").and.to.contain("required");
  });

  it("names a malformed address and shows it", () => {
    const err = parseError({ ...valid, contracts: { ...valid.contracts, token: "0x1234" } });
    expect(err.field).to.equal("contracts.token");
    expect(err.value).to.equal("0x1234");
    expect(err.message).to.equal(
      'Invalid contracts.token: expected an address (0x followed by 40 hex digits, valid checksum if mixed-case), got "0x1234"',
    );
    const extra = parseError({ ...valid, contracts: { ...valid.contracts, futureContract: 42 } });
    expect(extra.field).to.equal("contracts.futureContract");
  });

  it("names a chain id of the wrong type, a negative block and an unknown key", () => {
    const chain = parseError({ ...valid, chainId: "31337" });
    expect(chain.field).to.equal("chainId");
    expect(chain.value).to.equal("31337");
    expect(chain.message).to.contain("a number");
    const block = parseError({ ...valid, deployBlock: -1 });
    expect(block.field).to.equal("deployBlock");
    expect(block.value).to.equal(-1);
    const key = parseError({ ...valid, chainID: 1 });
    expect(key.message).to.contain("chainID");
  });

  it("keeps the deploy parameters as decimal strings", () => {
    const d = parseDeployment({ ...valid, parameters: { epochLength: "86400" } });
    expect(d.parameters).to.deep.equal({ epochLength: "86400" });
    expect(parseError({ ...valid, parameters: { epochLength: 86400 } }).field).to.equal(
      "parameters.epochLength",
    );
  });

  it("lists every problem in one message", () => {
    const err = parseError({ chainId: 0, contracts: { ...valid.contracts, staking: "nope" } });
    expect(err.field).to.equal("chainId");
    expect(err.message).to.contain("chainId").and.to.contain("contracts.staking").and.to.contain('"nope"');
  });

  it("names bad JSON text", () => {
    expect(parseError("{ not json").field).to.equal("deployment");
  });
});
