//===- Runtime.cpp - load and call compiled flt kernels -------------------===//

#include "flt/Runtime/Runtime.h"

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

HostTensor::HostTensor(ElementType element, std::vector<int64_t> shape)
    : element_(element), shape_(std::move(shape)) {
  bytes_.resize(static_cast<size_t>(numElements()) * elementSize(element_));
}

int64_t HostTensor::numElements() const {
  int64_t count = 1;
  for (int64_t size : shape_)
    count *= size;
  return count;
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
  auto *text = static_cast<const char *>(dlsym(handle, abi::kModuleInfoSymbol));
  if (!text) {
    error = "'" + path + "' is not an flt library (it has no " +
            abi::kModuleInfoSymbol + "); make it with flt-compile";
    return nullptr;
  }
  if (!library->parseModuleInfo(text, error))
    return nullptr;
  for (const FunctionInfo &function : library->functions_) {
    void *call = dlsym(handle, (abi::kCallPrefix + function.name).c_str());
    void *check = dlsym(handle, (abi::kCheckPrefix + function.name).c_str());
    if (!call || !check) {
      error = "'" + path + "' lacks the entry points of function '" +
              function.name + "'";
      return nullptr;
    }
    library->callEntries_.push_back(call);
    library->checkEntries_.push_back(check);
  }
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

bool Library::parseModuleInfo(const char *text, std::string &error) {
  std::istringstream lines(text);
  std::string line;
  auto corrupt = [&](const std::string &why) {
    error = "'" + path_ + "' has a corrupt description (" + why + ")";
    return false;
  };
  FunctionInfo *current = nullptr;
  int format = -1;
  std::string version;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::string key;
    words >> key;
    if (key == "flt-module") {
      words >> format;
    } else if (key == "flt-version") {
      words >> version;
    } else if (key == "target") {
      words >> target_;
    } else if (key == "function") {
      functions_.emplace_back();
      current = &functions_.back();
      words >> current->name;
    } else if (key == "arg" || key == "result") {
      if (!current)
        return corrupt("tensor outside a function");
      std::string element;
      int64_t rank = -1;
      words >> element >> rank;
      std::optional<ElementType> type = parseElementType(element);
      if (!type || rank < 0)
        return corrupt("bad tensor type '" + line + "'");
      TensorType tensor{*type, {}};
      for (int64_t i = 0; i < rank; ++i) {
        std::string size;
        if (!(words >> size))
          return corrupt("short shape in '" + line + "'");
        tensor.shape.push_back(size == "?" ? -1 : std::stoll(size));
      }
      (key == "arg" ? current->args : current->results).push_back(tensor);
    } else if (key == "constraint") {
      if (!current)
        return corrupt("constraint outside a function");
      current->constraints.push_back(line.substr(std::strlen("constraint ")));
    } else if (key == "end") {
      current = nullptr;
    } else if (!key.empty()) {
      return corrupt("unknown item '" + key + "'");
    }
  }
  if (format != abi::kFormatVersion)
    return corrupt("format " + std::to_string(format) + ", expected " +
                   std::to_string(abi::kFormatVersion));
  if (version != FLT_VERSION_STRING) {
    error = "'" + path_ + "' was compiled by flt " + version +
            " but this runtime is flt " FLT_VERSION_STRING
            "; recompile it with this flt-compile";
    return false;
  }
  if (target_ != "cpu" && target_ != "cuda")
    return corrupt("unknown target '" + target_ + "'");
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

bool Library::validate(const FunctionInfo &function,
                       const std::vector<HostTensor> &inputs,
                       std::string &error) const {
  std::vector<TensorType> types;
  for (const HostTensor &input : inputs)
    types.push_back({input.element(), input.shape()});
  return validateTypes(function, types, error);
}

bool Library::validateTypes(const FunctionInfo &function,
                            const std::vector<TensorType> &inputs,
                            std::string &error) const {
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
  }
  // The relations between dynamic sizes: the library's check function.
  std::vector<std::vector<int64_t>> descriptors;
  std::vector<void *> args;
  // The check reads sizes only: no data pointer is needed.
  for (const TensorType &input : inputs)
    descriptors.push_back(describe(nullptr, input.shape));
  for (auto &descriptor : descriptors)
    args.push_back(descriptor.data());
  size_t index = &function - functions_.data();
  auto check = reinterpret_cast<int64_t (*)(void **)>(checkEntries_[index]);
  int64_t violated = check(args.data());
  if (violated != 0) {
    error = "input sizes of '" + function.name + "' disagree: ";
    if (violated > 0 &&
        static_cast<size_t>(violated) <= function.constraints.size())
      error += function.constraints[violated - 1];
    else
      error += "constraint #" + std::to_string(violated);
    error += "; inputs were";
    for (size_t i = 0; i < inputs.size(); ++i)
      error += (i ? ", " : " ") + inputs[i].str();
    return false;
  }
  return true;
}

bool Library::call(const FunctionInfo &function,
                   const std::vector<HostTensor> &inputs,
                   std::vector<HostTensor> &results, std::string &error) const {
  if (target_ == "cuda")
    return callThroughDevice(function, inputs, results, error);
  if (!validate(function, inputs, error))
    return false;

  std::vector<std::vector<int64_t>> descriptors;
  for (const HostTensor &input : inputs)
    descriptors.push_back(describe(input.data(), input.shape()));
  std::vector<int64_t> resultDescriptors = invoke(function, descriptors);

  // Copy each result out, then free every kernel allocation once (results
  // may alias each other or an input, which the kernel does not own).
  std::set<const void *> inputBuffers, freed;
  for (const HostTensor &input : inputs)
    inputBuffers.insert(input.data());
  results.clear();
  const int64_t *words = resultDescriptors.data();
  for (const TensorType &type : function.results) {
    size_t rank = type.shape.size();
    auto *aligned = reinterpret_cast<const uint8_t *>(words[1]);
    int64_t offset = words[2];
    const int64_t *sizes = words + 3, *strides = words + 3 + rank;
    HostTensor result(type.element, std::vector<int64_t>(sizes, sizes + rank));
    size_t bytes = elementSize(type.element);
    if (result.numElements() > 0) {
      auto *out = static_cast<uint8_t *>(result.data());
      gather(aligned + offset * static_cast<int64_t>(bytes), sizes, strides,
             rank, bytes, out);
    }
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
  return true;
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

bool Library::setNumThreads(int threads, std::string &error) const {
  if (threads < 1) {
    error =
        "the thread count must be at least 1, got " + std::to_string(threads);
    return false;
  }
  // The kernels' OpenMP runtime is a dependency of the library.
  auto setThreads =
      reinterpret_cast<void (*)(int)>(dlsym(handle_, "omp_set_num_threads"));
  if (setThreads)
    setThreads(threads);
  else if (threads != 1) {
    error = "'" + path_ + "' has no thread support (compiled without OpenMP)";
    return false;
  }
  return true;
}

} // namespace flt
