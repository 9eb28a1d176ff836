//===- LinearAttentionTiles.cpp - linear attention, one tile at a time ----===//
//
// The per-tile computations of the linear form (LinearAttentionLowering.h):
// zero-padded token tiles, the Kronecker and value blocks, the state update
// by one tile of keys, the read-out for one tile of queries, the causal
// intra-chunk term and the normalization. LinearAttention.cpp puts them in
// loops.
//
//===----------------------------------------------------------------------===//

#include "LinearAttentionLowering.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Utils/Utils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

using namespace mlir;
using namespace mlir::flt;
using namespace mlir::flt::detail;

OpFoldResult LinearAttentionLowering::tileSize(OpBuilder &nb, int64_t tile,
                                               Value offset,
                                               OpFoldResult extent) {
  return flt::tileSize(nb, loc, tile, offset, extent);
}

Value LinearAttentionLowering::tokenTile(OpBuilder &nb, Value tensor,
                                         Value bIdx, Value hIdx, Value start,
                                         OpFoldResult tokens,
                                         OpFoldResult column,
                                         OpFoldResult width,
                                         int64_t paddedWidth) {
  return paddedTokenTile(nb, loc, tensor, bIdx, hIdx, start, tokens, column,
                         width, options.tokenTile, paddedWidth);
}

/// The body of an elementwise product.
SmallVector<Value> mlir::flt::detail::multiply(OpBuilder &bb, Location nl,
                                               ValueRange args) {
  return {arith::MulFOp::create(bb, nl, args[0], args[1])};
}

/// The body of out += a · b.
SmallVector<Value> mlir::flt::detail::multiplyAdd(OpBuilder &bb, Location nl,
                                                  ValueRange args) {
  Value product = arith::MulFOp::create(bb, nl, args[0], args[1]);
  return {arith::AddFOp::create(bb, nl, args[2], product)};
}

Value LinearAttentionLowering::kroneckerBlock(OpBuilder &nb, Value features,
                                              Value q, Value positional) {
  StructuredBuilder ib(nb, loc);
  OpFoldResult tokens = nb.getIndexAttr(options.tokenTile);
  if (featureGroup == 1) {
    Value column = ib.slice(features, {nb.getIndexAttr(0), q},
                            {tokens, nb.getIndexAttr(1)}, 1);
    return ib.generic1(ValueRange{column, positional},
                       ib.empty({tokens, ib.dim(positional, 1)}, f32),
                       {ib.map(2, {0}), ib.map(2, {0, 1}), ib.map(2, {0, 1})},
                       StructuredBuilder::parallel(2), multiply);
  }
  // [tokens, g] ⊗ [tokens, r] -> [tokens, g, r] -> [tokens, g r] (m and r
  // are static here).
  OpFoldResult first = affine::makeComposedFoldedAffineApply(
      nb, loc, nb.getAffineDimExpr(0) * featureGroup, {q});
  Value columns = ib.slice(features, {nb.getIndexAttr(0), first},
                           {tokens, nb.getIndexAttr(featureGroup)}, 2);
  Value block = ib.generic1(
      ValueRange{columns, positional},
      ib.empty({tokens, nb.getIndexAttr(featureGroup), ib.dim(positional, 1)},
               f32),
      {ib.map(3, {0, 1}), ib.map(3, {0, 2}), ib.map(3, {0, 1, 2})},
      StructuredBuilder::parallel(3), multiply);
  SmallVector<ReassociationIndices> groups = {{0}, {1, 2}};
  return tensor::CollapseShapeOp::create(nb, loc, block, groups);
}

Value LinearAttentionLowering::valueBlock(OpBuilder &nb, Value positional,
                                          Value q, Value values) {
  // [tokens, G] ⊗ [tokens, e] -> [tokens, G, e] -> [tokens, G e].
  StructuredBuilder ib(nb, loc);
  OpFoldResult tokens = nb.getIndexAttr(options.tokenTile);
  OpFoldResult group = nb.getIndexAttr(positionalGroup);
  OpFoldResult first = affine::makeComposedFoldedAffineApply(
      nb, loc, nb.getAffineDimExpr(0) * positionalGroup, {q});
  Value columns =
      ib.slice(positional, {nb.getIndexAttr(0), first}, {tokens, group}, 2);
  Value block =
      ib.generic1(ValueRange{columns, values},
                  ib.empty({tokens, group, ib.dim(values, 1)}, f32),
                  {ib.map(3, {0, 1}), ib.map(3, {0, 2}), ib.map(3, {0, 1, 2})},
                  StructuredBuilder::parallel(3), multiply);
  SmallVector<ReassociationIndices> groups = {{0}, {1, 2}};
  return tensor::CollapseShapeOp::create(nb, loc, block, groups);
}

