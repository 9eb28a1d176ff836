//===- FeatureMapMatch.cpp - feature maps in linalg payloads --------------===//
//
// The feature maps flt.feature_map computes, as elementwise payloads spell
// them: relu as max(x, 0), a select on x > 0 or TOSA's clamp to [0, FLT_MAX];
// elu (alpha = 1) as select(x > 0, x, exp(x) - 1) or with expm1, of x or of
// min(x, 0); each optionally plus a constant (elu + 1, relu + eps).
// Producers of one op per generic and fused payloads read the same through
// PayloadView.
//
//===----------------------------------------------------------------------===//

#include "flt/Conversion/LinalgToFLT/AttentionMatch.h"

#include "mlir/Dialect/Math/IR/Math.h"

using namespace mlir;
using namespace mlir::flt;

namespace {

/// Whether `pred` says "x > 0" (or >=; the two agree for relu and elu).
bool isPositiveTest(arith::CmpFPredicate pred) {
  using P = arith::CmpFPredicate;
  return pred == P::OGT || pred == P::OGE || pred == P::UGT || pred == P::UGE;
}
bool isNonPositiveTest(arith::CmpFPredicate pred) {
  using P = arith::CmpFPredicate;
  return pred == P::OLT || pred == P::OLE || pred == P::ULT || pred == P::ULE;
}

/// For select(x > 0, a, b) (or select(x <= 0, b, a)): (x, a, b).
std::optional<std::tuple<Value, Value, Value>>
matchSignSelect(PayloadView &view, Value scalar) {
  auto select = dyn_cast_or_null<arith::SelectOp>(view.def(scalar));
  if (!select)
    return std::nullopt;
  auto cmp = dyn_cast_or_null<arith::CmpFOp>(view.def(select.getCondition()));
  if (!cmp)
    return std::nullopt;
  Value x = cmp.getLhs();
  arith::CmpFPredicate pred = cmp.getPredicate();
  if (!view.isConstant(cmp.getRhs(), 0.0)) {
    if (!view.isConstant(cmp.getLhs(), 0.0))
      return std::nullopt;
    // 0 < x is x > 0: swap the operands' roles.
    using P = arith::CmpFPredicate;
    static const std::pair<P, P> swapped[] = {
        {P::OLT, P::OGT}, {P::OLE, P::OGE}, {P::ULT, P::UGT}, {P::ULE, P::UGE},
        {P::OGT, P::OLT}, {P::OGE, P::OLE}, {P::UGT, P::ULT}, {P::UGE, P::ULE}};
    auto it = llvm::find_if(swapped, [&](auto p) { return p.first == pred; });
    if (it == std::end(swapped))
      return std::nullopt;
    x = cmp.getRhs();
    pred = it->second;
  }
  if (isPositiveTest(pred))
    return std::make_tuple(x, select.getTrueValue(), select.getFalseValue());
  if (isNonPositiveTest(pred))
    return std::make_tuple(x, select.getFalseValue(), select.getTrueValue());
  return std::nullopt;
}

/// x for min(x, FLT_MAX) (either order; TOSA's clamp to [0, FLT_MAX] is
/// relu), else `scalar`. The bound only changes +inf.
Value stripUpperClamp(PayloadView &view, Value scalar) {
  Operation *op = view.def(scalar);
  if (!isa_and_nonnull<arith::MinimumFOp, arith::MinNumFOp>(op))
    return scalar;
  for (auto [x, bound] : {std::pair(op->getOperand(0), op->getOperand(1)),
                          std::pair(op->getOperand(1), op->getOperand(0))}) {
    std::optional<double> c = view.constant(bound);
    if (c && *c >= 3.4028234e38)
      return x;
  }
  return scalar;
}

/// x when `scalar` computes relu(x).
std::optional<Value> matchRelu(PayloadView &view, Value scalar) {
  scalar = stripUpperClamp(view, scalar);
  Operation *op = view.def(scalar);
  if (isa_and_nonnull<arith::MaximumFOp, arith::MaxNumFOp>(op)) {
    if (view.isConstant(op->getOperand(1), 0.0))
      return stripUpperClamp(view, op->getOperand(0));
    if (view.isConstant(op->getOperand(0), 0.0))
      return stripUpperClamp(view, op->getOperand(1));
    return std::nullopt;
  }
  if (auto parts = matchSignSelect(view, scalar)) {
    auto [x, positive, negative] = *parts;
    if (view.same(positive, x) && view.isConstant(negative, 0.0))
      return x;
  }
  return std::nullopt;
}

/// Whether `scalar` is x, or min(x, 0) (either order): the argument of
/// elu's negative branch, which reads the same where it is selected.
bool isNegativePartOf(PayloadView &view, Value scalar, Value x) {
  if (view.same(view.strip(scalar), x))
    return true;
  Operation *op = view.def(scalar);
  if (!isa_and_nonnull<arith::MinimumFOp, arith::MinNumFOp>(op))
    return false;
  return (view.same(op->getOperand(0), x) &&
          view.isConstant(op->getOperand(1), 0.0)) ||
         (view.same(op->getOperand(1), x) &&
          view.isConstant(op->getOperand(0), 0.0));
}

/// Whether `scalar` computes exp(x) - 1 (or of min(x, 0)).
bool isExpMinusOne(PayloadView &view, Value scalar, Value x) {
  Operation *op = view.def(scalar);
  if (auto expm1 = dyn_cast_or_null<math::ExpM1Op>(op))
    return isNegativePartOf(view, expm1.getOperand(), x);
  auto isExpOfX = [&](Value v) {
    auto exp = dyn_cast_or_null<math::ExpOp>(view.def(v));
    return exp && isNegativePartOf(view, exp.getOperand(), x);
  };
  if (auto sub = dyn_cast_or_null<arith::SubFOp>(op))
    return isExpOfX(sub.getLhs()) && view.isConstant(sub.getRhs(), 1.0);
  if (auto add = dyn_cast_or_null<arith::AddFOp>(op))
    return (isExpOfX(add.getLhs()) && view.isConstant(add.getRhs(), -1.0)) ||
           (isExpOfX(add.getRhs()) && view.isConstant(add.getLhs(), -1.0));
  return false;
}

/// x when `scalar` computes elu(x) (alpha = 1).
std::optional<Value> matchElu(PayloadView &view, Value scalar) {
  auto parts = matchSignSelect(view, scalar);
  if (!parts)
    return std::nullopt;
  auto [x, positive, negative] = *parts;
  if (!view.same(view.strip(positive), x) || !isExpMinusOne(view, negative, x))
    return std::nullopt;
  return x;
}

} // namespace

