//===- LinearAttention.cpp - flt.linear_attention -> linalg + scf ---------===//
//
// The loops of the linear form (see LinearAttentionLowering.h for the
// design): the two-phase non-causal form (states of key tiles, then a
// parallel read-out over query tiles), the causal chunk walk, and both
// with the keys split into parallel blocks; LinearAttentionTiles.cpp holds
// what each loop step computes. The pattern at the end lowers every
// flt.linear_attention that reaches flt-convert-to-linalg this way
// (flt-select-algorithm has rewritten the ones the quadratic form computes
// cheaper).
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

FailureOr<SmallVector<Value>> LinearAttentionLowering::lower() {
  fq = op.getFq(), fk = op.getFk(), v = op.getV();
  phi = op.getPhi(), psi = op.getPsi();
  initialState = op.getInitialState();
  initialNorm = op.getInitialNormalizer();
  cuSeqlens = op.getCuSeqlens();
  lengths = op.getLengths();
  // H / H_kv (1 unless heads are grouped).
  headGroup = b.getIndexAttr(1);
  if (op.mayGroupHeads()) {
    int64_t heads = op.getFq().getType().getDimSize(1);
    int64_t kvHeads = op.getFk().getType().getDimSize(1);
    if (ShapedType::isStatic(heads) && ShapedType::isStatic(kvHeads))
      headGroup = b.getIndexAttr(heads / kvHeads);
    else
      headGroup =
          arith::DivUIOp::create(
              b, loc, getValueOrCreateConstantIndexOp(b, loc, sb.dim(fq, 1)),
              getValueOrCreateConstantIndexOp(b, loc, sb.dim(fk, 1)))
              .getResult();
  }
  // The unfused form pairs fk's and psi's heads one to one and has no
  // ranges: only for the plain op.
  if (!options.fuseKronecker && phi && !op.usesServingOperands()) {
    // The unfused reference: Q' = fq ⊗ phi and K' = fk ⊗ psi in memory,
    // then the same loops as attention without rpe on m r features.
    fq = materializeKronecker(fq, phi);
    fk = materializeKronecker(fk, psi);
    phi = psi = Value();
  }
  m = sb.dim(fq, 3);
  r = hasRpe() ? sb.dim(phi, 3) : OpFoldResult();

  auto fqType = cast<RankedTensorType>(fq.getType());
  auto vType = cast<RankedTensorType>(v.getType());
  staticM = fqType.getDimSize(3);
  int64_t staticE = vType.getDimSize(3);
  int64_t slice = options.valueSlice;
  if (ShapedType::isStatic(staticE))
    slice = std::min(slice, staticE);
  valueWidth = roundUp(slice, options.columnMultiple);
  stateRows = paddedSize(staticM, options.rowMultiple);
  if (hasRpe())
    rpeWidth = paddedSize(cast<RankedTensorType>(phi.getType()).getDimSize(3),
                          options.rowMultiple);
  // The largest divisor of m up to the option: no padded features.
  featureGroup = 1;
  if (hasRpe() && ShapedType::isStatic(staticM) &&
      ShapedType::isStatic(rpeWidth)) {
    featureGroup =
        std::max<int64_t>(1, std::min<int64_t>(options.featureGroup, staticM));
    while (staticM % featureGroup != 0)
      --featureGroup;
  }
  // Value blocks: the largest divisor of r up to the option (1 when r is
  // dynamic); feature blocks are then not used.
  positionalGroup = 0;
  if (hasRpe() && options.positionalGroup > 0) {
    featureGroup = 1;
    positionalGroup = 1;
    if (ShapedType::isStatic(rpeWidth)) {
      positionalGroup = std::min(options.positionalGroup, rpeWidth);
      while (rpeWidth % positionalGroup != 0)
        --positionalGroup;
    }
  }

  FailureOr<SmallVector<OpFoldResult>> sizes = resultSizes(b, op, 0);
  if (failed(sizes))
    return failure();
  if (initialState || cuSeqlens || lengths) {
    // A decoding step has a handful of tokens: with static sizes, tiles
    // of just those (a 1-token step reads the state out once instead of
    // for a zero-padded tile of tokenTile rows).
    int64_t queries = op.getFq().getType().getDimSize(2);
    int64_t keys = op.getFk().getType().getDimSize(2);
    if (ShapedType::isStatic(queries) && ShapedType::isStatic(keys))
      options.tokenTile =
          std::clamp<int64_t>(std::max(queries, keys), 1, options.tokenTile);
    return lowerServing(*sizes);
  }
  Value out = sb.empty(*sizes, op.getResult().getType().getElementType());
  return SmallVector<Value>{op.getCausal() ? lowerCausal(*sizes, out)
                                           : lowerTwoPhase(*sizes, out)};
}

Value LinearAttentionLowering::keyValueHead(OpBuilder &nb, Value head) {
  if (isConstantIntValue(headGroup, 1))
    return head;
  return arith::DivUIOp::create(
      nb, loc, head, getValueOrCreateConstantIndexOp(nb, loc, headGroup));
}

scf::ForOp LinearAttentionLowering::stateOfKeys(OpBuilder &nb,
                                                const ValueSlice &slice,
                                                Value start, OpFoldResult end,
                                                Value initState,
                                                Value initNorm) {
  SmallVector<Value> inits = {initState ? initState
                                        : sb.filled(stateShape(), f32, 0.0)};
  if (needsDenominator())
    inits.push_back(initNorm ? initNorm : sb.filled(normShape(), f32, 0.0));
  return scf::ForOp::create(
      nb, loc, start, getValueOrCreateConstantIndexOp(nb, loc, end),
      sb.index(options.tokenTile), inits,
      [&](OpBuilder &lb, Location, Value j0, ValueRange iter) {
        OpFoldResult tokens = tileSize(lb, options.tokenTile, j0, end);
        auto [fkTile, psiTile, vTile] = keyTiles(lb, slice, j0, tokens);
        auto [newState, newNorm] =
            updateState(lb, fkTile, psiTile, vTile, iter[0],
                        iter.size() > 1 ? iter[1] : Value());
        SmallVector<Value> yielded = {newState};
        if (newNorm)
          yielded.push_back(newNorm);
        scf::YieldOp::create(lb, loc, yielded);
      });
}

