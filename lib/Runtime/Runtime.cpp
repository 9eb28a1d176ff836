//===- Runtime.cpp - load and call compiled flt kernels -------------------===//

#include "flt/Runtime/Runtime.h"

#include "flt/Runtime/ModuleDescription.h"
#include "flt/Runtime/ModuleInfo.h"

#include "Descriptors.h"
#include "flt/Runtime/CudaABI.h"

#include <dlfcn.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <set>
#include <sstream>

namespace flt {

const char *runtimeVersion() { return FLT_VERSION_STRING; }

size_t elementSize(ElementType type) {
  switch (type) {
  case ElementType::F16:
  case ElementType::BF16:
    return 2;
  case ElementType::F32:
  case ElementType::I32:
    return 4;
  case ElementType::F64:
  case ElementType::I64:
    return 8;
  }
  return 0;
}

const char *elementName(ElementType type) {
  switch (type) {
  case ElementType::F32:
    return "f32";
  case ElementType::F16:
    return "f16";
  case ElementType::BF16:
    return "bf16";
  case ElementType::F64:
    return "f64";
  case ElementType::I32:
    return "i32";
  case ElementType::I64:
    return "i64";
  }
  return "?";
}

std::optional<ElementType> parseElementType(const std::string &name) {
  for (ElementType type :
       {ElementType::F32, ElementType::F16, ElementType::BF16, ElementType::F64,
        ElementType::I32, ElementType::I64})
    if (name == elementName(type))
      return type;
  return std::nullopt;
}

static std::string shapeString(const std::vector<int64_t> &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      text += ", ";
    text += shape[i] < 0 ? "?" : std::to_string(shape[i]);
  }
  return text + "]";
}

std::string TensorType::str() const {
  return std::string(elementName(element)) + " " + shapeString(shape);
}

bool denseByteSize(ElementType element, const std::vector<int64_t> &shape,
                   size_t &bytes, std::string &error) {
  // 2^62 bytes: more than any machine has, and far from overflowing the
  // int64_t byte offsets of the descriptors.
  constexpr uint64_t kLimit = uint64_t(1) << 62;
  uint64_t total = elementSize(element);
  bool empty = false;
  for (int64_t size : shape) {
    if (size < 0) {
      std::string sizes;
      for (int64_t each : shape)
        sizes += (sizes.empty() ? "" : ", ") + std::to_string(each);
      error = "size " + std::to_string(size) + " in shape (" + sizes +
              ") is negative";
      return false;
    }
    empty |= size == 0;
  }
  // An empty array has no bytes, whatever its other sizes; the others must
  // still be representable.
  for (int64_t size : shape) {
    if (size == 0)
      continue;
    if (static_cast<uint64_t>(size) > kLimit ||
        total > kLimit / static_cast<uint64_t>(size)) {
      error = "shape " + shapeString(shape) + " of " + elementName(element) +
              " is too large (more than 2^62 bytes)";
      return false;
    }
    total *= static_cast<uint64_t>(size);
  }
  bytes = empty ? 0 : static_cast<size_t>(total);
  return true;
}

HostTensor &HostTensor::operator=(HostTensor &&other) noexcept {
  if (this != &other) {
    std::free(data_);
    element_ = other.element_;
    shape_ = std::move(other.shape_);
    data_ = other.data_;
    bytes_ = other.bytes_;
    other.data_ = nullptr;
    other.bytes_ = 0;
    other.shape_.clear();
  }
  return *this;
}

HostTensor::~HostTensor() { std::free(data_); }

bool HostTensor::allocate(ElementType element, std::vector<int64_t> shape,
                          HostTensor &tensor, std::string &error) {
  size_t bytes = 0;
  if (!denseByteSize(element, shape, bytes, error))
    return false;
  void *data = nullptr;
  if (bytes > 0) {
    data = std::calloc(bytes, 1);
    if (!data) {
      error = "out of memory for " + std::string(elementName(element)) + " " +
              shapeString(shape) + " (" + std::to_string(bytes) + " bytes)";
      return false;
    }
  }
  HostTensor result;
  result.element_ = element;
  result.shape_ = std::move(shape);
  result.data_ = data;
  result.bytes_ = bytes;
  tensor = std::move(result);
  return true;
}

void *HostTensor::release() {
  void *data = data_;
  data_ = nullptr;
  bytes_ = 0;
  return data;
}

