/**
 * The operator guide's "Trying it locally" walkthrough, run as it is written: the shell block that
 * follows the `<!-- walkthrough: … -->` marker of docs/operator-guide.md is read and played step by
 * step against a real `hardhat node`, with the daemons as separate processes. Editing the guide
 * edits this test.
 *
 * What differs from a person at a terminal, and why:
 * - the chain is the test's own `hardhat node` on a free port (`POAI_RPC_URL`), and every command
 *   gets `--deployment <tmp>/localhost.json` (and `deploy` `--journal <tmp>/ignition`), so the
 *   repository's `deployments/` and Ignition journals are never touched;
 * - the daemons run with their folder in a temporary directory and a free `--port`;
 * - "give the daemons a few seconds" is a barrier: after each `poai dev advance`, the test waits
 *   until every daemon has finished a tick at the new chain time;
 * - one-shot commands run through `runCli` in this process (the same program `npx poai` runs).
 */
import { spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { createPublicClient, getAddress, http } from "viem";
import { challengeId, createPoAIClient } from "@poai/sdk";
import { readDeploymentFile } from "@poai/sdk/node";
import { runCli } from "../../scripts/cli/main.js";
import { chainOf } from "../../scripts/cli/session.js";
import { DaemonProcess, type DaemonRole } from "../../scripts/lib/multiprocess.js";
import {
  PROJECT_ROOT,
  childEnv,
  freePort,
  startHardhatNode,
  type HardhatNode,
} from "../fixtures/hardhat-node.js";

const GUIDE = path.join(PROJECT_ROOT, "docs", "operator-guide.md");
const POAI_BIN = path.join(PROJECT_ROOT, "scripts", "cli", "poai.js");

interface Step {
  line: string;
  kind: "node" | "poai" | "export" | "set";
  env: Record<string, string>;
  args: string[];
}

/** The guide's walkthrough block as steps (comments dropped, `\` continuations joined, `$VAR`s kept). */
export function walkthroughSteps(markdown: string): Step[] {
  const marker = markdown.indexOf("<!-- walkthrough:");
  if (marker < 0) throw new Error(`${GUIDE} has no walkthrough marker`);
  const start = markdown.indexOf("```sh\n", marker) + "```sh\n".length;
  const block = markdown.slice(start, markdown.indexOf("```", start)).replace(/\\\n\s*/g, " ");
  const steps: Step[] = [];
  for (const raw of block.split("\n")) {
    const line = raw.replace(/\s+#.*$/, "").trim();
    if (!line || line.startsWith("#")) continue;
    let m = /^export (\w+)=(\S+)$/.exec(line);
    if (m) {
      steps.push({ line, kind: "export", env: { [m[1]!]: m[2]! }, args: [] });
      continue;
    }
    m = /^(\w+)=(\S+)$/.exec(line);
    if (m) {
      steps.push({ line, kind: "set", env: { [m[1]!]: m[2]! }, args: [] });
      continue;
    }
    const words = line.split(/\s+/);
    const env: Record<string, string> = {};
    while (/^\w+=/.test(words[0]!)) {
      const [name, ...value] = words.shift()!.split("=");
      env[name!] = value.join("=");
    }
    if (words[0] !== "npx") throw new Error(`the walkthrough runs only npx commands, got: ${line}`);
    if (words[1] === "hardhat" && words[2] === "node") steps.push({ line, kind: "node", env, args: [] });
    else if (words[1] === "poai") steps.push({ line, kind: "poai", env, args: words.slice(2) });
    else throw new Error(`unexpected command in the walkthrough: ${line}`);
  }
  return steps;
}

describe("the operator guide's local walkthrough, from `npx hardhat node` to a delegator's first reward", function () {
  this.timeout(600_000);
  let node: HardhatNode | undefined;
  let dir: string;
  const daemons: DaemonProcess[] = [];

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "poai-walkthrough-"));
    node = await startHardhatNode({ lifetimeMs: 9 * 60_000 });
  });
  after(async () => {
    await Promise.all(daemons.map((d) => d.stop()));
    await node?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs every command of the guide: deploy, spec, emissions, funding, registration, delegation, daemons, rounds, close, settle, claim", async () => {
    const steps = walkthroughSteps(readFileSync(GUIDE, "utf8"));
    expect(steps.filter((s) => s.kind === "poai").length).to.be.greaterThan(20);
    const book = path.join(dir, "localhost.json");
    const vars: Record<string, string> = {};
    const exported: Record<string, string> = {};
    const expand = (word: string) =>
      word.replace(/\$\{?(\w+)\}?/g, (_, name: string) => {
        const value = vars[name] ?? exported[name];
        if (value === undefined) throw new Error(`the walkthrough uses $${name} before setting it`);
        return value;
      });
    const outputs: { line: string; out: string }[] = [];

    for (const step of steps) {
      if (step.kind === "node") continue; // the test's own node plays terminal 1
      if (step.kind === "set") Object.assign(vars, step.env);
      if (step.kind === "export") Object.assign(exported, step.env);
      if (step.kind !== "poai") continue;
      const args = step.args.map(expand);
      const env = {
        ...exported,
        ...Object.fromEntries(Object.entries(step.env).map(([k, v]) => [k, expand(v)])),
        POAI_RPC_URL: node!.url,
      };
      if (args[1] === "run") {
        const role = args[0] as DaemonRole;
        const port = await freePort();
        const label = `${role}-${daemons.length + 1}`;
        const logFile = path.join(dir, `${label}.log`);
        const log = openSync(logFile, "a");
        const child = spawn(
          process.execPath,
          [POAI_BIN, ...args, "--deployment", book, "--port", String(port), "--log-level", "warn"],
          { cwd: dir, env: childEnv(env), stdio: ["ignore", log, log] },
        );
        closeSync(log);
        const database = path.join(dir, args[args.indexOf("--database") + 1]!);
        const daemon = new DaemonProcess(
          role,
          label,
          `http://127.0.0.1:${port}`,
          database,
          logFile,
          child,
          node!.url,
          120_000,
        );
        daemons.push(daemon);
        await daemon.waitHealthy(90_000);
        continue;
      }
      let out = "";
      let err = "";
      const code = await runCli(
        [
          ...args,
          "--deployment",
          book,
          ...(args[0] === "deploy" ? ["--journal", path.join(dir, "ignition")] : []),
        ],
        { env, stdout: (s) => (out += s), stderr: (s) => (err += s) },
      );
      expect(code, `${step.line}\n${err}\n${out}`).to.equal(0);
      outputs.push({ line: step.line, out });
      // "give the daemons a few seconds": wait until each has finished a tick at the new time
      if (args[0] === "dev" && args[1] === "advance") await Promise.all(daemons.map((d) => d.tick()));
    }

    const said = (command: RegExp) => outputs.filter((o) => command.test(o.line)).map((o) => o.out);
    expect(daemons.map((d) => d.role)).to.deep.equal(["trainer", "validator", "validator"]);
    expect(said(/ deploy /)[0]).to.contain("DEVELOPMENT FAST PATH");
    expect(said(/ spec register /)[0]).to.contain("sent directly");
    expect(said(/ dev fund /)[0]).to.match(/sent 10,000 POAI to/);
    const doctor = said(/ doctor /)[0]!;
    expect(doctor).to.match(/^ok {3}registration +trainer, active/m);
    expect(doctor).to.match(/^ok {3}endpoint +http:\/\/127\.0\.0\.1:\d+\/healthz answers 200/m);
    const operators = said(/ poai operators /)[0]!;
    const trainer = getAddress(vars.TRAINER!);
    expect(operators).to.match(new RegExp(`${trainer}\\s+trainer\\s+active.*Valid\\s+-\\s+[\\d,.]+%`));
    for (const v of [vars.VALIDATOR1!, vars.VALIDATOR2!])
      expect(operators).to.match(new RegExp(`${getAddress(v)}\\s+validator\\s+active.*Valid`));
    expect(said(/ rewards close /)[0]).to.match(/closed epochs 0\.\.1/);
    expect(said(/ rewards settle /)[0]).to.match(
      new RegExp(`settled [\\d,.]+ POAI of epoch 1 into ${trainer}'s pool`),
    );
    expect(said(/ portfolio /)[0]).to.match(new RegExp(`${trainer}\\s+trainer\\s+active\\s+5%\\s+500 POAI`));
    const claim = said(/ claim /)[0]!;
    expect(claim).to.match(/^claimed [\d,.]+ POAI from 1 pool/);

    // On chain: the trainer's round-1 challenge is Valid and the delegator was paid.
    const deployment = await readDeploymentFile(book);
    const publicClient = createPublicClient({
      chain: chainOf(deployment.chainId, node!.url),
      transport: http(node!.url),
    });
    const poai = createPoAIClient({ publicClient, deployment });
    expect((await poai.challenges.getChallenge({ id: challengeId(trainer, 1n) })).status).to.equal("Valid");
    const claims = await poai.staking.getEvents({
      eventName: "RewardClaimed",
      args: { owner: getAddress(vars.DELEGATOR!) },
    });
    expect(claims).to.have.length(1);
    expect(claims[0]!.args.amount! > 0n).to.equal(true);

    const codes = await Promise.all(daemons.map((d) => d.stop()));
    daemons.length = 0;
    expect(codes).to.deep.equal([0, 0, 0]);
  });
});
