/**
 * The `wasm` backend: the kernels of kernels.as (WebAssembly SIMD, embedded in
 * kernels.generated.ts) driven step by step from here. Browser-safe: no file access.
 *
 * Memory: one instance per session; the parameters plus, per layer, the effective weights and
 * their transpose; one batch of activations per layer and a few batch-by-width scratch buffers.
 */
import {
  checkEngineData,
  checkWeights,
  noData,
  type EngineBackend,
  type EngineData,
  type EngineSession,
} from "../backend.js";
import { permutationHalfBits, type EngineKey } from "../prng.js";
import { TARGET } from "../reference.js";
import { modelLayout, validateSpec, type ModelLayout, type TrainingSpec } from "../spec.js";
import { KERNELS_WASM_BASE64 } from "./kernels.generated.js";

/** The subset of the WebAssembly JS API this backend uses (not in the ES lib typings). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  compile(bytes: Uint8Array): Promise<object>;
  instantiate(module: object, imports: object): Promise<{ readonly exports: object }>;
}

/** The kernels' exports; pointers are byte offsets, every parameter an i32. */
interface Kernels {
  readonly memory: WasmMemory;
  heap_base(): number;
  gen_inputs(
    dst: number,
    rows: number,
    width: number,
    ld: number,
    k0: number,
    k1: number,
    lo: number,
    hi: number,
  ): void;
  gen_teacher(dst: number, classes: number, width: number, ld: number, k0: number, k1: number): void;
  gen_init(dst: number, count: number, k0: number, k1: number, layer: number): void;
  gemm_nt(
    a: number,
    b: number,
    c: number,
    m: number,
    n: number,
    k: number,
    lda: number,
    ldb: number,
    ldc: number,
  ): void;
  requant(
    z: number,
    ldz: number,
    bias: number,
    rows: number,
    cols: number,
    shift: number,
    lo: number,
    hi: number,
    dst: number,
    ldd: number,
  ): void;
  argmax_rows(z: number, ldz: number, rows: number, cols: number, labels: number): void;
  count_correct(y: number, ldy: number, rows: number, cols: number, labels: number): number;
  loss_grad(
    y: number,
    ldy: number,
    rows: number,
    cols: number,
    labels: number,
    target: number,
    g: number,
    ldg: number,
  ): void;
  backprop_relu(
    e: number,
    lde: number,
    a: number,
    lda: number,
    rows: number,
    cols: number,
    shift: number,
    g: number,
    ldg: number,
  ): void;
  bias_grad(gt: number, ldt: number, outs: number, rows: number, db: number): void;
  transpose(src: number, lds: number, rows8: number, cols8: number, dst: number, ldd: number): void;
  update_weights(
    p: number,
    dw: number,
    outs: number,
    ins: number,
    lr: number,
    weff: number,
    ldw: number,
  ): void;
  update_bias(p: number, db: number, outs: number, lr: number, beff: number): void;
  permute_rows(
    dst: number,
    rows: number,
    firstLo: number,
    firstHi: number,
    count: number,
    h: number,
    k0: number,
    k1: number,
  ): void;
  gather_rows(
    dst: number,
    ld: number,
    src: number,
    features: number,
    srcLabels: number,
    indices: number,
    rows: number,
    labels: number,
  ): void;
}

/** Where a dataset part lives in linear memory: int8 features `[count][features]`, uint16 labels. */
interface PartBuffers {
  readonly count: number;
  readonly inputs: number;
  readonly labels: number;
}

/** Largest linear memory the backend lays out (wasm32 limit, minus one page). */
const MAX_MEMORY_BYTES = 4 * 1024 ** 3 - 65_536;
const PAGE = 65_536;

