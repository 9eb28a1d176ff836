//===- FLTModule.cpp - the flt._native pybind11 extension ----------------===//
//
// The C++ half of `import flt`: parse / verify / print modules and run pass
// pipelines (libMLIR), compile a module to a shared library (FLTCompiler),
// and load and call compiled libraries (libFLTRuntime). The pure-Python
// package (python_bindings/flt) builds the user-facing API on these few
// entry points.
//
// MLIR reports problems as diagnostics, not exceptions; every entry point
// here collects them and throws one `CompileFailure` (turned into
// flt.CompileError by the Python side) carrying each diagnostic's location
// and message. A call with inputs that do not fit the signature throws
// ValueError; one that fails while running (a CUDA driver error) throws
// RuntimeError.
//
// Example (Python):
//   text = flt._native.parse("func.func @f() { return }", "<string>")
//   flt._native.compile_module(text, "<string>", "/tmp/f.so", {...})
//   lib = flt._native.Library("/tmp/f.so")
//
//===----------------------------------------------------------------------===//

#include "flt/Compiler/Compiler.h"
#include "flt/Conversion/Passes.h"
#include "flt/Dialect/FLT/IR/FLTDialect.h"
#include "flt/Dialect/FLT/Transforms/Passes.h"
#include "flt/Pipelines/Pipelines.h"
#include "flt/Runtime/Runtime.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"

#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <mutex>

namespace py = pybind11;
using namespace mlir;

namespace {

/// One diagnostic: (severity, file, line, column, message).
using DiagnosticRecord =
    std::tuple<std::string, std::string, unsigned, unsigned, std::string>;

/// Thrown (as the Python exception registered in the module) when parsing,
/// verification, a pass pipeline or compilation fails.
struct CompileFailure {
  std::string summary;
  std::vector<DiagnosticRecord> diagnostics;
};

/// Registers the dialects and passes flt-opt knows, once per process.
const DialectRegistry &registry() {
  static DialectRegistry *registry = [] {
    registerAllPasses();
    mlir::flt::registerFLTPasses();
    mlir::flt::registerFLTConversionPasses();
    mlir::flt::registerFLTPipelines();
    auto *r = new DialectRegistry;
    registerAllDialects(*r);
    registerAllExtensions(*r);
    r->insert<mlir::flt::FLTDialect>();
    return r;
  }();
  return *registry;
}

/// A context, its parsed module, and every diagnostic reported on it.
class Session {
public:
  Session() : context(registry(), MLIRContext::Threading::DISABLED) {
    context.loadAllAvailableDialects();
    handler = context.getDiagEngine().registerHandler([this](Diagnostic &d) {
      std::string file;
      unsigned line = 0, column = 0;
      if (auto loc = dyn_cast<FileLineColLoc>(d.getLocation())) {
        file = loc.getFilename().str();
        line = loc.getLine();
        column = loc.getColumn();
      }
      std::string message = d.str();
      for (Diagnostic &note : d.getNotes())
        message += "\n  note: " + note.str();
      const char *severity =
          d.getSeverity() == DiagnosticSeverity::Error     ? "error"
          : d.getSeverity() == DiagnosticSeverity::Warning ? "warning"
                                                           : "remark";
      diagnostics.emplace_back(severity, file, line, column, message);
      return success();
    });
  }
  ~Session() { context.getDiagEngine().eraseHandler(handler); }

  /// Parses (and verifies) `text`; throws CompileFailure on an error.
  void parse(const std::string &text, const std::string &filename) {
    llvm::SourceMgr sourceMgr;
    sourceMgr.AddNewSourceBuffer(
        llvm::MemoryBuffer::getMemBufferCopy(text, filename), llvm::SMLoc());
    module = parseSourceFile<ModuleOp>(sourceMgr, &context);
    if (!module)
      fail("cannot parse " + filename);
  }

  std::string print(bool generic) {
    std::string text;
    llvm::raw_string_ostream os(text);
    OpPrintingFlags flags;
    if (generic)
      flags.printGenericOpForm();
    module->print(os, flags);
    return text;
  }

  [[noreturn]] void fail(const std::string &summary) {
    throw CompileFailure{summary, diagnostics};
  }

