//===- LinearAttention.cpp - flt.linear_attention -> linalg + scf ---------===//
//
// The fused lowering of DESIGN.md section 4. Per (b, h) and per slice of
// value columns (slices run in parallel and never reduce into each other),
// the state
//
//   T[p] = Σ_j (fk_jp psi_j) v_jᵀ     (m blocks of r × e_slice)
//   z    = Σ_j  fk_jᵀ psi_j            (m × r, for the normalizer)
//
// is accumulated over tiles of keys (one scf.forall over batch, head and
// slice), and each query tile reads it out (a second scf.forall over batch,
// head, tile of queries and slice, so that L feeds the threads too) as
//
//   num_i = Σ_p (fq_ip phi_i) T[p],   den_i = Σ_c phi_ic (fq_i z)_c.
//
// The Kronecker rows fk_j ⊗ psi_j and fq_i ⊗ phi_i only ever exist as one
// [tokens × g r] block for g consecutive features p (featureGroup; the
// state is laid out as [m / g, g r, e_slice] so that the block's rows of T
// are one slice): no [L, m r] or [L, S] tensor is formed.
//
// The value-block form (positionalGroup > 0, the GPU's) moves the Kronecker
// product to the other side of the contractions. With T laid out as
// [m, r, e_slice] (the same memory), for every group of G positional
// features c
//
//   T[:, c, :] += fkᵀ W,       W_j = psi_jc ⊗ v_j      ([tokens × G e])
//   num_i     += Σ_c phi_ic P_ic,   P = fq T[:, c, :]  ([tokens × G e])
//
// so a block forms G·e products per token instead of m·r (8× fewer at
// m = 64, r = 32, 8 value columns, G = 16), and each contraction has
// m × G e (G e wide) output tiles, enough for every warp of a block.
// Causal attention walks chunks of tokenTile tokens in one scf.forall over
// (batch, head, slice): the state of earlier chunks plus the masked
// quadratic form (fq fkᵀ) ⊙ (phi psiᵀ) inside the chunk, then the chunk is
// folded into the state.
//
// This is the linear form; LinearAttentionForm.cpp decides when the
// quadratic one (flt.kernel_attention with kernel = dot) is cheaper.
//
// Tiles are zero-padded to static shapes rounded up to the register tile
// (zero rows and columns add nothing to any sum), so that every contraction
// inside the loops has static sizes and vectorizes without masks.
//
// Without rpe the same structure runs with the state T = Σ_j fk_j v_jᵀ.
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
#include "mlir/Dialect/Tensor/Utils/Utils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

using namespace mlir;
using namespace mlir::flt;

namespace {

/// A static size rounded up to `multiple`, a dynamic one kept dynamic.
int64_t paddedSize(int64_t size, int64_t multiple) {
  return ShapedType::isDynamic(size) ? size : roundUp(size, multiple);
}

/// The lowering of one flt.linear_attention op.
class LinearAttentionLowering {
public:
  LinearAttentionLowering(LinearAttentionOp op, RewriterBase &rewriter,
                          const LinearAttentionLoweringOptions &options)
      : op(op), b(rewriter), loc(op.getLoc()), sb(rewriter, loc),
        options(options), f32(rewriter.getF32Type()) {}

  FailureOr<Value> lower();

private:
  // Whether the loops form Kronecker blocks from rpe features.
  bool hasRpe() { return static_cast<bool>(phi); }
  bool needsDenominator() { return op.getNormalize() != Normalize::None; }

  /// min(tile, extent - offset) as an OpFoldResult.
  OpFoldResult tileSize(OpBuilder &nb, int64_t tile, Value offset,
                        OpFoldResult extent);

  /// A [tokens, features] f32 tile of a per-token tensor [B, H, N, F] at
  /// (b, h, start, column), zero-padded to [tokenTile, paddedFeatures].
  Value tokenTile(OpBuilder &nb, Value tensor, Value bIdx, Value hIdx,
                  Value start, OpFoldResult tokens, OpFoldResult column,
                  OpFoldResult width, int64_t paddedWidth);

