//===- LoweringUtils.cpp - helpers shared by the flt lowerings ------------===//

#include "flt/Conversion/FLTToLinalg/LoweringUtils.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Utils/Utils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::flt;

FailureOr<SmallVector<OpFoldResult>>
mlir::flt::resultSizes(OpBuilder &b, Operation *op, unsigned index) {
  ReifiedRankedShapedTypeDims shapes;
  if (failed(reifyResultShapes(b, op, shapes)))
    return failure();
  auto type = cast<RankedTensorType>(op->getResult(index).getType());
  SmallVector<OpFoldResult> sizes = shapes[index];
  for (auto [i, size] : llvm::enumerate(type.getShape()))
    if (ShapedType::isStatic(size))
      sizes[i] = b.getIndexAttr(size);
  return sizes;
}

Value mlir::flt::indexToF32(OpBuilder &b, Location loc, Value index) {
  Value asInt = arith::IndexCastOp::create(b, loc, b.getI64Type(), index);
  return arith::SIToFPOp::create(b, loc, b.getF32Type(), asInt);
}

Value mlir::flt::sizePower(StructuredBuilder &sb, OpFoldResult size,
                           double exponent) {
  if (std::optional<int64_t> constant = getConstantIntValue(size))
    return sb.f32(std::pow(static_cast<double>(*constant), exponent));
  OpBuilder &b = sb.builder();
  Location loc = sb.location();
  Value asFloat = indexToF32(b, loc, cast<Value>(size));
  return math::PowFOp::create(b, loc, asFloat, sb.f32(exponent));
}

void mlir::flt::replaceOpWithCasts(PatternRewriter &rewriter, Operation *op,
                                   ValueRange values) {
  SmallVector<Value> results;
  for (auto [value, type] : llvm::zip_equal(values, op->getResultTypes()))
    results.push_back(
        value.getType() == type
            ? value
            : tensor::CastOp::create(rewriter, op->getLoc(), type, value));
  rewriter.replaceOp(op, results);
}

LogicalResult mlir::flt::replaceOpWithLowered(PatternRewriter &rewriter,
                                              Operation *op,
                                              FailureOr<Value> value) {
  if (failed(value))
    return rewriter.notifyMatchFailure(op, "cannot reify the result shape");
  replaceOpWithCasts(rewriter, op, ValueRange{*value});
  return success();
}

int64_t mlir::flt::roundUp(int64_t value, int64_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

OpFoldResult mlir::flt::tileSize(OpBuilder &b, Location loc, int64_t tile,
                                 Value offset, OpFoldResult extent) {
  AffineExpr d0, s0;
  bindDims(b.getContext(), d0);
  bindSymbols(b.getContext(), s0);
  AffineMap minMap = AffineMap::get(
      1, 1, {b.getAffineConstantExpr(tile), s0 - d0}, b.getContext());
  return affine::makeComposedFoldedAffineMin(b, loc, minMap, {offset, extent});
}

Value mlir::flt::paddedTokenTile(OpBuilder &b, Location loc, Value tensor,
                                 Value batch, Value head, Value start,
                                 OpFoldResult tokens, OpFoldResult column,
                                 OpFoldResult width, int64_t paddedTokens,
                                 int64_t paddedWidth) {
  StructuredBuilder tb(b, loc);
  Value tile =
      tb.slice(tensor, {batch, head, start, column},
               {b.getIndexAttr(1), b.getIndexAttr(1), tokens, width}, 2);
  tile = tb.toF32(tile);
  auto type = cast<RankedTensorType>(tile.getType());
  SmallVector<int64_t> shape = {paddedTokens, paddedWidth};
  if (type.getShape() == ArrayRef<int64_t>(shape))
    return tile;
  SmallVector<Value> dynamicSizes;
  if (ShapedType::isDynamic(paddedWidth))
    dynamicSizes.push_back(
        getValueOrCreateConstantIndexOp(b, loc, tb.dim(tile, 1)));
  auto paddedType = RankedTensorType::get(shape, b.getF32Type());
  return tensor::createPadHighOp(paddedType, tile, tb.f32(0.0),
                                 /*nofold=*/false, loc, b, dynamicSizes);
}

Value mlir::flt::normalizeScalar(OpBuilder &b, Location loc, Normalize mode,
                                 float eps, Value num, Value den) {
  Type type = num.getType();
  auto constant = [&](double v) -> Value {
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(type, v));
  };
  switch (mode) {
  case Normalize::Divide:
    return arith::DivFOp::create(
        b, loc, num,
        arith::AddFOp::create(b, loc, den, constant(static_cast<double>(eps))));
  case Normalize::Guarded: {
    Value positive = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT,
                                           den, constant(0.0));
    return arith::DivFOp::create(
        b, loc, num,
        arith::SelectOp::create(b, loc, positive, den, constant(1.0)));
  }
  case Normalize::None:
    return num;
  }
  return num;
}

