//===- FLTToLinalgPass.cpp - flt-convert-to-linalg ------------------------===//

#include "flt/Conversion/FLTToLinalg/FLTToLinalg.h"
#include "flt/Conversion/Passes.h"
#include "flt/Dialect/FLT/IR/FLTOps.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::flt {
#define GEN_PASS_DEF_FLTCONVERTTOLINALG
#include "flt/Conversion/Passes.h.inc"
} // namespace mlir::flt

using namespace mlir;
using namespace mlir::flt;

namespace {

struct FLTConvertToLinalgPass
    : mlir::flt::impl::FLTConvertToLinalgBase<FLTConvertToLinalgPass> {
  using FLTConvertToLinalgBase::FLTConvertToLinalgBase;

  void runOnOperation() override {
    if (tokenTile <= 0 || valueSlice <= 0 || rowMultiple <= 0) {
      getOperation()->emitError()
          << "flt-convert-to-linalg: token-tile, value-slice and "
             "row-multiple must be positive";
      return signalPassFailure();
    }
    LinearAttentionLoweringOptions options;
    options.fuseKronecker = fuseKronecker;
    options.tokenTile = tokenTile;
    options.valueSlice = valueSlice;
    options.rowMultiple = rowMultiple;

    RewritePatternSet patterns(&getContext());
    populateFeatureMapLoweringPatterns(patterns);
    populateSpectralLoweringPatterns(patterns);
    populatePositionTransformLoweringPatterns(patterns);
    populateKernelAttentionLoweringPatterns(patterns, tokenTile);
    populateToeplitzFFTLoweringPatterns(patterns);
    populateToeplitzMethodPatterns(patterns);
    populateLinearAttentionLoweringPatterns(patterns, options);
    // Patterns only create ops; no folding is wanted here (it would fold the
    // fresh IR before later passes see it whole).
    GreedyRewriteConfig config;
    config.enableFolding(false);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns),
                                     config)))
      return signalPassFailure();

    // Ops without a CPU lowering yet are reported, not silently kept.
    WalkResult unsupported = getOperation()->walk([](Operation *op) {
      if (isa<FLTDialect>(op->getDialect())) {
        op->emitError() << "flt-convert-to-linalg: no lowering for '"
                        << op->getName()
                        << "' yet (run flt-decompose first for flt.attention)";
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (unsupported.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