Value LinearAttentionLowering::updateStateByValueBlocks(
    OpBuilder &nb, Value fkTile, Value psiTile, Value vTile, Value state) {
  // For every group q of G positional features: W = psi[:, q G ..] ⊗ v,
  // T[:, q] += fkᵀ W (state [m, r / G, G e]: one slice per group).
  StructuredBuilder tb(nb, loc);
  Value upper = getValueOrCreateConstantIndexOp(nb, loc, positionalGroups());
  auto loop = scf::ForOp::create(
      nb, loc, tb.index(0), upper, tb.index(1), ValueRange{state},
      [&](OpBuilder &lb, Location ll, Value q, ValueRange iter) {
        StructuredBuilder ib(lb, ll);
        Value block = valueBlock(lb, psiTile, q, vTile);
        SmallVector<OpFoldResult> offsets = {lb.getIndexAttr(0), q,
                                             lb.getIndexAttr(0)};
        SmallVector<OpFoldResult> sizes = {
            ib.dim(iter[0], 0), lb.getIndexAttr(1), ib.dim(iter[0], 2)};
        Value stateBlock = ib.slice(iter[0], offsets, sizes, 2);
        stateBlock = ib.matmulAccumulate(fkTile, block, stateBlock,
                                         /*transposeA=*/true,
                                         /*transposeB=*/false);
        scf::YieldOp::create(lb, ll,
                             ib.insert(stateBlock, iter[0], offsets, sizes));
      });
  return loop.getResult(0);
}

Value LinearAttentionLowering::readOutByValueBlocks(OpBuilder &nb, Value fqTile,
                                                    Value phiTile, Value state,
                                                    Value num) {
  // For every group q of G positional features: P = fq T[:, q]
  // ([tokens, G, e]), num_i += Σ_c phi_i,qG+c P_ic.
  StructuredBuilder tb(nb, loc);
  OpFoldResult tokens = nb.getIndexAttr(options.tokenTile);
  OpFoldResult group = nb.getIndexAttr(positionalGroup);
  auto expandedType = RankedTensorType::get(
      {options.tokenTile, positionalGroup, valueWidth}, f32);
  Value upper = getValueOrCreateConstantIndexOp(nb, loc, positionalGroups());
  auto loop = scf::ForOp::create(
      nb, loc, tb.index(0), upper, tb.index(1), ValueRange{num},
      [&](OpBuilder &lb, Location ll, Value q, ValueRange iter) {
        StructuredBuilder ib(lb, ll);
        Value stateBlock = ib.slice(
            state, {lb.getIndexAttr(0), q, lb.getIndexAttr(0)},
            {ib.dim(state, 0), lb.getIndexAttr(1), ib.dim(state, 2)}, 2);
        Value projected = ib.matmulAccumulate(
            fqTile, stateBlock, ib.filled({tokens, ib.dim(state, 2)}, f32, 0.0),
            false, false);
        SmallVector<ReassociationIndices> groups = {{0}, {1, 2}};
        projected = tensor::ExpandShapeOp::create(lb, ll, expandedType,
                                                  projected, groups);
        OpFoldResult first = affine::makeComposedFoldedAffineApply(
            lb, ll, lb.getAffineDimExpr(0) * positionalGroup, {q});
        Value weights =
            ib.slice(phiTile, {lb.getIndexAttr(0), first}, {tokens, group}, 2);
        // Loops (i, n, c), c reduced.
        scf::YieldOp::create(
            lb, ll,
            ib.generic1(
                ValueRange{weights, projected}, iter[0],
                {ib.map(3, {0, 2}), ib.map(3, {0, 2, 1}), ib.map(3, {0, 1})},
                StructuredBuilder::parallel(2, 1), multiplyAdd));
      });
  return loop.getResult(0);
}

