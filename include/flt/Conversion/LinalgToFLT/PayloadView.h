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
      // A producer without inputs is a table (IndexTable): read as one.
      if (!isElementwise(producer) || producer.getNumDpsInputs() == 0)
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

/// A table computed from its indices alone: a linalg.generic without
/// inputs whose payload compares and combines `linalg.index` values and small
/// constants (the causal masks the frontends emit when the sequence length
/// is dynamic). Its elements are evaluated by interpreting the payload.
/// With small constants (|c| < kProbe / 2) such a table is a function of
/// sign(i - j + c) terms, so a kProbe-wide window of a dynamic dim shows every
/// pattern it has at any length.
class IndexTable {
public:
  static constexpr int64_t kProbe = 16;

  static std::optional<IndexTable> get(Value tensor) {
    auto generic = tensor.getDefiningOp<linalg::GenericOp>();
    if (!generic || generic.getNumDpsInputs() != 0 ||
        generic.getNumDpsInits() != 1 ||
        !generic.getIndexingMapsArray()[0].isIdentity())
      return std::nullopt;
    Block &body = generic.getRegion().front();
    if (!body.getArgument(0).use_empty())
      return std::nullopt;
    for (Operation &op : body.without_terminator()) {
      if (auto constant = dyn_cast<arith::ConstantOp>(op)) {
        if (auto integer = dyn_cast<IntegerAttr>(constant.getValue()))
          if (std::abs(integer.getInt()) >= kProbe / 2 &&
              !integer.getType().isInteger(1))
            return std::nullopt;
        continue;
      }
      if (!isa<linalg::IndexOp, arith::AddIOp, arith::SubIOp, arith::CmpIOp,
               arith::SelectOp, arith::UIToFPOp, arith::SIToFPOp,
               arith::ExtUIOp, arith::IndexCastOp>(op))
        return std::nullopt;
    }
    return IndexTable(generic);
  }

  /// The element at `index` (one per dim), or nullopt if it cannot be
  /// evaluated.
  std::optional<double> at(ArrayRef<int64_t> index) const {
    DenseMap<Value, double> known;
    Block &body = op.getRegion().front();
    for (Operation &each : body.without_terminator()) {
      auto in = [&](unsigned i) { return known.lookup(each.getOperand(i)); };
      double result;
      if (auto index_ = dyn_cast<linalg::IndexOp>(each)) {
        result = static_cast<double>(index[index_.getDim()]);
      } else if (auto constant = dyn_cast<arith::ConstantOp>(each)) {
        if (auto integer = dyn_cast<IntegerAttr>(constant.getValue()))
          result = integer.getType().isInteger(1)
                       ? static_cast<double>(integer.getValue().getZExtValue())
                       : static_cast<double>(integer.getInt());
        else if (auto real = dyn_cast<FloatAttr>(constant.getValue()))
          result = real.getValueAsDouble();
        else
          return std::nullopt;
      } else if (isa<arith::AddIOp>(each)) {
        result = in(0) + in(1);
      } else if (isa<arith::SubIOp>(each)) {
        result = in(0) - in(1);
      } else if (auto compare = dyn_cast<arith::CmpIOp>(each)) {
        std::optional<bool> holds =
            compareIndices(compare.getPredicate(), in(0), in(1));
        if (!holds)
          return std::nullopt;
        result = *holds ? 1.0 : 0.0;
      } else if (isa<arith::SelectOp>(each)) {
        result = in(0) != 0.0 ? in(1) : in(2);
      } else {
        result = in(0); // the conversions: values stay exact
      }
      known[each.getResult(0)] = result;
    }
    return known.lookup(body.getTerminator()->getOperand(0));
  }

  /// The dims whose index the payload reads (it is constant along the
  /// others).
  SmallVector<int64_t> indexedDims() const {
    SmallVector<int64_t> dims;
    op.getRegion().front().walk([&](linalg::IndexOp index) {
      if (!llvm::is_contained(dims, static_cast<int64_t>(index.getDim())))
        dims.push_back(index.getDim());
    });
    return dims;
  }

