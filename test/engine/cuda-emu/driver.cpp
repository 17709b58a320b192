/*
 * A CPU stand-in for libcuda.so (test only): exports the CUDA driver API calls the `cuda` backend
 * makes (sdk/src/compute/cuda/backend.ts), with host memory as "device" memory and the kernels of
 * sdk/src/compute/cuda/kernels.cu compiled for the host (see emu.h) and run by an emulator of the
 * launch grid: blocks one after another, the threads of a block as fibers (ucontext) that switch at
 * __syncthreads and at the warp-collective mma instruction, whose result is computed from the 32
 * lanes' fragments per the PTX ISA layout. The backend loads it in place of the driver
 * (`POAI_CUDA_LIBRARY`), so the tests run the whole path, TypeScript launches included, without a GPU.
 *
 * Failure injection for the tests, through the environment:
 *   POAI_CUDA_EMU_DEVICES=0        cuInit fails with CUDA_ERROR_NO_DEVICE
 *   POAI_CUDA_EMU_REJECT_FATBIN=1  cuModuleLoadData refuses fatbins (CUDA_ERROR_NO_BINARY_FOR_GPU)
 *   POAI_CUDA_EMU_MEMORY=bytes     cuMemAlloc fails with CUDA_ERROR_OUT_OF_MEMORY past this total
 *
 * Build: g++ -std=c++20 -O2 -fPIC -shared -fno-strict-aliasing -DPOAI_HOST_EMULATION -include emu.h
 *        driver.cpp -o libcuda-emu.so
 */
#include <ucontext.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "../../../sdk/src/compute/cuda/kernels.cu"

dim3 emu_threadIdx, emu_blockIdx, emu_blockDim, emu_gridDim;

namespace {

typedef int CUresult;
typedef unsigned long long CUdeviceptr;

constexpr CUresult CUDA_SUCCESS = 0;
constexpr CUresult CUDA_ERROR_INVALID_VALUE = 1;
constexpr CUresult CUDA_ERROR_OUT_OF_MEMORY = 2;
constexpr CUresult CUDA_ERROR_NOT_INITIALIZED = 3;
constexpr CUresult CUDA_ERROR_NO_DEVICE = 100;
constexpr CUresult CUDA_ERROR_INVALID_DEVICE = 101;
constexpr CUresult CUDA_ERROR_INVALID_IMAGE = 200;
constexpr CUresult CUDA_ERROR_NO_BINARY_FOR_GPU = 209;
constexpr CUresult CUDA_ERROR_NOT_FOUND = 500;
constexpr CUresult CUDA_ERROR_LAUNCH_FAILED = 719;

/* ------------------------------------------------------------ fibers */

enum State { RUNNABLE, AT_BARRIER, AT_WARP, DONE };

struct Fiber {
  ucontext_t ctx;
  char* stack = nullptr;
  State state = DONE;
  unsigned tid = 0;
};

constexpr size_t STACK_BYTES = 256 * 1024;
constexpr unsigned MAX_THREADS = 1024;

ucontext_t scheduler;
std::vector<Fiber> fibers(MAX_THREADS);
Fiber* current = nullptr;
void (*body)(void*) = nullptr;
void* body_arg = nullptr;
std::string launch_error;

void fiber_main() {
  body(body_arg);
  current->state = DONE;
}

void yield_to_scheduler(State state) {
  current->state = state;
  swapcontext(&current->ctx, &scheduler);
}

/* Runs one block of `threads` threads; returns false (and sets launch_error) on a barrier deadlock. */
bool run_block(unsigned threads) {
  for (unsigned t = 0; t < threads; t++) {
    Fiber& f = fibers[t];
    if (!f.stack) f.stack = static_cast<char*>(malloc(STACK_BYTES));
    getcontext(&f.ctx);
    f.ctx.uc_stack.ss_sp = f.stack;
    f.ctx.uc_stack.ss_size = STACK_BYTES;
    f.ctx.uc_link = &scheduler;
    makecontext(&f.ctx, fiber_main, 0);
    f.state = RUNNABLE;
    f.tid = t;
  }
  for (;;) {
    for (unsigned t = 0; t < threads; t++) {
      Fiber& f = fibers[t];
      if (f.state != RUNNABLE) continue;
      current = &f;
      const unsigned x = emu_blockDim.x;
      emu_threadIdx = dim3{t % x, (t / x) % emu_blockDim.y, t / (x * emu_blockDim.y)};
      swapcontext(&scheduler, &f.ctx);
    }
    unsigned done = 0, barrier = 0;
    for (unsigned t = 0; t < threads; t++) {
      if (fibers[t].state == DONE) done++;
      if (fibers[t].state == AT_BARRIER) barrier++;
    }
    if (done == threads) return true;
    bool released = false;
    for (unsigned w = 0; w * 32 < threads; w++) {
      unsigned live = 0, waiting = 0;
      for (unsigned t = w * 32; t < threads && t < w * 32 + 32; t++) {
        if (fibers[t].state != DONE) live++;
        if (fibers[t].state == AT_WARP) waiting++;
      }
      if (waiting > 0 && waiting == live) {
        if (live != 32) {
          launch_error = "mma executed by a partial warp";
          return false;
        }
        for (unsigned t = w * 32; t < w * 32 + 32; t++) fibers[t].state = RUNNABLE;
        released = true;
      }
    }
    if (released) continue;
    if (barrier == threads) {
      for (unsigned t = 0; t < threads; t++) fibers[t].state = RUNNABLE;
      continue;
    }
    launch_error = done > 0 ? "__syncthreads after some threads of the block exited"
                            : "deadlock: threads wait at different barriers";
    return false;
  }
}

/* ------------------------------------------------------------ mma */

uint32_t exchange_a[MAX_THREADS][4];
uint32_t exchange_b[MAX_THREADS][2];

int8_t byte_of(uint32_t word, int j) { return static_cast<int8_t>(word >> (8 * j)); }

}  // namespace

