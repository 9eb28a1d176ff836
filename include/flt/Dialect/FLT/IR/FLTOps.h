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

#define GET_OP_CLASSES
#include "flt/Dialect/FLT/IR/FLTOps.h.inc"

#endif // FLT_DIALECT_FLT_IR_FLTOPS_H
