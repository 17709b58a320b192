import { spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { network } from "hardhat";
import {
  DevnetOptionsError,
  parseDevnetArgs,
  resolveDevnetOptions,
} from "../../scripts/lib/devnet/options.js";
import { formatReport, type DevnetReport } from "../../scripts/lib/devnet/report.js";
import { runDevnet } from "../../scripts/lib/devnet/run.js";
import { onlyNpmBanners, writeJsonReport } from "../../scripts/lib/devnet/json-output.js";
import { createDevnetUi } from "../../scripts/lib/devnet/ui.js";
import { PROJECT_ROOT, childEnv, startHardhatNode } from "../fixtures/hardhat-node.js";

describe("devnet", function () {
  this.timeout(300_000);

  /**
   * Runs `npm run devnet -- --json <args> > file` as a newcomer would and returns the file's text:
   * the main job's command line, its JSON report and the report's redirection are tested by one run.
   */
  async function npmDevnetJson(dir: string, args: string): Promise<string> {
    const file = path.join(dir, "report.json");
    let stderr = "";
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn("bash", ["-c", `npm run devnet -- --json ${args} > ${file}`], {
        cwd: PROJECT_ROOT,
        env: childEnv(),
        stdio: ["ignore", "ignore", "pipe"],
      });
      child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
      child.once("error", reject);
      child.once("exit", resolve);
    });
    expect(code, stderr.slice(-4000)).to.equal(0);
    return readFileSync(file, "utf8");
  }

  it("plays a small network end to end in-process through `npm run devnet -- --json > report.json`: the forger is slashed and jailed, the absent trainer missed, the books balance", async () => {
    // Catches writing the report to stdout after npm's run-script banners (`> poai@… devnet`), which
    // made the redirected file invalid JSON: the file must parse as it is.
    const dir = mkdtempSync(path.join(tmpdir(), "poai-devnet-json-"));
    try {
      const report = JSON.parse(
        await npmDevnetJson(dir, "--epochs 2 --trainers 4 --cheaters 1 --absent 1 --validators 3"),
      ) as DevnetReport;
      expect(report.mode).to.equal("in-process");
      expect(
        report.checks.filter((c) => !c.ok),
        JSON.stringify(report.checks),
      ).to.deep.equal([]);
      const byBehaviour = (b: string) =>
        report.operators.filter((o) => o.behaviour === b && o.role === "trainer");
      expect(byBehaviour("honest")).to.have.length(2);
      for (const t of byBehaviour("honest")) {
        expect(t.challenges).to.deep.equal({ Valid: 2 });
        expect(BigInt(t.rewards.credited) > 0n).to.equal(true);
        expect(t.jailed).to.equal(false);
      }
      const [forger] = byBehaviour("forger");
      expect(forger.challenges.Fraud).to.be.at.least(1); // jailed once judged: not due again
      expect(forger.jailed).to.equal(true);
      expect(BigInt(forger.slashed) > 0n).to.equal(true);
      expect(BigInt(forger.rewards.credited)).to.equal(0n);
      const [absent] = byBehaviour("absent");
      expect(absent.challenges.Missed).to.equal(2);
      for (const v of report.operators.filter((o) => o.role === "validator")) {
        expect(BigInt(v.points) > 0n).to.equal(true);
        expect(BigInt(v.rewards.credited) > 0n).to.equal(true);
      }
      // Rows: one per trainer (the dispute game's cleared forger included) and round; every
      // revealed verdict on the forger is Invalid.
      expect(report.rounds).to.have.length(10);
      const forged = report.rounds.find((r) => r.trainer === forger.name && r.status === "Fraud")!;
      expect(forged.verdicts.length).to.be.greaterThan(0);
      expect(forged.verdicts.every((v) => v.startsWith("Invalid@"))).to.equal(true);
      expect(report.accounting.balanced).to.equal(true);
      // The model sold is the honest trainer's MNIST run, and real held-out digits were classified.
      expect(report.inference!.lines.filter((l) => /digit \d: model says \d/.test(l))).to.have.length(1);
      const a = report.accounting;
      expect(BigInt(a.funded) + BigInt(a.usageFees) + BigInt(a.returned)).to.equal(
        BigInt(a.creditedToPools) +
          BigInt(a.protocol) +
          BigInt(a.toOwners) +
          BigInt(a.reserve) +
          BigInt(a.carried) +
          BigInt(a.unsettled) +
          BigInt(a.pendingInPools),
      );
      // The paid job: the first honest trainer and the forger held it, the forger's run was convicted,
      // the honest run completed it; its model, proven and at its floor, was sold through the
      // Coordinator and the royalty split paid the engineer its 30% to the wei; the job's books balance.
      const job = report.jobs!;
      expect(job.state).to.equal("Completed");
      expect(job.runs.map((r) => `${r.behaviour} ${r.status}`).sort()).to.deep.equal([
        "forger Fraud",
        "honest Valid",
      ]);
      expect(job.winner).to.equal(job.runs.find((r) => r.behaviour === "honest")!.trainer);
      expect(job.model!.accuracyBps).to.be.at.least(8000);
      expect(BigInt(job.royalties!.toEngineer)).to.equal((BigInt(job.royalties!.royalty) * 3000n) / 10_000n);
      expect(job.royalties!.engineerReceived).to.equal(job.royalties!.toEngineer);
      expect(BigInt(job.books.escrowed)).to.equal(
        BigInt(job.books.paidOut) + BigInt(job.books.refunded) + BigInt(job.books.protocol),
      );
      expect(job.books.registryHolds).to.equal("0");
      // The dispute game: the colluding majority cleared the forger's runs, the honest validator's
      // daemon disputed each and won by a re-executed operation (not a timeout), and the forger and
      // both colluders were slashed, the honest validator not.
      const disputes = report.disputes!;
      const honestValidator = report.operators.find((x) => x.name === "validator 1")!;
      const cleared = report.operators.find((x) => x.behaviour === "cleared forger")!;
      // judged Valid by the colluding majority, then overruled by the games: Fraud on chain
      expect(cleared.challenges).to.deep.equal({ Fraud: 2 });
      expect(disputes.games).to.have.length(2);
      for (const g of disputes.games) {
        expect(g.winner).to.equal(honestValidator.address);
        expect(g.reason).to.not.equal("timeout");
        expect(g.challengerMoves.length + g.defenderMoves.length).to.be.greaterThan(10);
        expect(g.slashes.map((x) => x.name).sort()).to.deep.equal([
          cleared.name,
          "validator 2",
          "validator 3",
        ]);
      }
      expect(BigInt(honestValidator.slashed)).to.equal(0n);
      // nobody settled anything: the delegator's claim and the operators' claims credited the pools
      expect(BigInt(a.claimedByDelegators) > 0n).to.equal(true);
      expect(report.verification.runsTrained).to.be.greaterThan(0);
      expect(report.verification.audits).to.be.greaterThan(0);
      // The report is plain JSON and reads as text.
      expect(JSON.parse(JSON.stringify(report))).to.deep.equal(report);
      const text = formatReport(report);
      for (const part of [
        "Judgments",
        "Operators",
        "Delegators",
        "Paid job",
        "Dispute game",
        "Reward accounting",
        "balanced",
      ])
        expect(text).to.contain(part);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("plays the network with every daemon as its own OS process against `hardhat node`", async () => {
    const node = await startHardhatNode({ lifetimeMs: 5 * 60_000 });
    const connection = await network.create({ network: "localhost", override: { url: node.url } });
    try {
      const options = resolveDevnetOptions({
        epochs: 2,
        trainers: 3,
        cheaters: 1,
        absent: 1,
        validators: 3,
        rpc: node.url,
        inference: false,
      });
      const report = await runDevnet(
        options,
        { ...connection, mode: "multi-process", rpc: node.url },
        createDevnetUi({ json: true, quiet: true }),
      );
      expect(report.mode).to.equal("multi-process");
      expect(
        report.checks.filter((c) => !c.ok),
        JSON.stringify(report.checks),
      ).to.deep.equal([]);
      const honest = report.operators.find((o) => o.behaviour === "honest" && o.role === "trainer")!;
      expect(honest.challenges).to.deep.equal({ Valid: 2 });
      const forger = report.operators.find((o) => o.behaviour === "forger")!;
      expect(forger.jailed).to.equal(true);
      expect(forger.challenges.Fraud).to.be.at.least(1);
      // The paid job, with every trainer and validator a separate process: claimed, trained,
      // audited, completed with the honest run, fetched over HTTP from the winner's process,
      // sold through the Coordinator (the marketplace deployed for the job) and its books balanced.
      expect(report.jobs!.state).to.equal("Completed");
      expect(report.jobs!.runs.map((r) => r.status).sort()).to.deep.equal(["Fraud", "Valid"]);
      expect(report.jobs!.books.balanced).to.equal(true);
      expect(BigInt(report.jobs!.royalties!.toEngineer) > 0n).to.equal(true);
      // Every process served its metrics: the trainers' runs and the validators' audits are counted.
      expect(report.verification.runsTrained).to.be.at.least(2);
      expect(report.verification.audits).to.be.at.least(6);
    } finally {
      await connection.close();
      await node.stop();
    }
  });

  it("reads its options from the command line and refuses impossible ones, naming the flag and the value", () => {
    expect(parseDevnetArgs(["--epochs", "5", "--trainers", "4", "--cheaters", "2", "--json"], {})).to.include(
      {
        epochs: 5,
        trainers: 4,
        cheaters: 2,
        json: true,
        inference: true,
      },
    );
    expect(parseDevnetArgs([], { POAI_DEVNET_ROUNDS: "4", POAI_LOG_LEVEL: "info" })).to.include({
      epochs: 4,
      logLevel: "info",
    });
    expect(parseDevnetArgs(["--no-inference"], {}).inference).to.equal(false);
    expect(parseDevnetArgs(["--no-disputes"], {}).disputes).to.equal(false);
    expect(parseDevnetArgs([], {}).disputes).to.equal(true);
    const refused = (input: Parameters<typeof resolveDevnetOptions>[0], message: string) =>
      expect(() => resolveDevnetOptions(input)).to.throw(DevnetOptionsError, message);
    refused({ epochs: 0 }, "--epochs");
    refused({ epochs: 21 }, "(got 21)");
    refused({ trainers: 2, cheaters: 1, absent: 1 }, "must leave at least one honest trainer of 2");
    refused({ rpc: "ftp://example.com" }, "--rpc");
    refused({ trainers: 8, validators: 9 }, "--validators");
    expect(() => parseDevnetArgs(["--epochs", "two"], {})).to.throw("--epochs must be a whole number");
    expect(() => parseDevnetArgs(["--backend", "tpu"], {})).to.throw();
  });

  it("shows its defaults in --help", () => {
    let help = "";
    expect(() => parseDevnetArgs(["--help"], {}, (text) => (help += text))).to.throw();
    for (const part of [
      "(default: 3, or $POAI_DEVNET_ROUNDS)",
      "(default: auto)",
      "(default: the in-process chain)",
    ])
      expect(help.replace(/\s+/g, " ")).to.contain(part);
  });

  it("writes a --json report as the whole of a file opened with >, after npm's banners with >>", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "poai-devnet-json-"));
    try {
      const banner = "\n> poai@0.1.0 devnet\n> tsx scripts/devnet.ts --json\n\n";
      expect(onlyNpmBanners(banner)).to.equal(true);
      for (const [flag, expected] of [
        ["w", '{"a":1}\n'],
        ["a", `${banner}{"a":1}\n`],
      ] as const) {
        const out = path.join(dir, `${flag}.json`);
        const fd = openSync(out, flag);
        writeSync(fd, banner);
        writeJsonReport('{"a":1}', fd);
        closeSync(fd);
        expect(readFileSync(out, "utf8"), `opened with "${flag}"`).to.equal(expected);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
