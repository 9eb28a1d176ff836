//===- PositionTransform.cpp - the gradient of flt.position_transform -----===//
//
// z = R(s, θ) P x (docs/Semantics.md 2.6): the mix y = P x first, then a
// rotation of each pair by the angle s θ_t, with g the cotangent of z:
//
//   dy  = Rᵀ g. Rotary: the rotation by -θ, i.e. flt.position_transform of g
//         with -θ, mix identity and the same pairing, positions and offset.
//         Complex: z = [y cos; y sin] and dy_t = g_t cos + g_{t+d} sin is the
//         first half of the rotation by -θ of g [.., 2d] with pairing halves
//         (pairs (g_t, g_{t+d})).
//   dx  = Pᵀ dy: the mix is applied first, so its transpose comes last.
//         identity: dy; householder (symmetric): dy - 2 v (v·dy) / ‖v‖²;
//         odd_even: the inverse gather, dx_{2c} = dy_c, dx_{2c+1} =
//         dy_{⌈d/2⌉+c}.
//   dv  = -(2/n) Σ_{b,l} (α dy + β x - (2 α β / n) v)   (householder), with
//         n = ‖v‖², α = v·x and β = v·dy per token.
//
// Every pair (a, b) of z, (z_2t, z_2t+1) or (z_t, z_t+d/2) for rotary and
// (z_t, z_t+d) for complex, satisfies ∂a/∂(sθ_t) = -b and ∂b/∂(sθ_t) = a, so
// with W = g_b z_a - g_a z_b per pair:
//
//   dθ_{h,t} = Σ_{b,l} s_{b,l} W_{b,h,l,t}
//   ds_{b,l} = Σ_{h,t} θ_{h,t} W_{b,h,l,t}
//
// (ds only for explicit positions; s = l + offset is not an argument). z is
// the forward's result, recomputed in f32 when x is f16 or bf16.
//
//===----------------------------------------------------------------------===//

#include "GradientRules.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"

using namespace mlir;
using namespace mlir::flt;
using namespace mlir::flt::gradients;

namespace {

Value mul(OpBuilder &b, Location loc, Value x, Value y) {
  return arith::MulFOp::create(b, loc, x, y);
}
Value sub(OpBuilder &b, Location loc, Value x, Value y) {
  return arith::SubFOp::create(b, loc, x, y);
}

SmallVector<unsigned> allDims(unsigned rank) {
  return llvm::to_vector(llvm::seq<unsigned>(rank));
}

struct PositionTransformGradient
    : DifferentiableOpModel<PositionTransformGradient, PositionTransformOp> {
  /// The rotation of `input` [B, H, L, F] by `angles` (mix identity), at the
  /// op's positions: a new flt.position_transform in `input`'s type.
  static Value rotate(PositionTransformOp op, GradientBuilder &gb, Value input,
                      Value angles, Pairing pairing) {
    MLIRContext *context = op.getContext();
    return PositionTransformOp::create(
        gb.builder(), gb.location(),
        PositionTransformOp::inferResultType(input, LrpeCore::Rotary), input,
        angles, /*mix_vector=*/Value(), op.getPositions(), op.getCuSeqlens(),
        LrpeCoreAttr::get(context, LrpeCore::Rotary),
        LrpeMixAttr::get(context, LrpeMix::Identity),
        PairingAttr::get(context, pairing), op.getOffsetAttr(),
        op.getMixEpsAttr(), op.getRotaryDimsAttr());
  }

  /// n[h] = ‖v_h‖².
  static Value squaredNorms(GradientBuilder &gb, Value v) {
    return gb.sum(v, {{0, 1}}, gb.dims(v), {1},
                  [](OpBuilder &b, Location loc, ValueRange a) {
                    return one(mul(b, loc, a[0], a[0]));
                  });
  }

  /// [B, H, L]: v_h · t_{b,h,l}.
  static Value dots(GradientBuilder &gb, Value t, Value v) {
    return gb.sum(ValueRange{t, v}, {{0, 1, 2, 3}, {1, 3}}, gb.dims(t), {3},
                  [](OpBuilder &b, Location loc, ValueRange a) {
                    return one(mul(b, loc, a[0], a[1]));
                  });
  }

  /// t - 2 v (v·t) / n: the Householder reflection (its own transpose),
  /// given vt = v·t per token and n.
  static Value reflect(GradientBuilder &gb, Value t, Value v, Value vt,
                       Value norms) {
    return gb.map(
        ValueRange{t, v, vt, norms}, {{0, 1, 2, 3}, {1, 3}, {0, 1, 2}, {1}}, t,
        [](OpBuilder &b, Location loc, ValueRange a) {
          Value two = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(2.0));
          Value scaled =
              arith::DivFOp::create(b, loc, mul(b, loc, a[1], a[2]), a[3]);
          return one(sub(b, loc, a[0], mul(b, loc, two, scaled)));
        });
  }

