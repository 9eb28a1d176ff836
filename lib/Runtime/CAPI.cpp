//===- CAPI.cpp - C API of libFLTRuntime ----------------------------------===//
//
// A thin layer over flt::Library (Runtime.h): FltTensors become views of
// the caller's memory (nothing is copied in), results are handed over in
// malloc'ed buffers, errors become malloc'ed strings. Every argument is
// checked here first — null pointers, element codes, negative or
// overflowing sizes, indices — because the callers include Python's ctypes,
// where a bad pointer would take the interpreter down.
//
//===----------------------------------------------------------------------===//

#include "flt-c/Runtime.h"

#include "flt/Runtime/Runtime.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>

struct FltLibrary {
  std::unique_ptr<flt::Library> library;
};

namespace {

/// Larger than any rank a signature may have (ModuleInfo.h's kMaxRank):
/// a bigger one is refused before its shape is read.
constexpr int64_t kMaxInputRank = 64;

FltStatus setError(char **error, const std::string &message,
                   FltStatus status = FLT_ERROR) {
  if (error) {
    *error = static_cast<char *>(std::malloc(message.size() + 1));
    if (*error)
      std::memcpy(*error, message.c_str(), message.size() + 1);
  }
  return status;
}

const flt::FunctionInfo *functionAt(const FltLibrary *library, int64_t index) {
  if (!library || index < 0 ||
      index >= static_cast<int64_t>(library->library->functions().size()))
    return nullptr;
  return &library->library->functions()[index];
}

FltStatus describe(const flt::TensorType &type, FltElementType *element,
                   int64_t *rank, const int64_t **shape) {
  if (element)
    *element = static_cast<FltElementType>(type.element);
  if (rank)
    *rank = static_cast<int64_t>(type.shape.size());
  if (shape)
    *shape = type.shape.data();
  return FLT_OK;
}

/// `tensor` as a view; false with the reason when it is malformed. Data may
/// be null when `needData` is false (validation reads sizes only).
bool toView(const FltTensor &tensor, int64_t index, bool needData,
            flt::TensorView &view, std::string &error) {
  std::string which = "input #" + std::to_string(index);
  // The code is read as its underlying integer: a caller's out-of-range
  // value loaded as the enum type would itself be undefined behaviour in
  // C++ (UBSan -fsanitize=enum).
  std::underlying_type_t<FltElementType> code;
  std::memcpy(&code, &tensor.element, sizeof(code));
  if (code < FLT_F32 || code > FLT_I64) {
    error = which + " has an unknown element type code " +
            std::to_string(static_cast<long long>(code));
    return false;
  }
  if (tensor.rank < 0 || tensor.rank > kMaxInputRank) {
    error = which + " has rank " + std::to_string(tensor.rank) + " (0 to " +
            std::to_string(kMaxInputRank) + ")";
    return false;
  }
  if (tensor.rank > 0 && !tensor.shape) {
    error = which + " has no shape";
    return false;
  }
  view.element = static_cast<flt::ElementType>(tensor.element);
  view.shape.assign(tensor.shape, tensor.shape + tensor.rank);
  view.data = tensor.data;
  size_t bytes = 0;
  std::string why;
  if (!flt::denseByteSize(view.element, view.shape, bytes, why)) {
    error = which + ": " + why;
    return false;
  }
  if (needData && bytes > 0 && !tensor.data) {
    error = which + " has no data";
    return false;
  }
  return true;
}

/// The inputs of a call as views, after the common argument checks.
/// `hostData`: the data pointers are host memory the size check may read.
FltStatus prepare(const FltLibrary *library, int64_t function,
                  const FltTensor *inputs, int64_t numInputs, bool needData,
                  bool hostData, const flt::FunctionInfo *&info,
                  std::vector<flt::TensorView> &views, char **error) {
  if (!library)
    return setError(error, "no library", FLT_INVALID_INPUT);
  info = functionAt(library, function);
  if (!info)
    return setError(error, "no function #" + std::to_string(function),
                    FLT_INVALID_INPUT);
  if (numInputs < 0 || numInputs > 4096 || (numInputs > 0 && !inputs))
    return setError(error, "invalid inputs pointer or count",
                    FLT_INVALID_INPUT);
  std::string message;
  for (int64_t i = 0; i < numInputs; ++i) {
    flt::TensorView view;
    if (!toView(inputs[i], i, needData, view, message))
      return setError(error, message, FLT_INVALID_INPUT);
    views.push_back(std::move(view));
  }
  std::vector<flt::TensorType> types;
  std::vector<const void *> data;
  for (const flt::TensorView &view : views) {
    types.push_back(view.type());
    data.push_back(view.data);
  }
  // Host data (a call) lets the check read offset and length tables; device
  // pointers must not be read on the host.
  if (!library->library->validateTypes(*info, types, message,
                                       hostData ? &data : nullptr))
    return setError(error, message, FLT_INVALID_INPUT);
  return FLT_OK;
}

/// An array of `count` FltTensors with their shapes in one allocation.
FltTensor *allocateTensors(const std::vector<std::vector<int64_t>> &shapes) {
  size_t words = 0;
  for (const auto &shape : shapes)
    words += shape.size();
  size_t count = shapes.size();
  auto *block = static_cast<char *>(std::calloc(
      1, sizeof(FltTensor) * (count ? count : 1) + sizeof(int64_t) * words));
  if (!block)
    return nullptr;
  auto *tensors = reinterpret_cast<FltTensor *>(block);
  auto *shapeWords = reinterpret_cast<int64_t *>(
      block + sizeof(FltTensor) * (count ? count : 1));
  for (size_t i = 0; i < count; ++i) {
    tensors[i].rank = static_cast<int64_t>(shapes[i].size());
    tensors[i].shape = shapeWords;
    std::memcpy(shapeWords, shapes[i].data(),
                sizeof(int64_t) * shapes[i].size());
    shapeWords += shapes[i].size();
  }
  return tensors;
}

} // namespace

