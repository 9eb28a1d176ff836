//===- AttentionMatch.cpp - the normalized form of attention --------------===//
//
// Every attention flt-raise-attention raises is normalized: its root's term
// reads N[batch, l, e] / (D[batch, l] + eps) with N = sum_s Rest[batch, l, s]
// v[s, e] and D = sum_s Rest[batch, l, s], however the division is spelled
// (a divide generic, a reciprocal times the numerator, scores normalized
// before the product with v). matchAttention finds that form and hands Rest
// to the softmax matcher (one factor exp(c q k^T - m)) or to the linear one
// (feature, RPE and mask factors); linalg.softmax(...) @ v is the one form
// without a visible division.
//
//===----------------------------------------------------------------------===//

#include "flt/Conversion/LinalgToFLT/AttentionMatch.h"

using namespace mlir;
using namespace mlir::flt;

namespace {

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
          theirs.inverted != mine.inverted || theirs.offset != mine.offset ||
          theirs.indicator != mine.indicator)
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
  if (!v || !v->isPlain())
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

} // namespace

/// Whether every label of `labels` is kUnitDim or in `allowed`.
bool mlir::flt::labelsWithin(ArrayRef<Label> labels, ArrayRef<Label> allowed) {
  return llvm::all_of(labels, [&](Label label) {
    return label == kUnitDim || llvm::is_contained(allowed, label);
  });
}

/// Whether `factor` carries `label`.
bool mlir::flt::hasLabel(const TermFactor &factor, Label label) {
  return llvm::is_contained(factor.labels, label);
}

/// The labels of `factor` summed in `term`.
SmallVector<Label> mlir::flt::summedIn(const TermFactor &factor,
                                       const Term &term) {
  SmallVector<Label> outs = term.outLabels(), summed;
  for (Label label : factor.labels)
    if (label != kUnitDim && !llvm::is_contained(outs, label))
      summed.push_back(label);
  return summed;
}

/// Renames `term`'s out labels to `labels` (one per dim, kUnitDim for unit
/// dims). Fails when a dim of the term merges several labels.
bool mlir::flt::alignOut(Term &term, ArrayRef<Label> labels) {
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

/// Reads the root's result dims as [batch..., l, e]: the last two must each
/// be one label; the batch labels keep their order.
bool mlir::flt::readResultLabels(const Term &root, AttentionMatch &match) {
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

/// Every pattern, tried on the term of one structured op's result.
std::optional<AttentionMatch> mlir::flt::matchAttention(TermAnalysis &terms,
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
      // Dynamic sizes: the causal mask was [L, L] (an index table), and the
      // op's run-time checks compare L and S.
      if (match.causal && terms.sizeOf(match.l) != terms.sizeOf(match.s))
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
  return matchNamedSoftmax(terms, root);
}
