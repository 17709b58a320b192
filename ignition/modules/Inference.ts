/**
 * The inference marketplace over the reward layer: the ModelRegistry, the Fee, the
 * EIP712Coordinator (which creates the marketplace's Registry, Inbox, WalletFactory and Reader) and
 * the PoAIVerifier, wired as `scripts/lib/deploy-inference.ts` wires them: the Fee's setters, the
 * ModelRegistry's governance functions (activate, approve royalties, reassign, clear) and the
 * PoAIVerifier's parameters, fees, wallet and withdrawals belong to GOVERNOR; the Coordinator holds
 * COORDINATOR (it reports usage fees to the RewardDistributor) and the PoAIVerifier SLASHER. The
 * PoAIVerifier accepts ETH and the staking token, at `verifierFee` each.
 *
 * Parameters (module `PoAIInference`): `protocolFeeBps` (charged twice on each payment),
 * `feeRecipient` (default the deployer), `commitRevealWindow` (seconds, commit-reveal
 * subscriptions), `disputeWindow` (seconds; with the epoch it must stay shorter than Staking's
 * unbonding period, `defaultDisputeWindow` picks one that does), `disputeSlashFraction` (WAD),
 * `disputeJail`, `verifierWallet` (default the deployer), `verifierFee` (token wei),
 * `gameMoveTimeout` (seconds per move of the InferenceDisputeGame, 60 .. 1 day; the longest game,
 * `MAX_MOVES` of them, is part of the PoAIVerifier's slash window, so `defaultGameMoveTimeout`
 * picks one that keeps the window under the unbonding period) and `gameBond` (token wei each party
 * of a game posts).
 *
 * The InferenceDisputeGame (docs/disputes.md, "Inference games") is deployed over the PoAIVerifier
 * (its host) and wired with `setGame`: the game needs no role of its own (the verifier settles and
 * slashes when the game reports), and Staking reads the verifier's slash window, which covers the
 * longest game, live.
 */
import { buildModule } from "@nomicfoundation/ignition-core";
import { zeroAddress } from "viem";
import { ROLES } from "../../scripts/lib/roles.js";
import { FEE_GOVERNOR_SELECTORS } from "../../scripts/lib/deploy-infernet.js";
import {
  DEFAULT_VERIFIER_PARAMS,
  MODEL_GOVERNOR_SELECTORS,
  VERIFIER_GOVERNOR_SELECTORS,
} from "../../scripts/lib/deploy-verifier.js";
import { rewardsModule } from "./Rewards.js";
import type { TokenSource } from "./Token.js";

export const DEFAULT_INFERENCE_PARAMS = {
  protocolFeeBps: 0,
  commitRevealWindow: 60,
  disputeSlashFraction: DEFAULT_VERIFIER_PARAMS.slashFraction,
  disputeJail: DEFAULT_VERIFIER_PARAMS.jail,
  verifierFee: 0n,
  gameBond: 10n * 10n ** 18n,
} as const;

/** Moves of the longest inference game (`InferenceDisputeGame.MAX_MOVES`). */
export const INFERENCE_GAME_MAX_MOVES = 48n;
/** The preferred seconds per move of an inference game, and the least the game accepts. */
export const PREFERRED_GAME_MOVE_TIMEOUT = 3600n;
export const MIN_GAME_MOVE_TIMEOUT = 60n;

/**
 * Seconds per move of the inference game for a network: an hour where the unbonding period leaves
 * room for the longest game after an epoch and the dispute window, else the most that does (the
 * PoAIVerifier refuses a game whose `epochLength + disputeWindow + 48 · moveTimeout` reaches
 * `unbondingPeriod`); `MIN_GAME_MOVE_TIMEOUT` when nothing fits (the deployment then fails with
 * the verifier's `SlashWindowReachesUnbonding`, naming both).
 */
export function defaultGameMoveTimeout(
  epochLength: bigint,
  unbondingPeriod: bigint,
  disputeWindow: bigint,
): bigint {
  const room = unbondingPeriod - epochLength - disputeWindow - 1n;
  const most = room > 0n ? room / INFERENCE_GAME_MAX_MOVES : 0n;
  if (most >= PREFERRED_GAME_MOVE_TIMEOUT) return PREFERRED_GAME_MOVE_TIMEOUT;
  return most > MIN_GAME_MOVE_TIMEOUT ? most : MIN_GAME_MOVE_TIMEOUT;
}

/**
 * A dispute window for a network: the PoAIVerifier's default (one day) where Staking's unbonding
 * period leaves room for it, else half of what is left after an epoch (at least its minimum, 60 s).
 * The PoAIVerifier refuses a window whose `epochLength + window` reaches `unbondingPeriod`.
 */
