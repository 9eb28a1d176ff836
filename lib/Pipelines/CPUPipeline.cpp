//===- CPUPipeline.cpp - flt-cpu-pipeline ---------------------------------===//
//
// flt ops on tensors -> LLVM dialect for the host CPU:
//
//   flt-decompose, flt-convert-to-linalg    (fused loop nests on tensors)
//   flt-fuse-into-tiles                      (feature maps per token tile)
//   flt-vectorize                            (register tiles -> vector FMAs)
//   one-shot-bufferize                       (no tensor copies of the tiles)
//   buffer-loop-hoisting, deallocation       (no allocation in hot loops)
//   scf.forall -> OpenMP                     (batch, head, value slice)
//   -> loops -> LLVM dialect (math as LLVM intrinsics, libm behind them)
//
//===----------------------------------------------------------------------===//

#include "flt/Pipelines/Pipelines.h"

#include "flt/Conversion/Passes.h"
#include "flt/Dialect/FLT/Transforms/Passes.h"

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
                                 const CPUPipelineOptions &options) {
  // The emulated GPU mapping pads tiles and picks forms as the GPU does.
  LinalgTiles tiles{options.tokenTile, options.valueSlice, options.registerRows,
                    cpu::kRegisterColumns};
  tiles.linearAttentionForm = options.linearAttentionForm;
  tiles.quadraticFlopCost = cpu::kQuadraticFlopCost;
  tiles.causalWalkFlopCost = cpu::kCausalWalkFlopCost;
  if (options.emulateGPUMapping) {
    tiles.rowMultiple = 1;
    tiles.columnMultiple = cuda::kColumnMultiple;
    tiles.keyBlocks = cuda::kKeyBlocks;
    tiles.positionalGroup = cuda::kPositionalGroup;
    tiles.fftLanes = cuda::kFFTLanes;
    tiles.mapToBlocks = true;
    tiles.quadraticFlopCost = cuda::kQuadraticFlopCost;
    tiles.causalWalkFlopCost = cuda::kCausalWalkFlopCost;
  }
  addFLTToLinalgStage(pm, options.raiseAttention, options.fuseKronecker, tiles);
  if (options.vectorize) {
    FLTVectorizeOptions registerTile;
    registerTile.rows = options.registerRows;
    registerTile.columns = cpu::kRegisterColumns;
    pm.addPass(createFLTVectorize(registerTile));
  }

  addBufferizationStage(pm);

  if (options.emulateGPUMapping) {
    // The GPU pipeline's blocks, warps and threads, run in order: every
    // point of every linalg op is still computed exactly once, by the same
    // arithmetic as on the GPU (tensor-core tiles with their operands
    // rounded to bf16/f16/tf32 as the tensor cores round them).
    FLTTileContractionsToWarpsOptions warps;
    warps.threads = options.threadsPerBlock;
    warps.allowTF32 = options.allowTF32;
    warps.emulateOperandRounding = true;
    pm.addNestedPass<func::FuncOp>(createFLTTileContractionsToWarps(warps));
    FLTDistributeToThreadsOptions distribute;
    distribute.threads = options.threadsPerBlock;
    pm.addNestedPass<func::FuncOp>(createFLTDistributeToThreads(distribute));
  }
  pm.addPass(createFLTExpandStridedCopies());
  pm.addPass(createConvertLinalgToLoopsPass());
  if (options.parallel && !options.emulateGPUMapping) {
    pm.addPass(createForallToParallelLoopPass());
    ConvertSCFToOpenMPPassOptions openmp;
    openmp.numThreads = options.threads;
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

void mlir::flt::registerFLTPipelines() {
  PassPipelineRegistration<CPUPipelineOptions>(
      "flt-cpu-pipeline",
      "Lower flt ops on tensors to the LLVM dialect for the host CPU "
      "(fused, tiled, bufferized, OpenMP-parallel)",
      buildCPUPipeline);
  PassPipelineRegistration<GPUPipelineOptions>(
      "flt-gpu-pipeline",
      "Lower flt ops on tensors to host LLVM dialect code that launches "
      "CUDA kernels (blocks and threads, tiles staged in shared memory, "
      "NVVM, cubin for sm_90 embedded)",
      buildGPUPipeline);
}
