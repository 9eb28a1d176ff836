//===- LinearAttentionGrad.cpp - flt.linear_attention_grad, fused ---------===//
//
// The fused backward of non-causal linear attention (docs/Design.md §4,
// docs/Semantics.md §4), per (batch, head), in three passes over tiles of
// tokens. With K'_j = fk_j ⊗ psi_j, Q'_i = fq_i ⊗ phi_i (never formed
// beyond one [tokens × r] block of one feature p), b_j = [v_j, 1]:
//
//   1. keys     T = Σ_j K'_j b_jᵀ                ([m, r, e + 1]; z = T[.., e])
//   2. queries  U_i = T[.., :e] g_i  (one [tokens × r] block per feature p,
//               kept for the tile), D_i = Q'_i · z, g_i·n_i = Q'_i · U_i,
//               a_i = [g_i / den_i, dD_i]  (den, dD by the normalization),
//               dQ'_i = U_i / den_i + z dD_i,
//               dfq_i[p] = Σ_c dQ'_i[p, c] phi_i[c],
//               dphi_i  = Σ_p fq_i[p] dQ'_i[p, :],
//               dT += Q'_i a_iᵀ
//   3. keys     dK'_j = dT b_j,  dfk_j[p] = Σ_c dK'_j[p, c] psi_j[c],
//               dpsi_j = Σ_p fk_j[p] dK'_j[p, :],  dv_j = dT[.., :e]ᵀ K'_j
//
// (g_i·n_i comes from U_i: n_i = T[.., :e]ᵀ Q'_i is never formed.) That is
// five products of the forward's size per token where the forward does two.
// Without rpe the same passes run on fq, fk (r = 1, no blocks).
//
// Tiles are zero-padded to static shapes (m, r and e must be static:
// flt-select-algorithm decomposes the op otherwise); a padded query row has
// zero features, and its normalizer terms are masked so that an eps = 0
// division cannot turn it into NaN.
//
//===----------------------------------------------------------------------===//

#include "flt/Conversion/FLTToLinalg/FLTToLinalg.h"
#include "flt/Conversion/FLTToLinalg/LoweringUtils.h"
#include "flt/Dialect/FLT/IR/FLTOps.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::flt;

namespace {

using IteratorTypes = SmallVector<utils::IteratorType>;

class LinearAttentionGradLowering {
public:
  LinearAttentionGradLowering(LinearAttentionGradOp op, RewriterBase &rewriter,
                              const LinearAttentionLoweringOptions &options)
      : op(op), b(rewriter), loc(op.getLoc()), sb(rewriter, loc),
        tile(options.tokenTile), options(options), f32(rewriter.getF32Type()) {}

  FailureOr<SmallVector<Value>> lower();

private:
  bool hasRpe() { return static_cast<bool>(op.getPhi()); }

  /// A [tile, width] f32 tile of a per-token tensor of (b, h) at `start`,
  /// zero-padded to [tile, padded].
  Value tokenTile(OpBuilder &nb, Value tensor, Value start, OpFoldResult tokens,
                  int64_t width, int64_t padded) {
    return paddedTokenTile(nb, loc, tensor, batch, head, start, tokens,
                           nb.getIndexAttr(0), nb.getIndexAttr(width), tile,
                           padded);
  }
  /// [v, 1] of a key tile, [tile, EP]: v's columns, then ones in column e
  /// for the valid rows.
  Value valuesWithOnes(OpBuilder &nb, Value start, OpFoldResult tokens);
  /// Column p of a [tile, w] tile, as [tile].
  Value column(OpBuilder &nb, Value tileValue, Value p);
  /// features[:, p] ⊙ positional: one row of Q' or K' per token, [tile, rP].
  Value kroneckerBlock(OpBuilder &nb, Value features, Value p,
                       Value positional);
  /// acc[t] + Σ_c x[t, c] y[t, c], and the same from zero: [tile].
  Value addRowDot(OpBuilder &nb, Value acc, Value x, Value y);
  Value rowDot(OpBuilder &nb, Value x, Value y) {
    return addRowDot(
        nb,
        StructuredBuilder(nb, loc).filled({nb.getIndexAttr(tile)}, f32, 0.0), x,
        y);
  }
  /// acc + (column ⊗ row-block): acc[t, c] += col[t] blk[t, c].
  Value addScaled(OpBuilder &nb, Value acc, Value col, Value block);
  /// The [rows, EP] block p of a state [m, rows, EP].
  Value stateBlock(OpBuilder &nb, Value state, Value p, int64_t rows);
  Value insertStateBlock(OpBuilder &nb, Value block, Value state, Value p,
                         int64_t rows);
  /// The [tokens, width] corner of a padded tile.
  Value corner(OpBuilder &nb, Value tileValue, OpFoldResult tokens,
               int64_t width) {
    return StructuredBuilder(nb, loc).slice(
        tileValue, {nb.getIndexAttr(0), nb.getIndexAttr(0)},
        {tokens, nb.getIndexAttr(width)}, 2);
  }

