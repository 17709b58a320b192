// AssemblyScript source of the `wasm` backend's kernels (engine versions 1 and 2).
// Build: `npx tsx sdk/src/compute/wasm/build.ts` (writes kernels.generated.ts, the embedded binary).
// The file ends in .as so that the TypeScript tools of the repository leave it alone; build.ts
// hands it to the AssemblyScript compiler as kernels.ts.
//
// Memory: the host (backend.ts) lays out every buffer in linear memory and passes byte offsets.
// Matrices are row-major int16 with a leading dimension (ld, in elements) that is a multiple of 8,
// so every row starts 16-byte aligned and every contraction runs over whole 8-lane vectors; the
// padding columns (and padding rows, where a matrix is transposed) hold zeros.
// The arithmetic is exactly that of sdk/src/compute/reference.ts; see docs/engine.md.

// ---------------------------------------------------------------------------------------------
// Philox4x32-10

const M0: u32 = 0xd2511f53;
const M1: u32 = 0xcd9e8d57;
const W0: u32 = 0x9e3779b9;
const W1: u32 = 0xbb67ae85;

const DOMAIN_INPUT: u32 = 1;
const DOMAIN_TEACHER: u32 = 2;
const DOMAIN_INIT: u32 = 3;
const DOMAIN_PERMUTE: u32 = 4;
const PERMUTATION_ROUNDS: u32 = 4;

let out0: u32 = 0;
let out1: u32 = 0;
let out2: u32 = 0;
let out3: u32 = 0;

function philox(c0: u32, c1: u32, c2: u32, c3: u32, k0: u32, k1: u32): void {
  let x0 = c0;
  let x1 = c1;
  let x2 = c2;
  let x3 = c3;
  for (let round = 0; round < 10; round++) {
    if (round > 0) {
      k0 += W0;
      k1 += W1;
    }
    const p0: u64 = <u64>M0 * <u64>x0;
    const p1: u64 = <u64>M1 * <u64>x2;
    x0 = <u32>(p1 >>> 32) ^ x1 ^ k0;
    x1 = <u32>p1;
    x2 = <u32>(p0 >>> 32) ^ x3 ^ k1;
    x3 = <u32>p0;
  }
  out0 = x0;
  out1 = x1;
  out2 = x2;
  out3 = x3;
}

/** The 16 bytes of the last philox() call as a vector (word i in lanes 4i..4i+3, little-endian). */
@inline function philoxVector(): v128 {
  let v = i32x4.splat(<i32>out0);
  v = i32x4.replace_lane(v, 1, <i32>out1);
  v = i32x4.replace_lane(v, 2, <i32>out2);
  v = i32x4.replace_lane(v, 3, <i32>out3);
  return v;
}

@inline function philoxByte(t: i32): u32 {
  const w = t >> 2;
  const word = w == 0 ? out0 : w == 1 ? out1 : w == 2 ? out2 : out3;
  return (word >>> ((<u32>t & 3) * 8)) & 0xff;
}

/** Writes the first `count` bytes of item (lo, hi) of `domain`, as int8 widened to int16, to dst. */
function int8Stream(dst: usize, count: i32, k0: u32, k1: u32, lo: u32, hi: u32, domain: u32): void {
  let j = 0;
  for (; (j + 1) * 16 <= count; j++) {
    philox(<u32>j, lo, hi, domain, k0, k1);
    const v = philoxVector();
    const at = dst + (<usize>j << 5);
    v128.store(at, i16x8.extend_low_i8x16_s(v));
    v128.store(at, i16x8.extend_high_i8x16_s(v), 16);
  }
  if (j * 16 < count) {
    philox(<u32>j, lo, hi, domain, k0, k1);
    for (let t = 0; j * 16 + t < count; t++) {
      store<i16>(dst + (<usize>(j * 16 + t) << 1), <i16>(<i8>philoxByte(t)));
    }
  }
}

/** Inputs of examples first .. first + rows - 1 (first = firstHi · 2^32 + firstLo) into dst [rows][ld]. */
export function gen_inputs(dst: usize, rows: i32, width: i32, ld: i32, k0: u32, k1: u32, firstLo: u32, firstHi: u32): void {
  const first: u64 = (<u64>firstHi << 32) | <u64>firstLo;
  for (let r = 0; r < rows; r++) {
    const item = first + <u64>r;
    int8Stream(dst + (<usize>(r * ld) << 1), width, k0, k1, <u32>item, <u32>(item >>> 32), DOMAIN_INPUT);
  }
}

/** Teacher weights [classes][ld]. */
export function gen_teacher(dst: usize, classes: i32, width: i32, ld: i32, k0: u32, k1: u32): void {
  for (let c = 0; c < classes; c++) {
    int8Stream(dst + (<usize>(c * ld) << 1), width, k0, k1, <u32>c, 0, DOMAIN_TEACHER);
  }
}

