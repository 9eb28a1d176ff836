//===- ToeplitzAttention.cpp - the gradient of flt.toeplitz_attention -----===//
//
// s_ij = t_{j-i} (fq_i · fk_j), t_k = exp(b_k - max b) (the shift is a
// constant, docs/Semantics.md §4), n_i = Σ_j s_ij v_j, D_i = Σ_j s_ij (j ≤ i
// when causal), normalized as linear attention. With the output's cotangent
// g, dn and dD as in LinearAttention.cpp, a_i = [dn_i, dD_i] and
// b_j = [v_j, 1] (a = g, b = v without normalization), ds_ij = a_i · b_j and
//
//   dfq_i = Σ_j t_{j-i} (a_i · b_j) fk_j      = T(a, b, fk)
//   dfk_j = Σ_i t_{j-i} (b_j · a_i) fq_i      = T~(b, a, fq)
//   dv_j  = Σ_i t_{j-i} (fk_j · fq_i) dn_i    = T~(fk, fq, dn)
//   db_k  = t_k Σ_{b,i} (fq_i · fk_{i+k}) (a_i · b_{i+k})
//
// where T is flt.toeplitz_attention with normalize none (same bias, causal
// and method, so its FFT form serves the backward too) and T~ sums over the
// queries instead: T on the token-reversed sequence, reversed back (reversal
// maps t_{j-i} to t_{key - query} and j ≤ i to key ≤ query). [n, D] is one
// more T(fq, fk, [v, 1]). db's sum is a correlation over the tokens,
// flt.toeplitz_correlation with the op's method: direct, it is computed
// here per head tile by tile of the L × L plane from two matrix products per
// tile (O(L² (m + e)) work, O(L) memory, no L × L buffer;
// decomposeToeplitzCorrelation); fft, flt-convert-to-linalg transforms the
// channel products (O(m e L log L)); auto, flt-select-algorithm picks by
// cost as it does for the products.
//
// docs/Semantics.md §5: grouped fk and v are repeated to the query heads
// and their gradients summed back per group; padded keys become zero
// features and padded rows drop their cotangent; with packed sequences the
// products run over the same sequences (T~ on the reversed offsets) and
// the correlation keeps the pairs of one sequence only.
//
//===----------------------------------------------------------------------===//

#include "GradientRules.h"

#include "flt/Dialect/FLT/Gradients/Decompositions.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <limits>

using namespace mlir;
using namespace mlir::flt;
using namespace mlir::flt::gradients;