  /// The three passes for one (b, h); returns per-(b, h) results
  /// [L or S, width] in the order of the op's results.
  SmallVector<Value> perHead(OpBuilder &nb);
  Value statePass(OpBuilder &nb);
  /// Returns (dT, dfq [L, m], dphi [L, r] or null).
  std::tuple<Value, Value, Value> queryPass(OpBuilder &nb, Value state);
  /// Returns (dfk [S, m], dv [S, e], dpsi [S, r] or null).
  std::tuple<Value, Value, Value> keyPass(OpBuilder &nb, Value dState);

  LinearAttentionGradOp op;
  OpBuilder &b;
  Location loc;
  StructuredBuilder sb;
  int64_t tile;
  LinearAttentionLoweringOptions options;
  Type f32;

  // Static sizes and their padded widths; m rows of r positional features
  // (r = 1 without rpe), e value columns plus the normalizer's.
  int64_t m = 0, r = 1, e = 0, mP = 0, rP = 1, eP = 0, EP = 0;
  OpFoldResult L, S;
  Value batch, head;
};

Value LinearAttentionGradLowering::valuesWithOnes(OpBuilder &nb, Value start,
                                                  OpFoldResult tokens) {
  Value vTile = tokenTile(nb, op.getV(), start, tokens, e, EP);
  StructuredBuilder tb(nb, loc);
  Value valid = getValueOrCreateConstantIndexOp(nb, loc, tokens);
  int64_t ones = e;
  return tb.generic1(
      vTile, tb.empty({nb.getIndexAttr(tile), nb.getIndexAttr(EP)}, f32),
      {tb.map(2, {0, 1}), tb.map(2, {0, 1})}, StructuredBuilder::parallel(2),
      [&](OpBuilder &bb, Location bl, ValueRange args) {
        Value t = linalg::IndexOp::create(bb, bl, 0);
        Value c = linalg::IndexOp::create(bb, bl, 1);
        Value isOnes = arith::AndIOp::create(
            bb, bl,
            arith::CmpIOp::create(bb, bl, arith::CmpIPredicate::eq, c,
                                  arith::ConstantIndexOp::create(bb, bl, ones)),
            arith::CmpIOp::create(bb, bl, arith::CmpIPredicate::ult, t, valid));
        Value one = arith::ConstantOp::create(bb, bl, bb.getF32FloatAttr(1));
        return SmallVector<Value>{
            arith::SelectOp::create(bb, bl, isOnes, one, args[0])};
      });
}

Value LinearAttentionGradLowering::column(OpBuilder &nb, Value tileValue,
                                          Value p) {
  StructuredBuilder tb(nb, loc);
  Value slice = tb.slice(tileValue, {nb.getIndexAttr(0), p},
                         {nb.getIndexAttr(tile), nb.getIndexAttr(1)}, 2);
  return tensor::CollapseShapeOp::create(
      nb, loc, slice, SmallVector<ReassociationIndices>{{0, 1}});
}

Value LinearAttentionGradLowering::kroneckerBlock(OpBuilder &nb, Value features,
                                                  Value p, Value positional) {
  StructuredBuilder tb(nb, loc);
  Value col = column(nb, features, p);
  return tb.generic1(
      ValueRange{col, positional},
      tb.empty({nb.getIndexAttr(tile), nb.getIndexAttr(rP)}, f32),
      {tb.map(2, {0}), tb.map(2, {0, 1}), tb.map(2, {0, 1})},
      StructuredBuilder::parallel(2),
      [](OpBuilder &bb, Location bl, ValueRange args) {
        return SmallVector<Value>{
            arith::MulFOp::create(bb, bl, args[0], args[1])};
      });
}

Value LinearAttentionGradLowering::addRowDot(OpBuilder &nb, Value acc, Value x,
                                             Value y) {
  StructuredBuilder tb(nb, loc);
  return tb.generic1(ValueRange{x, y}, acc,
                     {tb.map(2, {0, 1}), tb.map(2, {0, 1}), tb.map(2, {0})},
                     StructuredBuilder::parallel(1, 1),
                     [](OpBuilder &bb, Location bl, ValueRange args) {
                       Value product =
                           arith::MulFOp::create(bb, bl, args[0], args[1]);
                       return SmallVector<Value>{
                           arith::AddFOp::create(bb, bl, args[2], product)};
                     });
}

Value LinearAttentionGradLowering::addScaled(OpBuilder &nb, Value acc,
                                             Value col, Value block) {
  StructuredBuilder tb(nb, loc);
  return tb.generic1(ValueRange{col, block}, acc,
                     {tb.map(2, {0}), tb.map(2, {0, 1}), tb.map(2, {0, 1})},
                     StructuredBuilder::parallel(2),
                     [](OpBuilder &bb, Location bl, ValueRange args) {
                       Value product =
                           arith::MulFOp::create(bb, bl, args[0], args[1]);
                       return SmallVector<Value>{
                           arith::AddFOp::create(bb, bl, args[2], product)};
                     });
}

Value LinearAttentionGradLowering::stateBlock(OpBuilder &nb, Value state,
                                              Value p, int64_t rows) {
  StructuredBuilder tb(nb, loc);
  Value slice = tb.slice(
      state, {p, nb.getIndexAttr(0), nb.getIndexAttr(0)},
      {nb.getIndexAttr(1), nb.getIndexAttr(rows), nb.getIndexAttr(EP)}, 3);
  return tensor::CollapseShapeOp::create(
      nb, loc, slice, SmallVector<ReassociationIndices>{{0, 1}, {2}});
}

Value LinearAttentionGradLowering::insertStateBlock(OpBuilder &nb, Value block,
                                                    Value state, Value p,
                                                    int64_t rows) {
  return StructuredBuilder(nb, loc).insert(
      block, state, {p, nb.getIndexAttr(0), nb.getIndexAttr(0)},
      {nb.getIndexAttr(1), nb.getIndexAttr(rows), nb.getIndexAttr(EP)});
}

Value LinearAttentionGradLowering::statePass(OpBuilder &nb) {
  // T [m, rP, EP] (rP = 1 without rpe: [m, 1, EP]).
  Value state = sb.filled(
      {nb.getIndexAttr(m), nb.getIndexAttr(rP), nb.getIndexAttr(EP)}, f32, 0.0);
  Value end = getValueOrCreateConstantIndexOp(nb, loc, S);
  auto keys = scf::ForOp::create(
      nb, loc, sb.index(0), end, sb.index(tile), ValueRange{state},
      [&](OpBuilder &lb, Location, Value j0, ValueRange iter) {
        OpFoldResult tokens = flt::tileSize(lb, loc, tile, j0, S);
        Value fkTile = tokenTile(lb, op.getFk(), j0, tokens, m, mP);
        Value psiTile =
            hasRpe() ? tokenTile(lb, op.getPsi(), j0, tokens, r, rP) : Value();
        Value vOne = valuesWithOnes(lb, j0, tokens);
        StructuredBuilder ib(lb, loc);
        if (!hasRpe()) {
          // T [m, 1, EP] += fkᵀ [v, 1]: the product is formed at the padded
          // feature count, then added into the loop's own state so that the
          // loop carries one buffer (a padded copy would not bufferize in
          // place).
          Value product = ib.matmulAccumulate(
              fkTile, vOne,
              ib.filled({lb.getIndexAttr(mP), lb.getIndexAttr(EP)}, f32, 0.0),
              /*transposeA=*/true, /*transposeB=*/false);
          product = ib.slice(product, {lb.getIndexAttr(0), lb.getIndexAttr(0)},
                             {lb.getIndexAttr(m), lb.getIndexAttr(EP)}, 2);
          Value updated =
              ib.generic1(ValueRange{product}, iter[0],
                          {ib.map(3, {0, 2}), ib.map(3, {0, 1, 2})},
                          StructuredBuilder::parallel(3),
                          [](OpBuilder &bb, Location bl, ValueRange args) {
                            return SmallVector<Value>{arith::AddFOp::create(
                                bb, bl, args[1], args[0])};
                          });
          scf::YieldOp::create(lb, loc, updated);
          return;
        }
        auto features = scf::ForOp::create(
            lb, loc, ib.index(0), ib.index(m), ib.index(1), ValueRange{iter[0]},
            [&](OpBuilder &fb, Location, Value p, ValueRange fiter) {
              Value block = kroneckerBlock(fb, fkTile, p, psiTile);
              Value tp = stateBlock(fb, fiter[0], p, rP);
              tp = StructuredBuilder(fb, loc).matmulAccumulate(
                  block, vOne, tp, /*transposeA=*/true,
                  /*transposeB=*/false);
              scf::YieldOp::create(fb, loc,
                                   insertStateBlock(fb, tp, fiter[0], p, rP));
            });
        scf::YieldOp::create(lb, loc, features.getResult(0));
      });
  return keys.getResult(0);
}

std::tuple<Value, Value, Value>
LinearAttentionGradLowering::queryPass(OpBuilder &nb, Value state) {
  Value dState = sb.filled(
      {nb.getIndexAttr(m), nb.getIndexAttr(rP), nb.getIndexAttr(EP)}, f32, 0.0);
  Value dfqAll = sb.empty({L, nb.getIndexAttr(m)}, f32);
  Value dphiAll = hasRpe() ? sb.empty({L, nb.getIndexAttr(r)}, f32) : Value();
  SmallVector<Value> inits = {dState, dfqAll};
  if (dphiAll)
    inits.push_back(dphiAll);
  Normalize normalize = op.getNormalize();
  float eps = op.getEps().convertToFloat();
  Value end = getValueOrCreateConstantIndexOp(nb, loc, L);
  auto queries = scf::ForOp::create(
      nb, loc, sb.index(0), end, sb.index(tile), inits,
      [&](OpBuilder &lb, Location, Value i0, ValueRange iter) {
        StructuredBuilder ib(lb, loc);
        OpFoldResult tokens = flt::tileSize(lb, loc, tile, i0, L);
        Value valid = getValueOrCreateConstantIndexOp(lb, loc, tokens);
        Value fqTile = tokenTile(lb, op.getFq(), i0, tokens, m, mP);
        Value phiTile =
            hasRpe() ? tokenTile(lb, op.getPhi(), i0, tokens, r, rP) : Value();
        Value gTile = tokenTile(lb, op.getCotangent(), i0, tokens, e, EP);
        AffineMap zMap = AffineMap::get(
            2, 0, {lb.getAffineDimExpr(1), lb.getAffineConstantExpr(e)},
            lb.getContext());
        Value zero1 = ib.filled({lb.getIndexAttr(tile)}, f32, 0.0);

        // U [m, tile, rP], g·n and D per row.
        Value uAll = ib.empty(
            {lb.getIndexAttr(m), lb.getIndexAttr(tile), lb.getIndexAttr(rP)},
            f32);
        auto first = scf::ForOp::create(
            lb, loc, ib.index(0), ib.index(m), ib.index(1),
            ValueRange{uAll, zero1, zero1},
            [&](OpBuilder &fb, Location, Value p, ValueRange fiter) {
              StructuredBuilder pb(fb, loc);
              Value tp = stateBlock(fb, state, p, rP); // [rP, EP]
              Value block =
                  hasRpe() ? kroneckerBlock(fb, fqTile, p, phiTile)
                           : tensor::ExpandShapeOp::create(
                                 fb, loc, RankedTensorType::get({tile, 1}, f32),
                                 column(fb, fqTile, p),
                                 SmallVector<ReassociationIndices>{{0, 1}});
              Value up = pb.matmulAccumulate(
                  gTile, tp,
                  pb.filled({fb.getIndexAttr(tile), fb.getIndexAttr(rP)}, f32,
                            0.0),
                  /*transposeA=*/false, /*transposeB=*/true);
              Value gn = addRowDot(fb, fiter[1], block, up);
              Value den = pb.generic1(
                  ValueRange{block, tp}, fiter[2],
                  {pb.map(2, {0, 1}), zMap, pb.map(2, {0})},
                  StructuredBuilder::parallel(1, 1),
                  [](OpBuilder &bb, Location bl, ValueRange args) {
                    Value product =
                        arith::MulFOp::create(bb, bl, args[0], args[1]);
                    return SmallVector<Value>{
                        arith::AddFOp::create(bb, bl, args[2], product)};
                  });
              Value uStored = pb.insert(
                  up, fiter[0], {p, fb.getIndexAttr(0), fb.getIndexAttr(0)},
                  {fb.getIndexAttr(1), fb.getIndexAttr(tile),
                   fb.getIndexAttr(rP)});
              scf::YieldOp::create(fb, loc, ValueRange{uStored, gn, den});
            });
        Value U = first.getResult(0), gn = first.getResult(1),
              D = first.getResult(2);

        // Per row: 1 / den and dD (0 on padded rows and without
        // normalization).
        Value inverse = ib.empty({lb.getIndexAttr(tile)}, f32);
        Value dD = ib.empty({lb.getIndexAttr(tile)}, f32);
        SmallVector<Value> perRow = ib.generic(
            ValueRange{gn, D}, ValueRange{inverse, dD},
            {ib.map(1, {0}), ib.map(1, {0}), ib.map(1, {0}), ib.map(1, {0})},
            StructuredBuilder::parallel(1),
            [&](OpBuilder &bb, Location bl, ValueRange args) {
              auto c = [&](double x) -> Value {
                return arith::ConstantOp::create(bb, bl, bb.getF32FloatAttr(x));
              };
              Value t = linalg::IndexOp::create(bb, bl, 0);
              Value inside = arith::CmpIOp::create(
                  bb, bl, arith::CmpIPredicate::ult, t, valid);
              Value den = args[1], positive;
              if (normalize == Normalize::Divide)
                den = arith::AddFOp::create(bb, bl, args[1], c(eps));
              if (normalize == Normalize::Guarded) {
                positive = arith::CmpFOp::create(
                    bb, bl, arith::CmpFPredicate::OGT, args[1], c(0));
                den = arith::SelectOp::create(bb, bl, positive, args[1], c(1));
              }
              Value inv = c(1), grad = c(0);
              if (normalize != Normalize::None) {
                inv = arith::DivFOp::create(bb, bl, c(1), den);
                // dD = -(g·n) / den².
                grad = arith::NegFOp::create(
                    bb, bl,
                    arith::MulFOp::create(
                        bb, bl, args[0],
                        arith::MulFOp::create(bb, bl, inv, inv)));
                if (positive)
                  grad = arith::SelectOp::create(bb, bl, positive, grad, c(0));
              }
              return SmallVector<Value>{
                  arith::SelectOp::create(bb, bl, inside, inv, c(0)),
                  arith::SelectOp::create(bb, bl, inside, grad, c(0))};
            });
        inverse = perRow[0];
        dD = perRow[1];
        // a = [g / den, dD]: [tile, EP].
        Value a = ib.generic1(
            ValueRange{gTile, inverse, dD},
            ib.empty({lb.getIndexAttr(tile), lb.getIndexAttr(EP)}, f32),
            {ib.map(2, {0, 1}), ib.map(2, {0}), ib.map(2, {0}),
             ib.map(2, {0, 1})},
            StructuredBuilder::parallel(2),
            [&](OpBuilder &bb, Location bl, ValueRange args) {
              Value c = linalg::IndexOp::create(bb, bl, 1);
              Value isNorm = arith::CmpIOp::create(
                  bb, bl, arith::CmpIPredicate::eq, c,
                  arith::ConstantIndexOp::create(bb, bl, e));
              Value scaled = arith::MulFOp::create(bb, bl, args[0], args[1]);
              return SmallVector<Value>{
                  arith::SelectOp::create(bb, bl, isNorm, args[2], scaled)};
            });

        // dQ' per feature: dfq, dphi and dT.
        Value dfqTile =
            ib.filled({lb.getIndexAttr(tile), lb.getIndexAttr(m)}, f32, 0.0);
        Value dphiTile =
            hasRpe() ? ib.filled({lb.getIndexAttr(tile), lb.getIndexAttr(rP)},
                                 f32, 0.0)
                     : Value();
        SmallVector<Value> secondInits = {iter[0], dfqTile};
        if (dphiTile)
          secondInits.push_back(dphiTile);
        auto second = scf::ForOp::create(
            lb, loc, ib.index(0), ib.index(m), ib.index(1), secondInits,
            [&](OpBuilder &fb, Location, Value p, ValueRange fiter) {
              StructuredBuilder pb(fb, loc);
              Value tp = stateBlock(fb, state, p, rP);
              Value up =
                  pb.slice(U, {p, fb.getIndexAttr(0), fb.getIndexAttr(0)},
                           {fb.getIndexAttr(1), fb.getIndexAttr(tile),
                            fb.getIndexAttr(rP)},
                           2);
              // dQ'_p = U_p / den + dD z_p: [tile, rP].
              Value dq = pb.generic1(
                  ValueRange{up, inverse, dD, tp},
                  pb.empty({fb.getIndexAttr(tile), fb.getIndexAttr(rP)}, f32),
                  {pb.map(2, {0, 1}), pb.map(2, {0}), pb.map(2, {0}), zMap,
                   pb.map(2, {0, 1})},
                  StructuredBuilder::parallel(2),
                  [](OpBuilder &bb, Location bl, ValueRange args) {
                    Value first =
                        arith::MulFOp::create(bb, bl, args[0], args[1]);
                    Value second =
                        arith::MulFOp::create(bb, bl, args[2], args[3]);
                    return SmallVector<Value>{
                        arith::AddFOp::create(bb, bl, first, second)};
                  });
              Value block;
              Value dfqColumn;
              SmallVector<Value> yielded;
              if (hasRpe()) {
                block = kroneckerBlock(fb, fqTile, p, phiTile);
                dfqColumn = rowDot(fb, dq, phiTile);
              } else {
                block = tensor::ExpandShapeOp::create(
                    fb, loc, RankedTensorType::get({tile, 1}, f32),
                    column(fb, fqTile, p),
                    SmallVector<ReassociationIndices>{{0, 1}});
                dfqColumn = tensor::CollapseShapeOp::create(
                    fb, loc, dq, SmallVector<ReassociationIndices>{{0, 1}});
              }
              // dT[p] += block (Q'_p)ᵀ a.
              Value dtp = stateBlock(fb, fiter[0], p, rP);
              dtp = pb.matmulAccumulate(block, a, dtp, /*transposeA=*/true,
                                        /*transposeB=*/false);
              yielded.push_back(insertStateBlock(fb, dtp, fiter[0], p, rP));
              yielded.push_back(
                  pb.insert(dfqColumn, fiter[1], {fb.getIndexAttr(0), p},
                            {fb.getIndexAttr(tile), fb.getIndexAttr(1)}));
              if (hasRpe())
                yielded.push_back(
                    addScaled(fb, fiter[2], column(fb, fqTile, p), dq));
              scf::YieldOp::create(fb, loc, yielded);
            });
        SmallVector<Value> out = {second.getResult(0)};
        out.push_back(ib.insert(corner(lb, second.getResult(1), tokens, m),
                                iter[1], {i0, lb.getIndexAttr(0)},
                                {tokens, lb.getIndexAttr(m)}));
        if (hasRpe())
          out.push_back(ib.insert(corner(lb, second.getResult(2), tokens, r),
                                  iter[2], {i0, lb.getIndexAttr(0)},
                                  {tokens, lb.getIndexAttr(r)}));
        scf::YieldOp::create(lb, loc, out);
      });
  return {queries.getResult(0), queries.getResult(1),
          hasRpe() ? queries.getResult(2) : Value()};
}

std::tuple<Value, Value, Value>
LinearAttentionGradLowering::keyPass(OpBuilder &nb, Value dState) {
  Value dfkAll = sb.empty({S, nb.getIndexAttr(m)}, f32);
  Value dvAll = sb.empty({S, nb.getIndexAttr(e)}, f32);
  Value dpsiAll = hasRpe() ? sb.empty({S, nb.getIndexAttr(r)}, f32) : Value();
  SmallVector<Value> inits = {dfkAll, dvAll};
  if (dpsiAll)
    inits.push_back(dpsiAll);
  Value end = getValueOrCreateConstantIndexOp(nb, loc, S);
  auto keys = scf::ForOp::create(
      nb, loc, sb.index(0), end, sb.index(tile), inits,
      [&](OpBuilder &lb, Location, Value j0, ValueRange iter) {
        StructuredBuilder ib(lb, loc);
        OpFoldResult tokens = flt::tileSize(lb, loc, tile, j0, S);
        Value fkTile = tokenTile(lb, op.getFk(), j0, tokens, m, mP);
        Value psiTile =
            hasRpe() ? tokenTile(lb, op.getPsi(), j0, tokens, r, rP) : Value();
        Value vOne = valuesWithOnes(lb, j0, tokens);
        SmallVector<Value> tileInits = {
            ib.filled({lb.getIndexAttr(tile), lb.getIndexAttr(m)}, f32, 0.0),
            ib.filled({lb.getIndexAttr(tile), lb.getIndexAttr(EP)}, f32, 0.0)};
        if (hasRpe())
          tileInits.push_back(ib.filled(
              {lb.getIndexAttr(tile), lb.getIndexAttr(rP)}, f32, 0.0));
        auto features = scf::ForOp::create(
            lb, loc, ib.index(0), ib.index(m), ib.index(1), tileInits,
            [&](OpBuilder &fb, Location, Value p, ValueRange fiter) {
              StructuredBuilder pb(fb, loc);
              Value dtp = stateBlock(fb, dState, p, rP); // [rP, EP]
              // dK'_p = [v, 1] dT[p]ᵀ: [tile, rP].
              Value dk = pb.matmulAccumulate(
                  vOne, dtp,
                  pb.filled({fb.getIndexAttr(tile), fb.getIndexAttr(rP)}, f32,
                            0.0),
                  /*transposeA=*/false, /*transposeB=*/true);
              Value block, dfkColumn;
              if (hasRpe()) {
                block = kroneckerBlock(fb, fkTile, p, psiTile);
                dfkColumn = rowDot(fb, dk, psiTile);
              } else {
                block = tensor::ExpandShapeOp::create(
                    fb, loc, RankedTensorType::get({tile, 1}, f32),
                    column(fb, fkTile, p),
                    SmallVector<ReassociationIndices>{{0, 1}});
                dfkColumn = tensor::CollapseShapeOp::create(
                    fb, loc, dk, SmallVector<ReassociationIndices>{{0, 1}});
              }
              SmallVector<Value> yielded;
              yielded.push_back(
                  pb.insert(dfkColumn, fiter[0], {fb.getIndexAttr(0), p},
                            {fb.getIndexAttr(tile), fb.getIndexAttr(1)}));
              // dv += K'_p dT[p].
              yielded.push_back(pb.matmulAccumulate(block, dtp, fiter[1],
                                                    /*transposeA=*/false,
                                                    /*transposeB=*/false));
              if (hasRpe())
                yielded.push_back(
                    addScaled(fb, fiter[2], column(fb, fkTile, p), dk));
              scf::YieldOp::create(fb, loc, yielded);
            });
        SmallVector<Value> out;
        out.push_back(ib.insert(corner(lb, features.getResult(0), tokens, m),
                                iter[0], {j0, lb.getIndexAttr(0)},
                                {tokens, lb.getIndexAttr(m)}));
        out.push_back(ib.insert(corner(lb, features.getResult(1), tokens, e),
                                iter[1], {j0, lb.getIndexAttr(0)},
                                {tokens, lb.getIndexAttr(e)}));
        if (hasRpe())
          out.push_back(ib.insert(corner(lb, features.getResult(2), tokens, r),
                                  iter[2], {j0, lb.getIndexAttr(0)},
                                  {tokens, lb.getIndexAttr(r)}));
        scf::YieldOp::create(lb, loc, out);
      });
  return {keys.getResult(0), keys.getResult(1),
          hasRpe() ? keys.getResult(2) : Value()};
}

SmallVector<Value> LinearAttentionGradLowering::perHead(OpBuilder &nb) {
  Value state = statePass(nb);
  auto [dState, dfq, dphi] = queryPass(nb, state);
  auto [dfk, dv, dpsi] = keyPass(nb, dState);
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
  mP = roundUp(m, options.rowMultiple);
  rP = hasRpe() ? roundUp(r, options.rowMultiple) : 1;
  eP = roundUp(e, options.columnMultiple);
  EP = roundUp(e + 1, options.columnMultiple);
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
  SmallVector<Value> perHeadResults = perHead(b);
  // Sizes first: only parallel inserts may follow in the terminator.
  SmallVector<SmallVector<OpFoldResult>> sizes;
  for (Value value : perHeadResults)
    sizes.push_back({b.getIndexAttr(1), b.getIndexAttr(1), sb.dim(value, 0),
                     sb.dim(value, 1)});
  b.setInsertionPointToStart(forall.getTerminator().getBody());
  SmallVector<OpFoldResult> strides(4, b.getIndexAttr(1));
  for (auto [value, shared, valueSizes] :
       llvm::zip(perHeadResults, forall.getRegionIterArgs(), sizes))
    tensor::ParallelInsertSliceOp::create(
        b, loc, value, shared,
        {batch, head, b.getIndexAttr(0), b.getIndexAttr(0)}, valueSizes,
        strides);
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
