/*
 * Native measuring stick for the engine benchmark (bench/engine.ts): the integer SGD step of
 * engine version 1 (docs/engine.md), in plain C with the same memory layout as the wasm backend
 * (int16 operands padded to multiples of 8, transposed copies for the weight gradient and the
 * error propagation), compiled at bench time with gcc -O3 -march=native. Not shipped.
 *
 * Usage: engine K0 K1 BATCH LR_SHIFT FIRST_STEP STEPS OUT_FILE W0 W1 ... WL
 * Starts from the seed-derived initial weights (key K0, K1), runs the SGD steps first_step ..
 * first_step + steps - 1 (only those steps are timed), writes the parameters (int16
 * little-endian, canonical order) to OUT_FILE and prints {"seconds": ...}.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_LAYERS 16
#define TARGET 64

static uint32_t K0, K1;

static void philox(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t out[4]) {
  uint32_t k0 = K0, k1 = K1;
  for (int round = 0; round < 10; round++) {
    if (round > 0) {
      k0 += 0x9e3779b9u;
      k1 += 0xbb67ae85u;
    }
    uint64_t p0 = (uint64_t)0xd2511f53u * c0;
    uint64_t p1 = (uint64_t)0xcd9e8d57u * c2;
    uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
    uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
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

static uint32_t stream_byte(uint64_t item, uint32_t domain, uint32_t t, uint32_t words[4]) {
  if ((t & 15) == 0) philox(t >> 4, (uint32_t)item, (uint32_t)(item >> 32), domain, words);
  return (words[(t >> 2) & 3] >> ((t & 3) * 8)) & 0xff;
}

static inline int32_t round_shift(int32_t x, int s) { return s == 0 ? x : (x + (1 << (s - 1))) >> s; }
static inline int32_t clampi(int32_t x, int32_t lo, int32_t hi) { return x < lo ? lo : x > hi ? hi : x; }
static inline int pad8(int n) { return (n + 7) & ~7; }
static int ceil_half_log2(int n) {
  int k = 0;
  while ((1L << (2 * k)) < n) k++;
  return k;
}

static void *zalloc(size_t bytes) {
  void *p = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
  if (!p) {
    fprintf(stderr, "out of memory\n");
    exit(1);
  }
  memset(p, 0, (bytes + 63) & ~(size_t)63);
  return p;
}

/* C[i][j] = sum_p A[i][p] * B[j][p]; tile of 2 rows of A by 4 rows of B, like the wasm kernel. */
static void gemm_nt(const int16_t *restrict a, const int16_t *restrict b, int32_t *restrict c, int m, int n, int k,
                    int lda, int ldb, int ldc) {
  int i = 0;
  for (; i + 2 <= m; i += 2) {
    const int16_t *a0 = a + (size_t)i * lda, *a1 = a0 + lda;
    int j = 0;
    for (; j + 4 <= n; j += 4) {
      const int16_t *b0 = b + (size_t)j * ldb, *b1 = b0 + ldb, *b2 = b1 + ldb, *b3 = b2 + ldb;
      int32_t s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      for (int p = 0; p < k; p++) {
        int32_t x0 = a0[p], x1 = a1[p];
        s00 += x0 * b0[p];
        s01 += x0 * b1[p];
        s02 += x0 * b2[p];
        s03 += x0 * b3[p];
        s10 += x1 * b0[p];
        s11 += x1 * b1[p];
        s12 += x1 * b2[p];
        s13 += x1 * b3[p];
      }
      int32_t *c0 = c + (size_t)i * ldc + j, *c1 = c0 + ldc;
      c0[0] = s00, c0[1] = s01, c0[2] = s02, c0[3] = s03;
      c1[0] = s10, c1[1] = s11, c1[2] = s12, c1[3] = s13;
    }
    for (; j < n; j++) {
      const int16_t *b0 = b + (size_t)j * ldb;
      int32_t s0 = 0, s1 = 0;
      for (int p = 0; p < k; p++) {
        s0 += a0[p] * b0[p];
        s1 += a1[p] * b0[p];
      }
      c[(size_t)i * ldc + j] = s0;
      c[(size_t)(i + 1) * ldc + j] = s1;
    }
  }
  for (; i < m; i++) {
    const int16_t *a0 = a + (size_t)i * lda;
    for (int j = 0; j < n; j++) {
      const int16_t *b0 = b + (size_t)j * ldb;
      int32_t s0 = 0;
      for (int p = 0; p < k; p++) s0 += a0[p] * b0[p];
      c[(size_t)i * ldc + j] = s0;
    }
  }
}

