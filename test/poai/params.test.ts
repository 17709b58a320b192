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
   * Each field with its bounds for an epoch of a day, the other fields at their defaults (commit,
   * reveal and grace windows a quarter epoch, the replay window an eighth), and the error a value
   * just outside them gets: the field's own bound, or the bound of the field it would squeeze.
   */
  const Q = BigInt(L / 4);
  const EIGHTH = BigInt(L / 8);
  type Bound = [name: string, value: bigint, min: bigint, max: bigint];
  const bounds: { field: keyof ChallengeParams; lo: bigint; hi: bigint; below?: Bound; above: Bound }[] = [
    // the commit and reveal windows and the replay window must fit in the audit round
    {
      field: "commitWindow",
      lo: 1n,
      hi: 5n * EIGHTH,
      below: ["commitWindow", 0n, 1n, BigInt(L) - 2n],
      above: ["replayWindow", EIGHTH, 1n, EIGHTH - 1n],
    },
    {
      field: "revealWindow",
      lo: 1n,
      hi: 5n * EIGHTH,
      below: ["revealWindow", 0n, 1n, BigInt(L) - Q - 1n],
      above: ["replayWindow", EIGHTH, 1n, EIGHTH - 1n],
    },
    // the replay window lies inside the grace window
    {
      field: "finalizeGrace",
      lo: EIGHTH,
      hi: BigInt(L),
      below: ["replayWindow", EIGHTH, 1n, EIGHTH - 1n],
      above: ["finalizeGrace", BigInt(L) + 1n, 1n, BigInt(L)],
    },
    {
      field: "replayWindow",
      lo: 1n,
      hi: Q,
      below: ["replayWindow", 0n, 1n, Q],
      above: ["replayWindow", Q + 1n, 1n, Q],
    },
    {
      field: "committeeSize",
      lo: 1n,
      hi: 16n,
      below: ["committeeSize", 0n, 1n, 16n],
      above: ["committeeSize", 17n, 1n, 16n],
    },
    // a majority decides, and no third of a committee can block a decision
    {
      field: "quorumBps",
      lo: 5001n,
      hi: 6666n,
      below: ["quorumBps", 5000n, 5001n, 6666n],
      above: ["quorumBps", 6667n, 5001n, 6666n],
    },
    {
      field: "minReveals",
      lo: 1n,
      hi: 32n,
      below: ["minReveals", 0n, 1n, 32n],
      above: ["minReveals", 33n, 1n, 32n],
    },
    {
      field: "maxDeviationBps",
      lo: 1n,
      hi: 10_000n,
      below: ["maxDeviationBps", 0n, 1n, 10_000n],
      above: ["maxDeviationBps", 10_001n, 1n, 10_000n],
    },
    { field: "scoreToleranceBps", lo: 0n, hi: 10_000n, above: ["scoreToleranceBps", 10_001n, 0n, 10_000n] },
    {
      field: "maxMisses",
      lo: 1n,
      hi: 100n,
      below: ["maxMisses", 0n, 1n, 100n],
      above: ["maxMisses", 101n, 1n, 100n],
    },
    { field: "maxExtensions", lo: 0n, hi: 4n, above: ["maxExtensions", 5n, 0n, 4n] },
    {
      field: "fraudSlash",
      lo: 1n,
      hi: WAD,
      below: ["fraudSlash", 0n, 1n, WAD],
      above: ["fraudSlash", WAD + 1n, 1n, WAD],
    },
    {
      field: "withholdSlash",
      lo: 1n,
      hi: WAD,
      below: ["withholdSlash", 0n, 1n, WAD],
      above: ["withholdSlash", WAD + 1n, 1n, WAD],
    },
    {
      field: "missSlash",
      lo: 1n,
      hi: WAD,
      below: ["missSlash", 0n, 1n, WAD],
      above: ["missSlash", WAD + 1n, 1n, WAD],
    },
    // a validator's wrong vote and a withheld beacon reveal cost a bounded fraction
    {
      field: "verdictSlash",
      lo: 1n,
      hi: E("0.2"),
      below: ["verdictSlash", 0n, 1n, E("0.2")],
      above: ["verdictSlash", E("0.2") + 1n, 1n, E("0.2")],
    },
    {
      field: "beaconSlash",
      lo: 1n,
      hi: E("0.1"),
      below: ["beaconSlash", 0n, 1n, E("0.1")],
      above: ["beaconSlash", E("0.1") + 1n, 1n, E("0.1")],
    },
    // 0 turns the committee pool off; a member's seats are committed in one batch that must fit a block
    {
      field: "poolSeats",
      lo: 0n,
      hi: 200n,
      above: ["poolSeats", 201n, 0n, 200n],
    },
  ];
  const withField = (p: ChallengeParams, field: keyof ChallengeParams, v: bigint): ChallengeParams => ({
    ...p,
    [field]: field.endsWith("Slash") ? v : Number(v),
  });

  it("accepts every field at its bounds and refuses one past them, naming the field, the value and the bounds", async () => {
    const w = await load();
    const base = await current(w);
    expect([base.commitWindow, base.revealWindow, base.finalizeGrace, base.replayWindow]).to.deep.equal([
      L / 4,
      L / 4,
      L / 4,
      L / 8,
    ]);
    for (const { field, lo, hi, below, above } of bounds) {
      for (const ok of [lo, hi]) {
        const p = withField(base, field, ok);
        await assertions().emitWithArgs(w.challenges.write.setParams([p]), w.challenges, "ParamsUpdated", [
          p,
        ]);
        expect(await current(w)).to.deep.equal(p);
      }
      await w.challenges.write.setParams([base]);
      if (below) {
        await assertions().revertWithCustomErrorWithArgs(
          w.challenges.write.setParams([withField(base, field, lo - 1n)]),
          w.challenges,
          "InvalidParameter",
          below,
        );
      }
      await assertions().revertWithCustomErrorWithArgs(
        w.challenges.write.setParams([withField(base, field, hi + 1n)]),
        w.challenges,
        "InvalidParameter",
        above,
      );
    }
  });

  it("keeps the commit, reveal and replay windows inside one epoch", async () => {
    const w = await load();
    const base = await current(w);
    await assertions().revertWithCustomErrorWithArgs(
      w.challenges.write.setParams([{ ...base, commitWindow: L + 1 }]),
      w.challenges,
      "InvalidParameter",
      ["commitWindow", BigInt(L + 1), 1n, BigInt(L - 2)],
    );
    await assertions().revertWithCustomErrorWithArgs(
      w.challenges.write.setParams([{ ...base, commitWindow: L / 2, revealWindow: L / 2 }]),
      w.challenges,
      "InvalidParameter",
      ["revealWindow", BigInt(L / 2), 1n, BigInt(L / 2 - 1)],
    );
    // the second phase must end before the next audit round starts
    await assertions().revertWithCustomErrorWithArgs(
      w.challenges.write.setParams([
        { ...base, commitWindow: L / 2, revealWindow: L / 2 - 1, replayWindow: 2 },
      ]),
      w.challenges,
      "InvalidParameter",
      ["replayWindow", 2n, 1n, 1n],
    );
    await w.challenges.write.setParams([
      { ...base, commitWindow: L / 2, revealWindow: L / 2 - 1, replayWindow: 1 },
    ]);
  });

  it("refuses parameters whose slash window reaches Staking's unbonding period, naming both", async () => {
    // A naive setter lets governance lengthen the windows (or the extensions) past the unbonding
    // period: stake that unbonds after an offence would leave before the judgment could slash it.
    const w = await load();
    const base = await current(w);
    const D = BigInt(L);
    expect(await w.challenges.read.slashWindow()).to.equal(4n * D + 3n * Q); // (1 + 3 extensions) epochs + 3/4
    const p = await w.staking.read.params();
    await w.staking.write.setParams([{ ...p, unbondingPeriod: Number(5n * D) }]);
    // maxExtensions 4: (1 + 4) days + 3/4 day reaches past 5 days
    await assertions().revertWithCustomErrorWithArgs(
      w.challenges.write.setParams([{ ...base, maxExtensions: 4 }]),
      w.challenges,
      "SlashWindowTooLong",
      [5n * D + 3n * Q, 5n * D],
    );
    // exactly equal is refused too: the last slashable second must come before the stake leaves
    await assertions().revertWithCustomErrorWithArgs(
      w.challenges.write.setParams([{ ...base, finalizeGrace: L / 4 + L / 4 }]),
      w.challenges,
      "SlashWindowTooLong",
      [5n * D, 5n * D],
    );
    await w.challenges.write.setParams([{ ...base, finalizeGrace: L / 4 + L / 4 - 1 }]);
    expect(await w.challenges.read.slashWindow()).to.equal(5n * D - 1n);
  });

  it("checks the same bounds at deployment", async () => {
    const w = await load();
    const base = await current(w);
    await assertions().revertWithCustomErrorWithArgs(
      conn.viem.deployContract(
        "ChallengeManager",
        [
          w.staking.address,
          w.registry.address,
          w.beacon.address,
          w.manager.address,
          { ...base, quorumBps: 5000 },
        ],
        {
          libraries: {
            ChallengeParams: (await conn.viem.deployContract("ChallengeParams")).address,
            ChallengeCold: (await conn.viem.deployContract("ChallengeCold")).address,
          },
        },
      ),
      w.challenges,
      "InvalidParameter",
      ["quorumBps", 5000n, 5001n, 6666n],
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
      // the last validator does not reveal: finalize judges (the accusers' reveals are their votes)
      await w.audit(
        id,
        R,
        w.validators.map((v) => ({ v, verdict: Verdict.Invalid, segment: 1 })),
        (x) => x.v !== w.validators[w.validators.length - 1],
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
      const [slashed] = await w.events(hash, w.staking, "SlashHeld");
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
      const [slashed] = await w.events(hash, w.staking, "SlashHeld");
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
