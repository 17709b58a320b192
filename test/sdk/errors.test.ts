import { expect } from "chai";
import {
  BaseError,
  encodeAbiParameters,
  encodeErrorResult,
  parseEther,
  toFunctionSelector,
  type AbiParameter,
  type Hex,
} from "viem";
import {
  PoAIContractError,
  decodeRevertData,
  isPoAIContractError,
  poaiErrorsAbi,
  toPoAIError,
} from "../../sdk/src/index.js";

/** A sample value of an ABI type, for encoding every declared error. */
function sample(p: AbiParameter): unknown {
  if (p.type === "address") return "0x00000000000000000000000000000000000000A1";
  if (p.type === "string") return "endpoint";
  if (p.type === "bool") return true;
  if (p.type.startsWith("uint") || p.type.startsWith("int")) return 7n;
  const bytes = /^bytes(\d+)$/.exec(p.type);
  if (bytes) return `0x${"ab".repeat(Number(bytes[1]))}`;
  if (p.type === "bytes") return "0xabcd";
  throw new Error(`no sample for ${p.type}`);
}

describe("@poai/sdk error decoding", () => {
  it("writes a readable sentence with both amounts for StakeBelowMinimum", () => {
    const data = encodeErrorResult({
      abi: poaiErrorsAbi,
      errorName: "StakeBelowMinimum",
      args: [parseEther("10"), parseEther("1000")],
    });
    const err = decodeRevertData(data, { functionName: "register" });
    expect(err.errorName).to.equal("StakeBelowMinimum");
    expect(err.args).to.deep.equal([parseEther("10"), parseEther("1000")]);
    expect(err.message).to.equal("StakeBelowMinimum: stake 10 POAI is below the minimum 1000 POAI");
    expect(err.data).to.equal(data);
    expect(err.functionName).to.equal("register");
  });

  it("decodes every declared error into a message that names it and shows no placeholder", () => {
    for (const item of poaiErrorsAbi) {
      const args = item.inputs.map((p) => sample(p as AbiParameter));
      const selector = toFunctionSelector(`${item.name}(${item.inputs.map((p) => p.type).join(",")})`);
      const data = (selector + encodeAbiParameters(item.inputs, args as never).slice(2)) as Hex;
      const err = decodeRevertData(data);
      expect(err.errorName, item.name).to.equal(item.name);
      expect(err.message.startsWith(`${item.name}: `), err.message).to.equal(true);
      expect(err.message, err.message).not.to.match(/undefined|NaN|\[object/);
    }
  });

  // Catches a sentence chosen by the error's name alone: a dispute game's
  // DeadlinePassed(id, deadline) read as the ChallengeManager's DeadlinePassed(deadline, now)
  // ("the result was due by 1970-01-01T00:00:01"), a federated job's AlreadyCommitted(jobId, round,
  // account) as a beacon commitment.
  it("words an error declared with other inputs by another contract by its own inputs, never another contract's sentence", () => {
    const encode = (name: string, inputs: string, args: readonly unknown[]) => {
      const item = poaiErrorsAbi.find(
        (e) => e.name === name && e.inputs.map((i) => i.name).join(",") === inputs,
      )!;
      const selector = toFunctionSelector(`${item.name}(${item.inputs.map((p) => p.type).join(",")})`);
      return (selector + encodeAbiParameters(item.inputs, args as never).slice(2)) as Hex;
    };
    const deadline = 1_796_000_000n;
    const game = decodeRevertData(encode("DeadlinePassed", "id,deadline", [3n, deadline]));
    expect(game.message).to.equal(
      `DeadlinePassed: game 3: the move was due by ${new Date(Number(deadline) * 1000).toISOString()}; the other party may claim the timeout`,
    );
    const manager = decodeRevertData(encode("DeadlinePassed", "deadline,nowTime", [deadline, deadline + 5n]));
    expect(manager.message).to.match(/^DeadlinePassed: the result was due by .*, 5 s late$/);
    const account = "0x00000000000000000000000000000000000000A1";
    const federated = decodeRevertData(encode("AlreadyCommitted", "jobId,round,account", [4n, 2n, account]));
    expect(federated.message).to.equal(
      `AlreadyCommitted: AlreadyCommitted(jobId 4, round 2, account ${account})`,
    );
  });

  it("falls back to the name and the arguments for an error without a template", () => {
    const id = `0x${"11".repeat(32)}` as Hex;
    const data = encodeErrorResult({
      abi: poaiErrorsAbi,
      errorName: "AccessManagerNotScheduled",
      args: [id],
    });
    expect(decodeRevertData(data).message).to.equal(
      `AccessManagerNotScheduled: AccessManagerNotScheduled(${id})`,
    );
  });

  it("decodes require messages and panics", () => {
    const reason = encodeErrorResult({
      abi: [{ type: "error", name: "Error", inputs: [{ name: "message", type: "string" }] }],
      errorName: "Error",
      args: ["not allowed"],
    });
    const revert = decodeRevertData(reason);
    expect(revert.errorName).to.equal("Error");
    expect(revert.message).to.equal("Error: not allowed");
    const panic = encodeErrorResult({
      abi: [{ type: "error", name: "Panic", inputs: [{ name: "code", type: "uint256" }] }],
      errorName: "Panic",
      args: [0x11n],
    });
    expect(decodeRevertData(panic).message).to.equal("Panic: panic 0x11 (arithmetic overflow or underflow)");
  });

  it("keeps unknown revert data instead of guessing", () => {
    const err = decodeRevertData("0xdeadbeef00");
    expect(err.errorName).to.equal("Unknown");
    expect(err.data).to.equal("0xdeadbeef00");
    expect(err.message).to.contain("0xdeadbeef00");
  });

  it("finds revert data deep in a cause chain and leaves other errors alone", () => {
    const data = encodeErrorResult({ abi: poaiErrorsAbi, errorName: "ZeroAmount" });
    const rpc = Object.assign(new Error("execution reverted"), { data });
    const wrapped = new BaseError("call failed", { cause: new BaseError("inner", { cause: rpc }) });
    const decoded = toPoAIError(wrapped, { contractAddress: "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0" });
    expect(isPoAIContractError(decoded, "ZeroAmount")).to.equal(true);
    expect((decoded as PoAIContractError).cause).to.equal(wrapped);
    expect((decoded as PoAIContractError).contractAddress).to.equal(
      "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0",
    );

    const network = new Error("fetch failed");
    expect(toPoAIError(network)).to.equal(network);
    const revertWithoutData = new Error("execution reverted");
    expect((toPoAIError(revertWithoutData) as PoAIContractError).errorName).to.equal("Unknown");
  });
});
