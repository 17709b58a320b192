/**
 * JSON values as infernet-node sees them. infernet-node (Python 3.11) parses a container's answer
 * with `json.loads` and delivers any answer that is not the five-key form as
 * `abi.encode(string(str(answer)))`: Python's `repr` of the parsed value. To deliver the same bytes
 * the node must keep what `JSON.parse` loses (integers above 2^53, `1.0` against `1`, `NaN` and
 * `Infinity`, the key order of duplicated keys) and print it by Python's rules:
 *
 * Values (`PyValue`): `null` (None), booleans, `bigint` (int, any size), `number` (float),
 * strings, arrays (list) and `Map<string, PyValue>` (dict, in insertion order).
 *
 * Parsing (`parsePythonJson`, the rules of Python 3.11's `json.loads`):
 * - whitespace is space, tab, CR and LF; anything after the value but whitespace is an error;
 * - numbers: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?`; without fraction or exponent an
 *   int (an error past 4,300 digits: Python's `int` limit), otherwise a float rounded to nearest
 *   (`1e400` is `inf`); the literals `NaN`, `Infinity` and `-Infinity` are floats;
 * - strings: control characters (below U+0020) must be escaped; escapes are `\" \\ \/ \b \f \n \r
 *   \t \uXXXX`; an escaped surrogate pair is one character, a lone escaped surrogate stays;
 * - objects: a repeated key keeps its first position and takes its last value;
 * - nesting deeper than `MAX_DEPTH` is refused (Python fails near its recursion limit of 1,000).
 *
 * Printing (`pythonRepr`, the rules of Python 3.11's `repr`):
 * - None, True, False; ints in decimal; lists `[a, b]`; dicts `{k: v, k2: v2}` (`", "` and `": "`);
 * - floats: `nan`, `inf`, `-inf`, `0.0`, `-0.0`; otherwise the shortest digits that read back to
 *   the same double, written positionally when the decimal exponent (`d.ddd × 10^x`) is in
 *   -4 ≤ x < 16 (with `.0` when there is no fraction), else as `d.ddde±XX` (two exponent digits at
 *   least): `1e+16`, `1e-05`, `0.0001`, `1234567890123456.0`;
 * - strings: quoted with `'` unless the string holds `'` and no `"`, then with `"`; the quote in use
 *   and `\` are escaped with a backslash; `\t \n \r`; other characters below U+0020 and U+007F as
 *   `\xhh`; other characters that are not printable (Unicode 14.0.0 categories Cc, Cf, Cs, Co, Cn,
 *   Zs, Zl, Zp, space excepted) as `\xhh`, `\uhhhh` or `\Uhhhhhhhh` (lower-case hex); everything
 *   else as it is.
 *
 * `pythonJsonDumps` writes a value back as Python's `json.dumps` does (the body infernet-node posts
 * to a container, and its REST answers).
 */
import { UNPRINTABLE_RANGES_14_0 } from "./python-unprintable.js";

/** A JSON value as Python holds it after `json.loads`. */
export type PyValue = null | boolean | bigint | number | string | PyValue[] | PyDict;
/** A Python dict of a JSON object: keys in insertion order. */
export type PyDict = Map<string, PyValue>;

/** Deepest nesting of arrays and objects accepted. */
export const MAX_DEPTH = 512;
/** Python's default limit on the digits of an int read from or written as text. */
export const MAX_INT_DIGITS = 4300;

/** A text that Python's `json.loads` refuses (the position is a UTF-16 index into the text). */
export class PyJsonError extends Error {
  override readonly name = "PyJsonError";
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(`${message} at character ${position}`);
  }
}

const isWs = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const hexValue = (c: number) =>
  c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 87 : c >= 0x41 && c <= 0x46 ? c - 55 : -1;

class Parser {
  i = 0;
  constructor(readonly s: string) {}

  ws(): void {
    while (this.i < this.s.length && isWs(this.s.charCodeAt(this.i))) this.i++;
  }

  fail(message: string, at = this.i): never {
    throw new PyJsonError(message, at);
  }

  value(depth: number): PyValue {
    const s = this.s;
    const c = s.charCodeAt(this.i);
    if (c === 0x22) return this.string();
    if (c === 0x7b) return this.object(depth + 1);
    if (c === 0x5b) return this.array(depth + 1);
    for (const [word, v] of [
      ["null", null],
      ["true", true],
      ["false", false],
      ["NaN", NaN],
      ["Infinity", Infinity],
      ["-Infinity", -Infinity],
    ] as const) {
      if (s.startsWith(word, this.i)) {
        this.i += word.length;
        return v;
      }
    }
    return this.number();
  }

