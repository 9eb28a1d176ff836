//===- RuntimeModule.cpp - the flt._runtime pybind11 extension ------------===//
//
// Loading and calling compiled flt libraries from Python, over
// libFLTRuntime alone: this extension links neither libMLIR nor libLLVM,
// so that `flt.runtime` works on a machine that has only the compiled
// libraries, the runtime and (for --target=cuda) the CUDA driver, such as
// a GPU host the libraries were copied to. The pure-Python module
// python_bindings/flt/runtime.py builds the user-facing API on it.
//
// Host calls take and return numpy arrays. Device calls (--target=cuda)
// take and return device buffers as (pointer, element, shape) triples:
// results are new allocations the caller frees with free_device. Inputs
// that do not fit a signature throw ValueError; a failure while running
// (a CUDA driver error, no GPU) throws RuntimeError.
//
// Example (Python):
//   lib = flt._runtime.Library("/tmp/la.so")
//   pointer = lib.to_device("f32", array)
//   [(out, element, shape)] = lib.call_device("la", [(pointer, "f32",
//                                                     array.shape), ...])
//   host = lib.to_host(out, element, shape); lib.free_device(out)
//
//===----------------------------------------------------------------------===//

#include "flt/Runtime/Runtime.h"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>

namespace py = pybind11;

namespace {

/// numpy dtype names of the runtime's element types. bf16 travels as its
/// raw bits in uint16 arrays; the Python side converts.
const char *numpyName(::flt::ElementType type) {
  switch (type) {
  case ::flt::ElementType::F32:
    return "float32";
  case ::flt::ElementType::F16:
    return "float16";
  case ::flt::ElementType::BF16:
    return "uint16";
  case ::flt::ElementType::F64:
    return "float64";
  case ::flt::ElementType::I32:
    return "int32";
  case ::flt::ElementType::I64:
    return "int64";
  }
  return "float32";
}

::flt::ElementType parseElement(const std::string &name) {
  std::optional<::flt::ElementType> element = ::flt::parseElementType(name);
  if (!element)
    throw py::value_error("unknown element type '" + name +
                          "' (f32, f16, bf16, f64, i32 or i64)");
  return *element;
}

py::tuple tensorType(const ::flt::TensorType &type) {
  return py::make_tuple(::flt::elementName(type.element), type.shape);
}

/// A device buffer as Python sees it: (pointer, element, shape).
using DeviceTriple = std::tuple<uintptr_t, std::string, std::vector<int64_t>>;

class PyLibrary {
public:
  explicit PyLibrary(const std::string &path) {
    std::string error;
    library = ::flt::Library::load(path, error);
    if (!library)
      throw std::runtime_error(error);
  }

  std::string target() const { return library->target(); }

  /// [(name, [(element, shape)], [(element, shape)], [constraint])].
  py::list functions() const {
    py::list list;
    for (const ::flt::FunctionInfo &f : library->functions()) {
      py::list args, results;
      for (const ::flt::TensorType &t : f.args)
        args.append(tensorType(t));
      for (const ::flt::TensorType &t : f.results)
        results.append(tensorType(t));
      list.append(py::make_tuple(f.name, args, results, f.constraints));
    }
    return list;
  }

  /// Calls `name` on C-contiguous arrays whose dtypes the Python side has
  /// already matched to the signature; returns the results as new arrays.
  py::list call(const std::string &name, const std::vector<py::array> &arrays) {
    const ::flt::FunctionInfo &function = find(name, arrays.size());
    std::vector<::flt::HostTensor> inputs;
    for (size_t i = 0; i < arrays.size(); ++i)
      inputs.push_back(hostTensor(arrays[i], function.args[i].element, i));
    std::vector<::flt::HostTensor> results;
    std::string error;
    if (!library->validate(function, inputs, error))
      throw py::value_error(error);
    bool ok;
    {
      // The kernels do not touch Python objects; let other threads run.
      py::gil_scoped_release release;
      ok = library->call(function, inputs, results, error);
    }
    if (!ok)
      throw std::runtime_error(error);
    py::list out;
    for (::flt::HostTensor &result : results)
      out.append(toArray(result));
    return out;
  }

  /// Whether a CUDA driver and device are usable; the reason when not.
  std::pair<bool, std::string> cudaAvailable() const {
    std::string error;
    bool ok = library->cudaAvailable(error);
    return {ok, error};
  }

  /// A new device buffer holding `array`'s bytes as `element`s; 0 for an
  /// empty array.
  uintptr_t toDevice(const std::string &element, const py::array &array) {
    ::flt::HostTensor tensor = hostTensor(array, parseElement(element), 0);
    ::flt::DeviceTensor device;
    std::string error;
    if (!library->toDevice(tensor, device, error))
      throw std::runtime_error(error);
    return reinterpret_cast<uintptr_t>(device.data);
  }

