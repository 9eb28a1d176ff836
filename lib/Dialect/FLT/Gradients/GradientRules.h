//===- GradientRules.h - the gradient rules' common frame ------*- C++ -*-===//
//
// Internal to lib/Dialect/FLT/Gradients. Every rule is a DifferentiableOpModel
// whose static `vjp(op, builder, resultCotangents, needed)` builds the
// operands' cotangents (null where not needed); the frame checks what every
// rule would otherwise check and gives it a GradientBuilder at the op.
//
//===----------------------------------------------------------------------===//

#ifndef FLT_LIB_DIALECT_FLT_GRADIENTS_GRADIENTRULES_H
#define FLT_LIB_DIALECT_FLT_GRADIENTS_GRADIENTRULES_H

#include "GradientUtils.h"

#include "flt/Dialect/FLT/IR/DifferentiableOpInterface.h"
#include "flt/Dialect/FLT/IR/FLTOps.h"

namespace mlir::flt::gradients {

template <typename Derived, typename OpTy>
struct DifferentiableOpModel
    : public DifferentiableOpInterface::ExternalModel<Derived, OpTy> {
  FailureOr<SmallVector<Value>> buildVJP(Operation *op, OpBuilder &builder,
                                         ValueRange resultCotangents,
                                         ArrayRef<bool> needed) const {
    assert(resultCotangents.size() == op->getNumResults() &&
           needed.size() == op->getNumOperands() &&
           "one cotangent per result, one flag per operand");
    GradientBuilder gb(builder, op->getLoc());
    return Derived::vjp(cast<OpTy>(op), gb, resultCotangents, needed);
  }
};

void attachFeatureMapGradient(MLIRContext *context);
void attachSpectralGradients(MLIRContext *context);
void attachLinearAttentionGradient(MLIRContext *context);
void attachPositionTransformGradient(MLIRContext *context);
void attachToeplitzAttentionGradient(MLIRContext *context);
void attachKernelAttentionGradient(MLIRContext *context);
void attachUpstreamGradients(DialectRegistry &registry);

} // namespace mlir::flt::gradients

#endif // FLT_LIB_DIALECT_FLT_GRADIENTS_GRADIENTRULES_H
