//===- LinearAttention.cpp - the gradient of flt.linear_attention ---------===//
//
// With s_ij = (fq_i · fk_j) M_ij, M_ij = Phi_i · Psi_j (1 without rpe),
// n_i = Σ_j s_ij v_j, D_i = Σ_j s_ij (j ≤ i when causal) and the output's
// cotangent g_i (docs/Semantics.md 2.4, §4):
//
//   divide   den = D + eps:  dn_i = g_i / den_i,  dD_i = -(g_i · n_i) / den_i²
//   guarded  den = D > 0 ? D : 1:  dn_i = g_i / den_i,
//            dD_i = D_i > 0 ? -(g_i · n_i) / D_i² : 0   (num / 1 elsewhere)
//   none     dn_i = g_i, dD_i = 0
//
// and ds_ij = dn_i · v_j + dD_i = a_i · b_j with a_i = [dn_i, dD_i],
// b_j = [v_j, 1]. Every gradient is then itself a sum over the same pairs
// (i, j) of a product of per-token dot products, i.e. linear attention with
// normalize = none:
//
//   dfq_i  = Σ_j (a_i · b_j) M_ij fk_j            = LA(a, b, fk, rpe(Phi, Psi))
//   dPhi_i = Σ_j (a_i · b_j) (fq_i · fk_j) Psi_j  = LA(a, b, Psi, rpe(fq, fk))
//   dfk_j  = Σ_i (b_j · a_i) M_ij fq_i            = LA~(b, a, fq, rpe(Psi,
//   Phi)) dPsi_j = Σ_i (b_j · a_i) (fq_i · fk_j) Phi_i  = LA~(b, a, Phi,
//   rpe(fk, fq)) dv_j   = Σ_i s_ij dn_i                        = LA~(fk, fq,
//   dn, rpe(Psi, Phi))
//
// where LA~ sums over queries i ≥ j when causal: the causal form on the
// token-reversed sequence, reversed back. [n, D] comes from one more
// LA(fq, fk, [v, 1]). The rule emits one flt.linear_attention_grad with
// all of it; flt-select-algorithm keeps it for its fused lowering (one state
// pass, one query pass, one key pass: about 2.5 forward passes of work) or
// rewrites it into the six linear attentions above (decomposeLinearAttention-
// Grad: the quadratic regime, GPU targets). Either way no L × m r or L × S
// buffer exists. With state(...) or packed(...) (docs/Semantics.md §5) the
// rule emits those linear attentions itself, with the serving operands
// (servingVJP below).
//
//===----------------------------------------------------------------------===//

#include "GradientRules.h"

#include "flt/Dialect/FLT/Gradients/Decompositions.h"

using namespace mlir;
using namespace mlir::flt;
using namespace mlir::flt::gradients;

