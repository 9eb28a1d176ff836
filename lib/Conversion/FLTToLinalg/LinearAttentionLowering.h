//===- LinearAttentionLowering.h - the linear form's builder -*- C++ -*-===//
//
// The fused lowering of docs/Design.md section 4. Per (b, h) and per slice of
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

#ifndef FLT_LIB_CONVERSION_FLTTOLINALG_LINEARATTENTIONLOWERING_H
#define FLT_LIB_CONVERSION_FLTTOLINALG_LINEARATTENTIONLOWERING_H

#include "flt/Conversion/FLTToLinalg/FLTToLinalg.h"
#include "flt/Conversion/FLTToLinalg/LoweringUtils.h"
#include "flt/Dialect/FLT/IR/FLTOps.h"

#include "mlir/Dialect/SCF/IR/SCF.h"

namespace mlir::flt::detail {

/// A static size rounded up to `multiple`, a dynamic one kept dynamic.
inline int64_t paddedSize(int64_t size, int64_t multiple) {
  return ShapedType::isDynamic(size) ? size : roundUp(size, multiple);
}

/// The lowering of one flt.linear_attention op.
class LinearAttentionLowering {
public:
  LinearAttentionLowering(LinearAttentionOp op, RewriterBase &rewriter,
                          const LinearAttentionLoweringOptions &options)
      : op(op), b(rewriter), loc(op.getLoc()), sb(rewriter, loc),
        options(options), f32(rewriter.getF32Type()) {}

  /// The result, then with state(...) the final state T and normalizer z.
  FailureOr<SmallVector<Value>> lower();

private:
  // Whether the loops form Kronecker blocks from rpe features.
  bool hasRpe() { return static_cast<bool>(phi); }
  // The normalizer state z is kept for the denominator, and for the final
  // normalizer a state(...) op returns even when it does not divide.
  bool needsDenominator() {
    return op.getNormalize() != Normalize::None || initialState;
  }
  /// The key/value head that query head `head` reads (grouped heads: head /
  /// (H / H_kv)).
  Value keyValueHead(OpBuilder &nb, Value head);

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

  /// The state (T, z) of keys [start, end) of one value slice, from
  /// (initState, initNorm) or zero: a loop over key tiles whose results are
  /// T (and z).
  scf::ForOp stateOfKeys(OpBuilder &nb, const ValueSlice &slice, Value start,
                         OpFoldResult end, Value initState = Value(),
                         Value initNorm = Value());
  /// The causal chunk walk over tokens [start, end) of one value slice,
  /// from the state (state, norm) of the tokens before `start`; writes the
  /// rows into `outRows` (one row per token from `start`) and returns it,
  /// and the state after `end` in `finalState` / `finalNorm` when given.
  Value causalWalk(OpBuilder &nb, const ValueSlice &slice, Value start,
                   OpFoldResult end, Value state, Value norm, Value outRows,
                   Value *finalState = nullptr, Value *finalNorm = nullptr);
  /// The non-causal read-out of queries [start, end) from one state, tile
  /// by tile, into `outRows` (one row per query from `start`).
  Value readOutRows(OpBuilder &nb, const ValueSlice &slice, Value start,
                    Value end, Value state, Value norm, Value outRows);

  // The serving forms (state, packed sequences, padding; LinearAttention.cpp).
  /// One parallel iteration per (sequence, head, value slice), each walking
  /// its own token range from its own initial state.
  SmallVector<Value> lowerServing(ArrayRef<OpFoldResult> sizes);
  /// Sequence `seq`'s token range [start, end) (keys and, for packed or
  /// causal, queries) and the end of its query rows.
  std::tuple<Value, Value, Value> tokenRange(OpBuilder &nb, Value seq,
                                             OpFoldResult L, OpFoldResult S);
  /// One slice of T0 [.., m r, e] / z0 [.., m r] at (seq, head) in the
  /// loops' padded layouts (stateShape / normShape), and back.
  Value importState(OpBuilder &nb, Value seq, Value head,
                    const ValueSlice &slice);
  Value importNorm(OpBuilder &nb, Value seq, Value head);
  Value exportState(OpBuilder &nb, Value state, OpFoldResult width);
  Value exportNorm(OpBuilder &nb, Value norm);
  /// stateShape() <-> [m, r padded, columns] ([m padded, columns] without
  /// rpe): the same memory order, so these are reshapes.
  Value stateToCanonical(OpBuilder &nb, Value state);
  Value canonicalToState(OpBuilder &nb, Value canonical);
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
  // docs/Semantics.md section 5's operands (each may be null).
  Value initialState, initialNorm, cuSeqlens, lengths;
  // H / H_kv: query heads per key/value head.
  OpFoldResult headGroup;
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

/// linalg.generic bodies: an elementwise product, and out += a · b.
SmallVector<Value> multiply(OpBuilder &bb, Location nl, ValueRange args);
SmallVector<Value> multiplyAdd(OpBuilder &bb, Location nl, ValueRange args);

} // namespace mlir::flt::detail

#endif // FLT_LIB_CONVERSION_FLTTOLINALG_LINEARATTENTIONLOWERING_H
