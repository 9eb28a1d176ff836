//===- ToeplitzFFT.cpp - Toeplitz attention and its bias gradient by FFT
//---===//
//
// docs/Semantics.md 2.7: num_i = Σ_p fq_ip Σ_j t(j - i) fk_jp [v_j, 1] with
// t(Δ) = exp(b_Δ - max b) (0 for Δ > 0 when causal). Each inner sum is a
// Toeplitz product, i.e. a linear convolution with h(n) = t(-n), computed
// as a circular one of length N = 2^ceil(log2(2L - 1)) through the FFT:
// O(N log N) per column instead of O(L²).
//
// Per (batch, head, group of value columns) — an scf.forall — and per
// feature p, the group's real columns fk_p ⊙ v_c (2 W - 1 value columns and
// the ones column of the normalizer) are packed two per complex column (h
// is real, so conv(h, x + i y) = conv(h, x) + i conv(h, y)): real columns
// 0..W-1 in the real plane, W..2W-1 in the imaginary one, so that every
// plane row is one contiguous W-lane vector. W (fft-lanes) is the target's:
// 16 on the CPU (31 value columns per group), 4 on the GPU, where a thread
// holds the rows of a butterfly in registers (4 rows of 16 f64 lanes would
// spill). Forward: rows permuted to
// bit-reversed order (row swaps), radix-2 decimation in time; the product
// with ĥ = FFT(h); inverse: decimation in frequency with conjugate twiddles
// (bit-reversed output), rows swapped back, / N. Every pass moves whole
// rows: no gathers. There is no FFT in MLIR: these loops are ours.
//
// flt.toeplitz_correlation (the bias's gradient, a correlation of channel
// products summed over channels) is one forward transform per two channel
// pairs and one inverse per head: ToeplitzCorrelationFFT below.
//
// The transforms run in f64: an FFT's rounding error is absolute (relative
// to the largest outputs), and rows whose normalizer is small next to the
// others (bias weights spanning e^±6) lose their relative accuracy in f32.
//
//===----------------------------------------------------------------------===//

#include "flt/Conversion/FLTToLinalg/FLTToLinalg.h"
#include "flt/Conversion/FLTToLinalg/LoweringUtils.h"
#include "flt/Dialect/FLT/IR/FLTOps.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::flt;

namespace {

/// Radix-2 FFTs over planes: an [N, lanes] f64 tensor pair (re, im) holds
/// `lanes` complex columns transformed together, one contiguous vector per
/// row, N = 2^bits the smallest power of two >= 2 `tokens` - 1 (at least 2).
/// Every pass moves whole rows: no gathers.
class FFTPlanes {
public:
  /// Builds N, bits and the twiddle tables at `b`'s insertion point.
  FFTPlanes(OpBuilder &b, Location loc, int64_t lanes, Value tokens);

  /// The bit reversal of n in `bits` bits.
  Value bitReverse(OpBuilder &nb, Value n);
  /// A row (`lanes` lanes) of a [N, lanes] plane, and writing one back.
  Value readRow(OpBuilder &nb, Value plane, Value row);
  Value writeRow(OpBuilder &nb, Value value, Value plane, Value row);
  /// Swaps rows n and bitreverse(n) of both planes (an involution).
  std::pair<Value, Value> permute(OpBuilder &nb, Value re, Value im);
  /// In place: forward takes bit-reversed rows to the natural-order
  /// spectrum (decimation in time); inverse takes a natural-order spectrum
  /// to bit-reversed rows, not yet divided by N (decimation in frequency
  /// with conjugate twiddles).
  std::pair<Value, Value> forward(OpBuilder &nb, Value re, Value im);
  std::pair<Value, Value> inverse(OpBuilder &nb, Value re, Value im);

  /// N and log2 N (index values).
  Value length, bits;
  /// One row: `lanes` f64.
  VectorType vec;

private:
  Value idx(OpBuilder &nb, int64_t v) {
    return arith::ConstantIndexOp::create(nb, loc, v);
  }
  Value cstReal(OpBuilder &nb, double v) {
    return arith::ConstantOp::create(nb, loc, nb.getF64FloatAttr(v));
  }

  Location loc;
  // cos / sin of -2π k / N for k < N/2.
  Value cosTable, sinTable;
};

FFTPlanes::FFTPlanes(OpBuilder &b, Location loc, int64_t lanes, Value tokens)
    : vec(VectorType::get({lanes}, b.getF64Type())), loc(loc) {
  StructuredBuilder sb(b, loc);
  Type i64 = b.getI64Type(), real = b.getF64Type();
  bits = arith::IndexCastOp::create(
      b, loc, b.getIndexType(),
      toeplitzFFTBits(b, loc, arith::IndexCastOp::create(b, loc, i64, tokens)));
  length = arith::ShLIOp::create(b, loc, idx(b, 1), bits);
  Value halfLength = arith::ShRUIOp::create(b, loc, length, idx(b, 1));
  SmallVector<Value> tables = sb.generic(
      ValueRange{},
      ValueRange{sb.empty({halfLength}, real), sb.empty({halfLength}, real)},
      {sb.map(1, {0}), sb.map(1, {0})}, StructuredBuilder::parallel(1),
      [&](OpBuilder &nb, Location nl, ValueRange) {
        Type f64 = nb.getF64Type();
        auto toF64 = [&](Value index) {
          return arith::SIToFPOp::create(
              nb, nl, f64, arith::IndexCastOp::create(nb, nl, i64, index));
        };
        Value angle = arith::DivFOp::create(
            nb, nl,
            arith::MulFOp::create(nb, nl,
                                  arith::ConstantOp::create(
                                      nb, nl, nb.getF64FloatAttr(-2 * M_PI)),
                                  toF64(linalg::IndexOp::create(nb, nl, 0))),
            toF64(length));
        return SmallVector<Value>{math::CosOp::create(nb, nl, angle),
                                  math::SinOp::create(nb, nl, angle)};
      });
  cosTable = tables[0];
  sinTable = tables[1];
}

/// Builds the FFT-based lowering of one op.
class ToeplitzFFT {
public:
  /// `lanes`: complex columns per FFT row (the vector width); they carry
  /// 2 lanes - 1 value columns plus the normalizer's ones column.
  ToeplitzFFT(ToeplitzAttentionOp op, OpBuilder &b, int64_t fftLanes)
      : op(op), b(b), loc(op.getLoc()), sb(b, loc), f32(b.getF32Type()),
        real(b.getF64Type()), lanes(fftLanes), valueColumns(2 * fftLanes - 1),
        vec(VectorType::get({fftLanes}, b.getF64Type())) {}

