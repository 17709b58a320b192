/**
 * Ids, seeds and commitments of the Proof-of-AI protocol, computed exactly as the contracts compute
 * them (`keccak256(abi.encode(...))` of the same types in the same order; a challenge id packs its
 * trainer and round), so that an off-chain
 * party derives them without a call and checks them against the chain.
 */
import { bytesToHex, encodeAbiParameters, keccak256, type Address, type Hex } from "viem";
import { checkAddress } from "../validate.js";
import { encodeVerdict, type VerdictInput } from "./enums.js";
import { checkBytes32, checkRound, checkSmallUint } from "./validate.js";

/**
 * `ChallengeManager.challengeId`: the trainer in the high 160 bits and the round in the low 96
 * (`bytes32(uint256(uint160(trainer)) << 96 | round)`), so that an id names its trainer.
 */
export function challengeId(trainer: Address, round: bigint | number): Hex {
  const address = checkAddress("trainer", trainer).slice(2).toLowerCase();
  return `0x${address}${checkRound("round", round).toString(16).padStart(24, "0")}`;
}

/**
 * The seed of `trainer`'s challenge in `round`: `keccak256(abi.encode(beacon(round), trainer, round))`
 * (`ChallengeManager.challengeSeed`). The trainer trains `specFor(round, seed)` from it.
 */
export function challengeSeed(beaconValue: Hex, trainer: Address, round: bigint | number): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: "bytes32" }, { type: "address" }, { type: "uint256" }],
      [
        checkBytes32("beaconValue", beaconValue),
        checkAddress("trainer", trainer),
        checkRound("round", round),
      ],
    ),
  );
}

/**
 * The audit seed of challenge `id`: `keccak256(abi.encode(beacon(round + 1), id))`, where `round`
 * is the challenge's round (`ChallengeManager.auditSeed`). Committees are drawn from it and members
 * sample their segments from it.
 */
export function auditSeed(beaconValueNextRound: Hex, id: Hex): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: "bytes32" }, { type: "bytes32" }],
      [checkBytes32("beaconValueNextRound", beaconValueNextRound), checkBytes32("id", id)],
    ),
  );
}

/** What a committee member commits to: its verdict, the segment it names, its measured score and a salt. */
export interface VerdictCommitmentInput {
  id: Hex;
  verdict: VerdictInput;
  /** The failing segment of an `Invalid` verdict (by convention 0 for the other verdicts). */
  segment: number;
  /** The evaluation accuracy the member measured, in basis points. */
  measuredScoreBps: number;
  salt: Hex;
  validator: Address;
}

/**
 * `ChallengeManager.verdictCommitment`:
 * `keccak256(abi.encode(id, verdict, segment, measuredScoreBps, salt, validator))` with the types
 * `(bytes32, uint8, uint32, uint16, bytes32, address)`. Binding the validator keeps a member from
 * copying another's commitment.
 */
export function verdictCommitment(input: VerdictCommitmentInput): Hex {
  return keccak256(
    encodeAbiParameters(
      [
        { type: "bytes32" },
        { type: "uint8" },
        { type: "uint32" },
        { type: "uint16" },
        { type: "bytes32" },
        { type: "address" },
      ],
      [
        checkBytes32("id", input.id),
        encodeVerdict(input.verdict),
        checkSmallUint("segment", input.segment, 0, 0xffff_ffff),
        checkSmallUint("measuredScoreBps", input.measuredScoreBps, 0, 10_000),
        checkBytes32("salt", input.salt),
        checkAddress("validator", input.validator),
      ],
    ),
  );
}

/**
 * `RandomnessBeacon.commitmentOf`: `keccak256(abi.encode(secret, validator, round))`, what a
 * validator commits to the beacon of `round` before it reveals `secret`.
 */
export function beaconCommitment(secret: Hex, validator: Address, round: bigint | number): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: "bytes32" }, { type: "address" }, { type: "uint256" }],
      [checkBytes32("secret", secret), checkAddress("validator", validator), checkRound("round", round)],
    ),
  );
}

/**
 * 32 bytes from the platform's cryptographic random generator (`crypto.getRandomValues`, in
 * browsers and Node alike): a verdict salt or a beacon secret. Persist it before sending the
 * commitment that depends on it; without it the commitment can never be revealed.
 */
export function newSalt(): Hex {
  const bytes = new Uint8Array(32);
  globalThis.crypto.getRandomValues(bytes);
  return bytesToHex(bytes);
}