std::pair<Value, Value>
LinearAttentionLowering::updateState(OpBuilder &nb, Value fkTile, Value psiTile,
                                     Value vTile, Value state, Value norm) {
  StructuredBuilder tb(nb, loc);
  if (!hasRpe()) {
    // T += fkᵀ v (loops m, e, j); z += Σ_j fk_j.
    Value newState = tb.matmulAccumulate(fkTile, vTile, state,
                                         /*transposeA=*/true,
                                         /*transposeB=*/false);
    Value newNorm;
    if (norm)
      newNorm = tb.generic1(fkTile, norm, {tb.map(2, {1, 0}), tb.map(2, {0})},
                            StructuredBuilder::parallel(1, 1),
                            [](OpBuilder &bb, Location nl, ValueRange args) {
                              return SmallVector<Value>{arith::AddFOp::create(
                                  bb, nl, args[1], args[0])};
                            });
    return {newState, newNorm};
  }

  // z[p, c] += Σ_j fk[j, p] psi[j, c]: one contraction per tile of keys.
  Value newNorm;
  if (norm)
    newNorm = tb.matmulAccumulate(fkTile, psiTile, norm, /*transposeA=*/true,
                                  /*transposeB=*/false);
  if (usesValueBlocks())
    return {updateStateByValueBlocks(nb, fkTile, psiTile, vTile, state),
            newNorm};

  // For every group q of g features: W = fk[:, q g ..] ⊗ psi (one
  // [tokens × g r] Kronecker block), T[q] += Wᵀ v.
  Value zeroIdx = tb.index(0), oneIdx = tb.index(1);
  Value upper = getValueOrCreateConstantIndexOp(nb, loc, featureGroups());
  auto loop = scf::ForOp::create(
      nb, loc, zeroIdx, upper, oneIdx, ValueRange{state},
      [&](OpBuilder &lb, Location ll, Value q, ValueRange iter) {
        StructuredBuilder ib(lb, ll);
        Value block = kroneckerBlock(lb, fkTile, q, psiTile);
        SmallVector<OpFoldResult> stateSizes = {
            lb.getIndexAttr(1), ib.dim(iter[0], 1), ib.dim(iter[0], 2)};
        SmallVector<OpFoldResult> stateOffsets = {q, lb.getIndexAttr(0),
                                                  lb.getIndexAttr(0)};
        Value stateBlock = ib.slice(iter[0], stateOffsets, stateSizes, 2);
        stateBlock = ib.matmulAccumulate(block, vTile, stateBlock,
                                         /*transposeA=*/true,
                                         /*transposeB=*/false);
        scf::YieldOp::create(
            lb, ll, ib.insert(stateBlock, iter[0], stateOffsets, stateSizes));
      });
  return {loop.getResult(0), newNorm};
}

std::pair<Value, Value>
LinearAttentionLowering::readOut(OpBuilder &nb, Value fqTile, Value phiTile,
                                 Value state, Value norm) {
  StructuredBuilder tb(nb, loc);
  OpFoldResult tokens = nb.getIndexAttr(options.tokenTile);
  Value num = tb.filled({tokens, nb.getIndexAttr(valueWidth)}, f32, 0.0);
  Value den = norm ? tb.filled({tokens}, f32, 0.0) : Value();
  auto denFrom = [&](StructuredBuilder &ib, Value rows, Value normRow,
                     Value den) {
    // den_i += Σ_c rows[i, c] normRow[c], loops (i, c).
    return ib.generic1(ValueRange{rows, normRow}, den,
                       {ib.map(2, {0, 1}), ib.map(2, {1}), ib.map(2, {0})},
                       StructuredBuilder::parallel(1, 1), multiplyAdd);
  };
  if (!hasRpe()) {
    num = tb.matmulAccumulate(fqTile, state, num, false, false);
    if (norm)
      den = denFrom(tb, fqTile, norm, den);
    return {num, den};
  }

  // den_i = Σ_p fq_ip (phi_i · z[p]) = Σ_c phi_ic (fq_i z)_c: one
  // contraction and one row reduction per tile of queries.
  if (norm) {
    Value projected = tb.matmulAccumulate(
        fqTile, norm, tb.filled({tokens, tb.dim(norm, 1)}, f32, 0.0), false,
        false);
    den = tb.generic1(ValueRange{projected, phiTile}, den,
                      {tb.map(2, {0, 1}), tb.map(2, {0, 1}), tb.map(2, {0})},
                      StructuredBuilder::parallel(1, 1), multiplyAdd);
  }

  if (usesValueBlocks())
    return {readOutByValueBlocks(nb, fqTile, phiTile, state, num), den};

  // num_i = Σ_p (fq_ip phi_i) T[p], one [tokens × g r] block per group of
  // g features.
  Value zeroIdx = tb.index(0), oneIdx = tb.index(1);
  Value upper = getValueOrCreateConstantIndexOp(nb, loc, featureGroups());
  auto loop = scf::ForOp::create(
      nb, loc, zeroIdx, upper, oneIdx, ValueRange{num},
      [&](OpBuilder &lb, Location ll, Value q, ValueRange iter) {
        StructuredBuilder ib(lb, ll);
        Value block = kroneckerBlock(lb, fqTile, q, phiTile);
        Value stateBlock = ib.slice(
            state, {q, lb.getIndexAttr(0), lb.getIndexAttr(0)},
            {lb.getIndexAttr(1), ib.dim(state, 1), ib.dim(state, 2)}, 2);
        scf::YieldOp::create(
            lb, ll,
            ib.matmulAccumulate(block, stateBlock, iter[0], false, false));
      });
  return {loop.getResult(0), den};
}