  FailureOr<Value> build();

private:
  Value idx(OpBuilder &nb, int64_t v) {
    return arith::ConstantIndexOp::create(nb, loc, v);
  }
  /// A constant of the transforms' type.
  Value cstReal(OpBuilder &nb, double v) {
    return arith::ConstantOp::create(nb, loc, nb.getF64FloatAttr(v));
  }

  ToeplitzAttentionOp op;
  OpBuilder &b;
  Location loc;
  StructuredBuilder sb;
  Type f32, real;
  const int64_t lanes, valueColumns;
  VectorType vec;
};

Value FFTPlanes::bitReverse(OpBuilder &nb, Value n) {
  Type i64 = nb.getI64Type();
  Value wide = arith::IndexCastOp::create(nb, loc, i64, n);
  Value reversed = LLVM::BitReverseOp::create(nb, loc, i64, wide);
  Value shift = arith::SubIOp::create(
      nb, loc, arith::ConstantIntOp::create(nb, loc, i64, 64),
      arith::IndexCastOp::create(nb, loc, i64, bits));
  Value result = arith::ShRUIOp::create(nb, loc, reversed, shift);
  return arith::IndexCastOp::create(nb, loc, nb.getIndexType(), result);
}

Value FFTPlanes::readRow(OpBuilder &nb, Value plane, Value row) {
  SmallVector<bool> inBounds = {true};
  return vector::TransferReadOp::create(
             nb, loc, vec, plane, ValueRange{row, idx(nb, 0)}, cstReal(nb, 0.0),
             ArrayRef<bool>(inBounds))
      .getResult();
}

Value FFTPlanes::writeRow(OpBuilder &nb, Value value, Value plane, Value row) {
  SmallVector<bool> inBounds = {true};
  return vector::TransferWriteOp::create(nb, loc, value, plane,
                                         ValueRange{row, idx(nb, 0)},
                                         ArrayRef<bool>(inBounds))
      .getResult();
}

/// One radix-2 pass over all butterflies of half-size `half`:
/// `butterfly(a, b, w) -> (a', b')` on row pairs (k + j, k + j + half) with
/// twiddle w = W^(j N / 2 half).
static std::pair<Value, Value>
radixPass(OpBuilder &nb, Location loc, Value length, Value half, Value re,
          Value im, function_ref<std::pair<Value, Value>(Value)> twiddle,
          function_ref<void(OpBuilder &, Value, Value, Value, Value, Value,
                            Value, SmallVectorImpl<Value> &)>
              butterfly,
          function_ref<Value(OpBuilder &, Value, Value)> readRow,
          function_ref<Value(OpBuilder &, Value, Value, Value)> writeRow) {
  Value zero = arith::ConstantIndexOp::create(nb, loc, 0);
  Value one = arith::ConstantIndexOp::create(nb, loc, 1);
  Value span = arith::ShLIOp::create(nb, loc, half, one);
  auto blocks = scf::ForOp::create(
      nb, loc, zero, length, span, ValueRange{re, im},
      [&](OpBuilder &bb, Location, Value k, ValueRange planes) {
        auto pairs = scf::ForOp::create(
            bb, loc, zero, half, one, planes,
            [&](OpBuilder &pb, Location, Value j, ValueRange p) {
              Value top = arith::AddIOp::create(pb, loc, k, j);
              Value bottom = arith::AddIOp::create(pb, loc, top, half);
              auto [wr, wi] = twiddle(j);
              Value ar = readRow(pb, p[0], top), ai = readRow(pb, p[1], top);
              Value br = readRow(pb, p[0], bottom),
                    bi = readRow(pb, p[1], bottom);
              SmallVector<Value> result;
              butterfly(pb, ar, ai, br, bi, wr, wi, result);
              Value newRe = writeRow(pb, result[0], p[0], top);
              Value newIm = writeRow(pb, result[1], p[1], top);
              newRe = writeRow(pb, result[2], newRe, bottom);
              newIm = writeRow(pb, result[3], newIm, bottom);
              scf::YieldOp::create(pb, loc, ValueRange{newRe, newIm});
            });
        scf::YieldOp::create(bb, loc, pairs.getResults());
      });
  return {blocks.getResult(0), blocks.getResult(1)};
}

std::pair<Value, Value> FFTPlanes::permute(OpBuilder &nb, Value re, Value im) {
  auto rows = scf::ForOp::create(
      nb, loc, idx(nb, 0), length, idx(nb, 1), ValueRange{re, im},
      [&](OpBuilder &rb, Location, Value n, ValueRange planes) {
        Value r = bitReverse(rb, n);
        Value swap =
            arith::CmpIOp::create(rb, loc, arith::CmpIPredicate::ugt, r, n);
        auto maybe = scf::IfOp::create(
            rb, loc, swap,
            [&](OpBuilder &tb, Location) {
              SmallVector<Value> result;
              for (Value plane : planes) {
                Value a = readRow(tb, plane, n), b2 = readRow(tb, plane, r);
                plane = writeRow(tb, b2, plane, n);
                result.push_back(writeRow(tb, a, plane, r));
              }
              scf::YieldOp::create(tb, loc, result);
            },
            [&](OpBuilder &eb, Location) {
              scf::YieldOp::create(eb, loc, planes);
            });
        scf::YieldOp::create(rb, loc, maybe.getResults());
      });
  return {rows.getResult(0), rows.getResult(1)};
}

std::pair<Value, Value> FFTPlanes::forward(OpBuilder &nb, Value re, Value im) {
  // Decimation in time: half = 1, 2, ..., N/2; input bit-reversed.
  auto stages = scf::ForOp::create(
      nb, loc, idx(nb, 0), bits, idx(nb, 1), ValueRange{re, im},
      [&](OpBuilder &sb2, Location, Value s, ValueRange planes) {
        Value half = arith::ShLIOp::create(sb2, loc, idx(sb2, 1), s);
        Value stride = arith::ShRUIOp::create(
            sb2, loc, length, arith::AddIOp::create(sb2, loc, s, idx(sb2, 1)));
        auto [newRe, newIm] = radixPass(
            sb2, loc, length, half, planes[0], planes[1],
            [&](Value j) {
              Value at = arith::MulIOp::create(sb2, loc, j, stride);
              return std::make_pair(
                  tensor::ExtractOp::create(sb2, loc, cosTable, at).getResult(),
                  tensor::ExtractOp::create(sb2, loc, sinTable, at)
                      .getResult());
            },
            [&](OpBuilder &pb, Value ar, Value ai, Value br, Value bi, Value wr,
                Value wi, SmallVectorImpl<Value> &out) {
              // t = w b; (a + t, a - t).
              Value wrv = vector::BroadcastOp::create(pb, loc, vec, wr);
              Value wiv = vector::BroadcastOp::create(pb, loc, vec, wi);
              Value tr = arith::SubFOp::create(
                  pb, loc, arith::MulFOp::create(pb, loc, wrv, br),
                  arith::MulFOp::create(pb, loc, wiv, bi));
              Value ti = arith::AddFOp::create(
                  pb, loc, arith::MulFOp::create(pb, loc, wrv, bi),
                  arith::MulFOp::create(pb, loc, wiv, br));
              out.append({arith::AddFOp::create(pb, loc, ar, tr),
                          arith::AddFOp::create(pb, loc, ai, ti),
                          arith::SubFOp::create(pb, loc, ar, tr),
                          arith::SubFOp::create(pb, loc, ai, ti)});
            },
            [&](OpBuilder &pb, Value plane, Value row) {
              return readRow(pb, plane, row);
            },
            [&](OpBuilder &pb, Value value, Value plane, Value row) {
              return writeRow(pb, value, plane, row);
            });
        scf::YieldOp::create(sb2, loc, ValueRange{newRe, newIm});
      });
  return {stages.getResult(0), stages.getResult(1)};
}

std::pair<Value, Value> FFTPlanes::inverse(OpBuilder &nb, Value re, Value im) {
  // Decimation in frequency with conjugate twiddles: half = N/2, ..., 1;
  // input natural, output bit-reversed (not yet divided by N).
  auto stages = scf::ForOp::create(
      nb, loc, idx(nb, 0), bits, idx(nb, 1), ValueRange{re, im},
      [&](OpBuilder &sb2, Location, Value s, ValueRange planes) {
        // s counts up; the stage is bits - 1 - s.
        Value stage = arith::SubIOp::create(
            sb2, loc, arith::SubIOp::create(sb2, loc, bits, idx(sb2, 1)), s);
        Value half = arith::ShLIOp::create(sb2, loc, idx(sb2, 1), stage);
        Value stride = arith::ShRUIOp::create(
            sb2, loc, length,
            arith::AddIOp::create(sb2, loc, stage, idx(sb2, 1)));
        auto [newRe, newIm] = radixPass(
            sb2, loc, length, half, planes[0], planes[1],
            [&](Value j) {
              Value at = arith::MulIOp::create(sb2, loc, j, stride);
              Value sin =
                  tensor::ExtractOp::create(sb2, loc, sinTable, at).getResult();
              return std::make_pair(
                  tensor::ExtractOp::create(sb2, loc, cosTable, at).getResult(),
                  arith::NegFOp::create(sb2, loc, sin).getResult());
            },
            [&](OpBuilder &pb, Value ar, Value ai, Value br, Value bi, Value wr,
                Value wi, SmallVectorImpl<Value> &out) {
              // (a + b, (a - b) w).
              Value wrv = vector::BroadcastOp::create(pb, loc, vec, wr);
              Value wiv = vector::BroadcastOp::create(pb, loc, vec, wi);
              Value dr = arith::SubFOp::create(pb, loc, ar, br);
              Value di = arith::SubFOp::create(pb, loc, ai, bi);
              out.append({arith::AddFOp::create(pb, loc, ar, br),
                          arith::AddFOp::create(pb, loc, ai, bi),
                          arith::SubFOp::create(
                              pb, loc, arith::MulFOp::create(pb, loc, dr, wrv),
                              arith::MulFOp::create(pb, loc, di, wiv)),
                          arith::AddFOp::create(
                              pb, loc, arith::MulFOp::create(pb, loc, dr, wiv),
                              arith::MulFOp::create(pb, loc, di, wrv))});
            },
            [&](OpBuilder &pb, Value plane, Value row) {
              return readRow(pb, plane, row);
            },
            [&](OpBuilder &pb, Value value, Value plane, Value row) {
              return writeRow(pb, value, plane, row);
            });
        scf::YieldOp::create(sb2, loc, ValueRange{newRe, newIm});
      });
  return {stages.getResult(0), stages.getResult(1)};
}

FailureOr<Value> ToeplitzFFT::build() {
  FailureOr<SmallVector<OpFoldResult>> sizes = resultSizes(b, op, 0);
  if (failed(sizes))
    return failure();
  Value fq = op.getFq(), fk = op.getFk(), v = op.getV(), bias = op.getB();
  OpFoldResult B = (*sizes)[0], H = (*sizes)[1], L = (*sizes)[2],
               E = (*sizes)[3];
  Value lengthL = getValueOrCreateConstantIndexOp(b, loc, L);
  Value features = getValueOrCreateConstantIndexOp(b, loc, sb.dim(fq, 3));
  bool causal = op.getCausal();
  Type resultElement = op.getType().getElementType();

  // N = 2^bits, the smallest power of two >= 2L - 1, and the twiddles.
  Type i64 = b.getI64Type();
  FFTPlanes fft(b, loc, lanes, lengthL);
  Value length = fft.length;

  // max_h b, subtracted before exp (it cancels).
  Value biasMax = toeplitzBiasMaxima(sb, bias, H);

  AffineExpr d0;
  bindDims(b.getContext(), d0);
  OpFoldResult groups = affine::makeComposedFoldedAffineApply(
      b, loc, d0.ceilDiv(valueColumns), {E});
  Value out = sb.empty(*sizes, resultElement);
  SmallVector<OpFoldResult> zeros(3, b.getIndexAttr(0));
  auto forall =
      scf::ForallOp::create(b, loc, zeros, {B, H, groups},
                            SmallVector<OpFoldResult>(3, b.getIndexAttr(1)),
                            ValueRange{out}, std::nullopt);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(forall.getBody());
  Value bi = forall.getInductionVar(0), hi = forall.getInductionVar(1);
  // Grouped heads: fk and v of key/value head hi / (H / H_kv).
  Value kvHi = hi;
  if (fq.getType() != fk.getType() ||
      ShapedType::isDynamic(cast<RankedTensorType>(fq.getType()).getDimSize(1)))
    kvHi = arith::DivUIOp::create(
        b, loc, hi,
        arith::DivUIOp::create(
            b, loc, getValueOrCreateConstantIndexOp(b, loc, sb.dim(fq, 1)),
            getValueOrCreateConstantIndexOp(b, loc, sb.dim(fk, 1))));
  Value c0 = arith::MulIOp::create(b, loc, forall.getInductionVar(2),
                                   idx(b, valueColumns));
  OpFoldResult width = tileSize(b, loc, valueColumns, c0, E);
  Value widthValue = getValueOrCreateConstantIndexOp(b, loc, width);
  OpFoldResult N = length, C = b.getIndexAttr(lanes);
  Value shift = toeplitzBiasShift(b, loc, biasMax, hi);

  // ĥ = FFT(h) with h_circ[n] = t(-n) for n < L and t(N - n) for
  // n > N - L, packed in every column (same value) and bit-reversed.
  SmallVector<Value> kernel = sb.generic(
      ValueRange{},
      ValueRange{sb.empty({N, C}, real), sb.filled({N, C}, real, 0)},
      {sb.map(2, {0, 1}), sb.map(2, {0, 1})}, StructuredBuilder::parallel(2),
      [&](OpBuilder &nb, Location nl, ValueRange) {
        Value n = fft.bitReverse(nb, linalg::IndexOp::create(nb, nl, 0));
        auto cmp = [&](arith::CmpIPredicate p, Value x, Value y) {
          return arith::CmpIOp::create(nb, nl, p, x, y).getResult();
        };
        // Δ = -n (column L - 1 - n) or N - n (column N - n + L - 1).
        Value near = cmp(arith::CmpIPredicate::ult, n, lengthL);
        Value lastL = arith::SubIOp::create(nb, nl, lengthL, idx(nb, 1));
        Value far = cmp(arith::CmpIPredicate::ugt, n,
                        arith::SubIOp::create(nb, nl, length, lengthL));
        Value column = arith::SelectOp::create(
            nb, nl, near, arith::SubIOp::create(nb, nl, lastL, n),
            arith::AddIOp::create(
                nb, nl, arith::SubIOp::create(nb, nl, length, n), lastL));
        Value used =
            causal ? near : arith::OrIOp::create(nb, nl, near, far).getResult();
        column = arith::SelectOp::create(nb, nl, used, column, idx(nb, 0));
        Value logit =
            tensor::ExtractOp::create(nb, nl, bias, ValueRange{hi, column});
        Value weight = math::ExpOp::create(
            nb, nl, arith::SubFOp::create(nb, nl, logit, shift));
        Value t = arith::ExtFOp::create(nb, nl, real, weight);
        return SmallVector<Value>{
            arith::SelectOp::create(nb, nl, used, t, cstReal(nb, 0.0)),
            cstReal(nb, 0.0)};
      });
  std::pair<Value, Value> kernelSpectrum = fft.forward(b, kernel[0], kernel[1]);
  Value kernelRe = kernelSpectrum.first, kernelIm = kernelSpectrum.second;

  // Sums per row for this group's real columns: plane 0 holds columns
  // 0..W-1, plane 1 columns W..2W-1 (column 2W-1: the normalizer).
  Value accRe = sb.filled({L, C}, real, 0.0);
  Value accIm = sb.filled({L, C}, real, 0.0);
  Value inverseLength = arith::DivFOp::create(
      b, loc, cstReal(b, 1.0),
      arith::SIToFPOp::create(b, loc, real,
                              arith::IndexCastOp::create(b, loc, i64, length)));
  // The last lane of the imaginary plane is the ones column.
  SmallVector<bool> onesLane(lanes, false);
  onesLane.back() = true;
  Value onesMask = arith::ConstantOp::create(
      b, loc,
      DenseElementsAttr::get(VectorType::get({lanes}, b.getI1Type()),
                             ArrayRef<bool>(onesLane)));
  Value cHigh = arith::AddIOp::create(b, loc, c0, idx(b, lanes));
  SmallVector<bool> maybeOut = {false};
  auto perFeature = scf::ForOp::create(
      b, loc, idx(b, 0), features, idx(b, 1), ValueRange{accRe, accIm},
      [&](OpBuilder &lb, Location ll, Value p, ValueRange sums) {
        StructuredBuilder tb(lb, ll);
        // Pack rows j < L of fk_p ⊙ [v_c0.., 1], zeros beyond.
        auto pack = scf::ForOp::create(
            lb, ll, idx(lb, 0), lengthL, idx(lb, 1),
            ValueRange{tb.filled({N, C}, real, 0.0),
                       tb.filled({N, C}, real, 0.0)},
            [&](OpBuilder &rb, Location, Value j, ValueRange planes) {
              Value fkj = StructuredBuilder(rb, ll).convertScalar(
                  tensor::ExtractOp::create(rb, ll, fk,
                                            ValueRange{bi, kvHi, j, p}),
                  real);
              Value scale = vector::BroadcastOp::create(rb, ll, vec, fkj);
              auto readV = [&](Value column) {
                Value raw = vector::TransferReadOp::create(
                    rb, ll,
                    VectorType::get({lanes}, getElementTypeOrSelf(v.getType())),
                    v, ValueRange{bi, kvHi, j, column},
                    arith::ConstantOp::create(
                        rb, ll,
                        rb.getZeroAttr(getElementTypeOrSelf(v.getType()))),
                    ArrayRef<bool>(maybeOut));
                return arith::ExtFOp::create(rb, ll, vec, raw).getResult();
              };
              // Columns of the next group (and beyond E) read as zero here:
              // only this group's width of values counts.
              Value laneIndex = vector::StepOp::create(
                  rb, ll, VectorType::get({lanes}, rb.getIndexType()));
              auto within = [&](Value first) {
                Value limit = vector::BroadcastOp::create(
                    rb, ll, VectorType::get({lanes}, rb.getIndexType()),
                    arith::SubIOp::create(rb, ll, widthValue, first));
                return arith::CmpIOp::create(rb, ll, arith::CmpIPredicate::slt,
                                             laneIndex, limit)
                    .getResult();
              };
              Value zeros =
                  vector::BroadcastOp::create(rb, ll, vec, cstReal(rb, 0.0));
              Value low = arith::SelectOp::create(rb, ll, within(idx(rb, 0)),
                                                  readV(c0), zeros);
              Value high = arith::SelectOp::create(
                  rb, ll, within(idx(rb, lanes)), readV(cHigh), zeros);
              high = arith::SelectOp::create(
                  rb, ll, onesMask,
                  vector::BroadcastOp::create(rb, ll, vec, cstReal(rb, 1.0)),
                  high);
              Value re = fft.writeRow(
                  rb, arith::MulFOp::create(rb, ll, low, scale), planes[0], j);
              Value im = fft.writeRow(
                  rb, arith::MulFOp::create(rb, ll, high, scale), planes[1], j);
              scf::YieldOp::create(rb, ll, ValueRange{re, im});
            });
        auto [pr, pi] = fft.permute(lb, pack.getResult(0), pack.getResult(1));
        auto [re, im] = fft.forward(lb, pr, pi);
        // Ŷ = ĥ X̂ (ĥ is the same in every column).
        SmallVector<Value> product = tb.generic(
            ValueRange{kernelRe, kernelIm}, ValueRange{re, im},
            {tb.map(2, {0, 1}), tb.map(2, {0, 1}), tb.map(2, {0, 1}),
             tb.map(2, {0, 1})},
            StructuredBuilder::parallel(2),
            [](OpBuilder &nb, Location nl, ValueRange args) {
              Value hr = args[0], hIm = args[1], xr = args[2], xi = args[3];
              return SmallVector<Value>{
                  arith::SubFOp::create(nb, nl,
                                        arith::MulFOp::create(nb, nl, hr, xr),
                                        arith::MulFOp::create(nb, nl, hIm, xi)),
                  arith::AddFOp::create(
                      nb, nl, arith::MulFOp::create(nb, nl, hr, xi),
                      arith::MulFOp::create(nb, nl, hIm, xr))};
            });
        std::pair<Value, Value> back = fft.inverse(lb, product[0], product[1]);
        std::pair<Value, Value> natural =
            fft.permute(lb, back.first, back.second);
        // sums[i] += fq_ip / N · y(i), rows i < L.
        auto accumulate = scf::ForOp::create(
            lb, ll, idx(lb, 0), lengthL, idx(lb, 1), sums,
            [&](OpBuilder &rb, Location, Value i, ValueRange acc) {
              Value fqi = StructuredBuilder(rb, ll).convertScalar(
                  tensor::ExtractOp::create(rb, ll, fq,
                                            ValueRange{bi, hi, i, p}),
                  real);
              Value weight = vector::BroadcastOp::create(
                  rb, ll, vec,
                  arith::MulFOp::create(rb, ll, fqi, inverseLength));
              SmallVector<Value> updated;
              for (auto [sum, plane] :
                   llvm::zip(acc, ValueRange{natural.first, natural.second})) {
                Value row = vector::FMAOp::create(rb, ll, weight,
                                                  fft.readRow(rb, plane, i),
                                                  fft.readRow(rb, sum, i));
                updated.push_back(fft.writeRow(rb, row, sum, i));
              }
              scf::YieldOp::create(rb, ll, updated);
            });
        scf::YieldOp::create(lb, ll, accumulate.getResults());
      });

  // Normalize with the ones column (plane 1, last lane) and write this
  // group's columns.
  Normalize mode = op.getNormalize();
  float eps = op.getEps().convertToFloat();
  Value sumsRe = perFeature.getResult(0), sumsIm = perFeature.getResult(1);
  Value normalized = sb.generic1(
      ValueRange{}, sb.empty({L, width}, resultElement), {sb.map(2, {0, 1})},
      StructuredBuilder::parallel(2),
      [&](OpBuilder &nb, Location nl, ValueRange) {
        Value i = linalg::IndexOp::create(nb, nl, 0);
        Value c = linalg::IndexOp::create(nb, nl, 1);
        Value low = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult, c,
                                          idx(nb, lanes));
        Value lane = arith::SelectOp::create(
            nb, nl, low, c, arith::SubIOp::create(nb, nl, c, idx(nb, lanes)));
        Value num = arith::SelectOp::create(
            nb, nl, low,
            tensor::ExtractOp::create(nb, nl, sumsRe, ValueRange{i, lane}),
            tensor::ExtractOp::create(nb, nl, sumsIm, ValueRange{i, lane}));
        Value den = tensor::ExtractOp::create(
            nb, nl, sumsIm, ValueRange{i, idx(nb, lanes - 1)});
        Value value = normalizeScalar(nb, nl, mode, eps, num, den);
        return SmallVector<Value>{
            StructuredBuilder(nb, nl).convertScalar(value, resultElement)};
      });
  b.setInsertionPointToStart(forall.getTerminator().getBody());
  SmallVector<OpFoldResult> strides(4, b.getIndexAttr(1));
  tensor::ParallelInsertSliceOp::create(
      b, loc, normalized, forall.getRegionIterArgs().front(),
      {bi, hi, b.getIndexAttr(0), c0},
      {b.getIndexAttr(1), b.getIndexAttr(1), L, width}, strides);
  return forall.getResult(0);
}