namespace {

/// Linear attention with normalize = none in f32; `reversed` sums over the
/// later tokens instead (the causal form of the reversed sequence).
Value unnormalized(GradientBuilder &gb, Value q, Value k, Value v, Value phi,
                   Value psi, bool causal, bool reversed) {
  OpBuilder &b = gb.builder();
  Location loc = gb.location();
  if (causal && reversed) {
    q = gb.reverseTokens(q);
    k = gb.reverseTokens(k);
    v = gb.reverseTokens(v);
    if (phi) {
      phi = gb.reverseTokens(phi);
      psi = gb.reverseTokens(psi);
    }
  }
  Value out = LinearAttentionOp::create(b, loc, q, k, v, phi, psi, causal,
                                        Normalize::None, 1e-6f)
                  .getResult();
  return causal && reversed ? gb.reverseTokens(out) : out;
}

/// The cotangents of n [B, H, L, e] and D [B, H, L, 1] (see above) from the
/// output's cotangent g: {dn, dD [B, H, L, 1]}.
std::pair<Value, Value> normalizerCotangents(GradientBuilder &gb, Value g,
                                             Value n, Value D,
                                             Normalize normalize, float eps) {
  OpBuilder &b = gb.builder();
  if (normalize == Normalize::None)
    return {g, gb.filled(gb.dims(D), b.getF32Type(), 0.0)};
  Value rowD = tensor::CollapseShapeOp::create(
      b, gb.location(), D,
      SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}}); // [B, H, L]
  // g · n per row: [B, H, L, 1].
  SmallVector<OpFoldResult> loops = gb.dims(g);
  Value gn = gb.sum(ValueRange{g, n}, {{0, 1, 2, 3}, {0, 1, 2, 3}}, loops, {3},
                    [](OpBuilder &nb, Location nl, ValueRange x) {
                      return one(arith::MulFOp::create(nb, nl, x[0], x[1]));
                    });
  Value epsValue = gb.f32(eps);
  bool guarded = normalize == Normalize::Guarded;
  auto denominator = [&](OpBuilder &nb, Location nl, Value d) {
    if (!guarded)
      return arith::AddFOp::create(nb, nl, d, epsValue).getResult();
    Value positive = arith::CmpFOp::create(
        nb, nl, arith::CmpFPredicate::OGT, d,
        arith::ConstantOp::create(nb, nl, nb.getF32FloatAttr(0)));
    return arith::SelectOp::create(
               nb, nl, positive, d,
               arith::ConstantOp::create(nb, nl, nb.getF32FloatAttr(1)))
        .getResult();
  };
  Value dn = gb.map(ValueRange{g, rowD}, {{0, 1, 2, 3}, {0, 1, 2}}, g,
                    [&](OpBuilder &nb, Location nl, ValueRange x) {
                      return one(arith::DivFOp::create(
                          nb, nl, x[0], denominator(nb, nl, x[1])));
                    });
  Value dD =
      gb.map(ValueRange{gn, D}, {{0, 1, 2}, {0, 1, 2, 3}}, D,
             [&](OpBuilder &nb, Location nl, ValueRange x) {
               Value den = denominator(nb, nl, x[1]);
               Value value = arith::NegFOp::create(
                   nb, nl,
                   arith::DivFOp::create(
                       nb, nl, x[0], arith::MulFOp::create(nb, nl, den, den)));
               if (!guarded)
                 return one(value);
               Value positive = arith::CmpFOp::create(
                   nb, nl, arith::CmpFPredicate::OGT, x[1],
                   arith::ConstantOp::create(nb, nl, nb.getF32FloatAttr(0)));
               return one(arith::SelectOp::create(
                   nb, nl, positive, value,
                   arith::ConstantOp::create(nb, nl, nb.getF32FloatAttr(0))));
             });
  return {dn, dD};
}

SmallVector<Value> decompose(OpBuilder &builder, LinearAttentionGradOp op) {
  GradientBuilder gb(builder, op.getLoc());
  OpBuilder &b = gb.builder();
  Value fq = gb.toF32(op.getFq()), fk = gb.toF32(op.getFk());
  Value v = gb.toF32(op.getV());
  Value phi = op.getPhi() ? gb.toF32(op.getPhi()) : Value();
  Value psi = op.getPsi() ? gb.toF32(op.getPsi()) : Value();
  Value g = gb.toF32(op.getCotangent());
  bool causal = op.getCausal();
  Normalize normalize = op.getNormalize();

  // a_i, b_j (see above); without normalization a = g, b = v.
  Value a = g, bKeys = v, dn = g;
  if (normalize != Normalize::None) {
    Value vOne = gb.concat(v, gb.onesColumn(v, 3), 3);
    Value nd = unnormalized(gb, fq, fk, vOne, phi, psi, causal, false);
    OpFoldResult e = gb.dim(v, 3);
    Value n = gb.lastDimSlice(nd, b.getIndexAttr(0), e);
    Value D = gb.lastDimSlice(nd, e, b.getIndexAttr(1)); // [B, H, L, 1]
    Value dD;
    std::tie(dn, dD) = normalizerCotangents(gb, g, n, D, normalize,
                                            op.getEps().convertToFloat());
    a = gb.concat(dn, dD, 3);
    bKeys = vOne;
  }

  // Results: dfq, dfk, dv, [dphi, dpsi]; unused ones are not built.
  SmallVector<Value> grads(op.getGrads().size());
  auto used = [&](unsigned i) { return !op.getGrads()[i].use_empty(); };
  auto finish = [&](unsigned index, Value grad) {
    grads[index] = gb.castTo(grad, op.getGrads()[index].getType());
  };
  if (used(0))
    finish(0, unnormalized(gb, a, bKeys, fk, phi, psi, causal, false));
  if (used(1))
    finish(1, unnormalized(gb, bKeys, a, fq, psi, phi, causal, true));
  if (used(2))
    finish(2, unnormalized(gb, fk, fq, dn, psi, phi, causal, true));
  if (phi && used(3))
    finish(3, unnormalized(gb, a, bKeys, psi, fq, fk, causal, false));
  if (psi && used(4))
    finish(4, unnormalized(gb, bKeys, a, phi, fk, fq, causal, true));
  return grads;
}