Value mlir::flt::toeplitzFFTBits(OpBuilder &b, Location loc, Value length) {
  // bits = 64 - ctlz(max(2L - 2, 1)): the bit length of 2L - 2.
  Type i64 = b.getI64Type();
  auto constant = [&](int64_t v) -> Value {
    return arith::ConstantIntOp::create(b, loc, i64, v);
  };
  Value twoLMinus2 = arith::SubIOp::create(
      b, loc, arith::MulIOp::create(b, loc, length, constant(2)), constant(2));
  Value atLeastOne = arith::MaxSIOp::create(b, loc, twoLMinus2, constant(1));
  Value leading = LLVM::CountLeadingZerosOp::create(b, loc, i64, atLeastOne,
                                                    b.getBoolAttr(false));
  return arith::SubIOp::create(b, loc, constant(64), leading);
}

Value mlir::flt::toeplitzBiasMaxima(StructuredBuilder &sb, Value bias,
                                    OpFoldResult heads) {
  OpBuilder &b = sb.builder();
  double inf = std::numeric_limits<double>::infinity();
  return sb.generic1(
      bias, sb.filled({heads}, b.getF32Type(), -inf),
      {sb.map(2, {0, 1}), sb.map(2, {0})}, StructuredBuilder::parallel(1, 1),
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value finite = arith::CmpFOp::create(
            nb, nl, arith::CmpFPredicate::OLT,
            math::AbsFOp::create(nb, nl, args[0]),
            arith::ConstantOp::create(nb, nl, nb.getF32FloatAttr(inf)));
        Value larger = arith::MaximumFOp::create(nb, nl, args[1], args[0]);
        return SmallVector<Value>{
            arith::SelectOp::create(nb, nl, finite, larger, args[1])};
      });
}

Value mlir::flt::toeplitzBiasShift(OpBuilder &b, Location loc, Value maxima,
                                   Value head) {
  Value maximum = tensor::ExtractOp::create(b, loc, maxima, ValueRange{head});
  Value none = arith::CmpFOp::create(
      b, loc, arith::CmpFPredicate::OEQ, maximum,
      arith::ConstantOp::create(
          b, loc, b.getF32FloatAttr(-std::numeric_limits<double>::infinity())));
  return arith::SelectOp::create(
      b, loc, none, arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0)),
      maximum);
}

/// `value` clamped to [low, high] (index values).
Value mlir::flt::clampIndex(OpBuilder &b, Location loc, Value value, Value low,
                            Value high) {
  return arith::MinSIOp::create(
      b, loc, arith::MaxSIOp::create(b, loc, value, low), high);
}

/// Entry `index` of a rank-1 integer table as an index.
Value mlir::flt::tableEntry(OpBuilder &b, Location loc, Value table,
                            Value index) {
  Value entry = tensor::ExtractOp::create(b, loc, table, ValueRange{index});
  return arith::IndexCastOp::create(b, loc, b.getIndexType(), entry);
}

