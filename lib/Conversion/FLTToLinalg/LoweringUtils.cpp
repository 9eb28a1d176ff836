//===- LoweringUtils.cpp - helpers shared by the flt lowerings ------------===//

#include "flt/Conversion/FLTToLinalg/LoweringUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"

#include <cmath>

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
