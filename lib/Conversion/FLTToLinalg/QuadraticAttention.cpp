//===- QuadraticAttention.cpp - tiled exact attention ---------------------===//
//
// Per (batch, head, tile of queries), a walk over the tiles of keys (up to
// the diagonal when causal):
//
//   logits  = q kᵀ (Softmax, Dot) or power Σ_c log|sinc(R_c (q_c - k_c))|
//             (FourierIntegral, the log domain of docs/Semantics.md 2.5)
//   z       = temperature · logits + b_{j-i}, or logits + b_{j-i}; -inf where
//             masked (causal, padding)
//   m'      = max(m, rowmax z);  p = exp(z - m') · M;  c = exp(m - m')
//   sum     = c · sum + rowsum p; acc = c · acc + p v
//
// and out = acc / sum (0 for a row whose every score is exactly zero);
// FourierIntegral's amplitude_eps form adds power · log|R_c| per feature to
// the logits and divides by sum + exp(log eps - m), the eps of the formula
// in the shifted domain, so that it neither underflows nor overflows. Dot
// has no normalization to track: acc += s v, den += rowsum s, then
// docs/Semantics.md's normalization. Only [tile × tile] blocks are formed.
// Causal: the loop covers the tiles below the diagonal, which have no
// masked pair; the diagonal tile follows it, its p v skipping the masked
// pairs (a plain product would add 0 · v_j, NaN for a NaN or infinite v_j
// of a later token: docs/Semantics.md 6).
//
//===----------------------------------------------------------------------===//

#include "QuadraticAttention.h"

#include "flt/Conversion/FLTToLinalg/LoweringUtils.h"
#include "flt/Utils/StructuredBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::flt;

namespace {

constexpr double kMinusInfinity = -std::numeric_limits<double>::infinity();

Value f32Constant(OpBuilder &b, Location loc, double value) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(value));
}

/// xᵀ for a 2-D tile.
Value transpose(StructuredBuilder &sb, Value x) {
  SmallVector<OpFoldResult> sizes = sb.dims(x);
  return sb.generic1(
      x, sb.empty({sizes[1], sizes[0]}, sb.builder().getF32Type()),
      {sb.map(2, {1, 0}), sb.map(2, {0, 1})}, StructuredBuilder::parallel(2),
      [](OpBuilder &, Location, ValueRange args) {
        return SmallVector<Value>{args[0]};
      });
}

/// Row reduction of a [T, T] tile with `combine`, starting from `init`.
Value reduceRows(
    StructuredBuilder &sb, Value tile, Value init,
    function_ref<Value(OpBuilder &, Location, Value, Value)> combine) {
  return sb.generic1(tile, init, {sb.map(2, {0, 1}), sb.map(2, {0})},
                     StructuredBuilder::parallel(1, 1),
                     [&](OpBuilder &b, Location loc, ValueRange args) {
                       return SmallVector<Value>{
                           combine(b, loc, args[1], args[0])};
                     });
}

} // namespace

