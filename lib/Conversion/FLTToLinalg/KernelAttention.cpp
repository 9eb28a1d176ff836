//===- KernelAttention.cpp - flt.kernel_attention / toeplitz_attention ----===//
//
// Both lower to the tiled quadratic form of QuadraticAttention.h: softmax
// and FourierFormer with online normalization (FourierFormer's product of
// sincs in the log domain, so that it does not underflow f32 at d = 64), dot
// and the direct Toeplitz method as plain sums normalized at the end.
//
//===----------------------------------------------------------------------===//

#include "QuadraticAttention.h"

#include "flt/Conversion/FLTToLinalg/FLTToLinalg.h"
#include "flt/Conversion/FLTToLinalg/LoweringUtils.h"
#include "flt/Dialect/FLT/IR/FLTOps.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::flt;

namespace {

struct LowerKernelAttention : OpRewritePattern<KernelAttentionOp> {
  LowerKernelAttention(MLIRContext *context, int64_t tokenTile,
                       int64_t columnMultiple)
      : OpRewritePattern(context), tokenTile(tokenTile),
        columnMultiple(columnMultiple) {}

  LogicalResult matchAndRewrite(KernelAttentionOp op,
                                PatternRewriter &rewriter) const override {
    QuadraticAttention lowering;
    switch (op.getKernel()) {
    case PairKernel::Softmax:
      lowering.score = QuadraticAttention::Score::Softmax;
      lowering.temperature = op.getEffectiveTemperature();
      break;
    case PairKernel::Dot:
      lowering.score = QuadraticAttention::Score::Dot;
      break;
    case PairKernel::FourierIntegral:
      lowering.score = QuadraticAttention::Score::FourierIntegral;
      break;
    }
    lowering.q = op.getQ();
    lowering.k = op.getK();
    lowering.v = op.getV();
    lowering.scale = op.getScale();
    lowering.bias = op.getBias();
    lowering.phi = op.getPhi();
    lowering.psi = op.getPsi();
    lowering.cuSeqlens = op.getCuSeqlens();
    lowering.lengths = op.getLengths();
    lowering.causal = op.getCausal();
    lowering.power = op.getPower();
    lowering.amplitudeEps = op.getFourierForm() == FourierForm::AmplitudeEps;
    lowering.normalize = op.getNormalize();
    lowering.eps = op.getEps().convertToFloat();
    lowering.resultType = op.getType();
    lowering.tokenTile = tokenTile;
    lowering.columnMultiple = columnMultiple;
    return replaceOpWithLowered(rewriter, op,
                                lowering.build(rewriter, op.getLoc(), op));
  }

  int64_t tokenTile;
  int64_t columnMultiple;
};

struct LowerToeplitzAttentionDirect : OpRewritePattern<ToeplitzAttentionOp> {
  LowerToeplitzAttentionDirect(MLIRContext *context, int64_t tokenTile,
                               int64_t columnMultiple)
      : OpRewritePattern(context), tokenTile(tokenTile),
        columnMultiple(columnMultiple) {}

  LogicalResult matchAndRewrite(ToeplitzAttentionOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getMethod() != ToeplitzMethod::Direct)
      return rewriter.notifyMatchFailure(op, "not method direct");
    QuadraticAttention lowering;
    lowering.score = QuadraticAttention::Score::Dot;
    lowering.q = op.getFq();
    lowering.k = op.getFk();
    lowering.v = op.getV();
    lowering.toeplitzBias = op.getB();
    lowering.cuSeqlens = op.getCuSeqlens();
    lowering.lengths = op.getLengths();
    lowering.causal = op.getCausal();
    lowering.normalize = op.getNormalize();
    lowering.eps = op.getEps().convertToFloat();
    lowering.resultType = op.getType();
    lowering.tokenTile = tokenTile;
    lowering.columnMultiple = columnMultiple;
    return replaceOpWithLowered(rewriter, op,
                                lowering.build(rewriter, op.getLoc(), op));
  }

  int64_t tokenTile;
  int64_t columnMultiple;
};

} // namespace

void mlir::flt::populateKernelAttentionLoweringPatterns(
    RewritePatternSet &patterns, int64_t tokenTile, int64_t columnMultiple) {
  patterns.add<LowerKernelAttention, LowerToeplitzAttentionDirect>(
      patterns.getContext(), tokenTile, columnMultiple);
}
