//===- Compiler.h - flt module -> shared library ----------------*- C++ -*-===//

#ifndef FLT_COMPILER_COMPILER_H
#define FLT_COMPILER_COMPILER_H

#include "flt/Codegen/Options.h"

#include "mlir/IR/BuiltinOps.h"

namespace mlir::flt {

/// Compiles every public function of `module` (ranked tensor arguments and
/// results) as `options` say (flt/Codegen/Options.def) and writes the
/// requested artifact (options.emit) to `outputPath`. Diagnostics go to the
/// module's context; returns failure after reporting one.
LogicalResult compileModule(ModuleOp module, const CompileOptions &options,
                            StringRef outputPath);

} // namespace mlir::flt

#endif // FLT_COMPILER_COMPILER_H