  /// The transpose of odd_even's gather: dx_j = dy_{j/2} for even j,
  /// dy_{⌈d/2⌉ + ⌊j/2⌋} for odd j.
  static Value interleave(GradientBuilder &gb, Value dy) {
    OpBuilder &b = gb.builder();
    Location loc = gb.location();
    Value d = getValueOrCreateConstantIndexOp(b, loc, gb.dim(dy, 3));
    Value oneIndex = arith::ConstantIndexOp::create(b, loc, 1);
    Value half = arith::ShRUIOp::create(
        b, loc, arith::AddIOp::create(b, loc, d, oneIndex), oneIndex);
    Value init = gb.empty(gb.dims(dy), b.getF32Type());
    return gb.generic1(
        ValueRange{}, init, {gb.map(4, allDims(4))},
        StructuredBuilder::parallel(4),
        [&](OpBuilder &nb, Location nl, ValueRange) {
          SmallVector<Value> at;
          for (int64_t i = 0; i < 4; ++i)
            at.push_back(linalg::IndexOp::create(nb, nl, i));
          Value j = at[3];
          Value pairIndex = arith::ShRUIOp::create(nb, nl, j, oneIndex);
          Value odd = arith::CmpIOp::create(
              nb, nl, arith::CmpIPredicate::eq,
              arith::AndIOp::create(nb, nl, j, oneIndex), oneIndex);
          at[3] = arith::SelectOp::create(
              nb, nl, odd, arith::AddIOp::create(nb, nl, half, pairIndex),
              pairIndex);
          return SmallVector<Value>{tensor::ExtractOp::create(nb, nl, dy, at)};
        });
  }

  /// The two members (a, b) of every rotated pair of `t` [B, H, L, F], each
  /// [B, H, L, T]: features (2t, 2t+1) (interleaved) or (t, t+T) (halves).
  static std::pair<Value, Value> pairs(GradientBuilder &gb, Value t,
                                       OpFoldResult T, bool interleaved) {
    if (!interleaved)
      return {gb.lastDimSlice(t, gb.builder().getIndexAttr(0), T),
              gb.lastDimSlice(t, T, T)};
    OpBuilder &b = gb.builder();
    SmallVector<OpFoldResult> sizes = gb.dims(t);
    sizes[3] = T;
    SmallVector<OpFoldResult> strides(3, b.getIndexAttr(1));
    strides.push_back(b.getIndexAttr(2));
    auto member = [&](int64_t first) -> Value {
      SmallVector<OpFoldResult> offsets(3, b.getIndexAttr(0));
      offsets.push_back(b.getIndexAttr(first));
      return tensor::ExtractSliceOp::create(b, gb.location(), t, offsets, sizes,
                                            strides);
    };
    return {member(0), member(1)};
  }

