//===- Spectral.cpp - gradients of the spectral ops -----------------------===//
//
// flt.spectral_density, rho = g(ξ) / P(ξ) = g(ξ) · C(ξ) with
// C(ξ) = (2π)^(p/2) exp(‖ξ‖²/2) (docs/Semantics.md 2.2; (2π)^(1/2) for
// density normal_1d_constant), cotangent ḡ:
//
//   gaussian_mixture  g = Σ_i w_i E_i, E_i = exp(-D_i / σ_i²),
//                     D_i = ‖ξ - μ_i‖², σ_i² = exp(s_i); with G = ḡ C:
//     dw_i = Σ_k G E_i           ds_i = Σ_k G w_i E_i D_i / σ_i²
//     dμ_i = Σ_k G w_i E_i 2 (ξ - μ_i) / σ_i²
//     dξ   = G Σ_i w_i E_i (-2) (ξ - μ_i) / σ_i² + ḡ rho ξ
//   local_window      g = C Π_a f_a, f_a = 2v sinc(2π v ξ_a):
//     dC = Σ_k ḡ C(ξ) Π_a f_a    dv = Σ_k ḡ C(ξ) C Σ_a 2 cos(2π v ξ_a) Π_{b≠a}
//     f_b dξ_a = ḡ C(ξ) C f_a' Π_{b≠a} f_b + ḡ rho ξ_a,
//                       f_a' = 4π v² sinc'(2π v ξ_a)   (sinc'(0) = 0)
//
// flt.spectral_features (2.3), angles a = 2π ξ·r, s = m_f^-1/2, cotangents
// (gc, gs) of Phi's cos / sin halves and (hc, hs) of Psi's:
//   query_side  da = s (ρ (gs cos a - gc sin a) + hs cos a - hc sin a)
//               dρ = s Σ_{b,l} (gc cos a + gs sin a)
//   both_sides  da = s ρ (gs cos a - gc sin a + hs cos a - hc sin a)
//               dρ = s Σ_{b,l} (gc cos a + gs sin a + hc cos a + hs sin a)
//   dr = Σ_{h,k} 2π ξ da,   dξ = Σ_{b,l} 2π r da
//
// The mixture's K and p, and p of local_window, must be static (they lay
// out theta); a rule asked for a dynamic one fails with a diagnostic.
//
//===----------------------------------------------------------------------===//

#include "GradientRules.h"

#include <cmath>

using namespace mlir;
using namespace mlir::flt;
using namespace mlir::flt::gradients;

namespace {

constexpr double kPi = 3.14159265358979323846;

Value constant(OpBuilder &b, Location loc, double value) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(value));
}
Value mul(OpBuilder &b, Location loc, Value x, Value y) {
  return arith::MulFOp::create(b, loc, x, y);
}
Value add(OpBuilder &b, Location loc, Value x, Value y) {
  return arith::AddFOp::create(b, loc, x, y);
}
Value sub(OpBuilder &b, Location loc, Value x, Value y) {
  return arith::SubFOp::create(b, loc, x, y);
}

/// sinc(x) = sin(x) / x, 1 at 0 (a series where the quotient loses bits).
Value sinc(OpBuilder &b, Location loc, Value x) {
  Value x2 = mul(b, loc, x, x);
  Value small = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT,
                                      math::AbsFOp::create(b, loc, x),
                                      constant(b, loc, 1e-3));
  Value safe = arith::SelectOp::create(b, loc, small, constant(b, loc, 1.0), x);
  Value quotient =
      arith::DivFOp::create(b, loc, math::SinOp::create(b, loc, safe), safe);
  Value series = sub(b, loc, constant(b, loc, 1.0),
                     mul(b, loc, x2, constant(b, loc, 1.0 / 6.0)));
  return arith::SelectOp::create(b, loc, small, series, quotient);
}

