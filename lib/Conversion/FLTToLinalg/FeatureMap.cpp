//===- FeatureMap.cpp - flt.feature_map -> linalg -------------------------===//
//
// identity / relu / elu_plus_one without a projection are one elementwise
// generic (which later fuses into the attention tiles that read it). With a
// projection, u = W x is a contraction over d first. favor_pos also needs
// ‖x‖² per token and its stabilizer c: the per-token max of u for queries,
// the max over the whole (b, h) slice for keys — a reduction that must run
// before any key feature can be formed, so it is its own generic (with
// key_stabilizer = global, a second one takes the max over every (b, h)).
// The concatenation flt-decompose builds for flt.attention's rpe_form concat
// ([q, d^1/4 phi] before the feature map) becomes one parallel generic that
// reads each output feature from its input, so that it fuses into the tiles
// like the feature map and needs no copies (which the GPU mapping would
// leave on the host).
//
//===----------------------------------------------------------------------===//

#include "flt/Conversion/FLTToLinalg/FLTToLinalg.h"
#include "flt/Conversion/FLTToLinalg/LoweringUtils.h"
#include "flt/Dialect/FLT/IR/FLTOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <limits>

using namespace mlir;
using namespace mlir::flt;

namespace {

/// u[b, h, l, k] = Σ_d w[h, k, d] x[b, h, l, d] in f32.
Value project(StructuredBuilder &sb, Value x, Value w,
              ArrayRef<OpFoldResult> resultSizes) {
  Value init = sb.filled(resultSizes, sb.builder().getF32Type(), 0.0);
  // Loops (b, h, l, k, d).
  return sb.generic1(
      ValueRange{x, w}, init,
      {sb.map(5, {0, 1, 2, 4}), sb.map(5, {1, 3, 4}), sb.map(5, {0, 1, 2, 3})},
      StructuredBuilder::parallel(4, 1),
      [&](OpBuilder &b, Location loc, ValueRange args) {
        Value xv =
            StructuredBuilder(b, loc).convertScalar(args[0], b.getF32Type());
        Value product = arith::MulFOp::create(b, loc, xv, args[1]);
        return SmallVector<Value>{
            arith::AddFOp::create(b, loc, args[2], product)};
      });
}

/// Σ_d x² per token: [B, H, L].
Value squaredNorms(StructuredBuilder &sb, Value x) {
  SmallVector<OpFoldResult> sizes = sb.dims(x);
  sizes.pop_back();
  Value init = sb.filled(sizes, sb.builder().getF32Type(), 0.0);
  return sb.generic1(x, init, {sb.map(4, {0, 1, 2, 3}), sb.map(4, {0, 1, 2})},
                     StructuredBuilder::parallel(3, 1),
                     [&](OpBuilder &b, Location loc, ValueRange args) {
                       Value xv = StructuredBuilder(b, loc).convertScalar(
                           args[0], b.getF32Type());
                       Value square = arith::MulFOp::create(b, loc, xv, xv);
                       return SmallVector<Value>{
                           arith::AddFOp::create(b, loc, args[1], square)};
                     });
}

/// The FAVOR+ stabilizer: max_k scale·u per token (queries, [B, H, L]) or
/// over all (l, k) of a head (keys, [B, H]).
Value stabilizer(StructuredBuilder &sb, Value u, Value scale, bool isQuery) {
  SmallVector<OpFoldResult> sizes = sb.dims(u);
  sizes.resize(isQuery ? 3 : 2);
  Value init = sb.filled(sizes, sb.builder().getF32Type(),
                         -std::numeric_limits<double>::infinity());
  AffineMap outMap = isQuery ? sb.map(4, {0, 1, 2}) : sb.map(4, {0, 1});
  return sb.generic1(
      u, init, {sb.map(4, {0, 1, 2, 3}), outMap},
      StructuredBuilder::parallel(isQuery ? 3 : 2, isQuery ? 1 : 2),
      [&](OpBuilder &b, Location loc, ValueRange args) {
        Value scaled = arith::MulFOp::create(b, loc, args[0], scale);
        return SmallVector<Value>{
            arith::MaximumFOp::create(b, loc, args[1], scaled)};
      });
}

/// The max of a per-head stabilizer [B, H] over every (b, h): a rank-0
/// tensor (key_stabilizer = global).
Value globalStabilizer(StructuredBuilder &sb, Value perHead) {
  Value init = sb.filled({}, sb.builder().getF32Type(),
                         -std::numeric_limits<double>::infinity());
  return sb.generic1(perHead, init, {sb.map(2, {0, 1}), sb.map(2, {})},
                     StructuredBuilder::parallel(0, 2),
                     [&](OpBuilder &b, Location loc, ValueRange args) {
                       return SmallVector<Value>{
                           arith::MaximumFOp::create(b, loc, args[1], args[0])};
                     });
}

struct LowerFeatureMap : OpRewritePattern<FeatureMapOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(FeatureMapOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    StructuredBuilder sb(rewriter, loc);
    FailureOr<SmallVector<OpFoldResult>> sizes = resultSizes(rewriter, op, 0);
    if (failed(sizes))
      return rewriter.notifyMatchFailure(op, "cannot reify the result shape");
    Type resultElement = op.getType().getElementType();
    Value eps = sb.f32(op.getEps().convertToFloat());
    Value x = op.getX(), w = op.getW();
    Value init = sb.empty(*sizes, resultElement);
    AffineMap identity = sb.map(4, {0, 1, 2, 3});
    auto finish = [&](OpBuilder &b, Location nl, Value value) {
      return SmallVector<Value>{
          StructuredBuilder(b, nl).convertScalar(value, resultElement)};
    };

    Value result;
    switch (op.getKernel()) {
    case Kernel::Identity:
    case Kernel::EluPlusOne:
    case Kernel::Relu:
      if (!w) {
        Kernel kernel = op.getKernel();
        result = sb.generic1(
            x, init, {identity, identity}, StructuredBuilder::parallel(4),
            [&](OpBuilder &b, Location nl, ValueRange args) {
              Value xv = StructuredBuilder(b, nl).convertScalar(args[0],
                                                                b.getF32Type());
              Value zero =
                  arith::ConstantOp::create(b, nl, b.getF32FloatAttr(0));
              Value phi = xv;
              if (kernel == Kernel::Relu) {
                phi = arith::MaximumFOp::create(b, nl, xv, zero);
              } else if (kernel == Kernel::EluPlusOne) {
                // elu(x) + 1 = x + 1 for x > 0, exp(x) otherwise.
                Value one =
                    arith::ConstantOp::create(b, nl, b.getF32FloatAttr(1));
                Value positive = arith::CmpFOp::create(
                    b, nl, arith::CmpFPredicate::OGT, xv, zero);
                Value negativeSide = math::ExpOp::create(
                    b, nl, arith::MinimumFOp::create(b, nl, xv, zero));
                phi = arith::SelectOp::create(
                    b, nl, positive, arith::AddFOp::create(b, nl, xv, one),
                    negativeSide);
              }
              if (kernel != Kernel::Identity)
                phi = arith::AddFOp::create(b, nl, phi, eps);
              return finish(b, nl, phi);
            });
      } else {
        // relu(m^-1/2 W x) + eps.
        Value u = project(sb, x, w, *sizes);
        Value scale = sizePower(sb, (*sizes)[3], -0.5);
        result = sb.generic1(
            u, init, {identity, identity}, StructuredBuilder::parallel(4),
            [&](OpBuilder &b, Location nl, ValueRange args) {
              Value zero =
                  arith::ConstantOp::create(b, nl, b.getF32FloatAttr(0));
              Value scaled = arith::MulFOp::create(b, nl, args[0], scale);
              Value phi = arith::AddFOp::create(
                  b, nl, arith::MaximumFOp::create(b, nl, scaled, zero), eps);
              return finish(b, nl, phi);
            });
      }
      break;
    case Kernel::FavorPos: {
      // x~ = x d^-1/4, u = W x~ = d^-1/4 (W x), ‖x~‖²/2 = d^-1/2 ‖x‖² / 2.
      bool isQuery = op.getIsQuery();
      Value u = project(sb, x, w, *sizes);
      Value inputScale = sizePower(sb, sb.dim(x, 3), -0.25);
      Value halfNormScale = arith::MulFOp::create(
          rewriter, loc, sizePower(sb, sb.dim(x, 3), -0.5), sb.f32(0.5));
      Value outputScale = sizePower(sb, (*sizes)[3], -0.5);
      Value norms = squaredNorms(sb, x);
      Value c = stabilizer(sb, u, inputScale, isQuery);
      AffineMap cMap = isQuery ? sb.map(4, {0, 1, 2}) : sb.map(4, {0, 1});
      if (!isQuery && op.getKeyStabilizer() == KeyStabilizer::Global) {
        c = globalStabilizer(sb, c);
        cMap = sb.map(4, {});
      }
      result = sb.generic1(
          ValueRange{u, norms, c}, init,
          {identity, sb.map(4, {0, 1, 2}), cMap, identity},
          StructuredBuilder::parallel(4),
          [&](OpBuilder &b, Location nl, ValueRange args) {
            Value scaled = arith::MulFOp::create(b, nl, args[0], inputScale);
            Value halfNorm =
                arith::MulFOp::create(b, nl, args[1], halfNormScale);
            Value exponent = arith::SubFOp::create(
                b, nl, arith::SubFOp::create(b, nl, scaled, halfNorm), args[2]);
            Value phi = arith::MulFOp::create(
                b, nl, outputScale,
                arith::AddFOp::create(
                    b, nl, math::ExpOp::create(b, nl, exponent), eps));
            return finish(b, nl, phi);
          });
      break;
    }
    }
    replaceOpWithCasts(rewriter, op, result);
    return success();
  }
};