/// Per token of a packed batch, its sequence's first token and the token
/// after its last: two [L] index tensors (a token no valid sequence covers
/// gets [0, 0), no keys). The offsets are clamped to [0, L].
std::pair<Value, Value> mlir::flt::tabulateSequences(OpBuilder &b, Location loc,
                                                     Value cuSeqlens,
                                                     Value length) {
  // One parallel op over the tokens (so that on a GPU it runs on the device,
  // where the table lives): each token finds its sequence by a binary search
  // over the offsets, ⌈log2(N + 1)⌉ steps.
  StructuredBuilder sb(b, loc);
  Type index = b.getIndexType();
  Value zero = sb.index(0), one = sb.index(1);
  Value entries = tensor::DimOp::create(b, loc, cuSeqlens, 0);
  Value count = arith::MaxSIOp::create(
      b, loc, arith::SubIOp::create(b, loc, entries, one), zero);
  Value steps = arith::SubIOp::create(
      b, loc, sb.index(64),
      arith::IndexCastOp::create(
          b, loc, index,
          math::CountLeadingZerosOp::create(
              b, loc,
              arith::IndexCastOp::create(b, loc, b.getI64Type(), count))));
  SmallVector<Value> tables = sb.generic(
      ValueRange{},
      ValueRange{sb.empty({length}, index), sb.empty({length}, index)},
      {sb.map(1, {0}), sb.map(1, {0})}, StructuredBuilder::parallel(1),
      [&](OpBuilder &nb, Location nl, ValueRange) -> SmallVector<Value> {
        Value token = linalg::IndexOp::create(nb, nl, 0);
        Value nzero = arith::ConstantIndexOp::create(nb, nl, 0);
        Value none = arith::ConstantIndexOp::create(nb, nl, 1);
        // An empty table has no entry to read: no sequences.
        auto bounds = scf::IfOp::create(
            nb, nl,
            arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::sgt, count,
                                  nzero),
            [&](OpBuilder &tb, Location tl) {
              // The last n with cu[n] <= token, searched in [0, N).
              auto search = scf::ForOp::create(
                  tb, tl, nzero, steps, none, ValueRange{nzero, count},
                  [&](OpBuilder &lb, Location ll, Value, ValueRange range) {
                    Value mid = arith::DivUIOp::create(
                        lb, ll,
                        arith::AddIOp::create(lb, ll, range[0], range[1]),
                        arith::ConstantIndexOp::create(lb, ll, 2));
                    Value atOrBefore = arith::CmpIOp::create(
                        lb, ll, arith::CmpIPredicate::sle,
                        tableEntry(lb, ll, cuSeqlens, mid), token);
                    scf::YieldOp::create(
                        lb, ll,
                        ValueRange{arith::SelectOp::create(lb, ll, atOrBefore,
                                                           mid, range[0]),
                                   arith::SelectOp::create(lb, ll, atOrBefore,
                                                           range[1], mid)});
                  });
              Value n = search.getResult(0);
              Value start = clampIndex(tb, tl, tableEntry(tb, tl, cuSeqlens, n),
                                       nzero, length);
              Value end =
                  clampIndex(tb, tl,
                             tableEntry(tb, tl, cuSeqlens,
                                        arith::AddIOp::create(tb, tl, n, none)),
                             start, length);
              // A token outside its found range (offsets that do not rise)
              // gets no keys.
              Value inside = arith::AndIOp::create(
                  tb, tl,
                  arith::CmpIOp::create(tb, tl, arith::CmpIPredicate::sle,
                                        start, token),
                  arith::CmpIOp::create(tb, tl, arith::CmpIPredicate::slt,
                                        token, end));
              scf::YieldOp::create(
                  tb, tl,
                  ValueRange{
                      arith::SelectOp::create(tb, tl, inside, start, nzero),
                      arith::SelectOp::create(tb, tl, inside, end, nzero)});
            },
            [&](OpBuilder &eb, Location el) {
              scf::YieldOp::create(eb, el, ValueRange{nzero, nzero});
            });
        return {bounds.getResult(0), bounds.getResult(1)};
      });
  return {tables[0], tables[1]};
}