Value LinearAttentionLowering::causalWalk(OpBuilder &nb,
                                          const ValueSlice &slice, Value start,
                                          OpFoldResult end, Value state,
                                          Value norm, Value outRows,
                                          Value *finalState, Value *finalNorm) {
  SmallVector<Value> inits = {state, outRows};
  if (norm)
    inits.push_back(norm);
  AffineExpr d0, d1;
  bindDims(nb.getContext(), d0, d1);
  auto chunks = scf::ForOp::create(
      nb, loc, start, getValueOrCreateConstantIndexOp(nb, loc, end),
      sb.index(options.tokenTile), inits,
      [&](OpBuilder &lb, Location, Value c0, ValueRange iter) {
        OpFoldResult tokens = tileSize(lb, options.tokenTile, c0, end);
        Value chunkState = iter[0], chunkNorm = norm ? iter[2] : Value();
        auto [fqTile, phiTile] = queryTiles(lb, slice, c0, tokens);
        auto [fkTile, psiTile, vTile] = keyTiles(lb, slice, c0, tokens);
        auto [num, den] = readOut(lb, fqTile, phiTile, chunkState, chunkNorm);
        std::tie(num, den) = addIntraChunk(lb, fqTile, phiTile, fkTile, psiTile,
                                           vTile, num, den);
        auto [newState, newNorm] =
            updateState(lb, fkTile, psiTile, vTile, chunkState, chunkNorm);
        Value valid =
            validCorner(lb, normalize(lb, num, den), tokens, slice.width);
        OpFoldResult row = affine::makeComposedFoldedAffineApply(
            lb, loc, d0 - d1, {c0, start});
        Value written = StructuredBuilder(lb, loc).insert(
            valid, iter[1], {row, lb.getIndexAttr(0)}, {tokens, slice.width});
        SmallVector<Value> yielded = {newState, written};
        if (newNorm)
          yielded.push_back(newNorm);
        scf::YieldOp::create(lb, loc, yielded);
      });
  if (finalState)
    *finalState = chunks.getResult(0);
  if (finalNorm)
    *finalNorm = norm ? chunks.getResult(2) : Value();
  return chunks.getResult(1);
}

Value LinearAttentionLowering::readOutRows(OpBuilder &nb,
                                           const ValueSlice &slice, Value start,
                                           Value end, Value state, Value norm,
                                           Value outRows) {
  AffineExpr d0, d1;
  bindDims(nb.getContext(), d0, d1);
  auto tiles = scf::ForOp::create(
      nb, loc, start, end, sb.index(options.tokenTile), ValueRange{outRows},
      [&](OpBuilder &lb, Location, Value i0, ValueRange iter) {
        OpFoldResult tokens = tileSize(lb, options.tokenTile, i0, end);
        auto [fqTile, phiTile] = queryTiles(lb, slice, i0, tokens);
        auto [num, den] = readOut(lb, fqTile, phiTile, state, norm);
        Value valid =
            validCorner(lb, normalize(lb, num, den), tokens, slice.width);
        OpFoldResult row = affine::makeComposedFoldedAffineApply(
            lb, loc, d0 - d1, {i0, start});
        Value written = StructuredBuilder(lb, loc).insert(
            valid, iter[0], {row, lb.getIndexAttr(0)}, {tokens, slice.width});
        scf::YieldOp::create(lb, loc, written);
      });
  return tiles.getResult(0);
}

Value LinearAttentionLowering::lowerCausal(ArrayRef<OpFoldResult> sizes,
                                           Value out) {
  if (options.keyBlocks > 0)
    return lowerCausalBlocked(sizes, out);
  // One walk over chunks per (b, h, value slice): earlier chunks through
  // the state, the chunk itself quadratically, then the chunk joins the
  // state. Chunks are sequential; batch, heads and slices run in parallel.
  OpFoldResult B = sizes[0], H = sizes[1], L = sizes[2], E = sizes[3];
  SmallVector<OpFoldResult> lbs(3, b.getIndexAttr(0));
  auto forall = scf::ForallOp::create(b, loc, lbs, {B, H, E},
                                      {b.getIndexAttr(1), b.getIndexAttr(1),
                                       b.getIndexAttr(options.valueSlice)},
                                      ValueRange{out}, std::nullopt);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(forall.getBody());
  ValueSlice slice{forall.getInductionVar(0), forall.getInductionVar(1),
                   forall.getInductionVar(2), OpFoldResult()};
  slice.width = tileSize(b, options.valueSlice, slice.column, E);
  Value shared = forall.getRegionIterArgs().front();

  Value state = sb.filled(stateShape(), f32, 0.0);
  Value norm = needsDenominator() ? sb.filled(normShape(), f32, 0.0) : Value();
  Value outSlice = sb.slice(
      shared, {slice.batch, slice.head, b.getIndexAttr(0), slice.column},
      {b.getIndexAttr(1), b.getIndexAttr(1), L, slice.width}, 2);
  Value written = causalWalk(b, slice, sb.index(0), L, state, norm, outSlice);

  b.setInsertionPointToStart(forall.getTerminator().getBody());
  SmallVector<OpFoldResult> strides(4, b.getIndexAttr(1));
  tensor::ParallelInsertSliceOp::create(
      b, loc, written, shared,
      {slice.batch, slice.head, b.getIndexAttr(0), slice.column},
      {b.getIndexAttr(1), b.getIndexAttr(1), L, slice.width}, strides);
  return forall.getResult(0);
}