  /// A host copy of a device buffer.
  py::array toHost(uintptr_t pointer, const std::string &element,
                   const std::vector<int64_t> &shape) {
    ::flt::HostTensor tensor;
    std::string error;
    if (!library->toHost(deviceTensor({pointer, element, shape}), tensor,
                         error))
      throw std::runtime_error(error);
    return toArray(tensor);
  }

  void freeDevice(uintptr_t pointer) {
    ::flt::DeviceTensor tensor;
    tensor.data = reinterpret_cast<void *>(pointer);
    library->freeDevice(tensor);
  }

  /// Calls `name` on device buffers; returns its results as new device
  /// buffers (the caller frees them).
  std::vector<DeviceTriple> callDevice(const std::string &name,
                                       const std::vector<DeviceTriple> &args) {
    const ::flt::FunctionInfo &function = find(name, args.size());
    std::vector<::flt::DeviceTensor> inputs;
    std::vector<::flt::TensorType> types;
    for (const DeviceTriple &arg : args) {
      inputs.push_back(deviceTensor(arg));
      types.push_back({inputs.back().element, inputs.back().shape});
    }
    std::string error;
    if (!library->validateTypes(function, types, error))
      throw py::value_error(error);
    std::vector<::flt::DeviceTensor> results;
    bool ok;
    {
      py::gil_scoped_release release;
      ok = library->callDevice(function, inputs, results, error);
    }
    if (!ok)
      throw std::runtime_error(error);
    std::vector<DeviceTriple> out;
    for (const ::flt::DeviceTensor &result : results)
      out.emplace_back(reinterpret_cast<uintptr_t>(result.data),
                       ::flt::elementName(result.element), result.shape);
    return out;
  }

  void setNumThreads(int threads) {
    std::string error;
    if (!library->setNumThreads(threads, error))
      throw py::value_error(error);
  }

private:
  const ::flt::FunctionInfo &find(const std::string &name, size_t arguments) {
    const ::flt::FunctionInfo *function = library->find(name);
    if (!function)
      throw py::value_error("no function '" + name + "' in the library");
    if (arguments != function->args.size())
      throw py::value_error(name + " takes " +
                            std::to_string(function->args.size()) +
                            " arguments, got " + std::to_string(arguments));
    return *function;
  }

  static ::flt::HostTensor
  hostTensor(const py::array &array, ::flt::ElementType element, size_t index) {
    std::vector<int64_t> shape(array.shape(), array.shape() + array.ndim());
    ::flt::HostTensor tensor(element, shape);
    if (!(array.flags() & py::array::c_style) ||
        static_cast<size_t>(array.nbytes()) != tensor.byteSize() ||
        array.itemsize() !=
            static_cast<py::ssize_t>(::flt::elementSize(element)))
      throw py::value_error("argument " + std::to_string(index) +
                            ": expected a C-contiguous " + numpyName(element) +
                            " array");
    std::memcpy(tensor.data(), array.data(), tensor.byteSize());
    return tensor;
  }

  static ::flt::DeviceTensor deviceTensor(const DeviceTriple &triple) {
    ::flt::DeviceTensor tensor;
    tensor.data = reinterpret_cast<void *>(std::get<0>(triple));
    tensor.element = parseElement(std::get<1>(triple));
    tensor.shape = std::get<2>(triple);
    for (int64_t size : tensor.shape)
      if (size < 0)
        throw py::value_error("a device buffer's sizes must be non-negative");
    if (!tensor.data && tensor.numElements() != 0)
      throw py::value_error("a non-empty device buffer at address 0");
    return tensor;
  }

  static py::array toArray(const ::flt::HostTensor &tensor) {
    py::array array(py::dtype(numpyName(tensor.element())), tensor.shape());
    std::memcpy(array.mutable_data(), tensor.data(), tensor.byteSize());
    return array;
  }

  std::unique_ptr<::flt::Library> library;
};

} // namespace

PYBIND11_MODULE(_runtime, m) {
  m.doc() = "flt's runtime: load and call compiled flt libraries (use "
            "`flt.runtime` instead)";
  m.def("runtime_version", [] { return std::string(::flt::runtimeVersion()); });

  py::class_<PyLibrary>(m, "Library")
      .def(py::init<const std::string &>(), py::arg("path"))
      .def_property_readonly("target", &PyLibrary::target)
      .def("functions", &PyLibrary::functions)
      .def("call", &PyLibrary::call, py::arg("name"), py::arg("arrays"))
      .def("cuda_available", &PyLibrary::cudaAvailable)
      .def("to_device", &PyLibrary::toDevice, py::arg("element"),
           py::arg("array"))
      .def("to_host", &PyLibrary::toHost, py::arg("pointer"),
           py::arg("element"), py::arg("shape"))
      .def("free_device", &PyLibrary::freeDevice, py::arg("pointer"))
      .def("call_device", &PyLibrary::callDevice, py::arg("name"),
           py::arg("arguments"))
      .def("set_num_threads", &PyLibrary::setNumThreads, py::arg("threads"));
}
