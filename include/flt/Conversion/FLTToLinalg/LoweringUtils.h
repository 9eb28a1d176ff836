//===- LoweringUtils.h - helpers shared by the flt lowerings ----*- C++ -*-===//

#ifndef FLT_CONVERSION_FLTTOLINALG_LOWERINGUTILS_H
#define FLT_CONVERSION_FLTTOLINALG_LOWERINGUTILS_H

#include "flt/Conversion/FLTToLinalg/StructuredBuilder.h"

namespace mlir::flt {

/// The sizes of result `index` of `op`: static where the result type says
/// so, otherwise reified from the operands (ReifyRankedShapedTypeOpInterface).
FailureOr<SmallVector<OpFoldResult>> resultSizes(OpBuilder &b, Operation *op,
                                                 unsigned index);

/// size^exponent as an f32 scalar (folded when `size` is static).
Value sizePower(StructuredBuilder &sb, OpFoldResult size, double exponent);

/// A scalar index value as f32.
Value indexToF32(OpBuilder &b, Location loc, Value index);

} // namespace mlir::flt

#endif // FLT_CONVERSION_FLTTOLINALG_LOWERINGUTILS_H
