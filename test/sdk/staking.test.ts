import { expect } from "chai";
import { createPublicClient, custom, encodeFunctionData, parseEther, type EIP1193RequestFn } from "viem";
import { getTransactionCount } from "viem/actions";
import { DEFAULT_PARAMS } from "../../scripts/lib/deploy.js";
import {
  OPERATOR_STATUS,
  PoAIContractError,
  PoAIInputError,
  ROLE,
  createPoAIClient,
  isPoAIContractError,
  multicallAddressOf,
  sendContractTransaction,
  sharesForAmount,
  stakingAbi,
  type StakingEvent,
} from "../../sdk/src/index.js";
import { connect, mined, multicall3Bytecode, registerOperator, type Fixture } from "./fixture.js";

const DAY = 24 * 3600;

/** Resolves with the error a promise rejects with; fails the test if it fulfils. */
async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}

async function contractError(p: Promise<unknown>): Promise<PoAIContractError> {
  const err = await rejection(p);
  expect(err, err.message).to.be.instanceOf(PoAIContractError);
  return err as PoAIContractError;
}

describe("@poai/sdk staking actions", () => {
  let net: Awaited<ReturnType<typeof connect>>;
  let f: Fixture;

  before(async () => {
    net = await connect();
  });
  beforeEach(async () => {
    f = await net.load();
  });

  /** Moves to the next epoch, so that stake delegated now becomes eligible for rewards. */
  const nextEpoch = () => net.networkHelpers.time.increase(DAY);

  /** The deployer adds `amount` of rewards to `operator`'s pool for the current epoch (anyone may). */
  async function notifyReward(operator: `0x${string}`, amount: bigint) {
    const admin = f.client(0);
    await mined(admin, admin.token.approve({ amount }));
    await f.d.staking.write.notifyReward([operator, amount]);
  }

  describe("operators", () => {
    it("registers an operator and reads it back through the lens", async () => {
      const op = await registerOperator(f, 1, {
        stake: parseEther("2500"),
        commissionBps: 700,
        maxCommissionBps: 1500,
      });
      const view = await f.client(5).staking.getOperator({ operator: op });
      expect(view.operator).to.equal(op);
      expect(view.role).to.equal("trainer");
      expect(view.roleId).to.equal(ROLE.Trainer);
      expect(view.status).to.equal(OPERATOR_STATUS.Active);
      expect(view.active).to.equal(true);
      expect(view.commissionBps).to.equal(700);
      expect(view.maxCommissionBps).to.equal(1500);
      expect(view.selfStake).to.equal(parseEther("2500"));
      expect(view.totalStake).to.equal(parseEther("2500"));
      expect(view.endpoint).to.equal("https://node1.example");
      expect(view.gpuClass).to.equal("H100");
      expect(await f.client(5).staking.isActive({ operator: op })).to.equal(true);
      expect(await f.client(5).staking.getOperatorCount()).to.equal(1n);
      const events = await f
        .client(5)
        .staking.getEvents({ eventName: "OperatorRegistered", args: { operator: op } });
      expect(events).to.have.length(1);
      expect(events[0]!.args.selfStake).to.equal(parseEther("2500"));
      expect(events[0]!.args.role).to.equal(ROLE.Trainer);
    });

    it("rejects a stake below the minimum with a decoded StakeBelowMinimum error, before sending", async () => {
      const c = f.client(1);
      await mined(c, c.token.approve({ amount: parseEther("10") }));
      const nonce = await getTransactionCount(f.publicClient, { address: f.address(1) });
      const err = await contractError(
        c.staking.register({
          role: "trainer",
          stake: parseEther("10"),
          commissionBps: 0,
          maxCommissionBps: 0,
          endpoint: "",
          gpuClass: "",
        }),
      );
      expect(err.errorName).to.equal("StakeBelowMinimum");
      expect(err.args).to.deep.equal([parseEther("10"), parseEther("1000")]);
      expect(err.message).to.equal("StakeBelowMinimum: stake 10 POAI is below the minimum 1000 POAI");
      expect(err.functionName).to.equal("register");
      expect(err.contractAddress).to.equal(f.deployment.contracts.staking);
      expect(isPoAIContractError(err, "StakeBelowMinimum")).to.equal(true);
      expect(isPoAIContractError(err, "ZeroAmount")).to.equal(false);
      expect(await getTransactionCount(f.publicClient, { address: f.address(1) })).to.equal(nonce);
    });

    it("decodes errors raised by the token underneath a staking call", async () => {
      const op = await registerOperator(f, 1);
      const err = await contractError(
        f.client(2).staking.delegate({ operator: op, amount: parseEther("5") }),
      );
      expect(err.errorName).to.equal("ERC20InsufficientAllowance");
      expect(err.args).to.deep.equal([f.deployment.contracts.staking, 0n, parseEther("5")]);
      expect(err.message).to.contain("0 POAI").and.to.contain("5 POAI");
    });

    it("decodes an access-control revert from a raw call", async () => {
      const op = await registerOperator(f, 1);
      const err = await contractError(
        sendContractTransaction(f.client(2), {
          to: f.deployment.contracts.staking,
          data: encodeFunctionData({
            abi: stakingAbi,
            functionName: "slash",
            args: [op, 1n, [], false, 0n],
          }),
          functionName: "slash",
        }),
      );
      expect(err.errorName).to.equal("AccessManagedUnauthorized");
      expect(err.args).to.deep.equal([f.address(2)]);
    });

    it("adds self-stake, updates metadata and deregisters into the unbonding queue", async () => {
      const op = await registerOperator(f, 1);
      const c = f.client(1);
      await mined(c, c.token.approve({ amount: parseEther("500") }));
      await mined(c, c.staking.addStake({ amount: parseEther("500") }));
      await mined(c, c.staking.updateMetadata({ endpoint: "https://moved.example", gpuClass: "H200" }));
      let view = await c.staking.getOperator({ operator: op });
      expect(view.selfStake).to.equal(parseEther("2500"));
      expect(view.endpoint).to.equal("https://moved.example");
      expect(view.gpuClass).to.equal("H200");

      await mined(c, c.staking.deregister());
      view = await c.staking.getOperator({ operator: op });
      expect(view.status).to.equal(OPERATOR_STATUS.Deregistered);
      expect(view.active).to.equal(false);
      const queue = await c.staking.getUnbonding({ owner: op });
      expect(queue).to.have.length(1);
      expect(queue[0]!.operator).to.equal(op);
      expect(queue[0]!.tokens).to.equal(parseEther("2500"));

      const d2 = f.client(2);
      await mined(d2, d2.token.approve({ amount: parseEther("1") }));
      const err = await contractError(d2.staking.delegate({ operator: op, amount: parseEther("1") }));
      expect(err.errorName).to.equal("OperatorDeregisteredError");
      expect(err.message).to.contain(op);
    });
  });

  describe("delegation", () => {
    it("delegates after an approval and values the position", async () => {
      const op = await registerOperator(f, 1);
      const c = f.client(2);
      await mined(c, c.token.approve({ amount: parseEther("3000") }));
      expect(await c.token.getAllowance({ owner: f.address(2) })).to.equal(parseEther("3000"));
      const receipt = await mined(c, c.staking.delegate({ operator: op, amount: parseEther("3000") }));
      const [event, ...rest] = c.staking.parseEvents({ logs: receipt.logs, eventName: "Delegated" });
      expect(rest).to.have.length(0);
      expect(event!.args).to.deep.equal({
        owner: f.address(2),
        operator: op,
        amount: parseEther("3000"),
        shares: parseEther("3000"),
      });

      const position = await c.staking.getPosition({ owner: f.address(2), operator: op });
      expect(position.shares).to.equal(parseEther("3000"));
      expect(position.tokens).to.equal(parseEther("3000"));
      expect(position.claimable).to.equal(0n);
      const pool = await c.staking.getPool({ operator: op });
      expect(pool.tokens).to.equal(parseEther("5000"));
      expect(pool.shares).to.equal(parseEther("5000"));
      expect(pool.sharePrice).to.equal(parseEther("1"));
    });

    it("delegates with an EIP-2612 permit in one transaction and no approval", async () => {
      const op = await registerOperator(f, 1);
      const c = f.client(3);
      const owner = f.address(3);
      expect(await c.token.getAllowance({ owner })).to.equal(0n);
      const nonce = await getTransactionCount(f.publicClient, { address: owner });
      const balance = await c.token.getBalance({ owner });
      await mined(c, c.staking.delegateWithPermit({ operator: op, amount: parseEther("1234") }));
      expect(await getTransactionCount(f.publicClient, { address: owner })).to.equal(nonce + 1);
      expect(await c.token.getBalance({ owner })).to.equal(balance - parseEther("1234"));
      expect(await c.token.getAllowance({ owner })).to.equal(0n);
      expect(await f.d.token.read.nonces([owner])).to.equal(1n);
      const position = await c.staking.getPosition({ owner, operator: op });
      expect(position.tokens).to.equal(parseEther("1234"));
    });

    it("refuses a permit whose deadline has passed before signing it", async () => {
      const op = await registerOperator(f, 1);
      const err = await rejection(
        f.client(3).staking.delegateWithPermit({ operator: op, amount: parseEther("1"), deadline: 1n }),
      );
      expect(err).to.be.instanceOf(PoAIInputError);
      expect((err as PoAIInputError).field).to.equal("deadline");
      expect(err.message).to.contain("1n");
    });

    it("signs a permit that the token accepts", async () => {
      const c = f.client(3);
      const permit = await c.token.signPermit({ value: parseEther("42") });
      expect(permit.owner).to.equal(f.address(3));
      expect(permit.spender).to.equal(f.deployment.contracts.staking);
      expect(permit.nonce).to.equal(0n);
      await f.d.token.write.permit([
        permit.owner,
        permit.spender,
        permit.value,
        permit.deadline,
        permit.v,
        permit.r,
        permit.s,
      ]);
      expect(await c.token.getAllowance({ owner: f.address(3) })).to.equal(parseEther("42"));
    });

    it("undelegates a token amount by rounding shares up, and withdraws after the unbonding period", async () => {
      const op = await registerOperator(f, 1);
      const c = f.client(2);
      const owner = f.address(2);
      await mined(c, c.token.approve({ amount: parseEther("3000") }));
      await mined(c, c.staking.delegate({ operator: op, amount: parseEther("3000") }));
      // A 10% slash makes a share worth 0.9 token: 1000 tokens need 1111.1… shares, rounded up.
      await f.d.staking.write.slash([op, parseEther("0.1"), [], false]);
      const pool = await c.staking.getPool({ operator: op });
      expect(pool.tokens).to.equal(parseEther("4500"));
      const amount = parseEther("1000");
      const expectedShares = (amount * pool.shares + pool.tokens - 1n) / pool.tokens;
      expect(await c.staking.getSharesForAmount({ owner, operator: op, amount })).to.equal(expectedShares);

      const receipt = await mined(c, c.staking.undelegateAmount({ operator: op, amount }));
      const [undelegated] = c.staking.parseEvents({ logs: receipt.logs, eventName: "Undelegated" });
      expect(undelegated!.args.shares).to.equal(expectedShares);
      expect(undelegated!.args.amount >= amount).to.equal(true);
      expect(undelegated!.args.amount - amount < parseEther("0.000001")).to.equal(true);

      const [entry] = await c.staking.getUnbonding({ owner });
      expect(entry!.tokens).to.equal(undelegated!.args.amount);
      const early = await contractError(c.staking.withdraw());
      expect(early.errorName).to.equal("NothingToWithdraw");

      await net.networkHelpers.time.increaseTo(BigInt(entry!.maturity));
      const before = await c.token.getBalance({ owner });
      await mined(c, c.staking.withdraw());
      expect(await c.token.getBalance({ owner })).to.equal(before + entry!.tokens);
      expect(await c.staking.getUnbonding({ owner })).to.have.length(0);
    });

    it("clamps an undelegation by amount to the whole position", async () => {
      const op = await registerOperator(f, 1);
      const c = f.client(2);
      await mined(c, c.token.approve({ amount: parseEther("300") }));
      await mined(c, c.staking.delegate({ operator: op, amount: parseEther("300") }));
      expect(sharesForAmount(parseEther("301"), { tokens: 10n, shares: 10n }, { shares: 7n })).to.equal(7n);
      await mined(c, c.staking.undelegateAmount({ operator: op, amount: parseEther("1000000") }));
      const position = await c.staking.getPosition({ owner: f.address(2), operator: op });
      expect(position.shares).to.equal(0n);
      const [entry] = await c.staking.getUnbonding({ owner: f.address(2) });
      expect(entry!.tokens).to.equal(parseEther("300"));
    });

    it("cancels an unbonding entry back into the pool", async () => {
      const op = await registerOperator(f, 1);
      const c = f.client(2);
      const owner = f.address(2);
      await mined(c, c.token.approve({ amount: parseEther("800") }));
      await mined(c, c.staking.delegate({ operator: op, amount: parseEther("800") }));
      await mined(c, c.staking.undelegate({ operator: op, shares: parseEther("300") }));
      const [entry, ...more] = await c.staking.getUnbonding({ owner });
      expect(more).to.have.length(0);
      expect(entry!.shares).to.equal(parseEther("300"));
      expect((await c.staking.getPosition({ owner, operator: op })).tokens).to.equal(parseEther("500"));

      await mined(c, c.staking.cancelUnbonding({ index: entry!.index }));
      expect(await c.staking.getUnbonding({ owner })).to.have.length(0);
      expect((await c.staking.getPosition({ owner, operator: op })).tokens).to.equal(parseEther("800"));

      const err = await contractError(c.staking.cancelUnbonding({ index: entry!.index }));
      expect(err.errorName).to.equal("UnbondingEntryNotFound");
      expect(err.args).to.deep.equal([owner, entry!.index]);
    });

    it("reads several positions through Multicall3 when the deployment names one, and in parallel otherwise", async () => {
      const ops = [await registerOperator(f, 1), await registerOperator(f, 2), await registerOperator(f, 3)];
      const c = f.client(4);
      const owner = f.address(4);
      await mined(c, c.token.approve({ amount: parseEther("600") }));
      for (const [i, operator] of ops.entries()) {
        await mined(c, c.staking.delegate({ operator, amount: parseEther(String(100 * (i + 1))) }));
      }

      // Count the eth_calls a client makes.
      const methods: string[] = [];
      const request = (async (args) => {
        methods.push(args.method);
        return net.provider.request(args as Parameters<typeof net.provider.request>[0]);
      }) as EIP1193RequestFn;
      const publicClient = createPublicClient({
        chain: f.publicClient.chain,
        transport: custom({ request }),
      });

      // The reads of the action itself are counted: no address-book check in front of them.
      const plain = createPoAIClient({ publicClient, deployment: f.deployment, checkDeployment: false });
      expect(multicallAddressOf(plain)).to.equal(undefined);
      const parallel = await plain.staking.getPositions({ owner, operators: ops });
      expect(parallel.map((p) => p.tokens)).to.deep.equal([
        parseEther("100"),
        parseEther("200"),
        parseEther("300"),
      ]);
      expect(parallel.map((p) => p.operator)).to.deep.equal(ops);
      expect(methods.filter((m) => m === "eth_call")).to.have.length(3);

      const deployHash = await f.wallets[0]!.deployContract({ abi: [], bytecode: multicall3Bytecode() });
      const { contractAddress } = await f.publicClient.waitForTransactionReceipt({ hash: deployHash });
      const batched = createPoAIClient({
        publicClient,
        checkDeployment: false,
        deployment: {
          ...f.deployment,
          contracts: { ...f.deployment.contracts, multicall3: contractAddress! },
        },
      });
      methods.length = 0;
      const viaMulticall = await batched.staking.getPositions({ owner, operators: ops });
      expect(methods.filter((m) => m === "eth_call")).to.have.length(1);
      expect(viaMulticall).to.deep.equal(parallel);
    });
  });

  describe("rewards", () => {
    it("claims and compounds rewards added to a pool, once their epoch has ended", async () => {
      const op = await registerOperator(f, 1, { commissionBps: 1000 });
      const c = f.client(2);
      const owner = f.address(2);
      await mined(c, c.token.approve({ amount: parseEther("3000") }));
      await mined(c, c.staking.delegate({ operator: op, amount: parseEther("3000") }));
      await nextEpoch();
      await notifyReward(op, parseEther("100"));
      expect((await c.staking.getPosition({ owner, operator: op })).claimable, "the epoch runs").to.equal(0n);
      await nextEpoch();

      // 10 commission to the operator; 90 shared 2000 : 3000.
      expect((await c.staking.getPosition({ owner, operator: op })).claimable).to.equal(parseEther("54"));
      expect((await c.staking.getPosition({ owner: op, operator: op })).claimable).to.equal(parseEther("46"));

      const before = await c.token.getBalance({ owner });
      const receipt = await mined(c, c.staking.claim({ operator: op }));
      expect(await c.token.getBalance({ owner })).to.equal(before + parseEther("54"));
      const [claimed] = c.staking.parseEvents({ logs: receipt.logs, eventName: "RewardClaimed" });
      expect(claimed!.args.amount).to.equal(parseEther("54"));
      const again = await contractError(c.staking.claim({ operator: op }));
      expect(again.errorName).to.equal("NothingToClaim");
      expect(again.message).to.contain(owner).and.to.contain(op);

      const o = f.client(1);
      await mined(o, o.staking.compound({ operator: op }));
      const own = await o.staking.getPosition({ owner: op, operator: op });
      expect(own.claimable).to.equal(0n);
      expect(own.tokens).to.equal(parseEther("2046"));
    });

    it("claims from several pools in one transaction", async () => {
      const a = await registerOperator(f, 1, { commissionBps: 0, maxCommissionBps: 0 });
      const b = await registerOperator(f, 2, { role: "validator", commissionBps: 0, maxCommissionBps: 0 });
      const c = f.client(3);
      const owner = f.address(3);
      await mined(c, c.token.approve({ amount: parseEther("4000") }));
      await mined(c, c.staking.delegate({ operator: a, amount: parseEther("2000") }));
      await mined(c, c.staking.delegate({ operator: b, amount: parseEther("2000") }));
      await nextEpoch();
      await notifyReward(a, parseEther("10"));
      await notifyReward(b, parseEther("30"));
      await nextEpoch();
      const before = await c.token.getBalance({ owner });
      await mined(c, c.staking.claimMany({ operators: [a, b] }));
      expect(await c.token.getBalance({ owner })).to.equal(before + parseEther("5") + parseEther("15"));
    });

    it("watches rewards and delegations as they happen", async () => {
      const op = await registerOperator(f, 1);
      const c = f.client(2);
      const delegations: StakingEvent<"Delegated">[] = [];
      const rewards: StakingEvent<"RewardCredited">[] = [];
      const errors: Error[] = [];
      const stopDelegations = c.staking.watchDelegations({
        operator: op,
        pollingInterval: 20,
        onDelegation: (e) => delegations.push(e),
        onError: (e) => errors.push(e),
      });
      const stopRewards = c.staking.watchRewards({ pollingInterval: 20, onReward: (e) => rewards.push(e) });
      try {
        await new Promise((r) => setTimeout(r, 100));
        await mined(c, c.token.approve({ amount: parseEther("700") }));
        await mined(c, c.staking.delegate({ operator: op, amount: parseEther("700") }));
        await nextEpoch();
        await notifyReward(op, parseEther("20"));
        await nextEpoch();
        await mined(c, c.staking.claim({ operator: op })); // credits the pool: RewardCredited
        for (let i = 0; i < 250 && (delegations.length < 1 || rewards.length < 1); i++) {
          await new Promise((r) => setTimeout(r, 20));
        }
      } finally {
        stopDelegations();
        stopRewards();
      }
      expect(errors).to.deep.equal([]);
      expect(delegations).to.have.length(1);
      expect(delegations[0]!.args).to.deep.equal({
        owner: f.address(2),
        operator: op,
        amount: parseEther("700"),
        shares: parseEther("700"),
      });
      expect(rewards).to.have.length(1);
      expect(rewards[0]!.args.operator).to.equal(op);
      expect(rewards[0]!.args.amount).to.equal(parseEther("20"));
    });
    it("replays past events for a watcher given a starting block", async () => {
      const op = await registerOperator(f, 1);
      const c = f.client(2);
      const seen: StakingEvent<"OperatorRegistered">[] = [];
      const stop = c.staking.watchEvents({
        eventName: "OperatorRegistered",
        fromBlock: 0n,
        pollingInterval: 20,
        onEvents: (events) => seen.push(...events),
      });
      try {
        for (let i = 0; i < 250 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      } finally {
        stop();
      }
      expect(seen).to.have.length(1);
      expect(seen[0]!.eventName).to.equal("OperatorRegistered");
      expect(seen[0]!.args.operator).to.equal(op);
      expect(seen[0]!.args.endpoint).to.equal("https://node1.example");
    });
  });

  describe("commission, slashing and jail", () => {
    it("lowers the commission from the next epoch and raises it only after the delay", async () => {
      const op = await registerOperator(f, 1, { commissionBps: 1000, maxCommissionBps: 2000 });
      const c = f.client(1);
      await mined(c, c.staking.setCommission({ commissionBps: 600 }));
      expect((await c.staking.getOperator({ operator: op })).commissionBps).to.equal(1000);
      await nextEpoch();
      expect((await c.staking.getOperator({ operator: op })).commissionBps).to.equal(600);

      await mined(c, c.staking.setCommission({ commissionBps: 1100 }));
      let view = await c.staking.getOperator({ operator: op });
      expect(view.commissionBps).to.equal(600);
      expect(view.pendingCommissionBps).to.equal(1100);
      await net.networkHelpers.time.increaseTo(BigInt(view.commissionEffectiveAt));
      view = await c.staking.getOperator({ operator: op });
      expect(view.commissionBps).to.equal(1100);

      const tooFar = await contractError(c.staking.setCommission({ commissionBps: 1700 }));
      expect(tooFar.errorName).to.equal("CommissionChangeTooLarge");
      expect(tooFar.message).to.contain("11%").and.to.contain("17%").and.to.contain("5%");
      const aboveMax = await contractError(c.staking.setCommission({ commissionBps: 2100 }));
      expect(aboveMax.errorName).to.equal("CommissionAboveMax");
    });

    it("reports a slash to watchers and unjails only after the cool-down", async () => {
      const op = await registerOperator(f, 1);
      const c = f.client(1);
      const slashes: StakingEvent<"Slashed">[] = [];
      const stop = c.staking.watchSlashes({
        operator: op,
        pollingInterval: 20,
        onSlash: (e) => slashes.push(e),
      });
      try {
        await new Promise((r) => setTimeout(r, 100));
        await f.d.staking.write.slash([op, parseEther("0.1"), [f.address(6)], true]);
        for (let i = 0; i < 250 && slashes.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      } finally {
        stop();
      }
      expect(slashes).to.have.length(1);
      expect(slashes[0]!.args.activeAmount).to.equal(parseEther("200"));
      expect(slashes[0]!.args.finderFee).to.equal(parseEther("20"));

      const jailed = await c.staking.getOperator({ operator: op });
      expect(jailed.jailed).to.equal(true);
      expect(jailed.active).to.equal(false);
      const early = await contractError(c.staking.unjail());
      expect(early.errorName).to.equal("JailCooldownActive");
      expect(early.message)
        .to.contain(op)
        .and.to.contain(new Date(Number(jailed.jailedUntil) * 1000).toISOString());

      await net.networkHelpers.time.increaseTo(BigInt(jailed.jailedUntil));
      await mined(c, c.staking.unjail());
      const free = await c.staking.getOperator({ operator: op });
      expect(free.jailed).to.equal(false);
      expect(free.active).to.equal(true);
      expect(free.selfStake).to.equal(parseEther("1800"));
    });

    it("decodes a transaction that reverted on-chain from its receipt", async () => {
      const c = f.client(1);
      await net.provider.request({ method: "evm_setAutomine", params: [false] });
      try {
        // Bypasses the SDK's simulation: the wallet sends a call that will revert.
        const hash = await f.wallets[1]!.sendTransaction({
          to: f.deployment.contracts.staking,
          data: encodeFunctionData({ abi: stakingAbi, functionName: "unjail" }),
          gas: 300_000n,
        });
        await net.networkHelpers.mine();
        const err = await contractError(c.waitForTransaction(hash));
        expect(err.errorName).to.equal("NotRegistered");
        expect(err.args).to.deep.equal([f.address(1)]);
        expect(err.transactionHash).to.equal(hash);
      } finally {
        await net.provider.request({ method: "evm_setAutomine", params: [true] });
      }
    });
  });

  describe("views", () => {
    it("reads the parameters, the epoch and the stake history", async () => {
      const c = f.client(5);
      const params = await c.staking.getParams();
      expect(params.minTrainerStake).to.equal(DEFAULT_PARAMS.minTrainerStake);
      expect(params.minValidatorStake).to.equal(DEFAULT_PARAMS.minValidatorStake);
      expect(params.unbondingPeriod).to.equal(DEFAULT_PARAMS.unbondingPeriod);
      expect(params.maxSlashFraction).to.equal(DEFAULT_PARAMS.maxSlashFraction);

      const epoch0 = await c.staking.currentEpoch();
      const trainer = await registerOperator(f, 1, { stake: parseEther("3000") });
      const validator = await registerOperator(f, 2, { role: "validator", stake: parseEther("700") });
      await nextEpoch();
      const epoch1 = await c.staking.currentEpoch();
      expect(epoch1).to.equal(epoch0 + 1n);
      expect(await c.staking.epochStart({ epoch: epoch1 })).to.equal(
        (await c.staking.epochStart({ epoch: epoch0 })) + BigInt(DAY),
      );

      expect(await c.staking.stakeAt({ operator: trainer, epoch: epoch0 })).to.equal(0n);
      expect(await c.staking.stakeAt({ operator: trainer, epoch: epoch1 })).to.equal(parseEther("3000"));
      expect(await c.staking.roleStakeAt({ role: "trainer", epoch: epoch1 })).to.equal(parseEther("3000"));
      expect(await c.staking.roleStakeAt({ role: "validator", epoch: epoch1 })).to.equal(parseEther("700"));
      expect(await c.staking.roleStakeAt({ role: ROLE.Validator, epoch: epoch0 })).to.equal(0n);
      expect((await c.staking.getOperator({ operator: validator })).role).to.equal("validator");
    });

    it("pages through the operators in registration order", async () => {
      const ops = [
        await registerOperator(f, 1),
        await registerOperator(f, 2, { role: "validator" }),
        await registerOperator(f, 3),
      ];
      const c = f.client(5);
      const first = await c.staking.getOperators({ offset: 0, limit: 2 });
      expect(first.total).to.equal(3n);
      expect(first.operators.map((o) => o.operator)).to.deep.equal(ops.slice(0, 2));
      expect(first.nextOffset).to.equal(2n);
      const second = await c.staking.getOperators({ offset: first.nextOffset!, limit: 2 });
      expect(second.operators.map((o) => o.operator)).to.deep.equal(ops.slice(2));
      expect(second.nextOffset).to.equal(undefined);
      const beyond = await c.staking.getOperators({ offset: 10 });
      expect(beyond.operators).to.have.length(0);
      expect(beyond.nextOffset).to.equal(undefined);

      const all: string[] = [];
      for await (const o of c.staking.iterateOperators({ pageSize: 2 })) all.push(o.operator);
      expect(all).to.deep.equal(ops);
    });

    it("reads an unregistered address as an operator with no status", async () => {
      const view = await f.client(5).staking.getOperator({ operator: f.address(7) });
      expect(view.status).to.equal(OPERATOR_STATUS.None);
      expect(view.totalStake).to.equal(0n);
    });
  });
});