/// sinc'(x) = (x cos x - sin x) / x², 0 at 0: below |x| = 0.1 the odd series
/// -x/3 + x³/30 - x⁵/840 + x⁷/45360 (the quotient cancels there).
Value sincDerivative(OpBuilder &b, Location loc, Value x) {
  Value x2 = mul(b, loc, x, x);
  Value small = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT,
                                      math::AbsFOp::create(b, loc, x),
                                      constant(b, loc, 0.1));
  Value safe = arith::SelectOp::create(b, loc, small, constant(b, loc, 1.0), x);
  Value numerator =
      sub(b, loc, mul(b, loc, safe, math::CosOp::create(b, loc, safe)),
          math::SinOp::create(b, loc, safe));
  Value quotient =
      arith::DivFOp::create(b, loc, numerator, mul(b, loc, safe, safe));
  // Horner in x²: x (-1/3 + x² (1/30 + x² (-1/840 + x² / 45360))).
  Value poly = constant(b, loc, 1.0 / 45360.0);
  for (double c : {-1.0 / 840.0, 1.0 / 30.0, -1.0 / 3.0})
    poly = add(b, loc, constant(b, loc, c), mul(b, loc, x2, poly));
  Value series = mul(b, loc, x, poly);
  return arith::SelectOp::create(b, loc, small, series, quotient);
}

/// C(ξ)[h, k] = (2π)^(p/2) exp(‖ξ_hk‖² / 2).
Value inverseDensity(GradientBuilder &gb, Value xi, int64_t p) {
  Value squares = gb.sum(xi, {{0, 1, 2}}, gb.dims(xi), {2},
                         [](OpBuilder &b, Location loc, ValueRange a) {
                           return one(mul(b, loc, a[0], a[0]));
                         });
  double factor = std::pow(2.0 * kPi, 0.5 * static_cast<double>(p));
  return gb.map(
      squares, squares, [&](OpBuilder &b, Location loc, ValueRange a) {
        return one(mul(b, loc, constant(b, loc, factor),
                       math::ExpOp::create(
                           b, loc, mul(b, loc, a[0], constant(b, loc, 0.5)))));
      });
}

/// Columns [offset, offset + width) of theta [H, P].
Value thetaColumns(GradientBuilder &gb, Value theta, int64_t offset,
                   int64_t width) {
  OpBuilder &b = gb.builder();
  return gb.slice(theta, {b.getIndexAttr(0), b.getIndexAttr(offset)},
                  {gb.dim(theta, 0), b.getIndexAttr(width)}, 2);
}

