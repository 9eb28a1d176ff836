//===- CudaRuntimeWrappers.cpp - the mgpu* functions over the driver API --===//
//
// The host code that `gpu-to-llvm` emits calls `mgpu*` functions to load
// modules, launch kernels, allocate and copy. Debian ships no MLIR CUDA
// runtime library, and a compiled kernel must load on machines without a GPU
// (to say so clearly) and on GPU hosts that have only the driver, so flt
// provides them here, over the CUDA driver API loaded with
// dlopen("libcuda.so.1"). This file is linked (as a static archive) into
// every library `flt-compile --target=cuda` makes; libFLTRuntime finds the
// functions there with dlsym, so nothing links libcuda or the toolkit.
//
// Errors never abort: the first one is kept (fltCudaError), later calls
// become no-ops (except those that release memory, streams and events), and
// the runtime reports the message after the call. Module loading runs from
// a global constructor when the library is loaded, so the driver and
// context are set up lazily, and a missing driver only becomes an error
// when something is asked to run.
//
//===----------------------------------------------------------------------===//

#include "flt/Runtime/CudaABI.h"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <dlfcn.h>
#include <mutex>
#include <new>
#include <string>

namespace {

// The few driver API types used here (ABI-stable since CUDA 4; declared
// here so that neither the build nor the GPU host needs the toolkit). The
// handles are void *, as the generated host code (LLVM `ptr`) and
// libFLTRuntime (flt/Runtime/CudaABI.h) pass them: a call through a function
// pointer of another type is undefined behaviour (UBSan's -fsanitize=function
// reports it).
using CUresult = int;
using CUdevice = int;
using CUdeviceptr = uintptr_t;
using CUcontext = void *;
using CUmodule = void *;
using CUfunction = void *;
using CUstream = void *;
using CUevent = void *;
constexpr CUresult kSuccess = 0;
constexpr CUresult kNoBinaryForGPU = 209;   // CUDA_ERROR_NO_BINARY_FOR_GPU
constexpr int kComputeCapabilityMajor = 75; // CU_DEVICE_ATTRIBUTE_...
constexpr int kComputeCapabilityMinor = 76;
constexpr int kFuncMaxDynamicSharedMemory = 8; // CU_FUNC_ATTRIBUTE_...
constexpr int kJitOptimizationLevel = 7;       // CU_JIT_OPTIMIZATION_LEVEL

/// The driver entry points, resolved once.
struct Driver {
  CUresult (*cuInit)(unsigned);
  CUresult (*cuGetErrorString)(CUresult, const char **);
  CUresult (*cuDeviceGetCount)(int *);
  CUresult (*cuDeviceGet)(CUdevice *, int);
  CUresult (*cuDeviceGetAttribute)(int *, int, CUdevice);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*cuCtxSetCurrent)(CUcontext);
  CUresult (*cuModuleLoadData)(CUmodule *, const void *);
  CUresult (*cuModuleLoadDataEx)(CUmodule *, const void *, unsigned, int *,
                                 void **);
  CUresult (*cuModuleUnload)(CUmodule);
  CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*cuFuncSetAttribute)(CUfunction, int, int);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned,
                             unsigned, unsigned, unsigned, CUstream, void **,
                             void **);
  CUresult (*cuStreamCreate)(CUstream *, unsigned);
  CUresult (*cuStreamDestroy)(CUstream);
  CUresult (*cuStreamSynchronize)(CUstream);
  CUresult (*cuStreamWaitEvent)(CUstream, CUevent, unsigned);
  CUresult (*cuEventCreate)(CUevent *, unsigned);
  CUresult (*cuEventDestroy)(CUevent);
  CUresult (*cuEventRecord)(CUevent, CUstream);
  CUresult (*cuEventSynchronize)(CUevent);
  CUresult (*cuEventElapsedTime)(float *, CUevent, CUevent);
  CUresult (*cuMemAllocAsync)(CUdeviceptr *, size_t, CUstream);
  CUresult (*cuMemFreeAsync)(CUdeviceptr, CUstream);
  CUresult (*cuMemcpyAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
  CUresult (*cuMemsetD32Async)(CUdeviceptr, unsigned, size_t, CUstream);
  CUresult (*cuMemsetD16Async)(CUdeviceptr, unsigned short, size_t, CUstream);
  CUresult (*cuMemHostRegister)(void *, size_t, unsigned);
  CUresult (*cuMemHostUnregister)(void *);
};

