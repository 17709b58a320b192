#!/usr/bin/env python3
"""Vendor int8 matrix-multiply throughput, the yardstick for the CUDA backend (bench/engine.ts).

Times torch._int_mm (cuBLASLt int8 GEMM, int32 accumulation) on the GEMM shapes of one SGD step of
the engine's CUDA bench spec and prints one JSON line:
  {"int8MatmulOpsPerSecond": ..., "seconds": ..., "device": ..., "torch": ...}
or {"skipped": "<reason>"} when torch or a CUDA device is missing (exit status 0 either way).

Usage: python3 bench/vendor_int8.py '[[M, K, N], ...]' [repeats]
Ops count 2 per multiply-accumulate (multiply and add), as TOPS figures do.
"""
import json
import sys


def main() -> None:
    shapes = json.loads(sys.argv[1])
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    try:
        import torch
    except Exception as error:  # noqa: BLE001 - any import failure means "not measured"
        print(json.dumps({"skipped": f"torch does not import ({type(error).__name__}: {error})"}))
        return
    if not torch.cuda.is_available():
        print(json.dumps({"skipped": "torch sees no CUDA device"}))
        return
    if not hasattr(torch, "_int_mm"):
        print(json.dumps({"skipped": f"torch {torch.__version__} lacks torch._int_mm"}))
        return
    device = torch.device("cuda")
    operands = []
    macs = 0
    for m, k, n in shapes:
        # torch._int_mm wants M > 16 and K, N multiples of 8; pad like the engine pads (zeros).
        m8, k8, n8 = max(m, 17), (k + 7) // 8 * 8, (n + 7) // 8 * 8
        a = torch.randint(-127, 128, (m8, k8), dtype=torch.int8, device=device)
        b = torch.randint(-127, 128, (k8, n8), dtype=torch.int8, device=device)
        operands.append((a, b))
        macs += m * k * n
    for a, b in operands:  # warm-up (cuBLASLt heuristics, allocations)
        torch._int_mm(a, b)
    torch.cuda.synchronize()
    start = torch.cuda.Event(enable_timing=True)
    end = torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(repeats):
        for a, b in operands:
            torch._int_mm(a, b)
    end.record()
    torch.cuda.synchronize()
    seconds = start.elapsed_time(end) / 1000.0
    print(
        json.dumps(
            {
                "int8MatmulOpsPerSecond": 2 * macs * repeats / seconds,
                "seconds": seconds,
                "device": torch.cuda.get_device_name(0),
                "torch": torch.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