void emu_syncthreads() { yield_to_scheduler(AT_BARRIER); }

void emu_mma_m16n8k32_s8(int d[4], const uint32_t a[4], const uint32_t b[2]) {
  const unsigned tid = current->tid;
  const unsigned warp0 = tid & ~31u;
  for (int i = 0; i < 4; i++) exchange_a[tid][i] = a[i];
  for (int i = 0; i < 2; i++) exchange_b[tid][i] = b[i];
  yield_to_scheduler(AT_WARP);
  // Rebuild the 16x32 A and 32x8 B tiles from the 32 lanes (PTX ISA, mma.m16n8k32 .s8 fragments).
  int A[16][32];
  int B[32][8];
  for (unsigned lane = 0; lane < 32; lane++) {
    const uint32_t* la = exchange_a[warp0 + lane];
    const uint32_t* lb = exchange_b[warp0 + lane];
    const int group = lane >> 2, t = lane & 3;
    for (int j = 0; j < 4; j++) {
      A[group][4 * t + j] = byte_of(la[0], j);
      A[group + 8][4 * t + j] = byte_of(la[1], j);
      A[group][16 + 4 * t + j] = byte_of(la[2], j);
      A[group + 8][16 + 4 * t + j] = byte_of(la[3], j);
      B[4 * t + j][group] = byte_of(lb[0], j);
      B[16 + 4 * t + j][group] = byte_of(lb[1], j);
    }
  }
  const int lane = tid & 31, group = lane >> 2, t = lane & 3;
  const int rows[4] = {group, group, group + 8, group + 8};
  const int cols[4] = {2 * t, 2 * t + 1, 2 * t, 2 * t + 1};
  for (int i = 0; i < 4; i++) {
    int sum = 0;
    for (int k = 0; k < 32; k++) sum += A[rows[i]][k] * B[k][cols[i]];
    d[i] += sum;
  }
  // Nobody may overwrite its fragments before every lane has read them.
  yield_to_scheduler(AT_WARP);
}

