//===- GPUPipeline.cpp - flt-gpu-pipeline ---------------------------------===//
//
// flt ops on tensors -> host LLVM dialect + an embedded CUDA binary:
//
//   flt-decompose, flt-convert-to-linalg    the same fused loop nests as on
//                                            the CPU, with GPU tile sizes
//   flt-fuse-into-tiles                      feature maps per token tile
//   one-shot-bufferize, deallocation         buffers
//   flt-tile-contractions-to-warps           matrix products -> warp tiles
//                                            (f16/bf16 inputs; tf32 opt-in)
//   flt-distribute-to-threads                outer foralls -> blocks, linalg
//                                            ops -> strided thread loops
//   flt-map-to-gpu                           gpu.launch, barriers, tiles in
//                                            shared memory, gpu.alloc
//   flt-contractions-to-mma                  warp tiles -> nvvm.mma.sync
//   gpu-kernel-outlining, NVVM               kernels as gpu.func (one
//   flt-merge-gpu-modules                    gpu.module) -> NVVM
//   flt-set-kernel-occupancy                 register budget for ptxas
//   gpu-async-region, gpu-to-llvm            host side: streams, launches
//   gpu-module-to-binary                     cubin (or PTX) for the chip
//
// The IR example of each step is in the passes' descriptions (Passes.td).
//
//===----------------------------------------------------------------------===//

#include "flt/Pipelines/Pipelines.h"

#include "flt/Conversion/Passes.h"
#include "flt/Dialect/FLT/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::flt;

/// Whether `chip` ("sm_90", "sm_90a", ...) has the mma.sync shapes the
/// tensor-core lowering uses.
static bool hasTensorCores(StringRef chip) {
  return cuda::chipVersion(chip) >= cuda::kFirstTensorCoreChip;
}

void mlir::flt::buildGPUPipeline(OpPassManager &pm,
                                 const GPUPipelineOptions &options) {
  // No register tiling on the GPU: rows are not padded; value columns are
  // padded to the tensor-core tile width.
  LinalgTiles tiles{options.tokenTile,        options.valueSlice,
                    /*rowMultiple=*/1,        cuda::kColumnMultiple,
                    cuda::kKeyBlocks,
                    /*featureGroup=*/1,       cuda::kPositionalGroup,
                    cuda::kFFTLanes,          options.linearAttentionForm,
                    cuda::kQuadraticFlopCost, cuda::kCausalWalkFlopCost};
  tiles.mapToBlocks = true;
  addFLTToLinalgStage(pm, options.raiseAttention, options.fuseKronecker, tiles);
  addBufferizationStage(pm);

  // Warps (matrix products on tensor cores), blocks and threads (no
  // canonicalization in between: it would fold the one-point loops before
  // they are mapped).
  bool tensorCores = hasTensorCores(options.chip);
  if (tensorCores) {
    FLTTileContractionsToWarpsOptions warps;
    warps.threads = options.threadsPerBlock;
    warps.allowTF32 = options.allowTF32;
    pm.addNestedPass<func::FuncOp>(createFLTTileContractionsToWarps(warps));
  }
  FLTDistributeToThreadsOptions distribute;
  distribute.threads = options.threadsPerBlock;
  pm.addNestedPass<func::FuncOp>(createFLTDistributeToThreads(distribute));
  FLTMapToGPUOptions map;
  map.threads = options.threadsPerBlock;
  map.sharedMemoryBytes = options.sharedMemoryBytes >= 0
                              ? options.sharedMemoryBytes
                              : cuda::defaultSharedMemoryBytes(options.chip);
  pm.addNestedPass<func::FuncOp>(createFLTMapToGPU(map));
  if (tensorCores)
    pm.addNestedPass<func::FuncOp>(createFLTContractionsToMMA());
  pm.addPass(createConvertLinalgToLoopsPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());

  // Kernels out of line, then both sides to LLVM (the structure of
  // upstream's gpu-lower-to-nvvm-pipeline, plus gpu-async-region so that
  // host allocations and copies are stream-ordered).
  pm.addPass(createGpuKernelOutliningPass());
  pm.addPass(createFLTMergeGPUModules());
  pm.addPass(createFLTSetKernelOccupancy());
  pm.addNestedPass<func::FuncOp>(createGpuAsyncRegionPass());
  pm.addPass(createConvertVectorToSCFPass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertNVVMToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  GpuNVVMAttachTargetOptions target;
  target.chip = options.chip;
  target.features = options.features;
  target.optLevel = 3;
  pm.addPass(createGpuNVVMAttachTarget(target));
  pm.addPass(createLowerAffinePass());
  pm.addPass(arith::createArithExpandOpsPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());

  // Device side: math becomes libdevice calls (linked by the serializer).
  // Vector transfers (the FFT's 16-lane rows) become loads and stores
  // first; convert-gpu-to-nvvm has no transfer lowering of its own.
  pm.addNestedPass<gpu::GPUModuleOp>(createConvertVectorToLLVMPass());
  ConvertGpuOpsToNVVMOpsOptions device;
  pm.addNestedPass<gpu::GPUModuleOp>(createConvertGpuOpsToNVVMOps(device));
  pm.addNestedPass<gpu::GPUModuleOp>(createCanonicalizerPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createCSEPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createReconcileUnrealizedCastsPass());

  // Host side, then the binary.
  pm.addPass(createGpuToLLVMConversionPass());
  GpuModuleToBinaryPassOptions binary;
  binary.toolkitPath = options.toolkit;
  binary.compilationTarget = options.binaryFormat;
  pm.addPass(createGpuModuleToBinaryPass(binary));
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}