LinearAttentionLowering::KeyBlocks
LinearAttentionLowering::splitKeys(ArrayRef<OpFoldResult> sizes,
                                   OpFoldResult extent) {
  KeyBlocks blocks;
  blocks.batch = sizes[0];
  blocks.heads = sizes[1];
  blocks.columns = sizes[3];
  blocks.extent = extent;
  AffineExpr d0;
  bindDims(b.getContext(), d0);
  blocks.slices = affine::makeComposedFoldedAffineApply(
      b, loc, d0.ceilDiv(options.valueSlice), {blocks.columns});
  // At most keyBlocks blocks of a whole number of tiles:
  // max(tile, ceil(extent / (keyBlocks · tile)) · tile) tokens each.
  int64_t tile = options.tokenTile;
  blocks.tokens = affine::makeComposedFoldedAffineMax(
      b, loc,
      AffineMap::get(1, 0,
                     {getAffineConstantExpr(tile, b.getContext()),
                      d0.ceilDiv(options.keyBlocks * tile) * tile},
                     b.getContext()),
      {extent});
  blocks.count = getAsOpFoldResult(b.createOrFold<arith::CeilDivUIOp>(
      loc, getValueOrCreateConstantIndexOp(b, loc, extent),
      getValueOrCreateConstantIndexOp(b, loc, blocks.tokens)));
  return blocks;
}

SmallVector<OpFoldResult> LinearAttentionLowering::perBlockShape(
    const KeyBlocks &blocks, ArrayRef<OpFoldResult> shape, bool withBlocks) {
  SmallVector<OpFoldResult> full = {blocks.batch, blocks.heads, blocks.slices};
  if (withBlocks)
    full.push_back(blocks.count);
  full.append(shape.begin(), shape.end());
  return full;
}

Value LinearAttentionLowering::indexedSlice(OpBuilder &nb, Value all,
                                            ValueRange index,
                                            ArrayRef<OpFoldResult> shape) {
  SmallVector<OpFoldResult> offsets(index.begin(), index.end());
  offsets.append(shape.size(), nb.getIndexAttr(0));
  SmallVector<OpFoldResult> tileSizes(index.size(), nb.getIndexAttr(1));
  tileSizes.append(shape.begin(), shape.end());
  return StructuredBuilder(nb, loc).slice(all, offsets, tileSizes,
                                          shape.size());
}

void LinearAttentionLowering::indexedParallelInsert(
    OpBuilder &nb, Value tile, Value all, ValueRange index,
    ArrayRef<OpFoldResult> shape) {
  SmallVector<OpFoldResult> offsets(index.begin(), index.end());
  offsets.append(shape.size(), nb.getIndexAttr(0));
  SmallVector<OpFoldResult> tileSizes(index.size(), nb.getIndexAttr(1));
  tileSizes.append(shape.begin(), shape.end());
  SmallVector<OpFoldResult> strides(offsets.size(), nb.getIndexAttr(1));
  tensor::ParallelInsertSliceOp::create(nb, loc, tile, all, offsets, tileSizes,
                                        strides);
}

LinearAttentionLowering::ValueSlice
LinearAttentionLowering::sliceAt(OpBuilder &nb, const KeyBlocks &blocks,
                                 Value batch, Value head, Value sliceIndex) {
  AffineExpr d0;
  bindDims(nb.getContext(), d0);
  Value column = affine::makeComposedAffineApply(
      nb, loc, d0 * options.valueSlice, {sliceIndex});
  return ValueSlice{batch, head, column,
                    tileSize(nb, options.valueSlice, column, blocks.columns)};
}

std::tuple<Value, OpFoldResult, OpFoldResult>
LinearAttentionLowering::blockRange(OpBuilder &nb, const KeyBlocks &blocks,
                                    Value blockIndex) {
  AffineExpr d0, d1, s0, s1;
  bindDims(nb.getContext(), d0, d1);
  bindSymbols(nb.getContext(), s0, s1);
  Value start = arith::MulIOp::create(
      nb, loc, blockIndex,
      getValueOrCreateConstantIndexOp(nb, loc, blocks.tokens));
  OpFoldResult tokens = affine::makeComposedFoldedAffineMin(
      nb, loc, AffineMap::get(1, 2, {s0, s1 - d0}, nb.getContext()),
      {OpFoldResult(start), blocks.tokens, blocks.extent});
  OpFoldResult end = affine::makeComposedFoldedAffineApply(
      nb, loc, d0 + d1, {OpFoldResult(start), tokens});
  return {start, tokens, end};
}

