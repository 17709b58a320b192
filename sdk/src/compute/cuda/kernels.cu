/*
 * The `cuda` backend's kernels: one SGD step and the evaluation of engine version 1
 * (docs/engine.md), bit-identical with the js reference (sdk/src/compute/reference.ts).
 *
 * Build: sdk/src/compute/cuda/build.ts compiles this file with nvcc into kernels.fatbin (sm_80 and
 * sm_90 SASS, compute_90 PTX) and kernels.ptx (compute_80 PTX, the JIT fallback); backend.ts loads
 * them through the CUDA driver API and launches the kernels below, in stream order, on the default
 * stream. Every kernel is `extern "C"` so the driver finds it by name.
 *
 * Integer semantics (the reason the result is exact on any GPU):
 * - every matrix product has int8 operands and an int32 accumulator, computed with the int8
 *   tensor-core instruction mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 (exact: integer
 *   multiply-add, no saturation, and no valid spec's sum leaves int32; see docs/engine.md);
 * - requantization is roundShift (add 2^(s-1), arithmetic shift right) then clamp, as in the spec;
 * - every output element is written by exactly one thread and every sum is accumulated by one
 *   thread (or one warp's tensor-core fragments, in a fixed order). No atomics: integer sums are
 *   associative, so any order would give the same bits, but the kernels do not rely on that.
 *
 * Layouts (the host, backend.ts, allocates every buffer zeroed and keeps padding zero): int8
 * matrices are row-major with a leading dimension that is a multiple of 32 (the tensor-core K
 * step), columns past the logical width are 0, so the padded K loop of a product adds only zeros.
 *
 * Host emulation: with POAI_HOST_EMULATION defined (test/engine/cuda-emu), this same file is
 * compiled as C++ for the CPU and run thread by thread by an emulator of the launch grid, shared
 * memory, __syncthreads and the mma instruction; the tests compare its checkpoints with the js
 * backend's. The only emulation hook is mma_s8 below.
 */
#ifndef POAI_HOST_EMULATION
#include <stdint.h>
#endif

#define BIAS_INPUT 127
#define PARAMETER_MAX 32767
#define WEIGHT_SHIFT 8

#define DOMAIN_INIT 3
#define DOMAIN_PERMUTE 4
#define PERMUTATION_ROUNDS 4

/* ---------------------------------------------------------------- integer helpers */

__host__ __device__ __forceinline__ int round_shift(int x, int s) {
  return s == 0 ? x : (x + (1 << (s - 1))) >> s;
}

__host__ __device__ __forceinline__ int clampi(int x, int lo, int hi) {
  return x < lo ? lo : (x > hi ? hi : x);
}

/* The int8 weight a stored parameter (int16, 8 fractional bits) stands for. */
__host__ __device__ __forceinline__ int effective_weight(int p) {
  return clampi(round_shift(p, WEIGHT_SHIFT), -127, 127);
}

/* ---------------------------------------------------------------- Philox4x32-10 */

