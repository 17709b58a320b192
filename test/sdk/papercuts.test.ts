/**
 * What a dApp developer meets first: `poai.token.transfer` exists (the docs use it), an operator's
 * `role` reads back as the word `register` takes, and a value that must be 32 bytes (a spec id, a
 * challenge id, a salt, a container id hash, an event filter) is refused when it is not, before
 * anything is sent, with the field and the value named.
 */
import { expect } from "chai";
import { createPublicClient, createWalletClient, custom, parseEther, type Address } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { getTransactionCount } from "viem/actions";
import { PoAIInputError, computeCommitment, createPoAIClient, type PoAIClient } from "../../sdk/src/index.js";
import { connect, registerOperator, type Fixture } from "./fixture.js";

const SHORT = "0x12";
const A: Address = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const deployment = {
  chainId: 31337,
  contracts: {
    accessManager: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    token: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
    staking: "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0",
    stakingLens: "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9",
    taskRegistry: "0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9",
    randomnessBeacon: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707",
    challengeManager: "0x0165878A594ca255338adfa4d48449f69242Eb8F",
    coordinator: "0xa513E6E4b8f2a923D98304ec87F64353C4D5C853",
    inbox: "0x2279B7A0a67DB372996a5FaB50D91eAA73d2eBe6",
    modelRegistry: "0x8A791620dd6260079BF849Dc5567aDC3F2FdC318",
  },
};

/** A client whose transport records every request: validation must come before any of them. */
function offlineClient(): { client: PoAIClient; requests: string[] } {
  const requests: string[] = [];
  const transport = custom(
    {
      request: async ({ method }: { method: string }) => {
        requests.push(method);
        throw new Error(`unexpected RPC request ${method}`);
      },
    },
    { retryCount: 0 },
  );
  const account = privateKeyToAccount("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");
  return {
    client: createPoAIClient({
      publicClient: createPublicClient({ transport }),
      walletClient: createWalletClient({ account, transport }),
      deployment,
    }),
    requests,
  };
}

async function refusal(run: () => unknown): Promise<PoAIInputError> {
  try {
    await run();
  } catch (err) {
    expect(err, (err as Error).message).to.be.instanceOf(PoAIInputError);
    return err as PoAIInputError;
  }
  throw new Error("expected a PoAIInputError");
}

