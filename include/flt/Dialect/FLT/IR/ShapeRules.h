//===- ShapeRules.h - the size relations of flt ops at run time -*- C++ -*-===//
//
// The op verifiers check every size relation of docs/Semantics.md whose sizes
// are static. The same code reports the relations that involve a dynamic size
// as ShapeRules, which flt-compile turns into a check that runs before the
// kernel (see flt/Compiler/ShapeChecks.h), so both come from one place.
//
//===----------------------------------------------------------------------===//

#ifndef FLT_DIALECT_FLT_IR_SHAPERULES_H
#define FLT_DIALECT_FLT_IR_SHAPERULES_H

#include "mlir/IR/Operation.h"

#include <string>

namespace mlir::flt {

/// dim(value, dim) == Σ coefficient · dim(term) + constant, or (MultipleOf)
/// dim(value, dim) is a multiple of Σ coefficient · dim(term) + constant, or
/// (AtLeast) dim(value, dim) >= Σ coefficient · dim(term) + constant, or
/// (Product) dim(value, dim) == constant · Π dim(term).
///
/// Two kinds read the contents of `value`, a rank-1 integer tensor, against
/// the size of the one term: (Offsets) value[0] = 0 < value[1] < ... <
/// value[N] = dim(term), the cu_seqlens of packed sequences; (Lengths)
/// 0 <= value[b] <= dim(term) for every b. They are checked only when
/// `value` is an argument of the function and its data is at hand.
struct ShapeRule {
  enum class Kind { Equal, MultipleOf, AtLeast, Product, Offsets, Lengths };
  struct Term {
    Value value;
    int64_t dim;
    int64_t coefficient;
  };
  Kind kind = Kind::Equal;
  Value value;
  int64_t dim = 0;
  SmallVector<Term, 2> terms;
  int64_t constant = 0;
  /// What must hold, for users: "'v' S must equal 'fk' S".
  std::string message;
};

/// Appends the relations of `op` (an flt op) that involve dynamic sizes.
void collectRuntimeShapeRules(Operation *op, SmallVectorImpl<ShapeRule> &rules);

} // namespace mlir::flt

#endif // FLT_DIALECT_FLT_IR_SHAPERULES_H
