import { expect } from "chai";
import { duration, human, percent, poai, points, table } from "../../scripts/cli/format.js";
import { withBuildNotice } from "../../scripts/lib/build-notice.js";

describe("poai's human units", () => {
  it("shows token amounts grouped, to at most four decimals, never as raw wei", () => {
    expect(poai(2390000000000000001600n)).to.equal("2,390 POAI");
    expect(poai(1234567891234567891234567n)).to.equal("1,234,567.8912 POAI");
    expect(poai(500n * 10n ** 18n)).to.equal("500 POAI");
    expect(poai(0n)).to.equal("0 POAI");
    expect(poai(1600n)).to.equal("< 0.0001 POAI"); // dust is not shown as zero
    expect(human(-15n * 10n ** 17n)).to.equal("-1.5");
  });

  it("shows a trainer's points in tokens and a validator's as its committee weight", () => {
    expect(points("trainer", 2390000000000000001600n)).to.equal("2,390 points");
    expect(points("validator", 2n ** 31n)).to.equal("0.5000 committee weight");
  });

  it("shows percentages, durations and aligned columns", () => {
    expect(percent(1250)).to.equal("12.5%");
    expect(duration(93_784)).to.equal("1d 2h");
    expect(duration(125)).to.equal("2m 5s");
    expect(duration(0)).to.equal("0s");
    expect(
      table([
        ["a", "bb"],
        ["ccc", "d"],
      ]),
    ).to.deep.equal(["a    bb", "ccc  d"]);
  });
});

describe("the cold-compile notice", () => {
  it("says what is happening when a build takes long, and nothing when it is quick", async () => {
    let out = "";
    const slow = await withBuildNotice(
      () => new Promise((resolve) => setTimeout(() => resolve("built"), 150)),
      (text) => (out += text),
      { afterMs: 20, everyMs: 50 },
    );
    expect(slow).to.equal("built");
    expect(out).to.match(/^compiling the contracts .*first build of a fresh clone takes about five minutes/);
    expect(out).to.match(/still compiling \(\d+ s\)/);
    expect(out).to.match(/compiled in \d+ s\n$/);
    let quiet = "";
    await withBuildNotice(
      async () => "cached",
      (text) => (quiet += text),
      { afterMs: 1_000 },
    );
    expect(quiet).to.equal("");
    // another build of the project renamed the cache's temporary file away: built again
    let tries = 0;
    const raced = await withBuildNotice(
      async () => {
        if (++tries < 3) throw new Error("File /p/cache/compile-cache.json.tmp not found");
        return "built";
      },
      () => undefined,
      { retryMs: 1 },
    );
    expect([raced, tries]).to.deep.equal(["built", 3]);
    // any other failure, or the same one past the retries, is the build's error
    for (const [message, retries, expected] of [
      ["solc: ParserError", 3, 1],
      ["File /p/cache/compile-cache.json.tmp not found", 2, 3],
    ] as const) {
      tries = 0;
      let thrown: unknown;
      await withBuildNotice(
        async () => {
          tries++;
          throw new Error(message);
        },
        () => undefined,
        { retries, retryMs: 1 },
      ).catch((err: unknown) => (thrown = err));
      expect([(thrown as Error).message, tries]).to.deep.equal([message, expected]);
    }
  });
});