/// flt.toeplitz_correlation by FFT. With X_pq[i] = fq_ip a_iq and
/// Y_pq[j] = fk_jp keys_jq, the result at offset k = j - i is
/// Σ_b Σ_pq Σ_i X_pq[i] Y_pq[i + k], m·c correlations. Each is
/// IFFT(conj(X̂) Ŷ) once the sequences are zero-padded to N ≥ 2L - 1, so
/// their sum is one inverse transform of Σ conj(X̂) Ŷ. Two real channels
/// share a complex column: with z_x = X_1 + i X_2 and z_y = Y_1 + i Y_2,
/// Re(conj(z_x) z_y) = X_1 Y_1 + X_2 Y_2, so the real part of the one
/// inverse is the sum over both and the imaginary parts are dropped.
///
/// Per head (an scf.forall) and per batch entry, the channels go
/// `2 lanes` to a transform: column blocks q0 .. q0 + 2 lanes - 1 of one
/// feature p (a row is fq_ip · a_i[q0 ..], one contiguous read), then the c
/// mod 2 lanes remaining columns q with blocks of features (a_iq ·
/// fq_i[p0 ..]), so that [v, 1]'s ones column does not cost a transform
/// per feature. The sum of spectra is carried in place across the loop.
class ToeplitzCorrelationFFT {
public:
  ToeplitzCorrelationFFT(ToeplitzCorrelationOp op, OpBuilder &b,
                         int64_t fftLanes)
      : op(op), b(b), loc(op.getLoc()), sb(b, loc), real(b.getF64Type()),
        lanes(fftLanes), width(2 * fftLanes),
        vec(VectorType::get({fftLanes}, b.getF64Type())) {}

