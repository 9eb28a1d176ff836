//===- ToeplitzMethod.cpp - flt.toeplitz_attention method = auto ----------===//
//
// `auto` picks the method by cost: at compile time for static sizes, else at
// run time (an scf.if whose two branches are the same op with method direct
// and fft, lowered by their own patterns):
//
//   direct ≈ 4.7e-11 s · L² (m + e)             (tiled quadratic form)
//   fft    ≈ 1.2e-8  s · m ⌈e/31⌉ N log2 N      (N = 2^⌈log2(2L - 1)⌉)
//
// The constants were fitted to both lowerings on one Zen 4 core at
// m = e = 64 (L = 4096: 100 ms direct, 236 ms fft; L = 16384: 1649 ms and
// 1284 ms); the crossover there is L ≈ 10k. Only their ratio matters.
//
//===----------------------------------------------------------------------===//

#include "flt/Conversion/FLTToLinalg/FLTToLinalg.h"
#include "flt/Conversion/FLTToLinalg/LoweringUtils.h"
#include "flt/Dialect/FLT/IR/FLTOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::flt;

namespace {

constexpr double kDirectSecondsPerUnit = 4.7e-11;
constexpr double kFFTSecondsPerUnit = 1.2e-8;
constexpr int64_t kFFTValueColumns = 31;

/// Whether the FFT is estimated cheaper, for known sizes.
bool fftIsCheaper(int64_t L, int64_t m, int64_t e) {
  int64_t bits = 1;
  while ((int64_t{1} << bits) < 2 * L - 1)
    ++bits;
  double N = static_cast<double>(int64_t{1} << bits);
  double groups =
      static_cast<double>((e + kFFTValueColumns - 1) / kFFTValueColumns);
  double direct = kDirectSecondsPerUnit * static_cast<double>(L) *
                  static_cast<double>(L) * static_cast<double>(m + e);
  double fft = kFFTSecondsPerUnit * static_cast<double>(m) * groups * N *
               static_cast<double>(bits);
  return fft < direct;
}

struct ChooseToeplitzMethod : OpRewritePattern<ToeplitzAttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(ToeplitzAttentionOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getMethod() != ToeplitzMethod::Auto)
      return rewriter.notifyMatchFailure(op, "method chosen already");
    // Known sizes: decide now.
    int64_t staticL = op.getFq().getType().getDimSize(2);
    int64_t staticM = op.getFq().getType().getDimSize(3);
    int64_t staticE = op.getV().getType().getDimSize(3);
    if (ShapedType::isStatic(staticL) && ShapedType::isStatic(staticM) &&
        ShapedType::isStatic(staticE)) {
      rewriter.modifyOpInPlace(op, [&] {
        op.setMethod(fftIsCheaper(staticL, staticM, staticE)
                         ? ToeplitzMethod::Fft
                         : ToeplitzMethod::Direct);
      });
      return success();
    }

    Location loc = op.getLoc();
    Type f64 = rewriter.getF64Type(), i64 = rewriter.getI64Type();
    auto size = [&](Value tensor, int64_t dim) -> Value {
      Value index = tensor::DimOp::create(rewriter, loc, tensor, dim);
      return arith::IndexCastOp::create(rewriter, loc, i64, index);
    };
    auto real = [&](Value integer) -> Value {
      return arith::SIToFPOp::create(rewriter, loc, f64, integer);
    };
    auto i64c = [&](int64_t v) -> Value {
      return arith::ConstantIntOp::create(rewriter, loc, i64, v);
    };
    Value L = size(op.getFq(), 2), m = size(op.getFq(), 3),
          e = size(op.getV(), 3);
    // N = 2^bits >= 2L - 1.
    Value bits = toeplitzFFTBits(rewriter, loc, L);
    Value N = arith::ShLIOp::create(rewriter, loc, i64c(1), bits);
    Value groups =
        arith::CeilDivSIOp::create(rewriter, loc, e, i64c(kFFTValueColumns));
    auto mul = [&](Value a, Value b) -> Value {
      return arith::MulFOp::create(rewriter, loc, a, b);
    };
    auto f64c = [&](double v) -> Value {
      return arith::ConstantOp::create(rewriter, loc,
                                       rewriter.getF64FloatAttr(v));
    };
    Value direct = mul(mul(mul(real(L), real(L)),
                           real(arith::AddIOp::create(rewriter, loc, m, e))),
                       f64c(kDirectSecondsPerUnit));
    Value fft = mul(mul(mul(real(m), real(groups)), mul(real(N), real(bits))),
                    f64c(kFFTSecondsPerUnit));
    Value useFFT = arith::CmpFOp::create(
        rewriter, loc, arith::CmpFPredicate::OLT, fft, direct);

    auto choose = [&](ToeplitzMethod method) {
      return [&, method](OpBuilder &b, Location l) {
        auto clone = cast<ToeplitzAttentionOp>(b.clone(*op));
        clone.setMethod(method);
        scf::YieldOp::create(b, l, clone.getResult());
      };
    };
    rewriter.replaceOpWithNewOp<scf::IfOp>(op, useFFT,
                                           choose(ToeplitzMethod::Fft),
                                           choose(ToeplitzMethod::Direct));
    return success();
  }
};

} // namespace

void mlir::flt::populateToeplitzMethodPatterns(RewritePatternSet &patterns) {
  patterns.add<ChooseToeplitzMethod>(patterns.getContext());
}
