/**
 * Says what is happening while the contracts compile. A cold build (a fresh clone, or after
 * `hardhat clean`) compiles every contract with solc's IR pipeline and takes minutes on a small
 * machine; a warm one checks the cache in about a second. After `afterMs` without the build
 * finishing, `write` gets a line saying so, then one every `everyMs` with the time spent.
 */
export async function withBuildNotice<T>(
  build: () => Promise<T>,
  write: (text: string) => void,
  options: { afterMs?: number; everyMs?: number } = {},
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
    const result = await build();
    if (notice) write(`compiled in ${seconds()} s\n`);
    return result;
  } finally {
    clearTimeout(first);
    if (notice) clearInterval(notice);
  }
}