namespace {

/* ------------------------------------------------------------ kernels */

struct Kernel {
  const char* name;
  int arity;
  /* Runs the whole grid; params as cuLaunchKernel receives them. */
  bool (*launch)(void** params, dim3 grid, dim3 block);
};

template <class... A, size_t... I>
bool launch_with(void (*fn)(A...), void** params, dim3 grid, dim3 block, std::index_sequence<I...>) {
  std::tuple<A...> args{*static_cast<A*>(params[I])...};
  struct Call {
    void (*fn)(A...);
    std::tuple<A...>* args;
  } call{fn, &args};
  body = [](void* p) {
    Call* c = static_cast<Call*>(p);
    std::apply(c->fn, *c->args);
  };
  body_arg = &call;
  emu_blockDim = block;
  emu_gridDim = grid;
  const unsigned threads = block.x * block.y * block.z;
  for (unsigned z = 0; z < grid.z; z++)
    for (unsigned y = 0; y < grid.y; y++)
      for (unsigned x = 0; x < grid.x; x++) {
        emu_blockIdx = dim3{x, y, z};
        if (!run_block(threads)) return false;
      }
  return true;
}

template <class... A>
constexpr int arity_of(void (*)(A...)) {
  return static_cast<int>(sizeof...(A));
}

template <auto F, class... A>
bool launch_kernel(void** params, dim3 grid, dim3 block, void (*)(A...)) {
  return launch_with(F, params, grid, block, std::index_sequence_for<A...>{});
}

template <auto F>
Kernel make_kernel(const char* name) {
  return Kernel{name, arity_of(F),
                [](void** params, dim3 grid, dim3 block) { return launch_kernel<F>(params, grid, block, F); }};
}

#define KERNEL(name) make_kernel<&name>(#name)

const std::vector<Kernel>& kernels() {
  static const std::vector<Kernel> list = {
      KERNEL(gen_rows),      KERNEL(gen_init),     KERNEL(effective_layer), KERNEL(argmax_rows),
      KERNEL(loss_grad),     KERNEL(transpose_i8), KERNEL(bias_update),     KERNEL(count_correct),
      KERNEL(gemm_store_i32), KERNEL(gemm_forward), KERNEL(gemm_backprop),  KERNEL(gemm_update),
      KERNEL(permute_rows),  KERNEL(gather_rows),
  };
  return list;
}

/* ------------------------------------------------------------ driver state */

bool initialized = false;
std::map<CUdeviceptr, size_t> allocations;
size_t allocated = 0;
int module_token = 0;

size_t memory_limit() {
  const char* v = getenv("POAI_CUDA_EMU_MEMORY");
  return v ? static_cast<size_t>(strtoull(v, nullptr, 10)) : static_cast<size_t>(1) << 34;
}

/* Whether [p, p + n) lies inside one allocation. */
bool inside(CUdeviceptr p, size_t n) {
  auto it = allocations.upper_bound(p);
  if (it == allocations.begin()) return false;
  --it;
  return p >= it->first && p + n <= it->first + it->second;
}

const char* error_name(CUresult r) {
  switch (r) {
    case CUDA_SUCCESS: return "CUDA_SUCCESS";
    case CUDA_ERROR_INVALID_VALUE: return "CUDA_ERROR_INVALID_VALUE";
    case CUDA_ERROR_OUT_OF_MEMORY: return "CUDA_ERROR_OUT_OF_MEMORY";
    case CUDA_ERROR_NOT_INITIALIZED: return "CUDA_ERROR_NOT_INITIALIZED";
    case CUDA_ERROR_NO_DEVICE: return "CUDA_ERROR_NO_DEVICE";
    case CUDA_ERROR_INVALID_DEVICE: return "CUDA_ERROR_INVALID_DEVICE";
    case CUDA_ERROR_INVALID_IMAGE: return "CUDA_ERROR_INVALID_IMAGE";
    case CUDA_ERROR_NO_BINARY_FOR_GPU: return "CUDA_ERROR_NO_BINARY_FOR_GPU";
    case CUDA_ERROR_NOT_FOUND: return "CUDA_ERROR_NOT_FOUND";
    case CUDA_ERROR_LAUNCH_FAILED: return "CUDA_ERROR_LAUNCH_FAILED";
    default: return nullptr;
  }
}

const char* error_string(CUresult r) {
  switch (r) {
    case CUDA_SUCCESS: return "no error";
    case CUDA_ERROR_INVALID_VALUE: return "invalid argument";
    case CUDA_ERROR_OUT_OF_MEMORY: return "out of memory";
    case CUDA_ERROR_NOT_INITIALIZED: return "initialization error";
    case CUDA_ERROR_NO_DEVICE: return "no CUDA-capable device is detected";
    case CUDA_ERROR_INVALID_DEVICE: return "invalid device ordinal";
    case CUDA_ERROR_INVALID_IMAGE: return "device kernel image is invalid";
    case CUDA_ERROR_NO_BINARY_FOR_GPU: return "no kernel image is available for execution on the device";
    case CUDA_ERROR_NOT_FOUND: return "named symbol not found";
    case CUDA_ERROR_LAUNCH_FAILED: return "unspecified launch failure";
    default: return nullptr;
  }
}

}  // namespace

