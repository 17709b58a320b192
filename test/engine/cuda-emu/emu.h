/*
 * CUDA-on-CPU shim for the host emulation of sdk/src/compute/cuda/kernels.cu (test only): compiled
 * with `-include emu.h -DPOAI_HOST_EMULATION`, the kernels become plain C++ functions that read
 * threadIdx / blockIdx from the emulator (driver.cpp), which runs every thread of a block as a fiber
 * and switches fibers at __syncthreads and at the warp-wide mma instruction.
 *
 * Shared memory: `__shared__` becomes `static`. The emulator runs one block at a time, so function
 * statics are exactly one block's shared memory.
 */
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))

struct dim3 {
  unsigned x, y, z;
};
struct int4 {
  int x, y, z, w;
};
inline int4 make_int4(int x, int y, int z, int w) { return int4{x, y, z, w}; }

extern "C++" {
extern dim3 emu_threadIdx;
extern dim3 emu_blockIdx;
extern dim3 emu_blockDim;
extern dim3 emu_gridDim;
/* Block-wide barrier: the calling fiber waits until every thread of the block has arrived. */
void emu_syncthreads();
/* The warp-collective int8 mma (m16n8k32, row.col, s32 += s8 * s8) of the calling lane. */
void emu_mma_m16n8k32_s8(int d[4], const uint32_t a[4], const uint32_t b[2]);
}

#define threadIdx emu_threadIdx
#define blockIdx emu_blockIdx
#define blockDim emu_blockDim
#define gridDim emu_gridDim
#define __syncthreads() emu_syncthreads()
