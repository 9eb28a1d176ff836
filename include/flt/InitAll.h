//===- InitAll.h - register everything flt offers ---------------*- C++ -*-===//
//
// The one registration every entry point calls (flt-opt, flt-compile,
// flt-fuzz, the Python module), as mlir/InitAllDialects.h and
// mlir/InitAllPasses.h are for upstream MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef FLT_INITALL_H
#define FLT_INITALL_H

namespace mlir {
class DialectRegistry;

namespace flt {

/// The flt dialect, every upstream dialect and extension, and the
/// translations the pipelines need (LLVM IR, and the GPU-to-LLVM-IR ones
/// that gpu-module-to-binary uses).
void registerAllFLTDialects(DialectRegistry &registry);

/// Every upstream pass, every flt pass (dialect, conversion, codegen) and
/// the flt-cpu-pipeline and flt-gpu-pipeline pipelines. Idempotent.
void registerAllFLTPasses();

} // namespace flt
} // namespace mlir

#endif // FLT_INITALL_H
