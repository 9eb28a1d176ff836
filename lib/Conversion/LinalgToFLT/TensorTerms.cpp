//===- TensorTerms.cpp - linalg values as product-sums of tensors ---------===//

#include "flt/Conversion/LinalgToFLT/TensorTerms.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace mlir::flt;

// Bounds on the analysis: chains deeper than this, or products with more
// factors, are left as leaves (no attention pattern is that large, and a
// value used k times in a product chain of depth n expands to k^n factors).
static constexpr unsigned kMaxDepth = 48;
static constexpr size_t kMaxFactors = 32;

void Term::rename(Label from, Label to) {
  for (TermFactor &factor : factors)
    for (Label &label : factor.labels)
      if (label == from)
        label = to;
  for (auto &group : out)
    for (Label &label : group)
      if (label == from)
        label = to;
}

SmallVector<Label> Term::outLabels() const {
  SmallVector<Label> labels;
  for (const auto &group : out)
    labels.append(group.begin(), group.end());
  return labels;
}

SmallVector<Label> Term::summedLabels() const {
  SmallVector<Label> outs = outLabels();
  SmallVector<Label> summed;
  for (const TermFactor &factor : factors)
    for (Label label : factor.labels)
      if (label != kUnitDim && !llvm::is_contained(outs, label) &&
          !llvm::is_contained(summed, label))
        summed.push_back(label);
  return summed;
}

bool Term::hasFactorWith(Label label) const {
  return llvm::any_of(factors, [&](const TermFactor &factor) {
    return llvm::is_contained(factor.labels, label);
  });
}

std::optional<double> mlir::flt::constantScalar(Value value) {
  if (!value)
    return std::nullopt;
  Attribute attr;
  if (matchPattern(value, m_Constant(&attr))) {
    if (auto f = dyn_cast<FloatAttr>(attr))
      return f.getValueAsDouble();
    if (auto dense = dyn_cast<DenseFPElementsAttr>(attr))
      if (dense.isSplat())
        return dense.getSplatValue<APFloat>().convertToDouble();
    return std::nullopt;
  }
  Operation *op = value.getDefiningOp();
  if (!op)
    return std::nullopt;
  if (auto fill = dyn_cast<linalg::FillOp>(op))
    return constantScalar(fill.getInputs()[0]);
  if (isa<arith::ExtFOp, arith::TruncFOp>(op))
    return constantScalar(op->getOperand(0));
  if (auto neg = dyn_cast<arith::NegFOp>(op))
    if (auto x = constantScalar(neg.getOperand()))
      return -*x;
  if (op->getNumOperands() != 2 ||
      !isa<arith::AddFOp, arith::SubFOp, arith::MulFOp, arith::DivFOp>(op))
    return std::nullopt;
  std::optional<double> a = constantScalar(op->getOperand(0));
  std::optional<double> b = constantScalar(op->getOperand(1));
  if (!a || !b)
    return std::nullopt;
  if (isa<arith::AddFOp>(op))
    return *a + *b;
  if (isa<arith::SubFOp>(op))
    return *a - *b;
  if (isa<arith::MulFOp>(op))
    return *a * *b;
  return *a / *b;
}

std::optional<IndicatorTest> mlir::flt::matchIndicatorTest(
    Value condition,
    llvm::function_ref<std::optional<double>(Value)> constantOf) {
  if (condition.getType().isInteger(1) && isa<BlockArgument>(condition))
    return IndicatorTest{condition, Indicator::NonZero};
  auto cmp = condition.getDefiningOp<arith::CmpFOp>();
  if (!cmp)
    return std::nullopt;
  using P = arith::CmpFPredicate;
  Indicator indicator;
  switch (cmp.getPredicate()) {
  case P::UNE:
  case P::ONE:
    indicator = Indicator::NonZero;
    break;
  case P::OEQ:
  case P::UEQ:
    indicator = Indicator::Zero;
    break;
  default:
    return std::nullopt;
  }
  for (auto [x, zero] : {std::pair(cmp.getLhs(), cmp.getRhs()),
                         std::pair(cmp.getRhs(), cmp.getLhs())}) {
    std::optional<double> c = constantOf(zero);
    if (c && *c == 0.0 && !constantOf(x))
      return IndicatorTest{x, indicator};
  }
  return std::nullopt;
}

