/**
 * Every body the daemons read from another party ends at its deadline, even when a garbage
 * collection runs while a hostile server drips the body one byte at a time.
 *
 * The naive read this catches: `fetch(url, { signal: AbortSignal.timeout(ms) })` (or
 * `AbortSignal.any([callerSignal, timeout])`), then `reader.read()` in a loop. Node's fetch links
 * the request to its signal through a weak reference: after a collection the abort no longer
 * reaches the read, and a server that sent its headers and then drips keeps the reader (and the
 * validator daemon awaiting it) forever. Each case below hangs on that code and is stopped by the
 * watchdog, which fails the test; with `startDeadline` / `readBody` each ends with a timeout.
 */
import { expect } from "chai";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { keccak256 } from "viem";
import {
  BodyReadError,
  CHECKPOINT_HASH_HEADER,
  MERKLE_PROOF_HEADER,
  fetchBody,
  fetchCheckpoint,
  fetchWithDeadline,
  readBody,
  startDeadline,
} from "../../node/src/daemon/index.js";
import { ContainerError, HttpContainer, PoAIModelContainer } from "../../node/src/node/index.js";
import { DAEMON_SPEC } from "../fixtures/daemons.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const DEADLINE_MS = 300;
/** Far beyond the deadline: a read still pending then is hung, not slow. */
const WATCHDOG_MS = 10_000;

interface Drip {
  url: string;
  /** Requests whose connection closed (the reader let go of the socket). */
  closed: number;
  server: Server;
}

/** A server that answers 200 with its headers at once, then one byte every 25 ms, forever. */
async function dripServer(headers: Record<string, string> = {}): Promise<Drip> {
  const drip: Drip = { url: "", closed: 0, server: undefined as unknown as Server };
  drip.server = createServer((_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, { "content-type": "application/octet-stream", ...headers });
    res.flushHeaders();
    const timer = setInterval(() => res.write(Buffer.from("{")), 25);
    res.on("close", () => {
      clearInterval(timer);
      drip.closed++;
    });
  });
  await new Promise<void>((resolve) => drip.server.listen(0, "127.0.0.1", resolve));
  drip.url = `http://127.0.0.1:${(drip.server.address() as AddressInfo).port}`;
  return drip;
}

/** A server that accepts the connection and never answers. */
async function silentServer(): Promise<Drip> {
  const drip: Drip = { url: "", closed: 0, server: undefined as unknown as Server };
  drip.server = createServer((_req, res) => res.on("close", () => drip.closed++));
  await new Promise<void>((resolve) => drip.server.listen(0, "127.0.0.1", resolve));
  drip.url = `http://127.0.0.1:${(drip.server.address() as AddressInfo).port}`;
  return drip;
}

/**
 * Runs `read` while forcing a garbage collection every 20 ms; resolves to what it threw. A read
 * still pending after the watchdog fails the test (it is hung: the naive code).
 */
async function underGc(read: () => Promise<unknown>): Promise<unknown> {
  const collector = setInterval(gc, 20);
  let watchdog: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      read().then(
        () => new Error("the read finished: a dripping body never ends"),
        (err: unknown) => err,
      ),
      new Promise<never>((_resolve, reject) => {
        watchdog = setTimeout(
          () =>
            reject(
              new Error(
                `still reading ${WATCHDOG_MS} ms after a ${DEADLINE_MS} ms deadline: the deadline no longer reaches the read`,
              ),
            ),
          WATCHDOG_MS,
        );
      }),
    ]);
  } finally {
    clearInterval(collector);
    clearTimeout(watchdog);
  }
}

async function closedEventually(drip: Drip, count = 1): Promise<void> {
  for (let i = 0; i < 200 && drip.closed < count; i++) await new Promise((r) => setTimeout(r, 10));
  expect(drip.closed, "the connection is released once the deadline fires").to.be.at.least(count);
}

