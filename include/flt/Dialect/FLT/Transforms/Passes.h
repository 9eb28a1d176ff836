//===- Passes.h - passes on flt ops -----------------------------*- C++ -*-===//
//
// Passes that rewrite flt ops into flt ops (before flt-convert-to-linalg):
// decomposition of composite ops and the choice of algorithms.
//
//===----------------------------------------------------------------------===//

#ifndef FLT_DIALECT_FLT_TRANSFORMS_PASSES_H
#define FLT_DIALECT_FLT_TRANSFORMS_PASSES_H

#include "flt/Codegen/CPU/CPUTileConfig.h"
#include "flt/Dialect/FLT/IR/FLTDialect.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;

namespace flt {

#define GEN_PASS_DECL
#include "flt/Dialect/FLT/Transforms/Passes.h.inc"

/// Patterns that expand composite flt ops (flt.attention) into primitives.
void populateDecomposePatterns(RewritePatternSet &patterns);

#define GEN_PASS_REGISTRATION
#include "flt/Dialect/FLT/Transforms/Passes.h.inc"

} // namespace flt
} // namespace mlir

#endif // FLT_DIALECT_FLT_TRANSFORMS_PASSES_H
