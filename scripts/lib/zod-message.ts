/**
 * One sentence per zod issue, naming the field (its dotted path) and the value found there, for
 * config and parameter files: `trainer.port: expected an integer in 0..65535, got "abc"`.
 */
import type { z } from "zod";

/** A value as it appears in error messages (strings quoted, bigints with an `n`). */
export function showValue(value: unknown): string {
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "string") return JSON.stringify(value);
  if (value === undefined || typeof value !== "object" || value === null) return String(value);
  try {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v));
  } catch {
    return String(value);
  }
}

function valueAt(input: unknown, path: readonly (string | number)[]): unknown {
  let v: unknown = input;
  for (const key of path) {
    if (typeof v !== "object" || v === null) return undefined;
    v = (v as Record<string | number, unknown>)[key];
  }
  return v;
}

function expectation(issue: z.ZodIssue): string {
  switch (issue.code) {
    case "invalid_type":
      return issue.received === "undefined"
        ? `a value (the field is required: ${issue.message})`
        : issue.message.startsWith("Expected ")
          ? `a${/^[aeiou]/.test(issue.expected) ? "n" : ""} ${issue.expected}`
          : issue.message;
    case "unrecognized_keys":
      return `no other keys (unknown: ${issue.keys.join(", ")})`;
    case "too_small":
      return issue.type === "number"
        ? `a number ${issue.inclusive ? ">=" : ">"} ${issue.minimum}`
        : issue.message;
    case "too_big":
      return issue.type === "number"
        ? `a number ${issue.inclusive ? "<=" : "<"} ${issue.maximum}`
        : issue.message;
    default:
      return issue.message;
  }
}

/** Every issue of `error` as `field: expected …, got …`, joined with `; `. */
export function describeZodError(input: unknown, error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const field = issue.path.length ? issue.path.join(".") : "(the whole file)";
      const value =
        issue.code === "unrecognized_keys"
          ? issue.keys.map((k) => `${k}: ${showValue(valueAt(input, [...issue.path, k]))}`).join(", ")
          : showValue(valueAt(input, issue.path));
      return `${field}: expected ${expectation(issue)}, got ${value}`;
    })
    .join("; ");
}
