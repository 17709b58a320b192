/**
 * POAI token actions: balances, allowances, transfers, approvals and EIP-2612 permits.
 */
import { encodeFunctionData, parseSignature, type Address, type Hash, type Hex } from "viem";
import { getBlock, readContract, signTypedData } from "viem/actions";
import { poaiTokenAbi } from "../abi/index.js";
import { requireSigner, senderAddress, type PoAIContext, type WriteOptions } from "../context.js";
import { PoAIInputError } from "../errors.js";
import { sendContractTransaction, withDecodedErrors as read } from "../transaction.js";
import { checkAddress, checkAmount, checkUint } from "../validate.js";

/** Default lifetime of a permit signed by `signPermit`: one hour of chain time. */
export const DEFAULT_PERMIT_TTL = 3600n;

/** Token balance of `owner`, in wei. */
export async function getTokenBalance(ctx: PoAIContext, args: { owner: Address }): Promise<bigint> {
  const owner = checkAddress("owner", args.owner);
  const address = ctx.deployment.contracts.token;
  return read(ctx.deployment.contracts.token, "balanceOf", () =>
    readContract(ctx.publicClient, { address, abi: poaiTokenAbi, functionName: "balanceOf", args: [owner] }),
  );
}

/** What `spender` (default: the staking contract) may pull from `owner`, in wei. */
export async function getTokenAllowance(
  ctx: PoAIContext,
  args: { owner: Address; spender?: Address },
): Promise<bigint> {
  const owner = checkAddress("owner", args.owner);
  const spender = checkAddress("spender", args.spender ?? ctx.deployment.contracts.staking);
  const address = ctx.deployment.contracts.token;
  return read(ctx.deployment.contracts.token, "allowance", () =>
    readContract(ctx.publicClient, {
      address,
      abi: poaiTokenAbi,
      functionName: "allowance",
      args: [owner, spender],
    }),
  );
}

/**
 * Sends `amount` tokens (wei) from the sender to `to`. The balance is checked first, so a transfer
 * above it is refused with a `PoAIInputError` naming `amount` before anything is signed. Returns
 * the transaction hash.
 *
 * ```ts
 * await poai.waitForTransaction(await poai.token.transfer({ to: operator, amount: parsePoai("1000") }));
 * ```
 */
export async function transfer(
  ctx: PoAIContext,
  args: { to: Address; amount: bigint } & WriteOptions,
): Promise<Hash> {
  const to = checkAddress("to", args.to);
  const amount = checkAmount("amount", args.amount);
  const { account } = requireSigner(ctx, "transfer", args.account);
  const from = senderAddress(account);
  const balance = await getTokenBalance(ctx, { owner: from });
  if (balance < amount)
    throw new PoAIInputError("amount", amount, `at most the sender's balance ${balance} (${from})`);
  return sendContractTransaction(ctx, {
    to: ctx.deployment.contracts.token,
    data: encodeFunctionData({ abi: poaiTokenAbi, functionName: "transfer", args: [to, amount] }),
    functionName: "transfer",
    account: args.account,
  });
}

/**
 * Lets `spender` (default: the staking contract) pull up to `amount` tokens from the sender.
 * Returns the transaction hash.
 */
export async function approve(
  ctx: PoAIContext,
  args: { amount: bigint; spender?: Address } & WriteOptions,
): Promise<Hash> {
  const amount = checkAmount("amount", args.amount);
  const spender = checkAddress("spender", args.spender ?? ctx.deployment.contracts.staking);
  return sendContractTransaction(ctx, {
    to: ctx.deployment.contracts.token,
    data: encodeFunctionData({ abi: poaiTokenAbi, functionName: "approve", args: [spender, amount] }),
    functionName: "approve",
    account: args.account,
    authorizes: [spender],
  });
}

/** An EIP-2612 permit signature, split the way `permit` / `delegateWithPermit` take it. */
export interface PermitSignature {
  owner: Address;
  spender: Address;
  value: bigint;
  nonce: bigint;
  deadline: bigint;
  v: number;
  r: Hex;
  s: Hex;
}

/**
 * Signs an EIP-2612 permit with the wallet client (`signTypedData`): `spender` (default: the
 * staking contract) may pull `value` tokens until `deadline` (default: one hour of chain time
 * from the latest block). The domain is read from the token (ERC-5267 `eip712Domain`).
 */
export async function signPermit(
  ctx: PoAIContext,
  args: { value: bigint; spender?: Address; deadline?: bigint } & WriteOptions,
): Promise<PermitSignature> {
  const value = checkAmount("value", args.value);
  const spender = checkAddress("spender", args.spender ?? ctx.deployment.contracts.staking);
  const { wallet, account } = requireSigner(ctx, "a permit", args.account);
  const owner = senderAddress(account);
  const token = ctx.deployment.contracts.token;
  const requested = args.deadline !== undefined ? checkUint("deadline", args.deadline, 1n) : undefined;
  const [domain, nonce, latest] = await Promise.all([
    read(ctx.deployment.contracts.token, "eip712Domain", () =>
      readContract(ctx.publicClient, { address: token, abi: poaiTokenAbi, functionName: "eip712Domain" }),
    ),
    read(ctx.deployment.contracts.token, "nonces", () =>
      readContract(ctx.publicClient, {
        address: token,
        abi: poaiTokenAbi,
        functionName: "nonces",
        args: [owner],
      }),
    ),
    getBlock(ctx.publicClient),
  ]);
  // The staking contract skips a permit that fails, so an expired one would surface only as a
  // missing allowance: refuse it here.
  if (requested !== undefined && requested <= latest.timestamp) {
    throw new PoAIInputError(
      "deadline",
      args.deadline,
      `a timestamp after the latest block's (${latest.timestamp})`,
    );
  }
  const deadline = requested ?? latest.timestamp + DEFAULT_PERMIT_TTL;
  const [, name, version, chainId, verifyingContract] = domain;
  if (Number(chainId) !== ctx.deployment.chainId) {
    throw new PoAIInputError("deployment.chainId", ctx.deployment.chainId, `the token's chain id ${chainId}`);
  }
  const signature = await signTypedData(wallet, {
    account,
    domain: { name, version, chainId, verifyingContract },
    types: {
      Permit: [
        { name: "owner", type: "address" },
        { name: "spender", type: "address" },
        { name: "value", type: "uint256" },
        { name: "nonce", type: "uint256" },
        { name: "deadline", type: "uint256" },
      ],
    },
    primaryType: "Permit",
    message: { owner, spender, value, nonce, deadline },
  });
  const { r, s, v, yParity } = parseSignature(signature);
  return { owner, spender, value, nonce, deadline, r, s, v: v !== undefined ? Number(v) : yParity + 27 };
}
