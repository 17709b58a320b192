/**
 * The devnet's live display: headings and detail lines, and a progress bar over the rounds on a
 * terminal (plain lines otherwise). With `--json` everything goes to stderr, so stdout carries the
 * report alone.
 */
import { Presets, SingleBar } from "cli-progress";
import type { DevnetUi } from "./run.js";

export function createDevnetUi(options: { json: boolean; quiet?: boolean }): DevnetUi {
  const out = options.json ? process.stderr : process.stdout;
  const write = (line: string) => {
    if (!options.quiet) out.write(`${line}\n`);
  };
  return {
    step(title, lines = []) {
      write(`\n${title}`);
      for (const l of lines) write(`  ${l}`);
    },
    progress(label, total) {
      if (options.quiet) return { tick() {}, stop() {} };
      if (out.isTTY) {
        const bar = new SingleBar(
          { format: `  ${label} [{bar}] {value}/{total} | {detail}`, stream: out, hideCursor: true },
          Presets.shades_classic,
        );
        write(`\n${label}`);
        bar.start(total, 0, { detail: "" });
        let done = 0;
        return {
          tick: (detail) => bar.update(Math.min(total, ++done), { detail }),
          stop: () => bar.stop(),
        };
      }
      write(`\n${label}`);
      return { tick: (detail) => write(`  ${detail}`), stop() {} };
    },
  };
}