SmallVector<Value>
LinearAttentionLowering::blockStates(const KeyBlocks &blocks) {
  // Per (b, h, slice, block): the sum over the block's keys.
  SmallVector<OpFoldResult> stateSizes = stateShape(), normSizes = normShape();
  SmallVector<Value> outs = {
      sb.empty(perBlockShape(blocks, stateSizes, true), f32)};
  if (needsDenominator())
    outs.push_back(sb.empty(perBlockShape(blocks, normSizes, true), f32));
  SmallVector<OpFoldResult> zeros(4, b.getIndexAttr(0)),
      ones(4, b.getIndexAttr(1));
  auto forall = scf::ForallOp::create(
      b, loc, zeros, {blocks.batch, blocks.heads, blocks.slices, blocks.count},
      ones, outs, std::nullopt);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(forall.getBody());
  SmallVector<Value> index = forall.getInductionVars();
  ValueSlice slice = sliceAt(b, blocks, index[0], index[1], index[2]);
  auto [start, tokens, end] = blockRange(b, blocks, index[3]);
  scf::ForOp keys = stateOfKeys(b, slice, start, end);
  b.setInsertionPointToStart(forall.getTerminator().getBody());
  indexedParallelInsert(b, keys.getResult(0), forall.getRegionIterArgs()[0],
                        index, stateSizes);
  if (needsDenominator())
    indexedParallelInsert(b, keys.getResult(1), forall.getRegionIterArgs()[1],
                          index, normSizes);
  return SmallVector<Value>(forall.getResults());
}

SmallVector<Value>
LinearAttentionLowering::sumOverBlocks(const KeyBlocks &blocks,
                                       ValueRange perBlock) {
  SmallVector<SmallVector<OpFoldResult>> shapes = {stateShape(), normShape()};
  SmallVector<Value> outs;
  for (unsigned i = 0; i < perBlock.size(); ++i)
    outs.push_back(sb.empty(perBlockShape(blocks, shapes[i], false), f32));
  SmallVector<OpFoldResult> zeros(3, b.getIndexAttr(0)),
      ones(3, b.getIndexAttr(1));
  auto forall = scf::ForallOp::create(
      b, loc, zeros, {blocks.batch, blocks.heads, blocks.slices}, ones, outs,
      std::nullopt);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(forall.getBody());
  SmallVector<Value> outer = forall.getInductionVars();
  SmallVector<Value> inits;
  for (unsigned i = 0; i < perBlock.size(); ++i)
    inits.push_back(sb.filled(shapes[i], f32, 0.0));
  auto sum = scf::ForOp::create(
      b, loc, sb.index(0),
      getValueOrCreateConstantIndexOp(b, loc, blocks.count), sb.index(1), inits,
      [&](OpBuilder &lb, Location, Value k, ValueRange iter) {
        SmallVector<Value> index = outer;
        index.push_back(k);
        SmallVector<Value> sums;
        for (unsigned i = 0; i < perBlock.size(); ++i) {
          Value own = indexedSlice(lb, perBlock[i], index, shapes[i]);
          // In place: the running sum is one buffer.
          sums.push_back(linalg::AddOp::create(lb, loc,
                                               ValueRange{iter[i], own},
                                               ValueRange{iter[i]})
                             .getResult(0));
        }
        scf::YieldOp::create(lb, loc, sums);
      });
  b.setInsertionPointToStart(forall.getTerminator().getBody());
  for (unsigned i = 0; i < perBlock.size(); ++i)
    indexedParallelInsert(b, sum.getResult(i), forall.getRegionIterArgs()[i],
                          outer, shapes[i]);
  return SmallVector<Value>(forall.getResults());
}

