/**
 * The `cuda` backend: the kernels of kernels.cu (int8 tensor cores, int32 accumulation; compiled into
 * kernels.fatbin and kernels.ptx.gz by build.ts) launched through the CUDA driver API (driver.ts).
 * The parameters and every buffer of a step live in device memory: `trainSteps` queues all its steps
 * on the default stream and waits once; only `getWeights` (checkpoints) and `evaluate` (a count per
 * row slot) copy anything back.
 *
 * Node-only at run time (koffi, node:fs, node:zlib are loaded lazily on `open`), importable anywhere.
 *
 * Device memory per session, with pad(n) = n rounded up to a multiple of 32 and B the batch:
 * parameters; per layer the effective weights `[out][pad(in)]`, their transpose `[in][pad(out)]`
 * (not for the first layer), the biases, the input activations `[R][pad(in)]` and the error at the
 * output `[B][pad(out)]`; transposed copies `[width][pad(B)]` for the weight gradient; R (the rows of
 * an evaluation chunk, at least B) keeps evaluation launches few.
 */
import {
  checkEngineData,
  checkWeights,
  noData,
  type EngineBackend,
  type EngineData,
  type EngineSession,
} from "../backend.js";
import { DOMAIN_INPUT, DOMAIN_TEACHER, permutationHalfBits, type EngineKey } from "../prng.js";
import { TARGET } from "../reference.js";
import { modelLayout, validateSpec, type ModelLayout, type TrainingSpec } from "../spec.js";
import {
  CudaDevice,
  CudaUnavailableError,
  defaultLibrary,
  type CudaProbe,
  type DevicePtr,
  type ParamKind,
} from "./driver.js";

/**
 * Every kernel the backend launches, with its parameter kinds in order (`p` device pointer, `i` int32,
 * `u` uint32): the signatures of kernels.cu (the tests check them against the PTX).
 */
export const KERNEL_PARAMS = {
  gen_rows: ["p", "i", "i", "i", "u", "u", "u", "u", "u"],
  gen_init: ["p", "i", "u", "u", "i"],
  effective_layer: ["p", "p", "p", "p", "p", "i", "i", "i", "i"],
  argmax_rows: ["p", "i", "i", "i", "p"],
  loss_grad: ["p", "i", "i", "i", "p", "i", "p", "i"],
  transpose_i8: ["p", "i", "i", "i", "p", "i"],
  bias_update: ["p", "i", "i", "i", "p", "p", "i"],
  count_correct: ["p", "i", "i", "i", "p", "p"],
  gemm_store_i32: ["p", "p", "p", "i", "i", "i", "i", "i", "i"],
  gemm_forward: ["p", "p", "p", "p", "i", "i", "i", "i", "i", "i", "i", "i"],
  gemm_backprop: ["p", "p", "p", "p", "i", "i", "i", "i", "i", "i", "i", "i"],
  gemm_update: ["p", "p", "p", "p", "p", "i", "i", "i", "i", "i", "i", "i", "i"],
  permute_rows: ["p", "i", "u", "u", "u", "i", "u", "u"],
  gather_rows: ["p", "i", "p", "i", "p", "p", "i", "i", "p"],
} as const satisfies Record<string, readonly ParamKind[]>;

export type KernelName = keyof typeof KERNEL_PARAMS;

/** Threads per block: element-wise kernels, and the 64 x 64 tensor-core GEMM tile (4 warps). */
const THREADS = 256;
const GEMM_THREADS = 128;
const GEMM_TILE = 64;
/** Most activation bytes an evaluation chunk holds (the spec's own bound on a batch). */
const EVAL_ACTIVATION_BYTES = 1 << 26;

export const FATBIN_URL: URL = new URL("./kernels.fatbin", import.meta.url);
export const PTX_URL: URL = new URL("./kernels.ptx.gz", import.meta.url);

const pad = (n: number) => (n + 31) & ~31;
const blocks = (n: number, per: number) => Math.max(1, Math.ceil(n / per));

