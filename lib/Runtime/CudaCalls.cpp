//===- CudaCalls.cpp - calling --target=cuda libraries --------------------===//
//
// Device buffers in, device buffers out: the compiled host function takes
// memref descriptors of device pointers, launches its kernels on a stream
// of its own and waits for them before it returns; its results are
// device allocations the caller frees. Everything CUDA goes through the
// wrappers inside the library (flt/Runtime/CudaABI.h).
//
//===----------------------------------------------------------------------===//

#include "flt/Runtime/Runtime.h"

#include "flt/Runtime/CudaABI.h"

#include "Descriptors.h"

#include <dlfcn.h>

#include <set>

namespace flt {

namespace {

template <typename F>
bool lookup(void *handle, F &function, const char *name, std::string &missing) {
  function = reinterpret_cast<F>(dlsym(handle, name));
  if (!function && missing.empty())
    missing = name;
  return function != nullptr;
}

/// The first CUDA error since the last check, cleared; "" if none.
std::string takeError(const CudaEntryPoints &cuda) {
  std::string message = cuda.error();
  cuda.clearError();
  return message;
}

} // namespace

bool CudaEntryPoints::resolve(void *handle, std::string &missing) {
  bool ok = true;
#define FLT_RESOLVE_CUDA_ENTRY_POINT(FIELD, SYMBOL, RETURN, PARAMETERS)        \
  ok &= lookup(handle, FIELD, #SYMBOL, missing);
  FLT_CUDA_ENTRY_POINTS(FLT_RESOLVE_CUDA_ENTRY_POINT)
#undef FLT_RESOLVE_CUDA_ENTRY_POINT
  return ok;
}

int64_t DeviceTensor::numElements() const {
  int64_t count = 1;
  for (int64_t size : shape)
    count *= size;
  return count;
}

size_t DeviceTensor::byteSize() const {
  return static_cast<size_t>(numElements()) * elementSize(element);
}

bool Library::cudaAvailable(std::string &error) const {
  if (!cuda_) {
    error = "'" + path_ + "' was compiled for " + target_ +
            ", not for CUDA (--target=cuda)";
    return false;
  }
  // A failure while the library was loaded (its kernels' module) is kept
  // by the wrappers and reported here.
  if (cuda_->initialize() != 0 || *cuda_->error()) {
    error = "--device=cuda: " + takeError(*cuda_);
    return false;
  }
  return true;
}

bool Library::toDevice(const TensorView &tensor, DeviceTensor &device,
                       std::string &error) const {
  if (!cudaAvailable(error))
    return false;
  size_t bytes = 0;
  if (!denseByteSize(tensor.element, tensor.shape, bytes, error))
    return false;
  if (bytes > 0 && !tensor.data) {
    error = "copying " + tensor.type().str() + " to the GPU: no data";
    return false;
  }
  device.element = tensor.element;
  device.shape = tensor.shape;
  device.data = nullptr;
  if (bytes == 0)
    return true;
  device.data = cuda_->memAlloc(bytes, nullptr, false);
  if (device.data)
    cuda_->copy(device.data, tensor.data, bytes, nullptr, 1);
  std::string message = takeError(*cuda_);
  if (!message.empty()) {
    freeDevice(device);
    error = "copying " + tensor.type().str() + " to the GPU: " + message;
    return false;
  }
  return true;
}

bool Library::toHost(const DeviceTensor &device, HostTensor &tensor,
                     std::string &error) const {
  if (!cudaAvailable(error))
    return false;
  if (!HostTensor::allocate(device.element, device.shape, tensor, error))
    return false;
  if (tensor.byteSize() == 0)
    return true;
  if (!device.data) {
    error = "copying " + tensor.str() + " from the GPU: no device buffer";
    return false;
  }
  cuda_->copy(tensor.data(), device.data, tensor.byteSize(), nullptr, 1);
  std::string message = takeError(*cuda_);
  if (!message.empty()) {
    error = "copying " + tensor.str() + " from the GPU: " + message;
    return false;
  }
  return true;
}

void Library::freeDevice(DeviceTensor &tensor) const {
  if (cuda_ && tensor.data)
    cuda_->memFree(tensor.data, nullptr);
  tensor.data = nullptr;
}

bool Library::callDevice(const FunctionInfo &function,
                         const std::vector<DeviceTensor> &inputs,
                         std::vector<DeviceTensor> &results,
                         std::string &error) const {
  if (!cudaAvailable(error))
    return false;
  std::vector<TensorType> types;
  for (const DeviceTensor &input : inputs)
    types.push_back({input.element, input.shape});
  if (!validateTypes(function, types, error))
    return false;

  std::vector<std::vector<int64_t>> descriptors;
  for (const DeviceTensor &input : inputs)
    descriptors.push_back(describe(input.data, input.shape));
  std::vector<int64_t> resultDescriptors = invoke(function, descriptors);

  // Results: dense copies of whatever the function returned (a result may
  // be a strided view or an input), so the caller owns each one.
  std::string message = takeError(*cuda_);
  std::set<const void *> inputBuffers, freed;
  for (const DeviceTensor &input : inputs)
    inputBuffers.insert(input.data);
  results.clear();
  const int64_t *words = resultDescriptors.data();
  for (const TensorType &type : function.results) {
    size_t rank = type.shape.size();
    const int64_t *sizes = words + 3, *strides = words + 3 + rank;
    DeviceTensor result;
    result.element = type.element;
    result.shape.assign(sizes, sizes + rank);
    auto *allocated = reinterpret_cast<void *>(words[0]);
    auto *aligned = reinterpret_cast<uint8_t *>(words[1]);
    size_t bytes = elementSize(type.element);
    bool dense =
        words[2] == 0 && aligned == allocated && !inputBuffers.count(allocated);
    int64_t stride = 1;
    for (size_t i = rank; i-- > 0 && dense;) {
      dense = sizes[i] == 1 || strides[i] == stride;
      stride *= sizes[i];
    }
    if (message.empty() && result.numElements() > 0) {
      if (dense && freed.insert(allocated).second) {
        result.data = allocated; // hand the kernel's buffer over
      } else {
        // Gather on the host, then a fresh dense device buffer.
        int64_t extent = 1;
        for (size_t i = 0; i < rank; ++i)
          extent += (sizes[i] - 1) * strides[i];
        std::vector<uint8_t> span(extent * bytes), packed(result.byteSize());
        cuda_->copy(span.data(), aligned + words[2] * bytes, span.size(),
                    nullptr, 1);
        uint8_t *out = packed.data();
        gather(span.data(), sizes, strides, rank, bytes, out);
        result.data = cuda_->memAlloc(packed.size(), nullptr, false);
        if (result.data)
          cuda_->copy(result.data, packed.data(), packed.size(), nullptr, 1);
      }
    }
    results.push_back(result);
    words += 3 + 2 * rank;
  }
  // Kernel buffers not handed over (views, duplicates) are freed here.
  words = resultDescriptors.data();
  for (const TensorType &type : function.results) {
    auto *allocated = reinterpret_cast<void *>(words[0]);
    bool handedOver = false;
    for (const DeviceTensor &result : results)
      handedOver |= result.data == allocated;
    if (allocated && !handedOver && !inputBuffers.count(allocated) &&
        freed.insert(allocated).second)
      cuda_->memFree(allocated, nullptr);
    words += 3 + 2 * type.shape.size();
  }
  if (message.empty())
    message = takeError(*cuda_);
  if (!message.empty()) {
    for (DeviceTensor &result : results)
      freeDevice(result);
    results.clear();
    error = "running '" + function.name + "' on the GPU: " + message;
    return false;
  }
  return true;
}

bool Library::callThroughDevice(const FunctionInfo &function,
                                const std::vector<TensorView> &inputs,
                                std::vector<HostTensor> &results,
                                std::string &error) const {
  std::vector<TensorType> types;
  std::vector<const void *> data;
  for (const TensorView &input : inputs) {
    types.push_back(input.type());
    data.push_back(input.data);
  }
  if (!validateTypes(function, types, error, &data) || !cudaAvailable(error))
    return false;
  std::vector<DeviceTensor> deviceInputs, deviceResults;
  bool ok = true;
  for (const TensorView &input : inputs) {
    DeviceTensor device;
    ok = ok && toDevice(input, device, error);
    deviceInputs.push_back(device);
  }
  ok = ok && callDevice(function, deviceInputs, deviceResults, error);
  results.clear();
  for (DeviceTensor &result : deviceResults) {
    HostTensor host;
    ok = ok && toHost(result, host, error);
    results.push_back(std::move(host));
    freeDevice(result);
  }
  for (DeviceTensor &input : deviceInputs)
    freeDevice(input);
  return ok;
}

bool Library::timeDevice(const FunctionInfo &function,
                         const std::vector<DeviceTensor> &inputs, int calls,
                         std::vector<double> &milliseconds,
                         std::string &error) const {
  if (!cudaAvailable(error))
    return false;
  milliseconds.clear();
  // Every event call is checked before the next: a failed record ends the
  // timing (no elapsed time between events that were never recorded).
  auto eventsOk = [&] {
    std::string message = takeError(*cuda_);
    if (message.empty())
      return true;
    error = "timing '" + function.name + "' on the GPU: " + message;
    return false;
  };
  void *start = cuda_->eventCreate(), *stop = cuda_->eventCreate();
  bool ok = eventsOk();
  for (int i = 0; i < calls && ok; ++i) {
    // The kernels' stream synchronizes with the default stream, so events
    // recorded there bracket exactly this call's GPU work.
    cuda_->eventRecord(start, nullptr);
    std::vector<DeviceTensor> results;
    ok = eventsOk() && callDevice(function, inputs, results, error);
    for (DeviceTensor &result : results)
      freeDevice(result);
    if (!ok)
      break;
    cuda_->eventRecord(stop, nullptr);
    cuda_->eventSynchronize(stop);
    float elapsed = 0.0f;
    if ((ok = eventsOk())) {
      elapsed = cuda_->elapsedMs(start, stop);
      ok = eventsOk();
    }
    if (ok)
      milliseconds.push_back(elapsed);
  }
  cuda_->eventDestroy(start);
  cuda_->eventDestroy(stop);
  if (ok)
    ok = eventsOk();
  else
    cuda_->clearError();
  return ok;
}

} // namespace flt
