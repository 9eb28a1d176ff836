//===- flt-opt.cpp - the flt optimizer driver -----------------------------===//
//
// mlir-opt with the flt dialect, passes and pipelines: every upstream
// dialect, pass and extension, and the GPU-to-LLVM-IR translations that
// gpu-module-to-binary needs.
//
//===----------------------------------------------------------------------===//

#include "flt/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::flt::registerAllFLTPasses();
  mlir::DialectRegistry registry;
  mlir::flt::registerAllFLTDialects(registry);
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "flt optimizer driver\n", registry));
}