/// Elementwise with every input indexed by the identity too, except splat
/// constants (TOSA broadcasts scalars as tensor<1x1x1xf32>), whose indexing
/// does not matter.
bool mlir::flt::isIdentityElementwise(linalg::GenericOp op) {
  if (!isElementwise(op))
    return false;
  return llvm::all_of(op.getDpsInputOperands(), [&](OpOperand *operand) {
    return op.getMatchingIndexingMap(operand).isIdentity() ||
           constantScalar(operand->get());
  });
}

std::optional<FeatureMapMatch> mlir::flt::matchFeatureMap(Value factor) {
  auto generic = factor.getDefiningOp<linalg::GenericOp>();
  if (!isIdentityElementwise(generic))
    return std::nullopt;
  PayloadView view(generic);
  Value body = view.yielded();
  double offset = 0.0;
  if (auto add = dyn_cast_or_null<arith::AddFOp>(view.def(body))) {
    if (std::optional<double> c = view.constant(add.getRhs())) {
      offset = *c;
      body = add.getLhs();
    } else if (std::optional<double> c = view.constant(add.getLhs())) {
      offset = *c;
      body = add.getRhs();
    }
  }
  // The tensor the map reads: the operand itself, not what produced it (an
  // elementwise producer may be a transpose).
  auto inputOf = [&](Value x) -> Value {
    for (std::optional<ElementRead> r : {view.readShallow(x), view.read(x)})
      if (r && r->map.isIdentity() && r->tensor.getType() == factor.getType())
        return r->tensor;
    return {};
  };
  if (std::optional<Value> x = matchRelu(view, body))
    if (Value input = inputOf(*x))
      return FeatureMapMatch{Kernel::Relu, static_cast<float>(offset), input};
  if (std::optional<Value> x = matchElu(view, body))
    if (Value input = inputOf(*x))
      return FeatureMapMatch{Kernel::EluPlusOne,
                             static_cast<float>(offset - 1.0), input};
  return std::nullopt;
}
