//===- RecordingCudaDriver.cpp - a CUDA driver double for GPU-less tests --===//
//
// A libcuda.so.1 for machines without a GPU. It implements, on the host, the
// driver API entry points that flt's CUDA wrappers (lib/Runtime/CUDA) call,
// so that everything a --target=cuda library does on the host side runs in
// the lit tests on build machines and CI: loading its cubin, looking up and
// launching kernels, allocating, copying, timing, reporting errors. Kernels
// do not run; device memory holds 0xff bytes (NaN) unless copied into.
//
// Whatever the real driver refuses it refuses with the same error code, and
// says why in the trace and on stderr: a cubin for another architecture, a
// kernel the cubin lacks, a block above the kernel's thread limit or
// register file, dynamic shared memory above 48 KiB without the opt-in or
// above the device's maximum, a grid out of range, copies that leave a live
// allocation, frees of unknown pointers, calls before cuInit or without a
// current context. It also reports what the driver would let pass but is a
// bug: kernel parameters that point into freed device memory, and device
// memory, streams, events or host registrations still live at exit.
//
// Kernel limits come from the cubin itself (ELF symbols, .nv.info's
// register counts, thread limits and parameter layout), so a launch is
// checked against exactly what ptxas produced.
//
// Environment:
//   FLT_RECORDING_DRIVER_TRACE=FILE    appends a line per call of interest
//   FLT_RECORDING_DRIVER_FAIL=NAME[@N] the N-th call (default: the first) of
//                                      entry point NAME fails
//   FLT_RECORDING_DRIVER_DEVICES=N     devices reported (default 1)
//   FLT_RECORDING_DRIVER_ARCH=NN       the device is sm_NN (default 90)
//
// Example (see test/Integration/gpu/recording_driver.py):
//   LD_LIBRARY_PATH=build/test/recording-cuda-driver \
//   FLT_RECORDING_DRIVER_TRACE=trace.txt flt-run la.so --device=cuda ...
//   trace.txt:  cuModuleLoadData sm_90 cubin: la_kernel la_kernel_0 ...
//               cuLaunchKernel la_kernel grid 8x2x8 block 256x1x1 ...
//
//===----------------------------------------------------------------------===//

#include <algorithm>
#include <chrono>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <set>
#include <string>
#include <sys/mman.h>
#include <vector>

#include "CubinReader.h"