/** The committed kernel images: the fatbin, and the PTX (NUL-terminated, as cuModuleLoadData wants it). */
export async function kernelImages(): Promise<{ fatbin: Uint8Array; ptx: Uint8Array }> {
  const { readFile } = await import("node:fs/promises");
  const { gunzipSync } = await import("node:zlib");
  const fatbin = new Uint8Array(await readFile(FATBIN_URL));
  const text = gunzipSync(await readFile(PTX_URL));
  const ptx = new Uint8Array(text.length + 1);
  ptx.set(text);
  return { fatbin, ptx };
}

/** A dataset part in device memory: int8 features `[count][features]`, uint16 labels. */
interface PartBuffers {
  readonly count: number;
  readonly inputs: DevicePtr;
  readonly labels: DevicePtr;
}

interface LayerBuffers {
  readonly weff: DevicePtr;
  readonly weffT: DevicePtr;
  readonly beff: DevicePtr;
  readonly act: DevicePtr;
  readonly grad: DevicePtr;
}

class CudaSession implements EngineSession {
  readonly layout: ModelLayout;
  private readonly spec: TrainingSpec;
  private readonly key: EngineKey;
  private readonly cu: CudaDevice;
  private readonly allocations: DevicePtr[] = [];
  private readonly batch: number;
  private readonly evalRows: number;
  private readonly params: DevicePtr;
  private readonly layers: LayerBuffers[];
  private readonly output: DevicePtr;
  private readonly teacher: DevicePtr;
  private readonly actT: DevicePtr;
  private readonly gradT: DevicePtr;
  private readonly z: DevicePtr;
  private readonly labels: DevicePtr;
  private readonly hits: DevicePtr;
  /** Version 2: the dataset parts and a batch's row indices (undefined: no data). */
  private readonly data?: { train: PartBuffers; eval: PartBuffers; indices: DevicePtr };
  private readonly v2: boolean;
  private closed = false;

  constructor(spec: TrainingSpec, key: EngineKey, device: CudaDevice, data?: EngineData) {
    this.spec = validateSpec(spec);
    this.v2 = this.spec.version === 2;
    const rows = checkEngineData(this.spec, data);
    this.key = key;
    this.cu = device;
    const layout = modelLayout(this.spec);
    this.layout = layout;
    const B = this.spec.batchSize;
    this.batch = B;
    const rowBytes = this.spec.widths.reduce((sum, w) => sum + pad(w), 0);
    this.evalRows = Math.max(B, Math.min(this.spec.evalSize, Math.floor(EVAL_ACTIVATION_BYTES / rowBytes)));
    const R = this.evalRows;
    const C = layout.classes;
    try {
      this.params = this.alloc(2 * layout.parameterCount);
      this.layers = layout.layers.map((layer, l) => ({
        weff: this.alloc(layer.outputs * pad(layer.inputs)),
        weffT: l > 0 ? this.alloc(layer.inputs * pad(layer.outputs)) : 0n,
        beff: this.alloc(4 * layer.outputs),
        act: this.alloc(R * pad(layer.inputs)),
        grad: this.alloc(B * pad(layer.outputs)),
      }));
      this.output = this.alloc(R * pad(C));
      this.teacher = this.v2 ? 0n : this.alloc(C * pad(layout.inputs));
      this.actT = this.alloc(layout.maxWidth * pad(B));
      this.gradT = this.alloc(layout.maxWidth * pad(B));
      this.z = this.alloc(4 * R * C);
      this.labels = this.alloc(4 * R);
      this.hits = this.alloc(4 * R);
      if (rows) {
        const place = (part: "train" | "eval"): PartBuffers => {
          const src = rows[part];
          const inputs = this.alloc(Math.max(1, src.inputs.length));
          const labels = this.alloc(2 * src.count);
          this.cu.upload(inputs, src.inputs);
          this.cu.upload(labels, src.labels);
          return { count: src.count, inputs, labels };
        };
        this.data = { train: place("train"), eval: place("eval"), indices: this.alloc(4 * B) };
      }

      layout.layers.forEach((layer, l) => {
        const count = layer.inputs * layer.outputs;
        this.launch("gen_init", [blocks(Math.ceil(count / 16), THREADS), 1], THREADS, [
          this.param(layer.weightOffset),
          count,
          key.k0,
          key.k1,
          l,
        ]);
      });
      const ld0 = pad(layout.inputs);
      if (!this.v2) {
        this.launch("gen_rows", [blocks(C * (ld0 / 16), THREADS), 1], THREADS, [
          this.teacher,
          C,
          layout.inputs,
          ld0,
          key.k0,
          key.k1,
          DOMAIN_TEACHER,
          0,
          0,
        ]);
      }
      this.refresh();
      this.cu.synchronize();
    } catch (error) {
      this.release();
      throw error;
    }
  }