  number(): bigint | number {
    const s = this.s;
    const start = this.i;
    let i = start;
    if (s.charCodeAt(i) === 0x2d) i++;
    if (s.charCodeAt(i) === 0x30) i++;
    else if (isDigit(s.charCodeAt(i)) && s.charCodeAt(i) !== 0x30) {
      while (isDigit(s.charCodeAt(i))) i++;
    } else this.fail("Expecting value", start);
    const intEnd = i;
    let float = false;
    if (s.charCodeAt(i) === 0x2e && isDigit(s.charCodeAt(i + 1))) {
      i += 2;
      while (isDigit(s.charCodeAt(i))) i++;
      float = true;
    }
    const e = s.charCodeAt(i);
    if (e === 0x65 || e === 0x45) {
      let j = i + 1;
      const sign = s.charCodeAt(j);
      if (sign === 0x2b || sign === 0x2d) j++;
      if (isDigit(s.charCodeAt(j))) {
        while (isDigit(s.charCodeAt(j))) j++;
        i = j;
        float = true;
      }
    }
    this.i = i;
    const text = s.slice(start, i);
    if (float) return Number(text);
    const digits = intEnd - start - (s.charCodeAt(start) === 0x2d ? 1 : 0);
    if (digits > MAX_INT_DIGITS) {
      this.fail(`an integer of ${digits} digits exceeds Python's limit of ${MAX_INT_DIGITS}`, start);
    }
    return BigInt(text);
  }

  string(): string {
    const s = this.s;
    const begin = this.i;
    let i = this.i + 1;
    let out = "";
    let run = i;
    for (;;) {
      if (i >= s.length) this.fail("Unterminated string starting", begin);
      const c = s.charCodeAt(i);
      if (c === 0x22) {
        out += s.slice(run, i);
        this.i = i + 1;
        return out;
      }
      if (c < 0x20) this.fail("Invalid control character", i);
      if (c !== 0x5c) {
        i++;
        continue;
      }
      out += s.slice(run, i);
      const esc = s.charCodeAt(i + 1);
      const simple: Record<number, string> = {
        0x22: '"',
        0x5c: "\\",
        0x2f: "/",
        0x62: "\b",
        0x66: "\f",
        0x6e: "\n",
        0x72: "\r",
        0x74: "\t",
      };
      if (esc === 0x75) {
        let code = 0;
        for (let k = 2; k < 6; k++) {
          const h = hexValue(s.charCodeAt(i + k));
          if (h < 0) this.fail("Invalid \\uXXXX escape", i + 1);
          code = code * 16 + h;
        }
        // A surrogate pair, escaped or not, is one character in a JS string as in Python's.
        out += String.fromCharCode(code);
        i += 6;
      } else if (simple[esc] !== undefined) {
        out += simple[esc];
        i += 2;
      } else {
        this.fail("Invalid \\escape", i);
      }
      run = i;
    }
  }

  object(depth: number): PyDict {
    if (depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH}`);
    const map: PyDict = new Map();
    this.i++;
    this.ws();
    if (this.s.charCodeAt(this.i) === 0x7d) {
      this.i++;
      return map;
    }
    for (;;) {
      if (this.s.charCodeAt(this.i) !== 0x22) this.fail("Expecting property name enclosed in double quotes");
      const key = this.string();
      this.ws();
      if (this.s.charCodeAt(this.i) !== 0x3a) this.fail("Expecting ':' delimiter");
      this.i++;
      this.ws();
      // Map.set on a key already present keeps its position: Python's dict does the same.
      map.set(key, this.value(depth));
      this.ws();
      const c = this.s.charCodeAt(this.i);
      if (c === 0x7d) {
        this.i++;
        return map;
      }
      if (c !== 0x2c) this.fail("Expecting ',' delimiter");
      this.i++;
      this.ws();
    }
  }

  array(depth: number): PyValue[] {
    if (depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH}`);
    const list: PyValue[] = [];
    this.i++;
    this.ws();
    if (this.s.charCodeAt(this.i) === 0x5d) {
      this.i++;
      return list;
    }
    for (;;) {
      list.push(this.value(depth));
      this.ws();
      const c = this.s.charCodeAt(this.i);
      if (c === 0x5d) {
        this.i++;
        return list;
      }
      if (c !== 0x2c) this.fail("Expecting ',' delimiter");
      this.i++;
      this.ws();
    }
  }
}

/** Parses `text` as Python's `json.loads` does. @throws PyJsonError */
export function parsePythonJson(text: string): PyValue {
  const p = new Parser(text);
  p.ws();
  if (p.i >= text.length) p.fail("Expecting value");
  const value = p.value(0);
  p.ws();
  if (p.i !== text.length) p.fail("Extra data");
  return value;
}

// --- repr --------------------------------------------------------------------------------------

let unprintable: Uint32Array | undefined;

/** Whether Python 3.11's `str.isprintable` is false for code point `cp`. */
export function isPythonUnprintable(cp: number): boolean {
  if (unprintable === undefined) {
    const parts = UNPRINTABLE_RANGES_14_0.split(",");
    unprintable = new Uint32Array(parts.length * 2);
    parts.forEach((p, k) => {
      const [a, l] = p.split("+");
      const start = parseInt(a!, 36);
      unprintable![2 * k] = start;
      unprintable![2 * k + 1] = start + parseInt(l!, 36);
    });
  }
  const t = unprintable;
  let lo = 0;
  let hi = t.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < t[2 * mid]!) hi = mid - 1;
    else if (cp > t[2 * mid + 1]!) lo = mid + 1;
    else return true;
  }
  return false;
}

