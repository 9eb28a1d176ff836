//===- TileContractionsToWarps.cpp - flt-tile-contractions-to-warps -------===//
//
// Matrix products inside GPU blocks -> loops over warp tiles of 16 x 8
// outputs, each marked for tensor cores (flt-contractions-to-mma lowers
// them after flt-map-to-gpu). See Passes.td for the contract and an
// example.
//
//===----------------------------------------------------------------------===//

#include "flt/Codegen/GPU/Passes.h"

#include "WarpContraction.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/TilingInterface.h"

namespace mlir::flt {
#define GEN_PASS_DEF_FLTTILECONTRACTIONSTOWARPS
#include "flt/Codegen/GPU/Passes.h.inc"
} // namespace mlir::flt

using namespace mlir;
using namespace mlir::flt;

namespace {

/// The tensor-core operand type for the layer `func` computes: the
/// precision of its half-precision inputs or outputs (bf16 first: its
/// range is f32's), TF32 for f32 layers only when allowed.
std::optional<MMAType> mmaTypeFor(func::FuncOp func, bool allowTF32) {
  bool bf16 = false, f16 = false;
  auto note = [&](Type type) {
    auto shaped = dyn_cast<ShapedType>(type);
    if (!shaped)
      return;
    bf16 |= isa<BFloat16Type>(shaped.getElementType());
    f16 |= isa<Float16Type>(shaped.getElementType());
  };
  llvm::for_each(func.getArgumentTypes(), note);
  llvm::for_each(func.getResultTypes(), note);
  if (bf16)
    return MMAType::BF16;
  if (f16)
    return MMAType::F16;
  if (allowTF32)
    return MMAType::TF32;
  return std::nullopt;
}

ArrayAttr warpMapping(MLIRContext *context) {
  return ArrayAttr::get(context, {gpu::GPUWarpMappingAttr::get(
                                     context, gpu::MappingId::LinearDim0)});
}

/// `value` (a float) as the tensor core sees it when it is an operand of
/// type `type`: rounded to bf16/f16 (to nearest even, as the GPU's
/// conversion does), or cut to TF32's 10 mantissa bits (the tensor core
/// ignores the low 13 bits of an f32 register).
Value roundToOperandType(OpBuilder &builder, Location loc, Value value,
                         MMAType type) {
  Type valueType = value.getType();
  if (type == MMAType::TF32) {
    if (!valueType.isF32())
      return value; // a half holds no more than TF32 does
    Value bits =
        arith::BitcastOp::create(builder, loc, builder.getI32Type(), value);
    Value mask = arith::ConstantIntOp::create(
        builder, loc, static_cast<int32_t>(0xFFFFE000u), 32);
    return arith::BitcastOp::create(
        builder, loc, valueType,
        arith::AndIOp::create(builder, loc, bits, mask));
  }
  Type operandType = type == MMAType::BF16 ? Type(builder.getBF16Type())
                                           : Type(builder.getF16Type());
  // flt's tiles are f32; a half input of the other half type is left as
  // it is (the emulation then skips its rounding).
  if (!valueType.isF32())
    return value;
  Value narrow = arith::TruncFOp::create(builder, loc, operandType, value);
  return arith::ExtFOp::create(builder, loc, valueType, narrow);
}

/// Rounds the two inputs inside the body of `tile` to the operand type, so
/// that a run on the CPU computes what the tensor cores compute.
void roundOperandsInBody(RewriterBase &rewriter, Operation *tile,
                         MMAType type) {
  Block &body = tile->getRegion(0).front();
  for (BlockArgument input : body.getArguments().take_front(2)) {
    SmallVector<OpOperand *> uses = llvm::map_to_vector(
        input.getUses(), [](OpOperand &use) { return &use; });
    rewriter.setInsertionPointToStart(&body);
    Value rounded = roundToOperandType(rewriter, tile->getLoc(), input, type);
    for (OpOperand *use : uses)
      rewriter.modifyOpInPlace(use->getOwner(), [&] { use->set(rounded); });
  }
}

/// Replaces `op` by a loop over warps in which warp w computes the 16 x 8
/// output tiles w, w + warps, ... (row-major over the tile grid), each a
/// copy of `op` on subviews marked with the operand type.
LogicalResult tileToWarps(RewriterBase &rewriter, linalg::LinalgOp op,
                          const Contraction &contraction, MMAType type,
                          int64_t warps, bool roundOperands) {
  Location loc = op.getLoc();
  SmallVector<int64_t> sizes = op.getStaticLoopRanges();
  int64_t rows = sizes[contraction.m], columns = sizes[contraction.n],
          depth = sizes[contraction.k];
  int64_t rowTiles = rows / kMMARows, columnTiles = columns / kMMAColumns;
  int64_t tiles = rowTiles * columnTiles;
  int64_t warpCount = std::min(warps, tiles);

  rewriter.setInsertionPoint(op);
  auto warpLoop = scf::ForallOp::create(
      rewriter, loc, ArrayRef<OpFoldResult>{rewriter.getIndexAttr(warpCount)},
      ValueRange{}, warpMapping(rewriter.getContext()));
  rewriter.setInsertionPoint(warpLoop.getTerminator());
  auto tileLoop = scf::ForOp::create(
      rewriter, loc, warpLoop.getInductionVar(0),
      arith::ConstantIndexOp::create(rewriter, loc, tiles),
      arith::ConstantIndexOp::create(rewriter, loc, warpCount));
  rewriter.setInsertionPoint(tileLoop.getBody()->getTerminator());
  auto tile = affine::AffineDelinearizeIndexOp::create(
      rewriter, loc, tileLoop.getInductionVar(),
      ArrayRef<int64_t>{rowTiles, columnTiles}, /*hasOuterBound=*/true);

  AffineExpr index = rewriter.getAffineDimExpr(0);
  SmallVector<OpFoldResult> offsets(3), tileSizes(3);
  offsets[contraction.m] = affine::makeComposedFoldedAffineApply(
      rewriter, loc, index * kMMARows, {OpFoldResult(tile.getResult(0))});
  tileSizes[contraction.m] = rewriter.getIndexAttr(kMMARows);
  offsets[contraction.n] = affine::makeComposedFoldedAffineApply(
      rewriter, loc, index * kMMAColumns, {OpFoldResult(tile.getResult(1))});
  tileSizes[contraction.n] = rewriter.getIndexAttr(kMMAColumns);
  offsets[contraction.k] = rewriter.getIndexAttr(0);
  tileSizes[contraction.k] = rewriter.getIndexAttr(depth);

  FailureOr<TilingResult> tiled =
      cast<TilingInterface>(op.getOperation())
          .getTiledImplementation(rewriter, offsets, tileSizes);
  if (failed(tiled) || tiled->tiledOps.size() != 1)
    return op.emitError("flt-tile-contractions-to-warps: cannot tile this "
                        "contraction to warp tiles");
  Operation *warpTile = tiled->tiledOps.front();
  warpTile->setAttr(kMMAAttrName,
                    rewriter.getStringAttr(stringifyMMAType(type)));
  if (roundOperands)
    roundOperandsInBody(rewriter, warpTile, type);
  rewriter.eraseOp(op);
  return success();
}

/// Whether tensor cores can run `op` as whole warp tiles: static sizes
/// that are multiples of the mma shape.
bool fitsWarpTiles(linalg::LinalgOp op, const Contraction &contraction,
                   MMAType type) {
  SmallVector<int64_t> sizes = op.getStaticLoopRanges();
  auto multipleOf = [](int64_t size, int64_t step) {
    return !ShapedType::isDynamic(size) && size > 0 && size % step == 0;
  };
  return multipleOf(sizes[contraction.m], kMMARows) &&
         multipleOf(sizes[contraction.n], kMMAColumns) &&
         multipleOf(sizes[contraction.k], mmaDepth(type));
}

struct FLTTileContractionsToWarpsPass
    : mlir::flt::impl::FLTTileContractionsToWarpsBase<
          FLTTileContractionsToWarpsPass> {
  using FLTTileContractionsToWarpsBase::FLTTileContractionsToWarpsBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (threads < kWarpSize || threads % kWarpSize != 0) {
      func.emitError("flt-tile-contractions-to-warps: threads must be a "
                     "positive multiple of ")
          << kWarpSize << ", got " << static_cast<int64_t>(threads);
      return signalPassFailure();
    }
    std::optional<MMAType> type = mmaTypeFor(func, allowTF32);
    if (!type)
      return; // an f32 layer without TF32: the SIMT mapping does it all

    // Contractions inside the (future) block loops; host-level ones get
    // grids of their own in flt-distribute-to-threads.
    SmallVector<std::pair<linalg::LinalgOp, Contraction>> candidates;
    func.getBody().walk<WalkOrder::PreOrder>([&](scf::ForallOp blockLoop) {
      blockLoop.getBody()->walk<WalkOrder::PreOrder>([&](Operation *op) {
        if (isa<scf::ForallOp>(op))
          return WalkResult::skip(); // mapped already
        auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
        if (!linalgOp)
          return WalkResult::advance();
        if (std::optional<Contraction> contraction = matchContraction(linalgOp))
          if (fitsWarpTiles(linalgOp, *contraction, *type))
            candidates.emplace_back(linalgOp, *contraction);
        return WalkResult::skip();
      });
      return WalkResult::skip();
    });

    IRRewriter rewriter(&getContext());
    for (auto &[op, contraction] : candidates)
      if (failed(tileToWarps(rewriter, op, contraction, *type,
                             threads / kWarpSize, emulateOperandRounding)))
        return signalPassFailure();
  }
};

} // namespace
