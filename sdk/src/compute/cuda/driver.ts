/**
 * The CUDA driver API, bound at run time through koffi (an FFI with prebuilt binaries): no native
 * addon to compile at install, no CUDA toolkit at run time, only the NVIDIA driver's libcuda.
 * Node-only; koffi and node:fs are imported lazily, so importing this module is browser-safe and
 * costs nothing until a CUDA backend is opened.
 *
 * Errors: a missing driver or device is a `CudaUnavailableError`; a failing driver call is a
 * `CudaError`. Both carry one line naming the call and the CUresult, e.g.
 * `CUDA unavailable: libcuda.so.1 not found (no NVIDIA driver)` or
 * `cuMemAlloc_v2 failed: CUDA_ERROR_OUT_OF_MEMORY (2), out of memory`.
 */

/** CUDA cannot be used here: no driver library, no device, or a device too old for the kernels. */
export class CudaUnavailableError extends Error {
  override readonly name = "CudaUnavailableError";
  constructor(reason: string) {
    super(`CUDA unavailable: ${reason}`);
  }
}

/** A CUDA driver call returned an error. */
export class CudaError extends Error {
  override readonly name = "CudaError";
  constructor(
    readonly call: string,
    readonly code: number,
    readonly codeName: string,
    readonly description: string,
  ) {
    super(`${call} failed: ${codeName} (${code}), ${description}`);
  }
}

/** Where the driver library is: `options.library`, else `$POAI_CUDA_LIBRARY`, else the platform's name. */
export function defaultLibrary(): string {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined>; platform?: string } })
    .process;
  const fromEnv = env?.env?.POAI_CUDA_LIBRARY;
  if (fromEnv) return fromEnv;
  return env?.platform === "win32" ? "nvcuda.dll" : "libcuda.so.1";
}

/** Kernel parameter kinds: a device pointer (u64), an int32, a uint32. */
export type ParamKind = "p" | "i" | "u";

type Fn = (...args: unknown[]) => number;

const CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
const CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
const CUDA_ERROR_NO_DEVICE = 100;
/** Slots of the kernel argument block (the most parameters a kernel takes, with room to spare). */
const MAX_PARAMS = 16;

/** The driver entry points the backend uses, with their C prototypes (symbol names as libcuda exports them). */
const PROTOTYPES = {
  cuInit: "int cuInit(unsigned int flags)",
  cuDriverGetVersion: "int cuDriverGetVersion(_Out_ int *version)",
  cuDeviceGetCount: "int cuDeviceGetCount(_Out_ int *count)",
  cuDeviceGet: "int cuDeviceGet(_Out_ int *device, int ordinal)",
  cuDeviceGetName: "int cuDeviceGetName(_Out_ uint8_t *name, int len, int device)",
  cuDeviceGetAttribute: "int cuDeviceGetAttribute(_Out_ int *value, int attribute, int device)",
  cuDevicePrimaryCtxRetain: "int cuDevicePrimaryCtxRetain(_Out_ void **ctx, int device)",
  cuCtxSetCurrent: "int cuCtxSetCurrent(void *ctx)",
  cuCtxSynchronize: "int cuCtxSynchronize()",
  cuModuleLoadData: "int cuModuleLoadData(_Out_ void **module, const void *image)",
  cuModuleGetFunction: "int cuModuleGetFunction(_Out_ void **function, void *module, const char *name)",
  cuMemAlloc_v2: "int cuMemAlloc_v2(_Out_ uint64_t *ptr, size_t bytes)",
  cuMemFree_v2: "int cuMemFree_v2(uint64_t ptr)",
  cuMemcpyHtoD_v2: "int cuMemcpyHtoD_v2(uint64_t dst, const void *src, size_t bytes)",
  cuMemcpyDtoH_v2: "int cuMemcpyDtoH_v2(void *dst, uint64_t src, size_t bytes)",
  cuMemsetD8_v2: "int cuMemsetD8_v2(uint64_t dst, uint8_t value, size_t count)",
  cuLaunchKernel:
    "int cuLaunchKernel(void *function, unsigned int gx, unsigned int gy, unsigned int gz, unsigned int bx, unsigned int by, unsigned int bz, unsigned int shared, void *stream, void *params, void *extra)",
  cuGetErrorName: "int cuGetErrorName(int error, _Out_ const char **name)",
  cuGetErrorString: "int cuGetErrorString(int error, _Out_ const char **text)",
} as const;

type Api = Record<keyof typeof PROTOTYPES, Fn>;

/** The koffi module surface this file uses. */
interface Koffi {
  load(path: string): { func(prototype: string): Fn };
  alloc(type: string, length: number): bigint;
  encode(ref: bigint, offset: number, type: string, value: unknown): void;
  address(value: unknown): bigint;
}