std::pair<Value, Value> LinearAttentionLowering::addIntraChunk(
    OpBuilder &nb, Value fqTile, Value phiTile, Value fkTile, Value psiTile,
    Value vTile, Value num, Value den) {
  StructuredBuilder tb(nb, loc);
  OpFoldResult tokens = nb.getIndexAttr(options.tokenTile);
  // scores = (fq fkᵀ) ⊙ (phi psiᵀ), kept where key j <= query i.
  Value scores = tb.matmulAccumulate(
      fqTile, fkTile, tb.filled({tokens, tokens}, f32, 0.0), false, true);
  if (hasRpe()) {
    Value mask = tb.matmulAccumulate(
        phiTile, psiTile, tb.filled({tokens, tokens}, f32, 0.0), false, true);
    scores =
        tb.generic1(ValueRange{scores, mask}, tb.empty({tokens, tokens}, f32),
                    {tb.map(2, {0, 1}), tb.map(2, {0, 1}), tb.map(2, {0, 1})},
                    StructuredBuilder::parallel(2),
                    [](OpBuilder &bb, Location nl, ValueRange args) {
                      return SmallVector<Value>{
                          arith::MulFOp::create(bb, nl, args[0], args[1])};
                    });
  }
  scores = tb.generic1(
      scores, tb.empty({tokens, tokens}, f32),
      {tb.map(2, {0, 1}), tb.map(2, {0, 1})}, StructuredBuilder::parallel(2),
      [](OpBuilder &bb, Location nl, ValueRange args) {
        Value i = linalg::IndexOp::create(bb, nl, 0);
        Value j = linalg::IndexOp::create(bb, nl, 1);
        Value visible =
            arith::CmpIOp::create(bb, nl, arith::CmpIPredicate::ule, j, i);
        Value zero = arith::ConstantOp::create(bb, nl, bb.getF32FloatAttr(0));
        return SmallVector<Value>{
            arith::SelectOp::create(bb, nl, visible, args[0], zero)};
      });
  // Later keys skipped, not multiplied by their zero score: a NaN or
  // infinity in v_j must not reach rows i < j.
  num = tb.causalMatmulAccumulate(scores, vTile, num);
  if (den)
    den = tb.generic1(scores, den, {tb.map(2, {0, 1}), tb.map(2, {0})},
                      StructuredBuilder::parallel(1, 1),
                      [](OpBuilder &bb, Location nl, ValueRange args) {
                        return SmallVector<Value>{
                            arith::AddFOp::create(bb, nl, args[1], args[0])};
                      });
  return {num, den};
}

Value LinearAttentionLowering::normalize(OpBuilder &nb, Value num, Value den) {
  StructuredBuilder tb(nb, loc);
  Type resultElement = op.getResult().getType().getElementType();
  Normalize mode = op.getNormalize();
  float eps = op.getEps().convertToFloat();
  SmallVector<Value> inputs = {num};
  SmallVector<AffineMap> maps = {tb.map(2, {0, 1})};
  if (den) {
    inputs.push_back(den);
    maps.push_back(tb.map(2, {0}));
  }
  maps.push_back(tb.map(2, {0, 1}));
  return tb.generic1(
      inputs, tb.empty(tb.dims(num), resultElement), maps,
      StructuredBuilder::parallel(2),
      [&](OpBuilder &bb, Location nl, ValueRange args) {
        Value value = normalizeScalar(bb, nl, mode, eps, args[0],
                                      args.size() > 2 ? args[1] : Value());
        return SmallVector<Value>{
            StructuredBuilder(bb, nl).convertScalar(value, resultElement)};
      });
}