describe("bounded body reads under garbage collection", function () {
  this.timeout(60_000);
  const servers: Drip[] = [];
  const serve = async (make: () => Promise<Drip>) => {
    const s = await make();
    servers.push(s);
    return s;
  };
  after(async () => {
    for (const s of servers) {
      s.server.closeAllConnections();
      await new Promise((r) => s.server.close(r));
    }
  });

  it("readBody ends a dripping body at its deadline and releases the connection", async () => {
    const drip = await serve(() => dripServer());
    const err = await underGc(async () => {
      const deadline = startDeadline(DEADLINE_MS, { what: drip.url });
      try {
        const response = await fetchWithDeadline(drip.url, {}, deadline);
        return await readBody(response, { deadline, maxBytes: 1 << 20 });
      } finally {
        deadline.clear();
      }
    });
    expect(err).to.be.instanceOf(BodyReadError);
    expect((err as BodyReadError).kind).to.equal("timeout");
    await closedEventually(drip);
  });

  it("fetchBody (dataset chunks, model files, status pages) ends a dripping body and a silent server", async () => {
    const drip = await serve(() => dripServer());
    let err = await underGc(() => fetchBody(drip.url, { deadlineMs: DEADLINE_MS, maxBytes: 1 << 20 }));
    expect((err as BodyReadError).kind).to.equal("timeout");
    const silent = await serve(silentServer);
    err = await underGc(() => fetchBody(silent.url, { deadlineMs: DEADLINE_MS, maxBytes: 1 << 20 }));
    expect((err as BodyReadError).kind).to.equal("timeout");
  });

  it("readBody caps a dripping body at maxBytes before its deadline", async () => {
    const drip = await serve(() => dripServer());
    const err = await underGc(() => fetchBody(drip.url, { deadlineMs: 10_000, maxBytes: 4 }));
    expect((err as BodyReadError).kind).to.equal("oversized");
    await closedEventually(drip);
  });

  it("ends a validator's checkpoint fetch from a dripping checkpoint server: timeout, not a hang", async () => {
    const drip = await serve(() =>
      dripServer({ [CHECKPOINT_HASH_HEADER]: keccak256("0x01"), [MERKLE_PROOF_HEADER]: "" }),
    );
    const err = await underGc(() =>
      fetchCheckpoint({
        endpoint: drip.url,
        id: keccak256("0x02"),
        index: 0,
        spec: { ...DAEMON_SPEC, widths: [256, 256, 10] }, // a checkpoint of ~135 KB: the drip never fills it
        root: keccak256("0x03"),
        timeoutMs: DEADLINE_MS,
        signal: new AbortController().signal, // the daemon's signal, combined with the deadline
      }),
    );
    expect(err).to.have.property("name", "CheckpointFetchError");
    expect(err).to.have.property("kind", "timeout");
    await closedEventually(drip);
  });

  it("ends an Infernet container's dripping answer: timeout, not a hang", async () => {
    const drip = await serve(() => dripServer({ "content-type": "application/json" }));
    const container = new HttpContainer({ id: "drip", url: drip.url, timeoutMs: DEADLINE_MS });
    const err = await underGc(() =>
      container.run({
        containerId: "drip",
        subscriptionId: 1,
        interval: 1,
        input: "0x01",
        requiresProof: false,
        signal: new AbortController().signal,
      }),
    );
    expect(err).to.be.instanceOf(ContainerError);
    expect((err as ContainerError).kind).to.equal("timeout");
    await closedEventually(drip);
  });

  it("ends a model checkpoint download that drips: timeout, not a hang", async () => {
    const drip = await serve(() => dripServer());
    const err = await underGc(() =>
      PoAIModelContainer.load({
        id: "drip",
        widths: [256, 256, 10],
        checkpoint: { url: drip.url, timeoutMs: DEADLINE_MS },
        weightsHash: keccak256("0x04"),
      }),
    );
    expect(err).to.be.instanceOf(ContainerError);
    expect((err as ContainerError).kind).to.equal("timeout");
    await closedEventually(drip);
  });
});