/** What a probe found. */
export type CudaProbe =
  | {
      readonly available: true;
      readonly device: string;
      readonly computeCapability: string;
      readonly driverVersion: number;
    }
  | { readonly available: false; readonly reason: string };

/** A device pointer. */
export type DevicePtr = bigint;

/** A loaded driver with a current context on one device and the kernel module. */
export class CudaDevice {
  readonly name: string;
  readonly computeCapability: string;
  readonly driverVersion: number;
  /** Which image the module came from: the fatbin's SASS, or the PTX (JIT-compiled by the driver). */
  readonly moduleImage: "fatbin" | "ptx";
  private readonly api: Api;
  private readonly koffi: Koffi;
  private readonly functions = new Map<string, unknown>();
  private readonly module: unknown;
  private readonly args: bigint;
  private readonly argPointers: bigint;

  private constructor(init: {
    api: Api;
    koffi: Koffi;
    name: string;
    computeCapability: string;
    driverVersion: number;
    module: unknown;
    moduleImage: "fatbin" | "ptx";
  }) {
    this.api = init.api;
    this.koffi = init.koffi;
    this.name = init.name;
    this.computeCapability = init.computeCapability;
    this.driverVersion = init.driverVersion;
    this.module = init.module;
    this.moduleImage = init.moduleImage;
    // One argument block for every launch: slot i holds argument i, argPointers[i] points at slot i.
    this.args = init.koffi.alloc("uint64_t", MAX_PARAMS);
    this.argPointers = init.koffi.alloc("uint64_t", MAX_PARAMS);
    for (let i = 0; i < MAX_PARAMS; i++)
      init.koffi.encode(this.argPointers, 8 * i, "uint64_t", this.args + BigInt(8 * i));
  }

  /**
   * Loads the driver library, initialises it, makes device `ordinal`'s primary context current and
   * loads the kernels (fatbin first, the PTX if the driver has no SASS for this device).
   */
  static async open(
    library: string,
    ordinal: number,
    images: () => Promise<{ fatbin: Uint8Array; ptx: Uint8Array }>,
  ): Promise<CudaDevice> {
    let koffi: Koffi;
    try {
      // A variable specifier keeps bundlers from pulling the Node-only FFI into browser builds.
      const specifier = "koffi";
      koffi = ((await import(specifier)) as { default: Koffi }).default;
    } catch {
      throw new CudaUnavailableError(
        "the koffi package (the FFI the CUDA backend loads the driver with) is missing",
      );
    }
    let lib: { func(prototype: string): Fn };
    try {
      lib = koffi.load(library);
    } catch {
      throw new CudaUnavailableError(`${library} not found (no NVIDIA driver)`);
    }
    const api = {} as Api;
    for (const [name, prototype] of Object.entries(PROTOTYPES)) {
      try {
        api[name as keyof Api] = lib.func(prototype);
      } catch {
        throw new CudaUnavailableError(`${library} lacks ${name} (not a CUDA driver library, or too old)`);
      }
    }
    const check = (call: string, code: number) => {
      if (code !== 0) throw driverError(api, call, code);
    };
    const initCode = api.cuInit(0);
    if (initCode !== 0) {
      const e = driverError(api, "cuInit", initCode);
      const reason = initCode === CUDA_ERROR_NO_DEVICE ? "no CUDA device" : "the driver did not initialise";
      throw new CudaUnavailableError(`${reason}: ${e.message}`);
    }
    const version = [0];
    check("cuDriverGetVersion", api.cuDriverGetVersion(version));
    const count = [0];
    check("cuDeviceGetCount", api.cuDeviceGetCount(count));
    if (count[0] === 0) throw new CudaUnavailableError("no CUDA device");
    if (ordinal >= count[0])
      throw new CudaUnavailableError(`device ${ordinal} requested, the driver sees ${count[0]}`);
    const device = [0];
    check("cuDeviceGet", api.cuDeviceGet(device, ordinal));
    const nameBytes = new Uint8Array(256);
    check("cuDeviceGetName", api.cuDeviceGetName(nameBytes, nameBytes.length, device[0]));
    const end = nameBytes.indexOf(0);
    const name = new TextDecoder().decode(nameBytes.subarray(0, end < 0 ? nameBytes.length : end));
    const major = [0];
    const minor = [0];
    check(
      "cuDeviceGetAttribute",
      api.cuDeviceGetAttribute(major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device[0]),
    );
    check(
      "cuDeviceGetAttribute",
      api.cuDeviceGetAttribute(minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device[0]),
    );
    const computeCapability = `${major[0]}.${minor[0]}`;
    if (major[0] < 8) {
      throw new CudaUnavailableError(
        `${name} has compute capability ${computeCapability}; the kernels need 8.0 or later (int8 mma.m16n8k32)`,
      );
    }
    const ctx = [null];
    check("cuDevicePrimaryCtxRetain", api.cuDevicePrimaryCtxRetain(ctx, device[0]));
    check("cuCtxSetCurrent", api.cuCtxSetCurrent(ctx[0]));
    const { fatbin, ptx } = await images();
    const module = [null];
    let moduleImage: "fatbin" | "ptx" = "fatbin";
    const fromFatbin = api.cuModuleLoadData(module, fatbin);
    if (fromFatbin !== 0) {
      moduleImage = "ptx";
      const fromPtx = api.cuModuleLoadData(module, ptx);
      if (fromPtx !== 0) {
        const fat = driverError(api, "cuModuleLoadData", fromFatbin);
        const jit = driverError(api, "cuModuleLoadData", fromPtx);
        throw new CudaError(
          "cuModuleLoadData",
          jit.code,
          jit.codeName,
          `${jit.description} (PTX JIT; the fatbin gave ${fat.codeName} (${fat.code}))`,
        );
      }
    }
    return new CudaDevice({
      api,
      koffi,
      name,
      computeCapability,
      driverVersion: version[0],
      module: module[0],
      moduleImage,
    });
  }

