//===- Registration.cpp - attach the gradient rules -----------------------===//

#include "GradientRules.h"

#include "flt/Dialect/FLT/IR/FLTDialect.h"

#include "mlir/IR/DialectRegistry.h"

using namespace mlir;

void mlir::flt::registerDifferentiableOpInterfaceExternalModels(
    DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *context, FLTDialect *) {
    gradients::attachFeatureMapGradient(context);
    gradients::attachSpectralGradients(context);
    gradients::attachLinearAttentionGradient(context);
    gradients::attachPositionTransformGradient(context);
    gradients::attachToeplitzAttentionGradient(context);
    gradients::attachKernelAttentionGradient(context);
  });
  gradients::attachUpstreamGradients(registry);
}