__host__ __device__ __forceinline__ void philox4x32(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3,
                                                    uint32_t k0, uint32_t k1, uint32_t out[4]) {
  for (int round = 0; round < 10; round++) {
    if (round > 0) {
      k0 += 0x9E3779B9u;
      k1 += 0xBB67AE85u;
    }
    const uint64_t p0 = (uint64_t)0xD2511F53u * c0;
    const uint64_t p1 = (uint64_t)0xCD9E8D57u * c2;
    const uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
    const uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
    c1 = (uint32_t)p1;
    c3 = (uint32_t)p0;
    c0 = n0;
    c2 = n2;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

/* Bytes 16j .. 16j + 15 of the stream of `item` in `domain` (block j), little-endian words. */
__host__ __device__ __forceinline__ void philox_block(uint32_t k0, uint32_t k1, uint32_t domain, uint64_t item,
                                                      uint32_t j, uint8_t bytes[16]) {
  uint32_t w[4];
  philox4x32(j, (uint32_t)item, (uint32_t)(item >> 32), domain, k0, k1, w);
  for (int q = 0; q < 16; q++) bytes[q] = (uint8_t)(w[q >> 2] >> ((q & 3) * 8));
}

__device__ __forceinline__ int global_index() { return (int)(blockIdx.x * blockDim.x + threadIdx.x); }

/* ---------------------------------------------------------------- data generation */

/*
 * Rows of int8 stream bytes: dst[r * ld + t] = byte t of item (first + r) of `domain`, for t < width,
 * and 0 for width <= t < ld (ld a multiple of 16). One thread per 16-byte block.
 * Inputs: domain 1, first = the example index; teacher: domain 2, first = 0 (item = class).
 */
extern "C" __global__ void gen_rows(int8_t* dst, int rows, int width, int ld, uint32_t k0, uint32_t k1,
                                    uint32_t domain, uint32_t first_lo, uint32_t first_hi) {
  const int blocks = ld >> 4;
  const int idx = global_index();
  if (idx >= rows * blocks) return;
  const int r = idx / blocks;
  const int j = idx - r * blocks;
  const uint64_t item = (((uint64_t)first_hi << 32) | first_lo) + (uint64_t)r;
  uint8_t bytes[16];
  philox_block(k0, k1, domain, item, (uint32_t)j, bytes);
  int8_t* out = dst + (size_t)r * ld + 16 * j;
  for (int q = 0; q < 16; q++) out[q] = 16 * j + q < width ? (int8_t)bytes[q] : (int8_t)0;
}

/* Checkpoint 0 of one layer's weights: p[k] = ((byte k of item `layer` of the init domain) >> 1) - 64) * 256. */
extern "C" __global__ void gen_init(int16_t* params, int count, uint32_t k0, uint32_t k1, int layer) {
  const int j = global_index();
  if (16 * j >= count) return;
  uint8_t bytes[16];
  philox_block(k0, k1, DOMAIN_INIT, (uint64_t)layer, (uint32_t)j, bytes);
  for (int q = 0; q < 16 && 16 * j + q < count; q++)
    params[16 * j + q] = (int16_t)(((int)(bytes[q] >> 1) - 64) * 256);
}

/*
 * Effective weights of one layer from its parameters: weff[o * ldw + i] (and, when weff_t is not
 * null, weff_t[i * ldwt + o]) for the outs x ins weights, beff[o] for the biases. One thread per weight.
 */
extern "C" __global__ void effective_layer(const int16_t* weights, const int16_t* biases, int8_t* weff,
                                           int8_t* weff_t, int32_t* beff, int outs, int ins, int ldw, int ldwt) {
  const int idx = global_index();
  if (idx >= outs * ins) return;
  const int o = idx / ins;
  const int i = idx - o * ins;
  const int8_t e = (int8_t)effective_weight(weights[idx]);
  weff[(size_t)o * ldw + i] = e;
  if (weff_t) weff_t[(size_t)i * ldwt + o] = e;
  if (idx < outs) beff[idx] = effective_weight(biases[idx]);
}

/* ---------------------------------------------------------------- engine version 2: dataset examples */

/*
 * indices[r] = the training example at sample position first + r of a train part of `count` examples:
 * epoch e = p / count, q = p % count, then the keyed Feistel permutation of [0, count) for e at q (half
 * width h, 4^h >= count; PERMUTATION_ROUNDS rounds, round i keyed by c3 = DOMAIN_PERMUTE + 256 i), cycle-
 * walked into [0, count) (see prng.ts). One thread per row.
 */
extern "C" __global__ void permute_rows(int32_t* indices, int rows, uint32_t first_lo, uint32_t first_hi,
                                        uint32_t count, int h, uint32_t k0, uint32_t k1) {
  const int r = global_index();
  if (r >= rows) return;
  const uint64_t p = (((uint64_t)first_hi << 32) | first_lo) + (uint64_t)r;
  const uint64_t epoch = p / count;
  const uint32_t mask = h == 0 ? 0u : (uint32_t)((1ull << h) - 1ull);
  uint64_t x = p - epoch * count;
  do {
    uint32_t left = (uint32_t)(x >> h);
    uint32_t right = (uint32_t)x & mask;
    for (int i = 0; i < PERMUTATION_ROUNDS; i++) {
      uint32_t w[4];
      philox4x32(right, (uint32_t)epoch, (uint32_t)(epoch >> 32), DOMAIN_PERMUTE + 256u * (uint32_t)i, k0, k1, w);
      const uint32_t next = left ^ (w[0] & mask);
      left = right;
      right = next;
    }
    x = ((uint64_t)left << h) | right;
  } while (x >= count);
  indices[r] = (int32_t)x;
}

/*
 * Dataset rows into activations: dst[r * ld + t] = src[n * features + t] for t < features and 0 for
 * features <= t < ld, with n = indices[r] (or first + r when indices is null); labels[r] = src_labels[n].
 * One thread per element of dst.
 */
extern "C" __global__ void gather_rows(int8_t* dst, int ld, const int8_t* src, int features, const uint16_t* src_labels,
                                       const int32_t* indices, int first, int rows, int32_t* labels) {
  const int idx = global_index();
  if (idx >= rows * ld) return;
  const int r = idx / ld;
  const int t = idx - r * ld;
  const size_t n = indices ? (size_t)indices[r] : (size_t)first + (size_t)r;
  dst[idx] = t < features ? src[n * (size_t)features + t] : (int8_t)0;
  if (t == 0) labels[r] = (int32_t)src_labels[n];
}

/* ---------------------------------------------------------------- element-wise kernels */

/* labels[r] = argmax_c z[r * ldz + c] over c < cols, ties to the lowest c. One thread per row. */
extern "C" __global__ void argmax_rows(const int32_t* z, int ldz, int rows, int cols, int32_t* labels) {
  const int r = global_index();
  if (r >= rows) return;
  const int32_t* row = z + (size_t)r * ldz;
  int best = 0;
  for (int c = 1; c < cols; c++)
    if (row[c] > row[best]) best = c;
  labels[r] = best;
}

/* Loss gradient: g[r][c] = clamp(y[r][c] - (c == label_r ? target : 0), -127, 127). One thread per element. */
extern "C" __global__ void loss_grad(const int8_t* y, int ldy, int rows, int cols, const int32_t* labels,
                                     int target, int8_t* g, int ldg) {
  const int idx = global_index();
  if (idx >= rows * cols) return;
  const int r = idx / cols;
  const int c = idx - r * cols;
  const int t = c == labels[r] ? target : 0;
  g[(size_t)r * ldg + c] = (int8_t)clampi((int)y[(size_t)r * ldy + c] - t, -127, 127);
}

/*
 * dst[c * ldd + r] = src[r * lds + c] for c < cols, r < rows, and 0 for rows <= r < ldd (the padded
 * batch of a weight-gradient product). One thread per element of dst.
 */
extern "C" __global__ void transpose_i8(const int8_t* src, int lds, int rows, int cols, int8_t* dst, int ldd) {
  const int idx = global_index();
  if (idx >= cols * ldd) return;
  const int c = idx / ldd;
  const int r = idx - c * ldd;
  dst[idx] = r < rows ? src[(size_t)r * lds + c] : (int8_t)0;
}

/*
 * Bias gradient and update of one layer: dB[o] = sum_r 127 * g[r][o] (g transposed: g_t[o * ldt + r]),
 * p = clamp(p - roundShift(dB, lr), -32767, 32767), beff[o] = its effective weight. One thread per output.
 */
extern "C" __global__ void bias_update(const int8_t* g_t, int ldt, int outs, int rows, int16_t* biases,
                                       int32_t* beff, int lr) {
  const int o = global_index();
  if (o >= outs) return;
  const int8_t* row = g_t + (size_t)o * ldt;
  int sum = 0;
  for (int r = 0; r < rows; r++) sum += BIAS_INPUT * (int)row[r];
  const int p = clampi((int)biases[o] - round_shift(sum, lr), -PARAMETER_MAX, PARAMETER_MAX);
  biases[o] = (int16_t)p;
  beff[o] = effective_weight(p);
}

/* hits[r] += (argmax_c y[r][c] == labels[r]), ties to the lowest c. One thread per row; hits persist across chunks. */
extern "C" __global__ void count_correct(const int8_t* y, int ldy, int rows, int cols, const int32_t* labels,
                                         int32_t* hits) {
  const int r = global_index();
  if (r >= rows) return;
  const int8_t* row = y + (size_t)r * ldy;
  int best = 0;
  for (int c = 1; c < cols; c++)
    if (row[c] > row[best]) best = c;
  hits[r] += best == labels[r] ? 1 : 0;
}

/* ---------------------------------------------------------------- int8 tensor-core GEMM */

/*
 * D += A * B for one 16x8x32 tile: A 16x32 (row), B 32x8 (col), int8, D int32, per the PTX ISA fragment
 * layout (lane = 4 * group + t): a[0] = A[group][4t .. 4t+3], a[1] = A[group+8][4t ..], a[2] =
 * A[group][16+4t ..], a[3] = A[group+8][16+4t ..]; b[0] = B[4t .. 4t+3][group], b[1] = B[16+4t ..][group];
 * d[0..1] = D[group][2t, 2t+1], d[2..3] = D[group+8][2t, 2t+1]. Bytes little-endian in each register.
 */
__device__ __forceinline__ void mma_s8(int d[4], const uint32_t a[4], const uint32_t b[2]) {
#ifdef POAI_HOST_EMULATION
  emu_mma_m16n8k32_s8(d, a, b);
#else
  asm volatile(
      "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
}

__device__ __forceinline__ uint32_t load_u32(const int8_t* p) {
#ifdef POAI_HOST_EMULATION
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
#else
  return *reinterpret_cast<const uint32_t*>(p);
#endif
}

#define GEMM_THREADS 128
#define TILE_M 64
#define TILE_N 64
#define TILE_K 32
/* Shared-memory row stride: 48 bytes (12 words) makes the fragment loads of a warp conflict-free. */
#define SMEM_LD 48

/*
 * C[m][n] = sum_k A[m * lda + k] * B[n * ldb + k] ("NT": both operands K-contiguous, int8), for m < M,
 * n < N, k < K (K a multiple of 32, lda and ldb multiples of 32, padding zero), handed to `epi(m, n, c)`.
 * A block of 128 threads (2 x 2 warps) computes a 64 x 64 tile; each warp 32 x 32, that is 2 x 4 mma tiles.
 * The K loop runs in order; each output is accumulated by one thread's fragment registers.
 */
template <class Epilogue>
__device__ __forceinline__ void gemm_nt(const int8_t* A, const int8_t* B, int M, int N, int K, int lda, int ldb,
                                        const Epilogue& epi) {
  __shared__ __align__(16) int8_t As[TILE_M * SMEM_LD];
  __shared__ __align__(16) int8_t Bs[TILE_N * SMEM_LD];
  const int tid = (int)threadIdx.x;
  const int warp = tid >> 5;
  const int lane = tid & 31;
  const int group = lane >> 2;
  const int t = lane & 3;
  const int wm = warp >> 1;
  const int wn = warp & 1;
  const int m0 = (int)blockIdx.y * TILE_M;
  const int n0 = (int)blockIdx.x * TILE_N;
  /* Each thread stages 16 bytes of A and 16 of B per K step: row tid / 2, bytes 16 * (tid % 2). */
  const int lrow = tid >> 1;
  const int lcol = (tid & 1) * 16;

  int acc[2][4][4];
  for (int mi = 0; mi < 2; mi++)
    for (int ni = 0; ni < 4; ni++)
      for (int j = 0; j < 4; j++) acc[mi][ni][j] = 0;

  for (int k0 = 0; k0 < K; k0 += TILE_K) {
    int4 va = make_int4(0, 0, 0, 0);
    int4 vb = make_int4(0, 0, 0, 0);
    if (m0 + lrow < M) va = *reinterpret_cast<const int4*>(A + (size_t)(m0 + lrow) * lda + k0 + lcol);
    if (n0 + lrow < N) vb = *reinterpret_cast<const int4*>(B + (size_t)(n0 + lrow) * ldb + k0 + lcol);
    *reinterpret_cast<int4*>(As + lrow * SMEM_LD + lcol) = va;
    *reinterpret_cast<int4*>(Bs + lrow * SMEM_LD + lcol) = vb;
    __syncthreads();

    uint32_t a[2][4];
    uint32_t b[4][2];
    for (int mi = 0; mi < 2; mi++) {
      const int8_t* base = As + (wm * 32 + mi * 16 + group) * SMEM_LD + 4 * t;
      a[mi][0] = load_u32(base);
      a[mi][1] = load_u32(base + 8 * SMEM_LD);
      a[mi][2] = load_u32(base + 16);
      a[mi][3] = load_u32(base + 8 * SMEM_LD + 16);
    }
    for (int ni = 0; ni < 4; ni++) {
      const int8_t* base = Bs + (wn * 32 + ni * 8 + group) * SMEM_LD + 4 * t;
      b[ni][0] = load_u32(base);
      b[ni][1] = load_u32(base + 16);
    }
    for (int mi = 0; mi < 2; mi++)
      for (int ni = 0; ni < 4; ni++) mma_s8(acc[mi][ni], a[mi], b[ni]);
    __syncthreads();
  }

  for (int mi = 0; mi < 2; mi++) {
    for (int ni = 0; ni < 4; ni++) {
      for (int j = 0; j < 4; j++) {
        const int m = m0 + wm * 32 + mi * 16 + group + (j >= 2 ? 8 : 0);
        const int n = n0 + wn * 32 + ni * 8 + 2 * t + (j & 1);
        if (m < M && n < N) epi(m, n, acc[mi][ni][j]);
      }
    }
  }
}

/* C[m * ldc + n] = the int32 product (teacher scores, for the labels). */
struct StoreI32 {
  int32_t* c;
  int ldc;
  __device__ __forceinline__ void operator()(int m, int n, int v) const { c[(size_t)m * ldc + n] = v; }
};

extern "C" __global__ void __launch_bounds__(GEMM_THREADS)
    gemm_store_i32(const int8_t* A, const int8_t* B, int32_t* C, int M, int N, int K, int lda, int ldb, int ldc) {
  gemm_nt(A, B, M, N, K, lda, ldb, StoreI32{C, ldc});
}

/* Forward: out[m][n] = clamp(roundShift(z + 127 * bias[n], shift), lo, 127); z = activations x weights. */
struct Forward {
  const int32_t* bias;
  int8_t* out;
  int ldo;
  int shift;
  int lo;
  __device__ __forceinline__ void operator()(int m, int n, int z) const {
    out[(size_t)m * ldo + n] = (int8_t)clampi(round_shift(z + BIAS_INPUT * bias[n], shift), lo, 127);
  }
};

extern "C" __global__ void __launch_bounds__(GEMM_THREADS)
    gemm_forward(const int8_t* A, const int8_t* B, const int32_t* bias, int8_t* out, int M, int N, int K, int lda,
                 int ldb, int ldo, int shift, int lo) {
  gemm_nt(A, B, M, N, K, lda, ldb, Forward{bias, out, ldo, shift, lo});
}

/*
 * Error for the layer below, through the ReLU: out[m][n] = act[m][n] > 0 ? clamp(roundShift(e, shift),
 * -127, 127) : 0; e = error x transposed weights.
 */
struct Backprop {
  const int8_t* act;
  int ldact;
  int8_t* out;
  int ldo;
  int shift;
  __device__ __forceinline__ void operator()(int m, int n, int e) const {
    const bool live = act[(size_t)m * ldact + n] > 0;
    out[(size_t)m * ldo + n] = live ? (int8_t)clampi(round_shift(e, shift), -127, 127) : (int8_t)0;
  }
};

extern "C" __global__ void __launch_bounds__(GEMM_THREADS)
    gemm_backprop(const int8_t* A, const int8_t* B, const int8_t* act, int8_t* out, int M, int N, int K, int lda,
                  int ldb, int ldact, int ldo, int shift) {
  gemm_nt(A, B, M, N, K, lda, ldb, Backprop{act, ldact, out, ldo, shift});
}

/*
 * Weight gradient and update: dW[o][i] = sum_r g[r][o] * a[r][i] (A = g transposed, B = a transposed);
 * p = clamp(p - roundShift(dW, lr), -32767, 32767) for the parameter params[o * N + i], and its new
 * effective weight into weff (and weff_t when not null).
 */
struct Update {
  int16_t* params;
  int ins;
  int8_t* weff;
  int8_t* weff_t;
  int ldw;
  int ldwt;
  int lr;
  __device__ __forceinline__ void operator()(int o, int i, int dw) const {
    int16_t* at = params + (size_t)o * ins + i;
    const int p = clampi((int)*at - round_shift(dw, lr), -PARAMETER_MAX, PARAMETER_MAX);
    *at = (int16_t)p;
    const int8_t e = (int8_t)effective_weight(p);
    weff[(size_t)o * ldw + i] = e;
    if (weff_t) weff_t[(size_t)i * ldwt + o] = e;
  }
};

extern "C" __global__ void __launch_bounds__(GEMM_THREADS)
    gemm_update(const int8_t* A, const int8_t* B, int16_t* params, int8_t* weff, int8_t* weff_t, int M, int N, int K,
                int lda, int ldb, int ldw, int ldwt, int lr) {
  gemm_nt(A, B, M, N, K, lda, ldb, Update{params, N, weff, weff_t, ldw, ldwt, lr});
}