  /// The size of dim `dim`, or kProbe where it is dynamic.
  int64_t extent(int64_t dim) const {
    int64_t size =
        cast<RankedTensorType>(op.getResult(0).getType()).getDimSize(dim);
    return ShapedType::isDynamic(size) ? kProbe : size;
  }

private:
  explicit IndexTable(linalg::GenericOp op) : op(op) {}

  // Op handles are value types whose accessors are not const.

  static std::optional<bool> compareIndices(arith::CmpIPredicate predicate,
                                            double a, double b) {
    using P = arith::CmpIPredicate;
    // Indices and the differences of small ones: signed and unsigned
    // comparisons agree only when both sides are non-negative.
    bool unsignedPredicate = predicate == P::ult || predicate == P::ule ||
                             predicate == P::ugt || predicate == P::uge;
    if (unsignedPredicate && (a < 0 || b < 0))
      return std::nullopt;
    switch (predicate) {
    case P::eq:
      return a == b;
    case P::ne:
      return a != b;
    case P::slt:
    case P::ult:
      return a < b;
    case P::sle:
    case P::ule:
      return a <= b;
    case P::sgt:
    case P::ugt:
      return a > b;
    case P::sge:
    case P::uge:
      return a >= b;
    }
    return std::nullopt;
  }

  mutable linalg::GenericOp op;
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

  /// ConstantRead::get, or an IndexTable (a table with dynamic dims; only
  /// `at` and `extent` then apply): what the causal-mask checks read.
  static std::optional<ConstantRead> getTable(Value tensor, AffineMap map,
                                              Indicator indicator) {
    if (std::optional<ConstantRead> dense = get(tensor, map, indicator))
      return dense;
    std::optional<IndexTable> table = IndexTable::get(tensor);
    auto type = dyn_cast<RankedTensorType>(tensor.getType());
    if (!table || !type ||
        (!type.getElementType().isF32() && !type.getElementType().isInteger(1)))
      return std::nullopt;
    if (type.getElementType().isInteger(1) && indicator == Indicator::None)
      indicator = Indicator::NonZero;
    ConstantRead read(tensor, DenseElementsAttr(), type, map, indicator);
    read.table = table;
    for (size_t dim = 0; dim < read.shape.size(); ++dim)
      read.shape[dim] = table->extent(dim);
    return read;
  }

  /// The element at `point` (one index per loop).
  double at(ArrayRef<int64_t> point) const {
    SmallVector<int64_t> index = map.compose(point);
    if (table) {
      std::optional<double> x = table->at(index);
      return x ? indicated(*x) : std::nan("");
    }
    int64_t flat = 0;
    for (auto [dim, i] : llvm::enumerate(index))
      flat += i * strides[dim];
    return element(flat);
  }

  /// The extent of tensor dim `dim` (IndexTable::kProbe for a dynamic dim of
  /// an index table).
  int64_t extent(int64_t dim) const { return shape[dim]; }

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
    if (table) {
      for (int64_t dim : table->indexedDims()) {
        auto expr = dyn_cast<AffineDimExpr>(map.getResult(dim));
        if (!expr || !llvm::is_contained(kept, expr.getPosition()))
          return false;
      }
      return true;
    }
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
        strides(type.hasStaticShape()
                    ? computeStrides(type.getShape())
                    : SmallVector<int64_t>(type.getRank(), 0)) {}

  double element(int64_t flat) const {
    double x = isBool ? (dense.getValues<bool>()[flat] ? 1.0 : 0.0)
                      : static_cast<double>(dense.getValues<float>()[flat]);
    return indicated(x);
  }

  double indicated(double x) const {
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
  std::optional<IndexTable> table;
  bool isBool;
  AffineMap map;
  Indicator indicator;
  SmallVector<int64_t> shape, strides;
};

} // namespace mlir::flt

#endif // FLT_CONVERSION_LINALGTOFLT_PAYLOADVIEW_H
