//===- SoftmaxMatch.cpp - softmax attention -------------------------------===//
//
// Softmax attention's Rest factor is exp(c q k^T - m): the max shift m is
// constant along the keys (it cancels in the normalization), scales multiply
// the temperature, and one additive constant between the scales is a
// Toeplitz bias and/or a causal 0 / -inf mask (MaskMatch.cpp), as is a
// select of -inf by a constant condition. linalg.softmax(c q k^T) @ v is
// matched here too.
//
//===----------------------------------------------------------------------===//

#include "flt/Conversion/LinalgToFLT/AttentionMatch.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace mlir::flt;

namespace {

/// The scores c * sum_x q[l, x] k[s, x] of `x` (whose dims carry
/// `labels`): fills q, k and the temperature.
bool matchScores(TermAnalysis &terms, Value scores, ArrayRef<Label> labels,
                 ArrayRef<Label> batch, Label l, Label s,
                 AttentionMatch &match) {
  Term term = terms.termOf(scores);
  if (!alignOut(term, labels)) {
    // The weights may carry as one label batch dims that the scores'
    // operands keep apart (q, k reshaped to [B * H, L, d]).
    term = terms.termOfCollapsesAsLeaves(scores);
    if (!alignOut(term, labels))
      return false;
  }
  if (term.factors.size() != 2)
    return false;
  SmallVector<Label> summed = term.summedLabels();
  if (summed.size() != 1)
    return false;
  Label x = summed.front();
  const TermFactor *q = nullptr, *k = nullptr;
  for (const TermFactor &factor : term.factors) {
    if (!factor.isPlain() || !hasLabel(factor, x))
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

} // namespace

/// Softmax numerators exp(scores - m) (m constant along s, so it cancels)
/// or exp(scores), with the factor's dims carrying `labels`.
bool mlir::flt::matchSoftmaxNumerator(TermAnalysis &terms,
                                      const TermFactor &factor,
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
  // masked_fill(scores, mask, -inf) with a constant causal mask (i1, or a
  // float mask compared with 0).
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
    std::optional<IndicatorTest> test =
        matchIndicatorTest(view.resolve(select.getCondition()),
                           [&](Value v) { return view.constant(v); });
    if (!test ||
        !isCausalSelect(view.read(test->x), test->indicator, maskedWhenTrue,
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

/// linalg.softmax(scores) @ v.
std::optional<AttentionMatch> mlir::flt::matchNamedSoftmax(TermAnalysis &terms,
                                                           const Term &root) {
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
    if (!softmax || !p.isPlain() || !v.isPlain() ||
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
