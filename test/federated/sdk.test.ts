/**
 * The SDK's federated actions against the contract: post (arguments checked before anything is
 * signed, naming the field), read the job and a round, refuse a wrong-phase finalization as a
 * decoded contract error, cancel and withdraw.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { keccak256, toHex } from "viem";
import {
  PoAIInputError,
  cancelFederatedJob,
  finalizeFederatedRound,
  getFederatedJob,
  getFederatedRound,
  postFederatedJob,
  withdrawFederatedFunds,
  type PoAIContext,
} from "../../sdk/src/index.js";
import { E, type Connection } from "../poai/helpers/world.js";
import { INITIAL, deployFedWorld, type FedWorld } from "./helpers/fed-world.js";

describe("federated SDK actions", function () {
  this.timeout(300_000);
  let conn: Connection;
  before(async () => {
    conn = await network.create();
  });
  async function fixture() {
    return deployFedWorld(conn);
  }
  const ctxOf = (w: FedWorld, who = w.owner): PoAIContext => ({
    publicClient: w.publicClient,
    walletClient: who.wallet,
    deployment: {
      chainId: 31337,
      contracts: {
        accessManager: w.manager.address,
        token: w.token.address,
        staking: w.staking.address,
        stakingLens: w.lens.address,
        federatedJobs: w.federated.address,
      },
    },
  });

  it("posts, reads, refuses early finalization, cancels and withdraws", async () => {
    const w = await conn.networkHelpers.loadFixture(fixture);
    const ctx = ctxOf(w);
    const spec = toHex("a federated spec");
    const startAt = (await w.latest()) + 600n;
    const terms = {
      initialModel: INITIAL,
      budget: E(100),
      startAt,
      phase: 600,
      rounds: 2,
      committeeSize: 8,
      bandBps: 1500,
      committeeBps: 1000,
      maxStrikes: 2,
    };
    const participants = w.participants();
    let err: unknown;
    await postFederatedJob(ctx, { spec, terms: { ...terms, phase: 5 }, participants }).catch(
      (e) => (err = e),
    );
    expect(err).to.be.instanceOf(PoAIInputError);
    expect(String(err)).to.contain("terms.phase");
    err = undefined;
    await postFederatedJob(ctx, {
      spec,
      terms,
      participants: [{ ...participants[0], samples: 0 }],
    }).catch((e) => (err = e));
    expect(String(err)).to.contain("participants[0].samples");

    await w.receipt(await postFederatedJob(ctx, { spec, terms, participants }));
    const job = await getFederatedJob(ctx, { jobId: 1n });
    expect(job.state).to.equal("Open");
    expect(job.terms.specHash).to.equal(keccak256(spec));
    expect(job.participants.map((p) => p.operator)).to.deep.equal(participants.map((p) => p.operator));
    const round = await getFederatedRound(ctx, { jobId: 1n, round: 0 });
    expect(round.start).to.equal(startAt);

    err = undefined;
    await finalizeFederatedRound(ctxOf(w, w.bystander), { jobId: 1n }).catch((e) => (err = e));
    expect(String(err)).to.contain("RoundOpen");

    await w.receipt(await cancelFederatedJob(ctx, { jobId: 1n }));
    expect((await getFederatedJob(ctx, { jobId: 1n })).state).to.equal("Cancelled");
    const before = await w.token.read.balanceOf([w.owner.address]);
    await w.receipt(await withdrawFederatedFunds(ctx, {}));
    expect((await w.token.read.balanceOf([w.owner.address])) - before).to.equal(E(100));
  });
});