int64_t HostTensor::numElements() const {
  size_t size = elementSize(element_);
  return static_cast<int64_t>(bytes_ / (size ? size : 1));
}

std::string HostTensor::str() const {
  return std::string(elementName(element_)) + " " + shapeString(shape_);
}

//===----------------------------------------------------------------------===//
// Loading
//===----------------------------------------------------------------------===//

std::unique_ptr<Library> Library::load(const std::string &path,
                                       std::string &error) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) {
    error = "cannot open library '" + path + "': " + std::strerror(errno);
    return nullptr;
  }
  // dlopen would block on a FIFO and read a device without end.
  if (!S_ISREG(info.st_mode)) {
    error = "cannot load library '" + path + "': not a regular file";
    return nullptr;
  }
  // RTLD_LOCAL: several libraries may export the same function names.
  void *handle =
      dlopen(path.find('/') == std::string::npos ? ("./" + path).c_str()
                                                 : path.c_str(),
             RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *reason = dlerror();
    error = "cannot load library '" + path +
            "': " + (reason ? reason : "unknown error");
    return nullptr;
  }
  std::unique_ptr<Library> library(new Library());
  library->handle_ = handle;
  library->path_ = path;
  if (!library->readDescription(error))
    return nullptr;
  if (library->target_ == "cuda") {
    library->cuda_ = std::make_unique<CudaEntryPoints>();
    std::string missing;
    if (!library->cuda_->resolve(handle, missing)) {
      error = "'" + path +
              "' is a CUDA library without the flt CUDA "
              "runtime wrappers (" +
              missing + "); recompile it";
      return nullptr;
    }
  }
  return library;
}

Library::~Library() {
  if (handle_)
    dlclose(handle_);
}

bool Library::readDescription(std::string &error) {
  const std::string quoted = "'" + path_ + "'";
  auto *text =
      static_cast<const char *>(dlsym(handle_, abi::kModuleInfoSymbol));
  if (!text) {
    error = quoted + " is not an flt library (it has no " +
            abi::kModuleInfoSymbol + "); make it with flt-compile";
    return false;
  }
  auto *seal = static_cast<const uint64_t *>(dlsym(handle_, abi::kSealSymbol));
  auto refuse = [&](const std::string &why) {
    error = quoted + " cannot be used: " + why;
    return false;
  };
  const char *recompile = "; recompile it with this flt-compile";
  if (!seal)
    return refuse(std::string("it has no ") + abi::kSealSymbol +
                  " (an older flt-compile made it, or it was altered)" +
                  recompile);
  if (seal[0] != abi::kSealMagic)
    return refuse(std::string("its ") + abi::kSealSymbol +
                  " is not a seal of this format" + recompile);
  // The seal says how long the description is: reading stops there even
  // where the text lost its terminating NUL.
  size_t length = strnlen(text, abi::kMaxDescriptionBytes + 1);
  if (length != seal[1])
    return refuse("its description is " + std::to_string(length) +
                  " bytes long but its seal says " + std::to_string(seal[1]) +
                  " (the library was altered or damaged)" + recompile);

  ModuleDescription description;
  std::string why;
  if (!parseModuleDescription(text, length, description, why)) {
    error = quoted + " has a corrupt description (" + why + ")";
    return false;
  }
  if (description.version != FLT_VERSION_STRING) {
    error = quoted + " was compiled by flt " + description.version +
            " but this runtime is flt " FLT_VERSION_STRING + recompile;
    return false;
  }

  // Entry points and what they read, as flt-compile counted them.
  std::vector<int64_t> arities;
  for (const FunctionInfo &function : description.functions) {
    void *call = dlsym(handle_, (abi::kCallPrefix + function.name).c_str());
    void *check = dlsym(handle_, (abi::kCheckPrefix + function.name).c_str());
    auto *arity = static_cast<const int64_t *>(
        dlsym(handle_, (abi::kArityPrefix + function.name).c_str()));
    if (!call || !check || !arity)
      return refuse("it lacks the entry points of function '" + function.name +
                    "'" + recompile);
    callEntries_.push_back(call);
    checkEntries_.push_back(check);
    arities.push_back(arity[0]);
    arities.push_back(arity[1]);
  }
  if (abi::sealChecksum(text, length, arities.data(), arities.size()) !=
      seal[2])
    return refuse("its description does not match its seal (the library "
                  "was altered or damaged)" +
                  std::string(recompile));
  for (size_t i = 0; i < description.functions.size(); ++i) {
    const FunctionInfo &function = description.functions[i];
    int64_t args = static_cast<int64_t>(function.args.size());
    int64_t callReads = args + (function.results.empty() ? 0 : 1);
    if (arities[2 * i] != callReads || arities[2 * i + 1] != args)
      return refuse("function '" + function.name + "' is described with " +
                    std::to_string(function.args.size()) + " argument(s) and " +
                    std::to_string(function.results.size()) +
                    " result(s), but its entry points read " +
                    std::to_string(arities[2 * i]) + " and " +
                    std::to_string(arities[2 * i + 1]) + " descriptor(s)");
  }

  // The host code may use any instruction the compiled-for CPU has: refuse
  // before a kernel meets one this CPU lacks (SIGILL).
  std::vector<std::string> missing =
      missingCpuFeatures(description.cpuFeatures);
  if (!missing.empty()) {
    std::string names;
    for (const std::string &feature : missing)
      names += (names.empty() ? "" : ", ") + feature;
    return refuse("it was compiled for CPU '" + description.cpu +
                  "' and uses instructions this CPU lacks (" + names +
                  "); recompile it for this machine (flt-compile "
                  "--cpu=native, or the name of this CPU)");
  }
  target_ = description.target;
  cpu_ = description.cpu;
  cpuFeatures_ = description.cpuFeatures;
  functions_ = std::move(description.functions);
  return true;
}