describe("@poai/sdk papercuts", () => {
  describe("bytes32 values", () => {
    // Catches an SDK that pads or hashes a short hex value, or hands it to viem, whose encoding
    // error names neither the field nor the action: `getModel({ containerId: "0x12" })` read the
    // usage of a container *named* "0x12", and an event filter on `id: "0x12"` failed inside viem.
    const cases: [string, string, (c: PoAIClient) => unknown][] = [
      ["registry.getSpec", "specId", (c) => c.registry.getSpec({ specId: SHORT })],
      ["registry.isSpecRegistered", "specId", (c) => c.registry.isSpecRegistered({ specId: SHORT })],
      ["registry.activateSpec", "specId", (c) => c.registry.activateSpec({ specId: SHORT })],
      ["registry.retireSpec", "specId", (c) => c.registry.retireSpec({ specId: SHORT })],
      ["registry.getSpecFor", "seed", (c) => c.registry.getSpecFor({ round: 1, seed: SHORT })],
      ["challenges.getChallenge", "id", (c) => c.challenges.getChallenge({ id: SHORT })],
      ["challenges.getMembers", "id", (c) => c.challenges.getMembers({ id: SHORT })],
      ["challenges.getAuditSeed", "id", (c) => c.challenges.getAuditSeed({ id: SHORT })],
      ["challenges.finalize", "id", (c) => c.challenges.finalize({ id: SHORT })],
      [
        "challenges.isCommitteeMember",
        "id",
        (c) => c.challenges.isCommitteeMember({ id: SHORT, validator: A }),
      ],
      [
        "challenges.submitResult",
        "resultRoot",
        (c) => c.challenges.submitResult({ round: 1, resultRoot: SHORT, reportedScoreBps: 9000 }),
      ],
      ["beacon.commitBeacon", "commitment", (c) => c.beacon.commitBeacon({ round: 1, commitment: SHORT })],
      ["beacon.revealBeacon", "secret", (c) => c.beacon.revealBeacon({ round: 1, secret: SHORT })],
      ["inference.getModel", "containerId", (c) => c.inference.getModel({ containerId: SHORT })],
      ["inference.isModelActive", "containerId", (c) => c.inference.isModelActive({ containerId: SHORT })],
      [
        "inference.getUsage",
        "containerId",
        (c) =>
          c.inference.getUsage({ node: "0x0000000000000000000000000000000000000001", containerId: SHORT }),
      ],
      [
        "inference.getInboxItem",
        "containerId",
        (c) => c.inference.getInboxItem({ containerId: SHORT, node: A, index: 0 }),
      ],
      [
        "challenges.getEvents",
        "args.id",
        (c) => c.challenges.getEvents({ eventName: "ChallengeFinalized", args: { id: SHORT } }),
      ],
      [
        "challenges.watchEvents",
        "args.id",
        (c) =>
          c.challenges.watchEvents({
            eventName: "ChallengeFinalized",
            args: { id: SHORT },
            onEvents: () => {},
          }),
      ],
      [
        "staking.getEvents",
        "args.operator",
        (c) => c.staking.getEvents({ eventName: "Delegated", args: { operator: SHORT as Address } }),
      ],
      [
        "computeCommitment",
        "salt",
        () => computeCommitment({ subscriptionId: 1, interval: 1, node: A, output: "0x", salt: SHORT }),
      ],
    ];
    for (const [name, field, run] of cases)
      it(`${name} refuses "0x12" as ${field}, before any request`, async () => {
        const { client, requests } = offlineClient();
        const err = await refusal(() => run(client));
        expect(err.field).to.equal(field);
        expect(err.value).to.equal(SHORT);
        expect(requests).to.deep.equal([]);
      });

    it("still takes a container id by name, and a full 32-byte hash", async () => {
      const { client, requests } = offlineClient();
      for (const containerId of ["poai-classifier", `0x${"ab".repeat(32)}`]) {
        const err = await client.inference.getModel({ containerId }).then(
          () => undefined,
          (e: Error) => e,
        );
        expect(err).to.not.be.instanceOf(PoAIInputError); // it went to the (offline) chain
      }
      expect(requests.length).to.be.greaterThan(0);
    });
  });

  describe("on a chain", () => {
    let f: Fixture;
    const chain = connect();
    beforeEach(async () => {
      f = await (await chain).load();
    });

    it("token.transfer sends POAI, and refuses an amount above the balance before signing", async () => {
      const c = f.client(1);
      const before = await c.token.getBalance({ owner: f.address(6) });
      await c.waitForTransaction(await c.token.transfer({ to: f.address(6), amount: parseEther("12.5") }));
      expect((await c.token.getBalance({ owner: f.address(6) })) - before).to.equal(parseEther("12.5"));
      const nonce = await getTransactionCount(f.publicClient, { address: f.address(1) });
      const err = await refusal(() => c.token.transfer({ to: f.address(6), amount: parseEther("1000000") }));
      expect(err.field).to.equal("amount");
      expect(await getTransactionCount(f.publicClient, { address: f.address(1) })).to.equal(nonce);
      expect((await refusal(() => c.token.transfer({ to: SHORT as Address, amount: 1n }))).field).to.equal(
        "to",
      );
    });

    it("getOperator and getOperators give the role by the name register takes, and its on-chain value", async () => {
      const trainer = await registerOperator(f, 1, { role: "trainer" });
      const validator = await registerOperator(f, 2, { role: "validator", stake: parseEther("700") });
      const c = f.client(5);
      const t = await c.staking.getOperator({ operator: trainer });
      expect([t.role, t.roleId]).to.deep.equal(["trainer", 1]);
      const v = await c.staking.getOperator({ operator: validator });
      expect([v.role, v.roleId]).to.deep.equal(["validator", 2]);
      const nobody = await c.staking.getOperator({ operator: f.address(7) });
      expect([nobody.role, nobody.roleId]).to.deep.equal(["none", 0]);
      const page = await c.staking.getOperators({});
      expect(page.operators.map((o) => o.role)).to.deep.equal(["trainer", "validator"]);
      // What reads back registers again: the role round-trips.
      expect(t.role).to.be.oneOf(["trainer", "validator"]);
    });
  });
});