Value LinearAttentionLowering::lowerCausalBlocked(ArrayRef<OpFoldResult> sizes,
                                                  Value out) {
  // The sequence in at most keyBlocks blocks, three parallel phases:
  //   1. per (b, h, slice, block): the block's own state, the sum over
  //      its keys (as in the non-causal state pass);
  //   2. per (b, h, slice): the exclusive prefix over blocks, so block k
  //      starts from the state of blocks 0 .. k-1;
  //   3. per (b, h, slice, block): the causal chunk walk over the block
  //      from that prefix.
  // Every block of every (b, h, slice) is independent in phases 1 and 3,
  // so a single head of a long sequence still fills a GPU; the price is
  // the state update done twice and two [B, H, slices, blocks] states
  // (bounded: blocks <= keyBlocks).
  KeyBlocks keyBlocks = splitKeys(sizes, sizes[2]);
  OpFoldResult B = sizes[0], H = sizes[1], slices = keyBlocks.slices,
               blocks = keyBlocks.count;
  SmallVector<OpFoldResult> stateSizes = stateShape(), normSizes = normShape();
  SmallVector<Value> own = blockStates(keyBlocks);
  SmallVector<OpFoldResult> zeros4(4, b.getIndexAttr(0)),
      ones4(4, b.getIndexAttr(1));

  // Phase 2: exclusive prefix over blocks, per (b, h, slice).
  SmallVector<Value> prefixOuts = {
      sb.empty(perBlockShape(keyBlocks, stateSizes, true), f32)};
  if (needsDenominator())
    prefixOuts.push_back(
        sb.empty(perBlockShape(keyBlocks, normSizes, true), f32));
  SmallVector<OpFoldResult> zeros3(3, b.getIndexAttr(0)),
      ones3(3, b.getIndexAttr(1));
  auto prefix = scf::ForallOp::create(b, loc, zeros3, {B, H, slices}, ones3,
                                      prefixOuts, std::nullopt);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(prefix.getBody());
    SmallVector<Value> outer(prefix.getInductionVars());
    SmallVector<SmallVector<OpFoldResult>> shapes = {stateSizes, normSizes};
    // This (b, h, slice)'s [blocks, shape] part of each prefix tensor.
    SmallVector<Value> mine, inits;
    for (auto [all, shape] : llvm::zip(prefix.getRegionIterArgs(), shapes)) {
      SmallVector<OpFoldResult> blocksShape = {blocks};
      blocksShape.append(shape.begin(), shape.end());
      mine.push_back(indexedSlice(b, all, outer, blocksShape));
      inits.push_back(sb.filled(shape, f32, 0.0));
    }
    inits.append(mine);
    unsigned parts = mine.size();
    auto walk = scf::ForOp::create(
        b, loc, sb.index(0), getValueOrCreateConstantIndexOp(b, loc, blocks),
        sb.index(1), inits,
        [&](OpBuilder &lb, Location, Value k, ValueRange iter) {
          StructuredBuilder lsb(lb, loc);
          SmallVector<Value> running, written;
          for (unsigned i = 0; i < parts; ++i) {
            ArrayRef<OpFoldResult> shape = shapes[i];
            SmallVector<OpFoldResult> offsets = {k};
            offsets.append(shape.size(), lb.getIndexAttr(0));
            SmallVector<OpFoldResult> tileSizes = {lb.getIndexAttr(1)};
            tileSizes.append(shape.begin(), shape.end());
            written.push_back(
                lsb.insert(iter[i], iter[parts + i], offsets, tileSizes));
            SmallVector<Value> index = outer;
            index.push_back(k);
            Value ownState = indexedSlice(lb, own[i], index, shape);
            // In place: the running sum is one buffer.
            running.push_back(
                linalg::AddOp::create(lb, loc, ValueRange{iter[i], ownState},
                                      ValueRange{iter[i]})
                    .getResult(0));
          }
          running.append(written);
          scf::YieldOp::create(lb, loc, running);
        });
    b.setInsertionPointToStart(prefix.getTerminator().getBody());
    for (auto [i, all, shape] :
         llvm::enumerate(prefix.getRegionIterArgs(), shapes)) {
      SmallVector<OpFoldResult> fullShape = {blocks};
      fullShape.append(shape.begin(), shape.end());
      indexedParallelInsert(b, walk.getResult(parts + i), all, outer,
                            fullShape);
    }
  }

  // Phase 3: the causal walk of each block from its prefix.
  auto walk = scf::ForallOp::create(b, loc, zeros4, {B, H, slices, blocks},
                                    ones4, ValueRange{out}, std::nullopt);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(walk.getBody());
  SmallVector<Value> index = walk.getInductionVars();
  ValueSlice slice = sliceAt(b, keyBlocks, index[0], index[1], index[2]);
  auto [start, tokens, end] = blockRange(b, keyBlocks, index[3]);
  Value state = indexedSlice(b, prefix.getResult(0), index, stateSizes);
  Value norm = needsDenominator()
                   ? indexedSlice(b, prefix.getResult(1), index, normSizes)
                   : Value();
  Value shared = walk.getRegionIterArgs().front();
  SmallVector<OpFoldResult> offsets = {slice.batch, slice.head, start,
                                       slice.column};
  SmallVector<OpFoldResult> rows = {b.getIndexAttr(1), b.getIndexAttr(1),
                                    tokens, slice.width};
  Value outRows = sb.slice(shared, offsets, rows, 2);
  Value written = causalWalk(b, slice, start, end, state, norm, outRows);
  b.setInsertionPointToStart(walk.getTerminator().getBody());
  tensor::ParallelInsertSliceOp::create(b, loc, written, shared, offsets, rows,
                                        ones4);
  return walk.getResult(0);
}

Value LinearAttentionLowering::lowerTwoPhase(ArrayRef<OpFoldResult> sizes,
                                             Value out) {
  // Phase 1, parallel over (b, h, value slice): fold every tile of keys into
  // that slice's state. Phase 2, parallel over (b, h, tile of queries,
  // value slice): read the states out. The states ([B, H, slices, m / g,
  // g r, columns]) are the O(m r e) per (b, h) that docs/Semantics.md allows.
  // With keyBlocks, phase 1 also runs over blocks of keys in parallel and sums
  // their states (O(keyBlocks m r e) per (b, h) in between).
  OpFoldResult B = sizes[0], H = sizes[1], L = sizes[2], E = sizes[3];
  OpFoldResult S = sb.dim(fk, 2);
  AffineExpr d0;
  bindDims(b.getContext(), d0);
  OpFoldResult slices = affine::makeComposedFoldedAffineApply(
      b, loc, d0.ceilDiv(options.valueSlice), {E});
  auto withPrefix = [&](ArrayRef<OpFoldResult> shape) {
    SmallVector<OpFoldResult> full = {B, H, slices};
    full.append(shape.begin(), shape.end());
    return full;
  };
  SmallVector<OpFoldResult> stateSizes = stateShape(), normSizes = normShape();
  Value states, norms;
  if (options.keyBlocks > 0) {
    // Phase 1 split over blocks of keys too: every block's state in
    // parallel, then their sum.
    KeyBlocks keyBlocks = splitKeys(sizes, S);
    SmallVector<Value> total = sumOverBlocks(keyBlocks, blockStates(keyBlocks));
    states = total[0];
    norms = needsDenominator() ? total[1] : Value();
  } else {
    SmallVector<Value> phaseOneOuts = {sb.empty(withPrefix(stateSizes), f32)};
    if (needsDenominator())
      phaseOneOuts.push_back(sb.empty(withPrefix(normSizes), f32));

    SmallVector<OpFoldResult> zeros3(3, b.getIndexAttr(0));
    auto build =
        scf::ForallOp::create(b, loc, zeros3, {B, H, slices},
                              SmallVector<OpFoldResult>(3, b.getIndexAttr(1)),
                              phaseOneOuts, std::nullopt);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(build.getBody());
      Value sIdx = build.getInductionVar(2);
      Value column = affine::makeComposedAffineApply(
          b, loc, d0 * options.valueSlice, {sIdx});
      ValueSlice slice{build.getInductionVar(0), build.getInductionVar(1),
                       column, tileSize(b, options.valueSlice, column, E)};
      scf::ForOp keys = stateOfKeys(b, slice, sb.index(0), S);
      b.setInsertionPointToStart(build.getTerminator().getBody());
      for (auto [result, shared, shape] : llvm::zip(
               keys.getResults(), build.getRegionIterArgs(),
               SmallVector<SmallVector<OpFoldResult>>{stateSizes, normSizes}))
        indexedParallelInsert(b, result, shared,
                              {slice.batch, slice.head, sIdx}, shape);
    }
    states = build.getResult(0);
    norms = needsDenominator() ? build.getResult(1) : Value();
  }

  SmallVector<OpFoldResult> zeros4(4, b.getIndexAttr(0));
  auto read = scf::ForallOp::create(b, loc, zeros4, {B, H, L, E},
                                    {b.getIndexAttr(1), b.getIndexAttr(1),
                                     b.getIndexAttr(options.tokenTile),
                                     b.getIndexAttr(options.valueSlice)},
                                    ValueRange{out}, std::nullopt);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(read.getBody());
  Value i0 = read.getInductionVar(2);
  ValueSlice slice{read.getInductionVar(0), read.getInductionVar(1),
                   read.getInductionVar(3), OpFoldResult()};
  slice.width = tileSize(b, options.valueSlice, slice.column, E);
  OpFoldResult tokens = tileSize(b, options.tokenTile, i0, L);
  Value sIdx = affine::makeComposedAffineApply(
      b, loc, d0.floorDiv(options.valueSlice), {slice.column});
  SmallVector<Value> stateIndex = {slice.batch, slice.head, sIdx};
  Value state = indexedSlice(b, states, stateIndex, stateSizes);
  Value norm = norms ? indexedSlice(b, norms, stateIndex, normSizes) : Value();
  auto [fqTile, phiTile] = queryTiles(b, slice, i0, tokens);
  auto [num, den] = readOut(b, fqTile, phiTile, state, norm);
  Value valid = validCorner(b, normalize(b, num, den), tokens, slice.width);

  b.setInsertionPointToStart(read.getTerminator().getBody());
  SmallVector<OpFoldResult> strides(4, b.getIndexAttr(1));
  tensor::ParallelInsertSliceOp::create(
      b, loc, valid, read.getRegionIterArgs().front(),
      {slice.batch, slice.head, i0, slice.column},
      {b.getIndexAttr(1), b.getIndexAttr(1), tokens, slice.width}, strides);
  return read.getResult(0);
}