struct State {
  std::mutex mutex;
  bool initialized = false;
  bool ready = false;
  Driver driver{};
  CUcontext context = nullptr;
  CUdevice device = 0;
  int deviceIndex = 0;
  std::string error;
};

/// In static storage and never destroyed, so that it outlives every call,
/// including the module unloading of the library's own destructor. (On the
/// heap, it leaked each time a library was dlclose'd.)
State &state() {
  alignas(State) static unsigned char storage[sizeof(State)];
  static State *instance = new (storage) State;
  return *instance;
}

/// When the library is unloaded, after the module (whose destructor has
/// priority 123 in llvm.global_dtors): the one heap block the state may
/// hold, its error message, is freed; the state stays usable.
__attribute__((destructor(101))) void releaseErrorMessage() {
  std::string().swap(state().error);
}

void recordError(const std::string &message) {
  State &s = state();
  if (s.error.empty())
    s.error = message;
}

bool check(CUresult result, const char *what) {
  if (result == kSuccess)
    return true;
  State &s = state();
  const char *text = nullptr;
  if (!s.driver.cuGetErrorString ||
      s.driver.cuGetErrorString(result, &text) != kSuccess || !text)
    text = "unknown error";
  recordError(std::string(what) + " failed: " + text + " (CUDA error " +
              std::to_string(result) + ")");
  return false;
}

template <typename F>
bool resolve(void *library, F &function, const char *name,
             const char *fallback) {
  void *symbol = dlsym(library, name);
  if (!symbol && fallback)
    symbol = dlsym(library, fallback);
  function = reinterpret_cast<F>(symbol);
  if (!symbol)
    recordError(std::string("the CUDA driver lacks ") + name +
                " (driver too old?)");
  return symbol != nullptr;
}