static void transpose(const int16_t *src, int lds, int rows, int cols, int16_t *dst, int ldd) {
  for (int r = 0; r < rows; r++)
    for (int c = 0; c < cols; c++) dst[(size_t)c * ldd + r] = src[(size_t)r * lds + c];
}

typedef struct {
  int in, out, in8, out8, fwd, bwd;
  size_t woff, boff;
  int16_t *weff, *weffT, *act;
  int32_t *beff;
} layer_t;

static int L, B, B8, LR, maxW8;
static layer_t layers[MAX_LAYERS];
static int16_t *params, *teacher, *output, *actT, *grads[2], *gradT;
static int32_t *z, *dW, *dB, *labels;

static void refresh_layer(layer_t *ly) {
  for (int o = 0; o < ly->out; o++)
    for (int i = 0; i < ly->in; i++)
      ly->weff[(size_t)o * ly->in8 + i] = (int16_t)clampi(round_shift(params[ly->woff + (size_t)o * ly->in + i], 8), -127, 127);
  if (ly->weffT) transpose(ly->weff, ly->in8, ly->out8, ly->in8, ly->weffT, ly->out8);
  for (int o = 0; o < ly->out; o++) ly->beff[o] = 127 * clampi(round_shift(params[ly->boff + o], 8), -127, 127);
}

static void examples(uint64_t first, int rows) {
  layer_t *l0 = &layers[0];
  int classes = layers[L - 1].out;
  uint32_t words[4];
  for (int r = 0; r < rows; r++)
    for (int t = 0; t < l0->in; t++)
      l0->act[(size_t)r * l0->in8 + t] = (int16_t)(int8_t)stream_byte(first + (uint64_t)r, 1, (uint32_t)t, words);
  gemm_nt(l0->act, teacher, z, rows, classes, l0->in8, l0->in8, l0->in8, maxW8);
  for (int r = 0; r < rows; r++) {
    int best = 0;
    for (int c = 1; c < classes; c++)
      if (z[(size_t)r * maxW8 + c] > z[(size_t)r * maxW8 + best]) best = c;
    labels[r] = best;
  }
}

static void forward(int rows) {
  for (int l = 0; l < L; l++) {
    layer_t *ly = &layers[l];
    int16_t *dst = l == L - 1 ? output : layers[l + 1].act;
    int lo = l == L - 1 ? -127 : 0;
    gemm_nt(ly->act, ly->weff, z, rows, ly->out, ly->in8, ly->in8, ly->in8, maxW8);
    for (int r = 0; r < rows; r++)
      for (int o = 0; o < ly->out; o++)
        dst[(size_t)r * ly->out8 + o] = (int16_t)clampi(round_shift(z[(size_t)r * maxW8 + o] + ly->beff[o], ly->fwd), lo, 127);
  }
}

static void step(uint64_t s) {
  examples(s * (uint64_t)B, B);
  forward(B);
  layer_t *top = &layers[L - 1];
  int g = 0;
  for (int r = 0; r < B; r++)
    for (int c = 0; c < top->out; c++)
      grads[g][(size_t)r * top->out8 + c] =
          (int16_t)clampi(output[(size_t)r * top->out8 + c] - (c == labels[r] ? TARGET : 0), -127, 127);
  for (int l = L - 1; l >= 0; l--) {
    layer_t *ly = &layers[l];
    int16_t *grad = grads[g];
    transpose(grad, ly->out8, B, ly->out8, gradT, B8);
    transpose(ly->act, ly->in8, B, ly->in8, actT, B8);
    gemm_nt(gradT, actT, dW, ly->out, ly->in, B8, B8, B8, ly->in);
    for (int o = 0; o < ly->out; o++) {
      int32_t sum = 0;
      for (int r = 0; r < B; r++) sum += gradT[(size_t)o * B8 + r];
      dB[o] = 127 * sum;
    }
    if (l > 0) {
      int16_t *next = grads[1 - g];
      gemm_nt(grad, ly->weffT, z, B, ly->in, ly->out8, ly->out8, ly->out8, maxW8);
      for (int r = 0; r < B; r++)
        for (int i = 0; i < ly->in8; i++)
          next[(size_t)r * ly->in8 + i] =
              i < ly->in && ly->act[(size_t)r * ly->in8 + i] > 0
                  ? (int16_t)clampi(round_shift(z[(size_t)r * maxW8 + i], ly->bwd), -127, 127)
                  : 0;
      g = 1 - g;
    }
    size_t n = (size_t)ly->out * ly->in;
    for (size_t q = 0; q < n; q++)
      params[ly->woff + q] = (int16_t)clampi(params[ly->woff + q] - round_shift(dW[q], LR), -32767, 32767);
    for (int o = 0; o < ly->out; o++)
      params[ly->boff + o] = (int16_t)clampi(params[ly->boff + o] - round_shift(dB[o], LR), -32767, 32767);
    refresh_layer(ly);
  }
}

