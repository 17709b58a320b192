/**
 * Who serves a trainer's checkpoint endpoint: the trainer daemon asks `{endpoint}/status` before
 * it publishes its own endpoint in Staking and at every tick after, so that two daemons of one key
 * never take the endpoint from each other, and a daemon never publishes a URL that does not reach
 * it.
 */
import { getAddress, isAddress, type Address } from "viem";
import { fetchBody } from "../daemon/body.js";
import { endpointUrl } from "../daemon/protocol.js";

/** A live trainer daemon, as its `/status` names itself. */
export interface EndpointHolder {
  address: Address;
  /** The daemon process's random id (`TrainerStatus.instanceId`). */
  instanceId: string;
}

/** Budget of one `/status` probe. */
export const ENDPOINT_PROBE_MS = 3_000;
/** Largest `/status` answer read. */
const MAX_STATUS_BYTES = 256 * 1024;

/**
 * The trainer daemon that answers at `endpoint` (its `/status` within `ENDPOINT_PROBE_MS`), or
 * `undefined` when nothing answers there as a trainer daemon (not a URL, refused, a timeout, an
 * error status, or not a trainer's status).
 */
export async function whoServes(endpoint: string, signal?: AbortSignal): Promise<EndpointHolder | undefined> {
  let url: string;
  try {
    url = endpointUrl(endpoint, "/status");
  } catch {
    return undefined;
  }
  try {
    const { response, body } = await fetchBody(url, {
      deadlineMs: ENDPOINT_PROBE_MS,
      maxBytes: MAX_STATUS_BYTES,
      ...(signal && { signal }),
      init: { headers: { accept: "application/json" } },
    });
    if (response.status !== 200) return undefined;
    const status = JSON.parse(Buffer.from(body).toString("utf8")) as Record<string, unknown>;
    const address = status.address;
    const instanceId = status.instanceId;
    if (typeof address !== "string" || !isAddress(address) || typeof instanceId !== "string")
      return undefined;
    return { address: getAddress(address), instanceId };
  } catch {
    if (signal?.aborted) throw signal.reason;
    return undefined;
  }
}
