/**
 * An on-chain probe for the engine tests: a contract, compiled here with the pinned solc, that
 * declares the TrainingSpec and DatasetRef structs exactly as sdk/src/compute/spec.ts documents them
 * and checks checkpoint and dataset example proofs with OpenZeppelin's MerkleProof, deployed on a
 * fresh in-process chain.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { network } from "hardhat";
import type { Abi, Address, Hex } from "viem";

const require = createRequire(import.meta.url);

export const PROBE_SOURCE = `// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

contract EngineProbe {
    struct TrainingSpec {
        uint16 version;
        uint32[] widths;
        uint32 batchSize;
        uint32 steps;
        uint32 checkpointInterval;
        uint8 lrShift;
        uint32 evalSize;
    }

    struct DatasetRef {
        bytes32 trainRoot;
        uint32 trainCount;
        bytes32 evalRoot;
        uint32 evalCount;
        uint32 features;
        uint32 classes;
    }

    function encode(TrainingSpec calldata spec) external pure returns (bytes memory) {
        return abi.encode(spec);
    }

    function specId(TrainingSpec calldata spec) external pure returns (bytes32) {
        return keccak256(abi.encode(spec));
    }

    function encodeV2(TrainingSpec calldata spec, DatasetRef calldata dataset) external pure returns (bytes memory) {
        return abi.encode(spec, dataset);
    }

    function specIdV2(TrainingSpec calldata spec, DatasetRef calldata dataset) external pure returns (bytes32) {
        return keccak256(abi.encode(spec, dataset));
    }

    function verifyExample(bytes32[] calldata proof, bytes32 root, uint32 index, uint32 label, bytes32 featuresRoot)
        external
        pure
        returns (bool)
    {
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(index, label, featuresRoot))));
        return MerkleProof.verify(proof, root, leaf);
    }

    function verifyCheckpoint(
        bytes32[] calldata proof,
        bytes32 root,
        uint32 index,
        bytes32 checkpointHash,
        bytes32 parameterRoot,
        bytes32 stepRoot
    ) external pure returns (bool) {
        bytes32 leaf =
            keccak256(bytes.concat(keccak256(abi.encode(index, checkpointHash, parameterRoot, stepRoot))));
        return MerkleProof.verify(proof, root, leaf);
    }
}
`;

interface SolcOutput {
  errors?: { severity: string; formattedMessage: string }[];
  contracts: Record<string, Record<string, { abi: Abi; evm: { bytecode: { object: string } } }>>;
}

function compileProbe(): { abi: Abi; bytecode: Hex } {
  const solc = require("solc") as { compile(input: string, callbacks: object): string };
  const input = {
    language: "Solidity",
    sources: { "EngineProbe.sol": { content: PROBE_SOURCE } },
    settings: { evmVersion: "cancun", outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } } },
  };
  const findImports = (path: string) => {
    try {
      return { contents: readFileSync(require.resolve(path), "utf8") };
    } catch {
      return { error: `not found: ${path}` };
    }
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports })) as SolcOutput;
  const errors = (output.errors ?? []).filter((e) => e.severity === "error");
  if (errors.length > 0) throw new Error(errors.map((e) => e.formattedMessage).join("\n"));
  const contract = output.contracts["EngineProbe.sol"].EngineProbe;
  return { abi: contract.abi, bytecode: `0x${contract.evm.bytecode.object}` };
}

export interface Probe {
  read(functionName: string, args: readonly unknown[]): Promise<unknown>;
}

let probe: Promise<Probe> | undefined;

/** The deployed probe (compiled and deployed once per test process). */
export function deployProbe(): Promise<Probe> {
  probe ??= (async () => {
    const { abi, bytecode } = compileProbe();
    const { viem } = await network.create();
    const [wallet] = await viem.getWalletClients();
    const client = await viem.getPublicClient();
    const hash = await wallet.deployContract({ abi, bytecode, args: [] });
    const receipt = await client.waitForTransactionReceipt({ hash });
    const address = receipt.contractAddress as Address;
    return {
      read: (functionName: string, args: readonly unknown[]) =>
        client.readContract({ address, abi, functionName, args: [...args] }),
    };
  })();
  return probe;
}
