//===- LinearAttentionGrad.cpp - flt.linear_attention_grad, fused ---------===//
//
// The fused backward of non-causal linear attention (docs/Design.md §4,
// docs/Semantics.md §4), per (batch, head), in three passes over tiles of
// tokens. With Q'_i = fq_i ⊗ phi_i and K'_j = fk_j ⊗ psi_j (never formed
// beyond one [r × tokens] block of one feature p), n_i = T_vᵀ Q'_i,
// den_i = z · Q'_i and o_i = n_i / den_i:
//
//   1. keys     T_v = Σ_j K'_j v_jᵀ  ([m, r, e]),   z = Σ_j K'_j  ([m, r])
//   2. queries  U_i = T_v g_i  (one [r × tokens] block per feature p),
//               W_ip = Σ_c phi_ic U_i[p, c],   Y_i = Σ_p fq_ip U_i[p, :],
//               g_i·n_i = Σ_p fq_ip W_ip,  dD_i = -g_i·n_i / den_i²,
//               dfq_i  = W_i / den_i + dD_i (z phi_i),
//               dphi_i = Y_i / den_i + dD_i (zᵀ fq_i),
//               dT_v += Q'_i g_iᵀ / den_i,   dz += Q'_i dD_i
//   3. keys     dK'_j = dT_v v_j + dz  (one [r × tokens] block per p),
//               dfk_j, dpsi_j from it as dfq, dphi from U,
//               dv_j = dT_vᵀ K'_j
//
// (den, dD by the normalization: with none, den = 1 and dD = 0.) U, W and Y
// contract the cotangent with the state one feature at a time, so dQ' = U /
// den + z dD is never formed and n_i is never recomputed: five products of
// the forward's size per token where the forward does two.
//
// The token tiles are transposed ([features × tokens]) inside the passes:
// the sums over c and p (W, Y, den, g·n) then run across rows, lane by lane
// along the tokens, and every product is a plain register-tiled contraction
// with the states in their natural [m, r, e] layout. e has no ones column
// (z is its own state), so e = 64 pads to nothing.
//
// Without rpe the same passes run with r = 1 and phi = 1 on all m features
// at once: U = W is [m × tokens] and there is no Y.
//
// Each (b, h) iteration writes its rows straight into its slices of the
// results (the scf.forall's shared outputs), not into per-head buffers
// copied afterwards: at L = 16384 that copy and its fresh pages were a
// sixth of the time.
//
// Tiles are zero-padded to static shapes (m, r and e must be static:
// flt-select-algorithm decomposes the op otherwise), rounded up to the
// register tile in both directions; a padded token has zero features and
// zero cotangent, and its 1 / den and dD are set to zero so that an
// eps = 0 division cannot turn it into NaN.
//
//===----------------------------------------------------------------------===//

#include "LinearAttentionLowering.h"

#include "flt/Conversion/FLTToLinalg/FLTToLinalg.h"
#include "flt/Conversion/FLTToLinalg/LoweringUtils.h"
#include "flt/Dialect/FLT/IR/FLTOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <numeric>

using namespace mlir;
using namespace mlir::flt;
using mlir::flt::detail::multiply;
using mlir::flt::detail::multiplyAdd;

namespace {

using IteratorTypes = SmallVector<utils::IteratorType>;
constexpr auto kParallel = utils::IteratorType::parallel;
constexpr auto kReduction = utils::IteratorType::reduction;

/// The body of x · s + y · u.
SmallVector<Value> sumOfProducts(OpBuilder &bb, Location bl, ValueRange args) {
  Value first = arith::MulFOp::create(bb, bl, args[0], args[1]);
  Value second = arith::MulFOp::create(bb, bl, args[2], args[3]);
  return {arith::AddFOp::create(bb, bl, first, second)};
}

class LinearAttentionGradLowering {
public:
  LinearAttentionGradLowering(LinearAttentionGradOp op, RewriterBase &rewriter,
                              const LinearAttentionLoweringOptions &options)
      : op(op), b(rewriter), loc(op.getLoc()), sb(rewriter, loc),
        tile(options.tokenTile), options(options), f32(rewriter.getF32Type()) {}

  FailureOr<SmallVector<Value>> lower();

private:
  bool hasRpe() { return static_cast<bool>(op.getPhi()); }
  bool normalized() { return op.getNormalize() != Normalize::None; }

