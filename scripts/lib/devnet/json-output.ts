/**
 * Where `npm run devnet -- --json` puts its report: stdout, as one JSON document.
 *
 * npm prints its run-script banners (`> poai@0.1.0 devnet`, `> tsx scripts/devnet.ts --json`) on
 * the same stdout before the devnet starts, so `npm run devnet -- --json > report.json` would hold
 * the banners and then the JSON. When stdout is a regular file that was opened for writing from
 * the start (`>`, not `>>`), the report therefore replaces whatever is in the file: the file holds
 * the JSON alone. A file opened for appending (`>>`) is appended to; a pipe gets the banners
 * first (`npm run -s devnet -- --json | jq` leaves them out).
 */
import { fstatSync, ftruncateSync, readFileSync, writeSync } from "node:fs";

const O_APPEND = 0o2000;

/**
 * Whether file descriptor `fd` was opened in append mode: from Linux's `/proc/self/fdinfo`, else
 * undefined (unknown).
 */
function appendMode(fd: number): boolean | undefined {
  try {
    const info = readFileSync(`/proc/self/fdinfo/${fd}`, "utf8");
    const flags = /^flags:\s*([0-7]+)/m.exec(info);
    return flags ? (parseInt(flags[1]!, 8) & O_APPEND) !== 0 : undefined;
  } catch {
    return undefined;
  }
}

/** True when everything in `text` is npm's run-script banners (lines starting `> `, blank lines). */
export function onlyNpmBanners(text: string): boolean {
  return text.split("\n").every((line) => line.trim() === "" || line.startsWith("> "));
}

/** Writes `json` to `fd` (stdout) as the whole of a redirected file, or as it comes elsewhere. */
export function writeJsonReport(json: string, fd = 1): void {
  const text = json.endsWith("\n") ? json : `${json}\n`;
  let stat;
  try {
    stat = fstatSync(fd);
  } catch {
    stat = undefined;
  }
  if (stat?.isFile() && stat.size > 0) {
    const append = appendMode(fd);
    // Without /proc, replace the file only when it holds nothing but npm's banners.
    let replace = append === false;
    if (append === undefined) {
      try {
        replace = onlyNpmBanners(readFileSync(`/dev/fd/${fd}`, "utf8"));
      } catch {
        replace = false; // unreadable: leave what is there
      }
    }
    if (replace) {
      ftruncateSync(fd, 0);
      writeSync(fd, text, 0);
      return;
    }
  }
  writeSync(fd, text);
}
