//===- RaiseAttention.cpp - flt-raise-attention ---------------------------===//
//
// Finds attention written in linalg-on-tensors (as torch-mlir emits it, or
// as TOSA lowers to it) and rewrites it into flt ops. Every candidate is a
// structured op; TermAnalysis reads it as
//
//   N[batch, l, e] / (D[batch, l] + eps),  N = sum_s Rest[batch, l, s] v[s, e],
//                                          D = sum_s Rest[batch, l, s]
//
// (however the division is spelled: a divide generic, a reciprocal times
// the numerator, or scores normalized before the product with v), and the
// factors of Rest decide the op:
//
//   Rest = exp(c q k^T - m)               -> flt.kernel_attention (softmax)
//   Rest = fq[l, x] fk[s, x] (Phi[l, y] Psi[s, y]) (tril[l, s])
//                                         -> flt.linear_attention (rpe, causal)
//
// plus linalg.softmax(c q k^T) @ v. Only exact algebraic identities are
// used, so whatever is raised computes what the input did (up to float
// rounding); anything else is left alone.
//
//===----------------------------------------------------------------------===//

#include "flt/Conversion/LinalgToFLT/PayloadView.h"
#include "flt/Conversion/LinalgToFLT/RotaryMatch.h"
#include "flt/Conversion/LinalgToFLT/TensorTerms.h"
#include "flt/Conversion/Passes.h"
#include "flt/Dialect/FLT/IR/FLTOps.h"

#include "mlir/Conversion/TosaToArith/TosaToArith.h"
#include "mlir/Conversion/TosaToLinalg/TosaToLinalg.h"
#include "mlir/Conversion/TosaToTensor/TosaToTensor.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::flt {
#define GEN_PASS_DEF_FLTRAISEATTENTION
#include "flt/Conversion/Passes.h.inc"
} // namespace mlir::flt

using namespace mlir;
using namespace mlir::flt;

//===----------------------------------------------------------------------===//
// Scalar payloads seen through elementwise producers
//===----------------------------------------------------------------------===//