  // Tiles. A token tile is [tile, padded] f32, zero beyond `tokens` rows and
  // `width` columns; its transpose is [padded, tile].
  Value tokenTile(OpBuilder &nb, Value tensor, Value start, OpFoldResult tokens,
                  int64_t width, int64_t padded) {
    return paddedTokenTile(nb, loc, tensor, batch, head, start, tokens,
                           nb.getIndexAttr(0), nb.getIndexAttr(width), tile,
                           padded);
  }
  Value transposed(OpBuilder &nb, Value x);
  /// Row p of a [rows, tile] tile, as [tile], and its insertion back.
  Value row(OpBuilder &nb, Value x, Value p);
  Value insertRow(OpBuilder &nb, Value rowValue, Value x, Value p);
  /// The [rP, eP] block p of a state [m, rP, eP], and its insertion back.
  Value stateBlock(OpBuilder &nb, Value state, Value p);
  Value insertStateBlock(OpBuilder &nb, Value block, Value state, Value p);
  /// The [tokens, width] corner of the transpose of a [padded, tile] tile.
  Value rowsOfTransposed(OpBuilder &nb, Value tileT, OpFoldResult tokens,
                         int64_t width);

  // Per-token arithmetic on transposed tiles x, y [rows, tile] and per-token
  // vectors s, u [tile].
  /// acc[t] + Σ_c x[c, t] y[c, t].
  Value addColumnDot(OpBuilder &nb, Value acc, Value x, Value y);
  Value columnDot(OpBuilder &nb, Value x, Value y) {
    return addColumnDot(
        nb,
        StructuredBuilder(nb, loc).filled({nb.getIndexAttr(tile)}, f32, 0.0), x,
        y);
  }
  /// A zero [rows, tile] tile, built by `nb` (the loop whose iterations
  /// write it: a zero tile from outside would be copied every iteration).
  Value zeros(OpBuilder &nb, int64_t rows) {
    return StructuredBuilder(nb, loc).filled(
        {nb.getIndexAttr(rows), nb.getIndexAttr(tile)}, f32, 0.0);
  }
  /// x[c, t] s[t], and acc[c, t] + x[c, t] s[t].
  Value scaled(OpBuilder &nb, Value x, Value s);
  Value addScaled(OpBuilder &nb, Value acc, Value x, Value s);
  /// x[c, t] s[t] + y[c, t] u[t].
  Value scaledSum(OpBuilder &nb, Value x, Value s, Value y, Value u);
  /// The row of Q' (or K') for feature p: positionalT[c, t] fT[p, t].
  Value kroneckerBlock(OpBuilder &nb, Value featuresT, Value p,
                       Value positionalT) {
    return scaled(nb, positionalT, row(nb, featuresT, p));
  }
  /// 1 / den per token (0 on padded tokens), from den [tile].
  Value inverseDenominator(OpBuilder &nb, Value den, Value valid);
  /// dD = -(g·n) / den² per token (0 on padded tokens and where the guarded
  /// normalization did not divide).
  Value denominatorGradient(OpBuilder &nb, Value gn, Value den, Value inverse,
                            Value valid);

  /// The passes for one (b, h); per-(b, h) results [L or S, width] in the
  /// order of the op's results.
  SmallVector<Value> perHead(OpBuilder &nb);
  /// Returns (T_v, z or null).
  std::pair<Value, Value> statePass(OpBuilder &nb);
  /// Returns (dT_v, dz or null, dfq [L, m], dphi [L, r] or null).
  std::tuple<Value, Value, Value, Value> queryPass(OpBuilder &nb, Value state,
                                                   Value norm);
  /// Returns (dfk [S, m], dv [S, e], dpsi [S, r] or null).
  std::tuple<Value, Value, Value> keyPass(OpBuilder &nb, Value dState,
                                          Value dNorm);

  LinearAttentionGradOp op;
  OpBuilder &b;
  Location loc;
  StructuredBuilder sb;
  int64_t tile;
  LinearAttentionLoweringOptions options;
  Type f32;

