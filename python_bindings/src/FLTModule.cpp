//===- FLTModule.cpp - the flt._native pybind11 extension ----------------===//
//
// The compiler half of `import flt`: parse / verify / print modules and run
// pass pipelines (libMLIR), compile a module to a shared library
// (FLTCompiler), give the result types of flt ops from the dialect's rules
// (flt.ops builds with them) and list a function's ops with their constants
// (the frontends read a raised module back as a graph). Loading and calling the
// libraries is flt.runtime's (ctypes over libFLTRuntime's C API), which needs
// no MLIR. The pure-Python package (python_bindings/flt) builds the user-facing
// API on these few entry points.
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
#include "flt/Dialect/FLT/IR/FLTDialect.h"
#include "flt/Dialect/FLT/IR/FLTOps.h"
#include "flt/InitAll.h"
#include "flt/Support/Diagnostics.h"
#include "flt/Support/SourceInput.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"

#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <limits>
#include <map>
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
    mlir::flt::configureDiagnostics(context);
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
    // Deeper nesting than this would overflow the parser's stack and end
    // the interpreter.
    if (std::optional<std::string> violation =
            mlir::flt::checkSourceText(text, filename))
      throw CompileFailure{"cannot parse " + filename,
                           {{"error", "", 0, 0, *violation}}};
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

