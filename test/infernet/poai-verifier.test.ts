/**
 * PoAIVerifier against a coordinator test double: deliveries are recorded only for active models,
 * well-formed outputs and the consumer's own input; a wrong output is proven by recomputing it from
 * the checkpoint (the node is slashed and jailed, the disputer paid, the consumer refunded with the
 * node's collateral, the redundancy slot freed); a correct output cannot be disputed and is paid
 * after the window. Adversarial cases for every settlement path: twice, late, early, wrong
 * checkpoint, wrong delivery data, reentrancy, callers other than the coordinator, governance
 * (bounds, and a slash window that never reaches Staking's unbonding period); a delivery stays bound
 * to the model generation it was made for.
 */
import { expect } from "chai";
import { network } from "hardhat";
import {
  encodeAbiParameters,
  parseEventLogs,
  encodeFunctionData,
  keccak256,
  parseEther,
  toFunctionSelector,
  toHex,
  zeroAddress,
  type Address,
  type Hex,
} from "viem";
import { encodeInferenceInput, encodeInferenceOutput, infer } from "../../sdk/src/compute/index.js";
import { BPS, BURN_ADDRESS, DAY, E, WAD, ceilDiv, type Connection } from "../poai/helpers/world.js";
import { attempt } from "../staking/helpers/revert.js";
import { deployModelRegistry, deployPoAIVerifier } from "../../scripts/lib/deploy-verifier.js";
import { MODEL, containerHash, deployInfernetWorld, intervalKey } from "./helpers/world.js";
import {
  CONTAINER_ID,
  MODEL_SPEC,
  PAYMENT,
  containerIdOf,
  deployVerifierWorld,
  trainedModel,
  type VerifierWorld,
} from "./helpers/verifier-world.js";

const Status = { None: 0, Pending: 1, Valid: 2, Invalid: 3 } as const;
const INPUT = Int8Array.from([12, -7, 100, -128, 127, 0, 33, -64]);

