//===- StructuredBuilder.cpp - terse linalg-on-tensors IR building --------===//

#include "flt/Utils/StructuredBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Utils/Utils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

using namespace mlir;
using namespace mlir::flt;

AffineMap StructuredBuilder::map(unsigned numDims, ArrayRef<unsigned> dims) {
  SmallVector<AffineExpr> exprs;
  for (unsigned d : dims)
    exprs.push_back(b.getAffineDimExpr(d));
  return AffineMap::get(numDims, 0, exprs, b.getContext());
}

AffineMap StructuredBuilder::scalarMap(unsigned numDims) {
  return AffineMap::get(numDims, 0, b.getContext());
}

SmallVector<utils::IteratorType>
StructuredBuilder::parallel(unsigned n, unsigned reductions) {
  SmallVector<utils::IteratorType> iterators(n, utils::IteratorType::parallel);
  iterators.append(reductions, utils::IteratorType::reduction);
  return iterators;
}

SmallVector<Value> StructuredBuilder::generic(
    ValueRange inputs, ValueRange inits, ArrayRef<AffineMap> maps,
    ArrayRef<utils::IteratorType> iterators, BodyFn body) {
  auto op = linalg::GenericOp::create(
      b, loc, TypeRange(inits), inputs, inits, maps, iterators,
      [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
        SmallVector<Value> yielded = body(nested, nestedLoc, args);
        linalg::YieldOp::create(nested, nestedLoc, yielded);
      });
  return SmallVector<Value>(op.getResults());
}

Value StructuredBuilder::generic1(ValueRange inputs, Value init,
                                  ArrayRef<AffineMap> maps,
                                  ArrayRef<utils::IteratorType> iterators,
                                  BodyFn body) {
  return generic(inputs, ValueRange{init}, maps, iterators, body).front();
}

Value StructuredBuilder::empty(ArrayRef<OpFoldResult> sizes, Type elementType) {
  return tensor::EmptyOp::create(b, loc, sizes, elementType);
}

Value StructuredBuilder::fill(Value init, double value) {
  Type elementType = getElementTypeOrSelf(init.getType());
  // Integer tensors (offsets, sequence indices) take the value truncated.
  TypedAttr attr = isa<IntegerType>(elementType)
                       ? TypedAttr(b.getIntegerAttr(
                             elementType, static_cast<int64_t>(value)))
                       : TypedAttr(b.getFloatAttr(elementType, value));
  Value scalar = arith::ConstantOp::create(b, loc, attr);
  return linalg::FillOp::create(b, loc, ValueRange{scalar}, ValueRange{init})
      .getResult(0);
}

Value StructuredBuilder::filled(ArrayRef<OpFoldResult> sizes, Type elementType,
                                double value) {
  return fill(empty(sizes, elementType), value);
}

Value StructuredBuilder::f32(double value) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(value));
}

Value StructuredBuilder::index(int64_t value) {
  return arith::ConstantIndexOp::create(b, loc, value);
}

OpFoldResult StructuredBuilder::dim(Value tensor, int64_t dim) {
  return tensor::getMixedSize(b, loc, tensor, dim);
}

SmallVector<OpFoldResult> StructuredBuilder::dims(Value tensor) {
  return tensor::getMixedSizes(b, loc, tensor);
}

Value StructuredBuilder::slice(Value source, ArrayRef<OpFoldResult> offsets,
                               ArrayRef<OpFoldResult> sizes,
                               int64_t resultRank) {
  auto sourceType = cast<RankedTensorType>(source.getType());
  SmallVector<OpFoldResult> strides(sizes.size(), b.getIndexAttr(1));
  SmallVector<int64_t> staticSizes;
  for (OpFoldResult size : sizes)
    staticSizes.push_back(
        getConstantIntValue(size).value_or(ShapedType::kDynamic));
  // Drop static unit dimensions, leading ones first, until the rank fits.
  SmallVector<int64_t> kept(staticSizes);
  auto dropUnit = [&](bool fromFront) {
    for (size_t n = 0;
         n < kept.size() && static_cast<int64_t>(kept.size()) > resultRank;) {
      size_t i = fromFront ? n : kept.size() - 1 - n;
      if (kept[i] == 1)
        kept.erase(kept.begin() + i);
      else
        ++n;
    }
  };
  dropUnit(/*fromFront=*/true);
  dropUnit(/*fromFront=*/false);
  auto resultType = RankedTensorType::get(kept, sourceType.getElementType());
  return tensor::ExtractSliceOp::create(b, loc, resultType, source, offsets,
                                        sizes, strides);
}

Value StructuredBuilder::insert(Value tile, Value dest,
                                ArrayRef<OpFoldResult> offsets,
                                ArrayRef<OpFoldResult> sizes) {
  SmallVector<OpFoldResult> strides(sizes.size(), b.getIndexAttr(1));
  return tensor::InsertSliceOp::create(b, loc, tile, dest, offsets, sizes,
                                       strides);
}

