/**
 * The staking layer: the AccessManager, the token, Staking (linked to its libraries) and
 * StakingLens: `slash` belongs to SLASHER; `setParams`, the slash-window sources and the reward
 * distributor (`setRewardDistributor`, once) to GOVERNOR; `notifyReward` is open (anyone may add to
 * a pool's rewards). No account is given SLASHER here: the Proof-of-AI layer grants it to the
 * ChallengeManager. The deployer is the AccessManager's admin and holds GOVERNOR while the
 * deployment runs (setup calls of the layers above need it); `PoAIGovernance` hands both to the
 * `PoAITimelock` at the end and takes them from the deployer.
 *
 * Parameters (module `PoAIStaking`): `epochLength` (seconds, immutable), the `StakingParams`
 * fields (`minTrainerStake`, `minValidatorStake` in token wei, `unbondingPeriod`, `jailCooldown`,
 * `commissionDelay` in seconds, `maxCommissionChangeBps`, `finderFeeBps`, `maxSlashFraction` as
 * a WAD fraction).
 */
import { buildModule } from "@nomicfoundation/ignition-core";
import { toFunctionSelector } from "viem";
import { DEFAULT_PARAMS, STAKING_LIBRARIES } from "../../scripts/lib/deploy.js";
import { ROLES } from "../../scripts/lib/roles.js";
import { ExistingTokenModule, FreshTokenModule, type TokenSource } from "./Token.js";

export const STAKING_SELECTORS = {
  slash: toFunctionSelector("slash(address,uint256,address[],bool)"),
  slashAt: toFunctionSelector("slash(address,uint256,address[],bool,uint256)"),
  slashTo: toFunctionSelector("slashTo(address,uint256,uint256,address,uint256)"),
  pardon: toFunctionSelector("pardon(address)"),
  slashHeld: toFunctionSelector("slashHeld(address,uint256,address[],bool,uint256,bytes32)"),
  returnHeld: toFunctionSelector("returnHeld(address,bytes32,address)"),
  lockHolds: toFunctionSelector("lockHolds(address,bytes32)"),
  setParams: toFunctionSelector("setParams((uint128,uint128,uint40,uint40,uint40,uint16,uint16,uint64))"),
  addSlashSource: toFunctionSelector("addSlashSource(address)"),
  removeSlashSource: toFunctionSelector("removeSlashSource(address)"),
  setRewardDistributor: toFunctionSelector("setRewardDistributor(address)"),
} as const;

const build = (source: TokenSource) =>
  buildModule("PoAIStaking", (m) => {
    const deployer = m.getAccount(0);
    const { token } = source === "fresh" ? m.useModule(FreshTokenModule) : m.useModule(ExistingTokenModule);
    const manager = m.contract("PoAIAccessManager", [deployer]);
    const p = (name: keyof typeof DEFAULT_PARAMS) => m.getParameter(name, DEFAULT_PARAMS[name]);
    const libraries = Object.fromEntries(STAKING_LIBRARIES.map((name) => [name, m.library(name)]));
    const staking = m.contract(
      "Staking",
      [
        token,
        manager,
        m.getParameter("epochLength", 86_400),
        {
          minTrainerStake: p("minTrainerStake"),
          minValidatorStake: p("minValidatorStake"),
          unbondingPeriod: p("unbondingPeriod"),
          jailCooldown: p("jailCooldown"),
          commissionDelay: p("commissionDelay"),
          maxCommissionChangeBps: p("maxCommissionChangeBps"),
          finderFeeBps: p("finderFeeBps"),
          maxSlashFraction: p("maxSlashFraction"),
        },
      ],
      { libraries },
    );
    const lens = m.contract("StakingLens", [staking]);

    const guarded = [
      [
        "Slash",
        [
          STAKING_SELECTORS.slash,
          STAKING_SELECTORS.slashAt,
          STAKING_SELECTORS.slashTo,
          STAKING_SELECTORS.pardon,
          STAKING_SELECTORS.slashHeld,
          STAKING_SELECTORS.returnHeld,
          STAKING_SELECTORS.lockHolds,
        ],
        ROLES.SLASHER,
      ],
      [
        "SetParams",
        [
          STAKING_SELECTORS.setParams,
          STAKING_SELECTORS.addSlashSource,
          STAKING_SELECTORS.removeSlashSource,
          STAKING_SELECTORS.setRewardDistributor,
        ],
        ROLES.GOVERNOR,
      ],
    ] as const;
    for (const [id, selectors, role] of guarded) {
      m.call(manager, "setTargetFunctionRole", [staking, [...selectors], role], { id: `Staking${id}Role` });
    }
    // Until the handover (`PoAIGovernance`): the deployer governs the setup of the layers above.
    m.call(manager, "grantRole", [ROLES.GOVERNOR, deployer, 0], { id: "GrantDeployerGovernor" });
    return { manager, token, staking, lens };
  });

const cache = new Map<TokenSource, ReturnType<typeof build>>();

/** The staking layer over a fresh or an existing token (one module object per source). */
export function stakingModule(source: TokenSource = "fresh") {
  let module = cache.get(source);
  if (!module) cache.set(source, (module = build(source)));
  return module;
}

export default stakingModule("fresh");
