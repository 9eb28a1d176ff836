//===- KernelAttention.cpp - the gradient of flt.kernel_attention ---------===//
//
// softmax: s_ij = t q_i·k_j + b_{j-i} (j ≤ i when causal), P_ij =
// exp(s_ij - lse_i) with lse_i = log Σ_j exp(s_ij), out_i = Σ_j P_ij v_j.
// With the output's cotangent g and δ_i = g_i · out_i:
//
//   dv_j  = Σ_i P_ij g_i
//   dS_ij = P_ij (g_i · v_j - δ_i)
//   dq_i  = t Σ_j dS_ij k_j          dk_j = t Σ_i dS_ij q_i
//   db_c  = Σ_{b, (i, j) : j - i + L - 1 = c} dS_ij
//
// computed the way FlashAttention's backward is (Dao, 2023): per (batch,
// head) an scf.forall iteration walks 64-row query tiles; for each, one
// pass over the 64-key tiles recomputes the scores and their log-sum-exp
// online, a second recomputes P from it and accumulates the tile's dq and
// the keys' dk and dv (and db's diagonals, GradientBuilder::addDiagonals).
// No L × S buffer: O((L + S)(d + e)) memory per (batch, head). δ reads the
// op's own result, which the reverse pass computes anyway. Grouped k and v
// are repeated to the query heads and their gradients summed back.
//
// dot: scores (q_i·k_j) M_ij normalized as linear attention are
// flt.linear_attention's (docs/Semantics.md 2.5), so the rule is that op's
// rule, on an flt.linear_attention with the same operands.
//
// Not yet: fourier_integral, softmax with rpe(phi, psi), and softmax with
// packed sequences or lengths: the rule says so in a diagnostic.
//
//===----------------------------------------------------------------------===//

#include "GradientRules.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <limits>

using namespace mlir;
using namespace mlir::flt;
using namespace mlir::flt::gradients;

