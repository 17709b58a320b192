/**
 * A PoAI client checks its address book against the chain before it reads or writes a contract:
 * chain id, contract code, and the cheap reads that tell the book's contracts apart. On the
 * in-process chain, with books that are wrong the ways a person gets them wrong (another chain's
 * addresses, an older deployment, two deployments mixed, another chain's RPC).
 */
import { expect } from "chai";
import { network } from "hardhat";
import { createPublicClient, custom, getAddress, parseEther, type Address } from "viem";
import { getTransactionCount } from "viem/actions";
import {
  PoAIDeploymentError,
  createPoAIClient,
  parseDeployment,
  type PoAIDeployment,
} from "../../sdk/src/index.js";
import { connect, type Fixture } from "./fixture.js";

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}

describe("@poai/sdk address-book checks", function () {
  let net: Awaited<ReturnType<typeof connect>>;
  let f: Fixture;
  before(async () => {
    net = await connect();
  });
  beforeEach(async () => {
    f = await net.load();
  });

  const book = (contracts: Partial<PoAIDeployment["contracts"]>, chainId = f.deployment.chainId) =>
    parseDeployment({ ...f.deployment, chainId, contracts: { ...f.deployment.contracts, ...contracts } });
  const clientOf = (deployment: PoAIDeployment, i = 1) =>
    createPoAIClient({ publicClient: f.publicClient, walletClient: f.wallets[i]!, deployment });
  const nonce = (i: number) => getTransactionCount(f.publicClient, { address: f.address(i) });

  it("refuses to approve or delegate through a book whose Staking address holds no code, before anything is sent", async () => {
    // Catches the naive client: approve() sent an allowance to an arbitrary address and delegate()
    // "succeeded" against an address without code.
    const nowhere = getAddress("0x00000000000000000000000000000000000b00c5");
    const c = clientOf(book({ staking: nowhere }));
    const before = await nonce(1);
    for (const attempt of [
      () => c.token.approve({ amount: parseEther("10") }),
      () => c.staking.delegate({ operator: f.address(2), amount: parseEther("10") }),
      () => c.staking.getParams(),
    ]) {
      const err = await rejection(attempt());
      expect(err).to.be.instanceOf(PoAIDeploymentError);
      expect((err as PoAIDeploymentError).field).to.equal("contracts.staking");
      expect(err.message).to.contain(
        `names ${nowhere} as its staking, but that address holds no contract code`,
      );
    }
    expect(await nonce(1), "nothing was sent").to.equal(before);
  });

  it("refuses a book that names another contract, or mixes two deployments", async () => {
    // Catches a client that only looks for code: the token's address in place of Staking's holds
    // code too, and a second deployment's StakingLens reads another Staking.
    const swapped = clientOf(book({ staking: f.deployment.contracts.token }));
    let err = await rejection(swapped.staking.getParams());
    expect(err).to.be.instanceOf(PoAIDeploymentError);
    expect(err.message).to.match(/as its staking, but it does not answer token\(\) as one/);

    const other = await net.viem.deployContract("StakingLens", [f.deployment.contracts.token]);
    const mixed = clientOf(book({ stakingLens: other.address }));
    err = await rejection(mixed.staking.getOperator({ operator: f.address(2) }));
    expect(err).to.be.instanceOf(PoAIDeploymentError);
    expect((err as PoAIDeploymentError).field).to.equal("contracts.stakingLens");
    expect(err.message).to.contain(`whose staking() is ${getAddress(f.deployment.contracts.token)}`);
    expect(err.message).to.contain("the book mixes deployments");
  });

  it("refuses a book of one chain on the RPC of another", async () => {
    // Catches a client that trusts the book's chainId: the transport here does not say its chain,
    // so only asking the RPC tells.
    const elsewhere = await network.create({ override: { chainId: 4242 } });
    const publicClient = createPublicClient({ transport: custom(elsewhere.provider) });
    const c = createPoAIClient({ publicClient, deployment: f.deployment });
    const err = await rejection(c.staking.getParams());
    expect(err).to.be.instanceOf(PoAIDeploymentError);
    expect((err as PoAIDeploymentError).field).to.equal("chainId");
    expect(err.message).to.contain(`is for chain ${f.deployment.chainId}, but the RPC answers chain 4242`);
    expect(await rejection(c.verifyDeployment())).to.be.instanceOf(PoAIDeploymentError);
  });

  it("checks each contract once per client, and verifyDeployment reports every contract of a good book", async () => {
    let requests = 0;
    const publicClient = createPublicClient({
      chain: f.publicClient.chain,
      transport: custom({
        request: (args: { method: string; params?: unknown }) => {
          requests++;
          return net.provider.request(args as Parameters<typeof net.provider.request>[0]);
        },
      }),
    });
    const count = async (run: () => Promise<unknown>) => {
      const before = requests;
      await run();
      return requests - before;
    };
    const unchecked = createPoAIClient({ publicClient, deployment: f.deployment, checkDeployment: false });
    const plain = await count(() => unchecked.staking.getParams());
    const c = createPoAIClient({ publicClient, deployment: f.deployment });
    expect(await count(() => c.staking.getParams()), "the first read checks the book").to.be.greaterThan(
      plain,
    );
    expect(await count(() => c.staking.getParams()), "a second read checks nothing").to.equal(plain);
    const report = await c.verifyDeployment();
    expect(report.chainId).to.equal(f.deployment.chainId);
    expect([...report.checked].sort()).to.deep.equal(Object.keys(f.deployment.contracts).sort());
  });

  it("lets an approval to an account that is not a contract through (only the book's contracts are checked as spenders)", async () => {
    const c = clientOf(f.deployment);
    const friend: Address = f.address(3);
    await c.waitForTransaction(await c.token.approve({ amount: 1n, spender: friend }));
    expect(await c.token.getAllowance({ owner: f.address(1), spender: friend })).to.equal(1n);
  });
});