  private alloc(bytes: number): DevicePtr {
    const ptr = this.cu.alloc(bytes);
    this.allocations.push(ptr);
    return ptr;
  }

  /** Device address of parameter `index`. */
  private param(index: number): DevicePtr {
    return this.params + BigInt(2 * index);
  }

  private launch(
    name: KernelName,
    grid: readonly [number, number],
    block: number,
    args: readonly (bigint | number)[],
  ): void {
    this.cu.launch(name, KERNEL_PARAMS[name], grid, block, args);
  }

  /** out (M x N) = A (M x K) * B (N x K)^T with an epilogue; grid of 64 x 64 tiles. */
  private gemm(name: KernelName, M: number, N: number, args: readonly (bigint | number)[]): void {
    this.launch(name, [blocks(N, GEMM_TILE), blocks(M, GEMM_TILE)], GEMM_THREADS, args);
  }

  private live(): void {
    if (this.closed) throw new Error("engine session is closed");
  }

  /** Recomputes every layer's effective weights (and transposes, biases) from the parameters. */
  private refresh(): void {
    this.layout.layers.forEach((layer, l) => {
      const buf = this.layers[l];
      this.launch("effective_layer", [blocks(layer.inputs * layer.outputs, THREADS), 1], THREADS, [
        this.param(layer.weightOffset),
        this.param(layer.biasOffset),
        buf.weff,
        buf.weffT,
        buf.beff,
        layer.outputs,
        layer.inputs,
        pad(layer.inputs),
        pad(layer.outputs),
      ]);
    });
  }

  async getWeights(): Promise<Int16Array> {
    this.live();
    const weights = new Int16Array(this.layout.parameterCount);
    this.cu.download(weights, this.params);
    return weights;
  }

  async setWeights(weights: Int16Array): Promise<void> {
    this.live();
    this.cu.upload(this.params, checkWeights(this.layout, weights));
    this.refresh();
    this.cu.synchronize();
  }

  /** Inputs of examples first .. first + rows - 1 into the first layer's activations, their labels. */
  private examples(first: number, rows: number): void {
    const { layout, key } = this;
    const ld0 = pad(layout.inputs);
    const C = layout.classes;
    const act0 = this.layers[0].act;
    this.launch("gen_rows", [blocks(rows * (ld0 / 16), THREADS), 1], THREADS, [
      act0,
      rows,
      layout.inputs,
      ld0,
      key.k0,
      key.k1,
      DOMAIN_INPUT,
      first >>> 0,
      Math.floor(first / 2 ** 32),
    ]);
    this.gemm("gemm_store_i32", rows, C, [act0, this.teacher, this.z, rows, C, ld0, ld0, ld0, C]);
    this.launch("argmax_rows", [blocks(rows, THREADS), 1], THREADS, [this.z, C, rows, C, this.labels]);
  }

