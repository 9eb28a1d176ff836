//===- MaskMatch.cpp - masks and biases of attention scores ---------------===//
//
// Constant tensors that multiply or shift attention scores: a 0/1 factor
// that is lower triangular in (l, s) makes attention causal; a select of -inf
// by a constant condition, or -inf in an additive constant, above the
// diagonal does the same for softmax; an additive constant that per head
// depends only on s - l is docs/Semantics.md 2.5's Toeplitz bias b[h, s - l + L
// - 1]; a constant [L, S] factor of low numerical rank (an RPE mask that code
// computed from random Fourier features of fixed positions) is factored
// back into phi psi^T, the rpe operands of linear attention. A constant may
// repeat along batch dims (it was broadcast before it was folded): it is
// read at batch index 0 after checking that it does not vary along them.
//
//===----------------------------------------------------------------------===//

#include "flt/Conversion/LinalgToFLT/AttentionMatch.h"

#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/IR/Matchers.h"

#include <cmath>

using namespace mlir;
using namespace mlir::flt;

namespace {

/// The identity map of a factor's own dims: a factor is read by its labels.
AffineMap identityRead(const TermFactor &factor) {
  return AffineMap::getMultiDimIdentityMap(factor.labels.size(),
                                           factor.value.getContext());
}

/// The dims of `factor` that carry l and s, when every other dim is a unit
/// one (the mask is one [L, S] table for every batch).
std::optional<std::pair<int64_t, int64_t>> tokenDims(const TermFactor &factor,
                                                     Label l, Label s) {
  int64_t lDim = -1, sDim = -1;
  for (auto [dim, label] : llvm::enumerate(factor.labels)) {
    if (label == l && lDim < 0)
      lDim = dim;
    else if (label == s && sDim < 0)
      sDim = dim;
    else if (label != kUnitDim)
      return std::nullopt;
  }
  if (lDim < 0 || sDim < 0)
    return std::nullopt;
  return std::pair(lDim, sDim);
}

/// Rank-revealing factorization of the rows x cols matrix `m` (row-major):
/// Gaussian elimination with complete pivoting, one rank-1 term per step,
/// until every residual entry is below `relativeTolerance` of max |m|.
/// Balanced factors (each term u v^T with |u| ~ |v|). Fails past
/// `maxRank` terms.
std::optional<LowRankMask> factorLowRank(std::vector<double> m, int64_t rows,
                                         int64_t cols, int64_t maxRank,
                                         double relativeTolerance) {
  double peak = 0.0;
  for (double x : m)
    peak = std::max(peak, std::abs(x));
  if (peak == 0.0 || !std::isfinite(peak))
    return std::nullopt;
  std::vector<std::vector<double>> us, vs;
  while (true) {
    int64_t pivot = 0;
    for (int64_t index = 1, n = rows * cols; index < n; ++index)
      if (std::abs(m[index]) > std::abs(m[pivot]))
        pivot = index;
    double p = m[pivot];
    if (std::abs(p) <= relativeTolerance * peak)
      break;
    if (static_cast<int64_t>(us.size()) == maxRank)
      return std::nullopt;
    int64_t row = pivot / cols, col = pivot % cols;
    double root = std::sqrt(std::abs(p)), sign = p < 0 ? -1.0 : 1.0;
    std::vector<double> u(rows), v(cols);
    for (int64_t i = 0; i < rows; ++i)
      u[i] = m[i * cols + col] / root;
    for (int64_t j = 0; j < cols; ++j)
      v[j] = sign * m[row * cols + j] / root;
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j)
        m[i * cols + j] -= u[i] * v[j];
    us.push_back(std::move(u));
    vs.push_back(std::move(v));
  }
  LowRankMask mask;
  mask.rank = us.size();
  mask.tokensL = rows;
  mask.tokensS = cols;
  for (int64_t i = 0; i < rows; ++i)
    for (const auto &u : us)
      mask.phi.push_back(static_cast<float>(u[i]));
  for (int64_t j = 0; j < cols; ++j)
    for (const auto &v : vs)
      mask.psi.push_back(static_cast<float>(v[j]));
  return mask;
}

} // namespace

/// Whether the constant factor is the causal mask: 1 where s <= l, else 0.
bool mlir::flt::isCausalMask(TermAnalysis &terms, const TermFactor &factor,
                             Label l, Label s) {
  std::optional<std::pair<int64_t, int64_t>> dims = tokenDims(factor, l, s);
  if (!dims || factor.inverted || terms.sizeOf(l) != terms.sizeOf(s))
    return false;
  std::optional<ConstantRead> mask = ConstantRead::getTable(
      factor.value, identityRead(factor), factor.indicator);
  if (!mask)
    return false;
  auto [lDim, sDim] = *dims;
  int64_t size = mask->extent(lDim);
  if (mask->extent(sDim) != size)
    return false;
  SmallVector<int64_t> point(factor.labels.size(), 0);
  for (int64_t i = 0; i < size; ++i)
    for (int64_t j = 0; j < size; ++j) {
      point[lDim] = i;
      point[sDim] = j;
      if (mask->at(point) != (j <= i ? 1.0 : 0.0))
        return false;
    }
  return true;
}

