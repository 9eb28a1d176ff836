//===- Spectral.cpp - flt.spectral_density / spectral_features -> linalg --===//
//
// Both ops are small next to attention (O(H m_f P) and O(B H L m_f p)), so
// their lowerings favour clarity: parameters that sit at computed offsets of
// theta (the mixture means at K + i p + a) are read with tensor.extract from
// the generic's body, everything else through indexing maps.
//
//===----------------------------------------------------------------------===//

#include "flt/Conversion/FLTToLinalg/FLTToLinalg.h"
#include "flt/Conversion/FLTToLinalg/LoweringUtils.h"
#include "flt/Dialect/FLT/IR/FLTOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

#include <cmath>

using namespace mlir;
using namespace mlir::flt;

namespace {

Value cstF32(OpBuilder &b, Location loc, double value) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(value));
}

/// theta[:, offset : offset + width] as a rank-2 slice.
Value columns(StructuredBuilder &sb, Value theta, OpFoldResult offset,
              OpFoldResult width) {
  OpBuilder &b = sb.builder();
  return sb.slice(theta, {b.getIndexAttr(0), offset}, {sb.dim(theta, 0), width},
                  2);
}

struct LowerSpectralDensity : OpRewritePattern<SpectralDensityOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(SpectralDensityOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    StructuredBuilder sb(rewriter, loc);
    Value theta = op.getTheta(), xi = op.getXi();
    Type f32 = rewriter.getF32Type();
    OpFoldResult heads = sb.dim(xi, 0), freqs = sb.dim(xi, 1),
                 posDim = sb.dim(xi, 2);
    Value p = getValueOrCreateConstantIndexOp(rewriter, loc, posDim);

    // 1 / P(ξ) = (2π)^(p/2) exp(‖ξ‖²/2).
    Value squares = sb.generic1(
        xi, sb.filled({heads, freqs}, f32, 0.0),
        {sb.map(3, {0, 1, 2}), sb.map(3, {0, 1})},
        StructuredBuilder::parallel(2, 1),
        [](OpBuilder &b, Location nl, ValueRange args) {
          Value sq = arith::MulFOp::create(b, nl, args[0], args[0]);
          return SmallVector<Value>{arith::AddFOp::create(b, nl, args[1], sq)};
        });
    // density normal_1d_constant: (2π)^(1/2) for every p.
    Value logTwoPi = cstF32(rewriter, loc, std::log(2.0 * M_PI));
    Value exponentP = op.getDensity() == Density::Normal
                          ? indexToF32(rewriter, loc, p)
                          : sb.f32(1.0);
    Value normalizer = math::ExpOp::create(
        rewriter, loc,
        arith::MulFOp::create(
            rewriter, loc, logTwoPi,
            arith::MulFOp::create(rewriter, loc, exponentP, sb.f32(0.5))));

    Value g;
    if (op.getSpectrum() == Spectrum::GaussianMixture) {
      // theta = [w_1..w_K, mu_1 (p values)..mu_K, s_1..s_K], K = P / (p + 2).
      Value width =
          getValueOrCreateConstantIndexOp(rewriter, loc, sb.dim(theta, 1));
      Value blobs = arith::DivUIOp::create(
          rewriter, loc, width,
          arith::AddIOp::create(rewriter, loc, p, sb.index(2)));
      Value meansEnd = arith::MulIOp::create(
          rewriter, loc, blobs,
          arith::AddIOp::create(rewriter, loc, p, sb.index(1)));
      Value weights = columns(sb, theta, rewriter.getIndexAttr(0), blobs);
      Value logVariances = columns(sb, theta, meansEnd, blobs);

      // dist[h, k, i] = ‖ξ_k - mu_i‖², loops (h, k, i, a).
      Value dist = sb.generic1(
          xi, sb.filled({heads, freqs, blobs}, f32, 0.0),
          {sb.map(4, {0, 1, 3}), sb.map(4, {0, 1, 2})},
          StructuredBuilder::parallel(3, 1),
          [&](OpBuilder &b, Location nl, ValueRange args) {
            Value h = linalg::IndexOp::create(b, nl, 0);
            Value i = linalg::IndexOp::create(b, nl, 2);
            Value a = linalg::IndexOp::create(b, nl, 3);
            Value column = arith::AddIOp::create(
                b, nl, blobs,
                arith::AddIOp::create(b, nl, arith::MulIOp::create(b, nl, i, p),
                                      a));
            Value mu =
                tensor::ExtractOp::create(b, nl, theta, ValueRange{h, column});
            Value diff = arith::SubFOp::create(b, nl, args[0], mu);
            Value sq = arith::MulFOp::create(b, nl, diff, diff);
            return SmallVector<Value>{
                arith::AddFOp::create(b, nl, args[1], sq)};
          });
      // g[h, k] = Σ_i w_i exp(-dist / exp(s_i)), loops (h, k, i).
      g = sb.generic1(
          ValueRange{dist, weights, logVariances},
          sb.filled({heads, freqs}, f32, 0.0),
          {sb.map(3, {0, 1, 2}), sb.map(3, {0, 2}), sb.map(3, {0, 2}),
           sb.map(3, {0, 1})},
          StructuredBuilder::parallel(2, 1),
          [](OpBuilder &b, Location nl, ValueRange args) {
            Value variance = math::ExpOp::create(b, nl, args[2]);
            Value exponent = arith::NegFOp::create(
                b, nl, arith::DivFOp::create(b, nl, args[0], variance));
            Value term = arith::MulFOp::create(
                b, nl, args[1], math::ExpOp::create(b, nl, exponent));
            return SmallVector<Value>{
                arith::AddFOp::create(b, nl, args[3], term)};
          });
    } else {
      // g = C Π_a sin(2π v ξ_a) / (π ξ_a), each factor 2v at ξ_a = 0.
      Value height =
          sb.slice(theta, {rewriter.getIndexAttr(0), rewriter.getIndexAttr(0)},
                   {heads, rewriter.getIndexAttr(1)}, 1);
      Value halfWidth =
          sb.slice(theta, {rewriter.getIndexAttr(0), rewriter.getIndexAttr(1)},
                   {heads, rewriter.getIndexAttr(1)}, 1);
      Value product = sb.generic1(
          ValueRange{xi, halfWidth}, sb.filled({heads, freqs}, f32, 1.0),
          {sb.map(3, {0, 1, 2}), sb.map(3, {0}), sb.map(3, {0, 1})},
          StructuredBuilder::parallel(2, 1),
          [](OpBuilder &b, Location nl, ValueRange args) {
            Value xiA = args[0], v = args[1];
            Value pi = cstF32(b, nl, M_PI);
            Value zero = cstF32(b, nl, 0.0);
            Value angle = arith::MulFOp::create(
                b, nl, arith::MulFOp::create(b, nl, cstF32(b, nl, 2 * M_PI), v),
                xiA);
            Value ratio =
                arith::DivFOp::create(b, nl, math::SinOp::create(b, nl, angle),
                                      arith::MulFOp::create(b, nl, pi, xiA));
            Value atZero = arith::MulFOp::create(b, nl, cstF32(b, nl, 2.0), v);
            Value isZero = arith::CmpFOp::create(
                b, nl, arith::CmpFPredicate::OEQ, xiA, zero);
            Value factor =
                arith::SelectOp::create(b, nl, isZero, atZero, ratio);
            return SmallVector<Value>{
                arith::MulFOp::create(b, nl, args[2], factor)};
          });
      g = sb.generic1(ValueRange{product, height},
                      sb.empty({heads, freqs}, f32),
                      {sb.map(2, {0, 1}), sb.map(2, {0}), sb.map(2, {0, 1})},
                      StructuredBuilder::parallel(2),
                      [](OpBuilder &b, Location nl, ValueRange args) {
                        return SmallVector<Value>{
                            arith::MulFOp::create(b, nl, args[0], args[1])};
                      });
    }

    // rho = g / P(ξ).
    Value rho = sb.generic1(
        ValueRange{g, squares}, sb.empty({heads, freqs}, f32),
        {sb.map(2, {0, 1}), sb.map(2, {0, 1}), sb.map(2, {0, 1})},
        StructuredBuilder::parallel(2),
        [&](OpBuilder &b, Location nl, ValueRange args) {
          Value half =
              arith::MulFOp::create(b, nl, args[1], cstF32(b, nl, 0.5));
          Value inverseDensity = arith::MulFOp::create(
              b, nl, normalizer, math::ExpOp::create(b, nl, half));
          return SmallVector<Value>{
              arith::MulFOp::create(b, nl, args[0], inverseDensity)};
        });
    replaceOpWithCasts(rewriter, op, rho);
    return success();
  }
};

