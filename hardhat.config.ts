import { createRequire } from "node:module";
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
    mocha: { timeout: 120_000 },
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
