//===- ShapeChecks.h - run-time size checks of compiled functions -*- C++ -*-//

#ifndef FLT_COMPILER_SHAPECHECKS_H
#define FLT_COMPILER_SHAPECHECKS_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringMap.h"

#include <string>
#include <vector>

namespace mlir::flt {

/// The MLIR name prefix of the check functions.
constexpr const char *kShapeCheckPrefix = "__flt_shape_check_";

/// Per exported function, the messages of its run-time size constraints, in
/// the order its check function numbers them (1-based). A constraint on the
/// contents of a table (packed sequences' offsets, lengths) starts with
/// kContentRulePrefix, which the runtime replaces by its own wording.
constexpr const char *kContentRulePrefix = "contents: ";
using ShapeCheckTable = llvm::StringMap<std::vector<std::string>>;

/// For every public function @f with a body, adds a public
/// `@__flt_shape_check_f` taking the same arguments and returning an i64:
/// 0 when every size relation of f's flt ops that involves a dynamic size
/// holds for the given arguments, else the 1-based index of the first that
/// does not. It reads only argument sizes: the flt ops' results are resolved
/// to their operands' sizes (ReifyRankedShapedTypeOpInterface) and the ops
/// themselves are erased. The runtime calls it before the kernel.
FailureOr<ShapeCheckTable> addShapeCheckFunctions(ModuleOp module);

} // namespace mlir::flt

#endif // FLT_COMPILER_SHAPECHECKS_H