/// z [B, H, D] as the column [B, H, D, 1].
Value asColumn(GradientBuilder &gb, Value z) {
  SmallVector<OpFoldResult> sizes = gb.dims(z);
  sizes.push_back(gb.builder().getIndexAttr(1));
  SmallVector<int64_t> shape;
  for (OpFoldResult size : sizes)
    shape.push_back(getConstantIntValue(size).value_or(ShapedType::kDynamic));
  return tensor::ExpandShapeOp::create(
      gb.builder(), gb.location(),
      RankedTensorType::get(shape, gb.builder().getF32Type()), z,
      SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}}, sizes);
}

/// Where the adjoint attentions of the serving rule run: the sequences of
/// `cuSeqlens` (null: none) and, for the token-reversed ones, of
/// `reversedCuSeqlens` (sequence n of the reversed tokens is sequence
/// N - 1 - n of the original).
struct Sequences {
  Value cuSeqlens, reversedCuSeqlens;
};

/// Linear attention with normalize = none, from the state `state` when it
/// is non-null (its normalizer zero: unused without normalization), over
/// `sequences`; `reversed` as in `unnormalized` (a per-sequence state is
/// then reversed along the sequences too). Returns {result, final state}.
std::pair<Value, Value> adjoint(GradientBuilder &gb, Value q, Value k, Value v,
                                Value phi, Value psi, Value state,
                                const Sequences &sequences, bool causal,
                                bool reversed) {
  OpBuilder &b = gb.builder();
  bool reverse = causal && reversed;
  Value cuSeqlens = sequences.cuSeqlens;
  if (reverse) {
    q = gb.reverseTokens(q);
    k = gb.reverseTokens(k);
    v = gb.reverseTokens(v);
    if (phi) {
      phi = gb.reverseTokens(phi);
      psi = gb.reverseTokens(psi);
    }
    if (cuSeqlens) {
      cuSeqlens = sequences.reversedCuSeqlens;
      if (state)
        state = gb.reverseAlong(state, 0);
    }
  }
  Value normalizer;
  if (state) {
    SmallVector<OpFoldResult> rows = gb.dims(state);
    rows.pop_back();
    normalizer = gb.filled(rows, b.getF32Type(), 0.0);
  }
  auto op = LinearAttentionOp::create(b, gb.location(), q, k, v, phi, psi,
                                      state, normalizer, cuSeqlens, Value(),
                                      causal, Normalize::None, 1e-6f);
  Value out = op.getResult();
  return {reverse ? gb.reverseTokens(out) : out, op.getFinalState()};
}

