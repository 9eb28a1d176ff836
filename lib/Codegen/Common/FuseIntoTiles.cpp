//===- FuseIntoTiles.cpp - flt-fuse-into-tiles ----------------------------===//
//
// Producer fusion through TilingInterface: a cheap producer that a loop
// reads tile by tile is computed tile by tile instead, so its full result
// is never materialized ("feature maps fuse into their consumer").
//
//===----------------------------------------------------------------------===//

#include "flt/Codegen/Common/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/Utils/Utils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/LoopLikeInterface.h"
#include "mlir/Interfaces/TilingInterface.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::flt {
#define GEN_PASS_DEF_FLTFUSEINTOTILES
#include "flt/Codegen/Common/Passes.h.inc"
} // namespace mlir::flt

using namespace mlir;

namespace {

/// Whether computing a tile of `producer` costs about as much as the tile:
/// no reduction loops, or only short static ones.
bool isCheapPerTile(linalg::LinalgOp producer, int64_t maxReduction) {
  if (!producer.hasPureTensorSemantics() || producer->getNumResults() == 0)
    return false;
  SmallVector<int64_t> ranges = producer.getStaticLoopRanges();
  for (auto [iterator, range] :
       llvm::zip(producer.getIteratorTypesArray(), ranges))
    if (iterator == utils::IteratorType::reduction &&
        (ShapedType::isDynamic(range) || range > maxReduction))
      return false;
  return true;
}

/// Whether the producer's body calls math functions (sin, cos, exp, ...):
/// recomputing such a tile costs more than reading it back.
bool computesMathFunctions(linalg::LinalgOp producer) {
  for (Operation &inner : producer->getRegion(0).front())
    if (isa<math::MathDialect>(inner.getDialect()))
      return true;
  return false;
}

/// Whether loops that run one after another (neither inside the other)
/// read `value` through slices: each such pass would recompute every tile
/// (a consumer's nested loops instead recompute tiles by design).
bool readBySeparatePasses(Value value) {
  SmallVector<Operation *> loops;
  for (Operation *user : value.getUsers())
    if (isa<tensor::ExtractSliceOp>(user))
      if (auto loop = user->getParentOfType<LoopLikeOpInterface>())
        loops.push_back(loop);
  for (Operation *a : loops)
    for (Operation *b : loops)
      if (a != b && !a->isAncestor(b) && !b->isAncestor(a))
        return true;
  return false;
}

struct FLTFuseIntoTilesPass
    : mlir::flt::impl::FLTFuseIntoTilesBase<FLTFuseIntoTilesPass> {
  using FLTFuseIntoTilesBase::FLTFuseIntoTilesBase;

  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    // Each fusion creates new slices (of the producer's operands): repeat
    // until none is left to fuse.
    for (bool changed = true; changed;) {
      changed = false;
      SmallVector<tensor::ExtractSliceOp> candidates;
      getOperation()->walk([&](tensor::ExtractSliceOp slice) {
        auto producer = slice.getSource().getDefiningOp<linalg::LinalgOp>();
        // A tensor that separate passes read (the state, query and key
        // passes of a fused backward) would be recomputed by each: fused
        // for arithmetic, materialized once for sines and exponentials
        // (measured: the FLT layer's fused backward at L = 16384 went from
        // 343 to 254 ms).
        if (producer && isCheapPerTile(producer, maxReduction) &&
            slice->getParentOfType<LoopLikeOpInterface>() &&
            producer->getParentRegion() != slice->getParentRegion() &&
            !(computesMathFunctions(producer) &&
              readBySeparatePasses(slice.getSource())))
          candidates.push_back(slice);
      });
      for (tensor::ExtractSliceOp slice : candidates) {
        rewriter.setInsertionPoint(slice);
        FailureOr<TilingResult> tiled =
            tensor::replaceExtractSliceWithTiledProducer(
                rewriter, slice, cast<OpResult>(slice.getSource()));
        if (failed(tiled) || tiled->tiledValues.empty())
          continue;
        Value value = tiled->tiledValues.front();
        if (value.getType() != slice.getType())
          value = tensor::createCanonicalRankReducingExtractSliceOp(
              rewriter, slice.getLoc(), value, slice.getType());
        rewriter.replaceOp(slice, value);
        changed = true;
      }
    }
    // Tiles were computed into slices of the producers' full-size init
    // tensors; make those inits tile-sized, then drop the dead producers.
    RewritePatternSet patterns(&getContext());
    tensor::populateFoldTensorEmptyPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
