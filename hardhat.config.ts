import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { configVariable, defineConfig } from "hardhat/config";
import hardhatViem from "@nomicfoundation/hardhat-viem";
import hardhatViemAssertions from "@nomicfoundation/hardhat-viem-assertions";
import hardhatMocha from "@nomicfoundation/hardhat-mocha";
import hardhatNetworkHelpers from "@nomicfoundation/hardhat-network-helpers";
import hardhatKeystore from "@nomicfoundation/hardhat-keystore";
import hardhatIgnitionViem from "@nomicfoundation/hardhat-ignition-viem";

const require = createRequire(import.meta.url);

/** The compiler is the `solc` npm package pinned in package.json: builds work offline. */
const SOLC_VERSION = "0.8.30";
const solcPath = require.resolve("solc/soljson.js");

/** Mocha's parallel settings from `POAI_TEST_JOBS` (a positive integer) or the core count. */
function mochaWorkers(): { parallel: boolean; jobs?: number } {
  const raw = process.env.POAI_TEST_JOBS;
  if (raw !== undefined && raw !== "" && !/^[1-9][0-9]*$/.test(raw)) {
    throw new Error(`POAI_TEST_JOBS must be a positive integer, got ${JSON.stringify(raw)}`);
  }
  const jobs = raw ? Number(raw) : Math.min(4, Math.max(2, availableParallelism()));
  return jobs === 1 ? { parallel: false } : { parallel: true, jobs };
}

export default defineConfig({
  plugins: [
    hardhatViem,
    hardhatViemAssertions,
    hardhatMocha,
    hardhatNetworkHelpers,
    hardhatKeystore,
    hardhatIgnitionViem,
  ],
  solidity: {
    version: SOLC_VERSION,
    path: solcPath,
    settings: {
      evmVersion: "cancun",
      viaIR: true,
      optimizer: { enabled: true, runs: 500 },
    },
  },
  paths: {
    tests: {
      mocha: "test",
      solidity: "test/solidity",
    },
  },
  test: {
    // The test files run in parallel worker processes, one per core (two at least, four at most:
    // most files are single-threaded JavaScript and EDR, so a second worker uses the core the
    // first leaves idle). `POAI_TEST_JOBS=1` runs them one after another in this process, which
    // `.only` and a debugger need.
    mocha: { timeout: 120_000, ...mochaWorkers() },
  },
  networks: {
    // In-process EDR chain used by tests, the devnet and the benchmarks.
    hardhatMainnet: { type: "edr-simulated", chainType: "l1" },
    // `npx hardhat node` on this machine.
    localhost: { type: "http", chainType: "l1", url: "http://127.0.0.1:8545" },
    // Any public network: the RPC URL and the operator key come from the keystore or the environment
    // (`npx hardhat keystore set POAI_RPC_URL`, `npx hardhat keystore set POAI_PRIVATE_KEY`).
    remote: {
      type: "http",
      chainType: "l1",
      url: configVariable("POAI_RPC_URL"),
      accounts: [configVariable("POAI_PRIVATE_KEY")],
    },
  },
});
