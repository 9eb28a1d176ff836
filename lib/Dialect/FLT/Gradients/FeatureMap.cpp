//===- FeatureMap.cpp - the gradient of flt.feature_map -------------------===//
//
// φ = kernel(x) (docs/Semantics.md 2.1), with g the cotangent of φ:
//
//   identity       dx = g
//   relu           dx = g [x > 0]                     (relu'(0) = 0)
//     with w       u = W x, du = m^-1/2 g [m^-1/2 u > 0],
//                  dx = Wᵀ du,  dW = Σ_{b,l} du xᵀ
//   elu_plus_one   dx = g (x > 0 ? 1 : exp(x))
//   favor_pos      E = exp(d^-1/4 W x - d^-1/2 ‖x‖²/2 - c), φ = m^-1/2 (E +
//   eps),
//                  dz = m^-1/2 g E,  dx = d^-1/4 Wᵀ dz - d^-1/2 x Σ_k dz_k,
//                  dW = d^-1/4 Σ_{b,l} dz xᵀ
//
// The stabilizer c is a constant (§4): it is recomputed exactly as the
// forward computes it (per head, or over the whole tensor with
// key_stabilizer = global) and not differentiated.
//
//===----------------------------------------------------------------------===//

#include "GradientRules.h"

#include <limits>

using namespace mlir;
using namespace mlir::flt;
using namespace mlir::flt::gradients;