namespace {

/// acc[h, c] = Σ_{b,i} (fq_i · fk_j) (a_i · keys_j), j = i + c - (L - 1)
/// (j ≤ i when causal; i and j in one sequence when packed). Per head (an
/// scf.forall), tile by tile of the L × L plane (kTile × kTile, tokens
/// zero-padded to a multiple of it): P = fq_I fk_Jᵀ and Q = a_I k_Jᵀ are
/// two matrix products, R = Σ_b P ⊙ Q (masked), and R's 2 kTile - 1
/// diagonals are summed into the head's row of acc at offset j0 - i0.
/// O(L² (m + e)) work as products the CPU pipeline register-tiles, O(L)
/// memory per head (no L × L buffer). Causal runs skip the tiles above the
/// diagonal.
constexpr int64_t kTile = 64;
Value correlation(GradientBuilder &gb, Value fq, Value a, Value fk, Value keys,
                  bool causal, Value sequence) {
  OpBuilder &b = gb.builder();
  Location loc = gb.location();
  MLIRContext *context = b.getContext();
  Type f32 = b.getF32Type();
  OpFoldResult length = gb.dim(fq, 2);
  AffineExpr s0, s1;
  bindSymbols(context, s0, s1);
  // Lp: L rounded up to tiles; every operand gets Lp - L zero tokens.
  OpFoldResult paddedLength;
  Value fqPad = gb.padTokensToTiles(fq, kTile, paddedLength);
  Value aPad = gb.padTokensToTiles(a, kTile, paddedLength);
  Value fkPad = gb.padTokensToTiles(fk, kTile, paddedLength);
  Value keysPad = gb.padTokensToTiles(keys, kTile, paddedLength);
  OpFoldResult extra = affine::makeComposedFoldedAffineApply(
      b, loc, s0 - s1, {paddedLength, length});
  OpFoldResult zero = b.getIndexAttr(0), unit = b.getIndexAttr(1);
  // Packed: each token's sequence, -1 on the padding (zero features
  // there anyway).
  Value sequencePad;
  if (sequence) {
    Type element = cast<RankedTensorType>(sequence.getType()).getElementType();
    sequencePad = gb.insert(sequence, gb.filled({paddedLength}, element, -1.0),
                            {zero}, {length});
  }
  OpFoldResult rowLength =
      affine::makeComposedFoldedAffineApply(b, loc, s0 * 2 - 1, {paddedLength});
  OpFoldResult H = gb.dim(fq, 1);
  OpFoldResult columns =
      affine::makeComposedFoldedAffineApply(b, loc, s0 * 2 - 1, {length});
  OpFoldResult batch = gb.dim(fq, 0);
  OpFoldResult tile = b.getIndexAttr(kTile);
  Value init = gb.filled({H, rowLength}, f32, 0.0);
  auto forall = scf::ForallOp::create(
      b, loc, SmallVector<OpFoldResult>{zero}, SmallVector<OpFoldResult>{H},
      SmallVector<OpFoldResult>{unit}, ValueRange{init}, std::nullopt);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(forall.getBody());
    Value h = forall.getInductionVar(0);
    Value lp = getValueOrCreateConstantIndexOp(b, loc, paddedLength);
    Value step = arith::ConstantIndexOp::create(b, loc, kTile);
    Value zeroIndex = arith::ConstantIndexOp::create(b, loc, 0);
    Value row0 = gb.filled({rowLength}, f32, 0.0);
    // [kTile, F] rows [t0, t0 + kTile) of batch bi, head h of `t`.
    auto rows = [&](Value t, Value bi, Value t0) {
      return gb.slice(t, {bi, h, t0, zero}, {unit, unit, tile, gb.dim(t, 3)},
                      2);
    };
    auto iLoop = scf::ForOp::create(
        b, loc, zeroIndex, lp, step, ValueRange{row0},
        [&](OpBuilder &, Location, Value i0, ValueRange iArgs) {
          Value jEnd = lp;
          if (causal)
            jEnd = arith::MinUIOp::create(
                b, loc, lp, arith::AddIOp::create(b, loc, i0, step));
          auto jLoop = scf::ForOp::create(
              b, loc, zeroIndex, jEnd, step, ValueRange{iArgs[0]},
              [&](OpBuilder &, Location, Value j0, ValueRange jArgs) {
                Value batchEnd = getValueOrCreateConstantIndexOp(b, loc, batch);
                auto bLoop = scf::ForOp::create(
                    b, loc, zeroIndex, batchEnd,
                    arith::ConstantIndexOp::create(b, loc, 1),
                    ValueRange{gb.filled({tile, tile}, f32, 0.0)},
                    [&](OpBuilder &, Location, Value bi, ValueRange bArgs) {
                      Value P = gb.matmulAccumulate(
                          rows(fqPad, bi, i0), rows(fkPad, bi, j0),
                          gb.filled({tile, tile}, f32, 0.0), false, true);
                      Value Q = gb.matmulAccumulate(
                          rows(aPad, bi, i0), rows(keysPad, bi, j0),
                          gb.filled({tile, tile}, f32, 0.0), false, true);
                      // Accumulated in place (the loop's own tensor).
                      AffineMap identity = gb.map(2, {0, 1});
                      Value R = gb.generic1(
                          ValueRange{P, Q}, bArgs[0],
                          {identity, identity, identity},
                          StructuredBuilder::parallel(2),
                          [](OpBuilder &nb, Location nl, ValueRange x) {
                            return one(arith::AddFOp::create(
                                nb, nl, x[2],
                                arith::MulFOp::create(nb, nl, x[0], x[1])));
                          });
                      scf::YieldOp::create(b, loc, R);
                    });
                Value R = bLoop.getResult(0);
                // Visible pairs only: j ≤ i when causal, one sequence
                // when packed.
                if (causal || sequence) {
                  SmallVector<Value> inputs = {R};
                  SmallVector<AffineMap> maps = {gb.map(2, {0, 1})};
                  if (sequence) {
                    inputs.push_back(gb.slice(sequencePad, {i0}, {tile}, 1));
                    inputs.push_back(gb.slice(sequencePad, {j0}, {tile}, 1));
                    maps.push_back(gb.map(2, {0}));
                    maps.push_back(gb.map(2, {1}));
                  }
                  maps.push_back(gb.map(2, {0, 1}));
                  R = gb.generic1(
                      inputs, gb.empty({tile, tile}, f32), maps,
                      StructuredBuilder::parallel(2),
                      [&](OpBuilder &nb, Location nl, ValueRange x) {
                        Value term = x[0];
                        Value zeroF = arith::ConstantOp::create(
                            nb, nl, nb.getF32FloatAttr(0));
                        if (sequence) {
                          Value same = arith::CmpIOp::create(
                              nb, nl, arith::CmpIPredicate::eq, x[1], x[2]);
                          term = arith::SelectOp::create(nb, nl, same, term,
                                                         zeroF);
                        }
                        if (causal) {
                          Value i = arith::AddIOp::create(
                              nb, nl, i0, linalg::IndexOp::create(nb, nl, 0));
                          Value j = arith::AddIOp::create(
                              nb, nl, j0, linalg::IndexOp::create(nb, nl, 1));
                          Value visible = arith::CmpIOp::create(
                              nb, nl, arith::CmpIPredicate::ule, j, i);
                          term = arith::SelectOp::create(nb, nl, visible, term,
                                                         zeroF);
                        }
                        return one(term);
                      });
                }
                // Pair (i, j) is diagonal j - i + Lp - 1 of the row:
                // this tile's diagonals start at j0 - i0 + Lp - kTile.
                Value offset = arith::SubIOp::create(
                    b, loc,
                    arith::AddIOp::create(
                        b, loc, j0, arith::SubIOp::create(b, loc, lp, step)),
                    i0);
                Value updated = gb.addDiagonals(jArgs[0], R, offset);
                scf::YieldOp::create(b, loc, updated);
              });
          scf::YieldOp::create(b, loc, jLoop.getResult(0));
        });
    b.setInsertionPointToStart(forall.getTerminator().getBody());
    tensor::ParallelInsertSliceOp::create(
        b, loc, iLoop.getResult(0), forall.getRegionIterArgs().front(),
        ArrayRef<OpFoldResult>{h, zero},
        ArrayRef<OpFoldResult>{unit, rowLength},
        ArrayRef<OpFoldResult>{unit, unit});
  }
  // Diagonal j - i + Lp - 1 of the padded problem is j - i + L - 1 of
  // the op's.
  return gb.slice(forall.getResult(0), {zero, extra}, {H, columns}, 2);
}