  // Static sizes and their padded widths: m features of r positional
  // features each (r = 1 without rpe), e value columns.
  int64_t m = 0, r = 1, e = 0, mP = 0, rP = 1, eP = 0;
  OpFoldResult L, S;
  Value batch, head;
  /// (b, h)'s [L or S, width] slices of the results (dfq, dfk, dv, dphi,
  /// dpsi): the passes write their rows there, in place.
  SmallVector<Value> destinations;
};

Value LinearAttentionGradLowering::transposed(OpBuilder &nb, Value x) {
  StructuredBuilder tb(nb, loc);
  auto type = cast<RankedTensorType>(x.getType());
  return tb.generic1(x,
                     tb.empty({nb.getIndexAttr(type.getDimSize(1)),
                               nb.getIndexAttr(type.getDimSize(0))},
                              f32),
                     {tb.map(2, {1, 0}), tb.map(2, {0, 1})},
                     StructuredBuilder::parallel(2),
                     [](OpBuilder &, Location, ValueRange args) {
                       return SmallVector<Value>{args[0]};
                     });
}

Value LinearAttentionGradLowering::row(OpBuilder &nb, Value x, Value p) {
  return StructuredBuilder(nb, loc).slice(
      x, {p, nb.getIndexAttr(0)}, {nb.getIndexAttr(1), nb.getIndexAttr(tile)},
      1);
}

Value LinearAttentionGradLowering::insertRow(OpBuilder &nb, Value rowValue,
                                             Value x, Value p) {
  return StructuredBuilder(nb, loc).insert(
      rowValue, x, {p, nb.getIndexAttr(0)},
      {nb.getIndexAttr(1), nb.getIndexAttr(tile)});
}

Value LinearAttentionGradLowering::stateBlock(OpBuilder &nb, Value state,
                                              Value p) {
  return StructuredBuilder(nb, loc).slice(
      state, {p, nb.getIndexAttr(0), nb.getIndexAttr(0)},
      {nb.getIndexAttr(1), nb.getIndexAttr(rP), nb.getIndexAttr(eP)}, 2);
}

Value LinearAttentionGradLowering::insertStateBlock(OpBuilder &nb, Value block,
                                                    Value state, Value p) {
  return StructuredBuilder(nb, loc).insert(
      block, state, {p, nb.getIndexAttr(0), nb.getIndexAttr(0)},
      {nb.getIndexAttr(1), nb.getIndexAttr(rP), nb.getIndexAttr(eP)});
}

Value LinearAttentionGradLowering::rowsOfTransposed(OpBuilder &nb, Value tileT,
                                                    OpFoldResult tokens,
                                                    int64_t width) {
  return StructuredBuilder(nb, loc).slice(
      transposed(nb, tileT), {nb.getIndexAttr(0), nb.getIndexAttr(0)},
      {tokens, nb.getIndexAttr(width)}, 2);
}

Value LinearAttentionGradLowering::addColumnDot(OpBuilder &nb, Value acc,
                                                Value x, Value y) {
  // Loops (c, t): the sum runs over the outer loop, lanes along tokens.
  StructuredBuilder tb(nb, loc);
  return tb.generic1(ValueRange{x, y}, acc,
                     {tb.map(2, {0, 1}), tb.map(2, {0, 1}), tb.map(2, {1})},
                     IteratorTypes{kReduction, kParallel}, multiplyAdd);
}

Value LinearAttentionGradLowering::scaled(OpBuilder &nb, Value x, Value s) {
  StructuredBuilder tb(nb, loc);
  auto type = cast<RankedTensorType>(x.getType());
  return tb.generic1(
      ValueRange{x, s},
      tb.empty({nb.getIndexAttr(type.getDimSize(0)), nb.getIndexAttr(tile)},
               f32),
      {tb.map(2, {0, 1}), tb.map(2, {1}), tb.map(2, {0, 1})},
      StructuredBuilder::parallel(2), multiply);
}

Value LinearAttentionGradLowering::addScaled(OpBuilder &nb, Value acc, Value x,
                                             Value s) {
  StructuredBuilder tb(nb, loc);
  return tb.generic1(ValueRange{x, s}, acc,
                     {tb.map(2, {0, 1}), tb.map(2, {1}), tb.map(2, {0, 1})},
                     StructuredBuilder::parallel(2), multiplyAdd);
}

Value LinearAttentionGradLowering::scaledSum(OpBuilder &nb, Value x, Value s,
                                             Value y, Value u) {
  StructuredBuilder tb(nb, loc);
  auto type = cast<RankedTensorType>(x.getType());
  return tb.generic1(
      ValueRange{x, s, y, u},
      tb.empty({nb.getIndexAttr(type.getDimSize(0)), nb.getIndexAttr(tile)},
               f32),
      {tb.map(2, {0, 1}), tb.map(2, {1}), tb.map(2, {0, 1}), tb.map(2, {1}),
       tb.map(2, {0, 1})},
      StructuredBuilder::parallel(2), sumOfProducts);
}

Value LinearAttentionGradLowering::inverseDenominator(OpBuilder &nb, Value den,
                                                      Value valid) {
  StructuredBuilder tb(nb, loc);
  Normalize normalize = op.getNormalize();
  float eps = op.getEps().convertToFloat();
  return tb.generic1(
      den, tb.empty({nb.getIndexAttr(tile)}, f32),
      {tb.map(1, {0}), tb.map(1, {0})}, StructuredBuilder::parallel(1),
      [&](OpBuilder &bb, Location bl, ValueRange args) {
        auto c = [&](double x) -> Value {
          return arith::ConstantOp::create(bb, bl, bb.getF32FloatAttr(x));
        };
        Value d = args[0];
        if (normalize == Normalize::Divide)
          d = arith::AddFOp::create(bb, bl, d, c(eps));
        if (normalize == Normalize::Guarded)
          d = arith::SelectOp::create(
              bb, bl,
              arith::CmpFOp::create(bb, bl, arith::CmpFPredicate::OGT, d, c(0)),
              d, c(1));
        Value inside =
            arith::CmpIOp::create(bb, bl, arith::CmpIPredicate::ult,
                                  linalg::IndexOp::create(bb, bl, 0), valid);
        return SmallVector<Value>{arith::SelectOp::create(
            bb, bl, inside, arith::DivFOp::create(bb, bl, c(1), d), c(0))};
      });
}

Value LinearAttentionGradLowering::denominatorGradient(OpBuilder &nb, Value gn,
                                                       Value den, Value inverse,
                                                       Value valid) {
  StructuredBuilder tb(nb, loc);
  bool guarded = op.getNormalize() == Normalize::Guarded;
  return tb.generic1(
      ValueRange{gn, den, inverse}, tb.empty({nb.getIndexAttr(tile)}, f32),
      {tb.map(1, {0}), tb.map(1, {0}), tb.map(1, {0}), tb.map(1, {0})},
      StructuredBuilder::parallel(1),
      [&](OpBuilder &bb, Location bl, ValueRange args) {
        Value zero = arith::ConstantOp::create(bb, bl, bb.getF32FloatAttr(0));
        Value grad = arith::NegFOp::create(
            bb, bl,
            arith::MulFOp::create(
                bb, bl, args[0],
                arith::MulFOp::create(bb, bl, args[2], args[2])));
        Value keep =
            arith::CmpIOp::create(bb, bl, arith::CmpIPredicate::ult,
                                  linalg::IndexOp::create(bb, bl, 0), valid);
        if (guarded)
          keep = arith::AndIOp::create(
              bb, bl, keep,
              arith::CmpFOp::create(bb, bl, arith::CmpFPredicate::OGT, args[1],
                                    zero));
        return SmallVector<Value>{
            arith::SelectOp::create(bb, bl, keep, grad, zero)};
      });
}

std::pair<Value, Value> LinearAttentionGradLowering::statePass(OpBuilder &nb) {
  // T_v [m, rP, eP] ([mP, eP] without rpe), z [mP, rP] ([mP] without rpe).
  Value state = hasRpe() ? sb.filled({nb.getIndexAttr(m), nb.getIndexAttr(rP),
                                      nb.getIndexAttr(eP)},
                                     f32, 0.0)
                         : sb.filled({nb.getIndexAttr(mP), nb.getIndexAttr(eP)},
                                     f32, 0.0);
  SmallVector<Value> inits = {state};
  if (normalized())
    inits.push_back(
        hasRpe()
            ? sb.filled({nb.getIndexAttr(mP), nb.getIndexAttr(rP)}, f32, 0.0)
            : sb.filled({nb.getIndexAttr(mP)}, f32, 0.0));
  Value end = getValueOrCreateConstantIndexOp(nb, loc, S);
  auto keys = scf::ForOp::create(
      nb, loc, sb.index(0), end, sb.index(tile), inits,
      [&](OpBuilder &lb, Location, Value j0, ValueRange iter) {
        StructuredBuilder ib(lb, loc);
        OpFoldResult tokens = flt::tileSize(lb, loc, tile, j0, S);
        Value fkTile = tokenTile(lb, op.getFk(), j0, tokens, m, mP);
        Value vTile = tokenTile(lb, op.getV(), j0, tokens, e, eP);
        SmallVector<Value> yielded;
        if (!hasRpe()) {
          // T_v += fkᵀ v; z[p] += Σ_t fk[t, p].
          yielded.push_back(ib.matmulAccumulate(fkTile, vTile, iter[0],
                                                /*transposeA=*/true,
                                                /*transposeB=*/false));
          if (normalized())
            yielded.push_back(ib.generic1(
                fkTile, iter[1], {ib.map(2, {0, 1}), ib.map(2, {1})},
                IteratorTypes{kReduction, kParallel},
                [](OpBuilder &bb, Location bl, ValueRange args) {
                  return SmallVector<Value>{
                      arith::AddFOp::create(bb, bl, args[1], args[0])};
                }));
          scf::YieldOp::create(lb, loc, yielded);
          return;
        }
        Value psiTile = tokenTile(lb, op.getPsi(), j0, tokens, r, rP);
        Value fkT = transposed(lb, fkTile), psiT = transposed(lb, psiTile);
        // T_v[p] += K'_pᵀ v, one feature p at a time.
        auto features = scf::ForOp::create(
            lb, loc, ib.index(0), ib.index(m), ib.index(1), ValueRange{iter[0]},
            [&](OpBuilder &fb, Location, Value p, ValueRange fiter) {
              Value block = kroneckerBlock(fb, fkT, p, psiT);
              Value tp = StructuredBuilder(fb, loc).matmulAccumulate(
                  block, vTile, stateBlock(fb, fiter[0], p),
                  /*transposeA=*/false, /*transposeB=*/false);
              scf::YieldOp::create(fb, loc,
                                   insertStateBlock(fb, tp, fiter[0], p));
            });
        yielded.push_back(features.getResult(0));
        // z += fkᵀ psi.
        if (normalized())
          yielded.push_back(ib.matmulAccumulate(fkT, psiTile, iter[1],
                                                /*transposeA=*/false,
                                                /*transposeB=*/false));
        scf::YieldOp::create(lb, loc, yielded);
      });
  return {keys.getResult(0), normalized() ? keys.getResult(1) : Value()};
}

std::tuple<Value, Value, Value, Value>
LinearAttentionGradLowering::queryPass(OpBuilder &nb, Value state, Value norm) {
  SmallVector<Value> inits = {sb.filled(sb.dims(state), f32, 0.0)};
  if (norm)
    inits.push_back(sb.filled(sb.dims(norm), f32, 0.0));
  unsigned dfqIndex = inits.size();
  inits.push_back(destinations[0]);
  if (hasRpe())
    inits.push_back(destinations[3]);
  Value end = getValueOrCreateConstantIndexOp(nb, loc, L);
  auto queries = scf::ForOp::create(
      nb, loc, sb.index(0), end, sb.index(tile), inits,
      [&](OpBuilder &lb, Location, Value i0, ValueRange iter) {
        StructuredBuilder ib(lb, loc);
        OpFoldResult tokens = flt::tileSize(lb, loc, tile, i0, L);
        Value valid = getValueOrCreateConstantIndexOp(lb, loc, tokens);
        Value fqT =
            transposed(lb, tokenTile(lb, op.getFq(), i0, tokens, m, mP));
        Value phiTile =
            hasRpe() ? tokenTile(lb, op.getPhi(), i0, tokens, r, rP) : Value();
        Value phiT = hasRpe() ? transposed(lb, phiTile) : Value();
        Value gTile = tokenTile(lb, op.getCotangent(), i0, tokens, e, eP);
        Value gT = transposed(lb, gTile);

        // den = Q'·z per token, through zq = zᵀ fq ([rP, tile]) with rpe;
        // the dT_v products read g / den.
        Value zq, den, inverse, ga = gTile;
        if (norm) {
          if (hasRpe()) {
            zq = ib.matmulAccumulate(norm, fqT, zeros(lb, rP),
                                     /*transposeA=*/true,
                                     /*transposeB=*/false);
            den = columnDot(lb, phiT, zq);
          } else {
            den =
                ib.generic1(ValueRange{fqT, norm},
                            ib.filled({lb.getIndexAttr(tile)}, f32, 0.0),
                            {ib.map(2, {0, 1}), ib.map(2, {0}), ib.map(2, {1})},
                            IteratorTypes{kReduction, kParallel}, multiplyAdd);
          }
          inverse = inverseDenominator(lb, den, valid);
          ga = ib.generic1(
              ValueRange{gTile, inverse},
              ib.empty({lb.getIndexAttr(tile), lb.getIndexAttr(eP)}, f32),
              {ib.map(2, {0, 1}), ib.map(2, {0}), ib.map(2, {0, 1})},
              StructuredBuilder::parallel(2), multiply);
        }

        // W (and Y) from U = T_v g, and dT_v += Q' (g / den)ᵀ.
        Value dState = iter[0], W, Y;
        if (!hasRpe()) {
          W = ib.matmulAccumulate(state, gT, zeros(lb, mP),
                                  /*transposeA=*/false,
                                  /*transposeB=*/false);
          dState = ib.matmulAccumulate(fqT, ga, dState, /*transposeA=*/false,
                                       /*transposeB=*/false);
        } else {
          auto features = scf::ForOp::create(
              lb, loc, ib.index(0), ib.index(m), ib.index(1),
              ValueRange{dState, zeros(lb, mP), zeros(lb, rP)},
              [&](OpBuilder &fb, Location, Value p, ValueRange fiter) {
                StructuredBuilder pb(fb, loc);
                Value up =
                    pb.matmulAccumulate(stateBlock(fb, state, p), gT,
                                        zeros(fb, rP), /*transposeA=*/false,
                                        /*transposeB=*/false);
                Value w = insertRow(
                    fb, addColumnDot(fb, row(fb, fiter[1], p), phiT, up),
                    fiter[1], p);
                Value y = addScaled(fb, fiter[2], up, row(fb, fqT, p));
                Value block = kroneckerBlock(fb, fqT, p, phiT);
                Value dtp =
                    pb.matmulAccumulate(block, ga, stateBlock(fb, fiter[0], p),
                                        /*transposeA=*/false,
                                        /*transposeB=*/false);
                scf::YieldOp::create(
                    fb, loc,
                    ValueRange{insertStateBlock(fb, dtp, fiter[0], p), w, y});
              });
          dState = features.getResult(0);
          W = features.getResult(1);
          Y = features.getResult(2);
        }

        // dfq, dphi and dz.
        SmallVector<Value> yielded = {dState};
        Value dfqT = W, dphiT = Y;
        if (norm) {
          Value dD = denominatorGradient(lb, columnDot(lb, fqT, W), den,
                                         inverse, valid);
          if (hasRpe()) {
            Value zPhi = ib.matmulAccumulate(norm, phiT, zeros(lb, mP),
                                             /*transposeA=*/false,
                                             /*transposeB=*/false);
            dfqT = scaledSum(lb, W, inverse, zPhi, dD);
            dphiT = scaledSum(lb, Y, inverse, zq, dD);
            // dz += fqᵀ (phi dD).
            Value phiD = ib.generic1(
                ValueRange{phiTile, dD},
                ib.empty({lb.getIndexAttr(tile), lb.getIndexAttr(rP)}, f32),
                {ib.map(2, {0, 1}), ib.map(2, {0}), ib.map(2, {0, 1})},
                StructuredBuilder::parallel(2), multiply);
            yielded.push_back(ib.matmulAccumulate(fqT, phiD, iter[1],
                                                  /*transposeA=*/false,
                                                  /*transposeB=*/false));
          } else {
            // dfq = W / den + z dD; dz[p] += Σ_t fq[t, p] dD[t].
            dfqT = ib.generic1(
                ValueRange{W, inverse, norm, dD}, ib.empty(ib.dims(W), f32),
                {ib.map(2, {0, 1}), ib.map(2, {1}), ib.map(2, {0}),
                 ib.map(2, {1}), ib.map(2, {0, 1})},
                StructuredBuilder::parallel(2), sumOfProducts);
            yielded.push_back(
                ib.generic1(ValueRange{fqT, dD}, iter[1],
                            {ib.map(2, {0, 1}), ib.map(2, {1}), ib.map(2, {0})},
                            IteratorTypes{kParallel, kReduction}, multiplyAdd));
          }
        }
        yielded.push_back(ib.insert(rowsOfTransposed(lb, dfqT, tokens, m),
                                    iter[dfqIndex], {i0, lb.getIndexAttr(0)},
                                    {tokens, lb.getIndexAttr(m)}));
        if (hasRpe())
          yielded.push_back(ib.insert(
              rowsOfTransposed(lb, dphiT, tokens, r), iter[dfqIndex + 1],
              {i0, lb.getIndexAttr(0)}, {tokens, lb.getIndexAttr(r)}));
        scf::YieldOp::create(lb, loc, yielded);
      });
  return {queries.getResult(0), norm ? queries.getResult(1) : Value(),
          queries.getResult(dfqIndex),
          hasRpe() ? queries.getResult(dfqIndex + 1) : Value()};
}

std::tuple<Value, Value, Value>
LinearAttentionGradLowering::keyPass(OpBuilder &nb, Value dState, Value dNorm) {
  SmallVector<Value> inits = {destinations[1], destinations[2]};
  if (hasRpe())
    inits.push_back(destinations[4]);
  Value end = getValueOrCreateConstantIndexOp(nb, loc, S);
  auto keys = scf::ForOp::create(
      nb, loc, sb.index(0), end, sb.index(tile), inits,
      [&](OpBuilder &lb, Location, Value j0, ValueRange iter) {
        StructuredBuilder ib(lb, loc);
        OpFoldResult tokens = flt::tileSize(lb, loc, tile, j0, S);
        Value fkT =
            transposed(lb, tokenTile(lb, op.getFk(), j0, tokens, m, mP));
        Value vT = transposed(lb, tokenTile(lb, op.getV(), j0, tokens, e, eP));
        Value dvTile =
            ib.filled({lb.getIndexAttr(tile), lb.getIndexAttr(eP)}, f32, 0.0);
        Value dfkT, dpsiT;
        if (!hasRpe()) {
          // dK' = dT_v v + dz; dv = fk dT_v.
          dfkT = ib.matmulAccumulate(dState, vT, zeros(lb, mP),
                                     /*transposeA=*/false,
                                     /*transposeB=*/false);
          if (dNorm)
            dfkT = ib.generic1(
                ValueRange{dNorm}, dfkT, {ib.map(2, {0}), ib.map(2, {0, 1})},
                StructuredBuilder::parallel(2),
                [](OpBuilder &bb, Location bl, ValueRange args) {
                  return SmallVector<Value>{
                      arith::AddFOp::create(bb, bl, args[1], args[0])};
                });
          dvTile = ib.matmulAccumulate(fkT, dState, dvTile,
                                       /*transposeA=*/true,
                                       /*transposeB=*/false);
        } else {
          Value psiT =
              transposed(lb, tokenTile(lb, op.getPsi(), j0, tokens, r, rP));
          auto features = scf::ForOp::create(
              lb, loc, ib.index(0), ib.index(m), ib.index(1),
              ValueRange{zeros(lb, mP), zeros(lb, rP), dvTile},
              [&](OpBuilder &fb, Location, Value p, ValueRange fiter) {
                StructuredBuilder pb(fb, loc);
                Value dtp = stateBlock(fb, dState, p);
                // dK'_p without dz (added below as one product).
                Value dk = pb.matmulAccumulate(dtp, vT, zeros(fb, rP),
                                               /*transposeA=*/false,
                                               /*transposeB=*/false);
                Value w = insertRow(
                    fb, addColumnDot(fb, row(fb, fiter[0], p), psiT, dk),
                    fiter[0], p);
                Value y = addScaled(fb, fiter[1], dk, row(fb, fkT, p));
                // dv += K'_p dT_v[p].
                Value dv = pb.matmulAccumulate(kroneckerBlock(fb, fkT, p, psiT),
                                               dtp, fiter[2],
                                               /*transposeA=*/true,
                                               /*transposeB=*/false);
                scf::YieldOp::create(fb, loc, ValueRange{w, y, dv});
              });
          dfkT = features.getResult(0);
          dpsiT = features.getResult(1);
          dvTile = features.getResult(2);
          // dz's part of dK' = dz (1 ⊗ ...): dfk += dz psi, dpsi += dzᵀ fk.
          if (dNorm) {
            dfkT = ib.matmulAccumulate(dNorm, psiT, dfkT, /*transposeA=*/false,
                                       /*transposeB=*/false);
            dpsiT = ib.matmulAccumulate(dNorm, fkT, dpsiT, /*transposeA=*/true,
                                        /*transposeB=*/false);
          }
        }
        SmallVector<Value> yielded = {
            ib.insert(rowsOfTransposed(lb, dfkT, tokens, m), iter[0],
                      {j0, lb.getIndexAttr(0)}, {tokens, lb.getIndexAttr(m)}),
            ib.insert(ib.slice(dvTile, {lb.getIndexAttr(0), lb.getIndexAttr(0)},
                               {tokens, lb.getIndexAttr(e)}, 2),
                      iter[1], {j0, lb.getIndexAttr(0)},
                      {tokens, lb.getIndexAttr(e)})};
        if (hasRpe())
          yielded.push_back(ib.insert(rowsOfTransposed(lb, dpsiT, tokens, r),
                                      iter[2], {j0, lb.getIndexAttr(0)},
                                      {tokens, lb.getIndexAttr(r)}));
        scf::YieldOp::create(lb, loc, yielded);
      });
  return {keys.getResult(0), keys.getResult(1),
          hasRpe() ? keys.getResult(2) : Value()};
}

SmallVector<Value> LinearAttentionGradLowering::perHead(OpBuilder &nb) {
  auto [state, norm] = statePass(nb);
  auto [dState, dNorm, dfq, dphi] = queryPass(nb, state, norm);
  auto [dfk, dv, dpsi] = keyPass(nb, dState, dNorm);
  SmallVector<Value> results = {dfq, dfk, dv};
  if (hasRpe())
    results.append({dphi, dpsi});
  return results;
}

FailureOr<SmallVector<Value>> LinearAttentionGradLowering::lower() {
  auto staticDim = [](Value value, int64_t dim) {
    return cast<RankedTensorType>(value.getType()).getDimSize(dim);
  };
  m = staticDim(op.getFq(), 3);
  e = staticDim(op.getV(), 3);
  if (hasRpe())
    r = staticDim(op.getPhi(), 3);
  if (ShapedType::isDynamic(m) || ShapedType::isDynamic(e) ||
      ShapedType::isDynamic(r) || op.getCausal())
    return op.emitOpError()
           << "the fused backward needs static m, r and e and no causal "
              "mask (flt-select-algorithm decomposes the others; run it "
              "first)";
  // Every padded size is a row count of some register-tiled product and a
  // column count of another.
  int64_t multiple = std::lcm(options.rowMultiple, options.columnMultiple);
  mP = roundUp(m, multiple);
  rP = hasRpe() ? roundUp(r, multiple) : 1;
  eP = roundUp(e, multiple);
  L = sb.dim(op.getFq(), 2);
  S = sb.dim(op.getFk(), 2);

  SmallVector<Value> outs;
  for (Value result : op.getGrads()) {
    SmallVector<OpFoldResult> sizes;
    unsigned index = cast<OpResult>(result).getResultNumber();
    Value operands[] = {op.getFq(), op.getFk(), op.getV(), op.getPhi(),
                        op.getPsi()};
    for (int64_t d = 0; d < 4; ++d)
      sizes.push_back(sb.dim(operands[index], d));
    outs.push_back(sb.empty(sizes, f32));
  }
  OpFoldResult B = sb.dim(op.getFq(), 0), H = sb.dim(op.getFq(), 1);
  auto forall = scf::ForallOp::create(
      b, loc, SmallVector<OpFoldResult>{b.getIndexAttr(0), b.getIndexAttr(0)},
      SmallVector<OpFoldResult>{B, H},
      SmallVector<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)}, outs,
      std::nullopt);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(forall.getBody());
  batch = forall.getInductionVar(0);
  head = forall.getInductionVar(1);
  SmallVector<SmallVector<OpFoldResult>> sizes;
  SmallVector<OpFoldResult> offsets = {batch, head, b.getIndexAttr(0),
                                       b.getIndexAttr(0)};
  for (Value shared : forall.getRegionIterArgs()) {
    sizes.push_back({b.getIndexAttr(1), b.getIndexAttr(1), sb.dim(shared, 2),
                     sb.dim(shared, 3)});
    destinations.push_back(sb.slice(shared, offsets, sizes.back(), 2));
  }
  SmallVector<Value> perHeadResults = perHead(b);
  b.setInsertionPointToStart(forall.getTerminator().getBody());
  SmallVector<OpFoldResult> strides(4, b.getIndexAttr(1));
  for (auto [value, shared, valueSizes] :
       llvm::zip(perHeadResults, forall.getRegionIterArgs(), sizes))
    tensor::ParallelInsertSliceOp::create(b, loc, value, shared, offsets,
                                          valueSizes, strides);
  return SmallVector<Value>(forall.getResults());
}

struct LowerLinearAttentionGrad : OpRewritePattern<LinearAttentionGradOp> {
  LowerLinearAttentionGrad(MLIRContext *context,
                           const LinearAttentionLoweringOptions &options)
      : OpRewritePattern(context), options(options) {}

  LogicalResult matchAndRewrite(LinearAttentionGradOp op,
                                PatternRewriter &rewriter) const override {
    FailureOr<SmallVector<Value>> results =
        LinearAttentionGradLowering(op, rewriter, options).lower();
    if (failed(results))
      return failure();
    replaceOpWithCasts(rewriter, op, *results);
    return success();
  }

  LinearAttentionLoweringOptions options;
};

} // namespace

void mlir::flt::populateLinearAttentionGradLoweringPatterns(
    RewritePatternSet &patterns,
    const LinearAttentionLoweringOptions &options) {
  patterns.add<LowerLinearAttentionGrad>(patterns.getContext(), options);
}