namespace {

/// The position in an op's operand list of the ODS operand group whose
/// (start, length) is `range`; std::nullopt when the optional group is
/// absent.
std::optional<unsigned> operandIndex(std::pair<unsigned, unsigned> range) {
  if (range.second == 0)
    return std::nullopt;
  return range.first;
}

struct KernelAttentionGradient
    : DifferentiableOpModel<KernelAttentionGradient, KernelAttentionOp> {
  static constexpr int64_t kTile = 64;

  /// kernel = dot: flt.linear_attention's rule on the same operands.
  static FailureOr<SmallVector<Value>> dotVJP(KernelAttentionOp op,
                                              GradientBuilder &gb,
                                              ValueRange cotangents,
                                              ArrayRef<bool> needed) {
    auto attention = LinearAttentionOp::create(
        gb.builder(), gb.location(), op.getQ(), op.getK(), op.getV(),
        op.getPhi(), op.getPsi(), /*initialState=*/Value(),
        /*initialNormalizer=*/Value(), op.getCuSeqlens(), op.getLengths(),
        op.getCausal(), op.getNormalize(), op.getEps().convertToFloat());
    // Operand groups of both ops: q k v phi psi cu_seqlens lengths.
    const std::pair<unsigned, unsigned> groups[] = {
        {0, 0}, {1, 1}, {2, 2}, {5, 3}, {6, 4}, {7, 7}, {8, 8}};
    SmallVector<bool> attentionNeeded(attention->getNumOperands(), false);
    for (auto [mine, theirs] : groups) {
      std::optional<unsigned> from =
          operandIndex(op.getODSOperandIndexAndLength(mine));
      std::optional<unsigned> to =
          operandIndex(attention.getODSOperandIndexAndLength(theirs));
      if (from && to)
        attentionNeeded[*to] = needed[*from];
    }
    FailureOr<SmallVector<Value>> attentionGrads =
        cast<DifferentiableOpInterface>(attention.getOperation())
            .buildVJP(gb.builder(), cotangents, attentionNeeded);
    if (failed(attentionGrads))
      return failure();
    SmallVector<Value> grads(op->getNumOperands());
    for (auto [mine, theirs] : groups) {
      std::optional<unsigned> from =
          operandIndex(op.getODSOperandIndexAndLength(mine));
      std::optional<unsigned> to =
          operandIndex(attention.getODSOperandIndexAndLength(theirs));
      if (from && to && needed[*from])
        grads[*from] = (*attentionGrads)[*to];
    }
    return grads;
  }

  /// t q_I k_Jᵀ (+ the bias b_{j-i}) for the query tile at i0 and the key
  /// tile at j0, -inf where a pair is hidden (a padding key j ≥ S, or j > i
  /// when causal): [kTile, kTile].
  struct Scores {
    GradientBuilder &gb;
    Value keys;         // [Sp, d]
    Value biasRow;      // [Lp + Sp - 1] (padded coordinates), or null
    Value paddedLength; // Lp, index
    Value keyCount;     // S, index
    float temperature;
    bool causal;

    Value at(Value queryTile, Value i0, Value j0) {
      OpBuilder &b = gb.builder();
      Location loc = gb.location();
      MLIRContext *context = b.getContext();
      Type f32 = b.getF32Type();
      OpFoldResult tile = b.getIndexAttr(kTile);
      Value keyTile =
          gb.slice(keys, {j0, b.getIndexAttr(0)}, {tile, gb.dim(keys, 1)}, 2);
      Value products = gb.matmulAccumulate(
          queryTile, keyTile, gb.filled({tile, tile}, f32, 0.0), false, true);
      SmallVector<Value> inputs = {products};
      SmallVector<AffineMap> maps = {gb.map(2, {0, 1})};
      if (biasRow) {
        // Pair (i, j) reads column j - i + Lp - 1; the tile's columns start
        // at j0 - i0 + Lp - kTile.
        Value start = arith::SubIOp::create(
            b, loc,
            arith::AddIOp::create(
                b, loc, j0,
                arith::SubIOp::create(
                    b, loc, paddedLength,
                    arith::ConstantIndexOp::create(b, loc, kTile))),
            i0);
        inputs.push_back(
            gb.slice(biasRow, {start}, {b.getIndexAttr(2 * kTile - 1)}, 1));
        AffineExpr i, j;
        bindDims(context, i, j);
        maps.push_back(AffineMap::get(2, 0, {j - i + (kTile - 1)}, context));
      }
      maps.push_back(gb.map(2, {0, 1}));
      float t = temperature;
      bool withBias = static_cast<bool>(biasRow), isCausal = causal;
      Value count = keyCount;
      return gb.generic1(
          inputs, gb.empty({tile, tile}, f32), maps,
          StructuredBuilder::parallel(2),
          [&, t, withBias, isCausal, count, i0, j0](OpBuilder &nb, Location nl,
                                                    ValueRange x) {
            Value s = arith::MulFOp::create(
                nb, nl, x[0],
                arith::ConstantOp::create(nb, nl, nb.getF32FloatAttr(t)));
            if (withBias)
              s = arith::AddFOp::create(nb, nl, s, x[1]);
            Value j = arith::AddIOp::create(nb, nl, j0,
                                            linalg::IndexOp::create(nb, nl, 1));
            Value visible = arith::CmpIOp::create(
                nb, nl, arith::CmpIPredicate::ult, j, count);
            if (isCausal) {
              Value i = arith::AddIOp::create(
                  nb, nl, i0, linalg::IndexOp::create(nb, nl, 0));
              visible = arith::AndIOp::create(
                  nb, nl, visible,
                  arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ule, j,
                                        i));
            }
            Value hidden = arith::ConstantOp::create(
                nb, nl,
                nb.getF32FloatAttr(-std::numeric_limits<float>::infinity()));
            return one(arith::SelectOp::create(nb, nl, visible, s, hidden));
          });
    }
  };

  /// exp(s - shift), 0 where s is -inf (hidden; the shift may be -inf too).
  static Value expShifted(OpBuilder &nb, Location nl, Value s, Value shift) {
    Value hidden = arith::CmpFOp::create(
        nb, nl, arith::CmpFPredicate::OEQ, s,
        arith::ConstantOp::create(
            nb, nl,
            nb.getF32FloatAttr(-std::numeric_limits<float>::infinity())));
    Value e =
        math::ExpOp::create(nb, nl, arith::SubFOp::create(nb, nl, s, shift));
    return arith::SelectOp::create(
        nb, nl, hidden,
        arith::ConstantOp::create(nb, nl, nb.getF32FloatAttr(0)), e);
  }

