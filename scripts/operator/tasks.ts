/**
 * Operator tasks: `npx hardhat poai <command> --network <name> [options]`.
 *
 * The signer is the network's account number `--account` (default 0): on a public network that is
 * the key stored with `npx hardhat keystore set POAI_PRIVATE_KEY` (or the environment variable of
 * the same name); keys never live in plain files. Contract addresses come from
 * `deployments/<network>.json` (written by `poai deploy`) or `--deployment <file>`.
 */
import { ArgumentType } from "hardhat/types/arguments";
import { emptyTask, task } from "hardhat/config";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import type { PoAIClient } from "@poai/sdk";

type Common = { account: number; deployment: string };

async function withClient(
  hre: HardhatRuntimeEnvironment,
  args: Common,
  run: (client: PoAIClient) => Promise<string[]>,
) {
  const { createPoAIClient } = await import("@poai/sdk");
  const { addressBookPath, readAddressBook } = await import("../lib/address-book.js");
  const conn = await hre.network.getOrCreate();
  const file = args.deployment || addressBookPath(conn.networkName);
  try {
    const deployment = await readAddressBook(file);
    const publicClient = await conn.viem.getPublicClient();
    const chainId = await publicClient.getChainId();
    if (chainId !== deployment.chainId) {
      throw new Error(
        `${file} is for chain ${deployment.chainId}, but network ${conn.networkName} is chain ${chainId}`,
      );
    }
    const wallets = await conn.viem.getWalletClients();
    const walletClient = wallets[args.account];
    if (!walletClient)
      throw new Error(
        `--account ${args.account}: network ${conn.networkName} has ${wallets.length} account(s)`,
      );
    const client = createPoAIClient({ publicClient, walletClient, deployment });
    for (const line of await run(client)) console.log(line);
  } catch (err) {
    process.exitCode = 1;
    console.error(`error: ${(err as Error).message}`);
  }
}

const common = <T extends ReturnType<typeof task>>(t: T) =>
  t
    .addOption({
      name: "account",
      description: "Index of the signing account of the network",
      type: ArgumentType.INT,
      defaultValue: 0,
    })
    .addOption({
      name: "deployment",
      description: "Address book (default: deployments/<network>.json)",
      defaultValue: "",
    });

const cmd = () => import("./commands.js");