Label TermAnalysis::freshLabel(int64_t size, Value source, unsigned dim) {
  Label label = nextLabel++;
  labelSizes[label] = {size, source, dim};
  return label;
}

void TermAnalysis::freshOut(Term &term, Value value) {
  auto type = cast<RankedTensorType>(value.getType());
  term.out.clear();
  for (auto [dim, size] : llvm::enumerate(type.getShape())) {
    term.out.emplace_back();
    if (size != 1)
      term.out.back().push_back(freshLabel(size, value, dim));
  }
}

Term TermAnalysis::leafTerm(Value value) {
  Term term;
  freshOut(term, value);
  TermFactor factor{value, {}, false};
  for (auto &group : term.out)
    factor.labels.push_back(group.empty() ? kUnitDim : group.front());
  term.factors.push_back(factor);
  return term;
}

Term TermAnalysis::termOf(Value value) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  if (!type)
    return leafTerm(value);
  // A constant (or filled) tensor is a coefficient broadcast over its dims.
  if (std::optional<double> scalar = constantScalar(value)) {
    Term term;
    term.coefficient = *scalar;
    freshOut(term, value);
    return term;
  }
  Operation *op = value.getDefiningOp();
  if (!op || depth >= kMaxDepth)
    return leafTerm(value);
  ++depth;
  std::optional<Term> term;
  if (isa<linalg::LinalgOp>(op) && op->getNumResults() == 1)
    term = termOfStructured(op);
  else if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(op);
           collapse && !collapsesAsLeaves) {
    Term source = termOf(collapse.getSrc());
    Term merged = source;
    merged.out.clear();
    for (const ReassociationIndices &group :
         collapse.getReassociationIndices()) {
      merged.out.emplace_back();
      for (int64_t dim : group)
        merged.out.back().append(source.out[dim].begin(),
                                 source.out[dim].end());
    }
    term = merged;
  } else if (isa<tensor::ExpandShapeOp>(op))
    term = termOfExpand(op);
  --depth;
  if (!term || term->factors.size() > kMaxFactors)
    return leafTerm(value);
  return *term;
}

/// Splits each source dim's labels over the dims it expands into: unit
/// dims take none, a static dim takes labels until their static sizes
/// multiply to its size, a dynamic dim takes exactly one dynamic label.
std::optional<Term> TermAnalysis::termOfExpand(Operation *op) {
  auto expand = cast<tensor::ExpandShapeOp>(op);
  Term source = termOf(expand.getSrc());
  ArrayRef<int64_t> shape = expand.getResultType().getShape();
  Term split = source;
  split.out.clear();
  for (auto [srcDim, group] :
       llvm::enumerate(expand.getReassociationIndices())) {
    ArrayRef<Label> labels = source.out[srcDim];
    size_t next = 0;
    for (int64_t dim : group) {
      split.out.emplace_back();
      int64_t size = shape[dim];
      if (size == 1)
        continue;
      if (ShapedType::isDynamic(size)) {
        if (next >= labels.size() ||
            !ShapedType::isDynamic(sizeOf(labels[next])))
          return std::nullopt;
        split.out.back().push_back(labels[next++]);
        continue;
      }
      int64_t product = 1;
      while (product < size && next < labels.size()) {
        int64_t labelSize = sizeOf(labels[next]);
        if (ShapedType::isDynamic(labelSize))
          return std::nullopt;
        product *= labelSize;
        split.out.back().push_back(labels[next++]);
      }
      if (product != size)
        return std::nullopt;
    }
    if (next != labels.size())
      return std::nullopt;
  }
  return split;
}