Value StructuredBuilder::padTo(Value tile, ArrayRef<int64_t> shape) {
  auto type = cast<RankedTensorType>(tile.getType());
  if (type.getShape() == shape)
    return tile;
  auto paddedType = RankedTensorType::get(shape, type.getElementType());
  Value zero =
      arith::ConstantOp::create(b, loc, b.getZeroAttr(type.getElementType()));
  return tensor::createPadHighOp(paddedType, tile, zero, /*nofold=*/false, loc,
                                 b);
}

Value StructuredBuilder::convertScalar(Value scalar, Type to) {
  Type from = scalar.getType();
  if (from == to)
    return scalar;
  if (from.getIntOrFloatBitWidth() < to.getIntOrFloatBitWidth())
    return arith::ExtFOp::create(b, loc, to, scalar);
  // f64 -> f16/bf16 through f32: the direct conversion is a soft-float
  // library call (__truncdfbf2) that compiled kernels cannot rely on.
  if (from.isF64() && to.getIntOrFloatBitWidth() < 32)
    scalar = arith::TruncFOp::create(b, loc, b.getF32Type(), scalar);
  return arith::TruncFOp::create(b, loc, to, scalar);
}

Value StructuredBuilder::toF32(Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  if (type.getElementType().isF32())
    return tensor;
  unsigned rank = type.getRank();
  SmallVector<unsigned> identity = llvm::to_vector(llvm::seq<unsigned>(rank));
  Value init = empty(dims(tensor), b.getF32Type());
  return generic1(tensor, init, {map(rank, identity), map(rank, identity)},
                  parallel(rank),
                  [&](OpBuilder &nb, Location nl, ValueRange args) {
                    return SmallVector<Value>{arith::ExtFOp::create(
                        nb, nl, nb.getF32Type(), args[0])};
                  });
}

Value StructuredBuilder::logSincScores(Value q, Value k, Value scaleRow,
                                       Value c, int64_t power,
                                       bool withAmplitude) {
  float p = static_cast<float>(power);
  // log|R_c| once per feature, not per pair: the amplitude's term.
  Value amplitude;
  if (withAmplitude)
    amplitude = generic1(
        ValueRange{scaleRow},
        empty({dim(scaleRow, 0)}, b.getF32Type()), {map(1, {0}), map(1, {0})},
        parallel(1), [](OpBuilder &nb, Location nl, ValueRange args) {
          return SmallVector<Value>{math::LogOp::create(
              nb, nl, math::AbsFOp::create(nb, nl, args[0]))};
        });
  SmallVector<Value> inputs = {q, k, scaleRow};
  SmallVector<AffineMap> maps = {map(3, {0, 2}), map(3, {1, 2}), map(3, {2})};
  if (amplitude) {
    inputs.push_back(amplitude);
    maps.push_back(map(3, {2}));
  }
  maps.push_back(map(3, {0, 1}));
  return generic1(
      inputs, c, maps, parallel(2, 1),
      [p, withAmplitude](OpBuilder &nb, Location nl, ValueRange args) {
        auto constant = [&](float value) {
          return arith::ConstantOp::create(nb, nl, nb.getF32FloatAttr(value));
        };
        Value x = arith::MulFOp::create(
            nb, nl, args[2], arith::SubFOp::create(nb, nl, args[0], args[1]));
        Value zero = constant(0.0f);
        Value atZero =
            arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OEQ, x, zero);
        // One logarithm per pair and feature: log|sin x / x| (the
        // quotient is 1 for tiny x and exactly 0 where sin x is).
        Value sinc =
            arith::DivFOp::create(nb, nl, math::SinOp::create(nb, nl, x), x);
        Value term = arith::SelectOp::create(
            nb, nl, atZero, zero,
            math::LogOp::create(nb, nl, math::AbsFOp::create(nb, nl, sinc)));
        if (withAmplitude) // log|R sinc(R Δ)| = log|sinc| + log|R|.
          term = arith::AddFOp::create(nb, nl, term, args[3]);
        Value acc = args.back();
        return SmallVector<Value>{arith::AddFOp::create(
            nb, nl, acc, arith::MulFOp::create(nb, nl, constant(p), term))};
      });
}

Value StructuredBuilder::matmulAccumulate(Value a, Value bMat, Value c,
                                          bool transposeA, bool transposeB) {
  // Loops (m, n, k).
  AffineMap aMap = transposeA ? map(3, {2, 0}) : map(3, {0, 2});
  AffineMap bMap = transposeB ? map(3, {1, 2}) : map(3, {2, 1});
  return generic1(
      ValueRange{a, bMat}, c, {aMap, bMap, map(3, {0, 1})}, parallel(2, 1),
      [](OpBuilder &nb, Location nl, ValueRange args) {
        Value product = arith::MulFOp::create(nb, nl, args[0], args[1]);
        return SmallVector<Value>{
            arith::AddFOp::create(nb, nl, args[2], product)};
      });
}

