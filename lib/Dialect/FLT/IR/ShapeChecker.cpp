//===- ShapeChecker.cpp - shape relations several flt ops share -----------===//

#include "ShapeChecker.h"

using namespace mlir;
using namespace mlir::flt;

namespace mlir::flt::detail {

/// Twice a size, keeping it dynamic when unknown.
int64_t twice(int64_t size) {
  return ShapedType::isDynamic(size) ? ShapedType::kDynamic : 2 * size;
}

/// One size that agrees with both (the static one if either is static).
int64_t mergeDims(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) ? b : a;
}

/// The kernel/projection rules shared by feature_map and attention: identity
/// and elu_plus_one take no projection, favor_pos needs one, relu may have
/// one. `input` is x or q, `w` the registered projection (may be null).
void checkProjection(ShapeChecker &check, Kernel kernel, StringRef input,
                     Value w) {
  if (!w) {
    check.require(kernel != Kernel::FavorPos,
                  "kernel favor_pos needs a projection 'w' [H, m, d]");
    return;
  }
  check.require(kernel == Kernel::Relu || kernel == Kernel::FavorPos,
                "kernel " + stringifyKernel(kernel) +
                    " takes no projection 'w'");
  check.tensor("w", w, kProj, ElementKind::F32)
      .sameDim("w", 0, input, 1)
      .sameDim("w", 2, input, 3);
}

/// The width P of theta each spectrum needs for positions of dimension p:
/// (p + 2) K for a mixture of K Gaussians, 2 for a local window.
void checkSpectrumWidth(ShapeChecker &check, Spectrum spectrum, StringRef theta,
                        StringRef xi) {
  if (spectrum == Spectrum::LocalWindow) {
    check.dimIsSum(theta, 1, {}, 2, "2", "spectrum local_window ([C, v])");
    return;
  }
  check.multipleOf(
      theta, 1, xi, 2, 2,
      [&](InFlightDiagnostic &diag, int64_t width, int64_t p) {
        diag << "'" << theta << "' has P = " << width
             << " but spectrum gaussian_mixture with p = " << p
             << " needs a positive multiple of p + 2 = " << p + 2
             << " (K weights, K means of p values, K log-variances)";
      },
      "'theta' P must be a positive multiple of p + 2 (spectrum "
      "gaussian_mixture)");
}

/// Both rpe operands or neither (the generic form could give one alone).
void checkRpePair(ShapeChecker &check, Value phi, Value psi) {
  check.require(static_cast<bool>(phi) == static_cast<bool>(psi),
                "rpe needs both 'phi' and 'psi'");
}

/// phi [B, H, L, r] aligned with `queries`, psi [B, H, S, r] with `keys`.
void checkRpe(ShapeChecker &check, Value phi, Value psi, StringRef queries,
              StringRef keys) {
  checkRpePair(check, phi, psi);
  if (!phi || !psi)
    return;
  check.tensor("phi", phi, kPhi, ElementKind::F32)
      .tensor("psi", psi, kPsi, ElementKind::F32)
      .sameDim("phi", 0, queries, 0)
      .sameDim("phi", 1, queries, 1)
      .sameDim("phi", 2, queries, 2)
      .sameDim("psi", 0, keys, 0)
      .sameDim("psi", 1, queries, 1) // per query head, also with GQA
      .sameDim("psi", 2, keys, 2)
      .sameDim("psi", 3, "phi", 3);
}

/// Attention output [B, H, L, e]: B, H, L of the queries, e of the values,
/// and the queries' element type.
void checkAttentionResult(ShapeChecker &check, Value result, StringRef queries,
                          StringRef values) {
  check.tensor("result", result, kOut, ElementKind::Activation)
      .sameElementType("result", queries)
      .sameDim("result", 0, queries, 0)
      .sameDim("result", 1, queries, 1)
      .sameDim("result", 2, queries, 2)
      .sameDim("result", 3, values, 3);
}

/// q/k/v of an attention op: shared B, H, feature size d (or m) between
/// queries and keys, S between keys and values, one element type.
void checkQueriesKeysValues(ShapeChecker &check, StringRef q, Value qv,
                            Layout qLayout, StringRef k, Value kv,
                            Layout kLayout, Value v, bool groupedHeads) {
  check.tensor(q, qv, qLayout, ElementKind::Activation)
      .tensor(k, kv, kLayout, ElementKind::Activation)
      .tensor("v", v, groupedHeads ? kVGrouped : kV, ElementKind::Activation)
      .sameElementType(k, q)
      .sameElementType("v", q)
      .sameDim(k, 0, q, 0);
  // Equal heads (also none: an empty tensor) need no grouping.
  if (groupedHeads && check.succeeded() &&
      check.size(q, 1) == check.size(k, 1) &&
      ShapedType::isStatic(check.size(q, 1)))
    groupedHeads = false;
  if (groupedHeads)
    check.multipleOf(
        q, 1, k, 1, 0,
        [&](InFlightDiagnostic &diag, int64_t heads, int64_t kvHeads) {
          diag << "'" << q << "' has H = " << heads << " but '" << k
               << "' has H_kv = " << kvHeads
               << "; grouped heads need H to be a positive multiple of H_kv";
        },
        "'" + q.str() + "' H must be a positive multiple of '" + k.str() +
            "' H_kv (grouped heads)");
  else
    check.sameDim(k, 1, q, 1);
  check.sameDim(k, 3, q, 3)
      .sameDim("v", 0, q, 0)
      .sameDim("v", 1, k, 1)
      .sameDim("v", 2, k, 2);
}

/// `causal` needs S = L.
void checkCausal(ShapeChecker &check, bool causal, StringRef q, StringRef k) {
  if (causal)
    check.sameDim(k, 2, q, 2, "causal attention needs S = L");
}

} // namespace mlir::flt::detail