// Named, not anonymous: the entry points' signatures use these types.
namespace flt_recording_driver {

using CUresult = int;
using CUdeviceptr = uintptr_t;

// The driver's error codes and cuGetErrorString's texts for them.
enum : CUresult {
  kSuccess = 0,
  kInvalidValue = 1,
  kOutOfMemory = 2,
  kNotInitialized = 3,
  kNoDevice = 100,
  kInvalidDevice = 101,
  kInvalidImage = 200,
  kInvalidContext = 201,
  kNoBinaryForGPU = 209,
  kInvalidHandle = 400,
  kNotFound = 500,
  kLaunchOutOfResources = 701,
  kLaunchFailed = 719,
};

const char *errorText(CUresult code) {
  switch (code) {
  case kSuccess:
    return "no error";
  case kInvalidValue:
    return "invalid argument";
  case kOutOfMemory:
    return "out of memory";
  case kNotInitialized:
    return "initialization error";
  case kNoDevice:
    return "no CUDA-capable device is detected";
  case kInvalidDevice:
    return "invalid device ordinal";
  case kInvalidImage:
    return "device kernel image is invalid";
  case kInvalidContext:
    return "invalid device context";
  case kNoBinaryForGPU:
    return "no kernel image is available for execution on the device";
  case kInvalidHandle:
    return "invalid resource handle";
  case kNotFound:
    return "named symbol not found";
  case kLaunchOutOfResources:
    return "too many resources requested for launch";
  case kLaunchFailed:
    return "unspecified launch failure";
  default:
    return nullptr;
  }
}

// Limits of the devices this double stands for (compute capability 8.0 and
// up; the shared memory a block may opt into depends on the chip).
constexpr int kMaxBlockZ = 64;
constexpr int64_t kMaxGridX = (int64_t(1) << 31) - 1;
constexpr int kMaxGridYZ = 65535;
constexpr int kRegistersPerSM = 65536;
constexpr int kRegisterAllocationUnit = 256; // registers, per warp
constexpr int kDefaultSharedMemory = 48 * 1024;

/// The CUDA C Programming Guide's maximum shared memory per block. Its own
/// table, not GPUTileConfig.h's: a double that shared the code under test
/// could not catch that code's mistakes.
int maxSharedMemoryOptIn(int arch) {
  switch (arch) {
  case 80:
  case 87:
    return 163 * 1024;
  case 86:
  case 89:
  case 120:
    return 99 * 1024;
  default:
    return 227 * 1024; // 90, 100
  }
}
constexpr int kFuncMaxDynamicSharedMemory = 8; // CU_FUNC_ATTRIBUTE_...
constexpr size_t kDeviceMemoryBytes = size_t(64) << 30;
constexpr size_t kAllocationAlignment = 256;

// The device: memory, streams, events, modules
//===----------------------------------------------------------------------===//

struct Event {
  bool recorded = false;
  std::chrono::steady_clock::time_point time;
};

struct Stream {};

class Driver {
public:
  Driver() {
    if (const char *path = getenv("FLT_RECORDING_DRIVER_TRACE"))
      trace_ = fopen(path, "a");
    if (const char *fail = getenv("FLT_RECORDING_DRIVER_FAIL")) {
      failName_ = fail;
      size_t at = failName_.find('@');
      if (at != std::string::npos) {
        failCall_ = atoi(failName_.c_str() + at + 1);
        failName_.resize(at);
      }
    }
    if (const char *count = getenv("FLT_RECORDING_DRIVER_DEVICES"))
      devices = atoi(count);
    if (const char *chip = getenv("FLT_RECORDING_DRIVER_ARCH"))
      arch = atoi(chip);
    void *arena = mmap(nullptr, kDeviceMemoryBytes, PROT_NONE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    arena_ = arena == MAP_FAILED ? nullptr : static_cast<uint8_t *>(arena);
  }

  /// At exit: what the program left behind on the device.
  void report() {
    std::lock_guard<std::mutex> lock(mutex);
    size_t bytes = 0;
    for (const auto &[base, size] : allocations_)
      bytes += size;
    log("exit: %zu allocations live (%zu bytes), %zu streams, %zu events, "
        "%zu host registrations, %d violations",
        allocations_.size(), bytes, streams.size(), events.size(),
        hostRegistrations.size(), violations_);
    if (!allocations_.empty() || !streams.empty() || !events.empty() ||
        !hostRegistrations.empty())
      violation("device resources still live at exit (see the line above)");
  }

  std::mutex mutex;

  /// Appends one line to the trace.
  void log(const char *format, ...) __attribute__((format(printf, 2, 3))) {
    if (!trace_)
      return;
    va_list args;
    va_start(args, format);
    vfprintf(trace_, format, args);
    va_end(args);
    fputc('\n', trace_);
    fflush(trace_);
  }

  /// Something a real driver would refuse, or a bug it would let pass: in
  /// the trace and on stderr.
  void violation(const std::string &what) {
    ++violations_;
    log("violation: %s", what.c_str());
    fprintf(stderr, "recording CUDA driver: violation: %s\n", what.c_str());
  }

  CUresult refuse(CUresult code, const std::string &why) {
    violation(why);
    return code;
  }

  /// Whether this call of `name` is the one FLT_RECORDING_DRIVER_FAIL names.
  bool injectedFailure(const char *name) {
    if (failName_ != name)
      return false;
    bool fail = ++failCount_ == failCall_;
    if (fail)
      log("%s: injected failure", name);
    return fail;
  }

  /// cuInit done and a context current: what most calls need.
  CUresult ready() const {
    if (!initialized)
      return kNotInitialized;
    return contextCurrent ? kSuccess : kInvalidContext;
  }

  // Memory.
  CUresult allocate(CUdeviceptr *pointer, size_t bytes) {
    size_t size =
        (bytes + kAllocationAlignment - 1) & ~(kAllocationAlignment - 1);
    size_t page = 4096, mapped = (size + page - 1) & ~(page - 1);
    if (!arena_ || bytes == 0 || next_ + mapped > kDeviceMemoryBytes)
      return bytes == 0 ? kInvalidValue : kOutOfMemory;
    uint8_t *base = arena_ + next_;
    next_ += mapped; // addresses are never reused: stale pointers stay stale
    if (mprotect(base, mapped, PROT_READ | PROT_WRITE) != 0)
      return kOutOfMemory;
    std::memset(base, 0xff, bytes);
    allocations_[reinterpret_cast<CUdeviceptr>(base)] = bytes;
    *pointer = reinterpret_cast<CUdeviceptr>(base);
    log("cuMemAllocAsync %zu bytes", bytes);
    return kSuccess;
  }

  CUresult free(CUdeviceptr pointer) {
    auto allocation = allocations_.find(pointer);
    if (allocation == allocations_.end())
      return refuse(kInvalidValue,
                    "cuMemFreeAsync of a pointer that is not a live "
                    "allocation (double free?)");
    log("cuMemFreeAsync %zu bytes", allocation->second);
    size_t page = 4096, mapped = (allocation->second + page - 1) & ~(page - 1);
    mprotect(reinterpret_cast<void *>(pointer), mapped, PROT_NONE);
    madvise(reinterpret_cast<void *>(pointer), mapped, MADV_DONTNEED);
    allocations_.erase(allocation);
    return kSuccess;
  }

  bool onDevice(CUdeviceptr address) const {
    auto base = reinterpret_cast<CUdeviceptr>(arena_);
    return arena_ && address >= base && address < base + kDeviceMemoryBytes;
  }

  /// Whether [address, address + bytes) lies in one live allocation.
  bool inAllocation(CUdeviceptr address, size_t bytes) const {
    auto after = allocations_.upper_bound(address);
    if (after == allocations_.begin())
      return false;
    auto allocation = std::prev(after);
    return address + bytes <= allocation->first + allocation->second;
  }

  /// A copy's or memset's device range: in one live allocation, or refused.
  CUresult checkRange(const char *call, CUdeviceptr address, size_t bytes) {
    if (!onDevice(address) || inAllocation(address, bytes))
      return kSuccess;
    return refuse(kInvalidValue, std::string(call) + " of " +
                                     std::to_string(bytes) +
                                     " bytes outside any live allocation");
  }

  /// cuMemsetD16Async / cuMemsetD32Async: `count` elements of type T.
  template <typename T>
  CUresult memset(const char *call, CUdeviceptr dst, T value, size_t count,
                  Stream *stream) {
    if (!knownStream(stream))
      return refuse(kInvalidHandle,
                    std::string(call) + " on a destroyed stream");
    if (!onDevice(dst))
      return refuse(kInvalidValue, std::string(call) + " of host memory");
    if (CUresult result = checkRange(call, dst, sizeof(T) * count))
      return result;
    auto *elements = reinterpret_cast<T *>(dst);
    std::fill(elements, elements + count, value);
    return kSuccess;
  }

  // Modules and kernels.
  std::set<Module *> modules;
  std::map<const Kernel *, Module *> kernelModules;

  CUresult loadModule(Module **result, const void *image) {
    auto module = std::make_unique<Module>();
    if (!parseCubin(static_cast<const uint8_t *>(image), *module))
      return refuse(kInvalidImage, "cuModuleLoadData: not a cubin");
    if (module->arch != arch) {
      log("cuModuleLoadData sm_%d cubin on an sm_%d device", module->arch,
          arch);
      return kNoBinaryForGPU;
    }
    std::string names;
    for (const auto &[name, kernel] : module->kernels)
      names += " " + name;
    log("cuModuleLoadData sm_%d cubin:%s", module->arch, names.c_str());
    *result = module.release();
    modules.insert(*result);
    return kSuccess;
  }

  CUresult launch(const Kernel &kernel, const unsigned grid[3],
                  const unsigned block[3], unsigned sharedMemory, void **params,
                  void **extra);

  // Streams and events.
  std::set<Stream *> streams;
  std::set<Event *> events;
  std::set<void *> hostRegistrations;

  bool knownStream(void *stream) const {
    return !stream || streams.count(static_cast<Stream *>(stream));
  }

  bool initialized = false, contextCurrent = false;
  int devices = 1, arch = 90;

private:
  FILE *trace_ = nullptr;
  std::string failName_;
  int failCall_ = 1, failCount_ = 0, violations_ = 0;
  uint8_t *arena_ = nullptr;
  size_t next_ = 0;
  std::map<CUdeviceptr, size_t> allocations_;
};

CUresult Driver::launch(const Kernel &kernel, const unsigned grid[3],
                        const unsigned block[3], unsigned sharedMemory,
                        void **params, void **extra) {
  std::string where = "cuLaunchKernel " + kernel.name + ": ";
  log("cuLaunchKernel %s grid %ux%ux%u block %ux%ux%u shared %u registers %d "
      "stack %d params %zu",
      kernel.name.c_str(), grid[0], grid[1], grid[2], block[0], block[1],
      block[2], sharedMemory, kernel.registers, kernel.stackBytes,
      kernel.params.size());
  if (grid[0] == 0 || grid[1] == 0 || grid[2] == 0 || grid[0] > kMaxGridX ||
      grid[1] > kMaxGridYZ || grid[2] > kMaxGridYZ)
    return refuse(kInvalidValue, where + "grid out of range");
  int64_t threads = int64_t(block[0]) * block[1] * block[2];
  if (threads == 0 || block[0] > kMaxThreadsPerBlock ||
      block[1] > kMaxThreadsPerBlock || block[2] > kMaxBlockZ ||
      threads > kMaxThreadsPerBlock)
    return refuse(kInvalidValue, where + "block out of range");
  if (threads > kernel.maxThreads)
    return refuse(kInvalidValue, where + std::to_string(threads) +
                                     " threads, the kernel allows " +
                                     std::to_string(kernel.maxThreads));
  int64_t warps = (threads + 31) / 32;
  int64_t perWarp =
      (int64_t(kernel.registers) * 32 + kRegisterAllocationUnit - 1) /
      kRegisterAllocationUnit * kRegisterAllocationUnit;
  if (warps * perWarp > kRegistersPerSM)
    return refuse(kLaunchOutOfResources,
                  where + std::to_string(kernel.registers) +
                      " registers per thread do not fit " +
                      std::to_string(threads) + " threads");
  int maxDynamic = kernel.maxDynamicSharedMemory >= 0
                       ? kernel.maxDynamicSharedMemory
                       : kDefaultSharedMemory - kernel.staticSharedMemory;
  if (int64_t(sharedMemory) > maxDynamic)
    return refuse(kInvalidValue,
                  where + std::to_string(sharedMemory) +
                      " bytes of dynamic shared memory, the kernel allows " +
                      std::to_string(maxDynamic) +
                      " (cuFuncSetAttribute raises the limit)");
  if (extra)
    return refuse(kInvalidValue, where + "'extra' parameters are not used "
                                         "by flt and not supported here");
  // Every parameter is read, as the driver does; a pointer into device
  // memory must point into a live allocation (or just past its end).
  for (size_t i = 0; i < kernel.params.size(); ++i) {
    const KernelParam &param = kernel.params[i];
    if (param.size != 8)
      continue;
    CUdeviceptr value = readAt<uint64_t>(static_cast<uint8_t *>(params[i]), 0);
    if (onDevice(value) && !inAllocation(value, 0))
      return refuse(kLaunchFailed,
                    where + "parameter " + std::to_string(i) +
                        " points into device memory that is not allocated "
                        "(freed?)");
  }
  return kSuccess;
}

/// In static storage and never destroyed: the libraries' destructors
/// unload their modules at exit, after the report below has been written.
Driver &driver() {
  alignas(Driver) static unsigned char storage[sizeof(Driver)];
  static Driver *instance = [] {
    auto *driver = new (storage) Driver;
    atexit([] { flt_recording_driver::driver().report(); });
    return driver;
  }();
  return *instance;
}

} // namespace flt_recording_driver

using namespace flt_recording_driver;

//===----------------------------------------------------------------------===//
// The entry points
//===----------------------------------------------------------------------===//

// Each one takes the lock, honours FLT_RECORDING_DRIVER_FAIL (with the code
// the driver gives for that failure), then does its work.
#define ENTRY(name, failure)                                                   \
  Driver &d = driver();                                                        \
  std::lock_guard<std::mutex> lock(d.mutex);                                   \
  if (d.injectedFailure(name))                                                 \
    return failure;

#define REQUIRE_CONTEXT()                                                      \
  if (CUresult state = d.ready())                                              \
    return state;

extern "C" {

CUresult cuInit(unsigned flags) {
  ENTRY("cuInit", kNoDevice);
  if (flags != 0)
    return kInvalidValue;
  d.initialized = true;
  d.log("cuInit");
  return d.devices > 0 ? kSuccess : kNoDevice;
}

CUresult cuGetErrorString(CUresult code, const char **text) {
  *text = errorText(code);
  return *text ? kSuccess : kInvalidValue;
}

CUresult cuDeviceGetCount(int *count) {
  ENTRY("cuDeviceGetCount", kNotInitialized);
  if (!d.initialized)
    return kNotInitialized;
  *count = d.devices;
  return kSuccess;
}

CUresult cuDeviceGet(int *device, int ordinal) {
  ENTRY("cuDeviceGet", kInvalidDevice);
  if (!d.initialized)
    return kNotInitialized;
  if (ordinal < 0 || ordinal >= d.devices)
    return kInvalidDevice;
  *device = ordinal;
  return kSuccess;
}

CUresult cuDeviceGetAttribute(int *value, int attribute, int device) {
  ENTRY("cuDeviceGetAttribute", kInvalidValue);
  if (!d.initialized)
    return kNotInitialized;
  if (device < 0 || device >= d.devices)
    return kInvalidDevice;
  constexpr int kComputeCapabilityMajor = 75, kComputeCapabilityMinor = 76;
  if (attribute == kComputeCapabilityMajor)
    *value = d.arch / 10;
  else if (attribute == kComputeCapabilityMinor)
    *value = d.arch % 10;
  else
    return d.refuse(kInvalidValue, "cuDeviceGetAttribute: attribute " +
                                       std::to_string(attribute) +
                                       " is not emulated");
  return kSuccess;
}

CUresult cuDevicePrimaryCtxRetain(void **context, int device) {
  ENTRY("cuDevicePrimaryCtxRetain", kOutOfMemory);
  if (!d.initialized)
    return kNotInitialized;
  if (device < 0 || device >= d.devices)
    return kInvalidDevice;
  static int primaryContext;
  *context = &primaryContext;
  d.log("cuDevicePrimaryCtxRetain device %d", device);
  return kSuccess;
}

CUresult cuCtxSetCurrent(void *context) {
  ENTRY("cuCtxSetCurrent", kInvalidContext);
  if (!d.initialized)
    return kNotInitialized;
  d.contextCurrent = context != nullptr;
  return kSuccess;
}

CUresult cuModuleLoadData(Module **module, const void *image) {
  ENTRY("cuModuleLoadData", kNoBinaryForGPU);
  REQUIRE_CONTEXT();
  return d.loadModule(module, image);
}

CUresult cuModuleLoadDataEx(Module **module, const void *image, unsigned, int *,
                            void **) {
  ENTRY("cuModuleLoadDataEx", kInvalidImage);
  REQUIRE_CONTEXT();
  return d.refuse(kInvalidImage, "cuModuleLoadDataEx: PTX JIT is not "
                                 "emulated (flt embeds cubins)");
}

CUresult cuModuleUnload(Module *module) {
  ENTRY("cuModuleUnload", kInvalidHandle);
  REQUIRE_CONTEXT();
  if (!d.modules.erase(module))
    return d.refuse(kInvalidHandle, "cuModuleUnload of an unknown module");
  for (auto &[name, kernel] : module->kernels)
    d.kernelModules.erase(&kernel);
  delete module;
  return kSuccess;
}

CUresult cuModuleGetFunction(Kernel **function, Module *module,
                             const char *name) {
  ENTRY("cuModuleGetFunction", kNotFound);
  REQUIRE_CONTEXT();
  if (!d.modules.count(module))
    return d.refuse(kInvalidHandle, "cuModuleGetFunction on an unknown module");
  auto kernel = module->kernels.find(name);
  if (kernel == module->kernels.end())
    return d.refuse(kNotFound, std::string("cuModuleGetFunction: no kernel ") +
                                   name + " in the cubin");
  *function = &kernel->second;
  d.kernelModules[&kernel->second] = module;
  return kSuccess;
}

CUresult cuFuncSetAttribute(Kernel *function, int attribute, int value) {
  ENTRY("cuFuncSetAttribute", kInvalidValue);
  REQUIRE_CONTEXT();
  if (!d.kernelModules.count(function))
    return d.refuse(kInvalidHandle, "cuFuncSetAttribute on an unknown kernel");
  if (attribute != kFuncMaxDynamicSharedMemory)
    return d.refuse(kInvalidValue, "cuFuncSetAttribute: attribute " +
                                       std::to_string(attribute) +
                                       " is not emulated");
  int maximum = maxSharedMemoryOptIn(d.arch);
  if (value < 0 || value + function->staticSharedMemory > maximum)
    return d.refuse(kInvalidValue,
                    "cuFuncSetAttribute " + function->name + ": " +
                        std::to_string(value) +
                        " bytes of dynamic shared memory exceed the device's " +
                        std::to_string(maximum));
  function->maxDynamicSharedMemory = value;
  d.log("cuFuncSetAttribute %s max dynamic shared memory %d",
        function->name.c_str(), value);
  return kSuccess;
}

CUresult cuLaunchKernel(Kernel *function, unsigned gridX, unsigned gridY,
                        unsigned gridZ, unsigned blockX, unsigned blockY,
                        unsigned blockZ, unsigned sharedMemory, Stream *stream,
                        void **params, void **extra) {
  ENTRY("cuLaunchKernel", kLaunchFailed);
  REQUIRE_CONTEXT();
  if (!d.kernelModules.count(function))
    return d.refuse(kInvalidHandle, "cuLaunchKernel of an unknown kernel");
  if (!d.knownStream(stream))
    return d.refuse(kInvalidHandle, "cuLaunchKernel on a destroyed stream");
  unsigned grid[3] = {gridX, gridY, gridZ}, block[3] = {blockX, blockY, blockZ};
  return d.launch(*function, grid, block, sharedMemory, params, extra);
}

CUresult cuStreamCreate(Stream **stream, unsigned) {
  ENTRY("cuStreamCreate", kOutOfMemory);
  REQUIRE_CONTEXT();
  *stream = new Stream;
  d.streams.insert(*stream);
  return kSuccess;
}

CUresult cuStreamDestroy_v2(Stream *stream) {
  ENTRY("cuStreamDestroy_v2", kInvalidHandle);
  REQUIRE_CONTEXT();
  if (!d.streams.erase(stream))
    return d.refuse(kInvalidHandle, "cuStreamDestroy of an unknown stream");
  delete stream;
  return kSuccess;
}

CUresult cuStreamSynchronize(Stream *stream) {
  ENTRY("cuStreamSynchronize", kLaunchFailed);
  REQUIRE_CONTEXT();
  if (!d.knownStream(stream))
    return d.refuse(kInvalidHandle,
                    "cuStreamSynchronize of a destroyed stream");
  return kSuccess;
}

CUresult cuStreamWaitEvent(Stream *stream, Event *event, unsigned) {
  ENTRY("cuStreamWaitEvent", kInvalidHandle);
  REQUIRE_CONTEXT();
  if (!d.knownStream(stream) || !d.events.count(event))
    return d.refuse(kInvalidHandle,
                    "cuStreamWaitEvent on an unknown stream or event");
  return kSuccess;
}

CUresult cuEventCreate(Event **event, unsigned) {
  ENTRY("cuEventCreate", kOutOfMemory);
  REQUIRE_CONTEXT();
  *event = new Event;
  d.events.insert(*event);
  return kSuccess;
}

CUresult cuEventDestroy_v2(Event *event) {
  ENTRY("cuEventDestroy_v2", kInvalidHandle);
  REQUIRE_CONTEXT();
  if (!d.events.erase(event))
    return d.refuse(kInvalidHandle, "cuEventDestroy of an unknown event");
  delete event;
  return kSuccess;
}

CUresult cuEventRecord(Event *event, Stream *stream) {
  ENTRY("cuEventRecord", kInvalidHandle);
  REQUIRE_CONTEXT();
  if (!d.events.count(event) || !d.knownStream(stream))
    return d.refuse(kInvalidHandle,
                    "cuEventRecord of an unknown event or stream");
  event->recorded = true;
  event->time = std::chrono::steady_clock::now();
  return kSuccess;
}

CUresult cuEventSynchronize(Event *event) {
  ENTRY("cuEventSynchronize", kLaunchFailed);
  REQUIRE_CONTEXT();
  if (!d.events.count(event))
    return d.refuse(kInvalidHandle, "cuEventSynchronize of an unknown event");
  return kSuccess;
}

CUresult cuEventElapsedTime_v2(float *ms, Event *start, Event *stop) {
  ENTRY("cuEventElapsedTime_v2", kInvalidHandle);
  REQUIRE_CONTEXT();
  if (!d.events.count(start) || !d.events.count(stop))
    return d.refuse(kInvalidHandle, "cuEventElapsedTime of an unknown event");
  if (!start->recorded || !stop->recorded)
    return d.refuse(kInvalidHandle,
                    "cuEventElapsedTime of an event never recorded");
  *ms = std::chrono::duration<float, std::milli>(stop->time - start->time)
            .count();
  return kSuccess;
}

CUresult cuMemAllocAsync(CUdeviceptr *pointer, size_t bytes, Stream *stream) {
  ENTRY("cuMemAllocAsync", kOutOfMemory);
  REQUIRE_CONTEXT();
  if (!d.knownStream(stream))
    return d.refuse(kInvalidHandle, "cuMemAllocAsync on a destroyed stream");
  return d.allocate(pointer, bytes);
}

CUresult cuMemFreeAsync(CUdeviceptr pointer, Stream *stream) {
  ENTRY("cuMemFreeAsync", kInvalidValue);
  REQUIRE_CONTEXT();
  if (!d.knownStream(stream))
    return d.refuse(kInvalidHandle, "cuMemFreeAsync on a destroyed stream");
  return d.free(pointer);
}

CUresult cuMemcpyAsync(CUdeviceptr dst, CUdeviceptr src, size_t bytes,
                       Stream *stream) {
  ENTRY("cuMemcpyAsync", kInvalidValue);
  REQUIRE_CONTEXT();
  if (!d.knownStream(stream))
    return d.refuse(kInvalidHandle, "cuMemcpyAsync on a destroyed stream");
  if (CUresult result = d.checkRange("cuMemcpyAsync", dst, bytes))
    return result;
  if (CUresult result = d.checkRange("cuMemcpyAsync", src, bytes))
    return result;
  d.log("cuMemcpyAsync %s to %s, %zu bytes",
        d.onDevice(src) ? "device" : "host",
        d.onDevice(dst) ? "device" : "host", bytes);
  std::memcpy(reinterpret_cast<void *>(dst), reinterpret_cast<void *>(src),
              bytes);
  return kSuccess;
}

CUresult cuMemsetD32Async(CUdeviceptr dst, unsigned value, size_t count,
                          Stream *stream) {
  ENTRY("cuMemsetD32Async", kInvalidValue);
  REQUIRE_CONTEXT();
  return d.memset<uint32_t>("cuMemsetD32Async", dst, value, count, stream);
}

CUresult cuMemsetD16Async(CUdeviceptr dst, unsigned short value, size_t count,
                          Stream *stream) {
  ENTRY("cuMemsetD16Async", kInvalidValue);
  REQUIRE_CONTEXT();
  return d.memset<uint16_t>("cuMemsetD16Async", dst, value, count, stream);
}

CUresult cuMemHostRegister_v2(void *pointer, size_t bytes, unsigned) {
  ENTRY("cuMemHostRegister_v2", kOutOfMemory);
  REQUIRE_CONTEXT();
  if (!pointer || bytes == 0 ||
      d.onDevice(reinterpret_cast<CUdeviceptr>(pointer)))
    return d.refuse(kInvalidValue, "cuMemHostRegister of no host memory");
  if (!d.hostRegistrations.insert(pointer).second)
    return d.refuse(kInvalidValue, "cuMemHostRegister twice of one pointer");
  return kSuccess;
}

CUresult cuMemHostUnregister(void *pointer) {
  ENTRY("cuMemHostUnregister", kInvalidValue);
  REQUIRE_CONTEXT();
  if (!d.hostRegistrations.erase(pointer))
    return d.refuse(kInvalidValue,
                    "cuMemHostUnregister of an unregistered pointer");
  return kSuccess;
}

} // extern "C"