/// Phi [L, r] and Psi [S, r] with Phi Psi^T the constant [L, S] factor (up
/// to 1e-6 of its largest entry), when its rank r is at most half of
/// min(L, S) (and 256): an RPE mask made from r/2 random Fourier features
/// has rank r, and the linear form pays for r in every token's features.
std::optional<LowRankMask> mlir::flt::matchLowRankMask(const TermFactor &factor,
                                                       Label l, Label s) {
  std::optional<std::pair<int64_t, int64_t>> dims = tokenDims(factor, l, s);
  if (!dims || factor.inverted)
    return std::nullopt;
  std::optional<ConstantRead> mask =
      ConstantRead::get(factor.value, identityRead(factor), factor.indicator);
  if (!mask)
    return std::nullopt;
  auto [lDim, sDim] = *dims;
  auto type = cast<RankedTensorType>(factor.value.getType());
  int64_t tokensL = type.getDimSize(lDim), tokensS = type.getDimSize(sDim);
  if (std::min(tokensL, tokensS) < 2 || tokensL * tokensS > 4096 * 4096)
    return std::nullopt;
  std::vector<double> m(tokensL * tokensS);
  SmallVector<int64_t> point(factor.labels.size(), 0);
  for (int64_t i = 0; i < tokensL; ++i)
    for (int64_t j = 0; j < tokensS; ++j) {
      point[lDim] = i;
      point[sDim] = j;
      m[i * tokensS + j] = mask->at(point);
    }
  int64_t maxRank = std::min<int64_t>(std::min(tokensL, tokensS) / 2, 256);
  return factorLowRank(std::move(m), tokensL, tokensS, maxRank, 1e-6);
}

/// Whether a constant condition read by `read` and tested by `indicator`
/// (in loops of `rank` dims, tokens at lDim and sDim) masks exactly the keys
/// after each query: masked (test == maskedWhenTrue) iff s > l, the same for
/// every batch.
bool mlir::flt::isCausalSelect(std::optional<ElementRead> read,
                               Indicator indicator, bool maskedWhenTrue,
                               unsigned rank, int64_t lDim, int64_t sDim) {
  if (!read)
    return false;
  std::optional<ConstantRead> mask =
      ConstantRead::getTable(read->tensor, read->map, indicator);
  if (!mask || !mask->invariantExcept({lDim, sDim}))
    return false;
  // The token extents: the mask's dims that l and s index.
  int64_t tokens = -1;
  for (auto [index, expr] : llvm::enumerate(read->map.getResults()))
    if (auto dimExpr = dyn_cast<AffineDimExpr>(expr))
      if (static_cast<int64_t>(dimExpr.getPosition()) == lDim ||
          static_cast<int64_t>(dimExpr.getPosition()) == sDim) {
        int64_t size = mask->extent(index);
        if (tokens >= 0 && tokens != size)
          return false;
        tokens = size;
      }
  if (tokens < 1)
    return false;
  SmallVector<int64_t> point(rank, 0);
  for (int64_t i = 0; i < tokens; ++i)
    for (int64_t j = 0; j < tokens; ++j) {
      point[lDim] = i;
      point[sDim] = j;
      if (((mask->at(point) != 0.0) == maskedWhenTrue) != (j > i))
        return false;
    }
  return true;
}

/// An additive constant bias read by `read` in loops labelled `loops`, times
/// `scale`: per head (the last batch label, the one that becomes H) a
/// function of s - l only — docs/Semantics.md 2.5's Toeplitz b[h, s - l + L -
/// 1] — with -inf exactly above the diagonal meaning causal (an additive 0 /
/// -inf mask), the same for every other batch index. Anything else (a bias that
/// varies along another batch dim, a general L x S table) is not a flt
/// bias. Fills match.bias and match.causal.
bool mlir::flt::matchConstantBias(TermAnalysis &terms, const ElementRead &read,
                                  ArrayRef<Label> loops, double scale,
                                  AttentionMatch &match) {
  auto type = cast<RankedTensorType>(read.tensor.getType());
  std::optional<ConstantRead> values =
      ConstantRead::get(read.tensor, read.map, Indicator::None);
  if (!values || !type.getElementType().isF32() || scale <= 0)
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
  }
  int64_t tokensL = terms.sizeOf(match.l), tokensS = terms.sizeOf(match.s);
  int64_t heads = hDim < 0 ? 1 : terms.sizeOf(h);
  if (lDim < 0 || sDim < 0 || ShapedType::isDynamic(tokensL) ||
      ShapedType::isDynamic(tokensS) || ShapedType::isDynamic(heads) ||
      heads * tokensL * tokensS > (int64_t{1} << 26) ||
      !values->invariantExcept({lDim, sDim, hDim}))
    return false;
  int64_t width = tokensL + tokensS - 1;
  SmallVector<float> table(heads * width, 0.0f);
  SmallVector<bool> seen(heads * width, false);
  SmallVector<int64_t> point(loops.size(), 0);
  bool anyMasked = false, maskIsCausal = true;
  for (int64_t head = 0; head < heads; ++head)
    for (int64_t i = 0; i < tokensL; ++i)
      for (int64_t j = 0; j < tokensS; ++j) {
        if (hDim >= 0)
          point[hDim] = head;
        point[lDim] = i;
        point[sDim] = j;
        double x = values->at(point) * scale;
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
