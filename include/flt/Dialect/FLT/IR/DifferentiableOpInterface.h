//===- DifferentiableOpInterface.h - reverse-mode rules ---------*- C++ -*-===//
//
// The op interface of gradient rules (DifferentiableOpInterface.td) and the
// registration of the rules of flt's ops and of the upstream ops that
// appear between them.
//
//===----------------------------------------------------------------------===//

#ifndef FLT_DIALECT_FLT_IR_DIFFERENTIABLEOPINTERFACE_H
#define FLT_DIALECT_FLT_IR_DIFFERENTIABLEOPINTERFACE_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpDefinition.h"

#include "flt/Dialect/FLT/IR/DifferentiableOpInterface.h.inc"

namespace mlir {
class DialectRegistry;

namespace flt {

/// Attaches the gradient rules (lib/Dialect/FLT/Gradients) to the flt ops
/// and to the upstream ops flt-generate-vjp differentiates through.
void registerDifferentiableOpInterfaceExternalModels(DialectRegistry &registry);

} // namespace flt
} // namespace mlir

#endif // FLT_DIALECT_FLT_IR_DIFFERENTIABLEOPINTERFACE_H