struct ToeplitzAttentionGradient
    : DifferentiableOpModel<ToeplitzAttentionGradient, ToeplitzAttentionOp> {
  /// T(q, k, vals) with normalize none, or T~ (`transposed`), over the
  /// op's packed sequences `cuSeqlens` (null: none); T~ runs on the
  /// reversed tokens, whose sequences are `reversedCuSeqlens`.
  static Value product(ToeplitzAttentionOp op, GradientBuilder &gb, Value q,
                       Value k, Value vals, bool transposed, Value cuSeqlens,
                       Value reversedCuSeqlens) {
    if (transposed) {
      q = gb.reverseTokens(q);
      k = gb.reverseTokens(k);
      vals = gb.reverseTokens(vals);
      cuSeqlens = reversedCuSeqlens;
    }
    Value out = ToeplitzAttentionOp::create(
        gb.builder(), gb.location(),
        ToeplitzAttentionOp::inferResultType(q, vals), q, k, vals, op.getB(),
        cuSeqlens, /*lengths=*/Value(), op.getCausal(), Normalize::None,
        op.getEps(), op.getMethod());
    return transposed ? gb.reverseTokens(out) : out;
  }

  static FailureOr<SmallVector<Value>> vjp(ToeplitzAttentionOp op,
                                           GradientBuilder &gb,
                                           ValueRange cotangents,
                                           ArrayRef<bool> needed) {
    OpBuilder &b = gb.builder();
    Location loc = gb.location();
    Value fq = gb.toF32(op.getFq()), fk = gb.toF32(op.getFk());
    Value v = gb.toF32(op.getV()), bias = op.getB();
    Value g = cotangents[0]
                  ? gb.toF32(cotangents[0])
                  : gb.toF32(gb.zerosLike(op.getResult(), op.getType()));
    Normalize normalize = op.getNormalize();
    float eps = op.getEps().convertToFloat();
    bool causal = op.getCausal();
    // docs/Semantics.md section 5, as for linear attention: grouped fk and
    // v are repeated to the query heads and their gradients summed back
    // over each group; padded keys are zero features (no score) and padded
    // rows drop their cotangent; packed sequences pair tokens of one
    // sequence only, in every product and in db's correlation.
    int64_t heads = op.getFq().getType().getDimSize(1);
    bool grouped = heads != op.getFk().getType().getDimSize(1) ||
                   ShapedType::isDynamic(heads);
    GroupedPadding served(gb, fq, fk, v, g, grouped, op.getLengths());
    Value cuSeqlens = op.getCuSeqlens(), reversedCuSeqlens;
    if (cuSeqlens)
      reversedCuSeqlens = gb.reverseOffsets(cuSeqlens, gb.dim(fq, 2));
    auto T = [&](Value q, Value k, Value vals, bool transposed) {
      return product(op, gb, q, k, vals, transposed, cuSeqlens,
                     reversedCuSeqlens);
    };

    Value a = g, bKeys = v, dn = g;
    if (normalize != Normalize::None) {
      Value vOne = gb.concat(v, gb.onesColumn(v, 3), 3);
      Value nd = T(fq, fk, vOne, false);
      OpFoldResult e = gb.dim(v, 3);
      Value n = gb.lastDimSlice(nd, b.getIndexAttr(0), e);
      Value D = gb.lastDimSlice(nd, e, b.getIndexAttr(1)); // [B, H, L, 1]
      Value rowD = tensor::CollapseShapeOp::create(
          b, loc, D, SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}});
      Value gn =
          gb.sum(ValueRange{g, n}, {{0, 1, 2, 3}, {0, 1, 2, 3}}, gb.dims(g),
                 {3}, [](OpBuilder &nb, Location nl, ValueRange x) {
                   return one(arith::MulFOp::create(nb, nl, x[0], x[1]));
                 });
      Value epsValue = gb.f32(eps);
      bool guarded = normalize == Normalize::Guarded;
      auto positive = [](OpBuilder &nb, Location nl, Value d) {
        return arith::CmpFOp::create(
            nb, nl, arith::CmpFPredicate::OGT, d,
            arith::ConstantOp::create(nb, nl, nb.getF32FloatAttr(0)));
      };
      auto denominator = [&](OpBuilder &nb, Location nl, Value d) -> Value {
        if (!guarded)
          return arith::AddFOp::create(nb, nl, d, epsValue);
        return arith::SelectOp::create(
            nb, nl, positive(nb, nl, d), d,
            arith::ConstantOp::create(nb, nl, nb.getF32FloatAttr(1)));
      };
      dn = gb.map(ValueRange{g, rowD}, {{0, 1, 2, 3}, {0, 1, 2}}, g,
                  [&](OpBuilder &nb, Location nl, ValueRange x) {
                    return one(arith::DivFOp::create(
                        nb, nl, x[0], denominator(nb, nl, x[1])));
                  });
      Value dD = gb.map(
          ValueRange{gn, D}, {{0, 1, 2}, {0, 1, 2, 3}}, D,
          [&](OpBuilder &nb, Location nl, ValueRange x) {
            Value den = denominator(nb, nl, x[1]);
            Value value = arith::NegFOp::create(
                nb, nl,
                arith::DivFOp::create(nb, nl, x[0],
                                      arith::MulFOp::create(nb, nl, den, den)));
            if (!guarded)
              return one(value);
            return one(arith::SelectOp::create(
                nb, nl, positive(nb, nl, x[1]), value,
                arith::ConstantOp::create(nb, nl, nb.getF32FloatAttr(0))));
          });
      a = gb.concat(dn, dD, 3);
      bKeys = vOne;
    }

    SmallVector<Value> grads(op->getNumOperands());
    if (needed[0])
      grads[0] = gb.castTo(T(a, bKeys, fk, false), op.getFq().getType());
    if (needed[1]) {
      grads[1] = gb.castTo(served.keyGradient(T(bKeys, a, fq, true)),
                           op.getFk().getType());
    }
    if (needed[2]) {
      grads[2] = gb.castTo(served.valueGradient(T(fk, fq, dn, true)),
                           op.getV().getType());
    }
    if (needed[3]) {
      // t[h, c] = exp(b[h, c] - max_c b[h, c]).
      Value shift =
          gb.generic1(bias,
                      gb.filled({gb.dim(bias, 0)}, b.getF32Type(),
                                -std::numeric_limits<double>::infinity()),
                      {gb.map(2, {0, 1}), gb.map(2, {0})},
                      StructuredBuilder::parallel(1, 1),
                      [](OpBuilder &nb, Location nl, ValueRange x) {
                        return SmallVector<Value>{
                            arith::MaximumFOp::create(nb, nl, x[1], x[0])};
                      });
      Value acc = ToeplitzCorrelationOp::create(
          b, loc, ToeplitzCorrelationOp::inferResultType(fq), fq, a, fk, bKeys,
          cuSeqlens, causal, op.getMethod());
      Value db =
          gb.map(ValueRange{acc, bias, shift}, {{0, 1}, {0, 1}, {0}}, acc,
                 [](OpBuilder &nb, Location nl, ValueRange x) {
                   Value t = math::ExpOp::create(
                       nb, nl, arith::SubFOp::create(nb, nl, x[1], x[2]));
                   return one(arith::MulFOp::create(nb, nl, x[0], t));
                 });
      grads[3] = gb.castTo(db, bias.getType());
    }
    return grads;
  }
};

} // namespace

void mlir::flt::gradients::attachToeplitzAttentionGradient(
    MLIRContext *context) {
  ToeplitzAttentionOp::attachInterface<ToeplitzAttentionGradient>(*context);
}

Value mlir::flt::decomposeToeplitzCorrelation(OpBuilder &builder,
                                              ToeplitzCorrelationOp op) {
  GradientBuilder gb(builder, op.getLoc());
  Value sequence;
  if (Value cuSeqlens = op.getCuSeqlens())
    sequence = gb.sequenceOfTokens(cuSeqlens, gb.dim(op.getFq(), 2));
  Value acc = correlation(gb, op.getFq(), op.getA(), op.getFk(), op.getKeys(),
                          op.getCausal(), sequence);
  return gb.castTo(acc, op.getType());
}
