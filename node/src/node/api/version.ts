/** The version `/info` reports: the SDK's own, marked as PoAI's node. */
import { createRequire } from "node:module";

const pkg = createRequire(import.meta.url)("../../../package.json") as { version: string };
export const INFERENCE_NODE_VERSION = `poai-${pkg.version}`;
