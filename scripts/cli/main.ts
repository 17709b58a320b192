/**
 * `npx poai <command>`: the operator command line over the PoAI SDK (deploy, register, stake,
 * delegate, undelegate, withdraw, claim, compound, commission, unjail, transfer, fund, status,
 * operators, portfolio, doctor; governance: spec, rewards, roles; local chains: dev; the
 * marketplace: model, wallet, consumer, subscription; datasets: `dataset build | inspect | serve`;
 * `dashboard`; and the trainer and validator daemons and the inference node). `runCli(argv, io)`
 * is the whole program; `poai.js` runs it in a process, tests call it in-process (with an
 * in-process chain as `io.connection`).
 *
 * Every command takes `--rpc <url>`, `--network <name>` (finds `deployments/<name>.json` and, for
 * a network of `hardhat.config.ts`, its RPC URL), `--deployment <file>`, `--config <file>` and
 * `--json`; the key comes from `$POAI_PRIVATE_KEY` or the Hardhat keystore. A command that sends
 * transactions also takes `--yes` (do not ask), `--dry-run` (print the calldata, send nothing) and
 * `--from <address>` (the sender a dry run plans for, when there is no key).
 *
 * Nothing here compiles contracts or loads Hardhat before a command needs it: `--help` is instant.
 */
import { Command, CommanderError, Option } from "commander";
import * as cmd from "./commands.js";
import { readCliConfig, type CliConfig } from "./config.js";
import { registerDatasetCommands } from "./dataset.js";
import { registerDisputeCommands } from "./disputes.js";
import { registerInferenceDisputeCommands } from "./inference-disputes.js";
import { registerScoreDisputeCommands } from "./score-disputes.js";
import { registerJobCommands } from "./jobs.js";
import { gateOf, int, type CommandKit, type SendingOptions } from "./kit.js";
import { openSession, type CliIo, type CommonOptions } from "./session.js";
import { registerMarketCommands } from "./market.js";
import { registerDevCommands } from "./dev.js";
import { registerDoctorCommand } from "./doctor.js";
import { registerFundCommand, registerGovernanceCommands } from "./admin.js";
import { registerViewCommands } from "./views.js";

const common = (c: Command) =>
  c
    .option("--rpc <url>", "JSON-RPC endpoint of the chain (default: $POAI_RPC_URL or the --network's URL)")
    .option(
      "--network <name>",
      "network name: deployments/<name>.json and, if hardhat.config.ts has it, its RPC (e.g. localhost)",
    )
    .option(
      "--deployment <file>",
      "address book (default: deployments/<network>.json, or the one for the RPC's chain)",
    )
    .option("--config <file>", "JSON file of option defaults (validated; see docs/operator-guide.md)")
    .option("--json", "print the result as one JSON object (amounts in token wei)");

const sending = (c: Command) =>
  c
    .option("-y, --yes", "send without asking (a terminal is asked to confirm; scripts are not)")
    .option(
      "--dry-run",
      "print each transaction's target and calldata (for a Safe or the timelock); send nothing",
    )
    .option("--from <address>", "with --dry-run and no key: the address the transactions would come from");

function json(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}

function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    const short = (err as Error & { shortMessage?: string }).shortMessage;
    const name = err.name;
    if (
      name === "OperatorCommandError" ||
      name === "PoAIContractError" ||
      name === "PoAIInputError" ||
      name === "PoAIDeploymentError" ||
      name === "PoAIGasFundsError" ||
      name === "EndpointError" ||
      name === "DeployError"
    )
      return err.message;
    return (short ?? err.message).split("\n")[0]!;
  }
  return String(err);
}

