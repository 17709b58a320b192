/**
 * The Proof-of-AI layer over the staking layer: TaskRegistry, RandomnessBeacon and
 * ChallengeManager. The governor registers, activates and retires specs and sets the challenge
 * parameters; the ChallengeManager is granted SLASHER and registered as a slash-window source of
 * Staking (as `scripts/lib/deploy.ts` does).
 *
 * Parameters (module `PoAIChallenges`): the `ChallengeParams` fields (`commitWindow`,
 * `revealWindow`, `finalizeGrace`, `replayWindow` in seconds, `committeeSize`, `quorumBps`,
 * `minReveals`, `maxDeviationBps`, `scoreToleranceBps`, `maxMisses`, `maxExtensions`, and
 * `fraudSlash`, `withholdSlash`, `missSlash`, `verdictSlash`, `beaconSlash` as WAD fractions,
 * `poolSeats`: the seats a member of a round's committee pool holds on average, 0 for no pool),
 * and `beaconContributors` (the beacon's contributors per round, default 32).
 * The windows' defaults are a quarter of a one-day epoch (the replay window an eighth); `poai
 * deploy` derives them from the network's `epochLength` when the parameters file leaves them out.
 */
import { buildModule } from "@nomicfoundation/ignition-core";
import { toFunctionSelector } from "viem";
import { challengeManagerAbi } from "@poai/sdk";
import {
  BEACON_CONTRIBUTORS,
  defaultChallengeParams,
  hasSlashWindow,
  type ChallengeParams,
} from "../../scripts/lib/deploy.js";
import { ROLES } from "../../scripts/lib/roles.js";
import { stakingModule } from "./Staking.js";
import type { TokenSource } from "./Token.js";

export const REGISTRY_SELECTORS = [
  toFunctionSelector(
    "registerSpec((uint16,uint32[],uint32,uint32,uint32,uint8,uint32),(uint32,uint16,uint16,uint16))",
  ),
  toFunctionSelector("setSpecParams(bytes32,(uint32,uint16,uint16,uint16))"),
  toFunctionSelector("activate(bytes32)"),
  toFunctionSelector("retire(bytes32)"),
] as const;

export const CHALLENGE_SELECTORS = [
  toFunctionSelector(
    "setParams((uint32,uint32,uint32,uint32,uint16,uint16,uint16,uint16,uint16,uint16,uint16,uint64,uint64,uint64,uint64,uint64,uint16))",
  ),
] as const;

/** `ChallengeManager.overrule`: a dispute game granted ROLES.DISPUTES overrules a verdict it proved wrong. */
export const OVERRULE_SELECTOR = toFunctionSelector("overrule(bytes32)");

const DEFAULTS = defaultChallengeParams(86_400);

const build = (source: TokenSource) =>
  buildModule("PoAIChallenges", (m) => {
    const staking = m.useModule(stakingModule(source));
    const { manager } = staking;
    const p = (name: keyof ChallengeParams) => m.getParameter(name, DEFAULTS[name]);
    const registry = m.contract("TaskRegistry", [staking.staking, manager]);
    const beacon = m.contract("RandomnessBeacon", [
      staking.staking,
      m.getParameter("beaconContributors", BEACON_CONTRIBUTORS),
    ]);
    const challengeParams = m.library("ChallengeParams");
    const challengeCold = m.library("ChallengeCold");
    const challenges = m.contract(
      "ChallengeManager",
      [
        staking.staking,
        registry,
        beacon,
        manager,
        {
          commitWindow: p("commitWindow"),
          revealWindow: p("revealWindow"),
          finalizeGrace: p("finalizeGrace"),
          replayWindow: p("replayWindow"),
          committeeSize: p("committeeSize"),
          quorumBps: p("quorumBps"),
          minReveals: p("minReveals"),
          maxDeviationBps: p("maxDeviationBps"),
          scoreToleranceBps: p("scoreToleranceBps"),
          maxMisses: p("maxMisses"),
          maxExtensions: p("maxExtensions"),
          fraudSlash: p("fraudSlash"),
          withholdSlash: p("withholdSlash"),
          missSlash: p("missSlash"),
          verdictSlash: p("verdictSlash"),
          beaconSlash: p("beaconSlash"),
          poolSeats: p("poolSeats"),
        },
      ],
      { libraries: { ChallengeParams: challengeParams, ChallengeCold: challengeCold } },
    );
    m.call(manager, "setTargetFunctionRole", [registry, [...REGISTRY_SELECTORS], ROLES.GOVERNOR], {
      id: "RegistryGovernorRole",
    });
    m.call(manager, "setTargetFunctionRole", [challenges, [...CHALLENGE_SELECTORS], ROLES.GOVERNOR], {
      id: "ChallengesGovernorRole",
    });
    m.call(manager, "setTargetFunctionRole", [challenges, [OVERRULE_SELECTOR], ROLES.DISPUTES], {
      id: "ChallengesDisputesRole",
    });
    m.call(manager, "grantRole", [ROLES.SLASHER, challenges, 0], { id: "GrantChallengesSlasher" });
    if (hasSlashWindow(challengeManagerAbi))
      m.call(staking.staking, "addSlashSource", [challenges], {
        id: "ChallengesSlashSource",
        after: [stakingModule(source)], // the governor role and its selectors are in place
      });
    return { ...staking, registry, beacon, challenges };
  });

const cache = new Map<TokenSource, ReturnType<typeof build>>();

/** The staking and Proof-of-AI layers over a fresh or an existing token. */
export function challengesModule(source: TokenSource = "fresh") {
  let module = cache.get(source);
  if (!module) cache.set(source, (module = build(source)));
  return module;
}

export default challengesModule("fresh");