const FunctionInfo *Library::find(const std::string &name) const {
  for (const FunctionInfo &function : functions_)
    if (function.name == name)
      return &function;
  return nullptr;
}

//===----------------------------------------------------------------------===//
// Calling
//===----------------------------------------------------------------------===//

bool Library::validateTypes(const FunctionInfo &function,
                            const std::vector<TensorType> &inputs,
                            std::string &error,
                            const std::vector<const void *> *hostData) const {
  size_t index = &function - functions_.data();
  if (index >= functions_.size()) {
    error = "function '" + function.name + "' is not one of '" + path_ + "'";
    return false;
  }
  if (inputs.size() != function.args.size()) {
    error = "function '" + function.name + "' takes " +
            std::to_string(function.args.size()) + " inputs, got " +
            std::to_string(inputs.size());
    return false;
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    const TensorType &expected = function.args[i];
    const TensorType &input = inputs[i];
    std::string which =
        "input #" + std::to_string(i) + " of '" + function.name + "'";
    if (input.element != expected.element) {
      error = which + " must have element type " +
              elementName(expected.element) + ", got " +
              elementName(input.element);
      return false;
    }
    if (input.shape.size() != expected.shape.size()) {
      error = which + " must have rank " +
              std::to_string(expected.shape.size()) + " (" + expected.str() +
              "), got " + input.str();
      return false;
    }
    for (size_t d = 0; d < expected.shape.size(); ++d) {
      if (expected.shape[d] >= 0 && input.shape[d] != expected.shape[d]) {
        error = which + " must have shape " + expected.str() + ", got " +
                input.str();
        return false;
      }
    }
    size_t bytes = 0;
    std::string why;
    if (!denseByteSize(input.element, input.shape, bytes, why)) {
      error = which + ": " + why;
      return false;
    }
  }
  // The relations between dynamic sizes: the library's check function.
  std::vector<std::vector<int64_t>> descriptors;
  std::vector<void *> args;
  // The check reads sizes, and the contents of offset and length tables
  // when their host data is given (a null pointer skips those).
  for (size_t i = 0; i < inputs.size(); ++i)
    descriptors.push_back(
        describe(hostData && i < hostData->size() ? (*hostData)[i] : nullptr,
                 inputs[i].shape));
  for (auto &descriptor : descriptors)
    args.push_back(descriptor.data());
  auto check = reinterpret_cast<int64_t (*)(void **)>(checkEntries_[index]);
  int64_t violated = check(args.data());
  if (violated != 0) {
    // Content rules (the compiler's ShapeChecks.h marks them) are about
    // the values of a table, not sizes.
    static const std::string contentPrefix = "contents: ";
    std::string constraint = violated > 0 && static_cast<size_t>(violated) <=
                                                 function.constraints.size()
                                 ? function.constraints[violated - 1]
                                 : "constraint #" + std::to_string(violated);
    if (constraint.compare(0, contentPrefix.size(), contentPrefix) == 0)
      error = "input contents of '" + function.name +
              "' are invalid: " + constraint.substr(contentPrefix.size());
    else
      error = "input sizes of '" + function.name + "' disagree: " + constraint;
    error += "; inputs were";
    for (size_t i = 0; i < inputs.size(); ++i)
      error += (i ? ", " : " ") + inputs[i].str();
    return false;
  }
  return true;
}