/// The rule of the serving forms, `state(T0, z0)` and `packed(cu_seqlens)`
/// (either or both; results (out[, T, z]), cotangents (g[, G_T, G_z])). With
/// Ŝ0 = [T0 | z0] and Ĝ = [G_T | G_z] ([N, H, m r, e + 1]) the sums over
/// keys start from Ŝ0, and every key also reaches the final state, so the
/// adjoint attentions above start from states too:
///
///   dfq  = LA(a, b, fk, rpe(Phi, Psi))  from Ŝ0 as [(e+1) r, m]
///   dPhi = LA(a, b, Psi, rpe(fq, fk))   from Ŝ0 as [(e+1) m, r]
///   dfk  = LA~(b, a, fq, rpe(Psi, Phi)) from Ĝ as [(e+1) r, m]
///   dPsi = LA~(b, a, Phi, rpe(fk, fq))  from Ĝ as [(e+1) m, r]
///   dv   = LA~(fk, fq, dn, rpe(Psi, Phi)) from G_T
///   [dT0 | dz0] = Ĝ + Σ_i (fq_i ⊗ Phi_i) a_iᵀ, the final state of
///                 LA(fq, fq, a, rpe(Phi, Phi)) from Ĝ
///
/// with a = [dn, dD] for every normalization (dD = 0 for none: z0 still
/// reaches the result z) and b = [v, 1], where [n, D] = LA(fq, fk, b) from
/// Ŝ0. Packed sequences pair tokens of one sequence only, in every one of
/// these as in the op; the reversed ones (LA~ when causal) run on the
/// reversed offsets L - c_{N-k}. No fused form: these are the linear
/// attentions the serving lowering runs, one state pass each.
FailureOr<SmallVector<Value>> servingVJP(LinearAttentionOp op,
                                         GradientBuilder &gb,
                                         ValueRange cotangents,
                                         ArrayRef<bool> needed) {
  OpBuilder &b = gb.builder();
  Value fq = gb.toF32(op.getFq()), fk = gb.toF32(op.getFk());
  Value v = gb.toF32(op.getV()), g = gb.toF32(cotangents[0]);
  Value phi = op.getPhi() ? gb.toF32(op.getPhi()) : Value();
  Value psi = op.getPsi() ? gb.toF32(op.getPsi()) : Value();
  bool causal = op.getCausal();
  bool stateful = static_cast<bool>(op.getInitialState());
  Sequences sequences;
  if (Value cuSeqlens = op.getCuSeqlens()) {
    sequences.cuSeqlens = cuSeqlens;
    if (causal)
      sequences.reversedCuSeqlens = gb.reverseOffsets(cuSeqlens, gb.dim(fq, 2));
  }
  GroupedPadding served(gb, fq, fk, v, g, op.mayGroupHeads(), op.getLengths());
  OpFoldResult m = gb.dim(fk, 3), e = gb.dim(v, 3);
  OpFoldResult r = phi ? gb.dim(phi, 3) : OpFoldResult(b.getIndexAttr(1));
  Value s0, gT, gHat;
  if (stateful) {
    s0 = gb.concat(gb.toF32(op.getInitialState()),
                   asColumn(gb, gb.toF32(op.getInitialNormalizer())), 3);
    gT = gb.toF32(cotangents[1]);
    gHat = gb.concat(gT, asColumn(gb, gb.toF32(cotangents[2])), 3);
  }
  // The state regrouped for an adjoint attention (none without state).
  auto regrouped = [&](Value state, ArrayRef<unsigned> order) {
    return state ? gb.regroupState(state, m, r, order) : Value();
  };
  Value vOne = gb.concat(v, gb.onesColumn(v, 3), 3);
  Value nd =
      adjoint(gb, fq, fk, vOne, phi, psi, s0, sequences, causal, false).first;
  Value n = gb.lastDimSlice(nd, b.getIndexAttr(0), e);
  Value D = gb.lastDimSlice(nd, e, b.getIndexAttr(1));
  auto [dn, dD] = normalizerCotangents(gb, g, n, D, op.getNormalize(),
                                       op.getEps().convertToFloat());
  Value a = gb.concat(dn, dD, 3);

  SmallVector<Value> grads(op->getNumOperands());
  // The operand index of ODS operand `ods` (fq, fk, v, phi, psi, T0, z0).
  auto want = [&](unsigned ods) {
    auto [index, size] = op.getODSOperandIndexAndLength(ods);
    return size && needed[index] ? std::optional<unsigned>(index)
                                 : std::nullopt;
  };
  auto finish = [&](unsigned index, Value grad) {
    grads[index] = gb.castTo(grad, op->getOperand(index).getType());
  };
  if (auto index = want(0))
    finish(*index, adjoint(gb, a, vOne, fk, phi, psi, regrouped(s0, {2, 1, 0}),
                           sequences, causal, false)
                       .first);
  if (auto index = want(1)) {
    Value dfk = adjoint(gb, vOne, a, fq, psi, phi, regrouped(gHat, {2, 1, 0}),
                        sequences, causal, true)
                    .first;
    finish(*index, served.keyGradient(dfk));
  }
  if (auto index = want(2)) {
    Value dv =
        adjoint(gb, fk, fq, dn, psi, phi, gT, sequences, causal, true).first;
    finish(*index, served.valueGradient(dv));
  }
  if (phi) {
    if (auto index = want(3))
      finish(*index, adjoint(gb, a, vOne, psi, fq, fk, regrouped(s0, {2, 0, 1}),
                             sequences, causal, false)
                         .first);
    if (auto index = want(4))
      finish(*index,
             adjoint(gb, vOne, a, phi, fk, fq, regrouped(gHat, {2, 0, 1}),
                     sequences, causal, true)
                 .first);
  }
  std::optional<unsigned> t0Index = want(5), z0Index = want(6);
  if (stateful && (t0Index || z0Index)) {
    Value total =
        adjoint(gb, fq, fq, a, phi, phi, gHat, sequences, false, false).second;
    if (t0Index)
      finish(*t0Index, gb.lastDimSlice(total, b.getIndexAttr(0), e));
    if (z0Index)
      finish(*z0Index,
             tensor::CollapseShapeOp::create(
                 b, gb.location(), gb.lastDimSlice(total, e, b.getIndexAttr(1)),
                 SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}}));
  }
  return grads;
}

