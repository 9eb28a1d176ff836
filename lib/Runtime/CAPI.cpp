//===- CAPI.cpp - C API of libFLTRuntime ----------------------------------===//
//
// A thin layer over flt::Library (Runtime.h): conversions between FltTensor
// and HostTensor, errors as malloc'ed strings.
//
//===----------------------------------------------------------------------===//

#include "flt-c/Runtime.h"

#include "flt/Runtime/Runtime.h"

#include <cstdlib>
#include <cstring>
#include <new>

struct FltLibrary {
  std::unique_ptr<flt::Library> library;
};

namespace {

void setError(char **error, const std::string &message) {
  if (!error)
    return;
  *error = static_cast<char *>(std::malloc(message.size() + 1));
  if (*error)
    std::memcpy(*error, message.c_str(), message.size() + 1);
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
  return new (std::nothrow) FltLibrary{std::move(library)};
}

void fltUnloadLibrary(FltLibrary *library) { delete library; }

const char *fltLibraryTarget(const FltLibrary *library) {
  return library ? library->library->target().c_str() : nullptr;
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

FltStatus fltCall(const FltLibrary *library, int64_t function,
                  const FltTensor *inputs, int64_t numInputs,
                  FltTensor **outputs, char **error) {
  const flt::FunctionInfo *info = functionAt(library, function);
  if (!info) {
    setError(error, "no function #" + std::to_string(function));
    return FLT_ERROR;
  }
  if (numInputs < 0 || (numInputs > 0 && !inputs) || !outputs) {
    setError(error, "invalid inputs or outputs pointer");
    return FLT_ERROR;
  }
  // The runtime works on owned host tensors: copy the inputs in.
  std::vector<flt::HostTensor> hostInputs;
  for (int64_t i = 0; i < numInputs; ++i) {
    const FltTensor &input = inputs[i];
    if (input.element < FLT_F32 || input.element > FLT_I64 || input.rank < 0 ||
        (input.rank > 0 && !input.shape)) {
      setError(error, "input #" + std::to_string(i) + " is malformed");
      return FLT_ERROR;
    }
    std::vector<int64_t> shape(input.shape, input.shape + input.rank);
    for (int64_t size : shape)
      if (size < 0) {
        setError(error, "input #" + std::to_string(i) + " has a negative size");
        return FLT_ERROR;
      }
    flt::HostTensor tensor(static_cast<flt::ElementType>(input.element), shape);
    if (tensor.byteSize() > 0) {
      if (!input.data) {
        setError(error, "input #" + std::to_string(i) + " has no data");
        return FLT_ERROR;
      }
      std::memcpy(tensor.data(), input.data, tensor.byteSize());
    }
    hostInputs.push_back(std::move(tensor));
  }
  std::vector<flt::HostTensor> results;
  std::string message;
  if (!library->library->call(*info, hostInputs, results, message)) {
    setError(error, message);
    return FLT_ERROR;
  }
  auto *out = static_cast<FltTensor *>(
      std::calloc(results.size() ? results.size() : 1, sizeof(FltTensor)));
  if (!out) {
    setError(error, "out of memory");
    return FLT_ERROR;
  }
  for (size_t i = 0; i < results.size(); ++i) {
    const flt::HostTensor &result = results[i];
    out[i].element = static_cast<FltElementType>(result.element());
    out[i].rank = static_cast<int64_t>(result.shape().size());
    out[i].shape = static_cast<int64_t *>(
        std::malloc(sizeof(int64_t) * (out[i].rank ? out[i].rank : 1)));
    out[i].data = std::malloc(result.byteSize() ? result.byteSize() : 1);
    if (!out[i].shape || !out[i].data) {
      fltFreeTensors(out, static_cast<int64_t>(results.size()));
      setError(error, "out of memory");
      return FLT_ERROR;
    }
    std::memcpy(out[i].shape, result.shape().data(),
                sizeof(int64_t) * out[i].rank);
    std::memcpy(out[i].data, result.data(), result.byteSize());
  }
  *outputs = out;
  return FLT_OK;
}

void fltFreeTensors(FltTensor *tensors, int64_t count) {
  if (!tensors)
    return;
  for (int64_t i = 0; i < count; ++i) {
    std::free(tensors[i].shape);
    std::free(tensors[i].data);
  }
  std::free(tensors);
}

FltStatus fltSetNumThreads(const FltLibrary *library, int threads,
                           char **error) {
  if (!library) {
    setError(error, "no library");
    return FLT_ERROR;
  }
  std::string message;
  if (!library->library->setNumThreads(threads, message)) {
    setError(error, message);
    return FLT_ERROR;
  }
  return FLT_OK;
}

void fltFreeString(char *string) { std::free(string); }

const char *fltRuntimeVersion(void) { return flt::runtimeVersion(); }

} // extern "C"
