/**
 * ModelRegistry: active trainers register models (widths checked like the engine, weights hash,
 * container id = keccak256 of the string), once per container id; the trainer deactivates its
 * model, governance activates or deactivates any; a model can be bound to a valid challenge of its
 * trainer by a Merkle proof that the weights are the challenge's final checkpoint. Royalties go only
 * to active models bound to a valid challenge or approved by governance, which may also reassign or
 * clear a record; a model whose dispute could not fit in a transaction is refused.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { keccak256, toHex, zeroAddress, zeroHash, type Hex } from "viem";
import {
  checkpointHash,
  commit,
  encodeInferenceInput,
  encodeInferenceOutput,
  infer,
  train,
} from "../../sdk/src/compute/index.js";
import { E, Status, Verdict, type Connection, type Vote } from "../poai/helpers/world.js";
import { attempt } from "../staking/helpers/revert.js";
import {
  CONTAINER,
  CONTAINER_ID,
  MODEL_SPEC,
  containerIdOf,
  deployVerifierWorld,
} from "./helpers/verifier-world.js";

const R = 1n;

describe("ModelRegistry", function () {
  this.timeout(300_000);
  let conn: Connection;
  before(async () => {
    conn = await network.create();
  });

  async function fixture() {
    const w = await deployVerifierWorld(conn, {
      challenge: { committeeSize: 16 },
      validators: [E(1000), E(1000), E(1000)],
    });
    const registryOf = (who: (typeof w.actors)[number]) => w.as("ModelRegistry", w.models.address, who);
    return { ...w, registryOf };
  }
  const load = () => conn.networkHelpers.loadFixture(fixture);
  type W = Awaited<ReturnType<typeof fixture>>;
  const outcome = async (w: W, p: Promise<unknown>) => {
    const o = await attempt(p, [...w.models.abi, ...w.manager.abi, ...w.registry.abi]);
    return o.ok ? "ok" : [o.error, o.args];
  };

  describe("registration", () => {
    it("stores the trainer, widths and weights hash under keccak256 of the container id and emits them", async () => {
      const w = await load();
      // the fixture registered CONTAINER for the second trainer
      expect(await w.models.read.getModel([CONTAINER_ID])).to.deep.equal({
        trainer: w.trainer.address,
        weightsHash: w.model.weightsHash,
        widths: [...MODEL_SPEC.widths],
        active: true,
        approved: false,
        challengeId: zeroHash,
        generation: 0,
      });
      // registered, not bound to a challenge nor approved: no royalty recipient
      expect(await w.models.read.trainerOf([CONTAINER_ID])).to.equal(zeroAddress);
      expect(await w.models.read.deliveryInfo([CONTAINER_ID])).to.deep.equal([true, 8, 4, 0]);
      expect(await w.models.read.weightsOf([CONTAINER_ID])).to.deep.equal([
        [8, 8, 4],
        w.model.weightsHash,
        0,
      ]);
      expect(await w.models.read.challengeOf([CONTAINER_ID])).to.equal(zeroHash);

      const name = "poai-mlp-2";
      const hash = keccak256(toHex("weights"));
      const tx = await (await w.registryOf(w.node)).write.registerModel([name, [16, 5, 3], hash]);
      const id = containerIdOf(name);
      expect(await w.events(tx, w.models, "ModelRegistered")).to.deep.equal([
        {
          containerId: id,
          trainer: w.node.address,
          containerIdString: name,
          widths: [16, 5, 3],
          weightsHash: hash,
          challengeId: zeroHash,
        },
      ]);
      expect(await w.events(tx, w.models, "ModelStatusChanged")).to.deep.equal([
        { containerId: id, active: true, by: w.node.address },
      ]);
      const none = keccak256(toHex("nothing"));
      expect(await w.models.read.trainerOf([none])).to.equal("0x0000000000000000000000000000000000000000");
      expect(await w.models.read.deliveryInfo([none])).to.deep.equal([false, 0, 0, 0]);
    });

    it("registers a container id once", async () => {
      const w = await load();
      expect(
        await outcome(
          w,
          (await w.registryOf(w.node)).write.registerModel([CONTAINER, [8, 8, 4], w.model.weightsHash]),
        ),
      ).to.deep.equal(["ModelAlreadyRegistered", [CONTAINER_ID]]);
    });

    it("accepts registrations from active trainers only", async () => {
      const w = await load();
      const args = ["m", [4, 2], keccak256(toHex("w"))] as const;
      for (const who of [w.validators[0], w.outsiders[0]]) {
        expect(await outcome(w, (await w.registryOf(who)).write.registerModel(args))).to.deep.equal([
          "NotActiveTrainer",
          [who.address],
        ]);
      }
      // a jailed trainer is not active
      await w.staking.write.slash([w.node.address, 1n, [], true]);
      expect(await outcome(w, (await w.registryOf(w.node)).write.registerModel(args))).to.deep.equal([
        "NotActiveTrainer",
        [w.node.address],
      ]);
    });

    it("checks widths like the engine and refuses empty or long container ids and a zero hash", async () => {
      const w = await load();
      const r = await w.registryOf(w.node);
      const h = keccak256(toHex("w"));
      const cases = [
        [
          ["m", [4], h],
          ["InvalidSpec", ["widths.length", 1n]],
        ],
        [
          ["m", [4, 1], h],
          ["InvalidSpec", ["widths", 1n]],
        ],
        [
          ["m", [0, 2], h],
          ["InvalidSpec", ["widths", 0n]],
        ],
        [
          ["m", [65_537, 2], h],
          ["InvalidSpec", ["widths", 65_537n]],
        ],
        [
          ["m", Array(18).fill(2), h],
          ["InvalidSpec", ["widths.length", 18n]],
        ],
        [
          ["m", [65_536, 65_536, 2], h],
          ["InvalidSpec", ["widths", 65_537n * 65_536n + 65_537n * 2n]],
        ],
        [
          ["", [4, 2], h],
          ["InvalidContainerId", [0n, 256n]],
        ],
        [
          ["x".repeat(257), [4, 2], h],
          ["InvalidContainerId", [257n, 256n]],
        ],
        [
          ["m", [4, 2], zeroHash],
          ["ZeroWeightsHash", []],
        ],
      ] as const;
      for (const [args, err] of cases) {
        expect(await outcome(w, r.write.registerModel([args[0], [...args[1]], args[2]]))).to.deep.equal(err);
      }
      expect(await outcome(w, r.write.registerModel(["x".repeat(256), [4096, 2], h]))).to.equal("ok");
    });
  });

  describe("activation", () => {
    it("lets the trainer deactivate its model, and nobody else", async () => {
      const w = await load();
      expect(await outcome(w, (await w.registryOf(w.node)).write.deactivate([CONTAINER_ID]))).to.deep.equal([
        "NotModelTrainer",
        [CONTAINER_ID, w.node.address, w.trainer.address],
      ]);
      const tx = await (await w.registryOf(w.trainer)).write.deactivate([CONTAINER_ID]);
      expect(await w.events(tx, w.models, "ModelStatusChanged")).to.deep.equal([
        { containerId: CONTAINER_ID, active: false, by: w.trainer.address },
      ]);
      expect(await w.models.read.isActive([CONTAINER_ID])).to.equal(false);
      expect((await w.models.read.getModel([CONTAINER_ID])).active).to.equal(false);
      expect(
        await outcome(w, (await w.registryOf(w.trainer)).write.deactivate([CONTAINER_ID])),
      ).to.deep.equal(["ModelStatusUnchanged", [CONTAINER_ID, false]]);
      const none = keccak256(toHex("none"));
      expect(await outcome(w, (await w.registryOf(w.trainer)).write.deactivate([none]))).to.deep.equal([
        "UnknownModel",
        [none],
      ]);
    });

    it("lets governance, and only governance, activate and deactivate any model", async () => {
      const w = await load();
      const tx = await w.models.write.setActive([CONTAINER_ID, false]);
      expect(await w.events(tx, w.models, "ModelStatusChanged")).to.deep.equal([
        { containerId: CONTAINER_ID, active: false, by: w.admin.address },
      ]);
      await w.models.write.setActive([CONTAINER_ID, true]);
      expect(await w.models.read.isActive([CONTAINER_ID])).to.equal(true);
      for (const who of [w.trainer, w.outsiders[0]]) {
        expect(
          await outcome(w, (await w.registryOf(who)).write.setActive([CONTAINER_ID, false])),
        ).to.deep.equal(["AccessManagedUnauthorized", [who.address]]);
      }
    });
  });

  describe("royalties and governance of records", () => {
    it("gives a container id squatter no royalty: only approval or a valid challenge names a recipient, and only while active", async () => {
      // Naive code: first come, first served, and `trainerOf` named whoever registered first, active
      // or not, so a squatter took the royalty of every staking-token subscription to that id.
      const w = await load();
      const squatted = containerIdOf("hello-world");
      await (await w.registryOf(w.node)).write.registerModel(["hello-world", [4, 2], keccak256(toHex("w"))]);
      expect(await w.models.read.trainerOf([squatted])).to.equal(zeroAddress);
      const tx = await w.models.write.setApproved([squatted, true]);
      expect(await w.events(tx, w.models, "ModelApprovalChanged")).to.deep.equal([
        { containerId: squatted, approved: true },
      ]);
      expect(await w.models.read.trainerOf([squatted])).to.equal(w.node.address);
      await w.models.write.setActive([squatted, false]);
      expect(await w.models.read.trainerOf([squatted])).to.equal(zeroAddress);
      await w.models.write.setActive([squatted, true]);
      await w.models.write.setApproved([squatted, false]);
      expect(await w.models.read.trainerOf([squatted])).to.equal(zeroAddress);
    });

    it("lets governance, and only governance, reassign or clear a record; a cleared id is registered anew under a new generation", async () => {
      const w = await load();
      await w.models.write.setApproved([CONTAINER_ID, true]);
      const tx = await w.models.write.reassign([CONTAINER_ID, w.node.address]);
      expect(await w.events(tx, w.models, "ModelReassigned")).to.deep.equal([
        { containerId: CONTAINER_ID, previousTrainer: w.trainer.address, trainer: w.node.address },
      ]);
      expect(await w.models.read.trainerOf([CONTAINER_ID])).to.equal(w.node.address);
      // the new trainer controls the model now
      expect(
        await outcome(w, (await w.registryOf(w.trainer)).write.deactivate([CONTAINER_ID])),
      ).to.deep.equal(["NotModelTrainer", [CONTAINER_ID, w.trainer.address, w.node.address]]);
      expect(await outcome(w, w.models.write.reassign([CONTAINER_ID, zeroAddress]))).to.deep.equal([
        "ZeroTrainer",
        [],
      ]);
      const cleared = await w.models.write.clear([CONTAINER_ID]);
      expect(await w.events(cleared, w.models, "ModelCleared")).to.deep.equal([
        { containerId: CONTAINER_ID, trainer: w.node.address },
      ]);
      expect((await w.models.read.getModel([CONTAINER_ID])).trainer).to.equal(zeroAddress);
      expect(await outcome(w, w.models.write.clear([CONTAINER_ID]))).to.deep.equal([
        "UnknownModel",
        [CONTAINER_ID],
      ]);
      await (
        await w.registryOf(w.trainer)
      ).write.registerModel([CONTAINER, [8, 8, 4], keccak256(toHex("new"))]);
      const m = await w.models.read.getModel([CONTAINER_ID]);
      expect([m.trainer, m.generation, m.approved]).to.deep.equal([w.trainer.address, 1, false]);
      for (const who of [w.trainer, w.outsiders[0]]) {
        const r = await w.registryOf(who);
        for (const p of [
          r.write.setApproved([CONTAINER_ID, true]),
          r.write.reassign([CONTAINER_ID, who.address]),
          r.write.clear([CONTAINER_ID]),
        ])
          expect(await outcome(w, p)).to.deep.equal(["AccessManagedUnauthorized", [who.address]]);
      }
    });
  });

  describe("disputability", () => {
    /** Widths `shape(h)` of the largest h whose dispute bound fits MAX_DISPUTE_GAS. */
    async function boundary(w: W, shape: (h: number) => number[]) {
      const max = await w.models.read.MAX_DISPUTE_GAS();
      const bound = (h: number) => w.models.read.disputeGasBound([shape(h)]);
      let [lo, hi] = [1, 65_536];
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if ((await bound(mid)) <= max) lo = mid;
        else hi = mid;
      }
      return { max, lo, hi, bound };
    }
    // a model whose checkpoint dominates (the calldata), and one whose neurons dominate (the compute)
    const wide = (h: number) => [256, h, 10];
    const narrow = (h: number) => [2, h, 2];

    it("registers a model beyond the whole-model dispute inactive until its parameter root is set, at the boundary", async () => {
      // Naive code activated any model up to 2^26 parameters: a whole-model dispute of such a model
      // never fits a transaction, so without the root the game needs, its wrong outputs were always paid.
      const w = await load();
      const r = await w.registryOf(w.node);
      for (const shape of [wide, narrow]) {
        const { max, lo, hi, bound } = await boundary(w, shape);
        expect(max).to.equal(16_700_000n);
        expect((await bound(lo)) <= max).to.equal(true);
        expect((await bound(hi)) > max).to.equal(true);
        const big = containerIdOf(`too-big-${hi}`);
        expect(
          await outcome(w, r.write.registerModel([`too-big-${hi}`, shape(hi), keccak256(toHex("w"))])),
        ).to.equal("ok");
        expect(await w.models.read.isActive([big])).to.equal(false);
        // governance cannot activate it without the root either
        expect(await outcome(w, w.models.write.setActive([big, true]))).to.deep.equal([
          "ModelNotDisputable",
          [await bound(hi), max],
        ]);
        await r.write.setParameterRoot([big, keccak256(toHex("root"))]);
        expect(await w.models.read.isActive([big])).to.equal(true);
        expect(
          await outcome(w, r.write.registerModel([`fits-${lo}`, shape(lo), keccak256(toHex("w"))])),
        ).to.equal("ok");
        expect(await w.models.read.isActive([containerIdOf(`fits-${lo}`)])).to.equal(true);
      }
    });

    for (const [label, shape] of [
      ["checkpoint", wide],
      ["compute", narrow],
    ] as const) {
      it(`proves a wrong output of the largest model it accepts within the bound (the ${label} dominates)`, async () => {
        const w = await load();
        const { lo, bound } = await boundary(w, shape);
        const widths = shape(lo);
        let parameters = 0;
        for (let i = 0; i + 1 < widths.length; i++) parameters += (widths[i]! + 1) * widths[i + 1]!;
        // random weights with no zero byte (the costliest calldata), step 0
        const checkpoint = new Uint8Array(8 + 2 * parameters);
        let x = 0x9e3779b9;
        for (let i = 8; i < checkpoint.length; i++) {
          x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
          checkpoint[i] = ((x >>> 24) % 255) + 1;
        }
        const weights = new Int16Array(checkpoint.buffer.slice(8));
        const name = `largest-${label}`;
        await (await w.registryOf(w.trainer)).write.registerModel([name, widths, keccak256(checkpoint)]);
        const input = Int8Array.from({ length: widths[0]! }, (_, i) => ((i * 37) % 255) - 127);
        const right = infer(widths, weights, input);
        const wrongScores = Int8Array.from(right.output);
        wrongScores[0] = wrongScores[0] === 127 ? 126 : wrongScores[0]! + 1;
        const wrong = encodeInferenceOutput({ output: wrongScores, label: right.label });
        const id = await w.coordinator.read.nextId();
        await w.coordinator.write.createSubscription(
          [w.consumer.address, containerIdOf(name), 1, w.verifier.address, 1n],
          { value: 1n },
        );
        await w.consumer.write.setInputs([id, encodeInferenceInput(input)]);
        await (
          await w.as("TestCoordinator", w.coordinator.address, w.node)
        ).write.deliver([id, 1, encodeInferenceInput(input), wrong], { value: 1n });
        const disputer = await w.as("PoAIVerifier", w.verifier.address, w.outsiders[2]);
        const tx = await disputer.write.dispute(
          [id, 1, w.node.address, containerIdOf(name), encodeInferenceInput(input), wrong, toHex(checkpoint)],
          { gas: await bound(lo) },
        );
        const receipt = await w.publicClient.waitForTransactionReceipt({ hash: tx });
        expect(receipt.status).to.equal("success");
        expect(receipt.gasUsed <= (await bound(lo))).to.equal(true);
        expect((await w.verifier.read.verificationOf([id, 1, w.node.address]))[0]).to.equal(3);
      });
    }
  });

  describe("models proven to be a valid challenge's final checkpoint", () => {
    /** The node trains the spec, commits the run's root in round R and the committee judges it valid. */
    async function validChallenge(
      w: W,
      verdict: number = Verdict.Valid,
      reveals = w.validators.length,
      /** The final leaf's step word (an operation-sampling run's evaluation root); default zero. */
      evalRoot: Hex = zeroHash,
    ) {
      const run = await train(MODEL_SPEC, keccak256(toHex("any seed")));
      const tree = commit({
        ...run,
        stepRoots: run.checkpointHashes.map((_, i) =>
          i === run.checkpointHashes.length - 1 ? evalRoot : zeroHash,
        ),
      });
      await w.to(w.start(R));
      await w.beaconCommit(R + 1n, w.validators);
      await w.node.cm.write.submitResult([R, tree.root, 5000]);
      const id = w.id(w.node, R);
      await w.beaconReveal(R + 1n, w.validators);
      const votes: Vote[] = w.validators.map((v) => ({ v, verdict, score: 5000 }));
      await w.audit(id, R, votes, (v) => w.validators.indexOf(v.v) < reveals);
      return { run, tree, id, finalIndex: run.checkpointHashes.length - 1 };
    }
    /** Finalizes `id` unless the committee's last reveal already judged it (every member voted). */
    async function finalize(w: W, id: Hex) {
      if ((await w.challenges.read.getChallenge([id])).status === Status.Submitted)
        await w.outsiders[0].cm.write.finalize([id]);
    }

    it("binds the model to the challenge and takes the spec's widths", async () => {
      const w = await load();
      const { run, tree, id, finalIndex } = await validChallenge(w);
      await finalize(w, id);
      expect((await w.challenges.read.getChallenge([id])).status).to.equal(Status.Valid);
      const hash = checkpointHash(MODEL_SPEC, run.final);
      expect(hash).to.equal(run.checkpointHashes[finalIndex]);
      const r = await w.registryOf(w.node);
      const tx = await r.write.registerTrainedModel([
        "trained",
        hash,
        run.parameterRoots[finalIndex],
        id,
        tree.proof(finalIndex),
      ]);
      const cid = containerIdOf("trained");
      expect((await w.events(tx, w.models, "ModelRegistered"))[0]).to.deep.include({
        containerId: cid,
        trainer: w.node.address,
        widths: [...MODEL_SPEC.widths],
        weightsHash: hash,
        challengeId: id,
      });
      expect(await w.models.read.challengeOf([cid])).to.equal(id);
      expect(await w.models.read.weightsOf([cid])).to.deep.equal([[...MODEL_SPEC.widths], hash, 0]);
      // bound to a valid challenge: its trainer earns the royalties, while the model is active
      expect(await w.models.read.trainerOf([cid])).to.equal(w.node.address);
      await r.write.deactivate([cid]);
      expect(await w.models.read.trainerOf([cid])).to.equal(zeroAddress);
    });

    // Catches a registry that proves every final leaf with a zero step word: the final leaf of an
    // operation-sampling run commits its evaluation root there, and its model could not be registered.
    it("registers the final checkpoint of an operation-sampling run, whose final leaf commits its evaluation root", async () => {
      const w = await load();
      const evalRoot = keccak256(toHex("evaluation root"));
      const { run, tree, id, finalIndex } = await validChallenge(
        w,
        Verdict.Valid,
        w.validators.length,
        evalRoot,
      );
      await finalize(w, id);
      const r = await w.registryOf(w.node);
      const last = run.checkpointHashes[finalIndex];
      const args = ["sampled", last, run.parameterRoots[finalIndex]] as const;
      expect(
        await outcome(w, r.write.registerTrainedModel([...args, id, tree.proof(finalIndex)])),
      ).to.deep.equal(["CheckpointNotProven", [id, BigInt(finalIndex), last]]);
      expect(
        await outcome(
          w,
          r.write.registerTrainedModelWithEvalRoot([...args, zeroHash, id, tree.proof(finalIndex)]),
        ),
      ).to.deep.equal(["CheckpointNotProven", [id, BigInt(finalIndex), last]]);
      await r.write.registerTrainedModelWithEvalRoot([...args, evalRoot, id, tree.proof(finalIndex)]);
      expect(await w.models.read.challengeOf([containerIdOf("sampled")])).to.equal(id);
    });

    it("refuses an earlier checkpoint, a proof for another leaf, another trainer's challenge and an unjudged one", async () => {
      const w = await load();
      // one member does not reveal, so the challenge waits for finalize
      const { run, tree, id, finalIndex } = await validChallenge(w, Verdict.Valid, w.validators.length - 1);
      const r = await w.registryOf(w.node);
      // not finalized yet: still Submitted
      expect(
        await outcome(
          w,
          r.write.registerTrainedModel([
            "t",
            run.checkpointHashes[finalIndex],
            run.parameterRoots[finalIndex],
            id,
            tree.proof(finalIndex),
          ]),
        ),
      ).to.deep.equal(["ChallengeNotValid", [id, Status.Submitted]]);
      await w.outsiders[0].cm.write.finalize([id]);
      // an earlier checkpoint, proven at its own index, is not the final one
      const earlier = run.checkpointHashes[finalIndex - 1];
      expect(
        await outcome(
          w,
          r.write.registerTrainedModel([
            "t",
            earlier,
            run.parameterRoots[finalIndex - 1],
            id,
            tree.proof(finalIndex - 1),
          ]),
        ),
      ).to.deep.equal(["CheckpointNotProven", [id, BigInt(finalIndex), earlier]]);
      // the final hash with the wrong proof
      const last = run.checkpointHashes[finalIndex];
      expect(
        await outcome(
          w,
          r.write.registerTrainedModel(["t", last, run.parameterRoots[finalIndex], id, tree.proof(0)]),
        ),
      ).to.deep.equal(["CheckpointNotProven", [id, BigInt(finalIndex), last]]);
      // the final hash and proof with another checkpoint's parameter root
      expect(
        await outcome(
          w,
          r.write.registerTrainedModel(["t", last, run.parameterRoots[0], id, tree.proof(finalIndex)]),
        ),
      ).to.deep.equal(["CheckpointNotProven", [id, BigInt(finalIndex), last]]);
      // someone else's challenge
      expect(
        await outcome(
          w,
          (await w.registryOf(w.trainer)).write.registerTrainedModel([
            "t",
            last,
            run.parameterRoots[finalIndex],
            id,
            tree.proof(finalIndex),
          ]),
        ),
      ).to.deep.equal(["NotChallengeTrainer", [id, w.node.address, w.trainer.address]]);
      // unknown challenge
      const none = keccak256(toHex("none")) as Hex;
      expect(
        await outcome(w, r.write.registerTrainedModel(["t", last, run.parameterRoots[finalIndex], none, []])),
      ).to.deep.equal(["ChallengeNotValid", [none, Status.None]]);
    });

    it("refuses a challenge judged fraudulent", async () => {
      const w = await load();
      const { run, tree, id, finalIndex } = await validChallenge(w, Verdict.Invalid);
      await finalize(w, id);
      // the trainer is jailed too, but the challenge's status is what is checked first
      expect(
        await outcome(
          w,
          (await w.registryOf(w.node)).write.registerTrainedModel([
            "t",
            run.checkpointHashes[finalIndex],
            run.parameterRoots[finalIndex],
            id,
            tree.proof(finalIndex),
          ]),
        ),
      ).to.deep.equal(["ChallengeNotValid", [id, Status.Fraud]]);
    });
  });
});
