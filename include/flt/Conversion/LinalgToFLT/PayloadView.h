//===- PayloadView.h - payloads through elementwise producers -*- C++ -*-===//
//
// flt-raise-attention reads the scalar computation of a linalg.generic as
// if its elementwise producers were inlined: exp(x - m) reads the same
// whether the subtraction is in the same generic or in the previous one
// (torch-mlir and TOSA emit one generic per op; fusion emits one in all).
//
//===----------------------------------------------------------------------===//

#ifndef FLT_CONVERSION_LINALGTOFLT_PAYLOADVIEW_H
#define FLT_CONVERSION_LINALGTOFLT_PAYLOADVIEW_H

#include "flt/Conversion/LinalgToFLT/TensorTerms.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"

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

} // namespace mlir::flt

#endif // FLT_CONVERSION_LINALGTOFLT_PAYLOADVIEW_H
