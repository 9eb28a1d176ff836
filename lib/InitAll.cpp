//===- InitAll.cpp - register everything flt offers -----------------------===//

#include "flt/InitAll.h"

#include "flt/Codegen/CPU/Passes.h"
#include "flt/Codegen/Common/Passes.h"
#include "flt/Codegen/GPU/Passes.h"
#include "flt/Conversion/Passes.h"
#include "flt/Dialect/FLT/IR/DifferentiableOpInterface.h"
#include "flt/Dialect/FLT/IR/FLTDialect.h"
#include "flt/Dialect/FLT/Transforms/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

void mlir::flt::registerAllFLTDialects(DialectRegistry &registry) {
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllGPUToLLVMIRTranslations(registry);
  registry.insert<FLTDialect>();
  registerDifferentiableOpInterfaceExternalModels(registry);
}

void mlir::flt::registerAllFLTPasses() {
  // Pass registration is global; a second call would register twice.
  static bool registered = [] {
    registerAllPasses();
    registerFLTPasses();
    registerFLTConversionPasses();
    registerFLTCodegenCommonPasses();
    registerFLTCodegenCPUPasses();
    registerFLTCodegenGPUPasses();
    registerCPUPipeline();
    registerGPUPipeline();
    return true;
  }();
  (void)registered;
}