  /** Version 2: dataset rows (`indices`, or first .. first + rows - 1 when null) into the first layer's activations and labels. */
  private gather(part: PartBuffers, indices: DevicePtr, first: number, rows: number): void {
    const ld0 = pad(this.layout.inputs);
    this.launch("gather_rows", [blocks(rows * ld0, THREADS), 1], THREADS, [
      this.layers[0].act,
      ld0,
      part.inputs,
      this.layout.inputs,
      part.labels,
      indices,
      first,
      rows,
      this.labels,
    ]);
  }

  /** The training batch of `step` (either version) into the first layer's activations and labels. */
  private trainBatch(step: number): void {
    const B = this.batch;
    if (!this.v2) return this.examples(step * B, B);
    if (!this.data) throw noData("train");
    const first = step * B;
    const { train, indices } = this.data;
    this.launch("permute_rows", [blocks(B, THREADS), 1], THREADS, [
      indices,
      B,
      first >>> 0,
      Math.floor(first / 2 ** 32),
      train.count,
      permutationHalfBits(train.count),
      this.key.k0,
      this.key.k1,
    ]);
    this.gather(train, indices, 0, B);
  }

  /** Evaluation examples e .. e + rows - 1 (either version). */
  private evalBatch(e: number, rows: number): void {
    if (!this.v2) return this.examples(this.spec.steps * this.spec.batchSize + e, rows);
    if (!this.data) throw noData("evaluate");
    this.gather(this.data.eval, 0n, e, rows);
  }

  private forward(rows: number): void {
    const last = this.layout.layers.length - 1;
    this.layout.layers.forEach((layer, l) => {
      const ldIn = pad(layer.inputs);
      const dst = l === last ? this.output : this.layers[l + 1].act;
      this.gemm("gemm_forward", rows, layer.outputs, [
        this.layers[l].act,
        this.layers[l].weff,
        this.layers[l].beff,
        dst,
        rows,
        layer.outputs,
        ldIn,
        ldIn,
        ldIn,
        pad(layer.outputs),
        layer.forwardShift,
        l === last ? -127 : 0,
      ]);
    });
  }

  async trainSteps(firstStep: number, count: number): Promise<void> {
    this.live();
    for (let s = firstStep; s < firstStep + count; s++) this.step(s);
    this.cu.synchronize();
  }

  private step(step: number): void {
    const { layout } = this;
    const B = this.batch;
    const B32 = pad(B);
    const lr = this.spec.lrShift;
    const L = layout.layers.length;
    const C = layout.classes;
    this.trainBatch(step);
    this.forward(B);
    this.launch("loss_grad", [blocks(B * C, THREADS), 1], THREADS, [
      this.output,
      pad(C),
      B,
      C,
      this.labels,
      TARGET,
      this.layers[L - 1].grad,
      pad(C),
    ]);
    for (let l = L - 1; l >= 0; l--) {
      const layer = layout.layers[l];
      const buf = this.layers[l];
      const nIn = layer.inputs;
      const nOut = layer.outputs;
      this.launch("transpose_i8", [blocks(nOut * B32, THREADS), 1], THREADS, [
        buf.grad,
        pad(nOut),
        B,
        nOut,
        this.gradT,
        B32,
      ]);
      this.launch("transpose_i8", [blocks(nIn * B32, THREADS), 1], THREADS, [
        buf.act,
        pad(nIn),
        B,
        nIn,
        this.actT,
        B32,
      ]);
      // The error for the layer below uses this layer's weights of the start of the step: before the update.
      if (l > 0) {
        this.gemm("gemm_backprop", B, nIn, [
          buf.grad,
          buf.weffT,
          buf.act,
          this.layers[l - 1].grad,
          B,
          nIn,
          pad(nOut),
          pad(nOut),
          pad(nOut),
          pad(nIn),
          pad(nIn),
          layer.backwardShift,
        ]);
      }
      this.gemm("gemm_update", nOut, nIn, [
        this.gradT,
        this.actT,
        this.param(layer.weightOffset),
        buf.weff,
        buf.weffT,
        nOut,
        nIn,
        B32,
        B32,
        B32,
        pad(nIn),
        pad(nOut),
        lr,
      ]);
      this.launch("bias_update", [blocks(nOut, THREADS), 1], THREADS, [
        this.gradT,
        B32,
        nOut,
        B,
        this.param(layer.biasOffset),
        buf.beff,
        lr,
      ]);
    }
  }

