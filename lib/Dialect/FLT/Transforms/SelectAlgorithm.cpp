//===- SelectAlgorithm.cpp - flt-select-algorithm -------------------------===//
//
// Picks, per op, the cheaper of the exact algorithms an flt op has, by the
// target's cost model (the pass options; flt/Codegen/TargetConfig.h fills
// them in from CPUTileConfig.h / GPUTileConfig.h):
//
// flt.linear_attention (docs/Semantics.md 2.4): the linear form (the state
// T = Σ_j (fk_j ⊗ psi_j) v_jᵀ, lowered by flt-convert-to-linalg) or the
// quadratic one ((fq fkᵀ) ⊙ (phi psiᵀ)) v, which is flt.kernel_attention
// with kernel = dot (docs/Semantics.md 2.5). By FLOPs (an FMA is 2):
//
//   linear     2 (L + S) m r (e + 1) · walk       (walk: causal chunk walk)
//   quadratic  2 L S (m + r + e + 1) · quadratic  (half of it when causal)
//
// without rpe r is 1 and drops out of the quadratic sum. `walk` and
// `quadratic` are the target's measured cost per FLOP relative to the
// non-causal linear form.
//
// flt.toeplitz_attention with method = auto (docs/Semantics.md 2.7): direct
// ≈ c_d L² (m + e) (half when causal), fft ≈ c_f m ⌈e/31⌉ N log2 N
// (N = 2^⌈log2(2L - 1)⌉).
//
// flt.toeplitz_correlation (the Toeplitz bias's gradient) with method =
// auto: direct ≈ c_d L² (m + c) (half when causal), fft ≈ c_f ⌈m c / 32⌉
// N log2 N (m c channel products, two per FFT column, 16 columns per
// transform). The direct method is the rule's tiled decomposition,
// built here; fft stays for flt-convert-to-linalg.
//
// The cheaper algorithm is taken now when every size is known, else by an
// scf.if on the run-time sizes whose branches hold both.
//
//===----------------------------------------------------------------------===//

#include "flt/Dialect/FLT/Gradients/Decompositions.h"
#include "flt/Dialect/FLT/IR/FLTOps.h"
#include "flt/Dialect/FLT/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace mlir::flt {
#define GEN_PASS_DEF_FLTSELECTALGORITHM
#include "flt/Dialect/FLT/Transforms/Passes.h.inc"
} // namespace mlir::flt

using namespace mlir;
using namespace mlir::flt;

namespace {

/// Value columns per FFT group: 2 · 16 lanes - 1 of them plus the
/// normalizer (ToeplitzFFT.cpp's grouping on the CPU).
constexpr int64_t kFFTValueColumns = 31;
/// Channel products per transform of flt.toeplitz_correlation's FFT method
/// (two per complex column, 16 columns on the CPU).
constexpr int64_t kFFTChannelsPerTransform = 32;

/// Scalar f64 arithmetic that folds where its operands are constants.
struct CostBuilder {
  RewriterBase &b;
  Location loc;