//===----------------------------------------------------------------------===//
// Serving forms: state, packed sequences, padding
//===----------------------------------------------------------------------===//

std::tuple<Value, Value, Value>
LinearAttentionLowering::tokenRange(OpBuilder &nb, Value seq, OpFoldResult L,
                                    OpFoldResult S) {
  Value zero = sb.index(0);
  Value queries = getValueOrCreateConstantIndexOp(nb, loc, L);
  Value keys = getValueOrCreateConstantIndexOp(nb, loc, S);
  // Clamped whatever the run-time checks said, so that no tile ever
  // reaches outside the tensors (a table computed in the function is not
  // checked before the kernel).
  if (cuSeqlens) {
    Value next = arith::AddIOp::create(nb, loc, seq, sb.index(1));
    Value start =
        clampIndex(nb, loc, tableEntry(nb, loc, cuSeqlens, seq), zero, queries);
    Value end = clampIndex(nb, loc, tableEntry(nb, loc, cuSeqlens, next), start,
                           queries);
    return {start, end, end};
  }
  if (lengths) {
    Value end =
        clampIndex(nb, loc, tableEntry(nb, loc, lengths, seq), zero, keys);
    return {zero, end, arith::MinSIOp::create(nb, loc, end, queries)};
  }
  return {zero, keys, queries};
}

/// The type of `shape` (static where it is an attribute).
static RankedTensorType typeOf(ArrayRef<OpFoldResult> shape, Type element) {
  SmallVector<int64_t> sizes;
  for (OpFoldResult size : shape)
    sizes.push_back(getConstantIntValue(size).value_or(ShapedType::kDynamic));
  return RankedTensorType::get(sizes, element);
}

/// `source` expanded to `shape` by `reassociation`.
static Value expandTo(OpBuilder &b, Location loc, Value source,
                      ArrayRef<ReassociationIndices> reassociation,
                      ArrayRef<OpFoldResult> shape) {
  Type element = cast<RankedTensorType>(source.getType()).getElementType();
  return tensor::ExpandShapeOp::create(b, loc, typeOf(shape, element), source,
                                       reassociation, shape);
}

Value LinearAttentionLowering::canonicalToState(OpBuilder &nb,
                                                Value canonical) {
  if (!hasRpe())
    return canonical;
  OpFoldResult columns = nb.getIndexAttr(valueWidth);
  OpFoldResult rows = padded(r, rpeWidth);
  if (usesValueBlocks()) {
    // [m, r, n] -> [m, r / G, G, n] -> [m, r / G, G n].
    Value split = expandTo(
        nb, loc, canonical, {{0}, {1, 2}, {3}},
        {m, positionalGroups(), nb.getIndexAttr(positionalGroup), columns});
    return tensor::CollapseShapeOp::create(
        nb, loc, split, ArrayRef<ReassociationIndices>{{0}, {1}, {2, 3}});
  }
  if (featureGroup > 1) {
    // [m, r, n] -> [m / g, g, r, n] -> [m / g, g r, n].
    Value split = expandTo(
        nb, loc, canonical, {{0, 1}, {2}, {3}},
        {featureGroups(), nb.getIndexAttr(featureGroup), rows, columns});
    return tensor::CollapseShapeOp::create(
        nb, loc, split, ArrayRef<ReassociationIndices>{{0}, {1, 2}, {3}});
  }
  return canonical;
}

