//===- StructuredBuilder.h - terse linalg-on-tensors IR -----*- C++ -*-===//
//
// The flt lowerings and gradient rules build many small linalg.generic ops
// on tensors; this helper keeps each of them to the maps, the iterators and
// the scalar body.
//
//===----------------------------------------------------------------------===//

#ifndef FLT_UTILS_STRUCTUREDBUILDER_H
#define FLT_UTILS_STRUCTUREDBUILDER_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/Builders.h"

namespace mlir::flt {

/// Builds linalg-on-tensors IR at one location.
class StructuredBuilder {
public:
  using BodyFn =
      llvm::function_ref<SmallVector<Value>(OpBuilder &, Location, ValueRange)>;

  StructuredBuilder(OpBuilder &builder, Location loc) : b(builder), loc(loc) {}

  OpBuilder &builder() { return b; }
  Location location() const { return loc; }

  // Affine maps over `numDims` loop dimensions picking `dims` in order.
  AffineMap map(unsigned numDims, ArrayRef<unsigned> dims);
  /// The scalar/broadcast map: no results.
  AffineMap scalarMap(unsigned numDims);

  /// linalg.generic writing into `inits`; returns its results. `body` gets
  /// the input scalars then the init scalars and returns one value per init.
  SmallVector<Value> generic(ValueRange inputs, ValueRange inits,
                             ArrayRef<AffineMap> maps,
                             ArrayRef<utils::IteratorType> iterators,
                             BodyFn body);
  /// Single-result convenience.
  Value generic1(ValueRange inputs, Value init, ArrayRef<AffineMap> maps,
                 ArrayRef<utils::IteratorType> iterators, BodyFn body);

  /// All-parallel iterators / `n` parallel then `m` reduction.
  static SmallVector<utils::IteratorType> parallel(unsigned n,
                                                   unsigned reductions = 0);

  Value empty(ArrayRef<OpFoldResult> sizes, Type elementType);
  /// tensor.empty filled with `value`.
  Value filled(ArrayRef<OpFoldResult> sizes, Type elementType, double value);
  Value fill(Value init, double value);

  Value f32(double value);
  Value index(int64_t value);
  OpFoldResult dim(Value tensor, int64_t dim);
  SmallVector<OpFoldResult> dims(Value tensor);

  /// A unit-stride slice; `resultRank` < rank drops static unit sizes,
  /// leading ones first (a rank-reducing slice).
  Value slice(Value source, ArrayRef<OpFoldResult> offsets,
              ArrayRef<OpFoldResult> sizes, int64_t resultRank);
  /// Inserts `tile` (possibly of lower rank) into `dest`.
  Value insert(Value tile, Value dest, ArrayRef<OpFoldResult> offsets,
               ArrayRef<OpFoldResult> sizes);

  /// Zero-pads `tile` at the high end to the static `shape`; returns `tile`
  /// itself when it already has that shape.
  Value padTo(Value tile, ArrayRef<int64_t> shape);

  /// `tensor` converted elementwise to f32 (itself when already f32).
  Value toF32(Value tensor);
  /// Scalar conversion between float types (extension or truncation).
  Value convertScalar(Value scalar, Type to);

  /// FourierFormer's log-domain scores of a tile: C[i, j] += power Σ_c
  /// log|sinc(R_c (q[i, c] - k[j, c]))| (+ log|R_c| per factor when
  /// `withAmplitude`: the factors R_c sinc(...) of its code's form), with
  /// log|sinc x| = log|sin x / x|, 0 at x = 0 and -inf where sin x is
  /// exactly 0. q [M, d], k [N, d], R [d]. The forward lowering and the
  /// gradient rule compute the same scores with it.
  Value logSincScores(Value q, Value k, Value scaleRow, Value c, int64_t power,
                      bool withAmplitude);

  /// C += A B as a linalg.generic contraction, with A [M, K] (or [K, M]
  /// when `transposeA`) and B [K, N] (or [N, K] when `transposeB`).
  Value matmulAccumulate(Value a, Value bMat, Value c, bool transposeA,
                         bool transposeB);
  /// C += A B over the pairs k <= i only (row i of C, row k of B; the
  /// causal diagonal tile, where keys and queries start at the same token),
  /// A [M, K], B [K, N]. A masked pair is skipped by a select, not
  /// multiplied by zero: a NaN or infinity in a later row of B reaches no
  /// earlier row of C (0 · NaN would be NaN).
  Value causalMatmulAccumulate(Value a, Value bMat, Value c);

  // Grouped key/value heads (docs/Semantics.md section 5).
  /// `keys` [B, H_kv, N, F] repeated to `heads` H: head h reads head
  /// h / (H / H_kv), PyTorch's repeat_interleave order. A copy: for the
  /// places that need per-query-head keys (per-head projections, gradients).
  Value repeatHeads(Value keys, OpFoldResult heads);
  /// `x` [B, H, N, F] summed over each group of H / H_kv consecutive heads:
  /// [B, H_kv, N, F] in f32 (the transpose of repeatHeads).
  Value sumHeadGroups(Value x, OpFoldResult kvHeads);
  /// `x` [B, H, N, F] with rows n >= lengths[b] set to zero (lengths a
  /// rank-1 i32 or i64 tensor).
  Value zeroRowsFrom(Value x, Value lengths);

private:
  OpBuilder &b;
  Location loc;
};

} // namespace mlir::flt

#endif // FLT_UTILS_STRUCTUREDBUILDER_H