/** Initial weights of layer `layer`: count parameters ((byte >> 1) - 64) · 256 at dst. */
export function gen_init(dst: usize, count: i32, k0: u32, k1: u32, layer: u32): void {
  for (let j = 0; j * 16 < count; j++) {
    philox(<u32>j, layer, 0, DOMAIN_INIT, k0, k1);
    for (let t = 0; t < 16 && j * 16 + t < count; t++) {
      store<i16>(dst + (<usize>(j * 16 + t) << 1), <i16>((<i32>(philoxByte(t) >> 1) - 64) * 256));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Engine version 2: dataset examples

/**
 * dst[r] (int32) = the training example at sample position first + r (first = firstHi · 2^32 + firstLo)
 * of a train part of `count` examples: epoch e = p / count, q = p mod count, then the keyed Feistel
 * permutation of [0, count) for e at q (half width h, 4^h >= count), cycle-walked (see prng.ts).
 */
export function permute_rows(dst: usize, rows: i32, firstLo: u32, firstHi: u32, count: u32, h: i32, k0: u32, k1: u32): void {
  const first: u64 = (<u64>firstHi << 32) | <u64>firstLo;
  const mask: u32 = h == 0 ? 0 : <u32>((<u64>1 << <u64>h) - 1);
  for (let r = 0; r < rows; r++) {
    const p = first + <u64>r;
    const epoch = p / <u64>count;
    const eLo = <u32>epoch;
    const eHi = <u32>(epoch >>> 32);
    let x: u64 = p - epoch * <u64>count;
    do {
      let left = <u32>(x >>> <u64>h);
      let right = <u32>x & mask;
      for (let i: u32 = 0; i < PERMUTATION_ROUNDS; i++) {
        philox(right, eLo, eHi, DOMAIN_PERMUTE + 256 * i, k0, k1);
        const next = left ^ (out0 & mask);
        left = right;
        right = next;
      }
      x = (<u64>left << <u64>h) | <u64>right;
    } while (x >= <u64>count);
    store<i32>(dst + (<usize>r << 2), <i32>x);
  }
}

/**
 * Gathers dataset rows: for r < rows, example n = indices[r] (int32): dst[r][0 .. features) = the
 * int8 features src[n · features ..] widened to int16, dst[r][features .. ld) = 0, and labels[r]
 * (int32) = srcLabels[n] (uint16).
 */
export function gather_rows(dst: usize, ld: i32, src: usize, features: i32, srcLabels: usize, indices: usize, rows: i32, labels: usize): void {
  for (let r = 0; r < rows; r++) {
    const n = <usize>load<i32>(indices + (<usize>r << 2));
    const from = src + n * <usize>features;
    const to = dst + (<usize>(r * ld) << 1);
    let t = 0;
    for (; t + 16 <= features; t += 16) {
      const v = v128.load(from + <usize>t);
      v128.store(to + (<usize>t << 1), i16x8.extend_low_i8x16_s(v));
      v128.store(to + (<usize>t << 1), i16x8.extend_high_i8x16_s(v), 16);
    }
    for (; t < features; t++) store<i16>(to + (<usize>t << 1), <i16>load<i8>(from + <usize>t));
    for (; t < ld; t++) store<i16>(to + (<usize>t << 1), 0);
    store<i32>(labels + (<usize>r << 2), <i32>load<u16>(srcLabels + (n << 1)));
  }
}

// ---------------------------------------------------------------------------------------------
// Matrix product: C[i][j] = sum_k A[i][k] · B[j][k], int16 operands (int8 values), int32 sums.

/** [sum(a), sum(b), sum(c), sum(d)]: the horizontal sums of four accumulators in one vector. */
@inline function hsum4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = i32x4.add(i32x4.shuffle(a, b, 0, 4, 1, 5), i32x4.shuffle(a, b, 2, 6, 3, 7));
  const cd = i32x4.add(i32x4.shuffle(c, d, 0, 4, 1, 5), i32x4.shuffle(c, d, 2, 6, 3, 7));
  return i32x4.add(i64x2.shuffle(ab, cd, 0, 2), i64x2.shuffle(ab, cd, 1, 3));
}

@inline function hsum1(a: v128): i32 {
  return i32x4.extract_lane(a, 0) + i32x4.extract_lane(a, 1) + i32x4.extract_lane(a, 2) + i32x4.extract_lane(a, 3);
}

/**
 * C (int32, [m][ldc]) = A ([m][lda]) · B ([n][ldb])^T over k (a multiple of 8) columns.
 * Register tile: 2 rows of A by 4 rows of B, 8 accumulators.
 */
export function gemm_nt(a: usize, b: usize, c: usize, m: i32, n: i32, k: i32, lda: i32, ldb: i32, ldc: i32): void {
  const kb = <usize>k << 1;
  const sa = <usize>lda << 1;
  const sb = <usize>ldb << 1;
  const sc = <usize>ldc << 2;
  let i = 0;
  for (; i + 2 <= m; i += 2) {
    const a0 = a + <usize>i * sa;
    const a1 = a0 + sa;
    const c0 = c + <usize>i * sc;
    const c1 = c0 + sc;
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const b0 = b + <usize>j * sb;
      const b1 = b0 + sb;
      const b2 = b1 + sb;
      const b3 = b2 + sb;
      let s00 = i32x4.splat(0), s01 = i32x4.splat(0), s02 = i32x4.splat(0), s03 = i32x4.splat(0);
      let s10 = i32x4.splat(0), s11 = i32x4.splat(0), s12 = i32x4.splat(0), s13 = i32x4.splat(0);
      for (let p: usize = 0; p < kb; p += 16) {
        const x0 = v128.load(a0 + p);
        const x1 = v128.load(a1 + p);
        const y0 = v128.load(b0 + p);
        const y1 = v128.load(b1 + p);
        const y2 = v128.load(b2 + p);
        const y3 = v128.load(b3 + p);
        s00 = i32x4.add(s00, i32x4.dot_i16x8_s(x0, y0));
        s01 = i32x4.add(s01, i32x4.dot_i16x8_s(x0, y1));
        s02 = i32x4.add(s02, i32x4.dot_i16x8_s(x0, y2));
        s03 = i32x4.add(s03, i32x4.dot_i16x8_s(x0, y3));
        s10 = i32x4.add(s10, i32x4.dot_i16x8_s(x1, y0));
        s11 = i32x4.add(s11, i32x4.dot_i16x8_s(x1, y1));
        s12 = i32x4.add(s12, i32x4.dot_i16x8_s(x1, y2));
        s13 = i32x4.add(s13, i32x4.dot_i16x8_s(x1, y3));
      }
      v128.store(c0 + (<usize>j << 2), hsum4(s00, s01, s02, s03));
      v128.store(c1 + (<usize>j << 2), hsum4(s10, s11, s12, s13));
    }
    for (; j < n; j++) {
      const b0 = b + <usize>j * sb;
      let s0 = i32x4.splat(0), s1 = i32x4.splat(0);
      for (let p: usize = 0; p < kb; p += 16) {
        const y0 = v128.load(b0 + p);
        s0 = i32x4.add(s0, i32x4.dot_i16x8_s(v128.load(a0 + p), y0));
        s1 = i32x4.add(s1, i32x4.dot_i16x8_s(v128.load(a1 + p), y0));
      }
      store<i32>(c0 + (<usize>j << 2), hsum1(s0));
      store<i32>(c1 + (<usize>j << 2), hsum1(s1));
    }
  }
  if (i < m) {
    const a0 = a + <usize>i * sa;
    const c0 = c + <usize>i * sc;
    for (let j = 0; j < n; j++) {
      const b0 = b + <usize>j * sb;
      let s0 = i32x4.splat(0);
      for (let p: usize = 0; p < kb; p += 16) s0 = i32x4.add(s0, i32x4.dot_i16x8_s(v128.load(a0 + p), v128.load(b0 + p)));
      store<i32>(c0 + (<usize>j << 2), hsum1(s0));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Element-wise kernels

@inline function roundShift(x: i32, s: i32): i32 {
  return s == 0 ? x : (x + (1 << (s - 1))) >> s;
}

@inline function clampI(x: i32, lo: i32, hi: i32): i32 {
  return x < lo ? lo : x > hi ? hi : x;
}

/** Vector roundShift: (x + half) >> s, with half = s > 0 ? 2^(s-1) : 0 already splatted. */
@inline function roundShiftV(x: v128, half: v128, s: i32): v128 {
  return i32x4.shr_s(i32x4.add(x, half), s);
}

/**
 * dst[r][c] = clamp(roundShift(z[r][c] + bias[c], s), lo, hi) for c < cols, 0 for cols <= c < ldd.
 * z: int32 [rows][ldz]; bias: int32 [cols] (already multiplied by the bias input 127).
 */
export function requant(z: usize, ldz: i32, bias: usize, rows: i32, cols: i32, s: i32, lo: i32, hi: i32, dst: usize, ldd: i32): void {
  const half = i32x4.splat(s == 0 ? 0 : 1 << (s - 1));
  const vlo = i32x4.splat(lo);
  const vhi = i32x4.splat(hi);
  for (let r = 0; r < rows; r++) {
    const zr = z + (<usize>(r * ldz) << 2);
    const dr = dst + (<usize>(r * ldd) << 1);
    let c = 0;
    for (; c + 8 <= cols; c += 8) {
      const at = <usize>c << 2;
      const v0 = i32x4.add(v128.load(zr + at), v128.load(bias + at));
      const v1 = i32x4.add(v128.load(zr + at, 16), v128.load(bias + at, 16));
      const q0 = i32x4.min_s(i32x4.max_s(roundShiftV(v0, half, s), vlo), vhi);
      const q1 = i32x4.min_s(i32x4.max_s(roundShiftV(v1, half, s), vlo), vhi);
      v128.store(dr + (<usize>c << 1), i16x8.narrow_i32x4_s(q0, q1));
    }
    for (; c < cols; c++) {
      const v = load<i32>(zr + (<usize>c << 2)) + load<i32>(bias + (<usize>c << 2));
      store<i16>(dr + (<usize>c << 1), <i16>clampI(roundShift(v, s), lo, hi));
    }
    for (; c < ldd; c++) store<i16>(dr + (<usize>c << 1), 0);
  }
}

/** labels[r] = argmax_c z[r][c] (int32 [rows][ldz]); ties go to the lowest c. */
export function argmax_rows(z: usize, ldz: i32, rows: i32, cols: i32, labels: usize): void {
  for (let r = 0; r < rows; r++) {
    const zr = z + (<usize>(r * ldz) << 2);
    let best = 0;
    let bestValue = load<i32>(zr);
    for (let c = 1; c < cols; c++) {
      const v = load<i32>(zr + (<usize>c << 2));
      if (v > bestValue) {
        best = c;
        bestValue = v;
      }
    }
    store<i32>(labels + (<usize>r << 2), best);
  }
}

/** Number of rows r with argmax_c y[r][c] == labels[r] (y: int16 [rows][ldy]; ties: lowest c). */
export function count_correct(y: usize, ldy: i32, rows: i32, cols: i32, labels: usize): i32 {
  let correct = 0;
  for (let r = 0; r < rows; r++) {
    const yr = y + (<usize>(r * ldy) << 1);
    let best = 0;
    let bestValue = <i32>load<i16>(yr);
    for (let c = 1; c < cols; c++) {
      const v = <i32>load<i16>(yr + (<usize>c << 1));
      if (v > bestValue) {
        best = c;
        bestValue = v;
      }
    }
    if (best == load<i32>(labels + (<usize>r << 2))) correct++;
  }
  return correct;
}

/** Loss gradient g[r][c] = clamp(y[r][c] - (c == label ? target : 0), -127, 127); padding zeroed. */
export function loss_grad(y: usize, ldy: i32, rows: i32, cols: i32, labels: usize, target: i32, g: usize, ldg: i32): void {
  for (let r = 0; r < rows; r++) {
    const label = load<i32>(labels + (<usize>r << 2));
    const yr = y + (<usize>(r * ldy) << 1);
    const gr = g + (<usize>(r * ldg) << 1);
    for (let c = 0; c < cols; c++) {
      const t = c == label ? target : 0;
      store<i16>(gr + (<usize>c << 1), <i16>clampI(<i32>load<i16>(yr + (<usize>c << 1)) - t, -127, 127));
    }
    for (let c = cols; c < ldg; c++) store<i16>(gr + (<usize>c << 1), 0);
  }
}

/**
 * Error through a ReLU layer: g[r][c] = a[r][c] > 0 ? clamp(roundShift(e[r][c], s), -127, 127) : 0
 * (e: int32 [rows][lde]; a, g: int16); padding zeroed.
 */
export function backprop_relu(e: usize, lde: i32, a: usize, lda: i32, rows: i32, cols: i32, s: i32, g: usize, ldg: i32): void {
  const half = i32x4.splat(s == 0 ? 0 : 1 << (s - 1));
  const vlo = i32x4.splat(-127);
  const vhi = i32x4.splat(127);
  const zero = i16x8.splat(0);
  for (let r = 0; r < rows; r++) {
    const er = e + (<usize>(r * lde) << 2);
    const ar = a + (<usize>(r * lda) << 1);
    const gr = g + (<usize>(r * ldg) << 1);
    let c = 0;
    for (; c + 8 <= cols; c += 8) {
      const q0 = i32x4.min_s(i32x4.max_s(roundShiftV(v128.load(er + (<usize>c << 2)), half, s), vlo), vhi);
      const q1 = i32x4.min_s(i32x4.max_s(roundShiftV(v128.load(er + (<usize>c << 2), 16), half, s), vlo), vhi);
      const mask = i16x8.gt_s(v128.load(ar + (<usize>c << 1)), zero);
      v128.store(gr + (<usize>c << 1), v128.and(i16x8.narrow_i32x4_s(q0, q1), mask));
    }
    for (; c < cols; c++) {
      const active = load<i16>(ar + (<usize>c << 1)) > 0;
      const v = active ? clampI(roundShift(load<i32>(er + (<usize>c << 2)), s), -127, 127) : 0;
      store<i16>(gr + (<usize>c << 1), <i16>v);
    }
    for (; c < ldg; c++) store<i16>(gr + (<usize>c << 1), 0);
  }
}

/**
 * Bias gradient db[o] = 127 · sum_{r < rows} gt[o][r] (gt: int16 [outs][ldt], the transposed
 * error; only its first `rows` columns are read).
 */
export function bias_grad(gt: usize, ldt: i32, outs: i32, rows: i32, db: usize): void {
  const ones = i16x8.splat(1);
  for (let o = 0; o < outs; o++) {
    const row = gt + (<usize>(o * ldt) << 1);
    let s = i32x4.splat(0);
    let r = 0;
    for (; r + 8 <= rows; r += 8) s = i32x4.add(s, i32x4.dot_i16x8_s(v128.load(row + (<usize>r << 1)), ones));
    let total = hsum1(s);
    for (; r < rows; r++) total += <i32>load<i16>(row + (<usize>r << 1));
    store<i32>(db + (<usize>o << 2), 127 * total);
  }
}

/**
 * Transposes src (int16, rows8 x cols8 used, both multiples of 8, [.][lds]) into dst ([cols8][ldd]),
 * in 8x8 blocks.
 */
export function transpose(src: usize, lds: i32, rows8: i32, cols8: i32, dst: usize, ldd: i32): void {
  const ss = <usize>lds << 1;
  const sd = <usize>ldd << 1;
  for (let r = 0; r < rows8; r += 8) {
    for (let c = 0; c < cols8; c += 8) {
      const s = src + <usize>r * ss + (<usize>c << 1);
      const r0 = v128.load(s);
      const r1 = v128.load(s + ss);
      const r2 = v128.load(s + 2 * ss);
      const r3 = v128.load(s + 3 * ss);
      const r4 = v128.load(s + 4 * ss);
      const r5 = v128.load(s + 5 * ss);
      const r6 = v128.load(s + 6 * ss);
      const r7 = v128.load(s + 7 * ss);
      const a0 = i16x8.shuffle(r0, r1, 0, 8, 1, 9, 2, 10, 3, 11);
      const a1 = i16x8.shuffle(r0, r1, 4, 12, 5, 13, 6, 14, 7, 15);
      const a2 = i16x8.shuffle(r2, r3, 0, 8, 1, 9, 2, 10, 3, 11);
      const a3 = i16x8.shuffle(r2, r3, 4, 12, 5, 13, 6, 14, 7, 15);
      const a4 = i16x8.shuffle(r4, r5, 0, 8, 1, 9, 2, 10, 3, 11);
      const a5 = i16x8.shuffle(r4, r5, 4, 12, 5, 13, 6, 14, 7, 15);
      const a6 = i16x8.shuffle(r6, r7, 0, 8, 1, 9, 2, 10, 3, 11);
      const a7 = i16x8.shuffle(r6, r7, 4, 12, 5, 13, 6, 14, 7, 15);
      const b0 = i32x4.shuffle(a0, a2, 0, 4, 1, 5);
      const b1 = i32x4.shuffle(a0, a2, 2, 6, 3, 7);
      const b2 = i32x4.shuffle(a1, a3, 0, 4, 1, 5);
      const b3 = i32x4.shuffle(a1, a3, 2, 6, 3, 7);
      const b4 = i32x4.shuffle(a4, a6, 0, 4, 1, 5);
      const b5 = i32x4.shuffle(a4, a6, 2, 6, 3, 7);
      const b6 = i32x4.shuffle(a5, a7, 0, 4, 1, 5);
      const b7 = i32x4.shuffle(a5, a7, 2, 6, 3, 7);
      const d = dst + <usize>c * sd + (<usize>r << 1);
      v128.store(d, i64x2.shuffle(b0, b4, 0, 2));
      v128.store(d + sd, i64x2.shuffle(b0, b4, 1, 3));
      v128.store(d + 2 * sd, i64x2.shuffle(b1, b5, 0, 2));
      v128.store(d + 3 * sd, i64x2.shuffle(b1, b5, 1, 3));
      v128.store(d + 4 * sd, i64x2.shuffle(b2, b6, 0, 2));
      v128.store(d + 5 * sd, i64x2.shuffle(b2, b6, 1, 3));
      v128.store(d + 6 * sd, i64x2.shuffle(b3, b7, 0, 2));
      v128.store(d + 7 * sd, i64x2.shuffle(b3, b7, 1, 3));
    }
  }
}

/**
 * SGD update of one weight matrix and refresh of its effective weights:
 * p = clamp(p - roundShift(dw, lr), -32767, 32767); weff = clamp(roundShift(p, 8), -127, 127).
 * p: int16 [outs][ins] (unpadded, maybe unaligned); dw: int32 [outs][ins]; weff: int16 [outs][ldw].
 * With dw == 0 (null), only refreshes weff.
 */
export function update_weights(p: usize, dw: usize, outs: i32, ins: i32, lr: i32, weff: usize, ldw: i32): void {
  const half = i32x4.splat(lr == 0 ? 0 : 1 << (lr - 1));
  const pmax = i32x4.splat(32767);
  const pmin = i32x4.splat(-32767);
  const whalf = i32x4.splat(128);
  const wmax = i32x4.splat(127);
  const wmin = i32x4.splat(-127);
  for (let o = 0; o < outs; o++) {
    const pr = p + (<usize>(o * ins) << 1);
    const dr = dw + (<usize>(o * ins) << 2);
    const wr = weff + (<usize>(o * ldw) << 1);
    let i = 0;
    for (; i + 8 <= ins; i += 8) {
      const pv = v128.load(pr + (<usize>i << 1));
      let p0 = i32x4.extend_low_i16x8_s(pv);
      let p1 = i32x4.extend_high_i16x8_s(pv);
      if (dw != 0) {
        p0 = i32x4.sub(p0, roundShiftV(v128.load(dr + (<usize>i << 2)), half, lr));
        p1 = i32x4.sub(p1, roundShiftV(v128.load(dr + (<usize>i << 2), 16), half, lr));
        p0 = i32x4.min_s(i32x4.max_s(p0, pmin), pmax);
        p1 = i32x4.min_s(i32x4.max_s(p1, pmin), pmax);
        v128.store(pr + (<usize>i << 1), i16x8.narrow_i32x4_s(p0, p1));
      }
      const w0 = i32x4.min_s(i32x4.max_s(roundShiftV(p0, whalf, 8), wmin), wmax);
      const w1 = i32x4.min_s(i32x4.max_s(roundShiftV(p1, whalf, 8), wmin), wmax);
      v128.store(wr + (<usize>i << 1), i16x8.narrow_i32x4_s(w0, w1));
    }
    for (; i < ins; i++) {
      let v = <i32>load<i16>(pr + (<usize>i << 1));
      if (dw != 0) {
        v = clampI(v - roundShift(load<i32>(dr + (<usize>i << 2)), lr), -32767, 32767);
        store<i16>(pr + (<usize>i << 1), <i16>v);
      }
      store<i16>(wr + (<usize>i << 1), <i16>clampI(roundShift(v, 8), -127, 127));
    }
  }
}

/**
 * SGD update of one bias vector (p: int16 [outs]; db: int32 [outs], or 0 to only refresh) and
 * refresh of beff = 127 · clamp(roundShift(p, 8), -127, 127) (int32 [outs]).
 */
export function update_bias(p: usize, db: usize, outs: i32, lr: i32, beff: usize): void {
  for (let o = 0; o < outs; o++) {
    let v = <i32>load<i16>(p + (<usize>o << 1));
    if (db != 0) {
      v = clampI(v - roundShift(load<i32>(db + (<usize>o << 2)), lr), -32767, 32767);
      store<i16>(p + (<usize>o << 1), <i16>v);
    }
    store<i32>(beff + (<usize>o << 2), 127 * clampI(roundShift(v, 8), -127, 127));
  }
}

// ---------------------------------------------------------------------------------------------
// Keccak-256 and byte trees (docs/disputes.md, "State layout"): the step-state tracer hashes every
// slot's tree here, in place in linear memory, with none of a per-leaf call's overhead. The same
// function as viem's keccak256 (the EVM's, not NIST SHA3-256); sdk/src/compute/state/tree.ts is
// the reference.

const KECCAK_RC = memory.data<u64>([0x0000000000000001, 0x0000000000008082, 0x800000000000808a, 0x8000000080008000, 0x000000000000808b, 0x0000000080000001, 0x8000000080008081, 0x8000000000008009, 0x000000000000008a, 0x0000000000000088, 0x0000000080008009, 0x000000008000000a, 0x000000008000808b, 0x800000000000008b, 0x8000000000008089, 0x8000000000008003, 0x8000000000008002, 0x8000000000000080, 0x000000000000800a, 0x800000008000000a, 0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008]);

/** Keccak-f[1600] on the 25 little-endian lanes at st (200 bytes). */
function keccakF(st: usize): void {
  let a0 = load<u64>(st, 0);
  let a1 = load<u64>(st, 8);
  let a2 = load<u64>(st, 16);
  let a3 = load<u64>(st, 24);
  let a4 = load<u64>(st, 32);
  let a5 = load<u64>(st, 40);
  let a6 = load<u64>(st, 48);
  let a7 = load<u64>(st, 56);
  let a8 = load<u64>(st, 64);
  let a9 = load<u64>(st, 72);
  let a10 = load<u64>(st, 80);
  let a11 = load<u64>(st, 88);
  let a12 = load<u64>(st, 96);
  let a13 = load<u64>(st, 104);
  let a14 = load<u64>(st, 112);
  let a15 = load<u64>(st, 120);
  let a16 = load<u64>(st, 128);
  let a17 = load<u64>(st, 136);
  let a18 = load<u64>(st, 144);
  let a19 = load<u64>(st, 152);
  let a20 = load<u64>(st, 160);
  let a21 = load<u64>(st, 168);
  let a22 = load<u64>(st, 176);
  let a23 = load<u64>(st, 184);
  let a24 = load<u64>(st, 192);
  for (let round = 0; round < 24; round++) {
    const c0 = a0 ^ a5 ^ a10 ^ a15 ^ a20;
    const c1 = a1 ^ a6 ^ a11 ^ a16 ^ a21;
    const c2 = a2 ^ a7 ^ a12 ^ a17 ^ a22;
    const c3 = a3 ^ a8 ^ a13 ^ a18 ^ a23;
    const c4 = a4 ^ a9 ^ a14 ^ a19 ^ a24;
    const d0 = c4 ^ rotl<u64>(c1, 1);
    const d1 = c0 ^ rotl<u64>(c2, 1);
    const d2 = c1 ^ rotl<u64>(c3, 1);
    const d3 = c2 ^ rotl<u64>(c4, 1);
    const d4 = c3 ^ rotl<u64>(c0, 1);
    const b0 = (a0 ^ d0);
    const b16 = rotl<u64>(a5 ^ d0, 36);
    const b7 = rotl<u64>(a10 ^ d0, 3);
    const b23 = rotl<u64>(a15 ^ d0, 41);
    const b14 = rotl<u64>(a20 ^ d0, 18);
    const b10 = rotl<u64>(a1 ^ d1, 1);
    const b1 = rotl<u64>(a6 ^ d1, 44);
    const b17 = rotl<u64>(a11 ^ d1, 10);
    const b8 = rotl<u64>(a16 ^ d1, 45);
    const b24 = rotl<u64>(a21 ^ d1, 2);
    const b20 = rotl<u64>(a2 ^ d2, 62);
    const b11 = rotl<u64>(a7 ^ d2, 6);
    const b2 = rotl<u64>(a12 ^ d2, 43);
    const b18 = rotl<u64>(a17 ^ d2, 15);
    const b9 = rotl<u64>(a22 ^ d2, 61);
    const b5 = rotl<u64>(a3 ^ d3, 28);
    const b21 = rotl<u64>(a8 ^ d3, 55);
    const b12 = rotl<u64>(a13 ^ d3, 25);
    const b3 = rotl<u64>(a18 ^ d3, 21);
    const b19 = rotl<u64>(a23 ^ d3, 56);
    const b15 = rotl<u64>(a4 ^ d4, 27);
    const b6 = rotl<u64>(a9 ^ d4, 20);
    const b22 = rotl<u64>(a14 ^ d4, 39);
    const b13 = rotl<u64>(a19 ^ d4, 8);
    const b4 = rotl<u64>(a24 ^ d4, 14);
    a0 = b0 ^ (~b1 & b2);
    a5 = b5 ^ (~b6 & b7);
    a10 = b10 ^ (~b11 & b12);
    a15 = b15 ^ (~b16 & b17);
    a20 = b20 ^ (~b21 & b22);
    a1 = b1 ^ (~b2 & b3);
    a6 = b6 ^ (~b7 & b8);
    a11 = b11 ^ (~b12 & b13);
    a16 = b16 ^ (~b17 & b18);
    a21 = b21 ^ (~b22 & b23);
    a2 = b2 ^ (~b3 & b4);
    a7 = b7 ^ (~b8 & b9);
    a12 = b12 ^ (~b13 & b14);
    a17 = b17 ^ (~b18 & b19);
    a22 = b22 ^ (~b23 & b24);
    a3 = b3 ^ (~b4 & b0);
    a8 = b8 ^ (~b9 & b5);
    a13 = b13 ^ (~b14 & b10);
    a18 = b18 ^ (~b19 & b15);
    a23 = b23 ^ (~b24 & b20);
    a4 = b4 ^ (~b0 & b1);
    a9 = b9 ^ (~b5 & b6);
    a14 = b14 ^ (~b10 & b11);
    a19 = b19 ^ (~b15 & b16);
    a24 = b24 ^ (~b20 & b21);
    a0 ^= load<u64>(KECCAK_RC + (<usize>round << 3));
  }
  store<u64>(st, a0, 0);
  store<u64>(st, a1, 8);
  store<u64>(st, a2, 16);
  store<u64>(st, a3, 24);
  store<u64>(st, a4, 32);
  store<u64>(st, a5, 40);
  store<u64>(st, a6, 48);
  store<u64>(st, a7, 56);
  store<u64>(st, a8, 64);
  store<u64>(st, a9, 72);
  store<u64>(st, a10, 80);
  store<u64>(st, a11, 88);
  store<u64>(st, a12, 96);
  store<u64>(st, a13, 104);
  store<u64>(st, a14, 112);
  store<u64>(st, a15, 120);
  store<u64>(st, a16, 128);
  store<u64>(st, a17, 136);
  store<u64>(st, a18, 144);
  store<u64>(st, a19, 152);
  store<u64>(st, a20, 160);
  store<u64>(st, a21, 168);
  store<u64>(st, a22, 176);
  store<u64>(st, a23, 184);
  store<u64>(st, a24, 192);
}

/** Sponge state (25 lanes), the padded last leaf, and the empty-subtree hash of the current level. */
const KECCAK_STATE = memory.data(200, 16);
const KECCAK_LEAF = memory.data(136, 16);
const KECCAK_ZERO = memory.data(32, 16);

/** Zeroes the sponge state. */
@inline function keccakReset(): void {
  memory.fill(KECCAK_STATE, 0, 200);
}

/** XORs the 136 bytes at src into the state (one block at the rate of Keccak-256). */
@inline function keccakAbsorb(src: usize): void {
  for (let i: usize = 0; i < 136; i += 8) store<u64>(KECCAK_STATE + i, load<u64>(KECCAK_STATE + i) ^ load<u64>(src + i));
}

/** Copies the 32-byte digest of the state to dst. */
@inline function keccakOut(dst: usize): void {
  store<u64>(dst, load<u64>(KECCAK_STATE), 0);
  store<u64>(dst, load<u64>(KECCAK_STATE, 8), 8);
  store<u64>(dst, load<u64>(KECCAK_STATE, 16), 16);
  store<u64>(dst, load<u64>(KECCAK_STATE, 24), 24);
}

/** keccak256 of the len bytes at src into the 32 bytes at dst (any length). */
export function keccak256(src: usize, len: i32, dst: usize): void {
  keccakReset();
  let at = src;
  let left = len;
  while (left >= 136) {
    keccakAbsorb(at);
    keccakF(KECCAK_STATE);
    at += 136;
    left -= 136;
  }
  for (let i = 0; i < left; i++) store<u8>(KECCAK_STATE + i, load<u8>(KECCAK_STATE + i) ^ load<u8>(at + i));
  store<u8>(KECCAK_STATE + left, load<u8>(KECCAK_STATE + left) ^ 0x01);
  store<u8>(KECCAK_STATE, load<u8>(KECCAK_STATE, 135) ^ 0x80, 135);
  keccakF(KECCAK_STATE);
  keccakOut(dst);
}

/** keccak256 of exactly the 136 bytes at src (one leaf of a byte tree) into dst. */
@inline function hashLeaf(src: usize, dst: usize): void {
  keccakReset();
  keccakAbsorb(src);
  keccakF(KECCAK_STATE);
  store<u8>(KECCAK_STATE, load<u8>(KECCAK_STATE) ^ 0x01);
  store<u8>(KECCAK_STATE, load<u8>(KECCAK_STATE, 135) ^ 0x80, 135);
  keccakF(KECCAK_STATE);
  keccakOut(dst);
}

/** keccak256(left ‖ right) of two 32-byte nodes into dst (which may be either of them). */
@inline function hashPair(left: usize, right: usize, dst: usize): void {
  keccakReset();
  store<u64>(KECCAK_STATE, load<u64>(left), 0);
  store<u64>(KECCAK_STATE, load<u64>(left, 8), 8);
  store<u64>(KECCAK_STATE, load<u64>(left, 16), 16);
  store<u64>(KECCAK_STATE, load<u64>(left, 24), 24);
  store<u64>(KECCAK_STATE, load<u64>(right), 32);
  store<u64>(KECCAK_STATE, load<u64>(right, 8), 40);
  store<u64>(KECCAK_STATE, load<u64>(right, 16), 48);
  store<u64>(KECCAK_STATE, load<u64>(right, 24), 56);
  store<u8>(KECCAK_STATE, 0x01, 64);
  store<u8>(KECCAK_STATE, 0x80, 135);
  keccakF(KECCAK_STATE);
  keccakOut(dst);
}

@inline function rotl2(x: v128, r: i32): v128 {
  return v128.or(i64x2.shl(x, r), i64x2.shr_u(x, 64 - r));
}

/** Keccak-f[1600] on two states at once: lane i of state j is i64 lane j of the vector at st + 16i. */
function keccakF2(st: usize): void {
  let a0 = v128.load(st, 0);
  let a1 = v128.load(st, 16);
  let a2 = v128.load(st, 32);
  let a3 = v128.load(st, 48);
  let a4 = v128.load(st, 64);
  let a5 = v128.load(st, 80);
  let a6 = v128.load(st, 96);
  let a7 = v128.load(st, 112);
  let a8 = v128.load(st, 128);
  let a9 = v128.load(st, 144);
  let a10 = v128.load(st, 160);
  let a11 = v128.load(st, 176);
  let a12 = v128.load(st, 192);
  let a13 = v128.load(st, 208);
  let a14 = v128.load(st, 224);
  let a15 = v128.load(st, 240);
  let a16 = v128.load(st, 256);
  let a17 = v128.load(st, 272);
  let a18 = v128.load(st, 288);
  let a19 = v128.load(st, 304);
  let a20 = v128.load(st, 320);
  let a21 = v128.load(st, 336);
  let a22 = v128.load(st, 352);
  let a23 = v128.load(st, 368);
  let a24 = v128.load(st, 384);
  for (let round = 0; round < 24; round++) {
    const c0 = v128.xor(v128.xor(v128.xor(v128.xor(a0, a5), a10), a15), a20);
    const c1 = v128.xor(v128.xor(v128.xor(v128.xor(a1, a6), a11), a16), a21);
    const c2 = v128.xor(v128.xor(v128.xor(v128.xor(a2, a7), a12), a17), a22);
    const c3 = v128.xor(v128.xor(v128.xor(v128.xor(a3, a8), a13), a18), a23);
    const c4 = v128.xor(v128.xor(v128.xor(v128.xor(a4, a9), a14), a19), a24);
    const d0 = v128.xor(c4, rotl2(c1, 1));
    const d1 = v128.xor(c0, rotl2(c2, 1));
    const d2 = v128.xor(c1, rotl2(c3, 1));
    const d3 = v128.xor(c2, rotl2(c4, 1));
    const d4 = v128.xor(c3, rotl2(c0, 1));
    const b0 = v128.xor(a0, d0);
    const b16 = rotl2(v128.xor(a5, d0), 36);
    const b7 = rotl2(v128.xor(a10, d0), 3);
    const b23 = rotl2(v128.xor(a15, d0), 41);
    const b14 = rotl2(v128.xor(a20, d0), 18);
    const b10 = rotl2(v128.xor(a1, d1), 1);
    const b1 = rotl2(v128.xor(a6, d1), 44);
    const b17 = rotl2(v128.xor(a11, d1), 10);
    const b8 = rotl2(v128.xor(a16, d1), 45);
    const b24 = rotl2(v128.xor(a21, d1), 2);
    const b20 = rotl2(v128.xor(a2, d2), 62);
    const b11 = rotl2(v128.xor(a7, d2), 6);
    const b2 = rotl2(v128.xor(a12, d2), 43);
    const b18 = rotl2(v128.xor(a17, d2), 15);
    const b9 = rotl2(v128.xor(a22, d2), 61);
    const b5 = rotl2(v128.xor(a3, d3), 28);
    const b21 = rotl2(v128.xor(a8, d3), 55);
    const b12 = rotl2(v128.xor(a13, d3), 25);
    const b3 = rotl2(v128.xor(a18, d3), 21);
    const b19 = rotl2(v128.xor(a23, d3), 56);
    const b15 = rotl2(v128.xor(a4, d4), 27);
    const b6 = rotl2(v128.xor(a9, d4), 20);
    const b22 = rotl2(v128.xor(a14, d4), 39);
    const b13 = rotl2(v128.xor(a19, d4), 8);
    const b4 = rotl2(v128.xor(a24, d4), 14);
    a0 = v128.xor(b0, v128.andnot(b2, b1));
    a5 = v128.xor(b5, v128.andnot(b7, b6));
    a10 = v128.xor(b10, v128.andnot(b12, b11));
    a15 = v128.xor(b15, v128.andnot(b17, b16));
    a20 = v128.xor(b20, v128.andnot(b22, b21));
    a1 = v128.xor(b1, v128.andnot(b3, b2));
    a6 = v128.xor(b6, v128.andnot(b8, b7));
    a11 = v128.xor(b11, v128.andnot(b13, b12));
    a16 = v128.xor(b16, v128.andnot(b18, b17));
    a21 = v128.xor(b21, v128.andnot(b23, b22));
    a2 = v128.xor(b2, v128.andnot(b4, b3));
    a7 = v128.xor(b7, v128.andnot(b9, b8));
    a12 = v128.xor(b12, v128.andnot(b14, b13));
    a17 = v128.xor(b17, v128.andnot(b19, b18));
    a22 = v128.xor(b22, v128.andnot(b24, b23));
    a3 = v128.xor(b3, v128.andnot(b0, b4));
    a8 = v128.xor(b8, v128.andnot(b5, b9));
    a13 = v128.xor(b13, v128.andnot(b10, b14));
    a18 = v128.xor(b18, v128.andnot(b15, b19));
    a23 = v128.xor(b23, v128.andnot(b20, b24));
    a4 = v128.xor(b4, v128.andnot(b1, b0));
    a9 = v128.xor(b9, v128.andnot(b6, b5));
    a14 = v128.xor(b14, v128.andnot(b11, b10));
    a19 = v128.xor(b19, v128.andnot(b16, b15));
    a24 = v128.xor(b24, v128.andnot(b21, b20));
    a0 = v128.xor(a0, i64x2.splat(load<u64>(KECCAK_RC + (<usize>round << 3))));
  }
  v128.store(st, a0, 0);
  v128.store(st, a1, 16);
  v128.store(st, a2, 32);
  v128.store(st, a3, 48);
  v128.store(st, a4, 64);
  v128.store(st, a5, 80);
  v128.store(st, a6, 96);
  v128.store(st, a7, 112);
  v128.store(st, a8, 128);
  v128.store(st, a9, 144);
  v128.store(st, a10, 160);
  v128.store(st, a11, 176);
  v128.store(st, a12, 192);
  v128.store(st, a13, 208);
  v128.store(st, a14, 224);
  v128.store(st, a15, 240);
  v128.store(st, a16, 256);
  v128.store(st, a17, 272);
  v128.store(st, a18, 288);
  v128.store(st, a19, 304);
  v128.store(st, a20, 320);
  v128.store(st, a21, 336);
  v128.store(st, a22, 352);
  v128.store(st, a23, 368);
  v128.store(st, a24, 384);
}

/** Two sponge states, interleaved lane by lane (keccakF2). */
const KECCAK_STATE2 = memory.data(400, 16);

/** keccak256 of the 136 bytes at src0 and of those at src1 (two leaves) into dst0 and dst1. */
function hashLeaf2(src0: usize, src1: usize, dst0: usize, dst1: usize): void {
  memory.fill(KECCAK_STATE2, 0, 400);
  for (let i: usize = 0; i < 17; i++)
    v128.store(KECCAK_STATE2 + (i << 4), i64x2.replace_lane(i64x2.splat(load<u64>(src0 + (i << 3))), 1, load<u64>(src1 + (i << 3))));
  keccakF2(KECCAK_STATE2);
  v128.store(KECCAK_STATE2, v128.xor(v128.load(KECCAK_STATE2), i64x2.splat(0x01)));
  v128.store(KECCAK_STATE2 + 256, v128.xor(v128.load(KECCAK_STATE2 + 256), i64x2.splat(<i64>0x8000000000000000)));
  keccakF2(KECCAK_STATE2);
  for (let i: usize = 0; i < 4; i++) {
    store<u64>(dst0 + (i << 3), load<u64>(KECCAK_STATE2 + (i << 4)));
    store<u64>(dst1 + (i << 3), load<u64>(KECCAK_STATE2 + (i << 4), 8));
  }
}

/** keccak256(l0 ‖ r0) and keccak256(l1 ‖ r1) (32-byte nodes) into dst0 and dst1. */
function hashPair2(l0: usize, r0: usize, l1: usize, r1: usize, dst0: usize, dst1: usize): void {
  memory.fill(KECCAK_STATE2 + 128, 0, 272);
  for (let i: usize = 0; i < 4; i++) {
    v128.store(KECCAK_STATE2 + (i << 4), i64x2.replace_lane(i64x2.splat(load<u64>(l0 + (i << 3))), 1, load<u64>(l1 + (i << 3))));
    v128.store(KECCAK_STATE2 + 64 + (i << 4), i64x2.replace_lane(i64x2.splat(load<u64>(r0 + (i << 3))), 1, load<u64>(r1 + (i << 3))));
  }
  v128.store(KECCAK_STATE2 + 128, i64x2.splat(0x01));
  v128.store(KECCAK_STATE2 + 256, i64x2.splat(<i64>0x8000000000000000));
  keccakF2(KECCAK_STATE2);
  for (let i: usize = 0; i < 4; i++) {
    store<u64>(dst0 + (i << 3), load<u64>(KECCAK_STATE2 + (i << 4)));
    store<u64>(dst1 + (i << 3), load<u64>(KECCAK_STATE2 + (i << 4), 8));
  }
}

/**
 * Leaf hashes of the byte tree over the len bytes at src: keccak256 of each 136-byte leaf (the last
 * zero-padded; one empty leaf for len 0), 32 bytes each into nodes. Returns the number of leaves.
 */
export function tree_leaves(src: usize, len: i32, nodes: usize): i32 {
  const full = len / 136;
  let j = 0;
  for (; j + 2 <= full; j += 2)
    hashLeaf2(src + <usize>j * 136, src + <usize>(j + 1) * 136, nodes + (<usize>j << 5), nodes + (<usize>(j + 1) << 5));
  for (; j < full; j++) hashLeaf(src + <usize>j * 136, nodes + (<usize>j << 5));
  const rest = len - full * 136;
  if (rest == 0 && full > 0) return full;
  memory.fill(KECCAK_LEAF, 0, 136);
  memory.copy(KECCAK_LEAF, src + <usize>full * 136, rest);
  hashLeaf(KECCAK_LEAF, nodes + (<usize>full << 5));
  return full + 1;
}

/**
 * One level of a byte tree: the count nodes at nodes (32 bytes each, level k) replaced by the
 * ceil(count / 2) nodes of level k + 1 at dst (dst == nodes hashes in place); an odd last node is
 * paired with the empty subtree of height k, zero (32 bytes). Returns the parent count.
 */
export function tree_level(nodes: usize, count: i32, zero: usize, dst: usize): i32 {
  const pairs = count >> 1;
  let i = 0;
  // two parents at once; in place (dst == nodes) parent i overwrites node i, read before
  for (; i + 2 <= pairs; i += 2) {
    const n = nodes + (<usize>i << 6);
    hashPair2(n, n + 32, n + 64, n + 96, dst + (<usize>i << 5), dst + (<usize>(i + 1) << 5));
  }
  for (; i < pairs; i++) hashPair(nodes + (<usize>i << 6), nodes + (<usize>i << 6) + 32, dst + (<usize>i << 5));
  if (count & 1) hashPair(nodes + (<usize>pairs << 6), zero, dst + (<usize>pairs << 5));
  return pairs + (count & 1);
}

/**
 * Root of the byte tree over the len bytes at src into dst (32 bytes): leaf hashes into scratch
 * (32 bytes per leaf), then every level hashed in place.
 */
export function tree_root(src: usize, len: i32, scratch: usize, dst: usize): void {
  let count = tree_leaves(src, len, scratch);
  memory.fill(KECCAK_ZERO, 0, 32);
  while (count > 1) {
    count = tree_level(scratch, count, KECCAK_ZERO, scratch);
    hashPair(KECCAK_ZERO, KECCAK_ZERO, KECCAK_ZERO);
  }
  memory.copy(dst, scratch, 32);
}

// ---------------------------------------------------------------------------------------------
// Slot encodings of the step-state tracer: the int16 matrices of a step packed into the int8 and
// int32 tensors of the state layout (docs/disputes.md), contiguous and unpadded.

/** dst[r][c] = int8(src[r][c]) for r < rows, c < cols; src int16 [.][lds]; dst int8 [rows][cols]. */
export function pack_i8(src: usize, lds: i32, rows: i32, cols: i32, dst: usize): void {
  for (let r = 0; r < rows; r++) {
    const s = src + (<usize>(r * lds) << 1);
    const d = dst + <usize>(r * cols);
    let c = 0;
    for (; c + 16 <= cols; c += 16) {
      const v = i8x16.shuffle(
        v128.load(s + (<usize>c << 1)),
        v128.load(s + (<usize>c << 1), 16),
        0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30,
      );
      v128.store(d + c, v);
    }
    for (; c < cols; c++) store<i8>(d + c, <i8>load<i16>(s + (<usize>c << 1)));
  }
}

/** dst[r][c] = src[r][c] for r < rows, c < cols; src int32 [.][lds]; dst int32 [rows][cols]. */
export function pack_i32(src: usize, lds: i32, rows: i32, cols: i32, dst: usize): void {
  for (let r = 0; r < rows; r++)
    memory.copy(dst + (<usize>(r * cols) << 2), src + (<usize>(r * lds) << 2), <usize>cols << 2);
}

/** First free byte after the module's static data. */
export function heap_base(): usize {
  return __heap_base;
}
