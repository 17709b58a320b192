#!/usr/bin/env bash
# GPU check of the CUDA engine backend, for a machine with an NVIDIA GPU: runs the CUDA tests
# (committed vectors and cross-backend property tests against the GPU, plus the emulated-driver tests)
# and the engine benchmark (cuda.*, vendor.* figures). Run from the repository root:
#
#   bash bench/gpu-check.sh            # results in ./gpu-check-results
#   OUT=/some/dir bash bench/gpu-check.sh
#
# Takes under 8 minutes (each step has a time limit). Writes into $OUT: nvidia-smi.txt, tests.log,
# bench.log, engine.json (the benchmark's figures), summary.txt. Exits non-zero when a step failed.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-$PWD/gpu-check-results}"
mkdir -p "$OUT"
summary="$OUT/summary.txt"
: >"$summary"
status=0
note() { echo "$*" | tee -a "$summary"; }

if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi >"$OUT/nvidia-smi.txt" 2>&1 || true
  note "gpu: $(nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader 2>/dev/null | head -1)"
else
  note "gpu: nvidia-smi not found"
fi

# Node 22: the repository's pinned one when installed, else the PATH's if it is 22 or later.
NODE=""
if [ -x node_modules/.bin/node ]; then
  NODE="$PWD/node_modules/.bin/node"
elif command -v node >/dev/null 2>&1 && [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 22 ]; then
  NODE="$(command -v node)"
fi
if [ -z "$NODE" ] || [ ! -d node_modules/koffi ]; then
  note "node: Node 22 and the installed dependencies (npm ci) are needed for the CUDA tests and the benchmark; not run"
  if command -v python3 >/dev/null 2>&1; then
    note "vendor: $(timeout 120 python3 bench/vendor_int8.py '[[1024,4096,4096],[4096,1024,4096],[1024,4096,4096]]' 20 2>&1 | tail -1)"
  fi
  exit 1
fi
export PATH="$(dirname "$NODE"):$PWD/node_modules/.bin:$PATH"
note "node: $("$NODE" --version)"

# 1. Tests: the CUDA suite (GPU part runs only where the driver finds a device).
timeout 240 "$NODE" node_modules/.bin/hardhat test mocha test/engine/cuda.test.ts >"$OUT/tests.log" 2>&1
rc=$?
counts="$(grep -E '^ +[0-9]+ (passing|failing|pending)' "$OUT/tests.log" | tr -s ' ' | tr '\n' ' ')"
if [ $rc -eq 0 ]; then
  note "tests: ok:$counts"
else
  status=1
  note "tests: FAILED (exit $rc, 124 = time limit), see tests.log:$counts"
fi
grep -E "GPU tests are skipped|on .*compute capability" "$OUT/tests.log" | head -2 | sed 's/^ */tests: /' >>"$summary"

# 2. Benchmark: js, wasm, native, cuda, vendor (writes bench/results/engine.json).
timeout 200 "$NODE" node_modules/.bin/tsx bench/engine.ts >"$OUT/bench.log" 2>&1
rc=$?
if [ $rc -eq 0 ]; then
  cp bench/results/engine.json "$OUT/engine.json"
  note "bench: $(grep -E '^cuda|^vendor|not measured' "$OUT/bench.log" | tr '\n' ' ')"
else
  status=1
  note "bench: FAILED (exit $rc, 124 = time limit), see bench.log"
fi

note "results in $OUT"
exit $status
