/**
 * Reproducible build of the `cuda` backend's kernels with nvcc (CUDA 12.8 or later for
 * `--compress-mode`; committed with CUDA 13.0):
 * - kernels.fatbin: SASS for sm_80 and sm_90 plus compute_90 PTX, compressed for size;
 * - kernels.ptx.gz: compute_80 PTX, gzip; the backend's JIT fallback for devices without matching SASS.
 *
 *   npx tsx sdk/src/compute/cuda/build.ts          # rewrite both files (or: scripts/build-cuda.sh)
 *   npx tsx sdk/src/compute/cuda/build.ts --check  # exit 1 if they are out of date with kernels.cu
 *
 * nvcc's output does not depend on the working directory or the source path (checked), so the files
 * are byte-for-byte reproducible from kernels.cu with the same nvcc release. Node-only; never
 * imported by the SDK at run time.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync, gzipSync } from "node:zlib";

export const SOURCE_PATH = fileURLToPath(new URL("./kernels.cu", import.meta.url));
export const FATBIN_PATH = fileURLToPath(new URL("./kernels.fatbin", import.meta.url));
export const PTX_PATH = fileURLToPath(new URL("./kernels.ptx.gz", import.meta.url));

/** nvcc flags of the two images. */
export const FATBIN_FLAGS = [
  "-fatbin",
  "-O3",
  "--compress-mode=size",
  "-gencode",
  "arch=compute_80,code=sm_80",
  "-gencode",
  "arch=compute_90,code=sm_90",
  "-gencode",
  "arch=compute_90,code=compute_90",
] as const;
export const PTX_FLAGS = ["-ptx", "-O3", "-arch=compute_80"] as const;

/** The nvcc to use: `$NVCC`, else `nvcc` on the PATH. */
export function nvccPath(): string {
  return process.env.NVCC ?? "nvcc";
}

/** nvcc's release line (`Cuda compilation tools, release 13.0, V13.0.88`), or undefined without nvcc. */
export function nvccVersion(): string | undefined {
  const child = spawnSync(nvccPath(), ["--version"], { encoding: "utf8" });
  if (child.error || child.status !== 0) return undefined;
  return child.stdout
    .split("\n")
    .find((line) => line.includes("release"))
    ?.trim();
}

/** Compiles kernels.cu: the fatbin bytes and the PTX text. */
export function buildKernels(): { readonly fatbin: Uint8Array; readonly ptx: string } {
  const dir = mkdtempSync(join(tmpdir(), "poai-cuda-build-"));
  try {
    const source = join(dir, "kernels.cu");
    writeFileSync(source, readFileSync(SOURCE_PATH));
    const run = (flags: readonly string[], out: string) => {
      const child = spawnSync(nvccPath(), [...flags, "-o", out, "kernels.cu"], {
        cwd: dir,
        encoding: "utf8",
      });
      if (child.error) throw new Error(`nvcc not runnable (${nvccPath()}): ${child.error.message}`);
      if (child.status !== 0) throw new Error(`nvcc ${flags.join(" ")} failed: ${child.stderr}`);
    };
    run(FATBIN_FLAGS, "kernels.fatbin");
    run(PTX_FLAGS, "kernels.ptx");
    return {
      fatbin: new Uint8Array(readFileSync(join(dir, "kernels.fatbin"))),
      ptx: readFileSync(join(dir, "kernels.ptx"), "utf8"),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The committed images: fatbin bytes and PTX text. */
export function committedKernels(): { readonly fatbin: Uint8Array; readonly ptx: string } {
  return {
    fatbin: new Uint8Array(readFileSync(FATBIN_PATH)),
    ptx: gunzipSync(readFileSync(PTX_PATH)).toString("utf8"),
  };
}

/** Which committed files differ from a fresh build (empty when up to date). */
export function staleKernels(): string[] {
  const fresh = buildKernels();
  const current = committedKernels();
  const stale: string[] = [];
  if (Buffer.compare(Buffer.from(fresh.fatbin), Buffer.from(current.fatbin)) !== 0)
    stale.push("kernels.fatbin");
  if (fresh.ptx !== current.ptx) stale.push("kernels.ptx.gz");
  return stale;
}

function main(): void {
  if (process.argv.includes("--check")) {
    const stale = staleKernels();
    if (stale.length > 0) {
      console.error(`${stale.join(", ")} out of date with kernels.cu: run scripts/build-cuda.sh`);
      process.exit(1);
    }
    console.log("kernels.fatbin and kernels.ptx.gz are up to date");
    return;
  }
  const { fatbin, ptx } = buildKernels();
  writeFileSync(FATBIN_PATH, fatbin);
  // The PTX is compared as text; its gzip wrapper carries no timestamp.
  writeFileSync(PTX_PATH, gzipSync(Buffer.from(ptx, "utf8"), { level: 9 }));
  console.log(`wrote ${FATBIN_PATH} (${fatbin.length} bytes) and ${PTX_PATH} (${nvccVersion() ?? "nvcc"})`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
