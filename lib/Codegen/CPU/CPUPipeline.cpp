//===- CPUPipeline.cpp - flt-cpu-pipeline ---------------------------------===//
//
// flt ops on tensors -> LLVM dialect for the host CPU:
//
//   flt-decompose, flt-select-algorithm,     (fused loop nests on tensors)
//   flt-convert-to-linalg
//   flt-fuse-into-tiles                      (feature maps per token tile)
//   flt-vectorize                            (register tiles -> vector FMAs)
//   one-shot-bufferize                       (no tensor copies of the tiles)
//   buffer-loop-hoisting, deallocation       (no allocation in hot loops)
//   scf.forall -> OpenMP                     (batch, head, value slice)
//   -> loops -> LLVM dialect (math as LLVM intrinsics, libm behind them)
//
//===----------------------------------------------------------------------===//

#include "flt/Codegen/CPU/Passes.h"

#include "flt/Codegen/Common/Passes.h"
#include "flt/Codegen/GPU/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::flt;

void mlir::flt::buildCPUPipeline(OpPassManager &pm,
                                 const TargetConfig &config) {
  bool emulate = config.kind == TargetConfig::Kind::EmulatedGPU;
  addFLTToLinalgStage(pm, config);
  if (config.vectorize) {
    FLTVectorizeOptions registerTile;
    registerTile.rows = config.registerRows;
    registerTile.columns = config.registerColumns;
    registerTile.columnVectors = config.registerColumnVectors;
    pm.addPass(createFLTVectorize(registerTile));
  }

  addBufferizationStage(pm);

  // The GPU pipeline's blocks, warps and threads, run in order: every point
  // of every linalg op is still computed exactly once, by the same
  // arithmetic as on the GPU (tensor-core tiles with their operands rounded
  // to bf16/f16/tf32 as the tensor cores round them).
  if (emulate)
    addWarpAndThreadMapping(pm, config);
  pm.addPass(createFLTExpandStridedCopies());
  pm.addPass(createConvertLinalgToLoopsPass());
  if (config.parallel && !emulate) {
    pm.addPass(createForallToParallelLoopPass());
    ConvertSCFToOpenMPPassOptions openmp;
    openmp.numThreads = config.threads;
    pm.addPass(createConvertSCFToOpenMPPass(openmp));
  } else {
    pm.addPass(createForallToForLoopPass());
  }
  pm.addPass(createCanonicalizerPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createConvertVectorToSCFPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  // Math to LLVM intrinsics first: vector fma/floor/abs stay vector ops
  // (math-to-libm would call fmaf lane by lane); transcendental intrinsics
  // become libm calls in the backend, and math-to-libm takes what is left.
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  // bf16 conversions as integer ops: without AVX512-BF16 the backend would
  // call __truncsfbf2, which no library a kernel links provides.
  arith::ArithExpandOpsPassOptions expand;
  expand.includeBf16 = true;
  pm.addPass(arith::createArithExpandOpsPass(expand));
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createConvertToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
}

void mlir::flt::registerCPUPipeline() {
  registerPassPipeline(
      "flt-cpu-pipeline",
      "Lower flt ops on tensors to the LLVM dialect for the host CPU "
      "(fused, tiled, bufferized, OpenMP-parallel)",
      [](OpPassManager &pm, StringRef text,
         function_ref<LogicalResult(const Twine &)> errorHandler) {
        CPUPipelineOptions options;
        if (failed(options.parseFromString(text)))
          return failure();
        std::string error;
        FailureOr<TargetConfig> config =
            TargetConfig::get(options.get(), /*hasAVX512=*/false, error,
                              OptionSpelling::Pipeline);
        if (failed(config))
          return errorHandler("flt-cpu-pipeline: " + error);
        buildCPUPipeline(pm, *config);
        return success();
      },
      [](function_ref<void(const detail::PassOptions &)> optionHandler) {
        optionHandler(CPUPipelineOptions());
      });
}
