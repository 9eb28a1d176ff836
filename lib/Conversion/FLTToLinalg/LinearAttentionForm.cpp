//===- LinearAttentionForm.cpp - linear or quadratic flt.linear_attention -===//
//
// flt.linear_attention has two exact forms (SPEC.md 2.4): the linear one
// (the state T = Σ_j (fk_j ⊗ psi_j) v_jᵀ, LinearAttention.cpp) and the
// quadratic one ((fq fkᵀ) ⊙ (phi psiᵀ)) v, which is flt.kernel_attention
// with kernel = dot (SPEC.md 2.5, lowered tile by tile by
// QuadraticAttention.cpp). By FLOPs (an FMA is 2):
//
//   linear     2 (L + S) m r (e + 1) · walk       (walk: causal chunk walk)
//   quadratic  2 L S (m + r + e + 1) · quadratic  (half of it when causal)
//
// without rpe r is 1 and drops out of the quadratic sum. `walk` and
// `quadratic` are the target's measured cost per FLOP relative to the
// non-causal linear form (CPUTileConfig.h, GPUTileConfig.h). The cheaper
// form is taken at compile time when every size is known, else by an
// scf.if on the run-time sizes whose branches are the two forms:
//
//   %o = flt.linear_attention %fq, %fk, %v rpe(%phi, %psi) : ...
// ->
//   %quadratic = arith.cmpf olt, %quadraticCost, %linearCost : f64
//   %o = scf.if %quadratic -> (tensor<1x8x?x64xf32>) {
//     %q = flt.kernel_attention %fq, %fk, %v rpe(%phi, %psi)
//            {kernel = #flt.pair_kernel<dot>} : ...
//     scf.yield %q : tensor<1x8x?x64xf32>
//   } else {
//     ... the linear form's loops ...
//   }
//
//===----------------------------------------------------------------------===//

#include "flt/Conversion/FLTToLinalg/FLTToLinalg.h"
#include "flt/Conversion/FLTToLinalg/LoweringUtils.h"
#include "flt/Dialect/FLT/IR/FLTOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/StringSwitch.h"

using namespace mlir;
using namespace mlir::flt;

std::optional<LinearAttentionForm>
mlir::flt::parseLinearAttentionForm(StringRef name) {
  return llvm::StringSwitch<std::optional<LinearAttentionForm>>(name)
      .Case("auto", LinearAttentionForm::Auto)
      .Case("linear", LinearAttentionForm::Linear)
      .Case("quadratic", LinearAttentionForm::Quadratic)
      .Default(std::nullopt);
}