  /// Folds one tile of keys into the state (T, z).
  std::pair<Value, Value> updateState(OpBuilder &nb, Value fkTile,
                                      Value psiTile, Value vTile, Value state,
                                      Value norm);
  /// Reads the state out for one tile of queries: (num, den).
  std::pair<Value, Value> readOut(OpBuilder &nb, Value fqTile, Value phiTile,
                                  Value state, Value norm);
  /// The Kronecker block of feature group q: features[:, q g + i] ·
  /// positional[:, c] at column i r + c, a [tokens × g r] tile (the only
  /// form fk ⊗ psi and fq ⊗ phi take in the feature-block form).
  Value kroneckerBlock(OpBuilder &nb, Value features, Value q,
                       Value positional);
  /// The value block of positional group q: positional[:, q G + c] ·
  /// values[:, n] at column c e + n, a [tokens × G e] tile (the value-block
  /// form's only Kronecker product).
  Value valueBlock(OpBuilder &nb, Value positional, Value q, Value values);
  /// The value-block form of updateState's and readOut's Kronecker parts.
  Value updateStateByValueBlocks(OpBuilder &nb, Value fkTile, Value psiTile,
                                 Value vTile, Value state);
  Value readOutByValueBlocks(OpBuilder &nb, Value fqTile, Value phiTile,
                             Value state, Value num);
  /// The causal intra-chunk contribution, added to (num, den).
  std::pair<Value, Value> addIntraChunk(OpBuilder &nb, Value fqTile,
                                        Value phiTile, Value fkTile,
                                        Value psiTile, Value vTile, Value num,
                                        Value den);
  /// num / den per the op's normalization, in the result element type.
  Value normalize(OpBuilder &nb, Value num, Value den);

  /// fq ⊗ phi (or fk ⊗ psi) as a [B, H, N, m r] tensor: the unfused
  /// reference form materializes these and runs the plain (no rpe) loops.
  Value materializeKronecker(Value features, Value positional);

  /// Which value columns one parallel iteration owns.
  struct ValueSlice {
    Value batch, head, column;
    OpFoldResult width;
  };
  /// Zero-padded [tokens, features] tiles of fk, psi (rpe) and v / of fq,
  /// phi (rpe) starting at token `start`.
  std::tuple<Value, Value, Value> keyTiles(OpBuilder &nb,
                                           const ValueSlice &slice, Value start,
                                           OpFoldResult tokens);
  std::pair<Value, Value> queryTiles(OpBuilder &nb, const ValueSlice &slice,
                                     Value start, OpFoldResult tokens);
  /// The [tokens, width] corner of a padded output tile.
  Value validCorner(OpBuilder &nb, Value tile, OpFoldResult tokens,
                    OpFoldResult width);
  /// Shapes of one slice's state T ([m / g, g r, columns] with rpe in
  /// feature blocks, [m, r / G, G columns] in value blocks) and normalizer
  /// state z ([m, r]).
  SmallVector<OpFoldResult> stateShape();
  SmallVector<OpFoldResult> normShape();
  /// m / g: the steps of the feature loops and the state's leading size.
  OpFoldResult featureGroups();
  /// r / G: the steps of the positional loops of the value-block form.
  OpFoldResult positionalGroups();
  /// Whether the Kronecker products are formed on the value side.
  bool usesValueBlocks() { return hasRpe() && positionalGroup > 0; }
  /// `paddedSize` as an attribute, or `size` when that is dynamic.
  OpFoldResult padded(OpFoldResult size, int64_t paddedSize);

  /// The state (T, z) of keys [start, end) of one value slice, from zero:
  /// a loop over key tiles whose results are T (and z).
  scf::ForOp stateOfKeys(OpBuilder &nb, const ValueSlice &slice, Value start,
                         OpFoldResult end);
  /// The causal chunk walk over tokens [start, end) of one value slice,
  /// from the state (state, norm) of the tokens before `start`; writes the
  /// rows into `outRows` (one row per token from `start`) and returns it.
  Value causalWalk(OpBuilder &nb, const ValueSlice &slice, Value start,
                   OpFoldResult end, Value state, Value norm, Value outRows);
  /// Keys [0, extent) split into at most options.keyBlocks blocks of whole
  /// tiles, for every (batch, head, value slice).
  struct KeyBlocks {
    OpFoldResult batch, heads, columns, slices, extent;
    OpFoldResult tokens; // per block (the last one may have fewer)
    OpFoldResult count;  // blocks
  };
  KeyBlocks splitKeys(ArrayRef<OpFoldResult> sizes, OpFoldResult extent);
  /// [B, H, slices, (blocks,) shape].
  SmallVector<OpFoldResult> perBlockShape(const KeyBlocks &blocks,
                                          ArrayRef<OpFoldResult> shape,
                                          bool withBlocks);
  /// The [1, .., 1, shape] slice of `all` at `index`, rank-reduced to
  /// `shape`, and its parallel insertion.
  Value indexedSlice(OpBuilder &nb, Value all, ValueRange index,
                     ArrayRef<OpFoldResult> shape);
  void indexedParallelInsert(OpBuilder &nb, Value tile, Value all,
                             ValueRange index, ArrayRef<OpFoldResult> shape);
  ValueSlice sliceAt(OpBuilder &nb, const KeyBlocks &blocks, Value batch,
                     Value head, Value sliceIndex);
  /// Start, token count and end of block `blockIndex`.
  std::tuple<Value, OpFoldResult, OpFoldResult>
  blockRange(OpBuilder &nb, const KeyBlocks &blocks, Value blockIndex);
  /// Every block's own state (and normalizer state), in parallel:
  /// [B, H, slices, blocks, state shape] (and [.., m, r]).
  SmallVector<Value> blockStates(const KeyBlocks &blocks);
  /// The sums of `perBlock` over blocks: [B, H, slices, shape].
  SmallVector<Value> sumOverBlocks(const KeyBlocks &blocks,
                                   ValueRange perBlock);
  Value lowerCausal(ArrayRef<OpFoldResult> sizes, Value out);
  Value lowerCausalBlocked(ArrayRef<OpFoldResult> sizes, Value out);
  Value lowerTwoPhase(ArrayRef<OpFoldResult> sizes, Value out);