struct SpectralDensityGradient
    : DifferentiableOpModel<SpectralDensityGradient, SpectralDensityOp> {
  static FailureOr<SmallVector<Value>> vjp(SpectralDensityOp op,
                                           GradientBuilder &gb,
                                           ValueRange cotangents,
                                           ArrayRef<bool> needed) {
    Value theta = op.getTheta(), xi = op.getXi(), rho = op.getResult();
    Value g = cotangents[0];
    int64_t p = op.getXi().getType().getDimSize(2);
    int64_t width = op.getTheta().getType().getDimSize(1);
    if (ShapedType::isDynamic(p) || ShapedType::isDynamic(width))
      return op.emitOpError()
             << "gradient: needs a static p and a static theta width P";
    // density normal_1d_constant: (2π)^(1/2) for every p.
    Value inverse =
        inverseDensity(gb, xi, op.getDensity() == Density::Normal ? p : 1);
    // ḡ rho ξ: the derivative of 1 / P(ξ), common to both spectra.
    Value densityTerm =
        gb.map(ValueRange{g, rho, xi}, {{0, 1}, {0, 1}, {0, 1, 2}}, xi,
               [](OpBuilder &b, Location loc, ValueRange a) {
                 return one(mul(b, loc, mul(b, loc, a[0], a[1]), a[2]));
               });
    Value dtheta, dxi;
    if (op.getSpectrum() == Spectrum::GaussianMixture) {
      int64_t K = width / (p + 2);
      Value w = thetaColumns(gb, theta, 0, K);
      Value mu = tensor::ExpandShapeOp::create(
          gb.builder(), gb.location(),
          RankedTensorType::get({op.getTheta().getType().getDimSize(0), K, p},
                                op.getTheta().getType().getElementType()),
          thetaColumns(gb, theta, K, K * p), {{0}, {1, 2}});
      Value s = thetaColumns(gb, theta, K + K * p, K);
      // G = ḡ C(ξ): [H, m_f].
      Value G = gb.map(ValueRange{g, inverse}, g,
                       [](OpBuilder &b, Location loc, ValueRange a) {
                         return one(mul(b, loc, a[0], a[1]));
                       });
      // D [H, m_f, K] and A = G w E / σ² [H, m_f, K].
      SmallVector<OpFoldResult> hkia = {gb.dim(xi, 0), gb.dim(xi, 1),
                                        gb.builder().getIndexAttr(K),
                                        gb.builder().getIndexAttr(p)};
      Value D = gb.sum(ValueRange{xi, mu}, {{0, 1, 3}, {0, 2, 3}}, hkia, {3},
                       [](OpBuilder &b, Location loc, ValueRange a) {
                         Value d = sub(b, loc, a[0], a[1]);
                         return one(mul(b, loc, d, d));
                       });
      Value E = gb.map(
          ValueRange{D, s}, {{0, 1, 2}, {0, 2}}, D,
          [](OpBuilder &b, Location loc, ValueRange a) {
            Value inv = math::ExpOp::create(
                b, loc, arith::NegFOp::create(b, loc, a[1]));
            return one(math::ExpOp::create(
                b, loc, arith::NegFOp::create(b, loc, mul(b, loc, a[0], inv))));
          });
      Value A =
          gb.map(ValueRange{G, w, E, s}, {{0, 1}, {0, 2}, {0, 1, 2}, {0, 2}}, D,
                 [](OpBuilder &b, Location loc, ValueRange a) {
                   Value inv = math::ExpOp::create(
                       b, loc, arith::NegFOp::create(b, loc, a[3]));
                   return one(mul(b, loc, mul(b, loc, a[0], a[1]),
                                  mul(b, loc, a[2], inv)));
                 });
      if (needed[0]) {
        SmallVector<OpFoldResult> hik = {
            gb.dim(xi, 0), gb.builder().getIndexAttr(K), gb.dim(xi, 1)};
        Value dw = gb.sum(ValueRange{G, E}, {{0, 2}, {0, 2, 1}}, hik, {2},
                          [](OpBuilder &b, Location loc, ValueRange a) {
                            return one(mul(b, loc, a[0], a[1]));
                          });
        Value ds = gb.sum(ValueRange{A, D}, {{0, 2, 1}, {0, 2, 1}}, hik, {2},
                          [](OpBuilder &b, Location loc, ValueRange a) {
                            return one(mul(b, loc, a[0], a[1]));
                          });
        SmallVector<OpFoldResult> hiak = {
            gb.dim(xi, 0), gb.builder().getIndexAttr(K),
            gb.builder().getIndexAttr(p), gb.dim(xi, 1)};
        Value dmu = gb.sum(
            ValueRange{A, xi, mu}, {{0, 3, 1}, {0, 3, 2}, {0, 1, 2}}, hiak, {3},
            [](OpBuilder &b, Location loc, ValueRange a) {
              return one(mul(b, loc, mul(b, loc, a[0], constant(b, loc, 2.0)),
                             sub(b, loc, a[1], a[2])));
            });
        Value dmuFlat = tensor::CollapseShapeOp::create(
            gb.builder(), gb.location(), dmu,
            SmallVector<ReassociationIndices>{{0}, {1, 2}});
        dtheta = gb.concat(gb.concat(dw, dmuFlat, 1), ds, 1);
      }
      if (needed[1]) {
        SmallVector<OpFoldResult> hkai = {gb.dim(xi, 0), gb.dim(xi, 1),
                                          gb.builder().getIndexAttr(p),
                                          gb.builder().getIndexAttr(K)};
        Value mixture = gb.sum(
            ValueRange{A, xi, mu}, {{0, 1, 3}, {0, 1, 2}, {0, 3, 2}}, hkai, {3},
            [](OpBuilder &b, Location loc, ValueRange a) {
              return one(mul(b, loc, mul(b, loc, a[0], constant(b, loc, -2.0)),
                             sub(b, loc, a[1], a[2])));
            });
        dxi = gb.add(mixture, densityTerm);
      }
    } else {
      // local_window: theta = [C, v].
      // [H] each (a collapse, not a rank-reducing slice: H may be 1).
      auto column = [&](int64_t offset) -> Value {
        return tensor::CollapseShapeOp::create(
            gb.builder(), gb.location(), thetaColumns(gb, theta, offset, 1),
            SmallVector<ReassociationIndices>{{0, 1}});
      };
      Value C = column(0), v = column(1);
      Location loc = gb.location();
      // Scalars per (h, k) from ξ[h, k, :] read in the body (p is static
      // and small).
      auto factors = [&](OpBuilder &b, Location nl, Value h, Value k,
                         Value vh) {
        SmallVector<Value> f, df, dv;
        Value twoPiV = mul(b, nl, constant(b, nl, 2 * kPi), vh);
        Value twoV = mul(b, nl, constant(b, nl, 2.0), vh);
        for (int64_t a = 0; a < p; ++a) {
          Value xa = tensor::ExtractOp::create(
              b, nl, xi,
              ValueRange{h, k, arith::ConstantIndexOp::create(b, nl, a)});
          xa = StructuredBuilder(b, nl).convertScalar(xa, b.getF32Type());
          Value arg = mul(b, nl, twoPiV, xa);
          f.push_back(mul(b, nl, twoV, sinc(b, nl, arg)));
          // d f / d ξ_a = 2v · 2πv · sinc'(2π v ξ_a).
          df.push_back(
              mul(b, nl, mul(b, nl, twoV, twoPiV), sincDerivative(b, nl, arg)));
          // d f / d v = 2 cos(2π v ξ_a).
          dv.push_back(mul(b, nl, constant(b, nl, 2.0),
                           math::CosOp::create(b, nl, arg)));
        }
        return std::make_tuple(f, df, dv);
      };
      auto productExcept = [](OpBuilder &b, Location nl, ArrayRef<Value> f,
                              int64_t skip) {
        Value product = constant(b, nl, 1.0);
        for (auto [i, value] : llvm::enumerate(f))
          if (static_cast<int64_t>(i) != skip)
            product = mul(b, nl, product, value);
        return product;
      };
      // termC = ḡ C(ξ) Π f, termV = ḡ C(ξ) C Σ_a ∂f_a/∂v Π_{b≠a} f_b.
      Value termC, termV;
      if (needed[0]) {
        Value initC = gb.empty(gb.dims(g), gb.builder().getF32Type());
        Value initV = gb.empty(gb.dims(g), gb.builder().getF32Type());
        SmallVector<Value> terms = gb.generic(
            ValueRange{g, inverse, C, v}, ValueRange{initC, initV},
            {gb.map(2, {0, 1}), gb.map(2, {0, 1}), gb.map(2, {0}),
             gb.map(2, {0}), gb.map(2, {0, 1}), gb.map(2, {0, 1})},
            StructuredBuilder::parallel(2),
            [&](OpBuilder &b, Location nl, ValueRange a) {
              StructuredBuilder sb(b, nl);
              Value gh = sb.convertScalar(a[0], b.getF32Type());
              Value ch = sb.convertScalar(a[2], b.getF32Type());
              Value vh = sb.convertScalar(a[3], b.getF32Type());
              Value h = linalg::IndexOp::create(b, nl, 0);
              Value k = linalg::IndexOp::create(b, nl, 1);
              auto [f, df, dvs] = factors(b, nl, h, k, vh);
              Value scale = mul(b, nl, gh, a[1]);
              Value tc = mul(b, nl, scale, productExcept(b, nl, f, -1));
              Value sumV = constant(b, nl, 0.0);
              for (int64_t i = 0; i < p; ++i)
                sumV = add(b, nl, sumV,
                           mul(b, nl, dvs[i], productExcept(b, nl, f, i)));
              Value tv = mul(b, nl, mul(b, nl, scale, ch), sumV);
              return SmallVector<Value>{tc, tv};
            });
        SmallVector<OpFoldResult> hk = gb.dims(g);
        auto total = [&](Value term) {
          Value summed = gb.sum(
              term, {{0, 1}}, hk, {1},
              [](OpBuilder &, Location, ValueRange a) { return one(a[0]); });
          return tensor::ExpandShapeOp::create(
              gb.builder(), loc,
              RankedTensorType::get(
                  {cast<RankedTensorType>(summed.getType()).getDimSize(0), 1},
                  gb.builder().getF32Type()),
              summed, SmallVector<ReassociationIndices>{{0, 1}});
        };
        dtheta = gb.concat(total(terms[0]), total(terms[1]), 1);
        (void)termC;
        (void)termV;
      }
      if (needed[1]) {
        Value windowTerm = gb.map(
            ValueRange{g, inverse, C, v}, {{0, 1}, {0, 1}, {0}, {0}}, xi,
            [&](OpBuilder &b, Location nl, ValueRange a) {
              Value h = linalg::IndexOp::create(b, nl, 0);
              Value k = linalg::IndexOp::create(b, nl, 1);
              Value axis = linalg::IndexOp::create(b, nl, 2);
              auto [f, df, dvs] = factors(b, nl, h, k, a[3]);
              // Σ_a [axis == a] f_a' Π_{b≠a} f_b (p is small).
              Value term = constant(b, nl, 0.0);
              for (int64_t i = 0; i < p; ++i) {
                Value here = arith::CmpIOp::create(
                    b, nl, arith::CmpIPredicate::eq, axis,
                    arith::ConstantIndexOp::create(b, nl, i));
                Value value = mul(b, nl, df[i], productExcept(b, nl, f, i));
                term = arith::SelectOp::create(b, nl, here, value, term);
              }
              return one(
                  mul(b, nl, mul(b, nl, mul(b, nl, a[0], a[1]), a[2]), term));
            });
        dxi = gb.add(windowTerm, densityTerm);
      }
    }
    SmallVector<Value> grads(2);
    if (needed[0])
      grads[0] = gb.castTo(dtheta, theta.getType());
    if (needed[1])
      grads[1] = gb.castTo(dxi, xi.getType());
    return grads;
  }
};

