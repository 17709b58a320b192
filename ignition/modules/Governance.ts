/**
 * Governance takes over a deployed network: the last step of every PoAI deployment.
 *
 * After every layer (`NETWORK_LAYERS` of `PoAI.ts`) has wired its roles, this module deploys the
 * `PoAITimelock` (at least 2 days between scheduling and executing anything) and, on the
 * `PoAIAccessManager`:
 * 1. guards the stake: a new SLASHER takes effect only `stakeGuardDelay` after its grant, and
 *    re-mapping Staking's functions or changing its authority waits as long (`setGrantDelay`,
 *    `setTargetAdminDelay`; lowering either waits at least 5 days, AccessManager's `minSetback`).
 *    With `stakeGuardDelay` longer than the unbonding period, a delegator who sees such a change
 *    scheduled leaves (undelegates and withdraws) before it can touch its stake;
 * 2. grants GOVERNOR and ADMIN to the timelock;
 * 3. takes GOVERNOR back from the deployer and has it renounce ADMIN: the deployer holds nothing.
 *
 * The development fast path (`devGovernor`: `poai deploy` on a local chain only, chain id 31337 or
 * 1337) leaves the deployer GOVERNOR, so that a local network registers specs and changes
 * parameters in one transaction; ADMIN still goes to the timelock.
 *
 * Parameters (module `PoAIGovernance`): `minDelay` (seconds, default and minimum 2 days),
 * `proposers` (required: the multisig or governor contract that schedules and cancels),
 * `executors` (default `[0x0…0]`: anyone executes a ready operation), `stakeGuardDelay` (seconds,
 * default 8 days: the default unbonding period plus one epoch).
 */
import { buildModule, type Future, type IgnitionModule } from "@nomicfoundation/ignition-core";
import { zeroAddress } from "viem";
import { ROLES } from "../../scripts/lib/roles.js";
import type { TokenSource } from "./Token.js";
import { rewardsModule } from "./Rewards.js";

/** The timelock's shortest delay (`PoAITimelock.MIN_DELAY`). */
export const MIN_GOVERNANCE_DELAY = 2n * 86_400n;
/** Default `stakeGuardDelay`: the default unbonding period (7 days) plus a one-day epoch. */
export const DEFAULT_STAKE_GUARD_DELAY = 8n * 86_400n;

/** How governance takes over: the production handover, or the development fast path. */
export type GovernanceMode = "timelock" | "devGovernor";

/**
 * The governance module over `layers` (each an Ignition module of the network, the reward layer
 * first: its result names the AccessManager and Staking).
 */
export function buildGovernance(
  source: TokenSource,
  mode: GovernanceMode,
  layers: readonly IgnitionModule[],
) {
  return buildModule("PoAIGovernance", (m) => {
    const deployer = m.getAccount(0);
    const poai = m.useModule(rewardsModule(source));
    for (const layer of layers) m.useModule(layer);
    const after = [...layers];
    const { manager, staking } = poai;
    const timelock = m.contract(
      "PoAITimelock",
      [
        m.getParameter("minDelay", MIN_GOVERNANCE_DELAY),
        m.getParameter<string[]>("proposers"),
        m.getParameter<string[]>("executors", [zeroAddress]),
      ],
      { after },
    );
    const guard = m.getParameter("stakeGuardDelay", DEFAULT_STAKE_GUARD_DELAY);
    const steps: Future[] = [
      m.call(manager, "setGrantDelay", [ROLES.SLASHER, guard], { id: "GuardSlasherGrants", after }),
      m.call(manager, "setTargetAdminDelay", [staking, guard], { id: "GuardStakingWiring", after }),
      m.call(manager, "grantRole", [ROLES.GOVERNOR, timelock, 0], { id: "GrantTimelockGovernor", after }),
      m.call(manager, "grantRole", [ROLES.ADMIN, timelock, 0], { id: "GrantTimelockAdmin", after }),
    ];
    if (mode === "timelock") {
      steps.push(
        m.call(manager, "revokeRole", [ROLES.GOVERNOR, deployer], {
          id: "RevokeDeployerGovernor",
          after: steps,
        }),
      );
    }
    m.call(manager, "renounceRole", [ROLES.ADMIN, deployer], { id: "RenounceDeployerAdmin", after: steps });
    return { ...poai, timelock };
  });
}