/** Builds the program; `run` receives each command's work. */
function program(
  io: CliIo,
  run: (
    json: boolean | undefined,
    work: (config: CliConfig) => Promise<cmd.CommandResult>,
    opts: CommonOptions,
  ) => Promise<void>,
): Command {
  const p = new Command("poai")
    .description(
      "PoAI operator, delegator and governance commands: deploy, stake, delegate, claim, govern, run the daemons",
    )
    .showHelpAfterError("(poai <command> --help shows its options)")
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) })
    .exitOverride();
  const sub = (name: string, description: string, parent: Command = p) =>
    common(parent.command(name).description(description).exitOverride());
  const session = (o: CommonOptions, config: CliConfig, needsKey = true) =>
    openSession(o, config, io, needsKey);
  const gate = (o: SendingOptions) => gateOf(o, io);
  /** A sending command's session: a dry run needs no key. */
  const sendSession = (o: SendingOptions, config: CliConfig) => session(o, config, !o.dryRun);
  const kit: CommandKit = {
    io,
    program: p,
    sub,
    group: (name, description) =>
      p.command(name).description(description).exitOverride().showHelpAfterError(),
    sending,
    run: (o, work) => run(o.json, work, o),
    session,
    gate,
  };

  sub("deploy", "Deploy the suite with Hardhat Ignition and write deployments/<network>.json (idempotent)")
    .option(
      "--parameters <file>",
      "Ignition parameters (default: ignition/parameters/<network>.json if it exists)",
    )
    .option("--deployment-id <id>", "Ignition deployment id (default: poai-<network>)")
    .option("--journal <dir>", "folder of Ignition's journals (default: ignition/)")
    .option(
      "--unsafe-allow-eoa-roles",
      "UNSAFE: deploy to a public chain even if an account (not a contract) would hold a role, e.g. one key as the timelock's proposer",
    )
    .option("-y, --yes", "deploy without asking (a terminal is asked to confirm; scripts are not)")
    .action(async (o) =>
      run(o.json, async (config) => (await import("./deploy.js")).deploy(o, config, io), o),
    );

  sending(sub("register", "Register the signer as a trainer or validator with a self-stake"))
    .requiredOption("--role <role>", "trainer or validator")
    .requiredOption("--stake <POAI>", "self-stake in POAI (at least the role minimum)")
    .option("--commission <percent>", "commission in percent", "5")
    .option("--max-commission <percent>", "immutable maximum commission in percent", "20")
    .option("--endpoint <url>", "public URL of the node (a trainer's daemon publishes its own)", "")
    .option("--gpu <class>", "GPU class, e.g. H100", "")
    .option("--no-approve", "fail instead of approving Staking when the allowance is short")
    .action(async (o) =>
      run(
        o.json,
        async (config) =>
          cmd.register(
            (await sendSession(o, config)).client,
            {
              role: o.role,
              stake: cmd.parseAmount("stake", o.stake),
              commissionBps: cmd.parsePercent("commission", o.commission),
              maxCommissionBps: cmd.parsePercent("max-commission", o.maxCommission),
              endpoint: o.endpoint,
              gpuClass: o.gpu,
              approve: o.approve,
            },
            gate(o),
          ),
        o,
      ),
    );

  sending(sub("stake", "Add to the signer's self-stake"))
    .requiredOption("--amount <POAI>", "POAI to add")
    .option("--no-approve", "fail instead of approving Staking when the allowance is short")
    .action(async (o) =>
      run(
        o.json,
        async (config) =>
          cmd.stake(
            (await sendSession(o, config)).client,
            { amount: cmd.parseAmount("amount", o.amount), approve: o.approve },
            gate(o),
          ),
        o,
      ),
    );

  sending(sub("delegate", "Delegate POAI to an operator's pool"))
    .requiredOption("--operator <address>", "operator address")
    .requiredOption("--amount <POAI>", "POAI to delegate")
    .option("--no-approve", "fail instead of approving Staking when the allowance is short")
    .action(async (o) =>
      run(
        o.json,
        async (config) =>
          cmd.delegate(
            (await sendSession(o, config)).client,
            {
              operator: cmd.parseAddress("operator", o.operator),
              amount: cmd.parseAmount("amount", o.amount),
              approve: o.approve,
            },
            gate(o),
          ),
        o,
      ),
    );

  sending(sub("undelegate", "Move stake from a pool into the unbonding queue"))
    .requiredOption("--operator <address>", "operator address")
    .option("--amount <POAI>", "POAI to undelegate")
    .option("--all", "undelegate the whole position")
    .action(async (o) =>
      run(
        o.json,
        async (config) =>
          cmd.undelegate(
            (await sendSession(o, config)).client,
            {
              operator: cmd.parseAddress("operator", o.operator),
              ...(o.amount !== undefined && { amount: cmd.parseAmount("amount", o.amount) }),
              all: Boolean(o.all),
            },
            gate(o),
          ),
        o,
      ),
    );

  sending(sub("withdraw", "Withdraw matured unbonding entries"))
    .option("--max-entries <n>", "at most this many entries", int("max-entries", 1, 1000), 50)
    .action(async (o) =>
      run(
        o.json,
        async (config) =>
          cmd.withdraw((await sendSession(o, config)).client, { maxEntries: o.maxEntries }, gate(o)),
        o,
      ),
    );

  sending(sub("claim", "Claim rewards from the given pools (default: every pool with rewards for you)"))
    .option("--operators <addresses>", "comma-separated operator addresses")
    .action(async (o) =>
      run(
        o.json,
        async (config) =>
          cmd.claim(
            (await sendSession(o, config)).client,
            {
              operators: o.operators
                ? String(o.operators)
                    .split(",")
                    .map((a) => cmd.parseAddress("operators", a.trim()))
                : [],
            },
            gate(o),
          ),
        o,
      ),
    );

  sending(sub("compound", "Restake your rewards in a pool into that pool"))
    .requiredOption("--operator <address>", "operator address")
    .action(async (o) =>
      run(
        o.json,
        async (config) =>
          cmd.compound(
            (await sendSession(o, config)).client,
            { operator: cmd.parseAddress("operator", o.operator) },
            gate(o),
          ),
        o,
      ),
    );

  sending(
    sub(
      "commission",
      "Request a new commission rate (a decrease from the next epoch, an increase from the first epoch after the delay)",
    ),
  )
    .requiredOption("--rate <percent>", "commission in percent")
    .action(async (o) =>
      run(
        o.json,
        async (config) =>
          cmd.setCommission(
            (await sendSession(o, config)).client,
            { commissionBps: cmd.parsePercent("rate", o.rate) },
            gate(o),
          ),
        o,
      ),
    );

  sending(sub("unjail", "Leave jail after the cool-down")).action(async (o) =>
    run(o.json, async (config) => cmd.unjail((await sendSession(o, config)).client, gate(o)), o),
  );

  sending(sub("transfer", "Send POAI to an address (e.g. to fund an operator key)"))
    .requiredOption("--to <address>", "recipient")
    .requiredOption("--amount <POAI>", "POAI to send")
    .action(async (o) =>
      run(
        o.json,
        async (config) =>
          cmd.transfer(
            (await sendSession(o, config)).client,
            { to: cmd.parseAddress("to", o.to), amount: cmd.parseAmount("amount", o.amount) },
            gate(o),
          ),
        o,
      ),
    );

  registerFundCommand(kit);

  sub("status", "An operator's pool, recent challenges and rewards; an address's positions and unbonding")
    .option("--address <address>", "address to show (default: the signer)")
    .option("--rounds <n>", "recent rounds to show", int("rounds", 1, 256), 5)
    .action(async (o) =>
      run(
        o.json,
        async (config) => {
          const s = await session(o, config, o.address === undefined);
          return cmd.status(s.client, {
            ...(o.address !== undefined && { address: cmd.parseAddress("address", o.address) }),
            rounds: o.rounds,
          });
        },
        o,
      ),
    );

  sub(
    "dashboard",
    "Serve the web dashboard (network, operators, delegations, marketplace) until SIGINT / SIGTERM",
  )
    .option("--host <host>", "interface to listen on (default 127.0.0.1)")
    .addOption(
      new Option("--port <port>", "port to listen on (default: any free port)").argParser(
        int("port", 0, 65_535),
      ),
    )
    .action(async (o) =>
      run(o.json, async (config) => (await import("./dashboard.js")).dashboardRun(o, config, io), o),
    );
  registerViewCommands(kit);
  registerGovernanceCommands(kit);
  registerDevCommands(kit);
  registerDoctorCommand(kit);

  const logLevels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];
  const backends = ["js", "wasm", "cuda", "auto"];
  // Options every daemon command takes.
  const portOption = () =>
    new Option("--port <port>", "port of that server (default: any free port)").argParser(
      int("port", 0, 65_535),
    );
  const pollMsOption = () =>
    new Option("--poll-ms <ms>", "pause between ticks (default 5000)").argParser(
      int("poll-ms", 1, 3_600_000),
    );
  const stuckAfterOption = () =>
    new Option(
      "--stuck-after-ms <ms>",
      "a tick with no progress for this long is reported stuck at /status and /healthz (default 600000)",
    ).argParser(int("stuck-after-ms", 1, 86_400_000));
  const logLevelOption = () =>
    new Option("--log-level <level>", "log level (default $POAI_LOG_LEVEL or info)").choices(logLevels);
  const trainer = p.command("trainer").description("The trainer daemon").exitOverride();
  common(trainer.command("run").description("Run the trainer daemon until SIGINT / SIGTERM").exitOverride())
    .option("--database <file>", "SQLite file of runs and checkpoints (one per trainer)")
    .option("--host <host>", "interface of the checkpoint, status and metrics server (default 127.0.0.1)")
    .addOption(portOption())
    .option("--public-endpoint <url>", "URL validators reach the server at (published in Staking)")
    .option("--no-register-endpoint", "do not publish the endpoint in Staking")
    .option(
      "--no-claim-jobs",
      "do not claim paid training jobs (default: claim them when the address book has a JobRegistry)",
    )
    .option(
      "--no-disputes",
      "do not defend runs the committee convicted as Fraud (games already opened against them are still played)",
    )
    .option("--gpu-class <class>", "GPU class published with the endpoint")
    .addOption(new Option("--backend <kind>", "engine backend").choices(backends))
    .option(
      "--retention <seconds>",
      "keep checkpoints this long after their round is final",
      int("retention", 0, 2 ** 31),
    )
    .addOption(new Option("--progress <mode>", "training progress").choices(["auto", "bar", "log", "off"]))
    .addOption(pollMsOption())
    .addOption(stuckAfterOption())
    .addOption(logLevelOption())
    .action(async (o) =>
      run(
        o.json,
        async (config) => {
          const { trainerRun } = await import("./daemons.js");
          return trainerRun(
            {
              ...o,
              ...(o.retention !== undefined && { retentionSeconds: o.retention }),
              registerEndpoint: o.registerEndpoint === false ? false : undefined,
              claimJobs: o.claimJobs === false ? false : undefined,
              disputes: o.disputes === false ? false : undefined,
            },
            config,
            io,
          );
        },
        o,
      ),
    );

  const validator = p.command("validator").description("The validator daemon").exitOverride();
  common(
    validator.command("run").description("Run the validator daemon until SIGINT / SIGTERM").exitOverride(),
  )
    .option("--database <file>", "SQLite file of verdicts, salts and beacon secrets (one per validator)")
    .option("--host <host>", "interface of the status and metrics server (default 127.0.0.1)")
    .addOption(portOption())
    .addOption(new Option("--backend <kind>", "engine backend").choices(backends))
    .option(
      "--fetch-timeout-ms <ms>",
      "budget of one checkpoint request",
      int("fetch-timeout-ms", 1, 3_600_000),
    )
    .option("--fetch-attempts <n>", "attempts per checkpoint", int("fetch-attempts", 1, 100))
    .option(
      "--audit-budget-ms <ms>",
      "budget of one whole audit; past it the audit is abandoned and tried again (default 600000)",
      int("audit-budget-ms", 1, 86_400_000),
    )
    .option("--scan-block-range <n>", "blocks per eth_getLogs request", int("scan-block-range", 1, 1_000_000))
    .option(
      "--from-block <n>",
      "first block to scan on a fresh database",
      int("from-block", 0, Number.MAX_SAFE_INTEGER),
    )
    .option("--no-beacon", "take no part in the randomness beacon")
    .option("--no-finalize", "do not finalize audited challenges")
    .option("--no-report-missed", "do not report trainers that missed their deadline")
    .option(
      "--no-disputes",
      "do not open dispute games on challenges this validator refuted that a majority cleared (games already opened are still played)",
    )
    .addOption(pollMsOption())
    .addOption(stuckAfterOption())
    .addOption(logLevelOption())
    .action(async (o) =>
      run(
        o.json,
        async (config) => {
          const { validatorRun } = await import("./daemons.js");
          return validatorRun(
            {
              ...o,
              beacon: o.beacon === false ? false : undefined,
              finalize: o.finalize === false ? false : undefined,
              disputes: o.disputes === false ? false : undefined,
              reportMissed: o.reportMissed === false ? false : undefined,
            },
            config,
            io,
          );
        },
        o,
      ),
    );

  const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];
  const inference = p
    .command("inference")
    .description("The inference node: serves the Coordinator's subscriptions")
    .exitOverride();
  common(
    inference
      .command("run")
      .description("Run the inference node (its key must be a trainer's) until SIGINT / SIGTERM")
      .exitOverride(),
  )
    .option("--database <file>", "SQLite file of subscriptions and deliveries (one per node)")
    .option(
      "--model <containerId=file>",
      "serve a registered model with the built-in container, from its checkpoint file (repeatable)",
      collect,
    )
    .option(
      "--container <containerId=url>",
      "serve an Infernet container over HTTP at url (repeatable)",
      collect,
    )
    .option(
      "--infernet-config <file>",
      "an infernet-node config.json: its containers, REST API (server) and chain settings, translated",
    )
    .option(
      "--api-port <port>",
      "serve infernet-node's REST API (/api/jobs, /health, /info, …) on this port",
      int("api-port", 0, 65_535),
    )
    .option(
      "--api-host <host>",
      "interface of the REST API (default 127.0.0.1; 0.0.0.0 from an infernet config)",
    )
    .option("--host <host>", "interface of the status and metrics server (default 127.0.0.1)")
    .addOption(portOption())
    .option("--payment-wallet <address>", "the node's WalletFactory wallet that paid deliveries pay into")
    .option(
      "--lag-blocks <n>",
      "blocks to stay behind the head before reading subscriptions (default 0)",
      int("lag-blocks", 0, 10_000),
    )
    .option(
      "--watch-deliveries",
      "recompute other nodes' deliveries of the models served with --model and dispute the wrong ones",
    )
    .addOption(
      new Option(
        "--dispute-mode <mode>",
        "how a wrong output is disputed: auto (the whole-model dispute when the chain estimates it below the cheapest game, else a game), game or whole",
      ).choices(["auto", "game", "whole"]),
    )
    .option(
      "--no-disputes",
      "open no dispute of a wrong output (games already opened, and the defence of this node's deliveries, are still played)",
    )
    .addOption(pollMsOption())
    .addOption(stuckAfterOption())
    .addOption(logLevelOption())
    .action(async (o) =>
      run(
        o.json,
        async (config) => {
          const { inferenceRun } = await import("./daemons.js");
          return inferenceRun({ ...o, disputes: o.disputes === false ? false : undefined }, config, io);
        },
        o,
      ),
    );
  registerDatasetCommands(p, io, run);
  registerMarketCommands(p, { common, run, session });
  registerDisputeCommands(p, { common, run, session });
  registerInferenceDisputeCommands(p, { common, run, session });
  registerScoreDisputeCommands(p, { common, run, session });
  registerJobCommands(p, { common, run, session });
  return p;
}

