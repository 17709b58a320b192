import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { decodeFunctionData, maxUint256, type Address, type Hex } from "viem";
import {
  ForgedInference,
  InferenceStates,
  encodeInferenceInput,
  encodeInferenceOutput,
  parameterRoot,
  type InferenceForgery,
} from "../../sdk/src/compute/index.js";
import {
  classifierConsumerAbi,
  getInferenceGame,
  getRecordedOutput,
  inferenceDisputeGameAbi,
  inferenceGamesFromLogs,
  nextInferenceGameMove,
  openInferenceGame,
  sendInferenceGameMove,
} from "../../sdk/src/index.js";
import {
  InferenceNode,
  PoAIModelContainer,
  type ContainerDelivery,
  type ContainerJob,
  type InferenceNodeOptions,
  type ResolvedPipeline,
} from "../../node/src/node/index.js";
import {
  DisputeStore,
  WHOLE_MODEL_MAX_GAS,
  type HeldModel,
  type MoveRecord,
  type RecordedDelivery,
  type WatchRecord,
} from "../../node/src/disputes/index.js";
import { InferenceStore } from "../../node/src/node/inference-store.js";
import { deployInferenceGame } from "../../scripts/lib/deploy-verifier.js";
import { runCli } from "../../scripts/cli/main.js";
import { accountKey } from "../fixtures/hardhat-node.js";
import {
  MODEL,
  MODEL_ID,
  MODEL_SPEC,
  PRICE,
  connectInference,
  vector,
  type InferenceFixture,
} from "../sdk/inference-fixture.js";

/**
 * Inference games between the real daemons (docs/disputes.md, "The daemons play"): inference
 * nodes on the in-process chain with their SQLite databases, the PoAIVerifier and its
 * InferenceDisputeGame. A node that forged one bit of an intermediate of its delivery is disputed
 * by another node watching the deliveries of the model it serves, and loses; both are killed
 * mid-game (one after writing a move, before sending it; the other after sending one, before its
 * receipt) and resume on their databases. An honest node wins the game a lying challenger opened
 * on its delivery; the watcher disputes no honest output.
 */
const WIDTHS = MODEL_SPEC.widths;
const INPUT = vector(12, -7, 33, 0, 5, -64, 90, 1);
const labelOf = (y: Int8Array) => y.reduce((best, v, c) => (v > y[best]! ? c : best), 0);
const outputOf = (y: Int8Array) => encodeInferenceOutput({ output: y, label: labelOf(y) });
const bytesOf = (h: Hex) => Uint8Array.from(Buffer.from(h.slice(2), "hex"));

class Killed extends Error {}

/** The first single-bit forgery of A_1 (an intermediate) on `input` that changes the scores y. */
function forgeryFor(checkpoint: Uint8Array, input: Uint8Array): InferenceForgery {
  const honest = new InferenceStates(WIDTHS, checkpoint, input);
  const y = Int8Array.from(honest.trace.acts[WIDTHS.length - 1]!);
  for (let byte = 0; byte < WIDTHS[1]!; byte++)
    for (let bit = 0; bit < 8; bit++) {
      const forgery = { slot: 2, byte, bit, cut: 0, delta: 0n };
      if (new ForgedInference(honest, forgery).y.some((v, i) => v !== y[i])) return forgery;
    }
  throw new Error("no single-bit forgery of A_1 changes y");
}

/** A node that flips one bit of A_1, computes every later layer from it, and defends that lie. */
class ForgingNode extends InferenceNode {
  static checkpoint: Uint8Array;
  protected override async runContainer(c: ResolvedPipeline, job: ContainerJob): Promise<ContainerDelivery> {
    const honest = await super.runContainer(c, job);
    const input = bytesOf(job.input);
    const forged = new ForgedInference(
      new InferenceStates(WIDTHS, ForgingNode.checkpoint, input),
      forgeryFor(ForgingNode.checkpoint, input),
    );
    return { ...honest, output: outputOf(forged.y) };
  }
  protected override defenceSource(d: RecordedDelivery, model: HeldModel) {
    const input = bytesOf(d.input);
    return new ForgedInference(
      new InferenceStates(model.widths, model.checkpoint, input),
      forgeryFor(model.checkpoint, input),
    );
  }
}

