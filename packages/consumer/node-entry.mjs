/* global console */
// An operator's plain-Node script: loads every entry point of the installed @poai/node.
import { InferenceNode, TrainerDaemon, TrainerStore } from "@poai/node";
import { buildDataset } from "@poai/node/data";
import { ValidatorDaemon, auditChallenge } from "@poai/node/verifier";

const entries = { InferenceNode, TrainerDaemon, TrainerStore, ValidatorDaemon, auditChallenge, buildDataset };
console.log(JSON.stringify(Object.fromEntries(Object.entries(entries).map(([k, v]) => [k, typeof v]))));