  static FailureOr<SmallVector<Value>> softmaxVJP(KernelAttentionOp op,
                                                  GradientBuilder &gb,
                                                  ValueRange cotangents,
                                                  ArrayRef<bool> needed) {
    OpBuilder &b = gb.builder();
    Location loc = gb.location();
    Type f32 = b.getF32Type();
    Value q = gb.toF32(op.getQ()), k = gb.toF32(op.getK());
    Value v = gb.toF32(op.getV()), bias = op.getBias();
    Value out = gb.toF32(op.getResult());
    Value g = cotangents[0]
                  ? gb.toF32(cotangents[0])
                  : gb.toF32(gb.zerosLike(op.getResult(), op.getType()));
    bool causal = op.getCausal();
    float temperature = op.getEffectiveTemperature();
    int64_t heads = cast<RankedTensorType>(op.getQ().getType()).getDimSize(1);
    bool grouped =
        heads != cast<RankedTensorType>(op.getK().getType()).getDimSize(1) ||
        ShapedType::isDynamic(heads);
    GroupedPadding served(gb, q, k, v, g, grouped, /*lengths=*/Value());

    // δ_i = g_i · out_i.
    Value delta =
        gb.sum(ValueRange{g, out}, {{0, 1, 2, 3}, {0, 1, 2, 3}}, gb.dims(g),
               {3}, [](OpBuilder &nb, Location nl, ValueRange x) {
                 return one(arith::MulFOp::create(nb, nl, x[0], x[1]));
               });
    OpFoldResult zero = b.getIndexAttr(0), unit = b.getIndexAttr(1);
    OpFoldResult tile = b.getIndexAttr(kTile);
    OpFoldResult batch = gb.dim(q, 0), H = gb.dim(q, 1);
    OpFoldResult queries = gb.dim(q, 2), keysCount = gb.dim(k, 2);
    OpFoldResult d = gb.dim(q, 3), e = gb.dim(v, 3);
    OpFoldResult Lp, Sp;
    Value qPad = gb.padTokensToTiles(q, kTile, Lp);
    Value gPad = gb.padTokensToTiles(g, kTile, Lp);
    Value kPad = gb.padTokensToTiles(k, kTile, Sp);
    Value vPad = gb.padTokensToTiles(v, kTile, Sp);
    Value deltaPad = gb.insert(delta, gb.filled({batch, H, Lp}, f32, 0.0),
                               {zero, zero, zero}, {batch, H, queries});
    AffineExpr s0, s1;
    bindSymbols(b.getContext(), s0, s1);
    OpFoldResult width =
        affine::makeComposedFoldedAffineApply(b, loc, s0 + s1 - 1, {Lp, Sp});
    // The bias in padded coordinates: column j - i + Lp - 1 holds
    // b_{j-i}; Lp - L more columns before b's.
    OpFoldResult shift =
        affine::makeComposedFoldedAffineApply(b, loc, s0 - s1, {Lp, queries});
    Value biasPad;
    OpFoldResult biasHeads;
    if (bias) {
      biasHeads = gb.dim(bias, 0);
      biasPad =
          gb.insert(gb.toF32(bias), gb.filled({biasHeads, width}, f32, 0.0),
                    {zero, shift}, gb.dims(bias));
    }

    SmallVector<Value> inits = {gb.filled({batch, H, Lp, d}, f32, 0.0),
                                gb.filled({batch, H, Sp, d}, f32, 0.0),
                                gb.filled({batch, H, Sp, e}, f32, 0.0)};
    if (bias)
      inits.push_back(gb.filled({batch, H, width}, f32, 0.0));
    auto forall = scf::ForallOp::create(
        b, loc, SmallVector<OpFoldResult>{zero, zero},
        SmallVector<OpFoldResult>{batch, H},
        SmallVector<OpFoldResult>{unit, unit}, inits, std::nullopt);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(forall.getBody());
      Value bi = forall.getInductionVar(0), h = forall.getInductionVar(1);
      Value lp = getValueOrCreateConstantIndexOp(b, loc, Lp);
      Value sp = getValueOrCreateConstantIndexOp(b, loc, Sp);
      Value step = arith::ConstantIndexOp::create(b, loc, kTile);
      Value zeroIndex = arith::ConstantIndexOp::create(b, loc, 0);
      auto head = [&](Value t, OpFoldResult tokens) {
        return gb.slice(t, {bi, h, zero, zero},
                        {unit, unit, tokens, gb.dim(t, 3)}, 2);
      };
      Value qh = head(qPad, Lp), gh = head(gPad, Lp);
      Value kh = head(kPad, Sp), vh = head(vPad, Sp);
      Value deltaH = gb.slice(deltaPad, {bi, h, zero}, {unit, unit, Lp}, 1);
      Value biasRow;
      if (bias) {
        // One bias row for every head when the op has one.
        Value last = arith::SubIOp::create(
            b, loc, getValueOrCreateConstantIndexOp(b, loc, biasHeads),
            arith::ConstantIndexOp::create(b, loc, 1));
        Value hb = arith::MinUIOp::create(b, loc, h, last);
        biasRow = gb.slice(biasPad, {hb, zero}, {unit, width}, 1);
      }
      Scores scores{gb,
                    kh,
                    biasRow,
                    lp,
                    getValueOrCreateConstantIndexOp(b, loc, keysCount),
                    temperature,
                    causal};
      SmallVector<Value> headInits = {gb.filled({Lp, d}, f32, 0.0),
                                      gb.filled({Sp, d}, f32, 0.0),
                                      gb.filled({Sp, e}, f32, 0.0)};
      if (bias)
        headInits.push_back(gb.filled({width}, f32, 0.0));
      auto rows = [&](Value t, Value t0) {
        return gb.slice(t, {t0, zero}, {tile, gb.dim(t, 1)}, 2);
      };
      auto queryLoop = scf::ForOp::create(
          b, loc, zeroIndex, lp, step, headInits,
          [&](OpBuilder &, Location, Value i0, ValueRange acc) {
            Value qI = rows(qh, i0), gI = rows(gh, i0);
            Value deltaI = gb.slice(deltaH, {i0}, {tile}, 1);
            Value keyEnd = sp;
            if (causal)
              keyEnd = arith::MinUIOp::create(
                  b, loc, sp, arith::AddIOp::create(b, loc, i0, step));
            // Pass 1: the rows' running max m and sum l of exp(s - m).
            SmallVector<Value> stats = {
                gb.filled({tile}, f32,
                          -std::numeric_limits<double>::infinity()),
                gb.filled({tile}, f32, 0.0)};
            auto statsLoop = scf::ForOp::create(
                b, loc, zeroIndex, keyEnd, step, stats,
                [&](OpBuilder &, Location, Value j0, ValueRange ml) {
                  Value S = scores.at(qI, i0, j0);
                  Value rowMax = gb.generic1(
                      ValueRange{S},
                      gb.filled({tile}, f32,
                                -std::numeric_limits<double>::infinity()),
                      {gb.map(2, {0, 1}), gb.map(2, {0})},
                      StructuredBuilder::parallel(1, 1),
                      [](OpBuilder &nb, Location nl, ValueRange x) {
                        return one(
                            arith::MaximumFOp::create(nb, nl, x[1], x[0]));
                      });
                  // l := l exp(m - m') + Σ_j exp(s - m'), m' = max(m, rowMax):
                  // rescale, add, then move m (both read the old m first).
                  Value rescaled = gb.generic1(
                      ValueRange{ml[0], rowMax}, ml[1],
                      {gb.map(1, {0}), gb.map(1, {0}), gb.map(1, {0})},
                      StructuredBuilder::parallel(1),
                      [](OpBuilder &nb, Location nl, ValueRange x) {
                        Value next =
                            arith::MaximumFOp::create(nb, nl, x[0], x[1]);
                        return one(arith::MulFOp::create(
                            nb, nl, x[2], expShifted(nb, nl, x[0], next)));
                      });
                  Value l = gb.generic1(
                      ValueRange{S, ml[0], rowMax}, rescaled,
                      {gb.map(2, {0, 1}), gb.map(2, {0}), gb.map(2, {0}),
                       gb.map(2, {0})},
                      StructuredBuilder::parallel(1, 1),
                      [](OpBuilder &nb, Location nl, ValueRange x) {
                        Value next =
                            arith::MaximumFOp::create(nb, nl, x[1], x[2]);
                        return one(arith::AddFOp::create(
                            nb, nl, x[3], expShifted(nb, nl, x[0], next)));
                      });
                  Value m =
                      gb.generic1(ValueRange{rowMax}, ml[0],
                                  {gb.map(1, {0}), gb.map(1, {0})},
                                  StructuredBuilder::parallel(1),
                                  [](OpBuilder &nb, Location nl, ValueRange x) {
                                    return one(arith::MaximumFOp::create(
                                        nb, nl, x[1], x[0]));
                                  });
                  scf::YieldOp::create(b, loc, ValueRange{m, l});
                });
            // lse = m + log l (-inf for a row that sees no key: its P is 0).
            Value lse = gb.map(
                ValueRange{statsLoop.getResult(0), statsLoop.getResult(1)},
                statsLoop.getResult(0),
                [](OpBuilder &nb, Location nl, ValueRange x) {
                  return one(arith::AddFOp::create(
                      nb, nl, x[0], math::LogOp::create(nb, nl, x[1])));
                });
            // Pass 2: P, dS, and the gradients.
            SmallVector<Value> grads = {gb.filled({tile, d}, f32, 0.0), acc[1],
                                        acc[2]};
            if (bias)
              grads.push_back(acc[3]);
            auto gradLoop = scf::ForOp::create(
                b, loc, zeroIndex, keyEnd, step, grads,
                [&](OpBuilder &, Location, Value j0, ValueRange gr) {
                  Value S = scores.at(qI, i0, j0);
                  Value P = gb.generic1(
                      ValueRange{S, lse}, gb.empty({tile, tile}, f32),
                      {gb.map(2, {0, 1}), gb.map(2, {0}), gb.map(2, {0, 1})},
                      StructuredBuilder::parallel(2),
                      [](OpBuilder &nb, Location nl, ValueRange x) {
                        return one(expShifted(nb, nl, x[0], x[1]));
                      });
                  Value kJ = rows(kh, j0), vJ = rows(vh, j0);
                  // dv_J += Pᵀ g_I.
                  Value dvJ = gb.matmulAccumulate(
                      P, gI, gb.slice(gr[2], {j0, zero}, {tile, e}, 2), true,
                      false);
                  Value dv = gb.insert(dvJ, gr[2], {j0, zero}, {tile, e});
                  // dS = P (g_I v_Jᵀ - δ_I).
                  Value dP = gb.matmulAccumulate(
                      gI, vJ, gb.filled({tile, tile}, f32, 0.0), false, true);
                  Value dS = gb.generic1(
                      ValueRange{P, dP, deltaI}, gb.empty({tile, tile}, f32),
                      {gb.map(2, {0, 1}), gb.map(2, {0, 1}), gb.map(2, {0}),
                       gb.map(2, {0, 1})},
                      StructuredBuilder::parallel(2),
                      [](OpBuilder &nb, Location nl, ValueRange x) {
                        return one(arith::MulFOp::create(
                            nb, nl, x[0],
                            arith::SubFOp::create(nb, nl, x[1], x[2])));
                      });
                  // dq_I += dS k_J, dk_J += dSᵀ q_I (times t at the end).
                  Value dq = gb.matmulAccumulate(dS, kJ, gr[0], false, false);
                  Value dkJ = gb.matmulAccumulate(
                      dS, qI, gb.slice(gr[1], {j0, zero}, {tile, d}, 2), true,
                      false);
                  Value dk = gb.insert(dkJ, gr[1], {j0, zero}, {tile, d});
                  SmallVector<Value> next = {dq, dk, dv};
                  if (bias) {
                    Value offset = arith::SubIOp::create(
                        b, loc,
                        arith::AddIOp::create(
                            b, loc, j0,
                            arith::SubIOp::create(b, loc, lp, step)),
                        i0);
                    next.push_back(gb.addDiagonals(gr[3], dS, offset));
                  }
                  scf::YieldOp::create(b, loc, next);
                });
            SmallVector<Value> next = {
                gb.insert(gradLoop.getResult(0), acc[0], {i0, zero}, {tile, d}),
                gradLoop.getResult(1), gradLoop.getResult(2)};
            if (bias)
              next.push_back(gradLoop.getResult(3));
            scf::YieldOp::create(b, loc, next);
          });
      b.setInsertionPointToStart(forall.getTerminator().getBody());
      auto put = [&](unsigned index, ArrayRef<OpFoldResult> offsets,
                     ArrayRef<OpFoldResult> sizes) {
        SmallVector<OpFoldResult> strides(offsets.size(), unit);
        tensor::ParallelInsertSliceOp::create(
            b, loc, queryLoop.getResult(index),
            forall.getRegionIterArgs()[index], offsets, sizes, strides);
      };
      put(0, {bi, h, zero, zero}, {unit, unit, Lp, d});
      put(1, {bi, h, zero, zero}, {unit, unit, Sp, d});
      put(2, {bi, h, zero, zero}, {unit, unit, Sp, e});
      if (bias)
        put(3, {bi, h, zero}, {unit, unit, width});
    }

