/**
 * Deploys a DisputeGame with its linked libraries: DisputeBinding (the code that binds a game to a
 * challenge) and StepProver (the one-step proof), so that the game stays under the contract size
 * limit.
 */
import type { HardhatViemHelpers } from "@nomicfoundation/hardhat-viem/types";
import { zeroAddress, type Address } from "viem";

/** The DisputeGame's constructor arguments. */
export type DisputeGameArgs = {
  token: Address;
  /**
   * Seconds each party has for each move (the game accepts 60 .. 1 day). Staking adds the game as
   * a slash source only if `slashWindow()` (about `MAX_MOVES` × `moveTimeout` plus the dispute
   * windows) fits in its unbonding period: with a 7-day unbonding that is just under an hour a move.
   */
  moveTimeout: bigint;
  /** Bond each party posts. */
  bond: bigint;
  /** Staking, which slashes losers (zero: no slashing). */
  staking?: Address;
  /** Fraction (1e18 = 100%) of a losing defender's (or overruled member's) stake slashed. */
  slashFraction?: bigint;
  /** The ChallengeManager whose challenges bound games dispute (zero: none). */
  challenges?: Address;
  /** Seconds after a challenge's points close during which a bound game may be opened. */
  disputeWindow?: bigint;
};

/** Deploys DisputeBinding and StepProver, then DisputeGame linked to them. */
export async function deployDisputeGame(viem: HardhatViemHelpers, args: DisputeGameArgs) {
  const binding = await viem.deployContract("DisputeBinding");
  const prover = await viem.deployContract("StepProver");
  return viem.deployContract(
    "DisputeGame",
    [
      args.token,
      args.moveTimeout,
      args.bond,
      args.staking ?? zeroAddress,
      args.slashFraction ?? 0n,
      args.challenges ?? zeroAddress,
      args.disputeWindow ?? 0n,
    ],
    { libraries: { DisputeBinding: binding.address, StepProver: prover.address } },
  );
}
