/**
 * The bytes infernet-node 1.4.0 delivers for an answer that is not in the five-key form are
 * `abi.encode(string(str(json.loads(body))))`. These tests pin PoAI's reading and printing against
 * the rules written in docs/inference-node.md: every expected string is built from those rules
 * (by the generators below, independently of the implementation), never by running Python.
 *
 * A naive serializer (`JSON.stringify(JSON.parse(body))`) fails every property here: it prints
 * `{"a":1}` for `{'a': 1}`, `true` for `True`, `1` for `1.0`, and rounds integers above 2^53.
 */
import { expect } from "chai";
import fc from "fast-check";
import { decodeAbiParameters } from "viem";
import {
  MAX_DEPTH,
  PyJsonError,
  chainHash,
  chainLookup,
  parsePythonJson,
  pythonJsonDumps,
  pythonRepr,
  serializeContainerOutput,
} from "../../node/src/node/containers/index.js";

/** One character: how JSON may write it, and how Python's repr writes it inside `'…'` or `"…"`. */
interface Char {
  /** The character itself (a JS string: one code point, or a lone surrogate). */
  ch: string;
  /** Ways a JSON text may spell it inside a string literal. */
  json: string[];
  /** Its repr inside a string quoted with `'` (the quote rule below may switch to `"`). */
  repr: string;
}

const u4 = (ch: string) =>
  [...ch]
    .flatMap((c) => {
      const units = c.length === 2 ? [c.charCodeAt(0), c.charCodeAt(1)] : [c.charCodeAt(0)];
      return units;
    })
    .map((n) => `\\u${n.toString(16).padStart(4, "0")}`)
    .join("");
const u4upper = (ch: string) =>
  u4(ch).replace(/\\u([0-9a-f]{4})/g, (_m, h: string) => `\\u${h.toUpperCase()}`);

/** Rule: printable characters print as themselves. */
const plain = (ch: string): Char => ({ ch, json: [ch, u4(ch), u4upper(ch)], repr: ch });
/** Rule: a non-printable character prints as \xhh, \uhhhh or \Uhhhhhhhh by its size. */
const escaped = (ch: string, raw = true): Char => {
  const cp = ch.codePointAt(0)!;
  const repr =
    cp <= 0xff
      ? `\\x${cp.toString(16).padStart(2, "0")}`
      : cp <= 0xffff
        ? `\\u${cp.toString(16).padStart(4, "0")}`
        : `\\U${cp.toString(16).padStart(8, "0")}`;
  return { ch, json: raw ? [ch, u4(ch)] : [u4(ch)], repr };
};

const ALPHABET: Char[] = [
  plain("a"),
  plain("Z"),
  plain(" "),
  plain("~"),
  plain("é"), // U+00E9 Ll
  plain("中"), // U+4E2D Lo
  plain("😀"), // U+1F600 So, astral: an escaped surrogate pair in JSON
  plain("ß"),
  { ch: "/", json: ["/", "\\/"], repr: "/" },
  // The quotes and the backslash: the quote in use is escaped (see the quote rule below).
  { ch: "'", json: ["'", u4("'")], repr: "\\'" },
  { ch: '"', json: ['\\"', u4('"')], repr: '"' },
  { ch: "\\", json: ["\\\\", u4("\\")], repr: "\\\\" },
  // \t \n \r by name; other controls as \xhh; DEL too.
  { ch: "\t", json: ["\\t", u4("\t")], repr: "\\t" },
  { ch: "\n", json: ["\\n", u4("\n")], repr: "\\n" },
  { ch: "\r", json: ["\\r", u4("\r")], repr: "\\r" },
  { ch: "\b", json: ["\\b", u4("\b")], repr: "\\x08" },
  { ch: "\f", json: ["\\f", u4("\f")], repr: "\\x0c" },
  { ch: "\x00", json: [u4("\x00")], repr: "\\x00" },
  { ch: "\x1f", json: [u4("\x1f")], repr: "\\x1f" },
  escaped("\x7f"),
  escaped("\x80"), // C1 control (Cc)
  escaped("\x9f"),
  escaped("\u00a0"), // NO-BREAK SPACE (Zs)
  escaped("\u00ad"), // SOFT HYPHEN (Cf)
  escaped("\u0378"), // unassigned (Cn)
  escaped("\u061c"), // ARABIC LETTER MARK (Cf)
  escaped("\u200b"), // ZERO WIDTH SPACE (Cf)
  escaped("\u2028"), // LINE SEPARATOR (Zl)
  escaped("\u2029"), // PARAGRAPH SEPARATOR (Zp)
  escaped("\u3000"), // IDEOGRAPHIC SPACE (Zs)
  escaped("\ue000"), // private use (Co)
  escaped("\uffff"), // noncharacter (Cn)
  escaped("\u{e0001}"), // LANGUAGE TAG (Cf)
  escaped("\u{1f6dc}"), // WIRELESS: assigned in Unicode 15.0, so unassigned for Python 3.11 (14.0)
  escaped("\u{11f00}"), // KAWI SIGN CANDRABINDU: Unicode 15.0
  escaped("\u{1d2c0}"), // KAKTOVIK NUMERAL ZERO: Unicode 15.0
  escaped("\u{10ffff}"), // noncharacter (Cn)
  escaped("\ud800", false), // a lone surrogate (Cs): only an escape can write it
  escaped("\udfff", false),
];

