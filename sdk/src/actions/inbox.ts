/**
 * The Inbox of lazy subscriptions: deliveries of a `lazy` subscription are stored there (by
 * container, node and index) and the consumer receives only a pointer.
 */
import { readContract } from "viem/actions";
import type { Address, ContractFunctionReturnType, Hex } from "viem";
import { inboxAbi } from "../abi/index.js";
import type { PoAIContext } from "../context.js";
import { PoAIInputError } from "../errors.js";
import { withDecodedErrors as read } from "../transaction.js";
import { checkAddress, checkUint } from "../validate.js";

/** One stored delivery: timestamp, subscription, interval, input, output, proof. */
export type InboxItemView = ContractFunctionReturnType<typeof inboxAbi, "view", "read">;

/** The Inbox address of the deployment, or a `PoAIInputError` naming the missing field. */
export function inboxAddress(ctx: PoAIContext): Address {
  const address = ctx.deployment.contracts.inbox;
  if (address === undefined) {
    throw new PoAIInputError(
      "deployment.contracts.inbox",
      undefined,
      "the Inbox address (inference contracts)",
    );
  }
  return address;
}

/** Item `index` that `node` stored for container `containerId` (the keccak256 of its id string). */
export async function getInboxItem(
  ctx: PoAIContext,
  args: { containerId: Hex; node: Address; index: bigint | number },
): Promise<InboxItemView> {
  if (typeof args.containerId !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(args.containerId)) {
    throw new PoAIInputError(
      "containerId",
      args.containerId,
      "32 bytes as hex (keccak256 of the container id string)",
    );
  }
  const node = checkAddress("node", args.node);
  const index = checkUint("index", args.index);
  const address = inboxAddress(ctx);
  return read(address, "read", () =>
    readContract(ctx.publicClient, {
      address,
      abi: inboxAbi,
      functionName: "read",
      args: [args.containerId, node, index],
    }),
  );
}
