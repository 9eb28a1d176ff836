//===- LoweringUtils.h - helpers shared by the flt lowerings ----*- C++ -*-===//

#ifndef FLT_CONVERSION_FLTTOLINALG_LOWERINGUTILS_H
#define FLT_CONVERSION_FLTTOLINALG_LOWERINGUTILS_H

#include "flt/Dialect/FLT/IR/FLTDialect.h"
#include "flt/Utils/StructuredBuilder.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::flt {

/// The sizes of result `index` of `op`: static where the result type says
/// so, otherwise reified from the operands (ReifyRankedShapedTypeOpInterface).
FailureOr<SmallVector<OpFoldResult>> resultSizes(OpBuilder &b, Operation *op,
                                                 unsigned index);

/// size^exponent as an f32 scalar (folded when `size` is static).
Value sizePower(StructuredBuilder &sb, OpFoldResult size, double exponent);

/// A scalar index value as f32.
Value indexToF32(OpBuilder &b, Location loc, Value index);

/// min(tile, extent - offset): the size of the tile starting at `offset`.
OpFoldResult tileSize(OpBuilder &b, Location loc, int64_t tile, Value offset,
                      OpFoldResult extent);

/// A [tokens, width] f32 tile of a per-token tensor [B, H, N, F] at
/// (batch, head, start, column), zero-padded at the high end to
/// [paddedTokens, paddedWidth] (a dynamic paddedWidth keeps the width).
Value paddedTokenTile(OpBuilder &b, Location loc, Value tensor, Value batch,
                      Value head, Value start, OpFoldResult tokens,
                      OpFoldResult column, OpFoldResult width,
                      int64_t paddedTokens, int64_t paddedWidth);

/// docs/Semantics.md 2.4's normalization of one output element, in num's float
/// type: divide: num / (den + eps), guarded: num / (den > 0 ? den : 1), none:
/// num.
Value normalizeScalar(OpBuilder &b, Location loc, Normalize mode, float eps,
                      Value num, Value den);

/// log2 of the FFT length for a Toeplitz product over `length` (i64)
/// tokens: the smallest N = 2^bits >= 2 length - 1, at least 2. An i64.
Value toeplitzFFTBits(OpBuilder &b, Location loc, Value length);

/// The shift subtracted from a Toeplitz bias b [H, 2L - 1] before exp
/// (docs/Semantics.md 2.7: it keeps exp from overflowing, and cancels but
/// for normalize = none) is, per head, the largest finite entry of b, or 0
/// where none is finite. Non-finite entries stay out of it so that they
/// only reach the scores whose offset they are, as the formula says (a NaN
/// or +inf shift would reach every score, also through the offsets causal
/// attention never reads). toeplitzBiasMaxima is the [H] f32 tensor of
/// those maxima (-inf where none is finite), toeplitzBiasShift the shift of
/// head `head` read from it.
Value toeplitzBiasMaxima(StructuredBuilder &sb, Value bias, OpFoldResult heads);
Value toeplitzBiasShift(OpBuilder &b, Location loc, Value maxima, Value head);

/// Replaces `op` with `values`, casting (tensor.cast) each one whose type
/// differs from the op's declared result type: a lowering may know a size
/// statically that the op's type leaves dynamic, or the other way round.
void replaceOpWithCasts(PatternRewriter &rewriter, Operation *op,
                        ValueRange values);

/// As above for a single-result lowering that fails when it cannot reify
/// the result shape.
LogicalResult replaceOpWithLowered(PatternRewriter &rewriter, Operation *op,
                                   FailureOr<Value> value);

/// `value` rounded up to a multiple of `multiple`.
int64_t roundUp(int64_t value, int64_t multiple);

// docs/Semantics.md section 5's tables (cu_seqlens, lengths: i32 or i64).
/// `value` clamped to [low, high] (index values).
Value clampIndex(OpBuilder &b, Location loc, Value value, Value low,
                 Value high);
/// Entry `index` of a rank-1 integer table as an index.
Value tableEntry(OpBuilder &b, Location loc, Value table, Value index);
/// Per token of a packed batch of `length` tokens, its sequence's first
/// token and the token after its last: two [L] index tensors (a token no
/// sequence covers gets [0, 0)). Offsets are clamped to [0, length], so
/// unchecked contents never index outside a tensor.
std::pair<Value, Value> tabulateSequences(OpBuilder &b, Location loc,
                                          Value cuSeqlens, Value length);

} // namespace mlir::flt

#endif // FLT_CONVERSION_FLTTOLINALG_LOWERINGUTILS_H
