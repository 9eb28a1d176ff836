//===- Decompose.cpp - flt-decompose --------------------------------------===//
//
// Expands flt.attention into the primitive ops docs/Semantics.md section 2.8
// defines it by, so that later passes only lower primitives.
//
//===----------------------------------------------------------------------===//

#include "flt/Dialect/FLT/IR/FLTOps.h"
#include "flt/Dialect/FLT/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::flt {
#define GEN_PASS_DEF_FLTDECOMPOSE
#include "flt/Dialect/FLT/Transforms/Passes.h.inc"
} // namespace mlir::flt

using namespace mlir;
using namespace mlir::flt;

namespace {

/// flt.attention -> feature_map x2, spectral_density, spectral_features,
/// linear_attention with rpe.
struct DecomposeAttention : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    float featureEps = op.getEps().convertToFloat();
    Value fq = FeatureMapOp::create(rewriter, loc, op.getQ(), op.getW(),
                                    op.getKernel(), featureEps,
                                    /*isQuery=*/true);
    Value fk = FeatureMapOp::create(rewriter, loc, op.getK(), op.getW(),
                                    op.getKernel(), featureEps,
                                    /*isQuery=*/false);
    Value rho = SpectralDensityOp::create(rewriter, loc, op.getTheta(),
                                          op.getXi(), op.getSpectrum());
    auto features = SpectralFeaturesOp::create(
        rewriter, loc, op.getR(), op.getXi(), rho, op.getWeighting());
    // linear_attention's eps keeps its default: the layer's eps is the
    // feature maps' (docs/Semantics.md 2.8).
    auto attention = LinearAttentionOp::create(
        rewriter, loc, fq, fk, op.getV(), features.getPhi(), features.getPsi(),
        op.getCausal(), op.getNormalize(),
        /*eps=*/1e-6f);
    // The op's declared result type may be more static than the inferred
    // one (e.g. a static L from a dynamic input); keep the declared type.
    Value result = attention.getResult();
    if (result.getType() != op.getType())
      result = tensor::CastOp::create(rewriter, loc, op.getType(), result);
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct FLTDecomposePass : mlir::flt::impl::FLTDecomposeBase<FLTDecomposePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateDecomposePatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void mlir::flt::populateDecomposePatterns(RewritePatternSet &patterns) {
  patterns.add<DecomposeAttention>(patterns.getContext());
}