  async evaluate(): Promise<number> {
    this.live();
    const { layout } = this;
    const C = layout.classes;
    if (this.v2 && !this.data) throw noData("evaluate");
    const R = this.evalRows;
    this.cu.zero(this.hits, 4 * R);
    for (let e = 0; e < this.spec.evalSize; e += R) {
      const rows = Math.min(R, this.spec.evalSize - e);
      this.evalBatch(e, rows);
      this.forward(rows);
      this.launch("count_correct", [blocks(rows, THREADS), 1], THREADS, [
        this.output,
        pad(C),
        rows,
        C,
        this.labels,
        this.hits,
      ]);
    }
    const hits = new Int32Array(R);
    this.cu.download(hits, this.hits);
    return hits.reduce((sum, h) => sum + h, 0);
  }

  private release(): void {
    for (const ptr of this.allocations.splice(0)) {
      try {
        this.cu.free(ptr);
      } catch {
        // Freeing after a device fault fails too; the context keeps nothing else of the session.
      }
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.release();
  }
}

/** Options of {@link createCudaBackend}. */
export interface CudaBackendOptions {
  /** The driver library; default `$POAI_CUDA_LIBRARY`, else `libcuda.so.1` (`nvcuda.dll` on Windows). */
  readonly library?: string;
  /** Device ordinal; default 0. */
  readonly device?: number;
}

const devices = new Map<string, Promise<CudaDevice>>();

/** The loaded driver and kernels for (library, device), loaded once per process. */
export function cudaDevice(options: CudaBackendOptions = {}): Promise<CudaDevice> {
  const library = options.library ?? defaultLibrary();
  const ordinal = options.device ?? 0;
  if (!Number.isSafeInteger(ordinal) || ordinal < 0)
    throw new CudaUnavailableError(`device must be an integer >= 0, got ${String(options.device)}`);
  const id = `${library}#${ordinal}`;
  let device = devices.get(id);
  if (!device) {
    device = CudaDevice.open(library, ordinal, kernelImages);
    devices.set(id, device);
  }
  return device;
}

/** A CUDA backend on one driver library and device; the driver is loaded on the first `open`. */
export function createCudaBackend(options: CudaBackendOptions = {}): EngineBackend {
  return {
    kind: "cuda",
    async open(spec: TrainingSpec, key: EngineKey, data?: EngineData): Promise<EngineSession> {
      return new CudaSession(spec, key, await cudaDevice(options), data);
    },
  };
}

/** The CUDA backend on the default driver and device 0. */
export const cudaBackend: EngineBackend = createCudaBackend();

let probed: Promise<CudaProbe> | undefined;
let probeResult: CudaProbe | undefined;

/**
 * Whether the CUDA backend can run here (default driver library, device 0): loads the driver and the
 * kernels once per process. Never throws; an unusable CUDA is `{ available: false, reason }` with the
 * one-line reason.
 */
export function probeCuda(): Promise<CudaProbe> {
  probed ??= cudaDevice().then(
    (d): CudaProbe => ({
      available: true,
      device: d.name,
      computeCapability: d.computeCapability,
      driverVersion: d.driverVersion,
    }),
    (error: unknown): CudaProbe => ({
      available: false,
      reason: error instanceof Error ? error.message : String(error),
    }),
  );
  return probed.then((result) => (probeResult = result));
}

/** The result of a finished {@link probeCuda}, or undefined before one has finished. */
export function cudaProbeResult(): CudaProbe | undefined {
  return probeResult;
}