    auto scaled = [&](Value x) {
      Value t = gb.f32(temperature);
      return gb.map(ValueRange{x}, x,
                    [&](OpBuilder &nb, Location nl, ValueRange y) {
                      return one(arith::MulFOp::create(nb, nl, y[0], t));
                    });
    };
    auto unpadded = [&](Value x, OpFoldResult tokens) {
      return gb.slice(x, {zero, zero, zero, zero},
                      {batch, H, tokens, gb.dim(x, 3)}, 4);
    };
    SmallVector<Value> grads(op->getNumOperands());
    auto at = [&](unsigned group) {
      return operandIndex(op.getODSOperandIndexAndLength(group));
    };
    if (needed[*at(0)])
      grads[*at(0)] = gb.castTo(scaled(unpadded(forall.getResult(0), queries)),
                                op.getQ().getType());
    if (needed[*at(1)])
      grads[*at(1)] = gb.castTo(
          served.keyGradient(scaled(unpadded(forall.getResult(1), keysCount))),
          op.getK().getType());
    if (needed[*at(2)])
      grads[*at(2)] = gb.castTo(
          served.valueGradient(unpadded(forall.getResult(2), keysCount)),
          op.getV().getType());
    if (bias && needed[*at(4)]) {
      // Σ over the batch (and the heads, for one shared bias row), then the
      // op's columns.
      Value rows = forall.getResult(3);
      std::optional<int64_t> shared = getConstantIntValue(biasHeads);
      bool oneRow = shared && *shared == 1;
      SmallVector<unsigned> reduced =
          oneRow ? SmallVector<unsigned>{0, 1} : SmallVector<unsigned>{0};
      Value summed =
          gb.sum(ValueRange{rows}, {{0, 1, 2}}, gb.dims(rows), reduced,
                 [](OpBuilder &, Location, ValueRange x) { return one(x[0]); });
      OpFoldResult columns = gb.dim(bias, 1);
      Value db = oneRow
                     ? gb.insert(gb.slice(summed, {shift}, {columns}, 1),
                                 gb.filled({unit, columns}, f32, 0.0),
                                 {zero, zero}, {unit, columns})
                     : gb.slice(summed, {zero, shift}, {biasHeads, columns}, 2);
      grads[*at(4)] = gb.castTo(db, bias.getType());
    }
    return grads;
  }

  static FailureOr<SmallVector<Value>> vjp(KernelAttentionOp op,
                                           GradientBuilder &gb,
                                           ValueRange cotangents,
                                           ArrayRef<bool> needed) {
    switch (op.getKernel()) {
    case PairKernel::Dot:
      return dotVJP(op, gb, cotangents, needed);
    case PairKernel::Softmax:
      if (op.getPhi())
        return op.emitOpError(
            "gradient: softmax with rpe(phi, psi) has no rule yet");
      if (op.getCuSeqlens() || op.getLengths())
        return op.emitOpError("gradient: softmax with packed sequences or "
                              "lengths has no rule yet");
      return softmaxVJP(op, gb, cotangents, needed);
    case PairKernel::FourierIntegral:
      break;
    }
    return op.emitOpError("gradient: fourier_integral has no rule yet");
  }
};

} // namespace

void mlir::flt::gradients::attachKernelAttentionGradient(MLIRContext *context) {
  KernelAttentionOp::attachInterface<KernelAttentionGradient>(*context);
}