  MLIRContext context;
  OwningOpRef<ModuleOp> module;
  std::vector<DiagnosticRecord> diagnostics;

private:
  DiagnosticEngine::HandlerID handler;
};

std::string parseAndPrint(const std::string &text, const std::string &filename,
                          bool generic) {
  Session session;
  session.parse(text, filename);
  return session.print(generic);
}

std::string runPipeline(const std::string &text, const std::string &filename,
                        const std::string &pipeline) {
  Session session;
  session.parse(text, filename);
  PassManager pm(&session.context);
  std::string error;
  llvm::raw_string_ostream errorStream(error);
  if (failed(parsePassPipeline(pipeline, pm, errorStream)))
    throw CompileFailure{"invalid pass pipeline '" + pipeline + "': " + error,
                         {}};
  if (failed(pm.run(*session.module)))
    session.fail("pass pipeline '" + pipeline + "' failed");
  return session.print(/*generic=*/false);
}

/// Compiles `text` into the shared library `outputPath`. `options` holds
/// flt-compile's options under their Python spellings.
void compileModule(const std::string &text, const std::string &filename,
                   const std::string &outputPath, const py::dict &options) {
  mlir::flt::CompileOptions compile;
  compile.sanitizeAddress = mlir::flt::builtWithAddressSanitizer();
  for (auto [key, value] : options) {
    std::string name = py::str(key);
    if (name == "target")
      compile.target = value.cast<std::string>();
    else if (name == "cpu")
      compile.cpu = value.cast<std::string>();
    else if (name == "cuda_chip")
      compile.cudaChip = value.cast<std::string>();
    else if (name == "fuse_kronecker")
      compile.fuseKronecker = value.cast<bool>();
    else if (name == "linear_attention_form")
      compile.linearAttentionForm = value.cast<std::string>();
    else if (name == "token_tile")
      compile.tokenTile = value.cast<int64_t>();
    else if (name == "value_slice")
      compile.valueSlice = value.cast<int64_t>();
    else if (name == "register_rows")
      compile.registerRows = value.cast<int64_t>();
    else if (name == "raise_attention")
      compile.raiseAttention = value.cast<bool>();
    else if (name == "vectorize")
      compile.vectorize = value.cast<bool>();
    else if (name == "parallel")
      compile.parallel = value.cast<bool>();
    else if (name == "threads")
      compile.threads = value.cast<int64_t>();
    else
      throw py::type_error("flt.compile: unknown option '" + name + "'");
  }
  if (compile.tokenTile < 0 || compile.valueSlice < 0 ||
      compile.registerRows < 0 || compile.threads < 0)
    throw py::value_error("flt.compile: token_tile, value_slice, "
                          "register_rows and threads must be non-negative "
                          "(0: the target's default)");
  Session session;
  session.parse(text, filename);
  // compileModule runs passes and an external linker; one at a time keeps
  // the diagnostics of concurrent Python threads apart.
  static std::mutex compileMutex;
  std::lock_guard<std::mutex> lock(compileMutex);
  if (failed(mlir::flt::compileModule(*session.module, compile, outputPath)))
    session.fail("compilation failed");
}

//===----------------------------------------------------------------------===//
// Runtime
//===----------------------------------------------------------------------===//

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

py::tuple tensorType(const ::flt::TensorType &type) {
  return py::make_tuple(::flt::elementName(type.element), type.shape);
}

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
    const ::flt::FunctionInfo *function = library->find(name);
    if (!function)
      throw py::value_error("no function '" + name + "' in the library");
    if (arrays.size() != function->args.size())
      throw py::value_error(name + " takes " +
                            std::to_string(function->args.size()) +
                            " arguments, got " + std::to_string(arrays.size()));
    std::vector<::flt::HostTensor> inputs;
    for (size_t i = 0; i < arrays.size(); ++i) {
      const py::array &array = arrays[i];
      const ::flt::TensorType &expected = function->args[i];
      std::vector<int64_t> shape(array.shape(), array.shape() + array.ndim());
      ::flt::HostTensor tensor(expected.element, shape);
      if (!(array.flags() & py::array::c_style) ||
          static_cast<size_t>(array.nbytes()) != tensor.byteSize() ||
          array.itemsize() !=
              static_cast<py::ssize_t>(::flt::elementSize(expected.element)))
        throw py::value_error("argument " + std::to_string(i) +
                              ": expected a C-contiguous " +
                              numpyName(expected.element) + " array");
      std::memcpy(tensor.data(), array.data(), tensor.byteSize());
      inputs.push_back(std::move(tensor));
    }
    std::vector<::flt::HostTensor> results;
    std::string error;
    if (!library->validate(*function, inputs, error))
      throw py::value_error(error);
    bool ok;
    {
      // The kernels do not touch Python objects; let other threads run.
      py::gil_scoped_release release;
      ok = library->call(*function, inputs, results, error);
    }
    if (!ok)
      throw std::runtime_error(error);
    py::list out;
    for (::flt::HostTensor &result : results) {
      py::array array(py::dtype(numpyName(result.element())), result.shape());
      std::memcpy(array.mutable_data(), result.data(), result.byteSize());
      out.append(array);
    }
    return out;
  }

  void setNumThreads(int threads) {
    std::string error;
    if (!library->setNumThreads(threads, error))
      throw py::value_error(error);
  }

private:
  std::unique_ptr<::flt::Library> library;
};

} // namespace

PYBIND11_MODULE(_native, m) {
  m.doc() = "flt's native half: MLIR parsing, pipelines, compilation and the "
            "runtime (use the `flt` package instead)";

  static py::exception<CompileFailure> compileFailure(m, "CompileFailure");
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p)
        std::rethrow_exception(p);
    } catch (const CompileFailure &failure) {
      py::list diagnostics;
      for (const DiagnosticRecord &d : failure.diagnostics)
        diagnostics.append(py::cast(d));
      py::object error =
          py::handle(compileFailure.ptr())(failure.summary, diagnostics);
      PyErr_SetObject(compileFailure.ptr(), error.ptr());
    }
  });

  m.def("parse", &parseAndPrint, py::arg("text"), py::arg("filename"),
        py::arg("generic") = false,
        "Parses and verifies a module; returns it printed.");
  m.def("run_pipeline", &runPipeline, py::arg("text"), py::arg("filename"),
        py::arg("pipeline"),
        "Runs a textual pass pipeline (flt-opt's syntax) on a module.");
  m.def("compile_module", &compileModule, py::arg("text"), py::arg("filename"),
        py::arg("output"), py::arg("options"),
        "Compiles a module into a shared library.");
  m.def("runtime_version", [] { return std::string(::flt::runtimeVersion()); });

  py::class_<PyLibrary>(m, "Library")
      .def(py::init<const std::string &>(), py::arg("path"))
      .def_property_readonly("target", &PyLibrary::target)
      .def("functions", &PyLibrary::functions)
      .def("call", &PyLibrary::call, py::arg("name"), py::arg("arrays"))
      .def("set_num_threads", &PyLibrary::setNumThreads, py::arg("threads"));
}
