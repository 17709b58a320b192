/**
 * The reward layer over the Proof-of-AI layer: the RewardDistributor, connected to Staking once
 * (`setRewardDistributor`: it funds each closed epoch, Staking credits the pools); `setEmission`
 * and `setParams` belong to GOVERNOR, `notifyUsage` to COORDINATOR (the inference marketplace's
 * layer grants it to its Coordinator; no account holds it).
 *
 * Parameters (module `PoAIRewards`): `emission` (token wei per epoch), the `RewardParams` fields
 * (`gammaBps`, `protocolCutBps`, `nodeFeeBps`, `royaltyBps`, `noticeEpochs`) and `treasury`, the
 * address the protocol cut is paid to (required: name a multisig or the governance's own account;
 * `poai deploy` uses the deployer on a local development chain only).
 */
import { buildModule } from "@nomicfoundation/ignition-core";
import { toFunctionSelector } from "viem";
import { ROLES } from "../../scripts/lib/roles.js";
import { challengesModule } from "./Challenges.js";
import type { TokenSource } from "./Token.js";

export const REWARD_GOVERNOR_SELECTORS = [
  toFunctionSelector("setEmission(uint256)"),
  toFunctionSelector("setParams((uint16,uint16,uint16,uint16,uint16,address))"),
] as const;
export const REWARD_COORDINATOR_SELECTORS = [
  toFunctionSelector("notifyUsage(address,address,uint256)"),
] as const;

/** The reward parameters `scripts/lib/deploy.ts` deploys with. */
export const DEFAULT_REWARD_PARAMS = {
  emission: 1000n * 10n ** 18n,
  gammaBps: 1000,
  protocolCutBps: 500,
  nodeFeeBps: 7000,
  royaltyBps: 2000,
  noticeEpochs: 2,
} as const;

const build = (source: TokenSource) =>
  buildModule("PoAIRewards", (m) => {
    const poai = m.useModule(challengesModule(source));
    const { manager } = poai;
    const p = (name: keyof typeof DEFAULT_REWARD_PARAMS) => m.getParameter(name, DEFAULT_REWARD_PARAMS[name]);
    const distributor = m.contract("RewardDistributor", [
      poai.staking,
      poai.challenges,
      manager,
      p("emission"),
      {
        gammaBps: p("gammaBps"),
        protocolCutBps: p("protocolCutBps"),
        nodeFeeBps: p("nodeFeeBps"),
        royaltyBps: p("royaltyBps"),
        noticeEpochs: p("noticeEpochs"),
        treasury: m.getParameter<string>("treasury"),
      },
    ]);
    m.call(manager, "setTargetFunctionRole", [distributor, [...REWARD_GOVERNOR_SELECTORS], ROLES.GOVERNOR], {
      id: "RewardsGovernorRole",
    });
    m.call(
      manager,
      "setTargetFunctionRole",
      [distributor, [...REWARD_COORDINATOR_SELECTORS], ROLES.COORDINATOR],
      { id: "RewardsCoordinatorRole" },
    );
    m.call(poai.staking, "setRewardDistributor", [distributor], {
      id: "ConnectDistributor",
      after: [challengesModule(source)], // the governor role and its selectors are in place
    });
    return { ...poai, distributor };
  });

const cache = new Map<TokenSource, ReturnType<typeof build>>();

/** The staking, Proof-of-AI and reward layers over a fresh or an existing token. */
export function rewardsModule(source: TokenSource = "fresh") {
  let module = cache.get(source);
  if (!module) cache.set(source, (module = build(source)));
  return module;
}

export default rewardsModule("fresh");