Value LinearAttentionLowering::stateToCanonical(OpBuilder &nb, Value state) {
  if (!hasRpe())
    return state;
  OpFoldResult columns = nb.getIndexAttr(valueWidth);
  OpFoldResult rows = padded(r, rpeWidth);
  if (usesValueBlocks()) {
    Value split = expandTo(
        nb, loc, state, {{0}, {1}, {2, 3}},
        {m, positionalGroups(), nb.getIndexAttr(positionalGroup), columns});
    return tensor::CollapseShapeOp::create(
        nb, loc, split, ArrayRef<ReassociationIndices>{{0}, {1, 2}, {3}});
  }
  if (featureGroup > 1) {
    Value split = expandTo(
        nb, loc, state, {{0}, {1, 2}, {3}},
        {featureGroups(), nb.getIndexAttr(featureGroup), rows, columns});
    return tensor::CollapseShapeOp::create(
        nb, loc, split, ArrayRef<ReassociationIndices>{{0, 1}, {2}, {3}});
  }
  return state;
}

Value LinearAttentionLowering::importState(OpBuilder &nb, Value seq, Value head,
                                           const ValueSlice &slice) {
  StructuredBuilder nsb(nb, loc);
  OpFoldResult rows = nsb.dim(initialState, 2);
  Value mine =
      nsb.slice(initialState, {seq, head, nb.getIndexAttr(0), slice.column},
                {nb.getIndexAttr(1), nb.getIndexAttr(1), rows, slice.width}, 2);
  OpFoldResult columns = nb.getIndexAttr(valueWidth);
  if (!hasRpe()) {
    Value zeros = nsb.filled({padded(m, stateRows), columns}, f32, 0.0);
    return nsb.insert(mine, zeros, {nb.getIndexAttr(0), nb.getIndexAttr(0)},
                      {m, slice.width});
  }
  Value split = expandTo(nb, loc, mine, {{0, 1}, {2}}, {m, r, slice.width});
  Value zeros = nsb.filled({m, padded(r, rpeWidth), columns}, f32, 0.0);
  Value canonical =
      nsb.insert(split, zeros,
                 {nb.getIndexAttr(0), nb.getIndexAttr(0), nb.getIndexAttr(0)},
                 {m, r, slice.width});
  return canonicalToState(nb, canonical);
}

Value LinearAttentionLowering::importNorm(OpBuilder &nb, Value seq,
                                          Value head) {
  StructuredBuilder nsb(nb, loc);
  OpFoldResult rows = nsb.dim(initialNorm, 2);
  Value mine = nsb.slice(initialNorm, {seq, head, nb.getIndexAttr(0)},
                         {nb.getIndexAttr(1), nb.getIndexAttr(1), rows}, 1);
  if (!hasRpe()) {
    Value zeros = nsb.filled({padded(m, stateRows)}, f32, 0.0);
    return nsb.insert(mine, zeros, {nb.getIndexAttr(0)}, {m});
  }
  Value split = expandTo(nb, loc, mine, {{0, 1}}, {m, r});
  Value zeros = nsb.filled({m, padded(r, rpeWidth)}, f32, 0.0);
  return nsb.insert(split, zeros, {nb.getIndexAttr(0), nb.getIndexAttr(0)},
                    {m, r});
}

Value LinearAttentionLowering::exportState(OpBuilder &nb, Value state,
                                           OpFoldResult width) {
  StructuredBuilder nsb(nb, loc);
  Value canonical = stateToCanonical(nb, state);
  if (!hasRpe())
    return nsb.slice(canonical, {nb.getIndexAttr(0), nb.getIndexAttr(0)},
                     {m, width}, 2);
  Value valid = nsb.slice(
      canonical, {nb.getIndexAttr(0), nb.getIndexAttr(0), nb.getIndexAttr(0)},
      {m, r, width}, 3);
  return tensor::CollapseShapeOp::create(
      nb, loc, valid, ArrayRef<ReassociationIndices>{{0, 1}, {2}});
}

Value LinearAttentionLowering::exportNorm(OpBuilder &nb, Value norm) {
  StructuredBuilder nsb(nb, loc);
  if (!hasRpe())
    return nsb.slice(norm, {nb.getIndexAttr(0)}, {m}, 1);
  Value valid =
      nsb.slice(norm, {nb.getIndexAttr(0), nb.getIndexAttr(0)}, {m, r}, 2);
  return tensor::CollapseShapeOp::create(
      nb, loc, valid, ArrayRef<ReassociationIndices>{{0, 1}});
}

