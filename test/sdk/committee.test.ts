import { expect } from "chai";
import path from "node:path";
import { createPublicClient, custom, type Hex } from "viem";
import {
  challengeId,
  committeeBandIn,
  createPoAIClient,
  getRoundCommitteeInputs,
  isPoAIContractError,
  isSelectedIn,
} from "../../sdk/src/index.js";
import { TrainerDaemon } from "../../node/src/node/index.js";
import { ValidatorDaemon } from "../../node/src/verifier/index.js";
import { challengesNotSelected } from "../../node/src/verifier/committee-filter.js";
import { daemonWorld, type DaemonWorld } from "../fixtures/daemons.js";

describe("committee selection for a whole round", function () {
  this.timeout(120_000);
  let w: DaemonWorld;
  const ids: Hex[] = [];

  before(async () => {
    // Five validators, committees of two: some validators audit a challenge, others do not.
    w = await daemonWorld({ trainers: 4, validators: 5, challenge: { committeeSize: 2 } });
    await w.advanceTo(w.windows(1n).start + 1n);
    for (const t of w.trainers) {
      const daemon = await TrainerDaemon.create({
        client: t.client,
        databasePath: path.join(w.tempDir("trainer"), "trainer.db"),
        backend: "js",
        progress: "off",
        logLevel: "silent",
      });
      await daemon.tick();
      await daemon.stop();
      ids.push(challengeId(t.address, 1n));
    }
  });
  after(() => w?.cleanup());

  it("throws the decoded BeaconNotReady before the audit round's beacon is fixed", async () => {
    const err = await getRoundCommitteeInputs(w.admin.client, {
      validator: w.validators[0].address,
      round: 1n,
    }).catch((e: unknown) => e);
    expect(isPoAIContractError(err, "BeaconNotReady"), String(err)).to.equal(true);
  });

  it("agrees with the per-challenge committee check for every validator and challenge, in a constant number of requests", async () => {
    await w.advanceTo(w.windows(1n).commitStart);
    await w.admin.client.beacon.ensureBeacon({ round: 2n });
    let selections = 0;
    for (const v of w.validators) {
      let requests = 0;
      const counted = createPoAIClient({
        publicClient: createPublicClient({
          chain: w.publicClient.chain,
          transport: custom({
            request: (args: { method: string; params?: unknown }) => {
              requests++;
              return w.publicClient.request(args as never);
            },
          }),
        }),
        deployment: w.deployment,
        checkDeployment: false,
      });
      const inputs = await getRoundCommitteeInputs(counted, { validator: v.address, round: 1n });
      // one block number and six reads, however many challenges the round has
      expect(requests).to.equal(7);
      const notSelected = await challengesNotSelected(
        counted,
        v.address,
        ids.map((id) => ({ id, round: 1 })),
      );
      for (const id of ids) {
        const check = await w.admin.client.challenges.checkCommittee({ id, validator: v.address });
        expect(isSelectedIn(inputs, id)).to.equal(check.selected);
        expect(notSelected.has(id)).to.equal(!check.selected);
        // the band the round's inputs give is the one the per-challenge check gives, 0 iff selected
        expect(committeeBandIn(inputs, id)).to.equal(check.band);
        expect(check.band === 0n).to.equal(check.selected);
        // a first-band member is admitted now (its commit simulated); a top-up band not yet
        const admission = await w.admin.client.challenges.canJoinCommittee({ id, validator: v.address });
        expect(admission.admitted).to.equal(check.selected);
        if (check.selected) selections++;
      }
    }
    // the draw really splits: neither everyone nor no one audits
    expect(selections)
      .to.be.greaterThan(0)
      .and.lessThan(ids.length * w.validators.length);
    // a trainer is never selected
    const trainerInputs = await getRoundCommitteeInputs(w.admin.client, {
      validator: w.trainers[0].address,
      round: 1n,
    });
    expect(trainerInputs.isValidator).to.equal(false);
    expect(ids.some((id) => isSelectedIn(trainerInputs, id))).to.equal(false);
  });

  // Catches the naive daemon that runs the per-challenge committee check (one block number and six
  // eth_calls) for every submitted challenge: N checks per validator per round.
  it("a validator daemon checks only the challenges it is selected for, one by one", async () => {
    await w.advanceTo(w.windows(1n).commitStart + 1n);
    for (const [i, v] of w.validators.entries()) {
      let checks = 0;
      const client = {
        ...v.client,
        challenges: {
          ...v.client.challenges,
          checkCommittee: (args: Parameters<typeof v.client.challenges.checkCommittee>[0]) => {
            checks++;
            return v.client.challenges.checkCommittee(args);
          },
        },
      };
      const daemon = await ValidatorDaemon.create({
        client,
        dbPath: path.join(w.tempDir(`validator-${i}`), "validator.db"),
        backend: "js",
        fetchTimeoutMs: 1_000,
        fetchAttempts: 1,
        logLevel: "silent",
      });
      try {
        await daemon.tick();
      } finally {
        await daemon.stop();
      }
      const inputs = await getRoundCommitteeInputs(w.admin.client, { validator: v.address, round: 1n });
      expect(checks).to.equal(ids.filter((id) => isSelectedIn(inputs, id)).length);
    }
  });
});
