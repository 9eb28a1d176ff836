//===- Passes.h - target-independent codegen passes and stages -*- C++ -*-===//
//
// The passes that run after flt -> linalg on every target (fusion into
// tiles, strided copies), and the two pipeline stages the CPU and GPU
// pipelines share.
//
//===----------------------------------------------------------------------===//

#ifndef FLT_CODEGEN_COMMON_PASSES_H
#define FLT_CODEGEN_COMMON_PASSES_H

#include "flt/Codegen/TargetConfig.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

namespace mlir::flt {

#define GEN_PASS_DECL
#include "flt/Codegen/Common/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "flt/Codegen/Common/Passes.h.inc"

/// flt ops -> fused linalg loop nests on tensors, as `config` asks:
/// flt-raise-attention (optional), flt-decompose, flt-select-algorithm,
/// flt-convert-to-linalg with the target's tiles, flt-map-forall-to-blocks
/// (GPU targets), flt-fuse-into-tiles.
void addFLTToLinalgStage(OpPassManager &pm, const TargetConfig &config);

/// Tensors -> buffers (function arguments read-only), with tile buffers
/// hoisted out of loops and deallocation.
void addBufferizationStage(OpPassManager &pm);

} // namespace mlir::flt

#endif // FLT_CODEGEN_COMMON_PASSES_H
