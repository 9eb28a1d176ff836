//===- Diagnostics.h - how flt's tools report errors ------------*- C++ -*-===//
//
// By default MLIR attaches the operation a diagnostic is emitted on, printed
// whole, as a note: after a failed lowering that is the function or module
// at that point, thousands of lines in which the one-line error is lost.
// flt-compile and the Python module report the diagnostic alone, and the IR
// only when asked: FLT_PRINT_IR_ON_ERROR=1 in the environment. (flt-opt
// keeps mlir-opt's --mlir-print-op-on-diagnostic.)
//
//===----------------------------------------------------------------------===//

#ifndef FLT_SUPPORT_DIAGNOSTICS_H
#define FLT_SUPPORT_DIAGNOSTICS_H

namespace mlir {
class MLIRContext;

namespace flt {

/// Whether FLT_PRINT_IR_ON_ERROR asks for the IR with each diagnostic (set,
/// and not "0" or empty).
bool printIROnError();

/// Sets `context` to attach the operation to diagnostics only when
/// printIROnError(), and never a stack trace.
void configureDiagnostics(MLIRContext &context);

} // namespace flt
} // namespace mlir

#endif // FLT_SUPPORT_DIAGNOSTICS_H
