/**
 * The SDK's root entry still names one Node global: `Buffer`, in `checkpointHex` of
 * `sdk/src/actions/output-verifier.ts` (turning checkpoint bytes into hex for `disputeOutput`).
 * The dashboard never calls it, so nothing is shimmed at run time; this declaration only lets the
 * browser type-check (no Node types) pass. Remove it once the SDK's root entry is browser-safe.
 */
declare const Buffer: {
  from(buffer: ArrayBufferLike, byteOffset?: number, length?: number): { toString(encoding: "hex"): string };
};
