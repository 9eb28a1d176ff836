//===- MapToGPU.cpp - flt-map-to-gpu --------------------------------------===//
//
// Block and thread foralls (flt-distribute-to-threads) -> gpu.launch, with
// per-block scratch buffers staged in dynamic shared memory (or per-block
// slices of a global buffer when shared memory runs out) and host buffers
// allocated on the device. See Passes.td for the contract and an example.
//
//===----------------------------------------------------------------------===//

#include "flt/Codegen/GPU/Passes.h"

#include "WarpContraction.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ValueBoundsOpInterface.h"

namespace mlir::flt {
#define GEN_PASS_DEF_FLTMAPTOGPU
#include "flt/Codegen/GPU/Passes.h.inc"
} // namespace mlir::flt

using namespace mlir;

namespace {

/// Scratch slices start at multiples of this (the widest vector access).
constexpr int64_t kScratchAlignment = 16;

bool hasMapping(scf::ForallOp forall, bool block) {
  std::optional<ArrayAttr> mapping = forall.getMapping();
  if (!mapping || mapping->empty())
    return false;
  return block ? isa<gpu::GPUBlockMappingAttr>((*mapping)[0])
               : isa<gpu::GPUThreadMappingAttr>((*mapping)[0]);
}

bool hasWarpMapping(scf::ForallOp forall) {
  std::optional<ArrayAttr> mapping = forall.getMapping();
  return mapping && !mapping->empty() &&
         isa<gpu::GPUWarpMappingAttr>((*mapping)[0]);
}

Value constant(OpBuilder &builder, Location loc, int64_t value) {
  return arith::ConstantIndexOp::create(builder, loc, value);
}

/// Bytes of one buffer of `type` with `dynamicSizes`, rounded up to the
/// scratch alignment; built at the builder's insertion point.
Value bufferBytes(OpBuilder &builder, Location loc, MemRefType type,
                  ValueRange dynamicSizes) {
  int64_t staticElements = 1;
  for (int64_t size : type.getShape())
    if (!ShapedType::isDynamic(size))
      staticElements *= size;
  int64_t elementBytes = type.getElementTypeBitWidth() / 8;
  Value bytes = constant(builder, loc, staticElements * elementBytes);
  for (Value size : dynamicSizes)
    bytes = builder.createOrFold<arith::MulIOp>(loc, bytes, size);
  Value align = constant(builder, loc, kScratchAlignment);
  Value rounded = builder.createOrFold<arith::CeilDivUIOp>(loc, bytes, align);
  return builder.createOrFold<arith::MulIOp>(loc, rounded, align);
}

/// `value` computed before `loop` when it does not depend on anything the
/// loop computes (a memref.dim of an argument, arithmetic on sizes): pure
/// ops are cloned in front of the loop. Null when it depends on the loop.
Value hoistOutOf(OpBuilder &builder, Operation *loop, Value value,
                 IRMapping &hoisted) {
  if (!loop->isAncestor(value.getParentBlock()->getParentOp()))
    return value;
  if (Value known = hoisted.lookupOrNull(value))
    return known;
  Operation *def = value.getDefiningOp();
  if (!def || def->getNumRegions() != 0 || !isPure(def))
    return Value();
  for (Value operand : def->getOperands())
    if (!hoistOutOf(builder, loop, operand, hoisted))
      return Value();
  Operation *clone = builder.clone(*def, hoisted);
  hoisted.map(def->getResults(), clone->getResults());
  return hoisted.lookup(value);
}

/// A per-block scratch buffer and where it comes from.
struct Scratch {
  memref::AllocOp alloc;
  bool shared = false;
  int64_t sharedOffset = 0; // bytes into the dynamic shared memory
  Value globalOffset;       // bytes into one block's global slice (host)
};

struct FLTMapToGPUPass : mlir::flt::impl::FLTMapToGPUBase<FLTMapToGPUPass> {
  using FLTMapToGPUBase::FLTMapToGPUBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func->hasAttr(mlir::flt::kHostFunctionAttrName))
      return;
    IRRewriter rewriter(&getContext());