struct LinearAttentionGradient
    : DifferentiableOpModel<LinearAttentionGradient, LinearAttentionOp> {
  static FailureOr<SmallVector<Value>> vjp(LinearAttentionOp op,
                                           GradientBuilder &gb,
                                           ValueRange cotangents,
                                           ArrayRef<bool> needed) {
    if (op.getInitialState() || op.getCuSeqlens())
      return servingVJP(op, gb, cotangents, needed);
    // One internal op for all gradients (flt-select-algorithm lowers it
    // fused or as more linear attention); in f32, cast back at the end.
    Value fq = gb.toF32(op.getFq()), fk = gb.toF32(op.getFk());
    Value v = gb.toF32(op.getV()), g = gb.toF32(cotangents[0]);
    Value phi = op.getPhi() ? gb.toF32(op.getPhi()) : Value();
    Value psi = op.getPsi() ? gb.toF32(op.getPsi()) : Value();
    // Grouped heads and padding: the rule of the repeated keys and values
    // with padded keys and rows zeroed, taken back per group.
    GroupedPadding served(gb, fq, fk, v, g, op.mayGroupHeads(),
                          op.getLengths());
    auto grad = LinearAttentionGradOp::create(
        gb.builder(), op.getLoc(), fq, fk, v, phi, psi, g, op.getCausal(),
        op.getNormalize(), op.getEps().convertToFloat());
    SmallVector<Value> results(grad.getGrads());
    results[1] = served.keyGradient(results[1]);
    results[2] = served.valueGradient(results[2]);
    SmallVector<Value> grads(op->getNumOperands());
    for (auto [i, result] : llvm::enumerate(results))
      if (needed[i])
        grads[i] = gb.castTo(result, op->getOperand(i).getType());
    return grads;
  }
};

} // namespace

SmallVector<Value>
mlir::flt::decomposeLinearAttentionGrad(OpBuilder &builder,
                                        LinearAttentionGradOp op) {
  return decompose(builder, op);
}

void mlir::flt::gradients::attachLinearAttentionGradient(MLIRContext *context) {
  LinearAttentionOp::attachInterface<LinearAttentionGradient>(*context);
}