const hex = (n: number, width: number) => n.toString(16).padStart(width, "0");

/** Python's `repr` of a str. */
export function reprString(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === quote || ch === "\\") out += "\\" + ch;
    else if (ch === "\t") out += "\\t";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (cp < 0x20 || cp === 0x7f) out += "\\x" + hex(cp, 2);
    else if (cp < 0x7f) out += ch;
    else if (!isPythonUnprintable(cp)) out += ch;
    else if (cp <= 0xff) out += "\\x" + hex(cp, 2);
    else if (cp <= 0xffff) out += "\\u" + hex(cp, 4);
    else out += "\\U" + hex(cp, 8);
  }
  return out + quote;
}

/** Python's `repr` of a float. */
export function reprFloat(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  // toExponential() without an argument gives the shortest digits that round-trip, as Python's repr.
  const [mantissa, exp] = Math.abs(x).toExponential().split("e") as [string, string];
  const digits = mantissa.replace(".", "");
  const decpt = Number(exp) + 1; // value = 0.DIGITS × 10^decpt
  const sign = x < 0 ? "-" : "";
  if (decpt > -4 && decpt <= 16) {
    if (decpt <= 0) return `${sign}0.${"0".repeat(-decpt)}${digits}`;
    if (decpt >= digits.length) return `${sign}${digits}${"0".repeat(decpt - digits.length)}.0`;
    return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
  }
  const e = decpt - 1;
  const frac = digits.length > 1 ? `.${digits.slice(1)}` : "";
  return `${sign}${digits[0]}${frac}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
}

/** Python's `repr` (and `str`, for dicts and lists) of a parsed JSON value. */
export function pythonRepr(value: PyValue): string {
  if (value === null) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") return reprFloat(value);
  if (typeof value === "string") return reprString(value);
  if (Array.isArray(value)) return `[${value.map(pythonRepr).join(", ")}]`;
  const parts: string[] = [];
  for (const [k, v] of value) parts.push(`${reprString(k)}: ${pythonRepr(v)}`);
  return `{${parts.join(", ")}}`;
}

// --- json.dumps ----------------------------------------------------------------------------------

function dumpString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += "\\\\";
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x0d) out += "\\r";
    else if (c === 0x09) out += "\\t";
    else if (c === 0x08) out += "\\b";
    else if (c === 0x0c) out += "\\f";
    // ensure_ascii: everything outside space..tilde as \uXXXX (UTF-16 units, so astral as a pair).
    else if (c < 0x20 || c > 0x7e) out += "\\u" + hex(c, 4);
    else out += s[i];
  }
  return out + '"';
}

/** Compares strings by code point, as Python sorts str keys. */
export function compareCodePoints(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

export interface DumpsOptions {
  /** `(item, key)` separators; default Python's `(", ", ": ")`. */
  separators?: readonly [string, string];
  sortKeys?: boolean;
}

/** Python's `json.dumps(value)` (ensure_ascii, NaN and Infinity allowed). */
export function pythonJsonDumps(value: PyValue, options: DumpsOptions = {}): string {
  const [item, key] = options.separators ?? [", ", ": "];
  const go = (v: PyValue): string => {
    if (v === null) return "null";
    if (v === true) return "true";
    if (v === false) return "false";
    if (typeof v === "bigint") return v.toString();
    if (typeof v === "number") {
      if (Number.isNaN(v)) return "NaN";
      if (v === Infinity) return "Infinity";
      if (v === -Infinity) return "-Infinity";
      return reprFloat(v);
    }
    if (typeof v === "string") return dumpString(v);
    if (Array.isArray(v)) return `[${v.map(go).join(item)}]`;
    const entries = [...v];
    if (options.sortKeys) entries.sort(([a], [b]) => compareCodePoints(a, b));
    return `{${entries.map(([k, x]) => dumpString(k) + key + go(x)).join(item)}}`;
  };
  return go(value);
}

/**
 * A plain JS value (objects, arrays, strings, booleans, null, safe integers and bigints as ints,
 * other numbers as floats) as a `PyValue`. Maps are kept as they are.
 */
export function toPyValue(v: unknown): PyValue {
  if (v === null || v === undefined) return null;
  if (typeof v === "boolean" || typeof v === "string" || typeof v === "bigint") return v;
  if (typeof v === "number") return Number.isSafeInteger(v) ? BigInt(v) : v;
  if (Array.isArray(v)) return v.map(toPyValue);
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [String(k), toPyValue(x)]));
  if (typeof v === "object") return new Map(Object.entries(v).map(([k, x]) => [k, toPyValue(x)]));
  throw new TypeError(`not a JSON value: ${typeof v}`);
}

/** A `PyValue` as a plain JS value: dicts as objects, ints as numbers when safe, else bigints. */
export function fromPyValue(v: PyValue): unknown {
  if (typeof v === "bigint") return v >= -(2n ** 53n) + 1n && v <= 2n ** 53n - 1n ? Number(v) : v;
  if (Array.isArray(v)) return v.map(fromPyValue);
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [k, fromPyValue(x)]));
  return v;
}
