/**
 * The whole current PoAI suite in one module: `npx hardhat ignition deploy ignition/modules/PoAI.ts
 * --network <name> --parameters ignition/parameters/<name>.json`, or `npx poai deploy`, which also
 * writes `deployments/<network>.json`.
 *
 * Layers, each its own module so a later layer plugs in with one `m.useModule`:
 *   PoAIToken | ExternalToken  ->  PoAIStaking  ->  PoAIChallenges  ->  PoAIRewards  ->  PoAIInference
 *   ->  PoAINetwork
 * A layer built on the network (the inference coordinator, say) does
 * `const poai = m.useModule(poaiModule(source))` and reads `poai.manager`, `poai.staking`…
 */
import { buildModule } from "@nomicfoundation/ignition-core";
import { inferenceModule } from "./Inference.js";
import type { TokenSource } from "./Token.js";

const build = (source: TokenSource) =>
  buildModule("PoAINetwork", (m) => {
    const poai = m.useModule(inferenceModule(source));
    return poai;
  });

const cache = new Map<TokenSource, ReturnType<typeof build>>();

/** Every contract of the current suite, over a fresh token or the one in `ExternalToken.address`. */
export function poaiModule(source: TokenSource = "fresh") {
  let module = cache.get(source);
  if (!module) cache.set(source, (module = build(source)));
  return module;
}

/** The suite with a fresh PoAIToken. `PoAIExistingToken.ts` deploys it over an existing token. */
export default poaiModule("fresh");