    SmallVector<scf::ForallOp> blockLoops;
    func.getBody().walk<WalkOrder::PreOrder>([&](scf::ForallOp forall) {
      blockLoops.push_back(forall);
      return WalkResult::skip();
    });
    for (scf::ForallOp blockLoop : blockLoops) {
      if (!hasMapping(blockLoop, /*block=*/true)) {
        blockLoop.emitError("flt-map-to-gpu: expects block loops made by "
                            "flt-distribute-to-threads");
        return signalPassFailure();
      }
      if (failed(checkElementTypes(blockLoop)) ||
          failed(mapBlockLoop(rewriter, blockLoop)))
        return signalPassFailure();
    }
    if (failed(moveHostBuffersToDevice(rewriter, func)))
      return signalPassFailure();
  }

  /// Scratch buffers must be byte addressable (i1 is not).
  LogicalResult checkElementTypes(scf::ForallOp blockLoop) {
    WalkResult result = blockLoop.walk([&](memref::AllocOp alloc) {
      if (alloc.getType().getElementTypeBitWidth() % 8 != 0) {
        alloc.emitError("flt-map-to-gpu: scratch buffers of ")
            << alloc.getType().getElementType() << " are not supported";
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    return failure(result.wasInterrupted());
  }

  LogicalResult mapBlockLoop(RewriterBase &rewriter, scf::ForallOp blockLoop) {
    Location loc = blockLoop.getLoc();
    rewriter.setInsertionPoint(blockLoop);

    // Grid: the forall's iteration count, linearized.
    SmallVector<Value> tripCounts;
    Value blocks = constant(rewriter, loc, 1);
    for (auto [lb, ub, step] :
         llvm::zip(blockLoop.getMixedLowerBound(),
                   blockLoop.getMixedUpperBound(), blockLoop.getMixedStep())) {
      AffineExpr l, u, s;
      bindSymbols(rewriter.getContext(), l, u, s);
      Value count = getValueOrCreateConstantIndexOp(
          rewriter, loc,
          affine::makeComposedFoldedAffineApply(
              rewriter, loc, (u - l).ceilDiv(s), {lb, ub, step}));
      tripCounts.push_back(count);
      blocks = rewriter.createOrFold<arith::MulIOp>(loc, blocks, count);
    }

    // Scratch: shared memory first, in program order, while it lasts.
    SmallVector<Scratch> scratch;
    int64_t sharedBytes = 0;
    Value globalBytes = constant(rewriter, loc, 0);
    IRMapping hoisted;
    WalkResult walk = blockLoop.getBody()->walk([&](memref::AllocOp alloc) {
      if (!alloc.getSymbolOperands().empty() ||
          !alloc.getType().getLayout().isIdentity()) {
        alloc.emitError("flt-map-to-gpu: per-block buffers need the "
                        "identity layout");
        return WalkResult::interrupt();
      }
      // Reserve room for the largest size a block can ask for: a size
      // known before the launch as it is, a size computed inside a block
      // (a partial tile: min(32, L - i)) as its constant upper bound.
      MemRefType type = alloc.getType();
      SmallVector<int64_t> reserved(type.getShape());
      SmallVector<Value> hostSizes;
      unsigned dynamicIndex = 0;
      for (auto [dim, size] : llvm::enumerate(type.getShape())) {
        if (!ShapedType::isDynamic(size))
          continue;
        Value value = alloc.getDynamicSizes()[dynamicIndex++];
        if (Value host = hoistOutOf(rewriter, blockLoop, value, hoisted)) {
          hostSizes.push_back(host);
          continue;
        }
        FailureOr<int64_t> bound =
            ValueBoundsConstraintSet::computeConstantBound(
                presburger::BoundType::UB, value, /*stopCondition=*/nullptr,
                /*closedUB=*/true);
        if (failed(bound)) {
          alloc.emitError("flt-map-to-gpu: a per-block buffer's size must "
                          "be known before the launch or have a constant "
                          "upper bound");
          return WalkResult::interrupt();
        }
        reserved[dim] = *bound;
      }
      auto reservedType = MemRefType::get(reserved, type.getElementType());
      Scratch entry;
      entry.alloc = alloc;
      if (reservedType.hasStaticShape()) {
        int64_t bytes = llvm::alignTo(reservedType.getNumElements() *
                                          type.getElementTypeBitWidth() / 8,
                                      kScratchAlignment);
        if (sharedBytes + bytes <= sharedMemoryBytes) {
          entry.shared = true;
          entry.sharedOffset = sharedBytes;
          sharedBytes += bytes;
          scratch.push_back(entry);
          return WalkResult::advance();
        }
      }
      entry.globalOffset = globalBytes;
      globalBytes = rewriter.createOrFold<arith::AddIOp>(
          loc, globalBytes,
          bufferBytes(rewriter, loc, reservedType, hostSizes));
      scratch.push_back(entry);
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return failure();

    bool needsGlobal =
        llvm::any_of(scratch, [](const Scratch &s) { return !s.shared; });
    Value globalScratch;
    if (needsGlobal) {
      Value total =
          rewriter.createOrFold<arith::MulIOp>(loc, globalBytes, blocks);
      auto bytesType =
          MemRefType::get({ShapedType::kDynamic}, rewriter.getI8Type());
      globalScratch = gpu::AllocOp::create(rewriter, loc, bytesType,
                                           /*asyncToken=*/Type(), ValueRange{},
                                           ValueRange{total}, ValueRange{},
                                           /*hostShared=*/false)
                          .getMemref();
    }

    Value one = constant(rewriter, loc, 1);
    Value threadCount = constant(rewriter, loc, threads);
    Value sharedSize =
        sharedBytes > 0
            ? arith::ConstantIntOp::create(rewriter, loc, sharedBytes, 32)
                  .getResult()
            : Value();
    auto launch = gpu::LaunchOp::create(rewriter, loc, blocks, one, one,
                                        threadCount, one, one, sharedSize);
    if (needsGlobal) {
      rewriter.setInsertionPointAfter(launch);
      gpu::DeallocOp::create(rewriter, loc, /*asyncToken=*/Type(), ValueRange{},
                             globalScratch);
    }

    // Body: induction variables from the block id, then the forall's body.
    Block &body = launch.getBody().front();
    rewriter.setInsertionPointToStart(&body);
    auto terminator = gpu::TerminatorOp::create(rewriter, loc);
    rewriter.setInsertionPoint(terminator);
    Value blockId = launch.getBlockIds().x;
    SmallVector<Value> ivs;
    if (tripCounts.size() == 1) {
      ivs.push_back(blockId);
    } else {
      SmallVector<OpFoldResult> basis(tripCounts.begin(), tripCounts.end());
      auto delinearized = affine::AffineDelinearizeIndexOp::create(
          rewriter, loc, blockId, basis, /*hasOuterBound=*/true);
      ivs.append(delinearized.getResults().begin(),
                 delinearized.getResults().end());
    }
    for (auto [i, lbStep] : llvm::enumerate(llvm::zip(
             blockLoop.getMixedLowerBound(), blockLoop.getMixedStep()))) {
      auto [lb, step] = lbStep;
      AffineExpr index, l, s;
      bindDims(rewriter.getContext(), index);
      bindSymbols(rewriter.getContext(), l, s);
      ivs[i] = affine::makeComposedAffineApply(rewriter, loc, index * s + l,
                                               {ivs[i], lb, step});
    }
    Block *forallBody = blockLoop.getBody();
    rewriter.eraseOp(forallBody->getTerminator());
    rewriter.inlineBlockBefore(forallBody, terminator, ivs);
    rewriter.eraseOp(blockLoop);

    // Scratch buffers become views of shared or global memory.
    Value sharedMemory, globalSlice;
    rewriter.setInsertionPointToStart(&body);
    if (sharedBytes > 0) {
      auto workgroup = gpu::AddressSpaceAttr::get(rewriter.getContext(),
                                                  gpu::AddressSpace::Workgroup);
      sharedMemory = gpu::DynamicSharedMemoryOp::create(
          rewriter, loc,
          MemRefType::get({ShapedType::kDynamic}, rewriter.getI8Type(),
                          MemRefLayoutAttrInterface(), workgroup));
    }
    if (needsGlobal)
      globalSlice = rewriter.createOrFold<arith::MulIOp>(
          loc, launch.getBlockIds().x, globalBytes);
    for (Scratch &entry : scratch) {
      memref::AllocOp alloc = entry.alloc;
      rewriter.setInsertionPoint(alloc);
      MemRefType type = alloc.getType();
      Value view;
      if (entry.shared) {
        auto sharedType = MemRefType::get(
            type.getShape(), type.getElementType(), MemRefLayoutAttrInterface(),
            cast<MemRefType>(sharedMemory.getType()).getMemorySpace());
        Value shared =
            memref::ViewOp::create(rewriter, loc, sharedType, sharedMemory,
                                   constant(rewriter, loc, entry.sharedOffset),
                                   alloc.getDynamicSizes());
        view = memref::MemorySpaceCastOp::create(rewriter, loc, type, shared);
      } else {
        Value offset = rewriter.createOrFold<arith::AddIOp>(loc, globalSlice,
                                                            entry.globalOffset);
        view = memref::ViewOp::create(rewriter, loc, type, globalScratch,
                                      offset, alloc.getDynamicSizes());
      }
      rewriter.replaceOp(alloc, view);
    }
    launch.walk([&](memref::DeallocOp dealloc) { rewriter.eraseOp(dealloc); });

    // Thread loops -> the thread id, warp loops -> the warp id (all 32
    // lanes of a warp run its body), and a barrier after each.
    SmallVector<scf::ForallOp> threadLoops;
    launch.walk([&](scf::ForallOp forall) { threadLoops.push_back(forall); });
    for (scf::ForallOp threadLoop : threadLoops)
      if (failed(mapThreadLoop(rewriter, threadLoop)))
        return failure();
    return success();
  }

  LogicalResult mapThreadLoop(RewriterBase &rewriter, scf::ForallOp loop) {
    bool warps = hasWarpMapping(loop);
    if ((!warps && !hasMapping(loop, /*block=*/false)) || loop.getRank() != 1)
      return loop.emitError("flt-map-to-gpu: expects one-dimensional thread "
                            "or warp loops inside a block loop");
    if (warps && threads % flt::kWarpSize != 0)
      return loop.emitError("flt-map-to-gpu: warp loops need a multiple of ")
             << flt::kWarpSize << " threads, got "
             << static_cast<int64_t>(threads);
    int64_t workers = warps ? threads / flt::kWarpSize : threads;
    std::optional<int64_t> iterations =
        getConstantIntValue(loop.getMixedUpperBound()[0]);
    if (!iterations || *iterations > workers ||
        !isZeroInteger(loop.getMixedLowerBound()[0]) ||
        !isOneInteger(loop.getMixedStep()[0]))
      return loop.emitError("flt-map-to-gpu: a ")
             << (warps ? "warp" : "thread") << " loop must run 0 to at most "
             << workers << " in steps of 1";

    Location loc = loop.getLoc();
    rewriter.setInsertionPoint(loop);
    Value worker = gpu::ThreadIdOp::create(rewriter, loc, gpu::Dimension::x);
    if (warps)
      worker = arith::DivUIOp::create(rewriter, loc, worker,
                                      constant(rewriter, loc, flt::kWarpSize));
    Operation *anchor = loop;
    Block *body = loop.getBody();
    rewriter.eraseOp(body->getTerminator());
    if (*iterations == workers) {
      rewriter.inlineBlockBefore(body, loop, {worker});
    } else {
      Value active =
          arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::ult,
                                worker, constant(rewriter, loc, *iterations));
      auto guard = scf::IfOp::create(rewriter, loc, active);
      rewriter.inlineBlockBefore(body, guard.thenBlock()->getTerminator(),
                                 {worker});
      anchor = guard;
    }
    rewriter.setInsertionPointAfter(anchor);
    gpu::BarrierOp::create(rewriter, loc);
    rewriter.eraseOp(loop);
    return success();
  }

  /// Host-level buffers are device buffers; host code must not touch their
  /// contents.
  LogicalResult moveHostBuffersToDevice(RewriterBase &rewriter,
                                        func::FuncOp func) {
    SmallVector<Operation *> hostOps;
    func.getBody().walk<WalkOrder::PreOrder>([&](Operation *op) {
      if (isa<gpu::LaunchOp>(op))
        return WalkResult::skip();
      hostOps.push_back(op);
      return WalkResult::advance();
    });
    for (Operation *op : hostOps) {
      if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
        rewriter.setInsertionPoint(alloc);
        rewriter.replaceOpWithNewOp<gpu::AllocOp>(
            alloc, alloc.getType(), /*asyncToken=*/Type(), ValueRange{},
            alloc.getDynamicSizes(), alloc.getSymbolOperands(),
            /*hostShared=*/false);
        continue;
      }
      if (auto dealloc = dyn_cast<memref::DeallocOp>(op)) {
        rewriter.setInsertionPoint(dealloc);
        rewriter.replaceOpWithNewOp<gpu::DeallocOp>(
            dealloc, /*asyncToken=*/Type(), ValueRange{}, dealloc.getMemref());
        continue;
      }
      if (isa<memref::LoadOp, memref::StoreOp, memref::AllocaOp,
              memref::CopyOp>(op) ||
          (op->getDialect() && op->getDialect()->getNamespace() == "vector" &&
           !isPure(op))) {
        op->emitError("flt-map-to-gpu: host code would access a device "
                      "buffer directly (")
            << op->getName() << ")";
        return failure();
      }
    }
    return success();
  }
};

} // namespace