export function defaultDisputeWindow(epochLength: bigint, unbondingPeriod: bigint): bigint {
  const preferred = BigInt(DEFAULT_VERIFIER_PARAMS.disputeWindow);
  if (epochLength + preferred < unbondingPeriod) return preferred;
  const room = unbondingPeriod > epochLength ? (unbondingPeriod - epochLength - 1n) / 2n : 0n;
  return room > 60n ? room : 60n;
}

const build = (source: TokenSource) =>
  buildModule("PoAIInference", (m) => {
    const deployer = m.getAccount(0);
    const poai = m.useModule(rewardsModule(source));
    const { manager, staking, challenges, distributor, token } = poai;
    const p = <K extends keyof typeof DEFAULT_INFERENCE_PARAMS>(name: K) =>
      m.getParameter(name, DEFAULT_INFERENCE_PARAMS[name]);

    const models = m.contract("ModelRegistry", [staking, challenges, manager]);
    const fee = m.contract("Fee", [manager, p("protocolFeeBps"), m.getParameter("feeRecipient", deployer)]);
    const coordinator = m.contract("EIP712Coordinator", [
      staking,
      fee,
      distributor,
      models,
      p("commitRevealWindow"),
    ]);
    const created = (name: "Registry" | "Inbox" | "WalletFactory" | "Reader", getter: string) =>
      m.contractAt(name, m.staticCall(coordinator, getter, [], 0, { id: `Coordinator_${getter}` }), {
        id: `Infernet${name}`,
      });
    const infernetRegistry = created("Registry", "registry");
    const inbox = created("Inbox", "inbox");
    const walletFactory = created("WalletFactory", "walletFactory");
    const reader = created("Reader", "reader");
    const verifier = m.contract("PoAIVerifier", [
      coordinator,
      staking,
      models,
      manager,
      m.getParameter("verifierWallet", deployer),
      {
        disputeWindow: m.getParameter("disputeWindow", DEFAULT_VERIFIER_PARAMS.disputeWindow),
        slashFraction: p("disputeSlashFraction"),
        jail: p("disputeJail"),
      },
    ]);

    m.call(manager, "setTargetFunctionRole", [fee, [...FEE_GOVERNOR_SELECTORS], ROLES.GOVERNOR], {
      id: "FeeGovernorRole",
    });
    m.call(manager, "setTargetFunctionRole", [models, [...MODEL_GOVERNOR_SELECTORS], ROLES.GOVERNOR], {
      id: "ModelRegistryGovernorRole",
    });
    const verifierRole = m.call(
      manager,
      "setTargetFunctionRole",
      [verifier, [...VERIFIER_GOVERNOR_SELECTORS], ROLES.GOVERNOR],
      { id: "PoAIVerifierGovernorRole" },
    );
    m.call(manager, "grantRole", [ROLES.SLASHER, verifier, 0], { id: "GrantVerifierSlasher" });
    // Staking keeps its unbonding period longer than the verifier's slash window (epoch + dispute window).
    m.call(staking, "addSlashSource", [verifier], { id: "VerifierSlashSource" });
    m.call(manager, "grantRole", [ROLES.COORDINATOR, coordinator, 0], { id: "GrantCoordinatorRole" });
    m.call(verifier, "setFee", [zeroAddress, p("verifierFee"), true], {
      id: "VerifierFeeEth",
      after: [verifierRole],
    });
    m.call(verifier, "setFee", [token, p("verifierFee"), true], {
      id: "VerifierFeeToken",
      after: [verifierRole],
    });
    // the bisection game for outputs of any model size; the verifier's slash window grows by its
    // longest game, which Staking reads live
    const inferenceDisputeGame = m.contract("InferenceDisputeGame", [
      token,
      verifier,
      m.getParameter("gameMoveTimeout", PREFERRED_GAME_MOVE_TIMEOUT),
      p("gameBond"),
    ]);
    m.call(verifier, "setGame", [inferenceDisputeGame], { id: "VerifierGame", after: [verifierRole] });

    return {
      ...poai,
      models,
      fee,
      coordinator,
      infernetRegistry,
      inbox,
      walletFactory,
      reader,
      verifier,
      inferenceDisputeGame,
    };
  });

const cache = new Map<TokenSource, ReturnType<typeof build>>();

/** The whole suite with the inference marketplace, over a fresh or an existing token. */
export function inferenceModule(source: TokenSource = "fresh") {
  let module = cache.get(source);
  if (!module) cache.set(source, (module = build(source)));
  return module;
}

export default inferenceModule("fresh");
