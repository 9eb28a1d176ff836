//===- RaiseAttention.cpp - flt-raise-attention ---------------------------===//
//
// The pass: finds attention written in linalg-on-tensors (as torch-mlir
// emits it, as flt's Python frontends emit it, or as TOSA lowers to it)
// and rewrites it into flt ops. TOSA is first legalized to linalg; then
// every single-result structured op is a candidate root, tried in program
// order by the attention matchers (AttentionMatch.h) and, failing those, by
// the rotary matcher (RotaryMatch.h). Only exact algebraic identities are
// used, so whatever is raised computes what the input did (up to float
// rounding); anything else is left alone.
//
//===----------------------------------------------------------------------===//

#include "flt/Conversion/LinalgToFLT/AttentionMatch.h"
#include "flt/Conversion/LinalgToFLT/RotaryMatch.h"
#include "flt/Conversion/Passes.h"

#include "mlir/Conversion/TosaToArith/TosaToArith.h"
#include "mlir/Conversion/TosaToLinalg/TosaToLinalg.h"
#include "mlir/Conversion/TosaToTensor/TosaToTensor.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::flt {
#define GEN_PASS_DEF_FLTRAISEATTENTION
#include "flt/Conversion/Passes.h.inc"
} // namespace mlir::flt

using namespace mlir;
using namespace mlir::flt;

namespace {

struct FLTRaiseAttentionPass
    : mlir::flt::impl::FLTRaiseAttentionBase<FLTRaiseAttentionPass> {
  using FLTRaiseAttentionBase::FLTRaiseAttentionBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    // TOSA is first legalized to linalg-on-tensors with upstream's
    // conversions; the same matchers then see both inputs.
    bool hasTosa = false;
    func.walk([&](Operation *op) {
      if (isa<tosa::TosaDialect>(op->getDialect()))
        hasTosa = true;
    });
    if (hasTosa) {
      OpPassManager pm(func::FuncOp::getOperationName());
      pm.addPass(tosa::createTosaToLinalgNamed());
      pm.addPass(tosa::createTosaToLinalg());
      pm.addPass(createTosaToArithPass());
      pm.addPass(createTosaToTensorPass());
      if (failed(runPipeline(pm, func)))
        return signalPassFailure();
    }

    SmallVector<Operation *> candidates;
    func.walk([&](linalg::LinalgOp op) {
      if (op->getNumResults() == 1 && op.hasPureTensorSemantics() &&
          !isa<linalg::FillOp>(op))
        candidates.push_back(op);
    });
    OpBuilder b(&getContext());
    bool changed = false;
    for (Operation *root : candidates) {
      auto type = dyn_cast<RankedTensorType>(root->getResultTypes()[0]);
      if (!type || type.getRank() < 2 || !type.getElementType().isF32() ||
          root->use_empty())
        continue;
      TermAnalysis terms;
      std::optional<AttentionMatch> match =
          matchAttention(terms, root->getResult(0));
      if (!match || !isRewritable(*match)) {
        auto generic = dyn_cast<linalg::GenericOp>(root);
        if (!generic)
          continue;
        std::optional<Value> rotary = raiseRotary(b, generic, foldRotaryBatch);
        if (!rotary)
          continue;
        root->getResult(0).replaceAllUsesWith(*rotary);
        changed = true;
        continue;
      }
      b.setInsertionPoint(root);
      Value replacement = buildAttention(b, root, terms, *match);
      root->getResult(0).replaceAllUsesWith(replacement);
      changed = true;
    }
    if (!changed)
      return;
    // The replaced patterns are dead now; the layout changes around the
    // new ops (collapse then expand of the same dims) fold away.
    RewritePatternSet patterns(&getContext());
    tensor::CollapseShapeOp::getCanonicalizationPatterns(patterns,
                                                         &getContext());
    tensor::ExpandShapeOp::getCanonicalizationPatterns(patterns, &getContext());
    if (failed(applyPatternsGreedily(func, std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