Value LinearAttentionLowering::materializeKronecker(Value features,
                                                    Value positional) {
  // [B, H, N, m] ⊗ [B, H, N, r] -> [B, H, N, m, r] -> [B, H, N, m r].
  Value f = sb.toF32(features);
  SmallVector<OpFoldResult> sizes = sb.dims(f);
  sizes.push_back(sb.dim(positional, 3));
  Value product = sb.generic1(ValueRange{f, positional}, sb.empty(sizes, f32),
                              {sb.map(5, {0, 1, 2, 3}), sb.map(5, {0, 1, 2, 4}),
                               sb.map(5, {0, 1, 2, 3, 4})},
                              StructuredBuilder::parallel(5), multiply);
  SmallVector<ReassociationIndices> groups = {{0}, {1}, {2}, {3, 4}};
  return tensor::CollapseShapeOp::create(b, loc, product, groups);
}

OpFoldResult LinearAttentionLowering::featureGroups() {
  if (featureGroup == 1)
    return m;
  return b.getIndexAttr(staticM / featureGroup);
}

OpFoldResult LinearAttentionLowering::positionalGroups() {
  if (positionalGroup == 1)
    return padded(r, rpeWidth);
  return b.getIndexAttr(rpeWidth / positionalGroup);
}

SmallVector<OpFoldResult> LinearAttentionLowering::stateShape() {
  OpFoldResult columns = b.getIndexAttr(valueWidth);
  if (usesValueBlocks())
    return {m, positionalGroups(),
            b.getIndexAttr(positionalGroup * valueWidth)};
  if (hasRpe() && featureGroup > 1)
    return {featureGroups(), b.getIndexAttr(featureGroup * rpeWidth), columns};
  if (hasRpe())
    return {m, padded(r, rpeWidth), columns};
  return {padded(m, stateRows), columns};
}

SmallVector<OpFoldResult> LinearAttentionLowering::normShape() {
  if (hasRpe())
    return {m, padded(r, rpeWidth)};
  return {padded(m, stateRows)};
}

OpFoldResult LinearAttentionLowering::padded(OpFoldResult size,
                                             int64_t paddedSize) {
  return ShapedType::isDynamic(paddedSize)
             ? size
             : OpFoldResult(b.getIndexAttr(paddedSize));
}

std::tuple<Value, Value, Value>
LinearAttentionLowering::keyTiles(OpBuilder &nb, const ValueSlice &slice,
                                  Value start, OpFoldResult tokens) {
  int64_t featureWidth = hasRpe() ? staticM : stateRows;
  // Grouped heads: fk and v of the key/value head this query head reads;
  // psi is per query head.
  Value kvHead = keyValueHead(nb, slice.head);
  Value fkTile = tokenTile(nb, fk, slice.batch, kvHead, start, tokens,
                           nb.getIndexAttr(0), m, featureWidth);
  Value psiTile = hasRpe() ? tokenTile(nb, psi, slice.batch, slice.head, start,
                                       tokens, nb.getIndexAttr(0), r, rpeWidth)
                           : Value();
  Value vTile = tokenTile(nb, v, slice.batch, kvHead, start, tokens,
                          slice.column, slice.width, valueWidth);
  return {fkTile, psiTile, vTile};
}

std::pair<Value, Value>
LinearAttentionLowering::queryTiles(OpBuilder &nb, const ValueSlice &slice,
                                    Value start, OpFoldResult tokens) {
  int64_t featureWidth = hasRpe() ? staticM : stateRows;
  Value fqTile = tokenTile(nb, fq, slice.batch, slice.head, start, tokens,
                           nb.getIndexAttr(0), m, featureWidth);
  Value phiTile = hasRpe() ? tokenTile(nb, phi, slice.batch, slice.head, start,
                                       tokens, nb.getIndexAttr(0), r, rpeWidth)
                           : Value();
  return {fqTile, phiTile};
}

Value LinearAttentionLowering::validCorner(OpBuilder &nb, Value tile,
                                           OpFoldResult tokens,
                                           OpFoldResult width) {
  return StructuredBuilder(nb, loc).slice(
      tile, {nb.getIndexAttr(0), nb.getIndexAttr(0)}, {tokens, width}, 2);
}
