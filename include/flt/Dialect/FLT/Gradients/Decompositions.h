//===- Decompositions.h - gradient ops as forward ops ------------*- C++
//-*-===//
//
// The internal gradient ops of reverse mode written as ordinary flt ops, for
// flt-select-algorithm: where the quadratic form is cheaper, and on targets
// without a fused backward lowering, the gradient is computed by the forward
// ops' own (fused, mapped) lowerings.
//
//===----------------------------------------------------------------------===//

#ifndef FLT_DIALECT_FLT_GRADIENTS_DECOMPOSITIONS_H
#define FLT_DIALECT_FLT_GRADIENTS_DECOMPOSITIONS_H

#include "flt/Dialect/FLT/IR/FLTOps.h"

namespace mlir::flt {

/// flt.linear_attention_grad as four to six flt.linear_attention ops with
/// normalize = none (one recomputing [num, den], then the gradients'; the
/// key-side ones on the token-reversed sequence when causal) and elementwise
/// linalg, built at the builder's insertion point; one value per result.
SmallVector<Value> decomposeLinearAttentionGrad(OpBuilder &builder,
                                                LinearAttentionGradOp op);

/// flt.toeplitz_correlation's direct method: per head (an scf.forall),
/// two matrix products per 64 × 64 tile of the L × L plane (fq fkᵀ and
/// a keysᵀ, summed over the batch after their product) whose diagonal sums
/// accumulate into the head's row; causal runs skip the tiles above the
/// diagonal, packed ones mask pairs across sequences. O(L² (m + c)) work,
/// O(L) memory.
Value decomposeToeplitzCorrelation(OpBuilder &builder,
                                   ToeplitzCorrelationOp op);

} // namespace mlir::flt

#endif // FLT_DIALECT_FLT_GRADIENTS_DECOMPOSITIONS_H
