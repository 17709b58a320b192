/**
 * Progress of long work: a bar on a terminal (cli-progress), a structured log line every tenth
 * otherwise, nothing when disabled.
 */
import { SingleBar, Presets } from "cli-progress";
import type { Logger } from "./log.js";

export interface Progress {
  update(done: number): void;
  stop(): void;
}

export function createProgress(
  label: string,
  total: number,
  options: { logger?: Logger; mode?: "auto" | "bar" | "log" | "off"; fields?: Record<string, unknown> } = {},
): Progress {
  const mode = options.mode ?? "auto";
  const tty = mode === "bar" || (mode === "auto" && process.stderr.isTTY === true);
  if (mode === "off") return { update() {}, stop() {} };
  if (tty) {
    const bar = new SingleBar(
      {
        format: `${label} [{bar}] {percentage}% | {value}/{total} | eta {eta_formatted}`,
        stream: process.stderr,
        hideCursor: true,
      },
      Presets.shades_classic,
    );
    bar.start(total, 0);
    return { update: (done) => bar.update(done), stop: () => bar.stop() };
  }
  let nextTenth = 1;
  return {
    update(done) {
      if (!options.logger || total <= 0) return;
      while (done * 10 >= nextTenth * total && nextTenth <= 10) {
        options.logger.info({ ...options.fields, done, total, percent: nextTenth * 10 }, label);
        nextTenth++;
      }
    },
    stop() {},
  };
}
