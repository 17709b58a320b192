/**
 * Says what is happening while the contracts compile. A cold build (a fresh clone, or after
 * `hardhat clean`) compiles every contract with solc's IR pipeline and takes minutes on a small
 * machine; a warm one checks the cache in about a second. After `afterMs` without the build
 * finishing, `write` gets a line saying so, then one every `everyMs` with the time spent.
 *
 * Two builds of one project at the same time (a `poai deploy` while `npx hardhat node` or another
 * build starts) write the same temporary cache file, and the one whose file the other renamed
 * away fails ("compile-cache.json.tmp not found"): such a build is run again (up to `retries`
 * times, `retryMs` apart), since the other build leaves the cache whole.
 */
export async function withBuildNotice<T>(
  build: () => Promise<T>,
  write: (text: string) => void,
  options: { afterMs?: number; everyMs?: number; retries?: number; retryMs?: number } = {},
): Promise<T> {
  const started = Date.now();
  const seconds = () => Math.round((Date.now() - started) / 1000);
  let notice: NodeJS.Timeout | undefined;
  const first = setTimeout(() => {
    write(
      "compiling the contracts (solc, via-IR): the first build of a fresh clone takes about five minutes on 2 cores; later runs reuse the cache…\n",
    );
    notice = setInterval(() => write(`  still compiling (${seconds()} s)…\n`), options.everyMs ?? 30_000);
    notice.unref();
  }, options.afterMs ?? 2_000);
  first.unref();
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await build();
        if (notice) write(`compiled in ${seconds()} s\n`);
        return result;
      } catch (err) {
        if (!isConcurrentCacheWrite(err) || attempt >= (options.retries ?? 3)) throw err;
        await new Promise((resolve) => setTimeout(resolve, options.retryMs ?? 1_000));
      }
    }
  } finally {
    clearTimeout(first);
    if (notice) clearInterval(notice);
  }
}

/** Whether a build failed because another build renamed the cache's temporary file away. */
export function isConcurrentCacheWrite(err: unknown): boolean {
  return err instanceof Error && /compile-cache\.json\.tmp/.test(`${err.message} ${String(err.cause ?? "")}`);
}
