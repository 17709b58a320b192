import { expect } from "chai";
import { createPublicClient, createWalletClient, custom, type Address } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { PoAIInputError, createPoAIClient, parsePoai, type PoAIClient } from "../../sdk/src/index.js";

const OPERATOR: Address = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const deployment = {
  chainId: 31337,
  contracts: {
    accessManager: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    token: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
    staking: "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0",
    stakingLens: "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9",
  },
};

/** A client whose transport fails the test if the SDK sends anything: validation must come first. */
function offlineClient(withWallet = true): { client: PoAIClient; requests: string[] } {
  const requests: string[] = [];
  const transport = custom({
    request: async ({ method }: { method: string }) => {
      requests.push(method);
      throw new Error(`unexpected RPC request ${method}`);
    },
  });
  const account = privateKeyToAccount("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");
  const client = createPoAIClient({
    publicClient: createPublicClient({ transport }),
    ...(withWallet && { walletClient: createWalletClient({ account, transport }) }),
    deployment,
  });
  return { client, requests };
}

async function inputError(p: Promise<unknown> | (() => unknown)): Promise<PoAIInputError> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (err) {
    expect(err, (err as Error).message).to.be.instanceOf(PoAIInputError);
    return err as PoAIInputError;
  }
  throw new Error("expected a PoAIInputError");
}

describe("@poai/sdk input validation", () => {
  let client: PoAIClient;
  let requests: string[];
  beforeEach(() => {
    ({ client, requests } = offlineClient());
  });
  afterEach(() => {
    expect(requests, "no request may leave before the inputs are valid").to.deep.equal([]);
  });

  it("refuses a zero amount and names it", async () => {
    const err = await inputError(client.staking.delegate({ operator: OPERATOR, amount: 0n }));
    expect(err.field).to.equal("amount");
    expect(err.value).to.equal(0n);
    expect(err.message).to.equal(
      'Invalid amount: expected a positive bigint amount in token wei (e.g. parsePoai("100")), got 0n',
    );
  });

  it("refuses an amount given as a number instead of a bigint", async () => {
    const err = await inputError(client.staking.addStake({ amount: 100 as unknown as bigint }));
    expect(err.field).to.equal("amount");
    expect(err.message).to.contain("got 100");
  });

  it("refuses a malformed, a mis-checksummed and the zero operator address", async () => {
    const short = await inputError(client.staking.delegate({ operator: "0x1234" as Address, amount: 1n }));
    expect(short.field).to.equal("operator");
    expect(short.message).to.contain('"0x1234"');
    const badChecksum = "0x70997970c51812dc3A010C7d01b50e0d17dc79C8" as Address;
    expect((await inputError(client.staking.claim({ operator: badChecksum }))).value).to.equal(badChecksum);
    const zero = await inputError(
      client.staking.getPool({ operator: "0x0000000000000000000000000000000000000000" }),
    );
    expect(zero.message).to.contain("non-zero");
  });

  it("accepts a lower-case address", async () => {
    // Validation passes; the (offline) transport is then reached.
    const lower = OPERATOR.toLowerCase() as Address;
    let reached = false;
    try {
      await client.staking.getPool({ operator: lower });
    } catch (err) {
      reached = !(err instanceof PoAIInputError);
    }
    expect(reached).to.equal(true);
    requests.length = 0;
  });

  it("checks commission rates in basis points", async () => {
    const base = { role: "trainer" as const, stake: parsePoai("1000"), endpoint: "", gpuClass: "" };
    const above = await inputError(
      client.staking.register({ ...base, commissionBps: 12_000, maxCommissionBps: 20_000 }),
    );
    expect(above.field).to.equal("commissionBps");
    expect(above.message).to.contain("[0, 10000]").and.to.contain("12000");
    const overMax = await inputError(
      client.staking.register({ ...base, commissionBps: 900, maxCommissionBps: 500 }),
    );
    expect(overMax.field).to.equal("commissionBps");
    expect(overMax.message).to.contain("maxCommissionBps (500)");
    const fraction = await inputError(client.staking.setCommission({ commissionBps: 1.5 }));
    expect(fraction.field).to.equal("commissionBps");
    const role = await inputError(
      client.staking.register({ ...base, role: "miner" as "trainer", commissionBps: 0, maxCommissionBps: 0 }),
    );
    expect(role.field).to.equal("role");
    expect(role.value).to.equal("miner");
  });

  it("checks lists, counts and indices", async () => {
    expect((await inputError(client.staking.claimMany({ operators: [] }))).field).to.equal("operators");
    const dup = await inputError(client.staking.claimMany({ operators: [OPERATOR, OPERATOR] }));
    expect(dup.field).to.equal("operators[1]");
    expect((await inputError(client.staking.withdraw({ maxEntries: 0 }))).field).to.equal("maxEntries");
    expect((await inputError(client.staking.cancelUnbonding({ index: -1 }))).field).to.equal("index");
    expect((await inputError(client.staking.getOperators({ limit: 0 }))).field).to.equal("limit");
    expect((await inputError(client.staking.stakeAt({ operator: OPERATOR, epoch: 1.5 }))).field).to.equal(
      "epoch",
    );
    const positions = await inputError(
      client.staking.getPositions({ owner: OPERATOR, operators: [OPERATOR, "0x1" as Address] }),
    );
    expect(positions.field).to.equal("operators[1]");
  });

  it("needs a wallet client to send", async () => {
    const readOnly = offlineClient(false);
    const err = await inputError(readOnly.client.staking.unjail());
    expect(err.field).to.equal("walletClient");
    expect(err.message).to.contain("unjail");
    expect(readOnly.requests).to.deep.equal([]);
  });

  it("refuses a deployment of another chain than the client's", async () => {
    const err = await inputError(() =>
      createPoAIClient({
        publicClient: createPublicClient({
          chain: {
            id: 1,
            name: "x",
            nativeCurrency: { name: "E", symbol: "E", decimals: 18 },
            rpcUrls: { default: { http: [] } },
          },
          transport: custom({ request: async () => null }),
        }),
        deployment,
      }),
    );
    expect(err.field).to.equal("publicClient.chain.id");
    expect(err.value).to.equal(1);
    expect(err.message).to.contain("31337");
  });
});