/** A string value: [JSON literal, expected repr], by the quote rule: `"` when it holds `'` and no `"`. */
const pyString: fc.Arbitrary<[string, string]> = fc
  .array(
    fc.constantFrom(...ALPHABET).chain((c) => fc.constantFrom(...c.json).map((j) => [c, j] as const)),
    { maxLength: 6 },
  )
  .filter((parts) => {
    // Adjacent escaped surrogates of a pair would form one character: keep the alphabet's units apart.
    const s = parts.map(([c]) => c.ch).join("");
    return [...s].length === parts.reduce((n, [c]) => n + [...c.ch].length, 0);
  })
  .map((parts) => {
    const value = parts.map(([c]) => c.ch).join("");
    const quote = value.includes("'") && !value.includes('"') ? '"' : "'";
    const body = parts
      .map(([c]) =>
        c.ch === "'" ? (quote === "'" ? "\\'" : "'") : c.ch === '"' ? (quote === '"' ? '\\"' : '"') : c.repr,
      )
      .join("");
    return [`"${parts.map(([, j]) => j).join("")}"`, `${quote}${body}${quote}`];
  });

/** Ints of any size, printed in decimal. */
const pyInt: fc.Arbitrary<[string, string]> = fc
  .bigInt({ min: -(10n ** 80n), max: 10n ** 80n })
  .map((n) => [n.toString(), n.toString()]);

/**
 * The float rule: shortest round-trip digits d1d2…dn with value 0.d1…dn × 10^p; positional when
 * -4 < p ≤ 16 (".0" when nothing follows the point), else d1.d2…dn e±XX.
 */