extern "C" {

CUresult cuInit(unsigned flags) {
  if (flags != 0) return CUDA_ERROR_INVALID_VALUE;
  const char* devices = getenv("POAI_CUDA_EMU_DEVICES");
  if (devices && strcmp(devices, "0") == 0) return CUDA_ERROR_NO_DEVICE;
  initialized = true;
  return CUDA_SUCCESS;
}

CUresult cuDriverGetVersion(int* version) {
  *version = 13000;
  return CUDA_SUCCESS;
}

CUresult cuDeviceGetCount(int* count) {
  if (!initialized) return CUDA_ERROR_NOT_INITIALIZED;
  *count = 1;
  return CUDA_SUCCESS;
}

CUresult cuDeviceGet(int* device, int ordinal) {
  if (!initialized) return CUDA_ERROR_NOT_INITIALIZED;
  if (ordinal != 0) return CUDA_ERROR_INVALID_DEVICE;
  *device = 0;
  return CUDA_SUCCESS;
}

CUresult cuDeviceGetName(char* name, int len, int device) {
  if (device != 0) return CUDA_ERROR_INVALID_DEVICE;
  snprintf(name, static_cast<size_t>(len), "%s", "PoAI CPU emulator (test)");
  return CUDA_SUCCESS;
}

CUresult cuDeviceGetAttribute(int* value, int attribute, int device) {
  if (device != 0) return CUDA_ERROR_INVALID_DEVICE;
  switch (attribute) {
    case 75: *value = 9; return CUDA_SUCCESS;  // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR
    case 76: *value = 0; return CUDA_SUCCESS;  // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR
    default: return CUDA_ERROR_INVALID_VALUE;
  }
}

CUresult cuDevicePrimaryCtxRetain(void** ctx, int device) {
  if (!initialized) return CUDA_ERROR_NOT_INITIALIZED;
  if (device != 0) return CUDA_ERROR_INVALID_DEVICE;
  static int token;
  *ctx = &token;
  return CUDA_SUCCESS;
}

CUresult cuCtxSetCurrent(void* ctx) { return ctx ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE; }

CUresult cuCtxSynchronize() { return CUDA_SUCCESS; }

CUresult cuModuleLoadData(void** module, const void* image) {
  if (!initialized) return CUDA_ERROR_NOT_INITIALIZED;
  const unsigned char* bytes = static_cast<const unsigned char*>(image);
  const bool fatbin = bytes[0] == 0x50 && bytes[1] == 0xed && bytes[2] == 0x55 && bytes[3] == 0xba;
  const bool ptx = strstr(static_cast<const char*>(image), ".visible .entry") != nullptr &&
                   strncmp(static_cast<const char*>(image), "//", 2) == 0;
  if (fatbin) {
    const char* reject = getenv("POAI_CUDA_EMU_REJECT_FATBIN");
    if (reject && strcmp(reject, "1") == 0) return CUDA_ERROR_NO_BINARY_FOR_GPU;
  } else if (!ptx) {
    return CUDA_ERROR_INVALID_IMAGE;
  }
  *module = &module_token;
  return CUDA_SUCCESS;
}

CUresult cuModuleUnload(void* module) { return module == &module_token ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE; }

CUresult cuModuleGetFunction(void** function, void* module, const char* name) {
  if (module != &module_token) return CUDA_ERROR_INVALID_VALUE;
  for (const Kernel& k : kernels()) {
    if (strcmp(k.name, name) == 0) {
      *function = const_cast<Kernel*>(&k);
      return CUDA_SUCCESS;
    }
  }
  return CUDA_ERROR_NOT_FOUND;
}

CUresult cuMemAlloc_v2(CUdeviceptr* ptr, size_t bytes) {
  if (!initialized) return CUDA_ERROR_NOT_INITIALIZED;
  if (bytes == 0) return CUDA_ERROR_INVALID_VALUE;
  if (allocated + bytes > memory_limit()) return CUDA_ERROR_OUT_OF_MEMORY;
  void* p = aligned_alloc(256, (bytes + 255) & ~static_cast<size_t>(255));
  if (!p) return CUDA_ERROR_OUT_OF_MEMORY;
  // Device memory is not zeroed by cuMemAlloc: fill it with garbage so a missing memset shows.
  memset(p, 0xA5, bytes);
  *ptr = reinterpret_cast<CUdeviceptr>(p);
  allocations[*ptr] = bytes;
  allocated += bytes;
  return CUDA_SUCCESS;
}

CUresult cuMemFree_v2(CUdeviceptr ptr) {
  auto it = allocations.find(ptr);
  if (it == allocations.end()) return CUDA_ERROR_INVALID_VALUE;
  allocated -= it->second;
  allocations.erase(it);
  free(reinterpret_cast<void*>(ptr));
  return CUDA_SUCCESS;
}

CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void* src, size_t bytes) {
  if (!inside(dst, bytes)) return CUDA_ERROR_INVALID_VALUE;
  memcpy(reinterpret_cast<void*>(dst), src, bytes);
  return CUDA_SUCCESS;
}

