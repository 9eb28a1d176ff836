//===- Passes.h - flt conversion passes -------------------------*- C++ -*-===//

#ifndef FLT_CONVERSION_PASSES_H
#define FLT_CONVERSION_PASSES_H

#include "flt/Codegen/CPU/CPUTileConfig.h"
#include "flt/Dialect/FLT/IR/FLTDialect.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::flt {

#define GEN_PASS_DECL
#include "flt/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "flt/Conversion/Passes.h.inc"

} // namespace mlir::flt

#endif // FLT_CONVERSION_PASSES_H