function wasmApi(): WasmApi | undefined {
  return (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
}

function decodeBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

let kernelBytes: Uint8Array | undefined;
let compiled: Promise<object> | undefined;

/** The embedded kernel binary. */
export function kernelsBinary(): Uint8Array {
  kernelBytes ??= decodeBase64(KERNELS_WASM_BASE64);
  return kernelBytes;
}

/** Whether this JavaScript engine runs WebAssembly with SIMD (the kernels validate). */
export function wasmSupported(): boolean {
  const api = wasmApi();
  try {
    return api !== undefined && api.validate(kernelsBinary());
  } catch {
    return false;
  }
}

async function instantiate(): Promise<Kernels> {
  const api = wasmApi();
  if (!api || !wasmSupported())
    throw new Error("the wasm backend needs WebAssembly with SIMD, which this engine lacks");
  compiled ??= api.compile(kernelsBinary());
  const instance = await api.instantiate(await compiled, {});
  return instance.exports as Kernels;
}

const pad8 = (n: number) => (n + 7) & ~7;

/** Byte offsets of one layer's buffers. */
interface LayerBuffers {
  readonly weff: number;
  readonly weffT: number;
  readonly beff: number;
  readonly act: number;
}

class Allocator {
  top: number;
  constructor(base: number) {
    this.top = (base + 15) & ~15;
  }
  take(bytes: number): number {
    const at = this.top;
    this.top = at + ((bytes + 15) & ~15);
    return at;
  }
}

class WasmSession implements EngineSession {
  readonly layout: ModelLayout;
  private readonly spec: TrainingSpec;
  private readonly key: EngineKey;
  private readonly k: Kernels;
  private readonly batch8: number;
  private readonly ldz: number;
  private readonly params: number;
  private readonly layers: LayerBuffers[];
  /** Activations of the output layer. */
  private readonly output: number;
  private readonly teacher: number;
  private readonly actT: number;
  private readonly grads: [number, number];
  private readonly gradT: number;
  private readonly z: number;
  private readonly dW: number;
  private readonly dB: number;
  private readonly labels: number;
  /** Version 2: the dataset parts and the row indices of a batch (undefined: no data). */
  private readonly data?: { train: PartBuffers; eval: PartBuffers; indices: number };
  private readonly v2: boolean;
  private closed = false;

  constructor(spec: TrainingSpec, key: EngineKey, kernels: Kernels, data?: EngineData) {
    this.spec = validateSpec(spec);
    this.key = key;
    this.k = kernels;
    this.v2 = this.spec.version === 2;
    const rows = checkEngineData(this.spec, data);
    const layout = modelLayout(this.spec);
    this.layout = layout;
    const B8 = pad8(this.spec.batchSize);
    this.batch8 = B8;
    const maxW8 = pad8(layout.maxWidth);
    this.ldz = maxW8;
    const mem = new Allocator(kernels.heap_base());
    this.params = mem.take(2 * layout.parameterCount);
    this.layers = layout.layers.map((layer, l) => {
      const in8 = pad8(layer.inputs);
      const out8 = pad8(layer.outputs);
      return {
        weff: mem.take(2 * out8 * in8),
        weffT: l > 0 ? mem.take(2 * in8 * out8) : 0,
        beff: mem.take(4 * layer.outputs),
        act: mem.take(2 * B8 * in8),
      };
    });
    this.output = mem.take(2 * B8 * pad8(layout.classes));
    this.teacher = this.v2 ? 0 : mem.take(2 * pad8(layout.classes) * pad8(layout.inputs));
    this.actT = mem.take(2 * maxW8 * B8);
    this.grads = [mem.take(2 * B8 * maxW8), mem.take(2 * B8 * maxW8)];
    this.gradT = mem.take(2 * maxW8 * B8);
    this.z = mem.take(4 * B8 * maxW8);
    this.dW = mem.take(4 * Math.max(...layout.layers.map((l) => l.inputs * l.outputs)));
    this.dB = mem.take(4 * layout.maxWidth);
    this.labels = mem.take(4 * B8);
    let parts: { train: PartBuffers; eval: PartBuffers; indices: number } | undefined;
    if (rows) {
      const place = (count: number): PartBuffers => ({
        count,
        inputs: mem.take(count * layout.inputs),
        labels: mem.take(2 * count),
      });
      parts = { train: place(rows.train.count), eval: place(rows.eval.count), indices: mem.take(4 * B8) };
    }
    if (mem.top > MAX_MEMORY_BYTES) {
      throw new Error(
        `the wasm backend needs ${mem.top} bytes of memory for this spec, more than ${MAX_MEMORY_BYTES}`,
      );
    }
    const have = kernels.memory.buffer.byteLength;
    if (mem.top > have) kernels.memory.grow(Math.ceil((mem.top - have) / PAGE));
    if (rows && parts) {
      const buffer = kernels.memory.buffer;
      for (const part of ["train", "eval"] as const) {
        const src = rows[part];
        const at = parts[part];
        new Int8Array(buffer, at.inputs, src.inputs.length).set(src.inputs);
        new Uint16Array(buffer, at.labels, src.count).set(src.labels);
      }
      this.data = parts;
    }

    layout.layers.forEach((layer, l) => {
      kernels.gen_init(this.params + 2 * layer.weightOffset, layer.inputs * layer.outputs, key.k0, key.k1, l);
    });
    if (!this.v2) {
      kernels.gen_teacher(this.teacher, layout.classes, layout.inputs, pad8(layout.inputs), key.k0, key.k1);
    }
    this.refresh();
  }

  private live(): void {
    if (this.closed) throw new Error("engine session is closed");
  }

  /** Recomputes every layer's effective weights from the parameters. */
  private refresh(): void {
    const { k } = this;
    this.layout.layers.forEach((layer, l) => {
      const buf = this.layers[l];
      const in8 = pad8(layer.inputs);
      k.update_weights(
        this.params + 2 * layer.weightOffset,
        0,
        layer.outputs,
        layer.inputs,
        0,
        buf.weff,
        in8,
      );
      if (l > 0) k.transpose(buf.weff, in8, pad8(layer.outputs), in8, buf.weffT, pad8(layer.outputs));
      k.update_bias(this.params + 2 * layer.biasOffset, 0, layer.outputs, 0, buf.beff);
    });
  }

  private paramView(): Int16Array {
    return new Int16Array(this.k.memory.buffer, this.params, this.layout.parameterCount);
  }

  async getWeights(): Promise<Int16Array> {
    this.live();
    return this.paramView().slice();
  }

  async setWeights(weights: Int16Array): Promise<void> {
    this.live();
    this.paramView().set(checkWeights(this.layout, weights));
    this.refresh();
  }

  /** Inputs of examples first .. first + rows - 1 into the first layer's activations, labels alongside. */
  private examples(first: number, rows: number): void {
    const { k, layout, key } = this;
    const in8 = pad8(layout.inputs);
    const act0 = this.layers[0].act;
    k.gen_inputs(act0, rows, layout.inputs, in8, key.k0, key.k1, first >>> 0, Math.floor(first / 2 ** 32));
    k.gemm_nt(act0, this.teacher, this.z, rows, layout.classes, in8, in8, in8, this.ldz);
    k.argmax_rows(this.z, this.ldz, rows, layout.classes, this.labels);
  }

  /** Version 2: dataset rows into the first layer's activations and labels; `indices` already set. */
  private gather(part: PartBuffers, rows: number): void {
    const { layout } = this;
    this.k.gather_rows(
      this.layers[0].act,
      pad8(layout.inputs),
      part.inputs,
      layout.inputs,
      part.labels,
      this.data!.indices,
      rows,
      this.labels,
    );
  }

  /** The training batch of `step` (either version) into the first layer's activations and labels. */
  private trainBatch(step: number): void {
    const B = this.spec.batchSize;
    if (!this.v2) return this.examples(step * B, B);
    if (!this.data) throw noData("train");
    const first = step * B;
    const { train } = this.data;
    this.k.permute_rows(
      this.data.indices,
      B,
      first >>> 0,
      Math.floor(first / 2 ** 32),
      train.count,
      permutationHalfBits(train.count),
      this.key.k0,
      this.key.k1,
    );
    this.gather(train, B);
  }

  /** Evaluation examples e .. e + rows - 1 (either version). */
  private evalBatch(e: number, rows: number): void {
    if (!this.v2) return this.examples(this.spec.steps * this.spec.batchSize + e, rows);
    if (!this.data) throw noData("evaluate");
    const indices = new Int32Array(this.k.memory.buffer, this.data.indices, rows);
    for (let r = 0; r < rows; r++) indices[r] = e + r;
    this.gather(this.data.eval, rows);
  }

  private forward(rows: number): void {
    const { k, layout } = this;
    const last = layout.layers.length - 1;
    layout.layers.forEach((layer, l) => {
      const in8 = pad8(layer.inputs);
      const dst = l === last ? this.output : this.layers[l + 1].act;
      k.gemm_nt(
        this.layers[l].act,
        this.layers[l].weff,
        this.z,
        rows,
        layer.outputs,
        in8,
        in8,
        in8,
        this.ldz,
      );
      k.requant(
        this.z,
        this.ldz,
        this.layers[l].beff,
        rows,
        layer.outputs,
        layer.forwardShift,
        l === last ? -127 : 0,
        127,
        dst,
        pad8(layer.outputs),
      );
    });
  }

  async trainSteps(firstStep: number, count: number): Promise<void> {
    this.live();
    for (let s = firstStep; s < firstStep + count; s++) this.step(s);
  }

  private step(step: number): void {
    const { k, layout } = this;
    const B = this.spec.batchSize;
    const B8 = this.batch8;
    const lr = this.spec.lrShift;
    this.trainBatch(step);
    this.forward(B);
    const classes8 = pad8(layout.classes);
    let g = 0;
    k.loss_grad(this.output, classes8, B, layout.classes, this.labels, TARGET, this.grads[g], classes8);
    for (let l = layout.layers.length - 1; l >= 0; l--) {
      const layer = layout.layers[l];
      const buf = this.layers[l];
      const in8 = pad8(layer.inputs);
      const out8 = pad8(layer.outputs);
      const grad = this.grads[g];
      k.transpose(grad, out8, B8, out8, this.gradT, B8);
      k.transpose(buf.act, in8, B8, in8, this.actT, B8);
      k.gemm_nt(this.gradT, this.actT, this.dW, layer.outputs, layer.inputs, B8, B8, B8, layer.inputs);
      k.bias_grad(this.gradT, B8, layer.outputs, B, this.dB);
      if (l > 0) {
        k.gemm_nt(grad, buf.weffT, this.z, B, layer.inputs, out8, out8, out8, this.ldz);
        k.backprop_relu(
          this.z,
          this.ldz,
          buf.act,
          in8,
          B,
          layer.inputs,
          layer.backwardShift,
          this.grads[1 - g],
          in8,
        );
        g = 1 - g;
      }
      k.update_weights(
        this.params + 2 * layer.weightOffset,
        this.dW,
        layer.outputs,
        layer.inputs,
        lr,
        buf.weff,
        in8,
      );
      if (l > 0) k.transpose(buf.weff, in8, out8, in8, buf.weffT, out8);
      k.update_bias(this.params + 2 * layer.biasOffset, this.dB, layer.outputs, lr, buf.beff);
    }
  }

  async evaluate(): Promise<number> {
    this.live();
    const { k, layout } = this;
    if (this.v2 && !this.data) throw noData("evaluate");
    let correct = 0;
    for (let e = 0; e < this.spec.evalSize; e += this.spec.batchSize) {
      const rows = Math.min(this.spec.batchSize, this.spec.evalSize - e);
      this.evalBatch(e, rows);
      this.forward(rows);
      correct += k.count_correct(this.output, pad8(layout.classes), rows, layout.classes, this.labels);
    }
    return correct;
  }

  close(): void {
    this.closed = true;
  }
}

/** The WebAssembly SIMD backend. */
export const wasmBackend: EngineBackend = {
  kind: "wasm",
  async open(spec: TrainingSpec, key: EngineKey, data?: EngineData): Promise<EngineSession> {
    return new WasmSession(spec, key, await instantiate(), data);
  },
};