SmallVector<Value>
LinearAttentionLowering::lowerServing(ArrayRef<OpFoldResult> sizes) {
  // One parallel iteration per (sequence, head, value slice): a sequence is
  // a batch entry, or with packed(...) a range of tokens of batch 0. Each
  // walks its own token range (causal) or folds its keys into the state and
  // reads the state out for its queries (non-causal), starting from T0 and
  // z0 with state(...). Rows no range covers (i >= n_b) stay zero.
  OpFoldResult H = sizes[1], L = sizes[2], E = sizes[3];
  OpFoldResult S = sb.dim(fk, 2);
  AffineExpr d0, d1;
  bindDims(b.getContext(), d0, d1);
  OpFoldResult sequences =
      cuSeqlens ? affine::makeComposedFoldedAffineApply(b, loc, d0 - 1,
                                                        {sb.dim(cuSeqlens, 0)})
                : sizes[0];
  OpFoldResult slices = affine::makeComposedFoldedAffineApply(
      b, loc, d0.ceilDiv(options.valueSlice), {E});
  Type element = op.getResult().getType().getElementType();
  SmallVector<Value> outs = {sb.filled(sizes, element, 0.0)};
  OpFoldResult stateRowsTotal;
  if (initialState) {
    stateRowsTotal = sb.dim(initialState, 2);
    outs.push_back(sb.empty({sequences, H, stateRowsTotal, E}, f32));
    // Every slice folds the same keys into z: each writes its own copy and
    // the first is the result (parallel writes must not overlap).
    outs.push_back(sb.empty({sequences, H, slices, stateRowsTotal}, f32));
  }
  SmallVector<OpFoldResult> zeros(3, b.getIndexAttr(0)),
      ones(3, b.getIndexAttr(1));
  auto forall = scf::ForallOp::create(b, loc, zeros, {sequences, H, slices},
                                      ones, outs, std::nullopt);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(forall.getBody());
    Value seq = forall.getInductionVar(0), head = forall.getInductionVar(1),
          sliceIndex = forall.getInductionVar(2);
    Value column = affine::makeComposedAffineApply(
        b, loc, d0 * options.valueSlice, {sliceIndex});
    ValueSlice slice{cuSeqlens ? sb.index(0) : seq, head, column,
                     tileSize(b, options.valueSlice, column, E)};
    auto [start, keyEnd, queryEnd] = tokenRange(b, seq, L, S);
    Value state = initialState ? importState(b, seq, head, slice)
                               : sb.filled(stateShape(), f32, 0.0);
    Value norm = needsDenominator()
                     ? (initialNorm ? importNorm(b, seq, head)
                                    : sb.filled(normShape(), f32, 0.0))
                     : Value();
    Value shared = forall.getRegionIterArgs()[0];
    OpFoldResult rowCount = affine::makeComposedFoldedAffineApply(
        b, loc, d0 - d1, {queryEnd, start});
    SmallVector<OpFoldResult> rowOffsets = {slice.batch, slice.head, start,
                                            slice.column};
    SmallVector<OpFoldResult> rowSizes = {b.getIndexAttr(1), b.getIndexAttr(1),
                                          rowCount, slice.width};
    Value outRows = sb.slice(shared, rowOffsets, rowSizes, 2);
    Value written, finalState, finalNorm;
    if (op.getCausal()) {
      written = causalWalk(b, slice, start, keyEnd, state, norm, outRows,
                           &finalState, &finalNorm);
    } else {
      scf::ForOp keys = stateOfKeys(b, slice, start, keyEnd, state, norm);
      finalState = keys.getResult(0);
      finalNorm = norm ? keys.getResult(1) : Value();
      written = readOutRows(b, slice, start, queryEnd, finalState, finalNorm,
                            outRows);
    }
    Value stateRows, normRow;
    if (initialState) {
      stateRows = exportState(b, finalState, slice.width);
      normRow = exportNorm(b, finalNorm);
    }
    b.setInsertionPointToStart(forall.getTerminator().getBody());
    SmallVector<OpFoldResult> strides4(4, b.getIndexAttr(1));
    tensor::ParallelInsertSliceOp::create(b, loc, written, shared, rowOffsets,
                                          rowSizes, strides4);
    if (initialState) {
      tensor::ParallelInsertSliceOp::create(
          b, loc, stateRows, forall.getRegionIterArgs()[1],
          {seq, head, b.getIndexAttr(0), slice.column},
          {b.getIndexAttr(1), b.getIndexAttr(1), stateRowsTotal, slice.width},
          strides4);
      tensor::ParallelInsertSliceOp::create(
          b, loc, normRow, forall.getRegionIterArgs()[2],
          {seq, head, sliceIndex, b.getIndexAttr(0)},
          {b.getIndexAttr(1), b.getIndexAttr(1), b.getIndexAttr(1),
           stateRowsTotal},
          strides4);
    }
  }
  SmallVector<Value> results = {forall.getResult(0)};
  if (initialState) {
    results.push_back(forall.getResult(1));
    // Slice 0's z; the slice axis is dropped by name (sequences or H may
    // be a static 1 too).
    results.push_back(tensor::ExtractSliceOp::create(
        b, loc, typeOf({sequences, H, stateRowsTotal}, f32),
        forall.getResult(2),
        {b.getIndexAttr(0), b.getIndexAttr(0), b.getIndexAttr(0),
         b.getIndexAttr(0)},
        {sequences, H, b.getIndexAttr(1), stateRowsTotal},
        SmallVector<OpFoldResult>(4, b.getIndexAttr(1))));
  }
  return results;
}

FailureOr<SmallVector<Value>> mlir::flt::lowerLinearAttentionLinearForm(
    LinearAttentionOp op, RewriterBase &rewriter,
    const LinearAttentionLoweringOptions &options) {
  return LinearAttentionLowering(op, rewriter, options).lower();
}

namespace {

struct LowerLinearAttention : OpRewritePattern<LinearAttentionOp> {
  LowerLinearAttention(MLIRContext *context,
                       const LinearAttentionLoweringOptions &options)
      : OpRewritePattern(context), options(options) {}

  LogicalResult matchAndRewrite(LinearAttentionOp op,
                                PatternRewriter &rewriter) const override {
    FailureOr<SmallVector<Value>> results =
        lowerLinearAttentionLinearForm(op, rewriter, options);
    if (failed(results))
      return rewriter.notifyMatchFailure(op, "cannot reify the result shape");
    replaceOpWithCasts(rewriter, op, *results);
    return success();
  }

  LinearAttentionLoweringOptions options;
};

} // namespace

void mlir::flt::populateLinearAttentionLoweringPatterns(
    RewritePatternSet &patterns,
    const LinearAttentionLoweringOptions &options) {
  patterns.add<LowerLinearAttention>(patterns.getContext(), options);
}