namespace {

/// Whether the quadratic form is cheaper: an i1 that folds to a constant
/// when every size involved is static.
Value quadraticIsCheaper(RewriterBase &rewriter, LinearAttentionOp op,
                         const LinearAttentionLoweringOptions &options) {
  Location loc = op.getLoc();
  Type f64 = rewriter.getF64Type();
  auto size = [&](Value tensor, int64_t dim) -> Value {
    Value index = rewriter.createOrFold<tensor::DimOp>(loc, tensor, dim);
    Value integer = rewriter.createOrFold<arith::IndexCastOp>(
        loc, rewriter.getI64Type(), index);
    return rewriter.createOrFold<arith::SIToFPOp>(loc, f64, integer);
  };
  auto constant = [&](double value) -> Value {
    return arith::ConstantOp::create(rewriter, loc,
                                     rewriter.getF64FloatAttr(value));
  };
  auto mul = [&](Value a, Value b) {
    return rewriter.createOrFold<arith::MulFOp>(loc, a, b);
  };
  auto add = [&](Value a, Value b) {
    return rewriter.createOrFold<arith::AddFOp>(loc, a, b);
  };
  Value L = size(op.getFq(), 2), S = size(op.getFk(), 2);
  Value m = size(op.getFq(), 3), e = size(op.getV(), 3);
  Value one = constant(1.0);
  Value r = op.getPhi() ? size(op.getPhi(), 3) : one;
  Value features = add(add(m, e), one);
  if (op.getPhi())
    features = add(features, r);

  // Per (L + S) and per L S: folded to one constant each when m, r and e
  // are static.
  bool causal = op.getCausal();
  Value linearUnit = mul(mul(m, r), add(e, one));
  linearUnit = mul(linearUnit,
                   constant(2.0 * (causal ? options.causalWalkFlopCost : 1.0)));
  Value quadraticUnit =
      mul(features, constant((causal ? 1.0 : 2.0) * options.quadraticFlopCost));
  Value linear = mul(add(L, S), linearUnit);
  Value quadratic = mul(mul(L, S), quadraticUnit);
  return rewriter.createOrFold<arith::CmpFOp>(loc, arith::CmpFPredicate::OLT,
                                              quadratic, linear);
}

/// The quadratic form: flt.kernel_attention with kernel = dot.
Value quadraticForm(OpBuilder &b, LinearAttentionOp op) {
  return KernelAttentionOp::create(
      b, op.getLoc(), op.getType(), op.getFq(), op.getFk(), op.getV(),
      /*scale=*/Value(), /*bias=*/Value(), op.getPhi(), op.getPsi(),
      PairKernelAttr::get(b.getContext(), PairKernel::Dot),
      b.getBoolAttr(op.getCausal()), /*temperature=*/FloatAttr(),
      b.getI64IntegerAttr(4), op.getNormalizeAttr(), op.getEpsAttr());
}

struct LowerLinearAttention : OpRewritePattern<LinearAttentionOp> {
  LowerLinearAttention(MLIRContext *context,
                       const LinearAttentionLoweringOptions &options)
      : OpRewritePattern(context), options(options) {}

  LogicalResult matchAndRewrite(LinearAttentionOp op,
                                PatternRewriter &rewriter) const override {
    // The unfused reference pipeline always runs the linear form (it is
    // what benchmarks compare the fused one with).
    LinearAttentionForm form =
        options.fuseKronecker ? options.form : LinearAttentionForm::Linear;
    Value quadratic;
    if (form == LinearAttentionForm::Auto) {
      quadratic = quadraticIsCheaper(rewriter, op, options);
      APInt known;
      if (matchPattern(quadratic, m_ConstantInt(&known)))
        form = known.isOne() ? LinearAttentionForm::Quadratic
                             : LinearAttentionForm::Linear;
    }
    if (form == LinearAttentionForm::Quadratic) {
      rewriter.replaceOp(op, quadraticForm(rewriter, op));
      return success();
    }
    if (form == LinearAttentionForm::Linear)
      return replaceOpWithLowered(
          rewriter, op, lowerLinearAttentionLinearForm(op, rewriter, options));

    // Sizes known at run time only: both forms, one taken.
    auto choice = scf::IfOp::create(rewriter, op.getLoc(), op.getType(),
                                    quadratic, /*withElseRegion=*/true);
    OpBuilder::InsertionGuard guard(rewriter);
    rewriter.setInsertionPointToStart(choice.thenBlock());
    scf::YieldOp::create(rewriter, op.getLoc(), quadraticForm(rewriter, op));
    rewriter.setInsertionPointToStart(choice.elseBlock());
    FailureOr<Value> linear =
        lowerLinearAttentionLinearForm(op, rewriter, options);
    if (failed(linear)) {
      rewriter.eraseOp(choice);
      return rewriter.notifyMatchFailure(op, "cannot reify the result shape");
    }
    Value result = *linear;
    if (result.getType() != op.getType())
      result =
          tensor::CastOp::create(rewriter, op.getLoc(), op.getType(), result);
    scf::YieldOp::create(rewriter, op.getLoc(), result);
    rewriter.replaceOp(op, choice.getResult(0));
    return success();
  }

  LinearAttentionLoweringOptions options;
};

} // namespace

void mlir::flt::populateLinearAttentionLoweringPatterns(
    RewritePatternSet &patterns,
    const LinearAttentionLoweringOptions &options) {
  patterns.add<LowerLinearAttention>(patterns.getContext(), options);
}