/// Loads the driver, creates (retains) the primary context of the selected
/// device and makes it current on this thread. False once anything failed.
bool ensureContext() {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (!s.initialized) {
    s.initialized = true;
    void *library = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!library) {
      recordError("no CUDA driver: cannot load libcuda.so.1 (is the NVIDIA "
                  "driver installed on this machine?)");
      return false;
    }
    Driver &d = s.driver;
    bool ok =
        resolve(library, d.cuInit, "cuInit", nullptr) &&
        resolve(library, d.cuGetErrorString, "cuGetErrorString", nullptr) &&
        resolve(library, d.cuDeviceGetCount, "cuDeviceGetCount", nullptr) &&
        resolve(library, d.cuDeviceGet, "cuDeviceGet", nullptr) &&
        resolve(library, d.cuDeviceGetAttribute, "cuDeviceGetAttribute",
                nullptr) &&
        resolve(library, d.cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain",
                nullptr) &&
        resolve(library, d.cuCtxSetCurrent, "cuCtxSetCurrent", nullptr) &&
        resolve(library, d.cuModuleLoadData, "cuModuleLoadData", nullptr) &&
        resolve(library, d.cuModuleLoadDataEx, "cuModuleLoadDataEx", nullptr) &&
        resolve(library, d.cuModuleUnload, "cuModuleUnload", nullptr) &&
        resolve(library, d.cuModuleGetFunction, "cuModuleGetFunction",
                nullptr) &&
        resolve(library, d.cuFuncSetAttribute, "cuFuncSetAttribute", nullptr) &&
        resolve(library, d.cuLaunchKernel, "cuLaunchKernel", nullptr) &&
        resolve(library, d.cuStreamCreate, "cuStreamCreate", nullptr) &&
        resolve(library, d.cuStreamDestroy, "cuStreamDestroy_v2",
                "cuStreamDestroy") &&
        resolve(library, d.cuStreamSynchronize, "cuStreamSynchronize",
                nullptr) &&
        resolve(library, d.cuStreamWaitEvent, "cuStreamWaitEvent", nullptr) &&
        resolve(library, d.cuEventCreate, "cuEventCreate", nullptr) &&
        resolve(library, d.cuEventDestroy, "cuEventDestroy_v2",
                "cuEventDestroy") &&
        resolve(library, d.cuEventRecord, "cuEventRecord", nullptr) &&
        resolve(library, d.cuEventSynchronize, "cuEventSynchronize", nullptr) &&
        resolve(library, d.cuEventElapsedTime, "cuEventElapsedTime_v2",
                "cuEventElapsedTime") &&
        resolve(library, d.cuMemAllocAsync, "cuMemAllocAsync", nullptr) &&
        resolve(library, d.cuMemFreeAsync, "cuMemFreeAsync", nullptr) &&
        resolve(library, d.cuMemcpyAsync, "cuMemcpyAsync", nullptr) &&
        resolve(library, d.cuMemsetD32Async, "cuMemsetD32Async", nullptr) &&
        resolve(library, d.cuMemsetD16Async, "cuMemsetD16Async", nullptr) &&
        resolve(library, d.cuMemHostRegister, "cuMemHostRegister_v2",
                "cuMemHostRegister") &&
        resolve(library, d.cuMemHostUnregister, "cuMemHostUnregister", nullptr);
    if (!ok || !check(d.cuInit(0), "cuInit"))
      return false;
    int count = 0;
    if (!check(d.cuDeviceGetCount(&count), "cuDeviceGetCount"))
      return false;
    if (s.deviceIndex >= count) {
      recordError(count == 0 ? std::string("no CUDA device found")
                             : "CUDA device " + std::to_string(s.deviceIndex) +
                                   " does not exist (" + std::to_string(count) +
                                   " found)");
      return false;
    }
    if (!check(d.cuDeviceGet(&s.device, s.deviceIndex), "cuDeviceGet") ||
        !check(d.cuDevicePrimaryCtxRetain(&s.context, s.device),
               "cuDevicePrimaryCtxRetain"))
      return false;
    s.ready = true;
  }
  if (!s.ready || !s.error.empty())
    return false;
  return check(s.driver.cuCtxSetCurrent(s.context), "cuCtxSetCurrent");
}

/// For calls that release something (memory, streams, events, host
/// registrations): the context whenever the driver is set up, even after an
/// error, so that a failed call leaks nothing on the device.
bool ensureContextForRelease() {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  return s.ready &&
         check(s.driver.cuCtxSetCurrent(s.context), "cuCtxSetCurrent");
}

const Driver &driver() { return state().driver; }

/// MLIR's strided memref descriptor with its rank erased.
struct MemRefDescriptor {
  char *allocated;
  char *aligned;
  int64_t offset;
  int64_t sizes[1];
};

} // namespace

