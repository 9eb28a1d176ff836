//===- DistributeToThreads.cpp - flt-distribute-to-threads ----------------===//
//
// Buffers -> blocks and threads, still as scf.forall loops (so the result
// is ordinary SCF that flt-map-to-gpu turns into gpu.launch, and that a
// test can also run sequentially on the CPU). See Passes.td for the
// contract and an example.
//
//===----------------------------------------------------------------------===//

#include "flt/Codegen/Common/GPUMapping.h"
#include "flt/Codegen/GPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/TilingInterface.h"

namespace mlir::flt {
#define GEN_PASS_DEF_FLTDISTRIBUTETOTHREADS
#include "flt/Codegen/GPU/Passes.h.inc"
} // namespace mlir::flt

using namespace mlir;
using mlir::flt::isBlockLoop;
using mlir::flt::mapToLinearBlocks;

namespace {

/// Whether `forall` runs on the threads of a block: a thread loop, or a
/// warp loop of flt-tile-contractions-to-warps.
bool isThreadOrWarpLoop(scf::ForallOp forall) {
  std::optional<ArrayAttr> mapping = forall.getMapping();
  return mapping && !mapping->empty() &&
         isa<gpu::GPUThreadMappingAttr, gpu::GPUWarpMappingAttr>((*mapping)[0]);
}

ArrayAttr threadMapping(MLIRContext *context) {
  return ArrayAttr::get(
      context, {gpu::GPUThreadMappingAttr::get(context, gpu::MappingId::DimX)});
}

/// The dimensions of `op` whose points run on different threads: parallel
/// dimensions that index every output, so that no two points write the
/// same element. The others run sequentially inside a point.
SmallVector<unsigned> distributedDims(linalg::LinalgOp op) {
  SmallVector<unsigned> dims;
  for (auto [dim, iterator] : llvm::enumerate(op.getIteratorTypesArray())) {
    if (iterator != utils::IteratorType::parallel)
      continue;
    AffineExpr dimExpr = getAffineDimExpr(dim, op.getContext());
    bool indexesEveryOutput =
        llvm::all_of(op.getDpsInitsMutable(), [&](OpOperand &init) {
          return op.getMatchingIndexingMap(&init).getResultPosition(dimExpr) !=
                 std::nullopt;
        });
    if (indexesEveryOutput)
      dims.push_back(dim);
  }
  return dims;
}

/// Emits `op` restricted to the distributed point `linearIndex` (one
/// iteration of every distributed dimension, all of the others).
LogicalResult emitPoint(RewriterBase &rewriter, Location loc,
                        linalg::LinalgOp op, ArrayRef<unsigned> dims,
                        ArrayRef<Range> ranges, Value linearIndex) {
  SmallVector<OpFoldResult> basis;
  for (unsigned dim : dims)
    basis.push_back(ranges[dim].size);
  SmallVector<OpFoldResult> offsets, sizes;
  for (const Range &range : ranges) {
    offsets.push_back(rewriter.getIndexAttr(0));
    sizes.push_back(range.size);
  }
  if (!dims.empty()) {
    auto point = affine::AffineDelinearizeIndexOp::create(
        rewriter, loc, linearIndex, basis, /*hasOuterBound=*/true);
    for (auto [dim, index] : llvm::zip(dims, point.getResults())) {
      offsets[dim] = index;
      sizes[dim] = rewriter.getIndexAttr(1);
    }
  }
  auto tileable = cast<TilingInterface>(op.getOperation());
  if (failed(tileable.getTiledImplementation(rewriter, offsets, sizes)))
    return op.emitError("flt-distribute-to-threads: cannot tile this op to "
                        "one point per thread");
  return success();
}

/// The number of distributed points of `op` (static sizes folded).
Value pointCount(RewriterBase &rewriter, Location loc, ArrayRef<unsigned> dims,
                 ArrayRef<Range> ranges) {
  int64_t staticCount = 1;
  SmallVector<Value> dynamicSizes;
  for (unsigned dim : dims) {
    if (std::optional<int64_t> size = getConstantIntValue(ranges[dim].size))
      staticCount *= *size;
    else
      dynamicSizes.push_back(
          getValueOrCreateConstantIndexOp(rewriter, loc, ranges[dim].size));
  }
  Value count = arith::ConstantIndexOp::create(rewriter, loc, staticCount);
  for (Value size : dynamicSizes)
    count = arith::MulIOp::create(rewriter, loc, count, size);
  return count;
}

/// The distributed points of `op`: its loop ranges, the dimensions spread
/// over threads and how many points they make (built before `op`).
struct PointSpace {
  SmallVector<Range> ranges;
  SmallVector<unsigned> dims;
  Value count;
};

PointSpace pointSpace(RewriterBase &rewriter, linalg::LinalgOp op) {
  rewriter.setInsertionPoint(op);
  PointSpace space;
  space.ranges = op.createLoopRanges(rewriter, op.getLoc());
  space.dims = distributedDims(op);
  space.count = pointCount(rewriter, op.getLoc(), space.dims, space.ranges);
  return space;
}

/// Inside a block: a thread loop in which thread t runs the points
/// t, t + threads, ...
LogicalResult distributeInBlock(RewriterBase &rewriter, linalg::LinalgOp op,
                                int64_t threads) {
  Location loc = op.getLoc();
  PointSpace space = pointSpace(rewriter, op);
  auto threadLoop = scf::ForallOp::create(
      rewriter, loc, ArrayRef<OpFoldResult>{rewriter.getIndexAttr(threads)},
      ValueRange{}, threadMapping(rewriter.getContext()));
  rewriter.setInsertionPoint(threadLoop.getTerminator());
  Value thread = threadLoop.getInductionVar(0);
  Value step = arith::ConstantIndexOp::create(rewriter, loc, threads);
  auto points = scf::ForOp::create(rewriter, loc, thread, space.count, step);
  rewriter.setInsertionPoint(points.getBody()->getTerminator());
  if (failed(emitPoint(rewriter, loc, op, space.dims, space.ranges,
                       points.getInductionVar())))
    return failure();
  rewriter.eraseOp(op);
  return success();
}

/// At host level: a grid of blocks of `threads` points each.
LogicalResult distributeOverGrid(RewriterBase &rewriter, linalg::LinalgOp op,
                                 int64_t threads) {
  Location loc = op.getLoc();
  PointSpace space = pointSpace(rewriter, op);
  Value step = arith::ConstantIndexOp::create(rewriter, loc, threads);
  Value blocks = arith::CeilDivUIOp::create(rewriter, loc, space.count, step);
  auto blockLoop =
      scf::ForallOp::create(rewriter, loc, ArrayRef<OpFoldResult>{blocks},
                            ValueRange{}, std::nullopt);
  mapToLinearBlocks(blockLoop);
  rewriter.setInsertionPoint(blockLoop.getTerminator());
  auto threadLoop = scf::ForallOp::create(
      rewriter, loc, ArrayRef<OpFoldResult>{rewriter.getIndexAttr(threads)},
      ValueRange{}, threadMapping(rewriter.getContext()));
  rewriter.setInsertionPoint(threadLoop.getTerminator());
  Value first = arith::MulIOp::create(
      rewriter, loc, blockLoop.getInductionVar(0),
      arith::ConstantIndexOp::create(rewriter, loc, threads));
  Value point = arith::AddIOp::create(rewriter, loc, first,
                                      threadLoop.getInductionVar(0));
  Value inRange = arith::CmpIOp::create(
      rewriter, loc, arith::CmpIPredicate::ult, point, space.count);
  auto guard = scf::IfOp::create(rewriter, loc, inRange);
  rewriter.setInsertionPoint(guard.thenBlock()->getTerminator());
  if (failed(emitPoint(rewriter, loc, op, space.dims, space.ranges, point)))
    return failure();
  rewriter.eraseOp(op);
  return success();
}

/// Whether `op` itself (not its regions) writes memory, allocation aside.
bool writesMemory(Operation *op) {
  auto effects = dyn_cast<MemoryEffectOpInterface>(op);
  if (!effects)
    return op->getNumRegions() == 0 && !isPure(op);
  SmallVector<MemoryEffects::EffectInstance> instances;
  effects.getEffects(instances);
  return llvm::any_of(instances, [](const MemoryEffects::EffectInstance &e) {
    return isa<MemoryEffects::Write>(e.getEffect());
  });
}

/// Runs `op` on thread 0 only: a thread loop of one iteration.
void runOnOneThread(RewriterBase &rewriter, Operation *op) {
  rewriter.setInsertionPoint(op);
  auto threadLoop = scf::ForallOp::create(
      rewriter, op->getLoc(), ArrayRef<OpFoldResult>{rewriter.getIndexAttr(1)},
      ValueRange{}, threadMapping(rewriter.getContext()));
  rewriter.moveOpBefore(op, threadLoop.getTerminator());
}

struct FLTDistributeToThreadsPass
    : mlir::flt::impl::FLTDistributeToThreadsBase<FLTDistributeToThreadsPass> {
  using FLTDistributeToThreadsBase::FLTDistributeToThreadsBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    IRRewriter rewriter(&getContext());
    if (threads < 1 || threads > 1024) {
      func.emitError("flt-distribute-to-threads: threads must be in "
                     "[1, 1024], got ")
          << static_cast<int64_t>(threads);
      return signalPassFailure();
    }

    // Copies are linalg ops too, so that they are distributed like the rest.
    func.walk([&](memref::CopyOp copy) {
      rewriter.setInsertionPoint(copy);
      rewriter.replaceOpWithNewOp<linalg::CopyOp>(copy, copy.getSource(),
                                                  copy.getTarget());
    });

    // Outermost foralls are block loops; linalg ops outside them get grids.
    SmallVector<scf::ForallOp> blockLoops;
    SmallVector<linalg::LinalgOp> hostOps;
    func.getBody().walk<WalkOrder::PreOrder>([&](Operation *op) {
      if (auto forall = dyn_cast<scf::ForallOp>(op)) {
        blockLoops.push_back(forall);
        return WalkResult::skip();
      }
      if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op)) {
        hostOps.push_back(linalgOp);
        return WalkResult::skip();
      }
      return WalkResult::advance();
    });

    // A block loop may come mapped already (flt-convert-to-linalg's
    // map-to-blocks keeps one-iteration loops that way); what is in it is
    // distributed all the same. Ops inside thread or warp loops are left
    // alone, so running this pass twice changes nothing.
    for (scf::ForallOp blockLoop : blockLoops) {
      if (!blockLoop.getOutputs().empty()) {
        blockLoop.emitError("flt-distribute-to-threads: expects buffers "
                            "(run after bufferization)");
        return signalPassFailure();
      }
      if (!isBlockLoop(blockLoop))
        mapToLinearBlocks(blockLoop);
      SmallVector<linalg::LinalgOp> ops;
      SmallVector<Operation *> lonelyWrites;
      blockLoop.getBody()->walk<WalkOrder::PreOrder>([&](Operation *op) {
        if (auto inner = dyn_cast<scf::ForallOp>(op)) {
          if (isThreadOrWarpLoop(inner))
            return WalkResult::skip();
          inner.emitError("flt-distribute-to-threads: nested scf.forall "
                          "inside a block loop is not supported");
          signalPassFailure();
          return WalkResult::interrupt();
        }
        if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op)) {
          ops.push_back(linalgOp);
          return WalkResult::skip();
        }
        if (op->getNumRegions() == 0 && writesMemory(op) &&
            !isa<memref::AllocOp, memref::AllocaOp, memref::DeallocOp>(op))
          lonelyWrites.push_back(op);
        return WalkResult::advance();
      });
      for (linalg::LinalgOp op : ops)
        if (failed(distributeInBlock(rewriter, op, threads)))
          return signalPassFailure();
      for (Operation *op : lonelyWrites)
        runOnOneThread(rewriter, op);
    }
    for (linalg::LinalgOp op : hostOps)
      if (failed(distributeOverGrid(rewriter, op, threads)))
        return signalPassFailure();
  }
};

} // namespace
