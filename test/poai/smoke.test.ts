import { expect } from "chai";
import { network } from "hardhat";
import { encodeAbiParameters, keccak256, maxUint256, parseEther, type Hex } from "viem";
import { deployPoAI } from "../../scripts/lib/deploy.js";

const DAY = 86400;
const SPEC = { version: 1, widths: [8, 8, 4], batchSize: 4, steps: 20, checkpointInterval: 10, lrShift: 4, evalSize: 64 };
const SPEC_PARAMS = { responseDeadline: 6 * 3600, minScoreBps: 0, maxScoreBps: 10000, auditSamples: 2 };

describe("PoAI smoke", () => {
  it("runs one audited challenge to a valid judgment", async () => {
    const { viem, networkHelpers } = await network.create();
    const d = await deployPoAI(viem, { epochLength: DAY });
    const wallets = await viem.getWalletClients();
    const [, t, v1, v2, v3] = wallets;
    const as = async (w: (typeof wallets)[number]) => ({
      staking: await viem.getContractAt("Staking", d.staking.address, { client: { wallet: w } }),
      token: await viem.getContractAt("PoAIToken", d.token.address, { client: { wallet: w } }),
      beacon: await viem.getContractAt("RandomnessBeacon", d.beacon.address, { client: { wallet: w } }),
      cm: await viem.getContractAt("ChallengeManager", d.challenges.address, { client: { wallet: w } }),
    });
    for (const w of [t, v1, v2, v3]) {
      await d.token.write.transfer([w.account.address, parseEther("10000")]);
      await (await as(w)).token.write.approve([d.staking.address, maxUint256]);
    }
    await (await as(t)).staking.write.register([1, parseEther("5000"), 500, 2000, "http://t", "H100"]);
    for (const v of [v1, v2, v3]) await (await as(v)).staking.write.register([2, parseEther("1000"), 500, 2000, "http://v", "CPU"]);
    await d.registry.write.registerSpec([SPEC, SPEC_PARAMS]);
    const specId = keccak256(
      encodeAbiParameters(
        [{ type: "tuple", components: [
          { name: "version", type: "uint16" }, { name: "widths", type: "uint32[]" }, { name: "batchSize", type: "uint32" },
          { name: "steps", type: "uint32" }, { name: "checkpointInterval", type: "uint32" }, { name: "lrShift", type: "uint8" }, { name: "evalSize", type: "uint32" },
        ] }],
        [SPEC],
      ),
    );
    await d.registry.write.activate([specId]);

    const genesis = await d.staking.read.genesis();
    const at = async (ts: bigint) => networkHelpers.time.increaseTo(ts);
    const e0 = await d.staking.read.currentEpoch();
    const r = e0 + 1n;
    const start = (e: bigint) => genesis + e * BigInt(DAY);
    await at(start(r) + 10n);
    // validators contribute to the beacon of round r + 1 during round r
    const secrets: Hex[] = [];
    for (const [i, v] of [v1, v2, v3].entries()) {
      const secret = keccak256(encodeAbiParameters([{ type: "uint256" }], [BigInt(i + 1)]));
      secrets.push(secret);
      await (await as(v)).beacon.write.commit([r + 1n, await d.beacon.read.commitmentOf([secret, v.account.address, r + 1n])]);
    }
    await d.beacon.write.seal([r]); // nobody contributed to round r: the first caller seals it
    const [due, seed, spec] = await d.challenges.read.dueChallenge([t.account.address, r]);
    expect(due).to.equal(true);
    expect(spec).to.equal(specId);
    void seed;
    const root = keccak256("0x1234");
    await (await as(t)).cm.write.submitResult([r, root, 8000]);
    await viem.assertions.revertWithCustomError(d.beacon.read.valueOf([r + 1n]), d.beacon, "BeaconNotReady");
    await at(start(r) + BigInt(DAY / 2) + 1n);
    for (const [i, v] of [v1, v2, v3].entries()) await (await as(v)).beacon.write.reveal([r + 1n, secrets[i]]);
    await at(start(r + 1n) + 1n);
    const id = await d.challenges.read.challengeId([t.account.address, r]);
    const salts: Hex[] = [];
    for (const [i, v] of [v1, v2, v3].entries()) {
      expect(await d.challenges.read.isCommitteeMember([id, v.account.address])).to.equal(true);
      const salt = keccak256(encodeAbiParameters([{ type: "uint256" }], [BigInt(100 + i)]));
      salts.push(salt);
      const c = await d.challenges.read.verdictCommitment([id, 1, 0, 8000, salt, v.account.address]);
      await (await as(v)).cm.write.commitVerdict([id, c]);
    }
    await at(start(r + 1n) + BigInt(DAY / 4) + 1n);
    for (const [i, v] of [v1, v2, v3].entries()) await (await as(v)).cm.write.revealVerdict([id, 1, 0, 8000, salts[i]]);
    await at(start(r + 1n) + BigInt(DAY / 2) + 1n);
    await d.challenges.write.finalize([id]);
    const ch = await d.challenges.read.getChallenge([id]);
    expect(ch.status).to.equal(2);
    const pts = await d.challenges.read.epochPoints([r, t.account.address]);
    console.log("trainer points", pts, "validator", await d.challenges.read.epochPoints([r, v1.account.address]), "latency", ch.latency);
    expect(pts > 0n).to.equal(true);
  });
});