function floatRule(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return 1 / x < 0 ? "-0.0" : "0.0";
  const sign = x < 0 ? "-" : "";
  const m = /^(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(Math.abs(x).toExponential())!;
  const digits = m[1]! + (m[2] ?? "");
  const p = Number(m[3]) + 1;
  if (p > -4 && p <= 16) {
    if (p <= 0) return `${sign}0.${"0".repeat(-p)}${digits}`;
    if (p >= digits.length) return `${sign}${digits}${"0".repeat(p - digits.length)}.0`;
    return `${sign}${digits.slice(0, p)}.${digits.slice(p)}`;
  }
  const e = p - 1;
  return `${sign}${digits[0]}${digits.length > 1 ? "." + digits.slice(1) : ""}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
}

/** Floats written in the JSON ways a float can be written (a fraction or an exponent). */
const pyFloat: fc.Arbitrary<[string, string]> = fc.oneof(
  fc
    .double({ noNaN: true, noDefaultInfinity: true })
    .chain((x) =>
      fc
        .constantFrom(
          x.toExponential(),
          x.toExponential().replace("e+", "E"),
          Number.isInteger(x) && Math.abs(x) < 1e21 ? `${BigInt(x)}.0` : x.toExponential(),
        )
        .map((text) => [text, floatRule(Number(text))] as [string, string]),
    ),
  fc
    .tuple(fc.integer({ min: -999_999, max: 999_999 }), fc.nat(999_999), fc.integer({ min: -330, max: 330 }))
    .map(([a, b, e]) => {
      const text = `${a}.${b}e${e}`;
      return [text, floatRule(Number(text))] as [string, string];
    }),
);

/** Values Python knows by name. */
const pyConstant: fc.Arbitrary<[string, string]> = fc.constantFrom<[string, string]>(
  ["null", "None"],
  ["true", "True"],
  ["false", "False"],
  ["NaN", "nan"],
  ["Infinity", "inf"],
  ["-Infinity", "-inf"],
);

const ws = fc.constantFrom("", " ", "\n", "\t", "\r\n  ");

/**
 * A JSON value and its repr: lists `[a, b]`; dicts `{k: v}` where a repeated key keeps its first
 * position and its last value.
 */
const pyValue: fc.Arbitrary<[string, string]> = fc.letrec<{
  value: [string, string];
  list: [string, string];
  dict: [string, string];
}>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    pyConstant,
    pyInt,
    pyFloat,
    pyString,
    tie("list"),
    tie("dict"),
  ),
  list: fc
    .array(fc.tuple(tie("value"), ws, ws), { maxLength: 4 })
    .map((items) => [
      `[${items.map(([[j], a, b]) => `${a}${j}${b}`).join(",")}]`,
      `[${items.map(([[, r]]) => r).join(", ")}]`,
    ]),
  dict: fc
    .array(
      fc.tuple(fc.oneof(pyString, fc.constantFrom<[string, string]>(['"k"', "'k'"])), tie("value"), ws),
      {
        maxLength: 4,
      },
    )
    .map((entries) => {
      const order: string[] = [];
      const last = new Map<string, string>();
      for (const [[, keyRepr], [, valueRepr]] of entries) {
        if (!last.has(keyRepr)) order.push(keyRepr);
        last.set(keyRepr, valueRepr);
      }
      return [
        `{${entries.map(([[k], [v], s]) => `${s}${k}${s}:${s}${v}`).join(",")}}`,
        `{${order.map((k) => `${k}: ${last.get(k)}`).join(", ")}}`,
      ];
    }),
})).value;

describe("infernet-node's answer serialization", function () {
  it("prints every generated JSON value as Python's repr does", function () {
    fc.assert(
      fc.property(pyValue, ([text, expected]) => {
        expect(pythonRepr(parsePythonJson(text))).to.equal(expected);
      }),
      { numRuns: 300 },
    );
  });

  it("delivers a non-five-key answer as abi.encode(string(repr(answer)))", function () {
    const dict = pyValue.filter(([t]) => t.startsWith("{"));
    fc.assert(
      fc.property(dict, ([text, expected]) => {
        const answer = parsePythonJson(text) as Map<string, unknown>;
        fc.pre(!answer.has("code") && !answer.has("raw_input"));
        const [delivered] = decodeAbiParameters(
          [{ type: "string" }],
          serializeContainerOutput("c", parsePythonJson(text)).output,
        );
        expect(delivered).to.equal(expected);
      }),
      { numRuns: 100 },
    );
  });

  it("pins the float, int and string cases Python's documentation names", function () {
    const cases: [string, string][] = [
      ["1.0", "1.0"],
      ["100.0", "100.0"],
      ["1e16", "1e+16"],
      ["1e15", "1000000000000000.0"],
      ["1234567890123456.0", "1234567890123456.0"],
      ["0.0001", "0.0001"],
      ["0.00001", "1e-05"],
      ["0.1", "0.1"],
      ["1.5e300", "1.5e+300"],
      ["5e-324", "5e-324"],
      ["1.7976931348623157e308", "1.7976931348623157e+308"],
      ["1e400", "inf"],
      ["-1e400", "-inf"],
      ["-0.0", "-0.0"],
      ["-0", "0"],
      ["123456789012345678901234567890", "123456789012345678901234567890"],
      ["123456789012345678.0", "1.2345678901234568e+17"],
      ['"it\'s"', `"it's"`],
      ['"say \\"hi\\""', `'say "hi"'`],
      ['"both \' and \\""', `'both \\' and "'`],
      ['{"b": 1, "a": 2, "b": 3}', "{'b': 3, 'a': 2}"],
      ["[true, false, null]", "[True, False, None]"],
      ["{}", "{}"],
      ["[]", "[]"],
    ];
    for (const [text, expected] of cases) expect(pythonRepr(parsePythonJson(text)), text).to.equal(expected);
  });

  it("refuses what json.loads refuses", function () {
    const refused = [
      "",
      "[1,]",
      '{"a":1,}',
      "{'a': 1}",
      "01",
      "1.",
      ".5",
      "1e",
      "-",
      "-NaN",
      "nan",
      '"\x01"',
      '"\\x41"',
      '"\\u12"',
      "[1] 2",
      "\ufeff{}",
      "1" + "0".repeat(4300), // 4,301 digits: past Python's int limit
      "[".repeat(MAX_DEPTH + 1) + "]".repeat(MAX_DEPTH + 1),
    ];
    for (const text of refused) expect(() => parsePythonJson(text), text.slice(0, 40)).to.throw(PyJsonError);
    expect(pythonRepr(parsePythonJson("-" + "9".repeat(4300)))).to.have.length(4301);
  });

  it("writes request bodies as Python's json.dumps", function () {
    const v = parsePythonJson(
      '{"source":0,"data":{"x":[1.0,1e16,NaN,-Infinity,12345678901234567890]},"t":"é\\u2028😀\\u007f"}',
    );
    expect(pythonJsonDumps(v)).to.equal(
      '{"source": 0, "data": {"x": [1.0, 1e+16, NaN, -Infinity, 12345678901234567890]}, "t": "\\u00e9\\u2028\\ud83d\\ude00\\u007f"}',
    );
    expect(
      pythonJsonDumps(parsePythonJson('{"b":1,"a":[2]}'), { sortKeys: true, separators: [",", ":"] }),
    ).to.equal('{"a":[2],"b":1}');
  });

  it("recognises a chain by any order of the ids it serves", function () {
    const table = chainLookup(["a", "b", "c"]);
    expect(table.size).to.equal(3 + 6 + 6);
    expect(table.get(chainHash(["c", "a"]))).to.deep.equal(["c", "a"]);
    expect(table.get(chainHash(["b", "c", "a"]))).to.deep.equal(["b", "c", "a"]);
    expect(table.has(chainHash(["a", "a"]))).to.equal(false);
    // The table stops growing past its bound, keeping every single id.
    const capped = chainLookup(["a", "b", "c", "d"], 10);
    expect(capped.size).to.equal(4);
  });
});
