//===- Passes.h - flt dialect passes ----------------------------*- C++ -*-===//

#ifndef FLT_DIALECT_FLT_TRANSFORMS_PASSES_H
#define FLT_DIALECT_FLT_TRANSFORMS_PASSES_H

#include "flt/Dialect/FLT/IR/FLTDialect.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
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
