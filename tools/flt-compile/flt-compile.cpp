//===- flt-compile.cpp - compile an flt module to a shared library --------===//
//
//   flt-compile IN.mlir -o OUT.so [--target=cpu|cuda] [--emit=so|obj|...]
//               [options of docs/Options.md]
//
// Every public func.func (ranked tensor arguments and results, static or
// dynamic sizes) becomes an entry point that libFLTRuntime and flt-run call.
// The flags other than the input, -o and --print-option-table come from the
// option table (flt/Codegen/Options.def); --cpu=help lists the CPU names.
//
//===----------------------------------------------------------------------===//

#include "flt/Codegen/Options.h"
#include "flt/Compiler/Compiler.h"
#include "flt/InitAll.h"
#include "flt/Support/Diagnostics.h"
#include "flt/Support/SourceInput.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
namespace cl = llvm::cl;

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  static cl::OptionCategory category("flt-compile options");
  cl::opt<std::string> inputPath(cl::Positional, cl::desc("<input.mlir>"),
                                 cl::init("-"), cl::cat(category));
  cl::opt<std::string> outputPath("o", cl::desc("Output file"),
                                  cl::value_desc("path"), cl::cat(category));
  cl::opt<bool> printOptions(
      "print-option-table",
      cl::desc("Print the table of compiler options (docs/Options.md) and "
               "exit"),
      cl::init(false), cl::cat(category));
  flt::CommandLineOptions tableOptions(category);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv,
                              "flt-compile: flt module -> shared library\n");

  if (printOptions) {
    llvm::outs() << flt::formatOptionTable();
    return 0;
  }
  flt::CompileOptions options = tableOptions.get();
  if (options.cpu == "help") {
    flt::printTargetCPUs(llvm::outs());
    return 0;
  }
  if (outputPath.getNumOccurrences() == 0) {
    llvm::errs() << "flt-compile: error: no output file (-o)\n";
    return 1;
  }
  // An empty name would reach the linker, which writes a.out instead; a
  // second -o would silently win.
  if (outputPath.empty() || outputPath.getNumOccurrences() > 1) {
    llvm::errs() << "flt-compile: error: "
                 << (outputPath.empty() ? "-o needs a file name"
                                        : "-o is given twice")
                 << "\n";
    return 1;
  }
  if (std::optional<std::string> violation =
          flt::validateOptions(options, flt::OptionSpelling::CLI)) {
    llvm::errs() << "flt-compile: error: " << *violation << "\n";
    return 1;
  }

  DialectRegistry registry;
  flt::registerAllFLTDialects(registry);
  MLIRContext context(registry);
  context.disableMultithreading();
  flt::configureDiagnostics(context);

  // Regular files or stdin only, size- and nesting-checked.
  std::string error;
  std::unique_ptr<llvm::MemoryBuffer> input = flt::openSource(inputPath, error);
  if (!input) {
    llvm::errs() << "flt-compile: error: " << error << "\n";
    return 1;
  }
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(input), llvm::SMLoc());
  SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module)
    return 1;
  if (failed(flt::compileModule(*module, options, outputPath)))
    return 1;
  return 0;
}