/** Runs `poai` with `argv` (the arguments after `poai`); resolves to the exit code. */
export async function runCli(argv: readonly string[], io: Partial<CliIo> = {}): Promise<number> {
  const full: CliIo = {
    env: io.env ?? process.env,
    stdout: io.stdout ?? ((s) => process.stdout.write(s)),
    stderr: io.stderr ?? ((s) => process.stderr.write(s)),
    ...(io.connection && { connection: io.connection }),
    ...(io.confirm && { confirm: io.confirm }),
    ...(io.stopSignal && { stopSignal: io.stopSignal }),
    ...(io.trainerDaemon && { trainerDaemon: io.trainerDaemon }),
  };
  let code = 0;
  const run = async (
    asJson: boolean | undefined,
    work: (config: CliConfig) => Promise<cmd.CommandResult>,
    opts: CommonOptions,
  ) => {
    try {
      const config = opts.config ? await readCliConfig(opts.config) : {};
      const result = await work(config);
      if (asJson) full.stdout(json({ ok: true, ...result.data }) + "\n");
      else for (const line of result.lines) full.stdout(line + "\n");
    } catch (err) {
      code = 1;
      // A command that fails after gathering facts (poai doctor) still shows them.
      const partial = (err as { result?: cmd.CommandResult }).result;
      if (partial && !asJson) for (const line of partial.lines) full.stdout(line + "\n");
      const message = errorMessage(err);
      if (asJson) full.stdout(json({ ok: false, error: message, ...partial?.data }) + "\n");
      full.stderr(`error: ${message}\n`);
    }
  };
  try {
    await program(full, run).parseAsync([...argv], { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    throw err;
  }
  return code;
}
