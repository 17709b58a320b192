/**
 * Stateful property test of the federated escrow: random sequences of posts (in the staking token
 * or another ERC-20), cancellations, update commits and reveals (honest or poisoned), committee
 * scores (agreeing or split), finalizations, withdrawals and clock moves. After every step, per
 * token: `escrowed` equals the sum of the open jobs' `remaining`, and the contract holds exactly
 * `escrowed + totalOwed`. At the end every job is driven to a final state by `finalizeRound` alone
 * (nothing is stuck), every account withdraws, and the contract is left empty.
 *
 * FED_INVARIANT_RUNS and FED_INVARIANT_SEED override the number of runs and the seed.
 */
import { expect } from "chai";
import { network } from "hardhat";
import fc from "fast-check";
import type { Address } from "viem";
import { attempt } from "../staking/helpers/revert.js";
import { E, type Connection } from "../poai/helpers/world.js";
import { FedState, deployFedWorld, modelOf, type FedWorld } from "./helpers/fed-world.js";

const RUNS = Number(process.env.FED_INVARIANT_RUNS ?? 3);
const SEED = Number(process.env.FED_INVARIANT_SEED ?? 20_261_207);

type Step =
  | { kind: "post"; other: boolean; budget: bigint; rounds: number }
  | { kind: "cancel"; job: number }
  | { kind: "updates"; job: number; poisoned: number }
  | { kind: "scores"; job: number; split: boolean }
  | { kind: "finalize"; job: number }
  | { kind: "withdraw"; who: number }
  | { kind: "advance"; phases: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("post" as const),
      other: fc.boolean(),
      budget: fc.bigInt({ min: 1n, max: E(1000) }),
      rounds: fc.integer({ min: 1, max: 2 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("cancel" as const), job: fc.nat(3) }) },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant("updates" as const), job: fc.nat(3), poisoned: fc.nat(3) }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant("scores" as const), job: fc.nat(3), split: fc.boolean() }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("finalize" as const), job: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("withdraw" as const), who: fc.nat(8) }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("advance" as const), phases: fc.integer({ min: 1, max: 3 }) }),
  },
);

/** Reverts a step may meet by the rules (anything else fails the property). */
const EXPECTED = new Set([
  "UnknownFederatedJob",
  "FederatedJobNotOpen",
  "JobStarted",
  "WrongPhase",
  "AlreadyCommitted",
  "NoCommitment",
  "AlreadyRevealed",
  "RoundOpen",
  "NothingOwed",
  "NotSelected",
]);

describe("FederatedJobs escrow invariant", function () {
  this.timeout(600_000);
  let conn: Connection;
  before(async () => {
    conn = await network.create();
  });
  async function fixture() {
    return deployFedWorld(conn);
  }

  const check = async (w: FedWorld) => {
    for (const [token, erc] of [
      [w.token.address, w.token],
      [w.other.address, w.other],
    ] as const) {
      const escrowed = await w.federated.read.escrowed([token as Address]);
      expect(escrowed).to.equal(await w.openRemaining(token as Address));
      expect(await erc.read.balanceOf([w.federated.address])).to.equal(
        escrowed + (await w.federated.read.totalOwed([token as Address])),
      );
    }
  };

  it("keeps every budget accounted for and lets every job end", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 4, maxLength: 14 }), async (steps) => {
        const w = await conn.networkHelpers.loadFixture(fixture);
        const accounts = [w.owner, w.bystander, ...w.trainers, ...w.validators];
        const jobIdOf = async (k: number) => {
          const n = await w.federated.read.jobCount();
          return n === 0n ? 1n : (BigInt(k) % n) + 1n;
        };
        const run = async (p: Promise<unknown>) => {
          const o = await attempt(p, [...w.federated.abi, ...w.staking.abi]);
          if (!o.ok && !EXPECTED.has(o.error)) throw new Error(`unexpected revert ${o.error}`);
        };
        for (const s of steps) {
          const fed = await w.fedOf(w.owner);
          if (s.kind === "post") {
            await w.post({
              token: s.other ? w.other.address : w.token.address,
              budget: s.budget,
              rounds: s.rounds,
            });
          } else if (s.kind === "cancel") {
            await run(fed.write.cancel([await jobIdOf(s.job)]));
          } else if (s.kind === "updates") {
            const id = await jobIdOf(s.job);
            const job = await w.federated.read.getJob([id]).catch(() => undefined);
            if (job?.state === FedState.Open && job.round < job.terms.rounds) {
              const r = BigInt(job.round);
              const opens = await w.phaseAt(id, r, 0);
              if ((await w.latest()) < opens + 2n * BigInt(job.terms.phase) - 10n)
                await run(
                  w.submitUpdates(
                    id,
                    r,
                    [0, 1, 2].map((i) => modelOf(`${id}/${r}/${i}/${i === s.poisoned}`)),
                  ),
                );
            }
          } else if (s.kind === "scores") {
            const id = await jobIdOf(s.job);
            const job = await w.federated.read.getJob([id]).catch(() => undefined);
            if (job?.state === FedState.Open) {
              const r = BigInt(job.round);
              const n = job.round < job.terms.rounds ? 3 : 0;
              const votes = w.validators.map((v, i) => ({
                v,
                base: s.split ? modelOf(`split ${i}`) : job.globalModel,
                baseScore: 1000 + i,
                scores: [8000, 7500, 1000 + 3000 * i].slice(0, n),
              }));
              if ((await w.latest()) < (await w.phaseAt(id, r, 3)) - 10n) await run(w.score(id, r, votes));
            }
          } else if (s.kind === "finalize") {
            await run((await w.fedOf(w.bystander)).write.finalizeRound([await jobIdOf(s.job)]));
          } else if (s.kind === "withdraw") {
            const who = await w.fedOf(accounts[s.who % accounts.length]);
            await run(who.write.withdraw([w.token.address]));
            await run(who.write.withdraw([w.other.address]));
          } else {
            await w.to((await w.latest()) + BigInt(s.phases) * 600n);
          }
          await check(w);
        }
        // Drive every job to its end with finalizeRound alone.
        const count = await w.federated.read.jobCount();
        for (let id = 1n; id <= count; id++) {
          for (let guard = 0; guard < 8; guard++) {
            const job = await w.federated.read.getJob([id]);
            if (job.state !== FedState.Open) break;
            await w.reach(await w.phaseAt(id, BigInt(job.round), 4));
            await (await w.fedOf(w.bystander)).write.finalizeRound([id]);
          }
          expect((await w.federated.read.getJob([id])).state).to.not.equal(FedState.Open);
        }
        await check(w);
        for (const a of accounts)
          for (const t of [w.token.address, w.other.address])
            if ((await w.federated.read.owed([t, a.address])) > 0n)
              await (await w.fedOf(a)).write.withdraw([t]);
        expect(await w.token.read.balanceOf([w.federated.address])).to.equal(0n);
        expect(await w.other.read.balanceOf([w.federated.address])).to.equal(0n);
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
  });
});