  static FailureOr<SmallVector<Value>> vjp(PositionTransformOp op,
                                           GradientBuilder &gb,
                                           ValueRange cotangents,
                                           ArrayRef<bool> needed) {
    // The compatibility forms (docs/Compatibility.md) have no rule yet: a
    // diagnostic, never a gradient of a different function.
    if (op.getCore() == LrpeCore::Permutation ||
        op.getMix() == LrpeMix::OddEvenInverse || !op.getMixEps().isZero() ||
        op.getRotaryDims() != 0)
      return op.emitError()
             << "flt-generate-vjp: no gradient rule for "
                "'flt.position_transform' "
                "with the permutation core, mix odd_even_inverse, a nonzero "
                "mix_eps or rotary_dims (the official-code forms)";
    OpBuilder &b = gb.builder();
    Location loc = gb.location();
    Value x = op.getX(), theta = op.getTheta(), v = op.getMixVector(),
          positions = op.getPositions();
    bool rotary = op.getCore() == LrpeCore::Rotary;
    unsigned mixIndex = op.getODSOperandIndexAndLength(2).first;
    unsigned positionsIndex = op.getODSOperandIndexAndLength(3).first;
    bool needX = needed[0], needTheta = needed[1];
    bool needV = v && needed[mixIndex];
    bool needPositions = positions && needed[positionsIndex];

    // Packed sequences: dx rotates back with the same per-sequence
    // positions, and dθ weighs each token by its position in its sequence.
    Value cuSeqlens = op.getCuSeqlens();
    Value g = cotangents[0];
    if (!g)
      g = gb.zerosLike(op.getResult(), op.getType());
    Value g32 = gb.toF32(g);
    OpFoldResult d = gb.dim(x, 3);
    OpFoldResult T = gb.dim(theta, 1); // angles: d/2 (rotary) or d (complex)
    SmallVector<Value> grads(op->getNumOperands());

    // dy = Rᵀ g, then dx = Pᵀ dy and dv.
    if (needX || needV) {
      Value negated =
          gb.map(theta, theta, [](OpBuilder &nb, Location nl, ValueRange a) {
            return one(arith::NegFOp::create(nb, nl, a[0]));
          });
      negated = gb.castTo(negated, theta.getType());
      Value dy =
          rotary
              ? rotate(op, gb, g32, negated, op.getPairing())
              : gb.lastDimSlice(rotate(op, gb, g32, negated, Pairing::Halves),
                                b.getIndexAttr(0), d);
      // n = ‖v‖² and β = v·dy, shared by dx and dv.
      Value norms, beta;
      if (v) {
        norms = squaredNorms(gb, v);
        beta = dots(gb, dy, v);
      }
      if (needX) {
        Value dx = dy;
        if (op.getMix() == LrpeMix::Householder)
          dx = reflect(gb, dy, v, beta, norms);
        else if (op.getMix() == LrpeMix::OddEven)
          dx = interleave(gb, dy);
        grads[0] = gb.castTo(dx, x.getType());
      }
      if (needV) {
        Value alpha = dots(gb, x, v);
        // Loops (h, c, b, l), summed over b and l.
        SmallVector<OpFoldResult> loops = {gb.dim(v, 0), gb.dim(v, 1),
                                           gb.dim(x, 0), gb.dim(x, 2)};
        Value dv = gb.sum(
            ValueRange{alpha, beta, dy, x, v, norms},
            {{2, 0, 3}, {2, 0, 3}, {2, 0, 3, 1}, {2, 0, 3, 1}, {0, 1}, {0}},
            loops, {2, 3}, [](OpBuilder &nb, Location nl, ValueRange a) {
              Value n = a[5];
              Value two =
                  arith::ConstantOp::create(nb, nl, nb.getF32FloatAttr(2.0));
              // α dy + β x - 2 α β v / n.
              Value ab = mul(nb, nl, a[0], a[1]);
              Value inner = arith::AddFOp::create(
                  nb, nl, mul(nb, nl, a[0], a[2]), mul(nb, nl, a[1], a[3]));
              inner =
                  sub(nb, nl, inner,
                      arith::DivFOp::create(
                          nb, nl, mul(nb, nl, mul(nb, nl, two, ab), a[4]), n));
              // × (-2 / n).
              return one(arith::DivFOp::create(
                  nb, nl,
                  mul(nb, nl, arith::NegFOp::create(nb, nl, two), inner), n));
            });
        grads[mixIndex] = gb.castTo(dv, v.getType());
      }
    }

    // dθ and ds from W = g_b z_a - g_a z_b.
    if (needTheta || needPositions) {
      Value z = op.getResult();
      if (!cast<RankedTensorType>(x.getType()).getElementType().isF32()) {
        // The forward again, from x in f32 (its result kept f32).
        Value x32 = gb.toF32(x);
        z = PositionTransformOp::create(
            b, loc, PositionTransformOp::inferResultType(x32, op.getCore()),
            x32, theta, v, positions, op.getCuSeqlens(), op.getCoreAttr(),
            op.getMixAttr(), op.getPairingAttr(), op.getOffsetAttr(),
            op.getMixEpsAttr(), op.getRotaryDimsAttr());
      }
      bool interleaved = rotary && op.getPairing() == Pairing::Interleaved;
      auto [za, zb] = pairs(gb, z, T, interleaved);
      auto [ga, gbv] = pairs(gb, g32, T, interleaved);
      Value W = gb.map(ValueRange{ga, gbv, za, zb}, za,
                       [](OpBuilder &nb, Location nl, ValueRange a) {
                         return one(sub(nb, nl, mul(nb, nl, a[1], a[2]),
                                        mul(nb, nl, a[0], a[3])));
                       });
      if (needTheta) {
        // Loops (h, t, b, l), summed over b and l.
        SmallVector<OpFoldResult> loops = {gb.dim(theta, 0), T, gb.dim(x, 0),
                                           gb.dim(x, 2)};
        Value s;
        SmallVector<unsigned> sDims;
        if (positions) {
          s = positions;
          sDims = {2, 3};
        } else {
          // s_l = l - c + offset, c the start of token l's sequence (0
          // unless packed), exact in f32 below 2^24.
          int64_t offset = op.getOffset();
          Type i64 = b.getI64Type();
          Value starts = gb.filled({gb.dim(x, 2)}, i64, 0.0);
          if (cuSeqlens) {
            // c = max { c_n : c_n ≤ l }.
            starts = gb.generic1(
                ValueRange{cuSeqlens}, starts, {gb.map(2, {1}), gb.map(2, {0})},
                StructuredBuilder::parallel(1, 1),
                [&](OpBuilder &nb, Location nl, ValueRange args) {
                  Value l = arith::IndexCastOp::create(
                      nb, nl, i64, linalg::IndexOp::create(nb, nl, 0));
                  Value c = args[0].getType() == i64
                                ? args[0]
                                : arith::ExtSIOp::create(nb, nl, i64, args[0])
                                      .getResult();
                  Value started = arith::CmpIOp::create(
                      nb, nl, arith::CmpIPredicate::sle, c, l);
                  return SmallVector<Value>{arith::SelectOp::create(
                      nb, nl, started,
                      arith::MaxSIOp::create(nb, nl, args[1], c), args[1])};
                });
          }
          s = gb.generic1(
              ValueRange{starts}, gb.empty({gb.dim(x, 2)}, b.getF32Type()),
              {gb.map(1, {0}), gb.map(1, {0})}, StructuredBuilder::parallel(1),
              [&](OpBuilder &nb, Location nl, ValueRange args) {
                Value l = arith::IndexCastOp::create(
                    nb, nl, i64, linalg::IndexOp::create(nb, nl, 0));
                Value shifted = arith::AddIOp::create(
                    nb, nl, arith::SubIOp::create(nb, nl, l, args[0]),
                    arith::ConstantIntOp::create(nb, nl, i64, offset));
                return SmallVector<Value>{
                    arith::SIToFPOp::create(nb, nl, nb.getF32Type(), shifted)};
              });
          sDims = {3};
        }
        Value dtheta =
            gb.sum(ValueRange{W, s}, {{2, 0, 3, 1}, sDims}, loops, {2, 3},
                   [](OpBuilder &nb, Location nl, ValueRange a) {
                     return one(mul(nb, nl, a[0], a[1]));
                   });
        grads[1] = gb.castTo(dtheta, theta.getType());
      }
      if (needPositions) {
        // Loops (b, l, h, t), summed over h and t.
        SmallVector<OpFoldResult> loops = {gb.dim(x, 0), gb.dim(x, 2),
                                           gb.dim(theta, 0), T};
        Value ds = gb.sum(ValueRange{W, theta}, {{0, 2, 1, 3}, {2, 3}}, loops,
                          {2, 3}, [](OpBuilder &nb, Location nl, ValueRange a) {
                            return one(mul(nb, nl, a[0], a[1]));
                          });
        grads[positionsIndex] = gb.castTo(ds, positions.getType());
      }
    }
    return grads;
  }
};

} // namespace

void mlir::flt::gradients::attachPositionTransformGradient(
    MLIRContext *context) {
  PositionTransformOp::attachInterface<PositionTransformGradient>(*context);
}