namespace {
/// The factors of a structured op's payload: which operands it multiplies
/// (or divides by) and a constant coefficient.
struct PayloadProduct {
  double coefficient = 1.0;
  struct Use {
    OpOperand *operand;
    bool inverted;
    double offset;       // of an inverted use: 1 / (x + offset)
    Indicator indicator; // of a select condition: [x != 0] or [x == 0]
  };
  SmallVector<Use> operands;
};
} // namespace

/// The input operand `scalar` reads when it is a block argument of `op`'s
/// payload.
static OpOperand *inputOperand(linalg::LinalgOp op, Value scalar) {
  auto arg = dyn_cast<BlockArgument>(scalar);
  if (!arg || arg.getOwner() != op.getBlock())
    return nullptr;
  OpOperand *operand = op.getMatchingOpOperand(arg);
  return op.isDpsInput(operand) ? operand : nullptr;
}

/// The constant `scalar` is in `op`'s payload: a constant, or an element of
/// a splat-constant input.
static std::optional<double> payloadConstant(linalg::LinalgOp op,
                                             Value scalar) {
  if (std::optional<double> c = constantScalar(scalar))
    return c;
  if (OpOperand *operand = inputOperand(op, scalar))
    return constantScalar(operand->get());
  return std::nullopt;
}

/// Reads `scalar` (a value of `op`'s payload) as a product of the payload's
/// input arguments and constants. Division by an input argument makes an
/// inverted factor; select(c, x, 0) with c a test of an input element (an
/// i1 element, or a float one compared with 0) multiplies by a 0/1
/// indicator factor of that input (masked_fill(mask, 0) of a score); any
/// other op fails.
static bool readProduct(linalg::LinalgOp op, Value scalar, bool inverted,
                        PayloadProduct &product) {
  if (std::optional<double> c = payloadConstant(op, scalar)) {
    if (inverted && *c == 0.0)
      return false;
    product.coefficient *= inverted ? 1.0 / *c : *c;
    return true;
  }
  if (isa<BlockArgument>(scalar)) {
    OpOperand *operand = inputOperand(op, scalar);
    if (!operand)
      return false;
    product.operands.push_back({operand, inverted, 0.0, Indicator::None});
    return true;
  }
  Operation *def = scalar.getDefiningOp();
  if (!def || def->getBlock() != op.getBlock())
    return false;
  if (auto mul = dyn_cast<arith::MulFOp>(def))
    return readProduct(op, mul.getLhs(), inverted, product) &&
           readProduct(op, mul.getRhs(), inverted, product);
  if (auto div = dyn_cast<arith::DivFOp>(def)) {
    if (!readProduct(op, div.getLhs(), inverted, product))
      return false;
    // x / (y + eps): one inverted factor with an offset.
    if (auto add = div.getRhs().getDefiningOp<arith::AddFOp>();
        add && !inverted) {
      for (auto [x, c] : {std::pair(add.getLhs(), add.getRhs()),
                          std::pair(add.getRhs(), add.getLhs())}) {
        std::optional<double> eps = payloadConstant(op, c);
        if (!eps || !isa<BlockArgument>(x) ||
            cast<BlockArgument>(x).getOwner() != op.getBlock())
          continue;
        OpOperand *operand = inputOperand(op, x);
        if (!operand)
          return false;
        product.operands.push_back({operand, true, *eps, Indicator::None});
        return true;
      }
    }
    return readProduct(op, div.getRhs(), !inverted, product);
  }
  if (auto neg = dyn_cast<arith::NegFOp>(def)) {
    product.coefficient = -product.coefficient;
    return readProduct(op, neg.getOperand(), inverted, product);
  }
  if (auto select = dyn_cast<arith::SelectOp>(def)) {
    if (inverted)
      return false;
    std::optional<IndicatorTest> test = matchIndicatorTest(
        select.getCondition(), [&](Value v) { return payloadConstant(op, v); });
    OpOperand *mask = test ? inputOperand(op, test->x) : nullptr;
    if (!mask)
      return false;
    for (auto [kept, zero, indicator] :
         {std::tuple(select.getTrueValue(), select.getFalseValue(),
                     test->indicator),
          std::tuple(select.getFalseValue(), select.getTrueValue(),
                     negate(test->indicator))}) {
      std::optional<double> c = payloadConstant(op, zero);
      if (!c || *c != 0.0)
        continue;
      product.operands.push_back({mask, false, 0.0, indicator});
      return readProduct(op, kept, inverted, product);
    }
    return false;
  }
  return false;
}

