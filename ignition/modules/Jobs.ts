/**
 * Paid training jobs over the inference marketplace: the JobRegistry, wired as
 * `scripts/lib/deploy-jobs.ts` wires it: it holds JOBS (registers job specs in the TaskRegistry,
 * credits job payments and sets royalty splits in the RewardDistributor, binds job models in the
 * ModelRegistry); the ChallengeManager's job board is the registry (its runs are challenges);
 * `setParams` and `setModelRegistry` of the registry and `setJobBoard` belong to GOVERNOR.
 *
 * The FederatedJobs contract (docs/federated.md) joins here: JOBS (round payments), SLASHER and a
 * slash source of Staking (repeated deviation), `setSlashFraction` GOVERNOR's.
 *
 * The ScoreGame (docs/disputes.md, "Score games") joins with its InferenceDisputeGame: SLASHER and
 * a slash source of Staking (a disproven trainer), set in the JobRegistry (`setScoreGame`,
 * GOVERNOR's), so a run's reported accuracy counts once its window has passed undisproven.
 *
 * Parameters (module `PoAIJobs`): `federatedSlashFraction` (1e18 = 100%, default 5%), `jobCommitteeBps`, `jobProtocolBps`, `jobMaxOwnerRoyaltyBps`,
 * `jobAuditSamples`, `jobResponseDeadline` (seconds), `jobTreasury` (default the deployer),
 * `scoreMoveTimeout`, `scoreBond`, `scoreInferenceBond`, `scoreSlashFraction`, `scoreOpenWindow`
 * (defaults: `defaultScoreGameArgs` for one-day epochs).
 */
import { buildModule } from "@nomicfoundation/ignition-core";
import { JOB_SELECTORS } from "../../scripts/lib/deploy-jobs.js";
import { defaultScoreGameArgs } from "../../scripts/lib/deploy-disputes.js";
import { DEFAULT_FED_SLASH_FRACTION, FED_SELECTORS } from "../../scripts/lib/deploy-federated.js";
import { ROLES } from "../../scripts/lib/roles.js";
import { inferenceModule } from "./Inference.js";
import type { TokenSource } from "./Token.js";

export const DEFAULT_JOB_PARAMS = {
  jobCommitteeBps: 1000,
  jobProtocolBps: 500,
  jobMaxOwnerRoyaltyBps: 8000,
  jobAuditSamples: 4,
  jobResponseDeadline: 6 * 3600,
} as const;

const S = JOB_SELECTORS;
const SCORE = defaultScoreGameArgs(24n * 3600n);

const build = (source: TokenSource) =>
  buildModule("PoAIJobs", (m) => {
    const deployer = m.getAccount(0);
    const poai = m.useModule(inferenceModule(source));
    const { manager, challenges, registry, distributor, models } = poai;
    const p = <K extends keyof typeof DEFAULT_JOB_PARAMS>(name: K) =>
      m.getParameter(name, DEFAULT_JOB_PARAMS[name]);
    const jobs = m.contract("JobRegistry", [
      challenges,
      distributor,
      models,
      manager,
      {
        committeeBps: p("jobCommitteeBps"),
        protocolBps: p("jobProtocolBps"),
        maxOwnerRoyaltyBps: p("jobMaxOwnerRoyaltyBps"),
        auditSamples: p("jobAuditSamples"),
        responseDeadline: p("jobResponseDeadline"),
        treasury: m.getParameter("jobTreasury", deployer),
      },
    ]);
    const role = (id: string, target: typeof jobs | typeof registry, selectors: string[], r: bigint) =>
      m.call(manager, "setTargetFunctionRole", [target, selectors, r], { id });
    role("JobSpecRole", registry, [S.registerJobSpec], ROLES.JOBS);
    m.call(manager, "setTargetFunctionRole", [distributor, [S.creditFees, S.setRoyaltySplit], ROLES.JOBS], {
      id: "JobRewardsRole",
    });
    m.call(manager, "setTargetFunctionRole", [models, [S.registerJobModel], ROLES.JOBS], {
      id: "JobModelsRole",
    });
    const jobsRole = m.call(
      manager,
      "setTargetFunctionRole",
      [jobs, [S.jobSetParams, S.setModelRegistry, S.setScoreGame], ROLES.GOVERNOR],
      { id: "JobGovernorRole" },
    );
    const boardRole = m.call(
      manager,
      "setTargetFunctionRole",
      [challenges, [S.setJobBoard], ROLES.GOVERNOR],
      {
        id: "JobBoardGovernorRole",
      },
    );
    m.call(manager, "grantRole", [ROLES.JOBS, jobs, 0], { id: "GrantJobsRole" });
    m.call(challenges, "setJobBoard", [jobs], { id: "ConnectJobBoard", after: [boardRole] });

    // The score game (scripts/lib/deploy-disputes.ts, deployScoreGame): its inference game, SLASHER,
    // a slash source of Staking, set in the JobRegistry.
    const moveTimeout = m.getParameter("scoreMoveTimeout", SCORE.moveTimeout);
    const scoreGame = m.contract("ScoreGame", [
      poai.token,
      jobs,
      poai.staking,
      moveTimeout,
      m.getParameter("scoreBond", SCORE.bond),
      m.getParameter("scoreSlashFraction", SCORE.slashFraction),
      m.getParameter("scoreOpenWindow", SCORE.openWindow),
    ]);
    const scoreInference = m.contract(
      "InferenceDisputeGame",
      [poai.token, scoreGame, moveTimeout, m.getParameter("scoreInferenceBond", SCORE.inferenceBond)],
      { id: "ScoreInferenceGame" },
    );
    const bound = m.call(scoreGame, "bind", [scoreInference], { id: "BindScoreInference" });
    m.call(manager, "grantRole", [ROLES.SLASHER, scoreGame, 0], { id: "GrantScoreSlasher" });
    m.call(poai.staking, "addSlashSource", [scoreGame], { id: "ScoreSlashSource", after: [bound] });
    m.call(jobs, "setScoreGame", [scoreGame], { id: "ConnectScoreGame", after: [jobsRole] });

    // Federated jobs (scripts/lib/deploy-federated.ts): JOBS for creditFees, SLASHER for repeated
    // deviation, a slash source of Staking; its slash fraction is GOVERNOR's.
    const federated = m.contract("FederatedJobs", [
      poai.staking,
      poai.beacon,
      distributor,
      manager,
      m.getParameter("federatedSlashFraction", DEFAULT_FED_SLASH_FRACTION),
    ]);
    m.call(manager, "setTargetFunctionRole", [federated, [FED_SELECTORS.setSlashFraction], ROLES.GOVERNOR], {
      id: "FederatedGovernorRole",
    });
    m.call(manager, "grantRole", [ROLES.JOBS, federated, 0], { id: "GrantFederatedJobsRole" });
    m.call(manager, "grantRole", [ROLES.SLASHER, federated, 0], { id: "GrantFederatedSlasher" });
    m.call(poai.staking, "addSlashSource", [federated], { id: "FederatedSlashSource" });
    return { ...poai, jobs, federated, scoreGame, scoreInference };
  });

const cache = new Map<TokenSource, ReturnType<typeof build>>();

/** The suite with paid jobs, over a fresh or an existing token. */
export function jobsModule(source: TokenSource = "fresh") {
  let module = cache.get(source);
  if (!module) cache.set(source, (module = build(source)));
  return module;
}

export default jobsModule("fresh");
