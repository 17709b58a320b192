/**
 * `@poai/node/disputes`: the daemons' dispute games (docs/disputes.md, "Daemons"). The
 * {@link DisputePlayer} plays one game for one role, every move on disk before it is sent;
 * `ChallengerDisputes` opens and plays a validator's bound games, `DefenderDisputes` finds and
 * defends the games against a trainer's runs; `DisputeStore` holds them in the daemon's database.
 */
export {
  DEFAULT_DEADLINE_WARN_SECONDS,
  DisputePlayer,
  stateKey,
  type DisputePlayerOptions,
  type GameStatus,
  type PlayOutcome,
  type PlayerHooks,
} from "./player.js";
export { ChallengerDisputes, type ChallengerOptions, type DisputeCandidate } from "./challenger.js";
export { DefenderDisputes, type DefenderOptions } from "./defender.js";
export { openBoundGame } from "./open.js";
export {
  DISPUTE_TABLES,
  DisputeStore,
  type DisputeRole,
  type GameRecord,
  type GameState,
  type MoveRecord,
  type MoveStatus,
  type OpenRecord,
} from "./store.js";
