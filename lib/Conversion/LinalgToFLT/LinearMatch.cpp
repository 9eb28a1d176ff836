//===- LinearMatch.cpp - linear attention ---------------------------------===//
//
// Linear attention's Rest is a product of query-side factors [l, x],
// key-side factors [s, x] (paired through their summed feature label x) and
// constant masks [l, s]: the pair whose factors are feature maps becomes fq,
// fk (with flt.feature_map when the map is recognized), a second pair the
// RPE operands rpe(phi, psi); a lower-triangular 0/1 mask makes attention
// causal, and a mask of low rank is factored into rpe(phi, psi) instead of
// a second pair (MaskMatch.cpp). A key-side factor without a feature label
// weighs each key (a padding mask multiplied into the keys, computed at run
// time or not): it is multiplied into fk, which is what it means.
//
//===----------------------------------------------------------------------===//

#include "flt/Conversion/LinalgToFLT/AttentionMatch.h"

using namespace mlir;
using namespace mlir::flt;

/// Linear attention: Rest = query-side factors [l, x], key-side factors
/// [s, x] and constant masks [l, s] (causal, low-rank RPE).
bool mlir::flt::matchLinearFactors(TermAnalysis &terms, const Term &n,
                                   ArrayRef<TermFactor> rest,
                                   AttentionMatch &match) {
  SmallVector<Label> summed = n.summedLabels();
  SmallVector<const TermFactor *> queries, keys;
  for (const TermFactor &factor : rest) {
    bool withL = hasLabel(factor, match.l), withS = hasLabel(factor, match.s);
    if (withL && withS) {
      if (!match.causal && isCausalMask(terms, factor, match.l, match.s)) {
        match.causal = true;
        continue;
      }
      if (match.rpeMask)
        return false;
      match.rpeMask = matchLowRankMask(factor, match.l, match.s);
      if (!match.rpeMask)
        return false;
    } else if (!factor.isPlain()) {
      return false;
    } else if (withL) {
      queries.push_back(&factor);
    } else if (withS) {
      SmallVector<Label> perKey(match.batch);
      perKey.push_back(match.s);
      if (labelsWithin(factor.labels, perKey))
        match.keyWeights.push_back({factor.value, factor.labels});
      else
        keys.push_back(&factor);
    } else {
      return false;
    }
  }
  if (queries.size() != keys.size() || queries.empty() ||
      queries.size() + (match.rpeMask ? 1 : 0) > 2)
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