/// The terms of the operands of a product. Operands may disagree on how
/// many labels the dim a loop indexes carries: one reads a collapse of batch
/// dims (a label each), another a tensor in which they are one dim (q
/// reshaped to [B * H, L, d] against softmax weights computed in that
/// shape). Operands with more labels there than the fewest are then read as
/// leaves (one label per dim), so that the loop unifies. Empty when the
/// maps do not fit the terms.
static std::vector<Term> readOperands(TermAnalysis &analysis,
                                      linalg::LinalgOp op,
                                      const PayloadProduct &product) {
  SmallVector<bool> opaque(product.operands.size(), false);
  while (true) {
    std::vector<Term> terms;
    SmallVector<std::optional<size_t>> fewest(op.getNumLoops());
    for (auto [index, use] : llvm::enumerate(product.operands)) {
      Value value = use.operand->get();
      terms.push_back(use.inverted || use.indicator != Indicator::None ||
                              opaque[index]
                          ? analysis.leafTerm(value)
                          : analysis.termOf(value));
      AffineMap map = op.getMatchingIndexingMap(use.operand);
      if (map.getNumResults() != terms.back().out.size())
        return {};
      for (auto [dim, expr] : llvm::enumerate(map.getResults()))
        if (auto dimExpr = dyn_cast<AffineDimExpr>(expr)) {
          std::optional<size_t> &width = fewest[dimExpr.getPosition()];
          width =
              std::min(width.value_or(SIZE_MAX), terms.back().out[dim].size());
        }
    }
    bool changed = false;
    for (auto [index, use] : llvm::enumerate(product.operands)) {
      AffineMap map = op.getMatchingIndexingMap(use.operand);
      for (auto [dim, expr] : llvm::enumerate(map.getResults()))
        if (auto dimExpr = dyn_cast<AffineDimExpr>(expr))
          if (terms[index].out[dim].size() > *fewest[dimExpr.getPosition()] &&
              !opaque[index]) {
            opaque[index] = true;
            changed = true;
          }
    }
    if (!changed)
      return terms;
  }
}

/// Whether the init of a reduction starts at zero.
static bool isZeroInit(Value init) {
  std::optional<double> c = constantScalar(init);
  return c && *c == 0.0;
}

