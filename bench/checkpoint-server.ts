/**
 * A trainer's checkpoint server as its own OS process, for the verification benchmark: a validator
 * audits a trainer on another machine, so the serving (reading, proving, sending checkpoints) must
 * not run on the validator's event loop or be counted in its audit time.
 *
 *   node --import tsx bench/checkpoint-server.ts <run.json> <run.bin>
 *
 * `run.json` holds `{ id, root, hashes, checkpointBytes }`, `run.bin` the checkpoints' encodings
 * back to back. Prints one JSON line `{ "url": ... }` once it listens; exits when its standard
 * input closes (the parent went away) or on SIGTERM.
 */
import { readFile } from "node:fs/promises";
import type { Hex } from "viem";
import { commitCheckpoints } from "../sdk/src/compute/index.js";
import { checkpointRoutes, serve, type CheckpointSource } from "../node/src/daemon/index.js";

interface RunFile {
  id: Hex;
  root: Hex;
  hashes: Hex[];
  checkpointBytes: number;
}

const [jsonPath, binPath] = process.argv.slice(2);
if (!jsonPath || !binPath) {
  console.error("usage: checkpoint-server.ts <run.json> <run.bin>");
  process.exit(2);
}
const run = JSON.parse(await readFile(jsonPath, "utf8")) as RunFile;
const bin = await readFile(binPath);
if (bin.length !== run.hashes.length * run.checkpointBytes) {
  throw new Error(`run.bin must be ${run.hashes.length * run.checkpointBytes} bytes, got ${bin.length}`);
}
const checkpointBytes = (index: number) =>
  new Uint8Array(bin.buffer, bin.byteOffset + index * run.checkpointBytes, run.checkpointBytes);
const tree = commitCheckpoints(run.hashes.map((_, i) => checkpointBytes(i)));
if (tree.root !== run.root) throw new Error(`run.json root ${run.root} is not the hashes' root ${tree.root}`);

const source: CheckpointSource = {
  run(id) {
    return id === run.id.toLowerCase()
      ? { id, round: "1", specId: id, root: run.root, checkpoints: run.hashes.length }
      : undefined;
  },
  checkpoint(id, index) {
    if (id !== run.id.toLowerCase() || index >= run.hashes.length) return undefined;
    const bytes = new Uint8Array(
      bin.buffer,
      bin.byteOffset + index * run.checkpointBytes,
      run.checkpointBytes,
    );
    const next =
      index + 1 < run.hashes.length
        ? {
            hash: run.hashes[index + 1],
            parameterRoot: tree.parameterRoots[index + 1],
            proof: tree.proof(index + 1),
          }
        : undefined;
    return {
      bytes,
      hash: run.hashes[index],
      parameterRoot: tree.parameterRoots[index],
      proof: tree.proof(index),
      ...(next && { next }),
    };
  },
};
const server = await serve(checkpointRoutes(source));
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);

const stop = () => void server.close().then(() => process.exit(0));
process.on("SIGTERM", stop);
process.stdin.on("end", stop);
process.stdin.resume();
