//===- Passes.h - GPU codegen passes and flt-gpu-pipeline -------*- C++ -*-===//

#ifndef FLT_CODEGEN_GPU_PASSES_H
#define FLT_CODEGEN_GPU_PASSES_H

#include "flt/Codegen/TargetConfig.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

namespace mlir::flt {

/// A unit attribute on a function that runs on the host with host buffers
/// (flt-compile's run-time checks of argument sizes and contents, which the
/// runtime calls with the caller's host arrays): flt-map-to-gpu leaves it
/// as it is.
constexpr llvm::StringLiteral kHostFunctionAttrName = "flt.host_function";

#define GEN_PASS_DECL
#include "flt/Codegen/GPU/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "flt/Codegen/GPU/Passes.h.inc"

/// The GPU mapping on buffers, shared by flt-gpu-pipeline and the emulated
/// mapping: matrix products to warp tiles (when the target has tensor cores
/// or the mapping is emulated), then outer loops to blocks and every other
/// linalg op to threads.
void addWarpAndThreadMapping(OpPassManager &pm, const TargetConfig &config);

/// flt ops on tensors -> host LLVM dialect with the kernels embedded as a
/// CUDA binary (gpu.binary).
void buildGPUPipeline(OpPassManager &pm, const TargetConfig &config);

/// Registers flt-gpu-pipeline (options: GPUPipelineOptions).
void registerGPUPipeline();

} // namespace mlir::flt

#endif // FLT_CODEGEN_GPU_PASSES_H
