//===- MergeGPUModules.cpp - flt-merge-gpu-modules ------------------------===//
//
// gpu-kernel-outlining puts every kernel in a gpu.module of its own; this
// moves them all into the first one, so that a compiled library carries
// one binary (loaded once, when the library is loaded) and --emit=ptx one
// PTX module. See Passes.td for an example.
//
//===----------------------------------------------------------------------===//

#include "flt/Codegen/GPU/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::flt {
#define GEN_PASS_DEF_FLTMERGEGPUMODULES
#include "flt/Codegen/GPU/Passes.h.inc"
} // namespace mlir::flt

using namespace mlir;

namespace {

struct FLTMergeGPUModulesPass
    : mlir::flt::impl::FLTMergeGPUModulesBase<FLTMergeGPUModulesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<gpu::GPUModuleOp> gpuModules(module.getOps<gpu::GPUModuleOp>());
    if (gpuModules.size() < 2)
      return;
    gpu::GPUModuleOp target = gpuModules.front();
    SymbolTable targetSymbols(target);
    // Where each moved kernel now lives.
    DenseMap<SymbolRefAttr, SymbolRefAttr> moved;
    for (gpu::GPUModuleOp source : llvm::drop_begin(gpuModules)) {
      if (source.getTargetsAttr() != target.getTargetsAttr() ||
          source->getDiscardableAttrDictionary() !=
              target->getDiscardableAttrDictionary()) {
        source.emitError("flt-merge-gpu-modules: GPU modules with different "
                         "targets or attributes cannot be merged");
        return signalPassFailure();
      }
      for (Operation &op :
           llvm::make_early_inc_range(source.getBody()->without_terminator())) {
        auto symbol = dyn_cast<SymbolOpInterface>(&op);
        StringAttr oldName = symbol ? symbol.getNameAttr() : StringAttr();
        op.moveBefore(target.getBody(), target.getBody()->end());
        if (!symbol)
          continue;
        // insert() renames on a clash and returns the name it kept.
        targetSymbols.remove(&op);
        StringAttr newName = targetSymbols.insert(&op);
        moved[SymbolRefAttr::get(source.getNameAttr(),
                                 {FlatSymbolRefAttr::get(oldName)})] =
            SymbolRefAttr::get(target.getNameAttr(),
                               {FlatSymbolRefAttr::get(newName)});
      }
    }
    module.walk([&](gpu::LaunchFuncOp launch) {
      auto it = moved.find(launch.getKernel());
      if (it != moved.end())
        launch.setKernelAttr(it->second);
    });
    for (gpu::GPUModuleOp source : llvm::drop_begin(gpuModules))
      source.erase();
  }
};

} // namespace