extern "C" {

//===----------------------------------------------------------------------===//
// What libFLTRuntime asks
//===----------------------------------------------------------------------===//

/// Sets up the driver and context; 0 on success. The message of the first
/// error (this call's or an earlier one's) is then in fltCudaError().
int fltCudaInitialize() { return ensureContext() ? 0 : 1; }

/// The first error since the last fltCudaClearError, or "" if none.
const char *fltCudaError() { return state().error.c_str(); }

void fltCudaClearError() { state().error.clear(); }

/// Milliseconds between two recorded events (after both completed).
float fltCudaEventElapsedMs(CUevent start, CUevent stop) {
  float ms = 0.0f;
  if (ensureContext())
    check(driver().cuEventElapsedTime(&ms, start, stop), "cuEventElapsedTime");
  return ms;
}

/// Host-to-device, device-to-host or device-to-device copy, ordered on
/// `stream` (null: the default stream), synchronous when `wait` is set.
void fltCudaCopy(void *dst, const void *src, size_t bytes, CUstream stream,
                 int wait) {
  if (!ensureContext() || bytes == 0)
    return;
  if (check(driver().cuMemcpyAsync(reinterpret_cast<CUdeviceptr>(dst),
                                   reinterpret_cast<CUdeviceptr>(src), bytes,
                                   stream),
            "cuMemcpyAsync") &&
      wait)
    check(driver().cuStreamSynchronize(stream), "cuStreamSynchronize");
}

//===----------------------------------------------------------------------===//
// What gpu-to-llvm's host code calls (the upstream mgpu* signatures)
//===----------------------------------------------------------------------===//

void mgpuSetDefaultDevice(int32_t device) { state().deviceIndex = device; }

CUmodule mgpuModuleLoad(void *data, size_t /*size*/) {
  CUmodule module = nullptr;
  if (!ensureContext())
    return nullptr;
  CUresult result = driver().cuModuleLoadData(&module, data);
  if (result == kNoBinaryForGPU) {
    // The one load error a user can fix: say which chip to compile for.
    State &s = state();
    int major = 0, minor = 0;
    driver().cuDeviceGetAttribute(&major, kComputeCapabilityMajor, s.device);
    driver().cuDeviceGetAttribute(&minor, kComputeCapabilityMinor, s.device);
    std::string chip = "sm_" + std::to_string(major) + std::to_string(minor);
    recordError(
        "the library's kernels are not for this GPU (device " +
        std::to_string(s.deviceIndex) + ", " + chip +
        "): compile it with flt-compile --target=cuda --cuda-chip=" + chip);
  } else {
    check(result, "cuModuleLoadData");
  }
  return module;
}

CUmodule mgpuModuleLoadJIT(void *data, int optLevel) {
  CUmodule module = nullptr;
  if (!ensureContext())
    return nullptr;
  int options[] = {kJitOptimizationLevel};
  void *values[] = {reinterpret_cast<void *>(static_cast<intptr_t>(optLevel))};
  check(driver().cuModuleLoadDataEx(&module, data, 1, options, values),
        "cuModuleLoadDataEx (PTX JIT)");
  return module;
}

void mgpuModuleUnload(CUmodule module) {
  // Runs from a global destructor: never touch a driver that is not set up.
  if (module && state().ready)
    driver().cuModuleUnload(module);
}

CUfunction mgpuModuleGetFunction(CUmodule module, const char *name) {
  CUfunction function = nullptr;
  if (!module) {
    recordError(std::string("kernel ") + name +
                " is not loaded (the GPU module failed to load)");
    return nullptr;
  }
  if (ensureContext())
    check(driver().cuModuleGetFunction(&function, module, name),
          "cuModuleGetFunction");
  return function;
}

void mgpuLaunchKernel(CUfunction function, intptr_t gridX, intptr_t gridY,
                      intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                      intptr_t blockZ, int32_t smem, CUstream stream,
                      void **params, void **extra, size_t /*paramsCount*/) {
  if (!function || !ensureContext())
    return;
  // An empty grid (zero-sized tensors) launches nothing.
  if (gridX <= 0 || gridY <= 0 || gridZ <= 0)
    return;
  // Dynamic shared memory above 48 KiB must be opted into per kernel.
  if (smem > 48 * 1024 &&
      !check(driver().cuFuncSetAttribute(function, kFuncMaxDynamicSharedMemory,
                                         smem),
             "cuFuncSetAttribute(max dynamic shared memory)"))
    return;
  check(driver().cuLaunchKernel(function, gridX, gridY, gridZ, blockX, blockY,
                                blockZ, smem, stream, params, extra),
        "cuLaunchKernel");
}

/// A blocking stream: it synchronizes with the default stream, on which the
/// runtime copies and records its timing events.
CUstream mgpuStreamCreate() {
  CUstream stream = nullptr;
  if (ensureContext())
    check(driver().cuStreamCreate(&stream, /*CU_STREAM_DEFAULT=*/0),
          "cuStreamCreate");
  return stream;
}

void mgpuStreamDestroy(CUstream stream) {
  if (stream && ensureContextForRelease())
    check(driver().cuStreamDestroy(stream), "cuStreamDestroy");
}

void mgpuStreamSynchronize(CUstream stream) {
  if (ensureContext())
    check(driver().cuStreamSynchronize(stream), "cuStreamSynchronize");
}

void mgpuStreamWaitEvent(CUstream stream, CUevent event) {
  if (event && ensureContext())
    check(driver().cuStreamWaitEvent(stream, event, 0), "cuStreamWaitEvent");
}

CUevent mgpuEventCreate() {
  CUevent event = nullptr;
  if (ensureContext())
    check(driver().cuEventCreate(&event, /*CU_EVENT_DEFAULT=*/0),
          "cuEventCreate");
  return event;
}

void mgpuEventDestroy(CUevent event) {
  if (event && ensureContextForRelease())
    check(driver().cuEventDestroy(event), "cuEventDestroy");
}

void mgpuEventSynchronize(CUevent event) {
  if (event && ensureContext())
    check(driver().cuEventSynchronize(event), "cuEventSynchronize");
}

void mgpuEventRecord(CUevent event, CUstream stream) {
  if (event && ensureContext())
    check(driver().cuEventRecord(event, stream), "cuEventRecord");
}

/// Stream-ordered allocation: kernels' scratch and results are allocated
/// and freed without synchronizing the device.
void *mgpuMemAlloc(uint64_t bytes, CUstream stream, bool isHostShared) {
  if (isHostShared) {
    recordError("host-shared GPU allocations are not supported");
    return nullptr;
  }
  CUdeviceptr pointer = 0;
  if (bytes != 0 && ensureContext())
    check(driver().cuMemAllocAsync(&pointer, bytes, stream), "cuMemAllocAsync");
  return reinterpret_cast<void *>(pointer);
}

void mgpuMemFree(void *pointer, CUstream stream) {
  if (pointer && ensureContextForRelease())
    check(
        driver().cuMemFreeAsync(reinterpret_cast<CUdeviceptr>(pointer), stream),
        "cuMemFreeAsync");
}

void mgpuMemcpy(void *dst, void *src, size_t bytes, CUstream stream) {
  fltCudaCopy(dst, src, bytes, stream, /*wait=*/0);
}

void mgpuMemset32(void *dst, unsigned int value, size_t count,
                  CUstream stream) {
  if (count && ensureContext())
    check(driver().cuMemsetD32Async(reinterpret_cast<CUdeviceptr>(dst), value,
                                    count, stream),
          "cuMemsetD32Async");
}

void mgpuMemset16(void *dst, unsigned short value, size_t count,
                  CUstream stream) {
  if (count && ensureContext())
    check(driver().cuMemsetD16Async(reinterpret_cast<CUdeviceptr>(dst), value,
                                    count, stream),
          "cuMemsetD16Async");
}

/// Registers the dense extent of a host memref for device access.
void mgpuMemHostRegisterMemRef(int64_t rank, MemRefDescriptor *descriptor,
                               int64_t elementBytes) {
  if (!ensureContext())
    return;
  int64_t count = 1;
  for (int64_t i = 0; i < rank; ++i)
    count *= descriptor->sizes[i];
  char *data = descriptor->aligned + descriptor->offset * elementBytes;
  if (count > 0)
    check(driver().cuMemHostRegister(data, count * elementBytes, 0),
          "cuMemHostRegister");
}

void mgpuMemHostUnregisterMemRef(int64_t /*rank*/, MemRefDescriptor *descriptor,
                                 int64_t elementBytes) {
  if (!ensureContextForRelease())
    return;
  check(driver().cuMemHostUnregister(descriptor->aligned +
                                     descriptor->offset * elementBytes),
        "cuMemHostUnregister");
}

} // extern "C"
