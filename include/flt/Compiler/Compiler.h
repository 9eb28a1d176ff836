//===- Compiler.h - flt module -> shared library ----------------*- C++ -*-===//

#ifndef FLT_COMPILER_COMPILER_H
#define FLT_COMPILER_COMPILER_H

#include "flt/Codegen/Options.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

namespace mlir::flt {

/// Compiles every public function of `module` (ranked tensor arguments and
/// results) as `options` say (flt/Codegen/Options.def) and writes the
/// requested artifact (options.emit) to `outputPath`. Diagnostics go to the
/// module's context, options named as `spelling` says; returns failure after
/// reporting one.
LogicalResult compileModule(ModuleOp module, const CompileOptions &options,
                            StringRef outputPath,
                            OptionSpelling spelling = OptionSpelling::CLI);

/// Lists the CPU names --cpu accepts for the host's target
/// (`flt-compile --cpu=help`).
void printTargetCPUs(llvm::raw_ostream &os);

} // namespace mlir::flt

#endif // FLT_COMPILER_COMPILER_H