export const operatorTasks = [
  emptyTask("poai", "PoAI operator and delegator commands").build(),

  task(["poai", "deploy"], "Deploy the PoAI staking layer and write deployments/<network>.json")
    .addOption({
      name: "epochLength",
      description: "Seconds per epoch",
      type: ArgumentType.INT,
      defaultValue: 86_400,
    })
    .addOption({
      name: "token",
      description: "Existing staking token address (default: deploy a fresh PoAIToken)",
      defaultValue: "",
    })
    .setInlineAction(async (args, hre) => {
      const { deployStaking } = await import("../lib/deploy.js");
      const { addressBookPath, toAddressBook, writeAddressBook } = await import("../lib/address-book.js");
      const conn = await hre.network.getOrCreate();
      const publicClient = await conn.viem.getPublicClient();
      const deployBlock = await publicClient.getBlockNumber();
      const d = await deployStaking(conn.viem, {
        epochLength: args.epochLength,
        ...(args.token ? { token: (await cmd()).parseAddress("token", args.token) } : {}),
      });
      const file = addressBookPath(conn.networkName);
      await writeAddressBook(
        file,
        toAddressBook(conn.networkName, await publicClient.getChainId(), deployBlock, d),
      );
      console.log(`deployed to ${conn.networkName}: staking ${d.staking.address}; address book ${file}`);
    })
    .build(),

  common(task(["poai", "register"], "Register the signer as a trainer or validator"))
    .addOption({ name: "role", description: "trainer or validator", defaultValue: "trainer" })
    .addOption({ name: "stake", description: "Self-stake in POAI", defaultValue: "" })
    .addOption({ name: "commission", description: "Commission in percent", defaultValue: "5" })
    .addOption({
      name: "maxCommission",
      description: "Immutable maximum commission in percent",
      defaultValue: "20",
    })
    .addOption({ name: "endpoint", description: "Public URL of the node", defaultValue: "" })
    .addOption({ name: "gpu", description: "GPU class, e.g. H100", defaultValue: "" })
    .setInlineAction(async (args, hre) =>
      withClient(hre, args, async (client) => {
        const c = await cmd();
        return c.register(client, {
          role: args.role,
          stake: c.parseAmount("stake", args.stake),
          commissionBps: c.parsePercent("commission", args.commission),
          maxCommissionBps: c.parsePercent("max-commission", args.maxCommission),
          endpoint: args.endpoint,
          gpuClass: args.gpu,
        });
      }),
    )
    .build(),

  common(task(["poai", "stake"], "Add to the signer's self-stake"))
    .addOption({ name: "amount", description: "POAI to add", defaultValue: "" })
    .setInlineAction(async (args, hre) =>
      withClient(hre, args, async (client) =>
        (await cmd()).stake(client, { amount: (await cmd()).parseAmount("amount", args.amount) }),
      ),
    )
    .build(),

  common(task(["poai", "delegate"], "Delegate POAI to an operator's pool"))
    .addOption({ name: "operator", description: "Operator address", defaultValue: "" })
    .addOption({ name: "amount", description: "POAI to delegate", defaultValue: "" })
    .setInlineAction(async (args, hre) =>
      withClient(hre, args, async (client) => {
        const c = await cmd();
        return c.delegate(client, {
          operator: c.parseAddress("operator", args.operator),
          amount: c.parseAmount("amount", args.amount),
        });
      }),
    )
    .build(),

  common(task(["poai", "undelegate"], "Move stake from a pool into the unbonding queue"))
    .addOption({ name: "operator", description: "Operator address", defaultValue: "" })
    .addOption({ name: "amount", description: "POAI to undelegate", defaultValue: "" })
    .addFlag({ name: "all", description: "Undelegate the whole position" })
    .setInlineAction(async (args, hre) =>
      withClient(hre, args, async (client) => {
        const c = await cmd();
        return c.undelegate(client, {
          operator: c.parseAddress("operator", args.operator),
          ...(args.amount ? { amount: c.parseAmount("amount", args.amount) } : {}),
          all: args.all,
        });
      }),
    )
    .build(),

  common(task(["poai", "withdraw"], "Withdraw matured unbonding entries"))
    .addOption({
      name: "maxEntries",
      description: "At most this many entries",
      type: ArgumentType.INT,
      defaultValue: 50,
    })
    .setInlineAction(async (args, hre) =>
      withClient(hre, args, async (client) =>
        (await cmd()).withdraw(client, { maxEntries: args.maxEntries }),
      ),
    )
    .build(),

  common(task(["poai", "claim"], "Claim rewards from the given pools (default: every pool with rewards)"))
    .addOption({ name: "operators", description: "Comma-separated operator addresses", defaultValue: "" })
    .setInlineAction(async (args, hre) =>
      withClient(hre, args, async (client) => {
        const c = await cmd();
        const operators = args.operators
          ? args.operators.split(",").map((a: string) => c.parseAddress("operators", a.trim()))
          : [];
        return c.claim(client, { operators });
      }),
    )
    .build(),

  common(task(["poai", "set-commission"], "Request a new commission rate (increases are delayed)"))
    .addOption({ name: "rate", description: "Commission in percent", defaultValue: "" })
    .setInlineAction(async (args, hre) =>
      withClient(hre, args, async (client) =>
        (await cmd()).setCommission(client, { commissionBps: (await cmd()).parsePercent("rate", args.rate) }),
      ),
    )
    .build(),

  common(task(["poai", "unjail"], "Leave jail after the cool-down"))
    .setInlineAction(async (args, hre) =>
      withClient(hre, args, async (client) => (await cmd()).unjail(client)),
    )
    .build(),

  common(task(["poai", "transfer"], "Send POAI to an address (e.g. to fund an operator key)"))
    .addOption({ name: "to", description: "Recipient address", defaultValue: "" })
    .addOption({ name: "amount", description: "POAI to send", defaultValue: "" })
    .setInlineAction(async (args, hre) =>
      withClient(hre, args, async (client) => {
        const c = await cmd();
        return c.transfer(client, {
          to: c.parseAddress("to", args.to),
          amount: c.parseAmount("amount", args.amount),
        });
      }),
    )
    .build(),

  common(task(["poai", "status"], "Show an address's operator record, positions and unbonding entries"))
    .addOption({ name: "address", description: "Address to show (default: the signer)", defaultValue: "" })
    .setInlineAction(async (args, hre) =>
      withClient(hre, args, async (client) => {
        const c = await cmd();
        return c.status(client, args.address ? { address: c.parseAddress("address", args.address) } : {});
      }),
    )
    .build(),
];
