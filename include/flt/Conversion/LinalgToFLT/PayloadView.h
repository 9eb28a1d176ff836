//===- PayloadView.h - payloads through elementwise producers -*- C++ -*-===//
//
// flt-raise-attention reads the scalar computation of a linalg.generic as
// if its elementwise producers were inlined: exp(x - m) reads the same
// whether the subtraction is in the same generic or in the previous one
// (torch-mlir and TOSA emit one generic per op; fusion emits one in all).
// ConstantRead reads the constant tensors such payloads index (masks,
// biases, tables) at points of the same loops.
//
//===----------------------------------------------------------------------===//

#ifndef FLT_CONVERSION_LINALGTOFLT_PAYLOADVIEW_H
#define FLT_CONVERSION_LINALGTOFLT_PAYLOADVIEW_H

#include "flt/Conversion/LinalgToFLT/TensorTerms.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/IR/Matchers.h"

#include <cmath>
#include <optional>

namespace mlir::flt {

/// Whether `op` is an elementwise linalg.generic whose result is indexed by
/// the identity: its payload can be read as if inlined into a consumer,
/// composing the consumer's indexing map with the producer's input maps.
inline bool isElementwise(linalg::GenericOp op) {
  return op && op.hasPureTensorSemantics() && op->getNumResults() == 1 &&
         op.getNumReductionLoops() == 0 &&
         op.getMatchingIndexingMap(op.getDpsInitOperand(0)).isIdentity();
}

/// A tensor element read by a payload: the tensor and its indexing map in
/// the loops of the generic the view started from.
struct ElementRead {
  Value tensor;
  AffineMap map;
  bool operator==(const ElementRead &other) const {
    return tensor == other.tensor && map == other.map;
  }
};

/// The payload of one elementwise linalg.generic with the payloads of its
/// identity-elementwise producers inlined: `exp(x - m)` reads the same
/// whether the subtraction is in the same generic or the previous one.
class PayloadView {
public:
  explicit PayloadView(linalg::GenericOp root) : root(root) {}

  /// The yielded scalar, resolved.
  Value yielded() {
    return resolve(root.getBlock()->getTerminator()->getOperand(0));
  }

  /// Follows block arguments that read identity-elementwise producers into
  /// those producers' payloads.
  Value resolve(Value scalar) {
    while (auto arg = dyn_cast<BlockArgument>(scalar)) {
      std::optional<ElementRead> read = directRead(arg);
      if (!read)
        break;
      auto producer = read->tensor.getDefiningOp<linalg::GenericOp>();
      if (!isElementwise(producer))
        break;
      entered[producer.getBlock()] = read->map;
      scalar = producer.getBlock()->getTerminator()->getOperand(0);
    }
    return scalar;
  }

  /// The tensor element `scalar` is, when it resolves to an input argument.
  std::optional<ElementRead> read(Value scalar) {
    auto arg = dyn_cast<BlockArgument>(resolve(scalar));
    if (!arg)
      return std::nullopt;
    return directRead(arg);
  }

  /// The tensor element `scalar` reads when it is an input argument itself
  /// (not looking into the producer of that input).
  std::optional<ElementRead> readShallow(Value scalar) {
    auto arg = dyn_cast<BlockArgument>(scalar);
    if (!arg)
      return std::nullopt;
    return directRead(arg);
  }

  /// Whether two scalars are the same element of the same tensor.
  bool same(Value a, Value b) {
    a = resolve(a);
    b = resolve(b);
    if (a == b)
      return true;
    std::optional<ElementRead> ra = read(a), rb = read(b);
    return ra && rb && *ra == *rb;
  }

  /// The constant `scalar` is: a constant in the payload or a splat-constant
  /// input.
  std::optional<double> constant(Value scalar) {
    scalar = resolve(scalar);
    if (std::optional<double> c = constantScalar(scalar))
      return c;
    if (std::optional<ElementRead> r = read(scalar))
      return constantScalar(r->tensor);
    return std::nullopt;
  }

  bool isConstant(Value scalar, double value) {
    std::optional<double> c = constant(scalar);
    return c && *c == value;
  }

  /// The op computing `scalar`, skipping multiplications by 1 (torch-mlir
  /// spells elu's scales that way).
  Operation *def(Value scalar) {
    scalar = resolve(scalar);
    Operation *op = scalar.getDefiningOp();
    if (auto mul = dyn_cast_or_null<arith::MulFOp>(op)) {
      if (isConstant(mul.getRhs(), 1.0))
        return def(mul.getLhs());
      if (isConstant(mul.getLhs(), 1.0))
        return def(mul.getRhs());
    }
    return op;
  }

