/**
 * The daemons play dispute games by themselves (node/src/disputes/): a colluding majority of the
 * committee clears a forger; the honest member's validator daemon, whose replay refuted a segment,
 * opens a game bound to it and plays it, and the forger's trainer daemon defends its (consistent)
 * forgery, until the chain re-executes one operation: the forger and the colluders are slashed.
 * Both daemons are killed mid-game (after persisting a move, before and after sending it) and
 * restarted on their databases: they resume and never send two different moves for one state.
 * One world, one round, the small daemon spec.
 */
import { expect } from "chai";
import path from "node:path";
import { decodeFunctionData, parseEther, type Address, type Hex } from "viem";
import { challengeId, disputeGameAbi, getDispute, type PoAIClient } from "../../sdk/src/index.js";
import { TrainerStore } from "../../node/src/node/index.js";
import { ValidatorDaemon, ValidatorStore } from "../../node/src/verifier/index.js";
import { DisputeStore, openBoundGame, type MoveRecord } from "../../node/src/disputes/index.js";
import { fetchCheckpoint } from "../../node/src/daemon/protocol.js";
import { createLogger } from "../../node/src/daemon/log.js";
import { writeFileSync } from "node:fs";
import { runCli } from "../../scripts/cli/main.js";
import { accountKey } from "../fixtures/hardhat-node.js";
import { ColludingValidator, DisputingForger } from "../../scripts/lib/adversaries.js";
import { driveRounds } from "../../scripts/lib/daemon-network.js";
import { daemonWorld, withDisputeGame, type DaemonWorld } from "../fixtures/daemons.js";

const ROUND = 1n;
const BOND = parseEther("10");
const SLASH = parseEther("0.1");
const MOVE_TIMEOUT = 600n;

/** Thrown by a hook to stop a daemon mid-move, as a kill would. */
class Killed extends Error {}

/** A validator whose dispute player can be interrupted (a kill at a chosen move). */
class KillableValidator extends ValidatorDaemon {
  get player() {
    return this.disputes.player;
  }
}
class KillableForger extends DisputingForger {
  get player() {
    return this.disputes.player;
  }
}

