/** AccessManager role ids used by every PoAI deployment (0 is OpenZeppelin's ADMIN_ROLE). */
export const ROLES = {
  ADMIN: 0n,
  GOVERNOR: 1n,
  SLASHER: 2n,
  REWARDER: 3n,
} as const;