struct SpectralFeaturesGradient
    : DifferentiableOpModel<SpectralFeaturesGradient, SpectralFeaturesOp> {
  static FailureOr<SmallVector<Value>> vjp(SpectralFeaturesOp op,
                                           GradientBuilder &gb,
                                           ValueRange cotangents,
                                           ArrayRef<bool> needed) {
    Value r = op.getR(), xi = op.getXi(), rho = op.getRho();
    Value gPhi = cotangents[0], gPsi = cotangents[1];
    OpBuilder &ob = gb.builder();
    Location loc = gb.location();
    OpFoldResult mf = gb.dim(xi, 1);
    Value scale = gb.sizePower(mf, -0.5);
    bool both = op.getWeighting() == Weighting::BothSides;
    // Angles a[b, h, l, k] = 2π Σ_p ξ[h, k, p] r[b, l, p].
    SmallVector<OpFoldResult> bhlkp = {gb.dim(r, 0), gb.dim(xi, 0),
                                       gb.dim(r, 1), mf, gb.dim(r, 2)};
    Value angles = gb.sum(ValueRange{xi, r}, {{1, 3, 4}, {0, 2, 4}}, bhlkp, {4},
                          [](OpBuilder &b, Location nl, ValueRange a) {
                            return one(mul(b, nl, mul(b, nl, a[0], a[1]),
                                           constant(b, nl, 2 * kPi)));
                          });
    // The cos / sin halves of a cotangent (zeros when there is none).
    auto halves = [&](Value cot) -> std::pair<Value, Value> {
      if (!cot) {
        Value zero = gb.filled(gb.dims(angles), ob.getF32Type(), 0.0);
        return {zero, zero};
      }
      return {gb.lastDimSlice(cot, ob.getIndexAttr(0), mf),
              gb.lastDimSlice(cot, mf, mf)};
    };
    auto [gc, gs] = halves(gPhi);
    auto [hc, hs] = halves(gPsi);
    SmallVector<SmallVector<unsigned>> dims = {{0, 1, 2, 3}, {0, 1, 2, 3},
                                               {0, 1, 2, 3}, {0, 1, 2, 3},
                                               {0, 1, 2, 3}, {1, 3}};
    // da [B, H, L, m_f].
    Value da = gb.map(
        ValueRange{angles, gc, gs, hc, hs, rho}, dims, angles,
        [&](OpBuilder &b, Location nl, ValueRange a) {
          Value c = math::CosOp::create(b, nl, a[0]);
          Value s = math::SinOp::create(b, nl, a[0]);
          Value phiPart = sub(b, nl, mul(b, nl, a[2], c), mul(b, nl, a[1], s));
          Value psiPart = sub(b, nl, mul(b, nl, a[4], c), mul(b, nl, a[3], s));
          Value value = both ? mul(b, nl, a[5], add(b, nl, phiPart, psiPart))
                             : add(b, nl, mul(b, nl, a[5], phiPart), psiPart);
          return one(mul(b, nl, value, scale));
        });
    SmallVector<Value> grads(3);
    if (needed[0]) {
      // dr[b, l, p] = Σ_{h,k} 2π ξ[h, k, p] da[b, h, l, k].
      SmallVector<OpFoldResult> blphk = {gb.dim(r, 0), gb.dim(r, 1),
                                         gb.dim(r, 2), gb.dim(xi, 0), mf};
      Value dr = gb.sum(ValueRange{da, xi}, {{0, 3, 1, 4}, {3, 4, 2}}, blphk,
                        {3, 4}, [](OpBuilder &b, Location nl, ValueRange a) {
                          return one(mul(b, nl, mul(b, nl, a[0], a[1]),
                                         constant(b, nl, 2 * kPi)));
                        });
      grads[0] = gb.castTo(dr, r.getType());
    }
    if (needed[1]) {
      // dξ[h, k, p] = Σ_{b,l} 2π r[b, l, p] da[b, h, l, k].
      SmallVector<OpFoldResult> hkpbl = {gb.dim(xi, 0), mf, gb.dim(xi, 2),
                                         gb.dim(r, 0), gb.dim(r, 1)};
      Value dxi = gb.sum(ValueRange{da, r}, {{3, 0, 4, 1}, {3, 4, 2}}, hkpbl,
                         {3, 4}, [](OpBuilder &b, Location nl, ValueRange a) {
                           return one(mul(b, nl, mul(b, nl, a[0], a[1]),
                                          constant(b, nl, 2 * kPi)));
                         });
      grads[1] = gb.castTo(dxi, xi.getType());
    }
    if (needed[2]) {
      // dρ[h, k] = s Σ_{b,l} (gc cos + gs sin (+ hc cos + hs sin)).
      SmallVector<OpFoldResult> hkbl = {gb.dim(xi, 0), mf, gb.dim(r, 0),
                                        gb.dim(r, 1)};
      SmallVector<SmallVector<unsigned>> inputDims(5, {2, 0, 3, 1});
      Value drho = gb.sum(
          ValueRange{angles, gc, gs, hc, hs}, inputDims, hkbl, {2, 3},
          [&](OpBuilder &b, Location nl, ValueRange a) {
            Value c = math::CosOp::create(b, nl, a[0]);
            Value s = math::SinOp::create(b, nl, a[0]);
            Value term = add(b, nl, mul(b, nl, a[1], c), mul(b, nl, a[2], s));
            if (both)
              term = add(b, nl, term,
                         add(b, nl, mul(b, nl, a[3], c), mul(b, nl, a[4], s)));
            return one(mul(b, nl, term, scale));
          });
      grads[2] = gb.castTo(drho, rho.getType());
    }
    (void)loc;
    return grads;
  }
};

} // namespace

void mlir::flt::gradients::attachSpectralGradients(MLIRContext *context) {
  SpectralDensityOp::attachInterface<SpectralDensityGradient>(*context);
  SpectralFeaturesOp::attachInterface<SpectralFeaturesGradient>(*context);
}
