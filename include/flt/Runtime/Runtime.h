//===- Runtime.h - load and call compiled flt kernels -----------*- C++ -*-===//
//
// libFLTRuntime: loads a library made by flt-compile, lists its functions
// and signatures, checks inputs (element types, ranks, static sizes, and the
// run-time relations between dynamic sizes) and calls a function on host
// buffers. It links neither libMLIR nor libLLVM. Errors are reported through
// `std::string &error` and a false/null return; nothing throws.
//
//===----------------------------------------------------------------------===//

#ifndef FLT_RUNTIME_RUNTIME_H
#define FLT_RUNTIME_RUNTIME_H

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace flt {

enum class ElementType { F32, F16, BF16, F64, I32, I64 };

size_t elementSize(ElementType type);
const char *elementName(ElementType type);
std::optional<ElementType> parseElementType(const std::string &name);

/// A tensor type of a signature; -1 marks a dynamic size.
struct TensorType {
  ElementType element = ElementType::F32;
  std::vector<int64_t> shape;
  /// "f32 [1, 8, ?, 64]".
  std::string str() const;
};

struct FunctionInfo {
  std::string name;
  std::vector<TensorType> args;
  std::vector<TensorType> results;
  /// Run-time size relations, in the order the check function numbers them.
  std::vector<std::string> constraints;
};

/// The bytes of a dense `shape` array of `element`s in `bytes`; false, with
/// the reason, when a size is negative or the count does not fit in memory
/// (more than 2^62 bytes), so that no caller multiplies sizes unchecked.
bool denseByteSize(ElementType element, const std::vector<int64_t> &shape,
                   size_t &bytes, std::string &error);

/// A dense row-major array the caller owns (host memory, or device memory
/// for the device calls): what a call reads, in place.
struct TensorView {
  ElementType element = ElementType::F32;
  std::vector<int64_t> shape;
  const void *data = nullptr;
  TensorType type() const { return {element, shape}; }
};

/// A dense row-major host array that owns its bytes (malloc'ed, so that
/// the C API can hand them over).
class HostTensor {
public:
  HostTensor() = default;
  HostTensor(HostTensor &&other) noexcept { *this = std::move(other); }
  HostTensor &operator=(HostTensor &&other) noexcept;
  HostTensor(const HostTensor &) = delete;
  HostTensor &operator=(const HostTensor &) = delete;
  ~HostTensor();

  /// A zero-filled tensor in `tensor`; false, with the reason, when its
  /// size is invalid (denseByteSize) or memory runs out.
  static bool allocate(ElementType element, std::vector<int64_t> shape,
                       HostTensor &tensor, std::string &error);

  ElementType element() const { return element_; }
  const std::vector<int64_t> &shape() const { return shape_; }
  int64_t numElements() const;
  size_t byteSize() const { return bytes_; }
  void *data() { return data_; }
  const void *data() const { return data_; }
  TensorView view() const { return {element_, shape_, data_}; }
  /// The buffer, now the caller's to free() (null when empty).
  void *release();
  /// "f32 [1, 8, 4096, 64]".
  std::string str() const;

private:
  ElementType element_ = ElementType::F32;
  std::vector<int64_t> shape_;
  void *data_ = nullptr;
  size_t bytes_ = 0;
};

/// A dense row-major array in GPU memory (a CUDA device pointer). The
/// runtime does not own it: results of Library::callDevice are freed with
/// Library::freeDevice.
struct DeviceTensor {
  void *data = nullptr;
  ElementType element = ElementType::F32;
  std::vector<int64_t> shape;
  int64_t numElements() const;
  size_t byteSize() const;
};

/// The CUDA entry points of a library compiled with --target=cuda (its
/// lib/Runtime/CUDA wrappers, found with dlsym).
struct CudaEntryPoints;

/// A loaded flt library.
class Library {
public:
  /// Loads `path`; on failure returns null and says why in `error`.
  static std::unique_ptr<Library> load(const std::string &path,
                                       std::string &error);
  ~Library();
  Library(const Library &) = delete;
  Library &operator=(const Library &) = delete;

  /// "cpu" or "cuda".
  const std::string &target() const { return target_; }
  const std::vector<FunctionInfo> &functions() const { return functions_; }
  const FunctionInfo *find(const std::string &name) const;

  /// The CPU the library's host code was compiled for, and the
  /// instruction-set extensions it may use (all present on this CPU, or
  /// load() refused it).
  const std::string &cpu() const { return cpu_; }
  const std::vector<std::string> &cpuFeatures() const { return cpuFeatures_; }

  /// Whether inputs of these types fit `function`: count, element types,
  /// ranks, static sizes, and the relations between dynamic sizes (checked
  /// by the library's own check function, before any kernel runs). With
  /// `hostData` (one host pointer per input), the check also reads the
  /// tables whose contents the semantics constrain (packed sequences'
  /// offsets, padded sequences' lengths).
  bool validateTypes(const FunctionInfo &function,
                     const std::vector<TensorType> &inputs, std::string &error,
                     const std::vector<const void *> *hostData = nullptr) const;

  /// Validates, then calls `function` on host buffers (read in place);
  /// fills `results`. For a --target=cuda library the inputs are copied to
  /// the device and the results back.
  bool call(const FunctionInfo &function, const std::vector<TensorView> &inputs,
            std::vector<HostTensor> &results, std::string &error) const;

  /// --target=cuda libraries: whether a driver and device are usable (with
  /// the reason in `error` when not).
  bool cudaAvailable(std::string &error) const;

  /// --target=cuda: validates, then calls `function` on device buffers;
  /// fills `results` with new device buffers (free them with freeDevice).
  bool callDevice(const FunctionInfo &function,
                  const std::vector<DeviceTensor> &inputs,
                  std::vector<DeviceTensor> &results, std::string &error) const;

  /// Device memory for `tensor`'s bytes, copied from the host (or back).
  bool toDevice(const TensorView &tensor, DeviceTensor &device,
                std::string &error) const;
  bool toHost(const DeviceTensor &device, HostTensor &tensor,
              std::string &error) const;
  void freeDevice(DeviceTensor &tensor) const;

  /// --target=cuda: the GPU time of `calls` calls, one value per call in
  /// milliseconds, measured with CUDA events around each call (the kernels
  /// only: inputs stay on the device, results are freed between calls).
  bool timeDevice(const FunctionInfo &function,
                  const std::vector<DeviceTensor> &inputs, int calls,
                  std::vector<double> &milliseconds, std::string &error) const;

  /// Threads for the kernels' parallel loops (OpenMP), in [1, kMaxThreads].
  bool setNumThreads(int64_t threads, std::string &error) const;
  /// More threads than OpenMP can be relied on to start on a common Linux
  /// machine (libomp aborts the process when it cannot): the same bound as
  /// flt-compile's --kernel-threads.
  static constexpr int64_t kMaxThreads = 1024;

private:
  Library() = default;
  /// Reads, checks and adopts the library's description, seal and entry
  /// points (ModuleInfo.h); false with the reason.
  bool readDescription(std::string &error);
  /// Calls `function` with the argument descriptors (Descriptors.h);
  /// returns the result descriptors it filled in, back to back.
  std::vector<int64_t>
  invoke(const FunctionInfo &function,
         std::vector<std::vector<int64_t>> &descriptors) const;
  bool callThroughDevice(const FunctionInfo &function,
                         const std::vector<TensorView> &inputs,
                         std::vector<HostTensor> &results,
                         std::string &error) const;

  void *handle_ = nullptr;
  std::string path_;
  std::string target_;
  std::string cpu_;
  std::vector<std::string> cpuFeatures_;
  std::vector<FunctionInfo> functions_;
  std::vector<void *> callEntries_;
  std::vector<void *> checkEntries_;
  std::unique_ptr<CudaEntryPoints> cuda_;
};

/// The flt version this runtime was built from (libraries must match).
const char *runtimeVersion();

} // namespace flt

#endif // FLT_RUNTIME_RUNTIME_H
