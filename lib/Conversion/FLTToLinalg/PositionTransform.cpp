//===- PositionTransform.cpp - flt.position_transform -> linalg -----------===//
//
// y = P x first (identity; Householder: y = x - 2 v (v·x) / ‖v‖² (with
// mix_eps: / (‖v‖ + mix_eps)²), with the dot products as a reduction;
// odd_even and odd_even_inverse: gathers), then one generic over the output
// features that reads the feature and its rotation partner from y (features
// past rotary_dims pass through), or, for the permutation core, the
// feature the table names for that position. The angle s θ is formed and
// rotated in f64: at positions in the thousands it is hundreds of radians,
// where an f32 angle alone would cost 1e-4 of relative accuracy.
//
//===----------------------------------------------------------------------===//

#include "flt/Conversion/FLTToLinalg/FLTToLinalg.h"
#include "flt/Conversion/FLTToLinalg/LoweringUtils.h"
#include "flt/Dialect/FLT/IR/FLTOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::flt;

namespace {

Value indexConstant(OpBuilder &b, Location loc, int64_t value) {
  return arith::ConstantIndexOp::create(b, loc, value);
}

struct LowerPositionTransform : OpRewritePattern<PositionTransformOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(PositionTransformOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    StructuredBuilder sb(rewriter, loc);
    FailureOr<SmallVector<OpFoldResult>> sizes = resultSizes(rewriter, op, 0);
    if (failed(sizes))
      return rewriter.notifyMatchFailure(op, "cannot reify the result shape");
    Type f32 = rewriter.getF32Type(), f64 = rewriter.getF64Type();
    Value x = op.getX(), theta = op.getTheta();
    SmallVector<OpFoldResult> xSizes = sb.dims(x);
    Value d = getValueOrCreateConstantIndexOp(rewriter, loc, xSizes[3]);
    AffineMap identity = sb.map(4, {0, 1, 2, 3});

    // y = P x in f32.
    Value y = sb.toF32(x);
    if (op.getMix() == LrpeMix::Householder) {
      Value v = op.getMixVector();
      Value norms =
          sb.generic1(v, sb.filled({xSizes[1]}, f32, 0.0),
                      {sb.map(2, {0, 1}), sb.map(2, {0})},
                      StructuredBuilder::parallel(1, 1),
                      [](OpBuilder &b, Location nl, ValueRange args) {
                        Value sq =
                            arith::MulFOp::create(b, nl, args[0], args[0]);
                        return SmallVector<Value>{
                            arith::AddFOp::create(b, nl, args[1], sq)};
                      });
      Value dots = sb.generic1(
          ValueRange{y, v},
          sb.filled({xSizes[0], xSizes[1], xSizes[2]}, f32, 0.0),
          {identity, sb.map(4, {1, 3}), sb.map(4, {0, 1, 2})},
          StructuredBuilder::parallel(3, 1),
          [](OpBuilder &b, Location nl, ValueRange args) {
            Value p = arith::MulFOp::create(b, nl, args[0], args[1]);
            return SmallVector<Value>{arith::AddFOp::create(b, nl, args[2], p)};
          });
      float mixEps = op.getMixEps().convertToFloat();
      y = sb.generic1(
          ValueRange{y, v, dots, norms}, sb.empty(xSizes, f32),
          {identity, sb.map(4, {1, 3}), sb.map(4, {0, 1, 2}), sb.map(4, {1}),
           identity},
          StructuredBuilder::parallel(4),
          [&](OpBuilder &b, Location nl, ValueRange args) {
            // y = x - 2 v (v·x) / ‖v‖² (mix_eps: / (‖v‖ + mix_eps)²).
            Value two = arith::ConstantOp::create(b, nl, b.getF32FloatAttr(2));
            Value divisor = args[3];
            if (mixEps != 0.0f) {
              Value norm = arith::AddFOp::create(
                  b, nl, math::SqrtOp::create(b, nl, divisor),
                  arith::ConstantOp::create(b, nl, b.getF32FloatAttr(mixEps)));
              divisor = arith::MulFOp::create(b, nl, norm, norm);
            }
            Value scaled = arith::DivFOp::create(
                b, nl, arith::MulFOp::create(b, nl, args[1], args[2]), divisor);
            return SmallVector<Value>{arith::SubFOp::create(
                b, nl, args[0], arith::MulFOp::create(b, nl, two, scaled))};
          });
    } else if (op.getMix() == LrpeMix::OddEven) {
      // y_c = x_{2c} for c < ceil(d/2), x_{2(c - ceil(d/2)) + 1} after.
      Value source = y;
      Value half = arith::DivUIOp::create(
          rewriter, loc,
          arith::AddIOp::create(rewriter, loc, d,
                                indexConstant(rewriter, loc, 1)),
          indexConstant(rewriter, loc, 2));
      y = sb.generic1(
          ValueRange{}, sb.empty(xSizes, f32), {identity},
          StructuredBuilder::parallel(4),
          [&](OpBuilder &b, Location nl, ValueRange) {
            SmallVector<Value> at;
            for (int64_t i = 0; i < 4; ++i)
              at.push_back(linalg::IndexOp::create(b, nl, i));
            Value c = at[3], one = indexConstant(b, nl, 1);
            Value even = arith::CmpIOp::create(b, nl, arith::CmpIPredicate::ult,
                                               c, half);
            Value twice = arith::ShLIOp::create(b, nl, c, one);
            Value odd = arith::AddIOp::create(
                b, nl,
                arith::ShLIOp::create(
                    b, nl, arith::SubIOp::create(b, nl, c, half), one),
                one);
            at[3] = arith::SelectOp::create(b, nl, even, twice, odd);
            return SmallVector<Value>{
                tensor::ExtractOp::create(b, nl, source, at)};
          });
    } else if (op.getMix() == LrpeMix::OddEvenInverse) {
      // y_{2t} = x_t, y_{2t+1} = x_{ceil(d/2) + t}.
      Value source = y;
      Value half = arith::DivUIOp::create(
          rewriter, loc,
          arith::AddIOp::create(rewriter, loc, d,
                                indexConstant(rewriter, loc, 1)),
          indexConstant(rewriter, loc, 2));
      y = sb.generic1(ValueRange{}, sb.empty(xSizes, f32), {identity},
                      StructuredBuilder::parallel(4),
                      [&](OpBuilder &b, Location nl, ValueRange) {
                        SmallVector<Value> at;
                        for (int64_t i = 0; i < 4; ++i)
                          at.push_back(linalg::IndexOp::create(b, nl, i));
                        Value c = at[3], one = indexConstant(b, nl, 1);
                        Value t = arith::ShRUIOp::create(b, nl, c, one);
                        Value odd = arith::CmpIOp::create(
                            b, nl, arith::CmpIPredicate::eq,
                            arith::AndIOp::create(b, nl, c, one), one);
                        at[3] = arith::SelectOp::create(
                            b, nl, odd, arith::AddIOp::create(b, nl, half, t),
                            t);
                        return SmallVector<Value>{
                            tensor::ExtractOp::create(b, nl, source, at)};
                      });
    }

    bool rotary = op.getCore() == LrpeCore::Rotary;
    bool halves = op.getPairing() == Pairing::Halves;
    Value positions = op.getPositions();
    int64_t offset = op.getOffset();
    Type resultElement = op.getType().getElementType();
    // Packed sequences: token l's default position counts from its
    // sequence's start.
    Value sequenceStarts;
    if (op.getCuSeqlens() && !positions)
      sequenceStarts = tabulateSequences(rewriter, loc, op.getCuSeqlens(),
                                         getValueOrCreateConstantIndexOp(
                                             rewriter, loc, (*sizes)[2]))
                           .first;
    // l, or l - (its sequence's start) when packed.
    auto tokenIndex = [&](OpBuilder &b, Location nl, Value l) -> Value {
      if (!sequenceStarts)
        return l;
      return arith::SubIOp::create(
          b, nl, l, tensor::ExtractOp::create(b, nl, sequenceStarts, l));
    };
    if (op.getCore() == LrpeCore::Permutation) {
      // result_c = y_{table[h, l + offset, c]}; entries outside [0, d) are
      // clamped so that no read leaves y.
      Value source = y;
      Value table = theta;
      Value last = arith::SubIOp::create(rewriter, loc, d,
                                         indexConstant(rewriter, loc, 1));
      Value result = sb.generic1(
          ValueRange{}, sb.empty(*sizes, resultElement), {identity},
          StructuredBuilder::parallel(4),
          [&](OpBuilder &b, Location nl, ValueRange) {
            SmallVector<Value> at;
            for (int64_t i = 0; i < 4; ++i)
              at.push_back(linalg::IndexOp::create(b, nl, i));
            Value row = arith::AddIOp::create(b, nl, tokenIndex(b, nl, at[2]),
                                              indexConstant(b, nl, offset));
            Value entry = tensor::ExtractOp::create(
                b, nl, table, ValueRange{at[1], row, at[3]});
            Value feature =
                arith::IndexCastOp::create(b, nl, b.getIndexType(), entry);
            feature =
                arith::MaxSIOp::create(b, nl, feature, indexConstant(b, nl, 0));
            at[3] = arith::MinSIOp::create(b, nl, feature, last);
            Value value = tensor::ExtractOp::create(b, nl, source, at);
            return SmallVector<Value>{
                StructuredBuilder(b, nl).convertScalar(value, resultElement)};
          });
      replaceOpWithCasts(rewriter, op, result);
      return success();
    }
    // Rotary pairs the first `paired` features (d, or rotary_dims); the
    // rest pass through.
    Value paired = op.getRotaryDims() != 0
                       ? indexConstant(rewriter, loc, op.getRotaryDims())
                       : d;
    Value result = sb.generic1(
        ValueRange{}, sb.empty(*sizes, resultElement), {identity},
        StructuredBuilder::parallel(4),
        [&](OpBuilder &b, Location nl, ValueRange) {
          Value bi = linalg::IndexOp::create(b, nl, 0);
          Value hi = linalg::IndexOp::create(b, nl, 1);
          Value li = linalg::IndexOp::create(b, nl, 2);
          Value c = linalg::IndexOp::create(b, nl, 3);
          Value one = indexConstant(b, nl, 1);
          // Position s in f64.
          Value s;
          if (positions) {
            s = arith::ExtFOp::create(
                b, nl, f64,
                tensor::ExtractOp::create(b, nl, positions, ValueRange{bi, li})
                    .getResult());
          } else {
            Value shifted = arith::AddIOp::create(
                b, nl,
                arith::IndexCastOp::create(b, nl, b.getI64Type(),
                                           tokenIndex(b, nl, li)),
                arith::ConstantIntOp::create(b, nl, b.getI64Type(), offset));
            s = arith::SIToFPOp::create(b, nl, f64, shifted);
          }
          auto yAt = [&](Value feature) {
            return tensor::ExtractOp::create(b, nl, y,
                                             ValueRange{bi, hi, li, feature})
                .getResult();
          };
          auto trigOf = [&](Value t) {
            Value angle = arith::MulFOp::create(
                b, nl, s,
                arith::ExtFOp::create(
                    b, nl, f64,
                    tensor::ExtractOp::create(b, nl, theta, ValueRange{hi, t})
                        .getResult()));
            return std::make_pair(
                math::CosOp::create(b, nl, angle).getResult(),
                math::SinOp::create(b, nl, angle).getResult());
          };
          Value value;
          if (rotary) {
            // Pair index t, whether c is the second of its pair, partner.
            Value t, second, partner;
            if (halves) {
              Value half = arith::DivUIOp::create(b, nl, paired,
                                                  indexConstant(b, nl, 2));
              second = arith::CmpIOp::create(b, nl, arith::CmpIPredicate::uge,
                                             c, half);
              t = arith::SelectOp::create(
                  b, nl, second, arith::SubIOp::create(b, nl, c, half), c);
              partner = arith::SelectOp::create(
                  b, nl, second, t, arith::AddIOp::create(b, nl, c, half));
            } else {
              t = arith::ShRUIOp::create(b, nl, c, one);
              Value low = arith::AndIOp::create(b, nl, c, one);
              second = arith::CmpIOp::create(b, nl, arith::CmpIPredicate::eq,
                                             low, one);
              partner = arith::XOrIOp::create(b, nl, c, one);
            }
            Value passes = arith::CmpIOp::create(
                b, nl, arith::CmpIPredicate::uge, c, paired);
            Value zeroIndex = indexConstant(b, nl, 0);
            t = arith::SelectOp::create(b, nl, passes, zeroIndex, t);
            partner = arith::SelectOp::create(b, nl, passes, c, partner);
            auto [cos, sin] = trigOf(t);
            Value self = arith::ExtFOp::create(b, nl, f64, yAt(c));
            Value other = arith::ExtFOp::create(b, nl, f64, yAt(partner));
            // a' = a cos - b sin, b' = b cos + a sin.
            Value rotated = arith::MulFOp::create(b, nl, other, sin);
            Value kept = arith::MulFOp::create(b, nl, self, cos);
            value = arith::SelectOp::create(
                b, nl, second, arith::AddFOp::create(b, nl, kept, rotated),
                arith::SubFOp::create(b, nl, kept, rotated));
            value = arith::SelectOp::create(b, nl, passes, self, value);
          } else {
            // [y_t cos] ++ [y_t sin], t = c mod d.
            Value isCos =
                arith::CmpIOp::create(b, nl, arith::CmpIPredicate::ult, c, d);
            Value t = arith::SelectOp::create(
                b, nl, isCos, c, arith::SubIOp::create(b, nl, c, d));
            auto [cos, sin] = trigOf(t);
            Value yt = arith::ExtFOp::create(b, nl, f64, yAt(t));
            value = arith::MulFOp::create(
                b, nl, yt, arith::SelectOp::create(b, nl, isCos, cos, sin));
          }
          return SmallVector<Value>{
              StructuredBuilder(b, nl).convertScalar(value, resultElement)};
        });
    replaceOpWithCasts(rewriter, op, result);
    return success();
  }
};

} // namespace

void mlir::flt::populatePositionTransformLoweringPatterns(
    RewritePatternSet &patterns) {
  patterns.add<LowerPositionTransform>(patterns.getContext());
}
