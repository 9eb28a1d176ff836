//===- TensorTerms.h - linalg values as product-sums of tensors -*- C++ -*-===//
//
// The analysis flt-raise-attention matches attention with. Producers spell
// one contraction many ways: q @ k^T as linalg.matmul after a
// linalg.transpose, as a linalg.batch_matmul over collapsed batch dims
// (torch-mlir), as a linalg.generic with permuted maps, with the softmax
// scale folded into q or applied to the scores, a division by a row sum in
// the same generic or in the next one. TermAnalysis reads any chain of
// linalg ops whose bodies are products (and sums over reduction loops) of
// their inputs, plus collapse/expand reshapes, into one canonical form
//
//   coefficient * sum over inner labels of prod_f  factor_f[labels_f]^(+-1)
//
// so that matchers compare *what* is computed, not how it is spelled.
//
//===----------------------------------------------------------------------===//

#ifndef FLT_CONVERSION_LINALGTOFLT_TENSORTERMS_H
#define FLT_CONVERSION_LINALGTOFLT_TENSORTERMS_H

#include "mlir/IR/Value.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/SmallVector.h"

namespace mlir::flt {

/// An index of a term. Every non-unit dim of every factor carries one; a
/// label that appears in several factors is the same loop index in all.
using Label = int64_t;

/// The "label" of a static size-1 dim, which broadcasts freely.
constexpr Label kUnitDim = -1;

/// A 0/1 function of a tensor's elements: the test of a select condition.
enum class Indicator {
  None,    // the element itself
  NonZero, // [x != 0] (an i1 element: [x])
  Zero,    // [x == 0]
};

inline Indicator negate(Indicator indicator) {
  return indicator == Indicator::NonZero ? Indicator::Zero
         : indicator == Indicator::Zero  ? Indicator::NonZero
                                         : Indicator::None;
}

/// One factor: a tensor the analysis does not look into (a function
/// argument, a constant, an exp or a max), with one label per dim. An
/// inverted factor stands for the elementwise 1 / (value + offset) (a
/// divisor guarded by an eps in the same payload); an indicator factor for
/// the 0/1 tensor indicator(value) (select(mask, x, 0) is x * [mask]).
struct TermFactor {
  Value value;
  SmallVector<Label, 4> labels;
  bool inverted = false;
  double offset = 0.0;
  Indicator indicator = Indicator::None;

  /// Whether the factor is its value itself (not inverted, no indicator).
  bool isPlain() const { return !inverted && indicator == Indicator::None; }
};

/// coefficient * sum over the labels not in `out` of the product of the
/// factors. `out` has one entry per dim of the value the term describes:
/// the labels whose row-major merge that dim is (one label usually, several
/// after a collapse of batch dims, none for a size-1 dim).
struct Term {
  double coefficient = 1.0;
  SmallVector<TermFactor, 4> factors;
  SmallVector<SmallVector<Label, 2>, 4> out;

  /// Renames every occurrence of `from` to `to`.
  void rename(Label from, Label to);
  /// The labels of `out`, flattened in order.
  SmallVector<Label> outLabels() const;
  /// The labels some factor carries and `out` does not: summed over.
  SmallVector<Label> summedLabels() const;
  /// Whether some factor carries `label`.
  bool hasFactorWith(Label label) const;
};

/// Builds Terms for SSA values. Labels are fresh on every call, so two
/// Terms of the same value share no inner label.
class TermAnalysis {
public:
  /// The canonical term of `value`: the product-sum it computes, or the
  /// value itself as a single factor when it is not such a chain.
  Term termOf(Value value);

  /// `value` as a single factor (not looked into).
  Term leafTerm(Value value);

  /// termOf reading tensor.collapse_shape results as leaves, so that merged
  /// dims carry one label, as they do in tensors computed in the merged
  /// shape.
  Term termOfCollapsesAsLeaves(Value value) {
    bool saved = collapsesAsLeaves;
    collapsesAsLeaves = true;
    Term term = termOf(value);
    collapsesAsLeaves = saved;
    return term;
  }

  /// The static size of `label` (ShapedType::kDynamic when dynamic).
  int64_t sizeOf(Label label) const { return labelSizes.lookup(label).size; }

  /// A tensor and dim whose size is the size of `label`, for materializing
  /// dynamic sizes.
  std::pair<Value, unsigned> sizeSource(Label label) const {
    const LabelInfo &info = labelSizes.find(label)->second;
    return {info.source, info.dim};
  }

  /// A label no term carries yet, of `size` (when dynamic, the size of dim
  /// `dim` of `source`).
  Label freshLabel(int64_t size, Value source, unsigned dim);

private:
  struct LabelInfo {
    int64_t size;
    Value source;
    unsigned dim;
  };

  /// Fills `term.out` with fresh labels for `value`'s non-unit dims.
  void freshOut(Term &term, Value value);
  std::optional<Term> termOfStructured(Operation *op);
  std::optional<Term> termOfExpand(Operation *op);

  llvm::DenseMap<Label, LabelInfo> labelSizes;
  Label nextLabel = 0;
  unsigned depth = 0;
  bool collapsesAsLeaves = false;
};

/// The value of a scalar float constant: arith.constant, a splat dense
/// tensor constant or a linalg.fill of one, folding arithmetic on constants
/// (torch-mlir materializes `other * alpha` of aten.add that way).
std::optional<double> constantScalar(Value value);

/// The element a select condition tests and how: an i1 block argument
/// itself, or cmpf une / one (x, 0) ([x != 0]) or cmpf oeq / ueq (x, 0)
/// ([x == 0]), 0 being a constant by `constantOf`.
struct IndicatorTest {
  Value x;
  Indicator indicator;
};
std::optional<IndicatorTest>
matchIndicatorTest(Value condition,
                   llvm::function_ref<std::optional<double>(Value)> constantOf);

} // namespace mlir::flt

#endif // FLT_CONVERSION_LINALGTOFLT_TENSORTERMS_H
