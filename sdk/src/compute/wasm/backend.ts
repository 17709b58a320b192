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
import { actSlot, backwardBase, lossSlot, trainingSlots } from "../state/layout.js";
import { LEAF_BYTES } from "../state/tree.js";
import { PAGE, instantiateSync, kernelsBinary, wasmApi, wasmSupported, type WasmMemory } from "./hasher.js";

export { kernelsBinary, wasmByteTreeRoot, wasmKeccak256, wasmSupported } from "./hasher.js";

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
  keccak256(src: number, len: number, dst: number): void;
  tree_root(src: number, len: number, scratch: number, dst: number): void;
  pack_i8(src: number, lds: number, rows: number, cols: number, dst: number): void;
  pack_i32(src: number, lds: number, rows: number, cols: number, dst: number): void;
}

/** Where a dataset part lives in linear memory: int8 features `[count][features]`, uint16 labels. */
interface PartBuffers {
  readonly count: number;
  readonly inputs: number;
  readonly labels: number;
}

/** Largest linear memory the backend lays out (wasm32 limit, minus one page). */
const MAX_MEMORY_BYTES = 4 * 1024 ** 3 - 65_536;
let compiled: Promise<object> | undefined;

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
  /** Tracing: the packed slot encoding, the byte tree's node scratch, the slot roots (else 0). */
  private readonly pack: number = 0;
  private readonly treeScratch: number = 0;
  private readonly roots: number = 0;
  /** Version 2: the dataset parts and the row indices of a batch (undefined: no data). */
  private readonly data?: { train: PartBuffers; eval: PartBuffers; indices: number };
  private readonly v2: boolean;
  private closed = false;

  constructor(spec: TrainingSpec, key: EngineKey, kernels: Kernels, data?: EngineData, trace = false) {
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
    // 8 bytes before the parameters hold the step header of their encoding (the parameter slots'
    // bytes, contiguous, so a tracer hashes them in place)
    this.params = mem.take(16 + 2 * layout.parameterCount) + 16;
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
    if (trace) {
      const slots = trainingSlots(this.spec);
      const longest = Math.max(...slots.slice(1, -1).map((s) => s.length));
      this.pack = mem.take(longest);
      this.treeScratch = mem.take(32 * Math.ceil(Math.max(longest, slots[0].length) / LEAF_BYTES) + 32);
      this.roots = mem.take(32 * slots.length);
    }
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
    return this.weightsSync();
  }

  async setWeights(weights: Int16Array): Promise<void> {
    this.setWeightsSync(weights);
  }

  weightsSync(): Int16Array {
    this.live();
    return this.paramView().slice();
  }

  setWeightsSync(weights: Int16Array): void {
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

  /**
   * One SGD step. With `sink`, every slot of the step's state but Θ_in and Θ_out is handed to it as
   * it is computed (its encoding's bytes at `at`, `length` of them, valid until the next call).
   */
  private step(step: number, sink?: SlotSink): void {
    const { k, layout } = this;
    const B = this.spec.batchSize;
    const B8 = this.batch8;
    const lr = this.spec.lrShift;
    const L = layout.layers.length;
    const C = layout.classes;
    const packed = (slot: number, src: number, ld: number, rows: number, cols: number) => {
      k.pack_i8(src, ld, rows, cols, this.pack);
      sink!(slot, this.pack, rows * cols);
    };
    this.trainBatch(step);
    if (sink) {
      packed(1, this.layers[0].act, pad8(layout.inputs), B, layout.inputs);
      if (!this.v2) {
        k.pack_i32(this.z, this.ldz, B, C, this.pack);
        sink(2, this.pack, 4 * B * C);
      }
      sink(3, this.labels, 4 * B);
    }
    this.forward(B);
    const classes8 = pad8(layout.classes);
    if (sink) {
      for (let l = 1; l < L; l++)
        packed(actSlot(l), this.layers[l].act, pad8(layout.layers[l].inputs), B, layout.layers[l].inputs);
      packed(actSlot(L), this.output, classes8, B, C);
    }
    let g = 0;
    k.loss_grad(this.output, classes8, B, layout.classes, this.labels, TARGET, this.grads[g], classes8);
    if (sink) packed(lossSlot(L), this.grads[g], classes8, B, C);
    for (let l = layout.layers.length - 1; l >= 0; l--) {
      const layer = layout.layers[l];
      const buf = this.layers[l];
      const in8 = pad8(layer.inputs);
      const out8 = pad8(layer.outputs);
      const grad = this.grads[g];
      k.transpose(grad, out8, B8, out8, this.gradT, B8);
      k.transpose(buf.act, in8, B8, in8, this.actT, B8);
      const base = backwardBase(L, l);
      if (sink) {
        packed(base, this.gradT, B8, layer.outputs, B);
        packed(base + 1, this.actT, B8, layer.inputs, B);
        if (l > 0) packed(base + 2, buf.weffT, out8, layer.inputs, layer.outputs);
      }
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
        if (sink) packed(base + 3, this.grads[1 - g], in8, B, layer.inputs);
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

  /** Tracer: the byte tree root of `length` bytes at `at` into the roots of slot `slot`. */
  private hashSlot(slot: number, at: number, length: number): void {
    this.k.tree_root(at, length, this.treeScratch, this.roots + 32 * slot);
  }

  /** Tracer: the parameters' encoding at `step` (header and parameters, contiguous) and its length. */
  private thetaEncoding(step: number): [number, number] {
    const at = this.params - 8;
    const header = new DataView(this.k.memory.buffer, at, 8);
    header.setUint32(0, step >>> 0, true);
    header.setUint32(4, Math.floor(step / 2 ** 32), true);
    return [at, 8 + 2 * this.layout.parameterCount];
  }

  /**
   * Tracer: step `step` from the current parameters (those at `step`), its slot roots in slot order
   * (absent slots zero), 32 bytes each, and with `keep` a copy of every slot's encoding. Θ_in's
   * root is `thetaInRoot` when given (the previous step's Θ_out root: the same bytes).
   */
  traceStep(step: number, keep: boolean, thetaInRoot?: Uint8Array): TracedStep {
    this.live();
    const slots = trainingSlots(this.spec);
    const last = slots.length - 1;
    const memory = () => new Uint8Array(this.k.memory.buffer);
    new Uint8Array(this.k.memory.buffer, this.roots, 32 * slots.length).fill(0);
    const encodings: Uint8Array[] | undefined = keep ? slots.map(() => new Uint8Array(0)) : undefined;
    const [thetaAt, thetaLength] = this.thetaEncoding(step);
    if (keep) encodings![0] = memory().slice(thetaAt, thetaAt + thetaLength);
    if (thetaInRoot) memory().set(thetaInRoot, this.roots);
    else this.hashSlot(0, thetaAt, thetaLength);
    this.step(step, (slot, at, length) => {
      this.hashSlot(slot, at, length);
      if (encodings) encodings[slot] = memory().slice(at, at + length);
    });
    const [outAt, outLength] = this.thetaEncoding(step + 1);
    this.hashSlot(last, outAt, outLength);
    if (encodings) encodings[last] = memory().slice(outAt, outAt + outLength);
    const roots = memory().slice(this.roots, this.roots + 32 * slots.length);
    return { roots: slots.map((_, i) => roots.subarray(32 * i, 32 * i + 32)), encodings };
  }
}

/** Receives the encoding of one slot of a traced step: `length` bytes at offset `at` of memory. */
type SlotSink = (slot: number, at: number, length: number) => void;

/** One step as the wasm tracer computes it. */
export interface TracedStep {
  /** Every slot's byte tree root, in slot order (absent slots: 32 zero bytes). */
  readonly roots: Uint8Array[];
  /** Every slot's encoding (absent slots empty), when asked for. */
  readonly encodings?: Uint8Array[];
}

/**
 * The wasm engine's steps with their states: each step trained by the backend's kernels, every
 * slot of its state (docs/disputes.md, "State layout") packed and its byte tree hashed in linear
 * memory as the step computes it. The same states, bit for bit, as `traceStep`
 * (sdk/src/compute/state/trace.ts, the reference).
 */
export interface WasmStepTracer {
  readonly layout: ModelLayout;
  /** Sets the parameters (those at the step traced next). */
  setWeights(weights: Int16Array): void;
  /** The current parameters (a copy). */
  weights(): Int16Array;
  /** Step `step` from the current parameters; afterwards the parameters are those at `step + 1`. */
  traceStep(step: number, keep: boolean, thetaInRoot?: Uint8Array): TracedStep;
  close(): void;
}

/**
 * Opens a step-state tracer for a run of (spec, key); version 2 needs the dataset rows in `data`.
 * Synchronous; throws where WebAssembly with SIMD is unavailable (`wasmSupported()`).
 */
export function openWasmStepTracer(spec: TrainingSpec, key: EngineKey, data?: EngineData): WasmStepTracer {
  const session = new WasmSession(spec, key, instantiateSync<Kernels>(), data, true);
  return {
    layout: session.layout,
    setWeights: (weights) => session.setWeightsSync(weights),
    weights: () => session.weightsSync(),
    traceStep: (step, keep, thetaInRoot) => session.traceStep(step, keep, thetaInRoot),
    close: () => session.close(),
  };
}

/** The WebAssembly SIMD backend. */
export const wasmBackend: EngineBackend = {
  kind: "wasm",
  async open(spec: TrainingSpec, key: EngineKey, data?: EngineData): Promise<EngineSession> {
    return new WasmSession(spec, key, await instantiate(), data);
  },
};
