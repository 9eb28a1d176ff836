//===- FLTOps.h - flt dialect operations ------------------------*- C++ -*-===//
//
// The user-facing ops of docs/Semantics.md section 2.
//
//===----------------------------------------------------------------------===//

#ifndef FLT_DIALECT_FLT_IR_FLTOPS_H
#define FLT_DIALECT_FLT_IR_FLTOPS_H

#include "flt/Dialect/FLT/IR/FLTDialect.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/StringMap.h"

#define GET_OP_CLASSES
#include "flt/Dialect/FLT/IR/FLTOps.h.inc"

namespace mlir::flt {

/// The result types the builders give the flt op `name` ("flt.<mnemonic>"):
/// each op's inferResultType of the operands named as in its ODS
/// definition (absent optional operands missing from `operands`) and of
/// `attributes` (position_transform's core). Operand ranks the op does not
/// take give dynamic sizes (the verifier reports the operand). Fails for an
/// unknown op or a missing operand. flt.ops (Python) builds with these.
FailureOr<SmallVector<Type>>
inferResultTypes(StringRef name, const llvm::StringMap<Value> &operands,
                 DictionaryAttr attributes);

/// The width P of `theta` (SPEC 2.2) for `spectrum` with positions of
/// dimension p and `blobs` Gaussians (gaussian_mixture): (p + 2) blobs, or
/// 2 for local_window, as the verifier requires.
int64_t spectrumParameterCount(Spectrum spectrum, int64_t p, int64_t blobs);

} // namespace mlir::flt

#endif // FLT_DIALECT_FLT_IR_FLTOPS_H