FailureOr<Value> QuadraticAttention::build(OpBuilder &b, Location loc,
                                           Operation *op) {
  StructuredBuilder sb(b, loc);
  Type f32 = b.getF32Type();
  FailureOr<SmallVector<OpFoldResult>> sizes = resultSizes(b, op, 0);
  if (failed(sizes))
    return failure();
  OpFoldResult B = (*sizes)[0], H = (*sizes)[1], L = (*sizes)[2],
               E = (*sizes)[3];
  OpFoldResult S = sb.dim(k, 2), d = sb.dim(q, 3);
  int64_t staticD = cast<RankedTensorType>(q.getType()).getDimSize(3);
  int64_t staticE = cast<RankedTensorType>(v.getType()).getDimSize(3);
  int64_t paddedE = ShapedType::isDynamic(staticE)
                        ? ShapedType::kDynamic
                        : roundUp(staticE, columnMultiple);
  int64_t staticR =
      phi ? cast<RankedTensorType>(phi.getType()).getDimSize(3) : 0;
  bool online = score != Score::Dot;
  bool withDenominator = online || normalize != Normalize::None;
  Value lengthValue = getValueOrCreateConstantIndexOp(b, loc, L);
  Value keyCount = getValueOrCreateConstantIndexOp(b, loc, S);

  // The Toeplitz mask exp(b - max_h b): the shift cancels and keeps exp
  // from overflowing.
  Value biasMax;
  if (toeplitzBias)
    biasMax = toeplitzBiasMaxima(sb, toeplitzBias, H);

  // Packed sequences: each token's sequence [start, end), tabulated once.
  Value sequenceStarts, sequenceEnds;
  if (cuSeqlens)
    std::tie(sequenceStarts, sequenceEnds) =
        tabulateSequences(b, loc, cuSeqlens, lengthValue);
  // Grouped heads: query heads per key/value head.
  Value headGroup;
  if (cast<RankedTensorType>(q.getType()).getDimSize(1) !=
          cast<RankedTensorType>(k.getType()).getDimSize(1) ||
      ShapedType::isDynamic(cast<RankedTensorType>(q.getType()).getDimSize(1)))
    headGroup = arith::DivUIOp::create(
        b, loc, getValueOrCreateConstantIndexOp(b, loc, H),
        getValueOrCreateConstantIndexOp(b, loc, sb.dim(k, 1)));

  Value out = sb.empty(*sizes, resultType.getElementType());
  SmallVector<OpFoldResult> zeros(3, b.getIndexAttr(0));
  auto forall = scf::ForallOp::create(
      b, loc, zeros, {B, H, L},
      {b.getIndexAttr(1), b.getIndexAttr(1), b.getIndexAttr(tokenTile)},
      ValueRange{out}, std::nullopt);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(forall.getBody());
  Value bi = forall.getInductionVar(0), hi = forall.getInductionVar(1);
  Value i0 = forall.getInductionVar(2);
  OpFoldResult tokens = tileSize(b, loc, tokenTile, i0, L);
  Value kvHi = headGroup
                   ? arith::DivUIOp::create(b, loc, hi, headGroup).getResult()
                   : hi;
  // Where this tile's keys end (all tokens' sequences / the batch's length)
  // and, packed, where its first sequence starts.
  Value keyEnd = keyCount, rowEnd = lengthValue, keyStart;
  if (lengths) {
    keyEnd = clampIndex(b, loc, tableEntry(b, loc, lengths, bi), sb.index(0),
                        keyCount);
    rowEnd = arith::MinSIOp::create(b, loc, keyEnd, lengthValue);
  }
  if (cuSeqlens) {
    Value lastRow = arith::SubIOp::create(
        b, loc,
        arith::AddIOp::create(b, loc, i0,
                              getValueOrCreateConstantIndexOp(b, loc, tokens)),
        sb.index(1));
    keyStart = tensor::ExtractOp::create(b, loc, sequenceStarts, i0);
    keyEnd = tensor::ExtractOp::create(b, loc, sequenceEnds, lastRow);
    // The key tiles keep the grid of the query tiles (the causal diagonal
    // tile is j0 = i0).
    keyStart = arith::MulIOp::create(
        b, loc, arith::DivUIOp::create(b, loc, keyStart, sb.index(tokenTile)),
        sb.index(tokenTile));
  }
  OpFoldResult T = b.getIndexAttr(tokenTile);
  OpFoldResult zero = b.getIndexAttr(0);

  Value qTile = paddedTokenTile(b, loc, q, bi, hi, i0, tokens, zero, d,
                                tokenTile, staticD);
  Value phiTile = phi ? paddedTokenTile(b, loc, phi, bi, hi, i0, tokens, zero,
                                        sb.dim(phi, 3), tokenTile, staticR)
                      : Value();
  Value scaleRow;
  if (scale)
    scaleRow = sb.slice(scale, {hi, zero}, {b.getIndexAttr(1), d}, 1);
  OpFoldResult accColumns = ShapedType::isDynamic(paddedE)
                                ? E
                                : OpFoldResult(b.getIndexAttr(paddedE));

  SmallVector<Value> inits = {sb.filled({T, accColumns}, f32, 0.0)};
  if (online)
    inits.push_back(sb.filled({T}, f32, kMinusInfinity));
  if (withDenominator)
    inits.push_back(sb.filled({T}, f32, 0.0));

  float temperatureValue = temperature;
  int64_t powerValue = power;
  bool withAmplitude = amplitudeEps;
  Score scoreKind = score;
  bool isCausal = causal;
  Value biasValue = bias, toeplitz = toeplitzBias;

  // Whether query gi and key gj form a pair the formula sums over (inside
  // the linalg.generic of a [tile × tile] block from (i0, j0)).
  auto pairValid = [&](OpBuilder &bb, Location nl, Value j0) {
    Value gi =
        arith::AddIOp::create(bb, nl, i0, linalg::IndexOp::create(bb, nl, 0));
    Value gj =
        arith::AddIOp::create(bb, nl, j0, linalg::IndexOp::create(bb, nl, 1));
    auto cmp = [&](arith::CmpIPredicate p, Value x, Value y) {
      return arith::CmpIOp::create(bb, nl, p, x, y).getResult();
    };
    Value valid = arith::AndIOp::create(
        bb, nl, cmp(arith::CmpIPredicate::ult, gj, keyEnd),
        cmp(arith::CmpIPredicate::ult, gi, rowEnd));
    if (isCausal)
      valid = arith::AndIOp::create(bb, nl, valid,
                                    cmp(arith::CmpIPredicate::ule, gj, gi));
    if (sequenceStarts) {
      // The key lies in the query's sequence (rows past L read row L - 1,
      // already masked).
      Value row = arith::MinUIOp::create(
          bb, nl, gi,
          arith::SubIOp::create(bb, nl, lengthValue,
                                arith::ConstantIndexOp::create(bb, nl, 1)));
      Value start = tensor::ExtractOp::create(bb, nl, sequenceStarts, row);
      Value end = tensor::ExtractOp::create(bb, nl, sequenceEnds, row);
      valid = arith::AndIOp::create(
          bb, nl, valid,
          arith::AndIOp::create(bb, nl,
                                cmp(arith::CmpIPredicate::uge, gj, start),
                                cmp(arith::CmpIPredicate::ult, gj, end)));
    }
    return std::make_tuple(valid, gi, gj);
  };

  // One tile of keys from j0 folded into the running values `iter`; returns
  // the new ones. `diagonal`: the causal tile j0 = i0, the only one with
  // masked pairs inside (the others lie wholly below the diagonal), whose
  // product with v skips them instead of multiplying them by 0, so that a
  // NaN or infinity in a later v_j reaches no earlier row.
  auto keyTile = [&](OpBuilder &lb, Location ll, Value j0, ValueRange iter,
                     bool diagonal) -> SmallVector<Value> {
    StructuredBuilder tb(lb, ll);
    auto timesValues = [&](Value weights, Value vTile, Value acc) {
      return diagonal ? tb.causalMatmulAccumulate(weights, vTile, acc)
                      : tb.matmulAccumulate(weights, vTile, acc, false, false);
    };
    OpFoldResult keys = tileSize(lb, ll, tokenTile, j0, S);
    Value kTile = paddedTokenTile(lb, ll, k, bi, kvHi, j0, keys,
                                  lb.getIndexAttr(0), d, tokenTile, staticD);
    Value vTile = paddedTokenTile(lb, ll, v, bi, kvHi, j0, keys,
                                  lb.getIndexAttr(0), E, tokenTile, paddedE);
    Value tileZeros = tb.filled({T, T}, f32, 0.0);

    // Logits.
    Value logits;
    if (scoreKind == Score::FourierIntegral) {
      logits = tb.logSincScores(qTile, kTile, scaleRow, tileZeros, powerValue,
                                withAmplitude);
    } else {
      logits = tb.matmulAccumulate(qTile, transpose(tb, kTile), tileZeros,
                                   false, false);
    }
    Value mask;
    if (phiTile) {
      Value psiTile =
          paddedTokenTile(lb, ll, psi, bi, hi, j0, keys, lb.getIndexAttr(0),
                          tb.dim(psi, 3), tokenTile, staticR);
      mask = tb.matmulAccumulate(phiTile, transpose(tb, psiTile),
                                 tb.filled({T, T}, f32, 0.0), false, false);
    }

    // Scores with positions, biases and masks applied.
    SmallVector<Value> inputs = {logits};
    SmallVector<AffineMap> maps = {tb.map(2, {0, 1})};
    if (mask && !online) {
      inputs.push_back(mask);
      maps.push_back(tb.map(2, {0, 1}));
    }
    maps.push_back(tb.map(2, {0, 1}));
    Value scores = tb.generic1(
        inputs, tb.empty({T, T}, f32), maps, StructuredBuilder::parallel(2),
        [&](OpBuilder &bb, Location nl, ValueRange args) {
          Value valid, gi, gj;
          std::tie(valid, gi, gj) = pairValid(bb, nl, j0);
          // b_{j-i} sits at column j - i + L - 1 (kept in range where
          // the pair is masked anyway).
          auto relativeBias = [&](Value table) {
            Value column = arith::SubIOp::create(
                bb, nl, arith::AddIOp::create(bb, nl, gj, lengthValue),
                arith::AddIOp::create(
                    bb, nl, gi, arith::ConstantIndexOp::create(bb, nl, 1)));
            column = arith::SelectOp::create(
                bb, nl, valid, column,
                arith::ConstantIndexOp::create(bb, nl, 0));
            return tensor::ExtractOp::create(bb, nl, table,
                                             ValueRange{hi, column})
                .getResult();
          };
          Value value = args[0];
          if (scoreKind == Score::Softmax)
            value = arith::MulFOp::create(
                bb, nl, value,
                f32Constant(bb, nl, static_cast<double>(temperatureValue)));
          if (biasValue)
            value =
                arith::AddFOp::create(bb, nl, value, relativeBias(biasValue));
          if (!online) {
            if (inputs.size() > 1)
              value = arith::MulFOp::create(bb, nl, value, args[1]);
            if (toeplitz) {
              Value shift = toeplitzBiasShift(bb, nl, biasMax, hi);
              Value weight = math::ExpOp::create(
                  bb, nl,
                  arith::SubFOp::create(bb, nl, relativeBias(toeplitz), shift));
              value = arith::MulFOp::create(bb, nl, value, weight);
            }
          }
          Value masked = f32Constant(bb, nl, online ? kMinusInfinity : 0.0);
          return SmallVector<Value>{
              arith::SelectOp::create(bb, nl, valid, value, masked)};
        });

    SmallVector<Value> yielded;
    if (!online) {
      yielded.push_back(timesValues(scores, vTile, iter[0]));
      if (withDenominator)
        yielded.push_back(reduceRows(
            tb, scores, iter[1],
            [](OpBuilder &bb, Location l, Value acc, Value x) {
              return arith::AddFOp::create(bb, l, acc, x).getResult();
            }));
      return yielded;
    }

    // Online normalization.
    Value oldMax = iter[1], oldSum = iter[2];
    Value tileMax = reduceRows(
        tb, scores, tb.filled({T}, f32, kMinusInfinity),
        [](OpBuilder &bb, Location l, Value acc, Value x) {
          return arith::MaximumFOp::create(bb, l, acc, x).getResult();
        });
    // In place on the loop-carried max (bufferization needs every
    // yielded value to be the iter_arg's buffer).
    SmallVector<Value> update = tb.generic(
        ValueRange{tileMax}, ValueRange{oldMax, tb.empty({T}, f32)},
        {tb.map(1, {0}), tb.map(1, {0}), tb.map(1, {0})},
        StructuredBuilder::parallel(1),
        [](OpBuilder &bb, Location nl, ValueRange args) {
          Value newMax = arith::MaximumFOp::create(bb, nl, args[1], args[0]);
          Value none =
              arith::CmpFOp::create(bb, nl, arith::CmpFPredicate::OEQ, newMax,
                                    f32Constant(bb, nl, kMinusInfinity));
          Value correction = arith::SelectOp::create(
              bb, nl, none, f32Constant(bb, nl, 0.0),
              math::ExpOp::create(
                  bb, nl, arith::SubFOp::create(bb, nl, args[1], newMax)));
          return SmallVector<Value>{newMax, correction};
        });
    Value newMax = update[0], correction = update[1];
    SmallVector<Value> pInputs = {scores, newMax};
    SmallVector<AffineMap> pMaps = {tb.map(2, {0, 1}), tb.map(2, {0})};
    if (mask) {
      pInputs.push_back(mask);
      pMaps.push_back(tb.map(2, {0, 1}));
    }
    pMaps.push_back(tb.map(2, {0, 1}));
    Value weights = tb.generic1(
        pInputs, tb.empty({T, T}, f32), pMaps, StructuredBuilder::parallel(2),
        [&](OpBuilder &bb, Location nl, ValueRange args) {
          Value none =
              arith::CmpFOp::create(bb, nl, arith::CmpFPredicate::OEQ, args[1],
                                    f32Constant(bb, nl, kMinusInfinity));
          Value p = math::ExpOp::create(
              bb, nl, arith::SubFOp::create(bb, nl, args[0], args[1]));
          if (pInputs.size() > 2) {
            // exp(-inf) = 0 times a masked pair's M (a NaN or infinity
            // from a later psi_j) would not be 0: select.
            p = arith::SelectOp::create(
                bb, nl, std::get<0>(pairValid(bb, nl, j0)),
                arith::MulFOp::create(bb, nl, p, args[2]),
                f32Constant(bb, nl, 0.0));
          }
          return SmallVector<Value>{arith::SelectOp::create(
              bb, nl, none, f32Constant(bb, nl, 0.0), p)};
        });
    Value scaledSum = tb.generic1(
        ValueRange{correction}, oldSum, {tb.map(1, {0}), tb.map(1, {0})},
        StructuredBuilder::parallel(1),
        [](OpBuilder &bb, Location nl, ValueRange args) {
          return SmallVector<Value>{
              arith::MulFOp::create(bb, nl, args[1], args[0])};
        });
    Value newSum =
        reduceRows(tb, weights, scaledSum,
                   [](OpBuilder &bb, Location l, Value acc, Value x) {
                     return arith::AddFOp::create(bb, l, acc, x).getResult();
                   });
    Value scaledAcc = tb.generic1(
        ValueRange{correction}, iter[0], {tb.map(2, {0}), tb.map(2, {0, 1})},
        StructuredBuilder::parallel(2),
        [](OpBuilder &bb, Location nl, ValueRange args) {
          return SmallVector<Value>{
              arith::MulFOp::create(bb, nl, args[1], args[0])};
        });
    return SmallVector<Value>{timesValues(weights, vTile, scaledAcc), newMax,
                              newSum};
  };
  // Keys below the diagonal tile (causal) or all keys, then (causal) the
  // diagonal tile.
  // Causal: the tiles before the diagonal, and none past the batch's keys
  // (padding) or past this tile's last sequence (packed).
  Value keyLimit =
      causal ? arith::MinUIOp::create(b, loc, i0, keyEnd).getResult() : keyEnd;
  auto loop = scf::ForOp::create(
      b, loc, keyStart ? keyStart : sb.index(0), keyLimit, sb.index(tokenTile),
      inits, [&](OpBuilder &lb, Location ll, Value j0, ValueRange iter) {
        scf::YieldOp::create(lb, ll, keyTile(lb, ll, j0, iter, false));
      });
  SmallVector<Value> results(loop.getResults());
  if (causal)
    results = keyTile(b, loc, i0, results, true);

  // out = acc / sum (online: 0 where every score was exactly 0), or
  // docs/Semantics.md's normalization for Dot.
  Value acc = results[0];
  Value den = withDenominator ? results[online ? 2 : 1] : Value();
  Type resultElement = resultType.getElementType();
  Normalize mode = normalize;
  float epsValue = eps;
  bool shiftedEps = online && amplitudeEps && eps > 0.0f;
  SmallVector<Value> inputs = {acc};
  SmallVector<AffineMap> maps = {sb.map(2, {0, 1})};
  if (den) {
    inputs.push_back(den);
    maps.push_back(sb.map(2, {0}));
  }
  if (shiftedEps) { // The running max.
    inputs.push_back(results[1]);
    maps.push_back(sb.map(2, {0}));
  }
  maps.push_back(sb.map(2, {0, 1}));
  Value normalized = sb.generic1(
      inputs, sb.empty(sb.dims(acc), resultElement), maps,
      StructuredBuilder::parallel(2),
      [&](OpBuilder &bb, Location nl, ValueRange args) {
        Value value = args[0];
        Value zeroF = f32Constant(bb, nl, 0.0);
        if (online) {
          Value empty = arith::CmpFOp::create(bb, nl, arith::CmpFPredicate::OEQ,
                                              args[1], zeroF);
          Value sum = args[1];
          if (shiftedEps) // sum + eps · exp(-max), formed in the log domain.
            sum = arith::AddFOp::create(
                bb, nl, sum,
                math::ExpOp::create(
                    bb, nl,
                    arith::SubFOp::create(
                        bb, nl,
                        f32Constant(bb, nl,
                                    std::log(static_cast<double>(epsValue))),
                        args[2])));
          Value divisor = arith::SelectOp::create(
              bb, nl, empty, f32Constant(bb, nl, 1.0), sum);
          value = arith::SelectOp::create(
              bb, nl, empty, zeroF,
              arith::DivFOp::create(bb, nl, value, divisor));
        } else {
          value = normalizeScalar(bb, nl, mode, epsValue, value,
                                  den ? args[1] : Value());
        }
        return SmallVector<Value>{
            StructuredBuilder(bb, nl).convertScalar(value, resultElement)};
      });
  Value valid = sb.slice(normalized, {zero, zero}, {tokens, E}, 2);
  b.setInsertionPointToStart(forall.getTerminator().getBody());
  SmallVector<OpFoldResult> strides(4, b.getIndexAttr(1));
  tensor::ParallelInsertSliceOp::create(
      b, loc, valid, forall.getRegionIterArgs().front(), {bi, hi, i0, zero},
      {b.getIndexAttr(1), b.getIndexAttr(1), tokens, E}, strides);
  return forall.getResult(0);
}
