/**
 * Builds the CPU emulation of the CUDA driver (driver.cpp, with kernels.cu compiled for the host) into a
 * temporary shared library, once per test process. Test only.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const DIR = fileURLToPath(new URL(".", import.meta.url));

let built: { readonly library?: string; readonly reason?: string } | undefined;
let dir: string | undefined;

/** Path of the emulator library, or the reason it could not be built (no C++ compiler). */
export function emulatorLibrary(): { readonly library?: string; readonly reason?: string } {
  if (built) return built;
  const cxx = process.env.CXX ?? "g++";
  dir = mkdtempSync(join(tmpdir(), "poai-cuda-emu-"));
  const library = join(dir, "libcuda-emu.so");
  const child = spawnSync(
    cxx,
    [
      "-std=c++20",
      "-O2",
      "-fPIC",
      "-shared",
      "-fno-strict-aliasing",
      "-Wall",
      "-Wextra",
      "-Werror",
      "-DPOAI_HOST_EMULATION",
      "-include",
      join(DIR, "emu.h"),
      join(DIR, "driver.cpp"),
      "-o",
      library,
    ],
    { encoding: "utf8" },
  );
  if (child.error) built = { reason: `${cxx} not found (${child.error.message})` };
  else if (child.status !== 0) throw new Error(`building the CUDA emulator failed:\n${child.stderr}`);
  else built = { library };
  return built;
}

/**
 * A separate copy of the emulator library: the driver is loaded once per library path, so a test that
 * changes the emulator's environment (no device, no fatbin, little memory) gets a fresh driver.
 */
export function emulatorCopy(name: string): string {
  const { library } = emulatorLibrary();
  if (!library || !dir) throw new Error("the CUDA emulator is not built");
  const copy = join(dir, `libcuda-emu-${name}.so`);
  copyFileSync(library, copy);
  return copy;
}
