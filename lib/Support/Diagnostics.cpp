//===- Diagnostics.cpp - how flt's tools report errors --------------------===//

#include "flt/Support/Diagnostics.h"

#include "mlir/IR/MLIRContext.h"

#include <cstdlib>
#include <cstring>

bool mlir::flt::printIROnError() {
  const char *value = std::getenv("FLT_PRINT_IR_ON_ERROR");
  return value && *value && std::strcmp(value, "0") != 0;
}

void mlir::flt::configureDiagnostics(MLIRContext &context) {
  context.printOpOnDiagnostic(printIROnError());
  context.printStackTraceOnDiagnostic(false);
}