namespace {

/// u[b, h, l, k] = Σ_d w[h, k, d] x[b, h, l, d] in f32.
Value project(GradientBuilder &gb, Value x, Value w) {
  SmallVector<OpFoldResult> loops = gb.dims(x);  // b, h, l, d
  loops.insert(loops.begin() + 3, gb.dim(w, 1)); // b, h, l, k, d
  return gb.sum(ValueRange{x, w}, {{0, 1, 2, 4}, {1, 3, 4}}, loops, {4},
                [](OpBuilder &b, Location loc, ValueRange args) {
                  return one(arith::MulFOp::create(b, loc, args[0], args[1]));
                });
}

/// dx[b, h, l, d] = Σ_k w[h, k, d] du[b, h, l, k].
Value projectBack(GradientBuilder &gb, Value du, Value w, Value x) {
  SmallVector<OpFoldResult> loops = gb.dims(x); // b, h, l, d
  loops.push_back(gb.dim(w, 1));                // b, h, l, d, k
  return gb.sum(ValueRange{du, w}, {{0, 1, 2, 4}, {1, 4, 3}}, loops, {4},
                [](OpBuilder &b, Location loc, ValueRange args) {
                  return one(arith::MulFOp::create(b, loc, args[0], args[1]));
                });
}

/// dW[h, k, d] = Σ_{b,l} du[b, h, l, k] x[b, h, l, d].
Value weightGradient(GradientBuilder &gb, Value du, Value x, Value w) {
  // Loops (h, k, d, b, l).
  SmallVector<OpFoldResult> loops = {gb.dim(w, 0), gb.dim(w, 1), gb.dim(w, 2),
                                     gb.dim(x, 0), gb.dim(x, 2)};
  return gb.sum(ValueRange{du, x}, {{3, 0, 4, 1}, {3, 0, 4, 2}}, loops, {3, 4},
                [](OpBuilder &b, Location loc, ValueRange args) {
                  return one(arith::MulFOp::create(b, loc, args[0], args[1]));
                });
}

struct FeatureMapGradient
    : DifferentiableOpModel<FeatureMapGradient, FeatureMapOp> {
  static FailureOr<SmallVector<Value>> vjp(FeatureMapOp op, GradientBuilder &gb,
                                           ValueRange cotangents,
                                           ArrayRef<bool> needed) {
    Value g = cotangents[0];
    Value x = op.getX(), w = op.getW();
    SmallVector<Value> grads(op->getNumOperands());
    auto zero = [](OpBuilder &b, Location loc) -> Value {
      return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
    };
    Value dx, dw;
    switch (op.getKernel()) {
    case Kernel::Identity:
      dx = gb.map(
          g, g, [](OpBuilder &, Location, ValueRange a) { return one(a[0]); });
      break;
    case Kernel::EluPlusOne:
      dx = gb.map(ValueRange{g, x}, x,
                  [&](OpBuilder &b, Location loc, ValueRange a) {
                    Value positive = arith::CmpFOp::create(
                        b, loc, arith::CmpFPredicate::OGT, a[1], zero(b, loc));
                    Value slope = arith::SelectOp::create(
                        b, loc, positive,
                        arith::ConstantOp::create(b, loc, b.getF32FloatAttr(1)),
                        math::ExpOp::create(b, loc, a[1]));
                    return one(arith::MulFOp::create(b, loc, a[0], slope));
                  });
      break;
    case Kernel::Relu:
      if (!w) {
        dx = gb.map(
            ValueRange{g, x}, x, [&](OpBuilder &b, Location loc, ValueRange a) {
              Value positive = arith::CmpFOp::create(
                  b, loc, arith::CmpFPredicate::OGT, a[1], zero(b, loc));
              return one(arith::SelectOp::create(b, loc, positive, a[0],
                                                 zero(b, loc)));
            });
        break;
      } else {
        Value u = project(gb, x, w);
        Value scale = gb.sizePower(gb.dim(w, 1), -0.5);
        Value du = gb.map(
            ValueRange{g, u}, u, [&](OpBuilder &b, Location loc, ValueRange a) {
              Value scaled = arith::MulFOp::create(b, loc, a[1], scale);
              Value positive = arith::CmpFOp::create(
                  b, loc, arith::CmpFPredicate::OGT, scaled, zero(b, loc));
              return one(arith::SelectOp::create(
                  b, loc, positive, arith::MulFOp::create(b, loc, a[0], scale),
                  zero(b, loc)));
            });
        if (needed[0])
          dx = projectBack(gb, du, w, x);
        if (needed[1])
          dw = weightGradient(gb, du, x, w);
      }
      break;
    case Kernel::FavorPos: {
      bool isQuery = op.getIsQuery();
      Value u = project(gb, x, w);
      OpFoldResult d = gb.dim(x, 3);
      Value inputScale = gb.sizePower(d, -0.25);
      Value halfNormScale = arith::MulFOp::create(
          gb.builder(), gb.location(), gb.sizePower(d, -0.5), gb.f32(0.5));
      Value outputScale = gb.sizePower(gb.dim(w, 1), -0.5);
      SmallVector<OpFoldResult> loops = gb.dims(x);
      Value norms =
          gb.sum(x, {{0, 1, 2, 3}}, loops, {3},
                 [](OpBuilder &b, Location loc, ValueRange a) {
                   return one(arith::MulFOp::create(b, loc, a[0], a[0]));
                 });
      // c: as the forward computes it (FeatureMap.cpp of the lowering).
      SmallVector<OpFoldResult> cSizes = gb.dims(u);
      cSizes.resize(isQuery ? 3 : 2);
      Value cInit = gb.filled(cSizes, gb.builder().getF32Type(),
                              -std::numeric_limits<double>::infinity());
      Value c = gb.generic1(
          u, cInit,
          {gb.map(4, {0, 1, 2, 3}),
           isQuery ? gb.map(4, {0, 1, 2}) : gb.map(4, {0, 1})},
          StructuredBuilder::parallel(isQuery ? 3 : 2, isQuery ? 1 : 2),
          [&](OpBuilder &b, Location loc, ValueRange a) {
            Value scaled = arith::MulFOp::create(b, loc, a[0], inputScale);
            return one(arith::MaximumFOp::create(b, loc, a[1], scaled));
          });
      SmallVector<unsigned> cDims = isQuery ? SmallVector<unsigned>{0, 1, 2}
                                            : SmallVector<unsigned>{0, 1};
      if (!isQuery && op.getKeyStabilizer() == KeyStabilizer::Global) {
        c = gb.generic1(c,
                        gb.filled({}, gb.builder().getF32Type(),
                                  -std::numeric_limits<double>::infinity()),
                        {gb.map(2, {0, 1}), gb.map(2, {})},
                        StructuredBuilder::parallel(0, 2),
                        [](OpBuilder &b, Location loc, ValueRange a) {
                          return one(
                              arith::MaximumFOp::create(b, loc, a[1], a[0]));
                        });
        cDims.clear();
      }
      // dz = m^-1/2 g E.
      Value dz = gb.map(
          ValueRange{g, u, norms, c},
          {{0, 1, 2, 3}, {0, 1, 2, 3}, {0, 1, 2}, cDims}, u,
          [&](OpBuilder &b, Location loc, ValueRange a) {
            Value exponent = arith::SubFOp::create(
                b, loc,
                arith::SubFOp::create(
                    b, loc, arith::MulFOp::create(b, loc, a[1], inputScale),
                    arith::MulFOp::create(b, loc, a[2], halfNormScale)),
                a[3]);
            Value e = math::ExpOp::create(b, loc, exponent);
            return one(arith::MulFOp::create(
                b, loc, arith::MulFOp::create(b, loc, a[0], outputScale), e));
          });
      if (needed[0]) {
        Value back = projectBack(gb, dz, w, x);
        Value dzSum = gb.sum(
            dz, {{0, 1, 2, 3}}, gb.dims(dz), {3},
            [](OpBuilder &, Location, ValueRange a) { return one(a[0]); });
        Value normScale = gb.sizePower(d, -0.5);
        dx = gb.map(
            ValueRange{back, x, dzSum}, {{0, 1, 2, 3}, {0, 1, 2, 3}, {0, 1, 2}},
            x, [&](OpBuilder &b, Location loc, ValueRange a) {
              Value first = arith::MulFOp::create(b, loc, a[0], inputScale);
              Value second = arith::MulFOp::create(
                  b, loc, arith::MulFOp::create(b, loc, a[1], a[2]), normScale);
              return one(arith::SubFOp::create(b, loc, first, second));
            });
      }
      if (needed[1]) {
        Value raw = weightGradient(gb, dz, x, w);
        dw = gb.map(raw, raw, [&](OpBuilder &b, Location loc, ValueRange a) {
          return one(arith::MulFOp::create(b, loc, a[0], inputScale));
        });
      }
      break;
    }
    }
    if (needed[0] && dx)
      grads[0] = gb.castTo(dx, x.getType());
    if (w && needed[1] && dw)
      grads[1] = gb.castTo(dw, w.getType());
    return grads;
  }
};

} // namespace

void mlir::flt::gradients::attachFeatureMapGradient(MLIRContext *context) {
  FeatureMapOp::attachInterface<FeatureMapGradient>(*context);
}