describe("inference games played by the daemons", function () {
  this.timeout(600_000);
  let net: Awaited<ReturnType<typeof connectInference>>;
  let f: InferenceFixture;
  let dir: string;
  let game: Address;
  const nodes: InferenceNode[] = [];
  const dbs = { watcher: "", forger: "", honest: "" };

  before(async () => {
    net = await connectInference();
    f = await net.load();
    dir = mkdtempSync(path.join(tmpdir(), "poai-inference-games-"));
    dbs.watcher = path.join(dir, "watcher.sqlite");
    dbs.forger = path.join(dir, "forger.sqlite");
    dbs.honest = path.join(dir, "honest.sqlite");
    ForgingNode.checkpoint = f.model.checkpoint;
    game = (await deployInferenceGame(net.viem, { token: f.d.token.address, verifier: f.inf.verifier }))
      .address;
    const registry = await net.viem.getContractAt("ModelRegistry", f.inf.models.address, {
      client: { wallet: f.wallets[1]! },
    });
    await registry.write.setParameterRoot([MODEL_ID, parameterRoot(WIDTHS, f.model.checkpoint)]);
  });
  after(async () => {
    for (const n of nodes.splice(0)) await n.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  async function start<N extends typeof InferenceNode>(
    Kind: N,
    trainer: number,
    db: string,
    extra: Partial<InferenceNodeOptions> = {},
  ): Promise<InstanceType<N>> {
    const container = await PoAIModelContainer.load({
      id: MODEL,
      widths: WIDTHS,
      checkpoint: f.model.checkpoint,
      weightsHash: f.model.weightsHash,
    });
    const node = (await Kind.create({
      client: f.client(trainer),
      databasePath: db,
      containers: [{ container, acceptedPayments: { [f.d.token.address]: PRICE } }],
      paymentWallet: f.nodeWallets[trainer - 1]!,
      logLevel: "silent",
      ...extra,
    })) as InstanceType<N>;
    nodes.push(node);
    return node;
  }
  const restart = async <N extends InferenceNode>(node: N, again: () => Promise<N>): Promise<N> => {
    await node.stop();
    nodes.splice(nodes.indexOf(node), 1);
    return again();
  };

  /** The dApp asks the ClassifierConsumer for `input`, verified by the PoAIVerifier. */
  async function classify(input: Int8Array): Promise<number> {
    const dapp = f.wallets[4]!;
    await f.classifier.write.setPayment([f.d.token.address, PRICE, f.dappWallet, f.inf.verifier.address], {
      account: dapp.account,
    });
    const hash = await dapp.writeContract({
      address: f.classifier.address,
      abi: classifierConsumerAbi,
      functionName: "classify",
      args: [encodeInferenceInput(input)],
      account: dapp.account,
      chain: dapp.chain,
    });
    const receipt = await f.client(4).waitForTransaction(hash);
    return f.client(4).inference.subscriptionIdFromLogs({ logs: receipt.logs });
  }
  const verification = (sub: number, node: Address) =>
    f.client(5).inference.getOutputVerification({ subscriptionId: sub, interval: 1, node });
  const recorded = (sub: number, node: Address) =>
    getRecordedOutput(f.client(5), { subscriptionId: sub, interval: 1, node });
  const stakeOf = async (a: Address) => (await f.client(5).staking.getOperator({ operator: a })).selfStake;

  /** The calldata `who` sent to the game, in order. */
  async function sentToGame(who: Address): Promise<Hex[]> {
    const sent: Hex[] = [];
    const last = await f.publicClient.getBlockNumber();
    for (let b = 0n; b <= last; b++) {
      const block = await f.publicClient.getBlock({ blockNumber: b, includeTransactions: true });
      for (const tx of block.transactions)
        if (tx.from.toLowerCase() === who.toLowerCase() && tx.to?.toLowerCase() === game.toLowerCase())
          sent.push(tx.input);
    }
    return sent;
  }

  let forgedSub = 0;
  let honestSub = 0;
  it("a node that forged one bit of an intermediate is disputed by a watcher and loses, both killed mid-game and resumed: delivery invalid, node slashed, consumer refunded", async () => {
    let forger = await start(ForgingNode, 3, dbs.forger);
    let watcher = await start(InferenceNode, 1, dbs.watcher, { watchDeliveries: true, disputeMode: "game" });
    forgedSub = await classify(INPUT);
    const walletBefore = await f.d.token.read.balanceOf([f.dappWallet]);
    const stakeBefore = await stakeOf(f.address(3));
    await forger.tick();
    expect(forger.delivery(forgedSub, 1)?.state).to.equal("delivered");
    // by gas, this small model's wrong output is disputed whole (one transaction, no bond); this
    // watcher is told to play the game
    const prober = await start(InferenceNode, 2, dbs.honest);
    const probe = await prober.inferenceDisputes!.choosePath(
      { ...(await recorded(forgedSub, f.address(3))), status: "wrong" } as WatchRecord,
      "auto",
    );
    await restart(prober, async () => prober);
    expect(probe.mode).to.equal("whole");
    expect(probe.wholeModelGas! < WHOLE_MODEL_MAX_GAS).to.equal(true);
    await watcher.tick();
    const watched = watcher.inferenceDisputes!.watched(forgedSub, 1, f.address(3))!;
    expect([watched.status, watched.mode, watched.gameId]).to.deep.equal(["opened", "game", 1n]);
    // sent, but the hash never reached the disk (as after a crash): the watcher finds its game on
    // chain instead of opening (and bonding) a second one, as a naive resume would
    const handle = new InferenceStore(dbs.watcher, {
      node: f.address(1),
      chainId: f.deployment.chainId,
      coordinator: f.inf.coordinator.address,
    });
    handle.db
      .prepare(
        "UPDATE inference_watch SET status = 'persisted', tx_hash = NULL, game_id = NULL WHERE subscription_id = ?",
      )
      .run(forgedSub);
    handle.close();
    await watcher.tick();
    expect(watcher.inferenceDisputes!.watched(forgedSub, 1, f.address(3))!.status).to.equal("opened");
    expect(await (await net.viem.getContractAt("InferenceDisputeGame", game)).read.gameCount()).to.equal(1n);

    // the forger is killed after writing its 2nd move (not sent), the watcher after sending its 2nd
    const kills: string[] = [];
    const arm = () => {
      let forgerMoves = 0;
      forger.inferenceDisputes!.player.hooks = {
        afterPersist: (m: MoveRecord) => {
          if (kills.some((k) => k.startsWith("forger")) || ++forgerMoves !== 2) return;
          kills.push(`forger after persisting move ${m.move} (${m.functionName})`);
          throw new Killed("killed after persisting");
        },
      };
      let watcherMoves = 0;
      watcher.inferenceDisputes!.player.hooks = {
        afterSend: (m: MoveRecord) => {
          if (kills.some((k) => k.startsWith("watcher")) || ++watcherMoves !== 2) return;
          kills.push(`watcher after sending move ${m.move} (${m.functionName})`);
          throw new Killed("killed after sending");
        },
      };
    };
    arm();
    const started = performance.now();
    for (let i = 0; i < 40; i++) {
      if ((await getInferenceGame(f.client(5), { id: 1n })).phase === "Resolved") break;
      const before = kills.length;
      await forger.tick();
      if (kills.length > before) {
        forger = await restart(forger, () => start(ForgingNode, 3, dbs.forger));
        arm();
      }
      const mid = kills.length;
      await watcher.tick();
      if (kills.length > mid) {
        watcher = await restart(watcher, () =>
          start(InferenceNode, 1, dbs.watcher, { watchDeliveries: true, disputeMode: "game" }),
        );
        arm();
      }
    }
    const wall = (performance.now() - started) / 1000;
    expect(kills).to.have.length(2);
    const g = await getInferenceGame(f.client(5), { id: 1n });
    expect(g.phase).to.equal("Resolved");
    expect(g.winner).to.equal(f.address(1));
    expect((await verification(forgedSub, f.address(3))).status).to.equal("invalid");
    expect((await stakeOf(f.address(3))) < stakeBefore).to.equal(true);
    expect((await f.d.token.read.balanceOf([f.dappWallet])) - walletBefore).to.equal(PRICE);
    await watcher.tick();
    expect(watcher.status().disputes!.games.map((s) => [s.gameId, s.role, s.winner])).to.deep.equal([
      ["1", "challenger", f.address(1)],
    ]);
    console.log(`      inference game played by the daemons in ${wall.toFixed(2)} s (two restarts included)`);
    await forger.stop();
    await watcher.stop();
    nodes.splice(0);
  });

  it("never sent two different moves for one game state: every transaction each daemon sent to the game is one of its stored moves, once", async () => {
    for (const [db, who] of [
      [dbs.forger, f.address(3)],
      [dbs.watcher, f.address(1)],
    ] as const) {
      const handle = new InferenceStore(db, {
        node: who,
        chainId: f.deployment.chainId,
        coordinator: f.inf.coordinator.address,
      });
      try {
        const store = new DisputeStore(handle.db, "inference");
        const moves = store.moves(1n);
        expect(moves.length, `${who}: moves`).to.be.greaterThan(2);
        // a naive resume (a new move row for a stored one, or a stored move sent twice) breaks these
        expect(new Set(moves.map((m) => m.answers)).size, `${who}: one move per state`).to.equal(
          moves.length,
        );
        const sent = (await sentToGame(who)).filter(
          (d) => decodeFunctionData({ abi: inferenceDisputeGameAbi, data: d }).args?.[0] === 1n,
        );
        expect(sent, `${who}: the game's transactions are its stored moves, each once`).to.deep.equal(
          moves.map((m) => m.calldata),
        );
      } finally {
        handle.close();
      }
    }
  });

  it("an honest node wins the game a lying challenger opened on its delivery; the watcher disputes no honest output", async () => {
    const honest = await start(InferenceNode, 2, dbs.honest);
    const watcher = await start(InferenceNode, 1, dbs.watcher, {
      watchDeliveries: true,
      disputeMode: "game",
    });
    const input = vector(-3, 44, 7, -90, 16, 0, 5, 61);
    const sub = await classify(input);
    honestSub = sub;
    await honest.tick();
    expect(honest.delivery(sub, 1)?.state).to.equal("delivered");
    await watcher.tick();
    expect(watcher.inferenceDisputes!.watched(sub, 1, f.address(2))!.status).to.equal("correct");

    // the liar (an outsider) disputes the correct output with a replay forged in y
    const liar = f.client(5);
    const liarWallet = f.wallets[5]!;
    await f.d.token.write.approve([game, maxUint256], { account: liarWallet.account });
    const delivered = honest.delivery(sub, 1)!;
    const receipt = await liar.waitForTransaction(
      await openInferenceGame(liar, {
        subscriptionId: sub,
        interval: 1,
        node: f.address(2),
        containerId: MODEL_ID,
        input: delivered.input!,
        output: delivered.output!,
      }),
    );
    const [opened] = inferenceGamesFromLogs(receipt.logs);
    const id = opened!.gameId;
    const lie = new ForgedInference(
      new InferenceStates(WIDTHS, f.model.checkpoint, bytesOf(delivered.input!)),
      {
        slot: WIDTHS.length,
        byte: 1,
        bit: 0,
        cut: 0,
        delta: 0n,
      },
    );
    const stakeBefore = await stakeOf(f.address(2));
    for (let i = 0; i < 40; i++) {
      const state = await getInferenceGame(liar, { id });
      if (state.phase === "Resolved") break;
      const move = nextInferenceGameMove(state, lie, f.address(5));
      if (move) await liar.waitForTransaction(await sendInferenceGameMove(liar, move));
      await honest.tick();
    }
    const g = await getInferenceGame(liar, { id });
    expect([g.phase, g.winner]).to.deep.equal(["Resolved", f.address(2)]);
    expect((await verification(sub, f.address(2))).status).to.equal("pending");
    expect(await stakeOf(f.address(2))).to.equal(stakeBefore);
    await watcher.tick();
    expect(watcher.inferenceDisputes!.watched(sub, 1, f.address(2))!.status).to.equal("correct");
    // of the deliveries it watched, only the forged one was disputed
    expect(Object.keys(watcher.status().disputes!.watched).sort()).to.deep.equal(["correct", "opened"]);
    expect(watcher.status().disputes!.watched.opened).to.equal(1);
    expect(honest.status().disputes!.parameterRoots).to.deep.equal({ [MODEL_ID.toLowerCase()]: "matches" });
  });

  it("poai dispute inference status / open / play: shows a game, refuses a correct output and a malformed delivery, plays the node's side of a game to the end", async () => {
    const book = path.join(dir, "deployment.json");
    writeFileSync(
      book,
      JSON.stringify({
        chainId: f.deployment.chainId,
        deployBlock: "0",
        contracts: { ...f.deployment.contracts, inferenceDisputeGame: game },
      }),
    );
    const checkpoint = path.join(dir, "model.bin");
    writeFileSync(checkpoint, f.model.checkpoint);
    const cli = async (index: number, args: string[]) => {
      let out = "";
      let err = "";
      const code = await runCli(["dispute", "inference", ...args, "--deployment", book, "--json"], {
        env: { POAI_PRIVATE_KEY: accountKey(index) },
        stdout: (t) => (out += t),
        stderr: (t) => (err += t),
        connection: net.connection,
      });
      return { code, err, json: () => JSON.parse(out.trim().split("\n").at(-1)!) as Record<string, unknown> };
    };
    const status = await cli(5, ["status", "--id", "1"]);
    expect(status.code, status.err).to.equal(0);
    expect(status.json()).to.deep.include({ phase: "Resolved", winner: f.address(1) });
    const refused = await cli(5, [
      "open",
      "--delivery",
      `${honestSub}:1:${f.address(2)}`,
      "--checkpoint",
      checkpoint,
    ]);
    expect(refused.code).to.equal(1);
    expect(refused.err).to.match(/is the model's output: nothing to dispute/);
    const malformed = await cli(5, ["open", "--delivery", `${honestSub}:1`, "--checkpoint", checkpoint]);
    expect(malformed.err).to.match(/--delivery must be <subscription>:<interval>:<node address>, got/);

    // a second lying game on the same correct delivery: the node's side played by the command line
    const liar = f.client(5);
    const a = await recorded(honestSub, f.address(2));
    const receipt = await liar.waitForTransaction(
      await openInferenceGame(liar, {
        subscriptionId: honestSub,
        interval: 1,
        node: f.address(2),
        containerId: MODEL_ID,
        input: a.input,
        output: a.output,
      }),
    );
    const id = inferenceGamesFromLogs(receipt.logs)[0]!.gameId;
    const lie = new ForgedInference(new InferenceStates(WIDTHS, f.model.checkpoint, bytesOf(a.input)), {
      slot: WIDTHS.length,
      byte: 2,
      bit: 3,
      cut: 0,
      delta: 0n,
    });
    let done = false;
    const lying = (async () => {
      while (!done) {
        const state = await getInferenceGame(liar, { id });
        if (state.phase === "Resolved") return;
        const move = nextInferenceGameMove(state, lie, f.address(5));
        if (move) await liar.waitForTransaction(await sendInferenceGameMove(liar, move));
        else await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const played = await cli(2, [
      "play",
      "--id",
      String(id),
      "--checkpoint",
      checkpoint,
      "--poll-ms",
      "20",
    ]).finally(() => (done = true));
    await lying;
    expect(played.code, played.err).to.equal(0);
    expect(played.json().winner).to.equal(f.address(2));
  });

  it("by default disputes a small model's wrong output whole (one transaction, no bond), and a watcher killed after storing the opening sends it once", async () => {
    for (const n of nodes.splice(0)) await n.stop();
    const forger = await start(ForgingNode, 2, path.join(dir, "forger-2.sqlite"));
    let watcher = await start(InferenceNode, 1, dbs.watcher, { watchDeliveries: true });
    const sub = await classify(vector(100, -100, 50, -50, 25, -25, 12, -12));
    await forger.tick();
    expect(forger.delivery(sub, 1)?.state).to.equal("delivered");
    const stakeBefore = await stakeOf(f.address(2));
    watcher.inferenceDisputes!.hooks = {
      afterOpenPersist: () => {
        throw new Killed("killed after storing the opening");
      },
    };
    await watcher.tick(); // the opening fails alone (logged): stored, not sent
    expect(watcher.inferenceDisputes!.watched(sub, 1, f.address(2))!.status).to.equal("persisted");
    expect((await verification(sub, f.address(2))).status).to.equal("pending");
    watcher = await restart(watcher, () => start(InferenceNode, 1, dbs.watcher, { watchDeliveries: true }));
    await watcher.tick();
    const w = watcher.inferenceDisputes!.watched(sub, 1, f.address(2))!;
    expect([w.status, w.mode]).to.deep.equal(["settled", "whole"]);
    expect((await verification(sub, f.address(2))).status).to.equal("invalid");
    expect((await stakeOf(f.address(2))) < stakeBefore).to.equal(true);
    // sent once: exactly one whole-model dispute from the watcher, with the stored calldata
    const disputes: Hex[] = [];
    const last = await f.publicClient.getBlockNumber();
    for (let b = 0n; b <= last; b++) {
      const block = await f.publicClient.getBlock({ blockNumber: b, includeTransactions: true });
      for (const tx of block.transactions)
        if (
          tx.from.toLowerCase() === f.address(1).toLowerCase() &&
          tx.to?.toLowerCase() === f.inf.verifier.address.toLowerCase()
        )
          disputes.push(tx.input);
    }
    expect(disputes.filter((d) => d === w.calldata)).to.have.length(1);
  });
});
