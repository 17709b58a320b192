/**
 * The validator store's bookkeeping that keeps a validator's work per round independent of the
 * number of operators: the registrations it keeps from events, and the trainers it still has to
 * check for a missed deadline, found by index.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { getAddress, keccak256, toHex, type Address, type Hex } from "viem";
import { ValidatorStore } from "../../node/src/verifier/validator-store.js";

const addr = (i: number): Address => getAddress(`0x${(i + 1).toString(16).padStart(40, "0")}`);
const id = (trainer: Address, round: number): Hex => keccak256(toHex(`${trainer}:${round}`));

describe("ValidatorStore: operators and missed-deadline checks", () => {
  let dir: string;
  let file: string;
  let store: ValidatorStore;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "poai-vstore-"));
    file = path.join(dir, "validator.db");
    store = ValidatorStore.open(file);
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("keeps each operator's latest role from its registrations and deregistrations, and the scan cursor", () => {
    expect(store.operatorScanBlock()).to.equal(undefined);
    store.addOperators(
      [
        { address: addr(0), role: 1, block: 5 },
        { address: addr(1), role: 2, block: 6 },
        { address: addr(2), role: 1, block: 7 },
      ],
      10n,
    );
    // addr(2) leaves; addr(0) leaves and comes back as a validator
    store.addOperators(
      [
        { address: addr(2), role: 0, block: 12 },
        { address: addr(0), role: 0, block: 13 },
        { address: addr(0), role: 2, block: 14 },
      ],
      20n,
    );
    expect(store.operatorScanBlock()).to.equal(20n);
    expect(store.operatorsOf(1)).to.deep.equal([]);
    expect(store.operatorsOf(2)).to.deep.equal([addr(1), addr(0)]);
  });

  it("lists the trainers of a round with neither a seen result nor a settled check", () => {
    const trainers = [0, 1, 2, 3].map(addr);
    store.addOperators(
      trainers.map((address, i) => ({ address, role: 1, block: i })),
      10n,
    );
    store.addOperators([{ address: addr(9), role: 2, block: 11 }], 12n); // a validator: never listed
    store.recordRound(
      [trainers[0], trainers[2]].map((t) => ({
        id: id(t, 3),
        trainer: t,
        round: 3,
        root: keccak256(toHex(t)),
        reportedScoreBps: 9000,
        block: 15,
      })),
      3,
    );
    store.recordMissed(trainers[1], 3, "reported");
    expect(store.trainersToCheck(3)).to.deep.equal([trainers[3]]);
    // another round: nothing seen, nothing checked
    expect(store.trainersToCheck(4)).to.deep.equal(trainers);
    // only the trainers a validator watches (a validator is never listed)
    expect(store.trainersToCheck(3, [trainers[0]!, trainers[3]!, addr(9)])).to.deep.equal([trainers[3]]);
    expect(store.trainersToCheck(4, [trainers[2]!, trainers[1]!])).to.deep.equal([trainers[1], trainers[2]]);
    expect(store.trainersToCheck(4, [])).to.deep.equal([]);
  });

  it("records a round's results with the round read, once, and keeps a round's first block", () => {
    const t = addr(1);
    const row = (round: number) => ({
      id: id(t, round),
      trainer: t,
      round,
      root: keccak256(toHex(round)),
      reportedScoreBps: 9000,
      block: 40 + round,
    });
    expect(store.resultRound()).to.equal(undefined);
    store.noteRoundBlock(3, 10n); // a round passed unread: its hint goes with the next round read
    store.noteRoundBlock(5, 30n);
    store.noteRoundBlock(5, 35n); // the first note stands
    store.noteRoundBlock(12, 90n);
    expect(store.roundBlock(5)).to.equal(30n);
    expect(store.recordRound([row(5)], 5)).to.equal(1);
    expect(store.recordRound([row(5)], 5)).to.equal(0); // already known
    expect(store.resultRound()).to.equal(6);
    expect(store.roundBlock(5)).to.equal(undefined);
    expect(store.roundBlock(3)).to.equal(undefined);
    expect(store.roundBlock(12)).to.equal(90n);
    expect(store.getChallenge(id(t, 5))?.state).to.equal("new");
    // an extended challenge learnt from its event keeps its extension
    expect(store.recordExtended([{ ...row(6), extension: 1 }])).to.equal(1);
    expect(store.getChallenge(id(t, 6))?.extension).to.equal(1);
  });

  it("finds a trainer's result of a round by index, not by scanning every challenge", () => {
    // Catches the lookup without an index on (trainer, round): SQLite then scans the whole challenges
    // table for every trainer, O(N) per lookup and O(N²) per validator per round.
    store.close();
    const db = new DatabaseSync(file);
    const plan = (
      db
        .prepare("EXPLAIN QUERY PLAN SELECT 1 FROM challenges c WHERE c.trainer = ? AND c.round = ?")
        .all(addr(0), 3) as { detail: string }[]
    )
      .map((r) => r.detail)
      .join("; ");
    db.close();
    store = ValidatorStore.open(file);
    expect(plan).to.match(/USING (COVERING )?INDEX challenges_trainer_round/);
  });
});