describe("daemons play dispute games: one honest validator overrules a colluding committee", function () {
  this.timeout(300_000);

  let w: DaemonWorld;
  let game: Address;
  let clientOf: (i: { wallet: DaemonWorld["admin"]["wallet"] }) => PoAIClient;
  let forger: KillableForger;
  let honest: KillableValidator;
  const colluders: ColludingValidator[] = [];
  const dbs: { trainer: string; validator: string } = { trainer: "", validator: "" };
  const stakeBefore = new Map<Address, bigint>();
  const errors: string[] = [];
  const kills: string[] = [];

  const stakeOf = async (a: Address) =>
    (await w.admin.client.staking.getOperator({ operator: a })).totalStake;

  before(async () => {
    w = await daemonWorld({ trainers: 1, validators: 3 });
    ({ game, clientOf } = await withDisputeGame(w, {
      moveTimeout: MOVE_TIMEOUT,
      bond: BOND,
      slashFraction: SLASH,
    }));
    const [trainer] = w.trainers;
    dbs.trainer = path.join(w.tempDir("forger"), "trainer.db");
    forger = await KillableForger.create({
      client: clientOf(trainer),
      databasePath: dbs.trainer,
      backend: "js",
      progress: "off",
      logLevel: "silent",
    });
    for (const [i, op] of w.validators.entries()) {
      const options = {
        client: clientOf(op),
        dbPath: path.join(w.tempDir(`validator-${i}`), "validator.db"),
        backend: "js" as const,
        fetchTimeoutMs: 2_000,
        fetchAttempts: 2,
        logLevel: "silent" as const,
      };
      if (i === 0) {
        dbs.validator = options.dbPath;
        honest = await KillableValidator.create(options);
      } else {
        const v = await ColludingValidator.create(options);
        v.friends.add(trainer.address.toLowerCase());
        colluders.push(v);
      }
    }
    for (const op of [...w.trainers, ...w.validators]) stakeBefore.set(op.address, await stakeOf(op.address));
    await driveRounds({
      windows: w.windows,
      advanceTo: w.advanceTo,
      trainers: [forger],
      validators: [honest, ...colluders],
      from: ROUND,
      to: ROUND,
      onError: (d, err) => errors.push(`${d.constructor.name}: ${(err as Error).message}`),
    });
  });

  after(async () => {
    for (const d of [forger, honest, ...colluders]) await d?.stop();
    w?.cleanup();
  });

  const id = () => challengeId(w.trainers[0].address, ROUND);

  it("the colluding majority clears the forger although the honest member revealed Invalid", async () => {
    expect(errors).to.deep.equal([]);
    const c = await w.admin.client.challenges.getChallenge({ id: id() });
    expect(c.status).to.equal("Valid");
    const members = await w.admin.client.challenges.getMembers({ id: id() });
    const mine = members.find((m) => m.validator.toLowerCase() === w.validators[0].address.toLowerCase())!;
    expect(mine.verdict).to.equal("Invalid");
  });

  it("the validator opens a game bound to the refuted segment by itself, and the trainer defends by itself", async () => {
    const opened = honest.status().disputes!;
    expect(opened.enabled).to.equal(true);
    expect(opened.opens).to.have.length(1);
    expect(opened.opens[0]).to.deep.include({ challengeId: id(), status: "opened" });
    const view = await getDispute(clientOf(w.validators[0]), { id: 1n });
    expect(view.challengeId).to.equal(id());
    expect(view.defender).to.equal(w.trainers[0].address);
  });

  /** `poai … --json` as the operator of wallet `index` (hardhat's default keys). */
  const cli = async (index: number, args: string[]) => {
    let out = "";
    let err = "";
    const code = await runCli([...args, "--deployment", book, "--json"], {
      env: { POAI_PRIVATE_KEY: accountKey(index) },
      stdout: (t) => (out += t),
      stderr: (t) => (err += t),
      connection: w.connection,
    });
    return {
      code,
      out,
      err,
      json: () => JSON.parse(out.trim().split("\n").at(-1)!) as Record<string, unknown>,
    };
  };
  let book = "";

  it("poai dispute open --challenge --segment opens a second bound game from the command line; status shows its segment; bad input names the option", async () => {
    book = path.join(w.tempDir("book"), "deployment.json");
    writeFileSync(
      book,
      JSON.stringify({
        chainId: w.deployment.chainId,
        deployBlock: "0",
        contracts: { ...w.deployment.contracts, disputeGame: game },
      }),
    );
    const colluder = w.validators[2];
    const token = await w.viem.getContractAt("PoAIToken", w.d.token.address, {
      client: { wallet: colluder.wallet },
    });
    await token.write.approve([game, BOND]);
    // the validator daemon disputes the segment its samples refuted; the command line another one
    const taken = (await getDispute(clientOf(w.validators[0]), { id: 1n })).lo / w.spec.checkpointInterval;
    const segment = taken === 0 ? 1 : 0;
    const opened = await cli(4, ["dispute", "open", "--challenge", id(), "--segment", String(segment)]);
    expect(opened.code, opened.err).to.equal(0);
    expect(opened.json()).to.deep.include({ id: "2", challengeId: id(), segment });
    const status = await cli(4, ["dispute", "status", "--id", "2"]);
    expect(status.json()).to.deep.include({ segment, challengeId: id(), phase: "StepMid" });
    for (const [args, message] of [
      [["--challenge", id()], /--segment is needed with --challenge/],
      [["--challenge", id(), "--segment", "20"], /--segment must be below 20 \(the run's segments\), got 20/],
      [["--challenge", id(), "--segment", "x"], /--segment must be a segment index, got "x"/],
      [["--segment", "1"], /--segment needs --challenge/],
      [["--challenge", id(), "--segment", "1", "--steps", "4"], /--steps is for a claim/],
      [
        ["--challenge", challengeId(w.validators[0].address, ROUND), "--segment", "1"],
        /is None: only a challenge judged Valid/,
      ],
    ] as const) {
      const r = await cli(4, ["dispute", "open", ...args]);
      expect(r.code, `${args.join(" ")}: ${r.out}`).to.not.equal(0);
      expect(r.err + r.out).to.match(message);
    }
  });

  it("an opening is written before it is sent: killed before sending it is sent at the restart, sent with its hash lost it is found on chain, never opened twice", async () => {
    const opener = w.validators[1];
    const token = await w.viem.getContractAt("PoAIToken", w.d.token.address, {
      client: { wallet: opener.wallet },
    });
    await token.write.approve([game, 2n * BOND]);
    const dir = w.tempDir("opener");
    const validatorStore = ValidatorStore.open(path.join(dir, "validator.db"));
    try {
      const c = await w.admin.client.challenges.getChallenge({ id: id() });
      const leaf = async (index: number) => {
        const p = await fetchCheckpoint({
          endpoint: forger.endpoint,
          id: id(),
          index,
          spec: w.spec,
          root: c.resultRoot,
        });
        return { hash: p.hash, parameterRoot: p.parameterRoot, proof: p.proof };
      };
      const args = {
        store: validatorStore.disputes,
        log: createLogger("opener", { level: "silent" }),
        me: opener.address,
        challengeId: id(),
        segment: 19,
        start: await leaf(19),
        end: await leaf(20),
      };
      const count = async () =>
        w.publicClient.readContract({ address: game, abi: disputeGameAbi, functionName: "gameCount" });
      const before = await count();
      const killed = await openBoundGame(clientOf(opener), {
        ...args,
        afterPersist: () => {
          throw new Killed("killed after persisting the opening");
        },
      }).catch((e: unknown) => e);
      expect(killed).to.be.instanceOf(Killed);
      expect(validatorStore.disputes.open(id())!.status).to.equal("persisted");
      expect(await count()).to.equal(before);
      const opened = await openBoundGame(clientOf(opener), args);
      expect(opened).to.equal(before + 1n);
      // sent, but the hash never reached the disk: the chain's BoundGameOpened names the game
      validatorStore.disputes.persistOpen(id(), 19, validatorStore.disputes.open(id())!.calldata);
      validatorStore.disputes.updateOpen(id(), { status: "sent" });
      expect(await openBoundGame(clientOf(opener), args)).to.equal(opened);
      expect(await count()).to.equal(opened); // a naive resume would open (and bond) a second game
    } finally {
      validatorStore.close();
    }
  });

  it("both daemons, killed mid-game before and after sending a move, resume on their databases and the validator wins", async () => {
    // the forger is killed after persisting its 2nd move (not sent), the validator after sending its 3rd
    let forgerMoves = 0;
    forger.player.hooks = {
      afterPersist: (m: MoveRecord) => {
        if (m.gameId === 1n && ++forgerMoves === 2) {
          kills.push(`trainer after persisting move ${m.move} (${m.functionName})`);
          throw new Killed("killed after persisting");
        }
      },
    };
    let validatorMoves = 0;
    honest.player.hooks = {
      afterSend: (m: MoveRecord) => {
        if (m.gameId === 1n && ++validatorMoves === 3) {
          kills.push(`validator after sending move ${m.move} (${m.functionName})`);
          throw new Killed("killed after sending");
        }
      },
    };
    const restartForger = async () => {
      await forger.stop();
      forger = await KillableForger.create({
        client: clientOf(w.trainers[0]),
        databasePath: dbs.trainer,
        backend: "js",
        progress: "off",
        logLevel: "silent",
      });
    };
    const restartValidator = async () => {
      await honest.stop();
      honest = await KillableValidator.create({
        client: clientOf(w.validators[0]),
        dbPath: dbs.validator,
        backend: "js",
        fetchTimeoutMs: 2_000,
        fetchAttempts: 2,
        logLevel: "silent",
      });
    };
    const started = performance.now();
    for (let i = 0; i < 60; i++) {
      if ((await getDispute(clientOf(w.validators[0]), { id: 1n })).phase === "Resolved") break;
      const killed = (who: string) => kills.filter((k) => k.startsWith(who)).length;
      const [t, v] = [killed("trainer"), killed("validator")];
      await forger.tick().catch(() => undefined); // a kill fails the tick
      if (killed("trainer") > t) await restartForger();
      await honest.tick(); // the dispute step fails alone (logged); the rest of the tick goes on
      if (killed("validator") > v) await restartValidator();
    }
    const wall = (performance.now() - started) / 1000;
    expect(kills).to.have.length(2);
    const view = await getDispute(clientOf(w.validators[0]), { id: 1n });
    expect(view.phase).to.equal("Resolved");
    expect(view.winner).to.equal(w.validators[0].address);
    console.log(`      game played by the daemons in ${wall.toFixed(2)} s (two restarts included)`);
  });

  it("poai dispute play --id 2 plays the command line's bound game to the end against the trainer daemon", async () => {
    let done = false;
    const defend = (async () => {
      while (!done) {
        await forger.tick().catch(() => undefined);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const played = await cli(4, ["dispute", "play", "--id", "2", "--poll-ms", "20"]).finally(
      () => (done = true),
    );
    await defend;
    expect(played.code, played.err).to.equal(0);
    expect(played.json().winner).to.equal(w.validators[2].address);
  });

  it("slashes the forger and every colluding member, and not the honest validator", async () => {
    const [trainer] = w.trainers;
    const after = await stakeOf(trainer.address);
    expect(after < stakeBefore.get(trainer.address)!).to.equal(true);
    for (const op of w.validators.slice(1))
      expect((await stakeOf(op.address)) < stakeBefore.get(op.address)!).to.equal(true);
    expect(await stakeOf(w.validators[0].address)).to.equal(stakeBefore.get(w.validators[0].address));
    const overruled = await w.publicClient.getContractEvents({
      address: game,
      abi: disputeGameAbi,
      eventName: "CommitteeOverruled",
      fromBlock: 0n,
    });
    expect(overruled).to.have.length(1);
    expect(overruled[0].args.membersSlashed).to.equal(2n);
  });

  it("never sent two different moves for one game state: every stored move answers its own state, every transaction is a stored move", async () => {
    await forger.stop();
    await honest.stop();
    const validatorStore = ValidatorStore.open(dbs.validator);
    const trainerStore = new TrainerStore(dbs.trainer, {
      trainer: w.trainers[0].address,
      chainId: w.deployment.chainId,
      challengeManager: w.d.challenges.address,
    });
    for (const [store, who] of [
      [validatorStore.disputes, w.validators[0].address],
      [new DisputeStore(trainerStore.db), w.trainers[0].address],
    ] as const) {
      // the transactions the account sent to the game (the openBound and the bond's approval aside)
      const blocks = await w.publicClient.getBlockNumber();
      const sent: Hex[] = [];
      for (let b = 0n; b <= blocks; b++) {
        const block = await w.publicClient.getBlock({ blockNumber: b, includeTransactions: true });
        for (const tx of block.transactions)
          if (tx.from.toLowerCase() === who.toLowerCase() && tx.to?.toLowerCase() === game.toLowerCase())
            sent.push(tx.input);
      }
      const games = store.games();
      expect(games.length, `${who}: games`).to.be.greaterThan(0);
      for (const g of games) {
        const moves = store.moves(g.gameId);
        if (g.state !== "playing")
          expect(moves.length, `${who}: moves of game ${g.gameId}`).to.be.greaterThan(5);
        // a naive resume (a new move row for a stored one, or a stored move sent twice) breaks these
        const answers = new Set(moves.map((m) => m.answers));
        expect(answers.size, `${who}: one move per state of game ${g.gameId}`).to.equal(moves.length);
        const moveData = sent.filter((d) => {
          const call = decodeFunctionData({ abi: disputeGameAbi, data: d });
          return call.functionName !== "openBound" && call.args?.[0] === g.gameId;
        });
        expect(
          moveData,
          `${who}: the transactions of game ${g.gameId} are its stored moves, each once`,
        ).to.deep.equal(moves.map((m) => m.calldata));
      }
    }
    validatorStore.close();
    trainerStore.close();
  });
});
