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
// With rpe, exp(s_ij) is multiplied by M_ij = phi_i · psi_j: P_ij = E_ij M_ij
// with E_ij = exp(s_ij - lse_i), dM_ij = E_ij (g_i · v_j - δ_i), dphi_i =
// Σ_j dM_ij psi_j and dpsi_j = Σ_i dM_ij phi_i. Lengths and packed
// sequences hide keys in the scores (and padded rows have no cotangent).
//
// fourier_integral (normalized form) is the same computation with log scores
// ℓ_ij = p Σ_c log|sinc(R_c Δ_ijc)| (Δ = q_i - k_j; -inf where a sinc is
// exactly 0: such a key is hidden, as in the forward): dℓ is softmax's dS,
// and dq_ic = Σ_j dℓ_ij p R_c h(R_c Δ_ijc), dk_jc = -Σ_i (the same), dR_c =
// Σ_ij dℓ_ij p Δ_ijc h(R_c Δ_ijc), with h = d/dx log|sinc x| (its series near
// 0). FourierFormer's own form (fourier_form = amplitude_eps: factors
// R_c sinc(...), out = Σ s v / (Σ s + eps)) has the same dℓ with P_ij =
// s_ij / (Σ_j s_ij + eps), so only its lse (log(Σ s + eps)) and dR's extra
// p / R_c differ.
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

  /// One (batch, head)'s operands, tile by tile: the scores t q_I k_Jᵀ
  /// (+ the bias b_{j-i}) of the query tile at i0 and the key tile at j0,
  /// -inf where a pair is hidden (a key past the keys there are, past n_b
  /// with lengths, of another packed sequence, or j > i when causal), and
  /// with rpe the mask M = phi_I psi_Jᵀ that multiplies exp(score).
  struct Tiles {
    GradientBuilder &gb;
    Value keys;         // [Sp, d]
    Value biasRow;      // [Lp + Sp - 1] (padded coordinates), or null
    Value sequence;     // [Lp] each token's packed sequence (-1: padding)
    Value phi, psi;     // [Lp, r], [Sp, r], or null
    Value paddedLength; // Lp, index
    Value keyCount;     // the keys that exist: S, or min(n_b, S)
    float temperature;
    bool causal;
    Value scaleRow; // fourier_integral: R_h [d]; null for softmax
    int64_t power;
    bool amplitude; // fourier_form = amplitude_eps: factors R_c sinc(...)

    Value rows(Value t, Value t0) {
      OpBuilder &b = gb.builder();
      return gb.slice(t, {t0, b.getIndexAttr(0)},
                      {b.getIndexAttr(kTile), gb.dim(t, 1)}, 2);
    }

    /// fourier_integral: power Σ_c log|sinc(R_c (q_ic - k_jc))| per pair,
    /// as the forward lowering computes it (log|sin x| - log|x|, 0 at
    /// x = 0, -inf where sin x is exactly 0).
    Value logSincs(Value queryTile, Value keyTile) {
      OpFoldResult tile = gb.builder().getIndexAttr(kTile);
      return gb.logSincScores(
          queryTile, keyTile, scaleRow,
          gb.filled({tile, tile}, gb.builder().getF32Type(), 0.0), power,
          amplitude);
    }

    /// fourier_integral's contributions of a tile's dS (the cotangent of
    /// its log scores; 0 where a score is hidden or exactly 0) to dq, dk or
    /// dR: with x = R_c (q_ic - k_jc) and h(x) = d/dx log|sinc x|,
    ///   dq_ic += Σ_j dS_ij p R_c h(x)    (`into` [T, d], loops (i, c, j))
    ///   dk_jc -= Σ_i dS_ij p R_c h(x)    (`into` [T, d], loops (j, c, i))
    ///   dR_c  += Σ_ij dS_ij p (q_ic - k_jc) h(x)   (`into` [d])
    enum class Sinc { Query, Key, Scale };
    Value sincGradient(Sinc which, Value dS, Value queryTile, Value keyTile,
                       Value into) {
      float p = static_cast<float>(power);
      bool withAmplitude = amplitude;
      auto body = [p, which, withAmplitude](OpBuilder &nb, Location nl,
                                            ValueRange x) {
        // x: dS_ij, q_ic, k_jc, R_c, acc.
        auto c = [&](double value) {
          return arith::ConstantOp::create(
              nb, nl, nb.getF32FloatAttr(static_cast<float>(value)));
        };
        Value delta = arith::SubFOp::create(nb, nl, x[1], x[2]);
        Value arg = arith::MulFOp::create(nb, nl, x[3], delta);
        // h(x) = cot x - 1/x = (x cos x - sin x) / (x sin x); near 0 its
        // series (the direct form cancels there).
        Value x2 = arith::MulFOp::create(nb, nl, arg, arg);
        Value poly = arith::AddFOp::create(
            nb, nl, c(-1.0 / 45),
            arith::MulFOp::create(
                nb, nl, x2,
                arith::AddFOp::create(
                    nb, nl, c(-2.0 / 945),
                    arith::MulFOp::create(nb, nl, x2, c(-1.0 / 4725)))));
        Value series = arith::MulFOp::create(
            nb, nl, arg,
            arith::AddFOp::create(nb, nl, c(-1.0 / 3),
                                  arith::MulFOp::create(nb, nl, x2, poly)));
        Value sin = math::SinOp::create(nb, nl, arg);
        Value cos = math::CosOp::create(nb, nl, arg);
        Value direct = arith::DivFOp::create(
            nb, nl,
            arith::SubFOp::create(nb, nl,
                                  arith::MulFOp::create(nb, nl, arg, cos), sin),
            arith::MulFOp::create(nb, nl, arg, sin));
        Value small =
            arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OLT,
                                  math::AbsFOp::create(nb, nl, arg), c(0.5));
        Value h = arith::SelectOp::create(nb, nl, small, series, direct);
        Value factor = which == Sinc::Scale ? delta : x[3];
        Value slope = arith::MulFOp::create(nb, nl, factor, h);
        // amplitude_eps: d/dR_c of p log|R_c| too.
        if (which == Sinc::Scale && withAmplitude)
          slope = arith::AddFOp::create(
              nb, nl, slope, arith::DivFOp::create(nb, nl, c(1.0), x[3]));
        Value term = arith::MulFOp::create(
            nb, nl, x[0], arith::MulFOp::create(nb, nl, c(p), slope));
        // A hidden pair (dS = 0) may sit where h is infinite.
        Value hidden = arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OEQ,
                                             x[0], c(0.0));
        term = arith::SelectOp::create(nb, nl, hidden, c(0.0), term);
        if (which == Sinc::Key)
          return one(arith::SubFOp::create(nb, nl, x[4], term));
        return one(arith::AddFOp::create(nb, nl, x[4], term));
      };
      switch (which) {
      case Sinc::Query: // loops (i, c, j)
        return gb.generic1(ValueRange{dS, queryTile, keyTile, scaleRow}, into,
                           {gb.map(3, {0, 2}), gb.map(3, {0, 1}),
                            gb.map(3, {2, 1}), gb.map(3, {1}),
                            gb.map(3, {0, 1})},
                           StructuredBuilder::parallel(2, 1), body);
      case Sinc::Key: // loops (j, c, i)
        return gb.generic1(ValueRange{dS, queryTile, keyTile, scaleRow}, into,
                           {gb.map(3, {2, 0}), gb.map(3, {2, 1}),
                            gb.map(3, {0, 1}), gb.map(3, {1}),
                            gb.map(3, {0, 1})},
                           StructuredBuilder::parallel(2, 1), body);
      case Sinc::Scale: // loops (c, i, j)
        return gb.generic1(ValueRange{dS, queryTile, keyTile, scaleRow}, into,
                           {gb.map(3, {1, 2}), gb.map(3, {1, 0}),
                            gb.map(3, {2, 0}), gb.map(3, {0}), gb.map(3, {0})},
                           StructuredBuilder::parallel(1, 2), body);
      }
      llvm_unreachable("unknown sinc gradient");
    }

    Value mask(Value i0, Value j0) {
      Type f32 = gb.builder().getF32Type();
      OpFoldResult tile = gb.builder().getIndexAttr(kTile);
      return gb.matmulAccumulate(rows(phi, i0), rows(psi, j0),
                                 gb.filled({tile, tile}, f32, 0.0), false,
                                 true);
    }

    Value scores(Value queryTile, Value i0, Value j0) {
      OpBuilder &b = gb.builder();
      Location loc = gb.location();
      MLIRContext *context = b.getContext();
      Type f32 = b.getF32Type();
      OpFoldResult tile = b.getIndexAttr(kTile);
      Value products =
          scaleRow ? logSincs(queryTile, rows(keys, j0))
                   : gb.matmulAccumulate(queryTile, rows(keys, j0),
                                         gb.filled({tile, tile}, f32, 0.0),
                                         false, true);
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
      if (sequence) {
        inputs.push_back(gb.slice(sequence, {i0}, {tile}, 1));
        inputs.push_back(gb.slice(sequence, {j0}, {tile}, 1));
        maps.push_back(gb.map(2, {0}));
        maps.push_back(gb.map(2, {1}));
      }
      maps.push_back(gb.map(2, {0, 1}));
      // fourier_integral's log-domain scores take no temperature.
      float t = scaleRow ? 1.0f : temperature;
      bool withBias = static_cast<bool>(biasRow), isCausal = causal;
      bool packed = static_cast<bool>(sequence);
      Value count = keyCount;
      return gb.generic1(
          inputs, gb.empty({tile, tile}, f32), maps,
          StructuredBuilder::parallel(2),
          [&, t, withBias, isCausal, packed, count, i0,
           j0](OpBuilder &nb, Location nl, ValueRange x) {
            Value s = arith::MulFOp::create(
                nb, nl, x[0],
                arith::ConstantOp::create(nb, nl, nb.getF32FloatAttr(t)));
            unsigned next = 1;
            if (withBias)
              s = arith::AddFOp::create(nb, nl, s, x[next++]);
            Value j = arith::AddIOp::create(nb, nl, j0,
                                            linalg::IndexOp::create(nb, nl, 1));
            Value visible = arith::CmpIOp::create(
                nb, nl, arith::CmpIPredicate::ult, j, count);
            if (packed)
              visible = arith::AndIOp::create(
                  nb, nl, visible,
                  arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::eq,
                                        x[next], x[next + 1]));
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

  /// Elementwise over a [kTile, kTile] tile: body(scalars of `inputs`).
  static Value tileMap(GradientBuilder &gb, ValueRange inputs,
                       ArrayRef<AffineMap> inputMaps,
                       StructuredBuilder::BodyFn body) {
    SmallVector<AffineMap> maps(inputMaps);
    maps.push_back(gb.map(2, {0, 1}));
    OpFoldResult tile = gb.builder().getIndexAttr(kTile);
    return gb.generic1(inputs,
                       gb.empty({tile, tile}, gb.builder().getF32Type()), maps,
                       StructuredBuilder::parallel(2), body);
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
    Value phi = op.getPhi() ? gb.toF32(op.getPhi()) : Value();
    Value psi = op.getPsi() ? gb.toF32(op.getPsi()) : Value();
    Value lengths = op.getLengths(), cuSeqlens = op.getCuSeqlens();
    // fourier_integral (normalized form): the scores are log-domain sinc
    // products; everything else is softmax's.
    Value scale = op.getScale() ? gb.toF32(op.getScale()) : Value();
    bool fourier = op.getKernel() == PairKernel::FourierIntegral;
    bool amplitude =
        fourier && op.getFourierForm() == FourierForm::AmplitudeEps;
    float eps = op.getEps().convertToFloat();
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
    // Grouped k and v repeated to the query heads; lengths hide keys in the
    // scores below (zero keys would still score) and drop the padded rows'
    // cotangent (those rows are 0).
    GroupedPadding served(gb, q, k, v, g, grouped, /*lengths=*/Value());
    if (lengths)
      g = gb.zeroRowsFrom(g, lengths);

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
    OpFoldResult r = phi ? gb.dim(phi, 3) : OpFoldResult();
    OpFoldResult Lp, Sp;
    Value qPad = gb.padTokensToTiles(q, kTile, Lp);
    Value gPad = gb.padTokensToTiles(g, kTile, Lp);
    Value kPad = gb.padTokensToTiles(k, kTile, Sp);
    Value vPad = gb.padTokensToTiles(v, kTile, Sp);
    Value phiPad = phi ? gb.padTokensToTiles(phi, kTile, Lp) : Value();
    Value psiPad = psi ? gb.padTokensToTiles(psi, kTile, Sp) : Value();
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
    // Packed (B = 1, S = L): each token's sequence, -1 on the padding.
    Value sequencePad;
    if (cuSeqlens) {
      Type element =
          cast<RankedTensorType>(cuSeqlens.getType()).getElementType();
      sequencePad =
          gb.insert(gb.sequenceOfTokens(cuSeqlens, queries),
                    gb.filled({Lp}, element, -1.0), {zero}, {queries});
    }

    // The gradients per (batch, head): dq, dk, dv, then dphi and dpsi with
    // rpe, then db's row with a bias. dq and dphi are query-side (one tile
    // per query tile), the others key-side (accumulated over query tiles).
    enum Slot : unsigned { DQ, DK, DV };
    const unsigned DPHI = 3, DPSI = phi ? 4 : 3, DB = phi ? 5 : 3;
    const unsigned DR = DB + (bias ? 1 : 0);
    SmallVector<SmallVector<OpFoldResult>> shapes = {{Lp, d}, {Sp, d}, {Sp, e}};
    if (phi)
      shapes.append({{Lp, r}, {Sp, r}});
    if (bias)
      shapes.push_back({width});
    if (fourier)
      shapes.push_back({d});
    SmallVector<Value> inits;
    for (ArrayRef<OpFoldResult> shape : shapes) {
      SmallVector<OpFoldResult> sizes = {batch, H};
      sizes.append(shape.begin(), shape.end());
      inits.push_back(gb.filled(sizes, f32, 0.0));
    }
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
      Value deltaH = gb.slice(deltaPad, {bi, h, zero}, {unit, unit, Lp}, 1);
      Value keyCount = getValueOrCreateConstantIndexOp(b, loc, keysCount);
      if (lengths) {
        // min(max(n_b, 0), S): the kernels clamp the table the same way.
        Value n = arith::IndexCastOp::create(
            b, loc, b.getIndexType(),
            tensor::ExtractOp::create(b, loc, lengths, ValueRange{bi}));
        n = arith::MaxSIOp::create(b, loc, n, zeroIndex);
        keyCount = arith::MinUIOp::create(b, loc, n, keyCount);
      }
      Value biasRow;
      if (bias) {
        // One bias row for every head when the op has one.
        Value last = arith::SubIOp::create(
            b, loc, getValueOrCreateConstantIndexOp(b, loc, biasHeads),
            arith::ConstantIndexOp::create(b, loc, 1));
        Value hb = arith::MinUIOp::create(b, loc, h, last);
        biasRow = gb.slice(biasPad, {hb, zero}, {unit, width}, 1);
      }
      Tiles tiles{gb,
                  head(kPad, Sp),
                  biasRow,
                  sequencePad,
                  phi ? head(phiPad, Lp) : Value(),
                  psi ? head(psiPad, Sp) : Value(),
                  lp,
                  keyCount,
                  temperature,
                  causal,
                  fourier ? gb.slice(scale, {h, zero}, {unit, d}, 1) : Value(),
                  static_cast<int64_t>(op.getPower()),
                  amplitude};
      Value vh = head(vPad, Sp);
      SmallVector<Value> headInits;
      for (ArrayRef<OpFoldResult> shape : shapes)
        headInits.push_back(gb.filled(shape, f32, 0.0));
      auto queryLoop = scf::ForOp::create(
          b, loc, zeroIndex, lp, step, headInits,
          [&](OpBuilder &, Location, Value i0, ValueRange acc) {
            Value qI = tiles.rows(qh, i0), gI = tiles.rows(gh, i0);
            Value deltaI = gb.slice(deltaH, {i0}, {tile}, 1);
            Value keyEnd = sp;
            if (causal)
              keyEnd = arith::MinUIOp::create(
                  b, loc, sp, arith::AddIOp::create(b, loc, i0, step));
            // Pass 1: the rows' running max m of the scores and sum l of
            // exp(s - m) (times M with rpe).
            SmallVector<Value> stats = {
                gb.filled({tile}, f32,
                          -std::numeric_limits<double>::infinity()),
                gb.filled({tile}, f32, 0.0)};
            auto statsLoop = scf::ForOp::create(
                b, loc, zeroIndex, keyEnd, step, stats,
                [&](OpBuilder &, Location, Value j0, ValueRange ml) {
                  Value S = tiles.scores(qI, i0, j0);
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
                  // l := l exp(m - m') + Σ_j exp(s - m') M, m' = max(m,
                  // rowMax): rescale, add, then move m (both read the old m
                  // first).
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
                  SmallVector<Value> inputs = {S, ml[0], rowMax};
                  SmallVector<AffineMap> maps = {
                      gb.map(2, {0, 1}), gb.map(2, {0}), gb.map(2, {0})};
                  if (phi) {
                    inputs.push_back(tiles.mask(i0, j0));
                    maps.push_back(gb.map(2, {0, 1}));
                  }
                  maps.push_back(gb.map(2, {0}));
                  bool masked = static_cast<bool>(phi);
                  Value l = gb.generic1(
                      inputs, rescaled, maps, StructuredBuilder::parallel(1, 1),
                      [masked](OpBuilder &nb, Location nl, ValueRange x) {
                        Value next =
                            arith::MaximumFOp::create(nb, nl, x[1], x[2]);
                        Value term = expShifted(nb, nl, x[0], next);
                        if (masked)
                          term = arith::MulFOp::create(nb, nl, term, x[3]);
                        return one(
                            arith::AddFOp::create(nb, nl, x.back(), term));
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
            // amplitude_eps divides by Σ s + eps: lse = log(e^(m + log l) +
            // eps), as max + log1p(exp(-|difference|)).
            float logEps = std::log(std::max(eps, 1e-38f));
            Value lse = gb.map(
                ValueRange{statsLoop.getResult(0), statsLoop.getResult(1)},
                statsLoop.getResult(0),
                [&, logEps](OpBuilder &nb, Location nl, ValueRange x) {
                  Value sum = arith::AddFOp::create(
                      nb, nl, x[0], math::LogOp::create(nb, nl, x[1]));
                  if (!amplitude)
                    return one(sum);
                  Value floor = arith::ConstantOp::create(
                      nb, nl, nb.getF32FloatAttr(logEps));
                  Value top = arith::MaximumFOp::create(nb, nl, sum, floor);
                  Value gap = math::AbsFOp::create(
                      nb, nl, arith::SubFOp::create(nb, nl, sum, floor));
                  Value rest = math::Log1pOp::create(
                      nb, nl,
                      math::ExpOp::create(nb, nl,
                                          arith::NegFOp::create(nb, nl, gap)));
                  // sum = -inf: gap = inf, rest = 0.
                  return one(arith::AddFOp::create(nb, nl, top, rest));
                });
            // Pass 2: P, dS, and the gradients. The query-side ones start
            // from zero tiles, the key-side ones carry on.
            SmallVector<Value> grads = {gb.filled({tile, d}, f32, 0.0), acc[DK],
                                        acc[DV]};
            if (phi)
              grads.append({gb.filled({tile, r}, f32, 0.0), acc[DPSI]});
            if (bias)
              grads.push_back(acc[DB]);
            if (fourier)
              grads.push_back(acc[DR]);
            auto gradLoop = scf::ForOp::create(
                b, loc, zeroIndex, keyEnd, step, grads,
                [&](OpBuilder &, Location, Value j0, ValueRange gr) {
                  Value S = tiles.scores(qI, i0, j0);
                  // E = exp(s - lse); P = E M (E without rpe). A row with
                  // lse = -inf sees nothing (with rpe: a padding row, whose
                  // phi is 0): E = 0 there.
                  Value E = tileMap(
                      gb, ValueRange{S, lse},
                      {gb.map(2, {0, 1}), gb.map(2, {0})},
                      [](OpBuilder &nb, Location nl, ValueRange x) {
                        Value none = arith::CmpFOp::create(
                            nb, nl, arith::CmpFPredicate::OEQ, x[1],
                            arith::ConstantOp::create(
                                nb, nl,
                                nb.getF32FloatAttr(
                                    -std::numeric_limits<float>::infinity())));
                        return one(arith::SelectOp::create(
                            nb, nl, none,
                            arith::ConstantOp::create(nb, nl,
                                                      nb.getF32FloatAttr(0)),
                            expShifted(nb, nl, x[0], x[1])));
                      });
                  Value M = phi ? tiles.mask(i0, j0) : Value();
                  Value P = E;
                  if (phi)
                    P = tileMap(
                        gb, ValueRange{E, M},
                        {gb.map(2, {0, 1}), gb.map(2, {0, 1})},
                        [](OpBuilder &nb, Location nl, ValueRange x) {
                          return one(arith::MulFOp::create(nb, nl, x[0], x[1]));
                        });
                  Value kJ = tiles.rows(tiles.keys, j0),
                        vJ = tiles.rows(vh, j0);
                  SmallVector<Value> next(gr.begin(), gr.end());
                  // dv_J += Pᵀ g_I.
                  Value dvJ = gb.matmulAccumulate(
                      P, gI, gb.slice(gr[DV], {j0, zero}, {tile, e}, 2), true,
                      false);
                  next[DV] = gb.insert(dvJ, gr[DV], {j0, zero}, {tile, e});
                  // c = g_I v_Jᵀ - δ_I; dS = P c, dM = E c.
                  Value dP = gb.matmulAccumulate(
                      gI, vJ, gb.filled({tile, tile}, f32, 0.0), false, true);
                  Value c = tileMap(
                      gb, ValueRange{dP, deltaI},
                      {gb.map(2, {0, 1}), gb.map(2, {0})},
                      [](OpBuilder &nb, Location nl, ValueRange x) {
                        return one(arith::SubFOp::create(nb, nl, x[0], x[1]));
                      });
                  auto times = [&](Value x) {
                    return tileMap(
                        gb, ValueRange{x, c},
                        {gb.map(2, {0, 1}), gb.map(2, {0, 1})},
                        [](OpBuilder &nb, Location nl, ValueRange y) {
                          return one(arith::MulFOp::create(nb, nl, y[0], y[1]));
                        });
                  };
                  Value dS = times(P);
                  Value dkJ = gb.slice(gr[DK], {j0, zero}, {tile, d}, 2);
                  if (fourier) {
                    using Sinc = Tiles::Sinc;
                    next[DQ] =
                        tiles.sincGradient(Sinc::Query, dS, qI, kJ, gr[DQ]);
                    dkJ = tiles.sincGradient(Sinc::Key, dS, qI, kJ, dkJ);
                    next[DR] =
                        tiles.sincGradient(Sinc::Scale, dS, qI, kJ, gr[DR]);
                  } else {
                    // dq_I += dS k_J, dk_J += dSᵀ q_I (times t at the end).
                    next[DQ] =
                        gb.matmulAccumulate(dS, kJ, gr[DQ], false, false);
                    dkJ = gb.matmulAccumulate(dS, qI, dkJ, true, false);
                  }
                  next[DK] = gb.insert(dkJ, gr[DK], {j0, zero}, {tile, d});
                  if (phi) {
                    // dphi_I += dM psi_J, dpsi_J += dMᵀ phi_I.
                    Value dM = times(E);
                    next[DPHI] = gb.matmulAccumulate(
                        dM, tiles.rows(tiles.psi, j0), gr[DPHI], false, false);
                    Value dpsiJ = gb.matmulAccumulate(
                        dM, tiles.rows(tiles.phi, i0),
                        gb.slice(gr[DPSI], {j0, zero}, {tile, r}, 2), true,
                        false);
                    next[DPSI] =
                        gb.insert(dpsiJ, gr[DPSI], {j0, zero}, {tile, r});
                  }
                  if (bias) {
                    Value offset = arith::SubIOp::create(
                        b, loc,
                        arith::AddIOp::create(
                            b, loc, j0,
                            arith::SubIOp::create(b, loc, lp, step)),
                        i0);
                    next[DB] = gb.addDiagonals(gr[DB], dS, offset);
                  }
                  scf::YieldOp::create(b, loc, next);
                });
            SmallVector<Value> next(gradLoop.getResults());
            next[DQ] = gb.insert(next[DQ], acc[DQ], {i0, zero}, {tile, d});
            if (phi)
              next[DPHI] =
                  gb.insert(next[DPHI], acc[DPHI], {i0, zero}, {tile, r});
            scf::YieldOp::create(b, loc, next);
          });
      b.setInsertionPointToStart(forall.getTerminator().getBody());
      for (auto [index, shape] : llvm::enumerate(shapes)) {
        SmallVector<OpFoldResult> offsets = {bi, h}, sizes = {unit, unit};
        offsets.append(shape.size(), zero);
        sizes.append(shape.begin(), shape.end());
        SmallVector<OpFoldResult> strides(offsets.size(), unit);
        tensor::ParallelInsertSliceOp::create(
            b, loc, queryLoop.getResult(index),
            forall.getRegionIterArgs()[index], offsets, sizes, strides);
      }
    }

    auto scaled = [&](Value x) {
      if (fourier) // the log-domain scores have no temperature
        return x;
      Value t = gb.f32(temperature);
      return gb.map(ValueRange{x}, x,
                    [&](OpBuilder &nb, Location nl, ValueRange y) {
                      return one(arith::MulFOp::create(nb, nl, y[0], t));
                    });
    };
    auto unpadded = [&](unsigned slot, OpFoldResult tokens) {
      Value x = forall.getResult(slot);
      return gb.slice(x, {zero, zero, zero, zero},
                      {batch, H, tokens, gb.dim(x, 3)}, 4);
    };
    SmallVector<Value> grads(op->getNumOperands());
    auto at = [&](unsigned group) {
      return operandIndex(op.getODSOperandIndexAndLength(group));
    };
    if (needed[*at(0)])
      grads[*at(0)] =
          gb.castTo(scaled(unpadded(DQ, queries)), op.getQ().getType());
    if (needed[*at(1)])
      grads[*at(1)] =
          gb.castTo(served.keyGradient(scaled(unpadded(DK, keysCount))),
                    op.getK().getType());
    if (needed[*at(2)])
      grads[*at(2)] = gb.castTo(served.valueGradient(unpadded(DV, keysCount)),
                                op.getV().getType());
    if (phi && needed[*at(5)])
      grads[*at(5)] = gb.castTo(unpadded(DPHI, queries), op.getPhi().getType());
    if (psi && needed[*at(6)])
      grads[*at(6)] =
          gb.castTo(unpadded(DPSI, keysCount), op.getPsi().getType());
    if (fourier && needed[*at(3)]) {
      // dR [H, d]: Σ over the batch.
      Value rows = forall.getResult(DR);
      Value dR =
          gb.sum(ValueRange{rows}, {{0, 1, 2}}, gb.dims(rows), {0},
                 [](OpBuilder &, Location, ValueRange x) { return one(x[0]); });
      grads[*at(3)] = gb.castTo(dR, op.getScale().getType());
    }
    if (bias && needed[*at(4)]) {
      // Σ over the batch (and the heads, for one shared bias row), then the
      // op's columns.
      Value rows = forall.getResult(DB);
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
      return softmaxVJP(op, gb, cotangents, needed);
    case PairKernel::FourierIntegral:
      return softmaxVJP(op, gb, cotangents, needed);
    }
    llvm_unreachable("unknown pair kernel");
  }
};

} // namespace

void mlir::flt::gradients::attachKernelAttentionGradient(MLIRContext *context) {
  KernelAttentionOp::attachInterface<KernelAttentionGradient>(*context);
}