  FailureOr<Value> build();

private:
  Value idx(OpBuilder &nb, int64_t v) {
    return arith::ConstantIndexOp::create(nb, loc, v);
  }

  /// The planes of one transform, rows in bit-reversed order (row r holds
  /// token bitreverse(r), zero past L): lane l is
  /// scalar[i, sc] · (vector[i, v0 + l] + i vector[i, v0 + lanes + l]),
  /// columns past the tensor's reading as zero. Every row is written.
  std::pair<Value, Value> pack(OpBuilder &nb, FFTPlanes &fft, Value scalar,
                               Value sc, Value vector, Value v0, Value bi,
                               Value hi, Value lengthL, Value re, Value im);

  ToeplitzCorrelationOp op;
  OpBuilder &b;
  Location loc;
  StructuredBuilder sb;
  Type real;
  const int64_t lanes, width;
  VectorType vec;
};

std::pair<Value, Value>
ToeplitzCorrelationFFT::pack(OpBuilder &nb, FFTPlanes &fft, Value scalar,
                             Value sc, Value vector, Value v0, Value bi,
                             Value hi, Value lengthL, Value re, Value im) {
  SmallVector<bool> maybeOut = {false};
  Value lastToken = arith::SubIOp::create(nb, loc, lengthL, idx(nb, 1));
  Value zeros = vector::BroadcastOp::create(
      nb, loc, vec, arith::ConstantOp::create(nb, loc, nb.getF64FloatAttr(0)));
  Value v1 = arith::AddIOp::create(nb, loc, v0, idx(nb, lanes));
  auto rows = scf::ForOp::create(
      nb, loc, idx(nb, 0), fft.length, idx(nb, 1), ValueRange{re, im},
      [&](OpBuilder &rb, Location, Value r, ValueRange planes) {
        Value token = fft.bitReverse(rb, r);
        Value inside = arith::CmpIOp::create(rb, loc, arith::CmpIPredicate::ult,
                                             token, lengthL);
        // Padding rows read token L - 1 and are replaced by zeros.
        Value i = arith::MinUIOp::create(rb, loc, token, lastToken);
        Value element = tensor::ExtractOp::create(rb, loc, scalar,
                                                  ValueRange{bi, hi, i, sc});
        Value s = arith::ExtFOp::create(rb, loc, real, element);
        Value scale = vector::BroadcastOp::create(rb, loc, vec, s);
        auto read = [&](Value column) -> Value {
          Value raw = vector::TransferReadOp::create(
              rb, loc, VectorType::get({lanes}, rb.getF32Type()), vector,
              ValueRange{bi, hi, i, column},
              arith::ConstantOp::create(rb, loc, rb.getF32FloatAttr(0)),
              ArrayRef<bool>(maybeOut));
          Value row = arith::MulFOp::create(
              rb, loc, scale, arith::ExtFOp::create(rb, loc, vec, raw));
          return arith::SelectOp::create(rb, loc, inside, row, zeros);
        };
        Value newRe = fft.writeRow(rb, read(v0), planes[0], r);
        Value newIm = fft.writeRow(rb, read(v1), planes[1], r);
        scf::YieldOp::create(rb, loc, ValueRange{newRe, newIm});
      });
  return {rows.getResult(0), rows.getResult(1)};
}