/// The text of the IR file `path`: a regular file of at most flt's size
/// limit (flt/Support/SourceInput.h), as bytes.
py::bytes readSource(const std::string &path) {
  std::string error;
  std::unique_ptr<llvm::MemoryBuffer> buffer =
      mlir::flt::readSourceFile(path, error);
  if (!buffer)
    throw CompileFailure{"cannot read " + path, {{"error", "", 0, 0, error}}};
  return py::bytes(buffer->getBufferStart(), buffer->getBufferSize());
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

template <typename T> std::string printed(T entity) {
  std::string text;
  llvm::raw_string_ostream os(text);
  entity.print(os);
  return text;
}

/// The result types of the flt op `name` ("flt.feature_map") with operands
/// of the given types, keyed by their names in the op's definition (absent
/// optional operands left out), and `attributes` (an attribute dictionary
/// in MLIR syntax, empty for none): mlir::flt::inferResultTypes, the rules
/// the op builders and verifiers use, printed.
std::vector<std::string>
resultTypes(const std::string &name,
            const std::map<std::string, std::string> &operandTypes,
            const std::string &attributes) {
  // One small context for all calls (types and flt attributes only).
  static MLIRContext *context = [] {
    auto *c = new MLIRContext(MLIRContext::Threading::DISABLED);
    c->loadDialect<mlir::flt::FLTDialect>();
    return c;
  }();
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  std::vector<DiagnosticRecord> diagnostics;
  ScopedDiagnosticHandler handler(context, [&](Diagnostic &d) {
    diagnostics.emplace_back("error", "", 0, 0, d.str());
    return success();
  });
  Block block;
  llvm::StringMap<Value> operands;
  // Deeper nesting than flt's limit would overflow the parser's stack.
  std::vector<std::string> texts = {attributes};
  for (const auto &entry : operandTypes)
    texts.push_back(entry.second);
  for (const std::string &text : texts)
    if (std::optional<std::string> violation =
            mlir::flt::checkSourceText(text, name))
      throw CompileFailure{name + ": " + *violation, {}};
  for (const auto &[operand, text] : operandTypes) {
    Type type = parseType(text, context);
    if (!type)
      throw CompileFailure{name + ": invalid type '" + text + "' of '" +
                               operand + "'",
                           diagnostics};
    operands[operand] = block.addArgument(type, UnknownLoc::get(context));
  }
  DictionaryAttr attrs;
  if (!attributes.empty()) {
    attrs =
        dyn_cast_or_null<DictionaryAttr>(parseAttribute(attributes, context));
    if (!attrs)
      throw CompileFailure{name + ": invalid attributes " + attributes,
                           diagnostics};
  }
  FailureOr<SmallVector<Type>> types =
      mlir::flt::inferResultTypes(name, operands, attrs);
  if (failed(types))
    throw CompileFailure{"cannot infer the result types of '" + name +
                             "' from these operands",
                         diagnostics};
  std::vector<std::string> result;
  for (Type type : *types)
    result.push_back(printed(type));
  return result;
}

/// The ops of function `function` of the module `text`, for reading it back
/// as a graph: (argument types, ops, returned values). Values are numbered
/// arguments first, then the ops' results in order. Each op is (name,
/// operand numbers, result types, {attribute name: printed value},
/// constant), constant being (shape, element type, values as float64
/// bytes) for an arith.constant of dense elements and None otherwise. The
/// ops' regions (payloads) are not listed.
py::tuple functionGraph(const std::string &text, const std::string &filename,
                        const std::string &function) {
  Session session;
  session.parse(text, filename);
  auto func = session.module->lookupSymbol<func::FuncOp>(function);
  if (!func || func.isExternal())
    throw CompileFailure{"no function @" + function + " in " + filename, {}};
  DenseMap<Value, int64_t> ids;
  py::list arguments, ops, returned;
  for (BlockArgument argument : func.getArguments()) {
    ids[argument] = ids.size();
    arguments.append(printed(argument.getType()));
  }
  for (Operation &op : func.getBody().front()) {
    py::list operands, results;
    for (Value operand : op.getOperands()) {
      auto it = ids.find(operand);
      operands.append(it == ids.end() ? -1 : it->second);
    }
    if (op.hasTrait<OpTrait::IsTerminator>()) {
      returned = operands;
      continue;
    }
    for (Value result : op.getResults()) {
      ids[result] = ids.size();
      results.append(printed(result.getType()));
    }
    py::dict attributes;
    for (NamedAttribute attribute : op.getAttrs())
      attributes[py::str(attribute.getName().str())] =
          printed(attribute.getValue());
    py::object constant = py::none();
    DenseElementsAttr dense;
    if (isa<arith::ConstantOp>(op) && matchPattern(&op, m_Constant(&dense))) {
      std::vector<double> values;
      values.reserve(dense.getNumElements());
      if (isa<FloatType>(dense.getElementType())) {
        for (APFloat x : dense.getValues<APFloat>())
          values.push_back(x.convertToDouble());
      } else {
        for (APInt x : dense.getValues<APInt>())
          values.push_back(dense.getElementType().isInteger(1)
                               ? static_cast<double>(x.getBoolValue())
                               : static_cast<double>(x.getSExtValue()));
      }
      constant = py::make_tuple(
          py::cast(std::vector<int64_t>(dense.getType().getShape())),
          printed(dense.getElementType()),
          py::bytes(reinterpret_cast<const char *>(values.data()),
                    values.size() * sizeof(double)));
    }
    ops.append(py::make_tuple(op.getName().getStringRef().str(), operands,
                              results, attributes, constant));
  }
  return py::make_tuple(arguments, ops, returned);
}

/// `text` with the dense constants among `function`'s top-level ops at
/// `indices` (function_graph's op numbers) turned into new arguments
/// appended in that order (the frontends keep parameters as run-time
/// arguments this way).
std::string promoteConstants(const std::string &text,
                             const std::string &filename,
                             const std::string &function,
                             const std::vector<int64_t> &indices) {
  Session session;
  session.parse(text, filename);
  auto func = session.module->lookupSymbol<func::FuncOp>(function);
  if (!func || func.isExternal())
    throw CompileFailure{"no function @" + function + " in " + filename, {}};
  SmallVector<Operation *> ops;
  for (Operation &op : func.getBody().front())
    ops.push_back(&op);
  SmallVector<arith::ConstantOp> promoted;
  for (int64_t index : indices) {
    auto constant = index >= 0 && index < static_cast<int64_t>(ops.size())
                        ? dyn_cast<arith::ConstantOp>(ops[index])
                        : arith::ConstantOp();
    if (!constant || !isa<RankedTensorType>(constant.getType()))
      throw py::value_error("op " + std::to_string(index) + " of @" + function +
                            " is not a tensor constant");
    if (llvm::is_contained(promoted, constant))
      throw py::value_error("op " + std::to_string(index) +
                            " is promoted twice");
    promoted.push_back(constant);
  }
  for (arith::ConstantOp constant : promoted) {
    unsigned position = func.getNumArguments();
    if (failed(func.insertArgument(position, constant.getType(),
                                   DictionaryAttr(), constant.getLoc())))
      session.fail("cannot add an argument to @" + function);
    constant.getResult().replaceAllUsesWith(func.getArgument(position));
    constant.erase();
  }
  if (failed(verify(*session.module)))
    session.fail("the module with promoted constants does not verify");
  return session.print(/*generic=*/false);
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
  if (failed(mlir::flt::compileModule(*session.module, compile, outputPath,
                                      mlir::flt::OptionSpelling::Python)))
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
  m.def("read_source", &readSource, py::arg("path"),
        "The bytes of an IR file (a regular file within flt's size limit).");
  m.def("option_table", &optionTable,
        "The options flt.compile accepts: name, type, default, help, and "
        "the range (min, max) or choices.");
  m.def("compile_module", &compileModule, py::arg("text"), py::arg("filename"),
        py::arg("output"), py::arg("options"),
        "Compiles a module into a shared library.");
  m.def("result_types", &resultTypes, py::arg("op"), py::arg("operands"),
        py::arg("attributes"),
        "The result types of an flt op with operands of the given types "
        "(by operand name) and attributes (a dictionary in MLIR syntax).");
  m.def("function_graph", &functionGraph, py::arg("text"), py::arg("filename"),
        py::arg("function"),
        "A function's argument types, ops (name, operand numbers, result "
        "types, attributes, dense constant) and returned values.");
  m.def("promote_constants", &promoteConstants, py::arg("text"),
        py::arg("filename"), py::arg("function"), py::arg("indices"),
        "The module with the tensor constants among the function's ops at "
        "`indices` (function_graph's numbering) made new trailing "
        "arguments, in that order.");
  m.def(
      "spectrum_parameters",
      [](const std::string &spectrum, int64_t p, int64_t blobs) {
        std::optional<mlir::flt::Spectrum> kind =
            mlir::flt::symbolizeSpectrum(spectrum);
        if (!kind)
          throw py::value_error("unknown spectrum '" + spectrum + "'");
        return mlir::flt::spectrumParameterCount(*kind, p, blobs);
      },
      py::arg("spectrum"), py::arg("p"), py::arg("blobs"),
      "The width P of theta for a spectrum (SPEC 2.2).");
}