  LinearAttentionOp op;
  // The operands the loops read (the unfused form replaces them).
  Value fq, fk, v, phi, psi;
  OpBuilder &b;
  Location loc;
  StructuredBuilder sb;
  LinearAttentionLoweringOptions options;
  Type f32;

  // Padded static tile widths (or dynamic when the size is dynamic).
  int64_t stateRows = 0;       // m rounded up (no rpe) / unused with rpe
  int64_t rpeWidth = 0;        // r rounded up (rpe)
  int64_t valueWidth = 0;      // value-slice columns rounded up
  int64_t staticM = 0;         // m (dynamic possible)
  int64_t featureGroup = 1;    // features per Kronecker block (divides m)
  int64_t positionalGroup = 0; // > 0: value blocks of this many (divides r)
  OpFoldResult m, r;
};

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
static SmallVector<Value> multiply(OpBuilder &bb, Location nl,
                                   ValueRange args) {
  return {arith::MulFOp::create(bb, nl, args[0], args[1])};
}

/// The body of out += a · b.
static SmallVector<Value> multiplyAdd(OpBuilder &bb, Location nl,
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
  num = tb.matmulAccumulate(scores, vTile, num, false, false);
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
  Type resultElement = op.getType().getElementType();
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
  Value fkTile = tokenTile(nb, fk, slice.batch, slice.head, start, tokens,
                           nb.getIndexAttr(0), m, featureWidth);
  Value psiTile = hasRpe() ? tokenTile(nb, psi, slice.batch, slice.head, start,
                                       tokens, nb.getIndexAttr(0), r, rpeWidth)
                           : Value();
  Value vTile = tokenTile(nb, v, slice.batch, slice.head, start, tokens,
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

FailureOr<Value> LinearAttentionLowering::lower() {
  fq = op.getFq(), fk = op.getFk(), v = op.getV();
  phi = op.getPhi(), psi = op.getPsi();
  if (!options.fuseKronecker && phi) {
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
  Value out = sb.empty(*sizes, op.getType().getElementType());
  return op.getCausal() ? lowerCausal(*sizes, out) : lowerTwoPhase(*sizes, out);
}

scf::ForOp LinearAttentionLowering::stateOfKeys(OpBuilder &nb,
                                                const ValueSlice &slice,
                                                Value start, OpFoldResult end) {
  SmallVector<Value> inits = {sb.filled(stateShape(), f32, 0.0)};
  if (needsDenominator())
    inits.push_back(sb.filled(normShape(), f32, 0.0));
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
                                          Value norm, Value outRows) {
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
  return chunks.getResult(1);
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
  // g r, columns]) are the O(m r e) per (b, h) that SPEC allows. With
  // keyBlocks, phase 1 also runs over blocks of keys in parallel and sums their
  // states (O(keyBlocks m r e) per (b, h) in between).
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

} // namespace

FailureOr<Value> mlir::flt::lowerLinearAttentionLinearForm(
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
    return replaceOpWithLowered(
        rewriter, op, lowerLinearAttentionLinearForm(op, rewriter, options));
  }

  LinearAttentionLoweringOptions options;
};

} // namespace

void mlir::flt::populateLinearAttentionLoweringPatterns(
    RewritePatternSet &patterns,
    const LinearAttentionLoweringOptions &options) {
  patterns.add<LowerLinearAttention>(patterns.getContext(), options);
}
