//===- flt-opt.cpp - the flt optimizer driver -----------------------------===//
//
// mlir-opt with the flt dialect and passes: every upstream dialect, pass and
// extension, and the GPU-to-LLVM-IR translations that gpu-module-to-binary
// needs.
//
//===----------------------------------------------------------------------===//

#include "flt/Conversion/Passes.h"
#include "flt/Dialect/FLT/IR/FLTDialect.h"
#include "flt/Dialect/FLT/Transforms/Passes.h"
#include "flt/Pipelines/Pipelines.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  mlir::flt::registerFLTPasses();
  mlir::flt::registerFLTConversionPasses();
  mlir::flt::registerFLTPipelines();

  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::registerAllGPUToLLVMIRTranslations(registry);
  registry.insert<mlir::flt::FLTDialect>();

  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "flt optimizer driver\n", registry));
}