  /// A dim of `tensor` as i64, and as f64.
  Value integerSize(Value tensor, int64_t dim) {
    Value index = b.createOrFold<tensor::DimOp>(loc, tensor, dim);
    return b.createOrFold<arith::IndexCastOp>(loc, b.getI64Type(), index);
  }
  Value size(Value tensor, int64_t dim) {
    return real(integerSize(tensor, dim));
  }
  Value real(Value integer) {
    return b.createOrFold<arith::SIToFPOp>(loc, b.getF64Type(), integer);
  }
  Value constant(double value) {
    return arith::ConstantOp::create(b, loc, b.getF64FloatAttr(value));
  }
  Value mul(Value x, Value y) {
    return b.createOrFold<arith::MulFOp>(loc, x, y);
  }
  Value add(Value x, Value y) {
    return b.createOrFold<arith::AddFOp>(loc, x, y);
  }
  Value less(Value x, Value y) {
    return b.createOrFold<arith::CmpFOp>(loc, arith::CmpFPredicate::OLT, x, y);
  }
};

/// The static value of an i1, if it folded to one.
std::optional<bool> known(Value condition) {
  APInt value;
  if (matchPattern(condition, m_ConstantInt(&value)))
    return value.isOne();
  return std::nullopt;
}

/// Replaces `op` by an scf.if on `condition` whose branches yield what
/// `thenBranch` and `elseBranch` build.
void replaceWithChoice(RewriterBase &rewriter, Operation *op, Value condition,
                       function_ref<Value(OpBuilder &)> thenBranch,
                       function_ref<Value(OpBuilder &)> elseBranch) {
  Location loc = op->getLoc();
  auto choice = scf::IfOp::create(rewriter, loc, op->getResultTypes(),
                                  condition, /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPointToStart(choice.thenBlock());
  scf::YieldOp::create(rewriter, loc, thenBranch(rewriter));
  rewriter.setInsertionPointToStart(choice.elseBlock());
  scf::YieldOp::create(rewriter, loc, elseBranch(rewriter));
  rewriter.replaceOp(op, choice.getResults());
}

/// Records the ops a rewriter creates, so that the cost arithmetic of a
/// decision taken at compile time leaves nothing behind.
struct CreatedOps : RewriterBase::Listener {
  void notifyOperationInserted(Operation *op, OpBuilder::InsertPoint) override {
    ops.push_back(op);
  }
  /// Erases the recorded ops that ended up unused, last first.
  void eraseDead(RewriterBase &rewriter) {
    for (Operation *op : llvm::reverse(ops))
      if (op->use_empty() && isOpTriviallyDead(op))
        rewriter.eraseOp(op);
    ops.clear();
  }
  SmallVector<Operation *> ops;
};

struct FLTSelectAlgorithmPass
    : mlir::flt::impl::FLTSelectAlgorithmBase<FLTSelectAlgorithmPass> {
  using FLTSelectAlgorithmBase::FLTSelectAlgorithmBase;

  void runOnOperation() override {
    if (linearAttentionForm != "auto" && linearAttentionForm != "linear" &&
        linearAttentionForm != "quadratic") {
      getOperation()->emitError()
          << "flt-select-algorithm: linear-attention-form must be auto, "
             "linear or quadratic (got '"
          << linearAttentionForm << "')";
      return signalPassFailure();
    }
    if (linearAttentionGrad != "auto" && linearAttentionGrad != "fused" &&
        linearAttentionGrad != "decomposed") {
      getOperation()->emitError()
          << "flt-select-algorithm: linear-attention-grad must be auto, "
             "fused or decomposed (got '"
          << linearAttentionGrad << "')";
      return signalPassFailure();
    }
    if (!(quadraticFlopCost > 0) || !(causalWalkFlopCost > 0) ||
        !(toeplitzDirectCost > 0) || !(toeplitzFFTCost > 0)) {
      getOperation()->emitError()
          << "flt-select-algorithm: the costs must be positive";
      return signalPassFailure();
    }
    // Gradients first: the linear attentions a decomposition builds are
    // then chosen forms for like any other.
    selectEach<LinearAttentionGradOp>(
        [&](RewriterBase &rewriter, LinearAttentionGradOp op) {
          selectLinearAttentionGrad(rewriter, op);
        });
    selectEach<ToeplitzCorrelationOp>(
        [&](RewriterBase &rewriter, ToeplitzCorrelationOp op) {
          selectToeplitzCorrelation(rewriter, op);
        });
    // Ops are collected first: the branches built below hold ops this walk
    // must not visit again.
    SmallVector<Operation *> ops;
    getOperation()->walk([&](Operation *op) {
      if (isa<LinearAttentionOp>(op) ||
          (isa<ToeplitzAttentionOp>(op) &&
           cast<ToeplitzAttentionOp>(op).getMethod() == ToeplitzMethod::Auto))
        ops.push_back(op);
    });
    CreatedOps created;
    IRRewriter rewriter(&getContext(), &created);
    for (Operation *op : ops) {
      rewriter.setInsertionPoint(op);
      if (auto linear = dyn_cast<LinearAttentionOp>(op))
        selectLinearAttentionForm(rewriter, linear);
      else
        selectToeplitzMethod(rewriter, cast<ToeplitzAttentionOp>(op));
      created.eraseDead(rewriter);
    }
  }

  /// Runs `select` on every OpT (collected first: the choices build new
  /// ops), erasing what cost arithmetic a static choice leaves unused.
  template <typename OpT>
  void selectEach(function_ref<void(RewriterBase &, OpT)> select) {
    SmallVector<OpT> ops;
    getOperation()->walk([&](OpT op) { ops.push_back(op); });
    CreatedOps created;
    IRRewriter rewriter(&getContext(), &created);
    for (OpT op : ops) {
      rewriter.setInsertionPoint(op);
      select(rewriter, op);
      created.eraseDead(rewriter);
    }
  }

  /// Whether the quadratic form is cheaper: an i1 that folds to a constant
  /// when every size involved is static.
  Value quadraticIsCheaper(RewriterBase &rewriter, LinearAttentionOp op) {
    return quadraticIsCheaper(rewriter, op.getLoc(), op.getFq(), op.getFk(),
                              op.getV(), op.getPhi(), op.getCausal());
  }
  Value quadraticIsCheaper(RewriterBase &rewriter, Location loc, Value fq,
                           Value fk, Value v, Value phi, bool causal) {
    CostBuilder c{rewriter, loc};
    Value L = c.size(fq, 2), S = c.size(fk, 2);
    Value m = c.size(fq, 3), e = c.size(v, 3);
    Value one = c.constant(1.0);
    Value r = phi ? c.size(phi, 3) : one;
    Value features = c.add(c.add(m, e), one);
    if (phi)
      features = c.add(features, r);
    // Per (L + S) and per L S: one constant each when m, r and e are static.
    Value linearUnit = c.mul(c.mul(m, r), c.add(e, one));
    linearUnit = c.mul(linearUnit,
                       c.constant(2.0 * (causal ? causalWalkFlopCost : 1.0)));
    Value quadraticUnit =
        c.mul(features, c.constant((causal ? 1.0 : 2.0) * quadraticFlopCost));
    Value linear = c.mul(c.add(L, S), linearUnit);
    Value quadratic = c.mul(c.mul(L, S), quadraticUnit);
    return c.less(quadratic, linear);
  }

  /// The quadratic form: flt.kernel_attention with kernel = dot.
  static Value quadraticForm(OpBuilder &b, LinearAttentionOp op) {
    return KernelAttentionOp::create(
        b, op.getLoc(), op.getResult().getType(), op.getFq(), op.getFk(),
        op.getV(),
        /*scale=*/Value(), /*bias=*/Value(), op.getPhi(), op.getPsi(),
        PairKernelAttr::get(b.getContext(), PairKernel::Dot),
        b.getBoolAttr(op.getCausal()), /*temperature=*/FloatAttr(),
        b.getI64IntegerAttr(4), op.getNormalizeAttr(), op.getEpsAttr());
  }

  void selectLinearAttentionForm(RewriterBase &rewriter, LinearAttentionOp op) {
    // State, packed sequences and padding are lowered in the linear form
    // only; grouped heads exist in both (kernel_attention reads k and v at
    // head h / (H / H_kv) too).
    if (linearAttentionForm == "linear" || op.getInitialState() ||
        op.getCuSeqlens() || op.getLengths())
      return;
    if (linearAttentionForm == "quadratic") {
      rewriter.replaceOp(op, quadraticForm(rewriter, op));
      return;
    }
    Value cheaper = quadraticIsCheaper(rewriter, op);
    if (std::optional<bool> quadratic = known(cheaper)) {
      if (*quadratic)
        rewriter.replaceOp(op, quadraticForm(rewriter, op));
      return;
    }
    replaceWithChoice(
        rewriter, op, cheaper,
        [&](OpBuilder &b) { return quadraticForm(b, op); },
        [&](OpBuilder &b) { return b.clone(*op)->getResult(0); });
  }

  /// Whether the fused backward lowering applies: static m, r, e, not
  /// causal (flt-convert-to-linalg's LinearAttentionGrad.cpp).
  static bool fusable(LinearAttentionGradOp op) {
    auto staticDim = [](Value value, int64_t dim) {
      return ShapedType::isStatic(
          cast<RankedTensorType>(value.getType()).getDimSize(dim));
    };
    return !op.getCausal() && staticDim(op.getFq(), 3) &&
           staticDim(op.getV(), 3) &&
           (!op.getPhi() || staticDim(op.getPhi(), 3));
  }

  void selectLinearAttentionGrad(RewriterBase &rewriter,
                                 LinearAttentionGradOp op) {
    if (linearAttentionGrad == "fused" && fusable(op))
      return;
    auto decomposed = [&](OpBuilder &b) {
      SmallVector<Value> values = decomposeLinearAttentionGrad(b, op);
      // Unused results have no decomposition: any value of their type.
      Value operands[] = {op.getFq(), op.getFk(), op.getV(), op.getPhi(),
                          op.getPsi()};
      for (auto [index, value] : llvm::enumerate(values)) {
        if (value)
          continue;
        auto type = cast<RankedTensorType>(op.getGrads()[index].getType());
        SmallVector<Value> dynamic;
        for (int64_t d = 0; d < type.getRank(); ++d)
          if (type.isDynamicDim(d))
            dynamic.push_back(
                tensor::DimOp::create(b, op.getLoc(), operands[index], d));
        value = tensor::EmptyOp::create(b, op.getLoc(), type.getShape(),
                                        type.getElementType(), dynamic);
      }
      return values;
    };
    if (linearAttentionGrad == "decomposed" || !fusable(op)) {
      rewriter.replaceOp(op, decomposed(rewriter));
      return;
    }
    // auto: the fused backward is five passes of the linear form's size
    // (~2.5 forwards). Where the forward would rather run the quadratic
    // form (short sequences), the decomposition's linear attentions choose
    // it too and cost less (measured at m = e = 64, r = 32: fused 0.9 ms
    // vs 0.16 ms at L = 64, 21 ms vs 36 ms at L = 1024). With run-time
    // sizes the fused backward is taken without a run-time branch: an
    // scf.if between the two costs more than the short sequences lose
    // (measured: the FLT layer's backward at L = 16384 went from 254 to
    // 330 ms; its results leave the branch with dynamic strides, and the
    // extra buffers double the fresh pages a call touches).
    std::optional<bool> quadratic =
        known(quadraticIsCheaper(rewriter, op.getLoc(), op.getFq(), op.getFk(),
                                 op.getV(), op.getPhi(), op.getCausal()));
    if (quadratic && *quadratic)
      rewriter.replaceOp(op, decomposed(rewriter));
  }

  /// N = 2^bits, the smallest power of two >= 2L - 1 (bits >= 1), as
  /// i64 values of the run-time L.
  static std::pair<Value, Value> fftLength(RewriterBase &rewriter, Location loc,
                                           Value L) {
    Type i64 = rewriter.getI64Type();
    auto i64Constant = [&](int64_t v) -> Value {
      return arith::ConstantIntOp::create(rewriter, loc, i64, v);
    };
    // bits = 64 - ctlz(max(2L - 2, 1)).
    Value twoLMinus2 = rewriter.createOrFold<arith::SubIOp>(
        loc, rewriter.createOrFold<arith::MulIOp>(loc, L, i64Constant(2)),
        i64Constant(2));
    Value atLeastOne =
        rewriter.createOrFold<arith::MaxSIOp>(loc, twoLMinus2, i64Constant(1));
    Value bits = rewriter.createOrFold<arith::SubIOp>(
        loc, i64Constant(64),
        rewriter.createOrFold<math::CountLeadingZerosOp>(loc, atLeastOne));
    Value N = rewriter.createOrFold<arith::ShLIOp>(loc, i64Constant(1), bits);
    return {N, bits};
  }

  void selectToeplitzCorrelation(RewriterBase &rewriter,
                                 ToeplitzCorrelationOp op) {
    auto direct = [&](OpBuilder &b) {
      return decomposeToeplitzCorrelation(b, op);
    };
    ToeplitzMethod method = op.getMethod();
    if (method == ToeplitzMethod::Fft)
      return;
    // Packed sequences exist in the direct method only.
    if (method == ToeplitzMethod::Direct || op.getCuSeqlens()) {
      rewriter.replaceOp(op, direct(rewriter));
      return;
    }
    Location loc = op.getLoc();
    CostBuilder c{rewriter, loc};
    Type i64 = rewriter.getI64Type();
    auto integer = [&](Value tensor, int64_t dim) {
      return c.integerSize(tensor, dim);
    };
    Value L = integer(op.getFq(), 2), m = integer(op.getFq(), 3),
          columns = integer(op.getKeys(), 3);
    auto [N, bits] = fftLength(rewriter, loc, L);
    Value transforms = rewriter.createOrFold<arith::CeilDivSIOp>(
        loc, rewriter.createOrFold<arith::MulIOp>(loc, m, columns),
        arith::ConstantIntOp::create(rewriter, loc, i64,
                                     kFFTChannelsPerTransform));
    Value directCost = c.mul(
        c.mul(c.mul(c.real(L), c.real(L)),
              c.real(rewriter.createOrFold<arith::AddIOp>(loc, m, columns))),
        c.constant(toeplitzDirectCost * (op.getCausal() ? 0.5 : 1.0)));
    Value fftCost =
        c.mul(c.mul(c.real(transforms), c.mul(c.real(N), c.real(bits))),
              c.constant(toeplitzFFTCost));
    Value useFFT = c.less(fftCost, directCost);
    auto withFFT = [&](OpBuilder &b) -> Value {
      auto clone = cast<ToeplitzCorrelationOp>(b.clone(*op));
      clone.setMethod(ToeplitzMethod::Fft);
      return clone.getResult();
    };
    if (std::optional<bool> fftCheaper = known(useFFT)) {
      if (*fftCheaper)
        rewriter.modifyOpInPlace(op,
                                 [&] { op.setMethod(ToeplitzMethod::Fft); });
      else
        rewriter.replaceOp(op, direct(rewriter));
      return;
    }
    replaceWithChoice(rewriter, op, useFFT, withFFT, direct);
  }

  void selectToeplitzMethod(RewriterBase &rewriter, ToeplitzAttentionOp op) {
    // Packed and padded sequences exist in the direct method only.
    if (op.packsOrPads()) {
      rewriter.modifyOpInPlace(op,
                               [&] { op.setMethod(ToeplitzMethod::Direct); });
      return;
    }
    Location loc = op.getLoc();
    CostBuilder c{rewriter, loc};
    Type i64 = rewriter.getI64Type();
    auto integer = [&](Value tensor, int64_t dim) {
      return c.integerSize(tensor, dim);
    };
    auto i64Constant = [&](int64_t v) -> Value {
      return arith::ConstantIntOp::create(rewriter, loc, i64, v);
    };
    Value L = integer(op.getFq(), 2), m = integer(op.getFq(), 3),
          e = integer(op.getV(), 3);
    auto [N, bits] = fftLength(rewriter, loc, L);
    Value groups = rewriter.createOrFold<arith::CeilDivSIOp>(
        loc, e, i64Constant(kFFTValueColumns));
    // Causal direct runs skip the key tiles after the diagonal.
    Value direct =
        c.mul(c.mul(c.mul(c.real(L), c.real(L)),
                    c.real(rewriter.createOrFold<arith::AddIOp>(loc, m, e))),
              c.constant(toeplitzDirectCost * (op.getCausal() ? 0.5 : 1.0)));
    Value fft = c.mul(
        c.mul(c.mul(c.real(m), c.real(groups)), c.mul(c.real(N), c.real(bits))),
        c.constant(toeplitzFFTCost));
    Value useFFT = c.less(fft, direct);

    auto withMethod = [&](ToeplitzMethod method) {
      return [&, method](OpBuilder &b) -> Value {
        auto clone = cast<ToeplitzAttentionOp>(b.clone(*op));
        clone.setMethod(method);
        return clone.getResult();
      };
    };
    if (std::optional<bool> fftCheaper = known(useFFT)) {
      rewriter.modifyOpInPlace(op, [&] {
        op.setMethod(*fftCheaper ? ToeplitzMethod::Fft
                                 : ToeplitzMethod::Direct);
      });
      return;
    }
    replaceWithChoice(rewriter, op, useFFT, withMethod(ToeplitzMethod::Fft),
                      withMethod(ToeplitzMethod::Direct));
  }
};

} // namespace