int main(int argc, char **argv) {
  if (argc < 10) {
    fprintf(stderr, "usage: engine K0 K1 BATCH LR_SHIFT FIRST_STEP STEPS OUT_FILE W0 W1 ... WL\n");
    return 2;
  }
  K0 = (uint32_t)strtoul(argv[1], 0, 10);
  K1 = (uint32_t)strtoul(argv[2], 0, 10);
  B = atoi(argv[3]);
  LR = atoi(argv[4]);
  uint64_t first = strtoull(argv[5], 0, 10);
  long steps = atol(argv[6]);
  const char *out_file = argv[7];
  L = argc - 9;
  if (L < 1 || L > MAX_LAYERS) return 2;
  int widths[MAX_LAYERS + 1], maxW = 0;
  for (int i = 0; i <= L; i++) {
    widths[i] = atoi(argv[8 + i]);
    if (widths[i] > maxW) maxW = widths[i];
  }
  B8 = pad8(B);
  maxW8 = pad8(maxW);
  size_t P = 0, maxProducts = 0;
  for (int l = 0; l < L; l++) {
    layer_t *ly = &layers[l];
    ly->in = widths[l], ly->out = widths[l + 1];
    ly->in8 = pad8(ly->in), ly->out8 = pad8(ly->out);
    ly->fwd = 6 + ceil_half_log2(ly->in), ly->bwd = 6 + ceil_half_log2(ly->out);
    ly->woff = P, ly->boff = P + (size_t)ly->in * ly->out;
    P += (size_t)(ly->in + 1) * ly->out;
    if ((size_t)ly->in * ly->out > maxProducts) maxProducts = (size_t)ly->in * ly->out;
    ly->weff = zalloc(2 * (size_t)ly->out8 * ly->in8);
    ly->weffT = l > 0 ? zalloc(2 * (size_t)ly->in8 * ly->out8) : NULL;
    ly->beff = zalloc(4 * (size_t)ly->out);
    ly->act = zalloc(2 * (size_t)B8 * ly->in8);
  }
  int classes = widths[L];
  params = zalloc(2 * P);
  output = zalloc(2 * (size_t)B8 * pad8(classes));
  teacher = zalloc(2 * (size_t)pad8(classes) * layers[0].in8);
  actT = zalloc(2 * (size_t)maxW8 * B8);
  grads[0] = zalloc(2 * (size_t)B8 * maxW8);
  grads[1] = zalloc(2 * (size_t)B8 * maxW8);
  gradT = zalloc(2 * (size_t)maxW8 * B8);
  z = zalloc(4 * (size_t)B8 * maxW8);
  dW = zalloc(4 * maxProducts);
  dB = zalloc(4 * (size_t)maxW);
  labels = zalloc(4 * (size_t)B8);

  uint32_t words[4];
  for (int l = 0; l < L; l++)
    for (size_t q = 0; q < (size_t)layers[l].in * layers[l].out; q++)
      params[layers[l].woff + q] = (int16_t)(((int32_t)(stream_byte((uint64_t)l, 3, (uint32_t)q, words) >> 1) - 64) * 256);
  for (int c = 0; c < classes; c++)
    for (int t = 0; t < layers[0].in; t++)
      teacher[(size_t)c * layers[0].in8 + t] = (int16_t)(int8_t)stream_byte((uint64_t)c, 2, (uint32_t)t, words);
  for (int l = 0; l < L; l++) refresh_layer(&layers[l]);

  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (long s = 0; s < steps; s++) step(first + (uint64_t)s);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);

  FILE *f = fopen(out_file, "wb");
  if (!f) return 1;
  for (size_t q = 0; q < P; q++) {
    uint16_t v = (uint16_t)params[q];
    fputc(v & 0xff, f);
    fputc(v >> 8, f);
  }
  fclose(f);
  printf("{\"seconds\": %.9f}\n", seconds);
  return 0;
}