FailureOr<Value> ToeplitzCorrelationFFT::build() {
  FailureOr<SmallVector<OpFoldResult>> sizes = resultSizes(b, op, 0);
  if (failed(sizes))
    return failure();
  Value fq = op.getFq(), a = op.getA(), fk = op.getFk(), keys = op.getKeys();
  OpFoldResult H = (*sizes)[0], columns = (*sizes)[1];
  Value lengthL = getValueOrCreateConstantIndexOp(b, loc, sb.dim(fq, 2));
  Value batch = getValueOrCreateConstantIndexOp(b, loc, sb.dim(fq, 0));
  Value m = getValueOrCreateConstantIndexOp(b, loc, sb.dim(fq, 3));
  Value c = getValueOrCreateConstantIndexOp(b, loc, sb.dim(a, 3));
  Type f32 = b.getF32Type(), i64 = b.getI64Type();
  FFTPlanes fft(b, loc, lanes, lengthL);
  OpFoldResult N = fft.length, C = b.getIndexAttr(lanes);

  // Transforms: m · ⌊c / width⌋ column blocks, then per remaining column
  // ⌈m / width⌉ feature blocks.
  Value widthIndex = idx(b, width);
  Value columnBlocks = arith::DivUIOp::create(b, loc, c, widthIndex);
  Value blockTransforms = arith::MulIOp::create(b, loc, m, columnBlocks);
  Value firstRemaining =
      arith::MulIOp::create(b, loc, columnBlocks, widthIndex);
  Value remaining = arith::SubIOp::create(b, loc, c, firstRemaining);
  Value featureBlocks = arith::CeilDivUIOp::create(b, loc, m, widthIndex);
  Value transforms = arith::AddIOp::create(
      b, loc, blockTransforms,
      arith::MulIOp::create(b, loc, remaining, featureBlocks));

  Value out = sb.empty({H, columns}, f32);
  auto forall = scf::ForallOp::create(
      b, loc, SmallVector<OpFoldResult>{b.getIndexAttr(0)},
      SmallVector<OpFoldResult>{H},
      SmallVector<OpFoldResult>{b.getIndexAttr(1)}, ValueRange{out},
      std::nullopt);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(forall.getBody());
  Value hi = forall.getInductionVar(0);
  // Σ conj(X̂) Ŷ.
  SmallVector<Value> carried = {sb.filled({N, C}, real, 0.0),
                                sb.filled({N, C}, real, 0.0)};
  auto perBatch = scf::ForOp::create(
      b, loc, idx(b, 0), batch, idx(b, 1), carried,
      [&](OpBuilder &bb, Location, Value bi, ValueRange outer) {
        auto perTransform = scf::ForOp::create(
            bb, loc, idx(bb, 0), transforms, idx(bb, 1), outer,
            [&](OpBuilder &tb, Location, Value t, ValueRange state) {
              Value isBlock = arith::CmpIOp::create(
                  tb, loc, arith::CmpIPredicate::ult, t, blockTransforms);
              // The planes: pack writes every row. (Fresh per transform:
              // empty tensors carried through the loop would be one buffer
              // to bufferization, as they fold into one value.)
              StructuredBuilder tsb(tb, loc);
              Value fresh = tsb.empty({N, C}, real);
              SmallVector<Type> planeTypes(4, fresh.getType());
              auto packed = scf::IfOp::create(tb, loc, planeTypes, isBlock,
                                              /*withElseRegion=*/true);
              {
                // Feature p, columns q0 ..: fq_ip a_i[q0 ..].
                OpBuilder::InsertionGuard g(tb);
                tb.setInsertionPointToStart(packed.thenBlock());
                Value p = arith::DivUIOp::create(tb, loc, t, columnBlocks);
                Value q0 = arith::MulIOp::create(
                    tb, loc, arith::RemUIOp::create(tb, loc, t, columnBlocks),
                    widthIndex);
                auto [xr, xi] =
                    pack(tb, fft, fq, p, a, q0, bi, hi, lengthL, fresh, fresh);
                auto [yr, yi] = pack(tb, fft, fk, p, keys, q0, bi, hi, lengthL,
                                     fresh, fresh);
                scf::YieldOp::create(tb, loc, ValueRange{xr, xi, yr, yi});
              }
              {
                // Column q, features p0 ..: a_iq fq_i[p0 ..].
                OpBuilder::InsertionGuard g(tb);
                tb.setInsertionPointToStart(packed.elseBlock());
                Value rest = arith::SubIOp::create(tb, loc, t, blockTransforms);
                Value q = arith::AddIOp::create(
                    tb, loc, firstRemaining,
                    arith::DivUIOp::create(tb, loc, rest, featureBlocks));
                Value p0 = arith::MulIOp::create(
                    tb, loc,
                    arith::RemUIOp::create(tb, loc, rest, featureBlocks),
                    widthIndex);
                auto [xr, xi] =
                    pack(tb, fft, a, q, fq, p0, bi, hi, lengthL, fresh, fresh);
                auto [yr, yi] = pack(tb, fft, keys, q, fk, p0, bi, hi, lengthL,
                                     fresh, fresh);
                scf::YieldOp::create(tb, loc, ValueRange{xr, xi, yr, yi});
              }
              auto [xr, xi] =
                  fft.forward(tb, packed.getResult(0), packed.getResult(1));
              auto [yr, yi] =
                  fft.forward(tb, packed.getResult(2), packed.getResult(3));
              // acc += conj(X̂) Ŷ.
              AffineMap identity = tsb.map(2, {0, 1});
              SmallVector<Value> sum = tsb.generic(
                  ValueRange{xr, xi, yr, yi}, ValueRange{state[0], state[1]},
                  SmallVector<AffineMap>(6, identity),
                  StructuredBuilder::parallel(2),
                  [](OpBuilder &nb, Location nl, ValueRange x) {
                    auto mul = [&](Value u, Value w) {
                      return arith::MulFOp::create(nb, nl, u, w).getResult();
                    };
                    Value re = arith::AddFOp::create(
                        nb, nl, x[4],
                        arith::AddFOp::create(nb, nl, mul(x[0], x[2]),
                                              mul(x[1], x[3])));
                    Value im = arith::AddFOp::create(
                        nb, nl, x[5],
                        arith::SubFOp::create(nb, nl, mul(x[0], x[3]),
                                              mul(x[1], x[2])));
                    return SmallVector<Value>{re, im};
                  });
              scf::YieldOp::create(tb, loc, sum);
            });
        scf::YieldOp::create(bb, loc, perTransform.getResults());
      });
  // Only the real parts are wanted (see above).
  Value backRe =
      fft.inverse(b, perBatch.getResult(0), perBatch.getResult(1)).first;

  // Column k + L - 1 (offset k = j - i) is lag k mod N of the inverse, at
  // its bit-reversed row: the lanes' real parts summed, / N.
  bool causal = op.getCausal();
  Value inverseLength = arith::DivFOp::create(
      b, loc, arith::ConstantOp::create(b, loc, b.getF64FloatAttr(1.0)),
      arith::SIToFPOp::create(
          b, loc, real, arith::IndexCastOp::create(b, loc, i64, fft.length)));
  Value scaled = sb.generic1(
      ValueRange{}, sb.empty({columns}, f32), {sb.map(1, {0})},
      StructuredBuilder::parallel(1),
      [&](OpBuilder &nb, Location nl, ValueRange) {
        Value column = linalg::IndexOp::create(nb, nl, 0);
        Value lastToken = arith::SubIOp::create(nb, nl, lengthL, idx(nb, 1));
        // lag = column - (L - 1), taken mod N.
        Value lag = arith::RemUIOp::create(
            nb, nl,
            arith::SubIOp::create(
                nb, nl, arith::AddIOp::create(nb, nl, column, fft.length),
                lastToken),
            fft.length);
        Value row = fft.bitReverse(nb, lag);
        Value lanesSum;
        for (int64_t lane = 0; lane < lanes; ++lane) {
          Value part = tensor::ExtractOp::create(
              nb, nl, backRe, ValueRange{row, idx(nb, lane)});
          lanesSum =
              lanesSum
                  ? arith::AddFOp::create(nb, nl, lanesSum, part).getResult()
                  : part;
        }
        Value value = arith::MulFOp::create(nb, nl, lanesSum, inverseLength);
        if (causal) {
          // Keys after the query (k > 0) have no pair.
          Value later = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ugt,
                                              column, lastToken);
          value = arith::SelectOp::create(
              nb, nl, later,
              arith::ConstantOp::create(nb, nl, nb.getF64FloatAttr(0)), value);
        }
        return SmallVector<Value>{arith::TruncFOp::create(nb, nl, f32, value)};
      });
  b.setInsertionPointToStart(forall.getTerminator().getBody());
  tensor::ParallelInsertSliceOp::create(
      b, loc, scaled, forall.getRegionIterArgs().front(),
      ArrayRef<OpFoldResult>{hi, b.getIndexAttr(0)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1), columns},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
  return forall.getResult(0);
}

