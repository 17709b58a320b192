/** AccessManager role ids used by every PoAI deployment (0 is OpenZeppelin's ADMIN_ROLE). */
export const ROLES = {
  ADMIN: 0n,
  GOVERNOR: 1n,
  SLASHER: 2n,
  REWARDER: 3n,
  /** The inference coordinator: reports usage fees to the reward distributor. */
  COORDINATOR: 4n,
} as const;
