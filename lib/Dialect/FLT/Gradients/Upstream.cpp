//===- Upstream.cpp - gradients of upstream ops between flt ops -----------===//
//
// The few upstream ops that appear between flt ops in the functions flt
// compiles: tensor.cast (the cotangent is cast back) and tensor.expand_shape
// / collapse_shape (reshaped back); and the two that flt-decompose emits for
// flt.attention's rpe_form concat: tensor.concat (each input gets its slice
// of the cotangent) and linalg.mul (d(a b) = b da + a db).
//
//===----------------------------------------------------------------------===//

#include "GradientRules.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
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

struct ConcatGradient
    : DifferentiableOpModel<ConcatGradient, tensor::ConcatOp> {
  static FailureOr<SmallVector<Value>> vjp(tensor::ConcatOp op,
                                           GradientBuilder &gb,
                                           ValueRange cotangents,
                                           ArrayRef<bool> needed) {
    int64_t dim = op.getDim();
    Value g = cotangents[0];
    int64_t rank = op.getResultType().getRank();
    SmallVector<Value> grads(op->getNumOperands());
    OpFoldResult offset = gb.builder().getIndexAttr(0);
    for (auto [i, input] : llvm::enumerate(op.getInputs())) {
      SmallVector<OpFoldResult> sizes = gb.dims(input);
      if (needed[i]) {
        SmallVector<OpFoldResult> offsets(rank, gb.builder().getIndexAttr(0));
        offsets[dim] = offset;
        grads[i] =
            gb.castTo(gb.slice(g, offsets, sizes, rank), input.getType());
      }
      offset = affine::makeComposedFoldedAffineApply(
          gb.builder(), op.getLoc(),
          gb.builder().getAffineDimExpr(0) + gb.builder().getAffineDimExpr(1),
          {offset, sizes[dim]});
    }
    return grads;
  }
};

/// linalg.mul computes in its output's element type: the cotangent of each
/// input is the other input times the result's cotangent, in the input's
/// type.
struct MulGradient : DifferentiableOpModel<MulGradient, linalg::MulOp> {
  static FailureOr<SmallVector<Value>> vjp(linalg::MulOp op,
                                           GradientBuilder &gb,
                                           ValueRange cotangents,
                                           ArrayRef<bool> needed) {
    if (!op.hasPureTensorSemantics() || op.getNumDpsInputs() != 2)
      return op.emitOpError("gradient: only linalg.mul on tensors");
    SmallVector<Value> grads(op->getNumOperands());
    Value g = cotangents[0];
    Value lhs = op.getDpsInputs()[0], rhs = op.getDpsInputs()[1];
    for (auto [i, self, other] :
         {std::tuple<unsigned, Value, Value>{0, lhs, rhs},
          std::tuple<unsigned, Value, Value>{1, rhs, lhs}}) {
      if (!needed[i])
        continue;
      Value product =
          gb.map(ValueRange{g, other}, self,
                 [](OpBuilder &b, Location loc, ValueRange a) {
                   return one(arith::MulFOp::create(b, loc, a[0], a[1]));
                 });
      grads[i] = gb.castTo(product, self.getType());
    }
    return grads;
  }
};

} // namespace

void mlir::flt::gradients::attachUpstreamGradients(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *context, tensor::TensorDialect *) {
    tensor::CastOp::attachInterface<CastGradient>(*context);
    tensor::ExpandShapeOp::attachInterface<ExpandShapeGradient>(*context);
    tensor::CollapseShapeOp::attachInterface<CollapseShapeGradient>(*context);
    tensor::ConcatOp::attachInterface<ConcatGradient>(*context);
  });
  registry.addExtension(+[](MLIRContext *context, linalg::LinalgDialect *) {
    linalg::MulOp::attachInterface<MulGradient>(*context);
  });
}