bool Library::call(const FunctionInfo &function,
                   const std::vector<TensorView> &inputs,
                   std::vector<HostTensor> &results, std::string &error) const {
  if (target_ == "cuda")
    return callThroughDevice(function, inputs, results, error);
  std::vector<TensorType> types;
  std::vector<const void *> data;
  for (const TensorView &input : inputs) {
    types.push_back(input.type());
    data.push_back(input.data);
  }
  if (!validateTypes(function, types, error, &data))
    return false;

  std::vector<std::vector<int64_t>> descriptors;
  for (const TensorView &input : inputs)
    descriptors.push_back(describe(input.data, input.shape));
  std::vector<int64_t> resultDescriptors = invoke(function, descriptors);

  // Copy each result out, then free every kernel allocation once (results
  // may alias each other or an input, which the kernel does not own).
  std::set<const void *> inputBuffers, freed;
  for (const TensorView &input : inputs)
    inputBuffers.insert(input.data);
  results.clear();
  const int64_t *words = resultDescriptors.data();
  bool ok = true;
  for (const TensorType &type : function.results) {
    size_t rank = type.shape.size();
    auto *aligned = reinterpret_cast<const uint8_t *>(words[1]);
    int64_t offset = words[2];
    const int64_t *sizes = words + 3, *strides = words + 3 + rank;
    HostTensor result;
    if (ok && !HostTensor::allocate(type.element,
                                    std::vector<int64_t>(sizes, sizes + rank),
                                    result, error)) {
      error = "result of '" + function.name + "': " + error;
      ok = false;
    }
    size_t bytes = elementSize(type.element);
    if (ok && result.numElements() > 0) {
      auto *out = static_cast<uint8_t *>(result.data());
      gather(aligned + offset * static_cast<int64_t>(bytes), sizes, strides,
             rank, bytes, out);
    }
    if (ok)
      results.push_back(std::move(result));
    words += 3 + 2 * rank;
  }
  words = resultDescriptors.data();
  for (const TensorType &type : function.results) {
    auto *allocated = reinterpret_cast<void *>(words[0]);
    if (allocated && !inputBuffers.count(allocated) &&
        freed.insert(allocated).second)
      std::free(allocated);
    words += 3 + 2 * type.shape.size();
  }
  if (!ok)
    results.clear();
  return ok;
}

std::vector<int64_t>
Library::invoke(const FunctionInfo &function,
                std::vector<std::vector<int64_t>> &descriptors) const {
  size_t resultWords = 0;
  for (const TensorType &result : function.results)
    resultWords += 3 + 2 * result.shape.size();
  std::vector<int64_t> resultDescriptors(std::max<size_t>(resultWords, 1));
  std::vector<void *> args;
  if (!function.results.empty())
    args.push_back(resultDescriptors.data());
  for (auto &descriptor : descriptors)
    args.push_back(descriptor.data());
  size_t index = &function - functions_.data();
  reinterpret_cast<void (*)(void **)>(callEntries_[index])(args.data());
  return resultDescriptors;
}

bool Library::setNumThreads(int64_t threads, std::string &error) const {
  if (threads < 1 || threads > kMaxThreads) {
    error = "the thread count must be between 1 and " +
            std::to_string(kMaxThreads) + ", got " + std::to_string(threads);
    return false;
  }
  // The kernels' OpenMP runtime is a dependency of the library.
  auto setThreads =
      reinterpret_cast<void (*)(int)>(dlsym(handle_, "omp_set_num_threads"));
  if (setThreads)
    setThreads(static_cast<int>(threads));
  else if (threads != 1) {
    error = "'" + path_ + "' has no thread support (compiled without OpenMP)";
    return false;
  }
  return true;
}

} // namespace flt
