//===- Decompose.cpp - flt-decompose --------------------------------------===//
//
// Expands flt.attention into the primitive ops docs/Semantics.md section 2.8
// defines it by, so that later passes only lower primitives.
//
//===----------------------------------------------------------------------===//

#include "flt/Dialect/FLT/IR/FLTOps.h"
#include "flt/Dialect/FLT/Transforms/Passes.h"
#include "flt/Utils/StructuredBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::flt {
#define GEN_PASS_DEF_FLTDECOMPOSE
#include "flt/Dialect/FLT/Transforms/Passes.h.inc"
} // namespace mlir::flt

using namespace mlir;
using namespace mlir::flt;

namespace {

/// [x, d^1/4 features] along the feature dimension (rpe_form concat), in
/// x's element type. The scale is a linalg.mul by a filled tensor, so that
/// reverse mode differentiates it with linalg.mul's rule.
Value concatScaled(PatternRewriter &rewriter, Location loc, Value x,
                   Value features, OpFoldResult d) {
  StructuredBuilder sb(rewriter, loc);
  Type f32 = rewriter.getF32Type();
  Value dValue = getValueOrCreateConstantIndexOp(rewriter, loc, d);
  Value dF32 = arith::UIToFPOp::create(
      rewriter, loc, f32,
      arith::IndexCastUIOp::create(rewriter, loc, rewriter.getI64Type(),
                                   dValue));
  Value coefficient = math::SqrtOp::create(
      rewriter, loc, math::SqrtOp::create(rewriter, loc, dF32));
  SmallVector<OpFoldResult> sizes = sb.dims(features);
  Value filled =
      linalg::FillOp::create(rewriter, loc, coefficient, sb.empty(sizes, f32))
          .getResult(0);
  Type element = cast<RankedTensorType>(x.getType()).getElementType();
  Value scaled =
      linalg::MulOp::create(rewriter, loc, ValueRange{features, filled},
                            ValueRange{sb.empty(sizes, element)})
          .getResult(0);
  return tensor::ConcatOp::create(rewriter, loc, /*dim=*/3,
                                  ValueRange{x, scaled});
}

/// flt.attention -> feature_map x2, spectral_density, spectral_features,
/// linear_attention with rpe (rpe_form mask), or, for rpe_form concat,
/// the features concatenated to q and k before the feature maps and a
/// linear_attention without rpe.
struct DecomposeAttention : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    float featureEps = op.getEps().convertToFloat();
    auto featureMaps = [&](Value q, Value k) {
      Value fq = FeatureMapOp::create(rewriter, loc, q, op.getW(),
                                      op.getKernel(), featureEps,
                                      /*isQuery=*/true);
      Value fk = FeatureMapOp::create(rewriter, loc, k, op.getW(),
                                      op.getKernel(), featureEps,
                                      /*isQuery=*/false, op.getKeyStabilizer());
      return std::make_pair(fq, fk);
    };
    auto positionalFeatures = [&]() {
      Value rho =
          SpectralDensityOp::create(rewriter, loc, op.getTheta(), op.getXi(),
                                    op.getSpectrum(), op.getDensity());
      return SpectralFeaturesOp::create(rewriter, loc, op.getR(), op.getXi(),
                                        rho, op.getWeighting());
    };
    Value fq, fk, phi, psi;
    // Grouped heads whose key features are per query head (fk is [B, H,
    // S, m] anyway): k repeated to the query heads, and v with it, since
    // linear_attention pairs fk's heads with v's.
    Value keys = op.getK(), values = op.getV();
    bool perQueryHeadKeys = op.getW() || op.getRpeForm() == RpeForm::Concat;
    if (perQueryHeadKeys &&
        cast<RankedTensorType>(keys.getType()).getDimSize(1) !=
            op.getQ().getType().getDimSize(1)) {
      StructuredBuilder sb(rewriter, loc);
      keys = sb.repeatHeads(keys, sb.dim(op.getQ(), 1));
      values = sb.repeatHeads(values, sb.dim(op.getQ(), 1));
    }
    if (op.getRpeForm() == RpeForm::Concat) {
      // The positional features enter the feature maps beside q and k.
      auto features = positionalFeatures();
      OpFoldResult d = StructuredBuilder(rewriter, loc).dim(op.getQ(), 3);
      std::tie(fq, fk) = featureMaps(
          concatScaled(rewriter, loc, op.getQ(), features.getPhi(), d),
          concatScaled(rewriter, loc, keys, features.getPsi(), d));
    } else {
      std::tie(fq, fk) = featureMaps(op.getQ(), keys);
      auto features = positionalFeatures();
      phi = features.getPhi();
      psi = features.getPsi();
    }
    // linear_attention's eps keeps its default: the layer's eps is the
    // feature maps' (docs/Semantics.md 2.8).
    // docs/Semantics.md section 5's operands go to the linear attention.
    auto attention = LinearAttentionOp::create(
        rewriter, loc, fq, fk, values, phi, psi, op.getInitialState(),
        op.getInitialNormalizer(), op.getCuSeqlens(), op.getLengths(),
        op.getCausal(), op.getNormalize(),
        /*eps=*/1e-6f);
    // The op's declared result types may be more static than the inferred
    // ones (e.g. a static L from a dynamic input); keep the declared types.
    SmallVector<Value> results;
    for (auto [result, declared] :
         llvm::zip(attention->getResults(), op->getResultTypes()))
      results.push_back(
          result.getType() == declared
              ? Value(result)
              : tensor::CastOp::create(rewriter, loc, declared, result)
                    .getResult());
    rewriter.replaceOp(op, results);
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