  private check(call: string, code: number): void {
    if (code !== 0) throw driverError(this.api, call, code);
  }

  /** Allocates `bytes` of device memory, zeroed. */
  alloc(bytes: number): DevicePtr {
    const out = [0n];
    this.check("cuMemAlloc_v2", this.api.cuMemAlloc_v2(out, Math.max(bytes, 1)));
    const ptr = BigInt(out[0]);
    this.check("cuMemsetD8_v2", this.api.cuMemsetD8_v2(ptr, 0, Math.max(bytes, 1)));
    return ptr;
  }

  free(ptr: DevicePtr): void {
    this.check("cuMemFree_v2", this.api.cuMemFree_v2(ptr));
  }

  zero(ptr: DevicePtr, bytes: number): void {
    this.check("cuMemsetD8_v2", this.api.cuMemsetD8_v2(ptr, 0, bytes));
  }

  upload(dst: DevicePtr, src: ArrayBufferView): void {
    this.check("cuMemcpyHtoD_v2", this.api.cuMemcpyHtoD_v2(dst, src, src.byteLength));
  }

  /** Copies device memory into `dst` (after every launch queued before it has finished). */
  download(dst: ArrayBufferView, src: DevicePtr): void {
    this.check("cuMemcpyDtoH_v2", this.api.cuMemcpyDtoH_v2(dst, src, dst.byteLength));
  }

  /** Waits for every queued launch; a kernel fault surfaces here. */
  synchronize(): void {
    this.check("cuCtxSynchronize", this.api.cuCtxSynchronize());
  }

  /**
   * Queues kernel `name` on the default stream: `grid` blocks of `block` threads, arguments encoded per
   * `kinds` (device pointers as u64, integers as 32-bit).
   */
  launch(
    name: string,
    kinds: readonly ParamKind[],
    grid: readonly [number, number],
    block: number,
    args: readonly (bigint | number)[],
  ): void {
    if (args.length !== kinds.length)
      throw new Error(`kernel ${name} takes ${kinds.length} arguments, got ${args.length}`);
    let fn = this.functions.get(name);
    if (fn === undefined) {
      const out = [null];
      this.check(`cuModuleGetFunction(${name})`, this.api.cuModuleGetFunction(out, this.module, name));
      fn = out[0];
      this.functions.set(name, fn);
    }
    for (let i = 0; i < args.length; i++) {
      const kind = kinds[i];
      const value = args[i];
      if (kind === "p") this.koffi.encode(this.args, 8 * i, "uint64_t", BigInt(value));
      else this.koffi.encode(this.args, 8 * i, kind === "i" ? "int32_t" : "uint32_t", Number(value));
    }
    this.check(
      `cuLaunchKernel(${name})`,
      this.api.cuLaunchKernel(fn, grid[0], grid[1], 1, block, 1, 1, 0, null, this.argPointers, null),
    );
  }
}

function driverError(api: Api, call: string, code: number): CudaError {
  const name = [null as string | null];
  const text = [null as string | null];
  const named = api.cuGetErrorName(code, name) === 0 && name[0] ? name[0] : `CUresult ${code}`;
  const described = api.cuGetErrorString(code, text) === 0 && text[0] ? text[0] : "unknown error";
  return new CudaError(call, code, named, described);
}
