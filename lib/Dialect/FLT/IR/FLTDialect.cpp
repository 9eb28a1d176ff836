//===- FLTDialect.cpp - flt dialect registration --------------------------===//

#include "flt/Dialect/FLT/IR/FLTDialect.h"
#include "flt/Dialect/FLT/IR/FLTOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::flt;

#include "flt/Dialect/FLT/IR/FLTDialect.cpp.inc"
#include "flt/Dialect/FLT/IR/FLTEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "flt/Dialect/FLT/IR/FLTAttrs.cpp.inc"

void FLTDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "flt/Dialect/FLT/IR/FLTAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "flt/Dialect/FLT/IR/FLTOps.cpp.inc"
      >();
}