  /// `scalar` with multiplications by 1 skipped.
  Value strip(Value scalar) {
    Operation *op = def(scalar);
    return op && op->getNumResults() == 1 ? op->getResult(0) : resolve(scalar);
  }

  linalg::GenericOp getRoot() { return root; }

private:
  std::optional<ElementRead> directRead(BlockArgument arg) {
    auto owner = dyn_cast<linalg::GenericOp>(arg.getOwner()->getParentOp());
    if (!owner || arg.getArgNumber() >= owner.getNumDpsInputs())
      return std::nullopt;
    OpOperand *operand = owner.getDpsInputOperand(arg.getArgNumber());
    if (owner == root)
      return ElementRead{operand->get(), root.getMatchingIndexingMap(operand)};
    auto it = entered.find(owner.getBlock());
    if (it == entered.end())
      return std::nullopt;
    // root loops -> owner loops (the owner's result is indexed by the
    // identity) -> the operand's dims.
    return ElementRead{
        operand->get(),
        owner.getMatchingIndexingMap(operand).compose(it->second)};
  }

  linalg::GenericOp root;
  DenseMap<Block *, AffineMap> entered;
};

/// A constant tensor's elements as doubles (f32 values, or 0 / 1 for i1),
/// seen through an indicator, read at points of the loops of the op that
/// reads the tensor through `map`: the masks, biases and rotary tables the
/// matchers check entry by entry.
class ConstantRead {
public:
  static std::optional<ConstantRead> get(Value tensor, AffineMap map,
                                         Indicator indicator) {
    DenseElementsAttr dense;
    auto type = dyn_cast<RankedTensorType>(tensor.getType());
    if (!type || !type.hasStaticShape() ||
        !matchPattern(tensor, m_Constant(&dense)))
      return std::nullopt;
    Type element = type.getElementType();
    if (!element.isF32() && !element.isInteger(1))
      return std::nullopt;
    if (element.isInteger(1) && indicator == Indicator::None)
      indicator = Indicator::NonZero;
    return ConstantRead(tensor, dense, type, map, indicator);
  }

  /// The element at `point` (one index per loop).
  double at(ArrayRef<int64_t> point) const {
    int64_t flat = 0;
    for (auto [dim, index] : llvm::enumerate(map.compose(point)))
      flat += index * strides[dim];
    return element(flat);
  }

  /// Whether no element changes along loop dim `loop` (so that reading it
  /// at index 0 loses nothing).
  bool invariantAlong(int64_t loop) const {
    for (auto [tensorDim, expr] : llvm::enumerate(map.getResults())) {
      if (!expr.isFunctionOfDim(loop))
        continue;
      if (!isa<AffineDimExpr>(expr))
        return false;
      // Every element against the one at index 0 of this tensor dim.
      int64_t stride = strides[tensorDim], size = shape[tensorDim];
      for (int64_t flat = 0, n = computeProduct(shape); flat < n; ++flat) {
        int64_t index = (flat / stride) % size;
        double x = element(flat), first = element(flat - index * stride);
        if (x != first && !(std::isnan(x) && std::isnan(first)))
          return false;
      }
    }
    return true;
  }

  /// Whether no element changes along any loop dim but those of `kept`.
  bool invariantExcept(ArrayRef<int64_t> kept) const {
    for (int64_t loop = 0; loop < map.getNumDims(); ++loop)
      if (!llvm::is_contained(kept, loop) && !invariantAlong(loop))
        return false;
    return true;
  }

  /// The constant tensor and its map.
  Value getTensor() const { return tensor; }
  AffineMap getMap() const { return map; }

private:
  ConstantRead(Value tensor, DenseElementsAttr dense, RankedTensorType type,
               AffineMap map, Indicator indicator)
      : tensor(tensor), dense(dense),
        isBool(type.getElementType().isInteger(1)), map(map),
        indicator(indicator), shape(type.getShape()),
        strides(computeStrides(type.getShape())) {}

  double element(int64_t flat) const {
    double x = isBool ? (dense.getValues<bool>()[flat] ? 1.0 : 0.0)
                      : static_cast<double>(dense.getValues<float>()[flat]);
    switch (indicator) {
    case Indicator::None:
      return x;
    case Indicator::NonZero:
      return x != 0.0 ? 1.0 : 0.0;
    case Indicator::Zero:
      return x == 0.0 ? 1.0 : 0.0;
    }
    llvm_unreachable("unknown indicator");
  }

  Value tensor;
  DenseElementsAttr dense;
  bool isBool;
  AffineMap map;
  Indicator indicator;
  SmallVector<int64_t> shape, strides;
};

} // namespace mlir::flt

#endif // FLT_CONVERSION_LINALGTOFLT_PAYLOADVIEW_H
