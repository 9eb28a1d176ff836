//===- Passes.h - CPU codegen passes and flt-cpu-pipeline -------*- C++ -*-===//

#ifndef FLT_CODEGEN_CPU_PASSES_H
#define FLT_CODEGEN_CPU_PASSES_H

#include "flt/Codegen/TargetConfig.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

namespace mlir::flt {

#define GEN_PASS_DECL
#include "flt/Codegen/CPU/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "flt/Codegen/CPU/Passes.h.inc"

/// flt ops on tensors -> LLVM dialect for the host CPU (or, for
/// TargetConfig::Kind::EmulatedGPU, the GPU's blocks and threads run one
/// after another on the CPU).
void buildCPUPipeline(OpPassManager &pm, const TargetConfig &config);

/// Registers flt-cpu-pipeline (options: CPUPipelineOptions).
void registerCPUPipeline();

} // namespace mlir::flt

#endif // FLT_CODEGEN_CPU_PASSES_H