extern "C" {

FltLibrary *fltLoadLibrary(const char *path, char **error) {
  if (!path) {
    setError(error, "no library path");
    return nullptr;
  }
  std::string message;
  std::unique_ptr<flt::Library> library = flt::Library::load(path, message);
  if (!library) {
    setError(error, message);
    return nullptr;
  }
  auto *result = new (std::nothrow) FltLibrary{std::move(library)};
  if (!result)
    setError(error, "out of memory");
  return result;
}

void fltUnloadLibrary(FltLibrary *library) { delete library; }

const char *fltLibraryTarget(const FltLibrary *library) {
  return library ? library->library->target().c_str() : nullptr;
}

const char *fltLibraryCpu(const FltLibrary *library) {
  return library ? library->library->cpu().c_str() : nullptr;
}

int64_t fltNumFunctions(const FltLibrary *library) {
  return library ? static_cast<int64_t>(library->library->functions().size())
                 : 0;
}

const char *fltFunctionName(const FltLibrary *library, int64_t index) {
  const flt::FunctionInfo *function = functionAt(library, index);
  return function ? function->name.c_str() : nullptr;
}

int64_t fltFindFunction(const FltLibrary *library, const char *name) {
  if (!library || !name)
    return -1;
  const auto &functions = library->library->functions();
  for (size_t i = 0; i < functions.size(); ++i)
    if (functions[i].name == name)
      return static_cast<int64_t>(i);
  return -1;
}

int64_t fltNumArguments(const FltLibrary *library, int64_t function) {
  const flt::FunctionInfo *info = functionAt(library, function);
  return info ? static_cast<int64_t>(info->args.size()) : 0;
}

int64_t fltNumResults(const FltLibrary *library, int64_t function) {
  const flt::FunctionInfo *info = functionAt(library, function);
  return info ? static_cast<int64_t>(info->results.size()) : 0;
}

FltStatus fltArgumentType(const FltLibrary *library, int64_t function,
                          int64_t index, FltElementType *element, int64_t *rank,
                          const int64_t **shape) {
  const flt::FunctionInfo *info = functionAt(library, function);
  if (!info || index < 0 || index >= static_cast<int64_t>(info->args.size()))
    return FLT_ERROR;
  return describe(info->args[index], element, rank, shape);
}

FltStatus fltResultType(const FltLibrary *library, int64_t function,
                        int64_t index, FltElementType *element, int64_t *rank,
                        const int64_t **shape) {
  const flt::FunctionInfo *info = functionAt(library, function);
  if (!info || index < 0 || index >= static_cast<int64_t>(info->results.size()))
    return FLT_ERROR;
  return describe(info->results[index], element, rank, shape);
}

int64_t fltNumConstraints(const FltLibrary *library, int64_t function) {
  const flt::FunctionInfo *info = functionAt(library, function);
  return info ? static_cast<int64_t>(info->constraints.size()) : 0;
}

const char *fltConstraint(const FltLibrary *library, int64_t function,
                          int64_t index) {
  const flt::FunctionInfo *info = functionAt(library, function);
  if (!info || index < 0 ||
      index >= static_cast<int64_t>(info->constraints.size()))
    return nullptr;
  return info->constraints[index].c_str();
}

FltStatus fltValidate(const FltLibrary *library, int64_t function,
                      const FltTensor *inputs, int64_t numInputs,
                      char **error) {
  const flt::FunctionInfo *info = nullptr;
  std::vector<flt::TensorView> views;
  return prepare(library, function, inputs, numInputs, /*needData=*/false,
                 /*hostData=*/false, info, views, error);
}

FltStatus fltCall(const FltLibrary *library, int64_t function,
                  const FltTensor *inputs, int64_t numInputs,
                  FltTensor **outputs, char **error) {
  if (!outputs)
    return setError(error, "no outputs pointer", FLT_INVALID_INPUT);
  *outputs = nullptr;
  const flt::FunctionInfo *info = nullptr;
  std::vector<flt::TensorView> views;
  if (FltStatus status =
          prepare(library, function, inputs, numInputs,
                  /*needData=*/true, /*hostData=*/true, info, views, error))
    return status;
  std::vector<flt::HostTensor> results;
  std::string message;
  if (!library->library->call(*info, views, results, message))
    return setError(error, message);
  // Shapes in the array's block; each result's buffer handed over as is.
  std::vector<std::vector<int64_t>> shapes;
  for (const flt::HostTensor &result : results)
    shapes.push_back(result.shape());
  FltTensor *out = allocateTensors(shapes);
  if (!out)
    return setError(error, "out of memory");
  for (size_t i = 0; i < results.size(); ++i) {
    out[i].element = static_cast<FltElementType>(results[i].element());
    out[i].data = results[i].release();
  }
  *outputs = out;
  return FLT_OK;
}

void fltFreeTensors(FltTensor *tensors, int64_t count) {
  if (!tensors)
    return;
  for (int64_t i = 0; i < count; ++i)
    std::free(tensors[i].data);
  std::free(tensors);
}

FltStatus fltSetNumThreads(const FltLibrary *library, int64_t threads,
                           char **error) {
  if (!library)
    return setError(error, "no library", FLT_INVALID_INPUT);
  std::string message;
  if (!library->library->setNumThreads(threads, message))
    return setError(error, message, FLT_INVALID_INPUT);
  return FLT_OK;
}

int64_t fltMaxThreads(void) { return flt::Library::kMaxThreads; }

FltStatus fltCudaAvailable(const FltLibrary *library, char **error) {
  if (!library)
    return setError(error, "no library", FLT_INVALID_INPUT);
  std::string message;
  if (!library->library->cudaAvailable(message))
    return setError(error, message);
  return FLT_OK;
}

FltStatus fltToDevice(const FltLibrary *library, const FltTensor *host,
                      void **device, char **error) {
  if (!library || !host || !device)
    return setError(error, "null library, tensor or result pointer",
                    FLT_INVALID_INPUT);
  *device = nullptr;
  flt::TensorView view;
  std::string message;
  if (!toView(*host, 0, /*needData=*/true, view, message))
    return setError(error, message, FLT_INVALID_INPUT);
  flt::DeviceTensor tensor;
  if (!library->library->toDevice(view, tensor, message))
    return setError(error, message);
  *device = tensor.data;
  return FLT_OK;
}

FltStatus fltToHost(const FltLibrary *library, const FltTensor *device,
                    void *host, uint64_t hostBytes, char **error) {
  if (!library || !device)
    return setError(error, "null library or tensor", FLT_INVALID_INPUT);
  flt::TensorView view;
  std::string message;
  if (!toView(*device, 0, /*needData=*/true, view, message))
    return setError(error, message, FLT_INVALID_INPUT);
  size_t bytes = 0;
  flt::denseByteSize(view.element, view.shape, bytes, message);
  if (bytes > hostBytes || (bytes > 0 && !host))
    return setError(error,
                    "the host buffer holds " + std::to_string(hostBytes) +
                        " bytes, the device tensor " + std::to_string(bytes),
                    FLT_INVALID_INPUT);
  flt::DeviceTensor tensor;
  tensor.data = const_cast<void *>(view.data);
  tensor.element = view.element;
  tensor.shape = view.shape;
  flt::HostTensor copy;
  if (!library->library->toHost(tensor, copy, message))
    return setError(error, message);
  if (bytes)
    std::memcpy(host, copy.data(), bytes);
  return FLT_OK;
}

void fltFreeDevice(const FltLibrary *library, void *device) {
  if (!library || !device)
    return;
  flt::DeviceTensor tensor;
  tensor.data = device;
  library->library->freeDevice(tensor);
}

static std::vector<flt::DeviceTensor>
deviceTensors(const std::vector<flt::TensorView> &views) {
  std::vector<flt::DeviceTensor> tensors;
  for (const flt::TensorView &view : views) {
    flt::DeviceTensor tensor;
    tensor.data = const_cast<void *>(view.data);
    tensor.element = view.element;
    tensor.shape = view.shape;
    tensors.push_back(std::move(tensor));
  }
  return tensors;
}

FltStatus fltCallDevice(const FltLibrary *library, int64_t function,
                        const FltTensor *inputs, int64_t numInputs,
                        FltTensor **outputs, char **error) {
  if (!outputs)
    return setError(error, "no outputs pointer", FLT_INVALID_INPUT);
  *outputs = nullptr;
  const flt::FunctionInfo *info = nullptr;
  std::vector<flt::TensorView> views;
  if (FltStatus status =
          prepare(library, function, inputs, numInputs,
                  /*needData=*/true, /*hostData=*/false, info, views, error))
    return status;
  std::vector<flt::DeviceTensor> results;
  std::string message;
  if (!library->library->callDevice(*info, deviceTensors(views), results,
                                    message))
    return setError(error, message);
  std::vector<std::vector<int64_t>> shapes;
  for (const flt::DeviceTensor &result : results)
    shapes.push_back(result.shape);
  FltTensor *out = allocateTensors(shapes);
  if (!out) {
    for (flt::DeviceTensor &result : results)
      library->library->freeDevice(result);
    return setError(error, "out of memory");
  }
  for (size_t i = 0; i < results.size(); ++i) {
    out[i].element = static_cast<FltElementType>(results[i].element);
    out[i].data = results[i].data;
  }
  *outputs = out;
  return FLT_OK;
}

void fltFreeDeviceResults(FltTensor *tensors, int64_t count) {
  (void)count;
  std::free(tensors);
}

FltStatus fltTimeDevice(const FltLibrary *library, int64_t function,
                        const FltTensor *inputs, int64_t numInputs,
                        int64_t calls, double *milliseconds, char **error) {
  if (calls < 1 || calls > 1000000 || !milliseconds)
    return setError(error,
                    "the number of timed calls must be between 1 and "
                    "1000000, got " +
                        std::to_string(calls),
                    FLT_INVALID_INPUT);
  const flt::FunctionInfo *info = nullptr;
  std::vector<flt::TensorView> views;
  if (FltStatus status =
          prepare(library, function, inputs, numInputs,
                  /*needData=*/true, /*hostData=*/false, info, views, error))
    return status;
  std::vector<double> times;
  std::string message;
  if (!library->library->timeDevice(*info, deviceTensors(views),
                                    static_cast<int>(calls), times, message))
    return setError(error, message);
  for (size_t i = 0; i < times.size() && i < static_cast<size_t>(calls); ++i)
    milliseconds[i] = times[i];
  return FLT_OK;
}

void fltFreeString(char *string) { std::free(string); }

const char *fltRuntimeVersion(void) { return flt::runtimeVersion(); }

} // extern "C"
