/**
 * A minimal PNG encoder (8-bit grayscale or RGB, no interlace, zlib through node:zlib) and the
 * pictures the CLI and the benchmarks draw: a grid of image examples, and a line chart with a
 * 5 × 7 pixel font for its labels.
 */
import { crc32, deflateSync } from "node:zlib";

const SIGNATURE = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length, false);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)), false);
  return out;
}

/** Encodes `pixels` (`height` rows of `width` · channels bytes) as a PNG; channels 1 (gray) or 3 (RGB). */
export function encodePng(
  width: number,
  height: number,
  pixels: Uint8Array,
  channels: 1 | 3 = 1,
): Uint8Array {
  if (pixels.length !== width * height * channels) {
    throw new RangeError(`pixels must hold ${width * height * channels} bytes, got ${pixels.length}`);
  }
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width, false);
  view.setUint32(4, height, false);
  header[8] = 8;
  header[9] = channels === 1 ? 0 : 2;
  const stride = width * channels;
  const raw = new Uint8Array(height * (stride + 1));
  for (let y = 0; y < height; y++)
    raw.set(pixels.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  const parts = [
    SIGNATURE,
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * A grid of image examples: `images` int8 vectors of `height · width` values, `columns` per row, each
 * scaled from the smallest to the largest value of all of them to 0..255, one pixel gap between.
 */
export function imageGrid(
  images: readonly Int8Array[],
  height: number,
  width: number,
  columns: number,
  scale = 2,
): Uint8Array {
  const rows = Math.max(1, Math.ceil(images.length / columns));
  const cellW = width * scale + 1;
  const cellH = height * scale + 1;
  const W = columns * cellW + 1;
  const H = rows * cellH + 1;
  const pixels = new Uint8Array(W * H).fill(64);
  let lo = 127;
  let hi = -128;
  for (const img of images) {
    for (const v of img) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  const span = Math.max(1, hi - lo);
  images.forEach((img, k) => {
    const x0 = (k % columns) * cellW + 1;
    const y0 = Math.floor(k / columns) * cellH + 1;
    for (let y = 0; y < height * scale; y++)
      for (let x = 0; x < width * scale; x++) {
        const v = img[Math.floor(y / scale) * width + Math.floor(x / scale)];
        pixels[(y0 + y) * W + x0 + x] = Math.round(((v - lo) * 255) / span);
      }
  });
  return encodePng(W, H, pixels);
}

/** 5 × 7 glyphs (rows top to bottom, 5 bits each, most significant bit left) for chart labels. */
const FONT: Record<string, readonly number[]> = {
  "0": [14, 17, 19, 21, 25, 17, 14],
  "1": [4, 12, 4, 4, 4, 4, 14],
  "2": [14, 17, 1, 2, 4, 8, 31],
  "3": [31, 2, 4, 2, 1, 17, 14],
  "4": [2, 6, 10, 18, 31, 2, 2],
  "5": [31, 16, 30, 1, 1, 17, 14],
  "6": [6, 8, 16, 30, 17, 17, 14],
  "7": [31, 1, 2, 4, 8, 8, 8],
  "8": [14, 17, 17, 14, 17, 17, 14],
  "9": [14, 17, 17, 15, 1, 2, 12],
  ".": [0, 0, 0, 0, 0, 12, 12],
  "%": [24, 25, 2, 4, 8, 19, 3],
  "-": [0, 0, 0, 31, 0, 0, 0],
  " ": [0, 0, 0, 0, 0, 0, 0],
  ":": [0, 12, 12, 0, 12, 12, 0],
  "(": [2, 4, 8, 8, 8, 4, 2],
  "[": [14, 8, 8, 8, 8, 8, 14],
  "]": [14, 2, 2, 2, 2, 2, 14],
  ",": [0, 0, 0, 0, 12, 4, 8],
  ")": [8, 4, 2, 2, 2, 4, 8],
  "/": [0, 1, 2, 4, 8, 16, 0],
  "=": [0, 0, 31, 0, 31, 0, 0],
  a: [0, 0, 14, 1, 15, 17, 15],
  b: [16, 16, 22, 25, 17, 17, 30],
  c: [0, 0, 14, 16, 16, 17, 14],
  d: [1, 1, 13, 19, 17, 17, 15],
  e: [0, 0, 14, 17, 31, 16, 14],
  f: [6, 9, 8, 28, 8, 8, 8],
  g: [0, 15, 17, 17, 15, 1, 14],
  h: [16, 16, 22, 25, 17, 17, 17],
  i: [4, 0, 12, 4, 4, 4, 14],
  j: [2, 0, 6, 2, 2, 18, 12],
  k: [16, 16, 18, 20, 24, 20, 18],
  l: [12, 4, 4, 4, 4, 4, 14],
  m: [0, 0, 26, 21, 21, 17, 17],
  n: [0, 0, 22, 25, 17, 17, 17],
  o: [0, 0, 14, 17, 17, 17, 14],
  p: [0, 0, 30, 17, 30, 16, 16],
  q: [0, 0, 13, 19, 15, 1, 1],
  r: [0, 0, 22, 25, 16, 16, 16],
  s: [0, 0, 14, 16, 14, 1, 30],
  t: [8, 8, 28, 8, 8, 9, 6],
  u: [0, 0, 17, 17, 17, 19, 13],
  v: [0, 0, 17, 17, 17, 10, 4],
  w: [0, 0, 17, 17, 21, 21, 10],
  x: [0, 0, 17, 10, 4, 10, 17],
  y: [0, 0, 17, 17, 15, 1, 14],
  z: [0, 0, 31, 2, 4, 8, 31],
};

/** An RGB canvas with lines, rectangles and text. */
export class Canvas {
  readonly pixels: Uint8Array;
  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.pixels = new Uint8Array(width * height * 3).fill(255);
  }

  set(x: number, y: number, rgb: readonly [number, number, number]): void {
    const [xi, yi] = [Math.round(x), Math.round(y)];
    if (xi < 0 || yi < 0 || xi >= this.width || yi >= this.height) return;
    this.pixels.set(rgb, (yi * this.width + xi) * 3);
  }

  line(
    x0: number,
    y0: number,
    x1: number,
    y1: number,
    rgb: readonly [number, number, number],
    thick = 1,
  ): void {
    const n = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
    for (let i = 0; i <= n; i++) {
      const x = x0 + ((x1 - x0) * i) / n;
      const y = y0 + ((y1 - y0) * i) / n;
      for (let dx = 0; dx < thick; dx++) for (let dy = 0; dy < thick; dy++) this.set(x + dx, y + dy, rgb);
    }
  }

  text(x: number, y: number, text: string, rgb: readonly [number, number, number] = [0, 0, 0]): void {
    [...text.toLowerCase()].forEach((ch, k) => {
      const glyph = FONT[ch] ?? FONT[" "];
      glyph.forEach((bits, row) => {
        for (let col = 0; col < 5; col++) if (bits & (16 >> col)) this.set(x + k * 6 + col, y + row, rgb);
      });
    });
  }

  png(): Uint8Array {
    return encodePng(this.width, this.height, this.pixels, 3);
  }
}

/** One series of a line chart. */
export interface Series {
  readonly label: string;
  readonly color: readonly [number, number, number];
  readonly points: readonly (readonly [number, number])[];
}

/** A line chart of `series` over x in [0, xMax] and y in [yMin, yMax], with a legend and axis labels. */
export function lineChart(
  series: readonly Series[],
  options: {
    title: string;
    xLabel: string;
    yLabel: string;
    xMax: number;
    yMin: number;
    yMax: number;
    yTicks: readonly number[];
    xTicks: readonly number[];
  },
): Uint8Array {
  const c = new Canvas(640, 400);
  const [left, right, top, bottom] = [60, 620, 40, 350];
  const X = (x: number) => left + ((right - left) * x) / options.xMax;
  const Y = (y: number) => bottom - ((bottom - top) * (y - options.yMin)) / (options.yMax - options.yMin);
  const grey: [number, number, number] = [210, 210, 210];
  for (const t of options.yTicks) {
    c.line(left, Y(t), right, Y(t), grey);
    c.text(left - 6 * String(t).length - 6, Y(t) - 3, String(t));
  }
  for (const t of options.xTicks) {
    c.line(X(t), top, X(t), bottom, grey);
    c.text(X(t) - 3 * String(t).length, bottom + 8, String(t));
  }
  c.line(left, bottom, right, bottom, [0, 0, 0]);
  c.line(left, top, left, bottom, [0, 0, 0]);
  c.text(left, 15, options.title);
  c.text((left + right) / 2 - 3 * options.xLabel.length, bottom + 24, options.xLabel);
  c.text(4, top - 16, options.yLabel);
  series.forEach((s, k) => {
    for (let i = 1; i < s.points.length; i++) {
      const [a, b] = [s.points[i - 1], s.points[i]];
      c.line(X(a[0]), Y(a[1]), X(b[0]), Y(b[1]), s.color, 2);
    }
    const ly = top + 10 + 14 * k;
    c.line(right - 200, ly + 3, right - 180, ly + 3, s.color, 2);
    c.text(right - 174, ly, s.label);
  });
  return c.png();
}
