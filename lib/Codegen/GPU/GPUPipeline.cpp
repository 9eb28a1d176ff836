//===- GPUPipeline.cpp - flt-gpu-pipeline ---------------------------------===//
//
// flt ops on tensors -> host LLVM dialect + an embedded CUDA binary:
//
//   flt-decompose, flt-select-algorithm,    the same fused loop nests as on
//   flt-convert-to-linalg
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

#include "flt/Codegen/GPU/Passes.h"

#include "flt/Codegen/Common/Passes.h"

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

void mlir::flt::addWarpAndThreadMapping(OpPassManager &pm,
                                        const TargetConfig &config) {
  // Warps (matrix products on tensor cores), blocks and threads (no
  // canonicalization in between: it would fold the one-point loops before
  // they are mapped).
  bool emulate = config.kind == TargetConfig::Kind::EmulatedGPU;
  if (config.tensorCores || emulate) {
    FLTTileContractionsToWarpsOptions warps;
    warps.threads = config.threadsPerBlock;
    warps.allowTF32 = config.allowTF32;
    warps.emulateOperandRounding = emulate;
    pm.addNestedPass<func::FuncOp>(createFLTTileContractionsToWarps(warps));
  }
  FLTDistributeToThreadsOptions distribute;
  distribute.threads = config.threadsPerBlock;
  pm.addNestedPass<func::FuncOp>(createFLTDistributeToThreads(distribute));
}

void mlir::flt::buildGPUPipeline(OpPassManager &pm,
                                 const TargetConfig &config) {
  addFLTToLinalgStage(pm, config);
  addBufferizationStage(pm);
  addWarpAndThreadMapping(pm, config);
  FLTMapToGPUOptions map;
  map.threads = config.threadsPerBlock;
  map.sharedMemoryBytes = config.sharedMemoryBytes;
  pm.addNestedPass<func::FuncOp>(createFLTMapToGPU(map));
  if (config.tensorCores)
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
  target.chip = config.chip;
  target.features = config.ptxFeatures;
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
  binary.toolkitPath = config.toolkit;
  binary.compilationTarget = config.binaryFormat;
  pm.addPass(createGpuModuleToBinaryPass(binary));
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void mlir::flt::registerGPUPipeline() {
  registerPassPipeline(
      "flt-gpu-pipeline",
      "Lower flt ops on tensors to host LLVM dialect code that launches "
      "CUDA kernels (blocks and threads, tiles staged in shared memory, "
      "NVVM, cubin for sm_90 embedded)",
      [](OpPassManager &pm, StringRef text,
         function_ref<LogicalResult(const Twine &)> errorHandler) {
        GPUPipelineOptions options;
        if (failed(options.parseFromString(text)))
          return failure();
        std::string error;
        FailureOr<TargetConfig> config =
            TargetConfig::get(options.get(), /*hasAVX512=*/false, error,
                              OptionSpelling::Pipeline);
        if (failed(config))
          return errorHandler("flt-gpu-pipeline: " + error);
        buildGPUPipeline(pm, *config);
        return success();
      },
      [](function_ref<void(const detail::PassOptions &)> optionHandler) {
        optionHandler(GPUPipelineOptions());
      });
}
