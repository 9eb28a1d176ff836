//===- FLTDialect.h - flt dialect and attributes ----------------*- C++ -*-===//
//
// The flt dialect (docs/Semantics.md) and its enum attributes.
//
//===----------------------------------------------------------------------===//

#ifndef FLT_DIALECT_FLT_IR_FLTDIALECT_H
#define FLT_DIALECT_FLT_IR_FLTDIALECT_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Attributes.h"
#include "mlir/IR/Dialect.h"

#include "flt/Dialect/FLT/IR/FLTDialect.h.inc"
#include "flt/Dialect/FLT/IR/FLTEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "flt/Dialect/FLT/IR/FLTAttrs.h.inc"

#endif // FLT_DIALECT_FLT_IR_FLTDIALECT_H