struct LowerSpectralFeatures : OpRewritePattern<SpectralFeaturesOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(SpectralFeaturesOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    StructuredBuilder sb(rewriter, loc);
    Value r = op.getR(), xi = op.getXi(), rho = op.getRho();
    Type f32 = rewriter.getF32Type();
    FailureOr<SmallVector<OpFoldResult>> sizes = resultSizes(rewriter, op, 0);
    if (failed(sizes))
      return rewriter.notifyMatchFailure(op, "cannot reify the result shape");
    Value freqs = getValueOrCreateConstantIndexOp(rewriter, loc, sb.dim(xi, 1));
    bool bothSides = op.getWeighting() == Weighting::BothSides;
    Value scale = sizePower(sb, sb.dim(xi, 1), -0.5);

    // Column c of the features uses frequency k(c) = c mod m_f: cosines in
    // the first m_f columns, sines in the next.
    auto frequencyOf = [&](OpBuilder &b, Location nl, Value c) {
      Value isCos =
          arith::CmpIOp::create(b, nl, arith::CmpIPredicate::ult, c, freqs);
      Value k = arith::SelectOp::create(b, nl, isCos, c,
                                        arith::SubIOp::create(b, nl, c, freqs));
      return std::make_pair(isCos, k);
    };

    // angle[b, h, l, c] = ξ_k(c) · r_l, loops (b, h, l, c, a).
    Value angles =
        sb.generic1(r, sb.filled(*sizes, f32, 0.0),
                    {sb.map(5, {0, 2, 4}), sb.map(5, {0, 1, 2, 3})},
                    StructuredBuilder::parallel(4, 1),
                    [&](OpBuilder &b, Location nl, ValueRange args) {
                      Value h = linalg::IndexOp::create(b, nl, 1);
                      Value c = linalg::IndexOp::create(b, nl, 3);
                      Value a = linalg::IndexOp::create(b, nl, 4);
                      Value k = frequencyOf(b, nl, c).second;
                      Value xiKA = tensor::ExtractOp::create(
                          b, nl, xi, ValueRange{h, k, a});
                      Value term = arith::MulFOp::create(b, nl, xiKA, args[0]);
                      return SmallVector<Value>{
                          arith::AddFOp::create(b, nl, args[1], term)};
                    });

    AffineMap identity = sb.map(4, {0, 1, 2, 3});
    SmallVector<Value> features = sb.generic(
        angles, ValueRange{sb.empty(*sizes, f32), sb.empty(*sizes, f32)},
        {identity, identity, identity}, StructuredBuilder::parallel(4),
        [&](OpBuilder &b, Location nl, ValueRange args) {
          Value h = linalg::IndexOp::create(b, nl, 1);
          Value c = linalg::IndexOp::create(b, nl, 3);
          auto [isCos, k] = frequencyOf(b, nl, c);
          Value a =
              arith::MulFOp::create(b, nl, cstF32(b, nl, 2 * M_PI), args[0]);
          Value trig = arith::SelectOp::create(b, nl, isCos,
                                               math::CosOp::create(b, nl, a),
                                               math::SinOp::create(b, nl, a));
          Value plain = arith::MulFOp::create(b, nl, scale, trig);
          Value weight =
              tensor::ExtractOp::create(b, nl, rho, ValueRange{h, k});
          Value weighted = arith::MulFOp::create(b, nl, weight, plain);
          return SmallVector<Value>{weighted, bothSides ? weighted : plain};
        });
    replaceOpWithCasts(rewriter, op, features);
    return success();
  }
};

} // namespace

void mlir::flt::populateSpectralLoweringPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerSpectralDensity, LowerSpectralFeatures>(
      patterns.getContext());
}