struct LowerToeplitzCorrelationFFT : OpRewritePattern<ToeplitzCorrelationOp> {
  LowerToeplitzCorrelationFFT(MLIRContext *context, int64_t lanes)
      : OpRewritePattern(context), lanes(lanes) {}

  LogicalResult matchAndRewrite(ToeplitzCorrelationOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getMethod() != ToeplitzMethod::Fft)
      return rewriter.notifyMatchFailure(op, "not method fft");
    return replaceOpWithLowered(
        rewriter, op, ToeplitzCorrelationFFT(op, rewriter, lanes).build());
  }

private:
  int64_t lanes;
};

struct LowerToeplitzAttentionFFT : OpRewritePattern<ToeplitzAttentionOp> {
  LowerToeplitzAttentionFFT(MLIRContext *context, int64_t lanes)
      : OpRewritePattern(context), lanes(lanes) {}

  LogicalResult matchAndRewrite(ToeplitzAttentionOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getMethod() != ToeplitzMethod::Fft)
      return rewriter.notifyMatchFailure(op, "not method fft");
    return replaceOpWithLowered(rewriter, op,
                                ToeplitzFFT(op, rewriter, lanes).build());
  }

private:
  int64_t lanes;
};

} // namespace

void mlir::flt::populateToeplitzFFTLoweringPatterns(RewritePatternSet &patterns,
                                                    int64_t lanes) {
  patterns.add<LowerToeplitzAttentionFFT, LowerToeplitzCorrelationFFT>(
      patterns.getContext(), lanes);
}
