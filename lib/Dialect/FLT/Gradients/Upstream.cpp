//===- Upstream.cpp - gradients of upstream ops between flt ops -----------===//
//
// The few upstream ops that appear between flt ops in the functions flt
// compiles: tensor.cast (the cotangent is cast back) and tensor.expand_shape
// / collapse_shape (reshaped back).
//
//===----------------------------------------------------------------------===//

#include "GradientRules.h"

#include "mlir/IR/DialectRegistry.h"

using namespace mlir;
using namespace mlir::flt;
using namespace mlir::flt::gradients;

namespace {

struct CastGradient : DifferentiableOpModel<CastGradient, tensor::CastOp> {
  static FailureOr<SmallVector<Value>> vjp(tensor::CastOp op,
                                           GradientBuilder &gb,
                                           ValueRange cotangents,
                                           ArrayRef<bool>) {
    return SmallVector<Value>{tensor::CastOp::create(
        gb.builder(), op.getLoc(), op.getSource().getType(), cotangents[0])};
  }
};

struct ExpandShapeGradient
    : DifferentiableOpModel<ExpandShapeGradient, tensor::ExpandShapeOp> {
  static FailureOr<SmallVector<Value>> vjp(tensor::ExpandShapeOp op,
                                           GradientBuilder &gb,
                                           ValueRange cotangents,
                                           ArrayRef<bool> needed) {
    SmallVector<Value> grads(op->getNumOperands());
    grads[0] = tensor::CollapseShapeOp::create(gb.builder(), op.getLoc(),
                                               op.getSrcType(), cotangents[0],
                                               op.getReassociationIndices());
    return grads;
  }
};

struct CollapseShapeGradient
    : DifferentiableOpModel<CollapseShapeGradient, tensor::CollapseShapeOp> {
  static FailureOr<SmallVector<Value>> vjp(tensor::CollapseShapeOp op,
                                           GradientBuilder &gb,
                                           ValueRange cotangents,
                                           ArrayRef<bool>) {
    Value source = op.getSrc();
    SmallVector<OpFoldResult> sizes = gb.dims(source);
    return SmallVector<Value>{tensor::ExpandShapeOp::create(
        gb.builder(), op.getLoc(), op.getSrcType(), cotangents[0],
        op.getReassociationIndices(), sizes)};
  }
};

} // namespace

void mlir::flt::gradients::attachUpstreamGradients(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *context, tensor::TensorDialect *) {
    tensor::CastOp::attachInterface<CastGradient>(*context);
    tensor::ExpandShapeOp::attachInterface<ExpandShapeGradient>(*context);
    tensor::CollapseShapeOp::attachInterface<CollapseShapeGradient>(*context);
  });
}