std::optional<Term> TermAnalysis::termOfStructured(Operation *rawOp) {
  auto op = cast<linalg::LinalgOp>(rawOp);
  if (!op.hasPureTensorSemantics() || op.getNumDpsInits() != 1 ||
      isa<linalg::FillOp>(rawOp) || !op.getBlock())
    return std::nullopt;
  Block *body = op.getBlock();
  auto yield = dyn_cast<linalg::YieldOp>(body->getTerminator());
  if (!yield || yield.getNumOperands() != 1)
    return std::nullopt;
  OpOperand *init = op.getDpsInitOperand(0);
  BlockArgument initArg = op.getMatchingBlockArgument(init);

  // A reduction must accumulate a product into a zero init; a parallel op
  // must not read its init at all.
  Value productValue = yield.getOperand(0);
  if (op.getNumReductionLoops() > 0) {
    auto add = productValue.getDefiningOp<arith::AddFOp>();
    if (!add || !isZeroInit(init->get()))
      return std::nullopt;
    if (add.getLhs() == initArg)
      productValue = add.getRhs();
    else if (add.getRhs() == initArg)
      productValue = add.getLhs();
    else
      return std::nullopt;
  }
  PayloadProduct product;
  if (!readProduct(op, productValue, /*inverted=*/false, product))
    return std::nullopt;

  // Every use of an operand gets its own term, so inner labels stay apart
  // ((sum_a x_a)^2 is not sum_a x_a^2); their out labels are unified per
  // loop dim through the indexing maps.
  unsigned numLoops = op.getNumLoops();
  std::vector<Term> operandTerms = readOperands(*this, op, product);
  if (operandTerms.size() != product.operands.size())
    return std::nullopt;
  SmallVector<std::optional<SmallVector<Label, 2>>> loops(numLoops);
  Term result;
  result.coefficient = product.coefficient;
  for (auto [use, term] : llvm::zip_equal(product.operands, operandTerms)) {
    auto [operand, inverted, offset, indicator] = use;
    AffineMap map = op.getMatchingIndexingMap(operand);
    for (auto [index, expr] : llvm::enumerate(map.getResults())) {
      auto &group = term.out[index];
      if (auto constant = dyn_cast<AffineConstantExpr>(expr)) {
        if (constant.getValue() != 0 || !group.empty())
          return std::nullopt;
        continue;
      }
      auto dimExpr = dyn_cast<AffineDimExpr>(expr);
      if (!dimExpr)
        return std::nullopt;
      auto &loop = loops[dimExpr.getPosition()];
      if (!loop) {
        loop = group;
        continue;
      }
      if (loop->size() != group.size())
        return std::nullopt;
      for (auto [mine, theirs] :
           llvm::zip_equal(*loop, SmallVector<Label, 2>(group)))
        if (mine != theirs)
          term.rename(theirs, mine);
    }
    for (TermFactor factor : term.factors) {
      factor.inverted ^= inverted;
      if (inverted)
        factor.offset = offset;
      if (indicator != Indicator::None)
        factor.indicator = indicator;
      result.factors.push_back(factor);
    }
    result.coefficient *= term.coefficient;
  }

  // Loops no factor indexes: parallel ones broadcast (fresh labels sized by
  // the result), reduced ones multiply the product by their extent.
  Value resultValue = rawOp->getResult(0);
  AffineMap outMap = op.getMatchingIndexingMap(init);
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  for (unsigned loop = 0; loop < numLoops; ++loop) {
    if (loops[loop])
      continue;
    loops[loop].emplace();
    if (ranges[loop] == 1)
      continue;
    if (iterators[loop] == utils::IteratorType::reduction) {
      if (ShapedType::isDynamic(ranges[loop]))
        return std::nullopt;
      result.coefficient *= static_cast<double>(ranges[loop]);
      continue;
    }
    std::optional<unsigned> outDim =
        outMap.getResultPosition(getAffineDimExpr(loop, op.getContext()));
    if (!outDim)
      return std::nullopt;
    loops[loop]->push_back(freshLabel(ranges[loop], resultValue, *outDim));
  }
  for (AffineExpr expr : outMap.getResults()) {
    result.out.emplace_back();
    if (auto dimExpr = dyn_cast<AffineDimExpr>(expr)) {
      if (iterators[dimExpr.getPosition()] != utils::IteratorType::parallel)
        return std::nullopt;
      result.out.back() = *loops[dimExpr.getPosition()];
    } else if (!isa<AffineConstantExpr>(expr)) {
      return std::nullopt;
    }
  }
  // A parallel loop missing from the result would be a sum in disguise.
  for (unsigned loop = 0; loop < numLoops; ++loop)
    if (iterators[loop] == utils::IteratorType::parallel &&
        !outMap.isFunctionOfDim(loop) && !loops[loop]->empty())
      return std::nullopt;
  return result;
}