namespace {

/// Elementwise with every input indexed by the identity too, except splat
/// constants (TOSA broadcasts scalars as tensor<1x1x1xf32>), whose indexing
/// does not matter.
bool isIdentityElementwise(linalg::GenericOp op) {
  if (!isElementwise(op))
    return false;
  return llvm::all_of(op.getDpsInputOperands(), [&](OpOperand *operand) {
    return op.getMatchingIndexingMap(operand).isIdentity() ||
           constantScalar(operand->get());
  });
}

/// Whether `pred` says "x > 0" (or >=; the two agree for relu and elu).
bool isPositiveTest(arith::CmpFPredicate pred) {
  using P = arith::CmpFPredicate;
  return pred == P::OGT || pred == P::OGE || pred == P::UGT || pred == P::UGE;
}
bool isNonPositiveTest(arith::CmpFPredicate pred) {
  using P = arith::CmpFPredicate;
  return pred == P::OLT || pred == P::OLE || pred == P::ULT || pred == P::ULE;
}

/// For select(x > 0, a, b) (or select(x <= 0, b, a)): (x, a, b).
std::optional<std::tuple<Value, Value, Value>>
matchSignSelect(PayloadView &view, Value scalar) {
  auto select = dyn_cast_or_null<arith::SelectOp>(view.def(scalar));
  if (!select)
    return std::nullopt;
  auto cmp = dyn_cast_or_null<arith::CmpFOp>(view.def(select.getCondition()));
  if (!cmp)
    return std::nullopt;
  Value x = cmp.getLhs();
  arith::CmpFPredicate pred = cmp.getPredicate();
  if (!view.isConstant(cmp.getRhs(), 0.0)) {
    if (!view.isConstant(cmp.getLhs(), 0.0))
      return std::nullopt;
    // 0 < x is x > 0: swap the operands' roles.
    using P = arith::CmpFPredicate;
    static const std::pair<P, P> swapped[] = {
        {P::OLT, P::OGT}, {P::OLE, P::OGE}, {P::ULT, P::UGT}, {P::ULE, P::UGE},
        {P::OGT, P::OLT}, {P::OGE, P::OLE}, {P::UGT, P::ULT}, {P::UGE, P::ULE}};
    auto it = llvm::find_if(swapped, [&](auto p) { return p.first == pred; });
    if (it == std::end(swapped))
      return std::nullopt;
    x = cmp.getRhs();
    pred = it->second;
  }
  if (isPositiveTest(pred))
    return std::make_tuple(x, select.getTrueValue(), select.getFalseValue());
  if (isNonPositiveTest(pred))
    return std::make_tuple(x, select.getFalseValue(), select.getTrueValue());
  return std::nullopt;
}

/// x for min(x, FLT_MAX) (either order; TOSA's clamp to [0, FLT_MAX] is
/// relu), else `scalar`. The bound only changes +inf.
Value stripUpperClamp(PayloadView &view, Value scalar) {
  Operation *op = view.def(scalar);
  if (!isa_and_nonnull<arith::MinimumFOp, arith::MinNumFOp>(op))
    return scalar;
  for (auto [x, bound] : {std::pair(op->getOperand(0), op->getOperand(1)),
                          std::pair(op->getOperand(1), op->getOperand(0))}) {
    std::optional<double> c = view.constant(bound);
    if (c && *c >= 3.4028234e38)
      return x;
  }
  return scalar;
}

/// x when `scalar` computes relu(x).
std::optional<Value> matchRelu(PayloadView &view, Value scalar) {
  scalar = stripUpperClamp(view, scalar);
  Operation *op = view.def(scalar);
  if (isa_and_nonnull<arith::MaximumFOp, arith::MaxNumFOp>(op)) {
    if (view.isConstant(op->getOperand(1), 0.0))
      return stripUpperClamp(view, op->getOperand(0));
    if (view.isConstant(op->getOperand(0), 0.0))
      return stripUpperClamp(view, op->getOperand(1));
    return std::nullopt;
  }
  if (auto parts = matchSignSelect(view, scalar)) {
    auto [x, positive, negative] = *parts;
    if (view.same(positive, x) && view.isConstant(negative, 0.0))
      return x;
  }
  return std::nullopt;
}

/// Whether `scalar` computes exp(x) - 1.
bool isExpMinusOne(PayloadView &view, Value scalar, Value x) {
  Operation *op = view.def(scalar);
  if (auto expm1 = dyn_cast_or_null<math::ExpM1Op>(op))
    return view.same(expm1.getOperand(), x);
  auto isExpOfX = [&](Value v) {
    auto exp = dyn_cast_or_null<math::ExpOp>(view.def(v));
    return exp && view.same(view.strip(exp.getOperand()), x);
  };
  if (auto sub = dyn_cast_or_null<arith::SubFOp>(op))
    return isExpOfX(sub.getLhs()) && view.isConstant(sub.getRhs(), 1.0);
  if (auto add = dyn_cast_or_null<arith::AddFOp>(op))
    return (isExpOfX(add.getLhs()) && view.isConstant(add.getRhs(), -1.0)) ||
           (isExpOfX(add.getRhs()) && view.isConstant(add.getLhs(), -1.0));
  return false;
}

/// x when `scalar` computes elu(x) (alpha = 1).
std::optional<Value> matchElu(PayloadView &view, Value scalar) {
  auto parts = matchSignSelect(view, scalar);
  if (!parts)
    return std::nullopt;
  auto [x, positive, negative] = *parts;
  if (!view.same(view.strip(positive), x) || !isExpMinusOne(view, negative, x))
    return std::nullopt;
  return x;
}

/// A feature map flt knows, recognized in the generic producing a factor.
struct FeatureMapMatch {
  Kernel kernel;
  float eps;
  Value input;
};

std::optional<FeatureMapMatch> matchFeatureMap(Value factor) {
  auto generic = factor.getDefiningOp<linalg::GenericOp>();
  if (!isIdentityElementwise(generic))
    return std::nullopt;
  PayloadView view(generic);
  Value body = view.yielded();
  double offset = 0.0;
  if (auto add = dyn_cast_or_null<arith::AddFOp>(view.def(body))) {
    if (std::optional<double> c = view.constant(add.getRhs())) {
      offset = *c;
      body = add.getLhs();
    } else if (std::optional<double> c = view.constant(add.getLhs())) {
      offset = *c;
      body = add.getRhs();
    }
  }
  auto inputOf = [&](Value x) -> Value {
    std::optional<ElementRead> r = view.read(x);
    if (!r || !r->map.isIdentity() || r->tensor.getType() != factor.getType())
      return {};
    return r->tensor;
  };
  if (std::optional<Value> x = matchRelu(view, body))
    if (Value input = inputOf(*x))
      return FeatureMapMatch{Kernel::Relu, static_cast<float>(offset), input};
  if (std::optional<Value> x = matchElu(view, body))
    if (Value input = inputOf(*x))
      return FeatureMapMatch{Kernel::EluPlusOne,
                             static_cast<float>(offset - 1.0), input};
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// The matched attention
//===----------------------------------------------------------------------===//

/// A factor and the labels of its dims (kUnitDim for size-1 dims).
struct Operand {
  Value value;
  SmallVector<Label, 4> labels;
};

/// Everything the rewrite needs, in the labels of the root's term.
struct AttentionMatch {
  enum class Kind { Softmax, Linear } kind;
  SmallVector<Label> batch; // in the order of the root's result
  Label l, s, e;
  Operand q, k, v;                       // q, k: scores or features
  std::optional<Operand> phi, psi;       // linear: the RPE factors
  std::optional<FeatureMapMatch> fq, fk; // linear: recognized feature maps
  bool causal = false;
  double temperature = 1.0; // softmax
  SmallVector<float> bias;  // softmax: b [H, L+S-1]
  int64_t biasHeads = 1;
  double scale = 1.0;                            // multiplies the op's result
  float eps = 0.0f;                              // linear
  SmallVector<SmallVector<Label, 2>, 4> rootOut; // the root's dims
};

/// Whether every label of `labels` is kUnitDim or in `allowed`.
bool labelsWithin(ArrayRef<Label> labels, ArrayRef<Label> allowed) {
  return llvm::all_of(labels, [&](Label label) {
    return label == kUnitDim || llvm::is_contained(allowed, label);
  });
}

bool hasLabel(const TermFactor &factor, Label label) {
  return llvm::is_contained(factor.labels, label);
}

/// The labels of `factor` summed in `term`.
SmallVector<Label> summedIn(const TermFactor &factor, const Term &term) {
  SmallVector<Label> outs = term.outLabels(), summed;
  for (Label label : factor.labels)
    if (label != kUnitDim && !llvm::is_contained(outs, label))
      summed.push_back(label);
  return summed;
}

/// Renames `term`'s out labels to `labels` (one per dim, kUnitDim for unit
/// dims). Fails when a dim of the term merges several labels.
bool alignOut(Term &term, ArrayRef<Label> labels) {
  if (term.out.size() != labels.size())
    return false;
  for (auto [group, label] : llvm::zip_equal(
           SmallVector<SmallVector<Label, 2>, 4>(term.out), labels)) {
    if (label == kUnitDim) {
      if (!group.empty())
        return false;
      continue;
    }
    if (group.size() != 1)
      return false;
    if (group.front() != label)
      term.rename(group.front(), label);
  }
  return true;
}

/// Whether `d` is `rest` up to renaming its inner labels: the same values,
/// each label of d's factors mapped one-to-one onto rest's, d's out labels
/// onto themselves and d's summed labels onto `summed`.
bool sameProduct(const Term &d, ArrayRef<TermFactor> rest,
                 ArrayRef<Label> summed) {
  if (d.factors.size() != rest.size())
    return false;
  SmallVector<Label> dOut = d.outLabels();
  DenseMap<Label, Label> mapping;
  for (Label label : dOut)
    mapping[label] = label;
  SmallVector<bool> used(rest.size(), false);
  for (const TermFactor &mine : d.factors) {
    bool found = false;
    for (auto [index, theirs] : llvm::enumerate(rest)) {
      if (used[index] || theirs.value != mine.value ||
          theirs.inverted != mine.inverted || theirs.offset != mine.offset)
        continue;
      DenseMap<Label, Label> trial = mapping;
      bool consistent = true;
      for (auto [a, b] : llvm::zip_equal(mine.labels, theirs.labels)) {
        if ((a == kUnitDim) != (b == kUnitDim)) {
          consistent = false;
          break;
        }
        if (a == kUnitDim)
          continue;
        auto [it, inserted] = trial.try_emplace(a, b);
        if (it->second != b) {
          consistent = false;
          break;
        }
        if (inserted && !llvm::is_contained(summed, b)) {
          consistent = false;
          break;
        }
      }
      if (consistent) {
        mapping = std::move(trial);
        used[index] = true;
        found = true;
        break;
      }
    }
    if (!found)
      return false;
  }
  SmallVector<Label> images;
  for (auto [from, to] : mapping)
    images.push_back(to);
  llvm::sort(images);
  return std::adjacent_find(images.begin(), images.end()) == images.end();
}

/// D and eps of `value` = D + eps computed elementwise; (value, 0) else.
std::pair<Value, double> splitEps(Value value) {
  auto generic = value.getDefiningOp<linalg::GenericOp>();
  if (!isIdentityElementwise(generic))
    return {value, 0.0};
  PayloadView view(generic);
  auto add = dyn_cast_or_null<arith::AddFOp>(view.def(view.yielded()));
  if (!add)
    return {value, 0.0};
  for (auto [x, c] : {std::pair(add.getLhs(), add.getRhs()),
                      std::pair(add.getRhs(), add.getLhs())}) {
    std::optional<double> eps = view.constant(c);
    std::optional<ElementRead> r = view.read(x);
    if (eps && r && r->map.isIdentity() &&
        r->tensor.getType() == value.getType())
      return {r->tensor, *eps};
  }
  return {value, 0.0};
}

/// Whether the constant factor is the causal mask: 1 where s <= l, else 0.
bool isCausalMask(TermAnalysis &terms, const TermFactor &factor, Label l,
                  Label s) {
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

/// The scores c * sum_x q[l, x] k[s, x] of `x` (whose dims carry
/// `labels`): fills q, k and the temperature.
bool matchScores(TermAnalysis &terms, Value scores, ArrayRef<Label> labels,
                 ArrayRef<Label> batch, Label l, Label s,
                 AttentionMatch &match) {
  Term term = terms.termOf(scores);
  if (!alignOut(term, labels) || term.factors.size() != 2)
    return false;
  SmallVector<Label> summed = term.summedLabels();
  if (summed.size() != 1)
    return false;
  Label x = summed.front();
  const TermFactor *q = nullptr, *k = nullptr;
  for (const TermFactor &factor : term.factors) {
    if (factor.inverted || !hasLabel(factor, x))
      return false;
    SmallVector<Label> allowed(batch);
    allowed.push_back(x);
    if (hasLabel(factor, l) && !hasLabel(factor, s) && !q) {
      allowed.push_back(l);
      q = &factor;
    } else if (hasLabel(factor, s) && !hasLabel(factor, l) && !k) {
      allowed.push_back(s);
      k = &factor;
    } else {
      return false;
    }
    if (!labelsWithin(factor.labels, allowed))
      return false;
  }
  match.q = {q->value, q->labels};
  match.k = {k->value, k->labels};
  match.temperature = term.coefficient;
  return true;
}

/// Whether a constant i1 condition read by `read` (in loops of `rank` dims,
/// tokens at lDim and sDim) masks exactly the keys after each query:
/// masked (cond == maskedWhenTrue) iff s > l, the same for every batch.
bool isCausalSelect(std::optional<ElementRead> read, bool maskedWhenTrue,
                    unsigned rank, int64_t lDim, int64_t sDim) {
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
bool matchConstantBias(TermAnalysis &terms, const ElementRead &read,
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

/// Softmax numerators exp(scores - m) (m constant along s, so it cancels)
/// or exp(scores), with the factor's dims carrying `labels`.
bool matchSoftmaxNumerator(TermAnalysis &terms, const TermFactor &factor,
                           ArrayRef<Label> batch, Label l, Label s,
                           AttentionMatch &match) {
  auto generic = factor.value.getDefiningOp<linalg::GenericOp>();
  if (!generic || !generic.hasPureTensorSemantics() ||
      generic->getNumResults() != 1 || generic.getNumReductionLoops() != 0 ||
      !generic.getMatchingIndexingMap(generic.getDpsInitOperand(0))
           .isIdentity())
    return false;
  PayloadView view(generic);
  auto exp = dyn_cast_or_null<math::ExpOp>(view.def(view.yielded()));
  if (!exp)
    return false;
  Value argument = exp.getOperand();
  if (auto sub = dyn_cast_or_null<arith::SubFOp>(view.def(argument))) {
    std::optional<ElementRead> shift = view.read(sub.getRhs());
    auto sDim = llvm::find(factor.labels, s) - factor.labels.begin();
    if (!shift || shift->map.isFunctionOfDim(sDim))
      return false;
    argument = sub.getLhs();
  }
  // masked_fill(scores, mask, -inf) with a constant causal mask.
  if (auto select = dyn_cast_or_null<arith::SelectOp>(view.def(argument))) {
    auto isMinusInfinity = [&](Value v) {
      std::optional<double> c = view.constant(v);
      return c && *c <= -3.4028234e38;
    };
    bool maskedWhenTrue = isMinusInfinity(select.getTrueValue());
    if (!maskedWhenTrue && !isMinusInfinity(select.getFalseValue()))
      return false;
    int64_t lDim = llvm::find(factor.labels, l) - factor.labels.begin();
    int64_t sDim = llvm::find(factor.labels, s) - factor.labels.begin();
    if (!isCausalSelect(view.read(select.getCondition()), maskedWhenTrue,
                        factor.labels.size(), lDim, sDim))
      return false;
    match.causal = true;
    argument = maskedWhenTrue ? select.getFalseValue() : select.getTrueValue();
  }
  // Scales multiply the temperature; one additive constant (a Toeplitz
  // bias, a 0 / -inf causal mask) is scaled by the scales outside it:
  // s1 * (b + s2 * q k^T) has temperature s1 s2 and bias s1 b.
  double scale = 1.0;
  std::optional<ElementRead> bias;
  double biasScale = 1.0;
  while (true) {
    // Look into elementwise producers only for what is handled here: the
    // scores themselves may be scaled in a generic of their own, which
    // the scores' term reads (divisions included).
    Operation *op = view.resolve(argument).getDefiningOp();
    if (auto mul = dyn_cast_or_null<arith::MulFOp>(op)) {
      if (std::optional<double> c = view.constant(mul.getRhs())) {
        scale *= *c;
        argument = mul.getLhs();
      } else if (std::optional<double> c = view.constant(mul.getLhs())) {
        scale *= *c;
        argument = mul.getRhs();
      } else {
        return false;
      }
      continue;
    }
    auto add = dyn_cast_or_null<arith::AddFOp>(op);
    if (!add || bias)
      break;
    for (auto [constant, other] : {std::pair(add.getRhs(), add.getLhs()),
                                   std::pair(add.getLhs(), add.getRhs())}) {
      std::optional<ElementRead> read = view.read(constant);
      if (read && matchPattern(read->tensor, m_Constant())) {
        bias = read;
        biasScale = scale;
        argument = other;
        break;
      }
    }
    if (!bias)
      return false;
  }
  if (bias && !matchConstantBias(terms, *bias, factor.labels, biasScale, match))
    return false;
  std::optional<ElementRead> scores = view.readShallow(argument);
  if (!scores || !scores->map.isIdentity())
    return false;
  if (!matchScores(terms, scores->tensor, factor.labels, batch, l, s, match))
    return false;
  match.temperature *= scale;
  return true;
}

/// Linear attention: Rest = query-side factors [l, x], key-side factors
/// [s, x] and an optional causal mask [l, s].
bool matchLinearFactors(TermAnalysis &terms, const Term &n,
                        ArrayRef<TermFactor> rest, AttentionMatch &match) {
  SmallVector<Label> summed = n.summedLabels();
  SmallVector<const TermFactor *> queries, keys;
  for (const TermFactor &factor : rest) {
    if (factor.inverted)
      return false;
    bool withL = hasLabel(factor, match.l), withS = hasLabel(factor, match.s);
    if (withL && withS) {
      if (match.causal || !isCausalMask(terms, factor, match.l, match.s))
        return false;
      match.causal = true;
    } else if (withL) {
      queries.push_back(&factor);
    } else if (withS) {
      keys.push_back(&factor);
    } else {
      return false;
    }
  }
  if (queries.size() != keys.size() || queries.empty() || queries.size() > 2)
    return false;
  // Pair each query-side factor with the key-side one sharing its feature.
  SmallVector<std::pair<Operand, Operand>> pairs;
  SmallVector<Label> features;
  for (const TermFactor *query : queries) {
    SmallVector<Label> own = summedIn(*query, n);
    if (own.size() != 1 || llvm::is_contained(features, own.front()))
      return false;
    Label x = own.front();
    features.push_back(x);
    const TermFactor *key = nullptr;
    for (const TermFactor *candidate : keys)
      if (hasLabel(*candidate, x)) {
        if (key)
          return false;
        key = candidate;
      }
    SmallVector<Label> queryAllowed(match.batch), keyAllowed(match.batch);
    queryAllowed.append({match.l, x});
    keyAllowed.append({match.s, x});
    if (!key || !labelsWithin(query->labels, queryAllowed) ||
        !labelsWithin(key->labels, keyAllowed))
      return false;
    pairs.push_back({{query->value, query->labels}, {key->value, key->labels}});
  }
  // Every summed label is s or a feature.
  for (Label label : summed)
    if (label != match.s && !llvm::is_contained(features, label))
      return false;
  // The score (fq . fk)(phi . psi) is symmetric in the two pairs: put the
  // pair with a recognized feature map first.
  if (pairs.size() == 2 && !matchFeatureMap(pairs[0].first.value) &&
      !matchFeatureMap(pairs[0].second.value))
    std::swap(pairs[0], pairs[1]);
  match.q = pairs[0].first;
  match.k = pairs[0].second;
  match.fq = matchFeatureMap(match.q.value);
  match.fk = matchFeatureMap(match.k.value);
  if (pairs.size() == 2) {
    match.phi = pairs[1].first;
    match.psi = pairs[1].second;
  }
  return true;
}

/// Reads the root's result dims as [batch..., l, e]: the last two must each
/// be one label; the batch labels keep their order.
bool readResultLabels(const Term &root, AttentionMatch &match) {
  if (root.out.size() < 2 || root.out.back().size() != 1 ||
      root.out[root.out.size() - 2].size() != 1)
    return false;
  match.l = root.out[root.out.size() - 2].front();
  match.e = root.out.back().front();
  for (size_t dim = 0; dim + 2 < root.out.size(); ++dim)
    match.batch.append(root.out[dim].begin(), root.out[dim].end());
  match.rootOut = root.out;
  return true;
}

/// The root's term as N / (D + eps) with N = sum_s Rest v: fills the labels,
/// v, the scale and eps, and returns Rest.
std::optional<SmallVector<TermFactor>>
matchNormalized(TermAnalysis &terms, const Term &root, AttentionMatch &match) {
  const TermFactor *inverse = nullptr;
  for (const TermFactor &factor : root.factors)
    if (factor.inverted) {
      if (inverse)
        return std::nullopt;
      inverse = &factor;
    }
  if (!inverse || !readResultLabels(root, match))
    return std::nullopt;

  Term n = root;
  n.factors.clear();
  for (const TermFactor &factor : root.factors)
    if (&factor != inverse)
      n.factors.push_back(factor);
  // v: the one factor carrying e, summed over exactly one label (s).
  const TermFactor *v = nullptr;
  for (const TermFactor &factor : n.factors)
    if (hasLabel(factor, match.e)) {
      if (v)
        return std::nullopt;
      v = &factor;
    }
  if (!v || v->inverted)
    return std::nullopt;
  SmallVector<Label> vSummed = summedIn(*v, n);
  if (vSummed.size() != 1)
    return std::nullopt;
  match.s = vSummed.front();
  SmallVector<Label> vAllowed(match.batch);
  vAllowed.append({match.s, match.e});
  if (!labelsWithin(v->labels, vAllowed) || match.s == match.l)
    return std::nullopt;
  match.v = {v->value, v->labels};
  SmallVector<TermFactor> rest;
  for (const TermFactor &factor : n.factors)
    if (&factor != v)
      rest.push_back(factor);

  // D (+ eps) must be the same product as N without v.
  // The divisor is indexed by query (and batch) only: dividing inside the
  // sum over s, or per value column, is not attention.
  SmallVector<Label> perQuery(match.batch);
  perQuery.push_back(match.l);
  if (!labelsWithin(inverse->labels, perQuery))
    return std::nullopt;
  auto [dValue, eps] = splitEps(inverse->value);
  eps += inverse->offset;
  Term d = terms.termOf(dValue);
  if (!alignOut(d, inverse->labels) || d.coefficient == 0.0 ||
      !sameProduct(d, rest, n.summedLabels()))
    return std::nullopt;
  match.scale = n.coefficient / d.coefficient;
  match.eps = static_cast<float>(eps / d.coefficient);
  return rest;
}

/// Every pattern, tried on the term of one structured op's result.
std::optional<AttentionMatch> matchAttention(TermAnalysis &terms,
                                             Value result) {
  Term root = terms.termOf(result);
  AttentionMatch match;
  if (std::optional<SmallVector<TermFactor>> rest =
          matchNormalized(terms, root, match)) {
    if (rest->size() == 1 && hasLabel(rest->front(), match.l) &&
        hasLabel(rest->front(), match.s)) {
      SmallVector<Label> allowed(match.batch);
      allowed.append({match.l, match.s});
      if (match.eps != 0.0f || !labelsWithin(rest->front().labels, allowed) ||
          !matchSoftmaxNumerator(terms, rest->front(), match.batch, match.l,
                                 match.s, match))
        return std::nullopt;
      match.kind = AttentionMatch::Kind::Softmax;
      if (match.causal && (terms.sizeOf(match.l) != terms.sizeOf(match.s) ||
                           ShapedType::isDynamic(terms.sizeOf(match.l))))
        return std::nullopt;
      return match;
    }
    if (!matchLinearFactors(terms, root, *rest, match))
      return std::nullopt;
    match.kind = AttentionMatch::Kind::Linear;
    if (match.causal && terms.sizeOf(match.l) != terms.sizeOf(match.s))
      return std::nullopt;
    return match;
  }

  // linalg.softmax(scores) @ v.
  AttentionMatch plain;
  if (root.factors.size() != 2 || !readResultLabels(root, plain))
    return std::nullopt;
  SmallVector<Label> summed = root.summedLabels();
  if (summed.size() != 1)
    return std::nullopt;
  plain.s = summed.front();
  for (auto [pIndex, vIndex] : {std::pair(0, 1), std::pair(1, 0)}) {
    const TermFactor &p = root.factors[pIndex], &v = root.factors[vIndex];
    auto softmax = p.value.getDefiningOp<linalg::SoftmaxOp>();
    if (!softmax || p.inverted || v.inverted ||
        p.labels[softmax.getDimension()] != plain.s)
      continue;
    SmallVector<Label> pAllowed(plain.batch), vAllowed(plain.batch);
    pAllowed.append({plain.l, plain.s});
    vAllowed.append({plain.s, plain.e});
    if (!labelsWithin(p.labels, pAllowed) ||
        !labelsWithin(v.labels, vAllowed) || !hasLabel(p, plain.l) ||
        root.coefficient != 1.0)
      return std::nullopt;
    plain.v = {v.value, v.labels};
    plain.scale = 1.0;
    if (!matchScores(terms, softmax.getInput(), p.labels, plain.batch, plain.l,
                     plain.s, plain))
      return std::nullopt;
    plain.kind = AttentionMatch::Kind::Softmax;
    return plain;
  }
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// Rewriting into [B, H, tokens, features]
//===----------------------------------------------------------------------===//

class LayoutBuilder {
public:
  LayoutBuilder(OpBuilder &b, Location loc, TermAnalysis &terms,
                ArrayRef<Label> batch)
      : b(b), loc(loc), terms(terms), batch(batch) {}

  OpFoldResult size(Label label) {
    int64_t size = terms.sizeOf(label);
    if (!ShapedType::isDynamic(size))
      return b.getIndexAttr(size);
    auto [source, dim] = terms.sizeSource(label);
    return tensor::DimOp::create(b, loc, source, dim).getResult();
  }

  /// `operand` as [B, H, token, feature]: unit dims dropped, dims
  /// transposed into (batch..., token, feature), absent labels broadcast,
  /// batch dims folded into B and H.
  Value toLayout(const Operand &operand, Label token, Label feature) {
    SmallVector<Label> target(batch);
    target.append({token, feature});
    Value value = dropUnitDims(operand.value);
    SmallVector<Label> present;
    for (Label label : operand.labels)
      if (label != kUnitDim)
        present.push_back(label);
    // Transpose the present labels into target order.
    SmallVector<Label> ordered;
    for (Label label : target)
      if (llvm::is_contained(present, label))
        ordered.push_back(label);
    if (ordered != present) {
      SmallVector<int64_t> permutation;
      for (Label label : ordered)
        permutation.push_back(llvm::find(present, label) - present.begin());
      value = transpose(value, permutation);
    }
    // Broadcast the absent ones.
    if (ordered.size() != target.size()) {
      SmallVector<OpFoldResult> sizes;
      SmallVector<int64_t> added;
      for (auto [dim, label] : llvm::enumerate(target)) {
        sizes.push_back(size(label));
        if (!llvm::is_contained(ordered, label))
          added.push_back(dim);
      }
      Value init = tensor::EmptyOp::create(b, loc, sizes, f32());
      value =
          linalg::BroadcastOp::create(b, loc, value, init, added)->getResult(0);
    }
    return foldBatch(value);
  }

  /// The [B, H, L, E] result back in the root's layout: batch unfolded,
  /// dims in the root's label order, merged and unit dims restored.
  Value fromLayout(Value value, Label l, Label e,
                   ArrayRef<SmallVector<Label, 2>> rootOut,
                   RankedTensorType type) {
    SmallVector<Label> labels(batch);
    labels.append({l, e});
    value = unfoldBatch(value, labels);
    SmallVector<Label> wanted;
    for (const auto &group : rootOut)
      wanted.append(group.begin(), group.end());
    if (wanted != labels) {
      SmallVector<int64_t> permutation;
      for (Label label : wanted)
        permutation.push_back(llvm::find(labels, label) - labels.begin());
      value = transpose(value, permutation);
    }
    // Merge multi-label dims, then insert the unit ones.
    SmallVector<ReassociationIndices> merge;
    int64_t next = 0;
    for (const auto &group : rootOut) {
      if (group.empty())
        continue;
      merge.emplace_back();
      for (size_t i = 0; i < group.size(); ++i)
        merge.back().push_back(next++);
    }
    if (merge.size() != wanted.size())
      value = tensor::CollapseShapeOp::create(b, loc, value, merge);
    if (static_cast<int64_t>(merge.size()) != type.getRank()) {
      // Unit dims join the group of the next non-unit dim (trailing ones
      // the last group).
      SmallVector<ReassociationIndices> expand;
      SmallVector<OpFoldResult> sizes;
      ReassociationIndices pending;
      int64_t source = 0;
      for (auto [dim, group] : llvm::enumerate(rootOut)) {
        pending.push_back(dim);
        if (group.empty()) {
          sizes.push_back(b.getIndexAttr(1));
          continue;
        }
        sizes.push_back(dimSize(value, source++));
        expand.push_back(pending);
        pending.clear();
      }
      expand.back().append(pending.begin(), pending.end());
      value = expandTo(value, type, expand, sizes);
    }
    if (value.getType() != type)
      value = tensor::CastOp::create(b, loc, type, value);
    return value;
  }

  /// value * scale, elementwise.
  Value scaled(Value value, double scale) {
    if (scale == 1.0)
      return value;
    auto type = cast<RankedTensorType>(value.getType());
    SmallVector<OpFoldResult> sizes;
    for (int64_t dim = 0; dim < type.getRank(); ++dim)
      sizes.push_back(dimSize(value, dim));
    Value init = tensor::EmptyOp::create(b, loc, sizes, f32());
    AffineMap identity = b.getMultiDimIdentityMap(type.getRank());
    SmallVector<utils::IteratorType> iterators(type.getRank(),
                                               utils::IteratorType::parallel);
    return linalg::GenericOp::create(
               b, loc, type, value, init,
               ArrayRef<AffineMap>{identity, identity}, iterators,
               [&](OpBuilder &nb, Location nloc, ValueRange args) {
                 Value c = arith::ConstantOp::create(
                     nb, nloc, nb.getF32FloatAttr(static_cast<float>(scale)));
                 Value product = arith::MulFOp::create(nb, nloc, args[0], c);
                 linalg::YieldOp::create(nb, nloc, product);
               })
        ->getResult(0);
  }

private:
  Type f32() { return b.getF32Type(); }

  OpFoldResult dimSize(Value value, int64_t dim) {
    int64_t size = cast<RankedTensorType>(value.getType()).getDimSize(dim);
    if (!ShapedType::isDynamic(size))
      return b.getIndexAttr(size);
    return tensor::DimOp::create(b, loc, value, dim).getResult();
  }

  Value transpose(Value value, ArrayRef<int64_t> permutation) {
    SmallVector<OpFoldResult> sizes;
    for (int64_t dim : permutation)
      sizes.push_back(dimSize(value, dim));
    Value init = tensor::EmptyOp::create(b, loc, sizes, f32());
    return linalg::TransposeOp::create(b, loc, value, init, permutation)
        ->getResult(0);
  }

  /// `value` without its static size-1 dims.
  Value dropUnitDims(Value value) {
    auto type = cast<RankedTensorType>(value.getType());
    SmallVector<ReassociationIndices> groups;
    ReassociationIndices pending;
    for (int64_t dim = 0; dim < type.getRank(); ++dim) {
      pending.push_back(dim);
      if (type.getDimSize(dim) != 1) {
        groups.push_back(pending);
        pending.clear();
      }
    }
    if (static_cast<int64_t>(groups.size()) == type.getRank())
      return value;
    if (!groups.empty())
      groups.back().append(pending.begin(), pending.end());
    return tensor::CollapseShapeOp::create(b, loc, value, groups);
  }

  Value expandTo(Value value, RankedTensorType type,
                 ArrayRef<ReassociationIndices> groups,
                 ArrayRef<OpFoldResult> sizes) {
    SmallVector<int64_t> shape;
    for (OpFoldResult size : sizes) {
      std::optional<int64_t> known = getConstantIntValue(size);
      shape.push_back(known ? *known : ShapedType::kDynamic);
    }
    auto resultType = RankedTensorType::get(shape, type.getElementType());
    return tensor::ExpandShapeOp::create(b, loc, resultType, value, groups,
                                         sizes);
  }

  /// [batch..., T, F] -> [B, H, T, F].
  Value foldBatch(Value value) {
    auto type = cast<RankedTensorType>(value.getType());
    int64_t n = batch.size();
    if (n == 2)
      return value;
    if (n > 2) {
      SmallVector<ReassociationIndices> groups(1);
      for (int64_t dim = 0; dim < n - 1; ++dim)
        groups[0].push_back(dim);
      for (int64_t dim = n - 1; dim < n + 2; ++dim)
        groups.push_back({dim});
      return tensor::CollapseShapeOp::create(b, loc, value, groups);
    }
    // Prepend 2 - n unit dims.
    SmallVector<ReassociationIndices> groups;
    SmallVector<OpFoldResult> sizes;
    groups.emplace_back();
    for (int64_t unit = 0; unit < 2 - n; ++unit) {
      groups[0].push_back(unit);
      sizes.push_back(b.getIndexAttr(1));
    }
    for (int64_t dim = 0; dim < type.getRank(); ++dim) {
      if (dim > 0)
        groups.emplace_back();
      groups.back().push_back(dim + 2 - n);
      sizes.push_back(dimSize(value, dim));
    }
    return expandTo(value, type, groups, sizes);
  }

  /// [B, H, T, F] -> [batch..., T, F] with `labels` naming the dims.
  Value unfoldBatch(Value value, ArrayRef<Label> labels) {
    int64_t n = batch.size();
    if (n == 2)
      return value;
    if (n < 2) {
      SmallVector<ReassociationIndices> groups(1);
      for (int64_t dim = 0; dim <= 2 - n; ++dim)
        groups[0].push_back(dim);
      for (int64_t dim = 3 - n; dim < 4; ++dim)
        groups.push_back({dim});
      return tensor::CollapseShapeOp::create(b, loc, value, groups);
    }
    SmallVector<ReassociationIndices> groups(1);
    SmallVector<OpFoldResult> sizes;
    for (int64_t dim = 0; dim < n - 1; ++dim) {
      groups[0].push_back(dim);
      sizes.push_back(size(labels[dim]));
    }
    for (int64_t dim = 1; dim < 4; ++dim) {
      groups.push_back({n - 2 + dim});
      sizes.push_back(dimSize(value, dim));
    }
    auto type = cast<RankedTensorType>(value.getType());
    return expandTo(value, type, groups, sizes);
  }

  OpBuilder &b;
  Location loc;
  TermAnalysis &terms;
  ArrayRef<Label> batch;
};

/// Builds the flt ops for `match` before `root` and returns the value that
/// replaces its result.
Value buildAttention(OpBuilder &b, Operation *root, TermAnalysis &terms,
                     const AttentionMatch &match) {
  Location loc = root->getLoc();
  LayoutBuilder layout(b, loc, terms, match.batch);
  Value v = layout.toLayout(match.v, match.s, match.e);
  auto vType = cast<RankedTensorType>(v.getType());
  Value result;
  // Feature labels: the one label of q that is neither batch nor token.
  auto featureOf = [&](const Operand &operand, Label token) {
    for (Label label : operand.labels)
      if (label != kUnitDim && label != token &&
          !llvm::is_contained(match.batch, label))
        return label;
    return kUnitDim;
  };
  Label x = featureOf(match.q, match.l);
  Operand qOperand = match.q, kOperand = match.k;
  if (match.fq)
    qOperand.value = match.fq->input;
  if (match.fk)
    kOperand.value = match.fk->input;
  Value q = layout.toLayout(qOperand, match.l, x);
  Value k = layout.toLayout(kOperand, match.s, x);
  auto qType = cast<RankedTensorType>(q.getType());
  auto resultType =
      RankedTensorType::get({qType.getDimSize(0), qType.getDimSize(1),
                             qType.getDimSize(2), vType.getDimSize(3)},
                            b.getF32Type());
  if (match.kind == AttentionMatch::Kind::Softmax) {
    Value bias;
    if (!match.bias.empty()) {
      int64_t width = static_cast<int64_t>(match.bias.size()) / match.biasHeads;
      auto biasType =
          RankedTensorType::get({match.biasHeads, width}, b.getF32Type());
      bias = arith::ConstantOp::create(
          b, loc, DenseElementsAttr::get(biasType, ArrayRef(match.bias)));
    }
    result = KernelAttentionOp::create(
        b, loc, resultType, q, k, v, Value(), bias, Value(), Value(),
        PairKernelAttr::get(b.getContext(), PairKernel::Softmax),
        b.getBoolAttr(match.causal),
        b.getF32FloatAttr(static_cast<float>(match.temperature)),
        b.getI64IntegerAttr(4),
        NormalizeAttr::get(b.getContext(), Normalize::Divide),
        b.getF32FloatAttr(1e-6f));
  } else {
    if (match.fq)
      q = FeatureMapOp::create(b, loc, q, Value(), match.fq->kernel,
                               match.fq->eps, /*is_query=*/true);
    if (match.fk)
      k = FeatureMapOp::create(b, loc, k, Value(), match.fk->kernel,
                               match.fk->eps, /*is_query=*/false);
    Value phi, psi;
    if (match.phi) {
      Label y = featureOf(*match.phi, match.l);
      phi = layout.toLayout(*match.phi, match.l, y);
      psi = layout.toLayout(*match.psi, match.s, y);
    }
    result = LinearAttentionOp::create(b, loc, q, k, v, phi, psi, match.causal,
                                       Normalize::Divide, match.eps);
  }
  result = layout.fromLayout(result, match.l, match.e, match.rootOut,
                             cast<RankedTensorType>(root->getResultTypes()[0]));
  return layout.scaled(result, match.scale);
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

/// Whether the flt ops can take the matched operands: f32 tensors (the flt
/// ops' bf16 forms are not produced by raising), no label repeated within
/// one operand (a diagonal has no [B, H, T, F] layout).
bool isRewritable(const AttentionMatch &match) {
  SmallVector<const Operand *> operands = {&match.q, &match.k, &match.v};
  if (match.phi)
    operands.append({&*match.phi, &*match.psi});
  for (const Operand *operand : operands) {
    auto type = dyn_cast<RankedTensorType>(operand->value.getType());
    if (!type || !type.getElementType().isF32())
      return false;
    SmallVector<Label> labels;
    for (Label label : operand->labels)
      if (label != kUnitDim) {
        if (llvm::is_contained(labels, label))
          return false;
        labels.push_back(label);
      }
  }
  for (const auto &fm : {match.fq, match.fk})
    if (fm &&
        !cast<RankedTensorType>(fm->input.getType()).getElementType().isF32())
      return false;
  return true;
}

struct FLTRaiseAttentionPass
    : mlir::flt::impl::FLTRaiseAttentionBase<FLTRaiseAttentionPass> {
  using FLTRaiseAttentionBase::FLTRaiseAttentionBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    // TOSA is first legalized to linalg-on-tensors with upstream's
    // conversions; the same matchers then see both inputs.
    bool hasTosa = false;
    func.walk([&](Operation *op) {
      if (isa<tosa::TosaDialect>(op->getDialect()))
        hasTosa = true;
    });
    if (hasTosa) {
      OpPassManager pm(func::FuncOp::getOperationName());
      pm.addPass(tosa::createTosaToLinalgNamed());
      pm.addPass(tosa::createTosaToLinalg());
      pm.addPass(createTosaToArithPass());
      pm.addPass(createTosaToTensorPass());
      if (failed(runPipeline(pm, func)))
        return signalPassFailure();
    }

    SmallVector<Operation *> candidates;
    func.walk([&](linalg::LinalgOp op) {
      if (op->getNumResults() == 1 && op.hasPureTensorSemantics() &&
          !isa<linalg::FillOp>(op))
        candidates.push_back(op);
    });
    OpBuilder b(&getContext());
    bool changed = false;
    for (Operation *root : candidates) {
      auto type = dyn_cast<RankedTensorType>(root->getResultTypes()[0]);
      if (!type || type.getRank() < 2 || !type.getElementType().isF32() ||
          root->use_empty())
        continue;
      TermAnalysis terms;
      std::optional<AttentionMatch> match =
          matchAttention(terms, root->getResult(0));
      if (!match || !isRewritable(*match)) {
        auto generic = dyn_cast<linalg::GenericOp>(root);
        if (!generic)
          continue;
        std::optional<Value> rotary = raiseRotary(b, generic);
        if (!rotary)
          continue;
        root->getResult(0).replaceAllUsesWith(*rotary);
        changed = true;
        continue;
      }
      b.setInsertionPoint(root);
      Value replacement = buildAttention(b, root, terms, *match);
      root->getResult(0).replaceAllUsesWith(replacement);
      changed = true;
    }
    if (!changed)
      return;
    // The replaced patterns are dead now; the layout changes around the
    // new ops (collapse then expand of the same dims) fold away.
    RewritePatternSet patterns(&getContext());
    tensor::CollapseShapeOp::getCanonicalizationPatterns(patterns,
                                                         &getContext());
    tensor::ExpandShapeOp::getCanonicalizationPatterns(patterns, &getContext());
    if (failed(applyPatternsGreedily(func, std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
