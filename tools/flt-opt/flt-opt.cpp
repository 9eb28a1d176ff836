//===- flt-opt.cpp - the flt optimizer driver -----------------------------===//
//
// mlir-opt with the flt dialect, passes and pipelines: every upstream
// dialect, pass and extension, and the GPU-to-LLVM-IR translations that
// gpu-module-to-binary needs. The input is read and checked by flt's own
// reader (flt/Support/SourceInput.h: regular files or stdin, a size cap, a
// bracket nesting limit) before MlirOptMain parses it, so that no input
// makes flt-opt read forever or overflow its stack.
//
//===----------------------------------------------------------------------===//

#include "flt/InitAll.h"
#include "flt/Support/SourceInput.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  mlir::flt::registerAllFLTPasses();
  mlir::DialectRegistry registry;
  mlir::flt::registerAllFLTDialects(registry);
  auto [inputPath, outputPath] = mlir::registerAndParseCLIOptions(
      argc, argv, "flt optimizer driver\n", registry);
  mlir::MlirOptMainConfig config =
      mlir::MlirOptMainConfig::createFromCLOptions();
  // Listings read no input: MlirOptMain prints them.
  if (config.shouldShowDialects() || config.shouldListPasses())
    return mlir::asMainReturnCode(
        mlir::MlirOptMain(argc, argv, inputPath, outputPath, registry));

  std::string error;
  std::unique_ptr<llvm::MemoryBuffer> input =
      mlir::flt::openSource(inputPath, error);
  if (!input) {
    llvm::errs() << "flt-opt: error: " << error << "\n";
    return EXIT_FAILURE;
  }
  std::unique_ptr<llvm::ToolOutputFile> output =
      mlir::openOutputFile(outputPath, &error);
  if (!output) {
    llvm::errs() << "flt-opt: error: " << error << "\n";
    return EXIT_FAILURE;
  }
  if (failed(
          mlir::MlirOptMain(output->os(), std::move(input), registry, config)))
    return EXIT_FAILURE;
  output->keep();
  return EXIT_SUCCESS;
}