describe("PoAIVerifier", function () {
  this.timeout(300_000);
  let conn: Connection;
  before(async () => {
    conn = await network.create();
  });

  async function fixture() {
    const w = await deployVerifierWorld(conn);
    const sub = await w.subscribe(INPUT, 2);
    return { ...w, sub };
  }
  const load = () => conn.networkHelpers.loadFixture(fixture);
  type W = Awaited<ReturnType<typeof fixture>>;

  const input = encodeInferenceInput(INPUT);
  const abiOf = (w: VerifierWorld) => [...w.verifier.abi, ...w.staking.abi, ...w.coordinator.abi];
  const outcome = async (w: VerifierWorld, p: Promise<unknown>) => {
    const o = await attempt(p, abiOf(w));
    return o.ok ? "ok" : [o.error, o.args];
  };
  const verifierAs = (w: VerifierWorld, who: (typeof w.actors)[number]) =>
    w.as("PoAIVerifier", w.verifier.address, who);
  const disputeArgs = (
    w: W,
    output: Hex,
    checkpoint: Hex = w.model.checkpoint,
    node: Address = w.node.address,
  ) => [w.sub, 1, node, CONTAINER_ID, input, output, checkpoint] as const;
  const deadlineOf = async (w: W, node: Address = w.node.address) =>
    (await w.verifier.read.verificationOf([w.sub, 1, node]))[1];

  describe("interfaces and fees", () => {
    it("declares IOutputVerifier, IVerifier, ISlashWindow and ERC-165 and nothing else", async () => {
      const w = await load();
      const ids = {
        erc165: "0x01ffc9a7",
        verifier: [
          "getWallet()",
          "isSupportedToken(address)",
          "fee(address)",
          "requestProofVerification(uint32,uint32,address,bytes)",
        ]
          .map((s) => BigInt(toFunctionSelector(s)))
          .reduce((a, b) => a ^ b),
        output: BigInt(
          toFunctionSelector("requestOutputVerification(uint32,uint32,address,bytes32,bytes,bytes,bytes)"),
        ),
        slashWindow: BigInt(toFunctionSelector("slashWindow()")),
      };
      const hex4 = (v: bigint) => toHex(v, { size: 4 });
      expect(await w.verifier.read.supportsInterface([ids.erc165 as Hex])).to.equal(true);
      expect(await w.verifier.read.supportsInterface([hex4(ids.verifier)])).to.equal(true);
      expect(await w.verifier.read.supportsInterface([hex4(ids.output)])).to.equal(true);
      expect(await w.verifier.read.supportsInterface([hex4(ids.slashWindow)])).to.equal(true);
      expect(await w.verifier.read.supportsInterface(["0xffffffff"])).to.equal(false);
      expect(await w.verifier.read.supportsInterface(["0x12345678"])).to.equal(false);
    });

    it("quotes governance's fee per token and pays it to the governance-set wallet", async () => {
      const w = await load();
      expect(await w.verifier.read.getWallet()).to.equal(w.feeWallet);
      expect(await w.verifier.read.isSupportedToken([zeroAddress])).to.equal(false);
      const tx = await w.verifier.write.setFee([zeroAddress, parseEther("0.01"), true]);
      expect(await w.events(tx, w.verifier, "FeeUpdated")).to.deep.equal([
        { token: zeroAddress, fee: parseEther("0.01"), supported: true },
      ]);
      expect(await w.verifier.read.fee([zeroAddress])).to.equal(parseEther("0.01"));
      expect(await w.verifier.read.isSupportedToken([zeroAddress])).to.equal(true);
      await w.verifier.write.setWallet([w.outsiders[1].address]);
      expect(await w.verifier.read.getWallet()).to.equal(w.outsiders[1].address);
      expect(await outcome(w, w.verifier.write.setWallet([zeroAddress]))).to.deep.equal(["ZeroAddress", []]);
      const max = await w.verifier.read.MAX_FEE();
      await w.verifier.write.setFee([zeroAddress, max, true]);
      expect(await outcome(w, w.verifier.write.setFee([zeroAddress, max + 1n, true]))).to.deep.equal([
        "InvalidParameter",
        ["fee", max + 1n, 0n, max],
      ]);
    });

    it("refuses proof verification: a coordinator must hand it the output", async () => {
      const w = await load();
      expect(
        await outcome(w, w.verifier.read.requestProofVerification([w.sub, 1, w.node.address, "0x"])),
      ).to.deep.equal(["ProofVerificationUnsupported", []]);
    });
  });

  describe("requesting verification", () => {
    it("records a delivery of the consumer's input with a well-formed output and opens the dispute window", async () => {
      const w = await load();
      const output = w.correctOutput(INPUT);
      const tx = await w.deliver(w.node, w.sub, input, output);
      const block = await w.blockOf(tx);
      const deadline = block.timestamp + BigInt(w.verifierParams.disputeWindow);
      expect(await w.events(tx, w.verifier, "OutputVerificationRequested")).to.deep.equal([
        {
          subscriptionId: w.sub,
          interval: 1,
          node: w.node.address,
          containerId: CONTAINER_ID,
          deadline,
          input,
          output,
        },
      ]);
      expect(await w.verifier.read.verificationOf([w.sub, 1, w.node.address])).to.deep.equal([
        Status.Pending,
        deadline,
      ]);
    });

    it("accepts calls from the coordinator only", async () => {
      const w = await load();
      const args = [w.sub, 1, w.node.address, CONTAINER_ID, input, w.correctOutput(INPUT), "0x"] as const;
      for (const who of [w.node, w.outsiders[0], w.admin]) {
        expect(
          await outcome(w, (await verifierAs(w, who)).write.requestOutputVerification(args)),
        ).to.deep.equal(["NotCoordinator", [who.address]]);
      }
    });

    it("refuses deliveries for unknown or inactive models and of malformed inputs or outputs", async () => {
      const w = await load();
      const output = w.correctOutput(INPUT);
      // wrong lengths
      expect(await outcome(w, w.deliver(w.node, w.sub, "0x0102", output))).to.deep.equal([
        "InputLengthMismatch",
        [8n, 2n],
      ]);
      expect(await outcome(w, w.deliver(w.node, w.sub, input, `${output}00`))).to.deep.equal([
        "OutputLengthMismatch",
        [8n, 9n],
      ]);
      // an unknown container
      const other = keccak256(toHex("not registered"));
      const { result: sub } = await w.coordinator.simulate.createSubscription([
        w.consumer.address,
        other,
        1,
        w.verifier.address,
        PAYMENT,
      ]);
      await w.coordinator.write.createSubscription(
        [w.consumer.address, other, 1, w.verifier.address, PAYMENT],
        {
          value: PAYMENT,
        },
      );
      await w.consumer.write.setInputs([sub, input]);
      expect(await outcome(w, w.deliver(w.node, sub, input, output))).to.deep.equal([
        "ModelNotActive",
        [other],
      ]);
      // a deactivated model
      await (await w.as("ModelRegistry", w.models.address, w.trainer)).write.deactivate([CONTAINER_ID]);
      expect(await outcome(w, w.deliver(w.node, w.sub, input, output))).to.deep.equal([
        "ModelNotActive",
        [CONTAINER_ID],
      ]);
    });

    it("refuses a delivery whose input is not the one the consumer asks for, naming both hashes", async () => {
      const w = await load();
      const other = Int8Array.from(INPUT, (v, i) => (i === 3 ? 5 : v));
      const otherInput = encodeInferenceInput(other);
      expect(await outcome(w, w.deliver(w.node, w.sub, otherInput, w.correctOutput(other)))).to.deep.equal([
        "InputMismatch",
        [w.sub, keccak256(input), keccak256(otherInput)],
      ]);
    });

    it("refuses a second verification of a pending delivery", async () => {
      const w = await load();
      const output = w.correctOutput(INPUT);
      await w.deliver(w.node, w.sub, input, output);
      const data = encodeFunctionData({
        abi: w.verifier.abi,
        functionName: "requestOutputVerification",
        args: [w.sub, 1, w.node.address, CONTAINER_ID, input, output, "0x"],
      });
      expect(await outcome(w, w.coordinator.write.callAs([w.verifier.address, data]))).to.deep.equal([
        "AlreadyPending",
        [w.sub, 1, w.node.address],
      ]);
    });
  });

  describe("disputes", () => {
    it("proves a wrong output: settles it invalid, refunds the consumer with the node's collateral, frees the slot, slashes and jails the node and pays the disputer", async () => {
      const w = await load();
      const [disputer] = w.outsiders.slice(2);
      const output = w.wrongOutput(INPUT);
      await w.deliver(w.node, w.sub, input, output);
      const slotKey = keccak256(encodeAbiParameters([{ type: "uint32" }, { type: "uint32" }], [w.sub, 1]));
      expect(await w.coordinator.read.redundancyCount([slotKey])).to.equal(1);
      const pool = await w.staking.read.getPool([w.node.address]);
      const before = await w.token.read.balanceOf([disputer.address]);
      const burnedBefore = await w.token.read.balanceOf([BURN_ADDRESS]);

      const tx = await (await verifierAs(w, disputer)).write.dispute(disputeArgs(w, output));

      expect(await w.events(tx, w.verifier, "OutputDisputed")).to.deep.equal([
        {
          subscriptionId: w.sub,
          interval: 1,
          node: w.node.address,
          disputer: disputer.address,
          containerId: CONTAINER_ID,
          deliveredOutputHash: keccak256(output),
          expectedOutputHash: keccak256(w.correctOutput(INPUT)),
          slashFraction: w.verifierParams.slashFraction,
          offenceEpoch: await w.staking.read.currentEpoch(),
        },
      ]);
      expect(await w.events(tx, w.coordinator, "Settled")).to.deep.equal([
        { subscriptionId: w.sub, interval: 1, node: w.node.address, valid: false },
      ]);
      // the consumer got its payment back and the node's collateral; the slot is free again
      expect(await w.coordinator.read.balances([w.consumer.address])).to.equal(2n * PAYMENT + PAYMENT);
      expect(await w.coordinator.read.balances([w.node.address])).to.equal(0n);
      expect(await w.coordinator.read.redundancyCount([slotKey])).to.equal(0);
      // the node's pool is slashed by the fraction, rounded against it; the disputer earns the finder's fee
      const cut = ceilDiv(pool.tokens * w.verifierParams.slashFraction, WAD);
      const fee = (cut * 1000n) / BPS;
      expect((await w.staking.read.getPool([w.node.address])).tokens).to.equal(pool.tokens - cut);
      expect((await w.token.read.balanceOf([disputer.address])) - before).to.equal(fee);
      expect((await w.token.read.balanceOf([BURN_ADDRESS])) - burnedBefore).to.equal(cut - fee);
      expect(await w.staking.read.isActive([w.node.address])).to.equal(false);
      expect(await w.verifier.read.verificationOf([w.sub, 1, w.node.address])).to.deep.equal([
        Status.Invalid,
        0n,
      ]);
    });

    it("proves a wrong label even when the output vector is right", async () => {
      const w = await load();
      const correct = w.correctOutput(INPUT);
      const label = Number(BigInt(correct.slice(0, 10)));
      const wrong = `0x${(((label + 1) % 4) >>> 0).toString(16).padStart(8, "0")}${correct.slice(10)}` as Hex;
      await w.deliver(w.node, w.sub, input, wrong);
      await (await verifierAs(w, w.outsiders[2])).write.dispute(disputeArgs(w, wrong));
      expect((await w.verifier.read.verificationOf([w.sub, 1, w.node.address]))[0]).to.equal(Status.Invalid);
    });

    it("cannot dispute a correct output: reverts naming the delivered and the recomputed hash", async () => {
      const w = await load();
      const output = w.correctOutput(INPUT);
      await w.deliver(w.node, w.sub, input, output);
      expect(
        await outcome(w, (await verifierAs(w, w.outsiders[2])).write.dispute(disputeArgs(w, output))),
      ).to.deep.equal(["OutputCorrect", [keccak256(output), keccak256(output)]]);
    });

    it("keeps judging the recorded input when the consumer changes its input after the delivery", async () => {
      const w = await load();
      const output = w.correctOutput(INPUT);
      await w.deliver(w.node, w.sub, input, output);
      await w.consumer.write.setInputs([w.sub, encodeInferenceInput(new Int8Array(8).fill(1))]);
      expect(
        await outcome(w, (await verifierAs(w, w.outsiders[2])).write.dispute(disputeArgs(w, output))),
      ).to.deep.equal(["OutputCorrect", [keccak256(output), keccak256(output)]]);
    });

    it("refuses checkpoint bytes that are not the registered weights", async () => {
      const w = await load();
      const output = w.wrongOutput(INPUT);
      await w.deliver(w.node, w.sub, input, output);
      const v = await verifierAs(w, w.outsiders[2]);
      const weightsHash = w.model.weightsHash;
      // other weights (one parameter changed), a truncated checkpoint, nothing
      const cp = w.model.checkpoint;
      const flipped = `${cp.slice(0, 20)}${cp[20] === "0" ? "1" : "0"}${cp.slice(21)}` as Hex;
      for (const bad of [flipped, cp.slice(0, -4) as Hex, "0x" as Hex]) {
        expect(await outcome(w, v.write.dispute(disputeArgs(w, output, bad)))).to.deep.equal([
          "WeightsMismatch",
          [CONTAINER_ID, weightsHash, keccak256(bad)],
        ]);
      }
    });

    it("refuses a dispute whose container, input or output is not what was delivered", async () => {
      const w = await load();
      const output = w.wrongOutput(INPUT);
      await w.deliver(w.node, w.sub, input, output);
      const v = await verifierAs(w, w.outsiders[2]);
      const args = disputeArgs(w, output);
      const variants = [
        [w.sub, 1, w.node.address, keccak256(toHex("other")), input, output, w.model.checkpoint],
        [
          w.sub,
          1,
          w.node.address,
          CONTAINER_ID,
          encodeInferenceInput(new Int8Array(8)),
          output,
          w.model.checkpoint,
        ],
        [w.sub, 1, w.node.address, CONTAINER_ID, input, w.correctOutput(INPUT), w.model.checkpoint],
      ] as const;
      for (const bad of variants) {
        const o = await attempt(v.write.dispute(bad), abiOf(w));
        expect(o.ok ? "ok" : o.error).to.equal("DeliveryMismatch");
      }
      await v.write.dispute(args);
    });

    it("refuses a dispute of a delivery that does not exist, was settled, or whose window has closed", async () => {
      const w = await load();
      const v = await verifierAs(w, w.outsiders[2]);
      const output = w.wrongOutput(INPUT);
      expect(await outcome(w, v.write.dispute(disputeArgs(w, output)))).to.deep.equal([
        "NotPending",
        [w.sub, 1, w.node.address, Status.None],
      ]);
      await w.deliver(w.node, w.sub, input, output);
      await w.deliver(w.trainer, w.sub, input, output);
      // disputed twice
      await v.write.dispute(disputeArgs(w, output));
      expect(await outcome(w, v.write.dispute(disputeArgs(w, output)))).to.deep.equal([
        "NotPending",
        [w.sub, 1, w.node.address, Status.Invalid],
      ]);
      expect(await outcome(w, v.write.finalize([w.sub, 1, w.node.address]))).to.deep.equal([
        "NotPending",
        [w.sub, 1, w.node.address, Status.Invalid],
      ]);
      // the second node's wrong output, once its window has closed, is paid and no longer disputable
      const deadline = await deadlineOf(w, w.trainer.address);
      await w.at(deadline);
      expect(
        await outcome(w, v.write.dispute(disputeArgs(w, output, w.model.checkpoint, w.trainer.address))),
      ).to.deep.equal(["DisputeWindowClosed", [deadline, deadline]]);
      await v.write.finalize([w.sub, 1, w.trainer.address]);
      expect(
        await outcome(w, v.write.dispute(disputeArgs(w, output, w.model.checkpoint, w.trainer.address))),
      ).to.deep.equal(["NotPending", [w.sub, 1, w.trainer.address, Status.Valid]]);
    });

    it("caps the slash at Staking's maximum and pays no finder's fee to a node that disputes itself", async () => {
      const w = await deployVerifierWorld(conn, { verifier: { slashFraction: WAD, jail: false } });
      const id = await w.subscribe(INPUT);
      const output = w.wrongOutput(INPUT);
      await w.deliver(w.node, id, input, output);
      const pool = await w.staking.read.getPool([w.node.address]);
      const balance = await w.token.read.balanceOf([w.node.address]);
      const max = (await w.staking.read.params()).maxSlashFraction;
      const tx = await (
        await verifierAs(w, w.node)
      ).write.dispute([id, 1, w.node.address, CONTAINER_ID, input, output, w.model.checkpoint]);
      expect((await w.events(tx, w.verifier, "OutputDisputed"))[0].slashFraction).to.equal(max);
      expect((await w.events(tx, w.staking, "Slashed"))[0].finderFee).to.equal(0n);
      expect((await w.staking.read.getPool([w.node.address])).tokens).to.equal(
        pool.tokens - ceilDiv(pool.tokens * max, WAD),
      );
      expect(await w.token.read.balanceOf([w.node.address])).to.equal(balance);
      // jail off: still active
      expect(await w.staking.read.isActive([w.node.address])).to.equal(true);
    });

    it("settles a wrong output of a node that is not a staked operator without slashing anybody", async () => {
      const w = await load();
      const stranger = w.outsiders[1];
      const output = w.wrongOutput(INPUT);
      await w.deliver(stranger, w.sub, input, output);
      const tx = await (
        await verifierAs(w, w.outsiders[2])
      ).write.dispute(disputeArgs(w, output, w.model.checkpoint, stranger.address));
      expect((await w.events(tx, w.verifier, "OutputDisputed"))[0].slashFraction).to.equal(0n);
      expect(await w.events(tx, w.staking, "Slashed")).to.deep.equal([]);
      expect(await w.coordinator.read.balances([w.consumer.address])).to.equal(3n * PAYMENT);
    });

    it("keeps each delivery bound to the model generation it was made for: a model cleared and registered anew never judges it", async () => {
      const w = await load();
      const output = w.wrongOutput(INPUT);
      await w.deliver(w.node, w.sub, input, output);
      // governance clears the record; the same id is registered again with other weights
      await w.models.write.clear([CONTAINER_ID]);
      await (
        await w.as("ModelRegistry", w.models.address, w.node)
      ).write.registerModel(["poai-mlp-8x8x4", [...MODEL_SPEC.widths], keccak256(toHex("other weights"))]);
      expect((await w.models.read.getModel([CONTAINER_ID])).generation).to.equal(1);
      expect(
        (await outcome(w, (await verifierAs(w, w.outsiders[2])).write.dispute(disputeArgs(w, output))))[0],
      ).to.equal("DeliveryMismatch");
      // so the delivery is settled as it stands once its window closes
      await w.conn.networkHelpers.time.increaseTo(await deadlineOf(w));
      await w.verifier.write.finalize([w.sub, 1, w.node.address]);
      expect((await w.verifier.read.verificationOf([w.sub, 1, w.node.address]))[0]).to.equal(Status.Valid);
    });

    it("still proves a wrong output after the model was deactivated", async () => {
      const w = await load();
      const output = w.wrongOutput(INPUT);
      await w.deliver(w.node, w.sub, input, output);
      await (await w.as("ModelRegistry", w.models.address, w.trainer)).write.deactivate([CONTAINER_ID]);
      await (await verifierAs(w, w.outsiders[2])).write.dispute(disputeArgs(w, output));
      expect((await w.verifier.read.verificationOf([w.sub, 1, w.node.address]))[0]).to.equal(Status.Invalid);
    });
  });

  describe("finalization", () => {
    it("pays a correct output after the window and never before", async () => {
      const w = await load();
      const output = w.correctOutput(INPUT);
      await w.deliver(w.node, w.sub, input, output);
      const deadline = await deadlineOf(w);
      const v = await verifierAs(w, w.outsiders[2]);
      await w.at(deadline - 1n);
      expect(await outcome(w, v.write.finalize([w.sub, 1, w.node.address]))).to.deep.equal([
        "DisputeWindowOpen",
        [deadline, deadline - 1n],
      ]);
      await w.at(deadline);
      const tx = await v.write.finalize([w.sub, 1, w.node.address]);
      expect(await w.events(tx, w.verifier, "OutputAccepted")).to.deep.equal([
        { subscriptionId: w.sub, interval: 1, node: w.node.address },
      ]);
      expect(await w.events(tx, w.coordinator, "Settled")).to.deep.equal([
        { subscriptionId: w.sub, interval: 1, node: w.node.address, valid: true },
      ]);
      expect(await w.coordinator.read.balances([w.node.address])).to.equal(2n * PAYMENT);
      expect(await w.verifier.read.verificationOf([w.sub, 1, w.node.address])).to.deep.equal([
        Status.Valid,
        0n,
      ]);
      expect(await outcome(w, v.write.finalize([w.sub, 1, w.node.address]))).to.deep.equal([
        "NotPending",
        [w.sub, 1, w.node.address, Status.Valid],
      ]);
    });

    it("blocks re-entry from the coordinator's settlement into dispute and finalize", async () => {
      const w = await load();
      const wrong = w.wrongOutput(INPUT);
      await w.deliver(w.node, w.sub, input, wrong);
      await w.deliver(w.trainer, w.sub, input, wrong);
      // during the first node's invalid settlement, try to dispute the second node's delivery
      const reenter = encodeFunctionData({
        abi: w.verifier.abi,
        functionName: "dispute",
        args: disputeArgs(w, wrong, w.model.checkpoint, w.trainer.address),
      });
      await w.coordinator.write.arm([w.verifier.address, reenter]);
      await (await verifierAs(w, w.outsiders[2])).write.dispute(disputeArgs(w, wrong));
      expect(await w.coordinator.read.reenterOk()).to.equal(false);
      const ret = await w.coordinator.read.reenterReturn();
      expect(ret.slice(0, 10)).to.equal(toFunctionSelector("ReentrancyGuardReentrantCall()"));
      expect((await w.verifier.read.verificationOf([w.sub, 1, w.trainer.address]))[0]).to.equal(
        Status.Pending,
      );

      // during a valid settlement, try to finalize again
      await w.at(await deadlineOf(w, w.trainer.address));
      const again = encodeFunctionData({
        abi: w.verifier.abi,
        functionName: "finalize",
        args: [w.sub, 1, w.trainer.address],
      });
      await w.coordinator.write.arm([w.verifier.address, again]);
      await (await verifierAs(w, w.outsiders[2])).write.finalize([w.sub, 1, w.trainer.address]);
      expect(await w.coordinator.read.reenterOk()).to.equal(false);
      expect((await w.coordinator.read.reenterReturn()).slice(0, 10)).to.equal(
        toFunctionSelector("ReentrancyGuardReentrantCall()"),
      );
      expect(await w.coordinator.read.balances([w.trainer.address])).to.equal(2n * PAYMENT);
    });
  });

  describe("slash window", () => {
    it("is the epoch plus the dispute window, and setParams refuses one that reaches Staking's unbonding period, naming both", async () => {
      // Naive code accepted any window up to 3 days whatever Staking's unbonding period: a node could
      // unbond its stake before a dispute of its wrong output slashed it.
      const unbonding = 2 * DAY;
      const w = await deployVerifierWorld(conn, {
        params: { unbondingPeriod: unbonding },
        // no committee extensions, so that the ChallengeManager's own window fits in 2 days too
        challenge: { maxExtensions: 0 },
        verifier: { disputeWindow: DAY - 60 },
      });
      expect(await w.verifier.read.slashWindow()).to.equal(BigInt(DAY + DAY - 60));
      const ok = { disputeWindow: DAY - 1, slashFraction: E("0.1"), jail: true };
      await w.verifier.write.setParams([ok]);
      expect(await w.verifier.read.slashWindow()).to.equal(BigInt(2 * DAY - 1));
      expect(await outcome(w, w.verifier.write.setParams([{ ...ok, disputeWindow: DAY }]))).to.deep.equal([
        "SlashWindowReachesUnbonding",
        [BigInt(2 * DAY), BigInt(unbonding)],
      ]);
      // and a deployment with such a window is refused
      const deployed = await attempt(
        deployPoAIVerifier(w.viem, {
          manager: w.manager,
          staking: w.staking,
          models: w.models,
          coordinator: w.coordinator.address,
          wallet: w.feeWallet,
          params: { disputeWindow: DAY },
        }),
        w.verifier.abi,
      );
      expect(deployed.ok ? "ok" : [deployed.error, deployed.args]).to.deep.equal([
        "SlashWindowReachesUnbonding",
        [BigInt(2 * DAY), BigInt(unbonding)],
      ]);
    });
  });

  describe("governance", () => {
    it("bounds the dispute window and the slash fraction and emits the new parameters", async () => {
      const w = await load();
      const ok = { disputeWindow: 3600, slashFraction: parseEther("0.2"), jail: false };
      const tx = await w.verifier.write.setParams([ok]);
      expect(await w.events(tx, w.verifier, "ParamsUpdated")).to.deep.equal([{ params: ok }]);
      expect(await w.verifier.read.params()).to.deep.equal(ok);
      const day = 86_400n;
      for (const [p, err] of [
        [{ ...ok, disputeWindow: 59 }, ["disputeWindow", 59n, 60n, 3n * day]],
        [{ ...ok, disputeWindow: 3 * 86_400 + 1 }, ["disputeWindow", 3n * day + 1n, 60n, 3n * day]],
        [{ ...ok, slashFraction: 0n }, ["slashFraction", 0n, 1n, WAD]],
        [{ ...ok, slashFraction: WAD + 1n }, ["slashFraction", WAD + 1n, 1n, WAD]],
      ] as const) {
        expect(await outcome(w, w.verifier.write.setParams([p]))).to.deep.equal(["InvalidParameter", err]);
      }
    });

    it("restricts parameters, fees, the wallet and withdrawals to governance", async () => {
      const w = await load();
      const v = await verifierAs(w, w.outsiders[2]);
      const who = w.outsiders[2].address;
      for (const p of [
        v.write.setParams([{ disputeWindow: 3600, slashFraction: 1n, jail: true }]),
        v.write.setFee([zeroAddress, 1n, true]),
        v.write.setWallet([who]),
        v.write.withdraw([zeroAddress, who, 1n]),
      ]) {
        const o = await attempt(p, [...w.verifier.abi, ...w.manager.abi]);
        expect(o.ok ? "ok" : [o.error, o.args]).to.deep.equal(["AccessManagedUnauthorized", [who]]);
      }
    });

    it("returns ETH and tokens sent to the verifier by mistake", async () => {
      const w = await load();
      const [sender] = await conn.viem.getWalletClients();
      await sender.sendTransaction({ to: w.verifier.address, value: parseEther("2") });
      await w.token.write.transfer([w.verifier.address, parseEther("3")]);
      const to = w.outsiders[2].address;
      const pc = w.publicClient;
      const eth = await pc.getBalance({ address: to });
      await w.verifier.write.withdraw([zeroAddress, to, parseEther("2")]);
      await w.verifier.write.withdraw([w.token.address, to, parseEther("3")]);
      expect((await pc.getBalance({ address: to })) - eth).to.equal(parseEther("2"));
      expect(await w.token.read.balanceOf([w.verifier.address])).to.equal(0n);
      expect(await outcome(w, w.verifier.write.withdraw([zeroAddress, zeroAddress, 1n]))).to.deep.equal([
        "ZeroAddress",
        [],
      ]);
    });
  });

  describe("with the Coordinator", () => {
    const PRICE = parseEther("0.1");
    const VFEE = parseEther("0.001");

    /** The marketplace with the real ModelRegistry's model served under MODEL and PoAIVerifier as verifier. */
    async function marketplace() {
      const w = await deployInfernetWorld(conn);
      const models = await deployModelRegistry(w.viem, w);
      const { verifier, params } = await deployPoAIVerifier(w.viem, {
        manager: w.manager,
        staking: w.staking,
        models,
        coordinator: w.coordinator.address,
        wallet: w.verifierWallet,
      });
      await verifier.write.setFee([zeroAddress, VFEE, true]);
      await w.consumer.write.setRecord([true]);
      const model = await trainedModel();
      const [A, B, C] = w.trainers;
      const asB = await w.viem.getContractAt("ModelRegistry", models.address, {
        client: { wallet: B!.wallet },
      });
      await asB.write.registerModel([MODEL, [...MODEL_SPEC.widths], model.weightsHash]);
      const id = await w.createdId(
        await w.consumer.write.requestCompute([
          MODEL,
          input,
          1,
          zeroAddress,
          PRICE,
          w.consumerWallet.address,
          verifier.address,
        ]),
      );
      const disputer = await w.viem.getContractAt("PoAIVerifier", verifier.address, {
        client: { wallet: w.outsider.wallet },
      });
      const eth = (a: Address) => w.publicClient.getBalance({ address: a });
      const correct = encodeInferenceOutput(infer(MODEL_SPEC, model.weights, INPUT));
      return { w, models, verifier, params, model, A: A!, B: B!, C: C!, id, disputer, eth, correct };
    }
    const loadMarketplace = () => conn.networkHelpers.loadFixture(marketplace);

    it("slashes a node that delivered a wrong output, refunds the consumer with its collateral, and lets another node serve the freed slot", async () => {
      const { w, verifier, params, model, A, C, id, disputer, eth, correct } = await loadMarketplace();
      const wrong = `${correct.slice(0, -2)}${correct.slice(-2) === "7f" ? "7e" : "7f"}` as Hex;
      expect(containerHash(MODEL)).to.equal(containerIdOf(MODEL));

      await A.coordinator.write.deliverCompute([id, 1, input, wrong, "0x", A.nodeWallet.address]);
      expect(await w.coordinator.read.redundancyCount([intervalKey(id, 1)])).to.equal(1);
      expect((await verifier.read.verificationOf([id, 1, A.address]))[0]).to.equal(Status.Pending);
      const pool = await w.staking.read.getPool([A.address]);
      const consumerBefore = await eth(w.consumerWallet.address);
      const nodeBefore = await eth(A.nodeWallet.address);
      const fees = await w.token.read.balanceOf([w.outsider.address]);

      const tx = await disputer.write.dispute([
        id,
        1,
        A.address,
        containerIdOf(MODEL),
        input,
        wrong,
        model.checkpoint,
      ]);
      // the coordinator settled it invalid: the consumer got the node's collateral; the freed slot
      // holds a full payment again (the held part, and the verifier's fee drawn back from the wallet)
      expect((await eth(w.consumerWallet.address)) - consumerBefore).to.equal(PRICE - VFEE);
      expect(nodeBefore - (await eth(A.nodeWallet.address))).to.equal(PRICE);
      expect(await w.coordinator.read.escrowOf([id])).to.equal(PRICE);
      expect(await w.coordinator.read.redundancyCount([intervalKey(id, 1)])).to.equal(0);
      // the node: slashed by the fraction and jailed; the disputer: the finder's fee
      const cut = ceilDiv(pool.tokens * params.slashFraction, WAD);
      expect((await w.staking.read.getPool([A.address])).tokens).to.equal(pool.tokens - cut);
      expect((await w.token.read.balanceOf([w.outsider.address])) - fees).to.equal((cut * 1000n) / BPS);
      expect(await w.staking.read.isActive([A.address])).to.equal(false);
      const logs = parseEventLogs({
        abi: verifier.abi,
        logs: (await w.receipt(tx)).logs,
        eventName: "OutputDisputed",
      });
      expect(logs.map((l) => [l.args.node, l.args.disputer])).to.deep.equal([
        [A.address, w.outsider.address],
      ]);

      // another node serves the freed slot with the correct output; it cannot be disputed and is paid after the window
      await C.coordinator.write.deliverCompute([id, 1, input, correct, "0x", C.nodeWallet.address]);
      const o = await attempt(
        disputer.write.dispute([id, 1, C.address, containerIdOf(MODEL), input, correct, model.checkpoint]),
        verifier.abi,
      );
      expect(o.ok ? "ok" : [o.error, o.args]).to.deep.equal([
        "OutputCorrect",
        [keccak256(correct), keccak256(correct)],
      ]);
      const [, deadline] = await verifier.read.verificationOf([id, 1, C.address]);
      await w.conn.networkHelpers.time.increaseTo(deadline);
      const paidBefore = await eth(C.nodeWallet.address);
      await disputer.write.finalize([id, 1, C.address]);
      expect((await eth(C.nodeWallet.address)) - paidBefore).to.equal(PRICE - VFEE);
      // the consumer received both deliveries
      expect(await w.consumer.read.received()).to.equal(2n);
      expect(await w.consumer.read.lastNode()).to.equal(C.address);
    });

    it("refuses, inside deliverCompute, an input that is not the consumer's", async () => {
      const { w, A, id, verifier } = await loadMarketplace();
      const other = encodeInferenceInput(new Int8Array(8).fill(9));
      const o = await attempt(
        A.coordinator.write.deliverCompute([id, 1, other, "0x0000000000000000", "0x", A.nodeWallet.address]),
        [...verifier.abi, ...w.coordinator.abi],
      );
      expect(o.ok ? "ok" : [o.error, o.args]).to.deep.equal([
        "InputMismatch",
        [id, keccak256(input), keccak256(other)],
      ]);
    });
  });
});
