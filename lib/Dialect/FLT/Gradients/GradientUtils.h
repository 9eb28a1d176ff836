//===- GradientUtils.h - building blocks of the gradient rules -*- C++ -*-===//
//
// Internal to the gradient rules (lib/Dialect/FLT/Gradients). The rules
// compute in f32 whatever the operands' element types and convert each
// cotangent to its operand's type at the end (docs/Semantics.md §4: f16 and
// bf16 gradients are accumulated in f32).
//
//===----------------------------------------------------------------------===//

#ifndef FLT_LIB_DIALECT_FLT_GRADIENTS_GRADIENTUTILS_H
#define FLT_LIB_DIALECT_FLT_GRADIENTS_GRADIENTUTILS_H

#include "flt/Utils/StructuredBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace mlir::flt::gradients {

/// StructuredBuilder with the shapes of tensors the rules keep building:
/// elementwise maps, sums over some dimensions, concatenation and reversal
/// along one dimension.
class GradientBuilder : public StructuredBuilder {
public:
  using StructuredBuilder::map;
  using StructuredBuilder::StructuredBuilder;

  /// An f32 tensor of `like`'s sizes, elementwise `body` of `inputs`: each
  /// input has the result's dims `inputDims[i]` (in order; all of them when
  /// `inputDims` is empty). `body` gets the input scalars.
  Value map(ValueRange inputs, ArrayRef<SmallVector<unsigned>> inputDims,
            Value like, BodyFn body);
  Value map(ValueRange inputs, Value like, BodyFn body) {
    return map(inputs, {}, like, body);
  }

  /// Σ over `reduced` dims of the f32 product-sum `body` of `inputs`
  /// indexed by `inputDims` (dims of the loop nest `loopSizes`); the result
  /// has the loop dims not in `reduced`, in order. `body` returns the term
  /// to add (it gets the input scalars only).
  Value sum(ValueRange inputs, ArrayRef<SmallVector<unsigned>> inputDims,
            ArrayRef<OpFoldResult> loopSizes, ArrayRef<unsigned> reduced,
            BodyFn body);

  /// a + b, elementwise, same shapes and element types.
  Value add(Value a, Value bValue);

  /// `tensor` in `type`'s element type (`type`: the operand's tensor type;
  /// its static sizes are kept by a cast where `tensor` has dynamic ones).
  Value castTo(Value tensor, Type type);

  /// Zeros of `type` with the dynamic sizes of `like` (same shape).
  Value zerosLike(Value like, Type type);

  /// [a, b] along dimension `dim` (all other sizes equal).
  Value concat(Value a, Value bValue, int64_t dim);
  /// ones with `like`'s sizes except `dim`, which is 1 (f32).
  Value onesColumn(Value like, int64_t dim);
  /// Columns [offset, offset + size) of `tensor` along its last dimension.
  Value lastDimSlice(Value tensor, OpFoldResult offset, OpFoldResult size);

  /// `tensor` [B, H, N, F] with its token order (dim 2) reversed.
  Value reverseTokens(Value tensor) { return reverseAlong(tensor, 2); }
  /// `tensor` with its order along `dim` reversed.
  Value reverseAlong(Value tensor, unsigned dim);
  /// The offsets of the token-reversed sequences of `cuSeqlens` [N + 1]
  /// (c_0 = 0 < ... < c_N = `tokens`): L - c_{N-k}, same element type.
  Value reverseOffsets(Value cuSeqlens, OpFoldResult tokens);

  /// A linear-attention state `state` [B, H, m·r, c] (row a·r + f for
  /// feature a of fk and f of Psi, docs/Semantics.md §5) with its indices
  /// (a, f, c) = (0, 1, 2) reordered: the result is [B, H, X·Y, Z] for
  /// (X, Y, Z) = `order`, e.g. {2, 1, 0} gives [B, H, c·r, m]. The state of
  /// a linear attention whose query features are another operand of the
  /// first one (the gradient rules' adjoint attentions) is the same numbers
  /// in such an order.
  Value regroupState(Value state, OpFoldResult m, OpFoldResult r,
                     ArrayRef<unsigned> order);

  /// The sequence of each of `length` packed tokens, [L] in cu_seqlens'
  /// element type: the number of c_n ≤ i for 1 ≤ n < N (a count over the
  /// offsets: O(L N), below the quadratic rules' O(L²)).
  Value sequenceOfTokens(Value cuSeqlens, OpFoldResult length);

  /// `t` [B, H, N, F] with `low` zero tokens before it and `high` after.
  Value padTokens(Value t, OpFoldResult low, OpFoldResult high);
  /// [B, H, Np, F]: `t` [B, H, N, F] with zero tokens after it up to a
  /// multiple `padded` of `tile` tokens (`padded` is returned too).
  Value padTokensToTiles(Value t, int64_t tile, OpFoldResult &padded);
  /// `row` [W] with the 2 T - 1 diagonal sums of the static [T, T] `tile`
  /// added at `offset`: row[offset + c] += Σ_i tile[i, i + c - (T - 1)]
  /// (diagonal j - i = c - (T - 1)). What the rules with a Toeplitz bias
  /// accumulate db with, tile by tile, without an L × S buffer.
  Value addDiagonals(Value row, Value tile, Value offset);

  /// OpFoldResult arithmetic on sizes.
  OpFoldResult addSize(OpFoldResult a, int64_t constant);
  /// size^exponent as an f32 scalar (a constant when `size` is static).
  Value sizePower(OpFoldResult size, double exponent);
};

/// docs/Semantics.md §5's grouped heads and padding in the rules of linear
/// and Toeplitz attention. The rule computes with fk and v repeated to the
/// query heads (when `grouped`), padded keys zeroed (no score, so no dv or
/// dpsi either) and padded rows' cotangent dropped; `keyGradient` and
/// `valueGradient` take dfk and dv back: zero on padded keys, summed over
/// each group of query heads (repetition's transpose).
class GroupedPadding {
public:
  /// Rewrites `fk`, `v` and the cotangent `g` in place (all f32).
  GroupedPadding(GradientBuilder &gb, Value fq, Value &fk, Value &v, Value &g,
                 bool grouped, Value lengths);
  Value keyGradient(Value dfk);
  Value valueGradient(Value dv);

private:
  GradientBuilder &gb;
  bool grouped;
  Value lengths;
  OpFoldResult kvHeads;
};

/// The body helper of a scalar f32 computation.
inline SmallVector<Value> one(Value value) { return {value}; }

} // namespace mlir::flt::gradients

#endif // FLT_LIB_DIALECT_FLT_GRADIENTS_GRADIENTUTILS_H
