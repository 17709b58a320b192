/**
 * ChallengeManager governance: every parameter's hard bounds (the error names the field, the
 * value and the bounds), governance-only access, and slashes that stay within Staking's current
 * cap so a lowered cap never blocks a judgment.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { keccak256, toHex } from "viem";
import type { ChallengeParams } from "../../scripts/lib/deploy.js";
import {
  DAY,
  E,
  Status,
  Verdict,
  WAD,
  ceilDiv,
  deployWorld,
  type Connection,
  type World,
} from "./helpers/world.js";

const L = DAY;
const R = 1n;

describe("ChallengeManager parameters", function () {
  this.timeout(300_000);
  let conn: Connection;
  before(async () => {
    conn = await network.create();
  });
  const assertions = () => conn.viem.assertions;

  async function fixture() {
    return deployWorld(conn, { trainers: [E(5000)], outsiders: 1 });
  }
  const load = () => conn.networkHelpers.loadFixture(fixture);
  const current = async (w: World): Promise<ChallengeParams> => ({ ...(await w.challenges.read.params()) });

  /**
   * Each field with its bounds for an epoch of a day, the other fields at their defaults (both
   * audit windows a quarter epoch, so either window may grow to three quarters).
   */
  const bounds: { field: keyof ChallengeParams; lo: bigint; hi: bigint }[] = [
    { field: "commitWindow", lo: 1n, hi: BigInt(L - L / 4) },
    { field: "revealWindow", lo: 1n, hi: BigInt(L - L / 4) },
    { field: "finalizeGrace", lo: 0n, hi: BigInt(L) },
    { field: "committeeSize", lo: 1n, hi: 16n },
    { field: "quorumBps", lo: 5001n, hi: 10_000n },
    { field: "minReveals", lo: 1n, hi: 32n },
    { field: "maxDeviationBps", lo: 1n, hi: 10_000n },
    { field: "scoreToleranceBps", lo: 0n, hi: 10_000n },
    { field: "maxMisses", lo: 1n, hi: 100n },
    { field: "fraudSlash", lo: 1n, hi: WAD },
    { field: "withholdSlash", lo: 1n, hi: WAD },
    { field: "missSlash", lo: 1n, hi: WAD },
  ];
  const withField = (p: ChallengeParams, field: keyof ChallengeParams, v: bigint): ChallengeParams => ({
    ...p,
    [field]: field.endsWith("Slash") ? v : Number(v),
  });

  it("accepts every field at its bounds and refuses one past them, naming the field, the value and the bounds", async () => {
    const w = await load();
    const base = await current(w);
    expect([base.commitWindow, base.revealWindow]).to.deep.equal([L / 4, L / 4]);
    for (const { field, lo, hi } of bounds) {
      for (const ok of [lo, hi]) {
        const p = withField(base, field, ok);
        await assertions().emitWithArgs(w.challenges.write.setParams([p]), w.challenges, "ParamsUpdated", [
          p,
        ]);
        expect(await current(w)).to.deep.equal(p);
      }
      await w.challenges.write.setParams([base]);
      if (lo > 0n) {
        await assertions().revertWithCustomErrorWithArgs(
          w.challenges.write.setParams([withField(base, field, lo - 1n)]),
          w.challenges,
          "InvalidParameter",
          [field, lo - 1n, lo, field === "commitWindow" ? BigInt(L) : hi],
        );
      }
      // a commit window past three quarters is refused as leaving too little reveal window
      const [name, max] = field === "commitWindow" ? ["revealWindow", BigInt(L / 4 - 1)] : [field, hi];
      const value = field === "commitWindow" ? BigInt(L / 4) : hi + 1n;
      await assertions().revertWithCustomErrorWithArgs(
        w.challenges.write.setParams([withField(base, field, hi + 1n)]),
        w.challenges,
        "InvalidParameter",
        [name, value, field === "commitWindow" ? 1n : lo, max],
      );
    }
  });

  it("keeps the commit and reveal windows inside one epoch", async () => {
    const w = await load();
    const base = await current(w);
    await assertions().revertWithCustomErrorWithArgs(
      w.challenges.write.setParams([{ ...base, commitWindow: L + 1 }]),
      w.challenges,
      "InvalidParameter",
      ["commitWindow", BigInt(L + 1), 1n, BigInt(L)],
    );
    await assertions().revertWithCustomErrorWithArgs(
      w.challenges.write.setParams([{ ...base, commitWindow: L / 2, revealWindow: L / 2 + 1 }]),
      w.challenges,
      "InvalidParameter",
      ["revealWindow", BigInt(L / 2 + 1), 1n, BigInt(L / 2)],
    );
    // a commit window of the whole epoch leaves no reveal window at all
    await assertions().revertWithCustomErrorWithArgs(
      w.challenges.write.setParams([{ ...base, commitWindow: L, revealWindow: 1 }]),
      w.challenges,
      "InvalidParameter",
      ["revealWindow", 1n, 1n, 0n],
    );
    await w.challenges.write.setParams([{ ...base, commitWindow: L / 2, revealWindow: L / 2 }]);
  });

  it("checks the same bounds at deployment", async () => {
    const w = await load();
    const base = await current(w);
    await assertions().revertWithCustomErrorWithArgs(
      conn.viem.deployContract("ChallengeManager", [
        w.staking.address,
        w.registry.address,
        w.beacon.address,
        w.manager.address,
        { ...base, quorumBps: 5000 },
      ]),
      w.challenges,
      "InvalidParameter",
      ["quorumBps", 5000n, 5001n, 10_000n],
    );
  });

  it("lets only governance set parameters", async () => {
    const w = await load();
    const base = await current(w);
    for (const stranger of [w.outsiders[0], w.trainers[0], w.validators[0]]) {
      await assertions().revertWithCustomErrorWithArgs(
        stranger.cm.write.setParams([base]),
        w.challenges,
        "AccessManagedUnauthorized",
        [stranger.address],
      );
    }
  });

  describe("a lowered Staking maxSlashFraction", () => {
    const fraud = async (w: World) => {
      const [T] = w.trainers;
      await w.to(w.start(R));
      await T.cm.write.submitResult([R, keccak256(toHex("root")), 8000]);
      const id = w.id(T, R);
      await w.audit(
        id,
        R,
        w.validators.map((v) => ({ v, verdict: Verdict.Invalid, segment: 1 })),
      );
      return id;
    };

    it("caps a fraud slash at the new maximum instead of blocking the judgment", async () => {
      const w = await load();
      const id = await fraud(w);
      const p = await w.staking.read.params();
      const cap = E("0.1");
      await w.staking.write.setParams([{ ...p, maxSlashFraction: cap }]);
      expect(w.cp.fraudSlash > cap).to.equal(true);
      const hash = await w.challenges.write.finalize([id]);
      const [slashed] = await w.events(hash, w.staking, "Slashed");
      expect(slashed.fraction).to.equal(cap);
      expect(slashed.activeAmount).to.equal(ceilDiv(E(5000) * cap, WAD));
      expect((await w.challenges.read.getChallenge([id])).status).to.equal(Status.Fraud);
      expect(await w.staking.read.isActive([w.trainers[0].address])).to.equal(false);
    });

    it("caps at the smallest cap Staking allows (one wei of fraction)", async () => {
      const w = await load();
      const id = await fraud(w);
      const p = await w.staking.read.params();
      await w.staking.write.setParams([{ ...p, maxSlashFraction: 1n }]);
      const hash = await w.challenges.write.finalize([id]);
      const [slashed] = await w.events(hash, w.staking, "Slashed");
      expect(slashed.fraction).to.equal(1n);
      expect(slashed.activeAmount).to.equal(ceilDiv(E(5000), WAD)); // 5,000 wei
    });

    it("caps a miss slash too", async () => {
      const w = await deployWorld(conn, {
        trainers: [E(5000)],
        challenge: { maxMisses: 1, missSlash: E("0.2") },
      });
      const p = await w.staking.read.params();
      await w.staking.write.setParams([{ ...p, maxSlashFraction: E("0.05") }]);
      await w.to(w.submitDeadline(R) + 1n);
      const hash = await w.challenges.write.reportMissed([w.trainers[0].address, R]);
      const [slashed] = await w.events(hash, w.staking, "Slashed");
      expect(slashed.fraction).to.equal(E("0.05"));
    });
  });
});
