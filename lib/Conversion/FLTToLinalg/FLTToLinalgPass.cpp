//===- FLTToLinalgPass.cpp - flt-convert-to-linalg ------------------------===//
//
// The pass only assembles the lowering patterns of every op (one file per
// op family in this folder) with the tile sizes of its options.
//

#include "flt/Conversion/FLTToLinalg/FLTToLinalg.h"
#include "flt/Conversion/Passes.h"
#include "flt/Dialect/FLT/IR/FLTOps.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
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
    if (tokenTile <= 0 || valueSlice <= 0 || rowMultiple <= 0 ||
        columnMultiple <= 0 || featureGroup <= 0 || fftLanes <= 0 ||
        keyBlocks < 0 || positionalGroup < 0) {
      getOperation()->emitError()
          << "flt-convert-to-linalg: token-tile, value-slice, row-multiple, "
             "column-multiple, feature-group and fft-lanes must be positive, "
             "key-blocks and positional-group non-negative";
      return signalPassFailure();
    }
    LinearAttentionLoweringOptions options;
    options.fuseKronecker = fuseKronecker;
    options.tokenTile = tokenTile;
    options.valueSlice = valueSlice;
    options.rowMultiple = rowMultiple;
    options.columnMultiple = columnMultiple;
    options.keyBlocks = keyBlocks;
    options.featureGroup = featureGroup;
    options.positionalGroup = positionalGroup;

    // Results with a static zero extent (B, H or L = 0) hold no element:
    // an empty tensor is the whole lowering.
    IRRewriter rewriter(&getContext());
    getOperation()->walk([&](Operation *op) {
      if (!isa<FLTDialect>(op->getDialect()) || op->getNumResults() == 0 ||
          !llvm::all_of(op->getResultTypes(), [](Type type) {
            auto tensor = dyn_cast<RankedTensorType>(type);
            return tensor && tensor.hasStaticShape() &&
                   tensor.getNumElements() == 0;
          }))
        return;
      rewriter.setInsertionPoint(op);
      SmallVector<Value> empties;
      for (Type type : op->getResultTypes()) {
        auto tensor = cast<RankedTensorType>(type);
        empties.push_back(tensor::EmptyOp::create(rewriter, op->getLoc(),
                                                  tensor.getShape(),
                                                  tensor.getElementType()));
      }
      rewriter.replaceOp(op, empties);
    });

    RewritePatternSet patterns(&getContext());
    populateFeatureMapLoweringPatterns(patterns);
    populateSpectralLoweringPatterns(patterns);
    populatePositionTransformLoweringPatterns(patterns);
    populateKernelAttentionLoweringPatterns(patterns, tokenTile,
                                            columnMultiple);
    populateToeplitzFFTLoweringPatterns(patterns, fftLanes);
    populateLinearAttentionLoweringPatterns(patterns, options);
    populateLinearAttentionGradLoweringPatterns(patterns, options);
    // Patterns only create ops; no folding is wanted here (it would fold the
    // fresh IR before later passes see it whole).
    GreedyRewriteConfig config;
    config.enableFolding(false);
    if (failed(
            applyPatternsGreedily(getOperation(), std::move(patterns), config)))
      return signalPassFailure();

    // Ops without a lowering are reported, not silently kept.
    WalkResult unsupported = getOperation()->walk([](Operation *op) {
      auto toeplitz = dyn_cast<ToeplitzAttentionOp>(op);
      if (toeplitz && toeplitz.getMethod() == ToeplitzMethod::Auto) {
        op->emitError() << "flt-convert-to-linalg: method = auto is chosen "
                           "by flt-select-algorithm; run it first";
        return WalkResult::interrupt();
      }
      if (isa<ToeplitzCorrelationOp>(op)) {
        op->emitError() << "flt-convert-to-linalg: the direct and auto "
                           "methods of flt.toeplitz_correlation are built by "
                           "flt-select-algorithm; run it first";
        return WalkResult::interrupt();
      }
      if (isa<FLTDialect>(op->getDialect())) {
        op->emitError() << "flt-convert-to-linalg: no lowering for '"
                        << op->getName()
                        << "' yet (run flt-decompose first for flt.attention)";
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (unsupported.wasInterrupted())
      return signalPassFailure();
  }
};

} // namespace
