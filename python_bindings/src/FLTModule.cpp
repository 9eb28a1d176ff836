//===- FLTModule.cpp - the flt._native pybind11 extension ----------------===//
//
// The compiler half of `import flt`: parse / verify / print modules and run
// pass pipelines (libMLIR) and compile a module to a shared library
// (FLTCompiler). Loading and calling the libraries is flt._runtime's
// (RuntimeModule.cpp), which needs no MLIR. The pure-Python package
// (python_bindings/flt) builds the user-facing API on these few entry
// points.
//
// MLIR reports problems as diagnostics, not exceptions; every entry point
// here collects them and throws one `CompileFailure` (turned into
// flt.CompileError by the Python side) carrying each diagnostic's location
// and message.
//
// Example (Python):
//   text = flt._native.parse("func.func @f() { return }", "<string>")
//   flt._native.compile_module(text, "<string>", "/tmp/f.so", {...})
//
//===----------------------------------------------------------------------===//

#include "flt/Codegen/Options.h"
#include "flt/Compiler/Compiler.h"
#include "flt/InitAll.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"

#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <limits>
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
    mlir::flt::registerAllFLTPasses();
    auto *r = new DialectRegistry;
    mlir::flt::registerAllFLTDialects(*r);
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

/// The option table (flt/Codegen/Options.def) as Python sees it: one dict
/// per keyword flt.compile accepts.
py::list optionTable() {
  py::list table;
  mlir::flt::CompileOptions defaults;
  for (const mlir::flt::OptionInfo &info : mlir::flt::getOptionTable()) {
    if (info.python.empty())
      continue;
    py::dict row;
    row["name"] = info.python.str();
    row["help"] = info.help.str();
    switch (info.kind) {
    case mlir::flt::OptionInfo::Kind::Bool:
      row["type"] = "bool";
      row["default"] = defaults.*info.boolField;
      break;
    case mlir::flt::OptionInfo::Kind::Int:
      row["type"] = "int";
      row["default"] = defaults.*info.intField;
      row["min"] = info.min;
      row["max"] = info.max;
      break;
    case mlir::flt::OptionInfo::Kind::String: {
      row["type"] = "str";
      row["default"] = defaults.*info.stringField;
      py::list choices;
      for (llvm::StringRef choice : info.choiceList())
        choices.append(choice.str());
      row["choices"] = choices;
      break;
    }
    }
    table.append(row);
  }
  return table;
}

/// Compiles `text` into the shared library `outputPath`. `options` holds
/// flt-compile's options under their Python spellings (the option table);
/// a wrong name or type is a TypeError, a value out of range a ValueError.
void compileModule(const std::string &text, const std::string &filename,
                   const std::string &outputPath, const py::dict &options) {
  mlir::flt::CompileOptions compile;
  for (auto [key, value] : options) {
    std::string name = py::str(key);
    const mlir::flt::OptionInfo *info = nullptr;
    for (const mlir::flt::OptionInfo &row : mlir::flt::getOptionTable())
      if (!row.python.empty() && row.python == name)
        info = &row;
    if (!info)
      throw py::type_error("flt.compile: unknown option '" + name + "'");
    std::string type = py::str(py::type::of(value).attr("__name__"));
    switch (info->kind) {
    case mlir::flt::OptionInfo::Kind::Bool:
      if (!py::isinstance<py::bool_>(value))
        throw py::type_error("flt.compile: " + name + " must be a bool, not " +
                             type);
      compile.*info->boolField = value.cast<bool>();
      break;
    case mlir::flt::OptionInfo::Kind::Int: {
      // bool is an int in Python; an option that counts is not a flag.
      if (!py::isinstance<py::int_>(value) || py::isinstance<py::bool_>(value))
        throw py::type_error("flt.compile: " + name + " must be an int, not " +
                             type);
      // Out of int64's range: reported as out of the option's range.
      int overflow = 0;
      long long number = PyLong_AsLongLongAndOverflow(value.ptr(), &overflow);
      if (overflow)
        number = overflow > 0 ? std::numeric_limits<long long>::max()
                              : std::numeric_limits<long long>::min();
      compile.*info->intField = number;
      break;
    }
    case mlir::flt::OptionInfo::Kind::String:
      if (!py::isinstance<py::str>(value))
        throw py::type_error("flt.compile: " + name + " must be a str, not " +
                             type);
      compile.*info->stringField = value.cast<std::string>();
      break;
    }
  }
  if (std::optional<std::string> violation = mlir::flt::validateOptions(
          compile, mlir::flt::OptionSpelling::Python))
    throw py::value_error("flt.compile: " + *violation);
  Session session;
  session.parse(text, filename);
  // compileModule runs passes and an external linker; one at a time keeps
  // the diagnostics of concurrent Python threads apart.
  static std::mutex compileMutex;
  std::lock_guard<std::mutex> lock(compileMutex);
  if (failed(mlir::flt::compileModule(*session.module, compile, outputPath)))
    session.fail("compilation failed");
}

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
  m.def("option_table", &optionTable,
        "The options flt.compile accepts: name, type, default, help, and "
        "the range (min, max) or choices.");
  m.def("compile_module", &compileModule, py::arg("text"), py::arg("filename"),
        py::arg("output"), py::arg("options"),
        "Compiles a module into a shared library.");
}
