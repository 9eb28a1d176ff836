//===- MapForallToBlocks.cpp - flt-map-forall-to-blocks -------------------===//
//
// Marks the lowerings' outermost scf.forall loops as loops over GPU blocks
// right after flt-convert-to-linalg, before canonicalization could fold a
// loop of one iteration (B = H = 1) into host code.
//
//===----------------------------------------------------------------------===//

#include "flt/Codegen/Common/GPUMapping.h"
#include "flt/Codegen/Common/Passes.h"

namespace mlir::flt {
#define GEN_PASS_DEF_FLTMAPFORALLTOBLOCKS
#include "flt/Codegen/Common/Passes.h.inc"
} // namespace mlir::flt

using namespace mlir;
using namespace mlir::flt;

namespace {

struct FLTMapForallToBlocksPass
    : mlir::flt::impl::FLTMapForallToBlocksBase<FLTMapForallToBlocksPass> {
  void runOnOperation() override {
    getOperation()->walk<WalkOrder::PreOrder>([](scf::ForallOp forall) {
      if (!forall.getMapping())
        mapToLinearBlocks(forall);
      return WalkResult::skip(); // nested loops are not blocks
    });
  }
};

} // namespace