/// tensor.concat -> a generic over the result: element i comes from the
/// input whose range along the concatenated dimension holds i (every read
/// clamped into its input, then selected).
struct LowerConcat : OpRewritePattern<tensor::ConcatOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(tensor::ConcatOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    StructuredBuilder sb(rewriter, loc);
    FailureOr<SmallVector<OpFoldResult>> sizes = resultSizes(rewriter, op, 0);
    if (failed(sizes))
      return rewriter.notifyMatchFailure(op, "cannot reify the result shape");
    int64_t rank = op.getResultType().getRank();
    int64_t dim = op.getDim();
    SmallVector<Value> inputs(op.getInputs());
    // ends[i]: where input i's range along `dim` ends; sizes of each input.
    SmallVector<Value> ends, extents;
    Value end = arith::ConstantIndexOp::create(rewriter, loc, 0);
    for (Value input : inputs) {
      Value extent =
          getValueOrCreateConstantIndexOp(rewriter, loc, sb.dim(input, dim));
      end = arith::AddIOp::create(rewriter, loc, end, extent);
      ends.push_back(end);
      extents.push_back(extent);
    }
    Type element = op.getResultType().getElementType();
    SmallVector<unsigned> all =
        llvm::to_vector(llvm::seq<unsigned>(0, static_cast<unsigned>(rank)));
    Value result = sb.generic1(
        ValueRange{}, sb.empty(*sizes, element), {sb.map(rank, all)},
        StructuredBuilder::parallel(rank),
        [&](OpBuilder &b, Location nl, ValueRange) {
          SmallVector<Value> at;
          for (int64_t i = 0; i < rank; ++i)
            at.push_back(linalg::IndexOp::create(b, nl, i));
          Value zero = arith::ConstantIndexOp::create(b, nl, 0);
          Value one = arith::ConstantIndexOp::create(b, nl, 1);
          Value value;
          Value start = zero;
          for (auto [i, input] : llvm::enumerate(inputs)) {
            // Index into input i, clamped into [0, extent - 1].
            Value local = arith::SubIOp::create(b, nl, at[dim], start);
            Value last = arith::SubIOp::create(b, nl, extents[i], one);
            Value clamped = arith::MaxSIOp::create(
                b, nl, arith::MinSIOp::create(b, nl, local, last), zero);
            SmallVector<Value> index = at;
            index[dim] = clamped;
            Value read = tensor::ExtractOp::create(b, nl, input, index);
            if (!value) {
              value = read;
            } else {
              Value inside = arith::CmpIOp::create(
                  b, nl, arith::CmpIPredicate::sge, at[dim], start);
              value = arith::SelectOp::create(b, nl, inside, read, value);
            }
            start = ends[i];
          }
          return SmallVector<Value>{value};
        });
    if (result.getType() != op.getType())
      result = tensor::CastOp::create(rewriter, loc, op.getType(), result);
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void mlir::flt::populateFeatureMapLoweringPatterns(
    RewritePatternSet &patterns) {
  patterns.add<LowerFeatureMap, LowerConcat>(patterns.getContext());
}