Value StructuredBuilder::causalMatmulAccumulate(Value a, Value bMat, Value c) {
  // Loops (i, n, k): c[i, n] = k <= i ? c[i, n] + a[i, k] b[k, n] : c[i, n].
  return generic1(
      ValueRange{a, bMat}, c, {map(3, {0, 2}), map(3, {2, 1}), map(3, {0, 1})},
      parallel(2, 1), [](OpBuilder &nb, Location nl, ValueRange args) {
        Value visible =
            arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ule,
                                  linalg::IndexOp::create(nb, nl, 2),
                                  linalg::IndexOp::create(nb, nl, 0));
        Value product = arith::MulFOp::create(nb, nl, args[0], args[1]);
        Value sum = arith::AddFOp::create(nb, nl, args[2], product);
        return SmallVector<Value>{
            arith::SelectOp::create(nb, nl, visible, sum, args[2])};
      });
}

Value StructuredBuilder::repeatHeads(Value keys, OpFoldResult heads) {
  SmallVector<OpFoldResult> sizes = dims(keys);
  Value group = arith::DivUIOp::create(
      b, loc, getValueOrCreateConstantIndexOp(b, loc, heads),
      getValueOrCreateConstantIndexOp(b, loc, sizes[1]));
  sizes[1] = heads;
  Type element = cast<RankedTensorType>(keys.getType()).getElementType();
  return generic1(ValueRange{}, empty(sizes, element), {map(4, {0, 1, 2, 3})},
                  parallel(4), [&](OpBuilder &bb, Location nl, ValueRange) {
                    SmallVector<Value> index;
                    for (int64_t dim = 0; dim < 4; ++dim)
                      index.push_back(linalg::IndexOp::create(bb, nl, dim));
                    index[1] = arith::DivUIOp::create(bb, nl, index[1], group);
                    return SmallVector<Value>{
                        tensor::ExtractOp::create(bb, nl, keys, index)};
                  });
}

Value StructuredBuilder::sumHeadGroups(Value x, OpFoldResult kvHeads) {
  SmallVector<OpFoldResult> sizes = dims(x);
  OpFoldResult group;
  std::optional<int64_t> h = getConstantIntValue(sizes[1]);
  std::optional<int64_t> kv = getConstantIntValue(kvHeads);
  if (h && kv)
    group = b.getIndexAttr(*h / *kv);
  else
    group = arith::DivUIOp::create(
                b, loc, getValueOrCreateConstantIndexOp(b, loc, sizes[1]),
                getValueOrCreateConstantIndexOp(b, loc, kvHeads))
                .getResult();
  // [B, H, N, F] -> [B, H_kv, H / H_kv, N, F] (the same memory), then the
  // sum over the group axis.
  SmallVector<OpFoldResult> split = {sizes[0], kvHeads, group, sizes[2],
                                     sizes[3]};
  SmallVector<int64_t> splitShape;
  for (OpFoldResult size : split)
    splitShape.push_back(
        getConstantIntValue(size).value_or(ShapedType::kDynamic));
  auto type = cast<RankedTensorType>(x.getType());
  Value grouped = tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get(splitShape, type.getElementType()), x,
      SmallVector<ReassociationIndices>{{0}, {1, 2}, {3}, {4}}, split);
  SmallVector<OpFoldResult> outSizes = sizes;
  outSizes[1] = kvHeads;
  // Loops (b, g, n, f, i): the group axis i last, reduced.
  return generic1(
      ValueRange{grouped}, filled(outSizes, b.getF32Type(), 0.0),
      {map(5, {0, 1, 4, 2, 3}), map(5, {0, 1, 2, 3})}, parallel(4, 1),
      [&](OpBuilder &bb, Location nl, ValueRange args) {
        Value value =
            StructuredBuilder(bb, nl).convertScalar(args[0], bb.getF32Type());
        return SmallVector<Value>{
            arith::AddFOp::create(bb, nl, args[1], value)};
      });
}

Value StructuredBuilder::zeroRowsFrom(Value x, Value lengths) {
  Type element = cast<RankedTensorType>(x.getType()).getElementType();
  return generic1(
      ValueRange{x}, empty(dims(x), element),
      {map(4, {0, 1, 2, 3}), map(4, {0, 1, 2, 3})}, parallel(4),
      [&](OpBuilder &bb, Location nl, ValueRange args) {
        Value batch = linalg::IndexOp::create(bb, nl, 0);
        Value row = linalg::IndexOp::create(bb, nl, 2);
        Value length = arith::IndexCastOp::create(
            bb, nl, bb.getIndexType(),
            tensor::ExtractOp::create(bb, nl, lengths, ValueRange{batch}));
        Value inside = arith::CmpIOp::create(bb, nl, arith::CmpIPredicate::slt,
                                             row, length);
        Value zero = arith::ConstantOp::create(bb, nl, bb.getZeroAttr(element));
        return SmallVector<Value>{
            arith::SelectOp::create(bb, nl, inside, args[0], zero)};
      });
}
