//===- MaskMatch.cpp - masks and biases of attention scores ---------------===//
//
// Constant tensors that multiply or shift attention scores: a 0/1 factor
// that is lower triangular in (l, s) makes attention causal; a select of -inf
// by a constant condition, or -inf in an additive constant, above the
// diagonal does the same for softmax; an additive constant that per head
// depends only on s - l is SPEC 2.5's Toeplitz bias b[h, s - l + L - 1].
//
//===----------------------------------------------------------------------===//

#include "flt/Conversion/LinalgToFLT/AttentionMatch.h"

#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/IR/Matchers.h"

#include <cmath>

using namespace mlir;
using namespace mlir::flt;

/// Whether the constant factor is the causal mask: 1 where s <= l, else 0.
bool mlir::flt::isCausalMask(TermAnalysis &terms, const TermFactor &factor,
                             Label l, Label s) {
  DenseFPElementsAttr dense;
  if (!matchPattern(factor.value, m_Constant(&dense)))
    return false;
  auto type = cast<RankedTensorType>(factor.value.getType());
  int lDim = -1, sDim = -1;
  for (auto [dim, label] : llvm::enumerate(factor.labels)) {
    if (label == l)
      lDim = dim;
    else if (label == s)
      sDim = dim;
    else if (label != kUnitDim)
      return false;
  }
  if (lDim < 0 || sDim < 0 || terms.sizeOf(l) != terms.sizeOf(s))
    return false;
  SmallVector<int64_t> strides = computeStrides(type.getShape());
  auto values = dense.getValues<APFloat>();
  int64_t size = type.getDimSize(lDim);
  for (int64_t i = 0; i < size; ++i)
    for (int64_t j = 0; j < size; ++j) {
      double x =
          values[i * strides[lDim] + j * strides[sDim]].convertToDouble();
      if (x != (j <= i ? 1.0 : 0.0))
        return false;
    }
  return true;
}

/// Whether a constant i1 condition read by `read` (in loops of `rank` dims,
/// tokens at lDim and sDim) masks exactly the keys after each query:
/// masked (cond == maskedWhenTrue) iff s > l, the same for every batch.
bool mlir::flt::isCausalSelect(std::optional<ElementRead> read,
                               bool maskedWhenTrue, unsigned rank, int64_t lDim,
                               int64_t sDim) {
  DenseIntElementsAttr dense;
  if (!read || !matchPattern(read->tensor, m_Constant(&dense)) ||
      !dense.getElementType().isInteger(1))
    return false;
  AffineMap map = read->map;
  for (unsigned dim = 0; dim < rank; ++dim)
    if (static_cast<int64_t>(dim) != lDim &&
        static_cast<int64_t>(dim) != sDim && map.isFunctionOfDim(dim))
      return false;
  auto type = cast<RankedTensorType>(read->tensor.getType());
  SmallVector<int64_t> strides = computeStrides(type.getShape());
  // The token extents: the mask's dims that l and s index.
  int64_t tokens = -1;
  for (auto [index, expr] : llvm::enumerate(map.getResults()))
    if (auto dimExpr = dyn_cast<AffineDimExpr>(expr))
      if (static_cast<int64_t>(dimExpr.getPosition()) == lDim ||
          static_cast<int64_t>(dimExpr.getPosition()) == sDim) {
        int64_t size = type.getDimSize(index);
        if (tokens >= 0 && tokens != size)
          return false;
        tokens = size;
      }
  if (tokens < 1)
    return false;
  auto values = dense.getValues<bool>();
  SmallVector<int64_t> point(rank, 0);
  for (int64_t i = 0; i < tokens; ++i)
    for (int64_t j = 0; j < tokens; ++j) {
      point[lDim] = i;
      point[sDim] = j;
      int64_t flat = 0;
      for (auto [dim, index] : llvm::enumerate(map.compose(point)))
        flat += index * strides[dim];
      if ((values[flat] == maskedWhenTrue) != (j > i))
        return false;
    }
  return true;
}

/// An additive constant bias read by `read` in loops labelled `loops`, times
/// `scale`: per head (the last batch label, the one that becomes H) a
/// function of s - l only — SPEC 2.5's Toeplitz b[h, s - l + L - 1] — with
/// -inf exactly above the diagonal meaning causal (an additive 0 / -inf
/// mask). Anything else (a bias varying along another batch dim, a general
/// L x S table) is not a flt bias. Fills match.bias and match.causal.
bool mlir::flt::matchConstantBias(TermAnalysis &terms, const ElementRead &read,
                                  ArrayRef<Label> loops, double scale,
                                  AttentionMatch &match) {
  DenseFPElementsAttr dense;
  auto type = cast<RankedTensorType>(read.tensor.getType());
  if (!matchPattern(read.tensor, m_Constant(&dense)) ||
      !type.getElementType().isF32() || !type.hasStaticShape() || scale <= 0)
    return false;
  Label h = match.batch.empty() ? kUnitDim : match.batch.back();
  int64_t lDim = -1, sDim = -1, hDim = -1;
  for (auto [dim, label] : llvm::enumerate(loops)) {
    if (label == match.l)
      lDim = dim;
    else if (label == match.s)
      sDim = dim;
    else if (label == h && h != kUnitDim)
      hDim = dim;
    else if (read.map.isFunctionOfDim(dim))
      return false;
  }
  int64_t tokensL = terms.sizeOf(match.l), tokensS = terms.sizeOf(match.s);
  int64_t heads = hDim < 0 ? 1 : terms.sizeOf(h);
  if (lDim < 0 || sDim < 0 || ShapedType::isDynamic(tokensL) ||
      ShapedType::isDynamic(tokensS) || ShapedType::isDynamic(heads) ||
      heads * tokensL * tokensS > (int64_t{1} << 26))
    return false;
  int64_t width = tokensL + tokensS - 1;
  SmallVector<float> table(heads * width, 0.0f);
  SmallVector<bool> seen(heads * width, false);
  SmallVector<int64_t> strides = computeStrides(type.getShape());
  auto values = dense.getValues<float>();
  SmallVector<int64_t> point(loops.size(), 0);
  bool anyMasked = false, maskIsCausal = true;
  for (int64_t head = 0; head < heads; ++head)
    for (int64_t i = 0; i < tokensL; ++i)
      for (int64_t j = 0; j < tokensS; ++j) {
        if (hDim >= 0)
          point[hDim] = head;
        point[lDim] = i;
        point[sDim] = j;
        int64_t flat = 0;
        for (auto [dim, index] : llvm::enumerate(read.map.compose(point)))
          flat += index * strides[dim];
        double x = static_cast<double>(values[flat]) * scale;
        bool masked = std::isinf(x) && x < 0;
        anyMasked |= masked;
        maskIsCausal &= masked == (j > i);
        if (masked)
          continue;
        if (!std::isfinite(x))
          return false;
        int64_t column = head * width + (j - i + tokensL - 1);
        if (seen[column] &&
            std::abs(table[column] - x) > 1e-6 * std::max(1.0, std::abs(x)))
          return false;
        table[column] = static_cast<float>(x);
        seen[column] = true;
      }
  if (anyMasked) {
    if (!maskIsCausal || tokensL != tokensS)
      return false;
    match.causal = true;
  }
  if (llvm::any_of(table, [](float x) { return x != 0.0f; })) {
    match.bias = std::move(table);
    match.biasHeads = heads;
  }
  return true;
}