CUresult cuMemcpyDtoH_v2(void* dst, CUdeviceptr src, size_t bytes) {
  if (!inside(src, bytes)) return CUDA_ERROR_INVALID_VALUE;
  memcpy(dst, reinterpret_cast<const void*>(src), bytes);
  return CUDA_SUCCESS;
}

CUresult cuMemsetD8_v2(CUdeviceptr dst, unsigned char value, size_t count) {
  if (!inside(dst, count)) return CUDA_ERROR_INVALID_VALUE;
  memset(reinterpret_cast<void*>(dst), value, count);
  return CUDA_SUCCESS;
}

CUresult cuLaunchKernel(void* function, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                        unsigned bz, unsigned shared_bytes, void* stream, void** params, void** extra) {
  const Kernel* k = static_cast<const Kernel*>(function);
  if (!k || stream != nullptr || extra != nullptr || shared_bytes != 0) return CUDA_ERROR_INVALID_VALUE;
  if (gx == 0 || gy == 0 || gz == 0 || gy > 65535 || gz > 65535) return CUDA_ERROR_INVALID_VALUE;
  if (bx == 0 || by == 0 || bz == 0 || bx * by * bz > MAX_THREADS) return CUDA_ERROR_INVALID_VALUE;
  if (!params) return CUDA_ERROR_INVALID_VALUE;
  if (!k->launch(params, dim3{gx, gy, gz}, dim3{bx, by, bz})) {
    fprintf(stderr, "cuda emulator: %s: %s\n", k->name, launch_error.c_str());
    return CUDA_ERROR_LAUNCH_FAILED;
  }
  return CUDA_SUCCESS;
}

CUresult cuGetErrorName(CUresult r, const char** name) {
  *name = error_name(r);
  return *name ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

CUresult cuGetErrorString(CUresult r, const char** text) {
  *text = error_string(r);
  return *text ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

/* For the tests: the kernels this emulator knows, with their parameter counts. */
int poaiEmuKernelCount() { return static_cast<int>(kernels().size()); }
const char* poaiEmuKernelName(int i) { return kernels()[static_cast<size_t>(i)].name; }
int poaiEmuKernelArity(int i) { return kernels()[static_cast<size_t>(i)].arity; }
/* Bytes the backend holds right now (to check that sessions free what they allocate). */
unsigned long long poaiEmuAllocatedBytes() { return allocated; }

}  // extern "C"
