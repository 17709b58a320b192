/**
 * The whole current PoAI suite in one module: `npx hardhat ignition deploy ignition/modules/PoAI.ts
 * --network <name> --parameters ignition/parameters/<name>.json`, or `npx poai deploy`, which also
 * checks the parameters and the role holders first and writes `deployments/<network>.json`.
 *
 * Layers, each its own module so a later layer plugs in with one `m.useModule`:
 *   PoAIToken | ExternalToken  ->  PoAIStaking  ->  PoAIChallenges  ->  PoAIRewards  ->  PoAIInference
 *   ->  PoAIJobs  ->  PoAIGovernance (the timelock takes over; the deployer keeps nothing)  ->  PoAINetwork
 * A layer built on the network (the inference marketplace, say) does
 * `const poai = m.useModule(rewardsModule(source))`, reads `poai.manager`, `poai.staking`…, grants
 * its roles to its contracts, and is added to `networkLayers` below, so that governance takes over
 * only after its calls (the deployer is the AccessManager's admin until then).
 */
import { buildModule, type IgnitionModule } from "@nomicfoundation/ignition-core";
import { buildGovernance, type GovernanceMode } from "./Governance.js";
import { jobsModule } from "./Jobs.js";
import type { TokenSource } from "./Token.js";

/** Every layer deployed before governance takes over (a new layer over the network goes here). */
export function networkLayers(source: TokenSource): IgnitionModule[] {
  return [jobsModule(source)];
}

const build = (source: TokenSource, mode: GovernanceMode) =>
  buildModule("PoAINetwork", (m) => {
    const governed = m.useModule(buildGovernance(source, mode, networkLayers(source)));
    const jobs = m.useModule(jobsModule(source));
    return { ...jobs, ...governed };
  });

const cache = new Map<string, ReturnType<typeof build>>();

/**
 * Every contract of the current suite, over a fresh token or the one in `ExternalToken.address`;
 * governance by the timelock (`mode` "timelock", the default), or the development fast path
 * ("devGovernor": the deployer also stays GOVERNOR; `poai deploy` takes it on local chains only).
 */
export function poaiModule(source: TokenSource = "fresh", mode: GovernanceMode = "timelock") {
  const key = `${source}:${mode}`;
  let module = cache.get(key);
  if (!module) cache.set(key, (module = build(source, mode)));
  return module;
}

/** The suite with a fresh PoAIToken. `PoAIExistingToken.ts` deploys it over an existing token. */
export default poaiModule("fresh");
